package xchain

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/modules"
	"github.com/lianchain/lian/modules/invariantstest"
	"github.com/lianchain/lian/modules/xchain/xchaintest"
	"github.com/lianchain/lian/store"
	"github.com/lianchain/lian/txs"
)

type nopApp struct{}

func (nopApp) OnRecv(*modules.Context, *Route, *Packet) ([]byte, error) { return []byte("ok"), nil }
func (nopApp) OnAck(*modules.Context, *Route, *Packet, *Ack, int64) error {
	return nil
}
func (nopApp) OnTimeout(*modules.Context, *Route, *Packet) error { return nil }

// invState is a chain with a client of chain-b, an unordered route "u" and an ordered
// route "o" on port "p", with packets sent, received, acknowledged and timed out, all
// through the handlers. Proofs are taken as verified by putting them in the module's
// proof cache (the proof check is not what this tests).
type invState struct {
	t   *testing.T
	m   *Module
	st  *store.Store
	now time.Time
}

const invChain = "chain-b"

var invProof = []byte("proof")

func invAppHash(h int64) []byte {
	s := sha256.Sum256([]byte(fmt.Sprint("app hash ", h)))
	return s[:]
}

func (s *invState) ctx(root store.KV) *modules.Context {
	return modules.NewContext("chain-a", 20, s.now, txs.Hash{1}, &modules.Account{Address: crypto.Address{1}, Org: "org1"}, root, Name)
}

// proven makes the module take a proof at proof height 7 of key (and value; nil for
// absence) as verified.
func (s *invState) proven(key, value []byte) {
	kind := byte(1)
	if value == nil {
		kind = 0
	}
	s.m.proofs.add(proofID(kind, invAppHash(7), invProof, key, value))
}

func (s *invState) must(err error) {
	s.t.Helper()
	if err != nil {
		s.t.Fatal(err)
	}
}

func (s *invState) send(ctx *modules.Context, route string, timeoutHeight uint64) *Packet {
	s.t.Helper()
	p, err := s.m.SendPacket(ctx.For("p"), route, []byte("payload"), timeoutHeight, time.Time{})
	s.must(err)
	return p
}

func (s *invState) recv(ctx *modules.Context, route string, seq uint64) {
	s.t.Helper()
	p := &Packet{Sequence: seq, SourceRoute: route + "-b", DestRoute: route, Payload: []byte("in"), TimeoutHeight: 1000}
	s.proven(CommitmentPath(p.SourceRoute, seq), Commitment(p))
	s.must(s.m.recvPacket(ctx, &MsgRecvPacket{Packet: p, Proof: invProof, ProofHeight: 7}))
}

func (s *invState) ack(ctx *modules.Context, p *Packet) {
	s.t.Helper()
	ack := (&Ack{Result: []byte("ok")}).Bytes()
	s.proven(AckPath(p.DestRoute, p.Sequence), AckHash(ack))
	s.must(s.m.acknowledge(ctx, &MsgAcknowledge{Packet: p, Ack: ack, Proof: invProof, ProofHeight: 7}))
}

