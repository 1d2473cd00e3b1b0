package credits

import (
	"fmt"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules/identity"
	"github.com/lianchain/lian/txs"
)

// Type URLs of the module's messages.
const (
	TypeTopUp          = "/lian.credits.v1.MsgTopUp"
	TypeSetSponsorship = "/lian.credits.v1.MsgSetSponsorship"
)

// MsgTopUp credits an account or an organisation for a fiat payment; only an operator
// may send it (proto lian.credits.v1.MsgTopUp):
//
//	message MsgTopUp {
//	  bytes  account     = 1; // 20 bytes; or
//	  string org         = 2; // an organisation id (exactly one of the two)
//	  string currency    = 3; // ISO 4217
//	  uint64 amount      = 4; // in minor units (fen for CNY)
//	  string payment_ref = 5; // the payment's reference, usable once per chain
//	  string payer_name  = 6;
//	}
type MsgTopUp struct {
	Account    *crypto.Address
	Org        string
	Currency   string
	Amount     uint64
	PaymentRef string
	PayerName  string
}

// TypeURL implements txs.Msg.
func (*MsgTopUp) TypeURL() string { return TypeTopUp }

// Marshal implements txs.Msg.
func (m *MsgTopUp) Marshal() []byte {
	var e txs.Encoder
	if m.Account != nil {
		e.BytesField(1, m.Account[:])
	}
	e.StringField(2, m.Org)
	e.StringField(3, m.Currency)
	e.Uint64Field(4, m.Amount)
	e.StringField(5, m.PaymentRef)
	e.StringField(6, m.PayerName)
	return e.Bytes()
}

// Holder returns whom the top-up credits.
func (m *MsgTopUp) Holder() Holder {
	if m.Account != nil {
		return AccountHolder(*m.Account)
	}
	return OrgHolder(m.Org)
}

// ValidateBasic implements txs.Msg.
func (m *MsgTopUp) ValidateBasic() error {
	if (m.Account == nil) == (m.Org == "") {
		return errcode.New(errcode.InvalidMessage, "top-up: give exactly one of account and org")
	}
	if m.Account != nil && m.Account.IsZero() {
		return errcode.New(errcode.InvalidMessage, "top-up: account is the zero address")
	}
	if m.Org != "" {
		if err := identity.ValidateOrgID(m.Org); err != nil {
			return errcode.New(errcode.InvalidMessage, "top-up: %v", err)
		}
	}
	if !currencyPattern.MatchString(m.Currency) {
		return errcode.New(errcode.InvalidMessage, "top-up: currency %q: expected an ISO 4217 code such as CNY", m.Currency)
	}
	if m.Amount == 0 {
		return errcode.New(errcode.InvalidMessage, "top-up: amount must be positive (minor units, e.g. fen)")
	}
	if m.PaymentRef == "" || len(m.PaymentRef) > maxRefLen || !utf8.ValidString(m.PaymentRef) {
		return errcode.New(errcode.InvalidMessage, "top-up: payment_ref must be 1-%d bytes of UTF-8", maxRefLen)
	}
	if m.PayerName == "" || len(m.PayerName) > maxPayerName || !utf8.ValidString(m.PayerName) {
		return errcode.New(errcode.InvalidMessage, "top-up: payer_name must be 1-%d bytes of UTF-8", maxPayerName)
	}
	return nil
}

var topUpSpec = map[protowire.Number]txs.FieldSpec{
	1: txs.Bytes("account", crypto.AddressLen),
	2: txs.Bytes("org", 32),
	3: txs.Bytes("currency", maxCurrencyLen),
	4: txs.Varint("amount"),
	5: txs.Bytes("payment_ref", maxRefLen),
	6: txs.Bytes("payer_name", maxPayerName),
}

