package node

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cstypes "github.com/cometbft/cometbft/consensus/types"
	cmtlog "github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/p2p"
	protomem "github.com/cometbft/cometbft/proto/tendermint/mempool"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/cometbft/cometbft/types"
)

type fakeMempool struct{ txs types.Txs }

func (m *fakeMempool) Size() int { return len(m.txs) }

func (m *fakeMempool) ReapMaxBytesMaxGas(maxBytes, _ int64) types.Txs {
	var out types.Txs
	var n int64
	for _, tx := range m.txs {
		if n+int64(len(tx)) > maxBytes {
			break
		}
		n += int64(len(tx))
		out = append(out, tx)
	}
	return out
}

type fakeBroadcaster struct{ sent [][][]byte }

func (s *fakeBroadcaster) IsRunning() bool { return true }

func (s *fakeBroadcaster) BroadcastAsync(e p2p.Envelope) {
	s.sent = append(s.sent, e.Message.(*protomem.Txs).Txs)
}

func TestReannouncerSchedule(t *testing.T) {
	mp := &fakeMempool{}
	sw := &fakeBroadcaster{}
	height := int64(5)
	r := newReannouncer(mp, func() int64 { return height }, sw, 100, cmtlog.NewNopLogger(), time.Second, 2*time.Second)
	t0 := time.Unix(1_700_000_000, 0)
	at := func(d time.Duration) time.Time { return t0.Add(d) }

	steps := []struct {
		name   string
		at     time.Duration
		height int64
		txs    int
		sent   int // announcements so far
	}{
		{"empty mempool", 0, 5, 0, 0},
		{"txs arrive", 1 * time.Second, 5, 2, 0},
		{"not yet stalled", 1500 * time.Millisecond, 5, 2, 0},
		{"no block for 2s since the mempool was last seen empty", 2 * time.Second, 5, 2, 1},
		{"the wait doubled", 5 * time.Second, 5, 2, 1},
		{"second announcement", 6 * time.Second, 5, 2, 2},
		{"a block resets", 8 * time.Second, 6, 2, 2},
		{"first wait again, not yet", 9500 * time.Millisecond, 6, 2, 2},
		{"first wait again", 10 * time.Second, 6, 2, 3},
		{"mempool drained", 20 * time.Second, 6, 0, 3},
		{"new txs at the same height: a fresh wait", 21 * time.Second, 6, 1, 3},
		{"fresh wait over", 22 * time.Second, 6, 1, 4},
	}
	for _, s := range steps {
		height = s.height
		mp.txs = nil
		for i := range s.txs {
			mp.txs = append(mp.txs, types.Tx{byte('a' + i)})
		}
		r.step(at(s.at))
		if len(sw.sent) != s.sent {
			t.Fatalf("%s: %d announcements, want %d", s.name, len(sw.sent), s.sent)
		}
	}
	// The wait is capped.
	r.wait = reannounceMaxWait
	r.since = at(100 * time.Second)
	mp.txs = types.Txs{types.Tx("x")}
	r.step(at(100*time.Second + reannounceMaxWait))
	if r.wait != reannounceMaxWait {
		t.Fatalf("wait %v, want the cap %v", r.wait, reannounceMaxWait)
	}
}

func TestReannouncerBatches(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sizes []int
		want  [][]int // tx sizes per message
	}{
		{"one small", []int{10}, [][]int{{10}}},
		{"fit in one", []int{40, 40}, [][]int{{40, 40}}},
		{"split", []int{60, 60, 10}, [][]int{{60}, {60, 10}}},
		{"a largest tx alone", []int{10, 100, 10}, [][]int{{10}, {100}, {10}}},
		{"none", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sw := &fakeBroadcaster{}
			r := newReannouncer(&fakeMempool{}, func() int64 { return 1 }, sw, 100, cmtlog.NewNopLogger(), time.Second, time.Second)
			var txs types.Txs
			for i, n := range tc.sizes {
				txs = append(txs, bytes.Repeat([]byte{byte(i)}, n))
			}
			if got := r.announce(txs); got != len(tc.want) {
				t.Fatalf("%d messages, want %d", got, len(tc.want))
			}
			for i, msg := range sw.sent {
				var sizes []int
				for _, tx := range msg {
					sizes = append(sizes, len(tx))
				}
				if len(sizes) != len(tc.want[i]) {
					t.Fatalf("message %d has txs of %v bytes, want %v", i, sizes, tc.want[i])
				}
				for j := range sizes {
					if sizes[j] != tc.want[i][j] {
						t.Fatalf("message %d has txs of %v bytes, want %v", i, sizes, tc.want[i])
					}
				}
			}
		})
	}
}

