package client

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules/evidence"
	"github.com/lianchain/lian/txs"
)

// fakeGateway serves canned documents by "METHOD path" and records the requests.
type fakeGateway struct {
	t      *testing.T
	mu     sync.Mutex
	routes map[string]func(w http.ResponseWriter, r *http.Request, body []byte)
	reqs   []string
	bodies [][]byte
}

func newFake(t *testing.T) (*fakeGateway, *Client) {
	f := &fakeGateway{t: t, routes: map[string]func(http.ResponseWriter, *http.Request, []byte){}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		key := r.Method + " " + r.URL.Path
		f.mu.Lock()
		f.reqs = append(f.reqs, r.Method+" "+r.URL.EscapedPath()+"?"+r.URL.RawQuery)
		f.bodies = append(f.bodies, body)
		h := f.routes[key]
		f.mu.Unlock()
		if h == nil {
			writeJSON(w, 404, api.Error{Code: "not_found", Message: "no route " + key})
			return
		}
		h(w, r, body)
	}))
	t.Cleanup(srv.Close)
	return f, New(srv.URL + "/")
}

func (f *fakeGateway) json(key string, status int, v any) {
	f.route(key, func(w http.ResponseWriter, _ *http.Request, _ []byte) { writeJSON(w, status, v) })
}

func (f *fakeGateway) route(key string, h func(w http.ResponseWriter, r *http.Request, body []byte)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routes[key] = h
}

func (f *fakeGateway) last() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reqs[len(f.reqs)-1]
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func wantError(t *testing.T, err error, status int, code string) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *client.Error", err, err)
	}
	if e.Status != status || e.Code != code {
		t.Fatalf("error %+v, want status %d code %q", e, status, code)
	}
	return e
}

func TestHealthAndChains(t *testing.T) {
	f, c := newFake(t)
	ctx := context.Background()
	f.json("GET /healthz", 200, api.Health{Status: "ok", Chains: map[string]api.ChainHealth{"beijing-1": {OK: true, Height: 12}}})
	h, err := c.Health(ctx)
	if err != nil || h.Status != "ok" || h.Chains["beijing-1"].Height != 12 {
		t.Fatalf("health: %+v, %v", h, err)
	}
	f.json("GET /healthz", 503, api.Health{Status: "degraded", Chains: map[string]api.ChainHealth{"beijing-1": {Error: "no node"}}})
	h, err = c.Health(ctx)
	if err != nil || h.Status != "degraded" {
		t.Fatalf("degraded health: %+v, %v", h, err)
	}
	f.json("GET /healthz", 500, api.Error{Code: "internal", Message: "boom"})
	_, err = c.Health(ctx)
	wantError(t, err, 500, "internal")

	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	f.json("GET /v1/chains", 200, api.Chains{Chains: []api.Chain{{ID: "beijing-1", LatestHeight: 9, LatestBlockTime: now, Validators: 4, Nodes: 4}}})
	cs, err := c.Chains(ctx)
	if err != nil || len(cs.Chains) != 1 || cs.Chains[0].ID != "beijing-1" || !cs.Chains[0].LatestBlockTime.Equal(now) {
		t.Fatalf("chains: %+v, %v", cs, err)
	}
}

func TestErrorMapping(t *testing.T) {
	f, c := newFake(t)
	ctx := context.Background()
	addr := crypto.Address{1, 2, 3}

	f.json("GET /v1/chains/beijing-1/accounts/"+addr.String(), 404, api.Error{Code: "unknown_account", Message: "no such account"})
	_, err := c.Account(ctx, "beijing-1", addr)
	e := wantError(t, err, 404, "unknown_account")
	if e.Message != "no such account" || e.ErrCode() != errcode.UnknownAccount {
		t.Errorf("error %+v", e)
	}
	if err.Error() != "unknown_account: no such account" {
		t.Errorf("Error() = %q", err.Error())
	}
	if !errors.Is(err, &Error{Code: "unknown_account"}) || errors.Is(err, &Error{Code: "not_found"}) {
		t.Error("errors.Is by code")
	}

	// A proxy's answer without an api.Error body.
	f.route("GET /v1/chains", func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		w.WriteHeader(502)
		_, _ = w.Write([]byte("<html>bad gateway</html>"))
	})
	_, err = c.Chains(ctx)
	e = wantError(t, err, 502, "unavailable")
	if !strings.Contains(e.Message, "bad gateway") {
		t.Errorf("message %q", e.Message)
	}

	// Malformed success body.
	f.route("GET /v1/chains", func(w http.ResponseWriter, _ *http.Request, _ []byte) { _, _ = w.Write([]byte("{")) })
	_, err = c.Chains(ctx)
	wantError(t, err, 200, "internal")

	// Unknown code names are kept as they are.
	f.json("GET /v1/chains", 418, api.Error{Code: "teapot", Message: "short and stout"})
	_, err = c.Chains(ctx)
	if e = wantError(t, err, 418, "teapot"); e.ErrCode() != errcode.Internal {
		t.Errorf("ErrCode of unknown name: %v", e.ErrCode())
	}

	// Connection refused is an error, not an *Error.
	dead := New("http://127.0.0.1:1")
	if _, err := dead.Chains(ctx); err == nil {
		t.Error("no error from a dead gateway")
	} else if _, ok := AsError(err); ok {
		t.Error("transport error reported as a gateway error")
	}
}

