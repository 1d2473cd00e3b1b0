package relayer

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/lianchain/lian/client"
	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/modules/attest"
	"github.com/lianchain/lian/modules/gov"
	"github.com/lianchain/lian/modules/message"
	"github.com/lianchain/lian/modules/xchain"
	"github.com/lianchain/lian/txs"
)

// Defaults of SetupOptions.
const (
	DefaultTrustingPeriod = 336 * time.Hour
	// DefaultClockSkew is how far apart two chains' clocks may be.
	DefaultClockSkew = 10 * time.Second
	// DefaultMaxClockDrift is how far a header may be ahead of the block time of the
	// chain that checks it: the clock skew, plus how far that block time can lag the
	// clock. A CometBFT block carries the time of the votes on the block before it, so
	// on an idle chain, which makes a block only every create_empty_blocks_interval (30
	// s by default, node.DefaultCreateEmptyBlocksInterval), the next block's time is up
	// to that interval old. Without it, the first relay after a pause of more than the
	// skew is refused as "from the future" until the chain catches up. (IBC relayers
	// add the host chain's maximum block time the same way.)
	DefaultMaxClockDrift = DefaultClockSkew + 30*time.Second
)

// DefaultPorts are the ports SetupPaths joins by a route on each path.
var DefaultPorts = []string{attest.Name, message.Name}

// RouteID is the id SetupPaths gives the route of port on a chain to counterparty.
func RouteID(port, counterparty string) string { return port + "-" + counterparty }

// SetupChain is a chain whose governance SetupPaths drives: its node, and keys of its
// organisations' admins. The first admin submits the proposals; all vote yes, so
// there must be enough of them to pass a proposal.
type SetupChain struct {
	ID     string
	RPC    Endpoint
	Admins []crypto.PrivKey
}

// SetupOptions tune SetupPaths. Zero values select the defaults.
type SetupOptions struct {
	TrustingPeriod time.Duration
	MaxClockDrift  time.Duration
	Ports          []string
}

