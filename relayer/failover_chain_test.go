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

	"github.com/lianchain/lian/crypto"
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
	var setup []relayer.SetupChain
	var cfg relayer.Config
	nets := map[string]*localnet.Network{}
	for _, id := range ids {
		home := t.TempDir()
		n, err := localnet.Start(ctx, localnet.Options{Home: home, Chains: []string{id}, Validators: 1, Listen: "127.0.0.1:0",
			Tuning: node.Tuning{CreateEmptyBlocksInterval: 500 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Stop() })
		nets[id] = n
		ks, err := n.Keys()
		if err != nil {
			t.Fatal(err)
		}
		var admins []crypto.PrivKey
		for _, name := range []string{localnet.DemoKey, localnet.RegulatorKey} {
			k, err := ks.Signer(name)
			if err != nil {
				t.Fatal(err)
			}
			admins = append(admins, k)
		}
		setup = append(setup, relayer.SetupChain{ID: id, RPC: n.Endpoint(id), Admins: admins})
		cfg.Chains = append(cfg.Chains, relayer.ChainConfig{ID: id, RPC: dead,
			BackupRPC: []string{n.Chains()[0].Nodes[0].Node.RPCURL()},
			KeyFile:   filepath.Join(home, "keys", localnet.RelayerKey+".json")})
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
	src := nets[ids[0]]
	ks, err := src.Keys()
	if err != nil {
		t.Fatal(err)
	}
	demo, err := ks.Signer(localnet.DemoKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := relayer.NewChain(ids[0], src.Endpoint(ids[0]), demo)
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
