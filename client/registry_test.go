package client

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules/credits"
	"github.com/lianchain/lian/modules/gov"
	"github.com/lianchain/lian/modules/identity"
)

func rawJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGovMethods(t *testing.T) {
	f, c := newFake(t)
	ctx := context.Background()
	const chain = "beijing-1"

	f.json("GET /v1/chains/beijing-1/gov/params", 200, api.Params{Params: rawJSON(t, gov.DefaultParams()), Height: 9})
	p, err := c.GovParams(ctx, chain)
	if err != nil || p.Params != gov.DefaultParams() || p.Height != 9 {
		t.Fatalf("gov params %+v, %v", p, err)
	}

	cp := api.ConsensusParams{Block: api.BlockParams{MaxBytes: 4 << 20, MaxGas: -1}, ABCI: api.ABCIParams{VoteExtensionsEnableHeight: 1}, Height: 9}
	f.json("GET /v1/chains/beijing-1/consensus-params", 200, cp)
	if got, err := c.ConsensusParams(ctx, chain); err != nil || got.Block != cp.Block || got.ABCI != cp.ABCI || got.Height != 9 {
		t.Fatalf("consensus params %+v, %v", got, err)
	}

	props := []gov.Proposal{{ID: 7, Kind: gov.KindAddValidator, Status: gov.StatusVoting, Yes: 1}, {ID: 5, Kind: gov.KindGrantRole, Status: gov.StatusVoting}}
	f.json("GET /v1/chains/beijing-1/gov/proposals", 200, api.Proposals{Proposals: []json.RawMessage{rawJSON(t, props[0]), rawJSON(t, props[1])}, Next: "5", Height: 10})
	page, err := c.Proposals(ctx, chain, ProposalQuery{Status: gov.StatusVoting, Limit: 2, Before: 9})
	if err != nil || len(page.Proposals) != 2 || page.Proposals[0].ID != 7 || page.Proposals[0].Yes != 1 || page.Next != 5 || page.Height != 10 {
		t.Fatalf("proposals %+v, %v", page, err)
	}
	if got := f.last(); got != "GET /v1/chains/beijing-1/gov/proposals?before=9&limit=2&status=voting" {
		t.Errorf("request %s", got)
	}
	f.json("GET /v1/chains/beijing-1/gov/proposals", 200, api.Proposals{Proposals: []json.RawMessage{}, Height: 10})
	page, err = c.Proposals(ctx, chain, ProposalQuery{})
	if err != nil || len(page.Proposals) != 0 || page.Next != 0 {
		t.Fatalf("empty page %+v, %v", page, err)
	}
	if got := f.last(); got != "GET /v1/chains/beijing-1/gov/proposals?" {
		t.Errorf("request %s", got)
	}
	f.json("GET /v1/chains/beijing-1/gov/proposals", 200, api.Proposals{Proposals: []json.RawMessage{}, Next: "x"})
	_, err = c.Proposals(ctx, chain, ProposalQuery{})
	wantError(t, err, 200, "internal")
	f.json("GET /v1/chains/beijing-1/gov/proposals", 200, api.Proposals{Proposals: []json.RawMessage{json.RawMessage(`"not a proposal"`)}})
	_, err = c.Proposals(ctx, chain, ProposalQuery{})
	wantError(t, err, 200, "internal")
	if _, err := c.Proposals(ctx, chain, ProposalQuery{Limit: 101}); errcode.Of(err) != errcode.InvalidRequest {
		t.Errorf("limit 101: %v", err)
	}

	vote := gov.Vote{ProposalID: 7, Org: "org2", Option: gov.VoteYes, Height: 12}
	f.json("GET /v1/chains/beijing-1/gov/proposals/7", 200, api.Proposal{Proposal: rawJSON(t, props[0]), Votes: []json.RawMessage{rawJSON(t, vote)}, Height: 12})
	d, err := c.Proposal(ctx, chain, 7)
	if err != nil || d.Proposal.ID != 7 || len(d.Votes) != 1 || d.Votes[0] != vote || d.Height != 12 {
		t.Fatalf("proposal %+v, %v", d, err)
	}
	f.json("GET /v1/chains/beijing-1/gov/proposals/8", 404, api.Error{Code: "not_found", Message: "no proposal 8"})
	_, err = c.Proposal(ctx, chain, 8)
	wantError(t, err, 404, "not_found")
	n := len(f.reqs)
	if _, err := c.Proposal(ctx, chain, 0); errcode.Of(err) != errcode.InvalidRequest {
		t.Errorf("id 0: %v", err)
	}
	if _, err := c.GovParams(ctx, ""); errcode.Of(err) != errcode.InvalidRequest {
		t.Errorf("no chain: %v", err)
	}
	if len(f.reqs) != n {
		t.Error("a request was sent for bad arguments")
	}
}

