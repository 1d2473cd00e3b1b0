package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/app"
	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/modules/credits"
	"github.com/lianchain/lian/modules/evidence"
	"github.com/lianchain/lian/modules/gov"
	"github.com/lianchain/lian/modules/identity"
	"github.com/lianchain/lian/txs"
)

var refCounter atomic.Int64

// paymentRef returns a payment reference no other test uses.
func paymentRef(t *testing.T) string {
	return fmt.Sprintf("%s-%d", t.Name(), refCounter.Add(1))
}

// send signs msgs with key at its next nonce, submits them and checks they committed
// with code 0.
func (tn *testNet) send(t *testing.T, key crypto.PrivKey, msgs ...txs.Msg) api.TxResult {
	t.Helper()
	return tn.mustCommit(t, sign(t, testChainID, tn.nonce(t, key.PubKey().Address()), key, msgs...))
}

// trySend submits msgs signed by key at its next nonce and returns the answer.
func (tn *testNet) trySend(t *testing.T, key crypto.PrivKey, msgs ...txs.Msg) (int, []byte) {
	t.Helper()
	return tn.submit(t, sign(t, testChainID, tn.nonce(t, key.PubKey().Address()), key, msgs...), "")
}

// newMember registers a new member account of org1 (by its admin).
func (tn *testNet) newMember(t *testing.T) crypto.PrivKey {
	t.Helper()
	k, err := crypto.GenPrivKey(crypto.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	tn.send(t, tn.admin, &identity.MsgRegisterAccount{PubKey: k.PubKey().Bytes(), Algo: crypto.Ed25519,
		Roles: []string{identity.RoleMember}, IdentityHash: digestOf("member " + k.PubKey().Address().String())})
	return k
}

// attr returns the value of key in the first event of type typ, or "".
func attr(evs []api.Event, typ, key string) string {
	for _, e := range evs {
		if e.Type != typ {
			continue
		}
		for _, a := range e.Attributes {
			if a.Key == key {
				return a.Value
			}
		}
	}
	return ""
}

// feeOf returns the fee and the payer a committed transaction reported.
func feeOf(t *testing.T, res api.TxResult) (uint64, string) {
	t.Helper()
	fee, err := strconv.ParseUint(attr(res.Events, app.EventTx, "fee"), 10, 64)
	if err != nil {
		t.Fatalf("no fee in %+v", res.Events)
	}
	return fee, attr(res.Events, app.EventTx, "payer")
}

// wantErr GETs base+path and checks the error status and code.
func wantErr(t *testing.T, base, path string, status int, code string) api.Error {
	t.Helper()
	st, body := call(t, base, http.MethodGet, path, nil)
	return apiErr(t, path, st, status, body, code)
}

// sendMany submits one transaction per message, signed by key with consecutive nonces,
// without waiting for each, and waits until the last one is committed.
func (tn *testNet) sendMany(t *testing.T, key crypto.PrivKey, msgs ...txs.Msg) {
	t.Helper()
	n := tn.nonce(t, key.PubKey().Address())
	var last string
	for i, m := range msgs {
		tx := sign(t, testChainID, n+uint64(i), key, m)
		st, body := tn.submit(t, tx, "?wait=false")
		if st != http.StatusAccepted {
			t.Fatalf("submit %d: %d %s", i, st, body)
		}
		last = txs.HashOf(tx.Marshal()).String()
	}
	eventually(t, 30*time.Second, "the last transaction is committed", func() bool {
		st, _ := call(t, tn.srv.URL, http.MethodGet, "/v1/chains/"+testChainID+"/txs/"+last, nil)
		return st == http.StatusOK
	})
}

func decodeProposal(t *testing.T, raw json.RawMessage) gov.Proposal {
	t.Helper()
	var p gov.Proposal
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatalf("proposal %s: %v", raw, err)
	}
	return p
}

