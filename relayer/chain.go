package relayer

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtbytes "github.com/cometbft/cometbft/libs/bytes"
	rpcclient "github.com/cometbft/cometbft/rpc/client"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/lianchain/lian/app"
	"github.com/lianchain/lian/client"
	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules/identity"
	"github.com/lianchain/lian/modules/xchain"
	"github.com/lianchain/lian/store"
	"github.com/lianchain/lian/txs"
)

// Endpoint is the part of CometBFT's RPC client the relayer uses. Both
// rpc/client/http.HTTP (a remote node) and rpc/client/local.Local (a node in the same
// process) satisfy it.
type Endpoint interface {
	Status(ctx context.Context) (*ctypes.ResultStatus, error)
	ABCIQueryWithOptions(ctx context.Context, path string, data cmtbytes.HexBytes, opts rpcclient.ABCIQueryOptions) (*ctypes.ResultABCIQuery, error)
	BroadcastTxSync(ctx context.Context, tx cmttypes.Tx) (*ctypes.ResultBroadcastTx, error)
	BlockResults(ctx context.Context, height *int64) (*ctypes.ResultBlockResults, error)
	Commit(ctx context.Context, height *int64) (*ctypes.ResultCommit, error)
	Validators(ctx context.Context, height *int64, page, perPage *int) (*ctypes.ResultValidators, error)
	Tx(ctx context.Context, hash []byte, prove bool) (*ctypes.ResultTx, error)
	TxSearch(ctx context.Context, query string, prove bool, page, perPage *int, orderBy string) (*ctypes.ResultTxSearch, error)
}

var _ Endpoint = rpcclient.Client(nil)

// Chain is one chain the relayer submits to and reads from, with the relayer's
// account on it.
type Chain struct {
	ID  string
	rpc Endpoint
	key crypto.PrivKey

	mu     sync.Mutex // serialises signing and submission (one nonce sequence)
	next   uint64
	synced bool

	valMu sync.Mutex
	vals  map[int64]*cmttypes.ValidatorSet // small cache by height
}

// NewChain returns a chain reached through rpc whose relayer account signs with key.
func NewChain(id string, rpc Endpoint, key crypto.PrivKey) (*Chain, error) {
	switch {
	case id == "":
		return nil, errors.New("relayer: chain without an id")
	case rpc == nil:
		return nil, fmt.Errorf("relayer: chain %s: no RPC endpoint", id)
	case key == nil:
		return nil, fmt.Errorf("relayer: chain %s: no relayer key", id)
	}
	return &Chain{ID: id, rpc: rpc, key: key, vals: map[int64]*cmttypes.ValidatorSet{}}, nil
}

// Address returns the relayer account's address on the chain.
func (c *Chain) Address() crypto.Address { return c.key.PubKey().Address() }

// Endpoint returns the chain's RPC endpoint.
func (c *Chain) Endpoint() Endpoint { return c.rpc }

// Head is the latest height a chain's state can be proven at, with its time: as its
// node reports it, the latest block, whose header commits the state after the block
// before it. A chain whose validators attest each block's state in their precommits
// (xchain.StateExtension) can prove the state after its latest block H at once: its
// head is then H+1, with block H's time and Extended, the extended commit of block H.
type Head struct {
	Height int64
	Time   time.Time
	// Extended, if not nil, is the extended commit of block Height-1, whose vote
	// extensions attest the state after that block.
	Extended *cmttypes.ExtendedCommit
}

// Head returns the latest block's height and time.
func (c *Chain) Head(ctx context.Context) (Head, error) {
	st, err := c.rpc.Status(ctx)
	if err != nil {
		return Head{}, fmt.Errorf("%s: status: %w", c.ID, err)
	}
	if st.NodeInfo.Network != "" && st.NodeInfo.Network != c.ID {
		return Head{}, fmt.Errorf("%s: the node serves chain %q", c.ID, st.NodeInfo.Network)
	}
	return Head{Height: st.SyncInfo.LatestBlockHeight, Time: st.SyncInfo.LatestBlockTime}, nil
}

