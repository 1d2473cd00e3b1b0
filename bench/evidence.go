package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/lianchain/lian/client"
	"github.com/lianchain/lian/crypto"
)

// EvidenceOptions configure Evidence.
type EvidenceOptions struct {
	// Gateway is the gateway's URL, e.g. "http://127.0.0.1:8700".
	Gateway string
	// Chain is the chain to drive.
	Chain string
	// Keys is the keystore; From names the key of an organisation admin on Chain, who
	// registers the bench accounts.
	Keys *crypto.Keystore
	From string
	// Duration, Warmup and Window as in Config; Concurrency is the number of workers
	// (accounts), default DefaultConcurrency.
	Duration    time.Duration
	Warmup      time.Duration
	Concurrency int
	Window      int
	// Progress, if not nil, receives progress lines.
	Progress io.Writer
}

// Evidence drives a running network through its gateway: it registers Concurrency fresh
// accounts with the admin key From, then anchors digests from all of them as Run does,
// and returns what it measured.
func Evidence(ctx context.Context, opts EvidenceOptions) (*Result, error) {
	switch {
	case opts.Gateway == "":
		return nil, errors.New("bench evidence: no gateway URL")
	case opts.Chain == "":
		return nil, errors.New("bench evidence: no chain")
	case opts.Keys == nil:
		return nil, errors.New("bench evidence: no keystore")
	}
	if opts.Concurrency == 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.Concurrency < 1 {
		return nil, fmt.Errorf("bench evidence: concurrency %d: expected at least 1", opts.Concurrency)
	}
	admin, err := opts.Keys.Signer(opts.From)
	if err != nil {
		return nil, fmt.Errorf("bench evidence: %w", err)
	}
	hc := NewHTTPClient(opts.Concurrency + 8)
	defer hc.CloseIdleConnections()
	tr := NewGatewayTransport(client.NewWithHTTPClient(opts.Gateway, hc), opts.Chain)
	progress := func(format string, args ...any) {
		if opts.Progress != nil {
			fmt.Fprintf(opts.Progress, format+"\n", args...)
		}
	}
	progress("registering %d accounts on %s with key %q", opts.Concurrency, opts.Chain, opts.From)
	keys, err := RegisterAccounts(ctx, tr, opts.Chain, admin, opts.Concurrency)
	if err != nil {
		return nil, fmt.Errorf("bench evidence: %w", err)
	}
	srcs := make([]TxSource, len(keys))
	for i, k := range keys {
		srcs[i] = NewAnchorSource(tr, opts.Chain, k)
	}
	progress("driving %d workers for %v", len(srcs), durationOr(opts.Duration, DefaultDuration))
	return Run(ctx, Config{
		Label:      opts.Chain,
		Transports: []Transport{tr},
		Sources:    srcs,
		Duration:   opts.Duration,
		Warmup:     opts.Warmup,
		Window:     opts.Window,
		Progress:   opts.Progress,
	})
}
