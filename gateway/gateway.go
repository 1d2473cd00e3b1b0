package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	jsonrpcclient "github.com/cometbft/cometbft/rpc/jsonrpc/client"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/errcode"
)

// Defaults and limits.
const (
	// DefaultTxWaitTimeout is how long POST .../txs waits for the commit by default.
	DefaultTxWaitTimeout = 30 * time.Second
	// MaxTxWaitTimeout bounds the ?timeout= of POST .../txs.
	MaxTxWaitTimeout = 5 * time.Minute
	// DefaultRPCTimeout is the deadline of one RPC call to a node.
	DefaultRPCTimeout = 10 * time.Second
	// ProofWaitTimeout is how long a proven evidence query waits for the block after the
	// one that anchored the digest.
	ProofWaitTimeout = 15 * time.Second
	// MaxBodyBytes is the default bound of a request body (Config.MaxBodyBytes).
	MaxBodyBytes = 1 << 20
	// MinBodyBytes is the least Config.MaxBodyBytes: a transaction of txs.MaxTxBytes,
	// base64 in JSON, fits.
	MinBodyBytes = 768 << 10
	// DefaultRequestTimeout is the default time limit of a request (Config.RequestTimeout).
	DefaultRequestTimeout = 60 * time.Second
	// pollInterval is the interval of polls for a commit or a block.
	pollInterval = 75 * time.Millisecond
	// waitAskAll: every waitAskAll-th poll of a commit wait asks every node.
	waitAskAll = 4
)

// Config configures a Gateway.
type Config struct {
	// Chains maps a chain id to the RPC URLs of its nodes ("http://127.0.0.1:26657"). The
	// gateway uses the first that answers and fails over to the others.
	Chains map[string][]string
	// Local maps RPC URLs listed in Chains to clients of nodes running in the gateway's
	// process (CometBFT's rpc/client/local, as `lian up` makes them): the gateway calls
	// those nodes directly instead of over JSON-RPC. The URL still names the node (in
	// metrics and errors).
	Local map[string]NodeClient
	// TxWaitTimeout is how long POST .../txs waits for the commit; 0 means
	// DefaultTxWaitTimeout.
	TxWaitTimeout time.Duration
	// RPCTimeout is the deadline of one RPC call to a node; 0 means DefaultRPCTimeout.
	RPCTimeout time.Duration
	// RequestTimeout is the time limit of a request to a JSON route, after which it is
	// answered 504 request_timeout (POST .../txs has its commit wait on top); 0 means
	// DefaultRequestTimeout.
	RequestTimeout time.Duration
	// MaxBodyBytes bounds a request body (413 tx_too_large beyond); 0 means MaxBodyBytes.
	MaxBodyBytes int64
	// CORSOrigins are the origins ("https://app.example.com", or "*" for any) whose web
	// pages may call the API; none, the default, sends no CORS headers.
	CORSOrigins []string
	// Keys, if set, requires an API key (Authorization: Bearer <key>) on every write
	// request and checks the key of every request that sends one; nil serves without
	// keys.
	Keys *KeyStore
	// RateLimit is the sustained rate, in requests per second, of each API key (0: no
	// limit), RateBurst how many requests a key may send at once (0: twice the rate, at
	// least 1). A key's own limits, if it has any, replace them.
	RateLimit float64
	RateBurst int
	// Logger receives one line per request (see withAccessLog); nil discards them.
	Logger *slog.Logger
}

// Gateway serves the HTTP API. It is safe for concurrent use.
type Gateway struct {
	chains     map[string]*chain
	ids        []string // sorted
	txWait     time.Duration
	rpcTimeout time.Duration
	mux        *routeMux
	handler    http.Handler // mux inside the middleware

	requestTimeout time.Duration
	maxBody        int64
	cors           *corsPolicy // nil: no CORS
	keys           *KeyStore   // nil: no API keys
	limiter        *rateLimiter
	rate           float64
	burst          int
	log            *slog.Logger
	obs            *observer // event streams, metrics and readiness (metrics.go)

	life  context.Context // ends on Close
	close context.CancelFunc
}

// rpcIdleConns is how many idle connections the gateway keeps to each node.
const rpcIdleConns = 128

