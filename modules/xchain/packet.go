package xchain

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"

	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules"
	"github.com/lianchain/lian/store"
)

// App is a port's application: the module that sends and receives the packets of the
// routes bound to its port. xchain calls it with a context for the application's own
// module, after xchain's own state is written (so a callback cannot run twice for one
// packet), and on a branch: an error drops the callback's writes.
//
// Callbacks run in blocks only, not in CheckTx: an application's answer or error never
// decides whether a relay is admitted (an error becomes an error acknowledgement or an
// outcome's app_error), so CheckTx checks the relay — route, client, timeout, proof,
// order, redundancy — and skips the callback. Its writes are thus seen by CheckTx only
// once the block that ran it is committed, as in Cosmos SDK, where CheckTx runs no
// message at all.
type App interface {
	// OnRecv handles a packet from route r's counterparty and returns the result to
	// acknowledge with. An error is acknowledged as {"error": message}.
	OnRecv(ctx *modules.Context, r *Route, p *Packet) ([]byte, error)
	// OnAck handles the acknowledgement of a packet the application sent. proofHeight
	// is the counterparty height whose app hash proved the acknowledgement.
	OnAck(ctx *modules.Context, r *Route, p *Packet, ack *Ack, proofHeight int64) error
	// OnTimeout undoes what sending the packet did: it was never received.
	OnTimeout(ctx *modules.Context, r *Route, p *Packet) error
}

// GetRoute reads a route; nil if absent.
func GetRoute(kv store.Reader, id string) (*Route, error) {
	b := kv.Get(routeKey(id))
	if b == nil {
		return nil, nil
	}
	r, err := routeCache.decode(b)
	if err != nil {
		return nil, errcode.New(errcode.Internal, "route %s: %v", id, err)
	}
	return r, nil
}

// GetOutcome returns what became of packet seq sent on route (nil while it is
// pending, or if it was never sent), from the module's store kv. CheckTx's 1-byte mark
// is never in committed state.
func GetOutcome(kv store.Reader, route string, seq uint64) (*Outcome, error) {
	b := kv.Get(outcomeKey(route, seq))
	if b == nil {
		return nil, nil
	}
	out := &Outcome{}
	if err := json.Unmarshal(b, out); err != nil {
		return nil, errcode.New(errcode.Internal, "outcome of %s/%d: %v", route, seq, err)
	}
	return out, nil
}

func putRoute(kv store.KV, r *Route) { kv.Set(routeKey(r.ID), modules.MustJSON(r)) }

func route(kv store.Reader, id string) (*Route, error) {
	r, err := GetRoute(kv, id)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, errcode.New(errcode.NotFound, "no route %q", id)
	}
	return r, nil
}

func getSeq(kv store.Reader, key []byte) uint64 {
	b := kv.Get(key)
	if len(b) != 8 {
		return 1 // sequences start at 1
	}
	return binary.BigEndian.Uint64(b)
}

// RouteParams open a route (governance).
type RouteParams struct {
	ID                string `json:"id"`
	Port              string `json:"port"`
	Client            string `json:"client"`
	CounterpartyRoute string `json:"counterparty_route"`
	CounterpartyPort  string `json:"counterparty_port"`
	Ordered           bool   `json:"ordered,omitempty"`
}

func (p *RouteParams) validate() error {
	for _, f := range []struct{ name, v string }{{"id", p.ID}, {"port", p.Port}, {"client", p.Client},
		{"counterparty_route", p.CounterpartyRoute}, {"counterparty_port", p.CounterpartyPort}} {
		if err := validID(f.name, f.v); err != nil {
			return err
		}
	}
	return nil
}

