package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules/credits"
	"github.com/lianchain/lian/modules/gov"
	"github.com/lianchain/lian/modules/identity"
)

// MaxPageLimit is the largest page the gateway's list routes answer.
const MaxPageLimit = 100

// GovParams are the governance parameters at a state height.
type GovParams struct {
	Params gov.Params `json:"params"`
	Height int64      `json:"height"`
}

// GovParams returns the governance parameters (GET /v1/chains/{chain}/gov/params).
func (c *Client) GovParams(ctx context.Context, chain string) (*GovParams, error) {
	var doc api.Params
	if err := c.get(ctx, chain, nil, &doc, "gov", "params"); err != nil {
		return nil, err
	}
	out := &GovParams{Height: doc.Height}
	if err := decodeRecord("governance parameters", doc.Params, &out.Params); err != nil {
		return nil, err
	}
	return out, nil
}

// ConsensusParams returns the consensus parameters CometBFT applied to a node's latest
// committed block, at Height (GET /v1/chains/{chain}/consensus-params).
func (c *Client) ConsensusParams(ctx context.Context, chain string) (*api.ConsensusParams, error) {
	var out api.ConsensusParams
	if err := c.get(ctx, chain, nil, &out, "consensus-params"); err != nil {
		return nil, err
	}
	return &out, nil
}

// ProposalQuery selects a page of proposals, newest first.
type ProposalQuery struct {
	// Status keeps the proposals of one status (gov.StatusVoting, ...); empty: all.
	Status string
	// Limit is the page size, 1..MaxPageLimit; 0: the gateway's default (20).
	Limit int
	// Before lists the proposals with an id below it; 0: from the newest. Pass the Next
	// of a page to get the page after it.
	Before uint64
}

// ProposalPage is a page of proposals, newest first.
type ProposalPage struct {
	Proposals []gov.Proposal `json:"proposals"`
	// Next is the Before of the next (older) page; 0 when there is none.
	Next   uint64 `json:"next,omitempty"`
	Height int64  `json:"height"`
}

// Proposals returns a page of proposals (GET /v1/chains/{chain}/gov/proposals).
func (c *Client) Proposals(ctx context.Context, chain string, q ProposalQuery) (*ProposalPage, error) {
	v := url.Values{}
	if q.Status != "" {
		v.Set("status", q.Status)
	}
	if err := setLimit(v, q.Limit); err != nil {
		return nil, err
	}
	if q.Before > 0 {
		v.Set("before", strconv.FormatUint(q.Before, 10))
	}
	var doc api.Proposals
	if err := c.get(ctx, chain, v, &doc, "gov", "proposals"); err != nil {
		return nil, err
	}
	out := &ProposalPage{Proposals: make([]gov.Proposal, len(doc.Proposals)), Height: doc.Height}
	for i, raw := range doc.Proposals {
		if err := decodeRecord("proposal", raw, &out.Proposals[i]); err != nil {
			return nil, err
		}
	}
	if doc.Next != "" {
		n, err := strconv.ParseUint(doc.Next, 10, 64)
		if err != nil || n == 0 {
			return nil, malformed(fmt.Sprintf("next proposal cursor %q is not a proposal id", doc.Next))
		}
		out.Next = n
	}
	return out, nil
}

// ProposalDetail is a proposal with its tally and the votes cast so far.
type ProposalDetail struct {
	Proposal gov.Proposal `json:"proposal"`
	Votes    []gov.Vote   `json:"votes"`
	Height   int64        `json:"height"`
}

