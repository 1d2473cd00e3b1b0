package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/lianchain/lian/app"
	"github.com/lianchain/lian/client"
	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/localnet"
	"github.com/lianchain/lian/node"
)

func init() { commands = append(commands, newNodeCmd, newNetworkCmd) }

func newNodeCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "node", Short: "Run one node of a chain"}
	var logLevel string
	start := &cobra.Command{
		Use:   "start",
		Short: "Start the node whose home is --home (written by `lian network init` or `lian node init`)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			logger, err := node.NewLogger(cmd.ErrOrStderr(), logLevel)
			if err != nil {
				return err
			}
			nd, err := localnet.StartNode(g.home, logger)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "started node %s of chain %s rpc=%s\n", nd.Node.Config().Moniker, nd.Node.ChainID(), nd.Node.RPCURL())
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			<-ctx.Done()
			return nd.Stop()
		},
	}
	start.Flags().StringVar(&logLevel, "log-level", "error", "log level: error, info, debug, none")
	cmd.AddCommand(start, newNodeInitCmd(g), newNodeCheckCmd(g))
	return cmd
}

// nodeCheck is the output of `lian node check`.
type nodeCheck struct {
	ChainID    string   `json:"chain_id"`
	Height     int64    `json:"height"`
	OK         bool     `json:"ok"`
	Violations []string `json:"violations,omitempty"`
}

func newNodeCheckCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "Check that a stopped node's stored state keeps every module's invariants",
		Long: `Open the application state of the node whose home is --home (the node must be
stopped: its database is locked while it runs), at its last committed height, and run
every module's invariants over it: records decode and sit under their own keys,
cross-references resolve, no key of an unknown kind. Print the violations, if any, and
exit non-zero. It reads the whole state, so it takes a while on a large one.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := app.Open(node.DataDir(g.home))
			if err != nil {
				return fmt.Errorf("%w (is the node stopped?)", err)
			}
			defer a.Close()
			res := nodeCheck{ChainID: a.ChainID(), Height: a.Store().Version(), OK: true}
			ierr := a.CheckInvariants()
			if ierr != nil {
				res.OK, res.Violations = false, strings.Split(ierr.Error(), "\n")
			}
			if err := g.print(cmd.OutOrStdout(), res, func(w io.Writer) {
				if res.OK {
					fmt.Fprintf(w, "%s at height %d: every invariant holds\n", res.ChainID, res.Height)
					return
				}
				fmt.Fprintf(w, "%s at height %d: %d violations\n", res.ChainID, res.Height, len(res.Violations))
				for _, v := range res.Violations {
					fmt.Fprintln(w, "  "+v)
				}
			}); err != nil {
				return err
			}
			if ierr != nil {
				return fmt.Errorf("the state of %s at height %d breaks %d invariants", res.ChainID, res.Height, len(res.Violations))
			}
			return nil
		},
	}
}

func newNetworkCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "network", Short: "Create the node homes of a chain for separate processes or machines"}
	var (
		chainID    string
		validators int
		out        string
		hosts      []string
		basePort   int
		algo       string
	)
	initCmd := &cobra.Command{
		Use:   "init",
		Short: "Write N node homes (keys, config, genesis, peers) and one admin key per organisation",
		Long: `Write the homes of a new chain's validators, one per organisation (org1…orgN),
under --out/node0 … --out/node{N-1}, and an admin key per organisation under --out/keys
(org1-admin, …). Copy each node home to the machine of its organisation and run
"lian node start --home DIR" there; give each organisation its admin key.

With --hosts (one per node, or one for all) the nodes find each other at those hosts;
by default all run on 127.0.0.1 with free ports picked now.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if chainID == "" || out == "" {
				return errors.New("--chain-id and --out are required")
			}
			a, err := crypto.ParseAlgo(algo)
			if err != nil {
				return fmt.Errorf("--admin-algo: %w", err)
			}
			ks, err := crypto.OpenKeystore(filepath.Join(out, "keys"))
			if err != nil {
				return err
			}
			var admins []crypto.Key
			for i := 1; i <= validators; i++ {
				k, err := ks.Create(fmt.Sprintf("org%d-admin", i), a)
				if err != nil {
					return err
				}
				admins = append(admins, k)
			}
			vals, err := node.InitNetwork(node.NetworkSpec{
				ChainID: chainID, Dir: out, Validators: validators, Hosts: hosts, BasePort: basePort,
				AppState: func(vals []node.ValidatorInfo) (json.RawMessage, error) {
					return localnet.GenesisWithAdmins(vals, admins, localnet.GenesisOptions{})
				},
			})
			if err != nil {
				return err
			}
			trust, err := client.TrustFromGenesis(filepath.Join(vals[0].Home, "config", "genesis.json"))
			if err != nil {
				return err
			}
			if err := client.SaveTrust(client.TrustDir(out), trust); err != nil {
				return err
			}
			type row struct {
				Home    string `json:"home"`
				Org     string `json:"org"`
				NodeID  string `json:"node_id"`
				P2P     string `json:"p2p"`
				RPC     string `json:"rpc"`
				Admin   string `json:"admin_key"`
				Address string `json:"admin_address"`
			}
			rows := make([]row, len(vals))
			for i, v := range vals {
				rows[i] = row{v.Home, fmt.Sprintf("org%d", i+1), v.NodeID, v.P2PAddr, v.RPCAddr, admins[i].Name, admins[i].Address.String()}
			}
			return g.print(cmd.OutOrStdout(), map[string]any{"chain_id": chainID, "nodes": rows, "keys": ks.Dir()}, func(w io.Writer) {
				fmt.Fprintf(w, "chain %s: %d node homes under %s, admin keys in %s\n", chainID, len(vals), out, ks.Dir())
				for _, r := range rows {
					fmt.Fprintf(w, "  %s  %s  p2p=%s rpc=%s admin=%s (%s)\n", r.Home, r.Org, r.P2P, r.RPC, r.Admin, r.Address)
				}
				fmt.Fprintf(w, "start each with: lian node start --home %s\n", strings.TrimSuffix(vals[0].Home, "0")+"<i>")
			})
		},
	}
	initCmd.Flags().StringVar(&chainID, "chain-id", "", "chain id (required)")
	initCmd.Flags().IntVar(&validators, "validators", 4, "number of validators, one per organisation")
	initCmd.Flags().StringVar(&out, "out", "", "directory to write the node homes into (required)")
	initCmd.Flags().StringSliceVar(&hosts, "hosts", nil, "host of each node (one per node, or one for all); default 127.0.0.1")
	initCmd.Flags().IntVar(&basePort, "base-port", 0, "first port (p2p, rpc pairs); 0 picks free ports on this machine")
	initCmd.Flags().StringVar(&algo, "admin-algo", "sm2", "algorithm of the organisations' admin keys: ed25519, sm2, secp256k1")
	cmd.AddCommand(initCmd)
	return cmd
}
