package localnet

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	rpcclient "github.com/cometbft/cometbft/rpc/client"
	rpclocal "github.com/cometbft/cometbft/rpc/client/local"

	"github.com/lianchain/lian/client"
	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules/identity"
	"github.com/lianchain/lian/relayer"
	"github.com/lianchain/lian/txs"
)

// Endpoint returns an in-process RPC client of the first node of a chain, or nil if
// the network has no such chain.
func (n *Network) Endpoint(chainID string) relayer.Endpoint {
	for _, c := range n.chains {
		if c.ID == chainID {
			return rpclocal.New(c.Nodes[0].Node.CometNode())
		}
	}
	return nil
}

// Paths returns a path between every pair of the network's chains.
func (n *Network) Paths() []relayer.Path {
	var out []relayer.Path
	for i, a := range n.chains {
		for _, b := range n.chains[i+1:] {
			out = append(out, relayer.Path{A: a.ID, B: b.ID})
		}
	}
	return out
}

// Keys opens the network's keystore (<home>/keys).
func (n *Network) Keys() (*crypto.Keystore, error) {
	return crypto.OpenKeystore(filepath.Join(n.opts.Home, "keys"))
}

// RelayerChains returns every chain of the network for a relayer signing with the key
// named keyName of the network's keystore, reached in process.
func (n *Network) RelayerChains(keyName string) ([]*relayer.Chain, error) {
	ks, err := n.Keys()
	if err != nil {
		return nil, err
	}
	key, err := ks.Signer(keyName)
	if err != nil {
		return nil, fmt.Errorf("localnet: relayer key: %w", err)
	}
	var out []*relayer.Chain
	for _, c := range n.chains {
		rc, err := relayer.NewChain(c.ID, n.Endpoint(c.ID), key)
		if err != nil {
			return nil, err
		}
		out = append(out, rc)
	}
	return out, nil
}

// NewRelayer returns a relayer of every path of the network, signing with the key
// named keyName.
func (n *Network) NewRelayer(keyName string, opts relayer.Options) (*relayer.Relayer, error) {
	chains, err := n.RelayerChains(keyName)
	if err != nil {
		return nil, err
	}
	return relayer.New(chains, n.Paths(), opts)
}

// adminKeys returns the private keys of every organisation admin written on first
// start: demo (org1), org2-admin … and the regulator.
func (n *Network) adminKeys() ([]crypto.PrivKey, error) {
	ks, err := n.Keys()
	if err != nil {
		return nil, err
	}
	names := []string{DemoKey}
	for i := 2; i <= n.opts.Validators; i++ {
		names = append(names, OrgAdminKey(i))
	}
	names = append(names, RegulatorKey)
	var out []crypto.PrivKey
	for _, name := range names {
		k, err := ks.Signer(name)
		if err != nil {
			return nil, fmt.Errorf("localnet: admin key: %w", err)
		}
		out = append(out, k)
	}
	return out, nil
}

