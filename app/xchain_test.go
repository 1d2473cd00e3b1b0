package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules"
	"github.com/lianchain/lian/modules/attest"
	"github.com/lianchain/lian/modules/gov"
	"github.com/lianchain/lian/modules/identity"
	"github.com/lianchain/lian/modules/message"
	"github.com/lianchain/lian/modules/xchain"
	"github.com/lianchain/lian/modules/xchain/xchaintest"
	"github.com/lianchain/lian/store"
	"github.com/lianchain/lian/txs"
)

// xside is one chain of a cross-chain test: the app, the validators that sign its
// headers, its relayer and a member account.
type xside struct {
	*testNet
	vals    *xchaintest.Validators
	relayer crypto.PrivKey
	user    crypto.PrivKey
	peer    *xside
}

// The test clients trust for an hour and allow ten minutes of clock drift.
const (
	xTrust = time.Hour
	xDrift = 10 * time.Minute
)

// header signs this chain's header h: it commits the state at version h-1, with a
// time just after block h-1's.
func (s *xside) header(h int64) *cmttypes.SignedHeader {
	return s.vals.Sign(xchaintest.Header{ChainID: s.chainID, Height: h, Time: s.times[h-1].Add(500 * time.Millisecond), AppHash: s.hashes[h-1]})
}

// nextHeader is the header that commits the chain's latest state.
func (s *xside) nextHeader() *cmttypes.SignedHeader { return s.header(s.height + 1) }

func consensusOf(sh *cmttypes.SignedHeader) *xchain.ConsensusState {
	return &xchain.ConsensusState{Height: sh.Height, Time: sh.Time, AppHash: sh.AppHash,
		NextValidatorsHash: sh.NextValidatorsHash, HeaderHash: sh.Hash()}
}

// newXPair makes chains "chain-a" and "chain-b" of three orgs each, with clients of
// each other, an unordered attest route and an ordered message route.
func newXPair(t *testing.T) (*xside, *xside) {
	a := &xside{testNet: newTestChain(t, 3, "chain-a"), vals: xchaintest.NewValidators("chain-a", 4)}
	b := &xside{testNet: newTestChain(t, 3, "chain-b"), vals: xchaintest.NewValidators("chain-b", 4)}
	a.peer, b.peer = b, a
	for _, s := range []*xside{a, b} {
		s.relayer = s.member(1, 100_000, identity.RoleRelayer)
		s.user = s.member(2, 100_000)
	}
	for _, s := range []*xside{a, b} {
		sh := s.peer.nextHeader()
		s.pass(s.propose(1, gov.KindCreateClient, xchain.ClientParams{ChainID: s.peer.chainID,
			TrustingPeriod: xchain.Duration(xTrust), MaxClockDrift: xchain.Duration(xDrift), ConsensusState: consensusOf(sh)}), 2)
	}
	for _, s := range []*xside{a, b} {
		other := s.peer.chainID
		s.pass(s.propose(1, gov.KindOpenRoute, xchain.RouteParams{ID: "attest-" + other, Port: attest.Name, Client: other,
			CounterpartyRoute: "attest-" + s.chainID, CounterpartyPort: attest.Name}), 2)
		s.pass(s.propose(1, gov.KindOpenRoute, xchain.RouteParams{ID: "msg-" + other, Port: message.Name, Client: other,
			CounterpartyRoute: "msg-" + s.chainID, CounterpartyPort: message.Name, Ordered: true}), 2)
	}
	return a, b
}

func (s *xside) client() *xchain.ClientView {
	s.t.Helper()
	var v xchain.ClientView
	if err := json.Unmarshal(s.query("/xchain/client", []byte(s.peer.chainID)), &v); err != nil {
		s.t.Fatal(err)
	}
	return &v
}

// updateMsg is the update of this chain's client of the peer to the peer's header h,
// from the client's latest height.
func (s *xside) updateMsg(h int64) *xchain.MsgUpdateClient {
	s.t.Helper()
	trusted := s.client().LatestHeight
	var tv *cmttypes.ValidatorSet
	if h != trusted+1 {
		tv = s.peer.vals.Set
	}
	hd, err := xchain.NewHeader(s.peer.header(h), s.peer.vals.Set, trusted, tv)
	if err != nil {
		s.t.Fatal(err)
	}
	return &xchain.MsgUpdateClient{ClientID: s.peer.chainID, Header: hd}
}

// sync updates this chain's client of the peer to the peer's latest state and returns
// the proof height.
func (s *xside) sync() int64 {
	s.t.Helper()
	h := s.peer.height + 1
	if s.client().LatestHeight < h {
		s.mustExec(s.relayer, s.updateMsg(h))
	}
	return h
}

// prove proves a key of this chain's state at proof height h (version h-1).
func (s *xside) prove(key []byte, h int64) store.Proven {
	s.t.Helper()
	list, err := s.app.store.ProveMany([][]byte{key}, h-1)
	if err != nil {
		s.t.Fatal(err)
	}
	return list[0]
}

func eventAttr(events []abci.Event, typ, key string) string {
	for _, ev := range events {
		if ev.Type == typ {
			for _, a := range ev.Attributes {
				if a.Key == key {
					return a.Value
				}
			}
		}
	}
	return ""
}

func countEvents(events []abci.Event, typ string) int {
	n := 0
	for _, ev := range events {
		if ev.Type == typ {
			n++
		}
	}
	return n
}

