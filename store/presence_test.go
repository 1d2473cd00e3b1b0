package store

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// A store with a presence filter answers every read as one without.
func TestPresenceAgreesWithTree(t *testing.T) {
	dir := t.TempDir()
	tracked, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := tracked.TrackPrefix([]byte("e/d/")); err != nil {
		t.Fatal(err)
	}
	plain, err := OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	key := func() []byte {
		prefix := "e/d/"
		if rng.IntN(4) == 0 {
			prefix = "i/" // not tracked
		}
		return []byte(fmt.Sprintf("%s%03d", prefix, rng.IntN(300)))
	}
	check := func(step int, k []byte) {
		t.Helper()
		if got, want := string(tracked.Get(k)), string(plain.Get(k)); got != want {
			t.Fatalf("step %d: working %s = %q, want %q", step, k, got, want)
		}
		if got, want := string(tracked.Committed().Get(k)), string(plain.Committed().Get(k)); got != want {
			t.Fatalf("step %d: saved %s = %q, want %q", step, k, got, want)
		}
	}
	for step := range 4000 {
		k := key()
		switch op := rng.IntN(20); {
		case op < 8:
			v := []byte(fmt.Sprint("v", step))
			tracked.Set(k, v)
			plain.Set(k, v)
		case op < 10:
			tracked.Delete(k)
			plain.Delete(k)
		case op == 10:
			mustCommit(t, tracked)
			mustCommit(t, plain)
		case op == 11:
			tracked.Rollback()
			plain.Rollback()
		case op == 12 && step > 2000:
			// Restart: the filter is rebuilt from the saved version.
			tracked.Rollback()
			plain.Rollback()
			if err := tracked.Close(); err != nil {
				t.Fatal(err)
			}
			if tracked, err = Open(dir); err != nil {
				t.Fatal(err)
			}
			if err := tracked.TrackPrefix([]byte("e/d/")); err != nil {
				t.Fatal(err)
			}
		}
		check(step, k)
		check(step, key())
	}
	tracked.Close()
}

func TestPresenceFilter(t *testing.T) {
	p := newPresence([]byte("e/"))
	const n = 3*presenceFirst + 100 // three filters and a fourth
	for i := range n {
		p.add([]byte(fmt.Sprint("e/", i)))
	}
	if len(p.filters) != 3 {
		// presenceFirst + 2·presenceFirst fill two; the third (4·presenceFirst) takes the rest.
		t.Fatalf("%d filters, want 3", len(p.filters))
	}
	for i := range n {
		if !p.mayHave([]byte(fmt.Sprint("e/", i))) {
			t.Fatalf("key %d added but reported absent", i)
		}
	}
	fp := 0
	const probes = 20000
	for i := range probes {
		if p.mayHave([]byte(fmt.Sprint("e/absent-", i))) {
			fp++
		}
	}
	// Each filter is at most at capacity: about 1% each, under 3% together.
	if fp > probes*4/100 {
		t.Fatalf("%d false positives in %d probes", fp, probes)
	}
}

func TestTrackPrefixRefusals(t *testing.T) {
	st, err := OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	if err := st.TrackPrefix(nil); err == nil {
		t.Fatal("empty prefix accepted")
	}
	if err := st.TrackPrefix([]byte("e/")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"e/", "e/d/", "e"} {
		if err := st.TrackPrefix([]byte(p)); err == nil || !strings.Contains(err.Error(), "overlaps") {
			t.Fatalf("prefix %q: %v, want an overlap error", p, err)
		}
	}
	st.Set([]byte("x"), []byte("1"))
	if err := st.TrackPrefix([]byte("y/")); err == nil || !strings.Contains(err.Error(), "unsaved") {
		t.Fatalf("with unsaved writes: %v", err)
	}
	mustCommit(t, st)
	if err := st.TrackPrefix([]byte("y/")); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkTrackPrefix measures the start-up scan of a prefix holding 100,000 keys of
// evidence records' shape (a 34-byte key, a 114-byte value) on goleveldb.
//
//	go test -run '^$' -bench TrackPrefix -benchtime 3x ./store/
func BenchmarkTrackPrefix(b *testing.B) {
	const n = 100_000
	st, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	rng := rand.New(rand.NewPCG(3, 4))
	key := make([]byte, 34)
	val := make([]byte, 114)
	for i := range n {
		copy(key, "d/")
		for j := 2; j < len(key); j += 8 {
			v := rng.Uint64()
			for k := 0; k < 8 && j+k < len(key); k++ {
				key[j+k] = byte(v >> (8 * k))
			}
		}
		st.Set(append([]byte(nil), key...), val)
		if i%5000 == 4999 {
			if _, _, err := st.Commit(); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ResetTimer()
	for range b.N {
		st.tracked = nil
		if err := st.TrackPrefix([]byte("d/")); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/key")
}