func TestCreditsMethods(t *testing.T) {
	f, c := newFake(t)
	ctx := context.Background()
	const chain = "beijing-1"
	addr := crypto.Address{9, 8, 7}

	f.json("GET /v1/chains/beijing-1/credits/params", 200, api.Params{Params: rawJSON(t, credits.DefaultParams()), Height: 3})
	cp, err := c.CreditParams(ctx, chain)
	if err != nil || len(cp.Params.Prices) != 1 || cp.Params.Prices[0].CreditsPerUnit != 100_000 || cp.Height != 3 {
		t.Fatalf("credit params %+v, %v", cp, err)
	}

	f.json("GET /v1/chains/beijing-1/credits/balances/"+addr.String(), 200, api.Balance{Holder: addr.String(), Credits: 42, Height: 4})
	b, err := c.Balance(ctx, chain, strings.ToUpper(addr.String()[2:])) // not a holder
	if errcode.Of(err) != errcode.InvalidRequest || b != nil {
		t.Fatalf("bad holder: %+v, %v", b, err)
	}
	b, err = c.Balance(ctx, chain, "0X"+strings.ToUpper(addr.String()[2:]))
	if err != nil || b.Credits != 42 {
		t.Fatalf("balance %+v, %v", b, err)
	}
	f.json("GET /v1/chains/beijing-1/credits/balances/org:org1", 200, api.Balance{Holder: "org:org1", Credits: 7})
	if b, err = c.Balance(ctx, chain, "org:org1"); err != nil || b.Credits != 7 {
		t.Fatalf("org balance %+v, %v", b, err)
	}
	if got := f.last(); got != "GET /v1/chains/beijing-1/credits/balances/org:org1?" {
		t.Errorf("request %s", got)
	}

	f.json("GET /v1/chains/beijing-1/credits/sponsorships/org1", 200, api.Sponsorship{Org: "org1", Sponsorship: json.RawMessage(`{"cap":10,"period":60}`), Height: 5})
	sp, err := c.Sponsorship(ctx, chain, "org1")
	if err != nil || sp.Sponsorship != (credits.Sponsorship{Cap: 10, Period: 60}) || sp.Org != "org1" {
		t.Fatalf("sponsorship %+v, %v", sp, err)
	}
	f.json("GET /v1/chains/beijing-1/credits/sponsorships/org2", 404, api.Error{Code: "not_found", Message: "org2 sponsors no fees"})
	_, err = c.Sponsorship(ctx, chain, "org2")
	wantError(t, err, 404, "not_found")
	if _, err := c.Sponsorship(ctx, chain, "Org_2"); errcode.Of(err) != errcode.InvalidRequest {
		t.Errorf("bad org id: %v", err)
	}

	seq, code := uint64(0), uint32(0)
	st := api.Statement{Holder: "org:org1", Next: "1:5.0.1", Height: 6, Entries: []api.StatementEntry{
		{Kind: api.EntryTopUp, Height: 4, TxHash: "AA", Credits: 100, Seq: &seq, Currency: "CNY", Amount: 1},
		{Kind: api.EntryCharge, Height: 5, TxHash: "BB", Credits: 30, Code: &code, Sender: addr.String()},
	}}
	f.json("GET /v1/chains/beijing-1/credits/statements/org:org1", 200, st)
	got, err := c.Statement(ctx, chain, "org:org1", PageQuery{Limit: 2, Cursor: "0:4.1.1"})
	if err != nil || len(got.Entries) != 2 || got.Next != st.Next || got.Entries[1].Credits != 30 || *got.Entries[0].Seq != 0 {
		t.Fatalf("statement %+v, %v", got, err)
	}
	if r := f.last(); r != "GET /v1/chains/beijing-1/credits/statements/org:org1?cursor=0%3A4.1.1&limit=2" {
		t.Errorf("request %s", r)
	}
	for _, h := range []string{"", "org:", "org:Bad", "0x12", "beijing"} {
		if _, err := c.Statement(ctx, chain, h, PageQuery{}); errcode.Of(err) != errcode.InvalidRequest {
			t.Errorf("holder %q: %v", h, err)
		}
	}
	if _, err := c.Statement(ctx, chain, "org:org1", PageQuery{Limit: -1}); errcode.Of(err) != errcode.InvalidRequest {
		t.Errorf("negative limit: %v", err)
	}
}