// sentPacket rebuilds the packet of a send_packet event, as a relayer does.
func sentPacket(t *testing.T, events []abci.Event) *xchain.Packet {
	t.Helper()
	u := func(k string) uint64 {
		v, err := strconv.ParseUint(eventAttr(events, xchain.EventSendPacket, k), 10, 64)
		if err != nil {
			t.Fatalf("send_packet %s: %v", k, err)
		}
		return v
	}
	payload, err := hex.DecodeString(eventAttr(events, xchain.EventSendPacket, "payload"))
	if err != nil {
		t.Fatal(err)
	}
	return &xchain.Packet{Sequence: u("sequence"), SourceRoute: eventAttr(events, xchain.EventSendPacket, "source_route"),
		DestRoute: eventAttr(events, xchain.EventSendPacket, "dest_route"), Payload: payload,
		TimeoutHeight: u("timeout_height"), TimeoutTime: u("timeout_time")}
}

func digestOf(s string) []byte { d := sha256.Sum256([]byte(s)); return d[:] }

// attestFrom sends an attestation request from s to its peer and returns the packet.
func (s *xside) attestFrom(doc string, timeout uint64) *xchain.Packet {
	s.t.Helper()
	res := s.mustExec(s.user, &attest.MsgAttest{Route: "attest-" + s.peer.chainID, Digest: digestOf(doc), TimeoutSeconds: timeout})
	return sentPacket(s.t, res.Events)
}

// recvMsg is the relay of p (sent by the peer) to s, proven at the peer's latest state.
func (s *xside) recvMsg(p *xchain.Packet) (*xchain.MsgRecvPacket, int64) {
	s.t.Helper()
	h := s.sync()
	pr := s.peer.prove(xchain.CommitmentPath(p.SourceRoute, p.Sequence), h)
	return &xchain.MsgRecvPacket{Packet: p, Proof: pr.Proof, ProofHeight: h}, h
}

// deliver relays p to s and returns the ack bytes.
func (s *xside) deliver(p *xchain.Packet) []byte {
	s.t.Helper()
	m, _ := s.recvMsg(p)
	res := s.mustExec(s.relayer, m)
	ack, err := hex.DecodeString(eventAttr(res.Events, xchain.EventRecvPacket, "ack"))
	if err != nil || len(ack) == 0 {
		s.t.Fatalf("no ack in %v", res.Events)
	}
	return ack
}

// ackMsg is the relay of the ack of p (received by the peer) back to s.
func (s *xside) ackMsg(p *xchain.Packet, ack []byte) *xchain.MsgAcknowledge {
	s.t.Helper()
	h := s.sync()
	pr := s.peer.prove(xchain.AckPath(p.DestRoute, p.Sequence), h)
	return &xchain.MsgAcknowledge{Packet: p, Ack: ack, Proof: pr.Proof, ProofHeight: h}
}

func (s *xside) attestation(doc string) *attest.Attestation {
	s.t.Helper()
	var att attest.Attestation
	data := s.peer.chainID + "/" + hex.EncodeToString(digestOf(doc))
	if err := json.Unmarshal(s.query("/attest/attestation", []byte(data)), &att); err != nil {
		s.t.Fatal(err)
	}
	return &att
}

func (s *xside) request(p *xchain.Packet) *attest.Request {
	s.t.Helper()
	var r attest.Request
	if err := json.Unmarshal(s.query("/attest/request", []byte(fmt.Sprintf("%s/%d", p.SourceRoute, p.Sequence))), &r); err != nil {
		s.t.Fatal(err)
	}
	return &r
}

// stateOf is a digest of a module's whole state on a chain.
func (s *xside) stateOf(module string) string {
	h := sha256.New()
	kv := store.Prefixed(s.app.store, modules.Prefix(module))
	kv.Iterate(nil, nil, func(k, v []byte) bool {
		h.Write(k)
		h.Write(v)
		return true
	})
	return hex.EncodeToString(h.Sum(nil))
}

func TestXchainAttestRoundTrip(t *testing.T) {
	a, b := newXPair(t)
	b.mustExec(b.user, anchor("contract.pdf"))

	found := a.attestFrom("contract.pdf", 0)
	missing := a.attestFrom("forged.pdf", 0)
	if found.Sequence != 1 || missing.Sequence != 2 || found.DestRoute != "attest-chain-a" {
		t.Fatalf("packets %+v %+v", found, missing)
	}
	if r := a.request(found); r.Status != attest.StatusPending || r.ChainID != "chain-b" {
		t.Fatalf("request %+v", r)
	}
	ackFound, ackMissing := b.deliver(found), b.deliver(missing)
	res := a.mustExec(a.relayer, a.ackMsg(found, ackFound))
	if countEvents(res.Events, attest.EventAnswered) != 1 {
		t.Fatalf("events %v", res.Events)
	}
	a.mustExec(a.relayer, a.ackMsg(missing, ackMissing))

	att := a.attestation("contract.pdf")
	if !att.Found || att.Record == nil || att.Record.Org != "org2" || att.ChainID != "chain-b" || att.ProofHeight == 0 {
		t.Fatalf("attestation %+v", att)
	}
	if att := a.attestation("forged.pdf"); att.Found || att.Record != nil {
		t.Fatalf("attestation of a digest never anchored: %+v", att)
	}
	if r := a.request(found); r.Status != attest.StatusAnswered {
		t.Fatalf("request %+v", r)
	}
	var pv xchain.PacketView
	json.Unmarshal(a.query("/xchain/packet", []byte("attest-chain-b/1")), &pv)
	if pv.State != xchain.PacketAcknowledged || pv.Commitment != nil {
		t.Fatalf("packet view %+v", pv)
	}
	json.Unmarshal(b.query("/xchain/packet", []byte("attest-chain-a/1")), &pv)
	if !pv.Received || pv.AckHash == nil {
		t.Fatalf("packet view on the destination %+v", pv)
	}
}

