package xchain

import (
	"bytes"
	"testing"
	"time"

	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules/xchain/xchaintest"
	"github.com/lianchain/lian/txs"
)

func testHeader(t testing.TB) *Header {
	v := xchaintest.NewValidators("c", 4)
	sh := v.Sign(xchaintest.Header{ChainID: "c-1", Height: 7, Time: time.Unix(1e9, 0).UTC(), AppHash: make([]byte, 32)})
	h, err := NewHeader(sh, v.Set, 3, v.Set)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// testAttestedHeader is testHeader with its commit's state extensions.
func testAttestedHeader(t testing.TB) *Header {
	v := xchaintest.NewValidators("c", 4)
	h := testHeader(t)
	if err := h.SetExtendedCommit(v.Extend(h.SignedHeader, xchaintest.Extension{Ext: StateExtension(make([]byte, 32))})); err != nil {
		t.Fatal(err)
	}
	return h
}

func testPacket() *Packet {
	return &Packet{Sequence: 3, SourceRoute: "attest-b", DestRoute: "attest-a", Payload: []byte("digest"), TimeoutHeight: 0, TimeoutTime: 1e18}
}

// testPackets are n packets of testPacket's route, sequences 3, 4, ….
func testPackets(n int) []*Packet {
	ps := make([]*Packet, n)
	for i := range ps {
		ps[i] = testPacket()
		ps[i].Sequence += uint64(i)
	}
	return ps
}

func TestMessagesRoundTrip(t *testing.T) {
	h := testHeader(t)
	ack := (&Ack{Result: []byte(`{"found":false}`)}).Bytes()
	cases := []struct {
		msg    txs.Msg
		decode func([]byte) (txs.Msg, error)
	}{
		{&MsgUpdateClient{ClientID: "c-1", Header: h}, DecodeUpdateClient},
		{&MsgUpdateClient{ClientID: "c-1", Header: testAttestedHeader(t)}, DecodeUpdateClient},
		{&MsgSubmitMisbehaviour{ClientID: "c-1", Header1: h, Header2: h}, DecodeMisbehaviour},
		{&MsgRecvPacket{Packet: testPacket(), Proof: []byte{1, 2}, ProofHeight: 9}, DecodeRecvPacket},
		{&MsgAcknowledge{Packet: testPacket(), Ack: ack, Proof: []byte{1}, ProofHeight: 9}, DecodeAcknowledge},
		{&MsgTimeout{Packet: testPacket(), Proof: []byte{1}, ProofHeight: 9, NextSequenceRecv: 2}, DecodeTimeout},
		{&MsgRecvPackets{Packets: testPackets(3), Proof: []byte{1, 2}, ProofHeight: 9}, DecodeRecvPackets},
		{&MsgAcknowledgePackets{Acks: []*PacketAck{{Packet: testPackets(2)[0], Ack: ack}, {Packet: testPackets(2)[1], Ack: ack}}, Proof: []byte{1}, ProofHeight: 9}, DecodeAcknowledgePackets},
	}
	for _, c := range cases {
		b := c.msg.Marshal()
		m, err := c.decode(b)
		if err != nil {
			t.Fatalf("%s: %v", c.msg.TypeURL(), err)
		}
		if !bytes.Equal(m.Marshal(), b) {
			t.Fatalf("%s: round trip changed the encoding", c.msg.TypeURL())
		}
		if err := m.ValidateBasic(); err != nil {
			t.Fatalf("%s: %v", c.msg.TypeURL(), err)
		}
	}
}

func TestValidateBasicRefusals(t *testing.T) {
	h := testHeader(t)
	noTrusted, _ := NewHeader(h.SignedHeader, h.Validators, 3, nil)
	above, _ := NewHeader(h.SignedHeader, h.Validators, 7, nil)
	big := testPacket()
	big.Payload = make([]byte, MaxPayloadBytes+1)
	noTimeout := testPacket()
	noTimeout.TimeoutTime = 0
	badRoute := testPacket()
	badRoute.DestRoute = "../x"
	otherRoute := testPackets(2)[1]
	otherRoute.SourceRoute = "msg-b"
	cases := []struct {
		name string
		msg  txs.Msg
	}{
		{"non-adjacent header without trusted validators", &MsgUpdateClient{ClientID: "c-1", Header: noTrusted}},
		{"header not above its trusted height", &MsgUpdateClient{ClientID: "c-1", Header: above}},
		{"bad client id", &MsgUpdateClient{ClientID: "C 1", Header: h}},
		{"oversized payload", &MsgRecvPacket{Packet: big, Proof: []byte{1}, ProofHeight: 1}},
		{"no timeout", &MsgRecvPacket{Packet: noTimeout, Proof: []byte{1}, ProofHeight: 1}},
		{"bad route", &MsgRecvPacket{Packet: badRoute, Proof: []byte{1}, ProofHeight: 1}},
		{"no proof", &MsgRecvPacket{Packet: testPacket(), ProofHeight: 1}},
		{"zero proof height", &MsgTimeout{Packet: testPacket(), Proof: []byte{1}}},
		{"ack with both result and error", &MsgAcknowledge{Packet: testPacket(), Ack: []byte(`{"result":"AQ==","error":"x"}`), Proof: []byte{1}, ProofHeight: 1}},
		{"ack not canonical", &MsgAcknowledge{Packet: testPacket(), Ack: []byte(`{ "error":"x"}`), Proof: []byte{1}, ProofHeight: 1}},
		{"misbehaviour with one header", &MsgSubmitMisbehaviour{ClientID: "c-1", Header1: h}},
		{"batch of no packets", &MsgRecvPackets{Proof: []byte{1}, ProofHeight: 1}},
		{"batch of too many packets", &MsgRecvPackets{Packets: testPackets(MaxBatchPackets + 1), Proof: []byte{1}, ProofHeight: 1}},
		{"batch without proof", &MsgRecvPackets{Packets: testPackets(2), ProofHeight: 1}},
		{"batch without proof height", &MsgRecvPackets{Packets: testPackets(2), Proof: []byte{1}}},
		{"batch with a nil packet", &MsgRecvPackets{Packets: []*Packet{testPacket(), nil}, Proof: []byte{1}, ProofHeight: 1}},
		{"batch with an invalid packet", &MsgRecvPackets{Packets: []*Packet{testPacket(), noTimeout}, Proof: []byte{1}, ProofHeight: 1}},
		{"batch of two routes", &MsgRecvPackets{Packets: []*Packet{testPacket(), otherRoute}, Proof: []byte{1}, ProofHeight: 1}},
		{"batch with a packet twice", &MsgRecvPackets{Packets: []*Packet{testPacket(), testPacket()}, Proof: []byte{1}, ProofHeight: 1}},
		{"batch out of order", &MsgRecvPackets{Packets: []*Packet{testPackets(2)[1], testPackets(2)[0]}, Proof: []byte{1}, ProofHeight: 1}},
		{"ack batch with a nil ack", &MsgAcknowledgePackets{Acks: []*PacketAck{nil}, Proof: []byte{1}, ProofHeight: 1}},
		{"ack batch with an invalid ack", &MsgAcknowledgePackets{Acks: []*PacketAck{{Packet: testPacket(), Ack: []byte(`{ "error":"x"}`)}}, Proof: []byte{1}, ProofHeight: 1}},
		{"ack batch of no acks", &MsgAcknowledgePackets{Proof: []byte{1}, ProofHeight: 1}},
		{"ack batch out of order", &MsgAcknowledgePackets{Acks: []*PacketAck{{Packet: testPackets(2)[1], Ack: (&Ack{Error: "x"}).Bytes()},
			{Packet: testPackets(2)[0], Ack: (&Ack{Error: "x"}).Bytes()}}, Proof: []byte{1}, ProofHeight: 1}},
	}
	for _, c := range cases {
		if err := c.msg.ValidateBasic(); errcode.Of(err) != errcode.InvalidMessage {
			t.Errorf("%s: %v, want invalid_message", c.name, err)
		}
	}
}

// TestAcknowledgeDecodesOnce checks that the handler reuses ValidateBasic's decoding of
// the acknowledgement only while the bytes are the ones decoded.
func TestAcknowledgeDecodesOnce(t *testing.T) {
	m := &MsgAcknowledge{Packet: testPacket(), Ack: (&Ack{Error: "first"}).Bytes(), Proof: []byte{1}, ProofHeight: 1}
	if a, err := m.decodeAck(); err != nil || a.Error != "first" {
		t.Fatalf("before ValidateBasic: %+v, %v", a, err)
	}
	if err := m.ValidateBasic(); err != nil {
		t.Fatal(err)
	}
	a1, _ := m.decodeAck()
	a2, err := m.decodeAck()
	if err != nil || a1 != a2 || a1.Error != "first" {
		t.Fatalf("after ValidateBasic: %+v and %+v (%v), want the one decoding", a1, a2, err)
	}
	copy(m.Ack, (&Ack{Error: "other"}).Bytes()) // same length, changed in place
	if a, err := m.decodeAck(); err != nil || a.Error != "other" {
		t.Fatalf("after a change in place: %+v, %v, want the new bytes decoded", a, err)
	}
	m.Ack = []byte(`{"error":""}`)
	if _, err := m.decodeAck(); err == nil {
		t.Fatal("a replaced, invalid acknowledgement decoded")
	}
}

func TestDecodeRefusesMalformedHeaders(t *testing.T) {
	t.Run("plain", func(t *testing.T) {
		refusesFlips(t, (&MsgUpdateClient{ClientID: "c-1", Header: testHeader(t)}).Marshal())
	})
	t.Run("attested", func(t *testing.T) {
		refusesFlips(t, (&MsgUpdateClient{ClientID: "c-1", Header: testAttestedHeader(t)}).Marshal())
	})
}

func TestParseStateExtension(t *testing.T) {
	root := bytes.Repeat([]byte{7}, 32)
	if got, err := ParseStateExtension(StateExtension(root)); err != nil || !bytes.Equal(got, root) {
		t.Fatalf("round trip: %x %v", got, err)
	}
	for _, b := range [][]byte{nil, root, append(StateExtension(root), 0), append([]byte{2}, root...)} {
		if _, err := ParseStateExtension(b); err == nil {
			t.Fatalf("%x parsed", b)
		}
	}
}

// refusesFlips flips bytes of an encoded MsgUpdateClient: each decodes to an error
// tx_malformed or to a message (a flip in a signature), never a panic.
func refusesFlips(t *testing.T, good []byte) {
	for i := 0; i < len(good); i += 7 {
		b := bytes.Clone(good)
		b[i] ^= 0xff
		if m, err := DecodeUpdateClient(b); err == nil {
			_ = m.ValidateBasic() // may pass when the flip hits a signature byte; must not panic
		} else if errcode.Of(err) != errcode.TxMalformed {
			t.Fatalf("flip at %d: %v, want tx_malformed", i, err)
		}
	}
}

func fuzzDecoder(f *testing.F, seed []byte, decode func([]byte) (txs.Msg, error)) {
	f.Add(seed)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decode(b)
		if err != nil {
			return
		}
		_ = m.ValidateBasic()
		if _, err := decode(m.Marshal()); err != nil {
			t.Fatalf("re-decoding a decoded message: %v", err)
		}
	})
}

