package message

import (
	"bytes"
	"testing"

	"github.com/lianchain/lian/errcode"
)

func TestMsgSend(t *testing.T) {
	m := &MsgSend{Route: "msg-b", Handler: "inbox", Payload: []byte("hello"), TimeoutSeconds: 60}
	d, err := DecodeSend(m.Marshal())
	if err != nil || !bytes.Equal(d.Marshal(), m.Marshal()) || d.ValidateBasic() != nil {
		t.Fatalf("round trip: %v", err)
	}
	for _, bad := range []*MsgSend{
		{Handler: "inbox"},
		{Route: "r", Handler: "In Box"},
		{Route: "r", Handler: "inbox", Payload: make([]byte, MaxPayloadBytes+1)},
		{Route: "r", Handler: "inbox", TimeoutSeconds: MaxTimeout + 1},
	} {
		if errcode.Of(bad.ValidateBasic()) != errcode.InvalidMessage {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func FuzzDecodeSend(f *testing.F) {
	f.Add((&MsgSend{Route: "r", Handler: "h", Payload: []byte{1}}).Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := DecodeSend(b); err == nil {
			_ = m.ValidateBasic()
		}
	})
}
