package identity

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/txs"
)

// TypeRegisterAccount is the type URL of MsgRegisterAccount.
const TypeRegisterAccount = "/lian.identity.v1.MsgRegisterAccount"

// IdentityHashLen is the length of an identity hash (SHA-256 or SM3).
const IdentityHashLen = 32

// MsgRegisterAccount registers an account in the sender's organisation
// (proto lian.identity.v1.MsgRegisterAccount):
//
//	message MsgRegisterAccount {
//	  bytes  pub_key       = 1; // canonical public key of algo
//	  string algo          = 2;
//	  repeated string roles = 3;
//	  bytes  identity_hash = 4; // 32-byte hash of the off-chain real-name record
//	}
type MsgRegisterAccount struct {
	PubKey       []byte
	Algo         crypto.Algo
	Roles        []string
	IdentityHash []byte
}

// TypeURL implements txs.Msg.
func (*MsgRegisterAccount) TypeURL() string { return TypeRegisterAccount }

// Marshal implements txs.Msg.
func (m *MsgRegisterAccount) Marshal() []byte {
	var e txs.Encoder
	e.BytesField(1, m.PubKey)
	e.StringField(2, string(m.Algo))
	e.RepeatedString(3, m.Roles)
	e.BytesField(4, m.IdentityHash)
	return e.Bytes()
}

// ValidateBasic implements txs.Msg.
func (m *MsgRegisterAccount) ValidateBasic() error {
	if _, err := crypto.PubKeyFromBytes(m.Algo, m.PubKey); err != nil {
		return errcode.New(errcode.InvalidMessage, "register account: pub_key: %v", err)
	}
	if err := ValidateRoles(m.Roles); err != nil {
		return errcode.New(errcode.InvalidMessage, "register account: %v", err)
	}
	if len(m.IdentityHash) != IdentityHashLen {
		return errcode.New(errcode.InvalidMessage, "register account: identity_hash is %d bytes, expected %d (SHA-256 or SM3 of the real-name record)", len(m.IdentityHash), IdentityHashLen)
	}
	return nil
}

var registerSpec = map[protowire.Number]txs.FieldSpec{
	1: txs.Bytes("pub_key", txs.MaxPubKeyBytes),
	2: txs.Bytes("algo", 16),
	3: txs.RepeatedBytes("roles", 32),
	4: txs.Bytes("identity_hash", 64),
}

// DecodeRegisterAccount decodes a MsgRegisterAccount.
func DecodeRegisterAccount(b []byte) (txs.Msg, error) {
	fields, err := txs.ParseFields(b, registerSpec)
	if err != nil {
		return nil, errcode.New(errcode.TxMalformed, "decode %s: %v", TypeRegisterAccount, err)
	}
	m := &MsgRegisterAccount{}
	for _, f := range fields {
		switch f.Num {
		case 1:
			m.PubKey = f.Bytes
		case 2:
			s, err := f.Str("algo")
			if err != nil {
				return nil, errcode.New(errcode.TxMalformed, "decode %s: %v", TypeRegisterAccount, err)
			}
			m.Algo = crypto.Algo(s)
		case 3:
			if len(m.Roles) == MaxRoles {
				return nil, errcode.New(errcode.TxMalformed, "decode %s: more than %d roles", TypeRegisterAccount, MaxRoles)
			}
			s, err := f.Str("roles")
			if err != nil {
				return nil, errcode.New(errcode.TxMalformed, "decode %s: %v", TypeRegisterAccount, err)
			}
			m.Roles = append(m.Roles, s)
		case 4:
			m.IdentityHash = f.Bytes
		}
	}
	return m, nil
}

func (m *MsgRegisterAccount) String() string {
	return fmt.Sprintf("RegisterAccount{%s %x roles=%v}", m.Algo, m.PubKey, m.Roles)
}
