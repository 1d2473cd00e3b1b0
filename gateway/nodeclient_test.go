package gateway

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	rpclocal "github.com/cometbft/cometbft/rpc/client/local"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/client"
	"github.com/lianchain/lian/txs"
)

// TestInProcessNodes: a gateway calling the nodes in process (Config.Local, as `lian up`
// does) answers what the gateway calling them over JSON-RPC answers, errors included,
// and fails over from a dead node to them.
func TestInProcessNodes(t *testing.T) {
	tn := chainNet(t)
	local := map[string]NodeClient{}
	urls := []string{tn.dead}
	for _, nd := range tn.nodes {
		urls = append(urls, nd.RPCURL())
		local[nd.RPCURL()+"/"] = rpclocal.New(nd.CometNode()) // normalised like Chains
	}
	gw, err := New(Config{Chains: map[string][]string{testChainID: urls}, Local: local, TxWaitTimeout: 20 * time.Second, RPCTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	for _, c := range gw.chains {
		for i, n := range c.nodes {
			if _, in := n.rpc.(inProcess); in != (i > 0) {
				t.Fatalf("node %d (%s): in process %v", i, n.url, in)
			}
		}
	}
	srv := httptest.NewServer(gw.Handler())
	defer srv.Close()
	chainPath := "/v1/chains/" + testChainID

	// A submission through the in-process gateway, waiting for the commit.
	d := digestOf("in-process gateway document")
	tx := sign(t, testChainID, tn.nonce(t, tn.admin.PubKey().Address()), tn.admin, anchor(d, "in process"))
	status, body := call(t, srv.URL, http.MethodPost, chainPath+"/txs", submitBody(tx.Marshal()))
	if status != http.StatusOK {
		t.Fatalf("submit: %d %s", status, body)
	}
	var res api.TxResult
	if err := json.Unmarshal(body, &res); err != nil || res.Code != 0 || res.Height < 1 {
		t.Fatalf("submit: %+v %v", res, err)
	}
	hash := txs.HashOf(tx.Marshal()).String()
	// The other gateway may ask a node whose tx indexer has not caught up with the
	// block yet (it indexes just after the commit): wait until it finds the transaction.
	eventually(t, 10*time.Second, "the gateway over RPC finds the transaction", func() bool {
		s, _ := call(t, tn.srv.URL, http.MethodGet, chainPath+"/txs/"+hash, nil)
		return s == http.StatusOK
	})

	// The same answers both ways.
	for _, path := range []string{
		chainPath + "/txs/" + hash,
		chainPath + "/evidence/" + strings.ToUpper(hex.EncodeToString(d)),
		chainPath + "/accounts/" + tn.admin.PubKey().Address().String(),
		chainPath + "/blocks/" + strconv.FormatInt(res.Height, 10),
		chainPath + "/txs/" + strings.Repeat("AB", 32),
		chainPath + "/evidence/" + strings.Repeat("CD", 32),
		chainPath + "/blocks/999999999",
	} {
		s1, b1 := call(t, tn.srv.URL, http.MethodGet, path, nil)
		s2, b2 := call(t, srv.URL, http.MethodGet, path, nil)
		if strings.HasSuffix(path, "/999999999") {
			// The message names the latest height, which may move between the calls.
			b1, b2 = latestHeight.ReplaceAll(b1, nil), latestHeight.ReplaceAll(b2, nil)
		}
		if s1 != s2 || !bytes.Equal(b1, b2) {
			t.Errorf("GET %s:\n over RPC   %d %s\n in process %d %s", path, s1, b1, s2, b2)
		}
	}

	// A proven record, verified by the client.
	var ev api.Evidence
	getJSON(t, srv.URL, chainPath+"/evidence/"+hex.EncodeToString(d)+"?prove=true", http.StatusOK, &ev)
	if _, err := client.VerifyEvidence(testChainID, d, &ev); err != nil {
		t.Fatalf("verify in-process proof: %v", err)
	}

	// A refused submission keeps its error code.
	stale := sign(t, testChainID, 0, tn.admin, anchor(digestOf("stale nonce, in process"), ""))
	status, body = call(t, srv.URL, http.MethodPost, chainPath+"/txs?wait=false", submitBody(stale.Marshal()))
	apiErr(t, "stale nonce", status, http.StatusBadRequest, body, "bad_nonce")
}

// latestHeight is the end of a node's "height beyond the latest" message.
var latestHeight = regexp.MustCompile(`current blockchain height [0-9]+`)
