package gateway

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	"github.com/cometbft/cometbft/types"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules/evidence"
	"github.com/lianchain/lian/modules/identity"
	"github.com/lianchain/lian/store"
	"github.com/lianchain/lian/txs"
)

// Query paths of the application.
const (
	pathAccount  = "/" + identity.Name + "/" + identity.QueryAccount
	pathNonce    = "/" + identity.Name + "/" + identity.QueryNonce
	pathEvidence = "/" + evidence.Name + "/" + evidence.QueryDigest
)

// statuses asks the chains ids for their status, in parallel.
func (g *Gateway) statuses(ctx context.Context, ids []string, extra func(ctx context.Context, n *rpcNode, st *ctypes.ResultStatus, c *api.Chain) error) ([]api.Chain, []error) {
	chains := make([]api.Chain, len(ids))
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		c := g.chains[id]
		chains[i] = api.Chain{ID: id, Nodes: len(c.nodes)}
		wg.Go(func() {
			errs[i] = c.do(ctx, func(ctx context.Context, n *rpcNode) error {
				st, err := n.status(ctx)
				if err != nil {
					return err
				}
				out := api.Chain{ID: id, Nodes: len(c.nodes)}
				out.LatestHeight = st.SyncInfo.LatestBlockHeight
				out.LatestBlockTime = st.SyncInfo.LatestBlockTime.UTC()
				out.LatestAppHash = st.SyncInfo.LatestAppHash.String()
				if extra != nil {
					if err := extra(ctx, n, st, &out); err != nil {
						return err
					}
				}
				chains[i] = out
				return nil
			})
		})
	}
	wg.Wait()
	return chains, errs
}

// health is GET /healthz.
func (g *Gateway) health(r *http.Request) (int, any, error) {
	chains, errs := g.statuses(r.Context(), g.ids, nil)
	out := api.Health{Status: "ok", Chains: map[string]api.ChainHealth{}}
	status := http.StatusOK
	for i, c := range chains {
		h := api.ChainHealth{OK: errs[i] == nil, Height: c.LatestHeight}
		if errs[i] != nil {
			h.Error = nodeError(errs[i], "").msg
			out.Status = "degraded"
			status = http.StatusServiceUnavailable
		}
		out.Chains[c.ID] = h
	}
	return status, out, nil
}

// listChains is GET /v1/chains[?limit=][&cursor=].
func (g *Gateway) listChains(r *http.Request) (int, any, error) {
	q := r.URL.Query()
	limit, err := parseLimit(q, MaxPageLimit, MaxPageLimit)
	if err != nil {
		return 0, nil, err
	}
	cursor := q.Get("cursor")
	if cursor != "" {
		if err := validChainID(cursor); err != nil {
			return 0, nil, errorf(errcode.InvalidRequest, "cursor=%q: expected the next cursor of a previous page (a chain id)", truncate(cursor, 80))
		}
	}
	ids, next := pageOf(g.ids, func(id string) string { return id }, cursor, limit)
	chains, _ := g.statuses(r.Context(), ids, func(ctx context.Context, n *rpcNode, _ *ctypes.ResultStatus, c *api.Chain) error {
		count, err := n.validatorCount(ctx, nil)
		if err != nil && rpcError(err) == nil {
			return err
		}
		c.Validators = count
		return nil
	})
	return http.StatusOK, api.Chains{Chains: chains, Next: next}, nil
}

// pageOf returns the items (sorted by key, ascending) whose key follows cursor ("": from
// the first), at most limit of them, and the cursor of the next page ("" if none).
func pageOf[T any](items []T, key func(T) string, cursor string, limit int) ([]T, string) {
	start := 0
	if cursor != "" {
		start = len(items)
		for i, it := range items {
			if key(it) > cursor {
				start = i
				break
			}
		}
	}
	page := items[start:]
	if len(page) <= limit {
		return page, ""
	}
	page = page[:limit]
	return page, key(page[len(page)-1])
}

