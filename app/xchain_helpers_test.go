package app

import (
	"testing"
	"time"

	"github.com/lianchain/lian/modules/xchain"
	"github.com/lianchain/lian/modules/xchain/xchaintest"
)

// testHeader is a well-formed counterparty header (of no client this chain has).
func testHeader(t *testing.T) *xchain.Header {
	t.Helper()
	v := xchaintest.NewValidators("other", 4)
	sh := v.Sign(xchaintest.Header{ChainID: "other-1", Height: 5, Time: time.Unix(1e9, 0), AppHash: make([]byte, 32)})
	h, err := xchain.NewHeader(sh, v.Set, 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func testPacket() *xchain.Packet {
	return &xchain.Packet{Sequence: 1, SourceRoute: "a", DestRoute: "b", Payload: []byte("x"), TimeoutHeight: 100}
}
