package app

import (
	"sync"

	"github.com/lianchain/lian/txs"
)

// Preverify checks, as one batch, the ed25519 signatures of transactions that peers
// sent, before the mempool hands them to CheckTx one at a time. A batch of 16
// signatures costs about 40% less per signature than 16 single checks, and a
// validator checks most transactions of the network this way (all but those its own
// clients send).
//
// It only saves work, like batchVerify: a transaction that verifies is remembered, and
// CheckTx then neither decodes it again nor checks its signature (it still checks that
// the key is the sender's registered key, and everything else). A transaction that
// does not verify, is not ed25519, or does not decode is not remembered, and CheckTx
// judges it as always. Transactions already seen are skipped.
//
// Preverify is safe to call concurrently with the ABCI methods: it reads no state
// (the chain id is set by InitChain, before the node's reactors start). So it cannot
// tell a registered sender from an unknown one, which CheckTx refuses before checking
// the signature: a peer sending signed transactions of unknown senders costs this
// node a batch check each (and a batch with a bad signature in it costs about twice
// its check, as the batch verifier then checks each signature alone). Peers are the
// validators of the network's organisations, and relay only what their own CheckTx
// admitted. node.Start calls Preverify from its mempool reactor (node.Preverifier).
func (a *App) Preverify(raw [][]byte) {
	hashes := make([]txs.Hash, len(raw))
	for i, tx := range raw {
		hashes[i] = txs.HashOf(tx)
	}
	// Fewer than minPreBatch: a single check costs what CheckTx's own costs.
	for _, v := range a.verifyEd25519(raw, hashes, minPreBatch, a.pre.seen) {
		a.pre.add(v.hash, v.d)
	}
}

// minPreBatch is the number of new ed25519 transactions from which Preverify checks
// them as a batch. Per signature a batch of 2 costs more than a single check, one of 4
// about 20% less, one of 16 about 40% less (crypto's BenchmarkEd25519Batch against
// BenchmarkVerifySignature/ed25519).
const minPreBatch = 4

// preverified holds transactions whose signatures Preverify checked, for CheckTx to
// take. It is shared between the reactor's goroutine and the ABCI methods. An entry
// taken stays as a marker (a nil value), so that the copies of a transaction other peers
// send are not checked again; the map is emptied when it reaches its bound.
type preverified struct {
	mu  sync.Mutex
	max int
	m   map[txs.Hash]*decodedTx
}

func newPreverified(max int) *preverified {
	return &preverified{max: max, m: make(map[txs.Hash]*decodedTx)}
}

func (p *preverified) seen(h txs.Hash) bool {
	p.mu.Lock()
	_, ok := p.m[h]
	p.mu.Unlock()
	return ok
}

func (p *preverified) add(h txs.Hash, d *decodedTx) {
	p.mu.Lock()
	p.set(h, d)
	p.mu.Unlock()
}

// set stores d under h, emptying the map first when it is full; p.mu is held.
func (p *preverified) set(h txs.Hash, d *decodedTx) {
	if len(p.m) >= p.max {
		clear(p.m)
	}
	p.m[h] = d
}

// take returns the checked transaction of hash h, if any, and leaves a marker.
func (p *preverified) take(h txs.Hash) *decodedTx {
	p.mu.Lock()
	d := p.m[h]
	if d != nil {
		p.m[h] = nil
	}
	p.mu.Unlock()
	return d
}

// mark records that the transaction of hash h, admitted without Preverify (sent to this
// node by a client), was checked, so that copies of it peers send are not checked again.
func (p *preverified) mark(h txs.Hash) {
	p.mu.Lock()
	if _, ok := p.m[h]; !ok {
		p.set(h, nil)
	}
	p.mu.Unlock()
}
