package app

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules/attest"
	"github.com/lianchain/lian/modules/credits"
	"github.com/lianchain/lian/modules/evidence"
	"github.com/lianchain/lian/modules/gov"
	"github.com/lianchain/lian/modules/identity"
	"github.com/lianchain/lian/modules/message"
	"github.com/lianchain/lian/modules/xchain"
	"github.com/lianchain/lian/modules/xchain/xchaintest"
	"github.com/lianchain/lian/store"
	"github.com/lianchain/lian/txs"
)

// rawMsg is a message of any registered type with arbitrary bytes.
type rawMsg struct {
	url string
	b   []byte
}

func (m rawMsg) TypeURL() string      { return m.url }
func (m rawMsg) Marshal() []byte      { return m.b }
func (m rawMsg) ValidateBasic() error { return nil }

// FuzzMessages drives arbitrary messages of every registered type, from an org admin
// (also the operator), another org's admin or the regulator, through CheckTx and a
// block of a fresh chain, and checks that:
//   - no input makes the pipeline fail with internal (a panic or an unexpected error);
//   - a transaction CheckTx admits also succeeds in the next block (CheckTx judges
//     what the block will do);
//   - every module's invariants hold after the block (the harness checks them).
func FuzzMessages(f *testing.F) {
	digest := sha256.Sum256([]byte("doc"))
	member, _ := crypto.GenPrivKey(crypto.Ed25519)
	ih := sha256.Sum256([]byte("record"))
	org2, _ := json.Marshal(gov.OrgRef{ID: "org2"})
	seeds := []txs.Msg{
		&evidence.MsgAnchor{Digest: digest[:], HashAlgo: evidence.HashSHA256, Label: "doc"},
		&evidence.MsgAnchorBatch{Root: digest[:], HashAlgo: evidence.HashSHA256, Count: 2},
		&identity.MsgRegisterAccount{PubKey: member.PubKey().Bytes(), Algo: crypto.Ed25519, Roles: []string{identity.RoleMember}, IdentityHash: ih[:]},
		&credits.MsgTopUp{Org: "org2", Currency: "CNY", Amount: 100, PaymentRef: "ref-1", PayerName: "P"},
		&gov.MsgSubmitProposal{Kind: gov.KindSuspendOrg, Content: org2, Title: "t"},
		&gov.MsgVote{ProposalID: 1, Option: gov.VoteYes},
		&attest.MsgAttest{Route: "attest-other-1", Digest: digest[:]},
		&message.MsgSend{Route: "message-other-1", Handler: "h", Payload: []byte("x")},
	}
	// Cross-chain messages: a well-formed header and packet of a chain this one has no
	// client of.
	v := xchaintest.NewValidators("other", 4)
	sh := v.Sign(xchaintest.Header{ChainID: "other-1", Height: 5, Time: time.Unix(1e9, 0), AppHash: make([]byte, 32)})
	if hdr, err := xchain.NewHeader(sh, v.Set, 4, nil); err == nil {
		seeds = append(seeds, &xchain.MsgUpdateClient{ClientID: "other-1", Header: hdr})
	}
	p := testPacket()
	seeds = append(seeds, &xchain.MsgRecvPacket{Packet: p, Proof: []byte{1}, ProofHeight: 5},
		&xchain.MsgAcknowledge{Packet: p, Ack: []byte(`{"result":"eA=="}`), Proof: []byte{1}, ProofHeight: 5},
		&xchain.MsgTimeout{Packet: p, Proof: []byte{1}, ProofHeight: 5},
		&xchain.MsgRecvPackets{Packets: []*xchain.Packet{p}, Proof: []byte{1}, ProofHeight: 5},
		&xchain.MsgAcknowledgePackets{Acks: []*xchain.PacketAck{{Packet: p, Ack: []byte(`{"result":"eA=="}`)}}, Proof: []byte{1}, ProofHeight: 5})
	for i, m := range seeds {
		f.Add(m.TypeURL(), m.Marshal(), uint8(i%3))
	}
	f.Fuzz(func(t *testing.T, url string, payload []byte, signer uint8) {
		n := newTestNet(t, 2)
		urls := slices.Sorted(maps.Keys(n.app.routes))
		if !slices.Contains(urls, url) {
			url = urls[int(len(url))%len(urls)] // the fuzzer's strings rarely name a type
		}
		key := []crypto.PrivKey{n.admins[0], n.admins[1], n.regulator}[int(signer)%3]
		tx := n.sign(key, rawMsg{url, payload})
		chk, err := n.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: tx})
		if err != nil {
			t.Fatal(err)
		}
		if errcode.Code(chk.Code) == errcode.Internal {
			t.Fatalf("%s %x: CheckTx: internal: %s", url, payload, chk.Log)
		}
		res := n.block(tx)[0]
		if errcode.Code(res.Code) == errcode.Internal {
			t.Fatalf("%s %x: block: internal: %s", url, payload, res.Log)
		}
		if chk.Code == 0 && res.Code != 0 {
			t.Fatalf("%s %x: CheckTx admitted it, the block failed it: %s", url, payload, res.Log)
		}
	})
}

