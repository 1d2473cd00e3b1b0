package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync/atomic"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtcrypto "github.com/cometbft/cometbft/proto/tendermint/crypto"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules"
	"github.com/lianchain/lian/modules/attest"
	"github.com/lianchain/lian/modules/credits"
	"github.com/lianchain/lian/modules/evidence"
	"github.com/lianchain/lian/modules/gov"
	"github.com/lianchain/lian/modules/identity"
	"github.com/lianchain/lian/modules/message"
	"github.com/lianchain/lian/modules/xchain"
	"github.com/lianchain/lian/store"
	"github.com/lianchain/lian/txs"
)

// Version is the application's version string reported in Info.
const Version = "0.1.0"

// AppVersion is the protocol version of the state machine.
const AppVersion uint64 = 1

// appPrefix holds the app's own keys.
var appPrefix = []byte("app/")

var keyChainID = []byte("app/chain_id")

// Event types the pipeline emits for every executed transaction.
const (
	EventTx      = "lian.tx"      // sender, nonce
	EventMessage = "lian.message" // type: the message's type URL, module
)

type route struct {
	module  modules.Module
	msgType modules.MsgType
}

// App is the ABCI application of one Lian chain.
type App struct {
	abci.BaseApplication

	store   *store.Store
	mods    []modules.Module
	routes  map[string]route
	chainID string

	check    *store.Branch // CheckTx state over the last commit
	known    *txCache      // transactions this node admitted in CheckTx
	pre      *preverified  // transactions from peers whose signatures Preverify checked
	keyCache *keyCache
	// lastTime is the time of the last block executed (zero until the first block
	// after a start).
	lastTime time.Time
	// lastWall is when (wall clock) the last block was executed: CheckTx's clock is
	// lastTime advanced by the wall-clock time since, so that on an idle chain (an empty
	// block only every 30 s) a counterparty header is not judged from the future.
	lastWall time.Time

	// pending is the block executed in ExtendVote and not yet finalized: its writes
	// are in the store's working tree (nil when there is none).
	pending *execution
	// genesis are InitChain's writes, in order, until the first Commit saves them:
	// the working tree holds them under a block's, and discarding a block's writes
	// (rollback) applies them again.
	genesis *writeLog
	// commits serves the extended commits of blocks (SetExtendedCommits).
	commits atomic.Pointer[ExtendedCommitSource]
}

// EndBlocker is implemented by modules with work at the end of every block (e.g.
// closing proposals whose deadline passed). It runs after the block's transactions;
// its events are the block's events.
type EndBlocker interface {
	EndBlock(ctx *modules.Context) error
}

// New returns the application over st with Lian's modules.
func New(st *store.Store) (*App, error) {
	id, cr, ev, xc := identity.New(), credits.New(), evidence.New(), xchain.New()
	at, msg := attest.New(xc, ev), message.New(xc)
	xc.Bind(attest.Name, at)
	xc.Bind(message.Name, msg)
	a := &App{
		store:    st,
		mods:     []modules.Module{id, cr, gov.New(id, cr, xc), ev, xc, at, msg},
		routes:   map[string]route{},
		known:    newTxCache(200_000),
		pre:      newPreverified(1 << 16),
		keyCache: newKeyCache(20_000),
	}
	for _, m := range a.mods {
		for _, mt := range m.Msgs() {
			if _, dup := a.routes[mt.TypeURL]; dup {
				return nil, fmt.Errorf("app: message type %s registered twice", mt.TypeURL)
			}
			a.routes[mt.TypeURL] = route{module: m, msgType: mt}
		}
	}
	if v := st.Committed().Get(keyChainID); v != nil {
		a.chainID = string(v)
	}
	// Evidence digests are looked up before they exist (CheckTx on every node):
	// a presence filter ends most of those lookups without a database read.
	if err := st.TrackPrefix(append(modules.Prefix(evidence.Name), evidence.Key(nil)...)); err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	a.resetCheckState()
	return a, nil
}

// ChainID returns the chain id (empty before InitChain).
func (a *App) ChainID() string { return a.chainID }

// Store returns the application's state store.
func (a *App) Store() *store.Store { return a.store }

func (a *App) resetCheckState() {
	a.check = store.NewBranch(store.ReadOnly(a.store.Committed()))
}

