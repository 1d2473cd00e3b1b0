package gov

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/modules"
	"github.com/lianchain/lian/modules/credits"
	"github.com/lianchain/lian/modules/identity"
	"github.com/lianchain/lian/modules/invariantstest"
	"github.com/lianchain/lian/store"
	"github.com/lianchain/lian/txs"
)

type govState struct {
	m      *Module
	st     *store.Store
	t0     time.Time
	admins []*modules.Account // of org1, org2, org3
}

func (s *govState) ctx(height int64, at time.Duration, sender *modules.Account, root store.KV) *modules.Context {
	return modules.NewContext("lian-1", height, s.t0.Add(at), txs.Hash{byte(height)}, sender, root, Name)
}

// healthyGov builds a state through genesis, the handlers and EndBlock, with a 60 s
// voting period and three organisations:
//
//	1 suspend_org org3: executed (org1, org2 yes)
//	2 resume_org org2: failed (org2 is active)
//	3 set_params: rejected (org1 no, once org3 is suspended)
//	4 suspend_org org2: voting (org1 yes of 2 needed)
//	5 remove_org org3: expired (org1 abstained)
//	6 grant_role: voting, no votes
func healthyGov(t *testing.T) *govState {
	t.Helper()
	st, err := store.OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	s := &govState{st: st, t0: time.Unix(1700000000, 0)}
	idm, cm := identity.New(), credits.New()
	s.m = New(idm, cm, nil)
	var g identity.Genesis
	for i := 1; i <= 3; i++ {
		k, err := crypto.GenPrivKey(crypto.Ed25519)
		if err != nil {
			t.Fatal(err)
		}
		org := fmt.Sprintf("org%d", i)
		g.Orgs = append(g.Orgs, identity.GenesisOrg{ID: org, Name: org})
		g.Accounts = append(g.Accounts, identity.GenesisAccount{Org: org, Algo: crypto.Ed25519, PubKey: k.PubKey().Bytes(), Roles: []string{identity.RoleAdmin}})
		s.admins = append(s.admins, &modules.Account{Address: k.PubKey().Address(), Org: org, Roles: []string{identity.RoleAdmin}})
	}
	raw, _ := json.Marshal(g)
	gctx := s.ctx(1, 0, nil, st)
	if err := idm.InitGenesis(gctx.For(identity.Name), raw); err != nil {
		t.Fatal(err)
	}
	if err := cm.InitGenesis(gctx.For(credits.Name), nil); err != nil {
		t.Fatal(err)
	}
	raw, _ = json.Marshal(Genesis{Params: &Params{Threshold: Fraction{Num: 2, Den: 3}, VotingPeriod: 60}})
	if err := s.m.InitGenesis(gctx, raw); err != nil {
		t.Fatal(err)
	}
	a1, a2 := s.admins[0], s.admins[1]
	submit := func(kind, content string, at time.Duration) {
		t.Helper()
		if err := s.m.submit(s.ctx(2, at, a1, st), &MsgSubmitProposal{Kind: kind, Content: []byte(content), Title: kind}); err != nil {
			t.Fatal(err)
		}
	}
	vote := func(id uint64, voter *modules.Account, option string, at time.Duration) {
		t.Helper()
		if err := s.m.vote(s.ctx(3, at, voter, st), &MsgVote{ProposalID: id, Option: option}); err != nil {
			t.Fatal(err)
		}
	}
	submit(KindSuspendOrg, `{"id":"org3"}`, 100*time.Second)
	submit(KindResumeOrg, `{"id":"org2"}`, 100*time.Second)
	submit(KindSetParams, `{"gov":{"threshold":{"num":3,"den":4},"voting_period":30}}`, 100*time.Second)
	submit(KindSuspendOrg, `{"id":"org2"}`, 100*time.Second)
	submit(KindRemoveOrg, `{"id":"org3"}`, 0)
	submit(KindGrantRole, fmt.Sprintf(`{"address":"%s","role":"psp"}`, a2.Address), 100*time.Second)
	vote(5, a1, VoteAbstain, 10*time.Second)
	vote(1, a1, VoteYes, 101*time.Second)
	vote(1, a2, VoteYes, 101*time.Second)
	vote(2, a1, VoteYes, 101*time.Second)
	vote(2, a2, VoteYes, 101*time.Second)
	vote(3, a1, VoteNo, 101*time.Second)
	vote(4, a1, VoteYes, 101*time.Second)
	if err := s.m.EndBlock(s.ctx(4, 102*time.Second, nil, st)); err != nil {
		t.Fatal(err)
	}
	kv := store.Prefixed(st, modules.Prefix(Name))
	for id, want := range []string{"", StatusExecuted, StatusFailed, StatusRejected, StatusVoting, StatusExpired, StatusVoting} {
		if p, err := GetProposal(kv, uint64(id)); id > 0 && (err != nil || p.Status != want) {
			t.Fatalf("proposal %d: %+v %v, want %s", id, p, err, want)
		}
	}
	return s
}

