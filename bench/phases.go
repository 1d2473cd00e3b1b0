package bench

import (
	"fmt"
	"time"

	"github.com/lianchain/lian/localnet"
	"github.com/lianchain/lian/node"
)

// BlockPhases says where a chain's block intervals went during a run: the wall-clock
// steps of a block on its nodes (node.Phases), as means per block over all of them.
type BlockPhases struct {
	// Blocks is the number of blocks each node committed, on average.
	Blocks float64 `json:"blocks"`
	// ToProposalMS: from a proposer's commit of the block before to its
	// PrepareProposal (timeout_commit, then the wait for its mempool).
	ToProposalMS float64 `json:"to_proposal_ms"`
	// ToBlockMS: from a node's commit of the block before to its first check of the
	// proposal (the proposal's making and its gossip to the node).
	ToBlockMS float64 `json:"to_block_ms"`
	// VotesMS: from the check of the proposal to its execution (prevotes, precommits).
	VotesMS float64 `json:"votes_ms"`
	// ExecuteMS and CommitMS: FinalizeBlock and Commit.
	ExecuteMS float64 `json:"execute_ms"`
	CommitMS  float64 `json:"commit_ms"`
	// Checks and Rechecks per block and node, and the milliseconds they took.
	Checks    float64 `json:"checks"`
	CheckMS   float64 `json:"check_ms"`
	Rechecks  float64 `json:"rechecks"`
	RecheckMS float64 `json:"recheck_ms"`
}

// nodesOf returns the nodes of a local chain.
func nodesOf(c *localnet.Chain) []*node.Node {
	nodes := make([]*node.Node, len(c.Nodes))
	for i, n := range c.Nodes {
		nodes[i] = n.Node
	}
	return nodes
}

// nodesPhases returns the sum of the nodes' phases so far.
func nodesPhases(nodes []*node.Node) node.Phases {
	var sum node.Phases
	for _, n := range nodes {
		sum = sum.Add(n.Phases())
	}
	return sum
}

// blockPhases summarizes the phases p of n nodes.
func blockPhases(p node.Phases, n int) BlockPhases {
	per := func(d time.Duration, count int64) float64 {
		if count == 0 {
			return 0
		}
		return float64(d) / float64(count) / float64(time.Millisecond)
	}
	b := BlockPhases{
		ToProposalMS: per(p.ToProposal, p.Proposals), ToBlockMS: per(p.ToBlock, p.Received), VotesMS: per(p.Votes, p.Voted),
		ExecuteMS: per(p.Execute, p.Blocks), CommitMS: per(p.Commit, p.Blocks),
		CheckMS: per(p.CheckTime, p.Blocks), RecheckMS: per(p.RecheckTime, p.Blocks),
	}
	if n > 0 {
		b.Blocks = float64(p.Blocks) / float64(n)
	}
	if p.Blocks > 0 {
		b.Checks, b.Rechecks = float64(p.Checks)/float64(p.Blocks), float64(p.Rechecks)/float64(p.Blocks)
	}
	return b
}

// String gives the phases on one line.
func (b BlockPhases) String() string {
	return fmt.Sprintf("per block: proposal %.0fms and block at a node %.0fms after its commit; votes %.0fms; execute %.0fms; commit %.0fms; %.1f checks (%.1fms), %.1f rechecks (%.1fms)",
		b.ToProposalMS, b.ToBlockMS, b.VotesMS, b.ExecuteMS, b.CommitMS, b.Checks, b.CheckMS, b.Rechecks, b.RecheckMS)
}
