// Package examplenet starts the local network the examples' tests run against: one
// chain of one validator and the gateway, in process, in a temporary home laid out as
// `lian up` lays out its home (keys/demo is an org1 admin and the network's operator,
// trust/<chain>.json pins the genesis validators).
package examplenet

import (
	"context"
	"testing"
	"time"

	"github.com/lianchain/lian/localnet"
)

// Chain is the id of the chain Start runs.
const Chain = "example-1"

// Net is a running example network.
type Net struct {
	Home    string // the home directory: keys in Home/keys, trust files in Home/trust
	Gateway string // the gateway's URL
	Chain   string
}

// Start starts the network for t and stops it when t ends. It skips t in -short mode.
func Start(t testing.TB) *Net {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a chain")
	}
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	n, err := localnet.Start(ctx, localnet.Options{Home: home, Chains: []string{Chain}, Validators: 1, Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatalf("start the example network: %v", err)
	}
	t.Cleanup(func() {
		if err := n.Stop(); err != nil {
			t.Errorf("stop the example network: %v", err)
		}
	})
	return &Net{Home: home, Gateway: n.GatewayURL(), Chain: Chain}
}

// Args returns the flags every example takes, for this network.
func (n *Net) Args(extra ...string) []string {
	return append([]string{"-gateway", n.Gateway, "-home", n.Home, "-chain", n.Chain}, extra...)
}
