package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	cmtbytes "github.com/cometbft/cometbft/libs/bytes"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/types"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/app"
	"github.com/lianchain/lian/modules"
	"github.com/lianchain/lian/modules/evidence"
	"github.com/lianchain/lian/store"
)

// Limits on the parts of a proof VerifyEvidence accepts, so that a hostile gateway cannot
// make a client decode or verify unbounded input.
const (
	// MaxSignedHeaderBytes bounds the JSON signed header of a proof.
	MaxSignedHeaderBytes = 1 << 20
	// MaxValidatorSetBytes bounds the JSON validator set of a proof.
	MaxValidatorSetBytes = 4 << 20
	// MaxRecordBytes bounds a proven record.
	MaxRecordBytes = 64 << 10
)

// Verified summarises a successful VerifyEvidence.
type Verified struct {
	ChainID string `json:"chain_id"`
	// Height is the state height the record was proven at; the app hash is that of the
	// header of block Height+1 (HeaderHeight).
	Height       int64             `json:"height"`
	HeaderHeight int64             `json:"header_height"`
	BlockHash    cmtbytes.HexBytes `json:"block_hash"`
	BlockTime    time.Time         `json:"block_time"`
	AppHash      cmtbytes.HexBytes `json:"app_hash"`
	// ValidatorsHash is the hash of the validator set that signed the header. Unless it
	// was pinned with VerifyOptions.TrustedValidatorsHash, compare it with a trusted value.
	ValidatorsHash cmtbytes.HexBytes `json:"validators_hash"`
	// ValidatorsTrusted reports that ValidatorsHash was checked against
	// VerifyOptions.TrustedValidatorsHash.
	ValidatorsTrusted bool `json:"validators_trusted"`
	// Signers is the number of validators whose signature on the header verified, of
	// ValidatorCount; SignedPower is their voting power, of TotalPower (> 2/3 of it).
	Signers        int   `json:"signers"`
	ValidatorCount int   `json:"validator_count"`
	SignedPower    int64 `json:"signed_power"`
	TotalPower     int64 `json:"total_power"`
	// Record is the proven record, decoded.
	Record *evidence.Record `json:"record"`
}

// VerifyOptions tunes VerifyEvidenceWithOptions.
type VerifyOptions struct {
	// TrustedValidatorsHash, if set, is the hash of the validator set the client trusts
	// for the chain (e.g. from its genesis); the header must be signed by exactly that set.
	TrustedValidatorsHash []byte
}

// VerifyEvidence checks, fully client-side, that ev.Proof proves ev.Record is the record
// of digest in chainID's state: the ICS-23 proof of key "evidence/d/<digest>" = the record
// against the app hash of a header of chainID whose commit carries valid signatures of
// more than 2/3 of the voting power of the validator set given with the proof, a set whose
// hash the header names.
//
// The validator set comes with the proof: the check shows the record is what those
// validators signed, not that they are the chain's validators. Compare
// Verified.ValidatorsHash with a trusted value, or use VerifyEvidenceWithOptions.
func VerifyEvidence(chainID string, digest []byte, ev *api.Evidence) (*Verified, error) {
	return VerifyEvidenceWithOptions(chainID, digest, ev, VerifyOptions{})
}

// VerifyEvidenceWithOptions is VerifyEvidence with options.
func VerifyEvidenceWithOptions(chainID string, digest []byte, ev *api.Evidence, opts VerifyOptions) (v *Verified, err error) {
	// Everything here comes from the network: no input may crash the caller.
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("verify evidence: malformed proof: %v", r)
		}
	}()
	v, err = verifyEvidence(chainID, digest, ev, opts)
	if err != nil {
		return nil, fmt.Errorf("verify evidence: %w", err)
	}
	return v, nil
}

