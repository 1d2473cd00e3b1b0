package txs

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/errcode"
)

type testMsg struct{ v []byte }

func (testMsg) TypeURL() string      { return "/lian.test.v1.Msg" }
func (m testMsg) Marshal() []byte    { return m.v }
func (testMsg) ValidateBasic() error { return nil }

func signed(t *testing.T, key crypto.PrivKey, chain string, nonce uint64) (*Tx, *Body) {
	t.Helper()
	body := NewBody(chain, nonce, testMsg{[]byte("hello")})
	body.Sender = key.PubKey().Address()
	body.Memo = "memo"
	tx, err := Sign(body, key)
	if err != nil {
		t.Fatal(err)
	}
	return tx, body
}

func TestSignVerifyEachAlgorithm(t *testing.T) {
	for _, algo := range crypto.Algos() {
		t.Run(string(algo), func(t *testing.T) {
			key, err := crypto.GenPrivKey(algo)
			if err != nil {
				t.Fatal(err)
			}
			other, _ := crypto.GenPrivKey(algo)
			tx, _ := signed(t, key, "beijing-1", 7)

			// Round trip through the wire.
			got, err := DecodeTx(tx.Marshal())
			if err != nil {
				t.Fatal(err)
			}
			body, err := DecodeBody(got.BodyBytes)
			if err != nil {
				t.Fatal(err)
			}
			if body.ChainID != "beijing-1" || body.Nonce != 7 || body.Memo != "memo" || len(body.Messages) != 1 {
				t.Fatalf("body %+v", body)
			}
			if _, err := got.Verify(body); err != nil {
				t.Fatalf("verify: %v", err)
			}

			cases := map[string]func() (*Tx, *Body){
				"flipped body bit": func() (*Tx, *Body) {
					c := *got
					c.BodyBytes = bytes.Clone(got.BodyBytes)
					c.BodyBytes[3] ^= 0x04
					b, err := DecodeBody(c.BodyBytes)
					if err != nil {
						return &c, body
					}
					return &c, b
				},
				"flipped signature bit": func() (*Tx, *Body) {
					c := *got
					c.Signature = bytes.Clone(got.Signature)
					c.Signature[len(c.Signature)/2] ^= 0x01
					return &c, body
				},
				"wrong key": func() (*Tx, *Body) {
					c := *got
					c.PubKey = other.PubKey().Bytes()
					return &c, body
				},
				"signed by another key": func() (*Tx, *Body) {
					c := *got
					c.Signature, _ = other.Sign(got.BodyBytes)
					return &c, body
				},
				"wrong chain id in the verified body": func() (*Tx, *Body) {
					b := *body
					b.ChainID = "guangzhou-1"
					c := *got
					c.BodyBytes = b.Marshal() // same signature, other chain
					return &c, &b
				},
				"truncated signature": func() (*Tx, *Body) {
					c := *got
					c.Signature = got.Signature[:len(got.Signature)-1]
					return &c, body
				},
			}
			for name, mk := range cases {
				tx, b := mk()
				if _, err := tx.Verify(b); err == nil {
					t.Errorf("%s: verified", name)
				} else if errcode.Of(err) != errcode.InvalidSignature {
					t.Errorf("%s: code %s", name, errcode.Of(err))
				}
			}
		})
	}
}

func TestSignRefusesForeignSender(t *testing.T) {
	key, _ := crypto.GenPrivKey(crypto.Ed25519)
	other, _ := crypto.GenPrivKey(crypto.Ed25519)
	body := NewBody("c", 0, testMsg{[]byte("x")})
	body.Sender = other.PubKey().Address()
	if _, err := Sign(body, key); err == nil {
		t.Fatal("signed a body of another sender")
	}
}

