package identity

import (
	"fmt"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/txs"
)

// Type URLs of the role and freeze messages.
const (
	TypeGrantRole       = "/lian.identity.v1.MsgGrantRole"
	TypeRevokeRole      = "/lian.identity.v1.MsgRevokeRole"
	TypeFreezeAccount   = "/lian.identity.v1.MsgFreezeAccount"
	TypeUnfreezeAccount = "/lian.identity.v1.MsgUnfreezeAccount"
)

// MaxReasonLen bounds the reason of a freeze or unfreeze, in bytes.
const MaxReasonLen = 512

// MsgGrantRole gives an account of the sender's organisation an organisation role
// (proto lian.identity.v1.MsgGrantRole; MsgRevokeRole has the same fields):
//
//	message MsgGrantRole {
//	  bytes  address = 1; // 20 bytes
//	  string role    = 2; // admin, member or relayer
//	}
type MsgGrantRole struct {
	Address crypto.Address
	Role    string
}

// MsgRevokeRole takes an organisation role from an account of the sender's
// organisation. An admin cannot revoke its own admin role, so an organisation always
// keeps an admin.
type MsgRevokeRole MsgGrantRole

// TypeURL implements txs.Msg.
func (*MsgGrantRole) TypeURL() string { return TypeGrantRole }

// TypeURL implements txs.Msg.
func (*MsgRevokeRole) TypeURL() string { return TypeRevokeRole }

// Marshal implements txs.Msg.
func (m *MsgGrantRole) Marshal() []byte { return marshalRole(m.Address, m.Role) }

// Marshal implements txs.Msg.
func (m *MsgRevokeRole) Marshal() []byte { return marshalRole(m.Address, m.Role) }

// ValidateBasic implements txs.Msg.
func (m *MsgGrantRole) ValidateBasic() error { return validateRoleMsg("grant role", m.Role) }

// ValidateBasic implements txs.Msg.
func (m *MsgRevokeRole) ValidateBasic() error { return validateRoleMsg("revoke role", m.Role) }

func marshalRole(addr crypto.Address, role string) []byte {
	var e txs.Encoder
	e.BytesField(1, addr[:])
	e.StringField(2, role)
	return e.Bytes()
}

func validateRoleMsg(what, role string) error {
	if !IsOrgRole(role) {
		if IsNetworkRole(role) {
			return errcode.New(errcode.InvalidMessage, "%s: %q is a network role: only governance grants or revokes it", what, role)
		}
		return errcode.New(errcode.InvalidMessage, "%s: role %q: expected one of %v", what, role, OrgRoles)
	}
	return nil
}

var roleSpec = map[protowire.Number]txs.FieldSpec{
	1: txs.Bytes("address", crypto.AddressLen),
	2: txs.Bytes("role", 32),
}

// decodeAddressText decodes the shape every message of this file has: an address
// (field 1, required) and a string (field 2) named by spec.
func decodeAddressText(typeURL string, spec map[protowire.Number]txs.FieldSpec, b []byte) (crypto.Address, string, error) {
	var addr crypto.Address
	var text string
	fields, err := txs.ParseFields(b, spec)
	if err != nil {
		return addr, "", errcode.New(errcode.TxMalformed, "decode %s: %v", typeURL, err)
	}
	for _, f := range fields {
		switch f.Num {
		case 1:
			if addr, err = crypto.AddressFromBytes(f.Bytes); err != nil {
				return addr, "", errcode.New(errcode.TxMalformed, "decode %s: address: %v", typeURL, err)
			}
		case 2:
			if text, err = f.Str(spec[2].Name); err != nil {
				return addr, "", errcode.New(errcode.TxMalformed, "decode %s: %v", typeURL, err)
			}
		}
	}
	if addr.IsZero() {
		return addr, "", errcode.New(errcode.TxMalformed, "decode %s: no address", typeURL)
	}
	return addr, text, nil
}

// DecodeGrantRole decodes a MsgGrantRole.
func DecodeGrantRole(b []byte) (txs.Msg, error) {
	addr, role, err := decodeAddressText(TypeGrantRole, roleSpec, b)
	if err != nil {
		return nil, err
	}
	return &MsgGrantRole{Address: addr, Role: role}, nil
}

