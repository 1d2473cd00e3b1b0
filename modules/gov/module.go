package gov

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules"
	"github.com/lianchain/lian/modules/credits"
	"github.com/lianchain/lian/modules/identity"
	"github.com/lianchain/lian/modules/xchain"
	"github.com/lianchain/lian/store"
	"github.com/lianchain/lian/txs"
)

// Name is the module's name and store prefix.
const Name = "gov"

// Event types.
const (
	EventSubmitted = "lian.gov.proposal_submitted"
	EventVoted     = "lian.gov.vote"
	EventDecided   = "lian.gov.proposal_decided" // status: executed, failed, rejected or expired
)

// Registry is what governance changes in the organisation registry (the identity
// module implements it).
type Registry interface {
	CountActiveOrgs(ctx *modules.Context) uint64
	OrgActive(ctx *modules.Context, id string) bool
	AddOrg(ctx *modules.Context, id, name string, admin identity.NewOrgAdmin) error
	SetOrgStatus(ctx *modules.Context, id, status string) error
	SetNetworkRole(ctx *modules.Context, addr crypto.Address, role string, grant bool) error
	AddValidator(ctx *modules.Context, org string, pubKey []byte, power int64) error
	SetValidatorPower(ctx *modules.Context, pubKey []byte, power int64) error
}

// CreditParams is what governance changes in the credits module.
type CreditParams interface {
	SetParams(ctx *modules.Context, p *credits.Params) error
}

// CrossChain is what governance changes in the xchain module: which chains to trust
// and which routes to open.
type CrossChain interface {
	CreateClient(ctx *modules.Context, p *xchain.ClientParams) error
	ReplaceClient(ctx *modules.Context, p *xchain.ClientParams) error
	OpenRoute(ctx *modules.Context, p *xchain.RouteParams) error
	CloseRoute(ctx *modules.Context, id string) error
}

// Module is the governance module.
type Module struct {
	reg     Registry
	credits CreditParams
	xchain  CrossChain
	// genesisVE is abci.vote_extensions_enable_height of the chain's genesis (the same
	// on every node), in effect until a proposal changes it (keyVoteExt).
	genesisVE int64
}

// SetGenesisVoteExtensionsHeight tells the module the vote extensions' enable height
// of the chain's genesis (consensus_params.abci). The application calls it at
// InitChain and, for a chain that is resuming, before it executes any block.
func (m *Module) SetGenesisVoteExtensionsHeight(h int64) { m.genesisVE = h }

// VoteExtensionsHeight returns the height from which the chain's precommits carry
// vote extensions (0: never). kv is the module's prefix.
func (m *Module) VoteExtensionsHeight(kv store.Reader) int64 {
	if b := kv.Get(keyVoteExt); len(b) == 8 {
		return int64(binary.BigEndian.Uint64(b))
	}
	return m.genesisVE
}

// setVoteExtensionsHeight schedules vote extensions from height h, checking what
// CometBFT checks of the update (types.ConsensusParams.ValidateUpdate), since
// consensus halts on an update it refuses.
func (m *Module) setVoteExtensionsHeight(ctx *modules.Context, h int64) error {
	cur := m.VoteExtensionsHeight(ctx.Store)
	switch {
	case cur > 0 && cur <= ctx.Height:
		return errcode.New(errcode.InvalidMessage,
			"abci vote_extensions_enable_height: vote extensions are on since height %d and cannot change", cur)
	case h <= ctx.Height:
		return errcode.New(errcode.InvalidMessage,
			"abci vote_extensions_enable_height %d: expected a height after %d, the height executing the proposal", h, ctx.Height)
	}
	ctx.Store.Set(keyVoteExt, binary.BigEndian.AppendUint64(nil, uint64(h)))
	ctx.UpdateVoteExtensionsHeight(h)
	return nil
}

// New returns the governance module over the registry, the credit parameters and the
// cross-chain module.
func New(reg Registry, cp CreditParams, xc CrossChain) *Module {
	return &Module{reg: reg, credits: cp, xchain: xc}
}

