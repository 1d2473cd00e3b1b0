// Package verifier is what the explorer's WebAssembly module (web/wasm) does: it checks
// an evidence proof with client.VerifyEvidenceWithOptions — the ICS-23 proof against the
// app hash of the next block's header, and the signatures of more than 2/3 of the voting
// power of that header's validator set — optionally against a validator set the browser
// trusts, checks batch inclusion proofs, and hashes documents with SM3 (and SHA-256 where
// the browser has no WebCrypto). It takes and
// returns JSON text, so the JavaScript side never builds Go values. It also checks a
// proven cross-chain attestation (client.VerifyAttestation).
package verifier

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"strings"
	"time"

	cmtbytes "github.com/cometbft/cometbft/libs/bytes"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/types"
	"github.com/emmansun/gmsm/sm3"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/client"
	"github.com/lianchain/lian/modules/attest"
	"github.com/lianchain/lian/modules/evidence"
)

// Result is the answer of Verify and VerifyInclusion, as JSON.
type Result struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	// Verified is client.Verified of the record (for an inclusion proof, of the batch root).
	Verified *client.Verified `json:"verified,omitempty"`
	// Trusted says how the validator set that signed the header was trusted: "pinned"
	// (it is the trusted set), "advanced" (a later set, vouched for by the trusted one;
	// NewTrust replaces the trust) or "unpinned" (no trust was given: TrustCandidate is
	// the set to trust from now on, if the user accepts it on first use).
	Trusted        string        `json:"trusted,omitempty"`
	NewTrust       *client.Trust `json:"new_trust,omitempty"`
	TrustCandidate *client.Trust `json:"trust_candidate,omitempty"`
	// Inclusion is the checked batch inclusion proof (VerifyInclusion only).
	Inclusion *client.BatchInclusion `json:"inclusion,omitempty"`
	// Attestation is the proven attestation (VerifyAttestation only).
	Attestation *attest.Attestation `json:"attestation,omitempty"`
}

// MaxInputBytes bounds each JSON input.
const MaxInputBytes = 8 << 20

// Verify checks the proof of evidenceJSON (the body of GET …/evidence/{digest}?prove=true)
// for the digest (hex) on chainID. trustJSON is a client.Trust (a trust file, or what an
// earlier Verify returned as TrustCandidate or NewTrust) or empty. source names where the
// proof came from, for a trust candidate's Source.
func Verify(chainID, digestHex, evidenceJSON, trustJSON, source string) string {
	return encode(verify(chainID, digestHex, evidenceJSON, trustJSON, source))
}

// VerifyInclusion checks that the inclusion proof inclusionJSON (a client.BatchInclusion,
// as `lian tx evidence anchor-batch --proofs-out` writes it) places its document in a
// batch whose root rootEvidenceJSON proves anchored on chainID.
func VerifyInclusion(chainID, inclusionJSON, rootEvidenceJSON, trustJSON, source string) string {
	if len(inclusionJSON) > MaxInputBytes {
		return encode(&Result{Error: fmt.Sprintf("inclusion proof is %d bytes, at most %d accepted", len(inclusionJSON), MaxInputBytes)})
	}
	var b client.BatchInclusion
	if err := json.Unmarshal([]byte(inclusionJSON), &b); err != nil {
		return encode(&Result{Error: "inclusion proof: " + err.Error()})
	}
	if err := b.Verify(); err != nil {
		return encode(&Result{Error: err.Error(), Inclusion: &b})
	}
	res := verify(chainID, hex.EncodeToString(b.Root), rootEvidenceJSON, trustJSON, source)
	res.Inclusion = &b
	if !res.OK {
		return encode(res)
	}
	if err := b.VerifyAnchored(res.Verified); err != nil {
		res.OK, res.Error = false, err.Error()
	}
	return encode(res)
}

// ParseInclusion reads an inclusion proof and returns it re-encoded (hex upper-case), or
// an error: the page uses it to recognise a dropped proof file.
func ParseInclusion(inclusionJSON string) (string, error) {
	if len(inclusionJSON) > MaxInputBytes {
		return "", errors.New("too large for an inclusion proof")
	}
	var b client.BatchInclusion
	if err := json.Unmarshal([]byte(inclusionJSON), &b); err != nil {
		return "", err
	}
	if len(b.Digest) == 0 || len(b.Root) == 0 || b.Total == 0 {
		return "", errors.New("not an inclusion proof: digest, root and total are required")
	}
	out, err := json.Marshal(&b)
	return string(out), err
}

// ParseTrust reads a trust file (client.Trust) and checks its validator set, if it has
// one, hashes to its validators hash. It returns the trust re-encoded.
func ParseTrust(trustJSON string) (string, error) {
	t, err := parseTrust(trustJSON)
	if err != nil {
		return "", err
	}
	out, err := json.Marshal(t)
	return string(out), err
}

func parseTrust(trustJSON string) (*client.Trust, error) {
	if len(trustJSON) > MaxInputBytes {
		return nil, errors.New("trust file too large")
	}
	var t client.Trust
	if err := json.Unmarshal([]byte(trustJSON), &t); err != nil {
		return nil, fmt.Errorf("trust: %w", err)
	}
	if t.ChainID == "" || len(t.ValidatorsHash) != 32 {
		return nil, errors.New("trust: expected a chain_id and a 32-byte validators_hash")
	}
	if len(t.Validators) > 0 {
		var set types.ValidatorSet
		if err := cmtjson.Unmarshal(t.Validators, &set); err != nil {
			return nil, fmt.Errorf("trust: validator set: %w", err)
		}
		if _, err := client.CheckValidatorSet(&set); err != nil {
			return nil, fmt.Errorf("trust: %w", err)
		}
		if !bytes.Equal(set.Hash(), t.ValidatorsHash) {
			return nil, errors.New("trust: the validator set does not hash to validators_hash")
		}
	}
	return &t, nil
}

