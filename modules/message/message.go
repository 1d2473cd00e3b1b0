// Package message carries generic payloads between chains for integrations: an account
// sends a payload to a named handler on the chain at the other end of a route; the
// destination keeps it in the handler's inbox and emits an event that integrations
// subscribe to (by handler name); the sender's chain records whether it was delivered,
// refused or timed out. Delivery is exactly once, proven like every xchain packet.
package message

import (
	"crypto/sha256"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	cmtbytes "github.com/cometbft/cometbft/libs/bytes"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules"
	"github.com/lianchain/lian/modules/xchain"
	"github.com/lianchain/lian/txs"
)

// Name is the module's name, store prefix and xchain port.
const Name = "message"

// TypeSend is the type URL of MsgSend.
const TypeSend = "/lian.message.v1.MsgSend"

// Event types.
const (
	EventSent      = "lian.message.sent"      // on the sending chain
	EventReceived  = "lian.message.received"  // on the receiving chain: handler (indexed), route, sequence
	EventDelivered = "lian.message.delivered" // on the sending chain: status delivered, refused or timed_out
)

// Statuses of a sent message.
const (
	StatusSent      = "sent"
	StatusDelivered = "delivered"
	StatusRefused   = "refused"
	StatusTimedOut  = "timed_out"
)

// Limits.
const (
	MaxPayloadBytes = 60 << 10
	DefaultTimeout  = 600
	MaxTimeout      = 7 * 24 * 3600
)

// MsgSend sends a payload to a named handler on the other end of a route
// (proto lian.message.v1.MsgSend):
//
//	message MsgSend {
//	  string route = 1; string handler = 2; bytes payload = 3;
//	  uint64 timeout_seconds = 4; // 0: DefaultTimeout
//	}
type MsgSend struct {
	Route          string
	Handler        string
	Payload        []byte
	TimeoutSeconds uint64
}

// TypeURL implements txs.Msg.
func (*MsgSend) TypeURL() string { return TypeSend }

// Marshal implements txs.Msg.
func (m *MsgSend) Marshal() []byte {
	var e txs.Encoder
	e.StringField(1, m.Route)
	e.StringField(2, m.Handler)
	e.BytesField(3, m.Payload)
	e.Uint64Field(4, m.TimeoutSeconds)
	return e.Bytes()
}

