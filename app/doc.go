// Package app is Lian's ABCI application: the deterministic state machine CometBFT runs.
//
// One pipeline serves CheckTx and FinalizeBlock: decode the envelope and body (strict
// protobuf), check the chain id, authenticate the sender (registered, active, the key it
// registered), verify the signature over body_bytes as sent, check the nonce, decode each
// message and check the sender's roles for it — all before anything is written. Then the
// nonce is bumped and the messages run on a store branch that is merged only if every
// message succeeds, so a failing transaction consumes its nonce and changes nothing else.
//
// CheckTx runs against a branch of the last committed state that is rebuilt after every
// commit (CometBFT rechecks the mempool against it); signatures verified there are
// remembered by tx hash so FinalizeBlock on the same node need not verify them again.
// FinalizeBlock never trusts the mempool: everything not remembered is verified.
//
// A panic while checking or executing a transaction (a handler's bug meeting an input no
// test had) fails that transaction with code internal, in CheckTx and in blocks alike,
// and is logged with its stack; the node goes on. A panic is deterministic, so every
// node fails the transaction the same way. The exception is store.Fault — the node's own
// database failing — which stops the node.
//
// With vote extensions on, a validator executes a block in ExtendVote, before it
// precommits it, and attests the app hash after it (xchain.StateExtension);
// FinalizeBlock then returns that execution (see extend.go). QueryExtendedCommit serves
// the commits carrying those attestations.
//
// Block height and time come from the block header; modules iterate sorted keys only; no
// goroutines or I/O run inside FinalizeBlock or ExtendVote beyond the state store itself.
package app
