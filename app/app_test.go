package app

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtbytes "github.com/cometbft/cometbft/libs/bytes"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules"
	"github.com/lianchain/lian/modules/credits"
	"github.com/lianchain/lian/modules/evidence"
	"github.com/lianchain/lian/modules/identity"
	"github.com/lianchain/lian/store"
	"github.com/lianchain/lian/txs"
)

const chainID = "test-1"

type harness struct {
	t      *testing.T
	app    *App
	height int64
	admin  crypto.PrivKey
}

// newMemApp returns an application over an empty in-memory store.
func newMemApp(t *testing.T) *App {
	t.Helper()
	st, err := store.OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(st)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := newHarnesses(t, 1)[0]
	h.block() // height 1 commits genesis
	return h
}

// newHarnesses returns n harnesses whose apps InitChain ran on one genesis (one admin),
// with nothing committed.
func newHarnesses(t *testing.T, n int) []*harness {
	t.Helper()
	admin, err := crypto.GenPrivKey(crypto.SM2)
	if err != nil {
		t.Fatal(err)
	}
	gen, err := BuildGenesis(GenesisSpec{
		Orgs: []identity.GenesisOrg{{ID: "org1", Name: "Org One"}, {ID: "org2", Name: "Org Two"}},
		Accounts: []identity.GenesisAccount{{Org: "org1", Algo: admin.PubKey().Algo(), PubKey: admin.PubKey().Bytes(),
			Roles: []string{identity.RoleAdmin, identity.RoleOperator}}},
		StartingCredits: testCredits,
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := make([]*harness, n)
	for i := range hs {
		a := newMemApp(t)
		if _, err := a.InitChain(context.Background(), &abci.RequestInitChain{ChainId: chainID, AppStateBytes: gen, InitialHeight: 1, Time: time.Unix(1700000000, 0)}); err != nil {
			t.Fatal(err)
		}
		hs[i] = &harness{t: t, app: a, admin: admin}
	}
	return hs
}

func (h *harness) tx(key crypto.PrivKey, nonce uint64, chain string, msgs ...txs.Msg) []byte {
	h.t.Helper()
	body := txs.NewBody(chain, nonce, msgs...)
	body.Sender = key.PubKey().Address()
	tx, err := txs.Sign(body, key)
	if err != nil {
		h.t.Fatal(err)
	}
	return tx.Marshal()
}

func (h *harness) check(tx []byte) *abci.ResponseCheckTx {
	h.t.Helper()
	res, err := h.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: tx})
	if err != nil {
		h.t.Fatal(err)
	}
	return res
}

func (h *harness) block(list ...[]byte) []*abci.ExecTxResult {
	h.t.Helper()
	return h.finalize(testBlock{txs: list}).TxResults
}

func anchor(doc string) *evidence.MsgAnchor {
	d := sha256.Sum256([]byte(doc))
	return &evidence.MsgAnchor{Digest: d[:], HashAlgo: evidence.HashSHA256, Label: doc}
}

// topUp credits key's account with 10 CNY (1,000,000 credits at the default price).
func topUp(key crypto.PrivKey, ref string) *credits.MsgTopUp {
	a := key.PubKey().Address()
	return &credits.MsgTopUp{Account: &a, Currency: "CNY", Amount: 1000, PaymentRef: ref, PayerName: "Test Payer"}
}

// testCredits are the starting credits of the harness's admin.
const testCredits = 1_000_000_000

func register(t *testing.T, key crypto.PrivKey, roles ...string) *identity.MsgRegisterAccount {
	ih := sha256.Sum256([]byte("real-name record"))
	return &identity.MsgRegisterAccount{PubKey: key.PubKey().Bytes(), Algo: key.PubKey().Algo(), Roles: roles, IdentityHash: ih[:]}
}

