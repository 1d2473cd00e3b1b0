package relayer

import (
	"bytes"
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/lianchain/lian/app"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules/xchain"
	"github.com/lianchain/lian/store"
	"github.com/lianchain/lian/txs"
)

// Defaults of Options.
const (
	DefaultPollInterval   = 100 * time.Millisecond
	DefaultMaxMsgs        = txs.MaxMessages
	DefaultMaxTxBytes     = txs.MaxTxBytes - 4<<10
	DefaultResubmitAfter  = 15 * time.Second
	DefaultResyncInterval = time.Minute
	DefaultIdleRefresh    = time.Hour
	// RefreshFraction is the share of a client's trusting period after which the
	// relayer updates it even with nothing to relay.
	RefreshFraction = 2.0 / 3
)

// Options tune a Relayer. Zero values select the defaults.
type Options struct {
	// PollInterval is how often each chain's latest height is read.
	PollInterval time.Duration
	// MaxMsgs bounds the messages of one transaction (at most txs.MaxMessages).
	MaxMsgs int
	// MaxTxBytes bounds the size of one transaction (at most txs.MaxTxBytes).
	MaxTxBytes int
	// ResubmitAfter is how long a relayed message may stay without its effect showing
	// (the receive or settlement event) before the relayer checks the packet's state and
	// relays it again.
	ResubmitAfter time.Duration
	// ResyncInterval is how often the relayer re-reads every route's pending packets
	// (it always does at start).
	ResyncInterval time.Duration
	// IdleRefresh updates a client whose latest header is older than this even with
	// nothing to relay; clients are in any case updated at RefreshFraction of their
	// trusting period. Negative: only at RefreshFraction.
	IdleRefresh time.Duration
	// Logger receives the relayer's log (default: discard).
	Logger *slog.Logger
}

func (o *Options) defaults() error {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.PollInterval, DefaultPollInterval)
	def(&o.ResubmitAfter, DefaultResubmitAfter)
	def(&o.ResyncInterval, DefaultResyncInterval)
	def(&o.IdleRefresh, DefaultIdleRefresh)
	if o.MaxMsgs == 0 {
		o.MaxMsgs = DefaultMaxMsgs
	}
	if o.MaxTxBytes == 0 {
		o.MaxTxBytes = DefaultMaxTxBytes
	}
	switch {
	case o.MaxMsgs < 2 || o.MaxMsgs > txs.MaxMessages:
		return fmt.Errorf("relayer: max messages per tx %d: expected 2..%d", o.MaxMsgs, txs.MaxMessages)
	case o.MaxTxBytes < 16<<10 || o.MaxTxBytes > txs.MaxTxBytes:
		return fmt.Errorf("relayer: max tx bytes %d: expected %d..%d", o.MaxTxBytes, 16<<10, txs.MaxTxBytes)
	case o.PollInterval < 0 || o.ResubmitAfter < 0 || o.ResyncInterval < 0:
		return errors.New("relayer: negative interval")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Path names two chains between which the relayer relays every route.
type Path struct {
	A string `json:"a"`
	B string `json:"b"`
}

// Relayer relays packets, acknowledgements and timeouts on every route between the
// chains of its paths, and keeps the light clients at both ends updated. It keeps no
// state of its own: what is to be relayed is read from the chains (their pending
// packets and events), so a relayer may be stopped at any point and started again, and
// several relayers may run at once (the chains make redundant relays no-ops).
type Relayer struct {
	opts    Options
	log     *slog.Logger
	chains  map[string]*Chain
	pairs   []*pair
	metrics *Metrics

	logMu  sync.Mutex
	logged map[string]logMark

	ready     chan struct{} // closed by Run once it follows every chain (see Ready)
	readyOnce sync.Once
}

// New returns a relayer over chains for paths. Every chain of a path must be among
// chains.
func New(chains []*Chain, paths []Path, opts Options) (*Relayer, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	r := &Relayer{opts: opts, log: opts.Logger, chains: map[string]*Chain{}, metrics: newMetrics(), logged: map[string]logMark{},
		ready: make(chan struct{})}
	for _, c := range chains {
		if _, dup := r.chains[c.ID]; dup {
			return nil, fmt.Errorf("relayer: chain %s given twice", c.ID)
		}
		r.chains[c.ID] = c
	}
	seen := map[[2]string]bool{}
	for _, p := range paths {
		a, b := r.chains[p.A], r.chains[p.B]
		switch {
		case a == nil || b == nil:
			return nil, fmt.Errorf("relayer: path %s-%s: unknown chain", p.A, p.B)
		case p.A == p.B:
			return nil, fmt.Errorf("relayer: path %s-%s joins a chain to itself", p.A, p.B)
		}
		k := [2]string{min(p.A, p.B), max(p.A, p.B)}
		if seen[k] {
			return nil, fmt.Errorf("relayer: path %s-%s given twice", p.A, p.B)
		}
		seen[k] = true
		r.pairs = append(r.pairs, newPair(r, a, b))
	}
	if len(r.pairs) == 0 {
		return nil, errors.New("relayer: no paths")
	}
	return r, nil
}

// Metrics returns the relayer's metrics (serve Metrics().Registry).
func (r *Relayer) Metrics() *Metrics { return r.metrics }

// Ready is closed once Run follows every chain and has cleared what was pending when it
// started: from then on, every packet sent is seen as its block is committed.
func (r *Relayer) Ready() <-chan struct{} { return r.ready }

// Run relays until ctx ends. It waits for every chain to answer, clears everything
// pending (every route's packets sent and not settled), then follows new blocks. It
// returns nil when ctx ends.
func (r *Relayer) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	followers := map[string]*follower{}
	for id, c := range r.chains {
		// A chain not answering yet is waited for.
		h, err := c.Head(ctx)
		for err != nil {
			r.failed(id, "rpc", err)
			if !sleep(ctx, time.Second) {
				return nil
			}
			h, err = c.Head(ctx)
		}
		followers[id] = &follower{r: r, c: c, addr: c.Address().String(), head: h, done: h.Height}
	}
	for _, p := range r.pairs {
		p.fa, p.fb = followers[p.a.ID], followers[p.b.ID]
		p.fa.pairs = append(p.fa.pairs, p)
		p.fb.pairs = append(p.fb.pairs, p)
	}
	var wg, initial sync.WaitGroup
	for _, f := range followers {
		wg.Go(func() { f.run(ctx) })
	}
	initial.Add(len(r.pairs))
	for _, p := range r.pairs {
		wg.Go(func() { p.run(ctx, initial.Done) })
	}
	wg.Go(func() {
		initial.Wait()
		if ctx.Err() == nil {
			r.readyOnce.Do(func() { close(r.ready) })
		}
	})
	wg.Wait()
	return nil
}

