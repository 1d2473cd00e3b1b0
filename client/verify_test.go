package client

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/types"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/client/clienttest"
	"github.com/lianchain/lian/modules/evidence"
	"github.com/lianchain/lian/store"
)

const testChain = "beijing-1"

// The fixture is clienttest's: a real store, proof and signed header.
type fixOpts = clienttest.Options

type fixture struct{ *clienttest.Evidence }

func newFixture(t *testing.T, o fixOpts) *fixture {
	t.Helper()
	e, err := clienttest.NewEvidence(o)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{e}
}

func (f *fixture) resign(t *testing.T, chain string, n int) {
	t.Helper()
	if err := f.Resign(chain, n); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) store(t *testing.T) {
	t.Helper()
	if err := f.Encode(); err != nil {
		t.Fatal(err)
	}
}

var (
	digestOf = clienttest.DigestOf
	evKey    = clienttest.Key
)

func TestVerifyEvidenceOK(t *testing.T) {
	f := newFixture(t, fixOpts{})
	v, err := VerifyEvidence(testChain, f.Digest, f.Ev)
	if err != nil {
		t.Fatalf("VerifyEvidence: %v", err)
	}
	if v.Height != f.Ev.Proof.Height || v.HeaderHeight != v.Height+1 {
		t.Errorf("heights %d/%d, proof at %d", v.Height, v.HeaderHeight, f.Ev.Proof.Height)
	}
	if v.Signers != 4 || v.ValidatorCount != 4 || v.SignedPower != 40 || v.TotalPower != 40 {
		t.Errorf("summary %+v", v)
	}
	if !bytes.Equal(v.AppHash, f.Header.AppHash) || !bytes.Equal(v.ValidatorsHash, f.Vals.Hash()) {
		t.Errorf("app hash %X / validators hash %X", v.AppHash, v.ValidatorsHash)
	}
	if v.ValidatorsTrusted {
		t.Error("validators reported trusted without a trusted hash")
	}
	if v.Record == nil || !bytes.Equal(v.Record.Digest, f.Digest) || v.Record.Org != "court-1" {
		t.Errorf("record %+v", v.Record)
	}
	if _, err := json.Marshal(v); err != nil {
		t.Errorf("marshal summary: %v", err)
	}

	// The other record verifies with its own digest.
	if _, err := VerifyEvidence(testChain, f.Other, f.OtherEv); err != nil {
		t.Errorf("other record: %v", err)
	}

	// Pinned validator set.
	v, err = VerifyEvidenceWithOptions(testChain, f.Digest, f.Ev, VerifyOptions{TrustedValidatorsHash: f.Vals.Hash()})
	if err != nil || !v.ValidatorsTrusted {
		t.Errorf("trusted set: %v, %+v", err, v)
	}
}

func TestVerifyEvidenceThreeOfFour(t *testing.T) {
	f := newFixture(t, fixOpts{Signers: 3})
	v, err := VerifyEvidence(testChain, f.Digest, f.Ev)
	if err != nil {
		t.Fatalf("3 of 4 signatures: %v", err)
	}
	if v.Signers != 3 || v.SignedPower != 30 || v.TotalPower != 40 {
		t.Errorf("summary %+v", v)
	}
}

// TestVerifyEvidenceJSONRecord: records the chain stored as JSON, before its binary
// form, still verify, and tampering with them is still caught.
func TestVerifyEvidenceJSONRecord(t *testing.T) {
	f := newFixture(t, fixOpts{JSONRecords: true})
	if !bytes.Equal(f.Ev.Record, f.Ev.Proof.Value) {
		t.Fatal("test setup: a JSON record is shown as stored")
	}
	v, err := VerifyEvidence(testChain, f.Digest, f.Ev)
	if err != nil {
		t.Fatalf("JSON record: %v", err)
	}
	if v.Record.Org != "court-1" || !bytes.Equal(v.Record.Digest, f.Digest) {
		t.Errorf("record %+v", v.Record)
	}
	f.Ev.Record = bytes.Replace(f.Ev.Record, []byte("court-1"), []byte("court-2"), 1)
	expectFail(t, "JSON record differs from value", testChain, f.Digest, f.Ev, "not the proven value")
}

