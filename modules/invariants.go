package modules

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// MaxViolations is how many violations Violations.Err lists; the rest are counted.
const MaxViolations = 20

// Violations collects what a module's CheckInvariants finds broken. Err lists them in
// the order of their keys (so the text does not depend on the order they were found,
// e.g. by ranging over a map; those of one key in the order added), at most
// MaxViolations, then how many more. The zero value is empty and ready to use.
type Violations struct {
	list []violation
}

type violation struct {
	key []byte
	msg string
}

// Add records a violation concerning the store key key (relative to the module
// prefix), which orders it; the message should name the key as people read it.
func (v *Violations) Add(key []byte, format string, args ...any) {
	v.list = append(v.list, violation{key: bytes.Clone(key), msg: fmt.Sprintf(format, args...)})
}

// Err returns the violations, one a line (errors.Join), or nil if there are none.
func (v *Violations) Err() error {
	if len(v.list) == 0 {
		return nil
	}
	slices.SortStableFunc(v.list, func(a, b violation) int { return bytes.Compare(a.key, b.key) })
	n := min(len(v.list), MaxViolations)
	errs := make([]error, 0, n+1)
	for _, x := range v.list[:n] {
		errs = append(errs, errors.New(x.msg))
	}
	if len(v.list) > n {
		errs = append(errs, fmt.Errorf("… and %d more", len(v.list)-n))
	}
	return errors.Join(errs...)
}

// DecodeRecord decodes the JSON record val stored at key strictly (DecodeStrict) into
// rec and checks it is stored as MustJSON encodes it, adding a violation that names the
// key as shown ("<shown>: record does not decode: …", "<shown>: record is not in the
// module's encoding"). It returns false if the record does not decode.
func (v *Violations) DecodeRecord(key []byte, shown string, val []byte, rec any) bool {
	if err := DecodeStrict(val, rec); err != nil {
		v.Add(key, "%s: record does not decode: %v", shown, err)
		return false
	}
	if !bytes.Equal(MustJSON(rec), val) {
		v.Add(key, "%s: record is not in the module's encoding", shown)
	}
	return true
}

// QuoteKey shows a key as a quoted string if it is printable ASCII, else as 0x hex.
func QuoteKey(k []byte) string {
	for _, c := range k {
		if c < 0x20 || c > 0x7e {
			return "0x" + hex.EncodeToString(k)
		}
	}
	return strconv.Quote(string(k))
}