// richState is chain-a of newXPair with traffic: packets in flight both ways, one
// acknowledged, one past its timeout, an open proposal; and, as seeds, the messages
// that move them on (a receive, an ack, a timeout, a client update, a vote, …).
type richState struct {
	a       *xside
	signers []crypto.PrivKey // admin of org1 (also the operator), admin of org2, regulator, member, relayer
	seeds   []richSeed
}

type richSeed struct {
	msg    txs.Msg
	signer uint8 // index in signers
}

var rich struct {
	sync.Once
	s *richState
}

// richChain builds the state once per fuzzing process (t is the first input's test;
// each input then runs with its own).
func richChain(t *testing.T) *richState {
	rich.Do(func() {
		a, b := newXPair(t)
		org3, _ := json.Marshal(gov.OrgRef{ID: "org3"})
		open := a.propose(1, gov.KindSuspendOrg, gov.OrgRef{ID: "org3"})
		// b → a: a packet a has not received yet, and its relay.
		pin := b.attestFrom("inbound", 600)
		recv, _ := a.recvMsg(pin)
		recvBatch := a.recvBatch(pin)
		// a → b: one acknowledged on a, one received on b whose ack a has not seen.
		done := a.attestFrom("settled", 600)
		a.mustExec(a.relayer, a.ackMsg(done, b.deliver(done)))
		pending := a.attestFrom("pending", 600)
		pendingAck := b.deliver(pending)
		ack := a.ackMsg(pending, pendingAck)
		ackBatch := a.ackBatch([]*xchain.Packet{pending}, [][]byte{pendingAck})
		// a → b: one never received, past its timeout on b, and its proven timeout.
		lost := a.attestFrom("lost", 60)
		b.blockAfter(2 * time.Minute)
		h := a.sync()
		timeout := &xchain.MsgTimeout{Packet: lost, Proof: b.prove(xchain.ReceiptPath(lost.DestRoute, lost.Sequence), h).Proof, ProofHeight: h}
		b.block()
		upd := a.updateMsg(b.height + 1)
		rich.s = &richState{a: a,
			signers: []crypto.PrivKey{a.admins[0], a.admins[1], a.regulator, a.user, a.relayer},
			seeds: []richSeed{{recv, 4}, {ack, 4}, {upd, 4}, {recvBatch, 4}, {ackBatch, 4},
				{timeout, 4},
				{&gov.MsgVote{ProposalID: open, Option: gov.VoteNo}, 1},
				{&gov.MsgSubmitProposal{Kind: gov.KindSuspendOrg, Content: org3, Title: "again"}, 0},
				{&message.MsgSend{Route: "msg-chain-b", Handler: "h", Payload: []byte("x")}, 3},
				{&attest.MsgAttest{Route: "attest-chain-b", Digest: digestOf("x")}, 3},
			}}
	})
	rich.s.a.t = t
	return rich.s
}

// FuzzMessagesRichState is FuzzMessages on a chain with clients, routes, packets in
// flight both ways and an open proposal, from any of its admins, its regulator, a
// member and its relayer. Each input runs as the next block and is rolled back, so
// every input meets the same state. It checks that:
//   - no input makes the pipeline fail with internal;
//   - a transaction CheckTx admits also succeeds in the block;
//   - every module's invariants hold over the block's state.
func FuzzMessagesRichState(f *testing.F) {
	// Inputs named "seed" edit a real message of the state (picked by signer) with
	// payload's edits, so that the fuzzer works from relays, votes and sends that pass.
	for i := range 8 {
		f.Add("seed", []byte{}, uint8(i))
	}
	f.Add("", []byte{}, uint8(0))
	f.Fuzz(func(t *testing.T, url string, payload []byte, signer uint8) {
		rs := richChain(t)
		if url == "seed" {
			sd := rs.seeds[int(signer)%len(rs.seeds)]
			runRich(t, rs, sd.msg.TypeURL(), applyEdits(sd.msg.Marshal(), payload), sd.signer)
			return
		}
		urls := slices.Sorted(maps.Keys(rs.a.app.routes))
		if !slices.Contains(urls, url) {
			url = urls[len(url)%len(urls)]
		}
		runRich(t, rs, url, payload, signer)
	})
}