// TestVerifyEvidenceIndentedRecord: a gateway that indents its JSON answer changes the
// whitespace of the record shown, not its content.
func TestVerifyEvidenceIndentedRecord(t *testing.T) {
	f := newFixture(t, fixOpts{})
	doc, err := json.MarshalIndent(f.Ev, "", "  ")
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
	if _, err := VerifyEvidence(testChain, f.Digest, &ev); err != nil {
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
	forged := bytes.Replace(f.Ev.Proof.Value, []byte("court-1"), []byte("court-2"), 1)
	forgedJSON, err := evidence.RecordJSON(forged)
	if err != nil {
		t.Fatal(err)
	}
	f.Ev.Proof.Value, f.Ev.Record = forged, forgedJSON
	expectFail(t, "tampered value", testChain, f.Digest, f.Ev, "verify membership")

	// The stored (binary) value shown as the record: the record must be its JSON.
	f = newFixture(t, fixOpts{})
	f.Ev.Record = f.Ev.Proof.Value
	expectFail(t, "binary record shown", testChain, f.Digest, f.Ev, "not the proven value")

	// Record shown differs from the proven value.
	f = newFixture(t, fixOpts{})
	f.Ev.Record = bytes.Replace(f.Ev.Record, []byte("court-1"), []byte("court-2"), 1)
	expectFail(t, "record differs from value", testChain, f.Digest, f.Ev, "not the proven value")

	// Same fields, another order: not the proven bytes.
	f = newFixture(t, fixOpts{})
	var m map[string]any
	if err := json.Unmarshal(f.Ev.Record, &m); err != nil {
		t.Fatal(err)
	}
	f.Ev.Record, _ = json.Marshal(m) // keys sorted
	expectFail(t, "reordered record", testChain, f.Digest, f.Ev, "not the proven value")
}

func TestVerifyEvidenceTamperedProof(t *testing.T) {
	f := newFixture(t, fixOpts{})
	orig := append([]byte(nil), f.Ev.Proof.Proof...)
	for i := 0; i < len(orig); i++ {
		f.Ev.Proof.Proof = append([]byte(nil), orig...)
		f.Ev.Proof.Proof[i] ^= 0x01
		if _, err := VerifyEvidence(testChain, f.Digest, f.Ev); err == nil {
			// A flip in a protobuf field the verifier ignores (none expected) would be
			// harmless; anything that still verifies must prove the same value.
			t.Errorf("proof with byte %d flipped still verifies", i)
		}
	}
	f.Ev.Proof.Proof = orig[:len(orig)/2]
	expectFail(t, "truncated proof", testChain, f.Digest, f.Ev, "")
	f.Ev.Proof.Proof = nil
	expectFail(t, "no proof bytes", testChain, f.Digest, f.Ev, "empty proof")
}

func TestVerifyEvidenceOtherKey(t *testing.T) {
	// The whole answer for another digest.
	f := newFixture(t, fixOpts{})
	expectFail(t, "answer for another digest", testChain, f.Digest, f.OtherEv, "not for the digest's key")

	// The right key, record and value, with the proof of another key (same root).
	f = newFixture(t, fixOpts{})
	f.Ev.Proof.Proof = f.OtherEv.Proof.Proof
	expectFail(t, "proof of another key", testChain, f.Digest, f.Ev, "verify membership")

	// The right key claimed with another key's proof and value.
	f = newFixture(t, fixOpts{})
	ev := f.OtherEv
	ev.Proof.Key = evKey(f.Digest)
	expectFail(t, "value of another key", testChain, f.Digest, ev, "")

	// A record whose own digest differs, proven under the digest's key.
	f = newFixture(t, fixOpts{Mislabel: true})
	expectFail(t, "record of another digest", testChain, f.Digest, f.Ev, "proven record is for digest")

	// Key outside the evidence module.
	f = newFixture(t, fixOpts{})
	f.Ev.Proof.Key = append([]byte("identity/"), evidence.Key(f.Digest)...)
	expectFail(t, "key of another module", testChain, f.Digest, f.Ev, "not for the digest's key")
}

func TestVerifyEvidenceOtherChain(t *testing.T) {
	// A header of another chain, signed for that chain.
	f := newFixture(t, fixOpts{ChainID: "guangzhou-1"})
	expectFail(t, "header of another chain", testChain, f.Digest, f.Ev, "another chain")

	// Header claims our chain, votes were signed for another chain id.
	f = newFixture(t, fixOpts{})
	f.resign(t, "guangzhou-1", 4)
	expectFail(t, "votes for another chain", testChain, f.Digest, f.Ev, "signature")
}

func TestVerifyEvidenceValidatorSetMismatch(t *testing.T) {
	// Another set entirely.
	f := newFixture(t, fixOpts{})
	g := newFixture(t, fixOpts{})
	f.Ev.Proof.ValidatorSet = g.Ev.Proof.ValidatorSet
	expectFail(t, "another validator set", testChain, f.Digest, f.Ev, "validator set hashes to")

	// Same keys, another voting power.
	f = newFixture(t, fixOpts{})
	vs := f.Vals.Copy()
	vs.Validators[0].VotingPower = 100
	f.Ev.Proof.ValidatorSet, _ = cmtjson.Marshal(vs)
	expectFail(t, "changed voting power", testChain, f.Digest, f.Ev, "validator set hashes to")

	// A set signed by its own validators but not the trusted one.
	f = newFixture(t, fixOpts{})
	_, err := VerifyEvidenceWithOptions(testChain, f.Digest, f.Ev, VerifyOptions{TrustedValidatorsHash: digestOf("genesis set")})
	if err == nil || !strings.Contains(err.Error(), "trusted set") {
		t.Errorf("untrusted set: %v", err)
	}
}

func TestVerifyEvidenceNotEnoughSignatures(t *testing.T) {
	f := newFixture(t, fixOpts{Signers: 2})
	expectFail(t, "2 of 4 signatures", testChain, f.Digest, f.Ev, "voting power")

	f = newFixture(t, fixOpts{Signers: 1})
	expectFail(t, "1 of 4 signatures", testChain, f.Digest, f.Ev, "")

	// Four signatures, one of them by a key outside the set.
	f = newFixture(t, fixOpts{})
	intruder := types.NewMockPV()
	addr := f.Vals.Validators[3].Address
	f.PVs[string(addr)] = intruder
	f.resign(t, testChain, 4)
	expectFail(t, "forged signature", testChain, f.Digest, f.Ev, "signature")

	// Signatures present but flagged nil (votes for no block) do not count.
	f = newFixture(t, fixOpts{})
	for i := 2; i < 4; i++ {
		f.Commit.Signatures[i].BlockIDFlag = types.BlockIDFlagNil
	}
	f.store(t)
	expectFail(t, "nil votes", testChain, f.Digest, f.Ev, "")
}

func TestVerifyEvidenceWrongHeight(t *testing.T) {
	f := newFixture(t, fixOpts{HeightOffset: 2})
	expectFail(t, "header at proof height+2", testChain, f.Digest, f.Ev, "needs the header of")

	f = newFixture(t, fixOpts{})
	f.Header.Height = f.Ev.Proof.Height // header of the proof height itself
	f.resign(t, testChain, 4)
	expectFail(t, "header at proof height", testChain, f.Digest, f.Ev, "needs the header of")

	// The record claimed read at another height than the proof's.
	f = newFixture(t, fixOpts{})
	f.Ev.Height++
	expectFail(t, "record height differs from proof height", testChain, f.Digest, f.Ev, "proven at height")
}

func TestVerifyEvidenceOversized(t *testing.T) {
	f := newFixture(t, fixOpts{})
	f.Ev.Proof.Proof = make([]byte, store.MaxProofBytes+1)
	expectFail(t, "oversized proof", testChain, f.Digest, f.Ev, "at most")

	f = newFixture(t, fixOpts{})
	f.Ev.Proof.SignedHeader = append(f.Ev.Proof.SignedHeader, bytes.Repeat([]byte(" "), MaxSignedHeaderBytes)...)
	expectFail(t, "oversized header", testChain, f.Digest, f.Ev, "at most")

	f = newFixture(t, fixOpts{})
	f.Ev.Proof.ValidatorSet = bytes.Repeat([]byte(" "), MaxValidatorSetBytes+1)
	expectFail(t, "oversized validator set", testChain, f.Digest, f.Ev, "at most")
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
			g := *f.Ev
			p := *f.Ev.Proof
			g.Proof = &p
			mutate(&g)
			if name == "commit of no sigs" {
				c := *f.Commit
				c.Signatures = nil
				g.Proof.SignedHeader, _ = cmtjson.Marshal(types.SignedHeader{Header: f.Header, Commit: &c})
			}
			if _, err := VerifyEvidence(testChain, f.Digest, &g); err == nil {
				t.Fatal("verified")
			}
		})
	}
	if _, err := VerifyEvidence(testChain, f.Digest[:31], f.Ev); err == nil {
		t.Error("short digest verified")
	}
	if _, err := VerifyEvidence("", f.Digest, f.Ev); err == nil {
		t.Error("empty chain id verified")
	}
	if _, err := VerifyEvidence(testChain, f.Digest, nil); err == nil {
		t.Error("nil evidence verified")
	}
}

