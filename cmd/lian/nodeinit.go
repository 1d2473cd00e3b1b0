package main

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lianchain/lian/node"
)

// nodeInitOutput is what `lian node init` prints with -o json.
type nodeInitOutput struct {
	Home      string                `json:"home"`
	ChainID   string                `json:"chain_id"`
	Moniker   string                `json:"moniker"`
	NodeID    string                `json:"node_id"`
	P2P       string                `json:"p2p"`
	RPC       string                `json:"rpc"`
	Peers     []string              `json:"peers"`
	Validator nodeInitValidatorJSON `json:"validator"`
}

// nodeInitValidatorJSON is the node's consensus key.
type nodeInitValidatorJSON struct {
	Type         string `json:"type"`           // always ed25519
	PubKey       string `json:"pub_key"`        // hex, as governance proposals take it
	PubKeyBase64 string `json:"pub_key_base64"` // as CometBFT's genesis and RPC show it
	Address      string `json:"address"`        // CometBFT validator address, upper hex
}

// newNodeInitCmd is `lian node init`: the home of a new node of an existing chain.
func newNodeInitCmd(g *globals) *cobra.Command {
	var (
		genesis  string
		peers    []string
		p2pLaddr string
		rpcLaddr string
		moniker  string
	)
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write the home of a new node of an existing chain (its genesis, fresh keys, peers)",
		Long: `Write a node home at --home for a chain that is already running: the chain's
genesis.json (--genesis, copied unchanged), a fresh node key and validator key, and
config.toml tuned as "lian network init" tunes its homes, with --peers (running nodes
of the chain, node_id@host:port) as persistent peers. An existing home is never
overwritten.

It prints the node id and the validator's ed25519 public key (hex and base64). Start
the node with "lian node start --home DIR": it syncs the chain as a full node, and
signs blocks once a governance proposal (add_org with a validator, or add_validator)
that carries the hex public key has passed.

Without --p2p-laddr / --rpc-laddr the node listens on free ports of 127.0.0.1; on a
machine of its own give e.g. --p2p-laddr 0.0.0.0:26656 --rpc-laddr 127.0.0.1:26657.`,
		Example: `  lian node init --home ./org5-node --genesis ./genesis.json \
    --peers 3b1f…@10.0.0.1:26656,9c02…@10.0.0.2:26656 --p2p-laddr 0.0.0.0:26656`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("home") && os.Getenv("LIAN_HOME") == "" {
				return errors.New("--home is required: the directory of the new node home")
			}
			if genesis == "" {
				return errors.New("--genesis is required: the chain's genesis.json")
			}
			if len(peers) == 0 {
				return errors.New("--peers is required: running nodes of the chain, node_id@host:port,...")
			}
			info, err := node.InitJoin(node.JoinSpec{
				Home: g.home, Genesis: genesis, Peers: peers, Moniker: moniker,
				P2PListen: p2pLaddr, RPCListen: rpcLaddr,
			})
			if err != nil {
				return err
			}
			out := nodeInitOutput{
				Home: info.Home, ChainID: info.ChainID, Moniker: info.Moniker, NodeID: info.NodeID,
				P2P: info.P2PAddr, RPC: info.RPCAddr, Peers: info.Peers,
				Validator: nodeInitValidatorJSON{
					Type:         "ed25519",
					PubKey:       hex.EncodeToString(info.PubKey),
					PubKeyBase64: base64.StdEncoding.EncodeToString(info.PubKey),
					Address:      info.Address,
				},
			}
			return g.print(cmd.OutOrStdout(), out, func(w io.Writer) {
				fmt.Fprintf(w, "node home %s for chain %s\n", out.Home, out.ChainID)
				cliWriteKV(w, []cliKV{
					{"moniker", out.Moniker},
					{"node_id", out.NodeID},
					{"p2p", out.P2P},
					{"rpc", out.RPC},
					{"peers", strings.Join(out.Peers, ",")},
					{"validator_pub_key", out.Validator.PubKey + " (ed25519, hex)"},
					{"validator_pub_key_base64", out.Validator.PubKeyBase64},
					{"validator_address", out.Validator.Address},
				})
				fmt.Fprintf(w, "start it with: lian node start --home %s\n", out.Home)
				fmt.Fprintf(w, "it signs blocks once a proposal has made this validator: {\"pub_key\":\"%s\",\"power\":%d}\n", out.Validator.PubKey, node.DefaultPower)
			})
		},
	}
	cmd.Flags().StringVar(&genesis, "genesis", "", "the chain's genesis.json (required)")
	cmd.Flags().StringSliceVar(&peers, "peers", nil, "running nodes of the chain to dial, node_id@host:port,... (required)")
	cmd.Flags().StringVar(&p2pLaddr, "p2p-laddr", "", "p2p listen address host:port; default a free port on 127.0.0.1")
	cmd.Flags().StringVar(&rpcLaddr, "rpc-laddr", "", "RPC listen address host:port; default a free port on 127.0.0.1")
	cmd.Flags().StringVar(&moniker, "moniker", "", "the node's name in p2p handshakes; default the home's directory name")
	return cmd
}
