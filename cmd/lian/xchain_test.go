package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cmtjson "github.com/cometbft/cometbft/libs/json"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/modules/attest"
	"github.com/lianchain/lian/modules/gov"
	"github.com/lianchain/lian/modules/message"
	"github.com/lianchain/lian/modules/xchain"
	"github.com/lianchain/lian/modules/xchain/xchaintest"
)

func rawJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// xchainRoutes serves beijing-1's routes and clients: attest and message routes to
// guangzhou-1, and an attest route to shanghai-1.
func (g *cliGateway) xchainRoutes(t *testing.T) {
	open := func(id, port, client string) json.RawMessage {
		return rawJSON(t, xchain.Route{ID: id, Port: port, Client: client, CounterpartyRoute: port + "-beijing-1", CounterpartyPort: port, Status: xchain.RouteOpen, OpenedHeight: 3})
	}
	g.doc("GET /v1/chains/beijing-1/xchain/routes", 200, api.XRoutes{Routes: []json.RawMessage{
		open("attest-guangzhou-1", attest.Name, "guangzhou-1"), open("attest-shanghai-1", attest.Name, "shanghai-1"),
		open("message-guangzhou-1", message.Name, "guangzhou-1")}, Height: 9})
	view := func(id string, status string) json.RawMessage {
		return rawJSON(t, xchain.ClientView{ClientState: &xchain.ClientState{ID: id, ChainID: id, TrustLevel: xchain.DefaultTrustLevel,
			TrustingPeriod: xchain.Duration(336 * time.Hour), MaxClockDrift: xchain.Duration(10 * time.Second), LatestHeight: 40},
			Status: status, Latest: &xchain.ConsensusState{Height: 40, Time: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}})
	}
	g.doc("GET /v1/chains/beijing-1/xchain/clients", 200, api.XClients{Clients: []json.RawMessage{view("guangzhou-1", xchain.StatusActive),
		view("shanghai-1", xchain.StatusExpired)}, Height: 9})
}

func sendPacketEvent(route string, seq string, payload []byte) api.Event {
	return event(xchain.EventSendPacket, "packet", route+"/"+seq, "source_route", route, "dest_route", "attest-beijing-1",
		"sequence", seq, "payload", hex.EncodeToString(payload), "timeout_height", "0", "timeout_time", "1795773600000000000")
}

