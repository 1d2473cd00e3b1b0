package bench

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
)

// WriteText writes the result for people to read.
func (r *Result) WriteText(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "run\t%s: %d workers, window %d, %.0fs (%.0fs measured after the warm-up)\n", r.Label, r.Concurrency, r.Window, r.DurationS, r.MeasuredS)
	fmt.Fprintf(tw, "committed\t%d txs in the measured window: %.1f tx/s\n", r.Committed, r.TPS)
	fmt.Fprintf(tw, "latency\tp50 %.3fs  p99 %.3fs  max %.3fs  (submit to commit, %d txs)\n", r.LatencyP50S, r.LatencyP99S, r.LatencyMaxS, r.LatencySamples)
	fmt.Fprintf(tw, "submitted\t%d admitted, %d refused%s, %d never committed\n", r.Submitted, r.Refused, refusals(r.RefusedBy), r.Lost)
	if r.Succeeded >= 0 {
		fmt.Fprintf(tw, "succeeded\t%d (nonce advance), %d included in a block but failed there\n", r.Succeeded, r.FailedInBlocks)
	}
	fmt.Fprintf(tw, "blocks\t%d in the measured window, %.1f txs/block (heights %d to %d)\n", r.Blocks, r.TxsPerBlock, r.FirstHeight, r.LastHeight)
	fmt.Fprintf(tw, "load\tbefore %s, after %s\n", r.LoadBefore, r.LoadAfter)
	if r.ProcessCPUS > 0 {
		fmt.Fprintf(tw, "cpu\t%.1fs of this process, %.3f ms per committed tx\n", r.ProcessCPUS, r.CPUPerTxMs)
	}
	if r.Phases != nil {
		fmt.Fprintf(tw, "block phases\t%s\n", r.Phases)
	}
	tw.Flush()
}

func refusals(m map[string]int64) string {
	if len(m) == 0 {
		return ""
	}
	return " (" + FormatRefusals(m) + ")"
}

