package client

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/txs"
)

// Defaults of SenderOptions.
const (
	DefaultSenderWindow         = 1000
	DefaultResubmitAfter        = 15 * time.Second
	DefaultSenderPollInterval   = 100 * time.Millisecond
	DefaultSenderRequestTimeout = 30 * time.Second
	DefaultResultTimeout        = 30 * time.Second
	DefaultMaxRetryDelay        = 2 * time.Second
)

// ErrSenderClosed is returned for transactions a closed Sender gave up on.
var ErrSenderClosed = errors.New("client: sender closed")

// SenderOptions tune a Sender. Zero values select the defaults.
type SenderOptions struct {
	// Window bounds the transactions admitted to the mempool and not yet resolved;
	// submissions wait while it is full (default DefaultSenderWindow).
	Window int
	// ResubmitAfter is how long the lowest admitted transaction may stay uncommitted,
	// its nonce not consumed, before the Sender considers it dropped from the mempool and
	// submits it again, with the same nonce and bytes, and those after it (default
	// DefaultResubmitAfter).
	ResubmitAfter time.Duration
	// PollInterval is how often the account's committed nonce and the new blocks are read
	// while transactions are in flight (default DefaultSenderPollInterval).
	PollInterval time.Duration
	// RequestTimeout bounds one request to the gateway (default
	// DefaultSenderRequestTimeout).
	RequestTimeout time.Duration
	// ResultTimeout is how long the Sender keeps asking for the result of a transaction it
	// saw in a block (the gateway reads results from the nodes' transaction index, which
	// may lag) before it resolves the transaction without its result (default
	// DefaultResultTimeout).
	ResultTimeout time.Duration
	// MaxRetryDelay caps the back-off between retries after transient failures (the
	// gateway or node unavailable, a full mempool, a transport error); default
	// DefaultMaxRetryDelay.
	MaxRetryDelay time.Duration
}

func (o *SenderOptions) defaults() error {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if o.Window == 0 {
		o.Window = DefaultSenderWindow
	}
	def(&o.ResubmitAfter, DefaultResubmitAfter)
	def(&o.PollInterval, DefaultSenderPollInterval)
	def(&o.RequestTimeout, DefaultSenderRequestTimeout)
	def(&o.ResultTimeout, DefaultResultTimeout)
	def(&o.MaxRetryDelay, DefaultMaxRetryDelay)
	switch {
	case o.Window < 1:
		return fmt.Errorf("sender: window %d: expected at least 1", o.Window)
	case o.ResubmitAfter < 0, o.PollInterval < 0, o.RequestTimeout < 0, o.ResultTimeout < 0, o.MaxRetryDelay < 0:
		return errors.New("sender: negative duration in options")
	}
	return nil
}

// Request is one transaction for a Sender: its messages, memo and gas limit (0: none).
type Request struct {
	Msgs     []txs.Msg
	Memo     string
	GasLimit uint64
}

// SenderStats counts what a Sender did.
type SenderStats struct {
	// Admitted counts transactions admitted to the mempool (first admissions).
	Admitted uint64 `json:"admitted"`
	// Committed counts transactions resolved with a block: successful or failed there.
	Committed uint64 `json:"committed"`
	// Refused counts transactions the chain refused (never committed); their Send
	// returned the refusal.
	Refused uint64 `json:"refused"`
	// BadNonce counts bad_nonce answers the Sender recovered from.
	BadNonce uint64 `json:"bad_nonce"`
	// Resubmitted counts admitted transactions submitted again because they were not
	// committed within ResubmitAfter (dropped from the mempool).
	Resubmitted uint64 `json:"resubmitted"`
	// Resigned counts transactions signed again with another nonce: after a refusal of
	// an earlier one freed its nonce, or after another transaction took theirs.
	Resigned uint64 `json:"resigned"`
	// Superseded counts admitted transactions whose nonce another transaction of the
	// account took (another process with the same key); they were signed again.
	Superseded uint64 `json:"superseded"`
	// Retries counts submissions retried after a transient failure.
	Retries uint64 `json:"retries"`
	// NotExecuted counts versions of transactions seen in a block with bad_nonce: the
	// block did not execute them (their nonce was not the account's next one then), so
	// the Sender followed those transactions on instead of returning that result.
	NotExecuted uint64 `json:"not_executed"`
	// Lagging counts bad_nonce answers from a node behind the chain (it expected a nonce
	// already committed); the Sender retried them.
	Lagging uint64 `json:"lagging"`
	// Fillers counts nonce fillers signed (transactions without messages, which only
	// consume a nonce): in place of a transaction refused on its resubmission, and in
	// gaps no transaction of the Sender held.
	Fillers uint64 `json:"fillers"`
}

