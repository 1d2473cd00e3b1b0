package xchain

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	cmtmath "github.com/cometbft/cometbft/libs/math"
	"github.com/cometbft/cometbft/light"

	"github.com/lianchain/lian/modules"
	"github.com/lianchain/lian/store"
)

// CheckInvariants implements modules.InvariantChecker. It reads the clients, routes and
// sequence counters, then every key of the module's prefix, and reports, naming the key:
//
// Clients (clients/<client>):
//   - a value that does not decode, or names another id;
//   - a latest height below 1, a trusting period that is not positive, an invalid trust
//     level;
//   - a frozen client without its frozen height and reason, or an active one with them;
//   - no consensus state at its latest height, or a number of consensus states other
//     than the one it keeps count of (pruning relies on the count).
//
// Consensus states (consensus/<client>/<height>):
//   - one of no client, at a height below 1 or above the client's latest height;
//   - a value that does not decode, or is of another height;
//   - a time not after the time of the client's consensus state just below it (a client
//     freezes rather than store headers out of order).
//
// Routes (routes/<route>):
//   - a value that does not decode, names another id, or has an invalid port,
//     client or counterparty id;
//   - a status other than open and closed; an open route with a closed height, a
//     closed one without one (or before its opened height);
//   - a client that does not exist, or a port no application is bound to.
//
// Sequence counters (seq/send|recv|ack/<route>):
//   - a value other than 8 bytes, or below 1;
//   - one of no route; a receive or acknowledge counter of an unordered route;
//   - on an ordered route, a next sequence to acknowledge past the next to send.
//
// Packets (commitments|acks|outcomes/<route>/<sequence>):
//   - one of no route, or of sequence 0;
//   - a commitment that is not 32 bytes, or at or past the route's next send sequence;
//     on an ordered route, a commitment below its next sequence to acknowledge
//     (acknowledgements there settle packets in order);
//   - an acknowledgement hash (also the packet's receipt) that is not 32 bytes, in
//     particular CheckTx's 1-byte receipt mark, never committed; on an ordered route,
//     one at or past the next receive sequence, or fewer receipts than packets
//     received (every sequence below the next receive sequence has one);
//   - an outcome that is CheckTx's 1-byte mark, does not decode, is neither
//     acknowledged nor timed out, has an acknowledgement error without being
//     acknowledged, or heights below 1; one at or past the route's next send sequence,
//     or with the packet's commitment still beside it; on an ordered route, an
//     acknowledged packet at or past the next sequence to acknowledge, or a timed-out
//     packet on a route still open (a timeout closes an ordered route).
//
// Any other key is reported as unknown.
func (m *Module) CheckInvariants(kv store.Reader) error {
	c := &checker{m: m, clients: map[string]*clientInfo{}, routes: map[string]*routeInfo{}, committed: map[string]bool{}}
	c.readClients(kv)
	c.readRoutes(kv)
	c.readSeqs(kv)
	kv.Iterate(nil, nil, func(k, v []byte) bool {
		switch {
		case bytes.HasPrefix(k, []byte("clients/")), bytes.HasPrefix(k, []byte("routes/")), bytes.HasPrefix(k, []byte("seq/")):
			// checked above
		case bytes.HasPrefix(k, []byte("consensus/")):
			c.consensus(k, v)
		case bytes.HasPrefix(k, []byte("commitments/")):
			c.commitment(k, v)
		case bytes.HasPrefix(k, []byte("acks/")):
			c.ack(k, v)
		case bytes.HasPrefix(k, []byte("outcomes/")):
			c.outcome(k, v)
		default:
			c.v.Add(k, "%q: unknown key", k)
		}
		return true
	})
	c.finish()
	return c.v.Err()
}

// checkTxMark is what CheckTx writes in the check state for a receipt (recvPacket) and
// an outcome (settle), never committed.
var checkTxMark = []byte{1}

type clientInfo struct {
	key []byte
	c   *ClientState // nil if it does not decode
	// consensus counts the client's consensus states; hasLatest is set when one is at
	// its latest height; prev is the last one read (they are read by height).
	consensus uint64
	hasLatest bool
	prev      *ConsensusState
}

