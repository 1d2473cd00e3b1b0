package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	rpctypes "github.com/cometbft/cometbft/rpc/jsonrpc/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/modules"
	"github.com/lianchain/lian/modules/attest"
	"github.com/lianchain/lian/modules/credits"
	"github.com/lianchain/lian/modules/evidence"
	"github.com/lianchain/lian/modules/gov"
	"github.com/lianchain/lian/modules/identity"
	"github.com/lianchain/lian/modules/message"
	"github.com/lianchain/lian/modules/xchain"
	"github.com/lianchain/lian/node"
	"github.com/lianchain/lian/txs"
)

// fakeNode is a minimal CometBFT JSON-RPC server whose answers the test chooses.
type fakeNode struct {
	srv *httptest.Server

	mu      sync.Mutex
	answers map[string]func() (any, *rpctypes.RPCError)
	calls   map[string]int
}

func newFakeNode(t *testing.T) *fakeNode {
	f := &fakeNode{answers: map[string]func() (any, *rpctypes.RPCError){}, calls: map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	f.answer("status", func() (any, *rpctypes.RPCError) {
		return &ctypes.ResultStatus{SyncInfo: ctypes.SyncInfo{LatestBlockHeight: 7, LatestAppHash: []byte{0xAB},
			LatestBlockTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}}, nil
	})
	f.answer("validators", func() (any, *rpctypes.RPCError) { return &ctypes.ResultValidators{BlockHeight: 7, Total: 3}, nil })
	f.answer("broadcast_tx_sync", func() (any, *rpctypes.RPCError) { return &ctypes.ResultBroadcastTx{Code: 0}, nil })
	f.answer("tx", func() (any, *rpctypes.RPCError) { return nil, internal("tx (ABCD) not found") })
	return f
}

func internal(data string) *rpctypes.RPCError {
	return &rpctypes.RPCError{Code: -32603, Message: "Internal error", Data: data}
}

func (f *fakeNode) answer(method string, fn func() (any, *rpctypes.RPCError)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers[method] = fn
}

func (f *fakeNode) count(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

func (f *fakeNode) url() string { return f.srv.URL }

func (f *fakeNode) serve(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
	}
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.calls[req.Method]++
	fn := f.answers[req.Method]
	f.mu.Unlock()
	resp := map[string]any{"jsonrpc": "2.0", "id": req.ID}
	if fn == nil {
		resp["error"] = &rpctypes.RPCError{Code: -32601, Message: "Method not found"}
	} else if res, rerr := fn(); rerr != nil {
		resp["error"] = rerr
	} else {
		b, err := cmtjson.Marshal(res)
		if err != nil {
			panic(err)
		}
		resp["result"] = json.RawMessage(b)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

// deadURL returns an RPC URL nobody listens on.
func deadURL(t *testing.T) string {
	t.Helper()
	ports, err := node.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("http://127.0.0.1:%d", ports[0])
}

func serveGateway(t *testing.T, cfg Config) (*Gateway, string) {
	t.Helper()
	if cfg.RPCTimeout == 0 {
		cfg.RPCTimeout = 2 * time.Second
	}
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g.Handler())
	t.Cleanup(func() {
		srv.Close()
		g.Close()
	})
	return g, srv.URL
}

// someTx is a well-formed envelope; the fake nodes do not look at it.
func someTx(t *testing.T) []byte {
	t.Helper()
	return []byte("fake transaction bytes")
}

func TestNewValidates(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"no chains", Config{}},
		{"no urls", Config{Chains: map[string][]string{"a": nil}}},
		{"empty chain id", Config{Chains: map[string][]string{"": {"http://127.0.0.1:1"}}}},
		{"chain id with slash", Config{Chains: map[string][]string{"a/b": {"http://127.0.0.1:1"}}}},
		{"bad scheme", Config{Chains: map[string][]string{"a": {"ftp://127.0.0.1:1"}}}},
		{"no scheme", Config{Chains: map[string][]string{"a": {"127.0.0.1:26657"}}}},
		{"no host", Config{Chains: map[string][]string{"a": {"http://"}}}},
		{"duplicate url", Config{Chains: map[string][]string{"a": {"http://127.0.0.1:1", "http://127.0.0.1:1/"}}}},
		{"negative wait", Config{Chains: map[string][]string{"a": {"http://127.0.0.1:1"}}, TxWaitTimeout: -time.Second}},
		{"negative rpc timeout", Config{Chains: map[string][]string{"a": {"http://127.0.0.1:1"}}, RPCTimeout: -time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.cfg); err == nil {
				t.Fatal("New accepted the config")
			}
		})
	}
	g, err := New(Config{Chains: map[string][]string{"a": {"http://127.0.0.1:1", "tcp://127.0.0.1:2"}, "b": {"https://node.example:443"}}})
	if err != nil {
		t.Fatal(err)
	}
	if g.txWait != DefaultTxWaitTimeout || g.rpcTimeout != DefaultRPCTimeout || len(g.ids) != 2 || g.ids[0] != "a" {
		t.Fatalf("gateway %+v", g)
	}
	g.Close()
	g.Close() // idempotent
}

