package gateway

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/lianchain/lian/modules/evidence"
)

// metric returns the value of the series of name whose labels include labels: a
// counter's or gauge's value, a histogram's sample count. ok is false without such a
// series.
func metric(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue series
				}
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				return m.GetCounter().GetValue(), true
			case dto.MetricType_GAUGE:
				return m.GetGauge().GetValue(), true
			case dto.MetricType_HISTOGRAM:
				return float64(m.GetHistogram().GetSampleCount()), true
			}
		}
	}
	return 0, false
}

// scrape GETs /metrics and checks it is Prometheus text.
func scrape(t *testing.T, base string) string {
	t.Helper()
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %d %s: %.300s", res.StatusCode, res.Header.Get("Content-Type"), b)
	}
	return string(b)
}

func TestMetricsFake(t *testing.T) {
	f := newEvFake(t)
	a, b := genKey(t), genKey(t)
	evFakeChain(t, f, a, b)
	dead := deadURL(t)
	g, base := serveGateway(t, Config{Chains: map[string][]string{"ev": {dead, f.srv.URL}}})
	g.obs.pollEvery = 50 * time.Millisecond
	reg := g.obs.metrics.reg
	ev := map[string]string{"chain": "ev"}

	// The first scrape starts the collector and shows its first poll: the nodes, and the
	// latest block (5, empty).
	text := scrape(t, base)
	for _, s := range []string{
		`lian_node_up{chain="ev",node="` + dead + `"} 0`,
		`lian_node_up{chain="ev",node="` + f.srv.URL + `"} 1`,
		`lian_node_height{chain="ev",node="` + f.srv.URL + `"} 5`,
		`lian_node_mempool_txs{chain="ev",node="` + f.srv.URL + `"} 3`,
		`lian_node_mempool_bytes{chain="ev",node="` + f.srv.URL + `"} 300`,
		`lian_chain_height{chain="ev"} 5`,
		`lian_blocks_total{chain="ev"} 1`,
		`lian_commit_signatures_missing{chain="ev"} 1`,
		`lian_commit_validators{chain="ev"} 2`,
		`lian_chain_ready{chain="ev"} 1`,
		`process_cpu_seconds_total`,
		`go_goroutines`,
	} {
		if !strings.Contains(text, s+"\n") && !strings.Contains(text, s+" ") {
			t.Errorf("/metrics lacks %s", s)
		}
	}

	// Blocks 6 and 7: an anchor, a failed transaction; the collector reads both.
	txOK := sign(t, "ev", 0, a, anchor(digestOf("metrics ok"), "m")).Marshal()
	txBad := sign(t, "ev", 9, b, anchor(digestOf("metrics bad"), "m")).Marshal()
	f.add([][]byte{txOK}, []*abci.ExecTxResult{{GasUsed: 1000, Events: []abci.Event{{Type: "lian.tx"}}}})
	f.add([][]byte{txBad, []byte("not a transaction")}, []*abci.ExecTxResult{{Code: 5, Codespace: "lian", GasUsed: 20}, {Code: 1, Codespace: "lian"}})
	eventually(t, 10*time.Second, "blocks 6 and 7 are read", func() bool {
		v, _ := metric(t, reg, "lian_blocks_total", ev)
		return v >= 3
	})
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"lian_txs_total", map[string]string{"chain": "ev", "module": evidence.Name, "code": "ok"}, 1},
		{"lian_txs_total", map[string]string{"chain": "ev", "module": evidence.Name, "code": "bad_nonce"}, 1},
		{"lian_txs_total", map[string]string{"chain": "ev", "module": "unknown", "code": "tx_malformed"}, 1},
		{"lian_gas_used_total", ev, 1020},
		{"lian_block_interval_seconds", ev, 2}, // 5→6, 6→7
		{"lian_validator_missed_signatures_total", map[string]string{"chain": "ev", "validator": f.vals[1].Address.String()}, 3},
		{"lian_chain_height", ev, 7},
	} {
		if v, ok := metric(t, reg, c.name, c.labels); !ok || v != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, v, ok, c.want)
		}
	}
	if _, ok := metric(t, reg, "lian_validator_missed_signatures_total", map[string]string{"validator": f.vals[0].Address.String()}); ok {
		t.Errorf("the validator that signed every commit has missed signatures")
	}

	// Request metrics, by route pattern and status.
	getJSON(t, base, "/v1/chains", http.StatusOK, nil)
	call(t, base, http.MethodGet, "/v1/chains/ev/blocks/x", nil)
	call(t, base, http.MethodGet, "/no/such/route", nil)
	for _, c := range []struct {
		name   string
		labels map[string]string
	}{
		{"lian_gateway_requests_total", map[string]string{"route": "GET /v1/chains", "status": "200"}},
		{"lian_gateway_request_duration_seconds", map[string]string{"route": "GET /v1/chains", "status": "200"}},
		{"lian_gateway_requests_total", map[string]string{"route": "GET /v1/chains/{chain}/blocks/{height}", "status": "400"}},
		{"lian_gateway_requests_total", map[string]string{"route": routeUnmatched, "status": "404"}},
		{"lian_gateway_requests_total", map[string]string{"route": "GET /metrics", "status": "200"}},
	} {
		if v, ok := metric(t, reg, c.name, c.labels); !ok || v < 1 {
			t.Errorf("%s%v = %v (present %v)", c.name, c.labels, v, ok)
		}
	}

	// An open event stream is counted, and its request is not in the latency histogram.
	s := openSSE(t, base+"/v1/chains/ev/events", "")
	if v, _ := metric(t, reg, "lian_gateway_event_streams", ev); v != 1 {
		t.Errorf("event streams %v with one open", v)
	}
	s.close()
	eventually(t, 5*time.Second, "the stream is counted as ended", func() bool {
		v, _ := metric(t, reg, "lian_gateway_event_streams", ev)
		n, _ := metric(t, reg, "lian_gateway_requests_total", map[string]string{"route": routeEvents})
		return v == 0 && n == 1
	})
	if _, ok := metric(t, reg, "lian_gateway_request_duration_seconds", map[string]string{"route": routeEvents}); ok {
		t.Errorf("the event stream is in the latency histogram")
	}
}

