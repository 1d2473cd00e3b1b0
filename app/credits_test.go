package app

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules"
	"github.com/lianchain/lian/modules/attest"
	"github.com/lianchain/lian/modules/credits"
	"github.com/lianchain/lian/modules/evidence"
	"github.com/lianchain/lian/modules/gov"
	"github.com/lianchain/lian/modules/identity"
	"github.com/lianchain/lian/modules/message"
	"github.com/lianchain/lian/modules/xchain"
	"github.com/lianchain/lian/store"
	"github.com/lianchain/lian/txs"
)

func holder(k crypto.PrivKey) credits.Holder { return credits.AccountHolder(k.PubKey().Address()) }

func TestTopUp(t *testing.T) {
	n := newTestNet(t, 2)
	member := n.member(2, 0)
	to := member.PubKey().Address()
	org2 := "org2"
	msg := func(ref string, amount uint64) *credits.MsgTopUp {
		return &credits.MsgTopUp{Account: &to, Currency: "CNY", Amount: amount, PaymentRef: ref, PayerName: "Zhang San"}
	}
	// 12.34 CNY at 100,000 credits per yuan.
	n.mustExec(n.admins[0], msg("wx-0001", 1234))
	if got := n.balance(holder(member)); got != 1_234_000 {
		t.Fatalf("balance %d, want 1234000", got)
	}
	n.mustExec(n.admins[0], &credits.MsgTopUp{Org: org2, Currency: "CNY", Amount: 1, PaymentRef: "wx-0002", PayerName: "Org Two"})
	if got := n.balance(credits.OrgHolder(org2)); got != 1000 {
		t.Fatalf("org balance %d", got)
	}

	huge := &credits.MsgTopUp{Account: &to, Currency: "CNY", Amount: 1 << 62, PaymentRef: "wx-big", PayerName: "X"}
	ghost := crypto.Address{1, 2, 3}
	cases := []struct {
		name string
		key  crypto.PrivKey
		msg  txs.Msg
		code errcode.Code
	}{
		{"reused payment reference", n.admins[0], msg("wx-0001", 1234), errcode.AlreadyExists},
		{"not an operator", n.admins[1], msg("wx-0003", 100), errcode.Unauthorized},
		{"zero amount", n.admins[0], msg("wx-0004", 0), errcode.InvalidMessage},
		{"overflowing amount", n.admins[0], huge, errcode.InvalidMessage},
		{"unpriced currency", n.admins[0], &credits.MsgTopUp{Account: &to, Currency: "USD", Amount: 5, PaymentRef: "wx-5", PayerName: "X"}, errcode.InvalidMessage},
		{"not a currency code", n.admins[0], &credits.MsgTopUp{Account: &to, Currency: "cny", Amount: 5, PaymentRef: "wx-6", PayerName: "X"}, errcode.InvalidMessage},
		{"both account and org", n.admins[0], &credits.MsgTopUp{Account: &to, Org: org2, Currency: "CNY", Amount: 5, PaymentRef: "wx-7", PayerName: "X"}, errcode.InvalidMessage},
		{"no payer name", n.admins[0], &credits.MsgTopUp{Account: &to, Currency: "CNY", Amount: 5, PaymentRef: "wx-8"}, errcode.InvalidMessage},
		{"unregistered account", n.admins[0], &credits.MsgTopUp{Account: &ghost, Currency: "CNY", Amount: 5, PaymentRef: "wx-9", PayerName: "X"}, errcode.UnknownAccount},
		{"unknown org", n.admins[0], &credits.MsgTopUp{Org: "org9", Currency: "CNY", Amount: 5, PaymentRef: "wx-10", PayerName: "X"}, errcode.NotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := n.app.store.LastHash()
			n.refused(c.code, c.key, c.msg)
			if string(n.app.store.LastHash()) != string(before) {
				t.Fatal("state changed")
			}
		})
	}

	// The statement lists the member's top-ups with heights.
	var st []credits.Receipt
	req, _ := json.Marshal(credits.StatementRequest{Holder: to.String()})
	if err := json.Unmarshal(n.query("/credits/statement", req), &st); err != nil || len(st) != 1 ||
		st[0].Credits != 1_234_000 || st[0].PaymentRef != "wx-0001" || st[0].Height == 0 || st[0].Amount != 1234 {
		t.Fatalf("statement %+v %v", st, err)
	}
	if b := n.query("/credits/balance", []byte(to.String())); u64(b) != 1_234_000 {
		t.Fatalf("balance query %d", u64(b))
	}
}

