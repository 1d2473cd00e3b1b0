package evidence

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"

	"github.com/lianchain/lian/errcode"
)

func TestAnchorCodec(t *testing.T) {
	d := sha256.Sum256([]byte("doc"))
	m := &MsgAnchor{Digest: d[:], HashAlgo: HashSM3, Label: "合同", Metadata: []Entry{{"case", "2026-01"}, {"court", "Beijing Internet Court"}}}
	got, err := DecodeAnchor(m.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	a := got.(*MsgAnchor)
	if !bytes.Equal(a.Digest, d[:]) || a.HashAlgo != HashSM3 || a.Label != "合同" || len(a.Metadata) != 2 || a.Metadata[1].Value != "Beijing Internet Court" {
		t.Fatalf("%+v", a)
	}
	if err := a.ValidateBasic(); err != nil {
		t.Fatal(err)
	}
	many := make([]Entry, MaxMetadata+1)
	for i := range many {
		many[i] = Entry{fmt.Sprint(i), "v"}
	}
	bad := map[string]*MsgAnchor{
		"short digest":   {Digest: d[:31], HashAlgo: HashSHA256},
		"unknown algo":   {Digest: d[:], HashAlgo: "md5"},
		"long label":     {Digest: d[:], HashAlgo: HashSHA256, Label: strings.Repeat("x", MaxLabelBytes+1)},
		"empty meta key": {Digest: d[:], HashAlgo: HashSHA256, Metadata: []Entry{{"", "v"}}},
		"dup meta key":   {Digest: d[:], HashAlgo: HashSHA256, Metadata: []Entry{{"k", "1"}, {"k", "2"}}},
		"too much meta":  {Digest: d[:], HashAlgo: HashSHA256, Metadata: many},
	}
	for name, m := range bad {
		if err := m.ValidateBasic(); errcode.Of(err) != errcode.InvalidMessage {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := DecodeAnchor(append(m.Marshal(), 0x50, 0x01)); errcode.Of(err) != errcode.TxMalformed {
		t.Errorf("unknown field accepted: %v", err)
	}
}

func TestBatch(t *testing.T) {
	var docs [][]byte
	for i := 0; i < 7; i++ {
		d := sha256.Sum256([]byte(fmt.Sprint("doc", i)))
		docs = append(docs, d[:])
	}
	root := BatchRoot(docs)
	m := &MsgAnchorBatch{Root: root, HashAlgo: HashSHA256, Count: 7, Label: "batch"}
	got, err := DecodeAnchorBatch(m.Marshal())
	if err != nil || got.ValidateBasic() != nil || got.(*MsgAnchorBatch).Count != 7 {
		t.Fatalf("%v %+v", err, got)
	}
	if (&MsgAnchorBatch{Root: root, HashAlgo: HashSHA256}).ValidateBasic() == nil {
		t.Error("count 0 accepted")
	}
	for i := range docs {
		p, err := BatchProof(docs, i)
		if err != nil {
			t.Fatal(err)
		}
		if err := VerifyBatchMember(root, docs[i], p); err != nil {
			t.Fatalf("doc %d: %v", i, err)
		}
		if err := VerifyBatchMember(root, docs[(i+1)%len(docs)], p); err == nil {
			t.Fatalf("doc %d: proof accepted for another document", i)
		}
		other := sha256.Sum256([]byte("other root"))
		if err := VerifyBatchMember(other[:], docs[i], p); err == nil {
			t.Fatalf("doc %d: proof accepted under another root", i)
		}
	}
	if _, err := BatchProof(docs, 7); err == nil {
		t.Error("proof for index out of range")
	}
	if err := VerifyBatchMember(root, docs[0], nil); err == nil {
		t.Error("nil proof accepted")
	}
}

func FuzzDecodeAnchor(f *testing.F) {
	d := sha256.Sum256([]byte("doc"))
	f.Add((&MsgAnchor{Digest: d[:], HashAlgo: HashSHA256, Label: "l", Metadata: []Entry{{"k", "v"}}}).Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeAnchor(b)
		if err != nil {
			return
		}
		m.ValidateBasic()
		if _, err := DecodeAnchor(m.Marshal()); err != nil {
			t.Fatalf("re-encode: %v", err)
		}
	})
}

func FuzzDecodeAnchorBatch(f *testing.F) {
	d := sha256.Sum256([]byte("doc"))
	f.Add((&MsgAnchorBatch{Root: d[:], HashAlgo: HashSM3, Count: 9, Metadata: []Entry{{"k", "v"}}}).Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeAnchorBatch(b)
		if err != nil {
			return
		}
		m.ValidateBasic()
		if _, err := DecodeAnchorBatch(m.Marshal()); err != nil {
			t.Fatalf("re-encode: %v", err)
		}
	})
}
