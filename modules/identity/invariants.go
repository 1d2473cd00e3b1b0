package identity

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"

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
	var v violations
	type acctRef struct {
		key  string
		addr crypto.Address
		org  string
		by   *crypto.Address
	}
	type memberRef struct {
		key  string
		org  string
		addr crypto.Address
	}
	type addrRef struct {
		key  string
		addr crypto.Address
	}
	type orgRef struct {
		key string
		org *Org
	}
	type valRef struct {
		key string
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
			if !decodeRecord(&v, name, val, &a) {
				accountOrg[addr] = undecoded // exists: no follow-up reports
				return true
			}
			checkAccount(&v, name, addr, &a)
			accounts = append(accounts, acctRef{name, addr, a.Org, a.RegisteredBy})
			accountOrg[addr] = a.Org
		case bytes.HasPrefix(k, []byte("m/")):
			org, addr, ok := parseMemberKey(k)
			if !ok {
				v.add(name, "unknown key: expected m/<org id>/<20-byte address>")
				return true
			}
			if len(val) != 0 {
				v.add(name, "membership value is %d bytes, expected empty", len(val))
			}
			members = append(members, memberRef{name, org, addr})
			memberSet[org+"/"+string(addr[:])] = true
		case bytes.HasPrefix(k, []byte("n/")) && len(k) == 2+crypto.AddressLen:
			addr, _ := crypto.AddressFromBytes(k[2:])
			if len(val) != 8 {
				v.add(name, "nonce is %d bytes, expected 8", len(val))
			}
			nonces = append(nonces, addrRef{name, addr})
		case bytes.HasPrefix(k, []byte("o/")) && ValidateOrgID(string(k[2:])) == nil:
			id := string(k[2:])
			var o Org
			if !decodeRecord(&v, name, val, &o) {
				orgByID[id] = nil // exists: no follow-up reports
				orgsUndecoded = true
				return true
			}
			checkOrg(&v, name, id, &o)
			orgs = append(orgs, orgRef{name, &o})
			orgByID[id] = &o
		case bytes.HasPrefix(k, []byte("v/")) && len(k) == 2+crypto.Ed25519PubKeySize:
			var vr Validator
			if !decodeRecord(&v, name, val, &vr) {
				valByKey[string(k[2:])] = nil // exists: no follow-up reports
				return true
			}
			if !bytes.Equal(vr.PubKey, k[2:]) {
				v.add(name, "validator record is of key %X", []byte(vr.PubKey))
			}
			if vr.Power < 1 || vr.Power > MaxValidatorPower {
				v.add(name, "validator power %d, expected 1..%d", vr.Power, MaxValidatorPower)
			}
			vals = append(vals, valRef{name, bytes.Clone(k[2:]), &vr})
			valByKey[string(k[2:])] = &vr
		case bytes.Equal(k, keyActiveOrgs):
			activeKey = bytes.Clone(val)
			if len(val) != 8 {
				v.add(name, "active organisation count is %d bytes, expected 8", len(val))
			}
		default:
			v.add(name, "unknown key")
		}
		return true
	})

	// Cross-references, each list in key order.
	for _, a := range accounts {
		if _, ok := orgByID[a.org]; !ok {
			v.add(a.key, "account's organisation %q does not exist", a.org)
		}
		if !memberSet[a.org+"/"+string(a.addr[:])] {
			v.add(a.key, "account is not listed as a member of its organisation %q (no %s)", a.org, showKey(memberKey(a.org, a.addr)))
		}
		if a.by != nil {
			if _, ok := accountOrg[*a.by]; !ok {
				v.add(a.key, "account was registered by %s, which is not an account", a.by)
			}
		}
	}
	for _, mr := range members {
		org, ok := accountOrg[mr.addr]
		switch {
		case !ok:
			v.add(mr.key, "member %s is not an account", mr.addr)
		case org != mr.org && org != undecoded:
			v.add(mr.key, "member %s is an account of organisation %q, not %q", mr.addr, org, mr.org)
		}
	}
	for _, n := range nonces {
		if _, ok := accountOrg[n.addr]; !ok {
			v.add(n.key, "nonce of %s, which is not an account", n.addr)
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
				v.add(o.key, "organisation lists validator %X, which is not a validator", []byte(pub))
			case vr != nil && vr.Org != o.org.ID:
				v.add(o.key, "organisation lists validator %X, which is run by %q", []byte(pub), vr.Org)
			}
		}
	}
	for _, vr := range vals {
		o, ok := orgByID[vr.val.Org]
		switch {
		case !ok:
			v.add(vr.key, "validator's organisation %q does not exist", vr.val.Org)
		case o == nil:
		case o.Status == StatusRemoved:
			v.add(vr.key, "validator's organisation %q is removed", vr.val.Org)
		case !containsKey(o.Validators, vr.pub):
			v.add(vr.key, "validator's organisation %q does not list it", vr.val.Org)
		}
	}
	switch {
	case orgsUndecoded:
	case len(activeKey) == 8:
		if n := binary.BigEndian.Uint64(activeKey); n != active {
			v.add(showKey(keyActiveOrgs), "active organisation count is %d, but %d organisations are active", n, active)
		}
	case activeKey == nil && active > 0:
		v.add(showKey(keyActiveOrgs), "missing, but %d organisations are active", active)
	}
	if !orgsUndecoded && len(orgs) > 0 && active == 0 {
		v.add(showKey(keyActiveOrgs), "no organisation is active (of %d)", len(orgs))
	}
	return v.err()
}

