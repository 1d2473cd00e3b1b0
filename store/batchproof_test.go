package store

import (
	"bytes"
	"fmt"
	"testing"
)

// TestProveManyAndAbsence proves present and absent keys in one batch, round-trips the
// encodings, and checks the proofs an attacker would try: a non-membership proof of a
// key that exists (the 2022 "Dragonberry" bug in ICS-23 made one verify), a proof
// checked against another tree's root, and a proof of one key used for another.
func TestProveManyAndAbsence(t *testing.T) {
	st, err := OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i += 2 {
		st.Set([]byte(fmt.Sprintf("k/%03d", i)), []byte(fmt.Sprintf("v%d", i)))
	}
	mustCommit(t, st)
	root := st.LastHash()
	other, _ := OpenMemory()
	other.Set([]byte("k/001"), []byte("x"))
	mustCommit(t, other)

	keys := [][]byte{[]byte("k/004"), []byte("k/005"), []byte("a"), []byte("z")}
	dec, err := DecodeKeys(EncodeKeys(keys))
	if err != nil || len(dec) != len(keys) {
		t.Fatalf("keys round trip: %v %d", err, len(dec))
	}
	list, err := st.ProveMany(dec, st.Version())
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeProven(EncodeProven(list))
	if err != nil || len(back) != len(list) {
		t.Fatalf("proven round trip: %v", err)
	}
	for i, p := range back {
		if !bytes.Equal(p.Key, keys[i]) {
			t.Fatalf("key %d: %q", i, p.Key)
		}
		if i == 0 {
			if string(p.Value) != "v4" || VerifyMembership(root, p.Proof, p.Key, p.Value) != nil {
				t.Fatalf("membership of %q", p.Key)
			}
			if VerifyNonMembership(root, p.Proof, p.Key) == nil {
				t.Fatal("a membership proof proved absence")
			}
			if VerifyMembership(root, p.Proof, []byte("k/006"), []byte("v6")) == nil {
				t.Fatal("a proof of one key proved another")
			}
			continue
		}
		if p.Value != nil || VerifyNonMembership(root, p.Proof, p.Key) != nil {
			t.Fatalf("non-membership of %q: %v", p.Key, VerifyNonMembership(root, p.Proof, p.Key))
		}
		if VerifyNonMembership(other.LastHash(), p.Proof, p.Key) == nil {
			t.Fatal("a proof verified against another tree's root")
		}
	}
	// Absence of a key that exists: the neighbours of k/005 bracket k/005 only.
	if VerifyNonMembership(root, back[1].Proof, []byte("k/004")) == nil {
		t.Fatal("a non-membership proof proved an existing key absent")
	}
	if _, err := st.ProveMany(keys, st.Version()+1); err == nil {
		t.Fatal("proved at an uncommitted version")
	}
	many := make([][]byte, MaxBatchKeys+1)
	if _, err := DecodeKeys(EncodeKeys(many)); err == nil {
		t.Fatal("accepted too many keys")
	}
}

func FuzzDecodeKeys(f *testing.F) {
	f.Add(EncodeKeys([][]byte{[]byte("a"), {}}))
	f.Add([]byte{0x0a, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		keys, err := DecodeKeys(b)
		if err == nil && !bytes.Equal(EncodeKeys(keys), b) && len(keys) > 0 {
			if _, err := DecodeKeys(EncodeKeys(keys)); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func FuzzDecodeProven(f *testing.F) {
	f.Add(EncodeProven([]Proven{{Key: []byte("k"), Value: []byte("v"), Proof: []byte{1}}}))
	f.Add([]byte{0x0a, 0x02, 0x20, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = DecodeProven(b) // must not panic
	})
}
