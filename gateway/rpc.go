package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	cmtbytes "github.com/cometbft/cometbft/libs/bytes"
	rpcclient "github.com/cometbft/cometbft/rpc/client"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	rpctypes "github.com/cometbft/cometbft/rpc/jsonrpc/types"
	"github.com/cometbft/cometbft/types"

	"github.com/lianchain/lian/errcode"
)

// chain is one chain the gateway serves and the RPC endpoints of its nodes.
type chain struct {
	id    string
	nodes []*rpcNode
	cur   atomic.Int32 // index of the node to try first: the last one that answered
	// floor is the highest state height the gateway has answered from (a query's
	// height, a committed transaction's): a query of the latest state is not answered
	// from a node behind it, so that a client never reads older state than it was
	// shown, also after a failover to a node that lags (see errBehind).
	floor atomic.Int64
	// best is the highest latest height a node reported to the freshness watcher.
	best atomic.Int64
}

// Freshness. A node can go on answering after it stopped following the chain: cut off
// from its peers, or stopped inside a process that keeps its RPC connections open. Its
// answers are then old, and a transaction given to it goes nowhere (a resubmission is
// answered "already in the cache"). Every FreshnessInterval the gateway reads each node's
// latest height and, for a chain of several nodes, its peer count; a node staleBlocks or
// more behind the highest, or with no peers, is stale, and do asks it only after the
// others. The peer count finds a cut-off node at once: by height alone it shows only
// once the others have made staleBlocks blocks, which on an idle chain (one empty block
// per create_empty_blocks_interval) takes a minute, while the transactions given to it
// vanish.
const (
	// FreshnessInterval is how often the gateway reads its nodes' latest heights (chains
	// with more than one node).
	FreshnessInterval = time.Second
	staleBlocks       = 2
)

// stale reports whether n has no peers or has fallen staleBlocks or more behind the
// chain's best node.
func (c *chain) stale(n *rpcNode) bool {
	return n.isolated.Load() || c.best.Load()-n.height.Load() >= staleBlocks
}