// TestTopUpRetriesCreditOnce: a payment callback retried many times (the same
// reference, different transactions, some in one block) credits once.
func TestTopUpRetriesCreditOnce(t *testing.T) {
	n := newTestNet(t, 2)
	member := n.member(1, 0)
	to := member.PubKey().Address()
	// A second operator retries too.
	op2 := n.member(1, 0, identity.RoleMember)
	id := n.propose(1, gov.KindGrantRole, gov.RoleChange{Address: op2.PubKey().Address(), Role: identity.RoleOperator})
	n.pass(id, 2)
	n.topUp(op2.PubKey().Address(), 100)

	retry := &credits.MsgTopUp{Account: &to, Currency: "CNY", Amount: 500, PaymentRef: "alipay-2026112700001", PayerName: "Li Si"}
	var block [][]byte
	for i := 0; i < 3; i++ {
		block = append(block, n.sign(n.admins[0], retry), n.sign(op2, retry))
	}
	// CheckTx admits the first and refuses the retries while it waits in the mempool.
	ctx := context.Background()
	for i, tx := range block {
		res, _ := n.app.CheckTx(ctx, &abci.RequestCheckTx{Tx: tx})
		switch {
		case i == 0 && res.Code != 0:
			t.Fatalf("first top-up refused: %s", res.Log)
		case i == 1 && errcode.Code(res.Code) != errcode.AlreadyExists:
			t.Fatalf("retry %d admitted: %d %s", i, res.Code, res.Log)
		}
	}
	// A faulty proposer includes all of them: exactly one credits.
	res := n.block(block...)
	ok := 0
	for _, r := range res {
		if r.Code == 0 {
			ok++
		} else if errcode.Code(r.Code) != errcode.AlreadyExists {
			t.Fatalf("retry failed with %s", r.Log)
		}
	}
	if ok != 1 || n.balance(holder(member)) != 500_000 {
		t.Fatalf("%d top-ups succeeded, balance %d", ok, n.balance(holder(member)))
	}
}

func TestFees(t *testing.T) {
	n := newTestNet(t, 2)
	poor := n.member(1, 0)
	// Out of credits: refused at CheckTx, nothing changes.
	before := n.app.store.LastHash()
	n.refused(errcode.NoCredits, poor, anchor("free lunch"))
	if string(before) != string(n.app.store.LastHash()) {
		t.Fatal("state changed")
	}
	// In a block (a faulty proposer), it fails without consuming the nonce.
	n.failsInBlock(errcode.NoCredits, poor, anchor("free lunch"))
	n.nonces[poor.PubKey().Address()]--

	n.topUp(poor.PubKey().Address(), 1) // 1,000 credits: not enough for one anchor
	n.refused(errcode.NoCredits, poor, anchor("still too poor"))
	n.topUp(poor.PubKey().Address(), 100)
	bal := n.balance(holder(poor))
	res := n.mustExec(poor, anchor("paid"))
	fee := uint64(res.GasUsed)
	if fee == 0 || n.balance(holder(poor)) != bal-fee {
		t.Fatalf("fee %d, balance %d → %d", fee, bal, n.balance(holder(poor)))
	}
	// A failing message keeps the fee and the nonce, once.
	bal = n.balance(holder(poor))
	res = n.block(n.sign(poor, anchor("paid")))[0]
	if errcode.Code(res.Code) != errcode.AlreadyExists || res.GasUsed == 0 || n.balance(holder(poor)) != bal-uint64(res.GasUsed) {
		t.Fatalf("duplicate: %s, fee %d, balance %d → %d", res.Log, res.GasUsed, bal, n.balance(holder(poor)))
	}
	payer := ""
	for _, ev := range res.Events {
		for _, a := range ev.Attributes {
			if ev.Type == EventTx && a.Key == "payer" {
				payer = a.Value
			}
		}
	}
	if payer != poor.PubKey().Address().String() {
		t.Fatalf("failed tx's lian.tx payer %q", payer)
	}
	// The same tx again (replay) is refused by nonce: no second charge.
	bal = n.balance(holder(poor))
	n.nonces[poor.PubKey().Address()]--
	n.failsInBlock(errcode.BadNonce, poor, anchor("paid"))
	if n.balance(holder(poor)) != bal {
		t.Fatal("a replay was charged")
	}

	// gas_limit below the fee: out_of_gas, nothing charged.
	body := txs.NewBody(chainID, n.nonces[poor.PubKey().Address()], anchor("capped"))
	body.Sender = poor.PubKey().Address()
	body.GasLimit = 10
	tx, _ := txs.Sign(body, poor)
	r, _ := n.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: tx.Marshal()})
	if errcode.Code(r.Code) != errcode.OutOfGas {
		t.Fatalf("gas limit 10: %d %s", r.Code, r.Log)
	}
}

