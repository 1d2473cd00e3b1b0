package gateway

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lianchain/lian/errcode"
)

// Platform API keys.
//
// A key is "lian_<id>_<secret>": id is 16 hex digits that name the key, secret 43
// base64url characters of 32 random bytes. The key store keeps, per key, its id, a name,
// the SHA-256 of the secret (never the secret), its creation time, whether it is revoked
// and optionally its own rate limit. It is one JSON file of mode 0600, replaced
// atomically on every change; a gateway serving with it reads it again when it changes,
// so keys created or revoked by `lian gateway keys` apply to a running gateway within
// keyReloadInterval.

const (
	apiKeyPrefix    = "lian_"
	apiKeyIDLen     = 16 // hex digits
	apiKeySecretLen = 32 // bytes
	// keyStoreVersion is the version of the key file format.
	keyStoreVersion = 1
	// keyReloadInterval is how often a serving gateway looks for changes of the file.
	keyReloadInterval = time.Second
	// keyLockWait bounds the wait for another process's lock of the store; a lock
	// older than keyLockStale is left over by a crashed process and broken.
	keyLockWait  = 10 * time.Second
	keyLockStale = time.Minute
	// MaxKeyNameLen bounds a key's name.
	MaxKeyNameLen = 64
)

// Rate limit defaults of `lian gateway` and `lian up`.
const (
	DefaultRateLimit = 20.0 // requests per second per key
	DefaultRateBurst = 40   // requests a key may send at once
)

// APIKey is one key of a KeyStore, without its secret.
type APIKey struct {
	ID   string `json:"id"`   // 16 hex digits, the public part of the key
	Name string `json:"name"` // who the key is for; the logs attribute requests to it
	// SecretSHA256 is the hex SHA-256 of the key's 32-byte secret.
	SecretSHA256 string     `json:"secret_sha256"`
	Created      time.Time  `json:"created"`
	Revoked      bool       `json:"revoked"`
	RevokedAt    *time.Time `json:"revoked_at,omitempty"`
	// Rate (requests per second) and Burst, when set, replace the gateway's limits for
	// this key.
	Rate  float64 `json:"rate,omitempty"`
	Burst int     `json:"burst,omitempty"`
}

// keyFile is the key store's file.
type keyFile struct {
	Version int      `json:"version"`
	Keys    []APIKey `json:"keys"`
}

// Errors of KeyStore.Authenticate.
var (
	ErrKeyMalformed = errors.New("the API key is not of the form lian_<16 hex digits>_<43 base64url characters>")
	ErrKeyUnknown   = errors.New("the API key is not known to this gateway")
	ErrKeyRevoked   = errors.New("the API key was revoked")
)

// KeyStore is a file of API keys. It is safe for concurrent use, and processes
// changing the same file take turns (a lock file beside it).
type KeyStore struct {
	path string

	mu      sync.Mutex
	keys    []APIKey
	byID    map[string]int
	loaded  os.FileInfo // the file as last read; nil if it did not exist
	checked time.Time   // when the file was last looked at
	now     func() time.Time
	// refreshErr is the last failure to read the changed file, until takeRefreshError.
	refreshErr error
}

// OpenKeyStore opens the key store in path. A missing file is an empty store (the first
// key created writes it); a file others may write to is refused.
func OpenKeyStore(path string) (*KeyStore, error) {
	if path == "" {
		return nil, errors.New("key store: no file given")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("key store %s: %w", path, err)
	}
	ks := &KeyStore{path: abs, now: time.Now}
	if err := ks.reload(); err != nil {
		return nil, err
	}
	return ks, nil
}

// Path returns the store's file.
func (ks *KeyStore) Path() string { return ks.path }

// reload reads the file into the store. ks.mu is held or ks is not shared yet.
func (ks *KeyStore) reload() error {
	keys, fi, err := readKeyFile(ks.path)
	if err != nil {
		return err
	}
	ks.setKeys(keys)
	ks.loaded = fi
	ks.checked = ks.now()
	return nil
}

func (ks *KeyStore) setKeys(keys []APIKey) {
	ks.keys = keys
	ks.byID = make(map[string]int, len(keys))
	for i, k := range keys {
		ks.byID[k.ID] = i
	}
}

