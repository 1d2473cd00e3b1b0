// Command register-account registers a colleague's account in the admin's organisation:
// it creates (or reuses) the new account's key in the keystore, hashes the off-chain
// real-name record (only the hash goes on chain), registers the account with its roles
// and, if an amount is given, records a fiat top-up of gas credits for it (the admin must
// then be the network's operator) — both messages in one transaction. Then the new
// account anchors a first document digest with its own key, to show it can sign (it
// needs credits for that: a top-up, or its organisation's sponsorship).
//
// With `lian up` running:
//
//	echo "Alice Zhang, ID 110101199001011234, dept. records" > alice-record.txt
//	go run ./examples/register-account -name alice -algo sm2 -identity-file alice-record.txt -top-up 500 -ref BANK-0001
//
// Flags: -gateway, -home, -chain, -from (the admin's key, demo) as in anchor-file; -name
// (the new key), -algo (ed25519, sm2 or secp256k1), -roles (member; comma separated),
// -identity-file (the real-name record, required), -identity-hash (sha256 or sm3),
// -top-up (fen; 0: none), -ref (the payment's reference, used once per chain), -payer
// (the payer's name).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/lianchain/lian/client"
	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules/evidence"
	"github.com/lianchain/lian/txs"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "register-account:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("register-account", flag.ContinueOnError)
	gateway := fs.String("gateway", client.DefaultGateway(), "gateway URL")
	home := fs.String("home", client.DefaultHome(), "home directory: keys in <home>/keys")
	chain := fs.String("chain", "beijing-1", "chain id")
	from := fs.String("from", "demo", "the admin's key in <home>/keys")
	name := fs.String("name", "", "name of the new account's key in <home>/keys (created if missing)")
	algo := fs.String("algo", string(crypto.SM2), "algorithm of a new key: ed25519, sm2 or secp256k1")
	roles := fs.String("roles", "member", "roles of the account, comma separated (admin, member, relayer)")
	identityFile := fs.String("identity-file", "", "the account's off-chain real-name record")
	identityHash := fs.String("identity-hash", evidence.HashSHA256, "hash of the record: sha256 or sm3")
	topUp := fs.Uint64("top-up", 0, "credits bought for the account, in fen (0: none)")
	ref := fs.String("ref", "", "the top-up's payment reference (default: derived from the address and time)")
	payer := fs.String("payer", "", "the top-up payer's name (default: the key's name)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	case *name == "":
		return errors.New("-name is required: the new account's key name")
	case *identityFile == "":
		return errors.New("-identity-file is required: the account's real-name record")
	}
	a, err := crypto.ParseAlgo(*algo)
	if err != nil {
		return err
	}

	keys := client.KeysDir(*home)
	admin, err := client.LoadKey(keys, *from)
	if err != nil {
		return err
	}
	key, err := client.LoadOrCreateKey(keys, *name, a)
	if err != nil {
		return err
	}
	addr := client.AddressOf(key)

	record, err := os.ReadFile(*identityFile)
	if err != nil {
		return err
	}
	ih, err := client.IdentityHash(*identityHash, record)
	if err != nil {
		return err
	}
	reg, err := client.NewRegisterAccount(key.PubKey(), ih, strings.Split(*roles, ",")...)
	if err != nil {
		return err
	}
	msgs := []txs.Msg{reg}
	if *topUp > 0 {
		if *ref == "" {
			*ref = fmt.Sprintf("register-%s-%d", addr, time.Now().UnixNano())
		}
		if *payer == "" {
			*payer = *name
		}
		top, err := client.NewTopUp(addr.String(), "CNY", *topUp, *ref, *payer)
		if err != nil {
			return err
		}
		msgs = append(msgs, top)
	}

	c := client.New(*gateway)
	adminSender, err := client.NewSender(c, *chain, admin)
	if err != nil {
		return err
	}
	defer adminSender.Close()
	res, err := adminSender.SendRequest(ctx, client.Request{Msgs: msgs, Memo: "register " + *name})
	if err != nil {
		return fmt.Errorf("register %s: %w", addr, err)
	}
	info, err := c.AccountInfo(ctx, *chain, addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "registered %s (%s, key %q) in %s with roles %s in tx %s at height %d\n",
		addr, info.Account.Algo, *name, info.Account.Org, strings.Join(info.Account.Roles, ","), res.Hash, res.Height)
	if *topUp > 0 {
		bal, err := c.Balance(ctx, *chain, addr.String())
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "credits of %s: %d (top-up of %d fen, ref %s)\n", addr, bal.Credits, *topUp, *ref)
	}

	// The new account signs its first transaction.
	first, err := client.IdentityHash(evidence.HashSHA256, []byte(fmt.Sprintf("first document of %s at %s", addr, time.Now().UTC().Format(time.RFC3339Nano))))
	if err != nil {
		return err
	}
	anchor, err := client.NewAnchor(first, evidence.HashSHA256, "first document")
	if err != nil {
		return err
	}
	own, err := client.NewSender(c, *chain, key)
	if err != nil {
		return err
	}
	defer own.Close()
	ares, err := own.Send(ctx, anchor)
	if e, ok := client.AsError(err); ok && e.ErrCode() == errcode.NoCredits {
		fmt.Fprintf(out, "%s has no credits to pay for a transaction yet: buy some with -top-up, or have %s sponsor its members' fees\n", addr, info.Account.Org)
		return nil
	}
	if err != nil {
		return fmt.Errorf("first transaction of %s: %w", addr, err)
	}
	fmt.Fprintf(out, "%s signed its first transaction (%s): tx %s at height %d\n", addr, key.Algo(), ares.Hash, ares.Height)
	return nil
}
