package node

import (
	"fmt"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/state/indexer"
	"github.com/cometbft/cometbft/state/txindex"
	"github.com/cometbft/cometbft/types"
)

// indexRepairWindow is how many of the latest blocks are checked for
// complete event indexes at start. CometBFT's indexer subscribes unbuffered
// to the event bus, so it trails the commit by at most a block or two; a
// stop or crash in between leaves those blocks committed but unindexed.
const indexRepairWindow = 32

// indexStores is what repairIndex and indexFeed read and write.
type indexStores struct {
	blocks       blockSource
	results      resultSource
	txIndexer    txindex.TxIndexer
	blockIndexer indexer.BlockIndexer
}

// blockSource is the part of CometBFT's block store that indexing reads.
type blockSource interface {
	Base() int64
	Height() int64
	LoadBlock(height int64) *types.Block
}

// resultSource is the part of CometBFT's state store that indexing reads: the
// saved FinalizeBlock responses.
type resultSource interface {
	LoadFinalizeBlockResponse(height int64) (*abci.ResponseFinalizeBlock, error)
}

// repairIndex re-indexes, in height order, every one of the last window
// blocks whose block events or transactions are missing from the index, from
// the block store and the saved FinalizeBlock responses (what CometBFT's
// reindex-event command does, limited to the heights that need it). It
// returns the heights it re-indexed. Indexing is idempotent, so racing the
// live indexer on the same height is harmless.
func repairIndex(s indexStores, window int64) ([]int64, error) {
	top := s.blocks.Height()
	from := max(s.blocks.Base(), top-window+1, 1)
	var fixed []int64
	for h := from; h <= top; h++ {
		block := s.blocks.LoadBlock(h)
		if block == nil {
			continue // pruned or not yet saved
		}
		ok, err := indexed(s, block)
		if err != nil {
			return fixed, err
		}
		if ok {
			continue
		}
		if err := reindexBlock(s, block); err != nil {
			return fixed, err
		}
		fixed = append(fixed, h)
	}
	return fixed, nil
}

// indexed reports whether the block's events and every one of its txs are
// in the index.
func indexed(s indexStores, block *types.Block) (bool, error) {
	has, err := s.blockIndexer.Has(block.Height)
	if err != nil {
		return false, fmt.Errorf("block index at %d: %w", block.Height, err)
	}
	if !has {
		return false, nil
	}
	for _, tx := range block.Txs {
		res, err := s.txIndexer.Get(tx.Hash())
		if err != nil {
			return false, fmt.Errorf("tx index at %d: %w", block.Height, err)
		}
		if res == nil {
			return false, nil
		}
	}
	return true, nil
}

// reindexBlock indexes a committed block from the stores: its txs and the saved
// FinalizeBlock response.
func reindexBlock(s indexStores, block *types.Block) error {
	h := block.Height
	resp, err := s.results.LoadFinalizeBlockResponse(h)
	if err != nil {
		return fmt.Errorf("re-index %d: load FinalizeBlock response: %w", h, err)
	}
	txs := make([][]byte, len(block.Txs))
	for i, tx := range block.Txs {
		txs[i] = tx
	}
	if err := indexBlock(s, indexedBlock{height: h, txs: txs, res: resp}); err != nil {
		return fmt.Errorf("re-index %d: %w", h, err)
	}
	return nil
}
