package relayer

import (
	"context"
	"testing"
	"time"

	cmtbytes "github.com/cometbft/cometbft/libs/bytes"
	"github.com/cometbft/cometbft/p2p"
	rpcclient "github.com/cometbft/cometbft/rpc/client"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	dto "github.com/prometheus/client_model/go"

	"github.com/lianchain/lian/crypto"
)

// panicEndpoint answers Status and panics on every query, as a client library might on
// an answer it cannot handle.
type panicEndpoint struct {
	Endpoint
	chain string
}

func (e *panicEndpoint) Status(context.Context) (*ctypes.ResultStatus, error) {
	return &ctypes.ResultStatus{NodeInfo: p2p.DefaultNodeInfo{Network: e.chain}, SyncInfo: ctypes.SyncInfo{LatestBlockHeight: 1}}, nil
}

func (e *panicEndpoint) ABCIQueryWithOptions(context.Context, string, cmtbytes.HexBytes, rpcclient.ABCIQueryOptions) (*ctypes.ResultABCIQuery, error) {
	panic("index out of range [3] with length 0")
}

// TestPanicIsAFailure: a panic while reading a chain is a failed step, counted and
// retried; the relayer (and lian up, which runs it in process) goes on.
func TestPanicIsAFailure(t *testing.T) {
	key, _ := crypto.GenPrivKey(crypto.Ed25519)
	var chains []*Chain
	for _, id := range []string{"pa-1", "pb-1"} {
		c, err := NewChain(id, &panicEndpoint{chain: id}, key)
		if err != nil {
			t.Fatal(err)
		}
		chains = append(chains, c)
	}
	r, err := New(chains, []Path{{A: "pa-1", B: "pb-1"}}, Options{PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	// Poll the failure counter: two resyncs failed means one was retried after the panic.
	for {
		var m dto.Metric
		if err := r.Metrics().Failures.WithLabelValues("pa-1-pb-1", "resync").Write(&m); err != nil {
			t.Fatal(err)
		}
		if m.GetCounter().GetValue() >= 2 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the relayer stopped: %v", err)
		case <-ctx.Done():
			t.Fatal("no resync failure counted in 20 s")
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.Ready():
		t.Fatal("the relayer says it is ready, but no resync succeeded")
	default:
	}
}