// gatedApp is a countApp whose CheckTx refuses new transactions while its gate is shut,
// as a node one block behind refuses a transaction that depends on the last block.
type gatedApp struct {
	countApp
	shut    atomic.Bool
	refused atomic.Int64
}

func (a *gatedApp) CheckTx(_ context.Context, req *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) {
	if req.Type == abci.CheckTxType_New && a.shut.Load() {
		a.refused.Add(1)
		return &abci.ResponseCheckTx{Code: 1, Log: "gate shut"}, nil
	}
	return &abci.ResponseCheckTx{Code: abci.CodeTypeOK}, nil
}

// TestStalledMempoolReannounced reproduces the stall the re-announcer ends: a transaction
// that every peer refused when it was gossiped, held only by a validator that is not the
// next proposer, on a chain that waits for transactions (here, for ten minutes). Once the
// peers would accept it, it is committed because its holder announces it again.
func TestStalledMempoolReannounced(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	logger := testLogger(t)
	vals, err := InitNetwork(NetworkSpec{
		ChainID: "lian-stall", Dir: t.TempDir(), Validators: 4,
		Tuning: Tuning{CreateEmptyBlocksInterval: 10 * time.Minute},
		AppState: func(vals []ValidatorInfo) (json.RawMessage, error) {
			return json.Marshal(map[string]int{"validators": len(vals)})
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	apps := make([]*gatedApp, len(vals))
	nodes := make([]*Node, len(vals))
	t.Cleanup(func() { stopAll(t, nodes) })
	for i, v := range vals {
		apps[i] = &gatedApp{}
		apps[i].shut.Store(true)
		if nodes[i], err = Start(v.Home, apps[i], logger.With("node", v.Moniker)); err != nil {
			t.Fatalf("start %s: %v", v.Moniker, err)
		}
	}
	waitAll(t, ctx, nodes, 2)
	for _, n := range nodes {
		if err := n.WaitReady(ctx); err != nil {
			t.Fatal(err)
		}
	}

	// Wait until every node waits for transactions at the same height, and find who
	// proposes there.
	clients := make([]*rpchttp.HTTP, len(nodes))
	for i, n := range nodes {
		if clients[i], err = rpchttp.New(n.RPCURL(), "/websocket"); err != nil {
			t.Fatal(err)
		}
	}
	var proposer int
	poll(t, ctx, "an idle chain", func() bool {
		var hrs string
		for i, c := range clients {
			res, err := c.ConsensusState(ctx)
			if err != nil {
				return false
			}
			var rs cstypes.RoundStateSimple
			if err := json.Unmarshal(res.RoundState, &rs); err != nil {
				t.Fatal(err)
			}
			// Round 0, step NewRound: waiting for transactions.
			if !strings.HasSuffix(rs.HeightRoundStep, "/0/2") || (i > 0 && rs.HeightRoundStep != hrs) {
				return false
			}
			hrs = rs.HeightRoundStep
			for j, v := range vals {
				if strings.EqualFold(v.Address, rs.Proposer.Address.String()) {
					proposer = j
				}
			}
		}
		return true
	})
	holder := (proposer + 1) % len(nodes)
	apps[holder].shut.Store(false)

	client := clients[holder]
	tx := types.Tx("stalled tx")
	if res, err := client.BroadcastTxSync(ctx, tx); err != nil || res.Code != abci.CodeTypeOK {
		t.Fatalf("broadcast: %v %+v", err, res)
	}
	// Every other node refuses it once, as gossip offers it to each of them once.
	poll(t, ctx, "the peers to refuse the gossiped tx", func() bool {
		for i, a := range apps {
			if i != holder && a.refused.Load() == 0 {
				return false
			}
		}
		return true
	})
	for _, a := range apps {
		a.shut.Store(false)
	}
	// Without a new announcement the proposer would wait ten minutes for a transaction.
	waitTx(t, ctx, client, tx.Hash())
}

// poll calls cond every 20 ms until it holds, failing the test at ctx's deadline.
func poll(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
