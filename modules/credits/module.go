package credits

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules"
	"github.com/lianchain/lian/modules/identity"
	"github.com/lianchain/lian/store"
	"github.com/lianchain/lian/txs"
)

// Name is the module's name and store prefix.
const Name = "credits"

// Event types.
const (
	EventToppedUp       = "lian.credits.topped_up"
	EventSponsorshipSet = "lian.credits.sponsorship_set"
)

var keyParams = []byte("p")

func balanceKey(h Holder) []byte { return append([]byte("b/"), h.key()...) }
func receiptKey(ref string) []byte {
	s := sha256.Sum256([]byte(ref))
	return append([]byte("r/"), s[:]...)
}
func statementSeqKey(h Holder) []byte { return append([]byte("sn/"), h.key()...) }
func sponsorKey(org string) []byte    { return append([]byte("sp/"), org...) }
func usageKey(org string, a crypto.Address) []byte {
	k := append([]byte("u/"), org...)
	k = append(k, '/')
	return append(k, a[:]...)
}

// statementPrefix prefixes a holder's statement entries (top-up receipts) by number.
func statementPrefix(h Holder) []byte { return append(append([]byte("s/"), h.key()...), '/') }

func statementKey(h Holder, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(statementPrefix(h), seq)
}

// Module is the credits module.
type Module struct{}

// New returns the credits module.
func New() *Module { return &Module{} }

// Name implements modules.Module.
func (*Module) Name() string { return Name }

// Msgs implements modules.Module.
func (m *Module) Msgs() []modules.MsgType {
	return []modules.MsgType{
		{TypeURL: TypeTopUp, Decode: DecodeTopUp, Roles: []string{identity.RoleOperator}, Handle: m.topUp},
		{TypeURL: TypeSetSponsorship, Decode: DecodeSetSponsorship, Roles: []string{identity.RoleAdmin}, Handle: m.setSponsorship},
	}
}

// paramsCache keeps the decoded parameters by their encoding (they are read on every
// tx). Keyed by content, it needs no invalidation; it is shared by the nodes of a
// process, so it is locked.
var paramsCache struct {
	sync.Mutex
	raw []byte
	p   *Params
}

// GetParams returns the parameters. kv is the module's prefix.
func GetParams(kv store.Reader) (*Params, error) {
	b := kv.Get(keyParams)
	if b == nil {
		return nil, fmt.Errorf("credits parameters are missing")
	}
	paramsCache.Lock()
	defer paramsCache.Unlock()
	if paramsCache.p != nil && bytes.Equal(paramsCache.raw, b) {
		return paramsCache.p, nil
	}
	var p Params
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("decode credits parameters: %w", err)
	}
	paramsCache.raw, paramsCache.p = bytes.Clone(b), &p
	return &p, nil
}

// SetParams replaces the parameters (governance).
func (m *Module) SetParams(c *modules.Context, p *Params) error {
	if err := p.Validate(); err != nil {
		return errcode.New(errcode.InvalidMessage, "credits parameters: %v", err)
	}
	c.For(Name).Store.Set(keyParams, modules.MustJSON(p))
	return nil
}

// Balance returns a holder's credits. kv is the module's prefix.
func Balance(kv store.Reader, h Holder) uint64 {
	b := kv.Get(balanceKey(h))
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func setBalance(kv store.KV, h Holder, n uint64) {
	kv.Set(balanceKey(h), binary.BigEndian.AppendUint64(nil, n))
}

// GetSponsorship returns an organisation's sponsorship, or nil.
func GetSponsorship(kv store.Reader, org string) (*Sponsorship, error) {
	b := kv.Get(sponsorKey(org))
	if b == nil {
		return nil, nil
	}
	var s Sponsorship
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("decode sponsorship: %w", err)
	}
	return &s, nil
}

// Fee is what a transaction costs and who pays it.
type Fee struct {
	Credits uint64
	Payer   Holder
}

