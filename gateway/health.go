package gateway

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/lianchain/lian/api"
)

// Readiness (GET /readyz): the gateway is ready when every chain it serves is. A chain is
// ready when one of its nodes that is not catching up answers its status (within
// ReadyTimeout), and the chain is not stuck: its latest block is at most ReadyStallWindow
// old, or the gateway saw its height grow within the last ReadyStallWindow (the second
// arm keeps a gateway whose clock is ahead of the validators' ready). Lian's nodes make
// an empty block every 30 s when there is nothing to commit, so an idle chain's latest
// block is never much older than 30 s: the window of three empty-block intervals never
// flaps on an idle chain, and a chain that misses three in a row is stuck.

// ReadyStallWindow is how old the latest block of a ready chain may be.
const ReadyStallWindow = 90 * time.Second

// ReadyTimeout bounds how long /readyz waits for the chains' nodes.
const ReadyTimeout = 5 * time.Second

// ready is GET /readyz.
func (g *Gateway) ready(r *http.Request) (int, any, error) {
	ctx, cancel := context.WithTimeout(r.Context(), ReadyTimeout)
	defer cancel()
	out := api.Readiness{Status: "ready", Chains: make(map[string]api.ChainReadiness, len(g.ids))}
	res := make([]api.ChainReadiness, len(g.ids))
	var wg sync.WaitGroup
	for i, id := range g.ids {
		wg.Go(func() { res[i] = g.chainReadiness(ctx, g.obs.chains[id]) })
	}
	wg.Wait()
	status := http.StatusOK
	for i, id := range g.ids {
		out.Chains[id] = res[i]
		if !res[i].Ready {
			out.Status = "not_ready"
			status = http.StatusServiceUnavailable
		}
	}
	return status, out, nil
}

// chainReadiness applies the readiness rule to one chain.
func (g *Gateway) chainReadiness(ctx context.Context, hub *obsChain) api.ChainReadiness {
	var (
		height int64
		bt     time.Time
	)
	err := hub.c.do(ctx, func(ctx context.Context, n *rpcNode) error {
		st, err := n.status(ctx)
		if err != nil {
			return err
		}
		if st.SyncInfo.CatchingUp {
			return fmt.Errorf("node %s is catching up", n.url)
		}
		height, bt = st.SyncInfo.LatestBlockHeight, st.SyncInfo.LatestBlockTime.UTC()
		return nil
	})
	if err != nil {
		return api.ChainReadiness{Reason: "no node that is in sync answered: " + nodeError(err, "").msg}
	}
	hub.observeTip(height)
	ok, reason := hub.judge(height, bt, time.Now())
	return api.ChainReadiness{Ready: ok, Height: height, BlockTime: &bt, Reason: reason}
}

// judge records that the chain is at height, whose block has time bt, and applies the
// stall rule at now.
func (h *obsChain) judge(height int64, bt, now time.Time) (bool, string) {
	h.rmu.Lock()
	defer h.rmu.Unlock()
	if height > h.seenHeight {
		if h.seenHeight > 0 {
			h.advancedAt = now
		}
		h.seenHeight = height
	}
	age := now.Sub(bt)
	if age <= ReadyStallWindow {
		return true, ""
	}
	if !h.advancedAt.IsZero() && now.Sub(h.advancedAt) <= ReadyStallWindow {
		return true, ""
	}
	return false, fmt.Sprintf("stuck: the latest block, %d, is %s old and the height did not grow within %s",
		height, age.Round(time.Second), ReadyStallWindow)
}
