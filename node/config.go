package node

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/types"
	"github.com/spf13/viper"
)

// Defaults applied by InitNetwork (see the package documentation for why).
const (
	DefaultTimeoutCommit                   = 100 * time.Millisecond
	DefaultGossipSleep                     = 100 * time.Millisecond
	DefaultCreateEmptyBlocksInterval       = 30 * time.Second
	DefaultMempoolSize                     = 50_000
	DefaultIndexer                         = "kv"
	DefaultPower                     int64 = 10
	DefaultLogLevel                        = "error"

	// MempoolMaxTxsBytes caps the total size of the txs held in the mempool.
	MempoolMaxTxsBytes int64 = 256 << 20
	// MaxTxBytes is the largest single transaction the mempool accepts.
	MaxTxBytes = 1 << 20
	// BlockMaxBytes is consensus_params.block.max_bytes written to genesis.
	BlockMaxBytes int64 = 4 << 20
	// EvidenceMaxBytes is consensus_params.evidence.max_bytes (must be <= BlockMaxBytes).
	EvidenceMaxBytes int64 = 1 << 20
	// RPCMaxBodyBytes lets a MaxTxBytes tx (base64 in JSON) through broadcast_tx_*.
	RPCMaxBodyBytes int64 = 4 << 20
	// P2PRate is p2p send_rate / recv_rate in bytes/s (default 5 MB/s would
	// need ~0.8 s to gossip one full 4 MiB block to a single peer).
	P2PRate int64 = 20 << 20
)

// Tuning holds the config knobs Lian sets (zero value -> defaults).
type Tuning struct {
	// TimeoutCommit is consensus.timeout_commit (default 100ms).
	TimeoutCommit time.Duration
	// GossipSleep is consensus.peer_gossip_sleep_duration: how long a
	// node's gossip routine for a peer sleeps when it has no block part or
	// vote to send that peer (default DefaultGossipSleep).
	GossipSleep time.Duration
	// CreateEmptyBlocksInterval is consensus.create_empty_blocks_interval
	// (default 30s): with no txs a block is made only this often. A negative
	// value writes 0s, i.e. empty blocks back to back every TimeoutCommit.
	CreateEmptyBlocksInterval time.Duration
	// MempoolSize is mempool.size, the max number of txs (default 50000).
	MempoolSize int
	// Recheck is mempool.recheck (default true).
	Recheck *bool
	// Indexer is tx_index.indexer: "kv" (default) or "null".
	Indexer string
}

// withDefaults returns t with zero fields replaced by defaults, or an error
// for values CometBFT would reject.
func (t Tuning) withDefaults() (Tuning, error) {
	if t.TimeoutCommit == 0 {
		t.TimeoutCommit = DefaultTimeoutCommit
	}
	if t.TimeoutCommit < 0 {
		return t, fmt.Errorf("tuning: negative TimeoutCommit %v", t.TimeoutCommit)
	}
	if t.GossipSleep == 0 {
		t.GossipSleep = DefaultGossipSleep
	}
	if t.GossipSleep < 0 {
		return t, fmt.Errorf("tuning: negative GossipSleep %v", t.GossipSleep)
	}
	if t.CreateEmptyBlocksInterval == 0 {
		t.CreateEmptyBlocksInterval = DefaultCreateEmptyBlocksInterval
	}
	if t.CreateEmptyBlocksInterval < 0 {
		t.CreateEmptyBlocksInterval = 0
	}
	if t.MempoolSize == 0 {
		t.MempoolSize = DefaultMempoolSize
	}
	if t.MempoolSize < 0 {
		return t, fmt.Errorf("tuning: negative MempoolSize %d", t.MempoolSize)
	}
	if t.Recheck == nil {
		r := true
		t.Recheck = &r
	}
	switch t.Indexer {
	case "":
		t.Indexer = DefaultIndexer
	case "kv", "null":
	default:
		return t, fmt.Errorf("tuning: indexer must be \"kv\" or \"null\", got %q", t.Indexer)
	}
	return t, nil
}

