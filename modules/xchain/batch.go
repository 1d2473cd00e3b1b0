package xchain

import (
	"bytes"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules"
	"github.com/lianchain/lian/store"
	"github.com/lianchain/lian/txs"
)

// Batch relay messages. A relayer delivers hundreds of a route's packets at one proof
// height; their single proofs repeat the upper part of the tree from packet to packet.
// MsgRecvPackets and MsgAcknowledgePackets carry one ICS-23 batch proof for all of them
// (store.CombineProofs), about a quarter of the bytes, which every node stores in its
// block store, WAL and tx index and sends to each peer.
//
// Their packets share one route and come in increasing sequence. Each packet is handled
// as its single message would handle it, and the message fails if any packet would fail
// alone; packets received or settled already are skipped, and a message of only such
// packets is a no-op. The proof must prove every packet of the message.

// Type URLs of the batch messages.
const (
	TypeRecvPackets        = "/lian.xchain.v1.MsgRecvPackets"
	TypeAcknowledgePackets = "/lian.xchain.v1.MsgAcknowledgePackets"
)

// MaxBatchPackets bounds the packets of one batch message.
const MaxBatchPackets = store.MaxMultiProofEntries

// MsgRecvPackets delivers packets of one route with one batch proof of their
// commitments (proto lian.xchain.v1.MsgRecvPackets):
//
//	message MsgRecvPackets { repeated Packet packets = 1; bytes proof = 2; uint64 proof_height = 3; }
//
// Entry i of the proof proves packet i's commitment.
type MsgRecvPackets struct {
	Packets     []*Packet
	Proof       []byte
	ProofHeight int64
}

// PacketAck is a packet and its acknowledgement as the destination wrote it (proto
// lian.xchain.v1.PacketAck):
//
//	message PacketAck { Packet packet = 1; bytes ack = 2; }
type PacketAck struct {
	Packet *Packet
	Ack    []byte

	decoded     *Ack // as in MsgAcknowledge
	decodedFrom []byte
}

// MsgAcknowledgePackets settles sent packets of one route with their acknowledgements
// and one batch proof of the acknowledgements' hashes (proto
// lian.xchain.v1.MsgAcknowledgePackets):
//
//	message MsgAcknowledgePackets { repeated PacketAck acks = 1; bytes proof = 2; uint64 proof_height = 3; }
//
// Entry i of the proof proves the hash of acknowledgement i.
type MsgAcknowledgePackets struct {
	Acks        []*PacketAck
	Proof       []byte
	ProofHeight int64
}

// TypeURL implements txs.Msg.
func (*MsgRecvPackets) TypeURL() string { return TypeRecvPackets }

// TypeURL implements txs.Msg.
func (*MsgAcknowledgePackets) TypeURL() string { return TypeAcknowledgePackets }

// Marshal implements txs.Msg.
func (m *MsgRecvPackets) Marshal() []byte {
	var e txs.Encoder
	for _, p := range m.Packets {
		e.MessageField(1, MarshalPacket(p))
	}
	e.BytesField(2, m.Proof)
	e.Uint64Field(3, uint64(m.ProofHeight))
	return e.Bytes()
}

func (a *PacketAck) marshal() []byte {
	var e txs.Encoder
	if a.Packet != nil {
		e.MessageField(1, MarshalPacket(a.Packet))
	}
	e.BytesField(2, a.Ack)
	return e.Bytes()
}

// Marshal implements txs.Msg.
func (m *MsgAcknowledgePackets) Marshal() []byte {
	var e txs.Encoder
	for _, a := range m.Acks {
		if a != nil {
			e.MessageField(1, a.marshal())
		}
	}
	e.BytesField(2, m.Proof)
	e.Uint64Field(3, uint64(m.ProofHeight))
	return e.Bytes()
}

// validateBatch checks a batch's packets: 1 to MaxBatchPackets valid packets of one
// route in increasing sequence, a proof and a proof height.
func validateBatch(what string, ps []*Packet, proof []byte, height int64) error {
	if len(ps) == 0 || len(ps) > MaxBatchPackets {
		return invalid(what, fmt.Errorf("%d packets, expected 1 to %d", len(ps), MaxBatchPackets))
	}
	for i, p := range ps {
		if err := validateProof(what, p, proof, height); err != nil {
			return err
		}
		if i == 0 {
			continue
		}
		if prev := ps[i-1]; p.SourceRoute != prev.SourceRoute || p.DestRoute != prev.DestRoute {
			return invalid(what, fmt.Errorf("packet %d goes from %s to %s, packet 0 from %s to %s: a batch is of one route",
				i, p.SourceRoute, p.DestRoute, ps[0].SourceRoute, ps[0].DestRoute))
		}
		if p.Sequence <= ps[i-1].Sequence {
			return invalid(what, fmt.Errorf("packet %d has sequence %d after %d: expected increasing sequences", i, p.Sequence, ps[i-1].Sequence))
		}
	}
	return nil
}

