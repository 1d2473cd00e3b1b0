package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/client"
	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/modules/credits"
	"github.com/lianchain/lian/modules/gov"
	"github.com/lianchain/lian/modules/identity"
	"github.com/lianchain/lian/txs"
)

// committedWith answers every tx as committed at height with the events.
func committedWith(height int64, events ...api.Event) func(tx []byte) (int, any) {
	return func(tx []byte) (int, any) {
		return 200, api.TxResult{Hash: txs.HashOf(tx).String(), Height: height, Events: append([]api.Event{}, events...)}
	}
}

func event(typ string, kv ...string) api.Event {
	e := api.Event{Type: typ}
	for i := 0; i+1 < len(kv); i += 2 {
		e.Attributes = append(e.Attributes, api.Attribute{Key: kv[i], Value: kv[i+1]})
	}
	return e
}

// lastMsg decodes the single message of the last submitted tx with decode.
func lastMsg[M txs.Msg](t *testing.T, g *cliGateway, typeURL string, decode func([]byte) (txs.Msg, error)) M {
	t.Helper()
	_, body := g.lastTx()
	if len(body.Messages) != 1 || body.Messages[0].TypeURL != typeURL {
		t.Fatalf("messages %+v, want one %s", body.Messages, typeURL)
	}
	m, err := decode(body.Messages[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	out, ok := m.(M)
	if !ok {
		t.Fatalf("message %T", m)
	}
	return out
}

func TestGovProposeCLI(t *testing.T) {
	home := t.TempDir()
	gw := newCLIGateway(t)
	admin := newKey(t, home, "admin", crypto.SM2)
	other := newKey(t, home, "newadmin", crypto.Ed25519)
	gw.account("beijing-1", admin.PubKey().Address(), 4)
	gw.acceptTxs("beijing-1", committedWith(9, event(gov.EventSubmitted, "proposal", "17", "kind", "x")))
	base := []string{"tx", "gov", "propose", "--chain", "beijing-1", "--from", "admin"}
	key := bytes.Repeat([]byte{7}, 32)

	// Kind flags: add_validator with a base64 consensus key.
	out := mustRun(t, home, gw.srv.URL, append(base, "add_validator", "--title", "org2 second node", "--org", "org2",
		"--pub-key", base64.StdEncoding.EncodeToString(key), "--power", "5", "-o", "json")...)
	var res map[string]any
	oneJSON(t, out, &res)
	if res["proposal_id"] != float64(17) || res["kind"] != "add_validator" || res["height"] != float64(9) {
		t.Fatalf("output %v", res)
	}
	m := lastMsg[*gov.MsgSubmitProposal](t, gw, gov.TypeSubmitProposal, gov.DecodeSubmitProposal)
	c, err := gov.DecodeContent(m.Kind, m.Content)
	if av, ok := c.(*gov.AddValidator); err != nil || !ok || av.Org != "org2" || !bytes.Equal(av.PubKey, key) || av.Power != 5 || m.Title != "org2 second node" {
		t.Fatalf("content %s: %v", m.Content, err)
	}

	// grant_role with a key name; text output names the proposal.
	text := mustRun(t, home, gw.srv.URL, append(base, "grant_role", "--title", "t", "--address", "newadmin", "--role", "operator")...)
	if !strings.Contains(text, "proposal_id: 17") || !strings.Contains(text, "kind:        grant_role") {
		t.Errorf("text:\n%s", text)
	}
	m = lastMsg[*gov.MsgSubmitProposal](t, gw, gov.TypeSubmitProposal, gov.DecodeSubmitProposal)
	if want := `{"address":"` + other.PubKey().Address().String() + `","role":"operator"}`; string(m.Content) != want {
		t.Fatalf("content %s, want %s", m.Content, want)
	}

	// add_org with the first admin's key and identity file, and a first validator.
	idFile := filepath.Join(t.TempDir(), "id.txt")
	if err := os.WriteFile(idFile, []byte("Wang Fang"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, home, gw.srv.URL, append(base, "add_org", "--title", "admit org5", "--org", "org5", "--name", "Org Five",
		"--admin-key", "newadmin", "--admin-identity-file", idFile, "--pub-key", strings.Repeat("ab", 32), "--power", "10")...)
	m = lastMsg[*gov.MsgSubmitProposal](t, gw, gov.TypeSubmitProposal, gov.DecodeSubmitProposal)
	c, err = gov.DecodeContent(m.Kind, m.Content)
	ao, ok := c.(*gov.AddOrg)
	idHash := sha256.Sum256([]byte("Wang Fang"))
	if err != nil || !ok || ao.ID != "org5" || ao.Name != "Org Five" || !bytes.Equal(ao.Admin.PubKey, other.PubKey().Bytes()) ||
		ao.Admin.Algo != crypto.Ed25519 || !bytes.Equal(ao.Admin.IdentityHash, idHash[:]) || ao.Validator == nil || ao.Validator.Power != 10 {
		t.Fatalf("add_org content %s: %v", m.Content, err)
	}

	// suspend_org, --content and --content-file.
	mustRun(t, home, gw.srv.URL, append(base, "suspend_org", "--title", "t", "--org", "org3")...)
	if m = lastMsg[*gov.MsgSubmitProposal](t, gw, gov.TypeSubmitProposal, gov.DecodeSubmitProposal); string(m.Content) != `{"id":"org3"}` {
		t.Fatalf("content %s", m.Content)
	}
	params := `{"gov": {"threshold": {"num": 3, "den": 4}, "voting_period": 86400}}`
	mustRun(t, home, gw.srv.URL, append(base, "set_params", "--title", "t", "--content", params)...)
	if m = lastMsg[*gov.MsgSubmitProposal](t, gw, gov.TypeSubmitProposal, gov.DecodeSubmitProposal); m.Kind != gov.KindSetParams ||
		string(m.Content) != `{"gov":{"threshold":{"num":3,"den":4},"voting_period":86400}}` {
		t.Fatalf("set_params %+v", m)
	}
	cf := filepath.Join(t.TempDir(), "content.json")
	_ = os.WriteFile(cf, []byte(`{"pub_key":"`+strings.Repeat("CD", 32)+`"}`), 0o600)
	mustRun(t, home, gw.srv.URL, append(base, "remove_validator", "--title", "t", "--content-file", cf)...)
	if m = lastMsg[*gov.MsgSubmitProposal](t, gw, gov.TypeSubmitProposal, gov.DecodeSubmitProposal); m.Kind != gov.KindRemoveValidator {
		t.Fatalf("remove_validator %+v", m)
	}

	// Refused before anything is sent.
	n := len(gw.txs)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"abolish", "--title", "t", "--content", "{}"}, "unknown proposal kind"},
		{[]string{"suspend_org", "--org", "org3"}, "--title"},
		{[]string{"suspend_org", "--title", "t"}, "needs --org"},
		{[]string{"suspend_org", "--title", "t", "--org", "org3", "--power", "3"}, "--power does not apply"},
		{[]string{"suspend_org", "--title", "t", "--org", "org3", "--content", `{"id":"org3"}`}, "not both"},
		{[]string{"suspend_org", "--title", "t", "--content", "{}", "--content-file", cf}, "not both"},
		{[]string{"set_params", "--title", "t"}, "--content"},
		{[]string{"set_params", "--title", "t", "--content", "{"}, "invalid_message"},
		{[]string{"suspend_org", "--title", "t", "--content", `{"id":"org3","extra":1}`}, "invalid_message"},
		{[]string{"add_validator", "--title", "t", "--org", "org2", "--pub-key", "abcd", "--power", "1"}, "consensus key"},
		{[]string{"add_validator", "--title", "t", "--org", "org2", "--pub-key", strings.Repeat("ab", 32)}, "needs --power"},
		{[]string{"grant_role", "--title", "t", "--address", "nobody", "--role", "operator"}, "--address"},
		{[]string{"grant_role", "--title", "t", "--address", "newadmin", "--role", "member"}, "network role"},
		{[]string{"add_org", "--title", "t", "--org", "org5", "--name", "n", "--admin-identity-file", idFile}, "first admin"},
		{[]string{"add_org", "--title", "t", "--org", "org5", "--name", "n", "--admin-key", "newadmin"}, "identity hash"},
		{[]string{"add_org", "--title", "t", "--org", "org5", "--name", "n", "--admin-key", "newadmin", "--admin-identity-file", idFile, "--power", "3"}, "needs --pub-key"},
		{[]string{"add_org", "--title", "t", "--org", "org5", "--name", "n", "--admin-pubkey", "00", "--admin-identity-file", idFile}, "--admin-algo"},
	} {
		_, _, err := runCLI(t, home, gw.srv.URL, append(base, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want it to mention %q", tc.args, err, tc.want)
		}
	}
	if len(gw.txs) != n {
		t.Error("a proposal was submitted despite a flag error")
	}

	// The chain refuses: the code name, exit non-zero, one JSON document.
	gw.doc("POST /v1/chains/beijing-1/txs", 403, api.Error{Code: "unauthorized", Message: "sender has roles [member], needs one of [admin]"})
	out, _, err = runCLI(t, home, gw.srv.URL, append(base, "suspend_org", "--title", "t", "--org", "org3", "-o", "json")...)
	if err == nil || !strings.Contains(err.Error(), "unauthorized") {
		t.Fatalf("refused: %v", err)
	}
	var doc struct{ Error api.Error }
	oneJSON(t, out, &doc)
	if doc.Error.Code != "unauthorized" {
		t.Errorf("error doc %+v", doc)
	}
}

func TestGovVoteCLI(t *testing.T) {
	home := t.TempDir()
	gw := newCLIGateway(t)
	admin := newKey(t, home, "admin", crypto.Ed25519)
	gw.account("beijing-1", admin.PubKey().Address(), 2)
	gw.acceptTxs("beijing-1", committedWith(11, event(gov.EventDecided, "proposal", "3", "status", gov.StatusExecuted)))
	prop := gov.Proposal{ID: 3, Kind: gov.KindSuspendOrg, Title: "t", Content: json.RawMessage(`{"id":"org3"}`), Status: gov.StatusExecuted, Yes: 4, Required: 4}
	pb, _ := json.Marshal(prop)
	gw.doc("GET /v1/chains/beijing-1/gov/proposals/3", 200, api.Proposal{Proposal: pb, Votes: []json.RawMessage{}, Height: 11})

	out := mustRun(t, home, gw.srv.URL, "tx", "gov", "vote", "3", "YES", "--chain", "beijing-1", "--from", "admin", "-o", "json")
	var res struct {
		ProposalID uint64            `json:"proposal_id"`
		Option     string            `json:"option"`
		Status     string            `json:"status"`
		Tally      map[string]uint64 `json:"tally"`
		Height     int64             `json:"height"`
	}
	oneJSON(t, out, &res)
	if res.ProposalID != 3 || res.Option != "yes" || res.Status != gov.StatusExecuted || res.Tally["yes"] != 4 || res.Tally["required"] != 4 || res.Height != 11 {
		t.Fatalf("output %s", out)
	}
	if v := lastMsg[*gov.MsgVote](t, gw, gov.TypeVote, gov.DecodeVote); v.ProposalID != 3 || v.Option != "yes" {
		t.Fatalf("vote %+v", v)
	}
	text := mustRun(t, home, gw.srv.URL, "tx", "gov", "vote", "3", "no", "--chain", "beijing-1", "--from", "admin")
	if !strings.Contains(text, "tally:       yes 4, no 0, abstain 0 (4 yes needed)") || !strings.Contains(text, "status:      executed") {
		t.Errorf("text:\n%s", text)
	}
	// The proposal cannot be read back: a warning, the decision from the events.
	gw.doc("GET /v1/chains/beijing-1/gov/proposals/3", 503, api.Error{Code: "unavailable", Message: "no node"})
	out, stderr, err := runCLI(t, home, gw.srv.URL, "tx", "gov", "vote", "3", "abstain", "--chain", "beijing-1", "--from", "admin")
	if err != nil || !strings.Contains(stderr, "warning") || !strings.Contains(out, "status:      executed") {
		t.Errorf("unreadable proposal: %v\nstderr %s\nstdout %s", err, stderr, out)
	}

	n := len(gw.txs)
	for _, args := range [][]string{{"3", "maybe"}, {"0", "yes"}, {"x", "yes"}, {"3"}} {
		if _, _, err := runCLI(t, home, gw.srv.URL, append([]string{"tx", "gov", "vote", "--chain", "beijing-1", "--from", "admin"}, args...)...); err == nil {
			t.Errorf("vote %v accepted", args)
		}
	}
	if len(gw.txs) != n {
		t.Error("a vote was submitted despite bad arguments")
	}
	gw.doc("POST /v1/chains/beijing-1/txs", 409, api.Error{Code: "already_exists", Message: `organisation "org1" voted yes on proposal 3 already`})
	if _, _, err := runCLI(t, home, gw.srv.URL, "tx", "gov", "vote", "3", "yes", "--chain", "beijing-1", "--from", "admin"); err == nil ||
		!strings.Contains(err.Error(), "already_exists: organisation") {
		t.Errorf("second vote: %v", err)
	}
}

func TestQueryGovCLI(t *testing.T) {
	home := t.TempDir()
	gw := newCLIGateway(t)
	url := gw.srv.URL
	pj := func(p gov.Proposal) json.RawMessage { b, _ := json.Marshal(p); return b }
	p1 := gov.Proposal{ID: 1, Kind: gov.KindAddOrg, Title: "Admit Beijing Customs", Content: json.RawMessage(`{"id":"org5"}`), Status: gov.StatusVoting,
		Org: "org1", Yes: 2, Required: 4, Deadline: "2026-12-04T08:00:00Z"}
	p2 := gov.Proposal{ID: 2, Kind: gov.KindSuspendOrg, Title: "Suspend org4", Content: json.RawMessage(`{"id":"org4"}`), Status: gov.StatusRejected, No: 2, Required: 4}
	gw.doc("GET /v1/chains/beijing-1/gov/proposals", 200, api.Proposals{Proposals: []json.RawMessage{pj(p2), pj(p1)}, Next: "1", Height: 20})
	text := mustRun(t, home, url, "query", "gov", "proposals", "--chain", "beijing-1", "--status", "voting", "--limit", "2", "--before", "3")
	if p := gw.paths[len(gw.paths)-1]; p != "GET /v1/chains/beijing-1/gov/proposals?before=3&limit=2&status=voting" {
		t.Errorf("request %s", p)
	}
	for _, w := range []string{"ID", "STATUS", "Admit Beijing Customs", "rejected", "next page: --before 1"} {
		if !strings.Contains(text, w) {
			t.Errorf("proposals text lacks %q:\n%s", w, text)
		}
	}
	out := mustRun(t, home, url, "query", "gov", "proposals", "--chain", "beijing-1", "-o", "json")
	var page client.ProposalPage
	oneJSON(t, out, &page)
	if len(page.Proposals) != 2 || page.Next != 1 || page.Proposals[1].Title != p1.Title {
		t.Errorf("proposals json %s", out)
	}

	vote := gov.Vote{ProposalID: 1, Org: "org1", Voter: crypto.Address{1}, Option: "yes", Height: 12}
	vb, _ := json.Marshal(vote)
	gw.doc("GET /v1/chains/beijing-1/gov/proposals/1", 200, api.Proposal{Proposal: pj(p1), Votes: []json.RawMessage{vb}, Height: 20})
	text = mustRun(t, home, url, "query", "gov", "proposal", "1", "--chain", "beijing-1")
	for _, w := range []string{"title:", "Admit Beijing Customs", `content:   {"id":"org5"}`, "tally:     yes 2, no 0, abstain 0 (4 yes needed)", "vote org1: yes by 0x01"} {
		if !strings.Contains(text, w) {
			t.Errorf("proposal text lacks %q:\n%s", w, text)
		}
	}
	gw.doc("GET /v1/chains/beijing-1/gov/proposals/9", 404, api.Error{Code: "not_found", Message: "no proposal 9"})
	out, _, err := runCLI(t, home, url, "query", "gov", "proposal", "9", "--chain", "beijing-1", "-o", "json")
	if err == nil || !strings.Contains(err.Error(), "not_found: no proposal 9") {
		t.Fatalf("unknown proposal: %v", err)
	}
	var doc struct{ Error api.Error }
	oneJSON(t, out, &doc)
	if _, _, err := runCLI(t, home, url, "query", "gov", "proposal", "0", "--chain", "beijing-1"); err == nil {
		t.Error("proposal 0 accepted")
	}

	gp, _ := json.Marshal(gov.DefaultParams())
	gw.doc("GET /v1/chains/beijing-1/gov/params", 200, api.Params{Params: gp, Height: 20})
	text = mustRun(t, home, url, "query", "gov", "params", "--chain", "beijing-1")
	if !strings.Contains(text, "2/3 of the active organisations") || !strings.Contains(text, "604800 s (7d)") {
		t.Errorf("params text:\n%s", text)
	}

	// consensus-params says whether vote extensions are on, scheduled or off.
	for _, c := range []struct {
		enable int64
		want   string
	}{{1, "on since height 1"}, {30, "from height 30 (10 blocks ahead)"}, {0, "off"}} {
		cp := api.ConsensusParams{Block: api.BlockParams{MaxBytes: 4 << 20, MaxGas: -1}, Evidence: api.EvidenceParams{MaxAgeDuration: "48h0m0s"},
			Validator: api.ValidatorParams{PubKeyTypes: []string{"ed25519"}}, ABCI: api.ABCIParams{VoteExtensionsEnableHeight: c.enable}, Height: 20}
		gw.doc("GET /v1/chains/beijing-1/consensus-params", 200, cp)
		text = mustRun(t, home, url, "query", "consensus-params", "--chain", "beijing-1")
		for _, w := range []string{"block.max_bytes:", "4194304", "vote_extensions:", c.want, "validator.pub_key_types:", "ed25519"} {
			if !strings.Contains(text, w) {
				t.Errorf("consensus-params text lacks %q:\n%s", w, text)
			}
		}
	}
	out = mustRun(t, home, url, "query", "consensus-params", "--chain", "beijing-1", "-o", "json")
	var cp api.ConsensusParams
	if oneJSON(t, out, &cp); cp.ABCI.VoteExtensionsEnableHeight != 0 || cp.Height != 20 {
		t.Errorf("consensus-params json %s", out)
	}
}

func TestCreditsTxCLI(t *testing.T) {
	home := t.TempDir()
	gw := newCLIGateway(t)
	op := newKey(t, home, "operator", crypto.SM2)
	alice := newKey(t, home, "alice", crypto.Ed25519)
	gw.account("beijing-1", op.PubKey().Address(), 8)
	gw.acceptTxs("beijing-1", committedWith(30, event(credits.EventToppedUp, "to", "x", "credits", "1250000")))
	base := []string{"tx", "credits", "top-up", "--chain", "beijing-1", "--from", "operator"}

	out := mustRun(t, home, gw.srv.URL, append(base, "--account", "alice", "--amount", "1250", "--ref", "BANK-1", "--payer-name", "Alice Zhang", "-o", "json")...)
	var res map[string]any
	oneJSON(t, out, &res)
	if res["credits"] != float64(1250000) || res["holder"] != alice.PubKey().Address().String() {
		t.Fatalf("output %v", res)
	}
	m := lastMsg[*credits.MsgTopUp](t, gw, credits.TypeTopUp, credits.DecodeTopUp)
	if m.Account == nil || *m.Account != alice.PubKey().Address() || m.Currency != "CNY" || m.Amount != 1250 || m.PaymentRef != "BANK-1" || m.PayerName != "Alice Zhang" {
		t.Fatalf("top-up %+v", m)
	}
	// Without the chain's prices (the fake gateway has none yet) the payment is in minor units.
	text := mustRun(t, home, gw.srv.URL, append(base, "--org", "org1", "--currency", "CNY", "--amount", "1", "--ref", "BANK-2", "--payer-name", "Org One")...)
	if !strings.Contains(text, "holder:  org:org1") || !strings.Contains(text, "credits: 1250000") ||
		!strings.Contains(text, "payment: 1 minor units of CNY, ref BANK-2, paid by Org One") {
		t.Errorf("text:\n%s", text)
	}
	cp, _ := json.Marshal(credits.DefaultParams())
	gw.doc("GET /v1/chains/beijing-1/credits/params", 200, api.Params{Params: cp, Height: 5})
	text = mustRun(t, home, gw.srv.URL, append(base, "--org", "org1", "--amount", "1250", "--ref", "BANK-3", "--payer-name", "Org One")...)
	if !strings.Contains(text, "payment: 12.50 CNY (1250 minor units of CNY), ref BANK-3, paid by Org One") {
		t.Errorf("text with prices:\n%s", text)
	}
	if m = lastMsg[*credits.MsgTopUp](t, gw, credits.TypeTopUp, credits.DecodeTopUp); m.Org != "org1" || m.Account != nil {
		t.Fatalf("org top-up %+v", m)
	}

	sp := []string{"tx", "credits", "sponsor", "--chain", "beijing-1", "--from", "operator"}
	mustRun(t, home, gw.srv.URL, append(sp, "--cap", "50000", "--period", "30d")...)
	if s := lastMsg[*credits.MsgSetSponsorship](t, gw, credits.TypeSetSponsorship, credits.DecodeSetSponsorship); s.Cap != 50000 || s.Period != 30*86400 {
		t.Fatalf("sponsorship %+v", s)
	}
	text = mustRun(t, home, gw.srv.URL, append(sp, "--off")...)
	if s := lastMsg[*credits.MsgSetSponsorship](t, gw, credits.TypeSetSponsorship, credits.DecodeSetSponsorship); s.Cap != 0 || s.Period != 0 || !strings.Contains(text, "ended") {
		t.Fatalf("end %+v\n%s", s, text)
	}

	n := len(gw.txs)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{append(base, "--amount", "1", "--ref", "r", "--payer-name", "p"), "--account"},
		{append(base, "--account", "alice", "--org", "org1", "--amount", "1", "--ref", "r", "--payer-name", "p"), "not both"},
		{append(base, "--account", "alice", "--ref", "r"), "--amount, --payer-name"},
		{append(base, "--account", "alice", "--amount", "0", "--ref", "r", "--payer-name", "p"), "invalid_message"},
		{append(base, "--account", "alice", "--amount", "1", "--ref", "r", "--payer-name", "p", "--currency", "yuan"), "invalid_message"},
		{append(base, "--account", "nobody", "--amount", "1", "--ref", "r", "--payer-name", "p"), "--account"},
		{append(base, "--org", "Org_1", "--amount", "1", "--ref", "r", "--payer-name", "p"), "invalid_request"},
		{append(sp, "--cap", "5"), "--period"},
		{append(sp, "--cap", "5", "--period", "1 month"), "--period"},
		{append(sp, "--cap", "5", "--period", "30"), "invalid_message"},
		{append(sp, "--off", "--cap", "5"), "--off"},
		{append(sp, "--cap", "0", "--period", "30d"), "invalid_message"},
	} {
		_, _, err := runCLI(t, home, gw.srv.URL, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want it to mention %q", tc.args[6:], err, tc.want)
		}
	}
	if len(gw.txs) != n {
		t.Error("a tx was submitted despite a flag error")
	}
	gw.doc("POST /v1/chains/beijing-1/txs", 409, api.Error{Code: "already_exists", Message: `payment reference "BANK-1" was used at height 30`})
	if _, _, err := runCLI(t, home, gw.srv.URL, append(base, "--account", "alice", "--amount", "1", "--ref", "BANK-1", "--payer-name", "p")...); err == nil ||
		!strings.Contains(err.Error(), "already_exists") {
		t.Errorf("reused reference: %v", err)
	}
}