// queryError is a query the application answered with an error code.
type queryError struct {
	code errcode.Code
	log  string
}

func (e *queryError) Error() string { return fmt.Sprintf("%s: %s", e.code, e.log) }

func isNotFound(err error) bool {
	var q *queryError
	return errors.As(err, &q) && q.code == errcode.NotFound
}

// query runs an ABCI query at height (0: latest) and returns the value and the height
// it was answered at.
func (c *Chain) query(ctx context.Context, path string, data []byte, height int64) ([]byte, int64, error) {
	res, err := c.rpc.ABCIQueryWithOptions(ctx, path, data, rpcclient.ABCIQueryOptions{Height: height})
	if err != nil {
		return nil, 0, fmt.Errorf("%s: query %s: %w", c.ID, path, err)
	}
	if res.Response.Code != 0 {
		return nil, res.Response.Height, fmt.Errorf("%s: query %s %q: %w", c.ID, path, data, &queryError{code: errcode.Code(res.Response.Code), log: res.Response.Log})
	}
	return res.Response.Value, res.Response.Height, nil
}

func (c *Chain) queryJSON(ctx context.Context, path string, data []byte, out any) (int64, error) {
	b, h, err := c.query(ctx, path, data, 0)
	if err != nil {
		return h, err
	}
	if err := json.Unmarshal(b, out); err != nil {
		return h, fmt.Errorf("%s: query %s: %w", c.ID, path, err)
	}
	return h, nil
}

// Clients returns the chain's light clients.
func (c *Chain) Clients(ctx context.Context) ([]*xchain.ClientView, error) {
	var out []*xchain.ClientView
	_, err := c.queryJSON(ctx, "/xchain/"+xchain.QueryClients, nil, &out)
	return out, err
}

