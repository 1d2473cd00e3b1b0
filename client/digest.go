package client

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"

	"github.com/cometbft/cometbft/crypto/merkle"
	cmtbytes "github.com/cometbft/cometbft/libs/bytes"
	"github.com/emmansun/gmsm/sm3"

	"github.com/lianchain/lian/modules/evidence"
)

// newHash returns a hash of a document digest algorithm: evidence.HashSHA256 or
// evidence.HashSM3.
func newHash(algo string) (hash.Hash, error) {
	switch algo {
	case evidence.HashSHA256:
		return sha256.New(), nil
	case evidence.HashSM3:
		return sm3.New(), nil
	default:
		return nil, fmt.Errorf("hash algorithm %q: expected %q or %q", algo, evidence.HashSHA256, evidence.HashSM3)
	}
}

// Digest returns the digest of everything r yields under algo ("sha256" or "sm3").
func Digest(algo string, r io.Reader) ([]byte, error) {
	h, err := newHash(algo)
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(h, r); err != nil {
		return nil, fmt.Errorf("digest: %w", err)
	}
	return h.Sum(nil), nil
}

// DigestFile returns the digest of the file at path under algo ("sha256" or "sm3").
func DigestFile(algo, path string) ([]byte, error) {
	if _, err := newHash(algo); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("digest file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("digest file: %w", err)
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("digest file: %s is a directory", path)
	}
	d, err := Digest(algo, f)
	if err != nil {
		return nil, fmt.Errorf("digest file %s: %w", path, err)
	}
	return d, nil
}

// BatchInclusion is the inclusion proof of one document's digest in the root of an
// anchored batch (evidence.BatchRoot, MsgAnchorBatch). Its JSON form is what
// `lian tx evidence anchor-batch` writes per document.
type BatchInclusion struct {
	// Document names the document, e.g. its file name; informational only.
	Document string            `json:"document,omitempty"`
	Digest   cmtbytes.HexBytes `json:"digest"`
	HashAlgo string            `json:"hash_algo"`
	// Index is the document's position in the batch, of Total documents.
	Index int64               `json:"index"`
	Total int64               `json:"total"`
	Root  cmtbytes.HexBytes   `json:"root"`
	Aunts []cmtbytes.HexBytes `json:"aunts"`
	// Where the root was anchored, when known.
	ChainID string `json:"chain_id,omitempty"`
	TxHash  string `json:"tx_hash,omitempty"`
	Height  int64  `json:"height,omitempty"`
}

// NewBatch returns the root of the documents' digests (in order) and one inclusion proof
// per digest. Digests are 32 bytes, at most evidence.MaxBatchCount of them.
func NewBatch(hashAlgo string, digests [][]byte) ([]byte, []*BatchInclusion, error) {
	if _, err := newHash(hashAlgo); err != nil {
		return nil, nil, err
	}
	if len(digests) == 0 || len(digests) > evidence.MaxBatchCount {
		return nil, nil, fmt.Errorf("batch of %d documents: expected 1 to %d", len(digests), evidence.MaxBatchCount)
	}
	for i, d := range digests {
		if len(d) != evidence.DigestLen {
			return nil, nil, fmt.Errorf("batch document %d: digest is %d bytes, expected %d", i, len(d), evidence.DigestLen)
		}
	}
	root, proofs := merkle.ProofsFromByteSlices(digests)
	if want := evidence.BatchRoot(digests); string(want) != string(root) {
		return nil, nil, errors.New("batch: merkle root mismatch") // cannot happen: same tree
	}
	out := make([]*BatchInclusion, len(digests))
	for i, p := range proofs {
		aunts := make([]cmtbytes.HexBytes, len(p.Aunts))
		for j, a := range p.Aunts {
			aunts[j] = a
		}
		out[i] = &BatchInclusion{
			Digest:   append([]byte(nil), digests[i]...),
			HashAlgo: hashAlgo,
			Index:    p.Index,
			Total:    p.Total,
			Root:     root,
			Aunts:    aunts,
		}
	}
	return root, out, nil
}

// Verify checks that the proof shows Digest is document Index of Total in the batch with
// root Root. It does not check that Root is anchored: verify the root's evidence record
// with VerifyEvidence and use VerifyAnchored for that.
func (b *BatchInclusion) Verify() error {
	switch {
	case b == nil:
		return errors.New("batch inclusion: no proof")
	case len(b.Digest) != evidence.DigestLen:
		return fmt.Errorf("batch inclusion: digest is %d bytes, expected %d", len(b.Digest), evidence.DigestLen)
	case len(b.Root) != evidence.DigestLen:
		return fmt.Errorf("batch inclusion: root is %d bytes, expected %d", len(b.Root), evidence.DigestLen)
	case b.Total < 1 || b.Total > evidence.MaxBatchCount:
		return fmt.Errorf("batch inclusion: total %d: expected 1 to %d", b.Total, evidence.MaxBatchCount)
	case b.Index < 0 || b.Index >= b.Total:
		return fmt.Errorf("batch inclusion: index %d out of range [0, %d)", b.Index, b.Total)
	}
	aunts := make([][]byte, len(b.Aunts))
	for i, a := range b.Aunts {
		aunts[i] = a
	}
	leaf := sha256.Sum256(append([]byte{0}, b.Digest...)) // RFC 6962 leaf hash, as crypto/merkle
	p := &merkle.Proof{Total: b.Total, Index: b.Index, LeafHash: leaf[:], Aunts: aunts}
	if err := p.ValidateBasic(); err != nil {
		return fmt.Errorf("batch inclusion: %w", err)
	}
	return evidence.VerifyBatchMember(b.Root, b.Digest, p)
}

// VerifyAnchored checks the proof (Verify) and that it belongs to the batch whose record
// v verified: a batch record whose digest is Root, of Total documents hashed with HashAlgo.
// v comes from VerifyEvidence on Root.
func (b *BatchInclusion) VerifyAnchored(v *Verified) error {
	if err := b.Verify(); err != nil {
		return err
	}
	if v == nil || v.Record == nil {
		return errors.New("batch inclusion: no verified record of the root")
	}
	r := v.Record
	switch {
	case r.Kind != evidence.KindBatch:
		return fmt.Errorf("batch inclusion: the root's record is a %q record, not a batch", r.Kind)
	case !bytes.Equal(r.Digest, b.Root):
		return fmt.Errorf("batch inclusion: the verified record is of %X, not of the root %X", []byte(r.Digest), []byte(b.Root))
	case r.Count != uint64(b.Total):
		return fmt.Errorf("batch inclusion: the anchored batch has %d documents, the proof says %d", r.Count, b.Total)
	case r.HashAlgo != b.HashAlgo:
		return fmt.Errorf("batch inclusion: the batch's documents are hashed with %s, the proof says %s", r.HashAlgo, b.HashAlgo)
	}
	return nil
}