// setupPaths makes, through governance, a light client and the default routes on each
// chain for every other chain, keeping what exists.
func (n *Network) setupPaths(ctx context.Context) error {
	start := time.Now()
	admins, err := n.adminKeys()
	if err != nil {
		return err
	}
	var chains []relayer.SetupChain
	for _, c := range n.chains {
		chains = append(chains, relayer.SetupChain{ID: c.ID, RPC: n.Endpoint(c.ID), Admins: admins})
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := n.ensureRelayerAccounts(ctx); err != nil {
		return err
	}
	if err := relayer.SetupPaths(ctx, chains, n.Paths(), relayer.SetupOptions{MaxClockDrift: n.maxClockDrift()}); err != nil {
		return fmt.Errorf("localnet: cross-chain paths: %w", err)
	}
	n.pathsSetup = time.Since(start)
	return nil
}

// maxClockDrift is the max clock drift of the light clients the network makes:
// Options.MaxClockDrift, or by default the clock skew allowed plus the longest its
// chains' block times can lag the clock (the empty-block interval of an idle chain,
// or the commit timeout when empty blocks are made back to back; see
// relayer.DefaultMaxClockDrift).
func (n *Network) maxClockDrift() time.Duration {
	if n.opts.MaxClockDrift > 0 {
		return n.opts.MaxClockDrift
	}
	var lag time.Duration
	for _, c := range n.chains {
		cs := c.Nodes[0].Node.Config().Consensus
		lag = max(lag, cs.CreateEmptyBlocksInterval, cs.TimeoutCommit)
	}
	return relayer.DefaultClockSkew + lag
}

// ensureRelayerAccounts registers the relayer key's account on every chain whose
// genesis does not have it (a home written before lian up made one, or a relayer key
// replaced since): demo, org1's admin and the operator, registers it with the relayer
// role and buys it credits.
func (n *Network) ensureRelayerAccounts(ctx context.Context) error {
	ks, err := n.Keys()
	if err != nil {
		return err
	}
	rel, err := ks.Get(RelayerKey)
	if err != nil {
		return fmt.Errorf("localnet: relayer key: %w", err)
	}
	pub, err := crypto.PubKeyFromBytes(rel.Algo, rel.PubKey)
	if err != nil {
		return fmt.Errorf("localnet: relayer key: %w", err)
	}
	demo, err := ks.Signer(DemoKey)
	if err != nil {
		return fmt.Errorf("localnet: %w", err)
	}
	for _, c := range n.chains {
		ep := n.Endpoint(c.ID)
		res, err := ep.ABCIQueryWithOptions(ctx, "/identity/"+identity.QueryAccount, rel.Address.Bytes(), rpcclient.ABCIQueryOptions{})
		if err != nil {
			return fmt.Errorf("localnet: %s: relayer account: %w", c.ID, err)
		}
		if res.Response.Code == 0 {
			continue
		}
		if errcode.Code(res.Response.Code) != errcode.NotFound {
			return fmt.Errorf("localnet: %s: relayer account: %s", c.ID, res.Response.Log)
		}
		idHash, err := client.IdentityHash("sha256", []byte("lian up relayer "+rel.Address.String()))
		if err != nil {
			return err
		}
		reg, err := client.NewRegisterAccount(pub, idHash, identity.RoleRelayer)
		if err != nil {
			return err
		}
		top, err := client.NewTopUp(rel.Address.String(), "CNY", relayerTopUp, "LIAN-UP-RELAYER-"+rel.Address.String()[2:14], "lian up")
		if err != nil {
			return err
		}
		admin, err := relayer.NewChain(c.ID, ep, demo)
		if err != nil {
			return err
		}
		if _, err := admin.SubmitAndWait(ctx, []txs.Msg{reg, top}); err != nil {
			return fmt.Errorf("localnet: %s: register the relayer account: %w", c.ID, err)
		}
	}
	return nil
}

// relayerTopUp is what a relayer account registered after genesis is bought, in fen
// (100,000 CNY: the genesis accounts' starting credits).
const relayerTopUp = 10_000_000

// PathsSetupTime is how long setting up the cross-chain paths took at start.
func (n *Network) PathsSetupTime() time.Duration { return n.pathsSetup }

// startRelayer runs the relayer of every path in process, signing with RelayerKey.
func (n *Network) startRelayer() error {
	opts := n.opts.Relayer
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(n.logFile, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	r, err := n.NewRelayer(RelayerKey, opts)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.relayer, n.stopRelayer, n.relayerDone = r, cancel, make(chan struct{})
	go func() {
		defer close(n.relayerDone)
		if err := r.Run(ctx); err != nil {
			opts.Logger.Error("relayer stopped", "err", err)
		}
	}()
	// The ready line says the relayer runs: wait until it follows the chains (it has
	// read their heads and what was pending), a fraction of a second on loopback.
	select {
	case <-r.Ready():
	case <-n.relayerDone:
	case <-time.After(relayerReadyWait):
		opts.Logger.Warn("the relayer is not following the chains yet; it keeps trying", "after", relayerReadyWait)
	}
	return nil
}

// relayerReadyWait bounds how long the start waits for the relayer to follow the chains.
const relayerReadyWait = 10 * time.Second

// Relayer returns the relayer running in process, or nil.
func (n *Network) Relayer() *relayer.Relayer { return n.relayer }

// StopRelayer stops the relayer running in process, if any, and waits for it.
func (n *Network) StopRelayer() {
	if n.stopRelayer == nil {
		return
	}
	n.stopRelayer()
	<-n.relayerDone
	n.stopRelayer, n.relayer = nil, nil
}
