package localnet

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"
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
