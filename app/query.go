package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtcrypto "github.com/cometbft/cometbft/proto/tendermint/crypto"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules"
	"github.com/lianchain/lian/modules/xchain"
	"github.com/lianchain/lian/store"
)

// QueryStore is the path of a raw key lookup: data is the full store key.
const QueryStore = "/store"

// QueryProofs is the path of a batch of proven key lookups: data is store.EncodeKeys of
// up to store.MaxBatchKeys full store keys, the value store.EncodeProven of each key's
// value (absent: none) and ICS-23 proof at the height, whose root is the app hash of
// block height+1's header. Relayers prove many packets at one height with it.
const QueryProofs = "/proofs"

// QueryExtendedCommit is the path of a block's extended commit, which CometBFT's RPC
// does not serve: the block's commit with each precommit's vote extension (the state
// extension attesting the app hash after the block, see ExtendVote) and its signature.
// Height is the block's (0: the last committed); the value is the protobuf encoding of
// the commit (cometbft/proto/tendermint/types.ExtendedCommit). Relayers read it to prove
// the state after block h from the commit of h.
const QueryExtendedCommit = xchain.QueryExtendedCommit

// ExtendedCommitSource is where the app reads blocks' extended commits: the node's
// block store (CometBFT's *store.BlockStore). It is an alias of an unnamed interface so
// that a caller can match SetExtendedCommits without naming this package.
type ExtendedCommitSource = interface {
	LoadBlockExtendedCommit(height int64) *cmttypes.ExtendedCommit
}

// SetExtendedCommits makes the app serve QueryExtendedCommit from src. The node calls it
// once its block store exists; until then the query answers not found.
func (a *App) SetExtendedCommits(src ExtendedCommitSource) {
	if src == nil {
		a.commits.Store(nil)
		return
	}
	a.commits.Store(&src)
}

// Query implements abci.Application. Paths are "/<module>/<query>", e.g.
// "/evidence/digest", or QueryStore. Height 0 means the last committed height. With
// Prove, the response carries an ICS-23 proof of the returned key (membership, or
// non-membership when the key is absent).
func (a *App) Query(_ context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
	var res *abci.ResponseQuery
	err := guard("query", func() (err error) {
		res, err = a.query(req)
		return err
	})
	if err != nil {
		code := errcode.Of(err)
		// A refusal of a query of the latest state says which state refused it, so that
		// a client can tell a node that lags.
		h := req.Height
		if h == 0 {
			h = a.store.Version()
		}
		out := &abci.ResponseQuery{Code: uint32(code), Codespace: errcode.Codespace, Log: err.Error(), Height: h}
		if res != nil { // not found, with a proof of absence
			out.Key, out.ProofOps, out.Height = res.Key, res.ProofOps, res.Height
		}
		return out, nil
	}
	return res, nil
}

