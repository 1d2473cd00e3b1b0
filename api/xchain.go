package api

import "encoding/json"

// The documents of the cross-chain routes, GET /v1/chains/{chain}/xchain/…: light
// clients, routes, packets, and the attest and message applications' records. Records
// are passed through as the chain stores them (xchain.ClientView, xchain.Route,
// xchain.PacketView, attest.Attestation, attest.Request, message.Sent,
// message.Delivered); the SDK decodes them into those types.

// XClients is the body of GET /v1/chains/{chain}/xchain/clients: a page of the chain's
// light clients, by id, each with its status at the last block's time.
type XClients struct {
	Clients []json.RawMessage `json:"clients"` // xchain.ClientView records
	// Next is the ?cursor= of the next page; empty when there is none.
	Next   string `json:"next,omitempty"`
	Height int64  `json:"height"`
}

// XClient is the body of GET /v1/chains/{chain}/xchain/clients/{client}.
type XClient struct {
	Client json.RawMessage `json:"client"` // xchain.ClientView
	Height int64           `json:"height"`
}

// XRoutes is the body of GET /v1/chains/{chain}/xchain/routes: a page of the chain's
// routes, by id.
type XRoutes struct {
	Routes []json.RawMessage `json:"routes"` // xchain.Route records
	// Next is the ?cursor= of the next page; empty when there is none.
	Next   string `json:"next,omitempty"`
	Height int64  `json:"height"`
}

// XRoute is the body of GET /v1/chains/{chain}/xchain/routes/{route}: the route and
// the sequence its next packet will have (NextSequence-1 packets were sent on it).
type XRoute struct {
	Route        json.RawMessage `json:"route"` // xchain.Route
	NextSequence uint64          `json:"next_sequence"`
	Height       int64           `json:"height"`
}

// XPacket is the body of GET /v1/chains/{chain}/xchain/routes/{route}/packets/{sequence}:
// what the chain knows of the packet of that sequence on the route, as its source
// (sent, acknowledged, timed out) and as its destination (received).
type XPacket struct {
	Packet json.RawMessage `json:"packet"` // xchain.PacketView
	Height int64           `json:"height"`
}

// XPackets is the body of GET /v1/chains/{chain}/xchain/routes/{route}/packets: the
// packets sent on the route, newest (highest sequence) first, all read at one height.
type XPackets struct {
	Packets []json.RawMessage `json:"packets"` // xchain.PacketView records
	// Next is the ?cursor= of the next (older) page: the lowest sequence listed. Empty
	// after sequence 1.
	Next         string `json:"next,omitempty"`
	NextSequence uint64 `json:"next_sequence"` // of the route, as in XRoute
	Height       int64  `json:"height"`
}

// XPending is the body of GET /v1/chains/{chain}/xchain/routes/{route}/pending: the
// sequences of packets sent on the route and neither acknowledged nor timed out yet,
// ascending.
type XPending struct {
	Sequences []uint64 `json:"sequences"`
	// Next is the ?cursor= of the next page (the sequence to list from); empty at the end.
	Next   string `json:"next,omitempty"`
	Height int64  `json:"height"`
}

// XRecord is the body of the routes that return one record of a cross-chain
// application: an attestation request (attest.Request), a sent message (message.Sent)
// or a delivered one (message.Delivered).
type XRecord struct {
	Record json.RawMessage `json:"record"`
	Height int64           `json:"height"`
}

// XAttestation is the body of GET
// /v1/chains/{chain}/xchain/attestations/{source_chain}/{digest}: another chain's proven
// answer about a digest, stored on this chain, with an ICS-23 proof of it when asked
// (?prove=true; check it like an evidence proof).
type XAttestation struct {
	Attestation json.RawMessage `json:"attestation"` // attest.Attestation
	Height      int64           `json:"height"`
	Proof       *Proof          `json:"proof,omitempty"`
}
