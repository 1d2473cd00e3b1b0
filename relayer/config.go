package relayer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/modules/xchain"
)

// Config is a relayer's configuration file (JSON), as `lian relayer start --config`
// reads it:
//
//	{
//	  "chains": [
//	    {"id": "beijing-1",   "rpc": "http://10.0.0.1:26657", "key_file": "keys/relayer.json"},
//	    {"id": "guangzhou-1", "rpc": "http://10.0.1.1:26657", "key_file": "keys/relayer.json",
//	     "backup_rpc": ["http://10.0.1.2:26657"]}
//	  ],
//	  "paths": [{"a": "beijing-1", "b": "guangzhou-1"}],
//	  "poll_interval": "100ms",
//	  "max_msgs": 256,
//	  "max_tx_bytes": 520192,
//	  "resubmit_after": "15s",
//	  "resync_interval": "1m",
//	  "idle_refresh": "1h"
//	}
//
// backup_rpc lists more nodes of the same chain, asked in order when the node the
// relayer uses does not answer (see Failover). key_file is a key file of a Lian keystore (`lian keys add NAME` writes
// <home>/keys/NAME.json); relative paths are relative to the configuration file. The
// key's account must have the relayer role on that chain. Every field after paths is
// optional (zero: the default).
type Config struct {
	Chains         []ChainConfig   `json:"chains"`
	Paths          []Path          `json:"paths"`
	PollInterval   xchain.Duration `json:"poll_interval,omitempty"`
	MaxMsgs        int             `json:"max_msgs,omitempty"`
	MaxTxBytes     int             `json:"max_tx_bytes,omitempty"`
	ResubmitAfter  xchain.Duration `json:"resubmit_after,omitempty"`
	ResyncInterval xchain.Duration `json:"resync_interval,omitempty"`
	IdleRefresh    xchain.Duration `json:"idle_refresh,omitempty"`

	dir string // the file's directory
}

// ChainConfig is one chain of a Config.
type ChainConfig struct {
	ID        string   `json:"id"`
	RPC       string   `json:"rpc"`
	BackupRPC []string `json:"backup_rpc,omitempty"`
	KeyFile   string   `json:"key_file"`
}

// LoadConfig reads and checks a configuration file.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("relayer config: %w", err)
	}
	var c Config
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("relayer config %s: %w", path, err)
	}
	c.dir = filepath.Dir(path)
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("relayer config %s: %w", path, err)
	}
	return &c, nil
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	if len(c.Chains) < 2 {
		return errors.New("expected at least two chains")
	}
	ids := map[string]bool{}
	for i, ch := range c.Chains {
		switch {
		case ch.ID == "":
			return fmt.Errorf("chains[%d]: id is required", i)
		case ids[ch.ID]:
			return fmt.Errorf("chains[%d]: chain %s named twice", i, ch.ID)
		case !rpcURL(ch.RPC):
			return fmt.Errorf("chains[%d] (%s): rpc %q: expected an http://, https:// or tcp:// URL of a node's CometBFT RPC", i, ch.ID, ch.RPC)
		case ch.KeyFile == "":
			return fmt.Errorf("chains[%d] (%s): key_file is required", i, ch.ID)
		}
		for j, u := range ch.BackupRPC {
			if !rpcURL(u) {
				return fmt.Errorf("chains[%d] (%s): backup_rpc[%d] %q: expected an http://, https:// or tcp:// URL of a node's CometBFT RPC", i, ch.ID, j, u)
			}
		}
		ids[ch.ID] = true
	}
	if len(c.Paths) == 0 {
		return errors.New("expected at least one path")
	}
	for i, p := range c.Paths {
		if !ids[p.A] || !ids[p.B] || p.A == p.B {
			return fmt.Errorf("paths[%d]: %q-%q: expected two different chains of the chains list", i, p.A, p.B)
		}
	}
	o := c.Options()
	return o.defaults()
}

// Options returns the configuration's tuning as Options.
func (c *Config) Options() Options {
	return Options{
		PollInterval:   time.Duration(c.PollInterval),
		MaxMsgs:        c.MaxMsgs,
		MaxTxBytes:     c.MaxTxBytes,
		ResubmitAfter:  time.Duration(c.ResubmitAfter),
		ResyncInterval: time.Duration(c.ResyncInterval),
		IdleRefresh:    time.Duration(c.IdleRefresh),
	}
}

func rpcURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "tcp://")
}

// rpcTimeoutSeconds bounds one RPC request to a node (a hung node must not hold the
// relayer's submissions to its chain forever).
const rpcTimeoutSeconds = 30

// LoadKeyFile reads the private key of a keystore key file (<dir>/<name>.json).
func LoadKeyFile(path string) (crypto.PrivKey, error) {
	ks, err := crypto.OpenKeystore(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	name := strings.TrimSuffix(filepath.Base(path), ".json")
	k, err := ks.Signer(name)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return k, nil
}

// Connect opens the chains of the configuration over HTTP and returns a relayer that
// logs to logger.
func (c *Config) Connect(logger *slog.Logger) (*Relayer, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	opts := c.Options()
	opts.Logger = logger
	var chains []*Chain
	for _, ch := range c.Chains {
		kf := ch.KeyFile
		if !filepath.IsAbs(kf) && c.dir != "" {
			kf = filepath.Join(c.dir, kf)
		}
		key, err := LoadKeyFile(kf)
		if err != nil {
			return nil, fmt.Errorf("relayer: chain %s: %w", ch.ID, err)
		}
		var eps []Endpoint
		for _, u := range append([]string{ch.RPC}, ch.BackupRPC...) {
			rpc, err := rpchttp.NewWithTimeout(u, "/websocket", rpcTimeoutSeconds)
			if err != nil {
				return nil, fmt.Errorf("relayer: chain %s: rpc %s: %w", ch.ID, u, err)
			}
			eps = append(eps, rpc)
		}
		// The first node's websocket pushes new blocks; without it the relayer polls.
		if err := eps[0].(*rpchttp.HTTP).Start(); err != nil {
			logger.Warn("relayer: no websocket, polling only", "chain", ch.ID, "rpc", ch.RPC, "err", err)
		}
		var ep Endpoint = eps[0]
		if len(eps) > 1 {
			if ep, err = NewFailover(eps...); err != nil {
				return nil, err
			}
		}
		chain, err := NewChain(ch.ID, ep, key)
		if err != nil {
			return nil, err
		}
		chains = append(chains, chain)
	}
	return New(chains, c.Paths, opts)
}
