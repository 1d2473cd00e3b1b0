package node

import (
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"

	cmtnode "github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
	protomem "github.com/cometbft/cometbft/proto/tendermint/mempool"
)

// Preverifier is an application that checks the signatures of many transactions at
// once (app.App does). Its Preverify is called with the transactions peers send,
// before CometBFT's mempool hands them to CheckTx one at a time, and must be safe to
// call beside the ABCI methods. It only saves work: CheckTx still judges every
// transaction.
type Preverifier interface {
	Preverify(txs [][]byte)
}

// Batching the mempool's messages.
//
// CometBFT's mempool reactor checks each transaction a peer sends as it arrives, on
// that peer's connection goroutine: one CheckTx, one signature check, at a time. With
// a Preverifier the node puts a preverifyReactor in front of it. Messages from all
// peers go to one queue; a single goroutine takes what has queued up (at most
// preverifyBatch transactions), passes the transactions to Preverify as one batch,
// then hands each message, in arrival order, to CometBFT's reactor. Under load the
// queue holds tens of transactions whenever the mempool was busy (a commit, a
// recheck), and Preverify checks their signatures at about 40% less than single
// checks. When the queue is full, Receive waits, as the peer's goroutine waited for
// CheckTx before. A panic in Preverify or in CometBFT's reactor is recovered there and
// logged, as CometBFT's connection goroutine recovered it before; a panic on a
// message also disconnects the peer that sent it.
const (
	// preverifyQueue is how many messages may wait for the reactor's goroutine.
	preverifyQueue = 4096
	// preverifyBatch bounds the transactions passed to Preverify at once.
	preverifyBatch = 256
)

// withPreverify is the CometBFT node option that puts a preverifyReactor in front of
// the node's mempool reactor.
func withPreverify(pv Preverifier) cmtnode.Option {
	return func(n *cmtnode.Node) {
		sw := n.Switch()
		inner, ok := sw.Reactor("MEMPOOL")
		if !ok {
			return
		}
		sw.RemoveReactor("MEMPOOL", inner)
		sw.AddReactor("MEMPOOL", newPreverifyReactor(inner, pv))
	}
}

// preverifyReactor is CometBFT's mempool reactor with its Receive queued and batched.
type preverifyReactor struct {
	p2p.Reactor // CometBFT's mempool reactor
	pv          Preverifier
	sw          atomic.Pointer[p2p.Switcher]
	queue       chan p2p.Envelope
	quit        chan struct{}
	stopOnce    sync.Once
	started     atomic.Bool
	done        chan struct{}
}

func newPreverifyReactor(inner p2p.Reactor, pv Preverifier) *preverifyReactor {
	return &preverifyReactor{
		Reactor: inner,
		pv:      pv,
		queue:   make(chan p2p.Envelope, preverifyQueue),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
	}
}

// Start starts the queue's goroutine and CometBFT's reactor.
func (r *preverifyReactor) Start() error {
	if err := r.Reactor.Start(); err != nil {
		return err
	}
	r.started.Store(true)
	go r.run()
	return nil
}

// Stop stops CometBFT's reactor and the queue's goroutine, and waits for the goroutine
// (so that no CheckTx runs after the node has stopped); messages still queued are
// dropped (peers' transactions are best effort, as when a node stops).
func (r *preverifyReactor) Stop() error {
	err := r.Reactor.Stop()
	r.stopOnce.Do(func() {
		close(r.quit)
		if r.started.Load() {
			<-r.done
		}
	})
	return err
}

// SetSwitch passes the switch to CometBFT's reactor and keeps it for the recovery of
// panics.
func (r *preverifyReactor) SetSwitch(sw p2p.Switcher) {
	r.sw.Store(&sw)
	r.Reactor.SetSwitch(sw)
}

// FilterMsgBytes keeps CometBFT's check of a message's size before it is decoded.
func (r *preverifyReactor) FilterMsgBytes(chID byte, src p2p.Peer, msgBytes []byte) error {
	if f, ok := r.Reactor.(p2p.MsgBytesFilter); ok {
		return f.FilterMsgBytes(chID, src, msgBytes)
	}
	return nil
}

// Receive queues the message for the reactor's goroutine.
func (r *preverifyReactor) Receive(e p2p.Envelope) {
	select {
	case r.queue <- e:
	case <-r.quit:
	}
}

func (r *preverifyReactor) run() {
	defer close(r.done)
	var (
		envs []p2p.Envelope
		txs  [][]byte
	)
	for {
		envs, txs = envs[:0], txs[:0]
		select {
		case e := <-r.queue:
			envs = append(envs, e)
			txs = appendTxs(txs, e)
		case <-r.quit:
			return
		}
	drain:
		for len(txs) < preverifyBatch {
			select {
			case e := <-r.queue:
				envs = append(envs, e)
				txs = appendTxs(txs, e)
			default:
				break drain
			}
		}
		if !r.syncing() {
			r.preverify(txs)
		}
		for i := range envs {
			select {
			case <-r.quit:
				return
			default:
			}
			r.receive(envs[i])
			envs[i] = p2p.Envelope{}
		}
		clear(txs)
	}
}

// preverify calls Preverify; a panic in it only costs the batch (CheckTx then checks
// each transaction, under the app's own recovery).
func (r *preverifyReactor) preverify(txs [][]byte) {
	defer func() {
		if p := recover(); p != nil {
			r.logError("preverify: recovered a panic", "panic", p, "stack", string(debug.Stack()))
		}
	}()
	r.pv.Preverify(txs)
}

// receive hands a message to CometBFT's reactor, recovering a panic as CometBFT's
// connection goroutine does: the peer that sent the message is disconnected.
func (r *preverifyReactor) receive(e p2p.Envelope) {
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		r.logError("mempool reactor: recovered a panic", "peer", e.Src, "panic", p, "stack", string(debug.Stack()))
		if sw := r.sw.Load(); sw != nil && *sw != nil && e.Src != nil {
			(*sw).StopPeerForError(e.Src, fmt.Errorf("mempool message: %v", p))
		}
	}()
	r.Reactor.Receive(e)
}

func (r *preverifyReactor) logError(msg string, kv ...any) {
	if sw := r.sw.Load(); sw != nil && *sw != nil {
		(*sw).Log().Error(msg, kv...)
	}
}

// EnableInOutTxs passes on block sync's word that the node has caught up (CometBFT
// finds the mempool reactor by name and calls this on it).
func (r *preverifyReactor) EnableInOutTxs() {
	if e, ok := r.Reactor.(interface{ EnableInOutTxs() }); ok {
		e.EnableInOutTxs()
	}
}

// syncing tells whether CometBFT's reactor ignores transactions (block sync).
func (r *preverifyReactor) syncing() bool {
	ws, ok := r.Reactor.(interface{ WaitSync() bool })
	return ok && ws.WaitSync()
}

// appendTxs appends the transactions of a mempool message; other messages carry none
// (CometBFT's reactor deals with them).
func appendTxs(txs [][]byte, e p2p.Envelope) [][]byte {
	if m, ok := e.Message.(*protomem.Txs); ok {
		txs = append(txs, m.GetTxs()...)
	}
	return txs
}
