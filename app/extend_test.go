package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/lianchain/lian/modules"
	"github.com/lianchain/lian/modules/evidence"
	"github.com/lianchain/lian/modules/xchain"
)

// testBlock is a block of the next height: its hash and transactions.
type testBlock struct {
	name string
	hash []byte
	txs  [][]byte
}

func (h *harness) newBlock(name string, list ...[]byte) testBlock {
	d := sha256.Sum256([]byte(name))
	return testBlock{name: name, hash: d[:], txs: list}
}

// blockTime is the time of the harness's block at height (as block uses).
func blockTime(height int64) time.Time { return time.Unix(1700000000+height, 0) }

// extend calls ExtendVote for b at the next height and returns the extension.
func (h *harness) extend(b testBlock) []byte {
	h.t.Helper()
	res, err := h.app.ExtendVote(context.Background(), &abci.RequestExtendVote{
		Hash: b.hash, Height: h.height + 1, Time: blockTime(h.height + 1), Txs: b.txs})
	if err != nil {
		h.t.Fatal(err)
	}
	return res.VoteExtension
}

// finalize finalizes and commits b at the next height.
func (h *harness) finalize(b testBlock) *abci.ResponseFinalizeBlock {
	h.t.Helper()
	h.height++
	return commitBlock(h.t, h.app, &abci.RequestFinalizeBlock{Hash: b.hash, Height: h.height, Time: blockTime(h.height), Txs: b.txs})
}

// anchored reports whether the committed state holds the digest of doc.
func (h *harness) anchored(doc string) bool {
	d := sha256.Sum256([]byte(doc))
	return h.app.store.Committed().Get(append(modules.Prefix(evidence.Name), evidence.Key(d[:])...)) != nil
}

func parseExtension(t *testing.T, ext []byte) []byte {
	t.Helper()
	hash, err := xchain.ParseStateExtension(ext)
	if err != nil {
		t.Fatalf("extension %x: %v", ext, err)
	}
	return hash
}

// TestExtendVoteThenFinalize: the extension attests the app hash FinalizeBlock returns
// and Commit saves, FinalizeBlock returns ExtendVote's execution without executing the
// block again, and a later round extending the same block reuses it too.
func TestExtendVoteThenFinalize(t *testing.T) {
	for _, committed := range []int{0, 2} { // at genesis (InitChain's writes unsaved), and later
		hs := newHarnesses(t, 2)
		h, fresh := hs[0], hs[1]
		for range committed {
			h.block()
			fresh.block()
		}
		b := h.newBlock("block", h.tx(h.admin, 0, chainID, anchor("doc")))
		ext := h.extend(b)
		pending := h.app.pending
		if pending == nil {
			t.Fatal("no pending execution after ExtendVote")
		}
		if again := h.extend(b); !bytes.Equal(again, ext) || h.app.pending != pending {
			t.Fatal("extending the same block again executed it again")
		}
		res := h.finalize(b)
		if res != pending.res {
			t.Fatal("FinalizeBlock executed the extended block again")
		}
		if res.TxResults[0].Code != 0 {
			t.Fatal(res.TxResults[0].Log)
		}
		attested := parseExtension(t, ext)
		if !bytes.Equal(attested, res.AppHash) || !bytes.Equal(attested, h.app.store.LastHash()) {
			t.Fatalf("extension attests %X, FinalizeBlock returned %X, Commit saved %X", attested, res.AppHash, h.app.store.LastHash())
		}
		if want := fresh.finalize(b); !bytes.Equal(want.AppHash, res.AppHash) {
			t.Fatalf("app hash %X, a node without ExtendVote gets %X", res.AppHash, want.AppHash)
		}
		if h.app.pending != nil || !h.anchored("doc") {
			t.Fatalf("after the block: pending %v, anchored %v", h.app.pending, h.anchored("doc"))
		}
	}
}

