package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/lianchain/lian/relayer"
)

func init() { commands = append(commands, newRelayerCmd) }

func newRelayerCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "relayer",
		Short: "Relay cross-chain packets between Lian chains",
	}
	cmd.AddCommand(newRelayerStartCmd(g))
	return cmd
}

func newRelayerStartCmd(_ *globals) *cobra.Command {
	var (
		config, metrics, logLevel string
	)
	cmd := &cobra.Command{
		Use:   "start",
		Short: "Run a relayer on the paths of a configuration file until interrupted",
		Long: `Run a relayer: on every path of the configuration file (--config, JSON; see
docs/relayer.md) it relays packets, acknowledgements and timeouts both ways, with the
light-client updates that prove them, and keeps the clients from expiring.

It talks to each chain's node over CometBFT RPC and signs with the key file named for
the chain, whose account needs the relayer role there. It keeps no state: on start it
clears everything pending, so it may be stopped at any time and several relayers may
run on one path. It prints "relaying N path(s)" once it follows every chain and has
cleared what was pending at its start. --metrics ADDR serves Prometheus metrics at
http://ADDR/metrics. SIGINT or SIGTERM stops it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if config == "" {
				return errors.New("--config is required")
			}
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("--log-level: %w", err)
			}
			cfg, err := relayer.LoadConfig(config)
			if err != nil {
				return err
			}
			logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			r, err := cfg.Connect(logger)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if metrics != "" {
				ln, err := net.Listen("tcp", metrics)
				if err != nil {
					return fmt.Errorf("--metrics: %w", err)
				}
				mux := http.NewServeMux()
				mux.Handle("/metrics", promhttp.HandlerFor(r.Metrics().Registry, promhttp.HandlerOpts{}))
				srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
				go srv.Serve(ln)
				defer srv.Close()
				fmt.Fprintf(cmd.ErrOrStderr(), "metrics at http://%s/metrics\n", ln.Addr())
			}
			done := make(chan error, 1)
			go func() { done <- r.Run(ctx) }()
			select {
			case <-r.Ready():
				fmt.Fprintf(cmd.OutOrStdout(), "relaying %d path(s)\n", len(cfg.Paths))
				err = <-done
			case err = <-done:
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.ErrOrStderr(), "stopping")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&config, "config", "", "relayer configuration file (JSON, see docs/relayer.md)")
	f.StringVar(&metrics, "metrics", "", "serve Prometheus metrics on this address (host:port), at /metrics")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	return cmd
}