func TestCheckInvariants(t *testing.T) {
	s := healthyGov(t)
	kv := store.Prefixed(s.st, modules.Prefix(Name))
	if err := s.m.CheckInvariants(kv); err != nil {
		t.Fatalf("healthy state: %v", err)
	}
	proposal := func(kv store.KV, id uint64) *Proposal {
		p, err := GetProposal(kv, id)
		if err != nil || p == nil {
			t.Fatalf("proposal %d: %v", id, err)
		}
		return p
	}
	edit := func(id uint64, f func(p *Proposal)) func(kv store.KV, _ *modules.Context) {
		return func(kv store.KV, _ *modules.Context) {
			p := proposal(kv, id)
			f(p)
			put(kv, p)
		}
	}
	deadline4 := func(kv store.KV) time.Time {
		d, err := time.Parse(time.RFC3339Nano, proposal(kv, 4).Deadline)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	a1, a3 := s.admins[0], s.admins[2]
	cases := []struct {
		name    string
		corrupt func(kv store.KV, ctx *modules.Context)
		want    []string
	}{
		{"mempool vote committed", func(_ store.KV, ctx *modules.Context) {
			ctx.CheckOnly, ctx.Sender = true, a3
			if err := s.m.vote(ctx, &MsgVote{ProposalID: 6, Option: VoteYes}); err != nil {
				t.Fatal(err)
			}
		}, []string{"pr/6: tally is 0 yes, 0 no, 0 abstain, but its votes are 1, 0 and 0"}},
		{"next id skips one", func(kv store.KV, _ *modules.Context) {
			kv.Set(keyNextID, binary.BigEndian.AppendUint64(nil, 8))
		}, []string{`"c/next_id": next proposal id is 8, but there are 6 proposals: ids are missing`}},
		{"parameters missing", func(kv store.KV, _ *modules.Context) {
			kv.Delete(keyParams)
		}, []string{`"p": the parameters are missing`}},
		{"invalid parameters", func(kv store.KV, _ *modules.Context) {
			kv.Set(keyParams, modules.MustJSON(&Params{Threshold: Fraction{Num: 1, Den: 2}, VotingPeriod: 60}))
		}, []string{`"p": parameters: threshold 1/2`}},
		{"next id missing", func(kv store.KV, _ *modules.Context) {
			kv.Delete(keyNextID)
		}, []string{`"c/next_id": missing, but there are 6 proposals`}},
		{"next id below a proposal", func(kv store.KV, _ *modules.Context) {
			kv.Set(keyNextID, binary.BigEndian.AppendUint64(nil, 5))
		}, []string{"pr/5: proposal id 5 is not below the next id 5", "pr/6: proposal id 6 is not below the next id 5"}},
		{"next id malformed", func(kv store.KV, _ *modules.Context) {
			kv.Set(keyNextID, []byte{7})
		}, []string{`"c/next_id": next proposal id is 1 bytes, expected 8`, `"c/next_id": missing, but there are 6 proposals`}},
		{"proposal missing", func(kv store.KV, _ *modules.Context) {
			kv.Delete(proposalKey(3))
			kv.Delete(votePrefix(3)) // not a vote key: nothing to delete
		}, []string{`"c/next_id": next proposal id is 7, but there are 5 proposals: ids are missing`,
			`vt/3/org1: vote on proposal 3, which does not exist`}},
		{"proposal 0", func(kv store.KV, _ *modules.Context) {
			b := kv.Get(proposalKey(6))
			kv.Set(proposalKey(0), b)
		}, []string{"pr/0: proposal id 0 (proposals are numbered from 1)", "pr/0: proposal record has id 6"}},
		{"undecodable proposal", func(kv store.KV, _ *modules.Context) {
			kv.Set(proposalKey(4), []byte(`{"id":4,"kind":`))
		}, []string{"pr/4: record does not decode"}},
		{"proposal not in the module's encoding", func(kv store.KV, _ *modules.Context) {
			kv.Set(proposalKey(4), append([]byte(" "), kv.Get(proposalKey(4))...))
		}, []string{"pr/4: record is not in the module's encoding"}},
		{"proposal of another id", func(kv store.KV, _ *modules.Context) {
			kv.Set(proposalKey(2), kv.Get(proposalKey(3)))
		}, []string{"pr/2: proposal record has id 3", "pr/2: tally is 0 yes, 1 no, 0 abstain, but its votes are 2, 0 and 0"}},
		{"unknown kind", edit(1, func(p *Proposal) { p.Kind = "coup" }), []string{`pr/1: proposal kind "coup"`}},
		{"invalid content", edit(6, func(p *Proposal) { p.Content = json.RawMessage(`{"id":"org1"}`) }), []string{`pr/6: proposal content: grant_role content: json: unknown field "id"`}},
		{"empty title, no proposer, bad org", edit(6, func(p *Proposal) { p.Title, p.Proposer, p.Org = "", crypto.Address{}, "Org 1" }),
			[]string{"pr/6: proposal title is 0 bytes", "pr/6: proposal has no proposer", `pr/6: proposal's organisation id "Org 1"`}},
		{"unknown status", edit(5, func(p *Proposal) { p.Status = "tabled" }), []string{`pr/5: proposal status "tabled"`}},
		{"bad times", edit(3, func(p *Proposal) { p.Deadline = p.SubmitTime }), []string{"pr/3: proposal deadline " + time.Unix(1700000100, 0).UTC().Format(time.RFC3339Nano) + " is not after its submission"}},
		{"unparsable time", edit(3, func(p *Proposal) { p.SubmitTime = "yesterday" }), []string{`pr/3: proposal submit time: parsing time "yesterday"`}},
		{"voting with enough yes-votes", edit(4, func(p *Proposal) { p.Required = 1 }),
			[]string{"pr/4: voting proposal has 1 yes-votes of the 1 it needs: it should have been executed"}},
		{"needs no votes", edit(6, func(p *Proposal) { p.Required = 0 }),
			[]string{"pr/6: proposal needs 0 yes-votes, expected at least 1", "pr/6: voting proposal has 0 yes-votes of the 0 it needs"}},
		{"voting with a decision", edit(6, func(p *Proposal) { p.DecidedHeight, p.Error = 9, "boom" }),
			[]string{"pr/6: voting proposal has a decision height 9", "pr/6: voting proposal has an execution error"}},
		{"decided without a height", edit(3, func(p *Proposal) { p.DecidedHeight = 0 }), []string{"pr/3: rejected proposal decided at height 0, submitted at 2"}},
		{"executed without the votes", edit(1, func(p *Proposal) { p.Required = 3 }), []string{"pr/1: executed proposal has 2 yes-votes of the 3 it needed"}},
		{"failed without an error", edit(2, func(p *Proposal) { p.Error = "" }), []string{"pr/2: failed proposal has no execution error"}},
		{"tally off", edit(3, func(p *Proposal) { p.No, p.Abstain = 1, 1 }), []string{"pr/3: tally is 0 yes, 1 no, 1 abstain, but its votes are 0, 1 and 0"}},
		{"bad votes", func(kv store.KV, _ *modules.Context) {
			kv.Set(voteKey(9, "org1"), modules.MustJSON(&Vote{ProposalID: 9, Org: "org1", Voter: a1.Address, Option: VoteYes, Height: 3}))
			kv.Set(voteKey(6, "org3"), modules.MustJSON(&Vote{ProposalID: 6, Org: "org1", Option: "maybe", Height: 1}))
			kv.Set(voteKey(6, "org2"), []byte(`{"option":1}`))
			kv.Set(voteKey(1, "org3"), modules.MustJSON(&Vote{ProposalID: 1, Org: "org3", Voter: a3.Address, Option: VoteYes, Height: 4}))
		}, []string{"vt/9/org1: vote on proposal 9, which does not exist",
			`vt/6/org3: vote record is of proposal 6 by organisation "org1"`, "vt/6/org3: vote has no voter",
			`vt/6/org3: vote option "maybe"`, "vt/6/org3: vote at height 1, outside the voting on proposal 6 (from 2, decided at 0)",
			"vt/6/org2: record does not decode: json: cannot unmarshal number",
			"vt/1/org3: vote at height 4, outside the voting on proposal 1 (from 2, decided at 3)",
			"pr/1: tally is 2 yes, 0 no, 0 abstain, but its votes are 3, 0 and 0"}},
		{"deadline queue entries", func(kv store.KV, _ *modules.Context) {
			d := deadline4(kv)
			kv.Delete(deadlineKey(d, 4))
			kv.Set(deadlineKey(d.Add(time.Second), 4), nil)
			kv.Set(deadlineKey(d, 3), []byte{1})
			kv.Set(deadlineKey(d, 12), nil)
		}, []string{fmt.Sprintf("q/%d/4: proposal 4 is queued at another deadline", d4ns(t, s)+1e9),
			fmt.Sprintf("q/%d/3: deadline queue value is 1 bytes, expected empty", d4ns(t, s)),
			fmt.Sprintf("q/%d/3: proposal 3 in the deadline queue is rejected", d4ns(t, s)),
			fmt.Sprintf("q/%d/12: proposal 12 in the deadline queue does not exist", d4ns(t, s)),
			fmt.Sprintf("pr/4: voting proposal is not in the deadline queue (no q/%d/4)", d4ns(t, s))}},
		{"unknown keys", func(kv store.KV, _ *modules.Context) {
			kv.Set([]byte("c/other"), nil)
			kv.Set([]byte("pr/1"), nil)
			kv.Set(append(votePrefix(1), "Org"...), nil)
			kv.Set([]byte("q/x"), nil)
			kv.Set([]byte{0xff}, nil)
		}, []string{`"c/other": unknown key`, `"pr/1": unknown key`, `0x76742f00000000000000012f4f7267: unknown key`, `"q/x": unknown key`, `0xff: unknown key`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := store.NewBranch(s.st)
			kv := store.Prefixed(b, modules.Prefix(Name))
			c.corrupt(kv, s.ctx(5, 103*time.Second, nil, b))
			invariantstest.Mentions(t, s.m.CheckInvariants(kv), c.want...)
		})
	}
}

// d4ns is proposal 4's deadline in unix nanoseconds.
func d4ns(t *testing.T, s *govState) int64 {
	p, err := GetProposal(store.Prefixed(s.st, modules.Prefix(Name)), 4)
	if err != nil || p == nil {
		t.Fatal(err)
	}
	d, err := time.Parse(time.RFC3339Nano, p.Deadline)
	if err != nil {
		t.Fatal(err)
	}
	return d.UnixNano()
}
