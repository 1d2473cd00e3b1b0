package node

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"github.com/cometbft/cometbft/crypto"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
)

// safePubKey derives the public key of priv, turning a panic (e.g. an ed25519
// key of the wrong length) into an error.
func safePubKey(priv crypto.PrivKey) (pub crypto.PubKey, err error) {
	if priv == nil {
		return nil, errors.New("missing priv_key")
	}
	defer func() {
		if r := recover(); r != nil {
			pub, err = nil, fmt.Errorf("malformed priv_key: %v", r)
		}
	}()
	pub = priv.PubKey()
	if pub == nil {
		return nil, errors.New("malformed priv_key: no public key")
	}
	return pub, nil
}

// checkPrivValidatorFiles parses the validator key and sign-state files the
// same way privval.LoadFilePV does, returning an error where LoadFilePV would
// call os.Exit (or panic).
func checkPrivValidatorFiles(keyFile, stateFile string) error {
	keyJSON, err := os.ReadFile(keyFile)
	if err != nil {
		return fmt.Errorf("read validator key: %w", err)
	}
	var key privval.FilePVKey
	if err := cmtjson.Unmarshal(keyJSON, &key); err != nil {
		return fmt.Errorf("parse validator key %s: %w", keyFile, err)
	}
	pub, err := safePubKey(key.PrivKey)
	if err != nil {
		return fmt.Errorf("validator key %s: %w", keyFile, err)
	}
	if key.PubKey != nil && !key.PubKey.Equals(pub) {
		return fmt.Errorf("validator key %s: pub_key does not match priv_key", keyFile)
	}
	if len(key.Address) > 0 && !bytes.Equal(key.Address, pub.Address()) {
		return fmt.Errorf("validator key %s: address does not match priv_key", keyFile)
	}

	stateJSON, err := os.ReadFile(stateFile)
	if err != nil {
		return fmt.Errorf("read validator state: %w", err)
	}
	var state privval.FilePVLastSignState
	if err := cmtjson.Unmarshal(stateJSON, &state); err != nil {
		return fmt.Errorf("parse validator state %s: %w", stateFile, err)
	}
	if state.Height < 0 || state.Round < 0 {
		return fmt.Errorf("validator state %s: negative height or round", stateFile)
	}
	if len(state.SignBytes) > 0 && len(state.Signature) == 0 {
		return fmt.Errorf("validator state %s: signbytes without signature", stateFile)
	}
	return nil
}

// loadPrivValidator validates and then loads the file based validator.
func loadPrivValidator(keyFile, stateFile string) (*privval.FilePV, error) {
	if err := checkPrivValidatorFiles(keyFile, stateFile); err != nil {
		return nil, err
	}
	return privval.LoadFilePV(keyFile, stateFile), nil
}

// loadNodeKey loads and validates the p2p node key.
func loadNodeKey(file string) (*p2p.NodeKey, error) {
	nk, err := p2p.LoadNodeKey(file)
	if err != nil {
		return nil, fmt.Errorf("load node key %s: %w", file, err)
	}
	if _, err := safePubKey(nk.PrivKey); err != nil {
		return nil, fmt.Errorf("node key %s: %w", file, err)
	}
	return nk, nil
}

// writePrivValidator writes the key and an empty sign state for pv (the
// files FilePV.Save would write, but returning errors instead of panicking).
func writePrivValidator(pv *privval.FilePV, keyFile, stateFile string) error {
	keyJSON, err := cmtjson.MarshalIndent(pv.Key, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(keyFile, keyJSON, 0o600); err != nil {
		return err
	}
	stateJSON, err := cmtjson.MarshalIndent(pv.LastSignState, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(stateFile, stateJSON, 0o600)
}
