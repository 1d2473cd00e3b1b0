package message

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/lianchain/lian/store"
)

// CheckInvariants implements modules.InvariantChecker. It reads every key of the
// module's prefix and reports, naming the key:
//
// Sent messages (out/<route>/<sequence>):
//   - a value that does not decode, or is of another route or sequence; sequence 0;
//   - an invalid handler name, a payload hash that is not 32 bytes, a height below 1;
//   - a status other than sent, delivered, refused and timed_out; a refused message
//     without the error it was refused with, or another with an error.
//
// Delivered messages (in/<handler>/<route>/<sequence>):
//   - a value that does not decode, or is of another handler, route or sequence;
//     sequence 0; an invalid handler name;
//   - no sending chain, a height below 1, a time that is not RFC 3339;
//   - a message (route and sequence) delivered to more than one handler: a packet is
//     received once.
//
// Any other key is reported as unknown.
func (m *Module) CheckInvariants(kv store.Reader) error {
	var v violations
	delivered := map[string]string{} // route/sequence -> first key delivering it
	kv.Iterate(nil, nil, func(k, val []byte) bool {
		switch {
		case bytes.HasPrefix(k, []byte("out/")):
			checkSent(&v, k, val)
		case bytes.HasPrefix(k, []byte("in/")):
			checkDelivered(&v, delivered, k, val)
		default:
			v.add(k, "%q: unknown key", k)
		}
		return true
	})
	return v.err()
}

// routeSeq splits "<route>/<sequence BE8>", the end of a message's key.
func routeSeq(rest []byte) (string, uint64, bool) {
	if len(rest) < 10 || rest[len(rest)-9] != '/' || bytes.IndexByte(rest[:len(rest)-9], '/') >= 0 {
		return "", 0, false
	}
	return string(rest[:len(rest)-9]), binary.BigEndian.Uint64(rest[len(rest)-8:]), true
}

func checkSent(v *violations, k, val []byte) {
	route, seq, ok := routeSeq(k[len("out/"):])
	if !ok {
		v.add(k, "%q: unknown key (expected out/<route>/<8-byte sequence>)", k)
		return
	}
	name := fmt.Sprintf("out/%s/%d", route, seq)
	if seq == 0 {
		v.add(k, "%s: sequence 0 (sequences start at 1)", name)
	}
	var s Sent
	if err := json.Unmarshal(val, &s); err != nil {
		v.add(k, "%s: sent message does not decode: %v", name, err)
		return
	}
	if s.Route != route || s.Sequence != seq {
		v.add(k, "%s: the message is %s/%d", name, s.Route, s.Sequence)
	}
	if !validHandler(s.Handler) {
		v.add(k, "%s: handler %q is not a valid name", name, s.Handler)
	}
	if len(s.PayloadHash) != 32 || s.Height < 1 {
		v.add(k, "%s: payload hash of %d bytes, height %d", name, len(s.PayloadHash), s.Height)
	}
	switch s.Status {
	case StatusSent, StatusDelivered, StatusRefused, StatusTimedOut:
		if (s.Status == StatusRefused) != (s.Error != "") {
			v.add(k, "%s: %s, with error %q", name, s.Status, s.Error)
		}
	default:
		v.add(k, "%s: unknown status %q", name, s.Status)
	}
}

func checkDelivered(v *violations, delivered map[string]string, k, val []byte) {
	rest := k[len("in/"):]
	i := bytes.IndexByte(rest, '/')
	var route string
	var seq uint64
	ok := i > 0
	if ok {
		route, seq, ok = routeSeq(rest[i+1:])
	}
	if !ok {
		v.add(k, "%q: unknown key (expected in/<handler>/<route>/<8-byte sequence>)", k)
		return
	}
	handler := string(rest[:i])
	name := fmt.Sprintf("in/%s/%s/%d", handler, route, seq)
	if seq == 0 {
		v.add(k, "%s: sequence 0 (sequences start at 1)", name)
	}
	if !validHandler(handler) {
		v.add(k, "%s: handler %q is not a valid name", name, handler)
	}
	id := fmt.Sprintf("%s/%d", route, seq)
	if first, dup := delivered[id]; dup {
		v.add(k, "%s: message %s delivered to handlers twice, also at %s", name, id, first)
	} else {
		delivered[id] = name
	}
	var d Delivered
	if err := json.Unmarshal(val, &d); err != nil {
		v.add(k, "%s: delivered message does not decode: %v", name, err)
		return
	}
	if d.Handler != handler || d.Route != route || d.Sequence != seq {
		v.add(k, "%s: the message is to handler %q, %s/%d", name, d.Handler, d.Route, d.Sequence)
	}
	if d.ChainID == "" || d.Height < 1 {
		v.add(k, "%s: chain id %q, height %d", name, d.ChainID, d.Height)
	}
	if _, err := time.Parse(time.RFC3339Nano, d.Time); err != nil {
		v.add(k, "%s: time %q is not RFC 3339", name, d.Time)
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
