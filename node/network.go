package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/crypto"
	"github.com/cometbft/cometbft/crypto/ed25519"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/types"
)

// ValidatorInfo describes one generated node of a network.
type ValidatorInfo struct {
	Index   int
	Moniker string // "node0", "node1", ...
	Home    string // absolute path of this node's home
	PubKey  []byte // ed25519 consensus public key, 32 bytes
	Address string // CometBFT validator address, upper hex
	Power   int64
	NodeID  string // p2p node id
	P2PAddr string // "host:port" this node listens on / is reached at
	RPCAddr string // "host:port" of its RPC (tcp)
}

// NetworkSpec says what InitNetwork writes.
type NetworkSpec struct {
	ChainID    string
	Dir        string // homes are written at Dir/node0 ... Dir/node{N-1}
	Validators int    // >= 1
	// Hosts: len 0 => all "127.0.0.1"; len 1 => all that host; else len == Validators.
	Hosts []string
	// BasePort: 0 => pick free loopback ports at init time; else node i uses
	// p2p BasePort+2*i and rpc BasePort+2*i+1 when hosts repeat, or
	// BasePort / BasePort+1 on every host when all hosts differ.
	BasePort    int
	Power       int64     // default 10
	GenesisTime time.Time // zero => time.Now().UTC() truncated to the second
	Tuning      Tuning
	// AppState is called after the validator keys exist and returns the
	// app_state JSON for genesis. Nil means no app_state.
	AppState func(vals []ValidatorInfo) (json.RawMessage, error)
	// NoVoteExtensions writes a genesis without vote extensions, as networks
	// initialised before them had (tests of such chains).
	NoVoteExtensions bool
}

// isLoopback reports whether host names the local machine only.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// listenHost is the address a node binds to: the host itself for loopback
// hosts, all interfaces otherwise (the host name or IP may belong to a NAT,
// a container or a DNS name that does not resolve to a local interface).
func listenHost(host string) string {
	if isLoopback(host) {
		return host
	}
	return "0.0.0.0"
}

