package app

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules/credits"
	"github.com/lianchain/lian/modules/gov"
	"github.com/lianchain/lian/modules/identity"
)

func TestGovThreshold(t *testing.T) {
	y, no, ab := gov.VoteYes, gov.VoteNo, gov.VoteAbstain
	cases := []struct {
		name     string
		orgs     int
		votes    []string // org i+1 casts votes[i]
		status   string
		required uint64
		decided  int // votes cast when it was decided (0: still open)
	}{
		{"3 of 4 yes passes at the third", 4, []string{y, y, y}, gov.StatusExecuted, 3, 3},
		{"2 of 4 yes stays open", 4, []string{y, y}, gov.StatusVoting, 3, 0},
		{"exactly two thirds: 2 of 3", 3, []string{y, y}, gov.StatusExecuted, 2, 2},
		{"exactly two thirds: 4 of 6", 6, []string{y, no, y, y, y}, gov.StatusExecuted, 4, 5},
		{"one short of 4 of 6, then rejected", 6, []string{y, y, y, no, no, no}, gov.StatusRejected, 4, 6},
		{"abstentions count as not yes", 4, []string{y, ab, ab}, gov.StatusRejected, 3, 3},
		{"a no and an abstention leave it open", 4, []string{y, no, y}, gov.StatusVoting, 3, 0},
		{"two no of 4 reject", 4, []string{no, no}, gov.StatusRejected, 3, 2},
		{"one org alone decides", 1, []string{y}, gov.StatusExecuted, 1, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := newTestNet(t, c.orgs)
			role := identity.RoleOperator
			target := n.admins[c.orgs-1].PubKey().Address()
			if c.orgs == 1 {
				role = identity.RolePSP // org1's admin is the operator already
			}
			id := n.propose(1, gov.KindGrantRole, gov.RoleChange{Address: target, Role: role})
			decidedAt := 0
			for i, v := range c.votes {
				n.vote(i+1, id, v)
				if decidedAt == 0 && n.proposal(id).Status != gov.StatusVoting {
					decidedAt = i + 1
				}
			}
			p := n.proposal(id)
			if p.Status != c.status || p.Required != c.required || decidedAt != c.decided {
				t.Fatalf("status %s required %d decided after %d votes; want %s %d %d (%+v)", p.Status, p.Required, decidedAt,
					c.status, c.required, c.decided, p)
			}
			if got := n.account(target).HasRole(role); got != (c.status == gov.StatusExecuted) {
				t.Fatalf("role granted = %v with status %s", got, p.Status)
			}
		})
	}
}

func TestGovVoteRules(t *testing.T) {
	n := newTestNet(t, 4)
	member := n.member(2, 100)
	target := member.PubKey().Address()
	id := n.propose(1, gov.KindGrantRole, gov.RoleChange{Address: target, Role: identity.RoleRegulator})

	n.refused(errcode.Unauthorized, member, &gov.MsgVote{ProposalID: id, Option: gov.VoteYes}) // not an admin
	n.refused(errcode.NotFound, n.admins[0], &gov.MsgVote{ProposalID: id + 7, Option: gov.VoteYes})
	n.refused(errcode.InvalidMessage, n.admins[0], &gov.MsgVote{ProposalID: id, Option: "maybe"})
	n.vote(1, id, gov.VoteYes)
	n.refused(errcode.AlreadyExists, n.admins[0], &gov.MsgVote{ProposalID: id, Option: gov.VoteNo}) // double vote
	// Two votes of one org in one block: the second fails at execution.
	a, b := n.sign(n.admins[1], &gov.MsgVote{ProposalID: id, Option: gov.VoteNo}), n.sign(n.admins[1], &gov.MsgVote{ProposalID: id, Option: gov.VoteYes})
	res := n.block(a, b)
	if res[0].Code != 0 || errcode.Code(res[1].Code) != errcode.AlreadyExists {
		t.Fatalf("two votes of org2 in a block: %s / %s", res[0].Log, res[1].Log)
	}
	if p := n.proposal(id); p.Yes != 1 || p.No != 1 {
		t.Fatalf("tally %d yes %d no", p.Yes, p.No)
	}
	n.vote(3, id, gov.VoteYes)
	n.vote(4, id, gov.VoteYes)
	p := n.proposal(id)
	if p.Status != gov.StatusExecuted || !n.account(target).HasRole(identity.RoleRegulator) {
		t.Fatalf("proposal %+v", p)
	}
	// Decided: more votes are refused and nothing runs twice.
	n.refused(errcode.Closed, n.admins[0], &gov.MsgVote{ProposalID: id, Option: gov.VoteYes})
}

