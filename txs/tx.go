package txs

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
)

// Size limits. A transaction larger than MaxTxBytes is refused before it is decoded.
const (
	MaxTxBytes      = 512 << 10 // a relayer's batch of ~250 proven packets
	MaxMessages     = 256
	MaxMemoBytes    = 256
	MaxChainIDBytes = 64
	MaxPubKeyBytes  = 65
	MaxSigBytes     = 80
	MaxTypeURLBytes = 128
)

// Tx is the signed envelope (proto message lian.tx.v1.Tx):
//
//	message Tx {
//	  bytes  body_bytes = 1; // an encoded Body, signed exactly as sent
//	  bytes  pub_key    = 2; // the signer's public key, canonical encoding of algo
//	  string algo       = 3; // "ed25519", "sm2" or "secp256k1"
//	  bytes  signature  = 4; // signature over body_bytes
//	}
type Tx struct {
	BodyBytes []byte
	PubKey    []byte
	Algo      crypto.Algo
	Signature []byte
}

// Body is what the signer signs (proto message lian.tx.v1.Body):
//
//	message Body {
//	  string chain_id  = 1;
//	  bytes  sender    = 2; // 20-byte address
//	  uint64 nonce     = 3; // the sender's next nonce, starting at 0
//	  repeated Any messages = 4;
//	  string memo      = 5;
//	  uint64 gas_limit = 6; // reserved for gas metering; 0 = no limit
//	}
//
// A body without messages is a nonce filler: it consumes the sender's nonce and pays
// the default base fee, and does nothing else. Signed at the nonce of a transaction
// waiting in a mempool, it cancels that transaction (one of the two is executed).
type Body struct {
	ChainID  string
	Sender   crypto.Address
	Nonce    uint64
	Messages []Any
	Memo     string
	GasLimit uint64
}

// Any is a typed message (proto message lian.tx.v1.Any):
//
//	message Any { string type_url = 1; bytes value = 2; }
type Any struct {
	TypeURL string
	Value   []byte
}

// Marshal encodes the envelope.
func (t *Tx) Marshal() []byte {
	var e Encoder
	e.BytesField(1, t.BodyBytes)
	e.BytesField(2, t.PubKey)
	e.StringField(3, string(t.Algo))
	e.BytesField(4, t.Signature)
	return e.Bytes()
}

// Marshal encodes the body.
func (b *Body) Marshal() []byte {
	var e Encoder
	e.StringField(1, b.ChainID)
	if !b.Sender.IsZero() {
		e.BytesField(2, b.Sender.Bytes())
	}
	e.Uint64Field(3, b.Nonce)
	for _, m := range b.Messages {
		e.MessageField(4, m.Marshal())
	}
	e.StringField(5, b.Memo)
	e.Uint64Field(6, b.GasLimit)
	return e.Bytes()
}

// Marshal encodes the Any.
func (a Any) Marshal() []byte {
	var e Encoder
	e.StringField(1, a.TypeURL)
	e.BytesField(2, a.Value)
	return e.Bytes()
}

var txSpec = map[protowire.Number]FieldSpec{
	1: Bytes("body_bytes", MaxTxBytes),
	2: Bytes("pub_key", MaxPubKeyBytes),
	3: Bytes("algo", 16),
	4: Bytes("signature", MaxSigBytes),
}

// DecodeTx decodes an envelope. It checks sizes and shapes, not signatures.
func DecodeTx(b []byte) (*Tx, error) {
	if len(b) > MaxTxBytes {
		return nil, errcode.New(errcode.TxTooLarge, "transaction is %d bytes, at most %d allowed", len(b), MaxTxBytes)
	}
	if len(b) == 0 {
		return nil, errcode.New(errcode.TxMalformed, "empty transaction")
	}
	fields, err := ParseFields(b, txSpec)
	if err != nil {
		return nil, errcode.New(errcode.TxMalformed, "decode tx envelope: %v", err)
	}
	t := &Tx{}
	for _, f := range fields {
		switch f.Num {
		case 1:
			t.BodyBytes = f.Bytes
		case 2:
			t.PubKey = f.Bytes
		case 3:
			s, err := f.Str("algo")
			if err != nil {
				return nil, errcode.New(errcode.TxMalformed, "decode tx envelope: %v", err)
			}
			a, err := crypto.ParseAlgo(s)
			if err != nil {
				return nil, errcode.New(errcode.TxMalformed, "decode tx envelope: %v", err)
			}
			t.Algo = a
		case 4:
			t.Signature = f.Bytes
		}
	}
	switch {
	case len(t.BodyBytes) == 0:
		return nil, errcode.New(errcode.TxMalformed, "tx envelope has no body_bytes")
	case len(t.PubKey) == 0:
		return nil, errcode.New(errcode.TxMalformed, "tx envelope has no pub_key")
	case t.Algo == "":
		return nil, errcode.New(errcode.TxMalformed, "tx envelope has no algo (expected one of ed25519, sm2, secp256k1)")
	case len(t.Signature) == 0:
		return nil, errcode.New(errcode.TxMalformed, "tx envelope has no signature")
	}
	return t, nil
}

var bodySpec = map[protowire.Number]FieldSpec{
	1: Bytes("chain_id", MaxChainIDBytes),
	2: Bytes("sender", crypto.AddressLen),
	3: Varint("nonce"),
	4: RepeatedBytes("messages", MaxTxBytes),
	5: Bytes("memo", MaxMemoBytes),
	6: Varint("gas_limit"),
}

