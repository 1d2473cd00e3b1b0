package relayer

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtbytes "github.com/cometbft/cometbft/libs/bytes"
	rpcclient "github.com/cometbft/cometbft/rpc/client"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	cmttypes "github.com/cometbft/cometbft/types"
	dto "github.com/prometheus/client_model/go"

	"github.com/lianchain/lian/app"
	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules/attest"
	"github.com/lianchain/lian/modules/xchain"
	"github.com/lianchain/lian/txs"
)

// fakeEndpoint answers nonce queries from a counter and broadcasts from a script.
type fakeEndpoint struct {
	Endpoint // nil: calls the tests do not expect panic

	mu      sync.Mutex
	nonce   uint64     // the chain's committed nonce
	answers []answer   // next broadcast answers; empty: accept
	seen    []uint64   // nonces broadcast
	types   [][]string // the message types of each broadcast, short names
	queries int
}

type answer struct {
	code uint32
	log  string
}

func (f *fakeEndpoint) ABCIQueryWithOptions(_ context.Context, path string, _ cmtbytes.HexBytes, _ rpcclient.ABCIQueryOptions) (*ctypes.ResultABCIQuery, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if path != "/identity/nonce" {
		return nil, fmt.Errorf("unexpected query %s", path)
	}
	f.queries++
	return &ctypes.ResultABCIQuery{Response: abci.ResponseQuery{Value: binary.BigEndian.AppendUint64(nil, f.nonce)}}, nil
}

func (f *fakeEndpoint) BroadcastTxSync(_ context.Context, tx cmttypes.Tx) (*ctypes.ResultBroadcastTx, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, err := txs.DecodeTx(tx)
	if err != nil {
		return nil, err
	}
	body, err := txs.DecodeBody(d.BodyBytes)
	if err != nil {
		return nil, err
	}
	f.seen = append(f.seen, body.Nonce)
	var types []string
	for _, m := range body.Messages {
		types = append(types, strings.TrimPrefix(m.TypeURL[strings.LastIndex(m.TypeURL, ".")+1:], "Msg"))
	}
	f.types = append(f.types, types)
	if len(f.answers) == 0 {
		return &ctypes.ResultBroadcastTx{}, nil
	}
	a := f.answers[0]
	f.answers = f.answers[1:]
	return &ctypes.ResultBroadcastTx{Code: a.code, Codespace: errcode.Codespace, Log: a.log}, nil
}

func testKey(t *testing.T) crypto.PrivKey {
	t.Helper()
	ks, err := crypto.OpenKeystore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ks.Create("r", crypto.Ed25519); err != nil {
		t.Fatal(err)
	}
	k, err := ks.Signer("r")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSubmitNonces(t *testing.T) {
	msg := []txs.Msg{&attest.MsgAttest{Route: "r", Digest: make([]byte, 32)}}
	badNonce := func(expected int) answer {
		return answer{code: uint32(errcode.BadNonce), log: fmt.Sprintf("nonce 9 of 0x..: expected %d (replayed or out of order)", expected)}
	}
	tests := []struct {
		name     string
		chain    uint64 // committed nonce
		answers  []answer
		calls    int // Submit calls
		wantSeen []uint64
		wantErr  errcode.Code // of the last call
		queries  int
	}{
		{name: "pipelined from the chain's nonce", chain: 7, calls: 3, wantSeen: []uint64{7, 8, 9}, queries: 1},
		{name: "bad nonce: continue from the expected one", chain: 7, answers: []answer{{}, badNonce(3)}, calls: 2,
			wantSeen: []uint64{7, 8, 3}, queries: 1},
		{name: "bad nonce without a number: read it again", chain: 5, answers: []answer{{code: uint32(errcode.BadNonce), log: "bad"}}, calls: 1,
			wantSeen: []uint64{5, 5}, queries: 2},
		{name: "a refusal keeps the nonce", chain: 2, answers: []answer{{code: uint32(errcode.InvalidProof), log: "message 1 (x): bad"}}, calls: 2,
			wantSeen: []uint64{2, 2}, queries: 1},
		{name: "redundant", chain: 1, answers: []answer{{code: uint32(errcode.AlreadyExists), log: "redundant: all 1 messages were relayed already"}},
			calls: 1, wantSeen: []uint64{1}, wantErr: errcode.AlreadyExists, queries: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeEndpoint{nonce: tt.chain, answers: tt.answers}
			c, err := NewChain("c-1", f, testKey(t))
			if err != nil {
				t.Fatal(err)
			}
			var last error
			for i := 0; i < tt.calls; i++ {
				_, last = c.Submit(context.Background(), msg)
			}
			if fmt.Sprint(f.seen) != fmt.Sprint(tt.wantSeen) {
				t.Errorf("nonces broadcast %v, want %v", f.seen, tt.wantSeen)
			}
			var te *TxError
			switch {
			case tt.wantErr == 0 && last != nil && !errors.As(last, &te):
				t.Errorf("last submit: %v", last)
			case tt.wantErr != 0 && (!errors.As(last, &te) || te.Code != tt.wantErr):
				t.Errorf("last submit: %v, want %s", last, tt.wantErr)
			}
			if f.queries != tt.queries {
				t.Errorf("%d nonce queries, want %d", f.queries, tt.queries)
			}
		})
	}
}

