package identity

import "sync"

// recordCache remembers decoded records by their encoded bytes. A record is decoded on
// every transaction (its sender's account and organisation), several times per
// transaction per node (CheckTx, recheck, FinalizeBlock); keyed by content, a cached
// value is always the decoding of the bytes just read, so no invalidation is needed.
// Decoded records handed out from it are shared: callers must not modify them.
type recordCache[T any] struct {
	mu  sync.Mutex
	max int
	m   map[string]*T
}

func newRecordCache[T any](max int) *recordCache[T] {
	return &recordCache[T]{max: max, m: make(map[string]*T)}
}

func (c *recordCache[T]) get(b []byte, decode func([]byte) (*T, error)) (*T, error) {
	c.mu.Lock()
	v, ok := c.m[string(b)]
	c.mu.Unlock()
	if ok {
		return v, nil
	}
	v, err := decode(b)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[string(b)] = v
	c.mu.Unlock()
	return v, nil
}

var (
	accountCache = newRecordCache[Account](100_000)
	orgCache     = newRecordCache[Org](1_000)
)
