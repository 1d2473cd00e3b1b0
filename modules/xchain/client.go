package xchain

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"

	cmtmath "github.com/cometbft/cometbft/libs/math"
	"github.com/cometbft/cometbft/light"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules"
	"github.com/lianchain/lian/store"
)

// GetClient reads a client; nil if absent.
func GetClient(kv store.Reader, id string) (*ClientState, error) {
	b := kv.Get(clientKey(id))
	if b == nil {
		return nil, nil
	}
	c, err := clientCache.decode(b)
	if err != nil {
		return nil, errcode.New(errcode.Internal, "client %s: %v", id, err)
	}
	return c, nil
}

func putClient(kv store.KV, c *ClientState) { kv.Set(clientKey(c.ID), modules.MustJSON(c)) }

// GetConsensusState reads a client's consensus state at a counterparty height; nil if absent.
func GetConsensusState(kv store.Reader, id string, h int64) (*ConsensusState, error) {
	b := kv.Get(consensusKey(id, h))
	if b == nil {
		return nil, nil
	}
	return decodeConsensus(id, b)
}

func decodeConsensus(id string, b []byte) (*ConsensusState, error) {
	cs, err := consensusCache.decode(b)
	if err != nil {
		return nil, errcode.New(errcode.Internal, "consensus state of %s: %v", id, err)
	}
	return cs, nil
}

func putConsensus(kv store.KV, id string, cs *ConsensusState) {
	cs.Time = cs.Time.UTC()
	kv.Set(consensusKey(id, cs.Height), modules.MustJSON(cs))
}

// clientStatus returns a client and its status at the context's block time.
func clientStatus(kv store.Reader, id string, now time.Time) (*ClientState, string, error) {
	c, err := GetClient(kv, id)
	if err != nil {
		return nil, "", err
	}
	if c == nil {
		return nil, "", errcode.New(errcode.NotFound, "no client %q", id)
	}
	latest, err := GetConsensusState(kv, id, c.LatestHeight)
	if err != nil {
		return nil, "", err
	}
	return c, c.Status(latest, now), nil
}

// activeClient returns a client that may be used: not frozen, not expired.
func activeClient(kv store.Reader, id string, now time.Time) (*ClientState, error) {
	c, status, err := clientStatus(kv, id, now)
	if err != nil {
		return nil, err
	}
	switch status {
	case StatusFrozen:
		return nil, errcode.New(errcode.ClientFrozen, "client %s is frozen since height %d (%s): governance must replace it", id, c.FrozenHeight, c.FrozenReason)
	case StatusExpired:
		return nil, errcode.New(errcode.ClientExpired, "client %s expired: not updated within its trusting period %s; governance must replace it", id, time.Duration(c.TrustingPeriod))
	}
	return c, nil
}

// ClientParams are the parameters and the trusted starting point of a client, as
// governance gives them (create_client, replace_client).
type ClientParams struct {
	// ID names the client; default: the counterparty's chain id.
	ID             string          `json:"id,omitempty"`
	ChainID        string          `json:"chain_id"`
	TrustLevel     *Fraction       `json:"trust_level,omitempty"` // default 1/3
	TrustingPeriod Duration        `json:"trusting_period"`
	MaxClockDrift  Duration        `json:"max_clock_drift"`
	ConsensusState *ConsensusState `json:"consensus_state"`
}

// DefaultTrustLevel is the trust level of a client created without one.
var DefaultTrustLevel = Fraction{Numerator: 1, Denominator: 3}

