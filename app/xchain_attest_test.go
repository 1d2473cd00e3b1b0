package app

import (
	"encoding/hex"
	"testing"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules/xchain"
	"github.com/lianchain/lian/modules/xchain/xchaintest"
)

// attestedUpdate is the update of s's client of the peer to the peer's header h with
// the commit's vote extensions e (Ext defaults to the state after block h).
func (s *xside) attestedUpdate(h int64, sh *cmttypes.SignedHeader, e xchaintest.Extension) *xchain.MsgUpdateClient {
	s.t.Helper()
	if sh == nil {
		sh = s.peer.header(h)
	}
	if e.Ext == nil {
		e.Ext = xchain.StateExtension(s.peer.hashes[h])
	}
	trusted := s.client().LatestHeight
	if trusted >= h {
		trusted = s.consensusBelow(h)
	}
	var tv *cmttypes.ValidatorSet
	if h != trusted+1 {
		tv = s.peer.vals.Set
	}
	hd, err := xchain.NewHeader(sh, s.peer.vals.Set, trusted, tv)
	if err != nil {
		s.t.Fatal(err)
	}
	if err := hd.SetExtendedCommit(s.peer.vals.Extend(sh, e)); err != nil {
		s.t.Fatal(err)
	}
	return &xchain.MsgUpdateClient{ClientID: s.peer.chainID, Header: hd}
}