// getBlock is GET /v1/chains/{chain}/blocks/{height}.
func (g *Gateway) getBlock(r *http.Request) (int, any, error) {
	c, err := g.chainOf(r)
	if err != nil {
		return 0, nil, err
	}
	var hp *int64
	hs := r.PathValue("height")
	if hs != "latest" {
		h, err := parseHeight(hs)
		if err != nil {
			return 0, nil, err
		}
		hp = &h
	}
	var out *api.Block
	err = c.do(r.Context(), func(ctx context.Context, n *rpcNode) error {
		res, err := n.block(ctx, hp)
		switch {
		case err != nil && isNotFound(err), err == nil && (res == nil || res.Block == nil):
			// Beyond this node's latest height, pruned here, or not in its store:
			// another node may be ahead, or keep more.
			return lacks(err, "block "+hs+" not found")
		case err != nil:
			return err
		}
		b := res.Block
		header, err := cmtjson.Marshal(b.Header)
		if err != nil {
			return errorf(errcode.Internal, "encode header: %v", err)
		}
		out = &api.Block{
			Height:   b.Height,
			Hash:     res.BlockID.Hash.String(),
			Time:     b.Time.UTC(),
			Proposer: b.ProposerAddress.String(),
			AppHash:  b.AppHash.String(),
			Header:   header,
			TxHashes: make([]string, 0, len(b.Txs)),
		}
		if len(res.BlockID.Hash) == 0 {
			out.Hash = b.Hash().String()
		}
		for _, tx := range b.Txs {
			out.TxHashes = append(out.TxHashes, txs.HashOf(tx).String())
		}
		height := b.Height
		sh, err := n.commit(ctx, height)
		switch {
		case err != nil && rpcError(err) == nil:
			return err
		case err == nil && sh != nil && sh.Commit.Height == height:
			for _, s := range sh.Commit.Signatures {
				if s.BlockIDFlag == types.BlockIDFlagCommit {
					out.CommitSignatures++
				}
			}
		}
		count, err := n.validatorCount(ctx, &height)
		if err != nil && rpcError(err) == nil {
			return err
		}
		out.ValidatorCount = count
		return nil
	})
	if err != nil {
		return 0, nil, nodeError(err, fmt.Sprintf("block %s not found", hs))
	}
	return http.StatusOK, out, nil
}

func parseHeight(s string) (int64, error) {
	bad := errorf(errcode.InvalidRequest, "height %q: expected a positive integer or \"latest\"", truncate(s, 40))
	if s == "" || len(s) > 19 {
		return 0, bad
	}
	for _, ch := range s {
		if ch < '0' || ch > '9' {
			return 0, bad
		}
	}
	h, err := strconv.ParseInt(s, 10, 64)
	if err != nil || h <= 0 {
		return 0, bad
	}
	return h, nil
}

// appError is the API error of a failed ABCI query.
func appError(res *abci.ResponseQuery) *apiError {
	code := errcode.Code(res.Code)
	if res.Codespace != "" && res.Codespace != errcode.Codespace {
		return errorf(errcode.Internal, "query failed in codespace %q with code %d: %s", res.Codespace, res.Code, res.Log)
	}
	return &apiError{code: code, msg: appMessage(code, res.Log)}
}

// query runs an ABCI query and returns its response if its code is 0.
//
// A query of the latest state (height 0) answered from a height below the chain's floor
// is a behindError: do asks the next node, or waits.
func (n *rpcNode) query(ctx context.Context, path string, data []byte, height int64, prove bool) (*abci.ResponseQuery, error) {
	res, err := n.abciQuery(ctx, path, data, height, prove)
	if err != nil {
		return nil, err
	}
	if res == nil {
		return nil, errorf(errcode.Internal, "node returned no query result")
	}
	// A node that does not say which height answered (Height 0) is not judged.
	if height == 0 && n.floor != nil && res.Response.Height > 0 {
		if f := n.floor.Load(); res.Response.Height < f {
			return nil, &behindError{height: res.Response.Height, floor: f}
		}
	}
	n.raiseFloor(res.Response.Height)
	return &res.Response, nil
}

