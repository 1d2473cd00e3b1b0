package verifier

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/types"

	"github.com/lianchain/lian/client"
	"github.com/lianchain/lian/client/clienttest"
	"github.com/lianchain/lian/modules/evidence"
)

const chain = "beijing-1"

func fixture(t *testing.T, o clienttest.Options) (*clienttest.Evidence, string) {
	t.Helper()
	e, err := clienttest.NewEvidence(o)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(e.Ev)
	if err != nil {
		t.Fatal(err)
	}
	return e, string(b)
}

func decode(t *testing.T, s string) *Result {
	t.Helper()
	var r Result
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		t.Fatalf("result %q: %v", s, err)
	}
	return &r
}

func TestVerifyFirstUseThenPinned(t *testing.T) {
	e, ev := fixture(t, clienttest.Options{})
	digest := hex.EncodeToString(e.Digest)
	r := decode(t, Verify(chain, digest, ev, "", "http://127.0.0.1:8700"))
	if !r.OK || r.Verified == nil || r.Verified.Signers != 4 || r.Verified.ValidatorCount != 4 || r.Trusted != "unpinned" {
		t.Fatalf("first use: %+v", r)
	}
	if r.TrustCandidate == nil || r.TrustCandidate.ChainID != chain || !strings.Contains(r.TrustCandidate.Source, "http://127.0.0.1:8700") ||
		r.TrustCandidate.ValidatorsHash.String() != r.Verified.ValidatorsHash.String() {
		t.Fatalf("trust candidate: %+v", r.TrustCandidate)
	}
	if r.Verified.Record == nil || r.Verified.Record.Label == "" {
		t.Fatalf("record: %+v", r.Verified.Record)
	}
	trust, _ := json.Marshal(r.TrustCandidate)
	if _, err := ParseTrust(string(trust)); err != nil {
		t.Fatalf("the candidate does not parse as a trust: %v", err)
	}
	// Pinned: the same set verifies; another chain's trust is refused.
	r2 := decode(t, Verify(chain, strings.ToUpper(digest), ev, string(trust), "x"))
	if !r2.OK || r2.Trusted != "pinned" || r2.TrustCandidate != nil {
		t.Fatalf("pinned: %+v", r2)
	}
	if r3 := decode(t, Verify("guangzhou-1", digest, ev, string(trust), "x")); r3.OK || !strings.Contains(r3.Error, "trust is of chain") {
		t.Fatalf("trust of another chain: %+v", r3)
	}
}

func TestVerifyRefuses(t *testing.T) {
	e, ev := fixture(t, clienttest.Options{})
	digest := hex.EncodeToString(e.Digest)

	// A set other than the pinned one, which the pinned one does not vouch for.
	other, _ := fixture(t, clienttest.Options{})
	vs, err := cmtjson.Marshal(other.Vals)
	if err != nil {
		t.Fatal(err)
	}
	trust, _ := json.Marshal(&client.Trust{ChainID: chain, ValidatorsHash: other.Vals.Hash(), Validators: vs, Time: time.Now().Add(-time.Hour)})
	for name, tc := range map[string]struct{ digest, ev, trust, want string }{
		"other digest":       {hex.EncodeToString(e.Other), ev, "", "not for the digest"},
		"bad digest":         {"zz", ev, "", "digest"},
		"not JSON":           {digest, "{", "", "evidence"},
		"no proof":           {digest, `{"record":{},"height":1}`, "", "no proof"},
		"other validators":   {digest, ev, string(trust), "not by the trusted set"},
		"malformed trust":    {digest, ev, `{"chain_id":"beijing-1"}`, "validators_hash"},
		"trust set mismatch": {digest, ev, mismatched(t, string(trust)), "does not hash"},
		// CometBFT's ValidateBasic panics on this key; in the WebAssembly build an
		// unrecovered panic would end the verifier.
		"empty validator key": {digest, ev, `{"chain_id":"beijing-1","validators_hash":"` + strings.Repeat("00", 32) +
			`","validators":{"validators":[{"pub_key":{"type":"tendermint/PubKeyEd25519","value":""}}]}}`, "malformed"},
	} {
		r := decode(t, Verify(chain, tc.digest, tc.ev, tc.trust, "x"))
		if r.OK || !strings.Contains(r.Error, tc.want) {
			t.Errorf("%s: %+v, want an error containing %q", name, r, tc.want)
		}
	}
	// A record changed after it was proven.
	if r := decode(t, Verify(chain, digest, strings.Replace(ev, `contract`, `kontract`, 1), "", "x")); r.OK || r.Error == "" {
		t.Errorf("tampered record verified: %+v", r)
	}
	// Too few signatures.
	weak, wev := fixture(t, clienttest.Options{Signers: 2})
	if r := decode(t, Verify(chain, hex.EncodeToString(weak.Digest), wev, "", "x")); r.OK {
		t.Errorf("2 of 4 signatures verified: %+v", r)
	}
}

