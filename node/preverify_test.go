package node

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cometbft/cometbft/p2p"
	protomem "github.com/cometbft/cometbft/proto/tendermint/mempool"
)

// fakeMempoolReactor records what the preverifyReactor hands it.
type fakeMempoolReactor struct {
	p2p.BaseReactor
	mu       sync.Mutex
	received [][]byte
	syncing  bool
	enabled  bool
}

func (f *fakeMempoolReactor) Receive(e p2p.Envelope) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, tx := range e.Message.(*protomem.Txs).Txs {
		if string(tx) == "boom" {
			panic("fake reactor: boom")
		}
	}
	f.received = append(f.received, e.Message.(*protomem.Txs).Txs...)
}

func (f *fakeMempoolReactor) WaitSync() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.syncing
}

func (f *fakeMempoolReactor) EnableInOutTxs() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.syncing, f.enabled = false, true
}

func (f *fakeMempoolReactor) got() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.received)
}

type recordingPreverifier struct {
	mu  sync.Mutex
	txs [][]byte
}

func (p *recordingPreverifier) Preverify(txs [][]byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, tx := range txs {
		if string(tx) == "pv-boom" {
			panic("fake preverifier: boom")
		}
	}
	p.txs = append(p.txs, txs...)
}

func (p *recordingPreverifier) got() [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.txs)
}

func TestPreverifyReactor(t *testing.T) {
	inner := &fakeMempoolReactor{syncing: true}
	inner.BaseReactor = *p2p.NewBaseReactor("fake mempool", inner)
	pv := &recordingPreverifier{}
	r := newPreverifyReactor(inner, pv)
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	send := func(txs ...string) {
		m := &protomem.Txs{}
		for _, tx := range txs {
			m.Txs = append(m.Txs, []byte(tx))
		}
		r.Receive(p2p.Envelope{ChannelID: 0x30, Message: m})
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(time.Millisecond)
		}
	}

	// In block sync the messages go through unchecked (CometBFT's reactor drops them).
	send("a")
	waitFor("a", func() bool { return len(inner.got()) == 1 })
	if len(pv.got()) != 0 {
		t.Fatalf("preverified %q during block sync", pv.got())
	}

	// Block sync finds the mempool reactor by name: the word must reach CometBFT's.
	r.EnableInOutTxs()
	if !inner.enabled {
		t.Fatal("EnableInOutTxs not passed on")
	}
	want := []string{"a"}
	for i := 0; i < 500; i++ {
		tx := string(rune('b'+i%20)) + string(rune('0'+i/20))
		send(tx)
		want = append(want, tx)
	}
	waitFor("all messages", func() bool { return len(inner.got()) == len(want) })
	for i, tx := range inner.got() {
		if string(tx) != want[i] {
			t.Fatalf("message %d: %q, want %q (order must be kept)", i, tx, want[i])
		}
	}
	if got := pv.got(); len(got) != len(want)-1 {
		t.Fatalf("preverified %d transactions, want %d", len(got), len(want)-1)
	}

	// A panic in Preverify or in CometBFT's reactor does not end the goroutine.
	send("boom")
	send("pv-boom")
	send("after")
	waitFor("the message after the panics", func() bool {
		got := inner.got()
		return len(got) > 0 && string(got[len(got)-1]) == "after"
	})

	if err := r.Stop(); err != nil {
		t.Fatal(err)
	}
	// After the stop Receive returns at once.
	done := make(chan struct{})
	go func() {
		for i := 0; i < preverifyQueue+10; i++ {
			send("late")
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Receive blocks after Stop")
	}
}