// refusedWithoutTrace runs msg in a block and checks that it fails with code, leaves
// xchain's and attest's state as it was, and emits no event but lian.tx: no event of a
// rolled-back relay survives (IBC's 2023 "Huckleberry" bug: off-chain systems trusted
// such events).
func (s *xside) refusedWithoutTrace(t *testing.T, code errcode.Code, key crypto.PrivKey, msg txs.Msg) {
	t.Helper()
	before := s.stateOf(xchain.Name) + s.stateOf(attest.Name)
	res := s.block(s.sign(key, msg))[0]
	if errcode.Code(res.Code) != code {
		t.Fatalf("code %s (%s), want %s", errcode.Code(res.Code), res.Log, code)
	}
	if after := s.stateOf(xchain.Name) + s.stateOf(attest.Name); after != before {
		t.Fatal("a refused message changed state")
	}
	for _, ev := range res.Events {
		if ev.Type != EventTx {
			t.Fatalf("a refused message emitted %s", ev.Type)
		}
	}
}

// TestXchainRecvRefusals: every bad receive is refused with its code and changes
// nothing of xchain's or attest's state.
func TestXchainRecvRefusals(t *testing.T) {
	a, b := newXPair(t)
	p1 := a.attestFrom("one", 0)
	p2 := a.attestFrom("two", 0)
	short := a.attestFrom("short", 3)
	good, h := b.recvMsg(p1)
	proof2 := a.prove(xchain.CommitmentPath(p2.SourceRoute, p2.Sequence), h).Proof

	flip := bytes.Clone(good.Proof)
	flip[len(flip)/2] ^= 1
	tampered := *p1
	tampered.Payload = digestOf("other")
	wrongDst := *p1
	wrongDst.DestRoute = "attest-chain-z"
	wrongSrc := *p1
	wrongSrc.SourceRoute = "msg-chain-b"
	expired := *short
	later := *p1
	later.TimeoutHeight = uint64(b.height + 1) // expires in the block that would receive it
	later.TimeoutTime = 0

	cases := []struct {
		name string
		key  crypto.PrivKey
		msg  *xchain.MsgRecvPacket
		code errcode.Code
	}{
		{"forged proof", b.relayer, &xchain.MsgRecvPacket{Packet: p1, Proof: flip, ProofHeight: h}, errcode.InvalidProof},
		{"proof of another packet", b.relayer, &xchain.MsgRecvPacket{Packet: p1, Proof: proof2, ProofHeight: h}, errcode.InvalidProof},
		{"proof against another height", b.relayer, &xchain.MsgRecvPacket{Packet: p1, Proof: a.prove(xchain.CommitmentPath("attest-chain-b", 1), h-1).Proof, ProofHeight: h}, errcode.InvalidProof},
		{"height the client does not have", b.relayer, &xchain.MsgRecvPacket{Packet: p1, Proof: good.Proof, ProofHeight: h + 5}, errcode.NotFound},
		{"tampered payload", b.relayer, &xchain.MsgRecvPacket{Packet: &tampered, Proof: good.Proof, ProofHeight: h}, errcode.InvalidProof},
		{"unknown destination route", b.relayer, &xchain.MsgRecvPacket{Packet: &wrongDst, Proof: good.Proof, ProofHeight: h}, errcode.NotFound},
		{"wrong source route", b.relayer, &xchain.MsgRecvPacket{Packet: &wrongSrc, Proof: good.Proof, ProofHeight: h}, errcode.InvalidMessage},
		{"not a relayer", b.user, good, errcode.Unauthorized},
		{"garbage proof", b.relayer, &xchain.MsgRecvPacket{Packet: p1, Proof: []byte{0xff, 0x01, 0x02}, ProofHeight: h}, errcode.InvalidProof},
		{"timeout height reached", b.relayer, &xchain.MsgRecvPacket{Packet: &later, Proof: good.Proof, ProofHeight: h}, errcode.PacketExpired},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { b.refusedWithoutTrace(t, c.code, c.key, c.msg) })
	}

	// Past its timeout (3 s of block time), a packet is refused by the destination.
	b.blockAfter(time.Minute)
	m, _ := b.recvMsg(&expired)
	b.failsInBlock(errcode.PacketExpired, b.relayer, m)

	// Delivered once; a replay is refused by CheckTx (it would change nothing), and in
	// a block it is a no-op: the application does not run again.
	ack := b.deliver(p1)
	if len(ack) == 0 {
		t.Fatal("no ack")
	}
	replay, _ := b.recvMsg(p1)
	b.refused(errcode.AlreadyExists, b.relayer, replay)
	before := b.stateOf(xchain.Name) + b.stateOf(attest.Name)
	res := b.block(b.sign(b.relayer, replay))[0]
	if res.Code != 0 {
		t.Fatalf("a replay in a block failed: %s", res.Log)
	}
	if countEvents(res.Events, xchain.EventRecvPacket)+countEvents(res.Events, attest.EventServed) != 0 {
		t.Fatalf("a replayed packet emitted %v", res.Events)
	}
	if b.stateOf(xchain.Name)+b.stateOf(attest.Name) != before {
		t.Fatal("a replayed packet changed state")
	}
}

