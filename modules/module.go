// Package modules defines the contract between Lian's application and its business
// modules, and the context a message handler runs in.
//
// A module is a package under modules/ that gives the app one Module value: its name and
// store prefix, its message types (decoder, roles allowed to send, handler), its queries and
// its genesis. The app authenticates the sender, checks the nonce and the roles, and runs
// the handler on a branch of the state that is merged only if every message of the
// transaction succeeds. Handlers read and write only their module's prefix (ctx.Store) and
// call other modules through small interfaces they declare.
package modules

import (
	"encoding/json"
	"sync"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/store"
	"github.com/lianchain/lian/txs"
)

// Module describes one business module to the app.
type Module interface {
	// Name is the module's name, e.g. "evidence"; its store prefix is Name()+"/".
	Name() string
	// Msgs lists the module's message types.
	Msgs() []MsgType
	// InitGenesis writes the module's genesis state; raw may be nil.
	InitGenesis(ctx *Context, raw json.RawMessage) error
	// Query answers a query on a path below the module's name. It returns the store key the
	// answer was read from (relative to the module prefix; nil if the answer is not a single
	// stored value) and the value, so the app can attach a proof of it.
	Query(ctx *QueryContext, path string, data []byte) (key, value []byte, err error)
}

// InvariantChecker is implemented by a module whose state obeys rules that no single
// handler checks on its own (every account's organisation exists; no packet commitment at
// or past a route's next sequence). CheckInvariants reads the module's whole prefix, kv,
// and returns what is broken, naming the key. It reads every key: it is for tests (run
// after every block) and for operators' checks, never for blocks.
type InvariantChecker interface {
	CheckInvariants(kv store.Reader) error
}

// MsgType describes one message type of a module.
type MsgType struct {
	// TypeURL names the type, e.g. "/lian.evidence.v1.MsgAnchor".
	TypeURL string
	// Decode decodes the message strictly (errcode.TxMalformed on bad input).
	Decode func([]byte) (txs.Msg, error)
	// Roles are the roles of which the sender needs at least one; empty means any
	// registered, active account.
	Roles []string
	// Handle executes the message.
	Handle func(ctx *Context, msg txs.Msg) error
}

// Prefix returns the store prefix of a module name. The slice is shared: callers must
// not modify it (appending to it copies it).
func Prefix(name string) []byte {
	if p, ok := prefixes.Load(name); ok {
		return p.([]byte)
	}
	p := []byte(name + "/")
	p = p[:len(p):len(p)]
	prefixes.Store(name, p)
	return p
}

// prefixes caches Prefix: it is asked for on every transaction, for a handful of names.
var prefixes sync.Map // module name -> []byte

// Account is the authenticated sender of a transaction, as the handlers see it.
type Account struct {
	Address crypto.Address
	Org     string
	Roles   []string
}