func TestPipelineRefusesBadTransactions(t *testing.T) {
	h := newHarness(t)
	stranger, _ := crypto.GenPrivKey(crypto.Ed25519)
	member, _ := crypto.GenPrivKey(crypto.Secp256k1)
	if res := h.block(h.tx(h.admin, 0, chainID, register(t, member, identity.RoleMember), topUp(member, "ref-member"))); res[0].Code != 0 {
		t.Fatalf("register: %s", res[0].Log)
	}
	good := h.tx(h.admin, 1, chainID, anchor("a"))
	flipped := append([]byte{}, good...)
	flipped[len(flipped)-3] ^= 0x01 // inside the signature

	// A tx signed by another key but claiming the admin as sender.
	forged := func() []byte {
		body := txs.NewBody(chainID, 1, anchor("b"))
		body.Sender = h.admin.PubKey().Address()
		bz := body.Marshal()
		sig, _ := stranger.Sign(bz)
		return (&txs.Tx{BodyBytes: bz, PubKey: stranger.PubKey().Bytes(), Algo: stranger.PubKey().Algo(), Signature: sig}).Marshal()
	}()
	// The admin's key but a signature by the stranger.
	wrongSigner := func() []byte {
		body := txs.NewBody(chainID, 1, anchor("c"))
		body.Sender = h.admin.PubKey().Address()
		bz := body.Marshal()
		sig, _ := stranger.Sign(bz)
		return (&txs.Tx{BodyBytes: bz, PubKey: h.admin.PubKey().Bytes(), Algo: h.admin.PubKey().Algo(), Signature: sig}).Marshal()
	}()
	big := make([]byte, txs.MaxTxBytes+1)

	cases := []struct {
		name string
		tx   []byte
		code errcode.Code
	}{
		{"empty", nil, errcode.TxMalformed},
		{"garbage", []byte{0xff, 0xff, 0xff}, errcode.TxMalformed},
		{"oversized", big, errcode.TxTooLarge},
		{"flipped signature bit", flipped, errcode.InvalidSignature},
		{"key of another account", forged, errcode.InvalidSignature},
		{"signature by another key", wrongSigner, errcode.InvalidSignature},
		{"wrong chain", h.tx(h.admin, 1, "other-1", anchor("d")), errcode.WrongChain},
		{"replayed nonce", h.tx(h.admin, 0, chainID, anchor("e")), errcode.BadNonce},
		{"future nonce", h.tx(h.admin, 5, chainID, anchor("f")), errcode.BadNonce},
		{"unregistered sender", h.tx(stranger, 0, chainID, anchor("g")), errcode.UnknownAccount},
		{"member may not register", h.tx(member, 0, chainID, register(t, stranger, identity.RoleMember)), errcode.Unauthorized},
		{"invalid message", h.tx(h.admin, 1, chainID, &evidence.MsgAnchor{Digest: []byte{1}, HashAlgo: "md5"}), errcode.InvalidMessage},
		{"unknown role", h.tx(h.admin, 1, chainID, register(t, stranger, "king")), errcode.InvalidMessage},
	}
	before := h.app.store.WorkingHash()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := h.check(c.tx)
			if errcode.Code(res.Code) != c.code {
				t.Fatalf("CheckTx code %s (%s), want %s", errcode.Code(res.Code), res.Log, c.code)
			}
			if res.Codespace != errcode.Codespace || res.Log == "" {
				t.Fatalf("CheckTx result lacks codespace or message: %+v", res)
			}
		})
	}
	// The same transactions in a block (a faulty proposer) change nothing.
	var all [][]byte
	for _, c := range cases {
		if c.code != errcode.Unauthorized && c.code != errcode.InvalidMessage { // authentic: they consume a nonce
			all = append(all, c.tx)
		}
	}
	for i, r := range h.block(all...) {
		if r.Code == 0 {
			t.Fatalf("tx %d committed in a block", i)
		}
	}
	if got := h.app.store.LastHash(); string(got) != string(before) {
		t.Fatalf("refused transactions changed the state")
	}
	// The good transaction still goes through.
	if res := h.check(good); res.Code != 0 {
		t.Fatalf("good tx refused: %s", res.Log)
	}
}

func TestFailedMessageConsumesNonceOnly(t *testing.T) {
	h := newHarness(t)
	res := h.block(h.tx(h.admin, 0, chainID, anchor("doc")))
	if res[0].Code != 0 {
		t.Fatal(res[0].Log)
	}
	// Two messages: a new anchor and a duplicate. The whole tx fails; the nonce is consumed.
	res = h.block(h.tx(h.admin, 1, chainID, anchor("new"), anchor("doc")))
	if errcode.Code(res[0].Code) != errcode.AlreadyExists {
		t.Fatalf("code %d %s, want already_exists", res[0].Code, res[0].Log)
	}
	idKV := store.Prefixed(h.app.store, modules.Prefix(identity.Name))
	if n := identity.Nonce(idKV, h.admin.PubKey().Address()); n != 2 {
		t.Fatalf("nonce %d, want 2", n)
	}
	d := sha256.Sum256([]byte("new"))
	if h.app.store.Get(append(modules.Prefix(evidence.Name), evidence.Key(d[:])...)) != nil {
		t.Fatal("the first message of a failed tx was written")
	}
}

