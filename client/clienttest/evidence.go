// Package clienttest builds test data for code that uses package client: evidence records
// with real proofs (an IAVL store, and a header whose app hash is the store's root, signed
// by test validators), as the gateway serves them with ?prove=true.
//
// It is for tests only: its validators' keys are generated in memory and thrown away.
package clienttest

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cometbft/cometbft/crypto/ed25519"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmtversion "github.com/cometbft/cometbft/proto/tendermint/version"
	"github.com/cometbft/cometbft/types"
	cmtver "github.com/cometbft/cometbft/version"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/modules"
	"github.com/lianchain/lian/modules/attest"
	"github.com/lianchain/lian/modules/evidence"
	"github.com/lianchain/lian/store"
)

// Options tunes NewEvidence. Zero values give a valid proof on chain "beijing-1" signed
// by all of 4 validators of power 10.
type Options struct {
	// ChainID is the chain the header and votes are for (default "beijing-1").
	ChainID string
	// HeightOffset is the header's height minus the proof's (default 1, the right one).
	HeightOffset int64
	// Validators is the size of the validator set (default 4).
	Validators int
	// Signers is how many validators sign the commit (default all).
	Signers int
	// Mislabel stores the record of Other under the key of Digest.
	Mislabel bool
	// AttestedBy, if set, also stores that chain's answer about Digest (found, with its
	// record) as the attest module does, proven in Att.
	AttestedBy string
	// JSONRecords stores the records as JSON, as the chain did before its binary form.
	JSONRecords bool
}

// Evidence is a proven evidence record and everything used to build its proof. Tests may
// change the header, commit or validators and call Resign or Encode to update Ev.
type Evidence struct {
	ChainID string
	// Digest and Other are two anchored digests; Ev and OtherEv their proven records.
	Digest, Other []byte
	Ev, OtherEv   *api.Evidence
	// Att is the proven attestation of Digest by Options.AttestedBy (nil without it).
	Att    *api.XAttestation
	Vals   *types.ValidatorSet
	PVs    map[string]types.MockPV // by validator address
	Header *types.Header
	Commit *types.Commit
}

// DigestOf returns the SHA-256 of s.
func DigestOf(s string) []byte { d := sha256.Sum256([]byte(s)); return d[:] }

// Key returns the full store key of a digest's record.
func Key(digest []byte) []byte {
	return append(modules.Prefix(evidence.Name), evidence.Key(digest)...)
}

func record(digest []byte, height int64) *evidence.Record {
	sub, _ := crypto.ParseAddress("0x00112233445566778899aabbccddeeff00112233")
	return &evidence.Record{
		Digest: digest, HashAlgo: evidence.HashSHA256, Kind: evidence.KindDocument,
		Label: "contract <v2> & annex", Metadata: []evidence.Entry{{Key: "case", Value: "42"}},
		Submitter: sub, Org: "court-1", Height: height, Time: "2025-01-02T03:04:05Z",
		TxHash: strings.Repeat("AB", 32),
	}
}

// Record returns the record the evidence module would store for digest (its binary
// stored form; evidence.RecordJSON shows it as clients see it).
func Record(digest []byte, height int64) []byte {
	b, err := record(digest, height).Marshal()
	if err != nil {
		panic(err) // a fixed, valid record
	}
	return b
}

// JSONRecord returns the record of digest as JSON, the form the chain stored before the
// binary one.
func JSONRecord(digest []byte, height int64) []byte {
	b, err := json.Marshal(record(digest, height))
	if err != nil {
		panic(err) // a plain struct always encodes
	}
	return b
}

// AttestationKey returns the full store key of source's answer about digest.
func AttestationKey(source string, digest []byte) []byte {
	return append(modules.Prefix(attest.Name), attest.AttestationKey(source, digest)...)
}

// AttestationRecord returns the JSON the attest module would store for source's answer
// "found" about digest.
func AttestationRecord(source string, digest []byte) []byte {
	rec := record(digest, 7)
	b, err := json.Marshal(&attest.Attestation{ChainID: source, Digest: digest, Found: true, Record: rec, ProofHeight: 8,
		Route: "attest-" + source, Sequence: 1, Requester: rec.Submitter, Height: 2, Time: "2025-01-02T03:04:05Z"})
	if err != nil {
		panic(err)
	}
	return b
}

