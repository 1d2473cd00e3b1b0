package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/cometbft/cometbft/types"
	"github.com/spf13/cobra"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/client"
	"github.com/lianchain/lian/modules/attest"
	"github.com/lianchain/lian/modules/evidence"
	"github.com/lianchain/lian/modules/gov"
	"github.com/lianchain/lian/modules/message"
	"github.com/lianchain/lian/modules/xchain"
	"github.com/lianchain/lian/relayer"
)

// The cross-chain commands: `lian tx xchain attest|send-message`, `lian query xchain …`,
// and the flags of the create_client, replace_client, open_route and close_route
// proposals of `lian tx gov propose`. See docs/cross-chain.md.

// newXchainTxCmd is `lian tx xchain`.
func newXchainTxCmd(g *globals, tf *txFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "xchain", Short: "Cross-chain transactions: attestations and messages to other chains"}
	cmd.AddCommand(newXchainAttestCmd(g, tf), newXchainSendCmd(g, tf))
	return cmd
}

// xchainRoute returns the route to use: --route if given, else the open route of port
// whose client follows the chain --to.
func xchainRoute(cmd *cobra.Command, g *globals, tf *txFlags, port, to, route string) (string, error) {
	if route != "" {
		return route, nil
	}
	if to == "" {
		return "", errors.New("give the chain to ask with --to CHAIN (or the route with --route)")
	}
	r, err := client.New(g.gateway).FindRoute(cmd.Context(), tf.chain, port, to)
	if err != nil {
		return "", err
	}
	return r.ID, nil
}

// packetExtra adds what a sent packet's events say: the route, sequence and timeout.
func packetExtra(extra *txExtra, res *api.TxResult) error {
	p, err := client.PacketOf(res)
	if err != nil {
		return err
	}
	extra.add("route", p.SourceRoute, p.SourceRoute)
	extra.add("sequence", strconv.FormatUint(p.Sequence, 10), p.Sequence)
	extra.add("packet", p.ID(), p.ID())
	if p.TimeoutTime != 0 {
		t := time.Unix(0, int64(p.TimeoutTime)).UTC().Format(time.RFC3339)
		extra.add("timeout", t+" (the other chain's block time)", t)
	}
	return nil
}

