// Package gateway is Lian's JSON-over-HTTP API in front of one or more chains. It reaches
// each chain through the CometBFT RPC endpoints of its nodes, using the first endpoint
// that answers and failing over to the others on transport errors (and while a node is
// still block-syncing). Every RPC call carries a deadline. Reads of the latest state never
// go back: the gateway remembers the highest height it has answered from (a query's, a
// committed transaction's) per chain, and a node behind it is passed over; when every
// node is behind, the request waits up to 3 s for one to catch up, then answers 503.
//
// The documents are those of package api; openapi.json, served at GET /v1/openapi.json,
// describes every /v1 route. Every error is an api.Error
// {"code": "<errcode name>", "message": "..."} with the HTTP status of the code
// (errcode.Code.HTTPStatus); the only exception is a request with a method the route does
// not accept, answered 405 with code "invalid_request" and an Allow header.
//
// Every request goes through the middleware of buildHandler: it gets an X-Request-Id
// (its own if well-formed), one log line (Config.Logger: route pattern, chain, status,
// duration, request id, API key name), CORS headers for Config.CORSOrigins, gzip when
// accepted, an API key check when Config.Keys is set (required on writes; per-key token
// bucket rate limits: 401 api_key_required or api_key_invalid, 403 api_key_revoked, 429
// rate_limited) and a body limit (Config.MaxBodyBytes, 413 tx_too_large). JSON routes
// answer within Config.RequestTimeout (504 request_timeout), POST .../txs with its
// commit wait on top.
//
// Routes:
//
//	GET  /healthz                                  api.Health; 200 if every chain answered, else 503
//	GET  /v1/openapi.json                          the OpenAPI 3.1 document
//	GET  /v1/chains[?limit=][&cursor=]             api.Chains, sorted by id
//	POST /v1/chains/{chain}/txs[?wait=false][&timeout=10s]
//	                                               api.SubmitTx -> api.TxResult
//	GET  /v1/chains/{chain}/txs/{hash}             api.TxResult with tx, body, signer, block time
//	GET  /v1/chains/{chain}/blocks/{height|latest} api.Block
//	GET  /v1/chains/{chain}/accounts/{address}     api.Account
//	GET  /v1/chains/{chain}/evidence/{digest}[?prove=true]
//	                                               api.Evidence
//	GET  /v1/chains/{chain}/accounts/{address}/txs[?limit=][&cursor=][&order=asc|desc]
//	                                               api.TxPage
//	GET  /v1/chains/{chain}/gov/params             api.Params
//	GET  /v1/chains/{chain}/consensus-params       api.ConsensusParams
//	GET  /v1/chains/{chain}/gov/proposals[?status=][&limit=][&cursor=|&before=]
//	                                               api.Proposals, newest first
//	GET  /v1/chains/{chain}/gov/proposals/{id}     api.Proposal with its votes
//	GET  /v1/chains/{chain}/credits/params         api.Params
//	GET  /v1/chains/{chain}/credits/balances/{holder}
//	                                               api.Balance
//	GET  /v1/chains/{chain}/credits/sponsorships/{org}
//	                                               api.Sponsorship
//	GET  /v1/chains/{chain}/credits/statements/{holder}[?limit=][&cursor=]
//	                                               api.Statement, oldest first
//	GET  /v1/chains/{chain}/validators[?org=][&limit=][&cursor=]
//	                                               api.Validators, by public key
//	GET  /v1/chains/{chain}/orgs[?status=][&limit=][&cursor=]
//	                                               api.Orgs, by id
//	GET  /v1/chains/{chain}/xchain/clients[?limit=][&cursor=]
//	                                               api.XClients, by id (xchain.go)
//	GET  /v1/chains/{chain}/xchain/clients/{client}
//	                                               api.XClient
//	GET  /v1/chains/{chain}/xchain/routes[?limit=][&cursor=]
//	                                               api.XRoutes, by id
//	GET  /v1/chains/{chain}/xchain/routes/{route}  api.XRoute
//	GET  /v1/chains/{chain}/xchain/routes/{route}/packets[?limit=][&cursor=]
//	                                               api.XPackets, newest first
//	GET  /v1/chains/{chain}/xchain/routes/{route}/packets/{sequence}
//	                                               api.XPacket
//	GET  /v1/chains/{chain}/xchain/routes/{route}/pending[?limit=][&cursor=]
//	                                               api.XPending, ascending
//	GET  /v1/chains/{chain}/xchain/routes/{route}/requests/{sequence}
//	GET  /v1/chains/{chain}/xchain/routes/{route}/messages/{sequence}
//	GET  /v1/chains/{chain}/xchain/inbox/{handler}/{route}/{sequence}
//	                                               api.XRecord
//	GET  /v1/chains/{chain}/xchain/attestations/{source_chain}/{digest}[?prove=true]
//	                                               api.XAttestation
//
// # Chains
//
// GET /v1/chains lists every configured chain; a chain none of whose nodes answered is
// listed with its id and node count only (height 0). GET /healthz tells which one failed.
//
// # Submitting transactions
//
// The body is {"tx": "<base64 of the encoded envelope>"}, at most 1 MiB (413 tx_too_large
// beyond, and for a transaction larger than txs.MaxTxBytes). The gateway broadcasts it
// with broadcast_tx_sync. If the application refuses it in CheckTx, the answer is the
// application's error: its code name, the code's HTTP status, the log as message (without
// the repeated "<code>: " prefix) and the transaction's hash. With ?wait=false the answer
// is 202 with the hash once the mempool admitted the transaction. Otherwise the gateway
// polls the node's transaction index until the transaction is in a block, and answers 200
// with its result (whose code may be non-zero: a transaction can fail in its block after
// passing CheckTx), or 504 {"code": "timeout", "hash": ...} after the wait timeout
// (Config.TxWaitTimeout, or ?timeout=<Go duration> up to MaxTxWaitTimeout). A transaction
// the node already has in its cache (the same bytes submitted again) is treated as
// admitted: the answer is the result of the earlier submission once it is committed. A
// node that is still syncing, or whose mempool is full, makes the answer 503 unavailable.
//
// Because CheckTx runs every message against the node's check state, which includes the
// transactions already admitted to its mempool, most failures (bad signature, wrong chain,
// bad nonce, unknown sender, a digest anchored already) are answered right away with the
// error status; a committed result with a non-zero code only happens when two nodes admit
// conflicting transactions at the same time.
//
// # Reading transactions
//
// GET .../txs/{hash} takes 64 hex digits, with or without 0x, in any case. The answer
// carries the transaction's bytes, its decoded body, its signer (algorithm and upper-case
// hex public key) and its block's time. Messages of known types carry a "decoded" object:
//
//	/lian.evidence.v1.MsgAnchor          {"digest", "hash_algo", "label", "metadata"}
//	/lian.evidence.v1.MsgAnchorBatch     {"root", "hash_algo", "count", "label", "metadata"}
//	/lian.identity.v1.MsgRegisterAccount {"address", "algo", "pub_key", "roles", "identity_hash"}
//	/lian.identity.v1.MsgGrantRole       {"address", "role"} (MsgRevokeRole alike)
//	/lian.identity.v1.MsgFreezeAccount   {"address", "reason"} (MsgUnfreezeAccount alike)
//	/lian.gov.v1.MsgSubmitProposal       {"kind", "title", "content"} (content_bytes, base64, if not JSON)
//	/lian.gov.v1.MsgVote                 {"proposal_id", "option"}
//	/lian.credits.v1.MsgTopUp            {"holder", "currency", "amount", "payment_ref", "payer_name"}
//	/lian.credits.v1.MsgSetSponsorship   {"cap", "period"}
//
// with digests, roots, keys and hashes as upper-case hex (addresses as 0x + lower hex).
//
// # Module state
//
// The governance, credits and registry routes read the application's state through ABCI
// queries at the latest committed height, which each answer names ("height"); a
// proposal and its votes, or a balance and its holder, are read at one height. Records
// the chain stores (parameters, proposals, votes, sponsorships, organisations) are passed
// through as the chain encoded them. A holder is a 0x address or org:<organisation id>;
// an unknown account or organisation is not_found.
//
// # History and pagination
//
// GET .../accounts/{address}/txs lists the transactions an account sent (the node's
// transaction index, by the indexed lian.tx.sender attribute), failed ones included,
// oldest first (order=desc: newest first). GET .../credits/statements/{holder} merges the
// holder's top-ups (the credits module's receipts) with the fees it paid (transactions
// whose lian.tx.payer is the holder, also failed ones: the fee is kept) by height and
// position in the block, a fee before the messages of its own transaction. Both answer
// at most ?limit= entries (1..100) and a "next" cursor, absent on the last page; pass
// it as ?cursor= (with the same order) for the next page. Cursors name the last entry
// returned, so pages do not shift when new transactions arrive. The proposal list pages
// from the newest with ?cursor=<id> (or ?before=<id>), its "next". The chains,
// validators and organisations are paged alike (by id or public key; 100 by default).
//
// # Proofs
//
// GET .../evidence/{digest}?prove=true returns the record with an ICS-23 proof of its
// store key at a state height H, the signed header of block H+1 (whose app hash is the
// proof's root) and the validator set of block H+1. H is the latest height whose next
// block exists; if the digest was anchored in the very last block, the gateway waits (up
// to ProofWaitTimeout) for the next block.
package gateway
