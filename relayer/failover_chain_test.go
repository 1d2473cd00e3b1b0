package relayer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	rpcclient "github.com/cometbft/cometbft/rpc/client"

	"github.com/lianchain/lian/localnet"
	"github.com/lianchain/lian/modules/attest"
	"github.com/lianchain/lian/node"
	"github.com/lianchain/lian/relayer"
	"github.com/lianchain/lian/txs"
)

// TestConfigBackupRPC runs a relayer from a configuration file whose first RPC endpoint
// of each chain is a dead address and whose backup_rpc is the chain's node: it relays an
// attestation request and its answer.
func TestConfigBackupRPC(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two chains")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ids := []string{"fa-1", "fb-1"}
	ports, err := node.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	dead := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	tcs := startTestChains(ctx, t, ids)
	var setup []relayer.SetupChain
	var cfg relayer.Config
	for _, tc := range tcs {
		setup = append(setup, tc.setup)
		cfg.Chains = append(cfg.Chains, relayer.ChainConfig{ID: tc.setup.ID, RPC: dead,
			BackupRPC: []string{tc.net.Chains()[0].Nodes[0].Node.RPCURL()},
			KeyFile:   filepath.Join(tc.home, "keys", localnet.RelayerKey+".json")})
	}
	cfg.Paths = []relayer.Path{{A: ids[0], B: ids[1]}}
	if err := relayer.SetupPaths(ctx, setup, cfg.Paths, relayer.SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "relayer.json")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	loaded, err := relayer.LoadConfig(file)
	if err != nil {
		t.Fatal(err)
	}
	r, err := loaded.Connect(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := r.Run(rctx); err != nil {
			t.Error(err)
		}
	}()
	defer func() { stop(); <-done }()

	// Ask fa-1 about a digest; the relayer must carry the question and the answer.
	src := tcs[0].net
	c, err := relayer.NewChain(ids[0], src.Endpoint(ids[0]), tcs[0].key(localnet.DemoKey))
	if err != nil {
		t.Fatal(err)
	}
	route := relayer.RouteID(attest.Name, ids[1])
	res, err := c.SubmitAndWait(ctx, []txs.Msg{&attest.MsgAttest{Route: route, Digest: make([]byte, 32)}})
	if err != nil {
		t.Fatal(err)
	}
	var seq uint64
	for _, e := range res.TxResult.Events {
		for _, a := range e.Attributes {
			if e.Type == attest.EventRequested && a.Key == "sequence" {
				seq, _ = strconv.ParseUint(a.Value, 10, 64)
			}
		}
	}
	if seq == 0 {
		t.Fatalf("no request sequence in %v", res.TxResult.Events)
	}
	for {
		q, err := src.Endpoint(ids[0]).ABCIQueryWithOptions(ctx, "/attest/"+attest.QueryRequest, []byte(fmt.Sprintf("%s/%d", route, seq)), rpcclient.ABCIQueryOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var req attest.Request
		if err := json.Unmarshal(q.Response.Value, &req); err != nil {
			t.Fatalf("request %s: %v", q.Response.Log, err)
		}
		if req.Status == attest.StatusAnswered {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("request %s/%d still %s: %v", route, seq, req.Status, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
