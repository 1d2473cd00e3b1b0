package bench

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/lianchain/lian/client"
	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/localnet"
	"github.com/lianchain/lian/modules/evidence"
	"github.com/lianchain/lian/node"
	"github.com/lianchain/lian/txs"
)

// The gateway overhead benchmark: the same operations through the gateway and straight
// to a node's CometBFT RPC, on one fresh chain, in one process.

// Defaults of OverheadOptions.
const (
	DefaultOverheadDuration = 10 * time.Second
	DefaultOverheadRounds   = 2
	DefaultQueryConcurrency = 16
	DefaultQueryTxs         = 256
	// OverheadChainID is the chain id of the network Overhead starts.
	OverheadChainID = "bench-gateway-1"
)

// Paths Overhead measures.
const (
	PathGateway = "gateway"
	// PathDirect is the node's CometBFT RPC: tx for lookups, broadcast_tx_sync for
	// submissions.
	PathDirect = "direct"
	// PathDirectTxHeader is a lookup of the same information the gateway's answer
	// carries, straight from the node: tx, then header for the block time (the two RPC
	// calls the gateway makes).
	PathDirectTxHeader = "direct-tx+header"
)

// Parts of Overhead.
const (
	PartQuery  = "query"
	PartSubmit = "submit"
)

// OverheadOptions configure Overhead.
type OverheadOptions struct {
	// Duration is each measurement (one path, one round); default
	// DefaultOverheadDuration. Submission runs add Warmup before and a drain after.
	Duration time.Duration
	Warmup   time.Duration
	// Rounds of measurements; the paths' order alternates from round to round (A B, B A,
	// ...) so that a drift of the machine or of the chain's state affects both paths
	// alike. Default DefaultOverheadRounds.
	Rounds int
	// QueryConcurrency is the number of concurrent lookups (default
	// DefaultQueryConcurrency); QueryTxs the number of committed transactions they look
	// up, in turn (default DefaultQueryTxs).
	QueryConcurrency int
	QueryTxs         int
	// Concurrency is the number of submitting workers (accounts, fresh for each run),
	// default DefaultConcurrency; Window their transactions in flight (default
	// DefaultWindow).
	Concurrency int
	Window      int
	// Validators of the chain (default DefaultValidators) and their node Tuning.
	Validators int
	Tuning     node.Tuning
	// Dir is where the chain's temporary home is made (default os.TempDir()).
	Dir string
	// Only, if PartQuery or PartSubmit, measures that part alone.
	Only string
	// Progress, if not nil, receives progress lines.
	Progress io.Writer
}

// PathStats is one path's figures, over all its rounds.
type PathStats struct {
	Path string `json:"path"`
	// Ops counts the operations completed in Seconds; PerSecond is their rate. For
	// submissions, an operation is a committed transaction (Result.Committed) and Seconds
	// the measured windows.
	Ops       int64   `json:"ops"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"per_second"`
	// Errors counts failed lookups, or refused submissions.
	Errors int64 `json:"errors"`
	// Latency of a lookup, or submit to commit, in milliseconds (p50 is the median of
	// the rounds' medians, p99 and max their maxima).
	P50Ms float64 `json:"p50_ms"`
	P99Ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
	// Rounds are the per-round rates, in the order measured.
	Rounds []float64 `json:"rounds"`
	// CPUPerOpMs is this process's CPU time per operation, in milliseconds: the whole
	// network's cost of an operation, gateway or not, driver included.
	CPUPerOpMs float64 `json:"cpu_per_op_ms"`
}

// PartReport compares the paths of one part.
type PartReport struct {
	Part  string      `json:"part"`
	Paths []PathStats `json:"paths"`
	// Ratio is the gateway's rate over the direct path's: the fraction of the direct
	// throughput the gateway keeps.
	Ratio float64 `json:"ratio"`
	// CPURatio is the direct path's CPU per operation over the gateway's: the fraction of
	// the direct throughput the gateway would keep on a machine the run saturates. It
	// depends less than Ratio on what else the machine runs.
	CPURatio float64 `json:"cpu_ratio"`
}

// OverheadReport is the outcome of Overhead.
type OverheadReport struct {
	Date       time.Time   `json:"date"`
	Machine    Machine     `json:"machine"`
	Validators int         `json:"validators"`
	Node       NodeConfig  `json:"node"`
	LoadBefore string      `json:"load_before"`
	LoadAfter  string      `json:"load_after"`
	Query      *PartReport `json:"query,omitempty"`
	Submit     *PartReport `json:"submit,omitempty"`
}

