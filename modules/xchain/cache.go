package xchain

import (
	"crypto/sha256"
	"encoding/binary"
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

// proofCache remembers the proofs a node verified, by proofID. It belongs to one app
// (one node): each node verifies every proof at least once.
type proofCache struct {
	mu sync.Mutex
	m  map[[32]byte]struct{}
}

// maxCachedProofs bounds a proofCache; it is cleared when full.
const maxCachedProofs = 100_000

func (c *proofCache) has(id [32]byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.m[id]
	return ok
}

func (c *proofCache) add(id [32]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedProofs {
		c.m = make(map[[32]byte]struct{})
	}
	c.m[id] = struct{}{}
}

// proofID hashes what a verification depends on: the kind (membership or not), the
// root, the proof, the key and the value, each length-prefixed.
func proofID(kind byte, parts ...[]byte) [32]byte {
	h := sha256.New()
	h.Write([]byte{kind})
	for _, p := range parts {
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(p))))
		h.Write(p)
	}
	var id [32]byte
	h.Sum(id[:0])
	return id
}