func FuzzDecodeUpdateClient(f *testing.F) {
	f.Add((&MsgUpdateClient{ClientID: "c-1", Header: testAttestedHeader(f)}).Marshal())
	fuzzDecoder(f, (&MsgUpdateClient{ClientID: "c-1", Header: testHeader(f)}).Marshal(), DecodeUpdateClient)
}

func FuzzDecodeMisbehaviour(f *testing.F) {
	h := testHeader(f)
	fuzzDecoder(f, (&MsgSubmitMisbehaviour{ClientID: "c-1", Header1: h, Header2: h}).Marshal(), DecodeMisbehaviour)
}

func FuzzDecodeRecvPacket(f *testing.F) {
	fuzzDecoder(f, (&MsgRecvPacket{Packet: testPacket(), Proof: []byte{1}, ProofHeight: 2}).Marshal(), DecodeRecvPacket)
}

func FuzzDecodeAcknowledge(f *testing.F) {
	fuzzDecoder(f, (&MsgAcknowledge{Packet: testPacket(), Ack: (&Ack{Error: "x"}).Bytes(), Proof: []byte{1}, ProofHeight: 2}).Marshal(), DecodeAcknowledge)
}

func FuzzDecodeRecvPackets(f *testing.F) {
	fuzzDecoder(f, (&MsgRecvPackets{Packets: testPackets(2), Proof: []byte{1}, ProofHeight: 2}).Marshal(), DecodeRecvPackets)
}