// --- following blocks ---

// follower reads a chain's new blocks and hands their xchain events to the pairs.
type follower struct {
	r     *Relayer
	c     *Chain
	pairs []*pair

	addr string // the relayer's account on c, as events name it

	mu   sync.Mutex
	head Head  // the latest block seen, or the one after it when its state is attested
	done int64 // the last height whose events were handed out

	// attests is set once the chain has served an extended commit: from then on a
	// block's state attestation not served yet (the node commits the state just after
	// it stores the block's results) is asked for again at each poll.
	attests bool
}

// state returns the latest height whose events were handed out and the head.
func (f *follower) state() (int64, Head) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.done, f.head
}

// eventSource is an endpoint that pushes events (rpc/client's EventsClient: the local
// client always, the HTTP client once started, over its websocket).
type eventSource interface {
	Subscribe(ctx context.Context, subscriber, query string, outCapacity ...int) (<-chan ctypes.ResultEvent, error)
	UnsubscribeAll(ctx context.Context, subscriber string) error
}

var subscribers atomic.Uint64

// subscribe asks for a push on every new block, if the endpoint can; the poll goes on
// regardless (a missed or dropped push only delays a block to the next poll).
func (f *follower) subscribe(ctx context.Context) (<-chan ctypes.ResultEvent, func()) {
	es, ok := f.c.rpc.(eventSource)
	if !ok {
		return nil, func() {}
	}
	name := fmt.Sprintf("lian-relayer-%d-%d", time.Now().UnixNano(), subscribers.Add(1))
	ch, err := es.Subscribe(ctx, name, cmttypes.EventQueryNewBlockHeader.String(), 8)
	if err != nil {
		f.r.log.Info("relayer: no block push, polling", "chain", f.c.ID, "err", err)
		return nil, func() {}
	}
	return ch, func() {
		uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = es.UnsubscribeAll(uctx, name)
	}
}

func (f *follower) run(ctx context.Context) {
	t := time.NewTicker(f.r.opts.PollInterval)
	defer t.Stop()
	pushed, unsubscribe := f.subscribe(ctx)
	defer unsubscribe()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-pushed:
		}
		h, err := f.c.Head(ctx)
		if err != nil {
			f.r.failed(f.c.ID, "rpc", err)
			continue
		}
		done, _ := f.state()
		advanced := false
		for height := done + 1; height <= h.Height && ctx.Err() == nil; height++ {
			hh := height
			res, err := f.c.rpc.BlockResults(ctx, &hh)
			if err != nil {
				// The node stores a block's results just after the block: read them
				// again next time.
				if !strings.Contains(err.Error(), "could not find results") {
					f.r.failed(f.c.ID, "rpc", err)
				}
				break
			}
			for _, tx := range res.TxsResults {
				if nonce, ok := f.ours(tx.Events); ok {
					for _, p := range f.pairs {
						p.landed(f.c, nonce, tx.Code, tx.Log)
					}
				}
				if tx.Code != 0 {
					continue
				}
				for _, e := range tx.Events {
					if err := recovered("event", func() error { f.dispatch(height, e); return nil }); err != nil {
						f.r.failed(f.c.ID, "event", err)
					}
				}
			}
			f.mu.Lock()
			f.done = height
			if height == h.Height {
				f.head = h
			}
			f.mu.Unlock()
			advanced = true
		}
		if f.attest(ctx, h, advanced) {
			advanced = true
		}
		if !advanced {
			// Nothing new: what the pairs would do depends on the chains' heads and on
			// time, which their submitters' own ticker covers. (Waking them on every
			// poll made each walk all pending packets every PollInterval.)
			continue
		}
		for _, p := range f.pairs {
			p.mu.Lock()
			p.updateGauges()
			p.mu.Unlock()
			p.wake()
		}
	}
}

