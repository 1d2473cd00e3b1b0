package xchain

import (
	"bytes"
	"fmt"

	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmttypes "github.com/cometbft/cometbft/types"
)

// A state extension is what each validator of a Lian chain adds to its precommit for a
// block (a CometBFT vote extension): the app hash after that block, which the validator
// computed by executing the block before it precommitted. The commit of block h then
// carries, next to the signatures on the block, the validators' signatures on the state
// after h: a client of the chain can prove packets of block h without waiting for header
// h+1, the first header that holds that app hash.
//
// Its encoding is one version byte (1) followed by the 32-byte app hash. An empty
// extension says nothing (a validator that could not execute the block).
const (
	stateExtensionVersion = 1
	// StateExtensionLen is the length of a state extension.
	StateExtensionLen = 1 + 32
)

// StateExtension returns the vote extension that attests appHash (32 bytes).
func StateExtension(appHash []byte) []byte {
	out := make([]byte, 0, StateExtensionLen)
	out = append(out, stateExtensionVersion)
	return append(out, appHash...)
}

// ParseStateExtension returns the app hash a state extension attests, or an error if ext
// is not one (empty included).
func ParseStateExtension(ext []byte) ([]byte, error) {
	if len(ext) != StateExtensionLen {
		return nil, fmt.Errorf("state extension is %d bytes, want %d (version byte and a 32-byte app hash)", len(ext), StateExtensionLen)
	}
	if ext[0] != stateExtensionVersion {
		return nil, fmt.Errorf("state extension version %d, want %d", ext[0], stateExtensionVersion)
	}
	return ext[1:], nil
}

// QueryExtendedCommit is the ABCI query path at which a Lian node serves a block's
// extended commit (the query's height; 0: the last committed), protobuf-encoded:
// CometBFT's RPC serves none.
const QueryExtendedCommit = "/xchain/extended_commit"

// DecodeExtendedCommit parses an extended commit (tendermint.types.ExtendedCommit, as a
// header carries it and QueryExtendedCommit answers) and checks its basic validity. A
// panic inside CometBFT's decoder on hostile bytes becomes an error.
func DecodeExtendedCommit(b []byte) (ec *cmttypes.ExtendedCommit, err error) {
	defer func() {
		if r := recover(); r != nil {
			ec, err = nil, fmt.Errorf("malformed extended_commit: %v", r)
		}
	}()
	var p cmtproto.ExtendedCommit
	if err := p.Unmarshal(b); err != nil {
		return nil, fmt.Errorf("extended_commit: %w", err)
	}
	if ec, err = cmttypes.ExtendedCommitFromProto(&p); err != nil {
		return nil, fmt.Errorf("extended_commit: %w", err)
	}
	if err := ec.EnsureExtensions(true); err != nil {
		return nil, fmt.Errorf("extended_commit: %w", err)
	}
	return ec, nil
}

// verifyStateAttestation checks that validators holding more than 2/3 of the voting
// power of vals, the validator set of header sh, signed one state extension in their
// precommits for sh's block (the extended commit ec), and returns the app hash it
// attests: the counterparty's state after block sh.Height.
//
// Why 2/3 of the set of the block is enough: an honest validator extends only its
// precommit for a block it executed, and with less than 1/3 of the power faulty, more
// than 1/3 of honest power precommitting a block at a height means no other block can
// be decided there (the same argument that makes CometBFT's commits safe). So the hash
// is that of the decided block's state, if the chain's execution is deterministic; a
// header h+1 whose app hash differs from it freezes the client.
//
// With verifySigs false (a mempool recheck of a transaction verified when admitted)
// the extension signatures are not checked again.
func verifyStateAttestation(chainID string, sh *cmttypes.SignedHeader, vals *cmttypes.ValidatorSet, ec *cmttypes.ExtendedCommit, verifySigs bool) ([]byte, error) {
	if ec.Height != sh.Height {
		return nil, fmt.Errorf("extended commit is for height %d, header %d", ec.Height, sh.Height)
	}
	if !bytes.Equal(ec.BlockID.Hash, sh.Hash()) || !ec.BlockID.Equals(sh.Commit.BlockID) {
		return nil, fmt.Errorf("extended commit is for block %v, header %d's commit for %v", ec.BlockID, sh.Height, sh.Commit.BlockID)
	}
	if !bytes.Equal(vals.Hash(), sh.ValidatorsHash) {
		return nil, fmt.Errorf("validators hash %X is not header %d's validators hash %X", vals.Hash(), sh.Height, []byte(sh.ValidatorsHash))
	}
	if len(ec.ExtendedSignatures) != vals.Size() {
		return nil, fmt.Errorf("extended commit has %d signatures, the validator set %d validators", len(ec.ExtendedSignatures), vals.Size())
	}
	total := vals.TotalVotingPower()
	// At most one hash can pass 2/3 of the power: tally in index order and stop there.
	var roots [][]byte
	var power []int64
	for i, s := range ec.ExtendedSignatures {
		if s.BlockIDFlag != cmttypes.BlockIDFlagCommit || len(s.Extension) == 0 {
			continue
		}
		val := vals.Validators[i]
		if !bytes.Equal(s.ValidatorAddress, val.Address) {
			return nil, fmt.Errorf("extended commit signature %d is by %X, validator %d is %X", i, []byte(s.ValidatorAddress), i, []byte(val.Address))
		}
		root, err := ParseStateExtension(s.Extension)
		if err != nil {
			return nil, fmt.Errorf("validator %X: %w", []byte(val.Address), err)
		}
		vote := ec.GetExtendedVote(int32(i))
		if vote.BlockID.IsZero() {
			return nil, fmt.Errorf("validator %X: extension on a nil precommit", []byte(val.Address))
		}
		if verifySigs {
			if err := vote.VerifyExtension(chainID, val.PubKey); err != nil {
				return nil, fmt.Errorf("validator %X: extension signature: %w", []byte(val.Address), err)
			}
		}
		j := 0
		for j < len(roots) && !bytes.Equal(roots[j], root) {
			j++
		}
		if j == len(roots) {
			roots, power = append(roots, root), append(power, 0)
		}
		power[j] += val.VotingPower
		if power[j]*3 > total*2 {
			return root, nil
		}
	}
	var most int64
	for _, p := range power {
		most = max(most, p)
	}
	return nil, fmt.Errorf("no state extension is signed by more than 2/3 of the voting power (the most: %d of %d)", most, total)
}