func TestFailedMessage(t *testing.T) {
	tests := []struct {
		log  string
		want int
	}{
		{"message 3 (/lian.xchain.v1.MsgRecvPacket): packet expired", 3},
		{"message 0 (/lian.xchain.v1.MsgUpdateClient): client frozen", 0},
		{"redundant: all 5 messages were relayed already", -1},
		{"nonce 4: expected 5", -1},
	}
	for _, tt := range tests {
		if got := (&TxError{Log: tt.log}).FailedMessage(); got != tt.want {
			t.Errorf("%q: %d, want %d", tt.log, got, tt.want)
		}
	}
}

func TestPacketOf(t *testing.T) {
	good := map[string]string{"packet": "a-b/3", "source_route": "a-b", "dest_route": "b-a", "sequence": "3",
		"payload": "0aff", "timeout_height": "0", "timeout_time": "1000"}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range good {
			m[a] = b
		}
		m[k] = v
		return m
	}
	tests := []struct {
		name  string
		attrs map[string]string
		want  *xchain.Packet
		err   bool
	}{
		{"good", good, &xchain.Packet{Sequence: 3, SourceRoute: "a-b", DestRoute: "b-a", Payload: []byte{0x0a, 0xff}, TimeoutTime: 1000}, false},
		{"bad sequence", with("sequence", "x"), nil, true},
		{"bad payload", with("payload", "zz"), nil, true},
		{"no timeout", with("timeout_time", "0"), nil, true},
		{"bad route", with("dest_route", "B A"), nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := packetOf(tt.attrs)
			if (err != nil) != tt.err {
				t.Fatalf("err = %v, want error %v", err, tt.err)
			}
			if tt.want != nil && fmt.Sprint(p) != fmt.Sprint(tt.want) {
				t.Fatalf("packet %+v, want %+v", p, tt.want)
			}
		})
	}
}

