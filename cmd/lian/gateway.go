package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/lianchain/lian/gateway"
)

func init() { commands = append(commands, newGatewayCmd) }

// keyStoreFile is the default API key store of a home.
const keyStoreFile = "gateway-keys.json"

// gatewayFlags are the gateway options `lian gateway` and `lian up` share.
type gatewayFlags struct {
	auth           bool
	rate           float64
	burst          int
	cors           []string
	maxBody        int64
	requestTimeout time.Duration
}

func (f *gatewayFlags) register(cmd *cobra.Command, storeHelp string) {
	fl := cmd.Flags()
	fl.BoolVar(&f.auth, "auth", false, "require an API key (Authorization: Bearer <key>) on writes; keys come from "+storeHelp)
	fl.Float64Var(&f.rate, "rate-limit", gateway.DefaultRateLimit, "requests per second each API key may send (0: no limit)")
	fl.IntVar(&f.burst, "rate-burst", gateway.DefaultRateBurst, "requests an API key may send at once")
	fl.StringSliceVar(&f.cors, "cors-origin", nil, `origin whose web pages may call the API, e.g. https://app.example.com, or "*" (repeatable; default none)`)
	fl.Int64Var(&f.maxBody, "max-body", gateway.MaxBodyBytes, "largest request body in bytes (413 tx_too_large beyond)")
	fl.DurationVar(&f.requestTimeout, "request-timeout", gateway.DefaultRequestTimeout, "time limit of a request (504 request_timeout); a commit wait comes on top")
}

// config returns the gateway configuration of the flags, opening the key store when
// --auth is given.
func (f *gatewayFlags) config(store string) (gateway.Config, error) {
	cfg := gateway.Config{
		CORSOrigins:    f.cors,
		MaxBodyBytes:   f.maxBody,
		RequestTimeout: f.requestTimeout,
		RateLimit:      f.rate,
		RateBurst:      f.burst,
	}
	if f.maxBody <= 0 {
		return cfg, fmt.Errorf("--max-body %d: expected a positive number of bytes", f.maxBody)
	}
	if f.requestTimeout <= 0 {
		return cfg, fmt.Errorf("--request-timeout %v: expected a positive duration", f.requestTimeout)
	}
	if f.auth {
		ks, err := gateway.OpenKeyStore(store)
		if err != nil {
			return cfg, err
		}
		cfg.Keys = ks
	}
	return cfg, nil
}

// authNotice tells how the gateway treats writes: with keys from the store, or open to
// anyone who reaches listen (a warning unless that is the loopback interface).
func (f *gatewayFlags) authNotice(w io.Writer, cfg gateway.Config, listen string) {
	if cfg.Keys == nil {
		if isLoopback(listen) {
			fmt.Fprintf(w, "gateway: no API keys: writes are open to this machine only (listening on %s); --auth requires keys\n", listen)
		} else {
			fmt.Fprintf(w, "WARNING: gateway: no API keys: writes are open to anyone who reaches %s; use --auth\n", listen)
		}
		return
	}
	active := 0
	if keys, err := cfg.Keys.List(); err == nil {
		for _, k := range keys {
			if !k.Revoked {
				active++
			}
		}
	}
	fmt.Fprintf(w, "gateway: writes need an API key (%d active in %s); create one with: lian gateway keys create NAME --store %s (the CLI sends $LIAN_API_KEY)\n",
		active, cfg.Keys.Path(), cfg.Keys.Path())
}

// isLoopback reports whether a listen address only accepts connections from this machine.
func isLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// storePath returns the key store file: --store, else <home>/gateway-keys.json.
func storePath(g *globals, store string) string {
	if store != "" {
		return store
	}
	return filepath.Join(g.home, keyStoreFile)
}