// TestExtendVoteOtherBlockFinalized: whatever blocks a validator extended at a height,
// the block finalized leaves exactly the state a node executing only it has, and each
// extension attests the state after its own block.
func TestExtendVoteOtherBlockFinalized(t *testing.T) {
	cases := []struct {
		name     string
		extend   []string // blocks extended, in order
		finalize string
	}{
		{"extended A, B decided", []string{"A"}, "B"},
		{"extended A then B, A decided", []string{"A", "B"}, "A"},
		{"extended B then A, A decided", []string{"B", "A"}, "A"},
		{"extended A, B, A again, A decided", []string{"A", "B", "A"}, "A"},
		{"nothing extended, A decided", nil, "A"},
	}
	for _, c := range cases {
		for _, committed := range []int{0, 2} {
			t.Run(fmt.Sprintf("%s at height %d", c.name, committed+1), func(t *testing.T) {
				// hs[0] extends and finalizes; hs[1] and hs[2] execute only A or only B.
				hs := newHarnesses(t, 3)
				for range committed {
					for _, h := range hs {
						h.block()
					}
				}
				h := hs[0]
				// Both blocks use the admin's next nonce: each anchors its own document.
				blocks := map[string]testBlock{
					"A": h.newBlock("A", h.tx(h.admin, 0, chainID, anchor("only in A"))),
					"B": h.newBlock("B", h.tx(h.admin, 0, chainID, anchor("only in B")), h.tx(h.admin, 1, chainID, anchor("also in B"))),
				}
				alone := map[string]*abci.ResponseFinalizeBlock{"A": hs[1].finalize(blocks["A"]), "B": hs[2].finalize(blocks["B"])}
				if bytes.Equal(alone["A"].AppHash, alone["B"].AppHash) {
					t.Fatal("blocks A and B lead to one state")
				}
				for _, name := range c.extend {
					if got := parseExtension(t, h.extend(blocks[name])); !bytes.Equal(got, alone[name].AppHash) {
						t.Fatalf("extension of %s attests %X, the state after %s is %X", name, got, name, alone[name].AppHash)
					}
				}
				var pending *abci.ResponseFinalizeBlock
				if h.app.pending != nil {
					pending = h.app.pending.res
				}
				res := h.finalize(blocks[c.finalize])
				lastExtended := len(c.extend) > 0 && c.extend[len(c.extend)-1] == c.finalize
				if lastExtended != (res == pending) {
					t.Fatalf("FinalizeBlock reused the pending execution: %v, want %v", res == pending, lastExtended)
				}
				want := alone[c.finalize]
				if !bytes.Equal(res.AppHash, want.AppHash) || !bytes.Equal(h.app.store.LastHash(), want.AppHash) {
					t.Fatalf("app hash %X (saved %X), a node executing only %s gets %X", res.AppHash, h.app.store.LastHash(), c.finalize, want.AppHash)
				}
				for i, r := range res.TxResults {
					if r.Code != want.TxResults[i].Code {
						t.Fatalf("tx %d: code %d, alone %d", i, r.Code, want.TxResults[i].Code)
					}
				}
				in := map[string]string{"A": "only in A", "B": "only in B"}
				for name, doc := range in {
					if got := h.anchored(doc); got != (name == c.finalize) {
						t.Fatalf("%q anchored: %v after block %s", doc, got, c.finalize)
					}
				}
				// The next block runs alike on both nodes: the document of the block
				// not decided can be anchored (no trace of it is left).
				other, undecided := hs[1], "only in B"
				if c.finalize == "B" {
					other, undecided = hs[2], "only in A"
				}
				nonce := uint64(len(blocks[c.finalize].txs))
				next := h.newBlock("next", h.tx(h.admin, nonce, chainID, anchor(undecided)))
				attested := parseExtension(t, h.extend(next))
				r1, r2 := h.finalize(next), other.finalize(next)
				if r1.TxResults[0].Code != 0 {
					t.Fatalf("next block: %s", r1.TxResults[0].Log)
				}
				if !bytes.Equal(r1.AppHash, r2.AppHash) || !bytes.Equal(attested, r1.AppHash) {
					t.Fatalf("next block: app hash %X (attested %X), alone %X", r1.AppHash, attested, r2.AppHash)
				}
			})
		}
	}
}

// failingEndBlock makes end-block work fail.
type failingEndBlock struct{ modules.Module }

func (failingEndBlock) EndBlock(*modules.Context) error { return errors.New("end block broke") }

// TestExtendVoteOfFailingBlock: a block that does not execute gets an empty extension,
// leaves the state as it was, and FinalizeBlock reports the error.
func TestExtendVoteOfFailingBlock(t *testing.T) {
	h := newHarness(t)
	before := h.app.store.WorkingHash()
	h.app.mods = append(h.app.mods, failingEndBlock{h.app.mods[1]})
	b := h.newBlock("failing", h.tx(h.admin, 0, chainID, anchor("doc")))
	if ext := h.extend(b); len(ext) != 0 {
		t.Fatalf("extension %x of a block that fails", ext)
	}
	if h.app.pending != nil || !bytes.Equal(h.app.store.WorkingHash(), before) {
		t.Fatal("a failed execution is pending or left writes")
	}
	_, err := h.app.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{
		Hash: b.hash, Height: h.height + 1, Time: blockTime(h.height + 1), Txs: b.txs})
	if err == nil || !strings.Contains(err.Error(), "end block broke") {
		t.Fatalf("FinalizeBlock: %v", err)
	}
}

// TestExtendVoteOfWrongHeight: a block that does not follow the last commit is not
// executed or attested.
func TestExtendVoteOfWrongHeight(t *testing.T) {
	h := newHarness(t)
	res, err := h.app.ExtendVote(context.Background(), &abci.RequestExtendVote{Hash: []byte("x"), Height: h.height + 2})
	if err != nil || len(res.VoteExtension) != 0 || h.app.pending != nil {
		t.Fatalf("extension %x, err %v, pending %v", res.VoteExtension, err, h.app.pending)
	}
}

func TestVerifyVoteExtension(t *testing.T) {
	hash := bytes.Repeat([]byte{0xab}, 32)
	cases := []struct {
		name string
		ext  []byte
		ok   bool
	}{
		{"nil", nil, true},
		{"empty", []byte{}, true},
		{"state extension", xchain.StateExtension(hash), true},
		{"32 bytes", hash, false},
		{"34 bytes", append(xchain.StateExtension(hash), 0), false},
		{"version 2", append([]byte{2}, hash...), false},
		{"version 0", append([]byte{0}, hash...), false},
		{"one byte", []byte{1}, false},
	}
	a := newMemApp(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := a.VerifyVoteExtension(context.Background(), &abci.RequestVerifyVoteExtension{
				Hash: hash, Height: 5, ValidatorAddress: make([]byte, 20), VoteExtension: c.ext})
			if err != nil {
				t.Fatal(err)
			}
			want := abci.ResponseVerifyVoteExtension_REJECT
			if c.ok {
				want = abci.ResponseVerifyVoteExtension_ACCEPT
			}
			if res.Status != want {
				t.Fatalf("status %s, want %s", res.Status, want)
			}
		})
	}
}
