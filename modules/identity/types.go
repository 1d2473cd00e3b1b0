package identity

import (
	"encoding/json"
	"fmt"
	"regexp"

	cmtbytes "github.com/cometbft/cometbft/libs/bytes"

	"github.com/lianchain/lian/crypto"
)

// Roles. An organisation's admin grants the organisation roles to accounts of its
// organisation; the network roles are granted and revoked by governance only.
const (
	RoleAdmin     = "admin"     // administers its organisation: registers accounts, grants org roles, votes
	RoleMember    = "member"    // an ordinary account of its organisation
	RoleRelayer   = "relayer"   // submits cross-chain packets and headers
	RoleRegulator = "regulator" // freezes accounts, reads every account's history
	RoleOperator  = "operator"  // runs the network and sells gas credits (top-ups)
	RolePSP       = "psp"       // payment service provider: confirms fiat payments on chain
)

// OrgRoles are the roles an organisation's admin grants within its organisation.
var OrgRoles = []string{RoleAdmin, RoleMember, RoleRelayer}

// NetworkRoles are the network-wide roles only governance grants.
var NetworkRoles = []string{RoleRegulator, RoleOperator, RolePSP}

// AllRoles are every role, as a genesis may grant them.
var AllRoles = append(append([]string{}, OrgRoles...), NetworkRoles...)

// IsOrgRole reports whether role is an organisation role.
func IsOrgRole(role string) bool { return contains(OrgRoles, role) }

// IsNetworkRole reports whether role is a network role.
func IsNetworkRole(role string) bool { return contains(NetworkRoles, role) }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Status of an account.
const (
	StatusActive = "active"
	StatusFrozen = "frozen" // by a regulator: it can send nothing
)

// Status of an organisation (besides StatusActive), set by governance.
const (
	StatusSuspended = "suspended" // its accounts can send nothing; its validators keep validating
	StatusRemoved   = "removed"   // as suspended, and its validators were removed; final
)

// MaxRoles bounds the roles of one account.
const MaxRoles = 8

var orgIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

// ValidateOrgID checks an organisation id: 1–32 characters of a-z, 0-9 and '-', not
// starting with '-'.
func ValidateOrgID(id string) error {
	if !orgIDPattern.MatchString(id) {
		return fmt.Errorf("organisation id %q: expected 1-32 characters of a-z, 0-9 and '-'", id)
	}
	return nil
}

// Org is an organisation.
type Org struct {
	ID         string              `json:"id"`
	Name       string              `json:"name"`
	Status     string              `json:"status"`
	Validators []cmtbytes.HexBytes `json:"validators"` // ed25519 consensus keys of its validators
	Height     int64               `json:"height"`     // height it was admitted at (0: genesis)
}

// Account is a registered account.
type Account struct {
	Address      crypto.Address    `json:"address"`
	Algo         crypto.Algo       `json:"algo"`
	PubKey       cmtbytes.HexBytes `json:"pub_key"`
	Org          string            `json:"org"`
	Roles        []string          `json:"roles"`
	IdentityHash cmtbytes.HexBytes `json:"identity_hash"`
	Status       string            `json:"status"`
	RegisteredBy *crypto.Address   `json:"registered_by,omitempty"` // nil for genesis accounts
	Height       int64             `json:"height"`
	TxHash       string            `json:"tx_hash,omitempty"`
	Freeze       *Freeze           `json:"freeze,omitempty"` // set while frozen
}

// Freeze records why and by whom an account was frozen.
type Freeze struct {
	Reason string         `json:"reason"`
	By     crypto.Address `json:"by"`
	Height int64          `json:"height"`
	Time   string         `json:"time"` // block time, RFC 3339 UTC
}

// Validator is a consensus key, the organisation running it and its voting power.
type Validator struct {
	PubKey cmtbytes.HexBytes `json:"pub_key"` // ed25519
	Org    string            `json:"org"`
	Power  int64             `json:"power"`
}

// HasRole reports whether the account has the role.
func (a *Account) HasRole(role string) bool {
	for _, r := range a.Roles {
		if r == role {
			return true
		}
	}
	return false
}

func decodeAccount(b []byte) (*Account, error) {
	var a Account
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("decode account record: %w", err)
	}
	return &a, nil
}

func decodeOrg(b []byte) (*Org, error) {
	var o Org
	if err := json.Unmarshal(b, &o); err != nil {
		return nil, fmt.Errorf("decode organisation record: %w", err)
	}
	return &o, nil
}

// ValidateRoles checks that roles are known organisation roles, without repeats: the
// roles an admin may give an account it registers.
func ValidateRoles(roles []string) error { return validateRoles(roles, OrgRoles) }

// validateRoles checks that roles are in allowed, without repeats.
func validateRoles(roles, allowed []string) error {
	if len(roles) == 0 {
		return fmt.Errorf("no roles: expected at least one of %v", allowed)
	}
	if len(roles) > MaxRoles {
		return fmt.Errorf("%d roles, at most %d allowed", len(roles), MaxRoles)
	}
	seen := map[string]bool{}
	for _, r := range roles {
		if !contains(allowed, r) {
			return fmt.Errorf("role %q: expected one of %v", r, allowed)
		}
		if seen[r] {
			return fmt.Errorf("role %q listed twice", r)
		}
		seen[r] = true
	}
	return nil
}
