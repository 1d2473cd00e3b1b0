package store

import (
	"errors"
	"fmt"

	ics23 "github.com/cosmos/ics23/go"
)

// Multi-key proofs. A relayer proves hundreds of keys of one version at once; their
// single proofs repeat the upper inner nodes of the tree from key to key, and for keys
// next to each other (a route's packets) most of each proof. ICS-23's compressed batch
// proof stores each distinct inner step once, so the proofs of 256 consecutive
// commitments take about a quarter of their bytes one by one.

// Bounds of a multi-key proof accepted for verification.
const (
	// MaxMultiProofBytes bounds an encoded multi-key proof (a transaction's bound).
	MaxMultiProofBytes = 1 << 20
	// MaxMultiProofEntries bounds the keys one multi-key proof proves.
	MaxMultiProofEntries = MaxBatchKeys
	// maxProofDepth bounds the inner steps of one entry. An IAVL tree is an AVL tree:
	// its depth is below 1.45·log2(keys), so 128 allows far more keys than a disk holds.
	maxProofDepth = 128
)

// CombineProofs combines encoded single existence proofs (as ProveMany returns them)
// into one compressed ICS-23 batch proof whose entry i proves what proofs[i] proves.
func CombineProofs(proofs [][]byte) ([]byte, error) {
	if len(proofs) == 0 || len(proofs) > MaxMultiProofEntries {
		return nil, fmt.Errorf("combine proofs: %d proofs, expected 1 to %d", len(proofs), MaxMultiProofEntries)
	}
	ps := make([]*ics23.CommitmentProof, len(proofs))
	for i, b := range proofs {
		p, err := DecodeProof(b)
		if err != nil {
			return nil, fmt.Errorf("combine proofs: proof %d: %w", i, err)
		}
		if p.GetExist() == nil {
			return nil, fmt.Errorf("combine proofs: proof %d is not an existence proof", i)
		}
		ps[i] = p
	}
	c, err := ics23.CombineProofs(ps)
	if err != nil {
		return nil, fmt.Errorf("combine proofs: %w", err)
	}
	return EncodeProof(c)
}

// VerifyMultiMembership checks that proof, an ICS-23 batch proof (compressed or not)
// with exactly one existence entry per key, shows keys[i] = values[i] under root for
// every i, entry i proving keys[i]. Each entry is checked as VerifyMembership checks a
// single proof.
func VerifyMultiMembership(root, proof []byte, keys, values [][]byte) (err error) {
	defer recoverProof(&err)
	if len(keys) != len(values) {
		return fmt.Errorf("verify membership: %d keys and %d values", len(keys), len(values))
	}
	if len(keys) == 0 || len(keys) > MaxMultiProofEntries {
		return fmt.Errorf("verify membership: %d keys, expected 1 to %d", len(keys), MaxMultiProofEntries)
	}
	if len(proof) == 0 {
		return errors.New("decode proof: empty")
	}
	if len(proof) > MaxMultiProofBytes {
		return fmt.Errorf("decode proof: %d bytes, at most %d allowed", len(proof), MaxMultiProofBytes)
	}
	var p ics23.CommitmentProof
	if err := p.Unmarshal(proof); err != nil {
		return fmt.Errorf("decode proof: %w", err)
	}
	entries, err := existEntries(&p, len(keys))
	if err != nil {
		return err
	}
	for i, ep := range entries {
		if len(values[i]) == 0 {
			return fmt.Errorf("verify membership: entry %d: empty value", i)
		}
		if err := ep.Verify(ics23.IavlSpec, root, keys[i], values[i]); err != nil {
			return fmt.Errorf("verify membership: entry %d, key %x, does not match root %X: %v", i, keys[i], root, err)
		}
	}
	return nil
}

// existEntries checks a batch proof's shape — n existence entries, lookup indexes in
// range — before decompressing it (ics23.Decompress trusts its input), and returns the
// entries once each is of bounded depth.
func existEntries(p *ics23.CommitmentProof, n int) ([]*ics23.ExistenceProof, error) {
	switch {
	case p.GetCompressed() != nil:
		c := p.GetCompressed()
		if len(c.Entries) != n {
			return nil, fmt.Errorf("verify membership: the proof has %d entries, expected %d", len(c.Entries), n)
		}
		for _, op := range c.LookupInners {
			if op == nil {
				return nil, errors.New("verify membership: empty inner step in the lookup table")
			}
		}
		for i, e := range c.Entries {
			ex := e.GetExist()
			if ex == nil {
				return nil, fmt.Errorf("verify membership: entry %d is not an existence proof", i)
			}
			for _, step := range ex.Path {
				if step < 0 || int(step) >= len(c.LookupInners) {
					return nil, fmt.Errorf("verify membership: entry %d: inner step %d is not in the lookup table of %d", i, step, len(c.LookupInners))
				}
			}
		}
		p = ics23.Decompress(p)
	case p.GetBatch() != nil:
		if len(p.GetBatch().Entries) != n {
			return nil, fmt.Errorf("verify membership: the proof has %d entries, expected %d", len(p.GetBatch().Entries), n)
		}
	default:
		return nil, errors.New("verify membership: expected a batch proof")
	}
	out := make([]*ics23.ExistenceProof, n)
	for i, e := range p.GetBatch().Entries {
		ex := e.GetExist()
		if ex == nil {
			return nil, fmt.Errorf("verify membership: entry %d is not an existence proof", i)
		}
		if len(ex.Path) > maxProofDepth {
			return nil, fmt.Errorf("verify membership: entry %d has %d inner steps, at most %d allowed", i, len(ex.Path), maxProofDepth)
		}
		for _, step := range ex.Path {
			if step == nil {
				return nil, fmt.Errorf("verify membership: entry %d has an empty inner step", i)
			}
		}
		out[i] = ex
	}
	return out, nil
}
