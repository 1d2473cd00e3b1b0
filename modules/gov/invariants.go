package gov

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strconv"
	"time"

	"github.com/lianchain/lian/modules"
	"github.com/lianchain/lian/modules/identity"
	"github.com/lianchain/lian/store"
)

// CheckInvariants implements modules.InvariantChecker. kv is the module's prefix; it
// reads every key, once, in order. The invariants:
//
//   - Every key is of a kind of the state layout (doc.go) with its exact shape:
//     pr/<8-byte id>, vt/<8-byte id>/<org id>, q/<8-byte deadline>/<8-byte id>; c/
//     holds only c/next_id. Anything else is an "unknown key".
//   - Every JSON record decodes strictly and is stored in the encoding the module
//     writes (re-encoding it gives the same bytes).
//   - p: present; the parameters pass Params.Validate.
//   - c/next_id: 8 bytes; the proposals are numbered exactly 1..next_id-1 (a proposal
//     is never deleted, and an id is taken only with its proposal), so it is present as
//     soon as a proposal is.
//   - pr/<id>: the record's id is <id>; its kind is known and its content decodes and
//     validates for it (as at submission); its title is 1..MaxTitleLen bytes; its
//     status is known; its organisation id is valid and its proposer set; its submit
//     time and deadline parse and the deadline is later; it needs at least one
//     yes-vote. Its tally is the count of its vote records, option by option. A voting
//     proposal has fewer yes-votes than it needs, no decision height, no execution
//     error, and exactly one deadline queue entry, at its deadline. A decided one has
//     none, and a decision height at or after its submission; an executed or failed
//     one had the yes-votes it needed; only a failed one has an execution error.
//   - vt/<id>/<org>: its proposal exists; the record names the same proposal and
//     organisation, a voter and a known option, at a height within the proposal's
//     voting (submission to decision).
//   - q/<deadline>/<id>: empty; its proposal exists, is voting and has that deadline.
func (m *Module) CheckInvariants(kv store.Reader) error {
	var v modules.Violations
	type tally struct{ yes, no, abstain uint64 }
	type prop struct {
		key         []byte
		id          uint64
		p           *Proposal // nil if it does not decode
		deadline    uint64    // unix nanos, if hasDeadline
		hasDeadline bool      // p's deadline parses
		queued      bool
		votes       tally
	}
	var (
		params  bool
		nextID  uint64
		hasNext bool
		props   []*prop // in id order
		byID    = map[uint64]*prop{}
	)
	kv.Iterate(nil, nil, func(k, val []byte) bool {
		name := showKey(k)
		switch {
		case bytes.Equal(k, keyParams):
			params = true
			var p Params
			if !v.DecodeRecord(k, name, val, &p) {
				return true
			}
			if err := p.Validate(); err != nil {
				v.Add(k, "%s: parameters: %v", name, err)
			}
		case bytes.Equal(k, keyNextID):
			if len(val) != 8 {
				v.Add(k, "%s: next proposal id is %d bytes, expected 8", name, len(val))
				return true
			}
			nextID, hasNext = binary.BigEndian.Uint64(val), true
		case bytes.HasPrefix(k, []byte("pr/")) && len(k) == 3+8:
			id := binary.BigEndian.Uint64(k[3:])
			pr := &prop{key: bytes.Clone(k), id: id}
			props = append(props, pr)
			byID[id] = pr
			if id == 0 {
				v.Add(k, "%s: proposal id 0 (proposals are numbered from 1)", name)
			}
			var p Proposal
			if !v.DecodeRecord(k, name, val, &p) {
				return true
			}
			pr.p = &p
			pr.deadline, pr.hasDeadline = checkProposal(&v, k, name, id, &p)
		case bytes.HasPrefix(k, []byte("vt/")) && len(k) > 3+8+1 && k[3+8] == '/' && identity.ValidateOrgID(string(k[12:])) == nil:
			id, org := binary.BigEndian.Uint64(k[3:]), string(k[12:])
			pr := byID[id]
			if pr == nil {
				v.Add(k, "%s: vote on proposal %d, which does not exist", name, id)
			}
			var vt Vote
			if !v.DecodeRecord(k, name, val, &vt) {
				return true
			}
			if vt.ProposalID != id || vt.Org != org {
				v.Add(k, "%s: vote record is of proposal %d by organisation %q", name, vt.ProposalID, vt.Org)
			}
			if vt.Voter.IsZero() {
				v.Add(k, "%s: vote has no voter", name)
			}
			if pr == nil {
				return true
			}
			switch vt.Option {
			case VoteYes:
				pr.votes.yes++
			case VoteNo:
				pr.votes.no++
			case VoteAbstain:
				pr.votes.abstain++
			default:
				v.Add(k, "%s: vote option %q, expected yes, no or abstain", name, vt.Option)
			}
			if p := pr.p; p != nil && (vt.Height < p.SubmitHeight || p.Status != StatusVoting && vt.Height > p.DecidedHeight) {
				v.Add(k, "%s: vote at height %d, outside the voting on proposal %d (from %d, decided at %d)", name, vt.Height, id, p.SubmitHeight, p.DecidedHeight)
			}
		case bytes.Equal(k, keyVoteExt):
			if len(val) != 8 || int64(binary.BigEndian.Uint64(val)) <= 0 {
				v.Add(k, "%s: vote extensions' enable height is %x, expected a positive 8-byte height", name, val)
			}
		case bytes.HasPrefix(k, []byte("q/")) && len(k) == 2+8+1+8 && k[10] == '/':
			deadline, id := binary.BigEndian.Uint64(k[2:]), binary.BigEndian.Uint64(k[11:])
			if len(val) != 0 {
				v.Add(k, "%s: deadline queue value is %d bytes, expected empty", name, len(val))
			}
			pr := byID[id]
			switch {
			case pr == nil:
				v.Add(k, "%s: proposal %d in the deadline queue does not exist", name, id)
			case pr.p == nil:
			case pr.p.Status != StatusVoting:
				v.Add(k, "%s: proposal %d in the deadline queue is %s", name, id, pr.p.Status)
			case !pr.hasDeadline:
			case deadline != pr.deadline:
				v.Add(k, "%s: proposal %d is queued at another deadline than its own (%s)", name, id, pr.p.Deadline)
			default:
				pr.queued = true
			}
		default:
			v.Add(k, "%s: unknown key", name)
		}
		return true
	})
	if !params {
		v.Add(keyParams, "%s: the parameters are missing", showKey(keyParams))
	}
	switch {
	case hasNext && nextID == 0:
		v.Add(keyNextID, "%s: next proposal id is 0 (proposals are numbered from 1)", showKey(keyNextID))
	case len(props) > 0 && !hasNext:
		v.Add(keyNextID, "%s: missing, but there are %d proposals", showKey(keyNextID), len(props))
	case hasNext && nextID-1 != uint64(len(props)):
		// Ids are distinct keys; any outside 1..next_id-1 is named, else some are missing.
		outside := false
		for _, pr := range props {
			if pr.id >= nextID {
				v.Add(pr.key, "%s: proposal id %d is not below the next id %d", showKey(pr.key), pr.id, nextID)
				outside = true
			}
			outside = outside || pr.id == 0
		}
		if !outside {
			v.Add(keyNextID, "%s: next proposal id is %d, but there are %d proposals: ids are missing", showKey(keyNextID), nextID, len(props))
		}
	}
	for _, pr := range props {
		p := pr.p
		if p == nil {
			continue
		}
		if got := pr.votes; got.yes != p.Yes || got.no != p.No || got.abstain != p.Abstain {
			v.Add(pr.key, "%s: tally is %d yes, %d no, %d abstain, but its votes are %d, %d and %d", showKey(pr.key), p.Yes, p.No, p.Abstain, got.yes, got.no, got.abstain)
		}
		if p.Status == StatusVoting && !pr.queued && pr.hasDeadline {
			v.Add(pr.key, "%s: voting proposal is not in the deadline queue (no %s)", showKey(pr.key), showKey(deadlineKeyAt(pr.deadline, pr.id)))
		}
	}
	return v.Err()
}