// TestCandidates checks what a submitter picks: packets of the other chain proven at
// the head, acknowledgements, timeouts past the other chain's clock, nothing in flight.
func TestCandidates(t *testing.T) {
	a, b := &Chain{ID: "a"}, &Chain{ID: "b"}
	now := time.Now()
	pk := func(src string, seq uint64, timeout time.Time) *xchain.Packet {
		return &xchain.Packet{Sequence: seq, SourceRoute: "r-" + src, DestRoute: "r-x", Payload: []byte{1}, TimeoutTime: uint64(timeout.UnixNano())}
	}
	later := now.Add(time.Hour)
	p := newPair(&Relayer{opts: Options{ResubmitAfter: time.Second}, metrics: newMetrics()}, a, b)
	p.packets = map[packetKey]*pkt{
		{"b", "r-b", 1}: {p: pk("b", 1, later), sentHeight: 9},                               // recv: proven at head 10
		{"b", "r-b", 2}: {p: pk("b", 2, later), sentHeight: 10},                              // not yet provable
		{"b", "r-b", 3}: {p: pk("b", 3, now.Add(-time.Second)), sentHeight: 5},               // expired on a
		{"b", "r-b", 4}: {p: pk("b", 4, later), sentHeight: 3, inflight: now.Add(time.Hour)}, // in flight
		{"a", "r-a", 1}: {p: pk("a", 1, later), ack: []byte("{}"), recvHeight: 8},            // ack
		{"a", "r-a", 2}: {p: pk("a", 2, later), ack: []byte("{}"), recvHeight: 10},           // ack not provable yet
		{"a", "r-a", 3}: {p: pk("a", 3, now.Add(-time.Minute))},                              // timeout
		{"a", "r-a", 4}: {p: pk("a", 4, later), inflight: now.Add(-time.Second)},             // stale
	}
	w := p.candidates(a, b, 10, Head{Height: 10, Time: now}, Head{Height: 20, Time: now})
	keys := func(cs []cand) []packetKey {
		var out []packetKey
		for _, c := range cs {
			out = append(out, c.k)
		}
		return out
	}
	got := fmt.Sprint(keys(w.recv), keys(w.ack), keys(w.timeout), w.stale)
	want := fmt.Sprint([]packetKey{{"b", "r-b", 1}}, []packetKey{{"a", "r-a", 1}}, []packetKey{{"a", "r-a", 3}}, []packetKey{{"a", "r-a", 4}})
	if got != want {
		t.Errorf("candidates %s, want %s", got, want)
	}
	if !p.packets[packetKey{"b", "r-b", 3}].expired {
		t.Error("the expired packet is not marked expired")
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, json, err string
	}{
		{"good", `{"chains":[{"id":"a","rpc":"http://127.0.0.1:1","backup_rpc":["https://10.0.0.2:26657"],"key_file":"k.json"},{"id":"b","rpc":"tcp://127.0.0.1:2","key_file":"/k.json"}],
			"paths":[{"a":"a","b":"b"}],"poll_interval":"50ms","max_msgs":32}`, ""},
		{"unknown field", `{"chains":[],"paths":[],"bogus":1}`, "unknown field"},
		{"one chain", `{"chains":[{"id":"a","rpc":"http://x","key_file":"k"}],"paths":[]}`, "at least two chains"},
		{"bad rpc", `{"chains":[{"id":"a","rpc":"x:1","key_file":"k"},{"id":"b","rpc":"http://x","key_file":"k"}],"paths":[{"a":"a","b":"b"}]}`, "rpc"},
		{"bad backup rpc", `{"chains":[{"id":"a","rpc":"http://x","backup_rpc":["http://y","y:2"],"key_file":"k"},{"id":"b","rpc":"http://x","key_file":"k"}],"paths":[{"a":"a","b":"b"}]}`, "backup_rpc[1]"},
		{"path to unknown chain", `{"chains":[{"id":"a","rpc":"http://x","key_file":"k"},{"id":"b","rpc":"http://x","key_file":"k"}],"paths":[{"a":"a","b":"c"}]}`, "paths[0]"},
		{"no key", `{"chains":[{"id":"a","rpc":"http://x"},{"id":"b","rpc":"http://x","key_file":"k"}],"paths":[{"a":"a","b":"b"}]}`, "key_file"},
		{"too many messages", `{"chains":[{"id":"a","rpc":"http://x","key_file":"k"},{"id":"b","rpc":"http://x","key_file":"k"}],"paths":[{"a":"a","b":"b"}],"max_msgs":1000}`, "max messages"},
		{"bad duration", `{"chains":[],"paths":[],"poll_interval":"soon"}`, "duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".json")
			if err := os.WriteFile(path, []byte(tt.json), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := LoadConfig(path)
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if o := c.Options(); o.PollInterval != 50*time.Millisecond || o.MaxMsgs != 32 {
					t.Errorf("options %+v", o)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("err = %v, want one mentioning %q", err, tt.err)
			}
		})
	}
}

// sentFixture is a pair whose relay transactions to chain b are tracked as admitted,
// for the tests of what their results in blocks do.
type sentFixture struct {
	r    *Relayer
	p    *pair
	a, b *Chain
}

func newSentFixture(seqs ...uint64) *sentFixture {
	a, b := &Chain{ID: "a"}, &Chain{ID: "b"}
	r := &Relayer{opts: Options{ResubmitAfter: 15 * time.Second, PollInterval: 100 * time.Millisecond},
		metrics: newMetrics(), log: slog.New(slog.DiscardHandler), logged: map[string]logMark{}}
	p := newPair(r, a, b)
	for _, seq := range seqs {
		p.packets[packetKey{"a", "r-a", seq}] = &pkt{p: &xchain.Packet{Sequence: seq}}
	}
	return &sentFixture{r: r, p: p, a: a, b: b}
}

