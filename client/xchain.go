package client

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/types"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules"
	"github.com/lianchain/lian/modules/attest"
	"github.com/lianchain/lian/modules/evidence"
	"github.com/lianchain/lian/modules/message"
	"github.com/lianchain/lian/modules/xchain"
)

// Cross-chain data exchange: typed reads of the light clients, routes and packets
// (GET /v1/chains/{chain}/xchain/…), builders of the attest and message applications'
// messages, and client-side verification of a proven attestation. See
// docs/cross-chain.md.

// LightClientList is a page of a chain's light clients of other chains, by id.
type LightClientList struct {
	Clients []xchain.ClientView `json:"clients"`
	// Next is the Cursor of the next page; empty when there is none.
	Next   string `json:"next,omitempty"`
	Height int64  `json:"height"`
}

// LightClients returns a page of the chain's light clients, each with its status
// (active, frozen or expired) at the last block's time
// (GET /v1/chains/{chain}/xchain/clients).
func (c *Client) LightClients(ctx context.Context, chain string, q PageQuery) (*LightClientList, error) {
	v, err := pageValues(q)
	if err != nil {
		return nil, err
	}
	var doc api.XClients
	if err := c.get(ctx, chain, v, &doc, "xchain", "clients"); err != nil {
		return nil, err
	}
	out := &LightClientList{Clients: make([]xchain.ClientView, len(doc.Clients)), Next: doc.Next, Height: doc.Height}
	for i, raw := range doc.Clients {
		if err := decodeRecord("light client", raw, &out.Clients[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// LightClientInfo is one light client at a state height.
type LightClientInfo struct {
	Client xchain.ClientView `json:"client"`
	Height int64             `json:"height"`
}

// LightClient returns a light client with its status and latest consensus state
// (GET /v1/chains/{chain}/xchain/clients/{client}).
func (c *Client) LightClient(ctx context.Context, chain, id string) (*LightClientInfo, error) {
	if err := checkXID("client", id); err != nil {
		return nil, err
	}
	var doc api.XClient
	if err := c.get(ctx, chain, nil, &doc, "xchain", "clients", id); err != nil {
		return nil, err
	}
	out := &LightClientInfo{Height: doc.Height}
	if err := decodeRecord("light client", doc.Client, &out.Client); err != nil {
		return nil, err
	}
	if out.Client.ClientState == nil || out.Client.ID != id {
		return nil, malformed(fmt.Sprintf("the gateway answered with another client than %q", id))
	}
	return out, nil
}

// RouteList is a page of a chain's routes, by id.
type RouteList struct {
	Routes []xchain.Route `json:"routes"`
	// Next is the Cursor of the next page; empty when there is none.
	Next   string `json:"next,omitempty"`
	Height int64  `json:"height"`
}

// Routes returns a page of the chain's routes (GET /v1/chains/{chain}/xchain/routes).
func (c *Client) Routes(ctx context.Context, chain string, q PageQuery) (*RouteList, error) {
	v, err := pageValues(q)
	if err != nil {
		return nil, err
	}
	var doc api.XRoutes
	if err := c.get(ctx, chain, v, &doc, "xchain", "routes"); err != nil {
		return nil, err
	}
	out := &RouteList{Routes: make([]xchain.Route, len(doc.Routes)), Next: doc.Next, Height: doc.Height}
	for i, raw := range doc.Routes {
		if err := decodeRecord("route", raw, &out.Routes[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// AllRoutes returns every route of the chain, reading page after page.
func (c *Client) AllRoutes(ctx context.Context, chain string) ([]xchain.Route, error) {
	var out []xchain.Route
	q := PageQuery{Limit: MaxPageLimit}
	for {
		page, err := c.Routes(ctx, chain, q)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Routes...)
		if page.Next == "" || len(page.Routes) == 0 {
			return out, nil
		}
		q.Cursor = page.Next
	}
}

// AllLightClients returns every light client of the chain, reading page after page.
func (c *Client) AllLightClients(ctx context.Context, chain string) ([]xchain.ClientView, error) {
	var out []xchain.ClientView
	q := PageQuery{Limit: MaxPageLimit}
	for {
		page, err := c.LightClients(ctx, chain, q)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Clients...)
		if page.Next == "" || len(page.Clients) == 0 {
			return out, nil
		}
		q.Cursor = page.Next
	}
}

// RouteInfo is a route and the sequence its next packet will have.
type RouteInfo struct {
	Route        xchain.Route `json:"route"`
	NextSequence uint64       `json:"next_sequence"`
	Height       int64        `json:"height"`
}

// Route returns a route and its next send sequence
// (GET /v1/chains/{chain}/xchain/routes/{route}).
func (c *Client) Route(ctx context.Context, chain, id string) (*RouteInfo, error) {
	if err := checkXID("route", id); err != nil {
		return nil, err
	}
	var doc api.XRoute
	if err := c.get(ctx, chain, nil, &doc, "xchain", "routes", id); err != nil {
		return nil, err
	}
	out := &RouteInfo{NextSequence: doc.NextSequence, Height: doc.Height}
	if err := decodeRecord("route", doc.Route, &out.Route); err != nil {
		return nil, err
	}
	return out, nil
}

// PacketInfo is what a chain knows of one packet of a route, at a state height.
type PacketInfo struct {
	Packet xchain.PacketView `json:"packet"`
	Height int64             `json:"height"`
}

// Packet returns what the chain knows of the packet of a sequence on one of its routes:
// as its source, its state (xchain.PacketPending "sent", PacketAcknowledged,
// PacketTimedOut) and outcome; as its destination, whether it was received and the hash
// of the acknowledgement written (GET …/xchain/routes/{route}/packets/{sequence}). An
// *Error with code not_found if the chain neither sent nor received it.
func (c *Client) Packet(ctx context.Context, chain, route string, seq uint64) (*PacketInfo, error) {
	if err := checkXID("route", route); err != nil {
		return nil, err
	}
	if seq == 0 {
		return nil, errcode.New(errcode.InvalidRequest, "packet sequence 0: sequences start at 1")
	}
	var doc api.XPacket
	if err := c.get(ctx, chain, nil, &doc, "xchain", "routes", route, "packets", strconv.FormatUint(seq, 10)); err != nil {
		return nil, err
	}
	out := &PacketInfo{Height: doc.Height}
	if err := decodeRecord("packet", doc.Packet, &out.Packet); err != nil {
		return nil, err
	}
	return out, nil
}

// PacketList is a page of the packets sent on a route, newest first.
type PacketList struct {
	Packets []xchain.PacketView `json:"packets"`
	// Next is the Cursor of the next (older) page; empty after sequence 1.
	Next         string `json:"next,omitempty"`
	NextSequence uint64 `json:"next_sequence"`
	Height       int64  `json:"height"`
}

// Packets returns a page of the packets sent on a route, newest first, each with its
// state, all read at one height (GET …/xchain/routes/{route}/packets).
func (c *Client) Packets(ctx context.Context, chain, route string, q PageQuery) (*PacketList, error) {
	if err := checkXID("route", route); err != nil {
		return nil, err
	}
	v, err := pageValues(q)
	if err != nil {
		return nil, err
	}
	var doc api.XPackets
	if err := c.get(ctx, chain, v, &doc, "xchain", "routes", route, "packets"); err != nil {
		return nil, err
	}
	out := &PacketList{Packets: make([]xchain.PacketView, len(doc.Packets)), Next: doc.Next, NextSequence: doc.NextSequence, Height: doc.Height}
	for i, raw := range doc.Packets {
		if err := decodeRecord("packet", raw, &out.Packets[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// PendingPackets returns the sequences of the packets sent on a route and not yet
// acknowledged or timed out, ascending, from q.Cursor (GET …/xchain/routes/{route}/pending).
// q.Limit may be up to xchain.MaxPendingPage.
func (c *Client) PendingPackets(ctx context.Context, chain, route string, q PageQuery) (*api.XPending, error) {
	if err := checkXID("route", route); err != nil {
		return nil, err
	}
	if q.Limit < 0 || q.Limit > xchain.MaxPendingPage {
		return nil, errcode.New(errcode.InvalidRequest, "limit %d: expected 1..%d (0: the gateway's default)", q.Limit, xchain.MaxPendingPage)
	}
	v := url.Values{}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Cursor != "" {
		v.Set("cursor", q.Cursor)
	}
	var out api.XPending
	if err := c.get(ctx, chain, v, &out, "xchain", "routes", route, "pending"); err != nil {
		return nil, err
	}
	return &out, nil
}

// AttestRequest returns an attestation this chain asked for, by its packet
// (GET …/xchain/routes/{route}/requests/{sequence}): its status is pending, answered,
// failed or timed_out.
func (c *Client) AttestRequest(ctx context.Context, chain, route string, seq uint64) (*attest.Request, int64, error) {
	var out attest.Request
	h, err := c.xRecord(ctx, chain, &out, "attestation request", "routes", route, "requests", strconv.FormatUint(seq, 10))
	if err != nil {
		return nil, 0, err
	}
	return &out, h, nil
}

// SentMessage returns a message this chain sent, with its delivery status: sent,
// delivered, refused or timed_out (GET …/xchain/routes/{route}/messages/{sequence}).
func (c *Client) SentMessage(ctx context.Context, chain, route string, seq uint64) (*message.Sent, int64, error) {
	var out message.Sent
	h, err := c.xRecord(ctx, chain, &out, "sent message", "routes", route, "messages", strconv.FormatUint(seq, 10))
	if err != nil {
		return nil, 0, err
	}
	return &out, h, nil
}

// InboxMessage returns a message delivered to a handler of this chain
// (GET …/xchain/inbox/{handler}/{route}/{sequence}).
func (c *Client) InboxMessage(ctx context.Context, chain, handler, route string, seq uint64) (*message.Delivered, int64, error) {
	if err := checkHandler(handler); err != nil {
		return nil, 0, err
	}
	var out message.Delivered
	h, err := c.xRecord(ctx, chain, &out, "delivered message", "inbox", handler, route, strconv.FormatUint(seq, 10))
	if err != nil {
		return nil, 0, err
	}
	return &out, h, nil
}

// xRecord reads an api.XRecord at /v1/chains/{chain}/xchain/{segments…} (whose last two
// are a route and a sequence) into out and returns its height.
func (c *Client) xRecord(ctx context.Context, chain string, out any, what string, segments ...string) (int64, error) {
	route, seq := segments[len(segments)-2], segments[len(segments)-1]
	if err := checkXID("route", route); err != nil {
		return 0, err
	}
	if seq == "0" {
		return 0, errcode.New(errcode.InvalidRequest, "%s: sequence 0: sequences start at 1", what)
	}
	var doc api.XRecord
	if err := c.get(ctx, chain, nil, &doc, append([]string{"xchain"}, segments...)...); err != nil {
		return 0, err
	}
	if err := decodeRecord(what, doc.Record, out); err != nil {
		return 0, err
	}
	return doc.Height, nil
}

// Attestation returns another chain's (source's) proven answer about a 32-byte digest,
// as this chain stored it (GET …/xchain/attestations/{source_chain}/{digest}), with an
// ICS-23 proof of it if prove is set: check it with VerifyAttestation. An *Error with
// code not_found if this chain has no answer from source (never asked, or not yet
// answered: see AttestRequest).
func (c *Client) Attestation(ctx context.Context, chain, source string, digest []byte, prove bool) (*api.XAttestation, error) {
	if len(digest) != evidence.DigestLen {
		return nil, errcode.New(errcode.InvalidRequest, "attestation digest is %d bytes, expected %d", len(digest), evidence.DigestLen)
	}
	if source == "" || strings.Contains(source, "/") {
		return nil, errcode.New(errcode.InvalidRequest, "source chain %q: expected a chain id", source)
	}
	var q url.Values
	if prove {
		q = url.Values{"prove": {"true"}}
	}
	p, err := chainPath(chain, "xchain", "attestations", source, strings.ToUpper(hex.EncodeToString(digest)))
	if err != nil {
		return nil, err
	}
	var out api.XAttestation
	if err := c.do(ctx, http.MethodGet, p, q, nil, &out); err != nil {
		return nil, err
	}
	if prove && out.Proof == nil {
		return &out, &Error{Status: http.StatusOK, Code: errcode.Internal.String(), Message: "gateway returned no proof although one was asked for"}
	}
	return &out, nil
}

// AttestationInfo is an attestation, decoded, at a state height.
type AttestationInfo struct {
	Attestation attest.Attestation `json:"attestation"`
	Height      int64              `json:"height"`
}

// AttestationRecord returns another chain's answer about a digest, decoded, without a
// proof (see Attestation).
func (c *Client) AttestationRecord(ctx context.Context, chain, source string, digest []byte) (*AttestationInfo, error) {
	a, err := c.Attestation(ctx, chain, source, digest, false)
	if err != nil {
		return nil, err
	}
	out := &AttestationInfo{Height: a.Height}
	if err := decodeRecord("attestation", a.Attestation, &out.Attestation); err != nil {
		return nil, err
	}
	if !bytes.Equal(out.Attestation.Digest, digest) || out.Attestation.ChainID != source {
		return nil, malformed("the attestation is of another digest or chain than the one asked for")
	}
	return out, nil
}

// VerifyAttestation checks, fully client-side, that a.Proof proves a.Attestation is
// what chainID stored as source's answer about digest: the ICS-23 proof of its key
// against the app hash of a header of chainID signed by more than 2/3 of the validator
// set given with the proof (pinned by opts, as for VerifyEvidenceWithOptions). The
// answer itself was proven to chainID by source's validators (its light client); this
// shows that chainID holds it. The summary's Record is nil: the attestation is returned.
func VerifyAttestation(chainID, source string, digest []byte, a *api.XAttestation, opts VerifyOptions) (v *Verified, att *attest.Attestation, err error) {
	defer func() {
		if r := recover(); r != nil {
			v, att, err = nil, nil, fmt.Errorf("verify attestation: malformed proof: %v", r)
		}
	}()
	fail := func(err error) (*Verified, *attest.Attestation, error) {
		return nil, nil, fmt.Errorf("verify attestation: %w", err)
	}
	switch {
	case chainID == "" || source == "":
		return fail(fmt.Errorf("no chain id"))
	case len(digest) != evidence.DigestLen:
		return fail(fmt.Errorf("digest is %d bytes, expected %d", len(digest), evidence.DigestLen))
	case a == nil || a.Proof == nil:
		return fail(fmt.Errorf("the attestation carries no proof (query it with prove)"))
	}
	p := a.Proof
	if err := checkSizes(p); err != nil {
		return fail(err)
	}
	wantKey := append(modules.Prefix(attest.Name), attest.AttestationKey(source, digest)...)
	if err := checkProvenRecord(p, "attestation's", wantKey, a.Attestation, p.Value, a.Height); err != nil {
		return fail(err)
	}
	var rec attest.Attestation
	if err := modules.DecodeStrict(p.Value, &rec); err != nil {
		return fail(fmt.Errorf("proven attestation: %w", err))
	}
	if !bytes.Equal(rec.Digest, digest) || rec.ChainID != source {
		return fail(fmt.Errorf("proven attestation is of digest %X from %s, not %X from %s", []byte(rec.Digest), rec.ChainID, digest, source))
	}
	if v, err = verifyProof(chainID, p, opts); err != nil {
		return fail(err)
	}
	return v, &rec, nil
}

// NewAttest builds the question to the chain at the other end of an attest route: is
// digest (32 bytes) anchored there? timeout bounds how long the answer may take, in the
// other chain's block time (whole seconds; 0: attest.DefaultTimeout).
func NewAttest(route string, digest []byte, timeout time.Duration) (*attest.MsgAttest, error) {
	secs, err := timeoutSeconds(timeout, attest.MaxTimeout)
	if err != nil {
		return nil, err
	}
	return validated(&attest.MsgAttest{Route: route, Digest: bytes.Clone(digest), TimeoutSeconds: secs})
}

// NewSendMessage builds a message to a named handler on the chain at the other end of a
// message route, with a payload of at most message.MaxPayloadBytes; timeout as for
// NewAttest (0: message.DefaultTimeout).
func NewSendMessage(route, handler string, payload []byte, timeout time.Duration) (*message.MsgSend, error) {
	secs, err := timeoutSeconds(timeout, message.MaxTimeout)
	if err != nil {
		return nil, err
	}
	return validated(&message.MsgSend{Route: route, Handler: handler, Payload: bytes.Clone(payload), TimeoutSeconds: secs})
}

func timeoutSeconds(d time.Duration, maxSecs uint64) (uint64, error) {
	if d < 0 || d%time.Second != 0 || uint64(d/time.Second) > maxSecs {
		return 0, errcode.New(errcode.InvalidRequest, "timeout %v: expected whole seconds up to %v (0: the default)", d, time.Duration(maxSecs)*time.Second)
	}
	return uint64(d / time.Second), nil
}

// FindRoute returns the open route of a port (attest.Name, message.Name) whose client
// follows the chain counterparty: an *Error with code not_found if there is none, and
// invalid_request naming them if there are several (pick one by id then).
func (c *Client) FindRoute(ctx context.Context, chain, port, counterparty string) (*xchain.Route, error) {
	routes, err := c.AllRoutes(ctx, chain)
	if err != nil {
		return nil, err
	}
	clients, err := c.AllLightClients(ctx, chain)
	if err != nil {
		return nil, err
	}
	follows := map[string]bool{}
	for _, cl := range clients {
		if cl.ClientState != nil && cl.ChainID == counterparty {
			follows[cl.ID] = true
		}
	}
	var found []xchain.Route
	for _, r := range routes {
		if r.Port == port && r.Status == xchain.RouteOpen && follows[r.Client] {
			found = append(found, r)
		}
	}
	switch len(found) {
	case 0:
		return nil, errcode.New(errcode.NotFound, "chain %s has no open %s route to %s (governance opens routes: open_route)", chain, port, counterparty)
	case 1:
		return &found[0], nil
	}
	ids := make([]string, len(found))
	for i, r := range found {
		ids[i] = r.ID
	}
	return nil, errcode.New(errcode.InvalidRequest, "chain %s has %d open %s routes to %s (%s): name one", chain, len(found), port, counterparty, strings.Join(ids, ", "))
}

// PacketOf rebuilds the packet a committed transaction sent, from its
// lian.xchain.send_packet event (the first, if it sent several).
func PacketOf(res *api.TxResult) (*xchain.Packet, error) {
	get := func(k string) string { return eventAttr(res, xchain.EventSendPacket, k) }
	if get("packet") == "" {
		return nil, errcode.New(errcode.NotFound, "the transaction's result has no %s event", xchain.EventSendPacket)
	}
	p := &xchain.Packet{SourceRoute: get("source_route"), DestRoute: get("dest_route")}
	var err error
	bad := func(k string) error {
		return errcode.New(errcode.Internal, "%s event: malformed %s %q", xchain.EventSendPacket, k, get(k))
	}
	if p.Sequence, err = strconv.ParseUint(get("sequence"), 10, 64); err != nil {
		return nil, bad("sequence")
	}
	if p.Payload, err = hex.DecodeString(get("payload")); err != nil {
		return nil, bad("payload")
	}
	if p.TimeoutHeight, err = strconv.ParseUint(get("timeout_height"), 10, 64); err != nil {
		return nil, bad("timeout_height")
	}
	if p.TimeoutTime, err = strconv.ParseUint(get("timeout_time"), 10, 64); err != nil {
		return nil, bad("timeout_time")
	}
	if err := xchain.ValidatePacket(p); err != nil {
		return nil, errcode.New(errcode.Internal, "%s event: %v", xchain.EventSendPacket, err)
	}
	return p, nil
}

// ConsensusStateOf is the trusted state a light client of a chain starts from (the
// consensus_state of a create_client or replace_client proposal): the header's height,
// time, app hash, next validators hash and hash.
func ConsensusStateOf(h *types.Header) *xchain.ConsensusState {
	return &xchain.ConsensusState{Height: h.Height, Time: h.Time.UTC(), AppHash: h.AppHash,
		NextValidatorsHash: h.NextValidatorsHash, HeaderHash: h.Hash()}
}

// TrustedHeader reads the header of block height (0: the latest) of chain through the
// gateway, checks that it hashes to the block's hash, and returns its consensus state
// for a create_client or replace_client proposal with the header. The gateway is
// trusted for it: the members voting on the proposal should compare it with the chain
// as their own nodes see it.
func (c *Client) TrustedHeader(ctx context.Context, chain string, height int64) (*xchain.ConsensusState, *types.Header, error) {
	b, err := c.Block(ctx, chain, height)
	if err != nil {
		return nil, nil, err
	}
	var h types.Header
	if err := cmtjson.Unmarshal(b.Header, &h); err != nil {
		return nil, nil, malformed(fmt.Sprintf("block %d header: %v", b.Height, err))
	}
	if h.ChainID != chain || h.Height != b.Height || !strings.EqualFold(h.Hash().String(), b.Hash) {
		return nil, nil, malformed(fmt.Sprintf("block %d: the header (chain %s, height %d, hash %s) does not match the block", b.Height, h.ChainID, h.Height, h.Hash()))
	}
	return ConsensusStateOf(&h), &h, nil
}

// pageValues is the query of a PageQuery.
func pageValues(q PageQuery) (url.Values, error) {
	v := url.Values{}
	if err := setLimit(v, q.Limit); err != nil {
		return nil, err
	}
	if q.Cursor != "" {
		v.Set("cursor", q.Cursor)
	}
	return v, nil
}

// checkXID checks a client, route or handler id as the chain does.
func checkXID(what, id string) error {
	ok := id != "" && len(id) <= xchain.MaxIDBytes
	for i := 0; ok && i < len(id); i++ {
		ch := id[i]
		ok = ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || i > 0 && (ch == '.' || ch == '_' || ch == '-')
	}
	if !ok {
		return errcode.New(errcode.InvalidRequest, "%s %q: expected 1-%d lower-case letters, digits, '.', '_' or '-', starting with a letter or digit", what, id, xchain.MaxIDBytes)
	}
	return nil
}

// checkHandler checks a message handler's name as the chain does: 1-64 of a-z, 0-9, '.',
// '_' and '-'.
func checkHandler(h string) error {
	ok := h != "" && len(h) <= 64
	for i := 0; ok && i < len(h); i++ {
		ch := h[i]
		ok = ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '.' || ch == '_' || ch == '-'
	}
	if !ok {
		return errcode.New(errcode.InvalidRequest, "handler %q: expected 1-64 of a-z, 0-9, '.', '_' and '-'", h)
	}
	return nil
}