func TestVerifyEvidenceHostileValidatorSet(t *testing.T) {
	// Voting powers that overflow CometBFT's bound must be refused, not panic.
	f := newFixture(t, fixOpts{})
	vs := f.Vals.Copy()
	for _, v := range vs.Validators {
		v.VotingPower = types.MaxTotalVotingPower
	}
	vs.Proposer = vs.Validators[0]
	f.Ev.Proof.ValidatorSet, _ = cmtjson.Marshal(vs)
	expectFail(t, "overflowing power", testChain, f.Digest, f.Ev, "exceeds")

	// A validator listed twice.
	f = newFixture(t, fixOpts{})
	vs = f.Vals.Copy()
	vs.Validators[1] = vs.Validators[0].Copy()
	f.Ev.Proof.ValidatorSet, _ = cmtjson.Marshal(vs)
	expectFail(t, "duplicate validator", testChain, f.Digest, f.Ev, "twice")

	// A validator whose address is not its key's.
	f = newFixture(t, fixOpts{})
	vs = f.Vals.Copy()
	vs.Validators[0].Address = vs.Validators[1].Address
	f.Ev.Proof.ValidatorSet, _ = cmtjson.Marshal(vs)
	expectFail(t, "address not derived from key", testChain, f.Digest, f.Ev, "")

	// A key of the wrong size (CometBFT's ValidateBasic panics on it).
	f = newFixture(t, fixOpts{})
	f.Ev.Proof.ValidatorSet = []byte(`{"validators":[{"address":"","pub_key":{"type":"tendermint/PubKeyEd25519","value":"AAAA"},"voting_power":"10"}]}`)
	expectFail(t, "short key", testChain, f.Digest, f.Ev, "malformed")
}