func newGatewayCmd(g *globals) *cobra.Command {
	var (
		listen    string
		nodes     []string
		store     string
		logFormat string
		gf        gatewayFlags
	)
	cmd := &cobra.Command{
		Use:   "gateway",
		Short: "Serve the gateway (REST API) in front of running nodes; manage its API keys",
		Long: `Serve the gateway in front of nodes started with "lian node start".
Name each chain's nodes with --node CHAIN=RPC_URL (repeat the flag; several URLs of one
chain give fail-over), e.g. --node beijing-1=http://10.0.0.5:26657.

With --auth, writes need a platform API key (Authorization: Bearer <key>), made with
"lian gateway keys create"; every request is logged (to stderr) with the key's name.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := gf.config(storePath(g, store))
			if err != nil {
				return err
			}
			cfg.Chains = map[string][]string{}
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
			switch logFormat {
			case "json":
				cfg.Logger = slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), nil))
			case "text":
				cfg.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			default:
				return fmt.Errorf("--log-format %q: expected json or text", logFormat)
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
			gf.authNotice(cmd.ErrOrStderr(), cfg, ln.Addr().String())
			fmt.Fprintf(cmd.OutOrStdout(), "gateway listening on http://%s\n", ln.Addr())
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8700", "listen address")
	cmd.Flags().StringArrayVar(&nodes, "node", nil, "CHAIN=RPC_URL of a node (repeatable)")
	cmd.Flags().StringVar(&logFormat, "log-format", "json", "request log format on stderr: json or text")
	gf.register(cmd, "--store")
	cmd.PersistentFlags().StringVar(&store, "store", "", "API key store file (default <home>/"+keyStoreFile+")")
	cmd.AddCommand(newGatewayKeysCmd(g, &store))
	return cmd
}

// keyView is a key as `lian gateway keys` prints it.
type keyView struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Created   time.Time  `json:"created"`
	Revoked   bool       `json:"revoked"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	Rate      float64    `json:"rate,omitempty"`
	Burst     int        `json:"burst,omitempty"`
	// Key is the key itself, printed once by create.
	Key string `json:"key,omitempty"`
}

func viewOf(k gateway.APIKey) keyView {
	return keyView{ID: k.ID, Name: k.Name, Created: k.Created, Revoked: k.Revoked, RevokedAt: k.RevokedAt, Rate: k.Rate, Burst: k.Burst}
}

func newGatewayKeysCmd(g *globals, store *string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Create, list and revoke the gateway's platform API keys",
		Long: `Manage the API keys a gateway run with --auth accepts. The store (--store, default
<home>/` + keyStoreFile + `) keeps each key's name, creation time, whether it is revoked and the
SHA-256 of its secret, never the secret: a key is shown once, when it is created. A running
gateway sees created and revoked keys within a second.`,
	}
	open := func() (*gateway.KeyStore, error) { return gateway.OpenKeyStore(storePath(g, *store)) }

	var rate float64
	var burst int
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a key and print it (the only time it is shown)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ks, err := open()
			if err != nil {
				return err
			}
			k, secret, err := ks.Create(args[0], rate, burst)
			if err != nil {
				return err
			}
			v := viewOf(k)
			v.Key = secret
			return g.print(cmd.OutOrStdout(), v, func(w io.Writer) {
				fmt.Fprintf(w, "created key %q (id %s) in %s\n", k.Name, k.ID, ks.Path())
				fmt.Fprintf(w, "key: %s\n", secret)
				fmt.Fprintln(w, "Keep it secret: it is not shown again. Send it as Authorization: Bearer <key>; the CLI sends $LIAN_API_KEY.")
			})
		},
	}
	create.Flags().Float64Var(&rate, "rate", 0, "this key's requests per second (default: the gateway's --rate-limit)")
	create.Flags().IntVar(&burst, "burst", 0, "this key's burst (default: the gateway's --rate-burst, or twice --rate)")

	list := &cobra.Command{
		Use:   "list",
		Short: "List the keys (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ks, err := open()
			if err != nil {
				return err
			}
			keys, err := ks.List()
			if err != nil {
				return err
			}
			views := make([]keyView, len(keys))
			for i, k := range keys {
				views[i] = viewOf(k)
			}
			return g.print(cmd.OutOrStdout(), map[string]any{"store": ks.Path(), "keys": views}, func(w io.Writer) {
				if len(keys) == 0 {
					fmt.Fprintf(w, "no keys in %s\n", ks.Path())
					return
				}
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tID\tCREATED\tSTATUS\tRATE LIMIT")
				for _, k := range keys {
					status := "active"
					if k.Revoked {
						status = "revoked"
						if k.RevokedAt != nil {
							status += " " + k.RevokedAt.Format(time.RFC3339)
						}
					}
					limit := "gateway's"
					if k.Rate > 0 || k.Burst > 0 {
						limit = fmt.Sprintf("%g/s burst %d", k.Rate, k.Burst)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.Name, k.ID, k.Created.Format(time.RFC3339), status, limit)
				}
				tw.Flush()
			})
		},
	}

	revoke := &cobra.Command{
		Use:   "revoke NAME|ID",
		Short: "Revoke a key: the gateway refuses it from then on (403 api_key_revoked)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ks, err := open()
			if err != nil {
				return err
			}
			k, already, err := ks.Revoke(args[0])
			if err != nil {
				return err
			}
			return g.print(cmd.OutOrStdout(), viewOf(k), func(w io.Writer) {
				if already {
					at := ""
					if k.RevokedAt != nil {
						at = ", at " + k.RevokedAt.Format(time.RFC3339)
					}
					fmt.Fprintf(w, "key %q (id %s) was revoked already%s\n", k.Name, k.ID, at)
					return
				}
				fmt.Fprintf(w, "revoked key %q (id %s)\n", k.Name, k.ID)
			})
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}