func newXchainAttestCmd(g *globals, tf *txFlags) *cobra.Command {
	var (
		to, route, digHex, file, hashAlgo string
		timeout, await                    time.Duration
	)
	cmd := &cobra.Command{
		Use:   "attest",
		Short: "Ask another chain whether a document digest is anchored there",
		Long: `Ask the chain --to whether a document's digest is anchored there. The question
travels as a packet on the open attest route to that chain (or --route); the other
chain's answer, proven against its validators' signatures, is stored on --chain, where
"lian query xchain attestation DIGEST --source TO" shows it once a relayer carried it
back (usually within seconds). Give the digest with --digest (32 bytes, hex) or let it be
computed here from --file. The output names the packet's route and sequence
("lian query xchain packet" follows it). With --await D, the command then waits up to D
for the answer and prints it (found or not, and the proof height); a request that
failed or timed out makes it exit non-zero.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := tf.check(); err != nil {
				return err
			}
			digest, err := cliDigest("--digest", digHex, "--file", file, hashAlgo)
			if err != nil {
				return fmt.Errorf("nothing to ask about: %w", err)
			}
			r, err := xchainRoute(cmd, g, tf, attest.Name, to, route)
			if err != nil {
				return cliFail(cmd, g, err)
			}
			msg, err := client.NewAttest(r, digest, timeout)
			if err != nil {
				return err
			}
			d := strings.ToUpper(hex.EncodeToString(digest))
			var extra txExtra
			extra.add("digest", d, d)
			if to != "" {
				extra.add("to", to, to)
			}
			if await > 0 && !tf.wait {
				return errors.New("--await needs the transaction's commit: drop --wait=false")
			}
			return tf.submit(cmd, g, &extra, func(res *api.TxResult) error {
				if err := packetExtra(&extra, res); err != nil {
					return err
				}
				if await <= 0 {
					return nil
				}
				return awaitAnswer(cmd.Context(), client.New(g.gateway), tf.chain, res, digest, await, &extra)
			}, msg)
		},
	}
	f := cmd.Flags()
	f.DurationVar(&await, "await", 0, "wait up to this long for the answer and print it (0: do not wait)")
	f.StringVar(&to, "to", "", "the chain to ask (its open attest route is used)")
	f.StringVar(&route, "route", "", "the attest route to use (default: the one to --to)")
	f.StringVar(&digHex, "digest", "", "the document's digest, 32 bytes hex")
	f.StringVar(&file, "file", "", "the document; its digest is computed locally")
	f.StringVar(&hashAlgo, "hash", evidence.HashSHA256, "digest algorithm of --file: sha256 or sm3")
	f.DurationVar(&timeout, "timeout", 0, "how long the answer may take, in the other chain's time (whole seconds, at most 168h; default 10m)")
	return cmd
}

// awaitPacket calls settled with the packet the transaction res sent, every 300 ms, up to
// d, until it reports the packet settled (or an error); with nothing settled by then it
// fails.
func awaitPacket(ctx context.Context, res *api.TxResult, d time.Duration, settled func(ctx context.Context, p *xchain.Packet) (bool, error)) error {
	p, err := client.PacketOf(res)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	for {
		done, err := settled(ctx, p)
		if err != nil && ctx.Err() == nil {
			return err
		}
		if done && err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no answer within %v (the packet is pending: is a relayer running?)", d)
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// awaitAnswer waits, up to d, until the attestation request the transaction res made
// is settled, and adds its outcome to extra: an answered request's attestation, or an
// error for a failed or timed-out one.
func awaitAnswer(ctx context.Context, c *client.Client, chain string, res *api.TxResult, digest []byte, d time.Duration, extra *txExtra) error {
	return awaitPacket(ctx, res, d, func(ctx context.Context, p *xchain.Packet) (bool, error) {
		req, _, err := c.AttestRequest(ctx, chain, p.SourceRoute, p.Sequence)
		if err != nil {
			return false, err
		}
		switch req.Status {
		case attest.StatusPending:
			return false, nil
		case attest.StatusAnswered:
		default:
			extra.add("status", req.Status, req.Status)
			return true, fmt.Errorf("the attestation request %s: %s", req.Status, req.Error)
		}
		a, err := c.AttestationRecord(ctx, chain, req.ChainID, digest)
		if err != nil {
			return false, err
		}
		att := a.Attestation
		extra.add("status", req.Status, req.Status)
		found := "no: the digest is not anchored on " + att.ChainID
		if att.Found {
			found = fmt.Sprintf("yes: anchored on %s at height %d (%s)", att.ChainID, att.Record.Height, att.Record.Time)
		}
		extra.add("found", found, att.Found)
		if att.Record != nil {
			extra.add("record", cliCompact(recordJSON(att.Record)), att.Record)
		}
		extra.add("proof_height", fmt.Sprintf("%d (of %s)", att.ProofHeight, att.ChainID), att.ProofHeight)
		return true, nil
	})
}

// awaitDelivery waits, up to d, until the message the transaction res sent is settled,
// and adds its status to extra; a refused or timed-out message is an error.
func awaitDelivery(ctx context.Context, c *client.Client, chain string, res *api.TxResult, d time.Duration, extra *txExtra) error {
	return awaitPacket(ctx, res, d, func(ctx context.Context, p *xchain.Packet) (bool, error) {
		m, _, err := c.SentMessage(ctx, chain, p.SourceRoute, p.Sequence)
		if err != nil {
			return false, err
		}
		switch m.Status {
		case message.StatusSent:
			return false, nil
		case message.StatusDelivered:
			extra.add("status", m.Status, m.Status)
			return true, nil
		default:
			extra.add("status", m.Status, m.Status)
			return true, fmt.Errorf("the message was %s: %s", strings.ReplaceAll(m.Status, "_", " "), m.Error)
		}
	})
}

// recordJSON encodes a record for display.
func recordJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

func newXchainSendCmd(g *globals, tf *txFlags) *cobra.Command {
	var (
		to, route, handler, payloadFile, payload string
		timeout, await                           time.Duration
	)
	cmd := &cobra.Command{
		Use:   "send-message",
		Short: "Send a payload to a named handler on another chain",
		Long: `Send a payload (--payload-file, or --payload as text; at most 60 KiB) to the handler
--handler on the chain --to, on the open message route to it (or --route). The other
chain keeps it in the handler's inbox ("lian query xchain inbox" there); this chain
records whether it was delivered, refused or timed out ("lian query xchain message").
With --await D, the command then waits up to D for that outcome and prints it; a refused
or timed-out message makes it exit non-zero.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := tf.check(); err != nil {
				return err
			}
			var data []byte
			switch {
			case payloadFile != "" && payload != "":
				return errors.New("give either --payload-file or --payload, not both")
			case payloadFile != "":
				b, err := os.ReadFile(payloadFile)
				if err != nil {
					return fmt.Errorf("--payload-file: %w", err)
				}
				data = b
			case payload != "":
				data = []byte(payload)
			default:
				return errors.New("nothing to send: give --payload-file F or --payload TEXT")
			}
			if handler == "" {
				return errors.New(`required flag "--handler" not set`)
			}
			r, err := xchainRoute(cmd, g, tf, message.Name, to, route)
			if err != nil {
				return cliFail(cmd, g, err)
			}
			msg, err := client.NewSendMessage(r, handler, data, timeout)
			if err != nil {
				return err
			}
			var extra txExtra
			extra.add("handler", handler, handler)
			extra.add("payload_bytes", strconv.Itoa(len(data)), len(data))
			if to != "" {
				extra.add("to", to, to)
			}
			if await > 0 && !tf.wait {
				return errors.New("--await needs the transaction's commit: drop --wait=false")
			}
			return tf.submit(cmd, g, &extra, func(res *api.TxResult) error {
				if err := packetExtra(&extra, res); err != nil {
					return err
				}
				if await <= 0 {
					return nil
				}
				return awaitDelivery(cmd.Context(), client.New(g.gateway), tf.chain, res, await, &extra)
			}, msg)
		},
	}
	f := cmd.Flags()
	f.DurationVar(&await, "await", 0, "wait up to this long for the delivery and print its outcome (0: do not wait)")
	f.StringVar(&to, "to", "", "the chain to send to (its open message route is used)")
	f.StringVar(&route, "route", "", "the message route to use (default: the one to --to)")
	f.StringVar(&handler, "handler", "", "the handler on the other chain: 1-64 of a-z, 0-9, '.', '_', '-' (required)")
	f.StringVar(&payloadFile, "payload-file", "", "a file whose bytes are the payload")
	f.StringVar(&payload, "payload", "", "the payload, as text")
	f.DurationVar(&timeout, "timeout", 0, "how long delivery may take, in the other chain's time (whole seconds, at most 168h; default 10m)")
	return cmd
}

