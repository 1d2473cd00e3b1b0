package crypto

import (
	"strings"
	"testing"
)

func TestParseAlgo(t *testing.T) {
	tests := []struct {
		in      string
		want    Algo
		wantErr bool
	}{
		{"ed25519", Ed25519, false},
		{"sm2", SM2, false},
		{"secp256k1", Secp256k1, false},
		{"", "", true},
		{"ED25519", "", true},
		{"Sm2", "", true},
		{" sm2", "", true},
		{"secp256r1", "", true},
		{"ed25519\x00", "", true},
	}
	for _, tt := range tests {
		got, err := ParseAlgo(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseAlgo(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseAlgo(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if err != nil {
			for _, name := range []string{"ed25519", "sm2", "secp256k1"} {
				if !strings.Contains(err.Error(), name) {
					t.Errorf("ParseAlgo(%q) error %q does not name %s", tt.in, err, name)
				}
			}
		}
	}
}

func TestAlgos(t *testing.T) {
	got := Algos()
	want := []Algo{Ed25519, SM2, Secp256k1}
	if len(got) != len(want) {
		t.Fatalf("Algos() = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Algos() = %v, want %v", got, want)
		}
	}
	got[0] = "mutated"
	if Algos()[0] != Ed25519 {
		t.Fatal("Algos() exposes internal state")
	}
}
