package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/localnet"
	"github.com/lianchain/lian/node"
)

// Defaults of CompareOptions.
const (
	DefaultConcurrency = 16
	DefaultValidators  = 4
	// LianChainID and BaselineChainID are the chain ids of the networks Compare starts.
	LianChainID     = "bench-lian-1"
	BaselineChainID = "bench-baseline-1"
)

// Systems Compare can run.
const (
	SystemLian     = "lian"
	SystemBaseline = "baseline"
)

// CompareOptions configure Compare.
type CompareOptions struct {
	// Duration and Warmup of each run (defaults DefaultDuration, DefaultWarmup).
	Duration time.Duration
	Warmup   time.Duration
	// Concurrency is the number of workers (accounts) of each run (default
	// DefaultConcurrency); LianConcurrency and BaselineConcurrency override it for one
	// system.
	Concurrency         int
	LianConcurrency     int
	BaselineConcurrency int
	// Window bounds each worker's transactions in flight (default DefaultWindow).
	Window int
	// Validators of each network (default DefaultValidators).
	Validators int
	// Tuning is the node configuration of both networks (zero value: node's defaults).
	Tuning node.Tuning
	// Dir is where the networks' temporary homes are made (default os.TempDir()); they
	// are removed afterwards.
	Dir string
	// Only, if set to SystemLian or SystemBaseline, runs that system alone.
	Only string
	// Rounds is how many times each system runs (default 1), Lian first in odd rounds and
	// the baseline first in even ones; the report's figures are the round with the
	// median ratio, and Rounds lists them all. Runs on one machine vary by several
	// percent: more rounds give a ratio one can trust.
	Rounds int
	// CPUProfile and BaselineCPUProfile, if not nil, receive a CPU profile (pprof) of the
	// whole process during the first Lian run and the first baseline run respectively.
	CPUProfile         io.Writer
	BaselineCPUProfile io.Writer
	// Progress, if not nil, receives progress lines.
	Progress io.Writer
}

// NodeConfig is the part of a node's configuration that matters for throughput, as the
// nodes of a run were started with.
type NodeConfig struct {
	TimeoutCommit string `json:"timeout_commit"`
	GossipSleep   string `json:"gossip_sleep"`
	MempoolSize   int    `json:"mempool_size"`
	Recheck       bool   `json:"recheck"`
	Indexer       string `json:"indexer"`
	DBBackend     string `json:"db_backend"`
}

func nodeConfigOf(c *cmtcfg.Config) NodeConfig {
	return NodeConfig{
		TimeoutCommit: c.Consensus.TimeoutCommit.String(),
		GossipSleep:   c.Consensus.PeerGossipSleepDuration.String(),
		MempoolSize:   c.Mempool.Size,
		Recheck:       c.Mempool.Recheck,
		Indexer:       c.TxIndex.Indexer,
		DBBackend:     c.DBBackend,
	}
}

// SystemReport is one system's part of a Report.
type SystemReport struct {
	*Result
	Validators int        `json:"validators"`
	Node       NodeConfig `json:"node"`
}

// Report is the outcome of Compare.
type Report struct {
	Date     time.Time     `json:"date"`
	Machine  Machine       `json:"machine"`
	Lian     *SystemReport `json:"lian,omitempty"`
	Baseline *SystemReport `json:"baseline,omitempty"`
	// Ratio is Lian's committed tx/s over the baseline's (0 unless both ran); with
	// several rounds, the median round's, which Lian and Baseline are.
	Ratio float64 `json:"ratio,omitempty"`
	// Rounds holds every round, in order, when there were several.
	Rounds []Round `json:"rounds,omitempty"`
}

// Round is one run of each system.
type Round struct {
	Lian     *SystemReport `json:"lian,omitempty"`
	Baseline *SystemReport `json:"baseline,omitempty"`
	Ratio    float64       `json:"ratio,omitempty"`
	// CPURatio is the baseline's CPU per committed transaction over Lian's: the ratio
	// of throughputs the two would have on the same CPU, less noisy than Ratio.
	CPURatio float64 `json:"cpu_ratio,omitempty"`
}