// newQueryXchainCmd is `lian query xchain`.
func newQueryXchainCmd(g *globals, chain *string) *cobra.Command {
	cmd := &cobra.Command{Use: "xchain", Short: "Cross-chain state: light clients, routes, packets, attestations, messages"}
	var seq uint64
	var route string
	needRouteSeq := func() error {
		switch {
		case route == "" && seq == 0:
			return errors.New("give --route R and --sequence N")
		case route == "":
			return errors.New(`required flag "--route" not set`)
		case seq == 0:
			return errors.New(`required flag "--sequence" not set (sequences start at 1)`)
		}
		return nil
	}
	routeSeqFlags := func(c *cobra.Command) {
		c.Flags().StringVar(&route, "route", "", "route id on --chain (required)")
		c.Flags().Uint64Var(&seq, "sequence", 0, "packet sequence on the route (required)")
	}

	clients := &cobra.Command{
		Use:   "clients",
		Short: "List the chain's light clients of other chains: status, latest height and time, trusting period",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			list, err := client.New(g.gateway).AllLightClients(cmd.Context(), *chain)
			if err != nil {
				return cliFail(cmd, g, err)
			}
			doc := struct {
				Clients []xchain.ClientView `json:"clients"`
			}{list}
			if doc.Clients == nil {
				doc.Clients = []xchain.ClientView{}
			}
			return g.print(cmd.OutOrStdout(), doc, func(w io.Writer) {
				if len(list) == 0 {
					fmt.Fprintln(w, "no clients (governance creates them: lian tx gov propose create_client)")
					return
				}
				tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "CLIENT\tCHAIN\tSTATUS\tLATEST_HEIGHT\tPROVEN_HEIGHT\tLATEST_TIME\tTRUSTING_PERIOD\tCLOCK_DRIFT\tTRUST_LEVEL")
				for _, c := range list {
					lt := "-"
					if c.Latest != nil {
						lt = c.Latest.Time.UTC().Format(time.RFC3339)
					}
					status := c.Status
					if c.Frozen {
						status += fmt.Sprintf(" (height %d: %s)", c.FrozenHeight, c.FrozenReason)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\t%d/%d\n", c.ID, c.ChainID, status, c.LatestHeight, c.Proven(), lt,
						time.Duration(c.TrustingPeriod), time.Duration(c.MaxClockDrift), c.TrustLevel.Numerator, c.TrustLevel.Denominator)
				}
				_ = tw.Flush()
			})
		},
	}

	routes := &cobra.Command{
		Use:   "routes",
		Short: "List the chain's routes: port, client, counterparty, status",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			list, err := client.New(g.gateway).AllRoutes(cmd.Context(), *chain)
			if err != nil {
				return cliFail(cmd, g, err)
			}
			doc := struct {
				Routes []xchain.Route `json:"routes"`
			}{list}
			if doc.Routes == nil {
				doc.Routes = []xchain.Route{}
			}
			return g.print(cmd.OutOrStdout(), doc, func(w io.Writer) {
				if len(list) == 0 {
					fmt.Fprintln(w, "no routes (governance opens them: lian tx gov propose open_route)")
					return
				}
				tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "ROUTE\tPORT\tCLIENT\tCOUNTERPARTY_ROUTE\tCOUNTERPARTY_PORT\tORDERED\tSTATUS\tOPENED")
				for _, r := range list {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%v\t%s\t%d\n", r.ID, r.Port, r.Client, r.CounterpartyRoute, r.CounterpartyPort, r.Ordered, r.Status, r.OpenedHeight)
				}
				_ = tw.Flush()
			})
		},
	}

	packet := &cobra.Command{
		Use:   "packet",
		Short: "Show a packet's state on this chain: sent, acknowledged, timed out; received",
		Long: `Show what --chain knows of the packet --sequence on its route --route: as the
packet's source, its state (sent: waiting for the other chain's acknowledgement;
acknowledged; timed_out) and outcome; as its destination, whether it was received and
the hash of the acknowledgement written.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := needRouteSeq(); err != nil {
				return err
			}
			p, err := client.New(g.gateway).Packet(cmd.Context(), *chain, route, seq)
			if err != nil {
				return cliFail(cmd, g, err)
			}
			return g.print(cmd.OutOrStdout(), p, func(w io.Writer) { cliWriteKV(w, packetRows(&p.Packet, p.Height)) })
		},
	}
	routeSeqFlags(packet)

	var lq client.PageQuery
	packets := &cobra.Command{
		Use:   "packets",
		Short: "List the packets this chain sent on a route, newest first, with their state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if route == "" {
				return errors.New(`required flag "--route" not set`)
			}
			l, err := client.New(g.gateway).Packets(cmd.Context(), *chain, route, lq)
			if err != nil {
				return cliFail(cmd, g, err)
			}
			return g.print(cmd.OutOrStdout(), l, func(w io.Writer) {
				if len(l.Packets) == 0 {
					fmt.Fprintf(w, "no packets sent on %s\n", route)
					return
				}
				tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "SEQUENCE\tSTATE\tSETTLED\tPROOF_HEIGHT\tERROR")
				for _, p := range l.Packets {
					settled, proof, errText := "-", "-", ""
					if o := p.Outcome; o != nil {
						settled, proof = strconv.FormatInt(o.Height, 10), strconv.FormatInt(o.ProofHeight, 10)
						errText = o.AckError + o.AppError
					}
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", p.Sequence, p.State, settled, proof, errText)
				}
				_ = tw.Flush()
				if l.Next != "" {
					fmt.Fprintf(w, "next page: --cursor %s\n", l.Next)
				}
			})
		},
	}
	packets.Flags().StringVar(&route, "route", "", "route id on --chain (required)")
	packets.Flags().IntVar(&lq.Limit, "limit", 0, "packets per page, 1..100 (default 20)")
	packets.Flags().StringVar(&lq.Cursor, "cursor", "", "list the packets below this sequence (the next page)")

	var pq client.PageQuery
	pending := &cobra.Command{
		Use:   "pending",
		Short: "List the sequences of a route's packets not yet acknowledged or timed out",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if route == "" {
				return errors.New(`required flag "--route" not set`)
			}
			p, err := client.New(g.gateway).PendingPackets(cmd.Context(), *chain, route, pq)
			if err != nil {
				return cliFail(cmd, g, err)
			}
			return g.print(cmd.OutOrStdout(), p, func(w io.Writer) {
				s := make([]string, len(p.Sequences))
				for i, n := range p.Sequences {
					s[i] = strconv.FormatUint(n, 10)
				}
				rows := []cliKV{{"route", route}, {"pending", strconv.Itoa(len(s))}, {"sequences", strings.Join(s, " ")}, {"height", strconv.FormatInt(p.Height, 10)}}
				if p.Next != "" {
					rows = append(rows, cliKV{"next_page", "--cursor " + p.Next})
				}
				cliWriteKV(w, rows)
			})
		},
	}
	pending.Flags().StringVar(&route, "route", "", "route id on --chain (required)")
	pending.Flags().IntVar(&pq.Limit, "limit", 0, "sequences per page, 1..1000 (default 100)")
	pending.Flags().StringVar(&pq.Cursor, "cursor", "", "the sequence to list from (the next page)")

	request := &cobra.Command{
		Use:   "request",
		Short: "Show an attestation this chain asked for, by its packet: pending, answered, failed or timed out",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := needRouteSeq(); err != nil {
				return err
			}
			r, h, err := client.New(g.gateway).AttestRequest(cmd.Context(), *chain, route, seq)
			if err != nil {
				return cliFail(cmd, g, err)
			}
			return g.print(cmd.OutOrStdout(), xRecordOutput{r, h}, func(w io.Writer) { cliWriteKV(w, recordRows(r, h)) })
		},
	}
	routeSeqFlags(request)

	sentMsg := &cobra.Command{
		Use:   "message",
		Short: "Show a message this chain sent, by its packet: sent, delivered, refused or timed out",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := needRouteSeq(); err != nil {
				return err
			}
			m, h, err := client.New(g.gateway).SentMessage(cmd.Context(), *chain, route, seq)
			if err != nil {
				return cliFail(cmd, g, err)
			}
			return g.print(cmd.OutOrStdout(), xRecordOutput{m, h}, func(w io.Writer) { cliWriteKV(w, recordRows(m, h)) })
		},
	}
	routeSeqFlags(sentMsg)

	var handler string
	inbox := &cobra.Command{
		Use:   "inbox",
		Short: "Show a message delivered to a handler of this chain",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := needRouteSeq(); err != nil {
				return err
			}
			if handler == "" {
				return errors.New(`required flag "--handler" not set`)
			}
			m, h, err := client.New(g.gateway).InboxMessage(cmd.Context(), *chain, handler, route, seq)
			if err != nil {
				return cliFail(cmd, g, err)
			}
			return g.print(cmd.OutOrStdout(), xRecordOutput{m, h}, func(w io.Writer) {
				rows := recordRows(m, h)
				for i := range rows {
					if rows[i].k == "payload" { // base64 in JSON; text if it is text
						rows[i].v = cliPayload(m.Payload)
					}
				}
				cliWriteKV(w, rows)
			})
		},
	}
	routeSeqFlags(inbox)
	inbox.Flags().StringVar(&handler, "handler", "", "the handler (required)")

	cmd.AddCommand(clients, routes, packet, packets, pending, request, sentMsg, inbox, newQueryAttestationCmd(g, chain))
	return cmd
}

// xRecordOutput is what the record queries print in JSON: the record and its height.
type xRecordOutput struct {
	Record any   `json:"record"`
	Height int64 `json:"height"`
}

// recordRows shows a record's fields and the state height.
func recordRows(rec any, height int64) []cliKV {
	b, _ := json.Marshal(rec)
	return append(cliJSONRows("", b), cliKV{"state_height", strconv.FormatInt(height, 10)})
}

// cliPayload shows a payload as text if it is printable UTF-8, else as hex.
func cliPayload(b []byte) string {
	s := strings.TrimRight(string(b), "\n")
	for _, r := range s {
		if r == '\uFFFD' || r < ' ' && r != '\n' && r != '\t' {
			return "0x" + hex.EncodeToString(b)
		}
	}
	return s
}

// packetRows shows a packet view.
func packetRows(p *xchain.PacketView, height int64) []cliKV {
	state := p.State
	if state == "" {
		state = "- (not sent by this chain)"
	} else if state == xchain.PacketPending {
		state += " (waiting for the other chain's acknowledgement)"
	}
	rows := []cliKV{{"route", p.Route}, {"sequence", strconv.FormatUint(p.Sequence, 10)}, {"state", state}}
	if p.Commitment != nil {
		rows = append(rows, cliKV{"commitment", strings.ToUpper(hex.EncodeToString(p.Commitment))})
	}
	if o := p.Outcome; o != nil {
		rows = append(rows, cliKV{"settled_height", strconv.FormatInt(o.Height, 10)}, cliKV{"proof_height", strconv.FormatInt(o.ProofHeight, 10)})
		if o.AckError != "" {
			rows = append(rows, cliKV{"ack_error", o.AckError})
		}
		if o.AppError != "" {
			rows = append(rows, cliKV{"app_error", o.AppError})
		}
	}
	rows = append(rows, cliKV{"received", strconv.FormatBool(p.Received) + " (a packet of this sequence from the other chain)"})
	if p.AckHash != nil {
		rows = append(rows, cliKV{"ack_hash", strings.ToUpper(hex.EncodeToString(p.AckHash))})
	}
	return append(rows, cliKV{"state_height", strconv.FormatInt(height, 10)})
}

// attestationOutput is what `lian query xchain attestation` prints.
type attestationOutput struct {
	Attestation json.RawMessage  `json:"attestation"`
	Height      int64            `json:"height"`
	Verified    *bool            `json:"verified,omitempty"`
	Error       string           `json:"error,omitempty"`
	Summary     *client.Verified `json:"verification,omitempty"`
}

func newQueryAttestationCmd(g *globals, chain *string) *cobra.Command {
	var (
		source, file, hashAlgo string
		prove                  bool
	)
	cmd := &cobra.Command{
		Use:   "attestation [DIGEST]",
		Short: "Show another chain's proven answer about a digest, as this chain stored it",
		Long: `Show what the chain --source answered, through the attest application, about DIGEST
(or the digest of --file): found, with its evidence record on --source, or not found; and
the height of --source whose app hash proved the answer to --chain's light client.

With --prove, the gateway adds an ICS-23 proof of the stored answer against a header of
--chain, and this command checks it here as "lian query evidence --prove" does (the
validator set pinned by <home>/trust/<chain>.json when there is one).

No answer stored is an error with code not_found: the question was never asked, or is
not answered yet ("lian query xchain request" follows it).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if source == "" {
				return errors.New(`required flag "--source" not set (the chain that answered)`)
			}
			var arg string
			if len(args) == 1 {
				arg = args[0]
			}
			digest, err := cliDigest("DIGEST", arg, "--file", file, hashAlgo)
			if err != nil {
				return err
			}
			a, err := client.New(g.gateway).Attestation(cmd.Context(), *chain, source, digest, prove)
			if err != nil {
				return cliFail(cmd, g, err)
			}
			out := attestationOutput{Attestation: a.Attestation, Height: a.Height}
			var verr error
			if prove {
				var opts client.VerifyOptions
				t, err := client.LoadTrust(client.TrustDir(g.home), *chain)
				if err != nil {
					return err
				}
				if t != nil {
					opts.TrustedValidatorsHash, opts.Trust = t.ValidatorsHash, t
				}
				v, _, err := client.VerifyAttestation(*chain, source, digest, a, opts)
				ok := err == nil
				out.Verified = &ok
				if err != nil {
					out.Error = err.Error()
					verr = fmt.Errorf("attestation NOT verified: %w", err)
				} else {
					out.Summary = v
					if !v.ValidatorsTrusted {
						fmt.Fprintf(cmd.ErrOrStderr(), "warning: the validator set (hash %X) came from the gateway; pin it with a trust file (<home>/trust/<chain>.json)\n", []byte(v.ValidatorsHash))
					}
				}
			}
			if err := g.print(cmd.OutOrStdout(), out, func(w io.Writer) {
				var att attest.Attestation
				_ = json.Unmarshal(a.Attestation, &att)
				found := "no: the digest is not anchored on " + att.ChainID
				if att.Found {
					found = "yes: anchored on " + att.ChainID
				}
				rows := []cliKV{{"source", att.ChainID}, {"digest", att.Digest.String()}, {"found", found}}
				if att.Record != nil {
					b, _ := json.Marshal(att.Record)
					rows = append(rows, cliJSONRows("record.", b)...)
				}
				rows = append(rows,
					cliKV{"proof_height", strconv.FormatInt(att.ProofHeight, 10) + " (of " + att.ChainID + ")"},
					cliKV{"packet", fmt.Sprintf("%s/%d", att.Route, att.Sequence)},
					cliKV{"requester", att.Requester.String()},
					cliKV{"stored_height", strconv.FormatInt(att.Height, 10)},
					cliKV{"stored_time", att.Time},
					cliKV{"state_height", strconv.FormatInt(a.Height, 10)})
				if out.Verified != nil {
					rows = append(rows, cliKV{"verified", strconv.FormatBool(*out.Verified)})
				}
				if out.Error != "" {
					rows = append(rows, cliKV{"error", out.Error})
				}
				if v := out.Summary; v != nil {
					rows = append(rows,
						cliKV{"header_height", strconv.FormatInt(v.HeaderHeight, 10)},
						cliKV{"app_hash", v.AppHash.String()},
						cliKV{"validators_hash", v.ValidatorsHash.String()},
						cliKV{"validators_trusted", strconv.FormatBool(v.ValidatorsTrusted)},
						cliKV{"signed_power", fmt.Sprintf("%d of %d", v.SignedPower, v.TotalPower)})
				}
				cliWriteKV(w, rows)
			}); err != nil {
				return err
			}
			return verr
		},
	}
	f := cmd.Flags()
	f.StringVar(&source, "source", "", "the chain that answered (required)")
	f.StringVar(&file, "file", "", "a document whose digest to look up (computed locally)")
	f.StringVar(&hashAlgo, "hash", evidence.HashSHA256, "digest algorithm of --file: sha256 or sm3")
	f.BoolVar(&prove, "prove", false, "ask for a proof of the stored answer and verify it locally")
	return cmd
}

