package evidence

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/txs"
)

func testRecord() *Record {
	sub, _ := crypto.ParseAddress("0x00112233445566778899aabbccddeeff00112233")
	return &Record{
		Digest: bytes.Repeat([]byte{0xab}, DigestLen), HashAlgo: HashSM3, Kind: KindBatch, Count: 7,
		Label: "contract <v2> & annex", Metadata: []Entry{{Key: "case", Value: "42"}, {Key: "court", Value: ""}},
		Submitter: sub, Org: "court-1", Height: 1234567, Time: "2026-11-27T06:59:12.123456789Z",
		TxHash: strings.Repeat("0F", 32),
	}
}

// The stored form decodes to the same record, whose JSON is what the chain stored as
// JSON before (clients see the same answers).
func TestRecordRoundTrip(t *testing.T) {
	for name, r := range map[string]*Record{
		"batch":    testRecord(),
		"document": {Digest: bytes.Repeat([]byte{1}, DigestLen), HashAlgo: HashSHA256, Kind: KindDocument, Org: "org1", Height: 3, Time: "2026-11-27T06:59:12Z", TxHash: strings.Repeat("AB", 32)},
		"epoch":    {Digest: bytes.Repeat([]byte{2}, DigestLen), HashAlgo: HashSHA256, Kind: KindDocument, Time: "1970-01-01T00:00:00Z", TxHash: strings.Repeat("00", 32)},
	} {
		b, err := r.Marshal()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := DecodeRecord(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want, _ := json.Marshal(r)
		gotJSON, err := RecordJSON(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if again, _ := json.Marshal(got); !bytes.Equal(again, want) || !bytes.Equal(gotJSON, want) {
			t.Errorf("%s: round trip\n got %s\nwant %s", name, gotJSON, want)
		}
		// Records stored as JSON (before the binary form) read the same, shown as stored.
		legacy, err := DecodeRecord(want)
		if err != nil {
			t.Fatalf("%s: JSON record: %v", name, err)
		}
		if lj, _ := RecordJSON(want); !bytes.Equal(lj, want) || legacy.Height != r.Height {
			t.Errorf("%s: JSON record shown as %s", name, lj)
		}
		t.Logf("%s: %d bytes stored, %d as JSON", name, len(b), len(want))
	}
}

// The module writes what Marshal writes, and a document record is far smaller than JSON.
func TestRecordStored(t *testing.T) {
	r := &Record{Digest: bytes.Repeat([]byte{1}, DigestLen), HashAlgo: HashSHA256, Kind: KindDocument, Org: "org1", Height: 99}
	when := time.Date(2026, 11, 27, 6, 59, 12, 5_000_000, time.FixedZone("CST", 8*3600))
	var h txs.Hash
	h[0] = 0xfe
	b, err := encodeRecord(r, when, h)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeRecord(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Time != "2026-11-26T22:59:12.005Z" || got.TxHash != h.String() {
		t.Errorf("time %s, tx hash %s", got.Time, got.TxHash)
	}
	js, _ := json.Marshal(got)
	if len(b) > 120 || len(js) < 2*len(b) {
		t.Errorf("stored %d bytes, JSON %d", len(b), len(js))
	}
}

func TestRecordDecodeStrict(t *testing.T) {
	good, err := testRecord().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"empty":         {},
		"truncated":     good[:len(good)-1],
		"unknown field": append(bytes.Clone(good), 0x78, 0x01), // field 15, varint
		"repeated org":  append(bytes.Clone(good), 0x42, 0x01, 'x'),
		"not JSON":      []byte("{"),
		"pending mark":  {0},
	} {
		if _, err := DecodeRecord(b); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
	// A time past RFC 3339's years (no block has one; the record could not be shown).
	doc, _ := encodeRecord(&Record{Digest: bytes.Repeat([]byte{1}, DigestLen), HashAlgo: HashSHA256, Kind: KindDocument}, time.Unix(0, 0), txs.Hash{})
	var far txs.Encoder
	far.Uint64Field(10, 1<<62)
	if _, err := DecodeRecord(append(doc, far.Bytes()...)); err == nil || !strings.Contains(err.Error(), "9999") {
		t.Errorf("a time in the year 10000 or later: %v", err)
	}
	bad := *testRecord()
	bad.Time = "2026-11-27T14:59:12+08:00"
	if _, err := bad.Marshal(); err == nil {
		t.Error("a time not in UTC encodes")
	}
	bad = *testRecord()
	bad.TxHash = strings.ToLower(bad.TxHash)
	if _, err := bad.Marshal(); err == nil {
		t.Error("a lower-case tx hash encodes")
	}
}

// FuzzDecodeRecord checks that a decoded record re-encodes (Marshal, or JSON for a JSON record) to one that decodes the same, as RecordJSON shows it.
func FuzzDecodeRecord(f *testing.F) {
	good, err := testRecord().Marshal()
	if err != nil {
		f.Fatal(err)
	}
	js, _ := json.Marshal(testRecord())
	doc, _ := encodeRecord(&Record{Digest: bytes.Repeat([]byte{1}, DigestLen), HashAlgo: HashSHA256, Kind: KindDocument}, time.Unix(0, 0), txs.Hash{})
	var far txs.Encoder // a time_seconds beyond the year 9999
	far.Uint64Field(10, 1<<62)
	for _, b := range [][]byte{
		good, js, doc, append(bytes.Clone(doc), far.Bytes()...), {}, {0}, []byte("{"), []byte(`{"kind":7}`), []byte(`{"digest":"zz"}`),
		good[:len(good)-1], append(bytes.Clone(good), 0x78, 0x01), append(bytes.Clone(good), 0x42, 0x01, 'x'),
	} {
		f.Add(b)
	}
	same := func(t *testing.T, what string, a, b *Record) {
		t.Helper()
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if !bytes.Equal(ja, jb) {
			t.Fatalf("%s:\n got %s\nwant %s", what, jb, ja)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRecord(b)
		shown, jerr := RecordJSON(b)
		if (err == nil) != (jerr == nil) {
			t.Fatalf("DecodeRecord %v, RecordJSON %v", err, jerr)
		}
		if err != nil {
			if r != nil || shown != nil {
				t.Fatal("a record with an error")
			}
			return
		}
		out, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("JSON of %+v: %v", r, err)
		}
		if b[0] == '{' {
			// A JSON record is shown as stored, and its JSON reads back the same.
			if !bytes.Equal(shown, b) {
				t.Fatal("JSON record not shown as stored")
			}
			again, err := DecodeRecord(out)
			if err != nil {
				t.Fatalf("re-decode %s: %v", out, err)
			}
			same(t, "JSON round trip", r, again)
			return
		}
		if !bytes.Equal(shown, out) {
			t.Fatalf("shown as %s, decoded as %s", shown, out)
		}
		if r.Kind != KindDocument && r.Kind != KindBatch || len(r.Digest) != DigestLen || len(r.Metadata) > MaxMetadata {
			t.Fatalf("decoded an invalid record %s", out)
		}
		// The stored form is canonical up to field order and zero fields: it re-encodes to the
		// same record.
		enc, err := r.Marshal()
		if err != nil {
			t.Fatalf("re-encode %s: %v", out, err)
		}
		again, err := DecodeRecord(enc)
		if err != nil {
			t.Fatalf("re-decode %s: %v", out, err)
		}
		same(t, "stored round trip", r, again)
		if enc2, err := again.Marshal(); err != nil || !bytes.Equal(enc2, enc) {
			t.Fatalf("re-encoding not stable: %v", err)
		}
	})
}