// New validates cfg and returns a gateway. It does not dial the nodes before it returns;
// for a chain with several nodes it then reads their latest heights every
// FreshnessInterval until Close (see chain.stale).
func New(cfg Config) (*Gateway, error) {
	if len(cfg.Chains) == 0 {
		return nil, errors.New("gateway: no chains configured")
	}
	if cfg.TxWaitTimeout < 0 {
		return nil, fmt.Errorf("gateway: negative TxWaitTimeout %v", cfg.TxWaitTimeout)
	}
	if cfg.RPCTimeout < 0 {
		return nil, fmt.Errorf("gateway: negative RPCTimeout %v", cfg.RPCTimeout)
	}
	if cfg.RequestTimeout < 0 {
		return nil, fmt.Errorf("gateway: negative RequestTimeout %v", cfg.RequestTimeout)
	}
	if cfg.MaxBodyBytes != 0 && cfg.MaxBodyBytes < MinBodyBytes {
		return nil, fmt.Errorf("gateway: MaxBodyBytes %d: expected at least %d (a transaction of the largest size must fit)", cfg.MaxBodyBytes, MinBodyBytes)
	}
	if cfg.RateLimit < 0 || math.IsNaN(cfg.RateLimit) || math.IsInf(cfg.RateLimit, 0) || cfg.RateBurst < 0 {
		return nil, fmt.Errorf("gateway: rate limit %v, burst %d: expected positive numbers or 0", cfg.RateLimit, cfg.RateBurst)
	}
	cors, err := parseCORSOrigins(cfg.CORSOrigins)
	if err != nil {
		return nil, err
	}
	g := &Gateway{
		chains:         map[string]*chain{},
		txWait:         cfg.TxWaitTimeout,
		rpcTimeout:     cfg.RPCTimeout,
		requestTimeout: cfg.RequestTimeout,
		maxBody:        cfg.MaxBodyBytes,
		cors:           cors,
		keys:           cfg.Keys,
		limiter:        newRateLimiter(),
		rate:           cfg.RateLimit,
		burst:          cfg.RateBurst,
		log:            cfg.Logger,
	}
	if g.requestTimeout == 0 {
		g.requestTimeout = DefaultRequestTimeout
	}
	if g.maxBody == 0 {
		g.maxBody = MaxBodyBytes
	}
	if g.burst == 0 {
		g.burst = defaultBurst(g.rate)
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	g.life, g.close = context.WithCancel(context.Background())
	if g.txWait == 0 {
		g.txWait = DefaultTxWaitTimeout
	}
	if g.rpcTimeout == 0 {
		g.rpcTimeout = DefaultRPCTimeout
	}
	for id, urls := range cfg.Chains {
		if err := validChainID(id); err != nil {
			return nil, err
		}
		if len(urls) == 0 {
			return nil, fmt.Errorf("gateway: chain %q has no RPC URLs", id)
		}
		c := &chain{id: id}
		times := newTimeCache()
		floor := &c.floor
		seen := map[string]bool{}
		for _, raw := range urls {
			u, err := checkRPCURL(raw)
			if err != nil {
				return nil, fmt.Errorf("gateway: chain %q: %w", id, err)
			}
			if seen[u] {
				return nil, fmt.Errorf("gateway: chain %q: RPC URL %q listed twice", id, u)
			}
			seen[u] = true
			if lc := localClient(cfg.Local, u); lc != nil {
				c.nodes = append(c.nodes, &rpcNode{url: u, rpc: inProcess{lc}, timeout: g.rpcTimeout, times: times, floor: floor})
				continue
			}
			hc, err := jsonrpcclient.DefaultHTTPClient(u)
			if err != nil {
				return nil, fmt.Errorf("gateway: chain %q: RPC URL %q: %w", id, u, err)
			}
			// CometBFT's client keeps 2 idle connections per host; under load every other
			// request opened a new one (thousands of sockets in TIME-WAIT towards a node).
			if t, ok := hc.Transport.(*http.Transport); ok {
				t.MaxIdleConns = rpcIdleConns
				t.MaxIdleConnsPerHost = rpcIdleConns
				t.IdleConnTimeout = 90 * time.Second
			}
			rc, err := rpchttp.NewWithClient(u, "/websocket", hc)
			if err != nil {
				return nil, fmt.Errorf("gateway: chain %q: RPC URL %q: %w", id, u, err)
			}
			c.nodes = append(c.nodes, &rpcNode{url: u, rpc: rc, hc: hc, timeout: g.rpcTimeout, times: times, floor: floor})
		}
		g.chains[id] = c
		g.ids = append(g.ids, id)
	}
	sort.Strings(g.ids)
	for _, c := range g.chains {
		if len(c.nodes) > 1 {
			go c.watchFreshness(g.life, FreshnessInterval)
		}
	}
	g.obs = newObserver(g) // after the chains: follows each of them (metrics.go)
	g.routes()
	g.handler = g.buildHandler()
	return g, nil
}

// localClient returns the in-process client of the node at URL u (already normalised
// by checkRPCURL), if local has one.
func localClient(local map[string]NodeClient, u string) NodeClient {
	for raw, lc := range local {
		if k, err := checkRPCURL(raw); err == nil && k == u && lc != nil {
			return lc
		}
	}
	return nil
}

func validChainID(id string) error {
	if id == "" || len(id) > 50 {
		return fmt.Errorf("gateway: chain id %q: expected 1-50 characters", id)
	}
	for _, r := range id {
		if r <= ' ' || r == '/' || r > '~' {
			return fmt.Errorf("gateway: chain id %q: unexpected character %q", id, r)
		}
	}
	return nil
}

func checkRPCURL(raw string) (string, error) {
	s := strings.TrimRight(strings.TrimSpace(raw), "/")
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("RPC URL %q: %w", raw, err)
	}
	switch u.Scheme {
	case "http", "https", "tcp":
		if u.Host == "" {
			return "", fmt.Errorf("RPC URL %q: no host", raw)
		}
	case "unix":
		if u.Path == "" && u.Host == "" {
			return "", fmt.Errorf("RPC URL %q: no socket path", raw)
		}
	default:
		return "", fmt.Errorf("RPC URL %q: scheme must be http, https, tcp or unix", raw)
	}
	return s, nil
}

