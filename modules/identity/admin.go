package identity

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	cmtbytes "github.com/cometbft/cometbft/libs/bytes"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules"
	"github.com/lianchain/lian/store"
	"github.com/lianchain/lian/txs"
)

// Event types of roles, freezes, organisations and validators.
const (
	EventRoleGranted      = "lian.identity.role_granted"
	EventRoleRevoked      = "lian.identity.role_revoked"
	EventAccountFrozen    = "lian.identity.account_frozen"
	EventAccountUnfrozen  = "lian.identity.account_unfrozen"
	EventOrgStatus        = "lian.identity.org_status"
	EventValidatorUpdated = "lian.identity.validator_updated"
)

// Validator power bounds. CometBFT caps the total at MaxTotalVotingPower (~1.15e18); a
// per-validator cap far below it keeps every sum in range.
const (
	MaxValidatorPower = 1_000_000
	MaxValidators     = 100
)

func validatorKey(pub []byte) []byte { return append([]byte("v/"), pub...) }

var keyActiveOrgs = []byte("c/active_orgs")

// ActiveOrgs returns the number of active organisations. kv is the module's prefix.
func ActiveOrgs(kv store.Reader) uint64 {
	b := kv.Get(keyActiveOrgs)
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func setActiveOrgs(kv store.KV, n uint64) {
	kv.Set(keyActiveOrgs, binary.BigEndian.AppendUint64(nil, n))
}

func putOrg(kv store.KV, o *Org) { kv.Set(orgKey(o.ID), modules.MustJSON(o)) }

// targetAccount loads the account a message names, or a not-found error.
func targetAccount(kv store.Reader, addr crypto.Address) (*Account, error) {
	acct, err := GetAccount(kv, addr)
	if err != nil {
		return nil, errcode.Wrap(errcode.Internal, err)
	}
	if acct == nil {
		return nil, errcode.New(errcode.UnknownAccount, "account %s is not registered", addr)
	}
	return acct, nil
}

// copyAccount returns a copy the caller may modify (cached accounts are shared).
func copyAccount(a *Account) *Account {
	c := *a
	c.Roles = slices.Clone(a.Roles)
	return &c
}

func (m *Module) grantRole(ctx *modules.Context, msg txs.Msg) error {
	r := msg.(*MsgGrantRole)
	acct, err := targetAccount(ctx.Store, r.Address)
	if err != nil {
		return err
	}
	if acct.Org != ctx.Sender.Org {
		return errcode.New(errcode.Unauthorized, "grant role: account %s belongs to organisation %q, not to %q", r.Address, acct.Org, ctx.Sender.Org)
	}
	return setRole(ctx, acct, r.Role, true)
}

func (m *Module) revokeRole(ctx *modules.Context, msg txs.Msg) error {
	r := msg.(*MsgRevokeRole)
	acct, err := targetAccount(ctx.Store, r.Address)
	if err != nil {
		return err
	}
	if acct.Org != ctx.Sender.Org {
		return errcode.New(errcode.Unauthorized, "revoke role: account %s belongs to organisation %q, not to %q", r.Address, acct.Org, ctx.Sender.Org)
	}
	if r.Role == RoleAdmin && r.Address == ctx.Sender.Address {
		return errcode.New(errcode.InvalidMessage, "revoke role: an admin cannot revoke its own admin role (another admin of %q can)", acct.Org)
	}
	return setRole(ctx, acct, r.Role, false)
}

// setRole grants or revokes a role of acct and emits the event.
func setRole(ctx *modules.Context, acct *Account, role string, grant bool) error {
	i := slices.Index(acct.Roles, role)
	switch {
	case grant && i >= 0:
		return errcode.New(errcode.AlreadyExists, "account %s already has role %q", acct.Address, role)
	case !grant && i < 0:
		return errcode.New(errcode.NotFound, "account %s does not have role %q", acct.Address, role)
	case grant && len(acct.Roles) >= MaxRoles:
		return errcode.New(errcode.InvalidMessage, "account %s has %d roles, the most allowed", acct.Address, MaxRoles)
	}
	acct = copyAccount(acct)
	ev := EventRoleGranted
	if grant {
		acct.Roles = append(acct.Roles, role)
	} else {
		acct.Roles = slices.Delete(acct.Roles, i, i+1)
		ev = EventRoleRevoked
	}
	putAccount(ctx.Store, acct)
	by := "governance"
	if ctx.Sender != nil {
		by = ctx.Sender.Address.String()
	}
	ctx.Emit(ev, modules.Indexed("address", acct.Address.String()), modules.A("role", role), modules.A("by", by))
	return nil
}

func (m *Module) freeze(ctx *modules.Context, msg txs.Msg) error {
	r := msg.(*MsgFreezeAccount)
	acct, err := targetAccount(ctx.Store, r.Address)
	if err != nil {
		return err
	}
	if r.Address == ctx.Sender.Address {
		return errcode.New(errcode.InvalidMessage, "freeze: a regulator cannot freeze itself")
	}
	if acct.Status == StatusFrozen {
		return errcode.New(errcode.AlreadyExists, "freeze: account %s is already frozen since height %d: %s", r.Address, acct.Freeze.Height, acct.Freeze.Reason)
	}
	acct = copyAccount(acct)
	acct.Status = StatusFrozen
	acct.Freeze = &Freeze{Reason: r.Reason, By: ctx.Sender.Address, Height: ctx.Height, Time: ctx.Time.UTC().Format(time.RFC3339Nano)}
	putAccount(ctx.Store, acct)
	ctx.Emit(EventAccountFrozen, modules.Indexed("address", r.Address.String()), modules.A("reason", r.Reason),
		modules.A("by", ctx.Sender.Address.String()))
	return nil
}

func (m *Module) unfreeze(ctx *modules.Context, msg txs.Msg) error {
	r := msg.(*MsgUnfreezeAccount)
	acct, err := targetAccount(ctx.Store, r.Address)
	if err != nil {
		return err
	}
	if acct.Status != StatusFrozen {
		return errcode.New(errcode.InvalidMessage, "unfreeze: account %s is %s, not frozen", r.Address, acct.Status)
	}
	acct = copyAccount(acct)
	acct.Status = StatusActive
	acct.Freeze = nil
	putAccount(ctx.Store, acct)
	ctx.Emit(EventAccountUnfrozen, modules.Indexed("address", r.Address.String()), modules.A("reason", r.Reason),
		modules.A("by", ctx.Sender.Address.String()))
	return nil
}

// IsActive reports whether addr is a registered, active (not frozen) account of an active
// organisation. kv is the module's prefix.
func IsActive(kv store.Reader, addr crypto.Address) bool {
	acct, err := GetAccount(kv, addr)
	if err != nil || acct == nil || acct.Status != StatusActive {
		return false
	}
	org, err := GetOrg(kv, acct.Org)
	return err == nil && org != nil && org.Status == StatusActive
}

// The functions below are the organisation registry governance executes proposals
// with. Each takes the caller's context and works on this module's state.

// NewOrgAdmin is the first admin account of an organisation governance admits.
type NewOrgAdmin struct {
	Algo         crypto.Algo       `json:"algo"`
	PubKey       cmtbytes.HexBytes `json:"pub_key"`
	IdentityHash cmtbytes.HexBytes `json:"identity_hash"`
}

// Validate checks the admin key and identity hash.
func (a *NewOrgAdmin) Validate() error {
	if _, err := crypto.PubKeyFromBytes(a.Algo, a.PubKey); err != nil {
		return fmt.Errorf("admin pub_key: %w", err)
	}
	if len(a.IdentityHash) != IdentityHashLen {
		return fmt.Errorf("admin identity_hash is %d bytes, expected %d", len(a.IdentityHash), IdentityHashLen)
	}
	return nil
}

// AddOrg admits an organisation with its first admin account.
func (m *Module) AddOrg(c *modules.Context, id, name string, admin NewOrgAdmin) error {
	ctx := c.For(Name)
	if err := ValidateOrgID(id); err != nil {
		return errcode.New(errcode.InvalidMessage, "add organisation: %v", err)
	}
	if o, err := GetOrg(ctx.Store, id); err != nil {
		return errcode.Wrap(errcode.Internal, err)
	} else if o != nil {
		return errcode.New(errcode.AlreadyExists, "add organisation: %q exists already (%s)", id, o.Status)
	}
	pub, err := crypto.PubKeyFromBytes(admin.Algo, admin.PubKey)
	if err != nil {
		return errcode.New(errcode.InvalidMessage, "add organisation %q: admin pub_key: %v", id, err)
	}
	addr := pub.Address()
	if a, err := GetAccount(ctx.Store, addr); err != nil {
		return errcode.Wrap(errcode.Internal, err)
	} else if a != nil {
		return errcode.New(errcode.AlreadyExists, "add organisation %q: admin account %s is already registered in %q", id, addr, a.Org)
	}
	putOrg(ctx.Store, &Org{ID: id, Name: name, Status: StatusActive, Validators: []cmtbytes.HexBytes{}, Height: ctx.Height})
	setActiveOrgs(ctx.Store, ActiveOrgs(ctx.Store)+1)
	putAccount(ctx.Store, &Account{
		Address: addr, Algo: admin.Algo, PubKey: pub.Bytes(), Org: id, Roles: []string{RoleAdmin},
		IdentityHash: admin.IdentityHash, Status: StatusActive, Height: ctx.Height, TxHash: ctx.TxHash.String(),
	})
	ctx.Emit(EventOrgCreated, modules.Indexed("org", id), modules.A("name", name))
	ctx.Emit(EventAccountRegistered, modules.Indexed("address", addr.String()), modules.Indexed("org", id),
		modules.A("algo", string(admin.Algo)), modules.A("roles", RoleAdmin))
	return nil
}

// SetOrgStatus suspends, resumes (StatusActive) or removes an organisation. Removing
// it also removes its validators; a removed organisation stays removed.
func (m *Module) SetOrgStatus(c *modules.Context, id, status string) error {
	ctx := c.For(Name)
	org, err := GetOrg(ctx.Store, id)
	if err != nil {
		return errcode.Wrap(errcode.Internal, err)
	}
	if org == nil {
		return errcode.New(errcode.NotFound, "organisation %q not found", id)
	}
	if org.Status == StatusRemoved {
		return errcode.New(errcode.InvalidMessage, "organisation %q was removed at height %d", id, org.Height)
	}
	if org.Status == status {
		return errcode.New(errcode.InvalidMessage, "organisation %q is %s already", id, status)
	}
	switch status {
	case StatusActive, StatusSuspended, StatusRemoved:
	default:
		return errcode.New(errcode.InvalidMessage, "organisation status %q: expected active, suspended or removed", status)
	}
	n := ActiveOrgs(ctx.Store)
	if org.Status == StatusActive {
		if n <= 1 {
			return errcode.New(errcode.InvalidMessage, "organisation %q is the last active one", id)
		}
		n--
	} else if status == StatusActive {
		n++
	}
	setActiveOrgs(ctx.Store, n)
	o := *org
	o.Status = status
	o.Validators = slices.Clone(org.Validators)
	if status == StatusRemoved {
		for _, v := range org.Validators {
			if err := m.SetValidatorPower(c, v, 0); err != nil {
				return fmt.Errorf("remove organisation %q: %w", id, err)
			}
		}
		o.Validators = []cmtbytes.HexBytes{}
		o.Height = ctx.Height
	}
	putOrg(ctx.Store, &o)
	ctx.Emit(EventOrgStatus, modules.Indexed("org", id), modules.A("status", status))
	return nil
}

// SetNetworkRole grants or revokes a network role (regulator, operator, psp).
func (m *Module) SetNetworkRole(c *modules.Context, addr crypto.Address, role string, grant bool) error {
	ctx := c.For(Name)
	if !IsNetworkRole(role) {
		return errcode.New(errcode.InvalidMessage, "role %q is not a network role: expected one of %v", role, NetworkRoles)
	}
	acct, err := targetAccount(ctx.Store, addr)
	if err != nil {
		return err
	}
	return setRole(ctx, acct, role, grant)
}

// GetValidator returns the validator with the ed25519 key, or nil.
func GetValidator(kv store.Reader, pub []byte) (*Validator, error) {
	b := kv.Get(validatorKey(pub))
	if b == nil {
		return nil, nil
	}
	var v Validator
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("decode validator: %w", err)
	}
	return &v, nil
}