// TestXchainHeaderRefusals: headers the light client must not accept.
func TestXchainHeaderRefusals(t *testing.T) {
	a, b := newXPair(t)
	a.attestFrom("x", 0)
	trusted := b.client().LatestHeight
	h := a.height + 1
	other := xchaintest.NewValidators("impostors", 4)
	sign := func(v *xchaintest.Validators, hd xchaintest.Header) *cmttypes.SignedHeader {
		if hd.ChainID == "" {
			hd.ChainID = "chain-a"
		}
		if hd.Height == 0 {
			hd.Height = h
		}
		if hd.Time.IsZero() {
			hd.Time = a.times[h-1].Add(500 * time.Millisecond)
		}
		if hd.AppHash == nil {
			hd.AppHash = a.hashes[h-1]
		}
		return v.Sign(hd)
	}
	mk := func(sh *cmttypes.SignedHeader, vals *cmttypes.ValidatorSet, trustedHeight int64, tv *cmttypes.ValidatorSet) *xchain.MsgUpdateClient {
		hd, err := xchain.NewHeader(sh, vals, trustedHeight, tv)
		if err != nil {
			t.Fatal(err)
		}
		return &xchain.MsgUpdateClient{ClientID: "chain-a", Header: hd}
	}
	cases := []struct {
		name string
		msg  *xchain.MsgUpdateClient
		code errcode.Code
	}{
		{"signed by too little power", mk(sign(a.vals, xchaintest.Header{Signers: []int{0, 1}}), a.vals.Set, trusted, a.vals.Set), errcode.InvalidHeader},
		{"unknown validator set", mk(sign(other, xchaintest.Header{}), other.Set, trusted, a.vals.Set), errcode.InvalidHeader},
		{"trusted validators that are not the trusted next set", mk(sign(other, xchaintest.Header{}), other.Set, trusted, other.Set), errcode.InvalidHeader},
		{"another chain id", mk(sign(a.vals, xchaintest.Header{ChainID: "chain-z"}), a.vals.Set, trusted, a.vals.Set), errcode.InvalidHeader},
		{"from the future", mk(sign(a.vals, xchaintest.Header{Time: b.now.Add(time.Hour)}), a.vals.Set, trusted, a.vals.Set), errcode.InvalidHeader},
		{"unknown trusted height", mk(sign(a.vals, xchaintest.Header{}), a.vals.Set, trusted-1, a.vals.Set), errcode.NotFound},
		{"wrong validators for the header", mk(sign(a.vals, xchaintest.Header{}), other.Set, trusted, a.vals.Set), errcode.InvalidHeader},
		{"unknown client", &xchain.MsgUpdateClient{ClientID: "chain-z", Header: mk(sign(a.vals, xchaintest.Header{}), a.vals.Set, trusted, a.vals.Set).Header}, errcode.NotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := b.stateOf(xchain.Name)
			b.failsInBlock(c.code, b.relayer, c.msg)
			if b.stateOf(xchain.Name) != before {
				t.Fatal("a refused header changed state")
			}
		})
	}
	// One more than a third of the trusted power signing a non-adjacent header is
	// enough for the trust level when the new set is the same.
	ok := mk(sign(a.vals, xchaintest.Header{}), a.vals.Set, trusted, a.vals.Set)
	b.mustExec(b.relayer, ok)
	if got := b.client().LatestHeight; got != h {
		t.Fatalf("latest height %d, want %d", got, h)
	}
	// The same header again is a redundant update: refused by CheckTx, no-op in a block.
	b.refused(errcode.AlreadyExists, b.relayer, ok)
}

