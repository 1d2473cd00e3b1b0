package client

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/errcode"
)

// Event subscriptions (GET /v1/chains/{chain}/events, Server-Sent Events).
const (
	// EventStallTimeout is how long a subscription waits for anything (the gateway sends a
	// heartbeat every 15 s) before it drops the connection and reconnects.
	EventStallTimeout = 45 * time.Second
	// MaxEventBytes bounds one line of the event stream.
	MaxEventBytes = 8 << 20
	// eventRetryMin and eventRetryMax bound the wait before a reconnection.
	eventRetryMin = 250 * time.Millisecond
	eventRetryMax = 10 * time.Second
)

// eventStallTimeout is EventStallTimeout (tests shorten it).
var eventStallTimeout = EventStallTimeout

// EventFilter selects the events of a subscription. Its zero value asks for every event
// and the end of every block, from the next block on.
type EventFilter struct {
	// Modules keeps the events of these modules ("evidence", "identity", "credits",
	// "gov"): their own events and their messages' lian.message events.
	Modules []string
	// Types keeps the events of these types ("lian.evidence.anchored", "lian.tx", ...).
	Types []string
	// Account keeps every event of the transactions the account (0x… or org:<id>) sent or
	// paid for, and every event with an attribute equal to it.
	Account string
	// FromHeight starts the subscription at this block, when no fromID is given; 0 starts
	// at the block after the latest.
	FromHeight int64
	// NoBlocks leaves out the messages that close each block (api.StreamKindBlock).
	NoBlocks bool
}

// Subscription is a subscription to a chain's events: Events delivers them in chain
// order, each once, across the reconnections the subscription makes by itself (with the
// SSE Last-Event-ID) when the connection drops, stalls or the gateway is unavailable.
type Subscription struct {
	hc     *http.Client
	url    string
	events chan api.StreamEvent
	cancel context.CancelFunc
	done   chan struct{}

	mu         sync.Mutex
	last       api.EventPos
	lastID     string // "": no position yet
	err        error
	closed     bool
	reconnects int
}

// Subscribe subscribes to the events of chain that pass filter, after the event ID
// fromID (the ID of the last event a previous subscription delivered; "" to start at
// filter.FromHeight). It connects once before returning: an unknown chain or a bad filter
// is an *Error here. Then it reconnects by itself, resuming after the last event
// delivered, until ctx ends, Close is called or the gateway answers an error that a retry
// cannot fix (Err tells which).
func (c *Client) Subscribe(ctx context.Context, chain string, filter EventFilter, fromID string) (*Subscription, error) {
	p, err := chainPath(chain, "events")
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if len(filter.Modules) > 0 {
		q.Set("module", strings.Join(filter.Modules, ","))
	}
	if len(filter.Types) > 0 {
		q.Set("type", strings.Join(filter.Types, ","))
	}
	if filter.Account != "" {
		q.Set("account", filter.Account)
	}
	if filter.NoBlocks {
		q.Set("blocks", "false")
	}
	switch {
	case filter.FromHeight < 0:
		return nil, errcode.New(errcode.InvalidRequest, "subscribe: FromHeight %d: expected 0 or a positive height", filter.FromHeight)
	case filter.FromHeight > 0:
		q.Set("from_height", strconv.FormatInt(filter.FromHeight, 10))
	}
	u := c.base + p
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	// The client's timeout bounds whole responses; a stream is bounded by its stall timer.
	hc := *c.hc
	hc.Timeout = 0
	s := &Subscription{hc: &hc, url: u, events: make(chan api.StreamEvent, 16), done: make(chan struct{})}
	if fromID != "" {
		pos, err := api.ParseEventID(fromID)
		if err != nil {
			return nil, errcode.New(errcode.InvalidRequest, "subscribe: %v", err)
		}
		s.last, s.lastID = pos, pos.String()
	}
	ctx, s.cancel = context.WithCancel(ctx)
	cn, err := s.connect(ctx)
	if err != nil {
		s.cancel()
		return nil, err
	}
	go s.run(ctx, cn)
	return s, nil
}

// Events returns the channel of events. It is closed when the subscription ends; Err
// then says why.
func (s *Subscription) Events() <-chan api.StreamEvent { return s.events }

// Err returns why the subscription ended: nil after Close, the context's error when it
// ended, else the *Error the gateway answered. It is nil while the subscription runs.
func (s *Subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// LastID returns the ID of the last position the subscription went through: the last
// event delivered, or a later block the gateway reported as gone through. A new
// subscription given it as fromID continues where this one stopped.
func (s *Subscription) LastID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastID
}

// Reconnects returns how many times the subscription reconnected.
func (s *Subscription) Reconnects() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reconnects
}

// Close ends the subscription and waits until its channel is closed.
func (s *Subscription) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	<-s.done
}

// follows reports whether pos comes after the last position.
func (s *Subscription) follows(pos api.EventPos) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastID == "" || s.last.Before(pos)
}

// advance records that the stream went through pos. It reports false for a position
// not after the last one (a repeated message, which is dropped).
func (s *Subscription) advance(pos api.EventPos) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastID != "" && !s.last.Before(pos) {
		return false
	}
	s.last, s.lastID = pos, pos.String()
	return true
}

// sseConn is one connection of a subscription.
type sseConn struct {
	body   io.ReadCloser
	stall  *time.Timer // cancels the connection when it brings nothing
	cancel context.CancelFunc
}

func (cn *sseConn) close() {
	cn.stall.Stop()
	cn.cancel()
	cn.body.Close()
}

