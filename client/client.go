package client

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules/evidence"
	"github.com/lianchain/lian/txs"
)

// Timeouts and limits of the HTTP client New builds.
const (
	// DefaultTimeout bounds one request, response included. Submitting a transaction with
	// wait can take as long as the gateway's commit wait (30 s or more).
	DefaultTimeout = 2 * time.Minute
	// MaxResponseBytes bounds a response body read from the gateway.
	MaxResponseBytes = 32 << 20
)

// Client is a client of one Lian gateway. It is safe for concurrent use.
type Client struct {
	base string
	hc   *http.Client
}

// APIKeyEnv is the environment variable New takes an API key from.
const APIKeyEnv = "LIAN_API_KEY"

// Option configures a Client.
type Option func(*Client)

// WithAPIKey makes the client send a platform API key (Authorization: Bearer <key>) with
// every request to the gateway: a gateway run with --auth refuses writes without one, and
// attributes and rate-limits the requests that carry one. An empty key sends none.
func WithAPIKey(key string) Option {
	return func(c *Client) {
		key = strings.TrimSpace(key)
		if key == "" {
			return
		}
		hc := *c.hc
		base := hc.Transport
		if t, ok := base.(*apiKeyTransport); ok {
			base = t.base // a later key replaces an earlier one
		}
		if base == nil {
			base = http.DefaultTransport
		}
		host := ""
		if u, err := url.Parse(c.base); err == nil {
			host = u.Host
		}
		hc.Transport = &apiKeyTransport{base: base, key: key, host: host}
		c.hc = &hc
	}
}

// apiKeyTransport adds the API key to the requests to the gateway's host (never to a
// host a redirect leads to).
type apiKeyTransport struct {
	base http.RoundTripper
	key  string
	host string
}

func (t *apiKeyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != t.host || req.Header.Get("Authorization") != "" {
		return t.base.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+t.key)
	return t.base.RoundTrip(r)
}

// New returns a client of the gateway at gatewayURL (e.g. "http://127.0.0.1:8700"), with
// an HTTP client of sane timeouts: 10 s to connect, DefaultTimeout per request. It sends
// the API key in $LIAN_API_KEY, if set, unless an option gives another.
func New(gatewayURL string, opts ...Option) *Client {
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   16,
		ForceAttemptHTTP2:     true,
	}
	opts = append([]Option{WithAPIKey(os.Getenv(APIKeyEnv))}, opts...)
	return NewWithHTTPClient(gatewayURL, &http.Client{Transport: tr, Timeout: DefaultTimeout}, opts...)
}

// NewWithHTTPClient returns a client of the gateway at gatewayURL that sends its requests
// with hc (which it does not change).
func NewWithHTTPClient(gatewayURL string, hc *http.Client, opts ...Option) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	c := &Client{base: strings.TrimRight(gatewayURL, "/"), hc: hc}
	for _, o := range opts {
		o(c)
	}
	return c
}

// URL returns the gateway URL the client talks to.
func (c *Client) URL() string { return c.base }

// Error is an error answered by the gateway (an api.Error body), or a transaction result
// with a non-zero code.
type Error struct {
	// Status is the HTTP status of the response (200 for a transaction result with a
	// non-zero code).
	Status int
	// Code is the stable name of the error code, e.g. "bad_nonce" (see package errcode).
	Code string
	// Message explains the error.
	Message string
	// Hash is the transaction hash when the error concerns a submitted transaction.
	Hash string
}

// Error returns "code: message", followed by the transaction hash if there is one.
func (e *Error) Error() string {
	s := e.Code + ": " + e.Message
	if e.Hash != "" {
		s += " (tx " + e.Hash + ")"
	}
	return s
}

// ErrCode returns the errcode.Code of Code, or errcode.Internal for a name this version
// does not know.
func (e *Error) ErrCode() errcode.Code {
	if c, ok := errcode.FromName(e.Code); ok {
		return c
	}
	return errcode.Internal
}

// Is makes errors.Is(err, &client.Error{Code: "not_found"}) match any *Error of that code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && (t.Message == "" || t.Message == e.Message)
}

