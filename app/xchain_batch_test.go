package app

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules/attest"
	"github.com/lianchain/lian/modules/message"
	"github.com/lianchain/lian/modules/xchain"
	"github.com/lianchain/lian/store"
	"github.com/lianchain/lian/txs"
)

// combined proves keys of this chain's state at proof height h with one batch proof.
func (s *xside) combined(h int64, keys ...[]byte) []byte {
	s.t.Helper()
	list, err := s.app.store.ProveMany(keys, h-1)
	if err != nil {
		s.t.Fatal(err)
	}
	proofs := make([][]byte, len(list))
	for i, p := range list {
		if p.Value == nil {
			s.t.Fatalf("key %q is absent", keys[i])
		}
		proofs[i] = p.Proof
	}
	b, err := store.CombineProofs(proofs)
	if err != nil {
		s.t.Fatal(err)
	}
	return b
}

func commitmentPaths(ps ...*xchain.Packet) [][]byte {
	keys := make([][]byte, len(ps))
	for i, p := range ps {
		keys[i] = xchain.CommitmentPath(p.SourceRoute, p.Sequence)
	}
	return keys
}

// recvBatch is the relay of ps (sent by the peer) to s in one batch message.
func (s *xside) recvBatch(ps ...*xchain.Packet) *xchain.MsgRecvPackets {
	s.t.Helper()
	h := s.sync()
	return &xchain.MsgRecvPackets{Packets: ps, Proof: s.peer.combined(h, commitmentPaths(ps...)...), ProofHeight: h}
}

// ackBatch is the relay of the acks of ps (received by the peer) back to s.
func (s *xside) ackBatch(ps []*xchain.Packet, acks [][]byte) *xchain.MsgAcknowledgePackets {
	s.t.Helper()
	h := s.sync()
	m := &xchain.MsgAcknowledgePackets{ProofHeight: h}
	keys := make([][]byte, len(ps))
	for i, p := range ps {
		m.Acks = append(m.Acks, &xchain.PacketAck{Packet: p, Ack: acks[i]})
		keys[i] = xchain.AckPath(p.DestRoute, p.Sequence)
	}
	m.Proof = s.peer.combined(h, keys...)
	return m
}

// acksIn returns the acknowledgements of the packets a block's result received, in order.
func acksIn(t *testing.T, events []abci.Event) [][]byte {
	t.Helper()
	var acks [][]byte
	for _, ev := range events {
		if ev.Type != xchain.EventRecvPacket {
			continue
		}
		for _, a := range ev.Attributes {
			if a.Key == "ack" {
				b, err := hex.DecodeString(a.Value)
				if err != nil {
					t.Fatal(err)
				}
				acks = append(acks, b)
			}
		}
	}
	return acks
}

