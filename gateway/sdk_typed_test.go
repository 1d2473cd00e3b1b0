package gateway

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/lianchain/lian/client"
	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules/evidence"
	"github.com/lianchain/lian/modules/gov"
	"github.com/lianchain/lian/modules/identity"
	"github.com/lianchain/lian/node"
	"github.com/lianchain/lian/txs"
)

// TestSDKTypedMessages sends every transaction of every module through the SDK's
// builders, signed with each of the three algorithms, and reads the result back with the
// SDK's typed queries.
func TestSDKTypedMessages(t *testing.T) {
	tn := chainNet(t)
	c := client.New(tn.srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	tag := sdkTag(t)
	sender := func(key crypto.PrivKey) *client.Sender {
		s, err := client.NewSender(c, testChainID, key)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	send := func(s *client.Sender, msgs ...txs.Msg) {
		t.Helper()
		if _, err := s.Send(ctx, msgs...); err != nil {
			t.Fatalf("send %v: %v", msgs, err)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	// identity register-account (and credits top-up, in sdkAccount), one per algorithm;
	// evidence anchor signed by each.
	keys := map[crypto.Algo]crypto.PrivKey{}
	for _, algo := range crypto.Algos() {
		key := sdkAccount(t, tn, c, algo)
		keys[algo] = key
		addr := client.AddressOf(key)
		info, err := c.AccountInfo(ctx, testChainID, addr)
		must(err)
		if info.Account.Algo != algo || info.Account.Org != "org1" || info.Account.Status != identity.StatusActive || !slices.Equal(info.Account.Roles, []string{identity.RoleMember}) {
			t.Fatalf("%s account %+v", algo, info.Account)
		}
		bal, err := c.Balance(ctx, testChainID, addr.String())
		if err != nil || bal.Credits == 0 {
			t.Fatalf("%s balance %+v, %v", algo, bal, err)
		}
		d := digestOf("typed " + tag + " " + string(algo))
		m, err := client.NewAnchor(d, evidence.HashSHA256, "signed with "+string(algo), evidence.Entry{Key: "algo", Value: string(algo)})
		must(err)
		send(sender(key), m)
		ev, err := c.EvidenceRecord(ctx, testChainID, d)
		must(err)
		if ev.Record.Submitter != addr || ev.Record.Kind != evidence.KindDocument || ev.Record.Label != "signed with "+string(algo) {
			t.Fatalf("%s record %+v", algo, ev.Record)
		}
	}
	ed, sm2, k1 := keys[crypto.Ed25519], keys[crypto.SM2], keys[crypto.Secp256k1]

	// evidence anchor-batch, with each document's inclusion checked against the proven
	// record.
	docs := [][]byte{digestOf("batch 1 " + tag), digestOf("batch 2 " + tag), digestOf("batch 3 " + tag)}
	batch, proofs, err := client.NewBatchAnchor(evidence.HashSHA256, docs, "batch")
	must(err)
	send(sender(sm2), batch)
	proven, err := c.Evidence(ctx, testChainID, batch.Root, true)
	must(err)
	v, err := client.VerifyEvidence(testChainID, batch.Root, proven)
	must(err)
	if v.Record.Kind != evidence.KindBatch || v.Record.Count != 3 {
		t.Fatalf("batch record %+v", v.Record)
	}
	for _, p := range proofs {
		if err := p.VerifyAnchored(v); err != nil {
			t.Fatal(err)
		}
	}

	// identity grant-role and revoke-role, by the org1 admin.
	admin := sender(tn.admin)
	edAddr := client.AddressOf(ed)
	grant, err := client.NewGrantRole(edAddr, identity.RoleRelayer)
	must(err)
	send(admin, grant)
	info, err := c.AccountInfo(ctx, testChainID, edAddr)
	if err != nil || !info.Account.HasRole(identity.RoleRelayer) {
		t.Fatalf("after the grant: %+v, %v", info, err)
	}
	revoke, err := client.NewRevokeRole(edAddr, identity.RoleRelayer)
	must(err)
	send(admin, revoke)
	if info, err = c.AccountInfo(ctx, testChainID, edAddr); err != nil || info.Account.HasRole(identity.RoleRelayer) {
		t.Fatalf("after the revocation: %+v, %v", info, err)
	}

	// identity freeze and unfreeze, by the regulator. The frozen account's Send is
	// refused, and its Sender goes on once it is unfrozen (the refusal used no nonce).
	k1Addr, k1Sender := client.AddressOf(k1), sender(k1)
	regulator := sender(tn.regulator)
	freeze, err := client.NewFreeze(k1Addr, "SDK test order "+tag)
	must(err)
	send(regulator, freeze)
	if info, err = c.AccountInfo(ctx, testChainID, k1Addr); err != nil || info.Account.Status != identity.StatusFrozen {
		t.Fatalf("after the freeze: %+v, %v", info, err)
	}
	frozenDoc, err := client.NewAnchor(digestOf("frozen "+tag), evidence.HashSHA256, "")
	must(err)
	if _, err := k1Sender.Send(ctx, frozenDoc); !errorsIsCode(err, errcode.AccountFrozen) {
		t.Fatalf("send while frozen: %v", err)
	}
	unfreeze, err := client.NewUnfreeze(k1Addr, "lifted "+tag)
	must(err)
	send(regulator, unfreeze)
	send(k1Sender, frozenDoc)
	if n, err := c.Nonce(ctx, testChainID, k1Addr); err != nil || n != 2 {
		t.Fatalf("nonce after the unfreeze: %d, %v", n, err)
	}

	// gov propose and vote: a proposal voted down by the organisations.
	proposer := sender(tn.orgAdmins[1]) // org3
	prop, err := client.NewProposal(gov.KindGrantRole, "SDK test "+tag, gov.RoleChange{Address: edAddr, Role: identity.RolePSP})
	must(err)
	res, err := proposer.Send(ctx, prop)
	must(err)
	id, err := client.ProposalIDOf(res)
	must(err)
	no, err := client.NewVote(id, "NO")
	must(err)
	decided := ""
	for _, voter := range []crypto.PrivKey{tn.orgAdmins[1], tn.orgAdmins[2], tn.orgAdmins[0], tn.admin, tn.regulator} {
		res, err := sender(voter).Send(ctx, no)
		must(err)
		if decided = client.DecisionOf(res); decided != "" {
			break
		}
	}
	if decided != gov.StatusRejected {
		t.Fatalf("decision %q, want %s", decided, gov.StatusRejected)
	}
	pd, err := c.Proposal(ctx, testChainID, id)
	if err != nil || pd.Proposal.Status != gov.StatusRejected || len(pd.Votes) == 0 {
		t.Fatalf("proposal %+v, %v", pd, err)
	}

	// credits sponsorship: set, read, end.
	sp, err := client.NewSponsorship(5000, 3600)
	must(err)
	send(proposer, sp)
	info2, err := c.Sponsorship(ctx, testChainID, "org3")
	if err != nil || info2.Sponsorship.Cap != 5000 || info2.Sponsorship.Period != 3600 {
		t.Fatalf("sponsorship %+v, %v", info2, err)
	}
	send(proposer, client.EndSponsorship())
	if _, err := c.Sponsorship(ctx, testChainID, "org3"); !errorsIsCode(err, errcode.NotFound) {
		t.Fatalf("ended sponsorship: %v", err)
	}

	// The remaining queries.
	st, err := c.Statement(ctx, testChainID, edAddr.String(), client.PageQuery{})
	if err != nil || len(st.Entries) < 2 || st.Entries[0].Kind != "top_up" {
		t.Fatalf("statement %+v, %v", st, err)
	}
	if gp, err := c.GovParams(ctx, testChainID); err != nil || gp.Params.Threshold.Den == 0 {
		t.Fatalf("gov params %+v, %v", gp, err)
	}
	if cp, err := c.CreditParams(ctx, testChainID); err != nil || len(cp.Params.Prices) == 0 {
		t.Fatalf("credit params %+v, %v", cp, err)
	}
	if p, err := c.ConsensusParams(ctx, testChainID); err != nil || p.ABCI.VoteExtensionsEnableHeight != node.VoteExtensionsEnableHeight ||
		p.Block.MaxBytes != node.ConsensusParams().Block.MaxBytes || p.Height < 1 || len(p.Validator.PubKeyTypes) == 0 {
		t.Fatalf("consensus params %+v, %v", p, err)
	}
	if vs, err := c.Validators(ctx, testChainID); err != nil || len(vs.Validators) != testValidators {
		t.Fatalf("validators %+v, %v", vs, err)
	}
	if os, err := c.Orgs(ctx, testChainID); err != nil || len(os.Orgs) != testValidators+1 {
		t.Fatalf("orgs %+v, %v", os, err)
	}
	if pp, err := c.Proposals(ctx, testChainID, client.ProposalQuery{Status: gov.StatusRejected, Limit: 100}); err != nil || !slices.ContainsFunc(pp.Proposals, func(p gov.Proposal) bool { return p.ID == id }) {
		t.Fatalf("rejected proposals %+v, %v", pp, err)
	}
	tx, err := c.Tx(ctx, testChainID, res.Hash)
	if err != nil || tx.Body == nil || tx.Signer == nil || tx.Signer.Algo != string(crypto.SM2) {
		t.Fatalf("tx %+v, %v", tx, err)
	}
	if b, err := c.Block(ctx, testChainID, tx.Height); err != nil || !slices.Contains(b.TxHashes, res.Hash) {
		t.Fatalf("block %d: %+v, %v", tx.Height, b, err)
	}
	if h, err := c.Health(ctx); err != nil || h.Status != "ok" {
		t.Fatalf("health %+v, %v", h, err)
	}
	if cs, err := c.Chains(ctx); err != nil || len(cs.Chains) != 1 {
		t.Fatalf("chains %+v, %v", cs, err)
	}
}