// Sender sends transactions of one account on one chain, managing the account's nonce:
// many goroutines may call Send and Submit at once. It assigns nonces locally, starting
// from the chain's next nonce; submits one transaction at a time, in nonce order (the
// chain admits exactly the next nonce: a transaction with nonce n+1 arriving before n
// is refused); and follows each admitted transaction until it is committed:
//
//   - bad_nonce: the Sender continues from the nonce the chain expects. Lower than its
//     own: the transactions from that nonce on were lost by the node, and it submits them
//     again (a nonce there that none of them holds gets a nonce filler) — unless the
//     nonce expected is one the chain has committed already: the node is behind (the
//     gateway failed over to it), and the submission is retried. Higher: the account
//     sent transactions elsewhere, and it signs at that nonce.
//   - a transaction admitted but not committed within ResubmitAfter (a mempool dropped it)
//     is submitted again with the same nonce and bytes, followed by the ones after it.
//   - a refusal (a message the chain rejects, missing credits, ...) of a new transaction
//     fails its Send, and the next transaction takes the nonce. An admitted transaction
//     refused on its resubmission (dropped, then invalid) gets a nonce filler — a
//     transaction without messages, which only consumes the nonce — as its new version:
//     the transactions after it keep their nonces, and its Send returns the refusal if
//     the filler runs, or the result of the old version if that one runs instead.
//   - a nonce taken by a transaction the Sender did not send (another process using the
//     key) makes the Sender sign that transaction again with a fresh nonce, once the
//     nonces of all its versions are used.
//   - a version seen in a block with bad_nonce was not executed there: it does not
//     resolve the transaction, which is matched by every hash it was ever signed as.
//   - transient failures (gateway or node unavailable, full mempool, transport errors)
//     are retried with back-off.
//
// Versions at one nonce exclude each other, and a transaction is signed at another nonce
// only once the nonces of all its versions are used, so none is executed twice. The one
// case left: a filler that is itself refused (the account cannot pay for it, or is
// frozen) cannot fill its nonce, and the transactions after it are signed again one
// nonce lower; an old version of one of them surviving in another node's mempool could
// then run too.
//
// The Sender runs background goroutines only while it has transactions to submit or
// follow. Close stops it. It needs the gateway's transaction routes (GET .../txs/{hash})
// for results, so the nodes must keep a transaction index (CometBFT's kv indexer, their
// default).
type Sender struct {
	c     *Client
	chain string
	key   crypto.PrivKey
	addr  crypto.Address
	opts  SenderOptions

	life context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup

	mu          sync.Mutex
	queue       []*item // not admitted (new, or to be signed again), in order
	inflight    []*item // admitted, not resolved, by nonce
	byHash      map[txs.Hash]*item
	next        uint64 // the nonce of the next new signature
	chainNonce  uint64 // the highest committed nonce of the account read so far
	synced      bool   // next and scanned are valid
	scanned     int64  // the last block height searched for this account's transactions
	resubmit    bool   // the admitted transactions from resubmitFrom on are to be submitted again
	resubmitAt  uint64
	submitting  *item // its submission is under way: it cannot be withdrawn
	submitterOn bool
	watcherOn   bool
	wake        chan struct{}
	closed      bool
	stats       SenderStats
}

// item is one transaction of a Sender.
type item struct {
	req Request
	ctx context.Context // the Submit's; consulted until the transaction is first admitted

	// The current signed version.
	signed   bool
	nonce    uint64
	tx       []byte
	hash     txs.Hash
	versions map[txs.Hash]version // every version signed, by hash

	refusal  error // the answer if none of its versions but a filler is executed
	internal bool  // a nonce filler of the Sender's own, filling a gap

	inQueue    bool
	inFlight   bool
	tried      bool // a submission of this version may have reached the chain
	everIn     bool // it was admitted once
	admittedAt time.Time

	// Its versions seen in blocks, in the order seen; the first is being resolved. A
	// version seen with bad_nonce was not executed, and is dropped from the list.
	sightings []sighting

	admitted chan struct{} // closed on the first admission, or when done
	done     chan struct{} // closed when res/err are final
	res      *api.TxResult
	err      error
}

// version is one signed version of an item.
type version struct {
	nonce  uint64
	tx     []byte
	filler bool // a nonce filler: it only consumes the nonce
}

// sighting is a version of an item seen in a block.
type sighting struct {
	hash   txs.Hash
	height int64
	seen   time.Time
}

// committed reports whether a version of it was seen in a block and is not known to
// have failed there on its nonce.
func (it *item) committed() bool { return len(it.sightings) > 0 }

// maxNonce returns the highest nonce any version of it was signed with.
func (it *item) maxNonce() uint64 {
	n := it.nonce
	for _, v := range it.versions {
		n = max(n, v.nonce)
	}
	return n
}

// NewSender returns a Sender of the account of key on chain, through c, with the default
// options.
func NewSender(c *Client, chain string, key crypto.PrivKey) (*Sender, error) {
	return NewSenderWithOptions(c, chain, key, SenderOptions{})
}

