package gateway

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	rpctypes "github.com/cometbft/cometbft/rpc/jsonrpc/types"

	"github.com/lianchain/lian/api"
)

// rawClient does not ask for gzip by itself, so tests see the answers as sent.
var rawClient = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableCompression: true}}

// send sends a request with headers and returns the answer with its whole body.
func send(t *testing.T, method, url string, body io.Reader, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := rawClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read: %v", method, url, err)
	}
	return res, b
}

// errCode decodes an api.Error body.
func errCode(t *testing.T, body []byte) string {
	t.Helper()
	var e api.Error
	if err := json.Unmarshal(body, &e); err != nil || e.Code == "" || e.Message == "" {
		t.Fatalf("error body %s: %v", body, err)
	}
	return e.Code
}

// logBuffer collects log lines; it is safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// records returns the JSON log records with msg.
func (b *logBuffer) records(t *testing.T, msg string) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b.buf.Bytes()))
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestRequestID(t *testing.T) {
	f := newFakeNode(t)
	_, base := serveGateway(t, Config{Chains: map[string][]string{"c": {f.url()}}})
	seen := map[string]bool{}
	for _, path := range []string{"/v1/chains", "/v1/chains/nope/orgs", "/no/route", "/healthz"} {
		res, _ := send(t, http.MethodGet, base+path, nil, nil)
		id := res.Header.Get(HeaderRequestID)
		if len(id) != 32 || !isLowerHex(id) || seen[id] {
			t.Fatalf("GET %s: request id %q", path, id)
		}
		seen[id] = true
	}
	// A well-formed incoming id is kept; another is replaced.
	for in, kept := range map[string]bool{
		"trace-42:span.7_A":      true,
		strings.Repeat("a", 128): true,
		strings.Repeat("a", 129): false,
		"has space":              false,
		"naïve":                  false,
		"a/b":                    false,
	} {
		res, _ := send(t, http.MethodGet, base+"/v1/chains", nil, map[string]string{HeaderRequestID: in})
		got := res.Header.Get(HeaderRequestID)
		if (got == in) != kept || !validRequestID(got) {
			t.Errorf("incoming %q: answered %q", in, got)
		}
	}
}

func TestGzip(t *testing.T) {
	f := newFakeNode(t)
	_, base := serveGateway(t, Config{Chains: map[string][]string{"c": {f.url()}}})
	gz := map[string]string{"Accept-Encoding": "gzip"}

	// The OpenAPI document is large: compressed, and decompresses to itself.
	res, body := send(t, http.MethodGet, base+"/v1/openapi.json", nil, gz)
	if res.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("openapi.json: encoding %q", res.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(plain, OpenAPI()) {
		t.Fatalf("decompressed document differs (%v)", err)
	}
	if len(body) >= len(plain)/2 {
		t.Fatalf("compressed to %d of %d bytes", len(body), len(plain))
	}
	if !strings.Contains(strings.Join(res.Header.Values("Vary"), ","), "Accept-Encoding") {
		t.Fatalf("Vary %q", res.Header.Values("Vary"))
	}

	// Not compressed: a short answer, a client that does not accept gzip (or refuses it
	// with q=0), a HEAD request.
	res, body = send(t, http.MethodGet, base+"/v1/chains", nil, gz)
	if res.Header.Get("Content-Encoding") != "" || !json.Valid(body) {
		t.Fatalf("short answer: encoding %q, body %s", res.Header.Get("Content-Encoding"), body)
	}
	for _, ae := range []string{"", "identity", "gzip;q=0", "br", "*;q=0"} {
		res, body = send(t, http.MethodGet, base+"/v1/openapi.json", nil, map[string]string{"Accept-Encoding": ae})
		if res.Header.Get("Content-Encoding") != "" || !bytes.Equal(body, OpenAPI()) {
			t.Fatalf("Accept-Encoding %q: encoding %q", ae, res.Header.Get("Content-Encoding"))
		}
	}
	for _, ae := range []string{"gzip", "deflate, gzip;q=0.5", "*", "GZIP"} {
		if !acceptsGzip(ae) {
			t.Errorf("acceptsGzip(%q) = false", ae)
		}
	}
	res, body = send(t, http.MethodHead, base+"/v1/openapi.json", nil, gz)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Encoding") != "" || len(body) != 0 {
		t.Fatalf("HEAD: %d, encoding %q, %d bytes", res.StatusCode, res.Header.Get("Content-Encoding"), len(body))
	}
	// Error answers keep their status when compressed or not.
	res, body = send(t, http.MethodGet, base+"/v1/chains/nope/blocks/1", nil, gz)
	if res.StatusCode != http.StatusNotFound || errCode(t, body) != "not_found" {
		t.Fatalf("unknown chain: %d %s", res.StatusCode, body)
	}
	// The Go client asks for gzip and decompresses by itself.
	var doc map[string]any
	getJSON(t, base, "/v1/openapi.json", http.StatusOK, &doc)
	if doc["openapi"] != "3.1.0" {
		t.Fatalf("document %v", doc["openapi"])
	}
}

