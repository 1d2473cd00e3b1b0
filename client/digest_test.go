package client

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lianchain/lian/modules/evidence"
)

func TestDigest(t *testing.T) {
	for _, c := range []struct{ algo, in, want string }{
		{"sha256", "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"sha256", "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"sm3", "abc", "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"},
	} {
		d, err := Digest(c.algo, strings.NewReader(c.in))
		if err != nil || hex.EncodeToString(d) != c.want {
			t.Errorf("%s(%q) = %x, %v; want %s", c.algo, c.in, d, err, c.want)
		}
		path := filepath.Join(t.TempDir(), "f")
		if err := os.WriteFile(path, []byte(c.in), 0o600); err != nil {
			t.Fatal(err)
		}
		d, err = DigestFile(c.algo, path)
		if err != nil || hex.EncodeToString(d) != c.want {
			t.Errorf("file %s(%q) = %x, %v", c.algo, c.in, d, err)
		}
	}
	if _, err := Digest("md5", strings.NewReader("")); err == nil {
		t.Error("md5 accepted")
	}
	if _, err := DigestFile("sha256", t.TempDir()); err == nil {
		t.Error("directory hashed")
	}
	if _, err := DigestFile("sha256", filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing file hashed")
	}
}

func TestBatch(t *testing.T) {
	for _, n := range []int{1, 2, 3, 7, 16} {
		var ds [][]byte
		for i := 0; i < n; i++ {
			ds = append(ds, digestOf(strings.Repeat("d", i+1)))
		}
		root, proofs, err := NewBatch("sha256", ds)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(root, evidence.BatchRoot(ds)) || len(proofs) != n {
			t.Fatalf("n=%d: root %X", n, root)
		}
		for i, p := range proofs {
			// Through JSON, as the CLI writes them.
			bz, _ := json.Marshal(p)
			var q BatchInclusion
			if err := json.Unmarshal(bz, &q); err != nil {
				t.Fatal(err)
			}
			if err := q.Verify(); err != nil {
				t.Fatalf("n=%d proof %d: %v", n, i, err)
			}
			if q.Index != int64(i) || q.Total != int64(n) || !bytes.Equal(q.Digest, ds[i]) {
				t.Errorf("proof %+v", q)
			}
			// Another document's digest, another root, another index: refused.
			bad := q
			bad.Digest = digestOf("not in the batch")
			if bad.Verify() == nil {
				t.Errorf("n=%d: foreign digest verified", n)
			}
			bad = q
			bad.Root = digestOf("other root")
			if bad.Verify() == nil {
				t.Errorf("n=%d: other root verified", n)
			}
			if n > 1 {
				bad = q
				bad.Index = (q.Index + 1) % q.Total
				if bad.Verify() == nil {
					t.Errorf("n=%d: wrong index verified", n)
				}
			}
			bad = q
			bad.Index = q.Total
			if bad.Verify() == nil {
				t.Errorf("n=%d: index out of range verified", n)
			}
		}
	}
	if _, _, err := NewBatch("sha256", nil); err == nil {
		t.Error("empty batch")
	}
	if _, _, err := NewBatch("sha256", [][]byte{{1, 2}}); err == nil {
		t.Error("short digest")
	}
	if _, _, err := NewBatch("sha1", [][]byte{digestOf("x")}); err == nil {
		t.Error("unknown algorithm")
	}
	// Bound to the verified record of the root.
	ds := [][]byte{digestOf("1"), digestOf("2"), digestOf("3")}
	root, proofs, _ := NewBatch("sm3", ds)
	rec := &evidence.Record{Digest: root, HashAlgo: "sm3", Kind: evidence.KindBatch, Count: 3}
	if err := proofs[1].VerifyAnchored(&Verified{Record: rec}); err != nil {
		t.Errorf("anchored batch: %v", err)
	}
	for name, r := range map[string]evidence.Record{
		"document record": {Digest: root, HashAlgo: "sm3", Kind: evidence.KindDocument},
		"other count":     {Digest: root, HashAlgo: "sm3", Kind: evidence.KindBatch, Count: 4},
		"other algo":      {Digest: root, HashAlgo: "sha256", Kind: evidence.KindBatch, Count: 3},
		"other root":      {Digest: digestOf("r"), HashAlgo: "sm3", Kind: evidence.KindBatch, Count: 3},
	} {
		if err := proofs[1].VerifyAnchored(&Verified{Record: &r}); err == nil {
			t.Errorf("%s: verified", name)
		}
	}
	if proofs[1].VerifyAnchored(nil) == nil {
		t.Error("nil summary verified")
	}

	var nilProof *BatchInclusion
	if nilProof.Verify() == nil {
		t.Error("nil proof verified")
	}
}
