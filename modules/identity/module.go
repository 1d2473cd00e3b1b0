package identity

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"

	cmtbytes "github.com/cometbft/cometbft/libs/bytes"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules"
	"github.com/lianchain/lian/store"
	"github.com/lianchain/lian/txs"
)

// Name is the module's name and store prefix.
const Name = "identity"

// Event types.
const (
	EventOrgCreated        = "lian.identity.org_created"
	EventAccountRegistered = "lian.identity.account_registered"
)

// Module is the identity module.
type Module struct{}

// New returns the identity module.
func New() *Module { return &Module{} }

// Name implements modules.Module.
func (*Module) Name() string { return Name }

// Msgs implements modules.Module.
func (m *Module) Msgs() []modules.MsgType {
	return []modules.MsgType{
		{TypeURL: TypeRegisterAccount, Decode: DecodeRegisterAccount, Roles: []string{RoleAdmin}, Handle: m.registerAccount},
		{TypeURL: TypeGrantRole, Decode: DecodeGrantRole, Roles: []string{RoleAdmin}, Handle: m.grantRole},
		{TypeURL: TypeRevokeRole, Decode: DecodeRevokeRole, Roles: []string{RoleAdmin}, Handle: m.revokeRole},
		{TypeURL: TypeFreezeAccount, Decode: DecodeFreezeAccount, Roles: []string{RoleRegulator}, Handle: m.freeze},
		{TypeURL: TypeUnfreezeAccount, Decode: DecodeUnfreezeAccount, Roles: []string{RoleRegulator}, Handle: m.unfreeze},
	}
}

func orgKey(id string) []byte            { return append([]byte("o/"), id...) }
func accountKey(a crypto.Address) []byte { return append([]byte("a/"), a[:]...) }
func nonceKey(a crypto.Address) []byte   { return append([]byte("n/"), a[:]...) }
func memberKey(org string, a crypto.Address) []byte {
	k := append([]byte("m/"), org...)
	k = append(k, '/')
	return append(k, a[:]...)
}

// GetAccount returns the account at addr, or nil. kv is the module's prefix. The
// account may be shared with other callers: do not modify it.
func GetAccount(kv store.Reader, addr crypto.Address) (*Account, error) {
	b := kv.Get(accountKey(addr))
	if b == nil {
		return nil, nil
	}
	return accountCache.get(b, decodeAccount)
}

// GetOrg returns the organisation with the id, or nil. kv is the module's prefix. The
// organisation may be shared with other callers: do not modify it.
func GetOrg(kv store.Reader, id string) (*Org, error) {
	b := kv.Get(orgKey(id))
	if b == nil {
		return nil, nil
	}
	return orgCache.get(b, decodeOrg)
}