// xchainProposalFlags are the flags of the create_client, replace_client, open_route and
// close_route proposals.
type xchainProposalFlags struct {
	id                                    string
	counterpartyRPC, counterpartyGW, peer string
	height                                int64
	trustingPeriod, maxClockDrift         time.Duration
	trustLevel                            string
	port, client, cpRoute, cpPort         string
	ordered                               bool
}

var xchainClientFlags = []string{"id", "counterparty-rpc", "counterparty-gateway", "counterparty", "height", "trusting-period", "max-clock-drift", "trust-level"}

func init() {
	proposalKindFlags[gov.KindCreateClient] = xchainClientFlags
	proposalKindFlags[gov.KindReplaceClient] = xchainClientFlags
	proposalKindFlags[gov.KindOpenRoute] = []string{"id", "port", "client", "counterparty-route", "counterparty-port", "ordered"}
	proposalKindFlags[gov.KindCloseRoute] = []string{"id"}
	allProposalKindFlags = append(allProposalKindFlags, xchainClientFlags...)
	allProposalKindFlags = append(allProposalKindFlags, "port", "client", "counterparty-route", "counterparty-port", "ordered")
}

// register adds the flags to `lian tx gov propose` and their kinds to its help.
func (xf *xchainProposalFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&xf.id, "id", "", "client id (create_client, replace_client; default: the counterparty's chain id) or route id (open_route, close_route)")
	f.StringVar(&xf.counterpartyRPC, "counterparty-rpc", "", "create_client, replace_client: a CometBFT RPC URL of a node of the chain to trust")
	f.StringVar(&xf.counterpartyGW, "counterparty-gateway", "", "create_client, replace_client: a gateway serving the chain to trust")
	f.StringVar(&xf.peer, "counterparty", "", "create_client, replace_client: the chain id to trust at --counterparty-gateway (default: its one chain other than --chain)")
	f.Int64Var(&xf.height, "height", 0, "create_client, replace_client: the header to trust (default: the latest)")
	f.DurationVar(&xf.trustingPeriod, "trusting-period", 336*time.Hour, "create_client, replace_client: how long a header is trusted without an update")
	f.DurationVar(&xf.maxClockDrift, "max-clock-drift", relayer.DefaultMaxClockDrift,
		"create_client, replace_client: how far ahead of this chain's block time a header may be (the clocks' skew plus the chain's empty-block interval)")
	f.StringVar(&xf.trustLevel, "trust-level", "1/3", "create_client, replace_client: share of a trusted validator set's power that must sign a skipping header")
	f.StringVar(&xf.port, "port", "", "open_route: the local application, attest or message")
	f.StringVar(&xf.client, "client", "", "open_route: the client of the other chain")
	f.StringVar(&xf.cpRoute, "counterparty-route", "", "open_route: the route's id on the other chain")
	f.StringVar(&xf.cpPort, "counterparty-port", "", "open_route: the application on the other chain (default: --port)")
	f.BoolVar(&xf.ordered, "ordered", false, "open_route: deliver packets in order (a timeout then closes the route)")
	cmd.Long += `

Cross-chain kinds (docs/cross-chain.md); their content is printed for the voters to check:

  create_client, replace_client
                       --counterparty-rpc URL | --counterparty-gateway URL [--counterparty CHAIN]
                       [--height H] [--trusting-period 336h] [--max-clock-drift 10s]
                       [--trust-level 1/3] [--id CLIENT]
                       (the header of height H of the other chain is fetched and checked:
                       with an RPC URL, its commit against its validator set)
  open_route           --id R --port attest|message --client CLIENT --counterparty-route R2
                       [--counterparty-port PORT] [--ordered]
  close_route          --id R

Kinds may be written with '-' for '_' (create-client).`
}

