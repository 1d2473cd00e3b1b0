package gateway

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/client"
	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/modules/attest"
	"github.com/lianchain/lian/modules/credits"
	"github.com/lianchain/lian/modules/gov"
	"github.com/lianchain/lian/modules/identity"
	"github.com/lianchain/lian/modules/message"
	"github.com/lianchain/lian/modules/xchain"
	"github.com/lianchain/lian/modules/xchain/xchaintest"
	"github.com/lianchain/lian/store"
	"github.com/lianchain/lian/txs"
)

// xchainFixture is cross-chain state on the shared test chain, made against a simulated
// counterparty chain (peerChainID): validators whose keys the test holds sign its
// headers, and an in-memory IAVL store is its state, so the test can prove what the
// counterparty "did". Governance created a client of the peer and two routes; one
// attestation was asked and answered (not found), one message was received from the
// peer and one sent to it (pending).
type xchainFixture struct {
	peer         string // the counterparty's chain id, also the client id
	attestRoute  string // this chain's attest route to the peer
	messageRoute string // this chain's message route to the peer
	digest       []byte // attested: the peer answered "not found"
	attestSeq    uint64 // the attestation's packet, acknowledged
	sentSeq      uint64 // the message sent to the peer, pending
	inboxSeq     uint64 // the message received from the peer
	handler      string // its handler
	payload      []byte // its payload
	relayer      crypto.PrivKey
	attestTx     api.TxResult // the attest transaction
}

const peerChainID = "gw-peer-1"

var (
	xfixOnce sync.Once
	xfix     *xchainFixture
)

// xchainSetup returns the fixture, making it on first use.
func xchainSetup(t *testing.T, tn *testNet) *xchainFixture {
	t.Helper()
	xfixOnce.Do(func() { xfix = makeXchainFixture(t, tn) })
	if xfix == nil {
		t.Fatal("the cross-chain fixture failed (see the first test that used it)")
	}
	return xfix
}

// peerChain is the simulated counterparty: its validators and state.
type peerChain struct {
	vals   *xchaintest.Validators
	st     *store.Store
	height int64 // of the last header made
}

// header commits the peer's pending state and signs the next header over it (app hash
// of the state just committed), at time t.
func (p *peerChain) header(t *testing.T, at time.Time) (*xchain.ConsensusState, int64) {
	t.Helper()
	_, version, err := p.st.Commit()
	if err != nil {
		t.Fatal(err)
	}
	p.height = version + 1
	sh := p.vals.Sign(xchaintest.Header{ChainID: peerChainID, Height: p.height, Time: at, AppHash: p.st.LastHash()})
	return &xchain.ConsensusState{Height: sh.Height, Time: sh.Time.UTC(), AppHash: sh.AppHash,
		NextValidatorsHash: sh.NextValidatorsHash, HeaderHash: sh.Hash()}, version
}

