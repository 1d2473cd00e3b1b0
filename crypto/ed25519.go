package crypto

import (
	"bytes"
	stded25519 "crypto/ed25519"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"

	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/oasisprotocol/curve25519-voi/curve"
)

// ed25519PubKey is an ed25519 public key known to be a canonical encoding of
// a curve point that is not of small order.
type ed25519PubKey struct {
	key  cmted25519.PubKey // 32 bytes, never modified
	addr Address
}

var _ PubKey = (*ed25519PubKey)(nil)

func ed25519PubKeyFromBytes(b []byte) (*ed25519PubKey, error) {
	if len(b) != Ed25519PubKeySize {
		return nil, fmt.Errorf("invalid ed25519 public key: need %d bytes, got %d", Ed25519PubKeySize, len(b))
	}
	if err := checkEd25519Point(b); err != nil {
		return nil, fmt.Errorf("invalid ed25519 public key: %w", err)
	}
	key := make(cmted25519.PubKey, Ed25519PubKeySize)
	copy(key, b)
	return &ed25519PubKey{key: key, addr: ed25519Address(key)}, nil
}

// checkEd25519Point checks that b (32 bytes) is the canonical encoding of a
// point on edwards25519 that is not of small order. The decompression and
// group arithmetic are curve25519-voi's, the library CometBFT verifies with.
func checkEd25519Point(b []byte) error {
	var compressed curve.CompressedEdwardsY
	if _, err := compressed.SetBytes(b); err != nil {
		return err
	}
	var p curve.EdwardsPoint
	if _, err := p.SetCompressedY(&compressed); err != nil {
		return errors.New("not a point on the curve")
	}
	var again curve.CompressedEdwardsY
	again.SetEdwardsPoint(&p)
	if !bytes.Equal(again[:], b) {
		return errors.New("non-canonical point encoding")
	}
	if p.IsSmallOrder() {
		return errors.New("point of small order")
	}
	return nil
}

// ed25519Address is the first 20 bytes of SHA-256(pub), as in CometBFT.
func ed25519Address(pub []byte) Address {
	sum := sha256.Sum256(pub)
	var a Address
	copy(a[:], sum[:AddressLen])
	return a
}

func (k *ed25519PubKey) Algo() Algo { return Ed25519 }

func (k *ed25519PubKey) Bytes() []byte { return bytes.Clone(k.key) }

func (k *ed25519PubKey) Address() Address { return k.addr }

// VerifySignature verifies a 64-byte signature with CometBFT's verifier
// (curve25519-voi, ZIP-215 rules).
func (k *ed25519PubKey) VerifySignature(msg, sig []byte) bool {
	if k == nil || len(k.key) != Ed25519PubKeySize || len(sig) != Ed25519SignatureSize {
		return false
	}
	return k.key.VerifySignature(msg, sig)
}

// String returns the algorithm and the hex encoding of the key.
func (k *ed25519PubKey) String() string { return fmt.Sprintf("ed25519:%x", []byte(k.key)) }

// ed25519PrivKey is a CometBFT-form ed25519 private key whose public half is
// known to match its seed.
type ed25519PrivKey struct {
	key cmted25519.PrivKey // 64 bytes, never modified
	pub *ed25519PubKey
}

var _ PrivKey = (*ed25519PrivKey)(nil)

func genEd25519() (priv PrivKey, err error) {
	// cometbft's GenPrivKey panics if the system randomness fails.
	defer func() {
		if r := recover(); r != nil {
			priv, err = nil, fmt.Errorf("generate ed25519 key: %v", r)
		}
	}()
	return PrivKeyFromBytes(Ed25519, cmted25519.GenPrivKey().Bytes())
}

func ed25519PrivKeyFromBytes(b []byte) (*ed25519PrivKey, error) {
	if len(b) != Ed25519PrivKeySize {
		return nil, fmt.Errorf("invalid ed25519 private key: need %d bytes (seed || public key), got %d", Ed25519PrivKeySize, len(b))
	}
	// Signing with a public half that does not match the seed produces bad
	// signatures and can leak the key, so insist that they agree.
	want := stded25519.NewKeyFromSeed(b[:stded25519.SeedSize])
	if subtle.ConstantTimeCompare(want, b) != 1 {
		return nil, errors.New("invalid ed25519 private key: public key half does not match the seed")
	}
	pub, err := ed25519PubKeyFromBytes(b[stded25519.SeedSize:])
	if err != nil {
		return nil, err // cannot happen for a key derived from a seed
	}
	key := make(cmted25519.PrivKey, Ed25519PrivKeySize)
	copy(key, b)
	return &ed25519PrivKey{key: key, pub: pub}, nil
}

func (k *ed25519PrivKey) Algo() Algo { return Ed25519 }

func (k *ed25519PrivKey) Bytes() []byte { return bytes.Clone(k.key) }

func (k *ed25519PrivKey) PubKey() PubKey { return k.pub }

// Sign returns the 64-byte RFC 8032 signature of msg (deterministic).
func (k *ed25519PrivKey) Sign(msg []byte) ([]byte, error) {
	return k.key.Sign(msg)
}

// String never reveals the key.
func (k *ed25519PrivKey) String() string { return redacted(Ed25519) }

// GoString never reveals the key.
func (k *ed25519PrivKey) GoString() string { return redacted(Ed25519) }