func (o *CompareOptions) defaults() error {
	if o.Concurrency == 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.LianConcurrency == 0 {
		o.LianConcurrency = o.Concurrency
	}
	if o.BaselineConcurrency == 0 {
		o.BaselineConcurrency = o.Concurrency
	}
	if o.Concurrency < 1 || o.LianConcurrency < 1 || o.BaselineConcurrency < 1 {
		return fmt.Errorf("bench: concurrency must be at least 1")
	}
	if o.Validators == 0 {
		o.Validators = DefaultValidators
	}
	if o.Validators < 1 {
		return fmt.Errorf("bench: %d validators: expected at least 1", o.Validators)
	}
	if o.Rounds == 0 {
		o.Rounds = 1
	}
	if o.Rounds < 1 || o.Rounds > MaxRounds {
		return fmt.Errorf("bench: %d rounds: expected 1 to %d", o.Rounds, MaxRounds)
	}
	switch o.Only {
	case "", SystemLian, SystemBaseline:
	default:
		return fmt.Errorf("bench: unknown system %q: expected %q or %q", o.Only, SystemLian, SystemBaseline)
	}
	if o.Dir == "" {
		o.Dir = os.TempDir()
	}
	return nil
}

func (o *CompareOptions) progress(format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, format+"\n", args...)
	}
}

func (o *CompareOptions) runConfig(label string, trs []Transport, srcs []TxSource, nodes []*node.Node) Config {
	return Config{Label: label, Transports: trs, Sources: srcs, Duration: o.Duration, Warmup: o.Warmup, Window: o.Window, Progress: o.Progress, Nodes: nodes}
}

// MaxRounds bounds CompareOptions.Rounds and XChainOptions.Rounds.
const MaxRounds = 20

// Compare runs, one after the other in this process, a fresh Lian chain and a fresh
// CometBFT network with BaselineApp (same validators, same node tuning), drives each over
// CometBFT RPC with the same driver, and reports both and their ratio. Each network is
// stopped and its home removed before the next starts, so each has the whole machine.
func Compare(ctx context.Context, opts CompareOptions) (*Report, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	rep := &Report{Date: time.Now(), Machine: DescribeMachine()}
	var rounds []Round
	for i := 0; i < opts.Rounds; i++ {
		o := opts
		if i > 0 {
			o.CPUProfile, o.BaselineCPUProfile = nil, nil
		}
		if opts.Rounds > 1 {
			o.progress("round %d of %d", i+1, opts.Rounds)
		}
		r, err := compareRound(ctx, &o, i%2 == 1)
		if err != nil {
			if opts.Rounds > 1 {
				return nil, fmt.Errorf("round %d: %w", i+1, err)
			}
			return nil, err
		}
		rounds = append(rounds, r)
	}
	if len(rounds) > 1 {
		rep.Rounds = rounds
	}
	med := medianRound(rounds)
	rep.Lian, rep.Baseline, rep.Ratio = med.Lian, med.Baseline, med.Ratio
	return rep, nil
}

// medianRound returns the round with the median ratio (the lower middle one for an even
// count), or the median throughput when one system ran.
func medianRound(rounds []Round) Round { return lowerMedian(rounds, Round.key) }

// lowerMedian returns the element of xs (not empty) with the median key: the lower
// middle one for an even count, the first in xs of equal keys.
func lowerMedian[T any](xs []T, key func(T) float64) T {
	sorted := slices.Clone(xs)
	slices.SortStableFunc(sorted, func(a, b T) int { return cmp.Compare(key(a), key(b)) })
	return sorted[(len(sorted)-1)/2]
}

// key orders rounds for the median: by ratio, or by throughput when one system ran.
func (r Round) key() float64 {
	switch {
	case r.Lian != nil && r.Baseline != nil:
		return r.Ratio
	case r.Lian != nil:
		return r.Lian.TPS
	case r.Baseline != nil:
		return r.Baseline.TPS
	}
	return 0
}

