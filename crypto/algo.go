package crypto

import "fmt"

// Algo names a signature algorithm. Its string form is the value carried in
// transactions and key files.
type Algo string

// The supported signature algorithms.
const (
	// Ed25519 is EdDSA over edwards25519 (RFC 8032), verified under ZIP-215
	// rules exactly as CometBFT consensus does.
	Ed25519 Algo = "ed25519"
	// SM2 is the Chinese national standard signature scheme GM/T 0003 /
	// GB/T 32918 over the SM2 recommended 256-bit curve, with SM3 as digest
	// and the default user id "1234567812345678".
	SM2 Algo = "sm2"
	// Secp256k1 is ECDSA over secp256k1 with Keccak-256 as message digest,
	// as used by Ethereum.
	Secp256k1 Algo = "secp256k1"
)

// algos lists all algorithms in their fixed order.
var algos = [...]Algo{Ed25519, SM2, Secp256k1}

// Algos returns all supported algorithms in a fixed order: ed25519, sm2,
// secp256k1. The caller owns the returned slice.
func Algos() []Algo {
	out := make([]Algo, len(algos))
	copy(out, algos[:])
	return out
}

// ParseAlgo parses an algorithm name. It accepts exactly "ed25519", "sm2" and
// "secp256k1" (case-sensitive, no surrounding space); any other input yields
// an error naming the accepted values.
func ParseAlgo(s string) (Algo, error) {
	for _, a := range algos {
		if s == string(a) {
			return a, nil
		}
	}
	return "", fmt.Errorf("unknown key algorithm %q: accepted values are ed25519, sm2, secp256k1", s)
}

// checkAlgo returns an error if a is not one of the supported algorithms.
func checkAlgo(a Algo) error {
	_, err := ParseAlgo(string(a))
	return err
}
