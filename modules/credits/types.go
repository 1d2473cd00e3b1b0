package credits

import (
	"fmt"
	"maps"
	"math/big"
	"regexp"
	"slices"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/txs"
)

// Params are the module's parameters, changed by governance.
type Params struct {
	Gas GasSchedule `json:"gas"`
	// Prices convert a fiat payment into credits, one entry per accepted currency.
	Prices []Price `json:"prices"`
}

// GasSchedule gives the gas cost of each message type; a transaction costs the sum
// over its messages, and one gas is one credit.
type GasSchedule struct {
	Default GasCost            `json:"default"`
	Msgs    map[string]GasCost `json:"msgs,omitempty"` // by type URL
}

// GasCost is base + per_byte × the message's encoded size.
type GasCost struct {
	Base    uint64 `json:"base"`
	PerByte uint64 `json:"per_byte"`
}

// Price is how many credits one unit of a currency buys.
type Price struct {
	Currency string `json:"currency"` // ISO 4217, e.g. "CNY"
	// Exponent is the currency's minor-unit exponent (ISO 4217: 2 for CNY, 0 for JPY):
	// amounts are paid in units of 10^-Exponent.
	Exponent       uint8  `json:"exponent"`
	CreditsPerUnit uint64 `json:"credits_per_unit"`
}

// Bounds that keep every fee and balance far from overflow.
const (
	MaxGasBase     = 1_000_000_000
	MaxGasPerByte  = 1_000_000
	MaxPerUnit     = 1_000_000_000_000
	MaxBalance     = 1 << 62
	maxScheduled   = 256
	maxPrices      = 32
	maxRefLen      = 128
	maxPayerName   = 128
	maxCurrencyLen = 3
)

var currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)

// DefaultParams charge 1,000 credits per message plus 10 per byte, and sell 100,000
// credits for 1 CNY: an evidence anchor costs about 0.02 CNY.
func DefaultParams() Params {
	return Params{
		Gas:    GasSchedule{Default: GasCost{Base: 1000, PerByte: 10}},
		Prices: []Price{{Currency: "CNY", Exponent: 2, CreditsPerUnit: 100_000}},
	}
}

// Validate checks the parameters.
func (p *Params) Validate() error {
	if err := p.Gas.Default.validate("default"); err != nil {
		return err
	}
	if len(p.Gas.Msgs) > maxScheduled {
		return fmt.Errorf("gas schedule lists %d message types, at most %d", len(p.Gas.Msgs), maxScheduled)
	}
	for _, typ := range slices.Sorted(maps.Keys(p.Gas.Msgs)) {
		if len(typ) < 2 || len(typ) > 128 || typ[0] != '/' {
			return fmt.Errorf("gas schedule: %q is not a message type URL (\"/lian.<module>.v1.Msg...\")", typ)
		}
		if err := p.Gas.Msgs[typ].validate(typ); err != nil {
			return err
		}
	}
	if len(p.Prices) == 0 || len(p.Prices) > maxPrices {
		return fmt.Errorf("prices: expected 1..%d currencies", maxPrices)
	}
	seen := map[string]bool{}
	for _, pr := range p.Prices {
		if !currencyPattern.MatchString(pr.Currency) {
			return fmt.Errorf("price: currency %q: expected an ISO 4217 code such as CNY", pr.Currency)
		}
		if seen[pr.Currency] {
			return fmt.Errorf("price: currency %s listed twice", pr.Currency)
		}
		seen[pr.Currency] = true
		if pr.Exponent > 4 {
			return fmt.Errorf("price %s: exponent %d: expected 0..4", pr.Currency, pr.Exponent)
		}
		if pr.CreditsPerUnit == 0 || pr.CreditsPerUnit > MaxPerUnit {
			return fmt.Errorf("price %s: credits_per_unit %d: expected 1..%d", pr.Currency, pr.CreditsPerUnit, uint64(MaxPerUnit))
		}
	}
	return nil
}

