package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	cmtcfg "github.com/cometbft/cometbft/config"
	cmtlog "github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/libs/service"
	cmtnode "github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/proxy"
	sm "github.com/cometbft/cometbft/state"
	"github.com/cometbft/cometbft/types"
	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"
)

// pollInterval is how often WaitForHeight / WaitReady look at the node.
const pollInterval = 20 * time.Millisecond

// Node is one running CometBFT node with an in-process application.
type Node struct {
	home    string
	cfg     *cmtcfg.Config
	chainID string
	cn      *cmtnode.Node
	dbs     *dbTracker
	peers   *peerKeeper
	reann   *reannouncer
	state   sm.Store   // CometBFT's state: the last block the app has applied
	feed    *indexFeed // nil when the kv index is off
	timed   *timedApp

	stopOnce sync.Once
	stopErr  error
}

// dbTracker wraps a DBProvider and remembers every DB it opened. CometBFT's
// Node.OnStop does not close the tx indexer DB (and nothing is closed when
// NewNode or Start fail), which would keep the goleveldb lock and make a
// restart in the same process fail.
type dbTracker struct {
	mu     sync.Mutex
	opened []trackedDB
}

type trackedDB struct {
	id string
	db dbm.DB
}

func (t *dbTracker) provider(ctx *cmtcfg.DBContext) (dbm.DB, error) {
	var db dbm.DB
	var err error
	// The evidence store is written only when a validator misbehaves: it keeps
	// goleveldb's defaults (a 4 MiB memtable). goleveldb allocates a memtable's
	// whole capacity up front, and the Go GC counts it as live heap.
	if dbm.BackendType(ctx.Config.DBBackend) == dbm.GoLevelDBBackend && ctx.ID != "evidence" {
		db, err = dbm.NewGoLevelDBWithOpts(ctx.ID, ctx.Config.DBDir(), levelDBOptions())
	} else {
		db, err = cmtcfg.DefaultDBProvider(ctx)
	}
	if err != nil {
		return nil, err
	}
	db = shutdownSafeDB{db}
	t.mu.Lock()
	t.opened = append(t.opened, trackedDB{id: ctx.ID, db: db})
	t.mu.Unlock()
	return db, nil
}

// shutdownSafeDB answers reads of a closed database as "not found" instead of failing.
// CometBFT v0.40's consensus reactor does not wait for its per-peer gossip goroutines
// when it stops; one (queryMaj23Routine) can wake from a 2 s sleep after the block store
// is closed and read it, and the block store panics on any read error ("leveldb:
// closed"). Nothing is written or decided after Stop, so an empty answer is harmless.
type shutdownSafeDB struct{ dbm.DB }

func (d shutdownSafeDB) Get(key []byte) ([]byte, error) {
	v, err := d.DB.Get(key)
	if errors.Is(err, leveldb.ErrClosed) {
		return nil, nil
	}
	return v, err
}

func (d shutdownSafeDB) Has(key []byte) (bool, error) {
	ok, err := d.DB.Has(key)
	if errors.Is(err, leveldb.ErrClosed) {
		return false, nil
	}
	return ok, err
}

// closedByComet lists the DBs CometBFT's Node.OnStop closes itself.
var closedByComet = map[string]bool{"blockstore": true, "state": true, "evidence": true}

// close closes the tracked DBs; with all=false only those CometBFT leaves open.
func (t *dbTracker) close(all bool) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	var errs []error
	for _, d := range t.opened {
		if !all && closedByComet[d.id] {
			continue
		}
		if err := d.db.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close %s db: %w", d.id, err))
		}
	}
	t.opened = nil
	return errors.Join(errs...)
}

// ExtendedCommitSource is where an application reads blocks' extended commits (the
// precommits with their vote extensions), which CometBFT's RPC does not serve: the
// node's block store. It is an alias of an unnamed interface, so an application
// implements ExtendedCommitServer without importing this package.
type ExtendedCommitSource = interface {
	LoadBlockExtendedCommit(height int64) *types.ExtendedCommit
}