// TestXchainBatchRoundTrip relays packets and their acknowledgements in batch messages:
// each packet is handled as its single message would be, redundant packets are
// skipped, and a batch of redundant packets only is a no-op.
func TestXchainBatchRoundTrip(t *testing.T) {
	a, b := newXPair(t)
	b.mustExec(b.user, anchor("contract.pdf"))
	docs := []string{"contract.pdf", "a", "b", "c", "d"}
	var ps []*xchain.Packet
	for _, d := range docs {
		ps = append(ps, a.attestFrom(d, 0))
	}
	recv := b.recvBatch(ps...)
	res := b.mustExec(b.relayer, recv)
	acks := acksIn(t, res.Events)
	if len(acks) != len(ps) || countEvents(res.Events, attest.EventServed) != len(ps) {
		t.Fatalf("%d acks, %d served, expected %d: %v", len(acks), countEvents(res.Events, attest.EventServed), len(ps), res.Events)
	}
	// The batch again: CheckTx refuses it, a block takes it as a no-op.
	b.refused(errcode.AlreadyExists, b.relayer, recv)
	before := b.stateOf(xchain.Name) + b.stateOf(attest.Name)
	res = b.block(b.sign(b.relayer, recv))[0]
	if res.Code != 0 || countEvents(res.Events, xchain.EventRecvPacket) != 0 || b.stateOf(xchain.Name)+b.stateOf(attest.Name) != before {
		t.Fatalf("a redundant batch: code %d, events %v", res.Code, res.Events)
	}

	// A batch of one packet received already and one new one delivers the new one.
	p6 := a.attestFrom("e", 0)
	p7 := a.attestFrom("f", 0)
	b.deliver(p6)
	res = b.mustExec(b.relayer, b.recvBatch(p6, p7))
	if got := acksIn(t, res.Events); len(got) != 1 || eventAttr(res.Events, xchain.EventRecvPacket, "sequence") != "7" {
		t.Fatalf("events %v", res.Events)
	}

	ackMsg := a.ackBatch(ps, acks)
	res = a.mustExec(a.relayer, ackMsg)
	if countEvents(res.Events, attest.EventAnswered) != len(ps) || countEvents(res.Events, xchain.EventAckPacket) != len(ps) {
		t.Fatalf("events %v", res.Events)
	}
	if att := a.attestation("contract.pdf"); !att.Found || att.ProofHeight != ackMsg.ProofHeight {
		t.Fatalf("attestation %+v", att)
	}
	if att := a.attestation("d"); att.Found || att.ChainID != "chain-b" {
		t.Fatalf("attestation %+v", att)
	}
	a.refused(errcode.AlreadyExists, a.relayer, ackMsg)
	res = a.block(a.sign(a.relayer, ackMsg))[0]
	if res.Code != 0 || countEvents(res.Events, attest.EventAnswered)+countEvents(res.Events, xchain.EventAckPacket) != 0 {
		t.Fatal("a redundant ack batch ran the application again")
	}
}

// TestXchainBatchRefusals: every bad batch is refused with its code, and changes
// nothing — also for the packets in it that alone would have been fine.
func TestXchainBatchRefusals(t *testing.T) {
	a, b := newXPair(t)
	p1, p2, p3 := a.attestFrom("one", 0), a.attestFrom("two", 0), a.attestFrom("three", 0)
	good := b.recvBatch(p1, p2, p3)
	h := good.ProofHeight
	flip := bytes.Clone(good.Proof)
	flip[len(flip)/2] ^= 1
	tampered := *p2
	tampered.Payload = digestOf("other")
	later := *p3
	later.TimeoutHeight = uint64(b.height + 1) // expires in the block that would receive it
	later.TimeoutTime = 0
	other := *p2
	other.SourceRoute, other.DestRoute = "msg-chain-b", "msg-chain-a"
	single := a.prove(xchain.CommitmentPath(p1.SourceRoute, p1.Sequence), h).Proof
	batch := func(proof []byte, height int64, ps ...*xchain.Packet) *xchain.MsgRecvPackets {
		return &xchain.MsgRecvPackets{Packets: ps, Proof: proof, ProofHeight: height}
	}
	cases := []struct {
		name string
		key  crypto.PrivKey
		msg  txs.Msg
		code errcode.Code
	}{
		{"forged proof", b.relayer, batch(flip, h, p1, p2, p3), errcode.InvalidProof},
		{"proof of the packets in another order", b.relayer, batch(a.combined(h, commitmentPaths(p2, p1, p3)...), h, p1, p2, p3), errcode.InvalidProof},
		{"proof of fewer packets", b.relayer, batch(a.combined(h, commitmentPaths(p1, p2)...), h, p1, p2, p3), errcode.InvalidProof},
		{"proof of other packets", b.relayer, batch(a.combined(h, commitmentPaths(p1, p1, p3)...), h, p1, p2, p3), errcode.InvalidProof},
		{"a single proof", b.relayer, batch(single, h, p1), errcode.InvalidProof},
		{"proof against another height", b.relayer, batch(a.combined(h-1, commitmentPaths(p1, p2)...), h, p1, p2), errcode.InvalidProof},
		{"height the client does not have", b.relayer, batch(good.Proof, h+5, p1, p2, p3), errcode.NotFound},
		{"a tampered packet", b.relayer, batch(good.Proof, h, p1, &tampered, p3), errcode.InvalidProof},
		{"a packet past its timeout", b.relayer, batch(good.Proof, h, p1, p2, &later), errcode.PacketExpired},
		{"packets of two routes", b.relayer, batch(good.Proof, h, p1, &other, p3), errcode.InvalidMessage},
		{"a packet twice", b.relayer, batch(good.Proof, h, p1, p1, p3), errcode.InvalidMessage},
		{"decreasing sequences", b.relayer, batch(good.Proof, h, p2, p1, p3), errcode.InvalidMessage},
		{"no packets", b.relayer, batch(good.Proof, h), errcode.InvalidMessage},
		{"no proof", b.relayer, batch(nil, h, p1, p2, p3), errcode.InvalidMessage},
		{"not a relayer", b.user, good, errcode.Unauthorized},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { b.refusedWithoutTrace(t, c.code, c.key, c.msg) })
	}

	res := b.mustExec(b.relayer, good)
	acks := acksIn(t, res.Events)
	ps := []*xchain.Packet{p1, p2, p3}
	goodAck := a.ackBatch(ps, acks)
	never := *p3
	never.Sequence = 99
	invented := (&xchain.Ack{Error: "invented"}).Bytes()
	ackCases := []struct {
		name string
		msg  txs.Msg
		code errcode.Code
	}{
		{"ack of a packet never sent", &xchain.MsgAcknowledgePackets{Acks: []*xchain.PacketAck{
			{Packet: p1, Ack: acks[0]}, {Packet: &never, Ack: acks[2]}}, Proof: goodAck.Proof, ProofHeight: goodAck.ProofHeight}, errcode.NotFound},
		{"an ack that is not the one written", &xchain.MsgAcknowledgePackets{Acks: []*xchain.PacketAck{
			{Packet: p1, Ack: acks[0]}, {Packet: p2, Ack: invented}, {Packet: p3, Ack: acks[2]}}, Proof: goodAck.Proof, ProofHeight: goodAck.ProofHeight}, errcode.InvalidProof},
		{"a malformed ack", &xchain.MsgAcknowledgePackets{Acks: []*xchain.PacketAck{
			{Packet: p1, Ack: []byte("{")}}, Proof: goodAck.Proof, ProofHeight: goodAck.ProofHeight}, errcode.InvalidMessage},
	}
	for _, c := range ackCases {
		t.Run(c.name, func(t *testing.T) { a.refusedWithoutTrace(t, c.code, a.relayer, c.msg) })
	}
	a.mustExec(a.relayer, goodAck)
}