func TestGovRoutes(t *testing.T) {
	tn := chainNet(t)
	base := tn.srv.URL
	cp := "/v1/chains/" + testChainID + "/gov"
	org2Admin := tn.orgAdmins[0].PubKey().Address()

	t.Run("params", func(t *testing.T) {
		var p api.Params
		getJSON(t, base, cp+"/params", http.StatusOK, &p)
		var gp gov.Params
		if err := json.Unmarshal(p.Params, &gp); err != nil || gp != gov.DefaultParams() || p.Height < 1 {
			t.Fatalf("params %s height %d: %v", p.Params, p.Height, err)
		}
	})

	propose := func(t *testing.T, kind string, content any, title string) (api.TxResult, uint64) {
		t.Helper()
		b, err := json.Marshal(content)
		if err != nil {
			t.Fatal(err)
		}
		res := tn.send(t, tn.admin, &gov.MsgSubmitProposal{Kind: kind, Content: b, Title: title})
		id, err := strconv.ParseUint(attr(res.Events, gov.EventSubmitted, "proposal"), 10, 64)
		if err != nil {
			t.Fatalf("no proposal id in %+v", res.Events)
		}
		return res, id
	}
	vote := func(t *testing.T, key crypto.PrivKey, id uint64, option string) api.TxResult {
		t.Helper()
		return tn.send(t, key, &gov.MsgVote{ProposalID: id, Option: option})
	}
	get := func(t *testing.T, id uint64) (gov.Proposal, []gov.Vote) {
		t.Helper()
		var doc api.Proposal
		getJSON(t, base, fmt.Sprintf("%s/proposals/%d", cp, id), http.StatusOK, &doc)
		votes := make([]gov.Vote, len(doc.Votes))
		for i, v := range doc.Votes {
			if err := json.Unmarshal(v, &votes[i]); err != nil {
				t.Fatal(err)
			}
		}
		return decodeProposal(t, doc.Proposal), votes
	}

	var passed, rejected uint64
	t.Run("a proposal passes with 4 of 5 organisations", func(t *testing.T) {
		res, id := propose(t, gov.KindGrantRole, gov.RoleChange{Address: org2Admin, Role: identity.RoleOperator}, "org2 sells credits")
		passed = id
		p, votes := get(t, id)
		if p.ID != id || p.Status != gov.StatusVoting || p.Kind != gov.KindGrantRole || p.Required != 4 || len(votes) != 0 ||
			p.Proposer != tn.admin.PubKey().Address() || p.Org != "org1" {
			t.Fatalf("proposal %+v votes %+v", p, votes)
		}
		// The submission decodes with its content as JSON.
		var tx api.TxResult
		getJSON(t, base, "/v1/chains/"+testChainID+"/txs/"+res.Hash, http.StatusOK, &tx)
		var dec struct {
			Kind    string          `json:"kind"`
			Title   string          `json:"title"`
			Content gov.RoleChange  `json:"content"`
			Bytes   json.RawMessage `json:"content_bytes"`
		}
		if err := json.Unmarshal(tx.Body.Messages[0].Decoded, &dec); err != nil || dec.Kind != gov.KindGrantRole ||
			dec.Title != "org2 sells credits" || dec.Content.Address != org2Admin || dec.Bytes != nil {
			t.Fatalf("decoded %s: %v", tx.Body.Messages[0].Decoded, err)
		}

		vres := vote(t, tn.admin, id, gov.VoteYes)
		getJSON(t, base, "/v1/chains/"+testChainID+"/txs/"+vres.Hash, http.StatusOK, &tx)
		if string(tx.Body.Messages[0].Decoded) != fmt.Sprintf(`{"proposal_id":%d,"option":"yes"}`, id) {
			t.Fatalf("decoded vote %s", tx.Body.Messages[0].Decoded)
		}
		// Voting twice is refused before the mempool.
		st, body := tn.trySend(t, tn.admin, &gov.MsgVote{ProposalID: id, Option: gov.VoteNo})
		apiErr(t, "second vote", st, http.StatusConflict, body, "already_exists")

		vote(t, tn.orgAdmins[0], id, gov.VoteYes)
		vote(t, tn.orgAdmins[1], id, gov.VoteAbstain)
		if p, votes := get(t, id); p.Status != gov.StatusVoting || p.Yes != 2 || p.Abstain != 1 || len(votes) != 3 {
			t.Fatalf("after 3 votes: %+v %+v", p, votes)
		}
		vote(t, tn.orgAdmins[2], id, gov.VoteYes)
		last := vote(t, tn.regulator, id, gov.VoteYes)
		if got := attr(last.Events, gov.EventDecided, "status"); got != gov.StatusExecuted {
			t.Fatalf("decided %q, events %+v", got, last.Events)
		}
		p, votes = get(t, id)
		if p.Status != gov.StatusExecuted || p.Yes != 4 || p.Abstain != 1 || p.DecidedHeight != last.Height || len(votes) != 5 {
			t.Fatalf("executed proposal %+v, %d votes", p, len(votes))
		}
		orgs := map[string]string{}
		for _, v := range votes {
			orgs[v.Org] = v.Option
		}
		if orgs["org1"] != "yes" || orgs["org3"] != "abstain" || orgs[testRegulatorOrg] != "yes" {
			t.Fatalf("votes %+v", votes)
		}
		// The change is in effect.
		var a api.Account
		getJSON(t, base, "/v1/chains/"+testChainID+"/accounts/"+org2Admin.String(), http.StatusOK, &a)
		if !strings.Contains(string(a.Account), `"operator"`) {
			t.Fatalf("org2 admin %s lacks the operator role", a.Account)
		}
	})
	if passed == 0 {
		t.Fatal("no proposal passed; the rest depends on it")
	}

	t.Run("a decided proposal takes no votes", func(t *testing.T) {
		st, body := tn.trySend(t, tn.orgAdmins[1], &gov.MsgVote{ProposalID: passed, Option: gov.VoteYes})
		e := apiErr(t, "vote after the decision", st, http.StatusConflict, body, "closed")
		if !strings.Contains(e.Message, "executed") {
			t.Errorf("message %q", e.Message)
		}
		st, body = tn.trySend(t, tn.admin, &gov.MsgVote{ProposalID: passed + 1000, Option: gov.VoteYes})
		apiErr(t, "vote on no proposal", st, http.StatusNotFound, body, "not_found")
	})

	t.Run("a proposal is rejected when it can no longer pass", func(t *testing.T) {
		_, id := propose(t, gov.KindSuspendOrg, gov.OrgRef{ID: "org4"}, "suspend org4")
		rejected = id
		vote(t, tn.admin, id, gov.VoteNo)
		res := vote(t, tn.orgAdmins[0], id, gov.VoteNo)
		if attr(res.Events, gov.EventDecided, "status") != gov.StatusRejected {
			t.Fatalf("events %+v", res.Events)
		}
		st, body := tn.trySend(t, tn.orgAdmins[2], &gov.MsgVote{ProposalID: id, Option: gov.VoteYes})
		e := apiErr(t, "vote on a rejected proposal", st, http.StatusConflict, body, "closed")
		if !strings.Contains(e.Message, "rejected") {
			t.Fatalf("message %q", e.Message)
		}
	})

	t.Run("list and pagination", func(t *testing.T) {
		var open []uint64
		for i := range 3 {
			_, id := propose(t, gov.KindResumeOrg, gov.OrgRef{ID: "org4"}, fmt.Sprintf("page %d", i))
			open = append(open, id)
		}
		var all api.Proposals
		getJSON(t, base, cp+"/proposals?limit=100", http.StatusOK, &all)
		var ids []uint64
		for _, raw := range all.Proposals {
			ids = append(ids, decodeProposal(t, raw).ID)
		}
		if all.Next != "" || len(ids) < 5 || !slices.IsSortedFunc(ids, func(a, b uint64) int { return int(b) - int(a) }) ||
			ids[0] != open[2] || !slices.Contains(ids, passed) || !slices.Contains(ids, rejected) {
			t.Fatalf("all proposals %v next %q", ids, all.Next)
		}
		// Pages of 2, newest first, until there is no next cursor.
		var paged []uint64
		path := cp + "/proposals?limit=2"
		for pages := 0; ; pages++ {
			if pages > len(ids) {
				t.Fatal("pagination does not end")
			}
			var page api.Proposals
			getJSON(t, base, path, http.StatusOK, &page)
			if len(page.Proposals) > 2 {
				t.Fatalf("page of %d", len(page.Proposals))
			}
			for _, raw := range page.Proposals {
				paged = append(paged, decodeProposal(t, raw).ID)
			}
			if page.Next == "" {
				break
			}
			path = cp + "/proposals?limit=2&before=" + page.Next
		}
		if !slices.Equal(paged, ids) {
			t.Fatalf("paged %v, all %v", paged, ids)
		}
		for _, tc := range []struct {
			status string
			has    []uint64
			hasNot []uint64
		}{
			{gov.StatusVoting, open, []uint64{passed, rejected}},
			{gov.StatusExecuted, []uint64{passed}, append([]uint64{rejected}, open...)},
			{gov.StatusRejected, []uint64{rejected}, append([]uint64{passed}, open...)},
		} {
			var page api.Proposals
			getJSON(t, base, cp+"/proposals?status="+tc.status, http.StatusOK, &page)
			var got []uint64
			for _, raw := range page.Proposals {
				p := decodeProposal(t, raw)
				if p.Status != tc.status {
					t.Fatalf("status=%s lists %+v", tc.status, p)
				}
				got = append(got, p.ID)
			}
			for _, id := range tc.has {
				if !slices.Contains(got, id) {
					t.Errorf("status=%s: %v lacks %d", tc.status, got, id)
				}
			}
			for _, id := range tc.hasNot {
				if slices.Contains(got, id) {
					t.Errorf("status=%s: %v has %d", tc.status, got, id)
				}
			}
		}
		// A filtered page shorter than the limit has no next page (fewer than
		// gov.MaxScan proposals exist).
		var page api.Proposals
		getJSON(t, base, cp+"/proposals?status=executed&limit=100", http.StatusOK, &page)
		if page.Next != "" {
			t.Fatalf("next %q", page.Next)
		}
		// before= beyond the newest lists from the newest.
		getJSON(t, base, cp+"/proposals?limit=1&before=999999", http.StatusOK, &page)
		if len(page.Proposals) != 1 || decodeProposal(t, page.Proposals[0]).ID != ids[0] {
			t.Fatalf("before beyond the newest: %+v", page)
		}
	})

	t.Run("bad requests", func(t *testing.T) {
		for _, tc := range []struct {
			path   string
			status int
			code   string
		}{
			{"/proposals/999999", 404, "not_found"},
			{"/proposals/0", 400, "invalid_request"},
			{"/proposals/abc", 400, "invalid_request"},
			{"/proposals/-1", 400, "invalid_request"},
			{"/proposals/99999999999999999999999", 400, "invalid_request"},
			{"/proposals?limit=0", 400, "invalid_request"},
			{"/proposals?limit=101", 400, "invalid_request"},
			{"/proposals?limit=ten", 400, "invalid_request"},
			{"/proposals?status=pending", 400, "invalid_request"},
			{"/proposals?before=x", 400, "invalid_request"},
			{"/proposals?before=0", 400, "invalid_request"},
		} {
			e := wantErr(t, base, "/v1/chains/"+testChainID+"/gov"+tc.path, tc.status, tc.code)
			if tc.status == 404 && !strings.Contains(e.Message, "999999") {
				t.Errorf("message %q", e.Message)
			}
		}
		wantErr(t, base, "/v1/chains/nope/gov/params", 404, "not_found")
	})
}

