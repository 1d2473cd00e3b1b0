package api

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Kinds of the messages of the event stream GET /v1/chains/{chain}/events. The kind is
// the SSE "event:" field of the message and the "kind" of its StreamEvent.
const (
	// StreamKindTx is an event a transaction emitted.
	StreamKindTx = "tx"
	// StreamKindBlockEvent is an event of the block itself (the modules' end of block,
	// e.g. a governance proposal decided at its deadline).
	StreamKindBlockEvent = "block_event"
	// StreamKindBlock closes a height: every event of the block came before it.
	StreamKindBlock = "block"
	// StreamKindError is the last message of a stream that cannot go on; its data is an
	// Error.
	StreamKindError = "error"
)

// StreamEvent is one message of the event stream. Its ID totally orders the stream:
//
//	H:T:E    the event E (0-based position in the transaction's events) of transaction T
//	         (0-based position in the block) of block H
//	H:end:E  the block event E of block H, after every transaction event of H
//	H        the end of block H, after every event of H
//
// Within a height, transaction events come by (T, E), then block events by E, then the
// end of the block. Positions are those of the chain's results, not of the filtered
// stream, so an ID stays valid under any filter: a stream resumed after an ID (the SSE
// Last-Event-ID) starts with the first message that follows it.
type StreamEvent struct {
	ID     string    `json:"id"`
	Kind   string    `json:"kind"` // StreamKindTx, StreamKindBlockEvent or StreamKindBlock
	Height int64     `json:"height"`
	Time   time.Time `json:"time"` // the block's time
	// Tx is the transaction of a StreamKindTx event.
	Tx *StreamTx `json:"tx,omitempty"`
	// Event is the event of StreamKindTx and StreamKindBlockEvent messages.
	Event *ChainEvent `json:"event,omitempty"`
	// Block describes the block a StreamKindBlock message closes.
	Block *StreamBlock `json:"block,omitempty"`
}

// StreamTx identifies the transaction of a streamed event.
type StreamTx struct {
	Index    uint32 `json:"index"` // position in the block
	Hash     string `json:"hash"`
	Code     uint32 `json:"code"`                // 0: success
	CodeName string `json:"code_name,omitempty"` // stable name of a non-zero code
}

// ChainEvent is an event with its position and module.
type ChainEvent struct {
	Index int `json:"index"` // position among the transaction's (or the block's) events
	// Module is the module the event belongs to: "evidence" for lian.evidence.anchored,
	// the "module" attribute of a lian.message event; empty for lian.tx.
	Module     string      `json:"module,omitempty"`
	Type       string      `json:"type"`
	Attributes []Attribute `json:"attributes"`
}

// StreamBlock describes a block in the event stream.
type StreamBlock struct {
	Hash   string `json:"hash"`
	NumTxs int    `json:"num_txs"`
}

// Sections of a height in the event stream, in stream order.
const (
	SectionTx         = 0 // transaction events (IDs H:T:E)
	SectionBlockEvent = 1 // block events (H:end:E)
	SectionBlockEnd   = 2 // the end of the block (H)
)

// EventPos is the position an event ID names (see StreamEvent).
type EventPos struct {
	Height  int64
	Section int    // SectionTx, SectionBlockEvent or SectionBlockEnd
	Tx      uint32 // the transaction's position in the block (SectionTx)
	Event   int    // the event's position in its transaction or block
}

// String returns the event ID of the position.
func (p EventPos) String() string {
	h := strconv.FormatInt(p.Height, 10)
	switch p.Section {
	case SectionTx:
		return h + ":" + strconv.FormatUint(uint64(p.Tx), 10) + ":" + strconv.Itoa(p.Event)
	case SectionBlockEvent:
		return h + ":end:" + strconv.Itoa(p.Event)
	}
	return h
}

// Before reports whether p comes before q in the stream.
func (p EventPos) Before(q EventPos) bool {
	switch {
	case p.Height != q.Height:
		return p.Height < q.Height
	case p.Section != q.Section:
		return p.Section < q.Section
	case p.Tx != q.Tx:
		return p.Tx < q.Tx
	}
	return p.Event < q.Event
}

// NextHeight is the first height a stream resumed after p reads (at most MaxInt64: an
// ID past any real height must not wrap to a negative one).
func (p EventPos) NextHeight() int64 {
	if p.Section == SectionBlockEnd && p.Height < math.MaxInt64 {
		return p.Height + 1
	}
	return p.Height
}

// ParseEventID parses an event ID: H, H:T:E or H:end:E, decimal without sign or leading
// zeros. "0" names the position before block 1.
func ParseEventID(s string) (EventPos, error) {
	bad := fmt.Errorf("event id %q: expected H, H:T:E or H:end:E (decimal height, transaction and event positions)", clip(s, 60))
	num := func(s string, bits int) (uint64, bool) {
		if s == "" || len(s) > 19 || (len(s) > 1 && s[0] == '0') {
			return 0, false
		}
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return 0, false
			}
		}
		v, err := strconv.ParseUint(s, 10, bits)
		return v, err == nil
	}
	parts := strings.Split(s, ":")
	h, ok := num(parts[0], 63)
	if !ok {
		return EventPos{}, bad
	}
	switch len(parts) {
	case 1:
		return EventPos{Height: int64(h), Section: SectionBlockEnd}, nil
	case 3:
		e, ok := num(parts[2], 31)
		if !ok || h == 0 {
			return EventPos{}, bad
		}
		if parts[1] == "end" {
			return EventPos{Height: int64(h), Section: SectionBlockEvent, Event: int(e)}, nil
		}
		t, ok := num(parts[1], 32)
		if !ok {
			return EventPos{}, bad
		}
		return EventPos{Height: int64(h), Section: SectionTx, Tx: uint32(t), Event: int(e)}, nil
	}
	return EventPos{}, bad
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