// selfTrusted is the update of s's client of the peer with the peer's header h (sh if
// not nil) and its extended commit, naming h itself as trusted, as a relayer does that
// knows only the client's latest height.
func (s *xside) selfTrusted(h int64, sh *cmttypes.SignedHeader) *xchain.MsgUpdateClient {
	s.t.Helper()
	if sh == nil {
		sh = s.peer.header(h)
	}
	hd, err := xchain.NewHeader(sh, s.peer.vals.Set, h, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	if err := hd.SetExtendedCommit(s.peer.vals.Extend(sh, xchaintest.Extension{Ext: xchain.StateExtension(s.peer.hashes[h])})); err != nil {
		s.t.Fatal(err)
	}
	return &xchain.MsgUpdateClient{ClientID: s.peer.chainID, Header: hd}
}

// TestXchainStateAttestation: a header whose commit carries the validators' state
// extensions lets a packet sent in that very block be proven (at proof height h+1)
// before header h+1 exists; the header h+1 that arrives later agrees with it.
func TestXchainStateAttestation(t *testing.T) {
	a, b := newXPair(t)
	p := a.attestFrom("doc", 0)
	h := a.height // the block that sent p
	b.mustExec(b.relayer, b.attestedUpdate(h, nil, xchaintest.Extension{}))
	v := b.client()
	if v.LatestHeight != h || v.ProvenHeight != h+1 {
		t.Fatalf("client latest %d proven %d, want %d and %d", v.LatestHeight, v.ProvenHeight, h, h+1)
	}
	m, _ := b.recvMsg2(p, h+1)
	res := b.mustExec(b.relayer, m)
	if countEvents(res.Events, xchain.EventRecvPacket) != 1 {
		t.Fatalf("not received: %v", res.Events)
	}
	// The acknowledgement goes back the same way.
	hb := b.height
	a.mustExec(a.relayer, a.attestedUpdate(hb, nil, xchaintest.Extension{}))
	ack, err := hex.DecodeString(eventAttr(res.Events, xchain.EventRecvPacket, "ack"))
	if err != nil {
		t.Fatal(err)
	}
	pr := b.prove(xchain.AckPath(p.DestRoute, p.Sequence), hb+1)
	a.mustExec(a.relayer, &xchain.MsgAcknowledge{Packet: p, Ack: ack, Proof: pr.Proof, ProofHeight: hb + 1})
	if att := a.attestation("doc"); att.ChainID != "chain-b" || att.ProofHeight != hb+1 {
		t.Fatalf("attestation %+v", att)
	}
	// The same attested header again is redundant; header h+1, which commits the
	// attested state, is an ordinary update and freezes nothing.
	b.refused(errcode.AlreadyExists, b.relayer, b.attestedUpdate(h, nil, xchaintest.Extension{}))
	b.mustExec(b.relayer, b.updateMsg(h+1))
	if v := b.client(); v.Status != xchain.StatusActive || v.LatestHeight != h+1 || v.ProvenHeight != h+1 {
		t.Fatalf("client %+v", v)
	}
	// A header the client has gains the attestation of its state.
	a.block()
	a.block()
	h2 := a.height
	b.mustExec(b.relayer, b.updateMsg(h2))
	b.mustExec(b.relayer, b.attestedUpdate(h2, nil, xchaintest.Extension{}))
	if v := b.client(); v.ProvenHeight != h2+1 {
		t.Fatalf("proven height %d, want %d", v.ProvenHeight, h2+1)
	}
	// ... also when it names itself as trusted, as a relayer does that knows only the
	// client's latest height.
	a.block()
	h3 := a.height
	b.mustExec(b.relayer, b.updateMsg(h3))
	b.mustExec(b.relayer, b.selfTrusted(h3, nil))
	if v := b.client(); v.ProvenHeight != h3+1 {
		t.Fatalf("proven height %d, want %d", v.ProvenHeight, h3+1)
	}
}

// TestXchainStateAttestationSelfTrusted: a header that names itself as trusted is
// accepted only as the very header the client has.
func TestXchainStateAttestationSelfTrusted(t *testing.T) {
	a, b := newXPair(t)
	a.attestFrom("doc", 0)
	h := a.height
	self := func(sh *cmttypes.SignedHeader) *xchain.MsgUpdateClient { return b.selfTrusted(h, sh) }
	// A header the client does not have.
	b.failsInBlock(errcode.NotFound, b.relayer, self(nil))
	b.mustExec(b.relayer, b.updateMsg(h))
	before := b.stateOf(xchain.Name)
	// Another block at that height, whose validators attest a state: not trusted, and
	// not verified either (a header cannot be its own trusted header).
	fork := a.vals.Sign(xchaintest.Header{ChainID: "chain-a", Height: h, Time: a.header(h).Time, AppHash: a.hashes[h-1], DataHash: digestOf("fork")})
	b.failsInBlock(errcode.InvalidHeader, b.relayer, self(fork))
	if b.stateOf(xchain.Name) != before || b.client().Status != xchain.StatusActive {
		t.Fatal("a refused attestation changed state")
	}
	// Without an extended commit a header cannot name itself.
	plain, err := xchain.NewHeader(a.header(h), a.vals.Set, h, nil)
	if err != nil {
		t.Fatal(err)
	}
	b.failsInBlock(errcode.InvalidMessage, b.relayer, &xchain.MsgUpdateClient{ClientID: "chain-a", Header: plain})
}

// TestXchainStateAttestationRefusals: attestations that do not carry more than 2/3 of
// the block's validators' power on one state, with valid signatures for this chain,
// height, round and block, are refused and change nothing.
func TestXchainStateAttestationRefusals(t *testing.T) {
	a, b := newXPair(t)
	a.attestFrom("doc", 0)
	h := a.height
	round1 := int32(1)
	lie := xchain.StateExtension(digestOf("lie"))
	fork := a.vals.Sign(xchaintest.Header{ChainID: "chain-a", Height: h, Time: a.header(h).Time, AppHash: a.hashes[h-1], DataHash: digestOf("fork")})
	otherHeight := func() *xchain.MsgUpdateClient {
		m := b.attestedUpdate(h, nil, xchaintest.Extension{})
		if err := m.Header.SetExtendedCommit(a.vals.Extend(a.header(h-1), xchaintest.Extension{Ext: xchain.StateExtension(a.hashes[h-1])})); err != nil {
			t.Fatal(err)
		}
		return m
	}
	forkCommit := func() *xchain.MsgUpdateClient {
		m := b.attestedUpdate(h, nil, xchaintest.Extension{})
		if err := m.Header.SetExtendedCommit(a.vals.Extend(fork, xchaintest.Extension{Ext: xchain.StateExtension(a.hashes[h])})); err != nil {
			t.Fatal(err)
		}
		return m
	}
	cases := []struct {
		name string
		msg  *xchain.MsgUpdateClient
		code errcode.Code
	}{
		{"half the power", b.attestedUpdate(h, nil, xchaintest.Extension{Override: map[int][]byte{2: {}, 3: {}}}), errcode.InvalidHeader},
		{"split between two states", b.attestedUpdate(h, nil, xchaintest.Extension{Override: map[int][]byte{2: lie, 3: lie}}), errcode.InvalidHeader},
		{"a forged extension signature", b.attestedUpdate(h, nil, xchaintest.Extension{Forge: []int{1}}), errcode.InvalidHeader},
		{"signed for another chain", b.attestedUpdate(h, nil, xchaintest.Extension{ChainID: "chain-z"}), errcode.InvalidHeader},
		{"signed for another round", b.attestedUpdate(h, nil, xchaintest.Extension{Round: &round1}), errcode.InvalidHeader},
		{"malformed extension", b.attestedUpdate(h, nil, xchaintest.Extension{Ext: a.hashes[h]}), errcode.InvalidHeader},
		{"extended commit of another block", forkCommit(), errcode.InvalidHeader},
		{"extended commit of another height", otherHeight(), errcode.InvalidMessage},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { b.refusedWithoutTrace(t, c.code, b.relayer, c.msg) })
	}
	// Nothing was attested: a proof at h+1 has no root.
	if v := b.client(); v.ProvenHeight > h {
		t.Fatalf("proven height %d after refusals", v.ProvenHeight)
	}
}

