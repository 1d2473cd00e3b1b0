package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/lianchain/lian/bench"
	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/localnet"
	"github.com/lianchain/lian/node"
	"github.com/lianchain/lian/txs"
)

func init() { commands = append(commands, newBenchCmd) }

func newBenchCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure throughput and latency: of a running network, or against a baseline",
	}
	cmd.AddCommand(newBenchEvidenceCmd(g), newBenchCompareCmd(g), newBenchGatewayCmd(g), newBenchXChainCmd(g))
	return cmd
}

// benchProgress is where progress lines go: stderr, unless --quiet.
func benchProgress(cmd *cobra.Command, quiet bool) io.Writer {
	if quiet {
		return nil
	}
	return cmd.ErrOrStderr()
}

func newBenchEvidenceCmd(g *globals) *cobra.Command {
	var (
		opts  bench.EvidenceOptions
		quiet bool
	)
	cmd := &cobra.Command{
		Use:   "evidence",
		Short: "Drive a running network through the gateway with evidence anchors",
		Long: `Drive a running network (e.g. "lian up") through the gateway (--gateway).

The admin key --from (in <home>/keys) registers --concurrency fresh accounts; each then
anchors random digests, with up to --window transactions in flight, for --duration. The
first --warmup is not measured. Prints the committed transactions per second and the
submit-to-commit latency (p50, p99, max).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Chain == "" {
				return errors.New("--chain is required")
			}
			ks, err := crypto.OpenKeystore(filepath.Join(g.home, "keys"))
			if err != nil {
				return err
			}
			opts.Gateway, opts.Keys = g.gateway, ks
			opts.Progress = benchProgress(cmd, quiet)
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			res, err := bench.Evidence(ctx, opts)
			if err != nil {
				return err
			}
			return g.print(cmd.OutOrStdout(), res, res.WriteText)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Chain, "chain", "", "chain to drive (required)")
	f.StringVar(&opts.From, "from", localnet.DemoKey, "key of an organisation admin on the chain, who registers the bench accounts")
	f.DurationVar(&opts.Duration, "duration", bench.DefaultDuration, "how long to drive the chain, warm-up included")
	f.DurationVar(&opts.Warmup, "warmup", bench.DefaultWarmup, "start of the run not measured")
	f.IntVar(&opts.Concurrency, "concurrency", bench.DefaultConcurrency, "workers, each with its own account")
	f.IntVar(&opts.Window, "window", bench.DefaultWindow, "transactions in flight per worker, at most")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress lines on stderr")
	return cmd
}

func newBenchCompareCmd(g *globals) *cobra.Command {
	var (
		opts            bench.CompareOptions
		quiet           bool
		recheck         bool
		profile, bprof  string
		mempool         int
		indexer, system string
	)
	cmd := &cobra.Command{
		Use:   "compare",
		Short: "Compare Lian with a baseline CometBFT app on this machine",
		Long: `Start a fresh Lian chain (--validators validators, in this process), drive it with
evidence anchors over CometBFT RPC for --duration and stop it; then do the same with a
fresh CometBFT network whose app only verifies one ed25519 signature per transaction (in
CheckTx and again in FinalizeBlock), with the same node tuning. Prints both throughputs,
latencies and the ratio Lian/baseline. The networks run one after the other, each with
the whole machine; their homes are temporary.

Runs on one machine vary by several percent. --rounds N runs each system N times, in
alternating order, prints every round and the median, minimum and maximum ratios (also
by CPU per transaction, which varies less), and shows the median round in the table.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("recheck") {
				opts.Tuning.Recheck = &recheck
			}
			opts.Tuning.MempoolSize = mempool
			opts.Tuning.Indexer = indexer
			opts.Only = system
			opts.Progress = benchProgress(cmd, quiet)
			for _, p := range []struct {
				path string
				w    *io.Writer
			}{{profile, &opts.CPUProfile}, {bprof, &opts.BaselineCPUProfile}} {
				if p.path == "" {
					continue
				}
				f, err := os.Create(p.path)
				if err != nil {
					return err
				}
				defer f.Close()
				*p.w = f
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			rep, err := bench.Compare(ctx, opts)
			if err != nil {
				return err
			}
			return g.print(cmd.OutOrStdout(), rep, rep.WriteText)
		},
	}
	f := cmd.Flags()
	f.DurationVar(&opts.Duration, "duration", bench.DefaultDuration, "how long to drive each network, warm-up included")
	f.DurationVar(&opts.Warmup, "warmup", bench.DefaultWarmup, "start of each run not measured")
	f.IntVar(&opts.Concurrency, "concurrency", bench.DefaultConcurrency, "workers (accounts) driving each network")
	f.IntVar(&opts.Rounds, "rounds", 1, fmt.Sprintf("runs of each system, in alternating order (1 to %d)", bench.MaxRounds))
	f.IntVar(&opts.LianConcurrency, "lian-concurrency", 0, "workers driving Lian (default --concurrency)")
	f.IntVar(&opts.BaselineConcurrency, "baseline-concurrency", 0, "workers driving the baseline (default --concurrency)")
	f.IntVar(&opts.Window, "window", bench.DefaultWindow, "transactions in flight per worker, at most")
	f.IntVar(&opts.Validators, "validators", bench.DefaultValidators, "validators of each network")
	f.StringVar(&system, "only", "", "run one system only: lian or baseline")
	f.StringVar(&profile, "cpuprofile", "", "write a CPU profile (pprof) of the Lian run to this file")
	f.StringVar(&bprof, "baseline-cpuprofile", "", "write a CPU profile (pprof) of the baseline run to this file")
	f.DurationVar(&opts.Tuning.TimeoutCommit, "timeout-commit", node.DefaultTimeoutCommit, "consensus timeout_commit of both networks")
	f.DurationVar(&opts.Tuning.GossipSleep, "gossip-sleep", node.DefaultGossipSleep, "consensus peer_gossip_sleep_duration of both networks")
	f.IntVar(&mempool, "mempool-size", node.DefaultMempoolSize, "mempool size (txs) of both networks")
	f.BoolVar(&recheck, "recheck", true, "mempool recheck of both networks")
	f.StringVar(&indexer, "indexer", node.DefaultIndexer, "tx indexer of both networks: kv or null")
	f.StringVar(&opts.Dir, "dir", "", "where the temporary homes are made (default the system's temp dir)")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress lines on stderr")
	return cmd
}

