// Package localnet runs a whole Lian service network in one process: several chains,
// each a BFT network of validators that are separate CometBFT nodes (own keys, ports and
// databases under the home directory), and the gateway in front of them. It is what
// `lian up` runs. The first start writes every chain's genesis (organisations org1…orgN,
// one validator each) and a key "demo", an org1 admin on every chain; later starts
// resume every chain at its last height.
package localnet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	cmtbytes "github.com/cometbft/cometbft/libs/bytes"
	cmtlog "github.com/cometbft/cometbft/libs/log"
	rpclocal "github.com/cometbft/cometbft/rpc/client/local"

	"github.com/lianchain/lian/app"
	"github.com/lianchain/lian/client"
	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/gateway"
	"github.com/lianchain/lian/modules/identity"
	"github.com/lianchain/lian/node"
	"github.com/lianchain/lian/relayer"
)

// DefaultChains are the chains `lian up` starts when none are named.
var DefaultChains = []string{"beijing-1", "guangzhou-1"}

// DemoKey is the name of the key written on first start: an org1 admin and the
// network's operator on every chain.
const DemoKey = "demo"

// RegulatorKey is the name of the key of the regulator account written on first start
// (an admin of organisation "regulator", with the regulator role).
const RegulatorKey = "regulator"

// RelayerKey is the name of the key of the relayer account written on first start: an
// account of org1 with the relayer role on every chain, which the relayer `lian up`
// runs signs with.
const RelayerKey = "relayer"

// OrgAdminKey is the name of the key of organisation i's admin (i ≥ 2; org1's is
// DemoKey), written on first start.
func OrgAdminKey(i int) string { return fmt.Sprintf("org%d-admin", i) }

func getOrCreate(ks *crypto.Keystore, name string) (crypto.Key, error) {
	return getOrCreateAlgo(ks, name, crypto.SM2)
}

func getOrCreateAlgo(ks *crypto.Keystore, name string, algo crypto.Algo) (crypto.Key, error) {
	k, err := ks.Get(name)
	if errors.Is(err, crypto.ErrKeyNotFound) {
		k, err = ks.Create(name, algo)
	}
	if err != nil {
		return crypto.Key{}, fmt.Errorf("localnet: key %s: %w", name, err)
	}
	return k, nil
}

// Options configure a local network.
type Options struct {
	Home       string   // data directory
	Chains     []string // chain ids; default DefaultChains
	Validators int      // validators per chain; default 4
	Listen     string   // gateway address; default 127.0.0.1:8700; port 0 picks one
	LogLevel   string   // CometBFT log level: error (default), info, debug, none
	Tuning     node.Tuning
	// Gateway configures the gateway (API keys, CORS, limits); Start fills in its
	// chains, and its Logger, when nil, writes the request log to <home>/lian.log.
	Gateway gateway.Config
	// NoRelayer starts no relayer in process (the paths between the chains are set up
	// all the same).
	NoRelayer bool
	// Relayer tunes the relayer run in process; its Logger, when nil, writes to
	// <home>/lian.log.
	Relayer relayer.Options
	// MaxClockDrift is the max clock drift of the light clients the first start
	// creates; 0 selects relayer.DefaultClockSkew plus the longest its chains' block
	// times can lag the clock (see Network's maxClockDrift).
	MaxClockDrift time.Duration
	// GatewayOverRPC makes the gateway call the nodes over their JSON-RPC (HTTP), as a
	// gateway in another process does. By default it calls them in process (CometBFT's
	// rpc/client/local): no HTTP, no JSON between the gateway and the nodes.
	GatewayOverRPC bool
}

// Network is a running local network.
type Network struct {
	opts       Options
	chains     []*Chain
	nodes      []*Node // every started node, in start order
	srv        *http.Server
	gw         *gateway.Gateway
	gatewayURL string
	logFile    *os.File

	relayer     *relayer.Relayer
	stopRelayer context.CancelFunc
	relayerDone chan struct{}
	pathsSetup  time.Duration
}

