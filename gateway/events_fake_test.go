package gateway

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/ed25519"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	rpctypes "github.com/cometbft/cometbft/rpc/jsonrpc/types"
	"github.com/cometbft/cometbft/types"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/modules/evidence"
)

// evFake is a CometBFT JSON-RPC server over a chain of blocks the test builds: status,
// block, block_results, validators and num_unconfirmed_txs.
type evFake struct {
	srv *httptest.Server

	mu        sync.Mutex
	blocks    []evFakeBlock // height i+1
	earliest  int64
	failFrom  int64 // block_results of heights >= failFrom fail with a transport error (0: none)
	blockTime time.Time
	vals      []*types.Validator // the validator set of every height
	calls     map[string]int
}

type evFakeBlock struct {
	block   *types.Block
	results *ctypes.ResultBlockResults
}

func newEvFake(t *testing.T) *evFake {
	f := &evFake{earliest: 1, calls: map[string]int{}, blockTime: time.Now().UTC()}
	for range 2 {
		f.vals = append(f.vals, types.NewValidator(ed25519.GenPrivKey().PubKey(), 10))
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// add appends a block of txs with their results, and block events.
func (f *evFake) add(txsBytes [][]byte, results []*abci.ExecTxResult, blockEvents ...abci.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := int64(len(f.blocks) + 1)
	var bt []types.Tx
	for _, b := range txsBytes {
		bt = append(bt, b)
	}
	commit := &types.Commit{Height: h - 1}
	if h > 1 {
		// The second validator never signs.
		commit.Signatures = []types.CommitSig{
			{BlockIDFlag: types.BlockIDFlagCommit, ValidatorAddress: f.vals[0].Address},
			{BlockIDFlag: types.BlockIDFlagAbsent},
		}
	}
	blk := types.MakeBlock(h, bt, commit, nil)
	blk.ChainID = "ev"
	blk.Time = f.blockTime.Add(time.Duration(h) * time.Second)
	f.blocks = append(f.blocks, evFakeBlock{block: blk, results: &ctypes.ResultBlockResults{Height: h, TxsResults: results,
		FinalizeBlockEvents: blockEvents, AppHash: []byte{1}}})
}

func (f *evFake) setFailFrom(h int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failFrom = h
}

func (f *evFake) count(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

func (f *evFake) serve(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ID     json.RawMessage            `json:"id"`
		Method string                     `json:"method"`
		Params map[string]json.RawMessage `json:"params"`
	}
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	height := int64(0)
	if raw, ok := req.Params["height"]; ok {
		height, _ = strconv.ParseInt(strings.Trim(string(raw), `"`), 10, 64)
	}
	f.mu.Lock()
	f.calls[req.Method]++
	latest := int64(len(f.blocks))
	var (
		res  any
		rerr *rpctypes.RPCError
	)
	getBlock := func() *evFakeBlock {
		switch {
		case height > latest:
			rerr = internal(fmt.Sprintf("height %d must be less than or equal to the current blockchain height %d", height, latest))
		case height < f.earliest:
			rerr = internal(fmt.Sprintf("height %d is not available, lowest height is %d", height, f.earliest))
		default:
			return &f.blocks[height-1]
		}
		return nil
	}
	switch req.Method {
	case "status":
		st := &ctypes.ResultStatus{SyncInfo: ctypes.SyncInfo{LatestBlockHeight: latest, EarliestBlockHeight: f.earliest}}
		if latest > 0 {
			st.SyncInfo.LatestBlockTime = f.blocks[latest-1].block.Time
		}
		res = st
	case "block":
		if b := getBlock(); b != nil {
			sum := sha256.Sum256([]byte(strconv.FormatInt(height, 10)))
			res = &ctypes.ResultBlock{BlockID: types.BlockID{Hash: sum[:]}, Block: b.block}
		}
	case "block_results":
		if f.failFrom > 0 && height >= f.failFrom {
			f.mu.Unlock()
			http.Error(w, "node down", http.StatusBadGateway)
			return
		}
		if b := getBlock(); b != nil {
			res = b.results
		}
	case "validators":
		res = &ctypes.ResultValidators{BlockHeight: height, Validators: f.vals, Count: len(f.vals), Total: len(f.vals)}
	case "num_unconfirmed_txs":
		res = &ctypes.ResultUnconfirmedTxs{Total: 3, TotalBytes: 300}
	default:
		rerr = &rpctypes.RPCError{Code: -32601, Message: "Method not found"}
	}
	f.mu.Unlock()
	resp := map[string]any{"jsonrpc": "2.0", "id": req.ID}
	if rerr != nil {
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

// sseMsg is one message of an event stream: an event (kind and data), or an ID alone.
type sseMsg struct {
	id, kind, data string
	comment        bool // a comment alone (a heartbeat)
}

// sseStream is an event stream a test reads.
type sseStream struct {
	resp     *http.Response
	sc       *bufio.Scanner
	cancel   context.CancelFunc
	comments int
}

// openSSE opens GET url with Last-Event-ID lastID (if set) and checks the answer is a
// stream.
func openSSE(t *testing.T, url, lastID string) *sseStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		t.Fatalf("GET %s: %d %s: %s", url, resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	s := &sseStream{resp: resp, sc: bufio.NewScanner(resp.Body), cancel: cancel}
	s.sc.Buffer(nil, 8<<20)
	t.Cleanup(s.close)
	return s
}

func (s *sseStream) close() {
	s.cancel()
	s.resp.Body.Close()
}

// next returns the next message (an event, an ID alone or a comment alone), counting
// comments.
func (s *sseStream) next(t *testing.T, timeout time.Duration) sseMsg {
	t.Helper()
	timer := time.AfterFunc(timeout, s.cancel)
	defer timer.Stop()
	var m sseMsg
	have := false
	for s.sc.Scan() {
		line := s.sc.Text()
		switch {
		case line == "":
			if have {
				return m
			}
		case strings.HasPrefix(line, ":"):
			s.comments++
			m.comment, have = true, true
		default:
			k, v, _ := strings.Cut(line, ": ")
			switch k {
			case "id":
				m.id, have = v, true
			case "event":
				m.kind, have = v, true
			case "data":
				m.data, have = v, true
			}
		}
	}
	t.Fatalf("stream ended: %v", s.sc.Err())
	return m
}

// until reads messages until one satisfies stop, and returns the events (not the IDs
// alone) read, stop's included.
func (s *sseStream) until(t *testing.T, timeout time.Duration, stop func(sseMsg) bool) []sseMsg {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var out []sseMsg
	for {
		m := s.next(t, time.Until(deadline))
		if m.kind != "" {
			out = append(out, m)
		}
		if stop(m) {
			return out
		}
	}
}

func ids(ms []sseMsg) string {
	var out []string
	for _, m := range ms {
		out = append(out, m.id)
	}
	return strings.Join(out, " ")
}

func attrs(kv ...string) []abci.EventAttribute {
	var out []abci.EventAttribute
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, abci.EventAttribute{Key: kv[i], Value: kv[i+1]})
	}
	return out
}

// evFakeChain builds blocks 1-5 of a fake chain:
//
//	1: empty
//	2: tx 0 by a (evidence anchor: lian.tx, lian.message, lian.evidence.anchored),
//	   tx 1 by b paid by org:org1 (lian.tx, lian.message, lian.identity.account_registered of a)
//	3: empty, a block event lian.gov.proposal_decided
//	4: tx 0 by b, failed (bad_nonce): lian.tx only
//	5: empty
func evFakeChain(t *testing.T, f *evFake, a, b crypto.PrivKey) {
	t.Helper()
	aAddr, bAddr := a.PubKey().Address().String(), b.PubKey().Address().String()
	txA := sign(t, "ev", 0, a, anchor(digestOf("fake"), "x")).Marshal()
	txB := sign(t, "ev", 0, b, anchor(digestOf("fake b"), "y")).Marshal()
	txB2 := sign(t, "ev", 1, b, anchor(digestOf("fake c"), "z")).Marshal()
	f.add(nil, nil)
	f.add([][]byte{txA, txB}, []*abci.ExecTxResult{
		{GasUsed: 100, Events: []abci.Event{
			{Type: "lian.tx", Attributes: attrs("sender", aAddr, "nonce", "0", "org", "org1", "fee", "100", "payer", aAddr)},
			{Type: "lian.message", Attributes: attrs("type", evidence.TypeAnchor, "module", "evidence")},
			{Type: evidence.EventAnchored, Attributes: attrs("digest", "AB", "by", aAddr)},
		}},
		{GasUsed: 50, Events: []abci.Event{
			{Type: "lian.tx", Attributes: attrs("sender", bAddr, "nonce", "0", "org", "org1", "fee", "50", "payer", "org:org1")},
			{Type: "lian.message", Attributes: attrs("type", "/lian.identity.v1.MsgRegisterAccount", "module", "identity")},
			{Type: "lian.identity.account_registered", Attributes: attrs("address", aAddr, "org", "org1")},
		}},
	})
	f.add(nil, nil, abci.Event{Type: "lian.gov.proposal_decided", Attributes: attrs("proposal", "1", "status", "executed")})
	f.add([][]byte{txB2}, []*abci.ExecTxResult{{Code: 5, Codespace: "lian", GasUsed: 7, Events: []abci.Event{
		{Type: "lian.tx", Attributes: attrs("sender", bAddr, "nonce", "1", "org", "org1", "fee", "7", "payer", bAddr)},
	}}})
	f.add(nil, nil)
}

func genKey(t *testing.T) crypto.PrivKey {
	t.Helper()
	k, err := crypto.GenPrivKey(crypto.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestEventStreamFake(t *testing.T) {
	f := newEvFake(t)
	a, b := genKey(t), genKey(t)
	evFakeChain(t, f, a, b)
	g, base := serveGateway(t, Config{Chains: map[string][]string{"ev": {deadURL(t), f.srv.URL}}})
	g.obs.heartbeat = 200 * time.Millisecond
	for _, hub := range g.obs.chains {
		hub.poll = 20 * time.Millisecond
	}
	path := base + "/v1/chains/ev/events"
	endOf := func(h int) func(sseMsg) bool {
		return func(m sseMsg) bool { return m.id == strconv.Itoa(h) }
	}

	t.Run("everything from height 1", func(t *testing.T) {
		s := openSSE(t, path+"?from_height=1", "")
		got := s.until(t, 10*time.Second, endOf(5))
		want := "1 2:0:0 2:0:1 2:0:2 2:1:0 2:1:1 2:1:2 2 3:end:0 3 4:0:0 4 5"
		if ids(got) != want {
			t.Fatalf("ids %s\nwant %s", ids(got), want)
		}
		decode := func(m sseMsg) api.StreamEvent {
			var ev api.StreamEvent
			if err := json.Unmarshal([]byte(m.data), &ev); err != nil {
				t.Fatalf("%s: %v", m.data, err)
			}
			return ev
		}
		ev := decode(got[3])
		if ev.Kind != api.StreamKindTx || ev.ID != "2:0:2" || ev.Height != 2 || ev.Tx == nil || ev.Tx.Index != 0 ||
			ev.Tx.Hash == "" || ev.Event == nil || ev.Event.Type != evidence.EventAnchored || ev.Event.Module != "evidence" ||
			ev.Event.Index != 2 || len(ev.Event.Attributes) != 2 || ev.Time.IsZero() {
			t.Fatalf("event %s", got[3].data)
		}
		ev = decode(got[11])
		if ev.Kind != api.StreamKindBlock || ev.ID != "4" || ev.Block == nil || ev.Block.NumTxs != 1 || ev.Block.Hash == "" || ev.Event != nil {
			t.Fatalf("block end %s", got[11].data)
		}
		ev = decode(got[10])
		if ev.Tx.Code != 5 || ev.Tx.CodeName != "bad_nonce" || ev.Event.Module != "" {
			t.Fatalf("failed tx %s", got[10].data)
		}
		ev = decode(got[8])
		if ev.Kind != api.StreamKindBlockEvent || ev.Tx != nil || ev.Event.Module != "gov" {
			t.Fatalf("block event %s", got[8].data)
		}
	})

	t.Run("resume after Last-Event-ID", func(t *testing.T) {
		for last, want := range map[string]string{
			"2:0:1":   "2:0:2 2:1:0 2:1:1 2:1:2 2 3:end:0 3 4:0:0 4 5",
			"2:1:2":   "2 3:end:0 3 4:0:0 4 5",
			"2":       "3:end:0 3 4:0:0 4 5",
			"3:end:0": "3 4:0:0 4 5",
			"0":       "1 2:0:0 2:0:1 2:0:2 2:1:0 2:1:1 2:1:2 2 3:end:0 3 4:0:0 4 5",
			"4:7:0":   "4 5", // past the block's transactions
		} {
			s := openSSE(t, path+"?from_height=5", last) // Last-Event-ID wins over from_height
			if got := s.until(t, 10*time.Second, endOf(5)); ids(got) != want {
				t.Errorf("after %s: %s, want %s", last, ids(got), want)
			}
			s.close()
		}
	})

	t.Run("filters", func(t *testing.T) {
		aAddr := a.PubKey().Address().String()
		for q, want := range map[string]string{
			"type=lian.tx&blocks=false":                             "2:0:0 2:1:0 4:0:0",
			"type=lian.tx,lian.gov.proposal_decided":                "1 2:0:0 2:1:0 2 3:end:0 3 4:0:0 4 5",
			"type=lian.tx&type=lian.gov.proposal_decided":           "1 2:0:0 2:1:0 2 3:end:0 3 4:0:0 4 5",
			"module=gov&blocks=false":                               "3:end:0",
			"module=evidence&blocks=false":                          "2:0:1 2:0:2",
			"module=identity,evidence&blocks=false":                 "2:0:1 2:0:2 2:1:1 2:1:2",
			"account=" + aAddr + "&blocks=false":                    "2:0:0 2:0:1 2:0:2 2:1:2",
			"account=0X" + strings.ToUpper(aAddr[2:]) + "&blocks=0": "2:0:0 2:0:1 2:0:2 2:1:2",
			"account=org:org1&blocks=false":                         "2:1:0 2:1:1 2:1:2",
			"account=" + aAddr + "&module=identity&blocks=false":    "2:1:2",
		} {
			s := openSSE(t, path+"?from_height=1&"+q, "")
			// Block 5 is the last; without block ends its ID comes alone with a heartbeat.
			got := s.until(t, 10*time.Second, func(m sseMsg) bool { return m.id == "5" })
			if ids(got) != want {
				t.Errorf("%s: %s, want %s", q, ids(got), want)
			}
			s.close()
		}
	})

	t.Run("live, heartbeats, outage", func(t *testing.T) {
		s := openSSE(t, path+"?blocks=false", "")
		m := s.next(t, 5*time.Second)
		for m.comment {
			m = s.next(t, 5*time.Second)
		}
		if m.id != "5" || m.kind != "" {
			t.Fatalf("first message %+v, want the ID of the latest block alone", m)
		}
		// Nothing new: comments keep the connection open.
		for s.comments < 3 {
			if m := s.next(t, 5*time.Second); m.kind != "" {
				t.Fatalf("unexpected %+v", m)
			}
		}
		// The nodes cannot serve block 6 for a while; the stream waits, then goes on.
		f.setFailFrom(6)
		tx := sign(t, "ev", 0, a, anchor(digestOf("live"), "l")).Marshal()
		f.add([][]byte{tx}, []*abci.ExecTxResult{{Events: []abci.Event{{Type: "lian.tx", Attributes: attrs("sender", "0xabc")}}}})
		f.add(nil, nil)
		calls := f.count("block_results")
		eventually(t, 10*time.Second, "the stream retries block 6", func() bool { return f.count("block_results") >= calls+3 })
		f.setFailFrom(0)
		for m = s.next(t, 10*time.Second); m.comment; m = s.next(t, 10*time.Second) {
		}
		if m.id != "6:0:0" || m.kind != api.StreamKindTx {
			t.Fatalf("after the outage %+v", m)
		}
		// Block 7 had nothing for the stream: its ID alone comes with the next heartbeat.
		if m = s.next(t, 5*time.Second); m.id != "7" || m.kind != "" {
			t.Fatalf("heartbeat %+v, want id 7 alone", m)
		}
	})

	t.Run("disconnect ends the work", func(t *testing.T) {
		hub := g.obs.chains["ev"]
		eventually(t, 5*time.Second, "the earlier streams end", func() bool {
			hub.mu.Lock()
			defer hub.mu.Unlock()
			return hub.watchers == 0
		})
		s := openSSE(t, path, "")
		s.next(t, 5*time.Second)
		hub.mu.Lock()
		w := hub.watchers
		hub.mu.Unlock()
		if w != 1 {
			t.Fatalf("%d tip watchers with one stream", w)
		}
		s.close()
		eventually(t, 5*time.Second, "the stream ends and its tip poller stops", func() bool {
			hub.mu.Lock()
			defer hub.mu.Unlock()
			return hub.watchers == 0 && hub.stop == nil && len(g.obs.streams) == 0
		})
	})

	t.Run("errors", func(t *testing.T) {
		for _, tc := range []struct {
			path, lastID string
			status       int
			code         string
		}{
			{"/v1/chains/nope/events", "", 404, "not_found"},
			{"/v1/chains/ev/events?from_height=0", "", 400, "invalid_request"},
			{"/v1/chains/ev/events?from_height=x", "", 400, "invalid_request"},
			{"/v1/chains/ev/events?from_height=100000", "", 400, "invalid_request"},
			{"/v1/chains/ev/events?module=nope", "", 400, "invalid_request"},
			{"/v1/chains/ev/events?type=", "", 400, "invalid_request"},
			{"/v1/chains/ev/events?account=nobody", "", 400, "invalid_request"},
			{"/v1/chains/ev/events?blocks=maybe", "", 400, "invalid_request"},
			{"/v1/chains/ev/events?since=3", "", 400, "invalid_request"},
			{"/v1/chains/ev/events", "2:x:1", 400, "invalid_request"},
			{"/v1/chains/ev/events", "02", 400, "invalid_request"},
			{"/v1/chains/ev/events", "0:0:0", 400, "invalid_request"},
		} {
			req, _ := http.NewRequest(http.MethodGet, base+tc.path, nil)
			if tc.lastID != "" {
				req.Header.Set("Last-Event-ID", tc.lastID)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			apiErr(t, tc.path+" "+tc.lastID, res.StatusCode, tc.status, body, tc.code)
		}
		// HEAD answers the header and ends.
		res, err := http.Head(path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
			t.Fatalf("HEAD: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
		}
		// Pruned heights.
		f.mu.Lock()
		f.earliest = 3
		f.mu.Unlock()
		st, body := call(t, base, http.MethodGet, "/v1/chains/ev/events?from_height=2", nil)
		apiErr(t, "pruned", st, 404, body, "not_found")
		f.mu.Lock()
		f.earliest = 1
		f.mu.Unlock()
		// Too many streams: every slot but one is taken.
		eventually(t, 5*time.Second, "the earlier streams end", func() bool { return len(g.obs.streams) == 0 })
		for range cap(g.obs.streams) - 1 {
			g.obs.streams <- struct{}{}
		}
		s := openSSE(t, path, "")
		st, body = call(t, base, http.MethodGet, "/v1/chains/ev/events", nil)
		apiErr(t, "too many", st, 503, body, "unavailable")
		s.close()
		eventually(t, 5*time.Second, "the slot is free", func() bool { return len(g.obs.streams) == cap(g.obs.streams)-1 })
		for range cap(g.obs.streams) - 1 {
			<-g.obs.streams
		}
	})
}

// TestEventStreamShutdown: http.Server.Shutdown does not wait for open streams, which
// never end on their own.
func TestEventStreamShutdown(t *testing.T) {
	f := newEvFake(t)
	f.add(nil, nil)
	g, err := New(Config{Chains: map[string][]string{"ev": {f.srv.URL}}})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	srv := httptest.NewServer(g.Handler())
	defer srv.Close()
	s := openSSE(t, srv.URL+"/v1/chains/ev/events", "")
	s.next(t, 5*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	if err := srv.Config.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("shutdown took %v", d)
	}
	for s.sc.Scan() {
	}
}
