package bench

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"text/tabwriter"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	rpclocal "github.com/cometbft/cometbft/rpc/client/local"

	"github.com/lianchain/lian/localnet"
	"github.com/lianchain/lian/modules/attest"
	"github.com/lianchain/lian/modules/xchain"
	"github.com/lianchain/lian/node"
	"github.com/lianchain/lian/relayer"
	"github.com/lianchain/lian/txs"
)

// Defaults of XChainOptions.
const (
	DefaultXChainDuration = 30 * time.Second
	DefaultXChainWarmup   = 5 * time.Second
	DefaultXChainPerTx    = 64
	DefaultXChainWindow   = 4000
	DefaultXChainDrain    = 30 * time.Second
)

// XChainOptions configure the cross-chain benchmark.
type XChainOptions struct {
	// Duration is the sending time, warm-up included; Warmup its start not measured.
	Duration, Warmup time.Duration
	// Validators per chain (default DefaultValidators).
	Validators int
	// Batch is the relayer's messages per transaction (default txs.MaxMessages; the
	// client update counts as one).
	Batch int
	// PerTx is the attestation requests per sending transaction.
	PerTx int
	// Window bounds the packets sent and not yet acknowledged.
	Window int
	// Uncommitted, if positive, bounds the requests submitted and not yet committed on
	// the source (what waits in its mempool and is rechecked after every block).
	Uncommitted int
	// Drain is how long, after sending stops, acknowledgements are still awaited.
	Drain time.Duration
	// PollInterval is the relayer's (default 20 ms).
	PollInterval time.Duration
	// Dir is where the temporary home is made ("": the system's temp dir).
	Dir string
	// Tuning is the nodes' configuration (zero: lian up's).
	Tuning node.Tuning
	// CPUProfile, if not nil, receives a CPU profile of the whole run (all nodes and
	// the relayer run in this process).
	CPUProfile io.Writer
	// Progress, if not nil, receives a line every 5 seconds.
	Progress io.Writer
	// RelayerLog, if not nil, receives the relayer's warnings.
	RelayerLog io.Writer
	// Rounds is how many runs to make, each on fresh chains (default 1, at most
	// MaxRounds). With several, the result is the run with the median
	// throughput, and its Rounds lists every run; CPUProfile covers the first.
	Rounds int
}

// XChainRound is one run of several (XChainOptions.Rounds).
type XChainRound struct {
	PacketsPerSec float64 `json:"packets_per_s"`
	LatencyP50S   float64 `json:"latency_p50_s"`
	BlocksP50     int64   `json:"blocks_p50"`
}