// HasRole reports whether the account has the role.
func (a *Account) HasRole(role string) bool {
	for _, r := range a.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// Context is what a message handler runs with. Everything in it is deterministic: block
// height and time come from the block header.
type Context struct {
	ChainID string
	Height  int64
	Time    time.Time
	TxHash  txs.Hash
	Sender  *Account
	// Store is the module's own prefix of the transaction's branch.
	Store store.KV
	// CheckOnly is set in CheckTx, where writes are discarded after the mempool admits the tx.
	CheckOnly bool
	// Recheck is set when the mempool checks again a tx it admitted: what was verified
	// then and cannot change (signatures, Merkle proofs) need not be verified again.
	// A block verifies everything.
	Recheck bool

	module  string   // the module whose prefix Store is
	root    store.KV // the whole state the module prefixes are cut from
	events  *[]abci.Event
	effects *Effects
	noop    *bool
}

// Effects are what executed messages ask of consensus, returned by FinalizeBlock.
type Effects struct {
	// Validators are validator power changes (power 0 removes), in order.
	Validators []abci.ValidatorUpdate
	// Params, if set, changes consensus parameters: each part set (block limits, the
	// vote extensions' enable height) replaces that part.
	Params *cmtproto.ConsensusParams
}

// Merge appends src's effects to e's, as if asked after them: validator changes in
// order, and each part of the consensus parameters src sets replaces e's.
func (e *Effects) Merge(src *Effects) {
	e.Validators = append(e.Validators, src.Validators...)
	p := src.Params
	if p == nil {
		return
	}
	if e.Params == nil {
		e.Params = &cmtproto.ConsensusParams{}
	}
	if p.Block != nil {
		e.Params.Block = p.Block
	}
	if p.Abci != nil {
		e.Params.Abci = p.Abci
	}
}

// NewContext returns a context for the module named module over root (the whole state:
// the context's Store is root's prefix of the module).
func NewContext(chainID string, height int64, t time.Time, txHash txs.Hash, sender *Account, root store.KV, module string) *Context {
	sh := new(shared)
	return &Context{ChainID: chainID, Height: height, Time: t, TxHash: txHash, Sender: sender,
		Store: store.Prefixed(root, Prefix(module)), module: module, root: root,
		events: &sh.events, effects: &sh.effects, noop: &sh.noop}
}

// shared is what a context shares with those For returns, in one allocation.
type shared struct {
	events  []abci.Event
	effects Effects
	noop    bool
}

// For returns a context for another module's state, sharing this one's events and
// effects. A module calls it only inside the functions it exports for other modules
// (e.g. identity's org registry), never to touch another module's keys directly.
func (c *Context) For(module string) *Context {
	d := *c
	d.module = module
	d.Store = store.Prefixed(c.root, Prefix(module))
	return &d
}

// Branch returns a context whose writes, events and effects are kept apart until
// Commit; dropping it discards them. Use it to run something that may fail halfway (a
// proposal's execution) without failing the transaction.
func (c *Context) Branch() *BranchContext {
	b := store.NewBranch(c.root)
	d := *c
	d.root = b
	d.Store = store.Prefixed(b, Prefix(c.module))
	sh := new(shared)
	d.events, d.effects = &sh.events, &sh.effects
	return &BranchContext{Context: &d, branch: b, parent: c}
}

// BranchContext is a Context on a branch of its parent's state.
type BranchContext struct {
	*Context
	branch *store.Branch
	parent *Context
}

// Commit applies the branch's writes, events and effects to the parent context.
func (b *BranchContext) Commit() {
	b.branch.Write()
	*b.parent.events = append(*b.parent.events, *b.Context.events...)
	b.parent.effects.Merge(b.Context.effects)
}

// UpdateValidator asks consensus to set the power of an ed25519 validator key (0
// removes it). The caller has checked that the change leaves a valid validator set.
func (c *Context) UpdateValidator(pubKey []byte, power int64) {
	c.effects.Validators = append(c.effects.Validators, abci.UpdateValidator(pubKey, power, "ed25519"))
}

// UpdateBlockParams asks consensus to change the block limits.
func (c *Context) UpdateBlockParams(maxBytes, maxGas int64) {
	c.effects.Merge(&Effects{Params: &cmtproto.ConsensusParams{Block: &cmtproto.BlockParams{MaxBytes: maxBytes, MaxGas: maxGas}}})
}

// UpdateVoteExtensionsHeight asks consensus to turn vote extensions on from height h.
// The caller has checked what CometBFT requires of the change (h after the current
// height, extensions not on yet): consensus halts on an update it refuses.
func (c *Context) UpdateVoteExtensionsHeight(h int64) {
	c.effects.Merge(&Effects{Params: &cmtproto.ConsensusParams{Abci: &cmtproto.ABCIParams{VoteExtensionsEnableHeight: h}}})
}

// Effects returns what the context's messages asked of consensus.
func (c *Context) Effects() *Effects { return c.effects }

// Emit records a typed event. Attributes keep their order; those made with Indexed can
// be searched for in the node's transaction index. In CheckTx (CheckOnly) it records
// nothing: the mempool's answer carries no events.
func (c *Context) Emit(typ string, attrs ...Attr) {
	if c.CheckOnly {
		return // CheckTx returns no events
	}
	ev := abci.Event{Type: typ, Attributes: make([]abci.EventAttribute, len(attrs))}
	for i, a := range attrs {
		ev.Attributes[i] = abci.EventAttribute{Key: a.Key, Value: a.Value, Index: a.Index}
	}
	*c.events = append(*c.events, ev)
}

// Events returns the events emitted so far, in order.
func (c *Context) Events() []abci.Event { return *c.events }

// Attr is one event attribute.
type Attr struct {
	Key, Value string
	Index      bool
}

// A returns an attribute that is not indexed.
func A(key, value string) Attr { return Attr{Key: key, Value: value} }

// Indexed returns an attribute the node indexes, so transactions can be found by it
// (e.g. lian.evidence.anchored.digest='…'). Index only what is looked up: every indexed
// attribute is a write to the index per transaction.
func Indexed(key, value string) Attr { return Attr{Key: key, Value: value, Index: true} }

// QueryContext is what a query runs with: a read-only view of committed state.
type QueryContext struct {
	ChainID string
	Height  int64
	// Time is the time of the last block the node executed (the wall clock before the
	// first one): what time-dependent views, such as a client's expiry, are judged at.
	Time time.Time
	// Store is the module's prefix of the state at Height.
	Store store.Reader
	// Root is the whole state at Height; For reads another module's prefix of it.
	Root store.Reader
}

// For returns another module's prefix of the state the query reads.
func (c *QueryContext) For(module string) store.Reader {
	return store.Prefixed(store.ReadOnly(c.Root), Prefix(module))
}

// NoOp marks the message being handled as redundant: it changed nothing because what
// it asks for was done already (a packet relayed twice). CheckTx refuses a transaction
// whose messages are all redundant, so it takes no block space; in a block it succeeds.
func (c *Context) NoOp() { *c.noop = true }

// IsNoOp reports whether the handler marked the message redundant.
func (c *Context) IsNoOp() bool { return *c.noop }

// Module returns the name of the module whose prefix the context's Store is.
func (c *Context) Module() string { return c.module }
