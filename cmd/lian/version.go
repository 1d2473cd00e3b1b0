package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/lianchain/lian/app"
)

func init() { commands = append(commands, newVersionCmd) }

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Show this binary's version, the commit it was built from and its components' versions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			b := app.BuildInfo()
			return g.print(cmd.OutOrStdout(), b, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
				fmt.Fprintf(tw, "lian:\t%s (state machine protocol %d)\n", b.Version, b.AppVersion)
				commit := b.Commit
				switch {
				case commit == "":
					commit = "unknown (built without VCS information)"
				case b.Modified:
					commit += " with uncommitted changes"
				}
				if b.CommitTime != "" {
					commit += " (" + b.CommitTime + ")"
				}
				fmt.Fprintf(tw, "commit:\t%s\n", commit)
				fmt.Fprintf(tw, "go:\t%s\n", b.Go)
				for _, c := range b.Components {
					v := c.Version
					if v == "" {
						v = "not recorded"
					}
					fmt.Fprintf(tw, "%s:\t%s\n", c.Name, v)
				}
				_ = tw.Flush()
			})
		},
	}
}
