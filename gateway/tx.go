package gateway

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtbytes "github.com/cometbft/cometbft/libs/bytes"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules/credits"
	"github.com/lianchain/lian/modules/evidence"
	"github.com/lianchain/lian/modules/gov"
	"github.com/lianchain/lian/modules/identity"
	"github.com/lianchain/lian/txs"
)

// submitTx is POST /v1/chains/{chain}/txs.
func (g *Gateway) submitTx(r *http.Request) (int, any, error) {
	c, err := g.chainOf(r)
	if err != nil {
		return 0, nil, err
	}
	wait, timeout, err := g.waitParams(r)
	if err != nil {
		return 0, nil, err
	}
	tx, err := g.readSubmitTx(r)
	if err != nil {
		return 0, nil, err
	}
	hash := txs.HashOf(tx)
	hashStr := hash.String()

	var res *ctypes.ResultBroadcastTx
	err = c.do(r.Context(), func(ctx context.Context, n *rpcNode) error {
		var err error
		res, err = n.broadcastTxSync(ctx, tx)
		if err == nil && res != nil && errcode.Code(res.Code) == errcode.BadNonce {
			// The node may not have the sender's previous transactions yet: they went
			// to the node this gateway used before it moved on (one that fell behind).
			// Ask the others; the answer is this one if none takes it.
			return &missError{&apiError{code: errcode.BadNonce, msg: appMessage(errcode.BadNonce, res.Log), hash: hashStr}}
		}
		return err
	})
	switch {
	case err == nil && res == nil:
		return 0, nil, &apiError{code: errcode.Internal, msg: "node returned no broadcast result", hash: hashStr}
	case err == nil && res.Code != 0:
		code := errcode.Code(res.Code)
		return 0, nil, &apiError{code: code, msg: appMessage(code, res.Log), hash: hashStr}
	case err == nil:
	case rpcErrorContains(err, "tx already exists in cache"):
		// The node has seen these exact bytes: they are in its mempool or committed.
	case rpcErrorContains(err, "mempool is full"), rpcErrorContains(err, "still rechecking"):
		return 0, nil, &apiError{code: errcode.Unavailable, msg: "the node's mempool is full, retry later: " + rpcErrorText(err), hash: hashStr}
	case rpcErrorContains(err, "Tx too large"):
		return 0, nil, &apiError{code: errcode.TxTooLarge, msg: rpcErrorText(err), hash: hashStr}
	case rpcErrorContains(err, "tx pre check"):
		return 0, nil, &apiError{code: errcode.InvalidRequest, msg: rpcErrorText(err), hash: hashStr}
	default:
		e := nodeError(err, "")
		e.hash = hashStr
		return 0, nil, e
	}

	if !wait {
		return http.StatusAccepted, &api.TxResult{Hash: hashStr, Events: []api.Event{}}, nil
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	stop := context.AfterFunc(g.life, cancel)
	defer stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for poll := 1; ; poll++ {
		// Each poll asks one node (the one that answered last), and every
		// waitAskAll-th poll every node: one whose index lacks the transaction (it
		// indexes just after each commit, or it stopped following the chain) must not
		// keep the wait going until its end.
		askAll := poll%waitAskAll == 0
		var rt *ctypes.ResultTx
		err := c.do(ctx, func(ctx context.Context, n *rpcNode) error {
			var err error
			rt, err = n.tx(ctx, hash[:])
			if askAll && rt == nil && (err == nil || isNotFound(err)) {
				return lacks(err, "transaction "+hashStr+" not found")
			}
			return err
		})
		var ae *apiError
		switch {
		case err == nil && rt != nil:
			return http.StatusOK, txResultOf(hashStr, rt), nil
		case err == nil, isNotFound(err), errors.As(err, &ae) && ae.code == errcode.NotFound:
		case ctx.Err() != nil:
		default:
			if !errors.As(err, &ae) || ae.code != errcode.Unavailable {
				e := nodeError(err, "")
				e.hash = hashStr
				return 0, nil, e
			}
			// No node answered this time: keep trying until the deadline.
		}
		select {
		case <-ctx.Done():
			if g.life.Err() != nil {
				return 0, nil, &apiError{code: errcode.Unavailable, msg: "the gateway is shutting down; the transaction was admitted to the mempool", hash: hashStr}
			}
			return 0, nil, &apiError{code: errcode.Timeout,
				msg:  "transaction " + hashStr + " was admitted to the mempool but is not committed after " + timeout.String() + "; query it by hash later",
				hash: hashStr}
		case <-tick.C:
		}
	}
}

func (g *Gateway) waitParams(r *http.Request) (bool, time.Duration, error) {
	q := r.URL.Query()
	wait := true
	if s := q.Get("wait"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return false, 0, errorf(errcode.InvalidRequest, "wait=%q: expected true or false", truncate(s, 40))
		}
		wait = b
	}
	timeout := g.txWait
	if s := q.Get("timeout"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 || d > MaxTxWaitTimeout {
			return false, 0, errorf(errcode.InvalidRequest, "timeout=%q: expected a duration such as 10s, at most %v", truncate(s, 40), MaxTxWaitTimeout)
		}
		timeout = d
	}
	return wait, timeout, nil
}

