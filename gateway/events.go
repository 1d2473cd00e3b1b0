package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules/attest"
	"github.com/lianchain/lian/modules/credits"
	"github.com/lianchain/lian/modules/evidence"
	"github.com/lianchain/lian/modules/gov"
	"github.com/lianchain/lian/modules/identity"
	"github.com/lianchain/lian/modules/message"
	"github.com/lianchain/lian/modules/xchain"
)

// The event stream GET /v1/chains/{chain}/events is built from committed blocks only:
// block H's transaction results and block events (block_results) and its transactions
// (block, for their hashes), read through the chain's nodes with fail-over, one height
// after the other. A stream never skips a height: while no node can serve the next one
// it waits (sending heartbeats) and tries again. Every message carries an ID naming its
// position in the chain's results (see api.StreamEvent), so a client that reconnects
// with Last-Event-ID resumes right after the last message it received.
//
// Per chain, one poller follows the tip while streams are open, and the last blocks read
// are kept (decoded and encoded once), so streams that follow the tip cost the nodes two
// calls per block however many there are.

// Event stream limits and intervals.
const (
	// MaxEventStreams bounds the event streams the gateway serves at once; beyond, a new
	// stream is answered 503 unavailable.
	MaxEventStreams = 1024
	// EventHeartbeat is the longest a stream stays silent: then it sends a comment (or the
	// ID of the last block it went through, when it sent nothing since).
	EventHeartbeat = 15 * time.Second
	// eventTipPoll is how often the tip of a chain with open streams is polled.
	eventTipPoll = 500 * time.Millisecond
	// eventWriteTimeout bounds one write to a stream's client: a client that does not
	// read for that long is disconnected (it resumes with Last-Event-ID).
	eventWriteTimeout = 30 * time.Second
	// eventRetryMin and eventRetryMax bound the wait before a block is asked for again
	// when no node could serve it.
	eventRetryMin = 100 * time.Millisecond
	eventRetryMax = 5 * time.Second
	// eventMaxAhead bounds how far beyond the latest height a stream may start.
	eventMaxAhead = 1000
	// eventBlockCache is how many decoded blocks a chain keeps for its streams.
	eventBlockCache = 64
	// eventFlushBytes is the size at which a stream's buffered messages are written.
	eventFlushBytes = 64 << 10
	// sseRetry is the reconnection delay (ms) the stream asks EventSource clients to use.
	sseRetry = 2000
	// eventFilterValues bounds the values of one filter parameter.
	eventFilterValues = 32
)

// evFilter selects the messages of a stream.
type evFilter struct {
	modules map[string]bool // nil: any
	types   map[string]bool // nil: any
	account string          // "": any; else a holder as events show it (0x… or org:<id>)
	blocks  bool            // send the end-of-block messages
}

// eventModules are the modules a module filter may name.
var eventModules = []string{attest.Name, credits.Name, evidence.Name, gov.Name, identity.Name, message.Name, xchain.Name}

func parseEvFilter(q url.Values) (*evFilter, error) {
	for k := range q {
		switch k {
		case "module", "type", "account", "from_height", "blocks":
		default:
			return nil, errorf(errcode.InvalidRequest, "unknown parameter %q: expected module, type, account, from_height or blocks", truncate(k, 40))
		}
	}
	f := &evFilter{blocks: true}
	list := func(key string) (map[string]bool, error) {
		if _, ok := q[key]; !ok {
			return nil, nil
		}
		out := map[string]bool{}
		for _, v := range q[key] {
			for _, s := range strings.Split(v, ",") {
				s = strings.TrimSpace(s)
				if s == "" || len(s) > 128 || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r > '~' }) {
					return nil, errorf(errcode.InvalidRequest, "%s=%q: expected a comma-separated list of names", key, truncate(v, 60))
				}
				out[s] = true
			}
		}
		if len(out) > eventFilterValues {
			return nil, errorf(errcode.InvalidRequest, "%s: %d values, at most %d", key, len(out), eventFilterValues)
		}
		return out, nil
	}
	var err error
	if f.modules, err = list("module"); err != nil {
		return nil, err
	}
	for m := range f.modules {
		if !slices.Contains(eventModules, m) {
			return nil, errorf(errcode.InvalidRequest, "module=%q: expected one of %s", truncate(m, 40), strings.Join(eventModules, ", "))
		}
	}
	if f.types, err = list("type"); err != nil {
		return nil, err
	}
	if s := q.Get("account"); s != "" || q.Has("account") {
		h, err := parseHolder(s)
		if err != nil {
			return nil, errorf(errcode.InvalidRequest, "account %q: expected a 0x address (40 hex digits) or org:<organisation id>", truncate(s, 80))
		}
		f.account = h.String()
	}
	if s := q.Get("blocks"); s != "" {
		if f.blocks, err = strconv.ParseBool(s); err != nil {
			return nil, errorf(errcode.InvalidRequest, "blocks=%q: expected true or false", truncate(s, 40))
		}
	}
	return f, nil
}

