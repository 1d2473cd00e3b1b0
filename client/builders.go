package client

import (
	"bytes"
	"context"
	"fmt"
	"iter"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules/evidence"
	"github.com/lianchain/lian/modules/identity"
	"github.com/lianchain/lian/txs"
)

// Builders of the evidence and identity messages, and typed reads of the records the
// chain stores. Like the governance and credits builders (msgs.go), each checks its
// message as the chain would without state (ValidateBasic) and returns errors with code
// invalid_request (an argument that does not parse) or invalid_message (a message the
// chain would refuse).

// validated checks m and wraps its error as invalid_message.
func validated[M txs.Msg](m M) (M, error) {
	if err := m.ValidateBasic(); err != nil {
		var zero M
		return zero, errcode.Wrap(errcode.InvalidMessage, err)
	}
	return m, nil
}

// NewAnchor builds the anchor of one document digest (32 bytes, of hashAlgo: "sha256" or
// "sm3"), with an optional label and metadata.
func NewAnchor(digest []byte, hashAlgo, label string, metadata ...evidence.Entry) (*evidence.MsgAnchor, error) {
	return validated(&evidence.MsgAnchor{Digest: bytes.Clone(digest), HashAlgo: hashAlgo, Label: label, Metadata: metadata})
}

// NewFileAnchor digests the file at path with hashAlgo ("sha256" or "sm3") and builds its
// anchor. Only the digest goes on chain; it is also returned.
func NewFileAnchor(path, hashAlgo, label string, metadata ...evidence.Entry) (*evidence.MsgAnchor, []byte, error) {
	d, err := DigestFile(hashAlgo, path)
	if err != nil {
		return nil, nil, errcode.New(errcode.InvalidRequest, "%v", err)
	}
	m, err := NewAnchor(d, hashAlgo, label, metadata...)
	if err != nil {
		return nil, nil, err
	}
	return m, d, nil
}

// NewBatchAnchor builds the anchor of the Merkle root of many document digests (all of
// hashAlgo), and each document's inclusion proof against the root (see NewBatch): check
// one later with BatchInclusion.Verify, and against the anchored record with
// BatchInclusion.VerifyAnchored.
func NewBatchAnchor(hashAlgo string, digests [][]byte, label string, metadata ...evidence.Entry) (*evidence.MsgAnchorBatch, []*BatchInclusion, error) {
	root, proofs, err := NewBatch(hashAlgo, digests)
	if err != nil {
		return nil, nil, errcode.New(errcode.InvalidRequest, "%v", err)
	}
	m, err := validated(&evidence.MsgAnchorBatch{Root: root, HashAlgo: hashAlgo, Count: uint64(len(digests)), Label: label, Metadata: metadata})
	if err != nil {
		return nil, nil, err
	}
	return m, proofs, nil
}

// IdentityHash returns the hash of an account's off-chain real-name record under
// hashAlgo ("sha256" or "sm3"): what NewRegisterAccount puts on chain instead of the
// record.
func IdentityHash(hashAlgo string, record []byte) ([]byte, error) {
	h, err := Digest(hashAlgo, bytes.NewReader(record))
	if err != nil {
		return nil, errcode.New(errcode.InvalidRequest, "%v", err)
	}
	return h, nil
}

// NewRegisterAccount builds the registration of the account of pub in the sender's
// organisation (the sender must be an admin of it), with its roles (default member: the
// organisation roles are admin, member and relayer) and the 32-byte hash of its
// real-name record (IdentityHash).
func NewRegisterAccount(pub crypto.PubKey, identityHash []byte, roles ...string) (*identity.MsgRegisterAccount, error) {
	if pub == nil {
		return nil, errcode.New(errcode.InvalidRequest, "register account: no public key")
	}
	if len(roles) == 0 {
		roles = []string{identity.RoleMember}
	}
	return validated(&identity.MsgRegisterAccount{PubKey: pub.Bytes(), Algo: pub.Algo(), Roles: roles, IdentityHash: bytes.Clone(identityHash)})
}

// NewGrantRole builds the grant of an organisation role (admin, member, relayer) to an
// account of the sender's organisation, by one of its admins.
func NewGrantRole(account crypto.Address, role string) (*identity.MsgGrantRole, error) {
	if account.IsZero() {
		return nil, errcode.New(errcode.InvalidRequest, "grant role: zero address")
	}
	return validated(&identity.MsgGrantRole{Address: account, Role: role})
}

