package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/node"
	"github.com/lianchain/lian/txs"
)

// Defaults of Config.
const (
	DefaultDuration     = 30 * time.Second
	DefaultWarmup       = 3 * time.Second
	DefaultWindow       = 256
	DefaultDrain        = 15 * time.Second
	DefaultPollInterval = 20 * time.Millisecond
	// StallTimeout is how long a worker whose window is full waits for a commit before
	// it re-reads its nonce and gives up on its transactions in flight.
	StallTimeout = 10 * time.Second
)

// Transport is how the driver reaches one chain (one endpoint of it). Implementations
// must be safe for concurrent use.
type Transport interface {
	// Submit hands an encoded transaction to the chain without waiting for its commit.
	// A transaction the chain refused is reported as a *RefusedError; any other error is
	// a transport error.
	Submit(ctx context.Context, tx []byte) error
	// LatestHeight returns the height of the latest committed block.
	LatestHeight(ctx context.Context) (int64, error)
	// BlockTxs returns the hashes (SHA-256 of the bytes, as txs.HashOf) of the
	// transactions of the block at height.
	BlockTxs(ctx context.Context, height int64) ([]txs.Hash, error)
	// Nonce returns the next nonce of a Lian account in the last committed state.
	Nonce(ctx context.Context, addr crypto.Address) (uint64, error)
	// Registered reports whether a Lian account is registered in the last committed
	// state.
	Registered(ctx context.Context, addr crypto.Address) (bool, error)
}

// RefusedError is a transaction the chain refused to admit to its mempool.
type RefusedError struct {
	// Reason is a short stable name: an errcode name of Lian ("bad_nonce"),
	// "mempool_full", "in_cache", or "<codespace>_<code>".
	Reason string
	// Msg is the chain's explanation.
	Msg string
}

// Error returns "refused (reason): msg".
func (e *RefusedError) Error() string { return "refused (" + e.Reason + "): " + e.Msg }

// TxSource builds the transactions of one account. A source is used by one worker at a
// time.
type TxSource interface {
	// Build returns the encoded transaction with the given nonce. Every call returns a
	// new transaction (different bytes), even for a nonce built before.
	Build(nonce uint64) ([]byte, error)
	// Sync returns the nonce to continue from, at the start and after a refusal; local
	// is the next nonce the worker would have used. Sources whose chain keeps no nonce
	// return local.
	Sync(ctx context.Context, local uint64) (uint64, error)
}

// NonceSource is a TxSource whose chain counts its successful transactions: its account's
// committed nonce advances by one for each. Run reads it at the start and the end, to
// tell the transactions that succeeded from those included in a block with an error.
type NonceSource interface {
	TxSource
	// CommittedNonce returns the account's next nonce in the last committed state.
	CommittedNonce(ctx context.Context) (uint64, error)
}

// Config configures Run.
type Config struct {
	// Label names the run in its Result.
	Label string
	// Transports are the chain's endpoints: worker i submits through
	// Transports[i%len(Transports)]; blocks are watched through Transports[0].
	Transports []Transport
	// Sources are the workers' accounts, one worker each.
	Sources []TxSource
	// Duration is the whole run, warm-up included (default DefaultDuration).
	Duration time.Duration
	// Warmup is the start of the run that is not measured (default DefaultWarmup; a
	// negative value means none).
	Warmup time.Duration
	// Window bounds each worker's transactions in flight (default DefaultWindow).
	Window int
	// Drain is how long, after Duration, the driver keeps watching blocks for the
	// transactions still in flight, so that their latency is counted (default
	// DefaultDrain; a negative value means none).
	Drain time.Duration
	// PollInterval is how often the latest height is polled (default
	// DefaultPollInterval).
	PollInterval time.Duration
	// Progress, if not nil, receives a line every 5 seconds.
	Progress io.Writer
	// OnBlock, if not nil, is called by the watcher for every new block: its height,
	// its number of transactions and when it was seen.
	OnBlock func(height int64, txs int, seen time.Time)
	// Nodes, if not nil, are the chain's nodes in this process: their block phases in
	// the measured window go into the Result.
	Nodes []*node.Node
}