func TestXchainAttestCLI(t *testing.T) {
	home := t.TempDir()
	gw := newCLIGateway(t)
	key := newKey(t, home, "demo", crypto.SM2)
	gw.account("beijing-1", key.PubKey().Address(), 0)
	gw.xchainRoutes(t)
	digest := bytes.Repeat([]byte{0xC4}, 32)
	gw.acceptTxs("beijing-1", committedWith(21, sendPacketEvent("attest-guangzhou-1", "5", digest),
		event(attest.EventRequested, "digest", strings.ToUpper(hex.EncodeToString(digest)), "chain_id", "guangzhou-1", "route", "attest-guangzhou-1", "sequence", "5")))
	base := []string{"tx", "xchain", "attest", "--chain", "beijing-1", "--from", "demo"}

	out := mustRun(t, home, gw.srv.URL, append(base, "--to", "guangzhou-1", "--digest", hex.EncodeToString(digest), "--timeout", "2h", "-o", "json")...)
	var res map[string]any
	oneJSON(t, out, &res)
	if res["route"] != "attest-guangzhou-1" || res["sequence"] != float64(5) || res["packet"] != "attest-guangzhou-1/5" || res["height"] != float64(21) ||
		res["to"] != "guangzhou-1" || res["timeout"] != "2026-11-27T10:00:00Z" {
		t.Fatalf("output %v", res)
	}
	m := lastMsg[*attest.MsgAttest](t, gw, attest.TypeAttest, attest.DecodeAttest)
	if m.Route != "attest-guangzhou-1" || !bytes.Equal(m.Digest, digest) || m.TimeoutSeconds != 7200 {
		t.Fatalf("message %+v", m)
	}

	// --file and --route; text output.
	doc := filepath.Join(t.TempDir(), "contract.txt")
	if err := os.WriteFile(doc, []byte("contract"), 0o600); err != nil {
		t.Fatal(err)
	}
	text := mustRun(t, home, gw.srv.URL, append(base, "--route", "attest-shanghai-1", "--file", doc)...)
	if !strings.Contains(text, "sequence: 5") || !strings.Contains(text, "route:    attest-guangzhou-1") {
		t.Errorf("text:\n%s", text)
	}
	if m = lastMsg[*attest.MsgAttest](t, gw, attest.TypeAttest, attest.DecodeAttest); m.Route != "attest-shanghai-1" || m.TimeoutSeconds != 0 {
		t.Fatalf("message %+v", m)
	}

	// --await: the request is answered; the answer is printed.
	req := attest.Request{Route: "attest-guangzhou-1", Sequence: 5, ChainID: "guangzhou-1", Digest: digest, Status: attest.StatusAnswered}
	gw.doc("GET /v1/chains/beijing-1/xchain/routes/attest-guangzhou-1/requests/5", 200, api.XRecord{Record: rawJSON(t, req), Height: 23})
	att := attest.Attestation{ChainID: "guangzhou-1", Digest: digest, Found: false, ProofHeight: 44, Route: "attest-guangzhou-1", Sequence: 5}
	gw.doc("GET /v1/chains/beijing-1/xchain/attestations/guangzhou-1/"+strings.ToUpper(hex.EncodeToString(digest)), 200, api.XAttestation{Attestation: rawJSON(t, att), Height: 23})
	out = mustRun(t, home, gw.srv.URL, append(base, "--to", "guangzhou-1", "--digest", hex.EncodeToString(digest), "--await", "10s", "-o", "json")...)
	res = nil
	oneJSON(t, out, &res)
	if res["status"] != "answered" || res["found"] != false || res["proof_height"] != float64(44) || res["sequence"] != float64(5) {
		t.Fatalf("awaited output %v", res)
	}
	// A request that timed out is an error.
	req.Status, req.Error = attest.StatusTimedOut, ""
	gw.doc("GET /v1/chains/beijing-1/xchain/routes/attest-guangzhou-1/requests/5", 200, api.XRecord{Record: rawJSON(t, req), Height: 23})
	if _, _, err := runCLI(t, home, gw.srv.URL, append(base, "--to", "guangzhou-1", "--digest", hex.EncodeToString(digest), "--await", "10s")...); err == nil ||
		!strings.Contains(err.Error(), "timed_out") {
		t.Errorf("timed-out request: %v", err)
	}
	// Still pending at the deadline.
	req.Status = attest.StatusPending
	gw.doc("GET /v1/chains/beijing-1/xchain/routes/attest-guangzhou-1/requests/5", 200, api.XRecord{Record: rawJSON(t, req), Height: 23})
	if _, _, err := runCLI(t, home, gw.srv.URL, append(base, "--to", "guangzhou-1", "--digest", hex.EncodeToString(digest), "--await", "1s")...); err == nil ||
		!strings.Contains(err.Error(), "no answer within 1s") {
		t.Errorf("pending request: %v", err)
	}

	n := len(gw.txs)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--digest", hex.EncodeToString(digest), "--to", "guangzhou-1", "--await", "1s", "--wait=false"}, "--await needs"},
		{[]string{"--digest", hex.EncodeToString(digest)}, "--to"},
		{[]string{"--to", "guangzhou-1"}, "--digest"},
		{[]string{"--to", "chengdu-1", "--digest", hex.EncodeToString(digest)}, "not_found"},
		{[]string{"--to", "guangzhou-1", "--digest", "abcd"}, "expected 32"},
		{[]string{"--to", "guangzhou-1", "--digest", hex.EncodeToString(digest), "--timeout", "1500ms"}, "whole seconds"},
		{[]string{"--to", "guangzhou-1", "--digest", hex.EncodeToString(digest), "--timeout", "200h"}, "whole seconds"},
	} {
		_, _, err := runCLI(t, home, gw.srv.URL, append(base, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want it to mention %q", tc.args, err, tc.want)
		}
	}
	if len(gw.txs) != n {
		t.Error("a transaction was sent despite a flag error")
	}
}

