package xchain

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	cmtbytes "github.com/cometbft/cometbft/libs/bytes"

	"github.com/lianchain/lian/modules"
)

// Name is the module's name and store prefix.
const Name = "xchain"

// Event types.
const (
	EventClientCreated  = "lian.xchain.client_created"
	EventClientUpdated  = "lian.xchain.client_updated"
	EventClientFrozen   = "lian.xchain.client_frozen"
	EventClientReplaced = "lian.xchain.client_replaced"
	EventRouteOpened    = "lian.xchain.route_opened"
	EventRouteClosed    = "lian.xchain.route_closed"
	EventSendPacket     = "lian.xchain.send_packet"
	EventRecvPacket     = "lian.xchain.recv_packet" // carries the packet and its acknowledgement
	EventAckPacket      = "lian.xchain.ack_packet"
	EventTimeoutPacket  = "lian.xchain.timeout_packet"
)

// Limits.
const (
	MaxIDBytes        = 64
	MaxPayloadBytes   = 64 << 10
	MaxAckBytes       = 64 << 10
	MaxHeaderBytes    = 64 << 10
	MaxValidatorBytes = 256 << 10
	// MaxExtendedCommitBytes bounds a header's extended commit.
	MaxExtendedCommitBytes = 128 << 10
	// MaxConsensusStates is how many consensus states a client keeps; updates prune the
	// oldest (and the expired) ones.
	MaxConsensusStates = 1000
	// prunePerUpdate bounds the consensus states one update deletes.
	prunePerUpdate = 2
)

// Client statuses.
const (
	StatusActive  = "active"
	StatusFrozen  = "frozen"
	StatusExpired = "expired"
)

// Route statuses.
const (
	RouteOpen   = "open"
	RouteClosed = "closed"
)

// Packet states, as the source chain sees them.
const (
	PacketPending      = "sent"
	PacketAcknowledged = "acknowledged"
	PacketTimedOut     = "timed_out"
)

// Fraction is a trust level: the share of a trusted validator set's power that must sign
// a non-adjacent header.
type Fraction struct {
	Numerator   uint64 `json:"numerator"`
	Denominator uint64 `json:"denominator"`
}

// Duration is a time.Duration written in JSON as Go's duration string ("336h0m0s").
type Duration time.Duration

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: expected a string such as \"336h\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: %w", s, err)
	}
	*d = Duration(v)
	return nil
}

// ClientState is a light client of a counterparty chain.
type ClientState struct {
	ID             string   `json:"id"`
	ChainID        string   `json:"chain_id"`
	TrustLevel     Fraction `json:"trust_level"`
	TrustingPeriod Duration `json:"trusting_period"`
	MaxClockDrift  Duration `json:"max_clock_drift"`
	LatestHeight   int64    `json:"latest_height"`
	// NumConsensus is the number of consensus states kept.
	NumConsensus uint64 `json:"consensus_states"`
	Frozen       bool   `json:"frozen"`
	// FrozenHeight and FrozenReason say when (local height) and why it froze.
	FrozenHeight  int64  `json:"frozen_height,omitempty"`
	FrozenReason  string `json:"frozen_reason,omitempty"`
	CreatedHeight int64  `json:"created_height"`
}

// ConsensusState is what a client trusts of one counterparty header.
type ConsensusState struct {
	Height int64     `json:"height"`
	Time   time.Time `json:"time"`
	// AppHash is the root the counterparty's state at Height-1 proves against.
	AppHash            cmtbytes.HexBytes `json:"app_hash"`
	NextValidatorsHash cmtbytes.HexBytes `json:"next_validators_hash"`
	// HeaderHash is the block hash, compared to detect conflicting headers.
	HeaderHash cmtbytes.HexBytes `json:"header_hash"`
	// StateRoot, if set, is the root the counterparty's state at Height proves against,
	// attested by the validators' vote extensions in the commit of block Height: a proof
	// at proof height Height+1 checks against it until header Height+1 arrives.
	StateRoot cmtbytes.HexBytes `json:"state_root,omitempty"`
}

// Status returns the client's status at local block time now, given its latest
// consensus state.
func (c *ClientState) Status(latest *ConsensusState, now time.Time) string {
	switch {
	case c.Frozen:
		return StatusFrozen
	case latest == nil || !latest.Time.Add(time.Duration(c.TrustingPeriod)).After(now):
		return StatusExpired
	}
	return StatusActive
}