// Info implements abci.Application.
func (a *App) Info(context.Context, *abci.RequestInfo) (*abci.ResponseInfo, error) {
	res := &abci.ResponseInfo{Data: "lian", Version: Version, AppVersion: AppVersion}
	if v := a.store.Version(); v > 0 {
		res.LastBlockHeight = v
		res.LastBlockAppHash = a.store.LastHash()
	}
	return res, nil
}

// Genesis is the app_state of a chain's genesis: one entry per module, by module name.
type Genesis map[string]json.RawMessage

// InitChain implements abci.Application: it writes every module's genesis and checks that
// every genesis validator is run by a genesis organisation, and that the state it
// writes keeps every module's invariants.
func (a *App) InitChain(_ context.Context, req *abci.RequestInitChain) (*abci.ResponseInitChain, error) {
	a.store.Rollback()
	a.pending, a.genesis = nil, nil
	var g Genesis
	if err := json.Unmarshal(req.AppStateBytes, &g); err != nil {
		return nil, fmt.Errorf("app genesis: %w", err)
	}
	for name := range g {
		known := false
		for _, m := range a.mods {
			known = known || m.Name() == name
		}
		if !known {
			return nil, fmt.Errorf("app genesis: unknown module %q", name)
		}
	}
	if req.ChainId == "" {
		return nil, fmt.Errorf("app genesis: empty chain id")
	}
	a.chainID = req.ChainId
	if cp := req.ConsensusParams; cp != nil && cp.Abci != nil {
		a.gov().SetGenesisVoteExtensionsHeight(cp.Abci.VoteExtensionsEnableHeight)
	}
	// The genesis writes go to the working tree in their order (the tree's shape, so the
	// app hash, depends on it), and are recorded to be applied again after a rollback.
	gen := &writeLog{KV: a.store}
	gen.Set(keyChainID, []byte(req.ChainId))
	var zero txs.Hash
	for _, m := range a.mods {
		ctx := modules.NewContext(req.ChainId, req.InitialHeight, req.Time, zero, nil, gen, m.Name())
		if err := m.InitGenesis(ctx, g[m.Name()]); err != nil {
			return nil, err
		}
	}
	var ig identity.Genesis
	if err := json.Unmarshal(g[identity.Name], &ig); err != nil {
		return nil, fmt.Errorf("app genesis: identity: %w", err)
	}
	orgOf := ig.ValidatorOrgs()
	keys := make([][]byte, len(req.Validators))
	powers := make([]int64, len(req.Validators))
	for i, v := range req.Validators {
		pk, ok := v.PubKey.Sum.(*cmtcrypto.PublicKey_Ed25519)
		if !ok {
			return nil, fmt.Errorf("app genesis: validator key type %T: only ed25519 is supported", v.PubKey.Sum)
		}
		if _, ok := orgOf[string(pk.Ed25519)]; !ok {
			return nil, fmt.Errorf("app genesis: validator %X is not run by any organisation in the identity genesis", pk.Ed25519)
		}
		keys[i], powers[i] = pk.Ed25519, v.Power
	}
	a.identity().InitValidators(modules.NewContext(req.ChainId, req.InitialHeight, req.Time, zero, nil, gen, identity.Name), keys, powers, orgOf)
	// The modules' invariants hold from the start: this also catches what the checks
	// above look at from one side only (an organisation listing a key that is not a
	// consensus validator, two organisations listing one key, a power out of bounds).
	if err := a.checkInvariants(a.store); err != nil {
		return nil, fmt.Errorf("app genesis: %w", err)
	}
	a.genesis, a.pending = gen, nil
	// Until block 1 commits, CheckTx sees the genesis state being built.
	a.check = store.NewBranch(store.ReadOnly(a.store))
	return &abci.ResponseInitChain{AppHash: a.store.WorkingHash()}, nil
}

// identity returns the identity module.
func (a *App) identity() *identity.Module { return a.mods[0].(*identity.Module) }

// gov returns the governance module.
func (a *App) gov() *gov.Module { return a.mods[2].(*gov.Module) }

// SetGenesisConsensusParams tells the app the consensus parameters of the chain's
// genesis. The node calls it before it replays or executes any block (a chain that
// resumes gets no InitChain): governance checks a change of the vote extensions'
// enable height against them, since consensus halts on an update it refuses.
func (a *App) SetGenesisConsensusParams(p *cmttypes.ConsensusParams) {
	a.gov().SetGenesisVoteExtensionsHeight(p.ABCI.VoteExtensionsEnableHeight)
}

