package client

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules/evidence"
	"github.com/lianchain/lian/txs"
)

// fakeChain is a gateway in front of an in-memory chain with CometBFT's mempool rules as
// far as a Sender sees them: CheckTx runs on the committed state plus the mempool, a
// block every few milliseconds executes the mempool in order, a recheck then drops what
// no longer passes, and the cache answers "admitted" for bytes seen before. Faults are
// injected per submission.
type fakeChain struct {
	t     *testing.T
	chain string

	mu         sync.Mutex
	accounts   map[crypto.Address]bool
	nonce      map[crypto.Address]uint64 // committed
	anchored   map[[32]byte]bool         // committed digests
	mempool    []*fakeTx
	seen       map[txs.Hash]bool // the cache
	blocks     [][]txs.Hash
	results    map[txs.Hash]*api.TxResult
	committed  []fakeCommit // successful txs in order
	submits    int
	fetched    int64 // highest block read
	blockFirst int   // faultBlockFirst answers sent after the client read the block
	// fault, if set, decides what happens to a submission (nth from 1).
	fault func(n int, body *txs.Body) fakeFault
	// paused stops the blocks.
	paused bool
	// shadow holds transactions another node still has in its mempool, after this one
	// lost them: a block executes one as soon as its nonce is due, before the
	// transaction of this node's mempool it reaches.
	shadow []*fakeTx

	stop chan struct{}
	done chan struct{}
}

type fakeTx struct {
	hash txs.Hash
	body *txs.Body
	raw  []byte
	// ghost: the check state took it but the mempool dropped it (CometBFT drops a
	// transaction that passed CheckTx when the mempool is full by then). It counts for
	// CheckTx until the next recheck, and no block carries it.
	ghost bool
}

type fakeCommit struct {
	sender crypto.Address
	nonce  uint64
	hash   txs.Hash
}

type fakeFault int

const (
	faultNone        fakeFault = iota
	faultDrop                  // answer "admitted" but drop it
	faultLoseAnswer            // admit it but answer 503
	faultUnavailable           // refuse with 503 (mempool full)
	faultShadow                // admit it, and keep a copy in another node's mempool
	faultLagging               // answer bad_nonce as a node one transaction behind the chain
	faultGhost                 // admit it into the check state only (dropped after CheckTx)
	faultBlockFirst            // admit it, commit a block with it, answer once the Sender read that block
)

func newFakeChain(t *testing.T, accounts ...crypto.Address) (*fakeChain, *Client) {
	f := &fakeChain{
		t: t, chain: "fake-1",
		accounts: map[crypto.Address]bool{}, nonce: map[crypto.Address]uint64{},
		anchored: map[[32]byte]bool{}, seen: map[txs.Hash]bool{}, results: map[txs.Hash]*api.TxResult{},
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	for _, a := range accounts {
		f.accounts[a] = true
	}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	go f.produce()
	t.Cleanup(func() {
		close(f.stop)
		<-f.done
		srv.Close()
	})
	return f, New(srv.URL)
}

func (f *fakeChain) produce() {
	defer close(f.done)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-tick.C:
			f.block()
		}
	}
}

// block executes up to 40 mempool transactions, then rechecks the rest. A shadow
// transaction (another node's version) at the nonce of the next one wins that nonce;
// when the mempool's transactions are done, due shadow transactions follow.
func (f *fakeChain) block() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.blockLocked()
}

func (f *fakeChain) blockLocked() {
	if f.paused || len(f.mempool)+len(f.shadow) == 0 {
		return
	}
	n := min(40, len(f.mempool))
	queue := slices.DeleteFunc(slices.Clone(f.mempool[:n]), func(tx *fakeTx) bool { return tx.ghost })
	f.mempool = f.mempool[n:]
	height := int64(len(f.blocks) + 1)
	var hashes []txs.Hash
	for {
		var tx *fakeTx
		if len(queue) > 0 {
			head := queue[0]
			if tx = f.takeDueShadow(func(x *fakeTx) bool { return x.body.Sender == head.body.Sender && x.body.Nonce == head.body.Nonce }); tx == nil {
				tx, queue = head, queue[1:]
			}
		} else if tx = f.takeDueShadow(func(*fakeTx) bool { return true }); tx == nil {
			break
		}
		if slices.Contains(hashes, tx.hash) {
			continue // a shadow copy of a transaction of this mempool, executed already
		}
		f.shadow = slices.DeleteFunc(f.shadow, func(x *fakeTx) bool { return x.hash == tx.hash })
		res := &api.TxResult{Hash: tx.hash.String(), Height: height, Index: uint32(len(hashes)), Events: []api.Event{}}
		hashes = append(hashes, tx.hash)
		if err := f.exec(f.nonce, f.anchored, tx.body); err != nil {
			res.Code, res.CodeName, res.Log = uint32(errcode.Of(err)), errcode.Of(err).String(), errcode.Message(err)
			if errcode.Of(err) != errcode.BadNonce {
				f.nonce[tx.body.Sender]++ // a failing tx consumes its nonce
			}
			delete(f.seen, tx.hash) // CometBFT lets a failed transaction in again
		} else {
			f.committed = append(f.committed, fakeCommit{tx.body.Sender, tx.body.Nonce, tx.hash})
		}
		f.results[tx.hash] = res
	}
	if len(hashes) == 0 {
		return
	}
	f.blocks = append(f.blocks, hashes)
	f.recheck()
}

