package modules

import (
	"bytes"
	"encoding/json"
	"errors"
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
	if dec.More() {
		return errors.New("data after the JSON value")
	}
	return nil
}
