// Package store keeps Lian's application state in one IAVL tree.
//
// Every module owns a key prefix of the one tree; the tree's root hash is the app hash
// CometBFT puts in the next block header, so every value has an ICS-23 membership proof
// and every absent key a non-membership proof against that header.
//
// Execution writes go through a Branch: a write buffer over the block's working tree with
// read-your-writes and sorted iteration, merged in sorted key order (IAVL's shape, and so
// the app hash, depends on insertion order) only when a transaction succeeds.
//
// Storage failures (a broken disk, a corrupt database) panic: a node that cannot read its
// state must halt rather than compute a different app hash. Input from users never reaches
// a panic; every key and value a handler writes is bytes it has validated.
package store
