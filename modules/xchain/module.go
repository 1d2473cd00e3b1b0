package xchain

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules"
	"github.com/lianchain/lian/modules/identity"
	"github.com/lianchain/lian/store"
	"github.com/lianchain/lian/txs"
)

// Module is the cross-chain module.
type Module struct {
	apps   map[string]App
	ports  []string // sorted
	proofs proofCache
}

// New returns the module with no ports bound.
func New() *Module { return &Module{apps: map[string]App{}} }

// Bind binds a port to its application. The app calls it while wiring modules, before
// any block runs.
func (m *Module) Bind(port string, app App) {
	if _, dup := m.apps[port]; dup {
		panic(fmt.Sprintf("xchain: port %s bound twice", port))
	}
	m.apps[port] = app
	m.ports = append(m.ports, port)
	sort.Strings(m.ports)
}

// Name implements modules.Module.
func (*Module) Name() string { return Name }

// Msgs implements modules.Module. Relaying (client updates, packets, acknowledgements,
// timeouts) needs the relayer role; anyone may show misbehaviour.
func (m *Module) Msgs() []modules.MsgType {
	relayer := []string{identity.RoleRelayer}
	return []modules.MsgType{
		{TypeURL: TypeUpdateClient, Decode: DecodeUpdateClient, Roles: relayer, Handle: func(ctx *modules.Context, msg txs.Msg) error {
			return updateClient(ctx, msg.(*MsgUpdateClient))
		}},
		{TypeURL: TypeMisbehaviour, Decode: DecodeMisbehaviour, Handle: func(ctx *modules.Context, msg txs.Msg) error {
			return submitMisbehaviour(ctx, msg.(*MsgSubmitMisbehaviour))
		}},
		{TypeURL: TypeRecvPacket, Decode: DecodeRecvPacket, Roles: relayer, Handle: func(ctx *modules.Context, msg txs.Msg) error {
			return m.recvPacket(ctx, msg.(*MsgRecvPacket))
		}},
		{TypeURL: TypeAcknowledge, Decode: DecodeAcknowledge, Roles: relayer, Handle: func(ctx *modules.Context, msg txs.Msg) error {
			return m.acknowledge(ctx, msg.(*MsgAcknowledge))
		}},
		{TypeURL: TypeRecvPackets, Decode: DecodeRecvPackets, Roles: relayer, Handle: func(ctx *modules.Context, msg txs.Msg) error {
			return m.recvPackets(ctx, msg.(*MsgRecvPackets))
		}},
		{TypeURL: TypeAcknowledgePackets, Decode: DecodeAcknowledgePackets, Roles: relayer, Handle: func(ctx *modules.Context, msg txs.Msg) error {
			return m.acknowledgePackets(ctx, msg.(*MsgAcknowledgePackets))
		}},
		{TypeURL: TypeTimeout, Decode: DecodeTimeout, Roles: relayer, Handle: func(ctx *modules.Context, msg txs.Msg) error {
			return m.timeout(ctx, msg.(*MsgTimeout))
		}},
	}
}

// InitGenesis implements modules.Module: clients and routes are created by governance,
// so the genesis state is empty.
func (m *Module) InitGenesis(_ *modules.Context, raw json.RawMessage) error {
	if len(raw) > 0 && string(raw) != "null" && string(raw) != "{}" {
		return fmt.Errorf("xchain genesis: expected no state (clients and routes are created by governance)")
	}
	return nil
}

// Validate checks client parameters as governance proposes them, filling in defaults.
func (p *ClientParams) Validate() error { return p.normalize() }

// Validate checks route parameters as governance proposes them.
func (p *RouteParams) Validate() error { return p.validate() }

// CreateClient creates a client (governance's create_client).
func (m *Module) CreateClient(ctx *modules.Context, p *ClientParams) error {
	return createClient(ctx.For(Name), p)
}

// ReplaceClient replaces a client's state (governance's replace_client).
func (m *Module) ReplaceClient(ctx *modules.Context, p *ClientParams) error {
	return replaceClient(ctx.For(Name), p)
}

