package gateway

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	cmtbytes "github.com/cometbft/cometbft/libs/bytes"
	"github.com/cometbft/cometbft/types"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lianchain/lian/errcode"
)

// Metrics (GET /metrics, Prometheus text format) come from a registry of the gateway's
// own: the gateway's requests, measured as they are served, and the chains' state,
// polled from the nodes' RPC in the background every MetricsPollInterval once /metrics
// was first asked for (a gateway nobody scrapes polls nothing). Each poll asks every node
// for its status and mempool size, and reads the blocks committed since the previous
// poll (at most metricsMaxBlocks) through the block cache the event streams share.

// MetricsPollInterval is how often the chain metrics are polled.
const MetricsPollInterval = 5 * time.Second

// metricsMaxBlocks bounds the blocks one poll reads; a collector further behind skips to
// the latest ones (counted in lian_collector_blocks_skipped_total).
const metricsMaxBlocks = 100

// metricsFirstPoll bounds how long the first scrape waits for the first poll.
const metricsFirstPoll = 10 * time.Second

// routeUnmatched is the route label of requests no route matched.
const routeUnmatched = "unmatched"

// routeEvents is the pattern of the event stream, whose requests last as long as the
// stream: they are counted but kept out of the latency histogram.
const routeEvents = "GET /v1/chains/{chain}/events"

// observer holds what the gateway follows beyond single requests: the chains (tips,
// recent blocks, readiness), the event streams and the metrics.
type observer struct {
	g         *Gateway
	chains    map[string]*obsChain
	streams   chan struct{} // one token per open event stream
	heartbeat time.Duration
	metrics   *obsMetrics

	pollEvery time.Duration
	pollOnce  sync.Once
	polled    chan struct{} // closed after the first poll

	shutMu    sync.Mutex
	shutdowns map[*http.Server]context.Context // see serverShutdown
}

func newObserver(g *Gateway) *observer {
	o := &observer{
		g:         g,
		chains:    map[string]*obsChain{},
		streams:   make(chan struct{}, MaxEventStreams),
		heartbeat: EventHeartbeat,
		metrics:   newObsMetrics(),
		pollEvery: MetricsPollInterval,
		polled:    make(chan struct{}),
		shutdowns: map[*http.Server]context.Context{},
	}
	for id, c := range g.chains {
		o.chains[id] = newObsChain(c, g.life)
	}
	return o
}

// obsMetrics are the gateway's metrics, in a registry of its own.
type obsMetrics struct {
	reg     *prometheus.Registry
	handler http.Handler
	lian    []prometheus.Collector // the lian_* metrics

	requests *prometheus.CounterVec   // route, status
	latency  *prometheus.HistogramVec // route, status
	inFlight prometheus.Gauge
	streams  *prometheus.GaugeVec // chain

	nodeUp        *prometheus.GaugeVec // chain, node
	nodeHeight    *prometheus.GaugeVec
	nodeCatching  *prometheus.GaugeVec
	mempoolTxs    *prometheus.GaugeVec
	mempoolBytes  *prometheus.GaugeVec
	height        *prometheus.GaugeVec // chain
	blockTime     *prometheus.GaugeVec
	ready         *prometheus.GaugeVec
	blocks        *prometheus.CounterVec
	blockInterval *prometheus.HistogramVec
	txs           *prometheus.CounterVec // chain, module, code
	gas           *prometheus.CounterVec // chain
	commitMissing *prometheus.GaugeVec   // chain
	commitVals    *prometheus.GaugeVec   // chain
	missed        *prometheus.CounterVec // chain, validator
	pollErrors    *prometheus.CounterVec // chain
	skipped       *prometheus.CounterVec // chain
}