// XChainResult is what the cross-chain benchmark measured.
type XChainResult struct {
	Machine    Machine   `json:"machine"`
	Date       time.Time `json:"date"`
	LoadBefore string    `json:"loadavg_before"`
	LoadAfter  string    `json:"loadavg_after"`
	Validators int       `json:"validators"`
	Recheck    bool      `json:"recheck"`
	// TimeoutCommit and GossipSleep are the nodes' consensus timeout_commit and
	// peer_gossip_sleep_duration.
	TimeoutCommit string `json:"timeout_commit"`
	GossipSleep   string `json:"gossip_sleep"`
	Batch         int    `json:"relayer_batch"`
	PerTx         int    `json:"per_tx"`
	Window        int    `json:"window"`
	// Uncommitted is XChainOptions.Uncommitted (0: no bound).
	Uncommitted int     `json:"uncommitted,omitempty"`
	DurationS   float64 `json:"duration_s"`
	MeasuredS   float64 `json:"measured_s"`
	// Sent counts attestation requests committed on the source chain; Acked those
	// acknowledged (in the measured window: AckedMeasured, at PacketsPerSec).
	Sent          int     `json:"sent"`
	Acked         int     `json:"acked"`
	TimedOut      int     `json:"timed_out"`
	AckedMeasured int     `json:"acked_measured"`
	PacketsPerSec float64 `json:"packets_per_s"`
	// Send-to-ack latency of the packets acknowledged in the measured window, on one
	// clock: from when the bench's watcher (it reads both chains every 20 ms) first
	// read the send's block to when it first read the ack's block.
	LatencyP50S float64 `json:"latency_p50_s"`
	LatencyP99S float64 `json:"latency_p99_s"`
	LatencyMaxS float64 `json:"latency_max_s"`
	// The same, from the block time of the send to the block time of the ack. A
	// CometBFT block's time is that of the votes on the block before it, so on a chain
	// that idles between bursts this understates the latency.
	BlockTimeP50S float64 `json:"block_time_p50_s"`
	BlockTimeP99S float64 `json:"block_time_p99_s"`
	// BlocksP50 and BlocksP99: the ack's height minus the send's height on the source
	// chain (the ack lands that many blocks after the send).
	BlocksP50 int64 `json:"blocks_p50"`
	BlocksP99 int64 `json:"blocks_p99"`
	// The two legs of it, p50 of each, as the bench's watcher saw the blocks (it reads
	// both chains every 20 ms): send block to receive block, receive block to ack
	// block.
	RecvP50S   float64 `json:"recv_p50_s"`
	AckLegP50S float64 `json:"ack_leg_p50_s"`
	// BlockIntervalS is the source chain's mean block interval in the measured window,
	// BlockIntervalMedianS the median of its intervals (an idle chain makes few blocks:
	// the median is its pace while busy); Dest… are the destination's.
	BlockIntervalS           float64 `json:"block_interval_s"`
	BlockIntervalMedianS     float64 `json:"block_interval_median_s"`
	DestBlockIntervalS       float64 `json:"dest_block_interval_s"`
	DestBlockIntervalMedianS float64 `json:"dest_block_interval_median_s"`
	// SourcePhases and DestPhases say where the chains' block intervals went in the
	// measured window.
	SourcePhases BlockPhases `json:"source_phases"`
	DestPhases   BlockPhases `json:"dest_phases"`
	// RelayerTxs are the relayer's transactions by chain/result.
	RelayerTxs map[string]float64 `json:"relayer_txs"`
	SetupS     float64            `json:"setup_s"`
	// Rounds holds every run, in order, when there were several (XChainOptions.Rounds);
	// the other fields are the median run's.
	Rounds []XChainRound `json:"rounds,omitempty"`
}

// xwatch follows a chain's blocks: their times, and the attest requests and
// acknowledgements in them.
type xwatch struct {
	rpc  *rpclocal.Local
	done int64

	mu     sync.Mutex
	times  map[int64]time.Time
	sentAt map[uint64]time.Time // sequence → block time of the send
	acked  map[uint64]time.Time // sequence → block time of the ack
	// sequence → height of the send's and of the ack's block
	sentHeight, ackHeight map[uint64]int64
	timeout               int
	// When this watcher first read the block of a packet's send, receive or ack
	// (sequence → time): the legs of the latency, measured on one clock. Block times do
	// not serve there: a CometBFT block's time is the median of the votes that committed
	// the block before it, so an idle chain's next block can carry a time before the
	// other chain's block that caused it.
	sendSeen, recvSeen, ackSeen map[uint64]time.Time
}

func (w *xwatch) poll(ctx context.Context, route string) error {
	st, err := w.rpc.Status(ctx)
	if err != nil {
		return err
	}
	for h := w.done + 1; h <= st.SyncInfo.LatestBlockHeight; h++ {
		hh := h
		hdr, err := w.rpc.Header(ctx, &hh)
		if err != nil {
			return err
		}
		res, err := w.rpc.BlockResults(ctx, &hh)
		if err != nil {
			return err
		}
		t, now := hdr.Header.Time, time.Now()
		w.mu.Lock()
		w.times[h] = t
		for _, tx := range res.TxsResults {
			for _, e := range tx.Events {
				switch e.Type {
				case attest.EventRequested:
					a := attrMap(e.Attributes)
					if a["route"] == route {
						if seq, err := strconv.ParseUint(a["sequence"], 10, 64); err == nil {
							w.sentAt[seq], w.sendSeen[seq], w.sentHeight[seq] = t, now, h
						}
					}
				case xchain.EventAckPacket, xchain.EventTimeoutPacket, xchain.EventRecvPacket:
					// A packet's id is its source route and sequence, on both chains.
					a := attrMap(e.Attributes)
					r, seq, err := xchain.ParsePacketID(a["packet"])
					if err != nil || r != route {
						continue
					}
					switch e.Type {
					case xchain.EventAckPacket:
						w.acked[seq], w.ackSeen[seq], w.ackHeight[seq] = t, now, h
					case xchain.EventRecvPacket:
						w.recvSeen[seq] = now
					default:
						w.timeout++
					}
				}
			}
		}
		w.done = h
		w.mu.Unlock()
	}
	return nil
}