// Charge deducts the fee of a transaction with body's messages sent by sender (of org
// org) at block time now. The payer is the organisation when it sponsors its members
// and the member's allowance for the current period and the organisation's balance
// cover the fee; otherwise the sender. kv is the module's prefix. It changes nothing
// when it fails: errcode.OutOfGas if the fee exceeds the body's gas limit (when set),
// errcode.NoCredits if no payer can cover it.
func Charge(kv store.KV, body *txs.Body, sender crypto.Address, org string, now time.Time) (*Fee, error) {
	p, err := GetParams(kv)
	if err != nil {
		return nil, errcode.Wrap(errcode.Internal, err)
	}
	fee := p.GasOf(body.Messages)
	if body.GasLimit > 0 && fee > body.GasLimit {
		return nil, errcode.New(errcode.OutOfGas, "the transaction costs %d gas, its gas_limit is %d", fee, body.GasLimit)
	}
	if fee == 0 {
		return &Fee{Payer: AccountHolder(sender)}, nil
	}
	sp, err := GetSponsorship(kv, org)
	if err != nil {
		return nil, errcode.Wrap(errcode.Internal, err)
	}
	var spNote string
	if sp != nil {
		period := uint64(max(now.Unix(), 0)) / sp.Period
		uk := usageKey(org, sender)
		used := uint64(0)
		if u := kv.Get(uk); len(u) == 16 && binary.BigEndian.Uint64(u) == period {
			used = binary.BigEndian.Uint64(u[8:])
		}
		orgH := OrgHolder(org)
		bal := Balance(kv, orgH)
		switch {
		case used+fee > sp.Cap:
			spNote = fmt.Sprintf("; %s's sponsorship allowance of %d per period has %d left", org, sp.Cap, sp.Cap-min(used, sp.Cap))
		case bal < fee:
			spNote = fmt.Sprintf("; sponsoring organisation %s has %d", org, bal)
		default:
			setBalance(kv, orgH, bal-fee)
			u := binary.BigEndian.AppendUint64(nil, period)
			kv.Set(uk, binary.BigEndian.AppendUint64(u, used+fee))
			return &Fee{Credits: fee, Payer: orgH}, nil
		}
	}
	h := AccountHolder(sender)
	bal := Balance(kv, h)
	if bal < fee {
		return nil, errcode.New(errcode.NoCredits, "the transaction costs %d credits; %s has %d%s", fee, sender, bal, spNote)
	}
	setBalance(kv, h, bal-fee)
	return &Fee{Credits: fee, Payer: h}, nil
}