func (p *ClientParams) normalize() error {
	if p.ChainID == "" || len(p.ChainID) > 50 {
		return fmt.Errorf("chain_id: expected 1-50 bytes")
	}
	if p.ID == "" {
		p.ID = p.ChainID
	}
	if err := validID("client id", p.ID); err != nil {
		return err
	}
	if p.TrustLevel == nil {
		tl := DefaultTrustLevel
		p.TrustLevel = &tl
	}
	if err := light.ValidateTrustLevel(cmtmath.Fraction{Numerator: p.TrustLevel.Numerator, Denominator: p.TrustLevel.Denominator}); err != nil {
		return fmt.Errorf("trust_level: %w", err)
	}
	if p.TrustingPeriod <= 0 {
		return fmt.Errorf("trusting_period must be positive (and below the counterparty's unbonding period)")
	}
	if p.MaxClockDrift < 0 {
		return fmt.Errorf("max_clock_drift must not be negative")
	}
	cs := p.ConsensusState
	if cs == nil {
		return fmt.Errorf("consensus_state is required: the trusted header's height, time, app_hash, next_validators_hash and header_hash")
	}
	if cs.Height <= 0 || cs.Time.IsZero() || len(cs.AppHash) == 0 || len(cs.NextValidatorsHash) != 32 || len(cs.HeaderHash) != 32 {
		return fmt.Errorf("consensus_state: expected a positive height, a time, an app_hash, and 32-byte next_validators_hash and header_hash")
	}
	return nil
}

// fresh refuses a trusted header that is already outside its trusting period, or
// from the future beyond the clock drift, at the block's time: the client would be
// born expired, or trust a header no honest chain has made yet.
func (p *ClientParams) fresh(ctx *modules.Context) error {
	cs := p.ConsensusState
	if !cs.Time.Add(time.Duration(p.TrustingPeriod)).After(ctx.Time) {
		return errcode.New(errcode.ClientExpired, "client %s: the trusted header (height %d, %s) is older than the trusting period %s",
			p.ID, cs.Height, cs.Time.UTC().Format(time.RFC3339), time.Duration(p.TrustingPeriod))
	}
	if cs.Time.After(ctx.Time.Add(time.Duration(p.MaxClockDrift))) {
		return errcode.New(errcode.InvalidMessage, "client %s: the trusted header's time %s is in the future (block time %s, max clock drift %s)",
			p.ID, cs.Time.UTC().Format(time.RFC3339), ctx.Time.UTC().Format(time.RFC3339), time.Duration(p.MaxClockDrift))
	}
	return nil
}

// createClient makes a new client (governance).
func createClient(ctx *modules.Context, p *ClientParams) error {
	if err := p.normalize(); err != nil {
		return errcode.New(errcode.InvalidMessage, "create client: %v", err)
	}
	if c, err := GetClient(ctx.Store, p.ID); err != nil {
		return err
	} else if c != nil {
		return errcode.New(errcode.AlreadyExists, "client %q exists (of chain %s): use replace_client", p.ID, c.ChainID)
	}
	if err := p.fresh(ctx); err != nil {
		return err
	}
	c := &ClientState{ID: p.ID, CreatedHeight: ctx.Height}
	setClient(ctx, c, p)
	ctx.Emit(EventClientCreated, modules.Indexed("client", c.ID), modules.A("chain_id", c.ChainID),
		modules.A("height", strconv.FormatInt(c.LatestHeight, 10)))
	return nil
}

func setClient(ctx *modules.Context, c *ClientState, p *ClientParams) {
	c.ChainID, c.TrustLevel, c.TrustingPeriod, c.MaxClockDrift = p.ChainID, *p.TrustLevel, p.TrustingPeriod, p.MaxClockDrift
	c.LatestHeight, c.NumConsensus = p.ConsensusState.Height, 1
	c.Frozen, c.FrozenHeight, c.FrozenReason = false, 0, ""
	putConsensus(ctx.Store, c.ID, p.ConsensusState)
	putClient(ctx.Store, c)
}

