package gateway

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	rpctypes "github.com/cometbft/cometbft/rpc/jsonrpc/types"

	"github.com/lianchain/lian/api"
)

// answerHeight makes f answer every ABCI query with a JSON value at the height h holds.
func answerHeight(f *fakeNode, h *atomic.Int64) {
	f.answer("abci_query", func() (any, *rpctypes.RPCError) {
		return &ctypes.ResultABCIQuery{Response: abci.ResponseQuery{Value: []byte(`{"p":1}`), Height: h.Load()}}, nil
	})
}

// TestReadsNeverGoBack: after a failover to a node that lags, a read of the latest state
// is not answered from a height older than one the gateway has answered from: it waits
// for a node to catch up, and says so when none does in time.
func TestReadsNeverGoBack(t *testing.T) {
	a, b := newFakeNode(t), newFakeNode(t)
	var ha, hb atomic.Int64
	ha.Store(10)
	hb.Store(8)
	answerHeight(a, &ha)
	answerHeight(b, &hb)
	_, base := serveGateway(t, Config{Chains: map[string][]string{"c": {a.url(), b.url()}}})

	read := func() api.Params {
		t.Helper()
		var p api.Params
		getJSON(t, base, "/v1/chains/c/credits/params", http.StatusOK, &p)
		return p
	}
	if p := read(); p.Height != 10 {
		t.Fatalf("first read at height %d, want 10 (node a)", p.Height)
	}

	// Node a goes away; node b, two blocks behind, catches up 300 ms later.
	a.srv.Close()
	start := time.Now()
	go func() {
		time.Sleep(300 * time.Millisecond)
		hb.Store(10)
	}()
	if p := read(); p.Height != 10 {
		t.Fatalf("read after the failover at height %d, want 10", p.Height)
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Fatalf("answered after %v: the lagging node's state was served", d)
	}

	// A node that does not catch up within the wait: 503, saying why.
	hb.Store(9)
	status, body := call(t, base, http.MethodGet, "/v1/chains/c/credits/params", nil)
	e := apiErr(t, "behind", status, http.StatusServiceUnavailable, body, "unavailable")
	if want := "behind height 10"; !strings.Contains(e.Message, want) {
		t.Fatalf("message %q, want it to say %q", e.Message, want)
	}
	// A node that moved on answers, and raises the floor.
	hb.Store(12)
	if p := read(); p.Height != 12 {
		t.Fatalf("read at height %d, want 12", p.Height)
	}
}

// TestStaleNodesAskedLast: a node the freshness watcher saw staleBlocks or more behind
// the chain's best is asked only after the others, even when it answered last; when
// every node fails, all were asked, the stale one last.
func TestStaleNodesAskedLast(t *testing.T) {
	c := &chain{id: "c", nodes: []*rpcNode{{url: "n0"}, {url: "n1"}, {url: "n2"}}}
	c.nodes[0].height.Store(8)
	c.nodes[1].height.Store(10)
	c.nodes[2].height.Store(9)
	c.best.Store(10)
	var asked []string
	ask := func(fail bool) error {
		asked = nil
		return c.do(t.Context(), func(_ context.Context, n *rpcNode) error {
			asked = append(asked, n.url)
			if fail {
				return errors.New("connection refused")
			}
			return nil
		})
	}
	if err := ask(true); err == nil || strings.Join(asked, ",") != "n1,n2,n0" {
		t.Fatalf("all failing: asked %v (%v), want n1,n2,n0", asked, err)
	}
	if err := ask(false); err != nil || strings.Join(asked, ",") != "n1" || c.cur.Load() != 1 {
		t.Fatalf("asked %v, cur %d (%v); want n1 first and then first", asked, c.cur.Load(), err)
	}
	// Within staleBlocks of the best, a node is fresh: the order is the rotation.
	c.nodes[0].height.Store(9)
	c.cur.Store(0)
	if err := ask(true); err == nil || strings.Join(asked, ",") != "n0,n1,n2" {
		t.Fatalf("all fresh: asked %v, want n0,n1,n2", asked)
	}
}