func (m *Module) topUp(ctx *modules.Context, msg txs.Msg) error {
	r := msg.(*MsgTopUp)
	p, err := GetParams(ctx.Store)
	if err != nil {
		return errcode.Wrap(errcode.Internal, err)
	}
	pr := p.price(r.Currency)
	if pr == nil {
		return errcode.New(errcode.InvalidMessage, "top-up: currency %s is not accepted: the price parameter lists %s", r.Currency, currencies(p))
	}
	rk := receiptKey(r.PaymentRef)
	if b := ctx.Store.Get(rk); b != nil {
		var old Receipt
		_ = json.Unmarshal(b, &old)
		if old.Height == 0 {
			return errcode.New(errcode.AlreadyExists, "top-up: payment reference %q is used by a top-up waiting in the mempool", r.PaymentRef)
		}
		return errcode.New(errcode.AlreadyExists, "top-up: payment reference %q was used at height %d (tx %s, %d credits to %s)",
			r.PaymentRef, old.Height, old.TxHash, old.Credits, old.To)
	}
	h := r.Holder()
	if h.Account != nil {
		if a, err := identity.GetAccount(ctx.For(identity.Name).Store, *h.Account); err != nil {
			return errcode.Wrap(errcode.Internal, err)
		} else if a == nil {
			return errcode.New(errcode.UnknownAccount, "top-up: account %s is not registered", h.Account)
		}
	} else if o, err := identity.GetOrg(ctx.For(identity.Name).Store, h.Org); err != nil {
		return errcode.Wrap(errcode.Internal, err)
	} else if o == nil {
		return errcode.New(errcode.NotFound, "top-up: organisation %q not found", h.Org)
	}
	credits, err := pr.Credits(r.Amount)
	if err != nil {
		return errcode.New(errcode.InvalidMessage, "top-up: %v", err)
	}
	if credits == 0 {
		return errcode.New(errcode.InvalidMessage, "top-up: %d minor units of %s buy no credits", r.Amount, r.Currency)
	}
	bal := Balance(ctx.Store, h)
	if bal > MaxBalance-credits {
		return errcode.New(errcode.InvalidMessage, "top-up: %s would hold more than %d credits", h, uint64(MaxBalance))
	}
	if ctx.CheckOnly {
		// Mark the reference so a second top-up with it waiting in the mempool is refused.
		ctx.Store.Set(rk, modules.MustJSON(&Receipt{PaymentRef: r.PaymentRef, To: h.String(), Credits: credits}))
		return nil
	}
	setBalance(ctx.Store, h, bal+credits)
	seq := uint64(0)
	if b := ctx.Store.Get(statementSeqKey(h)); len(b) == 8 {
		seq = binary.BigEndian.Uint64(b)
	}
	rec := &Receipt{
		Seq: seq, To: h.String(), Credits: credits, Currency: r.Currency, Amount: r.Amount,
		PaymentRef: r.PaymentRef, PayerName: r.PayerName, Operator: ctx.Sender.Address,
		Height: ctx.Height, Time: ctx.Time.UTC().Format(time.RFC3339Nano), TxHash: ctx.TxHash.String(),
	}
	b := modules.MustJSON(rec)
	ctx.Store.Set(rk, b)
	ctx.Store.Set(statementKey(h, seq), b)
	ctx.Store.Set(statementSeqKey(h), binary.BigEndian.AppendUint64(nil, seq+1))
	ctx.Emit(EventToppedUp,
		modules.Indexed("to", h.String()),
		modules.A("credits", strconv.FormatUint(credits, 10)),
		modules.A("currency", r.Currency),
		modules.A("amount", strconv.FormatUint(r.Amount, 10)),
		modules.A("payment_ref", r.PaymentRef),
		modules.A("operator", ctx.Sender.Address.String()))
	return nil
}

func currencies(p *Params) string {
	var b bytes.Buffer
	for i, pr := range p.Prices {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(pr.Currency)
	}
	return b.String()
}

func (m *Module) setSponsorship(ctx *modules.Context, msg txs.Msg) error {
	r := msg.(*MsgSetSponsorship)
	org := ctx.Sender.Org
	if r.Cap == 0 {
		if ctx.Store.Get(sponsorKey(org)) == nil {
			return errcode.New(errcode.NotFound, "sponsorship: organisation %q has none to end", org)
		}
		ctx.Store.Delete(sponsorKey(org))
	} else {
		ctx.Store.Set(sponsorKey(org), modules.MustJSON(&Sponsorship{Cap: r.Cap, Period: r.Period}))
	}
	ctx.Emit(EventSponsorshipSet, modules.Indexed("org", org),
		modules.A("cap", strconv.FormatUint(r.Cap, 10)), modules.A("period", strconv.FormatUint(r.Period, 10)))
	return nil
}

// Genesis is the module's genesis state.
type Genesis struct {
	Params   *Params          `json:"params,omitempty"` // nil: DefaultParams
	Balances []GenesisBalance `json:"balances,omitempty"`
}

// GenesisBalance is a starting balance of an account or an organisation.
type GenesisBalance struct {
	Holder
	Credits uint64 `json:"credits"`
}

// InitGenesis implements modules.Module.
func (m *Module) InitGenesis(ctx *modules.Context, raw json.RawMessage) error {
	var g Genesis
	if len(raw) > 0 && string(raw) != "null" {
		if err := modules.DecodeStrict(raw, &g); err != nil {
			return fmt.Errorf("credits genesis: %w", err)
		}
	}
	p := DefaultParams()
	if g.Params != nil {
		p = *g.Params
	}
	if err := p.Validate(); err != nil {
		return fmt.Errorf("credits genesis: %w", err)
	}
	ctx.Store.Set(keyParams, modules.MustJSON(&p))
	idKV := ctx.For(identity.Name).Store
	for _, b := range g.Balances {
		if (b.Account == nil) == (b.Org == "") {
			return fmt.Errorf("credits genesis: a balance needs exactly one of account and org")
		}
		if b.Account != nil && !idKV.Has(append([]byte("a/"), b.Account[:]...)) {
			return fmt.Errorf("credits genesis: account %s is not in the identity genesis", b.Account)
		}
		if b.Org != "" {
			if o, _ := identity.GetOrg(idKV, b.Org); o == nil {
				return fmt.Errorf("credits genesis: organisation %q is not in the identity genesis", b.Org)
			}
		}
		if b.Credits > MaxBalance || Balance(ctx.Store, b.Holder) != 0 {
			return fmt.Errorf("credits genesis: balance of %s listed twice or above %d", b.Holder, uint64(MaxBalance))
		}
		setBalance(ctx.Store, b.Holder, b.Credits)
	}
	return nil
}

