package evidence

import (
	"fmt"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/txs"
)

// Type URLs.
const (
	TypeAnchor      = "/lian.evidence.v1.MsgAnchor"
	TypeAnchorBatch = "/lian.evidence.v1.MsgAnchorBatch"
)

// Limits.
const (
	DigestLen       = 32
	MaxLabelBytes   = 128
	MaxMetadata     = 16
	MaxMetaKeyBytes = 64
	MaxMetaValBytes = 256
	MaxBatchCount   = 1 << 20
	HashSHA256      = "sha256"
	HashSM3         = "sm3"
)

// Entry is one metadata pair (proto lian.evidence.v1.Entry { string key = 1; string value = 2; }).
type Entry struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// MsgAnchor anchors one document digest (proto lian.evidence.v1.MsgAnchor):
//
//	message MsgAnchor {
//	  bytes  digest    = 1; // 32 bytes
//	  string hash_algo = 2; // "sha256" or "sm3"
//	  string label     = 3;
//	  repeated Entry metadata = 4;
//	}
type MsgAnchor struct {
	Digest   []byte
	HashAlgo string
	Label    string
	Metadata []Entry
}

// MsgAnchorBatch anchors the Merkle root of Count document digests
// (proto lian.evidence.v1.MsgAnchorBatch):
//
//	message MsgAnchorBatch {
//	  bytes  root      = 1; // BatchRoot of the documents' digests, 32 bytes
//	  string hash_algo = 2; // algorithm of the document digests: "sha256" or "sm3"
//	  uint64 count     = 3; // number of documents
//	  string label     = 4;
//	  repeated Entry metadata = 5;
//	}
type MsgAnchorBatch struct {
	Root     []byte
	HashAlgo string
	Count    uint64
	Label    string
	Metadata []Entry
}

// TypeURL implements txs.Msg.
func (*MsgAnchor) TypeURL() string { return TypeAnchor }

// TypeURL implements txs.Msg.
func (*MsgAnchorBatch) TypeURL() string { return TypeAnchorBatch }

func marshalEntries(e *txs.Encoder, num protowire.Number, md []Entry) {
	for _, m := range md {
		var x txs.Encoder
		x.StringField(1, m.Key)
		x.StringField(2, m.Value)
		e.MessageField(num, x.Bytes())
	}
}

// Marshal implements txs.Msg.
func (m *MsgAnchor) Marshal() []byte {
	var e txs.Encoder
	e.BytesField(1, m.Digest)
	e.StringField(2, m.HashAlgo)
	e.StringField(3, m.Label)
	marshalEntries(&e, 4, m.Metadata)
	return e.Bytes()
}

// Marshal implements txs.Msg.
func (m *MsgAnchorBatch) Marshal() []byte {
	var e txs.Encoder
	e.BytesField(1, m.Root)
	e.StringField(2, m.HashAlgo)
	e.Uint64Field(3, m.Count)
	e.StringField(4, m.Label)
	marshalEntries(&e, 5, m.Metadata)
	return e.Bytes()
}

func validateCommon(what string, digest []byte, algo, label string, md []Entry) error {
	if len(digest) != DigestLen {
		return errcode.New(errcode.InvalidMessage, "%s: digest is %d bytes, expected %d", what, len(digest), DigestLen)
	}
	if algo != HashSHA256 && algo != HashSM3 {
		return errcode.New(errcode.InvalidMessage, "%s: hash_algo %q: expected %q or %q", what, algo, HashSHA256, HashSM3)
	}
	if len(label) > MaxLabelBytes {
		return errcode.New(errcode.InvalidMessage, "%s: label is %d bytes, at most %d allowed", what, len(label), MaxLabelBytes)
	}
	if len(md) > MaxMetadata {
		return errcode.New(errcode.InvalidMessage, "%s: %d metadata entries, at most %d allowed", what, len(md), MaxMetadata)
	}
	seen := map[string]bool{}
	for _, e := range md {
		switch {
		case e.Key == "" || len(e.Key) > MaxMetaKeyBytes:
			return errcode.New(errcode.InvalidMessage, "%s: metadata key %q: expected 1-%d bytes", what, e.Key, MaxMetaKeyBytes)
		case len(e.Value) > MaxMetaValBytes:
			return errcode.New(errcode.InvalidMessage, "%s: metadata %q value is %d bytes, at most %d allowed", what, e.Key, len(e.Value), MaxMetaValBytes)
		case seen[e.Key]:
			return errcode.New(errcode.InvalidMessage, "%s: metadata key %q listed twice", what, e.Key)
		}
		seen[e.Key] = true
	}
	return nil
}

