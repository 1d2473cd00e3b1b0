package gateway

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	cmtbytes "github.com/cometbft/cometbft/libs/bytes"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/app"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules/attest"
	"github.com/lianchain/lian/modules/message"
	"github.com/lianchain/lian/modules/xchain"
)

// The cross-chain routes, GET /v1/chains/{chain}/xchain/…: the chain's light clients of
// other chains, its routes, the packets sent and received on them, and the records of
// the attest and message applications. See docs/cross-chain.md and docs/gateway.md.

// Query paths of the cross-chain routes.
var (
	pathXClient      = "/" + xchain.Name + "/" + xchain.QueryClient
	pathXClients     = "/" + xchain.Name + "/" + xchain.QueryClients
	pathXRoute       = "/" + xchain.Name + "/" + xchain.QueryRoute
	pathXRoutes      = "/" + xchain.Name + "/" + xchain.QueryRoutes
	pathXPacket      = "/" + xchain.Name + "/" + xchain.QueryPacket
	pathXPending     = "/" + xchain.Name + "/" + xchain.QueryPending
	pathAttestation  = "/" + attest.Name + "/" + attest.QueryAttestation
	pathAttestReq    = "/" + attest.Name + "/" + attest.QueryRequest
	pathMessageSent  = "/" + message.Name + "/" + message.QuerySent
	pathMessageInbox = "/" + message.Name + "/" + message.QueryInbox
)

// Page sizes of the cross-chain list routes.
const (
	// DefaultPacketPageLimit is the default ?limit= of GET …/xchain/routes/{route}/packets.
	DefaultPacketPageLimit = 20
	// DefaultPendingLimit is the default ?limit= of GET …/xchain/routes/{route}/pending.
	DefaultPendingLimit = 100
	// packetFetchers bounds the packet queries of one request in flight at once.
	packetFetchers = 8
)

func (g *Gateway) xchainRoutes(m *routeMux) {
	m.Handle("GET /v1/chains/{chain}/xchain/clients", g.wrap(g.listXClients))
	m.Handle("GET /v1/chains/{chain}/xchain/clients/{client}", g.wrap(g.getXClient))
	m.Handle("GET /v1/chains/{chain}/xchain/routes", g.wrap(g.listXRoutes))
	m.Handle("GET /v1/chains/{chain}/xchain/routes/{route}", g.wrap(g.getXRoute))
	m.Handle("GET /v1/chains/{chain}/xchain/routes/{route}/packets", g.wrap(g.listXPackets))
	m.Handle("GET /v1/chains/{chain}/xchain/routes/{route}/packets/{sequence}", g.wrap(g.getXPacket))
	m.Handle("GET /v1/chains/{chain}/xchain/routes/{route}/pending", g.wrap(g.listXPending))
	m.Handle("GET /v1/chains/{chain}/xchain/routes/{route}/requests/{sequence}", g.wrap(g.getAttestRequest))
	m.Handle("GET /v1/chains/{chain}/xchain/routes/{route}/messages/{sequence}", g.wrap(g.getSentMessage))
	m.Handle("GET /v1/chains/{chain}/xchain/inbox/{handler}/{route}/{sequence}", g.wrap(g.getInboxMessage))
	m.Handle("GET /v1/chains/{chain}/xchain/attestations/{source_chain}/{digest}", g.wrap(g.getAttestation))
}

// parseXID checks a client, route or handler id as the chain does: 1-64 bytes of a-z,
// 0-9, '.', '_', '-', starting with a letter or digit.
func parseXID(what, s string) (string, error) {
	ok := s != "" && len(s) <= xchain.MaxIDBytes
	for i := 0; ok && i < len(s); i++ {
		c := s[i]
		ok = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || i > 0 && (c == '.' || c == '_' || c == '-')
	}
	if !ok {
		return "", errorf(errcode.InvalidRequest, "%s %q: expected 1-%d lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
			what, truncate(s, 80), xchain.MaxIDBytes)
	}
	return s, nil
}

// checkHandler checks a message handler's name as the chain does: 1-64 of a-z, 0-9,
// '.', '_' and '-'.
func checkHandler(h string) error {
	ok := h != "" && len(h) <= 64
	for i := 0; ok && i < len(h); i++ {
		c := h[i]
		ok = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
	}
	if !ok {
		return errorf(errcode.InvalidRequest, "handler %q: expected 1-64 of a-z, 0-9, '.', '_' and '-'", truncate(h, 80))
	}
	return nil
}

