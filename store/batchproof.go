package store

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// MaxBatchKeys bounds the keys one batch proof query may ask for.
const MaxBatchKeys = 1000

// Proven is a key, its value at a version (nil if absent) and the ICS-23 proof of it
// (membership, or non-membership when the value is nil), encoded.
type Proven struct {
	Key, Value, Proof []byte
}

// ProveMany reads and proves keys at a version, loading the version's tree once (a
// relayer proves hundreds of packets at one height).
func (s *Store) ProveMany(keys [][]byte, version int64) ([]Proven, error) {
	if len(keys) > MaxBatchKeys {
		return nil, fmt.Errorf("prove: %d keys, at most %d allowed", len(keys), MaxBatchKeys)
	}
	if version <= 0 || !s.tree.VersionExists(version) {
		return nil, fmt.Errorf("%w: %d", ErrVersionNotFound, version)
	}
	t, err := s.tree.GetImmutable(version)
	if err != nil {
		return nil, fmt.Errorf("load state version %d: %w", version, err)
	}
	out := make([]Proven, len(keys))
	for i, k := range keys {
		v, err := t.Get(k)
		if err != nil {
			return nil, fmt.Errorf("read %x at version %d: %w", k, version, err)
		}
		p, err := t.GetProof(k)
		if err != nil {
			return nil, fmt.Errorf("prove %x at version %d: %w", k, version, err)
		}
		b, err := EncodeProof(p)
		if err != nil {
			return nil, err
		}
		out[i] = Proven{Key: k, Value: v, Proof: b}
	}
	return out, nil
}

// EncodeKeys encodes a key list (protobuf: repeated bytes keys = 1).
func EncodeKeys(keys [][]byte) []byte {
	var b []byte
	for _, k := range keys {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendBytes(b, k)
	}
	return b
}

// DecodeKeys decodes a key list, refusing more than MaxBatchKeys keys.
func DecodeKeys(b []byte) ([][]byte, error) {
	var keys [][]byte
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || num != 1 || typ != protowire.BytesType {
			return nil, fmt.Errorf("key list: expected repeated bytes field 1")
		}
		b = b[n:]
		k, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return nil, fmt.Errorf("key list: %w", protowire.ParseError(n))
		}
		b = b[n:]
		if len(keys) == MaxBatchKeys {
			return nil, fmt.Errorf("key list: more than %d keys", MaxBatchKeys)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// EncodeProven encodes proven keys (protobuf: repeated Entry entries = 1, Entry
// { bytes key = 1; bytes value = 2; bytes proof = 3; }).
func EncodeProven(list []Proven) []byte {
	var b []byte
	for _, p := range list {
		var e []byte
		e = protowire.AppendTag(e, 1, protowire.BytesType)
		e = protowire.AppendBytes(e, p.Key)
		if p.Value != nil {
			e = protowire.AppendTag(e, 2, protowire.BytesType)
			e = protowire.AppendBytes(e, p.Value)
		}
		e = protowire.AppendTag(e, 3, protowire.BytesType)
		e = protowire.AppendBytes(e, p.Proof)
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendBytes(b, e)
	}
	return b
}

// DecodeProven decodes what EncodeProven encoded. It does not verify the proofs.
func DecodeProven(b []byte) ([]Proven, error) {
	var out []Proven
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || num != 1 || typ != protowire.BytesType {
			return nil, fmt.Errorf("proven list: expected repeated entries, field 1")
		}
		b = b[n:]
		e, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return nil, fmt.Errorf("proven list: %w", protowire.ParseError(n))
		}
		b = b[n:]
		var p Proven
		for len(e) > 0 {
			num, typ, n := protowire.ConsumeTag(e)
			if n < 0 || typ != protowire.BytesType || num < 1 || num > 3 {
				return nil, fmt.Errorf("proven entry: bad field")
			}
			e = e[n:]
			v, n := protowire.ConsumeBytes(e)
			if n < 0 {
				return nil, fmt.Errorf("proven entry: %w", protowire.ParseError(n))
			}
			e = e[n:]
			switch num {
			case 1:
				p.Key = v
			case 2:
				p.Value = v
			case 3:
				p.Proof = v
			}
		}
		out = append(out, p)
	}
	return out, nil
}