// getAccount is GET /v1/chains/{chain}/accounts/{address}.
func (g *Gateway) getAccount(r *http.Request) (int, any, error) {
	c, err := g.chainOf(r)
	if err != nil {
		return 0, nil, err
	}
	addr, err := crypto.ParseAddress(r.PathValue("address"))
	if err != nil {
		return 0, nil, errorf(errcode.InvalidRequest, "%v", err)
	}
	var out *api.Account
	err = c.do(r.Context(), func(ctx context.Context, n *rpcNode) error {
		acct, err := n.query(ctx, pathAccount, addr.Bytes(), 0, false)
		if err != nil {
			return err
		}
		if acct.Code != 0 {
			return appError(acct)
		}
		if !json.Valid(acct.Value) {
			return errorf(errcode.Internal, "account record of %s is not JSON", addr)
		}
		nonce, err := n.query(ctx, pathNonce, addr.Bytes(), acct.Height, false)
		if err != nil {
			return err
		}
		if nonce.Code != 0 {
			return appError(nonce)
		}
		if len(nonce.Value) != 8 {
			return errorf(errcode.Internal, "nonce of %s is %d bytes, expected 8", addr, len(nonce.Value))
		}
		out = &api.Account{Account: acct.Value, Nonce: binary.BigEndian.Uint64(nonce.Value), Height: acct.Height}
		return nil
	})
	if err != nil {
		return 0, nil, nodeError(err, "")
	}
	return http.StatusOK, out, nil
}

// getEvidence is GET /v1/chains/{chain}/evidence/{digest}[?prove=true].
func (g *Gateway) getEvidence(r *http.Request) (int, any, error) {
	c, err := g.chainOf(r)
	if err != nil {
		return 0, nil, err
	}
	digest, err := parseHex32("digest", r.PathValue("digest"))
	if err != nil {
		return 0, nil, err
	}
	prove := false
	if s := r.URL.Query().Get("prove"); s != "" {
		if prove, err = strconv.ParseBool(s); err != nil {
			return 0, nil, errorf(errcode.InvalidRequest, "prove=%q: expected true or false", truncate(s, 40))
		}
	}
	var out *api.Evidence
	err = c.do(r.Context(), func(ctx context.Context, n *rpcNode) error {
		var err error
		if prove {
			out, err = g.provenEvidence(ctx, n, digest[:])
			return err
		}
		res, err := n.query(ctx, pathEvidence, digest[:], 0, false)
		if err != nil {
			return err
		}
		if res.Code != 0 {
			return appError(res)
		}
		rec, err := evidence.RecordJSON(res.Value)
		if err != nil {
			return errorf(errcode.Internal, "%v", err)
		}
		out = &api.Evidence{Record: rec, Height: res.Height}
		return nil
	})
	if err != nil {
		return 0, nil, nodeError(err, "")
	}
	return http.StatusOK, out, nil
}

// provenEvidence returns the record of digest with a proof at the latest state height H
// whose block H+1 exists, waiting for that block if the digest is in the latest state only.
func (g *Gateway) provenEvidence(ctx context.Context, n *rpcNode, digest []byte) (*api.Evidence, error) {
	p, err := g.provenQuery(ctx, n, pathEvidence, digest, "evidence record")
	if err != nil {
		return nil, err
	}
	// The proof is of the stored bytes (Proof.Value); the record is shown as JSON.
	rec, err := evidence.RecordJSON(p.Value)
	if err != nil {
		return nil, errorf(errcode.Internal, "%v", err)
	}
	return &api.Evidence{Record: rec, Height: p.Height, Proof: p}, nil
}

