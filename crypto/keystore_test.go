package crypto

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestKeystoreRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sub", "keys")
	ks, err := OpenKeystore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if ks.Dir() != dir {
		t.Fatalf("Dir = %s", ks.Dir())
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode %v", fi.Mode().Perm())
	}

	names := map[Algo]string{Ed25519: "zeta", SM2: "alice.sm2", Secp256k1: "Bob_k1-2"}
	created := map[string]Key{}
	for _, algo := range Algos() {
		name := names[algo]
		key, err := ks.Create(name, algo)
		if err != nil {
			t.Fatal(err)
		}
		if key.Name != name || key.Algo != algo {
			t.Fatalf("Create returned %+v", key)
		}
		pub, err := PubKeyFromBytes(algo, key.PubKey)
		if err != nil || pub.Address() != key.Address {
			t.Fatalf("Create returned inconsistent key: %v", err)
		}
		created[name] = key

		path := filepath.Join(dir, name+".json")
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Fatalf("file mode %v", fi.Mode().Perm())
		}

		got, err := ks.Get(name)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != key.Name || got.Algo != key.Algo || got.Address != key.Address || string(got.PubKey) != string(key.PubKey) {
			t.Fatalf("Get = %+v, want %+v", got, key)
		}

		signer, err := ks.Signer(name)
		if err != nil {
			t.Fatal(err)
		}
		if signer.Algo() != algo || signer.PubKey().Address() != key.Address {
			t.Fatal("Signer returned another key")
		}
		sig, err := signer.Sign([]byte("tx"))
		if err != nil || !pub.VerifySignature([]byte("tx"), sig) {
			t.Fatalf("signer signature refused: %v", err)
		}

		// Creating again fails and leaves the file intact.
		if _, err := ks.Create(name, algo); !errors.Is(err, ErrKeyExists) {
			t.Fatalf("second Create: %v", err)
		}
		if again, _ := ks.Get(name); again.Address != key.Address {
			t.Fatal("second Create overwrote the key")
		}
	}

	list, err := ks.List()
	if err != nil {
		t.Fatal(err)
	}
	wantOrder := []string{"Bob_k1-2", "alice.sm2", "zeta"}
	if len(list) != len(wantOrder) {
		t.Fatalf("List = %+v", list)
	}
	for i, k := range list {
		if k.Name != wantOrder[i] || k.Address != created[k.Name].Address {
			t.Fatalf("List[%d] = %+v", i, k)
		}
	}

	// Reopening sees the same keys.
	ks2, err := OpenKeystore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if l2, err := ks2.List(); err != nil || len(l2) != 3 {
		t.Fatalf("reopened List = %v, %v", l2, err)
	}

	// No temporary files left behind.
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			t.Errorf("stray file %s", e.Name())
		}
	}
}

