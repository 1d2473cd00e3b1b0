package node

import (
	"io"
	"strings"

	cmtlog "github.com/cometbft/cometbft/libs/log"
)

// NewLogger returns a CometBFT logger writing plain text lines to w, keeping
// only events at level or above: "debug", "info", "warn", "error" (the
// default when level is empty) or "none". w may be nil (=> no-op logger).
// Writes to w are serialized, so one w may be shared by several nodes.
func NewLogger(w io.Writer, level string) (cmtlog.Logger, error) {
	level = strings.ToLower(strings.TrimSpace(level))
	if level == "" {
		level = DefaultLogLevel
	}
	opt, err := cmtlog.AllowLevel(level)
	if err != nil {
		return nil, err
	}
	if w == nil || level == "none" {
		return cmtlog.NewNopLogger(), nil
	}
	return cmtlog.NewFilter(cmtlog.NewTMLogger(cmtlog.NewSyncWriter(w)), opt), nil
}
