package localnet

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	rpcclient "github.com/cometbft/cometbft/rpc/client"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"

	"github.com/lianchain/lian/client"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules/attest"
	"github.com/lianchain/lian/modules/evidence"
	"github.com/lianchain/lian/modules/gov"
	"github.com/lianchain/lian/modules/xchain"
	"github.com/lianchain/lian/node"
	"github.com/lianchain/lian/relayer"
	"github.com/lianchain/lian/txs"
)

// attestOnce asks chain to, over its attest route to other, about digest and returns
// the request's route and sequence.
func attestOnce(ctx context.Context, t *testing.T, n *Network, chain, other string, digest []byte) (string, uint64) {
	t.Helper()
	route := relayer.RouteID(attest.Name, other)
	res := demoSubmit(ctx, t, n, chain, &attest.MsgAttest{Route: route, Digest: digest})
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

// demoSubmit submits msgs on chain with the demo key and waits for their commit.
func demoSubmit(ctx context.Context, t *testing.T, n *Network, chain string, msgs ...txs.Msg) *ctypes.ResultTx {
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
	res, err := c.SubmitAndWait(ctx, msgs)
	if err != nil {
		t.Fatal(err)
	}
	return res
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
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(home, "lian.log"))
			for _, l := range strings.Split(string(b), "\n") {
				if !strings.Contains(l, "level=DEBUG") && !strings.Contains(l, "module=") {
					t.Log(l)
				}
			}
		}
	})
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
	// The relayer proves with the validators' attested state (vote extensions: the
	// chains of a fresh home have them), not only with the next header.
	attested := 0
	for _, c := range n.ChainIDs() {
		for _, v := range clientViews(ctx, t, n, c) {
			if v.ProvenHeight == v.LatestHeight+1 {
				attested++
			}
		}
	}
	if attested == 0 {
		t.Error("no client accepts proofs at an attested state")
	}
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

// clientViews returns a chain's light clients.
func clientViews(ctx context.Context, t *testing.T, n *Network, chain string) []xchain.ClientView {
	t.Helper()
	res, err := n.Endpoint(chain).ABCIQueryWithOptions(ctx, "/xchain/"+xchain.QueryClients, nil, rpcOpts)
	if err != nil || res.Response.Code != 0 {
		t.Fatalf("%s: clients: %v %s", chain, err, res.Response.Log)
	}
	var views []xchain.ClientView
	if err := json.Unmarshal(res.Response.Value, &views); err != nil {
		t.Fatal(err)
	}
	return views
}

