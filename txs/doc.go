// Package txs defines Lian's transaction envelope, its protobuf wire encoding and signing.
//
// A transaction is a Tx envelope: the encoded Body (chain id, sender, nonce, typed
// messages, memo), the signer's public key and algorithm, and a signature over the body
// bytes exactly as sent — the chain never re-serialises a body to verify it. The chain id
// and the per-account nonce inside the signed body stop replays, also across chains.
//
// Decoding is strict: unknown fields, repeated singular fields, wrong wire types, invalid
// UTF-8 and oversized fields are refused with errcode.TxMalformed or errcode.TxTooLarge.
// Encoding omits zero values, so each message has one encoding. Module messages use the
// same Encoder and ParseFields helpers.
package txs