// NewRevokeRole builds the revocation of an organisation role of an account of the
// sender's organisation, by one of its admins.
func NewRevokeRole(account crypto.Address, role string) (*identity.MsgRevokeRole, error) {
	if account.IsZero() {
		return nil, errcode.New(errcode.InvalidRequest, "revoke role: zero address")
	}
	return validated(&identity.MsgRevokeRole{Address: account, Role: role})
}

// NewFreeze builds a regulator's freeze of an account, with its reason (kept on chain).
// A frozen account can send nothing.
func NewFreeze(account crypto.Address, reason string) (*identity.MsgFreezeAccount, error) {
	if account.IsZero() {
		return nil, errcode.New(errcode.InvalidRequest, "freeze: zero address")
	}
	return validated(&identity.MsgFreezeAccount{Address: account, Reason: reason})
}

// NewUnfreeze builds a regulator's unfreeze of an account, with its reason.
func NewUnfreeze(account crypto.Address, reason string) (*identity.MsgUnfreezeAccount, error) {
	if account.IsZero() {
		return nil, errcode.New(errcode.InvalidRequest, "unfreeze: zero address")
	}
	return validated(&identity.MsgUnfreezeAccount{Address: account, Reason: reason})
}

// AccountInfo is a registered account and its next nonce, at a state height.
type AccountInfo struct {
	Account identity.Account `json:"account"`
	// Nonce is the next nonce to sign with.
	Nonce  uint64 `json:"nonce"`
	Height int64  `json:"height"`
}

// AccountInfo returns an account's record, decoded, and its next nonce
// (GET /v1/chains/{chain}/accounts/{address}).
func (c *Client) AccountInfo(ctx context.Context, chain string, addr crypto.Address) (*AccountInfo, error) {
	a, err := c.Account(ctx, chain, addr)
	if err != nil {
		return nil, err
	}
	out := &AccountInfo{Nonce: a.Nonce, Height: a.Height}
	if err := decodeRecord("account", a.Account, &out.Account); err != nil {
		return nil, err
	}
	return out, nil
}

// Nonce returns an account's next nonce in the last committed state.
func (c *Client) Nonce(ctx context.Context, chain string, addr crypto.Address) (uint64, error) {
	a, err := c.Account(ctx, chain, addr)
	if err != nil {
		return 0, err
	}
	return a.Nonce, nil
}

// EvidenceInfo is an evidence record, decoded, at a state height.
type EvidenceInfo struct {
	Record evidence.Record `json:"record"`
	Height int64           `json:"height"`
}

// EvidenceRecord returns the record of an anchored digest, decoded, without a proof
// (GET /v1/chains/{chain}/evidence/{digest}); an *Error with code not_found if the digest
// is not anchored. Use Evidence with prove and VerifyEvidence to check it against the
// validators' signatures.
func (c *Client) EvidenceRecord(ctx context.Context, chain string, digest []byte) (*EvidenceInfo, error) {
	ev, err := c.Evidence(ctx, chain, digest, false)
	if err != nil {
		return nil, err
	}
	out := &EvidenceInfo{Height: ev.Height}
	if err := decodeRecord("evidence record", ev.Record, &out.Record); err != nil {
		return nil, err
	}
	if !bytes.Equal(out.Record.Digest, digest) {
		return nil, malformed(fmt.Sprintf("the record is of digest %X, not the one asked for", []byte(out.Record.Digest)))
	}
	return out, nil
}

// AllAccountTxs iterates over the transactions an account sent, page after page (q.Limit
// per request; q.Cursor to start after a page), oldest first or newest first with q.Desc.
// It stops at the first error, which it yields.
func (c *Client) AllAccountTxs(ctx context.Context, chain string, addr crypto.Address, q TxQuery) iter.Seq2[*api.TxResult, error] {
	return func(yield func(*api.TxResult, error) bool) {
		for {
			page, err := c.AccountTxs(ctx, chain, addr, q)
			if err != nil {
				yield(nil, err)
				return
			}
			for i := range page.Txs {
				if !yield(&page.Txs[i], nil) {
					return
				}
			}
			if page.Next == "" || len(page.Txs) == 0 {
				return
			}
			q.Cursor = page.Next
		}
	}
}