func checkAccount(v *violations, name string, addr crypto.Address, a *Account) {
	if a.Address != addr {
		v.add(name, "account record is of address %s", a.Address)
	}
	if pub, err := crypto.PubKeyFromBytes(a.Algo, a.PubKey); err != nil {
		v.add(name, "account key: %v", err)
	} else {
		if pub.Address() != addr {
			v.add(name, "account's %s key derives address %s", a.Algo, pub.Address())
		}
		if !bytes.Equal(pub.Bytes(), a.PubKey) {
			v.add(name, "account key is not in canonical form")
		}
	}
	switch a.Status {
	case StatusActive:
		if a.Freeze != nil {
			v.add(name, "active account has a freeze record")
		}
	case StatusFrozen:
		if a.Freeze == nil {
			v.add(name, "frozen account has no freeze record")
		}
	default:
		v.add(name, "account status %q, expected active or frozen", a.Status)
	}
	if len(a.Roles) > MaxRoles {
		v.add(name, "account has %d roles, at most %d allowed", len(a.Roles), MaxRoles)
	}
	seen := map[string]bool{}
	for _, r := range a.Roles {
		if !contains(AllRoles, r) {
			v.add(name, "account role %q, expected one of %v", r, AllRoles)
		} else if seen[r] {
			v.add(name, "account role %q listed twice", r)
		}
		seen[r] = true
	}
	if n := len(a.IdentityHash); n != 0 && n != IdentityHashLen {
		v.add(name, "identity hash is %d bytes, expected %d", n, IdentityHashLen)
	}
	if err := ValidateOrgID(a.Org); err != nil {
		v.add(name, "account's %v", err)
	}
}

func checkOrg(v *violations, name, id string, o *Org) {
	if o.ID != id {
		v.add(name, "organisation record has id %q", o.ID)
	}
	switch o.Status {
	case StatusActive, StatusSuspended:
	case StatusRemoved:
		if len(o.Validators) != 0 {
			v.add(name, "removed organisation lists %d validators", len(o.Validators))
		}
	default:
		v.add(name, "organisation status %q, expected active, suspended or removed", o.Status)
	}
	seen := map[string]bool{}
	for _, pub := range o.Validators {
		if len(pub) != crypto.Ed25519PubKeySize {
			v.add(name, "organisation validator %X is %d bytes, expected %d", []byte(pub), len(pub), crypto.Ed25519PubKeySize)
		} else if seen[string(pub)] {
			v.add(name, "organisation lists validator %X twice", []byte(pub))
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

// decodeRecord decodes a JSON record strictly into rec and checks it is stored as the
// module encodes it; it reports and returns false if it does not decode.
func decodeRecord(v *violations, name string, val []byte, rec any) bool {
	if err := modules.DecodeStrict(val, rec); err != nil {
		v.add(name, "record does not decode: %v", err)
		return false
	}
	if !bytes.Equal(modules.MustJSON(rec), val) {
		v.add(name, "record is not in the module's encoding")
	}
	return true
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
	return quoteKey(k)
}

// quoteKey shows a key as a quoted string if it is printable ASCII, else as hex.
func quoteKey(k []byte) string {
	for _, c := range k {
		if c < 0x20 || c > 0x7e {
			return "0x" + hex.EncodeToString(k)
		}
	}
	return strconv.Quote(string(k))
}

// maxViolations bounds the violations CheckInvariants lists; the rest are counted.
const maxViolations = 20

// violations collects what CheckInvariants finds, in the order found.
type violations struct {
	errs []error
	more int
}

func (v *violations) add(key, format string, args ...any) {
	if len(v.errs) >= maxViolations {
		v.more++
		return
	}
	v.errs = append(v.errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
}

func (v *violations) err() error {
	errs := v.errs
	if v.more > 0 {
		errs = append(errs, fmt.Errorf("… and %d more", v.more))
	}
	return errors.Join(errs...)
}
