package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/privval"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	rpcclient "github.com/cometbft/cometbft/rpc/client"
	cmttypes "github.com/cometbft/cometbft/types"
	dto "github.com/prometheus/client_model/go"

	"github.com/lianchain/lian/client"
	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/localnet"
	"github.com/lianchain/lian/modules/attest"
	"github.com/lianchain/lian/modules/evidence"
	"github.com/lianchain/lian/modules/gov"
	"github.com/lianchain/lian/modules/identity"
	"github.com/lianchain/lian/modules/message"
	"github.com/lianchain/lian/modules/xchain"
	"github.com/lianchain/lian/node"
	"github.com/lianchain/lian/relayer"
	"github.com/lianchain/lian/txs"
)

type abciEvent = abci.Event

var rpcQueryOpts = rpcclient.ABCIQueryOptions{}

const (
	xa = "xa-1"
	xb = "xb-1"
)

// xnet is two in-process chains of 4 validators with the paths between them set up
// and no relayer running, and what the tests send with.
type xnet struct {
	t    *testing.T
	n    *localnet.Network
	home string
	demo map[string]*relayer.Chain // org1's admin (and operator) on each chain
	ropt relayer.Options
}

func startXNet(ctx context.Context, t *testing.T) *xnet {
	home := t.TempDir()
	start := time.Now()
	n, err := localnet.Start(ctx, localnet.Options{Home: home, Chains: []string{xa, xb}, Validators: 4, Listen: "127.0.0.1:0",
		NoRelayer: true, Tuning: node.Tuning{CreateEmptyBlocksInterval: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Stop() })
	t.Logf("two chains of 4 validators ready in %v, paths set up in %v", time.Since(start), n.PathsSetupTime())
	x := &xnet{t: t, n: n, home: home, demo: map[string]*relayer.Chain{},
		ropt: relayer.Options{PollInterval: 20 * time.Millisecond, ResubmitAfter: 3 * time.Second, ResyncInterval: 5 * time.Second}}
	ks, err := n.Keys()
	if err != nil {
		t.Fatal(err)
	}
	demo, err := ks.Signer(localnet.DemoKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{xa, xb} {
		if x.demo[id], err = relayer.NewChain(id, n.Endpoint(id), demo); err != nil {
			t.Fatal(err)
		}
	}
	return x
}

// runningRelayer is a relayer running in process until stopped.
type runningRelayer struct {
	r      *relayer.Relayer
	cancel context.CancelFunc
	done   chan struct{}
}

func (x *xnet) startRelayer(key string) *runningRelayer {
	x.t.Helper()
	r, err := x.n.NewRelayer(key, x.ropt)
	if err != nil {
		x.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rr := &runningRelayer{r: r, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(rr.done)
		if err := r.Run(ctx); err != nil {
			x.t.Errorf("relayer: %v", err)
		}
	}()
	return rr
}

func (rr *runningRelayer) stop() {
	rr.cancel()
	<-rr.done
}

// submitAll submits msgs from c in transactions of at most 64 messages, all pipelined,
// and waits for every one to commit successfully; it returns the results.
func submitAll(ctx context.Context, t *testing.T, c *relayer.Chain, msgs []txs.Msg) []*txResult {
	t.Helper()
	var hashes []txs.Hash
	for len(msgs) > 0 {
		k := min(len(msgs), txs.MaxMessages)
		h, err := c.Submit(ctx, msgs[:k])
		if err != nil {
			t.Fatalf("%s: submit: %v", c.ID, err)
		}
		hashes = append(hashes, h.Hash)
		msgs = msgs[k:]
	}
	var out []*txResult
	for _, h := range hashes {
		res, err := c.TxResult(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		if res.TxResult.Code != 0 {
			t.Fatalf("%s: tx %s failed: %s", c.ID, h, res.TxResult.Log)
		}
		out = append(out, &txResult{height: res.Height, events: res.TxResult.Events})
	}
	return out
}

type txResult struct {
	height int64
	events []abciEvent
}

// attestSeqs returns the sequences of the attestation requests in results, in order.
func attestSeqs(t *testing.T, results []*txResult) []uint64 {
	t.Helper()
	var seqs []uint64
	for _, r := range results {
		for _, e := range r.events {
			if e.Type == attest.EventRequested {
				seq, err := strconv.ParseUint(attr(e, "sequence"), 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				seqs = append(seqs, seq)
			}
		}
	}
	return seqs
}

func attr(e abciEvent, key string) string {
	for _, a := range e.Attributes {
		if a.Key == key {
			return a.Value
		}
	}
	return ""
}

func (x *xnet) query(ctx context.Context, chain, path, data string, out any) error {
	res, err := x.n.Endpoint(chain).ABCIQueryWithOptions(ctx, path, []byte(data), rpcQueryOpts)
	if err != nil {
		return err
	}
	if res.Response.Code != 0 {
		return fmt.Errorf("%s %s %s: %s (code %d)", chain, path, data, res.Response.Log, res.Response.Code)
	}
	return json.Unmarshal(res.Response.Value, out)
}

func (x *xnet) request(ctx context.Context, chain, route string, seq uint64) *attest.Request {
	x.t.Helper()
	var r attest.Request
	if err := x.query(ctx, chain, "/attest/"+attest.QueryRequest, fmt.Sprintf("%s/%d", route, seq), &r); err != nil {
		x.t.Fatal(err)
	}
	return &r
}

// pending returns the number of packets sent on route and not settled.
func (x *xnet) pending(ctx context.Context, chain, route string) int {
	x.t.Helper()
	var page xchain.PendingPage
	if err := x.query(ctx, chain, "/xchain/"+xchain.QueryPending, route+"/1", &page); err != nil {
		x.t.Fatal(err)
	}
	return len(page.Sequences)
}

// events counts, over chain's blocks from height from on, the events of type typ per
// value of attribute key.
func (x *xnet) events(ctx context.Context, chain string, from int64, typ, key string) map[string]int {
	x.t.Helper()
	ep := x.n.Endpoint(chain)
	st, err := ep.Status(ctx)
	if err != nil {
		x.t.Fatal(err)
	}
	out := map[string]int{}
	for h := from; h <= st.SyncInfo.LatestBlockHeight; h++ {
		hh := h
		res, err := ep.BlockResults(ctx, &hh)
		if err != nil {
			x.t.Fatal(err)
		}
		for _, tx := range res.TxsResults {
			for _, e := range tx.Events {
				if e.Type == typ {
					out[attr(e, key)]++
				}
			}
		}
	}
	return out
}

func digestOf(i int) []byte {
	d := sha256.Sum256([]byte(fmt.Sprintf("xchain e2e document %d", i)))
	return d[:]
}

func waitFor(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		if ctx.Err() != nil {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestXChain runs two chains of 4 validators and relays between them: attestations
// across while the relayer is killed and restarted, a timeout, two relayers at once
// (one of them `lian relayer start` over HTTP), and misbehaviour freezing a client.
func TestXChain(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	x := startXNet(ctx, t)
	routeAB := relayer.RouteID(attest.Name, xb) // on xa, to xb
	routeBA := relayer.RouteID(attest.Name, xa) // on xb, to xa

	t.Run("attestations across relayer kills", func(t *testing.T) {
		n := 1000
		if testing.Short() {
			n = 200
		}
		// Anchor every tenth digest on xb, so that answers are both found and not.
		var anchors []txs.Msg
		for i := 0; i < n; i += 10 {
			anchors = append(anchors, &evidence.MsgAnchor{Digest: digestOf(i), HashAlgo: evidence.HashSHA256})
		}
		submitAll(ctx, t, x.demo[xb], anchors)
		st, err := x.n.Endpoint(xa).Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		fromA := st.SyncInfo.LatestBlockHeight + 1
		stB, err := x.n.Endpoint(xb).Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		fromB := stB.SyncInfo.LatestBlockHeight + 1

		// The relayer is killed at random points and started again, while the
		// requests are sent and until every one is settled. With attested state the
		// 1,000 settle in about 3 s: a kill every 100–500 ms after a start.
		stopKiller := x.killRelayer(5, 400)
		var msgs []txs.Msg
		for i := 0; i < n; i++ {
			msgs = append(msgs, &attest.MsgAttest{Route: routeAB, Digest: digestOf(i)})
		}
		sent := time.Now()
		seqs := attestSeqs(t, submitAll(ctx, t, x.demo[xa], msgs))
		if len(seqs) != n {
			t.Fatalf("%d requests sent, want %d", len(seqs), n)
		}
		waitFor(ctx, t, "every request settled", func() bool { return x.pending(ctx, xa, routeAB) == 0 })
		kills := stopKiller()
		t.Logf("%d attestations settled %v after sending, relayer killed %d times", n, time.Since(sent), kills)
		if kills < 3 {
			t.Errorf("the relayer was killed %d times, want at least 3", kills)
		}
		for i, seq := range seqs {
			req := x.request(ctx, xa, routeAB, seq)
			if req.Status != attest.StatusAnswered {
				t.Fatalf("request %d: status %s (%s), want answered", seq, req.Status, req.Error)
			}
			var att attest.Attestation
			if err := x.query(ctx, xa, "/attest/"+attest.QueryAttestation, xb+"/"+hex.EncodeToString(digestOf(i)), &att); err != nil {
				t.Fatal(err)
			}
			if want := i%10 == 0; att.Found != want || att.Sequence != seq {
				t.Fatalf("attestation of digest %d: found %v sequence %d, want found %v sequence %d", i, att.Found, att.Sequence, want, seq)
			}
		}
		acks := x.events(ctx, xa, fromA, xchain.EventAckPacket, "packet")
		recvs := x.events(ctx, xb, fromB, xchain.EventRecvPacket, "packet")
		answered := x.events(ctx, xa, fromA, attest.EventAnswered, "digest")
		for i, seq := range seqs {
			id := fmt.Sprintf("%s/%d", routeAB, seq)
			if acks[id] != 1 || recvs[id] != 1 {
				t.Fatalf("packet %s: %d ack events on %s and %d receive events on %s, want one each", id, acks[id], xa, recvs[id], xb)
			}
			if d := strings.ToUpper(hex.EncodeToString(digestOf(i))); answered[d] != 1 {
				t.Fatalf("digest %d: %d answered events, want 1", i, answered[d])
			}
		}
		if len(acks) != n {
			t.Fatalf("%d packets acknowledged, want %d", len(acks), n)
		}
	})

	t.Run("timeout", func(t *testing.T) {
		res := submitAll(ctx, t, x.demo[xa], []txs.Msg{&attest.MsgAttest{Route: routeAB, Digest: digestOf(-1), TimeoutSeconds: 1}})
		seq := attestSeqs(t, res)[0]
		var timeout time.Time
		for _, e := range res[0].events {
			if e.Type == xchain.EventSendPacket {
				ns, err := strconv.ParseInt(attr(e, "timeout_time"), 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				timeout = time.Unix(0, ns)
			}
		}
		// The relayer is stopped until xb's clock is past the timeout.
		waitFor(ctx, t, "xb's block time past the timeout", func() bool {
			st, err := x.n.Endpoint(xb).Status(ctx)
			return err == nil && !st.SyncInfo.LatestBlockTime.Before(timeout)
		})
		rr := x.startRelayer(localnet.RelayerKey)
		waitFor(ctx, t, "the request timed out", func() bool {
			return x.request(ctx, xa, routeAB, seq).Status == attest.StatusTimedOut
		})
		rr.stop()
		if got := x.events(ctx, xa, res[0].height, attest.EventTimedOut, "sequence")[strconv.FormatUint(seq, 10)]; got != 1 {
			t.Fatalf("%d timed_out events, want 1", got)
		}
		var pv xchain.PacketView
		if err := x.query(ctx, xb, "/xchain/"+xchain.QueryPacket, fmt.Sprintf("%s/%d", routeAB, seq), &pv); err == nil && pv.Received {
			t.Fatalf("xb received the packet that timed out")
		}
	})

	t.Run("two relayers", func(t *testing.T) {
		rr := x.startRelayer(localnet.RelayerKey)
		defer rr.stop()
		cli := x.startCLIRelayer(ctx, t)
		st, err := x.n.Endpoint(xa).Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		fromA := st.SyncInfo.LatestBlockHeight + 1
		stB, err := x.n.Endpoint(xb).Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		fromB := stB.SyncInfo.LatestBlockHeight + 1
		const n = 200
		var ab, ba []txs.Msg
		for i := 0; i < n; i++ {
			ab = append(ab, &attest.MsgAttest{Route: routeAB, Digest: digestOf(10_000 + i)})
			ba = append(ba, &attest.MsgAttest{Route: routeBA, Digest: digestOf(20_000 + i)})
		}
		var resA, resB []*txResult
		var wg sync.WaitGroup
		wg.Go(func() { resA = submitAll(ctx, t, x.demo[xa], ab) })
		wg.Go(func() { resB = submitAll(ctx, t, x.demo[xb], ba) })
		wg.Wait()
		waitFor(ctx, t, "every request settled", func() bool {
			return x.pending(ctx, xa, routeAB) == 0 && x.pending(ctx, xb, routeBA) == 0
		})
		for _, c := range []struct {
			src, dst, route string
			seqs            []uint64
			from, fromDst   int64
		}{{xa, xb, routeAB, attestSeqs(t, resA), fromA, fromB}, {xb, xa, routeBA, attestSeqs(t, resB), fromB, fromA}} {
			acks := x.events(ctx, c.src, c.from, xchain.EventAckPacket, "packet")
			recvs := x.events(ctx, c.dst, c.fromDst, xchain.EventRecvPacket, "packet")
			for _, seq := range c.seqs {
				id := fmt.Sprintf("%s/%d", c.route, seq)
				if acks[id] != 1 || recvs[id] != 1 {
					t.Fatalf("packet %s: %d acks, %d receives; want one each", id, acks[id], recvs[id])
				}
				if s := x.request(ctx, c.src, c.route, seq).Status; s != attest.StatusAnswered {
					t.Fatalf("request %s: %s", id, s)
				}
			}
		}
		if out := cli.p.output(); strings.Contains(out, "no websocket") || strings.Contains(out, "no block push") {
			t.Errorf("the CLI relayer polls only:\n%s", tail(out))
		}
		// The CLI relayer follows the chains over HTTP and may be a block or two behind
		// the settlement the test saw: wait for it to see the acknowledgements.
		var m string
		wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
		defer wcancel()
		waitFor(wctx, t, "the CLI relayer to see a packet settled", func() bool {
			m = cli.metrics(t)
			return strings.Contains(m, "lian_relayer_relay_latency_seconds")
		})
		for _, name := range []string{"lian_relayer_txs_total", "lian_relayer_pending_packets", "lian_relayer_relay_latency_seconds"} {
			if !strings.Contains(m, name) {
				t.Errorf("the CLI relayer's metrics lack %s", name)
			}
		}
		t.Logf("in-process relayer: %s; CLI relayer: %s", txCounts(rr.r), regexp.MustCompile(`(?m)^lian_relayer_txs_total.*$`).FindAllString(m, -1))
	})

	t.Run("ordered route across relayer kills", func(t *testing.T) {
		ordAB, ordBA := "ordered-"+xb, "ordered-"+xa
		x.openRoute(ctx, t, xa, xchain.RouteParams{ID: ordAB, Port: message.Name, Client: xb, CounterpartyRoute: ordBA, CounterpartyPort: message.Name, Ordered: true})
		x.openRoute(ctx, t, xb, xchain.RouteParams{ID: ordBA, Port: message.Name, Client: xa, CounterpartyRoute: ordAB, CounterpartyPort: message.Name, Ordered: true})
		st, err := x.n.Endpoint(xb).Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		fromB := st.SyncInfo.LatestBlockHeight + 1
		const n = 150
		var msgs []txs.Msg
		for i := 0; i < n; i++ {
			msgs = append(msgs, &message.MsgSend{Route: ordAB, Handler: "e2e", Payload: []byte(fmt.Sprintf("message %d", i))})
		}
		stopKiller := x.killRelayer(7, 500)
		submitAll(ctx, t, x.demo[xa], msgs)
		waitFor(ctx, t, "every message settled", func() bool { return x.pending(ctx, xa, ordAB) == 0 })
		kills := stopKiller()
		t.Logf("%d messages on an ordered route settled, relayer killed %d times", n, kills)
		// Received on xb once each, in sequence order.
		order := x.eventOrder(ctx, xb, fromB, xchain.EventRecvPacket, "packet")
		var got []string
		for _, id := range order {
			if strings.HasPrefix(id, ordAB+"/") {
				got = append(got, id)
			}
		}
		if len(got) != n {
			t.Fatalf("%d receive events on the ordered route, want %d", len(got), n)
		}
		for i, id := range got {
			if want := fmt.Sprintf("%s/%d", ordAB, i+1); id != want {
				t.Fatalf("receive %d is %s, want %s", i, id, want)
			}
		}
		for seq := uint64(1); seq <= n; seq++ {
			var sent message.Sent
			if err := x.query(ctx, xa, "/message/"+message.QuerySent, fmt.Sprintf("%s/%d", ordAB, seq), &sent); err != nil {
				t.Fatal(err)
			}
			if sent.Status != message.StatusDelivered {
				t.Fatalf("message %d: %s, want delivered", seq, sent.Status)
			}
		}
	})

	t.Run("misbehaviour freezes the client", func(t *testing.T) {
		var cv xchain.ClientView
		if err := x.query(ctx, xa, "/xchain/"+xchain.QueryClient, xb, &cv); err != nil {
			t.Fatal(err)
		}
		trusted := cv.LatestHeight
		waitFor(ctx, t, "xb past the client's latest height", func() bool {
			st, err := x.n.Endpoint(xb).Status(ctx)
			return err == nil && st.SyncInfo.LatestBlockHeight > trusted
		})
		real, err := x.demo[xb].UpdateHeader(ctx, trusted+1, trusted)
		if err != nil {
			t.Fatal(err)
		}
		forged := x.forgeHeader(t, real.SignedHeader, real.Validators)
		fh, err := xchain.NewHeader(forged, real.Validators, trusted, nil)
		if err != nil {
			t.Fatal(err)
		}
		res := submitAll(ctx, t, x.demo[xa], []txs.Msg{&xchain.MsgSubmitMisbehaviour{ClientID: xb, Header1: real, Header2: fh}})
		frozen := false
		for _, e := range res[0].events {
			frozen = frozen || e.Type == xchain.EventClientFrozen
		}
		if !frozen {
			t.Fatalf("no %s event", xchain.EventClientFrozen)
		}
		if err := x.query(ctx, xa, "/xchain/"+xchain.QueryClient, xb, &cv); err != nil || cv.Status != xchain.StatusFrozen {
			t.Fatalf("client status %s (%v), want frozen", cv.Status, err)
		}
		// Sending to xb is refused…
		_, err = x.demo[xa].Submit(ctx, []txs.Msg{&attest.MsgAttest{Route: routeAB, Digest: digestOf(-2)}})
		var te *relayer.TxError
		if !errors.As(err, &te) || te.Code != errcode.ClientFrozen {
			t.Fatalf("attest over a frozen client: %v, want client_frozen", err)
		}
		// …and so are xb's packets to xa: the relayer fails with client_frozen.
		res = submitAll(ctx, t, x.demo[xb], []txs.Msg{&attest.MsgAttest{Route: routeBA, Digest: digestOf(-3)}})
		seq := attestSeqs(t, res)[0]
		rr := x.startRelayer(localnet.RelayerKey)
		waitFor(ctx, t, "the relayer to fail with client_frozen", func() bool {
			return counterValue(t, rr.r, "lian_relayer_failures_total", map[string]string{"chain": xa, "kind": errcode.ClientFrozen.String()}) > 0
		})
		rr.stop()
		var pv xchain.PacketView
		if err := x.query(ctx, xa, "/xchain/"+xchain.QueryPacket, fmt.Sprintf("%s/%d", routeAB, seq), &pv); err == nil && pv.Received {
			t.Fatal("xa received a packet over its frozen client")
		}
		if s := x.request(ctx, xb, routeBA, seq).Status; s != attest.StatusPending {
			t.Fatalf("request over the frozen client: %s, want pending", s)
		}
	})

	// Every node's state keeps the modules' invariants after all of the above: the
	// network stops, and each node's state store is opened again from disk.
	var homes []string
	for _, c := range x.n.Chains() {
		for _, nd := range c.Nodes {
			homes = append(homes, nd.Home)
		}
	}
	if err := x.n.Stop(); err != nil {
		t.Fatal(err)
	}
	checkStoredInvariants(t, homes...)
}

// eventOrder returns, in block order, the attribute key of chain's events of type typ
// from height from on.
func (x *xnet) eventOrder(ctx context.Context, chain string, from int64, typ, key string) []string {
	x.t.Helper()
	ep := x.n.Endpoint(chain)
	st, err := ep.Status(ctx)
	if err != nil {
		x.t.Fatal(err)
	}
	var out []string
	for h := from; h <= st.SyncInfo.LatestBlockHeight; h++ {
		hh := h
		res, err := ep.BlockResults(ctx, &hh)
		if err != nil {
			x.t.Fatal(err)
		}
		for _, tx := range res.TxsResults {
			for _, e := range tx.Events {
				if e.Type == typ {
					out = append(out, attr(e, key))
				}
			}
		}
	}
	return out
}

// openRoute opens a route on chain through governance: demo proposes, every
// organisation's admin votes yes.
func (x *xnet) openRoute(ctx context.Context, t *testing.T, chain string, p xchain.RouteParams) {
	t.Helper()
	prop, err := client.NewProposal(gov.KindOpenRoute, "Route "+p.ID, gov.RouteContent{RouteParams: p})
	if err != nil {
		t.Fatal(err)
	}
	res := submitAll(ctx, t, x.demo[chain], []txs.Msg{prop})
	var id uint64
	for _, e := range res[0].events {
		if e.Type == gov.EventSubmitted {
			if id, err = strconv.ParseUint(attr(e, "proposal"), 10, 64); err != nil {
				t.Fatal(err)
			}
		}
	}
	vote, err := client.NewVote(id, gov.VoteYes)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := x.n.Keys()
	if err != nil {
		t.Fatal(err)
	}
	names := []string{localnet.DemoKey, localnet.OrgAdminKey(2), localnet.OrgAdminKey(3), localnet.OrgAdminKey(4), localnet.RegulatorKey}
	for _, name := range names {
		var r xchain.Route
		if x.query(ctx, chain, "/xchain/"+xchain.QueryRoute, p.ID, &r) == nil {
			return // passed
		}
		k, err := ks.Signer(name)
		if err != nil {
			t.Fatal(err)
		}
		c, err := relayer.NewChain(chain, x.n.Endpoint(chain), k)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.SubmitAndWait(ctx, []txs.Msg{vote}); err != nil {
			t.Fatalf("%s votes on proposal %d: %v", name, id, err)
		}
	}
	var r xchain.Route
	if err := x.query(ctx, chain, "/xchain/"+xchain.QueryRoute, p.ID, &r); err != nil || !r.Ordered {
		t.Fatalf("route %s after the votes: %+v %v", p.ID, r, err)
	}
}

// killRelayer runs the in-process relayer and kills it at random moments, 100 ms to
// 100+spread ms after each start, until the returned function is called; that stops the
// last relayer and returns how many were killed.
func (x *xnet) killRelayer(seed uint64, spread int) func() int {
	stop, done := make(chan struct{}), make(chan struct{})
	kills := 0
	go func() {
		defer close(done)
		rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), seed))
		for {
			rr := x.startRelayer(localnet.RelayerKey)
			select {
			case <-stop:
				rr.stop()
				return
			case <-time.After(time.Duration(100+rng.IntN(spread)) * time.Millisecond):
			}
			rr.stop()
			kills++
		}
	}()
	return func() int {
		close(stop)
		<-done
		return kills
	}
}

// forgeHeader returns a header at sh's height with another app hash, signed by the
// chain's validators with their keys from the node homes (a double-signing majority).
func (x *xnet) forgeHeader(t *testing.T, sh *cmttypes.SignedHeader, vals *cmttypes.ValidatorSet) *cmttypes.SignedHeader {
	t.Helper()
	keys := map[string]*privval.FilePV{}
	for i := 0; i < 4; i++ {
		dir := filepath.Join(x.home, "chains", sh.ChainID, fmt.Sprintf("node%d", i), "config")
		pv := privval.LoadFilePVEmptyState(filepath.Join(dir, "priv_validator_key.json"), "")
		keys[string(pv.Key.Address)] = pv
	}
	h := *sh.Header
	forged := sha256.Sum256([]byte("forged state"))
	h.AppHash = forged[:]
	blockID := cmttypes.BlockID{Hash: h.Hash(), PartSetHeader: sh.Commit.BlockID.PartSetHeader}
	sigs := make([]cmttypes.CommitSig, len(vals.Validators))
	for i, v := range vals.Validators {
		pv := keys[string(v.Address)]
		if pv == nil {
			t.Fatalf("no key of validator %X", v.Address)
		}
		vote := &cmttypes.Vote{Type: cmtproto.PrecommitType, Height: h.Height, Round: 0, BlockID: blockID,
			Timestamp: h.Time, ValidatorAddress: v.Address, ValidatorIndex: int32(i)}
		sig, err := pv.Key.PrivKey.Sign(cmttypes.VoteSignBytes(h.ChainID, vote.ToProto()))
		if err != nil {
			t.Fatal(err)
		}
		sigs[i] = cmttypes.CommitSig{BlockIDFlag: cmttypes.BlockIDFlagCommit, ValidatorAddress: v.Address, Timestamp: h.Time, Signature: sig}
	}
	return &cmttypes.SignedHeader{Header: &h, Commit: &cmttypes.Commit{Height: h.Height, Round: 0, BlockID: blockID, Signatures: sigs}}
}

// cliRelayer is `lian relayer start` run as a process.
type cliRelayer struct {
	p       *proc
	metrics func(t *testing.T) string
}

// startCLIRelayer registers a second relayer account (org1, relayer role, credits) on
// both chains and runs `lian relayer start` with it over the nodes' HTTP RPC.
func (x *xnet) startCLIRelayer(ctx context.Context, t *testing.T) *cliRelayer {
	t.Helper()
	ks, err := x.n.Keys()
	if err != nil {
		t.Fatal(err)
	}
	k, err := ks.Create("relayer2", crypto.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := ks.Signer("relayer2")
	if err != nil {
		t.Fatal(err)
	}
	idHash, err := client.IdentityHash("sha256", []byte("relayer 2 of org1"))
	if err != nil {
		t.Fatal(err)
	}
	reg, err := client.NewRegisterAccount(priv.PubKey(), idHash, identity.RoleRelayer)
	if err != nil {
		t.Fatal(err)
	}
	type chainConf struct {
		ID      string `json:"id"`
		RPC     string `json:"rpc"`
		KeyFile string `json:"key_file"`
	}
	var chains []chainConf
	for i, c := range x.n.Chains() {
		top, err := client.NewTopUp(k.Address.String(), "CNY", 10_000_000, fmt.Sprintf("E2E-RELAYER2-%d", i), "org1")
		if err != nil {
			t.Fatal(err)
		}
		submitAll(ctx, t, x.demo[c.ID], []txs.Msg{reg, top})
		chains = append(chains, chainConf{ID: c.ID, RPC: c.Nodes[1].Node.RPCURL(), KeyFile: filepath.Join(x.home, "keys", "relayer2.json")})
	}
	conf, err := json.Marshal(map[string]any{"chains": chains, "paths": []relayer.Path{{A: xa, B: xb}}, "poll_interval": "50ms"})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "relayer.json")
	if err := os.WriteFile(file, conf, 0o600); err != nil {
		t.Fatal(err)
	}
	p := start(t, "relayer", "start", "--config", file, "--metrics", "127.0.0.1:0")
	line := p.waitLine(t, "metrics at ", 30*time.Second)
	url := strings.TrimPrefix(line, "metrics at ")
	p.waitLine(t, "relaying ", 30*time.Second)
	return &cliRelayer{p: p, metrics: func(t *testing.T) string {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatalf("metrics: %v", err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}}
}

// counterValue sums a relayer metric's samples whose labels include labels.
func counterValue(t *testing.T, r *relayer.Relayer, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := r.Metrics().Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.Metric {
			if hasLabels(m, labels) {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	n := 0
	for _, l := range m.Label {
		if v, ok := want[l.GetName()]; ok {
			if v != l.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(want)
}

func txCounts(r *relayer.Relayer) string {
	mfs, err := r.Metrics().Registry.Gather()
	if err != nil {
		return err.Error()
	}
	var parts []string
	for _, mf := range mfs {
		if mf.GetName() != "lian_relayer_txs_total" {
			continue
		}
		for _, m := range mf.Metric {
			var ls []string
			for _, l := range m.Label {
				ls = append(ls, l.GetValue())
			}
			parts = append(parts, fmt.Sprintf("%s=%v", strings.Join(ls, "/"), m.GetCounter().GetValue()))
		}
	}
	return strings.Join(parts, " ")
}