// OpenRoute opens a route (governance's open_route).
func (m *Module) OpenRoute(ctx *modules.Context, p *RouteParams) error {
	return m.openRoute(ctx.For(Name), p)
}

// CloseRoute closes a route (governance's close_route): nothing more is sent or
// received on it; packets in flight can still be acknowledged or timed out.
func (m *Module) CloseRoute(ctx *modules.Context, id string) error {
	x := ctx.For(Name)
	r, err := route(x.Store, id)
	if err != nil {
		return err
	}
	if r.Status == RouteClosed {
		return errcode.New(errcode.Closed, "route %s is closed already", id)
	}
	closeRoute(x, r, "governance")
	return nil
}

// Query paths.
const (
	QueryClient    = "client"    // data: client id; value: ClientView
	QueryClients   = "clients"   // value: []ClientView, by id
	QueryConsensus = "consensus" // data: "<client>/<height>"; value: ConsensusState (provable)
	QueryRoute     = "route"     // data: route id; value: Route (provable)
	QueryRoutes    = "routes"    // value: []Route, by id
	QueryPacket    = "packet"    // data: "<route>/<sequence>"; value: PacketView
	QueryPending   = "pending"   // data: "<route>/<from sequence>"; value: PendingPage
)

// ClientView is a client with its status at the time of the last block.
type ClientView struct {
	*ClientState
	Status string          `json:"status"`
	Latest *ConsensusState `json:"latest"`
	// ProvenHeight is the highest proof height the client accepts proofs at: its
	// latest height, or one more if its latest consensus state has an attested state
	// root.
	ProvenHeight int64 `json:"proven_height"`
}

// Proven returns the highest proof height the client accepts: ProvenHeight, or the
// latest height from a node of an earlier version, which reports none.
func (v *ClientView) Proven() int64 { return max(v.LatestHeight, v.ProvenHeight) }

func newClientView(c *ClientState, status string, latest *ConsensusState) *ClientView {
	v := &ClientView{ClientState: c, Status: status, Latest: latest, ProvenHeight: c.LatestHeight}
	if latest != nil && len(latest.StateRoot) > 0 {
		v.ProvenHeight++
	}
	return v
}

// PacketView is what this chain knows of a packet on one of its routes: as its
// source (sent, acknowledged, timed out) and as its destination (received, ack hash).
type PacketView struct {
	Route    string `json:"route"`
	Sequence uint64 `json:"sequence"`
	// State is sent, acknowledged or timed_out for a packet this chain sent, "" if it
	// sent no such packet.
	State      string   `json:"state"`
	Commitment []byte   `json:"commitment,omitempty"`
	Outcome    *Outcome `json:"outcome,omitempty"`
	// Received reports whether this chain received the counterparty's packet of this
	// sequence on the route; AckHash is the hash of the acknowledgement it wrote.
	Received bool   `json:"received"`
	AckHash  []byte `json:"ack_hash,omitempty"`
}

// PendingPage lists the sequences of packets sent on a route and not settled yet.
type PendingPage struct {
	Sequences []uint64 `json:"sequences"`
	// Next is the sequence to ask from for the next page; 0 at the end.
	Next uint64 `json:"next"`
}

// MaxPendingPage bounds a pending query's answer.
const MaxPendingPage = 1000

func routeSeq(path string, data []byte) (string, uint64, error) {
	id, n, ok := strings.Cut(string(data), "/")
	seq, err := strconv.ParseUint(n, 10, 64)
	if !ok || err != nil || validID("route", id) != nil {
		return "", 0, errcode.New(errcode.InvalidRequest, "query %s: %q: expected <route>/<sequence>", path, data)
	}
	return id, seq, nil
}