// Query paths.
const (
	QueryParams      = "params"      // data: none
	QueryBalance     = "balance"     // data: "0x<address>" or "org:<id>"; value: 8-byte big-endian (provable once stored)
	QuerySponsorship = "sponsorship" // data: organisation id
	QueryStatement   = "statement"   // data: JSON StatementRequest; value: JSON []Receipt
)

// StatementRequest asks for a holder's top-ups from entry After on (0: the first).
type StatementRequest struct {
	Holder string `json:"holder"` // 0x address or org:<id>
	After  uint64 `json:"after"`
	Limit  int    `json:"limit"` // 1..100, default 50
}

// ParseHolder parses "0x…" or "org:<id>".
func ParseHolder(s string) (Holder, error) {
	if len(s) > 4 && s[:4] == "org:" {
		if err := identity.ValidateOrgID(s[4:]); err != nil {
			return Holder{}, err
		}
		return OrgHolder(s[4:]), nil
	}
	a, err := crypto.ParseAddress(s)
	if err != nil {
		return Holder{}, fmt.Errorf("holder %q: expected a 0x address or org:<id>", s)
	}
	return AccountHolder(a), nil
}

// Query implements modules.Module.
func (m *Module) Query(ctx *modules.QueryContext, path string, data []byte) ([]byte, []byte, error) {
	switch path {
	case QueryParams:
		return keyParams, ctx.Store.Get(keyParams), nil
	case QueryBalance:
		h, err := ParseHolder(string(data))
		if err != nil {
			return nil, nil, errcode.New(errcode.InvalidRequest, "query balance: %v", err)
		}
		// A holder never credited has no balance stored: its 0 is answered without a
		// key, and so without a proof.
		k := balanceKey(h)
		if v := ctx.Store.Get(k); v != nil {
			return k, v, nil
		}
		return nil, make([]byte, 8), nil
	case QuerySponsorship:
		if err := identity.ValidateOrgID(string(data)); err != nil {
			return nil, nil, errcode.New(errcode.InvalidRequest, "query sponsorship: %v", err)
		}
		k := sponsorKey(string(data))
		v := ctx.Store.Get(k)
		if v == nil {
			return k, nil, errcode.New(errcode.NotFound, "organisation %q sponsors no fees", data)
		}
		return k, v, nil
	case QueryStatement:
		var req StatementRequest
		if err := json.Unmarshal(data, &req); err != nil {
			return nil, nil, errcode.New(errcode.InvalidRequest, "query statement: %v", err)
		}
		h, err := ParseHolder(req.Holder)
		if err != nil {
			return nil, nil, errcode.New(errcode.InvalidRequest, "query statement: %v", err)
		}
		if req.Limit == 0 {
			req.Limit = 50
		}
		if req.Limit < 1 || req.Limit > 100 {
			return nil, nil, errcode.New(errcode.InvalidRequest, "query statement: limit %d: expected 1..100", req.Limit)
		}
		out := []json.RawMessage{}
		ctx.Store.Iterate(statementKey(h, req.After), store.PrefixEnd(statementPrefix(h)), func(_, v []byte) bool {
			out = append(out, bytes.Clone(v))
			return len(out) < req.Limit
		})
		b, _ := json.Marshal(out)
		return nil, b, nil
	}
	return nil, nil, errcode.New(errcode.InvalidRequest, "unknown credits query %q: expected params, balance, sponsorship or statement", path)
}
