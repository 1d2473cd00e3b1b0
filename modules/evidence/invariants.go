package evidence

import (
	"bytes"
	"fmt"
	"time"

	"github.com/lianchain/lian/modules"
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
	var v modules.Violations
	kv.Iterate(nil, nil, func(k, val []byte) bool {
		checkRecord(&v, k, val)
		return true
	})
	return v.Err()
}

func checkRecord(v *modules.Violations, k, val []byte) {
	digest, ok := bytes.CutPrefix(k, []byte("d/"))
	if !ok || len(digest) != DigestLen {
		v.Add(k, "%q: unknown key (expected d/<%d-byte digest>)", k, DigestLen)
		return
	}
	name := fmt.Sprintf("d/%X", digest)
	if bytes.Equal(val, pendingMark) {
		v.Add(k, "%s: the CheckTx pending mark is in committed state", name)
		return
	}
	r, err := DecodeRecord(val)
	if err != nil {
		v.Add(k, "%s: %v", name, err)
		return
	}
	if !bytes.Equal(r.Digest, digest) {
		v.Add(k, "%s: the record is of digest %X", name, []byte(r.Digest))
	}
	if err := validateCommon("record", r.Digest, r.HashAlgo, r.Label, r.Metadata); err != nil {
		v.Add(k, "%s: %v", name, err)
	}
	switch r.Kind {
	case KindDocument:
		if r.Count != 0 {
			v.Add(k, "%s: a document record with count %d", name, r.Count)
		}
	case KindBatch:
		if r.Count == 0 || r.Count > MaxBatchCount {
			v.Add(k, "%s: a batch record with count %d, expected 1 to %d", name, r.Count, MaxBatchCount)
		}
	default:
		v.Add(k, "%s: unknown kind %q", name, r.Kind)
	}
	if r.Height < 1 {
		v.Add(k, "%s: height %d, expected a block height (at least 1)", name, r.Height)
	}
	if _, err := time.Parse(time.RFC3339Nano, r.Time); err != nil {
		v.Add(k, "%s: time %q is not RFC 3339", name, r.Time)
	}
}
