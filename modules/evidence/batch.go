package evidence

import (
	"errors"
	"fmt"

	"github.com/cometbft/cometbft/crypto/merkle"
)

// BatchRoot returns the Merkle root of document digests, in order, as MsgAnchorBatch
// anchors it: the RFC 6962 tree of CometBFT's crypto/merkle (SHA-256, leaf prefix 0x00,
// inner prefix 0x01) over the digests.
func BatchRoot(digests [][]byte) []byte { return merkle.HashFromByteSlices(digests) }

// BatchProof returns the inclusion proof of digests[i] in BatchRoot(digests).
func BatchProof(digests [][]byte, i int) (*merkle.Proof, error) {
	if i < 0 || i >= len(digests) {
		return nil, fmt.Errorf("batch proof: index %d out of range [0, %d)", i, len(digests))
	}
	_, proofs := merkle.ProofsFromByteSlices(digests)
	return proofs[i], nil
}

// VerifyBatchMember checks that proof shows digest is a document of the batch with root.
func VerifyBatchMember(root, digest []byte, proof *merkle.Proof) error {
	if proof == nil {
		return errors.New("verify batch member: no proof")
	}
	if len(proof.Aunts) > 64 {
		return errors.New("verify batch member: proof too deep")
	}
	if err := proof.Verify(root, digest); err != nil {
		return fmt.Errorf("verify batch member: %w", err)
	}
	return nil
}