func TestFailoverAndWaitTimeout(t *testing.T) {
	f := newFakeNode(t)
	_, base := serveGateway(t, Config{Chains: map[string][]string{"c": {deadURL(t), f.url()}}})

	var h api.Health
	getJSON(t, base, "/healthz", http.StatusOK, &h)
	if h.Status != "ok" || h.Chains["c"].Height != 7 {
		t.Fatalf("health %+v", h)
	}
	var cs api.Chains
	getJSON(t, base, "/v1/chains", http.StatusOK, &cs)
	if len(cs.Chains) != 1 || cs.Chains[0].Validators != 3 || cs.Chains[0].Nodes != 2 || cs.Chains[0].LatestAppHash != "AB" {
		t.Fatalf("chains %+v", cs)
	}

	// Admitted, never committed: 504 with the hash after the requested timeout.
	tx := someTx(t)
	start := time.Now()
	status, body := call(t, base, http.MethodPost, "/v1/chains/c/txs?timeout=400ms", submitBody(tx))
	e := apiErr(t, "wait", status, http.StatusGatewayTimeout, body, "timeout")
	if e.Hash != txs.HashOf(tx).String() {
		t.Fatalf("timeout error %+v", e)
	}
	if d := time.Since(start); d < 400*time.Millisecond || d > 5*time.Second {
		t.Fatalf("waited %v", d)
	}
	if n := f.count("tx"); n < 3 {
		t.Fatalf("polled the node %d times in 400ms", n)
	}
	if f.count("broadcast_tx_sync") != 1 {
		t.Fatalf("broadcast %d times", f.count("broadcast_tx_sync"))
	}

	// Without waiting: 202 with the hash.
	status, body = call(t, base, http.MethodPost, "/v1/chains/c/txs?wait=false", submitBody(tx))
	var res api.TxResult
	if status != http.StatusAccepted || json.Unmarshal(body, &res) != nil || res.Hash != e.Hash || res.Height != 0 {
		t.Fatalf("no-wait: %d %s", status, body)
	}
}

