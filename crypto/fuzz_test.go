package crypto

import (
	"bytes"
	"strings"
	"testing"
)

func FuzzPubKeyFromBytes(f *testing.F) {
	for i, algo := range Algos() {
		priv, err := GenPrivKey(algo)
		if err != nil {
			f.Fatal(err)
		}
		sig, _ := priv.Sign([]byte("seed"))
		f.Add(uint8(i), priv.PubKey().Bytes(), []byte("seed"), sig)
		f.Add(uint8(i), make([]byte, 33), []byte{}, []byte{})
	}
	f.Add(uint8(0), []byte{1}, []byte(nil), []byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, sel uint8, b, msg, sig []byte) {
		algos := Algos()
		algo := algos[int(sel)%len(algos)]
		pub, err := PubKeyFromBytes(algo, b)
		if err != nil {
			if pub != nil {
				t.Fatal("key returned with error")
			}
			return
		}
		// Accepted encodings are canonical: they round-trip exactly.
		if !bytes.Equal(pub.Bytes(), b) {
			t.Fatalf("%s: %x re-encodes as %x", algo, b, pub.Bytes())
		}
		_ = pub.Address()
		_ = pub.VerifySignature(msg, sig)
		_ = pub.VerifySignature(nil, nil)
		batch := NewEd25519Batch()
		err = batch.Add(pub, msg, sig)
		if (err == nil) != (algo == Ed25519 && len(sig) == Ed25519SignatureSize) {
			t.Fatalf("batch Add(%s key, %d-byte sig) = %v", algo, len(sig), err)
		}
		if ok, valid := batch.Verify(); err == nil && (len(valid) != 1 || ok != valid[0] || ok != pub.VerifySignature(msg, sig)) {
			t.Fatalf("batch verdict %v %v disagrees with VerifySignature", ok, valid)
		}
	})
}

func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{
		"0x7e5f4552091a69125d5dfcb7b8c2659029395bdf",
		"0X7E5F4552091A69125D5DFCB7B8C2659029395BDF",
		"7e5f4552091a69125d5dfcb7b8c2659029395bdf",
		"0x", "", "0xzz",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddress(s)
		if err != nil {
			if !a.IsZero() {
				t.Fatal("non-zero address with error")
			}
			return
		}
		if len(s) != 42 {
			t.Fatalf("accepted %d-char input %q", len(s), s)
		}
		if got, want := a.String(), "0x"+strings.ToLower(s[2:]); got != want {
			t.Fatalf("String() = %s, want %s", got, want)
		}
		b, err := ParseAddress(a.String())
		if err != nil || b != a {
			t.Fatalf("round trip: %v", err)
		}
		var c Address
		if err := c.UnmarshalText([]byte(s)); err != nil || c != a {
			t.Fatalf("UnmarshalText: %v", err)
		}
	})
}
