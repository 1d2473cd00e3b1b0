package store

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	ics23 "github.com/cosmos/ics23/go"
)

// multiFixture commits 2,000 keys and proves n consecutive ones of them: the proofs
// one by one, their values, and the combined proof.
func multiFixture(t testing.TB, n int) (root []byte, keys, values, singles [][]byte, combined []byte) {
	st, err := OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2000; i++ {
		st.Set([]byte(fmt.Sprintf("c/route-1/%08d", i)), []byte(fmt.Sprintf("commitment-%d", i)))
	}
	if _, _, err := st.Commit(); err != nil {
		t.Fatal(err)
	}
	for i := 500; i < 500+n; i++ {
		keys = append(keys, []byte(fmt.Sprintf("c/route-1/%08d", i)))
	}
	list, err := st.ProveMany(keys, st.Version())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range list {
		values = append(values, p.Value)
		singles = append(singles, p.Proof)
	}
	combined, err = CombineProofs(singles)
	if err != nil {
		t.Fatal(err)
	}
	return st.LastHash(), keys, values, singles, combined
}

func TestMultiMembership(t *testing.T) {
	root, keys, values, singles, combined := multiFixture(t, 256)
	total := 0
	for _, s := range singles {
		total += len(s)
	}
	t.Logf("256 consecutive keys of 2,000: single proofs %d bytes, combined %d", total, len(combined))
	if len(combined)*3 > total {
		t.Fatalf("combined proof of 256 consecutive keys is %d bytes, the single proofs %d: expected under a third", len(combined), total)
	}
	if err := VerifyMultiMembership(root, combined, keys, values); err != nil {
		t.Fatal(err)
	}
	// An uncompressed batch verifies as well.
	var p ics23.CommitmentProof
	if err := p.Unmarshal(combined); err != nil {
		t.Fatal(err)
	}
	plain, _ := EncodeProof(ics23.Decompress(&p))
	if err := VerifyMultiMembership(root, plain, keys, values); err != nil {
		t.Fatalf("uncompressed batch: %v", err)
	}
	one, err := CombineProofs(singles[:1])
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyMultiMembership(root, one, keys[:1], values[:1]); err != nil {
		t.Fatalf("batch of one: %v", err)
	}
}