type routeInfo struct {
	key []byte
	r   *Route // nil if it does not decode
	// next sequences (1 when not stored yet, as getSeq reads them)
	nextSend, nextRecv, nextAck uint64
	// received counts the receipts below nextRecv (ordered routes)
	received uint64
}

type checker struct {
	m         *Module
	v         modules.Violations
	clients   map[string]*clientInfo
	routes    map[string]*routeInfo
	committed map[string]bool // route/sequence of each commitment read
}

// splitIDSeq splits "<id>/<sequence BE8>", the tail of a per-packet or consensus key.
func splitIDSeq(rest []byte) (string, uint64, bool) {
	if len(rest) < 10 || rest[len(rest)-9] != '/' {
		return "", 0, false
	}
	id := string(rest[:len(rest)-9])
	if validID("id", id) != nil {
		return "", 0, false
	}
	return id, binary.BigEndian.Uint64(rest[len(rest)-8:]), true
}

func (c *checker) readClients(kv store.Reader) {
	pre := []byte("clients/")
	kv.Iterate(pre, store.PrefixEnd(pre), func(k, v []byte) bool {
		id := string(k[len(pre):])
		if validID("client id", id) != nil {
			c.v.Add(k, "%q: unknown key (not a valid client id)", k)
			return true
		}
		info := &clientInfo{key: bytes.Clone(k)}
		c.clients[id] = info
		var cs ClientState
		if err := json.Unmarshal(v, &cs); err != nil {
			c.v.Add(k, "%s: client state does not decode: %v", k, err)
			return true
		}
		info.c = &cs
		if cs.ID != id {
			c.v.Add(k, "%s: the client state is of client %q", k, cs.ID)
		}
		if cs.LatestHeight < 1 {
			c.v.Add(k, "%s: latest height %d", k, cs.LatestHeight)
		}
		if cs.TrustingPeriod <= 0 {
			c.v.Add(k, "%s: trusting period %s is not positive", k, time.Duration(cs.TrustingPeriod))
		}
		if err := light.ValidateTrustLevel(cmtmath.Fraction{Numerator: cs.TrustLevel.Numerator, Denominator: cs.TrustLevel.Denominator}); err != nil {
			c.v.Add(k, "%s: trust level: %v", k, err)
		}
		if cs.Frozen && (cs.FrozenHeight < 1 || cs.FrozenReason == "") {
			c.v.Add(k, "%s: frozen without a frozen height and reason (%d, %q)", k, cs.FrozenHeight, cs.FrozenReason)
		}
		if !cs.Frozen && (cs.FrozenHeight != 0 || cs.FrozenReason != "") {
			c.v.Add(k, "%s: not frozen, but with a frozen height and reason (%d, %q)", k, cs.FrozenHeight, cs.FrozenReason)
		}
		return true
	})
}

func (c *checker) readRoutes(kv store.Reader) {
	pre := []byte("routes/")
	kv.Iterate(pre, store.PrefixEnd(pre), func(k, v []byte) bool {
		id := string(k[len(pre):])
		if validID("route id", id) != nil {
			c.v.Add(k, "%q: unknown key (not a valid route id)", k)
			return true
		}
		info := &routeInfo{key: bytes.Clone(k), nextSend: 1, nextRecv: 1, nextAck: 1}
		c.routes[id] = info
		var r Route
		if err := json.Unmarshal(v, &r); err != nil {
			c.v.Add(k, "%s: route does not decode: %v", k, err)
			return true
		}
		info.r = &r
		if r.ID != id {
			c.v.Add(k, "%s: the route is %q", k, r.ID)
		}
		p := RouteParams{ID: id, Port: r.Port, Client: r.Client, CounterpartyRoute: r.CounterpartyRoute, CounterpartyPort: r.CounterpartyPort}
		if err := p.validate(); err != nil {
			c.v.Add(k, "%s: %v", k, err)
		}
		switch r.Status {
		case RouteOpen:
			if r.ClosedHeight != 0 {
				c.v.Add(k, "%s: open, with closed height %d", k, r.ClosedHeight)
			}
		case RouteClosed:
			if r.ClosedHeight < 1 || r.ClosedHeight < r.OpenedHeight {
				c.v.Add(k, "%s: closed at height %d, opened at %d", k, r.ClosedHeight, r.OpenedHeight)
			}
		default:
			c.v.Add(k, "%s: unknown status %q", k, r.Status)
		}
		if _, ok := c.clients[r.Client]; !ok {
			c.v.Add(k, "%s: no client %q", k, r.Client)
		}
		if _, ok := c.m.apps[r.Port]; !ok {
			c.v.Add(k, "%s: no application is bound to port %q", k, r.Port)
		}
		return true
	})
}