// checkProposal checks a proposal on its own and returns its deadline in unix nanos,
// if it parses.
func checkProposal(v *modules.Violations, k []byte, name string, id uint64, p *Proposal) (uint64, bool) {
	if p.ID != id {
		v.Add(k, "%s: proposal record has id %d", name, p.ID)
	}
	if slices.Contains(Kinds, p.Kind) {
		if _, err := DecodeContent(p.Kind, p.Content); err != nil {
			v.Add(k, "%s: proposal content: %v", name, err)
		}
	} else {
		v.Add(k, "%s: proposal kind %q, expected one of %v", name, p.Kind, Kinds)
	}
	if p.Title == "" || len(p.Title) > MaxTitleLen {
		v.Add(k, "%s: proposal title is %d bytes, expected 1..%d", name, len(p.Title), MaxTitleLen)
	}
	if err := identity.ValidateOrgID(p.Org); err != nil {
		v.Add(k, "%s: proposal's %v", name, err)
	}
	if p.Proposer.IsZero() {
		v.Add(k, "%s: proposal has no proposer", name)
	}
	if p.Required < 1 {
		v.Add(k, "%s: proposal needs %d yes-votes, expected at least 1", name, p.Required)
	}
	if p.SubmitHeight < 1 {
		v.Add(k, "%s: proposal submitted at height %d", name, p.SubmitHeight)
	}
	var deadline uint64
	submitted, err1 := time.Parse(time.RFC3339Nano, p.SubmitTime)
	due, err2 := time.Parse(time.RFC3339Nano, p.Deadline)
	switch {
	case err1 != nil:
		v.Add(k, "%s: proposal submit time: %v", name, err1)
	case err2 != nil:
		v.Add(k, "%s: proposal deadline: %v", name, err2)
	case !due.After(submitted):
		v.Add(k, "%s: proposal deadline %s is not after its submission %s", name, p.Deadline, p.SubmitTime)
	}
	if err2 == nil {
		deadline = uint64(due.UnixNano())
	}
	switch p.Status {
	case StatusVoting:
		if p.Yes >= p.Required {
			v.Add(k, "%s: voting proposal has %d yes-votes of the %d it needs: it should have been executed", name, p.Yes, p.Required)
		}
		if p.DecidedHeight != 0 {
			v.Add(k, "%s: voting proposal has a decision height %d", name, p.DecidedHeight)
		}
	case StatusExecuted, StatusFailed, StatusRejected, StatusExpired:
		if p.DecidedHeight < max(p.SubmitHeight, 1) {
			v.Add(k, "%s: %s proposal decided at height %d, submitted at %d", name, p.Status, p.DecidedHeight, p.SubmitHeight)
		}
		if (p.Status == StatusExecuted || p.Status == StatusFailed) && p.Yes < p.Required {
			v.Add(k, "%s: %s proposal has %d yes-votes of the %d it needed", name, p.Status, p.Yes, p.Required)
		}
	default:
		v.Add(k, "%s: proposal status %q, expected voting, executed, failed, rejected or expired", name, p.Status)
	}
	if p.Error != "" && p.Status != StatusFailed {
		v.Add(k, "%s: %s proposal has an execution error", name, p.Status)
	}
	if p.Status == StatusFailed && p.Error == "" {
		v.Add(k, "%s: failed proposal has no execution error", name)
	}
	return deadline, err2 == nil
}