// ValidateBasic implements txs.Msg.
func (m *MsgRecvPackets) ValidateBasic() error {
	return validateBatch("recv packets", m.Packets, m.Proof, m.ProofHeight)
}

// ValidateBasic implements txs.Msg.
func (m *MsgAcknowledgePackets) ValidateBasic() error {
	ps := make([]*Packet, len(m.Acks))
	for i, a := range m.Acks {
		if a == nil {
			return invalid("acknowledge packets", fmt.Errorf("ack %d is empty", i))
		}
		ps[i] = a.Packet
	}
	if err := validateBatch("acknowledge packets", ps, m.Proof, m.ProofHeight); err != nil {
		return err
	}
	for i, a := range m.Acks {
		ack, err := DecodeAck(a.Ack)
		if err != nil {
			return invalid("acknowledge packets", fmt.Errorf("ack %d: %w", i, err))
		}
		a.decoded, a.decodedFrom = ack, bytes.Clone(a.Ack)
	}
	return nil
}

func (a *PacketAck) decodeAck() (*Ack, error) {
	if a.decoded != nil && bytes.Equal(a.decodedFrom, a.Ack) {
		return a.decoded, nil
	}
	return DecodeAck(a.Ack)
}

var (
	recvBatchSpec = map[protowire.Number]txs.FieldSpec{
		1: txs.RepeatedBytes("packets", MaxPayloadBytes+4*MaxIDBytes),
		2: txs.Bytes("proof", store.MaxMultiProofBytes),
		3: txs.Varint("proof_height"),
	}
	ackBatchSpec = map[protowire.Number]txs.FieldSpec{
		1: txs.RepeatedBytes("acks", MaxPayloadBytes+MaxAckBytes+4*MaxIDBytes+16),
		2: txs.Bytes("proof", store.MaxMultiProofBytes),
		3: txs.Varint("proof_height"),
	}
	packetAckSpec = map[protowire.Number]txs.FieldSpec{
		1: txs.Bytes("packet", MaxPayloadBytes+4*MaxIDBytes),
		2: txs.Bytes("ack", MaxAckBytes),
	}
)

