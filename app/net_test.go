package app

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtbytes "github.com/cometbft/cometbft/libs/bytes"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules"
	"github.com/lianchain/lian/modules/credits"
	"github.com/lianchain/lian/modules/gov"
	"github.com/lianchain/lian/modules/identity"
	"github.com/lianchain/lian/store"
	"github.com/lianchain/lian/txs"
)

// testNet is a chain of orgs org1…orgN, each running one validator and with one admin
// (org1's is also the operator), plus a regulator account in orgN; it tracks nonces
// and the block time.
type testNet struct {
	t         *testing.T
	app       *App
	height    int64
	now       time.Time
	admins    []crypto.PrivKey // admins[i] administers org i+1
	regulator crypto.PrivKey
	valKeys   [][]byte
	nonces    map[crypto.Address]uint64
	last      *abci.ResponseFinalizeBlock
	chainID   string
	// params are the consensus parameters, updated after each block as CometBFT does:
	// a block whose update CometBFT would refuse (halting the chain) fails the test.
	params cmttypes.ConsensusParams
	dir    string // the state's directory, if not in memory
	// hashes and times are each committed height's app hash and block time.
	hashes map[int64][]byte
	times  map[int64]time.Time
}

// votingPeriod is the gov voting period of a testNet.
const votingPeriod = 60 * time.Second

func newTestNet(t *testing.T, orgs int) *testNet {
	t.Helper()
	return newTestChain(t, orgs, chainID)
}

// newTestChain is newTestNet with a chain id.
func newTestChain(t *testing.T, orgs int, chainID string) *testNet {
	t.Helper()
	return newTestChainParams(t, orgs, chainID, *cmttypes.DefaultConsensusParams(), "")
}

// newTestChainParams is newTestChain with the genesis consensus parameters, and its
// state in dir ("": in memory; a chain in a directory can restart).
func newTestChainParams(t *testing.T, orgs int, chainID string, params cmttypes.ConsensusParams, dir string) *testNet {
	t.Helper()
	a := newMemApp(t)
	if dir != "" {
		st, err := store.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		if a, err = New(st); err != nil {
			t.Fatal(err)
		}
	}
	n := &testNet{t: t, app: a, now: time.Unix(1_700_000_000, 0).UTC(), nonces: map[crypto.Address]uint64{},
		chainID: chainID, hashes: map[int64][]byte{}, times: map[int64]time.Time{}, params: params, dir: dir}
	var gOrgs []identity.GenesisOrg
	var accts []identity.GenesisAccount
	var vals []abci.ValidatorUpdate
	for i := 1; i <= orgs; i++ {
		admin, err := crypto.GenPrivKey(crypto.Ed25519)
		if err != nil {
			t.Fatal(err)
		}
		n.admins = append(n.admins, admin)
		pub := valKey(fmt.Sprint("validator-", i))
		n.valKeys = append(n.valKeys, pub)
		vals = append(vals, abci.UpdateValidator(pub, 10, "ed25519"))
		gOrgs = append(gOrgs, identity.GenesisOrg{ID: fmt.Sprintf("org%d", i), Name: fmt.Sprintf("Org %d", i), Validators: []cmtbytes.HexBytes{pub}})
		roles := []string{identity.RoleAdmin}
		if i == 1 {
			roles = append(roles, identity.RoleOperator)
		}
		accts = append(accts, identity.GenesisAccount{Org: gOrgs[i-1].ID, Algo: crypto.Ed25519, PubKey: admin.PubKey().Bytes(), Roles: roles})
	}
	// The regulator account belongs to the last org, so the active orgs are exactly
	// org1…orgN.
	n.regulator, _ = crypto.GenPrivKey(crypto.Ed25519)
	accts = append(accts, identity.GenesisAccount{Org: gOrgs[orgs-1].ID, Algo: crypto.Ed25519, PubKey: n.regulator.PubKey().Bytes(),
		Roles: []string{identity.RoleRegulator}})
	gp := gov.DefaultParams()
	gp.VotingPeriod = uint64(votingPeriod / time.Second)
	gen, err := BuildGenesis(GenesisSpec{Orgs: gOrgs, Accounts: accts, StartingCredits: testCredits, Gov: &gp})
	if err != nil {
		t.Fatal(err)
	}
	cp := params.ToProto()
	if _, err := a.InitChain(context.Background(), &abci.RequestInitChain{ChainId: chainID, AppStateBytes: gen,
		InitialHeight: 1, Time: n.now, Validators: vals, ConsensusParams: &cp}); err != nil {
		t.Fatal(err)
	}
	n.block()
	return n
}