// replaceClient gives an existing client fresh parameters and a fresh trusted state,
// unfreezing it (governance's recovery of a frozen or expired client). Its old
// consensus states are deleted: after misbehaviour they cannot be trusted.
func replaceClient(ctx *modules.Context, p *ClientParams) error {
	if err := p.normalize(); err != nil {
		return errcode.New(errcode.InvalidMessage, "replace client: %v", err)
	}
	c, err := GetClient(ctx.Store, p.ID)
	if err != nil {
		return err
	}
	if c == nil {
		return errcode.New(errcode.NotFound, "no client %q to replace", p.ID)
	}
	if c.ChainID != p.ChainID {
		return errcode.New(errcode.InvalidMessage, "replace client %s: it follows %s, not %s (its routes lead there): create a new client to follow another chain",
			c.ID, c.ChainID, p.ChainID)
	}
	if err := p.fresh(ctx); err != nil {
		return err
	}
	var old [][]byte
	pre := consensusPrefix(c.ID)
	ctx.Store.Iterate(pre, store.PrefixEnd(pre), func(k, _ []byte) bool {
		old = append(old, bytes.Clone(k))
		return len(old) <= MaxConsensusStates+prunePerUpdate
	})
	for _, k := range old {
		ctx.Store.Delete(k)
	}
	setClient(ctx, c, p)
	ctx.Emit(EventClientReplaced, modules.Indexed("client", c.ID), modules.A("chain_id", c.ChainID),
		modules.A("height", strconv.FormatInt(c.LatestHeight, 10)))
	return nil
}

// trustedHeader is the part of a trusted header CometBFT's light verifier reads, rebuilt
// from a consensus state.
func trustedHeader(c *ClientState, cs *ConsensusState) *cmttypes.SignedHeader {
	return &cmttypes.SignedHeader{Header: &cmttypes.Header{
		ChainID: c.ChainID, Height: cs.Height, Time: cs.Time, NextValidatorsHash: cs.NextValidatorsHash,
	}}
}

// verifyHeader checks a header against the client's consensus state at its trusted
// height with CometBFT's light verifier, at local block time now.
func verifyHeader(kv store.Reader, c *ClientState, h *Header, now time.Time) error {
	sh := h.SignedHeader
	if sh.ChainID != c.ChainID {
		return errcode.New(errcode.InvalidHeader, "header is of chain %q, client %s follows %q", sh.ChainID, c.ID, c.ChainID)
	}
	trusted, err := GetConsensusState(kv, c.ID, h.TrustedHeight)
	if err != nil {
		return err
	}
	if trusted == nil {
		return errcode.New(errcode.NotFound, "client %s has no consensus state at trusted height %d", c.ID, h.TrustedHeight)
	}
	if sh.Height <= trusted.Height {
		// Only a header the client has may name itself as trusted (see updateClient).
		return errcode.New(errcode.InvalidHeader, "client %s: header %d is not above its trusted height %d", c.ID, sh.Height, trusted.Height)
	}
	th := trustedHeader(c, trusted)
	period, drift := time.Duration(c.TrustingPeriod), time.Duration(c.MaxClockDrift)
	if sh.Height == trusted.Height+1 {
		err = light.VerifyAdjacent(th, sh, h.Validators, period, now, drift)
	} else {
		// CometBFT does not check that the trusted validators are the ones the trusted
		// header named as next: without this a relayer could pick any set.
		if h.TrustedValidators == nil {
			return errcode.New(errcode.InvalidHeader, "client %s: header %d is not adjacent to trusted height %d: trusted_validators are required", c.ID, sh.Height, trusted.Height)
		}
		if !bytes.Equal(h.TrustedValidators.Hash(), trusted.NextValidatorsHash) {
			return errcode.New(errcode.InvalidHeader, "trusted validators hash %X is not the next validators hash %X of trusted height %d",
				h.TrustedValidators.Hash(), []byte(trusted.NextValidatorsHash), trusted.Height)
		}
		lvl := cmtmath.Fraction{Numerator: c.TrustLevel.Numerator, Denominator: c.TrustLevel.Denominator}
		err = light.VerifyNonAdjacent(th, h.TrustedValidators, sh, h.Validators, period, now, drift, lvl)
	}
	if err != nil {
		var expired light.ErrOldHeaderExpired
		if errors.As(err, &expired) {
			return errcode.New(errcode.ClientExpired, "client %s: trusted height %d expired at %s", c.ID, trusted.Height, expired.At.UTC().Format(time.RFC3339))
		}
		return errcode.New(errcode.InvalidHeader, "client %s: header %d: %v", c.ID, sh.Height, err)
	}
	return nil
}

func consensusOf(h *Header) *ConsensusState {
	sh := h.SignedHeader
	return &ConsensusState{Height: sh.Height, Time: sh.Time.UTC(), AppHash: sh.AppHash,
		NextValidatorsHash: sh.NextValidatorsHash, HeaderHash: sh.Hash()}
}

