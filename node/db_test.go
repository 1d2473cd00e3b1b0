package node

import (
	"testing"

	dbm "github.com/cometbft/cometbft-db"
)

// A read of a closed database, as CometBFT's late gossip goroutines make after Stop,
// answers "not found" instead of an error the block store would panic on.
func TestShutdownSafeDBAfterClose(t *testing.T) {
	raw, err := dbm.NewGoLevelDBWithOpts("t", t.TempDir(), levelDBOptions())
	if err != nil {
		t.Fatal(err)
	}
	db := shutdownSafeDB{raw}
	if err := db.Set([]byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if v, err := db.Get([]byte("k")); err != nil || string(v) != "v" {
		t.Fatalf("get before close: %q %v", v, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if v, err := db.Get([]byte("k")); err != nil || v != nil {
		t.Fatalf("get after close: %q %v", v, err)
	}
	if ok, err := db.Has([]byte("k")); err != nil || ok {
		t.Fatalf("has after close: %v %v", ok, err)
	}
}

func TestFreePortsBelowEphemeralRange(t *testing.T) {
	ports, err := FreePorts(8)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p < portRangeLow || p >= portRangeHigh || seen[p] {
			t.Fatalf("port %d: outside [%d, %d) or repeated in %v", p, portRangeLow, portRangeHigh, ports)
		}
		seen[p] = true
	}
}
