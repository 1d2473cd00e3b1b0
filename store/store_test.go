package store

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func collect(r Reader, start, end []byte) []string {
	var out []string
	r.Iterate(start, end, func(k, v []byte) bool {
		out = append(out, string(k)+"="+string(v))
		return true
	})
	return out
}

func TestBranchReadYourWritesAndSortedIteration(t *testing.T) {
	st, err := OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "c", "e", "g"} {
		st.Set([]byte(k), []byte("p"+k))
	}
	b := NewBranch(st)
	b.Set([]byte("b"), []byte("bb"))
	b.Set([]byte("c"), []byte("cc")) // overwrite
	b.Delete([]byte("e"))
	b.Set([]byte("h"), []byte("hh"))
	if got := string(b.Get([]byte("c"))); got != "cc" {
		t.Fatalf("read own write: %q", got)
	}
	if b.Has([]byte("e")) || !b.Has([]byte("a")) {
		t.Fatal("Has")
	}
	want := "[a=pa b=bb c=cc g=pg h=hh]"
	if got := fmt.Sprint(collect(b, nil, nil)); got != want {
		t.Fatalf("iterate %s, want %s", got, want)
	}
	if got := fmt.Sprint(collect(b, []byte("b"), []byte("g"))); got != "[b=bb c=cc]" {
		t.Fatalf("range: %s", got)
	}
	// Stop early.
	n := 0
	b.Iterate(nil, nil, func(k, v []byte) bool { n++; return n < 2 })
	if n != 2 {
		t.Fatalf("stopped after %d", n)
	}
	// Parent unchanged until Write.
	if string(st.Get([]byte("c"))) != "pc" || st.Get([]byte("b")) != nil {
		t.Fatal("branch leaked into parent")
	}
	b.Write()
	if got := fmt.Sprint(collect(st, nil, nil)); got != want {
		t.Fatalf("after write %s", got)
	}
	// Nested branch discarded.
	b2 := NewBranch(st)
	b2.Set([]byte("z"), []byte("z"))
	b2.Discard()
	b2.Write()
	if st.Has([]byte("z")) {
		t.Fatal("discarded write applied")
	}
}

func TestPrefixed(t *testing.T) {
	st, _ := OpenMemory()
	st.Set([]byte("a/1"), []byte("x"))
	st.Set([]byte("b/1"), []byte("y"))
	st.Set([]byte("b/2"), []byte("z"))
	st.Set([]byte("c/1"), []byte("w"))
	p := Prefixed(st, []byte("b/"))
	if got := fmt.Sprint(collect(p, nil, nil)); got != "[1=y 2=z]" {
		t.Fatalf("prefixed iterate: %s", got)
	}
	p.Set([]byte("3"), []byte("q"))
	if string(st.Get([]byte("b/3"))) != "q" {
		t.Fatal("prefixed set")
	}
	if !bytes.Equal(PrefixEnd([]byte{1, 0xff}), []byte{2}) || PrefixEnd([]byte{0xff}) != nil {
		t.Fatal("PrefixEnd")
	}
}

func TestCommitProveAndVersions(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	st.Set([]byte("k1"), []byte("v1"))
	h1, v1, err := st.Commit()
	if err != nil || v1 != 1 {
		t.Fatal(v1, err)
	}
	st.Set([]byte("k1"), []byte("v2"))
	st.Set([]byte("k2"), []byte("x"))
	h2, _, _ := st.Commit()
	if bytes.Equal(h1, h2) {
		t.Fatal("hash did not change")
	}
	// Proof at version 1 shows the old value under the old root.
	val, proof, err := st.Prove([]byte("k1"), 1)
	if err != nil || string(val) != "v1" {
		t.Fatal(val, err)
	}
	pb, _ := EncodeProof(proof)
	if err := VerifyMembership(h1, pb, []byte("k1"), []byte("v1")); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]func() error{
		"new root":      func() error { return VerifyMembership(h2, pb, []byte("k1"), []byte("v1")) },
		"other value":   func() error { return VerifyMembership(h1, pb, []byte("k1"), []byte("v2")) },
		"other key":     func() error { return VerifyMembership(h1, pb, []byte("k2"), []byte("v1")) },
		"absence of k1": func() error { return VerifyNonMembership(h1, pb, []byte("k1")) },
		"garbage proof": func() error { return VerifyMembership(h1, []byte{1, 2, 3}, []byte("k1"), []byte("v1")) },
		"empty proof":   func() error { return VerifyMembership(h1, nil, []byte("k1"), []byte("v1")) },
		"oversized":     func() error { return VerifyMembership(h1, make([]byte, MaxProofBytes+1), []byte("k1"), []byte("v1")) },
	} {
		if c() == nil {
			t.Errorf("%s: verified", name)
		}
	}
	// Absence of k2 at version 1, proven; the same proof does not show k1 absent.
	_, absent, err := st.Prove([]byte("k2"), 1)
	if err != nil {
		t.Fatal(err)
	}
	ab, _ := EncodeProof(absent)
	if err := VerifyNonMembership(h1, ab, []byte("k2")); err != nil {
		t.Fatal(err)
	}
	if VerifyNonMembership(h1, ab, []byte("k1")) == nil {
		t.Fatal("absence proof accepted for a present key")
	}
	if _, _, err := st.Prove([]byte("k1"), 9); err == nil {
		t.Fatal("proof at unknown version")
	}
	if r, err := st.ReaderAt(1); err != nil || string(r.Get([]byte("k1"))) != "v1" {
		t.Fatal("ReaderAt", err)
	}
	// Reopen: the latest version and hash are back.
	st.Close()
	st, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if st.Version() != 2 || !bytes.Equal(st.LastHash(), h2) || string(st.Committed().Get([]byte("k1"))) != "v2" {
		t.Fatal("reopen lost state")
	}
}

