package credits

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/modules"
	"github.com/lianchain/lian/modules/identity"
	"github.com/lianchain/lian/modules/invariantstest"
	"github.com/lianchain/lian/store"
	"github.com/lianchain/lian/txs"
)

// healthyCredits builds a state through genesis and the handlers: starting balances,
// top-ups of an account (three) and of an organisation (one), a sponsorship and a
// sponsored fee. It returns the module, the store and the two genesis accounts.
func healthyCredits(t *testing.T) (*Module, *store.Store, crypto.Address, crypto.Address) {
	t.Helper()
	st, err := store.OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	keys := make([]crypto.PrivKey, 2)
	var accts []identity.GenesisAccount
	for i := range keys {
		if keys[i], err = crypto.GenPrivKey(crypto.Ed25519); err != nil {
			t.Fatal(err)
		}
		accts = append(accts, identity.GenesisAccount{Org: "org1", Algo: crypto.Ed25519, PubKey: keys[i].PubKey().Bytes(),
			Roles: []string{identity.RoleAdmin, identity.RoleOperator}})
	}
	op, member := keys[0].PubKey().Address(), keys[1].PubKey().Address()
	idGen, _ := json.Marshal(identity.Genesis{Orgs: []identity.GenesisOrg{{ID: "org1"}, {ID: "org2"}}, Accounts: accts})
	t0 := time.Unix(1700000000, 0)
	if err := identity.New().InitGenesis(modules.NewContext("lian-1", 1, t0, txs.Hash{}, nil, st, identity.Name), idGen); err != nil {
		t.Fatal(err)
	}
	m := New()
	gen, _ := json.Marshal(Genesis{Balances: []GenesisBalance{{Holder: AccountHolder(op), Credits: 5000}, {Holder: OrgHolder("org2"), Credits: 7}}})
	if err := m.InitGenesis(modules.NewContext("lian-1", 1, t0, txs.Hash{}, nil, st, Name), gen); err != nil {
		t.Fatal(err)
	}
	sender := &modules.Account{Address: op, Org: "org1", Roles: []string{identity.RoleAdmin, identity.RoleOperator}}
	for i, msg := range []txs.Msg{
		&MsgTopUp{Account: &member, Currency: "CNY", Amount: 100, PaymentRef: "pay-1", PayerName: "A"},
		&MsgTopUp{Org: "org1", Currency: "CNY", Amount: 250, PaymentRef: "pay-2", PayerName: "B"},
		&MsgTopUp{Account: &member, Currency: "CNY", Amount: 3, PaymentRef: "pay-3", PayerName: "A"},
		&MsgTopUp{Account: &member, Currency: "CNY", Amount: 7, PaymentRef: "pay-4", PayerName: "A"},
		&MsgSetSponsorship{Cap: 50_000, Period: 3600},
	} {
		ctx := modules.NewContext("lian-1", int64(2+i), t0.Add(time.Duration(i)*time.Second), txs.Hash{byte(i)}, sender, st, Name)
		var err error
		switch msg := msg.(type) {
		case *MsgTopUp:
			err = m.topUp(ctx, msg)
		case *MsgSetSponsorship:
			err = m.setSponsorship(ctx, msg)
		}
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	kv := store.Prefixed(st, modules.Prefix(Name))
	body := txs.NewBody("lian-1", 0, &MsgSetSponsorship{})
	if fee, err := Charge(kv, body, member, "org1", t0); err != nil || fee.Payer.Org != "org1" {
		t.Fatalf("sponsored charge: %+v %v", fee, err)
	}
	return m, st, op, member
}

func TestCheckInvariants(t *testing.T) {
	m, st, op, member := healthyCredits(t)
	kv := store.Prefixed(st, modules.Prefix(Name))
	if err := m.CheckInvariants(kv); err != nil {
		t.Fatalf("healthy state: %v", err)
	}
	mh, oh := AccountHolder(member), OrgHolder("org1")
	r1, r2 := fmt.Sprintf("r/%X", receiptKey("pay-1")[2:]), fmt.Sprintf("r/%X", receiptKey("pay-2")[2:])
	sm := func(seq int) string { return fmt.Sprintf("s/a/%s/%d", member, seq) }
	receipt := func(kv store.KV, ref string) *Receipt {
		var r Receipt
		if err := json.Unmarshal(kv.Get(receiptKey(ref)), &r); err != nil {
			t.Fatal(err)
		}
		return &r
	}
	// setReceipt stores a receipt under r/ and in the statement, as a top-up does.
	setReceipt := func(kv store.KV, r *Receipt, h Holder) {
		b := modules.MustJSON(r)
		kv.Set(receiptKey(r.PaymentRef), b)
		kv.Set(statementKey(h, r.Seq), b)
	}
	cases := []struct {
		name    string
		corrupt func(kv store.KV, ctx *modules.Context)
		want    []string
	}{
		{"mempool mark committed", func(_ store.KV, ctx *modules.Context) {
			ctx.CheckOnly = true
			if err := New().topUp(ctx, &MsgTopUp{Account: &member, Currency: "CNY", Amount: 1, PaymentRef: "pending", PayerName: "P"}); err != nil {
				t.Fatal(err)
			}
		}, []string{fmt.Sprintf("r/%X: receipt of height 0: the mark of a top-up waiting in the mempool", receiptKey("pending")[2:]),
			fmt.Sprintf("r/%X: receipt is not in its holder's statement", receiptKey("pending")[2:])}},
		{"parameters missing", func(kv store.KV, _ *modules.Context) {
			kv.Delete(keyParams)
		}, []string{`"p": the parameters are missing`}},
		{"invalid parameters", func(kv store.KV, _ *modules.Context) {
			p := DefaultParams()
			p.Prices = nil
			kv.Set(keyParams, modules.MustJSON(&p))
		}, []string{`"p": parameters: prices: expected 1..32 currencies`}},
		{"undecodable parameters", func(kv store.KV, _ *modules.Context) {
			kv.Set(keyParams, []byte(`{"gas":1}`))
		}, []string{`"p": record does not decode`}},
		{"bad balances", func(kv store.KV, _ *modules.Context) {
			kv.Set(balanceKey(mh), []byte{1})
			kv.Set(balanceKey(OrgHolder("org2")), binary.BigEndian.AppendUint64(nil, MaxBalance+1))
			kv.Set([]byte("b/x/1"), binary.BigEndian.AppendUint64(nil, 1))
			kv.Set([]byte("b/o/Org"), binary.BigEndian.AppendUint64(nil, 1))
		}, []string{"b/a/" + member.String() + ": balance is 1 bytes, expected 8",
			fmt.Sprintf("b/o/org2: balance %d exceeds %d", uint64(MaxBalance+1), uint64(MaxBalance)),
			`"b/x/1": unknown key: expected b/a/<20-byte address> or b/o/<org id>`, `"b/o/Org": unknown key`}},
		{"undecodable receipt", func(kv store.KV, _ *modules.Context) {
			kv.Set(receiptKey("pay-1"), []byte("{"))
		}, []string{r1 + ": record does not decode", sm(0) + ": statement entry differs from the receipt of its payment reference (" + r1 + ")"}},
		{"receipt under another reference", func(kv store.KV, _ *modules.Context) {
			kv.Set(receiptKey("other"), kv.Get(receiptKey("pay-1")))
		}, []string{fmt.Sprintf(`r/%X: receipt of payment reference "pay-1", which hashes to %X`, receiptKey("other")[2:], receiptKey("pay-1")[2:]),
			fmt.Sprintf("r/%X: receipt is not in its holder's statement", receiptKey("other")[2:])}},
		{"implausible receipt", func(kv store.KV, _ *modules.Context) {
			r := receipt(kv, "pay-2")
			r.Currency, r.Credits, r.To = "cny", 0, "org:Bad"
			setReceipt(kv, r, oh)
		}, []string{r2 + `: receipt currency "cny"`, r2 + ": receipt of 250 minor units for 0 credits",
			r2 + ": receipt to organisation id", `s/o/org1/0: statement entry of org:org1 is to "org:Bad"`}},
		{"statement entry misnumbered", func(kv store.KV, _ *modules.Context) {
			r := receipt(kv, "pay-1")
			r.Seq = 5
			b := modules.MustJSON(r)
			kv.Set(receiptKey("pay-1"), b)
			kv.Set(statementKey(mh, 0), b)
		}, []string{sm(0) + ": statement entry numbered 5"}},
		{"statement entry without receipt", func(kv store.KV, _ *modules.Context) {
			kv.Delete(receiptKey("pay-3"))
		}, []string{sm(1) + `: statement entry of payment reference "pay-3", which has no receipt (` + fmt.Sprintf("r/%X", receiptKey("pay-3")[2:]) + ")"}},
		{"receipt repeated in the statement", func(kv store.KV, _ *modules.Context) {
			r := receipt(kv, "pay-1")
			kv.Set(statementKey(mh, 3), modules.MustJSON(r))
			kv.Set(statementSeqKey(mh), binary.BigEndian.AppendUint64(nil, 4))
		}, []string{sm(3) + ": statement entry numbered 0", sm(3) + ": statement entry repeats the receipt " + r1}},
		{"statement entry missing", func(kv store.KV, _ *modules.Context) {
			kv.Delete(statementKey(mh, 1))
		}, []string{"sn/a/" + member.String() + ": next statement number is 3, but 1 entries are missing (the first: 1)",
			fmt.Sprintf("r/%X: receipt is not in its holder's statement", receiptKey("pay-3")[2:])}},
		{"last statement entry missing", func(kv store.KV, _ *modules.Context) {
			kv.Set(statementSeqKey(mh), binary.BigEndian.AppendUint64(nil, 1<<40))
		}, []string{"sn/a/" + member.String() + fmt.Sprintf(": next statement number is %d, but %d entries are missing (the first: 3)", uint64(1<<40), uint64(1<<40-3))}},
		{"statement entry beyond", func(kv store.KV, _ *modules.Context) {
			kv.Set(statementSeqKey(mh), binary.BigEndian.AppendUint64(nil, 2))
		}, []string{sm(2) + ": statement entry 2 is beyond the next number 2"}},
		{"statement number missing", func(kv store.KV, _ *modules.Context) {
			kv.Delete(statementSeqKey(oh))
		}, []string{"sn/o/org1: missing, but the holder has 1 statement entries"}},
		{"statement number without entries", func(kv store.KV, _ *modules.Context) {
			kv.Set(statementSeqKey(AccountHolder(op)), binary.BigEndian.AppendUint64(nil, 2))
			kv.Set(statementSeqKey(OrgHolder("org2")), []byte{2})
		}, []string{"sn/a/" + op.String() + ": next statement number is 2, but 2 entries are missing (the first: 0)",
			"sn/o/org2: next statement number is 1 bytes, expected 8"}},
		{"statement without balance", func(kv store.KV, _ *modules.Context) {
			kv.Delete(balanceKey(oh))
		}, []string{"sn/o/org1: the holder has statement entries but no balance (b/o/org1)"}},
		{"bad sponsorships", func(kv store.KV, _ *modules.Context) {
			kv.Set(sponsorKey("org1"), modules.MustJSON(&Sponsorship{Cap: 0, Period: 0}))
			kv.Set(sponsorKey("org2"), []byte(`{"cap":1,"period":60,"x":1}`))
			kv.Set(sponsorKey("-org"), modules.MustJSON(&Sponsorship{Cap: 1, Period: 60}))
		}, []string{`"sp/org1": sponsorship cap 0`, `"sp/org1": sponsorship period 0 s`,
			`"sp/org2": record does not decode: json: unknown field "x"`, `"sp/-org": unknown key: expected sp/<org id>`}},
		{"bad usage", func(kv store.KV, _ *modules.Context) {
			kv.Set(usageKey("org1", member), []byte{1, 2, 3})
			kv.Set([]byte("u/org1/short"), make([]byte, 16))
		}, []string{"u/org1/" + member.String() + ": sponsored use is 3 bytes, expected 16",
			`"u/org1/short": unknown key: expected u/<org id>/<20-byte address>`}},
		{"unknown keys", func(kv store.KV, _ *modules.Context) {
			kv.Set([]byte("q"), nil)
			kv.Set([]byte("r/short"), nil)
			kv.Set(append([]byte("s/a/"), 0xff), nil)
		}, []string{`"q": unknown key`, `"r/short": unknown key`, "0x732f612fff: unknown key: expected s/<holder>/<8-byte number>"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := store.NewBranch(st)
			kv := store.Prefixed(b, modules.Prefix(Name))
			sender := &modules.Account{Address: op, Org: "org1", Roles: []string{identity.RoleOperator}}
			c.corrupt(kv, modules.NewContext("lian-1", 9, time.Unix(1700000009, 0), txs.Hash{9}, sender, b, Name))
			invariantstest.Mentions(t, m.CheckInvariants(kv), c.want...)
		})
	}
}