func (c *checker) readSeqs(kv store.Reader) {
	pre := []byte("seq/")
	kv.Iterate(pre, store.PrefixEnd(pre), func(k, v []byte) bool {
		var kind string
		var id []byte
		for _, s := range []string{"send/", "recv/", "ack/"} {
			if rest, ok := bytes.CutPrefix(k[len(pre):], []byte(s)); ok {
				kind, id = s, rest
			}
		}
		if kind == "" || validID("route id", string(id)) != nil {
			c.v.Add(k, "%q: unknown key", k)
			return true
		}
		if len(v) != 8 {
			c.v.Add(k, "%s: sequence is %d bytes, expected 8", k, len(v))
			return true
		}
		seq := binary.BigEndian.Uint64(v)
		if seq < 1 {
			c.v.Add(k, "%s: next sequence %d (sequences start at 1)", k, seq)
		}
		r := c.routes[string(id)]
		if r == nil {
			c.v.Add(k, "%s: no route %q", k, id)
			return true
		}
		switch kind {
		case "send/":
			r.nextSend = seq
			return true
		case "recv/":
			r.nextRecv = seq
		case "ack/":
			r.nextAck = seq
		}
		if r.r != nil && !r.r.Ordered {
			c.v.Add(k, "%s: route %s is unordered: it has no such sequence", k, id)
		}
		return true
	})
}

// packet parses a per-packet key and finds its route; it reports and returns nil if
// either fails.
func (c *checker) packet(k []byte, prefix string) (*routeInfo, uint64, string) {
	id, seq, ok := splitIDSeq(k[len(prefix):])
	if !ok {
		c.v.Add(k, "%q: unknown key (expected %s<route>/<8-byte sequence>)", k, prefix)
		return nil, 0, ""
	}
	name := fmt.Sprintf("%s%s/%d", prefix, id, seq)
	if seq == 0 {
		c.v.Add(k, "%s: sequence 0 (sequences start at 1)", name)
	}
	r := c.routes[id]
	if r == nil {
		c.v.Add(k, "%s: no route %q", name, id)
	}
	return r, seq, name
}

func (c *checker) consensus(k, v []byte) {
	const prefix = "consensus/"
	id, h, ok := splitIDSeq(k[len(prefix):])
	if !ok {
		c.v.Add(k, "%q: unknown key (expected %s<client>/<8-byte height>)", k, prefix)
		return
	}
	name := fmt.Sprintf("%s%s/%d", prefix, id, h)
	info := c.clients[id]
	if info == nil {
		c.v.Add(k, "%s: no client %q", name, id)
		return
	}
	info.consensus++
	if h < 1 || h > 1<<62 {
		c.v.Add(k, "%s: height out of range", name)
		return
	}
	if info.c != nil {
		if int64(h) > info.c.LatestHeight {
			c.v.Add(k, "%s: above the client's latest height %d", name, info.c.LatestHeight)
		}
		if int64(h) == info.c.LatestHeight {
			info.hasLatest = true
		}
	}
	var cs ConsensusState
	if err := json.Unmarshal(v, &cs); err != nil {
		c.v.Add(k, "%s: consensus state does not decode: %v", name, err)
		return
	}
	if cs.Height != int64(h) {
		c.v.Add(k, "%s: the consensus state is of height %d", name, cs.Height)
	}
	if info.prev != nil && !cs.Time.After(info.prev.Time) {
		c.v.Add(k, "%s: time %s is not after %s, the time at height %d", name,
			cs.Time.UTC().Format(time.RFC3339Nano), info.prev.Time.UTC().Format(time.RFC3339Nano), info.prev.Height)
	}
	info.prev = &cs
}

