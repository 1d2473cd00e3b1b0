package bench

import (
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"sync"

	abci "github.com/cometbft/cometbft/abci/types"
	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
)

// Baseline transaction layout: pubkey || signature || payload; the signature is over the
// payload.
const (
	BaselinePubKeySize    = cmted25519.PubKeySize
	BaselineSignatureSize = cmted25519.SignatureSize
	BaselineHeaderSize    = BaselinePubKeySize + BaselineSignatureSize
	// BaselinePayloadSize is the payload BaselineSource generates: with the header, a
	// transaction of 196 bytes, about a Lian anchor's 225.
	BaselinePayloadSize = 100
)

// Result codes of the baseline application (codespace BaselineCodespace).
const (
	BaselineCodespace     = "baseline"
	BaselineCodeMalformed = 1 // shorter than the header
	BaselineCodeBadSig    = 2 // the signature does not verify
)

// What BaselineApp reports in Info.
const (
	baselineInfoData   = "lian-bench-baseline"
	baselineVersion    = "1.0.0"
	baselineAppVersion = 1
)

// Errors of VerifyBaselineTx.
var (
	ErrBaselineMalformed = errors.New("baseline tx: shorter than pubkey and signature")
	ErrBaselineSignature = errors.New("baseline tx: signature does not verify")
)

// BaselineTx returns pubkey(32) || signature(64) || payload, the signature being key's
// over payload.
func BaselineTx(key cmted25519.PrivKey, payload []byte) ([]byte, error) {
	sig, err := key.Sign(payload)
	if err != nil {
		return nil, err
	}
	tx := make([]byte, 0, BaselineHeaderSize+len(payload))
	tx = append(tx, key.PubKey().Bytes()...)
	tx = append(tx, sig...)
	return append(tx, payload...), nil
}

// VerifyBaselineTx checks a baseline transaction's one ed25519 signature with CometBFT's
// verifier (the one Lian's ed25519 keys use).
func VerifyBaselineTx(tx []byte) error {
	if len(tx) < BaselineHeaderSize {
		return ErrBaselineMalformed
	}
	pub := cmted25519.PubKey(tx[:BaselinePubKeySize])
	if !pub.VerifySignature(tx[BaselineHeaderSize:], tx[BaselinePubKeySize:BaselineHeaderSize]) {
		return ErrBaselineSignature
	}
	return nil
}

func baselineCode(err error) uint32 {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ErrBaselineMalformed):
		return BaselineCodeMalformed
	default:
		return BaselineCodeBadSig
	}
}

// BaselineApp is the reference ABCI application: it verifies each transaction's
// signature in CheckTx and again in FinalizeBlock, stores nothing, and returns as app
// hash a running SHA-256 over the height and transaction count of each block with
// transactions (so the hash changes with every such block, as Lian's does, and stays the
// same over empty blocks). Its state lives in memory only: use it on a fresh home.
type BaselineApp struct {
	abci.BaseApplication

	mu      sync.Mutex
	height  int64
	appHash []byte
}

var _ abci.Application = (*BaselineApp)(nil)

// NewBaselineApp returns a baseline application at height 0.
func NewBaselineApp() *BaselineApp { return &BaselineApp{} }

// Info implements abci.Application.
func (a *BaselineApp) Info(context.Context, *abci.RequestInfo) (*abci.ResponseInfo, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return &abci.ResponseInfo{
		Data:             baselineInfoData,
		Version:          baselineVersion,
		AppVersion:       baselineAppVersion,
		LastBlockHeight:  a.height,
		LastBlockAppHash: a.appHash,
	}, nil
}

// CheckTx implements abci.Application: it verifies the signature.
func (a *BaselineApp) CheckTx(_ context.Context, req *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) {
	if err := VerifyBaselineTx(req.Tx); err != nil {
		return &abci.ResponseCheckTx{Code: baselineCode(err), Codespace: BaselineCodespace, Log: err.Error()}, nil
	}
	return &abci.ResponseCheckTx{}, nil
}

// FinalizeBlock implements abci.Application: it verifies every signature again and
// advances the app hash if the block has transactions.
func (a *BaselineApp) FinalizeBlock(_ context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	results := make([]*abci.ExecTxResult, len(req.Txs))
	for i, tx := range req.Txs {
		res := &abci.ExecTxResult{}
		if err := VerifyBaselineTx(tx); err != nil {
			res.Code, res.Codespace, res.Log = baselineCode(err), BaselineCodespace, err.Error()
		}
		results[i] = res
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(req.Txs) > 0 {
		var buf [16]byte
		binary.BigEndian.PutUint64(buf[:8], uint64(req.Height))
		binary.BigEndian.PutUint64(buf[8:], uint64(len(req.Txs)))
		h := sha256.New()
		h.Write(a.appHash)
		h.Write(buf[:])
		a.appHash = h.Sum(nil)
	}
	a.height = req.Height
	return &abci.ResponseFinalizeBlock{TxResults: results, AppHash: a.appHash}, nil
}

// Commit implements abci.Application; there is nothing to persist.
func (a *BaselineApp) Commit(context.Context, *abci.RequestCommit) (*abci.ResponseCommit, error) {
	return &abci.ResponseCommit{}, nil
}

// BaselineSource builds baseline transactions of one key with random 100-byte payloads.
type BaselineSource struct {
	key cmted25519.PrivKey
	rng *rand.ChaCha8
}

var _ TxSource = (*BaselineSource)(nil)

// NewBaselineSource returns a source with a fresh ed25519 key.
func NewBaselineSource() *BaselineSource {
	var seed [32]byte
	_, _ = crand.Read(seed[:])
	return &BaselineSource{key: cmted25519.GenPrivKey(), rng: rand.NewChaCha8(seed)}
}

// Build implements TxSource; the nonce is not used (the baseline keeps no nonces).
func (s *BaselineSource) Build(uint64) ([]byte, error) {
	payload := make([]byte, BaselinePayloadSize)
	_, _ = s.rng.Read(payload)
	return BaselineTx(s.key, payload)
}

// Sync implements TxSource: the baseline keeps no nonces, so it returns local.
func (s *BaselineSource) Sync(_ context.Context, local uint64) (uint64, error) {
	return local, nil
}
