package node

import (
	"strings"
	"sync"
	"time"

	cmtlog "github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/p2p"
)

// peerKeepInterval is how often the peer keeper looks for persistent peers
// the switch is neither connected to nor dialing.
const peerKeepInterval = 3 * time.Second

// peerDialWait bounds how long Stop waits for dials in flight.
const peerDialWait = 5 * time.Second

// peerKeeper dials the node's persistent peers: at start, and again whenever
// one is neither connected nor being dialed. It replaces the start-up dial of
// CometBFT's switch (DialPeersAsync), which sleeps up to 3 s per peer and then
// dials even if the node has been stopped meanwhile; the connection it makes
// then is never closed, and the peer refuses the restarted node as a
// duplicate until its ping times out (more than a minute). The switch's own
// reconnect loop also gives up for good when a dial finds the peer "already
// dialing or connected" while a stale connection is being torn down, and
// after about a day of back-off; with PEX off (a permissioned network),
// nothing else would dial that validator again.
type peerKeeper struct {
	sw     peerDialer
	addrs  []*p2p.NetAddress
	logger cmtlog.Logger

	stop chan struct{}
	done chan struct{}

	mu       sync.Mutex
	stopped  bool
	inFlight map[p2p.ID]bool
	dials    sync.WaitGroup
}

// peerDialer is what the keeper needs of CometBFT's switch.
type peerDialer interface {
	HasPeer(id p2p.ID) bool
	DialPeerWithAddress(addr *p2p.NetAddress) error
	IsRunning() bool
}

// switchDialer adapts CometBFT's switch to peerDialer.
type switchDialer struct{ p2p.Switcher }

func (s switchDialer) HasPeer(id p2p.ID) bool { return s.Peers().Has(id) }

// startPeerKeeper starts the keeper for the comma-separated persistent peers
// ("id@host:port"); it returns nil when there are none.
func startPeerKeeper(sw peerDialer, persistentPeers string, logger cmtlog.Logger) *peerKeeper {
	var list []string
	for _, s := range strings.Split(persistentPeers, ",") {
		if s = strings.TrimSpace(s); s != "" {
			list = append(list, s)
		}
	}
	addrs, errs := p2p.NewNetAddressStrings(list)
	for _, err := range errs {
		logger.Error("persistent peer address not kept", "err", err)
	}
	if len(addrs) == 0 {
		return nil
	}
	k := &peerKeeper{
		sw: sw, addrs: addrs, logger: logger,
		stop: make(chan struct{}), done: make(chan struct{}),
		inFlight: make(map[p2p.ID]bool),
	}
	go k.run()
	return k
}

func (k *peerKeeper) run() {
	defer close(k.done)
	k.redialMissing()
	tick := time.NewTicker(peerKeepInterval)
	defer tick.Stop()
	for {
		select {
		case <-k.stop:
			return
		case <-tick.C:
			k.redialMissing()
		}
	}
}

func (k *peerKeeper) redialMissing() {
	if !k.sw.IsRunning() {
		return
	}
	for _, addr := range k.addrs {
		if k.sw.HasPeer(addr.ID) {
			continue
		}
		k.mu.Lock()
		if k.stopped || k.inFlight[addr.ID] {
			k.mu.Unlock()
			continue
		}
		k.inFlight[addr.ID] = true
		k.dials.Add(1)
		k.mu.Unlock()
		go func() {
			defer k.dials.Done()
			defer func() {
				k.mu.Lock()
				delete(k.inFlight, addr.ID)
				k.mu.Unlock()
			}()
			// Errors (refused, already dialing) are retried next tick.
			if err := k.sw.DialPeerWithAddress(addr); err == nil {
				k.logger.Info("dialed persistent peer", "addr", addr)
			}
		}()
	}
}

// Stop stops the keeper, waits for its loop and, up to peerDialWait, for its
// dials in flight. Call it before stopping the switch, so that no dial of the
// keeper completes against a stopped switch.
func (k *peerKeeper) Stop() {
	if k == nil {
		return
	}
	k.mu.Lock()
	k.stopped = true
	k.mu.Unlock()
	close(k.stop)
	<-k.done
	dialed := make(chan struct{})
	go func() {
		k.dials.Wait()
		close(dialed)
	}()
	select {
	case <-dialed:
	case <-time.After(peerDialWait):
		k.logger.Error("stopping with a persistent-peer dial still in flight")
	}
}
