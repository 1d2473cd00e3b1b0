package evidence

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/lianchain/lian/store"
)

// CheckInvariants implements modules.InvariantChecker. It reads every key of the
// module's prefix and reports, naming the key:
//
//   - a key that is not d/<32-byte digest> (the only key the module writes);
//   - the CheckTx-only pending mark: CheckTx writes it in the check state, which is
//     never committed;
//   - a value DecodeRecord refuses;
//   - a record whose digest is not the one of its key;
//   - a record that fails what the handlers check before storing one (digest length,
//     hash algorithm, label and metadata limits);
//   - a kind other than document or batch, a document with a count, a batch whose
//     count is not 1 to MaxBatchCount;
//   - a height below 1 (records are written by transactions, in blocks) or a time that
//     is not RFC 3339 (the stored form always decodes to one; a JSON record might not).
func (m *Module) CheckInvariants(kv store.Reader) error {
	var v violations
	kv.Iterate(nil, nil, func(k, val []byte) bool {
		checkRecord(&v, k, val)
		return true
	})
	return v.err()
}

func checkRecord(v *violations, k, val []byte) {
	digest, ok := bytes.CutPrefix(k, []byte("d/"))
	if !ok || len(digest) != DigestLen {
		v.add(k, "%q: unknown key (expected d/<%d-byte digest>)", k, DigestLen)
		return
	}
	name := fmt.Sprintf("d/%X", digest)
	if bytes.Equal(val, pendingMark) {
		v.add(k, "%s: the CheckTx pending mark is in committed state", name)
		return
	}
	r, err := DecodeRecord(val)
	if err != nil {
		v.add(k, "%s: %v", name, err)
		return
	}
	if !bytes.Equal(r.Digest, digest) {
		v.add(k, "%s: the record is of digest %X", name, []byte(r.Digest))
	}
	if err := validateCommon("record", r.Digest, r.HashAlgo, r.Label, r.Metadata); err != nil {
		v.add(k, "%s: %v", name, err)
	}
	switch r.Kind {
	case KindDocument:
		if r.Count != 0 {
			v.add(k, "%s: a document record with count %d", name, r.Count)
		}
	case KindBatch:
		if r.Count == 0 || r.Count > MaxBatchCount {
			v.add(k, "%s: a batch record with count %d, expected 1 to %d", name, r.Count, MaxBatchCount)
		}
	default:
		v.add(k, "%s: unknown kind %q", name, r.Kind)
	}
	if r.Height < 1 {
		v.add(k, "%s: height %d, expected a block height (at least 1)", name, r.Height)
	}
	if _, err := time.Parse(time.RFC3339Nano, r.Time); err != nil {
		v.add(k, "%s: time %q is not RFC 3339", name, r.Time)
	}
}

// violations collects what CheckInvariants finds broken.
type violations []violation

type violation struct {
	key []byte
	msg string
}

// maxViolations caps the violations an error lists.
const maxViolations = 20

func (v *violations) add(key []byte, format string, args ...any) {
	*v = append(*v, violation{key: bytes.Clone(key), msg: fmt.Sprintf(format, args...)})
}

// err returns the violations, by key, at most maxViolations of them, or nil.
func (v violations) err() error {
	if len(v) == 0 {
		return nil
	}
	sort.SliceStable(v, func(i, j int) bool { return bytes.Compare(v[i].key, v[j].key) < 0 })
	n := min(len(v), maxViolations)
	errs := make([]error, 0, n+1)
	for _, x := range v[:n] {
		errs = append(errs, errors.New(x.msg))
	}
	if len(v) > n {
		errs = append(errs, fmt.Errorf("… and %d more", len(v)-n))
	}
	return errors.Join(errs...)
}
