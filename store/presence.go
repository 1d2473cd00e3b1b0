package store

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/bits-and-blooms/bloom/v3"
)

// A presence filter answers "certainly absent" for most keys that are not in the
// tree, without a database read. It is meant for a prefix whose keys are mostly
// looked up before they exist: an evidence digest is looked up in CheckTx on every
// node before it is anchored, and that first lookup otherwise searches goleveldb's
// memtable and files (about 3% of a validator's CPU under load).
//
// It is a set of Bloom filters holding every key under the prefix that the store
// has held since it was opened: the keys of the last saved version (read when the
// prefix is tracked) and every key written since. It may say "maybe" for a key that
// is absent (a false positive, or a key deleted or rolled back); the store then reads
// the tree. It never says "absent" for a key the working tree or the last saved
// version holds, so answers never depend on it.
type presence struct {
	mu      sync.RWMutex
	prefix  []byte
	filters []*bloom.BloomFilter // the last one takes new keys
	room    uint                 // keys the last filter takes before a new one is added
}

const (
	// presenceFirst is the capacity of the first filter; each next one doubles.
	presenceFirst = 1 << 16
	// presenceFP is each filter's false-positive rate at capacity.
	presenceFP = 0.01
)

func newPresence(prefix []byte) *presence {
	return &presence{prefix: bytes.Clone(prefix)}
}

func (p *presence) covers(key []byte) bool { return bytes.HasPrefix(key, p.prefix) }

// mayHave reports whether key may be present; false means it is certainly absent.
func (p *presence) mayHave(key []byte) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	for _, f := range p.filters {
		if f.Test(key) {
			return true
		}
	}
	return false
}

// add records key as possibly present.
func (p *presence) add(key []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.room == 0 {
		n := uint(presenceFirst) << len(p.filters)
		p.filters = append(p.filters, bloom.NewWithEstimates(n, presenceFP))
		p.room = n
	}
	p.filters[len(p.filters)-1].Add(key)
	p.room--
}

// TrackPrefix makes the store keep a presence filter of the keys under prefix, so
// that reads of absent keys under it (on the working tree and on the last saved
// version) mostly end without a database read. It reads every key under the prefix in
// the last saved version, and must be called before the working tree is written
// (right after Open). Prefixes must not overlap.
func (s *Store) TrackPrefix(prefix []byte) error {
	if len(prefix) == 0 {
		return fmt.Errorf("store: track prefix: empty prefix")
	}
	if s.dirty {
		return fmt.Errorf("store: track prefix %x: the working tree has unsaved writes", prefix)
	}
	for _, q := range s.tracked {
		if bytes.HasPrefix(prefix, q.prefix) || bytes.HasPrefix(q.prefix, prefix) {
			return fmt.Errorf("store: track prefix %x: overlaps %x", prefix, q.prefix)
		}
	}
	p := newPresence(prefix)
	immutable{s.committed}.Iterate(prefix, PrefixEnd(prefix), func(key, _ []byte) bool {
		p.add(key)
		return true
	})
	s.tracked = append(s.tracked, p)
	return nil
}

// absentByFilter reports whether a tracked prefix's filter says key is certainly
// absent.
func (s *Store) absentByFilter(key []byte) bool {
	for _, p := range s.tracked {
		if p.covers(key) {
			return !p.mayHave(key)
		}
	}
	return false
}

// noteWrite records a written key in its prefix's filter.
func (s *Store) noteWrite(key []byte) {
	for _, p := range s.tracked {
		if p.covers(key) {
			p.add(key)
			return
		}
	}
}
