package crypto

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
)

// sm2Generic is the SM2 recommended curve served by Go's generic,
// architecture-independent big.Int arithmetic (crypto/elliptic.CurveParams,
// which assumes a = -3, as SM2 has). gmsm also falls back to it for any
// curve whose parameters are not its own. It is used to decode public keys
// and to double-check results of gmsm's optimized arithmetic; see
// sm2AsmDefect.
var sm2Generic = func() *elliptic.CurveParams {
	p := sm2.P256().Params()
	return &elliptic.CurveParams{P: p.P, N: p.N, B: p.B, Gx: p.Gx, Gy: p.Gy, BitSize: p.BitSize, Name: "SM2 P-256 (generic)"}
}()

// sm2AsmDefect reports whether gmsm's optimized SM2 field arithmetic is
// faulty on this machine. gmsm v0.30.1's amd64 assembly for field
// multiplication on CPUs with BMI2 and ADX (the mulBMI2 path of p256Mul)
// mishandles a carry for some inputs (gmsm issue #560). The self-test input
// below is an x with no point on the curve that the faulty code "decompresses"
// to a different point. Other builds (purego, arm64, CPUs without ADX, a
// fixed gmsm) refuse it, and then no double-checking is done.
var sm2AsmDefect = func() bool {
	trigger := []byte{
		0x02, 0x31, 0x32, 0x30, 0x32, 0x38, 0x30, 0x31, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30,
		0x41, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	}
	x, _ := elliptic.UnmarshalCompressed(sm2.P256(), trigger)
	return x != nil
}()

// sm2PubKey is an SM2 public key on the SM2 recommended curve.
type sm2PubKey struct {
	pub        ecdsa.PublicKey // Curve is sm2.P256() (gmsm's optimized code)
	generic    ecdsa.PublicKey // the same point, Curve is sm2Generic
	compressed []byte          // 33 bytes, never modified
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
	// Decompress with the generic arithmetic (see sm2AsmDefect): it rejects
	// x >= p and x values with no point on the curve, and checks the result
	// is on the curve.
	x, y := elliptic.UnmarshalCompressed(sm2Generic, b)
	if x == nil {
		return nil, errors.New("invalid sm2 public key: not a point on the sm2 curve")
	}
	k := newSM2PubKey(x, y)
	if !bytes.Equal(k.compressed, b) {
		return nil, errors.New("invalid sm2 public key: non-canonical encoding") // cannot happen
	}
	return k, nil
}

// newSM2PubKey wraps a point known to be on the curve.
func newSM2PubKey(x, y *big.Int) *sm2PubKey {
	k := &sm2PubKey{
		pub:        ecdsa.PublicKey{Curve: sm2.P256(), X: x, Y: y},
		generic:    ecdsa.PublicKey{Curve: sm2Generic, X: x, Y: y},
		compressed: elliptic.MarshalCompressed(sm2Generic, x, y),
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
	if sm2.VerifyASN1WithSM2(&k.pub, nil, msg, sig) {
		return true
	}
	if !sm2AsmDefect {
		return false
	}
	// The optimized code may have refused a valid signature; let the
	// generic arithmetic decide, so that every node agrees.
	return k.verifyGeneric(msg, sig)
}

// verifyGeneric verifies with gmsm's generic (big.Int) code path.
func (k *sm2PubKey) verifyGeneric(msg, sig []byte) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return sm2.VerifyASN1WithSM2(&k.generic, nil, msg, sig)
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
	if sm2AsmDefect {
		// Recompute the public key with the generic arithmetic.
		x, y := sm2Generic.ScalarBaseMult(b)
		if x.Cmp(priv.X) != 0 || y.Cmp(priv.Y) != 0 {
			priv.PublicKey.X, priv.PublicKey.Y = x, y
		}
	}
	return &sm2PrivKey{priv: priv, pub: newSM2PubKey(priv.X, priv.Y)}, nil
}

func (k *sm2PrivKey) Algo() Algo { return SM2 }

func (k *sm2PrivKey) Bytes() []byte { return k.priv.D.FillBytes(make([]byte, SM2PrivKeySize)) }

func (k *sm2PrivKey) PubKey() PubKey { return k.pub }

// sm2SignAttempts bounds the retries of Sign when a fresh signature does not
// verify (which only a faulty computation can cause).
const sm2SignAttempts = 4

// Sign returns a randomized DER-encoded SM2 signature of msg (SM3 digest of
// ZA || msg with the default user id). Each signature is verified before it
// is returned.
func (k *sm2PrivKey) Sign(msg []byte) ([]byte, error) {
	for range sm2SignAttempts {
		sig, err := sm2.SignASN1(rand.Reader, k.priv, msg, sm2.DefaultSM2SignerOpts)
		if err != nil {
			return nil, fmt.Errorf("sm2 sign: %w", err)
		}
		if k.pub.VerifySignature(msg, sig) {
			return sig, nil
		}
	}
	return nil, errors.New("sm2 sign: produced signatures do not verify (faulty arithmetic?)")
}

// String never reveals the key.
func (k *sm2PrivKey) String() string { return redacted(SM2) }

// GoString never reveals the key.
func (k *sm2PrivKey) GoString() string { return redacted(SM2) }
