package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lianchain/lian/examples/internal/examplenet"
)

func TestAnchorFile(t *testing.T) {
	n := examplenet.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	var files []string
	for i, text := range []string{"Contract between org1 and org2", "Annex 1", "Annex 2"} {
		f := filepath.Join(dir, []string{"contract.txt", "annex1.txt", "annex2.txt"}[i])
		if err := os.WriteFile(f, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}

	var out bytes.Buffer
	if err := run(ctx, n.Args(append([]string{"-label", "contract"}, files...)...), &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for _, f := range files {
		if !strings.Contains(out.String(), f+": sha256 ") {
			t.Errorf("no line for %s", f)
		}
	}
	if got := strings.Count(out.String(), "proof verified: 1 of 1 validators signed, validator set trusted"); got != len(files) {
		t.Fatalf("%d verified lines, want %d:\n%s", got, len(files), out.String())
	}

	// Anchoring the same document again is refused; the others still go through.
	extra := filepath.Join(dir, "new.txt")
	if err := os.WriteFile(extra, []byte("a new page"), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	err := run(ctx, n.Args(files[0], extra), &out)
	if err == nil {
		t.Fatalf("anchoring an anchored document again succeeded:\n%s", out.String())
	}
	if !strings.Contains(err.Error(), "1 of 2 files not anchored") {
		t.Fatalf("error %v", err)
	}
	if !strings.Contains(out.String(), extra+": sha256 ") || !strings.Contains(out.String(), files[0]+": not anchored: already_exists") {
		t.Fatalf("want the new file anchored and the old one refused:\n%s", out.String())
	}

	// Under SM3 the document has another digest: it can be anchored.
	out.Reset()
	if err := run(ctx, n.Args("-hash", "sm3", files[0]), &out); err != nil || !strings.Contains(out.String(), files[0]+": sm3 ") {
		t.Fatalf("sm3 anchor: %v\n%s", err, out.String())
	}

	if err := run(ctx, n.Args(), &out); err == nil {
		t.Fatal("no error without files")
	}
	if err := run(ctx, n.Args("-from", "nobody", extra), &out); err == nil {
		t.Fatal("no error for an unknown key")
	}
}
