package gateway

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	cmtbytes "github.com/cometbft/cometbft/libs/bytes"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/app"
	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/modules/identity"
	"github.com/lianchain/lian/node"
	"github.com/lianchain/lian/store"
	"github.com/lianchain/lian/txs"
)

const (
	testChainID    = "gw-test-1"
	testValidators = 4
	// testRegulatorOrg has a 16-character id: "org:" + id is 20 bytes, as long as an
	// address (see rpcNode.balance).
	testRegulatorOrg = "regulator-office"
	testCredits      = 1 << 40 // every genesis account's starting credits
)

// testNet is an in-process chain of testValidators validators with a gateway in front.
type testNet struct {
	dir    string
	nodes  []*node.Node
	stores []*store.Store
	admin  crypto.PrivKey // org1 admin and the network's operator
	// orgAdmins[i] is the admin of org i+2 (org2, org3, ...).
	orgAdmins []crypto.PrivKey
	// regulator is an admin and the regulator of organisation testRegulatorOrg, which
	// runs no validator.
	regulator crypto.PrivKey
	gw        *Gateway
	srv       *httptest.Server
	dead      string // an RPC URL nobody listens on, listed first
}

var (
	netMu     sync.Mutex
	sharedNet *testNet
	netErr    error
	// netUsedBy holds the names of the tests and subtests that used sharedNet and have
	// finished. go test -count=N runs every test N times in one process: a finished
	// name asking again means the next round began, and the chain still holds what the
	// last round wrote (digests, proposals, organisations), so it is started afresh.
	netUsedBy = map[string]bool{}
)

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedNet != nil {
		sharedNet.stop()
	}
	os.Exit(code)
}

// chainNet returns the shared chain, starting it on first use and again when a test
// runs a second time in the process (go test -count=N).
func chainNet(t *testing.T) *testNet {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a chain")
	}
	return sharedChain(t)
}

// sharedChain is chainNet for tests and benchmarks.
func sharedChain(tb testing.TB) *testNet {
	tb.Helper()
	netMu.Lock()
	defer netMu.Unlock()
	if netUsedBy[tb.Name()] {
		if sharedNet != nil {
			sharedNet.stop()
		}
		sharedNet, netErr, netUsedBy = nil, nil, map[string]bool{}
		xfix, xfixOnce = nil, sync.Once{} // made on the chain just stopped
	}
	if sharedNet == nil && netErr == nil {
		start := time.Now()
		sharedNet, netErr = startNet(testValidators)
		if netErr == nil {
			fmt.Fprintf(os.Stderr, "gateway test: %d-validator chain ready in %v\n", testValidators, time.Since(start).Round(time.Millisecond))
		}
	}
	if netErr != nil {
		tb.Fatalf("start chain: %v", netErr)
	}
	// Only tests are counted: a benchmark's function runs several times (b.N grows),
	// each run ending with its cleanups.
	if t, ok := tb.(*testing.T); ok {
		name := t.Name()
		t.Cleanup(func() {
			netMu.Lock()
			netUsedBy[name] = true
			netMu.Unlock()
		})
	}
	return sharedNet
}

