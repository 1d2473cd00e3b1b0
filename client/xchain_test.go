package client

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	cmtjson "github.com/cometbft/cometbft/libs/json"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules/attest"
	"github.com/lianchain/lian/modules/message"
	"github.com/lianchain/lian/modules/xchain"
	"github.com/lianchain/lian/modules/xchain/xchaintest"
)

func TestXChainQueries(t *testing.T) {
	f, c := newFake(t)
	ctx := context.Background()
	const chain = "beijing-1"
	x := "GET /v1/chains/beijing-1/xchain"

	cs := &xchain.ClientState{ID: "guangzhou-1", ChainID: "guangzhou-1", LatestHeight: 40, TrustLevel: xchain.DefaultTrustLevel}
	latest := &xchain.ConsensusState{Height: 40, Time: time.Unix(1e9, 0).UTC()}
	view := xchain.ClientView{ClientState: cs, Status: xchain.StatusActive, Latest: latest}
	f.json(x+"/clients", 200, api.XClients{Clients: []json.RawMessage{rawJSON(t, view)}, Next: "guangzhou-1", Height: 9})
	cl, err := c.LightClients(ctx, chain, PageQuery{Limit: 1, Cursor: "a"})
	if err != nil || len(cl.Clients) != 1 || cl.Clients[0].ChainID != "guangzhou-1" || cl.Clients[0].Status != xchain.StatusActive ||
		cl.Clients[0].Latest.Height != 40 || cl.Next != "guangzhou-1" || cl.Height != 9 {
		t.Fatalf("clients %+v, %v", cl, err)
	}
	if got := f.last(); got != "GET /v1/chains/beijing-1/xchain/clients?cursor=a&limit=1" {
		t.Errorf("request %s", got)
	}
	f.json(x+"/clients/guangzhou-1", 200, api.XClient{Client: rawJSON(t, view), Height: 9})
	one, err := c.LightClient(ctx, chain, "guangzhou-1")
	if err != nil || one.Client.LatestHeight != 40 || one.Height != 9 {
		t.Fatalf("client %+v, %v", one, err)
	}
	f.json(x+"/clients/shanghai-1", 200, api.XClient{Client: rawJSON(t, view), Height: 9})
	_, err = c.LightClient(ctx, chain, "shanghai-1")
	wantError(t, err, 200, "internal") // the gateway answered about another client

	rt := xchain.Route{ID: "attest-guangzhou-1", Port: attest.Name, Client: "guangzhou-1", CounterpartyRoute: "attest-beijing-1",
		CounterpartyPort: attest.Name, Status: xchain.RouteOpen}
	f.json(x+"/routes", 200, api.XRoutes{Routes: []json.RawMessage{rawJSON(t, rt)}, Height: 9})
	rl, err := c.Routes(ctx, chain, PageQuery{})
	if err != nil || len(rl.Routes) != 1 || rl.Routes[0] != rt {
		t.Fatalf("routes %+v, %v", rl, err)
	}
	f.json(x+"/routes/attest-guangzhou-1", 200, api.XRoute{Route: rawJSON(t, rt), NextSequence: 8, Height: 9})
	ri, err := c.Route(ctx, chain, rt.ID)
	if err != nil || ri.Route != rt || ri.NextSequence != 8 {
		t.Fatalf("route %+v, %v", ri, err)
	}

	pv := xchain.PacketView{Route: rt.ID, Sequence: 7, State: xchain.PacketAcknowledged, Outcome: &xchain.Outcome{State: xchain.PacketAcknowledged, ProofHeight: 41, Height: 12}}
	f.json(x+"/routes/attest-guangzhou-1/packets/7", 200, api.XPacket{Packet: rawJSON(t, pv), Height: 12})
	p, err := c.Packet(ctx, chain, rt.ID, 7)
	if err != nil || p.Packet.State != xchain.PacketAcknowledged || p.Packet.Outcome.ProofHeight != 41 {
		t.Fatalf("packet %+v, %v", p, err)
	}
	f.json(x+"/routes/attest-guangzhou-1/packets", 200, api.XPackets{Packets: []json.RawMessage{rawJSON(t, pv)}, Next: "7", NextSequence: 8, Height: 12})
	pl, err := c.Packets(ctx, chain, rt.ID, PageQuery{Limit: 1})
	if err != nil || len(pl.Packets) != 1 || pl.Next != "7" || pl.NextSequence != 8 {
		t.Fatalf("packets %+v, %v", pl, err)
	}
	f.json(x+"/routes/attest-guangzhou-1/pending", 200, api.XPending{Sequences: []uint64{5, 6}, Next: "7", Height: 12})
	pend, err := c.PendingPackets(ctx, chain, rt.ID, PageQuery{Limit: 2, Cursor: "5"})
	if err != nil || len(pend.Sequences) != 2 || pend.Next != "7" {
		t.Fatalf("pending %+v, %v", pend, err)
	}
	if got := f.last(); got != "GET /v1/chains/beijing-1/xchain/routes/attest-guangzhou-1/pending?cursor=5&limit=2" {
		t.Errorf("request %s", got)
	}

	digest := bytes.Repeat([]byte{0xAB}, 32)
	req := attest.Request{Route: rt.ID, Sequence: 7, ChainID: "guangzhou-1", Digest: digest, Status: attest.StatusAnswered}
	f.json(x+"/routes/attest-guangzhou-1/requests/7", 200, api.XRecord{Record: rawJSON(t, req), Height: 12})
	gotReq, h, err := c.AttestRequest(ctx, chain, rt.ID, 7)
	if err != nil || gotReq.Status != attest.StatusAnswered || h != 12 {
		t.Fatalf("request %+v %d, %v", gotReq, h, err)
	}
	sent := message.Sent{Route: "message-guangzhou-1", Sequence: 3, Handler: "orders", Status: message.StatusDelivered}
	f.json(x+"/routes/message-guangzhou-1/messages/3", 200, api.XRecord{Record: rawJSON(t, sent), Height: 12})
	gotSent, _, err := c.SentMessage(ctx, chain, "message-guangzhou-1", 3)
	if err != nil || gotSent.Status != message.StatusDelivered {
		t.Fatalf("sent %+v, %v", gotSent, err)
	}
	in := message.Delivered{ChainID: "guangzhou-1", Route: "message-guangzhou-1", Sequence: 2, Handler: "orders", Payload: []byte("x")}
	f.json(x+"/inbox/orders/message-guangzhou-1/2", 200, api.XRecord{Record: rawJSON(t, in), Height: 12})
	gotIn, _, err := c.InboxMessage(ctx, chain, "orders", "message-guangzhou-1", 2)
	if err != nil || string(gotIn.Payload) != "x" {
		t.Fatalf("inbox %+v, %v", gotIn, err)
	}

	att := attest.Attestation{ChainID: "guangzhou-1", Digest: digest, Found: false, ProofHeight: 41, Route: rt.ID, Sequence: 7}
	f.json(x+"/attestations/guangzhou-1/"+strings.Repeat("AB", 32), 200, api.XAttestation{Attestation: rawJSON(t, att), Height: 12})
	ai, err := c.AttestationRecord(ctx, chain, "guangzhou-1", digest)
	if err != nil || ai.Attestation.Found || ai.Attestation.ProofHeight != 41 || ai.Height != 12 {
		t.Fatalf("attestation %+v, %v", ai, err)
	}
	_, err = c.Attestation(ctx, chain, "guangzhou-1", digest, true) // the fake sends no proof
	wantError(t, err, 200, "internal")
	_, err = c.AttestationRecord(ctx, chain, "shanghai-1", digest)
	wantError(t, err, 404, "not_found")

	// Arguments refused before any request.
	n := len(f.reqs)
	bad := []struct {
		name string
		call func() error
	}{
		{"client id with upper case", func() error { _, err := c.LightClient(ctx, chain, "Guangzhou"); return err }},
		{"empty route", func() error { _, err := c.Route(ctx, chain, ""); return err }},
		{"route with a slash", func() error { _, err := c.Packet(ctx, chain, "a/b", 1); return err }},
		{"sequence 0", func() error { _, err := c.Packet(ctx, chain, rt.ID, 0); return err }},
		{"request sequence 0", func() error { _, _, err := c.AttestRequest(ctx, chain, rt.ID, 0); return err }},
		{"bad handler", func() error { _, _, err := c.InboxMessage(ctx, chain, "Orders", rt.ID, 1); return err }},
		{"pending limit", func() error { _, err := c.PendingPackets(ctx, chain, rt.ID, PageQuery{Limit: 1001}); return err }},
		{"page limit", func() error { _, err := c.Routes(ctx, chain, PageQuery{Limit: 101}); return err }},
		{"short digest", func() error { _, err := c.Attestation(ctx, chain, "guangzhou-1", digest[:31], false); return err }},
		{"source with a slash", func() error { _, err := c.Attestation(ctx, chain, "a/b", digest, false); return err }},
		{"no chain", func() error { _, err := c.LightClients(ctx, "", PageQuery{}); return err }},
	}
	for _, b := range bad {
		if err := b.call(); errcode.Of(err) != errcode.InvalidRequest {
			t.Errorf("%s: %v, want invalid_request", b.name, err)
		}
	}
	if len(f.reqs) != n {
		t.Errorf("refused arguments sent %d requests", len(f.reqs)-n)
	}
}

