package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules/identity"
	"github.com/lianchain/lian/txs"
)

// Query paths of the identity module the RPC transport uses.
const (
	queryNonce   = "/" + identity.Name + "/" + identity.QueryNonce
	queryAccount = "/" + identity.Name + "/" + identity.QueryAccount
)

// NewHTTPClient returns an HTTP client for a driver with up to conns concurrent requests
// per host: it keeps that many connections open instead of the two Go (and CometBFT's
// default client) keep, which would make every other request open a new connection.
func NewHTTPClient(conns int) *http.Client {
	if conns < 2 {
		conns = 2
	}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        4 * conns,
			MaxIdleConnsPerHost: conns,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
		Timeout: time.Minute,
	}
}

// RPCTransport drives a chain through one node's CometBFT RPC: broadcast_tx_sync,
// status, block and abci_query. It works with any ABCI application; Nonce and Registered
// need Lian's identity module.
type RPCTransport struct {
	url string
	rpc *rpchttp.HTTP
}

var _ Transport = (*RPCTransport)(nil)

// NewRPCTransport returns a transport to the node whose RPC is at url
// ("http://127.0.0.1:26657"), sending its requests with hc (nil: NewHTTPClient(64)).
func NewRPCTransport(url string, hc *http.Client) (*RPCTransport, error) {
	if hc == nil {
		hc = NewHTTPClient(64)
	}
	c, err := rpchttp.NewWithClient(url, "/websocket", hc)
	if err != nil {
		return nil, fmt.Errorf("bench: RPC %s: %w", url, err)
	}
	return &RPCTransport{url: url, rpc: c}, nil
}

// URL returns the node's RPC URL.
func (t *RPCTransport) URL() string { return t.url }

// Submit implements Transport with broadcast_tx_sync.
func (t *RPCTransport) Submit(ctx context.Context, tx []byte) error {
	res, err := t.rpc.BroadcastTxSync(ctx, tx)
	if err != nil {
		msg := err.Error()
		switch {
		case strings.Contains(msg, "mempool is full"):
			return &RefusedError{Reason: "mempool_full", Msg: msg}
		case strings.Contains(msg, "tx already exists in cache"):
			return &RefusedError{Reason: "in_cache", Msg: msg}
		case strings.Contains(msg, "catching up"):
			return &RefusedError{Reason: "catching_up", Msg: msg}
		}
		return fmt.Errorf("broadcast_tx_sync %s: %w", t.url, err)
	}
	if res.Code != 0 {
		return &RefusedError{Reason: reasonName(res.Codespace, res.Code), Msg: res.Log}
	}
	return nil
}

// reasonName is the errcode name of a Lian code, else "<codespace>_<code>".
func reasonName(codespace string, code uint32) string {
	if codespace == errcode.Codespace {
		return errcode.Code(code).String()
	}
	return fmt.Sprintf("%s_%d", codespace, code)
}

// LatestHeight implements Transport with status.
func (t *RPCTransport) LatestHeight(ctx context.Context) (int64, error) {
	st, err := t.rpc.Status(ctx)
	if err != nil {
		return 0, err
	}
	return st.SyncInfo.LatestBlockHeight, nil
}

// BlockTxs implements Transport with block.
func (t *RPCTransport) BlockTxs(ctx context.Context, height int64) ([]txs.Hash, error) {
	res, err := t.rpc.Block(ctx, &height)
	if err != nil {
		return nil, err
	}
	if res == nil || res.Block == nil {
		return nil, fmt.Errorf("block %d: empty answer", height)
	}
	out := make([]txs.Hash, len(res.Block.Txs))
	for i, tx := range res.Block.Txs {
		out[i] = txs.HashOf(tx)
	}
	return out, nil
}

// Nonce implements Transport with abci_query "/identity/nonce".
func (t *RPCTransport) Nonce(ctx context.Context, addr crypto.Address) (uint64, error) {
	res, err := t.rpc.ABCIQuery(ctx, queryNonce, addr[:])
	if err != nil {
		return 0, err
	}
	if res.Response.Code != 0 {
		return 0, fmt.Errorf("query nonce of %s: %s", addr, res.Response.Log)
	}
	if len(res.Response.Value) != 8 {
		return 0, fmt.Errorf("query nonce of %s: %d bytes, expected 8", addr, len(res.Response.Value))
	}
	return binary.BigEndian.Uint64(res.Response.Value), nil
}

// Registered implements Transport with abci_query "/identity/account".
func (t *RPCTransport) Registered(ctx context.Context, addr crypto.Address) (bool, error) {
	res, err := t.rpc.ABCIQuery(ctx, queryAccount, addr[:])
	if err != nil {
		return false, err
	}
	switch errcode.Code(res.Response.Code) {
	case errcode.OK:
		return len(res.Response.Value) > 0, nil
	case errcode.NotFound:
		return false, nil
	}
	return false, fmt.Errorf("query account %s: %s", addr, res.Response.Log)
}
