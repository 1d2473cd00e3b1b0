package relayer_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	rpcclient "github.com/cometbft/cometbft/rpc/client"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/localnet"
	"github.com/lianchain/lian/modules/xchain"
	"github.com/lianchain/lian/node"
	"github.com/lianchain/lian/relayer"
)

// TestClientRefresh joins two chains (separate one-validator networks) by clients with
// a 6-second trusting period and runs an idle relayer: it keeps both clients from
// expiring by updating them at ⅔ of the period.
func TestClientRefresh(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 13 s")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ids := []string{"ra-1", "rb-1"}
	setup, chains := startChains(ctx, t, ids)
	path := []relayer.Path{{A: ids[0], B: ids[1]}}
	const period = 6 * time.Second
	if err := relayer.SetupPaths(ctx, setup, path, relayer.SetupOptions{TrustingPeriod: period}); err != nil {
		t.Fatal(err)
	}
	r, err := relayer.New(chains, path, relayer.Options{PollInterval: 20 * time.Millisecond, IdleRefresh: -1})
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
	select {
	case <-r.Ready():
	case <-time.After(30 * time.Second):
		t.Fatal("the relayer was not ready within 30 s")
	}
	heights := map[string]map[int64]bool{}
	for end := time.Now().Add(2*period + time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		for i, s := range setup {
			other := ids[1-i]
			res, err := s.RPC.ABCIQueryWithOptions(ctx, "/xchain/"+xchain.QueryClient, []byte(other), rpcclient.ABCIQueryOptions{})
			if err != nil || res.Response.Code != 0 {
				t.Fatalf("%s: client %s: %v %s", s.ID, other, err, res.Response.Log)
			}
			var cv xchain.ClientView
			if err := json.Unmarshal(res.Response.Value, &cv); err != nil {
				t.Fatal(err)
			}
			if cv.Status != xchain.StatusActive {
				t.Fatalf("%s: client %s is %s", s.ID, other, cv.Status)
			}
			if heights[s.ID] == nil {
				heights[s.ID] = map[int64]bool{}
			}
			heights[s.ID][cv.LatestHeight] = true
		}
	}
	for _, id := range ids {
		if len(heights[id]) < 3 {
			t.Errorf("%s: the client was at %d heights over two trusting periods, want it updated at least twice", id, len(heights[id]))
		}
	}
}

// testChain is a one-validator network started for a test.
type testChain struct {
	home  string
	net   *localnet.Network
	setup relayer.SetupChain // what SetupPaths needs
	chain *relayer.Chain     // the chain as the relayer account reaches it
	key   func(name string) crypto.PrivKey
}

// startTestChains starts each chain as a one-validator network of its own (empty
// blocks every 500 ms).
func startTestChains(ctx context.Context, t *testing.T, ids []string) []testChain {
	t.Helper()
	var out []testChain
	for _, id := range ids {
		home := t.TempDir()
		n, err := localnet.Start(ctx, localnet.Options{Home: home, Chains: []string{id}, Validators: 1, Listen: "127.0.0.1:0",
			Tuning: node.Tuning{CreateEmptyBlocksInterval: 500 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Stop() })
		ks, err := n.Keys()
		if err != nil {
			t.Fatal(err)
		}
		key := func(name string) crypto.PrivKey {
			k, err := ks.Signer(name)
			if err != nil {
				t.Fatal(err)
			}
			return k
		}
		c, err := relayer.NewChain(id, n.Endpoint(id), key(localnet.RelayerKey))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, testChain{home: home, net: n, chain: c, key: key,
			setup: relayer.SetupChain{ID: id, RPC: n.Endpoint(id), Admins: []crypto.PrivKey{key(localnet.DemoKey), key(localnet.RegulatorKey)}}})
	}
	return out
}

// startChains is startTestChains for SetupPaths and a relayer.
func startChains(ctx context.Context, t *testing.T, ids []string) ([]relayer.SetupChain, []*relayer.Chain) {
	t.Helper()
	var setup []relayer.SetupChain
	var chains []*relayer.Chain
	for _, tc := range startTestChains(ctx, t, ids) {
		setup = append(setup, tc.setup)
		chains = append(chains, tc.chain)
	}
	return setup, chains
}

// TestSetupReplacesExpiredClients: after a pause longer than the trusting period (no
// relayer ran), SetupPaths again (as lian up does at each start) replaces the expired
// clients through governance, and they are active.
func TestSetupReplacesExpiredClients(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for clients to expire")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ids := []string{"ea-1", "eb-1"}
	setup, _ := startChains(ctx, t, ids)
	path := []relayer.Path{{A: ids[0], B: ids[1]}}
	opts := relayer.SetupOptions{TrustingPeriod: 3 * time.Second}
	if err := relayer.SetupPaths(ctx, setup, path, opts); err != nil {
		t.Fatal(err)
	}
	status := func(s relayer.SetupChain, other string) string {
		res, err := s.RPC.ABCIQueryWithOptions(ctx, "/xchain/"+xchain.QueryClient, []byte(other), rpcclient.ABCIQueryOptions{})
		if err != nil || res.Response.Code != 0 {
			t.Fatalf("%s: client %s: %v %s", s.ID, other, err, res.Response.Log)
		}
		var v xchain.ClientView
		if err := json.Unmarshal(res.Response.Value, &v); err != nil {
			t.Fatal(err)
		}
		return v.Status
	}
	for deadline := time.Now().Add(30 * time.Second); status(setup[0], ids[1]) != xchain.StatusExpired || status(setup[1], ids[0]) != xchain.StatusExpired; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the clients did not expire")
		}
	}
	if err := relayer.SetupPaths(ctx, setup, path, relayer.SetupOptions{TrustingPeriod: time.Hour}); err != nil {
		t.Fatal(err)
	}
	for i, s := range setup {
		if st := status(s, ids[1-i]); st != xchain.StatusActive {
			t.Fatalf("%s: client of %s is %s after the second setup", s.ID, ids[1-i], st)
		}
	}
}
