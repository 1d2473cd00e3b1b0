// Package gov lets the member organisations govern the chain by vote.
//
// Any organisation admin proposes (MsgSubmitProposal: a kind, its JSON content and a
// title); each active organisation has one vote (yes, no or abstain) cast by one of its
// admins (MsgVote). A proposal passes when its yes-votes reach ⌈threshold × active
// organisations⌉ (threshold a parameter, ⅔ by default) before its deadline (submit
// time + voting period, in block time), and is executed exactly once, in the
// transaction and block that decide it, on a branch: if the execution fails (say the
// organisation it adds exists by then), nothing changes and the proposal is "failed".
// It is "rejected" as soon as it can no longer pass, and "expired" when the deadline
// comes first (EndBlock closes those, at most MaxExpiriesPerBlock per block).
//
// Kinds: add_org (with its first admin and optionally a validator), suspend_org,
// resume_org, remove_org, add_validator, remove_validator, set_validator_power (ABCI
// validator updates: CometBFT's validator set changes two blocks later),
// grant_role / revoke_role (network roles), set_params (gov, credits and block
// parameters). The organisation registry is the identity module, reached through
// the Registry interface; the credit parameters through CreditParams.
//
// State (prefix "gov/"):
//
//	p                         -> Params (JSON)
//	c/next_id                 -> next proposal id, 8 bytes big-endian
//	pr/<id>                   -> Proposal (JSON)
//	vt/<id>/<org>             -> Vote (JSON)
//	q/<deadline ns>/<id>      -> empty: open proposals by deadline
package gov
