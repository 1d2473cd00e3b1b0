package crypto

import (
	"errors"
	"fmt"

	cmtcrypto "github.com/cometbft/cometbft/crypto"
	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
)

// Ed25519Batch verifies many ed25519 signatures at once with CometBFT's
// batch verifier (curve25519-voi, ZIP-215 rules, so its verdicts agree with
// PubKey.VerifySignature). It is not safe for concurrent use, and is meant
// for one Verify call.
type Ed25519Batch struct {
	bv cmtcrypto.BatchVerifier
	n  int
}

// NewEd25519Batch returns an empty batch.
func NewEd25519Batch() *Ed25519Batch {
	return &Ed25519Batch{bv: cmted25519.NewBatchVerifier()}
}

// Add queues the signature sig of msg under pub. It returns an error, and
// queues nothing, if pub is not an ed25519 key of this package or sig is not
// 64 bytes; such an entry should be treated as invalid by the caller. The
// index of an entry in Verify's result is the number of successful Add
// calls before it.
func (b *Ed25519Batch) Add(pub PubKey, msg, sig []byte) error {
	k, ok := pub.(*ed25519PubKey)
	if !ok || k == nil {
		return fmt.Errorf("ed25519 batch: public key is not an ed25519 key (%s)", describeAlgo(pub))
	}
	if len(sig) != Ed25519SignatureSize {
		return fmt.Errorf("ed25519 batch: signature must be %d bytes, got %d", Ed25519SignatureSize, len(sig))
	}
	if b.bv == nil {
		return errors.New("ed25519 batch: not created with NewEd25519Batch")
	}
	if err := b.bv.Add(k.key, msg, sig); err != nil {
		return fmt.Errorf("ed25519 batch: %w", err)
	}
	b.n++
	return nil
}

// Len returns the number of queued signatures.
func (b *Ed25519Batch) Len() int { return b.n }

// Verify checks all queued signatures. ok is true if and only if every
// signature is valid; valid[i] tells whether the i-th queued signature is
// valid. An empty batch yields (true, an empty slice).
func (b *Ed25519Batch) Verify() (ok bool, valid []bool) {
	if b.n == 0 || b.bv == nil {
		return true, []bool{}
	}
	return b.bv.Verify()
}

func describeAlgo(pub PubKey) string {
	if pub == nil {
		return "nil"
	}
	return string(pub.Algo())
}
