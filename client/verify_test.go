package client

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/crypto/ed25519"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmtversion "github.com/cometbft/cometbft/proto/tendermint/version"
	"github.com/cometbft/cometbft/types"
	cmtver "github.com/cometbft/cometbft/version"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/app"
	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/modules"
	"github.com/lianchain/lian/modules/evidence"
	"github.com/lianchain/lian/store"
)

const testChain = "beijing-1"

// fixture is a proven evidence record: a real IAVL store, a header whose app hash is the
// store's root, signed by a set of test validators.
type fixture struct {
	digest  []byte
	other   []byte // a second anchored digest
	ev      *api.Evidence
	otherEv *api.Evidence
	vals    *types.ValidatorSet
	pvs     map[string]types.MockPV // by validator address
	header  *types.Header
	commit  *types.Commit
}

type fixOpts struct {
	signChain    string // chain id of the header and votes (default testChain)
	heightOffset int64  // header height - proof height (default 1)
	signers      int    // validators that sign (default all 4)
	validators   int    // size of the set (default 4)
	mislabel     bool   // store the other digest's record under the first digest's key
}

func digestOf(s string) []byte { d := sha256.Sum256([]byte(s)); return d[:] }

func recordJSON(t *testing.T, digest []byte, height int64) []byte {
	t.Helper()
	sub, err := crypto.ParseAddress("0x00112233445566778899aabbccddeeff00112233")
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(&evidence.Record{
		Digest: digest, HashAlgo: evidence.HashSHA256, Kind: evidence.KindDocument,
		Label: "contract <v2> & annex", Metadata: []evidence.Entry{{Key: "case", Value: "42"}},
		Submitter: sub, Org: "court-1", Height: height, Time: "2025-01-02T03:04:05Z",
		TxHash: strings.Repeat("AB", 32),
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func evKey(digest []byte) []byte {
	return append(modules.Prefix(evidence.Name), evidence.Key(digest)...)
}

func newFixture(t *testing.T, o fixOpts) *fixture {
	t.Helper()
	if o.signChain == "" {
		o.signChain = testChain
	}
	if o.heightOffset == 0 {
		o.heightOffset = 1
	}
	if o.validators == 0 {
		o.validators = 4
	}
	if o.signers == 0 {
		o.signers = o.validators
	}
	f := &fixture{digest: digestOf("document A"), other: digestOf("document B")}

	// State: some unrelated keys, two records, three versions.
	s, err := store.OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	for i := 0; i < 40; i++ {
		s.Set([]byte{'i', 'd', 'e', 'n', 't', 'i', 't', 'y', '/', byte(i)}, []byte("account"))
	}
	if _, _, err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	if o.mislabel {
		s.Set(evKey(f.digest), recordJSON(t, f.other, 2))
	} else {
		s.Set(evKey(f.digest), recordJSON(t, f.digest, 2))
	}
	s.Set(evKey(f.other), recordJSON(t, f.other, 2))
	if _, _, err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	s.Set([]byte("identity/later"), []byte("x"))
	root, version, err := s.Commit()
	if err != nil {
		t.Fatal(err)
	}

	prove := func(digest []byte) *api.Evidence {
		value, proof, err := s.Prove(evKey(digest), version)
		if err != nil {
			t.Fatal(err)
		}
		bz, err := store.EncodeProof(proof)
		if err != nil {
			t.Fatal(err)
		}
		return &api.Evidence{Record: value, Height: version, Proof: &api.Proof{
			Height: version, Key: evKey(digest), Value: value, ProofType: app.ProofOpType, Proof: bz,
		}}
	}
	f.ev, f.otherEv = prove(f.digest), prove(f.other)

	// Validators, header, commit.
	f.pvs = map[string]types.MockPV{}
	var vs []*types.Validator
	for i := 0; i < o.validators; i++ {
		pv := types.NewMockPVWithParams(ed25519.GenPrivKey(), false, false)
		pub, _ := pv.GetPubKey()
		f.pvs[string(pub.Address())] = pv
		vs = append(vs, types.NewValidator(pub, 10))
	}
	f.vals = types.NewValidatorSet(vs)
	h32 := func(s string) []byte { d := sha256.Sum256([]byte(s)); return d[:] }
	f.header = &types.Header{
		Version:            cmtversion.Consensus{Block: cmtver.BlockProtocol, App: 1},
		ChainID:            o.signChain,
		Height:             f.ev.Proof.Height + o.heightOffset,
		Time:               time.Date(2025, 1, 2, 3, 4, 6, 0, time.UTC),
		LastBlockID:        types.BlockID{Hash: h32("last"), PartSetHeader: types.PartSetHeader{Total: 1, Hash: h32("parts")}},
		LastCommitHash:     h32("lc"),
		DataHash:           h32("data"),
		ValidatorsHash:     f.vals.Hash(),
		NextValidatorsHash: f.vals.Hash(),
		ConsensusHash:      h32("cons"),
		AppHash:            root,
		LastResultsHash:    h32("results"),
		EvidenceHash:       h32("evidence"),
		ProposerAddress:    f.vals.Proposer.Address,
	}
	f.resign(t, o.signChain, o.signers)
	return f
}

// resign builds the commit of the (possibly modified) header, signed by the first n
// validators of the set on chain, and stores signed header and validator set in both
// evidence documents.
func (f *fixture) resign(t *testing.T, chain string, n int) {
	t.Helper()
	blockID := types.BlockID{Hash: f.header.Hash(), PartSetHeader: types.PartSetHeader{Total: 1, Hash: digestOf("parts")}}
	ts := f.header.Time.Add(time.Second)
	sigs := make([]types.CommitSig, f.vals.Size())
	for i, v := range f.vals.Validators {
		if i >= n {
			sigs[i] = types.NewCommitSigAbsent()
			continue
		}
		vote := &types.Vote{
			Type: cmtproto.PrecommitType, Height: f.header.Height, Round: 0, BlockID: blockID,
			Timestamp: ts, ValidatorAddress: v.Address, ValidatorIndex: int32(i),
		}
		pb := vote.ToProto()
		if err := f.pvs[string(v.Address)].SignVote(chain, pb); err != nil {
			t.Fatal(err)
		}
		sigs[i] = types.CommitSig{BlockIDFlag: types.BlockIDFlagCommit, ValidatorAddress: v.Address, Timestamp: ts, Signature: pb.Signature}
	}
	f.commit = &types.Commit{Height: f.header.Height, Round: 0, BlockID: blockID, Signatures: sigs}
	f.store(t)
}

// store encodes the current header, commit and validator set into the documents.
func (f *fixture) store(t *testing.T) {
	t.Helper()
	sh, err := cmtjson.Marshal(types.SignedHeader{Header: f.header, Commit: f.commit})
	if err != nil {
		t.Fatal(err)
	}
	vs, err := cmtjson.Marshal(f.vals)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range []*api.Evidence{f.ev, f.otherEv} {
		ev.Proof.SignedHeader, ev.Proof.ValidatorSet = sh, vs
	}
}

func TestVerifyEvidenceOK(t *testing.T) {
	f := newFixture(t, fixOpts{})
	v, err := VerifyEvidence(testChain, f.digest, f.ev)
	if err != nil {
		t.Fatalf("VerifyEvidence: %v", err)
	}
	if v.Height != f.ev.Proof.Height || v.HeaderHeight != v.Height+1 {
		t.Errorf("heights %d/%d, proof at %d", v.Height, v.HeaderHeight, f.ev.Proof.Height)
	}
	if v.Signers != 4 || v.ValidatorCount != 4 || v.SignedPower != 40 || v.TotalPower != 40 {
		t.Errorf("summary %+v", v)
	}
	if !bytes.Equal(v.AppHash, f.header.AppHash) || !bytes.Equal(v.ValidatorsHash, f.vals.Hash()) {
		t.Errorf("app hash %X / validators hash %X", v.AppHash, v.ValidatorsHash)
	}
	if v.ValidatorsTrusted {
		t.Error("validators reported trusted without a trusted hash")
	}
	if v.Record == nil || !bytes.Equal(v.Record.Digest, f.digest) || v.Record.Org != "court-1" {
		t.Errorf("record %+v", v.Record)
	}
	if _, err := json.Marshal(v); err != nil {
		t.Errorf("marshal summary: %v", err)
	}

	// The other record verifies with its own digest.
	if _, err := VerifyEvidence(testChain, f.other, f.otherEv); err != nil {
		t.Errorf("other record: %v", err)
	}

	// Pinned validator set.
	v, err = VerifyEvidenceWithOptions(testChain, f.digest, f.ev, VerifyOptions{TrustedValidatorsHash: f.vals.Hash()})
	if err != nil || !v.ValidatorsTrusted {
		t.Errorf("trusted set: %v, %+v", err, v)
	}
}

func TestVerifyEvidenceThreeOfFour(t *testing.T) {
	f := newFixture(t, fixOpts{signers: 3})
	v, err := VerifyEvidence(testChain, f.digest, f.ev)
	if err != nil {
		t.Fatalf("3 of 4 signatures: %v", err)
	}
	if v.Signers != 3 || v.SignedPower != 30 || v.TotalPower != 40 {
		t.Errorf("summary %+v", v)
	}
}

// TestVerifyEvidenceIndentedRecord: a gateway that indents its JSON answer changes the
// whitespace of the record shown, not its content.
func TestVerifyEvidenceIndentedRecord(t *testing.T) {
	f := newFixture(t, fixOpts{})
	doc, err := json.MarshalIndent(f.ev, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	var ev api.Evidence
	if err := json.Unmarshal(doc, &ev); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(ev.Record, ev.Proof.Value) {
		t.Fatal("test setup: the indented record should differ in bytes")
	}
	if _, err := VerifyEvidence(testChain, f.digest, &ev); err != nil {
		t.Fatalf("indented record: %v", err)
	}
}

func expectFail(t *testing.T, what string, chain string, digest []byte, ev *api.Evidence, want string) {
	t.Helper()
	v, err := VerifyEvidence(chain, digest, ev)
	if err == nil {
		t.Fatalf("%s: verified (%+v), expected an error", what, v)
	}
	t.Logf("%s: %v", what, err)
	if v != nil {
		t.Errorf("%s: summary returned with error", what)
	}
	if want != "" && !strings.Contains(err.Error(), want) {
		t.Errorf("%s: error %q does not mention %q", what, err, want)
	}
}

func TestVerifyEvidenceTamperedValue(t *testing.T) {
	f := newFixture(t, fixOpts{})
	// Record and value changed together: the proof no longer matches the root.
	forged := bytes.Replace(f.ev.Proof.Value, []byte("court-1"), []byte("court-2"), 1)
	f.ev.Proof.Value, f.ev.Record = forged, forged
	expectFail(t, "tampered value", testChain, f.digest, f.ev, "verify membership")

	// Record shown differs from the proven value.
	f = newFixture(t, fixOpts{})
	f.ev.Record = bytes.Replace(f.ev.Record, []byte("court-1"), []byte("court-2"), 1)
	expectFail(t, "record differs from value", testChain, f.digest, f.ev, "not the proven value")

	// Same fields, another order: not the proven bytes.
	f = newFixture(t, fixOpts{})
	var m map[string]any
	if err := json.Unmarshal(f.ev.Record, &m); err != nil {
		t.Fatal(err)
	}
	f.ev.Record, _ = json.Marshal(m) // keys sorted
	expectFail(t, "reordered record", testChain, f.digest, f.ev, "not the proven value")
}

func TestVerifyEvidenceTamperedProof(t *testing.T) {
	f := newFixture(t, fixOpts{})
	orig := append([]byte(nil), f.ev.Proof.Proof...)
	for i := 0; i < len(orig); i++ {
		f.ev.Proof.Proof = append([]byte(nil), orig...)
		f.ev.Proof.Proof[i] ^= 0x01
		if _, err := VerifyEvidence(testChain, f.digest, f.ev); err == nil {
			// A flip in a protobuf field the verifier ignores (none expected) would be
			// harmless; anything that still verifies must prove the same value.
			t.Errorf("proof with byte %d flipped still verifies", i)
		}
	}
	f.ev.Proof.Proof = orig[:len(orig)/2]
	expectFail(t, "truncated proof", testChain, f.digest, f.ev, "")
	f.ev.Proof.Proof = nil
	expectFail(t, "no proof bytes", testChain, f.digest, f.ev, "empty proof")
}

func TestVerifyEvidenceOtherKey(t *testing.T) {
	// The whole answer for another digest.
	f := newFixture(t, fixOpts{})
	expectFail(t, "answer for another digest", testChain, f.digest, f.otherEv, "not for the digest's key")

	// The right key, record and value, with the proof of another key (same root).
	f = newFixture(t, fixOpts{})
	f.ev.Proof.Proof = f.otherEv.Proof.Proof
	expectFail(t, "proof of another key", testChain, f.digest, f.ev, "verify membership")

	// The right key claimed with another key's proof and value.
	f = newFixture(t, fixOpts{})
	ev := f.otherEv
	ev.Proof.Key = evKey(f.digest)
	expectFail(t, "value of another key", testChain, f.digest, ev, "")

	// A record whose own digest differs, proven under the digest's key.
	f = newFixture(t, fixOpts{mislabel: true})
	expectFail(t, "record of another digest", testChain, f.digest, f.ev, "proven record is for digest")

	// Key outside the evidence module.
	f = newFixture(t, fixOpts{})
	f.ev.Proof.Key = append([]byte("identity/"), evidence.Key(f.digest)...)
	expectFail(t, "key of another module", testChain, f.digest, f.ev, "not for the digest's key")
}

func TestVerifyEvidenceOtherChain(t *testing.T) {
	// A header of another chain, signed for that chain.
	f := newFixture(t, fixOpts{signChain: "guangzhou-1"})
	expectFail(t, "header of another chain", testChain, f.digest, f.ev, "another chain")

	// Header claims our chain, votes were signed for another chain id.
	f = newFixture(t, fixOpts{})
	f.resign(t, "guangzhou-1", 4)
	expectFail(t, "votes for another chain", testChain, f.digest, f.ev, "signature")
}

func TestVerifyEvidenceValidatorSetMismatch(t *testing.T) {
	// Another set entirely.
	f := newFixture(t, fixOpts{})
	g := newFixture(t, fixOpts{})
	f.ev.Proof.ValidatorSet = g.ev.Proof.ValidatorSet
	expectFail(t, "another validator set", testChain, f.digest, f.ev, "validator set hashes to")

	// Same keys, another voting power.
	f = newFixture(t, fixOpts{})
	vs := f.vals.Copy()
	vs.Validators[0].VotingPower = 100
	f.ev.Proof.ValidatorSet, _ = cmtjson.Marshal(vs)
	expectFail(t, "changed voting power", testChain, f.digest, f.ev, "validator set hashes to")

	// A set signed by its own validators but not the trusted one.
	f = newFixture(t, fixOpts{})
	_, err := VerifyEvidenceWithOptions(testChain, f.digest, f.ev, VerifyOptions{TrustedValidatorsHash: digestOf("genesis set")})
	if err == nil || !strings.Contains(err.Error(), "trusted set") {
		t.Errorf("untrusted set: %v", err)
	}
}

func TestVerifyEvidenceNotEnoughSignatures(t *testing.T) {
	f := newFixture(t, fixOpts{signers: 2})
	expectFail(t, "2 of 4 signatures", testChain, f.digest, f.ev, "voting power")

	f = newFixture(t, fixOpts{signers: 1})
	expectFail(t, "1 of 4 signatures", testChain, f.digest, f.ev, "")

	// Four signatures, one of them by a key outside the set.
	f = newFixture(t, fixOpts{})
	intruder := types.NewMockPV()
	addr := f.vals.Validators[3].Address
	f.pvs[string(addr)] = intruder
	f.resign(t, testChain, 4)
	expectFail(t, "forged signature", testChain, f.digest, f.ev, "signature")

	// Signatures present but flagged nil (votes for no block) do not count.
	f = newFixture(t, fixOpts{})
	for i := 2; i < 4; i++ {
		f.commit.Signatures[i].BlockIDFlag = types.BlockIDFlagNil
	}
	f.store(t)
	expectFail(t, "nil votes", testChain, f.digest, f.ev, "")
}

func TestVerifyEvidenceWrongHeight(t *testing.T) {
	f := newFixture(t, fixOpts{heightOffset: 2})
	expectFail(t, "header at proof height+2", testChain, f.digest, f.ev, "needs the header of")

	f = newFixture(t, fixOpts{})
	f.header.Height = f.ev.Proof.Height // header of the proof height itself
	f.resign(t, testChain, 4)
	expectFail(t, "header at proof height", testChain, f.digest, f.ev, "needs the header of")

	// The record claimed read at another height than the proof's.
	f = newFixture(t, fixOpts{})
	f.ev.Height++
	expectFail(t, "record height differs from proof height", testChain, f.digest, f.ev, "proven at height")
}

func TestVerifyEvidenceOversized(t *testing.T) {
	f := newFixture(t, fixOpts{})
	f.ev.Proof.Proof = make([]byte, store.MaxProofBytes+1)
	expectFail(t, "oversized proof", testChain, f.digest, f.ev, "at most")

	f = newFixture(t, fixOpts{})
	f.ev.Proof.SignedHeader = append(f.ev.Proof.SignedHeader, bytes.Repeat([]byte(" "), MaxSignedHeaderBytes)...)
	expectFail(t, "oversized header", testChain, f.digest, f.ev, "at most")

	f = newFixture(t, fixOpts{})
	f.ev.Proof.ValidatorSet = bytes.Repeat([]byte(" "), MaxValidatorSetBytes+1)
	expectFail(t, "oversized validator set", testChain, f.digest, f.ev, "at most")
}

func TestVerifyEvidenceMalformed(t *testing.T) {
	f := newFixture(t, fixOpts{})
	cases := map[string]func(ev *api.Evidence){
		"no proof":          func(ev *api.Evidence) { ev.Proof = nil },
		"wrong proof type":  func(ev *api.Evidence) { ev.Proof.ProofType = "iavl:v" },
		"garbage header":    func(ev *api.Evidence) { ev.Proof.SignedHeader = []byte(`{"header":7}`) },
		"no header":         func(ev *api.Evidence) { ev.Proof.SignedHeader = nil },
		"null header":       func(ev *api.Evidence) { ev.Proof.SignedHeader = []byte(`null`) },
		"garbage valset":    func(ev *api.Evidence) { ev.Proof.ValidatorSet = []byte(`[1,2]`) },
		"empty valset":      func(ev *api.Evidence) { ev.Proof.ValidatorSet = []byte(`{"validators":[],"proposer":null}`) },
		"no value":          func(ev *api.Evidence) { ev.Proof.Value, ev.Record = nil, nil },
		"zero height":       func(ev *api.Evidence) { ev.Proof.Height, ev.Height = 0, 0 },
		"negative height":   func(ev *api.Evidence) { ev.Proof.Height, ev.Height = -1, -1 },
		"record not JSON":   func(ev *api.Evidence) { ev.Proof.Value, ev.Record = []byte("xx"), []byte("xx") },
		"garbage proof pb":  func(ev *api.Evidence) { ev.Proof.Proof = bytes.Repeat([]byte{0xff}, 100) },
		"commit of no sigs": func(ev *api.Evidence) {},
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			g := *f.ev
			p := *f.ev.Proof
			g.Proof = &p
			mutate(&g)
			if name == "commit of no sigs" {
				c := *f.commit
				c.Signatures = nil
				g.Proof.SignedHeader, _ = cmtjson.Marshal(types.SignedHeader{Header: f.header, Commit: &c})
			}
			if _, err := VerifyEvidence(testChain, f.digest, &g); err == nil {
				t.Fatal("verified")
			}
		})
	}
	if _, err := VerifyEvidence(testChain, f.digest[:31], f.ev); err == nil {
		t.Error("short digest verified")
	}
	if _, err := VerifyEvidence("", f.digest, f.ev); err == nil {
		t.Error("empty chain id verified")
	}
	if _, err := VerifyEvidence(testChain, f.digest, nil); err == nil {
		t.Error("nil evidence verified")
	}
}

func TestVerifyEvidenceHostileValidatorSet(t *testing.T) {
	// Voting powers that overflow CometBFT's bound must be refused, not panic.
	f := newFixture(t, fixOpts{})
	vs := f.vals.Copy()
	for _, v := range vs.Validators {
		v.VotingPower = types.MaxTotalVotingPower
	}
	vs.Proposer = vs.Validators[0]
	f.ev.Proof.ValidatorSet, _ = cmtjson.Marshal(vs)
	expectFail(t, "overflowing power", testChain, f.digest, f.ev, "exceeds")

	// A validator listed twice.
	f = newFixture(t, fixOpts{})
	vs = f.vals.Copy()
	vs.Validators[1] = vs.Validators[0].Copy()
	f.ev.Proof.ValidatorSet, _ = cmtjson.Marshal(vs)
	expectFail(t, "duplicate validator", testChain, f.digest, f.ev, "twice")

	// A validator whose address is not its key's.
	f = newFixture(t, fixOpts{})
	vs = f.vals.Copy()
	vs.Validators[0].Address = vs.Validators[1].Address
	f.ev.Proof.ValidatorSet, _ = cmtjson.Marshal(vs)
	expectFail(t, "address not derived from key", testChain, f.digest, f.ev, "")
}
