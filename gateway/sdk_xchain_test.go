package gateway

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/lianchain/lian/client"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules/attest"
	"github.com/lianchain/lian/modules/message"
	"github.com/lianchain/lian/modules/xchain"
)

// TestSDKXChain reads the cross-chain state through the SDK's typed methods and sends
// an attestation request and a message with its builders.
func TestSDKXChain(t *testing.T) {
	tn := chainNet(t)
	f := xchainSetup(t, tn)
	c := client.New(tn.srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	clients, err := c.AllLightClients(ctx, testChainID)
	must(err)
	if len(clients) != 1 || clients[0].ID != f.peer || clients[0].Status != xchain.StatusActive || clients[0].TrustLevel != xchain.DefaultTrustLevel {
		t.Fatalf("clients %+v", clients)
	}
	cl, err := c.LightClient(ctx, testChainID, f.peer)
	must(err)
	if cl.Client.Latest == nil || cl.Client.Latest.Height != cl.Client.LatestHeight {
		t.Fatalf("client %+v", cl)
	}

	for _, tc := range []struct{ port, want string }{{attest.Name, f.attestRoute}, {message.Name, f.messageRoute}} {
		r, err := c.FindRoute(ctx, testChainID, tc.port, f.peer)
		if err != nil || r.ID != tc.want {
			t.Fatalf("route of %s: %+v, %v", tc.port, r, err)
		}
	}
	if _, err := c.FindRoute(ctx, testChainID, attest.Name, "nowhere-1"); errcode.Of(err) != errcode.NotFound {
		t.Fatalf("route to an unknown chain: %v", err)
	}

	// A new question: its packet is sent, pending, and its request pending.
	msg, err := client.NewAttest(f.attestRoute, digestOf("sdk attest "+time.Now().String()), 5*time.Minute)
	must(err)
	tx, err := c.SignTx(ctx, testChainID, tn.admin, "", msg)
	must(err)
	res, err := c.BroadcastTx(ctx, testChainID, tx, true)
	must(err)
	p, err := client.PacketOf(res)
	must(err)
	if p.SourceRoute != f.attestRoute || p.Sequence <= f.attestSeq || p.TimeoutTime == 0 {
		t.Fatalf("packet %+v", p)
	}
	pi, err := c.Packet(ctx, testChainID, f.attestRoute, p.Sequence)
	must(err)
	if pi.Packet.State != xchain.PacketPending || len(pi.Packet.Commitment) != 32 {
		t.Fatalf("packet view %+v", pi.Packet)
	}
	pend, err := c.PendingPackets(ctx, testChainID, f.attestRoute, client.PageQuery{})
	must(err)
	if !slices.Contains(pend.Sequences, p.Sequence) || slices.Contains(pend.Sequences, f.attestSeq) {
		t.Fatalf("pending %+v", pend)
	}
	req, _, err := c.AttestRequest(ctx, testChainID, f.attestRoute, p.Sequence)
	must(err)
	if req.Status != attest.StatusPending || req.ChainID != f.peer {
		t.Fatalf("request %+v", req)
	}
	list, err := c.Packets(ctx, testChainID, f.attestRoute, client.PageQuery{Limit: 1})
	must(err)
	if len(list.Packets) != 1 || list.Packets[0].Sequence != p.Sequence || list.NextSequence != p.Sequence+1 {
		t.Fatalf("packets %+v", list)
	}
	ri, err := c.Route(ctx, testChainID, f.attestRoute)
	must(err)
	if ri.NextSequence != p.Sequence+1 || ri.Route.Port != attest.Name {
		t.Fatalf("route %+v", ri)
	}

	// The answered question and the messages.
	att, err := c.AttestationRecord(ctx, testChainID, f.peer, f.digest)
	must(err)
	if att.Attestation.Found || att.Attestation.Sequence != f.attestSeq {
		t.Fatalf("attestation %+v", att)
	}
	proven, err := c.Attestation(ctx, testChainID, f.peer, f.digest, true)
	must(err)
	if _, _, err := client.VerifyAttestation(testChainID, f.peer, f.digest, proven, client.VerifyOptions{}); err != nil {
		t.Fatal(err)
	}
	in, _, err := c.InboxMessage(ctx, testChainID, f.handler, f.messageRoute, f.inboxSeq)
	must(err)
	if in.ChainID != f.peer || string(in.Payload) != string(f.payload) {
		t.Fatalf("inbox %+v", in)
	}
	send, err := client.NewSendMessage(f.messageRoute, "orders", []byte(`{"n":1}`), 0)
	must(err)
	tx, err = c.SignTx(ctx, testChainID, tn.admin, "", send)
	must(err)
	res, err = c.BroadcastTx(ctx, testChainID, tx, true)
	must(err)
	sp, err := client.PacketOf(res)
	must(err)
	sent, _, err := c.SentMessage(ctx, testChainID, f.messageRoute, sp.Sequence)
	must(err)
	if sent.Status != message.StatusSent || sent.Handler != "orders" {
		t.Fatalf("sent %+v", sent)
	}

	// The governance helper: the consensus state of one of the gateway's chains' headers.
	cs, h, err := c.TrustedHeader(ctx, testChainID, 0)
	must(err)
	if cs.Height != h.Height || len(cs.HeaderHash) != 32 || len(cs.AppHash) == 0 {
		t.Fatalf("trusted header %+v", cs)
	}
}