func (c *checker) commitment(k, v []byte) {
	r, seq, name := c.packet(k, "commitments/")
	if r == nil {
		return
	}
	c.committed[name[len("commitments/"):]] = true
	if len(v) != 32 {
		c.v.Add(k, "%s: commitment is %d bytes, expected 32", name, len(v))
	}
	if seq >= r.nextSend {
		c.v.Add(k, "%s: at or past the route's next send sequence %d", name, r.nextSend)
	}
	if r.r != nil && r.r.Ordered && seq < r.nextAck {
		c.v.Add(k, "%s: below the ordered route's next sequence to acknowledge %d", name, r.nextAck)
	}
}

func (c *checker) ack(k, v []byte) {
	r, seq, name := c.packet(k, "acks/")
	if r == nil {
		return
	}
	switch {
	case bytes.Equal(v, checkTxMark):
		c.v.Add(k, "%s: CheckTx's receipt mark in committed state", name)
	case len(v) != 32:
		c.v.Add(k, "%s: acknowledgement hash is %d bytes, expected 32", name, len(v))
	}
	if r.r != nil && r.r.Ordered {
		if seq >= r.nextRecv {
			c.v.Add(k, "%s: at or past the ordered route's next receive sequence %d", name, r.nextRecv)
		} else if seq > 0 {
			r.received++
		}
	}
}

func (c *checker) outcome(k, v []byte) {
	r, seq, name := c.packet(k, "outcomes/")
	if r == nil {
		return
	}
	if seq >= r.nextSend {
		c.v.Add(k, "%s: at or past the route's next send sequence %d", name, r.nextSend)
	}
	if c.committed[name[len("outcomes/"):]] {
		c.v.Add(k, "%s: settled, with its commitment still stored", name)
	}
	if bytes.Equal(v, checkTxMark) {
		c.v.Add(k, "%s: CheckTx's outcome mark in committed state", name)
		return
	}
	var out Outcome
	if err := json.Unmarshal(v, &out); err != nil {
		c.v.Add(k, "%s: outcome does not decode: %v", name, err)
		return
	}
	switch out.State {
	case PacketAcknowledged:
		if r.r != nil && r.r.Ordered && seq >= r.nextAck {
			c.v.Add(k, "%s: acknowledged at or past the ordered route's next sequence to acknowledge %d", name, r.nextAck)
		}
	case PacketTimedOut:
		if out.AckError != "" {
			c.v.Add(k, "%s: timed out, with an acknowledgement error", name)
		}
		if r.r != nil && r.r.Ordered && r.r.Status != RouteClosed {
			c.v.Add(k, "%s: timed out on an ordered route that is not closed", name)
		}
	default:
		c.v.Add(k, "%s: unknown state %q", name, out.State)
	}
	if out.Height < 1 || out.ProofHeight < 1 {
		c.v.Add(k, "%s: height %d, proof height %d", name, out.Height, out.ProofHeight)
	}
}

// finish checks what needs every key read: the clients' consensus states and the
// ordered routes' counters.
func (c *checker) finish() {
	for _, id := range slices.Sorted(maps.Keys(c.clients)) {
		info := c.clients[id]
		if info.c == nil {
			continue
		}
		if !info.hasLatest {
			c.v.Add(info.key, "%s: no consensus state at its latest height %d", info.key, info.c.LatestHeight)
		}
		if info.consensus != info.c.NumConsensus {
			c.v.Add(info.key, "%s: %d consensus states stored, %d counted", info.key, info.consensus, info.c.NumConsensus)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(c.routes)) {
		r := c.routes[id]
		if r.r == nil || !r.r.Ordered {
			continue
		}
		if r.nextAck > r.nextSend {
			c.v.Add(r.key, "%s: next sequence to acknowledge %d is past the next to send %d", r.key, r.nextAck, r.nextSend)
		}
		if r.nextRecv >= 1 && r.received != r.nextRecv-1 {
			c.v.Add(r.key, "%s: %d receipts below the next receive sequence %d, expected %d", r.key, r.received, r.nextRecv, r.nextRecv-1)
		}
	}
}