// Validators returns every validator, ordered by key. kv is the module's prefix.
func Validators(kv store.Reader) ([]*Validator, error) {
	var out []*Validator
	var err error
	kv.Iterate([]byte("v/"), store.PrefixEnd([]byte("v/")), func(_, b []byte) bool {
		var v Validator
		if err = json.Unmarshal(b, &v); err != nil {
			return false
		}
		out = append(out, &v)
		return len(out) <= MaxValidators
	})
	return out, err
}

// AddValidator adds an ed25519 consensus key run by an active organisation.
func (m *Module) AddValidator(c *modules.Context, orgID string, pub []byte, power int64) error {
	ctx := c.For(Name)
	if len(pub) != crypto.Ed25519PubKeySize {
		return errcode.New(errcode.InvalidMessage, "validator key is %d bytes, expected a %d-byte ed25519 key", len(pub), crypto.Ed25519PubKeySize)
	}
	if power < 1 || power > MaxValidatorPower {
		return errcode.New(errcode.InvalidMessage, "validator power %d: expected 1..%d", power, MaxValidatorPower)
	}
	org, err := GetOrg(ctx.Store, orgID)
	if err != nil {
		return errcode.Wrap(errcode.Internal, err)
	}
	if org == nil || org.Status != StatusActive {
		return errcode.New(errcode.InvalidMessage, "validator's organisation %q is not an active organisation", orgID)
	}
	if v, err := GetValidator(ctx.Store, pub); err != nil {
		return errcode.Wrap(errcode.Internal, err)
	} else if v != nil {
		return errcode.New(errcode.AlreadyExists, "validator %X is already run by %q", pub, v.Org)
	}
	all, err := Validators(ctx.Store)
	if err != nil {
		return errcode.Wrap(errcode.Internal, err)
	}
	if len(all) >= MaxValidators {
		return errcode.New(errcode.InvalidMessage, "the chain has %d validators, the most allowed", len(all))
	}
	o := *org
	o.Validators = append(slices.Clone(org.Validators), cmtbytes.HexBytes(pub))
	putOrg(ctx.Store, &o)
	return putValidator(ctx, &Validator{PubKey: pub, Org: orgID, Power: power})
}

