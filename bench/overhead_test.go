package bench

import (
	"bytes"
	"context"
	"flag"
	"strings"
	"testing"
	"time"
)

var (
	gatewayDuration = flag.Duration("gateway.duration", DefaultOverheadDuration, "BenchmarkGateway: each measurement")
	gatewayRounds   = flag.Int("gateway.rounds", DefaultOverheadRounds, "BenchmarkGateway: rounds per path")
	gatewayOnly     = flag.String("gateway.only", "", "BenchmarkGateway: query or submit only")
)

// BenchmarkGateway runs Overhead and reports both paths' rates and the ratios.
//
//	go test -run '^$' -bench Gateway -benchtime 1x ./bench/
func BenchmarkGateway(b *testing.B) {
	opts := OverheadOptions{Duration: *gatewayDuration, Rounds: *gatewayRounds, Only: *gatewayOnly, Dir: b.TempDir()}
	for i := 0; i < b.N; i++ {
		rep, err := Overhead(context.Background(), opts)
		if err != nil {
			b.Fatal(err)
		}
		var text bytes.Buffer
		rep.WriteText(&text)
		b.Log("\n" + text.String())
		for _, part := range []*PartReport{rep.Query, rep.Submit} {
			if part == nil {
				continue
			}
			for _, p := range part.Paths {
				b.ReportMetric(p.PerSecond, part.Part+"-"+p.Path+"/s")
			}
			b.ReportMetric(part.Ratio, part.Part+"-ratio")
			b.ReportMetric(part.CPURatio, part.Part+"-cpu-ratio")
		}
	}
}

// TestOverhead runs a short Overhead: every path must work and be measured.
func TestOverhead(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain")
	}
	rep, err := Overhead(context.Background(), OverheadOptions{
		// Long enough for blocks to commit in the window on a machine loaded by the
		// rest of the suite (a 1-s window once saw none).
		Duration: 4 * time.Second, Warmup: 500 * time.Millisecond, Rounds: 1,
		QueryConcurrency: 4, QueryTxs: 8, Concurrency: 2, Window: 16, Dir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Query == nil || rep.Submit == nil || len(rep.Query.Paths) != 3 || len(rep.Submit.Paths) != 2 {
		t.Fatalf("report %+v", rep)
	}
	for _, part := range []*PartReport{rep.Query, rep.Submit} {
		for _, p := range part.Paths {
			if p.Ops == 0 || p.PerSecond <= 0 || p.Seconds <= 0 || len(p.Rounds) != 1 {
				t.Errorf("%s %s: %+v", part.Part, p.Path, p)
			}
		}
		if part.Ratio <= 0 || part.CPURatio <= 0 {
			t.Errorf("%s ratios %v, %v", part.Part, part.Ratio, part.CPURatio)
		}
	}
	for _, p := range rep.Query.Paths {
		if p.Errors != 0 {
			t.Errorf("query %s: %d failed lookups", p.Path, p.Errors)
		}
	}
	var text bytes.Buffer
	rep.WriteText(&text)
	for _, want := range []string{"ratio gateway/direct", "direct-tx+header", "committed tx/s"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	if _, err := Overhead(context.Background(), OverheadOptions{Only: "nothing"}); err == nil {
		t.Error("no error for an unknown part")
	}
}