// NewSenderWithOptions returns a Sender with options.
func NewSenderWithOptions(c *Client, chain string, key crypto.PrivKey, opts SenderOptions) (*Sender, error) {
	if c == nil {
		return nil, errors.New("sender: no client")
	}
	if err := checkSigner("sender", chain, key); err != nil {
		return nil, err
	}
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	s := &Sender{
		c: c, chain: chain, key: key, addr: key.PubKey().Address(), opts: opts,
		byHash: map[txs.Hash]*item{},
		wake:   make(chan struct{}, 1),
	}
	s.life, s.stop = context.WithCancel(context.Background())
	return s, nil
}

// Address returns the sending account's address.
func (s *Sender) Address() crypto.Address { return s.addr }

// Chain returns the chain the Sender sends on.
func (s *Sender) Chain() string { return s.chain }

// Stats returns what the Sender did so far.
func (s *Sender) Stats() SenderStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Pending returns the number of transactions not yet resolved: waiting for their
// submission, or admitted and not committed.
func (s *Sender) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue) + len(s.inflight)
}

// Send submits a transaction carrying msgs and waits until it is committed. It returns
// the committed result; a transaction committed with a non-zero code is returned with an
// *Error of that code, and a refused one with the refusal (an *Error). If ctx ends
// after the transaction was admitted, Send returns ctx's error and the Sender keeps
// following the transaction.
func (s *Sender) Send(ctx context.Context, msgs ...txs.Msg) (*api.TxResult, error) {
	return s.SendRequest(ctx, Request{Msgs: msgs})
}

// SendRequest is Send with a memo and gas limit.
func (s *Sender) SendRequest(ctx context.Context, r Request) (*api.TxResult, error) {
	t, err := s.SubmitRequest(ctx, r)
	if err != nil {
		return nil, err
	}
	return t.Wait(ctx)
}

// Submit submits a transaction carrying msgs and returns once the chain admitted it to
// its mempool; follow it with the Ticket. The Sender keeps following it until it is
// committed whether or not Wait is called.
//
// A transaction the chain refused returns the refusal (an *Error) and no Ticket. If ctx
// ends before the transaction was submitted, Submit returns ctx's error and the
// transaction is withdrawn; if it ends while the submission is under way, Submit returns
// the Ticket and ctx's error: the transaction may still be admitted and committed.
func (s *Sender) Submit(ctx context.Context, msgs ...txs.Msg) (*Ticket, error) {
	return s.SubmitRequest(ctx, Request{Msgs: msgs})
}

// SubmitRequest is Submit with a memo and gas limit.
func (s *Sender) SubmitRequest(ctx context.Context, r Request) (*Ticket, error) {
	if err := checkTx(s.chain, s.key, r.Memo, r.Msgs); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	it := &item{req: r, ctx: ctx, admitted: make(chan struct{}), done: make(chan struct{})}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrSenderClosed
	}
	it.inQueue = true
	s.queue = append(s.queue, it)
	s.startSubmitter()
	s.mu.Unlock()

	t := &Ticket{s: s, it: it}
	select {
	case <-it.admitted:
	case <-ctx.Done():
		s.mu.Lock()
		if it.inQueue && !it.tried && s.submitting != it && !it.everIn {
			s.removeQueued(it)
			s.finish(it, nil, ctx.Err())
			s.mu.Unlock()
			return nil, ctx.Err()
		}
		s.mu.Unlock()
		select {
		case <-it.admitted:
		default:
			return t, fmt.Errorf("submit: %w (the transaction may still be admitted; the ticket follows it)", ctx.Err())
		}
	}
	s.mu.Lock()
	failed := !it.everIn && it.err != nil
	err := it.err
	s.mu.Unlock()
	if failed {
		return nil, err
	}
	return t, nil
}

