package bench

import (
	"context"
	"strings"
	"testing"
)

func TestCompareRounds(t *testing.T) {
	sys := func(tps, cpu float64) *SystemReport {
		return &SystemReport{Result: &Result{Label: "x", TPS: tps, CPUPerTxMs: cpu}}
	}
	round := func(l, b float64) Round {
		r := Round{Lian: sys(l, 1.0), Baseline: sys(b, 0.7)}
		r.Ratio, r.CPURatio = l/b, 0.7
		return r
	}
	rounds := []Round{round(2000, 3000), round(2200, 2900), round(1900, 3100)}
	if got := medianRound(rounds); got.Lian.TPS != 2000 {
		t.Fatalf("median round: lian %.0f, want 2000 (ratios 0.67, 0.76, 0.61)", got.Lian.TPS)
	}
	only := []Round{{Lian: sys(10, 1)}, {Lian: sys(30, 1)}, {Lian: sys(20, 1)}}
	if got := medianRound(only); got.Lian.TPS != 20 {
		t.Fatalf("median of Lian alone: %.0f, want 20", got.Lian.TPS)
	}
	med := medianRound(rounds)
	rep := &Report{Lian: med.Lian, Baseline: med.Baseline, Ratio: med.Ratio, Rounds: rounds}
	var b strings.Builder
	rep.WriteText(&b)
	for _, want := range []string{"ratio lian/baseline (committed tx/s): 0.67; by CPU per tx (baseline/lian): 0.70",
		"  2: lian 2200.0 tx/s (1.000 ms/tx) baseline 2900.0 tx/s (0.700 ms/tx) ratio 0.76, by CPU 0.70",
		"ratio: median 0.67, min 0.61, max 0.76; by CPU per tx: median 0.70, min 0.70, max 0.70"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, b.String())
		}
	}
	if _, err := Compare(context.Background(), CompareOptions{Rounds: MaxRounds + 1}); err == nil {
		t.Error("too many rounds accepted")
	}
}
