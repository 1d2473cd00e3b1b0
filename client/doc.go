// Package client is the Go SDK of Lian: a client of the gateway's HTTP API (the documents
// of package api), transaction signing and submission, document digests and batch
// inclusion proofs, and client-side verification of evidence proofs.
//
// A Client talks to one gateway, which may serve several chains:
//
//	c := client.New("http://127.0.0.1:8700")
//	res, err := c.SignAndSubmit(ctx, "beijing-1", key, "", &evidence.MsgAnchor{...})
//
// A gateway run with --auth takes writes only with a platform API key: give it with
// client.New(url, client.WithAPIKey(key)), or in $LIAN_API_KEY (which New reads).
//
// Beyond transactions, blocks, accounts and evidence, the client reads governance
// (GovParams, Proposals, Proposal), the consensus parameters in force
// (ConsensusParams), gas credits (CreditParams, Balance, Sponsorship, Statement), an
// account's transaction history (AccountTxs) and the registry (Validators, Orgs); the
// list methods page with a cursor (the Next of a page). NewProposal,
// NewVote, NewTopUp, NewSponsorship and EndSponsorship build the corresponding messages
// and check them as the chain would; the identity messages (MsgGrantRole,
// MsgFreezeAccount, ...) are plain structs, checked when a transaction is built.
//
// Every error the gateway answers with is returned as an *Error carrying the stable code
// name of package errcode ("bad_nonce", "not_found", ...). A transaction that was committed
// (or checked) with a non-zero code is returned together with an *Error for that code, so
// callers cannot mistake a failed transaction for a successful one.
//
// VerifyEvidence checks an evidence record and its proof entirely on the client: the
// ICS-23 proof of the record against the app hash of a block header, and the signatures
// of more than 2/3 of the voting power of the header's validator set on that header. The
// validator set itself comes from the gateway; pin it with VerifyOptions.TrustedValidatorsHash
// (taken from genesis or another trusted source) so that a dishonest gateway cannot present
// a validator set of its own making.
package client
