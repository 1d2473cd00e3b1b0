package xchain

import (
	"fmt"
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