func attrMap(as []abci.EventAttribute) map[string]string {
	m := make(map[string]string, len(as))
	for _, a := range as {
		m[a.Key] = a.Value
	}
	return m
}

// interval returns the mean and the median of the intervals between the blocks whose
// times are between from and to.
func (w *xwatch) interval(from, to time.Time) (mean, median float64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var ts []time.Time
	for _, t := range w.times {
		if !t.Before(from) && !t.After(to) {
			ts = append(ts, t)
		}
	}
	if len(ts) < 2 {
		return 0, 0
	}
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	gaps := make([]time.Duration, len(ts)-1)
	for i := range gaps {
		gaps[i] = ts[i+1].Sub(ts[i])
	}
	slices.Sort(gaps)
	return ts[len(ts)-1].Sub(ts[0]).Seconds() / float64(len(ts)-1), percentile(gaps, 0.5).Seconds()
}

// XChain starts two chains (xbench-a, xbench-b) of opts.Validators validators with the
// relayer in this process, sends attestation requests from the first to the second,
// PerTx per transaction with at most Window unacknowledged, for Duration, and measures
// the packets delivered and acknowledged per second and their send-to-ack latency.
// With opts.Rounds above 1 it does so that many times and returns the median run.
func XChain(ctx context.Context, opts XChainOptions) (*XChainResult, error) {
	n := max(opts.Rounds, 1)
	if n > MaxRounds {
		return nil, fmt.Errorf("bench xchain: %d rounds: expected 1 to %d", n, MaxRounds)
	}
	runs := make([]*XChainResult, 0, n)
	for i := range n {
		o := opts
		if i > 0 {
			o.CPUProfile = nil
		}
		if n > 1 && opts.Progress != nil {
			fmt.Fprintf(opts.Progress, "round %d of %d\n", i+1, n)
		}
		r, err := xchainRun(ctx, o)
		if err != nil {
			return nil, err
		}
		runs = append(runs, r)
	}
	return medianXChain(runs), nil
}

// medianXChain returns the run with the median throughput (the lower middle one of an
// even count); with several runs, its Rounds lists them all, in order.
func medianXChain(runs []*XChainResult) *XChainResult {
	if len(runs) == 1 {
		return runs[0]
	}
	med := lowerMedian(runs, func(r *XChainResult) float64 { return r.PacketsPerSec })
	for _, r := range runs {
		med.Rounds = append(med.Rounds, XChainRound{PacketsPerSec: r.PacketsPerSec, LatencyP50S: r.LatencyP50S, BlocksP50: r.BlocksP50})
	}
	return med
}