func TestKeystoreFileFormat(t *testing.T) {
	ks, err := OpenKeystore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	priv, err := PrivKeyFromBytes(Secp256k1, mustHex(t, "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := ks.Import("web3", priv)
	if err != nil {
		t.Fatal(err)
	}
	if key.Address.String() != "0x2c7536e3605d9c16a7a3d7b1898e529396a65c23" {
		t.Fatalf("address %s", key.Address)
	}
	data, err := os.ReadFile(filepath.Join(ks.Dir(), "web3.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"name":     "web3",
		"algo":     "secp256k1",
		"address":  "0x2c7536e3605d9c16a7a3d7b1898e529396a65c23",
		"pub_key":  "024e3b81af9c2234cad09d679ce6035ed1392347ce64ce405f5dcd36228a25de6e",
		"priv_key": "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318",
	}
	if len(m) != len(want) {
		t.Fatalf("file fields %v", m)
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %q, want %q", k, m[k], v)
		}
	}

	// Key JSON: pub_key as hex.
	js, err := json.Marshal(key)
	if err != nil {
		t.Fatal(err)
	}
	const wantJSON = `{"name":"web3","algo":"secp256k1","address":"0x2c7536e3605d9c16a7a3d7b1898e529396a65c23","pub_key":"024e3b81af9c2234cad09d679ce6035ed1392347ce64ce405f5dcd36228a25de6e"}`
	if string(js) != wantJSON {
		t.Fatalf("Key JSON = %s", js)
	}
	var back Key
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if back.Name != key.Name || back.Algo != key.Algo || back.Address != key.Address || string(back.PubKey) != string(key.PubKey) {
		t.Fatalf("Key JSON round trip = %+v", back)
	}
	if err := json.Unmarshal([]byte(`{"pub_key":"zz"}`), &back); err == nil {
		t.Fatal("Key JSON accepted bad hex")
	}

	if _, err := ks.Import("web3", priv); !errors.Is(err, ErrKeyExists) {
		t.Fatalf("second Import: %v", err)
	}
	if _, err := ks.Import("nil", nil); err == nil {
		t.Fatal("Import accepted nil key")
	}
}

func TestKeystoreErrors(t *testing.T) {
	ks, err := OpenKeystore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}

	_, err = ks.Get("missing")
	if !errors.Is(err, ErrKeyNotFound) || err.Error() != `key "missing" not found` {
		t.Fatalf("Get missing: %v", err)
	}
	if _, err := ks.Signer("missing"); !errors.Is(err, ErrKeyNotFound) {
		t.Fatalf("Signer missing: %v", err)
	}

	badNames := []string{"", strings.Repeat("a", 65), "a/b", "../x", "a b", "é", "a\x00", "a:b", `a\b`}
	for _, n := range badNames {
		if _, err := ks.Create(n, Ed25519); err == nil {
			t.Errorf("Create accepted name %q", n)
		}
		if _, err := ks.Get(n); err == nil || errors.Is(err, ErrKeyNotFound) {
			t.Errorf("Get(%q) = %v, want invalid name error", n, err)
		}
	}
	if _, err := ks.Create(strings.Repeat("a", 64), Ed25519); err != nil {
		t.Errorf("64-char name refused: %v", err)
	}
	if _, err := ks.Create("x", Algo("rsa")); err == nil {
		t.Error("Create accepted unknown algo")
	}
	if _, err := ks.Get("x"); !errors.Is(err, ErrKeyNotFound) {
		t.Error("failed Create left a key behind")
	}

	// Corrupt and inconsistent files are reported, not trusted.
	good, err := ks.Create("good", SM2)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := GenPrivKey(SM2)
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(ks.Dir(), name+".json"), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("garbage", "not json")
	write("renamed", `{"name":"good","algo":"sm2","address":"`+good.Address.String()+`","pub_key":"00","priv_key":"00"}`)
	write("mismatch", `{"name":"mismatch","algo":"sm2","address":"`+good.Address.String()+`","pub_key":"`+
		hex.EncodeToString(good.PubKey)+`","priv_key":"`+hex.EncodeToString(other.Bytes())+`"}`)
	write("badaddr", `{"name":"badaddr","algo":"sm2","address":"0x0000000000000000000000000000000000000001","pub_key":"`+
		hex.EncodeToString(other.PubKey().Bytes())+`","priv_key":"`+hex.EncodeToString(other.Bytes())+`"}`)
	write("badalgo", `{"name":"badalgo","algo":"rsa","address":"`+good.Address.String()+`","pub_key":"00","priv_key":"00"}`)
	for _, n := range []string{"garbage", "renamed", "mismatch", "badaddr", "badalgo"} {
		if _, err := ks.Get(n); err == nil || errors.Is(err, ErrKeyNotFound) {
			t.Errorf("Get(%s) = %v", n, err)
		}
		if _, err := ks.Signer(n); err == nil {
			t.Errorf("Signer(%s) accepted", n)
		}
	}
	if _, err := ks.List(); err == nil {
		t.Error("List ignored corrupt files")
	}

	// Files that are not key files are ignored by List.
	ks2, _ := OpenKeystore(t.TempDir())
	if _, err := ks2.Create("k", Ed25519); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(ks2.Dir(), "README.txt"), []byte("hi"), 0o600)
	os.WriteFile(filepath.Join(ks2.Dir(), "bad name.json"), []byte("{}"), 0o600)
	os.Mkdir(filepath.Join(ks2.Dir(), "dir.json"), 0o700)
	if l, err := ks2.List(); err != nil || len(l) != 1 || l[0].Name != "k" {
		t.Fatalf("List = %v, %v", l, err)
	}

	// Empty keystore lists nothing.
	ks3, _ := OpenKeystore(t.TempDir())
	if l, err := ks3.List(); err != nil || len(l) != 0 {
		t.Fatalf("empty List = %v, %v", l, err)
	}

	// A file is not a keystore directory.
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o600)
	if _, err := OpenKeystore(f); err == nil {
		t.Error("OpenKeystore accepted a file")
	}
	if _, err := OpenKeystore(""); err == nil {
		t.Error("OpenKeystore accepted empty path")
	}
}

func TestKeystoreConcurrentCreate(t *testing.T) {
	dir := t.TempDir()
	const workers = 8
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			// Separate Keystore values act like separate processes.
			ks, err := OpenKeystore(dir)
			if err != nil {
				errs[i] = err
				return
			}
			_, errs[i] = ks.Create("same", Ed25519)
		}(i)
	}
	wg.Wait()
	okCount := 0
	for _, err := range errs {
		switch {
		case err == nil:
			okCount++
		case !errors.Is(err, ErrKeyExists):
			t.Errorf("unexpected error: %v", err)
		}
	}
	if okCount != 1 {
		t.Fatalf("%d creates succeeded", okCount)
	}
}
