package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	ctypes "github.com/cometbft/cometbft/rpc/core/types"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/app"
	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules/credits"
	"github.com/lianchain/lian/txs"
)

// Transaction history comes from the nodes' transaction index (tx_search). A search
// answers pages of at most searchPageSize results of one query, ordered by height and
// position in the block. The gateway's cursors name the last transaction returned and
// how many matches at its height were returned already, so the next page starts at the
// right result without reading the earlier ones again (the matches at a committed
// height never change).

// searchPageSize is the per_page of tx_search (CometBFT's maximum).
const searchPageSize = 100

// maxSearchPages bounds the tx_search pages one request reads.
const maxSearchPages = 20

// txPos is a transaction's place in a search: its height and index in the block, and
// the number of matches at that height up to and including it.
type txPos struct {
	height int64
	index  uint32
	nth    int
}

func (p txPos) String() string { return fmt.Sprintf("%d.%d.%d", p.height, p.index, p.nth) }

// follows reports whether a result at (height, index) comes after p in the order.
func (p txPos) follows(height int64, index uint32, desc bool) bool {
	if desc {
		return height < p.height || (height == p.height && index < p.index)
	}
	return height > p.height || (height == p.height && index > p.index)
}

// parseTxPos parses "height.index.nth" (as txPos.String writes).
func parseTxPos(s string) (txPos, bool) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return txPos{}, false
	}
	for _, p := range parts {
		if !isDigits(p) || len(p) > 19 {
			return txPos{}, false
		}
	}
	h, err1 := strconv.ParseInt(parts[0], 10, 64)
	i, err2 := strconv.ParseUint(parts[1], 10, 32)
	n, err3 := strconv.Atoi(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || h < 1 || n < 1 {
		return txPos{}, false
	}
	return txPos{height: h, index: uint32(i), nth: n}, true
}

// txSearch runs one tx_search page.
func (n *rpcNode) txSearch(ctx context.Context, query string, page int, desc bool) (*ctypes.ResultTxSearch, error) {
	ctx, cancel := n.ctx(ctx)
	defer cancel()
	perPage := searchPageSize
	order := "asc"
	if desc {
		order = "desc"
	}
	res, err := n.rpc.TxSearch(ctx, query, false, &page, &perPage, order)
	if err == nil && res == nil {
		err = fmt.Errorf("empty tx_search result")
	}
	return res, err
}

// searchTxs returns up to limit transactions matching query, ordered by (height, index)
// ascending or descending, strictly after the position after (nil: from the first),
// at heights up to maxHeight (0: any), and whether more follow.
// parseTxPageQuery parses the limit, order (asc or desc) and cursor of a tx history
// page; a cursor must be of the same order.
func parseTxPageQuery(q url.Values) (limit int, desc bool, after *txPos, err error) {
	if limit, err = parseLimit(q, DefaultTxPageLimit, MaxPageLimit); err != nil {
		return 0, false, nil, err
	}
	switch o := q.Get("order"); o {
	case "", "asc":
	case "desc":
		desc = true
	default:
		return 0, false, nil, errorf(errcode.InvalidRequest, "order=%q: expected asc (oldest first) or desc (newest first)", truncate(o, 40))
	}
	if s := q.Get("cursor"); s != "" {
		o, rest, _ := strings.Cut(s, ":")
		p, ok := parseTxPos(rest)
		if !ok || (o != "asc" && o != "desc") {
			return 0, false, nil, errorf(errcode.InvalidRequest, "cursor=%q: expected the next cursor of a previous page", truncate(s, 80))
		}
		if (o == "desc") != desc {
			return 0, false, nil, errorf(errcode.InvalidRequest, "cursor=%q is of a page in %s order; ask with order=%s", truncate(s, 80), o, o)
		}
		after = &p
	}
	return limit, desc, after, nil
}

// txPage returns a page of the txs matching query after the cursor position, decoded,
// with their block times and the cursor of the next page.
func (n *rpcNode) txPage(ctx context.Context, query string, after *txPos, desc bool, limit int) (*api.TxPage, error) {
	list, positions, more, err := n.searchTxs(ctx, query, after, desc, 0, limit)
	if err != nil {
		return nil, err
	}
	heights := make([]int64, len(list))
	for i, rt := range list {
		heights[i] = rt.Height
	}
	times, err := n.blockTimes(ctx, heights)
	if err != nil {
		return nil, err
	}
	out := &api.TxPage{Txs: make([]api.TxResult, 0, len(list))}
	for _, rt := range list {
		res := txResultOf(resultHash(rt), rt)
		res.Body, res.Signer = describeTx(rt.Tx)
		if t, ok := times[rt.Height]; ok {
			res.BlockTime = &t
		}
		out.Txs = append(out.Txs, *res)
	}
	if more && len(positions) > 0 {
		order := "asc"
		if desc {
			order = "desc"
		}
		out.Next = order + ":" + positions[len(positions)-1].String()
	}
	return out, nil
}