func (c *Config) defaults() error {
	if len(c.Transports) == 0 {
		return errors.New("bench: no transport")
	}
	if len(c.Sources) == 0 {
		return errors.New("bench: no workers (sources)")
	}
	if c.Duration == 0 {
		c.Duration = DefaultDuration
	}
	if c.Duration < 0 {
		return fmt.Errorf("bench: negative duration %v", c.Duration)
	}
	switch {
	case c.Warmup == 0:
		c.Warmup = DefaultWarmup
	case c.Warmup < 0:
		c.Warmup = 0
	}
	if c.Warmup >= c.Duration {
		return fmt.Errorf("bench: warm-up %v is not shorter than the duration %v", c.Warmup, c.Duration)
	}
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.Window < 1 {
		return fmt.Errorf("bench: window %d: expected at least 1", c.Window)
	}
	switch {
	case c.Drain == 0:
		c.Drain = DefaultDrain
	case c.Drain < 0:
		c.Drain = 0
	}
	if c.PollInterval <= 0 {
		c.PollInterval = DefaultPollInterval
	}
	return nil
}

// Result is the outcome of one run. Rates and latencies cover the measured window (the
// run after its warm-up).
type Result struct {
	Label       string `json:"label"`
	Concurrency int    `json:"concurrency"`
	Window      int    `json:"window"`
	// DurationS is the whole run and MeasuredS its measured part, in seconds.
	DurationS float64 `json:"duration_s"`
	MeasuredS float64 `json:"measured_s"`
	// Submitted counts the transactions the chain admitted over the whole run; Refused
	// the refused submissions, by reason in RefusedBy.
	Submitted int64            `json:"submitted"`
	Refused   int64            `json:"refused"`
	RefusedBy map[string]int64 `json:"refused_by,omitempty"`
	// Committed counts this run's transactions seen in a block during the measured
	// window; CommittedTotal those seen at any time (warm-up and drain included). When
	// the sources are NonceSources, transactions included in a block but failed there
	// (FailedInBlocks, e.g. a bad nonce after the mempool dropped a predecessor) are not
	// counted in Committed and TPS: they are scaled by the run's success ratio.
	Committed      int64 `json:"committed"`
	CommittedTotal int64 `json:"committed_total"`
	// Succeeded is the advance of the sources' committed nonces over the run (-1 when
	// the sources keep no nonce), and FailedInBlocks is CommittedTotal - Succeeded.
	Succeeded      int64 `json:"succeeded"`
	FailedInBlocks int64 `json:"failed_in_blocks,omitempty"`
	// Lost counts admitted transactions never seen in a block (dropped by the mempool, or
	// still pending when the drain ended).
	Lost int64 `json:"lost"`
	// TPS is Committed per second of the measured window.
	TPS float64 `json:"tps"`
	// Submit-to-commit latency, in seconds, of the transactions submitted during the
	// measured window (LatencySamples of them).
	LatencyP50S    float64 `json:"latency_p50_s"`
	LatencyP99S    float64 `json:"latency_p99_s"`
	LatencyMaxS    float64 `json:"latency_max_s"`
	LatencySamples int     `json:"latency_samples"`
	// Blocks seen during the measured window and their mean number of transactions (all
	// transactions, this run's or not).
	Blocks      int     `json:"blocks"`
	TxsPerBlock float64 `json:"txs_per_block"`
	// Heights are the first and last block heights of the run.
	FirstHeight int64 `json:"first_height"`
	LastHeight  int64 `json:"last_height"`
	// LoadBefore and LoadAfter are /proc/loadavg's 1, 5 and 15 minute averages before
	// and after the run.
	LoadBefore string `json:"load_before"`
	LoadAfter  string `json:"load_after"`
	// WatchErrors counts failed polls of the latest height or of a block.
	WatchErrors int64 `json:"watch_errors,omitempty"`
	// ProcessCPUS is the CPU time (user + system, in seconds) this process used during
	// the run, drain included, and CPUPerTxMs that time per transaction of CommittedTotal,
	// in milliseconds. When the network runs in this process (Compare), it is the CPU
	// cost of a transaction on the whole network, driver included: a figure that depends
	// less than TPS on what else the machine runs. Zero where not measured.
	ProcessCPUS float64 `json:"process_cpu_s"`
	CPUPerTxMs  float64 `json:"cpu_per_tx_ms"`
	// Phases say where the block intervals went in the measured window (when the
	// nodes run in this process: Config.Nodes).
	Phases *BlockPhases `json:"phases,omitempty"`
}