// Flush waits until every transaction submitted before the call is resolved, or ctx ends.
func (s *Sender) Flush(ctx context.Context) error {
	s.mu.Lock()
	var dones []chan struct{}
	for _, it := range s.queue {
		dones = append(dones, it.done)
	}
	for _, it := range s.inflight {
		dones = append(dones, it.done)
	}
	s.mu.Unlock()
	for _, d := range dones {
		select {
		case <-d:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Close stops the Sender: it submits nothing more and stops following its transactions.
// Those not yet admitted fail with ErrSenderClosed; those admitted and not yet committed
// also resolve with ErrSenderClosed (they may still be committed: look them up by hash).
func (s *Sender) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.stop()
	for _, it := range s.queue {
		it.inQueue = false
		s.finish(it, nil, ErrSenderClosed)
	}
	for _, it := range s.inflight {
		it.inFlight = false
		s.finish(it, nil, fmt.Errorf("%w: transaction %s was admitted and may still be committed", ErrSenderClosed, it.hash))
	}
	s.queue, s.inflight = nil, nil
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// Ticket follows one submitted transaction.
type Ticket struct {
	s  *Sender
	it *item
}

// Hash returns the hash of the transaction as last signed (upper-case hex). It changes
// only if the Sender had to sign the transaction again with another nonce.
func (t *Ticket) Hash() string {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	if t.it.committed() {
		return t.it.sightings[0].hash.String()
	}
	return t.it.hash.String()
}

// Nonce returns the nonce the transaction was last signed with.
func (t *Ticket) Nonce() uint64 {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	return t.it.nonce
}

// Done is closed once the transaction is resolved: committed, refused or given up.
func (t *Ticket) Done() <-chan struct{} { return t.it.done }

// Wait waits until the transaction is resolved and returns its result as Send does. If
// ctx ends first, it returns ctx's error; the Sender keeps following the transaction.
func (t *Ticket) Wait(ctx context.Context) (*api.TxResult, error) {
	select {
	case <-t.it.done:
		return t.it.res, t.it.err
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for transaction %s: %w (the sender keeps following it)", t.Hash(), ctx.Err())
	}
}

// --- state changes; the caller holds s.mu ---

// finish resolves it.
func (s *Sender) finish(it *item, res *api.TxResult, err error) {
	select {
	case <-it.done:
		return
	default:
	}
	it.res, it.err = res, err
	select {
	case <-it.admitted:
	default:
		close(it.admitted)
	}
	close(it.done)
}

func (s *Sender) removeQueued(it *item) {
	if i := slices.Index(s.queue, it); i >= 0 {
		s.queue = slices.Delete(s.queue, i, i+1)
	}
	it.inQueue = false
}

func (s *Sender) removeInflight(it *item) {
	if i := slices.Index(s.inflight, it); i >= 0 {
		s.inflight = slices.Delete(s.inflight, i, i+1)
	}
	it.inFlight = false
	s.wakeUp() // the window has room
}

// insertInflight adds it to the admitted transactions, ordered by nonce.
func (s *Sender) insertInflight(it *item) {
	i, _ := slices.BinarySearchFunc(s.inflight, it.nonce, func(x *item, n uint64) int {
		switch {
		case x.nonce < n:
			return -1
		case x.nonce > n:
			return 1
		}
		return 0
	})
	s.inflight = slices.Insert(s.inflight, i, it)
	it.inFlight = true
	s.startWatcher()
}

// admit records the admission of the queue's item it.
func (s *Sender) admit(it *item) {
	s.removeQueued(it)
	it.tried = false
	it.admittedAt = time.Now()
	it.ctx = nil
	if !it.everIn {
		it.everIn = true
		s.stats.Admitted++
		close(it.admitted)
	}
	s.insertInflight(it)
	if it.nonce >= s.next {
		s.next = it.nonce + 1
	}
}

// requeue puts admitted transactions back at the front of the queue, to be signed again
// with fresh nonces, in the order given.
func (s *Sender) requeue(items []*item) {
	for _, it := range items {
		s.removeInflight(it)
		it.signed, it.tried = false, false
		it.inQueue = true
	}
	s.queue = append(slices.Clone(items), s.queue...)
	s.startSubmitter()
}

// park moves the queue's item it, whose new version was refused with err, to the
// admitted transactions under its latest earlier version: a version admitted before may
// be executed. The watcher resolves it with that version's result if it finds one in a
// block, and with err once the nonces of all its versions are used by other
// transactions.
func (s *Sender) park(it *item, err error) {
	delete(it.versions, it.hash)
	delete(s.byHash, it.hash)
	// The latest is the highest nonce; versions at one nonce exclude each other, so
	// any of them will do.
	var latest txs.Hash
	var v version
	first := true
	for h, x := range it.versions {
		if first || x.nonce > v.nonce {
			latest, v, first = h, x, false
		}
	}
	it.signed, it.nonce, it.tx, it.hash, it.tried = true, v.nonce, v.tx, latest, false
	it.refusal = err
	s.removeQueued(it)
	it.admittedAt = time.Now()
	s.insertInflight(it)
}

// rewind makes nonce n the next one: the admitted transactions with nonce n and above
// are signed again from n on (their versions at the old nonces can no longer be
// executed in order: the nonce before them is free).
func (s *Sender) rewind(n uint64) {
	var again []*item
	for _, it := range s.inflight {
		if it.nonce >= n && !it.committed() {
			again = append(again, it)
		}
	}
	s.requeue(again)
	s.next = n
}

func (s *Sender) sign(it *item, nonce uint64) error {
	return s.signBody(it, nonce, false)
}

// signFiller signs, as a new version of it, a nonce filler at nonce: a transaction
// without messages, which only consumes the nonce (one of the two versions runs).
func (s *Sender) signFiller(it *item, nonce uint64) error {
	s.stats.Fillers++
	return s.signBody(it, nonce, true)
}

func (s *Sender) signBody(it *item, nonce uint64, filler bool) error {
	var body *txs.Body
	if filler {
		body = txs.NewBody(s.chain, nonce)
	} else {
		body = txs.NewBody(s.chain, nonce, it.req.Msgs...)
		body.Memo = it.req.Memo
		body.GasLimit = it.req.GasLimit
	}
	bz, err := signBody(body, s.key)
	if err != nil {
		return err
	}
	if len(it.versions) > 0 && !filler {
		s.stats.Resigned++
	} else if it.versions == nil {
		it.versions = map[txs.Hash]version{}
	}
	it.signed, it.nonce, it.tx, it.hash, it.tried = true, nonce, bz, txs.HashOf(bz), false
	it.versions[it.hash] = version{nonce, bz, filler}
	s.byHash[it.hash] = it
	return nil
}

// fillGap fills the nonces from..to-1, which no transaction of the Sender holds, with
// nonce fillers of its own, admitted as if they were, and asks for the resubmission of
// the admitted transactions from from on (the fillers first). Signing the
// transactions after the gap again, one nonce lower, would let their versions at the
// old nonces, which may survive in a mempool, run them a second time.
func (s *Sender) fillGap(from, to uint64) {
	to = min(to, from+uint64(s.opts.Window))
	for n := from; n < to; n++ {
		f := &item{internal: true, everIn: true, admitted: make(chan struct{}), done: make(chan struct{})}
		close(f.admitted)
		if err := s.signFiller(f, n); err != nil {
			return // an empty body signs; only a broken key fails, and the next answer says so
		}
		f.admittedAt = time.Now()
		s.insertInflight(f)
	}
	s.resubmit, s.resubmitAt = true, from
}

// lowestInflightAbove returns the lowest nonce above n of an admitted transaction not
// seen in a block, or limit if there is none below it.
func (s *Sender) lowestInflightAbove(n, limit uint64) uint64 {
	for _, it := range s.inflight {
		if it.nonce > n && it.nonce < limit && !it.committed() {
			return it.nonce
		}
	}
	return limit
}

func (s *Sender) wakeUp() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Sender) startSubmitter() {
	s.wakeUp()
	if s.submitterOn || s.closed {
		return
	}
	s.submitterOn = true
	s.wg.Add(1)
	go s.submitLoop()
}

func (s *Sender) startWatcher() {
	if s.watcherOn || s.closed {
		return
	}
	s.watcherOn = true
	s.wg.Add(1)
	go s.watchLoop()
}

// --- the submitter ---

// submitLoop submits the queue's transactions one at a time, and the admitted ones again
// when asked to. It ends when there is nothing to submit.
func (s *Sender) submitLoop() {
	defer s.wg.Done()
	var (
		retry     retrier
		badNonces int // consecutive bad_nonce answers
	)
	for {
		s.mu.Lock()
		if s.closed {
			s.submitterOn = false
			s.mu.Unlock()
			return
		}
		if s.resubmit {
			from := s.resubmitAt
			s.resubmit = false
			s.mu.Unlock()
			s.resubmitFrom(from, &retry)
			continue
		}
		// Withdrawn or cancelled before any submission.
		for len(s.queue) > 0 {
			it := s.queue[0]
			if it.ctx == nil || it.ctx.Err() == nil || it.tried || it.everIn {
				break
			}
			s.removeQueued(it)
			s.finish(it, nil, it.ctx.Err())
		}
		if len(s.queue) == 0 {
			s.submitterOn = false
			if len(s.inflight) == 0 {
				s.synced = false
			}
			s.mu.Unlock()
			return
		}
		if len(s.inflight) >= s.opts.Window {
			s.mu.Unlock()
			s.sleep(0)
			continue
		}
		if !s.synced {
			s.mu.Unlock()
			if err := s.sync(); err != nil {
				s.failQueueOn(err)
				retry.wait(s)
			} else {
				retry.reset()
			}
			continue
		}
		it := s.queue[0]
		if !it.signed || it.nonce != s.next {
			if err := s.sign(it, s.next); err != nil {
				s.removeQueued(it)
				s.stats.Refused++
				s.finish(it, nil, err)
				s.mu.Unlock()
				continue
			}
		}
		s.submitting = it
		tx, nonce := it.tx, it.nonce
		s.mu.Unlock()

		err := s.broadcast(tx)

		s.mu.Lock()
		s.submitting = nil
		if !it.inQueue || it.nonce != nonce || s.closed {
			// Resolved meanwhile (seen committed in a block under an earlier version).
			s.mu.Unlock()
			continue
		}
		kind, expected := classify(err)
		if kind == outcomeBadNonce || kind == outcomeBadNonceUnknown {
			// Nonce answers that keep coming (nodes disagreeing, another process racing
			// for the same nonces) are spaced out.
			badNonces++
			if badNonces > 3 {
				s.mu.Unlock()
				retry.wait(s)
				s.mu.Lock()
				if !it.inQueue || it.nonce != nonce || s.closed {
					s.mu.Unlock()
					continue
				}
			}
		} else {
			badNonces = 0
		}
		switch kind {
		case outcomeAdmitted:
			s.admit(it)
			retry.reset()
		case outcomeBadNonce:
			s.stats.BadNonce++
			if s.lagging(expected) {
				s.mu.Unlock()
				retry.wait(s)
				continue
			}
			s.onBadNonce(it, expected)
		case outcomeBadNonceUnknown:
			s.stats.BadNonce++
			s.synced = false
		case outcomeTransient:
			it.tried = true
			s.stats.Retries++
			s.mu.Unlock()
			retry.wait(s)
			continue
		case outcomeRefused:
			if it.everIn && len(it.versions) > 1 {
				// Signed again after an earlier version was admitted: that version may
				// be executed (and be why this one is refused). The watcher decides.
				s.park(it, err)
				break
			}
			s.removeQueued(it)
			s.stats.Refused++
			s.finish(it, nil, err)
		}
		s.mu.Unlock()
	}
}

// lagging reports whether a bad_nonce answer expecting nonce expected came from a node
// behind the chain: the account's committed nonce, read before, is higher. Such an
// answer says nothing about what is lost: the submission is retried (the gateway fails
// over, or the node catches up). Acting on it — signing again from expected — would give
// other transactions nonces that versions still in the mempools hold.
func (s *Sender) lagging(expected uint64) bool {
	if expected >= s.chainNonce {
		return false
	}
	s.stats.Lagging++
	return true
}

// onBadNonce handles a bad_nonce answer to the first submission of the queue's head.
func (s *Sender) onBadNonce(it *item, expected uint64) {
	switch {
	case expected > it.nonce:
		// The chain is ahead: either this very transaction was admitted by an earlier
		// attempt whose answer was lost, or the account sent elsewhere, or an earlier
		// version of it took that nonce. Follow it as admitted if it may have been, or
		// if an earlier version was; the watcher finds out.
		if it.tried || it.everIn {
			s.admit(it)
		}
		if expected > s.next {
			s.next = expected
		}
	case expected < it.nonce:
		// The node lost admitted transactions of ours (or never saw them, after a
		// fail-over to another node): submit them again from the expected nonce.
		if s.hasInflight(expected) {
			s.resubmit, s.resubmitAt = true, expected
		} else {
			s.fillGap(expected, s.lowestInflightAbove(expected, it.nonce))
		}
	default:
		// The check state moved between the two answers: try again.
	}
}

func (s *Sender) hasInflight(nonce uint64) bool {
	for _, it := range s.inflight {
		if it.nonce == nonce && !it.committed() {
			return true
		}
	}
	return false
}

// resubmitFrom submits again, in nonce order and with the same bytes, the admitted
// transactions with nonces from on.
func (s *Sender) resubmitFrom(from uint64, retry *retrier) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return
		}
		var it *item
		for _, x := range s.inflight {
			if x.nonce >= from && !x.committed() {
				it = x
				break
			}
		}
		if it == nil {
			s.mu.Unlock()
			return
		}
		tx, nonce := it.tx, it.nonce
		s.submitting = it
		s.mu.Unlock()

		err := s.broadcast(tx)

		s.mu.Lock()
		s.submitting = nil
		if !it.inFlight || it.nonce != nonce || it.committed() {
			s.mu.Unlock()
			from = nonce + 1
			continue
		}
		kind, expected := classify(err)
		switch kind {
		case outcomeAdmitted:
			it.admittedAt = time.Now()
			s.stats.Resubmitted++
			from = nonce + 1
			retry.reset()
		case outcomeBadNonce:
			s.stats.BadNonce++
			switch {
			case s.lagging(expected):
				s.mu.Unlock()
				retry.wait(s)
				continue
			case expected > nonce:
				// Still in the node's mempool (or committed meanwhile): keep waiting.
				it.admittedAt = time.Now()
				from = nonce + 1
			case s.hasInflight(expected):
				from = expected
			default:
				s.fillGap(expected, nonce)
				s.mu.Unlock()
				return
			}
		case outcomeBadNonceUnknown:
			s.stats.BadNonce++
			s.synced = false
			s.mu.Unlock()
			return
		case outcomeTransient:
			s.stats.Retries++
			s.mu.Unlock()
			retry.wait(s)
			continue
		case outcomeRefused:
			// Dropped, and refused now: its nonce must be filled, or the transactions
			// after it cannot be executed at theirs. A filler at its nonce becomes its
			// new version: if the filler runs, the refusal is the answer; if the old
			// version, still in some mempool, runs instead, its result is.
			if !it.versions[it.hash].filler {
				if it.refusal == nil {
					it.refusal = err
				}
				if s.signFiller(it, nonce) == nil {
					it.admittedAt = time.Now()
					from = nonce
					s.mu.Unlock()
					continue
				}
			}
			// The filler itself is refused (the account cannot pay for it, or is
			// frozen): the nonce stays free. Give the transactions after it nonces one
			// lower, the one way left to go on.
			s.removeInflight(it)
			if !it.internal {
				s.stats.Refused++
			}
			s.finish(it, nil, cmp.Or(it.refusal, err))
			s.rewind(nonce)
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
	}
}

