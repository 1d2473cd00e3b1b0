package bench

import (
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/modules/credits"
	"github.com/lianchain/lian/modules/evidence"
	"github.com/lianchain/lian/modules/identity"
	"github.com/lianchain/lian/txs"
)

// RegisterTimeout bounds how long RegisterAccounts waits for its transactions' commit.
const RegisterTimeout = 2 * time.Minute

// WorkerTopUp is what RegisterAccounts pays for each account it registers, in fen
// (10,000 CNY: 10^9 credits at the default price, some 400,000 anchors).
const WorkerTopUp = 1_000_000

// RegisterAccounts generates n fresh ed25519 keys and registers them, with role member,
// in the organisation of admin (an admin and operator of it), each with a top-up of
// WorkerTopUp, in as few transactions as possible (txs.MaxMessages messages each: a
// MsgRegisterAccount and a MsgTopUp per account). It submits them through tr and waits until
// they are committed and every account is registered as seen through each of waitOn (tr
// when empty).
func RegisterAccounts(ctx context.Context, tr Transport, chainID string, admin crypto.PrivKey, n int, waitOn ...Transport) ([]crypto.PrivKey, error) {
	if n < 1 {
		return nil, fmt.Errorf("register accounts: n = %d", n)
	}
	if admin == nil {
		return nil, errors.New("register accounts: no admin key")
	}
	keys := make([]crypto.PrivKey, n)
	for i := range keys {
		k, err := crypto.GenPrivKey(crypto.Ed25519)
		if err != nil {
			return nil, err
		}
		keys[i] = k
	}
	adminAddr := admin.PubKey().Address()
	start, err := tr.Nonce(ctx, adminAddr)
	if err != nil {
		return nil, fmt.Errorf("register accounts: nonce of %s: %w", adminAddr, err)
	}
	nonce := start
	const perTx = txs.MaxMessages / 2
	for i := 0; i < n; i += perTx {
		batch := keys[i:min(i+perTx, n)]
		msgs := make([]txs.Msg, 0, 2*len(batch))
		for _, k := range batch {
			pub := k.PubKey()
			addr := pub.Address()
			ih := sha256.Sum256(append([]byte("lian bench account "), pub.Bytes()...))
			msgs = append(msgs,
				&identity.MsgRegisterAccount{PubKey: pub.Bytes(), Algo: crypto.Ed25519, Roles: []string{identity.RoleMember}, IdentityHash: ih[:]},
				&credits.MsgTopUp{Account: &addr, Currency: "CNY", Amount: WorkerTopUp, PaymentRef: "lian-bench-" + addr.String(), PayerName: "lian bench"})
		}
		body := txs.NewBody(chainID, nonce, msgs...)
		body.Sender = adminAddr
		body.Memo = "lian bench accounts"
		tx, err := txs.Sign(body, admin)
		if err != nil {
			return nil, fmt.Errorf("register accounts: %w", err)
		}
		if err := tr.Submit(ctx, tx.Marshal()); err != nil {
			return nil, fmt.Errorf("register accounts: submit (admin nonce %d): %w", nonce, err)
		}
		nonce++
	}
	ctx, cancel := context.WithTimeout(ctx, RegisterTimeout)
	defer cancel()
	if err := pollUntil(ctx, func() (bool, error) {
		got, err := tr.Nonce(ctx, adminAddr)
		return got >= nonce, err
	}); err != nil {
		return nil, fmt.Errorf("register accounts: waiting for admin nonce %d: %w", nonce, err)
	}
	if len(waitOn) == 0 {
		waitOn = []Transport{tr}
	}
	for _, t := range waitOn {
		for i := 0; i < n; i += perTx {
			last := keys[min(i+perTx, n)-1].PubKey().Address()
			if err := pollUntil(ctx, func() (bool, error) { return t.Registered(ctx, last) }); err != nil {
				return nil, fmt.Errorf("register accounts: account %s not registered (did the transaction fail? is the key an admin and an operator?): %w", last, err)
			}
		}
	}
	return keys, nil
}

// pollUntil calls cond every 50 ms until it returns true or ctx ends. Errors of cond are
// retried; the last one is returned with ctx's.
func pollUntil(ctx context.Context, cond func() (bool, error)) error {
	var last error
	for {
		ok, err := cond()
		if err == nil && ok {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("%w (last error: %v)", ctx.Err(), last)
			}
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// AnchorSource builds Lian transactions of one account that each anchor one fresh
// pseudo-random 32-byte digest (one MsgAnchor, hash algorithm sha256).
type AnchorSource struct {
	tr      Transport
	chainID string
	key     crypto.PrivKey
	addr    crypto.Address
	rng     *rand.ChaCha8
}

var _ NonceSource = (*AnchorSource)(nil)

// NewAnchorSource returns the source of key's account on chainID; Sync reads the nonce
// through tr.
func NewAnchorSource(tr Transport, chainID string, key crypto.PrivKey) *AnchorSource {
	var seed [32]byte
	_, _ = crand.Read(seed[:])
	return &AnchorSource{tr: tr, chainID: chainID, key: key, addr: key.PubKey().Address(), rng: rand.NewChaCha8(seed)}
}

// Address returns the account's address.
func (s *AnchorSource) Address() crypto.Address { return s.addr }

// Build implements TxSource.
func (s *AnchorSource) Build(nonce uint64) ([]byte, error) {
	digest := make([]byte, evidence.DigestLen)
	_, _ = s.rng.Read(digest)
	body := txs.NewBody(s.chainID, nonce, &evidence.MsgAnchor{Digest: digest, HashAlgo: evidence.HashSHA256})
	body.Sender = s.addr
	tx, err := txs.Sign(body, s.key)
	if err != nil {
		return nil, err
	}
	return tx.Marshal(), nil
}

// Sync implements TxSource: the account's next nonce in the last committed state.
func (s *AnchorSource) Sync(ctx context.Context, _ uint64) (uint64, error) {
	return s.tr.Nonce(ctx, s.addr)
}

// CommittedNonce implements NonceSource.
func (s *AnchorSource) CommittedNonce(ctx context.Context) (uint64, error) {
	return s.tr.Nonce(ctx, s.addr)
}
