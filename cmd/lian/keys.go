package main

import (
	"encoding/hex"
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/lianchain/lian/crypto"
)

func init() { commands = append(commands, newKeysCmd) }

// cliKeystoreDir is where the CLI keeps keys: <home>/keys.
func cliKeystoreDir(g *globals) string { return filepath.Join(g.home, "keys") }

// cliKeystore opens the keystore under the home directory.
func cliKeystore(g *globals) (*crypto.Keystore, error) {
	return crypto.OpenKeystore(cliKeystoreDir(g))
}

// cliKeyRows is the text form of a key's public part.
func cliKeyRows(k crypto.Key) []cliKV {
	return []cliKV{
		{"name", k.Name},
		{"algo", string(k.Algo)},
		{"address", k.Address.String()},
		{"pub_key", hex.EncodeToString(k.PubKey)},
	}
}

func newKeysCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Manage the signing keys in <home>/keys",
		Long: `Manage the signing keys kept in <home>/keys, one file per key (mode 0600, not
encrypted). Only public parts are ever printed.`,
	}

	var algo string
	add := &cobra.Command{
		Use:   "add NAME",
		Short: "Create a new key",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := crypto.ParseAlgo(algo)
			if err != nil {
				return fmt.Errorf("--algo: %w", err)
			}
			ks, err := cliKeystore(g)
			if err != nil {
				return err
			}
			k, err := ks.Create(args[0], a)
			if err != nil {
				return err
			}
			return g.print(cmd.OutOrStdout(), k, func(w io.Writer) { cliWriteKV(w, cliKeyRows(k)) })
		},
	}
	add.Flags().StringVar(&algo, "algo", string(crypto.Ed25519), "key algorithm: ed25519, sm2 or secp256k1")

	list := &cobra.Command{
		Use:   "list",
		Short: "List the keys",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ks, err := cliKeystore(g)
			if err != nil {
				return err
			}
			keys, err := ks.List()
			if err != nil {
				return err
			}
			return g.print(cmd.OutOrStdout(), keys, func(w io.Writer) {
				if len(keys) == 0 {
					fmt.Fprintf(w, "no keys in %s\n", ks.Dir())
					return
				}
				for i, k := range keys {
					if i > 0 {
						fmt.Fprintln(w)
					}
					cliWriteKV(w, cliKeyRows(k))
				}
			})
		},
	}

	show := &cobra.Command{
		Use:   "show NAME",
		Short: "Show a key's algorithm, address and public key",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ks, err := cliKeystore(g)
			if err != nil {
				return err
			}
			k, err := ks.Get(args[0])
			if err != nil {
				return err
			}
			return g.print(cmd.OutOrStdout(), k, func(w io.Writer) { cliWriteKV(w, cliKeyRows(k)) })
		},
	}

	cmd.AddCommand(add, list, show)
	return cmd
}