func newObsMetrics() *obsMetrics {
	reg := prometheus.NewRegistry()
	m := &obsMetrics{reg: reg}
	chainNode := []string{"chain", "node"}
	chainOnly := []string{"chain"}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lian_gateway_requests_total",
		Help: "Requests served, by route pattern and HTTP status."}, []string{"route", "status"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lian_gateway_request_duration_seconds",
		Help:    "Time to answer a request, by route pattern and HTTP status (event streams excluded).",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}, []string{"route", "status"})
	m.inFlight = prometheus.NewGauge(prometheus.GaugeOpts{Name: "lian_gateway_requests_in_flight",
		Help: "Requests being served, event streams included."})
	m.streams = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "lian_gateway_event_streams",
		Help: "Open event streams."}, chainOnly)
	m.nodeUp = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "lian_node_up",
		Help: "1 if the node answered its status at the last poll, else 0."}, chainNode)
	m.nodeHeight = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "lian_node_height",
		Help: "The node's latest block height."}, chainNode)
	m.nodeCatching = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "lian_node_catching_up",
		Help: "1 if the node is catching up (block sync), else 0."}, chainNode)
	m.mempoolTxs = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "lian_node_mempool_txs",
		Help: "Transactions in the node's mempool (num_unconfirmed_txs)."}, chainNode)
	m.mempoolBytes = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "lian_node_mempool_bytes",
		Help: "Bytes of the transactions in the node's mempool."}, chainNode)
	m.height = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "lian_chain_height",
		Help: "The highest block height of the chain's nodes that are not catching up."}, chainOnly)
	m.blockTime = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "lian_chain_block_timestamp_seconds",
		Help: "Time of the latest block read (Unix seconds)."}, chainOnly)
	m.ready = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "lian_chain_ready",
		Help: "1 if the chain passed the readiness rule of /readyz at the last poll, else 0."}, chainOnly)
	m.blocks = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lian_blocks_total",
		Help: "Blocks read since the collector started."}, chainOnly)
	m.blockInterval = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lian_block_interval_seconds",
		Help:    "Time between consecutive blocks (block header times).",
		Buckets: []float64{.1, .25, .5, 1, 2, 3, 5, 10, 20, 30, 45, 60, 120, 300}}, chainOnly)
	m.txs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lian_txs_total",
		Help: "Committed transactions, by the module of their messages (multi: several; unknown: undecodable) and result code name."},
		[]string{"chain", "module", "code"})
	m.gas = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lian_gas_used_total",
		Help: "Sum of the gas_used of committed transaction results."}, chainOnly)
	m.commitMissing = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "lian_commit_signatures_missing",
		Help: "Validators whose signature is missing from the latest commit read (absent or nil vote)."}, chainOnly)
	m.commitVals = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "lian_commit_validators",
		Help: "Validators in the set that signed the latest commit read."}, chainOnly)
	m.missed = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lian_validator_missed_signatures_total",
		Help: "Commits read that lack the validator's signature, by validator address."}, []string{"chain", "validator"})
	m.pollErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lian_collector_errors_total",
		Help: "Polls of the chain that failed (no node answered, or a block could not be read)."}, chainOnly)
	m.skipped = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lian_collector_blocks_skipped_total",
		Help: "Blocks the collector did not read because it was too far behind."}, chainOnly)
	m.lian = []prometheus.Collector{m.requests, m.latency, m.inFlight, m.streams, m.nodeUp, m.nodeHeight,
		m.nodeCatching, m.mempoolTxs, m.mempoolBytes, m.height, m.blockTime, m.ready, m.blocks, m.blockInterval,
		m.txs, m.gas, m.commitMissing, m.commitVals, m.missed, m.pollErrors, m.skipped}
	reg.MustRegister(m.lian...)
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError, MaxRequestsInFlight: 4})
	return m
}

// serveMetrics is GET /metrics. The first request starts the chain collector and waits
// (a bounded time) for its first poll.
func (g *Gateway) serveMetrics(w http.ResponseWriter, r *http.Request) {
	o := g.obs
	o.startCollector()
	t := time.NewTimer(metricsFirstPoll)
	defer t.Stop()
	select {
	case <-o.polled:
	case <-r.Context().Done():
		return
	case <-t.C:
	}
	o.metrics.handler.ServeHTTP(w, r)
}

