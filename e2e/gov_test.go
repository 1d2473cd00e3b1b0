package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/crypto/ed25519"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	coretypes "github.com/cometbft/cometbft/rpc/core/types"
	"github.com/cometbft/cometbft/types"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/modules/evidence"
	"github.com/lianchain/lian/modules/gov"
	"github.com/lianchain/lian/modules/identity"
	"github.com/lianchain/lian/txs"
)

// Deadlines of the governance test's waits (each is a bound, not a pause).
const (
	govRPCTimeout    = 5 * time.Second  // one RPC call
	govCommitTimeout = 30 * time.Second // a broadcast tx to be committed and indexed
	govSyncTimeout   = 60 * time.Second // a node to start and catch up
	govBlocksTimeout = 40 * time.Second // the chain, driven by txs, to reach a state
)

// govNetInit is the -o json output of `lian network init`.
type govNetInit struct {
	ChainID string `json:"chain_id"`
	Nodes   []struct {
		Home   string `json:"home"`
		Org    string `json:"org"`
		NodeID string `json:"node_id"`
		P2P    string `json:"p2p"`
		RPC    string `json:"rpc"`
		Admin  string `json:"admin_key"`
	} `json:"nodes"`
	Keys string `json:"keys"`
}

// govNodeInit is the -o json output of `lian node init`.
type govNodeInit struct {
	Home      string   `json:"home"`
	ChainID   string   `json:"chain_id"`
	NodeID    string   `json:"node_id"`
	P2P       string   `json:"p2p"`
	RPC       string   `json:"rpc"`
	Peers     []string `json:"peers"`
	Validator struct {
		Type         string `json:"type"`
		PubKey       string `json:"pub_key"`
		PubKeyBase64 string `json:"pub_key_base64"`
		Address      string `json:"address"`
	} `json:"validator"`
}

// govNode is one `lian node start` process and its RPC client.
type govNode struct {
	name string
	home string
	p    *proc
	rpc  *rpchttp.HTTP
}

// govChain is the test's handle on a chain of separate node processes: it signs with
// the organisations' admin keys and tracks their nonces (every tx it sends commits).
type govChain struct {
	t       *testing.T
	chainID string
	nodes   []*govNode
	ks      *crypto.Keystore
	keys    map[string]crypto.PrivKey
	nonces  map[string]uint64
	// last is the height of the last tx the test saw committed; queries (and so txs,
	// which first query the sender's nonce) wait for a node's state to have that block,
	// so that its CheckTx state has the sender's nonce and, for a vote, the proposal.
	last int64
	docs int
}

// startNode starts `lian node start` on a home whose RPC listens on rpcAddr.
func (c *govChain) startNode(name, home, rpcAddr string) *govNode {
	c.t.Helper()
	rpc, err := rpchttp.New("http://"+rpcAddr, "/websocket")
	if err != nil {
		c.t.Fatalf("%s: rpc client: %v", name, err)
	}
	n := &govNode{name: name, home: home, rpc: rpc, p: start(c.t, "node", "start", "--home", home)}
	c.nodes = append(c.nodes, n)
	return n
}

// status returns a node's latest height and whether it is catching up (0, true if it
// does not answer).
func (n *govNode) status() (int64, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), govRPCTimeout)
	defer cancel()
	st, err := n.rpc.Status(ctx)
	if err != nil {
		return 0, true
	}
	return st.SyncInfo.LatestBlockHeight, st.SyncInfo.CatchingUp
}

func (n *govNode) height() int64 {
	h, _ := n.status()
	return h
}

// waitHeight waits until the node has committed height h.
func (c *govChain) waitHeight(n *govNode, h int64, timeout time.Duration) {
	c.t.Helper()
	poll(c.t, timeout, fmt.Sprintf("%s to commit height %d", n.name, h), func() bool { return n.height() >= h })
}

func (c *govChain) key(name string) crypto.PrivKey {
	c.t.Helper()
	if k, ok := c.keys[name]; ok {
		return k
	}
	k, err := c.ks.Signer(name)
	if err != nil {
		c.t.Fatalf("load key %s: %v", name, err)
	}
	c.keys[name] = k
	return k
}

