package app

import (
	"runtime"
	"runtime/debug"
)

// Build describes a binary: Lian's versions, the commit it was built from and the
// versions of the components it runs on (what an operator reports with a problem).
type Build struct {
	Version    string `json:"version"`     // Version
	AppVersion uint64 `json:"app_version"` // AppVersion, the state machine's protocol
	// Commit is the VCS revision the binary was built from, CommitTime its time, and
	// Modified whether the tree had uncommitted changes; empty when the build recorded
	// no VCS information (go run, go test, -buildvcs=false).
	Commit     string      `json:"commit,omitempty"`
	CommitTime string      `json:"commit_time,omitempty"`
	Modified   bool        `json:"modified,omitempty"`
	Go         string      `json:"go"`
	Components []Component `json:"components"`
}

// Component is a module the binary was built with.
type Component struct {
	Name    string `json:"name"`
	Module  string `json:"module"`
	Version string `json:"version"` // "" when the binary does not record it
}

// components are the modules Build reports, in this order.
var components = []Component{
	{Name: "cometbft", Module: "github.com/cometbft/cometbft"},
	{Name: "iavl", Module: "github.com/cosmos/iavl"},
	{Name: "ics23", Module: "github.com/cosmos/ics23/go"},
	{Name: "gmsm", Module: "github.com/emmansun/gmsm"},
	{Name: "go-ethereum", Module: "github.com/ethereum/go-ethereum"},
}

// BuildInfo returns what the running binary records about its build.
func BuildInfo() Build {
	b := Build{Version: Version, AppVersion: AppVersion, Go: runtime.Version(), Components: make([]Component, len(components))}
	copy(b.Components, components)
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Commit = s.Value
		case "vcs.time":
			b.CommitTime = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	for i, c := range b.Components {
		for _, d := range info.Deps {
			if d.Path != c.Module {
				continue
			}
			b.Components[i].Version = d.Version
			if d.Replace != nil {
				b.Components[i].Version = d.Replace.Version
			}
		}
	}
	return b
}