// DecodeRevokeRole decodes a MsgRevokeRole.
func DecodeRevokeRole(b []byte) (txs.Msg, error) {
	addr, role, err := decodeAddressText(TypeRevokeRole, roleSpec, b)
	if err != nil {
		return nil, err
	}
	return &MsgRevokeRole{Address: addr, Role: role}, nil
}

// MsgFreezeAccount freezes an account; only a regulator may send it
// (proto lian.identity.v1.MsgFreezeAccount; MsgUnfreezeAccount has the same fields):
//
//	message MsgFreezeAccount {
//	  bytes  address = 1; // 20 bytes
//	  string reason  = 2; // required, at most 512 bytes
//	}
type MsgFreezeAccount struct {
	Address crypto.Address
	Reason  string
}

// MsgUnfreezeAccount makes a frozen account active again.
type MsgUnfreezeAccount MsgFreezeAccount

// TypeURL implements txs.Msg.
func (*MsgFreezeAccount) TypeURL() string { return TypeFreezeAccount }

// TypeURL implements txs.Msg.
func (*MsgUnfreezeAccount) TypeURL() string { return TypeUnfreezeAccount }

// Marshal implements txs.Msg.
func (m *MsgFreezeAccount) Marshal() []byte { return marshalFreeze(m.Address, m.Reason) }

// Marshal implements txs.Msg.
func (m *MsgUnfreezeAccount) Marshal() []byte { return marshalFreeze(m.Address, m.Reason) }

// ValidateBasic implements txs.Msg.
func (m *MsgFreezeAccount) ValidateBasic() error { return validateReason("freeze", m.Reason) }

// ValidateBasic implements txs.Msg.
func (m *MsgUnfreezeAccount) ValidateBasic() error { return validateReason("unfreeze", m.Reason) }

func marshalFreeze(addr crypto.Address, reason string) []byte {
	var e txs.Encoder
	e.BytesField(1, addr[:])
	e.StringField(2, reason)
	return e.Bytes()
}

func validateReason(what, reason string) error {
	if reason == "" {
		return errcode.New(errcode.InvalidMessage, "%s: a reason is required (it is kept on chain)", what)
	}
	if len(reason) > MaxReasonLen || !utf8.ValidString(reason) {
		return errcode.New(errcode.InvalidMessage, "%s: reason must be UTF-8 of at most %d bytes", what, MaxReasonLen)
	}
	return nil
}

var freezeSpec = map[protowire.Number]txs.FieldSpec{
	1: txs.Bytes("address", crypto.AddressLen),
	2: txs.Bytes("reason", MaxReasonLen),
}

// DecodeFreezeAccount decodes a MsgFreezeAccount.
func DecodeFreezeAccount(b []byte) (txs.Msg, error) {
	addr, reason, err := decodeAddressText(TypeFreezeAccount, freezeSpec, b)
	if err != nil {
		return nil, err
	}
	return &MsgFreezeAccount{Address: addr, Reason: reason}, nil
}

// DecodeUnfreezeAccount decodes a MsgUnfreezeAccount.
func DecodeUnfreezeAccount(b []byte) (txs.Msg, error) {
	addr, reason, err := decodeAddressText(TypeUnfreezeAccount, freezeSpec, b)
	if err != nil {
		return nil, err
	}
	return &MsgUnfreezeAccount{Address: addr, Reason: reason}, nil
}

func (m *MsgGrantRole) String() string       { return fmt.Sprintf("GrantRole{%s %s}", m.Address, m.Role) }
func (m *MsgRevokeRole) String() string      { return fmt.Sprintf("RevokeRole{%s %s}", m.Address, m.Role) }
func (m *MsgFreezeAccount) String() string   { return fmt.Sprintf("FreezeAccount{%s}", m.Address) }
func (m *MsgUnfreezeAccount) String() string { return fmt.Sprintf("UnfreezeAccount{%s}", m.Address) }
