package e2e

import (
	"bytes"
	"testing"
	"time"
)

// TestHaltAndResume cuts off two of four validators (SIGSTOP: half the power, less
// than the 2/3 a block needs). The other two commit nothing, not even a transaction
// they admitted. When the two come back (SIGCONT), the chain resumes on its own: the
// transaction commits, all four nodes reach the same height, and every height has one
// block on all four (no fork).
func TestHaltAndResume(t *testing.T) {
	pn := startProcNet(t, "halt-1", 4)
	pn.submit(0, "before")

	pn.procs[2].freeze()
	pn.procs[3].freeze()
	thawed := false
	defer func() {
		if !thawed { // let the cleanup's SIGKILL find running processes
			pn.procs[2].thaw()
			pn.procs[3].thaw()
		}
	}()
	h := pn.height(0)
	hash := pn.broadcast(0, "while halted")
	// A block whose votes were already out when the two stopped may still finish: allow
	// one. Nothing more for 4 s, which is more than a round's timeouts at the first round
	// (propose 3 s, prevote and precommit 1 s each only after 2/3 voted).
	for end := time.Now().Add(4 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		if got := pn.height(0); got > h+1 {
			t.Fatalf("node0 committed height %d with half the power stopped (was %d)", got, h)
		}
	}
	if pn.committed(0, hash) {
		t.Fatal("a transaction admitted during the halt was committed without the stopped validators")
	}

	pn.procs[2].thaw()
	pn.procs[3].thaw()
	thawed = true
	poll(t, 90*time.Second, "the transaction admitted during the halt to commit", func() bool { return pn.committed(0, hash) })
	pn.submit(2, "after")
	target := pn.height(2)
	poll(t, 60*time.Second, "all four nodes to reach the target height", func() bool {
		for i := range pn.procs {
			if pn.height(i) < target {
				return false
			}
		}
		return true
	})
	for height := int64(1); height <= target; height++ {
		want := pn.block(0, height).Hash()
		for i := 1; i < len(pn.procs); i++ {
			if got := pn.block(i, height).Hash(); !bytes.Equal(got, want) {
				t.Fatalf("fork at height %d: node%d has block %X, node0 %X", height, i, got, want)
			}
		}
	}
	t.Logf("halted at height %d for 4 s; resumed; %d heights agree on all four nodes", h, target)
	checkStoredInvariants(t, pn.stop()...)
}