func TestQueryCreditsCLI(t *testing.T) {
	home := t.TempDir()
	gw := newCLIGateway(t)
	url := gw.srv.URL
	alice := newKey(t, home, "alice", crypto.Ed25519)
	addr := alice.PubKey().Address().String()

	gw.doc("GET /v1/chains/beijing-1/credits/balances/"+addr, 200, api.Balance{Holder: addr, Credits: 498580, Height: 5})
	for _, who := range []string{"alice", addr} {
		text := mustRun(t, home, url, "query", "credits", "balance", who, "--chain", "beijing-1")
		if !strings.Contains(text, "credits: 498580") {
			t.Errorf("balance of %s:\n%s", who, text)
		}
	}
	gw.doc("GET /v1/chains/beijing-1/credits/balances/org:org1", 200, api.Balance{Holder: "org:org1", Credits: 7, Height: 5})
	out := mustRun(t, home, url, "query", "credits", "balance", "org:org1", "--chain", "beijing-1", "-o", "json")
	var b api.Balance
	oneJSON(t, out, &b)
	if b.Credits != 7 || b.Holder != "org:org1" {
		t.Errorf("org balance %+v", b)
	}
	n := len(gw.paths)
	for _, h := range []string{"nobody", "org:Bad", "0x12"} {
		if _, _, err := runCLI(t, home, url, "query", "credits", "balance", h, "--chain", "beijing-1"); err == nil {
			t.Errorf("holder %q accepted", h)
		}
	}
	if len(gw.paths) != n {
		t.Error("a bad holder was sent to the gateway")
	}
	gw.doc("GET /v1/chains/beijing-1/credits/balances/org:nope", 404, api.Error{Code: "not_found", Message: `organisation "nope" not found`})
	if _, _, err := runCLI(t, home, url, "query", "credits", "balance", "org:nope", "--chain", "beijing-1"); err == nil || !strings.Contains(err.Error(), "not_found") {
		t.Errorf("unknown org: %v", err)
	}

	seq, nonce, code := uint64(0), uint64(0), uint32(0)
	st := api.Statement{Holder: addr, Height: 5, Next: "1:5.0.1", Entries: []api.StatementEntry{
		{Kind: api.EntryTopUp, Height: 3, TxHash: "AA", Credits: 500000, Seq: &seq, Currency: "CNY", Amount: 500, PaymentRef: "BANK-1", PayerName: "Alice Zhang", Operator: "0x01"},
		{Kind: api.EntryCharge, Height: 5, TxHash: "BB", Credits: 1420, Sender: addr, Nonce: &nonce, Code: &code, Messages: []string{"/lian.evidence.v1.MsgAnchor"}},
	}}
	gw.doc("GET /v1/chains/beijing-1/credits/statements/"+addr, 200, st)
	// Without the chain's prices (the params request fails) the amount is in minor units.
	gw.doc("GET /v1/chains/beijing-1/credits/params", 503, api.Error{Code: "unavailable", Message: "no node answered"})
	text := mustRun(t, home, url, "query", "credits", "statement", "alice", "--chain", "beijing-1", "--limit", "2", "--cursor", "0")
	if !strings.Contains(text, "500 minor units of CNY ref BANK-1") {
		t.Errorf("statement text without prices:\n%s", text)
	}
	cp, _ := json.Marshal(credits.DefaultParams())
	gw.doc("GET /v1/chains/beijing-1/credits/params", 200, api.Params{Params: cp, Height: 5})
	text = mustRun(t, home, url, "query", "credits", "statement", "alice", "--chain", "beijing-1", "--limit", "2", "--cursor", "0")
	if p := gw.paths[len(gw.paths)-2]; p != "GET /v1/chains/beijing-1/credits/statements/"+addr+"?cursor=0&limit=2" {
		t.Errorf("request %s", p)
	}
	// 500 fen: 5.00 CNY.
	for _, w := range []string{"top_up", "+500000", "5.00 CNY ref BANK-1 from Alice Zhang", "charge", "-1420", "nonce 0 /lian.evidence.v1.MsgAnchor", "next page: --cursor 1:5.0.1"} {
		if !strings.Contains(text, w) {
			t.Errorf("statement text lacks %q:\n%s", w, text)
		}
	}
	n = len(gw.paths)
	out = mustRun(t, home, url, "query", "credits", "statement", addr, "--chain", "beijing-1", "-o", "json")
	var got api.Statement
	oneJSON(t, out, &got)
	if len(got.Entries) != 2 || got.Next != st.Next {
		t.Errorf("statement json %s", out)
	}
	if len(gw.paths) != n+1 {
		t.Errorf("JSON output made %d requests, want the statement's only", len(gw.paths)-n)
	}

	gw.doc("GET /v1/chains/beijing-1/credits/sponsorships/org1", 200, api.Sponsorship{Org: "org1", Sponsorship: json.RawMessage(`{"cap":50000,"period":2592000}`), Height: 5})
	text = mustRun(t, home, url, "query", "credits", "sponsorship", "org:org1", "--chain", "beijing-1")
	if !strings.Contains(text, "50000 credits per member per period") || !strings.Contains(text, "2592000 s (30d)") {
		t.Errorf("sponsorship text:\n%s", text)
	}
	text = mustRun(t, home, url, "query", "credits", "params", "--chain", "beijing-1")
	if !strings.Contains(text, "1000 + 10 per byte") || !strings.Contains(text, "price CNY: 100000 credits per 1 CNY (amounts in minor units, 10^-2 CNY)") {
		t.Errorf("params text:\n%s", text)
	}
}

