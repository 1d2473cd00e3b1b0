package store

import (
	"errors"
	"fmt"
	"syscall"

	dbm "github.com/cosmos/cosmos-db"
	"github.com/cosmos/iavl"
	idb "github.com/cosmos/iavl/db"
	ics23 "github.com/cosmos/ics23/go"
	"github.com/syndtr/goleveldb/leveldb/filter"
	"github.com/syndtr/goleveldb/leveldb/opt"
)

// cacheSize is the number of IAVL nodes kept in memory. IAVL adds every node it saves
// to this LRU cache (3.6% of a validator's CPU under load, most of it the map of a
// large cache); inner nodes read back are also served by goleveldb's block cache.
// Measured with `lian bench compare --only lian --concurrency 32` (4 validators, one
// cache each): 20k against 100k, 2,030 and 2,080 tx/s against 1,913 and 1,989 in 30-s
// runs, 1,646 against 1,623 in a 90-s run; 400k and 1M were slower than 100k.
const cacheSize = 20_000

// Fault is what the store panics with when its database fails to read or write. It is
// the node's own failure, not the input's: code that recovers panics from transaction
// handlers must let a Fault through, so that the node stops rather than go on from a
// state it could not read or write.
type Fault struct{ Err error }

// Error implements error.
func (f *Fault) Error() string { return f.Err.Error() }

// Unwrap returns the database's error.
func (f *Fault) Unwrap() error { return f.Err }

// Store is the application state: one IAVL tree on a goleveldb database. Its working
// tree (the KV methods) is what FinalizeBlock writes; Commit saves it as the next version.
type Store struct {
	db   dbm.DB
	tree *iavl.MutableTree
	// committed is the last saved version, read by CheckTx and queries.
	committed *iavl.ImmutableTree
	absent    *absentCache
	// tracked are the prefixes with a presence filter (TrackPrefix).
	tracked []*presence
	// dirty is set when the working tree is written, until it is saved or rolled back.
	dirty bool
}

// ErrInUse is Open's error when another process has the state database open.
var ErrInUse = errors.New("the state database is in use by another process")