func FuzzVerifyProof(f *testing.F) {
	st, _ := OpenMemory()
	st.Set([]byte("k"), []byte("v"))
	root, _, _ := st.Commit()
	_, p, _ := st.Prove([]byte("k"), 1)
	pb, _ := EncodeProof(p)
	f.Add(pb, []byte("k"), []byte("v"))
	f.Fuzz(func(t *testing.T, proof, key, value []byte) {
		VerifyMembership(root, proof, key, value)
		VerifyNonMembership(root, proof, key)
	})
}

// FuzzDecodeProof checks that a decoded proof re-encodes (EncodeProof) to a proof that decodes to the same encoding.
func FuzzDecodeProof(f *testing.F) {
	st, _ := OpenMemory()
	st.Set([]byte("k"), []byte("v"))
	st.Set([]byte("m"), []byte("w"))
	st.Commit()
	for _, k := range []string{"k", "l", "z"} {
		_, p, err := st.Prove([]byte(k), 1)
		if err != nil {
			f.Fatal(err)
		}
		pb, _ := EncodeProof(p)
		f.Add(pb)
	}
	for _, b := range [][]byte{{}, {0x0a, 0x00}, {0x12, 0x00}, {0x1a, 0x00}, {0x22, 0x00}, {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f}, {0x0a, 0x02, 0x1a, 0x00}} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := DecodeProof(b)
		if err != nil {
			if p != nil {
				t.Fatal("a proof with an error")
			}
			return
		}
		if len(b) == 0 || len(b) > MaxProofBytes {
			t.Fatalf("decoded a %d-byte proof", len(b))
		}
		enc, err := EncodeProof(p)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if len(enc) == 0 {
			return // an empty proof, which DecodeProof refuses as such
		}
		again, err := DecodeProof(enc)
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if enc2, err := EncodeProof(again); err != nil || !bytes.Equal(enc2, enc) {
			t.Fatalf("re-encoding not stable: %v", err)
		}
	})
}

// TestAbsentCacheAgreesWithTree checks that the absent-key cache never
// answers differently from the tree, across writes, saves and rollbacks.
func TestAbsentCacheAgreesWithTree(t *testing.T) {
	st, err := OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	k := []byte("d/missing")
	committed := st.Committed()
	steps := []struct {
		name           string
		do             func()
		working, saved string // expected values; "" = absent
	}{
		{"absent everywhere", func() {}, "", ""},
		{"absent again (cached)", func() {}, "", ""},
		{"written, not saved", func() { st.Set(k, []byte("v1")) }, "v1", ""},
		{"saved", func() { mustCommit(t, st) }, "v1", "v1"},
		{"deleted, not saved", func() { st.Delete(k) }, "", "v1"},
		{"rolled back", func() { st.Rollback() }, "v1", "v1"},
		{"deleted and saved", func() { st.Delete(k); mustCommit(t, st) }, "", ""},
		{"absent, cached, then written in the same block", func() {
			_ = st.Get(k)
			_ = st.Committed().Get(k)
			st.Set(k, []byte("v2"))
		}, "v2", ""},
		{"saved again", func() { mustCommit(t, st) }, "v2", "v2"},
	}
	for _, s := range steps {
		s.do()
		committed = st.Committed()
		if got := string(st.Get(k)); got != s.working {
			t.Fatalf("%s: working %q, want %q", s.name, got, s.working)
		}
		if got := string(committed.Get(k)); got != s.saved {
			t.Fatalf("%s: saved %q, want %q", s.name, got, s.saved)
		}
		if st.Has(k) != (s.working != "") || committed.Has(k) != (s.saved != "") {
			t.Fatalf("%s: Has disagrees with Get", s.name)
		}
	}
	// A full cache starts over rather than growing.
	for i := range absentCap + 10 {
		st.Get([]byte(fmt.Sprintf("x/%d", i)))
	}
	if n := len(st.absent.keys); n > absentCap {
		t.Fatalf("cache holds %d keys, cap %d", n, absentCap)
	}
}

func mustCommit(t *testing.T, st *Store) {
	t.Helper()
	if _, _, err := st.Commit(); err != nil {
		t.Fatal(err)
	}
}

// A state database another process (or another store) has open is refused with
// ErrInUse, which names the likely cause.
func TestOpenInUse(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := Open(dir); !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("second open: %v, want ErrInUse", err)
	}
}
