package gateway

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/ed25519"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules/credits"
	"github.com/lianchain/lian/modules/gov"
	"github.com/lianchain/lian/modules/identity"
)

// Query paths of the governance, credits and registry routes.
var (
	pathGovParams      = "/" + gov.Name + "/" + gov.QueryParams
	pathProposal       = "/" + gov.Name + "/" + gov.QueryProposal
	pathProposals      = "/" + gov.Name + "/" + gov.QueryProposals
	pathVotes          = "/" + gov.Name + "/" + gov.QueryVotes
	pathCreditParams   = "/" + credits.Name + "/" + credits.QueryParams
	pathBalance        = "/" + credits.Name + "/" + credits.QueryBalance
	pathSponsorship    = "/" + credits.Name + "/" + credits.QuerySponsorship
	pathStatement      = "/" + credits.Name + "/" + credits.QueryStatement
	pathOrg            = "/" + identity.Name + "/" + identity.QueryOrg
	pathOrgs           = "/" + identity.Name + "/" + identity.QueryOrgs
	pathIdentityVals   = "/" + identity.Name + "/" + identity.QueryValidators
	proposalStatusList = []string{gov.StatusVoting, gov.StatusExecuted, gov.StatusFailed, gov.StatusRejected, gov.StatusExpired}
)

// Page sizes of the list routes.
const (
	DefaultProposalLimit  = 20
	DefaultStatementLimit = 50
	DefaultTxPageLimit    = 20
	MaxPageLimit          = 100
)

// get runs an ABCI query at height (0: the latest) and returns its response, or the
// application's error as an *apiError.
func (n *rpcNode) get(ctx context.Context, path string, data []byte, height int64) (*abci.ResponseQuery, error) {
	res, err := n.query(ctx, path, data, height, false)
	if err != nil {
		return nil, err
	}
	if res.Code != 0 {
		return nil, appError(res)
	}
	return res, nil
}

// getJSONList runs a query whose value is a JSON array and returns its elements.
func (n *rpcNode) getJSONList(ctx context.Context, path string, data []byte, height int64) ([]json.RawMessage, int64, error) {
	res, err := n.get(ctx, path, data, height)
	if err != nil {
		return nil, 0, err
	}
	var list []json.RawMessage
	if err := json.Unmarshal(res.Value, &list); err != nil {
		return nil, 0, errorf(errcode.Internal, "query %s returned a value that is not a JSON array: %v", path, err)
	}
	if list == nil {
		list = []json.RawMessage{}
	}
	return list, res.Height, nil
}

// parseLimit reads ?limit= (1..max, def when absent).
func parseLimit(q url.Values, def, max int) (int, error) {
	s := q.Get("limit")
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > max || !isDigits(s) {
		return 0, errorf(errcode.InvalidRequest, "limit=%q: expected an integer from 1 to %d", truncate(s, 40), max)
	}
	return n, nil
}

// parseID parses a positive decimal number (a proposal id, a ?before=).
func parseID(what, s string) (uint64, error) {
	if !isDigits(s) || len(s) > 20 {
		return 0, errorf(errcode.InvalidRequest, "%s %q: expected a positive integer", what, truncate(s, 40))
	}
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil || id == 0 {
		return 0, errorf(errcode.InvalidRequest, "%s %q: expected a positive integer", what, truncate(s, 40))
	}
	return id, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, ch := range s {
		if ch < '0' || ch > '9' {
			return false
		}
	}
	return true
}

// getGovParams is GET /v1/chains/{chain}/gov/params.
func (g *Gateway) getGovParams(r *http.Request) (int, any, error) {
	return g.params(r, pathGovParams)
}