func TestBroadcastTx(t *testing.T) {
	f, c := newFake(t)
	ctx := context.Background()
	tx := []byte("encoded tx")
	hash := txs.HashOf(tx).String()
	var got api.SubmitTx
	var wait string
	f.route("POST /v1/chains/beijing-1/txs", func(w http.ResponseWriter, r *http.Request, body []byte) {
		if r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("content type %q", r.Header.Get("Content-Type"))
		}
		if err := json.Unmarshal(body, &got); err != nil {
			t.Errorf("request body: %v", err)
		}
		wait = r.URL.Query().Get("wait")
		writeJSON(w, 200, api.TxResult{Hash: hash, Height: 5, Events: []api.Event{}})
	})
	res, err := c.BroadcastTx(ctx, "beijing-1", tx, true)
	if err != nil || res.Height != 5 || res.Hash != hash {
		t.Fatalf("broadcast: %+v, %v", res, err)
	}
	if string(got.Tx) != string(tx) || wait != "true" {
		t.Errorf("gateway got tx %q wait %q", got.Tx, wait)
	}
	if b := string(f.bodies[len(f.bodies)-1]); !strings.HasPrefix(b, `{"tx":"`) {
		t.Errorf("body %s", b)
	}
	if _, err := c.BroadcastTx(ctx, "beijing-1", tx, false); err != nil || wait != "false" {
		t.Fatalf("no wait: %v, wait=%q", err, wait)
	}

	// Committed with a non-zero code: result and error.
	f.json("POST /v1/chains/beijing-1/txs", 200, api.TxResult{Hash: hash, Height: 6, Code: uint32(errcode.AlreadyExists), Codespace: "lian", Log: "digest is already anchored"})
	res, err = c.BroadcastTx(ctx, "beijing-1", tx, true)
	if res == nil || res.Height != 6 {
		t.Fatalf("failed tx: result %+v", res)
	}
	e := wantError(t, err, 200, "already_exists")
	if e.Hash != hash || e.Message != "digest is already anchored" {
		t.Errorf("error %+v", e)
	}
	f.json("POST /v1/chains/beijing-1/txs", 200, api.TxResult{Hash: hash, Code: 9, CodeName: "invalid_message", Log: "bad"})
	_, err = c.BroadcastTx(ctx, "beijing-1", tx, true)
	wantError(t, err, 200, "invalid_message")

	// Refused in CheckTx.
	f.json("POST /v1/chains/beijing-1/txs", 400, api.Error{Code: "bad_nonce", Message: "nonce 3, expected 4"})
	res, err = c.BroadcastTx(ctx, "beijing-1", tx, true)
	if res != nil {
		t.Error("result for a refused tx")
	}
	wantError(t, err, 400, "bad_nonce")

	// Wait timed out: the hash comes with the error.
	f.json("POST /v1/chains/beijing-1/txs", 504, api.Error{Code: "timeout", Message: "not committed within 30s", Hash: hash})
	_, err = c.BroadcastTx(ctx, "beijing-1", tx, true)
	if e := wantError(t, err, 504, "timeout"); e.Hash != hash || !strings.Contains(e.Error(), hash) {
		t.Errorf("timeout error %+v", e)
	}

	// The gateway answers for another transaction.
	f.json("POST /v1/chains/beijing-1/txs", 200, api.TxResult{Hash: strings.Repeat("AB", 32), Height: 6})
	_, err = c.BroadcastTx(ctx, "beijing-1", tx, true)
	wantError(t, err, 200, "internal")

	if _, err := c.BroadcastTx(ctx, "", tx, true); err == nil {
		t.Error("empty chain accepted")
	}
	if _, err := c.BroadcastTx(ctx, "beijing-1", nil, true); err == nil {
		t.Error("empty tx accepted")
	}
}

