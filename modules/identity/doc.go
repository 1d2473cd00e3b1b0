// Package identity keeps Lian's organisations and real-name accounts.
//
// Genesis lists the organisations, their first admin accounts and the validator each runs.
// An organisation's admin registers accounts of its own organisation with
// MsgRegisterAccount: a public key and its algorithm, roles, and identity_hash — the hash
// of the real-name record the organisation keeps off chain. Only registered, active
// accounts of active organisations may send transactions; the app asks this module through
// Authenticate before anything else runs. Each account has a nonce, the number of its
// transactions executed so far, kept under its own key so the per-transaction bump is a
// small write.
//
// State (prefix "identity/"):
//
//	o/<org id>              -> Org (JSON)
//	a/<20-byte address>     -> Account (JSON)
//	n/<20-byte address>     -> nonce, 8 bytes big-endian
//	m/<org id>/<address>    -> empty: the accounts of an organisation
package identity
