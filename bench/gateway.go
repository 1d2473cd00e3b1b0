package bench

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/client"
	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/txs"
)

// GatewayTransport drives one chain through a Lian gateway: POST .../txs?wait=false,
// GET .../blocks/{height} and GET .../accounts/{address}.
type GatewayTransport struct {
	c     *client.Client
	chain string

	mu     sync.Mutex
	latest *api.Block // the last block LatestHeight fetched, reused by BlockTxs
}

var _ Transport = (*GatewayTransport)(nil)

// NewGatewayTransport returns a transport to chain through the gateway client c.
func NewGatewayTransport(c *client.Client, chain string) *GatewayTransport {
	return &GatewayTransport{c: c, chain: chain}
}

// Submit implements Transport with POST /v1/chains/{chain}/txs?wait=false.
func (t *GatewayTransport) Submit(ctx context.Context, tx []byte) error {
	_, err := t.c.BroadcastTx(ctx, t.chain, tx, false)
	if err == nil {
		return nil
	}
	if ce, ok := client.AsError(err); ok {
		reason := ce.Code
		switch {
		case strings.Contains(ce.Message, "mempool is full"):
			reason = "mempool_full"
		case strings.Contains(ce.Message, "catching up"), strings.Contains(ce.Message, "syncing"):
			reason = "catching_up"
		}
		return &RefusedError{Reason: reason, Msg: ce.Message}
	}
	return err
}

// LatestHeight implements Transport with GET /v1/chains/{chain}/blocks/latest.
func (t *GatewayTransport) LatestHeight(ctx context.Context) (int64, error) {
	b, err := t.c.Block(ctx, t.chain, 0)
	if err != nil {
		return 0, err
	}
	t.mu.Lock()
	t.latest = b
	t.mu.Unlock()
	return b.Height, nil
}

// BlockTxs implements Transport with GET /v1/chains/{chain}/blocks/{height} (or the block
// LatestHeight fetched last, if it is that height).
func (t *GatewayTransport) BlockTxs(ctx context.Context, height int64) ([]txs.Hash, error) {
	t.mu.Lock()
	b := t.latest
	t.mu.Unlock()
	if b == nil || b.Height != height {
		var err error
		if b, err = t.c.Block(ctx, t.chain, height); err != nil {
			return nil, err
		}
	}
	out := make([]txs.Hash, len(b.TxHashes))
	for i, s := range b.TxHashes {
		h, err := txs.ParseHash(s)
		if err != nil {
			return nil, fmt.Errorf("block %d: %w", height, err)
		}
		out[i] = h
	}
	return out, nil
}

// Nonce implements Transport with GET /v1/chains/{chain}/accounts/{address}.
func (t *GatewayTransport) Nonce(ctx context.Context, addr crypto.Address) (uint64, error) {
	a, err := t.c.Account(ctx, t.chain, addr)
	if err != nil {
		return 0, err
	}
	return a.Nonce, nil
}

// Registered implements Transport with GET /v1/chains/{chain}/accounts/{address}.
func (t *GatewayTransport) Registered(ctx context.Context, addr crypto.Address) (bool, error) {
	_, err := t.c.Account(ctx, t.chain, addr)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, &client.Error{Code: errcode.NotFound.String()}) ||
		errors.Is(err, &client.Error{Code: errcode.UnknownAccount.String()}) {
		return false, nil
	}
	return false, err
}
