package gateway

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/types"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules"
	"github.com/lianchain/lian/modules/credits"
	"github.com/lianchain/lian/modules/evidence"
	"github.com/lianchain/lian/modules/identity"
	"github.com/lianchain/lian/store"
	"github.com/lianchain/lian/txs"
)

func digestOf(s string) []byte {
	d := sha256.Sum256([]byte(s))
	return d[:]
}

func anchor(digest []byte, label string) *evidence.MsgAnchor {
	return &evidence.MsgAnchor{Digest: digest, HashAlgo: evidence.HashSHA256, Label: label,
		Metadata: []evidence.Entry{{Key: "k", Value: "v"}}}
}

// TestChain runs the gateway against one shared 4-validator chain. The subtests run in
// order: they share the admin's nonce.
func TestChain(t *testing.T) {
	tn := chainNet(t)
	base := tn.srv.URL
	chainPath := "/v1/chains/" + testChainID
	admin := tn.admin
	adminAddr := admin.PubKey().Address()
	d1 := digestOf("document one")

	var first api.TxResult // the admin's first transaction here: an anchor of d1
	// The admin's next nonce: other tests of the package may have run before.
	n0 := tn.nonce(t, adminAddr)

	t.Run("health", func(t *testing.T) {
		var h api.Health
		getJSON(t, base, "/healthz", http.StatusOK, &h)
		if h.Status != "ok" || !h.Chains[testChainID].OK || h.Chains[testChainID].Height < 1 {
			t.Fatalf("health %+v", h)
		}
	})

	t.Run("chains", func(t *testing.T) {
		var cs api.Chains
		getJSON(t, base, "/v1/chains", http.StatusOK, &cs)
		if len(cs.Chains) != 1 {
			t.Fatalf("chains %+v", cs)
		}
		c := cs.Chains[0]
		if c.ID != testChainID || c.LatestHeight < 1 || c.LatestAppHash == "" || c.LatestBlockTime.IsZero() ||
			c.Validators != testValidators || c.Nodes != testValidators+1 {
			t.Fatalf("chain %+v", c)
		}
	})

	t.Run("anchor commits", func(t *testing.T) {
		first = tn.mustCommit(t, sign(t, testChainID, n0, admin, anchor(d1, "first")))
		if !hasEvent(first.Events, evidence.EventAnchored) {
			t.Fatalf("events %+v lack %s", first.Events, evidence.EventAnchored)
		}
		if first.Hash != txs.HashOf(sign(t, testChainID, n0, admin, anchor(d1, "first")).Marshal()).String() {
			t.Fatalf("hash %s", first.Hash)
		}
		if first.CodeName != "" || first.Tx != nil || first.Body != nil {
			t.Fatalf("result %+v", first)
		}
	})
	if first.Height == 0 {
		t.Fatal("no committed anchor; the rest depends on it")
	}

	t.Run("account nonce after its tx", func(t *testing.T) {
		var a api.Account
		getJSON(t, base, chainPath+"/accounts/"+adminAddr.String(), http.StatusOK, &a)
		if a.Nonce != n0+1 || a.Height < first.Height {
			t.Fatalf("account %+v", a)
		}
		var rec identity.Account
		if err := json.Unmarshal(a.Account, &rec); err != nil || rec.Address != adminAddr || rec.Org != "org1" {
			t.Fatalf("account record %s: %v", a.Account, err)
		}
		// Upper-case hex digits are accepted too.
		getJSON(t, base, chainPath+"/accounts/0x"+strings.ToUpper(adminAddr.String()[2:]), http.StatusOK, nil)
	})

	t.Run("get tx", func(t *testing.T) {
		want := sign(t, testChainID, n0, admin, anchor(d1, "first"))
		for _, h := range []string{first.Hash, strings.ToLower(first.Hash), "0x" + first.Hash, "0X" + strings.ToLower(first.Hash)} {
			var res api.TxResult
			getJSON(t, base, chainPath+"/txs/"+h, http.StatusOK, &res)
			if res.Hash != first.Hash || res.Height != first.Height || res.Code != 0 || !bytes.Equal(res.Tx, want.Marshal()) {
				t.Fatalf("tx %+v", res)
			}
			if !hasEvent(res.Events, evidence.EventAnchored) {
				t.Fatalf("events %+v", res.Events)
			}
			b := res.Body
			if b == nil || b.ChainID != testChainID || b.Sender != adminAddr.String() || b.Nonce != n0 || len(b.Messages) != 1 {
				t.Fatalf("body %+v", b)
			}
			m := b.Messages[0]
			var dec struct {
				Digest   string           `json:"digest"`
				HashAlgo string           `json:"hash_algo"`
				Label    string           `json:"label"`
				Metadata []evidence.Entry `json:"metadata"`
			}
			if m.TypeURL != evidence.TypeAnchor || !bytes.Equal(m.Value, anchor(d1, "first").Marshal()) || json.Unmarshal(m.Decoded, &dec) != nil {
				t.Fatalf("message %+v", m)
			}
			if dec.Digest != fmt.Sprintf("%X", d1) || dec.HashAlgo != "sha256" || dec.Label != "first" || len(dec.Metadata) != 1 {
				t.Fatalf("decoded %s", m.Decoded)
			}
			if res.Signer == nil || res.Signer.Algo != "ed25519" || res.Signer.PubKey != fmt.Sprintf("%X", admin.PubKey().Bytes()) {
				t.Fatalf("signer %+v", res.Signer)
			}
			if res.BlockTime == nil || res.BlockTime.IsZero() || time.Since(*res.BlockTime) > time.Hour {
				t.Fatalf("block time %v", res.BlockTime)
			}
		}
	})

	t.Run("get block", func(t *testing.T) {
		var b api.Block
		getJSON(t, base, fmt.Sprintf("%s/blocks/%d", chainPath, first.Height), http.StatusOK, &b)
		if b.Height != first.Height || !contains(b.TxHashes, first.Hash) || b.ValidatorCount != testValidators {
			t.Fatalf("block %+v", b)
		}
		// A commit of a 4-validator chain has at least 3 signatures.
		if b.CommitSignatures*3 <= b.ValidatorCount*2 || b.CommitSignatures > b.ValidatorCount {
			t.Fatalf("commit signatures %d of %d", b.CommitSignatures, b.ValidatorCount)
		}
		var h types.Header
		if err := cmtjson.Unmarshal(b.Header, &h); err != nil {
			t.Fatalf("header %s: %v", b.Header, err)
		}
		if h.Hash().String() != b.Hash || h.AppHash.String() != b.AppHash || h.ProposerAddress.String() != b.Proposer ||
			!h.Time.Equal(b.Time) || h.ChainID != testChainID {
			t.Fatalf("header %+v does not match block %+v", h, b)
		}

		var latest api.Block
		getJSON(t, base, chainPath+"/blocks/latest", http.StatusOK, &latest)
		if latest.Height < first.Height || latest.ValidatorCount != testValidators || latest.CommitSignatures*3 <= 2*testValidators {
			t.Fatalf("latest block %+v", latest)
		}
		status, body := call(t, base, http.MethodGet, fmt.Sprintf("%s/blocks/%d", chainPath, latest.Height+1000), nil)
		e := apiErr(t, "block beyond latest", status, http.StatusNotFound, body, "not_found")
		// The message says which heights there are.
		if !strings.Contains(e.Message, fmt.Sprintf("block %d not found", latest.Height+1000)) || !strings.Contains(e.Message, "current blockchain height") {
			t.Errorf("block beyond latest: message %q does not name the latest height", e.Message)
		}
	})

	t.Run("evidence", func(t *testing.T) {
		var ev api.Evidence
		getJSON(t, base, fmt.Sprintf("%s/evidence/%x", chainPath, d1), http.StatusOK, &ev)
		var rec evidence.Record
		if err := json.Unmarshal(ev.Record, &rec); err != nil || !bytes.Equal(rec.Digest, d1) || rec.Height != first.Height ||
			rec.TxHash != first.Hash || rec.Submitter != adminAddr || rec.Org != "org1" {
			t.Fatalf("record %s: %v", ev.Record, err)
		}
		if ev.Proof != nil || ev.Height < first.Height {
			t.Fatalf("evidence %+v", ev)
		}
		verifyEvidence(t, tn, d1)
	})

	t.Run("evidence anchored in the last block is proven", func(t *testing.T) {
		// Right after the commit the anchoring block is usually the latest one: the
		// gateway must wait for the next block to prove it.
		d := digestOf("fresh document")
		n := tn.nonce(t, adminAddr)
		tn.mustCommit(t, sign(t, testChainID, n, admin, anchor(d, "fresh")))
		verifyEvidence(t, tn, d)
	})

	t.Run("duplicate anchor", func(t *testing.T) {
		n := tn.nonce(t, adminAddr)
		status, body := tn.submit(t, sign(t, testChainID, n, admin, anchor(d1, "again")), "")
		switch status {
		case http.StatusConflict:
			// CheckTx runs the message against the check state, which has d1: refused
			// before the mempool, so the nonce is not used.
			e := apiErr(t, "duplicate", status, http.StatusConflict, body, "already_exists")
			if e.Hash == "" || !strings.Contains(e.Message, "already anchored") {
				t.Fatalf("error %+v", e)
			}
			if got := tn.nonce(t, adminAddr); got != n {
				t.Fatalf("nonce %d after a refused tx, want %d", got, n)
			}
		case http.StatusOK:
			// Only if the refusal happened in the block: committed with the code.
			var res api.TxResult
			if err := json.Unmarshal(body, &res); err != nil || res.Code != uint32(errcode.AlreadyExists) || res.CodeName != "already_exists" {
				t.Fatalf("duplicate result %s: %v", body, err)
			}
		default:
			t.Fatalf("duplicate: status %d: %s", status, body)
		}
	})

	t.Run("refused transactions", func(t *testing.T) {
		stranger, err := crypto.GenPrivKey(crypto.Ed25519)
		if err != nil {
			t.Fatal(err)
		}
		n := tn.nonce(t, adminAddr)
		badSig := sign(t, testChainID, n, admin, anchor(digestOf("bad sig"), ""))
		badSig.Signature[0] ^= 0xff
		otherKey := sign(t, testChainID, n, admin, anchor(digestOf("other key"), ""))
		otherKey.PubKey = stranger.PubKey().Bytes() // another key than the registered one
		for _, tc := range []struct {
			name   string
			tx     *txs.Tx
			status int
			code   string
		}{
			{"bad signature", badSig, http.StatusBadRequest, "invalid_signature"},
			{"unregistered key", otherKey, http.StatusBadRequest, "invalid_signature"},
			{"wrong chain", sign(t, "other-chain", n, admin, anchor(digestOf("wrong chain"), "")), http.StatusBadRequest, "wrong_chain"},
			{"replayed nonce", sign(t, testChainID, n-1, admin, anchor(digestOf("replay"), "")), http.StatusBadRequest, "bad_nonce"},
			{"future nonce", sign(t, testChainID, n+5, admin, anchor(digestOf("future"), "")), http.StatusBadRequest, "bad_nonce"},
			{"unregistered sender", sign(t, testChainID, 0, stranger, anchor(digestOf("stranger"), "")), http.StatusNotFound, "unknown_account"},
			{"invalid message", sign(t, testChainID, n, admin, &evidence.MsgAnchor{Digest: []byte{1}, HashAlgo: "md5"}), http.StatusBadRequest, "invalid_message"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				status, body := tn.submit(t, tc.tx, "")
				e := apiErr(t, tc.name, status, tc.status, body, tc.code)
				hash := txs.HashOf(tc.tx.Marshal()).String()
				if e.Hash != hash || strings.HasPrefix(e.Message, tc.code+":") {
					t.Fatalf("error %+v, want hash %s and no code prefix", e, hash)
				}
				status, body = call(t, base, http.MethodGet, chainPath+"/txs/"+hash, nil)
				apiErr(t, "lookup of refused tx", status, http.StatusNotFound, body, "not_found")
			})
		}
		if got := tn.nonce(t, adminAddr); got != n {
			t.Fatalf("nonce %d after refused transactions, want %d", got, n)
		}
		status, body := call(t, base, http.MethodGet, fmt.Sprintf("%s/evidence/%x", chainPath, digestOf("bad sig")), nil)
		apiErr(t, "evidence of a refused tx", status, http.StatusNotFound, body, "not_found")
		status, body = call(t, base, http.MethodPost, chainPath+"/txs", submitBody([]byte("not a transaction")))
		apiErr(t, "garbage tx", status, http.StatusBadRequest, body, "tx_malformed")
	})

	t.Run("register account and decode it", func(t *testing.T) {
		member, err := crypto.GenPrivKey(crypto.Ed25519)
		if err != nil {
			t.Fatal(err)
		}
		n := tn.nonce(t, adminAddr)
		reg := &identity.MsgRegisterAccount{PubKey: member.PubKey().Bytes(), Algo: crypto.Ed25519,
			Roles: []string{identity.RoleMember}, IdentityHash: digestOf("real name")}
		res := tn.mustCommit(t, sign(t, testChainID, n, admin, reg))
		var got api.TxResult
		getJSON(t, base, chainPath+"/txs/"+res.Hash, http.StatusOK, &got)
		var dec map[string]any
		if got.Body == nil || len(got.Body.Messages) != 1 || json.Unmarshal(got.Body.Messages[0].Decoded, &dec) != nil {
			t.Fatalf("tx %+v", got)
		}
		if dec["address"] != member.PubKey().Address().String() || dec["algo"] != "ed25519" ||
			dec["identity_hash"] != fmt.Sprintf("%X", digestOf("real name")) {
			t.Fatalf("decoded %s", got.Body.Messages[0].Decoded)
		}
		// The admin (the network's operator) buys the member credits; it anchors once: its
		// nonce is 1.
		to := member.PubKey().Address()
		tn.mustCommit(t, sign(t, testChainID, n+1, admin, &credits.MsgTopUp{Account: &to, Currency: "CNY", Amount: 100,
			PaymentRef: "gateway-test-member", PayerName: "Org One"}))
		tn.mustCommit(t, sign(t, testChainID, 0, member, anchor(digestOf("member doc"), "")))
		if got := tn.nonce(t, member.PubKey().Address()); got != 1 {
			t.Fatalf("member nonce %d, want 1", got)
		}
		// A member may not register accounts.
		other, err := crypto.GenPrivKey(crypto.Ed25519)
		if err != nil {
			t.Fatal(err)
		}
		status, body := tn.submit(t, sign(t, testChainID, 1, member, &identity.MsgRegisterAccount{PubKey: other.PubKey().Bytes(),
			Algo: crypto.Ed25519, Roles: []string{identity.RoleMember}, IdentityHash: digestOf("x")}), "")
		apiErr(t, "member registers", status, http.StatusForbidden, body, "unauthorized")
	})

	t.Run("no wait, then resubmit", func(t *testing.T) {
		n := tn.nonce(t, adminAddr)
		tx := sign(t, testChainID, n, admin, anchor(digestOf("async"), ""))
		status, body := tn.submit(t, tx, "?wait=false")
		var res api.TxResult
		if status != http.StatusAccepted || json.Unmarshal(body, &res) != nil || res.Height != 0 || res.Code != 0 ||
			res.Hash != txs.HashOf(tx.Marshal()).String() || res.Events == nil {
			t.Fatalf("no-wait submit: %d %s", status, body)
		}
		var got api.TxResult
		eventually(t, 20*time.Second, "async tx committed", func() bool {
			status, body := call(t, base, http.MethodGet, chainPath+"/txs/"+res.Hash, nil)
			return status == http.StatusOK && json.Unmarshal(body, &got) == nil
		})
		if got.Code != 0 || got.Height <= 0 {
			t.Fatalf("async tx %+v", got)
		}
		// The same bytes again: the node has them in its cache; the answer is the
		// earlier commit.
		status, body = tn.submit(t, tx, "?timeout=10s")
		var again api.TxResult
		if status != http.StatusOK || json.Unmarshal(body, &again) != nil || again.Height != got.Height || again.Hash != got.Hash {
			t.Fatalf("resubmit: %d %s", status, body)
		}
	})

	t.Run("not found", func(t *testing.T) {
		for _, tc := range []struct{ name, path string }{
			{"unknown chain", "/v1/chains/nope/blocks/1"},
			{"unknown chain txs", "/v1/chains/nope/txs/" + first.Hash},
			{"unknown height", chainPath + "/blocks/999999999"},
			{"unknown hash", chainPath + "/txs/" + strings.Repeat("AB", 32)},
			{"unknown digest", chainPath + "/evidence/" + strings.Repeat("cd", 32)},
			{"unknown digest proven", chainPath + "/evidence/" + strings.Repeat("cd", 32) + "?prove=true"},
			{"unknown account", chainPath + "/accounts/0x" + strings.Repeat("12", 20)},
			{"unknown route", "/v1/nothing"},
			{"unknown sub-route", chainPath + "/nothing"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				status, body := call(t, base, http.MethodGet, tc.path, nil)
				e := apiErr(t, tc.path, status, http.StatusNotFound, body, "not_found")
				if strings.HasPrefix(tc.name, "unknown chain") && !strings.Contains(e.Message, testChainID) {
					t.Fatalf("message %q does not name the served chains", e.Message)
				}
			})
		}
		status, body := call(t, base, http.MethodPost, "/v1/chains/nope/txs", submitBody([]byte{1}))
		apiErr(t, "post to unknown chain", status, http.StatusNotFound, body, "not_found")
	})

	t.Run("bad requests", func(t *testing.T) {
		valid := sign(t, testChainID, 999, admin, anchor(digestOf("never"), "")).Marshal()
		big := make([]byte, txs.MaxTxBytes+1)
		for _, tc := range []struct {
			name, method, path string
			body               []byte
			status             int
			code               string
		}{
			{"malformed json", "POST", chainPath + "/txs", []byte(`{"tx":`), 400, "invalid_request"},
			{"bad base64", "POST", chainPath + "/txs", []byte(`{"tx":"***"}`), 400, "invalid_request"},
			{"unknown field", "POST", chainPath + "/txs", []byte(`{"tx":"` + b64(valid) + `","x":1}`), 400, "invalid_request"},
			{"trailing data", "POST", chainPath + "/txs", []byte(`{"tx":"` + b64(valid) + `"} {}`), 400, "invalid_request"},
			{"empty body", "POST", chainPath + "/txs", []byte{}, 400, "invalid_request"},
			{"empty tx", "POST", chainPath + "/txs", []byte(`{"tx":""}`), 400, "invalid_request"},
			{"null tx", "POST", chainPath + "/txs", []byte(`{"tx":null}`), 400, "invalid_request"},
			{"array", "POST", chainPath + "/txs", []byte(`[]`), 400, "invalid_request"},
			{"bad wait", "POST", chainPath + "/txs?wait=maybe", submitBody(valid), 400, "invalid_request"},
			{"bad timeout", "POST", chainPath + "/txs?timeout=-1s", submitBody(valid), 400, "invalid_request"},
			{"huge timeout", "POST", chainPath + "/txs?timeout=100h", submitBody(valid), 400, "invalid_request"},
			{"tx too large", "POST", chainPath + "/txs", submitBody(big), 413, "tx_too_large"},
			{"body too large", "POST", chainPath + "/txs", bytes.Repeat([]byte(" "), MaxBodyBytes+1), 413, "tx_too_large"},
			{"short hash", "GET", chainPath + "/txs/ABCD", nil, 400, "invalid_request"},
			{"non-hex hash", "GET", chainPath + "/txs/" + strings.Repeat("zz", 32), nil, 400, "invalid_request"},
			{"long hash", "GET", chainPath + "/txs/" + strings.Repeat("ab", 33), nil, 400, "invalid_request"},
			{"height zero", "GET", chainPath + "/blocks/0", nil, 400, "invalid_request"},
			{"negative height", "GET", chainPath + "/blocks/-1", nil, 400, "invalid_request"},
			{"height text", "GET", chainPath + "/blocks/abc", nil, 400, "invalid_request"},
			{"height overflow", "GET", chainPath + "/blocks/99999999999999999999", nil, 400, "invalid_request"},
			{"height plus", "GET", chainPath + "/blocks/+1", nil, 400, "invalid_request"},
			{"bad address", "GET", chainPath + "/accounts/" + strings.Repeat("12", 20), nil, 400, "invalid_request"},
			{"short address", "GET", chainPath + "/accounts/0x1234", nil, 400, "invalid_request"},
			{"bad digest", "GET", chainPath + "/evidence/xyz", nil, 400, "invalid_request"},
			{"bad prove", "GET", chainPath + "/evidence/" + strings.Repeat("cd", 32) + "?prove=yes", nil, 400, "invalid_request"},
			{"wrong method on txs", "GET", chainPath + "/txs", nil, 405, "invalid_request"},
			{"wrong method on block", "DELETE", chainPath + "/blocks/1", nil, 405, "invalid_request"},
			{"wrong method on chains", "POST", "/v1/chains", []byte("{}"), 405, "invalid_request"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				status, body := call(t, base, tc.method, tc.path, tc.body)
				apiErr(t, tc.name, status, tc.status, body, tc.code)
			})
		}
	})
}