func TestQueries(t *testing.T) {
	f, c := newFake(t)
	ctx := context.Background()
	hash := strings.Repeat("ab", 32)
	upper := strings.ToUpper(hash)
	f.json("GET /v1/chains/beijing-1/txs/"+upper, 200, api.TxResult{Hash: upper, Height: 3, Body: &api.TxBody{ChainID: "beijing-1", Nonce: 2}})
	res, err := c.Tx(ctx, "beijing-1", "0x"+hash)
	if err != nil || res.Body == nil || res.Body.Nonce != 2 {
		t.Fatalf("tx: %+v, %v", res, err)
	}
	if _, err := c.Tx(ctx, "beijing-1", "xyz"); err == nil {
		t.Error("bad hash accepted")
	}

	f.json("GET /v1/chains/beijing-1/blocks/latest", 200, api.Block{Height: 10, Hash: "AA"})
	f.json("GET /v1/chains/beijing-1/blocks/7", 200, api.Block{Height: 7, Hash: "BB"})
	if b, err := c.Block(ctx, "beijing-1", 0); err != nil || b.Height != 10 {
		t.Fatalf("latest block: %+v, %v", b, err)
	}
	if b, err := c.Block(ctx, "beijing-1", 7); err != nil || b.Height != 7 {
		t.Fatalf("block 7: %+v, %v", b, err)
	}
	if _, err := c.Block(ctx, "beijing-1", -1); err == nil {
		t.Error("negative height accepted")
	}

	addr := crypto.Address{0xaa}
	f.json("GET /v1/chains/beijing-1/accounts/"+addr.String(), 200, api.Account{Account: json.RawMessage(`{"org":"court-1"}`), Nonce: 4, Height: 9})
	acct, err := c.Account(ctx, "beijing-1", addr)
	if err != nil || acct.Nonce != 4 || string(acct.Account) != `{"org":"court-1"}` {
		t.Fatalf("account: %+v, %v", acct, err)
	}
	if _, err := c.Account(ctx, "beijing-1", crypto.Address{}); err == nil {
		t.Error("zero address accepted")
	}

	digest := digestOf("doc")
	path := "GET /v1/chains/beijing-1/evidence/" + strings.ToUpper(hex.EncodeToString(digest))
	f.json(path, 200, api.Evidence{Record: json.RawMessage(`{"kind":"document"}`), Height: 8})
	ev, err := c.Evidence(ctx, "beijing-1", digest, false)
	if err != nil || ev.Height != 8 || ev.Proof != nil {
		t.Fatalf("evidence: %+v, %v", ev, err)
	}
	if q := f.last(); strings.Contains(q, "prove") {
		t.Errorf("prove sent without asking: %s", q)
	}
	// Asked for a proof, none came.
	_, err = c.Evidence(ctx, "beijing-1", digest, true)
	wantError(t, err, 200, "internal")
	if q := f.last(); !strings.HasSuffix(q, "?prove=true") {
		t.Errorf("request %s", q)
	}
	if _, err := c.Evidence(ctx, "beijing-1", digest[:5], false); err == nil {
		t.Error("short digest accepted")
	}

	// Chain ids are escaped into one path segment.
	_, err = c.Block(ctx, "a/b", 1)
	wantError(t, err, 404, "not_found")
	if q := f.last(); !strings.HasPrefix(q, "GET /v1/chains/a%2Fb/blocks/1?") {
		t.Errorf("request %s", q)
	}
}