// sync reads the account's committed nonce and the state height. With nothing admitted,
// the Sender continues from that nonce and searches blocks from that height on.
func (s *Sender) sync() error {
	ctx, cancel := context.WithTimeout(s.life, s.opts.RequestTimeout)
	defer cancel()
	acct, err := s.c.Account(ctx, s.chain, s.addr)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chainNonce = max(s.chainNonce, acct.Nonce)
	if len(s.inflight) == 0 && !slices.ContainsFunc(s.queue, func(it *item) bool { return it.everIn }) {
		// Nothing of ours can be in a block after that height: search from there.
		s.next = acct.Nonce
		s.scanned = acct.Height
	} else if acct.Nonce > s.next {
		s.next = acct.Nonce
	}
	s.synced = true
	return nil
}

// failQueueOn fails the queued transactions not yet submitted if err, an answer to the
// read of the account, is not transient (the account is unknown, the request is wrong);
// it reports whether it did.
func (s *Sender) failQueueOn(err error) bool {
	if kind, _ := classify(err); kind != outcomeRefused {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	keep := s.queue[:0]
	for _, it := range s.queue {
		if it.tried || it.everIn {
			keep = append(keep, it)
			continue
		}
		it.inQueue = false
		s.stats.Refused++
		s.finish(it, nil, fmt.Errorf("read the nonce of %s: %w", s.addr, err))
	}
	s.queue = keep
	return true
}

// broadcast submits tx without waiting for its commit.
func (s *Sender) broadcast(tx []byte) error {
	ctx, cancel := context.WithTimeout(s.life, s.opts.RequestTimeout)
	defer cancel()
	_, err := s.c.BroadcastTx(ctx, s.chain, tx, false)
	return err
}

type outcome int

const (
	outcomeAdmitted outcome = iota
	outcomeBadNonce
	outcomeBadNonceUnknown
	outcomeTransient
	outcomeRefused
)

var expectedNonceRE = regexp.MustCompile(`expected (\d+)`)

// classify sorts a submission's answer.
func classify(err error) (outcome, uint64) {
	if err == nil {
		return outcomeAdmitted, 0
	}
	e, ok := AsError(err)
	if !ok {
		return outcomeTransient, 0 // transport: the gateway may or may not have it
	}
	switch e.ErrCode() {
	case errcode.BadNonce:
		if m := expectedNonceRE.FindStringSubmatch(e.Message); m != nil {
			if n, err := strconv.ParseUint(m[1], 10, 64); err == nil {
				return outcomeBadNonce, n
			}
		}
		return outcomeBadNonceUnknown, 0
	case errcode.Unavailable, errcode.Timeout, errcode.Internal, errcode.RateLimited, errcode.RequestTimeout:
		return outcomeTransient, 0
	}
	if e.Status >= http.StatusInternalServerError || e.Status == http.StatusTooManyRequests {
		return outcomeTransient, 0
	}
	return outcomeRefused, 0
}

// sleep waits for a wake-up, d (0: only a wake-up) or the Sender's end; it reports
// whether the Sender still runs.
func (s *Sender) sleep(d time.Duration) bool {
	var timer <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-s.wake:
	case <-timer:
	case <-s.life.Done():
		return false
	}
	return true
}

