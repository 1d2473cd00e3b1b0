package gov

import (
	"fmt"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/lianchain/lian/errcode"
	"github.com/lianchain/lian/txs"
)

// Type URLs of the module's messages.
const (
	TypeSubmitProposal = "/lian.gov.v1.MsgSubmitProposal"
	TypeVote           = "/lian.gov.v1.MsgVote"
)

// Size limits of a proposal.
const (
	MaxTitleLen   = 256
	MaxContentLen = 16 << 10
)

// MsgSubmitProposal opens a proposal; only an organisation admin may send it
// (proto lian.gov.v1.MsgSubmitProposal):
//
//	message MsgSubmitProposal {
//	  string kind    = 1; // add_org, suspend_org, ... (see Kinds)
//	  bytes  content = 2; // the kind's JSON payload
//	  string title   = 3;
//	}
type MsgSubmitProposal struct {
	Kind    string
	Content []byte
	Title   string
}

// TypeURL implements txs.Msg.
func (*MsgSubmitProposal) TypeURL() string { return TypeSubmitProposal }

// Marshal implements txs.Msg.
func (m *MsgSubmitProposal) Marshal() []byte {
	var e txs.Encoder
	e.StringField(1, m.Kind)
	e.BytesField(2, m.Content)
	e.StringField(3, m.Title)
	return e.Bytes()
}

// ValidateBasic implements txs.Msg: the kind is known and its content decodes strictly
// and is valid without state.
func (m *MsgSubmitProposal) ValidateBasic() error {
	if m.Title == "" || len(m.Title) > MaxTitleLen || !utf8.ValidString(m.Title) {
		return errcode.New(errcode.InvalidMessage, "proposal: title must be 1-%d bytes of UTF-8", MaxTitleLen)
	}
	if _, err := DecodeContent(m.Kind, m.Content); err != nil {
		return errcode.New(errcode.InvalidMessage, "proposal: %v", err)
	}
	return nil
}

var submitSpec = map[protowire.Number]txs.FieldSpec{
	1: txs.Bytes("kind", 32),
	2: txs.Bytes("content", MaxContentLen),
	3: txs.Bytes("title", MaxTitleLen),
}

// DecodeSubmitProposal decodes a MsgSubmitProposal.
func DecodeSubmitProposal(b []byte) (txs.Msg, error) {
	fields, err := txs.ParseFields(b, submitSpec)
	if err != nil {
		return nil, errcode.New(errcode.TxMalformed, "decode %s: %v", TypeSubmitProposal, err)
	}
	m := &MsgSubmitProposal{}
	for _, f := range fields {
		switch f.Num {
		case 1:
			if m.Kind, err = f.Str("kind"); err != nil {
				return nil, errcode.New(errcode.TxMalformed, "decode %s: %v", TypeSubmitProposal, err)
			}
		case 2:
			m.Content = f.Bytes
		case 3:
			if m.Title, err = f.Str("title"); err != nil {
				return nil, errcode.New(errcode.TxMalformed, "decode %s: %v", TypeSubmitProposal, err)
			}
		}
	}
	return m, nil
}

// Vote options.
const (
	VoteYes     = "yes"
	VoteNo      = "no"
	VoteAbstain = "abstain"
)

// MsgVote casts the sender's organisation's vote; only an organisation admin may send
// it, and each organisation votes once (proto lian.gov.v1.MsgVote):
//
//	message MsgVote {
//	  uint64 proposal_id = 1;
//	  string option      = 2; // yes, no or abstain
//	}
type MsgVote struct {
	ProposalID uint64
	Option     string
}

// TypeURL implements txs.Msg.
func (*MsgVote) TypeURL() string { return TypeVote }

// Marshal implements txs.Msg.
func (m *MsgVote) Marshal() []byte {
	var e txs.Encoder
	e.Uint64Field(1, m.ProposalID)
	e.StringField(2, m.Option)
	return e.Bytes()
}

// ValidateBasic implements txs.Msg.
func (m *MsgVote) ValidateBasic() error {
	if m.ProposalID == 0 {
		return errcode.New(errcode.InvalidMessage, "vote: proposal_id is required (proposals are numbered from 1)")
	}
	switch m.Option {
	case VoteYes, VoteNo, VoteAbstain:
		return nil
	}
	return errcode.New(errcode.InvalidMessage, "vote: option %q: expected yes, no or abstain", m.Option)
}

var voteSpec = map[protowire.Number]txs.FieldSpec{
	1: txs.Varint("proposal_id"),
	2: txs.Bytes("option", 16),
}

// DecodeVote decodes a MsgVote.
func DecodeVote(b []byte) (txs.Msg, error) {
	fields, err := txs.ParseFields(b, voteSpec)
	if err != nil {
		return nil, errcode.New(errcode.TxMalformed, "decode %s: %v", TypeVote, err)
	}
	m := &MsgVote{}
	for _, f := range fields {
		switch f.Num {
		case 1:
			m.ProposalID = f.Varint
		case 2:
			if m.Option, err = f.Str("option"); err != nil {
				return nil, errcode.New(errcode.TxMalformed, "decode %s: %v", TypeVote, err)
			}
		}
	}
	return m, nil
}

func (m *MsgSubmitProposal) String() string {
	return fmt.Sprintf("SubmitProposal{%s %q}", m.Kind, m.Title)
}

func (m *MsgVote) String() string { return fmt.Sprintf("Vote{%d %s}", m.ProposalID, m.Option) }
