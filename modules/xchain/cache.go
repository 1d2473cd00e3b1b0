package xchain

import (
	"encoding/json"
	"sync"
)

// recordCache keeps the decoded form of stored records by their exact bytes. A relay
// transaction reads the same client, consensus state and route for each of its packets,
// and JSON decoding was a fifth of a relaying chain's CPU. Keyed by the bytes, the cache
// cannot be stale, and it serves every app of a process (lian up runs many). Callers get
// a copy they may change.
type recordCache[T any] struct {
	mu sync.Mutex
	m  map[string]*T
}

// maxCachedRecords bounds each cache; it is cleared when full.
const maxCachedRecords = 4096

func (c *recordCache[T]) decode(b []byte) (*T, error) {
	c.mu.Lock()
	v, ok := c.m[string(b)]
	c.mu.Unlock()
	if ok {
		cp := *v
		return &cp, nil
	}
	v = new(T)
	if err := json.Unmarshal(b, v); err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedRecords {
		c.m = make(map[string]*T)
	}
	c.m[string(b)] = v
	c.mu.Unlock()
	cp := *v
	return &cp, nil
}

var (
	clientCache    recordCache[ClientState]
	consensusCache recordCache[ConsensusState]
	routeCache     recordCache[Route]
)
