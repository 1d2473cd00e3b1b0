package gateway

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cometbft/cometbft/crypto/ed25519"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	"github.com/cometbft/cometbft/types"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/app"
	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules/evidence"
	"github.com/lianchain/lian/modules/identity"
	"github.com/lianchain/lian/web"
)

// The routes of the explorer (package web, served at /): recent blocks with the
// validators that signed them, a block's commit signatures, an organisation's
// transactions, and a search across chains. See docs/gateway.md and docs/explorer.md.

// Limits of the explorer routes.
const (
	// DefaultBlockPageLimit is the default ?limit= of GET …/blocks (at most MaxPageLimit).
	DefaultBlockPageLimit = 20
	// MaxSearchQuery bounds the length of ?q= of GET /v1/search.
	MaxSearchQuery = 200
	// maxSearchResults bounds the results of one search.
	maxSearchResults = 50
	// blockInfoSpan is the most block metas one blockchain RPC call returns.
	blockInfoSpan = 20
	// commitFetchers bounds the commit RPC calls of one request in flight at once.
	commitFetchers = 8
)

// explorerRoutes registers the explorer's API routes and its web app.
func (g *Gateway) explorerRoutes(m web.Mux) {
	m.Handle("GET /v1/chains/{chain}/blocks", g.wrap(g.listBlocks))
	m.Handle("GET /v1/chains/{chain}/blocks/{height}/signatures", g.wrap(g.getBlockSignatures))
	m.Handle("GET /v1/chains/{chain}/orgs/{org}/txs", g.wrap(g.getOrgTxs))
	m.Handle("GET /v1/search", g.wrap(g.search))
	web.Register(m)
}

// blockPage is the body of GET /v1/chains/{chain}/blocks: blocks newest first.
type blockPage struct {
	Blocks       []blockSummary `json:"blocks"`
	LatestHeight int64          `json:"latest_height"`
	// Next is the ?cursor= of the next (older) page: the height of the last block listed.
	// Empty at the first block the node keeps.
	Next string `json:"next,omitempty"`
}

// blockSummary is one block of a blockPage.
type blockSummary struct {
	Height   int64     `json:"height"`
	Hash     string    `json:"hash"`
	Time     time.Time `json:"time"`
	Proposer string    `json:"proposer"` // validator address, upper-case hex
	NumTxs   int       `json:"num_txs"`
	// Signers are the addresses of the validators whose signature for this block is in
	// its commit as the node knows it (for the latest block, the votes it has seen so
	// far), of ValidatorCount. Null when the node has no commit for the block yet.
	Signers        []string `json:"signers"`
	ValidatorCount int      `json:"validator_count"`
}

// listBlocks is GET /v1/chains/{chain}/blocks[?limit=][&cursor=]: the blocks below the
// cursor's height (from the latest without one), newest first.
func (g *Gateway) listBlocks(r *http.Request) (int, any, error) {
	c, err := g.chainOf(r)
	if err != nil {
		return 0, nil, err
	}
	q := r.URL.Query()
	limit, err := parseLimit(q, DefaultBlockPageLimit, MaxPageLimit)
	if err != nil {
		return 0, nil, err
	}
	var before int64
	if s := q.Get("cursor"); s != "" {
		if before, err = parseHeight(s); err != nil {
			return 0, nil, errorf(errcode.InvalidRequest, "cursor=%q: expected the next of a previous page (a height)", truncate(s, 40))
		}
	}
	var out *blockPage
	err = c.do(r.Context(), func(ctx context.Context, n *rpcNode) error {
		st, err := n.status(ctx)
		if err != nil {
			return err
		}
		latest, base := st.SyncInfo.LatestBlockHeight, max(st.SyncInfo.EarliestBlockHeight, 1)
		out = &blockPage{Blocks: []blockSummary{}, LatestHeight: latest}
		top := latest
		if before > 0 {
			top = min(top, before-1)
		}
		for top >= base && len(out.Blocks) < limit {
			low := max(base, top-int64(min(limit-len(out.Blocks), blockInfoSpan))+1)
			res, err := n.blockchainInfo(ctx, low, top)
			if err != nil {
				return err
			}
			for _, m := range res.BlockMetas {
				if m == nil || m.Header.Height < low || m.Header.Height > top {
					continue
				}
				out.Blocks = append(out.Blocks, blockSummary{
					Height:   m.Header.Height,
					Hash:     m.BlockID.Hash.String(),
					Time:     m.Header.Time.UTC(),
					Proposer: m.Header.ProposerAddress.String(),
					NumTxs:   m.NumTxs,
				})
			}
			top = low - 1
		}
		slices.SortFunc(out.Blocks, func(a, b blockSummary) int { return cmpInt(b.Height, a.Height) })
		if err := n.fillSigners(ctx, out.Blocks); err != nil {
			return err
		}
		if k := len(out.Blocks); k > 0 && out.Blocks[k-1].Height > base {
			out.Next = strconv.FormatInt(out.Blocks[k-1].Height, 10)
		}
		return nil
	})
	if err != nil {
		return 0, nil, nodeError(err, "")
	}
	return http.StatusOK, out, nil
}