// Chain is one chain of the network.
type Chain struct {
	ID    string
	Nodes []*Node
}

// Node is one validator node with its application.
type Node struct {
	Home string
	Node *node.Node
	App  *app.App
}

// manifest records what a home holds, so a restart with other flags is caught.
type manifest struct {
	Chains     []string `json:"chains"`
	Validators int      `json:"validators"`
}

func (o *Options) defaults() error {
	if o.Home == "" {
		return errors.New("localnet: no home directory")
	}
	if len(o.Chains) == 0 {
		o.Chains = DefaultChains
	}
	if o.Validators == 0 {
		o.Validators = 4
	}
	if o.Validators < 1 || o.Validators > 64 {
		return fmt.Errorf("localnet: %d validators: expected 1 to 64", o.Validators)
	}
	if o.Listen == "" {
		o.Listen = "127.0.0.1:8700"
	}
	if o.LogLevel == "" {
		o.LogLevel = "error"
	}
	seen := map[string]bool{}
	for _, c := range o.Chains {
		if err := validateChainID(c); err != nil {
			return err
		}
		if seen[c] {
			return fmt.Errorf("localnet: chain %q named twice", c)
		}
		seen[c] = true
	}
	return nil
}

func validateChainID(id string) error {
	if id == "" || len(id) > 50 {
		return fmt.Errorf("chain id %q: expected 1-50 characters", id)
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("chain id %q: expected characters a-z, 0-9, '-', '_', '.'", id)
		}
	}
	return nil
}

// Start initialises the home if needed and starts every chain and the gateway. It
// returns when every chain has committed a block, or with an error (nothing left running).
//
// The ports of a chain it initialises are picked free (node.FreePorts), and another
// process may bind one before the node does (parallel test packages do). A chain
// initialised by this call whose node finds its port taken is initialised again,
// with other ports, up to startAttempts times in all.
func Start(ctx context.Context, opts Options) (*Network, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.Home, 0o700); err != nil {
		return nil, fmt.Errorf("localnet: %w", err)
	}
	var fresh []string // chains this call initialised
	for attempt := 1; ; attempt++ {
		inited, err := prepare(&opts)
		if err != nil {
			return nil, err
		}
		fresh = append(fresh, inited...)
		n, err := start(ctx, opts)
		var pt *portTakenError
		if err == nil || attempt == startAttempts || !errors.As(err, &pt) || !slices.Contains(fresh, pt.chain) {
			return n, err
		}
		if rerr := os.RemoveAll(chainDir(opts.Home, pt.chain)); rerr != nil {
			return nil, errors.Join(err, rerr)
		}
	}
}

// startAttempts bounds the starts of Start (see there).
const startAttempts = 3

// portTakenError is a node of chain failing to start because another process bound
// one of its ports.
type portTakenError struct {
	chain string
	err   error
}

func (e *portTakenError) Error() string {
	return fmt.Sprintf("localnet: chain %s: a port of its node is taken by another process: %v", e.chain, e.err)
}

func (e *portTakenError) Unwrap() error { return e.err }

// initNetwork is node.InitNetwork; tests replace it.
var initNetwork = node.InitNetwork