func TestFindRoute(t *testing.T) {
	open := func(id, port, client string) xchain.Route {
		return xchain.Route{ID: id, Port: port, Client: client, CounterpartyRoute: "x", CounterpartyPort: port, Status: xchain.RouteOpen}
	}
	closed := open("attest-old", attest.Name, "gz")
	closed.Status = xchain.RouteClosed
	clients := []xchain.ClientView{
		{ClientState: &xchain.ClientState{ID: "gz", ChainID: "guangzhou-1"}},
		{ClientState: &xchain.ClientState{ID: "gz-2", ChainID: "guangzhou-1"}},
		{ClientState: &xchain.ClientState{ID: "sh", ChainID: "shanghai-1"}},
	}
	cases := []struct {
		name   string
		routes []xchain.Route
		port   string
		to     string
		want   string
		code   errcode.Code
	}{
		{"the one route", []xchain.Route{open("attest-gz", attest.Name, "gz"), open("message-gz", message.Name, "gz")}, attest.Name, "guangzhou-1", "attest-gz", 0},
		{"by port", []xchain.Route{open("attest-gz", attest.Name, "gz"), open("message-gz", message.Name, "gz")}, message.Name, "guangzhou-1", "message-gz", 0},
		{"closed routes do not count", []xchain.Route{closed, open("attest-sh", attest.Name, "sh")}, attest.Name, "guangzhou-1", "", errcode.NotFound},
		{"no client of the chain", []xchain.Route{open("attest-gz", attest.Name, "gz")}, attest.Name, "chengdu-1", "", errcode.NotFound},
		{"two clients of one chain", []xchain.Route{open("attest-gz", attest.Name, "gz"), open("attest-gz2", attest.Name, "gz-2")}, attest.Name, "guangzhou-1", "", errcode.InvalidRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, c := newFake(t)
			raws := func(n int, item func(i int) any) []json.RawMessage {
				out := make([]json.RawMessage, n)
				for i := range out {
					out[i] = rawJSON(t, item(i))
				}
				return out
			}
			f.json("GET /v1/chains/beijing-1/xchain/routes", 200, api.XRoutes{Routes: raws(len(tc.routes), func(i int) any { return tc.routes[i] }), Height: 3})
			f.json("GET /v1/chains/beijing-1/xchain/clients", 200, api.XClients{Clients: raws(len(clients), func(i int) any { return clients[i] }), Height: 3})
			r, err := c.FindRoute(context.Background(), "beijing-1", tc.port, tc.to)
			if tc.code != 0 {
				if errcode.Of(err) != tc.code {
					t.Fatalf("route %+v, err %v; want %s", r, err, tc.code)
				}
				return
			}
			if err != nil || r.ID != tc.want {
				t.Fatalf("route %+v, err %v; want %s", r, err, tc.want)
			}
		})
	}
}

