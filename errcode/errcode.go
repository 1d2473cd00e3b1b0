// Package errcode defines Lian's stable error codes.
//
// Every error that reaches a user — a CheckTx or FinalizeBlock result, a query, a gateway
// response, a CLI message — carries one of these codes. The numeric code is what CometBFT
// stores in a transaction result (codespace "lian"); the name is what the gateway returns as
// {"code": NAME, "message": ...}. Codes and names never change meaning once released.
package errcode

import (
	"errors"
	"fmt"
	"net/http"
)

// Codespace is the ABCI codespace of every Lian error.
const Codespace = "lian"

// Code is a stable error code.
type Code uint32

// The codes. Zero is success and never an error.
const (
	OK                Code = 0
	TxMalformed       Code = 1  // the bytes are not a well-formed transaction or message
	TxTooLarge        Code = 2  // the transaction or a field exceeds its size limit
	InvalidSignature  Code = 3  // the signature does not verify, or the key does not match the sender
	WrongChain        Code = 4  // the body names another chain
	BadNonce          Code = 5  // replayed or out-of-order nonce
	UnknownAccount    Code = 6  // the sender (or a named account) is not registered
	AccountInactive   Code = 7  // the account or its organisation is not active
	Unauthorized      Code = 8  // the sender lacks the role or the ownership the message needs
	InvalidMessage    Code = 9  // a message field is invalid
	UnknownMessage    Code = 10 // the message type is not known to this chain
	AlreadyExists     Code = 11 // the object to create exists already
	NotFound          Code = 12 // the object asked for does not exist
	Internal          Code = 13 // a fault on our side; the request may be retried
	InvalidRequest    Code = 14 // a malformed query or HTTP request
	Unavailable       Code = 15 // the chain or node cannot serve the request now
	Timeout           Code = 16 // the transaction was accepted but not committed in time
	AccountFrozen     Code = 17 // a regulator froze the account
	NoCredits         Code = 18 // the payer's gas credits do not cover the fee
	OutOfGas          Code = 19 // the fee exceeds the transaction's gas limit
	Closed            Code = 20 // the proposal (or other object) no longer accepts this action
	APIKeyRequired    Code = 21 // the gateway requires an API key for this request and none was sent
	APIKeyInvalid     Code = 22 // the API key sent is malformed or not known to the gateway
	APIKeyRevoked     Code = 23 // the API key sent was revoked
	RateLimited       Code = 24 // the API key's request rate limit is exceeded; retry after Retry-After
	RequestTimeout    Code = 25 // the gateway did not finish the request within its time limit
	InvalidProof      Code = 26 // a Merkle proof does not verify against the trusted root
	InvalidHeader     Code = 27 // a counterparty header fails light-client verification
	ClientFrozen      Code = 28 // the light client was frozen for misbehaviour
	ClientExpired     Code = 29 // the light client was not updated within its trusting period
	PacketExpired     Code = 30 // the packet's timeout has passed on the destination
	TimeoutNotReached Code = 31 // a timeout was claimed before the packet's timeout passed
	OutOfOrder        Code = 32 // a packet on an ordered route is not the next one
)

var names = map[Code]string{
	OK:                "ok",
	TxMalformed:       "tx_malformed",
	TxTooLarge:        "tx_too_large",
	InvalidSignature:  "invalid_signature",
	WrongChain:        "wrong_chain",
	BadNonce:          "bad_nonce",
	UnknownAccount:    "unknown_account",
	AccountInactive:   "account_inactive",
	Unauthorized:      "unauthorized",
	InvalidMessage:    "invalid_message",
	UnknownMessage:    "unknown_message",
	AlreadyExists:     "already_exists",
	NotFound:          "not_found",
	Internal:          "internal",
	InvalidRequest:    "invalid_request",
	Unavailable:       "unavailable",
	Timeout:           "timeout",
	AccountFrozen:     "account_frozen",
	NoCredits:         "insufficient_credits",
	OutOfGas:          "out_of_gas",
	Closed:            "closed",
	APIKeyRequired:    "api_key_required",
	APIKeyInvalid:     "api_key_invalid",
	APIKeyRevoked:     "api_key_revoked",
	RateLimited:       "rate_limited",
	RequestTimeout:    "request_timeout",
	InvalidProof:      "invalid_proof",
	InvalidHeader:     "invalid_header",
	ClientFrozen:      "client_frozen",
	ClientExpired:     "client_expired",
	PacketExpired:     "packet_expired",
	TimeoutNotReached: "timeout_not_reached",
	OutOfOrder:        "out_of_order",
}

// String returns the stable name of the code, e.g. "bad_nonce".
func (c Code) String() string {
	if n, ok := names[c]; ok {
		return n
	}
	return fmt.Sprintf("code_%d", uint32(c))
}

// HTTPStatus is the HTTP status the gateway answers with for the code.
func (c Code) HTTPStatus() int {
	switch c {
	case OK:
		return http.StatusOK
	case NotFound, UnknownAccount:
		return http.StatusNotFound
	case Unauthorized, AccountFrozen, APIKeyRevoked:
		return http.StatusForbidden
	case APIKeyRequired, APIKeyInvalid:
		return http.StatusUnauthorized
	case RateLimited:
		return http.StatusTooManyRequests
	case NoCredits:
		return http.StatusPaymentRequired
	case Closed, ClientFrozen, ClientExpired:
		return http.StatusConflict
	case AlreadyExists:
		return http.StatusConflict
	case TxTooLarge:
		return http.StatusRequestEntityTooLarge
	case Internal:
		return http.StatusInternalServerError
	case Unavailable:
		return http.StatusServiceUnavailable
	case Timeout, RequestTimeout:
		return http.StatusGatewayTimeout
	default:
		return http.StatusBadRequest
	}
}

// FromName returns the code with the given stable name.
func FromName(name string) (Code, bool) {
	for c, n := range names {
		if n == name {
			return c, true
		}
	}
	return 0, false
}

// Error is an error with a stable code.
type Error struct {
	Code Code
	Msg  string
}

func (e *Error) Error() string { return e.Code.String() + ": " + e.Msg }

// New returns an error with the code and a formatted message.
func New(c Code, format string, args ...any) *Error {
	return &Error{Code: c, Msg: fmt.Sprintf(format, args...)}
}

// Wrap gives err a code, keeping its message. An err that already carries a code keeps it.
func Wrap(c Code, err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: c, Msg: err.Error()}
}

// Of returns the code of err: OK for nil, Internal for an error without a code.
func Of(err error) Code {
	if err == nil {
		return OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// Message returns the message of err without its code prefix.
func Message(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Msg
	}
	return err.Error()
}