// retrier is an exponential back-off.
type retrier struct{ d time.Duration }

func (r *retrier) reset() { r.d = 0 }

func (r *retrier) wait(s *Sender) {
	switch {
	case r.d == 0:
		r.d = 50 * time.Millisecond
	case r.d < s.opts.MaxRetryDelay:
		r.d = min(2*r.d, s.opts.MaxRetryDelay)
	}
	t := time.NewTimer(r.d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.life.Done():
	}
}

// --- the watcher ---

// watchLoop follows the admitted transactions: it reads the account's committed nonce,
// searches the new blocks for the transactions' hashes, fetches the results of those it
// found, signs again those whose nonce another transaction took, and asks for the
// resubmission of those not committed in time. It ends when nothing is admitted.
func (s *Sender) watchLoop() {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		if s.closed || len(s.inflight) == 0 {
			s.watcherOn = false
			if len(s.queue) == 0 && !s.resubmit {
				s.synced = false
			}
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		t := time.NewTimer(s.opts.PollInterval)
		select {
		case <-t.C:
		case <-s.life.Done():
			t.Stop()
			continue
		}
		s.poll()
	}
}

// poll is one round of the watcher.
func (s *Sender) poll() {
	ctx, cancel := context.WithTimeout(s.life, s.opts.RequestTimeout)
	defer cancel()
	acct, err := s.c.Account(ctx, s.chain, s.addr)
	if err != nil {
		return
	}
	s.scan(ctx, acct.Height)

	s.mu.Lock()
	s.chainNonce = max(s.chainNonce, acct.Nonce)
	var fetch, superseded []*item
	var stalled *item
	for _, it := range s.inflight {
		switch {
		case it.committed():
			fetch = append(fetch, it)
		case it.maxNonce() < acct.Nonce && s.scanned >= acct.Height:
			// The nonces of all its versions were used, by none of them: other
			// transactions took them, and none of its versions can be executed any more.
			superseded = append(superseded, it)
		case stalled == nil && it.nonce >= acct.Nonce:
			stalled = it
		}
	}
	if len(superseded) > 0 {
		// A parked transaction's last version was refused: that is its answer now.
		superseded = slices.DeleteFunc(superseded, func(it *item) bool {
			switch {
			case it.internal:
				// A filler whose nonce others took: nothing to fill any more.
				s.removeInflight(it)
				s.finish(it, nil, nil)
			case it.refusal != nil:
				s.removeInflight(it)
				s.stats.Refused++
				s.finish(it, nil, it.refusal)
			default:
				return false
			}
			return true
		})
		s.stats.Superseded += uint64(len(superseded))
		s.requeue(superseded)
	}
	if stalled != nil && time.Since(stalled.admittedAt) > s.opts.ResubmitAfter && !s.resubmit {
		stalled.admittedAt = time.Now()
		s.resubmit, s.resubmitAt = true, stalled.nonce
		s.startSubmitter()
	}
	s.mu.Unlock()
	s.fetchResults(ctx, fetch)
}

