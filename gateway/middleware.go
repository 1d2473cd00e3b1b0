package gateway

import (
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lianchain/lian/errcode"
)

// buildHandler returns the gateway's HTTP handler: the routes of g.mux inside the
// middleware, outermost first. A new layer is one line here; every layer must pass
// Flush and Unwrap through (see statusWriter) so that streaming routes keep working.
func (g *Gateway) buildHandler() http.Handler {
	layers := []func(http.Handler) http.Handler{
		g.instrument,      // request counts and latencies by route pattern and status (metrics.go)
		g.withRequestInfo, // X-Request-Id on every answer; the route the request matches
		g.withAccessLog,   // one log line per request; a panic answers 500
		g.withCORS,        // Config.CORSOrigins; answers CORS preflight requests
		g.withGzip,        // compresses answers when the client accepts gzip
		g.withAuth,        // Config.Keys: an API key on writes, per-key rate limits
		g.withBodyLimit,   // Config.MaxBodyBytes; a body is read within the time limit
	}
	h := http.Handler(http.HandlerFunc(g.serveHTTP))
	for i := len(layers) - 1; i >= 0; i-- {
		h = layers[i](h)
	}
	return h
}

// routeMux is an http.ServeMux that remembers the patterns registered on it (the
// OpenAPI test checks that each /v1 route is documented).
type routeMux struct {
	*http.ServeMux
	patterns []string
}

func newRouteMux() *routeMux { return &routeMux{ServeMux: http.NewServeMux()} }

// Handle registers h for pattern ("GET /v1/chains").
func (m *routeMux) Handle(pattern string, h http.Handler) {
	m.ServeMux.Handle(pattern, h)
	m.patterns = append(m.patterns, pattern)
}

// HandleFunc registers h for pattern.
func (m *routeMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, http.HandlerFunc(h))
}

// reqInfo is what the middleware learns about a request; it travels in the request's
// context and the access log writes it.
type reqInfo struct {
	id    string // X-Request-Id
	route string // the route pattern the request matches ("GET /v1/chains/{chain}/txs/{hash}"); "" if none
	chain string // the {chain} of the path, if the route has one
	key   string // name of the API key the request was authenticated with
	code  string // stable code of an error answer
}

type reqInfoKey struct{}

// infoOf returns the request's reqInfo (an empty one outside the middleware).
func infoOf(ctx context.Context) *reqInfo {
	if info, ok := ctx.Value(reqInfoKey{}).(*reqInfo); ok {
		return info
	}
	return &reqInfo{}
}

// RequestID returns the id the gateway gave the request of ctx (its X-Request-Id), or ""
// outside the gateway's handler.
func RequestID(ctx context.Context) string { return infoOf(ctx).id }

// HeaderRequestID is the header that carries a request's id, both ways.
const HeaderRequestID = "X-Request-Id"

// maxRequestIDLen bounds an incoming request id.
const maxRequestIDLen = 128

// validRequestID reports whether an incoming request id is kept: 1 to 128 characters
// among letters, digits and "-_.:".
func validRequestID(s string) bool {
	if s == "" || len(s) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

// newRequestID returns 32 random hex digits.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// withRequestInfo gives the request an id (a well-formed incoming X-Request-Id, else a
// new one) that every answer carries, and finds the route it matches.
func (g *Gateway) withRequestInfo(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(HeaderRequestID)
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set(HeaderRequestID, id)
		info := &reqInfo{id: id}
		if _, pattern := g.mux.Handler(r); strings.Contains(pattern, " ") { // "METHOD /path": a route, not a redirect
			info.route = pattern
			info.chain = truncate(patternValue(pattern, r.URL.EscapedPath(), "chain"), 100)
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), reqInfoKey{}, info)))
	})
}

// patternValue returns the value of the wildcard {name} of a route pattern in an escaped
// path the pattern matched.
func patternValue(pattern, escapedPath, name string) string {
	_, p, _ := strings.Cut(pattern, " ")
	segs := strings.Split(escapedPath, "/")
	for i, s := range strings.Split(p, "/") {
		if (s == "{"+name+"}" || s == "{"+name+"...}") && i < len(segs) {
			v, err := url.PathUnescape(segs[i])
			if err != nil {
				return segs[i]
			}
			return v
		}
	}
	return ""
}

