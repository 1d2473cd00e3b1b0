package client

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/types"
)

func TestTrustFromGenesisSaveLoad(t *testing.T) {
	dir := t.TempDir()
	doc := &types.GenesisDoc{ChainID: "trust-1"}
	for i := 0; i < 4; i++ {
		pk := ed25519.GenPrivKey().PubKey()
		doc.Validators = append(doc.Validators, types.GenesisValidator{PubKey: pk, Power: 10, Address: pk.Address()})
	}
	gf := filepath.Join(dir, "genesis.json")
	if err := doc.SaveAs(gf); err != nil {
		t.Fatal(err)
	}
	tr, err := TrustFromGenesis(gf)
	if err != nil {
		t.Fatal(err)
	}
	vals := make([]*types.Validator, 4)
	for i, v := range doc.Validators {
		vals[i] = types.NewValidator(v.PubKey, v.Power)
	}
	if want := types.NewValidatorSet(vals).Hash(); string(want) != string(tr.ValidatorsHash) || tr.ChainID != "trust-1" {
		t.Fatalf("trust %+v", tr)
	}
	tdir := filepath.Join(dir, "trust")
	if err := SaveTrust(tdir, tr); err != nil {
		t.Fatal(err)
	}
	got, err := LoadTrust(tdir, "trust-1")
	if err != nil || got == nil || string(got.ValidatorsHash) != string(tr.ValidatorsHash) {
		t.Fatalf("load: %+v %v", got, err)
	}
	if got, err := LoadTrust(tdir, "other-1"); got != nil || err != nil {
		t.Fatalf("missing trust file: %+v %v", got, err)
	}
	// A trust file of another chain under this chain's name is refused.
	os.WriteFile(filepath.Join(tdir, "evil-1.json"), []byte(`{"chain_id":"trust-1","validators_hash":"00"}`), 0o600)
	if _, err := LoadTrust(tdir, "evil-1"); err == nil {
		t.Fatal("mismatched trust file accepted")
	}
	if _, err := TrustFromGenesis(filepath.Join(dir, "nope.json")); err == nil {
		t.Fatal("missing genesis accepted")
	}
}
