package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/cometbft/cometbft/types"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/modules/evidence"
	"github.com/lianchain/lian/txs"
)

type initOutput struct {
	ChainID string `json:"chain_id"`
	Nodes   []struct {
		Home string `json:"home"`
		RPC  string `json:"rpc"`
	} `json:"nodes"`
	Keys string `json:"keys"`
}

// procNet is a chain of `lian node start` processes made by `lian network init`.
type procNet struct {
	t       *testing.T
	dir     string // network init's --out: node homes, keys, trust
	chainID string
	init    initOutput
	procs   []*proc
	clients []*rpchttp.HTTP
	admin   crypto.PrivKey
	nonce   uint64
}

// startProcNet writes a network of n validators with `lian network init`, starts each
// node as its own process and waits until every one has committed height 1. The ports
// network init picked free may be bound by another test package before a node binds
// them: the node exits, and the network is written again with other ports (3 tries).
func startProcNet(t *testing.T, chainID string, n int) *procNet {
	t.Helper()
	var pn *procNet
	for attempt := 1; ; attempt++ {
		pn = &procNet{t: t, dir: t.TempDir(), chainID: chainID}
		if pn.start(n) {
			break
		}
		for _, p := range pn.procs {
			p.kill()
		}
		if attempt == 3 {
			t.Fatal("network init's ports were taken by other processes 3 times")
		}
		t.Logf("a node's port was taken by another process: writing the network again")
	}
	ks, err := crypto.OpenKeystore(pn.init.Keys)
	if err != nil {
		t.Fatal(err)
	}
	if pn.admin, err = ks.Signer("org1-admin"); err != nil {
		t.Fatal(err)
	}
	return pn
}

// start writes the network into pn.dir, starts its nodes and waits until each has
// committed height 1; false if a node exited because its port was taken.
func (pn *procNet) start(n int) bool {
	t := pn.t
	t.Helper()
	runJSON(t, &pn.init, "network", "init", "--chain-id", pn.chainID, "--validators", fmt.Sprint(n), "--out", pn.dir)
	if len(pn.init.Nodes) != n {
		t.Fatalf("network init wrote %d nodes", len(pn.init.Nodes))
	}
	for _, nd := range pn.init.Nodes {
		pn.procs = append(pn.procs, start(t, "node", "start", "--home", nd.Home))
		c, err := rpchttp.New("http://"+nd.RPC, "/websocket")
		if err != nil {
			t.Fatal(err)
		}
		pn.clients = append(pn.clients, c)
	}
	taken := false
	for i, p := range pn.procs {
		// Height 1 comes at once; the next only with a tx or after the 30 s empty-block
		// interval, so wait for 1 and for block sync to end (height() checks both).
		poll(t, 90*time.Second, fmt.Sprintf("node%d to commit height 1", i), func() bool {
			taken = p.exited() && strings.Contains(p.output(), "address already in use")
			return taken || pn.height(i) >= 1
		})
		if taken {
			return false
		}
	}
	return true
}

// height is node i's latest height, or 0 if it does not answer or is catching up.
func (pn *procNet) height(i int) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := pn.clients[i].Status(ctx)
	if err != nil || st.SyncInfo.CatchingUp {
		return 0
	}
	return st.SyncInfo.LatestBlockHeight
}

// broadcast anchors the digest of doc with org1's admin through node via and returns
// the transaction's hash once the node admitted it.
func (pn *procNet) broadcast(via int, doc string) txs.Hash {
	t := pn.t
	t.Helper()
	d := sha256.Sum256([]byte(doc))
	body := txs.NewBody(pn.chainID, pn.nonce, &evidence.MsgAnchor{Digest: d[:], HashAlgo: evidence.HashSHA256, Label: doc})
	body.Sender = pn.admin.PubKey().Address()
	tx, err := txs.Sign(body, pn.admin)
	if err != nil {
		t.Fatal(err)
	}
	bz := tx.Marshal()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	res, err := pn.clients[via].BroadcastTxSync(ctx, bz)
	cancel()
	if err != nil || res.Code != 0 {
		t.Fatalf("broadcast %s via node%d: %v %+v", doc, via, err, res)
	}
	pn.nonce++
	return txs.HashOf(bz)
}

// committed reports whether node i has the transaction in a block; a failed one fails
// the test.
func (pn *procNet) committed(i int, hash txs.Hash) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	r, err := pn.clients[i].Tx(ctx, hash[:], false)
	if err != nil {
		return false
	}
	if r.TxResult.Code != 0 {
		pn.t.Fatalf("tx %s failed: %s", hash, r.TxResult.Log)
	}
	return true
}

// submit broadcasts like broadcast and waits until the transaction is committed.
func (pn *procNet) submit(via int, doc string) {
	pn.t.Helper()
	hash := pn.broadcast(via, doc)
	poll(pn.t, 30*time.Second, "tx "+doc+" to commit", func() bool { return pn.committed(via, hash) })
}

