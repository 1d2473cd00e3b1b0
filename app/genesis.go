package app

import (
	"encoding/json"
	"fmt"

	"github.com/lianchain/lian/modules/evidence"
	"github.com/lianchain/lian/modules/identity"
)

// BuildGenesis returns the app_state of a chain with the given organisations and accounts.
func BuildGenesis(orgs []identity.GenesisOrg, accounts []identity.GenesisAccount) (json.RawMessage, error) {
	id, err := json.Marshal(identity.Genesis{Orgs: orgs, Accounts: accounts})
	if err != nil {
		return nil, fmt.Errorf("build genesis: %w", err)
	}
	g := Genesis{identity.Name: id, evidence.Name: json.RawMessage(`{}`)}
	b, err := json.Marshal(g)
	if err != nil {
		return nil, fmt.Errorf("build genesis: %w", err)
	}
	return b, nil
}