func (g GasCost) validate(what string) error {
	if g.Base > MaxGasBase || g.PerByte > MaxGasPerByte {
		return fmt.Errorf("gas cost %s: base ≤ %d and per_byte ≤ %d expected", what, MaxGasBase, MaxGasPerByte)
	}
	return nil
}

// GasOf returns the gas (= credits) a transaction body's messages cost. A body without
// messages (a nonce filler) costs the default base.
func (p *Params) GasOf(msgs []txs.Any) uint64 {
	if len(msgs) == 0 {
		return p.Gas.Default.Base
	}
	var total uint64
	for _, m := range msgs {
		c, ok := p.Gas.Msgs[m.TypeURL]
		if !ok {
			c = p.Gas.Default
		}
		// Bounded: base ≤ 1e9, per_byte ≤ 1e6, a tx ≤ 128 KiB.
		total += c.Base + c.PerByte*uint64(len(m.Value))
	}
	return total
}

// price returns the price of a currency, or nil.
func (p *Params) price(currency string) *Price {
	for i := range p.Prices {
		if p.Prices[i].Currency == currency {
			return &p.Prices[i]
		}
	}
	return nil
}

// Credits returns the credits an amount in minor units buys:
// ⌊amount × credits_per_unit / 10^exponent⌋.
func (pr *Price) Credits(amount uint64) (uint64, error) {
	n := new(big.Int).SetUint64(amount)
	n.Mul(n, new(big.Int).SetUint64(pr.CreditsPerUnit))
	n.Quo(n, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(pr.Exponent)), nil))
	if !n.IsUint64() || n.Uint64() > MaxBalance {
		return 0, fmt.Errorf("%d minor units of %s buy more than %d credits", amount, pr.Currency, uint64(MaxBalance))
	}
	return n.Uint64(), nil
}

// FormatAmount shows an amount in minor units of a currency in major units, as
// "5.00 CNY" for 500 fen, with the exponent of the currency's price; a currency the
// parameters do not price is shown as "500 minor units of USD".
func (p *Params) FormatAmount(currency string, amount uint64) string {
	pr := p.price(currency)
	if pr == nil {
		return fmt.Sprintf("%d minor units of %s", amount, currency)
	}
	if pr.Exponent == 0 {
		return fmt.Sprintf("%d %s", amount, currency)
	}
	unit := uint64(1)
	for range pr.Exponent {
		unit *= 10
	}
	return fmt.Sprintf("%d.%0*d %s", amount/unit, int(pr.Exponent), amount%unit, currency)
}

// Holder is an account or an organisation holding credits.
type Holder struct {
	Account *crypto.Address `json:"account,omitempty"`
	Org     string          `json:"org,omitempty"`
}

// String is the holder as shown in events: the 0x address or "org:<id>".
func (h Holder) String() string {
	if h.Account != nil {
		return h.Account.String()
	}
	return "org:" + h.Org
}

func (h Holder) key() []byte {
	if h.Account != nil {
		return append([]byte("a/"), h.Account[:]...)
	}
	return append([]byte("o/"), h.Org...)
}

// AccountHolder returns the holder for an account.
func AccountHolder(a crypto.Address) Holder { return Holder{Account: &a} }

// OrgHolder returns the holder for an organisation.
func OrgHolder(id string) Holder { return Holder{Org: id} }

// Receipt is a top-up: the fiat payment and the credits it bought.
type Receipt struct {
	Seq        uint64         `json:"seq"` // the holder's statement entry number
	To         string         `json:"to"`  // holder
	Credits    uint64         `json:"credits"`
	Currency   string         `json:"currency"`
	Amount     uint64         `json:"amount"` // minor units
	PaymentRef string         `json:"payment_ref"`
	PayerName  string         `json:"payer_name"`
	Operator   crypto.Address `json:"operator"`
	Height     int64          `json:"height"`
	Time       string         `json:"time"`
	TxHash     string         `json:"tx_hash"`
}

// Sponsorship is an organisation paying its members' fees: up to Cap credits per
// member per Period seconds of block time.
type Sponsorship struct {
	Cap    uint64 `json:"cap"`
	Period uint64 `json:"period"`
}