func startNet(n int) (_ *testNet, err error) {
	dir, err := os.MkdirTemp("", "lian-gateway-test-")
	if err != nil {
		return nil, err
	}
	tn := &testNet{dir: dir}
	defer func() {
		if err != nil {
			tn.stop()
		}
	}()
	if tn.admin, err = crypto.GenPrivKey(crypto.Ed25519); err != nil {
		return nil, err
	}
	for i := 1; i < n; i++ {
		k, err := crypto.GenPrivKey(crypto.SM2)
		if err != nil {
			return nil, err
		}
		tn.orgAdmins = append(tn.orgAdmins, k)
	}
	if tn.regulator, err = crypto.GenPrivKey(crypto.Ed25519); err != nil {
		return nil, err
	}
	vals, err := node.InitNetwork(node.NetworkSpec{
		ChainID:    testChainID,
		Dir:        dir,
		Validators: n,
		BasePort:   0,
		AppState: func(vals []node.ValidatorInfo) (json.RawMessage, error) {
			orgs := make([]identity.GenesisOrg, len(vals))
			for i, v := range vals {
				orgs[i] = identity.GenesisOrg{ID: fmt.Sprintf("org%d", i+1), Name: fmt.Sprintf("Org %d", i+1),
					Validators: []cmtbytes.HexBytes{v.PubKey}}
			}
			orgs = append(orgs, identity.GenesisOrg{ID: testRegulatorOrg, Name: "Regulator", Validators: []cmtbytes.HexBytes{}})
			accts := []identity.GenesisAccount{{Org: "org1", Algo: crypto.Ed25519, PubKey: tn.admin.PubKey().Bytes(),
				Roles: []string{identity.RoleAdmin, identity.RoleOperator}}}
			for i, k := range tn.orgAdmins {
				accts = append(accts, identity.GenesisAccount{Org: fmt.Sprintf("org%d", i+2), Algo: k.Algo(), PubKey: k.PubKey().Bytes(),
					Roles: []string{identity.RoleAdmin}})
			}
			accts = append(accts, identity.GenesisAccount{Org: testRegulatorOrg, Algo: crypto.Ed25519, PubKey: tn.regulator.PubKey().Bytes(),
				Roles: []string{identity.RoleAdmin, identity.RoleRegulator}})
			return app.BuildGenesis(app.GenesisSpec{Orgs: orgs, Accounts: accts, StartingCredits: testCredits})
		},
	})
	if err != nil {
		return nil, err
	}
	for _, v := range vals {
		st, err := store.Open(node.DataDir(v.Home))
		if err != nil {
			return nil, err
		}
		tn.stores = append(tn.stores, st)
		a, err := app.New(st)
		if err != nil {
			return nil, err
		}
		nd, err := node.Start(v.Home, a, nil)
		if err != nil {
			return nil, err
		}
		tn.nodes = append(tn.nodes, nd)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, nd := range tn.nodes {
		if err := nd.WaitReady(ctx); err != nil {
			return nil, err
		}
	}
	ports, err := node.FreePorts(1)
	if err != nil {
		return nil, err
	}
	tn.dead = fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	urls := []string{tn.dead}
	for _, nd := range tn.nodes {
		urls = append(urls, nd.RPCURL())
	}
	tn.gw, err = New(Config{Chains: map[string][]string{testChainID: urls}, TxWaitTimeout: 20 * time.Second, RPCTimeout: 5 * time.Second})
	if err != nil {
		return nil, err
	}
	tn.srv = httptest.NewServer(tn.gw.Handler())
	// A block height of 1 does not mean the app committed block 1 (CometBFT stores a block
	// before the app commits it), and until then CheckTx runs on the pre-genesis state:
	// wait until the admin's account is readable.
	path := tn.srv.URL + "/v1/chains/" + testChainID + "/accounts/" + tn.admin.PubKey().Address().String()
	for {
		res, err := httpClient.Get(path)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return tn, nil
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("genesis account not readable: %v", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (tn *testNet) stop() {
	if tn.srv != nil {
		tn.srv.Close()
	}
	if tn.gw != nil {
		tn.gw.Close()
	}
	for _, nd := range tn.nodes {
		_ = nd.Stop()
	}
	for _, st := range tn.stores {
		_ = st.Close()
	}
	_ = os.RemoveAll(tn.dir)
}

var httpClient = &http.Client{Timeout: 60 * time.Second}

// call sends a request to base+path and returns the status and the body.
func call(t *testing.T, base, method, path string, body []byte) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q, body %s", method, path, ct, out)
	}
	return res.StatusCode, out
}

// getJSON GETs path, expects status and decodes the body into out.
func getJSON(t *testing.T, base, path string, status int, out any) {
	t.Helper()
	got, body := call(t, base, http.MethodGet, path, nil)
	if got != status {
		t.Fatalf("GET %s: status %d, want %d: %s", path, got, status, body)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("GET %s: decode %s: %v", path, body, err)
		}
	}
}

// apiErr decodes an error body and checks its code.
func apiErr(t *testing.T, what string, status, wantStatus int, body []byte, wantCode string) api.Error {
	t.Helper()
	var e api.Error
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("%s: error body %s: %v", what, body, err)
	}
	if status != wantStatus || e.Code != wantCode {
		t.Fatalf("%s: got %d %q (%s), want %d %q", what, status, e.Code, e.Message, wantStatus, wantCode)
	}
	if e.Message == "" {
		t.Errorf("%s: empty error message", what)
	}
	return e
}

func submitBody(tx []byte) []byte {
	b, _ := json.Marshal(api.SubmitTx{Tx: tx})
	return b
}

// submit posts tx and returns the status and the raw body.
func (tn *testNet) submit(t *testing.T, tx *txs.Tx, query string) (int, []byte) {
	t.Helper()
	return call(t, tn.srv.URL, http.MethodPost, "/v1/chains/"+testChainID+"/txs"+query, submitBody(tx.Marshal()))
}

// mustCommit submits tx, waits for its commit and checks code 0.
func (tn *testNet) mustCommit(t *testing.T, tx *txs.Tx) api.TxResult {
	t.Helper()
	status, body := tn.submit(t, tx, "")
	if status != http.StatusOK {
		t.Fatalf("submit: status %d: %s", status, body)
	}
	var res api.TxResult
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatal(err)
	}
	if res.Code != 0 || res.Height <= 0 {
		t.Fatalf("submit: result %+v", res)
	}
	return res
}

func sign(t *testing.T, chainID string, nonce uint64, key crypto.PrivKey, msgs ...txs.Msg) *txs.Tx {
	t.Helper()
	body := txs.NewBody(chainID, nonce, msgs...)
	body.Sender = key.PubKey().Address()
	tx, err := txs.Sign(body, key)
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

// nonce returns the account's next nonce through the gateway.
func (tn *testNet) nonce(t *testing.T, addr crypto.Address) uint64 {
	t.Helper()
	var a api.Account
	getJSON(t, tn.srv.URL, "/v1/chains/"+testChainID+"/accounts/"+addr.String(), http.StatusOK, &a)
	return a.Nonce
}

// eventually polls cond every 50 ms until it holds or the deadline passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func hasEvent(evs []api.Event, typ string) bool {
	for _, e := range evs {
		if e.Type == typ {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