func TestCreditsRoutes(t *testing.T) {
	tn := chainNet(t)
	base := tn.srv.URL
	cp := "/v1/chains/" + testChainID + "/credits"
	member := tn.newMember(t)
	maddr := member.PubKey().Address()

	balance := func(t *testing.T, holder string) uint64 {
		t.Helper()
		var b api.Balance
		getJSON(t, base, cp+"/balances/"+holder, http.StatusOK, &b)
		if b.Holder != holder || b.Height < 1 {
			t.Fatalf("balance %+v", b)
		}
		return b.Credits
	}
	statement := func(t *testing.T, holder string, limit int) []api.StatementEntry {
		t.Helper()
		var out []api.StatementEntry
		path := fmt.Sprintf("%s/statements/%s?limit=%d", cp, holder, limit)
		for pages := 0; ; pages++ {
			if pages > 1000 {
				t.Fatal("pagination does not end")
			}
			var st api.Statement
			getJSON(t, base, path, http.StatusOK, &st)
			if st.Holder != holder || len(st.Entries) > limit {
				t.Fatalf("statement page %+v", st)
			}
			out = append(out, st.Entries...)
			if st.Next == "" {
				return out
			}
			path = fmt.Sprintf("%s/statements/%s?limit=%d&cursor=%s", cp, holder, limit, url.QueryEscape(st.Next))
		}
	}
	// net is the sum of top-ups minus the sum of charges.
	net := func(entries []api.StatementEntry) int64 {
		var n int64
		for _, e := range entries {
			if e.Kind == api.EntryTopUp {
				n += int64(e.Credits)
			} else {
				n -= int64(e.Credits)
			}
		}
		return n
	}

	t.Run("params", func(t *testing.T) {
		var p api.Params
		getJSON(t, base, cp+"/params", http.StatusOK, &p)
		var cparams credits.Params
		if err := json.Unmarshal(p.Params, &cparams); err != nil || len(cparams.Prices) != 1 || cparams.Prices[0].Currency != "CNY" {
			t.Fatalf("params %s: %v", p.Params, err)
		}
	})

	var topUp api.TxResult
	ref := paymentRef(t)
	t.Run("top-up", func(t *testing.T) {
		if got := balance(t, maddr.String()); got != 0 {
			t.Fatalf("new member has %d credits", got)
		}
		topUp = tn.send(t, tn.admin, &credits.MsgTopUp{Account: &maddr, Currency: "CNY", Amount: 150, PaymentRef: ref, PayerName: "Org One Finance"})
		if got := balance(t, maddr.String()); got != 150_000 {
			t.Fatalf("balance after 1.50 CNY: %d", got)
		}
		var tx api.TxResult
		getJSON(t, base, "/v1/chains/"+testChainID+"/txs/"+topUp.Hash, http.StatusOK, &tx)
		want := fmt.Sprintf(`{"holder":"%s","currency":"CNY","amount":150,"payment_ref":"%s","payer_name":"Org One Finance"}`, maddr, ref)
		if string(tx.Body.Messages[0].Decoded) != want {
			t.Fatalf("decoded %s, want %s", tx.Body.Messages[0].Decoded, want)
		}
	})

	t.Run("refused top-ups", func(t *testing.T) {
		st, body := tn.trySend(t, tn.admin, &credits.MsgTopUp{Account: &maddr, Currency: "CNY", Amount: 1, PaymentRef: ref, PayerName: "Again"})
		e := apiErr(t, "reused reference", st, http.StatusConflict, body, "already_exists")
		if !strings.Contains(e.Message, ref) {
			t.Errorf("message %q", e.Message)
		}
		for name, key := range map[string]crypto.PrivKey{"member": member, "org4 admin": tn.orgAdmins[2]} {
			st, body := tn.trySend(t, key, &credits.MsgTopUp{Account: &maddr, Currency: "CNY", Amount: 1, PaymentRef: paymentRef(t), PayerName: "X"})
			apiErr(t, name+" tops up", st, http.StatusForbidden, body, "unauthorized")
		}
		st, body = tn.trySend(t, tn.admin, &credits.MsgTopUp{Account: &maddr, Currency: "USD", Amount: 1, PaymentRef: paymentRef(t), PayerName: "X"})
		apiErr(t, "unknown currency", st, http.StatusBadRequest, body, "invalid_message")
	})

	var charges []api.TxResult
	t.Run("statement of an account", func(t *testing.T) {
		for i := range 2 {
			charges = append(charges, tn.send(t, member, anchor(digestOf(fmt.Sprintf("member doc %d %s", i, maddr)), "")))
		}
		entries := statement(t, maddr.String(), 100)
		if len(entries) != 3 {
			t.Fatalf("entries %+v", entries)
		}
		e := entries[0]
		if e.Kind != api.EntryTopUp || e.Credits != 150_000 || e.TxHash != topUp.Hash || e.Height != topUp.Height ||
			e.Index != topUp.Index || e.Seq == nil || *e.Seq != 0 || e.Currency != "CNY" || e.Amount != 150 ||
			e.PaymentRef != ref || e.PayerName != "Org One Finance" || e.Operator != tn.admin.PubKey().Address().String() ||
			e.Time == nil || e.Time.IsZero() {
			t.Fatalf("top-up entry %+v", e)
		}
		for i, c := range charges {
			e := entries[i+1]
			fee, payer := feeOf(t, c)
			if payer != maddr.String() || e.Kind != api.EntryCharge || e.Credits != fee || e.TxHash != c.Hash || e.Height != c.Height ||
				e.Sender != maddr.String() || e.Nonce == nil || *e.Nonce != uint64(i) || e.Code == nil || *e.Code != 0 ||
				!slices.Equal(e.Messages, []string{evidence.TypeAnchor}) || e.Time == nil {
				t.Fatalf("charge entry %d %+v (fee %d payer %s)", i, e, fee, payer)
			}
		}
		if got := balance(t, maddr.String()); int64(got) != net(entries) {
			t.Fatalf("balance %d, statement nets %d", got, net(entries))
		}
		for _, limit := range []int{1, 2} {
			if paged := statement(t, maddr.String(), limit); !slices.EqualFunc(paged, entries, sameEntry) {
				t.Fatalf("limit %d: %+v, want %+v", limit, paged, entries)
			}
		}
	})

	t.Run("statement of a busy account", func(t *testing.T) {
		admin := tn.admin.PubKey().Address().String()
		var msgs []txs.Msg
		for i := range 12 {
			msgs = append(msgs, anchor(digestOf(fmt.Sprintf("busy statement %d", i)), ""))
		}
		tn.sendMany(t, tn.admin, msgs...)
		var first api.Statement
		getJSON(t, base, cp+"/statements/"+admin+"?limit=100", http.StatusOK, &first)
		paged := statement(t, admin, 7)
		n := len(paged)
		if first.Next != "" {
			n = len(first.Entries)
		}
		if len(paged) < 12 || len(first.Entries) < n || !slices.EqualFunc(paged[:n], first.Entries[:n], sameEntry) {
			t.Fatalf("paged %d entries, first page %d: differ", len(paged), len(first.Entries))
		}
		for i := 1; i < len(paged); i++ {
			a, b := paged[i-1], paged[i]
			if a.Height > b.Height || (a.Height == b.Height && a.Index > b.Index) {
				t.Fatalf("entries %d and %d out of order: %+v %+v", i-1, i, a, b)
			}
		}
	})

	t.Run("sponsorship", func(t *testing.T) {
		wantErr(t, base, cp+"/sponsorships/org2", http.StatusNotFound, "not_found")
		e := wantErr(t, base, cp+"/sponsorships/no-such-org", http.StatusNotFound, "not_found")
		if !strings.Contains(e.Message, "no-such-org") {
			t.Errorf("message %q", e.Message)
		}
		res := tn.send(t, tn.admin, &credits.MsgSetSponsorship{Cap: 1_000_000, Period: 3600})
		var tx api.TxResult
		getJSON(t, base, "/v1/chains/"+testChainID+"/txs/"+res.Hash, http.StatusOK, &tx)
		if string(tx.Body.Messages[0].Decoded) != `{"cap":1000000,"period":3600}` {
			t.Fatalf("decoded %s", tx.Body.Messages[0].Decoded)
		}
		var sp api.Sponsorship
		getJSON(t, base, cp+"/sponsorships/org1", http.StatusOK, &sp)
		var s credits.Sponsorship
		if err := json.Unmarshal(sp.Sponsorship, &s); err != nil || s != (credits.Sponsorship{Cap: 1_000_000, Period: 3600}) || sp.Org != "org1" {
			t.Fatalf("sponsorship %+v: %v", sp, err)
		}
		defer func() {
			tn.send(t, tn.admin, &credits.MsgSetSponsorship{})
			wantErr(t, base, cp+"/sponsorships/org1", http.StatusNotFound, "not_found")
		}()

		before := balance(t, maddr.String())
		tn.send(t, tn.admin, &credits.MsgTopUp{Org: "org1", Currency: "CNY", Amount: 200, PaymentRef: paymentRef(t), PayerName: "Org One"})
		res = tn.send(t, member, anchor(digestOf("sponsored "+maddr.String()), ""))
		fee, payer := feeOf(t, res)
		if payer != "org:org1" {
			t.Fatalf("payer %q", payer)
		}
		if got := balance(t, maddr.String()); got != before {
			t.Fatalf("member paid: %d -> %d", before, got)
		}
		entries := statement(t, "org:org1", 100)
		if len(entries) < 2 || entries[0].Kind != api.EntryTopUp || entries[0].Credits != 200_000 {
			t.Fatalf("org statement %+v", entries)
		}
		last := entries[len(entries)-1]
		found := false
		for _, e := range entries {
			found = found || (e.TxHash == res.Hash && e.Kind == api.EntryCharge && e.Credits == fee && e.Sender == maddr.String())
		}
		if !found {
			t.Fatalf("org statement lacks the sponsored charge %s: %+v", res.Hash, entries)
		}
		if got := balance(t, "org:org1"); int64(got) != net(entries) {
			t.Fatalf("org balance %d, statement nets %d (last %+v)", got, net(entries), last)
		}
	})

	t.Run("an organisation id as long as an address", func(t *testing.T) {
		holder := "org:" + testRegulatorOrg
		if len(holder) != crypto.AddressLen {
			t.Fatalf("%q is not %d bytes", holder, crypto.AddressLen)
		}
		before := balance(t, holder)
		tn.send(t, tn.admin, &credits.MsgTopUp{Org: testRegulatorOrg, Currency: "CNY", Amount: 3, PaymentRef: paymentRef(t), PayerName: "Regulator"})
		if got := balance(t, holder); got != before+3000 {
			t.Fatalf("balance %d, want %d", got, before+3000)
		}
	})

	t.Run("bad requests", func(t *testing.T) {
		for _, tc := range []struct {
			path   string
			status int
			code   string
		}{
			{"/balances/nobody", 400, "invalid_request"},
			{"/balances/org:", 400, "invalid_request"},
			{"/balances/org:Org1", 400, "invalid_request"},
			{"/balances/0x1234", 400, "invalid_request"},
			{"/balances/" + strings.Repeat("12", 20), 400, "invalid_request"},
			{"/balances/0x" + strings.Repeat("12", 20), 404, "not_found"},
			{"/balances/org:no-such-org", 404, "not_found"},
			{"/statements/nobody", 400, "invalid_request"},
			{"/statements/0x" + strings.Repeat("12", 20), 404, "not_found"},
			{"/statements/org1", 400, "invalid_request"},
			{"/statements/" + maddr.String() + "?limit=0", 400, "invalid_request"},
			{"/statements/" + maddr.String() + "?limit=101", 400, "invalid_request"},
			{"/statements/" + maddr.String() + "?cursor=x", 400, "invalid_request"},
			{"/statements/" + maddr.String() + "?cursor=1:0.0.1", 400, "invalid_request"},
			{"/statements/" + maddr.String() + "?cursor=1:5.0", 400, "invalid_request"},
			{"/sponsorships/Org_1", 400, "invalid_request"},
		} {
			wantErr(t, base, cp+tc.path, tc.status, tc.code)
		}
	})
}

