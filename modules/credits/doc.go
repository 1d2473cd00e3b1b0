// Package credits keeps Lian's gas credits: non-transferable balances bought with fiat.
//
// Every transaction costs gas = Σ over its messages of (base + per_byte × size), from the
// gas schedule parameter; one gas is one credit. The app charges the fee (Charge) before
// the messages run and keeps it when they fail; a transaction whose payer cannot pay
// is refused in CheckTx and, in a block, fails without changing anything. The payer is
// the sender's organisation when it sponsors its members (MsgSetSponsorship: up to a
// cap per member per period of block time) and both the allowance and the
// organisation's balance cover the fee; otherwise the sender.
//
// Credits enter only by top-ups (MsgTopUp), which only an operator may send, each
// carrying its fiat receipt: currency, amount in minor units, payment reference and
// payer name. Credits = ⌊amount × credits_per_unit / 10^exponent⌋ by the price
// parameter. A payment reference is used once per chain, so a retried payment
// callback never credits twice. No message moves credits between holders.
//
// State (prefix "credits/"):
//
//	p                        -> Params (JSON)
//	b/a/<address>            -> an account's balance, 8 bytes big-endian
//	b/o/<org>                -> an organisation's balance
//	r/<sha256(payment ref)>  -> Receipt (JSON) of the top-up that used the reference
//	s/<holder>/<seq>         -> Receipt: the holder's statement of top-ups
//	sn/<holder>              -> next statement number
//	sp/<org>                 -> Sponsorship (JSON)
//	u/<org>/<address>        -> a member's sponsored use: period number, credits (16 bytes)
//
// Charges are not stored per transaction: each tx's lian.tx event carries fee and
// payer (indexed), so a statement of charges comes from the transaction index.
package credits
