package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	"github.com/cometbft/cometbft/types"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/app"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/txs"
)

// obsChain is what the gateway follows of one chain: its tip (polled while streams are
// open), its recent blocks, and what readiness saw of its height.
type obsChain struct {
	c    *chain
	life context.Context
	poll time.Duration

	mu       sync.Mutex
	tip      int64
	wake     chan struct{} // closed when tip grows
	watchers int
	stop     context.CancelFunc

	bmu    sync.Mutex
	blocks map[int64]*obsBlockEntry
	order  []int64 // heights in blocks, oldest insertion first

	rmu        sync.Mutex
	seenHeight int64     // the highest height readiness or metrics saw
	advancedAt time.Time // when seenHeight last grew (zero: never seen growing)
}

type obsBlockEntry struct {
	done chan struct{}
	blk  *obsBlock
	err  error
}

func newObsChain(c *chain, life context.Context) *obsChain {
	return &obsChain{c: c, life: life, poll: eventTipPoll, wake: make(chan struct{}), blocks: map[int64]*obsBlockEntry{}}
}

// tipNow returns the latest height known and a channel closed when it grows.
func (h *obsChain) tipNow() (int64, <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.tip, h.wake
}

// observeTip records that the chain reached height.
func (h *obsChain) observeTip(height int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if height > h.tip {
		h.tip = height
		close(h.wake)
		h.wake = make(chan struct{})
	}
}

// watch starts polling the tip, unless a stream does already; unwatch stops it after the
// last stream.
func (h *obsChain) watch() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.watchers++
	if h.watchers == 1 {
		ctx, cancel := context.WithCancel(h.life)
		h.stop = cancel
		go h.pollTip(ctx)
	}
}

func (h *obsChain) unwatch() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.watchers--
	if h.watchers == 0 && h.stop != nil {
		h.stop()
		h.stop = nil
	}
}

func (h *obsChain) pollTip(ctx context.Context) {
	t := time.NewTicker(h.poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var height int64
		err := h.c.do(ctx, func(ctx context.Context, n *rpcNode) error {
			st, err := n.status(ctx)
			if err != nil {
				return err
			}
			if st.SyncInfo.CatchingUp {
				return fmt.Errorf("node %s is catching up", n.url)
			}
			height = st.SyncInfo.LatestBlockHeight
			return nil
		})
		if err == nil {
			h.observeTip(height)
		}
	}
}

