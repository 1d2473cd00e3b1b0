package node

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
)

// TestConfigRoundTrip writes a config with many non-default values through
// CometBFT's own template and checks LoadConfig reads back the same struct.
func TestConfigRoundTrip(t *testing.T) {
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, "config"), 0o700); err != nil {
		t.Fatal(err)
	}
	c := cmtcfg.DefaultConfig()
	c.SetRoot(home)
	c.Moniker = "odd name-1"
	c.DBPath = "data/sub dir/it's <db>"
	c.P2P.PersistentPeers = "a@127.0.0.1:1,b@127.0.0.1:2"
	c.P2P.LibP2PConfig.BootstrapPeers = []cmtcfg.LibP2PBootstrapPeer{
		{Host: "10.0.0.1:26656", ID: "12D3KooA", Persistent: true},
		{Host: "10.0.0.2:26656", ID: "12D3KooB", Private: true, Unconditional: true},
	}
	c.P2P.LibP2PConfig.Scaler.Overrides = []cmtcfg.LibP2PScalerOverride{
		{Reactor: "MEMPOOL", MinWorkers: 2, MaxWorkers: 9, ThresholdLatency: 7 * time.Millisecond},
		{Reactor: "CONSENSUS", MinWorkers: 1, MaxWorkers: 3, ThresholdLatency: time.Second},
	}
	c.RPC.CORSAllowedOrigins = []string{"*", "http://x"}
	c.StateSync.RPCServers = []string{"http://a:1", "http://b:2"}
	c.StateSync.ChunkFetchers = 7
	c.StateSync.TrustPeriod = 90 * time.Minute
	c.Mempool.Size = 12345
	c.Mempool.KeepInvalidTxsInCache = true
	c.Mempool.ReapMaxGas = 77
	c.Consensus.TimeoutCommit = 123 * time.Millisecond
	c.Consensus.DoubleSignCheckHeight = 3
	c.BlockSync.AdaptiveSync = true
	c.Storage.DiscardABCIResponses = true
	c.Instrumentation.Namespace = "lian"
	c.EventBusBufferCapacity = 9
	if err := writeConfig(home, c); err != nil {
		t.Fatal(err)
	}
	got, err := LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, c) {
		for _, pair := range [][2]any{
			{got.BaseConfig, c.BaseConfig}, {got.RPC, c.RPC}, {got.P2P, c.P2P}, {got.Mempool, c.Mempool},
			{got.StateSync, c.StateSync}, {got.BlockSync, c.BlockSync}, {got.Consensus, c.Consensus},
			{got.Storage, c.Storage}, {got.TxIndex, c.TxIndex}, {got.Instrumentation, c.Instrumentation},
		} {
			if !reflect.DeepEqual(pair[0], pair[1]) {
				t.Errorf("section differs:\n got %+v\nwant %+v", pair[0], pair[1])
			}
		}
	}
}

func TestParseTOML(t *testing.T) {
	src := `
# comment
top = "a\tb\u00e9\\" # trailing comment
lit = 'C:\path'
ml = """
line1 \
   still1
line2"""
mll = '''
raw \n'''
n = 1_000
h = 0x1F
neg = -5
f = 1.5e3
inf = -inf
b = true
dt = 1979-05-27T07:32:00Z
arr = [
  1, # one
  2,
]
nested = [[1, 2], ["a"]]
inline = { x = 1, "y z" = "w", a.b = false }
"quoted key" = 1
dotted.key = "v"

[tbl]
k = 1
[tbl.sub]
k = 2

[[aot]]
name = "first"
[aot.child]
v = 1
[[aot]]
name = "second"
`
	m, err := parseTOML(src)
	if err != nil {
		t.Fatal(err)
	}
	check := func(got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %#v, want %#v", got, want)
		}
	}
	check(m["top"], "a\tbé\\")
	check(m["lit"], `C:\path`)
	check(m["ml"], "line1 still1\nline2")
	check(m["mll"], `raw \n`)
	check(m["n"], int64(1000))
	check(m["h"], int64(31))
	check(m["neg"], int64(-5))
	check(m["f"], 1500.0)
	if f, _ := m["inf"].(float64); !math.IsInf(f, -1) {
		t.Errorf("inf = %v", m["inf"])
	}
	check(m["b"], true)
	check(m["dt"], time.Date(1979, 5, 27, 7, 32, 0, 0, time.UTC))
	check(m["arr"], []any{int64(1), int64(2)})
	check(m["nested"], []any{[]any{int64(1), int64(2)}, []any{"a"}})
	check(m["inline"], map[string]any{"x": int64(1), "y z": "w", "a": map[string]any{"b": false}})
	check(m["quoted key"], int64(1))
	check(m["dotted"], map[string]any{"key": "v"})
	check(m["tbl"], map[string]any{"k": int64(1), "sub": map[string]any{"k": int64(2)}})
	check(m["aot"], []any{
		map[string]any{"name": "first", "child": map[string]any{"v": int64(1)}},
		map[string]any{"name": "second"},
	})
}

func TestParseTOMLErrors(t *testing.T) {
	for _, src := range []string{
		`a = `,
		`a = "unterminated`,
		`a = bare`,
		`a = 1 2`,
		"a = 1\na = 2",
		"[t]\n[t]",
		`a = [1, 2`,
		`a = { x = 1`,
		`[t`,
		`a = "\q"`,
		`= 1`,
		`a = 012`,
	} {
		if _, err := parseTOML(src); err == nil {
			t.Errorf("parseTOML(%q): expected an error", src)
		} else if !strings.Contains(err.Error(), "line") {
			t.Errorf("error without line number: %v", err)
		}
	}
}

func TestDecodeWeakTyping(t *testing.T) {
	var s struct {
		Base struct {
			Name string `mapstructure:"name"`
		} `mapstructure:",squash"`
		N     int32         `mapstructure:"n"`
		U     uint64        `mapstructure:"u"`
		D     time.Duration `mapstructure:"d"`
		L     []string      `mapstructure:"l"`
		E     []string      `mapstructure:"e"`
		B     bool          `mapstructure:"b"`
		Keep  int           `mapstructure:"keep"`
		Inner *struct {
			X int `mapstructure:"x"`
		} `mapstructure:"inner"`
	}
	s.Keep = 42
	m, err := parseTOML(`
name = "n1"
N = "7"
u = 8
d = "1m30s"
l = "a, b,c"
e = ""
b = "true"
unknown = 1
[inner]
x = 3
`)
	if err != nil {
		t.Fatal(err)
	}
	if err := decodeTOML(m, &s); err != nil {
		t.Fatal(err)
	}
	if s.Base.Name != "n1" || s.N != 7 || s.U != 8 || s.D != 90*time.Second || !s.B || s.Keep != 42 ||
		!reflect.DeepEqual(s.L, []string{"a", "b", "c"}) || len(s.E) != 0 || s.Inner == nil || s.Inner.X != 3 {
		t.Fatalf("bad decode: %+v", s)
	}
	for _, src := range []string{`n = "x"`, `n = 99999999999`, `u = -1`, `d = "fast"`, `b = 3.5`, `inner = 1`} {
		m, err := parseTOML(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := decodeTOML(m, &s); err == nil {
			t.Errorf("decode %q: expected an error", src)
		}
	}
}