func TestGovDeadline(t *testing.T) {
	n := newTestNet(t, 4)
	target := n.admins[3].PubKey().Address()
	id := n.propose(1, gov.KindGrantRole, gov.RoleChange{Address: target, Role: identity.RolePSP})
	n.vote(1, id, gov.VoteYes)
	n.vote(2, id, gov.VoteYes)
	// A vote in a block at or after the deadline is refused; that block closes it.
	res := n.blockAfter(votingPeriod, n.sign(n.admins[2], &gov.MsgVote{ProposalID: id, Option: gov.VoteYes}))
	if errcode.Code(res[0].Code) != errcode.Closed {
		t.Fatalf("late vote: %s", res[0].Log)
	}
	p := n.proposal(id)
	if p.Status != gov.StatusExpired || p.Yes != 2 || n.account(target).HasRole(identity.RolePSP) {
		t.Fatalf("after the deadline: %+v", p)
	}
	found := false
	for _, ev := range n.last.Events {
		found = found || ev.Type == gov.EventDecided
	}
	if !found {
		t.Fatalf("no %s event in the block's events: %+v", gov.EventDecided, n.last.Events)
	}
	n.refused(errcode.Closed, n.admins[3], &gov.MsgVote{ProposalID: id, Option: gov.VoteYes})
}

func TestGovRefusesBadProposals(t *testing.T) {
	n := newTestNet(t, 2)
	member := n.member(1, 100)
	good, _ := json.Marshal(gov.OrgRef{ID: "org2"})
	cases := []struct {
		name string
		key  crypto.PrivKey
		msg  *gov.MsgSubmitProposal
		code errcode.Code
	}{
		{"unknown kind", n.admins[0], &gov.MsgSubmitProposal{Kind: "seize_funds", Content: good, Title: "t"}, errcode.InvalidMessage},
		{"not JSON", n.admins[0], &gov.MsgSubmitProposal{Kind: gov.KindSuspendOrg, Content: []byte("org2"), Title: "t"}, errcode.InvalidMessage},
		{"unknown field", n.admins[0], &gov.MsgSubmitProposal{Kind: gov.KindSuspendOrg, Content: []byte(`{"id":"org2","force":true}`), Title: "t"}, errcode.InvalidMessage},
		{"trailing data", n.admins[0], &gov.MsgSubmitProposal{Kind: gov.KindSuspendOrg, Content: []byte(`{"id":"org2"}{}`), Title: "t"}, errcode.InvalidMessage},
		// A stray bracket passed DecodeStrict, then the proposal could not be encoded in the block.
		{"trailing bracket", n.admins[0], &gov.MsgSubmitProposal{Kind: gov.KindSuspendOrg, Content: []byte(`{"id":"org2"}}`), Title: "t"}, errcode.InvalidMessage},
		{"bad org id", n.admins[0], &gov.MsgSubmitProposal{Kind: gov.KindSuspendOrg, Content: []byte(`{"id":"ORG 2"}`), Title: "t"}, errcode.InvalidMessage},
		{"no title", n.admins[0], &gov.MsgSubmitProposal{Kind: gov.KindSuspendOrg, Content: good, Title: ""}, errcode.InvalidMessage},
		{"short validator key", n.admins[0], &gov.MsgSubmitProposal{Kind: gov.KindAddValidator, Content: []byte(`{"org":"org1","pub_key":"AABB","power":1}`), Title: "t"}, errcode.InvalidMessage},
		{"zero power", n.admins[0], &gov.MsgSubmitProposal{Kind: gov.KindSetValidatorPower, Content: mustMarshal(gov.ValidatorPower{PubKey: n.valKeys[0], Power: 0}), Title: "t"}, errcode.InvalidMessage},
		{"org role by governance", n.admins[0], &gov.MsgSubmitProposal{Kind: gov.KindGrantRole, Content: mustMarshal(gov.RoleChange{Address: member.PubKey().Address(), Role: identity.RoleAdmin}), Title: "t"}, errcode.InvalidMessage},
		{"threshold of one half", n.admins[0], &gov.MsgSubmitProposal{Kind: gov.KindSetParams, Content: []byte(`{"gov":{"threshold":{"num":1,"den":2},"voting_period":60}}`), Title: "t"}, errcode.InvalidMessage},
		{"block too large", n.admins[0], &gov.MsgSubmitProposal{Kind: gov.KindSetParams, Content: []byte(`{"block":{"max_bytes":1000000000,"max_gas":-1}}`), Title: "t"}, errcode.InvalidMessage},
		{"member proposes", member, &gov.MsgSubmitProposal{Kind: gov.KindSuspendOrg, Content: good, Title: "t"}, errcode.Unauthorized},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { n.refused(c.code, c.key, c.msg) })
	}
}