// restart closes the chain's state (in a directory) and opens it in a new App, as a
// node does on a restart: no InitChain, and the genesis consensus parameters handed
// over as node.Start does.
func (n *testNet) restart(genesis *cmttypes.ConsensusParams) {
	n.t.Helper()
	if n.dir == "" {
		n.t.Fatal("restart: the chain's state is in memory")
	}
	n.app.store.Close()
	st, err := store.Open(n.dir)
	if err != nil {
		n.t.Fatal(err)
	}
	n.t.Cleanup(func() { st.Close() })
	if n.app, err = New(st); err != nil {
		n.t.Fatal(err)
	}
	n.app.SetGenesisConsensusParams(genesis)
}

// valKey returns a deterministic ed25519 consensus key.
func valKey(seed string) []byte {
	s := sha256.Sum256([]byte(seed))
	return ed25519.NewKeyFromSeed(s[:]).Public().(ed25519.PublicKey)
}

// sign builds a tx from key with its next nonce (counted as used).
func (n *testNet) sign(key crypto.PrivKey, msgs ...txs.Msg) []byte {
	n.t.Helper()
	addr := key.PubKey().Address()
	body := txs.NewBody(n.chainID, n.nonces[addr], msgs...)
	body.Sender = addr
	n.nonces[addr]++
	tx, err := txs.Sign(body, key)
	if err != nil {
		n.t.Fatal(err)
	}
	return tx.Marshal()
}

// block executes and commits a block one second after the previous one.
func (n *testNet) block(list ...[]byte) []*abci.ExecTxResult {
	return n.blockAfter(time.Second, list...)
}

func (n *testNet) blockAfter(d time.Duration, list ...[]byte) []*abci.ExecTxResult {
	n.t.Helper()
	n.height++
	n.now = n.now.Add(d)
	res := commitBlock(n.t, n.app, &abci.RequestFinalizeBlock{Height: n.height, Time: n.now, Txs: list})
	n.last = res
	if u := res.ConsensusParamUpdates; u != nil {
		// What CometBFT's state.updateState does with the update; an error halts the chain.
		next := n.params.Update(u)
		if err := next.ValidateBasic(); err != nil {
			n.t.Fatalf("block %d: consensus would halt on the parameter update %v: %v", n.height, u, err)
		}
		if err := n.params.ValidateUpdate(u, n.height); err != nil {
			n.t.Fatalf("block %d: consensus would halt on the parameter update %v: %v", n.height, u, err)
		}
		n.params = next
	}
	n.hashes[n.height], n.times[n.height] = n.app.store.LastHash(), n.now
	return res.TxResults
}

// commitBlock finalizes and commits a block on a and checks every invariant after it.
func commitBlock(t testing.TB, a *App, req *abci.RequestFinalizeBlock) *abci.ResponseFinalizeBlock {
	t.Helper()
	res, err := a.FinalizeBlock(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Commit(context.Background(), &abci.RequestCommit{}); err != nil {
		t.Fatal(err)
	}
	if err := a.CheckInvariants(); err != nil {
		t.Fatalf("after block %d: %v", req.Height, err)
	}
	return res
}

// exec sends msgs from key in a block of their own and returns the result; the tx must
// pass CheckTx.
func (n *testNet) exec(key crypto.PrivKey, msgs ...txs.Msg) *abci.ExecTxResult {
	n.t.Helper()
	tx := n.sign(key, msgs...)
	if res, err := n.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: tx}); err != nil || res.Code != 0 {
		n.t.Fatalf("CheckTx: %v %s", err, res.Log)
	}
	return n.block(tx)[0]
}

