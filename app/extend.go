package app

import (
	"bytes"
	"context"
	"log/slog"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/lianchain/lian/modules/xchain"
	"github.com/lianchain/lian/store"
)

// With vote extensions on (consensus params abci.vote_extensions_enable_height), each
// validator executes a block before it precommits it, and attests the app hash after
// the block in its precommit (xchain.StateExtension). The commit of block h then
// proves the state after h to another chain's light client, which need not wait for
// header h+1. FinalizeBlock returns the execution ExtendVote made instead of executing
// the block again.
//
// An execution ExtendVote made stays in the store's working tree until the block is
// finalized. If another block is finalized at that height (the validator precommitted a
// block that was not decided), or the validator extends another block in a later
// round, the working tree is rolled back to the state after the last commit first. The
// in-memory state an execution leaves besides the tree does not depend on the block
// being committed: the modules' caches are keyed by content (decoded records, verified
// proofs), the store's presence filter may say "maybe" for a key that is absent, and
// the transactions this node decoded are only decoded again.

// execution is a block executed ahead of its FinalizeBlock.
type execution struct {
	hash   []byte
	height int64
	res    *abci.ResponseFinalizeBlock
}

// ExtendVote implements abci.Application: it executes the block this validator is about
// to precommit, keeps the result for FinalizeBlock, and returns the state extension
// attesting the app hash after the block. A block that fails to execute (an end-block
// error) gets an empty extension; FinalizeBlock executes it again and reports the
// error.
func (a *App) ExtendVote(_ context.Context, req *abci.RequestExtendVote) (*abci.ResponseExtendVote, error) {
	if p := a.pending; p != nil && p.height == req.Height && bytes.Equal(p.hash, req.Hash) {
		// A later round extends the block this validator is locked on.
		return &abci.ResponseExtendVote{VoteExtension: xchain.StateExtension(p.res.AppHash)}, nil
	}
	a.discardPending()
	if v := a.store.Version(); v > 0 && req.Height != v+1 {
		// Not the block after the last commit: its state is not the one to attest.
		slog.Warn("app: no vote extension for a block that does not follow the last commit",
			"height", req.Height, "last_committed", v)
		return &abci.ResponseExtendVote{}, nil
	}
	res, err := a.execute(req.Height, req.Time, req.Txs)
	if err != nil {
		a.rollback()
		slog.Warn("app: no vote extension: the block does not execute", "height", req.Height, "err", err)
		return &abci.ResponseExtendVote{}, nil
	}
	a.pending = &execution{hash: bytes.Clone(req.Hash), height: req.Height, res: res}
	return &abci.ResponseExtendVote{VoteExtension: xchain.StateExtension(res.AppHash)}, nil
}

// VerifyVoteExtension implements abci.Application: it accepts an empty extension (a
// validator that could not execute the block) and a well-formed state extension, and
// rejects anything else. It does not compare the attested app hash with this node's:
// a validator that disagrees must not cost the chain its liveness, and a light client
// of the chain requires more than 2/3 of the voting power on one app hash.
func (a *App) VerifyVoteExtension(_ context.Context, req *abci.RequestVerifyVoteExtension) (*abci.ResponseVerifyVoteExtension, error) {
	if len(req.VoteExtension) > 0 {
		if _, err := xchain.ParseStateExtension(req.VoteExtension); err != nil {
			return &abci.ResponseVerifyVoteExtension{Status: abci.ResponseVerifyVoteExtension_REJECT}, nil
		}
	}
	return &abci.ResponseVerifyVoteExtension{Status: abci.ResponseVerifyVoteExtension_ACCEPT}, nil
}

// takePending returns the result of the pending execution if it is of the block hash at
// height, and forgets it; otherwise it returns nil and leaves it.
func (a *App) takePending(hash []byte, height int64) *abci.ResponseFinalizeBlock {
	p := a.pending
	if p == nil || p.height != height || !bytes.Equal(p.hash, hash) {
		return nil
	}
	a.pending = nil
	return p.res
}

// discardPending rolls back the pending execution's writes, if there is one.
func (a *App) discardPending() {
	if a.pending == nil {
		return
	}
	a.pending = nil
	a.rollback()
}

// rollback returns the working tree to the state after the last commit: it discards
// the tree's unsaved changes and, before the first commit, applies InitChain's writes
// again.
func (a *App) rollback() {
	a.store.Rollback()
	if a.genesis != nil {
		a.genesis.replay(a.store)
	}
}

// writeLog passes reads and writes to its KV and records the writes, in order.
type writeLog struct {
	store.KV
	ops []write
}

type write struct {
	key, value []byte // value nil: deleted
}

// Set implements store.KV.
func (w *writeLog) Set(key, value []byte) {
	w.KV.Set(key, value)
	if value == nil {
		value = []byte{}
	}
	w.ops = append(w.ops, write{bytes.Clone(key), bytes.Clone(value)})
}

// Delete implements store.KV.
func (w *writeLog) Delete(key []byte) {
	w.KV.Delete(key)
	w.ops = append(w.ops, write{bytes.Clone(key), nil})
}

// replay applies the recorded writes to kv in their order.
func (w *writeLog) replay(kv store.KV) {
	for _, op := range w.ops {
		if op.value == nil {
			kv.Delete(op.key)
		} else {
			kv.Set(op.key, op.value)
		}
	}
}
