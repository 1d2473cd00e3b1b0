package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/lianchain/lian/localnet"
)

func init() { commands = append(commands, newUpCmd) }

func newUpCmd(g *globals) *cobra.Command {
	var (
		opts localnet.Options
		gf   gatewayFlags
	)
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Start the local service network: every chain, its validators and the gateway, in one process",
		Long: `Start a whole Lian service network on this machine, in one process.

Every chain is a BFT network of --validators CometBFT nodes, each with its own keys,
ports and database under <home>/chains/<chain>/node<i>; the gateway serves them all on
--listen. The first start writes each chain's genesis (organisations org1…orgN, one
validator each) and a key "demo" (an org1 admin on every chain) into <home>/keys.
With two chains or more, governance then creates on each chain a light client of every
other chain and the routes of the attest and message ports to it (kept across
restarts), and a relayer (key "relayer", an org1 account with the relayer role) runs
in process. Then one line starting with "ready" is printed.
SIGINT or SIGTERM stops it cleanly; starting again on the same home resumes every
chain at its last height.

The gateway takes writes without API keys (on the loopback interface by default); with
--auth they need a key from <home>/` + keyStoreFile + ` (lian gateway keys create NAME).
Its request log goes to <home>/lian.log.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Home = g.home
			cfg, err := gf.config(filepath.Join(g.home, keyStoreFile))
			if err != nil {
				return err
			}
			opts.Gateway = cfg
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			net, err := localnet.Start(ctx, opts)
			if err != nil {
				return err
			}
			gf.authNotice(cmd.ErrOrStderr(), cfg, net.GatewayAddr())
			if d := net.PathsSetupTime(); d > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "cross-chain paths set up in %v; relayer running (key %q)\n", d.Round(time.Millisecond), localnet.RelayerKey)
			}
			if ids, err := net.WithoutAttestedState(ctx); err == nil && len(ids) > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "%s: no attested state (a home initialised before vote extensions): cross-chain proofs wait a block longer on each hop; a set_params proposal turns it on (docs/governance.md, \"Consensus parameters\")\n", strings.Join(ids, ", "))
			}
			fmt.Fprintln(cmd.OutOrStdout(), net.ReadyLine())
			<-ctx.Done()
			fmt.Fprintln(cmd.ErrOrStderr(), "stopping")
			return net.Stop()
		},
	}
	cmd.Flags().StringSliceVar(&opts.Chains, "chains", localnet.DefaultChains, "chain ids to run")
	cmd.Flags().IntVar(&opts.Validators, "validators", 4, "validators (organisations) per chain")
	cmd.Flags().StringVar(&opts.Listen, "listen", "127.0.0.1:8700", "gateway listen address")
	cmd.Flags().StringVar(&opts.LogLevel, "log-level", "error", "node log level (written to <home>/lian.log): error, info, debug, none")
	gf.register(cmd, "<home>/"+keyStoreFile)
	return cmd
}
