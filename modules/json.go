package modules

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// MustJSON encodes a module's state record. Records are structs of strings, numbers,
// byte slices and nested records, which always encode; a failure is a programming
// error and panics.
func MustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Errorf("encode %T: %w", v, err))
	}
	return b
}

// DecodeStrict decodes one JSON value into v, refusing unknown fields and anything
// after the value: for input from users and genesis files, where a misspelt field must
// not be silently ignored.
func DecodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	// Only JSON whitespace may follow. (Decoder.More says false before a stray "}" or
	// "]", so it does not serve: "{…}}" passed, and a record holding it as a
	// json.RawMessage could not be encoded again.)
	if rest := bytes.TrimLeft(data[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return fmt.Errorf("data after the JSON value: %q", clip(rest, 16))
	}
	return nil
}

func clip(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