// commitWait is how long POST .../txs may wait for the commit on top of the request time
// limit: its wait timeout, or 0 with ?wait=false (or a query the route refuses).
func (g *Gateway) commitWait(r *http.Request) time.Duration {
	wait, timeout, err := g.waitParams(r)
	if err != nil || !wait {
		return 0
	}
	return timeout
}

// readSubmitTx reads and checks the body of POST .../txs.
func (g *Gateway) readSubmitTx(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, errorf(errcode.InvalidRequest, `empty body: expected {"tx": "<base64>"}`)
	}
	raw, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, g.maxBody))
	if err != nil {
		return nil, g.readBodyError(err)
	}
	var req api.SubmitTx
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return nil, errorf(errcode.InvalidRequest, `body: %v (expected {"tx": "<base64 of the encoded transaction>"})`, err)
	}
	if dec.More() {
		return nil, errorf(errcode.InvalidRequest, "body: unexpected data after the JSON object")
	}
	if len(req.Tx) == 0 {
		return nil, errorf(errcode.InvalidRequest, `body: "tx" is missing or empty`)
	}
	if len(req.Tx) > txs.MaxTxBytes {
		return nil, errorf(errcode.TxTooLarge, "transaction is %d bytes, at most %d allowed", len(req.Tx), txs.MaxTxBytes)
	}
	return req.Tx, nil
}

// appMessage is an application log without its redundant "<code name>: " prefix.
func appMessage(code errcode.Code, log string) string {
	if m, ok := strings.CutPrefix(log, code.String()+": "); ok {
		return m
	}
	return log
}

// getTx is GET /v1/chains/{chain}/txs/{hash}.
func (g *Gateway) getTx(r *http.Request) (int, any, error) {
	c, err := g.chainOf(r)
	if err != nil {
		return 0, nil, err
	}
	hash, err := parseHex32("transaction hash", r.PathValue("hash"))
	if err != nil {
		return 0, nil, err
	}
	hashStr := txs.Hash(hash).String()
	var out *api.TxResult
	err = c.do(r.Context(), func(ctx context.Context, n *rpcNode) error {
		rt, err := n.tx(ctx, hash[:])
		if rt == nil && (err == nil || isNotFound(err)) {
			// Not in this node's index: maybe not yet, or not any more on this node.
			return lacks(err, "transaction "+hashStr+" not found")
		}
		if err != nil {
			return err
		}
		out = txResultOf(hashStr, rt)
		out.Tx = rt.Tx
		out.Body, out.Signer = describeTx(rt.Tx)
		if t, ok := n.times.get(rt.Height); ok {
			out.BlockTime = &t
			return nil
		}
		h, err := n.header(ctx, rt.Height)
		if err != nil && rpcError(err) == nil {
			return err
		}
		if h != nil {
			t := h.Time.UTC()
			n.times.put(rt.Height, t)
			out.BlockTime = &t
		}
		return nil
	})
	if err != nil {
		return 0, nil, nodeError(err, "transaction "+hashStr+" not found")
	}
	return http.StatusOK, out, nil
}