// SetupPaths makes, through governance, on each chain of every path a light client of
// the other chain (id: the other chain's id) and a route per port to it (id
// RouteID(port, other chain), counterparty RouteID(port, this chain)). What exists is
// kept, so it may run again; a client that expired (no relayer ran for its trusting
// period) is replaced from a fresh header, a frozen one is left to people. Each chain
// needs two blocks: one with the proposals, one with the votes that pass them.
func SetupPaths(ctx context.Context, chains []SetupChain, paths []Path, opts SetupOptions) error {
	if opts.TrustingPeriod == 0 {
		opts.TrustingPeriod = DefaultTrustingPeriod
	}
	if opts.MaxClockDrift == 0 {
		opts.MaxClockDrift = DefaultMaxClockDrift
	}
	if len(opts.Ports) == 0 {
		opts.Ports = DefaultPorts
	}
	byID := map[string]*SetupChain{}
	for i := range chains {
		c := &chains[i]
		if len(c.Admins) == 0 {
			return fmt.Errorf("setup: chain %s: no admin keys", c.ID)
		}
		byID[c.ID] = c
	}
	others := map[string][]string{}
	for _, p := range paths {
		if byID[p.A] == nil || byID[p.B] == nil || p.A == p.B {
			return fmt.Errorf("setup: path %s-%s: unknown chain", p.A, p.B)
		}
		others[p.A] = append(others[p.A], p.B)
		others[p.B] = append(others[p.B], p.A)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(chains))
	for i := range chains {
		c := &chains[i]
		if len(others[c.ID]) == 0 {
			continue
		}
		wg.Go(func() { errs[i] = setupChain(ctx, c, others[c.ID], byID, opts) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func setupChain(ctx context.Context, c *SetupChain, others []string, byID map[string]*SetupChain, opts SetupOptions) error {
	proposer, err := NewChain(c.ID, c.RPC, c.Admins[0])
	if err != nil {
		return err
	}
	clients, err := proposer.Clients(ctx)
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	routes, err := proposer.Routes(ctx)
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	haveClient, haveRoute, expired := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, cl := range clients {
		haveClient[cl.ID] = true
		// A client left expired by a long pause (lian up stopped for longer than the
		// trusting period) is replaced from a fresh header. A frozen one is not: it
		// froze on proof of misbehaviour, which people must look at.
		expired[cl.ID] = cl.Status == xchain.StatusExpired
	}
	for _, r := range routes {
		haveRoute[r.ID] = true
	}
	var msgs []txs.Msg
	for _, other := range others {
		if !haveClient[other] || expired[other] {
			oc, err := NewChain(other, byID[other].RPC, byID[other].Admins[0])
			if err != nil {
				return err
			}
			head, err := oc.Head(ctx)
			if err != nil {
				return fmt.Errorf("setup: %w", err)
			}
			cs, err := oc.ConsensusStateAt(ctx, head.Height)
			if err != nil {
				return fmt.Errorf("setup: %w", err)
			}
			content := gov.ClientContent{ClientParams: xchain.ClientParams{ID: other, ChainID: other,
				TrustingPeriod: xchain.Duration(opts.TrustingPeriod), MaxClockDrift: xchain.Duration(opts.MaxClockDrift), ConsensusState: cs}}
			kind, title := gov.KindCreateClient, "Trust chain "+other
			if expired[other] {
				kind, title = gov.KindReplaceClient, "Replace the expired client of "+other
			}
			m, err := client.NewProposal(kind, title, content)
			if err != nil {
				return fmt.Errorf("setup: %s: client of %s: %w", c.ID, other, err)
			}
			msgs = append(msgs, m)
		}
		for _, port := range opts.Ports {
			id := RouteID(port, other)
			if haveRoute[id] {
				continue
			}
			content := gov.RouteContent{RouteParams: xchain.RouteParams{ID: id, Port: port, Client: other,
				CounterpartyRoute: RouteID(port, c.ID), CounterpartyPort: port}}
			m, err := client.NewProposal(gov.KindOpenRoute, "Route "+id, content)
			if err != nil {
				return fmt.Errorf("setup: %s: route %s: %w", c.ID, id, err)
			}
			msgs = append(msgs, m)
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	res, err := proposer.SubmitAndWait(ctx, msgs)
	if err != nil {
		return fmt.Errorf("setup: %s: submit proposals: %w", c.ID, err)
	}
	var ids []uint64
	for _, e := range res.TxResult.Events {
		if e.Type != gov.EventSubmitted {
			continue
		}
		id, err := strconv.ParseUint(eventAttrs(e)["proposal"], 10, 64)
		if err != nil {
			return fmt.Errorf("setup: %s: proposal id: %w", c.ID, err)
		}
		ids = append(ids, id)
	}
	if len(ids) != len(msgs) {
		return fmt.Errorf("setup: %s: %d proposals submitted, %d ids in the result", c.ID, len(msgs), len(ids))
	}
	votes := make([]txs.Msg, len(ids))
	for i, id := range ids {
		if votes[i], err = client.NewVote(id, gov.VoteYes); err != nil {
			return err
		}
	}
	// Every admin votes at once; votes after a proposal passed fail harmlessly.
	var wg sync.WaitGroup
	errs := make([]error, len(c.Admins))
	for i, k := range c.Admins {
		wg.Go(func() {
			v, err := NewChain(c.ID, c.RPC, k)
			if err == nil {
				_, err = v.SubmitAndWait(ctx, votes)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	// The outcome is what the chain has now.
	clients, err = proposer.Clients(ctx)
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	routes, err = proposer.Routes(ctx)
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	clear(haveClient)
	clear(haveRoute)
	for _, cl := range clients {
		haveClient[cl.ID] = cl.Status != xchain.StatusExpired
	}
	for _, r := range routes {
		haveRoute[r.ID] = true
	}
	for _, other := range others {
		missing := !haveClient[other]
		for _, port := range opts.Ports {
			missing = missing || !haveRoute[RouteID(port, other)]
		}
		if missing {
			return fmt.Errorf("setup: %s: the client of %s or its routes are missing after the votes: %w", c.ID, other, errors.Join(errs...))
		}
	}
	return nil
}
