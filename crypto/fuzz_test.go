package crypto

import (
	"bytes"
	"encoding/json"
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

// FuzzParseAlgo checks that exactly the supported algorithm names are accepted, as themselves.
func FuzzParseAlgo(f *testing.F) {
	for _, s := range []string{"ed25519", "sm2", "secp256k1", "", "ED25519", "Sm2", " sm2", "secp256r1", "ed25519\x00", "sm2 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAlgo(s)
		supported := false
		for _, x := range Algos() {
			supported = supported || string(x) == s
		}
		if (err == nil) != supported {
			t.Fatalf("ParseAlgo(%q) = %q, %v", s, a, err)
		}
		if err != nil {
			if a != "" || checkAlgo(Algo(s)) == nil {
				t.Fatalf("ParseAlgo(%q) = %q with error %v", s, a, err)
			}
			return
		}
		if string(a) != s || checkAlgo(a) != nil {
			t.Fatalf("ParseAlgo(%q) = %q", s, a)
		}
	})
}

// FuzzKeyUnmarshalJSON checks that a decoded key re-encodes to JSON that decodes to the same key, and that a failed decode leaves the key as it was.
func FuzzKeyUnmarshalJSON(f *testing.F) {
	for _, s := range []string{
		`{"name":"web3","algo":"secp256k1","address":"0x2c7536e3605d9c16a7a3d7b1898e529396a65c23","pub_key":"024e3b81af9c2234cad09d679ce6035ed1392347ce64ce405f5dcd36228a25de6e"}`,
		`{"name":"a","algo":"ed25519","address":"0X2C7536E3605D9C16A7A3D7B1898E529396A65C23","pub_key":"0xABCD"}`,
		`{"name":"\ud800\u00e9","algo":"x","pub_key":""}`,
		`{"pub_key":"zz"}`, `{"pub_key":"0x"}`, `{"address":"0x12"}`, `{"name":1}`, `{}`, `null`, `[]`, `""`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		sentinel := Key{Name: "sentinel", Algo: SM2, Address: Address{1}, PubKey: []byte{2}}
		k := sentinel
		if err := k.UnmarshalJSON(b); err != nil {
			if k.Name != sentinel.Name || k.Algo != sentinel.Algo || k.Address != sentinel.Address || !bytes.Equal(k.PubKey, sentinel.PubKey) {
				t.Fatalf("failed decode (%v) changed the key to %+v", err, k)
			}
			return
		}
		js, err := k.MarshalJSON()
		if err != nil {
			t.Fatalf("re-encode %+v: %v", k, err)
		}
		var back Key
		if err := json.Unmarshal(js, &back); err != nil {
			t.Fatalf("decode %s: %v", js, err)
		}
		if back.Name != k.Name || back.Algo != k.Algo || back.Address != k.Address || !bytes.Equal(back.PubKey, k.PubKey) {
			t.Fatalf("round trip %+v -> %s -> %+v", k, js, back)
		}
		if again, err := back.MarshalJSON(); err != nil || !bytes.Equal(again, js) {
			t.Fatalf("re-encoding not stable: %s then %s, %v", js, again, err)
		}
	})
}
