package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/client"
	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules/evidence"
	"github.com/lianchain/lian/modules/identity"
	"github.com/lianchain/lian/txs"
)

func init() { commands = append(commands, newTxCmd) }

// txFlags are the flags every `lian tx` command shares.
type txFlags struct {
	chain string
	from  string
	memo  string
	wait  bool
}

// txExtra is what a tx command adds to the result it prints: text rows and JSON fields.
type txExtra struct {
	rows   []cliKV
	fields map[string]any
}

// add adds a field shown as text in text mode and as v in JSON.
func (e *txExtra) add(key, text string, v any) {
	e.rows = append(e.rows, cliKV{key, text})
	if e.fields == nil {
		e.fields = map[string]any{}
	}
	e.fields[key] = v
}

// txOutput is what a tx command prints: the gateway's result and what the command adds.
type txOutput struct {
	*api.TxResult
	Extra map[string]any `json:"-"`
}

// MarshalJSON flattens the result and the extra fields into one object.
func (o txOutput) MarshalJSON() ([]byte, error) {
	if o.Extra == nil {
		return json.Marshal(o.TxResult)
	}
	return cliMerge(o.TxResult, o.Extra) // the command's fields never hide the result's
}

func newTxCmd(g *globals) *cobra.Command {
	tf := &txFlags{}
	cmd := &cobra.Command{
		Use:   "tx",
		Short: "Sign and submit transactions through the gateway",
		Long: `Sign a transaction with a key of <home>/keys (--from), submit it to a chain
(--chain) through the gateway, and by default wait for it to be committed.

A transaction refused by the chain, or committed with a non-zero code, makes the command
exit non-zero with the code's name and message on stderr; with -o json, stdout still
carries one JSON document (the result, or {"error": {...}}).`,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&tf.chain, "chain", "", "chain id (required)")
	pf.StringVar(&tf.from, "from", "", "name of the signing key in <home>/keys (required)")
	pf.StringVar(&tf.memo, "memo", "", "memo carried by the transaction")
	pf.BoolVar(&tf.wait, "wait", true, "wait until the transaction is committed")

	idCmd := &cobra.Command{Use: "identity", Short: "Identity module transactions"}
	idCmd.AddCommand(newRegisterAccountCmd(g, tf), newRoleCmd(g, tf, true), newRoleCmd(g, tf, false))
	evCmd := &cobra.Command{Use: "evidence", Short: "Evidence module transactions"}
	evCmd.AddCommand(newAnchorCmd(g, tf), newAnchorBatchCmd(g, tf))
	cmd.AddCommand(idCmd, evCmd, newGovTxCmd(g, tf), newCreditsTxCmd(g, tf), newRegulatorTxCmd(g, tf), newXchainTxCmd(g, tf), newFillNonceCmd(g, tf))
	return cmd
}

// check reports missing common flags.
func (tf *txFlags) check() error {
	var missing []string
	if tf.chain == "" {
		missing = append(missing, "--chain")
	}
	if tf.from == "" {
		missing = append(missing, "--from")
	}
	if len(missing) > 0 {
		return fmt.Errorf("required flag(s) %s not set", strings.Join(missing, ", "))
	}
	return nil
}

// submit signs msgs with the --from key, submits them and prints the result with the
// extra fields. A refused or failed transaction is printed too and returned as an error.
// after, if set, runs on a successful result before printing and may add extra fields.
func (tf *txFlags) submit(cmd *cobra.Command, g *globals, extra *txExtra, after func(res *api.TxResult) error, msgs ...txs.Msg) error {
	return tf.submitBuilt(cmd, g, extra, after, func(ctx context.Context, c *client.Client, key crypto.PrivKey) ([]byte, error) {
		return c.SignTx(ctx, tf.chain, key, tf.memo, msgs...)
	})
}

// submitBuilt is submit with the transaction built by build from the --from key.
func (tf *txFlags) submitBuilt(cmd *cobra.Command, g *globals, extra *txExtra, after func(res *api.TxResult) error,
	build func(ctx context.Context, c *client.Client, key crypto.PrivKey) ([]byte, error)) error {
	ks, err := cliKeystore(g)
	if err != nil {
		return err
	}
	key, err := ks.Signer(tf.from)
	if err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	c := client.New(g.gateway)
	ctx := cmd.Context()
	tx, err := build(ctx, c, key)
	if err != nil {
		return cliFail(cmd, g, err)
	}
	res, err := c.BroadcastTx(ctx, tf.chain, tx, tf.wait)
	if res == nil {
		if err == nil {
			err = errors.New("gateway returned no result")
		}
		return cliFail(cmd, g, err)
	}
	if err == nil && after != nil {
		if aerr := after(res); aerr != nil {
			err = aerr
		}
	}
	out := txOutput{TxResult: res, Extra: extra.fields}
	if perr := g.print(cmd.OutOrStdout(), out, func(w io.Writer) {
		cliWriteKV(w, append(cliTxRows(res), extra.rows...))
	}); perr != nil && err == nil {
		err = perr
	}
	return err
}