func newInvState(t *testing.T) *invState {
	t.Helper()
	st, err := store.OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	s := &invState{t: t, m: New(), st: st, now: time.Unix(1_700_000_000, 0).UTC()}
	s.m.Bind("p", nopApp{})
	ctx := s.ctx(st)
	vals := xchaintest.NewValidators("b", 4)
	header := func(h int64) *cmttypes.SignedHeader {
		return vals.Sign(xchaintest.Header{ChainID: invChain, Height: h, Time: s.now.Add(time.Duration(h-10) * time.Second), AppHash: invAppHash(h)})
	}
	update := func(h int64) {
		hd, err := NewHeader(header(h), vals.Set, h-1, nil)
		s.must(err)
		s.must(updateClient(ctx, &MsgUpdateClient{ClientID: invChain, Header: hd}))
	}
	sh := header(5)
	s.must(s.m.CreateClient(ctx, &ClientParams{ChainID: invChain, TrustingPeriod: Duration(time.Hour), MaxClockDrift: Duration(time.Minute),
		ConsensusState: &ConsensusState{Height: 5, Time: sh.Time, AppHash: sh.AppHash, NextValidatorsHash: sh.NextValidatorsHash, HeaderHash: sh.Hash()}}))
	update(6)
	s.must(s.m.OpenRoute(ctx, &RouteParams{ID: "u", Port: "p", Client: invChain, CounterpartyRoute: "u-b", CounterpartyPort: "p"}))
	s.must(s.m.OpenRoute(ctx, &RouteParams{ID: "o", Port: "p", Client: invChain, CounterpartyRoute: "o-b", CounterpartyPort: "p", Ordered: true}))
	u1, u2, _ := s.send(ctx, "u", 1000), s.send(ctx, "u", 7), s.send(ctx, "u", 1000)
	o1, _, o3 := s.send(ctx, "o", 1000), s.send(ctx, "o", 1000), s.send(ctx, "o", 7)
	update(7)
	s.recv(ctx, "u", 1)
	s.recv(ctx, "u", 4)
	s.recv(ctx, "o", 1)
	s.recv(ctx, "o", 2)
	s.ack(ctx, u1)
	s.ack(ctx, o1)
	s.proven(ReceiptPath("u-b", 2), nil)
	s.must(s.m.timeout(ctx, &MsgTimeout{Packet: u2, Proof: invProof, ProofHeight: 7}))
	s.proven(NextRecvPath("o-b"), seqBytes(2))
	s.must(s.m.timeout(ctx, &MsgTimeout{Packet: o3, Proof: invProof, ProofHeight: 7, NextSequenceRecv: 2}))
	return s
}

// The state newInvState makes, as the test expects it.
func TestInvStateIsAsExpected(t *testing.T) {
	s := newInvState(t)
	kv := store.Prefixed(s.st, modules.Prefix(Name))
	var keys []string
	kv.Iterate(nil, nil, func(k, _ []byte) bool {
		if bytes.HasPrefix(k, []byte("commitments/")) || bytes.HasPrefix(k, []byte("acks/")) || bytes.HasPrefix(k, []byte("outcomes/")) {
			keys = append(keys, fmt.Sprintf("%s%d", k[:len(k)-8], k[len(k)-1]))
		}
		return true
	})
	want := "acks/o/1 acks/o/2 acks/u/1 acks/u/4 commitments/o/2 commitments/u/3 outcomes/o/1 outcomes/o/3 outcomes/u/1 outcomes/u/2"
	if got := strings.Join(keys, " "); got != want {
		t.Errorf("packets\n got %s\nwant %s", got, want)
	}
	if r, _ := GetRoute(kv, "o"); r.Status != RouteClosed {
		t.Error("the ordered route is open after a timeout")
	}
	if c, _ := GetClient(kv, invChain); c.NumConsensus != 3 || c.LatestHeight != 7 {
		t.Errorf("client %+v", c)
	}
}