// NewEvidence builds two anchored records in a fresh in-memory store, proves them at the
// store's last version H, and signs a header of height H+1 carrying the store's root.
func NewEvidence(o Options) (*Evidence, error) {
	if o.ChainID == "" {
		o.ChainID = "beijing-1"
	}
	if o.HeightOffset == 0 {
		o.HeightOffset = 1
	}
	if o.Validators == 0 {
		o.Validators = 4
	}
	if o.Signers == 0 {
		o.Signers = o.Validators
	}
	f := &Evidence{ChainID: o.ChainID, Digest: DigestOf("document A"), Other: DigestOf("document B")}

	// State: unrelated keys, two records, three versions.
	s, err := store.OpenMemory()
	if err != nil {
		return nil, err
	}
	defer s.Close()
	for i := 0; i < 40; i++ {
		s.Set([]byte{'i', 'd', 'e', 'n', 't', 'i', 't', 'y', '/', byte(i)}, []byte("account"))
	}
	if _, _, err := s.Commit(); err != nil {
		return nil, err
	}
	rec := Record
	if o.JSONRecords {
		rec = JSONRecord
	}
	if o.Mislabel {
		s.Set(Key(f.Digest), rec(f.Other, 2))
	} else {
		s.Set(Key(f.Digest), rec(f.Digest, 2))
	}
	s.Set(Key(f.Other), rec(f.Other, 2))
	if o.AttestedBy != "" {
		s.Set(AttestationKey(o.AttestedBy, f.Digest), AttestationRecord(o.AttestedBy, f.Digest))
	}
	if _, _, err := s.Commit(); err != nil {
		return nil, err
	}
	s.Set([]byte("identity/later"), []byte("x"))
	root, version, err := s.Commit()
	if err != nil {
		return nil, err
	}
	prove := func(digest []byte) (*api.Evidence, error) {
		value, proof, err := s.Prove(Key(digest), version)
		if err != nil {
			return nil, err
		}
		if value == nil {
			return nil, errors.New("record not found")
		}
		bz, err := store.EncodeProof(proof)
		if err != nil {
			return nil, err
		}
		shown, err := evidence.RecordJSON(value)
		if err != nil {
			return nil, err
		}
		return &api.Evidence{Record: shown, Height: version, Proof: &api.Proof{
			Height: version, Key: Key(digest), Value: value, ProofType: store.ProofOpType, Proof: bz,
		}}, nil
	}
	if f.Ev, err = prove(f.Digest); err != nil {
		return nil, err
	}
	if f.OtherEv, err = prove(f.Other); err != nil {
		return nil, err
	}
	if o.AttestedBy != "" {
		k := AttestationKey(o.AttestedBy, f.Digest)
		value, proof, err := s.Prove(k, version)
		if err != nil {
			return nil, err
		}
		bz, err := store.EncodeProof(proof)
		if err != nil {
			return nil, err
		}
		f.Att = &api.XAttestation{Attestation: value, Height: version, Proof: &api.Proof{
			Height: version, Key: k, Value: value, ProofType: store.ProofOpType, Proof: bz}}
	}

	// Validators and the header of block H+1.
	f.PVs = map[string]types.MockPV{}
	var vs []*types.Validator
	for i := 0; i < o.Validators; i++ {
		pv := types.NewMockPV()
		pub, _ := pv.GetPubKey()
		f.PVs[string(pub.Address())] = pv
		vs = append(vs, types.NewValidator(pub, 10))
	}
	f.Vals = types.NewValidatorSet(vs)
	f.Header = &types.Header{
		Version:            cmtversion.Consensus{Block: cmtver.BlockProtocol, App: 1},
		ChainID:            o.ChainID,
		Height:             version + o.HeightOffset,
		Time:               time.Date(2025, 1, 2, 3, 4, 6, 0, time.UTC),
		LastBlockID:        types.BlockID{Hash: DigestOf("last"), PartSetHeader: types.PartSetHeader{Total: 1, Hash: DigestOf("parts")}},
		LastCommitHash:     DigestOf("lc"),
		DataHash:           DigestOf("data"),
		ValidatorsHash:     f.Vals.Hash(),
		NextValidatorsHash: f.Vals.Hash(),
		ConsensusHash:      DigestOf("cons"),
		AppHash:            root,
		LastResultsHash:    DigestOf("results"),
		EvidenceHash:       DigestOf("evidence"),
		ProposerAddress:    f.Vals.Proposer.Address,
	}
	if err := f.Resign(o.ChainID, o.Signers); err != nil {
		return nil, err
	}
	return f, nil
}

// NewPV returns a fresh mock validator key (e.g. to forge signatures with).
func NewPV() types.MockPV { return types.MockPV{PrivKey: ed25519.GenPrivKey()} }

// Resign rebuilds the commit of the (possibly modified) header, with precommits of the
// first n validators of the set signed for chain, and re-encodes the proofs.
func (f *Evidence) Resign(chain string, n int) error {
	blockID := types.BlockID{Hash: f.Header.Hash(), PartSetHeader: types.PartSetHeader{Total: 1, Hash: DigestOf("parts")}}
	ts := f.Header.Time.Add(time.Second)
	sigs := make([]types.CommitSig, f.Vals.Size())
	for i, v := range f.Vals.Validators {
		if i >= n {
			sigs[i] = types.NewCommitSigAbsent()
			continue
		}
		vote := &types.Vote{
			Type: cmtproto.PrecommitType, Height: f.Header.Height, Round: 0, BlockID: blockID,
			Timestamp: ts, ValidatorAddress: v.Address, ValidatorIndex: int32(i),
		}
		pb := vote.ToProto()
		pv, ok := f.PVs[string(v.Address)]
		if !ok {
			return fmt.Errorf("no key for validator %X", []byte(v.Address))
		}
		if err := pv.SignVote(chain, pb); err != nil {
			return err
		}
		sigs[i] = types.CommitSig{BlockIDFlag: types.BlockIDFlagCommit, ValidatorAddress: v.Address, Timestamp: ts, Signature: pb.Signature}
	}
	f.Commit = &types.Commit{Height: f.Header.Height, Round: 0, BlockID: blockID, Signatures: sigs}
	return f.Encode()
}

// Encode stores the current header, commit and validator set, cmtjson-encoded, in the
// proofs of Ev and OtherEv.
func (f *Evidence) Encode() error {
	sh, err := cmtjson.Marshal(types.SignedHeader{Header: f.Header, Commit: f.Commit})
	if err != nil {
		return err
	}
	vs, err := cmtjson.Marshal(f.Vals)
	if err != nil {
		return err
	}
	for _, ev := range []*api.Evidence{f.Ev, f.OtherEv} {
		ev.Proof.SignedHeader, ev.Proof.ValidatorSet = sh, vs
	}
	if f.Att != nil {
		f.Att.Proof.SignedHeader, f.Att.Proof.ValidatorSet = sh, vs
	}
	return nil
}