func TestSponsorship(t *testing.T) {
	n := newTestNet(t, 2)
	member := n.member(2, 0)
	n.mustExec(n.admins[0], &credits.MsgTopUp{Org: "org2", Currency: "CNY", Amount: 1000, PaymentRef: "org2-1", PayerName: "Org Two"})
	orgBal := n.balance(credits.OrgHolder("org2"))

	n.refused(errcode.InvalidMessage, n.admins[1], &credits.MsgSetSponsorship{Cap: 5000, Period: 1})
	n.mustExec(n.admins[1], &credits.MsgSetSponsorship{Cap: 4000, Period: 3600})
	orgBal = n.balance(credits.OrgHolder("org2"))
	if orgBal != 1_000_000 {
		t.Fatalf("org paid %d for the transaction that set up its sponsorship", 1_000_000-orgBal)
	}
	// A member cannot set it (the org would pay for the refused attempt only in a block).
	n.refused(errcode.Unauthorized, member, &credits.MsgSetSponsorship{Cap: 9000, Period: 3600})

	// The member has no credits: the org pays, up to 4,000 per member per hour.
	r1 := n.mustExec(member, anchor("sponsored 1"))
	r2 := n.mustExec(member, anchor("sponsored 2"))
	spent := uint64(r1.GasUsed + r2.GasUsed)
	if n.balance(credits.OrgHolder("org2")) != orgBal-spent || n.balance(holder(member)) != 0 {
		t.Fatalf("org %d → %d, member %d", orgBal, n.balance(credits.OrgHolder("org2")), n.balance(holder(member)))
	}
	// The cap is reached (three anchors cost more than 4,000): refused, as the member has nothing.
	n.refused(errcode.NoCredits, member, anchor("sponsored 3"))
	// With its own credits the member pays for itself past the cap.
	n.topUp(member.PubKey().Address(), 10)
	own := n.balance(holder(member))
	r3 := n.mustExec(member, anchor("self-paid"))
	if n.balance(holder(member)) != own-uint64(r3.GasUsed) {
		t.Fatal("past the cap the member did not pay")
	}
	// The next period (block time) starts a new allowance.
	n.blockAfter(time.Hour)
	orgBal = n.balance(credits.OrgHolder("org2"))
	r4 := n.mustExec(member, anchor("next period"))
	if n.balance(credits.OrgHolder("org2")) != orgBal-uint64(r4.GasUsed) {
		t.Fatal("the new period was not sponsored")
	}
	// Cap 0 ends it.
	n.mustExec(n.admins[1], &credits.MsgSetSponsorship{})
	own = n.balance(holder(member))
	r5 := n.mustExec(member, anchor("after the end"))
	if n.balance(holder(member)) != own-uint64(r5.GasUsed) {
		t.Fatal("sponsorship did not end")
	}
}

