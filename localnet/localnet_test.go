package localnet

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/lianchain/lian/node"
)

// TestStopClosesUnusedConnections: a connection a client dialed to the gateway and never
// sent a request on (Go's HTTP client does this when two requests race for a
// connection) does not make Stop fail; net/http's Shutdown alone waits 5 s for it.
func TestStopClosesUnusedConnections(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	n, err := Start(ctx, Options{Home: t.TempDir(), Chains: []string{"stop-1"}, Validators: 1, Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", strings.TrimPrefix(n.GatewayURL(), "http://"))
	if err != nil {
		n.Stop()
		t.Fatal(err)
	}
	defer conn.Close()
	if err := n.Stop(); err != nil {
		t.Fatalf("stop with an unused connection open: %v", err)
	}
}

// TestStartRetriesTakenPorts: a port picked for a fresh chain's node and bound by
// another process before the node (parallel test packages did this in CI) makes Start
// initialise that chain again with other ports; a taken port of a chain the home
// already had is an error.
func TestStartRetriesTakenPorts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	calls := 0
	initNetwork = func(spec node.NetworkSpec) ([]node.ValidatorInfo, error) {
		vals, err := node.InitNetwork(spec)
		calls++
		if err == nil && calls == 1 { // another process takes node0's RPC port
			l, lerr := net.Listen("tcp", vals[0].RPCAddr)
			if lerr != nil {
				t.Errorf("take %s: %v", vals[0].RPCAddr, lerr)
			} else {
				held = append(held, l)
			}
		}
		return vals, err
	}
	defer func() { initNetwork = node.InitNetwork }()
	opts := Options{Home: t.TempDir(), Chains: []string{"pt-1"}, Validators: 1, Listen: "127.0.0.1:0"}
	n, err := Start(ctx, opts)
	if err != nil {
		t.Fatalf("start with a port taken: %v", err)
	}
	if calls != 2 {
		t.Errorf("chain initialised %d times, want 2", calls)
	}
	if rpc := n.Chains()[0].Nodes[0].Node.RPCURL(); strings.Contains(rpc, held[0].Addr().String()) {
		t.Errorf("node RPC %s on the taken port", rpc)
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}

	// The home's chain now exists: its ports are kept, and one taken is an error.
	held[0].Close()
	l, err := net.Listen("tcp", strings.TrimPrefix(n.Chains()[0].Nodes[0].Node.RPCURL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	held[0] = l
	if n, err := Start(ctx, opts); err == nil {
		n.Stop()
		t.Fatal("start of an existing chain with its port taken: no error")
	} else if !strings.Contains(err.Error(), "taken by another process") {
		t.Errorf("start of an existing chain with its port taken: %v", err)
	}
	if calls != 2 {
		t.Errorf("existing chain initialised again (%d initialisations)", calls)
	}
}
