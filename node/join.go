package node

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	cmtstrings "github.com/cometbft/cometbft/libs/strings"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/types"
)

// JoinSpec says what InitJoin writes: the home of a new node of an existing chain.
type JoinSpec struct {
	// Home is the node home to write; it must not exist or be an empty directory.
	Home string
	// Genesis is the path of the chain's genesis.json, copied unchanged.
	Genesis string
	// Peers are the node's persistent peers, "node_id@host:port": running nodes of the
	// chain it dials (and redials) at start. At least one.
	Peers []string
	// Moniker names the node in p2p handshakes (default: the home's directory name, or
	// "node" if that is not printable ASCII).
	Moniker string
	// P2PListen and RPCListen are the addresses the node listens on, "host:port" or
	// "tcp://host:port", bound as given; empty: a free port on 127.0.0.1.
	P2PListen string
	RPCListen string
	Tuning    Tuning
}

// JoinInfo describes the home InitJoin wrote.
type JoinInfo struct {
	Home    string // absolute path of the home
	Moniker string
	ChainID string
	// PubKey is the node's ed25519 consensus public key (32 bytes): the key a governance
	// proposal (add_org, add_validator) makes a validator.
	PubKey  []byte
	Address string   // CometBFT validator address of PubKey, upper hex
	NodeID  string   // p2p node id: other nodes reach it at NodeID@P2PAddr
	P2PAddr string   // "host:port" the p2p layer listens on
	RPCAddr string   // "host:port" the RPC listens on
	Peers   []string // persistent peers, normalised
}

// InitJoin writes the home of a node joining an existing chain: config/genesis.json
// (the chain's, copied byte for byte), a fresh node key and validator key, an empty
// validator sign state, and config/config.toml tuned exactly as InitNetwork tunes its
// homes, with spec.Peers as persistent peers and the given (or free loopback) listen
// addresses.
//
// The node starts as a full node: it syncs the chain from its peers, and signs blocks
// once the chain makes its key a validator (a governance proposal carrying
// JoinInfo.PubKey). Its peers need not know it: it dials them.
//
// It refuses to overwrite an existing home (an existing non-empty directory), and on
// failure removes what it created.
func InitJoin(spec JoinSpec) (*JoinInfo, error) {
	if spec.Home == "" {
		return nil, errors.New("init node: empty home")
	}
	if spec.Genesis == "" {
		return nil, errors.New("init node: no genesis file")
	}
	tuning, err := spec.Tuning.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("init node: %w", err)
	}
	genJSON, err := os.ReadFile(spec.Genesis)
	if err != nil {
		return nil, fmt.Errorf("init node: read genesis: %w", err)
	}
	gen, err := types.GenesisDocFromJSON(genJSON)
	if err != nil {
		return nil, fmt.Errorf("init node: genesis %s: %w", spec.Genesis, err)
	}

	var peers []string
	seen := map[string]bool{}
	for _, s := range spec.Peers {
		if strings.TrimSpace(s) == "" {
			continue
		}
		p, id, err := parsePeer(s)
		if err != nil {
			return nil, fmt.Errorf("init node: %w", err)
		}
		if seen[id] {
			return nil, fmt.Errorf("init node: peer %s is given twice", id)
		}
		seen[id] = true
		peers = append(peers, p)
	}
	if len(peers) == 0 {
		return nil, errors.New("init node: no peers: give at least one running node of the chain as node_id@host:port")
	}

	p2pAddr, err := parseListen("p2p", spec.P2PListen)
	if err != nil {
		return nil, fmt.Errorf("init node: %w", err)
	}
	rpcAddr, err := parseListen("rpc", spec.RPCListen)
	if err != nil {
		return nil, fmt.Errorf("init node: %w", err)
	}
	if p2pAddr != "" && p2pAddr == rpcAddr {
		return nil, fmt.Errorf("init node: p2p and rpc both listen on %s", p2pAddr)
	}
	if p2pAddr == "" || rpcAddr == "" {
		// One spare port, in case a free one is the port the other address names.
		free, err := FreePorts(3)
		if err != nil {
			return nil, fmt.Errorf("init node: %w", err)
		}
		for _, a := range []*string{&p2pAddr, &rpcAddr} {
			for *a == "" {
				port := strconv.Itoa(free[0])
				free = free[1:]
				if !strings.HasSuffix(p2pAddr, ":"+port) && !strings.HasSuffix(rpcAddr, ":"+port) {
					*a = net.JoinHostPort("127.0.0.1", port)
				}
			}
		}
	}

	home, err := filepath.Abs(spec.Home)
	if err != nil {
		return nil, fmt.Errorf("init node: %w", err)
	}
	moniker := spec.Moniker
	if moniker == "" {
		moniker = filepath.Base(home)
		if !validMoniker(moniker) {
			moniker = "node"
		}
	}
	if !validMoniker(moniker) {
		return nil, fmt.Errorf("init node: moniker %q: expected printable ASCII", moniker)
	}
	if err := checkFreshHome(home); err != nil {
		return nil, fmt.Errorf("init node: %w", err)
	}

	var undo homeUndo
	ok := false
	defer func() {
		if !ok {
			undo.run()
		}
	}()
	h, err := createHome(home, moniker, &undo)
	if err != nil {
		return nil, fmt.Errorf("init node: %w", err)
	}
	a := nodeAddrs{P2PListen: "tcp://" + p2pAddr, RPCListen: "tcp://" + rpcAddr, Peers: peers}
	if err := writeHomeConfig(h.cfg, tuning, a, genJSON); err != nil {
		return nil, fmt.Errorf("init node: %w", err)
	}
	ok = true
	return &JoinInfo{
		Home:    home,
		Moniker: moniker,
		ChainID: gen.ChainID,
		PubKey:  h.pubKey.Bytes(),
		Address: h.pubKey.Address().String(),
		NodeID:  string(h.nodeID),
		P2PAddr: p2pAddr,
		RPCAddr: rpcAddr,
		Peers:   peers,
	}, nil
}

