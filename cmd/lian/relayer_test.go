package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRelayerStartRefuses checks that `lian relayer start` refuses what it cannot run,
// before connecting to anything.
func TestRelayerStartRefuses(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	twoChains := `{"chains":[{"id":"a","rpc":"http://127.0.0.1:1","key_file":"absent-key.json"},{"id":"b","rpc":"http://127.0.0.1:2","key_file":"absent-key.json"}],"paths":[{"a":"a","b":"b"}]}`
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no config", []string{"relayer", "start"}, "--config is required"},
		{"missing file", []string{"relayer", "start", "--config", filepath.Join(dir, "none.json")}, "no such file"},
		{"not JSON", []string{"relayer", "start", "--config", write("bad.json", "chains:")}, "relayer config"},
		{"no paths", []string{"relayer", "start", "--config", write("nopaths.json", `{"chains":[{"id":"a","rpc":"http://x","key_file":"k"},{"id":"b","rpc":"http://x","key_file":"k"}]}`)}, "at least one path"},
		{"missing key file", []string{"relayer", "start", "--config", write("nokey.json", twoChains)}, "absent-key.json"},
		{"bad log level", []string{"relayer", "start", "--config", write("ok.json", twoChains), "--log-level", "loud"}, "--log-level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runCLI(t, t.TempDir(), "http://127.0.0.1:1", tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}