func deadlineKeyAt(nanos, id uint64) []byte {
	k := binary.BigEndian.AppendUint64([]byte("q/"), nanos)
	return binary.BigEndian.AppendUint64(append(k, '/'), id)
}

// showKey names a key of the module: kinds and organisation ids as text, ids and
// deadlines (unix nanoseconds) in decimal, other binary parts as hex.
func showKey(k []byte) string {
	switch {
	case bytes.HasPrefix(k, []byte("pr/")) && len(k) == 3+8:
		return "pr/" + strconv.FormatUint(binary.BigEndian.Uint64(k[3:]), 10)
	case bytes.HasPrefix(k, []byte("vt/")) && len(k) > 3+8+1 && k[3+8] == '/' && identity.ValidateOrgID(string(k[12:])) == nil:
		return "vt/" + strconv.FormatUint(binary.BigEndian.Uint64(k[3:]), 10) + "/" + string(k[12:])
	case bytes.HasPrefix(k, []byte("q/")) && len(k) == 2+8+1+8 && k[10] == '/':
		return "q/" + strconv.FormatUint(binary.BigEndian.Uint64(k[2:]), 10) + "/" + strconv.FormatUint(binary.BigEndian.Uint64(k[11:]), 10)
	}
	return modules.QuoteKey(k)
}
