package node

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/p2p"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
)

// joinPeers returns the "id@host:port" of every validator.
func joinPeers(vals []ValidatorInfo) []string {
	var peers []string
	for _, v := range vals {
		peers = append(peers, v.NodeID+"@"+v.P2PAddr)
	}
	return peers
}

func genesisOf(v ValidatorInfo) string {
	return filepath.Join(v.Home, "config", "genesis.json")
}

// sameTuning clears what legitimately differs between two homes' configs (root,
// moniker, addresses, peers) so the rest can be compared.
func sameTuning(c *cmtcfg.Config) *cmtcfg.Config {
	c.SetRoot("/home")
	c.Moniker = ""
	c.P2P.ListenAddress, c.P2P.ExternalAddress, c.P2P.PersistentPeers = "", "", ""
	c.RPC.ListenAddress = ""
	return c
}

func TestInitJoinWritesHome(t *testing.T) {
	tuning := Tuning{MempoolSize: 777, TimeoutCommit: 250 * time.Millisecond, GossipSleep: 10 * time.Millisecond}
	vals, err := InitNetwork(NetworkSpec{ChainID: "join-1", Dir: t.TempDir(), Validators: 2, Tuning: tuning})
	if err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(t.TempDir(), "org3-node")
	// Peers with an upper-case id and blanks are normalised.
	peers := []string{" " + strings.ToUpper(vals[0].NodeID) + "@" + vals[0].P2PAddr, vals[1].NodeID + "@" + vals[1].P2PAddr, ""}
	info, err := InitJoin(JoinSpec{Home: home, Genesis: genesisOf(vals[0]), Peers: peers, Tuning: tuning})
	if err != nil {
		t.Fatal(err)
	}
	if info.Home != home || info.Moniker != "org3-node" || info.ChainID != "join-1" {
		t.Fatalf("info %+v", info)
	}
	if !reflect.DeepEqual(info.Peers, joinPeers(vals)) {
		t.Fatalf("peers %v, want %v", info.Peers, joinPeers(vals))
	}

	// Genesis: the same bytes.
	want, _ := os.ReadFile(genesisOf(vals[0]))
	got, err := os.ReadFile(filepath.Join(home, "config", "genesis.json"))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("genesis not copied unchanged (%v)", err)
	}

	// Keys: the reported ones are those on disk, and fresh.
	pub, err := readPubKey(filepath.Join(home, "config", "priv_validator_key.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pub.Bytes(), info.PubKey) || len(info.PubKey) != 32 || pub.Address().String() != info.Address {
		t.Fatalf("pub key %X / %s, reported %X / %s", pub.Bytes(), pub.Address(), info.PubKey, info.Address)
	}
	nk, err := p2p.LoadNodeKey(filepath.Join(home, "config", "node_key.json"))
	if err != nil || string(nk.ID()) != info.NodeID {
		t.Fatalf("node key %v: id %s, reported %s", err, nk.ID(), info.NodeID)
	}
	for _, v := range vals {
		if v.NodeID == info.NodeID || bytes.Equal(v.PubKey, info.PubKey) {
			t.Fatal("keys are not fresh")
		}
	}
	if err := checkPrivValidatorFiles(filepath.Join(home, "config", "priv_validator_key.json"),
		filepath.Join(home, "data", "priv_validator_state.json")); err != nil {
		t.Fatal(err)
	}

	// Config: addresses and peers as asked, everything else as InitNetwork writes it.
	c, err := LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	if c.P2P.ListenAddress != "tcp://"+info.P2PAddr || c.RPC.ListenAddress != "tcp://"+info.RPCAddr ||
		!strings.HasPrefix(info.P2PAddr, "127.0.0.1:") || !strings.HasPrefix(info.RPCAddr, "127.0.0.1:") ||
		info.P2PAddr == info.RPCAddr {
		t.Fatalf("listen p2p %q rpc %q, reported %q %q", c.P2P.ListenAddress, c.RPC.ListenAddress, info.P2PAddr, info.RPCAddr)
	}
	if c.P2P.PersistentPeers != strings.Join(joinPeers(vals), ",") || c.Moniker != "org3-node" {
		t.Fatalf("persistent_peers %q moniker %q", c.P2P.PersistentPeers, c.Moniker)
	}
	ref, err := LoadConfig(vals[1].Home)
	if err != nil {
		t.Fatal(err)
	}
	if c.Mempool.Size != 777 || c.Consensus.TimeoutCommit != 250*time.Millisecond || c.P2P.PexReactor ||
		c.Consensus.PeerGossipSleepDuration != 10*time.Millisecond {
		t.Fatalf("tuning not applied: mempool %d timeout_commit %v pex %v gossip sleep %v", c.Mempool.Size,
			c.Consensus.TimeoutCommit, c.P2P.PexReactor, c.Consensus.PeerGossipSleepDuration)
	}
	if a, b := sameTuning(c), sameTuning(ref); !reflect.DeepEqual(a, b) {
		t.Fatalf("config differs from InitNetwork's beyond addresses:\njoin:    %+v\nnetwork: %+v", a, b)
	}

	// Given listen addresses are used as given; tcp:// is optional.
	info, err = InitJoin(JoinSpec{Home: filepath.Join(t.TempDir(), "x"), Genesis: genesisOf(vals[0]), Peers: joinPeers(vals)[:1],
		Moniker: "org4", P2PListen: "0.0.0.0:26656", RPCListen: "tcp://127.0.0.1:26657"})
	if err != nil {
		t.Fatal(err)
	}
	c, err = LoadConfig(info.Home)
	if err != nil {
		t.Fatal(err)
	}
	if info.P2PAddr != "0.0.0.0:26656" || info.RPCAddr != "127.0.0.1:26657" || c.P2P.ListenAddress != "tcp://0.0.0.0:26656" ||
		c.RPC.ListenAddress != "tcp://127.0.0.1:26657" || c.Moniker != "org4" || c.Mempool.Size != DefaultMempoolSize {
		t.Fatalf("given addresses: %+v; config p2p %q rpc %q moniker %q", info, c.P2P.ListenAddress, c.RPC.ListenAddress, c.Moniker)
	}
	// An empty existing directory is a fresh home.
	empty := t.TempDir()
	if _, err := InitJoin(JoinSpec{Home: empty, Genesis: genesisOf(vals[0]), Peers: joinPeers(vals)}); err != nil {
		t.Fatalf("empty directory: %v", err)
	}
}