func (a *App) query(req *abci.RequestQuery) (*abci.ResponseQuery, error) {
	if req.Path == QueryExtendedCommit {
		return a.queryExtendedCommit(req.Height)
	}
	latest := a.store.Version()
	height := req.Height
	if height == 0 {
		height = latest
	}
	if height < 0 || height > latest || height == 0 {
		return nil, errcode.New(errcode.NotFound, "height %d is not committed (latest %d)", req.Height, latest)
	}
	reader, err := a.readerAt(height)
	if err != nil {
		return nil, err
	}
	if req.Path == QueryProofs {
		keys, err := store.DecodeKeys(req.Data)
		if err != nil {
			return nil, errcode.New(errcode.InvalidRequest, "query %s: %v", QueryProofs, err)
		}
		list, err := a.store.ProveMany(keys, height)
		if errors.Is(err, store.ErrVersionNotFound) {
			return nil, errcode.New(errcode.NotFound, "state at height %d is not available", height)
		}
		if err != nil {
			return nil, errcode.Wrap(errcode.Internal, err)
		}
		return &abci.ResponseQuery{Value: store.EncodeProven(list), Height: height}, nil
	}
	var key, value []byte
	var qerr error
	if req.Path == QueryStore {
		key = req.Data
		if value = reader.Get(key); value == nil {
			qerr = errcode.New(errcode.NotFound, "key %x not found", key)
		}
	} else {
		parts := strings.SplitN(strings.TrimPrefix(req.Path, "/"), "/", 2)
		if len(parts) != 2 {
			return nil, errcode.New(errcode.InvalidRequest, "query path %q: expected /<module>/<query>", req.Path)
		}
		var mod modules.Module
		for _, m := range a.mods {
			if m.Name() == parts[0] {
				mod = m
			}
		}
		if mod == nil {
			return nil, errcode.New(errcode.InvalidRequest, "query path %q: unknown module %q", req.Path, parts[0])
		}
		prefix := modules.Prefix(mod.Name())
		ctx := &modules.QueryContext{ChainID: a.chainID, Height: height, Time: a.queryTime(),
			Store: store.Prefixed(store.ReadOnly(reader), prefix), Root: reader}
		var rel []byte
		rel, value, qerr = mod.Query(ctx, parts[1], req.Data)
		if rel != nil {
			key = append(append([]byte{}, prefix...), rel...)
		}
		if qerr != nil && (key == nil || errcode.Of(qerr) != errcode.NotFound) {
			return nil, qerr
		}
	}
	res := &abci.ResponseQuery{Key: key, Value: value, Height: height}
	if req.Prove && key != nil {
		_, proof, err := a.store.Prove(key, height)
		if err != nil {
			return nil, errcode.Wrap(errcode.Internal, err)
		}
		bz, err := store.EncodeProof(proof)
		if err != nil {
			return nil, errcode.Wrap(errcode.Internal, err)
		}
		res.ProofOps = &cmtcrypto.ProofOps{Ops: []cmtcrypto.ProofOp{{Type: store.ProofOpType, Key: key, Data: bz}}}
	}
	if qerr != nil {
		return res, qerr
	}
	return res, nil
}

// queryExtendedCommit answers QueryExtendedCommit at height (0: the last committed).
func (a *App) queryExtendedCommit(height int64) (*abci.ResponseQuery, error) {
	last := a.store.Version()
	if height == 0 {
		height = last
	}
	switch {
	case height < 0:
		return nil, errcode.New(errcode.InvalidRequest, "query %s: negative height %d", QueryExtendedCommit, height)
	case height == 0:
		return nil, errcode.New(errcode.NotFound, "no block is committed yet")
	case height > last:
		return nil, errcode.New(errcode.NotFound, "height %d is not committed yet (last committed: %d)", height, last)
	}
	src := a.commits.Load()
	if src == nil {
		return nil, errcode.New(errcode.NotFound, "this node serves no extended commits")
	}
	ec := (*src).LoadBlockExtendedCommit(height)
	if ec == nil {
		return nil, errcode.New(errcode.NotFound,
			"no extended commit of height %d in the block store: vote extensions were off at that height, or the block was pruned", height)
	}
	bz, err := ec.ToProto().Marshal()
	if err != nil {
		return nil, errcode.Wrap(errcode.Internal, fmt.Errorf("encode the extended commit of height %d: %w", height, err))
	}
	return &abci.ResponseQuery{Value: bz, Height: height}, nil
}

func (a *App) readerAt(height int64) (store.Reader, error) {
	if height == a.store.Version() {
		return a.store.Committed(), nil
	}
	r, err := a.store.ReaderAt(height)
	if errors.Is(err, store.ErrVersionNotFound) {
		return nil, errcode.New(errcode.NotFound, "state at height %d is not available", height)
	}
	if err != nil {
		return nil, errcode.Wrap(errcode.Internal, fmt.Errorf("state at height %d: %w", height, err))
	}
	return r, nil
}

// queryTime is the time queries judge time-dependent views at (a client's expiry): CheckTx's.
func (a *App) queryTime() time.Time {
	return a.checkTime()
}
