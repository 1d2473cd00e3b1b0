package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, path string, header map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, path, nil)
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func mux() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("GET /v1/chains", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "api") })
	Register(m)
	return m
}

func TestServesTheApp(t *testing.T) {
	m := mux()
	index, err := files.ReadFile("ui/index.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/", "/blocks/beijing-1", "/blocks", "/tx/beijing-1/" + strings.Repeat("AB", 32), "/verify", "/search?q=1",
		"/account/beijing-1/0x" + strings.Repeat("0a", 20), "/org/beijing-1/org1", "/gov/beijing-1/3", "/evidence/x/" + strings.Repeat("00", 32), "/xchain/beijing-1", "/xchain"} {
		w := get(t, m, p, nil)
		if w.Code != http.StatusOK || !bytes.Equal(w.Body.Bytes(), index) {
			t.Errorf("GET %s: %d, %d bytes; want the app", p, w.Code, w.Body.Len())
			continue
		}
		h := w.Header()
		if h.Get("Content-Type") != "text/html; charset=utf-8" || !strings.Contains(h.Get("Content-Security-Policy"), "'wasm-unsafe-eval'") ||
			h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Cache-Control") != "no-cache" || h.Get("ETag") == "" {
			t.Errorf("GET %s: headers %v", p, h)
		}
	}
	// The API keeps its paths; anything else is not the explorer's.
	if w := get(t, m, "/v1/chains", nil); w.Body.String() != "api" {
		t.Errorf("GET /v1/chains answered %q", w.Body.String())
	}
	for _, p := range []string{"/v1/nothing", "/healthz", "/metrics", "/assets/nothing.js", "/assets/", "/assets/pages", "/favicon.ico", "/blocksx"} {
		if w := get(t, m, p, nil); w.Code != http.StatusNotFound || bytes.Equal(w.Body.Bytes(), index) {
			t.Errorf("GET %s: %d; want 404, not the app", p, w.Code)
		}
	}
}

func TestAssets(t *testing.T) {
	h := Handler()
	for name, ctype := range map[string]string{
		"app.js": "text/javascript; charset=utf-8", "style.css": "text/css; charset=utf-8", "favicon.svg": "image/svg+xml",
		"verify-worker.js": "text/javascript; charset=utf-8", "wasm_exec.js": "text/javascript; charset=utf-8", "pages/verify.js": "text/javascript; charset=utf-8",
	} {
		w := get(t, h, "/assets/"+name, nil)
		want, _ := files.ReadFile("ui/assets/" + name)
		if w.Code != http.StatusOK || w.Header().Get("Content-Type") != ctype || !bytes.Equal(w.Body.Bytes(), want) {
			t.Errorf("GET /assets/%s: %d %q, %d bytes", name, w.Code, w.Header().Get("Content-Type"), w.Body.Len())
		}
		// Revalidation.
		if w2 := get(t, h, "/assets/"+name, map[string]string{"If-None-Match": w.Header().Get("ETag")}); w2.Code != http.StatusNotModified || w2.Body.Len() != 0 {
			t.Errorf("GET /assets/%s with its ETag: %d", name, w2.Code)
		}
		// Compressed when the browser accepts it.
		w3 := get(t, h, "/assets/"+name, map[string]string{"Accept-Encoding": "br, gzip"})
		if len(want) > 1024 && name != "favicon.svg" {
			if w3.Header().Get("Content-Encoding") != "gzip" || !bytes.Equal(gunzip(t, w3.Body.Bytes()), want) {
				t.Errorf("GET /assets/%s gzip: %q", name, w3.Header().Get("Content-Encoding"))
			}
		}
	}
	if !strings.Contains(get(t, h, "/assets/verify-worker.js", nil).Header().Get("Content-Security-Policy"), "'wasm-unsafe-eval'") {
		t.Error("the worker has no policy allowing WebAssembly")
	}

	// The verifier is committed compressed: sent as it is, or decompressed.
	gz, _ := files.ReadFile("ui/assets/verify.wasm.gz")
	w := get(t, h, "/assets/verify.wasm", map[string]string{"Accept-Encoding": "gzip, deflate"})
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/wasm" || w.Header().Get("Content-Encoding") != "gzip" || !bytes.Equal(w.Body.Bytes(), gz) {
		t.Fatalf("GET /assets/verify.wasm (gzip): %d %v", w.Code, w.Header())
	}
	plain := get(t, h, "/assets/verify.wasm", map[string]string{"Accept-Encoding": "gzip;q=0"})
	if plain.Header().Get("Content-Encoding") != "" || !bytes.Equal(plain.Body.Bytes(), gunzip(t, gz)) || !bytes.HasPrefix(plain.Body.Bytes(), []byte("\x00asm")) {
		t.Fatalf("GET /assets/verify.wasm (identity): %v, %d bytes", plain.Header(), plain.Body.Len())
	}
	// HEAD: the headers only.
	r := httptest.NewRequest(http.MethodHead, "/assets/app.js", nil)
	hw := httptest.NewRecorder()
	h.ServeHTTP(hw, r)
	if hw.Code != http.StatusOK || hw.Body.Len() != 0 || hw.Header().Get("Content-Length") == "" {
		t.Errorf("HEAD /assets/app.js: %d, %d bytes", hw.Code, hw.Body.Len())
	}
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestAcceptsGzip(t *testing.T) {
	for h, want := range map[string]bool{"": false, "gzip": true, "deflate, gzip;q=1.0": true, "gzip;q=0": false, "br": false, "*": true, "GZIP; q=0.5": true, "gzip; q=0.000": false} {
		if got := acceptsGzip(h); got != want {
			t.Errorf("acceptsGzip(%q) = %v", h, got)
		}
	}
}