// start starts the network of a prepared home.
func start(ctx context.Context, opts Options) (_ *Network, err error) {
	n := &Network{opts: opts}
	defer func() {
		if err != nil {
			n.Stop()
		}
	}()
	logFile, err := os.OpenFile(filepath.Join(opts.Home, "lian.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("localnet: open log: %w", err)
	}
	n.logFile = logFile
	for _, id := range opts.Chains {
		c, err := n.startChain(id)
		if err != nil {
			return nil, err
		}
		n.chains = append(n.chains, c)
	}
	if err := n.startGateway(); err != nil {
		return nil, err
	}
	for _, c := range n.chains {
		for _, nd := range c.Nodes {
			if err := nd.Node.WaitReady(ctx); err != nil {
				return nil, fmt.Errorf("localnet: chain %s: %w", c.ID, err)
			}
		}
	}
	if len(n.chains) >= 2 {
		if err := n.setupPaths(ctx); err != nil {
			return nil, err
		}
		if !opts.NoRelayer {
			if err := n.startRelayer(); err != nil {
				return nil, err
			}
		}
	}
	return n, nil
}

// prepare writes what a fresh home lacks: the demo key, and every chain not yet
// initialised. It returns the chains it initialised.
func prepare(o *Options) ([]string, error) {
	mpath := filepath.Join(o.Home, "network.json")
	var m manifest
	if b, err := os.ReadFile(mpath); err == nil {
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("localnet: %s: %w", mpath, err)
		}
		if m.Validators != o.Validators {
			return nil, fmt.Errorf("localnet: home %s holds chains of %d validators, not %d; use another --home", o.Home, m.Validators, o.Validators)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("localnet: %w", err)
	}
	ks, err := crypto.OpenKeystore(filepath.Join(o.Home, "keys"))
	if err != nil {
		return nil, err
	}
	demo, err := getOrCreate(ks, DemoKey)
	if err != nil {
		return nil, err
	}
	regulator, err := getOrCreate(ks, RegulatorKey)
	if err != nil {
		return nil, err
	}
	rel, err := getOrCreateAlgo(ks, RelayerKey, crypto.Ed25519)
	if err != nil {
		return nil, err
	}
	// The other organisations' admins, so that governance can be tried locally.
	admins := []crypto.Key{demo}
	for i := 2; i <= o.Validators; i++ {
		k, err := getOrCreate(ks, OrgAdminKey(i))
		if err != nil {
			return nil, err
		}
		admins = append(admins, k)
	}
	var inited []string
	for _, id := range o.Chains {
		dir := chainDir(o.Home, id)
		if _, err := os.Stat(filepath.Join(dir, "node0")); err == nil {
			continue
		}
		_, err := initNetwork(node.NetworkSpec{
			ChainID:    id,
			Dir:        dir,
			Validators: o.Validators,
			Tuning:     o.Tuning,
			AppState: func(vals []node.ValidatorInfo) (json.RawMessage, error) {
				return GenesisWithAdmins(vals, admins, GenesisOptions{Operator: true, Regulator: &regulator, Relayer: &rel})
			},
		})
		if err != nil {
			return nil, fmt.Errorf("localnet: init chain %s: %w", id, err)
		}
		if err := saveTrust(o.Home, filepath.Join(dir, "node0")); err != nil {
			return nil, err
		}
		inited = append(inited, id)
		if !slices.Contains(m.Chains, id) {
			m.Chains = append(m.Chains, id)
		}
	}
	m.Validators = o.Validators
	b, _ := json.MarshalIndent(m, "", "  ")
	return inited, os.WriteFile(mpath, b, 0o600)
}

// StartingCredits are the gas credits every genesis account starts with (100,000 CNY
// at the default price).
const StartingCredits = 10_000_000_000

// RegulatorOrg is the organisation lian up creates for the regulator account.
const RegulatorOrg = "regulator"

// GenesisOptions are the genesis extras beyond organisations and their admins.
type GenesisOptions struct {
	// Operator gives the first admin the operator role (it may sell credits).
	Operator bool
	// Regulator, if set, is an account with the regulator role in an organisation
	// "regulator" that runs no validator.
	Regulator *crypto.Key
	// Relayer, if set, is an account of the first organisation with the relayer role.
	Relayer *crypto.Key
}

// GenesisWithAdmins returns the app state of a chain whose validators are run by
// organisations org1…orgN, with an admin key for each of the first len(admins)
// organisations (admins[i] administers org i+1). Every genesis account starts with
// StartingCredits.
func GenesisWithAdmins(vals []node.ValidatorInfo, admins []crypto.Key, opts GenesisOptions) (json.RawMessage, error) {
	if len(admins) > len(vals) {
		return nil, fmt.Errorf("genesis: %d admin keys for %d organisations", len(admins), len(vals))
	}
	orgs := make([]identity.GenesisOrg, len(vals))
	for i, v := range vals {
		orgs[i] = identity.GenesisOrg{
			ID:         fmt.Sprintf("org%d", i+1),
			Name:       fmt.Sprintf("Organisation %d", i+1),
			Validators: []cmtbytes.HexBytes{v.PubKey},
		}
	}
	accounts := make([]identity.GenesisAccount, len(admins))
	for i, a := range admins {
		roles := []string{identity.RoleAdmin}
		if i == 0 && opts.Operator {
			roles = append(roles, identity.RoleOperator)
		}
		accounts[i] = identity.GenesisAccount{Org: orgs[i].ID, Algo: a.Algo, PubKey: a.PubKey, Roles: roles}
	}
	if r := opts.Regulator; r != nil {
		orgs = append(orgs, identity.GenesisOrg{ID: RegulatorOrg, Name: "Regulator", Validators: []cmtbytes.HexBytes{}})
		accounts = append(accounts, identity.GenesisAccount{Org: RegulatorOrg, Algo: r.Algo, PubKey: r.PubKey,
			Roles: []string{identity.RoleAdmin, identity.RoleRegulator}})
	}
	if r := opts.Relayer; r != nil {
		accounts = append(accounts, identity.GenesisAccount{Org: orgs[0].ID, Algo: r.Algo, PubKey: r.PubKey,
			Roles: []string{identity.RoleRelayer}})
	}
	return app.BuildGenesis(app.GenesisSpec{Orgs: orgs, Accounts: accounts, StartingCredits: StartingCredits})
}

func chainDir(home, id string) string { return filepath.Join(home, "chains", id) }

func (n *Network) startChain(id string) (*Chain, error) {
	c := &Chain{ID: id}
	dir := chainDir(n.opts.Home, id)
	for i := 0; i < n.opts.Validators; i++ {
		home := filepath.Join(dir, fmt.Sprintf("node%d", i))
		logger, err := node.NewLogger(n.logFile, n.opts.LogLevel)
		if err != nil {
			return nil, err
		}
		nd, err := StartNode(home, logger.With("chain", id, "node", i))
		if errors.Is(err, syscall.EADDRINUSE) || err != nil && strings.Contains(err.Error(), "address already in use") {
			return nil, &portTakenError{chain: id, err: err}
		}
		if err != nil {
			return nil, fmt.Errorf("localnet: chain %s: %w", id, err)
		}
		c.Nodes = append(c.Nodes, nd)
		n.nodes = append(n.nodes, nd)
	}
	return c, nil
}

// StartNode opens the application in a node home's data directory and starts the node.
func StartNode(home string, logger cmtlog.Logger) (*Node, error) {
	a, err := app.Open(node.DataDir(home))
	if err != nil {
		return nil, err
	}
	nd, err := node.Start(home, a, logger)
	if err != nil {
		a.Close()
		return nil, err
	}
	return &Node{Home: home, Node: nd, App: a}, nil
}

// Stop stops the node, then closes its state store.
func (nd *Node) Stop() error {
	err := nd.Node.Stop()
	if cerr := nd.App.Close(); err == nil {
		err = cerr
	}
	return err
}

func (n *Network) startGateway() error {
	cfg := n.opts.Gateway
	cfg.Chains = map[string][]string{}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(n.logFile, nil))
	}
	if !n.opts.GatewayOverRPC {
		cfg.Local = map[string]gateway.NodeClient{}
	}
	for _, c := range n.chains {
		for _, nd := range c.Nodes {
			u := nd.Node.RPCURL()
			cfg.Chains[c.ID] = append(cfg.Chains[c.ID], u)
			if cfg.Local != nil {
				cfg.Local[u] = rpclocal.New(nd.Node.CometNode())
			}
		}
	}
	gw, err := gateway.New(cfg)
	if err != nil {
		return fmt.Errorf("localnet: gateway: %w", err)
	}
	ln, err := net.Listen("tcp", n.opts.Listen)
	if err != nil {
		gw.Close()
		return fmt.Errorf("localnet: gateway: %w", err)
	}
	n.gw = gw
	n.srv = &http.Server{Handler: gw.Handler(), ReadHeaderTimeout: 10 * time.Second}
	n.gatewayURL = "http://" + ln.Addr().String()
	go n.srv.Serve(ln)
	return nil
}