// InitNetwork writes N complete node homes: config/config.toml (tuned,
// listen addresses, persistent_peers = all other nodes), config/genesis.json
// (same bytes in every home, validators = all nodes with Power, consensus
// params set explicitly, app_state from spec.AppState), config/node_key.json,
// config/priv_validator_key.json and data/priv_validator_state.json.
//
// It refuses to overwrite an existing home (an existing non-empty
// directory), and on failure removes the homes it created. It returns the
// validators in index order.
func InitNetwork(spec NetworkSpec) ([]ValidatorInfo, error) {
	n := spec.Validators
	switch {
	case spec.ChainID == "":
		return nil, errors.New("init network: empty chain id")
	case len(spec.ChainID) > types.MaxChainIDLen:
		return nil, fmt.Errorf("init network: chain id longer than %d", types.MaxChainIDLen)
	case n < 1:
		return nil, fmt.Errorf("init network: need at least 1 validator, got %d", n)
	case spec.Dir == "":
		return nil, errors.New("init network: empty Dir")
	case spec.Power < 0:
		return nil, fmt.Errorf("init network: negative power %d", spec.Power)
	case spec.BasePort < 0 || spec.BasePort > 65535:
		return nil, fmt.Errorf("init network: invalid base port %d", spec.BasePort)
	}
	tuning, err := spec.Tuning.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("init network: %w", err)
	}
	power := spec.Power
	if power == 0 {
		power = DefaultPower
	}

	hosts := make([]string, n)
	switch len(spec.Hosts) {
	case 0:
		for i := range hosts {
			hosts[i] = "127.0.0.1"
		}
	case 1:
		for i := range hosts {
			hosts[i] = spec.Hosts[0]
		}
	case n:
		copy(hosts, spec.Hosts)
	default:
		return nil, fmt.Errorf("init network: %d hosts for %d validators", len(spec.Hosts), n)
	}
	distinct := map[string]bool{}
	for i, h := range hosts {
		h = strings.TrimSpace(h)
		if h == "" || strings.ContainsAny(h, "@, /") {
			return nil, fmt.Errorf("init network: invalid host %q", h)
		}
		hosts[i] = h
		distinct[h] = true
	}
	allDiffer := len(distinct) == n

	p2pPorts, rpcPorts := make([]int, n), make([]int, n)
	switch {
	case spec.BasePort == 0:
		free, err := FreePorts(2 * n)
		if err != nil {
			return nil, fmt.Errorf("init network: %w", err)
		}
		for i := 0; i < n; i++ {
			p2pPorts[i], rpcPorts[i] = free[2*i], free[2*i+1]
		}
	case allDiffer:
		if spec.BasePort+1 > 65535 {
			return nil, fmt.Errorf("init network: base port %d too high", spec.BasePort)
		}
		for i := 0; i < n; i++ {
			p2pPorts[i], rpcPorts[i] = spec.BasePort, spec.BasePort+1
		}
	default:
		if spec.BasePort+2*n-1 > 65535 {
			return nil, fmt.Errorf("init network: base port %d too high for %d nodes", spec.BasePort, n)
		}
		for i := 0; i < n; i++ {
			p2pPorts[i], rpcPorts[i] = spec.BasePort+2*i, spec.BasePort+2*i+1
		}
	}

	dir, err := filepath.Abs(spec.Dir)
	if err != nil {
		return nil, fmt.Errorf("init network: %w", err)
	}
	homes := make([]string, n)
	for i := range homes {
		homes[i] = filepath.Join(dir, fmt.Sprintf("node%d", i))
		if err := checkFreshHome(homes[i]); err != nil {
			return nil, fmt.Errorf("init network: %w", err)
		}
	}

	// From here on, remove what we created if anything fails.
	var undo homeUndo
	ok := false
	defer func() {
		if !ok {
			undo.run()
		}
	}()

	vals := make([]ValidatorInfo, n)
	created := make([]*newHome, n)
	for i := 0; i < n; i++ {
		h, err := createHome(homes[i], fmt.Sprintf("node%d", i), &undo)
		if err != nil {
			return nil, fmt.Errorf("init network: %w", err)
		}
		vals[i] = ValidatorInfo{
			Index:   i,
			Moniker: h.cfg.Moniker,
			Home:    homes[i],
			PubKey:  h.pubKey.Bytes(),
			Address: h.pubKey.Address().String(),
			Power:   power,
			NodeID:  string(h.nodeID),
			P2PAddr: net.JoinHostPort(hosts[i], strconv.Itoa(p2pPorts[i])),
			RPCAddr: net.JoinHostPort(hosts[i], strconv.Itoa(rpcPorts[i])),
		}
		created[i] = h
	}

	// Genesis.
	var appState json.RawMessage
	if spec.AppState != nil {
		appState, err = spec.AppState(append([]ValidatorInfo(nil), vals...))
		if err != nil {
			return nil, fmt.Errorf("init network: app state: %w", err)
		}
		if len(appState) > 0 && !json.Valid(appState) {
			return nil, errors.New("init network: app state is not valid JSON")
		}
	}
	genTime := spec.GenesisTime
	if genTime.IsZero() {
		genTime = time.Now().UTC().Truncate(time.Second)
	}
	gen := &types.GenesisDoc{
		GenesisTime:     genTime.UTC(),
		ChainID:         spec.ChainID,
		InitialHeight:   1,
		ConsensusParams: ConsensusParams(),
		AppState:        appState,
	}
	if spec.NoVoteExtensions {
		gen.ConsensusParams.ABCI.VoteExtensionsEnableHeight = 0
	}
	for i, v := range vals {
		pub := created[i].pubKey
		gen.Validators = append(gen.Validators, types.GenesisValidator{
			Address: pub.Address(),
			PubKey:  pub,
			Power:   v.Power,
			Name:    v.Moniker,
		})
	}
	if err := gen.ValidateAndComplete(); err != nil {
		return nil, fmt.Errorf("init network: invalid genesis: %w", err)
	}
	genJSON, err := cmtjson.MarshalIndent(gen, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("init network: encode genesis: %w", err)
	}
	if _, err := types.GenesisDocFromJSON(genJSON); err != nil {
		return nil, fmt.Errorf("init network: genesis does not read back: %w", err)
	}

	// Config files and genesis.
	for i, h := range created {
		a := nodeAddrs{
			P2PListen: "tcp://" + net.JoinHostPort(listenHost(hosts[i]), strconv.Itoa(p2pPorts[i])),
			RPCListen: "tcp://" + net.JoinHostPort(listenHost(hosts[i]), strconv.Itoa(rpcPorts[i])),
		}
		if !isLoopback(hosts[i]) {
			a.P2PExternal = vals[i].P2PAddr
		}
		for j, v := range vals {
			if j != i {
				a.Peers = append(a.Peers, v.NodeID+"@"+v.P2PAddr)
			}
		}
		if err := writeHomeConfig(h.cfg, tuning, a, genJSON); err != nil {
			return nil, fmt.Errorf("init network: %w", err)
		}
	}
	ok = true
	return vals, nil
}

// homeUndo remembers what a failing init must remove: the homes it created, or the
// config and data directories it created in homes that existed (empty) before.
type homeUndo struct{ paths []string }

// track records home before anything is written into it.
func (u *homeUndo) track(home string) {
	if _, err := os.Stat(home); errors.Is(err, os.ErrNotExist) {
		u.paths = append(u.paths, home)
		return
	}
	// An empty directory existed (checkFreshHome): keep it, remove its contents.
	u.paths = append(u.paths, filepath.Join(home, cmtcfg.DefaultConfigDir), DataDir(home))
}

// run removes everything recorded.
func (u *homeUndo) run() {
	for _, p := range u.paths {
		_ = os.RemoveAll(p)
	}
}

