package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/emmansun/gmsm/sm3"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/app"
	"github.com/lianchain/lian/client"
	"github.com/lianchain/lian/client/clienttest"
	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/modules/evidence"
	"github.com/lianchain/lian/modules/identity"
	"github.com/lianchain/lian/txs"
)

// cliGateway is a fake gateway serving canned documents and recording submitted txs.
type cliGateway struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	routes map[string]func(w http.ResponseWriter, r *http.Request, body []byte)
	txs    [][]byte
	paths  []string
}

func newCLIGateway(t *testing.T) *cliGateway {
	g := &cliGateway{t: t, routes: map[string]func(http.ResponseWriter, *http.Request, []byte){}}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		key := r.Method + " " + r.URL.Path
		g.mu.Lock()
		g.paths = append(g.paths, key+"?"+r.URL.RawQuery)
		h := g.routes[key]
		g.mu.Unlock()
		if h == nil {
			cliWriteJSON(w, 404, api.Error{Code: "not_found", Message: "no route " + key})
			return
		}
		h(w, r, body)
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func cliWriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (g *cliGateway) doc(key string, status int, v any) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.routes[key] = func(w http.ResponseWriter, _ *http.Request, _ []byte) { cliWriteJSON(w, status, v) }
}

// account serves addr's account with the next nonce.
func (g *cliGateway) account(chain string, addr crypto.Address, nonce uint64) {
	g.doc("GET /v1/chains/"+chain+"/accounts/"+addr.String(), 200, api.Account{Account: json.RawMessage(`{"address":"` + addr.String() + `","org":"org1","roles":["admin"]}`), Nonce: nonce, Height: 7})
}

// acceptTxs answers every submitted tx with respond(tx) and records it.
func (g *cliGateway) acceptTxs(chain string, respond func(tx []byte) (int, any)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.routes["POST /v1/chains/"+chain+"/txs"] = func(w http.ResponseWriter, r *http.Request, body []byte) {
		var st api.SubmitTx
		if err := json.Unmarshal(body, &st); err != nil {
			cliWriteJSON(w, 400, api.Error{Code: "invalid_request", Message: err.Error()})
			return
		}
		g.mu.Lock()
		g.txs = append(g.txs, st.Tx)
		g.mu.Unlock()
		status, v := respond(st.Tx)
		cliWriteJSON(w, status, v)
	}
}

func committed(height int64) func(tx []byte) (int, any) {
	return func(tx []byte) (int, any) {
		return 200, api.TxResult{Hash: txs.HashOf(tx).String(), Height: height, Events: []api.Event{}}
	}
}

// lastTx decodes the last submitted tx, checks its signature and returns its body.
func (g *cliGateway) lastTx() (*txs.Tx, *txs.Body) {
	g.t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.txs) == 0 {
		g.t.Fatal("no tx submitted")
	}
	tx, err := txs.DecodeTx(g.txs[len(g.txs)-1])
	if err != nil {
		g.t.Fatal(err)
	}
	body, err := txs.DecodeBody(tx.BodyBytes)
	if err != nil {
		g.t.Fatal(err)
	}
	if _, err := tx.Verify(body); err != nil {
		g.t.Fatalf("submitted tx is not correctly signed: %v", err)
	}
	return tx, body
}

// runCLI runs the lian root command with a home and gateway and returns stdout, stderr
// and the error Execute returned (main exits 1 on it).
func runCLI(t *testing.T, home, gateway string, args ...string) (string, string, error) {
	t.Helper()
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(append([]string{"--home", home, "--gateway", gateway}, args...))
	err := root.Execute()
	return out.String(), errb.String(), err
}

// oneJSON decodes stdout as exactly one JSON document.
func oneJSON(t *testing.T, out string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(v); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, out)
	}
	if dec.More() {
		t.Fatalf("stdout has more than one JSON document:\n%s", out)
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err != io.EOF {
		t.Fatalf("trailing data after the JSON document:\n%s", out)
	}
}

func mustRun(t *testing.T, home, gw string, args ...string) string {
	t.Helper()
	out, stderr, err := runCLI(t, home, gw, args...)
	if err != nil {
		t.Fatalf("lian %s: %v\nstderr: %s\nstdout: %s", strings.Join(args, " "), err, stderr, out)
	}
	return out
}

