package node

import (
	"context"
	"fmt"
	"sync"
	"testing"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	cmtlog "github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/libs/pubsub/query"
	blockidxkv "github.com/cometbft/cometbft/state/indexer/block/kv"
	"github.com/cometbft/cometbft/state/txindex/kv"
	"github.com/cometbft/cometbft/types"
)

// fakeChain is a block store and a state store's saved responses, in memory.
type fakeChain struct {
	mu      sync.Mutex // the feed reads while the test commits, as with CometBFT's stores
	blocks  map[int64]*types.Block
	results map[int64]*abci.ResponseFinalizeBlock
	height  int64
}

func (c *fakeChain) Base() int64 { return 1 }

func (c *fakeChain) Height() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.height
}

func (c *fakeChain) LoadBlock(h int64) *types.Block {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.blocks[h]
}

func (c *fakeChain) LoadFinalizeBlockResponse(h int64) (*abci.ResponseFinalizeBlock, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.results[h]; ok {
		return r, nil
	}
	return nil, fmt.Errorf("no response saved at %d", h)
}

// commit adds block h with n txs to the stores and returns it as the app saw it.
func (c *fakeChain) commit(h int64, n int) indexedBlock {
	txs := make(types.Txs, n)
	raw := make([][]byte, n)
	res := &abci.ResponseFinalizeBlock{
		Events: []abci.Event{{Type: "blk", Attributes: []abci.EventAttribute{{Key: "h", Value: fmt.Sprint(h), Index: true}}}},
	}
	for i := range txs {
		txs[i] = types.Tx(fmt.Sprintf("tx %d/%d", h, i))
		raw[i] = txs[i]
		res.TxResults = append(res.TxResults, &abci.ExecTxResult{
			Log:    fmt.Sprintf("log %d/%d", h, i),
			Events: []abci.Event{{Type: "app", Attributes: []abci.EventAttribute{{Key: "at", Value: fmt.Sprint(h), Index: true}}}},
		})
	}
	c.mu.Lock()
	c.blocks[h] = &types.Block{Header: types.Header{Height: h}, Data: types.Data{Txs: txs}}
	c.results[h] = res
	c.height = h
	c.mu.Unlock()
	return indexedBlock{height: h, txs: raw, res: res}
}

func newFakeIndex() (*fakeChain, indexStores) {
	c := &fakeChain{blocks: map[int64]*types.Block{}, results: map[int64]*abci.ResponseFinalizeBlock{}}
	db := dbm.NewMemDB()
	return c, indexStores{
		blocks: c, results: c,
		txIndexer:    kv.NewTxIndex(db),
		blockIndexer: blockidxkv.New(dbm.NewPrefixDB(db, []byte("block_events"))),
	}
}

func startedBus(t *testing.T) *types.EventBus {
	t.Helper()
	bus := types.NewEventBus()
	if err := bus.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bus.Stop() })
	return bus
}

func TestIndexFeed(t *testing.T) {
	chain, stores := newFakeIndex()
	bus := startedBus(t)
	ctx := context.Background()
	// CometBFT's IndexerService subscribes unbuffered; an RPC client subscribes too.
	if _, err := bus.SubscribeUnbuffered(ctx, cometIndexerSubscriber, types.EventQueryTx); err != nil {
		t.Fatal(err)
	}
	if _, err := bus.Subscribe(ctx, "rpc-client", types.EventQueryNewBlock, 1); err != nil {
		t.Fatal(err)
	}

	feed := newIndexFeed(cmtlog.NewNopLogger())
	early := chain.commit(1, 2)
	feed.committed(early) // before start: left to the start-up repair
	if err := feed.start(stores, bus); err != nil {
		t.Fatal(err)
	}
	if n := bus.NumClientSubscriptions(cometIndexerSubscriber); n != 0 {
		t.Fatalf("IndexerService still has %d subscriptions", n)
	}
	if n := bus.NumClientSubscriptions("rpc-client"); n != 1 {
		t.Fatalf("an RPC client's subscription was dropped: %d left", n)
	}

	feed.committed(chain.commit(2, 3))
	chain.commit(3, 1) // never handed over: filled from the stores
	chain.commit(4, 0)
	b5 := chain.commit(5, 2)
	feed.committed(b5)
	feed.committed(chain.blockAsSeen(t, 4)) // a replay: indexed already
	bad := chain.commit(6, 1)
	bad.txs = nil // does not match its results: logged, not indexed
	feed.committed(bad)
	feed.committed(chain.commit(7, 1))
	feed.stop()
	feed.stop()                        // twice is harmless
	feed.committed(chain.commit(8, 1)) // after stop: dropped, does not block

	for h, want := range map[int64]bool{1: false, 2: true, 3: true, 4: true, 5: true, 6: false, 7: true, 8: false} {
		has, err := stores.blockIndexer.Has(h)
		if err != nil || has != want {
			t.Errorf("block %d indexed: %v (%v), want %v", h, has, err, want)
		}
		for i, tx := range chain.LoadBlock(h).Txs {
			got, err := stores.txIndexer.Get(tx.Hash())
			if err != nil {
				t.Fatal(err)
			}
			if (got != nil) != want {
				t.Errorf("tx %d/%d indexed: %v, want %v", h, i, got != nil, want)
				continue
			}
			if got != nil && (got.Height != h || got.Index != uint32(i) || got.Result.Log != fmt.Sprintf("log %d/%d", h, i)) {
				t.Errorf("tx %d/%d: indexed as %+v", h, i, got)
			}
		}
	}
	found, err := stores.txIndexer.Search(ctx, query.MustCompile("app.at='3'"))
	if err != nil || len(found) != 1 || found[0].Height != 3 {
		t.Fatalf("search by event: %v %+v", err, found)
	}
}

// blockAsSeen returns block h as the application returned it.
func (c *fakeChain) blockAsSeen(t *testing.T, h int64) indexedBlock {
	t.Helper()
	b := c.LoadBlock(h)
	raw := make([][]byte, len(b.Txs))
	for i, tx := range b.Txs {
		raw[i] = tx
	}
	res, _ := c.LoadFinalizeBlockResponse(h)
	return indexedBlock{height: h, txs: raw, res: res}
}

// TestFeedingApp checks that only committed blocks reach the feed, once each.
func TestFeedingApp(t *testing.T) {
	chain, stores := newFakeIndex()
	feed := newIndexFeed(cmtlog.NewNopLogger())
	if err := feed.start(stores, startedBus(t)); err != nil {
		t.Fatal(err)
	}
	app := &feedingApp{Application: abci.NewBaseApplication(), feed: feed}
	ctx := context.Background()
	for h := int64(1); h <= 3; h++ {
		b := chain.commit(h, 0)
		if _, err := app.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: h, Txs: b.txs}); err != nil {
			t.Fatal(err)
		}
		if h == 2 {
			continue // executed, not committed: a crash before Commit
		}
		if _, err := app.Commit(ctx, &abci.RequestCommit{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := app.Commit(ctx, &abci.RequestCommit{}); err != nil { // nothing pending
		t.Fatal(err)
	}
	feed.stop()
	for h := int64(1); h <= 3; h++ {
		// Height 2 reaches the index from the stores, before 3.
		if has, err := stores.blockIndexer.Has(h); err != nil || !has {
			t.Errorf("block %d not indexed: %v", h, err)
		}
	}
}
