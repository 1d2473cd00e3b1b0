package identity

import (
	"encoding/json"
	"fmt"
	"regexp"

	cmtbytes "github.com/cometbft/cometbft/libs/bytes"

	"github.com/lianchain/lian/crypto"
)

// Roles an organisation's admin may grant to accounts of its organisation.
const (
	RoleAdmin  = "admin"
	RoleMember = "member"
)

// OrgRoles are the roles granted within an organisation.
var OrgRoles = []string{RoleAdmin, RoleMember}

// Status of an organisation or account.
const (
	StatusActive = "active"
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

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil { // only structs of strings, numbers and byte slices are encoded
		panic(fmt.Errorf("identity: encode record: %w", err))
	}
	return b
}

// ValidateRoles checks that roles are known org roles, without repeats.
func ValidateRoles(roles []string) error {
	if len(roles) == 0 {
		return fmt.Errorf("no roles: expected at least one of %v", OrgRoles)
	}
	if len(roles) > MaxRoles {
		return fmt.Errorf("%d roles, at most %d allowed", len(roles), MaxRoles)
	}
	seen := map[string]bool{}
	for _, r := range roles {
		known := false
		for _, k := range OrgRoles {
			known = known || r == k
		}
		if !known {
			return fmt.Errorf("unknown role %q: expected one of %v", r, OrgRoles)
		}
		if seen[r] {
			return fmt.Errorf("role %q listed twice", r)
		}
		seen[r] = true
	}
	return nil
}