func (n *rpcNode) searchTxs(ctx context.Context, query string, after *txPos, desc bool, maxHeight int64, limit int) ([]*ctypes.ResultTx, []txPos, bool, error) {
	q := query
	skip := 0
	var last txPos
	if after != nil {
		last = *after
		op := ">="
		if desc {
			op = "<="
		}
		q += fmt.Sprintf(" AND tx.height %s %d", op, after.height)
		skip = after.nth // the first matches are those at after.height returned already
	}
	if maxHeight > 0 {
		q += fmt.Sprintf(" AND tx.height <= %d", maxHeight)
	}
	var (
		out       []*ctypes.ResultTx
		positions []txPos
		have      = after != nil
	)
	for page := skip/searchPageSize + 1; page-skip/searchPageSize <= maxSearchPages; page++ {
		res, err := n.txSearch(ctx, q, page, desc)
		if err != nil {
			if rpcErrorContains(err, "page should be within") {
				return out, positions, false, nil // the cursor's count is past the matches
			}
			return nil, nil, false, err
		}
		for i, rt := range res.Txs {
			if page == skip/searchPageSize+1 && i < skip%searchPageSize {
				continue
			}
			if rt == nil || (have && !last.follows(rt.Height, rt.Index, desc)) {
				continue // a transaction returned already (the list moved between pages)
			}
			if len(out) == limit {
				return out, positions, true, nil
			}
			nth := 1
			if have && rt.Height == last.height {
				nth = last.nth + 1
			}
			last, have = txPos{height: rt.Height, index: rt.Index, nth: nth}, true
			out = append(out, rt)
			positions = append(positions, last)
		}
		if len(res.Txs) == 0 || page*searchPageSize >= res.TotalCount {
			return out, positions, false, nil
		}
	}
	// Only reached with more than maxSearchPages pages of skipped matches.
	return out, positions, len(out) > 0, nil
}

// blockTimes returns the block times of heights, read 20 headers per call.
func (n *rpcNode) blockTimes(ctx context.Context, heights []int64) (map[int64]time.Time, error) {
	hs := slices.Clone(heights)
	slices.Sort(hs)
	hs = slices.Compact(hs)
	out := make(map[int64]time.Time, len(hs))
	for _, h := range hs {
		if t, ok := n.times.get(h); ok {
			out[h] = t
		}
		if _, ok := out[h]; ok || h < 1 {
			continue
		}
		res, err := func() (*ctypes.ResultBlockchainInfo, error) {
			ctx, cancel := n.ctx(ctx)
			defer cancel()
			return n.rpc.BlockchainInfo(ctx, h, h+19)
		}()
		if err != nil {
			if rpcError(err) != nil {
				continue // e.g. below a pruned block store's base: no time
			}
			return nil, err
		}
		for _, m := range res.BlockMetas {
			if m != nil {
				out[m.Header.Height] = m.Header.Time.UTC()
				n.times.put(m.Header.Height, m.Header.Time.UTC())
			}
		}
	}
	return out, nil
}

// getAccountTxs is GET /v1/chains/{chain}/accounts/{address}/txs[?limit=][&cursor=][&order=asc|desc].
func (g *Gateway) getAccountTxs(r *http.Request) (int, any, error) {
	c, err := g.chainOf(r)
	if err != nil {
		return 0, nil, err
	}
	addr, err := crypto.ParseAddress(r.PathValue("address"))
	if err != nil {
		return 0, nil, errorf(errcode.InvalidRequest, "%v", err)
	}
	limit, desc, after, err := parseTxPageQuery(r.URL.Query())
	if err != nil {
		return 0, nil, err
	}
	query := fmt.Sprintf("%s.sender='%s'", app.EventTx, addr)
	var out *api.TxPage
	err = c.do(r.Context(), func(ctx context.Context, n *rpcNode) error {
		if _, err := n.get(ctx, pathAccount, addr.Bytes(), 0); err != nil {
			return err
		}
		out, err = n.txPage(ctx, query, after, desc, limit)
		return err
	})
	if err != nil {
		return 0, nil, nodeError(err, "")
	}
	return http.StatusOK, out, nil
}

// resultHash is the upper-case hex hash of a search result.
func resultHash(rt *ctypes.ResultTx) string {
	if len(rt.Hash) == 32 {
		return rt.Hash.String()
	}
	return txs.HashOf(rt.Tx).String()
}