// statusWriter records the status and size of an answer.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 && status >= 200 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// Flush sends what was written so far (streaming answers).
func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// withAccessLog writes one line per request to Config.Logger, and answers a panic of an
// inner layer with 500 internal.
func (g *Gateway) withAccessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := infoOf(r.Context())
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			p := recover()
			if p != nil && p != http.ErrAbortHandler {
				g.log.LogAttrs(r.Context(), slog.LevelError, "panic", slog.String("request_id", info.id),
					slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
				if sw.status == 0 {
					writeRequestError(sw, r, errorf(errcode.Internal, "internal error: %v", p))
				}
			}
			status := sw.status
			switch {
			case p == http.ErrAbortHandler:
				status = 0 // the connection was dropped mid-answer
			case status == 0:
				status = http.StatusOK // the handler wrote nothing
			}
			level := slog.LevelInfo
			if status >= 500 || status == 0 {
				level = slog.LevelError
			}
			g.log.LogAttrs(r.Context(), level, "request",
				slog.String("request_id", info.id),
				slog.String("method", r.Method),
				slog.String("route", info.route),
				slog.String("path", truncate(r.URL.Path, 200)),
				slog.String("chain", info.chain),
				slog.Int("status", status),
				slog.String("code", info.code),
				slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
				slog.Int64("bytes", sw.bytes),
				slog.String("key", info.key),
				slog.String("remote", r.RemoteAddr),
			)
			if p == http.ErrAbortHandler {
				panic(p)
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// writeRequestError answers err as an api.Error and records its code for the log.
func writeRequestError(w http.ResponseWriter, r *http.Request, err error) {
	infoOf(r.Context()).code = writeError(w, err)
}

// CORS answers.
const (
	corsAllowMethods  = "GET, HEAD, POST, OPTIONS"
	corsAllowHeaders  = "Authorization, Content-Type, X-Request-Id"
	corsExposeHeaders = "X-Request-Id, Retry-After"
	corsMaxAge        = "600"
)

// corsPolicy is the parsed Config.CORSOrigins.
type corsPolicy struct {
	any     bool
	origins map[string]bool // lower-case "scheme://host[:port]"
}

// parseCORSOrigins checks the origins: "*" or scheme://host[:port] of http or https.
func parseCORSOrigins(list []string) (*corsPolicy, error) {
	if len(list) == 0 {
		return nil, nil
	}
	p := &corsPolicy{origins: map[string]bool{}}
	for _, o := range list {
		o = strings.TrimSpace(o)
		if o == "*" {
			p.any = true
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return nil, fmt.Errorf("gateway: CORS origin %q: expected * or scheme://host[:port] (http or https)", o)
		}
		p.origins[strings.ToLower(u.Scheme+"://"+u.Host)] = true
	}
	return p, nil
}

func (p *corsPolicy) allows(origin string) bool {
	return p.any || p.origins[strings.ToLower(origin)]
}

// withCORS lets browsers of the configured origins call the API: it answers their
// preflight requests and marks the answers to them. Without origins it does nothing.
func (g *Gateway) withCORS(next http.Handler) http.Handler {
	if g.cors == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Add("Vary", "Origin")
		origin := r.Header.Get("Origin")
		if origin == "" || !g.cors.allows(origin) {
			next.ServeHTTP(w, r)
			return
		}
		if g.cors.any {
			h.Set("Access-Control-Allow-Origin", "*")
		} else {
			h.Set("Access-Control-Allow-Origin", origin)
		}
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			h.Set("Access-Control-Allow-Methods", corsAllowMethods)
			h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
			h.Set("Access-Control-Max-Age", corsMaxAge)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
		next.ServeHTTP(w, r)
	})
}

// gzipMinBytes is the size from which an answer is compressed.
const gzipMinBytes = 1024

var gzipWriters = sync.Pool{New: func() any {
	w, err := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	if err != nil {
		panic(err) // BestSpeed is a valid level
	}
	return w
}}

// acceptsGzip reports whether an Accept-Encoding header accepts gzip.
func acceptsGzip(header string) bool {
	gzipQ, anyQ := -1.0, -1.0
	for part := range strings.SplitSeq(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				continue
			}
			q = f
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "gzip", "x-gzip":
			gzipQ = q
		case "*":
			anyQ = q
		}
	}
	if gzipQ >= 0 {
		return gzipQ > 0
	}
	return anyQ > 0
}

// compressibleType reports whether answers of a Content-Type are worth compressing.
// Event streams are not: each event must reach the client when it is flushed.
func compressibleType(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	switch {
	case mt == "text/event-stream":
		return false
	case strings.HasPrefix(mt, "text/"), strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"):
		return true
	}
	switch mt {
	case "application/json", "application/javascript", "application/xml", "application/wasm", "image/svg+xml":
		return true
	}
	return false
}

// withGzip compresses answers of compressible types and at least gzipMinBytes for
// clients that accept gzip.
func (g *Gateway) withGzip(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept-Encoding")
		if r.Method == http.MethodHead || !acceptsGzip(r.Header.Get("Accept-Encoding")) {
			next.ServeHTTP(w, r)
			return
		}
		gw := &gzipWriter{ResponseWriter: w}
		defer gw.finish()
		next.ServeHTTP(gw, r)
	})
}