// match reports whether the filter lets m of block b through.
func (f *evFilter) match(b *obsBlock, m *evMsg) bool {
	if f.modules != nil && !f.modules[m.module] {
		return false
	}
	if f.types != nil && !f.types[m.typ] {
		return false
	}
	if f.account == "" {
		return true
	}
	if m.tx >= 0 {
		if tx := &b.txs[m.tx]; tx.sender == f.account || tx.payer == f.account {
			return true
		}
	}
	return slices.Contains(m.values, f.account)
}

// evStart returns where a stream starts: after Last-Event-ID, else before from_height;
// explicit is false when the request names neither (the stream starts after the latest
// block).
func evStart(r *http.Request) (after api.EventPos, explicit bool, err error) {
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		p, err := api.ParseEventID(strings.TrimSpace(id))
		if err != nil {
			return api.EventPos{}, false, errorf(errcode.InvalidRequest, "Last-Event-ID: %v", err)
		}
		return p, true, nil
	}
	if s := r.URL.Query().Get("from_height"); s != "" {
		h, err := parseHeight(s)
		if err != nil {
			return api.EventPos{}, false, errorf(errcode.InvalidRequest, "from_height=%q: expected a positive integer", truncate(s, 40))
		}
		return api.EventPos{Height: h - 1, Section: api.SectionBlockEnd}, true, nil
	}
	return api.EventPos{}, false, nil
}

// streamEvents is GET /v1/chains/{chain}/events.
func (g *Gateway) streamEvents(w http.ResponseWriter, r *http.Request) {
	c, err := g.chainOf(r)
	if err != nil {
		writeRequestError(w, r, err)
		return
	}
	f, err := parseEvFilter(r.URL.Query())
	if err != nil {
		writeRequestError(w, r, err)
		return
	}
	after, explicit, err := evStart(r)
	if err != nil {
		writeRequestError(w, r, err)
		return
	}
	o := g.obs
	select {
	case o.streams <- struct{}{}:
		defer func() { <-o.streams }()
	default:
		writeRequestError(w, r, errorf(errcode.Unavailable, "the gateway serves %d event streams already; retry later", cap(o.streams)))
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(g.life, cancel)
	defer stop()
	if done := o.serverShutdown(r); done != nil {
		stop := context.AfterFunc(done, cancel)
		defer stop()
	}

	var latest, earliest int64
	err = c.do(ctx, func(ctx context.Context, n *rpcNode) error {
		st, err := n.status(ctx)
		if err != nil {
			return err
		}
		if st.SyncInfo.CatchingUp {
			return fmt.Errorf("node %s is catching up", n.url)
		}
		latest, earliest = st.SyncInfo.LatestBlockHeight, st.SyncInfo.EarliestBlockHeight
		return nil
	})
	if err != nil {
		writeRequestError(w, r, nodeError(err, ""))
		return
	}
	if !explicit {
		after = api.EventPos{Height: latest, Section: api.SectionBlockEnd}
	}
	if after.Height > latest+eventMaxAhead {
		writeRequestError(w, r, errorf(errcode.InvalidRequest, "the stream would start at height %d, but the chain is at %d", after.NextHeight(), latest))
		return
	}
	if earliest > 1 && after.NextHeight() < earliest {
		writeRequestError(w, r, errorf(errcode.NotFound, "height %d is no longer kept by the chain's nodes (the earliest is %d)", after.NextHeight(), earliest))
		return
	}
	hub := o.chains[c.id]
	hub.observeTip(latest)
	hub.watch()
	defer hub.unwatch()
	o.metrics.streams.WithLabelValues(c.id).Inc()
	defer o.metrics.streams.WithLabelValues(c.id).Dec()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return // the answer is the header: a HEAD answer never ends otherwise
	}
	sw := &sseWriter{w: w, rc: http.NewResponseController(w)}
	defer func() { _ = sw.rc.SetWriteDeadline(time.Time{}) }() // the connection may serve more requests
	sw.comment("lian events of " + c.id)
	fmt.Fprintf(&sw.buf, "retry: %d\n", sseRetry)
	sw.idOnly(after.String())
	if sw.flush() != nil {
		return
	}
	o.runStream(ctx, hub, sw, f, after)
}

// serverShutdown returns a context that ends when the http.Server serving r starts
// shutting down (nil outside an http.Server): http.Server.Shutdown waits for active
// connections, which a stream never leaves on its own.
func (o *observer) serverShutdown(r *http.Request) context.Context {
	srv, _ := r.Context().Value(http.ServerContextKey).(*http.Server)
	if srv == nil {
		return nil
	}
	o.shutMu.Lock()
	defer o.shutMu.Unlock()
	ctx, ok := o.shutdowns[srv]
	if !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(context.Background())
		srv.RegisterOnShutdown(cancel)
		o.shutdowns[srv] = ctx
	}
	return ctx
}

