package main

import (
	"context"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/lianchain/lian/app"
	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/modules/identity"
	"github.com/lianchain/lian/node"
	"github.com/lianchain/lian/store"
)

// TestNodeCheck: `lian node check` passes on a sound state and lists the violations of
// a corrupted one, exiting non-zero.
func TestNodeCheck(t *testing.T) {
	home := t.TempDir()
	a, err := app.Open(node.DataDir(home))
	if err != nil {
		t.Fatal(err)
	}
	admin, _ := crypto.GenPrivKey(crypto.Ed25519)
	gen, err := app.BuildGenesis(app.GenesisSpec{Orgs: []identity.GenesisOrg{{ID: "org1", Name: "Org One"}},
		Accounts: []identity.GenesisAccount{{Org: "org1", Algo: crypto.Ed25519, PubKey: admin.PubKey().Bytes(), Roles: []string{identity.RoleAdmin}}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 0)
	if _, err := a.InitChain(ctx, &abci.RequestInitChain{ChainId: "check-1", AppStateBytes: gen, InitialHeight: 1, Time: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: 1, Time: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Commit(ctx, &abci.RequestCommit{}); err != nil {
		t.Fatal(err)
	}
	a.Close()

	out, _, err := runCLI(t, home, "", "node", "check")
	if err != nil || !strings.Contains(out, "check-1 at height 1: every invariant holds") {
		t.Fatalf("sound state: %v\n%s", err, out)
	}

	st, err := store.Open(node.DataDir(home))
	if err != nil {
		t.Fatal(err)
	}
	st.Set([]byte("evidence/not a digest"), []byte("x"))
	if _, _, err := st.Commit(); err != nil {
		t.Fatal(err)
	}
	st.Close()
	out, _, err = runCLI(t, home, "", "-o", "json", "node", "check")
	var res nodeCheck
	oneJSON(t, out, &res)
	if err == nil || res.OK || len(res.Violations) != 1 || !strings.Contains(res.Violations[0], "not a digest") || res.Height != 2 {
		t.Fatalf("corrupted state: %v, %+v", err, res)
	}
}