// Handler returns the HTTP handler of the API: the routes inside the middleware (see
// buildHandler).
func (g *Gateway) Handler() http.Handler { return g.handler }

// Close releases the gateway's idle connections and ends the waits of requests in
// flight (they answer 503). The handler keeps working for new requests.
func (g *Gateway) Close() {
	g.close()
	for _, c := range g.chains {
		for _, n := range c.nodes {
			if n.hc != nil {
				n.hc.CloseIdleConnections()
			}
		}
	}
}

// handler is a route: it returns the status and document of a success, or an error.
type handler func(r *http.Request) (int, any, error)

func (g *Gateway) routes() {
	m := newRouteMux()
	m.Handle("GET /healthz", g.wrap(g.health))
	m.Handle("GET /readyz", g.wrap(g.ready))
	m.Handle("GET /metrics", http.HandlerFunc(g.serveMetrics))
	m.Handle("GET /v1/chains/{chain}/events", http.HandlerFunc(g.streamEvents))
	m.Handle("GET /v1/openapi.json", http.HandlerFunc(serveOpenAPI))
	m.Handle("GET /v1/chains", g.wrap(g.listChains))
	m.Handle("POST /v1/chains/{chain}/txs", g.wrapFor(g.submitTx, g.commitWait))
	m.Handle("GET /v1/chains/{chain}/txs/{hash}", g.wrap(g.getTx))
	m.Handle("GET /v1/chains/{chain}/blocks/{height}", g.wrap(g.getBlock))
	m.Handle("GET /v1/chains/{chain}/accounts/{address}", g.wrap(g.getAccount))
	m.Handle("GET /v1/chains/{chain}/evidence/{digest}", g.wrap(g.getEvidence))
	m.Handle("GET /v1/chains/{chain}/accounts/{address}/txs", g.wrap(g.getAccountTxs))
	m.Handle("GET /v1/chains/{chain}/gov/params", g.wrap(g.getGovParams))
	m.Handle("GET /v1/chains/{chain}/consensus-params", g.wrap(g.getConsensusParams))
	m.Handle("GET /v1/chains/{chain}/gov/proposals", g.wrap(g.listProposals))
	m.Handle("GET /v1/chains/{chain}/gov/proposals/{id}", g.wrap(g.getProposal))
	m.Handle("GET /v1/chains/{chain}/credits/params", g.wrap(g.getCreditParams))
	m.Handle("GET /v1/chains/{chain}/credits/balances/{holder}", g.wrap(g.getBalance))
	m.Handle("GET /v1/chains/{chain}/credits/sponsorships/{org}", g.wrap(g.getSponsorship))
	m.Handle("GET /v1/chains/{chain}/credits/statements/{holder}", g.wrap(g.getStatement))
	m.Handle("GET /v1/chains/{chain}/validators", g.wrap(g.getValidators))
	m.Handle("GET /v1/chains/{chain}/orgs", g.wrap(g.getOrgs))
	g.xchainRoutes(m)   // light clients, routes, packets, attestations, messages (xchain.go)
	g.explorerRoutes(m) // the explorer's routes and its web app at / (explorer_api.go)
	g.mux = m
}

