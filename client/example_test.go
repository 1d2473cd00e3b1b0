package client_test

// The snippets of docs/sdk.md, compiled with the package's tests. They need a running
// network (`lian up`), so they have no Output and are not run; examples/ holds complete
// programs that the tests do run.

import (
	"context"
	"errors"
	"fmt"
	"log"
	"sync"

	"github.com/lianchain/lian/client"
	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules/evidence"
	"github.com/lianchain/lian/modules/gov"
	"github.com/lianchain/lian/modules/identity"
)

func ExampleSender() {
	ctx := context.Background()
	c := client.New(client.DefaultGateway())
	key, err := client.LoadKey(client.KeysDir(client.DefaultHome()), "demo")
	if err != nil {
		log.Fatal(err)
	}
	s, err := client.NewSender(c, "beijing-1", key)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	// 1,000 anchors from one account over 32 goroutines: the Sender numbers them.
	var wg sync.WaitGroup
	jobs := make(chan int)
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				d, _ := client.IdentityHash(evidence.HashSHA256, fmt.Appendf(nil, "document %d", i))
				msg, err := client.NewAnchor(d, evidence.HashSHA256, fmt.Sprintf("batch mint %d", i))
				if err != nil {
					log.Fatal(err)
				}
				res, err := s.Send(ctx, msg) // returns once committed
				if err != nil {
					log.Printf("document %d: %v", i, err)
					continue
				}
				log.Printf("document %d: tx %s at height %d", i, res.Hash, res.Height)
			}
		}()
	}
	for i := 0; i < 1000; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	fmt.Printf("%+v\n", s.Stats())
}

func ExampleSender_Submit() {
	ctx := context.Background()
	c := client.New(client.DefaultGateway())
	key, _ := client.LoadKey(client.KeysDir(client.DefaultHome()), "demo")
	s, _ := client.NewSender(c, "beijing-1", key)
	defer s.Close()

	// Submit returns once the mempool admitted the transaction; Wait for its commit later.
	var tickets []*client.Ticket
	for _, f := range []string{"p1.txt", "p2.txt", "p3.txt"} {
		msg, _, err := client.NewFileAnchor(f, evidence.HashSM3, "pages")
		if err != nil {
			log.Fatal(err)
		}
		t, err := s.Submit(ctx, msg)
		if err != nil {
			log.Fatal(err) // refused: already_exists, insufficient_credits, ...
		}
		tickets = append(tickets, t)
	}
	for _, t := range tickets {
		res, err := t.Wait(ctx)
		fmt.Println(t.Nonce(), res.Hash, err)
	}
}

func ExampleGenerateKey() {
	// A key of each algorithm; each signs transactions the chain verifies.
	for _, algo := range []crypto.Algo{crypto.Ed25519, crypto.SM2, crypto.Secp256k1} {
		key, err := client.GenerateKey(algo)
		if err != nil {
			log.Fatal(err)
		}
		d, _ := client.IdentityHash(evidence.HashSHA256, []byte("offline"))
		msg, _ := client.NewAnchor(d, evidence.HashSHA256, "")
		tx, err := client.BuildTx("beijing-1", 0, key, "", msg) // signed offline, nonce 0
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(algo, client.AddressOf(key), len(tx))
	}
}

func ExampleNewRegisterAccount() {
	ctx := context.Background()
	c := client.New(client.DefaultGateway())
	keys := client.KeysDir(client.DefaultHome())
	admin, _ := client.LoadKey(keys, "demo")
	alice, err := client.LoadOrCreateKey(keys, "alice", crypto.SM2)
	if err != nil {
		log.Fatal(err)
	}
	ih, _ := client.IdentityHash(evidence.HashSHA256, []byte("Alice Zhang, ID 110101199001011234, dept. records"))
	reg, err := client.NewRegisterAccount(alice.PubKey(), ih, identity.RoleMember)
	if err != nil {
		log.Fatal(err)
	}
	top, err := client.NewTopUp(client.AddressOf(alice).String(), "CNY", 500, "BANK-0001", "Alice Zhang")
	if err != nil {
		log.Fatal(err)
	}
	s, _ := client.NewSender(c, "beijing-1", admin)
	defer s.Close()
	if _, err := s.Send(ctx, reg, top); err != nil { // both in one transaction
		log.Fatal(err)
	}
	info, _ := c.AccountInfo(ctx, "beijing-1", client.AddressOf(alice))
	fmt.Println(info.Account.Org, info.Account.Roles, info.Nonce)
}

func ExampleNewProposal() {
	ctx := context.Background()
	c := client.New(client.DefaultGateway())
	admin, _ := client.LoadKey(client.KeysDir(client.DefaultHome()), "demo")
	s, _ := client.NewSender(c, "beijing-1", admin)
	defer s.Close()

	p, err := client.NewProposal(gov.KindSuspendOrg, "Suspend org4 pending its audit", gov.OrgRef{ID: "org4"})
	if err != nil {
		log.Fatal(err)
	}
	res, err := s.Send(ctx, p)
	if err != nil {
		log.Fatal(err)
	}
	id, _ := client.ProposalIDOf(res)
	vote, _ := client.NewVote(id, gov.VoteYes)
	res, err = s.Send(ctx, vote)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("proposal", id, "decided:", client.DecisionOf(res))
}

func ExampleClient_Evidence() {
	ctx := context.Background()
	c := client.New(client.DefaultGateway())
	d, err := client.DigestFile(evidence.HashSHA256, "contract.txt")
	if err != nil {
		log.Fatal(err)
	}
	ev, err := c.Evidence(ctx, "beijing-1", d, true)
	if errors.Is(err, &client.Error{Code: errcode.NotFound.String()}) {
		fmt.Println("not anchored")
		return
	}
	if err != nil {
		log.Fatal(err)
	}
	// Check the proof on the client, against the validators pinned by `lian up`.
	trust, _ := client.LoadTrust(client.TrustDir(client.DefaultHome()), "beijing-1")
	opts := client.VerifyOptions{}
	if trust != nil {
		opts.TrustedValidatorsHash, opts.Trust = trust.ValidatorsHash, trust
	}
	v, err := client.VerifyEvidenceWithOptions("beijing-1", d, ev, opts)
	if err != nil {
		log.Fatal("NOT verified: ", err)
	}
	fmt.Println("anchored at height", v.Record.Height, "by", v.Record.Submitter, "at", v.BlockTime)
}

func ExampleClient_AllAccountTxs() {
	ctx := context.Background()
	c := client.New(client.DefaultGateway())
	key, _ := client.LoadKey(client.KeysDir(client.DefaultHome()), "demo")
	for tx, err := range c.AllAccountTxs(ctx, "beijing-1", client.AddressOf(key), client.TxQuery{Limit: client.MaxPageLimit}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(tx.Height, tx.Body.Nonce, tx.Hash, tx.CodeName)
	}
}