// inflight is a submitted transaction not yet seen in a block.
type inflight struct {
	w     *worker
	nonce uint64
	sent  time.Time
	// abandoned: the worker no longer counts it in its window (it was refused by the
	// mempool's state later, or a transaction submitted after it committed first). It is
	// still counted if it commits.
	abandoned bool
}

type worker struct {
	id  int
	src TxSource
	tr  Transport
	// Guarded by run.mu:
	inflight int           // transactions in the window
	queue    []*inflight   // the ones in the window, in submission order
	wake     chan struct{} // a commit of one of its transactions (capacity 1)
}

func (w *worker) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// abandonFrom takes the worker's transactions with nonce >= n out of its window
// (run.mu held).
func (w *worker) abandonFrom(n uint64) {
	kept := w.queue[:0]
	for _, f := range w.queue {
		if f.nonce >= n {
			f.abandoned = true
			w.inflight--
		} else {
			kept = append(kept, f)
		}
	}
	clear(w.queue[len(kept):])
	w.queue = kept
}

// committed takes f out of the window, and with it every transaction the worker
// submitted before f that is still in flight: the mempool is first in, first out, so
// those were dropped (run.mu held).
func (w *worker) committed(f *inflight) {
	if f.abandoned {
		return
	}
	i := 0
	for i < len(w.queue) && w.queue[i] != f {
		i++
	}
	if i == len(w.queue) {
		return // not found: cannot happen
	}
	for _, lost := range w.queue[:i] {
		lost.abandoned = true
	}
	w.inflight -= i + 1
	clear(w.queue[:i+1])
	w.queue = w.queue[i+1:]
	w.signal()
}

type run struct {
	cfg          Config
	start        time.Time
	measureStart time.Time
	end          time.Time
	stopSubmit   chan struct{} // closed at end

	submitted atomic.Int64
	refused   atomic.Int64
	watchErrs atomic.Int64

	mu             sync.Mutex
	index          map[txs.Hash]*inflight
	refusedBy      map[string]int64
	lat            []time.Duration
	committedWin   int64
	committedTotal int64
	blocks         int
	blockTxs       int64
	firstHeight    int64
	lastHeight     int64
	fatal          error
}

