package crypto

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// Keystore file and directory permissions.
const (
	keyFileMode = 0o600
	keyDirMode  = 0o700
	keyFileExt  = ".json"
	maxNameLen  = 64
	// maxKeyFileSize bounds how much of a key file is read.
	maxKeyFileSize = 64 << 10
)

// ErrKeyNotFound is wrapped by the error returned when a named key does not
// exist in a Keystore; test with errors.Is.
var ErrKeyNotFound = errors.New("key not found")

// ErrKeyExists is wrapped by the error returned when creating or importing a
// key under a name that is already taken; test with errors.Is.
var ErrKeyExists = errors.New("key already exists")

type keyNotFoundError struct{ name string }

func (e *keyNotFoundError) Error() string        { return fmt.Sprintf("key %q not found", e.name) }
func (e *keyNotFoundError) Is(target error) bool { return target == ErrKeyNotFound }

type keyExistsError struct{ name string }

func (e *keyExistsError) Error() string        { return fmt.Sprintf("key %q already exists", e.name) }
func (e *keyExistsError) Is(target error) bool { return target == ErrKeyExists }

// Key is the public part of a stored key.
//
// In JSON, Address is its "0x..." text form and PubKey is a lowercase hex
// string without prefix (see MarshalJSON).
type Key struct {
	Name    string  `json:"name"`
	Algo    Algo    `json:"algo"`
	Address Address `json:"address"`
	PubKey  []byte  `json:"pub_key"` // canonical public key bytes
}

// keyJSON is the JSON shape of Key.
type keyJSON struct {
	Name    string  `json:"name"`
	Algo    Algo    `json:"algo"`
	Address Address `json:"address"`
	PubKey  string  `json:"pub_key"`
}

// MarshalJSON encodes the key with pub_key as a lowercase hex string.
func (k Key) MarshalJSON() ([]byte, error) {
	return json.Marshal(keyJSON{Name: k.Name, Algo: k.Algo, Address: k.Address, PubKey: hex.EncodeToString(k.PubKey)})
}

// UnmarshalJSON decodes the form written by MarshalJSON. pub_key may carry
// an optional 0x prefix.
func (k *Key) UnmarshalJSON(data []byte) error {
	var j keyJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	pub, err := decodeHex(j.PubKey)
	if err != nil {
		return fmt.Errorf("pub_key: %w", err)
	}
	*k = Key{Name: j.Name, Algo: j.Algo, Address: j.Address, PubKey: pub}
	return nil
}

// keyFile is the on-disk format, <dir>/<name>.json.
type keyFile struct {
	Name    string  `json:"name"`
	Algo    Algo    `json:"algo"`
	Address Address `json:"address"`
	PubKey  string  `json:"pub_key"`  // hex
	PrivKey string  `json:"priv_key"` // hex, PrivKey.Bytes()
}

// Keystore stores keys unencrypted, one JSON file per key, in a directory.
// Key files are created with mode 0600 and written atomically. Methods are
// safe for concurrent use. When several processes create the same name at
// once, exactly one succeeds (on file systems with hard links; elsewhere a
// rename is used and the last writer could win).
type Keystore struct {
	dir string
	mu  sync.Mutex // serializes writers in this process
}

// OpenKeystore opens the keystore in dir, creating the directory with mode
// 0700 if it does not exist. An existing directory is used as it is.
func OpenKeystore(dir string) (*Keystore, error) {
	if dir == "" {
		return nil, errors.New("open keystore: empty directory path")
	}
	dir = filepath.Clean(dir)
	fi, err := os.Stat(dir)
	switch {
	case err == nil:
		if !fi.IsDir() {
			return nil, fmt.Errorf("open keystore: %s is not a directory", dir)
		}
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, keyDirMode); err != nil {
			return nil, fmt.Errorf("open keystore: %w", err)
		}
		// MkdirAll is subject to the umask; make the mode exact.
		if err := os.Chmod(dir, keyDirMode); err != nil {
			return nil, fmt.Errorf("open keystore: %w", err)
		}
	default:
		return nil, fmt.Errorf("open keystore: %w", err)
	}
	return &Keystore{dir: dir}, nil
}

