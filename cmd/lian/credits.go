package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/client"
	"github.com/lianchain/lian/modules/credits"
)

// newCreditsTxCmd is `lian tx credits`.
func newCreditsTxCmd(g *globals, tf *txFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "credits", Short: "Gas credits: top-ups (operators) and sponsorship (organisation admins)"}
	cmd.AddCommand(newTopUpCmd(g, tf), newSponsorCmd(g, tf))
	return cmd
}

func newTopUpCmd(g *globals, tf *txFlags) *cobra.Command {
	var (
		account, org, currency, ref, payer string
		amount                             uint64
	)
	cmd := &cobra.Command{
		Use:   "top-up",
		Short: "Credit an account or organisation for a fiat payment (operators only)",
		Long: `Record a fiat payment and credit the gas credits it buys (at the price of the credits
parameters, see "lian query credits params") to an account (--account, a 0x address or
a key name) or an organisation (--org). --amount is in minor units of --currency (fen
for CNY: --amount 1000 is 10.00 CNY). The payment reference (--ref) can be used once per
chain: a second top-up with it is refused (already_exists).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := tf.check(); err != nil {
				return err
			}
			var holder string
			switch {
			case account != "" && org != "":
				return errors.New("give either --account or --org, not both")
			case account != "":
				addr, err := cliResolveAddress(g, account)
				if err != nil {
					return fmt.Errorf("--account: %w", err)
				}
				holder = addr.String()
			case org != "":
				holder = "org:" + org
			default:
				return errors.New("whom to credit: give --account ADDR|KEY or --org ORG")
			}
			var missing []string
			for name, v := range map[string]bool{"--amount": amount == 0 && !cmd.Flags().Changed("amount"), "--ref": ref == "", "--payer-name": payer == ""} {
				if v {
					missing = append(missing, name)
				}
			}
			if len(missing) > 0 {
				return fmt.Errorf("required flag(s) %s not set", strings.Join(cliSorted(missing), ", "))
			}
			msg, err := client.NewTopUp(holder, currency, amount, ref, payer)
			if err != nil {
				return err
			}
			var extra txExtra
			extra.add("holder", holder, holder)
			// The amount also in major units with the chain's price (500 fen: 5.00 CNY),
			// so that a slip of the unit shows; without the prices, in minor units only.
			// Text output only: JSON gives currency and amount as fields.
			payment := fmt.Sprintf("%d minor units of %s", amount, currency)
			if g.output == "text" {
				if p, err := client.New(g.gateway).CreditParams(cmd.Context(), tf.chain); err == nil {
					if major := p.Params.FormatAmount(currency, amount); major != payment {
						payment = major + " (" + payment + ")"
					}
				}
			}
			extra.add("payment", fmt.Sprintf("%s, ref %s, paid by %s", payment, ref, payer),
				map[string]any{"currency": currency, "amount": amount, "payment_ref": ref, "payer_name": payer})
			after := func(res *api.TxResult) error {
				if s := cliEventAttr(res, credits.EventToppedUp, "credits"); s != "" {
					n, err := strconv.ParseUint(s, 10, 64)
					if err == nil {
						extra.add("credits", s, n)
					}
				}
				return nil
			}
			return tf.submit(cmd, g, &extra, after, msg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&account, "account", "", "the account to credit: 0x address or key name")
	f.StringVar(&org, "org", "", "the organisation to credit (its balance pays sponsored fees)")
	f.StringVar(&currency, "currency", "CNY", "ISO 4217 currency of the payment")
	f.Uint64Var(&amount, "amount", 0, "the payment, in minor units of the currency (fen for CNY)")
	f.StringVar(&ref, "ref", "", "the payment's reference (bank transfer id), usable once")
	f.StringVar(&payer, "payer-name", "", "who paid")
	return cmd
}

func newSponsorCmd(g *globals, tf *txFlags) *cobra.Command {
	var (
		limit  uint64
		period string
		off    bool
	)
	cmd := &cobra.Command{
		Use:   "sponsor",
		Short: "Make your organisation pay its members' fees, up to a cap per member per period",
		Long: `Make the organisation of the --from key (an admin of it) pay the fees of its members'
transactions from its own balance (top it up with "tx credits top-up --org"), up to
--cap credits per member per --period (seconds, or 30d, 12h, 1w, ...; 60 s to 366 days).
A member whose allowance or organisation balance does not cover a fee pays it itself.
Setting it again replaces the cap and period; --off ends it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := tf.check(); err != nil {
				return err
			}
			var msg *credits.MsgSetSponsorship
			var extra txExtra
			switch {
			case off && (cmd.Flags().Changed("cap") || period != ""):
				return errors.New("--off ends the sponsorship: give no --cap or --period")
			case off:
				msg = client.EndSponsorship()
				extra.add("sponsorship", "ended", "ended")
			default:
				if !cmd.Flags().Changed("cap") || period == "" {
					return errors.New("give --cap N and --period (e.g. 30d), or --off")
				}
				secs, err := client.ParsePeriod(period)
				if err != nil {
					return fmt.Errorf("--period: %w", err)
				}
				if msg, err = client.NewSponsorship(limit, secs); err != nil {
					return err
				}
				extra.add("cap", strconv.FormatUint(limit, 10), limit)
				extra.add("period", fmt.Sprintf("%d s (%s)", secs, cliSeconds(secs)), secs)
			}
			return tf.submit(cmd, g, &extra, nil, msg)
		},
	}
	f := cmd.Flags()
	f.Uint64Var(&limit, "cap", 0, "credits each member may spend per period")
	f.StringVar(&period, "period", "", "the period: seconds, or a number with s, m, h, d or w (30d)")
	f.BoolVar(&off, "off", false, "end the sponsorship")
	return cmd
}