func FuzzDecodeAcknowledgePackets(f *testing.F) {
	ack := (&Ack{Error: "x"}).Bytes()
	ps := testPackets(2)
	fuzzDecoder(f, (&MsgAcknowledgePackets{Acks: []*PacketAck{{Packet: ps[0], Ack: ack}, {Packet: ps[1], Ack: ack}}, Proof: []byte{1}, ProofHeight: 2}).Marshal(), DecodeAcknowledgePackets)
}

func FuzzDecodeTimeout(f *testing.F) {
	fuzzDecoder(f, (&MsgTimeout{Packet: testPacket(), Proof: []byte{1}, ProofHeight: 2}).Marshal(), DecodeTimeout)
}

// FuzzDecodePacket checks that a decoded packet re-encodes (MarshalPacket) to a packet that decodes the same, with the same commitment.
func FuzzDecodePacket(f *testing.F) {
	var dup txs.Encoder // a field twice
	dup.Uint64Field(1, 1)
	dup.Uint64Field(1, 2)
	for _, b := range [][]byte{
		MarshalPacket(testPacket()), MarshalPacket(&Packet{Sequence: 1, SourceRoute: "a", DestRoute: "b", TimeoutHeight: 9}), {}, dup.Bytes(),
		{0x12, 0x02, 0xff, 0xfe}, {0x22, 0x80, 0x80, 0x80, 0x80, 0x10}, {0x08, 0x00}, {0x3a, 0x00},
	} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := DecodePacket(b)
		if err != nil {
			if p != nil {
				t.Fatal("a packet with an error")
			}
			return
		}
		enc := MarshalPacket(p)
		again, err := DecodePacket(enc)
		if err != nil {
			t.Fatalf("re-decode %+v: %v", p, err)
		}
		if again.Sequence != p.Sequence || again.SourceRoute != p.SourceRoute || again.DestRoute != p.DestRoute ||
			!bytes.Equal(again.Payload, p.Payload) || again.TimeoutHeight != p.TimeoutHeight || again.TimeoutTime != p.TimeoutTime {
			t.Fatalf("round trip %+v -> %+v", p, again)
		}
		if !bytes.Equal(MarshalPacket(again), enc) || !bytes.Equal(Commitment(again), Commitment(p)) || again.ID() != p.ID() {
			t.Fatalf("re-encoding of %+v not stable", p)
		}
		if (ValidatePacket(p) == nil) != (ValidatePacket(again) == nil) {
			t.Fatalf("validity of %+v changed by re-encoding", p)
		}
	})
}