// build returns the content of a cross-chain kind from its flags.
func (xf *xchainProposalFlags) build(cmd *cobra.Command, g *globals, kind string) (any, error) {
	need := func(names ...string) error {
		for _, n := range names {
			if !cmd.Flags().Changed(n) {
				return fmt.Errorf("%s needs --%s", kind, n)
			}
		}
		return nil
	}
	switch kind {
	case gov.KindCloseRoute:
		if err := need("id"); err != nil {
			return nil, err
		}
		return gov.RouteRef{ID: xf.id}, nil
	case gov.KindOpenRoute:
		if err := need("id", "port", "client", "counterparty-route"); err != nil {
			return nil, err
		}
		cp := xf.cpPort
		if cp == "" {
			cp = xf.port
		}
		return gov.RouteContent{RouteParams: xchain.RouteParams{ID: xf.id, Port: xf.port, Client: xf.client,
			CounterpartyRoute: xf.cpRoute, CounterpartyPort: cp, Ordered: xf.ordered}}, nil
	}
	// create_client, replace_client.
	var tl xchain.Fraction
	n, d, ok := strings.Cut(xf.trustLevel, "/")
	num, err1 := strconv.ParseUint(n, 10, 64)
	den, err2 := strconv.ParseUint(d, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return nil, fmt.Errorf("--trust-level %q: expected a fraction such as 1/3 or 2/3", xf.trustLevel)
	}
	tl = xchain.Fraction{Numerator: num, Denominator: den}
	var (
		cs    *xchain.ConsensusState
		peer  string
		err   error
		ctx   = cmd.Context()
		chain string
	)
	if f := cmd.Flag("chain"); f != nil {
		chain = f.Value.String()
	}
	switch {
	case xf.counterpartyRPC != "" && xf.counterpartyGW != "":
		return nil, errors.New("give either --counterparty-rpc or --counterparty-gateway, not both")
	case xf.counterpartyRPC != "":
		if xf.peer != "" {
			return nil, errors.New("--counterparty names a chain at --counterparty-gateway; a node's RPC serves one chain")
		}
		cs, peer, err = rpcConsensusState(ctx, xf.counterpartyRPC, xf.height)
	case xf.counterpartyGW != "":
		cs, peer, err = gatewayConsensusState(ctx, xf.counterpartyGW, xf.peer, chain, xf.height)
	default:
		return nil, fmt.Errorf("%s needs the header to trust: --counterparty-rpc URL or --counterparty-gateway URL", kind)
	}
	if err != nil {
		return nil, err
	}
	p := xchain.ClientParams{ID: xf.id, ChainID: peer, TrustLevel: &tl, TrustingPeriod: xchain.Duration(xf.trustingPeriod),
		MaxClockDrift: xchain.Duration(xf.maxClockDrift), ConsensusState: cs}
	if kind == gov.KindReplaceClient && p.ID == "" {
		p.ID = peer
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", kind, err)
	}
	return gov.ClientContent{ClientParams: p}, nil
}

