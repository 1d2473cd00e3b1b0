package errcode

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
)

func TestCodesAreStable(t *testing.T) {
	// The numbers and names are part of the API: changing one breaks clients.
	want := map[Code]string{
		1: "tx_malformed", 2: "tx_too_large", 3: "invalid_signature", 4: "wrong_chain",
		5: "bad_nonce", 6: "unknown_account", 7: "account_inactive", 8: "unauthorized",
		9: "invalid_message", 10: "unknown_message", 11: "already_exists", 12: "not_found",
		13: "internal", 14: "invalid_request", 15: "unavailable", 16: "timeout",
		17: "account_frozen", 18: "insufficient_credits", 19: "out_of_gas", 20: "closed",
		21: "api_key_required", 22: "api_key_invalid", 23: "api_key_revoked", 24: "rate_limited",
		25: "request_timeout", 26: "invalid_proof", 27: "invalid_header", 28: "client_frozen",
		29: "client_expired", 30: "packet_expired", 31: "timeout_not_reached", 32: "out_of_order",
	}
	for c, name := range want {
		if c.String() != name {
			t.Errorf("code %d is %q, want %q", c, c.String(), name)
		}
		if back, ok := FromName(name); !ok || back != c {
			t.Errorf("FromName(%q) = %d, %v", name, back, ok)
		}
	}
	if len(names) != len(want)+1 { // + ok
		t.Errorf("%d codes defined, %d pinned here: pin the new ones", len(names)-1, len(want))
	}
}

func TestHTTPStatusAndWrapping(t *testing.T) {
	for c, st := range map[Code]int{OK: 200, BadNonce: 400, NotFound: 404, UnknownAccount: 404,
		Unauthorized: 403, AlreadyExists: 409, TxTooLarge: 413, Internal: 500, Unavailable: 503, Timeout: 504,
		AccountFrozen: 403, NoCredits: 402, OutOfGas: 400, Closed: 409,
		APIKeyRequired: 401, APIKeyInvalid: 401, APIKeyRevoked: 403, RateLimited: 429, RequestTimeout: 504} {
		if c.HTTPStatus() != st {
			t.Errorf("%s: status %d, want %d", c, c.HTTPStatus(), st)
		}
	}
	e := New(BadNonce, "nonce %d: expected %d", 3, 4)
	wrapped := fmt.Errorf("context: %w", e)
	if Of(wrapped) != BadNonce || Message(wrapped) != "nonce 3: expected 4" {
		t.Fatalf("Of/Message through wrapping: %v %q", Of(wrapped), Message(wrapped))
	}
	if Of(nil) != OK || Of(errors.New("plain")) != Internal {
		t.Fatal("Of of nil or a plain error")
	}
	if Wrap(NotFound, wrapped).Code != BadNonce || Wrap(NotFound, errors.New("x")).Code != NotFound {
		t.Fatal("Wrap keeps an existing code and gives one otherwise")
	}
	if Code(99).String() != "code_99" || Code(99).HTTPStatus() != http.StatusBadRequest {
		t.Fatal("unknown code")
	}
}