// TestNoMessageMovesCredits runs one message of every type the chain knows and checks
// that no account's or organisation's balance changes, except the payer's fee and a
// top-up's recipient (paid for in fiat, not by another account).
func TestNoMessageMovesCredits(t *testing.T) {
	n := newTestNet(t, 3)
	bystander := n.member(3, 100)
	target := n.member(2, 0)
	tAddr := target.PubKey().Address()
	fresh, _ := crypto.GenPrivKey(crypto.Ed25519)
	gp, _ := json.Marshal(gov.RoleChange{Address: tAddr, Role: identity.RolePSP})
	id := n.propose(2, gov.KindGrantRole, gov.RoleChange{Address: tAddr, Role: identity.RolePSP})
	root := make([]byte, 32)
	root[0] = 9

	sender := map[string]crypto.PrivKey{}
	msgs := map[string]txs.Msg{
		identity.TypeRegisterAccount: register(t, fresh, identity.RoleMember),
		identity.TypeGrantRole:       &identity.MsgGrantRole{Address: tAddr, Role: identity.RoleRelayer},
		identity.TypeRevokeRole:      &identity.MsgRevokeRole{Address: tAddr, Role: identity.RoleMember},
		identity.TypeFreezeAccount:   &identity.MsgFreezeAccount{Address: tAddr, Reason: "test"},
		identity.TypeUnfreezeAccount: &identity.MsgUnfreezeAccount{Address: tAddr, Reason: "test"},
		credits.TypeTopUp:            &credits.MsgTopUp{Account: &tAddr, Currency: "CNY", Amount: 10, PaymentRef: "no-move", PayerName: "X"},
		credits.TypeSetSponsorship:   &credits.MsgSetSponsorship{Cap: 100, Period: 60},
		gov.TypeSubmitProposal:       &gov.MsgSubmitProposal{Kind: gov.KindGrantRole, Content: gp, Title: "t"},
		gov.TypeVote:                 &gov.MsgVote{ProposalID: id, Option: gov.VoteYes},
		evidence.TypeAnchor:          anchor("no-move"),
		evidence.TypeAnchorBatch:     &evidence.MsgAnchorBatch{Root: root, HashAlgo: evidence.HashSHA256, Count: 2},
		// Cross-chain messages need a counterparty chain; here they fail (no client,
		// no route) and the test checks that only the fee moved. xchain never touches
		// credits (see modules/xchain's tests for their success paths).
		xchain.TypeUpdateClient: &xchain.MsgUpdateClient{ClientID: "none", Header: testHeader(t)},
		xchain.TypeMisbehaviour: &xchain.MsgSubmitMisbehaviour{ClientID: "none", Header1: testHeader(t), Header2: testHeader(t)},
		xchain.TypeRecvPacket:   &xchain.MsgRecvPacket{Packet: testPacket(), Proof: []byte{1}, ProofHeight: 1},
		xchain.TypeAcknowledge:  &xchain.MsgAcknowledge{Packet: testPacket(), Ack: (&xchain.Ack{Result: []byte("1")}).Bytes(), Proof: []byte{1}, ProofHeight: 1},
		xchain.TypeTimeout:      &xchain.MsgTimeout{Packet: testPacket(), Proof: []byte{1}, ProofHeight: 1},
		xchain.TypeRecvPackets:  &xchain.MsgRecvPackets{Packets: []*xchain.Packet{testPacket()}, Proof: []byte{1}, ProofHeight: 1},
		xchain.TypeAcknowledgePackets: &xchain.MsgAcknowledgePackets{Acks: []*xchain.PacketAck{{Packet: testPacket(), Ack: (&xchain.Ack{Result: []byte("1")}).Bytes()}},
			Proof: []byte{1}, ProofHeight: 1},
		attest.TypeAttest: &attest.MsgAttest{Route: "none", Digest: root},
		message.TypeSend:  &message.MsgSend{Route: "none", Handler: "inbox"},
	}
	sender[identity.TypeRegisterAccount] = n.admins[1]
	sender[identity.TypeGrantRole] = n.admins[1]
	sender[identity.TypeRevokeRole] = n.admins[1]
	sender[identity.TypeFreezeAccount] = n.regulator
	sender[identity.TypeUnfreezeAccount] = n.regulator
	sender[credits.TypeTopUp] = n.admins[0]
	sender[credits.TypeSetSponsorship] = n.admins[1]
	sender[gov.TypeSubmitProposal] = n.admins[1]
	sender[gov.TypeVote] = n.admins[0]

	var types []string
	for typ := range n.app.routes {
		types = append(types, typ)
	}
	sort.Strings(types)
	holders := []credits.Holder{holder(bystander), holder(target), credits.OrgHolder("org1"), credits.OrgHolder("org2"), credits.OrgHolder("org3")}
	for _, a := range n.admins {
		holders = append(holders, holder(a))
	}
	holders = append(holders, holder(n.regulator))
	for _, typ := range types {
		msg, ok := msgs[typ]
		if !ok {
			t.Fatalf("message type %s has no case here: add one", typ)
		}
		key := sender[typ]
		if key == nil {
			key = bystander
		}
		before := map[string]uint64{}
		for _, h := range holders {
			before[h.String()] = n.balance(h)
		}
		var res *abci.ExecTxResult
		if strings.HasPrefix(typ, "/lian.xchain.") || typ == attest.TypeAttest || typ == message.TypeSend {
			res = n.block(n.sign(key, msg))[0] // fails in the block, after the fee
			if res.Code == 0 {
				t.Fatalf("%s succeeded without a counterparty", typ)
			}
		} else {
			res = n.mustExec(key, msg)
		}
		payer := ""
		for _, ev := range res.Events {
			for _, a := range ev.Attributes {
				if ev.Type == EventTx && a.Key == "payer" {
					payer = a.Value
				}
			}
		}
		for _, h := range holders {
			got, want := n.balance(h), before[h.String()]
			if h.String() == payer {
				want -= uint64(res.GasUsed)
			}
			if typ == credits.TypeTopUp && h.String() == tAddr.String() {
				want += 10_000
			}
			if got != want {
				t.Fatalf("%s changed the balance of %s: %d → %d (want %d)", typ, h, before[h.String()], got, want)
			}
		}
	}
}

