package evidence

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/txs"
)

// The stored form of a record is protobuf (lian.evidence.v1.StoredRecord), about 140
// bytes for a document without label or metadata instead of about 330 as JSON:
//
//	message StoredRecord {
//	  bytes  digest       = 1;  // 32 bytes
//	  string hash_algo    = 2;
//	  uint64 kind         = 3;  // 1 document, 2 batch
//	  uint64 count        = 4;  // documents in a batch
//	  string label        = 5;
//	  repeated Entry metadata = 6;
//	  bytes  submitter    = 7;  // 20-byte address
//	  string org          = 8;
//	  int64  height       = 9;
//	  int64  time_seconds = 10; // block time, Unix seconds
//	  uint64 time_nanos   = 11;
//	  bytes  tx_hash      = 12; // 32 bytes
//	}
//
// Records written before it are JSON (a Record as encoding/json writes it) and stay so:
// DecodeRecord reads both (a JSON record starts with '{', a stored one with field 1's
// tag). Clients see records as JSON either way (RecordJSON).

// Stored kinds.
const (
	storedDocument = 1
	storedBatch    = 2
)

var recordSpec = map[protowire.Number]txs.FieldSpec{
	1:  txs.Bytes("digest", DigestLen),
	2:  txs.Bytes("hash_algo", 16),
	3:  txs.Varint("kind"),
	4:  txs.Varint("count"),
	5:  txs.Bytes("label", MaxLabelBytes),
	6:  txs.RepeatedBytes("metadata", MaxMetaKeyBytes+MaxMetaValBytes+8),
	7:  txs.Bytes("submitter", crypto.AddressLen),
	8:  txs.Bytes("org", 256),
	9:  txs.Varint("height"),
	10: txs.Varint("time_seconds"),
	11: txs.Varint("time_nanos"),
	12: txs.Bytes("tx_hash", len(txs.Hash{})),
}

// encodeRecord returns the stored form of r written at block time t by transaction
// txHash (r.Time and r.TxHash are not read).
func encodeRecord(r *Record, t time.Time, txHash txs.Hash) ([]byte, error) {
	var kind uint64
	switch r.Kind {
	case KindDocument:
		kind = storedDocument
	case KindBatch:
		kind = storedBatch
	default:
		return nil, fmt.Errorf("encode evidence record: kind %q", r.Kind)
	}
	var e txs.Encoder
	e.BytesField(1, r.Digest)
	e.StringField(2, r.HashAlgo)
	e.Uint64Field(3, kind)
	e.Uint64Field(4, r.Count)
	e.StringField(5, r.Label)
	marshalEntries(&e, 6, r.Metadata)
	e.BytesField(7, r.Submitter[:])
	e.StringField(8, r.Org)
	e.Uint64Field(9, uint64(r.Height))
	e.Uint64Field(10, uint64(t.Unix()))
	e.Uint64Field(11, uint64(t.Nanosecond()))
	e.BytesField(12, txHash[:])
	return e.Bytes(), nil
}

// Marshal returns the stored form of r. Its Time must be RFC 3339 UTC and its TxHash
// upper-case hex, as the chain writes them, so that the stored form decodes back to r.
func (r *Record) Marshal() ([]byte, error) {
	t, err := time.Parse(time.RFC3339Nano, r.Time)
	if err != nil || t.UTC().Format(time.RFC3339Nano) != r.Time {
		return nil, fmt.Errorf("encode evidence record: time %q is not RFC 3339 UTC as the chain writes it", r.Time)
	}
	h, err := txs.ParseHash(r.TxHash)
	if err != nil || h.String() != r.TxHash {
		return nil, fmt.Errorf("encode evidence record: tx hash %q is not upper-case hex", r.TxHash)
	}
	return encodeRecord(r, t, h)
}

// DecodeRecord decodes a stored record: the protobuf stored form, or JSON for records
// written before it.
func DecodeRecord(b []byte) (*Record, error) {
	if len(b) > 0 && b[0] == '{' {
		var r Record
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("decode evidence record: %w", err)
		}
		return &r, nil
	}
	r, err := decodeStored(b)
	if err != nil {
		return nil, fmt.Errorf("decode evidence record: %w", err)
	}
	return r, nil
}

func decodeStored(b []byte) (*Record, error) {
	fields, err := txs.ParseFields(b, recordSpec)
	if err != nil {
		return nil, err
	}
	r := &Record{}
	var sec, nsec uint64
	var hash txs.Hash
	var haveDigest, haveSubmitter, haveHash bool
	for _, f := range fields {
		switch f.Num {
		case 1:
			if len(f.Bytes) != DigestLen {
				return nil, fmt.Errorf("digest is %d bytes, expected %d", len(f.Bytes), DigestLen)
			}
			r.Digest, haveDigest = bytes.Clone(f.Bytes), true
		case 2:
			r.HashAlgo, err = f.Str("hash_algo")
		case 3:
			switch f.Varint {
			case storedDocument:
				r.Kind = KindDocument
			case storedBatch:
				r.Kind = KindBatch
			default:
				return nil, fmt.Errorf("unknown kind %d", f.Varint)
			}
		case 4:
			r.Count = f.Varint
		case 5:
			r.Label, err = f.Str("label")
		case 6:
			err = addEntry(&r.Metadata, f.Bytes)
		case 7:
			if len(f.Bytes) != crypto.AddressLen {
				return nil, fmt.Errorf("submitter is %d bytes, expected %d", len(f.Bytes), crypto.AddressLen)
			}
			copy(r.Submitter[:], f.Bytes)
			haveSubmitter = true
		case 8:
			r.Org, err = f.Str("org")
		case 9:
			r.Height = int64(f.Varint)
		case 10:
			sec = f.Varint
		case 11:
			if f.Varint >= uint64(time.Second) {
				return nil, fmt.Errorf("time_nanos %d out of range", f.Varint)
			}
			nsec = f.Varint
		case 12:
			if len(f.Bytes) != len(hash) {
				return nil, fmt.Errorf("tx_hash is %d bytes, expected %d", len(f.Bytes), len(hash))
			}
			copy(hash[:], f.Bytes)
			haveHash = true
		}
		if err != nil {
			return nil, err
		}
	}
	if !haveDigest || r.Kind == "" || !haveSubmitter || !haveHash {
		return nil, fmt.Errorf("digest, kind, submitter or tx_hash missing")
	}
	// A block time is within RFC 3339's years; anything else could not be shown.
	t := time.Unix(int64(sec), int64(nsec)).UTC()
	if sec > math.MaxInt64 || t.Year() > 9999 {
		return nil, fmt.Errorf("time_seconds %d is past the year 9999", sec)
	}
	r.Time = t.Format(time.RFC3339Nano)
	r.TxHash = hash.String()
	return r, nil
}

// RecordJSON returns a stored record as clients see it: the JSON of its Record. A record
// stored as JSON is returned as it is stored.
func RecordJSON(b []byte) (json.RawMessage, error) {
	r, err := DecodeRecord(b)
	if err != nil {
		return nil, err
	}
	if b[0] == '{' {
		return b, nil
	}
	out, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode evidence record: %w", err)
	}
	return out, nil
}
