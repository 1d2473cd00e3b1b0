// Package attest is the cross-chain attestation service: an account on one chain asks
// another chain whether a document digest is anchored there. The question travels as an
// xchain packet; the other chain's attest application reads its own evidence record and
// answers in the acknowledgement; this chain stores the answer, with the answering
// chain's id and the height whose app hash proved it, for anyone to query. A court on
// one region's chain can so check a contract anchored in another region without
// trusting any operator or relayer.
package attest

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	cmtbytes "github.com/cometbft/cometbft/libs/bytes"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules"
	"github.com/lianchain/lian/modules/evidence"
	"github.com/lianchain/lian/modules/xchain"
	"github.com/lianchain/lian/txs"
)

// Name is the module's name, store prefix and xchain port.
const Name = "attest"

// TypeAttest is the type URL of MsgAttest.
const TypeAttest = "/lian.attest.v1.MsgAttest"

// Event types.
const (
	EventRequested = "lian.attest.requested" // on the asking chain
	EventAnswered  = "lian.attest.answered"  // on the asking chain, when the answer is proven
	EventTimedOut  = "lian.attest.timed_out" // on the asking chain: no answer before the timeout
	EventServed    = "lian.attest.served"    // on the answering chain
)

// Request statuses.
const (
	StatusPending  = "pending"
	StatusAnswered = "answered"
	StatusTimedOut = "timed_out"
	// StatusFailed: the other chain answered with an error, or its answer could not be
	// stored here (Error says which).
	StatusFailed = "failed"
)

// Timeouts of a request, in seconds of the other chain's block time.
const (
	DefaultTimeout = 600
	MaxTimeout     = 7 * 24 * 3600
)

// MsgAttest asks the chain at the other end of a route whether a digest is anchored
// there (proto lian.attest.v1.MsgAttest):
//
//	message MsgAttest {
//	  string route           = 1; // an open route on the attest port
//	  bytes  digest          = 2; // 32 bytes
//	  uint64 timeout_seconds = 3; // 0: DefaultTimeout
//	}
type MsgAttest struct {
	Route          string
	Digest         []byte
	TimeoutSeconds uint64
}

// TypeURL implements txs.Msg.
func (*MsgAttest) TypeURL() string { return TypeAttest }

// Marshal implements txs.Msg.
func (m *MsgAttest) Marshal() []byte {
	var e txs.Encoder
	e.StringField(1, m.Route)
	e.BytesField(2, m.Digest)
	e.Uint64Field(3, m.TimeoutSeconds)
	return e.Bytes()
}

// ValidateBasic implements txs.Msg.
func (m *MsgAttest) ValidateBasic() error {
	switch {
	case m.Route == "":
		return errcode.New(errcode.InvalidMessage, "attest: route is required")
	case len(m.Digest) != evidence.DigestLen:
		return errcode.New(errcode.InvalidMessage, "attest: digest is %d bytes, expected %d", len(m.Digest), evidence.DigestLen)
	case m.TimeoutSeconds > MaxTimeout:
		return errcode.New(errcode.InvalidMessage, "attest: timeout_seconds %d: at most %d", m.TimeoutSeconds, MaxTimeout)
	}
	return nil
}

var attestSpec = map[protowire.Number]txs.FieldSpec{
	1: txs.Bytes("route", xchain.MaxIDBytes),
	2: txs.Bytes("digest", 64),
	3: txs.Varint("timeout_seconds"),
}

