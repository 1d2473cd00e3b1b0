// Package node is everything about CometBFT node homes and running one
// CometBFT node with the Lian ABCI application in process.
//
// A Lian chain is a permissioned CometBFT network. InitNetwork writes the
// homes of all its validators at once (config/config.toml, genesis, node and
// validator keys, validator sign state); Start runs one home with an
// abci.Application passed in by the caller through
// proxy.NewLocalClientCreator, so no ABCI socket is involved. Several nodes
// can run in one process: nothing here uses global state (Prometheus, the
// only global, is off).
//
// InitJoin writes the home of one new node of an existing chain: the chain's
// genesis.json copied unchanged, fresh keys, persistent peers given by the
// caller and the same config.toml tuning (InitNetwork and InitJoin share the
// code that writes a home). The node syncs as a full node and signs blocks
// once governance makes its consensus key a validator; the nodes it dials
// need not list it.
//
// The package does not import any other Lian package.
//
// # Tuning
//
// InitNetwork and InitJoin write CometBFT v0.40 defaults except for the
// following (Tuning overrides the knobs it names):
//
//   - consensus.timeout_commit = 100ms (default 1s): the wait after a commit
//     bounds the block rate; the other timeouts (timeout_propose, ...) keep
//     their defaults so slow rounds still recover.
//   - consensus.peer_gossip_sleep_duration keeps its default, 100ms
//     (Tuning.GossipSleep). It is the longest a new vote or block part waits
//     before a node's gossip routine for a peer looks again, so it is most of a
//     block's consensus time on a fast network. 10ms halves the commit latency
//     of a lightly loaded chain (p50 0.30 s to 0.14 s) but makes blocks smaller
//     under load, which costs Lian 15% of its peak throughput
//     (docs/benchmarks.md, section 1).
//   - consensus.create_empty_blocks = true with
//     create_empty_blocks_interval = 30s: an idle chain costs almost no CPU
//     but still produces a heartbeat block every 30s; as soon as txs arrive
//     blocks follow each other every timeout_commit.
//   - mempool.size = 50000 (default 5000, which capped the txs of a block),
//     mempool.max_txs_bytes = 256 MiB, mempool.max_tx_bytes = 1 MiB,
//     mempool.cache_size = 2 * size, mempool.recheck = true.
//   - tx_index.indexer = "kv": txs are looked up by hash and by events.
//     "null" is allowed for nodes that never serve such queries.
//   - log_level = "error" (the caller passes the logger to Start anyway).
//   - instrumentation.prometheus = false and no pprof listener.
//   - p2p.pex = false with persistent_peers = every other node,
//     addr_book_strict = false and allow_duplicate_ip = true (a
//     permissioned network knows its peers; tests run on loopback).
//     p2p.send_rate / recv_rate = 20 MiB/s (default 5 MB/s needs ~0.8 s to
//     ship one 4 MiB block to one peer).
//   - rpc.max_body_bytes = 4 MiB so a 1 MiB tx fits in a JSON request.
//
// Genesis sets the consensus parameters explicitly, because the v0.40
// default block.max_bytes is ~53 MiB: block.max_bytes = 4 MiB,
// block.max_gas = -1, evidence.max_bytes = 1 MiB (it must not exceed
// block.max_bytes), abci.vote_extensions_enable_height = 1 (each validator
// attests the app hash after a block in its precommit; an application that
// implements ExtendedCommitServer serves the extended commits over ABCI
// queries); the rest are CometBFT defaults (ed25519 validators). Homes
// initialised before keep their genesis, without vote extensions.
//
// # Addresses
//
// With NetworkSpec.BasePort 0 free loopback ports are picked at init time.
// A node on a loopback host listens on exactly that host; a node on any other
// host listens on 0.0.0.0 (p2p and RPC) and advertises host:port as its
// p2p.external_address, since the host may be a DNS name or a NAT address.
//
// # Starting
//
// Start re-reads config.toml from disk, so an operator may edit it between
// runs; it is read with viper over CometBFT's defaults, as CometBFT's own
// command reads it.
//
// privval.LoadFilePV calls os.Exit on a bad key or state file; Start parses
// and checks both files first and returns an error instead. It also closes
// the databases CometBFT leaves open (the tx index), so a stopped node can be
// started again in the same process.
//
// Before consensus starts, Start re-indexes any of the last 32 blocks whose
// events or txs are missing from the kv index: CometBFT indexes after the
// commit, so a stop or kill in between would otherwise leave a committed tx
// that cannot be found by hash. The persistent peers are dialed by the
// node's own peer keeper rather than CometBFT's start-up dial, and redialed
// whenever one is neither connected nor being dialed (see peerKeeper).
//
// CometBFT gossips a transaction to each peer once, also to a peer one block
// behind, which may refuse it (its nonce or account is in the block it has
// not applied yet). A node whose mempool holds transactions while no block
// has been committed for 2 s announces its oldest transactions (up to 1 MiB)
// to its peers again, then after 4, 8, ... 30 s (see reannouncer): without
// it, a chain that waits for transactions could leave such a transaction
// uncommitted until create_empty_blocks_interval ends, twice.
//
// A fresh or restarted multi-validator node begins in block sync, where
// broadcast_tx_* fails with "catching up"; Node.WaitReady waits until the
// node has left block sync and its application has applied height >= 1 (the
// block store may hold a block the application has not run yet:
// Node.AppliedHeight).
package node