// DecodeTopUp decodes a MsgTopUp.
func DecodeTopUp(b []byte) (txs.Msg, error) {
	fields, err := txs.ParseFields(b, topUpSpec)
	if err != nil {
		return nil, errcode.New(errcode.TxMalformed, "decode %s: %v", TypeTopUp, err)
	}
	m := &MsgTopUp{}
	for _, f := range fields {
		var s string
		if f.Type == protowire.BytesType && f.Num != 1 {
			if s, err = f.Str(topUpSpec[f.Num].Name); err != nil {
				return nil, errcode.New(errcode.TxMalformed, "decode %s: %v", TypeTopUp, err)
			}
		}
		switch f.Num {
		case 1:
			a, err := crypto.AddressFromBytes(f.Bytes)
			if err != nil {
				return nil, errcode.New(errcode.TxMalformed, "decode %s: account: %v", TypeTopUp, err)
			}
			m.Account = &a
		case 2:
			m.Org = s
		case 3:
			m.Currency = s
		case 4:
			m.Amount = f.Varint
		case 5:
			m.PaymentRef = s
		case 6:
			m.PayerName = s
		}
	}
	return m, nil
}

// MsgSetSponsorship makes the sender's organisation pay its members' fees, up to cap
// credits per member per period seconds; cap 0 ends the sponsorship. Only an
// organisation admin may send it (proto lian.credits.v1.MsgSetSponsorship):
//
//	message MsgSetSponsorship {
//	  uint64 cap    = 1;
//	  uint64 period = 2; // seconds of block time, 60 .. 366 days
//	}
type MsgSetSponsorship struct {
	Cap    uint64
	Period uint64
}

// Sponsorship period bounds, in seconds.
const (
	MinPeriod = 60
	MaxPeriod = 366 * 24 * 3600
)

// TypeURL implements txs.Msg.
func (*MsgSetSponsorship) TypeURL() string { return TypeSetSponsorship }

// Marshal implements txs.Msg.
func (m *MsgSetSponsorship) Marshal() []byte {
	var e txs.Encoder
	e.Uint64Field(1, m.Cap)
	e.Uint64Field(2, m.Period)
	return e.Bytes()
}

// ValidateBasic implements txs.Msg.
func (m *MsgSetSponsorship) ValidateBasic() error {
	if m.Cap == 0 {
		if m.Period != 0 {
			return errcode.New(errcode.InvalidMessage, "sponsorship: cap 0 ends the sponsorship and takes no period")
		}
		return nil
	}
	if m.Cap > MaxBalance {
		return errcode.New(errcode.InvalidMessage, "sponsorship: cap %d exceeds %d", m.Cap, uint64(MaxBalance))
	}
	if m.Period < MinPeriod || m.Period > MaxPeriod {
		return errcode.New(errcode.InvalidMessage, "sponsorship: period %d s: expected %d..%d", m.Period, MinPeriod, MaxPeriod)
	}
	return nil
}

var sponsorSpec = map[protowire.Number]txs.FieldSpec{
	1: txs.Varint("cap"),
	2: txs.Varint("period"),
}

// DecodeSetSponsorship decodes a MsgSetSponsorship.
func DecodeSetSponsorship(b []byte) (txs.Msg, error) {
	fields, err := txs.ParseFields(b, sponsorSpec)
	if err != nil {
		return nil, errcode.New(errcode.TxMalformed, "decode %s: %v", TypeSetSponsorship, err)
	}
	m := &MsgSetSponsorship{}
	for _, f := range fields {
		switch f.Num {
		case 1:
			m.Cap = f.Varint
		case 2:
			m.Period = f.Varint
		}
	}
	return m, nil
}

func (m *MsgTopUp) String() string {
	return fmt.Sprintf("TopUp{%s %d %s ref=%q}", m.Holder(), m.Amount, m.Currency, m.PaymentRef)
}

func (m *MsgSetSponsorship) String() string {
	return fmt.Sprintf("SetSponsorship{cap=%d period=%ds}", m.Cap, m.Period)
}