// attest makes the head h+1 when the node serves the extended commit of block h,
// whose vote extensions attest the state after h, and reports whether it did. It asks
// when the follower has just reached h, and again at each poll while h stays the head
// of a chain that has served extended commits before.
func (f *follower) attest(ctx context.Context, h Head, advanced bool) bool {
	f.mu.Lock()
	done, head, attests := f.done, f.head, f.attests
	f.mu.Unlock()
	if done != h.Height || head.Height != h.Height || head.Extended != nil || !advanced && !attests {
		return false
	}
	ec, err := f.c.ExtendedCommit(ctx, h.Height)
	if err != nil {
		if !isNotFound(err) {
			f.r.failed(f.c.ID, "rpc", err)
		}
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.attests = true
	if f.head.Height != h.Height {
		return false
	}
	f.head = Head{Height: h.Height + 1, Time: h.Time, Extended: ec}
	return true
}

// ours returns the nonce of a transaction sent by the relayer's account, from its
// lian.tx event (the first event of every transaction that paid its fee, failed or not).
func (f *follower) ours(events []abci.Event) (uint64, bool) {
	if len(events) == 0 || events[0].Type != app.EventTx {
		return 0, false
	}
	a := eventAttrs(events[0])
	if a["sender"] != f.addr {
		return 0, false
	}
	n, err := strconv.ParseUint(a["nonce"], 10, 64)
	return n, err == nil
}

func (f *follower) dispatch(height int64, e abci.Event) {
	switch e.Type {
	case xchain.EventSendPacket, xchain.EventRecvPacket, xchain.EventAckPacket, xchain.EventTimeoutPacket:
	default:
		return
	}
	a := eventAttrs(e)
	for _, p := range f.pairs {
		p.event(f.c, height, e.Type, a)
	}
}

// failed counts a failure and logs it, the same chain and kind at most once per
// logEvery (with the number of those not logged).
func (r *Relayer) failed(chain, kind string, err error) {
	r.metrics.Failures.WithLabelValues(chain, kind).Inc()
	k := chain + "/" + kind
	r.logMu.Lock()
	last := r.logged[k]
	now := time.Now()
	if !last.at.IsZero() && now.Sub(last.at) < logEvery {
		last.skipped++
		r.logged[k] = last
		r.logMu.Unlock()
		return
	}
	r.logged[k] = logMark{at: now}
	r.logMu.Unlock()
	r.log.Warn("relayer: "+kind, "chain", chain, "err", err, "not_logged_since", last.skipped)
}

// logEvery is how often one kind of failure of one chain is logged.
const logEvery = 10 * time.Second

type logMark struct {
	at      time.Time
	skipped int
}

// --- a pair of chains ---

// packetKey names a packet by its source chain, route and sequence.
type packetKey struct {
	chain, route string
	seq          uint64
}

// pkt is what the relayer knows of one packet.
type pkt struct {
	p          *xchain.Packet
	sentHeight int64 // source height of the send (0: unknown, from a receive event)
	ack        []byte
	recvHeight int64 // destination height of the receive
	expired    bool  // the destination refused it (expired, route closed): only a timeout remains
	inflight   time.Time
	seen       time.Time
	failures   int // relay transactions carrying it that failed in their block
}

// pair relays between two chains, both ways.
type pair struct {
	r      *Relayer
	a, b   *Chain
	fa, fb *follower
	wakeA  chan struct{} // work for the submitter to a
	wakeB  chan struct{}

	mu            sync.Mutex
	routes        map[string]map[string]*xchain.Route // chain id → route id → route (to the other chain)
	packets       map[packetKey]*pkt
	pendingUpdate map[string]clientAt      // client key "chain/client" → where our update in flight takes it
	checkInterval map[string]time.Duration // chain id → how often its clients are read when idle
	sent          map[sentKey]*sentTx      // our transactions admitted and not yet seen in a block
}

// sentKey names a transaction of the relayer by chain and nonce: what a block's
// results show of it (its lian.tx event), failed or not.
type sentKey struct {
	chain string
	nonce uint64
}

// sentTx is what a relay transaction carries, kept until its block shows whether it
// failed: then its update is no longer counted on and its packets are relayed again.
type sentTx struct {
	update   string // client key "chain/client" of its MsgUpdateClient, or ""
	updateAt clientAt
	packets  []packetKey
	at       time.Time
}

func newPair(r *Relayer, a, b *Chain) *pair {
	return &pair{r: r, a: a, b: b, wakeA: make(chan struct{}, 1), wakeB: make(chan struct{}, 1),
		routes: map[string]map[string]*xchain.Route{a.ID: {}, b.ID: {}}, packets: map[packetKey]*pkt{},
		pendingUpdate: map[string]clientAt{}, checkInterval: map[string]time.Duration{}, sent: map[sentKey]*sentTx{}}
}

func (p *pair) wake() {
	for _, ch := range []chan struct{}{p.wakeA, p.wakeB} {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func (p *pair) other(c *Chain) *Chain {
	if c == p.a {
		return p.b
	}
	return p.a
}

func (p *pair) follower(c *Chain) *follower {
	if c == p.a {
		return p.fa
	}
	return p.fb
}

// run relays over the pair until ctx ends; it calls resynced once the first resync is
// done (or ctx ended before).
func (p *pair) run(ctx context.Context, resynced func()) {
	// Clear everything pending first; retry until the chains answer.
	for {
		if err := p.safeResync(ctx); err == nil {
			break
		} else {
			p.r.failed(p.a.ID+"-"+p.b.ID, "resync", err)
		}
		if !sleep(ctx, time.Second) {
			resynced()
			return
		}
	}
	resynced()
	var wg sync.WaitGroup
	wg.Go(func() { p.submitter(ctx, p.a, p.wakeA) })
	wg.Go(func() { p.submitter(ctx, p.b, p.wakeB) })
	wg.Go(func() {
		for sleep(ctx, p.r.opts.ResyncInterval) {
			if err := p.safeResync(ctx); err != nil && ctx.Err() == nil {
				p.r.failed(p.a.ID+"-"+p.b.ID, "resync", err)
			}
		}
	})
	wg.Wait()
}

func (p *pair) safeResync(ctx context.Context) error {
	return recovered("resync", func() error { return p.resync(ctx) })
}

// recovered runs fn and returns a panic in it as an error, with its stack: what the
// nodes answer must not stop the relayer, nor lian up, which runs it in process. The
// step or resync is then counted as failed and tried again.
func recovered(what string, fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s failed unexpectedly: %v\n%s", what, r, debug.Stack())
		}
	}()
	return fn()
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// discover reads the routes of both chains that lead to the other one.
func (p *pair) discover(ctx context.Context) error {
	for _, c := range []*Chain{p.a, p.b} {
		other := p.other(c)
		clients, err := c.Clients(ctx)
		if err != nil {
			return err
		}
		follows := map[string]bool{}
		for _, cl := range clients {
			if cl.ChainID == other.ID {
				follows[cl.ID] = true
			}
		}
		routes, err := c.Routes(ctx)
		if err != nil {
			return err
		}
		m := map[string]*xchain.Route{}
		for _, rt := range routes {
			if follows[rt.Client] {
				m[rt.ID] = rt
			}
		}
		p.mu.Lock()
		p.routes[c.ID] = m
		p.mu.Unlock()
	}
	return nil
}

// route returns chain's route of that id if it leads to the other chain, or nil; the
// caller holds p.mu.
func (p *pair) route(chain, id string) *xchain.Route {
	return p.routes[chain][id]
}

// event takes in an xchain event of chain c at height.
func (p *pair) event(c *Chain, height int64, typ string, a map[string]string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	switch typ {
	case xchain.EventSendPacket:
		rt := p.route(c.ID, a["source_route"])
		if rt == nil {
			return
		}
		pk, err := packetOf(a)
		if err != nil {
			p.r.failed(c.ID, "event", err)
			return
		}
		k := packetKey{c.ID, pk.SourceRoute, pk.Sequence}
		if x := p.packets[k]; x != nil {
			if x.sentHeight == 0 {
				x.sentHeight = height
			}
			return
		}
		p.packets[k] = &pkt{p: pk, sentHeight: height, seen: now}
	case xchain.EventRecvPacket:
		rt := p.route(c.ID, a["dest_route"])
		if rt == nil {
			return
		}
		pk, err := packetOf(a)
		if err != nil {
			p.r.failed(c.ID, "event", err)
			return
		}
		ack, err := hex.DecodeString(a["ack"])
		if err != nil {
			p.r.failed(c.ID, "event", fmt.Errorf("recv_packet ack: %w", err))
			return
		}
		k := packetKey{p.other(c).ID, pk.SourceRoute, pk.Sequence}
		x := p.packets[k]
		if x == nil {
			x = &pkt{p: pk, seen: now}
			p.packets[k] = x
		}
		if x.ack == nil {
			x.ack, x.recvHeight, x.inflight = ack, height, time.Time{}
		}
	case xchain.EventAckPacket, xchain.EventTimeoutPacket:
		route, seq, err := xchain.ParsePacketID(a["packet"])
		if err != nil || p.route(c.ID, route) == nil {
			return
		}
		k := packetKey{c.ID, route, seq}
		x := p.packets[k]
		if x == nil {
			return
		}
		delete(p.packets, k)
		outcome := xchain.PacketAcknowledged
		if typ == xchain.EventTimeoutPacket {
			outcome = xchain.PacketTimedOut
		}
		dst := p.other(c).ID
		p.r.metrics.Settled.WithLabelValues(c.ID, dst, outcome).Inc()
		p.r.metrics.Latency.WithLabelValues(c.ID, dst, outcome).Observe(now.Sub(x.seen).Seconds())
	}
}

// updateGauges sets the pending gauges; the caller holds p.mu.
func (p *pair) updateGauges() {
	var ab, ba int
	for k := range p.packets {
		if k.chain == p.a.ID {
			ab++
		} else {
			ba++
		}
	}
	p.r.metrics.Pending.WithLabelValues(p.a.ID, p.b.ID).Set(float64(ab))
	p.r.metrics.Pending.WithLabelValues(p.b.ID, p.a.ID).Set(float64(ba))
}

// resync reads every route's pending packets from the chains and brings the table in
// line: packets the relayer does not know are looked up (their send event), packets
// settled meanwhile are forgotten, and packets received whose acknowledgement the
// relayer does not know get it (from the receive event).
func (p *pair) resync(ctx context.Context) error {
	if err := p.discover(ctx); err != nil {
		return err
	}
	for _, src := range []*Chain{p.a, p.b} {
		dst := p.other(src)
		p.mu.Lock()
		routes := make([]*xchain.Route, 0, len(p.routes[src.ID]))
		for _, rt := range p.routes[src.ID] {
			routes = append(routes, rt)
		}
		p.mu.Unlock()
		for _, rt := range routes {
			if err := p.resyncRoute(ctx, src, dst, rt); err != nil {
				return err
			}
		}
	}
	p.mu.Lock()
	p.updateGauges()
	p.mu.Unlock()
	p.wake()
	return nil
}

func (p *pair) resyncRoute(ctx context.Context, src, dst *Chain, rt *xchain.Route) error {
	seqs, height, err := src.Pending(ctx, rt.ID)
	if err != nil {
		return err
	}
	pending := make(map[uint64]bool, len(seqs))
	for _, s := range seqs {
		pending[s] = true
	}
	var missing []uint64
	p.mu.Lock()
	for k, x := range p.packets {
		if k.chain == src.ID && k.route == rt.ID && !pending[k.seq] && x.sentHeight <= height {
			delete(p.packets, k) // settled
		}
	}
	for _, s := range seqs {
		if p.packets[packetKey{src.ID, rt.ID, s}] == nil {
			missing = append(missing, s)
		}
	}
	p.mu.Unlock()
	now := time.Now()
	for _, s := range missing {
		a, h, err := src.findPacketEvent(ctx, xchain.EventSendPacket, packetKey{src.ID, rt.ID, s}, "")
		if err != nil {
			p.r.failed(src.ID, "lookup", err)
			continue
		}
		pk, err := packetOf(a)
		if err != nil {
			p.r.failed(src.ID, "lookup", err)
			continue
		}
		p.mu.Lock()
		if p.packets[packetKey{src.ID, rt.ID, s}] == nil {
			p.packets[packetKey{src.ID, rt.ID, s}] = &pkt{p: pk, sentHeight: h, seen: now}
		}
		p.mu.Unlock()
	}
	// Which of them did the destination receive already?
	var keys [][]byte
	var which []packetKey
	p.mu.Lock()
	for k, x := range p.packets {
		if k.chain == src.ID && k.route == rt.ID && x.ack == nil {
			keys = append(keys, xchain.AckPath(x.p.DestRoute, k.seq))
			which = append(which, k)
		}
	}
	p.mu.Unlock()
	if len(keys) == 0 {
		return nil
	}
	proven, err := dst.Prove(ctx, keys, 0)
	if err != nil {
		return err
	}
	for i, pr := range proven {
		if pr.Value != nil {
			p.lookupAck(ctx, src, dst, which[i], rt.CounterpartyRoute)
		}
	}
	return nil
}

// lookupAck finds the acknowledgement of a packet the destination received, from its
// receive event.
func (p *pair) lookupAck(ctx context.Context, src, dst *Chain, k packetKey, destRoute string) {
	a, h, err := dst.findPacketEvent(ctx, xchain.EventRecvPacket, k, destRoute)
	if err != nil {
		p.r.failed(dst.ID, "lookup", err)
		return
	}
	ack, err := hex.DecodeString(a["ack"])
	if err != nil {
		p.r.failed(dst.ID, "lookup", fmt.Errorf("recv_packet ack: %w", err))
		return
	}
	p.mu.Lock()
	if x := p.packets[k]; x != nil && x.ack == nil {
		x.ack, x.recvHeight, x.inflight = ack, h, time.Time{}
	}
	p.mu.Unlock()
}

// --- submitting to one chain ---

// A packet is received only if it will not time out within recvMarginBlocks blocks or
// recvMargin of the destination's clock.
const (
	recvMarginBlocks = 3
	recvMargin       = 2 * time.Second
)

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// maxStalePerStep bounds the packets one step looks up after their relay showed no
// effect (two queries each), so that live traffic is not held up.
const maxStalePerStep = 100

// work is one batch of messages for chain x proven from chain y at one height.
type work struct {
	recv, ack, timeout []cand
	stale              []packetKey // in flight too long: check their state
}

// cand is a packet picked for relaying, as it was when picked (the table may change
// while the batch is proven and submitted).
type cand struct {
	k   packetKey
	p   *xchain.Packet
	ack []byte
}

// submitter relays to chain x everything proven from the other chain: packets of the
// other chain to receive, and acknowledgements and timeouts of x's packets.
func (p *pair) submitter(ctx context.Context, x *Chain, wake <-chan struct{}) {
	y := p.other(x)
	refresh := time.NewTicker(250 * time.Millisecond)
	defer refresh.Stop()
	checkClients := true
	var lastCheck time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-refresh.C:
			checkClients = time.Since(lastCheck) >= p.checkEvery(x)
		}
		if checkClients {
			lastCheck = time.Now()
		}
		if err := recovered("step", func() error { return p.step(ctx, x, y, checkClients) }); err != nil {
			if ctx.Err() != nil {
				return
			}
			p.r.failed(x.ID, kindOf(err), err)
			sleep(ctx, p.r.opts.PollInterval)
		}
		checkClients = false
	}
}

