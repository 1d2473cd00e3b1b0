package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/lianchain/lian/api"
)

func TestAPIKey(t *testing.T) {
	var (
		mu   sync.Mutex
		seen []string // Authorization headers, by request
	)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, "other:"+r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"chains":[]}`))
	}))
	defer other.Close()
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		mu.Unlock()
		if r.URL.Path == "/v1/chains" && r.URL.Query().Get("moved") != "" {
			// A redirect to another host must not carry the key there.
			http.Redirect(w, r, other.URL+"/v1/chains", http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"chains":[]}`))
	}))
	defer gw.Close()
	last := func() string {
		mu.Lock()
		defer mu.Unlock()
		return seen[len(seen)-1]
	}
	ctx := context.Background()

	t.Setenv(APIKeyEnv, "")
	if _, err := New(gw.URL).Chains(ctx); err != nil || last() != "" {
		t.Fatalf("no key: %v, sent %q", err, last())
	}
	if _, err := New(gw.URL, WithAPIKey("lian_k1")).Chains(ctx); err != nil || last() != "Bearer lian_k1" {
		t.Fatalf("WithAPIKey: %v, sent %q", err, last())
	}
	// The environment gives New a key; an option replaces it.
	t.Setenv(APIKeyEnv, "lian_env")
	if _, err := New(gw.URL).Chains(ctx); err != nil || last() != "Bearer lian_env" {
		t.Fatalf("key from %s: %v, sent %q", APIKeyEnv, err, last())
	}
	if _, err := New(gw.URL, WithAPIKey("lian_k2")).Chains(ctx); err != nil || last() != "Bearer lian_k2" {
		t.Fatalf("option over the environment: %v, sent %q", err, last())
	}
	// NewWithHTTPClient does not read the environment, and leaves the caller's client as it is.
	hc := &http.Client{}
	if _, err := NewWithHTTPClient(gw.URL, hc).Chains(ctx); err != nil || last() != "" {
		t.Fatalf("NewWithHTTPClient: %v, sent %q", err, last())
	}
	if _, err := NewWithHTTPClient(gw.URL, hc, WithAPIKey("lian_k3")).Chains(ctx); err != nil || last() != "Bearer lian_k3" || hc.Transport != nil {
		t.Fatalf("NewWithHTTPClient with a key: %v, sent %q, transport %v", err, last(), hc.Transport)
	}
	// Followed to another host, the request goes without the key.
	var out api.Chains
	c := New(gw.URL, WithAPIKey("lian_k4"))
	if err := c.do(ctx, http.MethodGet, "/v1/chains", map[string][]string{"moved": {"1"}}, nil, &out); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if n := len(seen); n < 2 || seen[n-2] != "Bearer lian_k4" || seen[n-1] != "other:" {
		t.Fatalf("redirect: sent %q", seen)
	}
}
