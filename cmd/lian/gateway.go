package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/lianchain/lian/gateway"
)

func init() { commands = append(commands, newGatewayCmd) }

func newGatewayCmd(g *globals) *cobra.Command {
	var (
		listen string
		nodes  []string
	)
	cmd := &cobra.Command{
		Use:   "gateway",
		Short: "Serve the gateway (REST API) in front of running nodes",
		Long: `Serve the gateway in front of nodes started with "lian node start".
Name each chain's nodes with --node CHAIN=RPC_URL (repeat the flag; several URLs of one
chain give fail-over), e.g. --node beijing-1=http://10.0.0.5:26657.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg := gateway.Config{Chains: map[string][]string{}}
			for _, n := range nodes {
				chain, url, ok := strings.Cut(n, "=")
				if !ok || chain == "" || url == "" {
					return fmt.Errorf("--node %q: expected CHAIN=RPC_URL", n)
				}
				cfg.Chains[chain] = append(cfg.Chains[chain], url)
			}
			if len(cfg.Chains) == 0 {
				return errors.New("no --node given: expected at least one CHAIN=RPC_URL")
			}
			gw, err := gateway.New(cfg)
			if err != nil {
				return err
			}
			defer gw.Close()
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return err
			}
			srv := &http.Server{Handler: gw.Handler(), ReadHeaderTimeout: 10 * time.Second}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			go func() {
				<-ctx.Done()
				sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				srv.Shutdown(sctx)
			}()
			fmt.Fprintf(cmd.OutOrStdout(), "gateway listening on http://%s\n", ln.Addr())
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8700", "listen address")
	cmd.Flags().StringArrayVar(&nodes, "node", nil, "CHAIN=RPC_URL of a node (repeatable)")
	return cmd
}
