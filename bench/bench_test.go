package bench

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/localnet"
	"github.com/lianchain/lian/txs"
)

var (
	compareDuration    = flag.Duration("compare.duration", 30*time.Second, "BenchmarkCompare: duration of each run")
	compareConcurrency = flag.Int("compare.concurrency", DefaultConcurrency, "BenchmarkCompare: workers per run")
	compareProfile     = flag.String("compare.cpuprofile", "", "BenchmarkCompare: write a CPU profile of the Lian run to this file")
)

// BenchmarkCompare runs Compare (4 validators each, -compare.duration per system) and
// reports both systems' committed tx/s, their p99 latency and the ratio.
//
//	go test -run '^$' -bench Compare -benchtime 1x ./bench/
func BenchmarkCompare(b *testing.B) {
	opts := CompareOptions{Duration: *compareDuration, Concurrency: *compareConcurrency, Dir: b.TempDir()}
	if *compareProfile != "" {
		f, err := os.Create(*compareProfile)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		opts.CPUProfile = f
	}
	for i := 0; i < b.N; i++ {
		rep, err := Compare(context.Background(), opts)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(rep.Lian.TPS, "lian-tx/s")
		b.ReportMetric(rep.Baseline.TPS, "baseline-tx/s")
		b.ReportMetric(rep.Lian.LatencyP99S, "lian-p99-s")
		b.ReportMetric(rep.Baseline.LatencyP99S, "baseline-p99-s")
		b.ReportMetric(rep.Ratio, "ratio")
		opts.CPUProfile = nil // one profile
	}
}

func TestBaselineApp(t *testing.T) {
	ctx := context.Background()
	app := NewBaselineApp()
	key := cmted25519.GenPrivKey()
	good, err := BaselineTx(key, []byte("payload of a baseline transaction"))
	if err != nil {
		t.Fatal(err)
	}
	if res, _ := app.CheckTx(ctx, &abci.RequestCheckTx{Tx: good}); res.Code != 0 {
		t.Fatalf("good tx refused: %d %s", res.Code, res.Log)
	}
	bad := bytes.Clone(good)
	bad[len(bad)-1] ^= 1 // payload changed: the signature no longer verifies
	if res, _ := app.CheckTx(ctx, &abci.RequestCheckTx{Tx: bad}); res.Code != BaselineCodeBadSig {
		t.Fatalf("bad signature: code %d, want %d", res.Code, BaselineCodeBadSig)
	}
	otherKey := bytes.Clone(good)
	copy(otherKey, cmted25519.GenPrivKey().PubKey().Bytes()) // someone else's public key
	if res, _ := app.CheckTx(ctx, &abci.RequestCheckTx{Tx: otherKey}); res.Code != BaselineCodeBadSig {
		t.Fatalf("wrong key: code %d, want %d", res.Code, BaselineCodeBadSig)
	}
	if res, _ := app.CheckTx(ctx, &abci.RequestCheckTx{Tx: good[:BaselineHeaderSize-1]}); res.Code != BaselineCodeMalformed {
		t.Fatalf("short tx: code %d, want %d", res.Code, BaselineCodeMalformed)
	}

	// FinalizeBlock verifies again; the app hash changes with every block with txs only.
	fb, err := app.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: 1, Txs: [][]byte{good, bad}})
	if err != nil {
		t.Fatal(err)
	}
	if fb.TxResults[0].Code != 0 || fb.TxResults[1].Code != BaselineCodeBadSig {
		t.Fatalf("block results: %d, %d", fb.TxResults[0].Code, fb.TxResults[1].Code)
	}
	h1 := fb.AppHash
	if len(h1) != 32 {
		t.Fatalf("app hash %x", h1)
	}
	fb, _ = app.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: 2})
	if !bytes.Equal(fb.AppHash, h1) {
		t.Fatal("app hash changed on an empty block")
	}
	fb, _ = app.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: 3, Txs: [][]byte{good}})
	if bytes.Equal(fb.AppHash, h1) {
		t.Fatal("app hash did not change on a block with txs")
	}
	info, _ := app.Info(ctx, &abci.RequestInfo{})
	if info.LastBlockHeight != 3 || !bytes.Equal(info.LastBlockAppHash, fb.AppHash) {
		t.Fatalf("info: height %d hash %x", info.LastBlockHeight, info.LastBlockAppHash)
	}

	src := NewBaselineSource()
	a, _ := src.Build(0)
	b, _ := src.Build(0)
	if len(a) != BaselineHeaderSize+BaselinePayloadSize || bytes.Equal(a, b) || VerifyBaselineTx(a) != nil {
		t.Fatalf("baseline source: %d bytes, equal %v, verify %v", len(a), bytes.Equal(a, b), VerifyBaselineTx(a))
	}
}