// Client returns one light client.
func (c *Chain) Client(ctx context.Context, id string) (*xchain.ClientView, error) {
	var out xchain.ClientView
	if _, err := c.queryJSON(ctx, "/xchain/"+xchain.QueryClient, []byte(id), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Routes returns the chain's routes.
func (c *Chain) Routes(ctx context.Context) ([]*xchain.Route, error) {
	var out []*xchain.Route
	_, err := c.queryJSON(ctx, "/xchain/"+xchain.QueryRoutes, nil, &out)
	return out, err
}

// Packet returns what the chain knows of a packet of one of its routes.
func (c *Chain) Packet(ctx context.Context, route string, seq uint64) (*xchain.PacketView, error) {
	var out xchain.PacketView
	if _, err := c.queryJSON(ctx, "/xchain/"+xchain.QueryPacket, []byte(fmt.Sprintf("%s/%d", route, seq)), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Pending returns the sequences of the packets sent on route and not settled, and the
// height the answer is of.
func (c *Chain) Pending(ctx context.Context, route string) ([]uint64, int64, error) {
	var all []uint64
	var height int64
	from := uint64(1)
	for {
		var page xchain.PendingPage
		b, h, err := c.query(ctx, "/xchain/"+xchain.QueryPending, []byte(fmt.Sprintf("%s/%d", route, from)), height)
		if err != nil {
			return nil, 0, err
		}
		if err := json.Unmarshal(b, &page); err != nil {
			return nil, 0, fmt.Errorf("%s: pending %s: %w", c.ID, route, err)
		}
		height = h // later pages at the same height
		all = append(all, page.Sequences...)
		if page.Next == 0 {
			return all, height, nil
		}
		from = page.Next
	}
}

// Nonce returns the relayer account's next nonce in the last committed state.
func (c *Chain) Nonce(ctx context.Context) (uint64, error) {
	b, _, err := c.query(ctx, "/identity/"+identity.QueryNonce, c.Address().Bytes(), 0)
	if err != nil {
		return 0, err
	}
	if len(b) != 8 {
		return 0, fmt.Errorf("%s: nonce of %s: %d bytes", c.ID, c.Address(), len(b))
	}
	return binary.BigEndian.Uint64(b), nil
}

// Prove reads and proves keys at height (the state after block height, whose app hash
// is in header height+1), in pages of at most store.MaxBatchKeys.
func (c *Chain) Prove(ctx context.Context, keys [][]byte, height int64) ([]store.Proven, error) {
	out := make([]store.Proven, 0, len(keys))
	for len(keys) > 0 {
		n := min(len(keys), store.MaxBatchKeys)
		b, _, err := c.query(ctx, app.QueryProofs, store.EncodeKeys(keys[:n]), height)
		if err != nil {
			return nil, err
		}
		list, err := store.DecodeProven(b)
		if err != nil {
			return nil, fmt.Errorf("%s: proofs at %d: %w", c.ID, height, err)
		}
		if len(list) != n {
			return nil, fmt.Errorf("%s: proofs at %d: %d answers for %d keys", c.ID, height, len(list), n)
		}
		out = append(out, list...)
		keys = keys[n:]
	}
	return out, nil
}

// SignedHeader returns the signed header of a height.
func (c *Chain) SignedHeader(ctx context.Context, height int64) (*cmttypes.SignedHeader, error) {
	res, err := c.rpc.Commit(ctx, &height)
	if err != nil {
		return nil, fmt.Errorf("%s: commit %d: %w", c.ID, height, err)
	}
	return &res.SignedHeader, nil
}

// ValidatorSet returns the validator set of a height (every page).
func (c *Chain) ValidatorSet(ctx context.Context, height int64) (*cmttypes.ValidatorSet, error) {
	c.valMu.Lock()
	if v, ok := c.vals[height]; ok {
		c.valMu.Unlock()
		return v, nil
	}
	c.valMu.Unlock()
	var list []*cmttypes.Validator
	perPage := 100
	for page := 1; ; page++ {
		p := page
		res, err := c.rpc.Validators(ctx, &height, &p, &perPage)
		if err != nil {
			return nil, fmt.Errorf("%s: validators at %d: %w", c.ID, height, err)
		}
		list = append(list, res.Validators...)
		if len(list) >= res.Total || len(res.Validators) == 0 {
			break
		}
	}
	vs := cmttypes.NewValidatorSet(list)
	c.valMu.Lock()
	if len(c.vals) > 64 {
		clear(c.vals)
	}
	c.vals[height] = vs
	c.valMu.Unlock()
	return vs, nil
}

// UpdateHeader returns a header of this chain at height for a client of it whose
// trusted height is trusted.
func (c *Chain) UpdateHeader(ctx context.Context, height, trusted int64) (*xchain.Header, error) {
	sh, err := c.SignedHeader(ctx, height)
	if err != nil {
		return nil, err
	}
	vals, err := c.ValidatorSet(ctx, height)
	if err != nil {
		return nil, err
	}
	var trustedVals *cmttypes.ValidatorSet
	if height > trusted+1 {
		if trustedVals, err = c.ValidatorSet(ctx, trusted+1); err != nil {
			return nil, err
		}
	}
	h, err := xchain.NewHeader(sh, vals, trusted, trustedVals)
	if err != nil {
		return nil, fmt.Errorf("%s: header %d: %w", c.ID, height, err)
	}
	return h, nil
}

// ExtendedCommit returns the extended commit of block height (with the validators'
// vote extensions), from the node's xchain.QueryExtendedCommit query. An error that
// isNotFound says the node has none: the height is not committed yet, or the chain
// has no vote extensions there.
func (c *Chain) ExtendedCommit(ctx context.Context, height int64) (*cmttypes.ExtendedCommit, error) {
	b, _, err := c.query(ctx, xchain.QueryExtendedCommit, nil, height)
	if err != nil {
		return nil, err
	}
	ec, err := xchain.DecodeExtendedCommit(b)
	if err != nil {
		return nil, fmt.Errorf("%s: extended commit %d: %w", c.ID, height, err)
	}
	if ec.Height != height {
		return nil, fmt.Errorf("%s: asked for the extended commit of %d, got %d", c.ID, height, ec.Height)
	}
	return ec, nil
}

// AttestedHeader returns the header of the block ec commits, with ec, for a client of
// this chain whose latest height is trusted: the header attests the state after its
// block. If the client has that header already (trusted is its height), the header
// names itself as trusted and only adds the attestation.
func (c *Chain) AttestedHeader(ctx context.Context, ec *cmttypes.ExtendedCommit, trusted int64) (*xchain.Header, error) {
	h, err := c.UpdateHeader(ctx, ec.Height, min(trusted, ec.Height))
	if err != nil {
		return nil, err
	}
	if err := h.SetExtendedCommit(ec); err != nil {
		return nil, fmt.Errorf("%s: header %d: %w", c.ID, ec.Height, err)
	}
	return h, nil
}

// ConsensusStateAt returns the consensus state a new client of this chain trusts from
// header height.
func (c *Chain) ConsensusStateAt(ctx context.Context, height int64) (*xchain.ConsensusState, error) {
	sh, err := c.SignedHeader(ctx, height)
	if err != nil {
		return nil, err
	}
	return &xchain.ConsensusState{Height: sh.Height, Time: sh.Time.UTC(), AppHash: sh.AppHash,
		NextValidatorsHash: sh.NextValidatorsHash, HeaderHash: sh.Hash()}, nil
}

// TxError is a transaction the chain refused to admit (CheckTx).
type TxError struct {
	Code errcode.Code
	Log  string
}

func (e *TxError) Error() string { return fmt.Sprintf("refused (%s): %s", e.Code, e.Log) }

// FailedMessage returns the index of the message the refusal names ("message N (...)"),
// or -1.
func (e *TxError) FailedMessage() int {
	m := failedMsgRE.FindStringSubmatch(e.Log)
	if m == nil {
		return -1
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		return -1
	}
	return n
}

var (
	failedMsgRE     = regexp.MustCompile(`message (\d+) \(`)
	expectedNonceRE = regexp.MustCompile(`expected (\d+)`)
)

// Sent is a transaction a node admitted to its mempool.
type Sent struct {
	Hash  txs.Hash
	Nonce uint64 // the relayer account's nonce it carries
}

// Submit signs msgs with the relayer's key and the account's next nonce and hands the
// transaction to the node (broadcast_tx_sync). It returns the transaction's hash and
// nonce once the node admitted it, or a *TxError for a refusal. A bad nonce (another
// process using the key, or transactions dropped from the mempool) makes it re-read
// the nonce and try again.
func (c *Chain) Submit(ctx context.Context, msgs []txs.Msg) (Sent, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for attempt := 0; ; attempt++ {
		if !c.synced {
			n, err := c.Nonce(ctx)
			if err != nil {
				return Sent{}, err
			}
			c.next, c.synced = n, true
		}
		tx, err := client.BuildTx(c.ID, c.next, c.key, "", msgs...)
		if err != nil {
			return Sent{}, fmt.Errorf("%s: build tx: %w", c.ID, err)
		}
		res, err := c.rpc.BroadcastTxSync(ctx, tx)
		if err != nil {
			// The node may or may not have it: read the nonce again next time.
			c.synced = false
			return Sent{}, fmt.Errorf("%s: broadcast: %w", c.ID, err)
		}
		if res.Code == abci.CodeTypeOK {
			c.next++
			return Sent{Hash: txs.HashOf(tx), Nonce: c.next - 1}, nil
		}
		if res.Codespace == errcode.Codespace && errcode.Code(res.Code) == errcode.BadNonce && attempt < 3 {
			if m := expectedNonceRE.FindStringSubmatch(res.Log); m != nil {
				if n, err := strconv.ParseUint(m[1], 10, 64); err == nil {
					c.next = n
					continue
				}
			}
			c.synced = false
			continue
		}
		code := errcode.Code(res.Code)
		if res.Codespace != errcode.Codespace {
			code = errcode.Unavailable // the node's own refusal (mempool full, in cache)
		}
		return Sent{}, &TxError{Code: code, Log: res.Log}
	}
}

// TxResult waits for a transaction's result, up to ctx's end.
func (c *Chain) TxResult(ctx context.Context, hash txs.Hash) (*ctypes.ResultTx, error) {
	for {
		res, err := c.rpc.Tx(ctx, hash[:], false)
		if err == nil {
			return res, nil
		}
		t := time.NewTimer(50 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%s: transaction %s: %w (last: %v)", c.ID, hash, ctx.Err(), err)
		case <-t.C:
		}
	}
}

// SubmitAndWait submits msgs and waits for their commit, returning an error for a
// refusal or a failure in the block.
func (c *Chain) SubmitAndWait(ctx context.Context, msgs []txs.Msg) (*ctypes.ResultTx, error) {
	sent, err := c.Submit(ctx, msgs)
	if err != nil {
		return nil, err
	}
	h := sent.Hash
	res, err := c.TxResult(ctx, h)
	if err != nil {
		return nil, err
	}
	if res.TxResult.Code != 0 {
		return res, fmt.Errorf("%s: transaction %s failed at height %d: %w", c.ID, h, res.Height,
			&TxError{Code: errcode.Code(res.TxResult.Code), Log: res.TxResult.Log})
	}
	return res, nil
}

// eventAttrs returns an event's attributes by key.
func eventAttrs(e abci.Event) map[string]string {
	m := make(map[string]string, len(e.Attributes))
	for _, a := range e.Attributes {
		m[a.Key] = a.Value
	}
	return m
}

// packetOf rebuilds a packet from a send_packet or recv_packet event.
func packetOf(attrs map[string]string) (*xchain.Packet, error) {
	seq, err := strconv.ParseUint(attrs["sequence"], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("packet event: sequence %q: %w", attrs["sequence"], err)
	}
	payload, err := hex.DecodeString(attrs["payload"])
	if err != nil {
		return nil, fmt.Errorf("packet event: payload: %w", err)
	}
	th, err := strconv.ParseUint(attrs["timeout_height"], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("packet event: timeout_height %q: %w", attrs["timeout_height"], err)
	}
	tt, err := strconv.ParseUint(attrs["timeout_time"], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("packet event: timeout_time %q: %w", attrs["timeout_time"], err)
	}
	p := &xchain.Packet{Sequence: seq, SourceRoute: attrs["source_route"], DestRoute: attrs["dest_route"],
		Payload: payload, TimeoutHeight: th, TimeoutTime: tt}
	if err := xchain.ValidatePacket(p); err != nil {
		return nil, fmt.Errorf("packet event: %w", err)
	}
	return p, nil
}

// findPacketEvent searches the transaction index for the event of type typ about packet
// "<sourceRoute>/<seq>" whose dest_route is destRoute; it returns the event's attributes
// and the height of its block.
func (c *Chain) findPacketEvent(ctx context.Context, typ string, p packetKey, destRoute string) (map[string]string, int64, error) {
	id := fmt.Sprintf("%s/%d", p.route, p.seq)
	q := fmt.Sprintf("%s.packet='%s'", typ, id)
	perPage := 100
	for page := 1; ; page++ {
		pg := page
		res, err := c.rpc.TxSearch(ctx, q, false, &pg, &perPage, "asc")
		if err != nil {
			return nil, 0, fmt.Errorf("%s: search %s: %w", c.ID, q, err)
		}
		for _, tx := range res.Txs {
			if tx.TxResult.Code != 0 {
				continue
			}
			for _, e := range tx.TxResult.Events {
				if e.Type != typ {
					continue
				}
				a := eventAttrs(e)
				if a["packet"] == id && (destRoute == "" || a["dest_route"] == destRoute) {
					return a, tx.Height, nil
				}
			}
		}
		if page*perPage >= res.TotalCount {
			return nil, 0, fmt.Errorf("%s: no %s event of packet %s: %w", c.ID, typ, id, &queryError{code: errcode.NotFound, log: "not indexed"})
		}
	}
}

// msgName is a message's short name for logs and metrics.
func msgName(m txs.Msg) string {
	u := m.TypeURL()
	return strings.TrimPrefix(u[strings.LastIndex(u, ".")+1:], "Msg")
}
