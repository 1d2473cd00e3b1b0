package main

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/lianchain/lian/client"
	"github.com/lianchain/lian/modules/identity"
	"github.com/lianchain/lian/txs"
)

// newRegulatorTxCmd is `lian tx regulator`.
func newRegulatorTxCmd(g *globals, tf *txFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "regulator", Short: "Regulator transactions: freeze and unfreeze accounts (regulators only)"}
	for _, freeze := range []bool{true, false} {
		use, short := "freeze", "Freeze an account: it can send nothing until unfrozen"
		if !freeze {
			use, short = "unfreeze", "Make a frozen account active again"
		}
		var reason string
		c := &cobra.Command{
			Use:   use + " ADDR|KEY --reason REASON",
			Short: short,
			Long: short + `. The --from key must hold the regulator role. The reason (at most
512 bytes) is kept on chain with the account and in the transaction.`,
			Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				if err := tf.check(); err != nil {
					return err
				}
				if reason == "" {
					return errors.New(`required flag "--reason" not set`)
				}
				addr, err := cliResolveAddress(g, args[0])
				if err != nil {
					return err
				}
				var msg txs.Msg = &identity.MsgFreezeAccount{Address: addr, Reason: reason}
				if !freeze {
					msg = &identity.MsgUnfreezeAccount{Address: addr, Reason: reason}
				}
				var extra txExtra
				extra.add("account", addr.String(), addr.String())
				extra.add("reason", reason, reason)
				return tf.submit(cmd, g, &extra, nil, msg)
			},
		}
		c.Flags().StringVar(&reason, "reason", "", "why (required; kept on chain)")
		cmd.AddCommand(c)
	}
	return cmd
}

// newRoleCmd is `lian tx identity grant-role` (grant) or `revoke-role`.
func newRoleCmd(g *globals, tf *txFlags, grant bool) *cobra.Command {
	use, short := "grant-role", "Give an account of your organisation an organisation role"
	if !grant {
		use, short = "revoke-role", "Take an organisation role from an account of your organisation"
	}
	return &cobra.Command{
		Use:   use + " ADDR|KEY ROLE",
		Short: short + " (" + strings.Join(identity.OrgRoles, ", ") + ")",
		Long: short + ` (org admins only): ` + strings.Join(identity.OrgRoles, ", ") + `.
The network roles (` + strings.Join(identity.NetworkRoles, ", ") + `) are granted by governance:
"lian tx gov propose grant_role".`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := tf.check(); err != nil {
				return err
			}
			addr, err := cliResolveAddress(g, args[0])
			if err != nil {
				return err
			}
			role := args[1]
			var msg txs.Msg = &identity.MsgGrantRole{Address: addr, Role: role}
			if !grant {
				msg = &identity.MsgRevokeRole{Address: addr, Role: role}
			}
			var extra txExtra
			extra.add("account", addr.String(), addr.String())
			extra.add("role", role, role)
			return tf.submit(cmd, g, &extra, nil, msg)
		},
	}
}

// newQueryAccountTxsCmd is `lian query account-txs`.
func newQueryAccountTxsCmd(g *globals, chain *string) *cobra.Command {
	var q client.TxQuery
	cmd := &cobra.Command{
		Use:   "account-txs ADDR|KEY",
		Short: "List the transactions an account sent, failed ones included (oldest first)",
		Long: `List the transactions an account (0x… or a key name) sent, from the nodes' transaction
index, failed ones included: oldest first, or newest first with --desc; --limit per page
(default 20, at most 100). When more follow, the output ends with the --cursor of the
next page (use it with the same --desc). "lian query tx HASH" shows one in full.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			addr, err := cliResolveAddress(g, args[0])
			if err != nil {
				return err
			}
			page, err := client.New(g.gateway).AccountTxs(cmd.Context(), *chain, addr, q)
			if err != nil {
				return cliFail(cmd, g, err)
			}
			return g.print(cmd.OutOrStdout(), page, func(w io.Writer) {
				if len(page.Txs) == 0 {
					fmt.Fprintf(w, "no transactions of %s\n", addr)
				} else {
					tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
					fmt.Fprintln(tw, "HEIGHT\tTIME\tNONCE\tCODE\tHASH\tMESSAGES")
					for _, r := range page.Txs {
						nonce, msgs := "-", "-"
						if b := r.Body; b != nil {
							nonce = strconv.FormatUint(b.Nonce, 10)
							types := make([]string, len(b.Messages))
							for i, m := range b.Messages {
								types[i] = strings.TrimPrefix(m.TypeURL, "/lian.")
							}
							msgs = strings.Join(types, ",")
						}
						code := "0"
						if r.Code != 0 {
							code = fmt.Sprintf("%d (%s)", r.Code, r.CodeName)
						}
						t := "-"
						if r.BlockTime != nil {
							t = r.BlockTime.UTC().Format(time.RFC3339)
						}
						fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", r.Height, t, nonce, code, r.Hash, msgs)
					}
					_ = tw.Flush()
				}
				if page.Next != "" {
					desc := ""
					if q.Desc {
						desc = " --desc"
					}
					fmt.Fprintf(w, "next page: --cursor %s%s\n", page.Next, desc)
				}
			})
		},
	}
	cmd.Flags().IntVar(&q.Limit, "limit", 0, "transactions per page, 1..100 (default 20)")
	cmd.Flags().StringVar(&q.Cursor, "cursor", "", "the cursor of the next page (printed by the previous one)")
	cmd.Flags().BoolVar(&q.Desc, "desc", false, "newest first")
	return cmd
}

// newQueryValidatorsCmd is `lian query validators`.
func newQueryValidatorsCmd(g *globals, chain *string) *cobra.Command {
	return &cobra.Command{
		Use:   "validators",
		Short: "List the validators, the organisations running them and their power",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			vs, err := client.New(g.gateway).Validators(cmd.Context(), *chain)
			if err != nil {
				return cliFail(cmd, g, err)
			}
			return g.print(cmd.OutOrStdout(), vs, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "ORG\tPOWER\tADDRESS\tPUB_KEY")
				for _, v := range vs.Validators {
					fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", v.Org, v.Power, v.Address, v.PubKey)
				}
				_ = tw.Flush()
				fmt.Fprintf(w, "total power %d at height %d\n", vs.TotalPower, vs.Height)
			})
		},
	}
}

// newQueryOrgsCmd is `lian query orgs`.
func newQueryOrgsCmd(g *globals, chain *string) *cobra.Command {
	return &cobra.Command{
		Use:   "orgs",
		Short: "List the organisations and their status",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			os, err := client.New(g.gateway).Orgs(cmd.Context(), *chain)
			if err != nil {
				return cliFail(cmd, g, err)
			}
			return g.print(cmd.OutOrStdout(), os, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tSTATUS\tVALIDATORS\tNAME")
				for _, o := range os.Orgs {
					fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", o.ID, o.Status, len(o.Validators), o.Name)
				}
				_ = tw.Flush()
			})
		},
	}
}

func cliSorted(s []string) []string {
	slices.Sort(s)
	return s
}

func cliSortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