// GatewayURL is the gateway's base URL.
func (n *Network) GatewayURL() string { return n.gatewayURL }

// GatewayAddr is the address the gateway listens on (host:port).
func (n *Network) GatewayAddr() string { return strings.TrimPrefix(n.gatewayURL, "http://") }

// Chains returns the running chains.
func (n *Network) Chains() []*Chain { return n.chains }

// ChainIDs returns the chain ids in start order.
func (n *Network) ChainIDs() []string {
	ids := make([]string, len(n.chains))
	for i, c := range n.chains {
		ids[i] = c.ID
	}
	return ids
}

// WithoutAttestedState returns the chains whose validators do not attest the state in
// vote extensions, now or at a scheduled height: homes initialised before them
// (genesis abci.vote_extensions_enable_height 0). Their cross-chain packets are proven
// with the next header, a block later on each hop, until a set_params proposal turns
// extensions on (docs/governance.md, "Consensus parameters").
func (n *Network) WithoutAttestedState(ctx context.Context) ([]string, error) {
	var out []string
	for _, c := range n.chains {
		// At the latest committed height: those of the next block are not saved until
		// the latest is applied (see gateway's consensus-params).
		h := c.Nodes[0].Node.Height()
		res, err := rpclocal.New(c.Nodes[0].Node.CometNode()).ConsensusParams(ctx, &h)
		if err != nil {
			return nil, fmt.Errorf("localnet: %s: consensus params: %w", c.ID, err)
		}
		if res.ConsensusParams.ABCI.VoteExtensionsEnableHeight == 0 {
			out = append(out, c.ID)
		}
	}
	return out, nil
}

