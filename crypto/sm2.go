package crypto

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
)

// sm2PubKey is an SM2 public key on the SM2 recommended curve.
type sm2PubKey struct {
	pub        ecdsa.PublicKey
	compressed []byte // 33 bytes, never modified
	addr       Address
}

var _ PubKey = (*sm2PubKey)(nil)

func sm2PubKeyFromBytes(b []byte) (*sm2PubKey, error) {
	if len(b) != SM2PubKeySize {
		return nil, fmt.Errorf("invalid sm2 public key: need %d bytes (compressed point), got %d", SM2PubKeySize, len(b))
	}
	if b[0] != 2 && b[0] != 3 {
		return nil, fmt.Errorf("invalid sm2 public key: compressed point must start with 0x02 or 0x03, got 0x%02x", b[0])
	}
	// gmsm decompresses in constant time and rejects x >= p and x values
	// with no point on the curve.
	x, y := elliptic.UnmarshalCompressed(sm2.P256(), b)
	if x == nil {
		return nil, errors.New("invalid sm2 public key: not a point on the sm2 curve")
	}
	return newSM2PubKey(&ecdsa.PublicKey{Curve: sm2.P256(), X: x, Y: y}), nil
}

// newSM2PubKey wraps a public key known to be on the curve.
func newSM2PubKey(pub *ecdsa.PublicKey) *sm2PubKey {
	k := &sm2PubKey{
		pub:        ecdsa.PublicKey{Curve: sm2.P256(), X: pub.X, Y: pub.Y},
		compressed: elliptic.MarshalCompressed(sm2.P256(), pub.X, pub.Y),
	}
	k.addr = sm2Address(k.compressed)
	return k
}

// sm2Address is the first 20 bytes of SM3(33-byte compressed key).
func sm2Address(compressed []byte) Address {
	sum := sm3.Sum(compressed)
	var a Address
	copy(a[:], sum[:AddressLen])
	return a
}

func (k *sm2PubKey) Algo() Algo { return SM2 }

func (k *sm2PubKey) Bytes() []byte { return bytes.Clone(k.compressed) }

func (k *sm2PubKey) Address() Address { return k.addr }

// VerifySignature verifies a DER-encoded SM2 signature of msg, digested
// with SM3 over ZA (default user id) || msg.
func (k *sm2PubKey) VerifySignature(msg, sig []byte) bool {
	if k == nil || k.pub.X == nil || len(sig) == 0 || len(sig) > SM2MaxSignatureSize {
		return false
	}
	return sm2.VerifyASN1WithSM2(&k.pub, nil, msg, sig)
}

// String returns the algorithm and the hex encoding of the key.
func (k *sm2PubKey) String() string { return fmt.Sprintf("sm2:%x", k.compressed) }

// sm2PrivKey is an SM2 private key with scalar in [1, n-2].
type sm2PrivKey struct {
	priv *sm2.PrivateKey
	pub  *sm2PubKey
}

var _ PrivKey = (*sm2PrivKey)(nil)

func genSM2() (PrivKey, error) {
	priv, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate sm2 key: %w", err)
	}
	// Round-trip through the validating constructor.
	return PrivKeyFromBytes(SM2, priv.D.FillBytes(make([]byte, SM2PrivKeySize)))
}

func sm2PrivKeyFromBytes(b []byte) (*sm2PrivKey, error) {
	if len(b) != SM2PrivKeySize {
		return nil, fmt.Errorf("invalid sm2 private key: need %d bytes, got %d", SM2PrivKeySize, len(b))
	}
	priv, err := sm2.NewPrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("invalid sm2 private key: %w", err)
	}
	return &sm2PrivKey{priv: priv, pub: newSM2PubKey(&priv.PublicKey)}, nil
}

func (k *sm2PrivKey) Algo() Algo { return SM2 }

func (k *sm2PrivKey) Bytes() []byte { return k.priv.D.FillBytes(make([]byte, SM2PrivKeySize)) }

func (k *sm2PrivKey) PubKey() PubKey { return k.pub }

// Sign returns a randomized DER-encoded SM2 signature of msg (SM3 digest of
// ZA || msg with the default user id).
func (k *sm2PrivKey) Sign(msg []byte) ([]byte, error) {
	sig, err := sm2.SignASN1(rand.Reader, k.priv, msg, sm2.DefaultSM2SignerOpts)
	if err != nil {
		return nil, fmt.Errorf("sm2 sign: %w", err)
	}
	return sig, nil
}

// String never reveals the key.
func (k *sm2PrivKey) String() string { return redacted(SM2) }

// GoString never reveals the key.
func (k *sm2PrivKey) GoString() string { return redacted(SM2) }