// send relays msgs to b as one admitted transaction with nonce.
func (f *sentFixture) send(nonce uint64, msgs ...txs.Msg) {
	marked := map[txs.Msg]packetKey{}
	var batch []relayMsg
	for _, m := range msgs {
		if r, ok := m.(*xchain.MsgRecvPacket); ok {
			marked[m] = packetKey{"a", "r-a", r.Packet.Sequence}
		}
		batch = append(batch, relayMsg{msg: m})
	}
	f.p.markInflight(batch, marked)
	f.p.track(f.b, nonce, batch, marked)
}

func (f *sentFixture) txs(result string) float64 {
	var m dto.Metric
	if err := f.r.metrics.Txs.WithLabelValues("b", result).Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}

func testUpdate(h int64) *xchain.MsgUpdateClient {
	return &xchain.MsgUpdateClient{ClientID: "c", Header: &xchain.Header{SignedHeader: &cmttypes.SignedHeader{Header: &cmttypes.Header{Height: h}}}}
}

func testRecv(seq uint64) *xchain.MsgRecvPacket {
	return &xchain.MsgRecvPacket{Packet: &xchain.Packet{Sequence: seq}}
}

// A relay transaction that fails in its block (admitted by CheckTx) releases its
// client update and its packets at once; one that commits changes nothing.
func TestLanded(t *testing.T) {
	f := newSentFixture(1, 2)
	p, r, a, b, send, update, recv := f.p, f.r, f.a, f.b, f.send, testUpdate, testRecv
	k1, k2 := packetKey{"a", "r-a", 1}, packetKey{"a", "r-a", 2}
	const failed = uint32(errcode.InvalidHeader)

	send(5, update(12), recv(1), recv(2))
	if got := p.pendingUpdate["b/c"].proven; got != 12 {
		t.Fatalf("pending update %d after the send, want 12", got)
	}
	p.landed(b, 3, failed, "not ours") // a nonce not tracked (a lower one: see TestDropped)
	p.landed(a, 5, failed, "")         // the same nonce on the other chain
	if len(p.sent) != 1 || p.pendingUpdate["b/c"].proven != 12 || p.packets[k1].inflight.IsZero() {
		t.Fatalf("an unknown transaction's result changed the state: sent %v, pending %v", p.sent, p.pendingUpdate)
	}
	p.landed(b, 5, abci.CodeTypeOK, "")
	if len(p.sent) != 0 || p.pendingUpdate["b/c"].proven != 12 || p.packets[k1].inflight.IsZero() || p.packets[k1].failures != 0 {
		t.Fatalf("a committed transaction changed the state: sent %v, pending %v, packet %+v", p.sent, p.pendingUpdate, p.packets[k1])
	}

	send(6, update(13), recv(1))
	p.landed(b, 6, failed, "header from the future")
	if _, ok := p.pendingUpdate["b/c"]; ok {
		t.Error("the failed update still counts as pending")
	}
	if got := f.txs("failed"); got != 1 {
		t.Errorf("lian_relayer_txs_total{result=failed} %v, want 1", got)
	}
	if v := p.packets[k1]; !v.inflight.IsZero() || v.failures != 1 {
		t.Errorf("packet 1 after its first failed relay: in flight until %v, %d failures; want relayed at once", v.inflight, v.failures)
	}
	if p.packets[k2].inflight.IsZero() {
		t.Error("packet 2, not in the failed transaction, was released")
	}

	send(7, recv(1))
	before := time.Now()
	p.landed(b, 7, failed, "again")
	if v := p.packets[k1]; v.failures != 2 || v.inflight.Before(before.Add(400*time.Millisecond)) || v.inflight.After(time.Now().Add(400*time.Millisecond)) {
		t.Errorf("packet 1 after a second failure: in flight until %v (%v from now), %d failures; want 400ms, 2", v.inflight, time.Until(v.inflight), v.failures)
	}
	for range 20 {
		send(8, recv(1))
		p.landed(b, 8, failed, "and again")
	}
	if d := time.Until(p.packets[k1].inflight); d > r.opts.ResubmitAfter || d < r.opts.ResubmitAfter-time.Second {
		t.Errorf("after many failures the packet waits %v, want ResubmitAfter (%v)", d, r.opts.ResubmitAfter)
	}

	// A newer update sent since is still counted on when an older one fails.
	send(9, update(14))
	send(10, update(15))
	p.landed(b, 9, failed, "")
	if got := p.pendingUpdate["b/c"].proven; got != 15 {
		t.Errorf("pending update %d after an older one failed, want 15", got)
	}
}

