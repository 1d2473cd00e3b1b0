package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lianchain/lian/client"
)

// acked is a transaction the gateway acknowledged as committed.
type acked struct {
	hash   string
	height int64
	digest []byte
}

// TestUpKill9UnderLoad: while 16 requests are in flight at any moment, kill -9 `lian up`
// soon after the 40th acknowledgement, start it again, and do it twice. Every
// transaction acknowledged as committed is there after each restart, at its height
// and with its record; the chain goes on; every node's stored state keeps the modules'
// invariants.
func TestUpKill9UnderLoad(t *testing.T) {
	const chain, workers, perRound = "load-1", 16, 40
	home := t.TempDir()
	var all []acked
	var counter uint64
	for round := range 2 {
		u := startUp(t, home, "--chains", chain, "--validators", "4")
		c := client.New(u.gateway)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		// What the previous rounds acknowledged is there.
		checkAcked(ctx, t, c, home, chain, all)

		demo, err := client.LoadKey(client.KeysDir(home), "demo")
		if err != nil {
			t.Fatal(err)
		}
		s, err := client.NewSender(c, chain, demo)
		if err != nil {
			t.Fatal(err)
		}
		var (
			mu    sync.Mutex
			fresh []acked
			wg    sync.WaitGroup
		)
		enough := make(chan struct{})
		loadCtx, stopLoad := context.WithCancel(ctx)
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for loadCtx.Err() == nil {
					mu.Lock()
					counter++
					d := sha256.Sum256(binary.BigEndian.AppendUint64([]byte("kill -9 under load"), counter))
					mu.Unlock()
					m, err := client.NewAnchor(d[:], "sha256", fmt.Sprintf("round %d", round))
					if err != nil {
						t.Error(err)
						return
					}
					res, err := s.Send(loadCtx, m)
					if err != nil {
						return // the network is gone (or the test is over)
					}
					mu.Lock()
					fresh = append(fresh, acked{res.Hash, res.Height, d[:]})
					if len(fresh) == perRound {
						close(enough)
					}
					mu.Unlock()
				}
			}()
		}
		select {
		case <-enough:
		case <-ctx.Done():
			t.Fatalf("round %d: %d acknowledgements before the deadline, want %d", round, len(fresh), perRound)
		}
		u.p.kill() // with requests in flight
		stopLoad()
		wg.Wait()
		s.Close()
		cancel()
		mu.Lock()
		t.Logf("round %d: killed after %d acknowledgements", round, len(fresh))
		all = append(all, fresh...)
		mu.Unlock()
	}

	u := startUp(t, home, "--chains", chain, "--validators", "4")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := client.New(u.gateway)
	checkAcked(ctx, t, c, home, chain, all)
	u.p.interrupt(t)

	var homes []string
	for i := range 4 {
		homes = append(homes, filepath.Join(home, "chains", chain, fmt.Sprintf("node%d", i)))
	}
	checkStoredInvariants(t, homes...)
}

// checkAcked checks that every acknowledged transaction is committed at its height and
// its evidence record is stored, with a proof signed by the genesis validators for the
// last one.
func checkAcked(ctx context.Context, t *testing.T, c *client.Client, home, chain string, all []acked) {
	t.Helper()
	trust, err := client.TrustFromGenesis(filepath.Join(home, "chains", chain, "node0", "config", "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range all {
		res, err := c.Tx(ctx, chain, a.hash)
		if err != nil {
			t.Fatalf("acknowledged tx %d (%s at height %d) after kill -9: %v", i, a.hash, a.height, err)
		}
		if res.Height != a.height || res.Code != 0 {
			t.Fatalf("acknowledged tx %d after kill -9: height %d code %d, was committed at %d", i, res.Height, res.Code, a.height)
		}
		last := i == len(all)-1
		ev, err := c.Evidence(ctx, chain, a.digest, last)
		if err != nil {
			t.Fatalf("record of acknowledged tx %d after kill -9: %v", i, err)
		}
		if len(ev.Record) == 0 {
			t.Fatalf("record of acknowledged tx %d after kill -9: none", i)
		}
		if last {
			v, err := client.VerifyEvidenceWithOptions(chain, a.digest, ev, client.VerifyOptions{
				TrustedValidatorsHash: trust.ValidatorsHash, Trust: trust})
			if err != nil {
				t.Fatalf("proof of acknowledged tx %d after kill -9: %v", i, err)
			}
			if !strings.EqualFold(strings.TrimPrefix(v.Record.TxHash, "0x"), strings.TrimPrefix(a.hash, "0x")) {
				t.Fatalf("proven record of tx %d names tx %s", i, v.Record.TxHash)
			}
		}
	}
	if len(all) > 0 {
		t.Logf("%d acknowledged transactions all there", len(all))
	}
}
