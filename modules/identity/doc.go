// Package identity keeps Lian's organisations, real-name accounts, roles and validators.
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
// Roles: an admin grants and revokes the organisation roles (admin, member, relayer)
// to accounts of its own organisation (MsgGrantRole, MsgRevokeRole); the network roles
// (regulator, operator, psp) change only by governance (SetNetworkRole). A regulator
// freezes and unfreezes accounts with a recorded reason (MsgFreezeAccount,
// MsgUnfreezeAccount): a frozen account can send nothing. Governance admits,
// suspends, resumes and removes organisations and changes validators through the
// functions of *Module that take a *modules.Context (the registry gov declares).
//
// State (prefix "identity/"):
//
//	o/<org id>              -> Org (JSON)
//	a/<20-byte address>     -> Account (JSON)
//	n/<20-byte address>     -> nonce, 8 bytes big-endian
//	m/<org id>/<address>    -> empty: the accounts of an organisation
//	v/<ed25519 key>         -> Validator (JSON): organisation and power
//	c/active_orgs           -> number of active organisations, 8 bytes big-endian
package identity
