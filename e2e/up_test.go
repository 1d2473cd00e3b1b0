package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// upNet is a running `lian up`.
type upNet struct {
	p       *proc
	home    string
	gateway string
}

func startUp(t *testing.T, home string, args ...string) *upNet {
	t.Helper()
	p := start(t, append([]string{"up", "--home", home, "--listen", "127.0.0.1:0"}, args...)...)
	line := p.waitLine(t, "ready", 120*time.Second)
	var gw string
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, "gateway="); ok {
			gw = v
		}
	}
	if gw == "" {
		t.Fatalf("ready line %q names no gateway", line)
	}
	return &upNet{p: p, home: home, gateway: gw}
}

func (u *upNet) lian(t *testing.T, v any, args ...string) {
	t.Helper()
	runJSON(t, v, append([]string{"--home", u.home, "--gateway", u.gateway}, args...)...)
}

type txOut struct {
	Hash   string `json:"hash"`
	Height int64  `json:"height"`
	Code   uint32 `json:"code"`
}

func writeDoc(t *testing.T, name, content string) (path, digest string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256([]byte(content))
	return path, hex.EncodeToString(d[:])
}

// TestUpAnchorRestartProve: anchor a file on a `lian up` network, stop it with SIGINT,
// start it again on the same home: the record and a verified proof are there, and the
// chain goes on from its last height.
func TestUpAnchorRestartProve(t *testing.T) {
	home := t.TempDir()
	u := startUp(t, home, "--chains", "up-1,up-2", "--validators", "4")
	file, digest := writeDoc(t, "contract.pdf", "a contract signed on 2026-11-27")

	var tx txOut
	u.lian(t, &tx, "tx", "evidence", "anchor", "--chain", "up-1", "--from", "demo", "--file", file, "--label", "contract")
	if tx.Code != 0 || tx.Height == 0 || tx.Hash == "" {
		t.Fatalf("anchor: %+v", tx)
	}
	// Anchoring the same document again is refused.
	run(t, true, "--home", home, "--gateway", u.gateway, "tx", "evidence", "anchor", "--chain", "up-1", "--from", "demo", "--file", file)
	// A batch: one transaction anchors three documents' Merkle root; each document's
	// inclusion proof then verifies against the anchored, proven root.
	var batch []string
	for i := 0; i < 3; i++ {
		f, _ := writeDoc(t, fmt.Sprintf("page-%d.txt", i), fmt.Sprintf("page %d of the case file", i))
		batch = append(batch, f)
	}
	proofs := t.TempDir()
	var btx txOut
	u.lian(t, &btx, "tx", "evidence", "anchor-batch", "--chain", "up-1", "--from", "demo", "--files", strings.Join(batch, ","), "--proofs-out", proofs, "--label", "case file")
	if btx.Code != 0 {
		t.Fatalf("anchor-batch: %+v", btx)
	}
	var inc struct {
		Document struct {
			Verified bool  `json:"verified"`
			Index    int64 `json:"index"`
			Total    int64 `json:"total"`
		} `json:"document"`
		Verified bool `json:"verified"`
	}
	u.lian(t, &inc, "query", "evidence", "--chain", "up-1", "--inclusion", filepath.Join(proofs, "page-1.txt.proof.json"))
	if !inc.Verified || !inc.Document.Verified || inc.Document.Index != 1 || inc.Document.Total != 3 {
		t.Fatalf("inclusion: %+v", inc)
	}
	// A proof edited to claim another document is refused.
	b, err := os.ReadFile(filepath.Join(proofs, "page-2.txt.proof.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	m["digest"] = strings.Repeat("AB", 32)
	forged, _ := json.Marshal(m)
	forgedFile := filepath.Join(proofs, "forged.proof.json")
	os.WriteFile(forgedFile, forged, 0o600)
	run(t, true, "--home", home, "--gateway", u.gateway, "query", "evidence", "--chain", "up-1", "--inclusion", forgedFile)

	// The other chain is independent.
	var tx2 txOut
	u.lian(t, &tx2, "tx", "evidence", "anchor", "--chain", "up-2", "--from", "demo", "--file", file)
	if tx2.Code != 0 {
		t.Fatalf("anchor on up-2: %+v", tx2)
	}
	u.p.interrupt(t)

	u = startUp(t, home, "--chains", "up-1,up-2", "--validators", "4")
	var q struct {
		Verified bool `json:"verified"`
		Trusted  bool `json:"validators_trusted"`
		Record   struct {
			Label  string `json:"label"`
			Height int64  `json:"height"`
			TxHash string `json:"tx_hash"`
		} `json:"record"`
	}
	u.lian(t, &q, "query", "evidence", digest, "--chain", "up-1", "--prove")
	if !q.Trusted {
		t.Fatal("the genesis validator set written by lian up was not used as the trust root")
	}
	if !q.Verified || q.Record.Label != "contract" || q.Record.Height != tx.Height || !strings.EqualFold(q.Record.TxHash, tx.Hash) {
		t.Fatalf("after restart: %+v (anchored in %+v)", q, tx)
	}
	var got txOut
	u.lian(t, &got, "query", "tx", tx.Hash, "--chain", "up-1")
	if got.Height != tx.Height {
		t.Fatalf("query tx after restart: %+v", got)
	}
	// The chain keeps going past its old height.
	_, d2 := writeDoc(t, "second.txt", "second")
	var tx3 txOut
	u.lian(t, &tx3, "tx", "evidence", "anchor", "--chain", "up-1", "--from", "demo", "--digest", d2)
	if tx3.Code != 0 || tx3.Height <= tx.Height {
		t.Fatalf("anchor after restart: %+v", tx3)
	}
	u.p.interrupt(t)
}

// TestUpCommittedTxSurvivesKill9: kill -9 `lian up` right after a commit is
// acknowledged; after a restart the transaction is there.
func TestUpCommittedTxSurvivesKill9(t *testing.T) {
	home := t.TempDir()
	u := startUp(t, home, "--chains", "kill-1", "--validators", "4")
	var txs []txOut
	var digests []string
	for i := 0; i < 3; i++ {
		_, d := writeDoc(t, "doc.txt", "document "+string(rune('a'+i)))
		var tx txOut
		u.lian(t, &tx, "tx", "evidence", "anchor", "--chain", "kill-1", "--from", "demo", "--digest", d)
		if tx.Code != 0 {
			t.Fatalf("anchor: %+v", tx)
		}
		txs, digests = append(txs, tx), append(digests, d)
	}
	u.p.kill() // immediately after the last acknowledgement

	u = startUp(t, home, "--chains", "kill-1", "--validators", "4")
	for i, tx := range txs {
		var got txOut
		u.lian(t, &got, "query", "tx", tx.Hash, "--chain", "kill-1")
		if got.Height != tx.Height || got.Code != 0 {
			t.Fatalf("tx %d after kill -9: %+v, was %+v", i, got, tx)
		}
		var q struct {
			Verified bool `json:"verified"`
		}
		u.lian(t, &q, "query", "evidence", digests[i], "--chain", "kill-1", "--prove")
		if !q.Verified {
			t.Fatalf("evidence %d not verified after kill -9", i)
		}
	}
	u.p.interrupt(t)
}