// DecodeRecvPackets decodes a MsgRecvPackets.
func DecodeRecvPackets(b []byte) (txs.Msg, error) {
	m := &MsgRecvPackets{}
	err := txs.DecodeMsg(TypeRecvPackets, b, recvBatchSpec, func(f txs.Field) (err error) {
		switch f.Num {
		case 1:
			if len(m.Packets) == MaxBatchPackets {
				return fmt.Errorf("more than %d packets", MaxBatchPackets)
			}
			var p *Packet
			p, err = DecodePacket(f.Bytes)
			m.Packets = append(m.Packets, p)
		case 2:
			m.Proof = f.Bytes
		case 3:
			m.ProofHeight, err = height(f.Varint)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// DecodeAcknowledgePackets decodes a MsgAcknowledgePackets.
func DecodeAcknowledgePackets(b []byte) (txs.Msg, error) {
	m := &MsgAcknowledgePackets{}
	err := txs.DecodeMsg(TypeAcknowledgePackets, b, ackBatchSpec, func(f txs.Field) (err error) {
		switch f.Num {
		case 1:
			if len(m.Acks) == MaxBatchPackets {
				return fmt.Errorf("more than %d acks", MaxBatchPackets)
			}
			a := &PacketAck{}
			if err := txs.DecodeMsg("lian.xchain.v1.PacketAck", f.Bytes, packetAckSpec, func(f txs.Field) (err error) {
				switch f.Num {
				case 1:
					a.Packet, err = DecodePacket(f.Bytes)
				case 2:
					a.Ack = f.Bytes
				}
				return err
			}); err != nil {
				return fmt.Errorf("ack %d: %w", len(m.Acks), err)
			}
			m.Acks = append(m.Acks, a)
		case 2:
			m.Proof = f.Bytes
		case 3:
			m.ProofHeight, err = height(f.Varint)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// recvPackets delivers a batch of a route's packets.
func (m *Module) recvPackets(ctx *modules.Context, msg *MsgRecvPackets) error {
	r, err := recvRoute(ctx.Store, msg.Packets[0])
	if err != nil {
		return err
	}
	// The packets received already are skipped; checked first, as for a single packet.
	fresh := make([]*Packet, 0, len(msg.Packets))
	for _, p := range msg.Packets {
		if !received(ctx.Store, r, p) {
			fresh = append(fresh, p)
		}
	}
	if len(fresh) == 0 {
		ctx.NoOp()
		return nil
	}
	c, err := recvClient(ctx, r)
	if err != nil {
		return err
	}
	next := getSeq(ctx.Store, nextRecvKey(r.ID))
	for i, p := range fresh {
		if err := receivable(ctx, r, p, next+uint64(i)); err != nil {
			return err
		}
	}
	cs, err := proofRoot(ctx.Store, c, msg.ProofHeight)
	if err != nil {
		return err
	}
	keys, values := make([][]byte, len(msg.Packets)), make([][]byte, len(msg.Packets))
	for i, p := range msg.Packets {
		keys[i], values[i] = CommitmentPath(p.SourceRoute, p.Sequence), Commitment(p)
	}
	if err := m.verifyMultiMembership(ctx, cs.AppHash, msg.Proof, keys, values); err != nil {
		return errcode.New(errcode.InvalidProof, "packets %s to %d: commitments at %s height %d: %v",
			msg.Packets[0].ID(), msg.Packets[len(msg.Packets)-1].Sequence, c.ChainID, msg.ProofHeight, err)
	}
	for _, p := range fresh {
		if err := m.deliver(ctx, r, p); err != nil {
			return err
		}
	}
	return nil
}

// acknowledgePackets settles a batch of a route's sent packets.
func (m *Module) acknowledgePackets(ctx *modules.Context, msg *MsgAcknowledgePackets) error {
	r, err := sendRoute(ctx.Store, msg.Acks[0].Packet)
	if err != nil {
		return err
	}
	fresh := make([]*PacketAck, 0, len(msg.Acks))
	for _, a := range msg.Acks {
		settled, err := unsettled(ctx.Store, r, a.Packet)
		if err != nil {
			return err
		}
		if !settled {
			fresh = append(fresh, a)
		}
	}
	if len(fresh) == 0 {
		ctx.NoOp()
		return nil
	}
	c, err := activeClient(ctx.Store, r.Client, ctx.Time)
	if err != nil {
		return err
	}
	next := getSeq(ctx.Store, nextAckKey(r.ID))
	for i, a := range fresh {
		if err := ackInOrder(r, a.Packet, next+uint64(i)); err != nil {
			return err
		}
	}
	cs, err := proofRoot(ctx.Store, c, msg.ProofHeight)
	if err != nil {
		return err
	}
	keys, values := make([][]byte, len(msg.Acks)), make([][]byte, len(msg.Acks))
	for i, a := range msg.Acks {
		keys[i], values[i] = AckPath(a.Packet.DestRoute, a.Packet.Sequence), AckHash(a.Ack)
	}
	first := msg.Acks[0].Packet
	if err := m.verifyMultiMembership(ctx, cs.AppHash, msg.Proof, keys, values); err != nil {
		return errcode.New(errcode.InvalidProof, "packets %s to %d: acknowledgements at %s height %d: %v",
			first.ID(), msg.Acks[len(msg.Acks)-1].Packet.Sequence, c.ChainID, msg.ProofHeight, err)
	}
	for _, a := range fresh {
		ack, err := a.decodeAck()
		if err != nil {
			return errcode.New(errcode.InvalidMessage, "packet %s: %v", a.Packet.ID(), err)
		}
		if err := m.acknowledged(ctx, r, a.Packet, ack, msg.ProofHeight); err != nil {
			return err
		}
	}
	return nil
}

// verifyMultiMembership checks a batch proof as verifyMembership checks a single one.
func (m *Module) verifyMultiMembership(ctx *modules.Context, root, proof []byte, keys, values [][]byte) error {
	parts := make([][]byte, 0, 2+2*len(keys))
	parts = append(parts, root, proof)
	for i := range keys {
		parts = append(parts, keys[i], values[i])
	}
	return m.verifyOnce(ctx, 2, parts, func() error {
		return store.VerifyMultiMembership(root, proof, keys, values)
	})
}