var anySpec = map[protowire.Number]FieldSpec{
	1: Bytes("type_url", MaxTypeURLBytes),
	2: Bytes("value", MaxTxBytes),
}

// DecodeBody decodes a signed body. Messages stay encoded; the app decodes them by type.
func DecodeBody(b []byte) (*Body, error) {
	fields, err := ParseFields(b, bodySpec)
	if err != nil {
		return nil, errcode.New(errcode.TxMalformed, "decode tx body: %v", err)
	}
	body := &Body{}
	for _, f := range fields {
		switch f.Num {
		case 1:
			if body.ChainID, err = f.Str("chain_id"); err != nil {
				return nil, errcode.New(errcode.TxMalformed, "decode tx body: %v", err)
			}
		case 2:
			if body.Sender, err = crypto.AddressFromBytes(f.Bytes); err != nil {
				return nil, errcode.New(errcode.TxMalformed, "decode tx body: sender: %v", err)
			}
		case 3:
			body.Nonce = f.Varint
		case 4:
			if len(body.Messages) == MaxMessages {
				return nil, errcode.New(errcode.TxTooLarge, "tx body has more than %d messages", MaxMessages)
			}
			a, err := DecodeAny(f.Bytes)
			if err != nil {
				return nil, err
			}
			body.Messages = append(body.Messages, a)
		case 5:
			if body.Memo, err = f.Str("memo"); err != nil {
				return nil, errcode.New(errcode.TxMalformed, "decode tx body: %v", err)
			}
		case 6:
			body.GasLimit = f.Varint
		}
	}
	switch {
	case body.ChainID == "":
		return nil, errcode.New(errcode.TxMalformed, "tx body has no chain_id")
	case body.Sender.IsZero():
		return nil, errcode.New(errcode.TxMalformed, "tx body has no sender (expected a 20-byte address)")
	}
	return body, nil
}

// DecodeAny decodes one typed message wrapper.
func DecodeAny(b []byte) (Any, error) {
	fields, err := ParseFields(b, anySpec)
	if err != nil {
		return Any{}, errcode.New(errcode.TxMalformed, "decode message: %v", err)
	}
	var a Any
	for _, f := range fields {
		switch f.Num {
		case 1:
			if a.TypeURL, err = f.Str("type_url"); err != nil {
				return Any{}, errcode.New(errcode.TxMalformed, "decode message: %v", err)
			}
		case 2:
			a.Value = f.Bytes
		}
	}
	if !strings.HasPrefix(a.TypeURL, "/") {
		return Any{}, errcode.New(errcode.TxMalformed, "message type_url %q must start with '/'", a.TypeURL)
	}
	return a, nil
}

// Hash is a transaction's id: SHA-256 of its bytes, as CometBFT computes it.
type Hash [32]byte

// HashOf returns the hash of the encoded transaction.
func HashOf(txBytes []byte) Hash { return sha256.Sum256(txBytes) }

// String returns the hash as upper-case hex, the form CometBFT's RPC uses.
func (h Hash) String() string { return strings.ToUpper(hex.EncodeToString(h[:])) }

// ParseHash accepts 64 hex digits, with or without a 0x prefix, any case.
func ParseHash(s string) (Hash, error) {
	if len(s) > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		s = s[2:] // one prefix, not two
	}
	var h Hash
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(h) {
		return h, errcode.New(errcode.InvalidRequest, "tx hash %q: expected 64 hex digits", s)
	}
	copy(h[:], b)
	return h, nil
}

// Sign encodes body and signs it with key. The body's sender must be the key's address.
func Sign(body *Body, key crypto.PrivKey) (*Tx, error) {
	pub := key.PubKey()
	if body.Sender != pub.Address() {
		return nil, fmt.Errorf("sign: body sender %s is not the key's address %s", body.Sender, pub.Address())
	}
	bz := body.Marshal()
	sig, err := key.Sign(bz)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	return &Tx{BodyBytes: bz, PubKey: pub.Bytes(), Algo: pub.Algo(), Signature: sig}, nil
}

// Verify checks that the signature is the key's over BodyBytes and that the key's
// address is the body's sender. It returns the parsed public key.
func (t *Tx) Verify(body *Body) (crypto.PubKey, error) {
	pub, err := crypto.PubKeyFromBytes(t.Algo, t.PubKey)
	if err != nil {
		return nil, errcode.New(errcode.InvalidSignature, "pub_key: %v", err)
	}
	if pub.Address() != body.Sender {
		return nil, errcode.New(errcode.InvalidSignature, "pub_key belongs to %s, not to the sender %s", pub.Address(), body.Sender)
	}
	if err := t.VerifyWith(pub); err != nil {
		return nil, err
	}
	return pub, nil
}

// VerifyWith checks the signature over BodyBytes with pub, a key already known to be the
// sender's (the app passes the key the sender registered).
func (t *Tx) VerifyWith(pub crypto.PubKey) error {
	if !pub.VerifySignature(t.BodyBytes, t.Signature) {
		return errcode.New(errcode.InvalidSignature, "signature does not verify with the %s key of %s over body_bytes", t.Algo, pub.Address())
	}
	return nil
}