// prove returns the proof of key in the peer's state at version.
func (p *peerChain) prove(t *testing.T, key []byte, version int64) []byte {
	t.Helper()
	_, proof, err := p.st.Prove(key, version)
	if err != nil {
		t.Fatal(err)
	}
	b, err := store.EncodeProof(proof)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func makeXchainFixture(t *testing.T, tn *testNet) *xchainFixture {
	t.Helper()
	f := &xchainFixture{peer: peerChainID, attestRoute: "attest-" + peerChainID, messageRoute: "message-" + peerChainID,
		digest: digestOf(fmt.Sprintf("xchain fixture %d", time.Now().UnixNano())), handler: "orders", payload: []byte(`{"order":42}`)}
	st, err := store.OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	peer := &peerChain{vals: xchaintest.NewValidators("gw-peer", 4), st: st}
	st.Set([]byte("app/chain_id"), []byte(peerChainID))
	trusted, _ := peer.header(t, time.Now().Add(-20*time.Second))

	// A relayer account of org1, with credits.
	k, err := crypto.GenPrivKey(crypto.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	f.relayer = k
	addr := k.PubKey().Address()
	tn.send(t, tn.admin,
		&identity.MsgRegisterAccount{PubKey: k.PubKey().Bytes(), Algo: crypto.Ed25519, Roles: []string{identity.RoleRelayer},
			IdentityHash: digestOf("relayer " + addr.String())},
		&credits.MsgTopUp{Account: &addr, Currency: "CNY", Amount: 100_000, PaymentRef: "xchain-" + addr.String(), PayerName: "relayer"})

	// Governance: the client of the peer and two routes to it, voted in one go.
	cp := xchain.ClientParams{ChainID: peerChainID, TrustingPeriod: xchain.Duration(336 * time.Hour),
		MaxClockDrift: xchain.Duration(10 * time.Second), ConsensusState: trusted}
	res := tn.send(t, tn.admin,
		mustProposal(t, gov.KindCreateClient, "trust "+peerChainID, gov.ClientContent{ClientParams: cp}),
		mustProposal(t, gov.KindOpenRoute, "attest route", gov.RouteContent{RouteParams: xchain.RouteParams{ID: f.attestRoute,
			Port: attest.Name, Client: peerChainID, CounterpartyRoute: "attest-" + testChainID, CounterpartyPort: attest.Name}}),
		mustProposal(t, gov.KindOpenRoute, "message route", gov.RouteContent{RouteParams: xchain.RouteParams{ID: f.messageRoute,
			Port: message.Name, Client: peerChainID, CounterpartyRoute: "message-" + testChainID, CounterpartyPort: message.Name}}))
	var ids []uint64
	for _, e := range res.Events {
		if e.Type != gov.EventSubmitted {
			continue
		}
		for _, a := range e.Attributes {
			if a.Key == "proposal" {
				id, _ := strconv.ParseUint(a.Value, 10, 64)
				ids = append(ids, id)
			}
		}
	}
	if len(ids) != 3 {
		t.Fatalf("proposal ids %v from %+v", ids, res.Events)
	}
	var votes []txs.Msg
	for _, id := range ids {
		votes = append(votes, &gov.MsgVote{ProposalID: id, Option: gov.VoteYes})
	}
	routeOpen := func() bool {
		var r api.XRoute
		status, body := call(t, tn.srv.URL, http.MethodGet, "/v1/chains/"+testChainID+"/xchain/routes/"+f.messageRoute, nil)
		return status == http.StatusOK && json.Unmarshal(body, &r) == nil
	}
	// Every organisation's admin votes until the proposals pass (an organisation another
	// test suspended cannot vote: its transaction fails, and the others carry it).
	for _, k := range append([]crypto.PrivKey{tn.admin, tn.regulator}, tn.orgAdmins...) {
		if routeOpen() {
			break
		}
		tn.trySend(t, k, votes...)
	}
	if !routeOpen() {
		t.Fatalf("the xchain proposals %v did not pass", ids)
	}

	// Ask the peer about a digest, and send it a message.
	f.attestTx = tn.send(t, tn.admin, &attest.MsgAttest{Route: f.attestRoute, Digest: f.digest})
	asked := packetOf(t, f.attestTx)
	f.attestSeq = asked.Sequence
	sent := tn.send(t, tn.admin, &message.MsgSend{Route: f.messageRoute, Handler: "invoices", Payload: []byte("pending")})
	f.sentSeq = packetOf(t, sent).Sequence

	// The peer "received" the question (its ack is in its state) and sent a message;
	// the relayer brings the peer's header, the acknowledgement and the message.
	ack := (&xchain.Ack{Result: []byte(`{"found":false}`)}).Bytes()
	ackKey := xchain.AckPath(asked.DestRoute, asked.Sequence)
	st.Set(ackKey, xchain.AckHash(ack))
	env, _ := json.Marshal(struct {
		Handler string         `json:"handler"`
		Sender  crypto.Address `json:"sender"`
		Payload []byte         `json:"payload"`
	}{f.handler, addr, f.payload})
	in := &xchain.Packet{Sequence: 1, SourceRoute: "message-" + testChainID, DestRoute: f.messageRoute, Payload: env,
		TimeoutTime: uint64(time.Now().Add(time.Hour).UnixNano())}
	st.Set(xchain.CommitmentPath(in.SourceRoute, in.Sequence), xchain.Commitment(in))
	cs, version := peer.header(t, time.Now().Add(-time.Second))
	sh := peer.vals.Sign(xchaintest.Header{ChainID: peerChainID, Height: cs.Height, Time: cs.Time, AppHash: cs.AppHash})
	h, err := xchain.NewHeader(sh, peer.vals.Set, trusted.Height, nil)
	if err != nil {
		t.Fatal(err)
	}
	relayed := tn.send(t, k,
		&xchain.MsgUpdateClient{ClientID: peerChainID, Header: h},
		&xchain.MsgAcknowledge{Packet: asked, Ack: ack, Proof: peer.prove(t, ackKey, version), ProofHeight: cs.Height},
		&xchain.MsgRecvPacket{Packet: in, Proof: peer.prove(t, xchain.CommitmentPath(in.SourceRoute, in.Sequence), version), ProofHeight: cs.Height})
	if attr(relayed.Events, attest.EventAnswered, "found") != "false" || attr(relayed.Events, message.EventReceived, "handler") != f.handler {
		t.Fatalf("relay events %+v", relayed.Events)
	}
	f.inboxSeq = in.Sequence
	return f
}

func mustProposal(t *testing.T, kind, title string, content any) *gov.MsgSubmitProposal {
	t.Helper()
	m, err := client.NewProposal(kind, title, content)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// packetOf rebuilds the packet a transaction sent from its send_packet event.
func packetOf(t *testing.T, res api.TxResult) *xchain.Packet {
	t.Helper()
	p, err := client.PacketOf(&res)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestXChainRoutes(t *testing.T) {
	tn := chainNet(t)
	f := xchainSetup(t, tn)
	base := tn.srv.URL
	x := "/v1/chains/" + testChainID + "/xchain"
	digestHex := strings.ToUpper(hex.EncodeToString(f.digest))

	t.Run("clients", func(t *testing.T) {
		var page api.XClients
		getJSON(t, base, x+"/clients", http.StatusOK, &page)
		var views []xchain.ClientView
		for _, raw := range page.Clients {
			var v xchain.ClientView
			if err := json.Unmarshal(raw, &v); err != nil {
				t.Fatal(err)
			}
			views = append(views, v)
		}
		if len(views) != 1 || views[0].ID != f.peer || views[0].ChainID != f.peer || views[0].Status != xchain.StatusActive ||
			views[0].Latest == nil || views[0].LatestHeight != views[0].Latest.Height || page.Height < 1 || page.Next != "" {
			t.Fatalf("clients %+v", page)
		}
		var one api.XClient
		getJSON(t, base, x+"/clients/"+f.peer, http.StatusOK, &one)
		var v xchain.ClientView
		if err := json.Unmarshal(one.Client, &v); err != nil || v.ID != f.peer || v.NumConsensus != 2 {
			t.Fatalf("client %s: %v", one.Client, err)
		}
	})

	t.Run("routes", func(t *testing.T) {
		var page api.XRoutes
		getJSON(t, base, x+"/routes", http.StatusOK, &page)
		if len(page.Routes) != 2 || page.Next != "" {
			t.Fatalf("routes %+v", page)
		}
		getJSON(t, base, x+"/routes?limit=1", http.StatusOK, &page)
		var r xchain.Route
		if len(page.Routes) != 1 || page.Next != f.attestRoute || json.Unmarshal(page.Routes[0], &r) != nil || r.ID != f.attestRoute {
			t.Fatalf("first page %+v", page)
		}
		var page2 api.XRoutes
		getJSON(t, base, x+"/routes?limit=1&cursor="+page.Next, http.StatusOK, &page2)
		if len(page2.Routes) != 1 || page2.Next != "" || json.Unmarshal(page2.Routes[0], &r) != nil || r.ID != f.messageRoute || r.Port != message.Name {
			t.Fatalf("second page %+v", page2)
		}
		var one api.XRoute
		getJSON(t, base, x+"/routes/"+f.attestRoute, http.StatusOK, &one)
		if json.Unmarshal(one.Route, &r) != nil || r.Status != xchain.RouteOpen || r.Client != f.peer || one.NextSequence <= f.attestSeq {
			t.Fatalf("route %+v", one)
		}
	})

	t.Run("packets", func(t *testing.T) {
		var pv api.XPacket
		getJSON(t, base, fmt.Sprintf("%s/routes/%s/packets/%d", x, f.attestRoute, f.attestSeq), http.StatusOK, &pv)
		var v xchain.PacketView
		if json.Unmarshal(pv.Packet, &v) != nil || v.State != xchain.PacketAcknowledged || v.Outcome == nil || v.Outcome.ProofHeight < 2 || v.Received {
			t.Fatalf("attest packet %s", pv.Packet)
		}
		getJSON(t, base, fmt.Sprintf("%s/routes/%s/packets/%d", x, f.messageRoute, f.inboxSeq), http.StatusOK, &pv)
		if json.Unmarshal(pv.Packet, &v) != nil || !v.Received || len(v.AckHash) != 32 {
			t.Fatalf("message packet %s", pv.Packet)
		}
		// Other tests send more packets on the routes: the fixture's are among them.
		var list api.XPackets
		getJSON(t, base, x+"/routes/"+f.messageRoute+"/packets", http.StatusOK, &list)
		if len(list.Packets) != int(list.NextSequence-1) || list.NextSequence <= f.sentSeq || list.Next != "" {
			t.Fatalf("packets %+v", list)
		}
		if json.Unmarshal(list.Packets[len(list.Packets)-int(f.sentSeq)], &v) != nil || v.Sequence != f.sentSeq || v.State != xchain.PacketPending {
			t.Fatalf("the fixture's packet %s", list.Packets[0])
		}
		var page api.XPackets
		getJSON(t, base, x+"/routes/"+f.messageRoute+"/packets?limit=1", http.StatusOK, &page)
		if len(page.Packets) != 1 || (page.Next == "") != (list.NextSequence == 2) {
			t.Fatalf("a page of one packet %+v", page)
		}
		var pend api.XPending
		getJSON(t, base, x+"/routes/"+f.messageRoute+"/pending", http.StatusOK, &pend)
		if !slices.Contains(pend.Sequences, f.sentSeq) || pend.Next != "" {
			t.Fatalf("pending %+v", pend)
		}
		getJSON(t, base, x+"/routes/"+f.messageRoute+"/pending?limit=1", http.StatusOK, &pend)
		if len(pend.Sequences) != 1 {
			t.Fatalf("a page of one pending packet %+v", pend)
		}
		getJSON(t, base, x+"/routes/"+f.attestRoute+"/pending", http.StatusOK, &pend)
		if slices.Contains(pend.Sequences, f.attestSeq) {
			t.Fatalf("attest pending %+v", pend)
		}
	})

	t.Run("application records", func(t *testing.T) {
		var rec api.XRecord
		getJSON(t, base, fmt.Sprintf("%s/routes/%s/requests/%d", x, f.attestRoute, f.attestSeq), http.StatusOK, &rec)
		var req attest.Request
		if json.Unmarshal(rec.Record, &req) != nil || req.Status != attest.StatusAnswered || req.ChainID != f.peer {
			t.Fatalf("request %s", rec.Record)
		}
		getJSON(t, base, fmt.Sprintf("%s/routes/%s/messages/%d", x, f.messageRoute, f.sentSeq), http.StatusOK, &rec)
		var sent message.Sent
		if json.Unmarshal(rec.Record, &sent) != nil || sent.Status != message.StatusSent || sent.Handler != "invoices" {
			t.Fatalf("sent %s", rec.Record)
		}
		getJSON(t, base, fmt.Sprintf("%s/inbox/%s/%s/%d", x, f.handler, f.messageRoute, f.inboxSeq), http.StatusOK, &rec)
		var d message.Delivered
		if json.Unmarshal(rec.Record, &d) != nil || d.ChainID != f.peer || string(d.Payload) != string(f.payload) {
			t.Fatalf("delivered %s", rec.Record)
		}
	})

	t.Run("attestation", func(t *testing.T) {
		var a api.XAttestation
		getJSON(t, base, x+"/attestations/"+f.peer+"/"+digestHex, http.StatusOK, &a)
		var att attest.Attestation
		if json.Unmarshal(a.Attestation, &att) != nil || att.Found || att.ChainID != f.peer || att.Sequence != f.attestSeq || a.Proof != nil {
			t.Fatalf("attestation %+v", a)
		}
		getJSON(t, base, x+"/attestations/"+f.peer+"/"+strings.ToLower(digestHex)+"?prove=true", http.StatusOK, &a)
		if a.Proof == nil || a.Proof.Height != a.Height {
			t.Fatalf("proven attestation %+v", a)
		}
		v, got, err := client.VerifyAttestation(testChainID, f.peer, f.digest, &a, client.VerifyOptions{})
		if err != nil || got.Found || got.ChainID != f.peer || v.Height != a.Height {
			t.Fatalf("verify: %+v %+v %v", v, got, err)
		}
		// What the proof does not show is refused.
		tampered := a
		tampered.Attestation = json.RawMessage(strings.Replace(string(a.Attestation), `"found":false`, `"found":true`, 1))
		forged := a
		p := *a.Proof
		p.Proof = append([]byte{}, p.Proof...)
		p.Proof[len(p.Proof)/2] ^= 1
		forged.Proof = &p
		for name, c := range map[string]struct {
			chain, source string
			digest        []byte
			a             *api.XAttestation
		}{
			"another source":    {testChainID, "gw-other-1", f.digest, &a},
			"another digest":    {testChainID, f.peer, digestOf("other"), &a},
			"another chain":     {"gw-other-1", f.peer, f.digest, &a},
			"record not proven": {testChainID, f.peer, f.digest, &tampered},
			"corrupted proof":   {testChainID, f.peer, f.digest, &forged},
			"no proof":          {testChainID, f.peer, f.digest, &api.XAttestation{Attestation: a.Attestation, Height: a.Height}},
		} {
			if _, _, err := client.VerifyAttestation(c.chain, c.source, c.digest, c.a, client.VerifyOptions{}); err == nil {
				t.Errorf("%s: verified", name)
			}
		}
	})

	t.Run("transaction views", func(t *testing.T) {
		var res api.TxResult
		getJSON(t, base, x[:len(x)-len("/xchain")]+"/txs/"+f.attestTx.Hash, http.StatusOK, &res)
		if res.Body == nil || len(res.Body.Messages) != 1 ||
			!strings.Contains(string(res.Body.Messages[0].Decoded), `"route":"`+f.attestRoute+`"`) {
			t.Fatalf("attest tx %+v", res.Body)
		}
	})

	errs := []struct {
		name, path string
		status     int
		code       string
	}{
		{"unknown client", x + "/clients/nobody", http.StatusNotFound, "not_found"},
		{"bad client id", x + "/clients/Nobody", http.StatusBadRequest, "invalid_request"},
		{"bad cursor", x + "/clients?cursor=A%20B", http.StatusBadRequest, "invalid_request"},
		{"unknown route", x + "/routes/nowhere", http.StatusNotFound, "not_found"},
		{"packets of an unknown route", x + "/routes/nowhere/packets", http.StatusNotFound, "not_found"},
		{"pending of an unknown route", x + "/routes/nowhere/pending", http.StatusNotFound, "not_found"},
		{"packet never sent", x + "/routes/" + f.attestRoute + "/packets/999", http.StatusNotFound, "not_found"},
		{"sequence 0", x + "/routes/" + f.attestRoute + "/packets/0", http.StatusBadRequest, "invalid_request"},
		{"sequence not a number", x + "/routes/" + f.attestRoute + "/packets/x", http.StatusBadRequest, "invalid_request"},
		{"bad packet cursor", x + "/routes/" + f.attestRoute + "/packets?cursor=0", http.StatusBadRequest, "invalid_request"},
		{"pending limit too large", x + "/routes/" + f.attestRoute + "/pending?limit=1001", http.StatusBadRequest, "invalid_request"},
		{"no request", x + "/routes/" + f.attestRoute + "/requests/999", http.StatusNotFound, "not_found"},
		{"no sent message", x + "/routes/" + f.messageRoute + "/messages/999", http.StatusNotFound, "not_found"},
		{"empty inbox", x + "/inbox/nobody/" + f.messageRoute + "/1", http.StatusNotFound, "not_found"},
		{"bad handler", x + "/inbox/No%20Body/" + f.messageRoute + "/1", http.StatusBadRequest, "invalid_request"},
		{"no attestation", x + "/attestations/" + f.peer + "/" + strings.Repeat("AB", 32), http.StatusNotFound, "not_found"},
		{"no attestation to prove", x + "/attestations/" + f.peer + "/" + strings.Repeat("AB", 32) + "?prove=true", http.StatusNotFound, "not_found"},
		{"short digest", x + "/attestations/" + f.peer + "/ABCD", http.StatusBadRequest, "invalid_request"},
		{"bad prove", x + "/attestations/" + f.peer + "/" + digestHex + "?prove=maybe", http.StatusBadRequest, "invalid_request"},
		{"unknown chain", "/v1/chains/nope/xchain/clients", http.StatusNotFound, "not_found"},
	}
	for _, c := range errs {
		t.Run(c.name, func(t *testing.T) {
			status, body := call(t, base, http.MethodGet, c.path, nil)
			apiErr(t, c.name, status, c.status, body, c.code)
		})
	}
}