func TestGzipWriterStreams(t *testing.T) {
	// A flushed answer reaches the client at the flush, compressed or not; an event
	// stream is never compressed.
	g := &Gateway{}
	next := make(chan struct{})
	h := g.withGzip(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", r.URL.Query().Get("type"))
		_, _ = io.WriteString(w, "first\n")
		http.NewResponseController(w).Flush()
		<-next
		_, _ = io.WriteString(w, "second\n")
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, tc := range []struct {
		typ, encoding string
	}{{"text/event-stream", ""}, {"application/json", "gzip"}} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"?type="+tc.typ, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		res, err := rawClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Header.Get("Content-Encoding"); got != tc.encoding {
			t.Fatalf("%s: encoding %q, want %q", tc.typ, got, tc.encoding)
		}
		var rd io.Reader = res.Body
		if tc.encoding == "gzip" {
			if rd, err = gzip.NewReader(res.Body); err != nil {
				t.Fatal(err)
			}
		}
		br := bufio.NewReader(rd)
		line, err := br.ReadString('\n') // before the handler writes more
		if err != nil || line != "first\n" {
			t.Fatalf("%s: first line %q, %v", tc.typ, line, err)
		}
		next <- struct{}{}
		rest, err := io.ReadAll(br)
		if err != nil || string(rest) != "second\n" {
			t.Fatalf("%s: rest %q, %v", tc.typ, rest, err)
		}
		res.Body.Close()
	}
}

func TestCORS(t *testing.T) {
	f := newFakeNode(t)
	if _, err := New(Config{Chains: map[string][]string{"c": {f.url()}}, CORSOrigins: []string{"app.example"}}); err == nil {
		t.Fatal("an origin without a scheme was accepted")
	}
	if _, err := New(Config{Chains: map[string][]string{"c": {f.url()}}, CORSOrigins: []string{"https://app.example/path"}}); err == nil {
		t.Fatal("an origin with a path was accepted")
	}
	preflight := map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": "POST",
		"Access-Control-Request-Headers": "authorization, content-type"}

	// Off by default: no CORS headers, and OPTIONS is not a method of the routes.
	_, off := serveGateway(t, Config{Chains: map[string][]string{"c": {f.url()}}})
	res, _ := send(t, http.MethodGet, off+"/v1/chains", nil, map[string]string{"Origin": "https://app.example"})
	if res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("CORS off: %v", res.Header)
	}
	res, _ = send(t, http.MethodOptions, off+"/v1/chains", nil, preflight)
	if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("CORS off, preflight: %d %v", res.StatusCode, res.Header)
	}

	_, on := serveGateway(t, Config{Chains: map[string][]string{"c": {f.url()}}, CORSOrigins: []string{"https://app.example", "http://localhost:3000"}})
	res, _ = send(t, http.MethodOptions, on+"/v1/chains/c/txs", nil, preflight)
	h := res.Header
	if res.StatusCode != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		!strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") || !strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") ||
		h.Get("Access-Control-Max-Age") == "" || h.Get(HeaderRequestID) == "" {
		t.Fatalf("preflight: %d %v", res.StatusCode, h)
	}
	res, _ = send(t, http.MethodGet, on+"/v1/chains", nil, map[string]string{"Origin": "HTTP://LOCALHOST:3000"})
	if res.Header.Get("Access-Control-Allow-Origin") != "HTTP://LOCALHOST:3000" ||
		!strings.Contains(res.Header.Get("Access-Control-Expose-Headers"), HeaderRequestID) || !slicesContain(res.Header.Values("Vary"), "Origin") {
		t.Fatalf("allowed origin: %v", res.Header)
	}
	// Another origin gets no CORS headers (the browser keeps the answer from its page).
	res, _ = send(t, http.MethodGet, on+"/v1/chains", nil, map[string]string{"Origin": "https://evil.example"})
	if res.StatusCode != http.StatusOK || res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("other origin: %d %v", res.StatusCode, res.Header)
	}

	_, any := serveGateway(t, Config{Chains: map[string][]string{"c": {f.url()}}, CORSOrigins: []string{"*"}})
	res, _ = send(t, http.MethodGet, any+"/v1/chains", nil, map[string]string{"Origin": "https://anyone.example"})
	if res.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("any origin: %v", res.Header)
	}
}

func slicesContain(values []string, want string) bool {
	for _, v := range values {
		for _, p := range strings.Split(v, ",") {
			if strings.TrimSpace(p) == want {
				return true
			}
		}
	}
	return false
}

