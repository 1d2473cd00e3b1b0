package node

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	cmtlog "github.com/cometbft/cometbft/libs/log"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/cometbft/cometbft/types"
)

// countApp accepts every tx; its app hash is the number of txs committed so
// far. It keeps no state on disk, so after a restart CometBFT replays the
// chain into a fresh instance.
type countApp struct {
	abci.BaseApplication

	mu  sync.Mutex
	txs uint64
}

func (a *countApp) hash() []byte {
	return binary.BigEndian.AppendUint64(nil, a.txs)
}

func (a *countApp) FinalizeBlock(_ context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	res := make([]*abci.ExecTxResult, len(req.Txs))
	for i := range req.Txs {
		a.txs++
		res[i] = &abci.ExecTxResult{Code: abci.CodeTypeOK, Events: []abci.Event{{
			Type:       "count",
			Attributes: []abci.EventAttribute{{Key: "n", Value: fmt.Sprint(a.txs), Index: true}},
		}}}
	}
	return &abci.ResponseFinalizeBlock{TxResults: res, AppHash: a.hash()}, nil
}

func (a *countApp) Query(context.Context, *abci.RequestQuery) (*abci.ResponseQuery, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return &abci.ResponseQuery{Code: abci.CodeTypeOK, Value: a.hash()}, nil
}

// syncBuffer collects node logs; they are printed only if the test fails.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func testLogger(t *testing.T) cmtlog.Logger {
	t.Helper()
	buf := &syncBuffer{}
	logger, err := NewLogger(buf, "error")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			buf.mu.Lock()
			defer buf.mu.Unlock()
			t.Logf("node logs:\n%s", buf.buf.String())
		}
	})
	return logger
}

// fastTuning makes empty blocks follow quickly so tests need not wait 30s.
var fastTuning = Tuning{CreateEmptyBlocksInterval: 200 * time.Millisecond}

func startAll(t *testing.T, vals []ValidatorInfo, logger cmtlog.Logger) []*Node {
	t.Helper()
	nodes := make([]*Node, len(vals))
	for i, v := range vals {
		n, err := Start(v.Home, &countApp{}, logger.With("node", v.Moniker))
		if err != nil {
			stopAll(t, nodes)
			t.Fatalf("start %s: %v", v.Moniker, err)
		}
		nodes[i] = n
	}
	t.Cleanup(func() { stopAll(t, nodes) })
	return nodes
}

func stopAll(t *testing.T, nodes []*Node) {
	t.Helper()
	var wg sync.WaitGroup
	for _, n := range nodes {
		if n == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := n.Stop(); err != nil {
				t.Errorf("stop %s: %v", n.Home(), err)
			}
		}()
	}
	wg.Wait()
}