// cliEventAttr returns the value of key in the first event of type typ.
func cliEventAttr(res *api.TxResult, typ, key string) string {
	for _, e := range res.Events {
		if e.Type != typ {
			continue
		}
		for _, a := range e.Attributes {
			if a.Key == key {
				return a.Value
			}
		}
	}
	return ""
}

// cliResolveHolder turns a 0x address, a key name or org:<id> into a holder.
func cliResolveHolder(g *globals, s string) (string, error) {
	if strings.HasPrefix(s, "org:") {
		h, err := client.ParseHolder(s)
		if err != nil {
			return "", err
		}
		return h.String(), nil
	}
	addr, err := cliResolveAddress(g, s)
	if err != nil {
		return "", fmt.Errorf("holder %q: expected a 0x address, a key name or org:<id>: %w", s, err)
	}
	return addr.String(), nil
}

// newQueryCreditsCmd is `lian query credits`.
func newQueryCreditsCmd(g *globals, chain *string) *cobra.Command {
	cmd := &cobra.Command{Use: "credits", Short: "Gas credits: parameters, balances, sponsorships and statements"}

	params := &cobra.Command{
		Use:   "params",
		Short: "Show the gas schedule and the credit prices",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := client.New(g.gateway).CreditParams(cmd.Context(), *chain)
			if err != nil {
				return cliFail(cmd, g, err)
			}
			return g.print(cmd.OutOrStdout(), p, func(w io.Writer) {
				d := p.Params.Gas.Default
				rows := []cliKV{{"gas", fmt.Sprintf("%d + %d per byte per message (1 gas = 1 credit)", d.Base, d.PerByte)}}
				for _, typ := range cliSortedKeys(p.Params.Gas.Msgs) {
					c := p.Params.Gas.Msgs[typ]
					rows = append(rows, cliKV{"gas " + typ, fmt.Sprintf("%d + %d per byte", c.Base, c.PerByte)})
				}
				for _, pr := range p.Params.Prices {
					rows = append(rows, cliKV{"price " + pr.Currency, fmt.Sprintf("%d credits per 1 %s (amounts in minor units, 10^-%d %s)", pr.CreditsPerUnit, pr.Currency, pr.Exponent, pr.Currency)})
				}
				rows = append(rows, cliKV{"height", strconv.FormatInt(p.Height, 10)})
				cliWriteKV(w, rows)
			})
		},
	}

	balance := &cobra.Command{
		Use:   "balance HOLDER",
		Short: "Show the credits of an account (0x… or key name) or an organisation (org:<id>)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			holder, err := cliResolveHolder(g, args[0])
			if err != nil {
				return err
			}
			b, err := client.New(g.gateway).Balance(cmd.Context(), *chain, holder)
			if err != nil {
				return cliFail(cmd, g, err)
			}
			return g.print(cmd.OutOrStdout(), b, func(w io.Writer) {
				cliWriteKV(w, []cliKV{{"holder", b.Holder}, {"credits", strconv.FormatUint(b.Credits, 10)}, {"height", strconv.FormatInt(b.Height, 10)}})
			})
		},
	}

	sponsorship := &cobra.Command{
		Use:   "sponsorship ORG",
		Short: "Show an organisation's sponsorship of its members' fees",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := client.New(g.gateway).Sponsorship(cmd.Context(), *chain, strings.TrimPrefix(args[0], "org:"))
			if err != nil {
				return cliFail(cmd, g, err)
			}
			return g.print(cmd.OutOrStdout(), s, func(w io.Writer) {
				cliWriteKV(w, []cliKV{
					{"org", s.Org},
					{"cap", fmt.Sprintf("%d credits per member per period", s.Sponsorship.Cap)},
					{"period", fmt.Sprintf("%d s (%s)", s.Sponsorship.Period, cliSeconds(s.Sponsorship.Period))},
					{"height", strconv.FormatInt(s.Height, 10)},
				})
			})
		},
	}

	var q client.PageQuery
	statement := &cobra.Command{
		Use:   "statement HOLDER",
		Short: "List a holder's top-ups and charges, oldest first",
		Long: `List the top-ups (credits bought) and charges (fees paid, failed transactions
included) of an account (0x… or key name) or organisation (org:<id>), oldest first,
--limit per page (default 50, at most 100). When more follow, the output ends with the
--cursor of the next page.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			holder, err := cliResolveHolder(g, args[0])
			if err != nil {
				return err
			}
			c := client.New(g.gateway)
			st, err := c.Statement(cmd.Context(), *chain, holder, q)
			if err != nil {
				return cliFail(cmd, g, err)
			}
			return g.print(cmd.OutOrStdout(), st, func(w io.Writer) {
				// Top-ups are shown in major units with the chain's prices (500 fen as
				// 5.00 CNY); without them, in minor units.
				params := &credits.Params{}
				for _, e := range st.Entries {
					if e.Kind == api.EntryTopUp {
						if p, err := c.CreditParams(cmd.Context(), *chain); err == nil {
							params = &p.Params
						}
						break
					}
				}
				fmt.Fprintf(w, "statement of %s (state height %d)\n", st.Holder, st.Height)
				if len(st.Entries) == 0 {
					fmt.Fprintln(w, "no entries")
				} else {
					tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
					fmt.Fprintln(tw, "HEIGHT\tTIME\tKIND\tCREDITS\tTX\tDETAILS")
					for _, e := range st.Entries {
						fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", e.Height, cliTime(e.Time), e.Kind, cliSigned(e), e.TxHash, cliEntryDetails(e, params))
					}
					_ = tw.Flush()
				}
				if st.Next != "" {
					fmt.Fprintf(w, "next page: --cursor %s\n", st.Next)
				}
			})
		},
	}
	statement.Flags().IntVar(&q.Limit, "limit", 0, "entries per page, 1..100 (default 50)")
	statement.Flags().StringVar(&q.Cursor, "cursor", "", "the cursor of the next page (printed by the previous one)")

	cmd.AddCommand(params, balance, sponsorship, statement)
	return cmd
}

func cliSigned(e api.StatementEntry) string {
	if e.Kind == api.EntryCharge {
		return "-" + strconv.FormatUint(e.Credits, 10)
	}
	return "+" + strconv.FormatUint(e.Credits, 10)
}

// cliEntryDetails describes a statement entry; params price the top-ups' currencies.
func cliEntryDetails(e api.StatementEntry, params *credits.Params) string {
	if e.Kind == api.EntryTopUp {
		return fmt.Sprintf("%s ref %s from %s (operator %s)", params.FormatAmount(e.Currency, e.Amount), e.PaymentRef, e.PayerName, e.Operator)
	}
	s := "fee of " + e.Sender
	if e.Nonce != nil {
		s += fmt.Sprintf(" nonce %d", *e.Nonce)
	}
	if len(e.Messages) > 0 {
		s += " " + strings.Join(e.Messages, ",")
	}
	if e.CodeName != "" {
		s += " (failed: " + e.CodeName + ")"
	}
	return s
}

func cliTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
