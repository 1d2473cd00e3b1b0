// Package sendertest provides a fake packet sender for the tests of xchain
// applications (attest, message): it numbers the packets an application sends and
// keeps them, without a chain on the other side.
package sendertest

import (
	"time"

	"github.com/lianchain/lian/modules"
	"github.com/lianchain/lian/modules/xchain"
)

// Sender sends every packet to DestRoute on chain Chain and remembers it in Sent.
type Sender struct {
	DestRoute, Chain string
	Sent             []*xchain.Packet
}

// SendPacket numbers the packet after the ones sent before and keeps it.
func (s *Sender) SendPacket(_ *modules.Context, route string, payload []byte, _ uint64, timeout time.Time) (*xchain.Packet, error) {
	p := &xchain.Packet{Sequence: uint64(len(s.Sent) + 1), SourceRoute: route, DestRoute: s.DestRoute, Payload: payload, TimeoutTime: uint64(timeout.UnixNano())}
	s.Sent = append(s.Sent, p)
	return p, nil
}

// RouteChain answers Chain for any route.
func (s *Sender) RouteChain(*modules.Context, string) (string, error) { return s.Chain, nil }