// SetValidatorPower changes a validator's power; 0 removes it. The validator set must
// keep at least one validator.
func (m *Module) SetValidatorPower(c *modules.Context, pub []byte, power int64) error {
	ctx := c.For(Name)
	if power < 0 || power > MaxValidatorPower {
		return errcode.New(errcode.InvalidMessage, "validator power %d: expected 0..%d", power, MaxValidatorPower)
	}
	v, err := GetValidator(ctx.Store, pub)
	if err != nil {
		return errcode.Wrap(errcode.Internal, err)
	}
	if v == nil {
		return errcode.New(errcode.NotFound, "no validator with key %X", pub)
	}
	if v.Power == power {
		return errcode.New(errcode.InvalidMessage, "validator %X has power %d already", pub, power)
	}
	if power == 0 {
		all, err := Validators(ctx.Store)
		if err != nil {
			return errcode.Wrap(errcode.Internal, err)
		}
		if len(all) <= 1 {
			return errcode.New(errcode.InvalidMessage, "validator %X is the last one", pub)
		}
		ctx.Store.Delete(validatorKey(pub))
		if org, err := GetOrg(ctx.Store, v.Org); err == nil && org != nil {
			o := *org
			o.Validators = slices.DeleteFunc(slices.Clone(org.Validators), func(k cmtbytes.HexBytes) bool { return string(k) == string(pub) })
			putOrg(ctx.Store, &o)
		}
		ctx.UpdateValidator(pub, 0)
		ctx.Emit(EventValidatorUpdated, modules.A("pub_key", cmtbytes.HexBytes(pub).String()), modules.Indexed("org", v.Org), modules.A("power", "0"))
		return nil
	}
	nv := *v
	nv.Power = power
	return putValidator(ctx, &nv)
}

