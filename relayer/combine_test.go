package relayer

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules/xchain"
	"github.com/lianchain/lian/store"
	"github.com/lianchain/lian/txs"
)

// TestCombineAndSplit checks that a relay transaction's runs of receipts and of
// acknowledgements become batch messages with valid proofs, and that a refused batch
// message is sent again as its single messages.
func TestCombineAndSplit(t *testing.T) {
	st, err := store.OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	pk := func(route, dest string, seq uint64) *xchain.Packet {
		return &xchain.Packet{Sequence: seq, SourceRoute: route, DestRoute: dest, Payload: []byte{byte(seq)}, TimeoutHeight: 100}
	}
	var recv, acked []*xchain.Packet
	for seq := uint64(1); seq <= 5; seq++ {
		p := pk("r-b", "r-a", seq)
		recv = append(recv, p)
		st.Set(xchain.CommitmentPath(p.SourceRoute, p.Sequence), xchain.Commitment(p))
	}
	ack := (&xchain.Ack{Result: []byte("1")}).Bytes()
	for seq := uint64(1); seq <= 2; seq++ {
		p := pk("r-a", "r-b", seq)
		acked = append(acked, p)
		st.Set(xchain.AckPath(p.DestRoute, p.Sequence), xchain.AckHash(ack))
	}
	root, version, err := st.Commit()
	if err != nil {
		t.Fatal(err)
	}
	prove := func(key []byte) []byte {
		l, err := st.ProveMany([][]byte{key}, version)
		if err != nil {
			t.Fatal(err)
		}
		return l[0].Proof
	}
	var msgs []txs.Msg
	for i, p := range recv {
		h := int64(7)
		if i == 4 {
			h = 8 // another proof height: not in the batch
		}
		msgs = append(msgs, &xchain.MsgRecvPacket{Packet: p, Proof: prove(xchain.CommitmentPath(p.SourceRoute, p.Sequence)), ProofHeight: h})
	}
	for _, p := range acked {
		msgs = append(msgs, &xchain.MsgAcknowledge{Packet: p, Ack: ack, Proof: prove(xchain.AckPath(p.DestRoute, p.Sequence)), ProofHeight: 7})
	}
	msgs = append(msgs, &xchain.MsgTimeout{Packet: pk("r-a", "r-b", 9), Proof: []byte{1}, ProofHeight: 7})

	out := combine(msgs)
	var names []string
	for _, m := range out {
		names = append(names, fmt.Sprintf("%s×%d", msgName(m.msg), len(m.singles())))
	}
	if got, want := fmt.Sprint(names), "[RecvPackets×4 RecvPacket×1 AcknowledgePackets×2 Timeout×1]"; got != want {
		t.Fatalf("combined %s, want %s", got, want)
	}
	rb := out[0].msg.(*xchain.MsgRecvPackets)
	keys, values := make([][]byte, len(rb.Packets)), make([][]byte, len(rb.Packets))
	for i, p := range rb.Packets {
		keys[i], values[i] = xchain.CommitmentPath(p.SourceRoute, p.Sequence), xchain.Commitment(p)
	}
	if err := rb.ValidateBasic(); err != nil {
		t.Fatal(err)
	}
	if err := store.VerifyMultiMembership(root, rb.Proof, keys, values); err != nil {
		t.Fatalf("the batch's proof: %v", err)
	}
	ab := out[2].msg.(*xchain.MsgAcknowledgePackets)
	keys, values = keys[:0], values[:0]
	for _, a := range ab.Acks {
		keys, values = append(keys, xchain.AckPath(a.Packet.DestRoute, a.Packet.Sequence)), append(values, xchain.AckHash(a.Ack))
	}
	if err := store.VerifyMultiMembership(root, ab.Proof, keys, values); err != nil {
		t.Fatalf("the ack batch's proof: %v", err)
	}

	// The chain refuses the first batch: its packets go again one by one; the chain
	// then refuses single 2, which is dropped, and takes the rest.
	f := &fakeEndpoint{answers: []answer{
		{code: uint32(errcode.InvalidProof), log: "message 0 (/lian.xchain.v1.MsgRecvPackets): bad"},
		{code: uint32(errcode.PacketExpired), log: "message 1 (/lian.xchain.v1.MsgRecvPacket): expired"},
	}}
	x, err := NewChain("a", f, testKey(t))
	if err != nil {
		t.Fatal(err)
	}
	r := &Relayer{opts: Options{ResubmitAfter: time.Minute}, metrics: newMetrics(), logged: map[string]logMark{}, log: slog.New(slog.DiscardHandler)}
	p := newPair(r, x, &Chain{ID: "b"})
	marked := map[txs.Msg]packetKey{}
	for i, m := range msgs {
		k := packetKey{"b", "r-b", uint64(i + 1)}
		marked[m] = k
		p.packets[k] = &pkt{p: recv[0]}
	}
	if err := p.submit(context.Background(), x, out, marked); err != nil {
		t.Fatal(err)
	}
	want := "[[RecvPackets RecvPacket AcknowledgePackets Timeout] " +
		"[RecvPacket RecvPacket RecvPacket RecvPacket RecvPacket AcknowledgePackets Timeout] " +
		"[RecvPacket RecvPacket RecvPacket RecvPacket AcknowledgePackets Timeout]]"
	if got := fmt.Sprint(f.types); got != want {
		t.Fatalf("broadcasts %s,\nwant %s", got, want)
	}
	for i := range msgs {
		k := packetKey{"b", "r-b", uint64(i + 1)}
		if inflight := p.packets[k].inflight.After(time.Now()); inflight != (i != 1) {
			t.Errorf("packet %d in flight: %v", i+1, inflight)
		}
	}
}