// newHome is a node home createHome wrote the directories and keys of.
type newHome struct {
	cfg    *cmtcfg.Config // CometBFT defaults rooted at the home, with the moniker
	nodeID p2p.ID
	pubKey crypto.PubKey // the consensus key, read back from the written key file
}

// createHome creates home's config and data directories (recording them in undo first)
// and writes a fresh ed25519 node key, a fresh ed25519 validator key and an empty
// validator sign state. The home must have passed checkFreshHome.
func createHome(home, moniker string, undo *homeUndo) (*newHome, error) {
	undo.track(home)
	for _, d := range []string{filepath.Join(home, cmtcfg.DefaultConfigDir), DataDir(home)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("create node home: %w", err)
		}
	}
	c := cmtcfg.DefaultConfig()
	c.SetRoot(home)
	c.Moniker = moniker

	nodeKey := &p2p.NodeKey{PrivKey: ed25519.GenPrivKey()}
	if err := nodeKey.SaveAs(c.NodeKeyFile()); err != nil {
		return nil, fmt.Errorf("write node key: %w", err)
	}
	pv := privval.NewFilePV(ed25519.GenPrivKey(), c.PrivValidatorKeyFile(), c.PrivValidatorStateFile())
	if err := writePrivValidator(pv, c.PrivValidatorKeyFile(), c.PrivValidatorStateFile()); err != nil {
		return nil, fmt.Errorf("write validator key: %w", err)
	}
	// Genesis and the caller see exactly the key that is on disk.
	pub, err := readPubKey(c.PrivValidatorKeyFile())
	if err != nil {
		return nil, fmt.Errorf("read back validator key: %w", err)
	}
	return &newHome{cfg: c, nodeID: nodeKey.ID(), pubKey: pub}, nil
}

// nodeAddrs are the addresses and peers of one node's config.toml.
type nodeAddrs struct {
	P2PListen   string   // p2p.laddr, "tcp://host:port"
	P2PExternal string   // p2p.external_address, "host:port" or empty
	RPCListen   string   // rpc.laddr, "tcp://host:port"
	Peers       []string // p2p.persistent_peers, "id@host:port"
}

// writeHomeConfig writes genJSON (as is) to the home's genesis file and config.toml with
// the addresses, the peers and the tuning: the one place a home's configuration is made.
func writeHomeConfig(c *cmtcfg.Config, tuning Tuning, a nodeAddrs, genJSON []byte) error {
	c.P2P.PersistentPeers = strings.Join(a.Peers, ",")
	c.P2P.ListenAddress = a.P2PListen
	c.P2P.ExternalAddress = a.P2PExternal
	c.RPC.ListenAddress = a.RPCListen
	tuning.apply(c)
	if err := c.ValidateBasic(); err != nil {
		return fmt.Errorf("invalid config: %w", err)
	}
	if err := os.WriteFile(c.GenesisFile(), genJSON, 0o644); err != nil {
		return fmt.Errorf("write genesis: %w", err)
	}
	return writeConfig(c.RootDir, c)
}

// readPubKey reads the public key back from a freshly written validator key
// file, so that genesis is built from exactly what is on disk.
func readPubKey(keyFile string) (crypto.PubKey, error) {
	raw, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, err
	}
	var key privval.FilePVKey
	if err := cmtjson.Unmarshal(raw, &key); err != nil {
		return nil, fmt.Errorf("parse %s: %w", keyFile, err)
	}
	return safePubKey(key.PrivKey)
}

// checkFreshHome returns an error if home exists and is not an empty directory.
func checkFreshHome(home string) error {
	fi, err := os.Stat(home)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("refusing to overwrite %s: exists and is not a directory", home)
	}
	entries, err := os.ReadDir(home)
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("refusing to overwrite existing node home %s", home)
	}
	return nil
}

// FreePorts returns n distinct free TCP ports on 127.0.0.1: it listens on
// each candidate, keeping the listeners open until n are found, then closes
// them.
func FreePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	listeners := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	// Ports are taken below Linux's ephemeral range (32768-60999): a port the kernel
	// handed out for ":0" can be handed out again to an outgoing connection before the
	// node binds it, which once made a fresh network fail with "address in use".
	start := portRangeLow + rand.IntN(portRangeHigh-portRangeLow)
	for p := 0; p < portRangeHigh-portRangeLow && len(ports) < n; p++ {
		port := portRangeLow + (start-portRangeLow+p)%(portRangeHigh-portRangeLow)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue // taken
		}
		listeners = append(listeners, l)
		ports = append(ports, port)
	}
	if len(ports) < n {
		return nil, fmt.Errorf("free ports: found %d of %d free ports in [%d, %d)", len(ports), n, portRangeLow, portRangeHigh)
	}
	return ports, nil
}

// The range FreePorts picks from.
const (
	portRangeLow  = 20000
	portRangeHigh = 32000
)
