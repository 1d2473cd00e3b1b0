package store

import "sync"

// absentCap bounds the keys an absentCache remembers; when full it starts
// over.
const absentCap = 1 << 17

// absentCache remembers keys found absent in the last saved version, so that
// repeated lookups of a missing key (an evidence digest is looked up in
// CheckTx, in every recheck and again in FinalizeBlock) stop reaching the
// database. It is only a cache: every read returns what the tree would.
//
// A key written in the working tree since the last save is "dirty": the
// cache does not answer for it on the working tree until the next save, when
// it is forgotten (it may now be present).
type absentCache struct {
	mu    sync.Mutex
	keys  map[string]struct{}
	dirty map[string]struct{}
}

func newAbsentCache() *absentCache {
	return &absentCache{keys: make(map[string]struct{}), dirty: make(map[string]struct{})}
}

// committed reports whether key is known absent in the last saved version.
func (c *absentCache) committed(key []byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.keys[string(key)]
	return ok
}

// working reports whether key is known absent in the working tree.
func (c *absentCache) working(key []byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.dirty[string(key)]; ok {
		return false
	}
	_, ok := c.keys[string(key)]
	return ok
}

// addCommitted records key as absent in the last saved version.
func (c *absentCache) addCommitted(key []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.add(key)
}

// addWorking records key, found absent in the working tree, as absent in the
// last saved version too, unless the working tree wrote it since.
func (c *absentCache) addWorking(key []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.dirty[string(key)]; !ok {
		c.add(key)
	}
}

func (c *absentCache) add(key []byte) {
	if len(c.keys) >= absentCap {
		clear(c.keys)
	}
	c.keys[string(key)] = struct{}{}
}

// write marks key as written in the working tree.
func (c *absentCache) write(key []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dirty[string(key)] = struct{}{}
}

// saved moves the cache to the version just saved: keys written in it are
// forgotten.
func (c *absentCache) saved() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.dirty {
		delete(c.keys, k)
	}
	clear(c.dirty)
}

// rolledBack drops the working tree's writes: the saved version is unchanged.
func (c *absentCache) rolledBack() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.dirty)
}
