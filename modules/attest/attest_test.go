package attest

import (
	"bytes"
	"testing"

	"github.com/lianchain/lian/errcode"
)

func TestMsgAttest(t *testing.T) {
	m := &MsgAttest{Route: "attest-b", Digest: make([]byte, 32), TimeoutSeconds: 60}
	d, err := DecodeAttest(m.Marshal())
	if err != nil || !bytes.Equal(d.Marshal(), m.Marshal()) || d.ValidateBasic() != nil {
		t.Fatalf("round trip: %v", err)
	}
	for _, bad := range []*MsgAttest{
		{Digest: make([]byte, 32)},
		{Route: "r", Digest: make([]byte, 31)},
		{Route: "r", Digest: make([]byte, 32), TimeoutSeconds: MaxTimeout + 1},
	} {
		if errcode.Of(bad.ValidateBasic()) != errcode.InvalidMessage {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func FuzzDecodeAttest(f *testing.F) {
	f.Add((&MsgAttest{Route: "r", Digest: make([]byte, 32)}).Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := DecodeAttest(b); err == nil {
			_ = m.ValidateBasic()
		}
	})
}
