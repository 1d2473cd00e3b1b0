// Package invariantstest checks, in the modules' tests, what their CheckInvariants
// report about a state the test corrupted.
package invariantstest

import (
	"strings"
	"testing"
)

// Mentions fails t unless err reports a violation and mentions each of want.
func Mentions(t testing.TB, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("no violation reported")
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("got %v\nwant it to mention %q", err, w)
		}
	}
}

// Exactly is Mentions, and err reports exactly len(want) violations (one a line).
func Exactly(t testing.TB, err error, want ...string) {
	t.Helper()
	Mentions(t, err, want...)
	if n := len(strings.Split(err.Error(), "\n")); n != len(want) {
		t.Errorf("%d violations reported, want %d:\n%v", n, len(want), err)
	}
}