func TestInitJoinRefuses(t *testing.T) {
	vals, err := InitNetwork(NetworkSpec{ChainID: "join-2", Dir: t.TempDir(), Validators: 1})
	if err != nil {
		t.Fatal(err)
	}
	gen := genesisOf(vals[0])
	peer := vals[0].NodeID + "@" + vals[0].P2PAddr

	// An existing home is refused and left untouched.
	before, _ := os.ReadFile(filepath.Join(vals[0].Home, "config", "config.toml"))
	_, err = InitJoin(JoinSpec{Home: vals[0].Home, Genesis: gen, Peers: []string{peer}})
	if err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Fatalf("existing home: %v", err)
	}
	after, _ := os.ReadFile(filepath.Join(vals[0].Home, "config", "config.toml"))
	if !bytes.Equal(before, after) {
		t.Fatal("existing home was modified")
	}

	badGenesis := filepath.Join(t.TempDir(), "genesis.json")
	if err := os.WriteFile(badGenesis, []byte(`{"chain_id":""}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		spec JoinSpec
		want string
	}{
		"no home":           {JoinSpec{Genesis: gen, Peers: []string{peer}}, "empty home"},
		"no genesis":        {JoinSpec{Peers: []string{peer}}, "no genesis"},
		"missing genesis":   {JoinSpec{Genesis: gen + ".missing", Peers: []string{peer}}, "read genesis"},
		"invalid genesis":   {JoinSpec{Genesis: badGenesis, Peers: []string{peer}}, "genesis"},
		"no peers":          {JoinSpec{Genesis: gen, Peers: []string{" ", ""}}, "no peers"},
		"peer without id":   {JoinSpec{Genesis: gen, Peers: []string{vals[0].P2PAddr}}, "node_id@host:port"},
		"short peer id":     {JoinSpec{Genesis: gen, Peers: []string{"abcd@127.0.0.1:26656"}}, "40 hex digits"},
		"peer without port": {JoinSpec{Genesis: gen, Peers: []string{vals[0].NodeID + "@127.0.0.1"}}, "node_id@host:port"},
		"peer port 0":       {JoinSpec{Genesis: gen, Peers: []string{vals[0].NodeID + "@127.0.0.1:0"}}, "node_id@host:port"},
		"duplicate peer":    {JoinSpec{Genesis: gen, Peers: []string{peer, strings.ToUpper(vals[0].NodeID) + "@10.0.0.1:1"}}, "twice"},
		"unix listen":       {JoinSpec{Genesis: gen, Peers: []string{peer}, RPCListen: "unix:///tmp/rpc.sock"}, "only tcp://"},
		"listen no port":    {JoinSpec{Genesis: gen, Peers: []string{peer}, P2PListen: "127.0.0.1"}, "host:port"},
		"listen no host":    {JoinSpec{Genesis: gen, Peers: []string{peer}, P2PListen: ":26656"}, "host:port"},
		"same addresses":    {JoinSpec{Genesis: gen, Peers: []string{peer}, P2PListen: "127.0.0.1:26656", RPCListen: "tcp://127.0.0.1:26656"}, "both listen"},
		"bad moniker":       {JoinSpec{Genesis: gen, Peers: []string{peer}, Moniker: "节点"}, "moniker"},
		"bad tuning":        {JoinSpec{Genesis: gen, Peers: []string{peer}, Tuning: Tuning{Indexer: "psql"}}, "indexer"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			spec := tc.spec
			if name != "no home" {
				spec.Home = filepath.Join(dir, "home")
			}
			_, err := InitJoin(spec)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
			if _, err := os.Stat(filepath.Join(dir, "home")); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("a failed init left the home behind: %v", err)
			}
		})
	}
}

// TestInitJoinNodeSyncs joins a node to a running two-validator network: it syncs
// from its peers (which do not list it), follows new blocks, and is not a validator.
func TestInitJoinNodeSyncs(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	logger := testLogger(t)
	vals, err := InitNetwork(NetworkSpec{ChainID: "join-3", Dir: t.TempDir(), Validators: 2, Tuning: fastTuning})
	if err != nil {
		t.Fatal(err)
	}
	nodes := startAll(t, vals, logger)
	waitAll(t, ctx, nodes, 3)

	info, err := InitJoin(JoinSpec{Home: filepath.Join(t.TempDir(), "joiner"), Genesis: genesisOf(vals[0]),
		Peers: joinPeers(vals), Tuning: fastTuning})
	if err != nil {
		t.Fatal(err)
	}
	joiner, err := Start(info.Home, &countApp{}, logger.With("node", "joiner"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopAll(t, []*Node{joiner}) })
	if joiner.RPCAddr() != info.RPCAddr || joiner.ChainID() != "join-3" {
		t.Fatalf("joiner rpc %q chain %q, reported %q", joiner.RPCAddr(), joiner.ChainID(), info.RPCAddr)
	}
	target := nodes[0].Height() + 2
	if err := joiner.WaitForHeight(ctx, target); err != nil {
		t.Fatal(err)
	}
	if err := joiner.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := rpchttp.New(joiner.RPCURL(), "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.NodeInfo.ID() != p2p.ID(info.NodeID) || st.ValidatorInfo.Address.String() != info.Address ||
		!bytes.Equal(st.ValidatorInfo.PubKey.Bytes(), info.PubKey) || st.ValidatorInfo.VotingPower != 0 {
		t.Fatalf("joiner status: node %s validator %+v, reported %+v", st.NodeInfo.ID(), st.ValidatorInfo, info)
	}
	// Same chain: the joiner's block at the target is the validators'.
	waitAll(t, ctx, nodes, target)
	b0 := nodes[0].CometNode().BlockStore().LoadBlock(target)
	bj := joiner.CometNode().BlockStore().LoadBlock(target)
	if b0 == nil || bj == nil || !bytes.Equal(b0.Hash(), bj.Hash()) {
		t.Fatalf("block %d differs between node0 and the joiner", target)
	}
}
