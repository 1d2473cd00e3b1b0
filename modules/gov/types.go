package gov

import (
	"encoding/json"
	"fmt"
	"time"

	cmtbytes "github.com/cometbft/cometbft/libs/bytes"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/modules"
	"github.com/lianchain/lian/modules/credits"
	"github.com/lianchain/lian/modules/identity"
	"github.com/lianchain/lian/modules/xchain"
)

// Proposal kinds.
const (
	KindAddOrg            = "add_org"
	KindSuspendOrg        = "suspend_org"
	KindResumeOrg         = "resume_org"
	KindRemoveOrg         = "remove_org"
	KindAddValidator      = "add_validator"
	KindRemoveValidator   = "remove_validator"
	KindSetValidatorPower = "set_validator_power"
	KindGrantRole         = "grant_role"
	KindRevokeRole        = "revoke_role"
	KindSetParams         = "set_params"
	KindCreateClient      = "create_client"
	KindReplaceClient     = "replace_client"
	KindOpenRoute         = "open_route"
	KindCloseRoute        = "close_route"
)

// Kinds lists every proposal kind.
var Kinds = []string{KindAddOrg, KindSuspendOrg, KindResumeOrg, KindRemoveOrg, KindAddValidator,
	KindRemoveValidator, KindSetValidatorPower, KindGrantRole, KindRevokeRole, KindSetParams,
	KindCreateClient, KindReplaceClient, KindOpenRoute, KindCloseRoute}

// AddOrg is the content of add_org: the organisation, its first admin and, optionally,
// its first validator.
type AddOrg struct {
	ID        string               `json:"id"`
	Name      string               `json:"name"`
	Admin     identity.NewOrgAdmin `json:"admin"`
	Validator *NewValidator        `json:"validator,omitempty"`
}

// NewValidator is a validator key with its power.
type NewValidator struct {
	PubKey cmtbytes.HexBytes `json:"pub_key"` // 32-byte ed25519 consensus key
	Power  int64             `json:"power"`
}

// OrgRef is the content of suspend_org, resume_org and remove_org.
type OrgRef struct {
	ID string `json:"id"`
}

// ClientContent is the content of create_client and replace_client: a light client of
// another chain and the header the members trust it from.
type ClientContent struct{ xchain.ClientParams }

func (c *ClientContent) validate() error { return c.ClientParams.Validate() }

// RouteContent is the content of open_route.
type RouteContent struct{ xchain.RouteParams }

func (c *RouteContent) validate() error { return c.RouteParams.Validate() }

// RouteRef is the content of close_route.
type RouteRef struct {
	ID string `json:"id"`
}

func (c *RouteRef) validate() error {
	if c.ID == "" {
		return fmt.Errorf("id is required")
	}
	return nil
}

// AddValidator is the content of add_validator.
type AddValidator struct {
	Org    string            `json:"org"`
	PubKey cmtbytes.HexBytes `json:"pub_key"`
	Power  int64             `json:"power"`
}

// ValidatorPower is the content of remove_validator (power omitted) and
// set_validator_power.
type ValidatorPower struct {
	PubKey cmtbytes.HexBytes `json:"pub_key"`
	Power  int64             `json:"power,omitempty"`
}

// RoleChange is the content of grant_role and revoke_role (network roles only).
type RoleChange struct {
	Address crypto.Address `json:"address"`
	Role    string         `json:"role"`
}

// SetParams is the content of set_params: each part present replaces that part.
type SetParams struct {
	Gov     *Params         `json:"gov,omitempty"`
	Credits *credits.Params `json:"credits,omitempty"`
	Block   *BlockParams    `json:"block,omitempty"`
	ABCI    *ABCIParams     `json:"abci,omitempty"`
}

// ABCIParams are the consensus parameters of the application interface: from which
// height validators extend their precommits with the state they executed (attested
// state, which lets other chains' light clients prove packets a block sooner; see
// docs/cross-chain.md). Networks initialised by this version have them on from
// height 1; older ones turn them on with a set_params proposal.
type ABCIParams struct {
	// VoteExtensionsEnableHeight is the first height whose precommits carry
	// extensions. It must be after the height that executes the proposal, and cannot
	// change once reached (CometBFT's rules: consensus would halt on such an update).
	VoteExtensionsEnableHeight int64 `json:"vote_extensions_enable_height"`
}

