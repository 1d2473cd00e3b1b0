package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lianchain/lian/api"
)

// sseServer serves a fixed event history as the gateway does, resuming after the
// Last-Event-ID of each connection; conn decides what each connection does.
type sseServer struct {
	t       *testing.T
	history []api.StreamEvent
	srv     *httptest.Server

	mu      sync.Mutex
	lastIDs []string
	queries []string
	// conn is called for connection n (0-based) with the history that follows the
	// client's Last-Event-ID; it writes the answer.
	conn func(n int, w http.ResponseWriter, r *http.Request, rest []api.StreamEvent)
}

func newSSEServer(t *testing.T, n int) *sseServer {
	s := &sseServer{t: t}
	for h := int64(1); len(s.history) < n; h++ {
		for i := 0; i < 3 && len(s.history) < n; i++ {
			pos := api.EventPos{Height: h, Section: api.SectionTx, Tx: 0, Event: i}
			s.history = append(s.history, api.StreamEvent{ID: pos.String(), Kind: api.StreamKindTx, Height: h,
				Time: time.Unix(h, 0).UTC(), Tx: &api.StreamTx{Index: 0, Hash: fmt.Sprintf("%064X", h)},
				Event: &api.ChainEvent{Index: i, Type: "lian.test", Attributes: []api.Attribute{{Key: "n", Value: fmt.Sprint(len(s.history))}}}})
		}
		if len(s.history) < n {
			pos := api.EventPos{Height: h, Section: api.SectionBlockEnd}
			s.history = append(s.history, api.StreamEvent{ID: pos.String(), Kind: api.StreamKindBlock, Height: h,
				Time: time.Unix(h, 0).UTC(), Block: &api.StreamBlock{Hash: "AB", NumTxs: 1}})
		}
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *sseServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	n := len(s.lastIDs)
	last := r.Header.Get("Last-Event-ID")
	s.lastIDs = append(s.lastIDs, last)
	s.queries = append(s.queries, r.URL.RawQuery)
	s.mu.Unlock()
	rest := s.history
	if last != "" {
		after, err := api.ParseEventID(last)
		if err != nil {
			http.Error(w, "bad id", http.StatusBadRequest)
			return
		}
		rest = nil
		for _, e := range s.history {
			if p, _ := api.ParseEventID(e.ID); after.Before(p) {
				rest = append(rest, e)
			}
		}
	}
	s.conn(n, w, r, rest)
}

func (s *sseServer) connections() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lastIDs...)
}

func startStream(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": hello\n\nretry: 2000\n\n")
}

func writeEvent(w http.ResponseWriter, e api.StreamEvent) string {
	b, _ := json.Marshal(e)
	msg := fmt.Sprintf("id: %s\nevent: %s\ndata: %s\n\n", e.ID, e.Kind, b)
	fmt.Fprint(w, msg)
	return msg
}

// collect reads n events or fails.
func collect(t *testing.T, sub *Subscription, n int) []api.StreamEvent {
	t.Helper()
	var out []api.StreamEvent
	timeout := time.After(20 * time.Second)
	for len(out) < n {
		select {
		case e, ok := <-sub.Events():
			if !ok {
				t.Fatalf("the subscription ended after %d events: %v", len(out), sub.Err())
			}
			out = append(out, e)
		case <-timeout:
			t.Fatalf("%d events of %d in 20s", len(out), n)
		}
	}
	return out
}

func sameEvents(t *testing.T, got, want []api.StreamEvent) {
	t.Helper()
	a, _ := json.Marshal(got)
	b, _ := json.Marshal(want)
	if string(a) != string(b) {
		t.Fatalf("events\n got %s\nwant %s", a, b)
	}
}

