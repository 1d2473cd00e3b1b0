package localnet

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	rpcclient "github.com/cometbft/cometbft/rpc/client"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/lianchain/lian/app"
	"github.com/lianchain/lian/errcode"
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
		var pb cmtproto.ExtendedCommit
		if err := pb.Unmarshal(res.Response.Value); err != nil {
			t.Fatal(err)
		}
		ec, err := cmttypes.ExtendedCommitFromProto(&pb)
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