func (n *rpcNode) blockchainInfo(ctx context.Context, low, high int64) (*ctypes.ResultBlockchainInfo, error) {
	ctx, cancel := n.ctx(ctx)
	defer cancel()
	res, err := n.rpc.BlockchainInfo(ctx, low, high)
	if err == nil && res == nil {
		err = fmt.Errorf("empty blockchain result")
	}
	return res, err
}

// rawCommit returns the node's commit of height, and whether it is canonical (nil if the
// node has none).
func (n *rpcNode) rawCommit(ctx context.Context, height int64) (*ctypes.ResultCommit, error) {
	ctx, cancel := n.ctx(ctx)
	defer cancel()
	res, err := n.rpc.Commit(ctx, &height)
	if err != nil {
		return nil, err
	}
	if res == nil || res.Header == nil || res.Commit == nil || res.Commit.Height != height {
		return nil, nil
	}
	return res, nil
}

// fillSigners reads the commit of each block, a few at a time.
func (n *rpcNode) fillSigners(ctx context.Context, blocks []blockSummary) error {
	errs := make([]error, len(blocks))
	sem := make(chan struct{}, commitFetchers)
	var wg sync.WaitGroup
	for i := range blocks {
		b := &blocks[i]
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			res, err := n.rawCommit(ctx, b.Height)
			if err != nil {
				if rpcError(err) == nil {
					errs[i] = err
				}
				return // the node answered it has no such commit (yet)
			}
			if res == nil {
				return
			}
			b.ValidatorCount = len(res.Commit.Signatures)
			b.Signers = []string{}
			for _, s := range res.Commit.Signatures {
				if s.BlockIDFlag == types.BlockIDFlagCommit {
					b.Signers = append(b.Signers, s.ValidatorAddress.String())
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// blockSignatures is the body of GET /v1/chains/{chain}/blocks/{height}/signatures.
type blockSignatures struct {
	Height    int64  `json:"height"`
	BlockHash string `json:"block_hash"`
	// Canonical is false for the latest block: its commit is the votes the node has seen
	// so far; the next block's last commit is the canonical one.
	Canonical   bool        `json:"canonical"`
	Round       int32       `json:"round"`
	Signatures  []commitSig `json:"signatures"`
	SignedPower int64       `json:"signed_power"`
	TotalPower  int64       `json:"total_power"`
}

// commitSig is one validator's entry in a commit, in the validator set's order.
type commitSig struct {
	Address string `json:"address"`       // validator address, upper-case hex
	Org     string `json:"org,omitempty"` // the organisation running it, if it is still a validator
	Power   int64  `json:"power"`
	// Flag is "commit" (signed the block), "nil" (voted for no block) or "absent".
	Flag string     `json:"flag"`
	Time *time.Time `json:"time,omitempty"` // the vote's timestamp, when signed
}

// getBlockSignatures is GET /v1/chains/{chain}/blocks/{height|latest}/signatures.
func (g *Gateway) getBlockSignatures(r *http.Request) (int, any, error) {
	c, err := g.chainOf(r)
	if err != nil {
		return 0, nil, err
	}
	hs := r.PathValue("height")
	var height int64
	if hs != "latest" {
		if height, err = parseHeight(hs); err != nil {
			return 0, nil, err
		}
	}
	var out *blockSignatures
	err = c.do(r.Context(), func(ctx context.Context, n *rpcNode) error {
		h := height
		if h == 0 {
			st, err := n.status(ctx)
			if err != nil {
				return err
			}
			h = st.SyncInfo.LatestBlockHeight
		}
		res, err := n.rawCommit(ctx, h)
		switch {
		case err != nil && isNotFound(err), err == nil && res == nil:
			// Beyond this node's latest height, pruned here, or no commit yet:
			// another node may have it (as for the block itself, getBlock).
			return lacks(err, "block "+hs+" not found")
		case err != nil:
			return err
		}
		vals, err := n.validators(ctx, h)
		if err != nil {
			return err
		}
		if len(vals) != len(res.Commit.Signatures) {
			return errorf(errcode.Internal, "commit of block %d has %d signatures for %d validators", h, len(res.Commit.Signatures), len(vals))
		}
		orgs, err := n.validatorOrgs(ctx)
		if err != nil {
			return err
		}
		out = &blockSignatures{Height: h, BlockHash: res.Commit.BlockID.Hash.String(), Canonical: res.CanonicalCommit,
			Round: res.Commit.Round, Signatures: make([]commitSig, 0, len(vals))}
		for i, s := range res.Commit.Signatures {
			v := vals[i]
			cs := commitSig{Address: v.Address.String(), Org: orgs[v.Address.String()], Power: v.VotingPower}
			out.TotalPower += v.VotingPower
			switch s.BlockIDFlag {
			case types.BlockIDFlagCommit:
				cs.Flag = "commit"
				out.SignedPower += v.VotingPower
			case types.BlockIDFlagNil:
				cs.Flag = "nil"
			default:
				cs.Flag = "absent"
			}
			if s.BlockIDFlag != types.BlockIDFlagAbsent && !s.Timestamp.IsZero() {
				t := s.Timestamp.UTC()
				cs.Time = &t
			}
			out.Signatures = append(out.Signatures, cs)
		}
		return nil
	})
	if err != nil {
		return 0, nil, nodeError(err, fmt.Sprintf("block %s not found", hs))
	}
	return http.StatusOK, out, nil
}

// validatorOrgs maps the validator addresses the identity module records to their
// organisations.
func (n *rpcNode) validatorOrgs(ctx context.Context) (map[string]string, error) {
	res, err := n.get(ctx, pathIdentityVals, nil, 0)
	if err != nil {
		return nil, err
	}
	var vals []identity.Validator
	if err := json.Unmarshal(res.Value, &vals); err != nil {
		return nil, errorf(errcode.Internal, "validators record is not a JSON list: %v", err)
	}
	out := make(map[string]string, len(vals))
	for _, v := range vals {
		if len(v.PubKey) == ed25519.PubKeySize {
			out[ed25519.PubKey(v.PubKey).Address().String()] = v.Org
		}
	}
	return out, nil
}

// getOrgTxs is GET /v1/chains/{chain}/orgs/{org}/txs[?limit=][&cursor=][&order=asc|desc]:
// the transactions its accounts sent (lian.tx.org), as GET …/accounts/{address}/txs pages them.
func (g *Gateway) getOrgTxs(r *http.Request) (int, any, error) {
	c, err := g.chainOf(r)
	if err != nil {
		return 0, nil, err
	}
	org := r.PathValue("org")
	if err := identity.ValidateOrgID(org); err != nil {
		return 0, nil, errorf(errcode.InvalidRequest, "%v", err)
	}
	limit, desc, after, err := parseTxPageQuery(r.URL.Query())
	if err != nil {
		return 0, nil, err
	}
	query := fmt.Sprintf("%s.org='%s'", app.EventTx, org)
	var out *api.TxPage
	err = c.do(r.Context(), func(ctx context.Context, n *rpcNode) error {
		if _, err := n.get(ctx, pathOrg, []byte(org), 0); err != nil {
			return err
		}
		out, err = n.txPage(ctx, query, after, desc, limit)
		return err
	})
	if err != nil {
		return 0, nil, nodeError(err, "")
	}
	return http.StatusOK, out, nil
}

// searchResults is the body of GET /v1/search.
type searchResults struct {
	Query   string         `json:"query"`
	Results []searchResult `json:"results"`
	// Unavailable lists the chains that could not be searched, with the reason.
	Unavailable map[string]string `json:"unavailable,omitempty"`
}

// searchResult is one thing a search found.
type searchResult struct {
	Chain string `json:"chain"`
	// Kind is block, tx, account, evidence, org, proposal or validator.
	Kind   string `json:"kind"`
	ID     string `json:"id"` // height, hash, address, digest, organisation or proposal id
	Height int64  `json:"height,omitempty"`
	Title  string `json:"title,omitempty"` // an organisation's name, a proposal's title, a validator's org
}

// search is GET /v1/search?q=: a block height, a transaction or block hash, an evidence
// digest, an account or validator address, an organisation id or name, on every chain.
// An empty q finds nothing.
func (g *Gateway) search(r *http.Request) (int, any, error) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if q == "" {
		return http.StatusOK, &searchResults{Query: q, Results: []searchResult{}}, nil // nothing asked, nothing found
	}
	if len(q) > MaxSearchQuery {
		return 0, nil, errorf(errcode.InvalidRequest, "q is %d bytes, at most %d accepted", len(q), MaxSearchQuery)
	}
	found := make([][]searchResult, len(g.ids))
	errs := make([]error, len(g.ids))
	var wg sync.WaitGroup
	for i, id := range g.ids {
		c := g.chains[id]
		wg.Go(func() {
			errs[i] = c.do(r.Context(), func(ctx context.Context, n *rpcNode) error {
				var err error
				found[i], err = n.search(ctx, id, q)
				return err
			})
		})
	}
	wg.Wait()
	out := &searchResults{Query: q, Results: []searchResult{}}
	for i, id := range g.ids {
		if errs[i] != nil {
			if out.Unavailable == nil {
				out.Unavailable = map[string]string{}
			}
			out.Unavailable[id] = nodeError(errs[i], "").msg
			continue
		}
		out.Results = append(out.Results, found[i]...)
	}
	if len(out.Results) > maxSearchResults {
		out.Results = out.Results[:maxSearchResults]
	}
	return http.StatusOK, out, nil
}

// search looks q up on one chain.
func (n *rpcNode) search(ctx context.Context, chain, q string) ([]searchResult, error) {
	var out []searchResult
	add := func(r searchResult) {
		r.Chain = chain
		out = append(out, r)
	}
	lower := strings.ToLower(q)
	hexDigits := strings.TrimPrefix(lower, "0x")
	isHex := hexDigits != "" && strings.Trim(hexDigits, "0123456789abcdef") == ""
	switch {
	case isDigits(q) && len(q) <= 19:
		h, err := strconv.ParseInt(q, 10, 64)
		if err != nil || h < 1 {
			return nil, nil
		}
		st, err := n.status(ctx)
		if err != nil {
			return nil, err
		}
		if h <= st.SyncInfo.LatestBlockHeight && h >= st.SyncInfo.EarliestBlockHeight {
			add(searchResult{Kind: "block", ID: q, Height: h})
		}
		res, err := n.query(ctx, pathProposal, []byte(q), 0, false)
		if err != nil {
			return nil, err
		}
		if res.Code == 0 {
			var p struct {
				Title string `json:"title"`
			}
			_ = json.Unmarshal(res.Value, &p)
			add(searchResult{Kind: "proposal", ID: q, Title: p.Title})
		}
	case isHex && len(hexDigits) == 64:
		b, _ := hex.DecodeString(hexDigits)
		hash := strings.ToUpper(hexDigits)
		rt, err := n.tx(ctx, b)
		switch {
		case err != nil && rpcError(err) == nil:
			return nil, err // a transport error: the next node
		case err == nil && rt != nil:
			add(searchResult{Kind: "tx", ID: resultHash(rt), Height: rt.Height})
		}
		blk, err := n.blockByHash(ctx, b)
		if err != nil && rpcError(err) == nil {
			return nil, err
		}
		if blk != nil && blk.Block != nil {
			add(searchResult{Kind: "block", ID: strconv.FormatInt(blk.Block.Height, 10), Height: blk.Block.Height})
		}
		ev, err := n.query(ctx, pathEvidence, b, 0, false)
		if err != nil {
			return nil, err
		}
		if ev.Code == 0 {
			var height int64
			var label string
			if rec, err := evidence.DecodeRecord(ev.Value); err == nil {
				height, label = rec.Height, rec.Label
			}
			add(searchResult{Kind: "evidence", ID: hash, Height: height, Title: label})
		}
	case isHex && len(hexDigits) == 40:
		addr, err := crypto.ParseAddress("0x" + hexDigits)
		if err != nil {
			return nil, nil
		}
		acct, err := n.query(ctx, pathAccount, addr.Bytes(), 0, false)
		if err != nil {
			return nil, err
		}
		if acct.Code == 0 {
			var a struct {
				Org string `json:"org"`
			}
			_ = json.Unmarshal(acct.Value, &a)
			add(searchResult{Kind: "account", ID: addr.String(), Title: a.Org})
		}
		if !strings.HasPrefix(lower, "0x") {
			orgs, err := n.validatorOrgs(ctx)
			if err != nil {
				return nil, err
			}
			if org, ok := orgs[strings.ToUpper(hexDigits)]; ok {
				add(searchResult{Kind: "validator", ID: strings.ToUpper(hexDigits), Title: org})
			}
		}
	default:
		list, _, err := n.getJSONList(ctx, pathOrgs, nil, 0)
		if err != nil {
			return nil, err
		}
		needle := strings.TrimPrefix(lower, "org:")
		for _, raw := range list {
			var o struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			}
			if json.Unmarshal(raw, &o) != nil {
				continue
			}
			if strings.Contains(o.ID, needle) || strings.Contains(strings.ToLower(o.Name), needle) {
				add(searchResult{Kind: "org", ID: o.ID, Title: o.Name})
			}
		}
	}
	return out, nil
}

func (n *rpcNode) blockByHash(ctx context.Context, hash []byte) (*ctypes.ResultBlock, error) {
	ctx, cancel := n.ctx(ctx)
	defer cancel()
	return n.rpc.BlockByHash(ctx, hash)
}