func verifyEvidence(chainID string, digest []byte, ev *api.Evidence, opts VerifyOptions) (*Verified, error) {
	if chainID == "" {
		return nil, errors.New("no chain id")
	}
	if len(digest) != evidence.DigestLen {
		return nil, fmt.Errorf("digest is %d bytes, expected %d", len(digest), evidence.DigestLen)
	}
	if ev == nil {
		return nil, errors.New("no evidence")
	}
	p := ev.Proof
	if p == nil {
		return nil, errors.New("the evidence carries no proof (query it with prove)")
	}

	// Sizes first, before decoding anything.
	switch {
	case len(p.Proof) == 0:
		return nil, errors.New("empty proof")
	case len(p.Proof) > store.MaxProofBytes:
		return nil, fmt.Errorf("proof is %d bytes, at most %d accepted", len(p.Proof), store.MaxProofBytes)
	case len(p.SignedHeader) > MaxSignedHeaderBytes:
		return nil, fmt.Errorf("signed header is %d bytes, at most %d accepted", len(p.SignedHeader), MaxSignedHeaderBytes)
	case len(p.ValidatorSet) > MaxValidatorSetBytes:
		return nil, fmt.Errorf("validator set is %d bytes, at most %d accepted", len(p.ValidatorSet), MaxValidatorSetBytes)
	case len(p.Value) == 0:
		return nil, errors.New("proof has an empty value")
	case len(p.Value) > MaxRecordBytes:
		return nil, fmt.Errorf("proven value is %d bytes, at most %d accepted", len(p.Value), MaxRecordBytes)
	}

	// What is proven: the digest's key, the record shown, at the height shown.
	if p.ProofType != app.ProofOpType {
		return nil, fmt.Errorf("proof type %q, expected %q", p.ProofType, app.ProofOpType)
	}
	wantKey := append(modules.Prefix(evidence.Name), evidence.Key(digest)...)
	if !bytes.Equal(p.Key, wantKey) {
		return nil, fmt.Errorf("proof is for key %s, not for the digest's key %s", keyString(p.Key), keyString(wantKey))
	}
	if !sameJSON(ev.Record, p.Value) {
		return nil, errors.New("the record shown is not the proven value")
	}
	rec, err := evidence.DecodeRecord(p.Value)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(rec.Digest, digest) {
		return nil, fmt.Errorf("proven record is for digest %X, not %X", []byte(rec.Digest), digest)
	}
	if p.Height < 1 {
		return nil, fmt.Errorf("proof height %d: expected a committed height", p.Height)
	}
	if ev.Height != p.Height {
		return nil, fmt.Errorf("record read at height %d, but proven at height %d", ev.Height, p.Height)
	}

	// The header: of this chain, at Height+1, consistent with its commit.
	var sh types.SignedHeader
	if err := cmtjson.Unmarshal(p.SignedHeader, &sh); err != nil {
		return nil, fmt.Errorf("decode signed header: %w", err)
	}
	if err := sh.ValidateBasic(chainID); err != nil {
		return nil, fmt.Errorf("signed header: %w", err)
	}
	if sh.Height != p.Height+1 {
		return nil, fmt.Errorf("header is of height %d, but a proof at height %d needs the header of %d", sh.Height, p.Height, p.Height+1)
	}
	if len(sh.AppHash) == 0 {
		return nil, errors.New("header has an empty app hash")
	}

	// The validator set: well formed, the one the header names, trusted if asked.
	var vals types.ValidatorSet
	if err := cmtjson.Unmarshal(p.ValidatorSet, &vals); err != nil {
		return nil, fmt.Errorf("decode validator set: %w", err)
	}
	total, err := checkValidatorSet(&vals)
	if err != nil {
		return nil, err
	}
	vhash := vals.Hash()
	if !bytes.Equal(vhash, sh.ValidatorsHash) {
		return nil, fmt.Errorf("validator set hashes to %X, the header names %X", vhash, []byte(sh.ValidatorsHash))
	}
	trusted := false
	if len(opts.TrustedValidatorsHash) > 0 {
		if !bytes.Equal(vhash, opts.TrustedValidatorsHash) {
			return nil, fmt.Errorf("header signed by validator set %X, not by the trusted set %X", vhash, opts.TrustedValidatorsHash)
		}
		trusted = true
	}

	// The commit: more than 2/3 of the power signed this header. Every signature present
	// is verified, so the summary's counts are exact.
	if err := vals.VerifyCommitLightAllSignatures(chainID, sh.Commit.BlockID, sh.Height, sh.Commit); err != nil {
		return nil, fmt.Errorf("commit of height %d: %w", sh.Height, err)
	}
	signers, signed := 0, int64(0)
	for i, cs := range sh.Commit.Signatures {
		if cs.BlockIDFlag == types.BlockIDFlagCommit {
			signers++
			signed += vals.Validators[i].VotingPower
		}
	}
	if signed*3 <= total*2 { // already checked by VerifyCommitLight*; kept as a guard
		return nil, fmt.Errorf("commit signed by %d of %d voting power, more than 2/3 needed", signed, total)
	}

	// The record is in the state whose root the header carries.
	if err := store.VerifyMembership(sh.AppHash, p.Proof, p.Key, p.Value); err != nil {
		return nil, err
	}

	return &Verified{
		ChainID:           chainID,
		Height:            p.Height,
		HeaderHeight:      sh.Height,
		BlockHash:         sh.Commit.BlockID.Hash,
		BlockTime:         sh.Time,
		AppHash:           sh.AppHash,
		ValidatorsHash:    vhash,
		ValidatorsTrusted: trusted,
		Signers:           signers,
		ValidatorCount:    vals.Size(),
		SignedPower:       signed,
		TotalPower:        total,
		Record:            rec,
	}, nil
}