func TestNodeStates(t *testing.T) {
	syncing := func() (any, *rpctypes.RPCError) {
		return nil, internal("endpoint is closed while node is catching up")
	}
	for _, tc := range []struct {
		name      string
		broadcast func() (any, *rpctypes.RPCError)
		status    int
		code      string
	}{
		{"mempool full", func() (any, *rpctypes.RPCError) {
			return nil, internal("mempool is full: number of txs 5000 (max: 5000), total txs bytes 1 (max: 2)")
		}, http.StatusServiceUnavailable, "unavailable"},
		{"syncing", syncing, http.StatusServiceUnavailable, "unavailable"},
		{"tx too large", func() (any, *rpctypes.RPCError) {
			return nil, internal("Tx too large. Max size is 10, but got 22")
		}, http.StatusRequestEntityTooLarge, "tx_too_large"},
		{"refused by the app", func() (any, *rpctypes.RPCError) {
			return &ctypes.ResultBroadcastTx{Code: 5, Codespace: "lian", Log: "bad_nonce: nonce 3: expected 4"}, nil
		}, http.StatusBadRequest, "bad_nonce"},
		{"unexpected node error", func() (any, *rpctypes.RPCError) {
			return nil, internal("something odd")
		}, http.StatusInternalServerError, "internal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeNode(t)
			f.answer("broadcast_tx_sync", tc.broadcast)
			_, base := serveGateway(t, Config{Chains: map[string][]string{"c": {f.url()}}})
			status, body := call(t, base, http.MethodPost, "/v1/chains/c/txs", submitBody(someTx(t)))
			e := apiErr(t, tc.name, status, tc.status, body, tc.code)
			if e.Hash != txs.HashOf(someTx(t)).String() {
				t.Fatalf("error %+v lacks the hash", e)
			}
			if tc.code == "bad_nonce" && e.Message != "nonce 3: expected 4" {
				t.Fatalf("message %q", e.Message)
			}
		})
	}

	t.Run("fail over from a syncing node", func(t *testing.T) {
		s, good := newFakeNode(t), newFakeNode(t)
		s.answer("broadcast_tx_sync", syncing)
		_, base := serveGateway(t, Config{Chains: map[string][]string{"c": {s.url(), good.url()}}})
		// Until the freshness watcher has read both heights, a node it has not read
		// yet counts as behind and is asked last.
		waitFresh(t, s, good)
		status, body := call(t, base, http.MethodPost, "/v1/chains/c/txs?wait=false", submitBody(someTx(t)))
		if status != http.StatusAccepted {
			t.Fatalf("status %d: %s", status, body)
		}
		if s.count("broadcast_tx_sync") != 1 || good.count("broadcast_tx_sync") != 1 {
			t.Fatalf("broadcasts: syncing %d, good %d", s.count("broadcast_tx_sync"), good.count("broadcast_tx_sync"))
		}
		// The node that answered is asked first from now on.
		call(t, base, http.MethodPost, "/v1/chains/c/txs?wait=false", submitBody(someTx(t)))
		if s.count("broadcast_tx_sync") != 1 || good.count("broadcast_tx_sync") != 2 {
			t.Fatalf("broadcasts: syncing %d, good %d", s.count("broadcast_tx_sync"), good.count("broadcast_tx_sync"))
		}
	})

	// A node that has not seen the sender's previous transactions (they went to a node
	// the gateway left) refuses the next nonce; another node takes it. A nonce every
	// node refuses gets the first node's answer.
	t.Run("bad nonce on one node, taken by another", func(t *testing.T) {
		lagging, other := newFakeNode(t), newFakeNode(t)
		badNonce := func() (any, *rpctypes.RPCError) {
			return &ctypes.ResultBroadcastTx{Code: 5, Codespace: "lian", Log: "bad_nonce: nonce 7: expected 5"}, nil
		}
		lagging.answer("broadcast_tx_sync", badNonce)
		_, base := serveGateway(t, Config{Chains: map[string][]string{"c": {lagging.url(), other.url()}}})
		waitFresh(t, lagging, other)
		status, body := call(t, base, http.MethodPost, "/v1/chains/c/txs?wait=false", submitBody(someTx(t)))
		if status != http.StatusAccepted || lagging.count("broadcast_tx_sync") != 1 || other.count("broadcast_tx_sync") != 1 {
			t.Fatalf("status %d %s; broadcasts: lagging %d, other %d", status, body, lagging.count("broadcast_tx_sync"), other.count("broadcast_tx_sync"))
		}
		other.answer("broadcast_tx_sync", func() (any, *rpctypes.RPCError) {
			return &ctypes.ResultBroadcastTx{Code: 5, Codespace: "lian", Log: "bad_nonce: nonce 7: expected 8"}, nil
		})
		status, body = call(t, base, http.MethodPost, "/v1/chains/c/txs?wait=false", submitBody(someTx(t)))
		if e := apiErr(t, "replayed", status, http.StatusBadRequest, body, "bad_nonce"); e.Message != "nonce 7: expected 8" {
			t.Fatalf("refused everywhere: %+v, want the first node's answer", e)
		}
		if lagging.count("broadcast_tx_sync") != 2 || other.count("broadcast_tx_sync") != 2 {
			t.Fatalf("broadcasts: lagging %d, other %d", lagging.count("broadcast_tx_sync"), other.count("broadcast_tx_sync"))
		}
	})

	t.Run("a node answering garbage", func(t *testing.T) {
		garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "<html>not json-rpc</html>")
		}))
		defer garbage.Close()
		good := newFakeNode(t)
		_, base := serveGateway(t, Config{Chains: map[string][]string{"c": {garbage.URL, good.url()}}})
		getJSON(t, base, "/healthz", http.StatusOK, nil)
	})
}