// xchainRun is one run of XChain.
func xchainRun(ctx context.Context, opts XChainOptions) (*XChainResult, error) {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&opts.Duration, DefaultXChainDuration)
	def(&opts.Warmup, DefaultXChainWarmup)
	def(&opts.Drain, DefaultXChainDrain)
	def(&opts.PollInterval, 20*time.Millisecond)
	if opts.Validators == 0 {
		opts.Validators = DefaultValidators
	}
	if opts.Batch == 0 {
		opts.Batch = txs.MaxMessages
	}
	if opts.PerTx == 0 {
		opts.PerTx = DefaultXChainPerTx
	}
	if opts.Window == 0 {
		opts.Window = DefaultXChainWindow
	}
	if opts.Warmup >= opts.Duration || opts.PerTx < 1 || opts.PerTx > txs.MaxMessages || opts.Window < opts.PerTx {
		return nil, fmt.Errorf("bench xchain: expected warm-up < duration, 1 ≤ per-tx ≤ %d, window ≥ per-tx", txs.MaxMessages)
	}
	home, err := os.MkdirTemp(opts.Dir, "lian-bench-xchain")
	if err != nil {
		return nil, fmt.Errorf("bench xchain: %w", err)
	}
	defer os.RemoveAll(home)
	const chainA, chainB = "xbench-a", "xbench-b"
	res := &XChainResult{Machine: DescribeMachine(), Date: time.Now().UTC(), LoadBefore: LoadAvg(), Validators: opts.Validators,
		Batch: opts.Batch, PerTx: opts.PerTx, Window: opts.Window, Uncommitted: opts.Uncommitted, Recheck: opts.Tuning.Recheck == nil || *opts.Tuning.Recheck}
	setup := time.Now()
	var logger *slog.Logger
	if opts.RelayerLog != nil {
		logger = slog.New(slog.NewTextHandler(opts.RelayerLog, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	net, err := localnet.Start(ctx, localnet.Options{Home: home, Chains: []string{chainA, chainB}, Validators: opts.Validators,
		Listen: "127.0.0.1:0", Tuning: opts.Tuning, Relayer: relayer.Options{PollInterval: opts.PollInterval, MaxMsgs: opts.Batch, Logger: logger}})
	if err != nil {
		return nil, fmt.Errorf("bench xchain: %w", err)
	}
	defer net.Stop()
	res.SetupS = time.Since(setup).Seconds()
	ks, err := net.Keys()
	if err != nil {
		return nil, err
	}
	demo, err := ks.Signer(localnet.DemoKey)
	if err != nil {
		return nil, err
	}
	sender, err := relayer.NewChain(chainA, net.Endpoint(chainA), demo)
	if err != nil {
		return nil, err
	}
	cfg := net.Chains()[0].Nodes[0].Node.Config()
	res.TimeoutCommit, res.GossipSleep = cfg.Consensus.TimeoutCommit.String(), cfg.Consensus.PeerGossipSleepDuration.String()
	var rpcA, rpcB *rpclocal.Local
	for _, c := range net.Chains() {
		l := rpclocal.New(c.Nodes[0].Node.CometNode())
		if c.ID == chainA {
			rpcA = l
		} else {
			rpcB = l
		}
	}
	route := relayer.RouteID(attest.Name, chainB)
	newWatch := func(rpc *rpclocal.Local) *xwatch {
		return &xwatch{rpc: rpc, times: map[int64]time.Time{}, sentAt: map[uint64]time.Time{}, acked: map[uint64]time.Time{},
			sentHeight: map[uint64]int64{}, ackHeight: map[uint64]int64{},
			sendSeen: map[uint64]time.Time{}, recvSeen: map[uint64]time.Time{}, ackSeen: map[uint64]time.Time{}}
	}
	wa, wb := newWatch(rpcA), newWatch(rpcB)
	for _, w := range []*xwatch{wa, wb} {
		st, err := w.rpc.Status(ctx)
		if err != nil {
			return nil, err
		}
		w.done = st.SyncInfo.LatestBlockHeight
	}

	if opts.CPUProfile != nil {
		if err := pprof.StartCPUProfile(opts.CPUProfile); err != nil {
			return nil, fmt.Errorf("bench xchain: cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	var watchErr error
	watchErrs := 0
	wg.Go(func() {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			for _, w := range []*xwatch{wa, wb} {
				// A height whose results are not stored yet is read again next time.
				if err := w.poll(runCtx, route); err != nil && runCtx.Err() == nil {
					watchErrs++
					if watchErrs > 1000 {
						watchErr = err
						return
					}
				}
			}
			select {
			case <-runCtx.Done():
				return
			case <-t.C:
			}
		}
	})
	start := time.Now()
	measureFrom, sendUntil := start.Add(opts.Warmup), start.Add(opts.Duration)
	var submitted int
	counter := uint64(0)
	lastProgress := start
	var chains [2][]*node.Node // source, destination
	for _, c := range net.Chains() {
		if c.ID == chainA {
			chains[0] = nodesOf(c)
		} else {
			chains[1] = nodesOf(c)
		}
	}
	var phasesFrom [2]node.Phases
	measuring := false
	for time.Now().Before(sendUntil) && ctx.Err() == nil {
		if !measuring && !time.Now().Before(measureFrom) {
			measuring = true
			phasesFrom = [2]node.Phases{nodesPhases(chains[0]), nodesPhases(chains[1])}
		}
		wa.mu.Lock()
		unacked := submitted - len(wa.acked) - wa.timeout
		sent, acked := len(wa.sentAt), len(wa.acked)
		wa.mu.Unlock()
		if opts.Progress != nil && time.Since(lastProgress) >= 5*time.Second {
			lastProgress = time.Now()
			fmt.Fprintf(opts.Progress, "%5.1fs: %d requests submitted, %d committed, %d acknowledged\n", time.Since(start).Seconds(), submitted, sent, acked)
		}
		uncommitted := submitted - sent
		if unacked+opts.PerTx > opts.Window || opts.Uncommitted > 0 && uncommitted+opts.PerTx > opts.Uncommitted {
			time.Sleep(5 * time.Millisecond)
			continue
		}
		msgs := make([]txs.Msg, opts.PerTx)
		for i := range msgs {
			counter++
			d := sha256.Sum256(binary.BigEndian.AppendUint64([]byte("xchain bench"), counter))
			msgs[i] = &attest.MsgAttest{Route: route, Digest: d[:]}
		}
		if _, err := sender.Submit(ctx, msgs); err != nil {
			var te *relayer.TxError
			if errors.As(err, &te) {
				time.Sleep(20 * time.Millisecond) // mempool full and the like: back off
				continue
			}
			return nil, fmt.Errorf("bench xchain: send: %w", err)
		}
		submitted += opts.PerTx
	}
	sendEnd := time.Now()
	res.SourcePhases = blockPhases(nodesPhases(chains[0]).Sub(phasesFrom[0]), len(chains[0]))
	res.DestPhases = blockPhases(nodesPhases(chains[1]).Sub(phasesFrom[1]), len(chains[1]))
	drainUntil := sendEnd.Add(opts.Drain)
	for time.Now().Before(drainUntil) && ctx.Err() == nil {
		wa.mu.Lock()
		left := submitted - len(wa.acked) - wa.timeout
		wa.mu.Unlock()
		if left <= 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	wg.Wait()
	if watchErr != nil {
		return nil, fmt.Errorf("bench xchain: watch blocks: %w", watchErr)
	}
	res.LoadAfter = LoadAvg()
	res.DurationS = sendEnd.Sub(start).Seconds()
	res.MeasuredS = sendEnd.Sub(measureFrom).Seconds()
	wa.mu.Lock()
	res.Sent, res.Acked, res.TimedOut = len(wa.sentAt), len(wa.acked), wa.timeout
	wb.mu.Lock()
	var lat, byBlockTime, toRecv, toAck []time.Duration
	var blocks []int64
	for seq, at := range wa.acked {
		if at.Before(measureFrom) || at.After(sendEnd) {
			continue
		}
		res.AckedMeasured++
		s, ok := wa.sentAt[seq]
		if !ok {
			continue
		}
		lat = append(lat, wa.ackSeen[seq].Sub(wa.sendSeen[seq]))
		byBlockTime = append(byBlockTime, at.Sub(s))
		blocks = append(blocks, wa.ackHeight[seq]-wa.sentHeight[seq])
		if r, ok := wb.recvSeen[seq]; ok {
			toRecv = append(toRecv, r.Sub(wa.sendSeen[seq]))
			toAck = append(toAck, wa.ackSeen[seq].Sub(r))
		}
	}
	wb.mu.Unlock()
	wa.mu.Unlock()
	slices.Sort(toRecv)
	slices.Sort(toAck)
	if len(toRecv) > 0 {
		res.RecvP50S, res.AckLegP50S = percentile(toRecv, 0.50).Seconds(), percentile(toAck, 0.50).Seconds()
	}
	res.PacketsPerSec = float64(res.AckedMeasured) / res.MeasuredS
	if len(lat) > 0 {
		slices.Sort(lat)
		slices.Sort(byBlockTime)
		slices.Sort(blocks)
		res.LatencyP50S = percentile(lat, 0.50).Seconds()
		res.LatencyP99S = percentile(lat, 0.99).Seconds()
		res.LatencyMaxS = lat[len(lat)-1].Seconds()
		res.BlockTimeP50S = percentile(byBlockTime, 0.50).Seconds()
		res.BlockTimeP99S = percentile(byBlockTime, 0.99).Seconds()
		res.BlocksP50, res.BlocksP99 = percentile(blocks, 0.50), percentile(blocks, 0.99)
	}
	res.BlockIntervalS, res.BlockIntervalMedianS = wa.interval(measureFrom, sendEnd)
	res.DestBlockIntervalS, res.DestBlockIntervalMedianS = wb.interval(measureFrom, sendEnd)
	res.RelayerTxs = map[string]float64{}
	if r := net.Relayer(); r != nil {
		mfs, err := r.Metrics().Registry.Gather()
		if err == nil {
			for _, mf := range mfs {
				if mf.GetName() != "lian_relayer_txs_total" {
					continue
				}
				for _, m := range mf.Metric {
					lbl := map[string]string{}
					for _, l := range m.Label {
						lbl[l.GetName()] = l.GetValue()
					}
					res.RelayerTxs[lbl["chain"]+"/"+lbl["result"]] += m.GetCounter().GetValue()
				}
			}
		}
	}
	return res, nil
}

// WriteText writes the result for people.
func (r *XChainResult) WriteText(w io.Writer) {
	m := r.Machine
	fmt.Fprintf(w, "machine: %d CPUs (GOMAXPROCS %d), %s, %s RAM, %s %s; %s\n",
		m.CPUs, m.GOMAXPROCS, m.CPUModel, m.MemTotal, m.GoVersion, m.OSArch, r.Date.Format("2006-01-02 15:04:05 MST"))
	if m.Revision != "" {
		fmt.Fprintf(w, "revision: %s\n", m.Revision)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "setup\t2 chains × %d validators (timeout_commit %s, gossip sleep %s, mempool recheck %v), paths by governance, relayer in process: %.1fs\n",
		r.Validators, r.TimeoutCommit, r.GossipSleep, r.Recheck, r.SetupS)
	bound := ""
	if r.Uncommitted > 0 {
		bound = fmt.Sprintf(" and %d uncommitted", r.Uncommitted)
	}
	fmt.Fprintf(tw, "load\tattest requests, %d per tx, at most %d unacknowledged%s; relayer batch %d msgs/tx\n", r.PerTx, r.Window, bound, r.Batch)
	fmt.Fprintf(tw, "run\t%.0fs (%.0fs measured after the warm-up)\n", r.DurationS, r.MeasuredS)
	fmt.Fprintf(tw, "delivered+acked\t%d packets in the measured window: %.1f packets/s\n", r.AckedMeasured, r.PacketsPerSec)
	blocks := func(s float64) string {
		if r.BlockIntervalS == 0 || r.BlockIntervalMedianS == 0 {
			return ""
		}
		return fmt.Sprintf(" (%.1f mean / %.1f median intervals)", s/r.BlockIntervalS, s/r.BlockIntervalMedianS)
	}
	fmt.Fprintf(tw, "send→ack\tp50 %.3fs%s  p99 %.3fs%s  max %.3fs (as the bench saw the blocks)\n", r.LatencyP50S, blocks(r.LatencyP50S), r.LatencyP99S, blocks(r.LatencyP99S), r.LatencyMaxS)
	fmt.Fprintf(tw, "\tp50 %.3fs  p99 %.3fs by block times; the ack %d (p50) and %d (p99) blocks after the send\n", r.BlockTimeP50S, r.BlockTimeP99S, r.BlocksP50, r.BlocksP99)
	if r.RecvP50S > 0 || r.AckLegP50S > 0 {
		fmt.Fprintf(tw, "legs\tsend→receive p50 %.3fs%s, receive→ack p50 %.3fs%s\n", r.RecvP50S, blocks(r.RecvP50S), r.AckLegP50S, blocks(r.AckLegP50S))
	}
	fmt.Fprintf(tw, "block interval\tsource mean %.3fs median %.3fs; destination mean %.3fs median %.3fs\n",
		r.BlockIntervalS, r.BlockIntervalMedianS, r.DestBlockIntervalS, r.DestBlockIntervalMedianS)
	fmt.Fprintf(tw, "source blocks\t%s\n", r.SourcePhases)
	fmt.Fprintf(tw, "dest. blocks\t%s\n", r.DestPhases)
	fmt.Fprintf(tw, "totals\t%d sent, %d acknowledged, %d timed out\n", r.Sent, r.Acked, r.TimedOut)
	keys := make([]string, 0, len(r.RelayerTxs))
	for k := range r.RelayerTxs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts string
	for _, k := range keys {
		parts += fmt.Sprintf(" %s=%.0f", k, r.RelayerTxs[k])
	}
	fmt.Fprintf(tw, "relayer txs\t%s\n", parts)
	fmt.Fprintf(tw, "loadavg\t%s before, %s after\n", r.LoadBefore, r.LoadAfter)
	tw.Flush()
	if len(r.Rounds) == 0 {
		return
	}
	fmt.Fprintln(w, "rounds (the figures above are the median one's):")
	lo, hi := r.Rounds[0].PacketsPerSec, r.Rounds[0].PacketsPerSec
	for i, x := range r.Rounds {
		fmt.Fprintf(w, "  %d: %.1f packets/s, p50 send→ack %.3fs (%d blocks)\n", i+1, x.PacketsPerSec, x.LatencyP50S, x.BlocksP50)
		lo, hi = min(lo, x.PacketsPerSec), max(hi, x.PacketsPerSec)
	}
	fmt.Fprintf(w, "packets/s: median %.1f, min %.1f, max %.1f\n", r.PacketsPerSec, lo, hi)
}