// TestXchainMisbehaviourFreezes: a second valid header at a height the client has,
// two conflicting headers shown by anyone, or time running backwards freeze the
// client; a frozen client refuses packets until governance replaces it.
func TestXchainMisbehaviourFreezes(t *testing.T) {
	t.Run("conflicting update", func(t *testing.T) {
		a, b := newXPair(t)
		p := a.attestFrom("doc", 0)
		h := b.sync()
		trusted := b.client().LatestHeight
		if trusted != h {
			t.Fatal("update did not land")
		}
		// Another block at height h, signed by the same validators (a fork), verified
		// from the consensus state the client was created with.
		fork := a.vals.Sign(xchaintest.Header{ChainID: "chain-a", Height: h, Time: a.times[h-1].Add(500 * time.Millisecond),
			AppHash: a.hashes[h-1], DataHash: digestOf("fork")})
		first := b.consensusBelow(h)
		hd, _ := xchain.NewHeader(fork, a.vals.Set, first, a.vals.Set)
		res := b.mustExec(b.relayer, &xchain.MsgUpdateClient{ClientID: "chain-a", Header: hd})
		if countEvents(res.Events, xchain.EventClientFrozen) != 1 || b.client().Status != xchain.StatusFrozen {
			t.Fatalf("client not frozen: %+v", b.client())
		}
		m, _ := b.recvMsg2(p, h)
		b.failsInBlock(errcode.ClientFrozen, b.relayer, m)
		// Governance replaces the client; packets flow again.
		sh := a.nextHeader()
		b.pass(b.propose(1, gov.KindReplaceClient, xchain.ClientParams{ID: "chain-a", ChainID: "chain-a",
			TrustingPeriod: xchain.Duration(xTrust), MaxClockDrift: xchain.Duration(xDrift), ConsensusState: consensusOf(sh)}), 2)
		if v := b.client(); v.Status != xchain.StatusActive || v.NumConsensus != 1 {
			t.Fatalf("replaced client %+v", v)
		}
		b.deliver(p)
	})
	t.Run("submitted by anyone", func(t *testing.T) {
		a, b := newXPair(t)
		a.attestFrom("doc", 0)
		trusted := b.client().LatestHeight
		h := a.height + 1
		h1 := a.header(h)
		h2 := a.vals.Sign(xchaintest.Header{ChainID: "chain-a", Height: h, Time: h1.Time, AppHash: digestOf("lie"), DataHash: digestOf("lie")})
		x1, _ := xchain.NewHeader(h1, a.vals.Set, trusted, a.vals.Set)
		x2, _ := xchain.NewHeader(h2, a.vals.Set, trusted, a.vals.Set)
		// Two copies of one header do not conflict.
		b.failsInBlock(errcode.InvalidMessage, b.user, &xchain.MsgSubmitMisbehaviour{ClientID: "chain-a", Header1: x1, Header2: x1})
		// A header not signed by the trusted validators is not evidence.
		bad := xchaintest.NewValidators("impostors", 4)
		x3, _ := xchain.NewHeader(bad.Sign(xchaintest.Header{ChainID: "chain-a", Height: h, Time: h1.Time, AppHash: digestOf("lie")}), bad.Set, trusted, a.vals.Set)
		b.failsInBlock(errcode.InvalidHeader, b.user, &xchain.MsgSubmitMisbehaviour{ClientID: "chain-a", Header1: x1, Header2: x3})
		b.mustExec(b.user, &xchain.MsgSubmitMisbehaviour{ClientID: "chain-a", Header1: x1, Header2: x2})
		if v := b.client(); v.Status != xchain.StatusFrozen {
			t.Fatalf("client %+v", v)
		}
		b.failsInBlock(errcode.ClientFrozen, b.relayer, b.updateMsg(h))
	})
	t.Run("time running backwards", func(t *testing.T) {
		a, b := newXPair(t)
		a.attestFrom("doc", 0)
		h := b.sync()
		a.block()
		a.block()
		// Header h+2 claims a time before header h's.
		back := a.vals.Sign(xchaintest.Header{ChainID: "chain-a", Height: h + 2, Time: a.times[h-2], AppHash: a.hashes[h+1]})
		hd, _ := xchain.NewHeader(back, a.vals.Set, h, a.vals.Set)
		b.failsInBlock(errcode.InvalidHeader, b.relayer, &xchain.MsgUpdateClient{ClientID: "chain-a", Header: hd}) // CometBFT refuses it outright
		// A header between two consensus states, with a time after the upper one's,
		// is out of order: the client freezes.
		low := b.consensusBelow(h)
		mid := low + 1
		if mid >= h {
			t.Fatalf("no gap between consensus states %d and %d", low, h)
		}
		late := a.vals.Sign(xchaintest.Header{ChainID: "chain-a", Height: mid, Time: a.times[h].Add(time.Second), AppHash: a.hashes[mid-1]})
		hd, _ = xchain.NewHeader(late, a.vals.Set, low, nil)
		res := b.mustExec(b.relayer, &xchain.MsgUpdateClient{ClientID: "chain-a", Header: hd})
		if countEvents(res.Events, xchain.EventClientFrozen) != 1 {
			t.Fatalf("not frozen: %v", res.Events)
		}
	})
}

// consensusBelow returns the highest height below h at which s's client has a
// consensus state.
func (s *xside) consensusBelow(h int64) int64 {
	s.t.Helper()
	kv := store.Prefixed(s.app.store, modules.Prefix(xchain.Name))
	for x := h - 1; x > 0; x-- {
		if cs, err := xchain.GetConsensusState(kv, s.peer.chainID, x); err != nil {
			s.t.Fatal(err)
		} else if cs != nil {
			return x
		}
	}
	s.t.Fatalf("no consensus state below %d", h)
	return 0
}

// recvMsg2 proves p at an existing consensus height h of s's client.
func (s *xside) recvMsg2(p *xchain.Packet, h int64) (*xchain.MsgRecvPacket, int64) {
	pr := s.peer.prove(xchain.CommitmentPath(p.SourceRoute, p.Sequence), h)
	return &xchain.MsgRecvPacket{Packet: p, Proof: pr.Proof, ProofHeight: h}, h
}

