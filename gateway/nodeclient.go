package gateway

import (
	"context"

	cmtbytes "github.com/cometbft/cometbft/libs/bytes"
	rpcclient "github.com/cometbft/cometbft/rpc/client"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	rpctypes "github.com/cometbft/cometbft/rpc/jsonrpc/types"
	"github.com/cometbft/cometbft/types"
)

// NodeClient is what the gateway calls on a node: the part of CometBFT's RPC client
// (rpc/client.Client) it uses. CometBFT's HTTP client implements it, and so does its
// local client (rpc/client/local.New) of a node running in the gateway's process.
type NodeClient interface {
	Status(ctx context.Context) (*ctypes.ResultStatus, error)
	Block(ctx context.Context, height *int64) (*ctypes.ResultBlock, error)
	BlockByHash(ctx context.Context, hash []byte) (*ctypes.ResultBlock, error)
	BlockResults(ctx context.Context, height *int64) (*ctypes.ResultBlockResults, error)
	BlockchainInfo(ctx context.Context, minHeight, maxHeight int64) (*ctypes.ResultBlockchainInfo, error)
	Header(ctx context.Context, height *int64) (*ctypes.ResultHeader, error)
	Commit(ctx context.Context, height *int64) (*ctypes.ResultCommit, error)
	Validators(ctx context.Context, height *int64, page, perPage *int) (*ctypes.ResultValidators, error)
	ConsensusParams(ctx context.Context, height *int64) (*ctypes.ResultConsensusParams, error)
	Tx(ctx context.Context, hash []byte, prove bool) (*ctypes.ResultTx, error)
	TxSearch(ctx context.Context, query string, prove bool, page, perPage *int, orderBy string) (*ctypes.ResultTxSearch, error)
	BroadcastTxSync(ctx context.Context, tx types.Tx) (*ctypes.ResultBroadcastTx, error)
	NumUnconfirmedTxs(ctx context.Context) (*ctypes.ResultUnconfirmedTxs, error)
	NetInfo(ctx context.Context) (*ctypes.ResultNetInfo, error)
	ABCIQueryWithOptions(ctx context.Context, path string, data cmtbytes.HexBytes, opts rpcclient.ABCIQueryOptions) (*ctypes.ResultABCIQuery, error)
}

// inProcess calls a node of this process (Config.Local) as if over JSON-RPC: an error
// of the call comes back as the JSON-RPC server would send it (an *rpctypes.RPCError,
// "Internal error" with the error's text as data), so fail-over and the mapping of node
// errors (rpc.go) treat both paths alike. A call does not start once ctx has ended; the
// in-process calls themselves take no context.
type inProcess struct{ c NodeClient }

var _ NodeClient = inProcess{}

// rpcInternalError is the code of CometBFT's JSON-RPC server for an error of the method.
const rpcInternalError = -32603

func callLocal[T any](ctx context.Context, call func() (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	res, err := call()
	if err != nil {
		return zero, &rpctypes.RPCError{Code: rpcInternalError, Message: "Internal error", Data: err.Error()}
	}
	return res, nil
}

func (p inProcess) NetInfo(ctx context.Context) (*ctypes.ResultNetInfo, error) {
	return callLocal(ctx, func() (*ctypes.ResultNetInfo, error) { return p.c.NetInfo(ctx) })
}

func (p inProcess) Status(ctx context.Context) (*ctypes.ResultStatus, error) {
	return callLocal(ctx, func() (*ctypes.ResultStatus, error) { return p.c.Status(ctx) })
}

func (p inProcess) Block(ctx context.Context, height *int64) (*ctypes.ResultBlock, error) {
	return callLocal(ctx, func() (*ctypes.ResultBlock, error) { return p.c.Block(ctx, height) })
}

func (p inProcess) BlockByHash(ctx context.Context, hash []byte) (*ctypes.ResultBlock, error) {
	return callLocal(ctx, func() (*ctypes.ResultBlock, error) { return p.c.BlockByHash(ctx, hash) })
}

func (p inProcess) BlockResults(ctx context.Context, height *int64) (*ctypes.ResultBlockResults, error) {
	return callLocal(ctx, func() (*ctypes.ResultBlockResults, error) { return p.c.BlockResults(ctx, height) })
}

func (p inProcess) BlockchainInfo(ctx context.Context, minHeight, maxHeight int64) (*ctypes.ResultBlockchainInfo, error) {
	return callLocal(ctx, func() (*ctypes.ResultBlockchainInfo, error) { return p.c.BlockchainInfo(ctx, minHeight, maxHeight) })
}

func (p inProcess) Header(ctx context.Context, height *int64) (*ctypes.ResultHeader, error) {
	return callLocal(ctx, func() (*ctypes.ResultHeader, error) { return p.c.Header(ctx, height) })
}

func (p inProcess) Commit(ctx context.Context, height *int64) (*ctypes.ResultCommit, error) {
	return callLocal(ctx, func() (*ctypes.ResultCommit, error) { return p.c.Commit(ctx, height) })
}

func (p inProcess) Validators(ctx context.Context, height *int64, page, perPage *int) (*ctypes.ResultValidators, error) {
	return callLocal(ctx, func() (*ctypes.ResultValidators, error) { return p.c.Validators(ctx, height, page, perPage) })
}

func (p inProcess) ConsensusParams(ctx context.Context, height *int64) (*ctypes.ResultConsensusParams, error) {
	return callLocal(ctx, func() (*ctypes.ResultConsensusParams, error) { return p.c.ConsensusParams(ctx, height) })
}

func (p inProcess) Tx(ctx context.Context, hash []byte, prove bool) (*ctypes.ResultTx, error) {
	return callLocal(ctx, func() (*ctypes.ResultTx, error) { return p.c.Tx(ctx, hash, prove) })
}

func (p inProcess) TxSearch(ctx context.Context, query string, prove bool, page, perPage *int, orderBy string) (*ctypes.ResultTxSearch, error) {
	return callLocal(ctx, func() (*ctypes.ResultTxSearch, error) {
		return p.c.TxSearch(ctx, query, prove, page, perPage, orderBy)
	})
}

func (p inProcess) BroadcastTxSync(ctx context.Context, tx types.Tx) (*ctypes.ResultBroadcastTx, error) {
	return callLocal(ctx, func() (*ctypes.ResultBroadcastTx, error) { return p.c.BroadcastTxSync(ctx, tx) })
}

func (p inProcess) NumUnconfirmedTxs(ctx context.Context) (*ctypes.ResultUnconfirmedTxs, error) {
	return callLocal(ctx, func() (*ctypes.ResultUnconfirmedTxs, error) { return p.c.NumUnconfirmedTxs(ctx) })
}

func (p inProcess) ABCIQueryWithOptions(ctx context.Context, path string, data cmtbytes.HexBytes, opts rpcclient.ABCIQueryOptions) (*ctypes.ResultABCIQuery, error) {
	return callLocal(ctx, func() (*ctypes.ResultABCIQuery, error) { return p.c.ABCIQueryWithOptions(ctx, path, data, opts) })
}