func TestBodyLimit(t *testing.T) {
	f := newFakeNode(t)
	if _, err := New(Config{Chains: map[string][]string{"c": {f.url()}}, MaxBodyBytes: MinBodyBytes - 1}); err == nil {
		t.Fatal("a body limit below MinBodyBytes was accepted")
	}
	_, base := serveGateway(t, Config{Chains: map[string][]string{"c": {f.url()}}, MaxBodyBytes: MinBodyBytes})
	ok := submitBody(someTx(t))
	res, body := send(t, http.MethodPost, base+"/v1/chains/c/txs?wait=false", bytes.NewReader(ok), nil)
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("small body: %d %s", res.StatusCode, body)
	}
	big := append([]byte(`{"tx":"`), bytes.Repeat([]byte("A"), MinBodyBytes)...)
	big = append(big, `"}`...)
	// Declared too long: refused before it is read.
	res, body = send(t, http.MethodPost, base+"/v1/chains/c/txs", bytes.NewReader(big), nil)
	if res.StatusCode != http.StatusRequestEntityTooLarge || errCode(t, body) != "tx_too_large" {
		t.Fatalf("declared large body: %d %s", res.StatusCode, body)
	}
	// Sent without a length (chunked): cut at the limit.
	res, body = send(t, http.MethodPost, base+"/v1/chains/c/txs", io.MultiReader(bytes.NewReader(big)), nil)
	if res.StatusCode != http.StatusRequestEntityTooLarge || errCode(t, body) != "tx_too_large" {
		t.Fatalf("chunked large body: %d %s", res.StatusCode, body)
	}
}

func TestRequestTimeout(t *testing.T) {
	f := newFakeNode(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	f.answer("abci_query", func() (any, *rpctypes.RPCError) {
		<-release
		return nil, internal("released")
	})
	if _, err := New(Config{Chains: map[string][]string{"c": {f.url()}}, RequestTimeout: -time.Second}); err == nil {
		t.Fatal("a negative request timeout was accepted")
	}
	_, base := serveGateway(t, Config{Chains: map[string][]string{"c": {f.url()}}, RequestTimeout: 300 * time.Millisecond, RPCTimeout: 10 * time.Second})

	// A query the node does not answer ends at the time limit.
	start := time.Now()
	res, body := send(t, http.MethodGet, base+"/v1/chains/c/gov/params", nil, nil)
	if res.StatusCode != http.StatusGatewayTimeout || errCode(t, body) != "request_timeout" {
		t.Fatalf("slow query: %d %s", res.StatusCode, body)
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 5*time.Second {
		t.Fatalf("answered after %v", d)
	}

	// The commit wait of a transaction comes on top of the limit: the answer is the
	// wait's timeout, with the hash.
	start = time.Now()
	tx := someTx(t)
	res, body = send(t, http.MethodPost, base+"/v1/chains/c/txs?timeout=700ms", bytes.NewReader(submitBody(tx)), nil)
	var e api.Error
	if res.StatusCode != http.StatusGatewayTimeout || json.Unmarshal(body, &e) != nil || e.Code != "timeout" || e.Hash == "" {
		t.Fatalf("commit wait: %d %s", res.StatusCode, body)
	}
	if d := time.Since(start); d < 700*time.Millisecond {
		t.Fatalf("the wait was cut at %v", d)
	}
}

func TestAccessLog(t *testing.T) {
	f := newFakeNode(t)
	var logs logBuffer
	_, base := serveGateway(t, Config{Chains: map[string][]string{"c": {f.url()}},
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	res, _ := send(t, http.MethodGet, base+"/v1/chains/c/blocks/latest", nil, map[string]string{HeaderRequestID: "req-1"})
	res.Body.Close()
	send(t, http.MethodGet, base+"/v1/chains/nope/validators", nil, map[string]string{HeaderRequestID: "req-2"})
	send(t, http.MethodGet, base+"/nowhere", nil, map[string]string{HeaderRequestID: "req-3"})

	byID := map[string]map[string]any{}
	for _, rec := range logs.records(t, "request") {
		byID[rec["request_id"].(string)] = rec
	}
	for id, want := range map[string]map[string]any{
		"req-1": {"route": "GET /v1/chains/{chain}/blocks/{height}", "chain": "c", "method": "GET", "key": ""},
		"req-2": {"route": "GET /v1/chains/{chain}/validators", "chain": "nope", "status": float64(404), "code": "not_found"},
		"req-3": {"route": "", "chain": "", "status": float64(404), "code": "not_found", "path": "/nowhere"},
	} {
		rec, ok := byID[id]
		if !ok {
			t.Fatalf("no log line of %s in:\n%s", id, logs.String())
		}
		for k, v := range want {
			if rec[k] != v {
				t.Errorf("%s: %s = %v, want %v (%v)", id, k, rec[k], v, rec)
			}
		}
		if _, ok := rec["duration_ms"].(float64); !ok {
			t.Errorf("%s: no duration: %v", id, rec)
		}
		if _, ok := rec["status"].(float64); !ok {
			t.Errorf("%s: no status: %v", id, rec)
		}
	}
}