// TestXchainExpiredClient: a client not updated within its trusting period refuses
// packets and updates; governance revives it.
func TestXchainExpiredClient(t *testing.T) {
	a, b := newXPair(t)
	p := a.attestFrom("doc", attest.MaxTimeout)
	m, h := b.recvMsg(p)
	b.blockAfter(xTrust + time.Second)
	if v := b.client(); v.Status != xchain.StatusExpired {
		t.Fatalf("client %+v", v)
	}
	b.failsInBlock(errcode.ClientExpired, b.relayer, m)
	a.block()
	b.failsInBlock(errcode.ClientExpired, b.relayer, b.updateMsg(a.height+1))
	// Governance replaces it from a fresh trusted header; the packet is delivered.
	a.blockAfter(xTrust)
	sh := a.nextHeader()
	b.pass(b.propose(1, gov.KindReplaceClient, xchain.ClientParams{ID: "chain-a", ChainID: "chain-a",
		TrustingPeriod: xchain.Duration(xTrust), MaxClockDrift: xchain.Duration(xDrift), ConsensusState: consensusOf(sh)}), 2)
	_ = h
	b.deliver(p)
}

// TestXchainAckAndTimeout covers the source side: acknowledgements for packets never
// sent or with a wrong proof, redundant acks, timeouts before the timeout, timeouts of
// received packets, and a timeout that runs the application's undo once.
func TestXchainAckAndTimeout(t *testing.T) {
	a, b := newXPair(t)
	p := a.attestFrom("doc", 0)
	ack := b.deliver(p)
	good := a.ackMsg(p, ack)

	never := *p
	never.Sequence = 99
	otherAck := (&xchain.Ack{Error: "invented"}).Bytes()
	cases := []struct {
		name string
		msg  txs.Msg
		code errcode.Code
	}{
		{"ack of a packet never sent", &xchain.MsgAcknowledge{Packet: &never, Ack: ack, Proof: good.Proof, ProofHeight: good.ProofHeight}, errcode.NotFound},
		{"ack that is not the one written", &xchain.MsgAcknowledge{Packet: p, Ack: otherAck, Proof: good.Proof, ProofHeight: good.ProofHeight}, errcode.InvalidProof},
		{"timeout of a packet that was received", &xchain.MsgTimeout{Packet: p, Proof: good.Proof, ProofHeight: good.ProofHeight}, errcode.TimeoutNotReached},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := a.stateOf(xchain.Name) + a.stateOf(attest.Name)
			a.failsInBlock(c.code, a.relayer, c.msg)
			if a.stateOf(xchain.Name)+a.stateOf(attest.Name) != before {
				t.Fatal("a refused message changed state")
			}
		})
	}
	res := a.mustExec(a.relayer, good)
	if countEvents(res.Events, attest.EventAnswered) != 1 {
		t.Fatal("no answer")
	}
	a.refused(errcode.AlreadyExists, a.relayer, good)
	res = a.block(a.sign(a.relayer, good))[0]
	if countEvents(res.Events, attest.EventAnswered)+countEvents(res.Events, xchain.EventAckPacket) != 0 {
		t.Fatal("a redundant ack ran the application again")
	}

	// A packet received, then claimed timed out with a proof past its timeout: the
	// receipt exists, so no absence proof can be made (the one given is refused).
	q := a.attestFrom("received", 2)
	b.deliver(q)
	b.blockAfter(time.Minute)
	h := a.sync()
	pr := b.prove(xchain.ReceiptPath(q.DestRoute, q.Sequence), h)
	if pr.Value == nil {
		t.Fatal("receipt missing")
	}
	a.failsInBlock(errcode.InvalidProof, a.relayer, &xchain.MsgTimeout{Packet: q, Proof: pr.Proof, ProofHeight: h})

	// A packet never received: too early, then after its timeout.
	r := a.attestFrom("lost", 60)
	h = a.sync()
	early := b.prove(xchain.ReceiptPath(r.DestRoute, r.Sequence), h)
	a.failsInBlock(errcode.TimeoutNotReached, a.relayer, &xchain.MsgTimeout{Packet: r, Proof: early.Proof, ProofHeight: h})
	b.blockAfter(2 * time.Minute)
	h = a.sync()
	absent := b.prove(xchain.ReceiptPath(r.DestRoute, r.Sequence), h)
	if absent.Value != nil {
		t.Fatal("receipt present")
	}
	// An absence proof made from another tree's neighbours (chain A's) is refused.
	wrong := a.prove(xchain.ReceiptPath(r.DestRoute, r.Sequence), a.height)
	if wrong.Value != nil {
		t.Fatal("chain A has the receipt")
	}
	a.failsInBlock(errcode.InvalidProof, a.relayer, &xchain.MsgTimeout{Packet: r, Proof: wrong.Proof, ProofHeight: h})
	// Nor does a membership proof of another packet's receipt.
	a.failsInBlock(errcode.InvalidProof, a.relayer, &xchain.MsgTimeout{Packet: r, Proof: pr.Proof, ProofHeight: h})
	timeout := &xchain.MsgTimeout{Packet: r, Proof: absent.Proof, ProofHeight: h}
	res = a.mustExec(a.relayer, timeout)
	if countEvents(res.Events, attest.EventTimedOut) != 1 || a.request(r).Status != attest.StatusTimedOut {
		t.Fatalf("timeout did not run the undo: %v", res.Events)
	}
	a.refused(errcode.AlreadyExists, a.relayer, timeout)
	res = a.block(a.sign(a.relayer, timeout))[0]
	if res.Code != 0 || countEvents(res.Events, attest.EventTimedOut) != 0 {
		t.Fatal("the undo ran twice")
	}
	// The destination, past the timeout, refuses the packet too.
	m, _ := b.recvMsg(r)
	b.failsInBlock(errcode.PacketExpired, b.relayer, m)
}