func kindOf(err error) string {
	var te *TxError
	if errors.As(err, &te) {
		return te.Code.String()
	}
	var qe *queryError
	if errors.As(err, &qe) {
		return qe.code.String()
	}
	return "rpc"
}

// candidates picks the packets to relay to x with proofs from y at head (the state
// at head.Height-1).
func (p *pair) candidates(x, y *Chain, yDone int64, yHead, xHead Head) *work {
	p.mu.Lock()
	defer p.mu.Unlock()
	w := &work{}
	now := time.Now()
	for k, v := range p.packets {
		if !v.inflight.IsZero() {
			if now.After(v.inflight) && len(w.stale) < maxStalePerStep {
				w.stale = append(w.stale, k)
			}
			continue
		}
		switch {
		case k.chain == y.ID && v.ack == nil && !v.expired:
			// y's packet to be received by x: its commitment must be in the state at
			// yHead.Height-1, and x must still accept it.
			if v.sentHeight == 0 || v.sentHeight > yHead.Height-1 || v.sentHeight > yDone {
				continue
			}
			// A packet about to time out is left to its timeout: received in a later
			// block than CheckTx saw, it would fail the whole transaction.
			if v.p.TimedOutAt(xHead.Height+recvMarginBlocks, later(xHead.Time, now).Add(recvMargin)) {
				v.expired = true
				continue
			}
			w.recv = append(w.recv, cand{k, v.p, nil})
		case k.chain == x.ID && v.ack != nil:
			if v.recvHeight > yHead.Height-1 {
				continue
			}
			w.ack = append(w.ack, cand{k, v.p, v.ack})
		case k.chain == x.ID && v.ack == nil && v.p.TimedOutAt(yHead.Height, yHead.Time):
			w.timeout = append(w.timeout, cand{k, v.p, nil})
		}
	}
	less := func(a, b cand) int {
		if a.k.route != b.k.route {
			return strings.Compare(a.k.route, b.k.route)
		}
		return cmp.Compare(a.k.seq, b.k.seq)
	}
	slices.SortFunc(w.recv, less)
	slices.SortFunc(w.ack, less)
	slices.SortFunc(w.timeout, less)
	return w
}