func TestSignAndSubmit(t *testing.T) {
	f, c := newFake(t)
	ctx := context.Background()
	key, err := crypto.GenPrivKey(crypto.SM2)
	if err != nil {
		t.Fatal(err)
	}
	addr := key.PubKey().Address()
	f.json("GET /v1/chains/beijing-1/accounts/"+addr.String(), 200, api.Account{Nonce: 7, Height: 3})
	var sent []byte
	f.route("POST /v1/chains/beijing-1/txs", func(w http.ResponseWriter, r *http.Request, body []byte) {
		var st api.SubmitTx
		_ = json.Unmarshal(body, &st)
		sent = st.Tx
		if r.URL.Query().Get("wait") != "true" {
			t.Errorf("SignAndSubmit does not wait: %s", r.URL.RawQuery)
		}
		writeJSON(w, 200, api.TxResult{Hash: txs.HashOf(st.Tx).String(), Height: 4})
	})
	msg := &evidence.MsgAnchor{Digest: digestOf("doc"), HashAlgo: evidence.HashSM3, Label: "l"}
	res, err := c.SignAndSubmit(ctx, "beijing-1", key, "hello", msg)
	if err != nil || res.Height != 4 {
		t.Fatalf("SignAndSubmit: %+v, %v", res, err)
	}
	tx, err := txs.DecodeTx(sent)
	if err != nil {
		t.Fatal(err)
	}
	body, err := txs.DecodeBody(tx.BodyBytes)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Verify(body); err != nil {
		t.Fatalf("signature: %v", err)
	}
	if body.Nonce != 7 || body.Sender != addr || body.ChainID != "beijing-1" || body.Memo != "hello" || len(body.Messages) != 1 {
		t.Fatalf("body %+v", body)
	}
	m, err := evidence.DecodeAnchor(body.Messages[0].Value)
	if err != nil || body.Messages[0].TypeURL != evidence.TypeAnchor {
		t.Fatal(err)
	}
	if a := m.(*evidence.MsgAnchor); string(a.Digest) != string(msg.Digest) || a.HashAlgo != "sm3" || a.Label != "l" {
		t.Errorf("message %+v", a)
	}

	// An invalid message is refused before anything is sent.
	n := len(f.reqs)
	_, err = c.SignAndSubmit(ctx, "beijing-1", key, "", &evidence.MsgAnchor{Digest: []byte{1}, HashAlgo: "sha256"})
	if errcode.Of(err) != errcode.InvalidMessage {
		t.Errorf("invalid message: %v", err)
	}
	if len(f.reqs) != n {
		t.Error("request sent for an invalid message")
	}

	// Unknown sender: the gateway's error comes through, saying what is missing.
	other, _ := crypto.GenPrivKey(crypto.Ed25519)
	_, err = c.SignAndSubmit(ctx, "beijing-1", other, "", msg)
	wantError(t, err, 404, "not_found")
	if !strings.Contains(err.Error(), "is not registered on beijing-1") {
		t.Errorf("unknown sender: %v", err)
	}
}

func TestContextAndLimits(t *testing.T) {
	f, c := newFake(t)
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	f.route("GET /v1/chains", func(w http.ResponseWriter, r *http.Request, _ []byte) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Chains(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cancelled request: %v", err)
	}

	f.route("GET /v1/chains/x/blocks/1", func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		chunk := []byte(strings.Repeat(" ", 1<<20))
		for i := 0; i <= MaxResponseBytes>>20; i++ {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	if _, err := c.Block(context.Background(), "x", 1); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized response: %v", err)
	}
}

func TestBuildTx(t *testing.T) {
	key, _ := crypto.GenPrivKey(crypto.Secp256k1)
	msg := &evidence.MsgAnchor{Digest: digestOf("x"), HashAlgo: "sha256"}
	if _, err := BuildTx("c", 0, nil, "", msg); err == nil {
		t.Error("nil key")
	}
	if _, err := BuildTx("", 0, key, "", msg); err == nil {
		t.Error("no chain")
	}
	if _, err := BuildTx("c", 0, key, ""); err == nil {
		t.Error("no messages (a filler is built with BuildFiller)")
	}
	if _, err := BuildFiller("c", 0, nil); err == nil {
		t.Error("filler: nil key")
	}
	if _, err := BuildFiller("", 0, key); err == nil {
		t.Error("filler: no chain")
	}
	fb, err := BuildFiller("c", 7, key)
	if err != nil {
		t.Fatal(err)
	}
	ftx, _ := txs.DecodeTx(fb)
	fbody, err := txs.DecodeBody(ftx.BodyBytes)
	if err != nil || fbody.Nonce != 7 || len(fbody.Messages) != 0 || fbody.Sender != key.PubKey().Address() {
		t.Errorf("filler %+v: %v", fbody, err)
	}
	if _, err := BuildTx("c", 0, key, strings.Repeat("m", txs.MaxMemoBytes+1), msg); errcode.Of(err) != errcode.TxTooLarge {
		t.Errorf("long memo: %v", err)
	}
	bz, err := BuildTx("c", 1, key, "", msg, msg)
	if err != nil {
		t.Fatal(err)
	}
	tx, _ := txs.DecodeTx(bz)
	body, _ := txs.DecodeBody(tx.BodyBytes)
	if _, err := tx.Verify(body); err != nil || body.Nonce != 1 || len(body.Messages) != 2 {
		t.Errorf("tx %+v: %v", body, err)
	}
}