// CheckTx implements abci.Application.
func (a *App) CheckTx(_ context.Context, req *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) {
	recheck := req.Type == abci.CheckTxType_Recheck
	now := a.checkTime()
	// CheckTx judges a tx as if in the next block: its height and (about) its time.
	var res *abci.ExecTxResult
	if err := guard("check of the transaction", func() error {
		res = a.runTx(a.check, req.Tx, txs.HashOf(req.Tx), modeCheck, recheck, a.store.Version()+1, now, nil)
		return nil
	}); err != nil {
		res = errResult(err)
	}
	return &abci.ResponseCheckTx{Code: res.Code, Codespace: res.Codespace, Log: res.Log}, nil
}

// FinalizeBlock implements abci.Application. A block this node executed already, in
// ExtendVote before its precommit, is not executed again: its result is returned. Any
// other execution pending is discarded first.
func (a *App) FinalizeBlock(_ context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	res := a.takePending(req.Hash, req.Height)
	if res == nil {
		a.discardPending()
		var err error
		if res, err = a.execute(req.Height, req.Time, req.Txs); err != nil {
			return nil, err
		}
	}
	a.lastTime, a.lastWall = req.Time, time.Now()
	return res, nil
}

// execute runs a block's transactions and end-block work on the state after the last
// commit, and writes the block's changes into the store's working tree: the response's
// AppHash is the state after the block. It reads no clock but the block's time.
func (a *App) execute(height int64, blockTime time.Time, blockTxs [][]byte) (*abci.ResponseFinalizeBlock, error) {
	hashes := make([]txs.Hash, len(blockTxs))
	for i, tx := range blockTxs {
		hashes[i] = txs.HashOf(tx)
	}
	a.batchVerify(blockTxs, hashes)
	// The block's writes are buffered and applied to the tree once, in key
	// order: a key written by many txs (an account's nonce) becomes one IAVL
	// Set, and sorted inserts touch fewer tree paths.
	blk := store.NewBranch(a.store)
	effects := &modules.Effects{}
	results := make([]*abci.ExecTxResult, len(blockTxs))
	for i, tx := range blockTxs {
		if err := guard("transaction", func() error {
			results[i] = a.runTx(blk, tx, hashes[i], modeDeliver, false, height, blockTime, effects)
			return nil
		}); err != nil {
			results[i] = errResult(err)
		}
	}
	var zero txs.Hash
	var events []abci.Event
	for _, m := range a.mods {
		eb, ok := m.(EndBlocker)
		if !ok {
			continue
		}
		ctx := modules.NewContext(a.chainID, height, blockTime, zero, nil, blk, m.Name())
		if err := eb.EndBlock(ctx); err != nil {
			return nil, fmt.Errorf("end block %d: %s: %w", height, m.Name(), err)
		}
		events = append(events, ctx.Events()...)
		effects.Merge(ctx.Effects())
	}
	blk.Write()
	return &abci.ResponseFinalizeBlock{
		TxResults:             results,
		Events:                events,
		ValidatorUpdates:      a.validatorUpdates(effects.Validators),
		ConsensusParamUpdates: effects.Params,
		AppHash:               a.store.WorkingHash(),
	}, nil
}

// checkTime is the time CheckTx checks against: the last block's time plus the wall-clock
// time since it was executed (the wall clock before the first block after a start).
// CheckTx is advisory; blocks use their header's time.
func (a *App) checkTime() time.Time {
	if a.lastTime.IsZero() {
		return time.Now()
	}
	return a.lastTime.Add(time.Since(a.lastWall))
}