// cliTxRows is the text form of a transaction result's outcome.
func cliTxRows(res *api.TxResult) []cliKV {
	code := strconv.FormatUint(uint64(res.Code), 10)
	if res.Code == 0 {
		code += " (ok)"
	} else if e, ok := client.AsError(client.ResultError(res)); ok {
		code += " (" + e.Code + ")"
	}
	rows := []cliKV{{"hash", res.Hash}, {"height", strconv.FormatInt(res.Height, 10)}, {"code", code}}
	if res.Height == 0 {
		rows[1].v = "0 (not waited for: in the mempool)"
	}
	if res.Log != "" {
		rows = append(rows, cliKV{"log", res.Log})
	}
	return rows
}

func newFillNonceCmd(g *globals, tf *txFlags) *cobra.Command {
	var nonce uint64
	cmd := &cobra.Command{
		Use:   "fill-nonce",
		Short: "Sign a nonce filler: a transaction that only consumes a nonce",
		Long: `Sign and submit a nonce filler of the --from account: a transaction without messages,
which consumes its nonce and pays the default base fee (1,000 credits), and does
nothing else. Without --nonce it takes the account's next nonce.

Use it when a transaction of the account was admitted and then lost by the mempools,
and will not be sent again (it became invalid): the account's later transactions wait
behind its nonce until something fills it. If the lost transaction still waits in some
mempool, only one of the two runs.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := tf.check(); err != nil {
				return err
			}
			if tf.memo != "" {
				return errors.New("--memo: a nonce filler carries no memo")
			}
			explicit := cmd.Flags().Changed("nonce")
			var extra txExtra
			return tf.submitBuilt(cmd, g, &extra, nil, func(ctx context.Context, c *client.Client, key crypto.PrivKey) ([]byte, error) {
				n := nonce
				if !explicit {
					var err error
					if n, err = c.Nonce(ctx, tf.chain, key.PubKey().Address()); err != nil {
						return nil, err
					}
				}
				extra.add("nonce", strconv.FormatUint(n, 10), n)
				return client.BuildFiller(tf.chain, n, key)
			})
		},
	}
	cmd.Flags().Uint64Var(&nonce, "nonce", 0, "the nonce to fill (default: the account's next nonce)")
	return cmd
}

func newRegisterAccountCmd(g *globals, tf *txFlags) *cobra.Command {
	var (
		keyName, pubHex, algo string
		roles                 []string
		idHash, idFile        string
	)
	cmd := &cobra.Command{
		Use:   "register-account",
		Short: "Register an account in the sender's organisation (org admins only)",
		Long: `Register an account in the organisation of the --from key (an admin of it).
Name the new account's key with --key (a key of <home>/keys) or give it with --pubkey and
--algo. The identity hash binds the account to its real-name record kept off chain: give
it with --identity-hash (32 bytes, hex) or let it be the SHA-256 of --identity-file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := tf.check(); err != nil {
				return err
			}
			var (
				pub []byte
				a   crypto.Algo
			)
			switch {
			case keyName != "" && (pubHex != "" || cmd.Flags().Changed("algo")):
				return errors.New("give either --key or --pubkey with --algo, not both")
			case keyName != "":
				ks, err := cliKeystore(g)
				if err != nil {
					return err
				}
				k, err := ks.Get(keyName)
				if err != nil {
					return fmt.Errorf("--key: %w", err)
				}
				pub, a = k.PubKey, k.Algo
			case pubHex != "":
				if !cmd.Flags().Changed("algo") {
					return errors.New("--pubkey needs --algo (ed25519, sm2 or secp256k1)")
				}
				var err error
				if a, err = crypto.ParseAlgo(algo); err != nil {
					return fmt.Errorf("--algo: %w", err)
				}
				if pub, err = cliHex(pubHex); err != nil {
					return fmt.Errorf("--pubkey: %w", err)
				}
			default:
				return errors.New("no account key: give --key NAME or --pubkey HEX with --algo")
			}
			pk, err := crypto.PubKeyFromBytes(a, pub)
			if err != nil {
				return fmt.Errorf("account key: %w", err)
			}

			ih, err := cliDigest("--identity-hash", idHash, "--identity-file", idFile, evidence.HashSHA256)
			if err != nil {
				return fmt.Errorf("identity hash (SHA-256 or SM3 of the real-name record): %w", err)
			}

			msg := &identity.MsgRegisterAccount{PubKey: pub, Algo: a, Roles: roles, IdentityHash: ih}
			if err := identity.ValidateRoles(roles); err != nil {
				return fmt.Errorf("--roles: %w", err)
			}
			addr := pk.Address().String()
			ihHex := strings.ToUpper(hex.EncodeToString(ih))
			var extra txExtra
			extra.add("account", addr, addr)
			extra.add("algo", string(a), a)
			extra.add("pub_key", hex.EncodeToString(pub), hex.EncodeToString(pub))
			extra.add("roles", strings.Join(roles, ","), roles)
			extra.add("identity_hash", ihHex, ihHex)
			return tf.submit(cmd, g, &extra, nil, msg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&keyName, "key", "", "name of the new account's key in <home>/keys")
	f.StringVar(&pubHex, "pubkey", "", "the new account's public key, hex (with --algo)")
	f.StringVar(&algo, "algo", "", "algorithm of --pubkey: ed25519, sm2 or secp256k1")
	f.StringSliceVar(&roles, "roles", []string{identity.RoleMember}, "roles of the account: member, admin (comma separated)")
	f.StringVar(&idHash, "identity-hash", "", "hash of the real-name record, 32 bytes hex")
	f.StringVar(&idFile, "identity-file", "", "real-name record file; its SHA-256 is the identity hash")
	return cmd
}

// evidenceFlags are the flags the anchor commands share.
type evidenceFlags struct {
	hashAlgo string
	label    string
	meta     []string
}

func (ef *evidenceFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&ef.hashAlgo, "hash", evidence.HashSHA256, "digest algorithm of the documents: sha256 or sm3")
	f.StringVar(&ef.label, "label", "", "label stored with the record")
	f.StringArrayVar(&ef.meta, "meta", nil, "metadata KEY=VALUE stored with the record (repeatable)")
}

