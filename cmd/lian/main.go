// Command lian runs and uses Lian chains: the local service network (lian up), nodes of
// a real deployment, the gateway, keys, transactions, queries and benchmarks.
//
// This package only wires flags to library calls; the work is done by the packages it
// imports.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

// globals are the flags every command shares.
type globals struct {
	home    string
	gateway string
	output  string // "text" or "json"
}

// commands are the constructors of the top-level commands; each file adds its own in init.
var commands []func(g *globals) *cobra.Command

func defaultHome() string {
	if h := os.Getenv("LIAN_HOME"); h != "" {
		return h
	}
	if d, err := os.UserHomeDir(); err == nil {
		return filepath.Join(d, ".lian")
	}
	return ".lian"
}

func defaultGateway() string {
	if g := os.Getenv("LIAN_GATEWAY"); g != "" {
		return g
	}
	return "http://127.0.0.1:8700"
}

func newRootCmd() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "lian",
		Short:         "Lian: a permissioned blockchain service network",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if g.output != "text" && g.output != "json" {
				return fmt.Errorf("-o %q: expected text or json", g.output)
			}
			return nil
		},
	}
	root.PersistentFlags().StringVar(&g.home, "home", defaultHome(), "data directory (keys, local network); default $LIAN_HOME, else ~/.lian")
	root.PersistentFlags().StringVar(&g.gateway, "gateway", defaultGateway(), "gateway URL; default $LIAN_GATEWAY, else http://127.0.0.1:8700")
	root.PersistentFlags().StringVarP(&g.output, "output", "o", "text", "output format: text or json")
	for _, c := range commands {
		root.AddCommand(c(g))
	}
	return root
}

// print writes v as one JSON document (-o json) or as text produced by text.
func (g *globals) print(w io.Writer, v any, text func(w io.Writer)) error {
	if g.output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(v)
	}
	text(w)
	return nil
}

func main() {
	root := newRootCmd()
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}
