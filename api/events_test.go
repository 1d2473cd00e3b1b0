package api

import (
	"math"
	"slices"
	"testing"
)

func TestEventIDs(t *testing.T) {
	// In stream order.
	order := []string{"0", "1", "2:0:0", "2:0:1", "2:0:10", "2:1:0", "2:10:0", "2:end:0", "2:end:3", "2", "10:0:0", "10"}
	var prev EventPos
	for i, id := range order {
		p, err := ParseEventID(id)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if p.String() != id {
			t.Fatalf("%s: parsed and printed as %s", id, p)
		}
		if i > 0 && (!prev.Before(p) || p.Before(prev) || p.Before(p)) {
			t.Fatalf("%s does not follow %s", id, prev)
		}
		prev = p
	}
	for id, next := range map[string]int64{"0": 1, "7": 8, "7:0:0": 7, "7:end:2": 7, "9223372036854775807": math.MaxInt64} {
		if p, _ := ParseEventID(id); p.NextHeight() != next {
			t.Errorf("%s: next height %d, want %d", id, p.NextHeight(), next)
		}
	}
	for _, bad := range []string{"", "x", "-1", "01", "1:2", "1:2:3:4", "0:0:0", "0:end:0", "1:x:0", "1:end:", "1::0",
		"1:01:0", "1:0:-1", "99999999999999999999", "1:4294967296:0", " 1", "1 "} {
		if _, err := ParseEventID(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if !slices.IsSortedFunc(order, func(a, b string) int {
		pa, _ := ParseEventID(a)
		pb, _ := ParseEventID(b)
		switch {
		case pa.Before(pb):
			return -1
		case pb.Before(pa):
			return 1
		}
		return 0
	}) {
		t.Fatal("not sorted")
	}
}

// FuzzParseEventID checks that an accepted event ID is canonical: it prints back exactly.
func FuzzParseEventID(f *testing.F) {
	for _, s := range []string{
		"0", "1", "2:0:0", "2:10:3", "2:end:0", "9223372036854775807", "9223372036854775807:4294967295:2147483647",
		"", "x", "-1", "01", "1:2", "1:2:3:4", "0:0:0", "0:end:0", "1:x:0", "1:end:", "1::0", "1:01:0",
		"9223372036854775808", "1:4294967296:0", "1:0:2147483648", " 1", "1 ", "+1", "1:END:0", "１",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseEventID(s)
		if err != nil {
			if p != (EventPos{}) {
				t.Fatalf("%q: position %+v with error %v", s, p, err)
			}
			return
		}
		if p.String() != s {
			t.Fatalf("%q parsed as %+v, printed as %q", s, p, p.String())
		}
		if p.Height < 0 || p.Event < 0 || (p.Section != SectionTx && p.Tx != 0) || (p.Section == SectionBlockEnd && p.Event != 0) {
			t.Fatalf("%q: position out of range %+v", s, p)
		}
		if p.Section != SectionBlockEnd && p.Height == 0 {
			t.Fatalf("%q: event at height 0", s)
		}
		// NextHeight is the height itself or the next one, never past MaxInt64.
		n := p.NextHeight()
		want := p.Height
		if p.Section == SectionBlockEnd && p.Height < math.MaxInt64 {
			want++
		}
		if p.Before(p) || n != want {
			t.Fatalf("%q: order of %+v, next height %d", s, p, n)
		}
		if q, err := ParseEventID(p.String()); err != nil || q != p {
			t.Fatalf("%q: round trip %+v, %v", s, q, err)
		}
	})
}