// TestXchainBatchOrderedRoute: a batch on an ordered route delivers in order from the
// next sequence; a gap is refused.
func TestXchainBatchOrderedRoute(t *testing.T) {
	a, b := newXPair(t)
	var ps []*xchain.Packet
	for _, body := range []string{"first", "second", "third", "fourth"} {
		res := a.mustExec(a.user, &message.MsgSend{Route: "msg-chain-b", Handler: "inbox", Payload: []byte(body)})
		ps = append(ps, sentPacket(t, res.Events))
	}
	b.failsInBlock(errcode.OutOfOrder, b.relayer, b.recvBatch(ps[1], ps[2]))
	res := b.mustExec(b.relayer, b.recvBatch(ps[0], ps[1]))
	acks := acksIn(t, res.Events)
	// A batch that starts with a packet received already goes on from the next one.
	res = b.mustExec(b.relayer, b.recvBatch(ps[1], ps[2], ps[3]))
	acks = append(acks, acksIn(t, res.Events)...)
	if len(acks) != 4 {
		t.Fatalf("%d acks", len(acks))
	}
	a.failsInBlock(errcode.OutOfOrder, a.relayer, a.ackBatch(ps[2:], acks[2:]))
	res = a.mustExec(a.relayer, a.ackBatch(ps, acks))
	if countEvents(res.Events, xchain.EventAckPacket) != 4 {
		t.Fatalf("events %v", res.Events)
	}
	var pv xchain.PacketView
	if err := json.Unmarshal(a.query("/xchain/packet", []byte("msg-chain-b/4")), &pv); err != nil || pv.State != xchain.PacketAcknowledged {
		t.Fatalf("packet 4: %+v %v", pv, err)
	}
}