func TestDecodeRefusesMalformed(t *testing.T) {
	key, _ := crypto.GenPrivKey(crypto.Ed25519)
	tx, body := signed(t, key, "c-1", 0)
	good := tx.Marshal()
	var unknown Encoder
	unknown.BytesField(1, tx.BodyBytes)
	unknown.BytesField(9, []byte("x"))
	dup := append(bytes.Clone(good), protowire.AppendTag(nil, 2, protowire.BytesType)...)
	dup = protowire.AppendBytes(dup, tx.PubKey)
	wrongType := protowire.AppendTag(nil, 1, protowire.VarintType)
	wrongType = protowire.AppendVarint(wrongType, 5)
	noSig := (&Tx{BodyBytes: tx.BodyBytes, PubKey: tx.PubKey, Algo: tx.Algo}).Marshal()
	badAlgo := (&Tx{BodyBytes: tx.BodyBytes, PubKey: tx.PubKey, Algo: "rsa", Signature: tx.Signature}).Marshal()
	cases := []struct {
		name string
		b    []byte
		code errcode.Code
	}{
		{"empty", nil, errcode.TxMalformed},
		{"truncated", good[:len(good)-1], errcode.TxMalformed},
		{"unknown field", unknown.Bytes(), errcode.TxMalformed},
		{"duplicate field", dup, errcode.TxMalformed},
		{"wrong wire type", wrongType, errcode.TxMalformed},
		{"no signature", noSig, errcode.TxMalformed},
		{"unknown algorithm", badAlgo, errcode.TxMalformed},
		{"oversized", make([]byte, MaxTxBytes+1), errcode.TxTooLarge},
	}
	for _, c := range cases {
		if _, err := DecodeTx(c.b); errcode.Of(err) != c.code {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
	}

	bodyCases := map[string]*Body{
		"no chain":     {Sender: body.Sender, Messages: body.Messages},
		"no sender":    {ChainID: "c", Messages: body.Messages},
		"bad type url": {ChainID: "c", Sender: body.Sender, Messages: []Any{{TypeURL: "nope", Value: []byte{1}}}},
	}
	for name, b := range bodyCases {
		if _, err := DecodeBody(b.Marshal()); errcode.Of(err) != errcode.TxMalformed {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A body without messages is a nonce filler (see Body).
	if filler, err := DecodeBody((&Body{ChainID: "c", Sender: body.Sender, Nonce: 3}).Marshal()); err != nil || len(filler.Messages) != 0 || filler.Nonce != 3 {
		t.Errorf("nonce filler: %+v, %v", filler, err)
	}
	many := &Body{ChainID: "c", Sender: body.Sender}
	for i := 0; i <= MaxMessages; i++ {
		many.Messages = append(many.Messages, Any{TypeURL: "/x", Value: []byte{1}})
	}
	if _, err := DecodeBody(many.Marshal()); errcode.Of(err) != errcode.TxTooLarge {
		t.Errorf("too many messages: %v", err)
	}
	var e *errcode.Error
	if _, err := DecodeTx(nil); !errors.As(err, &e) || e.Msg == "" {
		t.Error("error without message")
	}
}

func TestHashRoundTrip(t *testing.T) {
	h := HashOf([]byte("tx"))
	for _, s := range []string{h.String(), "0x" + h.String(), "0X" + h.String()} {
		got, err := ParseHash(s)
		if err != nil || got != h {
			t.Fatalf("ParseHash(%q) = %v, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "00", h.String() + "00", "zz" + h.String()[2:], "0x0X" + h.String(), "0x0x" + h.String()} {
		if _, err := ParseHash(s); err == nil {
			t.Errorf("ParseHash(%q) accepted", s)
		}
	}
}

// FuzzParseHash checks that an accepted hash is 64 hex digits that String prints back.
func FuzzParseHash(f *testing.F) {
	h := HashOf([]byte("tx")).String()
	for _, s := range []string{h, strings.ToLower(h), "0x" + h, "0X" + h, "0x0X" + h, "0x0x" + h, "", "0x", "00", h + "00", "zz" + h[2:], " " + h, h[:63] + "g"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseHash(s)
		if err != nil {
			if got != (Hash{}) || errcode.Of(err) != errcode.InvalidRequest {
				t.Fatalf("%q: %v with error %v", s, got, err)
			}
			return
		}
		digits := s
		if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
			digits = s[2:] // one prefix at most
		}
		if len(digits) != 64 || !strings.EqualFold(got.String(), digits) || got.String() != strings.ToUpper(got.String()) {
			t.Fatalf("%q parsed as %s", s, got)
		}
		if again, err := ParseHash(got.String()); err != nil || again != got {
			t.Fatalf("%q: round trip %s, %v", s, again, err)
		}
	})
}

func FuzzDecodeTx(f *testing.F) {
	key, _ := crypto.GenPrivKey(crypto.Ed25519)
	body := NewBody("c-1", 3, testMsg{[]byte("x")})
	body.Sender = key.PubKey().Address()
	tx, _ := Sign(body, key)
	f.Add(tx.Marshal())
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		tx, err := DecodeTx(b)
		if err != nil {
			return
		}
		// A decoded envelope re-encodes to a decodable envelope with the same fields.
		again, err := DecodeTx(tx.Marshal())
		if err != nil || !bytes.Equal(again.BodyBytes, tx.BodyBytes) || !bytes.Equal(again.Signature, tx.Signature) {
			t.Fatalf("re-encode: %v", err)
		}
		if body, err := DecodeBody(tx.BodyBytes); err == nil {
			tx.Verify(body) // must not panic
		}
	})
}

func FuzzDecodeBody(f *testing.F) {
	key, _ := crypto.GenPrivKey(crypto.Ed25519)
	body := NewBody("c-1", 3, testMsg{[]byte("x")})
	body.Sender = key.PubKey().Address()
	f.Add(body.Marshal())
	f.Add([]byte{0x22, 0x02, 0x0a, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		body, err := DecodeBody(b)
		if err != nil {
			return
		}
		again, err := DecodeBody(body.Marshal())
		if err != nil || again.Nonce != body.Nonce || again.ChainID != body.ChainID || len(again.Messages) != len(body.Messages) {
			t.Fatalf("re-encode: %v", err)
		}
	})
}

func FuzzDecodeAny(f *testing.F) {
	f.Add(Any{TypeURL: "/a.b", Value: []byte{1, 2}}.Marshal())
	f.Fuzz(func(t *testing.T, b []byte) { DecodeAny(b) })
}