// TestXchainStateAttestationConflicts: validators that attest a state the next header
// contradicts, or two different states for one block, freeze the client, whichever
// arrives first.
func TestXchainStateAttestationConflicts(t *testing.T) {
	lie := xchain.StateExtension(digestOf("lie"))
	cases := []struct {
		name string
		// before are the updates that land; last is the one that freezes the client.
		before func(b *xside, h int64) []*xchain.MsgUpdateClient
		last   func(b *xside, h int64) *xchain.MsgUpdateClient
	}{
		{"lie then header",
			func(b *xside, h int64) []*xchain.MsgUpdateClient {
				return []*xchain.MsgUpdateClient{b.attestedUpdate(h, nil, xchaintest.Extension{Ext: lie})}
			},
			func(b *xside, h int64) *xchain.MsgUpdateClient { return b.updateMsg(h + 1) }},
		{"header then lie",
			func(b *xside, h int64) []*xchain.MsgUpdateClient {
				return []*xchain.MsgUpdateClient{b.updateMsg(h)}
			},
			func(b *xside, h int64) *xchain.MsgUpdateClient {
				b.mustExec(b.relayer, b.updateMsg(h+1))
				return b.attestedUpdate(h, nil, xchaintest.Extension{Ext: lie})
			}},
		{"two states for one block",
			func(b *xside, h int64) []*xchain.MsgUpdateClient {
				return []*xchain.MsgUpdateClient{b.attestedUpdate(h, nil, xchaintest.Extension{Ext: lie})}
			},
			func(b *xside, h int64) *xchain.MsgUpdateClient {
				return b.attestedUpdate(h, nil, xchaintest.Extension{})
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, b := newXPair(t)
			a.attestFrom("doc", 0)
			h := a.height
			for _, m := range c.before(b, h) {
				b.mustExec(b.relayer, m)
			}
			res := b.mustExec(b.relayer, c.last(b, h))
			if countEvents(res.Events, xchain.EventClientFrozen) != 1 || b.client().Status != xchain.StatusFrozen {
				t.Fatalf("not frozen: %+v", b.client())
			}
		})
	}
}