// watchFreshness reads the latest height of every node of c every interval until ctx
// ends. A node that does not answer keeps its last height, so it turns stale as the
// others move on.
func (c *chain) watchFreshness(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		var wg sync.WaitGroup
		for _, n := range c.nodes {
			wg.Go(func() {
				st, err := n.status(ctx)
				if err != nil {
					return
				}
				n.height.Store(st.SyncInfo.LatestBlockHeight)
				if len(c.nodes) > 1 {
					// A node that cannot say (an older node, a proxy without
					// net_info) keeps what it was.
					if ni, err := n.netInfo(ctx); err == nil {
						n.isolated.Store(ni.NPeers == 0)
					}
				}
			})
		}
		wg.Wait()
		// The best height rises once the pass is over: raised by the first node to
		// answer, it would make a node not read yet look stale (found by
		// TestReadsNeverGoBack, 2 runs in 200).
		for _, n := range c.nodes {
			raise(&c.best, n.height.Load())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// node is one RPC endpoint. Its methods give every call the RPC deadline.
type rpcNode struct {
	url     string
	rpc     NodeClient   // CometBFT's HTTP client, or inProcess
	hc      *http.Client // the HTTP client's connections; nil in process
	timeout time.Duration
	times   *timeCache    // the chain's block times, shared by its nodes
	floor   *atomic.Int64 // the chain's floor, shared by its nodes
	height  atomic.Int64  // the latest height the freshness watcher read
	// isolated: the freshness watcher found the node without peers.
	isolated atomic.Bool
}

// behindError is a node whose latest state is older than the chain's floor: the
// request goes to the next node, and when every node is behind, do waits for one to
// catch up (up to behindWait).
type behindError struct {
	height, floor int64
}

func (e *behindError) Error() string {
	return fmt.Sprintf("the node's state is at height %d, behind height %d this gateway answered from already", e.height, e.floor)
}

// behindWait bounds how long a request waits for a node to reach the floor when every
// node is behind it (they usually are by one block, after a failover).
const behindWait = 3 * time.Second

// raiseFloor records that the gateway answered from the state at height h.
func (n *rpcNode) raiseFloor(h int64) {
	if n.floor != nil {
		raise(n.floor, h)
	}
}

// raise sets v to h if h is higher.
func raise(v *atomic.Int64, h int64) {
	for {
		old := v.Load()
		if h <= old || v.CompareAndSwap(old, h) {
			return
		}
	}
}

// do runs fn against the chain's nodes, starting with the one that answered last and
// asking stale nodes last, until one answers: fn's error is not a transport error (see
// failover). fn should return the
// errors of RPC calls unchanged (or wrapped with %w) and its own conclusions as *apiError.
// When no node answers, the error is errcode.Unavailable; when a node answered that it
// lacks what fn asked for (a missError) and no other node has it, it is that answer.
func (c *chain) do(ctx context.Context, fn func(ctx context.Context, n *rpcNode) error) error {
	var last error
	var miss *missError         // a node's "I do not have it", if one said so
	var lastBehind *behindError // of the last round, if a node was behind
	for waitUntil := time.Now().Add(behindWait); ; {
		lastBehind = nil
		start := int(c.cur.Load())
		if start < 0 || start >= len(c.nodes) {
			start = 0
		}
		behind := 0
		// Which nodes are stale, read once: the watcher may change it meanwhile, and
		// a node read as stale in one pass and fresh in the next would be skipped.
		stale := make([]bool, len(c.nodes))
		for i, n := range c.nodes {
			stale[i] = c.stale(n)
		}
	nodes:
		for pass := 0; pass < 2; pass++ { // fresh nodes, then stale ones
			for i := range c.nodes {
				idx := (start + i) % len(c.nodes)
				if stale[idx] != (pass == 1) {
					continue
				}
				err := fn(ctx, c.nodes[idx])
				if err == nil || !failover(ctx, err) {
					if idx != start {
						c.cur.CompareAndSwap(int32(start), int32(idx))
					}
					return err
				}
				last = err
				var m *missError
				if miss == nil && errors.As(err, &m) {
					miss = m
				}
				var be *behindError
				if errors.As(err, &be) {
					behind++
					lastBehind = be
				}
				if ctx.Err() != nil {
					break nodes
				}
			}
		}
		// Every node that answered is behind the floor: wait for one to catch up.
		if behind == 0 || ctx.Err() != nil || time.Now().After(waitUntil) {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
	if err := ctx.Err(); err != nil {
		return &apiError{code: errcode.Unavailable, msg: fmt.Sprintf("chain %q: request ended before a node answered: %v", c.id, err)}
	}
	if miss != nil {
		return miss.err // no node has it
	}
	if lastBehind != nil {
		return &apiError{code: errcode.Unavailable, msg: fmt.Sprintf("chain %q: no reachable node has caught up with the state this gateway answered from already (%v); retry shortly", c.id, lastBehind)}
	}
	return &apiError{code: errcode.Unavailable, msg: fmt.Sprintf("chain %q: none of its %d RPC endpoints can serve the request (last error: %s)", c.id, len(c.nodes), rpcErrorText(last))}
}

// missError is a node's answer that it lacks what was asked for, where another node may
// have it: a transaction its index does not hold. A node indexes a block's transactions
// just after committing it, and a node cut off from the chain (or stopped behind RPC
// connections its process keeps open) lacks what came after. So do asks the other
// nodes, and answers err (not found) only when none has it.
type missError struct{ err error }

func (m *missError) Error() string { return m.err.Error() }
func (m *missError) Unwrap() error { return m.err }

// lacks turns a node's answer that it lacks what was asked for — err a "not found" from
// the node (isNotFound), or nil when it answered with nothing — into a missError whose
// not_found says notFound (plus the node's reason for a height out of its range).
func lacks(err error, notFound string) *missError {
	if err == nil {
		return &missError{errorf(errcode.NotFound, "%s", notFound)}
	}
	return &missError{nodeError(err, notFound)}
}

// failover reports whether err, from a node, warrants asking the next node: a transport
// error (no answer, a timeout of the call, an answer that is not JSON-RPC), a node that
// is still syncing, or a missError. Other errors a node answered with, and errors of the
// gateway's own, do not.
func failover(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false // the request is over, not the node
	}
	var m *missError
	if errors.As(err, &m) {
		return true
	}
	var ae *apiError
	if errors.As(err, &ae) {
		return false
	}
	if re := rpcError(err); re != nil {
		return isCatchingUp(re)
	}
	return true
}

// rpcError returns the JSON-RPC error a node answered with, or nil.
func rpcError(err error) *rpctypes.RPCError {
	var re *rpctypes.RPCError
	if errors.As(err, &re) {
		return re
	}
	return nil
}

func rpcErrorText(err error) string {
	if err == nil {
		return "none"
	}
	if re := rpcError(err); re != nil {
		if re.Data != "" {
			return re.Data
		}
		return re.Message
	}
	return err.Error()
}

func rpcErrorContains(err error, s string) bool {
	re := rpcError(err)
	return re != nil && (strings.Contains(re.Data, s) || strings.Contains(re.Message, s))
}

func isCatchingUp(re *rpctypes.RPCError) bool {
	return strings.Contains(re.Data, "catching up") || strings.Contains(re.Message, "catching up")
}

// heightRange reports whether err is a node refusing a height outside the ones it has
// (beyond the latest, or pruned): its text names the heights there are.
func heightRange(err error) bool {
	return rpcErrorContains(err, "must be less than or equal to") || rpcErrorContains(err, "is not available, lowest height")
}

// isNotFound reports whether a node answered that the transaction or height asked for
// does not exist (yet).
func isNotFound(err error) bool {
	for _, s := range []string{
		") not found",                   // tx (HASH) not found
		"must be less than or equal to", // height beyond the latest
		"is not available, lowest height",
		"could not find results for height",
		"could not find validators for block",
		"value not found for key",
	} {
		if rpcErrorContains(err, s) {
			return true
		}
	}
	return false
}

// nodeError turns the error of a call the node answered (not a transport error) into an
// API error. notFound is the message when the node says the object does not exist.
func nodeError(err error, notFound string) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	if rpcError(err) == nil {
		return &apiError{code: errcode.Unavailable, msg: err.Error()}
	}
	switch {
	case notFound != "" && isNotFound(err):
		if heightRange(err) {
			// Say which heights there are: "… must be less than or equal to the
			// current blockchain height 57", "… lowest height is 3".
			notFound += ": " + rpcErrorText(err)
		}
		return &apiError{code: errcode.NotFound, msg: notFound}
	case rpcErrorContains(err, "catching up"):
		return &apiError{code: errcode.Unavailable, msg: "the chain's nodes are still syncing: " + rpcErrorText(err)}
	case rpcErrorContains(err, "indexing is disabled"):
		return &apiError{code: errcode.Unavailable, msg: "the node does not index transactions: " + rpcErrorText(err)}
	}
	return &apiError{code: errcode.Internal, msg: "node error: " + rpcErrorText(err)}
}

func (n *rpcNode) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, n.timeout)
}

