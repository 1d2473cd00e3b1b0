package identity

import (
	"bytes"
	"encoding/binary"
	"fmt"

	cmtbytes "github.com/cometbft/cometbft/libs/bytes"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/modules"
	"github.com/lianchain/lian/store"
)

// CheckInvariants implements modules.InvariantChecker. kv is the module's prefix; it
// reads every key, once, in order. The invariants:
//
//   - Every key is of a kind of the state layout (doc.go) with its exact shape: a/ and
//     n/ keys hold a 20-byte address, v/ keys a 32-byte ed25519 key, o/ and m/ keys a
//     valid organisation id; c/ holds only c/active_orgs. Anything else is an
//     "unknown key".
//   - Every record (Org, Account, Validator) decodes strictly and is stored in the
//     encoding the module writes (re-encoding it gives the same bytes).
//   - o/<id>: the record's id is <id>; its status is active, suspended or removed; its
//     validators are 32-byte keys without repeats, each a validator (v/) run by <id>;
//     a removed organisation has none.
//   - a/<address>: the record's address is <address>, which is the address derived
//     from its algorithm and public key (stored in canonical form); its status is active
//     (no freeze record) or frozen (with one); its roles are known roles without
//     repeats, at most MaxRoles; its identity hash is empty or IdentityHashLen bytes; its
//     organisation exists and lists it (m/<org>/<address>); the account that registered
//     it, if any, exists.
//   - m/<org>/<address>: the value is empty and the account exists, of organisation
//     <org>.
//   - n/<address>: the value is 8 bytes and the account exists.
//   - v/<key>: the record's key is <key>, its power is 1..MaxValidatorPower, and its
//     organisation exists, is not removed and lists <key> among its validators.
//   - c/active_orgs is 8 bytes and counts the active organisations; if there is any
//     organisation, at least one is active.
func (m *Module) CheckInvariants(kv store.Reader) error {
	var v modules.Violations
	type acctRef struct {
		key  []byte
		addr crypto.Address
		org  string
		by   *crypto.Address
	}
	type memberRef struct {
		key  []byte
		org  string
		addr crypto.Address
	}
	type addrRef struct {
		key  []byte
		addr crypto.Address
	}
	type orgRef struct {
		key []byte
		org *Org
	}
	type valRef struct {
		key []byte
		pub []byte
		val *Validator
	}
	var (
		accounts   []acctRef
		accountOrg = map[crypto.Address]string{}
		members    []memberRef
		memberSet  = map[string]bool{} // org + "/" + address bytes
		nonces     []addrRef
		orgs       []orgRef
		orgByID    = map[string]*Org{}
		vals       []valRef
		valByKey   = map[string]*Validator{}
		activeKey  []byte // c/active_orgs, if stored
		// orgsUndecoded is set if an organisation record does not decode: the active
		// ones cannot be counted.
		orgsUndecoded bool
	)
	kv.Iterate(nil, nil, func(k, val []byte) bool {
		name := showKey(k)
		switch {
		case bytes.HasPrefix(k, []byte("a/")) && len(k) == 2+crypto.AddressLen:
			addr, _ := crypto.AddressFromBytes(k[2:])
			var a Account
			if !v.DecodeRecord(k, name, val, &a) {
				accountOrg[addr] = undecoded // exists: no follow-up reports
				return true
			}
			checkAccount(&v, k, name, addr, &a)
			accounts = append(accounts, acctRef{bytes.Clone(k), addr, a.Org, a.RegisteredBy})
			accountOrg[addr] = a.Org
		case bytes.HasPrefix(k, []byte("m/")):
			org, addr, ok := parseMemberKey(k)
			if !ok {
				v.Add(k, "%s: unknown key: expected m/<org id>/<20-byte address>", name)
				return true
			}
			if len(val) != 0 {
				v.Add(k, "%s: membership value is %d bytes, expected empty", name, len(val))
			}
			members = append(members, memberRef{bytes.Clone(k), org, addr})
			memberSet[org+"/"+string(addr[:])] = true
		case bytes.HasPrefix(k, []byte("n/")) && len(k) == 2+crypto.AddressLen:
			addr, _ := crypto.AddressFromBytes(k[2:])
			if len(val) != 8 {
				v.Add(k, "%s: nonce is %d bytes, expected 8", name, len(val))
			}
			nonces = append(nonces, addrRef{bytes.Clone(k), addr})
		case bytes.HasPrefix(k, []byte("o/")) && ValidateOrgID(string(k[2:])) == nil:
			id := string(k[2:])
			var o Org
			if !v.DecodeRecord(k, name, val, &o) {
				orgByID[id] = nil // exists: no follow-up reports
				orgsUndecoded = true
				return true
			}
			checkOrg(&v, k, name, id, &o)
			orgs = append(orgs, orgRef{bytes.Clone(k), &o})
			orgByID[id] = &o
		case bytes.HasPrefix(k, []byte("v/")) && len(k) == 2+crypto.Ed25519PubKeySize:
			var vr Validator
			if !v.DecodeRecord(k, name, val, &vr) {
				valByKey[string(k[2:])] = nil // exists: no follow-up reports
				return true
			}
			if !bytes.Equal(vr.PubKey, k[2:]) {
				v.Add(k, "%s: validator record is of key %X", name, []byte(vr.PubKey))
			}
			if vr.Power < 1 || vr.Power > MaxValidatorPower {
				v.Add(k, "%s: validator power %d, expected 1..%d", name, vr.Power, MaxValidatorPower)
			}
			vals = append(vals, valRef{bytes.Clone(k), bytes.Clone(k[2:]), &vr})
			valByKey[string(k[2:])] = &vr
		case bytes.Equal(k, keyActiveOrgs):
			activeKey = bytes.Clone(val)
			if len(val) != 8 {
				v.Add(k, "%s: active organisation count is %d bytes, expected 8", name, len(val))
			}
		default:
			v.Add(k, "%s: unknown key", name)
		}
		return true
	})

	// Cross-references, each list in key order.
	for _, a := range accounts {
		if _, ok := orgByID[a.org]; !ok {
			v.Add(a.key, "%s: account's organisation %q does not exist", showKey(a.key), a.org)
		}
		if !memberSet[a.org+"/"+string(a.addr[:])] {
			v.Add(a.key, "%s: account is not listed as a member of its organisation %q (no %s)", showKey(a.key), a.org, showKey(memberKey(a.org, a.addr)))
		}
		if a.by != nil {
			if _, ok := accountOrg[*a.by]; !ok {
				v.Add(a.key, "%s: account was registered by %s, which is not an account", showKey(a.key), a.by)
			}
		}
	}
	for _, mr := range members {
		org, ok := accountOrg[mr.addr]
		switch {
		case !ok:
			v.Add(mr.key, "%s: member %s is not an account", showKey(mr.key), mr.addr)
		case org != mr.org && org != undecoded:
			v.Add(mr.key, "%s: member %s is an account of organisation %q, not %q", showKey(mr.key), mr.addr, org, mr.org)
		}
	}
	for _, n := range nonces {
		if _, ok := accountOrg[n.addr]; !ok {
			v.Add(n.key, "%s: nonce of %s, which is not an account", showKey(n.key), n.addr)
		}
	}
	active := uint64(0)
	for _, o := range orgs {
		if o.org.Status == StatusActive {
			active++
		}
		for _, pub := range o.org.Validators {
			vr, ok := valByKey[string(pub)]
			switch {
			case len(pub) != crypto.Ed25519PubKeySize: // reported with the record
			case !ok:
				v.Add(o.key, "%s: organisation lists validator %X, which is not a validator", showKey(o.key), []byte(pub))
			case vr != nil && vr.Org != o.org.ID:
				v.Add(o.key, "%s: organisation lists validator %X, which is run by %q", showKey(o.key), []byte(pub), vr.Org)
			}
		}
	}
	for _, vr := range vals {
		o, ok := orgByID[vr.val.Org]
		switch {
		case !ok:
			v.Add(vr.key, "%s: validator's organisation %q does not exist", showKey(vr.key), vr.val.Org)
		case o == nil:
		case o.Status == StatusRemoved:
			v.Add(vr.key, "%s: validator's organisation %q is removed", showKey(vr.key), vr.val.Org)
		case !containsKey(o.Validators, vr.pub):
			v.Add(vr.key, "%s: validator's organisation %q does not list it", showKey(vr.key), vr.val.Org)
		}
	}
	switch {
	case orgsUndecoded:
	case len(activeKey) == 8:
		if n := binary.BigEndian.Uint64(activeKey); n != active {
			v.Add(keyActiveOrgs, "%s: active organisation count is %d, but %d organisations are active", showKey(keyActiveOrgs), n, active)
		}
	case activeKey == nil && active > 0:
		v.Add(keyActiveOrgs, "%s: missing, but %d organisations are active", showKey(keyActiveOrgs), active)
	}
	if !orgsUndecoded && len(orgs) > 0 && active == 0 {
		v.Add(keyActiveOrgs, "%s: no organisation is active (of %d)", showKey(keyActiveOrgs), len(orgs))
	}
	return v.Err()
}