// TestTranslations checks every text key the pages use is in both dictionaries, and that
// the placeholders of each English text are those of its Chinese text.
func TestTranslations(t *testing.T) {
	src, err := files.ReadFile("ui/assets/i18n.js")
	if err != nil {
		t.Fatal(err)
	}
	dicts := map[string]map[string]string{}
	entry := regexp.MustCompile(`^\s+([a-z0-9_A-Z]+): '((?:[^'\\]|\\.)*)',$`)
	var cur string
	for _, line := range strings.Split(string(src), "\n") {
		switch {
		case strings.HasPrefix(line, "const en = {"):
			cur = "en"
			dicts[cur] = map[string]string{}
		case strings.HasPrefix(line, "const zh = {"):
			cur = "zh"
			dicts[cur] = map[string]string{}
		case line == "};":
			cur = ""
		case cur != "":
			if m := entry.FindStringSubmatch(line); m != nil {
				dicts[cur][m[1]] = m[2]
			} else if strings.TrimSpace(line) != "" {
				t.Errorf("i18n.js (%s): unexpected line %q", cur, line)
			}
		}
	}
	if len(dicts["en"]) < 100 || len(dicts["zh"]) < 100 {
		t.Fatalf("dictionaries not found: en %d, zh %d entries", len(dicts["en"]), len(dicts["zh"]))
	}
	placeholders := regexp.MustCompile(`\{(\w+)\}`)
	names := func(s string) string {
		var out []string
		for _, m := range placeholders.FindAllStringSubmatch(s, -1) {
			out = append(out, m[1])
		}
		sort.Strings(out)
		return strings.Join(out, ",")
	}
	for k, v := range dicts["en"] {
		zh, ok := dicts["zh"][k]
		if !ok {
			t.Errorf("%s: no Chinese text", k)
			continue
		}
		if names(v) != names(zh) {
			t.Errorf("%s: placeholders %q in English, %q in Chinese", k, names(v), names(zh))
		}
	}
	for k := range dicts["zh"] {
		if _, ok := dicts["en"][k]; !ok {
			t.Errorf("%s: no English text", k)
		}
	}
	// The keys the code names literally.
	use := regexp.MustCompile(`\bt\(\s*'([a-z0-9_A-Z]+)'`)
	cond := regexp.MustCompile(`\bt\(\s*[^'()]+\?\s*'([a-z0-9_]+)'\s*:\s*'([a-z0-9_]+)'`)
	err = fs.WalkDir(files, "ui/assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".js") || strings.HasSuffix(p, "wasm_exec.js") || strings.HasSuffix(p, "i18n.js") {
			return err
		}
		b, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		var keys []string
		for _, m := range use.FindAllStringSubmatch(string(b), -1) {
			keys = append(keys, m[1])
		}
		for _, m := range cond.FindAllStringSubmatch(string(b), -1) {
			keys = append(keys, m[1], m[2])
		}
		for _, k := range keys {
			if _, ok := dicts["en"][k]; !ok {
				t.Errorf("%s uses text %q, which is not in the dictionaries", p, k)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestWasmUpToDate rebuilds the verifier as `go generate ./web` does and compares it with
// the committed one. Go builds are reproducible for one toolchain: with another toolchain
// than the one that built the committed file, the test says so and skips.
func TestWasmUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the WebAssembly verifier; skipped with -short")
	}
	var m struct {
		Go     string `json:"go"`
		SHA256 string `json:"sha256"`
	}
	b, err := files.ReadFile("ui/assets/verify.wasm.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	gz, _ := files.ReadFile("ui/assets/verify.wasm.gz")
	sum := sha256.Sum256(gunzip(t, gz))
	if hex.EncodeToString(sum[:]) != m.SHA256 {
		t.Fatalf("verify.wasm.gz does not match its manifest: run go generate ./web")
	}
	out, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		t.Fatal(err)
	}
	if v := strings.TrimSpace(string(out)); v != m.Go {
		t.Skipf("the committed verifier was built with %s, this toolchain is %s: its bytes cannot be compared (go generate ./web rebuilds it)", m.Go, v)
	}
	dir := t.TempDir()
	cmd := exec.Command("go", "run", "./internal/wasmbuild", "-out", dir)
	if outb, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the verifier: %v\n%s", err, outb)
	}
	for _, name := range []string{"verify.wasm.json", "wasm_exec.js"} {
		fresh, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		committed, _ := files.ReadFile("ui/assets/" + name)
		if !bytes.Equal(fresh, committed) {
			t.Errorf("ui/assets/%s is out of date: run go generate ./web\n--- committed\n%s\n--- built\n%s", name, committed, fresh)
		}
	}
}