// takeDueShadow removes and returns a shadow transaction that match accepts and whose
// nonce is its sender's next, or nil.
func (f *fakeChain) takeDueShadow(match func(*fakeTx) bool) *fakeTx {
	for i, tx := range f.shadow {
		if match(tx) && tx.body.Nonce == f.nonce[tx.body.Sender] {
			f.shadow = slices.Delete(f.shadow, i, i+1)
			return tx
		}
	}
	return nil
}

// recheck drops from the mempool what no longer passes, and forgets it (the cache).
func (f *fakeChain) recheck() {
	nonce, anchored := f.checkState(nil)
	keep := f.mempool[:0]
	for _, tx := range f.mempool {
		if !tx.ghost && f.exec(nonce, anchored, tx.body) == nil {
			keep = append(keep, tx)
		} else {
			delete(f.seen, tx.hash)
		}
	}
	f.mempool = keep
}

// lose removes sender's transaction with nonce from the mempool, and forgets it, as a
// node that restarted would, then rechecks.
func (f *fakeChain) lose(sender crypto.Address, nonce uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, tx := range f.mempool {
		if tx.body.Sender == sender && tx.body.Nonce == nonce {
			delete(f.seen, tx.hash)
			f.mempool = slices.Delete(f.mempool, i, i+1)
			break
		}
	}
	f.recheck()
}

// checkState returns a copy of the committed state with the mempool applied.
func (f *fakeChain) checkState(mempool []*fakeTx) (map[crypto.Address]uint64, map[[32]byte]bool) {
	nonce := map[crypto.Address]uint64{}
	for k, v := range f.nonce {
		nonce[k] = v
	}
	anchored := map[[32]byte]bool{}
	for k, v := range f.anchored {
		anchored[k] = v
	}
	for _, tx := range mempool {
		_ = f.exec(nonce, anchored, tx.body)
	}
	return nonce, anchored
}

// exec applies body to the state, or returns why it fails (nothing applied).
func (f *fakeChain) exec(nonce map[crypto.Address]uint64, anchored map[[32]byte]bool, body *txs.Body) error {
	if !f.accounts[body.Sender] {
		return errcode.New(errcode.UnknownAccount, "account %s is not registered", body.Sender)
	}
	if want := nonce[body.Sender]; body.Nonce != want {
		return errcode.New(errcode.BadNonce, "nonce %d of %s: expected %d (replayed or out of order)", body.Nonce, body.Sender, want)
	}
	var digests [][32]byte
	for _, m := range body.Messages {
		msg, err := evidence.DecodeAnchor(m.Value)
		if err != nil {
			return errcode.New(errcode.InvalidMessage, "%v", err)
		}
		var d [32]byte
		copy(d[:], msg.(*evidence.MsgAnchor).Digest)
		if anchored[d] {
			return errcode.New(errcode.AlreadyExists, "digest %X is already anchored", d)
		}
		digests = append(digests, d)
	}
	for _, d := range digests {
		anchored[d] = true
	}
	nonce[body.Sender]++
	return nil
}

// foreign commits, in a block of its own, a transaction of sender that the Sender under
// test did not send (another process with the same key).
func (f *fakeChain) foreign(sender crypto.Address) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.foreignLocked(sender)
}

func (f *fakeChain) foreignLocked(sender crypto.Address) {
	h := txs.Hash(sha256.Sum256([]byte(fmt.Sprintf("foreign %s %d", sender, f.nonce[sender]))))
	f.committed = append(f.committed, fakeCommit{sender, f.nonce[sender], h})
	f.nonce[sender]++
	f.results[h] = &api.TxResult{Hash: h.String(), Height: int64(len(f.blocks) + 1), Events: []api.Event{}}
	f.blocks = append(f.blocks, []txs.Hash{h})
}