// TestRelayWithoutVoteExtensions: chains initialised before vote extensions serve no
// extended commits; the relayer proves with the next header, as it did before.
func TestRelayWithoutVoteExtensions(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	withoutVoteExtensions(t)
	n, err := Start(ctx, Options{Home: t.TempDir(), Chains: []string{"na-1", "nb-1"}, Validators: 1, Listen: "127.0.0.1:0",
		Relayer: relayer.Options{PollInterval: 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	res, err := n.Endpoint("na-1").ABCIQueryWithOptions(ctx, xchain.QueryExtendedCommit, nil, rpcOpts)
	if err != nil {
		t.Fatal(err)
	}
	if errcode.Code(res.Response.Code) != errcode.NotFound {
		t.Fatalf("extended commit of a chain without vote extensions: code %d (%s), want not_found", res.Response.Code, res.Response.Log)
	}
	d := sha256.Sum256([]byte("no extensions"))
	route, seq := attestOnce(ctx, t, n, "na-1", "nb-1", d[:])
	for requestStatus(ctx, t, n, "na-1", route, seq) != attest.StatusAnswered {
		if ctx.Err() != nil {
			t.Fatalf("request %s/%d not answered", route, seq)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, c := range n.ChainIDs() {
		for _, v := range clientViews(ctx, t, n, c) {
			if v.ProvenHeight != v.LatestHeight {
				t.Errorf("%s: client %s proven at %d, latest %d: an attested state without vote extensions", c, v.ID, v.ProvenHeight, v.LatestHeight)
			}
		}
	}
	if t.Failed() {
		return
	}

	// Governance turns them on for na-1 (a set_params proposal, passed by its one
	// organisation): from the enable height its validator attests the state, the
	// relayer hands it to nb-1, whose client of na-1 then proves a block further.
	if ids, err := n.WithoutAttestedState(ctx); err != nil || !slices.Equal(ids, []string{"na-1", "nb-1"}) {
		t.Fatalf("chains without attested state: %v %v", ids, err)
	}
	e := enableVoteExtensions(ctx, t, n, "na-1", 10)
	for height(ctx, t, n, "na-1") <= e {
		d := sha256.Sum256(fmt.Appendf(nil, "block after the vote %d", time.Now().UnixNano()))
		demoSubmit(ctx, t, n, "na-1", &evidence.MsgAnchor{Digest: d[:], HashAlgo: "sha256"})
	}
	if ids, err := n.WithoutAttestedState(ctx); err != nil || !slices.Equal(ids, []string{"nb-1"}) {
		t.Fatalf("chains without attested state once na-1's are on: %v %v", ids, err)
	}
	res, err = n.Endpoint("na-1").ABCIQueryWithOptions(ctx, xchain.QueryExtendedCommit, nil, rpcclient.ABCIQueryOptions{Height: e})
	if err != nil || res.Response.Code != 0 {
		t.Fatalf("extended commit of the enable height %d: %v %s", e, err, res.Response.Log)
	}
	for i := 0; ; i++ {
		var cl *xchain.ClientView
		for _, v := range clientViews(ctx, t, n, "nb-1") {
			if v.ID == "na-1" {
				cl = &v
			}
		}
		if cl != nil && cl.ProvenHeight > cl.LatestHeight {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("nb-1's client of na-1 never took an attested state after the enable height %d: %+v", e, cl)
		}
		d := sha256.Sum256(fmt.Appendf(nil, "attested %d", i))
		route, seq := attestOnce(ctx, t, n, "na-1", "nb-1", d[:])
		for requestStatus(ctx, t, n, "na-1", route, seq) != attest.StatusAnswered && ctx.Err() == nil {
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// withoutVoteExtensions makes the networks the test starts be initialised as before
// vote extensions (genesis abci.vote_extensions_enable_height 0), until it ends.
func withoutVoteExtensions(t *testing.T) {
	initNetwork = func(spec node.NetworkSpec) ([]node.ValidatorInfo, error) {
		spec.NoVoteExtensions = true
		return node.InitNetwork(spec)
	}
	t.Cleanup(func() { initNetwork = node.InitNetwork })
}

// enableVoteExtensions passes a set_params proposal turning vote extensions on after
// more blocks on chain (demo proposes, then every organisation's admin votes), and
// returns the enable height.
func enableVoteExtensions(ctx context.Context, t *testing.T, n *Network, chain string, after int64) int64 {
	t.Helper()
	e := height(ctx, t, n, chain) + after
	id := proposeVoteExtensions(ctx, t, n, chain, e)
	voteAll(ctx, t, n, chain, id)
	if p := proposalAt(ctx, t, n, chain, id); p.Status != gov.StatusExecuted {
		t.Fatalf("%s: proposal %d %s (%d yes of %d required): %s", chain, id, p.Status, p.Yes, p.Required, p.Error)
	}
	return e
}

// proposeVoteExtensions has demo propose, on chain, turning vote extensions on from
// height e, and returns the proposal's id.
func proposeVoteExtensions(ctx context.Context, t *testing.T, n *Network, chain string, e int64) uint64 {
	t.Helper()
	prop, err := client.NewProposal(gov.KindSetParams, "Attest the state", gov.SetParams{ABCI: &gov.ABCIParams{VoteExtensionsEnableHeight: e}})
	if err != nil {
		t.Fatal(err)
	}
	res := demoSubmit(ctx, t, n, chain, prop)
	for _, ev := range res.TxResult.Events {
		for _, a := range ev.Attributes {
			if ev.Type == gov.EventSubmitted && a.Key == "proposal" {
				id, err := strconv.ParseUint(a.Value, 10, 64)
				if err != nil {
					t.Fatalf("proposal id %q: %v", a.Value, err)
				}
				return id
			}
		}
	}
	t.Fatalf("%s: no %s event in the proposal's transaction", chain, gov.EventSubmitted)
	return 0
}

// voteAll has every organisation's admin vote yes on proposal id at once, and returns
// once the proposal is decided. Votes beyond those it needed are refused as closed, or
// admitted and then dropped from the mempool (rechecked after the deciding block):
// their wait ends with the decision.
func voteAll(ctx context.Context, t *testing.T, n *Network, chain string, id uint64) {
	t.Helper()
	admins, err := n.adminKeys()
	if err != nil {
		t.Fatal(err)
	}
	vote, err := client.NewVote(id, gov.VoteYes)
	if err != nil {
		t.Fatal(err)
	}
	vctx, decided := context.WithCancel(ctx)
	defer decided()
	errs := make([]error, len(admins))
	var wg sync.WaitGroup
	for i, k := range admins {
		wg.Go(func() {
			c, err := relayer.NewChain(chain, n.Endpoint(chain), k)
			if err == nil {
				_, err = c.SubmitAndWait(vctx, []txs.Msg{vote})
			}
			errs[i] = err
		})
	}
	// The proposal is read at each new block only (the block store's height takes no
	// lock of the application, so the votes' checks are not delayed).
	var nd *node.Node
	for _, c := range n.Chains() {
		if c.ID == chain {
			nd = c.Nodes[0].Node
		}
	}
	for last := nd.Height(); ; time.Sleep(20 * time.Millisecond) {
		if ctx.Err() != nil {
			t.Fatalf("%s: proposal %d not decided", chain, id)
		}
		if h := nd.Height(); h != last {
			last = h
			if proposalAt(ctx, t, n, chain, id).Status != gov.StatusVoting {
				break
			}
		}
	}
	decided()
	wg.Wait()
	for _, err := range errs {
		if err != nil && !strings.Contains(err.Error(), "closed") && !errors.Is(err, context.Canceled) {
			t.Fatalf("%s: vote on proposal %d: %v", chain, id, err)
		}
	}
}

// height returns a chain's latest committed height.
func height(ctx context.Context, t *testing.T, n *Network, chain string) int64 {
	t.Helper()
	st, err := n.Endpoint(chain).Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return st.SyncInfo.LatestBlockHeight
}

// TestRelayAfterIdle: a chain that made no block for longer than the clocks' skew
// still takes a fresh header at once. A CometBFT block carries the time of the votes
// on the block before it, so the first block after a pause is dated back to before
// it; the clients lian up makes allow that lag (the empty-block interval) on top of
// the skew. Before, the first relay after a pause waited for the idle chain's block
// times to catch up (about a minute with the default 30 s interval; 8 s and more here).
// A client whose drift is below the lag (made by an earlier version, with 10 s) has
// the update fail in the block; the relayer then relays again at once (before, after
// ResubmitAfter, twice).
func TestRelayAfterIdle(t *testing.T) {
	const (
		interval = 25 * time.Second // the chains' empty-block interval
		answerIn = 4 * time.Second
	)
	tests := []struct {
		name  string
		drift time.Duration // 0: lian up's
		quiet time.Duration // how long both chains idle before the request
	}{
		{"drift covers the lag", 0, relayer.DefaultClockSkew + 8*time.Second},
		{"drift below the lag", 2 * time.Second, 4 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			n, err := Start(ctx, Options{Home: t.TempDir(), Chains: []string{"ia-1", "ib-1"}, Validators: 1, Listen: "127.0.0.1:0",
				Tuning: node.Tuning{CreateEmptyBlocksInterval: interval}, Relayer: relayer.Options{PollInterval: 20 * time.Millisecond},
				MaxClockDrift: tt.drift})
			if err != nil {
				t.Fatal(err)
			}
			defer n.Stop()
			if got, want := n.maxClockDrift(), cmp.Or(tt.drift, relayer.DefaultClockSkew+interval); got != want {
				t.Fatalf("max clock drift %v, want %v", got, want)
			}
			waitIdle(ctx, t, n, tt.quiet)
			d := sha256.Sum256([]byte("after idle"))
			start := time.Now()
			route, seq := attestOnce(ctx, t, n, "ia-1", "ib-1", d[:])
			for requestStatus(ctx, t, n, "ia-1", route, seq) != attest.StatusAnswered {
				if time.Since(start) > answerIn {
					t.Fatalf("request %s/%d not answered %v after it was sent, the chains having idled for %v", route, seq, answerIn, tt.quiet)
				}
				time.Sleep(20 * time.Millisecond)
			}
			t.Logf("answered %v after it was sent", time.Since(start).Round(time.Millisecond))
		})
	}
}

// waitIdle waits until no chain of n made a block for quiet.
func waitIdle(ctx context.Context, t *testing.T, n *Network, quiet time.Duration) {
	t.Helper()
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
}

// After a restart, an idle chain's first block carries the time of the last commit
// before the stop (CometBFT takes a block's time from the votes on the block before
// it). A client update admitted by CheckTx, on the wall clock, then fails in that block
// as a header from the future when the downtime exceeds the client's clock drift. The
// relayer reads the failure from the block's results and relays again at once
// (before, it waited ResubmitAfter, 15 s, twice: about 32 s). Here the drift is 2 s and
// the chains were down for longer.
func TestRelayAfterRestart(t *testing.T) {
	const (
		drift    = 2 * time.Second
		down     = drift + time.Second
		answerIn = 8 * time.Second // well under relayer.DefaultResubmitAfter
	)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	opts := Options{Home: t.TempDir(), Chains: []string{"ra-1", "rb-1"}, Validators: 1, Listen: "127.0.0.1:0",
		Tuning: node.Tuning{CreateEmptyBlocksInterval: time.Minute}, MaxClockDrift: drift}
	n, err := Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	// Stop once the chains idle, their last block committing the state: a restart
	// then makes no block until a transaction comes.
	waitIdle(ctx, t, n, time.Second)
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	for time.Since(stopped) < down { // the downtime is the test's input
		time.Sleep(100 * time.Millisecond)
	}
	if n, err = Start(ctx, opts); err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	d := sha256.Sum256([]byte("after restart"))
	start := time.Now()
	route, seq := attestOnce(ctx, t, n, "ra-1", "rb-1", d[:])
	for requestStatus(ctx, t, n, "ra-1", route, seq) != attest.StatusAnswered {
		if time.Since(start) > answerIn {
			t.Fatalf("request %s/%d not answered %v after it was sent, %v after a restart", route, seq, answerIn, time.Since(stopped).Round(time.Second))
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
