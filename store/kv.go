package store

import (
	"bytes"
	"maps"
	"sort"
)

// Reader reads keys in sorted order.
type Reader interface {
	// Get returns the value of key, or nil if it is absent.
	Get(key []byte) []byte
	// Has reports whether key is present.
	Has(key []byte) bool
	// Iterate calls fn for each key in [start, end) in ascending order until fn returns
	// false. A nil end means no upper bound.
	Iterate(start, end []byte, fn func(key, value []byte) bool)
}

// KV reads and writes keys.
type KV interface {
	Reader
	// Set writes value (non-nil) at key.
	Set(key, value []byte)
	// Delete removes key.
	Delete(key []byte)
}

// Branch is a write buffer over a parent KV: reads see the branch's own writes, and Write
// applies them to the parent in sorted key order. A Branch is not safe for concurrent use.
type Branch struct {
	parent KV
	writes map[string][]byte // nil value: deleted
}

// NewBranch returns an empty branch over parent.
func NewBranch(parent KV) *Branch {
	return &Branch{parent: parent, writes: make(map[string][]byte)}
}

// Get implements Reader.
func (b *Branch) Get(key []byte) []byte {
	if v, ok := b.writes[string(key)]; ok {
		return v
	}
	return b.parent.Get(key)
}

// Has implements Reader.
func (b *Branch) Has(key []byte) bool {
	if v, ok := b.writes[string(key)]; ok {
		return v != nil
	}
	return b.parent.Has(key)
}

// Set implements KV.
func (b *Branch) Set(key, value []byte) {
	if value == nil {
		value = []byte{}
	}
	b.writes[string(key)] = bytes.Clone(value)
}

// Delete implements KV.
func (b *Branch) Delete(key []byte) { b.writes[string(key)] = nil }

// Iterate implements Reader by merging the parent's keys with the branch's writes.
func (b *Branch) Iterate(start, end []byte, fn func(key, value []byte) bool) {
	own := b.sortedKeys(start, end)
	i := 0
	stopped := false
	emitOwn := func(upTo []byte) bool { // emit own keys < upTo (all if upTo nil); false if fn stopped
		for i < len(own) && (upTo == nil || own[i] < string(upTo)) {
			k := own[i]
			i++
			if v := b.writes[k]; v != nil && !fn([]byte(k), v) {
				return false
			}
		}
		return true
	}
	b.parent.Iterate(start, end, func(k, v []byte) bool {
		if !emitOwn(k) {
			stopped = true
			return false
		}
		if i < len(own) && own[i] == string(k) {
			i++
			if w := b.writes[string(k)]; w != nil {
				if !fn(k, w) {
					stopped = true
					return false
				}
			}
			return true
		}
		if !fn(k, v) {
			stopped = true
			return false
		}
		return true
	})
	if !stopped {
		emitOwn(nil)
	}
}

func (b *Branch) sortedKeys(start, end []byte) []string {
	keys := make([]string, 0, len(b.writes))
	for k := range b.writes {
		if (start == nil || k >= string(start)) && (end == nil || k < string(end)) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// Write applies the branch's writes to the parent in sorted key order and empties the branch.
// A parent that is itself a Branch takes the buffered values over as they are: they are
// the branch's own copies, and the branch forgets them.
func (b *Branch) Write() {
	if p, ok := b.parent.(*Branch); ok {
		maps.Copy(p.writes, b.writes) // one map into another: no order to depend on
		clear(b.writes)
		return
	}
	for _, k := range b.sortedKeys(nil, nil) {
		if v := b.writes[k]; v == nil {
			b.parent.Delete([]byte(k))
		} else {
			b.parent.Set([]byte(k), v)
		}
	}
	clear(b.writes)
}

// Discard drops the branch's writes.
func (b *Branch) Discard() { clear(b.writes) }

// Len returns the number of keys written or deleted in the branch.
func (b *Branch) Len() int { return len(b.writes) }

// Prefixed returns a view of kv restricted to keys under prefix; keys passed to and
// returned from the view are relative to prefix. The view keeps prefix, not a copy:
// it must not change while the view is used (module prefixes are constants).
func Prefixed(kv KV, prefix []byte) KV { return prefixed{kv: kv, prefix: prefix} }

type prefixed struct {
	kv     KV
	prefix []byte
}

func (p prefixed) key(k []byte) []byte {
	out := make([]byte, 0, len(p.prefix)+len(k))
	return append(append(out, p.prefix...), k...)
}

func (p prefixed) Get(k []byte) []byte { return p.kv.Get(p.key(k)) }
func (p prefixed) Has(k []byte) bool   { return p.kv.Has(p.key(k)) }
func (p prefixed) Set(k, v []byte)     { p.kv.Set(p.key(k), v) }
func (p prefixed) Delete(k []byte)     { p.kv.Delete(p.key(k)) }
func (p prefixed) Iterate(start, end []byte, fn func(k, v []byte) bool) {
	s := p.key(start)
	var e []byte
	if end != nil {
		e = p.key(end)
	} else {
		e = PrefixEnd(p.prefix)
	}
	n := len(p.prefix)
	p.kv.Iterate(s, e, func(k, v []byte) bool { return fn(k[n:], v) })
}

// PrefixEnd returns the smallest key greater than every key with the prefix, or nil if
// there is none (the prefix is all 0xff).
func PrefixEnd(prefix []byte) []byte {
	end := bytes.Clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}
