package modules

import (
	"encoding/json"
	"testing"
)

func TestDecodeStrict(t *testing.T) {
	type rec struct {
		ID  string          `json:"id"`
		Raw json.RawMessage `json:"raw,omitempty"`
	}
	for in, ok := range map[string]bool{
		`{"id":"a"}`:                 true,
		" {\"id\":\"a\"} \n\t\r":     true,
		`{"id":"a","raw":{"x":[1]}}`: true,
		`{"id":"a"}}`:                false, // Decoder.More says false before a stray bracket
		`{"id":"a"}]`:                false,
		`{"id":"a"} x`:               false,
		`{"id":"a"}{}`:               false,
		`{"id":"a","other":1}`:       false,
		`{"id":"a"`:                  false,
		"{\"id\":\"a\"}\u00a0":       false, // not JSON whitespace
		``:                           false,
	} {
		var r rec
		err := DecodeStrict([]byte(in), &r)
		if (err == nil) != ok {
			t.Errorf("%q: error %v, want ok=%v", in, err, ok)
		}
		if err == nil {
			// What it accepts encodes again (a record may hold it as a RawMessage).
			if _, err := json.Marshal(json.RawMessage(in)); err != nil {
				t.Errorf("%q: accepted, but does not encode: %v", in, err)
			}
		}
	}
}

// FuzzDecodeStrict checks that whatever DecodeStrict accepts is one valid JSON value.
func FuzzDecodeStrict(f *testing.F) {
	for _, s := range []string{`{"id":"a"}`, `{"id":"a"}}`, `[1,2]]`, `"x" `, `1 2`, `{}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var v any
		if DecodeStrict(b, &v) == nil && !json.Valid(b) {
			t.Fatalf("accepted %q, which is not one JSON value", b)
		}
	})
}