// instrument counts the requests next serves and measures their latency, by route
// pattern and status.
func (g *Gateway) instrument(next http.Handler) http.Handler {
	m := g.obs.metrics
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		_, route := g.mux.Handler(r)
		m.inFlight.Inc()
		rec := &metricsWriter{ResponseWriter: w}
		defer func() {
			m.inFlight.Dec()
			p := recover()
			status := rec.status
			if p != nil && p != http.ErrAbortHandler {
				status = http.StatusInternalServerError
			} else if status == 0 {
				status = http.StatusOK
			}
			if !strings.Contains(route, " ") { // "METHOD /path": a route, not a redirect
				route = routeUnmatched
			}
			code := strconv.Itoa(status)
			m.requests.WithLabelValues(route, code).Inc()
			if route != routeEvents {
				m.latency.WithLabelValues(route, code).Observe(time.Since(start).Seconds())
			}
			if p != nil {
				panic(p)
			}
		}()
		next.ServeHTTP(rec, r)
	})
}

// metricsWriter records the status of a response. It passes Flush through and unwraps
// for http.ResponseController (event streams set write deadlines).
type metricsWriter struct {
	http.ResponseWriter
	status int
}

func (w *metricsWriter) WriteHeader(status int) {
	if w.status == 0 && status >= 200 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *metricsWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *metricsWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *metricsWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// startCollector starts polling the chains, once.
func (o *observer) startCollector() {
	o.pollOnce.Do(func() { go o.collect(o.g.life) })
}

// collect polls every chain every pollEvery until ctx ends.
func (o *observer) collect(ctx context.Context) {
	states := map[string]*collectState{}
	for id := range o.chains {
		states[id] = &collectState{vals: map[string][]string{}}
	}
	t := time.NewTicker(o.pollEvery)
	defer t.Stop()
	first := true
	for {
		var wg sync.WaitGroup
		for id, hub := range o.chains {
			wg.Go(func() { o.pollChain(ctx, hub, states[id]) })
		}
		wg.Wait()
		if first {
			close(o.polled)
			first = false
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// collectState is what the collector remembers of a chain between polls.
type collectState struct {
	next       int64 // the next height to read; 0 before the first poll
	prevHeight int64 // the last block read
	prevTime   time.Time
	prevVals   string              // its validators_hash
	vals       map[string][]string // validator addresses by validator set hash
}

// nodeStatus is what one poll learnt of a node.
type nodeStatus struct {
	ok       bool
	catching bool
	height   int64
	time     time.Time
}

// pollChain polls the nodes of one chain and reads its new blocks.
func (o *observer) pollChain(ctx context.Context, hub *obsChain, st *collectState) {
	m := o.metrics
	id := hub.c.id
	timeout := min(o.g.rpcTimeout, o.pollEvery)
	nodes := make([]nodeStatus, len(hub.c.nodes))
	var wg sync.WaitGroup
	for i, n := range hub.c.nodes {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			s, err := n.status(ctx)
			if err != nil {
				m.nodeUp.WithLabelValues(id, n.url).Set(0)
				return
			}
			ns := nodeStatus{ok: true, catching: s.SyncInfo.CatchingUp, height: s.SyncInfo.LatestBlockHeight, time: s.SyncInfo.LatestBlockTime}
			nodes[i] = ns
			m.nodeUp.WithLabelValues(id, n.url).Set(1)
			m.nodeHeight.WithLabelValues(id, n.url).Set(float64(ns.height))
			m.nodeCatching.WithLabelValues(id, n.url).Set(boolGauge(ns.catching))
			mp, err := func() (int, error) {
				ctx, cancel := n.ctx(ctx)
				defer cancel()
				res, err := n.rpc.NumUnconfirmedTxs(ctx)
				if err != nil || res == nil {
					return 0, err
				}
				m.mempoolBytes.WithLabelValues(id, n.url).Set(float64(res.TotalBytes))
				return res.Total, nil
			}()
			if err == nil {
				m.mempoolTxs.WithLabelValues(id, n.url).Set(float64(mp))
			}
		})
	}
	wg.Wait()
	var best nodeStatus
	for _, ns := range nodes {
		if ns.ok && !ns.catching && ns.height > best.height {
			best = ns
		}
	}
	if !best.ok {
		m.pollErrors.WithLabelValues(id).Inc()
		m.ready.WithLabelValues(id).Set(0)
		return
	}
	now := time.Now()
	hub.observeTip(best.height)
	ready, _ := hub.judge(best.height, best.time, now)
	m.ready.WithLabelValues(id).Set(boolGauge(ready))
	m.height.WithLabelValues(id).Set(float64(best.height))

	if st.next == 0 {
		st.next = best.height // count from the latest block on
	}
	if behind := best.height - st.next + 1; behind > metricsMaxBlocks {
		m.skipped.WithLabelValues(id).Add(float64(behind - metricsMaxBlocks))
		st.next = best.height - metricsMaxBlocks + 1
	}
	for ; st.next <= best.height; st.next++ {
		b, err := hub.block(ctx, st.next)
		if err != nil {
			if ctx.Err() == nil {
				m.pollErrors.WithLabelValues(id).Inc()
			}
			return
		}
		o.account(ctx, hub, st, b)
	}
}

// account adds block b to the chain metrics.
func (o *observer) account(ctx context.Context, hub *obsChain, st *collectState, b *obsBlock) {
	m := o.metrics
	id := hub.c.id
	m.blocks.WithLabelValues(id).Inc()
	m.blockTime.WithLabelValues(id).Set(float64(b.time.UnixNano()) / 1e9)
	follows := st.prevHeight == b.height-1 && st.prevHeight > 0
	if follows {
		if d := b.time.Sub(st.prevTime); d >= 0 {
			m.blockInterval.WithLabelValues(id).Observe(d.Seconds())
		}
	}
	var gas int64
	for i := range b.txs {
		tx := &b.txs[i]
		m.txs.WithLabelValues(id, tx.module, codeLabel(tx.code, tx.codespace)).Inc()
		if tx.gasUsed > 0 {
			gas += tx.gasUsed
		}
	}
	if gas > 0 {
		m.gas.WithLabelValues(id).Add(float64(gas))
	}
	if c := b.lastCommit; c != nil && len(c.Signatures) > 0 {
		prevVals := ""
		if follows {
			prevVals = st.prevVals
		}
		addrs := o.validatorsAt(ctx, hub, st, b.height-1, prevVals)
		if len(addrs) != len(c.Signatures) {
			addrs = nil // not the set that signed: count, do not attribute
		}
		missing := 0
		for i, s := range c.Signatures {
			if s.BlockIDFlag == types.BlockIDFlagCommit {
				continue
			}
			missing++
			if addrs != nil {
				m.missed.WithLabelValues(id, addrs[i]).Inc()
			}
		}
		m.commitMissing.WithLabelValues(id).Set(float64(missing))
		m.commitVals.WithLabelValues(id).Set(float64(len(c.Signatures)))
	}
	st.prevHeight, st.prevTime, st.prevVals = b.height, b.time, b.valsHash
}

// validatorsAt returns the addresses of the validator set of height, in set order. hash
// is the set's hash if known (then a cached set is used).
func (o *observer) validatorsAt(ctx context.Context, hub *obsChain, st *collectState, height int64, hash string) []string {
	if height < 1 {
		return nil
	}
	if a, ok := st.vals[hash]; ok && hash != "" {
		return a
	}
	var vals []*types.Validator
	err := hub.c.do(ctx, func(ctx context.Context, n *rpcNode) error {
		var err error
		vals, err = n.validators(ctx, height)
		return err
	})
	if err != nil || len(vals) == 0 {
		return nil
	}
	addrs := make([]string, len(vals))
	for i, v := range vals {
		addrs[i] = v.Address.String()
	}
	if len(st.vals) >= 8 {
		clear(st.vals)
	}
	st.vals[cmtbytes.HexBytes((&types.ValidatorSet{Validators: vals}).Hash()).String()] = addrs
	return addrs
}

// codeLabel is the code label of a transaction result: its errcode name ("ok" for 0).
func codeLabel(code uint32, codespace string) string {
	if codespace != "" && codespace != errcode.Codespace {
		return "other"
	}
	if _, ok := errcode.FromName(errcode.Code(code).String()); !ok {
		return "other"
	}
	return errcode.Code(code).String()
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
