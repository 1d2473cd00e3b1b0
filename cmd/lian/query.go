package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lianchain/lian/client"
	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/modules/evidence"
)

func init() { commands = append(commands, newQueryCmd) }

func newQueryCmd(g *globals) *cobra.Command {
	var chain string
	cmd := &cobra.Command{
		Use:   "query",
		Short: "Read chain state through the gateway",
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if pre := cmd.Root().PersistentPreRunE; pre != nil { // cobra runs only the nearest hook
				if err := pre(cmd, args); err != nil {
					return err
				}
			}
			if chain == "" {
				return errors.New(`required flag(s) "--chain" not set`)
			}
			return nil
		},
	}
	cmd.PersistentFlags().StringVar(&chain, "chain", "", "chain id (required)")
	cmd.AddCommand(
		newQueryEvidenceCmd(g, &chain),
		newQueryTxCmd(g, &chain),
		newQueryBlockCmd(g, &chain),
		newQueryAccountCmd(g, &chain),
		newQueryAccountTxsCmd(g, &chain),
		newQueryGovCmd(g, &chain),
		newQueryConsensusParamsCmd(g, &chain),
		newQueryCreditsCmd(g, &chain),
		newQueryValidatorsCmd(g, &chain),
		newQueryOrgsCmd(g, &chain),
		newQueryXchainCmd(g, &chain),
	)
	return cmd
}

// evidenceOutput is what `lian query evidence` prints; with --prove, the verification
// summary's fields are flattened into it.
type evidenceOutput struct {
	Height   int64           `json:"height"`
	Record   json.RawMessage `json:"record"`
	Verified *bool           `json:"verified,omitempty"`
	Error    string          `json:"error,omitempty"`
	// Document is set with --inclusion: the document shown to be in the anchored batch.
	Document *documentOutput `json:"document,omitempty"`
	summary  *client.Verified
}

// documentOutput is the result of checking a batch inclusion proof.
type documentOutput struct {
	Name     string `json:"name,omitempty"`
	Digest   string `json:"digest"`
	Index    int64  `json:"index"`
	Total    int64  `json:"total"`
	Verified bool   `json:"verified"`
}

// MarshalJSON adds the summary's fields (but its record) to the output's.
func (o evidenceOutput) MarshalJSON() ([]byte, error) {
	type plain evidenceOutput
	if o.summary == nil {
		return json.Marshal(plain(o))
	}
	s := *o.summary
	s.Record = nil // printed once, as the gateway sent it
	return cliMerge(plain(o), s)
}