func (ef *evidenceFlags) check() ([]evidence.Entry, error) {
	if ef.hashAlgo != evidence.HashSHA256 && ef.hashAlgo != evidence.HashSM3 {
		return nil, fmt.Errorf("--hash %q: expected sha256 or sm3", ef.hashAlgo)
	}
	var md []evidence.Entry
	for _, m := range ef.meta {
		k, v, ok := strings.Cut(m, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--meta %q: expected KEY=VALUE", m)
		}
		md = append(md, evidence.Entry{Key: k, Value: v})
	}
	return md, nil
}

func newAnchorCmd(g *globals, tf *txFlags) *cobra.Command {
	var (
		ef           evidenceFlags
		digHex, file string
	)
	cmd := &cobra.Command{
		Use:   "anchor",
		Short: "Anchor one document's digest",
		Long: `Anchor one document's digest: give it with --digest (32 bytes, hex) or let it be
computed here from --file (--hash sha256 or sm3; the file never leaves this machine).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := tf.check(); err != nil {
				return err
			}
			md, err := ef.check()
			if err != nil {
				return err
			}
			digest, err := cliDigest("--digest", digHex, "--file", file, ef.hashAlgo)
			if err != nil {
				return fmt.Errorf("nothing to anchor: %w", err)
			}
			msg := &evidence.MsgAnchor{Digest: digest, HashAlgo: ef.hashAlgo, Label: ef.label, Metadata: md}
			d := strings.ToUpper(hex.EncodeToString(digest))
			var extra txExtra
			extra.add("digest", d, d)
			extra.add("hash_algo", ef.hashAlgo, ef.hashAlgo)
			if file != "" {
				extra.add("file", file, file)
			}
			return tf.submit(cmd, g, &extra, nil, msg)
		},
	}
	ef.register(cmd)
	cmd.Flags().StringVar(&digHex, "digest", "", "the document's digest, 32 bytes hex")
	cmd.Flags().StringVar(&file, "file", "", "the document; its digest is computed locally")
	return cmd
}

func newAnchorBatchCmd(g *globals, tf *txFlags) *cobra.Command {
	var (
		ef        evidenceFlags
		files     []string
		proofsOut string
	)
	cmd := &cobra.Command{
		Use:   "anchor-batch",
		Short: "Anchor many documents in one transaction (the Merkle root of their digests)",
		Long: `Compute each file's digest, anchor the Merkle root of the digests (in the order
given) in one transaction, and produce one inclusion proof per document: written to
--proofs-out/<file name>.proof.json, or printed. A proof shows its document is in the
anchored batch; query the root with "lian query evidence ROOT --prove" to check the anchor.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := tf.check(); err != nil {
				return err
			}
			md, err := ef.check()
			if err != nil {
				return err
			}
			if len(files) == 0 {
				return errors.New("no documents: give --files F1,F2,...")
			}
			names := cliProofNames(files)
			digests := make([][]byte, len(files))
			for i, f := range files {
				if digests[i], err = client.DigestFile(ef.hashAlgo, f); err != nil {
					return err
				}
			}
			root, proofs, err := client.NewBatch(ef.hashAlgo, digests)
			if err != nil {
				return err
			}
			if proofsOut != "" {
				if err := os.MkdirAll(proofsOut, 0o755); err != nil {
					return fmt.Errorf("--proofs-out: %w", err)
				}
			}
			msg := &evidence.MsgAnchorBatch{Root: root, HashAlgo: ef.hashAlgo, Count: uint64(len(files)), Label: ef.label, Metadata: md}
			r := strings.ToUpper(hex.EncodeToString(root))
			var extra txExtra
			extra.add("root", r, r)
			extra.add("hash_algo", ef.hashAlgo, ef.hashAlgo)
			extra.add("count", strconv.Itoa(len(files)), len(files))
			after := func(res *api.TxResult) error {
				for i, p := range proofs {
					p.Document = filepath.Base(files[i])
					p.ChainID, p.TxHash, p.Height = tf.chain, res.Hash, res.Height
				}
				if proofsOut == "" {
					if g.output == "json" {
						extra.fields["proofs"] = proofs
					}
					return nil
				}
				paths := make([]string, len(proofs))
				for i, p := range proofs {
					bz, err := json.MarshalIndent(p, "", "  ")
					if err != nil {
						return err
					}
					paths[i] = filepath.Join(proofsOut, names[i])
					if err := os.WriteFile(paths[i], append(bz, '\n'), 0o644); err != nil {
						return fmt.Errorf("write proof of %s: %w", files[i], err)
					}
					extra.rows = append(extra.rows, cliKV{"proof", paths[i]})
				}
				extra.fields["proof_files"] = paths
				return nil
			}
			err = tf.submit(cmd, g, &extra, after, msg)
			if err == nil && proofsOut == "" && g.output != "json" {
				// Text mode: the proofs follow the summary, one JSON document each.
				for _, p := range proofs {
					bz, _ := json.MarshalIndent(p, "", "  ")
					fmt.Fprintf(cmd.OutOrStdout(), "\n%s\n", bz)
				}
			}
			return err
		},
	}
	ef.register(cmd)
	cmd.Flags().StringSliceVar(&files, "files", nil, "the documents, comma separated (or repeat the flag)")
	cmd.Flags().StringVar(&proofsOut, "proofs-out", "", "directory to write one <file name>.proof.json per document into (default: print them)")
	return cmd
}