// sameEntry compares statement entries (times by instant).
func sameEntry(a, b api.StatementEntry) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func TestAccountTxsAndRegulator(t *testing.T) {
	tn := chainNet(t)
	base := tn.srv.URL
	cp := "/v1/chains/" + testChainID
	member := tn.newMember(t)
	maddr := member.PubKey().Address()
	tn.send(t, tn.admin, &credits.MsgTopUp{Account: &maddr, Currency: "CNY", Amount: 100, PaymentRef: paymentRef(t), PayerName: "Org One"})

	var hashes []string
	for i := range 3 {
		hashes = append(hashes, tn.send(t, member, anchor(digestOf(fmt.Sprintf("history %d %s", i, maddr)), "")).Hash)
	}

	t.Run("freeze and unfreeze", func(t *testing.T) {
		res := tn.send(t, tn.regulator, &identity.MsgFreezeAccount{Address: maddr, Reason: "court order 42"})
		if attr(res.Events, identity.EventAccountFrozen, "address") != maddr.String() {
			t.Fatalf("events %+v", res.Events)
		}
		var tx api.TxResult
		getJSON(t, base, cp+"/txs/"+res.Hash, http.StatusOK, &tx)
		if want := fmt.Sprintf(`{"address":"%s","reason":"court order 42"}`, maddr); string(tx.Body.Messages[0].Decoded) != want {
			t.Fatalf("decoded %s", tx.Body.Messages[0].Decoded)
		}
		st, body := tn.trySend(t, member, anchor(digestOf("frozen "+maddr.String()), ""))
		apiErr(t, "frozen sender", st, http.StatusForbidden, body, "account_frozen")
		var a api.Account
		getJSON(t, base, cp+"/accounts/"+maddr.String(), http.StatusOK, &a)
		var rec identity.Account
		if err := json.Unmarshal(a.Account, &rec); err != nil || rec.Status != identity.StatusFrozen || rec.Freeze == nil ||
			rec.Freeze.Reason != "court order 42" || rec.Freeze.By != tn.regulator.PubKey().Address() {
			t.Fatalf("frozen account %s: %v", a.Account, err)
		}
		// Only a regulator freezes.
		st, body = tn.trySend(t, tn.admin, &identity.MsgUnfreezeAccount{Address: maddr, Reason: "mine"})
		apiErr(t, "admin unfreezes", st, http.StatusForbidden, body, "unauthorized")
		tn.send(t, tn.regulator, &identity.MsgUnfreezeAccount{Address: maddr, Reason: "order lifted"})
		hashes = append(hashes, tn.send(t, member, anchor(digestOf("thawed "+maddr.String()), "")).Hash)
	})

	t.Run("roles", func(t *testing.T) {
		roles := func() []string {
			var a api.Account
			getJSON(t, base, cp+"/accounts/"+maddr.String(), http.StatusOK, &a)
			var rec identity.Account
			if err := json.Unmarshal(a.Account, &rec); err != nil {
				t.Fatal(err)
			}
			return rec.Roles
		}
		res := tn.send(t, tn.admin, &identity.MsgGrantRole{Address: maddr, Role: identity.RoleRelayer})
		var tx api.TxResult
		getJSON(t, base, cp+"/txs/"+res.Hash, http.StatusOK, &tx)
		if want := fmt.Sprintf(`{"address":"%s","role":"relayer"}`, maddr); string(tx.Body.Messages[0].Decoded) != want {
			t.Fatalf("decoded %s", tx.Body.Messages[0].Decoded)
		}
		if r := roles(); !slices.Equal(r, []string{"member", "relayer"}) {
			t.Fatalf("roles %v", r)
		}
		st, body := tn.trySend(t, tn.admin, &identity.MsgGrantRole{Address: maddr, Role: identity.RoleRelayer})
		apiErr(t, "granted twice", st, http.StatusConflict, body, "already_exists")
		tn.send(t, tn.admin, &identity.MsgRevokeRole{Address: maddr, Role: identity.RoleRelayer})
		if r := roles(); !slices.Equal(r, []string{"member"}) {
			t.Fatalf("roles %v", r)
		}
		st, body = tn.trySend(t, tn.admin, &identity.MsgGrantRole{Address: maddr, Role: identity.RoleOperator})
		apiErr(t, "network role", st, http.StatusBadRequest, body, "invalid_message")
		st, body = tn.trySend(t, member, &identity.MsgGrantRole{Address: maddr, Role: identity.RoleAdmin})
		apiErr(t, "member grants", st, http.StatusForbidden, body, "unauthorized")
		// An admin of another organisation.
		st, body = tn.trySend(t, tn.orgAdmins[1], &identity.MsgGrantRole{Address: maddr, Role: identity.RoleRelayer})
		apiErr(t, "other org's admin", st, http.StatusForbidden, body, "unauthorized")
	})

	pages := func(t *testing.T, addr crypto.Address, query string) []api.TxResult {
		t.Helper()
		var out []api.TxResult
		path := cp + "/accounts/" + addr.String() + "/txs?" + query
		for n := 0; ; n++ {
			if n > 1000 {
				t.Fatal("pagination does not end")
			}
			var page api.TxPage
			getJSON(t, base, path, http.StatusOK, &page)
			out = append(out, page.Txs...)
			if page.Next == "" {
				return out
			}
			path = cp + "/accounts/" + addr.String() + "/txs?" + query + "&cursor=" + url.QueryEscape(page.Next)
		}
	}
	hashesOf := func(list []api.TxResult) []string {
		out := make([]string, len(list))
		for i, r := range list {
			out[i] = r.Hash
		}
		return out
	}

	t.Run("history", func(t *testing.T) {
		var page api.TxPage
		getJSON(t, base, cp+"/accounts/"+maddr.String()+"/txs", http.StatusOK, &page)
		if page.Next != "" || !slices.Equal(hashesOf(page.Txs), hashes) {
			t.Fatalf("history %v next %q, want %v", hashesOf(page.Txs), page.Next, hashes)
		}
		for i, r := range page.Txs {
			if r.Code != 0 || r.Height < 1 || r.Body == nil || r.Body.Nonce != uint64(i) || r.Body.Sender != maddr.String() ||
				r.Signer == nil || r.BlockTime == nil || r.Tx != nil || len(r.Body.Messages) != 1 || r.Body.Messages[0].Decoded == nil ||
				attr(r.Events, app.EventTx, "sender") != maddr.String() {
				t.Fatalf("tx %d %+v", i, r)
			}
		}
		if got := hashesOf(pages(t, maddr, "limit=1")); !slices.Equal(got, hashes) {
			t.Fatalf("pages of 1: %v", got)
		}
		desc := slices.Clone(hashes)
		slices.Reverse(desc)
		if got := hashesOf(pages(t, maddr, "limit=3&order=desc")); !slices.Equal(got, desc) {
			t.Fatalf("pages of 3, newest first: %v, want %v", got, desc)
		}
		// The regulator's own history shows the freeze, decoded.
		reg := pages(t, tn.regulator.PubKey().Address(), "order=desc&limit=2")
		if len(reg) < 2 || reg[1].Body.Messages[0].TypeURL != identity.TypeFreezeAccount {
			t.Fatalf("regulator history %+v", reg)
		}
	})

	t.Run("history of a busy account", func(t *testing.T) {
		admin := tn.admin.PubKey().Address()
		var msgs []txs.Msg
		for i := range 12 {
			msgs = append(msgs, anchor(digestOf(fmt.Sprintf("busy history %d", i)), ""))
		}
		tn.sendMany(t, tn.admin, msgs...)
		var first api.TxPage
		getJSON(t, base, cp+"/accounts/"+admin.String()+"/txs?limit=100", http.StatusOK, &first)
		paged := pages(t, admin, "limit=6")
		n := len(paged)
		if first.Next != "" {
			n = len(first.Txs)
		}
		if len(paged) < 12 || len(first.Txs) < n || !slices.Equal(hashesOf(paged[:n]), hashesOf(first.Txs[:n])) {
			t.Fatalf("paged %d, first page %d", len(paged), len(first.Txs))
		}
		for i, r := range paged {
			if r.Body == nil || r.Body.Nonce != uint64(i) {
				t.Fatalf("tx %d of the admin has nonce %+v", i, r.Body)
			}
		}
	})

	t.Run("bad requests", func(t *testing.T) {
		var page api.TxPage
		getJSON(t, base, cp+"/accounts/"+maddr.String()+"/txs?limit=1", http.StatusOK, &page)
		if page.Next == "" {
			t.Fatal("no next cursor")
		}
		ap := cp + "/accounts/" + maddr.String() + "/txs"
		for _, tc := range []struct {
			path   string
			status int
			code   string
		}{
			{ap + "?order=desc&cursor=" + url.QueryEscape(page.Next), 400, "invalid_request"},
			{ap + "?order=sideways", 400, "invalid_request"},
			{ap + "?cursor=garbage", 400, "invalid_request"},
			{ap + "?cursor=asc:1.2", 400, "invalid_request"},
			{ap + "?limit=1000", 400, "invalid_request"},
			{cp + "/accounts/0x" + strings.Repeat("34", 20) + "/txs", 404, "not_found"},
			{cp + "/accounts/" + strings.Repeat("34", 20) + "/txs", 400, "invalid_request"},
		} {
			wantErr(t, base, tc.path, tc.status, tc.code)
		}
	})
}