func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func TestGovValidatorChanges(t *testing.T) {
	n := newTestNet(t, 4)
	newKey := valKey("validator-5")
	id := n.propose(1, gov.KindAddValidator, gov.AddValidator{Org: "org2", PubKey: newKey, Power: 7})
	n.vote(1, id, gov.VoteYes)
	n.vote(2, id, gov.VoteYes)
	n.vote(3, id, gov.VoteYes) // executes in this block
	ups := n.last.ValidatorUpdates
	if len(ups) != 1 || string(ups[0].PubKey.GetEd25519()) != string(newKey) || ups[0].Power != 7 {
		t.Fatalf("validator updates %+v", ups)
	}
	var vals []identity.Validator
	if err := json.Unmarshal(n.query("/identity/validators", nil), &vals); err != nil || len(vals) != 5 {
		t.Fatalf("validators %v %v", vals, err)
	}
	// Adding it again fails at execution: the proposal is "failed", nothing changes.
	id2 := n.propose(1, gov.KindAddValidator, gov.AddValidator{Org: "org3", PubKey: newKey, Power: 1})
	n.vote(1, id2, gov.VoteYes)
	n.vote(2, id2, gov.VoteYes)
	n.vote(3, id2, gov.VoteYes)
	if p := n.proposal(id2); p.Status != gov.StatusFailed || p.Error == "" || len(n.last.ValidatorUpdates) != 0 {
		t.Fatalf("duplicate validator: %+v, updates %v", p, n.last.ValidatorUpdates)
	}
	// Power change, then removal.
	id3 := n.propose(2, gov.KindSetValidatorPower, gov.ValidatorPower{PubKey: newKey, Power: 20})
	n.pass(id3, 3)
	if ups := n.last.ValidatorUpdates; len(ups) != 1 || ups[0].Power != 20 {
		t.Fatalf("power change updates %+v", ups)
	}
	id4 := n.propose(2, gov.KindRemoveValidator, gov.ValidatorPower{PubKey: n.valKeys[3]})
	n.pass(id4, 3)
	if ups := n.last.ValidatorUpdates; len(ups) != 1 || ups[0].Power != 0 || string(ups[0].PubKey.GetEd25519()) != string(n.valKeys[3]) {
		t.Fatalf("removal updates %+v", ups)
	}
	var org identity.Org
	if err := json.Unmarshal(n.query("/identity/org", []byte("org4")), &org); err != nil || len(org.Validators) != 0 {
		t.Fatalf("org4 after its validator's removal: %+v %v", org, err)
	}
}