// fakeChain is an in-memory chain with nonces, a mempool that sometimes drops an
// admitted transaction (as CometBFT's does when it finds itself full after CheckTx) and a
// block every 30 ms.
type fakeChain struct {
	mu        sync.Mutex
	dropEvery int // drop every n-th admitted transaction
	admitted  int
	check     map[uint64]uint64 // account -> next nonce, mempool included
	committed map[uint64]uint64
	mempool   [][]byte
	blocks    [][]txs.Hash
}

func fakeTx(acct, nonce uint64, rng *rand.ChaCha8) []byte {
	tx := make([]byte, 24)
	binary.BigEndian.PutUint64(tx, acct)
	binary.BigEndian.PutUint64(tx[8:], nonce)
	_, _ = rng.Read(tx[16:])
	return tx
}

func (c *fakeChain) Submit(_ context.Context, tx []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	acct, nonce := binary.BigEndian.Uint64(tx), binary.BigEndian.Uint64(tx[8:])
	if nonce != c.check[acct] {
		return &RefusedError{Reason: "bad_nonce", Msg: fmt.Sprintf("nonce %d of %d: expected %d", nonce, acct, c.check[acct])}
	}
	c.check[acct]++
	c.admitted++
	if c.dropEvery > 0 && c.admitted%c.dropEvery == 0 {
		return nil // admitted, then dropped
	}
	c.mempool = append(c.mempool, tx)
	return nil
}

func (c *fakeChain) makeBlock() {
	c.mu.Lock()
	defer c.mu.Unlock()
	var hashes []txs.Hash
	for _, tx := range c.mempool {
		hashes = append(hashes, txs.HashOf(tx))
		acct, nonce := binary.BigEndian.Uint64(tx), binary.BigEndian.Uint64(tx[8:])
		if nonce == c.committed[acct] {
			c.committed[acct]++
		} // else: included, failed with a bad nonce
	}
	c.mempool = nil
	c.blocks = append(c.blocks, hashes)
	for a, n := range c.committed { // reset the check state, as Commit + recheck would
		c.check[a] = n
	}
}

func (c *fakeChain) LatestHeight(context.Context) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return int64(len(c.blocks)), nil
}

func (c *fakeChain) BlockTxs(_ context.Context, h int64) ([]txs.Hash, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if h < 1 || h > int64(len(c.blocks)) {
		return nil, errors.New("no such block")
	}
	return c.blocks[h-1], nil
}

func (c *fakeChain) Nonce(_ context.Context, a crypto.Address) (uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.committed[binary.BigEndian.Uint64(a[:8])], nil
}

func (c *fakeChain) Registered(context.Context, crypto.Address) (bool, error) { return true, nil }

type fakeSource struct {
	c    *fakeChain
	acct uint64
	rng  *rand.ChaCha8
}

func (s *fakeSource) Build(nonce uint64) ([]byte, error) { return fakeTx(s.acct, nonce, s.rng), nil }

func (s *fakeSource) Sync(ctx context.Context, _ uint64) (uint64, error) {
	return s.CommittedNonce(ctx)
}

func (s *fakeSource) CommittedNonce(ctx context.Context) (uint64, error) {
	var a crypto.Address
	binary.BigEndian.PutUint64(a[:8], s.acct)
	return s.c.Nonce(ctx, a)
}