// submit signs msgs with the key, broadcasts them through node via (broadcast_tx_sync),
// waits for the commit and fails the test unless the tx succeeded.
func (c *govChain) submit(via *govNode, from string, msgs ...txs.Msg) *coretypes.ResultTx {
	c.t.Helper()
	key := c.key(from)
	addr := key.PubKey().Address()
	// The node's state must have the last committed tx (a vote needs the proposal) and
	// the sender's nonce so far, or its CheckTx would refuse the tx.
	tracked, known := c.nonces[from]
	v := c.query(via, "/identity/nonce", addr.Bytes())
	nonce := binary.BigEndian.Uint64(v)
	if known && nonce != tracked {
		c.t.Fatalf("%s's nonce on %s is %d, the test sent %d txs", from, via.name, nonce, tracked)
	}
	body := txs.NewBody(c.chainID, nonce, msgs...)
	body.Sender = addr
	tx, err := txs.Sign(body, key)
	if err != nil {
		c.t.Fatalf("sign tx of %s: %v", from, err)
	}
	bz := tx.Marshal()
	ctx, cancel := context.WithTimeout(context.Background(), govRPCTimeout)
	res, err := via.rpc.BroadcastTxSync(ctx, bz)
	cancel()
	if err != nil {
		c.t.Fatalf("broadcast tx of %s via %s: %v", from, via.name, err)
	}
	if res.Code != 0 {
		c.t.Fatalf("tx of %s refused by %s: code %d: %s", from, via.name, res.Code, res.Log)
	}
	c.nonces[from] = nonce + 1
	hash := txs.HashOf(bz)
	var out *coretypes.ResultTx
	poll(c.t, govCommitTimeout, fmt.Sprintf("tx %X of %s to commit", hash[:], from), func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), govRPCTimeout)
		defer cancel()
		r, err := via.rpc.Tx(ctx, hash[:], false)
		if err != nil {
			return false
		}
		out = r
		return true
	})
	if out.TxResult.Code != 0 {
		c.t.Fatalf("tx of %s failed at height %d: code %d: %s", from, out.Height, out.TxResult.Code, out.TxResult.Log)
	}
	c.last = out.Height
	return out
}

// anchor commits one evidence anchor: a block the chain must make now.
func (c *govChain) anchor(via *govNode) int64 {
	c.t.Helper()
	c.docs++
	doc := fmt.Sprintf("gov e2e document %d", c.docs)
	d := sha256.Sum256([]byte(doc))
	return c.submit(via, "org1-admin", &evidence.MsgAnchor{Digest: d[:], HashAlgo: evidence.HashSHA256, Label: doc}).Height
}

// checkLive checks the chain keeps committing: a new tx lands above every height seen so
// far, and every running node reaches its block.
func (c *govChain) checkLive(step string) {
	c.t.Helper()
	var top int64
	for _, n := range c.nodes {
		top = max(top, n.height())
	}
	h := c.anchor(c.nodes[0])
	if h <= top {
		c.t.Fatalf("%s: a new tx committed at height %d, not above %d", step, h, top)
	}
	for _, n := range c.nodes {
		c.waitHeight(n, h, govSyncTimeout)
	}
	c.t.Logf("%s: the chain commits (height %d, all %d nodes there)", step, h, len(c.nodes))
}

// driveUntil commits one anchor after another until cond holds: an idle chain makes a
// block only every 30 s, so blocks are made on demand.
func (c *govChain) driveUntil(what string, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(govBlocksTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out after %s waiting for %s (chain at height %d)", govBlocksTimeout, what, c.nodes[0].height())
		}
		c.anchor(c.nodes[0])
	}
}

