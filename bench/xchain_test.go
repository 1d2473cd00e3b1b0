package bench

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"
)

var (
	xchainDuration   = flag.Duration("xchain.duration", DefaultXChainDuration, "BenchmarkXChain: sending time, warm-up included")
	xchainWindow     = flag.Int("xchain.window", DefaultXChainWindow, "BenchmarkXChain: packets unacknowledged, at most")
	xchainValidators = flag.Int("xchain.validators", DefaultValidators, "BenchmarkXChain: validators per chain")
)

// BenchmarkXChain is `lian bench xchain` as a Go benchmark:
//
//	go test -run '^$' -bench XChain -benchtime 1x ./bench/ [-xchain.duration 30s] [-xchain.window 4000]
func BenchmarkXChain(b *testing.B) {
	for i := 0; i < b.N; i++ {
		res, err := XChain(context.Background(), XChainOptions{Duration: *xchainDuration, Window: *xchainWindow,
			Validators: *xchainValidators, Dir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(res.PacketsPerSec, "packets/s")
		b.ReportMetric(res.LatencyP50S, "p50-s")
		b.ReportMetric(res.LatencyP99S, "p99-s")
		b.ReportMetric(float64(res.BlocksP50), "p50-blocks")
		b.ReportMetric(res.BlockIntervalS, "block-s")
	}
}

// TestXChainBench runs the cross-chain benchmark briefly on one-validator chains:
// every packet sent is acknowledged and the figures are filled in.
func TestXChainBench(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two chains")
	}
	res, err := XChain(context.Background(), XChainOptions{Duration: 4 * time.Second, Warmup: time.Second, Validators: 1,
		Window: 256, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if res.TimeoutCommit == "" || res.GossipSleep == "" {
		t.Fatalf("node tuning not reported: timeout_commit %q gossip_sleep %q", res.TimeoutCommit, res.GossipSleep)
	}
	if res.Sent == 0 || res.Acked != res.Sent || res.TimedOut != 0 {
		t.Fatalf("sent %d, acknowledged %d, timed out %d: want all acknowledged", res.Sent, res.Acked, res.TimedOut)
	}
	if res.PacketsPerSec <= 0 || res.LatencyP50S <= 0 || res.LatencyP99S < res.LatencyP50S || res.BlockTimeP50S <= 0 || res.BlocksP50 < 1 || res.BlocksP99 < res.BlocksP50 || res.BlockIntervalS <= 0 || res.RecvP50S <= 0 || res.AckLegP50S <= 0 {
		t.Fatalf("figures missing: %+v", res)
	}
	if p := res.SourcePhases; p.Blocks < 1 || p.ToBlockMS <= 0 || p.ExecuteMS <= 0 || p.CommitMS <= 0 || p.Checks <= 0 {
		t.Fatalf("source phases missing: %+v", p)
	}
}

func TestMedianXChain(t *testing.T) {
	run := func(rate float64) *XChainResult {
		return &XChainResult{PacketsPerSec: rate, LatencyP50S: rate / 1000, BlocksP50: 4}
	}
	tests := []struct {
		name  string
		rates []float64
		want  float64
	}{
		{"one run", []float64{900}, 900},
		{"three", []float64{1002.6, 936.7, 971.7}, 971.7},
		{"even count: the lower middle", []float64{1000, 800, 900, 950}, 900},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var runs []*XChainResult
			for _, r := range tt.rates {
				runs = append(runs, run(r))
			}
			got := medianXChain(runs)
			if got.PacketsPerSec != tt.want {
				t.Fatalf("median %.1f, want %.1f", got.PacketsPerSec, tt.want)
			}
			if len(tt.rates) == 1 {
				if got.Rounds != nil {
					t.Fatalf("one run lists rounds: %+v", got.Rounds)
				}
				return
			}
			if len(got.Rounds) != len(tt.rates) {
				t.Fatalf("%d rounds listed, want %d", len(got.Rounds), len(tt.rates))
			}
			for i, r := range got.Rounds {
				if r.PacketsPerSec != tt.rates[i] {
					t.Fatalf("round %d: %.1f, want %.1f (in run order)", i+1, r.PacketsPerSec, tt.rates[i])
				}
			}
			var b strings.Builder
			got.WriteText(&b)
			if !strings.Contains(b.String(), fmt.Sprintf("packets/s: median %.1f", tt.want)) {
				t.Fatalf("text lacks the median line:\n%s", b.String())
			}
		})
	}
}

func TestXChainRoundsBound(t *testing.T) {
	if _, err := XChain(context.Background(), XChainOptions{Rounds: MaxRounds + 1}); err == nil {
		t.Fatal("XChain accepted too many rounds")
	}
}