// Dir returns the keystore directory.
func (k *Keystore) Dir() string { return k.dir }

// Create generates a new key of the given algorithm and stores it under name.
// Names match [a-zA-Z0-9_.-]{1,64}. It fails with an error wrapping
// ErrKeyExists if the name is taken.
func (k *Keystore) Create(name string, algo Algo) (Key, error) {
	if err := ValidateKeyName(name); err != nil {
		return Key{}, err
	}
	priv, err := GenPrivKey(algo)
	if err != nil {
		return Key{}, err
	}
	return k.store(name, priv)
}

// Import stores priv under name. It fails with an error wrapping
// ErrKeyExists if the name is taken.
func (k *Keystore) Import(name string, priv PrivKey) (Key, error) {
	if err := ValidateKeyName(name); err != nil {
		return Key{}, err
	}
	if priv == nil {
		return Key{}, errors.New("import key: nil private key")
	}
	// Re-decode so that only well-formed keys of this package are stored.
	p, err := PrivKeyFromBytes(priv.Algo(), priv.Bytes())
	if err != nil {
		return Key{}, fmt.Errorf("import key: %w", err)
	}
	return k.store(name, p)
}

// Get returns the public part of the key stored under name. A missing key
// yields an error wrapping ErrKeyNotFound.
func (k *Keystore) Get(name string) (Key, error) {
	key, _, err := k.load(name)
	return key, err
}

// Signer loads the private key stored under name. A missing key yields an
// error wrapping ErrKeyNotFound.
func (k *Keystore) Signer(name string) (PrivKey, error) {
	_, priv, err := k.load(name)
	if err != nil {
		return nil, err
	}
	return priv, nil
}

// List returns the public parts of all stored keys, sorted by name. Files
// in the directory that are not named <valid name>.json are ignored; a key
// file that cannot be read or is malformed is an error.
func (k *Keystore) List() ([]Key, error) {
	entries, err := os.ReadDir(k.dir)
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	keys := []Key{}
	for _, e := range entries {
		fname := e.Name()
		name, ok := strings.CutSuffix(fname, keyFileExt)
		if !ok || !e.Type().IsRegular() || ValidateKeyName(name) != nil {
			continue
		}
		key, _, err := k.load(name)
		if err != nil {
			if errors.Is(err, ErrKeyNotFound) {
				continue // removed meanwhile
			}
			return nil, err
		}
		keys = append(keys, key)
	}
	slices.SortFunc(keys, func(a, b Key) int { return strings.Compare(a.Name, b.Name) })
	return keys, nil
}

// ValidateKeyName checks that name matches [a-zA-Z0-9_.-]{1,64}.
func ValidateKeyName(name string) error {
	if len(name) == 0 || len(name) > maxNameLen {
		return fmt.Errorf("invalid key name %q: must be 1 to %d characters", truncateForError(name), maxNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '.', c == '-':
		default:
			return fmt.Errorf("invalid key name %q: only letters, digits, '_', '.' and '-' are allowed", truncateForError(name))
		}
	}
	return nil
}

func (k *Keystore) path(name string) string {
	return filepath.Join(k.dir, name+keyFileExt)
}

// store writes priv under name without overwriting an existing file.
func (k *Keystore) store(name string, priv PrivKey) (Key, error) {
	pub := priv.PubKey()
	key := Key{Name: name, Algo: priv.Algo(), Address: pub.Address(), PubKey: pub.Bytes()}
	data, err := json.MarshalIndent(keyFile{
		Name:    key.Name,
		Algo:    key.Algo,
		Address: key.Address,
		PubKey:  hex.EncodeToString(key.PubKey),
		PrivKey: hex.EncodeToString(priv.Bytes()),
	}, "", "  ")
	if err != nil {
		return Key{}, fmt.Errorf("store key %q: %w", name, err)
	}
	data = append(data, '\n')

	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.writeNew(name, data); err != nil {
		return Key{}, err
	}
	return key, nil
}