// query runs an ABCI query on a node's state as of the last tx the test saw committed
// (or later), and fails the test unless it succeeds.
func (c *govChain) query(n *govNode, path string, data []byte) []byte {
	c.t.Helper()
	var value []byte
	poll(c.t, govSyncTimeout, fmt.Sprintf("%s's state to reach height %d", n.name, c.last), func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), govRPCTimeout)
		defer cancel()
		res, err := n.rpc.ABCIQuery(ctx, path, data)
		if err != nil || res.Response.Height < c.last {
			return false // not answering yet, or behind
		}
		if res.Response.Code != 0 {
			c.t.Fatalf("query %s on %s: code %d: %s", path, n.name, res.Response.Code, res.Response.Log)
		}
		value = res.Response.Value
		return true
	})
	return value
}

func (c *govChain) proposal(id uint64) *gov.Proposal {
	c.t.Helper()
	var p gov.Proposal
	if err := json.Unmarshal(c.query(c.nodes[0], "/gov/proposal", []byte(strconv.FormatUint(id, 10))), &p); err != nil {
		c.t.Fatalf("decode proposal %d: %v", id, err)
	}
	return &p
}

// propose submits a proposal and returns its id (from the tx's event).
func (c *govChain) propose(from, kind, title string, content any) uint64 {
	c.t.Helper()
	raw, err := json.Marshal(content)
	if err != nil {
		c.t.Fatal(err)
	}
	res := c.submit(c.nodes[0], from, &gov.MsgSubmitProposal{Kind: kind, Content: raw, Title: title})
	for _, ev := range res.TxResult.Events {
		if ev.Type != gov.EventSubmitted {
			continue
		}
		for _, a := range ev.Attributes {
			if a.Key == "proposal" {
				id, err := strconv.ParseUint(a.Value, 10, 64)
				if err != nil {
					c.t.Fatalf("proposal id %q: %v", a.Value, err)
				}
				return id
			}
		}
	}
	c.t.Fatalf("no %s event in the proposal's tx: %+v", gov.EventSubmitted, res.TxResult.Events)
	return 0
}

// voteUntilPassed has the admins vote yes in order, checking the tally after each vote:
// the proposal stays open until the last of them, whose vote executes it. It returns
// the height it was executed at.
func (c *govChain) voteUntilPassed(id uint64, required uint64, admins ...string) int64 {
	c.t.Helper()
	for i, admin := range admins {
		// Votes go through different nodes: every node takes governance txs.
		c.submit(c.nodes[i%len(c.nodes)], admin, &gov.MsgVote{ProposalID: id, Option: gov.VoteYes})
		p := c.proposal(id)
		if p.Yes != uint64(i+1) || p.Required != required {
			c.t.Fatalf("proposal %d after %d yes votes: yes %d required %d, want required %d", id, i+1, p.Yes, p.Required, required)
		}
		if i < len(admins)-1 && p.Status != gov.StatusVoting {
			c.t.Fatalf("proposal %d is %s after %d of %d required votes (error %q)", id, p.Status, i+1, required, p.Error)
		}
		if i == len(admins)-1 {
			if p.Status != gov.StatusExecuted {
				c.t.Fatalf("proposal %d is %s after %d yes votes, want executed (error %q)", id, p.Status, i+1, p.Error)
			}
			c.t.Logf("proposal %d (%s) executed at height %d with %d of %d yes votes", id, p.Kind, p.DecidedHeight, p.Yes, p.Required)
			return p.DecidedHeight
		}
	}
	c.t.Fatal("no votes")
	return 0
}

// validatorsAt returns the validator set of height h by address (upper hex) -> power.
func (c *govChain) validatorsAt(n *govNode, h int64) map[string]int64 {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), govRPCTimeout)
	defer cancel()
	perPage := 100
	res, err := n.rpc.Validators(ctx, &h, nil, &perPage)
	if err != nil {
		c.t.Fatalf("validators at %d on %s: %v", h, n.name, err)
	}
	out := map[string]int64{}
	for _, v := range res.Validators {
		out[v.Address.String()] = v.VotingPower
	}
	return out
}

