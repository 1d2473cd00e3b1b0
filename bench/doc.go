// Package bench measures Lian's transaction throughput and latency, and compares it with a
// baseline CometBFT application on the same machine.
//
// # Driver
//
// Run drives a network with a fixed number of workers. Each worker owns one account (a
// TxSource) and pipelines transactions with sequential nonces, keeping at most Window of
// them in flight (submitted, not yet seen in a block). Submission does not wait for the
// commit: a watcher polls the latest height, fetches every new block's transaction hashes
// and records, for each transaction, the time from its submission to the moment its block
// was seen. A refused submission (mempool full, bad nonce after a dropped transaction, a
// transport error) makes the worker wait for its transactions in flight, re-read its
// account's nonce and continue from there. The first Warmup of the run is not measured.
//
// The driver talks to a chain through a Transport, so the same driver can use
//
//   - the gateway (GatewayTransport, over the client package: POST .../txs?wait=false,
//     GET .../blocks/{h}, GET .../accounts/{a}) — what `lian bench evidence` uses against a
//     running network;
//   - CometBFT RPC directly (RPCTransport: broadcast_tx_sync, block, status and the
//     abci_query "/identity/nonce") — what Compare uses for both networks, so that Lian
//     and the baseline are driven by the same code path.
//
// # Workloads
//
// RegisterAccounts registers fresh ed25519 accounts (role member) with an organisation
// admin's key, 64 MsgRegisterAccount per transaction; AnchorSource then anchors
// pseudo-random 32-byte digests from one account (one MsgAnchor per transaction).
//
// BaselineApp is the reference: an ABCI application whose transaction is
// pubkey(32) || signature(64) || payload, which verifies the one ed25519 signature in
// CheckTx and again in FinalizeBlock, stores nothing, and returns as app hash a running
// SHA-256 over each non-empty block's height and transaction count. BaselineSource
// generates its transactions (100-byte random payloads, about the size of an anchor).
//
// # Comparison
//
// Compare starts, one after the other on the same machine and in one process, a fresh
// 4-validator Lian chain (localnet) and a fresh 4-validator CometBFT network running
// BaselineApp (node.InitNetwork and node.Start with the same node.Tuning), drives each over
// CometBFT RPC for the same duration and concurrency, stops it, and reports both and the
// ratio Lian/baseline of committed transactions per second.
package bench