// cliProofNames returns the proof file name of each document: <base name>.proof.json, or
// <index>-<base name>.proof.json for all if two documents share a base name.
func cliProofNames(files []string) []string {
	names := make([]string, len(files))
	seen := map[string]bool{}
	dup := false
	for i, f := range files {
		names[i] = filepath.Base(f) + ".proof.json"
		dup = dup || seen[names[i]]
		seen[names[i]] = true
	}
	if dup {
		for i, f := range files {
			names[i] = fmt.Sprintf("%d-%s.proof.json", i, filepath.Base(f))
		}
	}
	return names
}

// cliHex decodes hex with an optional 0x prefix.
func cliHex(s string) ([]byte, error) {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("not hex: %v", err)
	}
	return b, nil
}

// cliFail prints err as {"error": {...}} with -o json (so stdout still carries one JSON
// document) and returns it.
func cliFail(cmd *cobra.Command, g *globals, err error) error {
	if g.output != "json" {
		return err
	}
	doc := api.Error{Code: errcode.Unavailable.String(), Message: err.Error()} // the gateway could not be reached
	var ce *errcode.Error
	if errors.As(err, &ce) {
		doc = api.Error{Code: ce.Code.String(), Message: ce.Msg}
	}
	if e, ok := client.AsError(err); ok {
		doc = api.Error{Code: e.Code, Message: e.Message, Hash: e.Hash}
		if e.Error() != err.Error() { // wrapped with context
			doc.Message = strings.TrimSuffix(err.Error(), ": "+e.Error()) + ": " + e.Message
		}
	}
	_ = g.print(cmd.OutOrStdout(), map[string]any{"error": doc}, func(io.Writer) {})
	return err
}

// cliDigest returns a 32-byte digest given in hex (hexVal, from the flag or argument
// hexName) or computed with algo from the file named by fileName; exactly one must be set.
func cliDigest(hexName, hexVal, fileName, file, algo string) ([]byte, error) {
	switch {
	case hexVal != "" && file != "":
		return nil, fmt.Errorf("give either %s or %s, not both", hexName, fileName)
	case hexVal != "":
		d, err := cliHex(hexVal)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", hexName, err)
		}
		if len(d) != evidence.DigestLen {
			return nil, fmt.Errorf("%s is %d bytes, expected %d", hexName, len(d), evidence.DigestLen)
		}
		return d, nil
	case file != "":
		d, err := client.DigestFile(algo, file)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", fileName, err)
		}
		return d, nil
	}
	return nil, fmt.Errorf("give %s HEX or %s PATH", hexName, fileName)
}