// TestFreezeStopsABusyAccount: txs a member sent before the freeze, still in the
// mempool, fail at execution; the freeze keeps its reason; unfreezing restores it.
func TestFreezeStopsABusyAccount(t *testing.T) {
	n := newTestNet(t, 2)
	busy := n.member(1, 100)
	addr := busy.PubKey().Address()
	var pending [][]byte
	for i := 0; i < 3; i++ {
		tx := n.sign(busy, anchor(fmt.Sprint("busy-", i)))
		if r, _ := n.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: tx}); r.Code != 0 {
			t.Fatalf("CheckTx: %s", r.Log)
		}
		pending = append(pending, tx)
	}
	n.refused(errcode.Unauthorized, n.admins[0], &identity.MsgFreezeAccount{Address: addr, Reason: "court order 17"})
	n.refused(errcode.InvalidMessage, n.regulator, &identity.MsgFreezeAccount{Address: addr})
	n.refused(errcode.InvalidMessage, n.regulator, &identity.MsgFreezeAccount{Address: n.regulator.PubKey().Address(), Reason: "x"})
	freeze := n.sign(n.regulator, &identity.MsgFreezeAccount{Address: addr, Reason: "court order 17"})
	bal := n.balance(holder(busy))
	res := n.block(append([][]byte{freeze}, pending...)...)
	if res[0].Code != 0 {
		t.Fatalf("freeze: %s", res[0].Log)
	}
	for i, r := range res[1:] {
		if errcode.Code(r.Code) != errcode.AccountFrozen {
			t.Fatalf("pending tx %d: code %d %s, want account_frozen", i, r.Code, r.Log)
		}
	}
	if n.balance(holder(busy)) != bal {
		t.Fatal("a frozen account was charged")
	}
	a := n.account(addr)
	if a.Status != identity.StatusFrozen || a.Freeze == nil || a.Freeze.Reason != "court order 17" || a.Freeze.By != n.regulator.PubKey().Address() {
		t.Fatalf("account %+v freeze %+v", a, a.Freeze)
	}
	n.nonces[addr] -= 3
	n.refused(errcode.AccountFrozen, busy, anchor("busy-0"))
	n.refused(errcode.AlreadyExists, n.regulator, &identity.MsgFreezeAccount{Address: addr, Reason: "again"})
	n.mustExec(n.regulator, &identity.MsgUnfreezeAccount{Address: addr, Reason: "order lifted"})
	n.mustExec(busy, anchor("busy-0"))
}

func TestOrgRoles(t *testing.T) {
	n := newTestNet(t, 2)
	m1 := n.member(1, 100)
	m2 := n.member(2, 100)
	a1 := m1.PubKey().Address()
	n.mustExec(n.admins[0], &identity.MsgGrantRole{Address: a1, Role: identity.RoleRelayer})
	if !n.account(a1).HasRole(identity.RoleRelayer) {
		t.Fatal("relayer role not granted")
	}
	n.refused(errcode.AlreadyExists, n.admins[0], &identity.MsgGrantRole{Address: a1, Role: identity.RoleRelayer})
	n.refused(errcode.Unauthorized, n.admins[0], &identity.MsgGrantRole{Address: m2.PubKey().Address(), Role: identity.RoleRelayer}) // other org
	n.refused(errcode.InvalidMessage, n.admins[0], &identity.MsgGrantRole{Address: a1, Role: identity.RoleOperator})                 // network role
	n.refused(errcode.Unauthorized, m1, &identity.MsgGrantRole{Address: a1, Role: identity.RoleAdmin})                               // not an admin
	n.refused(errcode.InvalidMessage, n.admins[0], &identity.MsgRevokeRole{Address: n.admins[0].PubKey().Address(), Role: identity.RoleAdmin})
	n.refused(errcode.NotFound, n.admins[0], &identity.MsgRevokeRole{Address: a1, Role: identity.RoleAdmin})
	n.mustExec(n.admins[0], &identity.MsgGrantRole{Address: a1, Role: identity.RoleAdmin})
	// The new admin may now revoke the first admin's admin role.
	n.mustExec(m1, &identity.MsgRevokeRole{Address: n.admins[0].PubKey().Address(), Role: identity.RoleAdmin})
	n.refused(errcode.Unauthorized, n.admins[0], register(t, m2, identity.RoleMember))
}

