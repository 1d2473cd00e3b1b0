package app

import (
	"log/slog"
	"runtime/debug"
	"sync"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules"
	"github.com/lianchain/lian/modules/identity"
	"github.com/lianchain/lian/store"
	"github.com/lianchain/lian/txs"
)

// guard runs fn and turns a panic in it into an Internal error: a node must not stop on
// what a transaction carries. The panic's value and stack go to the log. A store.Fault —
// the node's own database failing — is not recovered: the node stops rather than go on
// from a state it could not read or write. A panic is deterministic (same block, same
// code, same panic on every node), so the error it becomes is too.
func guard(what string, fn func() error) (err error) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		if f, ok := r.(*store.Fault); ok {
			panic(f)
		}
		slog.Error("app: recovered a panic", "in", what, "panic", r, "stack", string(debug.Stack()))
		err = errcode.New(errcode.Internal, "%s failed unexpectedly: %v", what, r)
	}()
	return fn()
}

// verifySignature checks the envelope's signature with the sender's registered key.
func (a *App) verifySignature(tx *txs.Tx, acct *identity.Account) error {
	pub, err := a.keyCache.get(acct.Algo, acct.PubKey)
	if err != nil {
		return errcode.New(errcode.InvalidSignature, "registered key of %s: %v", acct.Address, err)
	}
	return tx.VerifyWith(pub)
}

// minBatch is the number of unknown ed25519 transactions in a block from which they are
// verified as a batch (below it, single verification is as fast).
const minBatch = 8

// batchVerify verifies, as one batch, the ed25519 signatures of the block's transactions
// this node did not admit in CheckTx (a node catching up by block sync sees only those),
// and remembers the ones that verify as known. It only saves work: a transaction it does
// not remember is verified on its own in runTx, with the same (ZIP-215) rules, so the
// block's results do not depend on it.
func (a *App) batchVerify(blockTxs [][]byte, hashes []txs.Hash) {
	known := func(h txs.Hash) bool { return a.known.get(h) != nil }
	for _, v := range a.verifyEd25519(blockTxs, hashes, minBatch, known) {
		a.known.add(v.hash, v.d)
	}
}

// verified is a decoded transaction whose signature verified.
type verified struct {
	hash txs.Hash
	d    *decodedTx
}

// verifyEd25519 decodes the transactions of raw that skip does not pass over (hashes[i]
// is the hash of raw[i]), verifies the ed25519 signatures of those for this chain as
// one batch when there are at least min of them, and returns the ones whose signature
// verifies. The others (not decoding, another algorithm or chain, a bad signature, too
// few to batch) are left to runTx, which verifies them on its own with the same rules.
// It reads no state.
func (a *App) verifyEd25519(raw [][]byte, hashes []txs.Hash, min int, skip func(txs.Hash) bool) []verified {
	var cands []verified
	batch := crypto.NewEd25519Batch()
	for i, tx := range raw {
		if skip(hashes[i]) {
			continue
		}
		d, err := a.decode(tx)
		if err != nil || d.tx.Algo != crypto.Ed25519 || d.body.ChainID != a.chainID {
			continue
		}
		pub, err := a.keyCache.get(crypto.Ed25519, d.tx.PubKey)
		if err != nil || batch.Add(pub, d.tx.BodyBytes, d.tx.Signature) != nil {
			continue
		}
		cands = append(cands, verified{hashes[i], d})
	}
	if len(cands) < min {
		return nil
	}
	_, valid := batch.Verify()
	ok := cands[:0]
	for i, c := range cands {
		if i < len(valid) && valid[i] {
			ok = append(ok, c)
		}
	}
	return ok
}

// decodeMsgs decodes every message of body by its type and validates it, without state.
func (a *App) decodeMsgs(body *txs.Body) ([]txs.Msg, []route, error) {
	msgs := make([]txs.Msg, len(body.Messages))
	routes := make([]route, len(body.Messages))
	for i, any := range body.Messages {
		r, ok := a.routes[any.TypeURL]
		if !ok {
			return nil, nil, errcode.New(errcode.UnknownMessage, "message %d: unknown type %q", i, any.TypeURL)
		}
		msg, err := r.msgType.Decode(any.Value)
		if err != nil {
			return nil, nil, err
		}
		if err := msg.ValidateBasic(); err != nil {
			return nil, nil, errcode.Wrap(errcode.InvalidMessage, err)
		}
		msgs[i], routes[i] = msg, r
	}
	return msgs, routes, nil
}

// authorize checks that the sender holds a role each message type allows. This is the
// one place where roles are checked.
func authorize(d *decodedTx, sender *modules.Account) error {
	for i, r := range d.routes {
		if len(r.msgType.Roles) > 0 && !hasAnyRole(sender, r.msgType.Roles) {
			return errcode.New(errcode.Unauthorized, "message %d (%s): sender %s has roles %v, needs one of %v",
				i, r.msgType.TypeURL, sender.Address, sender.Roles, r.msgType.Roles)
		}
	}
	return nil
}

func hasAnyRole(acct *modules.Account, roles []string) bool {
	for _, r := range roles {
		if acct.HasRole(r) {
			return true
		}
	}
	return false
}

// txCache maps tx hashes to what CheckTx decoded; it forgets everything when it grows
// past its bound (the cost is only a second decode and signature check).
type txCache struct {
	max int
	m   map[txs.Hash]*decodedTx
}

func newTxCache(max int) *txCache {
	return &txCache{max: max, m: make(map[txs.Hash]*decodedTx)}
}

func (c *txCache) add(h txs.Hash, d *decodedTx) {
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[h] = d
}

func (c *txCache) get(h txs.Hash) *decodedTx { return c.m[h] }

// take returns and forgets the entry of h.
func (c *txCache) take(h txs.Hash) *decodedTx {
	d := c.m[h]
	if d != nil {
		delete(c.m, h)
	}
	return d
}

// keyCache keeps parsed public keys (decompressing an SM2 or secp256k1 point costs more
// than verifying some signatures). It is safe for concurrent use: Preverify reads it
// beside the ABCI methods.
type keyCache struct {
	mu  sync.Mutex
	max int
	m   map[string]crypto.PubKey
}

func newKeyCache(max int) *keyCache { return &keyCache{max: max, m: make(map[string]crypto.PubKey)} }

func (c *keyCache) get(algo crypto.Algo, b []byte) (crypto.PubKey, error) {
	k := string(algo) + "/" + string(b)
	c.mu.Lock()
	p, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return p, nil
	}
	p, err := crypto.PubKeyFromBytes(algo, b)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[k] = p
	c.mu.Unlock()
	return p, nil
}
