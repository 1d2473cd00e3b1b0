// Command anchor-file anchors files on a Lian chain and proves it: it hashes each file
// locally (only the digest leaves the machine), anchors the digest with the SDK's Sender,
// then fetches the evidence record with its proof and checks the proof on the client
// against the validator set pinned in <home>/trust/<chain>.json.
//
// With `lian up` running:
//
//	go run ./examples/anchor-file contract.txt
//	go run ./examples/anchor-file -hash sm3 -label "annex" annex1.pdf annex2.pdf
//
// Flags: -gateway (default $LIAN_GATEWAY, else http://127.0.0.1:8700), -home (default
// $LIAN_HOME, else ~/.lian), -chain (beijing-1), -from (the key in <home>/keys, demo),
// -hash (sha256 or sm3), -label.
package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"

	"github.com/lianchain/lian/client"
	"github.com/lianchain/lian/modules/evidence"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "anchor-file:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("anchor-file", flag.ContinueOnError)
	gateway := fs.String("gateway", client.DefaultGateway(), "gateway URL")
	home := fs.String("home", client.DefaultHome(), "home directory: keys in <home>/keys, trusted validators in <home>/trust")
	chain := fs.String("chain", "beijing-1", "chain id")
	from := fs.String("from", "demo", "name of the signing key in <home>/keys")
	hashAlgo := fs.String("hash", evidence.HashSHA256, "document hash: sha256 or sm3")
	label := fs.String("label", "", "label stored with each anchor")
	if err := fs.Parse(args); err != nil {
		return err
	}
	files := fs.Args()
	if len(files) == 0 {
		return errors.New("no file given: anchor-file [flags] FILE...")
	}

	key, err := client.LoadKey(client.KeysDir(*home), *from)
	if err != nil {
		return err
	}
	c := client.New(*gateway)
	sender, err := client.NewSender(c, *chain, key)
	if err != nil {
		return err
	}
	defer sender.Close()

	// Anchor every file concurrently: the Sender gives each transaction its own nonce.
	type anchored struct {
		digest []byte
		hash   string
		height int64
		err    error
	}
	results := make([]anchored, len(files))
	var wg sync.WaitGroup
	for i, f := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg, digest, err := client.NewFileAnchor(f, *hashAlgo, *label)
			if err != nil {
				results[i].err = err
				return
			}
			res, err := sender.Send(ctx, msg)
			results[i] = anchored{digest: digest, err: err}
			if err == nil {
				results[i].hash, results[i].height = res.Hash, res.Height
			}
		}()
	}
	wg.Wait()

	// Fetch each record with its proof and verify it locally.
	trust, err := client.LoadTrust(client.TrustDir(*home), *chain)
	if err != nil {
		return err
	}
	var opts client.VerifyOptions
	if trust != nil {
		opts.TrustedValidatorsHash, opts.Trust = trust.ValidatorsHash, trust
	}
	var failed []string
	for i, f := range files {
		r := results[i]
		if r.err != nil {
			fmt.Fprintf(out, "%s: not anchored: %v\n", f, r.err)
			failed = append(failed, f)
			continue
		}
		ev, err := c.Evidence(ctx, *chain, r.digest, true)
		if err != nil {
			return fmt.Errorf("%s: read the evidence: %w", f, err)
		}
		v, err := client.VerifyEvidenceWithOptions(*chain, r.digest, ev, opts)
		if err != nil {
			return fmt.Errorf("%s: the proof does NOT verify: %w", f, err)
		}
		trusted := "validator set NOT pinned (no trust file)"
		if v.ValidatorsTrusted {
			trusted = "validator set trusted"
		}
		fmt.Fprintf(out, "%s: %s %s anchored in tx %s at height %d (block time %s); proof verified: %d of %d validators signed, %s\n",
			f, *hashAlgo, strings.ToUpper(hex.EncodeToString(r.digest)), r.hash, r.height,
			v.BlockTime.UTC().Format("2006-01-02T15:04:05Z"), v.Signers, v.ValidatorCount, trusted)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d files not anchored: %s", len(failed), len(files), strings.Join(failed, ", "))
	}
	return nil
}