// neighbours returns the client's consensus states just below and just above height h
// (nil where there is none). The search below starts at from, a height known to hold a
// consensus state below h.
func neighbours(kv store.Reader, id string, from, h int64) (below, above *ConsensusState, err error) {
	pre := consensusPrefix(id)
	var lastBelow []byte
	kv.Iterate(consensusKey(id, from), consensusKey(id, h), func(_, v []byte) bool {
		lastBelow = v
		return true
	})
	if lastBelow != nil {
		if below, err = decodeConsensus(id, lastBelow); err != nil {
			return nil, nil, err
		}
	}
	kv.Iterate(consensusKey(id, h+1), store.PrefixEnd(pre), func(_, v []byte) bool {
		above, err = decodeConsensus(id, v)
		return false
	})
	return below, above, err
}

// updateClient verifies a header and stores its consensus state. A valid header that
// conflicts with what the client has (another block at a stored height, a time out of
// order with its neighbours, or a state attestation that another header or attestation
// contradicts) freezes the client instead.
//
// A header with an extended commit (see StateExtension) also stores the attested state
// after its block, as the consensus state's StateRoot; a header already stored gains
// it.
func updateClient(ctx *modules.Context, msg *MsgUpdateClient) error {
	c, err := activeClient(ctx.Store, msg.ClientID, ctx.Time)
	if err != nil {
		return err
	}
	h := msg.Header
	cs := consensusOf(h)
	existing, err := GetConsensusState(ctx.Store, c.ID, cs.Height)
	if err != nil {
		return err
	}
	// A header the client has (the same block hash) is trusted already. Others are
	// verified, except on a mempool recheck: they were when the tx was admitted.
	known := existing != nil && bytes.Equal(existing.HeaderHash, cs.HeaderHash)
	if !known && !ctx.Recheck {
		if err := verifyHeader(ctx.Store, c, h, ctx.Time); err != nil {
			return err
		}
	}
	if h.ExtendedCommit != nil {
		root, err := verifyStateAttestation(c.ChainID, h.SignedHeader, h.Validators, h.ExtendedCommit, !ctx.Recheck)
		if err != nil {
			return errcode.New(errcode.InvalidHeader, "client %s: header %d: state attestation: %v", c.ID, cs.Height, err)
		}
		cs.StateRoot = root
	}
	if existing != nil {
		if !bytes.Equal(existing.HeaderHash, cs.HeaderHash) {
			freeze(ctx, c, fmt.Sprintf("conflicting headers at height %d: %X and %X", cs.Height, []byte(existing.HeaderHash), []byte(cs.HeaderHash)))
			return nil
		}
		if len(cs.StateRoot) == 0 || bytes.Equal(existing.StateRoot, cs.StateRoot) {
			ctx.NoOp() // a redundant update: nothing to do
			return nil
		}
		if len(existing.StateRoot) > 0 {
			freeze(ctx, c, fmt.Sprintf("conflicting state attestations at height %d: %X and %X", cs.Height, []byte(existing.StateRoot), []byte(cs.StateRoot)))
			return nil
		}
	}
	below, above, err := neighbours(ctx.Store, c.ID, h.TrustedHeight, cs.Height)
	if err != nil {
		return err
	}
	if existing == nil && (below != nil && !cs.Time.After(below.Time) || above != nil && !cs.Time.Before(above.Time)) {
		freeze(ctx, c, fmt.Sprintf("header %d time %s is out of order with the client's consensus states", cs.Height, cs.Time.Format(time.RFC3339Nano)))
		return nil
	}
	// The state after block h is what header h+1's app hash commits to.
	if above != nil && above.Height == cs.Height+1 && len(cs.StateRoot) > 0 && !bytes.Equal(above.AppHash, cs.StateRoot) {
		freeze(ctx, c, fmt.Sprintf("state attested after height %d (%X) is not header %d's app hash (%X)", cs.Height, []byte(cs.StateRoot), above.Height, []byte(above.AppHash)))
		return nil
	}
	if below != nil && below.Height == cs.Height-1 && len(below.StateRoot) > 0 && !bytes.Equal(below.StateRoot, cs.AppHash) {
		freeze(ctx, c, fmt.Sprintf("state attested after height %d (%X) is not header %d's app hash (%X)", below.Height, []byte(below.StateRoot), cs.Height, []byte(cs.AppHash)))
		return nil
	}
	attrs := []modules.Attr{modules.Indexed("client", c.ID), modules.A("height", strconv.FormatInt(cs.Height, 10))}
	if len(cs.StateRoot) > 0 {
		attrs = append(attrs, modules.A("state_attested", "true"))
	}
	if existing != nil {
		existing.StateRoot = cs.StateRoot
		putConsensus(ctx.Store, c.ID, existing)
		ctx.Emit(EventClientUpdated, attrs...)
		return nil
	}
	putConsensus(ctx.Store, c.ID, cs)
	c.NumConsensus++
	if cs.Height > c.LatestHeight {
		c.LatestHeight = cs.Height
	}
	prune(ctx, c)
	putClient(ctx.Store, c)
	ctx.Emit(EventClientUpdated, attrs...)
	return nil
}