// ValidateBasic implements txs.Msg.
func (m *MsgAnchor) ValidateBasic() error {
	return validateCommon("anchor", m.Digest, m.HashAlgo, m.Label, m.Metadata)
}

// ValidateBasic implements txs.Msg.
func (m *MsgAnchorBatch) ValidateBasic() error {
	if err := validateCommon("anchor batch", m.Root, m.HashAlgo, m.Label, m.Metadata); err != nil {
		return err
	}
	if m.Count == 0 || m.Count > MaxBatchCount {
		return errcode.New(errcode.InvalidMessage, "anchor batch: count %d: expected 1 to %d documents", m.Count, MaxBatchCount)
	}
	return nil
}

var entrySpec = map[protowire.Number]txs.FieldSpec{
	1: txs.Bytes("key", MaxMetaKeyBytes),
	2: txs.Bytes("value", MaxMetaValBytes),
}

func decodeEntry(b []byte) (Entry, error) {
	fields, err := txs.ParseFields(b, entrySpec)
	if err != nil {
		return Entry{}, fmt.Errorf("metadata entry: %w", err)
	}
	var e Entry
	for _, f := range fields {
		if !utf8.Valid(f.Bytes) {
			return Entry{}, fmt.Errorf("metadata entry is not valid UTF-8")
		}
		if f.Num == 1 {
			e.Key = string(f.Bytes)
		} else {
			e.Value = string(f.Bytes)
		}
	}
	return e, nil
}

// addEntry decodes a metadata entry and appends it to md, refusing more than MaxMetadata.
func addEntry(md *[]Entry, b []byte) error {
	if len(*md) == MaxMetadata {
		return fmt.Errorf("more than %d metadata entries", MaxMetadata)
	}
	e, err := decodeEntry(b)
	if err != nil {
		return err
	}
	*md = append(*md, e)
	return nil
}

var anchorSpec = map[protowire.Number]txs.FieldSpec{
	1: txs.Bytes("digest", 64),
	2: txs.Bytes("hash_algo", 16),
	3: txs.Bytes("label", MaxLabelBytes),
	4: txs.RepeatedBytes("metadata", MaxMetaKeyBytes+MaxMetaValBytes+8),
}

var batchSpec = map[protowire.Number]txs.FieldSpec{
	1: txs.Bytes("root", 64),
	2: txs.Bytes("hash_algo", 16),
	3: txs.Varint("count"),
	4: txs.Bytes("label", MaxLabelBytes),
	5: txs.RepeatedBytes("metadata", MaxMetaKeyBytes+MaxMetaValBytes+8),
}

// DecodeAnchor decodes a MsgAnchor.
func DecodeAnchor(b []byte) (txs.Msg, error) {
	m := &MsgAnchor{}
	err := txs.DecodeMsg(TypeAnchor, b, anchorSpec, func(f txs.Field) error {
		var err error
		switch f.Num {
		case 1:
			m.Digest = f.Bytes
		case 2:
			m.HashAlgo, err = f.Str("hash_algo")
		case 3:
			m.Label, err = f.Str("label")
		case 4:
			err = addEntry(&m.Metadata, f.Bytes)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// DecodeAnchorBatch decodes a MsgAnchorBatch.
func DecodeAnchorBatch(b []byte) (txs.Msg, error) {
	m := &MsgAnchorBatch{}
	err := txs.DecodeMsg(TypeAnchorBatch, b, batchSpec, func(f txs.Field) error {
		var err error
		switch f.Num {
		case 1:
			m.Root = f.Bytes
		case 2:
			m.HashAlgo, err = f.Str("hash_algo")
		case 3:
			m.Count = f.Varint
		case 4:
			m.Label, err = f.Str("label")
		case 5:
			err = addEntry(&m.Metadata, f.Bytes)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}