func TestXchainSendMessageCLI(t *testing.T) {
	home := t.TempDir()
	gw := newCLIGateway(t)
	key := newKey(t, home, "demo", crypto.Ed25519)
	gw.account("beijing-1", key.PubKey().Address(), 2)
	gw.xchainRoutes(t)
	payload := []byte(`{"invoice":"INV-7","amount":100}`)
	gw.acceptTxs("beijing-1", committedWith(30, sendPacketEvent("message-guangzhou-1", "2", []byte("envelope"))))
	pf := filepath.Join(t.TempDir(), "p.json")
	if err := os.WriteFile(pf, payload, 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"tx", "xchain", "send-message", "--chain", "beijing-1", "--from", "demo", "--to", "guangzhou-1"}
	out := mustRun(t, home, gw.srv.URL, append(base, "--handler", "invoices", "--payload-file", pf, "-o", "json")...)
	var res map[string]any
	oneJSON(t, out, &res)
	if res["route"] != "message-guangzhou-1" || res["sequence"] != float64(2) || res["handler"] != "invoices" || res["payload_bytes"] != float64(len(payload)) {
		t.Fatalf("output %v", res)
	}
	m := lastMsg[*message.MsgSend](t, gw, message.TypeSend, message.DecodeSend)
	if m.Route != "message-guangzhou-1" || m.Handler != "invoices" || !bytes.Equal(m.Payload, payload) {
		t.Fatalf("message %+v", m)
	}
	// --await: the message is delivered; the outcome is printed.
	sent := message.Sent{Route: "message-guangzhou-1", Sequence: 2, Handler: "invoices", Status: message.StatusDelivered}
	path := "GET /v1/chains/beijing-1/xchain/routes/message-guangzhou-1/messages/2"
	gw.doc(path, 200, api.XRecord{Record: rawJSON(t, sent), Height: 31})
	out = mustRun(t, home, gw.srv.URL, append(base, "--handler", "invoices", "--payload", "x", "--await", "10s", "-o", "json")...)
	res = nil
	oneJSON(t, out, &res)
	if res["status"] != "delivered" || res["sequence"] != float64(2) {
		t.Fatalf("awaited output %v", res)
	}
	// A refused message is an error, naming why.
	sent.Status, sent.Error = message.StatusRefused, "no handler invoices"
	gw.doc(path, 200, api.XRecord{Record: rawJSON(t, sent), Height: 31})
	if _, _, err := runCLI(t, home, gw.srv.URL, append(base, "--handler", "invoices", "--payload", "x", "--await", "10s")...); err == nil ||
		!strings.Contains(err.Error(), "refused: no handler invoices") {
		t.Errorf("refused message: %v", err)
	}
	// Still in flight at the deadline.
	sent.Status, sent.Error = message.StatusSent, ""
	gw.doc(path, 200, api.XRecord{Record: rawJSON(t, sent), Height: 31})
	if _, _, err := runCLI(t, home, gw.srv.URL, append(base, "--handler", "invoices", "--payload", "x", "--await", "1s")...); err == nil ||
		!strings.Contains(err.Error(), "no answer within 1s") {
		t.Errorf("message in flight: %v", err)
	}

	n := len(gw.txs)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--handler", "invoices", "--payload", "x", "--await", "1s", "--wait=false"}, "--await needs"},
		{[]string{"--handler", "invoices"}, "nothing to send"},
		{[]string{"--payload", "x"}, "--handler"},
		{[]string{"--handler", "Invoices", "--payload", "x"}, "invalid_message"},
		{[]string{"--handler", "invoices", "--payload", "x", "--payload-file", pf}, "not both"},
	} {
		_, _, err := runCLI(t, home, gw.srv.URL, append(base, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want it to mention %q", tc.args, err, tc.want)
		}
	}
	if len(gw.txs) != n {
		t.Error("a transaction was sent despite a flag error")
	}
}

