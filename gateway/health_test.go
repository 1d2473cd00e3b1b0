package gateway

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lianchain/lian/api"
)

func TestReadyz(t *testing.T) {
	fresh := newEvFake(t) // blocks of now
	fresh.add(nil, nil)
	old := newEvFake(t) // blocks of 10 minutes ago
	old.blockTime = time.Now().Add(-10 * time.Minute)
	old.add(nil, nil)
	old.add(nil, nil)
	dead := deadURL(t)
	_, base := serveGateway(t, Config{Chains: map[string][]string{
		"fresh": {fresh.srv.URL},
		"old":   {dead, old.srv.URL},
		"down":  {dead},
	}})

	var r api.Readiness
	getJSON(t, base, "/readyz", http.StatusServiceUnavailable, &r)
	if r.Status != "not_ready" || !r.Chains["fresh"].Ready || r.Chains["fresh"].Height != 1 || r.Chains["fresh"].BlockTime == nil {
		t.Fatalf("readiness %+v", r)
	}
	if c := r.Chains["old"]; c.Ready || c.Height != 2 || !strings.Contains(c.Reason, "stuck") {
		t.Fatalf("old chain %+v", c)
	}
	if c := r.Chains["down"]; c.Ready || !strings.Contains(c.Reason, "no node") {
		t.Fatalf("down chain %+v", c)
	}

	// The old chain's height grows: its blocks' times lag (a clock behind), but the
	// gateway saw it move within the window.
	old.add(nil, nil)
	getJSON(t, base, "/readyz", http.StatusServiceUnavailable, &r)
	if c := r.Chains["old"]; !c.Ready || c.Height != 3 || c.Reason != "" {
		t.Fatalf("old chain after a block %+v", c)
	}
	if r.Chains["down"].Ready {
		t.Fatalf("readiness %+v", r)
	}
}

func TestReadyzRule(t *testing.T) {
	h := &obsChain{}
	now := time.Now()
	// An idle chain: an empty block every 30 s, never older than the window.
	for i := int64(1); i <= 10; i++ {
		bt := now.Add(time.Duration(i) * 30 * time.Second)
		for _, lag := range []time.Duration{0, 15 * time.Second, 31 * time.Second} {
			if ok, reason := h.judge(i, bt, bt.Add(lag)); !ok {
				t.Fatalf("idle chain at height %d, %v after its block: %s", i, lag, reason)
			}
		}
	}
	// Three empty blocks missed: stuck.
	last := now.Add(10 * 30 * time.Second)
	if ok, _ := h.judge(10, last, last.Add(ReadyStallWindow+time.Second)); ok {
		t.Fatal("a chain without a block for longer than the window is ready")
	}
	// A gateway whose clock is far ahead sees the height grow: ready for the window.
	at := last.Add(time.Hour)
	if ok, _ := h.judge(11, last, at); !ok {
		t.Fatal("not ready right after the height grew")
	}
	if ok, _ := h.judge(11, last, at.Add(ReadyStallWindow-time.Second)); !ok {
		t.Fatal("not ready within the window after the height grew")
	}
	if ok, _ := h.judge(11, last, at.Add(ReadyStallWindow+time.Second)); ok {
		t.Fatal("ready past the window without growth")
	}
}

func TestReadyzChain(t *testing.T) {
	tn := chainNet(t)
	var r api.Readiness
	getJSON(t, tn.srv.URL, "/readyz", http.StatusOK, &r)
	if c := r.Chains[testChainID]; r.Status != "ready" || !c.Ready || c.Height < 1 {
		t.Fatalf("readiness %+v", r)
	}
}