func TestGovOrganisations(t *testing.T) {
	n := newTestNet(t, 3)
	newAdmin, _ := crypto.GenPrivKey(crypto.SM2)
	ih := make([]byte, 32)
	add := gov.AddOrg{ID: "court-7", Name: "Court Seven", Admin: identity.NewOrgAdmin{Algo: crypto.SM2,
		PubKey: newAdmin.PubKey().Bytes(), IdentityHash: ih}, Validator: &gov.NewValidator{PubKey: valKey("court"), Power: 5}}
	id := n.propose(1, gov.KindAddOrg, add)
	n.pass(id, 2)
	if ups := n.last.ValidatorUpdates; len(ups) != 1 || ups[0].Power != 5 {
		t.Fatalf("add_org validator updates %+v", ups)
	}
	// The new org's admin is registered with no credits: it is refused until topped up.
	n.refused(errcode.NoCredits, newAdmin, &gov.MsgVote{ProposalID: id, Option: gov.VoteYes})
	n.topUp(newAdmin.PubKey().Address(), 100)
	n.admins = append(n.admins, newAdmin) // org4 in the harness's numbering

	// Now 4 active orgs: suspending org2 needs 3 yes.
	id2 := n.propose(4, gov.KindSuspendOrg, gov.OrgRef{ID: "org2"})
	n.vote(4, id2, gov.VoteYes)
	n.vote(1, id2, gov.VoteYes)
	if p := n.proposal(id2); p.Status != gov.StatusVoting || p.Required != 3 {
		t.Fatalf("suspend: %+v", p)
	}
	n.vote(3, id2, gov.VoteYes)
	if p := n.proposal(id2); p.Status != gov.StatusExecuted {
		t.Fatalf("suspend: %+v", p)
	}
	// org2's admin can send nothing, not even a vote.
	n.refused(errcode.AccountInactive, n.admins[1], &gov.MsgVote{ProposalID: id2, Option: gov.VoteYes})
	// 3 active orgs now: resuming org2 needs 2.
	id3 := n.propose(1, gov.KindResumeOrg, gov.OrgRef{ID: "org2"})
	n.vote(1, id3, gov.VoteYes)
	n.vote(3, id3, gov.VoteYes)
	if p := n.proposal(id3); p.Status != gov.StatusExecuted {
		t.Fatalf("resume: %+v", p)
	}
	n.mustExec(n.admins[1], anchor("org2 is back"))
}

func TestGovSetParams(t *testing.T) {
	n := newTestNet(t, 3)
	cp := credits.DefaultParams()
	cp.Gas.Msgs = map[string]credits.GasCost{"/lian.evidence.v1.MsgAnchor": {Base: 5, PerByte: 0}}
	sp := gov.SetParams{
		Gov:     &gov.Params{Threshold: gov.Fraction{Num: 3, Den: 4}, VotingPeriod: 600},
		Credits: &cp,
		Block:   &gov.BlockParams{MaxBytes: 8 << 20, MaxGas: -1},
	}
	id := n.propose(1, gov.KindSetParams, sp)
	n.vote(1, id, gov.VoteYes)
	n.vote(2, id, gov.VoteYes)
	if p := n.proposal(id); p.Status != gov.StatusExecuted {
		t.Fatalf("%+v", p)
	}
	if cpu := n.last.ConsensusParamUpdates; cpu == nil || cpu.Block == nil || cpu.Block.MaxBytes != 8<<20 {
		t.Fatalf("consensus param updates %+v", cpu)
	}
	// The new schedule prices an anchor at 5 credits.
	before := n.balance(credits.AccountHolder(n.admins[0].PubKey().Address()))
	res := n.mustExec(n.admins[0], anchor("cheap"))
	if res.GasUsed != 5 || n.balance(credits.AccountHolder(n.admins[0].PubKey().Address())) != before-5 {
		t.Fatalf("fee %d, balance %d → %d", res.GasUsed, before, n.balance(credits.AccountHolder(n.admins[0].PubKey().Address())))
	}
	// The new threshold: 3/4 of 3 orgs rounds up to 3.
	id2 := n.propose(1, gov.KindSuspendOrg, gov.OrgRef{ID: "org3"})
	if p := n.proposal(id2); p.Required != 3 || p.Deadline != n.now.Add(600*time.Second).Format(time.RFC3339Nano) {
		t.Fatalf("after set_params: required %d deadline %s", p.Required, p.Deadline)
	}
}