// readKeyFile reads and checks a key file; a missing one holds no keys.
func readKeyFile(path string) ([]APIKey, os.FileInfo, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("key store: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("key store: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("key store %s: not a regular file", path)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return nil, nil, fmt.Errorf("key store %s: mode %v lets others change the keys; expected 0600 (chmod 600 %s)", path, fi.Mode().Perm(), path)
	}
	var kf keyFile
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&kf); err != nil {
		return nil, nil, fmt.Errorf("key store %s: %w", path, err)
	}
	if kf.Version != keyStoreVersion {
		return nil, nil, fmt.Errorf("key store %s: version %d, expected %d", path, kf.Version, keyStoreVersion)
	}
	ids, names := map[string]bool{}, map[string]bool{}
	for i, k := range kf.Keys {
		if err := k.check(); err != nil {
			return nil, nil, fmt.Errorf("key store %s: key %d: %w", path, i, err)
		}
		if ids[k.ID] || names[k.Name] {
			return nil, nil, fmt.Errorf("key store %s: key %d: id %s or name %q listed twice", path, i, k.ID, k.Name)
		}
		ids[k.ID], names[k.Name] = true, true
	}
	return kf.Keys, fi, nil
}

func (k *APIKey) check() error {
	if len(k.ID) != apiKeyIDLen || !isLowerHex(k.ID) {
		return fmt.Errorf("id %q: expected %d lower-case hex digits", k.ID, apiKeyIDLen)
	}
	if err := ValidateKeyName(k.Name); err != nil {
		return err
	}
	if len(k.SecretSHA256) != 2*sha256.Size || !isLowerHex(k.SecretSHA256) {
		return fmt.Errorf("key %q: secret_sha256 is not %d lower-case hex digits", k.Name, 2*sha256.Size)
	}
	if k.Rate < 0 || math.IsNaN(k.Rate) || math.IsInf(k.Rate, 0) || k.Burst < 0 {
		return fmt.Errorf("key %q: negative or invalid rate limit", k.Name)
	}
	return nil
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// ValidateKeyName checks a key name: 1 to 64 letters, digits, '-', '_', '.', '@'.
func ValidateKeyName(name string) error {
	if name == "" || len(name) > MaxKeyNameLen {
		return fmt.Errorf("key name %q: expected 1 to %d characters", truncate(name, 80), MaxKeyNameLen)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '@') {
			return fmt.Errorf("key name %q: unexpected character %q (expected letters, digits, '-', '_', '.', '@')", name, c)
		}
	}
	return nil
}

// List returns the keys, as the file holds them now, oldest first.
func (ks *KeyStore) List() ([]APIKey, error) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if err := ks.reload(); err != nil {
		return nil, err
	}
	return slices.Clone(ks.keys), nil
}

// Create adds a key named name and returns it with its secret form, the only time the
// secret exists outside the caller. rate and burst (0: the gateway's) are its own limits.
func (ks *KeyStore) Create(name string, rate float64, burst int) (APIKey, string, error) {
	if err := ValidateKeyName(name); err != nil {
		return APIKey{}, "", err
	}
	if rate < 0 || math.IsNaN(rate) || math.IsInf(rate, 0) || burst < 0 {
		return APIKey{}, "", fmt.Errorf("key %q: rate %v and burst %d: expected positive numbers or 0 (the gateway's limits)", name, rate, burst)
	}
	var id [apiKeyIDLen / 2]byte
	var secret [apiKeySecretLen]byte
	if _, err := rand.Read(id[:]); err != nil {
		return APIKey{}, "", fmt.Errorf("create key: %w", err)
	}
	if _, err := rand.Read(secret[:]); err != nil {
		return APIKey{}, "", fmt.Errorf("create key: %w", err)
	}
	sum := sha256.Sum256(secret[:])
	k := APIKey{
		ID:           hex.EncodeToString(id[:]),
		Name:         name,
		SecretSHA256: hex.EncodeToString(sum[:]),
		Created:      ks.now().UTC().Truncate(time.Second),
		Rate:         rate,
		Burst:        burst,
	}
	err := ks.update(func(keys []APIKey) ([]APIKey, error) {
		for _, o := range keys {
			if o.Name == name {
				return nil, fmt.Errorf("a key named %q exists already (created %s)", name, o.Created.Format(time.RFC3339))
			}
			if o.ID == k.ID {
				return nil, errors.New("create key: the random id is taken; try again")
			}
		}
		return append(keys, k), nil
	})
	if err != nil {
		return APIKey{}, "", err
	}
	return k, apiKeyPrefix + k.ID + "_" + base64.RawURLEncoding.EncodeToString(secret[:]), nil
}