func TestXChainBuilders(t *testing.T) {
	d := bytes.Repeat([]byte{1}, 32)
	cases := []struct {
		name string
		make func() (any, error)
		code errcode.Code
	}{
		{"attest", func() (any, error) { return NewAttest("attest-gz", d, 0) }, 0},
		{"attest with a timeout", func() (any, error) { return NewAttest("attest-gz", d, 10*time.Minute) }, 0},
		{"attest: short digest", func() (any, error) { return NewAttest("attest-gz", d[:31], 0) }, errcode.InvalidMessage},
		{"attest: no route", func() (any, error) { return NewAttest("", d, 0) }, errcode.InvalidMessage},
		{"attest: fractional timeout", func() (any, error) { return NewAttest("attest-gz", d, 1500*time.Millisecond) }, errcode.InvalidRequest},
		{"attest: timeout beyond a week", func() (any, error) { return NewAttest("attest-gz", d, 8*24*time.Hour) }, errcode.InvalidRequest},
		{"attest: negative timeout", func() (any, error) { return NewAttest("attest-gz", d, -time.Second) }, errcode.InvalidRequest},
		{"send", func() (any, error) { return NewSendMessage("message-gz", "orders", []byte("{}"), 0) }, 0},
		{"send: bad handler", func() (any, error) { return NewSendMessage("message-gz", "Orders", nil, 0) }, errcode.InvalidMessage},
		{"send: payload too large", func() (any, error) {
			return NewSendMessage("message-gz", "orders", make([]byte, message.MaxPayloadBytes+1), 0)
		}, errcode.InvalidMessage},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := tc.make()
			if errcode.Of(err) != tc.code {
				t.Fatalf("%+v, %v; want code %s", m, err, tc.code)
			}
		})
	}
	m, _ := NewAttest("attest-gz", d, 10*time.Minute)
	if m.TimeoutSeconds != 600 || !bytes.Equal(m.Digest, d) {
		t.Fatalf("attest %+v", m)
	}
}