// commitOf returns who signed block h's commit (addresses with a commit signature) and
// the block's proposer.
func (c *govChain) commitOf(n *govNode, h int64) (signers map[string]bool, proposer string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), govRPCTimeout)
	defer cancel()
	res, err := n.rpc.Commit(ctx, &h)
	if err != nil {
		c.t.Fatalf("commit %d on %s: %v", h, n.name, err)
	}
	signers = map[string]bool{}
	for _, s := range res.Commit.Signatures {
		if s.BlockIDFlag == types.BlockIDFlagCommit {
			signers[s.ValidatorAddress.String()] = true
		}
	}
	return signers, res.Header.ProposerAddress.String()
}

// TestGovernanceValidatorChanges runs a 4-validator chain (org1…org4) as separate
// `lian node start` processes and changes its validator set by governance: (a) add_org
// admits org5 with the validator of a fifth node made by `lian node init` from the same
// genesis, which syncs and then signs and proposes blocks; (b) remove_validator takes
// org4's validator out (4 of 5 organisations must vote yes), after which it signs no
// more commits; (c) the chain never stops committing.
func TestGovernanceValidatorChanges(t *testing.T) {
	began := time.Now()
	const chainID = "gov-1"
	var (
		dir     string
		netInit govNetInit
		ks      *crypto.Keystore
		c       *govChain
		err     error
	)
	t.Cleanup(func() {
		if t.Failed() && c != nil {
			for _, n := range c.nodes {
				t.Logf("%s output:\n%s", n.name, tail(n.p.output()))
			}
		}
	})
	// Another test package can bind a port network init picked before a node does:
	// the network is written again, with other ports (3 tries).
	for attempt := 1; ; attempt++ {
		dir = t.TempDir()
		runJSON(t, &netInit, "network", "init", "--chain-id", chainID, "--validators", "4", "--out", dir)
		if len(netInit.Nodes) != 4 {
			t.Fatalf("network init wrote %d nodes", len(netInit.Nodes))
		}
		if ks, err = crypto.OpenKeystore(netInit.Keys); err != nil {
			t.Fatal(err)
		}
		c = &govChain{t: t, chainID: chainID, ks: ks, keys: map[string]crypto.PrivKey{}, nonces: map[string]uint64{}}
		for i, n := range netInit.Nodes {
			if n.Org != fmt.Sprintf("org%d", i+1) || n.Admin != n.Org+"-admin" {
				t.Fatalf("network init node %d: %+v", i, n)
			}
			c.startNode(fmt.Sprintf("node%d(%s)", i, n.Org), n.Home, n.RPC)
		}
		// Ready: a block committed and out of block sync (which refuses txs). An idle
		// chain makes its next block only after 30 s, so the test's own txs make the
		// blocks.
		taken := false
		for _, n := range c.nodes {
			poll(t, govSyncTimeout, n.name+" to be ready", func() bool {
				taken = n.p.exited() && strings.Contains(n.p.output(), "address already in use")
				h, catchingUp := n.status()
				return taken || h >= 1 && !catchingUp
			})
			if taken {
				break
			}
		}
		if !taken {
			break
		}
		for _, n := range c.nodes {
			n.p.kill()
		}
		if attempt == 3 {
			t.Fatal("network init's ports were taken by other processes 3 times")
		}
		t.Logf("a node's port was taken by another process: writing the network again")
	}
	c.checkLive("network started")

	// A fifth node home for the same chain, with the four nodes as peers.
	var peers []string
	for _, n := range netInit.Nodes {
		peers = append(peers, n.NodeID+"@"+n.P2P)
	}
	genesis := filepath.Join(netInit.Nodes[0].Home, "config", "genesis.json")
	home5 := filepath.Join(dir, "node4")
	var ni govNodeInit
	runJSON(t, &ni, "node", "init", "--genesis", genesis, "--peers", strings.Join(peers, ","), "--home", home5)
	pub5, err := hex.DecodeString(ni.Validator.PubKey)
	if err != nil || len(pub5) != ed25519.PubKeySize || ni.ChainID != chainID || ni.Home != home5 ||
		ed25519.PubKey(pub5).Address().String() != ni.Validator.Address || len(ni.Peers) != 4 {
		t.Fatalf("node init output %+v (%v)", ni, err)
	}
	addr5 := ni.Validator.Address
	// The home is never overwritten.
	run(t, true, "node", "init", "--genesis", genesis, "--peers", peers[0], "--home", home5)
	// The text output names the key in hex and base64, and the node id.
	text := run(t, false, "node", "init", "--genesis", genesis, "--peers", peers[0], "--home", filepath.Join(t.TempDir(), "spare"))
	for _, want := range []string{"validator_pub_key:", "validator_pub_key_base64:", "node_id:"} {
		if !strings.Contains(text, want) {
			t.Fatalf("node init text output lacks %q:\n%s", want, text)
		}
	}

	// It syncs as a full node (it is no validator yet).
	n5 := c.startNode("node5(org5)", home5, ni.RPC)
	target := c.nodes[0].height()
	poll(t, govSyncTimeout, "node5 to sync", func() bool {
		h, catchingUp := n5.status()
		return !catchingUp && h >= target
	})
	if vals := c.validatorsAt(n5, n5.height()); len(vals) != 4 || vals[addr5] != 0 {
		t.Fatalf("validators before the proposal: %v", vals)
	}
	c.checkLive("node5 synced")
	t.Logf("node5 synced at %s", time.Since(began).Round(time.Millisecond))

	// (a) add_org: org5, its admin key and node5's validator; 3 of 4 organisations must vote yes.
	admin5, err := ks.Create("org5-admin", crypto.SM2)
	if err != nil {
		t.Fatal(err)
	}
	idHash := sha256.Sum256([]byte("org5 registration record"))
	id := c.propose("org1-admin", gov.KindAddOrg, "Admit org5 and its validator", gov.AddOrg{
		ID: "org5", Name: "Organisation 5",
		Admin:     identity.NewOrgAdmin{Algo: admin5.Algo, PubKey: admin5.PubKey, IdentityHash: idHash[:]},
		Validator: &gov.NewValidator{PubKey: pub5, Power: 10},
	})
	if p := c.proposal(id); p.Status != gov.StatusVoting || p.Required != 3 || p.Yes != 0 {
		t.Fatalf("new proposal %+v", p)
	}
	h := c.voteUntilPassed(id, 3, "org1-admin", "org2-admin", "org3-admin")
	var org5 identity.Org
	if err := json.Unmarshal(c.query(c.nodes[0], "/identity/org", []byte("org5")), &org5); err != nil ||
		org5.Status != identity.StatusActive || len(org5.Validators) != 1 || !bytes.Equal(org5.Validators[0], pub5) {
		t.Fatalf("org5 after the proposal: %+v (%v)", org5, err)
	}
	var acct identity.Account
	if err := json.Unmarshal(c.query(c.nodes[0], "/identity/account", admin5.Address.Bytes()), &acct); err != nil ||
		acct.Org != "org5" || !acct.HasRole(identity.RoleAdmin) {
		t.Fatalf("org5's admin after the proposal: %+v (%v)", acct, err)
	}
	c.checkLive("org5 admitted")

	// The validator set changes at h+2 (CometBFT applies updates two blocks later).
	c.driveUntil(fmt.Sprintf("height %d", h+2), func() bool { return c.nodes[0].height() >= h+2 })
	if vals := c.validatorsAt(c.nodes[0], h+1); len(vals) != 4 || vals[addr5] != 0 {
		t.Fatalf("validators at %d (before the change): %v", h+1, vals)
	}
	if vals := c.validatorsAt(c.nodes[0], h+2); len(vals) != 5 || vals[addr5] != 10 {
		t.Fatalf("validators at %d (after the change): %v", h+2, vals)
	}
	// node5 signs commits and proposes blocks.
	signed, proposed := map[int64]bool{}, map[int64]bool{}
	next := h + 2
	c.driveUntil("node5 to sign two commits and propose a block", func() bool {
		for ; next < c.nodes[0].height(); next++ {
			signers, proposer := c.commitOf(c.nodes[0], next)
			if signers[addr5] {
				signed[next] = true
			}
			if proposer == addr5 {
				proposed[next] = true
			}
		}
		return len(signed) >= 2 && len(proposed) >= 1
	})
	t.Logf("node5 signed the commits of heights %v and proposed %v", keysOf(signed), keysOf(proposed))
	if vals := c.validatorsAt(n5, n5.height()); len(vals) != 5 || vals[addr5] != 10 {
		t.Fatalf("node5's /validators: %v", vals)
	}
	c.checkLive("node5 validating")
	t.Logf("node5 validating at %s", time.Since(began).Round(time.Millisecond))

	// (b) remove_validator: org4's validator (found in the chain's registry); now 5
	// organisations are active, so ⌈2/3·5⌉ = 4 must vote yes.
	var registry []identity.Validator
	if err := json.Unmarshal(c.query(c.nodes[0], "/identity/validators", nil), &registry); err != nil {
		t.Fatal(err)
	}
	var pub4 []byte
	for _, v := range registry {
		if v.Org == "org4" {
			pub4 = v.PubKey
		}
	}
	if len(registry) != 5 || pub4 == nil {
		t.Fatalf("validator registry: %+v", registry)
	}
	addr4 := ed25519.PubKey(pub4).Address().String()
	id = c.propose("org2-admin", gov.KindRemoveValidator, "Retire org4's validator", gov.ValidatorPower{PubKey: pub4})
	h = c.voteUntilPassed(id, 4, "org1-admin", "org2-admin", "org3-admin", "org4-admin")
	c.checkLive("org4's validator removed")
	c.driveUntil(fmt.Sprintf("height %d", h+5), func() bool { return c.nodes[0].height() >= h+5 })
	if vals := c.validatorsAt(c.nodes[0], h+1); len(vals) != 5 || vals[addr4] == 0 {
		t.Fatalf("validators at %d (before the change): %v", h+1, vals)
	}
	top := c.nodes[0].height()
	for _, n := range c.nodes {
		if vals := c.validatorsAt(n, min(top, n.height())); len(vals) != 4 || vals[addr4] != 0 || vals[addr5] != 10 {
			t.Fatalf("%s: validators at %d: %v", n.name, min(top, n.height()), vals)
		}
	}
	// From h+2 on, org4's validator signs nothing.
	for hh := h + 2; hh < top; hh++ {
		if signers, _ := c.commitOf(c.nodes[0], hh); signers[addr4] {
			t.Fatalf("the removed validator %s signed the commit of height %d (removed at %d)", addr4, hh, h)
		} else if len(signers) < 3 {
			t.Fatalf("the commit of height %d has %d signatures", hh, len(signers))
		}
	}
	c.checkLive("without org4's validator")

	// node5 takes transactions too, and every node has the same state.
	c.submit(n5, "org3-admin", &evidence.MsgAnchor{Digest: bytes.Repeat([]byte{5}, 32), HashAlgo: evidence.HashSHA256, Label: "via node5"})
	c.checkLive("tx through node5")
	final := c.last
	var want []byte
	for _, n := range c.nodes {
		c.waitHeight(n, final, govSyncTimeout)
		ctx, cancel := context.WithTimeout(context.Background(), govRPCTimeout)
		b, err := n.rpc.Block(ctx, &final)
		cancel()
		if err != nil {
			t.Fatalf("%s: block %d: %v", n.name, final, err)
		}
		if want == nil {
			want = b.Block.AppHash
		} else if !bytes.Equal(b.Block.AppHash, want) {
			t.Fatalf("%s: app hash at %d is %X, node0 has %X", n.name, final, b.Block.AppHash, want)
		}
	}
	var homes []string
	for _, n := range c.nodes {
		n.p.interrupt(t)
		homes = append(homes, n.home)
	}
	checkStoredInvariants(t, homes...)
	t.Logf("done in %s", time.Since(began).Round(time.Millisecond))
}

func keysOf(m map[int64]bool) []int64 {
	out := slices.Collect(maps.Keys(m))
	slices.Sort(out)
	return out
}
