package attest

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules"
	"github.com/lianchain/lian/modules/evidence"
	"github.com/lianchain/lian/modules/xchain"
	"github.com/lianchain/lian/store"
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

// TestQueryChainIDWithSlash: the query data is split at its last "/", so a chain id
// holding one is found.
func TestQueryChainIDWithSlash(t *testing.T) {
	st, err := store.OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	kv := store.Prefixed(st, modules.Prefix(Name))
	d := bytes.Repeat([]byte{7}, evidence.DigestLen)
	kv.Set(AttestationKey("region/a-1", d), []byte(`{}`))
	kv.Set(requestKey("attest-region/a-1", 3), []byte(`{}`))
	m := New(nil, nil)
	for _, q := range []struct{ path, data string }{
		{QueryAttestation, "region/a-1/" + hex.EncodeToString(d)},
		{QueryRequest, "attest-region/a-1/3"},
	} {
		if _, v, err := m.Query(&modules.QueryContext{Store: kv, Root: st}, q.path, []byte(q.data)); err != nil || v == nil {
			t.Errorf("%s %s: %v", q.path, q.data, err)
		}
	}
}

// TestRequestStatusFromOutcome: a request's status is its packet's outcome.
func TestRequestStatusFromOutcome(t *testing.T) {
	for _, c := range []struct {
		out  *xchain.Outcome
		want string
	}{
		{nil, "pending@0"},
		{&xchain.Outcome{State: xchain.PacketAcknowledged, Height: 7}, "answered@7"},
		{&xchain.Outcome{State: xchain.PacketAcknowledged, AckError: "not_found: no", Height: 7}, "failed@7 not_found: no"},
		{&xchain.Outcome{State: xchain.PacketAcknowledged, AppError: "invalid_message: answer", Height: 7}, "failed@7 invalid_message: answer"},
		{&xchain.Outcome{State: xchain.PacketTimedOut, Height: 9}, "timed_out@9"},
		{&xchain.Outcome{State: xchain.PacketTimedOut, AppError: "not_found: request", Height: 9}, "timed_out@9"},
	} {
		r := &Request{Status: StatusPending}
		r.settle(c.out)
		got := fmt.Sprintf("%s@%d", r.Status, r.SettledHeight)
		if r.Error != "" {
			got += " " + r.Error
		}
		if got != c.want {
			t.Errorf("%+v: %s, want %s", c.out, got, c.want)
		}
	}
}