// scan searches the blocks after s.scanned up to height for the Sender's transactions.
func (s *Sender) scan(ctx context.Context, height int64) {
	s.mu.Lock()
	from := s.scanned + 1
	s.mu.Unlock()
	for h := from; h <= height; h++ {
		b, err := s.c.Block(ctx, s.chain, h)
		if err != nil {
			return
		}
		now := time.Now()
		s.mu.Lock()
		for _, hs := range b.TxHashes {
			th, err := txs.ParseHash(hs)
			if err != nil {
				continue
			}
			it := s.byHash[th]
			if it == nil || slices.ContainsFunc(it.sightings, func(x sighting) bool { return x.hash == th && x.height == h }) {
				continue
			}
			select {
			case <-it.done:
				continue
			default:
			}
			it.sightings = append(it.sightings, sighting{th, h, now})
			if it.inQueue {
				// A version of a queued transaction is in a block: the one being
				// submitted right now (the block came before the node's answer), or an
				// earlier one, committed while this waited to be signed again. Follow
				// that version (its result decides) as admitted: its nonce is used, so
				// the next transaction is signed after it.
				v := it.versions[th]
				it.signed, it.nonce, it.tx, it.hash = true, v.nonce, v.tx, th
				s.admit(it)
			}
		}
		if h > s.scanned {
			s.scanned = h
		}
		s.mu.Unlock()
	}
}

