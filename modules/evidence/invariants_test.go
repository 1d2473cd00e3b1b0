package evidence

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/modules"
	"github.com/lianchain/lian/modules/invariantstest"
	"github.com/lianchain/lian/store"
	"github.com/lianchain/lian/txs"
)

func digestOf(s string) []byte {
	d := sha256.Sum256([]byte(s))
	return d[:]
}

// healthyState anchors a document and a batch through the handlers, and stores a
// record in the JSON form of records written before the stored form.
func healthyState(t *testing.T) (*Module, *store.Store) {
	t.Helper()
	st, err := store.OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	m := New()
	sender := &modules.Account{Address: crypto.Address{1}, Org: "org1"}
	ctx := modules.NewContext("lian-1", 7, time.Unix(1700000000, 5), txs.Hash{9}, sender, st, Name)
	if err := m.anchor(ctx, &MsgAnchor{Digest: digestOf("doc"), HashAlgo: HashSHA256, Label: "contract", Metadata: []Entry{{"case", "42"}}}); err != nil {
		t.Fatal(err)
	}
	if err := m.anchorBatch(ctx, &MsgAnchorBatch{Root: digestOf("batch"), HashAlgo: HashSM3, Count: 3}); err != nil {
		t.Fatal(err)
	}
	legacy, _ := json.Marshal(&Record{Digest: digestOf("legacy"), HashAlgo: HashSHA256, Kind: KindDocument, Submitter: crypto.Address{2},
		Org: "org2", Height: 3, Time: "2026-11-27T06:59:12.5Z", TxHash: strings.Repeat("AB", 32)})
	ctx.Store.Set(Key(digestOf("legacy")), legacy)
	return m, st
}

func TestCheckInvariants(t *testing.T) {
	m, st := healthyState(t)
	kv := store.Prefixed(st, modules.Prefix(Name))
	if err := m.CheckInvariants(kv); err != nil {
		t.Fatalf("healthy state: %v", err)
	}
	stored := func(r *Record) []byte {
		t.Helper()
		b, err := encodeRecord(r, time.Unix(1700000000, 0), txs.Hash{1})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	doc := kv.Get(Key(digestOf("doc")))
	cases := []struct {
		name    string
		corrupt func(kv store.KV, ctx *modules.Context)
		want    []string
	}{
		{"pending mark committed", func(_ store.KV, ctx *modules.Context) {
			ctx.CheckOnly = true
			if err := New().anchor(ctx, &MsgAnchor{Digest: digestOf("pending"), HashAlgo: HashSHA256}); err != nil {
				t.Fatal(err)
			}
		}, []string{fmt.Sprintf("d/%X: the CheckTx pending mark", digestOf("pending"))}},
		{"record under another digest", func(kv store.KV, _ *modules.Context) {
			kv.Set(Key(digestOf("other")), doc)
		}, []string{fmt.Sprintf("d/%X: the record is of digest %X", digestOf("other"), digestOf("doc"))}},
		{"undecodable record", func(kv store.KV, _ *modules.Context) {
			kv.Set(Key(digestOf("doc")), doc[:len(doc)-1])
		}, []string{fmt.Sprintf("d/%X: decode evidence record", digestOf("doc"))}},
		{"empty batch", func(kv store.KV, _ *modules.Context) {
			kv.Set(Key(digestOf("batch")), stored(&Record{Digest: digestOf("batch"), HashAlgo: HashSM3, Kind: KindBatch, Height: 7}))
		}, []string{"a batch record with count 0"}},
		{"document with a count", func(kv store.KV, _ *modules.Context) {
			kv.Set(Key(digestOf("doc")), stored(&Record{Digest: digestOf("doc"), HashAlgo: HashSHA256, Kind: KindDocument, Count: 2, Height: 7}))
		}, []string{"a document record with count 2"}},
		{"unknown hash algorithm", func(kv store.KV, _ *modules.Context) {
			kv.Set(Key(digestOf("doc")), stored(&Record{Digest: digestOf("doc"), HashAlgo: "md5", Kind: KindDocument, Height: 7}))
		}, []string{`hash_algo "md5"`}},
		{"no height", func(kv store.KV, _ *modules.Context) {
			kv.Set(Key(digestOf("doc")), stored(&Record{Digest: digestOf("doc"), HashAlgo: HashSHA256, Kind: KindDocument}))
		}, []string{"height 0"}},
		{"JSON record of an unknown kind and time", func(kv store.KV, _ *modules.Context) {
			b, _ := json.Marshal(&Record{Digest: digestOf("legacy"), HashAlgo: HashSHA256, Kind: "letter", Height: 3, Time: "yesterday"})
			kv.Set(Key(digestOf("legacy")), b)
		}, []string{`unknown kind "letter"`, `time "yesterday" is not RFC 3339`}},
		{"unknown key", func(kv store.KV, _ *modules.Context) {
			kv.Set([]byte("x/1"), []byte{1})
		}, []string{`"x/1": unknown key`}},
		{"short digest key", func(kv store.KV, _ *modules.Context) {
			kv.Set(Key(digestOf("doc")[:31]), doc)
		}, []string{"unknown key"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, st := healthyState(t)
			b := store.NewBranch(st)
			ctx := modules.NewContext("lian-1", 8, time.Unix(1700000001, 0), txs.Hash{8}, &modules.Account{Address: crypto.Address{3}, Org: "org1"}, b, Name)
			c.corrupt(ctx.Store, ctx)
			invariantstest.Exactly(t, m.CheckInvariants(ctx.Store), c.want...)
		})
	}
}

// At most MaxViolations are listed, by key, and the rest counted.
func TestCheckInvariantsCapped(t *testing.T) {
	m, st := healthyState(t)
	kv := store.Prefixed(st, modules.Prefix(Name))
	for i := 25; i > 0; i-- {
		kv.Set([]byte(fmt.Sprintf("z/%02d", i)), []byte{1})
	}
	err := m.CheckInvariants(kv)
	if err == nil {
		t.Fatal("not reported")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != modules.MaxViolations+1 || lines[modules.MaxViolations] != "… and 5 more" || !strings.HasPrefix(lines[0], `"z/01"`) {
		t.Errorf("got %d lines:\n%v", len(lines), err)
	}
	if again := m.CheckInvariants(kv); again.Error() != err.Error() {
		t.Error("not deterministic")
	}
	if !bytes.Contains([]byte(err.Error()), []byte(`"z/20"`)) || strings.Contains(err.Error(), `"z/21"`) {
		t.Errorf("not the first keys: %v", err)
	}
}