func checkAccount(v *modules.Violations, k []byte, name string, addr crypto.Address, a *Account) {
	if a.Address != addr {
		v.Add(k, "%s: account record is of address %s", name, a.Address)
	}
	if pub, err := crypto.PubKeyFromBytes(a.Algo, a.PubKey); err != nil {
		v.Add(k, "%s: account key: %v", name, err)
	} else {
		if pub.Address() != addr {
			v.Add(k, "%s: account's %s key derives address %s", name, a.Algo, pub.Address())
		}
		if !bytes.Equal(pub.Bytes(), a.PubKey) {
			v.Add(k, "%s: account key is not in canonical form", name)
		}
	}
	switch a.Status {
	case StatusActive:
		if a.Freeze != nil {
			v.Add(k, "%s: active account has a freeze record", name)
		}
	case StatusFrozen:
		if a.Freeze == nil {
			v.Add(k, "%s: frozen account has no freeze record", name)
		}
	default:
		v.Add(k, "%s: account status %q, expected active or frozen", name, a.Status)
	}
	if len(a.Roles) > MaxRoles {
		v.Add(k, "%s: account has %d roles, at most %d allowed", name, len(a.Roles), MaxRoles)
	}
	seen := map[string]bool{}
	for _, r := range a.Roles {
		if !contains(AllRoles, r) {
			v.Add(k, "%s: account role %q, expected one of %v", name, r, AllRoles)
		} else if seen[r] {
			v.Add(k, "%s: account role %q listed twice", name, r)
		}
		seen[r] = true
	}
	if n := len(a.IdentityHash); n != 0 && n != IdentityHashLen {
		v.Add(k, "%s: identity hash is %d bytes, expected %d", name, n, IdentityHashLen)
	}
	if err := ValidateOrgID(a.Org); err != nil {
		v.Add(k, "%s: account's %v", name, err)
	}
}