// Name implements modules.Module.
func (*Module) Name() string { return Name }

// Msgs implements modules.Module.
func (m *Module) Msgs() []modules.MsgType {
	return []modules.MsgType{
		{TypeURL: TypeSubmitProposal, Decode: DecodeSubmitProposal, Roles: []string{identity.RoleAdmin}, Handle: m.submit},
		{TypeURL: TypeVote, Decode: DecodeVote, Roles: []string{identity.RoleAdmin}, Handle: m.vote},
	}
}

// MaxExpiriesPerBlock bounds the proposals EndBlock closes in one block; the rest
// follow in the next blocks.
const MaxExpiriesPerBlock = 100

var (
	keyParams  = []byte("p")
	keyVoteExt = []byte("ve") // abci.vote_extensions_enable_height, once a proposal set it
	keyNextID  = []byte("c/next_id")
)

func proposalKey(id uint64) []byte { return binary.BigEndian.AppendUint64([]byte("pr/"), id) }

func votePrefix(id uint64) []byte {
	return append(binary.BigEndian.AppendUint64([]byte("vt/"), id), '/')
}

func voteKey(id uint64, org string) []byte { return append(votePrefix(id), org...) }

// deadlineKey orders open proposals by deadline: q/<unix nanos>/<id>.
func deadlineKey(deadline time.Time, id uint64) []byte {
	k := binary.BigEndian.AppendUint64([]byte("q/"), uint64(deadline.UnixNano()))
	return binary.BigEndian.AppendUint64(append(k, '/'), id)
}

// GetParams returns the parameters. kv is the module's prefix.
func GetParams(kv store.Reader) (*Params, error) {
	var p Params
	if err := json.Unmarshal(kv.Get(keyParams), &p); err != nil {
		return nil, fmt.Errorf("decode gov parameters: %w", err)
	}
	return &p, nil
}

// GetProposal returns a proposal, or nil. kv is the module's prefix.
func GetProposal(kv store.Reader, id uint64) (*Proposal, error) {
	b := kv.Get(proposalKey(id))
	if b == nil {
		return nil, nil
	}
	var p Proposal
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("decode proposal %d: %w", id, err)
	}
	return &p, nil
}

func (m *Module) submit(ctx *modules.Context, msg txs.Msg) error {
	r := msg.(*MsgSubmitProposal)
	params, err := GetParams(ctx.Store)
	if err != nil {
		return errcode.Wrap(errcode.Internal, err)
	}
	id := uint64(1)
	if b := ctx.Store.Get(keyNextID); len(b) == 8 {
		id = binary.BigEndian.Uint64(b)
	}
	ctx.Store.Set(keyNextID, binary.BigEndian.AppendUint64(nil, id+1))
	// The proposal is written in CheckTx too: a vote on it later in the same
	// transaction must find it there as in the block.
	deadline := ctx.Time.Add(time.Duration(params.VotingPeriod) * time.Second)
	p := &Proposal{
		ID: id, Kind: r.Kind, Title: r.Title, Content: json.RawMessage(bytes.Clone(r.Content)),
		Proposer: ctx.Sender.Address, Org: ctx.Sender.Org, SubmitHeight: ctx.Height,
		SubmitTime: formatTime(ctx.Time), Deadline: formatTime(deadline), Status: StatusVoting,
		Required: params.Required(m.reg.CountActiveOrgs(ctx)),
	}
	put(ctx.Store, p)
	ctx.Store.Set(deadlineKey(deadline, id), []byte{})
	ctx.Emit(EventSubmitted, modules.Indexed("proposal", strconv.FormatUint(id, 10)), modules.A("kind", r.Kind),
		modules.A("title", r.Title), modules.A("proposer", ctx.Sender.Address.String()), modules.A("org", ctx.Sender.Org),
		modules.A("deadline", p.Deadline))
	return nil
}

func put(kv store.KV, p *Proposal) { kv.Set(proposalKey(p.ID), modules.MustJSON(p)) }