// apply writes the tuning into a CometBFT config.
func (t Tuning) apply(c *cmtcfg.Config) {
	c.LogLevel = DefaultLogLevel

	c.Consensus.TimeoutCommit = t.TimeoutCommit
	c.Consensus.PeerGossipSleepDuration = t.GossipSleep
	c.Consensus.CreateEmptyBlocks = true
	c.Consensus.CreateEmptyBlocksInterval = t.CreateEmptyBlocksInterval

	c.Mempool.Size = t.MempoolSize
	c.Mempool.MaxTxsBytes = MempoolMaxTxsBytes
	c.Mempool.MaxTxBytes = MaxTxBytes
	if c.Mempool.CacheSize < 2*t.MempoolSize {
		c.Mempool.CacheSize = 2 * t.MempoolSize
	}
	c.Mempool.Recheck = *t.Recheck

	c.TxIndex.Indexer = t.Indexer

	c.Instrumentation.Prometheus = false
	c.RPC.PprofListenAddress = ""
	c.RPC.MaxBodyBytes = RPCMaxBodyBytes

	c.P2P.PexReactor = false
	c.P2P.AddrBookStrict = false
	c.P2P.AllowDuplicateIP = true
	c.P2P.SendRate = P2PRate
	c.P2P.RecvRate = P2PRate
}

// ConsensusParams returns the consensus parameters InitNetwork writes to
// genesis: CometBFT defaults with block max_bytes 4 MiB, max_gas -1,
// evidence max_bytes 1 MiB, and vote extensions from height 1 (each validator
// attests the app hash after a block in its precommit of it; networks
// initialised before keep their genesis, without extensions).
func ConsensusParams() *types.ConsensusParams {
	p := types.DefaultConsensusParams()
	p.Block.MaxBytes = BlockMaxBytes
	p.Block.MaxGas = -1
	p.Evidence.MaxBytes = EvidenceMaxBytes
	p.ABCI.VoteExtensionsEnableHeight = VoteExtensionsEnableHeight
	return p
}

// VoteExtensionsEnableHeight is consensus_params.abci.vote_extensions_enable_height
// written to genesis.
const VoteExtensionsEnableHeight int64 = 1

// ConfigFile returns the path of a home's config.toml.
func ConfigFile(home string) string {
	return filepath.Join(home, cmtcfg.DefaultConfigDir, cmtcfg.DefaultConfigFileName)
}

// DataDir returns the node's data directory (home/data) — the application
// stores its own DB under it.
func DataDir(home string) string {
	return filepath.Join(home, cmtcfg.DefaultDataDir)
}

// LoadConfig reads home/config/config.toml on top of CometBFT's defaults,
// sets the home as root (relative paths in the file are resolved against
// it) and validates the result.
func LoadConfig(home string) (*cmtcfg.Config, error) {
	abs, err := filepath.Abs(home)
	if err != nil {
		return nil, fmt.Errorf("node home %q: %w", home, err)
	}
	path := ConfigFile(abs)
	// Read the file as CometBFT's own command does: viper over the defaults.
	v := viper.New()
	v.SetConfigFile(path)
	if err := v.ReadInConfig(); err != nil {
		return nil, fmt.Errorf("read config %s: %w", path, err)
	}
	c := cmtcfg.DefaultConfig()
	if err := v.Unmarshal(c); err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	c.SetRoot(abs)
	if err := c.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("invalid config %s: %w", path, err)
	}
	return c, nil
}

// writeConfig writes c to home/config/config.toml with CometBFT's commented
// template. cmtcfg.WriteConfigFile exits the process if the write fails, so
// the file is first created here to surface permission / disk errors as an
// error instead.
func writeConfig(home string, c *cmtcfg.Config) error {
	path := ConfigFile(home)
	if err := os.WriteFile(path, []byte("# being written\n"), 0o644); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	cmtcfg.WriteConfigFile(path, c)
	// Make sure what we wrote reads back to the same values.
	back, err := LoadConfig(home)
	if err != nil {
		return fmt.Errorf("re-read written config: %w", err)
	}
	if back.Mempool.Size != c.Mempool.Size || back.Consensus.TimeoutCommit != c.Consensus.TimeoutCommit ||
		back.P2P.PersistentPeers != c.P2P.PersistentPeers {
		return errors.New("written config does not read back identically")
	}
	return nil
}