func (n *rpcNode) netInfo(ctx context.Context) (*ctypes.ResultNetInfo, error) {
	ctx, cancel := n.ctx(ctx)
	defer cancel()
	res, err := n.rpc.NetInfo(ctx)
	if err == nil && res == nil {
		err = errors.New("empty net_info")
	}
	return res, err
}

func (n *rpcNode) status(ctx context.Context) (*ctypes.ResultStatus, error) {
	ctx, cancel := n.ctx(ctx)
	defer cancel()
	res, err := n.rpc.Status(ctx)
	if err == nil && res == nil {
		err = errors.New("empty status")
	}
	return res, err
}

func (n *rpcNode) block(ctx context.Context, height *int64) (*ctypes.ResultBlock, error) {
	ctx, cancel := n.ctx(ctx)
	defer cancel()
	return n.rpc.Block(ctx, height)
}

func (n *rpcNode) header(ctx context.Context, height int64) (*types.Header, error) {
	ctx, cancel := n.ctx(ctx)
	defer cancel()
	res, err := n.rpc.Header(ctx, &height)
	if err != nil {
		return nil, err
	}
	if res == nil || res.Header == nil {
		return nil, nil
	}
	return res.Header, nil
}

// commit returns the signed header of height (nil if the node has no such block).
func (n *rpcNode) commit(ctx context.Context, height int64) (*types.SignedHeader, error) {
	ctx, cancel := n.ctx(ctx)
	defer cancel()
	res, err := n.rpc.Commit(ctx, &height)
	if err != nil {
		return nil, err
	}
	if res == nil || res.Header == nil || res.Commit == nil {
		return nil, nil
	}
	return &res.SignedHeader, nil
}

