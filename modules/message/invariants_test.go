package message

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/modules"
	"github.com/lianchain/lian/modules/invariantstest"
	"github.com/lianchain/lian/modules/xchain"
	"github.com/lianchain/lian/modules/xchain/sendertest"
	"github.com/lianchain/lian/store"
	"github.com/lianchain/lian/txs"
)

// healthyState sends four messages through the handlers (delivered, refused, timed
// out, still in flight) and receives two, for handlers "inbox" and "audit". It stores
// each settled packet's outcome as the xchain module does.
func healthyState(t *testing.T) (*Module, *store.Store) {
	t.Helper()
	st, err := store.OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	xc := &sendertest.Sender{DestRoute: "msg-a", Chain: "chain-b"}
	m := New(xc)
	now := time.Unix(1_700_000_000, 0).UTC()
	ctx := func(h int64) *modules.Context {
		return modules.NewContext("chain-a", h, now.Add(time.Duration(h)*time.Second), txs.Hash{byte(h)},
			&modules.Account{Address: crypto.Address{1}, Org: "org1"}, st, Name)
	}
	for _, p := range []string{"a", "b", "c", "d"} {
		if err := m.send(ctx(10), &MsgSend{Route: "msg-b", Handler: "inbox", Payload: []byte(p)}); err != nil {
			t.Fatal(err)
		}
	}
	route := &xchain.Route{ID: "msg-b", Port: Name, Client: "chain-b", CounterpartyRoute: "msg-a", CounterpartyPort: Name, Ordered: true, Status: xchain.RouteOpen}
	for i, h := range []string{"inbox", "audit"} {
		env := modules.MustJSON(&envelope{Handler: h, Sender: crypto.Address{2}, Payload: []byte("hello")})
		if _, err := m.OnRecv(ctx(11), route, &xchain.Packet{Sequence: uint64(i + 1), SourceRoute: "msg-a", DestRoute: "msg-b", Payload: env, TimeoutHeight: 100}); err != nil {
			t.Fatal(err)
		}
	}
	p := xc.Sent
	for _, err := range []error{
		m.OnAck(ctx(12), route, p[0], &xchain.Ack{Result: []byte(`{"stored":true}`)}, 20),
		m.OnAck(ctx(12), route, p[1], &xchain.Ack{Error: "invalid_message: no"}, 20),
		m.OnTimeout(ctx(13), route, p[2]),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i, out := range []*xchain.Outcome{
		{State: xchain.PacketAcknowledged, ProofHeight: 20, Height: 12},
		{State: xchain.PacketAcknowledged, AckError: "invalid_message: no", ProofHeight: 20, Height: 12},
		{State: xchain.PacketTimedOut, ProofHeight: 21, Height: 13},
	} {
		st.Set(xchain.OutcomePath("msg-b", p[i].Sequence), modules.MustJSON(out))
	}
	return m, st
}

func TestCheckInvariants(t *testing.T) {
	m, st := healthyState(t)
	if err := m.CheckInvariants(store.Prefixed(st, modules.Prefix(Name))); err != nil {
		t.Fatalf("healthy state: %v", err)
	}
	sent := func(kv store.KV, seq uint64, change func(*Sent)) {
		var s Sent
		if err := json.Unmarshal(kv.Get(sentKey("msg-b", seq)), &s); err != nil {
			t.Fatal(err)
		}
		change(&s)
		kv.Set(sentKey("msg-b", seq), modules.MustJSON(&s))
	}
	inbox := func(kv store.KV, change func(*Delivered)) {
		var d Delivered
		if err := json.Unmarshal(kv.Get(InboxKey("inbox", "msg-b", 1)), &d); err != nil {
			t.Fatal(err)
		}
		change(&d)
		kv.Set(InboxKey("inbox", "msg-b", 1), modules.MustJSON(&d))
	}
	cases := []struct {
		name    string
		corrupt func(kv store.KV)
		want    []string
	}{
		{"sent message under another sequence", func(kv store.KV) {
			kv.Set(sentKey("msg-b", 7), kv.Get(sentKey("msg-b", 4)))
		}, []string{"out/msg-b/7: the message is msg-b/4"}},
		{"sent message of sequence 0", func(kv store.KV) {
			sent(kv, 4, func(s *Sent) { s.Sequence = 0 })
			kv.Set(sentKey("msg-b", 0), kv.Get(sentKey("msg-b", 4)))
			kv.Delete(sentKey("msg-b", 4))
		}, []string{"out/msg-b/0: sequence 0"}},
		{"sent message that does not decode", func(kv store.KV) {
			kv.Set(sentKey("msg-b", 4), []byte{1})
		}, []string{"out/msg-b/4: sent message does not decode"}},
		{"sent message of an unknown status", func(kv store.KV) {
			sent(kv, 4, func(s *Sent) { s.Status = "lost" })
		}, []string{`out/msg-b/4: unknown status "lost"`}},
		{"sent message with an error", func(kv store.KV) {
			sent(kv, 1, func(s *Sent) { s.Error = "x" })
		}, []string{`out/msg-b/1: sent, with error "x" and settled height 0`}},
		// Records stored settled, as earlier versions did:
		{"refused without an error", func(kv store.KV) {
			sent(kv, 2, func(s *Sent) { s.Status = StatusRefused })
		}, []string{`out/msg-b/2: refused, with error ""`}},
		{"delivered with an error", func(kv store.KV) {
			sent(kv, 1, func(s *Sent) { s.Status, s.Error = StatusDelivered, "x" })
		}, []string{`out/msg-b/1: delivered, with error "x"`}},
		{"sent message with a bad handler and no payload hash", func(kv store.KV) {
			sent(kv, 4, func(s *Sent) { s.Handler, s.PayloadHash = "In Box", nil })
		}, []string{`out/msg-b/4: handler "In Box" is not a valid name`, "out/msg-b/4: payload hash of 0 bytes"}},
		{"delivered to another handler's inbox", func(kv store.KV) {
			kv.Set(InboxKey("other", "msg-b", 2), kv.Get(InboxKey("audit", "msg-b", 2)))
			kv.Delete(InboxKey("audit", "msg-b", 2))
		}, []string{`in/other/msg-b/2: the message is to handler "audit", msg-b/2`}},
		{"delivered twice", func(kv store.KV) {
			inbox(kv, func(d *Delivered) { d.Handler = "zz" })
			kv.Set(InboxKey("zz", "msg-b", 1), kv.Get(InboxKey("inbox", "msg-b", 1)))
			inbox(kv, func(d *Delivered) { d.Handler = "inbox" })
		}, []string{"in/zz/msg-b/1: message msg-b/1 delivered to handlers twice, also at in/inbox/msg-b/1"}},
		{"delivered message that does not decode", func(kv store.KV) {
			kv.Set(InboxKey("inbox", "msg-b", 1), []byte("{"))
		}, []string{"in/inbox/msg-b/1: delivered message does not decode"}},
		{"delivered message without chain, height or time", func(kv store.KV) {
			inbox(kv, func(d *Delivered) { d.ChainID, d.Height, d.Time = "", 0, "" })
		}, []string{`in/inbox/msg-b/1: chain id "", height 0`, `in/inbox/msg-b/1: time "" is not RFC 3339`}},
		{"inbox of an invalid handler name", func(kv store.KV) {
			inbox(kv, func(d *Delivered) { d.Handler = "In" })
			kv.Set(InboxKey("In", "msg-b", 1), kv.Get(InboxKey("inbox", "msg-b", 1)))
			kv.Delete(InboxKey("inbox", "msg-b", 1))
		}, []string{`in/In/msg-b/1: handler "In" is not a valid name`}},
		{"unknown keys", func(kv store.KV) {
			kv.Set([]byte("inbox"), []byte{1})
			kv.Set([]byte("in/inbox/msg-b"), []byte{1})
			kv.Set([]byte("out/msg-b/1"), []byte{1})
		}, []string{`"inbox": unknown key`, `"in/inbox/msg-b": unknown key`, `"out/msg-b/1": unknown key`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, st := healthyState(t)
			kv := store.Prefixed(store.NewBranch(st), modules.Prefix(Name))
			c.corrupt(kv)
			invariantstest.Exactly(t, m.CheckInvariants(kv), c.want...)
		})
	}
}

// The healthy state is what the test means it to be.
func TestHealthyState(t *testing.T) {
	m, st := healthyState(t)
	kv := store.Prefixed(st, modules.Prefix(Name))
	var statuses []string
	for seq := uint64(1); seq <= 4; seq++ {
		var stored Sent
		if err := json.Unmarshal(kv.Get(sentKey("msg-b", seq)), &stored); err != nil {
			t.Fatal(err)
		}
		if stored.Status != StatusSent {
			t.Errorf("message %d stored %s: a sent message is stored once, as sent", seq, stored.Status)
		}
		_, v, err := m.Query(&modules.QueryContext{Store: kv, Root: st}, QuerySent, fmt.Appendf(nil, "msg-b/%d", seq))
		if err != nil {
			t.Fatal(err)
		}
		var s Sent
		if err := json.Unmarshal(v, &s); err != nil {
			t.Fatal(err)
		}
		statuses = append(statuses, fmt.Sprintf("%s@%d%s", s.Status, s.SettledHeight, s.Error))
	}
	want := "delivered@12 refused@12invalid_message: no timed_out@13 sent@0"
	if got := strings.Join(statuses, " "); got != want {
		t.Errorf("statuses %s, want %s", got, want)
	}
	if kv.Get(InboxKey("inbox", "msg-b", 1)) == nil || kv.Get(InboxKey("audit", "msg-b", 2)) == nil {
		t.Error("inbox missing")
	}
}