// Query implements modules.Module.
func (m *Module) Query(ctx *modules.QueryContext, path string, data []byte) ([]byte, []byte, error) {
	kv := ctx.Store
	switch path {
	case QueryClient:
		c, status, err := clientStatus(kv, string(data), ctx.Time)
		if err != nil {
			return nil, nil, err
		}
		latest, _ := GetConsensusState(kv, c.ID, c.LatestHeight)
		return nil, modules.MustJSON(newClientView(c, status, latest)), nil
	case QueryClients:
		out := []*ClientView{}
		var ids []string
		kv.Iterate([]byte("clients/"), store.PrefixEnd([]byte("clients/")), func(k, _ []byte) bool {
			ids = append(ids, string(k[len("clients/"):]))
			return len(ids) < MaxPendingPage
		})
		for _, id := range ids {
			c, status, err := clientStatus(kv, id, ctx.Time)
			if err != nil {
				return nil, nil, err
			}
			latest, _ := GetConsensusState(kv, id, c.LatestHeight)
			out = append(out, newClientView(c, status, latest))
		}
		return nil, modules.MustJSON(out), nil
	case QueryConsensus:
		id, n, ok := strings.Cut(string(data), "/")
		h, err := strconv.ParseInt(n, 10, 64)
		if !ok || err != nil || h <= 0 {
			return nil, nil, errcode.New(errcode.InvalidRequest, "query consensus: %q: expected <client>/<height>", data)
		}
		k := consensusKey(id, h)
		if v := kv.Get(k); v != nil {
			return k, v, nil
		}
		return k, nil, errcode.New(errcode.NotFound, "client %s has no consensus state at height %d", id, h)
	case QueryRoute:
		k := routeKey(string(data))
		if v := kv.Get(k); v != nil {
			return k, v, nil
		}
		return k, nil, errcode.New(errcode.NotFound, "no route %q", data)
	case QueryRoutes:
		out := []json.RawMessage{}
		kv.Iterate([]byte("routes/"), store.PrefixEnd([]byte("routes/")), func(_, v []byte) bool {
			out = append(out, bytes.Clone(v))
			return len(out) < MaxPendingPage
		})
		return nil, modules.MustJSON(out), nil
	case QueryPacket:
		id, seq, err := routeSeq(path, data)
		if err != nil {
			return nil, nil, err
		}
		if r, err := GetRoute(kv, id); err != nil {
			return nil, nil, err
		} else if r == nil {
			return nil, nil, errcode.New(errcode.NotFound, "no route %q", id)
		}
		v := &PacketView{Route: id, Sequence: seq, Commitment: kv.Get(commitmentKey(id, seq)), AckHash: kv.Get(ackKey(id, seq))}
		if v.Commitment != nil {
			v.State = PacketPending
		} else if out, err := GetOutcome(kv, id, seq); err != nil {
			return nil, nil, err
		} else if out != nil {
			v.Outcome, v.State = out, out.State
		}
		v.Received = v.AckHash != nil
		if v.State == "" && !v.Received {
			return nil, modules.MustJSON(v), errcode.New(errcode.NotFound, "route %s has no packet %d, sent or received", id, seq)
		}
		return nil, modules.MustJSON(v), nil
	case QueryPending:
		id, from, err := routeSeq(path, data)
		if err != nil {
			return nil, nil, err
		}
		page := &PendingPage{Sequences: []uint64{}}
		pre := commitmentPrefix(id)
		kv.Iterate(append(bytes.Clone(pre), seqBytes(from)...), store.PrefixEnd(pre), func(k, _ []byte) bool {
			seq := binary.BigEndian.Uint64(k[len(pre):])
			if len(page.Sequences) == MaxPendingPage {
				page.Next = seq
				return false
			}
			page.Sequences = append(page.Sequences, seq)
			return true
		})
		return nil, modules.MustJSON(page), nil
	}
	return nil, nil, errcode.New(errcode.InvalidRequest, "unknown xchain query %q: expected client, clients, consensus, route, routes, packet or pending", path)
}

// RouteChain returns the chain id of the counterparty of a route (ctx may be any
// module's context).
func (m *Module) RouteChain(ctx *modules.Context, routeID string) (string, error) {
	x := ctx.For(Name)
	r, err := route(x.Store, routeID)
	if err != nil {
		return "", err
	}
	c, err := GetClient(x.Store, r.Client)
	if err != nil {
		return "", err
	}
	if c == nil {
		return "", errcode.New(errcode.NotFound, "route %s: no client %q", routeID, r.Client)
	}
	return c.ChainID, nil
}