// DecodeAttest decodes a MsgAttest.
func DecodeAttest(b []byte) (txs.Msg, error) {
	m := &MsgAttest{}
	err := txs.DecodeMsg(TypeAttest, b, attestSpec, func(f txs.Field) (err error) {
		switch f.Num {
		case 1:
			m.Route, err = f.Str("route")
		case 2:
			m.Digest = f.Bytes
		case 3:
			m.TimeoutSeconds = f.Varint
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// Request is a question this chain sent. It is stored once, pending, when the question
// is sent; what became of it (Status, Error, SettledHeight) is its packet's xchain
// outcome, which the request query reads with it: storing it again here would cost a
// write per answer for nothing. Requests stored by earlier versions carry their final
// status.
type Request struct {
	Route     string            `json:"route"`
	Sequence  uint64            `json:"sequence"`
	ChainID   string            `json:"chain_id"` // the chain asked
	Digest    cmtbytes.HexBytes `json:"digest"`
	Requester crypto.Address    `json:"requester"`
	Status    string            `json:"status"`
	Error     string            `json:"error,omitempty"`
	Height    int64             `json:"height"`
	Time      string            `json:"time"`
	// SettledHeight is the local height of the answer or the timeout.
	SettledHeight int64 `json:"settled_height,omitempty"`
}

// Attestation is another chain's proven answer about a digest.
type Attestation struct {
	ChainID string            `json:"chain_id"`
	Digest  cmtbytes.HexBytes `json:"digest"`
	Found   bool              `json:"found"`
	// Record is the other chain's evidence record, when found.
	Record *evidence.Record `json:"record,omitempty"`
	// ProofHeight is the other chain's height whose app hash proved the answer.
	ProofHeight int64 `json:"proof_height"`
	// AnsweredHeight is the other chain's height at which it answered.
	AnsweredHeight int64          `json:"answered_height"`
	Route          string         `json:"route"`
	Sequence       uint64         `json:"sequence"`
	Requester      crypto.Address `json:"requester"`
	Height         int64          `json:"height"` // local height the answer was stored at
	Time           string         `json:"time"`
}

// Answer is the acknowledgement's result: what the answering chain found, and at
// which of its heights.
type Answer struct {
	Found  bool             `json:"found"`
	Record *evidence.Record `json:"record,omitempty"`
	Height int64            `json:"height"`
}

// Sender sends packets (the xchain module).
type Sender interface {
	SendPacket(ctx *modules.Context, route string, payload []byte, timeoutHeight uint64, timeoutTime time.Time) (*xchain.Packet, error)
	RouteChain(ctx *modules.Context, route string) (string, error)
}

// Records finds anchored records (the evidence module).
type Records interface {
	Lookup(ctx *modules.Context, digest []byte) (*evidence.Record, error)
}

// Module is the attestation module and the xchain application of its port.
type Module struct {
	xc      Sender
	records Records
}

// New returns the module.
func New(xc Sender, records Records) *Module { return &Module{xc: xc, records: records} }

// Name implements modules.Module.
func (*Module) Name() string { return Name }

// Msgs implements modules.Module.
func (m *Module) Msgs() []modules.MsgType {
	return []modules.MsgType{{TypeURL: TypeAttest, Decode: DecodeAttest, Handle: m.attest}}
}

// InitGenesis implements modules.Module.
func (*Module) InitGenesis(*modules.Context, json.RawMessage) error { return nil }

func requestKey(route string, seq uint64) []byte { return xchain.AppKey("req/", route, seq) }

// AttestationKey is the store key (below the module prefix) of a chain's answer about a digest.
func AttestationKey(chainID string, digest []byte) []byte {
	return append([]byte("att/"+chainID+"/"), digest...)
}

func (m *Module) attest(ctx *modules.Context, msg txs.Msg) error {
	a := msg.(*MsgAttest)
	secs := a.TimeoutSeconds
	if secs == 0 {
		secs = DefaultTimeout
	}
	chain, err := m.xc.RouteChain(ctx, a.Route)
	if err != nil {
		return err
	}
	p, err := m.xc.SendPacket(ctx, a.Route, a.Digest, 0, ctx.Time.Add(time.Duration(secs)*time.Second))
	if err != nil {
		return err
	}
	if ctx.CheckOnly {
		return nil // the request record matters once the packet is sent, in a block
	}
	req := &Request{Route: a.Route, Sequence: p.Sequence, ChainID: chain, Digest: a.Digest, Requester: ctx.Sender.Address,
		Status: StatusPending, Height: ctx.Height, Time: ctx.Time.UTC().Format(time.RFC3339Nano)}
	ctx.Store.Set(requestKey(a.Route, p.Sequence), modules.MustJSON(req))
	ctx.Emit(EventRequested, modules.Indexed("digest", cmtbytes.HexBytes(a.Digest).String()), modules.A("chain_id", chain),
		modules.A("route", a.Route), modules.A("sequence", strconv.FormatUint(p.Sequence, 10)))
	return nil
}

// OnRecv implements xchain.App: answer from this chain's evidence records.
func (m *Module) OnRecv(ctx *modules.Context, _ *xchain.Route, p *xchain.Packet) ([]byte, error) {
	if len(p.Payload) != evidence.DigestLen {
		return nil, errcode.New(errcode.InvalidMessage, "attest payload is %d bytes, expected a %d-byte digest", len(p.Payload), evidence.DigestLen)
	}
	rec, err := m.records.Lookup(ctx, p.Payload)
	if err != nil {
		return nil, err
	}
	ctx.Emit(EventServed, modules.Indexed("digest", cmtbytes.HexBytes(p.Payload).String()), modules.A("found", strconv.FormatBool(rec != nil)),
		modules.A("route", p.DestRoute), modules.A("sequence", strconv.FormatUint(p.Sequence, 10)))
	return modules.MustJSON(&Answer{Found: rec != nil, Record: rec, Height: ctx.Height}), nil
}

func (m *Module) request(ctx *modules.Context, p *xchain.Packet) (*Request, error) {
	b := ctx.Store.Get(requestKey(p.SourceRoute, p.Sequence))
	if b == nil {
		return nil, errcode.New(errcode.NotFound, "no attestation request %s", p.ID())
	}
	var r Request
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, errcode.New(errcode.Internal, "attestation request %s: %v", p.ID(), err)
	}
	return &r, nil
}

// settle sets r's status from its packet's outcome, nil while the packet is pending.
func (r *Request) settle(out *xchain.Outcome) {
	if out == nil {
		return
	}
	r.SettledHeight, r.Error = out.Height, ""
	switch {
	case out.State == xchain.PacketTimedOut:
		r.Status = StatusTimedOut
	case out.AckError != "":
		r.Status, r.Error = StatusFailed, out.AckError
	case out.AppError != "":
		r.Status, r.Error = StatusFailed, out.AppError
	default:
		r.Status = StatusAnswered
	}
}

// OnAck implements xchain.App: store the proven answer.
func (m *Module) OnAck(ctx *modules.Context, _ *xchain.Route, p *xchain.Packet, ack *xchain.Ack, proofHeight int64) error {
	req, err := m.request(ctx, p)
	if err != nil {
		return err
	}
	if !ack.Success() {
		return nil // the request's status comes from the outcome, which has the error
	}
	var ans Answer
	if err := modules.DecodeStrict(ack.Result, &ans); err != nil {
		return errcode.New(errcode.InvalidMessage, "attest answer of %s: %v", p.ID(), err)
	}
	if ans.Found != (ans.Record != nil) || ans.Record != nil && !bytes.Equal(ans.Record.Digest, p.Payload) {
		return errcode.New(errcode.InvalidMessage, "attest answer of %s does not match the question", p.ID())
	}
	att := &Attestation{ChainID: req.ChainID, Digest: p.Payload, Found: ans.Found, Record: ans.Record, ProofHeight: proofHeight, AnsweredHeight: ans.Height,
		Route: p.SourceRoute, Sequence: p.Sequence, Requester: req.Requester, Height: ctx.Height, Time: ctx.Time.UTC().Format(time.RFC3339Nano)}
	// Answers may arrive out of order (on an unordered route a later question can be
	// answered first): keep the one the other chain gave at the higher height, the
	// newer fact.
	k := AttestationKey(req.ChainID, p.Payload)
	if b := ctx.Store.Get(k); b != nil {
		var prev Attestation
		if err := json.Unmarshal(b, &prev); err != nil {
			return errcode.New(errcode.Internal, "attestation of %X: %v", p.Payload, err)
		}
		if prev.AnsweredHeight > ans.Height {
			att = nil
		}
	}
	if att != nil {
		ctx.Store.Set(k, modules.MustJSON(att))
	}
	ctx.Emit(EventAnswered, modules.Indexed("digest", cmtbytes.HexBytes(p.Payload).String()), modules.A("chain_id", req.ChainID),
		modules.A("found", strconv.FormatBool(ans.Found)), modules.A("proof_height", strconv.FormatInt(proofHeight, 10)))
	return nil
}

// OnTimeout implements xchain.App: the question was never received (the request's
// status comes from the packet's outcome).
func (m *Module) OnTimeout(ctx *modules.Context, _ *xchain.Route, p *xchain.Packet) error {
	req, err := m.request(ctx, p)
	if err != nil {
		return err
	}
	ctx.Emit(EventTimedOut, modules.Indexed("digest", cmtbytes.HexBytes(p.Payload).String()), modules.A("chain_id", req.ChainID),
		modules.A("route", p.SourceRoute), modules.A("sequence", strconv.FormatUint(p.Sequence, 10)))
	return nil
}

// Query paths.
const (
	QueryAttestation = "attestation" // data: "<chain id>/<digest hex>"; value: Attestation (provable)
	QueryRequest     = "request"     // data: "<route>/<sequence>"; value: Request, with its packet's outcome
)

// Query implements modules.Module.
func (m *Module) Query(ctx *modules.QueryContext, path string, data []byte) ([]byte, []byte, error) {
	// The digest and the sequence hold no "/"; a chain id may.
	a, b, ok := cutLast(string(data), "/")
	switch path {
	case QueryAttestation:
		d, err := hex.DecodeString(b)
		if !ok || err != nil || len(d) != evidence.DigestLen {
			return nil, nil, errcode.New(errcode.InvalidRequest, "query attestation: %q: expected <chain id>/<64 hex digits>", data)
		}
		k := AttestationKey(a, d)
		if v := ctx.Store.Get(k); v != nil {
			return k, v, nil
		}
		return k, nil, errcode.New(errcode.NotFound, "no attestation of %X from %s", d, a)
	case QueryRequest:
		seq, err := strconv.ParseUint(b, 10, 64)
		if !ok || err != nil {
			return nil, nil, errcode.New(errcode.InvalidRequest, "query request: %q: expected <route>/<sequence>", data)
		}
		b := ctx.Store.Get(requestKey(a, seq))
		if b == nil {
			return nil, nil, errcode.New(errcode.NotFound, "no attestation request %s/%d", a, seq)
		}
		var r Request
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, nil, errcode.New(errcode.Internal, "attestation request %s/%d: %v", a, seq, err)
		}
		out, err := xchain.GetOutcome(ctx.For(xchain.Name), a, seq)
		if err != nil {
			return nil, nil, err
		}
		r.settle(out)
		// Not provable as one key: the status is the packet's outcome, another key.
		return nil, modules.MustJSON(&r), nil
	}
	return nil, nil, errcode.New(errcode.InvalidRequest, "unknown attest query %q: expected attestation or request", path)
}

// cutLast is strings.Cut at the last sep.
func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}
