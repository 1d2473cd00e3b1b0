package txs

import (
	"fmt"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/lianchain/lian/errcode"
)

// Encoder appends protobuf fields in field-number order. Zero values are omitted, as
// proto3 does, so one message has exactly one encoding.
type Encoder struct{ b []byte }

// Bytes returns the encoded message.
func (e *Encoder) Bytes() []byte { return e.b }

// BytesField appends a length-delimited field unless v is empty.
func (e *Encoder) BytesField(num protowire.Number, v []byte) {
	if len(v) == 0 {
		return
	}
	e.b = protowire.AppendTag(e.b, num, protowire.BytesType)
	e.b = protowire.AppendBytes(e.b, v)
}

// StringField appends a string field unless v is empty.
func (e *Encoder) StringField(num protowire.Number, v string) {
	if v == "" {
		return
	}
	e.b = protowire.AppendTag(e.b, num, protowire.BytesType)
	e.b = protowire.AppendString(e.b, v)
}

// RepeatedString appends one field per element, empty elements included.
func (e *Encoder) RepeatedString(num protowire.Number, vs []string) {
	for _, v := range vs {
		e.b = protowire.AppendTag(e.b, num, protowire.BytesType)
		e.b = protowire.AppendString(e.b, v)
	}
}

// MessageField appends an embedded message (always, even if empty, so repeated
// messages keep their count).
func (e *Encoder) MessageField(num protowire.Number, v []byte) {
	e.b = protowire.AppendTag(e.b, num, protowire.BytesType)
	e.b = protowire.AppendBytes(e.b, v)
}

// Uint64Field appends a varint field unless v is zero.
func (e *Encoder) Uint64Field(num protowire.Number, v uint64) {
	if v == 0 {
		return
	}
	e.b = protowire.AppendTag(e.b, num, protowire.VarintType)
	e.b = protowire.AppendVarint(e.b, v)
}

// Field is one decoded field: a varint or a length-delimited value.
type Field struct {
	Num    protowire.Number
	Type   protowire.Type
	Varint uint64
	Bytes  []byte
}

// Str returns the field as a UTF-8 string or an error.
func (f Field) Str(name string) (string, error) {
	if !utf8.Valid(f.Bytes) {
		return "", fmt.Errorf("field %s is not valid UTF-8", name)
	}
	return string(f.Bytes), nil
}

// ParseFields splits b into fields, strictly: only varint and length-delimited wire
// types, field numbers in spec (each with its wire type), no repeats of a field not
// marked repeated, no unknown fields. Returned byte slices alias b.
func ParseFields(b []byte, spec map[protowire.Number]FieldSpec) ([]Field, error) {
	var fields []Field
	seen := make(map[protowire.Number]bool, len(spec))
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, fmt.Errorf("bad field tag: %w", protowire.ParseError(n))
		}
		b = b[n:]
		fs, ok := spec[num]
		if !ok {
			return nil, fmt.Errorf("unknown field number %d", num)
		}
		if typ != fs.Type {
			return nil, fmt.Errorf("field %s: wire type %d, expected %d", fs.Name, typ, fs.Type)
		}
		if seen[num] && !fs.Repeated {
			return nil, fmt.Errorf("field %s appears more than once", fs.Name)
		}
		seen[num] = true
		f := Field{Num: num, Type: typ}
		switch typ {
		case protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return nil, fmt.Errorf("field %s: %w", fs.Name, protowire.ParseError(n))
			}
			f.Varint = v
			b = b[n:]
		case protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return nil, fmt.Errorf("field %s: %w", fs.Name, protowire.ParseError(n))
			}
			if fs.Max > 0 && len(v) > fs.Max {
				return nil, fmt.Errorf("field %s is %d bytes, at most %d allowed", fs.Name, len(v), fs.Max)
			}
			f.Bytes = v
			b = b[n:]
		default:
			return nil, fmt.Errorf("field %s: unsupported wire type %d", fs.Name, typ)
		}
		fields = append(fields, f)
	}
	return fields, nil
}

// FieldSpec describes one field a decoder accepts.
type FieldSpec struct {
	Name     string
	Type     protowire.Type
	Repeated bool
	Max      int // maximum length of a length-delimited field; 0 means no limit beyond the input's
}

// Bytes, Varint and String are shorthands for FieldSpec values.
func Bytes(name string, max int) FieldSpec {
	return FieldSpec{Name: name, Type: protowire.BytesType, Max: max}
}

// Varint describes a singular varint field.
func Varint(name string) FieldSpec { return FieldSpec{Name: name, Type: protowire.VarintType} }

// RepeatedBytes describes a repeated length-delimited field.
func RepeatedBytes(name string, max int) FieldSpec {
	return FieldSpec{Name: name, Type: protowire.BytesType, Repeated: true, Max: max}
}

// DecodeMsg parses a message of type typ by spec and hands each field to set; any
// failure is errcode.TxMalformed naming the type. Message decoders are built on it.
func DecodeMsg(typ string, b []byte, spec map[protowire.Number]FieldSpec, set func(f Field) error) error {
	fields, err := ParseFields(b, spec)
	if err != nil {
		return errcode.New(errcode.TxMalformed, "decode %s: %v", typ, err)
	}
	for _, f := range fields {
		if err := set(f); err != nil {
			return errcode.New(errcode.TxMalformed, "decode %s: %v", typ, err)
		}
	}
	return nil
}
