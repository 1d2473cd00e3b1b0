package xchain

import (
	"bytes"
	"fmt"

	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmttypes "github.com/cometbft/cometbft/types"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/store"
	"github.com/lianchain/lian/txs"
)

// Type URLs.
const (
	TypeUpdateClient = "/lian.xchain.v1.MsgUpdateClient"
	TypeMisbehaviour = "/lian.xchain.v1.MsgSubmitMisbehaviour"
	TypeRecvPacket   = "/lian.xchain.v1.MsgRecvPacket"
	TypeAcknowledge  = "/lian.xchain.v1.MsgAcknowledge"
	TypeTimeout      = "/lian.xchain.v1.MsgTimeout"
)

// Header is a counterparty header with what verifies it (proto lian.xchain.v1.Header):
//
//	message Header {
//	  bytes  signed_header      = 1; // tendermint.types.SignedHeader
//	  bytes  validators         = 2; // tendermint.types.ValidatorSet at the header's height
//	  uint64 trusted_height     = 3; // a consensus state the client has
//	  bytes  trusted_validators = 4; // the next validators of trusted_height (non-adjacent only)
//	  bytes  extended_commit    = 5; // tendermint.types.ExtendedCommit of the header's block (optional)
//	}
//
// With an extended commit whose state extensions more than 2/3 of the validators
// signed, the header also attests the counterparty's state after its own block, and
// a proof at proof_height = height+1 is checked against it (see StateExtension).
type Header struct {
	SignedHeader      *cmttypes.SignedHeader
	Validators        *cmttypes.ValidatorSet
	TrustedHeight     int64
	TrustedValidators *cmttypes.ValidatorSet // nil when adjacent
	// ExtendedCommit, if not nil, is the commit of the header's block with the
	// validators' vote extensions: it attests the state after the block.
	ExtendedCommit *cmttypes.ExtendedCommit

	raw [4][]byte // encodings as received (signed header, validators, trusted validators, extended commit)
}