// provenQuery runs a provable query (its value a stored record, named what in errors) and
// returns the value with a proof at the latest state height H whose block H+1 exists,
// waiting for that block if the value is in the latest state only. The proof carries
// the signed header of H+1 and its validator set.
func (g *Gateway) provenQuery(ctx context.Context, n *rpcNode, path string, data []byte, what string) (*api.Proof, error) {
	st, err := n.status(ctx)
	if err != nil {
		return nil, err
	}
	latest := st.SyncInfo.LatestBlockHeight
	var res *abci.ResponseQuery
	if latest >= 2 {
		// The header of block `latest` carries the app hash of state latest-1.
		if res, err = n.query(ctx, path, data, latest-1, true); err != nil {
			return nil, err
		}
		if res.Code != 0 && errcode.Code(res.Code) != errcode.NotFound {
			return nil, appError(res)
		}
	}
	if res == nil || res.Code != 0 {
		// Not in state latest-1: look in the latest state, and if it is there, wait for the
		// block that carries that state's app hash.
		cur, err := n.query(ctx, path, data, 0, false)
		if err != nil {
			return nil, err
		}
		if cur.Code != 0 {
			return nil, appError(cur)
		}
		if err := g.waitForBlock(ctx, n, cur.Height+1); err != nil {
			return nil, err
		}
		if res, err = n.query(ctx, path, data, cur.Height, true); err != nil {
			return nil, err
		}
		if res.Code != 0 {
			return nil, appError(res)
		}
	}
	h := res.Height
	if res.ProofOps == nil || len(res.ProofOps.Ops) != 1 || res.ProofOps.Ops[0].Type != store.ProofOpType {
		return nil, errorf(errcode.Internal, "node returned no %s proof for height %d", store.ProofOpType, h)
	}
	proof := res.ProofOps.Ops[0].Data

	sh, err := n.commit(ctx, h+1)
	if err != nil {
		return nil, err
	}
	if sh == nil {
		return nil, errorf(errcode.Unavailable, "the node has no commit for block %d", h+1)
	}
	if sh.Header.Height != h+1 || sh.Commit.Height != h+1 || !bytes.Equal(sh.Commit.BlockID.Hash, sh.Header.Hash()) {
		return nil, errorf(errcode.Internal, "the node's signed header of block %d is inconsistent", h+1)
	}
	// A cheap self-check: the proof must match the app hash the client will check it against.
	if err := store.VerifyMembership(sh.Header.AppHash, proof, res.Key, res.Value); err != nil {
		return nil, errorf(errcode.Internal, "proof at height %d does not match the app hash of block %d: %v", h, h+1, err)
	}
	vals, err := n.validators(ctx, h+1)
	if err != nil {
		return nil, err
	}
	valset, err := newValidatorSet(vals)
	if err != nil {
		return nil, errorf(errcode.Internal, "validators of block %d: %v", h+1, err)
	}
	if !bytes.Equal(valset.Hash(), sh.Header.ValidatorsHash) {
		return nil, errorf(errcode.Internal, "validators of block %d do not hash to the header's validators hash", h+1)
	}
	shJSON, err := cmtjson.Marshal(sh)
	if err != nil {
		return nil, errorf(errcode.Internal, "encode signed header: %v", err)
	}
	vsJSON, err := cmtjson.Marshal(valset)
	if err != nil {
		return nil, errorf(errcode.Internal, "encode validator set: %v", err)
	}
	return &api.Proof{
		Height:       h,
		Key:          res.Key,
		Value:        res.Value,
		ProofType:    store.ProofOpType,
		Proof:        proof,
		SignedHeader: shJSON,
		ValidatorSet: vsJSON,
	}, nil
}

// newValidatorSet builds a validator set without panicking on a malformed list.
func newValidatorSet(vals []*types.Validator) (vs *types.ValidatorSet, err error) {
	defer func() {
		if p := recover(); p != nil {
			vs, err = nil, fmt.Errorf("%v", p)
		}
	}()
	if len(vals) == 0 {
		return nil, fmt.Errorf("empty validator set")
	}
	for i, v := range vals {
		if v == nil || v.PubKey == nil {
			return nil, fmt.Errorf("validator %d has no public key", i)
		}
	}
	vs = types.NewValidatorSet(vals)
	if err := vs.ValidateBasic(); err != nil {
		return nil, err
	}
	return vs, nil
}

// waitForBlock polls until block height exists on the node, for at most ProofWaitTimeout.
func (g *Gateway) waitForBlock(ctx context.Context, n *rpcNode, height int64) error {
	ctx, cancel := context.WithTimeout(ctx, ProofWaitTimeout)
	defer cancel()
	stop := context.AfterFunc(g.life, cancel)
	defer stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		st, err := n.status(ctx)
		if err == nil && st.SyncInfo.LatestBlockHeight >= height {
			return nil
		}
		if err != nil && ctx.Err() == nil && rpcError(err) == nil {
			return err // transport error: let the caller fail over
		}
		select {
		case <-ctx.Done():
			return errorf(errcode.Unavailable, "block %d, which carries the app hash proving the record, was not produced within %v; retry", height, ProofWaitTimeout)
		case <-tick.C:
		}
	}
}
