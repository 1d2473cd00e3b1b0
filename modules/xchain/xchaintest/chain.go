// Package xchaintest makes signed headers of a counterparty chain for tests of light
// clients and packets: a validator set with in-memory keys that signs any header it is
// asked to, including conflicting ones (to test misbehaviour).
package xchaintest

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/cometbft/cometbft/crypto/ed25519"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmtversion "github.com/cometbft/cometbft/proto/tendermint/version"
	"github.com/cometbft/cometbft/types"
	"github.com/cometbft/cometbft/version"
)

// Validators is a validator set whose private keys the test holds.
type Validators struct {
	Set  *types.ValidatorSet
	keys map[string]ed25519.PrivKey // by address
}

// NewValidators makes n validators of power 10 from deterministic seeds (seed names the set).
func NewValidators(seed string, n int) *Validators {
	v := &Validators{keys: map[string]ed25519.PrivKey{}}
	list := make([]*types.Validator, n)
	for i := 0; i < n; i++ {
		s := sha256.Sum256([]byte(fmt.Sprintf("%s/%d", seed, i)))
		k := ed25519.GenPrivKeyFromSecret(s[:])
		v.keys[string(k.PubKey().Address())] = k
		list[i] = types.NewValidator(k.PubKey(), 10)
	}
	v.Set = types.NewValidatorSet(list)
	return v
}

// Header describes a header to sign; zero fields get defaults.
type Header struct {
	ChainID string
	Height  int64
	Time    time.Time
	AppHash []byte
	// Next is the next validator set (default: the signing set).
	Next *types.ValidatorSet
	// DataHash varies the block hash (to make two different blocks at one height).
	DataHash []byte
	// Signers are the indexes (in the set's order) of the validators that sign; nil: all.
	Signers []int
}

// Sign returns h signed by the validators.
func (v *Validators) Sign(h Header) *types.SignedHeader {
	next := h.Next
	if next == nil {
		next = v.Set
	}
	dh := h.DataHash
	if dh == nil {
		dh = sha256.New().Sum(nil)
	}
	hh := sha256.Sum256([]byte("filler"))
	header := &types.Header{
		Version:            cmtversion.Consensus{Block: version.BlockProtocol},
		ChainID:            h.ChainID,
		Height:             h.Height,
		Time:               h.Time,
		LastBlockID:        types.BlockID{Hash: hh[:], PartSetHeader: types.PartSetHeader{Total: 1, Hash: hh[:]}},
		LastCommitHash:     hh[:],
		DataHash:           dh,
		ValidatorsHash:     v.Set.Hash(),
		NextValidatorsHash: next.Hash(),
		ConsensusHash:      hh[:],
		AppHash:            h.AppHash,
		LastResultsHash:    hh[:],
		EvidenceHash:       sha256.New().Sum(nil),
		ProposerAddress:    v.Set.Validators[0].Address,
	}
	blockID := types.BlockID{Hash: header.Hash(), PartSetHeader: types.PartSetHeader{Total: 1, Hash: hh[:]}}
	sigs := make([]types.CommitSig, len(v.Set.Validators))
	signs := map[int]bool{}
	for _, i := range h.Signers {
		signs[i] = true
	}
	for i, val := range v.Set.Validators {
		if h.Signers != nil && !signs[i] {
			sigs[i] = types.NewCommitSigAbsent()
			continue
		}
		vote := &types.Vote{Type: cmtproto.PrecommitType, Height: h.Height, Round: 0, BlockID: blockID,
			Timestamp: h.Time, ValidatorAddress: val.Address, ValidatorIndex: int32(i)}
		pv := vote.ToProto()
		sig, err := v.keys[string(val.Address)].Sign(types.VoteSignBytes(h.ChainID, pv))
		if err != nil {
			panic(err)
		}
		sigs[i] = types.CommitSig{BlockIDFlag: types.BlockIDFlagCommit, ValidatorAddress: val.Address, Timestamp: h.Time, Signature: sig}
	}
	return &types.SignedHeader{Header: header, Commit: &types.Commit{Height: h.Height, Round: 0, BlockID: blockID, Signatures: sigs}}
}

// Same reports whether two validator sets are the same (by hash).
func Same(a, b *types.ValidatorSet) bool { return bytes.Equal(a.Hash(), b.Hash()) }

// Extension describes the vote extensions of a signed header's commit.
type Extension struct {
	// Ext is what every validator that signed the commit extends.
	Ext []byte
	// Override gives some validators (by index in the set) another extension (an
	// empty one is an empty extension, signed as CometBFT signs it).
	Override map[int][]byte
	// ChainID signs the extensions for another chain id (default: the header's).
	ChainID string
	// Round signs the extensions for another round (default: the commit's).
	Round *int32
	// Forge, if set, replaces the extension signature of these validators (by index)
	// with a signature by another key.
	Forge []int
}

// Extend returns the extended commit of sh (signed by these validators) with the
// validators' vote extensions e.
func (v *Validators) Extend(sh *types.SignedHeader, e Extension) *types.ExtendedCommit {
	chainID := e.ChainID
	if chainID == "" {
		chainID = sh.ChainID
	}
	round := sh.Commit.Round
	if e.Round != nil {
		round = *e.Round
	}
	forged := map[int]bool{}
	for _, i := range e.Forge {
		forged[i] = true
	}
	ec := &types.ExtendedCommit{Height: sh.Height, Round: sh.Commit.Round, BlockID: sh.Commit.BlockID}
	for i, cs := range sh.Commit.Signatures {
		ecs := types.ExtendedCommitSig{CommitSig: cs}
		if cs.BlockIDFlag == types.BlockIDFlagCommit {
			ext := e.Ext
			if o, ok := e.Override[i]; ok {
				ext = o
			}
			vote := &types.Vote{Type: cmtproto.PrecommitType, Height: sh.Height, Round: round, BlockID: sh.Commit.BlockID, Extension: ext}
			key := v.keys[string(cs.ValidatorAddress)]
			if forged[i] {
				s := sha256.Sum256([]byte(fmt.Sprintf("forger/%d", i)))
				key = ed25519.GenPrivKeyFromSecret(s[:])
			}
			sig, err := key.Sign(types.VoteExtensionSignBytes(chainID, vote.ToProto()))
			if err != nil {
				panic(err)
			}
			ecs.Extension, ecs.ExtensionSignature = ext, sig
		}
		ec.ExtendedSignatures = append(ec.ExtendedSignatures, ecs)
	}
	return ec
}