// Run drives a chain as Config says and returns what it measured. It returns an error
// if the chain cannot be reached at the start or a source cannot build a transaction;
// refusals and transport errors during the run are counted, not returned.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	watchTr := cfg.Transports[0]
	first, err := watchTr.LatestHeight(ctx)
	if err != nil {
		return nil, fmt.Errorf("bench: latest height: %w", err)
	}
	r := &run{
		cfg:         cfg,
		index:       make(map[txs.Hash]*inflight, len(cfg.Sources)*cfg.Window),
		refusedBy:   map[string]int64{},
		stopSubmit:  make(chan struct{}),
		firstHeight: first,
		lastHeight:  first,
	}
	startNonces := committedNonces(ctx, cfg.Sources)
	workers := make([]*worker, len(cfg.Sources))
	for i, src := range cfg.Sources {
		workers[i] = &worker{id: i, src: src, tr: cfg.Transports[i%len(cfg.Transports)], wake: make(chan struct{}, 1)}
	}
	loadBefore, cpuBefore := LoadAvg(), processCPU()
	r.start = time.Now()
	r.measureStart = r.start.Add(cfg.Warmup)
	r.end = r.start.Add(cfg.Duration)

	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		r.watch(watchCtx, watchTr, first)
	}()
	progressDone := make(chan struct{})
	if cfg.Progress != nil {
		go func() {
			defer close(progressDone)
			r.progress(watchCtx, cfg.Progress)
		}()
	} else {
		close(progressDone)
	}

	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.work(ctx, w)
		}()
	}
	var phasesFrom node.Phases
	if cfg.Nodes != nil {
		select {
		case <-time.After(time.Until(r.measureStart)):
		case <-ctx.Done():
		}
		phasesFrom = nodesPhases(cfg.Nodes)
	}
	select {
	case <-time.After(time.Until(r.end)):
	case <-ctx.Done():
	}
	var phases *BlockPhases
	if cfg.Nodes != nil {
		p := blockPhases(nodesPhases(cfg.Nodes).Sub(phasesFrom), len(cfg.Nodes))
		phases = &p
	}
	close(r.stopSubmit)
	wg.Wait()

	// Drain: wait for the transactions still in flight (or the drain timeout).
	if cfg.Drain > 0 {
		deadline := time.Now().Add(cfg.Drain)
		for time.Now().Before(deadline) && ctx.Err() == nil {
			n := 0
			r.mu.Lock()
			for _, w := range workers {
				n += w.inflight
			}
			r.mu.Unlock()
			if n == 0 {
				break
			}
			time.Sleep(cfg.PollInterval)
		}
	}
	stopWatch()
	<-watchDone
	<-progressDone
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.mu.Lock()
	fatal := r.fatal
	r.mu.Unlock()
	if fatal != nil {
		return nil, fatal
	}
	res := r.result(loadBefore, LoadAvg())
	res.Phases = phases
	if cpuBefore > 0 {
		cpu := processCPU() - cpuBefore
		res.ProcessCPUS = cpu.Seconds()
		if res.CommittedTotal > 0 {
			res.CPUPerTxMs = 1000 * res.ProcessCPUS / float64(res.CommittedTotal)
		}
	}
	res.Succeeded = -1
	if startNonces != nil {
		if n, ok := succeeded(ctx, cfg.Sources, startNonces); ok {
			res.Succeeded = n
			if n < res.CommittedTotal && res.CommittedTotal > 0 {
				res.FailedInBlocks = res.CommittedTotal - n
				ok := float64(n) / float64(res.CommittedTotal)
				res.Committed = int64(float64(res.Committed) * ok)
				res.TPS *= ok
			}
		}
	}
	return res, nil
}

// committedNonces reads every source's committed nonce, or returns nil if a source is
// not a NonceSource or a read fails.
func committedNonces(ctx context.Context, srcs []TxSource) []uint64 {
	out := make([]uint64, len(srcs))
	for i, s := range srcs {
		ns, ok := s.(NonceSource)
		if !ok {
			return nil
		}
		n, err := ns.CommittedNonce(ctx)
		if err != nil {
			return nil
		}
		out[i] = n
	}
	return out
}

// succeeded returns the sum of the sources' nonce advances since start. The block the
// watcher saw last may not be committed by the application yet, so it reads until two
// reads 300 ms apart agree (at most 3 s).
func succeeded(ctx context.Context, srcs []TxSource, start []uint64) (int64, bool) {
	sum := func() (int64, bool) {
		now := committedNonces(ctx, srcs)
		if now == nil {
			return 0, false
		}
		var n int64
		for i := range now {
			n += int64(now[i]) - int64(start[i])
		}
		return n, true
	}
	last, ok := sum()
	for deadline := time.Now().Add(3 * time.Second); ok && time.Now().Before(deadline); {
		time.Sleep(300 * time.Millisecond)
		var n int64
		if n, ok = sum(); ok && n == last {
			return n, true
		}
		last = n
	}
	return last, ok
}

// result builds the Result; r.mu must not be held.
func (r *run) result(loadBefore, loadAfter string) *Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	measured := r.end.Sub(r.measureStart)
	res := &Result{
		Label:          r.cfg.Label,
		Concurrency:    len(r.cfg.Sources),
		Window:         r.cfg.Window,
		DurationS:      r.cfg.Duration.Seconds(),
		MeasuredS:      measured.Seconds(),
		Submitted:      r.submitted.Load(),
		Refused:        r.refused.Load(),
		Committed:      r.committedWin,
		CommittedTotal: r.committedTotal,
		Lost:           int64(len(r.index)),
		Blocks:         r.blocks,
		FirstHeight:    r.firstHeight,
		LastHeight:     r.lastHeight,
		LoadBefore:     loadBefore,
		LoadAfter:      loadAfter,
		WatchErrors:    r.watchErrs.Load(),
	}
	if len(r.refusedBy) > 0 {
		res.RefusedBy = maps.Clone(r.refusedBy)
	}
	if measured > 0 {
		res.TPS = float64(r.committedWin) / measured.Seconds()
	}
	if r.blocks > 0 {
		res.TxsPerBlock = float64(r.blockTxs) / float64(r.blocks)
	}
	if n := len(r.lat); n > 0 {
		lat := slices.Clone(r.lat)
		slices.Sort(lat)
		res.LatencySamples = n
		res.LatencyP50S = percentile(lat, 0.50).Seconds()
		res.LatencyP99S = percentile(lat, 0.99).Seconds()
		res.LatencyMaxS = lat[n-1].Seconds()
	}
	return res
}