// Revoke revokes the key of a name (or id). A revoked key stays listed. It reports
// whether the key was revoked already (and then changes nothing).
func (ks *KeyStore) Revoke(nameOrID string) (key APIKey, already bool, err error) {
	err = ks.update(func(keys []APIKey) ([]APIKey, error) {
		for i := range keys {
			k := &keys[i]
			if k.Name != nameOrID && k.ID != nameOrID {
				continue
			}
			if k.Revoked {
				key, already = *k, true
				return nil, nil
			}
			t := ks.now().UTC().Truncate(time.Second)
			k.Revoked, k.RevokedAt = true, &t
			key = *k
			return keys, nil
		}
		return nil, fmt.Errorf("no key named %q in %s", truncate(nameOrID, 80), ks.path)
	})
	return key, already, err
}

// update applies change to the keys as the file holds them, under the store's lock
// file, and writes the result (unless change returns nil keys and no error).
func (ks *KeyStore) update(change func([]APIKey) ([]APIKey, error)) error {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(ks.path), 0o700); err != nil {
		return fmt.Errorf("key store: %w", err)
	}
	unlock, err := lockFile(ks.path + ".lock")
	if err != nil {
		return err
	}
	defer unlock()
	if err := ks.reload(); err != nil {
		return err
	}
	keys, err := change(slices.Clone(ks.keys))
	if err != nil || keys == nil {
		return err
	}
	if err := writeKeyFile(ks.path, keys); err != nil {
		return err
	}
	return ks.reload()
}

// lockFile takes the lock file path (created exclusively), waiting for another holder
// up to keyLockWait, and returns its release.
func lockFile(path string) (func(), error) {
	deadline := time.Now().Add(keyLockWait)
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			fmt.Fprintf(f, "%d\n", os.Getpid())
			f.Close()
			return func() { os.Remove(path) }, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("key store: lock: %w", err)
		}
		if fi, err := os.Stat(path); err == nil && time.Since(fi.ModTime()) > keyLockStale {
			os.Remove(path) // left by a process that crashed while holding it
			continue
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("key store: %s is held by another process; remove it if no lian command is changing keys", path)
		}
		time.Sleep(20 * time.Millisecond) // another process holds the lock for milliseconds
	}
}