func checkOrg(v *modules.Violations, k []byte, name, id string, o *Org) {
	if o.ID != id {
		v.Add(k, "%s: organisation record has id %q", name, o.ID)
	}
	switch o.Status {
	case StatusActive, StatusSuspended:
	case StatusRemoved:
		if len(o.Validators) != 0 {
			v.Add(k, "%s: removed organisation lists %d validators", name, len(o.Validators))
		}
	default:
		v.Add(k, "%s: organisation status %q, expected active, suspended or removed", name, o.Status)
	}
	seen := map[string]bool{}
	for _, pub := range o.Validators {
		if len(pub) != crypto.Ed25519PubKeySize {
			v.Add(k, "%s: organisation validator %X is %d bytes, expected %d", name, []byte(pub), len(pub), crypto.Ed25519PubKeySize)
		} else if seen[string(pub)] {
			v.Add(k, "%s: organisation lists validator %X twice", name, []byte(pub))
		}
		seen[string(pub)] = true
	}
}

// undecoded stands in accountOrg for the organisation of an account whose record does
// not decode (no organisation id contains a NUL).
const undecoded = "\x00"

func containsKey(list []cmtbytes.HexBytes, key []byte) bool {
	for _, k := range list {
		if bytes.Equal(k, key) {
			return true
		}
	}
	return false
}

// parseMemberKey splits m/<org id>/<20-byte address> (an address may contain '/').
func parseMemberKey(k []byte) (string, crypto.Address, bool) {
	var addr crypto.Address
	n := len(k) - crypto.AddressLen - 1
	if n <= 2 || k[n] != '/' {
		return "", addr, false
	}
	org := string(k[2:n])
	if ValidateOrgID(org) != nil {
		return "", addr, false
	}
	copy(addr[:], k[n+1:])
	return org, addr, true
}

// showKey names a key of the module: its kind and organisation ids as text, addresses
// as 0x hex, other binary parts as hex.
func showKey(k []byte) string {
	switch {
	case (bytes.HasPrefix(k, []byte("a/")) || bytes.HasPrefix(k, []byte("n/"))) && len(k) == 2+crypto.AddressLen:
		addr, _ := crypto.AddressFromBytes(k[2:])
		return string(k[:2]) + addr.String()
	case bytes.HasPrefix(k, []byte("v/")) && len(k) == 2+crypto.Ed25519PubKeySize:
		return "v/" + fmt.Sprintf("%X", k[2:])
	case bytes.HasPrefix(k, []byte("m/")):
		if org, addr, ok := parseMemberKey(k); ok {
			return "m/" + org + "/" + addr.String()
		}
	}
	return modules.QuoteKey(k)
}
