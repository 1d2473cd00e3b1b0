package api

import (
	"encoding/json"
	"time"
)

// Params is the body of GET /v1/chains/{chain}/gov/params and .../credits/params: a
// module's parameters as the chain stores them.
type Params struct {
	Params json.RawMessage `json:"params"` // gov.Params or credits.Params
	Height int64           `json:"height"` // state height read
}

// Proposals is the body of GET /v1/chains/{chain}/gov/proposals: a page of proposals,
// newest first.
type Proposals struct {
	Proposals []json.RawMessage `json:"proposals"` // gov.Proposal records
	// Next is the ?cursor= (or ?before=) of the next (older) page; empty when there is
	// none.
	Next   string `json:"next,omitempty"`
	Height int64  `json:"height"`
}

// Proposal is the body of GET /v1/chains/{chain}/gov/proposals/{id}: the proposal with
// its tally and the votes cast so far, read at one state height.
type Proposal struct {
	Proposal json.RawMessage   `json:"proposal"` // gov.Proposal
	Votes    []json.RawMessage `json:"votes"`    // gov.Vote records, by organisation id
	Height   int64             `json:"height"`
}

// Balance is the body of GET /v1/chains/{chain}/credits/balances/{holder}.
type Balance struct {
	Holder  string `json:"holder"` // "0x…" or "org:<id>"
	Credits uint64 `json:"credits"`
	Height  int64  `json:"height"`
}

// Sponsorship is the body of GET /v1/chains/{chain}/credits/sponsorships/{org}.
type Sponsorship struct {
	Org         string          `json:"org"`
	Sponsorship json.RawMessage `json:"sponsorship"` // credits.Sponsorship {cap, period}
	Height      int64           `json:"height"`
}

// Statement entry kinds.
const (
	EntryTopUp  = "top_up" // credits bought with a fiat payment
	EntryCharge = "charge" // the fee of a transaction the holder paid for
)

// Statement is the body of GET /v1/chains/{chain}/credits/statements/{holder}: a page of
// the holder's top-ups and charges, oldest first.
type Statement struct {
	Holder  string           `json:"holder"`
	Entries []StatementEntry `json:"entries"`
	// Next is the ?cursor= of the next page; empty when there is none yet.
	Next   string `json:"next,omitempty"`
	Height int64  `json:"height"` // state height of the top-ups; charges are read up to it
}

// StatementEntry is one top-up or charge of a statement, ordered by block height, then
// position in the block (a transaction's fee is charged before its messages run).
type StatementEntry struct {
	Kind    string     `json:"kind"` // EntryTopUp or EntryCharge
	Height  int64      `json:"height"`
	Index   uint32     `json:"index"` // the transaction's position in its block
	TxHash  string     `json:"tx_hash"`
	Time    *time.Time `json:"time,omitempty"` // block time
	Credits uint64     `json:"credits"`        // credited (top-up) or debited (charge)

	// Top-ups (the credits module's receipt).
	Seq        *uint64 `json:"seq,omitempty"` // the holder's top-up number, from 0
	Currency   string  `json:"currency,omitempty"`
	Amount     uint64  `json:"amount,omitempty"` // minor units of Currency
	PaymentRef string  `json:"payment_ref,omitempty"`
	PayerName  string  `json:"payer_name,omitempty"`
	Operator   string  `json:"operator,omitempty"` // the operator account that recorded it

	// Charges.
	Sender   string   `json:"sender,omitempty"` // the transaction's sender
	Nonce    *uint64  `json:"nonce,omitempty"`
	Code     *uint32  `json:"code,omitempty"`      // the transaction's result; the fee is kept on failure
	CodeName string   `json:"code_name,omitempty"` // stable name of a non-zero code
	Messages []string `json:"messages,omitempty"`  // the transaction's message type URLs
}

// TxPage is the body of GET /v1/chains/{chain}/accounts/{address}/txs: a page of the
// account's transactions, each a TxResult with its decoded body, signer and block time
// (not the raw bytes: GET .../txs/{hash} has them).
type TxPage struct {
	Txs []TxResult `json:"txs"`
	// Next is the ?cursor= of the next page; empty when there is none yet.
	Next string `json:"next,omitempty"`
}

// Validators is the body of GET /v1/chains/{chain}/validators: a page of the
// validators, by public key.
type Validators struct {
	Validators []Validator `json:"validators"` // by public key
	// Next is the ?cursor= of the next page; empty when there is none.
	Next       string `json:"next,omitempty"`
	TotalPower int64  `json:"total_power"` // of the whole validator set
	Height     int64  `json:"height"`
}

// Validator is a validator as the identity module records it.
type Validator struct {
	PubKey  string `json:"pub_key"` // ed25519 consensus key, upper-case hex
	Address string `json:"address"` // CometBFT validator address (as in block headers), upper-case hex
	Org     string `json:"org"`
	Power   int64  `json:"power"`
}

// Orgs is the body of GET /v1/chains/{chain}/orgs: a page of the organisations, by id.
type Orgs struct {
	Orgs []json.RawMessage `json:"orgs"` // identity.Org records, by id
	// Next is the ?cursor= of the next page; empty when there is none.
	Next   string `json:"next,omitempty"`
	Height int64  `json:"height"`
}

// ConsensusParams is the body of GET /v1/chains/{chain}/consensus-params: the
// consensus parameters CometBFT applied to the block at Height, a node's latest. The
// genesis sets them; governance's set_params changes them, from the block after the
// one that decided it.
type ConsensusParams struct {
	Block     BlockParams     `json:"block"`
	Evidence  EvidenceParams  `json:"evidence"`
	Validator ValidatorParams `json:"validator"`
	ABCI      ABCIParams      `json:"abci"`
	Height    int64           `json:"height"`
}

// BlockParams are the block limits.
type BlockParams struct {
	MaxBytes int64 `json:"max_bytes"`
	MaxGas   int64 `json:"max_gas"` // -1: no limit
}

// EvidenceParams bound the misbehaviour evidence a block may carry.
type EvidenceParams struct {
	MaxAgeNumBlocks int64  `json:"max_age_num_blocks"`
	MaxAgeDuration  string `json:"max_age_duration"` // a Go duration, e.g. "48h0m0s"
	MaxBytes        int64  `json:"max_bytes"`
}

// ValidatorParams are the key types a validator may have.
type ValidatorParams struct {
	PubKeyTypes []string `json:"pub_key_types"`
}

// ABCIParams are the application interface's parameters.
type ABCIParams struct {
	// VoteExtensionsEnableHeight is the first height whose precommits carry the
	// validators' attestation of the state (0: none).
	VoteExtensionsEnableHeight int64 `json:"vote_extensions_enable_height"`
}