// parseSequence parses a packet sequence: a positive integer.
func parseSequence(s string) (uint64, error) { return parseID("sequence", s) }

// xRecord runs a record query at the latest height and returns it as an api.XRecord.
func (g *Gateway) xRecord(r *http.Request, path string, data []byte, what string) (int, any, error) {
	c, err := g.chainOf(r)
	if err != nil {
		return 0, nil, err
	}
	v, h, err := c.record(r.Context(), path, data, what)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, &api.XRecord{Record: v, Height: h}, nil
}

// listXClients is GET /v1/chains/{chain}/xchain/clients[?limit=][&cursor=].
func (g *Gateway) listXClients(r *http.Request) (int, any, error) {
	return g.idPage(r, pathXClients, "client", func(list []json.RawMessage, next string, h int64) any {
		return api.XClients{Clients: list, Next: next, Height: h}
	})
}

// listXRoutes is GET /v1/chains/{chain}/xchain/routes[?limit=][&cursor=].
func (g *Gateway) listXRoutes(r *http.Request) (int, any, error) {
	return g.idPage(r, pathXRoutes, "route", func(list []json.RawMessage, next string, h int64) any {
		return api.XRoutes{Routes: list, Next: next, Height: h}
	})
}

// idPage answers a page of a query whose value is a JSON array of records with an
// "id", sorted by it: ?limit= records after ?cursor= (an id).
func (g *Gateway) idPage(r *http.Request, path, what string, doc func([]json.RawMessage, string, int64) any) (int, any, error) {
	c, err := g.chainOf(r)
	if err != nil {
		return 0, nil, err
	}
	q := r.URL.Query()
	limit, err := parseLimit(q, MaxPageLimit, MaxPageLimit)
	if err != nil {
		return 0, nil, err
	}
	cursor := q.Get("cursor")
	if cursor != "" {
		if _, err := parseXID("cursor", cursor); err != nil {
			return 0, nil, errorf(errcode.InvalidRequest, "cursor=%q: expected the next cursor of a previous page (a %s id)", truncate(cursor, 80), what)
		}
	}
	var out any
	err = c.do(r.Context(), func(ctx context.Context, n *rpcNode) error {
		list, height, err := n.getJSONList(ctx, path, nil, 0)
		if err != nil {
			return err
		}
		type keyed struct {
			id  string
			raw json.RawMessage
		}
		items := make([]keyed, len(list))
		for i, raw := range list {
			var v struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(raw, &v); err != nil || v.ID == "" {
				return errorf(errcode.Internal, "%s record without an id: %s", what, truncate(string(raw), 100))
			}
			items[i] = keyed{v.ID, raw}
		}
		page, next := pageOf(items, func(k keyed) string { return k.id }, cursor, limit)
		recs := make([]json.RawMessage, len(page))
		for i, k := range page {
			recs[i] = k.raw
		}
		out = doc(recs, next, height)
		return nil
	})
	if err != nil {
		return 0, nil, nodeError(err, "")
	}
	return http.StatusOK, out, nil
}