// TestPanickingHandlerIsAnError: a handler that panics on what a transaction carries
// fails that transaction with internal (in CheckTx and in a block, where the nonce and
// the fee are taken as for any failed message); the node goes on. A store.Fault is not
// recovered.
func TestPanickingHandlerIsAnError(t *testing.T) {
	h := newHarness(t)
	typ := anchor("x").TypeURL()
	r := h.app.routes[typ]
	orig := r.msgType.Handle
	r.msgType.Handle = func(ctx *modules.Context, msg txs.Msg) error {
		switch msg.(*evidence.MsgAnchor).Label {
		case "boom":
			var m map[string]int
			m["x"] = 1 // a nil map: a runtime error, as a bug would be
		case "fault":
			panic(&store.Fault{Err: fmt.Errorf("disk gone")})
		}
		return orig(ctx, msg)
	}
	h.app.routes[typ] = r

	boom := h.tx(h.admin, 0, chainID, anchor("boom"))
	if res := h.check(boom); errcode.Code(res.Code) != errcode.Internal || !strings.Contains(res.Log, "failed unexpectedly") {
		t.Fatalf("check: code %d %q, want internal", res.Code, res.Log)
	}
	if res := h.check(h.tx(h.admin, 0, chainID, anchor("fine"))); res.Code != 0 {
		t.Fatalf("check after the panic: %s", res.Log)
	}
	res := h.block(boom, h.tx(h.admin, 1, chainID, anchor("after")))
	if errcode.Code(res[0].Code) != errcode.Internal || res[1].Code != 0 {
		t.Fatalf("block: codes %d (%s) and %d (%s), want internal and ok", res[0].Code, res[0].Log, res[1].Code, res[1].Log)
	}
	idKV := store.Prefixed(h.app.store, modules.Prefix(identity.Name))
	if n := identity.Nonce(idKV, h.admin.PubKey().Address()); n != 2 {
		t.Fatalf("nonce %d, want 2 (the failed message consumes its nonce)", n)
	}

	defer func() {
		if _, ok := recover().(*store.Fault); !ok {
			t.Fatal("a store fault was recovered")
		}
	}()
	h.check(h.tx(h.admin, 2, chainID, anchor("fault")))
}

func TestCheckTxSequentialNoncesAndDuplicates(t *testing.T) {
	h := newHarness(t)
	for i := uint64(0); i < 3; i++ {
		if res := h.check(h.tx(h.admin, i, chainID, anchor(string(rune('a'+i))))); res.Code != 0 {
			t.Fatalf("nonce %d: %s", i, res.Log)
		}
	}
	// The same digest again while the first is still in the mempool.
	if res := h.check(h.tx(h.admin, 3, chainID, anchor("a"))); errcode.Code(res.Code) != errcode.AlreadyExists {
		t.Fatalf("duplicate in mempool: code %d %s", res.Code, res.Log)
	}
}

