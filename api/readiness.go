package api

import "time"

// Readiness is the body of GET /readyz.
type Readiness struct {
	Status string                    `json:"status"` // "ready" or "not_ready"
	Chains map[string]ChainReadiness `json:"chains"`
}

// ChainReadiness is one chain's part of Readiness.
type ChainReadiness struct {
	Ready     bool       `json:"ready"`
	Height    int64      `json:"height,omitempty"`
	BlockTime *time.Time `json:"block_time,omitempty"` // time of the latest block
	// Reason says why the chain is not ready.
	Reason string `json:"reason,omitempty"`
}