func TestRegistryMethods(t *testing.T) {
	f, c := newFake(t)
	ctx := context.Background()
	const chain = "beijing-1"
	addr := crypto.Address{1, 2, 3}

	page := api.TxPage{Txs: []api.TxResult{{Hash: "AB", Height: 3, Events: []api.Event{}}}, Next: "desc:3.0.1"}
	f.json("GET /v1/chains/beijing-1/accounts/"+addr.String()+"/txs", 200, page)
	got, err := c.AccountTxs(ctx, chain, addr, TxQuery{Limit: 1, Desc: true, Cursor: "desc:9.0.1"})
	if err != nil || len(got.Txs) != 1 || got.Next != page.Next {
		t.Fatalf("txs %+v, %v", got, err)
	}
	if r := f.last(); r != "GET /v1/chains/beijing-1/accounts/"+addr.String()+"/txs?cursor=desc%3A9.0.1&limit=1&order=desc" {
		t.Errorf("request %s", r)
	}
	if _, err := c.AccountTxs(ctx, chain, crypto.Address{}, TxQuery{}); errcode.Of(err) != errcode.InvalidRequest {
		t.Errorf("zero address: %v", err)
	}
	f.json("GET /v1/chains/beijing-1/accounts/"+addr.String()+"/txs", 404, api.Error{Code: "not_found", Message: "account not found"})
	_, err = c.AccountTxs(ctx, chain, addr, TxQuery{})
	wantError(t, err, 404, "not_found")

	vals := api.Validators{Validators: []api.Validator{{PubKey: strings.Repeat("AB", 32), Address: strings.Repeat("CD", 20), Org: "org1", Power: 10}}, TotalPower: 10, Height: 2}
	f.json("GET /v1/chains/beijing-1/validators", 200, vals)
	vs, err := c.Validators(ctx, chain)
	if err != nil || len(vs.Validators) != 1 || vs.Validators[0].Org != "org1" || vs.TotalPower != 10 {
		t.Fatalf("validators %+v, %v", vs, err)
	}

	org := identity.Org{ID: "org1", Name: "Org 1", Status: identity.StatusActive}
	f.json("GET /v1/chains/beijing-1/orgs", 200, api.Orgs{Orgs: []json.RawMessage{rawJSON(t, org)}, Height: 2})
	os, err := c.Orgs(ctx, chain)
	if err != nil || len(os.Orgs) != 1 || os.Orgs[0].ID != "org1" || os.Orgs[0].Status != identity.StatusActive {
		t.Fatalf("orgs %+v, %v", os, err)
	}
}

