package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/client"
	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/modules/evidence"
	"github.com/lianchain/lian/modules/gov"
	"github.com/lianchain/lian/modules/identity"
)

// newGovTxCmd is `lian tx gov`.
func newGovTxCmd(g *globals, tf *txFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "gov", Short: "Governance transactions: proposals and votes (organisation admins)"}
	cmd.AddCommand(newProposeCmd(g, tf), newVoteCmd(g, tf))
	return cmd
}

// proposalFlags are the kind-specific flags of `lian tx gov propose`.
type proposalFlags struct {
	org, name, pubKey, address, role  string
	power                             int64
	adminKey, adminPub, adminAlgo     string
	adminIDHash, adminIDFile          string
	content, contentFile, title, kind string
	xc                                xchainProposalFlags // cross-chain kinds (xchain.go)
}

// proposalKindFlags lists the kind-specific flags each kind takes (set_params takes
// none: its content is given as JSON).
var proposalKindFlags = map[string][]string{
	gov.KindAddOrg:            {"org", "name", "admin-key", "admin-pubkey", "admin-algo", "admin-identity-hash", "admin-identity-file", "pub-key", "power"},
	gov.KindSuspendOrg:        {"org"},
	gov.KindResumeOrg:         {"org"},
	gov.KindRemoveOrg:         {"org"},
	gov.KindAddValidator:      {"org", "pub-key", "power"},
	gov.KindRemoveValidator:   {"pub-key"},
	gov.KindSetValidatorPower: {"pub-key", "power"},
	gov.KindGrantRole:         {"address", "role"},
	gov.KindRevokeRole:        {"address", "role"},
	gov.KindSetParams:         {},
}

var allProposalKindFlags = []string{"org", "name", "pub-key", "power", "address", "role", "admin-key", "admin-pubkey",
	"admin-algo", "admin-identity-hash", "admin-identity-file"}