// mustExec is exec that requires success.
func (n *testNet) mustExec(key crypto.PrivKey, msgs ...txs.Msg) *abci.ExecTxResult {
	n.t.Helper()
	res := n.exec(key, msgs...)
	if res.Code != 0 {
		n.t.Fatalf("tx failed: %s", res.Log)
	}
	return res
}

// refused requires CheckTx to refuse a tx from key with the code; the nonce is not used.
func (n *testNet) refused(code errcode.Code, key crypto.PrivKey, msgs ...txs.Msg) {
	n.t.Helper()
	tx := n.sign(key, msgs...)
	n.nonces[key.PubKey().Address()]--
	res, err := n.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: tx})
	if err != nil {
		n.t.Fatal(err)
	}
	if errcode.Code(res.Code) != code {
		n.t.Fatalf("CheckTx code %s (%s), want %s", errcode.Code(res.Code), res.Log, code)
	}
}

// failsInBlock requires a tx from key to fail with the code when executed.
func (n *testNet) failsInBlock(code errcode.Code, key crypto.PrivKey, msgs ...txs.Msg) {
	n.t.Helper()
	res := n.block(n.sign(key, msgs...))[0]
	if errcode.Code(res.Code) != code {
		n.t.Fatalf("code %s (%s), want %s", errcode.Code(res.Code), res.Log, code)
	}
}

func (n *testNet) query(path string, data []byte) []byte {
	n.t.Helper()
	res, err := n.app.Query(context.Background(), &abci.RequestQuery{Path: path, Data: data})
	if err != nil || res.Code != 0 {
		n.t.Fatalf("query %s: %v %s", path, err, res.Log)
	}
	return res.Value
}

func (n *testNet) proposal(id uint64) *gov.Proposal {
	n.t.Helper()
	var p gov.Proposal
	if err := json.Unmarshal(n.query("/gov/proposal", []byte(fmt.Sprint(id))), &p); err != nil {
		n.t.Fatal(err)
	}
	return &p
}

func (n *testNet) balance(h credits.Holder) uint64 {
	n.t.Helper()
	return credits.Balance(store.Prefixed(n.app.store, modules.Prefix(credits.Name)), h)
}

func (n *testNet) account(addr crypto.Address) *identity.Account {
	n.t.Helper()
	a, err := identity.GetAccount(store.Prefixed(n.app.store, modules.Prefix(identity.Name)), addr)
	if err != nil {
		n.t.Fatal(err)
	}
	return a
}

// member registers a fresh ed25519 account with roles in the org of admins[org-1],
// topped up with fen (0: no top-up).
func (n *testNet) member(org int, fen uint64, roles ...string) crypto.PrivKey {
	n.t.Helper()
	k, _ := crypto.GenPrivKey(crypto.Ed25519)
	if len(roles) == 0 {
		roles = []string{identity.RoleMember}
	}
	n.mustExec(n.admins[org-1], register(n.t, k, roles...))
	if fen > 0 {
		n.topUp(k.PubKey().Address(), fen)
	}
	return k
}

var refSeq int

// topUp credits an account through org1's admin, the operator.
func (n *testNet) topUp(addr crypto.Address, fen uint64) {
	n.t.Helper()
	refSeq++
	n.mustExec(n.admins[0], &credits.MsgTopUp{Account: &addr, Currency: "CNY", Amount: fen,
		PaymentRef: fmt.Sprintf("pay-%d", refSeq), PayerName: "Test Payer"})
}