// anchorElsewhere commits digest as another account would.
func (f *fakeChain) anchorElsewhere(digest []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var d [32]byte
	copy(d[:], digest)
	f.anchored[d] = true
	f.blocks = append(f.blocks, []txs.Hash{txs.Hash(sha256.Sum256(append([]byte("elsewhere"), digest...)))})
}

func (f *fakeChain) serve(w http.ResponseWriter, r *http.Request) {
	prefix := "/v1/chains/" + f.chain + "/"
	rest, ok := strings.CutPrefix(r.URL.Path, prefix)
	if !ok {
		writeJSON(w, 404, api.Error{Code: "not_found", Message: "no chain"})
		return
	}
	parts := strings.Split(rest, "/")
	switch {
	case r.Method == http.MethodPost && rest == "txs":
		f.submit(w, r)
	case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "accounts":
		addr, err := crypto.ParseAddress(parts[1])
		f.mu.Lock()
		defer f.mu.Unlock()
		if err != nil || !f.accounts[addr] {
			writeJSON(w, 404, api.Error{Code: "unknown_account", Message: "account " + parts[1] + " is not registered"})
			return
		}
		writeJSON(w, 200, api.Account{Account: json.RawMessage(`{}`), Nonce: f.nonce[addr], Height: int64(len(f.blocks))})
	case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "blocks":
		h, err := strconv.ParseInt(parts[1], 10, 64)
		f.mu.Lock()
		defer f.mu.Unlock()
		if err != nil || h < 1 || h > int64(len(f.blocks)) {
			writeJSON(w, 404, api.Error{Code: "not_found", Message: "block " + parts[1] + " not found"})
			return
		}
		f.fetched = max(f.fetched, h)
		b := api.Block{Height: h, TxHashes: []string{}}
		for _, th := range f.blocks[h-1] {
			b.TxHashes = append(b.TxHashes, th.String())
		}
		writeJSON(w, 200, b)
	case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "txs":
		th, _ := txs.ParseHash(parts[1])
		f.mu.Lock()
		defer f.mu.Unlock()
		res, ok := f.results[th]
		if !ok {
			writeJSON(w, 404, api.Error{Code: "not_found", Message: "transaction not found"})
			return
		}
		writeJSON(w, 200, res)
	default:
		writeJSON(w, 404, api.Error{Code: "not_found", Message: "no route"})
	}
}

func (f *fakeChain) submit(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("wait") != "false" {
		f.t.Errorf("the sender submitted with wait=%q", r.URL.Query().Get("wait"))
	}
	raw, _ := io.ReadAll(r.Body)
	var req api.SubmitTx
	if err := json.Unmarshal(raw, &req); err != nil {
		writeJSON(w, 400, api.Error{Code: "invalid_request", Message: err.Error()})
		return
	}
	tx, err := txs.DecodeTx(req.Tx)
	if err != nil {
		writeJSON(w, 400, api.Error{Code: "tx_malformed", Message: err.Error()})
		return
	}
	body, err := txs.DecodeBody(tx.BodyBytes)
	if err != nil {
		writeJSON(w, 400, api.Error{Code: "tx_malformed", Message: err.Error()})
		return
	}
	hash := txs.HashOf(req.Tx)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.submits++
	fault := faultNone
	if f.fault != nil {
		fault = f.fault(f.submits, body)
	}
	switch fault {
	case faultUnavailable:
		writeJSON(w, 503, api.Error{Code: "unavailable", Message: "the node's mempool is full, retry later", Hash: hash.String()})
		return
	case faultLagging:
		if behind := f.nonce[body.Sender]; behind > 0 {
			writeJSON(w, 400, api.Error{Code: "bad_nonce", Hash: hash.String(),
				Message: fmt.Sprintf("nonce %d of %s: expected %d (replayed or out of order)", body.Nonce, body.Sender, behind-1)})
			return
		}
	}
	if f.seen[hash] {
		writeJSON(w, 202, api.TxResult{Hash: hash.String(), Events: []api.Event{}}) // "tx already exists in cache"
		return
	}
	nonce, anchored := f.checkState(f.mempool)
	if err := f.exec(nonce, anchored, body); err != nil {
		writeJSON(w, errcode.Of(err).HTTPStatus(), api.Error{Code: errcode.Of(err).String(), Message: errcode.Message(err), Hash: hash.String()})
		return
	}
	switch fault {
	case faultDrop:
	case faultGhost:
		f.mempool = append(f.mempool, &fakeTx{hash: hash, body: body, raw: req.Tx, ghost: true})
	case faultShadow:
		f.shadow = append(f.shadow, &fakeTx{hash: hash, body: body, raw: req.Tx})
		f.seen[hash] = true
		f.mempool = append(f.mempool, &fakeTx{hash: hash, body: body, raw: req.Tx})
	case faultBlockFirst:
		f.seen[hash] = true
		f.mempool = append(f.mempool, &fakeTx{hash: hash, body: body, raw: req.Tx})
		f.blockLocked()
		height := int64(len(f.blocks))
		f.mu.Unlock()
		f.waitFetched(height)
		f.mu.Lock()
	case faultLoseAnswer:
		f.seen[hash] = true
		f.mempool = append(f.mempool, &fakeTx{hash: hash, body: body, raw: req.Tx})
		writeJSON(w, 503, api.Error{Code: "unavailable", Message: "connection reset"})
		return
	default:
		f.seen[hash] = true
		f.mempool = append(f.mempool, &fakeTx{hash: hash, body: body, raw: req.Tx})
	}
	writeJSON(w, 202, api.TxResult{Hash: hash.String(), Events: []api.Event{}})
}