// block returns block height, read once for every stream and the metrics.
func (h *obsChain) block(ctx context.Context, height int64) (*obsBlock, error) {
	h.bmu.Lock()
	e := h.blocks[height]
	if e == nil {
		e = &obsBlockEntry{done: make(chan struct{})}
		h.blocks[height] = e
		h.order = append(h.order, height)
		for len(h.order) > eventBlockCache {
			delete(h.blocks, h.order[0])
			h.order = slices.Delete(h.order, 0, 1)
		}
		go h.load(height, e)
	}
	h.bmu.Unlock()
	select {
	case <-e.done:
		return e.blk, e.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (h *obsChain) load(height int64, e *obsBlockEntry) {
	e.blk, e.err = h.fetch(h.life, height)
	if e.err != nil {
		// Not kept: the next reader asks again.
		h.bmu.Lock()
		if h.blocks[height] == e {
			delete(h.blocks, height)
			if i := slices.Index(h.order, height); i >= 0 {
				h.order = slices.Delete(h.order, i, i+1)
			}
		}
		h.bmu.Unlock()
	}
	close(e.done)
}

// fetch reads block height and its results from one node.
func (h *obsChain) fetch(ctx context.Context, height int64) (*obsBlock, error) {
	var (
		rb *ctypes.ResultBlock
		rr *ctypes.ResultBlockResults
	)
	err := h.c.do(ctx, func(ctx context.Context, n *rpcNode) error {
		var err error
		if rb, err = n.block(ctx, &height); err == nil {
			rr, err = n.streamBlockResults(ctx, height)
		}
		if rpcErrorContains(err, "must be less than or equal to") || rpcErrorContains(err, "could not find results for height") {
			// This node is behind or has not finished the block: ask the next one.
			return fmt.Errorf("node %s: %s", n.url, rpcErrorText(err))
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return newObsBlock(rb, rr)
}

func (n *rpcNode) streamBlockResults(ctx context.Context, height int64) (*ctypes.ResultBlockResults, error) {
	ctx, cancel := n.ctx(ctx)
	defer cancel()
	res, err := n.rpc.BlockResults(ctx, &height)
	if err == nil && res == nil {
		err = errors.New("empty block_results")
	}
	return res, err
}

// obsBlock is a committed block as streams and metrics use it.
type obsBlock struct {
	height     int64
	time       time.Time
	hash       string
	valsHash   string        // the header's validators_hash (hex)
	lastCommit *types.Commit // the commit of height-1 (nil at height 1)
	txs        []obsTx
	events     []abci.Event // the block's own events

	once sync.Once
	msgs *evMsgs
}

// obsTx is a transaction of an obsBlock.
type obsTx struct {
	hash          string
	code          uint32
	codespace     string
	gasUsed       int64
	module        string // of its messages: a module name, "multi" or "unknown"
	sender, payer string // of its lian.tx event
	events        []abci.Event
}

func newObsBlock(rb *ctypes.ResultBlock, rr *ctypes.ResultBlockResults) (*obsBlock, error) {
	if rb == nil || rb.Block == nil || rr == nil {
		return nil, errorf(errcode.Internal, "node returned no block or no results")
	}
	blk := rb.Block
	if rr.Height != blk.Height {
		return nil, errorf(errcode.Internal, "node returned the results of height %d for block %d", rr.Height, blk.Height)
	}
	if len(rr.TxsResults) != len(blk.Txs) {
		return nil, errorf(errcode.Internal, "block %d has %d transactions but %d results", blk.Height, len(blk.Txs), len(rr.TxsResults))
	}
	b := &obsBlock{
		height:     blk.Height,
		time:       blk.Time.UTC(),
		hash:       rb.BlockID.Hash.String(),
		valsHash:   blk.ValidatorsHash.String(),
		lastCommit: blk.LastCommit,
		txs:        make([]obsTx, len(blk.Txs)),
		events:     rr.FinalizeBlockEvents,
	}
	if len(rb.BlockID.Hash) == 0 {
		b.hash = blk.Hash().String()
	}
	for i, raw := range blk.Txs {
		res := rr.TxsResults[i]
		if res == nil {
			res = &abci.ExecTxResult{}
		}
		tx := obsTx{
			hash:      txs.HashOf(raw).String(),
			code:      res.Code,
			codespace: res.Codespace,
			gasUsed:   res.GasUsed,
			module:    txModule(raw),
			events:    res.Events,
		}
		for _, e := range res.Events {
			if e.Type != app.EventTx {
				continue
			}
			for _, a := range e.Attributes {
				switch a.Key {
				case "sender":
					tx.sender = a.Value
				case "payer":
					tx.payer = a.Value
				}
			}
			break
		}
		b.txs[i] = tx
	}
	return b, nil
}

// txModule returns the module of a transaction's messages: its name if they all belong
// to one, "multi" if they belong to several, "unknown" if the transaction does not decode
// or names no module this gateway knows.
func txModule(raw []byte) string {
	tx, err := txs.DecodeTx(raw)
	if err != nil {
		return "unknown"
	}
	body, err := txs.DecodeBody(tx.BodyBytes)
	if err != nil || len(body.Messages) == 0 {
		return "unknown"
	}
	mod := ""
	for _, m := range body.Messages {
		name := typeURLModule(m.TypeURL)
		switch {
		case name == "":
			return "unknown"
		case mod == "":
			mod = name
		case mod != name:
			return "multi"
		}
	}
	return mod
}

// typeURLModule returns the module of a message type URL ("/lian.evidence.v1.MsgAnchor":
// "evidence"), or "" for a type of no module this gateway knows.
func typeURLModule(u string) string {
	parts := strings.SplitN(strings.TrimPrefix(u, "/"), ".", 3)
	if len(parts) < 3 || parts[0] != "lian" || !slices.Contains(eventModules, parts[1]) {
		return ""
	}
	return parts[1]
}

// eventModule returns the module of an event (see api.ChainEvent).
func eventModule(e abci.Event) string {
	if e.Type == app.EventMessage {
		for _, a := range e.Attributes {
			if a.Key == "module" {
				return a.Value
			}
		}
		return ""
	}
	parts := strings.SplitN(e.Type, ".", 3)
	if len(parts) == 3 && parts[0] == "lian" {
		return parts[1]
	}
	return ""
}

// evMsg is one message of a block's stream, encoded once for every stream.
type evMsg struct {
	pos    api.EventPos
	id     string
	kind   string
	typ    string
	module string
	tx     int      // index of the transaction in obsBlock.txs; -1 for block messages
	values []string // the attribute values, for the account filter
	data   []byte   // the api.StreamEvent as JSON
}

type evMsgs struct {
	events []evMsg // transaction events, then block events, in stream order
	end    evMsg   // the end of the block
}

// messages returns the block's stream messages, encoding them on first use.
func (b *obsBlock) messages() *evMsgs {
	b.once.Do(func() {
		ms := &evMsgs{}
		add := func(pos api.EventPos, kind string, tx int, e abci.Event, st *api.StreamTx) {
			ce := &api.ChainEvent{Index: pos.Event, Module: eventModule(e), Type: e.Type, Attributes: make([]api.Attribute, len(e.Attributes))}
			values := make([]string, len(e.Attributes))
			for i, a := range e.Attributes {
				ce.Attributes[i] = api.Attribute{Key: a.Key, Value: a.Value}
				values[i] = a.Value
			}
			m := evMsg{pos: pos, id: pos.String(), kind: kind, typ: e.Type, module: ce.Module, tx: tx, values: values}
			m.data = evJSON(api.StreamEvent{ID: m.id, Kind: kind, Height: b.height, Time: b.time, Tx: st, Event: ce})
			ms.events = append(ms.events, m)
		}
		for i := range b.txs {
			tx := &b.txs[i]
			st := &api.StreamTx{Index: uint32(i), Hash: tx.hash, Code: tx.code}
			if tx.code != 0 && (tx.codespace == "" || tx.codespace == errcode.Codespace) {
				st.CodeName = errcode.Code(tx.code).String()
			}
			for j, e := range tx.events {
				add(api.EventPos{Height: b.height, Section: api.SectionTx, Tx: uint32(i), Event: j}, api.StreamKindTx, i, e, st)
			}
		}
		for j, e := range b.events {
			add(api.EventPos{Height: b.height, Section: api.SectionBlockEvent, Event: j}, api.StreamKindBlockEvent, -1, e, nil)
		}
		end := api.EventPos{Height: b.height, Section: api.SectionBlockEnd}
		ms.end = evMsg{pos: end, id: end.String(), kind: api.StreamKindBlock, tx: -1}
		ms.end.data = evJSON(api.StreamEvent{ID: ms.end.id, Kind: api.StreamKindBlock, Height: b.height, Time: b.time,
			Block: &api.StreamBlock{Hash: b.hash, NumTxs: len(b.txs)}})
		b.msgs = ms
	})
	return b.msgs
}

// evJSON encodes documents that always encode (the api types of the stream).
func evJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("gateway: encode %T: %v", v, err))
	}
	return b
}
