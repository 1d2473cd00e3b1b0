package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	cmtbytes "github.com/cometbft/cometbft/libs/bytes"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/types"
)

// Trust is what a client trusts about a chain without asking any gateway: the validator
// set that must sign the headers it accepts proofs against (its hash, and the set
// itself so that a later set can be reached from it), and the height and time it is
// trusted from. It starts from the chain's genesis, which an operator hands out with
// the node homes, and moves on as governance changes the validators (see
// VerifyOptions.Trust).
type Trust struct {
	ChainID        string            `json:"chain_id"`
	ValidatorsHash cmtbytes.HexBytes `json:"validators_hash"`
	// Validators is the set (CometBFT JSON); older trust files have only the hash.
	Validators json.RawMessage `json:"validators,omitempty"`
	Height     int64           `json:"height"` // 0: genesis
	Time       time.Time       `json:"time"`   // the genesis time, or the header's
	Source     string          `json:"source"` // where it came from, e.g. a genesis file
}

// TrustFromGenesis reads a CometBFT genesis file and returns the hash of its validator set.
func TrustFromGenesis(genesisFile string) (*Trust, error) {
	doc, err := types.GenesisDocFromFile(genesisFile)
	if err != nil {
		return nil, fmt.Errorf("trust from genesis: %w", err)
	}
	vals := make([]*types.Validator, len(doc.Validators))
	for i, v := range doc.Validators {
		vals[i] = types.NewValidator(v.PubKey, v.Power)
	}
	set := types.NewValidatorSet(vals)
	if err := set.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("trust from genesis %s: validators: %w", genesisFile, err)
	}
	b, err := cmtjson.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("trust from genesis %s: %w", genesisFile, err)
	}
	return &Trust{ChainID: doc.ChainID, ValidatorsHash: set.Hash(), Validators: b, Time: doc.GenesisTime, Source: genesisFile}, nil
}

func trustFile(dir, chainID string) string { return filepath.Join(dir, chainID+".json") }

// SaveTrust writes t as <dir>/<chain id>.json.
func SaveTrust(dir string, t *Trust) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save trust: %w", err)
	}
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return fmt.Errorf("save trust: %w", err)
	}
	return os.WriteFile(trustFile(dir, t.ChainID), append(b, '\n'), 0o600)
}

// LoadTrust reads <dir>/<chain id>.json; it returns nil and no error if there is none.
func LoadTrust(dir, chainID string) (*Trust, error) {
	b, err := os.ReadFile(trustFile(dir, chainID))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load trust: %w", err)
	}
	var t Trust
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("load trust %s: %w", trustFile(dir, chainID), err)
	}
	if t.ChainID != chainID || len(t.ValidatorsHash) != 32 {
		return nil, fmt.Errorf("load trust %s: not a trust file of chain %q with a 32-byte validators hash", trustFile(dir, chainID), chainID)
	}
	return &t, nil
}

// TrustDir is where the CLI keeps trust files under its home.
func TrustDir(home string) string { return filepath.Join(home, "trust") }