// propose submits a proposal from org's admin and returns its id.
func (n *testNet) propose(org int, kind string, content any) uint64 {
	n.t.Helper()
	b, err := json.Marshal(content)
	if err != nil {
		n.t.Fatal(err)
	}
	res := n.mustExec(n.admins[org-1], &gov.MsgSubmitProposal{Kind: kind, Content: b, Title: "test " + kind})
	for _, ev := range res.Events {
		if ev.Type == gov.EventSubmitted {
			for _, a := range ev.Attributes {
				if a.Key == "proposal" {
					var id uint64
					fmt.Sscan(a.Value, &id)
					return id
				}
			}
		}
	}
	n.t.Fatal("no proposal id in the events")
	return 0
}

// vote casts org's vote.
func (n *testNet) vote(org int, id uint64, option string) *abci.ExecTxResult {
	n.t.Helper()
	return n.mustExec(n.admins[org-1], &gov.MsgVote{ProposalID: id, Option: option})
}

// passed votes yes with the first `yes` orgs.
func (n *testNet) pass(id uint64, yes int) {
	n.t.Helper()
	for i := 1; i <= yes; i++ {
		n.vote(i, id, gov.VoteYes)
	}
	if p := n.proposal(id); p.Status != gov.StatusExecuted {
		n.t.Fatalf("proposal %d is %s (%s), want executed", id, p.Status, p.Error)
	}
}

func u64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

// TestInitChainRefusesInconsistentValidators: the validators the organisations list and
// the consensus validators must match both ways (the invariants run on the genesis state).
func TestInitChainRefusesInconsistentValidators(t *testing.T) {
	v1, v2, v3 := valKey("g-1"), valKey("g-2"), valKey("g-3")
	admin, _ := crypto.GenPrivKey(crypto.Ed25519)
	acct := []identity.GenesisAccount{{Org: "org1", Algo: crypto.Ed25519, PubKey: admin.PubKey().Bytes(), Roles: []string{identity.RoleAdmin}}}
	for name, c := range map[string]struct {
		orgs []identity.GenesisOrg
		vals [][]byte
		ok   bool
	}{
		"consistent": {[]identity.GenesisOrg{{ID: "org1", Name: "1", Validators: []cmtbytes.HexBytes{v1}}, {ID: "org2", Name: "2", Validators: []cmtbytes.HexBytes{v2}}},
			[][]byte{v1, v2}, true},
		"consensus validator no org runs": {[]identity.GenesisOrg{{ID: "org1", Name: "1", Validators: []cmtbytes.HexBytes{v1}}},
			[][]byte{v1, v2}, false},
		"org lists a key that is not a validator": {[]identity.GenesisOrg{{ID: "org1", Name: "1", Validators: []cmtbytes.HexBytes{v1, v3}}},
			[][]byte{v1}, false},
		"two orgs list one key": {[]identity.GenesisOrg{{ID: "org1", Name: "1", Validators: []cmtbytes.HexBytes{v1}}, {ID: "org2", Name: "2", Validators: []cmtbytes.HexBytes{v1}}},
			[][]byte{v1}, false},
	} {
		a := newMemApp(t)
		gen, err := BuildGenesis(GenesisSpec{Orgs: c.orgs, Accounts: acct})
		if err != nil {
			t.Fatal(err)
		}
		var vals []abci.ValidatorUpdate
		for _, k := range c.vals {
			vals = append(vals, abci.UpdateValidator(k, 10, "ed25519"))
		}
		_, err = a.InitChain(context.Background(), &abci.RequestInitChain{ChainId: chainID, AppStateBytes: gen, InitialHeight: 1,
			Time: time.Unix(1_700_000_000, 0), Validators: vals})
		if (err == nil) != c.ok {
			t.Errorf("%s: InitChain error %v, want ok=%v", name, err, c.ok)
		} else if err != nil {
			t.Logf("%s: %v", name, err)
		}
	}
}
