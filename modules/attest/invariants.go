package attest

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/lianchain/lian/modules"
	"github.com/lianchain/lian/modules/evidence"
	"github.com/lianchain/lian/store"
)

// CheckInvariants implements modules.InvariantChecker. It reads every key of the
// module's prefix and reports, naming the key:
//
// Requests (req/<route>/<sequence>):
//   - a value that does not decode, or is of another route or sequence; sequence 0;
//   - a status other than pending, answered, failed and timed_out;
//   - a digest that is not 32 bytes, no chain id, a height below 1, a time that is not
//     RFC 3339;
//   - a pending request with a settled height or an error; a settled one (answered,
//     failed, timed out: stored so by earlier versions; requests are now stored once,
//     pending, their status being their packet's outcome) settled before its height; a
//     failed one without an error, or another with one;
//   - an answered request with no attestation of its chain and digest (an answer is
//     always stored, or kept if the one stored was given at a higher height).
//
// Attestations (att/<chain id>/<digest>):
//   - a value that does not decode, or is of another chain or digest;
//   - found without a record, or a record without found; a record of another digest;
//   - a height or proof height below 1, a time that is not RFC 3339;
//   - no request at its route and sequence, or one of another chain, digest or
//     requester, or one stored as failed or timed out, or as answered at another height
//     than the attestation's.
//
// Any other key is reported as unknown.
func (m *Module) CheckInvariants(kv store.Reader) error {
	c := &checker{attested: map[string]bool{}, refs: map[string][]attRef{}}
	kv.Iterate(nil, nil, func(k, v []byte) bool {
		switch {
		case bytes.HasPrefix(k, []byte("att/")):
			c.attestation(k, v)
		case bytes.HasPrefix(k, []byte("req/")):
			c.request(k, v)
		default:
			c.v.Add(k, "%q: unknown key", k)
		}
		return true
	})
	for _, rk := range slices.Sorted(maps.Keys(c.refs)) {
		for _, a := range c.refs[rk] {
			c.v.Add(a.key, "%s: no request %s/%d", a.name, a.att.Route, a.att.Sequence)
		}
	}
	return c.v.Err()
}

// attRef is an attestation waiting for its request to be read (att/ sorts before req/).
type attRef struct {
	key  []byte
	name string
	att  *Attestation
}

type checker struct {
	v modules.Violations
	// attested holds the keys of the attestations read; refs the attestations by the
	// key of their request.
	attested map[string]bool
	refs     map[string][]attRef
}

func (c *checker) attestation(k, v []byte) {
	rest := k[len("att/"):]
	if len(rest) < evidence.DigestLen+2 || rest[len(rest)-evidence.DigestLen-1] != '/' {
		c.v.Add(k, "%q: unknown key (expected att/<chain id>/<%d-byte digest>)", k, evidence.DigestLen)
		return
	}
	chain, digest := string(rest[:len(rest)-evidence.DigestLen-1]), rest[len(rest)-evidence.DigestLen:]
	name := fmt.Sprintf("att/%s/%X", chain, digest)
	c.attested[string(k)] = true
	var a Attestation
	if err := json.Unmarshal(v, &a); err != nil {
		c.v.Add(k, "%s: attestation does not decode: %v", name, err)
		return
	}
	if a.ChainID != chain || !bytes.Equal(a.Digest, digest) {
		c.v.Add(k, "%s: the attestation is of chain %q, digest %X", name, a.ChainID, []byte(a.Digest))
	}
	if a.Found != (a.Record != nil) {
		c.v.Add(k, "%s: found is %t, with a record: %t", name, a.Found, a.Record != nil)
	}
	if a.Record != nil && !bytes.Equal(a.Record.Digest, a.Digest) {
		c.v.Add(k, "%s: the record is of digest %X", name, []byte(a.Record.Digest))
	}
	if a.Height < 1 || a.ProofHeight < 1 {
		c.v.Add(k, "%s: height %d, proof height %d", name, a.Height, a.ProofHeight)
	}
	if !rfc3339(a.Time) {
		c.v.Add(k, "%s: time %q is not RFC 3339", name, a.Time)
	}
	rk := string(requestKey(a.Route, a.Sequence))
	c.refs[rk] = append(c.refs[rk], attRef{key: bytes.Clone(k), name: name, att: &a})
}

func (c *checker) request(k, v []byte) {
	rest := k[len("req/"):]
	if len(rest) < 10 || rest[len(rest)-9] != '/' || bytes.IndexByte(rest[:len(rest)-9], '/') >= 0 {
		c.v.Add(k, "%q: unknown key (expected req/<route>/<8-byte sequence>)", k)
		return
	}
	route, seq := string(rest[:len(rest)-9]), binary.BigEndian.Uint64(rest[len(rest)-8:])
	name := fmt.Sprintf("req/%s/%d", route, seq)
	refs := c.refs[string(k)]
	delete(c.refs, string(k))
	if seq == 0 {
		c.v.Add(k, "%s: sequence 0 (sequences start at 1)", name)
	}
	var r Request
	if err := json.Unmarshal(v, &r); err != nil {
		c.v.Add(k, "%s: request does not decode: %v", name, err)
		for _, a := range refs {
			c.v.Add(a.key, "%s: its request %s does not decode", a.name, name)
		}
		return
	}
	if r.Route != route || r.Sequence != seq {
		c.v.Add(k, "%s: the request is %s/%d", name, r.Route, r.Sequence)
	}
	if len(r.Digest) != evidence.DigestLen || r.ChainID == "" || r.Height < 1 {
		c.v.Add(k, "%s: digest of %d bytes, chain id %q, height %d", name, len(r.Digest), r.ChainID, r.Height)
	}
	if !rfc3339(r.Time) {
		c.v.Add(k, "%s: time %q is not RFC 3339", name, r.Time)
	}
	switch r.Status {
	case StatusPending:
		if r.SettledHeight != 0 || r.Error != "" {
			c.v.Add(k, "%s: pending, with settled height %d and error %q", name, r.SettledHeight, r.Error)
		}
	case StatusAnswered, StatusFailed, StatusTimedOut:
		if r.SettledHeight < r.Height || r.SettledHeight < 1 {
			c.v.Add(k, "%s: %s at height %d, requested at %d", name, r.Status, r.SettledHeight, r.Height)
		}
		if (r.Status == StatusFailed) != (r.Error != "") {
			c.v.Add(k, "%s: %s, with error %q", name, r.Status, r.Error)
		}
	default:
		c.v.Add(k, "%s: unknown status %q", name, r.Status)
	}
	if r.Status == StatusAnswered && !c.attested[string(AttestationKey(r.ChainID, r.Digest))] {
		c.v.Add(k, "%s: answered, and no attestation of %X from %s is stored", name, []byte(r.Digest), r.ChainID)
	}
	for _, a := range refs {
		agrees := r.Status == StatusPending || r.Status == StatusAnswered && r.SettledHeight == a.att.Height
		if !agrees || r.ChainID != a.att.ChainID || !bytes.Equal(r.Digest, a.att.Digest) || r.Requester != a.att.Requester {
			c.v.Add(a.key, "%s: its request %s is %s, of %X from %s by %s, settled at height %d, the attestation is of height %d",
				a.name, name, r.Status, []byte(r.Digest), r.ChainID, r.Requester, r.SettledHeight, a.att.Height)
		}
	}
}

func rfc3339(s string) bool {
	_, err := time.Parse(time.RFC3339Nano, s)
	return err == nil
}
