package client

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/lianchain/lian/crypto"
)

// Key management. Keys live in a keystore directory, one JSON file per key (see
// crypto.Keystore); the CLI's is <home>/keys, home being --home, else $LIAN_HOME, else
// ~/.lian. Every function here works with the three signature algorithms: crypto.Ed25519,
// crypto.SM2 (GB/T 32918 with SM3) and crypto.Secp256k1.

// DefaultHome returns the CLI's default data directory: $LIAN_HOME, else ~/.lian (else
// .lian in the working directory, if there is no home directory).
func DefaultHome() string {
	if h := os.Getenv("LIAN_HOME"); h != "" {
		return h
	}
	if d, err := os.UserHomeDir(); err == nil {
		return filepath.Join(d, ".lian")
	}
	return ".lian"
}

// DefaultGateway returns the CLI's default gateway URL: $LIAN_GATEWAY, else
// http://127.0.0.1:8700 (what `lian up` serves).
func DefaultGateway() string {
	if g := os.Getenv("LIAN_GATEWAY"); g != "" {
		return g
	}
	return "http://127.0.0.1:8700"
}

// KeysDir returns the keystore directory of a data directory: <home>/keys.
func KeysDir(home string) string { return filepath.Join(home, "keys") }

// OpenKeys opens the keystore directory dir, creating it (mode 0700) if it does not
// exist.
func OpenKeys(dir string) (*crypto.Keystore, error) { return crypto.OpenKeystore(dir) }

// LoadKey loads the signing key stored as name in the keystore directory dir (e.g.
// KeysDir(DefaultHome())). A missing directory or key is an error wrapping
// crypto.ErrKeyNotFound.
func LoadKey(dir, name string) (crypto.PrivKey, error) {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("load key %q: no keystore at %s: %w", name, dir, crypto.ErrKeyNotFound)
	case err != nil:
		return nil, fmt.Errorf("load key %q: %w", name, err)
	case !fi.IsDir():
		return nil, fmt.Errorf("load key %q: %s is not a directory", name, dir)
	}
	ks, err := crypto.OpenKeystore(dir)
	if err != nil {
		return nil, err
	}
	return ks.Signer(name)
}

// GenerateKey returns a new random key of algo ("ed25519", "sm2" or "secp256k1"); it is
// not stored.
func GenerateKey(algo crypto.Algo) (crypto.PrivKey, error) {
	if _, err := crypto.ParseAlgo(string(algo)); err != nil {
		return nil, err
	}
	return crypto.GenPrivKey(algo)
}

// CreateKey generates a key of algo and stores it as name in the keystore directory dir
// (created if needed). It fails, with an error wrapping crypto.ErrKeyExists, if the name
// is taken.
func CreateKey(dir, name string, algo crypto.Algo) (crypto.PrivKey, error) {
	ks, err := crypto.OpenKeystore(dir)
	if err != nil {
		return nil, err
	}
	if _, err := ks.Create(name, algo); err != nil {
		return nil, err
	}
	return ks.Signer(name)
}

// LoadOrCreateKey loads the key name from the keystore directory dir, or creates it with
// algo if there is none by that name.
func LoadOrCreateKey(dir, name string, algo crypto.Algo) (crypto.PrivKey, error) {
	ks, err := crypto.OpenKeystore(dir)
	if err != nil {
		return nil, err
	}
	k, err := ks.Signer(name)
	if errors.Is(err, crypto.ErrKeyNotFound) {
		if _, err := ks.Create(name, algo); err != nil && !errors.Is(err, crypto.ErrKeyExists) {
			return nil, err
		}
		return ks.Signer(name)
	}
	return k, err
}

// ImportKey stores an existing private key (its canonical bytes under algo, as
// crypto.PrivKey.Bytes returns them) as name in the keystore directory dir.
func ImportKey(dir, name string, algo crypto.Algo, priv []byte) (crypto.PrivKey, error) {
	k, err := crypto.PrivKeyFromBytes(algo, priv)
	if err != nil {
		return nil, err
	}
	ks, err := crypto.OpenKeystore(dir)
	if err != nil {
		return nil, err
	}
	if _, err := ks.Import(name, k); err != nil {
		return nil, err
	}
	return k, nil
}

// AddressOf returns the account address of a key.
func AddressOf(key crypto.PrivKey) crypto.Address { return key.PubKey().Address() }