// gatewayConsensusState reads the header to trust from a gateway: of chain peer (default:
// the gateway's one chain other than self).
func gatewayConsensusState(ctx context.Context, url, peer, self string, height int64) (*xchain.ConsensusState, string, error) {
	c := client.New(url)
	if peer == "" {
		chains, err := c.Chains(ctx)
		if err != nil {
			return nil, "", fmt.Errorf("--counterparty-gateway: %w", err)
		}
		var others []string
		for _, ch := range chains.Chains {
			if ch.ID != self {
				others = append(others, ch.ID)
			}
		}
		if len(others) != 1 {
			return nil, "", fmt.Errorf("--counterparty-gateway serves %v: name the chain to trust with --counterparty", others)
		}
		peer = others[0]
	}
	cs, _, err := c.TrustedHeader(ctx, peer, height)
	if err != nil {
		return nil, "", fmt.Errorf("header of %s at %s: %w", peer, url, err)
	}
	return cs, peer, nil
}

// rpcConsensusState reads the header to trust from a node's CometBFT RPC and checks its
// commit: signatures of more than 2/3 of the power of the validator set the header
// names.
func rpcConsensusState(ctx context.Context, url string, height int64) (*xchain.ConsensusState, string, error) {
	rc, err := rpchttp.New(url, "/websocket")
	if err != nil {
		return nil, "", fmt.Errorf("--counterparty-rpc: %w", err)
	}
	var hp *int64
	if height > 0 {
		hp = &height
	}
	res, err := rc.Commit(ctx, hp)
	if err != nil {
		return nil, "", fmt.Errorf("--counterparty-rpc %s: commit: %w", url, err)
	}
	sh := &res.SignedHeader
	if sh.Header == nil || sh.Commit == nil {
		return nil, "", fmt.Errorf("--counterparty-rpc %s: no signed header at height %d", url, height)
	}
	if err := sh.ValidateBasic(sh.ChainID); err != nil {
		return nil, "", fmt.Errorf("--counterparty-rpc %s: signed header: %w", url, err)
	}
	h := sh.Height
	var vals []*types.Validator
	for page := 1; ; page++ {
		perPage := 100
		vr, err := rc.Validators(ctx, &h, &page, &perPage)
		if err != nil {
			return nil, "", fmt.Errorf("--counterparty-rpc %s: validators of %d: %w", url, h, err)
		}
		vals = append(vals, vr.Validators...)
		if len(vals) >= vr.Total || len(vr.Validators) == 0 {
			break
		}
	}
	vs := types.NewValidatorSet(vals)
	if !bytes.Equal(vs.Hash(), sh.ValidatorsHash) {
		return nil, "", fmt.Errorf("--counterparty-rpc %s: the validators of %d do not hash to the header's validators hash", url, h)
	}
	if err := vs.VerifyCommitLight(sh.ChainID, sh.Commit.BlockID, h, sh.Commit); err != nil {
		return nil, "", fmt.Errorf("--counterparty-rpc %s: commit of %d: %w", url, h, err)
	}
	return client.ConsensusStateOf(sh.Header), sh.ChainID, nil
}