// Validate checks what can be checked without the chain's state.
func (a *ABCIParams) Validate() error {
	if a.VoteExtensionsEnableHeight <= 0 {
		return fmt.Errorf("abci vote_extensions_enable_height %d: expected a height after the one that executes the proposal (extensions cannot be turned off)", a.VoteExtensionsEnableHeight)
	}
	return nil
}

// BlockParams are the block limits consensus enforces.
type BlockParams struct {
	MaxBytes int64 `json:"max_bytes"`
	MaxGas   int64 `json:"max_gas"` // -1: no limit (Lian meters gas itself, per transaction)
}

// Block size bounds a set_params proposal may choose (CometBFT's own cap is 100 MiB;
// the evidence limit of 1 MiB must fit in a block).
const (
	MinBlockBytes = 1 << 20
	MaxBlockBytes = 64 << 20
)

// Validate checks the block limits.
func (b *BlockParams) Validate() error {
	if b.MaxBytes < MinBlockBytes || b.MaxBytes > MaxBlockBytes {
		return fmt.Errorf("block max_bytes %d: expected %d..%d", b.MaxBytes, MinBlockBytes, MaxBlockBytes)
	}
	if b.MaxGas != -1 && b.MaxGas <= 0 {
		return fmt.Errorf("block max_gas %d: expected -1 (no limit) or a positive number", b.MaxGas)
	}
	return nil
}

// Params are the module's parameters.
type Params struct {
	// Threshold is the share of active organisations whose yes-votes pass a proposal,
	// rounded up: Num/Den, more than one half.
	Threshold Fraction `json:"threshold"`
	// VotingPeriod is how long a proposal stays open, in seconds of block time.
	VotingPeriod uint64 `json:"voting_period"`
}

// Fraction is Num/Den.
type Fraction struct {
	Num uint64 `json:"num"`
	Den uint64 `json:"den"`
}

// Voting period bounds, in seconds.
const (
	MinVotingPeriod = 1
	MaxVotingPeriod = 90 * 24 * 3600
)

// DefaultParams are ⅔ of the active organisations within 7 days.
func DefaultParams() Params {
	return Params{Threshold: Fraction{Num: 2, Den: 3}, VotingPeriod: 7 * 24 * 3600}
}

// Validate checks the parameters.
func (p *Params) Validate() error {
	t := p.Threshold
	if t.Den == 0 || t.Den > 1000 || t.Num > t.Den || 2*t.Num <= t.Den {
		return fmt.Errorf("threshold %d/%d: expected more than 1/2 and at most 1, denominator 1..1000", t.Num, t.Den)
	}
	if p.VotingPeriod < MinVotingPeriod || p.VotingPeriod > MaxVotingPeriod {
		return fmt.Errorf("voting_period %d s: expected %d..%d", p.VotingPeriod, MinVotingPeriod, MaxVotingPeriod)
	}
	return nil
}

// Required returns the yes-votes needed out of active organisations: ⌈active·Num/Den⌉,
// at least 1.
func (p *Params) Required(active uint64) uint64 {
	r := (active*p.Threshold.Num + p.Threshold.Den - 1) / p.Threshold.Den
	return max(r, 1)
}

// Proposal statuses.
const (
	StatusVoting   = "voting"
	StatusExecuted = "executed" // passed and its change is in effect
	StatusFailed   = "failed"   // passed, but executing it failed: nothing changed
	StatusRejected = "rejected" // could no longer reach the threshold
	StatusExpired  = "expired"  // the deadline passed first
)

// Proposal is a proposal and its tally.
type Proposal struct {
	ID           uint64          `json:"id"`
	Kind         string          `json:"kind"`
	Title        string          `json:"title"`
	Content      json.RawMessage `json:"content"`
	Proposer     crypto.Address  `json:"proposer"`
	Org          string          `json:"org"`
	SubmitHeight int64           `json:"submit_height"`
	SubmitTime   string          `json:"submit_time"`
	Deadline     string          `json:"deadline"` // RFC 3339 UTC: votes are accepted before it
	Status       string          `json:"status"`
	Yes          uint64          `json:"yes"`
	No           uint64          `json:"no"`
	Abstain      uint64          `json:"abstain"`
	// Required is the yes-votes needed, as of the last vote or the deadline.
	Required      uint64 `json:"required"`
	DecidedHeight int64  `json:"decided_height,omitempty"`
	Error         string `json:"error,omitempty"` // why execution failed
}