// TestCheckValidatorSetNeverPanics: malformed keys are errors.
func TestCheckValidatorSetNeverPanics(t *testing.T) {
	for name, js := range map[string]string{
		"empty ed25519 key": `{"validators":[{"pub_key":{"type":"tendermint/PubKeyEd25519","value":""}}]}`,
		"short ed25519 key": `{"validators":[{"pub_key":{"type":"tendermint/PubKeyEd25519","value":"AAAA"},"voting_power":"10"}]}`,
		"no validators":     `{"validators":[]}`,
	} {
		var vs types.ValidatorSet
		if err := cmtjson.Unmarshal([]byte(js), &vs); err != nil {
			continue // refused by the decoder: fine too
		}
		if total, err := CheckValidatorSet(&vs); err == nil {
			t.Errorf("%s: accepted (total power %d)", name, total)
		}
	}
}

// TestVerifyAfterValidatorChange: a header signed by a new validator set is accepted
// when trusted validators with ≥ 1/3 of the trusted power signed it too, within the
// trusting period; otherwise refused.
func TestVerifyAfterValidatorChange(t *testing.T) {
	f, err := clienttest.NewEvidence(clienttest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	old := f.Vals.Copy()
	oldJSON, err := cmtjson.Marshal(old)
	if err != nil {
		t.Fatal(err)
	}
	trust := &Trust{ChainID: f.ChainID, ValidatorsHash: old.Hash(), Validators: oldJSON,
		Time: f.Header.Time.Add(-24 * time.Hour)}
	// change replaces the set by keep validators of the old one plus add new ones.
	change := func(keep, add int) {
		var vs []*types.Validator
		for _, v := range old.Validators[:keep] {
			vs = append(vs, types.NewValidator(v.PubKey, v.VotingPower))
		}
		for i := 0; i < add; i++ {
			pv := clienttest.NewPV()
			pub, _ := pv.GetPubKey()
			f.PVs[string(pub.Address())] = pv
			vs = append(vs, types.NewValidator(pub, 10))
		}
		f.Vals = types.NewValidatorSet(vs)
		f.Header.ValidatorsHash, f.Header.NextValidatorsHash = f.Vals.Hash(), f.Vals.Hash()
		f.Header.ProposerAddress = f.Vals.Proposer.Address
		if err := f.Resign(f.ChainID, f.Vals.Size()); err != nil {
			t.Fatal(err)
		}
	}
	opts := VerifyOptions{TrustedValidatorsHash: old.Hash(), Trust: trust}

	change(2, 1) // 20 of the trusted 40 signed: vouched for
	v, err := VerifyEvidenceWithOptions(f.ChainID, f.Digest, f.Ev, opts)
	if err != nil || !v.TrustAdvanced || !v.ValidatorsTrusted || v.NewTrust == nil ||
		!bytes.Equal(v.NewTrust.ValidatorsHash, f.Vals.Hash()) || v.NewTrust.Height != f.Header.Height {
		t.Fatalf("vouched header: %v %+v", err, v)
	}

	cases := []struct {
		name string
		keep int
		opts VerifyOptions
		want string
	}{
		{"a quarter of the trusted power", 1, opts, "1/3 of the trusted set"},
		{"no trusted set, only its hash", 2, VerifyOptions{TrustedValidatorsHash: old.Hash()}, "no validator set"},
		{"past the trusting period", 2, VerifyOptions{TrustedValidatorsHash: old.Hash(), Trust: trust, TrustingPeriod: time.Hour}, "trusting period"},
		{"trust file's set is not its hash", 2, VerifyOptions{Trust: trust}, "does not hash to the trusted hash"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			change(c.keep, 3)
			if c.name == "trust file's set is not its hash" {
				c.opts.TrustedValidatorsHash = clienttest.DigestOf("other")
			}
			_, err := VerifyEvidenceWithOptions(f.ChainID, f.Digest, f.Ev, c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
}