// writeNew atomically creates <dir>/<name>.json with mode 0600: the data goes
// to a temporary file in the same directory, which is synced and then
// linked (falling back to renamed) into place. Linking fails if the target
// exists, so an existing key is never overwritten.
func (k *Keystore) writeNew(name string, data []byte) (err error) {
	final := k.path(name)
	if _, err := os.Lstat(final); err == nil {
		return &keyExistsError{name}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("store key %q: %w", name, err)
	}

	f, err := os.CreateTemp(k.dir, "."+name+".tmp-*")
	if err != nil {
		return fmt.Errorf("store key %q: %w", name, err)
	}
	tmp := f.Name()
	defer func() {
		// After a successful link the temporary name is just an extra link;
		// after a rename it no longer exists. Either way remove it.
		_ = os.Remove(tmp)
	}()
	if err := f.Chmod(keyFileMode); err != nil {
		f.Close()
		return fmt.Errorf("store key %q: %w", name, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("store key %q: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("store key %q: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("store key %q: %w", name, err)
	}

	if err := os.Link(tmp, final); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return &keyExistsError{name}
		}
		// Hard links unsupported by the file system: check and rename.
		if _, statErr := os.Lstat(final); statErr == nil {
			return &keyExistsError{name}
		}
		if err := os.Rename(tmp, final); err != nil {
			return fmt.Errorf("store key %q: %w", name, err)
		}
	}
	syncDir(k.dir)
	return nil
}

// syncDir flushes directory entries to disk, best effort.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// load reads and checks the key file for name.
func (k *Keystore) load(name string) (Key, PrivKey, error) {
	if err := ValidateKeyName(name); err != nil {
		return Key{}, nil, err
	}
	path := k.path(name)
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Key{}, nil, &keyNotFoundError{name}
		}
		return Key{}, nil, fmt.Errorf("read key %q: %w", name, err)
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(f, maxKeyFileSize+1)); err != nil {
		return Key{}, nil, fmt.Errorf("read key %q: %w", name, err)
	}
	if buf.Len() > maxKeyFileSize {
		return Key{}, nil, fmt.Errorf("read key %q: %s is larger than %d bytes", name, path, maxKeyFileSize)
	}
	key, priv, err := parseKeyFile(name, buf.Bytes())
	if err != nil {
		return Key{}, nil, fmt.Errorf("read key %q from %s: %w", name, path, err)
	}
	return key, priv, nil
}

// parseKeyFile decodes a key file and checks that its fields agree: the
// name matches, the private key decodes and yields the stored public key
// and address.
func parseKeyFile(name string, data []byte) (Key, PrivKey, error) {
	var kf keyFile
	if err := json.Unmarshal(data, &kf); err != nil {
		return Key{}, nil, fmt.Errorf("malformed key file: %w", err)
	}
	if kf.Name != name {
		return Key{}, nil, fmt.Errorf("key file names key %q, not %q", kf.Name, name)
	}
	if err := checkAlgo(kf.Algo); err != nil {
		return Key{}, nil, err
	}
	pubBytes, err := decodeHex(kf.PubKey)
	if err != nil {
		return Key{}, nil, fmt.Errorf("pub_key: %w", err)
	}
	privBytes, err := decodeHex(kf.PrivKey)
	if err != nil {
		return Key{}, nil, fmt.Errorf("priv_key: %w", err)
	}
	priv, err := PrivKeyFromBytes(kf.Algo, privBytes)
	clear(privBytes)
	if err != nil {
		return Key{}, nil, err
	}
	pub := priv.PubKey()
	if !bytes.Equal(pub.Bytes(), pubBytes) {
		return Key{}, nil, errors.New("pub_key does not match priv_key")
	}
	if pub.Address() != kf.Address {
		return Key{}, nil, fmt.Errorf("address %s does not match the key (derived %s)", kf.Address, pub.Address())
	}
	return Key{Name: kf.Name, Algo: kf.Algo, Address: kf.Address, PubKey: pubBytes}, priv, nil
}

// decodeHex decodes hex with an optional 0x prefix.
func decodeHex(s string) ([]byte, error) {
	if len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		s = s[2:]
	}
	return hex.DecodeString(s)
}
