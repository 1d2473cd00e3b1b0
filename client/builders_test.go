package client

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules/evidence"
	"github.com/lianchain/lian/modules/identity"
)

func TestEvidenceAndIdentityBuilders(t *testing.T) {
	d := testAnchor(1).Digest
	a, err := NewAnchor(d, evidence.HashSHA256, "contract", evidence.Entry{Key: "case", Value: "42"})
	if err != nil || !bytes.Equal(a.Digest, d) || a.Label != "contract" || len(a.Metadata) != 1 {
		t.Fatalf("anchor %+v, %v", a, err)
	}
	if _, err := NewAnchor(d[:31], evidence.HashSHA256, ""); errcode.Of(err) != errcode.InvalidMessage {
		t.Fatalf("short digest: %v", err)
	}
	if _, err := NewAnchor(d, "md5", ""); errcode.Of(err) != errcode.InvalidMessage {
		t.Fatalf("unknown hash: %v", err)
	}

	path := filepath.Join(t.TempDir(), "doc.txt")
	if err := os.WriteFile(path, []byte("a document"), 0o600); err != nil {
		t.Fatal(err)
	}
	fa, fd, err := NewFileAnchor(path, evidence.HashSM3, "")
	want, _ := DigestFile(evidence.HashSM3, path)
	if err != nil || !bytes.Equal(fd, want) || !bytes.Equal(fa.Digest, want) || fa.HashAlgo != evidence.HashSM3 {
		t.Fatalf("file anchor %+v, %v", fa, err)
	}
	if _, _, err := NewFileAnchor(path+".missing", evidence.HashSHA256, ""); errcode.Of(err) != errcode.InvalidRequest {
		t.Fatalf("missing file: %v", err)
	}

	digests := [][]byte{testAnchor(1).Digest, testAnchor(2).Digest, testAnchor(3).Digest}
	b, proofs, err := NewBatchAnchor(evidence.HashSHA256, digests, "batch")
	if err != nil || b.Count != 3 || len(proofs) != 3 || !bytes.Equal(b.Root, evidence.BatchRoot(digests)) {
		t.Fatalf("batch %+v, %v", b, err)
	}
	for _, p := range proofs {
		if err := p.Verify(); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := NewBatchAnchor(evidence.HashSHA256, nil, ""); err == nil {
		t.Fatal("no error for an empty batch")
	}

	key, _ := GenerateKey(crypto.SM2)
	ih, err := IdentityHash(evidence.HashSHA256, []byte("Alice Zhang, ID 110101199001011234"))
	if err != nil || len(ih) != identity.IdentityHashLen {
		t.Fatalf("identity hash %x, %v", ih, err)
	}
	reg, err := NewRegisterAccount(key.PubKey(), ih)
	if err != nil || reg.Algo != crypto.SM2 || len(reg.Roles) != 1 || reg.Roles[0] != identity.RoleMember {
		t.Fatalf("register %+v, %v", reg, err)
	}
	if _, err := NewRegisterAccount(key.PubKey(), ih, identity.RoleRegulator); errcode.Of(err) != errcode.InvalidMessage {
		t.Fatalf("network role at registration: %v", err)
	}
	if _, err := NewRegisterAccount(key.PubKey(), ih[:8]); errcode.Of(err) != errcode.InvalidMessage {
		t.Fatalf("short identity hash: %v", err)
	}
	addr := AddressOf(key)
	if g, err := NewGrantRole(addr, identity.RoleRelayer); err != nil || g.Address != addr {
		t.Fatalf("grant %+v, %v", g, err)
	}
	if _, err := NewGrantRole(addr, identity.RoleOperator); errcode.Of(err) != errcode.InvalidMessage {
		t.Fatalf("grant of a network role: %v", err)
	}
	if _, err := NewRevokeRole(crypto.Address{}, identity.RoleMember); errcode.Of(err) != errcode.InvalidRequest {
		t.Fatalf("revoke of the zero address: %v", err)
	}
	if r, err := NewRevokeRole(addr, identity.RoleMember); err != nil || r.Role != identity.RoleMember {
		t.Fatalf("revoke %+v, %v", r, err)
	}
	if f, err := NewFreeze(addr, "court order 17"); err != nil || f.Reason != "court order 17" {
		t.Fatalf("freeze %+v, %v", f, err)
	}
	if _, err := NewFreeze(addr, ""); errcode.Of(err) != errcode.InvalidMessage {
		t.Fatalf("freeze without a reason: %v", err)
	}
	if u, err := NewUnfreeze(addr, "lifted"); err != nil || u.Address != addr {
		t.Fatalf("unfreeze %+v, %v", u, err)
	}
}

func TestTypedQueries(t *testing.T) {
	f, c := newFake(t)
	ctx := context.Background()
	key, _ := GenerateKey(crypto.Ed25519)
	addr := AddressOf(key)
	rec := identity.Account{Address: addr, Algo: crypto.Ed25519, PubKey: key.PubKey().Bytes(), Org: "org1", Roles: []string{"member"}, Status: "active"}
	raw, _ := json.Marshal(rec)
	f.json("GET /v1/chains/beijing-1/accounts/"+addr.String(), 200, api.Account{Account: raw, Nonce: 9, Height: 40})
	info, err := c.AccountInfo(ctx, "beijing-1", addr)
	if err != nil || info.Account.Address != addr || info.Account.Org != "org1" || info.Nonce != 9 || info.Height != 40 {
		t.Fatalf("account info %+v, %v", info, err)
	}
	if n, err := c.Nonce(ctx, "beijing-1", addr); err != nil || n != 9 {
		t.Fatalf("nonce %d, %v", n, err)
	}

	d := testAnchor(1).Digest
	evRaw, _ := json.Marshal(evidence.Record{Digest: d, HashAlgo: evidence.HashSHA256, Kind: evidence.KindDocument, Submitter: addr, Org: "org1", Height: 5})
	f.json("GET /v1/chains/beijing-1/evidence/"+strings.ToUpper(hex.EncodeToString(d)), 200, api.Evidence{Record: evRaw, Height: 7})
	ev, err := c.EvidenceRecord(ctx, "beijing-1", d)
	if err != nil || !bytes.Equal(ev.Record.Digest, d) || ev.Record.Submitter != addr || ev.Height != 7 {
		t.Fatalf("evidence %+v, %v", ev, err)
	}
	other, _ := json.Marshal(evidence.Record{Digest: testAnchor(2).Digest})
	f.json("GET /v1/chains/beijing-1/evidence/"+strings.ToUpper(hex.EncodeToString(d)), 200, api.Evidence{Record: other, Height: 7})
	if _, err := c.EvidenceRecord(ctx, "beijing-1", d); err == nil {
		t.Fatal("no error for a record of another digest")
	}

	// AllAccountTxs follows the cursors.
	pages := map[string]api.TxPage{
		"":   {Txs: []api.TxResult{{Hash: "A"}, {Hash: "B"}}, Next: "c1"},
		"c1": {Txs: []api.TxResult{{Hash: "C"}}, Next: "c2"},
		"c2": {Txs: []api.TxResult{}},
	}
	f.route("GET /v1/chains/beijing-1/accounts/"+addr.String()+"/txs", func(w http.ResponseWriter, r *http.Request, _ []byte) {
		writeJSON(w, 200, pages[r.URL.Query().Get("cursor")])
	})
	var got []string
	for tx, err := range c.AllAccountTxs(ctx, "beijing-1", addr, TxQuery{Limit: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, tx.Hash)
	}
	if len(got) != 3 || got[0] != "A" || got[2] != "C" {
		t.Fatalf("all txs %v", got)
	}
	for _, err := range c.AllAccountTxs(ctx, "beijing-1", crypto.Address{}, TxQuery{}) {
		if errcode.Of(err) != errcode.InvalidRequest {
			t.Fatalf("zero address: %v", err)
		}
	}
}
