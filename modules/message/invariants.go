package message

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lianchain/lian/modules"
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
	var v modules.Violations
	delivered := map[string]string{} // route/sequence -> first key delivering it
	kv.Iterate(nil, nil, func(k, val []byte) bool {
		switch {
		case bytes.HasPrefix(k, []byte("out/")):
			checkSent(&v, k, val)
		case bytes.HasPrefix(k, []byte("in/")):
			checkDelivered(&v, delivered, k, val)
		default:
			v.Add(k, "%q: unknown key", k)
		}
		return true
	})
	return v.Err()
}

// routeSeq splits "<route>/<sequence BE8>", the end of a message's key.
func routeSeq(rest []byte) (string, uint64, bool) {
	if len(rest) < 10 || rest[len(rest)-9] != '/' || bytes.IndexByte(rest[:len(rest)-9], '/') >= 0 {
		return "", 0, false
	}
	return string(rest[:len(rest)-9]), binary.BigEndian.Uint64(rest[len(rest)-8:]), true
}

func checkSent(v *modules.Violations, k, val []byte) {
	route, seq, ok := routeSeq(k[len("out/"):])
	if !ok {
		v.Add(k, "%q: unknown key (expected out/<route>/<8-byte sequence>)", k)
		return
	}
	name := fmt.Sprintf("out/%s/%d", route, seq)
	if seq == 0 {
		v.Add(k, "%s: sequence 0 (sequences start at 1)", name)
	}
	var s Sent
	if err := json.Unmarshal(val, &s); err != nil {
		v.Add(k, "%s: sent message does not decode: %v", name, err)
		return
	}
	if s.Route != route || s.Sequence != seq {
		v.Add(k, "%s: the message is %s/%d", name, s.Route, s.Sequence)
	}
	if !validHandler(s.Handler) {
		v.Add(k, "%s: handler %q is not a valid name", name, s.Handler)
	}
	if len(s.PayloadHash) != 32 || s.Height < 1 {
		v.Add(k, "%s: payload hash of %d bytes, height %d", name, len(s.PayloadHash), s.Height)
	}
	switch s.Status {
	case StatusSent:
		if s.Error != "" || s.SettledHeight != 0 {
			v.Add(k, "%s: sent, with error %q and settled height %d", name, s.Error, s.SettledHeight)
		}
	case StatusDelivered, StatusRefused, StatusTimedOut: // stored so by earlier versions
		if (s.Status == StatusRefused) != (s.Error != "") {
			v.Add(k, "%s: %s, with error %q", name, s.Status, s.Error)
		}
	default:
		v.Add(k, "%s: unknown status %q", name, s.Status)
	}
}

func checkDelivered(v *modules.Violations, delivered map[string]string, k, val []byte) {
	rest := k[len("in/"):]
	i := bytes.IndexByte(rest, '/')
	var route string
	var seq uint64
	ok := i > 0
	if ok {
		route, seq, ok = routeSeq(rest[i+1:])
	}
	if !ok {
		v.Add(k, "%q: unknown key (expected in/<handler>/<route>/<8-byte sequence>)", k)
		return
	}
	handler := string(rest[:i])
	name := fmt.Sprintf("in/%s/%s/%d", handler, route, seq)
	if seq == 0 {
		v.Add(k, "%s: sequence 0 (sequences start at 1)", name)
	}
	if !validHandler(handler) {
		v.Add(k, "%s: handler %q is not a valid name", name, handler)
	}
	id := fmt.Sprintf("%s/%d", route, seq)
	if first, dup := delivered[id]; dup {
		v.Add(k, "%s: message %s delivered to handlers twice, also at %s", name, id, first)
	} else {
		delivered[id] = name
	}
	var d Delivered
	if err := json.Unmarshal(val, &d); err != nil {
		v.Add(k, "%s: delivered message does not decode: %v", name, err)
		return
	}
	if d.Handler != handler || d.Route != route || d.Sequence != seq {
		v.Add(k, "%s: the message is to handler %q, %s/%d", name, d.Handler, d.Route, d.Sequence)
	}
	if d.ChainID == "" || d.Height < 1 {
		v.Add(k, "%s: chain id %q, height %d", name, d.ChainID, d.Height)
	}
	if _, err := time.Parse(time.RFC3339Nano, d.Time); err != nil {
		v.Add(k, "%s: time %q is not RFC 3339", name, d.Time)
	}
}
