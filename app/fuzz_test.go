package app

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"slices"
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
		&xchain.MsgTimeout{Packet: p, Proof: []byte{1}, ProofHeight: 5})
	for i, m := range seeds {
		f.Add(m.TypeURL(), m.Marshal(), uint8(i%3))
	}
	f.Fuzz(func(t *testing.T, url string, payload []byte, signer uint8) {
		n := newTestNet(t, 2)
		urls := slices.Sorted(func(yield func(string) bool) {
			for u := range n.app.routes {
				if !yield(u) {
					return
				}
			}
		})
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