// statementCursor is where a statement page ends: the number of top-ups shown and the
// position of the last charge shown.
type statementCursor struct {
	topUps uint64
	charge *txPos
}

func (s statementCursor) String() string {
	if s.charge == nil {
		return fmt.Sprintf("%d", s.topUps)
	}
	return fmt.Sprintf("%d:%s", s.topUps, s.charge)
}

func parseStatementCursor(s string) (statementCursor, error) {
	bad := errorf(errcode.InvalidRequest, "cursor=%q: expected the next cursor of a previous page", truncate(s, 80))
	t, rest, hasCharge := strings.Cut(s, ":")
	if !isDigits(t) || len(t) > 19 {
		return statementCursor{}, bad
	}
	n, err := strconv.ParseUint(t, 10, 64)
	if err != nil {
		return statementCursor{}, bad
	}
	out := statementCursor{topUps: n}
	if hasCharge {
		p, ok := parseTxPos(rest)
		if !ok {
			return statementCursor{}, bad
		}
		out.charge = &p
	}
	return out, nil
}

// getStatement is GET /v1/chains/{chain}/credits/statements/{holder}[?limit=][&cursor=].
func (g *Gateway) getStatement(r *http.Request) (int, any, error) {
	c, err := g.chainOf(r)
	if err != nil {
		return 0, nil, err
	}
	h, err := parseHolder(r.PathValue("holder"))
	if err != nil {
		return 0, nil, err
	}
	q := r.URL.Query()
	limit, err := parseLimit(q, DefaultStatementLimit, MaxPageLimit)
	if err != nil {
		return 0, nil, err
	}
	var cur statementCursor
	if s := q.Get("cursor"); s != "" {
		if cur, err = parseStatementCursor(s); err != nil {
			return 0, nil, err
		}
	}
	var out *api.Statement
	err = c.do(r.Context(), func(ctx context.Context, n *rpcNode) error {
		var err error
		out, err = n.statement(ctx, h, cur, limit)
		return err
	})
	if err != nil {
		return 0, nil, nodeError(err, "")
	}
	return http.StatusOK, out, nil
}

