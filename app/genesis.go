package app

import (
	"encoding/json"
	"fmt"

	"github.com/lianchain/lian/modules/credits"
	"github.com/lianchain/lian/modules/evidence"
	"github.com/lianchain/lian/modules/gov"
	"github.com/lianchain/lian/modules/identity"
)

// GenesisSpec describes a chain's initial state.
type GenesisSpec struct {
	Orgs     []identity.GenesisOrg
	Accounts []identity.GenesisAccount
	// StartingCredits are the gas credits each genesis account starts with.
	StartingCredits uint64
	// Gov and Credits are the modules' parameters; nil means their defaults.
	Gov     *gov.Params
	Credits *credits.Params
}

// BuildGenesis returns the app_state of a chain.
func BuildGenesis(spec GenesisSpec) (json.RawMessage, error) {
	id, err := json.Marshal(identity.Genesis{Orgs: spec.Orgs, Accounts: spec.Accounts})
	if err != nil {
		return nil, fmt.Errorf("build genesis: %w", err)
	}
	cg := credits.Genesis{Params: spec.Credits}
	if spec.StartingCredits > 0 {
		for _, a := range spec.Accounts {
			pub, err := a.PubKeyOf()
			if err != nil {
				return nil, fmt.Errorf("build genesis: %w", err)
			}
			cg.Balances = append(cg.Balances, credits.GenesisBalance{Holder: credits.AccountHolder(pub.Address()), Credits: spec.StartingCredits})
		}
	}
	cr, err := json.Marshal(cg)
	if err != nil {
		return nil, fmt.Errorf("build genesis: %w", err)
	}
	gv, err := json.Marshal(gov.Genesis{Params: spec.Gov})
	if err != nil {
		return nil, fmt.Errorf("build genesis: %w", err)
	}
	g := Genesis{identity.Name: id, credits.Name: cr, gov.Name: gv, evidence.Name: json.RawMessage(`{}`)}
	b, err := json.Marshal(g)
	if err != nil {
		return nil, fmt.Errorf("build genesis: %w", err)
	}
	return b, nil
}