func TestQueryXchainCLI(t *testing.T) {
	home := t.TempDir()
	gw := newCLIGateway(t)
	gw.xchainRoutes(t)
	x := "GET /v1/chains/beijing-1/xchain"
	q := []string{"query", "xchain", "--chain", "beijing-1"}
	run := func(args ...string) string { return mustRun(t, home, gw.srv.URL, append(q, args...)...) }

	text := run("clients")
	for _, want := range []string{"CLIENT", "guangzhou-1  guangzhou-1  active", "expired", "336h0m0s", "2026-11-27T10:00:00Z", "1/3"} {
		if !strings.Contains(text, want) {
			t.Errorf("clients text lacks %q:\n%s", want, text)
		}
	}
	var cl struct{ Clients []xchain.ClientView }
	oneJSON(t, run("clients", "-o", "json"), &cl)
	if len(cl.Clients) != 2 || cl.Clients[1].Status != xchain.StatusExpired {
		t.Fatalf("clients %+v", cl)
	}
	if text := run("routes"); !strings.Contains(text, "message-guangzhou-1") || !strings.Contains(text, "attest-beijing-1") {
		t.Errorf("routes:\n%s", text)
	}

	pv := xchain.PacketView{Route: "attest-guangzhou-1", Sequence: 5, State: xchain.PacketAcknowledged,
		Outcome: &xchain.Outcome{State: xchain.PacketAcknowledged, ProofHeight: 44, Height: 23}}
	gw.doc(x+"/routes/attest-guangzhou-1/packets/5", 200, api.XPacket{Packet: rawJSON(t, pv), Height: 25})
	text = run("packet", "--route", "attest-guangzhou-1", "--sequence", "5")
	for _, want := range []string{"state:          acknowledged", "proof_height:   44", "received:       false"} {
		if !strings.Contains(text, want) {
			t.Errorf("packet text lacks %q:\n%s", want, text)
		}
	}
	var pi struct {
		Packet xchain.PacketView
		Height int64
	}
	oneJSON(t, run("packet", "--route", "attest-guangzhou-1", "--sequence", "5", "-o", "json"), &pi)
	if pi.Packet.State != xchain.PacketAcknowledged || pi.Height != 25 {
		t.Fatalf("packet %+v", pi)
	}
	refused := xchain.PacketView{Route: "attest-guangzhou-1", Sequence: 6, State: xchain.PacketAcknowledged,
		Outcome: &xchain.Outcome{State: xchain.PacketAcknowledged, AckError: "invalid_message: bad digest", ProofHeight: 45, Height: 24}}
	gw.doc(x+"/routes/attest-guangzhou-1/packets", 200, api.XPackets{Packets: []json.RawMessage{rawJSON(t, refused), rawJSON(t, pv)}, Next: "5", NextSequence: 7, Height: 25})
	text = run("packets", "--route", "attest-guangzhou-1", "--limit", "2")
	for _, want := range []string{"SEQUENCE", "6         acknowledged  24       45            invalid_message: bad digest", "next page: --cursor 5"} {
		if !strings.Contains(text, want) {
			t.Errorf("packets text lacks %q:\n%s", want, text)
		}
	}
	var pl struct{ Packets []xchain.PacketView }
	oneJSON(t, run("packets", "--route", "attest-guangzhou-1", "-o", "json"), &pl)
	if len(pl.Packets) != 2 || pl.Packets[0].Sequence != 6 {
		t.Fatalf("packets %+v", pl)
	}
	gw.doc(x+"/routes/attest-guangzhou-1/pending", 200, api.XPending{Sequences: []uint64{6, 7}, Height: 25})
	if text := run("pending", "--route", "attest-guangzhou-1"); !strings.Contains(text, "sequences: 6 7") {
		t.Errorf("pending:\n%s", text)
	}

	digest := bytes.Repeat([]byte{0xC4}, 32)
	req := attest.Request{Route: "attest-guangzhou-1", Sequence: 5, ChainID: "guangzhou-1", Digest: digest, Status: attest.StatusAnswered, Height: 21, SettledHeight: 23}
	gw.doc(x+"/routes/attest-guangzhou-1/requests/5", 200, api.XRecord{Record: rawJSON(t, req), Height: 25})
	if text := run("request", "--route", "attest-guangzhou-1", "--sequence", "5"); !strings.Contains(text, "status:") || !strings.Contains(text, "answered") {
		t.Errorf("request:\n%s", text)
	}
	sent := message.Sent{Route: "message-guangzhou-1", Sequence: 2, Handler: "invoices", Status: message.StatusRefused, Error: "invalid_message: no such handler"}
	gw.doc(x+"/routes/message-guangzhou-1/messages/2", 200, api.XRecord{Record: rawJSON(t, sent), Height: 25})
	var so struct {
		Record message.Sent
		Height int64
	}
	oneJSON(t, run("message", "--route", "message-guangzhou-1", "--sequence", "2", "-o", "json"), &so)
	if so.Record.Status != message.StatusRefused || so.Height != 25 {
		t.Fatalf("message %+v", so)
	}
	in := message.Delivered{ChainID: "guangzhou-1", Route: "message-guangzhou-1", Sequence: 1, Handler: "orders", Payload: []byte("hello")}
	gw.doc(x+"/inbox/orders/message-guangzhou-1/1", 200, api.XRecord{Record: rawJSON(t, in), Height: 25})
	if text := run("inbox", "--handler", "orders", "--route", "message-guangzhou-1", "--sequence", "1"); !strings.Contains(text, "payload:      hello") {
		t.Errorf("inbox:\n%s", text)
	}

	att := attest.Attestation{ChainID: "guangzhou-1", Digest: digest, Found: false, ProofHeight: 44, Route: "attest-guangzhou-1", Sequence: 5, Height: 23}
	gw.doc(x+"/attestations/guangzhou-1/"+strings.ToUpper(hex.EncodeToString(digest)), 200, api.XAttestation{Attestation: rawJSON(t, att), Height: 25})
	text = run("attestation", hex.EncodeToString(digest), "--source", "guangzhou-1")
	for _, want := range []string{"found:         no: the digest is not anchored on guangzhou-1", "proof_height:  44 (of guangzhou-1)", "packet:        attest-guangzhou-1/5"} {
		if !strings.Contains(text, want) {
			t.Errorf("attestation text lacks %q:\n%s", want, text)
		}
	}
	var ao struct {
		Attestation attest.Attestation
		Height      int64
	}
	oneJSON(t, run("attestation", hex.EncodeToString(digest), "--source", "guangzhou-1", "-o", "json"), &ao)
	if ao.Attestation.ProofHeight != 44 || ao.Height != 25 {
		t.Fatalf("attestation %+v", ao)
	}
	// No answer: not_found, exit non-zero, one JSON document.
	out, _, err := runCLI(t, home, gw.srv.URL, append(q, "attestation", strings.Repeat("ab", 32), "--source", "guangzhou-1", "-o", "json")...)
	var errDoc struct{ Error api.Error }
	if err == nil {
		t.Fatal("no error for a missing attestation")
	}
	oneJSON(t, out, &errDoc)
	if errDoc.Error.Code != "not_found" {
		t.Fatalf("error %+v", errDoc)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"packet", "--route", "attest-guangzhou-1"}, "--sequence"},
		{[]string{"packet", "--sequence", "1"}, "--route"},
		{[]string{"pending"}, "--route"},
		{[]string{"packets"}, "--route"},
		{[]string{"inbox", "--route", "r", "--sequence", "1"}, "--handler"},
		{[]string{"attestation", hex.EncodeToString(digest)}, "--source"},
		{[]string{"attestation", "--source", "guangzhou-1"}, "DIGEST"},
	} {
		_, _, err := runCLI(t, home, gw.srv.URL, append(q, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want it to mention %q", tc.args, err, tc.want)
		}
	}
}

