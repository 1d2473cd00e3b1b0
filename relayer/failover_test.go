package relayer

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/cometbft/cometbft/p2p"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	rpctypes "github.com/cometbft/cometbft/rpc/jsonrpc/types"
)

// statusEndpoint answers Status with its name, or fails with err.
type statusEndpoint struct {
	Endpoint
	name  string
	err   error
	calls int
}

func (e *statusEndpoint) Status(context.Context) (*ctypes.ResultStatus, error) {
	e.calls++
	if e.err != nil {
		return nil, e.err
	}
	return &ctypes.ResultStatus{NodeInfo: p2p.DefaultNodeInfo{Moniker: e.name}}, nil
}

func TestFailover(t *testing.T) {
	down := errors.New("dial tcp 127.0.0.1:1: connect: connection refused")
	refused := &rpctypes.RPCError{Code: -32603, Message: "Internal error", Data: "height 9 must be less than or equal to the current blockchain height 3"}
	syncing := &rpctypes.RPCError{Code: -32603, Message: "Internal error", Data: "node is catching up"}
	tests := []struct {
		name    string
		errs    []error // of each endpoint; nil answers
		want    string  // the answering endpoint, or "" for an error
		wantErr string
		calls   []int // calls per endpoint
	}{
		{"first answers", []error{nil, nil}, "a", "", []int{1, 0}},
		{"first down", []error{down, nil}, "b", "", []int{1, 1}},
		{"first catching up", []error{syncing, nil}, "b", "", []int{1, 1}},
		{"a refusal is final", []error{refused, nil}, "", "must be less than", []int{1, 0}},
		{"all down", []error{down, down, down}, "", "none of 3 endpoints answered", []int{1, 1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var eps []Endpoint
			var fakes []*statusEndpoint
			for i, err := range tt.errs {
				f := &statusEndpoint{name: string(rune('a' + i)), err: err}
				fakes = append(fakes, f)
				eps = append(eps, f)
			}
			fo, err := NewFailover(eps...)
			if err != nil {
				t.Fatal(err)
			}
			st, err := fo.Status(context.Background())
			switch {
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one with %q", err, tt.wantErr)
			case tt.wantErr == "" && err != nil:
				t.Fatal(err)
			case tt.wantErr == "" && st.NodeInfo.Moniker != tt.want:
				t.Fatalf("answered by %q, want %q", st.NodeInfo.Moniker, tt.want)
			}
			for i, f := range fakes {
				if f.calls != tt.calls[i] {
					t.Errorf("endpoint %d called %d times, want %d", i, f.calls, tt.calls[i])
				}
			}
		})
	}

	// The endpoint that answered is asked first next time; when it fails, the next one
	// in order (wrapping around) is.
	a, b, c := &statusEndpoint{name: "a", err: down}, &statusEndpoint{name: "b"}, &statusEndpoint{name: "c"}
	fo, _ := NewFailover(a, b, c)
	for range 3 {
		if st, err := fo.Status(context.Background()); err != nil || st.NodeInfo.Moniker != "b" {
			t.Fatalf("%v %v", st, err)
		}
	}
	if a.calls != 1 || b.calls != 3 {
		t.Fatalf("calls a %d b %d: the answering endpoint is not kept", a.calls, b.calls)
	}
	b.err = down
	if st, err := fo.Status(context.Background()); err != nil || st.NodeInfo.Moniker != "c" {
		t.Fatalf("%v %v", st, err)
	}

	// A cancelled call is not retried elsewhere.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	x, y := &statusEndpoint{name: "x", err: context.Canceled}, &statusEndpoint{name: "y"}
	fo, _ = NewFailover(x, y)
	if _, err := fo.Status(ctx); err == nil || y.calls != 0 {
		t.Fatalf("cancelled call: %v, second endpoint called %d times", err, y.calls)
	}

	if _, err := NewFailover(); err == nil {
		t.Fatal("a failover without endpoints")
	}
	if _, err := NewFailover(a, nil); err == nil {
		t.Fatal("a failover with a nil endpoint")
	}
}