// Route joins a local port to a port on the chain a client follows.
type Route struct {
	ID                string `json:"id"`
	Port              string `json:"port"`
	Client            string `json:"client"`
	CounterpartyRoute string `json:"counterparty_route"`
	CounterpartyPort  string `json:"counterparty_port"`
	Ordered           bool   `json:"ordered"`
	Status            string `json:"status"`
	OpenedHeight      int64  `json:"opened_height"`
	ClosedHeight      int64  `json:"closed_height,omitempty"`
}

// Packet is one message between chains. TimeoutHeight (a destination height) and
// TimeoutTime (destination block time, Unix nanoseconds) say when it may no longer be
// received; 0 means no limit of that kind, and at least one is set.
type Packet struct {
	Sequence      uint64 `json:"sequence"`
	SourceRoute   string `json:"source_route"`
	DestRoute     string `json:"dest_route"`
	Payload       []byte `json:"payload"`
	TimeoutHeight uint64 `json:"timeout_height"`
	TimeoutTime   uint64 `json:"timeout_time"`
}

// ID names the packet on its source chain: "<source route>/<sequence>".
func (p *Packet) ID() string { return fmt.Sprintf("%s/%d", p.SourceRoute, p.Sequence) }

// ParsePacketID splits a packet id made by Packet.ID into its source route and
// sequence. The sequence follows the last "/" (a route id may hold one).
func ParsePacketID(id string) (route string, seq uint64, err error) {
	i := strings.LastIndexByte(id, '/')
	if i <= 0 {
		return "", 0, fmt.Errorf("packet id %q: expected <route>/<sequence>", id)
	}
	seq, err = strconv.ParseUint(id[i+1:], 10, 64)
	if err != nil {
		return "", 0, fmt.Errorf("packet id %q: sequence %q is not a decimal number", id, id[i+1:])
	}
	return id[:i], seq, nil
}

// TimedOutAt reports whether the packet can no longer be received at a destination
// block of the given height and time.
func (p *Packet) TimedOutAt(height int64, t time.Time) bool {
	return (p.TimeoutHeight != 0 && uint64(height) >= p.TimeoutHeight) ||
		(p.TimeoutTime != 0 && t.UnixNano() >= 0 && uint64(t.UnixNano()) >= p.TimeoutTime)
}

var commitmentDomain = []byte("lian/xchain/packet/v1")

// Commitment is what the source chain stores for a packet: SHA-256 over a domain tag, the
// two timeouts, the hash of the destination route and the hash of the payload. The source
// route and the sequence are in the commitment's store path.
func Commitment(p *Packet) []byte {
	dst := sha256.Sum256([]byte(p.DestRoute))
	pl := sha256.Sum256(p.Payload)
	h := sha256.New()
	h.Write(commitmentDomain)
	h.Write(binary.BigEndian.AppendUint64(nil, p.TimeoutHeight))
	h.Write(binary.BigEndian.AppendUint64(nil, p.TimeoutTime))
	h.Write(dst[:])
	h.Write(pl[:])
	return h.Sum(nil)
}

// Ack is an acknowledgement: the application's result or its error.
type Ack struct {
	Result []byte `json:"result,omitempty"`
	Error  string `json:"error,omitempty"`
}

// Success reports whether the acknowledgement carries a result.
func (a *Ack) Success() bool { return a.Error == "" }

// Bytes returns the acknowledgement's canonical encoding (the bytes whose hash the
// destination stores).
func (a *Ack) Bytes() []byte { return modules.MustJSON(a) }

// DecodeAck decodes an acknowledgement strictly: exactly one of result and error, in
// canonical form.
func DecodeAck(b []byte) (*Ack, error) {
	if len(b) > MaxAckBytes {
		return nil, fmt.Errorf("acknowledgement is %d bytes, at most %d allowed", len(b), MaxAckBytes)
	}
	var a Ack
	if err := modules.DecodeStrict(b, &a); err != nil {
		return nil, fmt.Errorf("acknowledgement: %w", err)
	}
	if (a.Error == "") == (len(a.Result) == 0) {
		return nil, fmt.Errorf("acknowledgement: expected exactly one of result and error")
	}
	if !bytes.Equal(a.Bytes(), b) {
		return nil, fmt.Errorf("acknowledgement is not in canonical form")
	}
	return &a, nil
}