func (o *OverheadOptions) defaults() error {
	if o.Duration == 0 {
		o.Duration = DefaultOverheadDuration
	}
	if o.Rounds == 0 {
		o.Rounds = DefaultOverheadRounds
	}
	if o.QueryConcurrency == 0 {
		o.QueryConcurrency = DefaultQueryConcurrency
	}
	if o.QueryTxs == 0 {
		o.QueryTxs = DefaultQueryTxs
	}
	if o.Concurrency == 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Validators == 0 {
		o.Validators = DefaultValidators
	}
	if o.Dir == "" {
		o.Dir = os.TempDir()
	}
	switch {
	case o.Duration < 0, o.Warmup < 0:
		return errors.New("bench gateway: negative duration")
	case o.Rounds < 1, o.QueryConcurrency < 1, o.QueryTxs < 1, o.Concurrency < 1, o.Validators < 1:
		return errors.New("bench gateway: rounds, concurrencies, query transactions and validators must be at least 1")
	case o.Warmup > 0 && o.Warmup >= o.Duration:
		return fmt.Errorf("bench gateway: warm-up %v is not shorter than the duration %v", o.Warmup, o.Duration)
	}
	switch o.Only {
	case "", PartQuery, PartSubmit:
	default:
		return fmt.Errorf("bench gateway: unknown part %q: expected %q or %q", o.Only, PartQuery, PartSubmit)
	}
	return nil
}

func (o *OverheadOptions) progress(format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, format+"\n", args...)
	}
}

// order returns the paths in the order of round r: as given in even rounds, reversed in
// odd ones.
func order(paths []string, r int) []string {
	if r%2 == 0 {
		return paths
	}
	out := slices.Clone(paths)
	slices.Reverse(out)
	return out
}

// Overhead starts a fresh chain with its gateway (localnet, in this process) and measures
// the gateway's overhead: GET /v1/chains/{chain}/txs/{hash} against the node's tx RPC
// (and tx + header, the same information), and transaction submission through the
// gateway (POST .../txs?wait=false) against broadcast_tx_sync, as committed transactions
// per second of the driver (Run). Each path runs Rounds times, in alternating order.
func Overhead(ctx context.Context, opts OverheadOptions) (_ *OverheadReport, err error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	dir, net, err := startLocalnet(ctx, opts.Dir, "lian-bench-gateway-", localnet.Options{
		Chains: []string{OverheadChainID}, Validators: opts.Validators, Listen: "127.0.0.1:0", Tuning: opts.Tuning,
	}, opts.progress)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	defer func() {
		opts.progress("stopping")
		if serr := net.Stop(); serr != nil && err == nil {
			err = fmt.Errorf("stop: %w", serr)
		}
	}()
	nd := net.Chains()[0].Nodes[0].Node
	opts.progress("gateway %s, node RPC %s", net.GatewayURL(), nd.RPCURL())
	rep := &OverheadReport{Date: time.Now(), Machine: DescribeMachine(), Validators: opts.Validators,
		Node: nodeConfigOf(nd.Config()), LoadBefore: LoadAvg()}
	conns := max(opts.QueryConcurrency, opts.Concurrency) + 8
	hc := NewHTTPClient(conns)
	defer hc.CloseIdleConnections()
	gw := client.NewWithHTTPClient(net.GatewayURL(), hc)
	rpc, err := rpchttp.NewWithClient(nd.RPCURL(), "/websocket", hc)
	if err != nil {
		return nil, err
	}
	ks, err := crypto.OpenKeystore(filepath.Join(dir, "keys"))
	if err != nil {
		return nil, err
	}
	admin, err := ks.Signer(localnet.DemoKey)
	if err != nil {
		return nil, err
	}

	if opts.Only != PartSubmit {
		if rep.Query, err = overheadQuery(ctx, &opts, gw, rpc, admin); err != nil {
			return nil, fmt.Errorf("query: %w", err)
		}
		quiesceGateway(ctx, gw)
	}
	if opts.Only != PartQuery {
		direct, err := NewRPCTransport(nd.RPCURL(), hc)
		if err != nil {
			return nil, err
		}
		if rep.Submit, err = overheadSubmit(ctx, &opts, NewGatewayTransport(gw, OverheadChainID), direct, admin); err != nil {
			return nil, fmt.Errorf("submit: %w", err)
		}
		quiesce(ctx, direct)
	}
	rep.LoadAfter = LoadAvg()
	return rep, nil
}