func (m *Module) vote(ctx *modules.Context, msg txs.Msg) error {
	r := msg.(*MsgVote)
	p, err := GetProposal(ctx.Store, r.ProposalID)
	if err != nil {
		return errcode.Wrap(errcode.Internal, err)
	}
	if p == nil {
		return errcode.New(errcode.NotFound, "vote: no proposal %d", r.ProposalID)
	}
	if p.Status != StatusVoting {
		return errcode.New(errcode.Closed, "vote: proposal %d is %s (at height %d)", p.ID, p.Status, p.DecidedHeight)
	}
	deadline, err := time.Parse(time.RFC3339Nano, p.Deadline)
	if err != nil {
		return errcode.Wrap(errcode.Internal, err)
	}
	if !ctx.Time.Before(deadline) {
		return errcode.New(errcode.Closed, "vote: proposal %d's deadline %s has passed", p.ID, p.Deadline)
	}
	org := ctx.Sender.Org
	vk := voteKey(p.ID, org)
	if b := ctx.Store.Get(vk); b != nil {
		var old Vote
		_ = json.Unmarshal(b, &old)
		return errcode.New(errcode.AlreadyExists, "vote: organisation %q voted %s on proposal %d already (by %s)", org, old.Option, p.ID, old.Voter)
	}
	ctx.Store.Set(vk, modules.MustJSON(&Vote{ProposalID: p.ID, Org: org, Voter: ctx.Sender.Address, Option: r.Option, Height: ctx.Height}))
	if ctx.CheckOnly {
		return nil
	}
	q := *p
	switch r.Option {
	case VoteYes:
		q.Yes++
	case VoteNo:
		q.No++
	default:
		q.Abstain++
	}
	ctx.Emit(EventVoted, modules.Indexed("proposal", strconv.FormatUint(p.ID, 10)), modules.A("org", org),
		modules.A("voter", ctx.Sender.Address.String()), modules.A("option", r.Option))
	params, err := GetParams(ctx.Store)
	if err != nil {
		return errcode.Wrap(errcode.Internal, err)
	}
	active := m.reg.CountActiveOrgs(ctx)
	q.Required = params.Required(active)
	voted := q.Yes + q.No + q.Abstain
	left := uint64(0)
	if active > voted {
		left = active - voted
	}
	switch {
	case q.Yes >= q.Required:
		m.execute(ctx, &q)
	case q.Yes+left < q.Required:
		m.decide(ctx, &q, StatusRejected, deadline)
	default:
		put(ctx.Store, &q)
	}
	return nil
}

// execute runs a passed proposal once, on a branch: a failing execution changes
// nothing but the proposal's status.
func (m *Module) execute(ctx *modules.Context, p *Proposal) {
	deadline, _ := time.Parse(time.RFC3339Nano, p.Deadline)
	b := ctx.Branch()
	if err := m.apply(b.Context, p); err != nil {
		p.Error = errcode.Message(err)
		m.decide(ctx, p, StatusFailed, deadline)
		return
	}
	b.Commit()
	m.decide(ctx, p, StatusExecuted, deadline)
}

// decide records a proposal's final status and takes it out of the deadline queue.
func (m *Module) decide(ctx *modules.Context, p *Proposal, status string, deadline time.Time) {
	p.Status = status
	p.DecidedHeight = ctx.Height
	put(ctx.Store, p)
	ctx.Store.Delete(deadlineKey(deadline, p.ID))
	attrs := []modules.Attr{modules.Indexed("proposal", strconv.FormatUint(p.ID, 10)), modules.A("kind", p.Kind),
		modules.A("status", status), modules.A("yes", strconv.FormatUint(p.Yes, 10)),
		modules.A("no", strconv.FormatUint(p.No, 10)), modules.A("abstain", strconv.FormatUint(p.Abstain, 10)),
		modules.A("required", strconv.FormatUint(p.Required, 10))}
	if p.Error != "" {
		attrs = append(attrs, modules.A("error", p.Error))
	}
	ctx.Emit(EventDecided, attrs...)
}