func TestPacketOf(t *testing.T) {
	p := &xchain.Packet{Sequence: 3, SourceRoute: "attest-gz", DestRoute: "attest-bj", Payload: []byte{1, 2}, TimeoutTime: 99}
	ev := func(kv ...string) *api.TxResult {
		e := api.Event{Type: xchain.EventSendPacket}
		for i := 0; i < len(kv); i += 2 {
			e.Attributes = append(e.Attributes, api.Attribute{Key: kv[i], Value: kv[i+1]})
		}
		return &api.TxResult{Events: []api.Event{{Type: "lian.tx"}, e}}
	}
	good := []string{"packet", "attest-gz/3", "source_route", "attest-gz", "dest_route", "attest-bj", "sequence", "3",
		"payload", hex.EncodeToString(p.Payload), "timeout_height", "0", "timeout_time", "99"}
	got, err := PacketOf(ev(good...))
	if err != nil || got.ID() != p.ID() || !bytes.Equal(xchain.Commitment(got), xchain.Commitment(p)) {
		t.Fatalf("packet %+v, %v", got, err)
	}
	with := func(k, v string) []string {
		out := append([]string{}, good...)
		for i := 0; i < len(out); i += 2 {
			if out[i] == k {
				out[i+1] = v
			}
		}
		return out
	}
	for name, res := range map[string]*api.TxResult{
		"no event":           {Events: []api.Event{{Type: "lian.tx"}}},
		"bad sequence":       ev(with("sequence", "x")...),
		"bad payload":        ev(with("payload", "zz")...),
		"bad timeout":        ev(with("timeout_time", "-1")...),
		"no timeout at all":  ev(with("timeout_time", "0")...),
		"nil result":         nil,
		"bad timeout height": ev(with("timeout_height", "")...),
	} {
		if _, err := PacketOf(res); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestTrustedHeader(t *testing.T) {
	f, c := newFake(t)
	v := xchaintest.NewValidators("th", 4)
	sh := v.Sign(xchaintest.Header{ChainID: "guangzhou-1", Height: 12, Time: time.Unix(1e9, 0).UTC(), AppHash: bytes.Repeat([]byte{7}, 32)})
	hj, err := cmtjson.Marshal(sh.Header)
	if err != nil {
		t.Fatal(err)
	}
	f.json("GET /v1/chains/guangzhou-1/blocks/12", 200, api.Block{Height: 12, Hash: sh.Hash().String(), Header: hj})
	cs, h, err := c.TrustedHeader(context.Background(), "guangzhou-1", 12)
	if err != nil || cs.Height != 12 || !bytes.Equal(cs.HeaderHash, sh.Hash()) || !bytes.Equal(cs.AppHash, sh.AppHash) ||
		!bytes.Equal(cs.NextValidatorsHash, v.Set.Hash()) || h.Height != 12 {
		t.Fatalf("consensus state %+v, %v", cs, err)
	}
	p := xchain.ClientParams{ChainID: "guangzhou-1", TrustingPeriod: xchain.Duration(time.Hour), ConsensusState: cs}
	if err := p.Validate(); err != nil {
		t.Fatalf("client params from the header: %v", err)
	}
	// A block whose hash is not its header's, or of another chain, is refused.
	f.json("GET /v1/chains/guangzhou-1/blocks/13", 200, api.Block{Height: 13, Hash: sh.Hash().String(), Header: hj})
	_, _, err = c.TrustedHeader(context.Background(), "guangzhou-1", 13)
	wantError(t, err, 200, "internal")
	f.json("GET /v1/chains/shanghai-1/blocks/latest", 200, api.Block{Height: 12, Hash: sh.Hash().String(), Header: hj})
	_, _, err = c.TrustedHeader(context.Background(), "shanghai-1", 0)
	wantError(t, err, 200, "internal")
}