// TestRunRecoversFromDrops drives the fake chain, which silently drops every 500th
// admitted transaction: the workers must notice (bad nonces, stalls), re-read their
// nonces and keep committing.
func TestRunRecoversFromDrops(t *testing.T) {
	c := &fakeChain{dropEvery: 500, check: map[uint64]uint64{}, committed: map[uint64]uint64{}}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tk := time.NewTicker(30 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
				c.makeBlock()
			}
		}
	}()
	srcs := make([]TxSource, 4)
	for i := range srcs {
		srcs[i] = &fakeSource{c: c, acct: uint64(i), rng: rand.NewChaCha8([32]byte{byte(i)})}
	}
	res, err := Run(context.Background(), Config{
		Label: "fake", Transports: []Transport{c}, Sources: srcs,
		Duration: 2 * time.Second, Warmup: 500 * time.Millisecond, Window: 64, Drain: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", *res)
	if res.Committed == 0 || res.TPS <= 0 || res.LatencySamples == 0 || res.Blocks == 0 {
		t.Fatalf("nothing measured: %+v", *res)
	}
	if res.Submitted < 2000 {
		t.Fatalf("only %d submitted: the workers got stuck (refused %v)", res.Submitted, res.RefusedBy)
	}
	if res.RefusedBy["bad_nonce"] == 0 || res.Lost == 0 {
		t.Fatalf("drops went unnoticed: refused %v, lost %d", res.RefusedBy, res.Lost)
	}
	c.mu.Lock()
	var executed int64
	for _, n := range c.committed {
		executed += int64(n)
	}
	c.mu.Unlock()
	// The transactions included after a dropped one failed in their block (bad nonce):
	// they are seen, but do not advance the nonce.
	if res.Succeeded != executed || res.FailedInBlocks != res.CommittedTotal-executed || res.FailedInBlocks == 0 {
		t.Fatalf("succeeded %d, failed in blocks %d, committed total %d; the chain executed %d",
			res.Succeeded, res.FailedInBlocks, res.CommittedTotal, executed)
	}
}

// TestCompareSmall runs Compare for 3 s per system with 4 workers on 1-validator
// networks: both commit transactions.
func TestCompareSmall(t *testing.T) {
	rep, err := Compare(context.Background(), CompareOptions{
		Duration: 3 * time.Second, Warmup: time.Second, Concurrency: 4, Validators: 1, Dir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Lian.Succeeded < rep.Lian.CommittedTotal*9/10 || rep.Baseline.Succeeded != -1 {
		t.Fatalf("lian: succeeded %d of %d committed; baseline succeeded %d (want -1)", rep.Lian.Succeeded, rep.Lian.CommittedTotal, rep.Baseline.Succeeded)
	}
	for _, r := range []*SystemReport{rep.Lian, rep.Baseline} {
		t.Logf("%s: %.0f tx/s, committed %d, p50 %.3fs p99 %.3fs, refused %v", r.Label, r.TPS, r.Committed, r.LatencyP50S, r.LatencyP99S, r.RefusedBy)
		if r.Committed == 0 || r.LatencySamples == 0 {
			t.Fatalf("%s committed nothing: %+v", r.Label, *r.Result)
		}
		if r.Node.MempoolSize == 0 || r.Node.TimeoutCommit == "" || r.Node.GossipSleep == "" {
			t.Fatalf("%s: node config not reported: %+v", r.Label, r.Node)
		}
		if p := r.Phases; p == nil || p.Blocks < 1 || p.ExecuteMS <= 0 || p.Checks <= 0 {
			t.Fatalf("%s: block phases not reported: %+v", r.Label, p)
		}
	}
	if rep.Lian.Node != rep.Baseline.Node {
		t.Fatalf("different node configs: %+v vs %+v", rep.Lian.Node, rep.Baseline.Node)
	}
	if rep.Ratio <= 0 {
		t.Fatalf("ratio %v", rep.Ratio)
	}
}

// TestEvidenceThroughGateway runs Evidence against a 1-validator local network through
// its gateway with the demo key.
func TestEvidenceThroughGateway(t *testing.T) {
	ctx := context.Background()
	home := t.TempDir()
	net, err := localnet.Start(ctx, localnet.Options{Home: home, Chains: []string{"ev-1"}, Validators: 1, Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer net.Stop()
	ks, err := crypto.OpenKeystore(filepath.Join(home, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Evidence(ctx, EvidenceOptions{
		Gateway: net.GatewayURL(), Chain: "ev-1", Keys: ks, From: localnet.DemoKey,
		Duration: 3 * time.Second, Warmup: time.Second, Concurrency: 4, Window: 64,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", *res)
	if res.Committed == 0 || res.LatencySamples == 0 {
		t.Fatalf("nothing committed through the gateway: %+v", *res)
	}
	if res.Refused > res.Submitted/10 {
		t.Fatalf("too many refusals: %d of %d (%v)", res.Refused, res.Submitted, res.RefusedBy)
	}

	// A key that is not an admin cannot register bench accounts.
	if _, err := ks.Create("member", crypto.Ed25519); err != nil {
		t.Fatal(err)
	}
	_, err = Evidence(ctx, EvidenceOptions{Gateway: net.GatewayURL(), Chain: "ev-1", Keys: ks, From: "member", Duration: 2 * time.Second, Concurrency: 1})
	if err == nil {
		t.Fatal("an unregistered key registered bench accounts")
	}
}
