package crypto

import (
	"encoding/hex"
	"fmt"
)

// AddressLen is the length of an account address in bytes.
const AddressLen = 20

// Address is a 20-byte account address, derived from a public key as
// described in the package documentation. The zero value is the all-zero
// address, which no key derives in practice and which IsZero reports.
type Address [AddressLen]byte

// String returns "0x" followed by 40 lowercase hex digits.
func (a Address) String() string {
	var buf [2 + 2*AddressLen]byte
	buf[0], buf[1] = '0', 'x'
	hex.Encode(buf[2:], a[:])
	return string(buf[:])
}

// Bytes returns a copy of the 20 address bytes.
func (a Address) Bytes() []byte {
	b := make([]byte, AddressLen)
	copy(b, a[:])
	return b
}

// IsZero reports whether a is the all-zero address.
func (a Address) IsZero() bool {
	return a == Address{}
}

// ParseAddress parses the text form of an address: a "0x" or "0X" prefix
// followed by exactly 40 hex digits of either case. Nothing else (no
// surrounding space, no missing prefix) is accepted.
func ParseAddress(s string) (Address, error) {
	var a Address
	if len(s) < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') {
		return a, fmt.Errorf("invalid address %q: must start with 0x", truncateForError(s))
	}
	digits := s[2:]
	if len(digits) != 2*AddressLen {
		return a, fmt.Errorf("invalid address %q: need %d hex digits after 0x, got %d", truncateForError(s), 2*AddressLen, len(digits))
	}
	if _, err := hex.Decode(a[:], []byte(digits)); err != nil {
		return Address{}, fmt.Errorf("invalid address %q: %v", truncateForError(s), err)
	}
	return a, nil
}

// AddressFromBytes converts exactly AddressLen bytes to an Address.
func AddressFromBytes(b []byte) (Address, error) {
	var a Address
	if len(b) != AddressLen {
		return a, fmt.Errorf("invalid address length: need %d bytes, got %d", AddressLen, len(b))
	}
	copy(a[:], b)
	return a, nil
}

// MarshalText implements encoding.TextMarshaler (the String form).
func (a Address) MarshalText() ([]byte, error) {
	return []byte(a.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler using ParseAddress.
func (a *Address) UnmarshalText(text []byte) error {
	p, err := ParseAddress(string(text))
	if err != nil {
		return err
	}
	*a = p
	return nil
}

// truncateForError keeps error messages short when given huge inputs.
func truncateForError(s string) string {
	const max = 80
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
