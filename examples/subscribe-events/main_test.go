package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/client"
	"github.com/lianchain/lian/examples/internal/examplenet"
	"github.com/lianchain/lian/modules/evidence"
)

func TestSubscribeEvents(t *testing.T) {
	n := examplenet.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := client.New(n.Gateway)
	latest, err := c.Block(ctx, n.Chain, 0)
	if err != nil {
		t.Fatal(err)
	}

	// Subscribe from the next block on, then anchor two documents.
	var out, errOut bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, n.Args("-type", evidence.EventAnchored, "-from-height", strconv.FormatInt(latest.Height+1, 10), "-count", "2"), &out, &errOut)
	}()
	key, err := client.LoadKey(client.KeysDir(n.Home), "demo")
	if err != nil {
		t.Fatal(err)
	}
	s, err := client.NewSender(c, n.Chain, key)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var hashes []string
	for i := 0; i < 2; i++ {
		d, _ := client.IdentityHash(evidence.HashSHA256, []byte(fmt.Sprintf("subscribed document %d %d", i, time.Now().UnixNano())))
		m, err := client.NewAnchor(d, evidence.HashSHA256, "")
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.Send(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, res.Hash)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("the subscription did not print two events")
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines:\n%s", len(lines), out.String())
	}
	for i, l := range lines {
		if !strings.Contains(l, " tx "+hashes[i]+" "+evidence.EventAnchored+" ") {
			t.Fatalf("line %d %q: want tx %s", i, l, hashes[i])
		}
	}
	firstID := strings.Fields(lines[0])[0]
	secondID := strings.Fields(lines[1])[0]
	if !strings.Contains(errOut.String(), "-from-id "+secondID) {
		t.Fatalf("resume hint %q, want -from-id %s", errOut.String(), secondID)
	}

	// Resume after the first event: the second comes again, in JSON.
	out.Reset()
	if err := run(ctx, n.Args("-type", evidence.EventAnchored, "-from-id", firstID, "-count", "1", "-o", "json"), &out, &errOut); err != nil {
		t.Fatal(err)
	}
	var ev api.StreamEvent
	if err := json.Unmarshal(out.Bytes(), &ev); err != nil {
		t.Fatalf("json output %q: %v", out.String(), err)
	}
	if ev.ID != secondID || ev.Tx == nil || ev.Tx.Hash != hashes[1] || ev.Event == nil || ev.Event.Type != evidence.EventAnchored {
		t.Fatalf("resumed event %+v", ev)
	}

	// A cancelled context ends the subscription cleanly.
	cctx, ccancel := context.WithCancel(ctx)
	go func() { done <- run(cctx, n.Args("-module", "evidence"), &out, &errOut) }()
	ccancel()
	if err := <-done; err != nil {
		t.Fatalf("interrupted: %v", err)
	}
	if err := run(ctx, n.Args("-o", "yaml"), &out, &errOut); err == nil {
		t.Fatal("no error for -o yaml")
	}
	if err := run(ctx, n.Args("-from-id", "not-an-id"), &out, &errOut); err == nil {
		t.Fatal("no error for a malformed event ID")
	}
}