func (g *Gateway) serveHTTP(w http.ResponseWriter, r *http.Request) {
	h, pattern := g.mux.Handler(r)
	if pattern != "" {
		g.mux.ServeHTTP(w, r) // sets the path values
		return
	}
	// No route: the mux answers 404, 405 or a redirect to the clean path. Answer the
	// errors as JSON and pass anything else through.
	rec := &recorder{header: http.Header{}}
	h.ServeHTTP(rec, r)
	switch rec.status {
	case http.StatusNotFound:
		writeRequestError(w, r, &apiError{code: errcode.NotFound, msg: fmt.Sprintf("no route %s %s", r.Method, truncate(r.URL.Path, 200))})
	case http.StatusMethodNotAllowed:
		if allow := rec.header.Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		writeRequestError(w, r, &apiError{code: errcode.InvalidRequest, status: http.StatusMethodNotAllowed,
			msg: fmt.Sprintf("method %s is not allowed on %s (allowed: %s)", r.Method, truncate(r.URL.Path, 200), rec.header.Get("Allow"))})
	default:
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.body.Bytes())
	}
}

// recorder captures the mux's own answers.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(s int) {
	if r.status == 0 {
		r.status = s
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if r.body.Len() < 4096 {
		r.body.Write(b)
	}
	return len(b), nil
}

// wrap makes a JSON route of h, answered within the request time limit.
func (g *Gateway) wrap(h handler) http.Handler { return g.wrapFor(h, nil) }

// wrapFor is wrap for a route whose requests may wait longer: extra(r) is added to the
// time limit.
func (g *Gateway) wrapFor(h handler, extra func(r *http.Request) time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := g.requestTimeout
		if extra != nil {
			limit += extra(r)
		}
		parent := r.Context()
		ctx, cancel := context.WithTimeout(parent, limit)
		defer cancel()
		r = r.WithContext(ctx)
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				writeRequestError(w, r, &apiError{code: errcode.Internal, msg: fmt.Sprintf("internal error: %v", p)})
			}
		}()
		status, body, err := h(r)
		if err != nil {
			if errors.Is(ctx.Err(), context.DeadlineExceeded) && parent.Err() == nil {
				err = overTime(err, limit)
			}
			writeRequestError(w, r, err)
			return
		}
		writeJSON(w, status, body)
	})
}

// overTime is the error of a request that reached its time limit: request_timeout, unless
// err says more (a transaction's commit wait that timed out).
func overTime(err error, limit time.Duration) error {
	var e *apiError
	if errors.As(err, &e) && (e.code == errcode.Timeout || e.code == errcode.RequestTimeout) {
		return err
	}
	out := errorf(errcode.RequestTimeout, "the gateway did not finish the request within its time limit of %v", limit)
	if e != nil {
		out.hash = e.hash
	}
	return out
}

// apiError is an error answered as an api.Error.
type apiError struct {
	code   errcode.Code
	msg    string
	hash   string
	status int // 0: code.HTTPStatus()
}

func (e *apiError) Error() string { return e.code.String() + ": " + e.msg }

func errorf(code errcode.Code, format string, args ...any) *apiError {
	return &apiError{code: code, msg: fmt.Sprintf(format, args...)}
}

// writeError answers err as an api.Error and returns its code.
func writeError(w http.ResponseWriter, err error) string {
	var e *apiError
	if !errors.As(err, &e) {
		e = &apiError{code: errcode.Internal, msg: err.Error()}
	}
	status := e.status
	if status == 0 {
		status = e.code.HTTPStatus()
	}
	writeJSON(w, status, api.Error{Code: e.code.String(), Message: e.msg, Hash: e.hash})
	return e.code.String()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(api.Error{Code: errcode.Internal.String(), Message: "encode response: " + err.Error()})
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// chainOf returns the chain named in the request's path.
func (g *Gateway) chainOf(r *http.Request) (*chain, error) {
	id := r.PathValue("chain")
	c, ok := g.chains[id]
	if !ok {
		return nil, errorf(errcode.NotFound, "unknown chain %q; this gateway serves %q", truncate(id, 100), g.ids)
	}
	return c, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