func TestRegulatorCLI(t *testing.T) {
	home := t.TempDir()
	gw := newCLIGateway(t)
	reg := newKey(t, home, "regulator", crypto.SM2)
	alice := newKey(t, home, "alice", crypto.Ed25519)
	addr := alice.PubKey().Address()
	gw.account("beijing-1", reg.PubKey().Address(), 3)
	gw.acceptTxs("beijing-1", committed(40))

	out := mustRun(t, home, gw.srv.URL, "tx", "regulator", "freeze", "alice", "--reason", "court order 17", "--chain", "beijing-1", "--from", "regulator", "-o", "json")
	var res map[string]any
	oneJSON(t, out, &res)
	if res["account"] != addr.String() || res["reason"] != "court order 17" {
		t.Fatalf("output %v", res)
	}
	if m := lastMsg[*identity.MsgFreezeAccount](t, gw, identity.TypeFreezeAccount, identity.DecodeFreezeAccount); m.Address != addr || m.Reason != "court order 17" {
		t.Fatalf("freeze %+v", m)
	}
	mustRun(t, home, gw.srv.URL, "tx", "regulator", "unfreeze", addr.String(), "--reason", "lifted", "--chain", "beijing-1", "--from", "regulator")
	if m := lastMsg[*identity.MsgUnfreezeAccount](t, gw, identity.TypeUnfreezeAccount, identity.DecodeUnfreezeAccount); m.Address != addr || m.Reason != "lifted" {
		t.Fatalf("unfreeze %+v", m)
	}
	mustRun(t, home, gw.srv.URL, "tx", "identity", "grant-role", "alice", "relayer", "--chain", "beijing-1", "--from", "regulator")
	if m := lastMsg[*identity.MsgGrantRole](t, gw, identity.TypeGrantRole, identity.DecodeGrantRole); m.Address != addr || m.Role != "relayer" {
		t.Fatalf("grant %+v", m)
	}
	text := mustRun(t, home, gw.srv.URL, "tx", "identity", "revoke-role", "alice", "admin", "--chain", "beijing-1", "--from", "regulator")
	if m := lastMsg[*identity.MsgRevokeRole](t, gw, identity.TypeRevokeRole, identity.DecodeRevokeRole); m.Address != addr || m.Role != "admin" || !strings.Contains(text, "role:    admin") {
		t.Fatalf("revoke %+v\n%s", m, text)
	}

	n := len(gw.txs)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"tx", "regulator", "freeze", "alice"}, "--reason"},
		{[]string{"tx", "regulator", "freeze", "nobody", "--reason", "r"}, "nobody"},
		{[]string{"tx", "regulator", "unfreeze", "alice", "--reason", strings.Repeat("x", 513)}, "invalid_message"},
		{[]string{"tx", "identity", "grant-role", "alice", "operator"}, "network role"},
		{[]string{"tx", "identity", "grant-role", "alice"}, "accepts 2 arg"},
	} {
		_, _, err := runCLI(t, home, gw.srv.URL, append(tc.args, "--chain", "beijing-1", "--from", "regulator")...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want it to mention %q", tc.args, err, tc.want)
		}
	}
	if len(gw.txs) != n {
		t.Error("a tx was submitted despite bad arguments")
	}
	gw.doc("POST /v1/chains/beijing-1/txs", 403, api.Error{Code: "unauthorized", Message: "needs one of [regulator]"})
	if _, _, err := runCLI(t, home, gw.srv.URL, "tx", "regulator", "freeze", "alice", "--reason", "r", "--chain", "beijing-1", "--from", "regulator"); err == nil ||
		!strings.Contains(err.Error(), "unauthorized") {
		t.Errorf("refused freeze: %v", err)
	}
}