// Nonce returns the next nonce of addr. kv is the module's prefix.
func Nonce(kv store.Reader, addr crypto.Address) uint64 {
	b := kv.Get(nonceKey(addr))
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

// SetNonce stores the next nonce of addr. kv is the module's prefix.
func SetNonce(kv store.KV, addr crypto.Address, n uint64) {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	kv.Set(nonceKey(addr), b[:])
}

// Authenticate returns the sender's account if it is registered and active, its
// organisation is active and pubKey is the key it registered. kv is the module's prefix.
func Authenticate(kv store.Reader, addr crypto.Address, algo crypto.Algo, pubKey []byte) (*Account, error) {
	acct, err := GetAccount(kv, addr)
	if err != nil {
		return nil, errcode.Wrap(errcode.Internal, err)
	}
	if acct == nil {
		return nil, errcode.New(errcode.UnknownAccount, "sender %s is not a registered account: an admin of its organisation must register it first", addr)
	}
	if acct.Algo != algo || !bytes.Equal(acct.PubKey, pubKey) {
		return nil, errcode.New(errcode.InvalidSignature, "sender %s is registered with another %s key", addr, acct.Algo)
	}
	if acct.Status == StatusFrozen {
		return nil, errcode.New(errcode.AccountFrozen, "sender %s was frozen by a regulator at height %d: %s", addr, acct.Freeze.Height, acct.Freeze.Reason)
	}
	if acct.Status != StatusActive {
		return nil, errcode.New(errcode.AccountInactive, "sender %s is %s, not active", addr, acct.Status)
	}
	org, err := GetOrg(kv, acct.Org)
	if err != nil {
		return nil, errcode.Wrap(errcode.Internal, err)
	}
	if org == nil || org.Status != StatusActive {
		return nil, errcode.New(errcode.AccountInactive, "organisation %q of sender %s is not active", acct.Org, addr)
	}
	return acct, nil
}

func (m *Module) registerAccount(ctx *modules.Context, msg txs.Msg) error {
	r := msg.(*MsgRegisterAccount)
	pub, err := crypto.PubKeyFromBytes(r.Algo, r.PubKey)
	if err != nil {
		return errcode.New(errcode.InvalidMessage, "register account: pub_key: %v", err)
	}
	addr := pub.Address()
	existing, err := GetAccount(ctx.Store, addr)
	if err != nil {
		return errcode.Wrap(errcode.Internal, err)
	}
	if existing != nil {
		return errcode.New(errcode.AlreadyExists, "account %s is already registered (organisation %s, height %d)", addr, existing.Org, existing.Height)
	}
	by := ctx.Sender.Address
	acct := &Account{
		Address:      addr,
		Algo:         r.Algo,
		PubKey:       pub.Bytes(),
		Org:          ctx.Sender.Org,
		Roles:        r.Roles,
		IdentityHash: r.IdentityHash,
		Status:       StatusActive,
		RegisteredBy: &by,
		Height:       ctx.Height,
		TxHash:       ctx.TxHash.String(),
	}
	putAccount(ctx.Store, acct)
	ctx.Emit(EventAccountRegistered,
		modules.Indexed("address", addr.String()),
		modules.Indexed("org", acct.Org),
		modules.A("algo", string(acct.Algo)),
		modules.A("roles", joinRoles(acct.Roles)),
		modules.A("registered_by", by.String()))
	return nil
}

func putAccount(kv store.KV, a *Account) {
	kv.Set(accountKey(a.Address), modules.MustJSON(a))
	kv.Set(memberKey(a.Org, a.Address), []byte{})
}

func joinRoles(roles []string) string {
	var b bytes.Buffer
	for i, r := range roles {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(r)
	}
	return b.String()
}

// Genesis is the module's genesis state.
type Genesis struct {
	Orgs     []GenesisOrg     `json:"orgs"`
	Accounts []GenesisAccount `json:"accounts"`
}

// GenesisOrg is an organisation at genesis.
type GenesisOrg struct {
	ID         string              `json:"id"`
	Name       string              `json:"name"`
	Validators []cmtbytes.HexBytes `json:"validators"`
}

// GenesisAccount is an account at genesis.
type GenesisAccount struct {
	Org          string            `json:"org"`
	Algo         crypto.Algo       `json:"algo"`
	PubKey       cmtbytes.HexBytes `json:"pub_key"`
	Roles        []string          `json:"roles"`
	IdentityHash cmtbytes.HexBytes `json:"identity_hash"`
}

// ValidatorOrgs returns, for each consensus key (as a string of its bytes) in the genesis,
// the organisation running it.
func (g *Genesis) ValidatorOrgs() map[string]string {
	out := map[string]string{}
	for _, o := range g.Orgs {
		for _, v := range o.Validators {
			out[string(v)] = o.ID
		}
	}
	return out
}

// InitGenesis implements modules.Module.
func (m *Module) InitGenesis(ctx *modules.Context, raw json.RawMessage) error {
	var g Genesis
	if len(raw) > 0 {
		if err := modules.DecodeStrict(raw, &g); err != nil {
			return fmt.Errorf("identity genesis: %w", err)
		}
	}
	if len(g.Orgs) == 0 {
		return fmt.Errorf("identity genesis: no organisations")
	}
	for _, o := range g.Orgs {
		if err := ValidateOrgID(o.ID); err != nil {
			return fmt.Errorf("identity genesis: %w", err)
		}
		if ctx.Store.Has(orgKey(o.ID)) {
			return fmt.Errorf("identity genesis: organisation %q listed twice", o.ID)
		}
		org := &Org{ID: o.ID, Name: o.Name, Status: StatusActive, Validators: o.Validators}
		if org.Validators == nil {
			org.Validators = []cmtbytes.HexBytes{}
		}
		ctx.Store.Set(orgKey(o.ID), modules.MustJSON(org))
		setActiveOrgs(ctx.Store, ActiveOrgs(ctx.Store)+1)
		ctx.Emit(EventOrgCreated, modules.Indexed("org", o.ID), modules.A("name", o.Name))
	}
	for i, ga := range g.Accounts {
		pub, err := crypto.PubKeyFromBytes(ga.Algo, ga.PubKey)
		if err != nil {
			return fmt.Errorf("identity genesis: account %d: %w", i, err)
		}
		if !ctx.Store.Has(orgKey(ga.Org)) {
			return fmt.Errorf("identity genesis: account %s: unknown organisation %q", pub.Address(), ga.Org)
		}
		if err := validateRoles(ga.Roles, AllRoles); err != nil {
			return fmt.Errorf("identity genesis: account %s: %w", pub.Address(), err)
		}
		if len(ga.IdentityHash) != 0 && len(ga.IdentityHash) != IdentityHashLen {
			return fmt.Errorf("identity genesis: account %s: identity_hash must be %d bytes", pub.Address(), IdentityHashLen)
		}
		if ctx.Store.Has(accountKey(pub.Address())) {
			return fmt.Errorf("identity genesis: account %s listed twice", pub.Address())
		}
		ih := ga.IdentityHash
		if ih == nil {
			ih = cmtbytes.HexBytes{}
		}
		putAccount(ctx.Store, &Account{
			Address: pub.Address(), Algo: ga.Algo, PubKey: pub.Bytes(), Org: ga.Org,
			Roles: ga.Roles, IdentityHash: ih, Status: StatusActive,
		})
		ctx.Emit(EventAccountRegistered, modules.Indexed("address", pub.Address().String()),
			modules.Indexed("org", ga.Org), modules.A("algo", string(ga.Algo)), modules.A("roles", joinRoles(ga.Roles)))
	}
	return nil
}

// Query paths.
const (
	QueryAccount = "account" // data: 20-byte address
	QueryOrg     = "org"     // data: organisation id
	QueryNonce   = "nonce"   // data: 20-byte address; value: 8-byte big-endian next nonce (provable once stored)
	// QueryValidators lists the validators (JSON []Validator, by key); data: none.
	QueryValidators = "validators"
	// QueryOrgs lists the organisations (JSON []Org, by id, at most MaxListedOrgs); data: none.
	QueryOrgs = "orgs"
)

// MaxListedOrgs bounds the orgs query.
const MaxListedOrgs = 1000

// Query implements modules.Module.
func (m *Module) Query(ctx *modules.QueryContext, path string, data []byte) ([]byte, []byte, error) {
	switch path {
	case QueryAccount, QueryNonce:
		addr, err := crypto.AddressFromBytes(data)
		if err != nil {
			return nil, nil, errcode.New(errcode.InvalidRequest, "query %s: %v", path, err)
		}
		if path == QueryNonce {
			// An account that never sent a transaction has no nonce stored: its 0 is
			// not a stored value, so it is answered without a key, and so without a proof.
			k := nonceKey(addr)
			if v := ctx.Store.Get(k); v != nil {
				return k, v, nil
			}
			return nil, make([]byte, 8), nil
		}
		k := accountKey(addr)
		v := ctx.Store.Get(k)
		if v == nil {
			return k, nil, errcode.New(errcode.NotFound, "account %s not found", addr)
		}
		return k, v, nil
	case QueryOrg:
		if err := ValidateOrgID(string(data)); err != nil {
			return nil, nil, errcode.New(errcode.InvalidRequest, "query org: %v", err)
		}
		k := orgKey(string(data))
		v := ctx.Store.Get(k)
		if v == nil {
			return k, nil, errcode.New(errcode.NotFound, "organisation %q not found", data)
		}
		return k, v, nil
	case QueryValidators:
		vals, err := Validators(ctx.Store)
		if err != nil {
			return nil, nil, errcode.Wrap(errcode.Internal, err)
		}
		if vals == nil {
			vals = []*Validator{}
		}
		b, _ := json.Marshal(vals)
		return nil, b, nil
	case QueryOrgs:
		out := []json.RawMessage{}
		ctx.Store.Iterate([]byte("o/"), store.PrefixEnd([]byte("o/")), func(_, v []byte) bool {
			out = append(out, bytes.Clone(v))
			return len(out) < MaxListedOrgs
		})
		b, _ := json.Marshal(out)
		return nil, b, nil
	}
	return nil, nil, errcode.New(errcode.InvalidRequest, "unknown identity query %q: expected account, org, nonce, orgs or validators", path)
}

// PubKeyOf parses the account's public key.
func (ga *GenesisAccount) PubKeyOf() (crypto.PubKey, error) {
	pub, err := crypto.PubKeyFromBytes(ga.Algo, ga.PubKey)
	if err != nil {
		return nil, fmt.Errorf("genesis account of %s: %w", ga.Org, err)
	}
	return pub, nil
}