// gzipWriter holds back the start of an answer until it knows whether to compress it:
// at gzipMinBytes, at a Flush, or at the end.
type gzipWriter struct {
	http.ResponseWriter
	status  int // 0 until WriteHeader or Write
	started bool
	gz      *gzip.Writer // nil: not compressed
	buf     []byte
}

func (w *gzipWriter) WriteHeader(status int) {
	switch {
	case w.started:
		w.ResponseWriter.WriteHeader(status) // superfluous: net/http logs it
	case status < 200:
		w.ResponseWriter.WriteHeader(status) // informational: passes
	case w.status == 0:
		w.status = status
	}
}

func (w *gzipWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if !w.started {
		compress := w.compressible()
		if compress && len(w.buf)+len(p) < gzipMinBytes {
			w.buf = append(w.buf, p...)
			return len(p), nil
		}
		if err := w.start(compress); err != nil {
			return 0, err
		}
	}
	if w.gz != nil {
		return w.gz.Write(p)
	}
	return w.ResponseWriter.Write(p)
}

// compressible reports whether the answer, as its header stands, is compressed.
func (w *gzipWriter) compressible() bool {
	h := w.Header()
	return w.status != http.StatusNoContent && w.status != http.StatusNotModified && w.status != http.StatusPartialContent &&
		h.Get("Content-Encoding") == "" && h.Get("Content-Range") == "" && compressibleType(h.Get("Content-Type"))
}

// start sends the header, compressed or not, and what was held back.
func (w *gzipWriter) start(compress bool) error {
	w.started = true
	if compress {
		h := w.Header()
		h.Set("Content-Encoding", "gzip")
		h.Del("Content-Length")
		w.gz = gzipWriters.Get().(*gzip.Writer)
		w.gz.Reset(w.ResponseWriter)
	}
	w.ResponseWriter.WriteHeader(w.status)
	buf := w.buf
	w.buf = nil
	if len(buf) == 0 {
		return nil
	}
	var err error
	if w.gz != nil {
		_, err = w.gz.Write(buf)
	} else {
		_, err = w.ResponseWriter.Write(buf)
	}
	return err
}

// Flush sends what was written so far (streaming answers).
func (w *gzipWriter) Flush() {
	if !w.started {
		if w.status == 0 {
			w.status = http.StatusOK
		}
		if w.start(w.compressible()) != nil {
			return
		}
	}
	if w.gz != nil && w.gz.Flush() != nil {
		return
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *gzipWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// finish sends what is held back, uncompressed if it is short, and ends the gzip stream.
func (w *gzipWriter) finish() {
	if !w.started && (w.status != 0 || len(w.buf) > 0) {
		_ = w.start(false)
	}
	if w.gz != nil {
		_ = w.gz.Close()
		w.gz.Reset(io.Discard)
		gzipWriters.Put(w.gz)
		w.gz = nil
	}
}

// withBodyLimit refuses a body larger than Config.MaxBodyBytes (413 tx_too_large; a
// route reading a longer body than declared gets an *http.MaxBytesError) and gives the
// body until the request's time limit to arrive.
func (g *Gateway) withBodyLimit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > g.maxBody {
			writeRequestError(w, r, errorf(errcode.TxTooLarge, "request body is %d bytes, at most %d allowed", r.ContentLength, g.maxBody))
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			body := &deadlineBody{ReadCloser: http.MaxBytesReader(w, r.Body, g.maxBody)}
			rc := http.NewResponseController(w)
			if rc.SetReadDeadline(time.Now().Add(g.requestTimeout)) == nil {
				body.rc = rc
			}
			r.Body = body
		}
		next.ServeHTTP(w, r)
	})
}

// deadlineBody lifts the read deadline of the connection once the body is read, so that
// the deadline does not end a long answer (a commit wait, a stream).
type deadlineBody struct {
	io.ReadCloser
	rc *http.ResponseController // nil: no deadline was set
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && b.rc != nil {
		_ = b.rc.SetReadDeadline(time.Time{})
		b.rc = nil
	}
	return n, err
}

// readBodyError is the API error of a failed body read.
func (g *Gateway) readBodyError(err error) *apiError {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return errorf(errcode.TxTooLarge, "request body exceeds %d bytes", mbe.Limit)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return errorf(errcode.RequestTimeout, "the request body did not arrive within the gateway's time limit of %v", g.requestTimeout)
	default:
		return errorf(errcode.InvalidRequest, "read body: %v", err)
	}
}