// apply makes a proposal's change.
func (m *Module) apply(ctx *modules.Context, p *Proposal) error {
	content, err := DecodeContent(p.Kind, p.Content)
	if err != nil {
		return errcode.New(errcode.InvalidMessage, "%v", err)
	}
	switch c := content.(type) {
	case *AddOrg:
		if err := m.reg.AddOrg(ctx, c.ID, c.Name, c.Admin); err != nil {
			return err
		}
		if c.Validator != nil {
			return m.reg.AddValidator(ctx, c.ID, c.Validator.PubKey, c.Validator.Power)
		}
		return nil
	case *OrgRef:
		status := map[string]string{KindSuspendOrg: identity.StatusSuspended, KindResumeOrg: identity.StatusActive,
			KindRemoveOrg: identity.StatusRemoved}[p.Kind]
		return m.reg.SetOrgStatus(ctx, c.ID, status)
	case *AddValidator:
		return m.reg.AddValidator(ctx, c.Org, c.PubKey, c.Power)
	case *ValidatorPower:
		return m.reg.SetValidatorPower(ctx, c.PubKey, c.Power)
	case *RoleChange:
		return m.reg.SetNetworkRole(ctx, c.Address, c.Role, p.Kind == KindGrantRole)
	case *SetParams:
		if c.Gov != nil {
			ctx.Store.Set(keyParams, modules.MustJSON(c.Gov))
		}
		if c.Credits != nil {
			if err := m.credits.SetParams(ctx, c.Credits); err != nil {
				return err
			}
		}
		if c.Block != nil {
			ctx.UpdateBlockParams(c.Block.MaxBytes, c.Block.MaxGas)
		}
		if c.ABCI != nil {
			return m.setVoteExtensionsHeight(ctx, c.ABCI.VoteExtensionsEnableHeight)
		}
		return nil
	case *ClientContent:
		if p.Kind == KindCreateClient {
			return m.xchain.CreateClient(ctx, &c.ClientParams)
		}
		return m.xchain.ReplaceClient(ctx, &c.ClientParams)
	case *RouteContent:
		return m.xchain.OpenRoute(ctx, &c.RouteParams)
	case *RouteRef:
		return m.xchain.CloseRoute(ctx, c.ID)
	}
	return errcode.New(errcode.Internal, "proposal kind %q has no executor", p.Kind)
}

// EndBlock closes the proposals whose deadline has come (at most
// MaxExpiriesPerBlock per block): a proposal still open at its deadline expired.
func (m *Module) EndBlock(ctx *modules.Context) error {
	end := binary.BigEndian.AppendUint64([]byte("q/"), uint64(ctx.Time.UnixNano())+1)
	type due struct {
		key []byte
		id  uint64
	}
	var list []due
	ctx.Store.Iterate([]byte("q/"), end, func(k, _ []byte) bool {
		if len(k) == 2+8+1+8 {
			list = append(list, due{bytes.Clone(k), binary.BigEndian.Uint64(k[11:])})
		}
		return len(list) < MaxExpiriesPerBlock
	})
	for _, d := range list {
		ctx.Store.Delete(d.key)
		p, err := GetProposal(ctx.Store, d.id)
		if err != nil {
			return err
		}
		if p == nil || p.Status != StatusVoting {
			continue
		}
		params, err := GetParams(ctx.Store)
		if err != nil {
			return err
		}
		p.Required = params.Required(m.reg.CountActiveOrgs(ctx))
		deadline, _ := time.Parse(time.RFC3339Nano, p.Deadline)
		m.decide(ctx, p, StatusExpired, deadline)
	}
	return nil
}

// Genesis is the module's genesis state.
type Genesis struct {
	Params *Params `json:"params,omitempty"` // nil: DefaultParams
}