// TestGovListQuery pages through proposals newest first, with a status filter.
func TestGovListQuery(t *testing.T) {
	n := newTestNet(t, 2)
	for i := 0; i < 5; i++ {
		n.propose(1, gov.KindGrantRole, gov.RoleChange{Address: n.admins[1].PubKey().Address(), Role: identity.RolePSP})
	}
	n.vote(1, 2, gov.VoteYes)
	n.vote(2, 2, gov.VoteNo)
	var list []gov.Proposal
	if err := json.Unmarshal(n.query("/gov/proposals", []byte(`{"limit":2,"before":5}`)), &list); err != nil ||
		len(list) != 2 || list[0].ID != 4 || list[1].ID != 3 {
		t.Fatalf("page: %+v %v", list, err)
	}
	if err := json.Unmarshal(n.query("/gov/proposals", []byte(`{"status":"rejected"}`)), &list); err != nil ||
		len(list) != 1 || list[0].ID != 2 {
		t.Fatalf("rejected: %+v %v", list, err)
	}
	var votes []gov.Vote
	if err := json.Unmarshal(n.query("/gov/votes", []byte("2")), &votes); err != nil || len(votes) != 2 {
		t.Fatalf("votes: %+v %v", votes, err)
	}
}

// TestGovAddAndRemoveInOneBlock: a validator added and removed by two proposals
// decided in the same block never reaches CometBFT (its removal would halt it).
func TestGovAddAndRemoveInOneBlock(t *testing.T) {
	n := newTestNet(t, 3)
	k := valKey("transient")
	add := n.propose(1, gov.KindAddValidator, gov.AddValidator{Org: "org1", PubKey: k, Power: 3})
	rm := n.propose(1, gov.KindRemoveValidator, gov.ValidatorPower{PubKey: k})
	n.passInOneBlock(add, rm)
	if p := n.proposal(rm); p.Status != gov.StatusExecuted {
		t.Fatalf("removal %+v", p)
	}
	if len(n.last.ValidatorUpdates) != 0 {
		t.Fatalf("updates %+v", n.last.ValidatorUpdates)
	}
}

// TestGovVoteExtensionsHeight: a set_params proposal turns vote extensions on for a
// chain whose genesis has them off. The harness applies CometBFT's own checks to every
// update (a refused one would halt the chain); the changes CometBFT would refuse fail
// the proposal instead and reach no block.
func TestGovVoteExtensionsHeight(t *testing.T) {
	// pass submits a proposal for height h and has it executed 3 blocks later (the
	// proposal, then the two yes-votes of 3 organisations, a block each).
	pass := func(n *testNet, h int64) *gov.Proposal {
		t.Helper()
		id := n.propose(1, gov.KindSetParams, gov.SetParams{ABCI: &gov.ABCIParams{VoteExtensionsEnableHeight: h}})
		n.vote(1, id, gov.VoteYes)
		n.vote(2, id, gov.VoteYes)
		p := n.proposal(id)
		if p.DecidedHeight != n.height {
			t.Fatalf("proposal decided at %d, expected %d", p.DecidedHeight, n.height)
		}
		return p
	}
	failed := func(n *testNet, p *gov.Proposal, want string) {
		t.Helper()
		if p.Status != gov.StatusFailed || !strings.Contains(p.Error, want) {
			t.Fatalf("proposal %s (%q), expected failed with %q", p.Status, p.Error, want)
		}
		if u := n.last.ConsensusParamUpdates; u != nil {
			t.Fatalf("a failed proposal updated the consensus parameters: %v", u)
		}
	}

	n := newTestNet(t, 3) // genesis: no vote extensions
	failed(n, pass(n, n.height), "expected a height after")
	failed(n, pass(n, n.height+3), "expected a height after") // the executing height itself

	e := n.height + 3 + 10
	if p := pass(n, e); p.Status != gov.StatusExecuted {
		t.Fatalf("proposal %s: %s", p.Status, p.Error)
	}
	if u := n.last.ConsensusParamUpdates; u == nil || u.Abci == nil || u.Abci.VoteExtensionsEnableHeight != e || u.Block != nil {
		t.Fatalf("consensus param updates %v, expected abci.vote_extensions_enable_height %d only", u, e)
	}
	if got := n.params.ABCI.VoteExtensionsEnableHeight; got != e {
		t.Fatalf("enable height %d after the update, expected %d", got, e)
	}

	// Not reached yet: it may still move (CometBFT allows it while both are ahead).
	e = n.height + 3 + 5
	if p := pass(n, e); p.Status != gov.StatusExecuted || n.params.ABCI.VoteExtensionsEnableHeight != e {
		t.Fatalf("moving the enable height: %s %q, params %d", p.Status, p.Error, n.params.ABCI.VoteExtensionsEnableHeight)
	}
	for n.height < e {
		n.block()
	}
	failed(n, pass(n, n.height+10), "on since height")

	// A block-limit change in the same proposal as a refused abci change is undone with it.
	id := n.propose(1, gov.KindSetParams, gov.SetParams{Block: &gov.BlockParams{MaxBytes: 4 << 20, MaxGas: -1},
		ABCI: &gov.ABCIParams{VoteExtensionsEnableHeight: n.height + 100}})
	n.vote(1, id, gov.VoteYes)
	n.vote(2, id, gov.VoteYes)
	failed(n, n.proposal(id), "on since height")

	// A chain whose genesis turned them on (networks initialised by this version).
	p := cmttypes.DefaultConsensusParams()
	p.ABCI.VoteExtensionsEnableHeight = 1
	m := newTestChainParams(t, 3, chainID, *p, t.TempDir())
	failed(m, pass(m, m.height+10), "on since height 1")
	// Restarted, the app gets no InitChain: the node hands it the genesis parameters.
	m.restart(p)
	failed(m, pass(m, m.height+10), "on since height 1")
}