// validatorCount returns the size of the validator set at height (latest if nil).
func (n *rpcNode) validatorCount(ctx context.Context, height *int64) (int, error) {
	ctx, cancel := n.ctx(ctx)
	defer cancel()
	page, perPage := 1, 1
	res, err := n.rpc.Validators(ctx, height, &page, &perPage)
	if err != nil {
		return 0, err
	}
	return res.Total, nil
}

// maxValidators bounds the validator set the gateway pages through.
const maxValidators = types.MaxVotesCount

// validators returns the whole validator set at height.
func (n *rpcNode) validators(ctx context.Context, height int64) ([]*types.Validator, error) {
	var out []*types.Validator
	perPage := 100
	for page := 1; ; page++ {
		res, err := func() (*ctypes.ResultValidators, error) {
			ctx, cancel := n.ctx(ctx)
			defer cancel()
			return n.rpc.Validators(ctx, &height, &page, &perPage)
		}()
		if err != nil {
			return nil, err
		}
		if res.Total > maxValidators || res.Total < 0 {
			return nil, &apiError{code: errcode.Internal, msg: fmt.Sprintf("node reports %d validators at height %d", res.Total, height)}
		}
		out = append(out, res.Validators...)
		if len(res.Validators) == 0 || len(out) >= res.Total {
			if len(out) != res.Total {
				return nil, &apiError{code: errcode.Internal, msg: fmt.Sprintf("node returned %d of %d validators at height %d", len(out), res.Total, height)}
			}
			return out, nil
		}
	}
}

// tx looks a transaction up by hash. A committed one raises the chain's floor to its
// height: a client shown the transaction must then read state that includes it.
func (n *rpcNode) tx(ctx context.Context, hash []byte) (*ctypes.ResultTx, error) {
	ctx, cancel := n.ctx(ctx)
	defer cancel()
	rt, err := n.rpc.Tx(ctx, hash, false)
	if err == nil && rt != nil {
		n.raiseFloor(rt.Height)
	}
	return rt, err
}

func (n *rpcNode) broadcastTxSync(ctx context.Context, tx []byte) (*ctypes.ResultBroadcastTx, error) {
	ctx, cancel := n.ctx(ctx)
	defer cancel()
	return n.rpc.BroadcastTxSync(ctx, tx)
}

func (n *rpcNode) abciQuery(ctx context.Context, path string, data []byte, height int64, prove bool) (*ctypes.ResultABCIQuery, error) {
	ctx, cancel := n.ctx(ctx)
	defer cancel()
	return n.rpc.ABCIQueryWithOptions(ctx, path, cmtbytes.HexBytes(data), rpcclient.ABCIQueryOptions{Height: height, Prove: prove})
}