func newProposeCmd(g *globals, tf *txFlags) *cobra.Command {
	pf := &proposalFlags{}
	cmd := &cobra.Command{
		Use:   "propose KIND",
		Short: "Submit a proposal (" + strings.Join(gov.Kinds, ", ") + ")",
		Long: `Submit a governance proposal of KIND with a --title. The proposal's content is the
kind's JSON document, given with --content or --content-file, or built from the kind's
flags:

  add_org              --org ID --name NAME --admin-key KEY (or --admin-pubkey HEX --admin-algo ALGO)
                       --admin-identity-file F (or --admin-identity-hash HEX)
                       [--pub-key CONSENSUS_KEY --power N: its first validator]
  suspend_org, resume_org, remove_org
                       --org ID
  add_validator        --org ID --pub-key CONSENSUS_KEY --power N
  remove_validator     --pub-key CONSENSUS_KEY
  set_validator_power  --pub-key CONSENSUS_KEY --power N
  grant_role, revoke_role
                       --address ADDR|KEY --role regulator|operator|psp
  set_params           --content '{"gov":{"threshold":{"num":3,"den":4},"voting_period":604800}}'
                       (parts: gov, credits, block, abci; e.g. '{"abci":
                       {"vote_extensions_enable_height":250000}}' turns vote extensions
                       on from that height, see docs/governance.md)

A consensus key is the ed25519 key of a node, hex or base64 ("pub_key.value" of
<node home>/config/priv_validator_key.json). The proposal is open for the voting period
(lian query gov params); each organisation's admin votes once, and it executes as soon
as enough organisations voted yes. The output names the new proposal's id.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := tf.check(); err != nil {
				return err
			}
			pf.kind = strings.ReplaceAll(args[0], "-", "_")
			content, err := pf.build(cmd, g)
			if err != nil {
				return err
			}
			msg, err := client.NewProposal(pf.kind, pf.title, content)
			if err != nil {
				return err
			}
			var extra txExtra
			extra.add("kind", pf.kind, pf.kind)
			extra.add("title", pf.title, pf.title)
			extra.add("content", string(msg.Content), json.RawMessage(msg.Content)) // for the voters to check
			after := func(res *api.TxResult) error {
				id, err := client.ProposalIDOf(res)
				if err != nil {
					return err
				}
				extra.add("proposal_id", strconv.FormatUint(id, 10), id)
				return nil
			}
			return tf.submit(cmd, g, &extra, after, msg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&pf.title, "title", "", "the proposal's title (required)")
	f.StringVar(&pf.content, "content", "", "the kind's content, JSON")
	f.StringVar(&pf.contentFile, "content-file", "", "a file holding the kind's content, JSON")
	f.StringVar(&pf.org, "org", "", "organisation id (add_org, suspend_org, resume_org, remove_org, add_validator)")
	f.StringVar(&pf.name, "name", "", "organisation name (add_org)")
	f.StringVar(&pf.pubKey, "pub-key", "", "validator consensus key, hex or base64 (add_validator, remove_validator, set_validator_power, add_org)")
	f.Int64Var(&pf.power, "power", 0, "validator voting power (add_validator, set_validator_power, add_org)")
	f.StringVar(&pf.address, "address", "", "account, 0x address or key name (grant_role, revoke_role)")
	f.StringVar(&pf.role, "role", "", "network role: regulator, operator or psp (grant_role, revoke_role)")
	f.StringVar(&pf.adminKey, "admin-key", "", "add_org: key of <home>/keys of the organisation's first admin")
	f.StringVar(&pf.adminPub, "admin-pubkey", "", "add_org: the first admin's public key, hex (with --admin-algo)")
	f.StringVar(&pf.adminAlgo, "admin-algo", "", "add_org: algorithm of --admin-pubkey: ed25519, sm2 or secp256k1")
	f.StringVar(&pf.adminIDHash, "admin-identity-hash", "", "add_org: hash of the first admin's real-name record, 32 bytes hex")
	f.StringVar(&pf.adminIDFile, "admin-identity-file", "", "add_org: the first admin's real-name record; its SHA-256 is the identity hash")
	pf.xc.register(cmd)
	return cmd
}

// build returns the proposal's content: the JSON of --content or --content-file, or the
// kind's document built from its flags.
func (pf *proposalFlags) build(cmd *cobra.Command, g *globals) (any, error) {
	if pf.title == "" {
		return nil, errors.New(`required flag "--title" not set`)
	}
	allowed, ok := proposalKindFlags[pf.kind]
	if !ok {
		return nil, fmt.Errorf("unknown proposal kind %q: expected one of %s", pf.kind, strings.Join(gov.Kinds, ", "))
	}
	var set []string
	for _, name := range allProposalKindFlags {
		if cmd.Flags().Changed(name) {
			set = append(set, name)
		}
	}
	raw := pf.content != "" || pf.contentFile != ""
	switch {
	case pf.content != "" && pf.contentFile != "":
		return nil, errors.New("give either --content or --content-file, not both")
	case raw && len(set) > 0:
		return nil, fmt.Errorf("--%s: give the content either as JSON or with the kind's flags, not both", set[0])
	case pf.content != "":
		return []byte(pf.content), nil
	case pf.contentFile != "":
		b, err := os.ReadFile(pf.contentFile)
		if err != nil {
			return nil, fmt.Errorf("--content-file: %w", err)
		}
		return b, nil
	case len(allowed) == 0:
		return nil, fmt.Errorf("%s takes its content as JSON: give --content or --content-file", pf.kind)
	}
	for _, name := range set {
		if !slices.Contains(allowed, name) {
			return nil, fmt.Errorf("--%s does not apply to %s (its flags: --%s)", name, pf.kind, strings.Join(allowed, ", --"))
		}
	}
	need := func(names ...string) error {
		for _, n := range names {
			if !cmd.Flags().Changed(n) {
				return fmt.Errorf("%s needs --%s", pf.kind, n)
			}
		}
		return nil
	}
	switch pf.kind {
	case gov.KindSuspendOrg, gov.KindResumeOrg, gov.KindRemoveOrg:
		if err := need("org"); err != nil {
			return nil, err
		}
		return gov.OrgRef{ID: pf.org}, nil
	case gov.KindAddValidator:
		if err := need("org", "pub-key", "power"); err != nil {
			return nil, err
		}
		key, err := client.ParseConsensusKey(pf.pubKey)
		if err != nil {
			return nil, fmt.Errorf("--pub-key: %w", err)
		}
		return gov.AddValidator{Org: pf.org, PubKey: key, Power: pf.power}, nil
	case gov.KindRemoveValidator, gov.KindSetValidatorPower:
		names := []string{"pub-key"}
		if pf.kind == gov.KindSetValidatorPower {
			names = append(names, "power")
		}
		if err := need(names...); err != nil {
			return nil, err
		}
		key, err := client.ParseConsensusKey(pf.pubKey)
		if err != nil {
			return nil, fmt.Errorf("--pub-key: %w", err)
		}
		return gov.ValidatorPower{PubKey: key, Power: pf.power}, nil
	case gov.KindGrantRole, gov.KindRevokeRole:
		if err := need("address", "role"); err != nil {
			return nil, err
		}
		addr, err := cliResolveAddress(g, pf.address)
		if err != nil {
			return nil, fmt.Errorf("--address: %w", err)
		}
		return gov.RoleChange{Address: addr, Role: pf.role}, nil
	case gov.KindAddOrg:
		if err := need("org", "name"); err != nil {
			return nil, err
		}
		admin, err := pf.newOrgAdmin(cmd, g)
		if err != nil {
			return nil, err
		}
		c := gov.AddOrg{ID: pf.org, Name: pf.name, Admin: admin}
		if cmd.Flags().Changed("pub-key") || cmd.Flags().Changed("power") {
			if err := need("pub-key", "power"); err != nil {
				return nil, fmt.Errorf("a first validator: %w", err)
			}
			key, err := client.ParseConsensusKey(pf.pubKey)
			if err != nil {
				return nil, fmt.Errorf("--pub-key: %w", err)
			}
			c.Validator = &gov.NewValidator{PubKey: key, Power: pf.power}
		}
		return c, nil
	case gov.KindCreateClient, gov.KindReplaceClient, gov.KindOpenRoute, gov.KindCloseRoute:
		return pf.xc.build(cmd, g, pf.kind)
	}
	return nil, fmt.Errorf("%s takes its content as JSON: give --content or --content-file", pf.kind)
}

// newOrgAdmin is the first admin of an add_org proposal.
func (pf *proposalFlags) newOrgAdmin(cmd *cobra.Command, g *globals) (identity.NewOrgAdmin, error) {
	var out identity.NewOrgAdmin
	switch {
	case pf.adminKey != "" && (pf.adminPub != "" || pf.adminAlgo != ""):
		return out, errors.New("give either --admin-key or --admin-pubkey with --admin-algo, not both")
	case pf.adminKey != "":
		ks, err := cliKeystore(g)
		if err != nil {
			return out, err
		}
		k, err := ks.Get(pf.adminKey)
		if err != nil {
			return out, fmt.Errorf("--admin-key: %w", err)
		}
		out.Algo, out.PubKey = k.Algo, k.PubKey
	case pf.adminPub != "":
		if pf.adminAlgo == "" {
			return out, errors.New("--admin-pubkey needs --admin-algo (ed25519, sm2 or secp256k1)")
		}
		a, err := crypto.ParseAlgo(pf.adminAlgo)
		if err != nil {
			return out, fmt.Errorf("--admin-algo: %w", err)
		}
		pub, err := cliHex(pf.adminPub)
		if err != nil {
			return out, fmt.Errorf("--admin-pubkey: %w", err)
		}
		out.Algo, out.PubKey = a, pub
	default:
		return out, errors.New("add_org needs its first admin: --admin-key KEY or --admin-pubkey HEX with --admin-algo")
	}
	ih, err := cliDigest("--admin-identity-hash", pf.adminIDHash, "--admin-identity-file", pf.adminIDFile, evidence.HashSHA256)
	if err != nil {
		return out, fmt.Errorf("the first admin's identity hash: %w", err)
	}
	out.IdentityHash = ih
	return out, nil
}

func newVoteCmd(g *globals, tf *txFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "vote ID yes|no|abstain",
		Short: "Cast your organisation's vote on a proposal (once per organisation)",
		Long: `Cast the vote of the --from key's organisation (the key must be an admin of it) on
proposal ID. Each organisation votes once. After the vote the output shows the tally, and
the proposal's status if this vote decided it (executed, failed or rejected).`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := tf.check(); err != nil {
				return err
			}
			id, err := cliProposalID(args[0])
			if err != nil {
				return err
			}
			msg, err := client.NewVote(id, args[1])
			if err != nil {
				return err
			}
			var extra txExtra
			extra.add("proposal_id", strconv.FormatUint(id, 10), id)
			extra.add("option", msg.Option, msg.Option)
			after := func(res *api.TxResult) error {
				if !tf.wait {
					return nil
				}
				p, err := client.New(g.gateway).Proposal(cmd.Context(), tf.chain, id)
				if err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "warning: the vote is committed, but reading proposal %d failed: %v\n", id, err)
					if s := client.DecisionOf(res); s != "" {
						extra.add("status", s, s)
					}
					return nil
				}
				extra.add("status", p.Proposal.Status, p.Proposal.Status)
				extra.add("tally", cliTally(&p.Proposal), map[string]uint64{"yes": p.Proposal.Yes, "no": p.Proposal.No,
					"abstain": p.Proposal.Abstain, "required": p.Proposal.Required})
				return nil
			}
			return tf.submit(cmd, g, &extra, after, msg)
		},
	}
}

