package localnet

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	rpcclient "github.com/cometbft/cometbft/rpc/client"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	rpclocal "github.com/cometbft/cometbft/rpc/client/local"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/lianchain/lian/app"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules/evidence"
	"github.com/lianchain/lian/modules/gov"
	"github.com/lianchain/lian/modules/xchain"
	"github.com/lianchain/lian/node"
)

// The application serves extended commits from the block store node.Start hands it.
var _ node.ExtendedCommitServer = (*app.App)(nil)

// TestExtendedCommitQuery: on a network initialised now (vote extensions from height 1),
// abci_query of app.QueryExtendedCommit at a committed height h answers the commit of
// block h whose precommits carry state extensions attesting the app hash of header h+1,
// signed by their validators; a height not committed yet is not found.
func TestExtendedCommitQuery(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	n, err := Start(ctx, Options{Home: t.TempDir(), Chains: []string{"ve-1"}, Validators: 4, Listen: "127.0.0.1:0",
		NoRelayer: true, Tuning: node.Tuning{CreateEmptyBlocksInterval: -1}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := n.Stop(); err != nil {
			t.Error(err)
		}
	}()
	if ids, err := n.WithoutAttestedState(ctx); err != nil || len(ids) != 0 {
		t.Fatalf("a network initialised now lacks attested state: %v %v", ids, err)
	}
	nd := n.Chains()[0].Nodes[1].Node
	c, err := rpchttp.New(nd.RPCURL(), "/websocket")
	if err != nil {
		t.Fatal(err)
	}
	const h = int64(3)
	waitApplied(ctx, t, nd, h+1) // header h+1 holds the app hash after h

	query := func(height int64) (*cmttypes.ExtendedCommit, int64, errcode.Code, string) {
		t.Helper()
		res, err := c.ABCIQueryWithOptions(ctx, app.QueryExtendedCommit, nil, rpcclient.ABCIQueryOptions{Height: height})
		if err != nil {
			t.Fatal(err)
		}
		if res.Response.Code != 0 {
			return nil, res.Response.Height, errcode.Code(res.Response.Code), res.Response.Log
		}
		ec, err := xchain.DecodeExtendedCommit(res.Response.Value)
		if err != nil {
			t.Fatal(err)
		}
		return ec, res.Response.Height, errcode.OK, ""
	}

	ec, height, code, log := query(h)
	if code != errcode.OK || height != h || ec.Height != h {
		t.Fatalf("query at %d: code %s %q, height %d", h, code, log, height)
	}
	if err := ec.EnsureExtensions(true); err != nil {
		t.Fatal(err)
	}
	next := h + 1
	hdr, err := c.Header(ctx, &next)
	if err != nil {
		t.Fatal(err)
	}
	if !ec.BlockID.Equals(hdr.Header.LastBlockID) {
		t.Fatalf("extended commit of block %v, header %d follows %v", ec.BlockID, next, hdr.Header.LastBlockID)
	}
	hh := h
	vals, err := c.Validators(ctx, &hh, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(vals.Validators) != len(ec.ExtendedSignatures) {
		t.Fatalf("%d signatures, %d validators", len(ec.ExtendedSignatures), len(vals.Validators))
	}
	var total, attested int64
	for i, v := range vals.Validators {
		total += v.VotingPower
		sig := ec.ExtendedSignatures[i]
		if sig.BlockIDFlag != cmttypes.BlockIDFlagCommit {
			continue
		}
		appHash, err := xchain.ParseStateExtension(sig.Extension)
		if err != nil {
			t.Fatalf("validator %d: %v", i, err)
		}
		if !bytes.Equal(appHash, hdr.Header.AppHash) {
			t.Fatalf("validator %d attests %X, header %d has app hash %X", i, appHash, next, hdr.Header.AppHash)
		}
		vote := ec.GetExtendedVote(int32(i))
		if err := vote.Verify(n.Chains()[0].ID, v.PubKey); err != nil {
			t.Fatalf("validator %d: precommit: %v", i, err)
		}
		if err := vote.VerifyExtension(n.Chains()[0].ID, v.PubKey); err != nil {
			t.Fatalf("validator %d: extension: %v", i, err)
		}
		tampered := vote.Copy()
		tampered.Extension = xchain.StateExtension(bytes.Repeat([]byte{1}, 32))
		if tampered.VerifyExtension(n.Chains()[0].ID, v.PubKey) == nil {
			t.Fatalf("validator %d: a changed extension verifies", i)
		}
		attested += v.VotingPower
	}
	if attested*3 <= total*2 {
		t.Fatalf("extensions of %d of %d voting power", attested, total)
	}

	// Height 0 is the last committed; a height not committed yet is not found.
	if ec, height, code, log := query(0); code != errcode.OK || height < h || ec.Height != height {
		t.Fatalf("query at 0: code %s %q, height %d", code, log, height)
	}
	far := nd.AppliedHeight() + 1000
	if _, _, code, log := query(far); code != errcode.NotFound || !strings.Contains(log, "is not committed yet") {
		t.Fatalf("query at %d: code %s %q", far, code, log)
	}
}

// waitApplied polls until the node's application has committed height h.
func waitApplied(ctx context.Context, t *testing.T, nd *node.Node, h int64) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for nd.AppliedHeight() < h {
		select {
		case <-ctx.Done():
			t.Fatalf("node at applied height %d, waiting for %d: %v", nd.AppliedHeight(), h, ctx.Err())
		case <-tick.C:
		}
	}
}

// TestEnableVoteExtensionsNextHeight: governance turns vote extensions on for the very
// next height after the deciding vote's block (the earliest CometBFT allows) on a
// 4-validator network initialised without them. The chain goes on making blocks;
// from the enable height its commits carry every validator's state extension, and the
// commit before it none.
func TestEnableVoteExtensionsNextHeight(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	withoutVoteExtensions(t)
	n, err := Start(ctx, Options{Home: t.TempDir(), Chains: []string{"vg-1"}, Validators: 4, Listen: "127.0.0.1:0", NoRelayer: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := n.Stop(); err != nil {
			t.Error(err)
		}
	}()
	const chain = "vg-1"

	// Each try waits for the chain to idle at h, proposes h+4 and waits again: the
	// proposal lands in h+1 and CometBFT's proof block of its state is h+2. Then every
	// organisation votes at once; the votes land in h+3, which decides the proposal,
	// and h+4 is the height after it. A try whose votes are split over two blocks
	// fails (the height is not after the deciding block's), changes nothing, and the
	// next one retries.
	var e int64
	for try := 1; e == 0; try++ {
		if try > 5 {
			t.Fatal("5 tries: the votes never landed in one block")
		}
		waitIdle(ctx, t, n, 300*time.Millisecond)
		h := height(ctx, t, n, chain)
		id := proposeVoteExtensions(ctx, t, n, chain, h+4)
		waitIdle(ctx, t, n, 300*time.Millisecond)
		voteAll(ctx, t, n, chain, id)
		p := proposalAt(ctx, t, n, chain, id)
		switch {
		case p.Status == gov.StatusExecuted && p.DecidedHeight == h+3:
			e = h + 4
		case p.Status == gov.StatusExecuted:
			t.Fatalf("proposal %d for height %d executed at %d, not %d: the chain was not idle", id, h+4, p.DecidedHeight, h+3)
		case p.Status == gov.StatusFailed:
			// The votes were split over two blocks. A try takes 4 blocks, so the next one
			// would meet the same proposer (4 validators take turns) and, likely, the
			// same split: a transaction and its proof block move the turn by two.
			t.Logf("try %d: proposal %d for height %d decided at %d: %s", try, id, h+4, p.DecidedHeight, p.Error)
			d := sha256.Sum256(fmt.Appendf(nil, "next proposer %d", try))
			demoSubmit(ctx, t, n, chain, &evidence.MsgAnchor{Digest: d[:], HashAlgo: "sha256"})
		default:
			t.Fatalf("proposal %d %s (%d yes of %d) after every organisation voted", id, p.Status, p.Yes, p.Required)
		}
	}

	// The chain goes on past the enable height (a refused update would have halted it).
	for height(ctx, t, n, chain) < e+2 {
		d := sha256.Sum256(fmt.Appendf(nil, "after %d", time.Now().UnixNano()))
		demoSubmit(ctx, t, n, chain, &evidence.MsgAnchor{Digest: d[:], HashAlgo: "sha256"})
	}
	cp, err := rpclocal.New(n.Chains()[0].Nodes[1].Node.CometNode()).ConsensusParams(ctx, &e)
	if err != nil || cp.ConsensusParams.ABCI.VoteExtensionsEnableHeight != e {
		t.Fatalf("consensus params at %d: %+v %v", e, cp, err)
	}
	for _, c := range []struct {
		h    int64
		want errcode.Code
	}{{e - 1, errcode.NotFound}, {e, errcode.OK}, {e + 1, errcode.OK}} {
		res, err := n.Endpoint(chain).ABCIQueryWithOptions(ctx, xchain.QueryExtendedCommit, nil, rpcclient.ABCIQueryOptions{Height: c.h})
		if err != nil || errcode.Code(res.Response.Code) != c.want {
			t.Fatalf("extended commit of %d (enable height %d): %v code %d %s, want %s", c.h, e, err, res.Response.Code, res.Response.Log, c.want)
		}
		if c.want != errcode.OK {
			continue
		}
		// Every precommit carries an extension (DecodeExtendedCommit checks it).
		if _, err := xchain.DecodeExtendedCommit(res.Response.Value); err != nil {
			t.Fatalf("extended commit of %d: %v", c.h, err)
		}
	}
}

// proposalAt reads a proposal through a chain's node.
func proposalAt(ctx context.Context, t *testing.T, n *Network, chain string, id uint64) *gov.Proposal {
	t.Helper()
	res, err := n.Endpoint(chain).ABCIQueryWithOptions(ctx, "/gov/"+gov.QueryProposal, []byte(strconv.FormatUint(id, 10)), rpcOpts)
	var p gov.Proposal
	if err != nil || res.Response.Code != 0 || json.Unmarshal(res.Response.Value, &p) != nil {
		t.Fatalf("%s: proposal %d: %v %s", chain, id, err, res.Response.Log)
	}
	return &p
}