// Open opens (creating if needed) the state database "lian_state.db" in dir (next to
// CometBFT's own databases in a node's data directory) and loads its
// latest version. Versions are block heights.
func Open(dir string) (*Store, error) {
	db, err := dbm.NewGoLevelDBWithOpts("lian_state", dir, levelDBOptions())
	if errors.Is(err, syscall.EAGAIN) { // goleveldb's lock on the directory is held
		return nil, fmt.Errorf("open state db in %s: %w (is lian up or lian node start already running on this home?)", dir, ErrInUse)
	}
	if err != nil {
		return nil, fmt.Errorf("open state db in %s: %w", dir, err)
	}
	s, err := newStore(db)
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// OpenMemory returns a store kept in memory, for tests.
func OpenMemory() (*Store, error) { return newStore(dbm.NewMemDB()) }

func newStore(db dbm.DB) (*Store, error) {
	// Sync: a version Commit reports saved is on disk, so a committed block survives a
	// crash of the machine, not only of the process.
	tree := iavl.NewMutableTree(idb.NewWrapper(db), cacheSize, false, iavl.NewNopLogger(),
		iavl.SyncOption(true))
	if _, err := tree.Load(); err != nil {
		return nil, fmt.Errorf("load state tree: %w", err)
	}
	s := &Store{db: db, tree: tree, absent: newAbsentCache()}
	if err := s.loadCommitted(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Store) loadCommitted() error {
	v := s.tree.Version()
	if v == 0 {
		s.committed = iavl.NewImmutableTree(idb.NewWrapper(dbm.NewMemDB()), 0, true, iavl.NewNopLogger())
		return nil
	}
	t, err := s.tree.GetImmutable(v)
	if err != nil {
		return fmt.Errorf("load state version %d: %w", v, err)
	}
	s.committed = t
	return nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Version is the last saved version (block height), 0 before the first commit.
func (s *Store) Version() int64 { return s.tree.Version() }

// LastHash is the root hash of the last saved version.
func (s *Store) LastHash() []byte { return s.tree.Hash() }

// WorkingHash is the root hash of the working tree: the app hash of the block being
// executed.
func (s *Store) WorkingHash() []byte { return s.tree.WorkingHash() }

// Get implements Reader on the working tree.
func (s *Store) Get(key []byte) []byte {
	if s.absentByFilter(key) || s.absent.working(key) {
		return nil
	}
	v, err := s.tree.Get(key)
	if err != nil {
		panic(&Fault{fmt.Errorf("store: read %x: %w", key, err)})
	}
	if v == nil {
		s.absent.addWorking(key)
	}
	return v
}

// Has implements Reader on the working tree.
func (s *Store) Has(key []byte) bool { return s.Get(key) != nil }

// Set implements KV on the working tree.
func (s *Store) Set(key, value []byte) {
	s.dirty = true
	s.noteWrite(key)
	s.absent.write(key)
	if _, err := s.tree.Set(key, value); err != nil {
		panic(&Fault{fmt.Errorf("store: write %x: %w", key, err)})
	}
}

// Delete implements KV on the working tree.
func (s *Store) Delete(key []byte) {
	s.dirty = true
	s.absent.write(key)
	if _, _, err := s.tree.Remove(key); err != nil {
		panic(&Fault{fmt.Errorf("store: delete %x: %w", key, err)})
	}
}

// Iterate implements Reader on the working tree.
func (s *Store) Iterate(start, end []byte, fn func(key, value []byte) bool) {
	it, err := s.tree.Iterator(start, end, true)
	if err != nil {
		panic(&Fault{fmt.Errorf("store: iterate: %w", err)})
	}
	iterate(it, fn)
}

func iterate(it dbm.Iterator, fn func(key, value []byte) bool) {
	defer it.Close()
	for ; it.Valid(); it.Next() {
		if !fn(it.Key(), it.Value()) {
			return
		}
	}
	if err := it.Error(); err != nil {
		panic(&Fault{fmt.Errorf("store: iterate: %w", err)})
	}
}

// Rollback discards the working tree's unsaved changes.
func (s *Store) Rollback() {
	s.tree.Rollback()
	s.absent.rolledBack()
	s.dirty = false
}

// Commit saves the working tree as the next version and returns its hash and version.
func (s *Store) Commit() ([]byte, int64, error) {
	hash, v, err := s.tree.SaveVersion()
	if err != nil {
		return nil, 0, fmt.Errorf("save state version: %w", err)
	}
	s.absent.saved()
	s.dirty = false
	if err := s.loadCommitted(); err != nil {
		return nil, 0, err
	}
	return hash, v, nil
}

// Committed returns a read-only view of the last saved version.
func (s *Store) Committed() Reader { return committedView{s} }

// committedView reads the last saved version, with the absent-key cache.
type committedView struct{ s *Store }

func (c committedView) Get(key []byte) []byte {
	if c.s.absentByFilter(key) || c.s.absent.committed(key) {
		return nil
	}
	v := immutable{c.s.committed}.Get(key)
	if v == nil {
		c.s.absent.addCommitted(key)
	}
	return v
}

func (c committedView) Has(key []byte) bool { return c.Get(key) != nil }

func (c committedView) Iterate(start, end []byte, fn func(key, value []byte) bool) {
	immutable{c.s.committed}.Iterate(start, end, fn)
}

// ErrVersionNotFound is returned for a version that was never saved or was pruned.
var ErrVersionNotFound = errors.New("state version not found")

// Prove returns the value of key at version (nil if absent) and an ICS-23 proof of its
// membership or non-membership against that version's root hash, the app hash carried
// in the header of block version+1.
func (s *Store) Prove(key []byte, version int64) ([]byte, *ics23.CommitmentProof, error) {
	if version <= 0 || !s.tree.VersionExists(version) {
		return nil, nil, fmt.Errorf("%w: %d", ErrVersionNotFound, version)
	}
	t, err := s.tree.GetImmutable(version)
	if err != nil {
		return nil, nil, fmt.Errorf("load state version %d: %w", version, err)
	}
	value, err := t.Get(key)
	if err != nil {
		return nil, nil, fmt.Errorf("read %x at version %d: %w", key, version, err)
	}
	proof, err := t.GetProof(key)
	if err != nil {
		return nil, nil, fmt.Errorf("prove %x at version %d: %w", key, version, err)
	}
	return value, proof, nil
}

type immutable struct{ t *iavl.ImmutableTree }

func (i immutable) Get(key []byte) []byte {
	v, err := i.t.Get(key)
	if err != nil {
		panic(&Fault{fmt.Errorf("store: read %x: %w", key, err)})
	}
	return v
}

func (i immutable) Has(key []byte) bool { return i.Get(key) != nil }

func (i immutable) Iterate(start, end []byte, fn func(key, value []byte) bool) {
	it, err := i.t.Iterator(start, end, true)
	if err != nil {
		panic(&Fault{fmt.Errorf("store: iterate: %w", err)})
	}
	iterate(it, fn)
}

// ReadOnly wraps a Reader as a KV whose writes are refused by panicking; use a Branch over
// it to stage writes that will be discarded (CheckTx).
func ReadOnly(r Reader) KV { return readOnly{r} }

type readOnly struct{ Reader }

func (readOnly) Set(key, value []byte) { panic("store: write to a read-only view") }
func (readOnly) Delete(key []byte)     { panic("store: delete in a read-only view") }

// ReaderAt returns a read-only view of a saved version.
func (s *Store) ReaderAt(version int64) (Reader, error) {
	if version <= 0 || !s.tree.VersionExists(version) {
		return nil, fmt.Errorf("%w: %d", ErrVersionNotFound, version)
	}
	t, err := s.tree.GetImmutable(version)
	if err != nil {
		return nil, fmt.Errorf("load state version %d: %w", version, err)
	}
	return immutable{t}, nil
}

// levelDBOptions tunes goleveldb for IAVL's load: every block writes thousands of new
// tree nodes (write-heavy, keys never rewritten) and reads mostly recent ones.
//   - a bloom filter: most reads in a block look for keys that do not exist yet (a new
//     digest), and without one leveldb searches every level for them;
//   - a 64 MiB memtable and 8 MiB tables with a larger level-1 budget: far fewer, larger
//     compactions (compaction was the largest single cost under sustained load);
//   - no snappy compression: node hashes and keys do not compress, and compressing them
//     cost CPU on every compaction.
//
// Measured with `lian bench compare --only lian --duration 60s --concurrency 16`:
// 1,154 tx/s with goleveldb's defaults (plus the bloom filter), 1,422 tx/s with these.
func levelDBOptions() *opt.Options {
	return &opt.Options{
		Filter:              filter.NewBloomFilter(10),
		BlockCacheCapacity:  32 << 20,
		WriteBuffer:         64 << 20,
		CompactionTableSize: 8 << 20,
		CompactionL0Trigger: 8,
		CompactionTotalSize: 64 << 20,
		Compression:         opt.NoCompression,
	}
}
