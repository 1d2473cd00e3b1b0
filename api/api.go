// Package api defines the JSON documents of Lian's gateway HTTP API, shared by the
// gateway (which writes them) and the Go SDK (which reads them).
//
// Errors are always {"code": "<stable name>", "message": "..."} with the HTTP status of
// the code (see package errcode). Byte strings are base64 unless a field says hex;
// hashes are upper-case hex as CometBFT prints them; addresses are "0x" + 40 hex.
package api

import (
	"encoding/json"
	"time"
)

// Error is the body of every error response.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Hash is set when the error concerns a submitted transaction (e.g. a wait timeout).
	Hash string `json:"hash,omitempty"`
}

// Health is the body of GET /healthz.
type Health struct {
	Status string                 `json:"status"` // "ok" or "degraded"
	Chains map[string]ChainHealth `json:"chains"`
}

// ChainHealth is one chain's part of Health.
type ChainHealth struct {
	OK     bool   `json:"ok"`
	Height int64  `json:"height"`
	Error  string `json:"error,omitempty"`
}

// Chains is the body of GET /v1/chains: a page of the chains, by id.
type Chains struct {
	Chains []Chain `json:"chains"`
	// Next is the ?cursor= of the next page; empty when there is none.
	Next string `json:"next,omitempty"`
}

// Chain describes one chain the gateway serves.
type Chain struct {
	ID              string    `json:"id"`
	LatestHeight    int64     `json:"latest_height"`
	LatestBlockTime time.Time `json:"latest_block_time"`
	LatestAppHash   string    `json:"latest_app_hash"`
	Validators      int       `json:"validators"`
	Nodes           int       `json:"nodes"` // RPC endpoints the gateway knows
}

// SubmitTx is the body of POST /v1/chains/{chain}/txs.
type SubmitTx struct {
	Tx []byte `json:"tx"` // the encoded envelope, base64
}

// TxResult is a transaction's outcome: the answer of POST .../txs and GET .../txs/{hash}.
// Height is 0 when the transaction was only admitted to the mempool (?wait=false).
type TxResult struct {
	Hash      string  `json:"hash"`
	Height    int64   `json:"height"`
	Index     uint32  `json:"index"`
	Code      uint32  `json:"code"`                // 0: success
	CodeName  string  `json:"code_name,omitempty"` // stable name of a non-zero code
	Codespace string  `json:"codespace,omitempty"`
	Log       string  `json:"log,omitempty"`
	Events    []Event `json:"events"`
	// Filled by GET .../txs/{hash}:
	Tx        []byte     `json:"tx,omitempty"`
	Body      *TxBody    `json:"body,omitempty"`
	Signer    *Signer    `json:"signer,omitempty"`
	BlockTime *time.Time `json:"block_time,omitempty"`
}

// TxBody is a decoded transaction body.
type TxBody struct {
	ChainID  string    `json:"chain_id"`
	Sender   string    `json:"sender"`
	Nonce    uint64    `json:"nonce"`
	Memo     string    `json:"memo,omitempty"`
	GasLimit uint64    `json:"gas_limit,omitempty"`
	Messages []Message `json:"messages"`
}

// Message is one message of a body: its type and, where the gateway knows the type, its
// decoded fields.
type Message struct {
	TypeURL string          `json:"type_url"`
	Value   []byte          `json:"value"`
	Decoded json.RawMessage `json:"decoded,omitempty"`
}

// Signer is the envelope's signer.
type Signer struct {
	Algo   string `json:"algo"`
	PubKey string `json:"pub_key"` // hex
}

// Event is a typed event a transaction emitted.
type Event struct {
	Type       string      `json:"type"`
	Attributes []Attribute `json:"attributes"`
}

// Attribute is one attribute of an event.
type Attribute struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Block is the body of GET /v1/chains/{chain}/blocks/{height}.
type Block struct {
	Height   int64           `json:"height"`
	Hash     string          `json:"hash"`
	Time     time.Time       `json:"time"`
	Proposer string          `json:"proposer"`
	AppHash  string          `json:"app_hash"` // state after block height-1
	Header   json.RawMessage `json:"header"`   // CometBFT's header, as its RPC encodes it
	TxHashes []string        `json:"tx_hashes"`
	// CommitSignatures is the number of validators that signed this block (the commit for
	// this height), out of ValidatorCount. 0 while the commit is not yet known.
	CommitSignatures int `json:"commit_signatures"`
	ValidatorCount   int `json:"validator_count"`
}

// Account is the body of GET /v1/chains/{chain}/accounts/{address}.
type Account struct {
	Account json.RawMessage `json:"account"` // the identity module's record
	Nonce   uint64          `json:"nonce"`   // next nonce
	Height  int64           `json:"height"`  // state height read
}

// Evidence is the body of GET /v1/chains/{chain}/evidence/{digest}.
type Evidence struct {
	Record json.RawMessage `json:"record"` // the evidence module's record
	Height int64           `json:"height"` // state height read
	Proof  *Proof          `json:"proof,omitempty"`
}

// Proof proves that Key = Value in the state at Height: an ICS-23 proof against the app
// hash in the header of block Height+1, with that block's commit and validator set so a
// client can check that more than 2/3 of the voting power signed it.
type Proof struct {
	Height       int64           `json:"height"`
	Key          []byte          `json:"key"`
	Value        []byte          `json:"value"`
	ProofType    string          `json:"proof_type"`    // "ics23:iavl"
	Proof        []byte          `json:"proof"`         // ICS-23 CommitmentProof, protobuf
	SignedHeader json.RawMessage `json:"signed_header"` // CometBFT types.SignedHeader of Height+1, cmtjson
	ValidatorSet json.RawMessage `json:"validator_set"` // CometBFT types.ValidatorSet of Height+1, cmtjson
}