// fakeRPC is a CometBFT JSON-RPC endpoint answering commit and validators.
func fakeRPC(t *testing.T, commit *ctypes.ResultCommit, vals *ctypes.ResultValidators) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &req)
		var res any
		switch req.Method {
		case "commit":
			res = commit
		case "validators":
			res = vals
		}
		b, err := cmtjson.Marshal(res)
		if err != nil {
			t.Error(err)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": req.ID, "result": json.RawMessage(b)})
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestGovProposeXchainCLI(t *testing.T) {
	home := t.TempDir()
	gw := newCLIGateway(t)
	admin := newKey(t, home, "admin", crypto.SM2)
	gw.account("beijing-1", admin.PubKey().Address(), 4)
	gw.acceptTxs("beijing-1", committedWith(9, event(gov.EventSubmitted, "proposal", "17", "kind", "x")))
	base := []string{"tx", "gov", "propose", "--chain", "beijing-1", "--from", "admin", "--title", "t"}
	last := func() (*gov.MsgSubmitProposal, any) {
		m := lastMsg[*gov.MsgSubmitProposal](t, gw, gov.TypeSubmitProposal, gov.DecodeSubmitProposal)
		c, err := gov.DecodeContent(m.Kind, m.Content)
		if err != nil {
			t.Fatalf("content %s: %v", m.Content, err)
		}
		return m, c
	}

	// A header of guangzhou-1, served by its gateway and by a node's RPC.
	v := xchaintest.NewValidators("gz", 4)
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	sh := v.Sign(xchaintest.Header{ChainID: "guangzhou-1", Height: 120, Time: at, AppHash: bytes.Repeat([]byte{9}, 32)})
	hj, err := cmtjson.Marshal(sh.Header)
	if err != nil {
		t.Fatal(err)
	}
	peer := newCLIGateway(t)
	peer.doc("GET /v1/chains", 200, api.Chains{Chains: []api.Chain{{ID: "beijing-1"}, {ID: "guangzhou-1"}}})
	peer.doc("GET /v1/chains/guangzhou-1/blocks/latest", 200, api.Block{Height: 120, Hash: sh.Hash().String(), Header: hj})
	peer.doc("GET /v1/chains/guangzhou-1/blocks/120", 200, api.Block{Height: 120, Hash: sh.Hash().String(), Header: hj})

	out := mustRun(t, home, gw.srv.URL, append(base, "create-client", "--counterparty-gateway", peer.srv.URL, "-o", "json")...)
	var res map[string]any
	oneJSON(t, out, &res)
	if res["kind"] != gov.KindCreateClient || res["proposal_id"] != float64(17) {
		t.Fatalf("output %v", res)
	}
	m, c := last()
	cc, ok := c.(*gov.ClientContent)
	if !ok || m.Kind != gov.KindCreateClient || cc.ChainID != "guangzhou-1" || cc.ID != "guangzhou-1" || cc.ConsensusState.Height != 120 ||
		!bytes.Equal(cc.ConsensusState.HeaderHash, sh.Hash()) || time.Duration(cc.TrustingPeriod) != 336*time.Hour || *cc.TrustLevel != xchain.DefaultTrustLevel {
		t.Fatalf("create_client %+v", c)
	}

	// From a node's RPC, whose commit is checked; with explicit parameters.
	rpc := fakeRPC(t, &ctypes.ResultCommit{SignedHeader: *sh, CanonicalCommit: true},
		&ctypes.ResultValidators{BlockHeight: 120, Validators: v.Set.Validators, Count: 4, Total: 4})
	text := mustRun(t, home, gw.srv.URL, append(base, "replace_client", "--counterparty-rpc", rpc, "--height", "120",
		"--trusting-period", "72h", "--max-clock-drift", "5s", "--trust-level", "2/3")...)
	if !strings.Contains(text, "content:") || !strings.Contains(text, sh.Hash().String()) {
		t.Errorf("the content is not shown for the voters:\n%s", text)
	}
	m, c = last()
	if cc, ok = c.(*gov.ClientContent); !ok || m.Kind != gov.KindReplaceClient || cc.ID != "guangzhou-1" || time.Duration(cc.TrustingPeriod) != 72*time.Hour ||
		time.Duration(cc.MaxClockDrift) != 5*time.Second || cc.TrustLevel.Numerator != 2 {
		t.Fatalf("replace_client %+v", c)
	}
	// A commit not signed by enough of the set it names is refused.
	weak := v.Sign(xchaintest.Header{ChainID: "guangzhou-1", Height: 121, Time: at, AppHash: sh.AppHash, Signers: []int{0, 1}})
	badRPC := fakeRPC(t, &ctypes.ResultCommit{SignedHeader: *weak}, &ctypes.ResultValidators{BlockHeight: 121, Validators: v.Set.Validators, Count: 4, Total: 4})

	mustRun(t, home, gw.srv.URL, append(base, "open-route", "--id", "attest-guangzhou-1", "--port", "attest", "--client", "guangzhou-1",
		"--counterparty-route", "attest-beijing-1", "--ordered")...)
	m, c = last()
	if rc, ok := c.(*gov.RouteContent); !ok || m.Kind != gov.KindOpenRoute || rc.ID != "attest-guangzhou-1" || rc.CounterpartyPort != "attest" || !rc.Ordered {
		t.Fatalf("open_route %+v", c)
	}
	mustRun(t, home, gw.srv.URL, append(base, "close_route", "--id", "attest-guangzhou-1")...)
	if m, _ = last(); m.Kind != gov.KindCloseRoute || string(m.Content) != `{"id":"attest-guangzhou-1"}` {
		t.Fatalf("close_route %+v", m)
	}

	n := len(gw.txs)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"create_client"}, "--counterparty-rpc URL or --counterparty-gateway"},
		{[]string{"create_client", "--counterparty-rpc", rpc, "--counterparty-gateway", peer.srv.URL}, "not both"},
		{[]string{"create_client", "--counterparty-rpc", badRPC}, "commit of 121"},
		{[]string{"create_client", "--counterparty-gateway", peer.srv.URL, "--trust-level", "half"}, "--trust-level"},
		{[]string{"create_client", "--counterparty-gateway", peer.srv.URL, "--trust-level", "1/5"}, "trust_level"},
		{[]string{"create_client", "--counterparty-gateway", peer.srv.URL, "--counterparty", "chengdu-1"}, "not_found"},
		{[]string{"open_route", "--id", "r", "--port", "attest"}, "needs --client"},
		{[]string{"open_route", "--id", "r", "--port", "attest", "--client", "c", "--counterparty-route", "R2"}, "invalid_message"},
		{[]string{"close_route"}, "needs --id"},
		{[]string{"close_route", "--id", "r", "--port", "attest"}, "--port does not apply"},
		{[]string{"suspend_org", "--org", "org2", "--ordered"}, "--ordered does not apply"},
	} {
		_, _, err := runCLI(t, home, gw.srv.URL, append(base, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want it to mention %q", tc.args, err, tc.want)
		}
	}
	if len(gw.txs) != n {
		t.Error("a proposal was submitted despite a flag error")
	}
}