// step relays one batch to x.
func (p *pair) step(ctx context.Context, x, y *Chain, checkClients bool) error {
	fx, fy := p.follower(x), p.follower(y)
	_, xHead := fx.state()
	yDone, yHead := fy.state()
	if yHead.Height < 2 || xHead.Height < 1 {
		return nil
	}
	w := p.candidates(x, y, yDone, yHead, xHead)
	if len(w.stale) > 0 {
		p.checkStale(ctx, x, y, w.stale)
	}
	n := len(w.recv) + len(w.ack) + len(w.timeout)
	if n == 0 && !checkClients {
		return nil
	}
	// Which of x's clients follow y, by route.
	p.mu.Lock()
	clientOf := map[string]string{} // x's route id → client
	for id, rt := range p.routes[x.ID] {
		clientOf[id] = rt.Client
	}
	p.mu.Unlock()
	if n == 0 {
		return p.refreshClients(ctx, x, y, clientOf, yHead)
	}
	latest := map[string]clientAt{}
	for _, client := range clientOf {
		if _, ok := latest[client]; ok {
			continue
		}
		h, err := p.clientHeight(ctx, x, client)
		if err != nil {
			return err
		}
		if h.proven > yHead.Height {
			return nil // another relayer is ahead of this node's view of y: wait for it
		}
		latest[client] = h
	}
	proofHeight := yHead.Height
	keys := make([][]byte, 0, n)
	for _, c := range w.recv {
		keys = append(keys, xchain.CommitmentPath(c.k.route, c.k.seq))
	}
	for _, c := range w.ack {
		keys = append(keys, xchain.AckPath(c.p.DestRoute, c.k.seq))
	}
	p.mu.Lock()
	routesY := p.routes[y.ID]
	p.mu.Unlock()
	for _, c := range w.timeout {
		if rt := routesY[c.p.DestRoute]; rt != nil && rt.Ordered {
			keys = append(keys, xchain.NextRecvPath(c.p.DestRoute))
		} else {
			keys = append(keys, xchain.ReceiptPath(c.p.DestRoute, c.k.seq))
		}
	}
	proven, err := y.Prove(ctx, keys, proofHeight-1)
	if err != nil {
		return err
	}
	// Messages by x's client (normally one).
	batches := map[string][]txs.Msg{}
	var order []string
	var received []cand // timeouts found received: look up their acks
	add := func(client string, m txs.Msg) {
		if _, ok := batches[client]; !ok {
			order = append(order, client)
		}
		batches[client] = append(batches[client], m)
	}
	marked := map[txs.Msg]packetKey{}
	i := 0
	for _, c := range w.recv {
		pr := proven[i]
		i++
		client := clientOf[c.p.DestRoute]
		if client == "" {
			continue // a route x does not have (yet)
		}
		if pr.Value == nil || !bytes.Equal(pr.Value, xchain.Commitment(c.p)) {
			continue // settled on y already: the resync forgets it
		}
		m := &xchain.MsgRecvPacket{Packet: c.p, Proof: pr.Proof, ProofHeight: proofHeight}
		add(client, m)
		marked[m] = c.k
	}
	for _, c := range w.ack {
		pr := proven[i]
		i++
		client := clientOf[c.k.route]
		if client == "" || pr.Value == nil || !bytes.Equal(pr.Value, xchain.AckHash(c.ack)) {
			continue
		}
		m := &xchain.MsgAcknowledge{Packet: c.p, Ack: c.ack, Proof: pr.Proof, ProofHeight: proofHeight}
		add(client, m)
		marked[m] = c.k
	}
	for _, c := range w.timeout {
		pr := proven[i]
		i++
		client := clientOf[c.k.route]
		if client == "" {
			continue
		}
		m := &xchain.MsgTimeout{Packet: c.p, Proof: pr.Proof, ProofHeight: proofHeight}
		if rt := routesY[c.p.DestRoute]; rt != nil && rt.Ordered {
			if len(pr.Value) != 8 {
				continue
			}
			m.NextSequenceRecv = beUint64(pr.Value)
			if m.NextSequenceRecv > c.k.seq {
				received = append(received, c)
				continue
			}
		} else if pr.Value != nil {
			received = append(received, c)
			continue
		}
		add(client, m)
		marked[m] = c.k
	}
	for _, c := range received {
		p.lookupAck(ctx, x, y, c.k, c.p.DestRoute)
	}
	var errs []error
	for _, client := range order {
		if err := p.relay(ctx, x, y, client, latest[client], yHead, batches[client], marked); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (p *pair) packetDest(k packetKey) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if v := p.packets[k]; v != nil {
		return v.p.DestRoute
	}
	return ""
}

func beUint64(b []byte) uint64 {
	var n uint64
	for _, c := range b {
		n = n<<8 | uint64(c)
	}
	return n
}

// clientAt is how far a client of a chain follows it.
type clientAt struct {
	// proven is the latest proof height the client accepts (see
	// xchain.ClientView.ProvenHeight).
	proven int64
	// trusted is the client's latest height, the one a new header is verified from.
	trusted int64
}

// clientHeight returns how far x's client follows y, counting an update of ours that is
// admitted and not committed yet; a frozen or expired client is an error.
func (p *pair) clientHeight(ctx context.Context, x *Chain, client string) (clientAt, error) {
	cv, err := x.Client(ctx, client)
	if err != nil {
		return clientAt{}, err
	}
	switch cv.Status {
	case xchain.StatusFrozen:
		return clientAt{}, fmt.Errorf("%s: client %s: %w", x.ID, client, &queryError{code: errcode.ClientFrozen, log: cv.FrozenReason})
	case xchain.StatusExpired:
		return clientAt{}, fmt.Errorf("%s: client %s: %w", x.ID, client, &queryError{code: errcode.ClientExpired, log: "expired"})
	}
	p.r.metrics.ClientHeight.WithLabelValues(x.ID, client).Set(float64(cv.LatestHeight))
	h := clientAt{proven: cv.Proven(), trusted: cv.LatestHeight}
	p.mu.Lock()
	if u := p.pendingUpdate[x.ID+"/"+client]; u.proven > h.proven {
		h = u
	}
	p.mu.Unlock()
	return h, nil
}

// maxClientCheck is how often, at most, an idle relayer reads the clients it updates to
// see whether one is due; clients with short trusting periods are read more often.
const maxClientCheck = 5 * time.Second

// checkEvery returns how often x's clients are to be read.
func (p *pair) checkEvery(x *Chain) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if d, ok := p.checkInterval[x.ID]; ok {
		return d
	}
	return maxClientCheck
}

