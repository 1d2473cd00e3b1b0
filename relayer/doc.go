// Package relayer carries packets between Lian chains: it watches each chain's blocks
// for xchain events, and submits to the other chain the packets to receive, the
// acknowledgements to settle and the timeouts to claim, each batch preceded in the same
// transaction by the update of the destination's light client to the source header
// whose app hash proves the batch (proofs of the state at height H-1 against header H,
// read with one /proofs query per batch).
//
// A relayer is trusted for liveness only: the chains verify every header and proof, and
// make a redundant relay a no-op (a transaction whose every message is redundant is
// refused with already_exists, and the relayer takes that as done). It keeps no state:
// on start, and again every ResyncInterval, it reads every route's pending packets
// (/xchain/pending), finds each packet's send event in the transaction index, and asks
// the destination whether it received the packet (and finds its acknowledgement in the
// receive event). So a relayer may be killed at any point and started again, and
// several may run on one path. It also refreshes the light clients it uses before they
// expire (at RefreshFraction of their trusting period, or after IdleRefresh without an
// update).
//
// New blocks are pushed by an event subscription when the endpoint offers one, and
// polled in any case. Chains are reached through Endpoint, which CometBFT's rpc/client
// HTTP and local clients satisfy: `lian relayer start --config FILE` uses HTTP (see
// Config; with backup nodes, a Failover over them), `lian up` runs a relayer in process
// over its nodes. SetupPaths creates the clients and routes
// between chains through governance. Metrics are Prometheus collectors on a registry of
// their own (Relayer.Metrics).
package relayer
