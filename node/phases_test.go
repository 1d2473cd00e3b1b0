package node

import (
	"context"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
)

// TestPhases drives a timed application through the calls of two heights, on a clock
// that each call advances by its step, and checks what each phase counted.
func TestPhases(t *testing.T) {
	clock := time.Unix(1_700_000_000, 0)
	tick := func(d time.Duration) { clock = clock.Add(d) }
	ms := time.Millisecond
	a := newTimedApp(&slowApp{BaseApplication: abci.NewBaseApplication(), tick: tick})
	a.now = func() time.Time { return clock }
	ctx := context.Background()

	// Height 1: a node that starts with a block to execute (no proposal seen).
	if _, err := a.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: 1}); err != nil {
		t.Fatal(err)
	}
	tick(10 * ms)
	if _, err := a.Commit(ctx, &abci.RequestCommit{}); err != nil {
		t.Fatal(err)
	}
	// Height 2: this node proposes 101 ms after its commit; the block is checked
	// twice (two rounds), first 121 ms after the commit, and extended (executed, 20 ms)
	// in each round; the votes take 40 ms after the second check, besides its
	// extension.
	steps := []struct {
		wait time.Duration // before the call
		call func() error
	}{
		{5 * ms, func() error {
			_, err := a.CheckTx(ctx, &abci.RequestCheckTx{Type: abci.CheckTxType_Recheck})
			return err
		}},
		{95 * ms, func() error { _, err := a.PrepareProposal(ctx, &abci.RequestPrepareProposal{}); return err }},
		{20 * ms, func() error { _, err := a.ProcessProposal(ctx, &abci.RequestProcessProposal{}); return err }},
		{3 * ms, func() error { _, err := a.CheckTx(ctx, &abci.RequestCheckTx{Type: abci.CheckTxType_New}); return err }},
		{2 * ms, func() error { _, err := a.ExtendVote(ctx, &abci.RequestExtendVote{Height: 2}); return err }},
		{200 * ms, func() error { _, err := a.ProcessProposal(ctx, &abci.RequestProcessProposal{}); return err }},
		{10 * ms, func() error { _, err := a.ExtendVote(ctx, &abci.RequestExtendVote{Height: 2}); return err }},
		{30 * ms, func() error { _, err := a.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: 2}); return err }},
		{30 * ms, func() error { _, err := a.Commit(ctx, &abci.RequestCommit{}); return err }},
	}
	before := a.Phases()
	for _, s := range steps {
		tick(s.wait)
		if err := s.call(); err != nil {
			t.Fatal(err)
		}
	}
	got := a.Phases().Sub(before)
	want := Phases{
		Blocks: 1, Execute: 65 * ms, Commit: 15 * ms, // two extensions of 20 ms, FinalizeBlock 25 ms
		Proposals: 1, ToProposal: 101 * ms, // 5 + the recheck 1 + 95
		Received: 1, ToBlock: 121 * ms,
		Voted: 1, Votes: 40 * ms, // 10 + 30 around the second extension
		Checks: 1, Rechecks: 1, CheckTime: ms, RecheckTime: ms,
	}
	if got != want {
		t.Errorf("phases of height 2:\n got %+v\nwant %+v", got, want)
	}
	if all := a.Phases(); all.Blocks != 2 || all.Voted != 1 || all.Add(got).Blocks != 3 {
		t.Errorf("all phases %+v", all)
	}
}

// slowApp is an application whose calls take time on the test's clock.
type slowApp struct {
	*abci.BaseApplication
	tick func(time.Duration)
}

func (a *slowApp) CheckTx(ctx context.Context, req *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) {
	a.tick(time.Millisecond)
	return a.BaseApplication.CheckTx(ctx, req)
}

func (a *slowApp) ExtendVote(ctx context.Context, req *abci.RequestExtendVote) (*abci.ResponseExtendVote, error) {
	a.tick(20 * time.Millisecond)
	return a.BaseApplication.ExtendVote(ctx, req)
}

func (a *slowApp) FinalizeBlock(ctx context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	a.tick(25 * time.Millisecond)
	return a.BaseApplication.FinalizeBlock(ctx, req)
}

func (a *slowApp) Commit(ctx context.Context, req *abci.RequestCommit) (*abci.ResponseCommit, error) {
	a.tick(15 * time.Millisecond)
	return a.BaseApplication.Commit(ctx, req)
}