// TestMultiMembershipRefusals checks what an attacker or a broken relayer would send.
func TestMultiMembershipRefusals(t *testing.T) {
	root, keys, values, singles, combined := multiFixture(t, 8)
	otherRoot := bytes.Repeat([]byte{7}, 32)
	swap := func(s [][]byte, i, j int) [][]byte {
		c := append([][]byte(nil), s...)
		c[i], c[j] = c[j], c[i]
		return c
	}
	with := func(s [][]byte, i int, v []byte) [][]byte {
		c := append([][]byte(nil), s...)
		c[i] = v
		return c
	}
	compressed := func(edit func(c *ics23.CompressedBatchProof)) []byte {
		var p ics23.CommitmentProof
		if err := p.Unmarshal(combined); err != nil {
			t.Fatal(err)
		}
		edit(p.GetCompressed())
		b, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, c := range []struct {
		name         string
		root, proof  []byte
		keys, values [][]byte
		want         string
	}{
		{"another root", otherRoot, combined, keys, values, "does not match root"},
		{"a forged value", root, combined, keys, with(values, 3, []byte("forged")), "entry 3"},
		{"keys in another order", root, combined, swap(keys, 1, 2), swap(values, 1, 2), "entry 1"},
		{"a key not proven", root, combined, with(keys, 5, []byte("c/route-1/00000001")), values, "entry 5"},
		{"fewer keys than entries", root, combined, keys[:7], values[:7], "8 entries, expected 7"},
		{"more keys than entries", root, combined, append(keys, []byte("k")), append(values, []byte("v")), "8 entries, expected 9"},
		{"keys and values differ in number", root, combined, keys, values[:7], "8 keys and 7 values"},
		{"an empty value", root, combined, keys, with(values, 0, nil), "empty value"},
		{"no keys", root, combined, nil, nil, "0 keys"},
		{"too many keys", root, combined, make([][]byte, MaxMultiProofEntries+1), make([][]byte, MaxMultiProofEntries+1), "expected 1 to"},
		{"a single proof", root, singles[0], keys[:1], values[:1], "expected a batch proof"},
		{"empty", root, nil, keys, values, "empty"},
		{"garbage", root, []byte{0xff, 0xff, 0xff}, keys, values, "decode proof"},
		{"oversized", root, make([]byte, MaxMultiProofBytes+1), keys, values, "at most"},
		{"a lookup index past the table", root, compressed(func(c *ics23.CompressedBatchProof) {
			c.Entries[2].GetExist().Path[0] = int32(len(c.LookupInners))
		}), keys, values, "not in the lookup table"},
		{"a negative lookup index", root, compressed(func(c *ics23.CompressedBatchProof) {
			c.Entries[0].GetExist().Path[1] = -1
		}), keys, values, "not in the lookup table"},
		{"a path too deep", root, compressed(func(c *ics23.CompressedBatchProof) {
			c.Entries[4].GetExist().Path = make([]int32, maxProofDepth+1)
		}), keys, values, "inner steps"},
		{"a non-existence entry", root, compressed(func(c *ics23.CompressedBatchProof) {
			c.Entries[6] = &ics23.CompressedBatchEntry{Proof: &ics23.CompressedBatchEntry_Nonexist{Nonexist: &ics23.CompressedNonExistenceProof{Key: keys[6]}}}
		}), keys, values, "entry 6 is not an existence proof"},
		{"an empty entry", root, compressed(func(c *ics23.CompressedBatchProof) {
			c.Entries[7] = &ics23.CompressedBatchEntry{}
		}), keys, values, "entry 7 is not an existence proof"},
		{"a changed inner step", root, compressed(func(c *ics23.CompressedBatchProof) {
			c.LookupInners[0].Prefix = append([]byte(nil), c.LookupInners[0].Prefix...)
			c.LookupInners[0].Prefix[len(c.LookupInners[0].Prefix)-1] ^= 1
		}), keys, values, "does not match root"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := VerifyMultiMembership(c.root, c.proof, c.keys, c.values)
			if err == nil {
				t.Fatal("verified")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q, expected it to say %q", err, c.want)
			}
		})
	}
	if _, err := CombineProofs(nil); err == nil {
		t.Fatal("combined no proofs")
	}
	if _, err := CombineProofs([][]byte{singles[0], {0xff}}); err == nil {
		t.Fatal("combined a malformed proof")
	}
}

func FuzzVerifyMultiMembership(f *testing.F) {
	root, keys, values, _, combined := multiFixture(f, 3)
	f.Add(combined, keys[0], keys[1], keys[2])
	f.Add([]byte{0x22, 0x02, 0x0a, 0x00}, keys[0], keys[1], keys[2])
	f.Fuzz(func(t *testing.T, proof, k0, k1, k2 []byte) {
		err := VerifyMultiMembership(root, proof, [][]byte{k0, k1, k2}, values)
		if err == nil && (!bytes.Equal(k0, keys[0]) || !bytes.Equal(k1, keys[1]) || !bytes.Equal(k2, keys[2])) {
			t.Fatalf("proved keys %x %x %x that hold other values", k0, k1, k2)
		}
	})
}

func BenchmarkVerifyMultiMembership(b *testing.B) {
	root, keys, values, singles, combined := multiFixture(b, 256)
	b.Run("combined", func(b *testing.B) {
		for b.Loop() {
			if err := VerifyMultiMembership(root, combined, keys, values); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("singles", func(b *testing.B) {
		for b.Loop() {
			for i := range singles {
				if err := VerifyMembership(root, singles[i], keys[i], values[i]); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
