package client

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/modules/credits"
	"github.com/lianchain/lian/modules/gov"
)

// Builders of the governance, credits and regulator messages. Each checks its message
// (ValidateBasic) and returns errors with code invalid_request (an argument that does
// not parse) or invalid_message (a message the chain would refuse).

// ParseHolder parses a credits holder: a 0x address or "org:<organisation id>".
func ParseHolder(s string) (credits.Holder, error) {
	h, err := credits.ParseHolder(s)
	if err != nil {
		return h, errcode.New(errcode.InvalidRequest, "holder %q: expected a 0x address (40 hex digits) or org:<organisation id>", s)
	}
	return h, nil
}

// NewTopUp builds a top-up of holder (a 0x address or "org:<id>") for a fiat payment of
// amount minor units of currency (fen for CNY), with the payment's reference (usable once
// per chain) and the payer's name. Only an operator may send it.
func NewTopUp(holder, currency string, amount uint64, paymentRef, payerName string) (*credits.MsgTopUp, error) {
	h, err := ParseHolder(holder)
	if err != nil {
		return nil, err
	}
	m := &credits.MsgTopUp{Account: h.Account, Org: h.Org, Currency: currency, Amount: amount, PaymentRef: paymentRef, PayerName: payerName}
	if err := m.ValidateBasic(); err != nil {
		return nil, errcode.Wrap(errcode.InvalidMessage, err)
	}
	return m, nil
}

// NewSponsorship builds a sponsorship by the sender's organisation of its members' fees:
// up to cap credits per member per period seconds. EndSponsorship ends it.
func NewSponsorship(cap, period uint64) (*credits.MsgSetSponsorship, error) {
	if cap == 0 {
		return nil, errcode.New(errcode.InvalidMessage, "sponsorship: cap must be positive (EndSponsorship ends one)")
	}
	m := &credits.MsgSetSponsorship{Cap: cap, Period: period}
	if err := m.ValidateBasic(); err != nil {
		return nil, errcode.Wrap(errcode.InvalidMessage, err)
	}
	return m, nil
}

// EndSponsorship builds the message that ends the sender's organisation's sponsorship.
func EndSponsorship() *credits.MsgSetSponsorship { return &credits.MsgSetSponsorship{} }

// ParsePeriod parses a period of whole seconds: a number of seconds ("3600"), a number
// with a unit s, m, h, d (days) or w (weeks) ("30d"), or a Go duration ("1h30m").
func ParsePeriod(s string) (uint64, error) {
	bad := errcode.New(errcode.InvalidRequest, "period %q: expected seconds (3600), a count of s, m, h, d or w (30d), or a duration such as 1h30m", s)
	if s == "" {
		return 0, bad
	}
	if n, err := strconv.ParseUint(s, 10, 64); err == nil {
		return n, nil
	}
	units := map[byte]uint64{'s': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 7 * 86400}
	if u, ok := units[s[len(s)-1]]; ok {
		if n, err := strconv.ParseUint(s[:len(s)-1], 10, 64); err == nil {
			if n > (1<<63)/u {
				return 0, bad
			}
			return n * u, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 || d%time.Second != 0 {
		return 0, bad
	}
	return uint64(d / time.Second), nil
}

// NewProposal builds a proposal of kind (gov.KindAddOrg, ...) with its content: a
// kind's content struct (gov.AddValidator, ...) or its JSON ([]byte, json.RawMessage or
// string). The content is checked as the chain checks it: strictly, without state.
func NewProposal(kind, title string, content any) (*gov.MsgSubmitProposal, error) {
	var raw []byte
	switch c := content.(type) {
	case nil:
		return nil, errcode.New(errcode.InvalidRequest, "proposal: no content")
	case []byte:
		raw = c
	case json.RawMessage:
		raw = c
	case string:
		raw = []byte(c)
	default:
		b, err := json.Marshal(c)
		if err != nil {
			return nil, errcode.New(errcode.InvalidRequest, "proposal content: %v", err)
		}
		raw = b
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return nil, errcode.New(errcode.InvalidMessage, "proposal content is not JSON: %v", err)
	}
	m := &gov.MsgSubmitProposal{Kind: kind, Content: compact.Bytes(), Title: title}
	if err := m.ValidateBasic(); err != nil {
		return nil, errcode.Wrap(errcode.InvalidMessage, err)
	}
	return m, nil
}

// NewVote builds a vote of the sender's organisation on a proposal: option is yes, no
// or abstain.
func NewVote(id uint64, option string) (*gov.MsgVote, error) {
	m := &gov.MsgVote{ProposalID: id, Option: strings.ToLower(option)}
	if err := m.ValidateBasic(); err != nil {
		return nil, errcode.Wrap(errcode.InvalidMessage, err)
	}
	return m, nil
}

// ParseConsensusKey parses a validator's ed25519 consensus public key: 64 hex digits
// (with or without 0x) or base64, as "pub_key.value" of a node's
// config/priv_validator_key.json.
func ParseConsensusKey(s string) ([]byte, error) {
	h := strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	if len(h) == 2*crypto.Ed25519PubKeySize {
		if b, err := hex.DecodeString(h); err == nil {
			return b, nil
		}
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == crypto.Ed25519PubKeySize {
		return b, nil
	}
	return nil, errcode.New(errcode.InvalidRequest, "consensus key %q: expected a %d-byte ed25519 key as hex or base64 (pub_key.value of priv_validator_key.json)", s, crypto.Ed25519PubKeySize)
}

// ProposalIDOf returns the id of the proposal a committed submission opened.
func ProposalIDOf(res *api.TxResult) (uint64, error) {
	if v := eventAttr(res, gov.EventSubmitted, "proposal"); v != "" {
		if id, err := strconv.ParseUint(v, 10, 64); err == nil && id > 0 {
			return id, nil
		}
	}
	return 0, errcode.New(errcode.NotFound, "the transaction's result has no %s event with a proposal id", gov.EventSubmitted)
}

// DecisionOf returns the status a transaction decided a proposal with (gov.StatusExecuted,
// gov.StatusFailed or gov.StatusRejected), or "" if it decided none.
func DecisionOf(res *api.TxResult) string { return eventAttr(res, gov.EventDecided, "status") }

// eventAttr returns the value of key in the first event of type typ, or "".
func eventAttr(res *api.TxResult, typ, key string) string {
	if res == nil {
		return ""
	}
	for _, e := range res.Events {
		if e.Type != typ {
			continue
		}
		for _, a := range e.Attributes {
			if a.Key == key {
				return a.Value
			}
		}
	}
	return ""
}
