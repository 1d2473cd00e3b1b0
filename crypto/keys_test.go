package crypto

import (
	"bytes"
	"encoding/hex"
	"math/big"
	"testing"

	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func flipBit(b []byte, i int) []byte {
	out := bytes.Clone(b)
	out[i/8%len(out)] ^= 1 << (i % 8)
	return out
}

func TestSignVerify(t *testing.T) {
	msgs := [][]byte{nil, {}, []byte("hello lian"), bytes.Repeat([]byte{0xab}, 10000)}
	for _, algo := range Algos() {
		t.Run(string(algo), func(t *testing.T) {
			priv, err := GenPrivKey(algo)
			if err != nil {
				t.Fatal(err)
			}
			other, err := GenPrivKey(algo)
			if err != nil {
				t.Fatal(err)
			}
			pub := priv.PubKey()
			if priv.Algo() != algo || pub.Algo() != algo {
				t.Fatalf("algo mismatch: %s %s", priv.Algo(), pub.Algo())
			}
			for _, msg := range msgs {
				sig, err := priv.Sign(msg)
				if err != nil {
					t.Fatal(err)
				}
				if !pub.VerifySignature(msg, sig) {
					t.Fatalf("valid signature refused (msg len %d)", len(msg))
				}
				// Same key decoded from bytes verifies too.
				pub2, err := PubKeyFromBytes(algo, pub.Bytes())
				if err != nil {
					t.Fatal(err)
				}
				if !pub2.VerifySignature(msg, sig) {
					t.Fatal("valid signature refused by decoded key")
				}

				bad := []struct {
					name string
					pub  PubKey
					msg  []byte
					sig  []byte
				}{
					{"wrong key", other.PubKey(), msg, sig},
					{"truncated sig", pub, msg, sig[:len(sig)-1]},
					{"oversized sig", pub, msg, append(bytes.Clone(sig), 0)},
					{"empty sig", pub, msg, nil},
					{"sig of other message", pub, append(bytes.Clone(msg), 'x'), sig},
					{"zero sig", pub, msg, make([]byte, len(sig))},
				}
				if len(msg) > 0 {
					bad = append(bad, struct {
						name string
						pub  PubKey
						msg  []byte
						sig  []byte
					}{"flipped msg bit", pub, flipBit(msg, 3), sig})
				}
				for i := 0; i < len(sig)*8; i += 7 {
					bad = append(bad, struct {
						name string
						pub  PubKey
						msg  []byte
						sig  []byte
					}{"flipped sig bit", pub, msg, flipBit(sig, i)})
				}
				for _, b := range bad {
					if b.pub.VerifySignature(b.msg, b.sig) {
						t.Errorf("%s: accepted", b.name)
					}
				}
			}
		})
	}
}

func TestSignatureFormats(t *testing.T) {
	msg := []byte("format")
	for _, algo := range Algos() {
		priv, err := GenPrivKey(algo)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 20; i++ {
			sig, err := priv.Sign(msg)
			if err != nil {
				t.Fatal(err)
			}
			switch algo {
			case Ed25519:
				if len(sig) != Ed25519SignatureSize {
					t.Fatalf("ed25519 sig len %d", len(sig))
				}
			case Secp256k1:
				if len(sig) != Secp256k1SignatureSize {
					t.Fatalf("secp256k1 sig len %d", len(sig))
				}
			case SM2:
				if len(sig) > SM2MaxSignatureSize || sig[0] != 0x30 {
					t.Fatalf("sm2 sig %x", sig)
				}
			}
		}
	}
}

// Ed25519 known answer: RFC 8032 section 7.1, test 1.
func TestEd25519Vector(t *testing.T) {
	seed := mustHex(t, "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
	pubBytes := mustHex(t, "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
	wantSig := mustHex(t, "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")
	priv, err := PrivKeyFromBytes(Ed25519, append(bytes.Clone(seed), pubBytes...))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(priv.PubKey().Bytes(), pubBytes) {
		t.Fatalf("pub = %x", priv.PubKey().Bytes())
	}
	sig, err := priv.Sign(nil)
	if err != nil || !bytes.Equal(sig, wantSig) {
		t.Fatalf("sig = %x, %v", sig, err)
	}
	if !priv.PubKey().VerifySignature([]byte{}, wantSig) {
		t.Fatal("RFC 8032 signature refused")
	}
	// Public half not matching the seed.
	badPriv := append(bytes.Clone(seed), flipBit(pubBytes, 0)...)
	if _, err := PrivKeyFromBytes(Ed25519, badPriv); err == nil {
		t.Fatal("accepted ed25519 private key with mismatched public half")
	}
	// S >= L is refused (ZIP-215 requires canonical S).
	highS := bytes.Clone(wantSig)
	highS[63] |= 0xf0
	if priv.PubKey().VerifySignature(nil, highS) {
		t.Fatal("accepted non-canonical S")
	}
}

// SM2 known answer: GM/T 0003.5 signature example on the recommended curve
// with the default user id "1234567812345678", message "message digest".
func TestSM2Vector(t *testing.T) {
	d := mustHex(t, "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8")
	wantPub := mustHex(t, "0309f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020")
	r := new(big.Int).SetBytes(mustHex(t, "f5a03b0648d2c4630eeac513e1bb81a15944da3827d5b74143ac7eaceee720b3"))
	s := new(big.Int).SetBytes(mustHex(t, "b1b6aa29df212fd8763182bc0d421ca1bb9038fd1f7f42d4840b69c485bbc1aa"))
	priv, err := PrivKeyFromBytes(SM2, d)
	if err != nil {
		t.Fatal(err)
	}
	pub := priv.PubKey()
	if !bytes.Equal(pub.Bytes(), wantPub) {
		t.Fatalf("pub = %x", pub.Bytes())
	}
	if !bytes.Equal(priv.Bytes(), d) {
		t.Fatal("Bytes() does not round-trip")
	}
	der := derSig(t, r, s)
	msg := []byte("message digest")
	if !pub.VerifySignature(msg, der) {
		t.Fatal("GM/T 0003.5 signature refused")
	}
	if pub.VerifySignature([]byte("message digesT"), der) {
		t.Fatal("accepted signature of other message")
	}
	// Non-DER encodings of the same (r, s) are refused.
	padded := bytes.Clone(der)
	padded = append(padded[:0:0], 0x30, der[1]+1, 0x02, der[3]+1, 0x00)
	padded = append(padded, der[4:]...)
	if pub.VerifySignature(msg, padded) {
		t.Fatal("accepted non-minimal INTEGER encoding")
	}
	if pub.VerifySignature(msg, append(bytes.Clone(der), 0)) {
		t.Fatal("accepted trailing data")
	}
	longLen := append([]byte{0x30, 0x81, der[1]}, der[2:]...)
	if pub.VerifySignature(msg, longLen) {
		t.Fatal("accepted non-minimal length encoding")
	}
	// Another example: gmsm's VerifyASN1WithSM2 example, default uid.
	pub2, err := PubKeyFromBytes(SM2, mustHex(t, "038356e642a40ebd18d29ba3532fbd9f3bbee8f027c3f6f39a5ba2f870369f9988"))
	if err != nil {
		t.Fatal(err)
	}
	sig2 := mustHex(t, "304402205b3a799bd94c9063120d7286769220af6b0fa127009af3e873c0e8742edc5f890220097968a4c8b040fd548d1456b33f470cabd8456bfea53e8a828f92f6d4bdcd77")
	if !pub2.VerifySignature([]byte("ShangMi SM2 Sign Standard"), sig2) {
		t.Fatal("gmsm example signature refused")
	}
}

// Our SM2 signatures use the default user id and are refused under any
// other.
func TestSM2UserID(t *testing.T) {
	priv, err := GenPrivKey(SM2)
	if err != nil {
		t.Fatal(err)
	}
	k := priv.(*sm2PrivKey)
	msg := []byte("uid")
	sig, err := priv.Sign(msg)
	if err != nil {
		t.Fatal(err)
	}
	if !sm2.VerifyASN1WithSM2(&k.priv.PublicKey, []byte("1234567812345678"), msg, sig) {
		t.Fatal("not signed with the default uid")
	}
	if sm2.VerifyASN1WithSM2(&k.priv.PublicKey, []byte("ALICE123@YAHOO.COM"), msg, sig) {
		t.Fatal("verified under another uid")
	}
}

func derSig(t *testing.T, r, s *big.Int) []byte {
	t.Helper()
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1BigInt(r)
		b.AddASN1BigInt(s)
	})
	der, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestSecp256k1Vectors(t *testing.T) {
	tests := []struct {
		priv, pub, addr string
	}{
		// Private key 1: the generator.
		{"0000000000000000000000000000000000000000000000000000000000000001",
			"0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798",
			"0x7e5f4552091a69125d5dfcb7b8c2659029395bdf"},
		// The web3.js accounts documentation example.
		{"4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318",
			"024e3b81af9c2234cad09d679ce6035ed1392347ce64ce405f5dcd36228a25de6e",
			"0x2c7536e3605d9c16a7a3d7b1898e529396a65c23"},
	}
	for _, tt := range tests {
		priv, err := PrivKeyFromBytes(Secp256k1, mustHex(t, tt.priv))
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(priv.PubKey().Bytes()); got != tt.pub {
			t.Errorf("pub = %s, want %s", got, tt.pub)
		}
		if got := priv.PubKey().Address().String(); got != tt.addr {
			t.Errorf("addr = %s, want %s", got, tt.addr)
		}
		if hex.EncodeToString(priv.Bytes()) != tt.priv {
			t.Error("Bytes() does not round-trip")
		}
	}
	// Pinned deterministic (RFC 6979) signature of Keccak-256("lian") by key 1.
	priv, _ := PrivKeyFromBytes(Secp256k1, mustHex(t, tests[0].priv))
	sig, err := priv.Sign([]byte("lian"))
	if err != nil {
		t.Fatal(err)
	}
	const wantSig = "20eac3ca4d5174278927f9516b5d74b9d9417b8ff9e0d9a8856fd9246811c08b5a38920a13415e6a2029090f749a0b25494f2c8729aa9090bd3f833302397c0d"
	if hex.EncodeToString(sig) != wantSig {
		t.Fatalf("sig = %x", sig)
	}
	// It is the R||S of go-ethereum's signature of Keccak-256(msg).
	full, err := ethcrypto.Sign(ethcrypto.Keccak256([]byte("lian")), priv.(*secp256k1PrivKey).priv)
	if err != nil || !bytes.Equal(full[:64], sig) {
		t.Fatalf("differs from go-ethereum: %x", full)
	}
	// 65-byte form with V is refused.
	if priv.PubKey().VerifySignature([]byte("lian"), full) {
		t.Fatal("accepted 65-byte signature")
	}
}

// High-S (malleated) secp256k1 signatures are refused.
func TestSecp256k1HighS(t *testing.T) {
	priv, err := GenPrivKey(Secp256k1)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("malleate")
	sig, err := priv.Sign(msg)
	if err != nil {
		t.Fatal(err)
	}
	n := ethcrypto.S256().Params().N
	s := new(big.Int).SetBytes(sig[32:])
	if s.Cmp(new(big.Int).Rsh(n, 1)) > 0 {
		t.Fatal("Sign produced high S")
	}
	high := bytes.Clone(sig)
	new(big.Int).Sub(n, s).FillBytes(high[32:])
	if priv.PubKey().VerifySignature(msg, high) {
		t.Fatal("accepted high-S signature")
	}
}

func TestAddressDerivation(t *testing.T) {
	// Fixed vectors.
	tests := []struct {
		algo Algo
		priv string
		addr string
	}{
		{Ed25519, "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
			"0x21fe31dfa154a261626bf854046fd2271b7bed4b"},
		{SM2, "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8",
			"0x4f14583c3fbdf19a56f105ad74e987605a8f2670"},
		{Secp256k1, "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318",
			"0x2c7536e3605d9c16a7a3d7b1898e529396a65c23"},
	}
	for _, tt := range tests {
		priv, err := PrivKeyFromBytes(tt.algo, mustHex(t, tt.priv))
		if err != nil {
			t.Fatal(err)
		}
		if got := priv.PubKey().Address().String(); got != tt.addr {
			t.Errorf("%s address = %s, want %s", tt.algo, got, tt.addr)
		}
	}

	// Random keys against the reference derivations.
	for i := 0; i < 20; i++ {
		for _, algo := range Algos() {
			priv, err := GenPrivKey(algo)
			if err != nil {
				t.Fatal(err)
			}
			pub := priv.PubKey()
			var want Address
			switch algo {
			case Ed25519:
				copy(want[:], cmted25519.PubKey(pub.Bytes()).Address())
			case SM2:
				sum := sm3.Sum(pub.Bytes())
				copy(want[:], sum[:20])
			case Secp256k1:
				want = Address(ethcrypto.PubkeyToAddress(priv.(*secp256k1PrivKey).priv.PublicKey))
			}
			if pub.Address() != want {
				t.Fatalf("%s address %s, want %s", algo, pub.Address(), want)
			}
		}
	}
}

func TestPubKeyFromBytesRefuses(t *testing.T) {
	p := mustHex(t, "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f") // 2^255-19, little endian
	nonCanonical := bytes.Clone(p)
	nonCanonical[0] += 3 // y = p + 3, which encodes the valid y = 3
	if _, err := PubKeyFromBytes(Ed25519, append([]byte{3}, make([]byte, 31)...)); err != nil {
		t.Fatalf("y = 3 should be a valid ed25519 point: %v", err)
	}
	ffs := bytes.Repeat([]byte{0xff}, 32)

	tests := []struct {
		name string
		algo Algo
		in   []byte
	}{
		{"ed25519 nil", Ed25519, nil},
		{"ed25519 31 bytes", Ed25519, make([]byte, 31)},
		{"ed25519 33 bytes", Ed25519, make([]byte, 33)},
		{"ed25519 off curve (y=2)", Ed25519, append([]byte{2}, make([]byte, 31)...)},
		{"ed25519 identity", Ed25519, append([]byte{1}, make([]byte, 31)...)},
		{"ed25519 order 2 (y=-1)", Ed25519, append([]byte{0xec}, p[1:]...)},
		{"ed25519 order 4 (y=0)", Ed25519, make([]byte, 32)},
		{"ed25519 non-canonical y", Ed25519, nonCanonical},
		{"ed25519 negative zero x", Ed25519, append([]byte{1}, append(make([]byte, 30), 0x80)...)},

		{"sm2 nil", SM2, nil},
		{"sm2 32 bytes", SM2, make([]byte, 32)},
		{"sm2 34 bytes", SM2, append([]byte{2}, make([]byte, 33)...)},
		{"sm2 uncompressed", SM2, append([]byte{4}, make([]byte, 64)...)},
		{"sm2 bad prefix 04", SM2, append([]byte{4}, make([]byte, 32)...)},
		{"sm2 bad prefix 00", SM2, make([]byte, 33)},
		{"sm2 off curve (x=2)", SM2, append([]byte{2}, append(make([]byte, 31), 2)...)},
		{"sm2 x >= p", SM2, append([]byte{2}, ffs...)},

		{"secp256k1 nil", Secp256k1, nil},
		{"secp256k1 32 bytes", Secp256k1, make([]byte, 32)},
		{"secp256k1 65 bytes", Secp256k1, append([]byte{4}, make([]byte, 64)...)},
		{"secp256k1 bad prefix 04", Secp256k1, append([]byte{4}, make([]byte, 32)...)},
		{"secp256k1 bad prefix 00", Secp256k1, make([]byte, 33)},
		{"secp256k1 off curve (x=5)", Secp256k1, append([]byte{2}, append(make([]byte, 31), 5)...)},
		{"secp256k1 x >= p", Secp256k1, append([]byte{3}, ffs...)},

		{"unknown algo", Algo("rsa"), make([]byte, 32)},
		{"empty algo", Algo(""), make([]byte, 32)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := PubKeyFromBytes(tt.algo, tt.in)
			if err == nil {
				t.Fatalf("accepted %x", tt.in)
			}
			if k != nil {
				t.Fatal("returned a key along with an error")
			}
		})
	}

	// Uncompressed secp256k1 form of a valid key is refused (only the
	// 33-byte form is canonical).
	priv, _ := GenPrivKey(Secp256k1)
	uncompressed := ethcrypto.FromECDSAPub(&priv.(*secp256k1PrivKey).priv.PublicKey)
	if _, err := PubKeyFromBytes(Secp256k1, uncompressed); err == nil {
		t.Fatal("accepted uncompressed secp256k1 key")
	}
}

func TestPrivKeyFromBytes(t *testing.T) {
	// SM2 order n and secp256k1 order n.
	sm2N := sm2.P256().Params().N
	k1N := ethcrypto.S256().Params().N
	be := func(x *big.Int) []byte { return x.FillBytes(make([]byte, 32)) }
	one := big.NewInt(1)

	tests := []struct {
		name    string
		algo    Algo
		in      []byte
		wantErr bool
	}{
		{"ed25519 nil", Ed25519, nil, true},
		{"ed25519 seed only", Ed25519, make([]byte, 32), true},
		{"ed25519 65 bytes", Ed25519, make([]byte, 65), true},
		{"ed25519 zero", Ed25519, make([]byte, 64), true},
		{"sm2 nil", SM2, nil, true},
		{"sm2 31 bytes", SM2, make([]byte, 31), true},
		{"sm2 33 bytes", SM2, make([]byte, 33), true},
		{"sm2 zero", SM2, make([]byte, 32), true},
		{"sm2 n", SM2, be(sm2N), true},
		{"sm2 n-1", SM2, be(new(big.Int).Sub(sm2N, one)), true}, // GB/T 32918: d in [1, n-2]
		{"sm2 n-2", SM2, be(new(big.Int).Sub(sm2N, big.NewInt(2))), false},
		{"sm2 ff..ff", SM2, bytes.Repeat([]byte{0xff}, 32), true},
		{"sm2 one", SM2, be(one), false},
		{"secp256k1 nil", Secp256k1, nil, true},
		{"secp256k1 31 bytes", Secp256k1, make([]byte, 31), true},
		{"secp256k1 33 bytes", Secp256k1, make([]byte, 33), true},
		{"secp256k1 zero", Secp256k1, make([]byte, 32), true},
		{"secp256k1 n", Secp256k1, be(k1N), true},
		{"secp256k1 n-1", Secp256k1, be(new(big.Int).Sub(k1N, one)), false},
		{"unknown algo", Algo("x"), make([]byte, 32), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := PrivKeyFromBytes(tt.algo, tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if !bytes.Equal(k.Bytes(), tt.in) {
				t.Fatal("Bytes() does not round-trip")
			}
			sig, err := k.Sign([]byte("m"))
			if err != nil || !k.PubKey().VerifySignature([]byte("m"), sig) {
				t.Fatalf("sign/verify failed: %v", err)
			}
		})
	}

	if _, err := GenPrivKey(Algo("nope")); err == nil {
		t.Fatal("GenPrivKey accepted unknown algo")
	}
}

func TestKeyRoundTripAndIsolation(t *testing.T) {
	for _, algo := range Algos() {
		priv, err := GenPrivKey(algo)
		if err != nil {
			t.Fatal(err)
		}
		priv2, err := PrivKeyFromBytes(algo, priv.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(priv2.PubKey().Bytes(), priv.PubKey().Bytes()) || priv2.PubKey().Address() != priv.PubKey().Address() {
			t.Fatalf("%s: private key round trip changed the key", algo)
		}
		// Mutating returned slices does not affect the keys.
		pb := priv.PubKey().Bytes()
		pb[1] ^= 0xff
		kb := priv.Bytes()
		kb[1] ^= 0xff
		sig, _ := priv.Sign([]byte("x"))
		if !priv.PubKey().VerifySignature([]byte("x"), sig) {
			t.Fatalf("%s: key aliased its returned bytes", algo)
		}
		// Private keys never print their secret.
		for _, s := range []string{fmtV(priv), fmtSharpV(priv)} {
			if bytes.Contains([]byte(s), []byte(hex.EncodeToString(priv.Bytes()[:8]))) {
				t.Fatalf("%s: private key printed: %s", algo, s)
			}
		}
	}
}

// gmsm v0.30.1's amd64 BMI2/ADX field multiplication "decompresses" this x,
// which has no point on the curve, to another point. It must be refused on
// every machine.
func TestSM2DecompressDefectInput(t *testing.T) {
	bad := mustHex(t, "023132303238303130303030303030304180000000000000000000000000000000")
	if _, err := PubKeyFromBytes(SM2, bad); err == nil {
		t.Fatal("accepted an x with no point on the curve")
	}
	bad[0] = 3
	if _, err := PubKeyFromBytes(SM2, bad); err == nil {
		t.Fatal("accepted an x with no point on the curve")
	}
	t.Logf("gmsm optimized SM2 arithmetic defect detected on this machine: %v", sm2AsmDefect)
}

// The generic SM2 verification used as a second opinion agrees with gmsm's
// optimized one.
func TestSM2GenericVerifyAgrees(t *testing.T) {
	for i := 0; i < 5; i++ {
		priv, err := GenPrivKey(SM2)
		if err != nil {
			t.Fatal(err)
		}
		pub := priv.PubKey().(*sm2PubKey)
		msg := []byte{byte(i)}
		sig, err := priv.Sign(msg)
		if err != nil {
			t.Fatal(err)
		}
		if !pub.verifyGeneric(msg, sig) || !sm2.VerifyASN1WithSM2(&pub.pub, nil, msg, sig) {
			t.Fatal("valid signature refused")
		}
		for _, bad := range [][]byte{flipBit(sig, 100), flipBit(sig, 500), sig[:10], nil, {0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x01}} {
			if pub.verifyGeneric(msg, bad) || sm2.VerifyASN1WithSM2(&pub.pub, nil, msg, bad) {
				t.Fatalf("invalid signature %x accepted", bad)
			}
		}
		if pub.verifyGeneric(append(msg, 1), sig) {
			t.Fatal("signature of other message accepted")
		}
		// Generic derivation of the public key matches.
		x, y := sm2Generic.ScalarBaseMult(priv.Bytes())
		if x.Cmp(pub.pub.X) != 0 || y.Cmp(pub.pub.Y) != 0 {
			t.Fatal("public key differs from generic derivation")
		}
	}
}