func TestOurs(t *testing.T) {
	f := &follower{addr: "0xabc"}
	ev := func(typ string, kv ...string) abci.Event {
		e := abci.Event{Type: typ}
		for i := 0; i+1 < len(kv); i += 2 {
			e.Attributes = append(e.Attributes, abci.EventAttribute{Key: kv[i], Value: kv[i+1]})
		}
		return e
	}
	tests := []struct {
		name   string
		events []abci.Event
		nonce  uint64
		ok     bool
	}{
		{"ours", []abci.Event{ev(app.EventTx, "sender", "0xabc", "nonce", "42"), ev(app.EventMessage)}, 42, true},
		{"another sender", []abci.Event{ev(app.EventTx, "sender", "0xdef", "nonce", "42")}, 0, false},
		{"no events (refused before its fee)", nil, 0, false},
		{"first event not lian.tx", []abci.Event{ev(app.EventMessage), ev(app.EventTx, "sender", "0xabc", "nonce", "1")}, 0, false},
		{"bad nonce", []abci.Event{ev(app.EventTx, "sender", "0xabc", "nonce", "x")}, 0, false},
	}
	for _, tt := range tests {
		nonce, ok := f.ours(tt.events)
		if nonce != tt.nonce || ok != tt.ok {
			t.Errorf("%s: %d, %v; want %d, %v", tt.name, nonce, ok, tt.nonce, tt.ok)
		}
	}
}

// A transaction of ours that will not execute (a later nonce executed first, or its
// nonce was used again) releases what it carried at once.
func TestDropped(t *testing.T) {
	k1, k2, k3 := packetKey{"a", "r-a", 1}, packetKey{"a", "r-a", 2}, packetKey{"a", "r-a", 3}
	f := newSentFixture(1, 2, 3)
	f.send(20, testUpdate(12), testRecv(1))
	f.send(21, testRecv(2))
	f.p.landed(f.b, 21, abci.CodeTypeOK, "")
	if len(f.p.sent) != 0 {
		t.Errorf("tracked after a later nonce landed: %v", f.p.sent)
	}
	if !f.p.packets[k1].inflight.IsZero() || f.p.packets[k1].failures != 0 {
		t.Errorf("packet 1, of the transaction passed over: in flight until %v, %d failures; want released, no failure", f.p.packets[k1].inflight, f.p.packets[k1].failures)
	}
	if _, ok := f.p.pendingUpdate["b/c"]; ok {
		t.Error("the update of the transaction passed over still counts as pending")
	}
	if f.p.packets[k2].inflight.IsZero() {
		t.Error("packet 2, of the transaction that landed, was released")
	}

	// A later nonce sent by another pair (untracked here) passes over ours too.
	f.send(25, testRecv(1))
	f.p.landed(f.b, 26, abci.CodeTypeOK, "")
	if len(f.p.sent) != 0 || !f.p.packets[k1].inflight.IsZero() {
		t.Errorf("after another pair's later nonce landed: tracked %v, packet 1 in flight until %v; want released", f.p.sent, f.p.packets[k1].inflight)
	}

	f.send(30, testUpdate(13), testRecv(3))
	f.send(30, testRecv(1)) // the chain expected 30 again
	if !f.p.packets[k3].inflight.IsZero() || f.p.pendingUpdate["b/c"].proven == 13 {
		t.Errorf("nonce used again: packet 3 in flight until %v, pending update %d; want released", f.p.packets[k3].inflight, f.p.pendingUpdate["b/c"])
	}
	if st := f.p.sent[sentKey{"b", 30}]; st == nil || len(st.packets) != 1 || st.packets[0] != k1 {
		t.Errorf("nonce 30 tracks %+v, want the new transaction (packet 1)", st)
	}
	if got := f.txs("dropped"); got != 3 {
		t.Errorf("lian_relayer_txs_total{result=dropped} %v, want 3", got)
	}
}