// waitFetched delays the answer to a submission until a client read block height, at
// most 1 s (a Sender reads blocks only while it has admitted transactions to follow).
// blockFirst counts the answers that came after the read.
func (f *fakeChain) waitFetched(height int64) {
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		f.mu.Lock()
		done := f.fetched >= height
		if done {
			f.blockFirst++
		}
		f.mu.Unlock()
		if done {
			return
		}
	}
}

// checkContiguous checks that sender's committed transactions have nonces 0..n-1, each
// once, and returns their hashes by nonce.
func (f *fakeChain) checkContiguous(t *testing.T, sender crypto.Address, n int) map[uint64]txs.Hash {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	byNonce := map[uint64]txs.Hash{}
	for _, c := range f.committed {
		if c.sender != sender {
			continue
		}
		if _, dup := byNonce[c.nonce]; dup {
			t.Fatalf("nonce %d committed twice", c.nonce)
		}
		byNonce[c.nonce] = c.hash
	}
	if len(byNonce) != n {
		t.Fatalf("%d transactions committed, want %d", len(byNonce), n)
	}
	for i := uint64(0); i < uint64(n); i++ {
		if _, ok := byNonce[i]; !ok {
			t.Fatalf("nonce %d not committed", i)
		}
	}
	return byNonce
}

func testAnchor(i int) *evidence.MsgAnchor {
	d := sha256.Sum256([]byte("sender test document " + strconv.Itoa(i)))
	return &evidence.MsgAnchor{Digest: d[:], HashAlgo: evidence.HashSHA256}
}

func fastOptions() SenderOptions {
	return SenderOptions{ResubmitAfter: 300 * time.Millisecond, PollInterval: 10 * time.Millisecond,
		RequestTimeout: 5 * time.Second, ResultTimeout: 2 * time.Second, MaxRetryDelay: 50 * time.Millisecond}
}

func newTestSender(t *testing.T, opts SenderOptions, algo crypto.Algo) (*fakeChain, *Sender) {
	t.Helper()
	key, err := crypto.GenPrivKey(algo)
	if err != nil {
		t.Fatal(err)
	}
	f, c := newFakeChain(t, key.PubKey().Address())
	s, err := NewSenderWithOptions(c, f.chain, key, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return f, s
}

// sendAll sends anchors first..first+n-1 from workers goroutines and returns the results
// by anchor index.
func sendAll(t *testing.T, s *Sender, first, n, workers int) map[int]*api.TxResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var (
		mu   sync.Mutex
		out  = map[int]*api.TxResult{}
		wg   sync.WaitGroup
		work = make(chan int)
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				res, err := s.Send(ctx, testAnchor(i))
				if err != nil {
					t.Errorf("send %d: %v", i, err)
					continue
				}
				mu.Lock()
				out[i] = res
				mu.Unlock()
			}
		}()
	}
	for i := first; i < first+n; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	return out
}

func TestSenderConcurrent(t *testing.T) {
	for _, algo := range crypto.Algos() {
		t.Run(string(algo), func(t *testing.T) {
			f, s := newTestSender(t, fastOptions(), algo)
			res := sendAll(t, s, 0, 200, 16)
			byNonce := f.checkContiguous(t, s.Address(), 200)
			hashes := map[string]bool{}
			for _, h := range byNonce {
				hashes[h.String()] = true
			}
			for i, r := range res {
				if r.Height <= 0 || r.Code != 0 || !hashes[r.Hash] {
					t.Fatalf("result of %d: %+v", i, r)
				}
			}
			if st := s.Stats(); st.Admitted != 200 || st.Committed != 200 || st.Refused != 0 {
				t.Fatalf("stats %+v", st)
			}
			if s.Pending() != 0 {
				t.Fatalf("%d pending", s.Pending())
			}
		})
	}
}

