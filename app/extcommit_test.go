package app

import (
	"bytes"
	"context"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules/xchain"
)

// commitStore is an ExtendedCommitSource holding some heights.
type commitStore map[int64]*cmttypes.ExtendedCommit

func (s commitStore) LoadBlockExtendedCommit(h int64) *cmttypes.ExtendedCommit { return s[h] }

func TestQueryExtendedCommit(t *testing.T) {
	h := newHarness(t)
	h.block()
	h.block() // last committed: 3
	ec := func(height int64) *cmttypes.ExtendedCommit {
		return &cmttypes.ExtendedCommit{Height: height, Round: 1, BlockID: cmttypes.BlockID{Hash: bytes.Repeat([]byte{byte(height)}, 32)},
			ExtendedSignatures: []cmttypes.ExtendedCommitSig{{
				CommitSig:          cmttypes.CommitSig{BlockIDFlag: cmttypes.BlockIDFlagCommit, ValidatorAddress: make([]byte, 20), Signature: []byte("sig")},
				Extension:          xchain.StateExtension(bytes.Repeat([]byte{1}, 32)),
				ExtensionSignature: []byte("ext sig"),
			}}}
	}
	src := commitStore{2: ec(2), 3: ec(3), 4: ec(4)} // 4: saved by the block store, not yet applied
	query := func(height int64) *abci.ResponseQuery {
		t.Helper()
		res, err := h.app.Query(context.Background(), &abci.RequestQuery{Path: QueryExtendedCommit, Height: height})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := query(2); errcode.Code(res.Code) != errcode.NotFound || !strings.Contains(res.Log, "serves no extended commits") {
		t.Fatalf("before SetExtendedCommits: code %d %q", res.Code, res.Log)
	}
	h.app.SetExtendedCommits(src)
	cases := []struct {
		name   string
		height int64
		want   int64 // the height answered; 0: an error
		code   errcode.Code
		log    string
	}{
		{"latest", 0, 3, errcode.OK, ""},
		{"committed", 2, 2, errcode.OK, ""},
		{"not applied yet", 4, 0, errcode.NotFound, "height 4 is not committed yet (last committed: 3)"},
		{"future", 9, 0, errcode.NotFound, "height 9 is not committed yet (last committed: 3)"},
		{"no extended commit", 1, 0, errcode.NotFound, "no extended commit of height 1"},
		{"negative", -1, 0, errcode.InvalidRequest, "negative height"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := query(c.height)
			if errcode.Code(res.Code) != c.code || !strings.Contains(res.Log, c.log) {
				t.Fatalf("code %d %q, want %s %q", res.Code, res.Log, c.code, c.log)
			}
			if c.code != errcode.OK {
				return
			}
			if res.Height != c.want {
				t.Fatalf("height %d, want %d", res.Height, c.want)
			}
			var pb cmtproto.ExtendedCommit
			if err := pb.Unmarshal(res.Value); err != nil {
				t.Fatal(err)
			}
			got, err := cmttypes.ExtendedCommitFromProto(&pb)
			if err != nil {
				t.Fatal(err)
			}
			if got.Height != c.want || !bytes.Equal(got.ExtendedSignatures[0].Extension, src[c.want].ExtendedSignatures[0].Extension) {
				t.Fatalf("extended commit %+v", got)
			}
		})
	}
}
