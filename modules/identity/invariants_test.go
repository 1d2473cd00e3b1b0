package identity

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	cmtbytes "github.com/cometbft/cometbft/libs/bytes"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/modules"
	"github.com/lianchain/lian/modules/invariantstest"
	"github.com/lianchain/lian/store"
	"github.com/lianchain/lian/txs"
)

func consensusKey(seed string) []byte {
	s := sha256.Sum256([]byte(seed))
	return ed25519.NewKeyFromSeed(s[:]).Public().(ed25519.PublicKey)
}

func genKey(t *testing.T, algo crypto.Algo) crypto.PrivKey {
	t.Helper()
	k, err := crypto.GenPrivKey(algo)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

type identityState struct {
	m                      *Module
	st                     *store.Store
	admin1, admin2, member crypto.PrivKey
	val1, val3             []byte
}

// healthyIdentity builds a state through genesis and the handlers: two genesis
// organisations and a validator, a registered, frozen member with an extra role and a
// network role, a third organisation admitted with a validator, a suspended and a
// removed organisation, and nonces.
func healthyIdentity(t *testing.T) *identityState {
	t.Helper()
	st, err := store.OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	s := &identityState{m: New(), st: st, admin1: genKey(t, crypto.SM2), admin2: genKey(t, crypto.Ed25519),
		member: genKey(t, crypto.Secp256k1), val1: consensusKey("v1"), val3: consensusKey("v3")}
	val4 := consensusKey("v4")
	g := Genesis{
		Orgs: []GenesisOrg{{ID: "org1", Name: "One", Validators: []cmtbytes.HexBytes{s.val1}}, {ID: "org2", Name: "Two"},
			{ID: "org4", Name: "Four", Validators: []cmtbytes.HexBytes{val4}}},
		Accounts: []GenesisAccount{
			{Org: "org1", Algo: crypto.SM2, PubKey: s.admin1.PubKey().Bytes(), Roles: []string{RoleAdmin, RoleRegulator}},
			{Org: "org2", Algo: crypto.Ed25519, PubKey: s.admin2.PubKey().Bytes(), Roles: []string{RoleAdmin}, IdentityHash: make([]byte, 32)},
		},
	}
	raw, _ := json.Marshal(g)
	ctx := modules.NewContext("lian-1", 1, time.Unix(1700000000, 0), txs.Hash{}, nil, st, Name)
	if err := s.m.InitGenesis(ctx, raw); err != nil {
		t.Fatal(err)
	}
	s.m.InitValidators(ctx, [][]byte{s.val1, val4}, []int64{10, 7}, g.ValidatorOrgs())

	a1 := s.admin1.PubKey().Address()
	sender := &modules.Account{Address: a1, Org: "org1", Roles: []string{RoleAdmin, RoleRegulator}}
	ctx = modules.NewContext("lian-1", 5, time.Unix(1700000005, 0), txs.Hash{5}, sender, st, Name)
	ih := sha256.Sum256([]byte("real-name record"))
	mAddr := s.member.PubKey().Address()
	steps := []error{
		s.m.registerAccount(ctx, &MsgRegisterAccount{PubKey: s.member.PubKey().Bytes(), Algo: crypto.Secp256k1, Roles: []string{RoleMember}, IdentityHash: ih[:]}),
		s.m.grantRole(ctx, &MsgGrantRole{Address: mAddr, Role: RoleRelayer}),
		s.m.revokeRole(ctx, &MsgRevokeRole{Address: mAddr, Role: RoleMember}),
		s.m.freeze(ctx, &MsgFreezeAccount{Address: mAddr, Reason: "court order"}),
		s.m.SetNetworkRole(ctx, mAddr, RoleOperator, true),
		s.m.AddOrg(ctx, "org3", "Three", NewOrgAdmin{Algo: crypto.Ed25519, PubKey: genKey(t, crypto.Ed25519).PubKey().Bytes(), IdentityHash: ih[:]}),
		s.m.AddValidator(ctx, "org3", s.val3, 5),
		s.m.SetOrgStatus(ctx, "org2", StatusSuspended),
		s.m.SetOrgStatus(ctx, "org4", StatusRemoved),
	}
	for i, err := range steps {
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	SetNonce(ctx.Store, a1, 3)
	SetNonce(ctx.Store, mAddr, 1)
	return s
}

func TestCheckInvariants(t *testing.T) {
	s := healthyIdentity(t)
	kv := store.Prefixed(s.st, modules.Prefix(Name))
	if err := s.m.CheckInvariants(kv); err != nil {
		t.Fatalf("healthy state: %v", err)
	}
	a1, a2, mAddr := s.admin1.PubKey().Address(), s.admin2.PubKey().Address(), s.member.PubKey().Address()
	stranger := genKey(t, crypto.Ed25519).PubKey().Address()
	account := func(kv store.KV, addr crypto.Address) *Account {
		a, err := GetAccount(kv, addr)
		if err != nil || a == nil {
			t.Fatalf("account %s: %v", addr, err)
		}
		return copyAccount(a)
	}
	org := func(kv store.KV, id string) *Org {
		o, err := GetOrg(kv, id)
		if err != nil || o == nil {
			t.Fatalf("org %s: %v", id, err)
		}
		c := *o
		return &c
	}
	cases := []struct {
		name    string
		corrupt func(kv store.KV)
		want    []string
	}{
		{"undecodable account", func(kv store.KV) {
			kv.Set(accountKey(a1), []byte(`{"address":`))
		}, []string{"a/" + a1.String() + ": record does not decode"}},
		{"unknown field", func(kv store.KV) {
			b := kv.Get(accountKey(a1))
			kv.Set(accountKey(a1), append([]byte(`{"admin":true,`), b[1:]...))
		}, []string{"a/" + a1.String() + `: record does not decode: json: unknown field "admin"`}},
		{"not the module's encoding", func(kv store.KV) {
			kv.Set(accountKey(a1), append(kv.Get(accountKey(a1)), ' '))
		}, []string{"a/" + a1.String() + ": record is not in the module's encoding"}},
		{"account under another address", func(kv store.KV) {
			kv.Set(accountKey(stranger), kv.Get(accountKey(a1)))
			kv.Set(memberKey("org1", stranger), []byte{})
		}, []string{"a/" + stranger.String() + ": account record is of address " + a1.String(),
			"a/" + stranger.String() + ": account's sm2 key derives address " + a1.String()}},
		{"key of another account", func(kv store.KV) {
			a := account(kv, a1)
			a.PubKey = s.admin2.PubKey().Bytes()
			a.Algo = crypto.Ed25519
			putAccount(kv, a)
		}, []string{"a/" + a1.String() + ": account's ed25519 key derives address " + a2.String()}},
		{"bad key", func(kv store.KV) {
			a := account(kv, a1)
			a.PubKey = []byte{1, 2, 3}
			putAccount(kv, a)
		}, []string{"a/" + a1.String() + ": account key: "}},
		{"unknown status", func(kv store.KV) {
			a := account(kv, a1)
			a.Status = "zombie"
			putAccount(kv, a)
		}, []string{"a/" + a1.String() + `: account status "zombie"`}},
		{"frozen without a freeze record", func(kv store.KV) {
			a := account(kv, mAddr)
			a.Freeze = nil
			putAccount(kv, a)
		}, []string{"a/" + mAddr.String() + ": frozen account has no freeze record"}},
		{"active with a freeze record", func(kv store.KV) {
			a := account(kv, a1)
			a.Freeze = &Freeze{Reason: "x", By: a1}
			putAccount(kv, a)
		}, []string{"a/" + a1.String() + ": active account has a freeze record"}},
		{"unknown and repeated roles", func(kv store.KV) {
			a := account(kv, a1)
			a.Roles = append(a.Roles, "king", RoleAdmin)
			putAccount(kv, a)
		}, []string{"a/" + a1.String() + `: account role "king"`, "a/" + a1.String() + `: account role "admin" listed twice`}},
		{"short identity hash", func(kv store.KV) {
			a := account(kv, mAddr)
			a.IdentityHash = a.IdentityHash[:5]
			putAccount(kv, a)
		}, []string{"a/" + mAddr.String() + ": identity hash is 5 bytes, expected 32"}},
		{"organisation missing", func(kv store.KV) {
			a := account(kv, a1)
			a.Org = "ghost"
			putAccount(kv, a)
		}, []string{"a/" + a1.String() + `: account's organisation "ghost" does not exist`,
			"m/org1/" + a1.String() + ": member " + a1.String() + ` is an account of organisation "ghost", not "org1"`}},
		{"membership missing", func(kv store.KV) {
			kv.Delete(memberKey("org1", mAddr))
		}, []string{"a/" + mAddr.String() + `: account is not listed as a member of its organisation "org1" (no m/org1/` + mAddr.String() + ")"}},
		{"registered by nobody", func(kv store.KV) {
			a := account(kv, mAddr)
			a.RegisteredBy = &stranger
			putAccount(kv, a)
		}, []string{"a/" + mAddr.String() + ": account was registered by " + stranger.String() + ", which is not an account"}},
		{"dangling membership", func(kv store.KV) {
			kv.Set(memberKey("org2", stranger), []byte{})
			kv.Set(memberKey("org2", mAddr), []byte{1})
		}, []string{"m/org2/" + stranger.String() + ": member " + stranger.String() + " is not an account",
			"m/org2/" + mAddr.String() + ": membership value is 1 bytes, expected empty",
			"m/org2/" + mAddr.String() + ": member " + mAddr.String() + ` is an account of organisation "org1", not "org2"`}},
		{"dangling nonce", func(kv store.KV) {
			SetNonce(kv, stranger, 4)
		}, []string{"n/" + stranger.String() + ": nonce of " + stranger.String() + ", which is not an account"}},
		{"short nonce", func(kv store.KV) {
			kv.Set(nonceKey(a1), []byte{1, 2})
		}, []string{"n/" + a1.String() + ": nonce is 2 bytes, expected 8"}},
		{"organisation record of another id", func(kv store.KV) {
			kv.Set(orgKey("org9"), kv.Get(orgKey("org2")))
		}, []string{`"o/org9": organisation record has id "org2"`}},
		{"unknown organisation status", func(kv store.KV) {
			o := org(kv, "org2")
			o.Status = "dormant"
			putOrg(kv, o)
		}, []string{`"o/org2": organisation status "dormant"`}},
		{"removed organisation with a validator", func(kv store.KV) {
			o := org(kv, "org4")
			o.Validators = []cmtbytes.HexBytes{s.val1}
			putOrg(kv, o)
		}, []string{`"o/org4": removed organisation lists 1 validators`,
			fmt.Sprintf(`"o/org4": organisation lists validator %X, which is run by "org1"`, s.val1)}},
		{"organisation lists a non-validator", func(kv store.KV) {
			o := org(kv, "org2")
			o.Validators = []cmtbytes.HexBytes{consensusKey("nobody"), {1, 2}}
			putOrg(kv, o)
		}, []string{fmt.Sprintf(`"o/org2": organisation lists validator %X, which is not a validator`, consensusKey("nobody")),
			`"o/org2": organisation validator 0102 is 2 bytes, expected 32`}},
		{"validator unlisted, of a removed or missing organisation, bad power", func(kv store.KV) {
			o := org(kv, "org1")
			o.Validators = []cmtbytes.HexBytes{}
			putOrg(kv, o)
			v, _ := GetValidator(kv, s.val3)
			v.Power = MaxValidatorPower + 1
			v.Org = "org4"
			kv.Set(validatorKey(s.val3), modules.MustJSON(v))
			k := consensusKey("lost")
			kv.Set(validatorKey(k), modules.MustJSON(&Validator{PubKey: k, Org: "ghost", Power: 1}))
		}, []string{fmt.Sprintf(`v/%X: validator's organisation "org1" does not list it`, s.val1),
			fmt.Sprintf(`v/%X: validator power 1000001, expected 1..1000000`, s.val3),
			fmt.Sprintf(`v/%X: validator's organisation "org4" is removed`, s.val3),
			fmt.Sprintf(`v/%X: validator's organisation "ghost" does not exist`, consensusKey("lost"))}},
		{"validator record of another key", func(kv store.KV) {
			kv.Set(validatorKey(consensusKey("copy")), kv.Get(validatorKey(s.val1)))
		}, []string{fmt.Sprintf(`v/%X: validator record is of key %X`, consensusKey("copy"), s.val1),
			fmt.Sprintf(`v/%X: validator's organisation "org1" does not list it`, consensusKey("copy"))}},
		{"wrong active count", func(kv store.KV) {
			setActiveOrgs(kv, 3)
		}, []string{`"c/active_orgs": active organisation count is 3, but 2 organisations are active`}},
		{"no active organisation", func(kv store.KV) {
			for _, id := range []string{"org1", "org3"} {
				o := org(kv, id)
				o.Status = StatusSuspended
				putOrg(kv, o)
			}
			setActiveOrgs(kv, 0)
		}, []string{`"c/active_orgs": no organisation is active (of 4)`}},
		{"unknown keys", func(kv store.KV) {
			kv.Set([]byte("x/1"), []byte{})
			kv.Set([]byte("a/short"), []byte("{}"))
			kv.Set([]byte("o/Bad_Org"), []byte("{}"))
			kv.Set([]byte("c/other"), []byte{0})
			kv.Set(append([]byte("m/"), 0xff, 0xfe), nil)
		}, []string{`"x/1": unknown key`, `"a/short": unknown key`, `"o/Bad_Org": unknown key`, `"c/other": unknown key`,
			"0x6d2ffffe: unknown key: expected m/<org id>/<20-byte address>"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := store.NewBranch(s.st)
			kv := store.Prefixed(b, modules.Prefix(Name))
			c.corrupt(kv)
			invariantstest.Mentions(t, s.m.CheckInvariants(kv), c.want...)
		})
	}

	// Many violations: the first MaxViolations (by key) are listed, the rest counted.
	b := store.NewBranch(s.st)
	kv = store.Prefixed(b, modules.Prefix(Name))
	for i := 0; i < 30; i++ {
		kv.Set(binary.BigEndian.AppendUint64([]byte("z/"), uint64(i)), nil)
	}
	err := s.m.CheckInvariants(kv)
	if err == nil || strings.Count(err.Error(), "unknown key") != modules.MaxViolations || !strings.HasSuffix(err.Error(), "… and 10 more") {
		t.Fatalf("30 violations: %v", err)
	}
}
