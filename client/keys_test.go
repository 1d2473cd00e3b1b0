package client

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/txs"
)

func TestKeys(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	if _, err := LoadKey(dir, "alice"); !errors.Is(err, crypto.ErrKeyNotFound) {
		t.Fatalf("load from a missing keystore: %v", err)
	}
	for _, algo := range crypto.Algos() {
		name := "k-" + string(algo)
		k, err := CreateKey(dir, name, algo)
		if err != nil {
			t.Fatal(err)
		}
		if k.Algo() != algo {
			t.Fatalf("created %s, got %s", algo, k.Algo())
		}
		if _, err := CreateKey(dir, name, algo); !errors.Is(err, crypto.ErrKeyExists) {
			t.Fatalf("create twice: %v", err)
		}
		loaded, err := LoadKey(dir, name)
		if err != nil || !bytes.Equal(loaded.Bytes(), k.Bytes()) || AddressOf(loaded) != AddressOf(k) {
			t.Fatalf("load %s: %v", name, err)
		}
		same, err := LoadOrCreateKey(dir, name, crypto.Ed25519)
		if err != nil || !bytes.Equal(same.Bytes(), k.Bytes()) {
			t.Fatalf("load or create an existing key: %v", err)
		}

		// Generated keys sign transactions the chain's decoder verifies.
		g, err := GenerateKey(algo)
		if err != nil {
			t.Fatal(err)
		}
		bz, err := BuildTx("beijing-1", 7, g, "memo", testAnchor(1))
		if err != nil {
			t.Fatal(err)
		}
		tx, err := txs.DecodeTx(bz)
		if err != nil {
			t.Fatal(err)
		}
		body, err := txs.DecodeBody(tx.BodyBytes)
		if err != nil {
			t.Fatal(err)
		}
		if tx.Algo != algo || body.Sender != AddressOf(g) || body.Nonce != 7 {
			t.Fatalf("%s tx: algo %s sender %s nonce %d", algo, tx.Algo, body.Sender, body.Nonce)
		}
		if _, err := tx.Verify(body); err != nil {
			t.Fatalf("%s signature: %v", algo, err)
		}

		imported, err := ImportKey(dir, "imported-"+string(algo), algo, g.Bytes())
		if err != nil || AddressOf(imported) != AddressOf(g) {
			t.Fatalf("import: %v", err)
		}
	}
	created, err := LoadOrCreateKey(dir, "fresh", crypto.SM2)
	if err != nil || created.Algo() != crypto.SM2 {
		t.Fatalf("load or create a new key: %v", err)
	}
	if _, err := GenerateKey("rsa"); err == nil {
		t.Fatal("no error for an unknown algorithm")
	}
	ks, err := OpenKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	if list, err := ks.List(); err != nil || len(list) != 7 {
		t.Fatalf("list: %d keys, %v", len(list), err)
	}

	t.Setenv("LIAN_HOME", "/srv/lian")
	t.Setenv("LIAN_GATEWAY", "http://gw:8700")
	if DefaultHome() != "/srv/lian" || KeysDir(DefaultHome()) != "/srv/lian/keys" || DefaultGateway() != "http://gw:8700" {
		t.Fatalf("defaults %s %s %s", DefaultHome(), KeysDir(DefaultHome()), DefaultGateway())
	}
}
