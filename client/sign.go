package client

import (
	"context"
	"errors"
	"fmt"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/txs"
)

// BuildTx checks msgs (ValidateBasic), puts them in a body for chain with the key's
// address as sender, nonce and memo, signs it with key and returns the encoded envelope.
// It does not talk to the gateway.
func BuildTx(chain string, nonce uint64, key crypto.PrivKey, memo string, msgs ...txs.Msg) ([]byte, error) {
	if err := checkTx(chain, key, memo, msgs); err != nil {
		return nil, err
	}
	body := txs.NewBody(chain, nonce, msgs...)
	body.Memo = memo
	return signBody(body, key)
}

// signBody sets key's address as body's sender, signs the body and returns the encoded
// envelope; one above txs.MaxTxBytes is refused.
func signBody(body *txs.Body, key crypto.PrivKey) ([]byte, error) {
	body.Sender = key.PubKey().Address()
	tx, err := txs.Sign(body, key)
	if err != nil {
		return nil, err
	}
	bz := tx.Marshal()
	if len(bz) > txs.MaxTxBytes {
		return nil, errcode.New(errcode.TxTooLarge, "build tx: transaction is %d bytes, at most %d allowed", len(bz), txs.MaxTxBytes)
	}
	return bz, nil
}

// BuildFiller signs a nonce filler of key's account for chain at nonce: a transaction
// without messages, which consumes the nonce and pays the default base fee, and does
// nothing else. At the nonce of a transaction that can no longer be sent, it lets the
// account's later transactions run at theirs; the two exclude each other, so it also
// cancels a transaction still waiting at that nonce if it runs first.
func BuildFiller(chain string, nonce uint64, key crypto.PrivKey) ([]byte, error) {
	if err := checkSigner("build filler", chain, key); err != nil {
		return nil, err
	}
	return signBody(txs.NewBody(chain, nonce), key)
}

// SignTx reads the next nonce of key's account from the gateway and returns the encoded,
// signed transaction carrying msgs (see BuildTx).
func (c *Client) SignTx(ctx context.Context, chain string, key crypto.PrivKey, memo string, msgs ...txs.Msg) ([]byte, error) {
	if err := checkTx(chain, key, memo, msgs); err != nil {
		return nil, err
	}
	addr := key.PubKey().Address()
	acct, err := c.Account(ctx, chain, addr)
	if errors.Is(err, &Error{Code: errcode.NotFound.String()}) {
		return nil, fmt.Errorf("account %s is not registered on %s (an admin of its organisation registers it: lian tx identity register-account): %w", addr, chain, err)
	}
	if err != nil {
		return nil, fmt.Errorf("read nonce of %s: %w", addr, err)
	}
	body := txs.NewBody(chain, acct.Nonce, msgs...) // checked above
	body.Memo = memo
	return signBody(body, key)
}

// SignAndSubmit reads the sender's next nonce from the gateway, signs a body with msgs and
// submits it, waiting for commit. A transaction committed with a non-zero code is returned
// with an *Error of that code.
func (c *Client) SignAndSubmit(ctx context.Context, chain string, key crypto.PrivKey, memo string, msgs ...txs.Msg) (*api.TxResult, error) {
	tx, err := c.SignTx(ctx, chain, key, memo, msgs...)
	if err != nil {
		return nil, err
	}
	return c.BroadcastTx(ctx, chain, tx, true)
}

// checkTx checks what BuildTx needs, messages included, before any work is done.
// checkSigner checks a signing key and a chain id given to what.
func checkSigner(what, chain string, key crypto.PrivKey) error {
	switch {
	case key == nil:
		return errcode.New(errcode.InvalidRequest, "%s: no signing key", what)
	case chain == "":
		return errcode.New(errcode.InvalidRequest, "%s: no chain id", what)
	case len(chain) > txs.MaxChainIDBytes:
		return errcode.New(errcode.InvalidRequest, "%s: chain id is %d bytes, at most %d allowed", what, len(chain), txs.MaxChainIDBytes)
	}
	return nil
}

func checkTx(chain string, key crypto.PrivKey, memo string, msgs []txs.Msg) error {
	if err := checkSigner("build tx", chain, key); err != nil {
		return err
	}
	switch {
	case len(msgs) == 0:
		return errcode.New(errcode.InvalidRequest, "build tx: no messages")
	case len(msgs) > txs.MaxMessages:
		return errcode.New(errcode.TxTooLarge, "build tx: %d messages, at most %d allowed", len(msgs), txs.MaxMessages)
	case len(memo) > txs.MaxMemoBytes:
		return errcode.New(errcode.TxTooLarge, "build tx: memo is %d bytes, at most %d allowed", len(memo), txs.MaxMemoBytes)
	}
	for i, m := range msgs {
		if m == nil {
			return errcode.New(errcode.InvalidRequest, "build tx: message %d is nil", i)
		}
		if err := m.ValidateBasic(); err != nil {
			return errcode.Wrap(errcode.InvalidMessage, err)
		}
	}
	return nil
}