// connect opens a connection that resumes after the last position.
func (s *Subscription) connect(ctx context.Context) (*sseConn, error) {
	ctx, cancel := context.WithCancel(ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		cancel()
		return nil, errcode.New(errcode.InvalidRequest, "subscribe: %v", err)
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-store")
	if id := s.LastID(); id != "" {
		req.Header.Set("Last-Event-ID", id)
	}
	stall := time.AfterFunc(eventStallTimeout, cancel)
	resp, err := s.hc.Do(req)
	if err != nil {
		stall.Stop()
		cancel()
		return nil, fmt.Errorf("subscribe %s: %w", s.url, err)
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		stall.Stop()
		cancel()
		return nil, errorFromResponse(resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		resp.Body.Close()
		stall.Stop()
		cancel()
		return nil, &Error{Status: http.StatusBadGateway, Code: errcode.Unavailable.String(),
			Message: fmt.Sprintf("subscribe %s: the answer is %q, not an event stream", s.url, ct)}
	}
	return &sseConn{body: resp.Body, stall: stall, cancel: cancel}, nil
}

// run reads connection after connection until the subscription ends.
func (s *Subscription) run(ctx context.Context, cn *sseConn) {
	defer close(s.done)
	defer close(s.events)
	var retry time.Duration
	for {
		delivered, err := s.read(ctx, cn)
		cn.close()
		if delivered {
			retry = 0
		}
		for {
			if ctx.Err() != nil {
				s.end(ctx.Err())
				return
			}
			if !retryable(err) {
				s.end(err)
				return
			}
			retry = min(max(2*retry, eventRetryMin), eventRetryMax)
			wait := retry/2 + rand.N(retry/2+1) // jitter: clients do not come back all at once
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				s.end(ctx.Err())
				return
			case <-t.C:
			}
			s.mu.Lock()
			s.reconnects++
			s.mu.Unlock()
			if cn, err = s.connect(ctx); err == nil {
				break
			}
		}
	}
}

// end records why the subscription ended.
func (s *Subscription) end(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		err = nil
	}
	s.err = err
}

// retryable reports whether a subscription reconnects after err.
func retryable(err error) bool {
	e, ok := AsError(err)
	if !ok {
		return true // transport: dropped, refused, stalled
	}
	switch e.Status {
	case http.StatusOK: // an error message in the stream
		switch e.Code {
		case errcode.Unavailable.String(), errcode.Internal.String(), errcode.Timeout.String():
			return true
		}
		return false
	case http.StatusRequestTimeout, http.StatusTooManyRequests:
		return true
	}
	return e.Status >= 500
}

// read dispatches the messages of one connection until it ends. It reports whether it
// delivered anything, and returns the error of an error message, or why the connection
// ended.
func (s *Subscription) read(ctx context.Context, cn *sseConn) (delivered bool, err error) {
	sc := bufio.NewScanner(cn.body)
	sc.Buffer(make([]byte, 0, 64<<10), MaxEventBytes)
	var (
		id, kind string
		data     strings.Builder
		hasID    bool
		hasData  bool
	)
	for sc.Scan() {
		cn.stall.Reset(eventStallTimeout)
		line := sc.Text()
		if line != "" {
			if line[0] == ':' {
				continue // comment: a heartbeat
			}
			field, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch field {
			case "id":
				if !strings.ContainsRune(value, 0) {
					id, hasID = value, true
				}
			case "event":
				kind = value
			case "data":
				if hasData {
					data.WriteByte('\n')
				}
				data.WriteString(value)
				hasData = true
			}
			continue
		}
		// A blank line dispatches the message.
		msgID, msgKind, msgData, msgHasID, msgHasData := id, kind, data.String(), hasID, hasData
		id, kind, hasID, hasData = "", "", false, false
		data.Reset()
		if msgKind == api.StreamKindError {
			var ae api.Error
			if json.Unmarshal([]byte(msgData), &ae) != nil || ae.Code == "" {
				ae = api.Error{Code: errcode.Internal.String(), Message: "malformed error message in the event stream: " + snippet([]byte(msgData))}
			}
			return delivered, &Error{Status: http.StatusOK, Code: ae.Code, Message: ae.Message}
		}
		if !msgHasData {
			// An ID alone: the gateway went through that position (a block that had
			// nothing for this filter, or where the stream starts).
			if msgHasID {
				if pos, err := api.ParseEventID(msgID); err == nil {
					s.advance(pos)
				}
			}
			continue
		}
		var ev api.StreamEvent
		if err := json.Unmarshal([]byte(msgData), &ev); err != nil {
			return delivered, &Error{Status: http.StatusOK, Code: errcode.Internal.String(),
				Message: fmt.Sprintf("malformed event %q in the stream: %v", msgID, err)}
		}
		if ev.ID == "" {
			ev.ID = msgID
		}
		pos, err := api.ParseEventID(ev.ID)
		if err != nil {
			return delivered, &Error{Status: http.StatusOK, Code: errcode.Internal.String(), Message: "event stream: " + err.Error()}
		}
		if !s.follows(pos) {
			continue // delivered already
		}
		select {
		case s.events <- ev:
		case <-ctx.Done():
			return delivered, ctx.Err()
		}
		s.advance(pos)
		delivered = true
	}
	if err := sc.Err(); err != nil {
		return delivered, err
	}
	return delivered, io.ErrUnexpectedEOF // the gateway never ends a stream on its own
}