// quiesceGateway waits, as quiesce does, until the chain made no block for 1.5 s.
func quiesceGateway(ctx context.Context, c *client.Client) {
	quiesce(ctx, NewGatewayTransport(c, OverheadChainID))
}

// overheadQuery commits QueryTxs anchors with the admin key, then looks them up in turn
// through each path.
func overheadQuery(ctx context.Context, o *OverheadOptions, gw *client.Client, rpc *rpchttp.HTTP, admin crypto.PrivKey) (*PartReport, error) {
	o.progress("query: committing %d transactions to look up", o.QueryTxs)
	s, err := client.NewSender(gw, OverheadChainID, admin)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	tickets := make([]*client.Ticket, o.QueryTxs)
	seed := time.Now().UnixNano()
	for i := range tickets {
		d := sha256.Sum256(fmt.Appendf(nil, "gateway bench %d %d", seed, i))
		m, err := client.NewAnchor(d[:], evidence.HashSHA256, "")
		if err != nil {
			return nil, err
		}
		if tickets[i], err = s.Submit(ctx, m); err != nil {
			return nil, err
		}
	}
	hashes := make([]string, len(tickets))
	last := 0 // the transaction of the highest block
	var lastHeight int64
	for i, t := range tickets {
		res, err := t.Wait(ctx)
		if err != nil {
			return nil, err
		}
		hashes[i] = res.Hash
		if res.Height > lastHeight {
			last, lastHeight = i, res.Height
		}
	}
	raw := make([][]byte, len(hashes))
	for i, h := range hashes {
		b, err := parseTxHash(h)
		if err != nil {
			return nil, err
		}
		raw[i] = b
	}
	// The node indexes a block's transactions just after committing it, in height
	// order, and the Sender may have read the results from another node: wait until
	// this one has indexed the highest block's transaction.
	for deadline := time.Now().Add(10 * time.Second); ; {
		_, err := rpc.Tx(ctx, raw[last], false)
		if err == nil {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("direct lookup: %w", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// One lookup through each path first: all must answer.
	if _, err := gw.Tx(ctx, OverheadChainID, hashes[0]); err != nil {
		return nil, fmt.Errorf("gateway lookup: %w", err)
	}
	if _, err := rpc.Tx(ctx, raw[0], false); err != nil {
		return nil, fmt.Errorf("direct lookup: %w", err)
	}

	lookups := map[string]func(ctx context.Context, i int) error{
		PathGateway: func(ctx context.Context, i int) error {
			_, err := gw.Tx(ctx, OverheadChainID, hashes[i])
			return err
		},
		PathDirect: func(ctx context.Context, i int) error {
			_, err := rpc.Tx(ctx, raw[i], false)
			return err
		},
		PathDirectTxHeader: func(ctx context.Context, i int) error {
			rt, err := rpc.Tx(ctx, raw[i], false)
			if err != nil {
				return err
			}
			_, err = rpc.Header(ctx, &rt.Height)
			return err
		},
	}
	paths := []string{PathDirect, PathGateway, PathDirectTxHeader}
	acc := map[string]*pathAcc{}
	for _, p := range paths {
		acc[p] = &pathAcc{}
	}
	for r := 0; r < o.Rounds; r++ {
		for _, p := range order(paths, r) {
			o.progress("query: round %d, %s: %d concurrent lookups for %v (load %s)", r+1, p, o.QueryConcurrency, o.Duration, LoadAvg())
			m := measureLookups(ctx, o.Duration, o.QueryConcurrency, len(hashes), lookups[p])
			acc[p].add(m)
			o.progress("query: round %d, %s: %.0f lookups/s, p50 %.2f ms, p99 %.2f ms, %d errors", r+1, p, m.perSecond(), ms(m.p50), ms(m.p99), m.errors)
		}
	}
	rep := &PartReport{Part: PartQuery}
	for _, p := range paths {
		rep.Paths = append(rep.Paths, acc[p].stats(p))
	}
	rep.Ratio, rep.CPURatio = ratios(rep.Paths)
	return rep, nil
}

// parseTxHash decodes a hash as the gateway writes it (64 hex digits).
func parseTxHash(h string) ([]byte, error) {
	th, err := txs.ParseHash(h)
	if err != nil {
		return nil, err
	}
	return th[:], nil
}

// lookupRun is one measurement of lookups.
type lookupRun struct {
	ops, errors   int64
	elapsed       time.Duration
	cpu           time.Duration
	p50, p99, max time.Duration
}

func (m lookupRun) perSecond() float64 {
	if m.elapsed <= 0 {
		return 0
	}
	return float64(m.ops) / m.elapsed.Seconds()
}

// measureLookups runs workers concurrent loops of lookup for d, each looking up the
// transactions in turn from its own starting point.
func measureLookups(ctx context.Context, d time.Duration, workers, n int, lookup func(ctx context.Context, i int) error) lookupRun {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		ops, errs atomic.Int64
		mu        sync.Mutex
		lat       []time.Duration
		wg        sync.WaitGroup
	)
	cpu0, start := processCPU(), time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 4096)
			for i := w * n / workers; ctx.Err() == nil; i = (i + 1) % n {
				t0 := time.Now()
				err := lookup(ctx, i)
				if ctx.Err() != nil {
					break // cut by the end of the measurement: not counted
				}
				if err != nil {
					errs.Add(1)
					continue
				}
				ops.Add(1)
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	m := lookupRun{ops: ops.Load(), errors: errs.Load(), elapsed: time.Since(start), cpu: processCPU() - cpu0}
	slices.Sort(lat)
	if len(lat) > 0 {
		m.p50, m.p99, m.max = percentile(lat, 0.50), percentile(lat, 0.99), lat[len(lat)-1]
	}
	return m
}

// pathAcc accumulates one path's rounds.
type pathAcc struct {
	ops, errors int64
	seconds     float64
	cpu         time.Duration
	cpuOps      int64 // the operations cpu was spent on
	p50s        []time.Duration
	p99, max    time.Duration
	rounds      []float64
}

func (a *pathAcc) add(m lookupRun) {
	a.ops += m.ops
	a.errors += m.errors
	a.seconds += m.elapsed.Seconds()
	a.cpu += m.cpu
	a.cpuOps += m.ops
	a.p50s = append(a.p50s, m.p50)
	a.p99, a.max = max(a.p99, m.p99), max(a.max, m.max)
	a.rounds = append(a.rounds, m.perSecond())
}

func (a *pathAcc) stats(path string) PathStats {
	s := PathStats{Path: path, Ops: a.ops, Seconds: a.seconds, Errors: a.errors, P99Ms: ms(a.p99), MaxMs: ms(a.max), Rounds: a.rounds}
	if a.seconds > 0 {
		s.PerSecond = float64(a.ops) / a.seconds
	}
	if len(a.p50s) > 0 {
		p := slices.Clone(a.p50s)
		slices.Sort(p)
		s.P50Ms = ms(p[len(p)/2])
	}
	if a.cpuOps > 0 {
		s.CPUPerOpMs = ms(a.cpu) / float64(a.cpuOps)
	}
	return s
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// ratios returns the gateway's rate over the direct path's, and the direct path's CPU
// per operation over the gateway's.
func ratios(paths []PathStats) (rate, cpu float64) {
	var g, d *PathStats
	for i := range paths {
		switch paths[i].Path {
		case PathGateway:
			g = &paths[i]
		case PathDirect:
			d = &paths[i]
		}
	}
	if g == nil || d == nil {
		return 0, 0
	}
	if d.PerSecond > 0 {
		rate = g.PerSecond / d.PerSecond
	}
	if g.CPUPerOpMs > 0 {
		cpu = d.CPUPerOpMs / g.CPUPerOpMs
	}
	return rate, cpu
}

// overheadSubmit drives the chain with evidence anchors through each path in turn, each
// run with fresh accounts, and compares the committed transactions per second. The
// driver's watcher reads the blocks from the node in both runs (through the gateway, its
// polls of the latest block every 20 ms would cost more than the submissions).
func overheadSubmit(ctx context.Context, o *OverheadOptions, gw, direct Transport, admin crypto.PrivKey) (*PartReport, error) {
	// Blocks and nonces are read from the node in both runs: the runs differ by the
	// submissions alone.
	trs := map[string]Transport{PathGateway: &submitVia{Transport: direct, submit: gw}, PathDirect: direct}
	paths := []string{PathDirect, PathGateway}
	acc := map[string]*pathAcc{}
	for _, p := range paths {
		acc[p] = &pathAcc{}
	}
	for r := 0; r < o.Rounds; r++ {
		for _, p := range order(paths, r) {
			tr := trs[p]
			o.progress("submit: round %d, %s: registering %d accounts", r+1, p, o.Concurrency)
			keys, err := RegisterAccounts(ctx, direct, OverheadChainID, admin, o.Concurrency, gw, direct)
			if err != nil {
				return nil, err
			}
			srcs := make([]TxSource, len(keys))
			for i, k := range keys {
				srcs[i] = NewAnchorSource(tr, OverheadChainID, k)
			}
			o.progress("submit: round %d, %s: %d workers for %v (load %s)", r+1, p, len(srcs), o.Duration, LoadAvg())
			res, err := Run(ctx, Config{Label: p, Transports: []Transport{tr}, Sources: srcs,
				Duration: o.Duration, Warmup: o.Warmup, Window: o.Window, Progress: o.Progress})
			if err != nil {
				return nil, err
			}
			a := acc[p]
			a.ops += res.Committed
			a.errors += res.Refused
			a.seconds += res.MeasuredS
			a.cpu += time.Duration(res.ProcessCPUS * float64(time.Second))
			a.cpuOps += res.CommittedTotal
			a.p50s = append(a.p50s, time.Duration(res.LatencyP50S*float64(time.Second)))
			a.p99 = max(a.p99, time.Duration(res.LatencyP99S*float64(time.Second)))
			a.max = max(a.max, time.Duration(res.LatencyMaxS*float64(time.Second)))
			a.rounds = append(a.rounds, res.TPS)
			o.progress("submit: round %d, %s: %.0f committed tx/s, p50 %.2f s, p99 %.2f s, %d refused, %d never committed, %d failed block polls, heights %d to %d",
				r+1, p, res.TPS, res.LatencyP50S, res.LatencyP99S, res.Refused, res.Lost, res.WatchErrors, res.FirstHeight, res.LastHeight)
			quiesce(ctx, direct)
		}
	}
	rep := &PartReport{Part: PartSubmit}
	for _, p := range paths {
		rep.Paths = append(rep.Paths, acc[p].stats(p))
	}
	rep.Ratio, rep.CPURatio = ratios(rep.Paths)
	return rep, nil
}

// WriteText writes the gateway overhead comparison for people to read.
func (rep *OverheadReport) WriteText(w io.Writer) {
	m := rep.Machine
	fmt.Fprintf(w, "machine: %d CPUs (GOMAXPROCS %d), %s, %s RAM, %s %s; %s\n",
		m.CPUs, m.GOMAXPROCS, m.CPUModel, m.MemTotal, m.GoVersion, m.OSArch, rep.Date.Format("2006-01-02 15:04:05 MST"))
	if m.Revision != "" {
		fmt.Fprintf(w, "revision: %s\n", m.Revision)
	}
	fmt.Fprintf(w, "chain: %d validators in this process, commit %s, mempool %d, indexer %s; load before %s, after %s\n",
		rep.Validators, rep.Node.TimeoutCommit, rep.Node.MempoolSize, rep.Node.Indexer, rep.LoadBefore, rep.LoadAfter)
	for _, part := range []*PartReport{rep.Query, rep.Submit} {
		if part == nil {
			continue
		}
		unit := "lookups/s"
		title := "GET /v1/chains/{chain}/txs/{hash} vs the node's tx RPC"
		latency := "lookup"
		if part.Part == PartSubmit {
			unit, latency = "committed tx/s", "submit to commit"
			title = "POST /v1/chains/{chain}/txs?wait=false vs broadcast_tx_sync (evidence anchors)"
		}
		fmt.Fprintf(w, "\n%s\n", title)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "path\t%s\trounds\t%s p50\tp99\tmax\terrors\tcpu ms/op\t\n", unit, latency)
		for _, p := range part.Paths {
			rounds := make([]string, len(p.Rounds))
			for i, r := range p.Rounds {
				rounds[i] = fmt.Sprintf("%.0f", r)
			}
			fmt.Fprintf(tw, "%s\t%.1f\t%s\t%.2f ms\t%.2f ms\t%.2f ms\t%d\t%.3f\t\n", p.Path, p.PerSecond, strings.Join(rounds, " "), p.P50Ms, p.P99Ms, p.MaxMs, p.Errors, p.CPUPerOpMs)
		}
		tw.Flush()
		fmt.Fprintf(w, "ratio gateway/direct: %.2f of the throughput; %.2f by CPU per operation (direct/gateway)\n", part.Ratio, part.CPURatio)
	}
}

// submitVia is a transport that submits through another transport.
type submitVia struct {
	Transport
	submit Transport
}

// Submit implements Transport through the other transport.
func (t *submitVia) Submit(ctx context.Context, tx []byte) error { return t.submit.Submit(ctx, tx) }
