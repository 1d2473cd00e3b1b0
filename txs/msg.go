package txs

// Msg is a decoded module message.
type Msg interface {
	// TypeURL names the message type, e.g. "/lian.evidence.v1.MsgAnchor".
	TypeURL() string
	// Marshal returns the message's protobuf encoding.
	Marshal() []byte
	// ValidateBasic checks the message without reading state.
	ValidateBasic() error
}

// Pack wraps a message in an Any.
func Pack(m Msg) Any { return Any{TypeURL: m.TypeURL(), Value: m.Marshal()} }

// NewBody returns a body carrying msgs.
func NewBody(chainID string, nonce uint64, msgs ...Msg) *Body {
	b := &Body{ChainID: chainID, Nonce: nonce}
	for _, m := range msgs {
		b.Messages = append(b.Messages, Pack(m))
	}
	return b
}
