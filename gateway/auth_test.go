package gateway

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func openStore(t *testing.T, path string) *KeyStore {
	t.Helper()
	ks, err := OpenKeyStore(path)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

func TestKeyStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "gateway-keys.json")
	ks := openStore(t, path) // a missing file is an empty store
	if keys, err := ks.List(); err != nil || len(keys) != 0 {
		t.Fatalf("empty store: %v %v", keys, err)
	}
	alice, secret, err := ks.Create("alice", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, "lian_"+alice.ID+"_") || len(alice.ID) != 16 || alice.Revoked || alice.Created.IsZero() {
		t.Fatalf("key %+v, secret form %q", alice, secret)
	}
	// The file is private and holds the secret's SHA-256, never the secret.
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi.Mode(), err)
	}
	raw, _ := os.ReadFile(path)
	sec, _ := base64.RawURLEncoding.DecodeString(secret[len("lian_")+17:])
	sum := sha256.Sum256(sec)
	if bytes.Contains(raw, []byte(secret[len("lian_")+17:])) || !bytes.Contains(raw, []byte(hex.EncodeToString(sum[:]))) {
		t.Fatalf("key file holds the secret, or not its hash:\n%s", raw)
	}

	for _, name := range []string{"", "has space", strings.Repeat("n", MaxKeyNameLen+1), "ünï"} {
		if _, _, err := ks.Create(name, 0, 0); err == nil {
			t.Errorf("name %q accepted", name)
		}
	}
	if _, _, err := ks.Create("alice", 0, 0); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("second alice: %v", err)
	}
	if _, _, err := ks.Create("neg", -1, 0); err == nil {
		t.Fatal("negative rate accepted")
	}
	bob, bobSecret, err := ks.Create("bob@org2", 5, 10)
	if err != nil || bob.Rate != 5 || bob.Burst != 10 {
		t.Fatalf("bob %+v: %v", bob, err)
	}

	// Authentication.
	if k, err := ks.Authenticate(secret); err != nil || k.Name != "alice" {
		t.Fatalf("alice: %+v %v", k, err)
	}
	wrong := secret[:len(secret)-4] + "AAAA"
	if wrong == secret {
		wrong = secret[:len(secret)-4] + "BBBB"
	}
	for token, want := range map[string]error{
		wrong:                                  ErrKeyUnknown, // right id, wrong secret
		"lian_0123456789abcdef_" + secret[22:]: ErrKeyUnknown, // unknown id
		"":                                     ErrKeyMalformed,
		"lian_" + alice.ID:                     ErrKeyMalformed,
		strings.Replace(secret, "lian_", "lain_", 1): ErrKeyMalformed,
		secret + "A":            ErrKeyMalformed,
		strings.ToUpper(secret): ErrKeyMalformed,
	} {
		if _, err := ks.Authenticate(token); !errors.Is(err, want) {
			t.Errorf("token %q: %v, want %v", token, err, want)
		}
	}

	// Revocation, by name or id; a revoked key stays listed.
	k, already, err := ks.Revoke("alice")
	if err != nil || already || !k.Revoked || k.RevokedAt == nil {
		t.Fatalf("revoke: %+v %v %v", k, already, err)
	}
	if _, already, err := ks.Revoke(alice.ID); err != nil || !already {
		t.Fatalf("revoke again: %v %v", already, err)
	}
	if _, _, err := ks.Revoke("carol"); err == nil {
		t.Fatal("revoked an unknown key")
	}
	if k, err := ks.Authenticate(secret); !errors.Is(err, ErrKeyRevoked) || k.Name != "alice" {
		t.Fatalf("revoked key: %+v %v", k, err)
	}
	// A wrong secret of a revoked key is unknown, not revoked.
	if _, err := ks.Authenticate(wrong); !errors.Is(err, ErrKeyUnknown) {
		t.Fatalf("wrong secret of a revoked key: %v", err)
	}

	// Another process's view of the file: the same keys.
	other := openStore(t, path)
	keys, err := other.List()
	if err != nil || len(keys) != 2 || keys[0].Name != "alice" || !keys[0].Revoked || keys[1].Name != "bob@org2" {
		t.Fatalf("reopened: %+v %v", keys, err)
	}
	if _, err := other.Authenticate(bobSecret); err != nil {
		t.Fatal(err)
	}

	// A file others may write to is refused.
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenKeyStore(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("world-writable file: %v", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	// So is a damaged one, and a lock left by a crashed process is broken.
	if err := os.WriteFile(path+".lock", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * keyLockStale)
	if err := os.Chtimes(path+".lock", old, old); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ks.Create("carol", 0, 0); err != nil {
		t.Fatalf("create past a stale lock: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"version":1,"keys":[{"id":"x"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenKeyStore(bad); err == nil {
		t.Fatal("a damaged file was accepted")
	}
}

func TestKeyStoreReload(t *testing.T) {
	// A serving gateway's store sees keys created and revoked by another process (the
	// CLI) once keyReloadInterval has passed.
	path := filepath.Join(t.TempDir(), "keys.json")
	cli := openStore(t, path)
	serving := openStore(t, path)
	clock := &fakeClock{t: time.Now()}
	serving.now = clock.now
	_, secret, err := cli.Create("ops", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := serving.Authenticate(secret); !errors.Is(err, ErrKeyUnknown) {
		t.Fatalf("before the reload interval: %v", err)
	}
	clock.advance(keyReloadInterval)
	if k, err := serving.Authenticate(secret); err != nil || k.Name != "ops" {
		t.Fatalf("after the reload interval: %+v %v", k, err)
	}
	if _, _, err := cli.Revoke("ops"); err != nil {
		t.Fatal(err)
	}
	clock.advance(keyReloadInterval)
	if _, err := serving.Authenticate(secret); !errors.Is(err, ErrKeyRevoked) {
		t.Fatalf("after revocation: %v", err)
	}
	// A damaged file is reported once and the keys read before stay.
	if err := os.WriteFile(path, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	clock.advance(keyReloadInterval)
	if _, err := serving.Authenticate(secret); !errors.Is(err, ErrKeyRevoked) {
		t.Fatalf("damaged file: %v", err)
	}
	if serving.takeRefreshError() == nil || serving.takeRefreshError() != nil {
		t.Fatal("the reload error is not reported exactly once")
	}
	// A removed file leaves no key valid.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	clock.advance(keyReloadInterval)
	if _, err := serving.Authenticate(secret); !errors.Is(err, ErrKeyUnknown) {
		t.Fatalf("removed file: %v", err)
	}
}

func TestRateLimiter(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	l := newRateLimiter()
	l.now = clock.now
	for i := range 3 {
		if ok, _ := l.allow("a", 2, 3); !ok {
			t.Fatalf("request %d of the burst refused", i)
		}
	}
	ok, wait := l.allow("a", 2, 3)
	if ok || wait <= 0 || wait > 500*time.Millisecond {
		t.Fatalf("past the burst: %v %v", ok, wait)
	}
	if ok, _ := l.allow("b", 2, 3); !ok {
		t.Fatal("another key is limited")
	}
	clock.advance(500 * time.Millisecond) // one token at 2/s
	if ok, _ := l.allow("a", 2, 3); !ok {
		t.Fatal("no token after 500ms")
	}
	if ok, _ := l.allow("a", 2, 3); ok {
		t.Fatal("two tokens after 500ms")
	}
	clock.advance(time.Hour) // refills to the burst, not beyond
	for range 3 {
		if ok, _ := l.allow("a", 2, 3); !ok {
			t.Fatal("not refilled")
		}
	}
	if ok, _ := l.allow("a", 2, 3); ok {
		t.Fatal("refilled beyond the burst")
	}
	if ok, _ := l.allow("a", 0, 0); !ok {
		t.Fatal("rate 0 limits")
	}
}

// authed sends a request with an Authorization header ("" for none).
func authed(t *testing.T, method, url, auth string, body []byte) (*http.Response, []byte) {
	t.Helper()
	h := map[string]string{}
	if auth != "" {
		h["Authorization"] = auth
	}
	var rd *bytes.Reader
	if body != nil {
		rd = bytes.NewReader(body)
		return send(t, method, url, rd, h)
	}
	return send(t, method, url, nil, h)
}

func TestAuth(t *testing.T) {
	f := newFakeNode(t)
	ks := openStore(t, filepath.Join(t.TempDir(), "keys.json"))
	_, aliceKey, err := ks.Create("alice", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	carol, carolKey, err := ks.Create("carol", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ks.Revoke("carol"); err != nil {
		t.Fatal(err)
	}
	var logs logBuffer
	_, base := serveGateway(t, Config{Chains: map[string][]string{"c": {f.url()}}, Keys: ks,
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	post := base + "/v1/chains/c/txs?wait=false"
	body := submitBody(someTx(t))
	wrongSecret := aliceKey[:len(aliceKey)-4] + "AAAA"
	if wrongSecret == aliceKey {
		wrongSecret = aliceKey[:len(aliceKey)-4] + "BBBB"
	}

	for _, tc := range []struct {
		name, auth string
		status     int
		code       string
	}{
		{"no key", "", 401, "api_key_required"},
		{"not bearer", "Basic YWxpY2U6cHc=", 401, "api_key_invalid"},
		{"empty bearer", "Bearer ", 401, "api_key_invalid"},
		{"malformed key", "Bearer not-a-key", 401, "api_key_invalid"},
		{"wrong secret", "Bearer " + wrongSecret, 401, "api_key_invalid"},
		{"unknown key", "Bearer lian_0123456789abcdef_" + aliceKey[22:], 401, "api_key_invalid"},
		{"revoked key", "Bearer " + carolKey, 403, "api_key_revoked"},
	} {
		res, b := authed(t, http.MethodPost, post, tc.auth, body)
		if res.StatusCode != tc.status || errCode(t, b) != tc.code {
			t.Errorf("%s: %d %s, want %d %s", tc.name, res.StatusCode, b, tc.status, tc.code)
		}
		if tc.status == 401 && !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: WWW-Authenticate %q", tc.name, res.Header.Get("WWW-Authenticate"))
		}
	}
	if n := f.count("broadcast_tx_sync"); n != 0 {
		t.Fatalf("refused requests reached the node %d times", n)
	}
	// A valid key writes; the scheme is case-insensitive.
	for _, auth := range []string{"Bearer " + aliceKey, "bearer " + aliceKey} {
		if res, b := authed(t, http.MethodPost, post, auth, body); res.StatusCode != http.StatusAccepted {
			t.Fatalf("%q: %d %s", auth[:7], res.StatusCode, b)
		}
	}
	// Reads need no key, but a key sent is checked.
	if res, b := authed(t, http.MethodGet, base+"/v1/chains", "", nil); res.StatusCode != http.StatusOK {
		t.Fatalf("read without a key: %d %s", res.StatusCode, b)
	}
	if res, b := authed(t, http.MethodGet, base+"/v1/chains", "Bearer "+wrongSecret, nil); res.StatusCode != 401 || errCode(t, b) != "api_key_invalid" {
		t.Fatalf("read with a wrong key: %d %s", res.StatusCode, b)
	}
	if res, b := authed(t, http.MethodGet, base+"/v1/chains", "Bearer "+aliceKey, nil); res.StatusCode != http.StatusOK {
		t.Fatalf("read with a key: %d %s", res.StatusCode, b)
	}
	// A write to no route is not found, key or not.
	if res, b := authed(t, http.MethodPost, base+"/v1/nowhere", "", body); res.StatusCode != 404 || errCode(t, b) != "not_found" {
		t.Fatalf("no route: %d %s", res.StatusCode, b)
	}

	// The log attributes requests to the key's name and never holds a secret.
	var aliceLines, carolLines int
	for _, rec := range logs.records(t, "request") {
		switch rec["key"] {
		case "alice":
			aliceLines++
		case carol.Name:
			carolLines++
		}
	}
	if aliceLines != 3 || carolLines != 1 {
		t.Fatalf("attributed lines: alice %d (want 3), carol %d (want 1):\n%s", aliceLines, carolLines, logs.String())
	}
	for _, secret := range []string{aliceKey, carolKey, wrongSecret} {
		if strings.Contains(logs.String(), secret[len("lian_")+17:]) {
			t.Fatal("a secret is in the log")
		}
	}

	// Without a key store, Authorization is ignored.
	_, open := serveGateway(t, Config{Chains: map[string][]string{"c": {f.url()}}})
	if res, b := authed(t, http.MethodPost, open+"/v1/chains/c/txs?wait=false", "Bearer junk", body); res.StatusCode != http.StatusAccepted {
		t.Fatalf("no auth: %d %s", res.StatusCode, b)
	}
}

func TestRateLimitPerKey(t *testing.T) {
	f := newFakeNode(t)
	ks := openStore(t, filepath.Join(t.TempDir(), "keys.json"))
	keys := map[string]string{}
	for _, name := range []string{"a", "b"} {
		_, secret, err := ks.Create(name, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		keys[name] = secret
	}
	// Key "fast" has its own, higher limit.
	_, fast, err := ks.Create("fast", 1000, 100)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{Chains: map[string][]string{"c": {f.url()}}, RateLimit: -1}); err == nil {
		t.Fatal("a negative rate limit was accepted")
	}
	// A burst of 3 and a rate so low that no token comes back during the test.
	_, base := serveGateway(t, Config{Chains: map[string][]string{"c": {f.url()}}, Keys: ks, RateLimit: 0.001, RateBurst: 3})
	post := base + "/v1/chains/c/txs?wait=false"
	body := submitBody(someTx(t))
	for i := range 3 {
		if res, b := authed(t, http.MethodPost, post, "Bearer "+keys["a"], body); res.StatusCode != http.StatusAccepted {
			t.Fatalf("a, request %d: %d %s", i, res.StatusCode, b)
		}
	}
	res, b := authed(t, http.MethodPost, post, "Bearer "+keys["a"], body)
	if res.StatusCode != http.StatusTooManyRequests || errCode(t, b) != "rate_limited" {
		t.Fatalf("a past its burst: %d %s", res.StatusCode, b)
	}
	if secs, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || secs < 1 {
		t.Fatalf("Retry-After %q", res.Header.Get("Retry-After"))
	}
	// Reads with the key count too.
	if res, _ := authed(t, http.MethodGet, base+"/v1/chains", "Bearer "+keys["a"], nil); res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a's read: %d", res.StatusCode)
	}
	// Another key is unaffected.
	for i := range 3 {
		if res, b := authed(t, http.MethodPost, post, "Bearer "+keys["b"], body); res.StatusCode != http.StatusAccepted {
			t.Fatalf("b, request %d: %d %s", i, res.StatusCode, b)
		}
	}
	for i := range 10 {
		if res, b := authed(t, http.MethodPost, post, "Bearer "+fast, body); res.StatusCode != http.StatusAccepted {
			t.Fatalf("fast, request %d: %d %s", i, res.StatusCode, b)
		}
	}
}
