package credits

import (
	"math"
	"strings"
	"testing"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules/identity"
	"github.com/lianchain/lian/txs"
)

func TestMsgCodecs(t *testing.T) {
	a := crypto.Address{7}
	cases := []struct {
		msg    txs.Msg
		decode func([]byte) (txs.Msg, error)
		code   errcode.Code
	}{
		{&MsgTopUp{Account: &a, Currency: "CNY", Amount: 100, PaymentRef: "r", PayerName: "p"}, DecodeTopUp, errcode.OK},
		{&MsgTopUp{Org: "org1", Currency: "CNY", Amount: 100, PaymentRef: "r", PayerName: "p"}, DecodeTopUp, errcode.OK},
		{&MsgTopUp{Currency: "CNY", Amount: 100, PaymentRef: "r", PayerName: "p"}, DecodeTopUp, errcode.InvalidMessage},
		{&MsgTopUp{Account: &a, Currency: "CNY", PaymentRef: "r", PayerName: "p"}, DecodeTopUp, errcode.InvalidMessage},
		{&MsgSetSponsorship{Cap: 10, Period: 3600}, DecodeSetSponsorship, errcode.OK},
		{&MsgSetSponsorship{}, DecodeSetSponsorship, errcode.OK},
		{&MsgSetSponsorship{Cap: 10, Period: 5}, DecodeSetSponsorship, errcode.InvalidMessage},
		{&MsgSetSponsorship{Period: 3600}, DecodeSetSponsorship, errcode.InvalidMessage},
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
}

func TestFormatAmount(t *testing.T) {
	p := &Params{Prices: []Price{{Currency: "CNY", Exponent: 2, CreditsPerUnit: 100_000}, {Currency: "JPY", CreditsPerUnit: 700},
		{Currency: "XBT", Exponent: 4, CreditsPerUnit: 1}}}
	for _, c := range []struct {
		currency string
		amount   uint64
		want     string
	}{
		{"CNY", 500, "5.00 CNY"},
		{"CNY", 5, "0.05 CNY"},
		{"CNY", 0, "0.00 CNY"},
		{"CNY", 123456, "1234.56 CNY"},
		{"CNY", math.MaxUint64, "184467440737095516.15 CNY"},
		{"JPY", 700, "700 JPY"},
		{"XBT", 10001, "1.0001 XBT"},
		{"USD", 500, "500 minor units of USD"},
	} {
		if got := p.FormatAmount(c.currency, c.amount); got != c.want {
			t.Errorf("FormatAmount(%s, %d) = %q, want %q", c.currency, c.amount, got, c.want)
		}
	}
}

func TestPriceCredits(t *testing.T) {
	cny := Price{Currency: "CNY", Exponent: 2, CreditsPerUnit: 100_000}
	jpy := Price{Currency: "JPY", Exponent: 0, CreditsPerUnit: 700}
	for _, c := range []struct {
		p      Price
		amount uint64
		want   uint64
		err    bool
	}{
		{cny, 1, 1000, false},
		{cny, 1234, 1_234_000, false},
		{jpy, 3, 2100, false},
		{Price{Currency: "XXX", Exponent: 4, CreditsPerUnit: 1}, 9999, 0, false},
		{cny, 1 << 62, 0, true},
		{cny, ^uint64(0), 0, true},
	} {
		got, err := c.p.Credits(c.amount)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("%d %s: %d %v, want %d", c.amount, c.p.Currency, got, err, c.want)
		}
	}
	p := DefaultParams()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []Params{
		{Gas: p.Gas},
		{Gas: GasSchedule{Default: GasCost{Base: MaxGasBase + 1}}, Prices: p.Prices},
		{Gas: p.Gas, Prices: []Price{{Currency: "CNY", Exponent: 2}}},
		{Gas: p.Gas, Prices: []Price{p.Prices[0], p.Prices[0]}},
		{Gas: GasSchedule{Default: p.Gas.Default, Msgs: map[string]GasCost{"anchor": {}}}, Prices: p.Prices},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
}

func FuzzDecodeCreditsMsgs(f *testing.F) {
	a := crypto.Address{7}
	f.Add((&MsgTopUp{Account: &a, Currency: "CNY", Amount: 1, PaymentRef: "r", PayerName: "p"}).Marshal())
	f.Add((&MsgSetSponsorship{Cap: 1, Period: 60}).Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, dec := range []func([]byte) (txs.Msg, error){DecodeTopUp, DecodeSetSponsorship} {
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

// FuzzParseHolder checks that an accepted holder is one valid account or organisation that String prints back.
func FuzzParseHolder(f *testing.F) {
	for _, s := range []string{
		"0x7e5f4552091a69125d5dfcb7b8c2659029395bdf", "0X7E5F4552091A69125D5DFCB7B8C2659029395BDF", "org:org1", "org:a-b-c",
		"org:" + strings.Repeat("a", 32), "org:" + strings.Repeat("a", 33), "org:", "org", "org:-x", "org:Org1", "org:org1\n",
		"", "0x", "7e5f4552091a69125d5dfcb7b8c2659029395bdf", "org:0x7e5f4552091a69125d5dfcb7b8c2659029395bdf",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHolder(s)
		if err != nil {
			if h.Account != nil || h.Org != "" {
				t.Fatalf("%q: holder %+v with error %v", s, h, err)
			}
			return
		}
		if (h.Account == nil) == (h.Org == "") {
			t.Fatalf("%q: holder %+v is not exactly one of account and org", s, h)
		}
		if h.Org != "" && (identity.ValidateOrgID(h.Org) != nil || h.String() != s) {
			t.Fatalf("%q: organisation holder %q", s, h)
		}
		if h.Account != nil && h.String() != "0x"+strings.ToLower(s[2:]) {
			t.Fatalf("%q: account holder %s", s, h)
		}
		again, err := ParseHolder(h.String())
		if err != nil || again.String() != h.String() || string(again.key()) != string(h.key()) {
			t.Fatalf("%q: round trip %+v, %v", s, again, err)
		}
	})
}
