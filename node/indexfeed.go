package node

import (
	"context"
	"errors"
	"fmt"
	"sync"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtlog "github.com/cometbft/cometbft/libs/log"
	cmtpubsub "github.com/cometbft/cometbft/libs/pubsub"
	"github.com/cometbft/cometbft/state/txindex"
	"github.com/cometbft/cometbft/types"
)

// cometIndexerSubscriber is the event-bus client id of CometBFT's IndexerService
// (state/txindex.subscriber, unexported there).
const cometIndexerSubscriber = "IndexerService"

// indexQueue is how many committed blocks may wait for the index feed before
// Commit waits for it. It is well inside indexRepairWindow, so a crash never
// leaves more unindexed blocks than the start-up repair looks at.
const indexQueue = 8

// indexFeed writes each committed block's transactions and block events into
// the node's kv index (the one the RPC's /tx, /tx_search and /block_search
// read) straight from the application's FinalizeBlock response, in place of
// CometBFT's IndexerService.
//
// CometBFT's indexer subscribes to the event bus, unbuffered: every event of
// every transaction is expanded and matched against its two queries in the
// event bus's one goroutine, and the consensus goroutine, which publishes the
// events after each commit, waits for that. Under load that was about 3% of a
// validator's CPU for Lian's events, on the path from one height to the next.
// The feed takes the data the application already returned, and indexes it on
// its own goroutine; the event bus keeps serving RPC subscribers.
//
// Blocks are indexed in height order. A block the feed did not see (it was
// replayed during the handshake, before the feed started) is indexed from the
// block store and the saved FinalizeBlock response, as repairIndex does at
// start. Indexing errors are logged and the feed goes on, as CometBFT's
// IndexerService does; the repair at the next start re-indexes the block if it
// is among the latest indexRepairWindow blocks.
type indexFeed struct {
	stores indexStores
	logger cmtlog.Logger

	mu       sync.Mutex
	queued   chan indexedBlock // nil until start
	quit     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
	next     int64 // the next height to index; owned by run
}

// indexedBlock is one committed block as the application executed it.
type indexedBlock struct {
	height int64
	txs    [][]byte
	res    *abci.ResponseFinalizeBlock
}

func newIndexFeed(logger cmtlog.Logger) *indexFeed {
	return &indexFeed{logger: logger, quit: make(chan struct{}), done: make(chan struct{})}
}

// start takes over indexing from CometBFT's IndexerService: it unsubscribes
// that service from the event bus (its goroutine then returns) and starts
// indexing the blocks committed after the block store's current height.
func (f *indexFeed) start(stores indexStores, bus *types.EventBus) error {
	err := bus.UnsubscribeAll(context.Background(), cometIndexerSubscriber)
	if err != nil && !errors.Is(err, cmtpubsub.ErrSubscriptionNotFound) {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stores = stores
	f.next = stores.blocks.Height() + 1
	f.queued = make(chan indexedBlock, indexQueue)
	go f.run()
	return nil
}

// stop indexes the blocks already handed over and returns when the feed's
// goroutine has returned. Call it after consensus has stopped.
func (f *indexFeed) stop() {
	f.mu.Lock()
	started := f.queued != nil
	f.mu.Unlock()
	if !started {
		return
	}
	f.stopOnce.Do(func() { close(f.quit) })
	<-f.done
}

// committed hands a committed block to the feed. Blocks committed before
// start are left to the start-up repair.
func (f *indexFeed) committed(b indexedBlock) {
	f.mu.Lock()
	q := f.queued
	f.mu.Unlock()
	if q == nil {
		return
	}
	select {
	case q <- b:
	case <-f.quit:
	}
}

func (f *indexFeed) run() {
	defer close(f.done)
	for {
		select {
		case b := <-f.queued:
			f.index(b)
		case <-f.quit:
			for {
				select {
				case b := <-f.queued:
					f.index(b)
				default:
					return
				}
			}
		}
	}
}

// index indexes b, after any block between the last one indexed and b that
// the feed did not get, from the stores.
func (f *indexFeed) index(b indexedBlock) {
	if b.height < f.next {
		return // indexed already (a replay)
	}
	for h := f.next; h < b.height; h++ {
		block := f.stores.blocks.LoadBlock(h)
		if block == nil {
			f.logger.Error("index: committed block missing from the block store", "height", h)
			continue
		}
		if err := reindexBlock(f.stores, block); err != nil {
			f.logger.Error("index: failed", "height", h, "err", err)
		}
	}
	f.next = b.height + 1
	if err := indexBlock(f.stores, b); err != nil {
		f.logger.Error("index: failed", "height", b.height, "err", err)
	}
}

// indexBlock writes b's transactions, then its block events: the block entry,
// which indexed() looks for first, goes in last.
func indexBlock(s indexStores, b indexedBlock) error {
	if len(b.res.TxResults) != len(b.txs) {
		return fmt.Errorf("%d tx results for %d txs", len(b.res.TxResults), len(b.txs))
	}
	if n := len(b.txs); n > 0 {
		batch := txindex.NewBatch(int64(n))
		for i, res := range b.res.TxResults {
			tr := abci.TxResult{Height: b.height, Index: uint32(i), Tx: b.txs[i], Result: *res}
			if err := batch.Add(&tr); err != nil {
				return err
			}
		}
		if err := s.txIndexer.AddBatch(batch); err != nil {
			return fmt.Errorf("txs: %w", err)
		}
	}
	ev := types.EventDataNewBlockEvents{Height: b.height, Events: b.res.Events, NumTxs: int64(len(b.txs))}
	if err := s.blockIndexer.Index(ev); err != nil {
		return fmt.Errorf("block events: %w", err)
	}
	return nil
}

// feedingApp passes each committed block's FinalizeBlock request and response
// to an indexFeed once the application has committed it. CometBFT calls
// FinalizeBlock and Commit one after the other on its consensus connection.
type feedingApp struct {
	abci.Application
	feed *indexFeed

	pending *indexedBlock
}

// FinalizeBlock implements abci.Application.
func (a *feedingApp) FinalizeBlock(ctx context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	res, err := a.Application.FinalizeBlock(ctx, req)
	a.pending = nil
	if err == nil && res != nil {
		a.pending = &indexedBlock{height: req.Height, txs: req.Txs, res: res}
	}
	return res, err
}

// Commit implements abci.Application.
func (a *feedingApp) Commit(ctx context.Context, req *abci.RequestCommit) (*abci.ResponseCommit, error) {
	res, err := a.Application.Commit(ctx, req)
	if err == nil && a.pending != nil {
		a.feed.committed(*a.pending)
	}
	a.pending = nil
	return res, err
}
