package gateway

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	rpctypes "github.com/cometbft/cometbft/rpc/jsonrpc/types"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/errcode"
)

// TestExplorerRoutes runs the explorer's routes against the shared chain.
func TestExplorerRoutes(t *testing.T) {
	tn := chainNet(t)
	base := tn.srv.URL
	chainPath := "/v1/chains/" + testChainID
	// A transaction of org2's admin (other tests follow org1's admin's nonces), with a
	// fresh digest.
	sender := tn.orgAdmins[0]
	senderAddr := sender.PubKey().Address()
	d := digestOf(fmt.Sprintf("explorer routes %d", time.Now().UnixNano()))
	res := tn.mustCommit(t, sign(t, testChainID, tn.nonce(t, senderAddr), sender, anchor(d, "explorer")))
	// The block after it carries its app hash (and the canonical commit of its block).
	eventually(t, 20*time.Second, "the next block", func() bool {
		var c api.Chains
		getJSON(t, base, "/v1/chains", http.StatusOK, &c)
		return c.Chains[0].LatestHeight > res.Height
	})

	t.Run("blocks", func(t *testing.T) {
		var page blockPage
		getJSON(t, base, chainPath+"/blocks?limit=3", http.StatusOK, &page)
		wantNext := strconv.FormatInt(page.Blocks[len(page.Blocks)-1].Height, 10)
		if page.Blocks[len(page.Blocks)-1].Height == 1 {
			wantNext = "" // the first block: no older page
		}
		if len(page.Blocks) != 3 || page.LatestHeight < page.Blocks[0].Height || page.Next != wantNext {
			t.Fatalf("page %+v", page)
		}
		for i, b := range page.Blocks {
			if i > 0 && b.Height != page.Blocks[i-1].Height-1 {
				t.Fatalf("not consecutive, newest first: %+v", page.Blocks)
			}
			if len(b.Hash) != 64 || b.Time.IsZero() || len(b.Proposer) != 40 {
				t.Errorf("block %+v", b)
			}
			if b.Signers != nil && (b.ValidatorCount != testValidators || 3*len(b.Signers) <= 2*b.ValidatorCount) {
				t.Errorf("block %d: signers %v of %d", b.Height, b.Signers, b.ValidatorCount)
			}
		}
		if page.Blocks[1].Signers == nil {
			t.Errorf("block %d has no signers though a later block exists", page.Blocks[1].Height)
		}
		// The transaction's block, by paging.
		var at blockPage
		getJSON(t, base, fmt.Sprintf("%s/blocks?cursor=%d&limit=1", chainPath, res.Height+1), http.StatusOK, &at)
		if len(at.Blocks) != 1 || at.Blocks[0].Height != res.Height || at.Blocks[0].NumTxs < 1 || len(at.Blocks[0].Signers) < 3 {
			t.Fatalf("block of the tx: %+v", at)
		}
		// The oldest page ends without a next.
		var first blockPage
		getJSON(t, base, chainPath+"/blocks?cursor=3", http.StatusOK, &first)
		if len(first.Blocks) != 2 || first.Blocks[1].Height != 1 || first.Next != "" {
			t.Fatalf("first blocks: %+v", first)
		}
		getJSON(t, base, chainPath+"/blocks?cursor=1", http.StatusOK, &first)
		if len(first.Blocks) != 0 || first.Next != "" {
			t.Fatalf("below 1: %+v", first)
		}
		// The next of a page continues it.
		var p1, p2 blockPage
		getJSON(t, base, chainPath+"/blocks?limit=2", http.StatusOK, &p1)
		getJSON(t, base, chainPath+"/blocks?limit=2&cursor="+p1.Next, http.StatusOK, &p2)
		if len(p2.Blocks) == 0 || p2.Blocks[0].Height != p1.Blocks[1].Height-1 {
			t.Fatalf("page 2 %+v after page 1 %+v", p2.Blocks, p1.Blocks)
		}
		for _, q := range []string{"?limit=0", "?limit=101", "?limit=x", "?cursor=0", "?cursor=-1", "?cursor=abc"} {
			status, body := call(t, base, http.MethodGet, chainPath+"/blocks"+q, nil)
			apiErr(t, "blocks"+q, status, http.StatusBadRequest, body, "invalid_request")
		}
		status, body := call(t, base, http.MethodGet, "/v1/chains/nowhere-1/blocks", nil)
		apiErr(t, "unknown chain", status, http.StatusNotFound, body, "not_found")
	})

	t.Run("signatures", func(t *testing.T) {
		var s blockSignatures
		getJSON(t, base, fmt.Sprintf("%s/blocks/%d/signatures", chainPath, res.Height), http.StatusOK, &s)
		if s.Height != res.Height || len(s.BlockHash) != 64 || !s.Canonical || len(s.Signatures) != testValidators ||
			s.TotalPower != 4*10 || 3*s.SignedPower <= 2*s.TotalPower {
			t.Fatalf("signatures %+v", s)
		}
		orgs := map[string]bool{}
		signed := 0
		for _, sig := range s.Signatures {
			orgs[sig.Org] = true
			switch sig.Flag {
			case "commit":
				signed++
				if sig.Time == nil {
					t.Errorf("signature without a time: %+v", sig)
				}
			case "absent", "nil":
			default:
				t.Errorf("flag %q", sig.Flag)
			}
			if len(sig.Address) != 40 || sig.Power != 10 {
				t.Errorf("signature %+v", sig)
			}
		}
		if signed < 3 || len(orgs) != testValidators || !orgs["org1"] {
			t.Fatalf("%d signed, organisations %v", signed, orgs)
		}
		var latest blockSignatures
		getJSON(t, base, chainPath+"/blocks/latest/signatures", http.StatusOK, &latest)
		if latest.Height < s.Height || latest.Canonical {
			t.Fatalf("latest: %+v", latest)
		}
		status, body := call(t, base, http.MethodGet, chainPath+"/blocks/99999999/signatures", nil)
		apiErr(t, "future block", status, http.StatusNotFound, body, "not_found")
		status, body = call(t, base, http.MethodGet, chainPath+"/blocks/x/signatures", nil)
		apiErr(t, "bad height", status, http.StatusBadRequest, body, "invalid_request")
	})

	t.Run("organisation transactions", func(t *testing.T) {
		var page api.TxPage
		getJSON(t, base, chainPath+"/orgs/org2/txs?order=desc&limit=1", http.StatusOK, &page)
		if len(page.Txs) != 1 || page.Txs[0].Hash != res.Hash || page.Txs[0].Body == nil || page.Txs[0].BlockTime == nil {
			t.Fatalf("newest org2 tx: %+v", page)
		}
		if page.Next != "" {
			var next api.TxPage
			getJSON(t, base, chainPath+"/orgs/org2/txs?order=desc&limit=1&cursor="+page.Next, http.StatusOK, &next)
			if len(next.Txs) == 1 && next.Txs[0].Height > page.Txs[0].Height {
				t.Fatalf("next page goes forward: %+v", next)
			}
		}
		var none api.TxPage
		getJSON(t, base, chainPath+"/orgs/"+testRegulatorOrg+"/txs", http.StatusOK, &none)
		for _, tx := range none.Txs {
			if tx.Body != nil && tx.Body.Sender == senderAddr.String() {
				t.Fatalf("org2's admin's tx among the regulator's: %+v", tx)
			}
		}
		for path, code := range map[string]string{
			"/orgs/nobody/txs":                  "not_found",
			"/orgs/Bad_Id/txs":                  "invalid_request",
			"/orgs/org1/txs?order=up":           "invalid_request",
			"/orgs/org1/txs?cursor=zz":          "invalid_request",
			"/orgs/org1/txs?order=desc&limit=0": "invalid_request",
		} {
			status, body := call(t, base, http.MethodGet, chainPath+path, nil)
			want := http.StatusBadRequest
			if code == "not_found" {
				want = http.StatusNotFound
			}
			apiErr(t, path, status, want, body, code)
		}
	})

	t.Run("search", func(t *testing.T) {
		find := func(q string) []searchResult {
			t.Helper()
			var out searchResults
			getJSON(t, base, "/v1/search?q="+q, http.StatusOK, &out)
			if len(out.Unavailable) != 0 {
				t.Fatalf("search %q: unavailable %v", q, out.Unavailable)
			}
			return out.Results
		}
		one := func(q, kind, id string) {
			t.Helper()
			for _, r := range find(q) {
				if r.Kind == kind && r.Chain == testChainID && strings.EqualFold(r.ID, id) {
					return
				}
			}
			t.Errorf("search %q: no %s %s in %+v", q, kind, id, find(q))
		}
		one(strings.ToLower(res.Hash), "tx", res.Hash)
		one("0x"+res.Hash, "tx", res.Hash)
		one(hex.EncodeToString(d), "evidence", strings.ToUpper(hex.EncodeToString(d)))
		one("1", "block", "1")
		one(senderAddr.String(), "account", senderAddr.String())
		one("org1", "org", "org1")
		one("ORG%201", "org", "org1") // by name, any case
		one("org:"+testRegulatorOrg, "org", testRegulatorOrg)
		var b api.Block
		getJSON(t, base, fmt.Sprintf("%s/blocks/%d", chainPath, res.Height), http.StatusOK, &b)
		one(b.Hash, "block", strconv.FormatInt(res.Height, 10))
		one(strings.ToLower(b.Proposer), "validator", b.Proposer)
		if r := find("nothing-like-this"); len(r) != 0 {
			t.Errorf("search for nothing: %+v", r)
		}
		if r := find("99999999999"); len(r) != 0 {
			t.Errorf("search for a future height: %+v", r)
		}
		if r := find(strings.Repeat("ab", 32)); len(r) != 0 {
			t.Errorf("search for an unknown hash: %+v", r)
		}
		for _, q := range []string{"", "%20"} {
			if r := find(q); len(r) != 0 {
				t.Errorf("search for %q: %+v", q, r)
			}
		}
		status, body := call(t, base, http.MethodGet, "/v1/search?q="+strings.Repeat("x", MaxSearchQuery+1), nil)
		apiErr(t, "search too long", status, http.StatusBadRequest, body, "invalid_request")
	})
}

// TestSearchUnavailableChain: a chain that cannot answer is named, the others answer.
func TestSearchUnavailableChain(t *testing.T) {
	f := newFakeNode(t)
	f.answer("abci_query", func() (any, *rpctypes.RPCError) {
		return &ctypes.ResultABCIQuery{Response: abci.ResponseQuery{Code: uint32(errcode.NotFound), Codespace: errcode.Codespace, Log: "no proposal 5", Height: 7}}, nil
	})
	_, base := serveGateway(t, Config{Chains: map[string][]string{"live-1": {f.url()}, "down-1": {deadURL(t)}}})
	var out searchResults
	getJSON(t, base, "/v1/search?q=5", http.StatusOK, &out)
	if _, ok := out.Unavailable["down-1"]; !ok || len(out.Unavailable) != 1 {
		t.Fatalf("unavailable %v", out.Unavailable)
	}
	if len(out.Results) != 1 || out.Results[0].Chain != "live-1" || out.Results[0].Kind != "block" {
		t.Fatalf("results %+v", out.Results)
	}
}
