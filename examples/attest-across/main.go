// Command attest-across checks, from one Lian chain, that a document is anchored on
// another chain, trusting only the two chains' validators: it hashes the file locally,
// asks the other chain (-to) through the attest route to it, waits for the relayer to
// carry the question and the proven answer back, and checks on the client that the
// asking chain (-chain) holds that answer, against the validator set pinned in
// <home>/trust/<chain>.json. With -anchor it first anchors the file on -to itself.
//
// With `lian up` running (it runs a relayer between its chains):
//
//	go run ./examples/attest-across -anchor contract.txt
//	go run ./examples/attest-across -chain guangzhou-1 -to beijing-1 contract.txt
//
// Flags: -gateway (default $LIAN_GATEWAY, else http://127.0.0.1:8700), -home (default
// $LIAN_HOME, else ~/.lian), -chain (beijing-1), -to (guangzhou-1), -from (the key in
// <home>/keys, demo), -hash (sha256 or sm3), -anchor, -wait (how long to wait for the
// answer, 2m).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/lianchain/lian/client"
	"github.com/lianchain/lian/modules/attest"
	"github.com/lianchain/lian/modules/evidence"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "attest-across:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("attest-across", flag.ContinueOnError)
	gateway := fs.String("gateway", client.DefaultGateway(), "gateway URL")
	home := fs.String("home", client.DefaultHome(), "home directory: keys in <home>/keys, trusted validators in <home>/trust")
	chain := fs.String("chain", "beijing-1", "the chain that asks (and stores the answer)")
	to := fs.String("to", "guangzhou-1", "the chain asked")
	from := fs.String("from", "demo", "name of the signing key in <home>/keys")
	hashAlgo := fs.String("hash", evidence.HashSHA256, "document hash: sha256 or sm3")
	anchor := fs.Bool("anchor", false, "first anchor the file on -to")
	wait := fs.Duration("wait", 2*time.Minute, "how long to wait for the answer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("give one file: attest-across [flags] FILE")
	}
	file := fs.Arg(0)
	digest, err := client.DigestFile(*hashAlgo, file)
	if err != nil {
		return err
	}
	key, err := client.LoadKey(client.KeysDir(*home), *from)
	if err != nil {
		return err
	}
	c := client.New(*gateway)

	if *anchor {
		msg, err := client.NewAnchor(digest, *hashAlgo, file)
		if err != nil {
			return err
		}
		res, err := c.SignAndSubmit(ctx, *to, key, "", msg)
		if err != nil {
			return fmt.Errorf("anchor on %s: %w", *to, err)
		}
		fmt.Fprintf(out, "anchored %X on %s at height %d\n", digest, *to, res.Height)
	}

	// Ask: the open attest route of -chain to -to, found through the chain's light clients.
	route, err := c.FindRoute(ctx, *chain, attest.Name, *to)
	if err != nil {
		return err
	}
	msg, err := client.NewAttest(route.ID, digest, 0)
	if err != nil {
		return err
	}
	res, err := c.SignAndSubmit(ctx, *chain, key, "", msg)
	if err != nil {
		return fmt.Errorf("ask %s: %w", *to, err)
	}
	p, err := client.PacketOf(res)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "asked %s from %s: packet %s at height %d\n", *to, *chain, p.ID(), res.Height)

	// Wait for the relayer: the request is answered, failed or timed out.
	deadline := time.Now().Add(*wait)
	var req *attest.Request
	for {
		if req, _, err = c.AttestRequest(ctx, *chain, p.SourceRoute, p.Sequence); err != nil {
			return err
		}
		if req.Status != attest.StatusPending {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer from %s within %v: is a relayer running? (lian query xchain pending --chain %s --route %s)", *to, *wait, *chain, p.SourceRoute)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	if req.Status != attest.StatusAnswered {
		return fmt.Errorf("the request is %s: %s", req.Status, req.Error)
	}

	// The answer, with the proof that -chain holds it, checked here.
	a, err := c.Attestation(ctx, *chain, *to, digest, true)
	if err != nil {
		return err
	}
	trust, err := client.LoadTrust(client.TrustDir(*home), *chain)
	if err != nil {
		return err
	}
	var opts client.VerifyOptions
	if trust != nil {
		opts.TrustedValidatorsHash, opts.Trust = trust.ValidatorsHash, trust
	}
	v, att, err := client.VerifyAttestation(*chain, *to, digest, a, opts)
	if err != nil {
		return fmt.Errorf("the attestation does NOT verify: %w", err)
	}
	trusted := "validator set NOT pinned (no trust file)"
	if v.ValidatorsTrusted {
		trusted = "validator set trusted"
	}
	if att.Found {
		fmt.Fprintf(out, "%s: anchored on %s at height %d (%s) by %s of %s, label %q\n", file, *to, att.Record.Height, att.Record.Time,
			att.Record.Submitter, att.Record.Org, att.Record.Label)
	} else {
		fmt.Fprintf(out, "%s: NOT anchored on %s\n", file, *to)
	}
	fmt.Fprintf(out, "answer proven by %s's validators at its height %d; held by %s at height %d: proof verified, %d of %d validators signed, %s\n",
		*to, att.ProofHeight, *chain, v.Height, v.Signers, v.ValidatorCount, trusted)
	return nil
}