// Vote is one organisation's vote.
type Vote struct {
	ProposalID uint64         `json:"proposal_id"`
	Org        string         `json:"org"`
	Voter      crypto.Address `json:"voter"`
	Option     string         `json:"option"`
	Height     int64          `json:"height"`
}

// DecodeContent decodes a kind's content strictly (no unknown fields, nothing after
// it) and validates it without state.
func DecodeContent(kind string, content []byte) (any, error) {
	var v interface{ validate() error }
	switch kind {
	case KindAddOrg:
		v = &AddOrg{}
	case KindSuspendOrg, KindResumeOrg, KindRemoveOrg:
		v = &OrgRef{}
	case KindAddValidator:
		v = &AddValidator{}
	case KindRemoveValidator:
		v = &removeValidator{}
	case KindSetValidatorPower:
		v = &ValidatorPower{}
	case KindGrantRole, KindRevokeRole:
		v = &RoleChange{}
	case KindSetParams:
		v = &SetParams{}
	case KindCreateClient, KindReplaceClient:
		v = &ClientContent{}
	case KindOpenRoute:
		v = &RouteContent{}
	case KindCloseRoute:
		v = &RouteRef{}
	default:
		return nil, fmt.Errorf("unknown kind %q: expected one of %v", kind, Kinds)
	}
	if err := modules.DecodeStrict(content, v); err != nil {
		return nil, fmt.Errorf("%s content: %w", kind, err)
	}
	if err := v.validate(); err != nil {
		return nil, fmt.Errorf("%s content: %w", kind, err)
	}
	if r, ok := v.(*removeValidator); ok {
		return &r.ValidatorPower, nil
	}
	return v, nil
}

func (c *AddOrg) validate() error {
	if err := identity.ValidateOrgID(c.ID); err != nil {
		return err
	}
	if c.Name == "" || len(c.Name) > 128 {
		return fmt.Errorf("name must be 1-128 bytes")
	}
	if err := c.Admin.Validate(); err != nil {
		return err
	}
	if c.Validator != nil {
		return validateValidator(c.Validator.PubKey, c.Validator.Power, 1)
	}
	return nil
}

func (c *OrgRef) validate() error { return identity.ValidateOrgID(c.ID) }

func (c *AddValidator) validate() error {
	if err := identity.ValidateOrgID(c.Org); err != nil {
		return err
	}
	return validateValidator(c.PubKey, c.Power, 1)
}

func (c *ValidatorPower) validate() error { return validateValidator(c.PubKey, c.Power, 1) }

// removeValidator is ValidatorPower with the power absent (0).
type removeValidator struct{ ValidatorPower }

func (c *removeValidator) validate() error {
	if c.Power != 0 {
		return fmt.Errorf("remove_validator takes no power")
	}
	return validateValidator(c.PubKey, 0, 0)
}

func validateValidator(pub []byte, power, minPower int64) error {
	if len(pub) != crypto.Ed25519PubKeySize {
		return fmt.Errorf("pub_key is %d bytes, expected a %d-byte ed25519 consensus key", len(pub), crypto.Ed25519PubKeySize)
	}
	if power < minPower || power > identity.MaxValidatorPower {
		return fmt.Errorf("power %d: expected %d..%d", power, minPower, identity.MaxValidatorPower)
	}
	return nil
}

func (c *RoleChange) validate() error {
	if c.Address.IsZero() {
		return fmt.Errorf("address is required")
	}
	if !identity.IsNetworkRole(c.Role) {
		return fmt.Errorf("role %q: governance grants network roles %v (organisation admins grant the others)", c.Role, identity.NetworkRoles)
	}
	return nil
}

func (c *SetParams) validate() error {
	if c.Gov == nil && c.Credits == nil && c.Block == nil && c.ABCI == nil {
		return fmt.Errorf("nothing to set: give gov, credits, block and/or abci")
	}
	if c.Gov != nil {
		if err := c.Gov.Validate(); err != nil {
			return fmt.Errorf("gov: %w", err)
		}
	}
	if c.Credits != nil {
		if err := c.Credits.Validate(); err != nil {
			return fmt.Errorf("credits: %w", err)
		}
	}
	if c.Block != nil {
		if err := c.Block.Validate(); err != nil {
			return err
		}
	}
	if c.ABCI != nil {
		if err := c.ABCI.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// formatTime formats a block time as stored in records.
func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
