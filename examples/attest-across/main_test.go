package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lianchain/lian/localnet"
)

// TestAttestAcross runs the example against two chains of one validator each, with the
// relayer `lian up` runs between them.
func TestAttestAcross(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two chains")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	home := t.TempDir()
	n, err := localnet.Start(ctx, localnet.Options{Home: home, Chains: []string{"example-1", "example-2"}, Validators: 1, Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Stop() })
	select {
	case <-n.Relayer().Ready():
	default:
		t.Fatal("Start returned before the relayer followed the chains")
	}
	args := func(extra ...string) []string {
		return append([]string{"-gateway", n.GatewayURL(), "-home", home, "-chain", "example-1", "-to", "example-2", "-wait", "90s"}, extra...)
	}
	dir := t.TempDir()
	doc := filepath.Join(dir, "contract.txt")
	if err := os.WriteFile(doc, []byte("Contract between org1 and org2"), 0o600); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name  string
		args  []string
		wants []string
	}{
		{"anchored on the other chain", args("-anchor", doc), []string{"anchored ", "asked example-2 from example-1: packet attest-example-2/1",
			doc + ": anchored on example-2", "proof verified, 1 of 1 validators signed, validator set trusted"}},
		{"asked again, with SM3: not anchored", args("-hash", "sm3", doc), []string{"packet attest-example-2/2", doc + ": NOT anchored on example-2"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := run(ctx, c.args, &out); err != nil {
				t.Fatalf("run: %v\n%s", err, out.String())
			}
			for _, w := range c.wants {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
	var out bytes.Buffer
	if err := run(ctx, args(), &out); err == nil {
		t.Error("no error without a file")
	}
	if err := run(ctx, append(args(), "-to", "example-9", doc), &out); err == nil || !strings.Contains(err.Error(), "not_found") {
		t.Errorf("a chain without a route: %v", err)
	}
}