// ExtendedCommitServer is implemented by an application that serves extended commits
// (app.App, over ABCI queries). Start hands it the node's block store once the node
// is created, before the node starts.
type ExtendedCommitServer interface {
	SetExtendedCommits(src ExtendedCommitSource)
}

// GenesisParamsReader is implemented by an application that needs the consensus
// parameters of the chain's genesis on every start, not only at InitChain (app.App:
// governance checks parameter changes against them). Start hands them before the
// node replays or executes any block.
type GenesisParamsReader interface {
	SetGenesisConsensusParams(p *types.ConsensusParams)
}

// Start loads the home written by InitNetwork (config.toml is re-read from
// disk so an operator can edit it; relative paths in it are resolved against
// the home), validates the key files (returning errors where CometBFT would
// call os.Exit), and starts CometBFT with proxy.NewLocalClientCreator(app).
// logger may be nil (=> no-op logger).
//
// The node starts in block sync; use WaitReady before broadcasting txs.
func Start(home string, app abci.Application, logger cmtlog.Logger) (*Node, error) {
	if app == nil {
		return nil, errors.New("start node: nil application")
	}
	if logger == nil {
		logger = cmtlog.NewNopLogger()
	}
	abs, err := filepath.Abs(home)
	if err != nil {
		return nil, fmt.Errorf("start node: %w", err)
	}
	conf, err := LoadConfig(abs)
	if err != nil {
		return nil, fmt.Errorf("start node %s: %w", abs, err)
	}
	if conf.PrivValidatorListenAddr != "" {
		// A remote signer is used instead of the key file.
		return nil, fmt.Errorf("start node %s: priv_validator_laddr is not supported", abs)
	}
	pv, err := loadPrivValidator(conf.PrivValidatorKeyFile(), conf.PrivValidatorStateFile())
	if err != nil {
		return nil, fmt.Errorf("start node %s: %w", abs, err)
	}
	nodeKey, err := loadNodeKey(conf.NodeKeyFile())
	if err != nil {
		return nil, fmt.Errorf("start node %s: %w", abs, err)
	}
	genDoc, err := types.GenesisDocFromFile(conf.GenesisFile())
	if err != nil {
		return nil, fmt.Errorf("start node %s: %w", abs, err)
	}
	if err := os.MkdirAll(conf.DBDir(), 0o700); err != nil {
		return nil, fmt.Errorf("start node %s: %w", abs, err)
	}

	dbs := &dbTracker{}
	served, _ := app.(ExtendedCommitServer)
	if g, ok := app.(GenesisParamsReader); ok {
		g.SetGenesisConsensusParams(genDoc.ConsensusParams)
	}
	var opts []cmtnode.Option
	if pv, ok := app.(Preverifier); ok {
		opts = append(opts, withPreverify(pv))
	}
	timed := newTimedApp(app)
	app = timed
	// The kv index is fed from the application's FinalizeBlock responses
	// (indexFeed); it needs the saved responses to fill what it did not see.
	var feed *indexFeed
	feedIndex := conf.TxIndex.Indexer == "kv" && !conf.Storage.DiscardABCIResponses
	if feedIndex {
		feed = newIndexFeed(logger.With("module", "txindex"))
		app = &feedingApp{Application: app, feed: feed}
	}
	cn, err := cmtnode.NewNodeWithContext(
		context.Background(),
		conf,
		pv,
		nodeKey,
		proxy.NewLocalClientCreator(app),
		func() (*types.GenesisDoc, error) { return genDoc, nil },
		dbs.provider,
		cmtnode.DefaultMetricsProvider(conf.Instrumentation),
		logger,
		opts...,
	)
	if err != nil {
		_ = dbs.close(true)
		return nil, fmt.Errorf("start node %s: create: %w", abs, err)
	}
	if served != nil {
		served.SetExtendedCommits(cn.BlockStore())
	}
	env, err := cn.ConfigureRPC()
	if err != nil {
		_ = cn.EventBus().Stop()
		_ = cn.ProxyApp().Stop()
		_ = dbs.close(true)
		return nil, fmt.Errorf("start node %s: %w", abs, err)
	}
	if feedIndex {
		stores := indexStores{
			blocks: env.BlockStore, results: env.StateStore,
			txIndexer: env.TxIndexer, blockIndexer: env.BlockIndexer,
		}
		fixed, err := repairIndex(stores, indexRepairWindow)
		if err == nil {
			err = feed.start(stores, cn.EventBus())
		}
		if err != nil {
			_ = cn.EventBus().Stop()
			_ = cn.ProxyApp().Stop()
			_ = dbs.close(true)
			return nil, fmt.Errorf("start node %s: index: %w", abs, err)
		}
		if len(fixed) > 0 {
			logger.Info("re-indexed blocks whose indexing a stop cut short", "heights", fixed)
		}
	}
	// The switch knows the persistent peers (NewNode added them); the peer
	// keeper, not OnStart, dials them (see peerKeeper).
	persistent := conf.P2P.PersistentPeers
	conf.P2P.PersistentPeers = ""
	err = cn.Start()
	conf.P2P.PersistentPeers = persistent
	if err != nil {
		// OnStart cleaned up its listeners; stop what NewNode started.
		_ = cn.EventBus().Stop()
		_ = cn.ProxyApp().Stop()
		if feed != nil {
			feed.stop()
		}
		_ = dbs.close(true)
		return nil, fmt.Errorf("start node %s: %w", abs, err)
	}
	keeper := startPeerKeeper(switchDialer{cn.Switch()}, conf.P2P.PersistentPeers, logger.With("module", "peers"))
	reann := startReannouncer(cn.Mempool(), cn.BlockStore().Height, cn.Switch(), conf.Mempool.MaxTxBytes, logger.With("module", "reannounce"))
	return &Node{home: abs, cfg: conf, chainID: genDoc.ChainID, cn: cn, dbs: dbs, peers: keeper, reann: reann, state: env.StateStore, feed: feed, timed: timed}, nil
}

