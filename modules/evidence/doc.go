// Package evidence anchors document digests on chain: proof that a document existed, in
// this exact form, no later than a block's time, submitted by a named account of a named
// organisation.
//
// MsgAnchor stores one 32-byte digest (SHA-256 or SM3 of the document) with a label and
// small metadata. MsgAnchorBatch stores the Merkle root of many documents' digests (an
// RFC 6962 tree as CometBFT's crypto/merkle builds it, see BatchRoot and BatchProof), so
// one transaction anchors a whole batch and each document is later shown to be in it by
// its inclusion proof. A digest can be anchored once; a second anchor is refused with an
// error that names the first record.
//
// Every record is one key of the state tree, so a query can return it with an ICS-23
// proof against the app hash in a block header signed by the validators.
//
// State (prefix "evidence/"):
//
//	d/<32-byte digest> -> Record (JSON)
package evidence
