package identity

import (
	"testing"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/txs"
)

func TestAdminMsgCodecs(t *testing.T) {
	addr := crypto.Address{1, 2, 3}
	cases := []struct {
		msg    txs.Msg
		decode func([]byte) (txs.Msg, error)
		valid  bool
	}{
		{&MsgGrantRole{Address: addr, Role: RoleRelayer}, DecodeGrantRole, true},
		{&MsgGrantRole{Address: addr, Role: RoleOperator}, DecodeGrantRole, false}, // network role
		{&MsgGrantRole{Address: addr, Role: "king"}, DecodeGrantRole, false},
		{&MsgRevokeRole{Address: addr, Role: RoleMember}, DecodeRevokeRole, true},
		{&MsgFreezeAccount{Address: addr, Reason: "court order"}, DecodeFreezeAccount, true},
		{&MsgFreezeAccount{Address: addr}, DecodeFreezeAccount, false}, // no reason
		{&MsgUnfreezeAccount{Address: addr, Reason: "lifted"}, DecodeUnfreezeAccount, true},
	}
	for i, c := range cases {
		got, err := c.decode(c.msg.Marshal())
		if err != nil {
			t.Fatalf("case %d: decode: %v", i, err)
		}
		if string(got.Marshal()) != string(c.msg.Marshal()) || got.TypeURL() != c.msg.TypeURL() {
			t.Fatalf("case %d: round trip %v", i, got)
		}
		if err := got.ValidateBasic(); (err == nil) != c.valid || (err != nil && errcode.Of(err) != errcode.InvalidMessage) {
			t.Fatalf("case %d: validate: %v", i, err)
		}
	}
	for _, dec := range []func([]byte) (txs.Msg, error){DecodeGrantRole, DecodeRevokeRole, DecodeFreezeAccount, DecodeUnfreezeAccount} {
		for _, b := range [][]byte{{0xff}, {}, (&MsgGrantRole{Role: RoleMember}).Marshal(), {0x0a, 0x02, 1, 2}} {
			if _, err := dec(b); errcode.Of(err) != errcode.TxMalformed {
				t.Fatalf("%x: %v", b, err)
			}
		}
	}
}

func FuzzDecodeAdminMsgs(f *testing.F) {
	f.Add((&MsgGrantRole{Address: crypto.Address{1}, Role: RoleMember}).Marshal())
	f.Add((&MsgFreezeAccount{Address: crypto.Address{1}, Reason: "r"}).Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, dec := range []func([]byte) (txs.Msg, error){DecodeGrantRole, DecodeRevokeRole, DecodeFreezeAccount, DecodeUnfreezeAccount} {
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