func (m *Module) openRoute(ctx *modules.Context, p *RouteParams) error {
	if err := p.validate(); err != nil {
		return errcode.New(errcode.InvalidMessage, "open route: %v", err)
	}
	if _, ok := m.apps[p.Port]; !ok {
		return errcode.New(errcode.InvalidMessage, "open route: no application on port %q (ports: %v)", p.Port, m.ports)
	}
	if r, err := GetRoute(ctx.Store, p.ID); err != nil {
		return err
	} else if r != nil {
		return errcode.New(errcode.AlreadyExists, "route %q exists (%s)", p.ID, r.Status)
	}
	if c, err := GetClient(ctx.Store, p.Client); err != nil {
		return err
	} else if c == nil {
		return errcode.New(errcode.NotFound, "open route: no client %q", p.Client)
	}
	r := &Route{ID: p.ID, Port: p.Port, Client: p.Client, CounterpartyRoute: p.CounterpartyRoute,
		CounterpartyPort: p.CounterpartyPort, Ordered: p.Ordered, Status: RouteOpen, OpenedHeight: ctx.Height}
	putRoute(ctx.Store, r)
	ctx.Emit(EventRouteOpened, modules.Indexed("route", r.ID), modules.A("port", r.Port), modules.A("client", r.Client),
		modules.A("counterparty_route", r.CounterpartyRoute), modules.A("ordered", strconv.FormatBool(r.Ordered)))
	return nil
}

func closeRoute(ctx *modules.Context, r *Route, why string) {
	r.Status, r.ClosedHeight = RouteClosed, ctx.Height
	putRoute(ctx.Store, r)
	ctx.Emit(EventRouteClosed, modules.Indexed("route", r.ID), modules.A("reason", why))
}

// SendPacket sends payload on a route of the calling application's port (ctx is the
// application's context) and returns the packet. timeoutHeight is a destination height,
// timeoutTime a destination block time (zero: none); at least one is needed.
func (m *Module) SendPacket(ctx *modules.Context, routeID string, payload []byte, timeoutHeight uint64, timeoutTime time.Time) (*Packet, error) {
	x := ctx.For(Name)
	r, err := route(x.Store, routeID)
	if err != nil {
		return nil, err
	}
	if r.Status != RouteOpen {
		return nil, errcode.New(errcode.Closed, "route %s is closed", r.ID)
	}
	if r.Port != ctx.Module() {
		return nil, errcode.New(errcode.Unauthorized, "route %s is bound to port %s, not %s", r.ID, r.Port, ctx.Module())
	}
	c, err := activeClient(x.Store, r.Client, ctx.Time)
	if err != nil {
		return nil, err
	}
	p := &Packet{SourceRoute: r.ID, DestRoute: r.CounterpartyRoute, Payload: payload, TimeoutHeight: timeoutHeight}
	if !timeoutTime.IsZero() {
		if timeoutTime.UnixNano() <= 0 {
			return nil, errcode.New(errcode.InvalidMessage, "timeout time %s is before 1970", timeoutTime)
		}
		p.TimeoutTime = uint64(timeoutTime.UnixNano())
	}
	p.Sequence = getSeq(x.Store, nextSendKey(r.ID))
	if err := ValidatePacket(p); err != nil {
		return nil, errcode.New(errcode.InvalidMessage, "send packet: %v", err)
	}
	latest, err := GetConsensusState(x.Store, c.ID, c.LatestHeight)
	if err != nil {
		return nil, err
	}
	if p.TimedOutAt(latest.Height, latest.Time) {
		return nil, errcode.New(errcode.PacketExpired, "send packet: the timeout has passed already on %s (height %d, %s)",
			c.ChainID, latest.Height, latest.Time.Format(time.RFC3339))
	}
	x.Store.Set(nextSendKey(r.ID), seqBytes(p.Sequence+1))
	if ctx.CheckOnly {
		// Nothing in CheckTx reads the commitment (an acknowledgement or timeout
		// proves against committed state of the other chain), and CheckTx has no events.
		return p, nil
	}
	x.Store.Set(commitmentKey(r.ID, p.Sequence), Commitment(p))
	x.Emit(EventSendPacket, packetAttrs(p, modules.A("port", r.Port))...)
	return p, nil
}