// NewHeader returns a Header for a signed header and the validator sets that verify it
// (trustedVals may be nil when sh is adjacent to trustedHeight).
func NewHeader(sh *cmttypes.SignedHeader, vals *cmttypes.ValidatorSet, trustedHeight int64, trustedVals *cmttypes.ValidatorSet) (*Header, error) {
	h := &Header{SignedHeader: sh, Validators: vals, TrustedHeight: trustedHeight, TrustedValidators: trustedVals}
	var err error
	if h.raw[0], err = sh.ToProto().Marshal(); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	if h.raw[1], err = valsBytes(vals); err != nil {
		return nil, err
	}
	if trustedVals != nil {
		if h.raw[2], err = valsBytes(trustedVals); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// SetExtendedCommit adds the extended commit of the header's block, which makes the
// header attest the state after that block.
func (h *Header) SetExtendedCommit(ec *cmttypes.ExtendedCommit) error {
	b, err := ec.ToProto().Marshal()
	if err != nil {
		return fmt.Errorf("extended commit: %w", err)
	}
	h.ExtendedCommit, h.raw[3] = ec, b
	return nil
}

func valsBytes(v *cmttypes.ValidatorSet) ([]byte, error) {
	p, err := v.ToProto()
	if err != nil {
		return nil, fmt.Errorf("validator set: %w", err)
	}
	return p.Marshal()
}

// Height returns the header's height.
func (h *Header) Height() int64 { return h.SignedHeader.Height }

// ProvenHeight returns the proof height the header lets a client accept: its height,
// or one more when it attests the state after its block.
func (h *Header) ProvenHeight() int64 {
	if h.ExtendedCommit != nil {
		return h.SignedHeader.Height + 1
	}
	return h.SignedHeader.Height
}

func (h *Header) marshal() []byte {
	if h == nil {
		return nil
	}
	var e txs.Encoder
	e.BytesField(1, h.raw[0])
	e.BytesField(2, h.raw[1])
	e.Uint64Field(3, uint64(h.TrustedHeight))
	e.BytesField(4, h.raw[2])
	e.BytesField(5, h.raw[3])
	return e.Bytes()
}

var headerSpec = map[protowire.Number]txs.FieldSpec{
	1: txs.Bytes("signed_header", MaxHeaderBytes),
	2: txs.Bytes("validators", MaxValidatorBytes),
	3: txs.Varint("trusted_height"),
	4: txs.Bytes("trusted_validators", MaxValidatorBytes),
	5: txs.Bytes("extended_commit", MaxExtendedCommitBytes),
}

// decodeHeader parses a Header and its CometBFT parts. CometBFT's decoders check the
// parts' basic validity; a panic inside them on hostile bytes becomes an error.
func decodeHeader(b []byte) (h *Header, err error) {
	defer func() {
		if r := recover(); r != nil {
			h, err = nil, fmt.Errorf("malformed header: %v", r)
		}
	}()
	fields, err := txs.ParseFields(b, headerSpec)
	if err != nil {
		return nil, err
	}
	h = &Header{}
	for _, f := range fields {
		switch f.Num {
		case 1:
			h.raw[0] = f.Bytes
		case 2:
			h.raw[1] = f.Bytes
		case 3:
			if f.Varint > 1<<62 {
				return nil, fmt.Errorf("trusted_height %d out of range", f.Varint)
			}
			h.TrustedHeight = int64(f.Varint)
		case 4:
			h.raw[2] = f.Bytes
		case 5:
			h.raw[3] = f.Bytes
		}
	}
	if len(h.raw[0]) == 0 || len(h.raw[1]) == 0 {
		return nil, fmt.Errorf("header: signed_header and validators are required")
	}
	var sh cmtproto.SignedHeader
	if err := sh.Unmarshal(h.raw[0]); err != nil {
		return nil, fmt.Errorf("signed_header: %w", err)
	}
	if sh.Header == nil || sh.Commit == nil {
		return nil, fmt.Errorf("signed_header: header and commit are required")
	}
	if h.SignedHeader, err = cmttypes.SignedHeaderFromProto(&sh); err != nil {
		return nil, fmt.Errorf("signed_header: %w", err)
	}
	if err := h.SignedHeader.ValidateBasic(h.SignedHeader.ChainID); err != nil {
		return nil, fmt.Errorf("signed_header: %w", err)
	}
	if h.Validators, err = decodeVals("validators", h.raw[1]); err != nil {
		return nil, err
	}
	if len(h.raw[2]) > 0 {
		if h.TrustedValidators, err = decodeVals("trusted_validators", h.raw[2]); err != nil {
			return nil, err
		}
	}
	if len(h.raw[3]) > 0 {
		if h.ExtendedCommit, err = DecodeExtendedCommit(h.raw[3]); err != nil {
			return nil, err
		}
	}
	return h, nil
}

func decodeVals(name string, b []byte) (*cmttypes.ValidatorSet, error) {
	var vp cmtproto.ValidatorSet
	if err := vp.Unmarshal(b); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	vs, err := cmttypes.ValidatorSetFromProto(&vp)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if vs.IsNilOrEmpty() {
		return nil, fmt.Errorf("%s: empty", name)
	}
	return vs, nil
}

func (h *Header) validate() error {
	if h.TrustedHeight <= 0 {
		return fmt.Errorf("trusted_height must be positive")
	}
	// A header that attests its block's state may name itself as trusted: it adds the
	// attestation to a header the client has.
	if h.SignedHeader.Height < h.TrustedHeight || h.SignedHeader.Height == h.TrustedHeight && h.ExtendedCommit == nil {
		return fmt.Errorf("header height %d must be above trusted_height %d", h.SignedHeader.Height, h.TrustedHeight)
	}
	if h.SignedHeader.Height > h.TrustedHeight+1 && h.TrustedValidators == nil {
		return fmt.Errorf("header %d is not adjacent to trusted height %d: trusted_validators are required", h.SignedHeader.Height, h.TrustedHeight)
	}
	if ec := h.ExtendedCommit; ec != nil && ec.Height != h.SignedHeader.Height {
		return fmt.Errorf("extended_commit is for height %d, the header %d", ec.Height, h.SignedHeader.Height)
	}
	return nil
}

// MsgUpdateClient adds a counterparty header to a client (proto lian.xchain.v1.MsgUpdateClient):
//
//	message MsgUpdateClient { string client_id = 1; Header header = 2; }
type MsgUpdateClient struct {
	ClientID string
	Header   *Header
}

// MsgSubmitMisbehaviour shows two valid, conflicting headers of a client's counterparty
// (proto lian.xchain.v1.MsgSubmitMisbehaviour):
//
//	message MsgSubmitMisbehaviour { string client_id = 1; Header header_1 = 2; Header header_2 = 3; }
type MsgSubmitMisbehaviour struct {
	ClientID         string
	Header1, Header2 *Header
}

// MsgRecvPacket delivers a packet with the proof of its commitment on the source chain
// (proto lian.xchain.v1.MsgRecvPacket):
//
//	message MsgRecvPacket { Packet packet = 1; bytes proof = 2; uint64 proof_height = 3; }
//
// proof_height is the height of the source header (a consensus state of the client)
// whose app hash the proof is against: the proof is of the source state at proof_height-1.
type MsgRecvPacket struct {
	Packet      *Packet
	Proof       []byte
	ProofHeight int64
}

// MsgAcknowledge settles a sent packet with the destination's acknowledgement and the
// proof of its hash (proto lian.xchain.v1.MsgAcknowledge):
//
//	message MsgAcknowledge { Packet packet = 1; bytes ack = 2; bytes proof = 3; uint64 proof_height = 4; }
type MsgAcknowledge struct {
	Packet      *Packet
	Ack         []byte
	Proof       []byte
	ProofHeight int64

	// decoded is Ack as ValidateBasic decoded it, and decodedFrom a copy of the bytes it
	// decoded: the handler reuses it while Ack is unchanged (CheckTx and the block each
	// run the handler on a message decoded and validated once).
	decoded     *Ack
	decodedFrom []byte
}

// MsgTimeout settles a sent packet that was not received before its timeout, with a
// proof from the destination: the receipt's absence (unordered route) or the next
// receive sequence (ordered route) (proto lian.xchain.v1.MsgTimeout):
//
//	message MsgTimeout { Packet packet = 1; bytes proof = 2; uint64 proof_height = 3; uint64 next_sequence_recv = 4; }
type MsgTimeout struct {
	Packet           *Packet
	Proof            []byte
	ProofHeight      int64
	NextSequenceRecv uint64
}

// TypeURL implements txs.Msg.
func (*MsgUpdateClient) TypeURL() string { return TypeUpdateClient }

// TypeURL implements txs.Msg.
func (*MsgSubmitMisbehaviour) TypeURL() string { return TypeMisbehaviour }

// TypeURL implements txs.Msg.
func (*MsgRecvPacket) TypeURL() string { return TypeRecvPacket }

// TypeURL implements txs.Msg.
func (*MsgAcknowledge) TypeURL() string { return TypeAcknowledge }

// TypeURL implements txs.Msg.
func (*MsgTimeout) TypeURL() string { return TypeTimeout }

// Marshal implements txs.Msg.
func (m *MsgUpdateClient) Marshal() []byte {
	var e txs.Encoder
	e.StringField(1, m.ClientID)
	if m.Header != nil {
		e.MessageField(2, m.Header.marshal())
	}
	return e.Bytes()
}

// Marshal implements txs.Msg.
func (m *MsgSubmitMisbehaviour) Marshal() []byte {
	var e txs.Encoder
	e.StringField(1, m.ClientID)
	if m.Header1 != nil {
		e.MessageField(2, m.Header1.marshal())
	}
	if m.Header2 != nil {
		e.MessageField(3, m.Header2.marshal())
	}
	return e.Bytes()
}

// Marshal implements txs.Msg.
func (m *MsgRecvPacket) Marshal() []byte {
	var e txs.Encoder
	if m.Packet != nil {
		e.MessageField(1, MarshalPacket(m.Packet))
	}
	e.BytesField(2, m.Proof)
	e.Uint64Field(3, uint64(m.ProofHeight))
	return e.Bytes()
}

// Marshal implements txs.Msg.
func (m *MsgAcknowledge) Marshal() []byte {
	var e txs.Encoder
	if m.Packet != nil {
		e.MessageField(1, MarshalPacket(m.Packet))
	}
	e.BytesField(2, m.Ack)
	e.BytesField(3, m.Proof)
	e.Uint64Field(4, uint64(m.ProofHeight))
	return e.Bytes()
}

// Marshal implements txs.Msg.
func (m *MsgTimeout) Marshal() []byte {
	var e txs.Encoder
	if m.Packet != nil {
		e.MessageField(1, MarshalPacket(m.Packet))
	}
	e.BytesField(2, m.Proof)
	e.Uint64Field(3, uint64(m.ProofHeight))
	e.Uint64Field(4, m.NextSequenceRecv)
	return e.Bytes()
}

func invalid(what string, err error) error {
	return errcode.New(errcode.InvalidMessage, "%s: %v", what, err)
}

// ValidateBasic implements txs.Msg.
func (m *MsgUpdateClient) ValidateBasic() error {
	if err := validID("client_id", m.ClientID); err != nil {
		return invalid("update client", err)
	}
	if m.Header == nil {
		return invalid("update client", fmt.Errorf("header is required"))
	}
	if err := m.Header.validate(); err != nil {
		return invalid("update client", err)
	}
	return nil
}

// ValidateBasic implements txs.Msg.
func (m *MsgSubmitMisbehaviour) ValidateBasic() error {
	if err := validID("client_id", m.ClientID); err != nil {
		return invalid("misbehaviour", err)
	}
	if m.Header1 == nil || m.Header2 == nil {
		return invalid("misbehaviour", fmt.Errorf("header_1 and header_2 are required"))
	}
	for i, h := range []*Header{m.Header1, m.Header2} {
		if err := h.validate(); err != nil {
			return invalid(fmt.Sprintf("misbehaviour header_%d", i+1), err)
		}
	}
	return nil
}

func validateProof(what string, p *Packet, proof []byte, height int64) error {
	if err := ValidatePacket(p); err != nil {
		return invalid(what, err)
	}
	if len(proof) == 0 {
		return invalid(what, fmt.Errorf("proof is required"))
	}
	if height <= 0 {
		return invalid(what, fmt.Errorf("proof_height must be positive"))
	}
	return nil
}

// ValidateBasic implements txs.Msg.
func (m *MsgRecvPacket) ValidateBasic() error {
	return validateProof("recv packet", m.Packet, m.Proof, m.ProofHeight)
}

// ValidateBasic implements txs.Msg.
func (m *MsgAcknowledge) ValidateBasic() error {
	if err := validateProof("acknowledge", m.Packet, m.Proof, m.ProofHeight); err != nil {
		return err
	}
	ack, err := DecodeAck(m.Ack)
	if err != nil {
		return invalid("acknowledge", err)
	}
	m.decoded, m.decodedFrom = ack, bytes.Clone(m.Ack)
	return nil
}

// decodeAck returns the decoded acknowledgement: ValidateBasic's if Ack has not changed
// since, else a fresh decoding.
func (m *MsgAcknowledge) decodeAck() (*Ack, error) {
	if m.decoded != nil && bytes.Equal(m.decodedFrom, m.Ack) {
		return m.decoded, nil
	}
	return DecodeAck(m.Ack)
}

// ValidateBasic implements txs.Msg.
func (m *MsgTimeout) ValidateBasic() error {
	return validateProof("timeout", m.Packet, m.Proof, m.ProofHeight)
}

// ValidatePacket checks a packet without state.
func ValidatePacket(p *Packet) error {
	if p == nil {
		return fmt.Errorf("packet is required")
	}
	if p.Sequence == 0 {
		return fmt.Errorf("packet sequence must be positive")
	}
	if err := validID("source_route", p.SourceRoute); err != nil {
		return err
	}
	if err := validID("dest_route", p.DestRoute); err != nil {
		return err
	}
	if len(p.Payload) > MaxPayloadBytes {
		return fmt.Errorf("payload is %d bytes, at most %d allowed", len(p.Payload), MaxPayloadBytes)
	}
	if p.TimeoutHeight == 0 && p.TimeoutTime == 0 {
		return fmt.Errorf("packet has no timeout: expected timeout_height or timeout_time")
	}
	return nil
}

// MarshalPacket encodes a packet (proto lian.xchain.v1.Packet):
//
//	message Packet {
//	  uint64 sequence = 1; string source_route = 2; string dest_route = 3;
//	  bytes payload = 4; uint64 timeout_height = 5; uint64 timeout_time = 6; // Unix ns
//	}
func MarshalPacket(p *Packet) []byte {
	if p == nil {
		return nil
	}
	var e txs.Encoder
	e.Uint64Field(1, p.Sequence)
	e.StringField(2, p.SourceRoute)
	e.StringField(3, p.DestRoute)
	e.BytesField(4, p.Payload)
	e.Uint64Field(5, p.TimeoutHeight)
	e.Uint64Field(6, p.TimeoutTime)
	return e.Bytes()
}

var packetSpec = map[protowire.Number]txs.FieldSpec{
	1: txs.Varint("sequence"),
	2: txs.Bytes("source_route", MaxIDBytes),
	3: txs.Bytes("dest_route", MaxIDBytes),
	4: txs.Bytes("payload", MaxPayloadBytes),
	5: txs.Varint("timeout_height"),
	6: txs.Varint("timeout_time"),
}

// DecodePacket decodes a packet strictly.
func DecodePacket(b []byte) (*Packet, error) {
	fields, err := txs.ParseFields(b, packetSpec)
	if err != nil {
		return nil, fmt.Errorf("packet: %w", err)
	}
	p := &Packet{}
	for _, f := range fields {
		switch f.Num {
		case 1:
			p.Sequence = f.Varint
		case 2:
			p.SourceRoute, err = f.Str("source_route")
		case 3:
			p.DestRoute, err = f.Str("dest_route")
		case 4:
			p.Payload = f.Bytes
		case 5:
			p.TimeoutHeight = f.Varint
		case 6:
			p.TimeoutTime = f.Varint
		}
		if err != nil {
			return nil, fmt.Errorf("packet: %w", err)
		}
	}
	return p, nil
}

var (
	updateSpec = map[protowire.Number]txs.FieldSpec{
		1: txs.Bytes("client_id", MaxIDBytes),
		2: txs.Bytes("header", MaxHeaderBytes+2*MaxValidatorBytes+MaxExtendedCommitBytes+64),
	}
	misbehaviourSpec = map[protowire.Number]txs.FieldSpec{
		1: txs.Bytes("client_id", MaxIDBytes),
		2: txs.Bytes("header_1", MaxHeaderBytes+2*MaxValidatorBytes+MaxExtendedCommitBytes+64),
		3: txs.Bytes("header_2", MaxHeaderBytes+2*MaxValidatorBytes+MaxExtendedCommitBytes+64),
	}
	recvSpec = map[protowire.Number]txs.FieldSpec{
		1: txs.Bytes("packet", MaxPayloadBytes+4*MaxIDBytes),
		2: txs.Bytes("proof", store.MaxProofBytes),
		3: txs.Varint("proof_height"),
	}
	ackSpec = map[protowire.Number]txs.FieldSpec{
		1: txs.Bytes("packet", MaxPayloadBytes+4*MaxIDBytes),
		2: txs.Bytes("ack", MaxAckBytes),
		3: txs.Bytes("proof", store.MaxProofBytes),
		4: txs.Varint("proof_height"),
	}
	timeoutSpec = map[protowire.Number]txs.FieldSpec{
		1: txs.Bytes("packet", MaxPayloadBytes+4*MaxIDBytes),
		2: txs.Bytes("proof", store.MaxProofBytes),
		3: txs.Varint("proof_height"),
		4: txs.Varint("next_sequence_recv"),
	}
)

func height(v uint64) (int64, error) {
	if v > 1<<62 {
		return 0, fmt.Errorf("height %d out of range", v)
	}
	return int64(v), nil
}

// DecodeUpdateClient decodes a MsgUpdateClient.
func DecodeUpdateClient(b []byte) (txs.Msg, error) {
	m := &MsgUpdateClient{}
	err := txs.DecodeMsg(TypeUpdateClient, b, updateSpec, func(f txs.Field) (err error) {
		switch f.Num {
		case 1:
			m.ClientID, err = f.Str("client_id")
		case 2:
			m.Header, err = decodeHeader(f.Bytes)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// DecodeMisbehaviour decodes a MsgSubmitMisbehaviour.
func DecodeMisbehaviour(b []byte) (txs.Msg, error) {
	m := &MsgSubmitMisbehaviour{}
	err := txs.DecodeMsg(TypeMisbehaviour, b, misbehaviourSpec, func(f txs.Field) (err error) {
		switch f.Num {
		case 1:
			m.ClientID, err = f.Str("client_id")
		case 2:
			m.Header1, err = decodeHeader(f.Bytes)
		case 3:
			m.Header2, err = decodeHeader(f.Bytes)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// DecodeRecvPacket decodes a MsgRecvPacket.
func DecodeRecvPacket(b []byte) (txs.Msg, error) {
	m := &MsgRecvPacket{}
	err := txs.DecodeMsg(TypeRecvPacket, b, recvSpec, func(f txs.Field) (err error) {
		switch f.Num {
		case 1:
			m.Packet, err = DecodePacket(f.Bytes)
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

// DecodeAcknowledge decodes a MsgAcknowledge.
func DecodeAcknowledge(b []byte) (txs.Msg, error) {
	m := &MsgAcknowledge{}
	err := txs.DecodeMsg(TypeAcknowledge, b, ackSpec, func(f txs.Field) (err error) {
		switch f.Num {
		case 1:
			m.Packet, err = DecodePacket(f.Bytes)
		case 2:
			m.Ack = f.Bytes
		case 3:
			m.Proof = f.Bytes
		case 4:
			m.ProofHeight, err = height(f.Varint)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// DecodeTimeout decodes a MsgTimeout.
func DecodeTimeout(b []byte) (txs.Msg, error) {
	m := &MsgTimeout{}
	err := txs.DecodeMsg(TypeTimeout, b, timeoutSpec, func(f txs.Field) (err error) {
		switch f.Num {
		case 1:
			m.Packet, err = DecodePacket(f.Bytes)
		case 2:
			m.Proof = f.Bytes
		case 3:
			m.ProofHeight, err = height(f.Varint)
		case 4:
			m.NextSequenceRecv = f.Varint
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}