// TestMetricsChain scrapes the gateway of the real chain after a transaction.
func TestMetricsChain(t *testing.T) {
	tn := chainNet(t)
	reg := tn.gw.obs.metrics.reg
	scrape(t, tn.srv.URL)
	res := tn.send(t, tn.admin, anchor(digestOf("metrics "+time.Now().String()), "metrics"))
	labels := map[string]string{"chain": testChainID, "module": evidence.Name, "code": "ok"}
	eventually(t, 30*time.Second, "the anchor is counted", func() bool {
		v, _ := metric(t, reg, "lian_txs_total", labels)
		h, _ := metric(t, reg, "lian_chain_height", map[string]string{"chain": testChainID})
		return v >= 1 && h >= float64(res.Height)
	})
	text := scrape(t, tn.srv.URL)
	for _, n := range tn.nodes {
		if !strings.Contains(text, `lian_node_up{chain="`+testChainID+`",node="`+n.RPCURL()+`"} 1`) {
			t.Errorf("node %s is not up in /metrics", n.RPCURL())
		}
	}
	if !strings.Contains(text, `lian_node_up{chain="`+testChainID+`",node="`+tn.dead+`"} 0`) {
		t.Errorf("the dead node is not down in /metrics")
	}
	if v, _ := metric(t, reg, "lian_gas_used_total", map[string]string{"chain": testChainID}); v <= 0 {
		t.Errorf("gas used %v", v)
	}
	if v, _ := metric(t, reg, "lian_commit_validators", map[string]string{"chain": testChainID}); v != testValidators {
		t.Errorf("commit validators %v", v)
	}
	if v, _ := metric(t, reg, "lian_chain_ready", map[string]string{"chain": testChainID}); v != 1 {
		t.Errorf("chain ready %v", v)
	}
}

// TestMetricsDocumented: every lian_* metric is in docs/metrics.md, and the Grafana
// dashboard only queries metrics that exist.
func TestMetricsDocumented(t *testing.T) {
	m := newObsMetrics()
	names := map[string]bool{}
	ch := make(chan *prometheus.Desc, 64)
	go func() {
		for _, c := range m.lian {
			c.Describe(ch)
		}
		close(ch)
	}()
	nameRe := regexp.MustCompile(`fqName: "([a-z_]+)"`)
	for d := range ch {
		names[nameRe.FindStringSubmatch(d.String())[1]] = true
	}
	doc, err := os.ReadFile("../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	for n := range names {
		if !strings.Contains(string(doc), "`"+n+"`") {
			t.Errorf("docs/metrics.md does not document %s", n)
		}
	}
	dash, err := os.ReadFile("../deploy/grafana/lian.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(dash, &d); err != nil {
		t.Fatalf("deploy/grafana/lian.json: %v", err)
	}
	used := 0
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			for _, n := range regexp.MustCompile(`\blian_[a-z_]+`).FindAllString(tg.Expr, -1) {
				used++
				base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_sum"), "_count")
				if !names[base] {
					t.Errorf("dashboard panel %q queries %s, which the gateway does not export", p.Title, n)
				}
			}
		}
	}
	if used < 20 {
		t.Fatalf("the dashboard queries %d lian metrics", used)
	}
}