func TestMessageBuilders(t *testing.T) {
	addr := crypto.Address{4, 5, 6}

	t.Run("top-up", func(t *testing.T) {
		m, err := NewTopUp(addr.String(), "CNY", 1250, "bank-2026-001", "Org One")
		if err != nil || m.Account == nil || *m.Account != addr || m.Org != "" || m.Amount != 1250 {
			t.Fatalf("top-up %+v, %v", m, err)
		}
		m, err = NewTopUp("org:org2", "CNY", 1, "r", "p")
		if err != nil || m.Account != nil || m.Org != "org2" {
			t.Fatalf("org top-up %+v, %v", m, err)
		}
		for _, tc := range []struct {
			holder, currency string
			amount           uint64
			ref, payer       string
			code             errcode.Code
		}{
			{"nobody", "CNY", 1, "r", "p", errcode.InvalidRequest},
			{"org:org2", "cny", 1, "r", "p", errcode.InvalidMessage},
			{"org:org2", "CNY", 0, "r", "p", errcode.InvalidMessage},
			{"org:org2", "CNY", 1, "", "p", errcode.InvalidMessage},
			{"org:org2", "CNY", 1, "r", "", errcode.InvalidMessage},
		} {
			if _, err := NewTopUp(tc.holder, tc.currency, tc.amount, tc.ref, tc.payer); errcode.Of(err) != tc.code {
				t.Errorf("%+v: %v, want %v", tc, err, tc.code)
			}
		}
	})

	t.Run("sponsorship", func(t *testing.T) {
		if m, err := NewSponsorship(5000, 30*86400); err != nil || m.Cap != 5000 || m.Period != 30*86400 {
			t.Fatalf("sponsorship %+v, %v", m, err)
		}
		for _, c := range [][2]uint64{{0, 60}, {5, 59}, {5, 367 * 86400}} {
			if _, err := NewSponsorship(c[0], c[1]); errcode.Of(err) != errcode.InvalidMessage {
				t.Errorf("cap %d period %d: %v", c[0], c[1], err)
			}
		}
		if m := EndSponsorship(); m.Cap != 0 || m.Period != 0 || m.ValidateBasic() != nil {
			t.Errorf("end %+v", m)
		}
	})

	t.Run("periods", func(t *testing.T) {
		for s, want := range map[string]uint64{"3600": 3600, "60s": 60, "90m": 5400, "12h": 43200, "30d": 2592000, "2w": 1209600, "1h30m": 5400} {
			if got, err := ParsePeriod(s); err != nil || got != want {
				t.Errorf("%q: %d, %v; want %d", s, got, err, want)
			}
		}
		for _, s := range []string{"", "d", "-5s", "1.5s", "30 days", "10y", "1ms", "99999999999999999999d"} {
			if _, err := ParsePeriod(s); errcode.Of(err) != errcode.InvalidRequest {
				t.Errorf("%q accepted: %v", s, err)
			}
		}
	})

	t.Run("proposals", func(t *testing.T) {
		key := make([]byte, 32)
		key[0] = 1
		m, err := NewProposal(gov.KindAddValidator, "org2 runs a second node", gov.AddValidator{Org: "org2", PubKey: key, Power: 10})
		if err != nil || m.Kind != gov.KindAddValidator || !strings.Contains(string(m.Content), `"power":10`) {
			t.Fatalf("proposal %+v, %v", m, err)
		}
		m, err = NewProposal(gov.KindSuspendOrg, "t", "{\n  \"id\": \"org3\"\n}")
		if err != nil || string(m.Content) != `{"id":"org3"}` {
			t.Fatalf("raw content %+v, %v", m, err)
		}
		for _, tc := range []struct {
			kind, title string
			content     any
			code        errcode.Code
		}{
			{gov.KindSuspendOrg, "t", nil, errcode.InvalidRequest},
			{gov.KindSuspendOrg, "t", "{", errcode.InvalidMessage},
			{gov.KindSuspendOrg, "t", []byte(`{"id":"org3","x":1}`), errcode.InvalidMessage},
			{gov.KindSuspendOrg, "", json.RawMessage(`{"id":"org3"}`), errcode.InvalidMessage},
			{"abolish_all", "t", `{}`, errcode.InvalidMessage},
			{gov.KindGrantRole, "t", gov.RoleChange{Address: addr, Role: identity.RoleMember}, errcode.InvalidMessage},
			{gov.KindAddValidator, "t", gov.AddValidator{Org: "org2", PubKey: []byte{1}, Power: 1}, errcode.InvalidMessage},
			{gov.KindSuspendOrg, "t", make(chan int), errcode.InvalidRequest},
		} {
			if _, err := NewProposal(tc.kind, tc.title, tc.content); errcode.Of(err) != tc.code {
				t.Errorf("%s %q %v: %v, want %v", tc.kind, tc.title, tc.content, err, tc.code)
			}
		}
	})

	t.Run("votes", func(t *testing.T) {
		if m, err := NewVote(3, "YES"); err != nil || m.Option != gov.VoteYes || m.ProposalID != 3 {
			t.Fatalf("vote %+v, %v", m, err)
		}
		for _, tc := range []struct {
			id  uint64
			opt string
		}{{0, "yes"}, {1, "maybe"}, {1, ""}} {
			if _, err := NewVote(tc.id, tc.opt); errcode.Of(err) != errcode.InvalidMessage {
				t.Errorf("%+v: %v", tc, err)
			}
		}
	})

	t.Run("consensus keys", func(t *testing.T) {
		k := make([]byte, 32)
		for i := range k {
			k[i] = byte(i)
		}
		for _, s := range []string{hex.EncodeToString(k), "0x" + strings.ToUpper(hex.EncodeToString(k)), base64.StdEncoding.EncodeToString(k)} {
			if got, err := ParseConsensusKey(s); err != nil || string(got) != string(k) {
				t.Errorf("%q: %x, %v", s, got, err)
			}
		}
		for _, s := range []string{"", "abcd", hex.EncodeToString(k[:31]), base64.StdEncoding.EncodeToString(k[:31]), strings.Repeat("zz", 32)} {
			if _, err := ParseConsensusKey(s); errcode.Of(err) != errcode.InvalidRequest {
				t.Errorf("%q accepted: %v", s, err)
			}
		}
	})

	t.Run("results", func(t *testing.T) {
		res := &api.TxResult{Events: []api.Event{
			{Type: gov.EventSubmitted, Attributes: []api.Attribute{{Key: "proposal", Value: "12"}, {Key: "kind", Value: "add_org"}}},
			{Type: gov.EventDecided, Attributes: []api.Attribute{{Key: "status", Value: gov.StatusExecuted}}},
		}}
		if id, err := ProposalIDOf(res); err != nil || id != 12 {
			t.Errorf("proposal id %d, %v", id, err)
		}
		if s := DecisionOf(res); s != gov.StatusExecuted {
			t.Errorf("decision %q", s)
		}
		if _, err := ProposalIDOf(&api.TxResult{}); errcode.Of(err) != errcode.NotFound {
			t.Errorf("no event: %v", err)
		}
		if DecisionOf(nil) != "" {
			t.Error("decision of nil")
		}
	})
}

