package app

import (
	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules"
	"github.com/lianchain/lian/modules/identity"
	"github.com/lianchain/lian/txs"
)

// verifySignature checks the envelope's signature unless this node already verified the
// same bytes in CheckTx (recheck, or a cached hash in a block).
func (a *App) verifySignature(tx *txs.Tx, acct *identity.Account, hash txs.Hash, m mode, recheck bool) error {
	if recheck {
		return nil // verified when the transaction entered the mempool
	}
	if m == modeDeliver && a.sigCache.remove(hash) {
		return nil
	}
	pub, err := a.keyCache.get(acct.Algo, acct.PubKey)
	if err != nil {
		return errcode.New(errcode.InvalidSignature, "registered key of %s: %v", acct.Address, err)
	}
	if !pub.VerifySignature(tx.BodyBytes, tx.Signature) {
		return errcode.New(errcode.InvalidSignature, "signature does not verify with the %s key of %s over body_bytes", tx.Algo, acct.Address)
	}
	return nil
}

// decodeMsgs decodes every message of body, validates it and checks that the sender has a
// role the message type allows. This is the one place where roles are checked.
func (a *App) decodeMsgs(body *txs.Body, sender *modules.Account) ([]txs.Msg, []route, error) {
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
		if len(r.msgType.Roles) > 0 && !hasAnyRole(sender, r.msgType.Roles) {
			return nil, nil, errcode.New(errcode.Unauthorized, "message %d (%s): sender %s has roles %v, needs one of %v",
				i, any.TypeURL, sender.Address, sender.Roles, r.msgType.Roles)
		}
		msgs[i], routes[i] = msg, r
	}
	return msgs, routes, nil
}

func hasAnyRole(acct *modules.Account, roles []string) bool {
	for _, r := range roles {
		if acct.HasRole(r) {
			return true
		}
	}
	return false
}

// boundedSet is a set of tx hashes that forgets everything when it grows past its bound.
type boundedSet struct {
	max int
	m   map[txs.Hash]struct{}
}

func newBoundedSet(max int) *boundedSet {
	return &boundedSet{max: max, m: make(map[txs.Hash]struct{})}
}

func (s *boundedSet) add(h txs.Hash) {
	if len(s.m) >= s.max {
		clear(s.m)
	}
	s.m[h] = struct{}{}
}

// remove deletes h and reports whether it was present.
func (s *boundedSet) remove(h txs.Hash) bool {
	_, ok := s.m[h]
	if ok {
		delete(s.m, h)
	}
	return ok
}

// keyCache keeps parsed public keys (decompressing an SM2 or secp256k1 point costs more
// than verifying some signatures).
type keyCache struct {
	max int
	m   map[string]crypto.PubKey
}

func newKeyCache(max int) *keyCache { return &keyCache{max: max, m: make(map[string]crypto.PubKey)} }

func (c *keyCache) get(algo crypto.Algo, b []byte) (crypto.PubKey, error) {
	k := string(algo) + "/" + string(b)
	if p, ok := c.m[k]; ok {
		return p, nil
	}
	p, err := crypto.PubKeyFromBytes(algo, b)
	if err != nil {
		return nil, err
	}
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[k] = p
	return p, nil
}