// ReadyLine is the line `lian up` prints once every chain has committed a block.
func (n *Network) ReadyLine() string {
	return fmt.Sprintf("ready gateway=%s chains=%s home=%s", n.gatewayURL, strings.Join(n.ChainIDs(), ","), n.opts.Home)
}

// Stop stops the gateway and every node, and closes their stores. Safe to call twice.
func (n *Network) Stop() error {
	var errs []error
	n.StopRelayer()
	if n.srv != nil {
		// Requests get a grace period to finish. Then whatever is still open is closed:
		// a request waiting for a commit, or a connection a client dialed and never
		// used, which net/http's Shutdown would otherwise wait 5 s for.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if err := n.srv.Shutdown(ctx); err != nil {
			if err := n.srv.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close the gateway server: %w", err))
			}
		}
		cancel()
		n.srv = nil
	}
	if n.gw != nil {
		n.gw.Close()
		n.gw = nil
	}
	for _, nd := range n.nodes {
		errs = append(errs, nd.Stop())
	}
	n.nodes = nil
	if n.logFile != nil {
		errs = append(errs, n.logFile.Close())
		n.logFile = nil
	}
	return errors.Join(errs...)
}

// saveTrust records the chain's genesis validator set as trusted by the CLI of home.
func saveTrust(home, nodeHome string) error {
	t, err := client.TrustFromGenesis(filepath.Join(nodeHome, "config", "genesis.json"))
	if err != nil {
		return err
	}
	return client.SaveTrust(client.TrustDir(home), t)
}