// FuzzParseHolder checks that the client accepts exactly the holders the chain accepts, with an InvalidRequest error otherwise.
func FuzzParseHolder(f *testing.F) {
	for _, s := range []string{"0x7e5f4552091a69125d5dfcb7b8c2659029395bdf", "0X7E5F4552091A69125D5DFCB7B8C2659029395BDF", "org:org1", "org:", "org:Org1", "", "0x", "holder"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHolder(s)
		want, werr := credits.ParseHolder(s)
		if (err == nil) != (werr == nil) || (err != nil && errcode.Of(err) != errcode.InvalidRequest) {
			t.Fatalf("%q: client %v, chain %v", s, err, werr)
		}
		if err == nil && h.String() != want.String() {
			t.Fatalf("%q: client %s, chain %s", s, h, want)
		}
	})
}

// FuzzParsePeriod checks that an accepted period reads back from its number of seconds and agrees with the form it was given in.
func FuzzParsePeriod(f *testing.F) {
	for _, s := range []string{
		"3600", "60s", "90m", "12h", "30d", "2w", "1h30m", "0", "0s", "18446744073709551615", "18446744073709551616",
		"15250284452471w", "15250284452472w", "9223372036s", "2562047h47m16.854775807s", "2562047h47m16s",
		"", "d", "-5s", "+5s", "1.5s", "30 days", "10y", "1ms", "1000ms", "99999999999999999999d", "1h-1m",
	} {
		f.Add(s)
	}
	units := map[byte]uint64{'s': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 7 * 86400}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParsePeriod(s)
		if err != nil {
			if n != 0 || errcode.Of(err) != errcode.InvalidRequest {
				t.Fatalf("%q: %d with error %v", s, n, err)
			}
			return
		}
		if again, err := ParsePeriod(strconv.FormatUint(n, 10)); err != nil || again != n {
			t.Fatalf("%q = %d: round trip %d, %v", s, n, again, err)
		}
		if v, err := strconv.ParseUint(s, 10, 64); err == nil {
			if v != n {
				t.Fatalf("%q = %d", s, n)
			}
			return
		}
		if n > 1<<63 {
			t.Fatalf("%q = %d: beyond the largest period with a unit", s, n)
		}
		if v, err := strconv.ParseUint(s[:len(s)-1], 10, 64); err == nil && units[s[len(s)-1]] != 0 {
			if v*units[s[len(s)-1]] != n || v > n {
				t.Fatalf("%q = %d", s, n)
			}
			return
		}
		if d, err := time.ParseDuration(s); err != nil || d < 0 || d != time.Duration(n)*time.Second {
			t.Fatalf("%q = %d, as a duration %v, %v", s, n, d, err)
		}
	})
}

// FuzzParseConsensusKey checks that an accepted key is 32 bytes that read back from hex and base64.
func FuzzParseConsensusKey(f *testing.F) {
	k := make([]byte, 32)
	for i := range k {
		k[i] = byte(i)
	}
	for _, s := range []string{
		hex.EncodeToString(k), "0x" + strings.ToUpper(hex.EncodeToString(k)), "0X" + hex.EncodeToString(k), base64.StdEncoding.EncodeToString(k),
		base64.RawStdEncoding.EncodeToString(k), base64.URLEncoding.EncodeToString(k), "", "abcd", "0x", hex.EncodeToString(k[:31]),
		base64.StdEncoding.EncodeToString(k[:31]), strings.Repeat("zz", 32), strings.Repeat("A", 64),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseConsensusKey(s)
		if err != nil {
			if b != nil || errcode.Of(err) != errcode.InvalidRequest {
				t.Fatalf("%q: %x with error %v", s, b, err)
			}
			return
		}
		if len(b) != crypto.Ed25519PubKeySize {
			t.Fatalf("%q: %d-byte key", s, len(b))
		}
		for _, enc := range []string{hex.EncodeToString(b), "0x" + strings.ToUpper(hex.EncodeToString(b)), base64.StdEncoding.EncodeToString(b)} {
			if again, err := ParseConsensusKey(enc); err != nil || string(again) != string(b) {
				t.Fatalf("%q = %x: %q reads as %x, %v", s, b, enc, again, err)
			}
		}
	})
}