// notExecuted reports whether a transaction's result in a block says the block did not
// execute it: bad_nonce, or any failure of a nonce filler (it has no messages, so it can
// only fail before its nonce is consumed).
func notExecuted(res *api.TxResult, filler bool) bool {
	return errcode.Code(res.Code) == errcode.BadNonce || filler && res.Code != 0
}

// fetchResults reads the results of transactions seen in blocks and resolves them.
func (s *Sender) fetchResults(ctx context.Context, items []*item) {
	const parallel = 8
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for _, it := range items {
		s.mu.Lock()
		if !it.committed() {
			s.mu.Unlock()
			continue
		}
		first := it.sightings[0]
		hash, height, seen := first.hash, first.height, first.seen
		s.mu.Unlock()
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			res, err := s.c.Tx(ctx, s.chain, hash.String())
			s.mu.Lock()
			defer s.mu.Unlock()
			if !it.inFlight || !it.committed() || it.sightings[0].hash != hash {
				return
			}
			switch {
			case err == nil && notExecuted(res, it.versions[hash].filler) && res.Height < height:
				// The index still holds an earlier inclusion of these bytes: ask again.
			case err == nil && notExecuted(res, it.versions[hash].filler):
				// Not executed: the block reached it with another nonce due (a version
				// at a nonce another version took, or a gap). The same bytes may be
				// included again once valid, but never after being executed (CheckTx
				// refuses them then), so the index, which keeps a hash's last
				// inclusion, shows every inclusion up to res.Height failed. Follow the
				// transaction on: another version, or a later inclusion, may be
				// executed; or it is signed again once the nonces of all its versions
				// are used.
				it.sightings = slices.DeleteFunc(it.sightings, func(x sighting) bool { return x.hash == hash && x.height <= res.Height })
				it.admittedAt = time.Now()
				s.stats.NotExecuted++
			case err == nil && it.versions[hash].filler:
				// The filler ran: the transaction did not.
				s.removeInflight(it)
				if !it.internal {
					s.stats.Refused++
				}
				s.finish(it, nil, it.refusal)
			case err == nil:
				s.removeInflight(it)
				s.stats.Committed++
				s.finish(it, res, ResultError(res))
			case time.Since(seen) > s.opts.ResultTimeout:
				s.removeInflight(it)
				s.stats.Committed++
				s.finish(it, &api.TxResult{Hash: hash.String(), Height: height, Events: []api.Event{}},
					&Error{Status: http.StatusOK, Code: errcode.Unavailable.String(), Hash: hash.String(),
						Message: fmt.Sprintf("transaction committed at height %d, but its result could not be read: %v", height, err)})
			}
		}()
	}
	wg.Wait()
}