// mismatched returns trust with its validator set replaced by another one.
func mismatched(t *testing.T, trust string) string {
	t.Helper()
	var tr client.Trust
	if err := json.Unmarshal([]byte(trust), &tr); err != nil {
		t.Fatal(err)
	}
	e, _ := fixture(t, clienttest.Options{})
	vs, err := cmtjson.Marshal(e.Vals)
	if err != nil {
		t.Fatal(err)
	}
	tr.Validators = vs
	b, _ := json.Marshal(&tr)
	return string(b)
}

func TestVerifyInclusion(t *testing.T) {
	// A batch root anchored in the fixture's store is not available from clienttest, so
	// check the inclusion proof's own checks and that a document record is refused as a
	// batch.
	e, ev := fixture(t, clienttest.Options{})
	docs := [][]byte{clienttest.DigestOf("a"), clienttest.DigestOf("b"), clienttest.DigestOf("c")}
	_, proofs, err := client.NewBatch(evidence.HashSHA256, docs)
	if err != nil {
		t.Fatal(err)
	}
	p := proofs[1]
	pj, _ := json.Marshal(p)
	if _, err := ParseInclusion(string(pj)); err != nil {
		t.Fatalf("ParseInclusion: %v", err)
	}
	if _, err := ParseInclusion(`{"digest":"00"}`); err == nil {
		t.Error("ParseInclusion accepted a proof without a root")
	}
	// The root's evidence is a document record: not a batch.
	p.Root = e.Digest
	pj, _ = json.Marshal(p)
	if r := decode(t, VerifyInclusion(chain, string(pj), ev, "", "x")); r.OK {
		t.Errorf("inclusion against a document record: %+v", r)
	}
	// A proof that does not hold.
	p = proofs[1]
	p.Index = 2
	pj, _ = json.Marshal(p)
	if r := decode(t, VerifyInclusion(chain, string(pj), ev, "", "x")); r.OK || r.Inclusion == nil {
		t.Errorf("wrong index: %+v", r)
	}
}

func TestHasher(t *testing.T) {
	for algo, want := range map[string]string{
		// GB/T 32905-2016 example 1 and FIPS 180-2: "abc".
		"sm3":    "66C7F0F462EEEDD9D1F2D46BDC10E4E24167C4875CF2F7A2297DA02B8F4BA8E0",
		"sha256": "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
	} {
		h, err := NewHasher(algo)
		if err != nil {
			t.Fatal(err)
		}
		h.Write([]byte("a"))
		h.Write([]byte("bc"))
		if got := h.Sum(); got != want {
			t.Errorf("%s(abc) = %s, want %s", algo, got, want)
		}
	}
	if _, err := NewHasher("md5"); err == nil {
		t.Error("md5 accepted")
	}
}

