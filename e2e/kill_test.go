package e2e

import (
	"bytes"
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
	"github.com/lianchain/lian/modules/attest"
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

// TestUpXChainKill9: kill -9 `lian up` (two chains and the relayer in one process)
// with attestation requests at every stage: just sent, received, answered. After a
// restart the relayer finishes every one of them: each request is answered once, with
// the right finding (half the digests are anchored on the other chain), and nothing
// stays pending.
func TestUpXChainKill9(t *testing.T) {
	const a, b, workers, sends = "kx-a", "kx-b", 8, 48
	home := t.TempDir()
	u := startUp(t, home, "--chains", a+","+b, "--validators", "4")
	c := client.New(u.gateway)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	route, err := c.FindRoute(ctx, a, attest.Name, b)
	if err != nil {
		t.Fatal(err)
	}
	demo, err := client.LoadKey(client.KeysDir(home), "demo")
	if err != nil {
		t.Fatal(err)
	}
	// Anchor every even digest on b.
	digest := func(i int) []byte {
		d := sha256.Sum256(binary.BigEndian.AppendUint64([]byte("xchain kill -9"), uint64(i)))
		return d[:]
	}
	sb, err := client.NewSender(c, b, demo)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < sends; i += 2 {
		m, err := client.NewAnchor(digest(i), "sha256", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sb.Submit(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	last, err := client.NewAnchor(digest(sends), "sha256", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sb.Send(ctx, last); err != nil {
		t.Fatal(err) // committed after the others: all of them are
	}
	sb.Close()

	sa, err := client.NewSender(c, a, demo)
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		seqs = map[uint64]int{} // packet sequence → digest index
		wg   sync.WaitGroup
		next int
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= sends {
					return
				}
				m, err := client.NewAttest(route.ID, digest(i), time.Hour)
				if err != nil {
					t.Error(err)
					return
				}
				res, err := sa.Send(ctx, m)
				if err != nil {
					t.Errorf("attest %d: %v", i, err)
					return
				}
				p, err := client.PacketOf(res)
				if err != nil {
					t.Errorf("attest %d: %v", i, err)
					return
				}
				mu.Lock()
				seqs[p.Sequence] = i
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	sa.Close()
	if t.Failed() {
		return
	}
	// Kill at once: the last packets are just sent, earlier ones in flight or settled.
	pending, err := c.PendingPackets(ctx, a, route.ID, client.PageQuery{})
	if err != nil {
		t.Fatal(err)
	}
	u.p.kill()
	t.Logf("killed with %d of %d packets not yet acknowledged", len(pending.Sequences), sends)

	u = startUp(t, home, "--chains", a+","+b, "--validators", "4")
	c = client.New(u.gateway)
	poll(t, 90*time.Second, "every request answered after the restart", func() bool {
		for seq := range seqs {
			req, _, err := c.AttestRequest(ctx, a, route.ID, seq)
			if err != nil || req.Status == attest.StatusPending {
				return false
			}
		}
		return true
	})
	for seq, i := range seqs {
		req, _, err := c.AttestRequest(ctx, a, route.ID, seq)
		if err != nil {
			t.Fatal(err)
		}
		if req.Status != attest.StatusAnswered || !bytes.Equal(req.Digest, digest(i)) {
			t.Fatalf("request %d (digest %d): %+v", seq, i, req)
		}
		att, err := c.AttestationRecord(ctx, a, b, digest(i))
		if err != nil {
			t.Fatalf("attestation of digest %d: %v", i, err)
		}
		if att.Attestation.Found != (i%2 == 0) {
			t.Fatalf("attestation of digest %d: found %v", i, att.Attestation.Found)
		}
	}
	left, err := c.PendingPackets(ctx, a, route.ID, client.PageQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(left.Sequences) != 0 {
		t.Fatalf("still pending after every answer: %v", left.Sequences)
	}
	u.p.interrupt(t)

	var homes []string
	for _, chain := range []string{a, b} {
		for i := range 4 {
			homes = append(homes, filepath.Join(home, "chains", chain, fmt.Sprintf("node%d", i)))
		}
	}
	checkStoredInvariants(t, homes...)
}
