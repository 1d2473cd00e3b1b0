package crypto

import (
	"fmt"
)

// Encoding sizes, in bytes.
const (
	// Ed25519PubKeySize is the size of an ed25519 public key.
	Ed25519PubKeySize = 32
	// Ed25519PrivKeySize is the size of an ed25519 private key in CometBFT
	// form (32-byte seed followed by the 32-byte public key).
	Ed25519PrivKeySize = 64
	// Ed25519SignatureSize is the size of an ed25519 signature (R || S).
	Ed25519SignatureSize = 64

	// SM2PubKeySize is the size of a compressed SM2 public key.
	SM2PubKeySize = 33
	// SM2PrivKeySize is the size of an SM2 private scalar.
	SM2PrivKeySize = 32
	// SM2MaxSignatureSize is the largest DER-encoded SM2 signature.
	SM2MaxSignatureSize = 72

	// Secp256k1PubKeySize is the size of a compressed secp256k1 public key.
	Secp256k1PubKeySize = 33
	// Secp256k1PrivKeySize is the size of a secp256k1 private scalar.
	Secp256k1PrivKeySize = 32
	// Secp256k1SignatureSize is the size of a secp256k1 signature (R || S,
	// no recovery byte).
	Secp256k1SignatureSize = 64
)

// PubKey is a public key of one of the supported algorithms. Implementations
// are immutable and safe for concurrent use.
type PubKey interface {
	// Algo returns the key's algorithm.
	Algo() Algo
	// Bytes returns a copy of the canonical encoding: 32 bytes for ed25519,
	// the 33-byte compressed point for sm2 and secp256k1.
	Bytes() []byte
	// Address returns the account address derived from the key.
	Address() Address
	// VerifySignature reports whether sig is a valid signature of msg under
	// this key, following the rules in the package documentation. It never
	// panics, whatever the input.
	VerifySignature(msg, sig []byte) bool
}

// PrivKey is a private key of one of the supported algorithms.
// Implementations are safe for concurrent use.
type PrivKey interface {
	// Algo returns the key's algorithm.
	Algo() Algo
	// Bytes returns a copy of the private key encoding: the 64-byte CometBFT
	// form (seed || public key) for ed25519, the 32-byte big-endian scalar
	// for sm2 and secp256k1.
	Bytes() []byte
	// PubKey returns the matching public key.
	PubKey() PubKey
	// Sign signs msg. The message is hashed as each algorithm requires; pass
	// the raw message, not a digest.
	Sign(msg []byte) ([]byte, error)
}

// PubKeyFromBytes decodes a public key from its canonical encoding. It checks
// the length and that the encoding is a valid point on the algorithm's curve
// (see the package documentation for the exact rules) and returns a
// descriptive error otherwise.
func PubKeyFromBytes(algo Algo, b []byte) (PubKey, error) {
	switch algo {
	case Ed25519:
		return asInterface[PubKey](ed25519PubKeyFromBytes(b))
	case SM2:
		return asInterface[PubKey](sm2PubKeyFromBytes(b))
	case Secp256k1:
		return asInterface[PubKey](secp256k1PubKeyFromBytes(b))
	}
	return nil, checkAlgo(algo)
}

// asInterface converts a decoder's concrete result to the interface I, so that a failed
// decode yields a nil interface, not an interface holding a nil pointer.
func asInterface[I any, T any](k T, err error) (I, error) {
	var zero I
	if err != nil {
		return zero, err
	}
	i, ok := any(k).(I)
	if !ok {
		return zero, fmt.Errorf("crypto: %T does not implement the key interface", k)
	}
	return i, nil
}

// GenPrivKey generates a new random private key using the operating
// system's randomness.
func GenPrivKey(algo Algo) (PrivKey, error) {
	switch algo {
	case Ed25519:
		return genEd25519()
	case SM2:
		return genSM2()
	case Secp256k1:
		return genSecp256k1()
	default:
		return nil, checkAlgo(algo)
	}
}

// PrivKeyFromBytes decodes a private key from the encoding returned by
// PrivKey.Bytes. It checks the length and range of the key (and, for
// ed25519, that the public half matches the seed).
func PrivKeyFromBytes(algo Algo, b []byte) (PrivKey, error) {
	switch algo {
	case Ed25519:
		return asInterface[PrivKey](ed25519PrivKeyFromBytes(b))
	case SM2:
		return asInterface[PrivKey](sm2PrivKeyFromBytes(b))
	case Secp256k1:
		return asInterface[PrivKey](secp256k1PrivKeyFromBytes(b))
	}
	return nil, checkAlgo(algo)
}

// redacted is the printed form of private keys, so that they never leak into
// logs through fmt.
func redacted(a Algo) string {
	return fmt.Sprintf("%s private key (redacted)", a)
}
