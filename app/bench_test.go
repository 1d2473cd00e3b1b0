package app

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/modules/evidence"
	"github.com/lianchain/lian/modules/identity"
	"github.com/lianchain/lian/store"
	"github.com/lianchain/lian/txs"
)

// BenchmarkPipeline measures one node's application work per evidence anchor, as a
// validator does it under `lian bench compare`: each transaction is checked once
// (signature included), rechecked once after the block before its own, executed in
// FinalizeBlock and committed, on a goleveldb store. Blocks hold 512 anchors from 32
// ed25519 accounts. Signing is not timed.
//
//	go test -run '^$' -bench Pipeline -benchmem ./app/
func BenchmarkPipeline(b *testing.B) {
	const accounts, perAccount = 32, 16
	st, err := store.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	a, err := New(st)
	if err != nil {
		b.Fatal(err)
	}
	keys := make([]crypto.PrivKey, accounts)
	gacc := make([]identity.GenesisAccount, accounts)
	for i := range keys {
		if keys[i], err = crypto.GenPrivKey(crypto.Ed25519); err != nil {
			b.Fatal(err)
		}
		gacc[i] = identity.GenesisAccount{Org: "org1", Algo: crypto.Ed25519, PubKey: keys[i].PubKey().Bytes(), Roles: []string{identity.RoleMember}}
	}
	gen, err := BuildGenesis(GenesisSpec{Orgs: []identity.GenesisOrg{{ID: "org1", Name: "Org One"}}, Accounts: gacc, StartingCredits: 1 << 50})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	t0 := time.Unix(1700000000, 0)
	if _, err := a.InitChain(ctx, &abci.RequestInitChain{ChainId: chainID, AppStateBytes: gen, InitialHeight: 1, Time: t0}); err != nil {
		b.Fatal(err)
	}
	height := int64(0)
	finalize := func(list [][]byte) {
		height++
		res, err := a.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: height, Time: t0.Add(time.Duration(height) * time.Second), Txs: list})
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range res.TxResults {
			if r.Code != 0 {
				b.Fatalf("height %d: tx failed: %s", height, r.Log)
			}
		}
		if _, err := a.Commit(ctx, &abci.RequestCommit{}); err != nil {
			b.Fatal(err)
		}
	}
	check := func(list [][]byte, typ abci.CheckTxType) {
		for _, tx := range list {
			res, err := a.CheckTx(ctx, &abci.RequestCheckTx{Tx: tx, Type: typ})
			if err != nil || res.Code != 0 {
				b.Fatalf("check tx (type %v): %v %s", typ, err, res.GetLog())
			}
		}
	}
	finalize(nil)
	nonces := make([]uint64, accounts)
	seq := uint64(0)
	makeBlock := func() [][]byte {
		list := make([][]byte, 0, accounts*perAccount)
		for j := 0; j < perAccount; j++ {
			for i, k := range keys {
				seq++
				d := sha256.Sum256(binary.BigEndian.AppendUint64([]byte("bench pipeline "), seq))
				body := txs.NewBody(chainID, nonces[i], &evidence.MsgAnchor{Digest: d[:], HashAlgo: evidence.HashSHA256})
				body.Sender = k.PubKey().Address()
				nonces[i]++
				tx, err := txs.Sign(body, k)
				if err != nil {
					b.Fatal(err)
				}
				list = append(list, tx.Marshal())
			}
		}
		return list
	}
	cur := makeBlock()
	check(cur, abci.CheckTxType_New)
	b.ReportAllocs()
	b.ResetTimer()
	done := 0
	for done < b.N {
		b.StopTimer()
		next := makeBlock()
		b.StartTimer()
		check(next, abci.CheckTxType_New)
		finalize(cur)
		check(next, abci.CheckTxType_Recheck)
		done += len(cur)
		cur = next
	}
}