// applyEdits changes b by edits: each 3 bytes (position high, low, value) set a byte;
// one byte left over cuts b to that fraction of its length, two are appended.
func applyEdits(b, edits []byte) []byte {
	b = slices.Clone(b)
	i := 0
	for ; i+3 <= len(edits) && len(b) > 0; i += 3 {
		b[(int(edits[i])<<8|int(edits[i+1]))%len(b)] = edits[i+2]
	}
	switch rest := edits[i:]; len(rest) {
	case 1:
		b = b[:len(b)*int(rest[0])/256]
	case 2:
		b = append(b, rest...)
	}
	return b
}

func runRich(t *testing.T, rs *richState, url string, payload []byte, signer uint8) {
	t.Helper()
	a := rs.a
	key := rs.signers[int(signer)%len(rs.signers)]
	addr := key.PubKey().Address()
	tx := a.sign(key, rawMsg{url, payload})
	a.nonces[addr]-- // rolled back below
	chk, err := a.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: tx})
	if err != nil {
		t.Fatal(err)
	}
	res, err := a.app.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{Height: a.height + 1, Time: a.now.Add(time.Second), Txs: [][]byte{tx}})
	if err != nil {
		t.Fatal(err)
	}
	ierr := a.app.checkInvariants(a.app.store)
	a.app.store.Rollback()
	a.app.resetCheckState()
	r := res.TxResults[0]
	t.Logf("%s from %s: CheckTx %d, block %d %s", url, addr, chk.Code, r.Code, r.Log)
	switch {
	case errcode.Code(chk.Code) == errcode.Internal:
		t.Fatalf("%s %x from %s: CheckTx: internal: %s", url, payload, addr, chk.Log)
	case errcode.Code(r.Code) == errcode.Internal:
		t.Fatalf("%s %x from %s: block: internal: %s", url, payload, addr, r.Log)
	case chk.Code == 0 && r.Code != 0:
		t.Fatalf("%s %x from %s: CheckTx admitted it, the block failed it: %s", url, payload, addr, r.Log)
	case ierr != nil:
		t.Fatalf("%s %x from %s: after the block: %v", url, payload, addr, ierr)
	}
}

// FuzzQuery sends arbitrary queries — every module's paths, /store and /proofs, any
// data, height and proof flag — to the rich chain: none may fail with internal, and an
// answer with a proof has the proof verify against the app hash of its height.
func FuzzQuery(f *testing.F) {
	for _, q := range []struct{ path, data string }{
		{"/evidence/digest", strings.Repeat("ab", 32)}, {"/identity/account", "12345678901234567890"}, {"/identity/org", "org1"},
		{"/identity/nonce", "12345678901234567890"}, {"/identity/validators", ""}, {"/identity/orgs", ""},
		{"/credits/params", ""}, {"/credits/balance", "org:org1"}, {"/credits/sponsorship", "org1"}, {"/credits/statement", `{"holder":"org:org1"}`},
		{"/gov/params", ""}, {"/gov/proposal", "1"}, {"/gov/proposals", `{}`}, {"/gov/votes", "1"},
		{"/xchain/client", "chain-b"}, {"/xchain/clients", ""}, {"/xchain/consensus", "chain-b/5"}, {"/xchain/route", "attest-chain-b"},
		{"/xchain/routes", ""}, {"/xchain/packet", "attest-chain-b/1"}, {"/xchain/pending", "attest-chain-b/1"},
		{"/attest/attestation", "chain-b/" + strings.Repeat("ab", 32)}, {"/attest/request", "attest-chain-b/1"},
		{"/message/sent", "msg-chain-b/1"}, {"/message/inbox", "h/msg-chain-a/1"}, {QueryStore, "evidence/x"}, {QueryProofs, ""},
	} {
		f.Add(q.path, []byte(q.data), int64(0), true)
	}
	f.Fuzz(func(t *testing.T, path string, data []byte, height int64, prove bool) {
		rs := richChain(t)
		a := rs.a.app
		res, err := a.Query(context.Background(), &abci.RequestQuery{Path: path, Data: data, Height: height, Prove: prove})
		if err != nil {
			t.Fatal(err)
		}
		if errcode.Code(res.Code) == errcode.Internal {
			t.Fatalf("query %q %q at %d: internal: %s", path, data, height, res.Log)
		}
		if res.Code != 0 || res.ProofOps == nil || len(res.ProofOps.Ops) != 1 {
			return
		}
		// The proof is against the app hash of its height, which header height+1 carries.
		root := rs.a.hashes[res.Height]
		if err := store.VerifyMembership(root, res.ProofOps.Ops[0].Data, res.Key, res.Value); err != nil {
			t.Fatalf("query %q %q at %d: proof does not verify: %v", path, data, res.Height, err)
		}
	})
}