func waitAll(t *testing.T, ctx context.Context, nodes []*Node, h int64) {
	t.Helper()
	for _, n := range nodes {
		if err := n.WaitForHeight(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
}

// waitTx polls the tx index (by hash) until the tx is committed.
func waitTx(t *testing.T, ctx context.Context, c *rpchttp.HTTP, hash []byte) int64 {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		res, err := c.Tx(ctx, hash, false)
		if err == nil {
			if res.TxResult.Code != abci.CodeTypeOK {
				t.Fatalf("tx failed: %+v", res.TxResult)
			}
			return res.Height
		}
		select {
		case <-ctx.Done():
			t.Fatalf("tx %X not committed: %v (last error %v)", hash, ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// TestNetworkRunAndRestart starts a 4-validator network in process, commits
// a tx through RPC, then stops and restarts every node on the same homes.
func TestNetworkRunAndRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	logger := testLogger(t)

	vals, err := InitNetwork(NetworkSpec{
		ChainID:    "lian-test",
		Dir:        t.TempDir(),
		Validators: 4,
		Tuning:     fastTuning,
		AppState: func(vals []ValidatorInfo) (json.RawMessage, error) {
			return json.Marshal(map[string]int{"validators": len(vals)})
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(vals) != 4 {
		t.Fatalf("got %d validators", len(vals))
	}

	// 1. Run: all nodes reach height 3; a tx submitted via RPC is committed.
	nodes := startAll(t, vals, logger)
	waitAll(t, ctx, nodes, 3)
	if nodes[0].ChainID() != "lian-test" {
		t.Fatalf("chain id %q", nodes[0].ChainID())
	}
	if nodes[2].RPCAddr() != vals[2].RPCAddr || nodes[2].RPCURL() != "http://"+vals[2].RPCAddr {
		t.Fatalf("rpc addr %q / %q, want %q", nodes[2].RPCAddr(), nodes[2].RPCURL(), vals[2].RPCAddr)
	}
	if err := nodes[1].WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	client, err := rpchttp.New(nodes[1].RPCURL(), "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	tx := types.Tx("hello lian")
	res, err := client.BroadcastTxSync(ctx, tx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Code != abci.CodeTypeOK {
		t.Fatalf("check tx: %+v", res)
	}
	txHeight := waitTx(t, ctx, client, tx.Hash())
	// The index is fed by the node (indexFeed), not by CometBFT's event-bus
	// subscriber: nothing subscribes to the bus here (a renamed subscriber
	// would show as a client).
	for _, n := range nodes {
		if c := n.CometNode().EventBus().NumClients(); c != 0 {
			t.Fatalf("%s: %d event-bus clients, want none (CometBFT's IndexerService must be unsubscribed)", n.Home(), c)
		}
	}
	// Another node indexes it too (indexing runs asynchronously after the
	// commit, so poll the event search).
	other, err := rpchttp.New(nodes[3].RPCURL(), "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	query := fmt.Sprintf("tx.hash='%X' AND count.n='1'", tx.Hash())
	for {
		found, err := other.TxSearch(ctx, query, false, nil, nil, "")
		if err == nil && found.TotalCount == 1 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("tx search on node3: %v %+v", err, found)
		case <-time.After(20 * time.Millisecond):
		}
	}

	// 2. Restart: stop everything, start again on the same homes; heights
	// continue past the old ones.
	stopAll(t, nodes)
	for _, n := range nodes {
		if err := n.Stop(); err != nil { // second Stop is a no-op
			t.Fatalf("second stop: %v", err)
		}
	}
	var oldMax int64
	oldHeights := make([]int64, len(nodes))
	for i, n := range nodes {
		oldHeights[i] = n.Height()
		oldMax = max(oldMax, oldHeights[i])
	}
	// A stop between a commit and its indexing loses the index entry (the
	// indexer trails the commit); simulate it on node0 and expect the start
	// to repair it from the block store.
	dropIndexedTx(t, nodes[0].Config().DBDir(), tx.Hash())
	nodes = startAll(t, vals, logger)
	for i, n := range nodes {
		if n.Height() != oldHeights[i] {
			t.Fatalf("restarted %s at height %d, stopped at %d", n.Home(), n.Height(), oldHeights[i])
		}
	}
	waitAll(t, ctx, nodes, oldMax+2)
	// The tx index survived the restart and new txs still commit.
	client, err = rpchttp.New(nodes[0].RPCURL(), "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	if h := waitTx(t, ctx, client, tx.Hash()); h != txHeight {
		t.Fatalf("tx height after restart %d, want %d", h, txHeight)
	}
	if err := nodes[0].WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	tx2 := types.Tx("after restart")
	if res, err := client.BroadcastTxSync(ctx, tx2); err != nil || res.Code != abci.CodeTypeOK {
		t.Fatalf("broadcast after restart: %v %+v", err, res)
	}
	if h := waitTx(t, ctx, client, tx2.Hash()); h <= oldMax {
		t.Fatalf("new tx at height %d, not above %d", h, oldMax)
	}
}

// dropIndexedTx deletes a tx's primary entry from a stopped node's kv index.
func dropIndexedTx(t *testing.T, dbDir string, hash []byte) {
	t.Helper()
	db, err := dbm.NewGoLevelDB("tx_index", dbDir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The entry may already be missing: that is the race being repaired.
	if err := db.DeleteSync(hash); err != nil {
		t.Fatal(err)
	}
}

func TestInitNetworkRefusesOverwrite(t *testing.T) {
	dir := t.TempDir()
	spec := NetworkSpec{ChainID: "c", Dir: dir, Validators: 2}
	if _, err := InitNetwork(spec); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(filepath.Join(dir, "node1", "config", "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = InitNetwork(spec)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "node0")) {
		t.Fatalf("expected refusal naming node0, got %v", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "node1", "config", "genesis.json"))
	if !bytes.Equal(before, after) {
		t.Fatal("existing home was modified")
	}

	// Only node2 would be new: still refused, and nothing is left behind.
	spec.Validators = 3
	if _, err := InitNetwork(spec); err == nil {
		t.Fatal("expected refusal")
	}
	if _, err := os.Stat(filepath.Join(dir, "node2")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("node2 was created: %v", err)
	}

	// A failing AppState leaves no homes behind.
	dir2 := t.TempDir()
	_, err = InitNetwork(NetworkSpec{ChainID: "c", Dir: dir2, Validators: 2,
		AppState: func([]ValidatorInfo) (json.RawMessage, error) { return nil, errors.New("boom") }})
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("expected app state error, got %v", err)
	}
	if entries, _ := os.ReadDir(dir2); len(entries) != 0 {
		t.Fatalf("left behind: %v", entries)
	}
}

func TestStartRejectsBadKeyFiles(t *testing.T) {
	vals, err := InitNetwork(NetworkSpec{ChainID: "c", Dir: t.TempDir(), Validators: 1})
	if err != nil {
		t.Fatal(err)
	}
	home := vals[0].Home
	keyFile := filepath.Join(home, "config", "priv_validator_key.json")
	stateFile := filepath.Join(home, "data", "priv_validator_state.json")
	nodeKeyFile := filepath.Join(home, "config", "node_key.json")
	goodKey, _ := os.ReadFile(keyFile)
	goodState, _ := os.ReadFile(stateFile)
	goodNodeKey, _ := os.ReadFile(nodeKeyFile)

	// A valid ed25519 key JSON whose private key is too short (CometBFT would
	// panic deriving the public key).
	shortKey := `{"address":"","pub_key":null,"priv_key":{"type":"tendermint/PrivKeyEd25519","value":"AAEC"}}`
	cases := []struct {
		name, file, content, want string
	}{
		{"corrupt key", keyFile, "{not json", "validator key"},
		{"empty key", keyFile, "", "validator key"},
		{"short key", keyFile, shortKey, "malformed priv_key"},
		{"no priv key", keyFile, `{"address":"","pub_key":null,"priv_key":null}`, "missing priv_key"},
		{"corrupt state", stateFile, `{"height":"x"`, "validator state"},
		{"missing state", stateFile, "", "validator state"},
		{"corrupt node key", nodeKeyFile, `[]`, "node key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Cleanup(func() {
				_ = os.WriteFile(keyFile, goodKey, 0o600)
				_ = os.WriteFile(stateFile, goodState, 0o600)
				_ = os.WriteFile(nodeKeyFile, goodNodeKey, 0o600)
			})
			if tc.name == "missing state" {
				if err := os.Remove(tc.file); err != nil {
					t.Fatal(err)
				}
			} else if err := os.WriteFile(tc.file, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			n, err := Start(home, &countApp{}, nil)
			if err == nil {
				_ = n.Stop()
				t.Fatal("Start succeeded with a bad key file")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
		})
	}

	// With good files the single validator runs, and WaitReady works without
	// block sync (it is the only validator).
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := Start(home, &countApp{}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	if err := n.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	// A second Start on a running home fails cleanly (DB locked).
	if n2, err := Start(home, &countApp{}, nil); err == nil {
		_ = n2.Stop()
		t.Fatal("second Start on the same home succeeded")
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := n.WaitForHeight(ctx, n.Height()+1); err == nil {
		t.Fatal("WaitForHeight on a stopped node returned nil")
	}
}

func TestConfigKnobsWritten(t *testing.T) {
	recheck := false
	dir := t.TempDir()
	gt := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	vals, err := InitNetwork(NetworkSpec{
		ChainID:     "knobs",
		Dir:         dir,
		Validators:  3,
		Hosts:       []string{"10.1.0.1", "10.1.0.2", "10.1.0.3"},
		BasePort:    26656,
		Power:       7,
		GenesisTime: gt,
		Tuning:      Tuning{MempoolSize: 777, Recheck: &recheck, Indexer: "null"},
		AppState: func(vals []ValidatorInfo) (json.RawMessage, error) {
			return json.RawMessage(fmt.Sprintf(`{"first":%q}`, vals[0].Address)), nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vals {
		if v.Index != i || v.Moniker != fmt.Sprintf("node%d", i) || v.Home != filepath.Join(dir, v.Moniker) ||
			len(v.PubKey) != 32 || len(v.Address) != 40 || strings.ToUpper(v.Address) != v.Address ||
			v.Power != 7 || len(v.NodeID) != 40 {
			t.Fatalf("bad validator info %+v", v)
		}
		if want := fmt.Sprintf("10.1.0.%d:26656", i+1); v.P2PAddr != want {
			t.Fatalf("p2p addr %q, want %q", v.P2PAddr, want)
		}
		if want := fmt.Sprintf("10.1.0.%d:26657", i+1); v.RPCAddr != want {
			t.Fatalf("rpc addr %q, want %q", v.RPCAddr, want)
		}
	}

	c, err := LoadConfig(vals[1].Home)
	if err != nil {
		t.Fatal(err)
	}
	if c.Mempool.Size != 777 || c.Mempool.Recheck || c.Mempool.MaxTxsBytes != 256<<20 || c.Mempool.MaxTxBytes != 1<<20 {
		t.Errorf("mempool: %+v", c.Mempool)
	}
	if c.Consensus.TimeoutCommit != 100*time.Millisecond || c.Consensus.TimeoutPropose != 3*time.Second ||
		!c.Consensus.CreateEmptyBlocks || c.Consensus.CreateEmptyBlocksInterval != 30*time.Second ||
		c.Consensus.PeerGossipSleepDuration != DefaultGossipSleep {
		t.Errorf("consensus: %+v", c.Consensus)
	}
	if c.TxIndex.Indexer != "null" || c.Instrumentation.Prometheus || c.RPC.PprofListenAddress != "" || c.LogLevel != "error" {
		t.Errorf("misc: indexer %q prometheus %v pprof %q log %q",
			c.TxIndex.Indexer, c.Instrumentation.Prometheus, c.RPC.PprofListenAddress, c.LogLevel)
	}
	if c.P2P.PexReactor || c.P2P.AddrBookStrict || !c.P2P.AllowDuplicateIP {
		t.Errorf("p2p: %+v", c.P2P)
	}
	if c.P2P.ListenAddress != "tcp://0.0.0.0:26656" || c.P2P.ExternalAddress != "10.1.0.2:26656" ||
		c.RPC.ListenAddress != "tcp://0.0.0.0:26657" {
		t.Errorf("addresses: p2p %q ext %q rpc %q", c.P2P.ListenAddress, c.P2P.ExternalAddress, c.RPC.ListenAddress)
	}
	wantPeers := vals[0].NodeID + "@10.1.0.1:26656," + vals[2].NodeID + "@10.1.0.3:26656"
	if c.P2P.PersistentPeers != wantPeers {
		t.Errorf("persistent_peers %q, want %q", c.P2P.PersistentPeers, wantPeers)
	}
	if c.GenesisFile() != filepath.Join(vals[1].Home, "config", "genesis.json") {
		t.Errorf("genesis file %q", c.GenesisFile())
	}

	// Genesis: identical bytes everywhere, explicit consensus params.
	g0, err := os.ReadFile(filepath.Join(vals[0].Home, "config", "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vals[1:] {
		g, _ := os.ReadFile(filepath.Join(v.Home, "config", "genesis.json"))
		if !bytes.Equal(g, g0) {
			t.Fatalf("genesis of %s differs", v.Moniker)
		}
	}
	gen, err := types.GenesisDocFromJSON(g0)
	if err != nil {
		t.Fatal(err)
	}
	p := gen.ConsensusParams
	if p.Block.MaxBytes != 4<<20 || p.Block.MaxGas != -1 || p.Evidence.MaxBytes != 1<<20 {
		t.Errorf("consensus params %+v", p)
	}
	var raw struct {
		ConsensusParams struct {
			Block struct {
				MaxBytes string `json:"max_bytes"`
			} `json:"block"`
		} `json:"consensus_params"`
	}
	if err := json.Unmarshal(g0, &raw); err != nil || raw.ConsensusParams.Block.MaxBytes != "4194304" {
		t.Errorf("block.max_bytes in genesis.json = %q (%v)", raw.ConsensusParams.Block.MaxBytes, err)
	}
	if !gen.GenesisTime.Equal(gt) || len(gen.Validators) != 3 {
		t.Errorf("genesis time %v, %d validators", gen.GenesisTime, len(gen.Validators))
	}
	for i, gv := range gen.Validators {
		if gv.Address.String() != vals[i].Address || gv.Power != 7 || !bytes.Equal(gv.PubKey.Bytes(), vals[i].PubKey) {
			t.Errorf("genesis validator %d = %+v", i, gv)
		}
	}
	chainID, appState, err := LoadGenesis(vals[2].Home)
	var compact bytes.Buffer
	if err == nil {
		err = json.Compact(&compact, appState)
	}
	if err != nil || chainID != "knobs" || compact.String() != fmt.Sprintf(`{"first":%q}`, vals[0].Address) {
		t.Errorf("LoadGenesis = %q %s %v", chainID, appState, err)
	}
	if DataDir(vals[0].Home) != filepath.Join(vals[0].Home, "data") {
		t.Errorf("DataDir = %q", DataDir(vals[0].Home))
	}

	// Repeated hosts with a base port: ports step by 2.
	vals, err = InitNetwork(NetworkSpec{ChainID: "ports", Dir: t.TempDir(), Validators: 3, BasePort: 40000})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vals {
		if v.P2PAddr != fmt.Sprintf("127.0.0.1:%d", 40000+2*i) || v.RPCAddr != fmt.Sprintf("127.0.0.1:%d", 40001+2*i) {
			t.Errorf("node%d: %s / %s", i, v.P2PAddr, v.RPCAddr)
		}
	}
	c, err = LoadConfig(vals[0].Home)
	if err != nil {
		t.Fatal(err)
	}
	if c.P2P.ListenAddress != "tcp://127.0.0.1:40000" || c.P2P.ExternalAddress != "" || c.RPC.ListenAddress != "tcp://127.0.0.1:40001" ||
		c.Mempool.Size != 50000 || !c.Mempool.Recheck || c.TxIndex.Indexer != "kv" {
		t.Errorf("defaults: %q %q %q size %d recheck %v indexer %q", c.P2P.ListenAddress, c.P2P.ExternalAddress,
			c.RPC.ListenAddress, c.Mempool.Size, c.Mempool.Recheck, c.TxIndex.Indexer)
	}

	// Bad specs.
	for _, spec := range []NetworkSpec{
		{Dir: t.TempDir(), Validators: 1},
		{ChainID: "x", Dir: t.TempDir(), Validators: 0},
		{ChainID: "x", Dir: t.TempDir(), Validators: 3, Hosts: []string{"a", "b"}},
		{ChainID: "x", Dir: t.TempDir(), Validators: 1, Tuning: Tuning{Indexer: "psql"}},
		{ChainID: "x", Dir: t.TempDir(), Validators: 1, Tuning: Tuning{GossipSleep: -time.Millisecond}},
		{ChainID: "x", Dir: t.TempDir(), Validators: 2, BasePort: 65534},
	} {
		if _, err := InitNetwork(spec); err == nil {
			t.Errorf("InitNetwork(%+v) succeeded", spec)
		}
	}
}

func TestFreePortsAndLogger(t *testing.T) {
	ports, err := FreePorts(10)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p <= 0 || seen[p] {
			t.Fatalf("bad ports %v", ports)
		}
		seen[p] = true
	}
	var buf syncBuffer
	for _, lvl := range []string{"debug", "info", "warn", "error", "none", ""} {
		if _, err := NewLogger(&buf, lvl); err != nil {
			t.Errorf("level %q: %v", lvl, err)
		}
	}
	if _, err := NewLogger(&buf, "loud"); err == nil {
		t.Error("unknown level accepted")
	}
	l, _ := NewLogger(&buf, "error")
	l.Info("hidden")
	l.Error("shown", "k", 1)
	if s := buf.buf.String(); strings.Contains(s, "hidden") || !strings.Contains(s, "shown") {
		t.Errorf("log output %q", s)
	}
}