func packetAttrs(p *Packet, extra ...modules.Attr) []modules.Attr {
	return append([]modules.Attr{
		modules.Indexed("packet", p.ID()),
		modules.A("source_route", p.SourceRoute),
		modules.A("dest_route", p.DestRoute),
		modules.A("sequence", strconv.FormatUint(p.Sequence, 10)),
		modules.A("payload", hex.EncodeToString(p.Payload)),
		modules.A("timeout_height", strconv.FormatUint(p.TimeoutHeight, 10)),
		modules.A("timeout_time", strconv.FormatUint(p.TimeoutTime, 10)),
	}, extra...)
}

// proofRoot returns the root a proof at proofHeight is checked against (the state after
// block proofHeight-1): the app hash of the client's consensus state at that height, or
// else the state root attested for height proofHeight-1, with that block's time.
func proofRoot(kv store.Reader, c *ClientState, proofHeight int64) (*ConsensusState, error) {
	cs, err := GetConsensusState(kv, c.ID, proofHeight)
	if err != nil {
		return nil, err
	}
	if cs == nil && proofHeight > 1 {
		prev, err := GetConsensusState(kv, c.ID, proofHeight-1)
		if err != nil {
			return nil, err
		}
		if prev != nil && len(prev.StateRoot) > 0 {
			return &ConsensusState{Height: proofHeight, Time: prev.Time, AppHash: prev.StateRoot}, nil
		}
	}
	if cs == nil {
		return nil, errcode.New(errcode.NotFound, "client %s has no consensus state at height %d: update the client first", c.ID, proofHeight)
	}
	return cs, nil
}

func (m *Module) app(r *Route) (App, error) {
	a, ok := m.apps[r.Port]
	if !ok {
		return nil, errcode.New(errcode.Internal, "route %s: no application on port %s", r.ID, r.Port)
	}
	return a, nil
}

// recvPacket delivers a packet to this chain's application.
func (m *Module) recvPacket(ctx *modules.Context, msg *MsgRecvPacket) error {
	p := msg.Packet
	r, err := recvRoute(ctx.Store, p)
	if err != nil {
		return err
	}
	// A packet received already is a no-op, before any other check: a redundant relay
	// costs little and fails nothing.
	if received(ctx.Store, r, p) {
		ctx.NoOp()
		return nil
	}
	c, err := recvClient(ctx, r)
	if err != nil {
		return err
	}
	if err := receivable(ctx, r, p, getSeq(ctx.Store, nextRecvKey(r.ID))); err != nil {
		return err
	}
	cs, err := proofRoot(ctx.Store, c, msg.ProofHeight)
	if err != nil {
		return err
	}
	if err := m.verifyMembership(ctx, cs.AppHash, msg.Proof, CommitmentPath(p.SourceRoute, p.Sequence), Commitment(p)); err != nil {
		return errcode.New(errcode.InvalidProof, "packet %s: commitment at %s height %d: %v", p.ID(), c.ChainID, msg.ProofHeight, err)
	}
	return m.deliver(ctx, r, p)
}

// recvRoute returns the route a packet arrives on.
func recvRoute(kv store.Reader, p *Packet) (*Route, error) {
	r, err := route(kv, p.DestRoute)
	if err != nil {
		return nil, err
	}
	if r.CounterpartyRoute != p.SourceRoute {
		return nil, errcode.New(errcode.InvalidMessage, "route %s's counterparty is %s, the packet comes from %s", r.ID, r.CounterpartyRoute, p.SourceRoute)
	}
	return r, nil
}

// received reports whether route r has received packet p already.
func received(kv store.Reader, r *Route, p *Packet) bool {
	if r.Ordered {
		return p.Sequence < getSeq(kv, nextRecvKey(r.ID))
	}
	return kv.Has(ackKey(r.ID, p.Sequence))
}

