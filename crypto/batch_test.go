package crypto

import (
	"fmt"
	"testing"
)

func TestEd25519Batch(t *testing.T) {
	const n = 16
	tests := []struct {
		name string
		bad  map[int]bool // indexes whose signature is corrupted
	}{
		{"all valid", nil},
		{"one bad", map[int]bool{5: true}},
		{"first and last bad", map[int]bool{0: true, n - 1: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewEd25519Batch()
			for i := 0; i < n; i++ {
				priv, err := GenPrivKey(Ed25519)
				if err != nil {
					t.Fatal(err)
				}
				msg := []byte(fmt.Sprintf("tx %d", i))
				sig, err := priv.Sign(msg)
				if err != nil {
					t.Fatal(err)
				}
				if tt.bad[i] {
					sig = flipBit(sig, 9)
				}
				if err := b.Add(priv.PubKey(), msg, sig); err != nil {
					t.Fatal(err)
				}
			}
			if b.Len() != n {
				t.Fatalf("Len = %d", b.Len())
			}
			ok, valid := b.Verify()
			if ok != (len(tt.bad) == 0) {
				t.Fatalf("ok = %v", ok)
			}
			if len(valid) != n {
				t.Fatalf("len(valid) = %d", len(valid))
			}
			for i, v := range valid {
				if v == tt.bad[i] {
					t.Errorf("valid[%d] = %v", i, v)
				}
			}
		})
	}
}

func TestEd25519BatchAddErrors(t *testing.T) {
	b := NewEd25519Batch()
	ed, _ := GenPrivKey(Ed25519)
	sm, _ := GenPrivKey(SM2)
	k1, _ := GenPrivKey(Secp256k1)
	sig, _ := ed.Sign([]byte("m"))
	if err := b.Add(sm.PubKey(), []byte("m"), sig); err == nil {
		t.Error("accepted sm2 key")
	}
	if err := b.Add(k1.PubKey(), []byte("m"), sig); err == nil {
		t.Error("accepted secp256k1 key")
	}
	if err := b.Add(nil, []byte("m"), sig); err == nil {
		t.Error("accepted nil key")
	}
	if err := b.Add(ed.PubKey(), []byte("m"), sig[:63]); err == nil {
		t.Error("accepted short signature")
	}
	if err := b.Add(ed.PubKey(), []byte("m"), append(sig, 0)); err == nil {
		t.Error("accepted long signature")
	}
	if b.Len() != 0 {
		t.Fatalf("failed Adds were queued: Len = %d", b.Len())
	}
	if ok, valid := b.Verify(); !ok || valid == nil || len(valid) != 0 {
		t.Fatalf("empty batch: %v %v", ok, valid)
	}
	var zero Ed25519Batch
	if err := zero.Add(ed.PubKey(), []byte("m"), sig); err == nil {
		t.Error("zero Ed25519Batch accepted Add")
	}
}