func FuzzDecodeAck(f *testing.F) {
	f.Add((&Ack{Result: []byte("r")}).Bytes())
	f.Add([]byte(`{"error":"e"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := DecodeAck(b)
		if err == nil && !bytes.Equal(a.Bytes(), b) {
			t.Fatal("accepted a non-canonical acknowledgement")
		}
	})
}

func TestParsePacketID(t *testing.T) {
	tests := []struct {
		id    string
		route string
		seq   uint64
		ok    bool
	}{
		{"attest-b/12", "attest-b", 12, true},
		{"a/b/3", "a/b", 3, true},
		{(&Packet{SourceRoute: "r/1", Sequence: 18446744073709551615}).ID(), "r/1", 18446744073709551615, true},
		{"attest-b", "", 0, false},
		{"/4", "", 0, false},
		{"r/x", "", 0, false},
		{"r/", "", 0, false},
		{"r/-1", "", 0, false},
		{"r/18446744073709551616", "", 0, false},
		{"", "", 0, false},
	}
	for _, tt := range tests {
		r, s, err := ParsePacketID(tt.id)
		if r != tt.route || s != tt.seq || (err == nil) != tt.ok {
			t.Errorf("%q: %q %d %v, want %q %d ok=%v", tt.id, r, s, err, tt.route, tt.seq, tt.ok)
		}
	}
}

func FuzzParsePacketID(f *testing.F) {
	for _, s := range []string{"attest-b/12", "a/b/3", "r/", "/4", "r/18446744073709551615", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		route, seq, err := ParsePacketID(id)
		if err != nil {
			return
		}
		if route == "" {
			t.Fatalf("%q parsed to an empty route", id)
		}
		r2, s2, err := ParsePacketID((&Packet{SourceRoute: route, Sequence: seq}).ID())
		if err != nil || r2 != route || s2 != seq {
			t.Fatalf("%q: (%q, %d) does not round-trip: (%q, %d, %v)", id, route, seq, r2, s2, err)
		}
	})
}