// parseHex32 parses 64 hex digits, with or without 0x, in any case.
func parseHex32(what, s string) ([32]byte, error) {
	var out [32]byte
	h := s
	if len(h) >= 2 && h[0] == '0' && (h[1] == 'x' || h[1] == 'X') {
		h = h[2:]
	}
	if len(h) != 64 {
		return out, errorf(errcode.InvalidRequest, "%s %q: expected 64 hex digits", what, truncate(s, 80))
	}
	if _, err := hex.Decode(out[:], []byte(h)); err != nil {
		return out, errorf(errcode.InvalidRequest, "%s %q: expected 64 hex digits", what, truncate(s, 80))
	}
	return out, nil
}

func txResultOf(hash string, rt *ctypes.ResultTx) *api.TxResult {
	res := rt.TxResult
	out := &api.TxResult{
		Hash:      hash,
		Height:    rt.Height,
		Index:     rt.Index,
		Code:      res.Code,
		Codespace: res.Codespace,
		Log:       res.Log,
		Events:    eventsOf(res.Events),
	}
	if res.Code != 0 && (res.Codespace == "" || res.Codespace == errcode.Codespace) {
		out.CodeName = errcode.Code(res.Code).String()
	}
	return out
}

func eventsOf(evs []abci.Event) []api.Event {
	out := make([]api.Event, 0, len(evs))
	for _, e := range evs {
		ev := api.Event{Type: e.Type, Attributes: make([]api.Attribute, 0, len(e.Attributes))}
		for _, a := range e.Attributes {
			ev.Attributes = append(ev.Attributes, api.Attribute{Key: a.Key, Value: a.Value})
		}
		out = append(out, ev)
	}
	return out
}

// describeTx decodes a transaction's envelope and body as far as they decode.
func describeTx(b []byte) (*api.TxBody, *api.Signer) {
	tx, err := txs.DecodeTx(b)
	if err != nil {
		return nil, nil
	}
	signer := &api.Signer{Algo: string(tx.Algo), PubKey: strings.ToUpper(hex.EncodeToString(tx.PubKey))}
	body, err := txs.DecodeBody(tx.BodyBytes)
	if err != nil {
		return nil, signer
	}
	out := &api.TxBody{
		ChainID:  body.ChainID,
		Sender:   body.Sender.String(),
		Nonce:    body.Nonce,
		Memo:     body.Memo,
		GasLimit: body.GasLimit,
		Messages: make([]api.Message, 0, len(body.Messages)),
	}
	for _, m := range body.Messages {
		// A message whose fields are all defaults (ending a sponsorship) encodes to no
		// bytes: its value is "", never null.
		v := m.Value
		if v == nil {
			v = []byte{}
		}
		out.Messages = append(out.Messages, api.Message{TypeURL: m.TypeURL, Value: v, Decoded: decodeMsg(m)})
	}
	return out, signer
}

// The decoded forms of the known messages.
type (
	anchorView struct {
		Digest   cmtbytes.HexBytes `json:"digest"`
		HashAlgo string            `json:"hash_algo"`
		Label    string            `json:"label,omitempty"`
		Metadata []evidence.Entry  `json:"metadata,omitempty"`
	}
	anchorBatchView struct {
		Root     cmtbytes.HexBytes `json:"root"`
		HashAlgo string            `json:"hash_algo"`
		Count    uint64            `json:"count"`
		Label    string            `json:"label,omitempty"`
		Metadata []evidence.Entry  `json:"metadata,omitempty"`
	}
	registerAccountView struct {
		Address      string            `json:"address,omitempty"`
		Algo         crypto.Algo       `json:"algo"`
		PubKey       cmtbytes.HexBytes `json:"pub_key"`
		Roles        []string          `json:"roles"`
		IdentityHash cmtbytes.HexBytes `json:"identity_hash"`
	}
	roleView struct {
		Address crypto.Address `json:"address"`
		Role    string         `json:"role"`
	}
	freezeView struct {
		Address crypto.Address `json:"address"`
		Reason  string         `json:"reason"`
	}
	submitProposalView struct {
		Kind  string `json:"kind"`
		Title string `json:"title"`
		// Content is the kind's JSON payload; ContentBytes carries it instead when it is
		// not JSON (such a proposal was refused).
		Content      json.RawMessage `json:"content,omitempty"`
		ContentBytes []byte          `json:"content_bytes,omitempty"`
	}
	voteView struct {
		ProposalID uint64 `json:"proposal_id"`
		Option     string `json:"option"`
	}
	topUpView struct {
		Holder     string `json:"holder"` // 0x address or org:<id>
		Currency   string `json:"currency"`
		Amount     uint64 `json:"amount"` // minor units
		PaymentRef string `json:"payment_ref"`
		PayerName  string `json:"payer_name"`
	}
	sponsorshipView struct {
		Cap    uint64 `json:"cap"`    // credits per member per period; 0 ends the sponsorship
		Period uint64 `json:"period"` // seconds
	}
)