// compareRound runs each system once, the baseline first if baselineFirst.
func compareRound(ctx context.Context, o *CompareOptions, baselineFirst bool) (Round, error) {
	var r Round
	runLian := func() error {
		if o.Only == SystemBaseline {
			return nil
		}
		res, err := compareLian(ctx, o)
		if err != nil {
			return fmt.Errorf("lian: %w", err)
		}
		r.Lian = res
		return nil
	}
	runBaseline := func() error {
		if o.Only == SystemLian {
			return nil
		}
		res, err := compareBaseline(ctx, o)
		if err != nil {
			return fmt.Errorf("baseline: %w", err)
		}
		r.Baseline = res
		return nil
	}
	order := []func() error{runLian, runBaseline}
	if baselineFirst {
		order[0], order[1] = runBaseline, runLian
	}
	for _, run := range order {
		if err := run(); err != nil {
			return r, err
		}
	}
	if r.Lian != nil && r.Baseline != nil && r.Baseline.TPS > 0 {
		r.Ratio = r.Lian.TPS / r.Baseline.TPS
		if r.Lian.CPUPerTxMs > 0 {
			r.CPURatio = r.Baseline.CPUPerTxMs / r.Lian.CPUPerTxMs
		}
	}
	return r, nil
}

// profiled runs fn with a CPU profile written to w (if not nil).
func profiled(w io.Writer, fn func() (*Result, error)) (*Result, error) {
	if w == nil {
		return fn()
	}
	if err := pprof.StartCPUProfile(w); err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	res, err := fn()
	pprof.StopCPUProfile()
	return res, err
}

func compareLian(ctx context.Context, o *CompareOptions) (_ *SystemReport, err error) {
	dir, net, err := startLocalnet(ctx, o.Dir, "lian-bench-lian-", localnet.Options{
		Chains: []string{LianChainID}, Validators: o.Validators, Listen: "127.0.0.1:0", Tuning: o.Tuning,
	}, func(f string, a ...any) { o.progress("lian: "+f, a...) })
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	defer func() {
		o.progress("lian: stopping")
		if serr := net.Stop(); serr != nil && err == nil {
			err = fmt.Errorf("stop: %w", serr)
		}
	}()
	nodes := net.Chains()[0].Nodes
	hc := NewHTTPClient(o.LianConcurrency + 8)
	defer hc.CloseIdleConnections()
	trs := make([]Transport, len(nodes))
	for i, nd := range nodes {
		if trs[i], err = NewRPCTransport(nd.Node.RPCURL(), hc); err != nil {
			return nil, err
		}
	}
	ks, err := crypto.OpenKeystore(filepath.Join(dir, "keys"))
	if err != nil {
		return nil, err
	}
	admin, err := ks.Signer(localnet.DemoKey)
	if err != nil {
		return nil, err
	}
	o.progress("lian: registering %d accounts", o.LianConcurrency)
	keys, err := RegisterAccounts(ctx, trs[0], LianChainID, admin, o.LianConcurrency, trs...)
	if err != nil {
		return nil, err
	}
	srcs := make([]TxSource, len(keys))
	for i, k := range keys {
		srcs[i] = NewAnchorSource(trs[i%len(trs)], LianChainID, k)
	}
	o.progress("lian: driving %d workers for %v", len(srcs), durationOr(o.Duration, DefaultDuration))
	res, err := profiled(o.CPUProfile, func() (*Result, error) {
		return Run(ctx, o.runConfig(SystemLian, trs, srcs, nodesOf(net.Chains()[0])))
	})
	if err != nil {
		return nil, err
	}
	quiesce(ctx, trs[0])
	return &SystemReport{Result: res, Validators: o.Validators, Node: nodeConfigOf(nodes[0].Node.Config())}, nil
}