// percentile returns the p-quantile (nearest rank) of sorted values.
func percentile[T time.Duration | int64](sorted []T, p float64) T {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.5) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return sorted[i]
}

func (r *run) stopped() bool {
	select {
	case <-r.stopSubmit:
		return true
	default:
		return false
	}
}

// work is one worker's loop: build, submit, repeat while the window has room.
func (r *run) work(ctx context.Context, w *worker) {
	nonce, err := w.src.Sync(ctx, 0)
	for err != nil {
		if ctx.Err() != nil || r.stopped() {
			return
		}
		r.refuse(err)
		time.Sleep(100 * time.Millisecond)
		nonce, err = w.src.Sync(ctx, 0)
	}
	for ctx.Err() == nil && !r.stopped() {
		if !r.waitSlot(w) {
			r.recover(ctx, w, &nonce, nil)
			continue
		}
		if r.stopped() {
			return
		}
		tx, err := w.src.Build(nonce)
		if err != nil {
			r.mu.Lock()
			if r.fatal == nil {
				r.fatal = fmt.Errorf("bench: worker %d: build transaction: %w", w.id, err)
			}
			r.mu.Unlock()
			return
		}
		h := txs.HashOf(tx)
		f := &inflight{w: w, nonce: nonce, sent: time.Now()}
		r.mu.Lock()
		r.index[h] = f
		w.inflight++
		w.queue = append(w.queue, f)
		r.mu.Unlock()
		err = w.tr.Submit(ctx, tx)
		if err == nil {
			r.submitted.Add(1)
			nonce++
			continue
		}
		r.mu.Lock()
		if r.index[h] == f {
			delete(r.index, h)
			w.abandonFrom(nonce) // f is the last one
		}
		r.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		r.refuse(err)
		r.recover(ctx, w, &nonce, err)
	}
}

// waitSlot waits until the worker has room in its window. It returns false if nothing
// of the worker's committed for StallTimeout.
func (r *run) waitSlot(w *worker) bool {
	var stall <-chan time.Time
	for {
		r.mu.Lock()
		n := w.inflight
		r.mu.Unlock()
		if n < r.cfg.Window {
			return true
		}
		if stall == nil {
			t := time.NewTimer(StallTimeout)
			defer t.Stop()
			stall = t.C
		}
		select {
		case <-w.wake:
		case <-r.stopSubmit:
			return true
		case <-stall:
			return false
		}
	}
}

// refuse counts a refused submission.
func (r *run) refuse(err error) {
	r.refused.Add(1)
	reason := reasonOf(err)
	r.mu.Lock()
	r.refusedBy[reason]++
	r.mu.Unlock()
}

// reasonOf returns the RefusedError's reason, or a short form of a transport error.
func reasonOf(err error) string {
	var re *RefusedError
	if errors.As(err, &re) {
		return re.Reason
	}
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 && len(s)-i > 10 {
		s = s[i+2:] // the innermost cause, e.g. "connection refused"
	}
	if len(s) > 60 {
		s = s[:60]
	}
	return "error: " + s
}

// expectedRE finds the nonce a Lian node expected in a bad_nonce refusal ("nonce 7 of
// 0x...: expected 5 (replayed or out of order)").
var expectedRE = regexp.MustCompile(`expected (\d+)`)

