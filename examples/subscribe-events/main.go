// Command subscribe-events prints a chain's events as they are committed, from the
// gateway's event stream (Server-Sent Events) through the SDK's Subscribe, which
// reconnects by itself and resumes after the last event delivered. It prints the ID of
// the last event it printed on exit: pass it as -from-id to continue later without
// missing or repeating an event.
//
// With `lian up` running:
//
//	go run ./examples/subscribe-events -module evidence
//	go run ./examples/subscribe-events -type lian.evidence.anchored -count 10 -o json
//	go run ./examples/subscribe-events -account 0x0b40... -from-height 1
//
// Flags: -gateway and -chain as in anchor-file; -module and -type (comma-separated
// filters), -account (0x… or org:<id>), -from-height (0: from the next block), -from-id
// (resume after this event ID), -blocks (also print the end of each block), -count (stop
// after this many events; 0: until interrupted), -o (text or json).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/client"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "subscribe-events:", err)
		os.Exit(1)
	}
}

// run prints the events on out and, on exit, the ID to resume from on errOut.
func run(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("subscribe-events", flag.ContinueOnError)
	gateway := fs.String("gateway", client.DefaultGateway(), "gateway URL")
	fs.String("home", client.DefaultHome(), "home directory (unused: subscribing needs no key)")
	chain := fs.String("chain", "beijing-1", "chain id")
	modules := fs.String("module", "", "keep the events of these modules, comma separated (evidence, identity, credits, gov)")
	types := fs.String("type", "", "keep the events of these types, comma separated (lian.evidence.anchored, lian.tx, ...)")
	account := fs.String("account", "", "keep the events of the transactions of this account (0x… or org:<id>)")
	fromHeight := fs.Int64("from-height", 0, "start at this block (0: the next one)")
	fromID := fs.String("from-id", "", "resume after this event ID (printed on exit)")
	blocks := fs.Bool("blocks", false, "also print the end of each block")
	count := fs.Int("count", 0, "stop after this many events (0: until interrupted)")
	format := fs.String("o", "text", "output: text or json (one event per line)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *format != "text" && *format != "json" {
		return fmt.Errorf("-o %q: expected text or json", *format)
	}
	filter := client.EventFilter{
		Modules:    split(*modules),
		Types:      split(*types),
		Account:    *account,
		FromHeight: *fromHeight,
		NoBlocks:   !*blocks,
	}

	sub, err := client.New(*gateway).Subscribe(ctx, *chain, filter, *fromID)
	if err != nil {
		if ctx.Err() != nil {
			return nil // interrupted while connecting
		}
		return err
	}
	defer sub.Close()

	printed, last := 0, *fromID
	defer func() {
		if last != "" {
			fmt.Fprintf(errOut, "last event %s: pass -from-id %s to continue after it\n", last, last)
		}
	}()
	enc := json.NewEncoder(out)
	for {
		select {
		case <-ctx.Done():
			return nil // interrupted: a normal end
		case ev, ok := <-sub.Events():
			if !ok {
				if err := sub.Err(); err != nil && !errors.Is(err, context.Canceled) {
					return err
				}
				return nil
			}
			if *format == "json" {
				if err := enc.Encode(ev); err != nil {
					return err
				}
			} else {
				fmt.Fprintln(out, describe(ev))
			}
			last = ev.ID
			if ev.Kind != api.StreamKindBlock {
				printed++
			}
			if *count > 0 && printed >= *count {
				return nil
			}
		}
	}
}

// describe is one line of text for an event.
func describe(ev api.StreamEvent) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-12s %s", ev.ID, ev.Time.UTC().Format("2006-01-02T15:04:05.000Z"))
	switch ev.Kind {
	case api.StreamKindBlock:
		b.WriteString(" end of block")
		if ev.Block != nil {
			if raw, err := json.Marshal(ev.Block); err == nil {
				b.WriteString(" ")
				b.Write(raw)
			}
		}
		return b.String()
	case api.StreamKindTx:
		if ev.Tx != nil {
			fmt.Fprintf(&b, " tx %s", ev.Tx.Hash)
			if ev.Tx.Code != 0 {
				fmt.Fprintf(&b, " (failed: %s)", ev.Tx.CodeName)
			}
		}
	case api.StreamKindBlockEvent:
		b.WriteString(" block")
	}
	if e := ev.Event; e != nil {
		fmt.Fprintf(&b, " %s", e.Type)
		for _, a := range e.Attributes {
			fmt.Fprintf(&b, " %s=%s", a.Key, a.Value)
		}
	}
	return b.String()
}

func split(s string) []string {
	if s == "" {
		return nil
	}
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
