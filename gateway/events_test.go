package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/client"
	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/modules/evidence"
	"github.com/lianchain/lian/modules/identity"
	"github.com/lianchain/lian/txs"
)

// cutWriter passes the first `left` bytes of an answer and then fails every write, as a
// connection dropped mid-stream (possibly in the middle of a message).
type cutWriter struct {
	http.ResponseWriter
	left int
}

var errCut = errors.New("connection cut by the test")

func (w *cutWriter) Write(p []byte) (int, error) {
	if w.left <= 0 {
		return 0, errCut
	}
	if len(p) > w.left {
		n, _ := w.ResponseWriter.Write(p[:w.left])
		w.left = 0
		http.NewResponseController(w.ResponseWriter).Flush()
		return n, errCut
	}
	w.left -= len(p)
	return w.ResponseWriter.Write(p)
}

func (w *cutWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

func (w *cutWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// TestEventStreamResume: the SDK subscription is cut mid-stream several times (in the
// middle of messages), reconnects with Last-Event-ID each time, and delivers exactly the
// full history read in one piece: nothing missed, nothing repeated.
func TestEventStreamResume(t *testing.T) {
	tn := chainNet(t)
	// Transactions in several blocks: anchors by the admin, a member registration, a
	// failed transaction (a digest anchored twice), a top-up.
	member := genKey(t)
	tn.send(t, tn.admin, &identity.MsgRegisterAccount{PubKey: member.PubKey().Bytes(), Algo: crypto.Ed25519,
		Roles: []string{identity.RoleMember}, IdentityHash: digestOf("events member")})
	var msgs []txs.Msg
	for i := range 6 {
		msgs = append(msgs, anchor(digestOf(fmt.Sprintf("events %d %d", time.Now().UnixNano(), i)), "events"))
	}
	tn.sendMany(t, tn.admin, msgs...)
	dup := digestOf(fmt.Sprintf("events dup %d", time.Now().UnixNano()))
	other := tn.orgAdmins[0]
	first := tn.send(t, other, anchor(dup, "once"))
	st, body := tn.trySend(t, other, anchor(dup, "twice"))
	if st == http.StatusOK {
		t.Fatalf("anchoring twice: %s", body)
	}
	last := tn.send(t, tn.admin, anchor(digestOf(fmt.Sprintf("events last %d", time.Now().UnixNano())), "last"))
	target := strconv.FormatInt(last.Height, 10)
	path := "/v1/chains/" + testChainID + "/events"

	// The full history, in one piece.
	s := openSSE(t, tn.srv.URL+path+"?from_height=1", "")
	full := s.until(t, 60*time.Second, func(m sseMsg) bool { return m.id == target })
	s.close()
	seen := map[string]bool{}
	var prev api.EventPos
	for i, m := range full {
		pos, err := api.ParseEventID(m.id)
		if err != nil || seen[m.id] || (i > 0 && !prev.Before(pos)) {
			t.Fatalf("message %d: id %q out of order (after %s) or repeated: %v", i, m.id, prev, err)
		}
		seen[m.id], prev = true, pos
	}
	if !seen[fmt.Sprintf("%d:%d:0", first.Height, first.Index)] || !seen[fmt.Sprintf("%d:%d:2", last.Height, last.Index)] {
		t.Fatalf("the history lacks the test's transactions: %s", ids(full))
	}

	// Through connections the test cuts after a few hundred bytes (the first five).
	var (
		mu      sync.Mutex
		lastIDs []string
		conns   atomic.Int32
	)
	cutting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(conns.Add(1))
		mu.Lock()
		lastIDs = append(lastIDs, r.Header.Get("Last-Event-ID"))
		mu.Unlock()
		if n <= 5 {
			w = &cutWriter{ResponseWriter: w, left: 300 + 511*n}
		}
		tn.gw.Handler().ServeHTTP(w, r)
	}))
	defer cutting.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sub, err := client.New(cutting.URL).Subscribe(ctx, testChainID, client.EventFilter{FromHeight: 1}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	var got []api.StreamEvent
	for ev := range sub.Events() {
		got = append(got, ev)
		if ev.ID == target {
			break
		}
	}
	if len(got) == 0 || got[len(got)-1].ID != target {
		t.Fatalf("the subscription ended after %d events: %v", len(got), sub.Err())
	}
	if n := int(conns.Load()); n < 4 || sub.Reconnects() != n-1 {
		t.Fatalf("%d connections and %d reconnections: the test cuts the first 5", n, sub.Reconnects())
	}
	mu.Lock()
	if lastIDs[0] != "" || lastIDs[1] == "" {
		t.Errorf("Last-Event-ID of the connections: %q", lastIDs)
	}
	mu.Unlock()
	t.Logf("%d events in %d connections", len(got), conns.Load())
	if len(got) != len(full) {
		t.Fatalf("the subscription delivered %d events, the history has %d", len(got), len(full))
	}
	for i, ev := range got {
		var want api.StreamEvent
		if err := json.Unmarshal([]byte(full[i].data), &want); err != nil {
			t.Fatal(err)
		}
		a, _ := json.Marshal(ev)
		b, _ := json.Marshal(want)
		if string(a) != string(b) {
			t.Fatalf("event %d:\n got %s\nwant %s", i, a, b)
		}
	}

	// A subscription from an ID continues right after it.
	mid := got[len(got)/2]
	sub2, err := client.New(tn.srv.URL).Subscribe(ctx, testChainID, client.EventFilter{}, mid.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer sub2.Close()
	ev := <-sub2.Events()
	if ev.ID != got[len(got)/2+1].ID {
		t.Fatalf("after %s came %s, want %s", mid.ID, ev.ID, got[len(got)/2+1].ID)
	}

	// Filters, checked against the full history, decoded once: who sent or paid for
	// each transaction (the lian.tx event's sender and payer).
	history := make([]api.StreamEvent, len(full))
	signers := map[string]map[string]bool{} // tx hash -> sender and payer
	for i, m := range full {
		if err := json.Unmarshal([]byte(m.data), &history[i]); err != nil {
			t.Fatal(err)
		}
		if o := history[i]; o.Tx != nil && o.Event != nil && o.Event.Type == "lian.tx" {
			for _, a := range o.Event.Attributes {
				if a.Key == "sender" || a.Key == "payer" {
					if signers[o.Tx.Hash] == nil {
						signers[o.Tx.Hash] = map[string]bool{}
					}
					signers[o.Tx.Hash][a.Value] = true
				}
			}
		}
	}
	byAccount := func(account string) func(api.StreamEvent) bool {
		return func(e api.StreamEvent) bool {
			if e.Event == nil {
				return false
			}
			if e.Tx != nil && signers[e.Tx.Hash][account] {
				return true
			}
			for _, a := range e.Event.Attributes {
				if a.Value == account {
					return true
				}
			}
			return false
		}
	}
	for _, tc := range []struct {
		q    string
		keep func(api.StreamEvent) bool
	}{
		{"type=" + evidence.EventAnchored + "&blocks=false", func(e api.StreamEvent) bool {
			return e.Event != nil && e.Event.Type == evidence.EventAnchored
		}},
		{"module=identity&blocks=false", func(e api.StreamEvent) bool { return e.Event != nil && e.Event.Module == identity.Name }},
		{"account=" + member.PubKey().Address().String() + "&blocks=false", byAccount(member.PubKey().Address().String())},
		{"account=" + other.PubKey().Address().String() + "&blocks=false", byAccount(other.PubKey().Address().String())},
	} {
		var want []string
		for i, e := range history {
			if tc.keep(e) {
				want = append(want, full[i].id)
			}
		}
		s := openSSE(t, tn.srv.URL+path+"?from_height=1&"+tc.q, "")
		var gotIDs []string
		for len(gotIDs) < len(want) {
			m := s.next(t, 60*time.Second)
			if m.kind != "" {
				gotIDs = append(gotIDs, m.id)
			}
		}
		s.close()
		if fmt.Sprint(gotIDs) != fmt.Sprint(want) || len(want) == 0 {
			t.Errorf("%s: %v\nwant %v", tc.q, gotIDs, want)
		}
	}
}
