package gateway

import (
	"sync"
	"time"
)

// maxCachedTimes bounds a chain's block-time cache; when full it starts over.
const maxCachedTimes = 1 << 16

// timeCache remembers committed blocks' times by height. A committed header never
// changes and is the same on every node of the chain, so the cache is shared by the
// chain's nodes and needs no invalidation. It saves the header call of most tx lookups
// and history pages, which cluster on recent heights.
type timeCache struct {
	mu sync.Mutex
	m  map[int64]time.Time
}

func newTimeCache() *timeCache { return &timeCache{m: make(map[int64]time.Time)} }

func (c *timeCache) get(height int64) (time.Time, bool) {
	if c == nil {
		return time.Time{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.m[height]
	return t, ok
}

func (c *timeCache) put(height int64, t time.Time) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxCachedTimes {
		clear(c.m)
	}
	c.m[height] = t
}