// recvClient checks that route r may receive and returns its active client.
func recvClient(ctx *modules.Context, r *Route) (*ClientState, error) {
	if r.Status != RouteOpen {
		return nil, errcode.New(errcode.Closed, "route %s is closed", r.ID)
	}
	return activeClient(ctx.Store, r.Client, ctx.Time)
}

// receivable checks, without the proof, that packet p may be received now on route r,
// whose next receive sequence (ordered routes) is next.
func receivable(ctx *modules.Context, r *Route, p *Packet, next uint64) error {
	if p.TimedOutAt(ctx.Height, ctx.Time) {
		return errcode.New(errcode.PacketExpired, "packet %s timed out (timeout height %d, time %d; now height %d, %s)",
			p.ID(), p.TimeoutHeight, p.TimeoutTime, ctx.Height, ctx.Time.Format(time.RFC3339Nano))
	}
	if r.Ordered && p.Sequence != next {
		return errcode.New(errcode.OutOfOrder, "route %s is ordered: packet %d received, %d expected", r.ID, p.Sequence, next)
	}
	return nil
}

// deliver receives a proven packet: it writes the receipt and, in a block, hands the
// packet to the port's application and stores the hash of its acknowledgement.
func (m *Module) deliver(ctx *modules.Context, r *Route, p *Packet) error {
	if r.Ordered {
		ctx.Store.Set(nextRecvKey(r.ID), seqBytes(p.Sequence+1))
	}
	app, err := m.app(r)
	if err != nil {
		return err
	}
	if ctx.CheckOnly {
		// The receipt (the ack key's presence) decides admission; see App.
		ctx.Store.Set(ackKey(r.ID, p.Sequence), []byte{1})
		return nil
	}
	ack := &Ack{}
	b := ctx.For(r.Port).Branch()
	if res, err := app.OnRecv(b.Context, r, p); err != nil {
		ack.Error = errcode.Of(err).String() + ": " + errcode.Message(err)
	} else {
		if len(res) == 0 {
			res = []byte{1}
		}
		ack.Result = res
		b.Commit()
	}
	ackBytes := ack.Bytes()
	ctx.Store.Set(ackKey(r.ID, p.Sequence), AckHash(ackBytes))
	result := "ok"
	if !ack.Success() {
		result = "error"
	}
	ctx.Emit(EventRecvPacket, packetAttrs(p, modules.A("port", r.Port), modules.A("result", result),
		modules.A("ack", hex.EncodeToString(ackBytes)))...)
	return nil
}

// sent checks that p is a packet this chain sent and has not settled: it returns the
// route, or (nil, nil) when the packet was settled already (a redundant relay).
func sent(kv store.Reader, p *Packet) (*Route, error) {
	r, err := sendRoute(kv, p)
	if err != nil {
		return nil, err
	}
	if settled, err := unsettled(kv, r, p); err != nil || settled {
		return nil, err
	}
	return r, nil
}

// sendRoute returns the route a packet was sent on.
func sendRoute(kv store.Reader, p *Packet) (*Route, error) {
	r, err := route(kv, p.SourceRoute)
	if err != nil {
		return nil, err
	}
	if r.CounterpartyRoute != p.DestRoute {
		return nil, errcode.New(errcode.InvalidMessage, "route %s's counterparty is %s, the packet names %s", r.ID, r.CounterpartyRoute, p.DestRoute)
	}
	return r, nil
}

// unsettled checks that route r sent packet p: settled is true when p was settled
// already, and an error says that r never sent p.
func unsettled(kv store.Reader, r *Route, p *Packet) (settled bool, err error) {
	stored := kv.Get(commitmentKey(r.ID, p.Sequence))
	if stored == nil {
		if kv.Has(outcomeKey(r.ID, p.Sequence)) {
			return true, nil
		}
		return false, errcode.New(errcode.NotFound, "packet %s was never sent", p.ID())
	}
	if !bytes.Equal(stored, Commitment(p)) {
		return false, errcode.New(errcode.InvalidMessage, "packet %s does not match the commitment sent", p.ID())
	}
	return false, nil
}