// parsePeer checks a persistent peer "node_id@host:port" without resolving the host
// (it may only resolve where the node will run) and returns it with the id in lower
// case, as CometBFT compares ids, and the id.
func parsePeer(s string) (peer, id string, err error) {
	s = strings.TrimSpace(s)
	id, addr, ok := strings.Cut(s, "@")
	if !ok {
		return "", "", fmt.Errorf("peer %q: expected node_id@host:port", s)
	}
	id = strings.ToLower(id)
	if b, err := hex.DecodeString(id); err != nil || len(b) != p2p.IDByteLength {
		return "", "", fmt.Errorf("peer %q: node id must be %d hex digits", s, 2*p2p.IDByteLength)
	}
	host, port, err := splitHostPort(addr)
	if err != nil || host == "" {
		return "", "", fmt.Errorf("peer %q: expected node_id@host:port", s)
	}
	return id + "@" + net.JoinHostPort(host, port), id, nil
}

// parseListen checks a listen address, "host:port" or "tcp://host:port", and returns
// it as "host:port" ("" for "").
func parseListen(what, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	addr := strings.TrimPrefix(s, "tcp://")
	if strings.Contains(addr, "://") {
		return "", fmt.Errorf("%s listen address %q: only tcp:// is supported", what, s)
	}
	host, port, err := splitHostPort(addr)
	if err != nil || host == "" {
		return "", fmt.Errorf("%s listen address %q: expected host:port (0.0.0.0:port for every interface)", what, s)
	}
	return net.JoinHostPort(host, port), nil
}

// splitHostPort splits "host:port" and checks the port is 1..65535 and the host has no
// separator of a peer list.
func splitHostPort(addr string) (host, port string, err error) {
	host, port, err = net.SplitHostPort(addr)
	if err != nil {
		return "", "", err
	}
	if strings.ContainsAny(host, "@,/ ") {
		return "", "", fmt.Errorf("invalid host %q", host)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", "", fmt.Errorf("invalid port %q", port)
	}
	return host, strconv.Itoa(n), nil
}

// validMoniker reports whether CometBFT accepts s as a node's moniker.
func validMoniker(s string) bool {
	return cmtstrings.IsASCIIText(s) && cmtstrings.ASCIITrim(s) != ""
}