// Proposal returns a proposal and its votes (GET /v1/chains/{chain}/gov/proposals/{id}).
func (c *Client) Proposal(ctx context.Context, chain string, id uint64) (*ProposalDetail, error) {
	if id == 0 {
		return nil, errcode.New(errcode.InvalidRequest, "proposal id 0: proposals are numbered from 1")
	}
	var doc api.Proposal
	if err := c.get(ctx, chain, nil, &doc, "gov", "proposals", strconv.FormatUint(id, 10)); err != nil {
		return nil, err
	}
	out := &ProposalDetail{Votes: make([]gov.Vote, len(doc.Votes)), Height: doc.Height}
	if err := decodeRecord("proposal", doc.Proposal, &out.Proposal); err != nil {
		return nil, err
	}
	for i, raw := range doc.Votes {
		if err := decodeRecord("vote", raw, &out.Votes[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// CreditParams are the credits parameters (gas schedule, prices) at a state height.
type CreditParams struct {
	Params credits.Params `json:"params"`
	Height int64          `json:"height"`
}

// CreditParams returns the credits parameters (GET /v1/chains/{chain}/credits/params).
func (c *Client) CreditParams(ctx context.Context, chain string) (*CreditParams, error) {
	var doc api.Params
	if err := c.get(ctx, chain, nil, &doc, "credits", "params"); err != nil {
		return nil, err
	}
	out := &CreditParams{Height: doc.Height}
	if err := decodeRecord("credits parameters", doc.Params, &out.Params); err != nil {
		return nil, err
	}
	return out, nil
}

// Balance returns the credits of a holder, a 0x address or "org:<id>"
// (GET /v1/chains/{chain}/credits/balances/{holder}).
func (c *Client) Balance(ctx context.Context, chain, holder string) (*api.Balance, error) {
	h, err := ParseHolder(holder)
	if err != nil {
		return nil, err
	}
	var out api.Balance
	if err := c.get(ctx, chain, nil, &out, "credits", "balances", h.String()); err != nil {
		return nil, err
	}
	return &out, nil
}

// SponsorshipInfo is an organisation's sponsorship of its members' fees.
type SponsorshipInfo struct {
	Org         string              `json:"org"`
	Sponsorship credits.Sponsorship `json:"sponsorship"`
	Height      int64               `json:"height"`
}

// Sponsorship returns an organisation's sponsorship
// (GET /v1/chains/{chain}/credits/sponsorships/{org}); an *Error with code not_found if
// it sponsors nothing.
func (c *Client) Sponsorship(ctx context.Context, chain, org string) (*SponsorshipInfo, error) {
	if err := identity.ValidateOrgID(org); err != nil {
		return nil, errcode.New(errcode.InvalidRequest, "%v", err)
	}
	var doc api.Sponsorship
	if err := c.get(ctx, chain, nil, &doc, "credits", "sponsorships", org); err != nil {
		return nil, err
	}
	out := &SponsorshipInfo{Org: doc.Org, Height: doc.Height}
	if err := decodeRecord("sponsorship", doc.Sponsorship, &out.Sponsorship); err != nil {
		return nil, err
	}
	return out, nil
}

// PageQuery selects a page of a statement: Limit entries (1..MaxPageLimit; 0: the
// gateway's default) after Cursor (the Next of the previous page; empty: from the first).
type PageQuery struct {
	Limit  int
	Cursor string
}

// Statement returns a page of a holder's statement: top-ups and charges, oldest first
// (GET /v1/chains/{chain}/credits/statements/{holder}).
func (c *Client) Statement(ctx context.Context, chain, holder string, q PageQuery) (*api.Statement, error) {
	h, err := ParseHolder(holder)
	if err != nil {
		return nil, err
	}
	v := url.Values{}
	if err := setLimit(v, q.Limit); err != nil {
		return nil, err
	}
	if q.Cursor != "" {
		v.Set("cursor", q.Cursor)
	}
	var out api.Statement
	if err := c.get(ctx, chain, v, &out, "credits", "statements", h.String()); err != nil {
		return nil, err
	}
	return &out, nil
}

// TxQuery selects a page of an account's transactions.
type TxQuery struct {
	Limit  int    // 1..MaxPageLimit; 0: the gateway's default (20)
	Cursor string // the Next of the previous page (asked in the same order); empty: from the first
	Desc   bool   // newest first
}

// AccountTxs returns a page of the transactions an account sent, each with its result,
// decoded body, signer and block time (GET /v1/chains/{chain}/accounts/{address}/txs).
func (c *Client) AccountTxs(ctx context.Context, chain string, addr crypto.Address, q TxQuery) (*api.TxPage, error) {
	if addr.IsZero() {
		return nil, errcode.New(errcode.InvalidRequest, "account transactions: zero address")
	}
	v := url.Values{}
	if err := setLimit(v, q.Limit); err != nil {
		return nil, err
	}
	if q.Cursor != "" {
		v.Set("cursor", q.Cursor)
	}
	if q.Desc {
		v.Set("order", "desc")
	}
	var out api.TxPage
	if err := c.get(ctx, chain, v, &out, "accounts", addr.String(), "txs"); err != nil {
		return nil, err
	}
	return &out, nil
}

// Validators returns the chain's validators as the identity module records them
// (GET /v1/chains/{chain}/validators).
func (c *Client) Validators(ctx context.Context, chain string) (*api.Validators, error) {
	var out api.Validators
	if err := c.get(ctx, chain, nil, &out, "validators"); err != nil {
		return nil, err
	}
	return &out, nil
}

// OrgList is the chain's organisations at a state height.
type OrgList struct {
	Orgs   []identity.Org `json:"orgs"`
	Height int64          `json:"height"`
}

// Orgs returns the chain's organisations (GET /v1/chains/{chain}/orgs).
func (c *Client) Orgs(ctx context.Context, chain string) (*OrgList, error) {
	var doc api.Orgs
	if err := c.get(ctx, chain, nil, &doc, "orgs"); err != nil {
		return nil, err
	}
	out := &OrgList{Orgs: make([]identity.Org, len(doc.Orgs)), Height: doc.Height}
	for i, raw := range doc.Orgs {
		if err := decodeRecord("organisation", raw, &out.Orgs[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// get GETs /v1/chains/{chain}/{segments...}?q into out.
func (c *Client) get(ctx context.Context, chain string, q url.Values, out any, segments ...string) error {
	p, err := chainPath(chain, segments...)
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodGet, p, q, nil, out)
}

func setLimit(v url.Values, limit int) error {
	if limit < 0 || limit > MaxPageLimit {
		return errcode.New(errcode.InvalidRequest, "limit %d: expected 1..%d (0: the gateway's default)", limit, MaxPageLimit)
	}
	if limit > 0 {
		v.Set("limit", strconv.Itoa(limit))
	}
	return nil
}

// decodeRecord decodes a chain record the gateway passed through.
func decodeRecord(what string, raw json.RawMessage, out any) error {
	if err := json.Unmarshal(raw, out); err != nil {
		return malformed(fmt.Sprintf("%s: %v", what, err))
	}
	return nil
}

func malformed(msg string) *Error {
	return &Error{Status: http.StatusOK, Code: errcode.Internal.String(), Message: "malformed response: " + msg}
}