// InitGenesis implements modules.Module.
func (m *Module) InitGenesis(ctx *modules.Context, raw json.RawMessage) error {
	var g Genesis
	if len(raw) > 0 && string(raw) != "null" {
		if err := modules.DecodeStrict(raw, &g); err != nil {
			return fmt.Errorf("gov genesis: %w", err)
		}
	}
	p := DefaultParams()
	if g.Params != nil {
		p = *g.Params
	}
	if err := p.Validate(); err != nil {
		return fmt.Errorf("gov genesis: %w", err)
	}
	ctx.Store.Set(keyParams, modules.MustJSON(&p))
	return nil
}

// Query paths.
const (
	QueryParams    = "params"    // data: none
	QueryProposal  = "proposal"  // data: decimal id
	QueryProposals = "proposals" // data: JSON ListRequest; value: JSON []Proposal, newest first
	QueryVotes     = "votes"     // data: decimal id; value: JSON []Vote
)

// ListRequest pages through proposals from the newest: Before is an id to start
// below (0: the newest), Status filters (empty: all).
type ListRequest struct {
	Before uint64 `json:"before"`
	Status string `json:"status"`
	Limit  int    `json:"limit"` // 1..100, default 20
}

// MaxScan bounds the proposals one list query reads.
const MaxScan = 1000

// Query implements modules.Module.
func (m *Module) Query(ctx *modules.QueryContext, path string, data []byte) ([]byte, []byte, error) {
	switch path {
	case QueryParams:
		return keyParams, ctx.Store.Get(keyParams), nil
	case QueryProposal, QueryVotes:
		id, err := strconv.ParseUint(string(data), 10, 64)
		if err != nil || id == 0 {
			return nil, nil, errcode.New(errcode.InvalidRequest, "query %s: proposal id %q: expected a positive integer", path, data)
		}
		if path == QueryProposal {
			k := proposalKey(id)
			v := ctx.Store.Get(k)
			if v == nil {
				return k, nil, errcode.New(errcode.NotFound, "no proposal %d", id)
			}
			return k, v, nil
		}
		out := []json.RawMessage{}
		ctx.Store.Iterate(votePrefix(id), store.PrefixEnd(votePrefix(id)), func(_, v []byte) bool {
			out = append(out, bytes.Clone(v))
			return len(out) < MaxScan
		})
		b, _ := json.Marshal(out)
		return nil, b, nil
	case QueryProposals:
		var req ListRequest
		if len(data) > 0 {
			if err := json.Unmarshal(data, &req); err != nil {
				return nil, nil, errcode.New(errcode.InvalidRequest, "query proposals: %v", err)
			}
		}
		if req.Limit == 0 {
			req.Limit = 20
		}
		if req.Limit < 1 || req.Limit > 100 {
			return nil, nil, errcode.New(errcode.InvalidRequest, "query proposals: limit %d: expected 1..100", req.Limit)
		}
		switch req.Status {
		case "", StatusVoting, StatusExecuted, StatusFailed, StatusRejected, StatusExpired:
		default:
			return nil, nil, errcode.New(errcode.InvalidRequest, "query proposals: status %q: expected voting, executed, failed, rejected or expired", req.Status)
		}
		next := uint64(1)
		if b := ctx.Store.Get(keyNextID); len(b) == 8 {
			next = binary.BigEndian.Uint64(b)
		}
		id := next - 1
		if req.Before > 0 && req.Before <= next {
			id = req.Before - 1
		}
		out := []*Proposal{}
		for scanned := 0; id > 0 && len(out) < req.Limit && scanned < MaxScan; id, scanned = id-1, scanned+1 {
			p, err := GetProposal(ctx.Store, id)
			if err != nil {
				return nil, nil, errcode.Wrap(errcode.Internal, err)
			}
			if p != nil && (req.Status == "" || p.Status == req.Status) {
				out = append(out, p)
			}
		}
		b, _ := json.Marshal(out)
		return nil, b, nil
	}
	return nil, nil, errcode.New(errcode.InvalidRequest, "unknown gov query %q: expected params, proposal, proposals or votes", path)
}
