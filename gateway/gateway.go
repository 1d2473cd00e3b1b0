package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	// MaxBodyBytes bounds a request body.
	MaxBodyBytes = 1 << 20
	// pollInterval is the interval of polls for a commit or a block.
	pollInterval = 75 * time.Millisecond
)

// Config configures a Gateway.
type Config struct {
	// Chains maps a chain id to the RPC URLs of its nodes ("http://127.0.0.1:26657"). The
	// gateway uses the first that answers and fails over to the others.
	Chains map[string][]string
	// TxWaitTimeout is how long POST .../txs waits for the commit; 0 means
	// DefaultTxWaitTimeout.
	TxWaitTimeout time.Duration
	// RPCTimeout is the deadline of one RPC call to a node; 0 means DefaultRPCTimeout.
	RPCTimeout time.Duration
}

// Gateway serves the HTTP API. It is safe for concurrent use.
type Gateway struct {
	chains     map[string]*chain
	ids        []string // sorted
	txWait     time.Duration
	rpcTimeout time.Duration
	mux        *http.ServeMux

	life  context.Context // ends on Close
	close context.CancelFunc
}

// rpcIdleConns is how many idle connections the gateway keeps to each node.
const rpcIdleConns = 128

// New validates cfg and returns a gateway. It does not dial the nodes.
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
	g := &Gateway{
		chains:     map[string]*chain{},
		txWait:     cfg.TxWaitTimeout,
		rpcTimeout: cfg.RPCTimeout,
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
			c.nodes = append(c.nodes, &rpcNode{url: u, rpc: rc, hc: hc, timeout: g.rpcTimeout})
		}
		g.chains[id] = c
		g.ids = append(g.ids, id)
	}
	sort.Strings(g.ids)
	g.routes()
	return g, nil
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

// Handler returns the HTTP handler of the API.
func (g *Gateway) Handler() http.Handler { return http.HandlerFunc(g.serveHTTP) }

// Close releases the gateway's idle connections and ends the waits of requests in
// flight (they answer 503). The handler keeps working for new requests.
func (g *Gateway) Close() {
	g.close()
	for _, c := range g.chains {
		for _, n := range c.nodes {
			n.hc.CloseIdleConnections()
		}
	}
}

// handler is a route: it returns the status and document of a success, or an error.
type handler func(r *http.Request) (int, any, error)

func (g *Gateway) routes() {
	m := http.NewServeMux()
	m.Handle("GET /healthz", g.wrap(g.health))
	m.Handle("GET /v1/chains", g.wrap(g.listChains))
	m.Handle("POST /v1/chains/{chain}/txs", g.wrap(g.submitTx))
	m.Handle("GET /v1/chains/{chain}/txs/{hash}", g.wrap(g.getTx))
	m.Handle("GET /v1/chains/{chain}/blocks/{height}", g.wrap(g.getBlock))
	m.Handle("GET /v1/chains/{chain}/accounts/{address}", g.wrap(g.getAccount))
	m.Handle("GET /v1/chains/{chain}/evidence/{digest}", g.wrap(g.getEvidence))
	m.Handle("GET /v1/chains/{chain}/accounts/{address}/txs", g.wrap(g.getAccountTxs))
	m.Handle("GET /v1/chains/{chain}/gov/params", g.wrap(g.getGovParams))
	m.Handle("GET /v1/chains/{chain}/gov/proposals", g.wrap(g.listProposals))
	m.Handle("GET /v1/chains/{chain}/gov/proposals/{id}", g.wrap(g.getProposal))
	m.Handle("GET /v1/chains/{chain}/credits/params", g.wrap(g.getCreditParams))
	m.Handle("GET /v1/chains/{chain}/credits/balances/{holder}", g.wrap(g.getBalance))
	m.Handle("GET /v1/chains/{chain}/credits/sponsorships/{org}", g.wrap(g.getSponsorship))
	m.Handle("GET /v1/chains/{chain}/credits/statements/{holder}", g.wrap(g.getStatement))
	m.Handle("GET /v1/chains/{chain}/validators", g.wrap(g.getValidators))
	m.Handle("GET /v1/chains/{chain}/orgs", g.wrap(g.getOrgs))
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
		writeError(w, &apiError{code: errcode.NotFound, msg: fmt.Sprintf("no route %s %s", r.Method, truncate(r.URL.Path, 200))})
	case http.StatusMethodNotAllowed:
		if allow := rec.header.Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		writeError(w, &apiError{code: errcode.InvalidRequest, status: http.StatusMethodNotAllowed,
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

func (g *Gateway) wrap(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				writeError(w, &apiError{code: errcode.Internal, msg: fmt.Sprintf("internal error: %v", p)})
			}
		}()
		status, body, err := h(r)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, status, body)
	})
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

// writeError answers err as an api.Error.
func writeError(w http.ResponseWriter, err error) {
	var e *apiError
	if !errors.As(err, &e) {
		e = &apiError{code: errcode.Internal, msg: err.Error()}
	}
	status := e.status
	if status == 0 {
		status = e.code.HTTPStatus()
	}
	writeJSON(w, status, api.Error{Code: e.code.String(), Message: e.msg, Hash: e.hash})
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