// writeKeyFile replaces path with keys, atomically, mode 0600.
func writeKeyFile(path string, keys []APIKey) error {
	b, err := json.MarshalIndent(keyFile{Version: keyStoreVersion, Keys: keys}, "", "  ")
	if err != nil {
		return fmt.Errorf("key store: encode: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("key store: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("key store: %w", err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("key store: write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("key store: sync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("key store: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("key store: %w", err)
	}
	return nil
}

// refresh reads the file again if keyReloadInterval has passed and it changed. On an
// error the store keeps the keys it has.
func (ks *KeyStore) refresh() error {
	now := ks.now()
	if now.Sub(ks.checked) < keyReloadInterval {
		return nil
	}
	ks.checked = now
	fi, err := os.Stat(ks.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if ks.loaded != nil {
			ks.setKeys(nil) // the file was removed: no key is valid any more
			ks.loaded = nil
		}
		return nil
	case err != nil:
		return fmt.Errorf("key store: %w", err)
	case ks.loaded != nil && os.SameFile(fi, ks.loaded) && fi.ModTime().Equal(ks.loaded.ModTime()) && fi.Size() == ks.loaded.Size():
		return nil
	}
	return ks.reload()
}

// Authenticate returns the key of a secret form ("lian_<id>_<secret>"): ErrKeyMalformed,
// ErrKeyUnknown (also for a wrong secret) or ErrKeyRevoked (the key is returned) if it
// is not valid. The secret's hash is compared in constant time.
func (ks *KeyStore) Authenticate(token string) (APIKey, error) {
	id, secret, ok := parseAPIKey(token)
	if !ok {
		return APIKey{}, ErrKeyMalformed
	}
	sum := sha256.Sum256(secret)
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if err := ks.refresh(); err != nil {
		ks.refreshErr = err
	}
	i, found := ks.byID[id]
	if !found {
		return APIKey{}, ErrKeyUnknown
	}
	k := ks.keys[i]
	want, herr := hex.DecodeString(k.SecretSHA256)
	if herr != nil || subtle.ConstantTimeCompare(sum[:], want) != 1 {
		return APIKey{}, ErrKeyUnknown
	}
	if k.Revoked {
		return k, ErrKeyRevoked
	}
	return k, nil
}

// takeRefreshError returns (once) the last failure to read the changed file while
// authenticating: the store keeps the keys it had.
func (ks *KeyStore) takeRefreshError() error {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	err := ks.refreshErr
	ks.refreshErr = nil
	return err
}

// parseAPIKey splits "lian_<id>_<secret>".
func parseAPIKey(token string) (id string, secret []byte, ok bool) {
	rest, ok := strings.CutPrefix(token, apiKeyPrefix)
	if !ok || len(rest) != apiKeyIDLen+1+base64.RawURLEncoding.EncodedLen(apiKeySecretLen) || rest[apiKeyIDLen] != '_' {
		return "", nil, false
	}
	id = rest[:apiKeyIDLen]
	if !isLowerHex(id) {
		return "", nil, false
	}
	secret, err := base64.RawURLEncoding.Strict().DecodeString(rest[apiKeyIDLen+1:])
	if err != nil || len(secret) != apiKeySecretLen {
		return "", nil, false
	}
	return id, secret, true
}

// rateLimiter is a token bucket per API key.
type rateLimiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket // by key id
	now     func() time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter() *rateLimiter {
	return &rateLimiter{buckets: map[string]*bucket{}, now: time.Now}
}

// allow takes a token from the bucket of id, which fills at rate tokens per second up to
// burst. It returns false and the time until a token is there if the bucket is empty.
// A rate of 0 (or less) is no limit.
func (l *rateLimiter) allow(id string, rate float64, burst int) (bool, time.Duration) {
	if rate <= 0 {
		return true, 0
	}
	if burst < 1 {
		burst = 1
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.buckets[id]
	if b == nil {
		b = &bucket{tokens: float64(burst), last: now}
		l.buckets[id] = b
	}
	if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.tokens = math.Min(float64(burst), b.tokens+elapsed*rate)
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / rate * float64(time.Second))
}

// defaultBurst is the burst of a rate limit that names none: twice the rate, at least 1.
func defaultBurst(rate float64) int {
	return max(1, int(math.Ceil(2*rate)))
}

// isRead reports whether a method only reads (no API key is required for it).
func isRead(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

// withAuth, when the gateway has a key store, requires an API key
// (Authorization: Bearer <key>) on the write routes, checks the key of any request that
// sends one, attributes the request to the key's name and applies the key's rate limit.
func (g *Gateway) withAuth(next http.Handler) http.Handler {
	if g.keys == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := infoOf(r.Context())
		header := r.Header.Get("Authorization")
		if header == "" {
			if info.route != "" && !isRead(r.Method) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="lian"`)
				writeRequestError(w, r, errorf(errcode.APIKeyRequired, "%s needs an API key: send Authorization: Bearer <key> (keys are made with lian gateway keys create)", info.route))
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		scheme, token, _ := strings.Cut(header, " ")
		if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="lian", error="invalid_request"`)
			writeRequestError(w, r, errorf(errcode.APIKeyInvalid, "the Authorization header is not of the form Bearer <key>"))
			return
		}
		key, err := g.keys.Authenticate(strings.TrimSpace(token))
		if rerr := g.keys.takeRefreshError(); rerr != nil {
			g.log.LogAttrs(r.Context(), slog.LevelWarn, "key store not reloaded; keeping the keys read before",
				slog.String("file", g.keys.Path()), slog.String("error", rerr.Error()))
		}
		switch {
		case errors.Is(err, ErrKeyRevoked):
			info.key = key.Name
			writeRequestError(w, r, errorf(errcode.APIKeyRevoked, "the API key %q (id %s) was revoked", key.Name, key.ID))
			return
		case errors.Is(err, ErrKeyMalformed):
			w.Header().Set("WWW-Authenticate", `Bearer realm="lian", error="invalid_token"`)
			writeRequestError(w, r, errorf(errcode.APIKeyInvalid, "%v", ErrKeyMalformed))
			return
		case err != nil:
			w.Header().Set("WWW-Authenticate", `Bearer realm="lian", error="invalid_token"`)
			writeRequestError(w, r, errorf(errcode.APIKeyInvalid, "%v", ErrKeyUnknown))
			return
		}
		info.key = key.Name
		rate, burst := g.rate, g.burst
		if key.Rate > 0 {
			rate, burst = key.Rate, key.Burst
			if burst == 0 {
				burst = defaultBurst(rate)
			}
		} else if key.Burst > 0 {
			burst = key.Burst
		}
		if ok, wait := g.limiter.allow(key.ID, rate, burst); !ok {
			secs := int(math.Ceil(wait.Seconds()))
			w.Header().Set("Retry-After", strconv.Itoa(max(1, secs)))
			writeRequestError(w, r, errorf(errcode.RateLimited, "the API key %q exceeds its limit of %g requests per second (burst %d); retry in %v",
				key.Name, rate, burst, wait.Round(time.Millisecond)))
			return
		}
		next.ServeHTTP(w, r)
	})
}