func newBenchGatewayCmd(g *globals) *cobra.Command {
	var (
		opts  bench.OverheadOptions
		quiet bool
	)
	cmd := &cobra.Command{
		Use:   "gateway",
		Short: "Measure the gateway's overhead against the nodes' CometBFT RPC",
		Long: `Start a fresh Lian chain (--validators validators) with its gateway, in this process,
and measure the same operations through the gateway and straight to a node's CometBFT RPC:

  query   GET /v1/chains/{chain}/txs/{hash} against the tx RPC (and against tx + header,
          the two calls the gateway makes for its answer), --query-concurrency lookups at
          once over --query-txs committed transactions;
  submit  POST /v1/chains/{chain}/txs?wait=false against broadcast_tx_sync: evidence
          anchors from --concurrency fresh accounts, as committed transactions per second
          (the driver watches the blocks through the node's RPC in both runs).

Each path runs --rounds times for --duration, the paths' order alternating from round to
round. Prints both paths, their latencies and the ratio gateway/direct.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Progress = benchProgress(cmd, quiet)
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			rep, err := bench.Overhead(ctx, opts)
			if err != nil {
				return err
			}
			return g.print(cmd.OutOrStdout(), rep, rep.WriteText)
		},
	}
	f := cmd.Flags()
	f.DurationVar(&opts.Duration, "duration", bench.DefaultOverheadDuration, "each measurement: one path, one round")
	f.DurationVar(&opts.Warmup, "warmup", bench.DefaultWarmup, "start of each submission run not measured")
	f.IntVar(&opts.Rounds, "rounds", bench.DefaultOverheadRounds, "measurements of each path, in alternating order")
	f.IntVar(&opts.QueryConcurrency, "query-concurrency", bench.DefaultQueryConcurrency, "concurrent lookups")
	f.IntVar(&opts.QueryTxs, "query-txs", bench.DefaultQueryTxs, "committed transactions the lookups go through")
	f.IntVar(&opts.Concurrency, "concurrency", bench.DefaultConcurrency, "submitting workers (accounts)")
	f.IntVar(&opts.Window, "window", bench.DefaultWindow, "transactions in flight per submitting worker, at most")
	f.IntVar(&opts.Validators, "validators", bench.DefaultValidators, "validators of the chain")
	f.StringVar(&opts.Only, "only", "", "measure one part only: query or submit")
	f.StringVar(&opts.Dir, "dir", "", "where the temporary home is made (default the system's temp dir)")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress lines on stderr")
	return cmd
}

func newBenchXChainCmd(g *globals) *cobra.Command {
	var (
		opts       bench.XChainOptions
		quiet      bool
		relayerLog bool
		recheck    bool
		profile    string
	)
	cmd := &cobra.Command{
		Use:   "xchain",
		Short: "Measure cross-chain packets delivered and acknowledged per second, and their latency",
		Long: `Start two fresh chains of --validators validators in this process, set up the paths
between them by governance and run one relayer (batching --batch messages per
transaction). Then send attestation requests from the first chain to the second,
--per-tx per transaction with at most --window unacknowledged, for --duration, and print
the packets delivered and acknowledged per second in the measured window (after
--warmup) and the send-to-ack latency: p50 and p99 from when the bench first saw the
send's block to when it first saw the ack's block (also in block intervals), the same
by block times, how many source blocks after the send the ack lands, the two legs
(send to receive, receive to ack) and the block interval. The home is temporary.
Runs on one machine vary by several percent: --rounds N makes N runs, each on fresh
chains, and prints the one with the median throughput and every run's figures.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Progress = benchProgress(cmd, quiet)
			if relayerLog {
				opts.RelayerLog = cmd.ErrOrStderr()
			}
			if cmd.Flags().Changed("recheck") {
				opts.Tuning.Recheck = &recheck
			}
			if profile != "" {
				f, err := os.Create(profile)
				if err != nil {
					return err
				}
				defer f.Close()
				opts.CPUProfile = f
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			res, err := bench.XChain(ctx, opts)
			if err != nil {
				return err
			}
			return g.print(cmd.OutOrStdout(), res, res.WriteText)
		},
	}
	f := cmd.Flags()
	f.DurationVar(&opts.Duration, "duration", bench.DefaultXChainDuration, "how long to send, warm-up included")
	f.DurationVar(&opts.Warmup, "warmup", bench.DefaultXChainWarmup, "start of the run not measured")
	f.IntVar(&opts.Batch, "batch", txs.MaxMessages, fmt.Sprintf("relayer messages per transaction (client update included), 2-%d", txs.MaxMessages))
	f.IntVar(&opts.PerTx, "per-tx", bench.DefaultXChainPerTx, "attestation requests per sending transaction")
	f.IntVar(&opts.Window, "window", bench.DefaultXChainWindow, "packets sent and not yet acknowledged, at most")
	f.IntVar(&opts.Uncommitted, "uncommitted", 0, "requests submitted and not yet committed on the source, at most (0: no bound)")
	f.IntVar(&opts.Validators, "validators", bench.DefaultValidators, "validators of each chain")
	f.StringVar(&profile, "cpuprofile", "", "write a CPU profile (pprof) of the run to this file")
	f.StringVar(&opts.Dir, "dir", "", "where the temporary home is made (default the system's temp dir)")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress lines on stderr")
	f.BoolVar(&relayerLog, "relayer-log", false, "print the relayer's warnings on stderr")
	f.BoolVar(&recheck, "recheck", true, "mempool recheck of the nodes")
	f.DurationVar(&opts.Tuning.TimeoutCommit, "timeout-commit", node.DefaultTimeoutCommit, "consensus timeout_commit of the nodes")
	f.DurationVar(&opts.Tuning.GossipSleep, "gossip-sleep", node.DefaultGossipSleep, "consensus peer_gossip_sleep_duration of the nodes")
	f.IntVar(&opts.Rounds, "rounds", 1, fmt.Sprintf("runs, each on fresh chains; the median one is printed, with every run's rate (1 to %d)", bench.MaxRounds))
	return cmd
}