// recover brings a worker back after a refusal (cause) or, with cause nil, after a
// stall. A bad nonce is resumed from the nonce the node expected (its mempool state),
// and what the worker had in flight from that nonce on leaves its window; other
// refusals back off until one of the worker's transactions commits (at most 100 ms) and
// retry the same nonce; a stall, or a bad nonce without the expected one, re-reads the
// nonce from the last committed state and empties the window.
func (r *run) recover(ctx context.Context, w *worker, nonce *uint64, cause error) {
	var re *RefusedError
	badNonce := errors.As(cause, &re) && re.Reason == errcode.BadNonce.String()
	if badNonce {
		if m := expectedRE.FindStringSubmatch(re.Msg); m != nil {
			if n, err := strconv.ParseUint(m[1], 10, 64); err == nil {
				r.mu.Lock()
				w.abandonFrom(n)
				r.mu.Unlock()
				*nonce = n
				return
			}
		}
	}
	if cause != nil {
		select {
		case <-w.wake:
		case <-time.After(100 * time.Millisecond):
		case <-r.stopSubmit:
		case <-ctx.Done():
		}
		if !badNonce {
			return
		}
	}
	n, err := w.src.Sync(ctx, *nonce)
	if err != nil {
		r.refuse(fmt.Errorf("read nonce: %w", err))
		return
	}
	r.mu.Lock()
	w.abandonFrom(0)
	r.mu.Unlock()
	*nonce = n
}

// watchCallTimeout bounds one call of the watcher: a call that hangs (a node busy with a
// long recheck, a connection the server dropped) is abandoned and made again, instead of
// hiding every commit until the HTTP client's own timeout.
const watchCallTimeout = 5 * time.Second

// watch polls the latest height and hands every new block's hashes to commit.
func (r *run) watch(ctx context.Context, tr Transport, last int64) {
	t := time.NewTicker(r.cfg.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, watchCallTimeout)
		h, err := tr.LatestHeight(pctx)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				r.watchErrs.Add(1)
			}
			continue
		}
		for next := last + 1; next <= h; next++ {
			pctx, cancel := context.WithTimeout(ctx, watchCallTimeout)
			hashes, err := tr.BlockTxs(pctx, next)
			cancel()
			if err != nil {
				if ctx.Err() == nil {
					r.watchErrs.Add(1)
				}
				break
			}
			now := time.Now()
			r.commit(next, hashes, now)
			if r.cfg.OnBlock != nil {
				r.cfg.OnBlock(next, len(hashes), now)
			}
			last = next
		}
	}
}

// commit records a block seen at now.
func (r *run) commit(height int64, hashes []txs.Hash, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lastHeight = height
	inWindow := !now.Before(r.measureStart) && now.Before(r.end)
	if inWindow {
		r.blocks++
		r.blockTxs += int64(len(hashes))
	}
	for _, h := range hashes {
		f, ok := r.index[h]
		if !ok {
			continue
		}
		delete(r.index, h)
		r.committedTotal++
		if inWindow {
			r.committedWin++
		}
		if !f.sent.Before(r.measureStart) && f.sent.Before(r.end) {
			r.lat = append(r.lat, now.Sub(f.sent))
		}
		f.w.committed(f)
	}
}

// progress prints a line every 5 seconds.
func (r *run) progress(ctx context.Context, out io.Writer) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			r.mu.Lock()
			committed, pending, height := r.committedTotal, len(r.index), r.lastHeight
			r.mu.Unlock()
			fmt.Fprintf(out, "  %s t=%2.0fs submitted=%d committed=%d in-flight=%d refused=%d height=%d load=%s\n",
				r.cfg.Label, now.Sub(r.start).Seconds(), r.submitted.Load(), committed, pending, r.refused.Load(), height, LoadAvg())
		}
	}
}

// FormatRefusals returns "reason=count, ..." sorted by count, for printing.
func FormatRefusals(m map[string]int64) string {
	type kv struct {
		k string
		v int64
	}
	var all []kv
	for k, v := range m {
		all = append(all, kv{k, v})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v > all[j].v || all[i].v == all[j].v && all[i].k < all[j].k })
	parts := make([]string, len(all))
	for i, e := range all {
		parts[i] = fmt.Sprintf("%s=%d", e.k, e.v)
	}
	return strings.Join(parts, ", ")
}
