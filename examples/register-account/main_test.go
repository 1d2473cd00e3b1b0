package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lianchain/lian/client"
	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/examples/internal/examplenet"
)

func TestRegisterAccount(t *testing.T) {
	n := examplenet.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	record := filepath.Join(t.TempDir(), "record.txt")
	if err := os.WriteFile(record, []byte("Alice Zhang, ID 110101199001011234, dept. records"), 0o600); err != nil {
		t.Fatal(err)
	}

	// One account per algorithm, with credits; the first with two roles; and one without
	// credits, which cannot pay for its first transaction.
	for i, algo := range append(crypto.Algos(), crypto.Ed25519) {
		name := "colleague-" + string(algo)
		args := []string{"-name", name, "-algo", string(algo), "-identity-file", record, "-top-up", "100"}
		switch i {
		case 0:
			args = append(args, "-ref", "BANK-0001", "-payer", "Alice Zhang", "-roles", "member,relayer")
		case 3:
			name = "no-credits"
			args = []string{"-name", name, "-algo", string(algo), "-identity-file", record}
		}
		var out bytes.Buffer
		if err := run(ctx, n.Args(args...), &out); err != nil {
			t.Fatalf("%s: %v\n%s", algo, err, out.String())
		}
		key, err := client.LoadKey(client.KeysDir(n.Home), name)
		if err != nil {
			t.Fatal(err)
		}
		addr := client.AddressOf(key).String()
		first := addr + " signed its first transaction (" + string(algo) + ")"
		nonce := uint64(1)
		if i == 3 {
			first, nonce = addr+" has no credits to pay for a transaction yet", 0
		}
		for _, want := range []string{"registered " + addr + " (" + string(algo), first} {
			if !strings.Contains(out.String(), want) {
				t.Fatalf("%s: output lacks %q:\n%s", algo, want, out.String())
			}
		}
		if i == 0 && (!strings.Contains(out.String(), "with roles member,relayer") || !strings.Contains(out.String(), "credits of "+addr+": ")) {
			t.Fatalf("first account's output:\n%s", out.String())
		}
		info, err := client.New(n.Gateway).AccountInfo(ctx, n.Chain, client.AddressOf(key))
		if err != nil || info.Nonce != nonce || info.Account.Org != "org1" || info.Account.Algo != algo {
			t.Fatalf("%s account %+v, %v", algo, info, err)
		}
	}

	// Registering the same key again is refused.
	var out bytes.Buffer
	err := run(ctx, n.Args("-name", "colleague-sm2", "-identity-file", record), &out)
	if err == nil || !strings.Contains(err.Error(), "already_exists") {
		t.Fatalf("second registration: %v", err)
	}
	for _, args := range [][]string{
		{"-identity-file", record},
		{"-name", "x"},
		{"-name", "x", "-identity-file", record, "-algo", "rsa"},
		{"-name", "x", "-identity-file", record, "-roles", "regulator"},
	} {
		if err := run(ctx, n.Args(args...), &out); err == nil {
			t.Errorf("no error for %q", args)
		}
	}
}
