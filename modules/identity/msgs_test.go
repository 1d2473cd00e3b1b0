package identity

import (
	"bytes"
	"crypto/sha256"
	"testing"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
)

func TestRegisterAccountCodec(t *testing.T) {
	key, _ := crypto.GenPrivKey(crypto.SM2)
	ih := sha256.Sum256([]byte("record"))
	m := &MsgRegisterAccount{PubKey: key.PubKey().Bytes(), Algo: crypto.SM2, Roles: []string{RoleMember, RoleAdmin}, IdentityHash: ih[:]}
	got, err := DecodeRegisterAccount(m.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	r := got.(*MsgRegisterAccount)
	if !bytes.Equal(r.PubKey, m.PubKey) || r.Algo != m.Algo || len(r.Roles) != 2 || r.Roles[1] != RoleAdmin || !bytes.Equal(r.IdentityHash, ih[:]) {
		t.Fatalf("%+v", r)
	}
	if err := r.ValidateBasic(); err != nil {
		t.Fatal(err)
	}
	bad := []*MsgRegisterAccount{
		{PubKey: []byte{1, 2}, Algo: crypto.SM2, Roles: []string{RoleMember}, IdentityHash: ih[:]},
		{PubKey: m.PubKey, Algo: crypto.Ed25519, Roles: []string{RoleMember}, IdentityHash: ih[:]},
		{PubKey: m.PubKey, Algo: crypto.SM2, Roles: nil, IdentityHash: ih[:]},
		{PubKey: m.PubKey, Algo: crypto.SM2, Roles: []string{"root"}, IdentityHash: ih[:]},
		{PubKey: m.PubKey, Algo: crypto.SM2, Roles: []string{RoleMember, RoleMember}, IdentityHash: ih[:]},
		{PubKey: m.PubKey, Algo: crypto.SM2, Roles: []string{RoleMember}, IdentityHash: ih[:5]},
	}
	for i, b := range bad {
		if err := b.ValidateBasic(); errcode.Of(err) != errcode.InvalidMessage {
			t.Errorf("case %d: %v", i, err)
		}
	}
	if _, err := DecodeRegisterAccount([]byte{0xff}); errcode.Of(err) != errcode.TxMalformed {
		t.Errorf("garbage: %v", err)
	}
}

func FuzzDecodeRegisterAccount(f *testing.F) {
	key, _ := crypto.GenPrivKey(crypto.Ed25519)
	f.Add((&MsgRegisterAccount{PubKey: key.PubKey().Bytes(), Algo: crypto.Ed25519, Roles: []string{"member"}, IdentityHash: make([]byte, 32)}).Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeRegisterAccount(b)
		if err != nil {
			return
		}
		m.ValidateBasic()
		if _, err := DecodeRegisterAccount(m.Marshal()); err != nil {
			t.Fatalf("re-encode: %v", err)
		}
	})
}