func TestQueryWithProof(t *testing.T) {
	h := newHarness(t)
	res := h.block(h.tx(h.admin, 0, chainID, anchor("contract.pdf")))
	if res[0].Code != 0 {
		t.Fatal(res[0].Log)
	}
	d := sha256.Sum256([]byte("contract.pdf"))
	q, err := h.app.Query(context.Background(), &abci.RequestQuery{Path: "/evidence/digest", Data: d[:], Prove: true})
	if err != nil || q.Code != 0 {
		t.Fatalf("query: %v %s", err, q.Log)
	}
	rec, err := evidence.DecodeRecord(q.Value)
	if err != nil || rec.Label != "contract.pdf" || rec.Org != "org1" || rec.Height != h.height {
		t.Fatalf("record %+v %v", rec, err)
	}
	root := h.app.store.LastHash()
	if err := store.VerifyMembership(root, q.ProofOps.Ops[0].Data, q.Key, q.Value); err != nil {
		t.Fatal(err)
	}
	tampered := append([]byte{}, q.Value...)
	tampered[len(tampered)-2] ^= 1
	if err := store.VerifyMembership(root, q.ProofOps.Ops[0].Data, q.Key, tampered); err == nil {
		t.Fatal("tampered value verified")
	}
	// Absent digest: not found, with a proof of absence.
	other := sha256.Sum256([]byte("nothing"))
	q, _ = h.app.Query(context.Background(), &abci.RequestQuery{Path: "/evidence/digest", Data: other[:], Prove: true})
	if errcode.Code(q.Code) != errcode.NotFound || q.ProofOps == nil {
		t.Fatalf("absent digest: %+v", q)
	}
	if err := store.VerifyNonMembership(root, q.ProofOps.Ops[0].Data, q.Key); err != nil {
		t.Fatal(err)
	}
	// A non-membership proof must not work for a key that exists.
	if err := store.VerifyNonMembership(root, q.ProofOps.Ops[0].Data, append(modules.Prefix(evidence.Name), evidence.Key(d[:])...)); err == nil {
		t.Fatal("absence proof accepted for a present key")
	}
	// Bad queries. A refusal of a query of the latest state says which height refused
	// it (a gateway tells a lagging node by it); others keep the height asked for.
	for _, c := range []struct {
		path string
		data []byte
		h    int64
	}{{"/evidence/digest", []byte{1, 2}, 0}, {"/nope/x", nil, 0}, {"/evidence/digest", d[:], 999}, {"bad", nil, 0}} {
		q, _ := h.app.Query(context.Background(), &abci.RequestQuery{Path: c.path, Data: c.data, Height: c.h})
		if q.Code == 0 {
			t.Fatalf("query %+v answered", c)
		}
		if want := max(c.h, h.height); q.Height != want {
			t.Fatalf("query %+v refused at height %d, want %d", c, q.Height, want)
		}
	}
}

func TestRestartResumes(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := New(st)
	admin, _ := crypto.GenPrivKey(crypto.Ed25519)
	gen, _ := BuildGenesis(GenesisSpec{Orgs: []identity.GenesisOrg{{ID: "org1", Validators: []cmtbytes.HexBytes{}}},
		Accounts:        []identity.GenesisAccount{{Org: "org1", Algo: crypto.Ed25519, PubKey: admin.PubKey().Bytes(), Roles: []string{"admin"}}},
		StartingCredits: testCredits})
	if _, err := a.InitChain(context.Background(), &abci.RequestInitChain{ChainId: chainID, AppStateBytes: gen, InitialHeight: 1}); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, app: a, admin: admin}
	h.block(h.tx(admin, 0, chainID, anchor("x")))
	hash := st.LastHash()
	st.Close()

	st2, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	a2, _ := New(st2)
	info, _ := a2.Info(context.Background(), &abci.RequestInfo{})
	if info.LastBlockHeight != 1 || string(info.LastBlockAppHash) != string(hash) || a2.ChainID() != chainID {
		t.Fatalf("info after restart: %+v chain %q", info, a2.ChainID())
	}
	h2 := &harness{t: t, app: a2, admin: admin, height: 1}
	if res := h2.check(h2.tx(admin, 1, chainID, anchor("y"))); res.Code != 0 {
		t.Fatalf("after restart: %s", res.Log)
	}
}

// A block of transactions this node never saw in CheckTx (as when catching up) is
// verified as a batch; a bad signature among them fails alone.
func TestBlockBatchVerification(t *testing.T) {
	h := newHarness(t)
	member, _ := crypto.GenPrivKey(crypto.Ed25519)
	if res := h.block(h.tx(h.admin, 0, chainID, register(t, member, identity.RoleMember), topUp(member, "ref-member"))); res[0].Code != 0 {
		t.Fatal(res[0].Log)
	}
	var list [][]byte
	for i := uint64(0); i < 12; i++ {
		list = append(list, h.tx(member, i, chainID, anchor(fmt.Sprint("batch-doc-", i))))
	}
	bad := append([]byte{}, list[5]...)
	bad[len(bad)-2] ^= 0x01 // inside the signature
	list[5] = bad
	res := h.block(list...)
	for i, r := range res {
		switch {
		case i == 5 && errcode.Code(r.Code) != errcode.InvalidSignature:
			t.Fatalf("tx 5: code %d %s, want invalid_signature", r.Code, r.Log)
		case i > 5 && errcode.Code(r.Code) != errcode.BadNonce:
			t.Fatalf("tx %d after the gap: code %d %s, want bad_nonce", i, r.Code, r.Log)
		case i < 5 && r.Code != 0:
			t.Fatalf("tx %d: %s", i, r.Log)
		}
	}
	if len(h.app.known.m) != 0 {
		t.Fatalf("%d verified entries left behind after the block", len(h.app.known.m))
	}
}