func newQueryEvidenceCmd(g *globals, chain *string) *cobra.Command {
	var (
		prove          bool
		file, hashAlgo string
		trusted        string
		inclusionFile  string
	)
	cmd := &cobra.Command{
		Use:   "evidence [DIGEST]",
		Short: "Show the evidence record of a digest; with --prove, verify its proof here",
		Long: `Show the evidence record anchored for DIGEST (32 bytes, hex), or for the digest of
--file (--hash sha256 or sm3).

With --prove, the gateway returns an ICS-23 proof of the record, the signed header of the
next block and its validator set, and this command checks all of it locally: the proof
against the header's app hash, and signatures of more than 2/3 of the validators' power on
the header. It prints "verified": true with a summary, or fails and says why. The
validator set must be one this client trusts, not only the gateway: its hash is taken from
--validators-hash, else from <home>/trust/<chain>.json (the genesis validator set, written
by "lian up" and "lian network init"); without either, the command warns. When governance
has changed the validators since, a header signed by the new set is accepted if validators
of the trusted set with at least 1/3 of its power signed it too, within 14 days of the
trusted set's time; the trust file then moves to the new set.

With --inclusion FILE (a proof written by "tx evidence anchor-batch"), it verifies the
batch's root as above and then that the document is in that batch.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var (
				digest []byte
				err    error
			)
			if inclusionFile == "" {
				var digestArg string
				if len(args) == 1 {
					digestArg = args[0]
				}
				if digest, err = cliDigest("DIGEST", digestArg, "--file", file, hashAlgo); err != nil {
					return err
				}
			}
			var inc *client.BatchInclusion
			if inclusionFile != "" {
				if len(args) == 1 || file != "" {
					return errors.New("--inclusion names the batch itself: give no DIGEST or --file")
				}
				b, err := os.ReadFile(inclusionFile)
				if err != nil {
					return err
				}
				inc = &client.BatchInclusion{}
				if err := json.Unmarshal(b, inc); err != nil {
					return fmt.Errorf("--inclusion %s: %w", inclusionFile, err)
				}
				if err := inc.Verify(); err != nil {
					return fmt.Errorf("--inclusion %s: %w", inclusionFile, err)
				}
				digest, prove = inc.Root, true
			}
			var opts client.VerifyOptions
			if trusted != "" {
				if !prove {
					return errors.New("--validators-hash needs --prove")
				}
				if opts.TrustedValidatorsHash, err = cliHex(trusted); err != nil {
					return fmt.Errorf("--validators-hash: %w", err)
				}
				if len(opts.TrustedValidatorsHash) != 32 {
					return fmt.Errorf("--validators-hash is %d bytes, expected 32", len(opts.TrustedValidatorsHash))
				}
			}

			if prove && opts.TrustedValidatorsHash == nil {
				// The chain's genesis validators, written by `lian up` / `lian network init`.
				t, err := client.LoadTrust(client.TrustDir(g.home), *chain)
				if err != nil {
					return err
				}
				if t != nil {
					opts.TrustedValidatorsHash, opts.Trust = t.ValidatorsHash, t
				}
			}
			ev, err := client.New(g.gateway).Evidence(cmd.Context(), *chain, digest, prove)
			if err != nil {
				return cliFail(cmd, g, err)
			}
			out := evidenceOutput{Height: ev.Height, Record: ev.Record}
			var verr error
			if prove {
				v, err := client.VerifyEvidenceWithOptions(*chain, digest, ev, opts)
				ok := err == nil
				out.Verified = &ok
				if err != nil {
					out.Error = err.Error()
					verr = fmt.Errorf("evidence NOT verified: %w", err)
				} else {
					out.summary = v
					if inc != nil {
						out.Document = &documentOutput{Name: inc.Document, Digest: inc.Digest.String(), Index: inc.Index, Total: inc.Total}
						if err := inc.VerifyAnchored(v); err != nil {
							out.Error = err.Error()
							verr = fmt.Errorf("document NOT shown in the anchored batch: %w", err)
						} else {
							out.Document.Verified = true
						}
					}
					if v.TrustAdvanced && v.NewTrust != nil {
						// Governance changed the validators since the trust file was written:
						// the old set vouched for the new one; trust it from now on.
						if err := client.SaveTrust(client.TrustDir(g.home), v.NewTrust); err != nil {
							return err
						}
						fmt.Fprintf(cmd.ErrOrStderr(), "note: the validator set changed; trust moved to set %X (height %d) in %s\n",
							[]byte(v.NewTrust.ValidatorsHash), v.NewTrust.Height, client.TrustDir(g.home))
					}
					if !v.ValidatorsTrusted {
						fmt.Fprintf(cmd.ErrOrStderr(), "warning: the validator set (hash %X) came from the gateway; pin it with --validators-hash or a trust file (<home>/trust/<chain>.json)\n", []byte(v.ValidatorsHash))
					}
				}
			}
			if err := g.print(cmd.OutOrStdout(), out, func(w io.Writer) {
				rows := []cliKV{{"state_height", strconv.FormatInt(out.Height, 10)}} // the record has a height too
				rows = append(rows, cliJSONRows("", out.Record)...)
				if out.Verified != nil {
					rows = append(rows, cliKV{"verified", strconv.FormatBool(*out.Verified)})
				}
				if out.Error != "" {
					rows = append(rows, cliKV{"error", out.Error})
				}
				if d := out.Document; d != nil {
					rows = append(rows,
						cliKV{"document", d.Name},
						cliKV{"document_digest", d.Digest},
						cliKV{"document_index", fmt.Sprintf("%d of %d", d.Index, d.Total)},
						cliKV{"document_verified", strconv.FormatBool(d.Verified)})
				}
				if v := out.summary; v != nil {
					rows = append(rows,
						cliKV{"header_height", strconv.FormatInt(v.HeaderHeight, 10)},
						cliKV{"block_hash", v.BlockHash.String()},
						cliKV{"block_time", v.BlockTime.UTC().Format(time.RFC3339Nano)},
						cliKV{"app_hash", v.AppHash.String()},
						cliKV{"validators_hash", v.ValidatorsHash.String()},
						cliKV{"validators_trusted", strconv.FormatBool(v.ValidatorsTrusted)},
						cliKV{"signers", fmt.Sprintf("%d of %d validators", v.Signers, v.ValidatorCount)},
						cliKV{"signed_power", fmt.Sprintf("%d of %d", v.SignedPower, v.TotalPower)},
					)
				}
				cliWriteKV(w, rows)
			}); err != nil {
				return err
			}
			return verr
		},
	}
	cmd.Flags().BoolVar(&prove, "prove", false, "ask for a proof and verify it locally")
	cmd.Flags().StringVar(&trusted, "validators-hash", "", "hash of the validator set to trust (hex, with --prove)")
	cmd.Flags().StringVar(&file, "file", "", "a document whose digest to look up (computed locally)")
	cmd.Flags().StringVar(&hashAlgo, "hash", evidence.HashSHA256, "digest algorithm of --file: sha256 or sm3")
	cmd.Flags().StringVar(&inclusionFile, "inclusion", "", "a document's batch inclusion proof (written by `tx evidence anchor-batch`): verify the batch root on chain and the document in it")
	return cmd
}

func newQueryTxCmd(g *globals, chain *string) *cobra.Command {
	return &cobra.Command{
		Use:   "tx HASH",
		Short: "Show a transaction: its result, decoded body and signer",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := client.New(g.gateway).Tx(cmd.Context(), *chain, args[0])
			if err != nil {
				return cliFail(cmd, g, err)
			}
			return g.print(cmd.OutOrStdout(), res, func(w io.Writer) {
				rows := cliTxRows(res)
				if res.BlockTime != nil {
					rows = append(rows, cliKV{"block_time", res.BlockTime.UTC().Format(time.RFC3339Nano)})
				}
				if b := res.Body; b != nil {
					rows = append(rows, cliKV{"chain_id", b.ChainID}, cliKV{"sender", b.Sender}, cliKV{"nonce", strconv.FormatUint(b.Nonce, 10)})
					if b.Memo != "" {
						rows = append(rows, cliKV{"memo", b.Memo})
					}
					for i, m := range b.Messages {
						v := m.TypeURL
						if len(m.Decoded) > 0 {
							v += " " + cliCompact(m.Decoded)
						}
						rows = append(rows, cliKV{fmt.Sprintf("message[%d]", i), v})
					}
				}
				if s := res.Signer; s != nil {
					rows = append(rows, cliKV{"signer", s.Algo + " " + s.PubKey})
				}
				for i, e := range res.Events {
					attrs := make([]string, len(e.Attributes))
					for j, a := range e.Attributes {
						attrs[j] = a.Key + "=" + a.Value
					}
					rows = append(rows, cliKV{fmt.Sprintf("event[%d]", i), e.Type + " " + strings.Join(attrs, " ")})
				}
				cliWriteKV(w, rows)
			})
		},
	}
}

func newQueryBlockCmd(g *globals, chain *string) *cobra.Command {
	return &cobra.Command{
		Use:   "block HEIGHT|latest",
		Short: "Show a block's header summary, transactions and commit signatures",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var height int64
			if args[0] != "latest" {
				h, err := strconv.ParseInt(args[0], 10, 64)
				if err != nil || h < 1 {
					return fmt.Errorf("height %q: expected a positive number or \"latest\"", args[0])
				}
				height = h
			}
			b, err := client.New(g.gateway).Block(cmd.Context(), *chain, height)
			if err != nil {
				return cliFail(cmd, g, err)
			}
			return g.print(cmd.OutOrStdout(), b, func(w io.Writer) {
				rows := []cliKV{
					{"height", strconv.FormatInt(b.Height, 10)},
					{"hash", b.Hash},
					{"time", b.Time.UTC().Format(time.RFC3339Nano)},
					{"proposer", b.Proposer},
					{"app_hash", b.AppHash},
					{"txs", strconv.Itoa(len(b.TxHashes))},
				}
				for i, h := range b.TxHashes {
					rows = append(rows, cliKV{fmt.Sprintf("tx[%d]", i), h})
				}
				sigs := "not yet known"
				if b.CommitSignatures > 0 {
					sigs = fmt.Sprintf("%d of %d validators", b.CommitSignatures, b.ValidatorCount)
				}
				rows = append(rows, cliKV{"signatures", sigs})
				cliWriteKV(w, rows)
			})
		},
	}
}

func newQueryAccountCmd(g *globals, chain *string) *cobra.Command {
	return &cobra.Command{
		Use:   "account ADDR|KEY",
		Short: "Show an account and its next nonce (ADDR is 0x… or the name of a key in <home>/keys)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			addr, err := cliResolveAddress(g, args[0])
			if err != nil {
				return err
			}
			a, err := client.New(g.gateway).Account(cmd.Context(), *chain, addr)
			if err != nil {
				return cliFail(cmd, g, err)
			}
			return g.print(cmd.OutOrStdout(), a, func(w io.Writer) {
				// state_height: the record has a height too (its registration's).
				rows := []cliKV{{"address", addr.String()}, {"nonce", strconv.FormatUint(a.Nonce, 10)}, {"state_height", strconv.FormatInt(a.Height, 10)}}
				for _, r := range cliJSONRows("", a.Account) {
					if r.k != "address" {
						rows = append(rows, r)
					}
				}
				cliWriteKV(w, rows)
			})
		},
	}
}

// cliResolveAddress parses a 0x address, or looks a key name up in the keystore (without
// creating the keystore directory).
func cliResolveAddress(g *globals, s string) (crypto.Address, error) {
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		return crypto.ParseAddress(s)
	}
	if err := crypto.ValidateKeyName(s); err != nil {
		return crypto.Address{}, fmt.Errorf("%q is neither an address (0x + 40 hex digits) nor a key name", s)
	}
	if _, err := os.Stat(cliKeystoreDir(g)); err != nil {
		return crypto.Address{}, fmt.Errorf("%q is not an address, and there is no keystore at %s to look it up in", s, cliKeystoreDir(g))
	}
	ks, err := cliKeystore(g)
	if err != nil {
		return crypto.Address{}, err
	}
	k, err := ks.Get(s)
	if err != nil {
		return crypto.Address{}, err
	}
	return k.Address, nil
}

// cliKV is one line of text output.
type cliKV struct{ k, v string }

// cliWriteKV writes rows as "key: value" lines with the values aligned.
func cliWriteKV(w io.Writer, rows []cliKV) {
	width := 0
	for _, r := range rows {
		width = max(width, len(r.k))
	}
	for _, r := range rows {
		fmt.Fprintf(w, "%-*s %s\n", width+1, r.k+":", r.v)
	}
}

// cliJSONRows turns the top-level fields of a JSON object into rows, in document order,
// strings unquoted and other values as compact JSON. Anything else is one row.
func cliJSONRows(prefix string, raw json.RawMessage) []cliKV {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return []cliKV{{prefix + "value", cliCompact(raw)}}
	}
	var rows []cliKV
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			break
		}
		k, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			break
		}
		rows = append(rows, cliKV{prefix + k, cliValue(v)})
	}
	return rows
}

// cliValue shows a JSON value: a string without quotes, anything else compact.
func cliValue(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	return cliCompact(v)
}

func cliCompact(v json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, v) != nil {
		return string(v)
	}
	return b.String()
}

// cliMerge encodes base and extra, both JSON objects, as one object; base's fields win.
func cliMerge(base, extra any) ([]byte, error) {
	m := map[string]json.RawMessage{}
	for _, v := range []any{extra, base} {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		var part map[string]json.RawMessage
		if err := json.Unmarshal(b, &part); err != nil {
			return nil, err
		}
		for k, v := range part {
			m[k] = v
		}
	}
	return json.Marshal(m)
}
