package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	cmtbytes "github.com/cometbft/cometbft/libs/bytes"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	cmtmath "github.com/cometbft/cometbft/libs/math"
	"github.com/cometbft/cometbft/types"

	"github.com/lianchain/lian/api"
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
	// VerifyOptions.TrustedValidatorsHash, or that the header's set was reached from the
	// trusted set (TrustAdvanced).
	ValidatorsTrusted bool `json:"validators_trusted"`
	// TrustAdvanced reports that the header was signed by another set than the trusted
	// one, and accepted because validators of the trusted set holding at least a third
	// of its power signed it within the trusting period (CometBFT light client skipping
	// verification). Save NewTrust to trust the new set from now on.
	TrustAdvanced bool   `json:"trust_advanced,omitempty"`
	NewTrust      *Trust `json:"-"`
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
	// for the chain (e.g. from its genesis); the header must be signed by exactly that set,
	// unless Trust allows moving on from it.
	TrustedValidatorsHash []byte
	// Trust, if set with its validator set, lets a header signed by a later validator set
	// (after governance changed it) be accepted: validators of the trusted set with at
	// least 1/3 of its power must have signed it, and the header must be within
	// TrustingPeriod of the trusted set's time. TrustedValidatorsHash must be Trust's.
	Trust *Trust
	// TrustingPeriod bounds how long a trusted set vouches for its successors (default
	// DefaultTrustingPeriod): older keys may have been lost or retired.
	TrustingPeriod time.Duration
}

// DefaultTrustingPeriod is how long a trusted validator set may vouch for a new one.
const DefaultTrustingPeriod = 14 * 24 * time.Hour

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
	if err := checkSizes(p); err != nil {
		return nil, err
	}

	// What is proven: the digest's key, the record shown, at the height shown.
	wantKey := append(modules.Prefix(evidence.Name), evidence.Key(digest)...)
	// The proven value is the stored record (binary, or JSON if written before the
	// binary form); the record shown must be its JSON.
	provenJSON, err := evidence.RecordJSON(p.Value)
	if err != nil {
		return nil, err
	}
	if err := checkProvenRecord(p, "digest's", wantKey, ev.Record, provenJSON, ev.Height); err != nil {
		return nil, err
	}
	rec, err := evidence.DecodeRecord(p.Value)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(rec.Digest, digest) {
		return nil, fmt.Errorf("proven record is for digest %X, not %X", []byte(rec.Digest), digest)
	}
	v, err := verifyProof(chainID, p, opts)
	if err != nil {
		return nil, err
	}
	v.Record = rec
	return v, nil
}

// checkSizes bounds the parts of a proof before anything is decoded.
func checkSizes(p *api.Proof) error {
	switch {
	case len(p.Proof) == 0:
		return errors.New("empty proof")
	case len(p.Proof) > store.MaxProofBytes:
		return fmt.Errorf("proof is %d bytes, at most %d accepted", len(p.Proof), store.MaxProofBytes)
	case len(p.SignedHeader) > MaxSignedHeaderBytes:
		return fmt.Errorf("signed header is %d bytes, at most %d accepted", len(p.SignedHeader), MaxSignedHeaderBytes)
	case len(p.ValidatorSet) > MaxValidatorSetBytes:
		return fmt.Errorf("validator set is %d bytes, at most %d accepted", len(p.ValidatorSet), MaxValidatorSetBytes)
	case len(p.Value) == 0:
		return errors.New("proof has an empty value")
	case len(p.Value) > MaxRecordBytes:
		return fmt.Errorf("proven value is %d bytes, at most %d accepted", len(p.Value), MaxRecordBytes)
	}
	return nil
}

// checkProvenRecord checks that p proves key wantKey (what names it in errors), that the
// record shown is the proven value (as JSON: provenJSON), and that it was read at the
// proof's height.
func checkProvenRecord(p *api.Proof, what string, wantKey []byte, shown, provenJSON json.RawMessage, shownHeight int64) error {
	if p.ProofType != store.ProofOpType {
		return fmt.Errorf("proof type %q, expected %q", p.ProofType, store.ProofOpType)
	}
	if !bytes.Equal(p.Key, wantKey) {
		return fmt.Errorf("proof is for key %s, not for the %s key %s", keyString(p.Key), what, keyString(wantKey))
	}
	if !sameJSON(shown, provenJSON) {
		return errors.New("the record shown is not the proven value")
	}
	if p.Height < 1 {
		return fmt.Errorf("proof height %d: expected a committed height", p.Height)
	}
	if shownHeight != p.Height {
		return fmt.Errorf("record read at height %d, but proven at height %d", shownHeight, p.Height)
	}
	return nil
}

