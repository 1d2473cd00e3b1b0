package node

import (
	"time"

	cmtlog "github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/mempool"
	"github.com/cometbft/cometbft/p2p"
	protomem "github.com/cometbft/cometbft/proto/tendermint/mempool"
	"github.com/cometbft/cometbft/types"
)

// Re-announcing a stalled mempool.
//
// CometBFT's mempool sends each transaction to each peer once, and it sends it to a peer
// that is one block behind. Such a peer checks the transaction against the state of the
// block before: a transaction that depends on the last block (the next nonce of an
// account, an account registered or credits topped up in it) is refused there and
// never offered again. If the transaction then sits only in the mempools of validators
// that are not the next proposer, and the chain waits for transactions
// (create_empty_blocks_interval), no block is proposed until the interval ends, and the
// same can happen at the next height: the transaction waits minutes. The re-announcer
// ends such a stall: when the mempool holds transactions and no block has been
// committed for reannounceAfter, it sends the oldest of them to every peer again, with
// CometBFT's own mempool message. A peer that has one already ignores it (its cache); a
// peer that refused it checks it again, against its state of now.
const (
	// reannounceCheck is how often the re-announcer looks at the mempool.
	reannounceCheck = 500 * time.Millisecond
	// reannounceAfter is how long a mempool with transactions may see no new block
	// before its transactions are announced again; the wait doubles after each
	// announcement at one height, up to reannounceMaxWait.
	reannounceAfter   = 2 * time.Second
	reannounceMaxWait = 30 * time.Second
	// reannounceMaxBytes bounds the transactions sent in one announcement.
	reannounceMaxBytes = 1 << 20
)

// mempoolSource is what the re-announcer needs of the mempool and the block store.
type mempoolSource interface {
	Size() int
	ReapMaxBytesMaxGas(maxBytes, maxGas int64) types.Txs
}

// peerBroadcaster is what the re-announcer needs of CometBFT's switch.
type peerBroadcaster interface {
	BroadcastAsync(e p2p.Envelope)
	IsRunning() bool
}

// reannouncer re-announces the transactions of a stalled mempool to the node's peers.
type reannouncer struct {
	mp       mempoolSource
	height   func() int64
	sw       peerBroadcaster
	maxMsg   int // the largest mempool message a peer accepts, in tx bytes
	logger   cmtlog.Logger
	interval time.Duration // how often to look
	after    time.Duration // first wait at a height

	stop chan struct{}
	done chan struct{}

	// Loop state.
	lastHeight int64
	since      time.Time     // when lastHeight was first seen, or the last announcement
	wait       time.Duration // the current wait before announcing
}

func startReannouncer(mp mempoolSource, height func() int64, sw peerBroadcaster, maxTxBytes int, logger cmtlog.Logger) *reannouncer {
	r := newReannouncer(mp, height, sw, maxTxBytes, logger, reannounceCheck, reannounceAfter)
	go r.run()
	return r
}

func newReannouncer(mp mempoolSource, height func() int64, sw peerBroadcaster, maxTxBytes int, logger cmtlog.Logger, interval, after time.Duration) *reannouncer {
	return &reannouncer{
		mp: mp, height: height, sw: sw, maxMsg: maxTxBytes, logger: logger,
		interval: interval, after: after, wait: after,
		stop: make(chan struct{}), done: make(chan struct{}),
	}
}

func (r *reannouncer) run() {
	defer close(r.done)
	tick := time.NewTicker(r.interval)
	defer tick.Stop()
	for {
		select {
		case <-r.stop:
			return
		case now := <-tick.C:
			r.step(now)
		}
	}
}

// step looks at the mempool at time now and announces its oldest transactions again if
// it is stalled.
func (r *reannouncer) step(now time.Time) {
	h := r.height()
	if h != r.lastHeight || r.mp.Size() == 0 {
		r.lastHeight, r.since, r.wait = h, now, r.after
		return
	}
	if now.Sub(r.since) < r.wait || !r.sw.IsRunning() {
		return
	}
	txs := r.mp.ReapMaxBytesMaxGas(reannounceMaxBytes, -1)
	msgs := r.announce(txs)
	r.logger.Info("mempool stalled: announced its oldest transactions to the peers again",
		"height", h, "stalled_for", now.Sub(r.since).Round(time.Millisecond), "txs", len(txs), "messages", msgs)
	r.since = now
	r.wait = min(2*r.wait, reannounceMaxWait)
}

// announce sends txs to every peer in mempool messages of at most maxMsg tx bytes each
// (a peer's mempool channel takes one message of its largest transaction) and returns
// how many messages it sent.
func (r *reannouncer) announce(txs types.Txs) int {
	msgs := 0
	var batch [][]byte
	size := 0
	flush := func() {
		if len(batch) == 0 {
			return
		}
		r.sw.BroadcastAsync(p2p.Envelope{ChannelID: mempool.MempoolChannel, Message: &protomem.Txs{Txs: batch}})
		msgs++
		batch, size = nil, 0
	}
	for _, tx := range txs {
		// 8 bytes covers the field tag and length of a tx in the message.
		if len(batch) > 0 && size+len(tx)+8 > r.maxMsg {
			flush()
		}
		batch = append(batch, tx)
		size += len(tx) + 8
	}
	flush()
	return msgs
}

// Stop stops the re-announcer and waits for its loop. It is safe on nil.
func (r *reannouncer) Stop() {
	if r == nil {
		return
	}
	close(r.stop)
	<-r.done
}