// statement merges a holder's top-ups (the credits module's receipts, in state) and
// charges (transactions whose lian.tx event names the holder as payer, in the
// transaction index) by block height and position.
func (n *rpcNode) statement(ctx context.Context, h credits.Holder, cur statementCursor, limit int) (*api.Statement, error) {
	holder := h.String()
	want := min(limit+1, MaxPageLimit) // one more tells whether more follow
	req, _ := json.Marshal(credits.StatementRequest{Holder: holder, After: cur.topUps, Limit: want})
	raw, height, err := n.getJSONList(ctx, pathStatement, req, 0)
	if err != nil {
		return nil, err
	}
	if err := n.checkHolder(ctx, h, height); err != nil {
		return nil, err
	}
	receipts := make([]credits.Receipt, len(raw))
	for i, b := range raw {
		if err := json.Unmarshal(b, &receipts[i]); err != nil {
			return nil, errorf(errcode.Internal, "top-up receipt of %s is malformed: %v", holder, err)
		}
	}
	// Charges up to the state height read, so that a later page cannot bring a top-up
	// that belongs before charges shown already.
	charges, chargePos, moreCharges, err := n.searchTxs(ctx, fmt.Sprintf("%s.payer='%s'", app.EventTx, holder), cur.charge, false, height, limit)
	if err != nil {
		return nil, err
	}

	type item struct {
		entry api.StatementEntry
		kind  int // 0: charge, 1: top-up (a tx's fee is charged before its messages run)
		pos   *txPos
	}
	items := make([]item, 0, len(receipts)+len(charges))
	shown := receipts[:min(len(receipts), limit)]
	indexes, err := n.topUpIndexes(ctx, holder, shown)
	if err != nil {
		return nil, err
	}
	for _, rc := range shown {
		seq := rc.Seq
		e := api.StatementEntry{Kind: api.EntryTopUp, Height: rc.Height, Index: indexes[rc.TxHash], TxHash: rc.TxHash,
			Credits: rc.Credits, Seq: &seq, Currency: rc.Currency, Amount: rc.Amount, PaymentRef: rc.PaymentRef,
			PayerName: rc.PayerName, Operator: rc.Operator.String()}
		if t, err := time.Parse(time.RFC3339Nano, rc.Time); err == nil {
			t = t.UTC()
			e.Time = &t
		}
		items = append(items, item{entry: e, kind: 1})
	}
	heights := make([]int64, len(charges))
	for i, rt := range charges {
		heights[i] = rt.Height
	}
	times, err := n.blockTimes(ctx, heights)
	if err != nil {
		return nil, err
	}
	for i, rt := range charges {
		e, err := chargeEntry(rt, holder)
		if err != nil {
			return nil, err
		}
		if t, ok := times[rt.Height]; ok {
			e.Time = &t
		}
		items = append(items, item{entry: e, kind: 0, pos: &chargePos[i]})
	}
	slices.SortStableFunc(items, func(a, b item) int {
		switch {
		case a.entry.Height != b.entry.Height:
			return cmpInt(a.entry.Height, b.entry.Height)
		case a.entry.Index != b.entry.Index:
			return cmpInt(int64(a.entry.Index), int64(b.entry.Index))
		}
		return a.kind - b.kind
	})
	out := &api.Statement{Holder: holder, Entries: []api.StatementEntry{}, Height: height}
	next := cur
	takenCharges := 0
	for _, it := range items[:min(len(items), limit)] {
		out.Entries = append(out.Entries, it.entry)
		if it.pos != nil {
			next.charge = it.pos
			takenCharges++
		} else {
			next.topUps++
		}
	}
	topUpsTaken := int(next.topUps - cur.topUps)
	more := moreCharges || takenCharges < len(charges) || topUpsTaken < len(receipts) ||
		(len(receipts) == want && want == limit)
	if more {
		out.Next = next.String()
	}
	return out, nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// topUpIndexes returns the block positions of the receipts' transactions, found in the
// transaction index by the top-up event.
func (n *rpcNode) topUpIndexes(ctx context.Context, holder string, receipts []credits.Receipt) (map[string]uint32, error) {
	out := make(map[string]uint32, len(receipts))
	if len(receipts) == 0 {
		return out, nil
	}
	lo, hi := receipts[0].Height, receipts[len(receipts)-1].Height
	q := fmt.Sprintf("%s.to='%s' AND tx.height >= %d AND tx.height <= %d", credits.EventToppedUp, holder, lo, hi)
	for page := 1; page <= maxSearchPages; page++ {
		res, err := n.txSearch(ctx, q, page, false)
		if err != nil {
			return nil, err
		}
		for _, rt := range res.Txs {
			if rt != nil && rt.TxResult.Code == 0 {
				out[resultHash(rt)] = rt.Index
			}
		}
		if len(res.Txs) == 0 || page*searchPageSize >= res.TotalCount {
			break
		}
	}
	for _, rc := range receipts {
		if _, ok := out[rc.TxHash]; ok {
			continue
		}
		// Not found by its event (e.g. indexed later): look the transaction up by hash.
		hash, err := txs.ParseHash(rc.TxHash)
		if err != nil {
			return nil, errorf(errcode.Internal, "top-up receipt %d of %s has a malformed tx hash %q", rc.Seq, holder, rc.TxHash)
		}
		rt, err := n.tx(ctx, hash[:])
		if err != nil {
			if isNotFound(err) {
				return nil, errorf(errcode.Unavailable, "top-up transaction %s (height %d) is not in the node's transaction index yet; retry", rc.TxHash, rc.Height)
			}
			return nil, err
		}
		out[rc.TxHash] = rt.Index
	}
	return out, nil
}

// chargeEntry is the statement entry of a transaction whose fee holder paid.
func chargeEntry(rt *ctypes.ResultTx, holder string) (api.StatementEntry, error) {
	e := api.StatementEntry{Kind: api.EntryCharge, Height: rt.Height, Index: rt.Index, TxHash: resultHash(rt)}
	found := false
	for _, ev := range rt.TxResult.Events {
		if ev.Type != app.EventTx {
			continue
		}
		attrs := map[string]string{}
		for _, a := range ev.Attributes {
			attrs[a.Key] = a.Value
		}
		if attrs["payer"] != holder {
			continue
		}
		fee, err := strconv.ParseUint(attrs["fee"], 10, 64)
		if err != nil {
			return e, errorf(errcode.Internal, "transaction %s: fee %q is not a number", e.TxHash, attrs["fee"])
		}
		e.Credits, e.Sender, found = fee, attrs["sender"], true
		if nonce, err := strconv.ParseUint(attrs["nonce"], 10, 64); err == nil {
			e.Nonce = &nonce
		}
		break
	}
	if !found {
		return e, errorf(errcode.Internal, "transaction %s was found by payer %s but its %s event does not name it", e.TxHash, holder, app.EventTx)
	}
	code := rt.TxResult.Code
	e.Code = &code
	if code != 0 && (rt.TxResult.Codespace == "" || rt.TxResult.Codespace == errcode.Codespace) {
		e.CodeName = errcode.Code(code).String()
	}
	if body, _ := describeTx(rt.Tx); body != nil {
		for _, m := range body.Messages {
			e.Messages = append(e.Messages, m.TypeURL)
		}
	}
	return e, nil
}