// runStream writes the messages after `after` until ctx ends or the client is gone.
func (o *observer) runStream(ctx context.Context, hub *obsChain, sw *sseWriter, f *evFilter, after api.EventPos) {
	next := max(after.NextHeight(), 1)
	progress := after.String() // the ID of the last block gone through
	var retry time.Duration
	timer := time.NewTimer(o.heartbeat)
	defer timer.Stop()
	for {
		tip, wake := hub.tipNow()
		wait := time.Duration(-1) // before asking for block next again; -1: until the tip grows
		if next <= tip {
			b, err := hub.block(ctx, next)
			if err == nil {
				if sw.block(b, f, after) != nil {
					return
				}
				after = api.EventPos{Height: next, Section: api.SectionBlockEnd}
				progress = after.String()
				next++
				retry = 0
				// A long catch-up that passes the filter nothing still sends heartbeats.
				if time.Since(sw.last) >= o.heartbeat && sw.heartbeat(progress) != nil {
					return
				}
				continue
			}
			if ctx.Err() != nil {
				return
			}
			if e := evPermanent(err, next); e != nil {
				sw.fail(e)
				return
			}
			retry = min(max(2*retry, eventRetryMin), eventRetryMax)
			wait, wake = retry, nil
		}
		d := max(time.Until(sw.last.Add(o.heartbeat)), 0)
		if wait >= 0 && wait < d {
			d = wait
		}
		timer.Reset(d)
		select {
		case <-ctx.Done():
			return
		case <-wake:
			continue
		case <-timer.C:
		}
		if time.Since(sw.last) >= o.heartbeat && sw.heartbeat(progress) != nil {
			return
		}
	}
}

// evPermanent returns the error to end a stream with when reading block height failed
// for good, or nil when the failure may pass (no node answered, the node is behind or
// has not finished the block).
func evPermanent(err error, height int64) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		if ae.code == errcode.Unavailable {
			return nil
		}
		return ae
	}
	switch {
	case rpcErrorContains(err, "is not available, lowest height"):
		return errorf(errcode.NotFound, "block %d is no longer kept by the chain's nodes: %s", height, rpcErrorText(err))
	case rpcErrorContains(err, "must be less than or equal to"),
		rpcErrorContains(err, "could not find results for height"),
		rpcErrorContains(err, "catching up"),
		rpcError(err) == nil:
		return nil
	case rpcErrorContains(err, "not persisting"):
		return errorf(errcode.Unavailable, "the chain's nodes do not keep block results (storage.discard_abci_responses): %s", rpcErrorText(err))
	}
	return nodeError(err, "")
}

// sseWriter buffers and writes the messages of one stream.
type sseWriter struct {
	w      http.ResponseWriter
	rc     *http.ResponseController
	buf    bytes.Buffer
	last   time.Time // of the last write
	lastID string    // the last id: written
}

func (s *sseWriter) message(id, kind string, data []byte) {
	s.buf.WriteString("id: ")
	s.buf.WriteString(id)
	s.buf.WriteString("\nevent: ")
	s.buf.WriteString(kind)
	s.buf.WriteString("\ndata: ")
	s.buf.Write(data)
	s.buf.WriteString("\n\n")
	s.lastID = id
}

// idOnly writes a message with an ID and no data: EventSource clients take the ID as
// their Last-Event-ID without dispatching an event.
func (s *sseWriter) idOnly(id string) {
	s.buf.WriteString("id: ")
	s.buf.WriteString(id)
	s.buf.WriteString("\n\n")
	s.lastID = id
}

func (s *sseWriter) comment(text string) {
	s.buf.WriteString(": ")
	s.buf.WriteString(text)
	s.buf.WriteString("\n\n")
}

// flush writes the buffered messages, within eventWriteTimeout.
func (s *sseWriter) flush() error {
	if s.buf.Len() == 0 {
		return nil
	}
	_ = s.rc.SetWriteDeadline(time.Now().Add(eventWriteTimeout))
	_, err := s.w.Write(s.buf.Bytes())
	s.buf.Reset()
	if err == nil {
		err = s.rc.Flush()
	}
	s.last = time.Now()
	return err
}

// block writes the messages of b that follow after and pass f.
func (s *sseWriter) block(b *obsBlock, f *evFilter, after api.EventPos) error {
	ms := b.messages()
	for i := range ms.events {
		m := &ms.events[i]
		if !after.Before(m.pos) || !f.match(b, m) {
			continue
		}
		s.message(m.id, m.kind, m.data)
		if s.buf.Len() >= eventFlushBytes {
			if err := s.flush(); err != nil {
				return err
			}
		}
	}
	if f.blocks && after.Before(ms.end.pos) {
		s.message(ms.end.id, ms.end.kind, ms.end.data)
	}
	return s.flush()
}

// heartbeat keeps the connection open: the ID of the last block gone through if the
// client has not seen it yet, else a comment.
func (s *sseWriter) heartbeat(progress string) error {
	if progress != s.lastID {
		s.idOnly(progress)
	} else {
		s.comment("keep-alive")
	}
	return s.flush()
}

// fail ends the stream with an error message.
func (s *sseWriter) fail(e *apiError) {
	data, _ := json.Marshal(api.Error{Code: e.code.String(), Message: e.msg})
	s.buf.WriteString("event: " + api.StreamKindError + "\ndata: ")
	s.buf.Write(data)
	s.buf.WriteString("\n\n")
	_ = s.flush()
}