// TestXchainOrderedRoute: packets of an ordered route are received in order only, and a
// timeout closes the route.
func TestXchainOrderedRoute(t *testing.T) {
	a, b := newXPair(t)
	send := func(body string, timeout uint64) *xchain.Packet {
		res := a.mustExec(a.user, &message.MsgSend{Route: "msg-chain-b", Handler: "inbox", Payload: []byte(body), TimeoutSeconds: timeout})
		return sentPacket(t, res.Events)
	}
	p1, p2 := send("first", 0), send("second", 0)
	m2, _ := b.recvMsg(p2)
	b.failsInBlock(errcode.OutOfOrder, b.relayer, m2)
	b.deliver(p1)
	ack2 := b.deliver(p2)
	var d message.Delivered
	json.Unmarshal(b.query("/message/inbox", []byte("inbox/msg-chain-a/2")), &d)
	if string(d.Payload) != "second" || d.ChainID != "chain-a" {
		t.Fatalf("inbox %+v", d)
	}
	// Acks in order too.
	b.sync()
	a.failsInBlock(errcode.OutOfOrder, a.relayer, a.ackMsg(p2, ack2))

	// A timeout on an ordered route is proven by the next receive sequence, and closes it.
	p3 := send("third", 2)
	b.blockAfter(time.Minute)
	h := a.sync()
	pr := b.prove(xchain.NextRecvPath(p3.DestRoute), h)
	if u64(pr.Value) != 3 {
		t.Fatalf("next recv %x", pr.Value)
	}
	a.failsInBlock(errcode.InvalidProof, a.relayer, &xchain.MsgTimeout{Packet: p3, Proof: pr.Proof, ProofHeight: h, NextSequenceRecv: 2})
	a.mustExec(a.relayer, &xchain.MsgTimeout{Packet: p3, Proof: pr.Proof, ProofHeight: h, NextSequenceRecv: 3})
	var r xchain.Route
	json.Unmarshal(a.query("/xchain/route", []byte("msg-chain-b")), &r)
	if r.Status != xchain.RouteClosed {
		t.Fatalf("route %+v", r)
	}
	a.failsInBlock(errcode.Closed, a.user, &message.MsgSend{Route: "msg-chain-b", Handler: "inbox"})
}

// TestXchainGovernance: proposals for clients and routes are checked when submitted.
func TestXchainGovernance(t *testing.T) {
	a, _ := newXPair(t)
	bad := []struct {
		kind    string
		content string
	}{
		{gov.KindCreateClient, `{"chain_id":"x","trusting_period":"1h","max_clock_drift":"1s"}`},
		{gov.KindCreateClient, `{"chain_id":"x","trusting_period":"0s","max_clock_drift":"1s","consensus_state":{}}`},
		{gov.KindCreateClient, `{"chain_id":"x","trust_level":{"numerator":1,"denominator":4},"trusting_period":"1h","max_clock_drift":"1s","consensus_state":{}}`},
		{gov.KindOpenRoute, `{"id":"Bad Route","port":"attest","client":"x","counterparty_route":"y","counterparty_port":"attest"}`},
		{gov.KindCloseRoute, `{}`},
	}
	for _, c := range bad {
		a.refused(errcode.InvalidMessage, a.admins[0], &gov.MsgSubmitProposal{Kind: c.kind, Content: json.RawMessage(c.content), Title: "bad"})
	}
	// A second client of one chain, a route to a port with no application, and a route
	// on an unknown client fail at execution, leaving the proposal failed.
	sh := a.peer.nextHeader()
	for _, c := range []struct {
		kind    string
		content any
	}{
		{gov.KindCreateClient, xchain.ClientParams{ChainID: "chain-b", TrustingPeriod: xchain.Duration(xTrust), ConsensusState: consensusOf(sh)}},
		{gov.KindOpenRoute, xchain.RouteParams{ID: "r1", Port: "nft", Client: "chain-b", CounterpartyRoute: "r2", CounterpartyPort: "nft"}},
		{gov.KindOpenRoute, xchain.RouteParams{ID: "r1", Port: "attest", Client: "chain-q", CounterpartyRoute: "r2", CounterpartyPort: "attest"}},
		// A client born expired: its trusted header is older than the trusting period.
		{gov.KindCreateClient, xchain.ClientParams{ID: "old", ChainID: "chain-b", TrustingPeriod: xchain.Duration(time.Second), ConsensusState: consensusOf(a.peer.header(3))}},
		// A header from beyond the clock drift.
		{gov.KindCreateClient, xchain.ClientParams{ID: "future", ChainID: "chain-b", TrustingPeriod: xchain.Duration(xTrust),
			ConsensusState: &xchain.ConsensusState{Height: 9, Time: a.now.Add(time.Hour), AppHash: sh.AppHash, NextValidatorsHash: sh.NextValidatorsHash, HeaderHash: sh.Hash()}}},
		// Replacing a client with one of another chain would redirect its routes.
		{gov.KindReplaceClient, xchain.ClientParams{ID: "chain-b", ChainID: "chain-z", TrustingPeriod: xchain.Duration(xTrust), ConsensusState: consensusOf(sh)}},
	} {
		id := a.propose(1, c.kind, c.content)
		a.vote(1, id, gov.VoteYes)
		a.vote(2, id, gov.VoteYes)
		if p := a.proposal(id); p.Status != gov.StatusFailed {
			t.Fatalf("%s: %s", c.kind, p.Status)
		}
	}
	var routes []xchain.Route
	json.Unmarshal(a.query("/xchain/routes", nil), &routes)
	if len(routes) != 2 {
		t.Fatalf("routes %+v", routes)
	}
	a.pass(a.propose(1, gov.KindCloseRoute, gov.RouteRef{ID: "attest-chain-b"}), 2)
	a.failsInBlock(errcode.Closed, a.user, &attest.MsgAttest{Route: "attest-chain-b", Digest: digestOf("x")})
}

