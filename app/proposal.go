package app

import (
	"context"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/modules"
	"github.com/lianchain/lian/modules/identity"
	"github.com/lianchain/lian/store"
	"github.com/lianchain/lian/txs"
)

// PrepareProposal implements abci.Application. The proposer's block is the mempool's
// transactions in their order, without those that would fail on their nonce: a nonce
// used already, or one past a gap.
//
// CometBFT's mempool can hold such transactions. When it is full by the time CheckTx
// answers, it drops a transaction the check state has taken, so the sender's next
// transactions pass CheckTx and would fail in the block with bad_nonce, having cost
// every validator their execution and the block its space. Left out, they stay in the
// mempool until its recheck drops them, or run once the gap is filled.
//
// Only the proposer runs this; the block's execution does not depend on it (a block
// carrying such transactions fails them, as before).
func (a *App) PrepareProposal(_ context.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error) {
	return &abci.ResponsePrepareProposal{Txs: a.inNonceOrder(req.Txs)}, nil
}

// inNonceOrder returns the transactions of list whose nonce is, in list's order, their
// sender's next one after the last committed state. Transactions that do not decode are
// kept: they fail in the block with the reason, as a faulty proposer's would.
func (a *App) inNonceOrder(list [][]byte) [][]byte {
	idKV := store.Prefixed(store.ReadOnly(a.store.Committed()), modules.Prefix(identity.Name))
	next := make(map[crypto.Address]uint64)
	out := list[:0:0]
	for _, raw := range list {
		body := a.bodyOf(raw)
		if body == nil {
			out = append(out, raw)
			continue
		}
		n, ok := next[body.Sender]
		if !ok {
			n = identity.Nonce(idKV, body.Sender)
		}
		if body.Nonce != n {
			next[body.Sender] = n
			continue
		}
		next[body.Sender] = n + 1
		out = append(out, raw)
	}
	return out
}

// bodyOf returns the body of a transaction, from what CheckTx decoded if this node
// admitted it, or nil if it does not decode.
func (a *App) bodyOf(raw []byte) *txs.Body {
	if d := a.known.get(txs.HashOf(raw)); d != nil {
		return d.body
	}
	_, body, err := decodeEnvelope(raw)
	if err != nil {
		return nil
	}
	return body
}