func TestValidatorsAndOrgs(t *testing.T) {
	tn := chainNet(t)
	base := tn.srv.URL
	cp := "/v1/chains/" + testChainID
	var vs api.Validators
	getJSON(t, base, cp+"/validators", http.StatusOK, &vs)
	if len(vs.Validators) != testValidators || vs.Height < 1 {
		t.Fatalf("validators %+v", vs)
	}
	var total int64
	orgs := map[string]bool{}
	addrs := map[string]bool{}
	for _, v := range vs.Validators {
		if len(v.PubKey) != 64 || len(v.Address) != 40 || v.Power < 1 {
			t.Fatalf("validator %+v", v)
		}
		total += v.Power
		orgs[v.Org] = true
		addrs[v.Address] = true
	}
	if total != vs.TotalPower || len(orgs) != testValidators || !orgs["org1"] {
		t.Fatalf("validators %+v", vs)
	}
	// The addresses are CometBFT's: the proposer of a block is one of them.
	var b api.Block
	getJSON(t, base, cp+"/blocks/latest", http.StatusOK, &b)
	if !addrs[b.Proposer] {
		t.Fatalf("proposer %s not in %v", b.Proposer, addrs)
	}

	var orgList api.Orgs
	getJSON(t, base, cp+"/orgs", http.StatusOK, &orgList)
	var ids []string
	for _, raw := range orgList.Orgs {
		var o identity.Org
		if err := json.Unmarshal(raw, &o); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, o.ID)
	}
	if !slices.Contains(ids, "org1") || !slices.Contains(ids, testRegulatorOrg) || len(ids) != testValidators+1 || !slices.IsSorted(ids) {
		t.Fatalf("orgs %v", ids)
	}
}