func TestUnreachableChain(t *testing.T) {
	f := newFakeNode(t)
	_, base := serveGateway(t, Config{Chains: map[string][]string{"up": {f.url()}, "down": {deadURL(t), deadURL(t)}}})

	var h api.Health
	getJSON(t, base, "/healthz", http.StatusServiceUnavailable, &h)
	if h.Status != "degraded" || !h.Chains["up"].OK || h.Chains["down"].OK || h.Chains["down"].Error == "" {
		t.Fatalf("health %+v", h)
	}
	var cs api.Chains
	getJSON(t, base, "/v1/chains", http.StatusOK, &cs)
	if len(cs.Chains) != 2 || cs.Chains[0].ID != "down" || cs.Chains[0].LatestHeight != 0 || cs.Chains[0].Nodes != 2 ||
		cs.Chains[1].ID != "up" || cs.Chains[1].LatestHeight != 7 {
		t.Fatalf("chains %+v", cs)
	}
	for _, path := range []string{
		"/v1/chains/down/blocks/latest",
		"/v1/chains/down/txs/" + strings.Repeat("00", 32),
		"/v1/chains/down/accounts/0x" + strings.Repeat("00", 20),
		"/v1/chains/down/evidence/" + strings.Repeat("00", 32) + "?prove=true",
		"/v1/chains/down/accounts/0x" + strings.Repeat("00", 20) + "/txs",
		"/v1/chains/down/gov/params",
		"/v1/chains/down/gov/proposals",
		"/v1/chains/down/gov/proposals/1",
		"/v1/chains/down/credits/params",
		"/v1/chains/down/credits/balances/org:org1",
		"/v1/chains/down/credits/sponsorships/org1",
		"/v1/chains/down/credits/statements/org:org1",
		"/v1/chains/down/validators",
		"/v1/chains/down/orgs",
	} {
		status, body := call(t, base, http.MethodGet, path, nil)
		apiErr(t, path, status, http.StatusServiceUnavailable, body, "unavailable")
	}
	status, body := call(t, base, http.MethodPost, "/v1/chains/down/txs", submitBody(someTx(t)))
	apiErr(t, "submit", status, http.StatusServiceUnavailable, body, "unavailable")
}

func TestCloseEndsWaits(t *testing.T) {
	f := newFakeNode(t)
	g, base := serveGateway(t, Config{Chains: map[string][]string{"c": {f.url()}}, TxWaitTimeout: time.Minute})
	type answer struct {
		status int
		body   []byte
	}
	done := make(chan answer, 1)
	go func() {
		status, body := call(t, base, http.MethodPost, "/v1/chains/c/txs", submitBody(someTx(t)))
		done <- answer{status, body}
	}()
	eventually(t, 10*time.Second, "the gateway polls for the commit", func() bool { return f.count("tx") > 0 })
	g.Close()
	select {
	case a := <-done:
		apiErr(t, "wait after close", a.status, http.StatusServiceUnavailable, a.body, "unavailable")
	case <-time.After(10 * time.Second):
		t.Fatal("the wait did not end on Close")
	}
}

func TestNeverPanics(t *testing.T) {
	f := newFakeNode(t)
	_, base := serveGateway(t, Config{Chains: map[string][]string{"c": {f.url()}}, TxWaitTimeout: 200 * time.Millisecond})
	paths := []string{
		"/", "//", "/v1", "/v1/chains/", "/v1/chains/c", "/v1/chains/c/", "/v1/chains/c/txs/",
		"/v1/chains/%00/txs/x", "/v1/chains/c/blocks/%ff", "/v1/chains/c/blocks/latest/extra",
		"/v1/chains/c/evidence/" + strings.Repeat("0", 66), "/v1/chains/c/accounts/0x",
		"/v1/chains/" + strings.Repeat("c", 5000) + "/blocks/1",
		"/healthz/x", "/v1/chains/c/txs?wait=&timeout=",
	}
	for _, p := range paths {
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodHead} {
			req, err := http.NewRequest(m, base+p, strings.NewReader(`{"tx":"AAAA"}`))
			if err != nil {
				continue
			}
			bad, err := badAnswer(req)
			if err != nil {
				t.Fatalf("%s %s: %v", m, p, err)
			}
			if bad != "" {
				t.Errorf("%s %s: %s", m, p, bad)
			}
		}
	}
}

