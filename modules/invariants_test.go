package modules

import (
	"fmt"
	"strings"
	"testing"
)

func TestViolations(t *testing.T) {
	type add struct{ key, msg string }
	many := func(n int) []add { // keys z/29 … z/00: added in reverse key order
		var adds []add
		for i := n - 1; i >= 0; i-- {
			k := fmt.Sprintf("z/%02d", i)
			adds = append(adds, add{k, k + ": bad"})
		}
		return adds
	}
	lines := func(from, to int, more string) string { // z/<from>..z/<to-1>, then more
		var l []string
		for i := from; i < to; i++ {
			l = append(l, fmt.Sprintf("z/%02d: bad", i))
		}
		if more != "" {
			l = append(l, more)
		}
		return strings.Join(l, "\n")
	}
	for _, c := range []struct {
		name string
		adds []add
		want string // "" for nil
	}{
		{"none", nil, ""},
		{"one", []add{{"a", "a: one"}}, "a: one"},
		{"by key, not as added", []add{{"c", "c: 1"}, {"a", "a: 1"}, {"b", "b: 1"}}, "a: 1\nb: 1\nc: 1"},
		{"by raw bytes", []add{{"a\xff", "high"}, {"a/", "slash"}, {"a", "short"}, {"\x00", "nul"}}, "nul\nshort\nslash\nhigh"},
		{"one key's in the order added", []add{{"b", "b: 1"}, {"a", "a: 1"}, {"b", "b: 2"}, {"a", "a: 2"}, {"b", "b: 3"}},
			"a: 1\na: 2\nb: 1\nb: 2\nb: 3"},
		{"exactly the cap", many(MaxViolations), lines(0, MaxViolations, "")},
		{"one over the cap", many(MaxViolations + 1), lines(0, MaxViolations, "… and 1 more")},
		{"capped: the first keys listed", many(30), lines(0, MaxViolations, "… and 10 more")},
	} {
		t.Run(c.name, func(t *testing.T) {
			var v Violations
			for _, a := range c.adds {
				v.Add([]byte(a.key), "%s", a.msg)
			}
			err := v.Err()
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("got %v, want nil", err)
			case c.want == "":
			case err == nil:
				t.Fatalf("got nil, want:\n%s", c.want)
			case err.Error() != c.want:
				t.Errorf("got:\n%v\nwant:\n%s", err, c.want)
			case v.Err().Error() != err.Error():
				t.Errorf("Err again:\n%v", v.Err())
			}
		})
	}

	var v Violations
	key := []byte("k")
	v.Add(key, "%s: %d", "k", 1)
	key[0] = 'z' // Add keeps its own copy of the key
	v.Add([]byte("m"), "m")
	if err := v.Err(); err == nil || err.Error() != "k: 1\nm" {
		t.Errorf("got %v", err)
	}
}

func TestViolationsDecodeRecord(t *testing.T) {
	type rec struct {
		ID string `json:"id"`
		N  int    `json:"n,omitempty"`
	}
	for _, c := range []struct {
		name   string
		val    string
		ok     bool
		want   string // "" if no violation
		wantID string
	}{
		{"canonical", `{"id":"a","n":1}`, true, "", "a"},
		{"not canonical: spaces", `{"id": "a"}`, true, `"r/a": record is not in the module's encoding`, "a"},
		{"not canonical: field order", `{"n":1,"id":"a"}`, true, `"r/a": record is not in the module's encoding`, "a"},
		{"not canonical: zero field written", `{"id":"a","n":0}`, true, `"r/a": record is not in the module's encoding`, "a"},
		{"unknown field", `{"id":"a","x":1}`, false, `"r/a": record does not decode: json: unknown field "x"`, ""},
		{"truncated", `{"id":`, false, `"r/a": record does not decode: unexpected EOF`, ""},
		{"trailing data", `{"id":"a"}}`, false, `"r/a": record does not decode: data after the JSON value: "}"`, ""},
		{"empty", ``, false, `"r/a": record does not decode: EOF`, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var v Violations
			var r rec
			if ok := v.DecodeRecord([]byte("r/a"), QuoteKey([]byte("r/a")), []byte(c.val), &r); ok != c.ok {
				t.Errorf("DecodeRecord = %t, want %t", ok, c.ok)
			}
			err := v.Err()
			switch {
			case c.want == "" && err != nil:
				t.Errorf("got %v, want none", err)
			case c.want != "" && (err == nil || err.Error() != c.want):
				t.Errorf("got %v, want %s", err, c.want)
			}
			if c.ok && r.ID != c.wantID {
				t.Errorf("decoded %+v", r)
			}
		})
	}
}

func TestQuoteKey(t *testing.T) {
	for _, c := range []struct {
		key  string
		want string
	}{
		{"", `""`},
		{"c/active_orgs", `"c/active_orgs"`},
		{`say "hi" \ ~`, `"say \"hi\" \\ ~"`},
		{"m/\xff\xfe", "0x6d2ffffe"},
		{"a\x00", "0x6100"},
		{"tab\t", "0x74616209"},
		{"\x7f", "0x7f"},
		{"é", "0xc3a9"}, // printable, but not ASCII
	} {
		if got := QuoteKey([]byte(c.key)); got != c.want {
			t.Errorf("QuoteKey(%q) = %s, want %s", c.key, got, c.want)
		}
	}
}