// AckHash is the hash the destination stores for an acknowledgement.
func AckHash(ack []byte) []byte {
	h := sha256.Sum256(ack)
	return h[:]
}

// Outcome is what became of a packet sent from this chain.
type Outcome struct {
	State string `json:"state"` // acknowledged or timed_out
	// AckError is the destination application's error, for an error acknowledgement.
	AckError string `json:"ack_error,omitempty"`
	// AppError is this chain's application's error in handling the outcome; its writes
	// were dropped, the packet is settled anyway.
	AppError    string `json:"app_error,omitempty"`
	ProofHeight int64  `json:"proof_height"`
	Height      int64  `json:"height"`
}

// Store keys, relative to the module prefix.
func seqBytes(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

func clientKey(id string) []byte { return []byte("clients/" + id) }
func consensusPrefix(id string) []byte {
	return []byte("consensus/" + id + "/")
}
func consensusKey(id string, h int64) []byte {
	return binary.BigEndian.AppendUint64(consensusPrefix(id), uint64(h))
}
func routeKey(id string) []byte       { return []byte("routes/" + id) }
func nextSendKey(route string) []byte { return []byte("seq/send/" + route) }
func nextRecvKey(route string) []byte { return []byte("seq/recv/" + route) }
func nextAckKey(route string) []byte  { return []byte("seq/ack/" + route) }
func commitmentPrefix(route string) []byte {
	return []byte("commitments/" + route + "/")
}
func commitmentKey(route string, seq uint64) []byte {
	return append(commitmentPrefix(route), seqBytes(seq)...)
}

// ackKey is also the receipt of a received packet: every received packet, on any
// route, gets its acknowledgement's hash in the same block, so one key serves both.
// Acknowledgements written later (asynchronously, as IBC allows) would need a receipt
// key of their own again, or a timeout could be proven between the receive and the ack.
func ackKey(route string, seq uint64) []byte {
	return append([]byte("acks/"+route+"/"), seqBytes(seq)...)
}
func outcomeKey(route string, seq uint64) []byte {
	return append([]byte("outcomes/"+route+"/"), seqBytes(seq)...)
}

// Full store keys, as a counterparty proves them.
func full(rel []byte) []byte { return append(modules.Prefix(Name), rel...) }

// CommitmentPath is the store key of a packet's commitment on its source chain.
func CommitmentPath(route string, seq uint64) []byte { return full(commitmentKey(route, seq)) }

// OutcomePath is the store key of what became of a packet sent (acknowledged or timed
// out) on its source chain.
func OutcomePath(route string, seq uint64) []byte { return full(outcomeKey(route, seq)) }

// ReceiptPath is the store key whose presence on its destination chain says a packet
// was received: the acknowledgement hash's key (AckPath). A timeout on an unordered
// route proves its absence.
func ReceiptPath(route string, seq uint64) []byte { return AckPath(route, seq) }

// AckPath is the store key of a packet's acknowledgement hash on its destination chain.
func AckPath(route string, seq uint64) []byte { return full(ackKey(route, seq)) }

// NextSendPath is the store key of a route's next send sequence.
func NextSendPath(route string) []byte { return full(nextSendKey(route)) }

// NextRecvPath is the store key of an ordered route's next receive sequence.
func NextRecvPath(route string) []byte { return full(nextRecvKey(route)) }

// AppKey is the key of an application's record of one packet: prefix, route, "/" and
// the sequence (8 bytes, big-endian), so a route's records iterate in sequence order.
func AppKey(prefix, route string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte(prefix+route+"/"), seq)
}

// SeqValue encodes a sequence as stored under the seq/ paths.
func SeqValue(seq uint64) []byte { return seqBytes(seq) }

// validID checks a client, route or port id: 1-64 bytes of a-z, 0-9, '.', '_', '-',
// starting with a letter or digit (ids are store path segments).
func validID(what, id string) error {
	if id == "" || len(id) > MaxIDBytes {
		return fmt.Errorf("%s %q: expected 1-%d bytes", what, id, MaxIDBytes)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || i > 0 && (c == '.' || c == '_' || c == '-')
		if !ok {
			return fmt.Errorf("%s %q: expected lower-case letters, digits, '.', '_' and '-', starting with a letter or digit", what, id)
		}
	}
	return nil
}
