package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lianchain/lian/gateway"
)

func TestGatewayKeysCLI(t *testing.T) {
	home := t.TempDir()
	gw := "http://127.0.0.1:1" // the key commands do not call a gateway

	var created keyView
	oneJSON(t, mustRun(t, home, gw, "gateway", "keys", "create", "ops", "-o", "json"), &created)
	if created.Name != "ops" || !strings.HasPrefix(created.Key, "lian_"+created.ID+"_") || created.Revoked {
		t.Fatalf("created %+v", created)
	}
	store := filepath.Join(home, keyStoreFile)
	fi, err := os.Stat(store)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("store %s: %v %v", store, fi, err)
	}
	raw, _ := os.ReadFile(store)
	if bytes.Contains(raw, []byte(created.Key[len("lian_")+17:])) {
		t.Fatal("the store holds the secret")
	}
	ks, err := gateway.OpenKeyStore(store)
	if err != nil {
		t.Fatal(err)
	}
	if k, err := ks.Authenticate(created.Key); err != nil || k.Name != "ops" {
		t.Fatalf("the printed key does not authenticate: %+v %v", k, err)
	}

	out := mustRun(t, home, gw, "gateway", "keys", "create", "ci-bot", "--rate", "2", "--burst", "4")
	if !strings.Contains(out, `created key "ci-bot"`) || !strings.Contains(out, "key: lian_") {
		t.Fatalf("text output:\n%s", out)
	}
	if _, _, err := runCLI(t, home, gw, "gateway", "keys", "create", "ops"); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("duplicate name: %v", err)
	}
	if _, _, err := runCLI(t, home, gw, "gateway", "keys", "create", "bad name"); err == nil {
		t.Fatal("a name with a space was accepted")
	}

	var list struct {
		Store string    `json:"store"`
		Keys  []keyView `json:"keys"`
	}
	oneJSON(t, mustRun(t, home, gw, "gateway", "keys", "list", "-o", "json"), &list)
	if list.Store != store || len(list.Keys) != 2 || list.Keys[0].Name != "ops" || list.Keys[0].Key != "" ||
		list.Keys[1].Name != "ci-bot" || list.Keys[1].Rate != 2 || list.Keys[1].Burst != 4 {
		t.Fatalf("list %+v", list)
	}
	if text := mustRun(t, home, gw, "gateway", "keys", "list"); strings.Contains(text, "lian_") || !strings.Contains(text, "ci-bot") || !strings.Contains(text, "2/s burst 4") {
		t.Fatalf("text list:\n%s", text)
	}

	var revoked keyView
	oneJSON(t, mustRun(t, home, gw, "gateway", "keys", "revoke", "ops", "-o", "json"), &revoked)
	if !revoked.Revoked || revoked.RevokedAt == nil {
		t.Fatalf("revoked %+v", revoked)
	}
	if out := mustRun(t, home, gw, "gateway", "keys", "revoke", created.ID); !strings.Contains(out, "revoked already") {
		t.Fatalf("second revoke:\n%s", out)
	}
	if _, _, err := runCLI(t, home, gw, "gateway", "keys", "revoke", "nobody"); err == nil {
		t.Fatal("revoked an unknown key")
	}
	ks, err = gateway.OpenKeyStore(store)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ks.Authenticate(created.Key); !errors.Is(err, gateway.ErrKeyRevoked) {
		t.Fatalf("after revoke: %v", err)
	}

	// --store names another file.
	other := filepath.Join(t.TempDir(), "keys.json")
	mustRun(t, home, gw, "gateway", "keys", "create", "elsewhere", "--store", other)
	if out := mustRun(t, home, gw, "gateway", "keys", "list", "--store", other); !strings.Contains(out, "elsewhere") || strings.Contains(out, "ci-bot") {
		t.Fatalf("list --store:\n%s", out)
	}
}

func TestGatewayFlags(t *testing.T) {
	home := t.TempDir()
	store := filepath.Join(home, keyStoreFile)
	gf := gatewayFlags{rate: 5, burst: 7, cors: []string{"https://app.example"}, maxBody: gateway.MaxBodyBytes, requestTimeout: gateway.DefaultRequestTimeout}
	cfg, err := gf.config(store)
	if err != nil || cfg.Keys != nil || cfg.RateLimit != 5 || cfg.RateBurst != 7 || len(cfg.CORSOrigins) != 1 {
		t.Fatalf("config %+v: %v", cfg, err)
	}
	var w bytes.Buffer
	gf.authNotice(&w, cfg, "127.0.0.1:8700")
	if !strings.Contains(w.String(), "no API keys") || strings.Contains(w.String(), "WARNING") {
		t.Fatalf("loopback notice %q", w.String())
	}
	w.Reset()
	gf.authNotice(&w, cfg, "0.0.0.0:8700")
	if !strings.HasPrefix(w.String(), "WARNING") {
		t.Fatalf("open notice %q", w.String())
	}

	gf.auth = true
	if cfg, err = gf.config(store); err != nil || cfg.Keys == nil || cfg.Keys.Path() != store {
		t.Fatalf("--auth: %+v %v", cfg, err)
	}
	w.Reset()
	gf.authNotice(&w, cfg, "127.0.0.1:8700")
	if !strings.Contains(w.String(), "0 active in "+store) {
		t.Fatalf("auth notice %q", w.String())
	}
	for _, bad := range []gatewayFlags{{maxBody: 0, requestTimeout: 1}, {maxBody: 1, requestTimeout: 0}} {
		if _, err := bad.config(store); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	for addr, want := range map[string]bool{"127.0.0.1:1": true, "[::1]:1": true, "localhost:1": true, "0.0.0.0:1": false, ":8700": false, "10.0.0.5:1": false} {
		if isLoopback(addr) != want {
			t.Errorf("isLoopback(%q) != %v", addr, want)
		}
	}
}
