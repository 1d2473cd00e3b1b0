// Package xchain is Lian's cross-chain data exchange: on-chain light clients of other
// chains, routes between a local port and a port on a counterparty chain, and packets
// proven with ICS-23 Merkle proofs against the counterparty's app hash.
//
// The model is IBC's (ICS-02 clients, ICS-04 packets, ICS-23 proofs), simplified as IBC
// v2 is: no connection or channel handshakes. Governance decides which chains to trust
// (create_client, from a header the members trust) and which routes to open
// (open_route, on each side). A client follows its counterparty with headers verified by
// CometBFT's light package; two valid headers that conflict freeze it, and a client not
// updated within its trusting period expires. Frozen and expired clients refuse packets.
//
// Sending stores commitment = hash(timeouts, destination route, hash(payload)) under a
// fixed path with a per-route sequence. The destination verifies the commitment's proof,
// refuses packets past their timeout by its own clock, advances the next receive
// sequence (ordered), hands the payload to the port's application and stores hash(ack),
// which is also the packet's receipt. The source verifies the ack's proof (or, after the
// timeout, a proof that the packet was never received), deletes the commitment and then
// calls its application exactly once. Relayers carry headers, packets and proofs; they
// are trusted for nothing but liveness, and a redundant relay is a no-op.
//
// Store paths (below the module prefix "xchain/"), all provable:
//
//	clients/<client>                    ClientState (JSON)
//	consensus/<client>/<height BE8>     ConsensusState (JSON)
//	routes/<route>                      Route (JSON)
//	seq/send/<route>                    next sequence to send (BE8)
//	seq/recv/<route>                    next sequence to receive, ordered routes (BE8)
//	seq/ack/<route>                     next sequence to acknowledge, ordered routes (BE8)
//	commitments/<route>/<seq BE8>       packet commitment (32 bytes)
//	acks/<route>/<seq BE8>              SHA-256 of the acknowledgement (32 bytes), also
//	                                    the receipt of the packet
//	outcomes/<route>/<seq BE8>          what became of a sent packet (JSON)
package xchain
