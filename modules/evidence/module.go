package evidence

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	cmtbytes "github.com/cometbft/cometbft/libs/bytes"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules"
	"github.com/lianchain/lian/txs"
)

// Name is the module's name and store prefix.
const Name = "evidence"

// Event types.
const (
	EventAnchored      = "lian.evidence.anchored"
	EventBatchAnchored = "lian.evidence.batch_anchored"
)

// Record kinds.
const (
	KindDocument = "document"
	KindBatch    = "batch"
)

// Record is what the chain keeps for an anchored digest, as clients see it (JSON). The
// chain stores it in a compact binary form (record.go); DecodeRecord reads it.
type Record struct {
	Digest    cmtbytes.HexBytes `json:"digest"`
	HashAlgo  string            `json:"hash_algo"`
	Kind      string            `json:"kind"`
	Count     uint64            `json:"count,omitempty"` // documents in a batch
	Label     string            `json:"label,omitempty"`
	Metadata  []Entry           `json:"metadata,omitempty"`
	Submitter crypto.Address    `json:"submitter"`
	Org       string            `json:"org"`
	Height    int64             `json:"height"`
	Time      string            `json:"time"` // block time, RFC 3339 UTC
	TxHash    string            `json:"tx_hash"`
}

// pendingMark stands in CheckTx state for a record a pending transaction will write.
var pendingMark = []byte{0}

// Key returns the store key of a digest, relative to the module prefix.
func Key(digest []byte) []byte { return append([]byte("d/"), digest...) }

// Module is the evidence module.
type Module struct{}

// New returns the evidence module.
func New() *Module { return &Module{} }

// Name implements modules.Module.
func (*Module) Name() string { return Name }

// Msgs implements modules.Module.
func (m *Module) Msgs() []modules.MsgType {
	return []modules.MsgType{
		{TypeURL: TypeAnchor, Decode: DecodeAnchor, Handle: m.anchor},
		{TypeURL: TypeAnchorBatch, Decode: DecodeAnchorBatch, Handle: m.anchorBatch},
	}
}

func (m *Module) anchor(ctx *modules.Context, msg txs.Msg) error {
	a := msg.(*MsgAnchor)
	return m.put(ctx, &Record{Digest: a.Digest, HashAlgo: a.HashAlgo, Kind: KindDocument, Label: a.Label, Metadata: a.Metadata}, EventAnchored)
}

func (m *Module) anchorBatch(ctx *modules.Context, msg txs.Msg) error {
	a := msg.(*MsgAnchorBatch)
	return m.put(ctx, &Record{Digest: a.Root, HashAlgo: a.HashAlgo, Kind: KindBatch, Count: a.Count, Label: a.Label, Metadata: a.Metadata}, EventBatchAnchored)
}

func (m *Module) put(ctx *modules.Context, r *Record, event string) error {
	key := Key(r.Digest)
	if b := ctx.Store.Get(key); b != nil {
		if bytes.Equal(b, pendingMark) {
			return errcode.New(errcode.AlreadyExists, "digest %X is already being anchored by a transaction waiting in the mempool", []byte(r.Digest))
		}
		old, err := DecodeRecord(b)
		if err != nil {
			return errcode.Wrap(errcode.Internal, err)
		}
		return errcode.New(errcode.AlreadyExists,
			"digest %X is already anchored: %s record at height %d (%s) by %s of %s, tx %s",
			[]byte(r.Digest), old.Kind, old.Height, old.Time, old.Submitter, old.Org, old.TxHash)
	}
	if ctx.CheckOnly {
		// CheckTx only needs to know the digest is taken by a pending transaction.
		ctx.Store.Set(key, pendingMark)
		return nil
	}
	r.Submitter = ctx.Sender.Address
	r.Org = ctx.Sender.Org
	r.Height = ctx.Height
	b, err := encodeRecord(r, ctx.Time, ctx.TxHash)
	if err != nil {
		return errcode.Wrap(errcode.Internal, err)
	}
	ctx.Store.Set(key, b)
	attrs := []modules.Attr{
		// Not indexed: a record is found by digest in state (with a proof),
		// and the submitter is the tx's indexed lian.tx.sender.
		modules.A("digest", r.Digest.String()),
		modules.A("hash_algo", r.HashAlgo),
		modules.A("submitter", r.Submitter.String()),
		modules.A("org", r.Org),
	}
	if r.Kind == KindBatch {
		attrs = append(attrs, modules.A("count", strconv.FormatUint(r.Count, 10)))
	}
	if r.Label != "" {
		attrs = append(attrs, modules.A("label", r.Label))
	}
	ctx.Emit(event, attrs...)
	return nil
}

// InitGenesis implements modules.Module; the module starts empty.
func (m *Module) InitGenesis(ctx *modules.Context, raw json.RawMessage) error {
	if len(raw) > 0 && string(raw) != "{}" && string(raw) != "null" {
		return fmt.Errorf("evidence genesis: expected {} (records are only created by transactions)")
	}
	return nil
}

// QueryDigest is the query path for a record by digest; data is the 32-byte digest.
const QueryDigest = "digest"

// Query implements modules.Module.
func (m *Module) Query(ctx *modules.QueryContext, path string, data []byte) ([]byte, []byte, error) {
	if path != QueryDigest {
		return nil, nil, errcode.New(errcode.InvalidRequest, "unknown evidence query %q: expected %q", path, QueryDigest)
	}
	if len(data) != DigestLen {
		return nil, nil, errcode.New(errcode.InvalidRequest, "query evidence: digest is %d bytes, expected %d", len(data), DigestLen)
	}
	k := Key(data)
	v := ctx.Store.Get(k)
	if v == nil {
		return k, nil, errcode.New(errcode.NotFound, "no evidence anchored with digest %X", data)
	}
	return k, v, nil
}
