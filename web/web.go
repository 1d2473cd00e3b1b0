// Package web is Lian's block explorer: a web app embedded in the binary and served by
// the gateway at / (package gateway registers it with Register).
//
// The app is plain ES modules and CSS under ui/ (no build step): the pages read the
// gateway's /v1 routes from the browser. Evidence proofs are checked in the browser by
// package client's verifier compiled to WebAssembly (ui/assets/verify.wasm.gz, built
// from ./wasm by `go generate ./web`, which also copies the toolchain's wasm_exec.js);
// TestWasmUpToDate checks the committed build matches the sources. See docs/explorer.md.
package web

//go:generate go run ./internal/wasmbuild

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
)

//go:embed ui
var files embed.FS

// Sections are the first path segments of the explorer's pages (/blocks/beijing-1,
// /tx/beijing-1/<hash>, …). A request under one of them is answered with the app, which
// routes in the browser; any other path is left to the gateway's API.
var Sections = []string{"blocks", "block", "tx", "account", "org", "gov", "evidence", "verify", "search", "xchain"}

// Mux is what Register adds routes to: an *http.ServeMux, or a type wrapping one.
type Mux interface {
	Handle(pattern string, h http.Handler)
}

// Register adds the explorer to mux: GET / and the pages under Sections answer the app
// (index.html), GET /assets/… its files.
func Register(mux Mux) {
	h := Handler()
	mux.Handle("GET /{$}", h)
	mux.Handle("GET /assets/", h)
	for _, s := range Sections {
		mux.Handle("GET /"+s, h)
		mux.Handle("GET /"+s+"/", h)
	}
}

// ContentSecurityPolicy is the policy of the app's document and worker: everything from
// the gateway itself, WebAssembly compilation allowed (the verifier), no inline script.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; " +
	"connect-src 'self'; img-src 'self' data:; style-src 'self'; font-src 'self'; object-src 'none'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Handler serves the explorer: the app for / and the pages under Sections, the files
// under /assets/, 404 for anything else.
func Handler() http.Handler {
	return http.HandlerFunc(serve)
}

// asset is a file ready to serve, plain and gzip-compressed.
type asset struct {
	name  string
	ctype string
	plain []byte // nil until needed when the file is committed compressed
	gz    []byte // nil when compression does not pay
	etag  string

	once sync.Once
	err  error
}

// body returns the uncompressed content.
func (a *asset) body() ([]byte, error) {
	a.once.Do(func() {
		if a.plain != nil {
			return
		}
		zr, err := gzip.NewReader(bytes.NewReader(a.gz))
		if err != nil {
			a.err = err
			return
		}
		a.plain, a.err = io.ReadAll(zr)
	})
	return a.plain, a.err
}

// compressible are the types worth gzipping on the way out.
var compressible = map[string]bool{".js": true, ".css": true, ".html": true, ".json": true, ".svg": true, ".wasm": true}

var assets = sync.OnceValues(func() (map[string]*asset, error) {
	out := map[string]*asset{}
	err := fs.WalkDir(files, "ui", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "ui/")
		a := &asset{name: name}
		if n, ok := strings.CutSuffix(name, ".gz"); ok {
			a.name, a.gz = n, b
		} else {
			a.plain = b
			if compressible[path.Ext(name)] && len(b) > 1024 {
				var buf bytes.Buffer
				zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
				zw.Write(b)
				zw.Close()
				if buf.Len() < len(b) {
					a.gz = buf.Bytes()
				}
			}
		}
		a.ctype = contentType(a.name)
		sum := sha256.Sum256(b)
		a.etag = `"` + hex.EncodeToString(sum[:12]) + `"`
		out[a.name] = a
		return nil
	})
	return out, err
})

func contentType(name string) string {
	switch path.Ext(name) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".html":
		return "text/html; charset=utf-8"
	case ".json":
		return "application/json"
	case ".wasm":
		return "application/wasm"
	case ".svg":
		return "image/svg+xml"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

func serve(w http.ResponseWriter, r *http.Request) {
	all, err := assets()
	if err != nil {
		http.Error(w, "explorer assets: "+err.Error(), http.StatusInternalServerError)
		return
	}
	p := r.URL.Path
	var name string
	switch {
	case p == "/" || isPage(p):
		name = "index.html"
	case strings.HasPrefix(p, "/assets/"):
		name = strings.TrimPrefix(p, "/")
	}
	a := all[name]
	if a == nil || strings.Contains(name, "..") {
		h := w.Header()
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, "404 not found: %s\n", p)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	// Revalidate every time: the files change with the binary, not their names.
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", a.etag)
	if name == "index.html" || strings.HasSuffix(name, "-worker.js") {
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Frame-Options", "DENY")
	}
	if a.gz != nil {
		h.Set("Vary", "Accept-Encoding")
	}
	if etagMatch(r.Header.Get("If-None-Match"), a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := a.gz
	if body != nil && acceptsGzip(r.Header.Get("Accept-Encoding")) {
		h.Set("Content-Encoding", "gzip")
	} else if body, err = a.body(); err != nil {
		http.Error(w, "explorer asset "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// isPage reports whether p is the path of one of the app's pages.
func isPage(p string) bool {
	first, _, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	for _, s := range Sections {
		if first == s {
			return true
		}
	}
	return false
}

func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == etag || t == "W/"+etag || t == "*" {
			return true
		}
	}
	return false
}

// acceptsGzip reports whether an Accept-Encoding header admits gzip.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") && strings.TrimSpace(coding) != "*" {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}
