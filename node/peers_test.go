package node

import (
	"sync"
	"testing"
	"time"

	cmtlog "github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/p2p"
)

// fakeSwitch records dials; connected peers are reported by Peers().
type fakeSwitch struct {
	mu        sync.Mutex
	connected map[p2p.ID]bool
	dialed    []p2p.ID
}

func (f *fakeSwitch) IsRunning() bool { return true }

func (f *fakeSwitch) HasPeer(id p2p.ID) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.connected[id]
}

func (f *fakeSwitch) DialPeerWithAddress(addr *p2p.NetAddress) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dialed = append(f.dialed, addr.ID)
	f.connected[addr.ID] = true
	return nil
}

func (f *fakeSwitch) dials() []p2p.ID {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]p2p.ID(nil), f.dialed...)
}

func TestPeerKeeperDialsOnlyMissingPeers(t *testing.T) {
	const (
		a = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		b = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	)
	sw := &fakeSwitch{connected: map[p2p.ID]bool{a: true}}
	k := startPeerKeeper(sw, a+"@127.0.0.1:1, "+b+"@127.0.0.1:2,", cmtlog.NewNopLogger())
	if k == nil {
		t.Fatal("no keeper for two persistent peers")
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(sw.dials()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("missing peer never dialed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	k.Stop()
	got := sw.dials()
	if len(got) != 1 || got[0] != b {
		t.Fatalf("dialed %v, want only %s", got, b)
	}
	// After Stop nothing more is dialed.
	sw.mu.Lock()
	delete(sw.connected, b)
	sw.mu.Unlock()
	k.redialMissing()
	if n := len(sw.dials()); n != 1 {
		t.Fatalf("%d dials after stop", n)
	}
	if startPeerKeeper(sw, " , ", cmtlog.NewNopLogger()) != nil {
		t.Fatal("keeper started without peers")
	}
}