// settling finds the route and the (active) client of a sent packet about to be
// settled; the route is nil, and the message marked a no-op, when the packet was
// settled already.
func settling(ctx *modules.Context, p *Packet) (*Route, *ClientState, error) {
	r, err := sent(ctx.Store, p)
	if err != nil {
		return nil, nil, err
	}
	if r == nil {
		ctx.NoOp()
		return nil, nil, nil
	}
	c, err := activeClient(ctx.Store, r.Client, ctx.Time)
	if err != nil {
		return nil, nil, err
	}
	return r, c, nil
}

// settle records a sent packet's outcome and deletes its commitment, then runs the
// application's callback on a branch. The state is settled before the callback runs,
// so nothing the callback does can settle the packet twice.
func (m *Module) settle(ctx *modules.Context, r *Route, p *Packet, out *Outcome, call func(*modules.Context, App) error) error {
	ctx.Store.Delete(commitmentKey(r.ID, p.Sequence))
	app, err := m.app(r)
	if err != nil {
		return err
	}
	if ctx.CheckOnly {
		// The outcome's presence is what marks the packet settled; see App.
		ctx.Store.Set(outcomeKey(r.ID, p.Sequence), []byte{1})
		return nil
	}
	b := ctx.For(r.Port).Branch()
	if err := call(b.Context, app); err != nil {
		out.AppError = errcode.Of(err).String() + ": " + errcode.Message(err)
	} else {
		b.Commit()
	}
	out.Height = ctx.Height
	ctx.Store.Set(outcomeKey(r.ID, p.Sequence), modules.MustJSON(out))
	return nil
}

// acknowledge settles a sent packet with its proven acknowledgement.
func (m *Module) acknowledge(ctx *modules.Context, msg *MsgAcknowledge) error {
	p := msg.Packet
	r, c, err := settling(ctx, p)
	if err != nil || r == nil {
		return err
	}
	if err := ackInOrder(r, p, getSeq(ctx.Store, nextAckKey(r.ID))); err != nil {
		return err
	}
	cs, err := proofRoot(ctx.Store, c, msg.ProofHeight)
	if err != nil {
		return err
	}
	if err := m.verifyMembership(ctx, cs.AppHash, msg.Proof, AckPath(p.DestRoute, p.Sequence), AckHash(msg.Ack)); err != nil {
		return errcode.New(errcode.InvalidProof, "packet %s: acknowledgement at %s height %d: %v", p.ID(), c.ChainID, msg.ProofHeight, err)
	}
	ack, err := msg.decodeAck()
	if err != nil {
		return errcode.New(errcode.InvalidMessage, "packet %s: %v", p.ID(), err)
	}
	return m.acknowledged(ctx, r, p, ack, msg.ProofHeight)
}

// ackInOrder checks that on an ordered route r, whose next sequence to acknowledge is
// next, p is the packet to acknowledge now.
func ackInOrder(r *Route, p *Packet, next uint64) error {
	if r.Ordered && p.Sequence != next {
		return errcode.New(errcode.OutOfOrder, "route %s is ordered: acknowledgement of %d, %d expected", r.ID, p.Sequence, next)
	}
	return nil
}

// acknowledged settles packet p, its acknowledgement proven at proofHeight.
func (m *Module) acknowledged(ctx *modules.Context, r *Route, p *Packet, ack *Ack, proofHeight int64) error {
	if r.Ordered {
		ctx.Store.Set(nextAckKey(r.ID), seqBytes(p.Sequence+1))
	}
	out := &Outcome{State: PacketAcknowledged, AckError: ack.Error, ProofHeight: proofHeight}
	if err := m.settle(ctx, r, p, out, func(actx *modules.Context, app App) error {
		return app.OnAck(actx, r, p, ack, proofHeight)
	}); err != nil {
		return err
	}
	result := "ok"
	if !ack.Success() {
		result = "error"
	}
	ctx.Emit(EventAckPacket, modules.Indexed("packet", p.ID()), modules.A("port", r.Port), modules.A("result", result),
		modules.A("app_error", out.AppError))
	return nil
}

