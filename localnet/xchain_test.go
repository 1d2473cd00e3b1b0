package localnet

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	rpcclient "github.com/cometbft/cometbft/rpc/client"

	"github.com/lianchain/lian/modules/attest"
	"github.com/lianchain/lian/modules/gov"
	"github.com/lianchain/lian/node"
	"github.com/lianchain/lian/relayer"
	"github.com/lianchain/lian/txs"
)

// attestOnce asks chain to, over its attest route to other, about digest and returns
// the request's route and sequence.
func attestOnce(ctx context.Context, t *testing.T, n *Network, chain, other string, digest []byte) (string, uint64) {
	t.Helper()
	ks, err := n.Keys()
	if err != nil {
		t.Fatal(err)
	}
	demo, err := ks.Signer(DemoKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := relayer.NewChain(chain, n.Endpoint(chain), demo)
	if err != nil {
		t.Fatal(err)
	}
	route := relayer.RouteID(attest.Name, other)
	res, err := c.SubmitAndWait(ctx, []txs.Msg{&attest.MsgAttest{Route: route, Digest: digest}})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range res.TxResult.Events {
		if e.Type == attest.EventRequested {
			for _, a := range e.Attributes {
				if a.Key == "sequence" {
					seq, err := strconv.ParseUint(a.Value, 10, 64)
					if err != nil {
						t.Fatal(err)
					}
					return route, seq
				}
			}
		}
	}
	t.Fatalf("no %s event in %v", attest.EventRequested, res.TxResult.Events)
	return "", 0
}

// requestStatus reads an attestation request's status.
func requestStatus(ctx context.Context, t *testing.T, n *Network, chain, route string, seq uint64) string {
	t.Helper()
	res, err := n.Endpoint(chain).ABCIQueryWithOptions(ctx, "/attest/"+attest.QueryRequest, []byte(fmt.Sprintf("%s/%d", route, seq)), rpcOpts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Response.Code != 0 {
		t.Fatalf("query request %s/%d: %s", route, seq, res.Response.Log)
	}
	var r attest.Request
	if err := json.Unmarshal(res.Response.Value, &r); err != nil {
		t.Fatal(err)
	}
	return r.Status
}

func countProposals(ctx context.Context, t *testing.T, n *Network, chain string) int {
	t.Helper()
	res, err := n.Endpoint(chain).ABCIQueryWithOptions(ctx, "/gov/"+gov.QueryProposals, []byte(`{"limit":100}`), rpcOpts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Response.Code != 0 {
		t.Fatalf("query proposals: %s", res.Response.Log)
	}
	var ps []json.RawMessage
	if err := json.Unmarshal(res.Response.Value, &ps); err != nil {
		t.Fatal(err)
	}
	return len(ps)
}

// TestUpSetsUpPathsAndRelays starts three one-validator chains: lian up's setup makes
// clients and routes between every pair through governance, its relayer answers an
// attestation along each of the six directions, and a restart on the same home, with a
// new relayer key, keeps the paths (no new proposals), registers the new relayer
// account and relays again.
func TestUpSetsUpPathsAndRelays(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	home := t.TempDir()
	opts := Options{Home: home, Chains: []string{"la-1", "lb-1", "lc-1"}, Validators: 1, Listen: "127.0.0.1:0",
		Relayer: relayer.Options{PollInterval: 20 * time.Millisecond}}
	start := time.Now()
	n, err := Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ready after %v (paths %v)", time.Since(start), n.PathsSetupTime())
	proposals := map[string]int{}
	for _, c := range n.ChainIDs() {
		proposals[c] = countProposals(ctx, t, n, c)
		if proposals[c] != 6 { // two clients and two routes to each of them
			t.Errorf("%s: %d proposals, want 6", c, proposals[c])
		}
	}
	var steps []struct{ from, to string }
	for _, a := range opts.Chains {
		for _, b := range opts.Chains {
			if a != b {
				steps = append(steps, struct{ from, to string }{a, b})
			}
		}
	}
	relayed := func(round int) {
		for _, s := range steps {
			d := sha256.Sum256([]byte(fmt.Sprintf("%s round %d", s.from, round)))
			route, seq := attestOnce(ctx, t, n, s.from, s.to, d[:])
			for requestStatus(ctx, t, n, s.from, route, seq) != attest.StatusAnswered {
				if ctx.Err() != nil {
					t.Fatalf("%s → %s: request %s/%d not answered", s.from, s.to, route, seq)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
	relayed(1)
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	// A relayer key the genesis does not know (a home from before lian up made one, or
	// a replaced key): the restart registers its account.
	if err := os.Remove(filepath.Join(home, "keys", RelayerKey+".json")); err != nil {
		t.Fatal(err)
	}
	if n, err = Start(ctx, opts); err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	for _, c := range n.ChainIDs() {
		if got := countProposals(ctx, t, n, c); got != proposals[c] {
			t.Errorf("%s: %d proposals after restart, want %d", c, got, proposals[c])
		}
	}
	relayed(2)
}

var rpcOpts = rpcclient.ABCIQueryOptions{}

// TestRelayAfterIdle: a chain that made no block for longer than the clocks' skew
// still takes a fresh header at once. A CometBFT block carries the time of the votes
// on the block before it, so the first block after a pause is dated back to before
// it; the clients lian up makes allow that lag (the empty-block interval) on top of
// the skew. Before, the first relay after a pause waited for the idle chain's block
// times to catch up (about a minute with the default 30 s interval; 8 s and more here).
func TestRelayAfterIdle(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const (
		interval = 25 * time.Second                         // the chains' empty-block interval
		quiet    = relayer.DefaultClockSkew + 8*time.Second // how long both idle before the request
		answerIn = 4 * time.Second
	)
	n, err := Start(ctx, Options{Home: t.TempDir(), Chains: []string{"ia-1", "ib-1"}, Validators: 1, Listen: "127.0.0.1:0",
		Tuning: node.Tuning{CreateEmptyBlocksInterval: interval}, Relayer: relayer.Options{PollInterval: 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	if got, want := n.maxClockDrift(), relayer.DefaultClockSkew+interval; got != want {
		t.Fatalf("max clock drift %v, want %v", got, want)
	}
	// Wait until neither chain made a block for quiet.
	heights := map[string]int64{}
	changed := time.Now()
	for time.Since(changed) < quiet {
		if ctx.Err() != nil {
			t.Fatal("the chains did not idle")
		}
		for _, c := range n.Chains() {
			if h := c.Nodes[0].Node.Height(); h != heights[c.ID] {
				heights[c.ID], changed = h, time.Now()
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	d := sha256.Sum256([]byte("after idle"))
	start := time.Now()
	route, seq := attestOnce(ctx, t, n, "ia-1", "ib-1", d[:])
	for requestStatus(ctx, t, n, "ia-1", route, seq) != attest.StatusAnswered {
		if time.Since(start) > answerIn {
			t.Fatalf("request %s/%d not answered %v after it was sent, the chains having idled for %v", route, seq, answerIn, quiet)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("answered %v after it was sent", time.Since(start).Round(time.Millisecond))
}

// The relayer's default clock drift is the skew plus the node's default empty-block
// interval (the relayer does not import the node package, so it repeats the value).
func TestDefaultMaxClockDrift(t *testing.T) {
	if got, want := relayer.DefaultMaxClockDrift, relayer.DefaultClockSkew+node.DefaultCreateEmptyBlocksInterval; got != want {
		t.Fatalf("relayer.DefaultMaxClockDrift %v, want the skew plus node.DefaultCreateEmptyBlocksInterval: %v", got, want)
	}
}
