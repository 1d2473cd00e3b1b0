package crypto

import (
	"bytes"
	"crypto/ecdsa"
	"fmt"

	ethcrypto "github.com/ethereum/go-ethereum/crypto"
)

// secp256k1PubKey is a secp256k1 public key.
type secp256k1PubKey struct {
	compressed   []byte // 33 bytes, never modified
	uncompressed []byte // 65 bytes (0x04 || X || Y), never modified
	addr         Address
}

var _ PubKey = (*secp256k1PubKey)(nil)

func secp256k1PubKeyFromBytes(b []byte) (*secp256k1PubKey, error) {
	if len(b) != Secp256k1PubKeySize {
		return nil, fmt.Errorf("invalid secp256k1 public key: need %d bytes (compressed point), got %d", Secp256k1PubKeySize, len(b))
	}
	if b[0] != 2 && b[0] != 3 {
		return nil, fmt.Errorf("invalid secp256k1 public key: compressed point must start with 0x02 or 0x03, got 0x%02x", b[0])
	}
	pub, err := ethcrypto.DecompressPubkey(b)
	if err != nil {
		return nil, fmt.Errorf("invalid secp256k1 public key: not a point on the secp256k1 curve: %v", err)
	}
	k := newSecp256k1PubKey(pub)
	if !bytes.Equal(k.compressed, b) {
		// Cannot happen: the library rejects x >= p.
		return nil, fmt.Errorf("invalid secp256k1 public key: non-canonical encoding")
	}
	return k, nil
}

// newSecp256k1PubKey wraps a public key known to be on the curve.
func newSecp256k1PubKey(pub *ecdsa.PublicKey) *secp256k1PubKey {
	return &secp256k1PubKey{
		compressed:   ethcrypto.CompressPubkey(pub),
		uncompressed: ethcrypto.FromECDSAPub(pub),
		addr:         Address(ethcrypto.PubkeyToAddress(*pub)),
	}
}

func (k *secp256k1PubKey) Algo() Algo { return Secp256k1 }

func (k *secp256k1PubKey) Bytes() []byte { return bytes.Clone(k.compressed) }

func (k *secp256k1PubKey) Address() Address { return k.addr }

// VerifySignature verifies a 64-byte R || S signature of Keccak-256(msg).
// Signatures with S in the upper half of the group order are refused, and so
// are 65-byte signatures with a recovery byte.
func (k *secp256k1PubKey) VerifySignature(msg, sig []byte) bool {
	if k == nil || len(k.uncompressed) != 65 || len(sig) != Secp256k1SignatureSize {
		return false
	}
	return ethcrypto.VerifySignature(k.uncompressed, ethcrypto.Keccak256(msg), sig)
}

// String returns the algorithm and the hex encoding of the key.
func (k *secp256k1PubKey) String() string { return fmt.Sprintf("secp256k1:%x", k.compressed) }

// secp256k1PrivKey is a secp256k1 private key with scalar in [1, n-1].
type secp256k1PrivKey struct {
	priv *ecdsa.PrivateKey
	pub  *secp256k1PubKey
}

var _ PrivKey = (*secp256k1PrivKey)(nil)

func genSecp256k1() (PrivKey, error) {
	priv, err := ethcrypto.GenerateKey()
	if err != nil {
		return nil, fmt.Errorf("generate secp256k1 key: %w", err)
	}
	return PrivKeyFromBytes(Secp256k1, ethcrypto.FromECDSA(priv))
}

func secp256k1PrivKeyFromBytes(b []byte) (*secp256k1PrivKey, error) {
	if len(b) != Secp256k1PrivKeySize {
		return nil, fmt.Errorf("invalid secp256k1 private key: need %d bytes, got %d", Secp256k1PrivKeySize, len(b))
	}
	priv, err := ethcrypto.ToECDSA(b)
	if err != nil {
		return nil, fmt.Errorf("invalid secp256k1 private key: %w", err)
	}
	return &secp256k1PrivKey{priv: priv, pub: newSecp256k1PubKey(&priv.PublicKey)}, nil
}

func (k *secp256k1PrivKey) Algo() Algo { return Secp256k1 }

func (k *secp256k1PrivKey) Bytes() []byte { return ethcrypto.FromECDSA(k.priv) }

func (k *secp256k1PrivKey) PubKey() PubKey { return k.pub }

// Sign returns the 64-byte R || S signature (low S, RFC 6979 deterministic)
// of Keccak-256(msg). The recovery byte V is dropped.
func (k *secp256k1PrivKey) Sign(msg []byte) ([]byte, error) {
	sig, err := ethcrypto.Sign(ethcrypto.Keccak256(msg), k.priv)
	if err != nil {
		return nil, fmt.Errorf("secp256k1 sign: %w", err)
	}
	if len(sig) != Secp256k1SignatureSize+1 {
		return nil, fmt.Errorf("secp256k1 sign: unexpected signature length %d", len(sig))
	}
	return sig[:Secp256k1SignatureSize:Secp256k1SignatureSize], nil
}

// String never reveals the key.
func (k *secp256k1PrivKey) String() string { return redacted(Secp256k1) }

// GoString never reveals the key.
func (k *secp256k1PrivKey) GoString() string { return redacted(Secp256k1) }