// refreshClients updates x's clients of y that are due: past RefreshFraction of their
// trusting period, or idle for IdleRefresh.
func (p *pair) refreshClients(ctx context.Context, x, y *Chain, clientOf map[string]string, yHead Head) error {
	done := map[string]bool{}
	for _, client := range clientOf {
		if done[client] {
			continue
		}
		done[client] = true
		cv, err := x.Client(ctx, client)
		if err != nil {
			return err
		}
		if cv.Status != xchain.StatusActive || cv.Latest == nil {
			continue
		}
		every := min(maxClientCheck, max(100*time.Millisecond, time.Duration(cv.TrustingPeriod)/20))
		p.mu.Lock()
		if d, ok := p.checkInterval[x.ID]; !ok || every < d {
			p.checkInterval[x.ID] = every
		}
		p.mu.Unlock()
		age := time.Since(cv.Latest.Time)
		due := age > time.Duration(float64(cv.TrustingPeriod)*RefreshFraction) ||
			p.r.opts.IdleRefresh > 0 && age > p.r.opts.IdleRefresh
		at := clientAt{proven: cv.Proven(), trusted: cv.LatestHeight}
		if !due || yHead.Height <= at.proven {
			continue
		}
		if err := p.relay(ctx, x, y, client, at, yHead, nil, nil); err != nil {
			return err
		}
		p.r.log.Info("relayer: client refreshed", "chain", x.ID, "client", client, "height", yHead.Height)
	}
	return nil
}

// relay submits msgs to x, preceded by the update of x's client to y's head, in as
// many transactions as the limits need. A message the chain refuses is dropped and
// the rest submitted again.
func (p *pair) relay(ctx context.Context, x, y *Chain, client string, at clientAt, yHead Head, msgs []txs.Msg, marked map[txs.Msg]packetKey) error {
	var upd txs.Msg
	if at.proven < yHead.Height {
		var h *xchain.Header
		var err error
		if yHead.Extended != nil {
			h, err = y.AttestedHeader(ctx, yHead.Extended, at.trusted)
		} else {
			h, err = y.UpdateHeader(ctx, yHead.Height, at.trusted)
		}
		if err != nil {
			return err
		}
		upd = &xchain.MsgUpdateClient{ClientID: client, Header: h}
	}
	if upd == nil && len(msgs) == 0 {
		return nil
	}
	first := true
	for len(msgs) > 0 || upd != nil && first {
		var batch []txs.Msg
		size := 512
		if first && upd != nil {
			batch = append(batch, upd)
			size += len(upd.Marshal()) + 16
		}
		for len(msgs) > 0 && len(batch) < p.r.opts.MaxMsgs {
			s := len(msgs[0].Marshal()) + 16
			if len(batch) > 0 && size+s > p.r.opts.MaxTxBytes {
				break
			}
			batch = append(batch, msgs[0])
			size += s
			msgs = msgs[1:]
		}
		// An admitted update counts as pending (see track) until the client shows it
		// or its transaction fails in its block.
		if err := p.submit(ctx, x, combine(batch), marked); err != nil {
			if first && upd != nil {
				return err // without the update nothing after it can be proven
			}
			p.r.failed(x.ID, kindOf(err), err)
		}
		first = false
	}
	return nil
}