// getXClient is GET /v1/chains/{chain}/xchain/clients/{client}.
func (g *Gateway) getXClient(r *http.Request) (int, any, error) {
	c, err := g.chainOf(r)
	if err != nil {
		return 0, nil, err
	}
	id, err := parseXID("client", r.PathValue("client"))
	if err != nil {
		return 0, nil, err
	}
	v, h, err := c.record(r.Context(), pathXClient, []byte(id), "client "+id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, &api.XClient{Client: v, Height: h}, nil
}

// routeAt reads a route and its next send sequence at one height (0: the latest).
func (n *rpcNode) routeAt(ctx context.Context, id string, height int64) (json.RawMessage, uint64, int64, error) {
	res, err := n.get(ctx, pathXRoute, []byte(id), height)
	if err != nil {
		return nil, 0, 0, err
	}
	if !json.Valid(res.Value) {
		return nil, 0, 0, errorf(errcode.Internal, "route %s is not JSON", id)
	}
	seq, err := n.query(ctx, app.QueryStore, xchain.NextSendPath(id), res.Height, false)
	if err != nil {
		return nil, 0, 0, err
	}
	next := uint64(1) // sequences start at 1
	switch {
	case seq.Code == 0 && len(seq.Value) == 8:
		next = binary.BigEndian.Uint64(seq.Value)
	case seq.Code == 0:
		return nil, 0, 0, errorf(errcode.Internal, "next sequence of route %s is %d bytes, expected 8", id, len(seq.Value))
	case errcode.Code(seq.Code) != errcode.NotFound:
		return nil, 0, 0, appError(seq)
	}
	return res.Value, next, res.Height, nil
}

// getXRoute is GET /v1/chains/{chain}/xchain/routes/{route}.
func (g *Gateway) getXRoute(r *http.Request) (int, any, error) {
	c, err := g.chainOf(r)
	if err != nil {
		return 0, nil, err
	}
	id, err := parseXID("route", r.PathValue("route"))
	if err != nil {
		return 0, nil, err
	}
	var out *api.XRoute
	err = c.do(r.Context(), func(ctx context.Context, n *rpcNode) error {
		rt, next, h, err := n.routeAt(ctx, id, 0)
		if err != nil {
			return err
		}
		out = &api.XRoute{Route: rt, NextSequence: next, Height: h}
		return nil
	})
	if err != nil {
		return 0, nil, nodeError(err, "")
	}
	return http.StatusOK, out, nil
}

// listXPackets is GET /v1/chains/{chain}/xchain/routes/{route}/packets[?limit=][&cursor=]:
// the packets sent on the route below the cursor's sequence, newest first.
func (g *Gateway) listXPackets(r *http.Request) (int, any, error) {
	c, err := g.chainOf(r)
	if err != nil {
		return 0, nil, err
	}
	id, err := parseXID("route", r.PathValue("route"))
	if err != nil {
		return 0, nil, err
	}
	q := r.URL.Query()
	limit, err := parseLimit(q, DefaultPacketPageLimit, MaxPageLimit)
	if err != nil {
		return 0, nil, err
	}
	var before uint64
	if s := q.Get("cursor"); s != "" {
		if before, err = parseID("cursor", s); err != nil {
			return 0, nil, errorf(errcode.InvalidRequest, "cursor=%q: expected the next cursor of a previous page (a sequence)", truncate(s, 40))
		}
	}
	var out *api.XPackets
	err = c.do(r.Context(), func(ctx context.Context, n *rpcNode) error {
		_, next, h, err := n.routeAt(ctx, id, 0)
		if err != nil {
			return err
		}
		top := next - 1 // the last sequence sent
		if before != 0 && before-1 < top {
			top = before - 1
		}
		var seqs []uint64
		for s := top; s >= 1 && len(seqs) < limit; s-- {
			seqs = append(seqs, s)
		}
		list := make([]json.RawMessage, len(seqs))
		errs := make([]error, len(seqs))
		sem := make(chan struct{}, packetFetchers)
		var wg sync.WaitGroup
		for i, s := range seqs {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				res, err := n.get(ctx, pathXPacket, fmt.Appendf(nil, "%s/%d", id, s), h)
				if err == nil && !json.Valid(res.Value) {
					err = errorf(errcode.Internal, "packet %s/%d is not JSON", id, s)
				}
				if err == nil {
					list[i] = res.Value
				}
				errs[i] = err
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
		out = &api.XPackets{Packets: list, NextSequence: next, Height: h}
		if n := len(seqs); n > 0 && seqs[n-1] > 1 {
			out.Next = strconv.FormatUint(seqs[n-1], 10)
		}
		return nil
	})
	if err != nil {
		return 0, nil, nodeError(err, "")
	}
	return http.StatusOK, out, nil
}

// getXPacket is GET /v1/chains/{chain}/xchain/routes/{route}/packets/{sequence}.
func (g *Gateway) getXPacket(r *http.Request) (int, any, error) {
	c, err := g.chainOf(r)
	if err != nil {
		return 0, nil, err
	}
	id, err := parseXID("route", r.PathValue("route"))
	if err != nil {
		return 0, nil, err
	}
	seq, err := parseSequence(r.PathValue("sequence"))
	if err != nil {
		return 0, nil, err
	}
	v, h, err := c.record(r.Context(), pathXPacket, fmt.Appendf(nil, "%s/%d", id, seq), fmt.Sprintf("packet %s/%d", id, seq))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, &api.XPacket{Packet: v, Height: h}, nil
}

// listXPending is GET /v1/chains/{chain}/xchain/routes/{route}/pending[?limit=][&cursor=].
func (g *Gateway) listXPending(r *http.Request) (int, any, error) {
	c, err := g.chainOf(r)
	if err != nil {
		return 0, nil, err
	}
	id, err := parseXID("route", r.PathValue("route"))
	if err != nil {
		return 0, nil, err
	}
	q := r.URL.Query()
	limit, err := parseLimit(q, DefaultPendingLimit, xchain.MaxPendingPage)
	if err != nil {
		return 0, nil, err
	}
	from := uint64(1)
	if s := q.Get("cursor"); s != "" {
		if from, err = parseID("cursor", s); err != nil {
			return 0, nil, errorf(errcode.InvalidRequest, "cursor=%q: expected the next cursor of a previous page (a sequence)", truncate(s, 40))
		}
	}
	var out *api.XPending
	err = c.do(r.Context(), func(ctx context.Context, n *rpcNode) error {
		// The route must exist: an unknown route is not_found, not an empty list.
		rt, err := n.get(ctx, pathXRoute, []byte(id), 0)
		if err != nil {
			return err
		}
		res, err := n.get(ctx, pathXPending, fmt.Appendf(nil, "%s/%d", id, from), rt.Height)
		if err != nil {
			return err
		}
		var page xchain.PendingPage
		if err := json.Unmarshal(res.Value, &page); err != nil {
			return errorf(errcode.Internal, "pending packets of %s: %v", id, err)
		}
		out = &api.XPending{Sequences: page.Sequences, Height: res.Height}
		if out.Sequences == nil {
			out.Sequences = []uint64{}
		}
		switch {
		case len(page.Sequences) > limit:
			out.Next = strconv.FormatUint(page.Sequences[limit], 10)
			out.Sequences = page.Sequences[:limit]
		case page.Next != 0:
			out.Next = strconv.FormatUint(page.Next, 10)
		}
		return nil
	})
	if err != nil {
		return 0, nil, nodeError(err, "")
	}
	return http.StatusOK, out, nil
}

// getAttestRequest is GET /v1/chains/{chain}/xchain/routes/{route}/requests/{sequence}:
// an attestation this chain asked for.
func (g *Gateway) getAttestRequest(r *http.Request) (int, any, error) {
	id, err := parseXID("route", r.PathValue("route"))
	if err != nil {
		return 0, nil, err
	}
	seq, err := parseSequence(r.PathValue("sequence"))
	if err != nil {
		return 0, nil, err
	}
	return g.xRecord(r, pathAttestReq, fmt.Appendf(nil, "%s/%d", id, seq), "attestation request")
}

// getSentMessage is GET /v1/chains/{chain}/xchain/routes/{route}/messages/{sequence}: a
// message this chain sent, with its delivery status.
func (g *Gateway) getSentMessage(r *http.Request) (int, any, error) {
	id, err := parseXID("route", r.PathValue("route"))
	if err != nil {
		return 0, nil, err
	}
	seq, err := parseSequence(r.PathValue("sequence"))
	if err != nil {
		return 0, nil, err
	}
	return g.xRecord(r, pathMessageSent, fmt.Appendf(nil, "%s/%d", id, seq), "sent message")
}

// getInboxMessage is GET /v1/chains/{chain}/xchain/inbox/{handler}/{route}/{sequence}: a
// message delivered to a handler of this chain.
func (g *Gateway) getInboxMessage(r *http.Request) (int, any, error) {
	handler := r.PathValue("handler")
	if err := checkHandler(handler); err != nil {
		return 0, nil, err
	}
	id, err := parseXID("route", r.PathValue("route"))
	if err != nil {
		return 0, nil, err
	}
	seq, err := parseSequence(r.PathValue("sequence"))
	if err != nil {
		return 0, nil, err
	}
	return g.xRecord(r, pathMessageInbox, fmt.Appendf(nil, "%s/%s/%d", handler, id, seq), "delivered message")
}

// getAttestation is GET /v1/chains/{chain}/xchain/attestations/{source_chain}/{digest}[?prove=true]:
// the answer another chain gave about a digest, as this chain stored it.
func (g *Gateway) getAttestation(r *http.Request) (int, any, error) {
	c, err := g.chainOf(r)
	if err != nil {
		return 0, nil, err
	}
	source := r.PathValue("source_chain")
	if err := validChainID(source); err != nil {
		return 0, nil, errorf(errcode.InvalidRequest, "source chain %q: expected a chain id (1-50 printable characters, no '/')", truncate(source, 80))
	}
	digest, err := parseHex32("digest", r.PathValue("digest"))
	if err != nil {
		return 0, nil, err
	}
	prove := false
	if s := r.URL.Query().Get("prove"); s != "" {
		if prove, err = strconv.ParseBool(s); err != nil {
			return 0, nil, errorf(errcode.InvalidRequest, "prove=%q: expected true or false", truncate(s, 40))
		}
	}
	data := fmt.Appendf(nil, "%s/%x", source, digest[:])
	var out *api.XAttestation
	err = c.do(r.Context(), func(ctx context.Context, n *rpcNode) error {
		if prove {
			p, err := g.provenQuery(ctx, n, pathAttestation, data, "attestation")
			if err != nil {
				return err
			}
			out = &api.XAttestation{Attestation: p.Value, Height: p.Height, Proof: p}
			return nil
		}
		res, err := n.get(ctx, pathAttestation, data, 0)
		if err != nil {
			return err
		}
		if !json.Valid(res.Value) {
			return errorf(errcode.Internal, "attestation is not JSON")
		}
		out = &api.XAttestation{Attestation: res.Value, Height: res.Height}
		return nil
	})
	if err != nil {
		return 0, nil, nodeError(err, "")
	}
	return http.StatusOK, out, nil
}

// The decoded forms of the cross-chain messages (see msgViews). Proofs and headers are
// summarised, not copied: GET …/txs/{hash} carries the raw message too.
type (
	packetView struct {
		Sequence      uint64 `json:"sequence"`
		SourceRoute   string `json:"source_route"`
		DestRoute     string `json:"dest_route"`
		Payload       []byte `json:"payload"`        // base64
		TimeoutHeight uint64 `json:"timeout_height"` // destination height; 0: none
		TimeoutTime   uint64 `json:"timeout_time"`   // destination block time, Unix ns; 0: none
	}
	headerView struct {
		ChainID       string    `json:"chain_id"`
		Height        int64     `json:"height"`
		Time          time.Time `json:"time"`
		Hash          string    `json:"hash"`
		AppHash       string    `json:"app_hash"`
		TrustedHeight int64     `json:"trusted_height"`
		// AttestedState is the app hash after the block that the first state
		// extension of the header's extended commit names, if it has one (the chain
		// accepts it only if validators with more than 2/3 of the power signed it).
		AttestedState string `json:"attested_state,omitempty"`
	}
	updateClientView struct {
		ClientID string     `json:"client_id"`
		Header   headerView `json:"header"`
	}
	misbehaviourView struct {
		ClientID string     `json:"client_id"`
		Header1  headerView `json:"header_1"`
		Header2  headerView `json:"header_2"`
	}
	recvPacketView struct {
		Packet      packetView `json:"packet"`
		ProofHeight int64      `json:"proof_height"`
		ProofBytes  int        `json:"proof_bytes"`
	}
	// packetsView shows a batch message's packets by their range: one route, increasing
	// sequences (each packet is in the transaction's events).
	packetsView struct {
		SourceRoute   string `json:"source_route"`
		DestRoute     string `json:"dest_route"`
		Count         int    `json:"count"`
		FirstSequence uint64 `json:"first_sequence"`
		LastSequence  uint64 `json:"last_sequence"`
		AckErrors     *int   `json:"ack_errors,omitempty"` // acknowledgements that are {"error"}
		ProofHeight   int64  `json:"proof_height"`
		ProofBytes    int    `json:"proof_bytes"`
	}
	acknowledgeView struct {
		Packet      packetView      `json:"packet"`
		Ack         json.RawMessage `json:"ack,omitempty"` // the acknowledgement, {"result"} or {"error"}
		ProofHeight int64           `json:"proof_height"`
		ProofBytes  int             `json:"proof_bytes"`
	}
	timeoutView struct {
		Packet           packetView `json:"packet"`
		ProofHeight      int64      `json:"proof_height"`
		ProofBytes       int        `json:"proof_bytes"`
		NextSequenceRecv uint64     `json:"next_sequence_recv,omitempty"`
	}
	attestView struct {
		Route          string            `json:"route"`
		Digest         cmtbytes.HexBytes `json:"digest"`
		TimeoutSeconds uint64            `json:"timeout_seconds,omitempty"`
	}
	sendMessageView struct {
		Route          string `json:"route"`
		Handler        string `json:"handler"`
		Payload        []byte `json:"payload"` // base64
		TimeoutSeconds uint64 `json:"timeout_seconds,omitempty"`
	}
)

func viewPacket(p *xchain.Packet) packetView {
	if p == nil {
		return packetView{}
	}
	return packetView{Sequence: p.Sequence, SourceRoute: p.SourceRoute, DestRoute: p.DestRoute, Payload: p.Payload,
		TimeoutHeight: p.TimeoutHeight, TimeoutTime: p.TimeoutTime}
}

func viewPackets(ps []*xchain.Packet, proofHeight int64, proof []byte) packetsView {
	v := packetsView{Count: len(ps), ProofHeight: proofHeight, ProofBytes: len(proof)}
	if len(ps) > 0 && ps[0] != nil && ps[len(ps)-1] != nil {
		v.SourceRoute, v.DestRoute = ps[0].SourceRoute, ps[0].DestRoute
		v.FirstSequence, v.LastSequence = ps[0].Sequence, ps[len(ps)-1].Sequence
	}
	return v
}

func viewHeader(h *xchain.Header) headerView {
	if h == nil || h.SignedHeader == nil || h.SignedHeader.Header == nil {
		return headerView{}
	}
	sh := h.SignedHeader
	v := headerView{ChainID: sh.ChainID, Height: sh.Height, Time: sh.Time.UTC(), Hash: sh.Hash().String(),
		AppHash: sh.AppHash.String(), TrustedHeight: h.TrustedHeight}
	if h.ExtendedCommit != nil {
		for _, s := range h.ExtendedCommit.ExtendedSignatures {
			if root, err := xchain.ParseStateExtension(s.Extension); err == nil {
				v.AttestedState = cmtbytes.HexBytes(root).String()
				break
			}
		}
	}
	return v
}

func init() {
	msgViews[xchain.TypeUpdateClient] = msgView(xchain.DecodeUpdateClient, func(m *xchain.MsgUpdateClient) any {
		return updateClientView{ClientID: m.ClientID, Header: viewHeader(m.Header)}
	})
	msgViews[xchain.TypeMisbehaviour] = msgView(xchain.DecodeMisbehaviour, func(m *xchain.MsgSubmitMisbehaviour) any {
		return misbehaviourView{ClientID: m.ClientID, Header1: viewHeader(m.Header1), Header2: viewHeader(m.Header2)}
	})
	msgViews[xchain.TypeRecvPacket] = msgView(xchain.DecodeRecvPacket, func(m *xchain.MsgRecvPacket) any {
		return recvPacketView{Packet: viewPacket(m.Packet), ProofHeight: m.ProofHeight, ProofBytes: len(m.Proof)}
	})
	msgViews[xchain.TypeAcknowledge] = msgView(xchain.DecodeAcknowledge, func(m *xchain.MsgAcknowledge) any {
		v := acknowledgeView{Packet: viewPacket(m.Packet), ProofHeight: m.ProofHeight, ProofBytes: len(m.Proof)}
		if json.Valid(m.Ack) {
			v.Ack = m.Ack
		}
		return v
	})
	msgViews[xchain.TypeRecvPackets] = msgView(xchain.DecodeRecvPackets, func(m *xchain.MsgRecvPackets) any {
		return viewPackets(m.Packets, m.ProofHeight, m.Proof)
	})
	msgViews[xchain.TypeAcknowledgePackets] = msgView(xchain.DecodeAcknowledgePackets, func(m *xchain.MsgAcknowledgePackets) any {
		ps, errs := make([]*xchain.Packet, len(m.Acks)), 0
		for i, a := range m.Acks {
			ps[i] = a.Packet
			if ack, err := xchain.DecodeAck(a.Ack); err == nil && !ack.Success() {
				errs++
			}
		}
		v := viewPackets(ps, m.ProofHeight, m.Proof)
		v.AckErrors = &errs
		return v
	})
	msgViews[xchain.TypeTimeout] = msgView(xchain.DecodeTimeout, func(m *xchain.MsgTimeout) any {
		return timeoutView{Packet: viewPacket(m.Packet), ProofHeight: m.ProofHeight, ProofBytes: len(m.Proof), NextSequenceRecv: m.NextSequenceRecv}
	})
	msgViews[attest.TypeAttest] = msgView(attest.DecodeAttest, func(m *attest.MsgAttest) any {
		return attestView{Route: m.Route, Digest: m.Digest, TimeoutSeconds: m.TimeoutSeconds}
	})
	msgViews[message.TypeSend] = msgView(message.DecodeSend, func(m *message.MsgSend) any {
		return sendMessageView{Route: m.Route, Handler: m.Handler, Payload: m.Payload, TimeoutSeconds: m.TimeoutSeconds}
	})
}
