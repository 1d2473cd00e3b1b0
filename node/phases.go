package node

import (
	"context"
	"sync"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
)

// Phases are a node's cumulative wall-clock times of the steps of its blocks, as its
// application sees them. A block interval, from the end of one Commit to the end of
// the next, is the wait for the proposal (timeout_commit, then the proposer's reap of
// its mempool and the block's gossip), the votes, and the block's execution and
// commit. Benchmarks read them, before and after a run, to say where the time goes.
//
// Each duration has its own count: a step a node did not see (a block it was not
// proposer of, a block it synced without its proposal) is not counted.
type Phases struct {
	// Blocks are the blocks committed; Execute and Commit are the time spent in
	// FinalizeBlock and Commit over them. With vote extensions on, a validator
	// executes a block in ExtendVote, before its precommit: Execute includes the
	// time spent in ExtendVote.
	Blocks          int64
	Execute, Commit time.Duration
	// Proposals are the blocks this node proposed; ToProposal the time from the end
	// of the Commit before each to its PrepareProposal (timeout_commit, then the wait
	// for the mempool, which is locked while it rechecks its transactions).
	Proposals  int64
	ToProposal time.Duration
	// Received are the heights whose proposal this node checked; ToBlock the time
	// from the end of the last Commit to its first ProcessProposal of the height:
	// timeout_commit, the proposal's making and its gossip to this node.
	Received int64
	ToBlock  time.Duration
	// Voted are the blocks executed after a ProcessProposal of their height; Votes
	// the time from the end of the last ProcessProposal to FinalizeBlock, less the
	// time spent in ExtendVote since (counted in Execute): the prevotes and
	// precommits.
	Voted int64
	Votes time.Duration
	// Checks and Rechecks count the CheckTx calls of new transactions and of the
	// mempool's rechecks after each block; CheckTime and RecheckTime their time.
	Checks, Rechecks       int64
	CheckTime, RecheckTime time.Duration
}

// Sub returns the phases of p since q, an earlier reading of the same node.
func (p Phases) Sub(q Phases) Phases { return p.plus(q, -1) }

// Add returns the sum of p and q (of two nodes, say).
func (p Phases) Add(q Phases) Phases { return p.plus(q, 1) }

func (p Phases) plus(q Phases, sign int64) Phases {
	d := time.Duration(sign)
	return Phases{
		Blocks: p.Blocks + sign*q.Blocks, Execute: p.Execute + d*q.Execute, Commit: p.Commit + d*q.Commit,
		Proposals: p.Proposals + sign*q.Proposals, ToProposal: p.ToProposal + d*q.ToProposal,
		Received: p.Received + sign*q.Received, ToBlock: p.ToBlock + d*q.ToBlock,
		Voted: p.Voted + sign*q.Voted, Votes: p.Votes + d*q.Votes,
		Checks: p.Checks + sign*q.Checks, Rechecks: p.Rechecks + sign*q.Rechecks,
		CheckTime: p.CheckTime + d*q.CheckTime, RecheckTime: p.RecheckTime + d*q.RecheckTime,
	}
}

// timedApp wraps an application to keep its node's Phases. CometBFT's local client
// makes one ABCI call at a time; the mutex is for readers of the phases.
type timedApp struct {
	abci.Application
	now func() time.Time

	mu        sync.Mutex
	phases    Phases
	committed time.Time     // end of the last Commit
	received  bool          // a ProcessProposal was seen since then
	checked   time.Time     // end of the last ProcessProposal
	extended  time.Duration // time in ExtendVote since then
}

func newTimedApp(app abci.Application) *timedApp {
	return &timedApp{Application: app, now: time.Now}
}

// Phases returns the phases so far.
func (a *timedApp) Phases() Phases {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.phases
}

// CheckTx implements abci.Application.
func (a *timedApp) CheckTx(ctx context.Context, req *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) {
	t := a.now()
	res, err := a.Application.CheckTx(ctx, req)
	d := a.now().Sub(t)
	a.mu.Lock()
	if req.Type == abci.CheckTxType_Recheck {
		a.phases.Rechecks++
		a.phases.RecheckTime += d
	} else {
		a.phases.Checks++
		a.phases.CheckTime += d
	}
	a.mu.Unlock()
	return res, err
}

// PrepareProposal implements abci.Application.
func (a *timedApp) PrepareProposal(ctx context.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error) {
	a.mu.Lock()
	if !a.committed.IsZero() {
		a.phases.Proposals++
		a.phases.ToProposal += a.now().Sub(a.committed)
	}
	a.mu.Unlock()
	return a.Application.PrepareProposal(ctx, req)
}

// ProcessProposal implements abci.Application.
func (a *timedApp) ProcessProposal(ctx context.Context, req *abci.RequestProcessProposal) (*abci.ResponseProcessProposal, error) {
	a.mu.Lock()
	if !a.received && !a.committed.IsZero() {
		a.phases.Received++
		a.phases.ToBlock += a.now().Sub(a.committed)
	}
	a.received = true
	a.mu.Unlock()
	res, err := a.Application.ProcessProposal(ctx, req)
	a.mu.Lock()
	a.checked, a.extended = a.now(), 0
	a.mu.Unlock()
	return res, err
}

// ExtendVote implements abci.Application.
func (a *timedApp) ExtendVote(ctx context.Context, req *abci.RequestExtendVote) (*abci.ResponseExtendVote, error) {
	t := a.now()
	res, err := a.Application.ExtendVote(ctx, req)
	d := a.now().Sub(t)
	a.mu.Lock()
	a.phases.Execute += d
	a.extended += d
	a.mu.Unlock()
	return res, err
}

// FinalizeBlock implements abci.Application.
func (a *timedApp) FinalizeBlock(ctx context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	t := a.now()
	a.mu.Lock()
	if a.received {
		a.phases.Voted++
		a.phases.Votes += t.Sub(a.checked) - a.extended
	}
	a.mu.Unlock()
	res, err := a.Application.FinalizeBlock(ctx, req)
	d := a.now().Sub(t)
	a.mu.Lock()
	a.phases.Execute += d
	a.mu.Unlock()
	return res, err
}

// Commit implements abci.Application.
func (a *timedApp) Commit(ctx context.Context, req *abci.RequestCommit) (*abci.ResponseCommit, error) {
	t := a.now()
	res, err := a.Application.Commit(ctx, req)
	end := a.now()
	a.mu.Lock()
	a.phases.Blocks++
	a.phases.Commit += end.Sub(t)
	a.committed, a.received, a.extended = end, false, 0
	a.mu.Unlock()
	return res, err
}