func TestCheckInvariants(t *testing.T) {
	s := newInvState(t)
	if err := s.m.CheckInvariants(store.Prefixed(s.st, modules.Prefix(Name))); err != nil {
		t.Fatalf("healthy state: %v", err)
	}
	hash := bytes.Repeat([]byte{7}, 32)
	client := func(kv store.KV, change func(*ClientState)) {
		c, err := GetClient(kv, invChain)
		if err != nil {
			t.Fatal(err)
		}
		change(c)
		putClient(kv, c)
	}
	route := func(kv store.KV, id string, change func(*Route)) {
		r, err := GetRoute(kv, id)
		if err != nil {
			t.Fatal(err)
		}
		change(r)
		putRoute(kv, r)
	}
	cases := []struct {
		name    string
		corrupt func(s *invState, ctx *modules.Context, kv store.KV)
		want    []string
	}{
		{"commitment at the next send sequence", func(_ *invState, _ *modules.Context, kv store.KV) {
			kv.Set(commitmentKey("u", 4), hash)
		}, []string{"commitments/u/4: at or past the route's next send sequence 4"}},
		{"commitment beside its outcome", func(_ *invState, _ *modules.Context, kv store.KV) {
			kv.Set(commitmentKey("u", 1), hash)
		}, []string{"outcomes/u/1: settled, with its commitment still stored"}},
		{"commitment of sequence 0", func(_ *invState, _ *modules.Context, kv store.KV) {
			kv.Set(commitmentKey("u", 0), hash)
		}, []string{"commitments/u/0: sequence 0"}},
		{"commitment of no route", func(_ *invState, _ *modules.Context, kv store.KV) {
			kv.Set(commitmentKey("nope", 1), hash)
		}, []string{`commitments/nope/1: no route "nope"`}},
		{"commitment below an ordered route's next ack", func(_ *invState, _ *modules.Context, kv store.KV) {
			kv.Set(commitmentKey("o", 1), hash)
		}, []string{"commitments/o/1: below the ordered route's next sequence to acknowledge 2", "outcomes/o/1: settled, with its commitment"}},
		{"commitment not a hash", func(_ *invState, _ *modules.Context, kv store.KV) {
			kv.Set(commitmentKey("u", 3), []byte{1})
		}, []string{"commitments/u/3: commitment is 1 bytes"}},
		{"CheckTx receipt mark", func(s *invState, ctx *modules.Context, _ store.KV) {
			ctx.CheckOnly = true
			s.recv(ctx, "u", 9)
		}, []string{"acks/u/9: CheckTx's receipt mark in committed state"}},
		{"CheckTx outcome mark", func(s *invState, ctx *modules.Context, _ store.KV) {
			ctx.CheckOnly = true
			s.ack(ctx, &Packet{Sequence: 3, SourceRoute: "u", DestRoute: "u-b", Payload: []byte("payload"), TimeoutHeight: 1000})
		}, []string{"outcomes/u/3: CheckTx's outcome mark in committed state"}},
		{"ack hash of the wrong size", func(_ *invState, _ *modules.Context, kv store.KV) {
			kv.Set(ackKey("u", 4), []byte("short"))
		}, []string{"acks/u/4: acknowledgement hash is 5 bytes"}},
		{"receipt at an ordered route's next receive sequence", func(_ *invState, _ *modules.Context, kv store.KV) {
			kv.Set(ackKey("o", 3), hash)
		}, []string{"acks/o/3: at or past the ordered route's next receive sequence 3"}},
		{"receipt missing on an ordered route", func(_ *invState, _ *modules.Context, kv store.KV) {
			kv.Delete(ackKey("o", 1))
		}, []string{"routes/o: 1 receipts below the next receive sequence 3, expected 2"}},
		{"outcome that does not decode", func(_ *invState, _ *modules.Context, kv store.KV) {
			kv.Set(outcomeKey("u", 1), []byte("{"))
		}, []string{"outcomes/u/1: outcome does not decode"}},
		{"outcome of an unknown state", func(_ *invState, _ *modules.Context, kv store.KV) {
			kv.Set(outcomeKey("u", 1), modules.MustJSON(&Outcome{State: PacketPending, Height: 20, ProofHeight: 7}))
		}, []string{`outcomes/u/1: unknown state "sent"`}},
		{"outcome past the next send sequence", func(_ *invState, _ *modules.Context, kv store.KV) {
			kv.Set(outcomeKey("u", 5), modules.MustJSON(&Outcome{State: PacketAcknowledged, Height: 20, ProofHeight: 7}))
		}, []string{"outcomes/u/5: at or past the route's next send sequence 4"}},
		{"timeout on an open ordered route", func(_ *invState, _ *modules.Context, kv store.KV) {
			route(kv, "o", func(r *Route) { r.Status, r.ClosedHeight = RouteOpen, 0 })
		}, []string{"outcomes/o/3: timed out on an ordered route that is not closed"}},
		{"next ack counter malformed", func(_ *invState, _ *modules.Context, kv store.KV) {
			kv.Set(nextAckKey("o"), []byte{0, 0, 0, 2})
		}, []string{"seq/ack/o: sequence is 4 bytes", "outcomes/o/1: acknowledged at or past the ordered route's next sequence to acknowledge 1"}},
		{"next ack past next send", func(_ *invState, _ *modules.Context, kv store.KV) {
			kv.Set(nextAckKey("o"), seqBytes(5))
		}, []string{"routes/o: next sequence to acknowledge 5 is past the next to send 4", "commitments/o/2: below the ordered route's next sequence to acknowledge 5"}},
		{"receive counter of an unordered route", func(_ *invState, _ *modules.Context, kv store.KV) {
			kv.Set(nextRecvKey("u"), seqBytes(2))
		}, []string{"seq/recv/u: route u is unordered"}},
		{"counter of no route", func(_ *invState, _ *modules.Context, kv store.KV) {
			kv.Set(nextSendKey("nope"), seqBytes(2))
		}, []string{`seq/send/nope: no route "nope"`}},
		{"counter at 0", func(_ *invState, _ *modules.Context, kv store.KV) {
			kv.Set(nextRecvKey("o"), seqBytes(0))
		}, []string{"seq/recv/o: next sequence 0", "acks/o/1: at or past", "acks/o/2: at or past"}},
		{"route under another id", func(_ *invState, _ *modules.Context, kv store.KV) {
			kv.Set(routeKey("v"), kv.Get(routeKey("u")))
		}, []string{`routes/v: the route is "u"`}},
		{"route of no client, on no application", func(_ *invState, _ *modules.Context, kv store.KV) {
			route(kv, "u", func(r *Route) { r.Client, r.Port = "nope", "q" })
		}, []string{`routes/u: no client "nope"`, `routes/u: no application is bound to port "q"`}},
		{"route of an unknown status", func(_ *invState, _ *modules.Context, kv store.KV) {
			route(kv, "u", func(r *Route) { r.Status = "ajar" })
		}, []string{`routes/u: unknown status "ajar"`}},
		{"closed route without a closed height", func(_ *invState, _ *modules.Context, kv store.KV) {
			route(kv, "o", func(r *Route) { r.ClosedHeight = 0 })
		}, []string{"routes/o: closed at height 0"}},
		{"consensus state of no client", func(_ *invState, _ *modules.Context, kv store.KV) {
			kv.Set(consensusKey("chain-z", 3), kv.Get(consensusKey(invChain, 5)))
		}, []string{`consensus/chain-z/3: no client "chain-z"`}},
		{"consensus state above the latest height", func(s *invState, _ *modules.Context, kv store.KV) {
			putConsensus(kv, invChain, &ConsensusState{Height: 9, Time: s.now})
		}, []string{"consensus/chain-b/9: above the client's latest height 7", "clients/chain-b: 4 consensus states stored, 3 counted"}},
		{"consensus state under another height", func(_ *invState, _ *modules.Context, kv store.KV) {
			kv.Set(consensusKey(invChain, 6), kv.Get(consensusKey(invChain, 5)))
		}, []string{"consensus/chain-b/6: the consensus state is of height 5", "consensus/chain-b/6: time "}},
		{"no consensus state at the latest height", func(_ *invState, _ *modules.Context, kv store.KV) {
			kv.Delete(consensusKey(invChain, 7))
		}, []string{"clients/chain-b: no consensus state at its latest height 7", "clients/chain-b: 2 consensus states stored, 3 counted"}},
		{"consensus states miscounted", func(_ *invState, _ *modules.Context, kv store.KV) {
			client(kv, func(c *ClientState) { c.NumConsensus = 5 })
		}, []string{"clients/chain-b: 3 consensus states stored, 5 counted"}},
		{"frozen without a reason", func(_ *invState, _ *modules.Context, kv store.KV) {
			client(kv, func(c *ClientState) { c.Frozen = true })
		}, []string{"clients/chain-b: frozen without a frozen height and reason"}},
		{"client under another id", func(_ *invState, _ *modules.Context, kv store.KV) {
			kv.Set(clientKey("chain-c"), kv.Get(clientKey(invChain)))
		}, []string{`clients/chain-c: the client state is of client "chain-b"`, "clients/chain-c: no consensus state at its latest height 7",
			"clients/chain-c: 0 consensus states stored, 3 counted"}},
		{"client that does not decode", func(_ *invState, _ *modules.Context, kv store.KV) {
			kv.Set(clientKey(invChain), []byte("[]"))
		}, []string{"clients/chain-b: client state does not decode"}},
		{"unknown keys", func(_ *invState, _ *modules.Context, kv store.KV) {
			kv.Set(append([]byte("receipts/u/"), seqBytes(1)...), []byte{1})
			kv.Set([]byte("commitments/u"), hash)
			kv.Set([]byte("seq/next/u"), seqBytes(1))
		}, []string{`"commitments/u": unknown key`, `"receipts/u/\x00\x00\x00\x00\x00\x00\x00\x01": unknown key`, `"seq/next/u": unknown key`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newInvState(t)
			b := store.NewBranch(s.st)
			ctx := s.ctx(b)
			c.corrupt(s, ctx, ctx.Store)
			invariantstest.Exactly(t, s.m.CheckInvariants(ctx.Store), c.want...)
		})
	}
}
