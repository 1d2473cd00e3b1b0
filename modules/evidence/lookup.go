package evidence

import (
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules"
)

// Lookup returns the record anchored for a digest, or nil, for other modules (the
// cross-chain attestation service answers with it). ctx may be any module's context.
func (m *Module) Lookup(ctx *modules.Context, digest []byte) (*Record, error) {
	b := ctx.For(Name).Store.Get(Key(digest))
	if b == nil || len(b) == len(pendingMark) && b[0] == pendingMark[0] {
		return nil, nil
	}
	r, err := DecodeRecord(b)
	if err != nil {
		return nil, errcode.Wrap(errcode.Internal, err)
	}
	return r, nil
}