// submit submits one transaction, dropping refused messages and trying again with the
// rest. Messages admitted (or redundant) have their packets marked in flight. A refused
// batch message is replaced by its packets' single messages, to find the one refused.
func (p *pair) submit(ctx context.Context, x *Chain, batch []relayMsg, marked map[txs.Msg]packetKey) error {
	for len(batch) > 0 {
		msgs := make([]txs.Msg, len(batch))
		for i, m := range batch {
			msgs[i] = m.msg
		}
		sent, err := x.Submit(ctx, msgs)
		var te *TxError
		switch {
		case err == nil:
			p.r.metrics.Txs.WithLabelValues(x.ID, "admitted").Inc()
			for _, m := range batch {
				for _, s := range m.singles() {
					p.r.metrics.Msgs.WithLabelValues(x.ID, msgName(s)).Inc()
				}
			}
			p.markInflight(batch, marked)
			p.track(x, sent.Nonce, batch, marked)
			return nil
		case errors.As(err, &te) && te.Code == errcode.AlreadyExists && te.FailedMessage() < 0:
			p.r.metrics.Txs.WithLabelValues(x.ID, "redundant").Inc()
			p.markInflight(batch, marked)
			return nil
		case errors.As(err, &te):
			p.r.metrics.Txs.WithLabelValues(x.ID, "refused").Inc()
			i := te.FailedMessage()
			if i < 0 || i >= len(batch) {
				return fmt.Errorf("%s: relay %d messages: %w", x.ID, len(batch), err)
			}
			if len(batch[i].parts) > 0 {
				singles := make([]relayMsg, len(batch[i].parts))
				for j, s := range batch[i].parts {
					singles[j] = relayMsg{msg: s}
				}
				batch = slices.Concat(batch[:i:i], singles, batch[i+1:])
				continue
			}
			m := batch[i].msg
			if _, isUpdate := m.(*xchain.MsgUpdateClient); isUpdate {
				p.mu.Lock()
				clear(p.pendingUpdate)
				p.mu.Unlock()
				return fmt.Errorf("%s: client update: %w", x.ID, err)
			}
			p.r.failed(x.ID, te.Code.String(), fmt.Errorf("%s refused: %w", msgName(m), err))
			if k, ok := marked[m]; ok {
				p.refused(k, m, te)
			}
			if te.Code == errcode.NotFound && isConsensusMissing(te) {
				// The update this batch depends on is gone: start again.
				p.mu.Lock()
				clear(p.pendingUpdate)
				p.mu.Unlock()
				return fmt.Errorf("%s: %w", x.ID, err)
			}
			batch = slices.Delete(slices.Clone(batch), i, i+1)
		default:
			return err
		}
	}
	return nil
}