func validHandler(h string) bool {
	if h == "" || len(h) > 64 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// ValidateBasic implements txs.Msg.
func (m *MsgSend) ValidateBasic() error {
	switch {
	case m.Route == "":
		return errcode.New(errcode.InvalidMessage, "message: route is required")
	case !validHandler(m.Handler):
		return errcode.New(errcode.InvalidMessage, "message: handler %q: expected 1-64 of a-z, 0-9, '.', '_', '-'", m.Handler)
	case len(m.Payload) > MaxPayloadBytes:
		return errcode.New(errcode.InvalidMessage, "message: payload is %d bytes, at most %d allowed", len(m.Payload), MaxPayloadBytes)
	case m.TimeoutSeconds > MaxTimeout:
		return errcode.New(errcode.InvalidMessage, "message: timeout_seconds %d: at most %d", m.TimeoutSeconds, MaxTimeout)
	}
	return nil
}

var sendSpec = map[protowire.Number]txs.FieldSpec{
	1: txs.Bytes("route", xchain.MaxIDBytes),
	2: txs.Bytes("handler", 64),
	3: txs.Bytes("payload", MaxPayloadBytes),
	4: txs.Varint("timeout_seconds"),
}

// DecodeSend decodes a MsgSend.
func DecodeSend(b []byte) (txs.Msg, error) {
	m := &MsgSend{}
	err := txs.DecodeMsg(TypeSend, b, sendSpec, func(f txs.Field) (err error) {
		switch f.Num {
		case 1:
			m.Route, err = f.Str("route")
		case 2:
			m.Handler, err = f.Str("handler")
		case 3:
			m.Payload = f.Bytes
		case 4:
			m.TimeoutSeconds = f.Varint
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// envelope is the packet payload: handler, sender and the payload.
type envelope struct {
	Handler string         `json:"handler"`
	Sender  crypto.Address `json:"sender"`
	Payload []byte         `json:"payload"`
}

// Delivered is a message in a handler's inbox.
type Delivered struct {
	ChainID  string         `json:"chain_id"` // the sending chain
	Route    string         `json:"route"`    // the local route it came on
	Sequence uint64         `json:"sequence"`
	Handler  string         `json:"handler"`
	Sender   crypto.Address `json:"sender"`
	Payload  []byte         `json:"payload"`
	Height   int64          `json:"height"`
	Time     string         `json:"time"`
}

// Sent is a message this chain sent, with its status. It is stored once, when the
// message is sent; what became of it (Status, Error, SettledHeight) is its packet's
// xchain outcome, which the sent query reads with it. Records stored by earlier
// versions carry their final status.
type Sent struct {
	Route       string            `json:"route"`
	Sequence    uint64            `json:"sequence"`
	Handler     string            `json:"handler"`
	Sender      crypto.Address    `json:"sender"`
	PayloadHash cmtbytes.HexBytes `json:"payload_hash"`
	Status      string            `json:"status"`
	Error       string            `json:"error,omitempty"`
	Height      int64             `json:"height"`
	// SettledHeight is the local height of the acknowledgement or the timeout.
	SettledHeight int64 `json:"settled_height,omitempty"`
}

// settle sets s's status from its packet's outcome, nil while the packet is pending.
func (s *Sent) settle(out *xchain.Outcome) {
	if out == nil {
		return
	}
	s.SettledHeight, s.Error = out.Height, ""
	switch {
	case out.State == xchain.PacketTimedOut:
		s.Status = StatusTimedOut
	case out.AckError != "":
		s.Status, s.Error = StatusRefused, out.AckError
	default:
		s.Status = StatusDelivered
	}
}

// Sender sends packets (the xchain module).
type Sender interface {
	SendPacket(ctx *modules.Context, route string, payload []byte, timeoutHeight uint64, timeoutTime time.Time) (*xchain.Packet, error)
	RouteChain(ctx *modules.Context, route string) (string, error)
}

// Module is the message module and the xchain application of its port.
type Module struct{ xc Sender }

// New returns the module.
func New(xc Sender) *Module { return &Module{xc: xc} }

// Name implements modules.Module.
func (*Module) Name() string { return Name }

// Msgs implements modules.Module.
func (m *Module) Msgs() []modules.MsgType {
	return []modules.MsgType{{TypeURL: TypeSend, Decode: DecodeSend, Handle: m.send}}
}

// InitGenesis implements modules.Module.
func (*Module) InitGenesis(*modules.Context, json.RawMessage) error { return nil }

func sentKey(route string, seq uint64) []byte { return xchain.AppKey("out/", route, seq) }

// InboxKey is the store key (below the module prefix) of a delivered message.
func InboxKey(handler, route string, seq uint64) []byte {
	return xchain.AppKey("in/"+handler+"/", route, seq)
}

func (m *Module) send(ctx *modules.Context, msg txs.Msg) error {
	s := msg.(*MsgSend)
	secs := s.TimeoutSeconds
	if secs == 0 {
		secs = DefaultTimeout
	}
	env := modules.MustJSON(&envelope{Handler: s.Handler, Sender: ctx.Sender.Address, Payload: s.Payload})
	p, err := m.xc.SendPacket(ctx, s.Route, env, 0, ctx.Time.Add(time.Duration(secs)*time.Second))
	if err != nil {
		return err
	}
	if ctx.CheckOnly {
		return nil // the record matters once the packet is sent, in a block
	}
	h := sha256.Sum256(s.Payload)
	rec := &Sent{Route: s.Route, Sequence: p.Sequence, Handler: s.Handler, Sender: ctx.Sender.Address, PayloadHash: h[:], Status: StatusSent, Height: ctx.Height}
	ctx.Store.Set(sentKey(s.Route, p.Sequence), modules.MustJSON(rec))
	ctx.Emit(EventSent, modules.A("handler", s.Handler), modules.A("route", s.Route), modules.A("sequence", strconv.FormatUint(p.Sequence, 10)))
	return nil
}

// OnRecv implements xchain.App: put the message in its handler's inbox.
func (m *Module) OnRecv(ctx *modules.Context, r *xchain.Route, p *xchain.Packet) ([]byte, error) {
	var env envelope
	if err := modules.DecodeStrict(p.Payload, &env); err != nil {
		return nil, errcode.New(errcode.InvalidMessage, "message envelope: %v", err)
	}
	if !validHandler(env.Handler) {
		return nil, errcode.New(errcode.InvalidMessage, "message handler %q is not a valid name", env.Handler)
	}
	chain, err := m.xc.RouteChain(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	d := &Delivered{ChainID: chain, Route: r.ID, Sequence: p.Sequence, Handler: env.Handler, Sender: env.Sender,
		Payload: env.Payload, Height: ctx.Height, Time: ctx.Time.UTC().Format(time.RFC3339Nano)}
	ctx.Store.Set(InboxKey(env.Handler, r.ID, p.Sequence), modules.MustJSON(d))
	ctx.Emit(EventReceived, modules.Indexed("handler", env.Handler), modules.A("route", r.ID),
		modules.A("sequence", strconv.FormatUint(p.Sequence, 10)), modules.A("sender", env.Sender.String()))
	return []byte(`{"stored":true}`), nil
}

// settle emits what became of a sent message; its record keeps what was sent (the
// status is the packet's outcome).
func (m *Module) settle(ctx *modules.Context, p *xchain.Packet, status string) error {
	if !ctx.Store.Has(sentKey(p.SourceRoute, p.Sequence)) {
		return errcode.New(errcode.NotFound, "no sent message %s", p.ID())
	}
	ctx.Emit(EventDelivered, modules.A("route", p.SourceRoute), modules.A("sequence", strconv.FormatUint(p.Sequence, 10)),
		modules.A("status", status))
	return nil
}

// OnAck implements xchain.App.
func (m *Module) OnAck(ctx *modules.Context, _ *xchain.Route, p *xchain.Packet, ack *xchain.Ack, _ int64) error {
	if !ack.Success() {
		return m.settle(ctx, p, StatusRefused)
	}
	return m.settle(ctx, p, StatusDelivered)
}

// OnTimeout implements xchain.App.
func (m *Module) OnTimeout(ctx *modules.Context, _ *xchain.Route, p *xchain.Packet) error {
	return m.settle(ctx, p, StatusTimedOut)
}

// Query paths.
const (
	QuerySent  = "sent"  // data: "<route>/<sequence>"; value: Sent, with its packet's outcome
	QueryInbox = "inbox" // data: "<handler>/<route>/<sequence>"; value: Delivered (provable)
)

// Query implements modules.Module.
func (m *Module) Query(ctx *modules.QueryContext, path string, data []byte) ([]byte, []byte, error) {
	parts := strings.Split(string(data), "/")
	var k []byte
	var seq uint64
	switch {
	case path == QuerySent && len(parts) == 2:
		var err error
		if seq, err = strconv.ParseUint(parts[1], 10, 64); err != nil {
			return nil, nil, errcode.New(errcode.InvalidRequest, "query sent: %q: expected <route>/<sequence>", data)
		}
		k = sentKey(parts[0], seq)
	case path == QueryInbox && len(parts) == 3:
		seq, err := strconv.ParseUint(parts[2], 10, 64)
		if err != nil {
			return nil, nil, errcode.New(errcode.InvalidRequest, "query inbox: %q: expected <handler>/<route>/<sequence>", data)
		}
		k = InboxKey(parts[0], parts[1], seq)
	case path == QuerySent || path == QueryInbox:
		return nil, nil, errcode.New(errcode.InvalidRequest, "query %s: %q: expected sent <route>/<sequence> or inbox <handler>/<route>/<sequence>", path, data)
	default:
		return nil, nil, errcode.New(errcode.InvalidRequest, "unknown message query %q: expected sent or inbox", path)
	}
	v := ctx.Store.Get(k)
	if v == nil {
		return k, nil, errcode.New(errcode.NotFound, "no message at %s %s", path, data)
	}
	if path == QueryInbox {
		return k, v, nil
	}
	var s Sent
	if err := json.Unmarshal(v, &s); err != nil {
		return nil, nil, errcode.New(errcode.Internal, "sent message %s: %v", data, err)
	}
	out, err := xchain.GetOutcome(ctx.For(xchain.Name), parts[0], seq)
	if err != nil {
		return nil, nil, err
	}
	s.settle(out)
	// Not provable as one key: the status is the packet's outcome, another key.
	return nil, modules.MustJSON(&s), nil
}
