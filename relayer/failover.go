package relayer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	cmtbytes "github.com/cometbft/cometbft/libs/bytes"
	rpcclient "github.com/cometbft/cometbft/rpc/client"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	rpctypes "github.com/cometbft/cometbft/rpc/jsonrpc/types"
	cmttypes "github.com/cometbft/cometbft/types"
)

// Failover is an Endpoint over several nodes of one chain. A call goes to the node that
// answered last; when that node does not answer (no connection, a timeout, a reply that
// is not JSON-RPC, or a node still catching up), it goes to the next one, in order. An
// answer a node gives, an error included, is final: a refusal is not retried elsewhere.
//
// The nodes may be at different heights; the relayer reads at explicit heights and
// retries what a lagging node cannot answer yet, so switching nodes is safe.
type Failover struct {
	eps []Endpoint
	cur atomic.Int32
}

// NewFailover returns an endpoint over eps, the first one preferred at start.
func NewFailover(eps ...Endpoint) (*Failover, error) {
	if len(eps) == 0 {
		return nil, errors.New("relayer: failover without endpoints")
	}
	for i, e := range eps {
		if e == nil {
			return nil, fmt.Errorf("relayer: failover endpoint %d is nil", i)
		}
	}
	return &Failover{eps: eps}, nil
}

// do runs fn on the endpoints, from the one that answered last, until one answers.
func (f *Failover) do(ctx context.Context, fn func(Endpoint) error) error {
	start := int(f.cur.Load())
	var errs []error
	for i := range f.eps {
		idx := (start + i) % len(f.eps)
		err := fn(f.eps[idx])
		if err == nil || !unanswered(ctx, err) {
			if idx != start {
				f.cur.CompareAndSwap(int32(start), int32(idx))
			}
			return err
		}
		errs = append(errs, fmt.Errorf("endpoint %d: %w", idx+1, err))
		if ctx.Err() != nil {
			break
		}
	}
	return fmt.Errorf("none of %d endpoints answered: %w", len(f.eps), errors.Join(errs...))
}

// unanswered reports whether err means the node did not answer the call: anything but
// a JSON-RPC error the node replied with, or a node catching up (which refuses
// broadcasts and may lack recent blocks). A cancelled call is final.
func unanswered(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var re *rpctypes.RPCError
	if errors.As(err, &re) {
		return strings.Contains(re.Data, "catching up") || strings.Contains(re.Message, "catching up")
	}
	return true
}

// call is do for a call with a result.
func call[T any](ctx context.Context, f *Failover, fn func(Endpoint) (T, error)) (T, error) {
	var out T
	err := f.do(ctx, func(e Endpoint) error {
		var err error
		out, err = fn(e)
		return err
	})
	return out, err
}

// Status implements Endpoint.
func (f *Failover) Status(ctx context.Context) (*ctypes.ResultStatus, error) {
	return call(ctx, f, func(e Endpoint) (*ctypes.ResultStatus, error) { return e.Status(ctx) })
}

// ABCIQueryWithOptions implements Endpoint.
func (f *Failover) ABCIQueryWithOptions(ctx context.Context, path string, data cmtbytes.HexBytes, opts rpcclient.ABCIQueryOptions) (*ctypes.ResultABCIQuery, error) {
	return call(ctx, f, func(e Endpoint) (*ctypes.ResultABCIQuery, error) {
		return e.ABCIQueryWithOptions(ctx, path, data, opts)
	})
}

// BroadcastTxSync implements Endpoint. A tx a node received before its answer was lost
// may be sent to the next node too: the mempools and the nonce admit it once.
func (f *Failover) BroadcastTxSync(ctx context.Context, tx cmttypes.Tx) (*ctypes.ResultBroadcastTx, error) {
	return call(ctx, f, func(e Endpoint) (*ctypes.ResultBroadcastTx, error) { return e.BroadcastTxSync(ctx, tx) })
}

// BlockResults implements Endpoint.
func (f *Failover) BlockResults(ctx context.Context, height *int64) (*ctypes.ResultBlockResults, error) {
	return call(ctx, f, func(e Endpoint) (*ctypes.ResultBlockResults, error) { return e.BlockResults(ctx, height) })
}

// Commit implements Endpoint.
func (f *Failover) Commit(ctx context.Context, height *int64) (*ctypes.ResultCommit, error) {
	return call(ctx, f, func(e Endpoint) (*ctypes.ResultCommit, error) { return e.Commit(ctx, height) })
}

// Validators implements Endpoint.
func (f *Failover) Validators(ctx context.Context, height *int64, page, perPage *int) (*ctypes.ResultValidators, error) {
	return call(ctx, f, func(e Endpoint) (*ctypes.ResultValidators, error) { return e.Validators(ctx, height, page, perPage) })
}

// Tx implements Endpoint.
func (f *Failover) Tx(ctx context.Context, hash []byte, prove bool) (*ctypes.ResultTx, error) {
	return call(ctx, f, func(e Endpoint) (*ctypes.ResultTx, error) { return e.Tx(ctx, hash, prove) })
}

// TxSearch implements Endpoint.
func (f *Failover) TxSearch(ctx context.Context, query string, prove bool, page, perPage *int, orderBy string) (*ctypes.ResultTxSearch, error) {
	return call(ctx, f, func(e Endpoint) (*ctypes.ResultTxSearch, error) {
		return e.TxSearch(ctx, query, prove, page, perPage, orderBy)
	})
}

// Subscribe pushes new blocks from the first endpoint that can (see eventSource); the
// relayer polls regardless, so a push lost with its node only delays it to the next poll.
func (f *Failover) Subscribe(ctx context.Context, subscriber, query string, outCapacity ...int) (<-chan ctypes.ResultEvent, error) {
	var errs []error
	for _, e := range f.eps {
		es, ok := e.(eventSource)
		if !ok {
			continue
		}
		ch, err := es.Subscribe(ctx, subscriber, query, outCapacity...)
		if err == nil {
			return ch, nil
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return nil, errors.New("no endpoint pushes events")
	}
	return nil, errors.Join(errs...)
}

// UnsubscribeAll implements eventSource on every endpoint that pushes events.
func (f *Failover) UnsubscribeAll(ctx context.Context, subscriber string) error {
	for _, e := range f.eps {
		if es, ok := e.(eventSource); ok {
			_ = es.UnsubscribeAll(ctx, subscriber)
		}
	}
	return nil
}