// WriteText writes the comparison side by side, for people to read.
func (rep *Report) WriteText(w io.Writer) {
	m := rep.Machine
	fmt.Fprintf(w, "machine: %d CPUs (GOMAXPROCS %d), %s, %s RAM, %s %s; %s\n",
		m.CPUs, m.GOMAXPROCS, m.CPUModel, m.MemTotal, m.GoVersion, m.OSArch, rep.Date.Format("2006-01-02 15:04:05 MST"))
	if m.Revision != "" {
		fmt.Fprintf(w, "revision: %s\n", m.Revision)
	}
	systems := []*SystemReport{}
	names := []string{}
	if rep.Lian != nil {
		systems, names = append(systems, rep.Lian), append(names, "lian")
	}
	if rep.Baseline != nil {
		systems, names = append(systems, rep.Baseline), append(names, "baseline")
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	row := func(name string, f func(s *SystemReport) string) {
		fmt.Fprintf(tw, "%s\t", name)
		for _, s := range systems {
			fmt.Fprintf(tw, "%s\t", f(s))
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprintf(tw, "\t")
	for _, n := range names {
		fmt.Fprintf(tw, "%s\t", n)
	}
	fmt.Fprintln(tw)
	row("validators", func(s *SystemReport) string { return fmt.Sprint(s.Validators) })
	row("node config", func(s *SystemReport) string {
		return fmt.Sprintf("commit %s, gossip sleep %s, mempool %d, recheck %v, indexer %s", s.Node.TimeoutCommit, s.Node.GossipSleep, s.Node.MempoolSize, s.Node.Recheck, s.Node.Indexer)
	})
	row("workers x window", func(s *SystemReport) string { return fmt.Sprintf("%d x %d", s.Concurrency, s.Window) })
	row("measured", func(s *SystemReport) string { return fmt.Sprintf("%.0fs of %.0fs", s.MeasuredS, s.DurationS) })
	row("committed tx/s", func(s *SystemReport) string { return fmt.Sprintf("%.1f", s.TPS) })
	row("committed", func(s *SystemReport) string { return fmt.Sprint(s.Committed) })
	row("latency p50", func(s *SystemReport) string { return fmt.Sprintf("%.3fs", s.LatencyP50S) })
	row("latency p99", func(s *SystemReport) string { return fmt.Sprintf("%.3fs", s.LatencyP99S) })
	row("latency max", func(s *SystemReport) string { return fmt.Sprintf("%.3fs", s.LatencyMaxS) })
	row("blocks", func(s *SystemReport) string { return fmt.Sprint(s.Blocks) })
	row("txs/block", func(s *SystemReport) string { return fmt.Sprintf("%.1f", s.TxsPerBlock) })
	row("submitted", func(s *SystemReport) string { return fmt.Sprint(s.Submitted) })
	row("refused", func(s *SystemReport) string { return fmt.Sprintf("%d%s", s.Refused, refusals(s.RefusedBy)) })
	row("never committed", func(s *SystemReport) string { return fmt.Sprint(s.Lost) })
	row("failed in blocks", func(s *SystemReport) string {
		if s.Succeeded < 0 {
			return "-"
		}
		return fmt.Sprint(s.FailedInBlocks)
	})
	row("cpu ms per tx", func(s *SystemReport) string { return fmt.Sprintf("%.3f", s.CPUPerTxMs) })
	phase := func(f func(p *BlockPhases) float64) func(s *SystemReport) string {
		return func(s *SystemReport) string {
			if s.Phases == nil {
				return "-"
			}
			return fmt.Sprintf("%.0fms", f(s.Phases))
		}
	}
	row("block: to proposal", phase(func(p *BlockPhases) float64 { return p.ToProposalMS }))
	row("block: to a node", phase(func(p *BlockPhases) float64 { return p.ToBlockMS }))
	row("block: votes", phase(func(p *BlockPhases) float64 { return p.VotesMS }))
	row("block: execute", phase(func(p *BlockPhases) float64 { return p.ExecuteMS }))
	row("block: commit", phase(func(p *BlockPhases) float64 { return p.CommitMS }))
	row("block: checks", phase(func(p *BlockPhases) float64 { return p.CheckMS + p.RecheckMS }))
	row("load before", func(s *SystemReport) string { return s.LoadBefore })
	row("load after", func(s *SystemReport) string { return s.LoadAfter })
	tw.Flush()
	if rep.Ratio > 0 {
		fmt.Fprintf(w, "ratio lian/baseline (committed tx/s): %.2f", rep.Ratio)
		if rep.Lian.CPUPerTxMs > 0 && rep.Baseline.CPUPerTxMs > 0 {
			fmt.Fprintf(w, "; by CPU per tx (baseline/lian): %.2f", rep.Baseline.CPUPerTxMs/rep.Lian.CPUPerTxMs)
		}
		fmt.Fprintln(w)
	}
	if len(rep.Rounds) > 1 {
		fmt.Fprintf(w, "rounds (the table shows the median one):\n")
		var ratios, cpuRatios []float64
		for i, r := range rep.Rounds {
			fmt.Fprintf(w, "  %d:", i+1)
			if r.Lian != nil {
				fmt.Fprintf(w, " lian %.1f tx/s (%.3f ms/tx)", r.Lian.TPS, r.Lian.CPUPerTxMs)
			}
			if r.Baseline != nil {
				fmt.Fprintf(w, " baseline %.1f tx/s (%.3f ms/tx)", r.Baseline.TPS, r.Baseline.CPUPerTxMs)
			}
			if r.Ratio > 0 {
				fmt.Fprintf(w, " ratio %.2f, by CPU %.2f", r.Ratio, r.CPURatio)
				ratios, cpuRatios = append(ratios, r.Ratio), append(cpuRatios, r.CPURatio)
			}
			fmt.Fprintln(w)
		}
		if len(ratios) > 1 {
			fmt.Fprintf(w, "ratio: median %.2f, min %.2f, max %.2f; by CPU per tx: median %.2f, min %.2f, max %.2f\n",
				median(ratios), slices.Min(ratios), slices.Max(ratios), median(cpuRatios), slices.Min(cpuRatios), slices.Max(cpuRatios))
		}
	}
}

// median returns the median of xs (the lower middle one for an even count).
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}