// block is node i's block at height h.
func (pn *procNet) block(i int, h int64) *types.Block {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	b, err := pn.clients[i].Block(ctx, &h)
	if err != nil {
		pn.t.Fatalf("node%d block %d: %v", i, h, err)
	}
	return b.Block
}

// stop stops every node with SIGINT and returns their homes.
func (pn *procNet) stop() []string {
	var homes []string
	for i, p := range pn.procs {
		p.interrupt(pn.t)
		homes = append(homes, pn.init.Nodes[i].Home)
	}
	return homes
}

// TestSeparateProcessNetwork runs a 4-validator chain as four `lian node start`
// processes: transactions commit; with one validator killed (kill -9) the other three
// keep committing; restarted, it catches up and all four agree on the app hash.
func TestSeparateProcessNetwork(t *testing.T) {
	const chainID = "proc-1"
	pn := startProcNet(t, chainID, 4)
	procs, init, height, submit := pn.procs, pn.init, pn.height, pn.submit
	dir := pn.dir
	for i := 0; i < 3; i++ {
		submit(i, fmt.Sprintf("before-%d", i))
	}

	// kill -9 one validator; the other three (> 2/3 of the power) keep committing.
	procs[3].kill()
	h0 := height(0)
	for i := 0; i < 3; i++ {
		submit(i, fmt.Sprintf("during-%d", i))
	}
	poll(t, 30*time.Second, "the three survivors to pass the kill height by 3", func() bool {
		return height(0) >= h0+3 && height(1) >= h0+3 && height(2) >= h0+3
	})

	// Restart it: it catches up.
	procs[3] = start(t, "node", "start", "--home", init.Nodes[3].Home)
	submit(0, "after")
	target := height(0)
	// Every node, the restarted one included, reaches the target (a live node may be a
	// block behind node0 at any moment, so wait for all four before comparing).
	poll(t, 90*time.Second, "all four nodes, node3 included, to reach the target height", func() bool {
		return height(3) >= target && height(0) >= target && height(1) >= target && height(2) >= target
	})

	// All four report the same app hash at the same height.
	want := pn.block(0, target).AppHash
	for i := 1; i < 4; i++ {
		if got := pn.block(i, target).AppHash; !bytes.Equal(got, want) {
			t.Fatalf("node%d app hash at %d is %X, node0 has %X", i, target, got, want)
		}
	}
	// The restarted node serves a transaction committed while it was down.
	d := sha256.Sum256([]byte("during-1"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	q, err := pn.clients[3].ABCIQuery(ctx, "/evidence/digest", d[:])
	if err != nil || q.Response.Code != 0 {
		t.Fatalf("node3 query: %v %+v", err, q)
	}
	rec, err := evidence.DecodeRecord(q.Response.Value)
	if err != nil || rec.Label != "during-1" {
		t.Fatalf("node3 record %+v %v", rec, err)
	}

	// A gateway process in front of two of the nodes; the CLI with org2's admin key (from
	// the keys network init wrote) anchors through it and verifies the proof against the
	// genesis validator set in <out>/trust.
	gw := start(t, "gateway", "--listen", "127.0.0.1:0",
		"--node", chainID+"=http://"+init.Nodes[1].RPC, "--node", chainID+"=http://"+init.Nodes[2].RPC)
	line := gw.waitLine(t, "gateway listening on ", 30*time.Second)
	gwURL := strings.TrimPrefix(line, "gateway listening on ")
	file := filepath.Join(t.TempDir(), "minutes.txt")
	os.WriteFile(file, []byte("minutes of the board meeting"), 0o600)
	var tx struct {
		Code   uint32 `json:"code"`
		Height int64  `json:"height"`
	}
	runJSON(t, &tx, "--home", dir, "--gateway", gwURL, "tx", "evidence", "anchor", "--chain", chainID, "--from", "org2-admin", "--file", file)
	if tx.Code != 0 || tx.Height == 0 {
		t.Fatalf("anchor through lian gateway: %+v", tx)
	}
	var ev struct {
		Verified bool `json:"verified"`
		Trusted  bool `json:"validators_trusted"`
		Record   struct {
			Org string `json:"org"`
		} `json:"record"`
	}
	runJSON(t, &ev, "--home", dir, "--gateway", gwURL, "query", "evidence", "--chain", chainID, "--file", file, "--prove")
	if !ev.Verified || !ev.Trusted || ev.Record.Org != "org2" {
		t.Fatalf("query through lian gateway: %+v", ev)
	}
	gw.interrupt(t)

	homes := pn.stop()
	// Node 3 was killed with -9 and caught up: its state keeps the invariants too.
	checkStoredInvariants(t, homes...)
	var check struct {
		ChainID string `json:"chain_id"`
		Height  int64  `json:"height"`
		OK      bool   `json:"ok"`
	}
	runJSON(t, &check, "node", "check", "--home", homes[3])
	if !check.OK || check.ChainID != chainID || check.Height < 2 {
		t.Fatalf("lian node check: %+v", check)
	}
}