// msgView returns a decoder of one message type into its decoded form (nil when the
// bytes do not decode).
func msgView[M txs.Msg](decode func([]byte) (txs.Msg, error), view func(M) any) func([]byte) any {
	return func(b []byte) any {
		msg, err := decode(b)
		if err != nil {
			return nil
		}
		m, ok := msg.(M)
		if !ok {
			return nil
		}
		return view(m)
	}
}

// msgViews are the decoders of the known message types, by type URL.
var msgViews = map[string]func([]byte) any{
	evidence.TypeAnchor: msgView(evidence.DecodeAnchor, func(a *evidence.MsgAnchor) any {
		return anchorView{Digest: a.Digest, HashAlgo: a.HashAlgo, Label: a.Label, Metadata: a.Metadata}
	}),
	evidence.TypeAnchorBatch: msgView(evidence.DecodeAnchorBatch, func(a *evidence.MsgAnchorBatch) any {
		return anchorBatchView{Root: a.Root, HashAlgo: a.HashAlgo, Count: a.Count, Label: a.Label, Metadata: a.Metadata}
	}),
	identity.TypeRegisterAccount: msgView(identity.DecodeRegisterAccount, func(a *identity.MsgRegisterAccount) any {
		view := registerAccountView{Algo: a.Algo, PubKey: a.PubKey, Roles: a.Roles, IdentityHash: a.IdentityHash}
		if pub, err := crypto.PubKeyFromBytes(a.Algo, a.PubKey); err == nil {
			view.Address = pub.Address().String()
		}
		if view.Roles == nil {
			view.Roles = []string{}
		}
		return view
	}),
	identity.TypeGrantRole: msgView(identity.DecodeGrantRole, func(m *identity.MsgGrantRole) any {
		return roleView{Address: m.Address, Role: m.Role}
	}),
	identity.TypeRevokeRole: msgView(identity.DecodeRevokeRole, func(m *identity.MsgRevokeRole) any {
		return roleView{Address: m.Address, Role: m.Role}
	}),
	identity.TypeFreezeAccount: msgView(identity.DecodeFreezeAccount, func(m *identity.MsgFreezeAccount) any {
		return freezeView{Address: m.Address, Reason: m.Reason}
	}),
	identity.TypeUnfreezeAccount: msgView(identity.DecodeUnfreezeAccount, func(m *identity.MsgUnfreezeAccount) any {
		return freezeView{Address: m.Address, Reason: m.Reason}
	}),
	gov.TypeSubmitProposal: msgView(gov.DecodeSubmitProposal, func(m *gov.MsgSubmitProposal) any {
		v := submitProposalView{Kind: m.Kind, Title: m.Title}
		if json.Valid(m.Content) {
			v.Content = m.Content
		} else {
			v.ContentBytes = m.Content
		}
		return v
	}),
	gov.TypeVote: msgView(gov.DecodeVote, func(m *gov.MsgVote) any {
		return voteView{ProposalID: m.ProposalID, Option: m.Option}
	}),
	credits.TypeTopUp: msgView(credits.DecodeTopUp, func(m *credits.MsgTopUp) any {
		return topUpView{Holder: m.Holder().String(), Currency: m.Currency, Amount: m.Amount, PaymentRef: m.PaymentRef, PayerName: m.PayerName}
	}),
	credits.TypeSetSponsorship: msgView(credits.DecodeSetSponsorship, func(m *credits.MsgSetSponsorship) any {
		return sponsorshipView{Cap: m.Cap, Period: m.Period}
	}),
}

// decodeMsg returns the JSON of a message of a known type, or nil.
func decodeMsg(m txs.Any) json.RawMessage {
	dec, ok := msgViews[m.TypeURL]
	if !ok {
		return nil
	}
	v := dec(m.Value)
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}