// Stop stops the node and waits until it has stopped. It is safe to call
// twice (and after the CometBFT node was stopped through CometNode()).
func (n *Node) Stop() error {
	n.stopOnce.Do(func() {
		n.peers.Stop()
		n.reann.Stop()
		err := n.cn.Stop()
		switch {
		case err == nil, errors.Is(err, service.ErrAlreadyStopped):
			n.cn.Wait()
			err = nil
		case errors.Is(err, service.ErrNotStarted):
			err = nil
		}
		if perr := n.cn.ProxyApp().Stop(); perr != nil && !errors.Is(perr, service.ErrAlreadyStopped) {
			err = errors.Join(err, perr)
		}
		if n.feed != nil {
			n.feed.stop() // consensus has stopped: no block comes after those queued
		}
		n.stopErr = errors.Join(err, n.dbs.close(false))
	})
	return n.stopErr
}

// Home returns the absolute path of the node's home.
func (n *Node) Home() string { return n.home }

// Config returns the configuration the node was started with.
func (n *Node) Config() *cmtcfg.Config { return n.cfg }

// RPCAddr returns the "host:port" the RPC listens on (the first address of
// rpc.laddr, without the tcp:// scheme).
func (n *Node) RPCAddr() string {
	addr, _, _ := strings.Cut(n.cfg.RPC.ListenAddress, ",")
	addr = strings.TrimSpace(addr)
	if _, rest, ok := strings.Cut(addr, "://"); ok {
		addr = rest
	}
	return addr
}