func putValidator(ctx *modules.Context, v *Validator) error {
	ctx.Store.Set(validatorKey(v.PubKey), modules.MustJSON(v))
	ctx.UpdateValidator(v.PubKey, v.Power)
	ctx.Emit(EventValidatorUpdated, modules.A("pub_key", v.PubKey.String()), modules.Indexed("org", v.Org),
		modules.A("power", fmt.Sprint(v.Power)))
	return nil
}

// InitValidators records the genesis validator set with its powers; orgOf maps each
// key (as a string of its bytes) to its organisation.
func (m *Module) InitValidators(c *modules.Context, keys [][]byte, powers []int64, orgOf map[string]string) {
	ctx := c.For(Name)
	for i, k := range keys {
		ctx.Store.Set(validatorKey(k), modules.MustJSON(&Validator{PubKey: k, Org: orgOf[string(k)], Power: powers[i]}))
	}
}

// CountActiveOrgs returns the number of active organisations.
func (m *Module) CountActiveOrgs(c *modules.Context) uint64 { return ActiveOrgs(c.For(Name).Store) }

// OrgActive reports whether the organisation exists and is active.
func (m *Module) OrgActive(c *modules.Context, id string) bool {
	o, err := GetOrg(c.For(Name).Store, id)
	return err == nil && o != nil && o.Status == StatusActive
}

// AccountActive reports whether addr is a registered, active account of an active
// organisation (see IsActive).
func (m *Module) AccountActive(c *modules.Context, addr crypto.Address) bool {
	return IsActive(c.For(Name).Store, addr)
}