// checkValidatorSet checks a decoded validator set beyond ValidateBasic: a bounded size,
// no validator listed twice, positive powers whose total stays within CometBFT's bound
// (TotalVotingPower would panic otherwise). It returns the total power.
func checkValidatorSet(vals *types.ValidatorSet) (int64, error) {
	if err := vals.ValidateBasic(); err != nil {
		return 0, fmt.Errorf("validator set: %w", err)
	}
	if n := len(vals.Validators); n > types.MaxVotesCount {
		return 0, fmt.Errorf("validator set has %d validators, at most %d accepted", n, types.MaxVotesCount)
	}
	seen := make(map[string]bool, len(vals.Validators))
	var total int64
	for i, v := range vals.Validators {
		if seen[string(v.Address)] {
			return 0, fmt.Errorf("validator set lists %X twice", []byte(v.Address))
		}
		seen[string(v.Address)] = true
		if v.VotingPower <= 0 {
			return 0, fmt.Errorf("validator #%d (%X) has voting power %d", i, []byte(v.Address), v.VotingPower)
		}
		if v.VotingPower > types.MaxTotalVotingPower || total > types.MaxTotalVotingPower-v.VotingPower {
			return 0, fmt.Errorf("validator set's voting power exceeds %d", types.MaxTotalVotingPower)
		}
		total += v.VotingPower
	}
	return total, nil
}

// sameJSON reports whether the record shown and the proven value are the same JSON text:
// byte-equal, or equal once insignificant whitespace is removed (the gateway may indent
// its answers). Anything else — another field order, another escape — is a mismatch.
func sameJSON(shown json.RawMessage, proven []byte) bool {
	if bytes.Equal(shown, proven) {
		return true
	}
	var a, b bytes.Buffer
	if json.Compact(&a, shown) != nil || json.Compact(&b, proven) != nil {
		return false
	}
	return bytes.Equal(a.Bytes(), b.Bytes())
}

// keyString shows a store key as its printable prefix followed by the rest in hex.
func keyString(k []byte) string {
	i := bytes.LastIndexByte(k, '/') + 1
	for j := 0; j < i; j++ {
		if k[j] < 0x20 || k[j] > 0x7e {
			i = 0
			break
		}
	}
	return fmt.Sprintf("%s%X", k[:i], k[i:])
}