func TestSubscribeResumesAfterCuts(t *testing.T) {
	s := newSSEServer(t, 40)
	s.conn = func(n int, w http.ResponseWriter, r *http.Request, rest []api.StreamEvent) {
		startStream(w)
		if n == 0 {
			fmt.Fprint(w, "id: 0\n\n") // where the stream starts
		}
		for i, e := range rest {
			if n < 6 && i == 5 {
				// Cut in the middle of the sixth message: it must not be delivered.
				msg := writeEvent(discard{w}, e)
				fmt.Fprint(w, msg[:len(msg)/2])
				return
			}
			if n == 3 && i == 0 {
				// A server that repeats the event the client resumed after.
				s.mu.Lock()
				last := s.lastIDs[n]
				s.mu.Unlock()
				for _, h := range s.history {
					if h.ID == last {
						writeEvent(w, h)
					}
				}
			}
			writeEvent(w, e)
		}
		w.(http.Flusher).Flush()
		<-r.Context().Done() // the last connection stays open
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sub, err := New(s.srv.URL).Subscribe(ctx, "c", EventFilter{Modules: []string{"evidence", "gov"}, Types: []string{"lian.tx"},
		Account: "org:org1", FromHeight: 1, NoBlocks: true}, "")
	if err != nil {
		t.Fatal(err)
	}
	got := collect(t, sub, len(s.history))
	sameEvents(t, got, s.history)
	conns := s.connections()
	if len(conns) != 7 || conns[0] != "" {
		t.Fatalf("connections with Last-Event-ID %q", conns)
	}
	for i := 1; i < len(conns); i++ {
		if want := s.history[5*i-1].ID; conns[i] != want {
			t.Fatalf("connection %d resumed after %q, want %q (the last complete message)", i, conns[i], want)
		}
	}
	if q := s.queries[0]; !strings.Contains(q, "module=evidence%2Cgov") || !strings.Contains(q, "type=lian.tx") ||
		!strings.Contains(q, "account=org%3Aorg1") || !strings.Contains(q, "from_height=1") || !strings.Contains(q, "blocks=false") {
		t.Fatalf("query %s", q)
	}
	// The subscription records an event's position once the event is taken from the
	// channel (so that LastID never names an event not yet received): poll for it.
	eventuallyClient(t, func() bool { return sub.LastID() == s.history[len(s.history)-1].ID })
	if sub.Reconnects() != 6 {
		t.Fatalf("last id %s, %d reconnections", sub.LastID(), sub.Reconnects())
	}
	sub.Close()
	if _, ok := <-sub.Events(); ok || sub.Err() != nil {
		t.Fatalf("after Close: channel open %v, err %v", ok, sub.Err())
	}
}

// discard swallows writes: the test formats a message it then writes half of.
type discard struct{ http.ResponseWriter }

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func TestSubscribeFromIDAndIDOnlyMessages(t *testing.T) {
	s := newSSEServer(t, 40)
	s.conn = func(n int, w http.ResponseWriter, r *http.Request, rest []api.StreamEvent) {
		startStream(w)
		if n == 0 {
			writeEvent(w, rest[0])
			fmt.Fprint(w, "id: 9\n\n") // the stream went through block 9: nothing for the filter
			return
		}
		for _, e := range rest {
			writeEvent(w, e)
		}
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}
	ctx, cancel := context.WithCancel(context.Background())
	sub, err := New(s.srv.URL).Subscribe(ctx, "c", EventFilter{}, s.history[2].ID)
	if err != nil {
		t.Fatal(err)
	}
	got := collect(t, sub, 1)
	sameEvents(t, got, s.history[3:4])
	// The second connection resumes after the ID alone.
	for ev := range sub.Events() {
		if ev.Height <= 9 {
			t.Fatalf("event %s at or before the ID 9 the stream went through", ev.ID)
		}
		break
	}
	if conns := s.connections(); len(conns) != 2 || conns[0] != s.history[2].ID || conns[1] != "9" {
		t.Fatalf("connections %q", conns)
	}
	cancel()
	for range sub.Events() {
	}
	if !errors.Is(sub.Err(), context.Canceled) {
		t.Fatalf("after cancel: %v", sub.Err())
	}
}

func TestSubscribeErrors(t *testing.T) {
	// An answer at the first connection is returned by Subscribe.
	s := newSSEServer(t, 3)
	s.conn = func(n int, w http.ResponseWriter, r *http.Request, rest []api.StreamEvent) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"code":"not_found","message":"unknown chain"}`)
	}
	_, err := New(s.srv.URL).Subscribe(context.Background(), "c", EventFilter{}, "")
	if e, ok := AsError(err); !ok || e.Code != "not_found" || e.Status != http.StatusNotFound {
		t.Fatalf("subscribe to an unknown chain: %v", err)
	}
	if _, err := New(s.srv.URL).Subscribe(context.Background(), "c", EventFilter{}, "12:x"); err == nil {
		t.Fatal("a malformed from id was accepted")
	}
	if _, err := New(s.srv.URL).Subscribe(context.Background(), "c", EventFilter{FromHeight: -1}, ""); err == nil {
		t.Fatal("a negative from height was accepted")
	}

	// Unavailable (503, and an error message in the stream) is retried; not_found in the
	// stream ends the subscription.
	s2 := newSSEServer(t, 3)
	s2.conn = func(n int, w http.ResponseWriter, r *http.Request, rest []api.StreamEvent) {
		switch n {
		case 0:
			startStream(w)
			writeEvent(w, rest[0])
			fmt.Fprint(w, "event: error\ndata: {\"code\":\"unavailable\",\"message\":\"no node\"}\n\n")
		case 1:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"code":"unavailable","message":"too many streams"}`)
		case 2:
			startStream(w)
			writeEvent(w, rest[0])
			fmt.Fprint(w, "event: error\ndata: {\"code\":\"not_found\",\"message\":\"block 2 is pruned\"}\n\n")
		}
	}
	sub, err := New(s2.srv.URL).Subscribe(context.Background(), "c", EventFilter{}, "")
	if err != nil {
		t.Fatal(err)
	}
	got := collect(t, sub, 2)
	sameEvents(t, got, s2.history[:2])
	if _, ok := <-sub.Events(); ok {
		t.Fatal("the subscription goes on after not_found")
	}
	if e, ok := AsError(sub.Err()); !ok || e.Code != "not_found" || !strings.Contains(e.Message, "pruned") {
		t.Fatalf("end of the subscription: %v", sub.Err())
	}
	if n := len(s2.connections()); n != 3 {
		t.Fatalf("%d connections", n)
	}
}

func TestSubscribeStall(t *testing.T) {
	saved := eventStallTimeout
	eventStallTimeout = 200 * time.Millisecond
	defer func() { eventStallTimeout = saved }()
	s := newSSEServer(t, 3)
	s.conn = func(n int, w http.ResponseWriter, r *http.Request, rest []api.StreamEvent) {
		startStream(w)
		writeEvent(w, rest[0])
		w.(http.Flusher).Flush()
		if n == 0 {
			<-r.Context().Done() // silent: the client must give up on it
		}
	}
	sub, err := New(s.srv.URL).Subscribe(context.Background(), "c", EventFilter{}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	got := collect(t, sub, 2)
	sameEvents(t, got, s.history[:2])
	if conns := s.connections(); len(conns) < 2 || conns[1] != s.history[0].ID {
		t.Fatalf("connections %q", conns)
	}
}