func TestKeysCLI(t *testing.T) {
	home := t.TempDir()
	gw := "http://127.0.0.1:1" // keys never talk to the gateway

	out := mustRun(t, home, gw, "keys", "add", "alice", "-o", "json")
	var k map[string]any
	oneJSON(t, out, &k)
	if len(k) != 4 || k["name"] != "alice" || k["algo"] != "ed25519" {
		t.Fatalf("keys add json: %v", k)
	}
	addr, _ := k["address"].(string)
	if _, err := crypto.ParseAddress(addr); err != nil {
		t.Errorf("address %q: %v", addr, err)
	}
	pub, _ := hex.DecodeString(k["pub_key"].(string))
	if len(pub) != crypto.Ed25519PubKeySize {
		t.Errorf("pub_key %v", k["pub_key"])
	}

	fi, err := os.Stat(filepath.Join(home, "keys", "alice.json"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	priv, _ := os.ReadFile(filepath.Join(home, "keys", "alice.json"))
	var kf struct {
		PrivKey string `json:"priv_key"`
	}
	_ = json.Unmarshal(priv, &kf)

	text := mustRun(t, home, gw, "keys", "add", "bob", "--algo", "sm2")
	for _, want := range []string{"name:    bob", "algo:    sm2", "address: 0x", "pub_key: "} {
		if !strings.Contains(text, want) {
			t.Errorf("keys add text lacks %q:\n%s", want, text)
		}
	}
	mustRun(t, home, gw, "keys", "add", "carol", "--algo", "secp256k1")

	out = mustRun(t, home, gw, "keys", "list", "-o", "json")
	var list []map[string]string
	oneJSON(t, out, &list)
	if len(list) != 3 || list[0]["name"] != "alice" || list[1]["algo"] != "sm2" || list[2]["algo"] != "secp256k1" {
		t.Fatalf("keys list: %v", list)
	}
	if list[0]["address"] != addr {
		t.Errorf("list address %s, add said %s", list[0]["address"], addr)
	}

	out = mustRun(t, home, gw, "keys", "show", "alice", "-o", "json")
	var shown map[string]string
	oneJSON(t, out, &shown)
	if shown["address"] != addr || shown["pub_key"] != k["pub_key"] {
		t.Errorf("keys show: %v", shown)
	}
	text = mustRun(t, home, gw, "keys", "list")
	if strings.Count(text, "name:") != 3 {
		t.Errorf("keys list text:\n%s", text)
	}

	// Private keys are never printed.
	for _, o := range []string{out, text, mustRun(t, home, gw, "keys", "show", "alice")} {
		if strings.Contains(o, kf.PrivKey) || strings.Contains(o, "priv") {
			t.Errorf("output shows a private key:\n%s", o)
		}
	}

	if _, _, err := runCLI(t, home, gw, "keys", "add", "alice"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("duplicate name: %v", err)
	}
	if _, _, err := runCLI(t, home, gw, "keys", "add", "dave", "--algo", "rsa"); err == nil {
		t.Error("unknown algorithm accepted")
	}
	if _, _, err := runCLI(t, home, gw, "keys", "show", "nobody"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("missing key: %v", err)
	}
	if _, _, err := runCLI(t, home, gw, "keys", "add", "../evil"); err == nil {
		t.Error("path in key name accepted")
	}
}

// newKey adds a key to home's keystore and returns its signer.
func newKey(t *testing.T, home, name string, algo crypto.Algo) crypto.PrivKey {
	t.Helper()
	ks, err := crypto.OpenKeystore(filepath.Join(home, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ks.Create(name, algo); err != nil {
		t.Fatal(err)
	}
	k, err := ks.Signer(name)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestTxAnchorFileCLI(t *testing.T) {
	home := t.TempDir()
	gw := newCLIGateway(t)
	key := newKey(t, home, "alice", crypto.SM2)
	addr := key.PubKey().Address()
	gw.account("beijing-1", addr, 5)
	gw.acceptTxs("beijing-1", committed(12))

	doc := filepath.Join(t.TempDir(), "contract.pdf")
	content := []byte("the contract, version 2\n")
	if err := os.WriteFile(doc, content, 0o600); err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256(content)

	out := mustRun(t, home, gw.srv.URL, "tx", "evidence", "anchor", "--chain", "beijing-1", "--from", "alice",
		"--file", doc, "--label", "contract", "--meta", "case=42", "--meta", "court=north", "--memo", "m", "-o", "json")
	var res map[string]any
	oneJSON(t, out, &res)
	_, body := gw.lastTx()
	if body.Nonce != 5 || body.Sender != addr || body.ChainID != "beijing-1" || body.Memo != "m" || len(body.Messages) != 1 {
		t.Fatalf("body %+v", body)
	}
	if body.Messages[0].TypeURL != evidence.TypeAnchor {
		t.Fatalf("type %s", body.Messages[0].TypeURL)
	}
	m, err := evidence.DecodeAnchor(body.Messages[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	a := m.(*evidence.MsgAnchor)
	if !bytes.Equal(a.Digest, want[:]) || a.HashAlgo != "sha256" || a.Label != "contract" ||
		len(a.Metadata) != 2 || a.Metadata[0] != (evidence.Entry{Key: "case", Value: "42"}) || a.Metadata[1].Value != "north" {
		t.Fatalf("message %+v", a)
	}
	if res["digest"] != strings.ToUpper(hex.EncodeToString(want[:])) || res["height"] != float64(12) || res["code"] != float64(0) ||
		res["hash"] != txs.HashOf(gw.txs[len(gw.txs)-1]).String() || res["hash_algo"] != "sha256" {
		t.Errorf("output %v", res)
	}

	// SM3, text output.
	gw.account("beijing-1", addr, 6)
	text := mustRun(t, home, gw.srv.URL, "tx", "evidence", "anchor", "--chain", "beijing-1", "--from", "alice", "--file", doc, "--hash", "sm3")
	_, body = gw.lastTx()
	m, _ = evidence.DecodeAnchor(body.Messages[0].Value)
	sum := sm3.Sum(content)
	if a := m.(*evidence.MsgAnchor); !bytes.Equal(a.Digest, sum[:]) || a.HashAlgo != "sm3" || body.Nonce != 6 {
		t.Fatalf("sm3 anchor %+v nonce %d", a, body.Nonce)
	}
	for _, w := range []string{"hash:", "height:", "12", "code:", "0 (ok)", "digest:", strings.ToUpper(hex.EncodeToString(sum[:]))} {
		if !strings.Contains(text, w) {
			t.Errorf("text output lacks %q:\n%s", w, text)
		}
	}

	// --digest, and --wait=false.
	d := strings.Repeat("ab", 32)
	gw.acceptTxs("beijing-1", func(tx []byte) (int, any) {
		return 202, api.TxResult{Hash: txs.HashOf(tx).String(), Events: []api.Event{}}
	})
	out = mustRun(t, home, gw.srv.URL, "tx", "evidence", "anchor", "--chain", "beijing-1", "--from", "alice", "--digest", "0x"+d, "--wait=false", "-o", "json")
	if p := gw.paths[len(gw.paths)-1]; !strings.HasSuffix(p, "?wait=false") {
		t.Errorf("request %s", p)
	}
	_, body = gw.lastTx()
	m, _ = evidence.DecodeAnchor(body.Messages[0].Value)
	if hex.EncodeToString(m.(*evidence.MsgAnchor).Digest) != d {
		t.Errorf("digest flag not used")
	}

	// Flag errors, before anything is sent.
	n := len(gw.txs)
	for _, args := range [][]string{
		{"--from", "alice", "--digest", d},          // no chain
		{"--chain", "beijing-1", "--digest", d},     // no from
		{"--chain", "beijing-1", "--from", "alice"}, // nothing to anchor
		{"--chain", "beijing-1", "--from", "alice", "--digest", "abcd"},
		{"--chain", "beijing-1", "--from", "alice", "--digest", d, "--file", doc},
		{"--chain", "beijing-1", "--from", "alice", "--digest", d, "--hash", "md5"},
		{"--chain", "beijing-1", "--from", "alice", "--digest", d, "--meta", "novalue"},
		{"--chain", "beijing-1", "--from", "nobody", "--digest", d},
		{"--chain", "beijing-1", "--from", "alice", "--file", filepath.Join(home, "missing")},
	} {
		if _, _, err := runCLI(t, home, gw.srv.URL, append([]string{"tx", "evidence", "anchor"}, args...)...); err == nil {
			t.Errorf("anchor %v: no error", args)
		}
	}
	if len(gw.txs) != n {
		t.Error("a tx was submitted despite a flag error")
	}
}

func TestTxRegisterAccountCLI(t *testing.T) {
	home := t.TempDir()
	gw := newCLIGateway(t)
	admin := newKey(t, home, "admin", crypto.Ed25519)
	bob := newKey(t, home, "bob", crypto.SM2)
	gw.account("beijing-1", admin.PubKey().Address(), 3)
	gw.acceptTxs("beijing-1", committed(4))

	idFile := filepath.Join(t.TempDir(), "bob-id.json")
	if err := os.WriteFile(idFile, []byte(`{"name":"Bob"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	idHash := sha256.Sum256([]byte(`{"name":"Bob"}`))

	out := mustRun(t, home, gw.srv.URL, "tx", "identity", "register-account", "--chain", "beijing-1", "--from", "admin",
		"--key", "bob", "--roles", "member,admin", "--identity-file", idFile, "-o", "json")
	var res map[string]any
	oneJSON(t, out, &res)
	_, body := gw.lastTx()
	if body.Nonce != 3 || body.Sender != admin.PubKey().Address() || body.Messages[0].TypeURL != identity.TypeRegisterAccount {
		t.Fatalf("body %+v", body)
	}
	m, err := identity.DecodeRegisterAccount(body.Messages[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	r := m.(*identity.MsgRegisterAccount)
	if !bytes.Equal(r.PubKey, bob.PubKey().Bytes()) || r.Algo != crypto.SM2 || strings.Join(r.Roles, ",") != "member,admin" ||
		!bytes.Equal(r.IdentityHash, idHash[:]) {
		t.Fatalf("message %+v", r)
	}
	if err := r.ValidateBasic(); err != nil {
		t.Fatal(err)
	}
	if res["account"] != bob.PubKey().Address().String() || res["height"] != float64(4) {
		t.Errorf("output %v", res)
	}

	// --pubkey/--algo and --identity-hash; roles default to member.
	carol, _ := crypto.GenPrivKey(crypto.Secp256k1)
	ih := strings.Repeat("11", 32)
	mustRun(t, home, gw.srv.URL, "tx", "identity", "register-account", "--chain", "beijing-1", "--from", "admin",
		"--pubkey", hex.EncodeToString(carol.PubKey().Bytes()), "--algo", "secp256k1", "--identity-hash", ih)
	_, body = gw.lastTx()
	m, _ = identity.DecodeRegisterAccount(body.Messages[0].Value)
	r = m.(*identity.MsgRegisterAccount)
	if !bytes.Equal(r.PubKey, carol.PubKey().Bytes()) || r.Algo != crypto.Secp256k1 || strings.Join(r.Roles, ",") != "member" ||
		hex.EncodeToString(r.IdentityHash) != ih {
		t.Fatalf("message %+v", r)
	}

	base := []string{"tx", "identity", "register-account", "--chain", "beijing-1", "--from", "admin"}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--key", "bob"}, "identity"},
		{[]string{"--key", "bob", "--identity-hash", ih, "--identity-file", idFile}, "not both"},
		{[]string{"--identity-hash", ih}, "--key"},
		{[]string{"--key", "bob", "--pubkey", "00", "--identity-hash", ih}, "not both"},
		{[]string{"--pubkey", hex.EncodeToString(carol.PubKey().Bytes()), "--identity-hash", ih}, "--algo"},
		{[]string{"--pubkey", "0011", "--algo", "ed25519", "--identity-hash", ih}, "account key"},
		{[]string{"--key", "bob", "--identity-hash", "1234"}, "32"},
		{[]string{"--key", "bob", "--identity-hash", ih, "--roles", "root"}, "role"},
	} {
		_, _, err := runCLI(t, home, gw.srv.URL, append(base, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want it to mention %q", c.args, err, c.want)
		}
	}
}

func TestTxAnchorBatchCLI(t *testing.T) {
	home := t.TempDir()
	gw := newCLIGateway(t)
	key := newKey(t, home, "alice", crypto.Ed25519)
	gw.account("beijing-1", key.PubKey().Address(), 0)
	gw.acceptTxs("beijing-1", committed(30))

	dir := t.TempDir()
	var files []string
	var digests [][]byte
	for _, name := range []string{"a.txt", "b.txt", "c.txt"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("content of "+name), 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
		d := sha256.Sum256([]byte("content of " + name))
		digests = append(digests, d[:])
	}
	proofsDir := filepath.Join(t.TempDir(), "proofs")
	out := mustRun(t, home, gw.srv.URL, "tx", "evidence", "anchor-batch", "--chain", "beijing-1", "--from", "alice",
		"--files", strings.Join(files, ","), "--label", "batch-1", "--proofs-out", proofsDir, "-o", "json")
	var res map[string]any
	oneJSON(t, out, &res)
	_, body := gw.lastTx()
	m, err := evidence.DecodeAnchorBatch(body.Messages[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	b := m.(*evidence.MsgAnchorBatch)
	root := evidence.BatchRoot(digests)
	if !bytes.Equal(b.Root, root) || b.Count != 3 || b.HashAlgo != "sha256" || b.Label != "batch-1" {
		t.Fatalf("message %+v", b)
	}
	if res["root"] != strings.ToUpper(hex.EncodeToString(root)) || res["count"] != float64(3) {
		t.Errorf("output %v", res)
	}
	paths, _ := res["proof_files"].([]any)
	if len(paths) != 3 {
		t.Fatalf("proof_files %v", res["proof_files"])
	}
	for i, name := range []string{"a.txt", "b.txt", "c.txt"} {
		bz, err := os.ReadFile(filepath.Join(proofsDir, name+".proof.json"))
		if err != nil {
			t.Fatal(err)
		}
		var p client.BatchInclusion
		if err := json.Unmarshal(bz, &p); err != nil {
			t.Fatal(err)
		}
		if err := p.Verify(); err != nil {
			t.Errorf("proof of %s: %v", name, err)
		}
		if !bytes.Equal(p.Digest, digests[i]) || !bytes.Equal(p.Root, root) || p.Index != int64(i) || p.Height != 30 ||
			p.ChainID != "beijing-1" || p.TxHash != res["hash"] || p.Document != name {
			t.Errorf("proof %+v", p)
		}
	}

	// Without --proofs-out, the proofs are in the output.
	out = mustRun(t, home, gw.srv.URL, "tx", "evidence", "anchor-batch", "--chain", "beijing-1", "--from", "alice",
		"--files", files[0], "--files", files[1], "--hash", "sm3", "-o", "json")
	var res2 struct {
		Proofs []client.BatchInclusion `json:"proofs"`
		Root   string                  `json:"root"`
	}
	oneJSON(t, out, &res2)
	if len(res2.Proofs) != 2 || res2.Proofs[0].HashAlgo != "sm3" {
		t.Fatalf("proofs %+v", res2)
	}
	for _, p := range res2.Proofs {
		if err := p.Verify(); err != nil || p.Root.String() != res2.Root {
			t.Errorf("printed proof: %v", err)
		}
	}
	text := mustRun(t, home, gw.srv.URL, "tx", "evidence", "anchor-batch", "--chain", "beijing-1", "--from", "alice", "--files", files[0])
	if !strings.Contains(text, "root:") || !strings.Contains(text, `"aunts"`) {
		t.Errorf("text output:\n%s", text)
	}

	// A failed batch writes no proofs.
	gw.doc("POST /v1/chains/beijing-1/txs", 409, api.Error{Code: "already_exists", Message: "root anchored"})
	failDir := filepath.Join(t.TempDir(), "none")
	if _, _, err := runCLI(t, home, gw.srv.URL, "tx", "evidence", "anchor-batch", "--chain", "beijing-1", "--from", "alice",
		"--files", files[0], "--proofs-out", failDir); err == nil {
		t.Fatal("no error")
	}
	if entries, _ := os.ReadDir(failDir); len(entries) != 0 {
		t.Errorf("proofs written for a refused batch: %v", entries)
	}
}

func TestTxErrorCLI(t *testing.T) {
	home := t.TempDir()
	gw := newCLIGateway(t)
	key := newKey(t, home, "alice", crypto.Ed25519)
	gw.account("beijing-1", key.PubKey().Address(), 1)
	d := strings.Repeat("cd", 32)
	args := []string{"tx", "evidence", "anchor", "--chain", "beijing-1", "--from", "alice", "--digest", d}

	// Refused: error response.
	gw.doc("POST /v1/chains/beijing-1/txs", 400, api.Error{Code: "bad_nonce", Message: "nonce 1, expected 2", Hash: "AA"})
	out, _, err := runCLI(t, home, gw.srv.URL, append(args, "-o", "json")...)
	if err == nil || !strings.Contains(err.Error(), "bad_nonce") || !strings.Contains(err.Error(), "nonce 1, expected 2") {
		t.Fatalf("refused tx: %v", err)
	}
	var doc struct{ Error api.Error }
	oneJSON(t, out, &doc)
	if doc.Error.Code != "bad_nonce" || doc.Error.Hash != "AA" {
		t.Errorf("json error doc %+v", doc)
	}
	out, _, err = runCLI(t, home, gw.srv.URL, args...)
	if err == nil || out != "" {
		t.Errorf("refused tx, text mode: %v, stdout %q", err, out)
	}

	// Committed with a non-zero code.
	gw.acceptTxs("beijing-1", func(tx []byte) (int, any) {
		return 200, api.TxResult{Hash: txs.HashOf(tx).String(), Height: 8, Code: 11, CodeName: "already_exists", Codespace: "lian", Log: "digest is already anchored", Events: []api.Event{}}
	})
	out, _, err = runCLI(t, home, gw.srv.URL, append(args, "-o", "json")...)
	if err == nil || !strings.Contains(err.Error(), "already_exists: digest is already anchored") {
		t.Fatalf("failed tx: %v", err)
	}
	var res api.TxResult
	oneJSON(t, out, &res)
	if res.Code != 11 || res.CodeName != "already_exists" || res.Height != 8 {
		t.Errorf("json result %+v", res)
	}
	out, _, _ = runCLI(t, home, gw.srv.URL, args...)
	if !strings.Contains(out, "11 (already_exists)") {
		t.Errorf("text result:\n%s", out)
	}

	// Unknown sender: the nonce lookup fails with the gateway's code.
	other := newKey(t, home, "stranger", crypto.Ed25519)
	gw.doc("GET /v1/chains/beijing-1/accounts/"+other.PubKey().Address().String(), 404, api.Error{Code: "unknown_account", Message: "not registered"})
	out, _, err = runCLI(t, home, gw.srv.URL, "tx", "evidence", "anchor", "--chain", "beijing-1", "--from", "stranger", "--digest", d, "-o", "json")
	if err == nil || !strings.Contains(err.Error(), "unknown_account") {
		t.Fatalf("unknown sender: %v", err)
	}
	oneJSON(t, out, &doc)
	if doc.Error.Code != "unknown_account" {
		t.Errorf("json error doc %+v", doc)
	}

	// Gateway unreachable.
	out, _, err = runCLI(t, home, "http://127.0.0.1:1", append(args, "-o", "json")...)
	if err == nil {
		t.Fatal("no error without a gateway")
	}
	oneJSON(t, out, &doc)
	if doc.Error.Code != "unavailable" {
		t.Errorf("json error doc %+v", doc)
	}
}

// TestCLIExitCode runs the real main in a child process: a refused tx exits 1 with the
// code name on stderr and one JSON document on stdout.
func TestCLIExitCode(t *testing.T) {
	if os.Getenv("LIAN_CLI_TEST_MAIN") == "1" {
		os.Args = append([]string{"lian"}, strings.Fields(os.Getenv("LIAN_CLI_TEST_ARGS"))...)
		main()
		os.Exit(0)
	}
	home := t.TempDir()
	gw := newCLIGateway(t)
	key := newKey(t, home, "alice", crypto.Ed25519)
	gw.account("beijing-1", key.PubKey().Address(), 1)
	gw.doc("POST /v1/chains/beijing-1/txs", 403, api.Error{Code: "unauthorized", Message: "the sender is not an admin"})

	args := "--home " + home + " --gateway " + gw.srv.URL + " -o json tx evidence anchor --chain beijing-1 --from alice --digest " + strings.Repeat("ef", 32)
	cmd := exec.Command(os.Args[0], "-test.run=^TestCLIExitCode$")
	cmd.Env = append(os.Environ(), "LIAN_CLI_TEST_MAIN=1", "LIAN_CLI_TEST_ARGS="+args)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v\nstderr: %s\nstdout: %s", err, errb.String(), out.String())
	}
	if !strings.Contains(errb.String(), "unauthorized: the sender is not an admin") {
		t.Errorf("stderr: %s", errb.String())
	}
	var doc struct{ Error api.Error }
	oneJSON(t, out.String(), &doc)
	if doc.Error.Code != "unauthorized" {
		t.Errorf("stdout doc %+v", doc)
	}
}

func TestQueryCLI(t *testing.T) {
	home := t.TempDir()
	gw := newCLIGateway(t)
	url := gw.srv.URL
	key := newKey(t, home, "alice", crypto.Ed25519)
	addr := key.PubKey().Address()

	// account, by address and by key name.
	gw.account("beijing-1", addr, 9)
	for _, who := range []string{addr.String(), "alice"} {
		out := mustRun(t, home, url, "query", "account", who, "--chain", "beijing-1", "-o", "json")
		var a api.Account
		oneJSON(t, out, &a)
		if a.Nonce != 9 || !strings.Contains(string(a.Account), "org1") {
			t.Errorf("account %s: %+v", who, a)
		}
	}
	text := mustRun(t, home, url, "query", "account", "alice", "--chain", "beijing-1")
	for _, w := range []string{"address:      " + addr.String(), "nonce:        9", "state_height: ", "org:          org1", `roles:        ["admin"]`} {
		if !strings.Contains(text, w) {
			t.Errorf("account text lacks %q:\n%s", w, text)
		}
	}
	if _, _, err := runCLI(t, home, url, "query", "account", "nobody", "--chain", "beijing-1"); err == nil {
		t.Error("unknown key name accepted")
	}
	if _, _, err := runCLI(t, home, url, "query", "account", "alice"); err == nil || !strings.Contains(err.Error(), "--chain") {
		t.Errorf("missing --chain: %v", err)
	}

	// tx.
	hash := strings.Repeat("AB", 32)
	gw.doc("GET /v1/chains/beijing-1/txs/"+hash, 200, api.TxResult{Hash: hash, Height: 3, Events: []api.Event{{Type: "lian.evidence.anchored", Attributes: []api.Attribute{{Key: "org", Value: "org1"}}}},
		Body:   &api.TxBody{ChainID: "beijing-1", Sender: addr.String(), Nonce: 2, Messages: []api.Message{{TypeURL: evidence.TypeAnchor, Decoded: json.RawMessage(`{"digest":"AA"}`)}}},
		Signer: &api.Signer{Algo: "ed25519", PubKey: "BEEF"}})
	out := mustRun(t, home, url, "query", "tx", strings.ToLower(hash), "--chain", "beijing-1", "-o", "json")
	var tr api.TxResult
	oneJSON(t, out, &tr)
	if tr.Height != 3 || tr.Body == nil || tr.Body.Nonce != 2 {
		t.Errorf("tx %+v", tr)
	}
	text = mustRun(t, home, url, "query", "tx", hash, "--chain", "beijing-1")
	for _, w := range []string{"height:", "sender:", addr.String(), "message[0]:", evidence.TypeAnchor, "event[0]:", "org=org1"} {
		if !strings.Contains(text, w) {
			t.Errorf("tx text lacks %q:\n%s", w, text)
		}
	}
	gw.doc("GET /v1/chains/beijing-1/txs/"+strings.Repeat("CD", 32), 404, api.Error{Code: "not_found", Message: "no such tx"})
	out, _, err := runCLI(t, home, url, "query", "tx", strings.Repeat("CD", 32), "--chain", "beijing-1", "-o", "json")
	if err == nil || !strings.Contains(err.Error(), "not_found") {
		t.Errorf("missing tx: %v", err)
	}
	var ed struct{ Error api.Error }
	oneJSON(t, out, &ed)

	// block, latest and by height.
	gw.doc("GET /v1/chains/beijing-1/blocks/latest", 200, api.Block{Height: 20, Hash: "H20", TxHashes: []string{hash}, CommitSignatures: 3, ValidatorCount: 4})
	gw.doc("GET /v1/chains/beijing-1/blocks/5", 200, api.Block{Height: 5, Hash: "H5"})
	out = mustRun(t, home, url, "query", "block", "latest", "--chain", "beijing-1", "-o", "json")
	var b api.Block
	oneJSON(t, out, &b)
	if b.Height != 20 {
		t.Errorf("block %+v", b)
	}
	text = mustRun(t, home, url, "query", "block", "5", "--chain", "beijing-1")
	if !strings.Contains(text, "hash:") || !strings.Contains(text, "H5") {
		t.Errorf("block text:\n%s", text)
	}
	text = mustRun(t, home, url, "query", "block", "latest", "--chain", "beijing-1")
	if !strings.Contains(text, "3 of 4 validators") {
		t.Errorf("block text:\n%s", text)
	}
	for _, h := range []string{"0", "-1", "x"} {
		if _, _, err := runCLI(t, home, url, "query", "block", h, "--chain", "beijing-1"); err == nil {
			t.Errorf("height %q accepted", h)
		}
	}
}

func TestQueryEvidenceCLI(t *testing.T) {
	home := t.TempDir()
	gw := newCLIGateway(t)
	url := gw.srv.URL
	f, err := clienttest.NewEvidence(clienttest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dhex := strings.ToUpper(hex.EncodeToString(f.Digest))
	path := "GET /v1/chains/beijing-1/evidence/" + dhex
	gw.doc(path, 200, f.Ev)

	// Without --prove: the record.
	out := mustRun(t, home, url, "query", "evidence", dhex, "--chain", "beijing-1", "-o", "json")
	var plain map[string]json.RawMessage
	oneJSON(t, out, &plain)
	if _, ok := plain["verified"]; ok || string(plain["height"]) != "3" {
		t.Errorf("plain output %s", out)
	}
	text := mustRun(t, home, url, "query", "evidence", "0x"+strings.ToLower(dhex), "--chain", "beijing-1")
	for _, w := range []string{"state_height:", "kind:", "document", "org:", "court-1"} {
		if !strings.Contains(text, w) {
			t.Errorf("text lacks %q:\n%s", w, text)
		}
	}

	// --prove: verified here.
	out, stderr, err := runCLI(t, home, url, "query", "evidence", dhex, "--chain", "beijing-1", "--prove", "-o", "json")
	if err != nil {
		t.Fatalf("prove: %v\n%s", err, stderr)
	}
	if p := gw.paths[len(gw.paths)-1]; !strings.HasSuffix(p, "?prove=true") {
		t.Errorf("request %s", p)
	}
	var v struct {
		Verified       *bool           `json:"verified"`
		Height         int64           `json:"height"`
		Record         json.RawMessage `json:"record"`
		Signers        int             `json:"signers"`
		ValidatorCount int             `json:"validator_count"`
		SignedPower    int64           `json:"signed_power"`
		TotalPower     int64           `json:"total_power"`
		AppHash        string          `json:"app_hash"`
		ValidatorsHash string          `json:"validators_hash"`
	}
	oneJSON(t, out, &v)
	if v.Verified == nil || !*v.Verified || v.Signers != 4 || v.ValidatorCount != 4 || v.SignedPower != 40 || v.TotalPower != 40 ||
		v.Height != f.Ev.Height || cliCompact(v.Record) != string(f.Ev.Record) || v.AppHash == "" {
		t.Errorf("verified output %s", out)
	}
	if !strings.Contains(stderr, "--validators-hash") {
		t.Errorf("no warning about an unpinned validator set: %q", stderr)
	}
	// Pinned: no warning.
	_, stderr, err = runCLI(t, home, url, "query", "evidence", dhex, "--chain", "beijing-1", "--prove", "--validators-hash", v.ValidatorsHash)
	if err != nil || stderr != "" {
		t.Errorf("pinned set: %v, stderr %q", err, stderr)
	}
	_, _, err = runCLI(t, home, url, "query", "evidence", dhex, "--chain", "beijing-1", "--prove", "--validators-hash", strings.Repeat("00", 32))
	if err == nil || !strings.Contains(err.Error(), "trusted set") {
		t.Errorf("wrong pinned set: %v", err)
	}

	// A proof that does not verify: non-zero exit, says why, still one document.
	g, _ := clienttest.NewEvidence(clienttest.Options{Signers: 2})
	gw.doc(path, 200, g.Ev)
	out, _, err = runCLI(t, home, url, "query", "evidence", hex.EncodeToString(g.Digest), "--chain", "beijing-1", "--prove", "-o", "json")
	if err == nil || !strings.Contains(err.Error(), "NOT verified") || !strings.Contains(err.Error(), "voting power") {
		t.Fatalf("2 of 4 signatures: %v", err)
	}
	var nv struct {
		Verified *bool  `json:"verified"`
		Error    string `json:"error"`
	}
	oneJSON(t, out, &nv)
	if nv.Verified == nil || *nv.Verified || nv.Error == "" {
		t.Errorf("not verified output %s", out)
	}
	text, _, err = runCLI(t, home, url, "query", "evidence", dhex, "--chain", "beijing-1", "--prove")
	if err == nil || !regexp.MustCompile(`(?m)^verified: +false$`).MatchString(text) {
		t.Errorf("text: %v\n%s", err, text)
	}

	// --file computes the digest locally.
	doc := filepath.Join(t.TempDir(), "doc")
	_ = os.WriteFile(doc, []byte("document A"), 0o600) // clienttest's Digest is SHA-256("document A")
	gw.doc(path, 200, f.Ev)
	if _, _, err := runCLI(t, home, url, "query", "evidence", "--file", doc, "--chain", "beijing-1", "--prove"); err != nil {
		t.Errorf("--file: %v", err)
	}

	for _, args := range [][]string{
		{"query", "evidence", "--chain", "beijing-1"},
		{"query", "evidence", "1234", "--chain", "beijing-1"},
		{"query", "evidence", "zz", "--chain", "beijing-1"},
		{"query", "evidence", dhex, "--chain", "beijing-1", "--validators-hash", strings.Repeat("00", 32)},
	} {
		if _, _, err := runCLI(t, home, url, args...); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

func TestTxFillNonceCLI(t *testing.T) {
	home := t.TempDir()
	gw := newCLIGateway(t)
	key := newKey(t, home, "alice", crypto.Ed25519)
	addr := key.PubKey().Address()
	gw.account("beijing-1", addr, 5)
	gw.acceptTxs("beijing-1", committed(12))

	// The account's next nonce by default, a given one with --nonce.
	for _, c := range []struct {
		args  []string
		nonce uint64
	}{{nil, 5}, {[]string{"--nonce", "9"}, 9}} {
		out := mustRun(t, home, gw.srv.URL, append([]string{"tx", "fill-nonce", "--chain", "beijing-1", "--from", "alice", "-o", "json"}, c.args...)...)
		var res map[string]any
		oneJSON(t, out, &res)
		tx, body := gw.lastTx()
		if body.Nonce != c.nonce || body.Sender != addr || len(body.Messages) != 0 || body.Memo != "" {
			t.Fatalf("%v: body %+v", c.args, body)
		}
		if _, err := tx.Verify(body); err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		if res["nonce"] != float64(c.nonce) || res["height"] != float64(12) || res["code"] != float64(0) {
			t.Errorf("%v: output %v", c.args, res)
		}
	}
	n := len(gw.txs)
	for _, args := range [][]string{
		{"--from", "alice"},      // no chain
		{"--chain", "beijing-1"}, // no from
		{"--chain", "beijing-1", "--from", "alice", "--memo", "m"},
		{"--chain", "beijing-1", "--from", "alice", "--nonce", "-1"},
	} {
		if _, _, err := runCLI(t, home, gw.srv.URL, append([]string{"tx", "fill-nonce"}, args...)...); err == nil {
			t.Errorf("fill-nonce %v: no error", args)
		}
	}
	if len(gw.txs) != n {
		t.Error("a tx was submitted despite a flag error")
	}
}

func TestVersionCLI(t *testing.T) {
	home := t.TempDir()
	var b app.Build
	oneJSON(t, mustRun(t, home, "http://127.0.0.1:1", "version", "-o", "json"), &b)
	if b.Version != app.Version || b.AppVersion != app.AppVersion || b.Go != runtime.Version() {
		t.Errorf("version %+v", b)
	}
	// The components are the ones go.mod pins (the test binary records its modules too).
	want := map[string]string{"cometbft": "v0.40.0", "iavl": "v1.2.4", "gmsm": "v0.30.1", "go-ethereum": "v1.17.10"}
	for _, c := range b.Components {
		if v, ok := want[c.Name]; ok && c.Version != v {
			t.Errorf("%s: version %q, want %q", c.Name, c.Version, v)
		}
		delete(want, c.Name)
	}
	if len(want) > 0 {
		t.Errorf("components missing: %v", want)
	}
	text := mustRun(t, home, "http://127.0.0.1:1", "version")
	for _, w := range []string{"lian:", "(state machine protocol 1)", "commit:", "go:", "cometbft:    v0.40.0", "iavl:        v1.2.4"} {
		if !strings.Contains(text, w) {
			t.Errorf("version text lacks %q:\n%s", w, text)
		}
	}
}
