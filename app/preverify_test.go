package app

import (
	"fmt"
	"sync"
	"testing"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules/identity"
	"github.com/lianchain/lian/txs"
)

// Preverify only saves work: what it remembers is exactly what verifies, and CheckTx
// still refuses a forged signature, a key that is not the sender's, a replay and a
// transaction for another chain.
func TestPreverify(t *testing.T) {
	h := newHarness(t)
	member, _ := crypto.GenPrivKey(crypto.Ed25519)
	other, _ := crypto.GenPrivKey(crypto.Ed25519)
	sm2Member, _ := crypto.GenPrivKey(crypto.SM2)
	if res := h.block(h.tx(h.admin, 0, chainID,
		register(t, member, identity.RoleMember), topUp(member, "ref-member"),
		register(t, sm2Member, identity.RoleMember), topUp(sm2Member, "ref-sm2"))); res[0].Code != 0 {
		t.Fatal(res[0].Log)
	}

	good0 := h.tx(member, 0, chainID, anchor("pre-0"))
	good1 := h.tx(member, 1, chainID, anchor("pre-1"))
	forged := append([]byte{}, h.tx(member, 2, chainID, anchor("pre-forged"))...)
	forged[len(forged)-2] ^= 0x01 // inside the signature
	// Signed correctly, by a key that is not the sender's registered key.
	body := txs.NewBody(chainID, 2, anchor("pre-impostor"))
	body.Sender = member.PubKey().Address()
	bz := body.Marshal()
	sig, err := other.Sign(bz)
	if err != nil {
		t.Fatal(err)
	}
	impostor := (&txs.Tx{BodyBytes: bz, PubKey: other.PubKey().Bytes(), Algo: crypto.Ed25519, Signature: sig}).Marshal()
	wrongChain := h.tx(member, 2, "another-chain", anchor("pre-wrong-chain"))
	sm2 := h.tx(sm2Member, 0, chainID, anchor("pre-sm2"))
	garbage := []byte("not a transaction")

	h.app.Preverify([][]byte{good0, good1, forged, impostor, wrongChain, sm2, garbage, good0})
	for name, tc := range map[string]struct {
		tx      []byte
		checked bool
	}{
		"good0": {good0, true}, "good1": {good1, true}, "impostor": {impostor, true},
		"wrong chain": {wrongChain, false}, "forged": {forged, false}, "sm2": {sm2, false},
		"garbage": {garbage, false},
	} {
		if got := h.app.pre.m[txs.HashOf(tc.tx)] != nil; got != tc.checked {
			t.Errorf("%s: remembered %v, want %v", name, got, tc.checked)
		}
	}

	for _, tc := range []struct {
		name string
		tx   []byte
		want errcode.Code
	}{
		{"good0", good0, errcode.OK},
		{"replayed good0", good0, errcode.BadNonce},
		{"forged", forged, errcode.InvalidSignature},
		{"impostor", impostor, errcode.InvalidSignature},
		{"wrong chain", wrongChain, errcode.WrongChain},
		{"good1", good1, errcode.OK},
		{"sm2", sm2, errcode.OK},
	} {
		res := h.check(tc.tx)
		if errcode.Code(res.Code) != tc.want {
			t.Errorf("%s: code %d (%s), want %s", tc.name, res.Code, res.Log, tc.want)
		}
	}
	// A copy arriving later is not checked again.
	h.app.Preverify([][]byte{good0, good1})
	if d := h.app.pre.m[txs.HashOf(good0)]; d != nil {
		t.Error("good0 checked again after CheckTx took it")
	}
	if res := h.block(good0, good1, sm2); res[0].Code != 0 || res[1].Code != 0 || res[2].Code != 0 {
		t.Fatalf("block: %v", res)
	}
}

// Preverify runs on the mempool reactor's goroutine, beside the ABCI methods.
func TestPreverifyConcurrentWithCheckTx(t *testing.T) {
	h := newHarness(t)
	var keys []crypto.PrivKey
	var reg [][]byte
	for i := 0; i < 4; i++ {
		k, _ := crypto.GenPrivKey(crypto.Ed25519)
		keys = append(keys, k)
		reg = append(reg, h.tx(h.admin, uint64(i), chainID, register(t, k, identity.RoleMember), topUp(k, fmt.Sprint("ref-", i))))
	}
	for i, r := range h.block(reg...) {
		if r.Code != 0 {
			t.Fatalf("register %d: %s", i, r.Log)
		}
	}
	var list [][]byte
	for n := uint64(0); n < 50; n++ {
		for i, k := range keys {
			list = append(list, h.tx(k, n, chainID, anchor(fmt.Sprint("concurrent-", i, "-", n))))
		}
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < len(list); i += 8 {
			h.app.Preverify(list[i:min(i+8, len(list))])
		}
	}()
	for i, tx := range list {
		if res := h.check(tx); res.Code != 0 {
			t.Fatalf("tx %d: %s", i, res.Log)
		}
	}
	wg.Wait()
	for i, r := range h.block(list...) {
		if r.Code != 0 {
			t.Fatalf("tx %d in the block: %s", i, r.Log)
		}
	}
}