// TestXchainConsensusStatesPruned: updates delete consensus states older than the
// trusting period, and the client's count stays true.
func TestXchainConsensusStatesPruned(t *testing.T) {
	a, b := newXPair(t)
	kv := store.Prefixed(b.app.store, modules.Prefix(xchain.Name))
	count := func() uint64 {
		var n uint64
		kv.Iterate([]byte("consensus/chain-a/"), store.PrefixEnd([]byte("consensus/chain-a/")), func(_, _ []byte) bool {
			n++
			return true
		})
		return n
	}
	for i := 0; i < 8; i++ {
		a.blockAfter(20 * time.Minute)
		b.blockAfter(20 * time.Minute)
		b.sync()
		if v := b.client(); v.NumConsensus != count() || v.Status != xchain.StatusActive {
			t.Fatalf("update %d: client says %d consensus states, the store has %d (%s)", i, v.NumConsensus, count(), v.Status)
		}
	}
	// With 20 minutes between updates and a 1-hour trusting period, at most the states
	// of the last hour (3) and the one being replaced remain.
	if n := count(); n > 4 {
		t.Fatalf("%d consensus states kept", n)
	}
}

// TestXchainAttestationKeepsTheNewerAnswer: answers acknowledged out of order do not
// replace a newer answer with an older one.
func TestXchainAttestationKeepsTheNewerAnswer(t *testing.T) {
	a, b := newXPair(t)
	q1 := a.attestFrom("late.pdf", 0)
	q2 := a.attestFrom("late.pdf", 0)
	ack2 := b.deliver(q2) // answered first: not anchored yet
	b.mustExec(b.user, anchor("late.pdf"))
	ack1 := b.deliver(q1) // answered later: anchored
	a.mustExec(a.relayer, a.ackMsg(q1, ack1))
	a.mustExec(a.relayer, a.ackMsg(q2, ack2))
	if att := a.attestation("late.pdf"); !att.Found || att.Sequence != q1.Sequence {
		t.Fatalf("attestation %+v: the older answer replaced the newer", att)
	}
	if r := a.request(q2); r.Status != attest.StatusAnswered {
		t.Fatalf("request %+v", r)
	}
}

// TestXchainRelaysPendingInMempool: CheckTx admits a relay without running the port's
// application (App callbacks run in blocks only), yet remembers it in the check state, so
// a second relay of the same packet or acknowledgement waiting for the same block is
// refused as redundant; the block then runs the application once.
func TestXchainRelaysPendingInMempool(t *testing.T) {
	a, b := newXPair(t)
	b.mustExec(b.user, anchor("deed.pdf"))
	p := a.attestFrom("deed.pdf", 0)

	check := func(s *xside, tx []byte) *abci.ResponseCheckTx {
		t.Helper()
		res, err := s.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: tx})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	recv, _ := b.recvMsg(p)
	first := b.sign(b.relayer, recv)
	if res := check(b, first); res.Code != 0 {
		t.Fatalf("first relay refused: %s", res.Log)
	}
	b.refused(errcode.AlreadyExists, b.relayer, recv)
	res := b.block(first)[0]
	if res.Code != 0 || countEvents(res.Events, attest.EventServed) != 1 || countEvents(res.Events, xchain.EventRecvPacket) != 1 {
		t.Fatalf("block: code %d, events %v", res.Code, res.Events)
	}
	ack, err := hex.DecodeString(eventAttr(res.Events, xchain.EventRecvPacket, "ack"))
	if err != nil || len(ack) == 0 {
		t.Fatalf("no ack in %v", res.Events)
	}

	am := a.ackMsg(p, ack)
	firstAck := a.sign(a.relayer, am)
	if res := check(a, firstAck); res.Code != 0 {
		t.Fatalf("first ack relay refused: %s", res.Log)
	}
	a.refused(errcode.AlreadyExists, a.relayer, am)
	if r := a.request(p); r.Status != attest.StatusPending {
		t.Fatalf("request after CheckTx: %+v", r)
	}
	res = a.block(firstAck)[0]
	if res.Code != 0 || countEvents(res.Events, attest.EventAnswered) != 1 || countEvents(res.Events, xchain.EventAckPacket) != 1 {
		t.Fatalf("block: code %d, events %v", res.Code, res.Events)
	}
	if r := a.request(p); r.Status != attest.StatusAnswered {
		t.Fatalf("request after the block: %+v", r)
	}
	if att := a.attestation("deed.pdf"); !att.Found || att.Record == nil {
		t.Fatalf("attestation %+v", att)
	}
}