func cliProposalID(s string) (uint64, error) {
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil || id == 0 {
		return 0, fmt.Errorf("proposal id %q: expected a positive number", s)
	}
	return id, nil
}

// cliTally is a proposal's tally as text.
func cliTally(p *gov.Proposal) string {
	return fmt.Sprintf("yes %d, no %d, abstain %d (%d yes needed)", p.Yes, p.No, p.Abstain, p.Required)
}

// newQueryConsensusParamsCmd is `lian query consensus-params`.
func newQueryConsensusParamsCmd(g *globals, chain *string) *cobra.Command {
	return &cobra.Command{
		Use:   "consensus-params",
		Short: "Show the consensus parameters in force (block limits, vote extensions)",
		Long: `Show the consensus parameters CometBFT applied to a node's latest committed block
(height): the block limits, the evidence bounds, the validator key types and the
height from which the validators attest the state in vote extensions. Genesis sets
them; a set_params proposal changes the block limits and turns vote extensions on
(docs/governance.md).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := client.New(g.gateway).ConsensusParams(cmd.Context(), *chain)
			if err != nil {
				return cliFail(cmd, g, err)
			}
			return g.print(cmd.OutOrStdout(), p, func(w io.Writer) {
				ve := "off"
				switch h := p.ABCI.VoteExtensionsEnableHeight; {
				case h > 0 && h <= p.Height:
					ve = fmt.Sprintf("on since height %d", h)
				case h > 0:
					ve = fmt.Sprintf("from height %d (%d blocks ahead)", h, h-p.Height)
				}
				cliWriteKV(w, []cliKV{
					{"block.max_bytes", strconv.FormatInt(p.Block.MaxBytes, 10)},
					{"block.max_gas", strconv.FormatInt(p.Block.MaxGas, 10)},
					{"evidence.max_age_num_blocks", strconv.FormatInt(p.Evidence.MaxAgeNumBlocks, 10)},
					{"evidence.max_age_duration", p.Evidence.MaxAgeDuration},
					{"evidence.max_bytes", strconv.FormatInt(p.Evidence.MaxBytes, 10)},
					{"validator.pub_key_types", strings.Join(p.Validator.PubKeyTypes, ", ")},
					{"vote_extensions", ve},
					{"height", strconv.FormatInt(p.Height, 10)},
				})
			})
		},
	}
}

// newQueryGovCmd is `lian query gov`.
func newQueryGovCmd(g *globals, chain *string) *cobra.Command {
	cmd := &cobra.Command{Use: "gov", Short: "Governance: parameters, proposals and votes"}

	params := &cobra.Command{
		Use:   "params",
		Short: "Show the governance parameters (threshold, voting period)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := client.New(g.gateway).GovParams(cmd.Context(), *chain)
			if err != nil {
				return cliFail(cmd, g, err)
			}
			return g.print(cmd.OutOrStdout(), p, func(w io.Writer) {
				cliWriteKV(w, []cliKV{
					{"threshold", fmt.Sprintf("%d/%d of the active organisations", p.Params.Threshold.Num, p.Params.Threshold.Den)},
					{"voting_period", fmt.Sprintf("%d s (%s)", p.Params.VotingPeriod, cliSeconds(p.Params.VotingPeriod))},
					{"height", strconv.FormatInt(p.Height, 10)},
				})
			})
		},
	}

	var (
		q     client.ProposalQuery
		limit int
	)
	list := &cobra.Command{
		Use:   "proposals",
		Short: "List proposals, newest first",
		Long: `List proposals, newest first, --limit per page (default 20, at most 100). When more
follow, the output ends with the --before value of the next page.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			q.Limit = limit
			page, err := client.New(g.gateway).Proposals(cmd.Context(), *chain, q)
			if err != nil {
				return cliFail(cmd, g, err)
			}
			return g.print(cmd.OutOrStdout(), page, func(w io.Writer) {
				if len(page.Proposals) == 0 {
					fmt.Fprintln(w, "no proposals")
					return
				}
				tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tSTATUS\tKIND\tYES\tNO\tABSTAIN\tNEEDED\tDEADLINE\tTITLE")
				for _, p := range page.Proposals {
					fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\n", p.ID, p.Status, p.Kind, p.Yes, p.No, p.Abstain, p.Required, p.Deadline, p.Title)
				}
				_ = tw.Flush()
				if page.Next > 0 {
					fmt.Fprintf(w, "next page: --before %d\n", page.Next)
				}
			})
		},
	}
	list.Flags().StringVar(&q.Status, "status", "", "only proposals of this status: voting, executed, failed, rejected or expired")
	list.Flags().IntVar(&limit, "limit", 0, "proposals per page, 1..100 (default 20)")
	list.Flags().Uint64Var(&q.Before, "before", 0, "list the proposals below this id (the next page)")

	show := &cobra.Command{
		Use:   "proposal ID",
		Short: "Show a proposal, its content, tally and votes",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := cliProposalID(args[0])
			if err != nil {
				return err
			}
			d, err := client.New(g.gateway).Proposal(cmd.Context(), *chain, id)
			if err != nil {
				return cliFail(cmd, g, err)
			}
			return g.print(cmd.OutOrStdout(), d, func(w io.Writer) {
				p := d.Proposal
				rows := []cliKV{
					{"id", strconv.FormatUint(p.ID, 10)},
					{"title", p.Title},
					{"kind", p.Kind},
					{"content", cliCompact(p.Content)},
					{"status", p.Status},
					{"tally", cliTally(&p)},
					{"proposer", p.Proposer.String() + " (" + p.Org + ")"},
					{"submitted", fmt.Sprintf("height %d, %s", p.SubmitHeight, p.SubmitTime)},
					{"deadline", p.Deadline},
				}
				if p.DecidedHeight > 0 {
					rows = append(rows, cliKV{"decided_height", strconv.FormatInt(p.DecidedHeight, 10)})
				}
				if p.Error != "" {
					rows = append(rows, cliKV{"error", p.Error})
				}
				for _, v := range d.Votes {
					rows = append(rows, cliKV{"vote " + v.Org, fmt.Sprintf("%s by %s at height %d", v.Option, v.Voter, v.Height)})
				}
				cliWriteKV(w, rows)
			})
		},
	}
	cmd.AddCommand(params, list, show)
	return cmd
}

// cliSeconds shows a number of seconds in days, hours, minutes and seconds.
func cliSeconds(s uint64) string {
	if s == 0 {
		return "0s"
	}
	var b strings.Builder
	for _, u := range []struct {
		n    uint64
		name string
	}{{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}} {
		if s >= u.n {
			fmt.Fprintf(&b, "%d%s", s/u.n, u.name)
			s %= u.n
		}
	}
	return b.String()
}
