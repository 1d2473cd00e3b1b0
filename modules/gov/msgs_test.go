package gov

import (
	"testing"

	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/txs"
)

func TestMsgCodecs(t *testing.T) {
	cases := []struct {
		msg    txs.Msg
		decode func([]byte) (txs.Msg, error)
		code   errcode.Code // of ValidateBasic
	}{
		{&MsgSubmitProposal{Kind: KindSuspendOrg, Content: []byte(`{"id":"org2"}`), Title: "Suspend org2"}, DecodeSubmitProposal, errcode.OK},
		{&MsgSubmitProposal{Kind: "nope", Content: []byte(`{}`), Title: "t"}, DecodeSubmitProposal, errcode.InvalidMessage},
		{&MsgSubmitProposal{Kind: KindRemoveValidator, Content: []byte(`{"pub_key":"` + hex32 + `","power":3}`), Title: "t"}, DecodeSubmitProposal, errcode.InvalidMessage},
		{&MsgSubmitProposal{Kind: KindRemoveValidator, Content: []byte(`{"pub_key":"` + hex32 + `"}`), Title: "t"}, DecodeSubmitProposal, errcode.OK},
		{&MsgSubmitProposal{Kind: KindSetParams, Content: []byte(`{"abci":{"vote_extensions_enable_height":250000}}`), Title: "t"}, DecodeSubmitProposal, errcode.OK},
		{&MsgSubmitProposal{Kind: KindSetParams, Content: []byte(`{"abci":{"vote_extensions_enable_height":0}}`), Title: "t"}, DecodeSubmitProposal, errcode.InvalidMessage},
		{&MsgSubmitProposal{Kind: KindSetParams, Content: []byte(`{"abci":{"vote_extensions_enable_height":-5}}`), Title: "t"}, DecodeSubmitProposal, errcode.InvalidMessage},
		{&MsgSubmitProposal{Kind: KindSetParams, Content: []byte(`{"abci":{"vote_extensions_enable_height":9,"disable":true}}`), Title: "t"}, DecodeSubmitProposal, errcode.InvalidMessage},
		{&MsgSubmitProposal{Kind: KindSetParams, Content: []byte(`{}`), Title: "t"}, DecodeSubmitProposal, errcode.InvalidMessage},
		{&MsgVote{ProposalID: 3, Option: VoteAbstain}, DecodeVote, errcode.OK},
		{&MsgVote{ProposalID: 0, Option: VoteYes}, DecodeVote, errcode.InvalidMessage},
	}
	for i, c := range cases {
		got, err := c.decode(c.msg.Marshal())
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if string(got.Marshal()) != string(c.msg.Marshal()) {
			t.Fatalf("case %d: round trip", i)
		}
		if code := errcode.Of(got.ValidateBasic()); code != c.code {
			t.Fatalf("case %d: validate %s, want %s", i, code, c.code)
		}
	}
	if _, err := DecodeVote([]byte{0x12, 0x40}); errcode.Of(err) != errcode.TxMalformed {
		t.Fatalf("truncated vote: %v", err)
	}
}

const hex32 = "0101010101010101010101010101010101010101010101010101010101010101"

func TestRequired(t *testing.T) {
	p := DefaultParams()
	for active, want := range map[uint64]uint64{0: 1, 1: 1, 2: 2, 3: 2, 4: 3, 5: 4, 6: 4, 7: 5, 100: 67} {
		if got := p.Required(active); got != want {
			t.Errorf("required of %d: %d, want %d", active, got, want)
		}
	}
}

func FuzzDecodeGovMsgs(f *testing.F) {
	f.Add((&MsgSubmitProposal{Kind: KindAddOrg, Content: []byte(`{"id":"x"}`), Title: "t"}).Marshal())
	f.Add((&MsgVote{ProposalID: 1, Option: VoteYes}).Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, dec := range []func([]byte) (txs.Msg, error){DecodeSubmitProposal, DecodeVote} {
			m, err := dec(b)
			if err != nil {
				continue
			}
			m.ValidateBasic()
			if _, err := dec(m.Marshal()); err != nil {
				t.Fatalf("re-encode: %v", err)
			}
		}
	})
}

func FuzzDecodeContent(f *testing.F) {
	f.Add(KindAddOrg, []byte(`{"id":"org5","name":"Five","admin":{"algo":"ed25519","pub_key":"`+hex32+`","identity_hash":"`+hex32+`"}}`))
	f.Add(KindSetParams, []byte(`{"gov":{"threshold":{"num":2,"den":3},"voting_period":60}}`))
	f.Add(KindSetParams, []byte(`{"block":{"max_bytes":4194304,"max_gas":-1},"abci":{"vote_extensions_enable_height":250000}}`))
	f.Fuzz(func(t *testing.T, kind string, content []byte) {
		_, _ = DecodeContent(kind, content) // must not panic
	})
}