// TestFailedTxKeepsOnlyItsTxEvent: the events of messages that ran before the failing
// one are not reported (their writes were dropped).
func TestFailedTxKeepsOnlyItsTxEvent(t *testing.T) {
	n := newTestNet(t, 1)
	member := n.member(1, 0)
	to := member.PubKey().Address()
	n.mustExec(n.admins[0], anchor("taken"))
	res := n.block(n.sign(n.admins[0], &credits.MsgTopUp{Account: &to, Currency: "CNY", Amount: 5, PaymentRef: "r-1", PayerName: "X"}, anchor("taken")))[0]
	if errcode.Code(res.Code) != errcode.AlreadyExists || len(res.Events) != 1 || res.Events[0].Type != EventTx {
		t.Fatalf("code %d, events %+v", res.Code, res.Events)
	}
	if n.balance(holder(member)) != 0 {
		t.Fatal("the failed tx's top-up stayed")
	}
}

// TestNonceFiller: a transaction without messages consumes its nonce and pays the default
// base fee, and cancels a transaction signed at the same nonce: one of the two runs.
func TestNonceFiller(t *testing.T) {
	n := newTestNet(t, 2)
	poor := n.member(1, 0)
	addr := poor.PubKey().Address()
	// It costs credits: refused at CheckTx without them, nothing changes.
	n.refused(errcode.NoCredits, poor)

	n.topUp(addr, 100)
	bal := n.balance(holder(poor))
	res := n.mustExec(poor)
	base := credits.DefaultParams().Gas.Default.Base
	if uint64(res.GasUsed) != base || n.balance(holder(poor)) != bal-base {
		t.Fatalf("filler fee %d (want %d), balance %d → %d", res.GasUsed, base, bal, n.balance(holder(poor)))
	}
	if len(res.Events) != 1 || res.Events[0].Type != EventTx {
		t.Fatalf("filler events %v: want the lian.tx event alone", res.Events)
	}
	idKV := store.Prefixed(n.app.store, modules.Prefix(identity.Name))
	if got := identity.Nonce(idKV, addr); got != n.nonces[addr] {
		t.Fatalf("nonce %d after the filler, want %d", got, n.nonces[addr])
	}

	// Cancel: an anchor admitted at nonce k, then a filler at k proposed first.
	doc := n.sign(poor, anchor("cancelled"))
	n.nonces[addr]--
	filler := n.sign(poor)
	if r, err := n.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: doc}); err != nil || r.Code != 0 {
		t.Fatalf("CheckTx of the anchor: %v %s", err, r.Log)
	}
	out := n.block(filler, doc)
	if out[0].Code != 0 || errcode.Code(out[1].Code) != errcode.BadNonce {
		t.Fatalf("filler then anchor at one nonce: %s / %s", out[0].Log, out[1].Log)
	}
	d := sha256.Sum256([]byte("cancelled"))
	if rec := store.Prefixed(n.app.store, modules.Prefix(evidence.Name)).Get(evidence.Key(d[:])); rec != nil {
		t.Fatalf("cancelled anchor is in state: %x", rec)
	}
	// A replayed filler is refused by its nonce, and fails in a block without a charge.
	if r, err := n.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: filler}); err != nil || errcode.Code(r.Code) != errcode.BadNonce {
		t.Fatalf("replayed filler: %v %s", err, r.Log)
	}
	bal = n.balance(holder(poor))
	if r := n.block(filler)[0]; errcode.Code(r.Code) != errcode.BadNonce || n.balance(holder(poor)) != bal {
		t.Fatalf("replayed filler in a block: %s, balance %d → %d", r.Log, bal, n.balance(holder(poor)))
	}
}