// timeout settles a sent packet that was never received, proven from the destination's
// state at a height past the packet's timeout.
func (m *Module) timeout(ctx *modules.Context, msg *MsgTimeout) error {
	p := msg.Packet
	r, c, err := settling(ctx, p)
	if err != nil || r == nil {
		return err
	}
	cs, err := proofRoot(ctx.Store, c, msg.ProofHeight)
	if err != nil {
		return err
	}
	// The proof is of the destination's state before block proofHeight; every block
	// from proofHeight on has at least its height and time, so none can receive it.
	if !p.TimedOutAt(cs.Height, cs.Time) {
		return errcode.New(errcode.TimeoutNotReached, "packet %s has not timed out at %s height %d (%s)",
			p.ID(), c.ChainID, cs.Height, cs.Time.Format(time.RFC3339Nano))
	}
	if r.Ordered {
		if msg.NextSequenceRecv > p.Sequence {
			return errcode.New(errcode.InvalidProof, "packet %s was received: next receive sequence is %d", p.ID(), msg.NextSequenceRecv)
		}
		if err := m.verifyMembership(ctx, cs.AppHash, msg.Proof, NextRecvPath(p.DestRoute), seqBytes(msg.NextSequenceRecv)); err != nil {
			return errcode.New(errcode.InvalidProof, "packet %s: next receive sequence at %s height %d: %v", p.ID(), c.ChainID, msg.ProofHeight, err)
		}
	} else if err := m.verifyNonMembership(ctx, cs.AppHash, msg.Proof, ReceiptPath(p.DestRoute, p.Sequence)); err != nil {
		return errcode.New(errcode.InvalidProof, "packet %s: absence of its receipt at %s height %d: %v", p.ID(), c.ChainID, msg.ProofHeight, err)
	}
	out := &Outcome{State: PacketTimedOut, ProofHeight: msg.ProofHeight}
	if err := m.settle(ctx, r, p, out, func(actx *modules.Context, app App) error {
		return app.OnTimeout(actx, r, p)
	}); err != nil {
		return err
	}
	if r.Ordered {
		closeRoute(ctx, r, "packet "+p.ID()+" timed out on an ordered route")
	}
	ctx.Emit(EventTimeoutPacket, modules.Indexed("packet", p.ID()), modules.A("port", r.Port), modules.A("app_error", out.AppError))
	return nil
}

// verifyMembership and verifyNonMembership check a proof, except on a mempool recheck
// (the proof was checked against the same root when the tx was admitted, and a block
// checks it again). A proof this node verified already — in CheckTx, then again in the
// block — is remembered by the hash of everything verified, so the block does not
// repeat the work; the result is the same by construction.
func (m *Module) verifyMembership(ctx *modules.Context, root, proof, key, value []byte) error {
	return m.verifyOnce(ctx, 1, [][]byte{root, proof, key, value}, func() error {
		return store.VerifyMembership(root, proof, key, value)
	})
}

func (m *Module) verifyNonMembership(ctx *modules.Context, root, proof, key []byte) error {
	return m.verifyOnce(ctx, 0, [][]byte{root, proof, key, nil}, func() error {
		return store.VerifyNonMembership(root, proof, key)
	})
}

// verifyOnce runs verify unless this is a recheck or the node verified the same
// (proofID of kind and parts) already, and remembers a success.
func (m *Module) verifyOnce(ctx *modules.Context, kind byte, parts [][]byte, verify func() error) error {
	if ctx.Recheck {
		return nil
	}
	id := proofID(kind, parts...)
	if m.proofs.has(id) {
		return nil
	}
	if err := verify(); err != nil {
		return err
	}
	m.proofs.add(id)
	return nil
}