// TestSenderBlockBeforeAnswer: a transaction is in a block before the node answers its
// submission (the watcher sees it first). It counts as admitted, and the next
// transaction is signed after its nonce: no bad_nonce, nothing signed twice.
func TestSenderBlockBeforeAnswer(t *testing.T) {
	f, s := newTestSender(t, fastOptions(), crypto.Ed25519)
	f.mu.Lock()
	f.fault = func(n int, body *txs.Body) fakeFault {
		if n%5 == 2 {
			return faultBlockFirst
		}
		return faultNone
	}
	f.mu.Unlock()
	const n = 40
	sendAll(t, s, 0, n, 8)
	f.checkContiguous(t, s.Address(), n)
	if st := s.Stats(); st.Admitted != n || st.Committed != n || st.BadNonce != 0 || st.Resigned != 0 {
		t.Fatalf("stats %+v", st)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.blockFirst == 0 {
		t.Fatal("the Sender read no block before the answer to its transaction in it")
	}
	t.Logf("%d answers after the block was read", f.blockFirst)
}

func TestSenderDroppedAfterAdmission(t *testing.T) {
	f, s := newTestSender(t, fastOptions(), crypto.Ed25519)
	dropped := 0
	f.fault = func(n int, body *txs.Body) fakeFault {
		if body.Nonce%10 == 3 && dropped < 5 {
			dropped++
			return faultDrop
		}
		return faultNone
	}
	sendAll(t, s, 0, 60, 8)
	f.checkContiguous(t, s.Address(), 60)
	if st := s.Stats(); st.Resubmitted == 0 && st.BadNonce == 0 {
		t.Fatalf("no recovery recorded: %+v", st)
	}
}

func TestSenderTransientFailures(t *testing.T) {
	f, s := newTestSender(t, fastOptions(), crypto.SM2)
	f.fault = func(n int, body *txs.Body) fakeFault {
		switch n % 7 {
		case 2:
			return faultUnavailable
		case 4:
			return faultLoseAnswer
		}
		return faultNone
	}
	sendAll(t, s, 0, 50, 8)
	f.checkContiguous(t, s.Address(), 50)
	if st := s.Stats(); st.Retries == 0 {
		t.Fatalf("no retries: %+v", st)
	}
}

func TestSenderRefusalFreesNonce(t *testing.T) {
	f, s := newTestSender(t, fastOptions(), crypto.Secp256k1)
	f.anchorElsewhere(testAnchor(5).Digest)
	ctx := context.Background()
	var tickets []*Ticket
	for i := 0; i < 10; i++ {
		tk, err := s.Submit(ctx, testAnchor(i))
		if i == 5 {
			if !errors.Is(err, &Error{Code: "already_exists"}) || tk != nil {
				t.Fatalf("anchor 5: ticket %v, error %v; want already_exists", tk, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("anchor %d: %v", i, err)
		}
		tickets = append(tickets, tk)
	}
	for _, tk := range tickets {
		if _, err := tk.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	f.checkContiguous(t, s.Address(), 9)
}

// TestSenderDroppedThenRefused: transaction 2 is admitted, then dropped from the mempool,
// and its digest is anchored by someone else meanwhile: its resubmission is refused, so
// a nonce filler takes nonce 2, and the transactions after it keep theirs.
func TestSenderDroppedThenRefused(t *testing.T) {
	f, s := newTestSender(t, fastOptions(), crypto.Ed25519)
	f.fault = func(n int, body *txs.Body) fakeFault {
		if body.Nonce == 2 && n == 3 {
			return faultDrop
		}
		return faultNone
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var tickets []*Ticket
	for i := 0; i < 8; i++ {
		tk, err := s.Submit(ctx, testAnchor(i))
		if err != nil {
			t.Fatalf("anchor %d: %v", i, err)
		}
		tickets = append(tickets, tk)
		if i == 2 {
			f.anchorElsewhere(testAnchor(2).Digest)
		}
	}
	for i, tk := range tickets {
		_, err := tk.Wait(ctx)
		if i == 2 {
			if !errors.Is(err, &Error{Code: "already_exists"}) {
				t.Fatalf("anchor 2: %v, want already_exists", err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("anchor %d: %v", i, err)
		}
	}
	f.checkContiguous(t, s.Address(), 8) // 7 anchors and the filler
	if st := s.Stats(); st.Fillers != 1 || st.Resigned != 0 || st.Refused != 1 {
		t.Fatalf("stats %+v: want one filler, one refusal, nothing signed again", st)
	}
}

// TestSenderNonceTakenElsewhere: another process with the same key uses nonces, before a
// submission (the chain is ahead: bad_nonce with a higher expected nonce) and while a
// transaction waits in flight (its nonce is taken: it is signed again).
func TestSenderNonceTakenElsewhere(t *testing.T) {
	f, s := newTestSender(t, fastOptions(), crypto.Ed25519)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := s.Send(ctx, testAnchor(0)); err != nil {
		t.Fatal(err)
	}

	// Ahead: a foreign transaction takes nonce 1 just before ours arrives.
	f.fault = func(n int, body *txs.Body) fakeFault {
		if n == 2 {
			f.foreignLocked(body.Sender) // fault runs with f.mu held
		}
		return faultNone
	}
	if _, err := s.Send(ctx, testAnchor(1)); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.BadNonce != 1 || st.Resigned != 1 {
		t.Fatalf("after a foreign transaction: stats %+v", st)
	}

	// Taken in flight: ours (nonce 3) is admitted, then dropped, and a foreign transaction
	// takes nonce 3.
	f.mu.Lock()
	f.fault = func(n int, body *txs.Body) fakeFault {
		if n == 4 {
			return faultDrop
		}
		return faultNone
	}
	f.mu.Unlock()
	type answer struct {
		res *api.TxResult
		err error
	}
	done := make(chan answer, 1)
	go func() {
		res, err := s.Send(ctx, testAnchor(2))
		done <- answer{res, err}
	}()
	eventuallyClient(t, func() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.submits >= 4 })
	f.foreign(s.Address())
	a := <-done
	if a.err != nil {
		t.Fatal(a.err)
	}
	if st := s.Stats(); st.Superseded != 1 {
		t.Fatalf("stats %+v: want one superseded transaction", st)
	}
	f.mu.Lock()
	last := f.committed[len(f.committed)-1]
	f.mu.Unlock()
	if !strings.EqualFold(a.res.Hash, last.hash.String()) || last.nonce != 4 {
		t.Fatalf("result %s, last committed %s at nonce %d", a.res.Hash, last.hash, last.nonce)
	}
	f.mu.Lock()
	f.fault = nil
	f.mu.Unlock()
	sendAll(t, s, 3, 20, 4)
	f.checkContiguous(t, s.Address(), 25)
}

func TestSenderErrors(t *testing.T) {
	f, s := newTestSender(t, fastOptions(), crypto.Ed25519)
	ctx := context.Background()

	if _, err := s.Send(ctx); err == nil {
		t.Fatal("no error for a transaction without messages")
	}
	if _, err := s.Send(ctx, &evidence.MsgAnchor{Digest: []byte{1}, HashAlgo: evidence.HashSHA256}); errcode.Of(err) != errcode.InvalidMessage {
		t.Fatalf("bad anchor: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Send(cancelled, testAnchor(1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}

	// An unregistered account: reading its nonce fails, and so does Send.
	other, _ := crypto.GenPrivKey(crypto.Ed25519)
	c := s.c
	s2, err := NewSender(c, f.chain, other)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, err := s2.Send(ctx, testAnchor(2)); !errors.Is(err, &Error{Code: "unknown_account"}) {
		t.Fatalf("unknown account: %v", err)
	}

	// Close fails what is queued and refuses new transactions.
	f.fault = func(int, *txs.Body) fakeFault { return faultUnavailable }
	done := make(chan error, 1)
	go func() { _, err := s.Send(ctx, testAnchor(3)); done <- err }()
	eventuallyClient(t, func() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.submits > 2 })
	s.Close()
	if err := <-done; !errors.Is(err, ErrSenderClosed) {
		t.Fatalf("send after close: %v", err)
	}
	if _, err := s.Send(ctx, testAnchor(4)); !errors.Is(err, ErrSenderClosed) {
		t.Fatalf("send on a closed sender: %v", err)
	}

	if _, err := NewSender(c, "", other); err == nil {
		t.Fatal("no error without a chain")
	}
	if _, err := NewSender(c, f.chain, nil); err == nil {
		t.Fatal("no error without a key")
	}
	if _, err := NewSenderWithOptions(c, f.chain, other, SenderOptions{Window: -1}); err == nil {
		t.Fatal("no error for a negative window")
	}
}

// TestSenderWindow: with a window of 4, at most 4 transactions are admitted and not
// committed at any time.
func TestSenderWindow(t *testing.T) {
	opts := fastOptions()
	opts.Window = 4
	f, s := newTestSender(t, opts, crypto.Ed25519)
	var maxPool int
	f.fault = func(int, *txs.Body) fakeFault {
		if len(f.mempool)+1 > maxPool {
			maxPool = len(f.mempool) + 1
		}
		return faultNone
	}
	sendAll(t, s, 0, 40, 16)
	f.checkContiguous(t, s.Address(), 40)
	if maxPool > 4 {
		t.Fatalf("%d transactions in the mempool at once, window 4", maxPool)
	}
}

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		err  error
		want outcome
		n    uint64
	}{
		{nil, outcomeAdmitted, 0},
		{&Error{Status: 400, Code: "bad_nonce", Message: "nonce 7 of 0xab: expected 3 (replayed or out of order)"}, outcomeBadNonce, 3},
		{&Error{Status: 400, Code: "bad_nonce", Message: "out of order"}, outcomeBadNonceUnknown, 0},
		{&Error{Status: 503, Code: "unavailable"}, outcomeTransient, 0},
		{&Error{Status: 429, Code: "rate_limited"}, outcomeTransient, 0},
		{&Error{Status: 502, Code: "proxy_error"}, outcomeTransient, 0},
		{errors.New("connection refused"), outcomeTransient, 0},
		{&Error{Status: 409, Code: "already_exists"}, outcomeRefused, 0},
		{&Error{Status: 402, Code: "insufficient_credits"}, outcomeRefused, 0},
	} {
		got, n := classify(c.err)
		if got != c.want || n != c.n {
			t.Errorf("classify(%v) = %d, %d; want %d, %d", c.err, got, n, c.want, c.n)
		}
	}
}

func eventuallyClient(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSenderResubmitsStalled: the last transaction is dropped after admission, so no later
// submission reveals it: it is submitted again once ResubmitAfter passed.
func TestSenderResubmitsStalled(t *testing.T) {
	f, s := newTestSender(t, fastOptions(), crypto.Ed25519)
	f.fault = func(n int, body *txs.Body) fakeFault {
		if n == 1 {
			return faultDrop
		}
		return faultNone
	}
	start := time.Now()
	res, err := s.Send(context.Background(), testAnchor(0))
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < s.opts.ResubmitAfter {
		t.Fatalf("committed after %v, before ResubmitAfter %v: was it dropped?", d, s.opts.ResubmitAfter)
	}
	if st := s.Stats(); st.Resubmitted != 1 || st.Admitted != 1 || st.Committed != 1 {
		t.Fatalf("stats %+v", st)
	}
	byNonce := f.checkContiguous(t, s.Address(), 1)
	if byNonce[0].String() != res.Hash {
		t.Fatalf("result %s, committed %s", res.Hash, byNonce[0])
	}
}

// TestSenderLaggingNode: after a fail-over the gateway asks a node behind the chain, which
// expects a nonce the chain has committed already. The Sender retries the submission
// instead of signing its transactions again from that nonce (which would give them
// nonces their versions in the mempools hold).
func TestSenderLaggingNode(t *testing.T) {
	f, s := newTestSender(t, fastOptions(), crypto.Ed25519)
	sendAll(t, s, 0, 5, 1)
	f.mu.Lock()
	lagged := 0
	f.fault = func(n int, body *txs.Body) fakeFault {
		if lagged < 3 {
			lagged++
			return faultLagging
		}
		return faultNone
	}
	f.mu.Unlock()
	sendAll(t, s, 5, 20, 4)
	f.checkContiguous(t, s.Address(), 25)
	if st := s.Stats(); st.Lagging != 3 || st.Resigned != 0 {
		t.Fatalf("stats %+v: want 3 lagging answers retried and nothing signed again", st)
	}
}

// TestSenderFillsRefusedNonce: transactions 2..7 are admitted; then the node loses 2 (and
// drops 3..7 on its recheck) while another node keeps its versions of 3..7. The
// resubmission of 2 is refused (its digest was anchored elsewhere meanwhile). Signing
// 3..7 again one nonce lower would let the other node's versions run them a second
// time; the Sender fills nonce 2 instead, and 3..7 run once, at their nonces.
func TestSenderFillsRefusedNonce(t *testing.T) {
	f, s := newTestSender(t, fastOptions(), crypto.Ed25519)
	f.pausedWith(func(n int, body *txs.Body) fakeFault {
		if body.Nonce >= 3 {
			return faultShadow
		}
		return faultNone
	})
	tickets := submitAnchors(t, s, 8)
	f.pausedWith(nil)
	f.lose(s.Address(), 2)
	f.anchorElsewhere(testAnchor(2).Digest)
	f.resume()
	waitAnchors(t, tickets, map[int]string{2: "already_exists"})
	st := s.Stats()
	if st.Fillers != 1 || st.Resigned != 0 || st.Refused != 1 {
		t.Fatalf("stats %+v: want one filler, one refusal, nothing signed again", st)
	}
	byNonce := f.checkContiguous(t, s.Address(), 8)
	for i, tk := range tickets {
		if i != 2 && byNonce[uint64(i)].String() != tk.Hash() {
			t.Errorf("nonce %d: committed %s, anchor %d is %s", i, byNonce[uint64(i)], i, tk.Hash())
		}
	}
}

// TestSenderGapInBlock: the node's check state takes transaction 2 but its mempool drops
// it (full by then), so the block carries 3..7 with nonce 2 still due: they fail there
// with bad_nonce, without running. The Sender must not return those failures: it
// submits 2..7 again, and each Send returns the result of the run.
func TestSenderGapInBlock(t *testing.T) {
	f, s := newTestSender(t, fastOptions(), crypto.Ed25519)
	ghosted := false
	f.pausedWith(func(n int, body *txs.Body) fakeFault {
		if body.Nonce == 2 && !ghosted {
			ghosted = true
			return faultGhost
		}
		return faultNone
	})
	tickets := submitAnchors(t, s, 8)
	f.resume()
	waitAnchors(t, tickets, nil)
	st := s.Stats()
	if st.NotExecuted != 5 || st.Resigned != 0 || st.Fillers != 0 {
		t.Fatalf("stats %+v: want 5 versions seen not executed, nothing signed again", st)
	}
	f.checkContiguous(t, s.Address(), 8)
}

// pausedWith stops the blocks and sets the fault function (nil: none).
func (f *fakeChain) pausedWith(fault func(n int, body *txs.Body) fakeFault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.paused, f.fault = true, fault
}

// resume lets the blocks go on.
func (f *fakeChain) resume() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.paused = false
}

// submitAnchors submits anchors 0..n-1 through s and returns their tickets.
func submitAnchors(t *testing.T, s *Sender, n int) []*Ticket {
	t.Helper()
	var tickets []*Ticket
	for i := 0; i < n; i++ {
		tk, err := s.Submit(context.Background(), testAnchor(i))
		if err != nil {
			t.Fatalf("anchor %d: %v", i, err)
		}
		tickets = append(tickets, tk)
	}
	return tickets
}

// waitAnchors waits for the tickets: each must succeed, but those in fail, which must
// fail with the code given.
func waitAnchors(t *testing.T, tickets []*Ticket, fail map[int]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i, tk := range tickets {
		res, err := tk.Wait(ctx)
		if code, ok := fail[i]; ok {
			if !errors.Is(err, &Error{Code: code}) {
				t.Fatalf("anchor %d: %v, want %s", i, err, code)
			}
			continue
		}
		if err != nil {
			t.Fatalf("anchor %d: %v", i, err)
		}
		if res.Code != 0 {
			t.Fatalf("anchor %d: code %d", i, res.Code)
		}
	}
}

// TestSenderRandomFaults drives Senders through random faults of every kind the fake chain
// has — dropped admissions, lost answers, full mempools, a check state keeping a dropped
// transaction, nodes behind the chain, another node keeping copies — and checks what must
// hold whatever happens: every Send succeeds, the account's committed transactions take
// nonces 0…k-1 once each, no transaction of the Sender runs twice (a second run of an
// anchor would fail there with already_exists), and each Send's result is a committed
// transaction.
func TestSenderRandomFaults(t *testing.T) {
	seeds := 12
	if testing.Short() {
		seeds = 4
	}
	for seed := 1; seed <= seeds; seed++ {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(seed), 7))
			f, s := newTestSender(t, fastOptions(), crypto.Ed25519)
			kinds := []fakeFault{faultDrop, faultLoseAnswer, faultUnavailable, faultGhost, faultLagging, faultShadow, faultBlockFirst}
			f.mu.Lock()
			f.fault = func(n int, body *txs.Body) fakeFault {
				if rng.IntN(100) < 30 {
					return kinds[rng.IntN(len(kinds))]
				}
				return faultNone
			}
			f.mu.Unlock()
			const n = 60
			results := sendAll(t, s, 0, n, 8)
			if t.Failed() {
				t.Fatalf("stats %+v", s.Stats())
			}
			st := s.Stats()
			byNonce := f.checkContiguous(t, s.Address(), n+int(st.Fillers))
			committed := map[string]bool{}
			for _, h := range byNonce {
				committed[h.String()] = true
			}
			for i, res := range results {
				if !committed[res.Hash] {
					t.Errorf("anchor %d: result %s is not a committed transaction", i, res.Hash)
				}
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			for h, res := range f.results {
				if errcode.Code(res.Code) == errcode.AlreadyExists {
					t.Errorf("transaction %s ran a second time: %s", h, res.Log)
				}
			}
			t.Logf("stats %+v", st)
		})
	}
}