// TestGovParamsMerge: two proposals executed in one block, one changing the block
// limits and one turning vote extensions on, reach consensus as one update with both.
func TestGovParamsMerge(t *testing.T) {
	n := newTestNet(t, 3)
	e := n.height + 20
	blockID := n.propose(1, gov.KindSetParams, gov.SetParams{Block: &gov.BlockParams{MaxBytes: 4 << 20, MaxGas: -1}})
	abciID := n.propose(1, gov.KindSetParams, gov.SetParams{ABCI: &gov.ABCIParams{VoteExtensionsEnableHeight: e}})
	n.passInOneBlock(blockID, abciID)
	u := n.last.ConsensusParamUpdates
	if u == nil || u.Block == nil || u.Block.MaxBytes != 4<<20 || u.Abci == nil || u.Abci.VoteExtensionsEnableHeight != e {
		t.Fatalf("consensus param updates %v", u)
	}
}

// TestGovProposeAndVoteInOneTx: a transaction that submits a proposal and votes on it
// passes CheckTx (the vote finds the proposal made by the message before it) and, with
// one organisation, executes the proposal in its block.
func TestGovProposeAndVoteInOneTx(t *testing.T) {
	n := newTestNet(t, 1)
	prop := &gov.MsgSubmitProposal{Kind: gov.KindGrantRole, Title: "t",
		Content: mustMarshal(gov.RoleChange{Address: n.admins[0].PubKey().Address(), Role: identity.RolePSP})}
	res := n.exec(n.admins[0], prop, &gov.MsgVote{ProposalID: 1, Option: gov.VoteYes})
	if res.Code != 0 {
		t.Fatalf("code %d: %s", res.Code, res.Log)
	}
	if p := n.proposal(1); p.Status != gov.StatusExecuted {
		t.Fatalf("proposal %s: %s", p.Status, p.Error)
	}
}

// passInOneBlock has org1 vote yes on each proposal, then org2's yes-votes on all of
// them land in one block: on a net of 3 organisations, they pass there together.
func (n *testNet) passInOneBlock(ids ...uint64) {
	n.t.Helper()
	var votes [][]byte
	for _, id := range ids {
		n.vote(1, id, gov.VoteYes)
		votes = append(votes, n.sign(n.admins[1], &gov.MsgVote{ProposalID: id, Option: gov.VoteYes}))
	}
	for i, res := range n.block(votes...) {
		if res.Code != 0 {
			n.t.Fatalf("org2's vote on proposal %d: %s", ids[i], res.Log)
		}
	}
}