// validatorUpdates keeps the last update of each key (CometBFT refuses a key twice in
// one block), ordered by key, and drops the removal of a key that was not a validator
// before the block (added and removed again within it): CometBFT would halt on it.
func (a *App) validatorUpdates(ups []abci.ValidatorUpdate) []abci.ValidatorUpdate {
	if len(ups) == 0 {
		return nil
	}
	last := map[string]abci.ValidatorUpdate{}
	for _, u := range ups {
		last[string(u.PubKey.GetEd25519())] = u
	}
	keys := make([]string, 0, len(last))
	for k := range last {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	before := store.Prefixed(store.ReadOnly(a.store.Committed()), modules.Prefix(identity.Name))
	out := make([]abci.ValidatorUpdate, 0, len(keys))
	for _, k := range keys {
		u := last[k]
		if u.Power == 0 {
			if v, err := identity.GetValidator(before, []byte(k)); err == nil && v == nil {
				continue
			}
		}
		out = append(out, u)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// Commit implements abci.Application.
func (a *App) Commit(context.Context, *abci.RequestCommit) (*abci.ResponseCommit, error) {
	if _, _, err := a.store.Commit(); err != nil {
		return nil, err
	}
	a.pending, a.genesis = nil, nil
	a.resetCheckState()
	return &abci.ResponseCommit{}, nil
}

// CheckInvariants runs the invariants of every module that has some
// (modules.InvariantChecker) over the last committed state, and returns every
// violation found, or nil. It reads the whole state: tests run it after every block.
func (a *App) CheckInvariants() error { return a.checkInvariants(a.store.Committed()) }

func (a *App) checkInvariants(st store.Reader) error {
	var errs []error
	for _, m := range a.mods {
		ic, ok := m.(modules.InvariantChecker)
		if !ok {
			continue
		}
		kv := store.Prefixed(store.ReadOnly(st), modules.Prefix(m.Name()))
		if err := ic.CheckInvariants(kv); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", m.Name(), err))
		}
	}
	return errors.Join(errs...)
}

type mode int

const (
	modeCheck mode = iota
	modeDeliver
)

func errResult(err error) *abci.ExecTxResult {
	return &abci.ExecTxResult{Code: uint32(errcode.Of(err)), Codespace: errcode.Codespace, Log: err.Error()}
}

// decodedTx is a transaction decoded and checked without state: what CheckTx learned
// about it, kept by hash so that rechecks and FinalizeBlock on this node need not decode
// it or verify its signature again.
type decodedTx struct {
	tx     *txs.Tx
	body   *txs.Body
	msgs   []txs.Msg
	routes []route
	msgErr error // the messages do not decode or validate
}

// decode decodes a transaction and its messages, without state.
func (a *App) decode(txBytes []byte) (*decodedTx, error) {
	tx, body, err := decodeEnvelope(txBytes)
	if err != nil {
		return nil, err
	}
	d := &decodedTx{tx: tx, body: body}
	d.msgs, d.routes, d.msgErr = a.decodeMsgs(body)
	return d, nil
}

// decodeEnvelope decodes a transaction's envelope and body, not its messages.
func decodeEnvelope(txBytes []byte) (*txs.Tx, *txs.Body, error) {
	tx, err := txs.DecodeTx(txBytes)
	if err != nil {
		return nil, nil, err
	}
	body, err := txs.DecodeBody(tx.BodyBytes)
	if err != nil {
		return nil, nil, err
	}
	return tx, body, nil
}

// runTx is the transaction pipeline shared by CheckTx and FinalizeBlock. kv is the state
// the transaction runs on: the check state, or the block's working tree.
//
// The order is the design's: decode, chain, sender, signature, nonce, fee; then the roles
// and the messages. A transaction whose fee cannot be charged changes nothing; from the
// charge on, a failing transaction keeps its fee and consumes its nonce. effects
// collects, in a block, what executed messages ask of consensus.
func (a *App) runTx(kv store.KV, txBytes []byte, hash txs.Hash, m mode, recheck bool, height int64, blockTime time.Time, effects *modules.Effects) *abci.ExecTxResult {
	// A transaction this node admitted in CheckTx is known: decoded, signature verified.
	var d *decodedTx
	switch {
	case m == modeDeliver:
		d = a.known.take(hash)
	case recheck:
		d = a.known.get(hash)
	}
	preverified := false
	if d == nil && !recheck {
		// A transaction a peer sent may have been checked in a batch (Preverify).
		d = a.pre.take(hash)
		preverified = d != nil
	}
	known := d != nil
	if !known {
		var err error
		if d, err = a.decode(txBytes); err != nil {
			return errResult(err)
		}
	}
	tx, body := d.tx, d.body
	if body.ChainID != a.chainID {
		return errResult(errcode.New(errcode.WrongChain, "transaction is for chain %q, this is %q", body.ChainID, a.chainID))
	}
	idKV := store.Prefixed(kv, modules.Prefix(identity.Name))
	acct, err := identity.Authenticate(idKV, body.Sender, tx.Algo, tx.PubKey)
	if err != nil {
		return errResult(err)
	}
	// On recheck the signature was verified when the transaction entered the mempool.
	if !known && !recheck {
		if err := a.verifySignature(tx, acct); err != nil {
			return errResult(err)
		}
	}
	nonce := identity.Nonce(idKV, body.Sender)
	if body.Nonce != nonce {
		return errResult(errcode.New(errcode.BadNonce, "nonce %d of %s: expected %d (replayed or out of order)", body.Nonce, body.Sender, nonce))
	}

	// In CheckTx, the fee and the nonce of a transaction refused later must not stay in
	// the check state: they go to a branch written only when the transaction passes.
	st := kv
	var pending *store.Branch
	if m == modeCheck {
		pending = store.NewBranch(kv)
		st = pending
	}
	fee, err := credits.Charge(store.Prefixed(st, modules.Prefix(credits.Name)), body, body.Sender, acct.Org, blockTime)
	if err != nil {
		return errResult(err)
	}

	// From here on the transaction is authentic, in order and paid for. In a block it
	// consumes its nonce and keeps its fee even if a message fails; in CheckTx a failing
	// transaction is simply refused (the check state is rebuilt after each commit).
	bump := func() { identity.SetNonce(store.Prefixed(st, modules.Prefix(identity.Name)), body.Sender, nonce+1) }
	sender := &modules.Account{Address: acct.Address, Org: acct.Org, Roles: acct.Roles}
	// CheckTx answers only a code and a log: events are built for blocks alone.
	var events []abci.Event
	if m == modeDeliver {
		events = make([]abci.Event, 1, 2+2*len(d.msgs))
		events[0] = abci.Event{Type: EventTx, Attributes: []abci.EventAttribute{
			{Key: "sender", Value: body.Sender.String(), Index: true},
			{Key: "nonce", Value: strconv.FormatUint(body.Nonce, 10)},
			{Key: "org", Value: acct.Org, Index: true},
			{Key: "fee", Value: strconv.FormatUint(fee.Credits, 10)},
			{Key: "payer", Value: fee.Payer.String(), Index: true},
		}}
	}
	fail := func(err error) *abci.ExecTxResult {
		res := errResult(err)
		if m == modeDeliver {
			bump()
			// The nonce and the fee were taken: say by whom. The events of messages
			// that ran before the failing one are dropped with their writes.
			res.Events = events[:1]
			res.GasWanted, res.GasUsed = int64(fee.Credits), int64(fee.Credits)
		}
		return res
	}
	if d.msgErr != nil {
		return fail(d.msgErr)
	}
	if err := authorize(d, sender); err != nil {
		return fail(err)
	}
	branch := store.NewBranch(st)
	var txEffects modules.Effects
	noops := 0
	for i, msg := range d.msgs {
		r := d.routes[i]
		ctx := modules.NewContext(a.chainID, height, blockTime, hash, sender, branch, r.module.Name())
		ctx.CheckOnly = m == modeCheck
		ctx.Recheck = recheck
		if err := guard("message handler", func() error { return r.msgType.Handle(ctx, msg) }); err != nil {
			return fail(errcode.New(errcode.Of(err), "message %d (%s): %s", i, r.msgType.TypeURL, errcode.Message(err)))
		}
		if m == modeDeliver {
			events = append(events, abci.Event{Type: EventMessage, Attributes: []abci.EventAttribute{
				{Key: "type", Value: r.msgType.TypeURL},
				{Key: "module", Value: r.module.Name()},
			}})
			events = append(events, ctx.Events()...)
		}
		txEffects.Merge(ctx.Effects())
		if ctx.IsNoOp() {
			noops++
		}
	}
	// A transaction that would change nothing (every message relays what was relayed
	// already) takes no block space: CheckTx refuses it. In a block it succeeds.
	if m == modeCheck && noops > 0 && noops == len(d.msgs) {
		return errResult(errcode.New(errcode.AlreadyExists, "redundant: all %d messages were relayed already", noops))
	}
	bump()
	branch.Write()
	if pending != nil {
		pending.Write()
	}
	if effects != nil {
		effects.Merge(&txEffects)
	}
	if m == modeCheck && !recheck {
		a.known.add(hash, d)
		if !preverified { // take left its own marker
			a.pre.mark(hash)
		}
	}
	return &abci.ExecTxResult{Events: events, GasWanted: int64(fee.Credits), GasUsed: int64(fee.Credits)}
}

// Open opens the state store in dir (a node's data directory) and returns the
// application over it. Close closes the store.
func Open(dir string) (*App, error) {
	st, err := store.Open(dir)
	if err != nil {
		return nil, err
	}
	a, err := New(st)
	if err != nil {
		st.Close()
		return nil, err
	}
	return a, nil
}

// Close closes the application's state store. Call it after the node has stopped.
func (a *App) Close() error { return a.store.Close() }
