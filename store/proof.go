package store

import (
	"errors"
	"fmt"

	ics23 "github.com/cosmos/ics23/go"
)

// ProofOpType is the type of the single proof operation a proven ABCI query
// returns: an ICS-23 IAVL commitment proof (EncodeProof) whose root is the app
// hash of block height+1's header.
const ProofOpType = "ics23:iavl"

// MaxProofBytes bounds an encoded proof accepted for verification.
const MaxProofBytes = 64 << 10

// EncodeProof returns the protobuf encoding of an ICS-23 proof.
func EncodeProof(p *ics23.CommitmentProof) ([]byte, error) {
	b, err := p.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encode proof: %w", err)
	}
	return b, nil
}

// DecodeProof decodes an ICS-23 proof.
func DecodeProof(b []byte) (*ics23.CommitmentProof, error) {
	if len(b) == 0 {
		return nil, errors.New("decode proof: empty")
	}
	if len(b) > MaxProofBytes {
		return nil, fmt.Errorf("decode proof: %d bytes, at most %d allowed", len(b), MaxProofBytes)
	}
	var p ics23.CommitmentProof
	if err := p.Unmarshal(b); err != nil {
		return nil, fmt.Errorf("decode proof: %w", err)
	}
	return &p, nil
}

// VerifyMembership checks that proof shows key = value under root (an app hash).
func VerifyMembership(root, proof, key, value []byte) (err error) {
	defer recoverProof(&err)
	p, err := DecodeProof(proof)
	if err != nil {
		return err
	}
	if len(value) == 0 {
		return errors.New("verify membership: empty value")
	}
	if !ics23.VerifyMembership(ics23.IavlSpec, root, p, key, value) {
		return fmt.Errorf("verify membership: proof of %x does not match root %X", key, root)
	}
	return nil
}

// VerifyNonMembership checks that proof shows key absent under root.
func VerifyNonMembership(root, proof, key []byte) (err error) {
	defer recoverProof(&err)
	p, err := DecodeProof(proof)
	if err != nil {
		return err
	}
	if !ics23.VerifyNonMembership(ics23.IavlSpec, root, p, key) {
		return fmt.Errorf("verify non-membership: proof of absence of %x does not match root %X", key, root)
	}
	return nil
}

// recoverProof turns a panic inside the ICS-23 library on a malformed proof into an error:
// proofs come from the network and must never crash a node or a client.
func recoverProof(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("malformed proof: %v", r)
	}
}