func compareBaseline(ctx context.Context, o *CompareOptions) (_ *SystemReport, err error) {
	var (
		dir   string
		nodes []*node.Node
	)
	for attempt := 1; ; attempt++ {
		dir, nodes, err = startBaseline(ctx, o)
		if err == nil {
			break
		}
		if !addrInUse(err) || attempt == startAttempts {
			return nil, err
		}
		o.progress("baseline: %v; retrying with other ports", err)
	}
	defer os.RemoveAll(dir)
	defer func() {
		o.progress("baseline: stopping")
		if serr := stopNodes(nodes); serr != nil && err == nil {
			err = fmt.Errorf("stop: %w", serr)
		}
	}()
	hc := NewHTTPClient(o.BaselineConcurrency + 8)
	defer hc.CloseIdleConnections()
	trs := make([]Transport, len(nodes))
	for i, n := range nodes {
		if trs[i], err = NewRPCTransport(n.RPCURL(), hc); err != nil {
			return nil, err
		}
	}
	srcs := make([]TxSource, o.BaselineConcurrency)
	for i := range srcs {
		srcs[i] = NewBaselineSource()
	}
	o.progress("baseline: driving %d workers for %v", len(srcs), durationOr(o.Duration, DefaultDuration))
	res, err := profiled(o.BaselineCPUProfile, func() (*Result, error) {
		return Run(ctx, o.runConfig(SystemBaseline, trs, srcs, nodes))
	})
	if err != nil {
		return nil, err
	}
	quiesce(ctx, trs[0])
	return &SystemReport{Result: res, Validators: o.Validators, Node: nodeConfigOf(nodes[0].Config())}, nil
}

// quiesce waits (at most 10 s) until no block was made for 1.5 s. Stopping in-process
// CometBFT v0.40 nodes while consensus is busy can panic: the consensus reactor's
// queryMaj23Routine is not waited for on stop and may read the block store after
// Node.OnStop closed it ("leveldb: closed"); an idle network makes that unlikely.
func quiesce(ctx context.Context, tr Transport) {
	deadline := time.Now().Add(10 * time.Second)
	last, changed := int64(-1), time.Now()
	for time.Now().Before(deadline) && ctx.Err() == nil {
		h, err := tr.LatestHeight(ctx)
		if err != nil {
			return
		}
		if h != last {
			last, changed = h, time.Now()
		} else if time.Since(changed) >= 1500*time.Millisecond {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startAttempts is how many times Compare tries to start a baseline network whose
// ports were taken between picking them (node.FreePorts) and binding them
// (localnet.Start does the same for Lian's).
const startAttempts = 3

// startLocalnet starts a localnet in a fresh directory under parent (named by
// pattern). On error nothing is left running or on disk; otherwise the caller removes
// dir after stopping the network.
func startLocalnet(ctx context.Context, parent, pattern string, opts localnet.Options, progress func(string, ...any)) (dir string, net *localnet.Network, err error) {
	if dir, err = os.MkdirTemp(parent, pattern); err != nil {
		return "", nil, err
	}
	progress("starting a %d-validator chain in %s", opts.Validators, dir)
	opts.Home = dir
	if net, err = localnet.Start(ctx, opts); err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	return dir, net, nil
}

func addrInUse(err error) bool {
	return err != nil && strings.Contains(err.Error(), "address already in use")
}

// startBaseline writes a fresh baseline network in a new directory under o.Dir, starts
// its nodes with BaselineApp and waits until they are ready. On error nothing is left
// running or on disk.
func startBaseline(ctx context.Context, o *CompareOptions) (string, []*node.Node, error) {
	dir, err := os.MkdirTemp(o.Dir, "lian-bench-baseline-")
	if err != nil {
		return "", nil, err
	}
	var nodes []*node.Node
	fail := func(err error) (string, []*node.Node, error) {
		_ = stopNodes(nodes)
		os.RemoveAll(dir)
		return "", nil, err
	}
	o.progress("baseline: starting a %d-validator network in %s", o.Validators, dir)
	vals, err := node.InitNetwork(node.NetworkSpec{
		ChainID:    BaselineChainID,
		Dir:        dir,
		Validators: o.Validators,
		Tuning:     o.Tuning,
	})
	if err != nil {
		return fail(err)
	}
	for _, v := range vals {
		n, err := node.Start(v.Home, NewBaselineApp(), nil)
		if err != nil {
			return fail(err)
		}
		nodes = append(nodes, n)
	}
	for _, n := range nodes {
		if err := n.WaitReady(ctx); err != nil {
			return fail(err)
		}
	}
	return dir, nodes, nil
}

func stopNodes(nodes []*node.Node) error {
	var errs []error
	for _, n := range nodes {
		errs = append(errs, n.Stop())
	}
	return errors.Join(errs...)
}

func durationOr(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}