// verifyProof checks the header, validator set, commit and ICS-23 proof of p (whose
// sizes, key and value were checked) and returns the summary without a record.
func verifyProof(chainID string, p *api.Proof, opts VerifyOptions) (*Verified, error) {

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
	total, err := CheckValidatorSet(&vals)
	if err != nil {
		return nil, err
	}
	vhash := vals.Hash()
	if !bytes.Equal(vhash, sh.ValidatorsHash) {
		return nil, fmt.Errorf("validator set hashes to %X, the header names %X", vhash, []byte(sh.ValidatorsHash))
	}
	trusted, advanced := false, false
	if len(opts.TrustedValidatorsHash) > 0 {
		if !bytes.Equal(vhash, opts.TrustedValidatorsHash) {
			if err := vouch(chainID, &sh, opts); err != nil {
				return nil, fmt.Errorf("header signed by validator set %X, not by the trusted set %X: %w", vhash, opts.TrustedValidatorsHash, err)
			}
			advanced = true
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
		TrustAdvanced:     advanced,
		NewTrust:          newTrust(chainID, &vals, &sh, advanced),
		Signers:           signers,
		ValidatorCount:    vals.Size(),
		SignedPower:       signed,
		TotalPower:        total,
	}, nil
}

// vouch checks that the trusted validator set of opts vouches for a header signed by
// another set: within the trusting period of the trusted set's time, and signed by
// trusted validators holding at least 1/3 of the trusted power (so at least one honest
// one, if fewer than 1/3 of it are faulty).
func vouch(chainID string, sh *types.SignedHeader, opts VerifyOptions) error {
	t := opts.Trust
	if t == nil || len(t.Validators) == 0 {
		return errors.New("the trust has no validator set to move on from (update the trust file, or pin the new hash)")
	}
	var set types.ValidatorSet
	if err := cmtjson.Unmarshal(t.Validators, &set); err != nil {
		return fmt.Errorf("trusted validator set: %w", err)
	}
	if _, err := CheckValidatorSet(&set); err != nil {
		return fmt.Errorf("trusted %w", err)
	}
	if !bytes.Equal(set.Hash(), opts.TrustedValidatorsHash) || !bytes.Equal(t.ValidatorsHash, opts.TrustedValidatorsHash) {
		return errors.New("the trusted validator set does not hash to the trusted hash")
	}
	period := opts.TrustingPeriod
	if period == 0 {
		period = DefaultTrustingPeriod
	}
	if sh.Time.Before(t.Time) {
		return fmt.Errorf("header time %s is before the trusted set's %s", sh.Time, t.Time)
	}
	if sh.Time.After(t.Time.Add(period)) {
		return fmt.Errorf("the trusted set is of %s, more than the trusting period (%s) before the header (%s): get a fresh trust file",
			t.Time.Format(time.RFC3339), period, sh.Time.Format(time.RFC3339))
	}
	if sh.Height <= t.Height {
		return fmt.Errorf("header height %d is not above the trusted height %d", sh.Height, t.Height)
	}
	if err := set.VerifyCommitLightTrusting(chainID, sh.Commit, cmtmath.Fraction{Numerator: 1, Denominator: 3}); err != nil {
		return fmt.Errorf("not vouched for by 1/3 of the trusted set: %w", err)
	}
	return nil
}

// newTrust returns the trust in the header's set after it was reached from an older one.
func newTrust(chainID string, vals *types.ValidatorSet, sh *types.SignedHeader, advanced bool) *Trust {
	if !advanced {
		return nil
	}
	b, err := cmtjson.Marshal(vals)
	if err != nil {
		return nil
	}
	return &Trust{ChainID: chainID, ValidatorsHash: vals.Hash(), Validators: b, Height: sh.Height, Time: sh.Time,
		Source: fmt.Sprintf("validator set of header %d, vouched for by the previous trust", sh.Height)}
}

// CheckValidatorSet checks a validator set decoded from untrusted input, beyond
// ValidateBasic: a bounded size, no validator listed twice, positive powers whose total
// stays within CometBFT's bound (TotalVotingPower would panic otherwise). It never
// panics: ValidateBasic does on a public key of the wrong size, and that is an error
// here. It returns the total power.
func CheckValidatorSet(vals *types.ValidatorSet) (total int64, err error) {
	defer func() {
		if r := recover(); r != nil {
			total, err = 0, fmt.Errorf("validator set: malformed: %v", r)
		}
	}()
	if err := vals.ValidateBasic(); err != nil {
		return 0, fmt.Errorf("validator set: %w", err)
	}
	if n := len(vals.Validators); n > types.MaxVotesCount {
		return 0, fmt.Errorf("validator set has %d validators, at most %d accepted", n, types.MaxVotesCount)
	}
	seen := make(map[string]bool, len(vals.Validators))
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