// verifyEvidence fetches the proven evidence of digest and checks it as a client would:
// the ICS-23 proof against the app hash of the signed header, and a commit of that header
// signed by more than 2/3 of the given validator set, whose hash the header names.
func verifyEvidence(t *testing.T, tn *testNet, digest []byte) {
	t.Helper()
	var ev api.Evidence
	getJSON(t, tn.srv.URL, fmt.Sprintf("/v1/chains/%s/evidence/0x%X?prove=true", testChainID, digest), http.StatusOK, &ev)
	p := ev.Proof
	if p == nil {
		t.Fatalf("no proof in %+v", ev)
	}
	wantKey := append(modules.Prefix(evidence.Name), evidence.Key(digest)...)
	// The proof is of the stored record; the record shown is its JSON.
	shown, err := evidence.RecordJSON(p.Value)
	if p.ProofType != "ics23:iavl" || !bytes.Equal(p.Key, wantKey) || p.Height != ev.Height || err != nil || !bytes.Equal(shown, ev.Record) {
		t.Fatalf("proof (type %s, key %q, height %d, value %x: %v) of evidence %s at %d", p.ProofType, p.Key, p.Height, p.Value, err, ev.Record, ev.Height)
	}
	var sh types.SignedHeader
	if err := cmtjson.Unmarshal(p.SignedHeader, &sh); err != nil {
		t.Fatalf("signed header: %v", err)
	}
	if err := sh.ValidateBasic(testChainID); err != nil {
		t.Fatalf("signed header: %v", err)
	}
	if sh.Height != p.Height+1 {
		t.Fatalf("header of height %d for a proof at %d", sh.Height, p.Height)
	}
	if err := store.VerifyMembership(sh.AppHash, p.Proof, p.Key, p.Value); err != nil {
		t.Fatalf("membership: %v", err)
	}
	var vals types.ValidatorSet
	if err := cmtjson.Unmarshal(p.ValidatorSet, &vals); err != nil {
		t.Fatalf("validator set: %v", err)
	}
	if vals.Size() != testValidators || !bytes.Equal(vals.Hash(), sh.ValidatorsHash) {
		t.Fatalf("validator set of %d hashes to %X, header names %X", vals.Size(), vals.Hash(), sh.ValidatorsHash)
	}
	if err := vals.VerifyCommitLight(testChainID, sh.Commit.BlockID, sh.Height, sh.Commit); err != nil {
		t.Fatalf("commit: %v", err)
	}
	// A tampered value must not verify.
	bad := bytes.Clone(p.Value)
	bad[len(bad)/2] ^= 1
	if store.VerifyMembership(sh.AppHash, p.Proof, p.Key, bad) == nil {
		t.Fatal("a tampered value verifies")
	}
}