// Health returns the gateway's health (GET /healthz). A degraded gateway (HTTP 503 with
// a Health body) is not an error: check Health.Status.
func (c *Client) Health(ctx context.Context) (*api.Health, error) {
	status, body, err := c.roundTrip(ctx, http.MethodGet, "/healthz", nil, nil)
	if err != nil {
		return nil, err
	}
	var h api.Health
	if status == http.StatusOK || status == http.StatusServiceUnavailable {
		if json.Unmarshal(body, &h) == nil && h.Status != "" {
			return &h, nil
		}
	}
	if status/100 != 2 {
		return nil, errorFromResponse(status, body)
	}
	return nil, &Error{Status: status, Code: errcode.Internal.String(), Message: "gateway health: malformed response: " + snippet(body)}
}

// Chains lists the chains the gateway serves (GET /v1/chains).
func (c *Client) Chains(ctx context.Context) (*api.Chains, error) {
	var out api.Chains
	if err := c.do(ctx, http.MethodGet, "/v1/chains", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// BroadcastTx submits an encoded transaction (POST /v1/chains/{chain}/txs). With wait, the
// gateway answers once the transaction is committed (or its wait times out: an *Error
// with code "timeout" and the hash); without, once the mempool admitted it (Height 0).
//
// A transaction the chain refused is an *Error with the refusal's code. A transaction
// checked or committed with a non-zero code is returned with an *Error of that code.
func (c *Client) BroadcastTx(ctx context.Context, chain string, tx []byte, wait bool) (*api.TxResult, error) {
	p, err := chainPath(chain, "txs")
	if err != nil {
		return nil, err
	}
	if len(tx) == 0 {
		return nil, errcode.New(errcode.InvalidRequest, "broadcast: empty transaction")
	}
	q := url.Values{"wait": {strconv.FormatBool(wait)}}
	var res api.TxResult
	if err := c.do(ctx, http.MethodPost, p, q, api.SubmitTx{Tx: tx}, &res); err != nil {
		return nil, err
	}
	want := txs.HashOf(tx).String()
	if res.Hash == "" {
		res.Hash = want
	} else if !strings.EqualFold(res.Hash, want) {
		return &res, &Error{Status: http.StatusOK, Code: errcode.Internal.String(), Hash: want,
			Message: fmt.Sprintf("gateway answered for tx %s, but the submitted tx is %s", res.Hash, want)}
	}
	if err := ResultError(&res); err != nil {
		return &res, err
	}
	return &res, nil
}

// ResultError returns nil for a successful transaction result, or an *Error carrying the
// result's code name, log and hash.
func ResultError(res *api.TxResult) error {
	if res == nil || res.Code == 0 {
		return nil
	}
	name := res.CodeName
	if name == "" {
		if res.Codespace == "" || res.Codespace == errcode.Codespace {
			name = errcode.Code(res.Code).String()
		} else {
			name = fmt.Sprintf("%s_%d", res.Codespace, res.Code)
		}
	}
	msg := res.Log
	if msg == "" {
		msg = fmt.Sprintf("transaction failed with code %d", res.Code)
	}
	return &Error{Status: http.StatusOK, Code: name, Message: msg, Hash: res.Hash}
}

// Tx returns a transaction's result and decoded body (GET /v1/chains/{chain}/txs/{hash}).
// hash is 64 hex digits, with or without 0x.
func (c *Client) Tx(ctx context.Context, chain, hash string) (*api.TxResult, error) {
	h, err := txs.ParseHash(hash)
	if err != nil {
		return nil, err
	}
	p, err := chainPath(chain, "txs", h.String())
	if err != nil {
		return nil, err
	}
	var res api.TxResult
	if err := c.do(ctx, http.MethodGet, p, nil, nil, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// Block returns a block (GET /v1/chains/{chain}/blocks/{height}); height 0 asks for the
// latest block.
func (c *Client) Block(ctx context.Context, chain string, height int64) (*api.Block, error) {
	if height < 0 {
		return nil, errcode.New(errcode.InvalidRequest, "block height %d: expected 0 (latest) or a positive height", height)
	}
	h := "latest"
	if height > 0 {
		h = strconv.FormatInt(height, 10)
	}
	p, err := chainPath(chain, "blocks", h)
	if err != nil {
		return nil, err
	}
	var out api.Block
	if err := c.do(ctx, http.MethodGet, p, nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Account returns a registered account and its next nonce
// (GET /v1/chains/{chain}/accounts/{address}).
func (c *Client) Account(ctx context.Context, chain string, addr crypto.Address) (*api.Account, error) {
	if addr.IsZero() {
		return nil, errcode.New(errcode.InvalidRequest, "account: zero address")
	}
	p, err := chainPath(chain, "accounts", addr.String())
	if err != nil {
		return nil, err
	}
	var out api.Account
	if err := c.do(ctx, http.MethodGet, p, nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Evidence returns the evidence record of a 32-byte digest
// (GET /v1/chains/{chain}/evidence/{hex digest}), with its proof if prove is set. Check
// the proof with VerifyEvidence: the gateway is not trusted for it.
func (c *Client) Evidence(ctx context.Context, chain string, digest []byte, prove bool) (*api.Evidence, error) {
	if len(digest) != evidence.DigestLen {
		return nil, errcode.New(errcode.InvalidRequest, "evidence digest is %d bytes, expected %d", len(digest), evidence.DigestLen)
	}
	p, err := chainPath(chain, "evidence", strings.ToUpper(hex.EncodeToString(digest)))
	if err != nil {
		return nil, err
	}
	var q url.Values
	if prove {
		q = url.Values{"prove": {"true"}}
	}
	var out api.Evidence
	if err := c.do(ctx, http.MethodGet, p, q, nil, &out); err != nil {
		return nil, err
	}
	if prove && out.Proof == nil {
		return &out, &Error{Status: http.StatusOK, Code: errcode.Internal.String(), Message: "gateway returned no proof although one was asked for"}
	}
	return &out, nil
}

// chainPath returns /v1/chains/{chain}/{segments...}, each segment escaped.
func chainPath(chain string, segments ...string) (string, error) {
	if chain == "" {
		return "", errcode.New(errcode.InvalidRequest, "no chain id given")
	}
	var b strings.Builder
	b.WriteString("/v1/chains/")
	b.WriteString(url.PathEscape(chain))
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String(), nil
}

// do sends a request with an optional JSON body and decodes a 2xx answer into out; any
// other answer becomes an *Error.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, in, out any) error {
	status, body, err := c.roundTrip(ctx, method, path, q, in)
	if err != nil {
		return err
	}
	if status/100 != 2 {
		return errorFromResponse(status, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return &Error{Status: status, Code: errcode.Internal.String(),
			Message: fmt.Sprintf("%s %s: malformed response: %v", method, path, err)}
	}
	return nil
}

// roundTrip sends one request and reads the whole (bounded) response.
func (c *Client) roundTrip(ctx context.Context, method, path string, q url.Values, in any) (int, []byte, error) {
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, nil, fmt.Errorf("%s %s: encode request: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, u, err)
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("gateway %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: read response: %w", method, u, err)
	}
	if len(body) > MaxResponseBytes {
		return 0, nil, fmt.Errorf("%s %s: response larger than %d bytes", method, u, MaxResponseBytes)
	}
	return resp.StatusCode, body, nil
}

// errorFromResponse maps a non-2xx answer to an *Error: the api.Error body when there is
// one, else a code derived from the status.
func errorFromResponse(status int, body []byte) error {
	var ae api.Error
	if err := json.Unmarshal(body, &ae); err == nil && ae.Code != "" {
		return &Error{Status: status, Code: ae.Code, Message: ae.Message, Hash: ae.Hash}
	}
	var code errcode.Code
	switch {
	case status == http.StatusNotFound:
		code = errcode.NotFound
	case status == http.StatusRequestEntityTooLarge:
		code = errcode.TxTooLarge
	case status == http.StatusBadGateway, status == http.StatusServiceUnavailable, status == http.StatusGatewayTimeout:
		code = errcode.Unavailable
	case status/100 == 4:
		code = errcode.InvalidRequest
	default:
		code = errcode.Internal
	}
	msg := fmt.Sprintf("HTTP %d %s", status, http.StatusText(status))
	if s := snippet(body); s != "" {
		msg += ": " + s
	}
	return &Error{Status: status, Code: code.String(), Message: msg}
}

// snippet returns the start of a body for an error message.
func snippet(b []byte) string {
	const max = 200
	s := strings.TrimSpace(string(b))
	if len(s) > max {
		s = s[:max] + "..."
	}
	return s
}

// AsError returns err as an *Error if it is one (or wraps one).
func AsError(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}