// VerifyAttestation checks the proof of attestationJSON (the body of GET
// …/xchain/attestations/{source_chain}/{digest}?prove=true): that chainID stores
// sourceChain's answer about the digest (hex), as package client's VerifyAttestation
// does; trustJSON and source as for Verify.
func VerifyAttestation(chainID, sourceChain, digestHex, attestationJSON, trustJSON, source string) string {
	if len(attestationJSON) > MaxInputBytes {
		return encode(&Result{Error: fmt.Sprintf("attestation is %d bytes, at most %d accepted", len(attestationJSON), MaxInputBytes)})
	}
	digest, err := parseDigest(digestHex)
	if err != nil {
		return encode(&Result{Error: err.Error()})
	}
	var a api.XAttestation
	if err := json.Unmarshal([]byte(attestationJSON), &a); err != nil {
		return encode(&Result{Error: "attestation: " + err.Error()})
	}
	var att *attest.Attestation
	res := verifyTrusted(chainID, trustJSON, source, func(opts client.VerifyOptions) (*client.Verified, json.RawMessage, error) {
		v, got, err := client.VerifyAttestation(chainID, sourceChain, digest, &a, opts)
		att = got
		if a.Proof == nil {
			return v, nil, err
		}
		return v, a.Proof.ValidatorSet, err
	})
	res.Attestation = att
	return encode(res)
}

func parseDigest(digestHex string) ([]byte, error) {
	digest, err := hex.DecodeString(strings.TrimPrefix(strings.ToLower(strings.TrimSpace(digestHex)), "0x"))
	if err != nil {
		return nil, errors.New("digest: expected hex: " + err.Error())
	}
	return digest, nil
}

func verify(chainID, digestHex, evidenceJSON, trustJSON, source string) *Result {
	if len(evidenceJSON) > MaxInputBytes {
		return &Result{Error: fmt.Sprintf("evidence is %d bytes, at most %d accepted", len(evidenceJSON), MaxInputBytes)}
	}
	digest, err := parseDigest(digestHex)
	if err != nil {
		return &Result{Error: err.Error()}
	}
	var ev api.Evidence
	if err := json.Unmarshal([]byte(evidenceJSON), &ev); err != nil {
		return &Result{Error: "evidence: " + err.Error()}
	}
	return verifyTrusted(chainID, trustJSON, source, func(opts client.VerifyOptions) (*client.Verified, json.RawMessage, error) {
		v, err := client.VerifyEvidenceWithOptions(chainID, digest, &ev, opts)
		if err != nil {
			return nil, nil, err
		}
		return v, ev.Proof.ValidatorSet, nil
	})
}

// verifyTrusted runs a proof check with the trust of trustJSON (if any) and says how the
// validator set that signed was trusted. check returns the summary and the validator set
// the proof came with.
func verifyTrusted(chainID, trustJSON, source string, check func(client.VerifyOptions) (*client.Verified, json.RawMessage, error)) *Result {
	var opts client.VerifyOptions
	if strings.TrimSpace(trustJSON) != "" {
		t, err := parseTrust(trustJSON)
		if err != nil {
			return &Result{Error: err.Error()}
		}
		if t.ChainID != chainID {
			return &Result{Error: fmt.Sprintf("the trust is of chain %q, not %q", t.ChainID, chainID)}
		}
		opts.TrustedValidatorsHash = t.ValidatorsHash
		opts.Trust = t
	}
	v, vals, err := check(opts)
	if err != nil {
		return &Result{Error: err.Error()}
	}
	res := &Result{OK: true, Verified: v}
	switch {
	case v.TrustAdvanced:
		res.Trusted, res.NewTrust = "advanced", v.NewTrust
	case v.ValidatorsTrusted:
		res.Trusted = "pinned"
	default:
		res.Trusted = "unpinned"
		res.TrustCandidate = &client.Trust{
			ChainID:        chainID,
			ValidatorsHash: v.ValidatorsHash,
			Validators:     vals,
			Height:         v.HeaderHeight,
			Time:           v.BlockTime,
			Source:         fmt.Sprintf("validator set of header %d, trusted on first use (%s, %s)", v.HeaderHeight, source, time.Now().UTC().Format(time.RFC3339)),
		}
	}
	return res
}

func encode(r *Result) string {
	b, err := json.Marshal(r)
	if err != nil {
		b, _ = json.Marshal(&Result{Error: "encode result: " + err.Error()})
	}
	return string(b)
}

// Hasher is an incremental hash of a document.
type Hasher struct{ h hash.Hash }

// NewHasher returns a hasher of a document digest algorithm: "sm3" (GB/T 32905-2016,
// the implementation Lian's CLI uses) or "sha256" (for pages served without WebCrypto,
// which browsers offer only in secure contexts).
func NewHasher(algo string) (*Hasher, error) {
	switch algo {
	case evidence.HashSM3:
		return &Hasher{h: sm3.New()}, nil
	case evidence.HashSHA256:
		return &Hasher{h: sha256.New()}, nil
	}
	return nil, fmt.Errorf("hash algorithm %q: expected %q or %q", algo, evidence.HashSHA256, evidence.HashSM3)
}

// Write adds p to the document.
func (s *Hasher) Write(p []byte) { s.h.Write(p) }

// Sum returns the digest so far, upper-case hex.
func (s *Hasher) Sum() string { return cmtbytes.HexBytes(s.h.Sum(nil)).String() }