// track remembers what an admitted transaction carries until its block shows its
// result (see landed), and counts its client update as pending; entries of transactions never seen in a block (dropped from the
// mempool) are forgotten after twice ResubmitAfter, when the packets' own resubmission
// has taken over.
func (p *pair) track(x *Chain, nonce uint64, batch []relayMsg, marked map[txs.Msg]packetKey) {
	now := time.Now()
	st := &sentTx{at: now}
	for _, m := range batch {
		if u, ok := m.msg.(*xchain.MsgUpdateClient); ok {
			st.update, st.updateAt = x.ID+"/"+u.ClientID, clientAt{proven: u.Header.ProvenHeight(), trusted: u.Header.Height()}
		}
		for _, s := range m.singles() {
			if k, ok := marked[s]; ok {
				st.packets = append(st.packets, k)
			}
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, v := range p.sent {
		if now.Sub(v.at) > 2*p.r.opts.ResubmitAfter {
			delete(p.sent, k)
		}
	}
	k := sentKey{x.ID, nonce}
	if old := p.sent[k]; old != nil {
		// The chain expected this nonce again (Submit's bad_nonce answer): the earlier
		// transaction with it left the mempools, or will fail.
		p.dropped(x, old)
	}
	p.sent[k] = st
	if st.update != "" {
		p.pendingUpdate[st.update] = st.updateAt
	}
}

// dropped releases what a transaction of ours that will not execute carried: its
// update no longer counts as pending and its packets are relayed again at the next
// step. The caller holds p.mu.
func (p *pair) dropped(x *Chain, st *sentTx) {
	if st.update != "" && p.pendingUpdate[st.update] == st.updateAt {
		delete(p.pendingUpdate, st.update)
	}
	for _, pk := range st.packets {
		if v := p.packets[pk]; v != nil && !v.inflight.IsZero() {
			v.inflight = time.Time{}
		}
	}
	p.r.metrics.Txs.WithLabelValues(x.ID, "dropped").Inc()
}

// landed handles the result of the relayer account's transaction with nonce on chain x,
// read from a block (sent by this pair or another). Ours with a lower nonce that have
// not shown are dropped (see dropped). A transaction of this pair that failed there (admitted by CheckTx, refused in the
// block: a header from the future for the block's older time, a race with another
// relayer) does not wait for ResubmitAfter: its client update no longer counts as
// pending, and its packets are relayed again at once, or, if their transactions keep
// failing, after a delay that doubles up to ResubmitAfter.
func (p *pair) landed(x *Chain, nonce uint64, code uint32, log string) {
	p.mu.Lock()
	// An account's transactions run in nonce order: ours with a lower nonce that have
	// not shown never will (dropped from the mempools, e.g. with a node that crashed),
	// whichever pair sent the one that landed.
	released := false
	for sk, old := range p.sent {
		if sk.chain == x.ID && sk.nonce < nonce {
			delete(p.sent, sk)
			p.dropped(x, old)
			released = true
		}
	}
	k := sentKey{x.ID, nonce}
	st := p.sent[k]
	delete(p.sent, k)
	if st == nil || code == abci.CodeTypeOK {
		p.mu.Unlock()
		if released {
			p.wake()
		}
		return
	}
	if st.update != "" && p.pendingUpdate[st.update] == st.updateAt {
		delete(p.pendingUpdate, st.update)
	}
	now := time.Now()
	for _, pk := range st.packets {
		v := p.packets[pk]
		if v == nil || v.inflight.IsZero() {
			continue
		}
		v.failures++
		if v.failures == 1 {
			v.inflight = time.Time{} // relayed again at the next step
		} else {
			v.inflight = now.Add(min(p.r.opts.ResubmitAfter, p.r.opts.PollInterval<<min(v.failures, 16)))
		}
	}
	p.mu.Unlock()
	p.r.metrics.Txs.WithLabelValues(x.ID, "failed").Inc()
	p.r.failed(x.ID, errcode.Code(code).String(), fmt.Errorf("relay transaction (nonce %d, %d packets) failed in its block: %s", nonce, len(st.packets), log))
	p.wake()
}

func isConsensusMissing(te *TxError) bool {
	return bytes.Contains([]byte(te.Log), []byte("no consensus state"))
}

// refused handles a message the chain refused: a packet past its timeout is left to
// the timeout; others are retried after ResubmitAfter.
func (p *pair) refused(k packetKey, m txs.Msg, te *TxError) {
	p.mu.Lock()
	defer p.mu.Unlock()
	v := p.packets[k]
	if v == nil {
		return
	}
	if _, ok := m.(*xchain.MsgRecvPacket); ok && (te.Code == errcode.PacketExpired || te.Code == errcode.Closed) {
		v.expired = true // past its timeout, or the route closed: only a timeout remains
		return
	}
	if te.Code == errcode.NotFound && isConsensusMissing(te) {
		v.inflight = time.Time{} // proven at a height whose update failed: relayed again with a new one
		return
	}
	v.inflight = time.Now().Add(p.r.opts.ResubmitAfter)
}

func (p *pair) markInflight(batch []relayMsg, marked map[txs.Msg]packetKey) {
	p.mu.Lock()
	defer p.mu.Unlock()
	until := time.Now().Add(p.r.opts.ResubmitAfter)
	for _, m := range batch {
		for _, s := range m.singles() {
			if k, ok := marked[s]; ok {
				if v := p.packets[k]; v != nil {
					v.inflight = until
				}
			}
		}
	}
}

// relayMsg is a message of a relay transaction: a single message, or a batch message
// and the single messages it was combined from.
type relayMsg struct {
	msg   txs.Msg
	parts []txs.Msg
}

func (m relayMsg) singles() []txs.Msg {
	if len(m.parts) > 0 {
		return m.parts
	}
	return []txs.Msg{m.msg}
}

// combine replaces each run of two or more receipts, or of acknowledgements, of one
// route at one proof height by one batch message with one proof for all (a quarter of
// the bytes: their single proofs repeat the upper tree). The chain handles a batch as
// it handles the single messages.
func combine(msgs []txs.Msg) []relayMsg {
	var out []relayMsg
	for i := 0; i < len(msgs); {
		j := i + 1
		for j < len(msgs) && j-i < xchain.MaxBatchPackets && batchable(msgs[j-1], msgs[j]) {
			j++
		}
		if j-i < 2 {
			out = append(out, relayMsg{msg: msgs[i]})
			i = j
			continue
		}
		run := msgs[i:j:j]
		if b, err := batchOf(run); err == nil {
			out = append(out, relayMsg{msg: b, parts: run})
		} else {
			for _, m := range run {
				out = append(out, relayMsg{msg: m})
			}
		}
		i = j
	}
	return out
}

// batchable reports whether b may follow a in one batch message.
func batchable(a, b txs.Msg) bool {
	switch a := a.(type) {
	case *xchain.MsgRecvPacket:
		b, ok := b.(*xchain.MsgRecvPacket)
		return ok && a.ProofHeight == b.ProofHeight && samePath(a.Packet, b.Packet)
	case *xchain.MsgAcknowledge:
		b, ok := b.(*xchain.MsgAcknowledge)
		return ok && a.ProofHeight == b.ProofHeight && samePath(a.Packet, b.Packet)
	}
	return false
}

func samePath(a, b *xchain.Packet) bool {
	return a.SourceRoute == b.SourceRoute && a.DestRoute == b.DestRoute && a.Sequence < b.Sequence
}

// batchOf makes the batch message of a run of batchable messages.
func batchOf(run []txs.Msg) (txs.Msg, error) {
	proofs := make([][]byte, len(run))
	switch run[0].(type) {
	case *xchain.MsgRecvPacket:
		m := &xchain.MsgRecvPackets{ProofHeight: run[0].(*xchain.MsgRecvPacket).ProofHeight}
		for i, s := range run {
			s := s.(*xchain.MsgRecvPacket)
			m.Packets, proofs[i] = append(m.Packets, s.Packet), s.Proof
		}
		proof, err := store.CombineProofs(proofs)
		m.Proof = proof
		return m, err
	default:
		m := &xchain.MsgAcknowledgePackets{ProofHeight: run[0].(*xchain.MsgAcknowledge).ProofHeight}
		for i, s := range run {
			s := s.(*xchain.MsgAcknowledge)
			m.Acks, proofs[i] = append(m.Acks, &xchain.PacketAck{Packet: s.Packet, Ack: s.Ack}), s.Proof
		}
		proof, err := store.CombineProofs(proofs)
		m.Proof = proof
		return m, err
	}
}

// checkStale looks at packets whose relayed message showed no effect in time: settled
// packets are forgotten, received ones get their acknowledgement, the others are
// relayed again.
func (p *pair) checkStale(ctx context.Context, x, y *Chain, keys []packetKey) {
	for _, k := range keys {
		src := p.a
		if k.chain == p.b.ID {
			src = p.b
		}
		dst := p.other(src)
		view, err := src.Packet(ctx, k.route, k.seq)
		if err != nil && !isNotFound(err) {
			p.r.failed(src.ID, "lookup", err)
			continue
		}
		if view != nil && view.State != "" && view.State != xchain.PacketPending {
			p.mu.Lock()
			delete(p.packets, k)
			p.updateGauges()
			p.mu.Unlock()
			continue
		}
		dest := p.packetDest(k)
		if dv, err := dst.Packet(ctx, dest, k.seq); err == nil && dv.Received {
			p.lookupAck(ctx, src, dst, k, dest)
		}
		p.mu.Lock()
		if v := p.packets[k]; v != nil {
			v.inflight = time.Time{}
		}
		p.mu.Unlock()
	}
}