// prune deletes at most prunePerUpdate of the client's oldest consensus states that are
// expired or beyond MaxConsensusStates, never the latest.
func prune(ctx *modules.Context, c *ClientState) {
	pre := consensusPrefix(c.ID)
	var del [][]byte
	ctx.Store.Iterate(pre, store.PrefixEnd(pre), func(k, v []byte) bool {
		h := int64(binary.BigEndian.Uint64(k[len(pre):]))
		if h == c.LatestHeight {
			return false
		}
		cs, err := decodeConsensus(c.ID, v)
		if err != nil {
			return false
		}
		over := c.NumConsensus-uint64(len(del)) > MaxConsensusStates
		if !over && cs.Time.Add(time.Duration(c.TrustingPeriod)).After(ctx.Time) {
			return false
		}
		del = append(del, bytes.Clone(k))
		return len(del) < prunePerUpdate
	})
	for _, k := range del {
		ctx.Store.Delete(k)
	}
	c.NumConsensus -= uint64(len(del))
}

func freeze(ctx *modules.Context, c *ClientState, reason string) {
	c.Frozen, c.FrozenHeight, c.FrozenReason = true, ctx.Height, reason
	putClient(ctx.Store, c)
	ctx.Emit(EventClientFrozen, modules.Indexed("client", c.ID), modules.A("reason", reason))
}

// submitMisbehaviour freezes a client on proof of two valid headers that cannot both be
// of one honest chain: two blocks at one height, or a later block with an earlier time.
func submitMisbehaviour(ctx *modules.Context, msg *MsgSubmitMisbehaviour) error {
	c, err := activeClient(ctx.Store, msg.ClientID, ctx.Time)
	if err != nil {
		return err
	}
	h1, h2 := msg.Header1, msg.Header2
	for i, h := range []*Header{h1, h2} {
		if err := verifyHeader(ctx.Store, c, h, ctx.Time); err != nil {
			return errcode.New(errcode.Of(err), "header_%d: %s", i+1, errcode.Message(err))
		}
	}
	if h1.Height() > h2.Height() {
		h1, h2 = h2, h1
	}
	s1, s2 := h1.SignedHeader, h2.SignedHeader
	var reason string
	switch {
	case s1.Height == s2.Height && !bytes.Equal(s1.Hash(), s2.Hash()):
		reason = fmt.Sprintf("two headers at height %d: %X and %X", s1.Height, []byte(s1.Hash()), []byte(s2.Hash()))
	case s1.Height < s2.Height && !s1.Time.Before(s2.Time):
		reason = fmt.Sprintf("header %d has time %s, not before header %d's %s", s1.Height, s1.Time.UTC().Format(time.RFC3339Nano), s2.Height, s2.Time.UTC().Format(time.RFC3339Nano))
	default:
		return errcode.New(errcode.InvalidMessage, "misbehaviour: the headers do not conflict")
	}
	freeze(ctx, c, reason)
	return nil
}