func TestVerifyAttestation(t *testing.T) {
	e, err := clienttest.NewEvidence(clienttest.Options{AttestedBy: "guangzhou-1"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(e.Att)
	if err != nil {
		t.Fatal(err)
	}
	att := string(b)
	digest := hex.EncodeToString(e.Digest)
	r := decode(t, VerifyAttestation(chain, "guangzhou-1", digest, att, "", "http://127.0.0.1:8700"))
	if !r.OK || r.Attestation == nil || !r.Attestation.Found || r.Attestation.ChainID != "guangzhou-1" || r.Trusted != "unpinned" ||
		r.TrustCandidate == nil || r.Verified.Signers != 4 {
		t.Fatalf("attestation: %+v", r)
	}
	trust, _ := json.Marshal(r.TrustCandidate)
	if r := decode(t, VerifyAttestation(chain, "guangzhou-1", digest, att, string(trust), "x")); !r.OK || r.Trusted != "pinned" {
		t.Fatalf("pinned: %+v", r)
	}
	other, _ := json.Marshal(e.Ev) // an evidence document is no attestation
	for _, c := range []struct{ name, chain, source, digest, doc, want string }{
		{"another answering chain", chain, "shanghai-1", digest, att, "not for the attestation's key"},
		{"another digest", chain, "guangzhou-1", hex.EncodeToString(e.Other), att, "not for the attestation's key"},
		{"another chain", "guangzhou-1", "guangzhou-1", digest, att, "signed header"},
		{"not an attestation", chain, "guangzhou-1", digest, string(other), "proof"},
		{"not JSON", chain, "guangzhou-1", digest, "{", "attestation"},
		{"bad digest", chain, "guangzhou-1", "zz", att, "digest"},
	} {
		if r := decode(t, VerifyAttestation(c.chain, c.source, c.digest, c.doc, "", "x")); r.OK || !strings.Contains(r.Error, c.want) {
			t.Errorf("%s: %+v, want an error mentioning %q", c.name, r, c.want)
		}
	}
}

// FuzzParseInclusion checks that an accepted inclusion proof is re-encoded to one that reads back as itself.
func FuzzParseInclusion(f *testing.F) {
	_, proofs, err := client.NewBatch(evidence.HashSHA256, [][]byte{clienttest.DigestOf("a"), clienttest.DigestOf("b"), clienttest.DigestOf("c")})
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range proofs {
		pj, _ := json.Marshal(p)
		f.Add(string(pj))
	}
	for _, s := range []string{
		`{"digest":"00","root":"0x01","total":1}`, `{"digest":"00"}`, `{"digest":"zz","root":"01","total":1}`, `{"digest":"00","root":"01","total":-1,"aunts":[null,""]}`,
		`{"digest":"00","root":"01","total":1,"index":"1"}`, `null`, `[]`, `{`, ``, `{"document":"\ud800","digest":"AB","root":"CD","total":2,"height":-3}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := ParseInclusion(s)
		if err != nil {
			if out != "" {
				t.Fatalf("%q: %q with error %v", s, out, err)
			}
			return
		}
		var b client.BatchInclusion
		if err := json.Unmarshal([]byte(out), &b); err != nil || len(b.Digest) == 0 || len(b.Root) == 0 || b.Total == 0 {
			t.Fatalf("%q re-encoded as %q: %+v, %v", s, out, b, err)
		}
		if again, err := ParseInclusion(out); err != nil || again != out {
			t.Fatalf("%q re-encoded as %q, then as %q, %v", s, out, again, err)
		}
	})
}

// FuzzParseTrust checks that an accepted trust has a chain and a 32-byte validators hash its validator set hashes to, and is re-encoded to one that reads back as itself.
func FuzzParseTrust(f *testing.F) {
	e, err := clienttest.NewEvidence(clienttest.Options{Validators: 2})
	if err != nil {
		f.Fatal(err)
	}
	vs, err := cmtjson.Marshal(e.Vals)
	if err != nil {
		f.Fatal(err)
	}
	full, _ := json.Marshal(&client.Trust{ChainID: chain, ValidatorsHash: e.Vals.Hash(), Validators: vs, Height: 7, Time: time.Unix(1e9, 5).UTC(), Source: "seed"})
	hashOnly, _ := json.Marshal(&client.Trust{ChainID: chain, ValidatorsHash: e.Vals.Hash()})
	wrong, _ := json.Marshal(&client.Trust{ChainID: chain, ValidatorsHash: make([]byte, 32), Validators: vs})
	for _, s := range []string{
		string(full), string(hashOnly), string(wrong), `{"chain_id":"beijing-1"}`, `{"chain_id":"c","validators_hash":"` + strings.Repeat("AB", 32) + `","validators":null}`,
		`{"chain_id":"c","validators_hash":"` + strings.Repeat("AB", 32) + `","validators":{"validators":[]}}`,
		`{"chain_id":"c","validators_hash":"` + strings.Repeat("AB", 32) + `","validators":{"validators":[{}]}}`,
		`{"chain_id":"c","validators_hash":"` + strings.Repeat("AB", 32) + `","time":"2024-02-30T00:00:00+08:00"}`, `null`, `{`, ``,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := ParseTrust(s)
		if err != nil {
			if out != "" {
				t.Fatalf("%q: %q with error %v", s, out, err)
			}
			return
		}
		var tr client.Trust
		if err := json.Unmarshal([]byte(out), &tr); err != nil || tr.ChainID == "" || len(tr.ValidatorsHash) != 32 {
			t.Fatalf("%q re-encoded as %q: %+v, %v", s, out, tr, err)
		}
		if len(tr.Validators) > 0 {
			var set types.ValidatorSet
			if err := cmtjson.Unmarshal(tr.Validators, &set); err != nil || !bytes.Equal(set.Hash(), tr.ValidatorsHash) {
				t.Fatalf("%q: validator set of %q does not hash to its validators hash: %v", s, out, err)
			}
		}
		if again, err := ParseTrust(out); err != nil || again != out {
			t.Fatalf("%q re-encoded as %q, then as %q, %v", s, out, again, err)
		}
	})
}
