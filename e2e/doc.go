// Package e2e holds Lian's end-to-end tests: they build the lian binary and run it as
// real OS processes — a network of separate `lian node start` validators, and the
// one-process service network `lian up` — killing and restarting them to check that
// the chain stays live and that nothing acknowledged is lost.
package e2e