// getConsensusParams is GET /v1/chains/{chain}/consensus-params: what CometBFT
// applied to a node's latest committed block. CometBFT's consensus_params without a
// height reads those of the next block, which its state store holds only once the
// latest block is applied: asked in between, it fails.
func (g *Gateway) getConsensusParams(r *http.Request) (int, any, error) {
	c, err := g.chainOf(r)
	if err != nil {
		return 0, nil, err
	}
	var out *api.ConsensusParams
	err = c.do(r.Context(), func(ctx context.Context, n *rpcNode) error {
		st, err := n.rpc.Status(ctx)
		if err != nil {
			return err
		}
		h := st.SyncInfo.LatestBlockHeight
		res, err := n.rpc.ConsensusParams(ctx, &h)
		if err != nil {
			return err
		}
		p := res.ConsensusParams
		out = &api.ConsensusParams{
			Block: api.BlockParams{MaxBytes: p.Block.MaxBytes, MaxGas: p.Block.MaxGas},
			Evidence: api.EvidenceParams{MaxAgeNumBlocks: p.Evidence.MaxAgeNumBlocks,
				MaxAgeDuration: p.Evidence.MaxAgeDuration.String(), MaxBytes: p.Evidence.MaxBytes},
			Validator: api.ValidatorParams{PubKeyTypes: append([]string{}, p.Validator.PubKeyTypes...)},
			ABCI:      api.ABCIParams{VoteExtensionsEnableHeight: p.ABCI.VoteExtensionsEnableHeight},
			Height:    res.BlockHeight,
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, out, nil
}

// getCreditParams is GET /v1/chains/{chain}/credits/params.
func (g *Gateway) getCreditParams(r *http.Request) (int, any, error) {
	return g.params(r, pathCreditParams)
}

func (g *Gateway) params(r *http.Request, path string) (int, any, error) {
	c, err := g.chainOf(r)
	if err != nil {
		return 0, nil, err
	}
	v, h, err := c.record(r.Context(), path, nil, "the parameter record at "+path)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, &api.Params{Params: v, Height: h}, nil
}

// record reads a JSON record at the latest height through the chain's nodes (what
// names it in errors) and returns it with the height it was read at.
func (c *chain) record(ctx context.Context, path string, data []byte, what string) (json.RawMessage, int64, error) {
	var v json.RawMessage
	var h int64
	err := c.do(ctx, func(ctx context.Context, n *rpcNode) error {
		res, err := n.get(ctx, path, data, 0)
		if err != nil {
			return err
		}
		if !json.Valid(res.Value) {
			return errorf(errcode.Internal, "%s is not JSON", what)
		}
		v, h = res.Value, res.Height
		return nil
	})
	if err != nil {
		return nil, 0, nodeError(err, "")
	}
	return v, h, nil
}

// listProposals is GET /v1/chains/{chain}/gov/proposals[?status=][&limit=][&before=].
func (g *Gateway) listProposals(r *http.Request) (int, any, error) {
	c, err := g.chainOf(r)
	if err != nil {
		return 0, nil, err
	}
	q := r.URL.Query()
	limit, err := parseLimit(q, DefaultProposalLimit, MaxPageLimit)
	if err != nil {
		return 0, nil, err
	}
	// ?cursor= is ?before= under the name every list route uses.
	var before uint64
	b, cur := q.Get("before"), q.Get("cursor")
	if b != "" && cur != "" && b != cur {
		return 0, nil, errorf(errcode.InvalidRequest, "before=%q and cursor=%q: give one (they are the same parameter)", truncate(b, 40), truncate(cur, 40))
	}
	if cur != "" {
		if before, err = parseID("cursor", cur); err != nil {
			return 0, nil, err
		}
	} else if b != "" {
		if before, err = parseID("before", b); err != nil {
			return 0, nil, err
		}
	}
	status := q.Get("status")
	if status != "" && !slices.Contains(proposalStatusList, status) {
		return 0, nil, errorf(errcode.InvalidRequest, "status=%q: expected one of %v", truncate(status, 40), proposalStatusList)
	}
	req, _ := json.Marshal(gov.ListRequest{Before: before, Status: status, Limit: limit})
	var out *api.Proposals
	err = c.do(r.Context(), func(ctx context.Context, n *rpcNode) error {
		list, height, err := n.getJSONList(ctx, pathProposals, req, 0)
		if err != nil {
			return err
		}
		out = &api.Proposals{Proposals: list, Height: height}
		var next uint64
		if len(list) == limit {
			id, err := proposalID(list[len(list)-1])
			if err != nil {
				return err
			}
			if id > 1 {
				next = id
			}
		} else if status != "" {
			// The chain scans at most gov.MaxScan proposals per query; a short page of a
			// filtered list may end where the scan stopped, not at the first proposal.
			if next, err = n.proposalScanEnd(ctx, before, height); err != nil {
				return err
			}
		}
		if next > 0 {
			out.Next = strconv.FormatUint(next, 10)
		}
		return nil
	})
	if err != nil {
		return 0, nil, nodeError(err, "")
	}
	return http.StatusOK, out, nil
}

// proposalScanEnd returns the ?before= that continues a filtered proposal scan which
// started below before (0: at the newest), or 0 if the scan reached proposal 1.
func (n *rpcNode) proposalScanEnd(ctx context.Context, before uint64, height int64) (uint64, error) {
	newest, _ := json.Marshal(gov.ListRequest{Limit: 1})
	list, _, err := n.getJSONList(ctx, pathProposals, newest, height)
	if err != nil || len(list) == 0 {
		return 0, err
	}
	last, err := proposalID(list[0])
	if err != nil {
		return 0, err
	}
	start := last // the module starts at before-1 when before is within next id
	if before > 0 && before <= last+1 {
		start = before - 1
	}
	if start <= gov.MaxScan {
		return 0, nil
	}
	return start - gov.MaxScan + 1, nil
}

func proposalID(raw json.RawMessage) (uint64, error) {
	var p struct {
		ID uint64 `json:"id"`
	}
	if err := json.Unmarshal(raw, &p); err != nil || p.ID == 0 {
		return 0, errorf(errcode.Internal, "proposal record without an id: %s", truncate(string(raw), 100))
	}
	return p.ID, nil
}

// getProposal is GET /v1/chains/{chain}/gov/proposals/{id}.
func (g *Gateway) getProposal(r *http.Request) (int, any, error) {
	c, err := g.chainOf(r)
	if err != nil {
		return 0, nil, err
	}
	id, err := parseID("proposal id", r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	data := []byte(strconv.FormatUint(id, 10))
	var out *api.Proposal
	err = c.do(r.Context(), func(ctx context.Context, n *rpcNode) error {
		res, err := n.get(ctx, pathProposal, data, 0)
		if err != nil {
			return err
		}
		if !json.Valid(res.Value) {
			return errorf(errcode.Internal, "proposal %d is not JSON", id)
		}
		votes, _, err := n.getJSONList(ctx, pathVotes, data, res.Height)
		if err != nil {
			return err
		}
		out = &api.Proposal{Proposal: res.Value, Votes: votes, Height: res.Height}
		return nil
	})
	if err != nil {
		return 0, nil, nodeError(err, "")
	}
	return http.StatusOK, out, nil
}

// parseHolder parses a credits holder: a 0x address or org:<id>.
func parseHolder(s string) (credits.Holder, error) {
	h, err := credits.ParseHolder(s)
	if err != nil {
		return h, errorf(errcode.InvalidRequest, "holder %q: expected a 0x address (40 hex digits) or org:<organisation id>", truncate(s, 80))
	}
	return h, nil
}

// balance reads a holder's credits at height (0: the latest).
func (n *rpcNode) balance(ctx context.Context, h credits.Holder, height int64) (uint64, int64, error) {
	res, err := n.query(ctx, pathBalance, []byte(h.String()), height, false)
	if err != nil {
		return 0, 0, err
	}
	if res.Code != 0 {
		return 0, 0, appError(res)
	}
	if len(res.Value) != 8 {
		return 0, 0, errorf(errcode.Internal, "balance of %s is %d bytes, expected 8", h, len(res.Value))
	}
	return binary.BigEndian.Uint64(res.Value), res.Height, nil
}

// checkHolder answers not_found unless the holder's account or organisation exists at
// height.
func (n *rpcNode) checkHolder(ctx context.Context, h credits.Holder, height int64) error {
	if h.Account != nil {
		_, err := n.get(ctx, pathAccount, h.Account.Bytes(), height)
		return err
	}
	_, err := n.get(ctx, pathOrg, []byte(h.Org), height)
	return err
}

// getBalance is GET /v1/chains/{chain}/credits/balances/{holder}.
func (g *Gateway) getBalance(r *http.Request) (int, any, error) {
	c, err := g.chainOf(r)
	if err != nil {
		return 0, nil, err
	}
	h, err := parseHolder(r.PathValue("holder"))
	if err != nil {
		return 0, nil, err
	}
	var out *api.Balance
	err = c.do(r.Context(), func(ctx context.Context, n *rpcNode) error {
		bal, height, err := n.balance(ctx, h, 0)
		if err != nil {
			return err
		}
		if err := n.checkHolder(ctx, h, height); err != nil {
			return err
		}
		out = &api.Balance{Holder: h.String(), Credits: bal, Height: height}
		return nil
	})
	if err != nil {
		return 0, nil, nodeError(err, "")
	}
	return http.StatusOK, out, nil
}

// getSponsorship is GET /v1/chains/{chain}/credits/sponsorships/{org}.
func (g *Gateway) getSponsorship(r *http.Request) (int, any, error) {
	c, err := g.chainOf(r)
	if err != nil {
		return 0, nil, err
	}
	org := r.PathValue("org")
	if err := identity.ValidateOrgID(org); err != nil {
		return 0, nil, errorf(errcode.InvalidRequest, "%v", err)
	}
	var out *api.Sponsorship
	err = c.do(r.Context(), func(ctx context.Context, n *rpcNode) error {
		res, err := n.query(ctx, pathSponsorship, []byte(org), 0, false)
		if err != nil {
			return err
		}
		if res.Code != 0 {
			if errcode.Code(res.Code) == errcode.NotFound {
				// Say so if the organisation itself is unknown.
				if err := n.checkHolder(ctx, credits.OrgHolder(org), res.Height); err != nil {
					return err
				}
			}
			return appError(res)
		}
		if !json.Valid(res.Value) {
			return errorf(errcode.Internal, "sponsorship of %q is not JSON", org)
		}
		out = &api.Sponsorship{Org: org, Sponsorship: res.Value, Height: res.Height}
		return nil
	})
	if err != nil {
		return 0, nil, nodeError(err, "")
	}
	return http.StatusOK, out, nil
}

// getValidators is GET /v1/chains/{chain}/validators[?org=][&limit=][&cursor=].
func (g *Gateway) getValidators(r *http.Request) (int, any, error) {
	c, err := g.chainOf(r)
	if err != nil {
		return 0, nil, err
	}
	q := r.URL.Query()
	limit, err := parseLimit(q, MaxPageLimit, MaxPageLimit)
	if err != nil {
		return 0, nil, err
	}
	cursor := q.Get("cursor")
	if cursor != "" {
		k, err := hex.DecodeString(cursor)
		if err != nil || len(k) != ed25519.PubKeySize {
			return 0, nil, errorf(errcode.InvalidRequest, "cursor=%q: expected the next cursor of a previous page (a validator's public key, %d hex digits)", truncate(cursor, 80), 2*ed25519.PubKeySize)
		}
		cursor = strings.ToUpper(cursor)
	}
	org := q.Get("org")
	if org != "" {
		if err := identity.ValidateOrgID(org); err != nil {
			return 0, nil, errorf(errcode.InvalidRequest, "org=%q: %v", truncate(org, 80), err)
		}
	}
	var out *api.Validators
	err = c.do(r.Context(), func(ctx context.Context, n *rpcNode) error {
		res, err := n.get(ctx, pathIdentityVals, nil, 0)
		if err != nil {
			return err
		}
		var vals []identity.Validator
		if err := json.Unmarshal(res.Value, &vals); err != nil {
			return errorf(errcode.Internal, "validators record is not a JSON list: %v", err)
		}
		out = &api.Validators{Height: res.Height}
		list := make([]api.Validator, 0, len(vals))
		for _, v := range vals {
			if len(v.PubKey) != ed25519.PubKeySize {
				return errorf(errcode.Internal, "validator of %q has a %d-byte key", v.Org, len(v.PubKey))
			}
			out.TotalPower += v.Power
			if org != "" && v.Org != org {
				continue
			}
			list = append(list, api.Validator{
				PubKey: v.PubKey.String(), Address: ed25519.PubKey(v.PubKey).Address().String(), Org: v.Org, Power: v.Power,
			})
		}
		slices.SortFunc(list, func(a, b api.Validator) int { return strings.Compare(a.PubKey, b.PubKey) })
		out.Validators, out.Next = pageOf(list, func(v api.Validator) string { return v.PubKey }, cursor, limit)
		return nil
	})
	if err != nil {
		return 0, nil, nodeError(err, "")
	}
	return http.StatusOK, out, nil
}

// orgStatusList are the statuses an organisation can have.
var orgStatusList = []string{identity.StatusActive, identity.StatusSuspended, identity.StatusRemoved}

// getOrgs is GET /v1/chains/{chain}/orgs[?status=][&limit=][&cursor=].
func (g *Gateway) getOrgs(r *http.Request) (int, any, error) {
	c, err := g.chainOf(r)
	if err != nil {
		return 0, nil, err
	}
	q := r.URL.Query()
	limit, err := parseLimit(q, MaxPageLimit, MaxPageLimit)
	if err != nil {
		return 0, nil, err
	}
	cursor := q.Get("cursor")
	if cursor != "" {
		if err := identity.ValidateOrgID(cursor); err != nil {
			return 0, nil, errorf(errcode.InvalidRequest, "cursor=%q: expected the next cursor of a previous page (an organisation id)", truncate(cursor, 80))
		}
	}
	status := q.Get("status")
	if status != "" && !slices.Contains(orgStatusList, status) {
		return 0, nil, errorf(errcode.InvalidRequest, "status=%q: expected one of %v", truncate(status, 40), orgStatusList)
	}
	type orgRec struct {
		raw json.RawMessage
		id  string
	}
	var out *api.Orgs
	err = c.do(r.Context(), func(ctx context.Context, n *rpcNode) error {
		list, height, err := n.getJSONList(ctx, pathOrgs, nil, 0)
		if err != nil {
			return err
		}
		recs := make([]orgRec, 0, len(list))
		for i, o := range list {
			var head struct {
				ID     string `json:"id"`
				Status string `json:"status"`
			}
			if !bytes.HasPrefix(bytes.TrimSpace(o), []byte("{")) || json.Unmarshal(o, &head) != nil || head.ID == "" {
				return errorf(errcode.Internal, "organisation record %d is not a JSON object with an id", i)
			}
			if status == "" || head.Status == status {
				recs = append(recs, orgRec{raw: o, id: head.ID})
			}
		}
		slices.SortFunc(recs, func(a, b orgRec) int { return strings.Compare(a.id, b.id) })
		page, next := pageOf(recs, func(o orgRec) string { return o.id }, cursor, limit)
		out = &api.Orgs{Orgs: make([]json.RawMessage, len(page)), Next: next, Height: height}
		for i, o := range page {
			out.Orgs[i] = o.raw
		}
		return nil
	})
	if err != nil {
		return 0, nil, nodeError(err, "")
	}
	return http.StatusOK, out, nil
}
