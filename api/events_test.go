package api

import (
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
	for id, next := range map[string]int64{"0": 1, "7": 8, "7:0:0": 7, "7:end:2": 7} {
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
