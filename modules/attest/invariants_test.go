package attest

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/modules"
	"github.com/lianchain/lian/modules/evidence"
	"github.com/lianchain/lian/modules/invariantstest"
	"github.com/lianchain/lian/modules/xchain"
	"github.com/lianchain/lian/modules/xchain/sendertest"
	"github.com/lianchain/lian/store"
	"github.com/lianchain/lian/txs"
)

const testRoute = "attest-b"

func digestOf(s string) []byte {
	d := sha256.Sum256([]byte(s))
	return d[:]
}

func answer(t *testing.T, found bool, digest []byte, height int64) *xchain.Ack {
	t.Helper()
	a := &Answer{Found: found, Height: height}
	if found {
		a.Record = &evidence.Record{Digest: digest, HashAlgo: evidence.HashSHA256, Kind: evidence.KindDocument, Height: height,
			Time: "2026-11-27T06:59:12Z", TxHash: strings.Repeat("AB", 32)}
	}
	return &xchain.Ack{Result: modules.MustJSON(a)}
}

// healthyState asks chain-b six times through the handlers: about "one" (found, at
// the other chain's height 50), "two" (not found), "one" again (answered at height 40:
// the attestation stays the first answer), "three" (an error acknowledgement), "four"
// (timed out) and "five" (pending). It stores each settled packet's outcome as the
// xchain module does.
func healthyState(t *testing.T) (*Module, *store.Store) {
	t.Helper()
	st, err := store.OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	xc := &sendertest.Sender{DestRoute: "attest-a", Chain: "chain-b"}
	m := New(xc, nil)
	now := time.Unix(1_700_000_000, 0).UTC()
	ctx := func(h int64) *modules.Context {
		return modules.NewContext("chain-a", h, now.Add(time.Duration(h)*time.Second), txs.Hash{byte(h)},
			&modules.Account{Address: crypto.Address{1}, Org: "org1"}, st, Name)
	}
	for _, d := range []string{"one", "two", "one", "three", "four", "five"} {
		if err := m.attest(ctx(10), &MsgAttest{Route: testRoute, Digest: digestOf(d)}); err != nil {
			t.Fatal(err)
		}
	}
	p := xc.Sent
	for _, err := range []error{
		m.OnAck(ctx(12), nil, p[0], answer(t, true, digestOf("one"), 50), 60),
		m.OnAck(ctx(13), nil, p[1], answer(t, false, nil, 51), 60),
		m.OnAck(ctx(14), nil, p[2], answer(t, true, digestOf("one"), 40), 61),
		m.OnAck(ctx(15), nil, p[3], &xchain.Ack{Error: "internal: broken"}, 61),
		m.OnTimeout(ctx(16), nil, p[4]),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i, out := range []*xchain.Outcome{
		{State: xchain.PacketAcknowledged, ProofHeight: 60, Height: 12},
		{State: xchain.PacketAcknowledged, ProofHeight: 60, Height: 13},
		{State: xchain.PacketAcknowledged, ProofHeight: 61, Height: 14},
		{State: xchain.PacketAcknowledged, AckError: "internal: broken", ProofHeight: 61, Height: 15},
		{State: xchain.PacketTimedOut, ProofHeight: 70, Height: 16},
	} {
		st.Set(xchain.OutcomePath(testRoute, p[i].Sequence), modules.MustJSON(out))
	}
	return m, st
}

// queryRequest returns request seq as the request query answers it.
func queryRequest(t *testing.T, m *Module, st store.Reader, seq uint64) *Request {
	t.Helper()
	_, v, err := m.Query(&modules.QueryContext{Store: store.Prefixed(store.ReadOnly(st), modules.Prefix(Name)), Root: st},
		QueryRequest, fmt.Appendf(nil, "%s/%d", testRoute, seq))
	if err != nil {
		t.Fatal(err)
	}
	var r Request
	if err := json.Unmarshal(v, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

func TestCheckInvariants(t *testing.T) {
	m, st := healthyState(t)
	if err := m.CheckInvariants(store.Prefixed(st, modules.Prefix(Name))); err != nil {
		t.Fatalf("healthy state: %v", err)
	}
	request := func(kv store.KV, seq uint64, change func(*Request)) {
		var r Request
		if err := json.Unmarshal(kv.Get(requestKey(testRoute, seq)), &r); err != nil {
			t.Fatal(err)
		}
		change(&r)
		kv.Set(requestKey(testRoute, seq), modules.MustJSON(&r))
	}
	attOne := AttestationKey("chain-b", digestOf("one"))
	attestation := func(kv store.KV, change func(*Attestation)) {
		var a Attestation
		if err := json.Unmarshal(kv.Get(attOne), &a); err != nil {
			t.Fatal(err)
		}
		change(&a)
		kv.Set(attOne, modules.MustJSON(&a))
	}
	one := fmt.Sprintf("att/chain-b/%X", digestOf("one"))
	cases := []struct {
		name    string
		corrupt func(kv store.KV)
		want    []string
	}{
		{"request under another sequence", func(kv store.KV) {
			kv.Set(requestKey(testRoute, 9), kv.Get(requestKey(testRoute, 6)))
		}, []string{"req/attest-b/9: the request is attest-b/6"}},
		{"request of sequence 0", func(kv store.KV) {
			request(kv, 6, func(r *Request) { r.Sequence = 0 })
			kv.Set(requestKey(testRoute, 0), kv.Get(requestKey(testRoute, 6)))
			kv.Delete(requestKey(testRoute, 6))
		}, []string{"req/attest-b/0: sequence 0"}},
		{"request that does not decode", func(kv store.KV) {
			kv.Set(requestKey(testRoute, 6), []byte("["))
		}, []string{"req/attest-b/6: request does not decode"}},
		{"request of an unknown status", func(kv store.KV) {
			request(kv, 6, func(r *Request) { r.Status = "lost" })
		}, []string{`req/attest-b/6: unknown status "lost"`}},
		{"pending request with a settled height", func(kv store.KV) {
			request(kv, 6, func(r *Request) { r.SettledHeight = 20 })
		}, []string{"req/attest-b/6: pending, with settled height 20"}},
		// Requests stored settled, as earlier versions did:
		{"timed out before it was sent", func(kv store.KV) {
			request(kv, 5, func(r *Request) { r.Status, r.SettledHeight = StatusTimedOut, 9 })
		}, []string{"req/attest-b/5: timed_out at height 9, requested at 10"}},
		{"failed without an error", func(kv store.KV) {
			request(kv, 4, func(r *Request) { r.Status, r.SettledHeight = StatusFailed, 15 })
		}, []string{`req/attest-b/4: failed, with error ""`}},
		{"request with a short digest and no time", func(kv store.KV) {
			request(kv, 6, func(r *Request) { r.Digest, r.Time = r.Digest[:31], "" })
		}, []string{"req/attest-b/6: digest of 31 bytes", `req/attest-b/6: time "" is not RFC 3339`}},
		{"answered request without its attestation", func(kv store.KV) {
			request(kv, 2, func(r *Request) { r.Status, r.SettledHeight = StatusAnswered, 13 })
			kv.Delete(AttestationKey("chain-b", digestOf("two")))
		}, []string{fmt.Sprintf("req/attest-b/2: answered, and no attestation of %X from chain-b", digestOf("two"))}},
		{"attestation's request answered at another height", func(kv store.KV) {
			request(kv, 1, func(r *Request) { r.Status, r.SettledHeight = StatusAnswered, 11 })
		}, []string{one + ": its request req/attest-b/1 is answered, of"}},
		{"attestation's request timed out", func(kv store.KV) {
			request(kv, 1, func(r *Request) { r.Status, r.SettledHeight = StatusTimedOut, 12 })
		}, []string{one + ": its request req/attest-b/1 is timed_out, of"}},
		{"attestation's request of another digest", func(kv store.KV) {
			attestation(kv, func(a *Attestation) { a.Sequence = 6 })
		}, []string{fmt.Sprintf("%s: its request req/attest-b/6 is pending, of %X", one, digestOf("five"))}},
		{"attestation of no request", func(kv store.KV) {
			attestation(kv, func(a *Attestation) { a.Route = "attest-z" })
		}, []string{one + ": no request attest-z/1"}},
		{"attestation under another chain", func(kv store.KV) {
			kv.Set(AttestationKey("chain-c", digestOf("one")), kv.Get(attOne))
		}, []string{fmt.Sprintf(`att/chain-c/%X: the attestation is of chain "chain-b"`, digestOf("one"))}},
		{"attestation found without a record", func(kv store.KV) {
			attestation(kv, func(a *Attestation) { a.Record = nil })
		}, []string{one + ": found is true, with a record: false"}},
		{"attestation with another digest's record", func(kv store.KV) {
			attestation(kv, func(a *Attestation) { a.Record.Digest = digestOf("two") })
		}, []string{fmt.Sprintf("%s: the record is of digest %X", one, digestOf("two"))}},
		{"attestation that does not decode", func(kv store.KV) {
			kv.Set(attOne, []byte("{"))
		}, []string{one + ": attestation does not decode"}},
		{"unknown keys", func(kv store.KV) {
			kv.Set([]byte("x"), []byte{1})
			kv.Set([]byte("req/attest-b"), []byte{1})
			kv.Set(append([]byte("att/chain-b/"), digestOf("one")[:31]...), []byte{1})
		}, []string{`"x": unknown key`, `"req/attest-b": unknown key`, `"att/chain-b/`}},
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
	for seq := uint64(1); seq <= 6; seq++ {
		var stored Request
		if err := json.Unmarshal(kv.Get(requestKey(testRoute, seq)), &stored); err != nil {
			t.Fatal(err)
		}
		if stored.Status != StatusPending || stored.SettledHeight != 0 {
			t.Errorf("request %d stored %s at %d: a request is stored once, pending", seq, stored.Status, stored.SettledHeight)
		}
		r := queryRequest(t, m, st, seq)
		statuses = append(statuses, fmt.Sprintf("%s@%d%s", r.Status, r.SettledHeight, r.Error))
	}
	want := "answered@12 answered@13 answered@14 failed@15internal: broken timed_out@16 pending@0"
	if got := strings.Join(statuses, " "); got != want {
		t.Errorf("statuses %s, want %s", got, want)
	}
	var a Attestation
	if err := json.Unmarshal(kv.Get(AttestationKey("chain-b", digestOf("one"))), &a); err != nil || a.Sequence != 1 || !a.Found ||
		!bytes.Equal(a.Record.Digest, digestOf("one")) {
		t.Errorf("attestation of one: %+v, %v", a, err)
	}
}
