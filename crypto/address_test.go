package crypto

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseAddress(t *testing.T) {
	const lower = "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf"
	tests := []struct {
		name    string
		in      string
		want    string // String() of the result; "" when an error is expected
		wantErr bool
	}{
		{"lowercase", lower, lower, false},
		{"checksummed mixed case", "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf", lower, false},
		{"uppercase prefix", "0X7E5F4552091A69125D5DFCB7B8C2659029395BDF", lower, false},
		{"zero", "0x0000000000000000000000000000000000000000", "0x0000000000000000000000000000000000000000", false},
		{"no prefix", "7e5f4552091a69125d5dfcb7b8c2659029395bdf", "", true},
		{"empty", "", "", true},
		{"prefix only", "0x", "", true},
		{"one char", "0", "", true},
		{"39 digits", lower[:41], "", true},
		{"41 digits", lower + "0", "", true},
		{"42 digits", lower + "00", "", true},
		{"non-hex", "0x7e5f4552091a69125d5dfcb7b8c2659029395bdg", "", true},
		{"leading space", " " + lower, "", true},
		{"trailing space", lower + " ", "", true},
		{"trailing newline", lower + "\n", "", true},
		{"double prefix", "0x0x5f4552091a69125d5dfcb7b8c2659029395bdf", "", true},
		{"wrong prefix", "1x7e5f4552091a69125d5dfcb7b8c2659029395bdf", "", true},
		{"huge", "0x" + strings.Repeat("a", 10000), "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAddress(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseAddress(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if err != nil {
				if !got.IsZero() {
					t.Errorf("failed parse returned non-zero address %s", got)
				}
				if len(err.Error()) > 300 {
					t.Errorf("error message too long: %d bytes", len(err.Error()))
				}
				return
			}
			if got.String() != tt.want {
				t.Errorf("ParseAddress(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestAddressBasics(t *testing.T) {
	b := []byte{0x7e, 0x5f, 0x45, 0x52, 0x09, 0x1a, 0x69, 0x12, 0x5d, 0x5d, 0xfc, 0xb7, 0xb8, 0xc2, 0x65, 0x90, 0x29, 0x39, 0x5b, 0xdf}
	a, err := AddressFromBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	if a.String() != "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf" {
		t.Errorf("String() = %s", a)
	}
	if a.IsZero() || !(Address{}).IsZero() {
		t.Error("IsZero wrong")
	}
	out := a.Bytes()
	out[0] ^= 0xff
	if a[0] != 0x7e {
		t.Error("Bytes() aliases the address")
	}
	for _, n := range []int{0, 19, 21, 32} {
		if _, err := AddressFromBytes(make([]byte, n)); err == nil {
			t.Errorf("AddressFromBytes accepted %d bytes", n)
		}
	}
	if _, err := AddressFromBytes(nil); err == nil {
		t.Error("AddressFromBytes accepted nil")
	}

	// Text and JSON round trips.
	txt, err := a.MarshalText()
	if err != nil || string(txt) != a.String() {
		t.Fatalf("MarshalText = %q, %v", txt, err)
	}
	var back Address
	if err := back.UnmarshalText(txt); err != nil || back != a {
		t.Fatalf("UnmarshalText = %s, %v", back, err)
	}
	if err := back.UnmarshalText([]byte("junk")); err == nil {
		t.Error("UnmarshalText accepted junk")
	}
	js, err := json.Marshal(struct{ A Address }{a})
	if err != nil || string(js) != `{"A":"0x7e5f4552091a69125d5dfcb7b8c2659029395bdf"}` {
		t.Fatalf("json = %s, %v", js, err)
	}
	var s struct{ A Address }
	if err := json.Unmarshal(js, &s); err != nil || s.A != a {
		t.Fatalf("json back = %s, %v", s.A, err)
	}
	if err := json.Unmarshal([]byte(`{"A":"0x12"}`), &s); err == nil {
		t.Error("json accepted short address")
	}
}
