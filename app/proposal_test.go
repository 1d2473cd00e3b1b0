package app

import (
	"context"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/lianchain/lian/crypto"
)

// TestPrepareProposalLeavesOutNonceGaps: the proposal keeps each sender's transactions
// whose nonce is due in order, and leaves out a used nonce and those past a gap (the
// mempool dropped a transaction its check state had taken).
func TestPrepareProposalLeavesOutNonceGaps(t *testing.T) {
	h := newHarness(t)
	other, err := crypto.GenPrivKey(crypto.SM2)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range h.block(h.tx(h.admin, 0, chainID, register(t, other, "member")), h.tx(h.admin, 1, chainID, topUp(other, "proposal test"))) {
		if r.Code != 0 {
			t.Fatal(r.Log)
		}
	}
	a0 := h.tx(h.admin, 1, chainID, anchor("replayed nonce"))
	a1 := h.tx(h.admin, 2, chainID, anchor("one"))
	a2 := h.tx(h.admin, 3, chainID, anchor("two"))
	a4 := h.tx(h.admin, 5, chainID, anchor("past a gap"))
	a3 := h.tx(h.admin, 4, chainID, anchor("three"))
	o0 := h.tx(other, 0, chainID, anchor("other zero"))
	o2 := h.tx(other, 2, chainID, anchor("other past a gap"))
	for _, tx := range [][]byte{a1, a2, o0} {
		if r := h.check(tx); r.Code != 0 { // known to this node; the rest are decoded
			t.Fatal(r.Log)
		}
	}
	garbage := []byte("not a transaction")
	res, err := h.app.PrepareProposal(context.Background(), &abci.RequestPrepareProposal{
		Txs: [][]byte{a0, a1, o2, a2, a4, garbage, o0, a3}, MaxTxBytes: 1 << 20, Height: h.height + 1})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]byte{a1, a2, garbage, o0, a3}
	if len(res.Txs) != len(want) {
		t.Fatalf("proposal has %d transactions, want %d", len(res.Txs), len(want))
	}
	for i := range want {
		if string(res.Txs[i]) != string(want[i]) {
			t.Fatalf("proposal tx %d differs", i)
		}
	}
	// The block it proposes runs every transaction but the garbage.
	for i, r := range h.block(res.Txs...) {
		if (r.Code == 0) == (i == 2) {
			t.Fatalf("tx %d: code %d %s", i, r.Code, r.Log)
		}
	}
}