// RPCURL returns "http://host:port" for the RPC. A wildcard listen host
// (0.0.0.0, ::) is replaced by the matching loopback address so the URL can
// be dialed.
func (n *Node) RPCURL() string {
	addr := n.RPCAddr()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// Phases returns the wall-clock times of the steps of the node's blocks so far.
func (n *Node) Phases() Phases { return n.timed.Phases() }

// ChainID returns the chain id from genesis.
func (n *Node) ChainID() string { return n.chainID }

// CometNode returns the underlying CometBFT node (escape hatch, e.g. for an
// in-process RPC client via rpc/client/local).
func (n *Node) CometNode() *cmtnode.Node { return n.cn }

// Height returns the latest committed block height from the block store.
func (n *Node) Height() int64 { return n.cn.BlockStore().Height() }

// IsSyncing reports whether the node is still in block sync (or state
// sync); while it is, broadcast_tx_* is rejected with "catching up".
func (n *Node) IsSyncing() bool {
	if r, ok := n.cn.MempoolReactor().(interface{ WaitSync() bool }); ok && r.WaitSync() {
		return true
	}
	return n.cn.ConsensusReactor().WaitSync()
}

// WaitForHeight polls every 20ms until the node's committed height is >= h,
// ctx ends, or the node stops.
func (n *Node) WaitForHeight(ctx context.Context, h int64) error {
	return n.poll(ctx, func() bool { return n.Height() >= h },
		func() string { return fmt.Sprintf("height %d (at %d)", h, n.Height()) })
}

// WaitReady waits until the node accepts transactions: it has left block
// sync and its application has applied at least one block (AppliedHeight >= 1),
// so queries at the latest height succeed.
func (n *Node) WaitReady(ctx context.Context) error {
	return n.poll(ctx, func() bool { return n.AppliedHeight() >= 1 && !n.IsSyncing() },
		func() string {
			return fmt.Sprintf("ready (applied height %d, syncing %v)", n.AppliedHeight(), n.IsSyncing())
		})
}

// AppliedHeight returns the last height the application has executed and committed
// (its state answers queries at it). The block store (Height) can be one block ahead:
// a decided block is saved before the application runs it.
func (n *Node) AppliedHeight() int64 {
	st, err := n.state.Load()
	if err != nil {
		return 0
	}
	return st.LastBlockHeight
}

func (n *Node) poll(ctx context.Context, cond func() bool, what func() string) error {
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		if cond() {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("node %s: waiting for %s: %w", n.cfg.Moniker, what(), ctx.Err())
		case <-n.cn.Quit():
			return fmt.Errorf("node %s: stopped while waiting for %s", n.cfg.Moniker, what())
		case <-t.C:
		}
	}
}

// LoadGenesis reads the genesis of a home (config/genesis.json, or the
// genesis_file named in config.toml) and returns the chain id and app_state;
// callers use it to build the application before Start.
func LoadGenesis(home string) (chainID string, appState json.RawMessage, err error) {
	path := filepath.Join(home, cmtcfg.DefaultConfigDir, cmtcfg.DefaultGenesisJSONName)
	if _, statErr := os.Stat(ConfigFile(home)); statErr == nil {
		conf, err := LoadConfig(home)
		if err != nil {
			return "", nil, err
		}
		path = conf.GenesisFile()
	}
	gen, err := types.GenesisDocFromFile(path)
	if err != nil {
		return "", nil, err
	}
	return gen.ChainID, gen.AppState, nil
}

// levelDBOptions tunes goleveldb for CometBFT's write-mostly stores (blocks, states, the
// tx index): a 32 MiB memtable and 8 MiB tables make compactions fewer and larger; blocks
// are mostly signatures and hashes, so snappy compression costs CPU for little space.
func levelDBOptions() *opt.Options {
	return &opt.Options{
		WriteBuffer:         32 << 20,
		CompactionTableSize: 8 << 20,
		CompactionL0Trigger: 8,
		CompactionTotalSize: 64 << 20,
		Compression:         opt.NoCompression,
	}
}