func TestQueryRegistryCLI(t *testing.T) {
	home := t.TempDir()
	gw := newCLIGateway(t)
	url := gw.srv.URL
	alice := newKey(t, home, "alice", crypto.Ed25519)
	addr := alice.PubKey().Address().String()

	page := api.TxPage{Next: "desc:5.0.1", Txs: []api.TxResult{
		{Hash: "BB", Height: 7, Code: 17, CodeName: "account_frozen", Events: []api.Event{}, Body: &api.TxBody{Nonce: 1, Messages: []api.Message{{TypeURL: "/lian.evidence.v1.MsgAnchor"}}}},
		{Hash: "AA", Height: 5, Events: []api.Event{}, Body: &api.TxBody{Nonce: 0, Messages: []api.Message{{TypeURL: "/lian.evidence.v1.MsgAnchor"}}}},
	}}
	gw.doc("GET /v1/chains/beijing-1/accounts/"+addr+"/txs", 200, page)
	text := mustRun(t, home, url, "query", "account-txs", "alice", "--chain", "beijing-1", "--desc", "--limit", "2", "--cursor", "desc:9.0.1")
	if p := gw.paths[len(gw.paths)-1]; p != "GET /v1/chains/beijing-1/accounts/"+addr+"/txs?cursor=desc%3A9.0.1&limit=2&order=desc" {
		t.Errorf("request %s", p)
	}
	for _, w := range []string{"HEIGHT", "17 (account_frozen)", "evidence.v1.MsgAnchor", "next page: --cursor desc:5.0.1 --desc"} {
		if !strings.Contains(text, w) {
			t.Errorf("account-txs text lacks %q:\n%s", w, text)
		}
	}
	out := mustRun(t, home, url, "query", "account-txs", addr, "--chain", "beijing-1", "-o", "json")
	var got api.TxPage
	oneJSON(t, out, &got)
	if len(got.Txs) != 2 || got.Next != page.Next {
		t.Errorf("json %s", out)
	}
	if _, _, err := runCLI(t, home, url, "query", "account-txs", "nobody", "--chain", "beijing-1"); err == nil {
		t.Error("unknown key accepted")
	}

	gw.doc("GET /v1/chains/beijing-1/validators", 200, api.Validators{Validators: []api.Validator{{PubKey: "AB", Address: "CD", Org: "org1", Power: 10}}, TotalPower: 10, Height: 3})
	text = mustRun(t, home, url, "query", "validators", "--chain", "beijing-1")
	if !strings.Contains(text, "org1") || !strings.Contains(text, "total power 10 at height 3") {
		t.Errorf("validators text:\n%s", text)
	}
	org, _ := json.Marshal(identity.Org{ID: "regulator", Name: "Regulator", Status: identity.StatusActive})
	gw.doc("GET /v1/chains/beijing-1/orgs", 200, api.Orgs{Orgs: []json.RawMessage{org}, Height: 3})
	text = mustRun(t, home, url, "query", "orgs", "--chain", "beijing-1")
	if !strings.Contains(text, "regulator  active  0           Regulator") {
		t.Errorf("orgs text:\n%s", text)
	}
}