// badAnswer sends req to a gateway and says what is wrong with its answer ("" if
// nothing): a 5xx other than 503 and 504 (a node unreachable or slow), or an error that
// is not a JSON {"code", "message"}.
func badAnswer(req *http.Request) (string, error) {
	res, err := httpClient.Do(req)
	if err != nil {
		return "", err
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode >= 500 && res.StatusCode != http.StatusServiceUnavailable && res.StatusCode != http.StatusGatewayTimeout {
		return fmt.Sprintf("%d %s", res.StatusCode, b), nil
	}
	if req.Method != http.MethodHead && res.StatusCode >= 400 {
		var e api.Error
		if json.Unmarshal(b, &e) != nil || e.Code == "" || e.Message == "" {
			return fmt.Sprintf("%d, not a JSON error: %q", res.StatusCode, b), nil
		}
	}
	return "", nil
}

func FuzzDescribeTx(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x0a\x02\x0a\x00"))
	f.Add(sampleTx())
	f.Fuzz(func(t *testing.T, b []byte) {
		body, _ := describeTx(b)
		if body != nil {
			if _, err := json.Marshal(body); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// sampleTx is a signed transaction with one message of each known type and an unknown one.
func sampleTx() []byte {
	key, err := crypto.GenPrivKey(crypto.Ed25519)
	if err != nil {
		panic(err)
	}
	d := make([]byte, 32)
	addr := crypto.Address{0xab, 0xcd}
	body := txs.NewBody("c", 3,
		&evidence.MsgAnchor{Digest: d, HashAlgo: evidence.HashSHA256},
		&evidence.MsgAnchorBatch{Root: d, HashAlgo: evidence.HashSM3, Count: 2, Label: "b"},
		&identity.MsgRegisterAccount{PubKey: key.PubKey().Bytes(), Algo: crypto.Ed25519, Roles: []string{"member"}, IdentityHash: d},
		&identity.MsgGrantRole{Address: addr, Role: "relayer"},
		&identity.MsgRevokeRole{Address: addr, Role: "admin"},
		&identity.MsgFreezeAccount{Address: addr, Reason: "order 1"},
		&identity.MsgUnfreezeAccount{Address: addr, Reason: "order 2"},
		&gov.MsgSubmitProposal{Kind: gov.KindSuspendOrg, Content: []byte(`{"id":"org2"}`), Title: "t"},
		&gov.MsgSubmitProposal{Kind: gov.KindSuspendOrg, Content: []byte(`not json`), Title: "u"},
		&gov.MsgVote{ProposalID: 7, Option: gov.VoteAbstain},
		&credits.MsgTopUp{Account: &addr, Currency: "CNY", Amount: 250, PaymentRef: "r-1", PayerName: "p"},
		&credits.MsgTopUp{Org: "org3", Currency: "CNY", Amount: 1, PaymentRef: "r-2", PayerName: "q"},
		&credits.MsgSetSponsorship{Cap: 500, Period: 3600})
	body.Messages = append(body.Messages, txs.Any{TypeURL: "/x.Unknown", Value: []byte{1, 2}},
		txs.Any{TypeURL: gov.TypeVote, Value: []byte{0xff}}) // a known type that does not decode
	body.Sender = key.PubKey().Address()
	tx, err := txs.Sign(body, key)
	if err != nil {
		panic(err)
	}
	return tx.Marshal()
}

func TestDescribeTx(t *testing.T) {
	body, signer := describeTx(sampleTx())
	if body == nil || signer == nil || len(body.Messages) != 15 || body.Nonce != 3 {
		t.Fatalf("body %+v signer %+v", body, signer)
	}
	addr := crypto.Address{0xab, 0xcd}.String()
	for i, want := range []string{
		`{"digest":"` + strings.Repeat("00", 32) + `","hash_algo":"sha256"}`,
		`{"root":"` + strings.Repeat("00", 32) + `","hash_algo":"sm3","count":2,"label":"b"}`,
		"",
		`{"address":"` + addr + `","role":"relayer"}`,
		`{"address":"` + addr + `","role":"admin"}`,
		`{"address":"` + addr + `","reason":"order 1"}`,
		`{"address":"` + addr + `","reason":"order 2"}`,
		`{"kind":"suspend_org","title":"t","content":{"id":"org2"}}`,
		`{"kind":"suspend_org","title":"u","content_bytes":"bm90IGpzb24="}`,
		`{"proposal_id":7,"option":"abstain"}`,
		`{"holder":"` + addr + `","currency":"CNY","amount":250,"payment_ref":"r-1","payer_name":"p"}`,
		`{"holder":"org:org3","currency":"CNY","amount":1,"payment_ref":"r-2","payer_name":"q"}`,
		`{"cap":500,"period":3600}`,
	} {
		if want != "" && string(body.Messages[i].Decoded) != want {
			t.Errorf("message %d (%s) decoded %s, want %s", i, body.Messages[i].TypeURL, body.Messages[i].Decoded, want)
		}
	}
	if !strings.Contains(string(body.Messages[2].Decoded), `"roles":["member"]`) || body.Messages[13].Decoded != nil || body.Messages[14].Decoded != nil {
		t.Errorf("messages %+v", body.Messages)
	}
	// Every message type of the chain's modules (as app.New assembles them) has a
	// decoded form.
	id, cr, ev, xc := identity.New(), credits.New(), evidence.New(), xchain.New()
	for _, m := range []modules.Module{id, cr, gov.New(id, cr, xc), ev, xc, attest.New(xc, ev), message.New(xc)} {
		for _, mt := range m.Msgs() {
			if msgViews[mt.TypeURL] == nil {
				t.Errorf("message type %s of module %s has no decoded form", mt.TypeURL, m.Name())
			}
		}
	}
	if b, s := describeTx([]byte("junk")); b != nil || s != nil {
		t.Errorf("junk described as %+v %+v", b, s)
	}
}

// TestDescribeTxEmptyMessage: a message that encodes to no bytes (MsgSetSponsorship{}
// ends its org's sponsorship) has the value "" in the API, as the OpenAPI schema says
// (a string), not null.
func TestDescribeTxEmptyMessage(t *testing.T) {
	key, err := crypto.GenPrivKey(crypto.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	body := txs.NewBody("c", 0, &credits.MsgSetSponsorship{})
	body.Sender = key.PubKey().Address()
	tx, err := txs.Sign(body, key)
	if err != nil {
		t.Fatal(err)
	}
	described, _ := describeTx(tx.Marshal())
	if described == nil || len(described.Messages) != 1 {
		t.Fatalf("described %+v", described)
	}
	b, err := json.Marshal(described.Messages[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"value":""`) {
		t.Fatalf("message %s: want \"value\":\"\"", b)
	}
}

func TestHistoryWithoutTxIndex(t *testing.T) {
	f := newFakeNode(t)
	f.answer("abci_query", func() (any, *rpctypes.RPCError) {
		return &ctypes.ResultABCIQuery{Response: abci.ResponseQuery{Value: []byte(`[]`), Height: 7}}, nil
	})
	f.answer("tx_search", func() (any, *rpctypes.RPCError) { return nil, internal("transaction indexing is disabled") })
	_, base := serveGateway(t, Config{Chains: map[string][]string{"c": {f.url()}}})
	for _, path := range []string{
		"/v1/chains/c/accounts/0x" + strings.Repeat("00", 20) + "/txs",
		"/v1/chains/c/credits/statements/org:org1",
	} {
		status, body := call(t, base, http.MethodGet, path, nil)
		e := apiErr(t, path, status, http.StatusServiceUnavailable, body, "unavailable")
		if !strings.Contains(e.Message, "index") {
			t.Errorf("%s: message %q", path, e.Message)
		}
	}
}

// A transaction one node's index lacks (not indexed yet, or a node stopped behind open
// connections) is looked up on the chain's other nodes; not_found means none has it.
func TestTxFromAnotherNode(t *testing.T) {
	tx := someTx(t)
	hash := txs.HashOf(tx)
	// The dead URL comes first; once the freshness watcher has read the heights it is
	// stale, and the lacking node is asked first.
	lacking, having, base := lackingAndHaving(t, tx, 5, deadURL(t))

	var res api.TxResult
	getJSON(t, base, "/v1/chains/c/txs/"+hash.String(), http.StatusOK, &res)
	if res.Height != 5 || res.Hash != hash.String() {
		t.Fatalf("tx %+v", res)
	}
	if lacking.count("tx") != 1 || having.count("tx") != 1 {
		t.Fatalf("asked the lacking node %d times and the other %d, want 1 and 1", lacking.count("tx"), having.count("tx"))
	}

	// No node has it: not_found, each node asked once more.
	other := strings.Repeat("AB", 32)
	having.answer("tx", func() (any, *rpctypes.RPCError) { return nil, internal("tx (" + other + ") not found") })
	status, body := call(t, base, http.MethodGet, "/v1/chains/c/txs/"+other, nil)
	e := apiErr(t, "tx no node has", status, http.StatusNotFound, body, "not_found")
	if !strings.Contains(e.Message, other) {
		t.Errorf("message %q does not name the hash", e.Message)
	}
	if lacking.count("tx") != 2 || having.count("tx") != 2 {
		t.Fatalf("asked the nodes %d and %d times in all, want 2 and 2", lacking.count("tx"), having.count("tx"))
	}
}

// A commit wait whose first node never finds the transaction (its index lacks it) finds
// it on another node: every few polls ask every node.
func TestWaitFindsTxOnAnotherNode(t *testing.T) {
	tx := someTx(t)
	lacking, having, base := lackingAndHaving(t, tx, 6)
	start := time.Now()
	status, body := call(t, base, http.MethodPost, "/v1/chains/c/txs?timeout=5s", submitBody(tx))
	if status != http.StatusOK {
		t.Fatalf("wait: %d %s", status, body)
	}
	var res api.TxResult
	if err := json.Unmarshal(body, &res); err != nil || res.Height != 6 {
		t.Fatalf("wait: %s (%v)", body, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("found after %v", d)
	}
	if lacking.count("broadcast_tx_sync") != 1 || having.count("broadcast_tx_sync") != 0 || having.count("tx") == 0 {
		t.Fatalf("broadcasts %d and %d, the other node asked %d times", lacking.count("broadcast_tx_sync"), having.count("broadcast_tx_sync"), having.count("tx"))
	}
}

// lackingAndHaving serves a gateway over the nodes first (URLs), then one node that
// does not have tx (lacking) and one that has it committed at height (having), both
// fresh (waitFresh).
func lackingAndHaving(t *testing.T, tx []byte, height int64, first ...string) (lacking, having *fakeNode, base string) {
	t.Helper()
	lacking, having = newFakeNode(t), newFakeNode(t)
	hash := txs.HashOf(tx)
	having.answer("tx", func() (any, *rpctypes.RPCError) {
		return &ctypes.ResultTx{Hash: hash[:], Height: height, Tx: tx, TxResult: abci.ExecTxResult{Code: 0}}, nil
	})
	_, base = serveGateway(t, Config{Chains: map[string][]string{"c": append(first, lacking.url(), having.url())}})
	waitFresh(t, lacking, having)
	return lacking, having, base
}

// waitFresh returns once the gateway's freshness watcher has read the nodes' heights
// (its second round has begun): until then one may count as stale and be asked last.
func waitFresh(t *testing.T, nodes ...*fakeNode) {
	t.Helper()
	eventually(t, 5*time.Second, "the gateway reads the nodes' heights twice", func() bool {
		for _, n := range nodes {
			if n.count("status") < 2 {
				return false
			}
		}
		return true
	})
}

// A block one node does not have yet (it lags) is read from another node.
func TestBlockFromAnotherNode(t *testing.T) {
	behind, ahead := newFakeNode(t), newFakeNode(t)
	behind.answer("block", func() (any, *rpctypes.RPCError) {
		return nil, internal("height 9 must be less than or equal to the current blockchain height 7")
	})
	ahead.answer("block", func() (any, *rpctypes.RPCError) {
		return &ctypes.ResultBlock{BlockID: cmttypes.BlockID{Hash: bytes.Repeat([]byte{0xB1}, 32)},
			Block: &cmttypes.Block{Header: cmttypes.Header{ChainID: "c", Height: 9, Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}}}, nil
	})
	_, base := serveGateway(t, Config{Chains: map[string][]string{"c": {behind.url(), ahead.url()}}})
	waitFresh(t, behind, ahead)
	var b api.Block
	getJSON(t, base, "/v1/chains/c/blocks/9", http.StatusOK, &b)
	if b.Height != 9 || behind.count("block") != 1 || ahead.count("block") != 1 {
		t.Fatalf("block %+v; asked %d and %d times", b, behind.count("block"), ahead.count("block"))
	}
	// No node has it: not_found, naming the first node's latest height.
	ahead.answer("block", func() (any, *rpctypes.RPCError) {
		return nil, internal("height 9 must be less than or equal to the current blockchain height 8")
	})
	status, body := call(t, base, http.MethodGet, "/v1/chains/c/blocks/9", nil)
	if e := apiErr(t, "block no node has", status, http.StatusNotFound, body, "not_found"); !strings.Contains(e.Message, "current blockchain height") {
		t.Errorf("message %q", e.Message)
	}
}

// A node without peers (cut off, or stopped behind open connections) still answers and
// admits transactions, which then go nowhere: it is asked only after the others.
func TestIsolatedNodeAskedLast(t *testing.T) {
	isolated, connected := newFakeNode(t), newFakeNode(t)
	isolated.answer("net_info", func() (any, *rpctypes.RPCError) { return &ctypes.ResultNetInfo{Listening: true, NPeers: 0}, nil })
	connected.answer("net_info", func() (any, *rpctypes.RPCError) { return &ctypes.ResultNetInfo{Listening: true, NPeers: 3}, nil })
	_, base := serveGateway(t, Config{Chains: map[string][]string{"c": {isolated.url(), connected.url()}}})
	waitFresh(t, isolated, connected)
	status, body := call(t, base, http.MethodPost, "/v1/chains/c/txs?wait=false", submitBody(someTx(t)))
	if status != http.StatusAccepted {
		t.Fatalf("submit: %d %s", status, body)
	}
	if isolated.count("broadcast_tx_sync") != 0 || connected.count("broadcast_tx_sync") != 1 {
		t.Fatalf("broadcast to the isolated node %d times, to the connected one %d times", isolated.count("broadcast_tx_sync"), connected.count("broadcast_tx_sync"))
	}
	// With peers again, it is asked first again (it comes first in the list).
	isolated.answer("net_info", func() (any, *rpctypes.RPCError) { return &ctypes.ResultNetInfo{Listening: true, NPeers: 3}, nil })
	n := isolated.count("status")
	eventually(t, 5*time.Second, "the watcher reads the node again", func() bool { return isolated.count("status") >= n+2 })
	status, body = call(t, base, http.MethodGet, "/v1/chains/c/txs/"+strings.Repeat("AB", 32), nil)
	apiErr(t, "unknown tx", status, http.StatusNotFound, body, "not_found")
	if isolated.count("tx") != 1 {
		t.Fatalf("the node with peers again was asked %d times", isolated.count("tx"))
	}
}

// TestDescribeBatchMessages: a batch relay message shows its route, its range of
// sequences and its proof's size, not hundreds of packets.
func TestDescribeBatchMessages(t *testing.T) {
	key, err := crypto.GenPrivKey(crypto.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	var ps []*xchain.Packet
	for seq := uint64(4); seq <= 6; seq++ {
		ps = append(ps, &xchain.Packet{Sequence: seq, SourceRoute: "a-b", DestRoute: "b-a", Payload: []byte{1}, TimeoutHeight: 9})
	}
	ok, bad := (&xchain.Ack{Result: []byte("1")}).Bytes(), (&xchain.Ack{Error: "no"}).Bytes()
	body := txs.NewBody("c", 0,
		&xchain.MsgRecvPackets{Packets: ps, Proof: make([]byte, 100), ProofHeight: 12},
		&xchain.MsgAcknowledgePackets{Acks: []*xchain.PacketAck{{Packet: ps[0], Ack: ok}, {Packet: ps[1], Ack: bad}, {Packet: ps[2], Ack: bad}},
			Proof: make([]byte, 50), ProofHeight: 13})
	body.Sender = key.PubKey().Address()
	tx, err := txs.Sign(body, key)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := describeTx(tx.Marshal())
	if got == nil || len(got.Messages) != 2 {
		t.Fatalf("body %+v", got)
	}
	for i, want := range []string{
		`{"source_route":"a-b","dest_route":"b-a","count":3,"first_sequence":4,"last_sequence":6,"proof_height":12,"proof_bytes":100}`,
		`{"source_route":"a-b","dest_route":"b-a","count":3,"first_sequence":4,"last_sequence":6,"ack_errors":2,"proof_height":13,"proof_bytes":50}`,
	} {
		if string(got.Messages[i].Decoded) != want {
			t.Errorf("message %d decoded %s, want %s", i, got.Messages[i].Decoded, want)
		}
	}
}
