package credits

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/modules"
	"github.com/lianchain/lian/modules/identity"
	"github.com/lianchain/lian/store"
)

// CheckInvariants implements modules.InvariantChecker. kv is the module's prefix; it
// reads every key, once, in order. The invariants:
//
//   - Every key is of a kind of the state layout (doc.go) with its exact shape; a
//     holder in a key is a/<20-byte address> or o/<valid organisation id>. Anything
//     else is an "unknown key".
//   - Every JSON record decodes strictly and is stored in the encoding the module
//     writes (re-encoding it gives the same bytes).
//   - p: present; the parameters pass Params.Validate.
//   - b/<holder>: 8 bytes, at most MaxBalance.
//   - r/<hash>: a receipt of a top-up executed in a block (height ≥ 1: not the mark
//     CheckTx leaves for the mempool), whose payment reference hashes to <hash>, of a
//     valid holder, an ISO 4217-shaped currency, a positive amount and positive credits
//     (at most MaxBalance); the holder's statement entry it names holds the same
//     bytes.
//   - s/<holder>/<seq>: the same receipt as under r/ of its payment reference, with
//     seq <seq> and holder <holder>.
//   - sn/<holder>: 8 bytes, n; the holder's statement entries are exactly 0..n-1 (none
//     missing, none beyond), and a holder with entries has its sn/ key and a balance.
//   - sp/<org>: cap 1..MaxBalance and period MinPeriod..MaxPeriod, as MsgSetSponsorship
//     allows (Charge divides by the period).
//   - u/<org>/<address>: 16 bytes (period number, credits used).
func (m *Module) CheckInvariants(kv store.Reader) error {
	var v modules.Violations
	type stmtHolder struct {
		key  string // holder key, as in s/<holder>/…
		seqs []uint64
		n    uint64
		hasN bool
	}
	var (
		params     bool
		balances   = map[string]bool{}   // holder key
		receipts   = map[string][]byte{} // r/ key → value
		receiptOrd []string              // r/ keys in order
		matched    = map[string]bool{}   // r/ keys a statement entry matches
		holders    []*stmtHolder         // in key order of their first s/ or sn/ key
		byHolder   = map[string]*stmtHolder{}
	)
	holder := func(hk string) *stmtHolder {
		h := byHolder[hk]
		if h == nil {
			h = &stmtHolder{key: hk}
			byHolder[hk] = h
			holders = append(holders, h)
		}
		return h
	}
	kv.Iterate(nil, nil, func(k, val []byte) bool {
		name := showKey(k)
		switch {
		case bytes.Equal(k, keyParams):
			params = true
			var p Params
			if !v.DecodeRecord(k, name, val, &p) {
				return true
			}
			if err := p.Validate(); err != nil {
				v.Add(k, "%s: parameters: %v", name, err)
			}
		case bytes.HasPrefix(k, []byte("b/")):
			if _, ok := parseHolderKey(k[2:]); !ok {
				v.Add(k, "%s: unknown key: expected b/a/<20-byte address> or b/o/<org id>", name)
				return true
			}
			balances[string(k[2:])] = true
			if len(val) != 8 {
				v.Add(k, "%s: balance is %d bytes, expected 8", name, len(val))
			} else if n := binary.BigEndian.Uint64(val); n > MaxBalance {
				v.Add(k, "%s: balance %d exceeds %d", name, n, uint64(MaxBalance))
			}
		case bytes.HasPrefix(k, []byte("r/")) && len(k) == 2+sha256.Size:
			receipts[string(k)] = bytes.Clone(val)
			receiptOrd = append(receiptOrd, string(k))
			var r Receipt
			if !v.DecodeRecord(k, name, val, &r) {
				return true
			}
			if r.Height < 1 {
				v.Add(k, "%s: receipt of height %d: the mark of a top-up waiting in the mempool, committed", name, r.Height)
			}
			if s := sha256.Sum256([]byte(r.PaymentRef)); !bytes.Equal(s[:], k[2:]) {
				v.Add(k, "%s: receipt of payment reference %q, which hashes to %X", name, r.PaymentRef, s[:])
			}
			checkReceipt(&v, k, name, &r)
		case bytes.HasPrefix(k, []byte("s/")):
			hk, seq, ok := parseStatementKey(k)
			if !ok {
				v.Add(k, "%s: unknown key: expected s/<holder>/<8-byte number>", name)
				return true
			}
			h := holder(hk)
			h.seqs = append(h.seqs, seq)
			var r Receipt
			if !v.DecodeRecord(k, name, val, &r) {
				return true
			}
			if r.Seq != seq {
				v.Add(k, "%s: statement entry numbered %d", name, r.Seq)
			}
			if hd, _ := parseHolderKey([]byte(hk)); r.To != hd.String() {
				v.Add(k, "%s: statement entry of %s is to %q", name, hd, r.To)
			}
			rk := string(receiptKey(r.PaymentRef))
			switch rv, ok := receipts[rk]; {
			case !ok:
				v.Add(k, "%s: statement entry of payment reference %q, which has no receipt (%s)", name, r.PaymentRef, showKey([]byte(rk)))
			case !bytes.Equal(rv, val):
				v.Add(k, "%s: statement entry differs from the receipt of its payment reference (%s)", name, showKey([]byte(rk)))
			case matched[rk]:
				v.Add(k, "%s: statement entry repeats the receipt %s of another entry", name, showKey([]byte(rk)))
			default:
				matched[rk] = true
			}
		case bytes.HasPrefix(k, []byte("sn/")):
			if _, ok := parseHolderKey(k[3:]); !ok {
				v.Add(k, "%s: unknown key: expected sn/a/<20-byte address> or sn/o/<org id>", name)
				return true
			}
			if len(val) != 8 {
				v.Add(k, "%s: next statement number is %d bytes, expected 8", name, len(val))
				return true
			}
			h := holder(string(k[3:]))
			h.n, h.hasN = binary.BigEndian.Uint64(val), true
		case bytes.HasPrefix(k, []byte("sp/")):
			if identity.ValidateOrgID(string(k[3:])) != nil {
				v.Add(k, "%s: unknown key: expected sp/<org id>", name)
				return true
			}
			var sp Sponsorship
			if !v.DecodeRecord(k, name, val, &sp) {
				return true
			}
			if sp.Cap < 1 || sp.Cap > MaxBalance {
				v.Add(k, "%s: sponsorship cap %d, expected 1..%d", name, sp.Cap, uint64(MaxBalance))
			}
			if sp.Period < MinPeriod || sp.Period > MaxPeriod {
				v.Add(k, "%s: sponsorship period %d s, expected %d..%d", name, sp.Period, MinPeriod, MaxPeriod)
			}
		case bytes.HasPrefix(k, []byte("u/")):
			if _, _, ok := parseUsageKey(k); !ok {
				v.Add(k, "%s: unknown key: expected u/<org id>/<20-byte address>", name)
				return true
			}
			if len(val) != 16 {
				v.Add(k, "%s: sponsored use is %d bytes, expected 16", name, len(val))
			}
		default:
			v.Add(k, "%s: unknown key", name)
		}
		return true
	})
	if !params {
		v.Add(keyParams, "%s: the parameters are missing", showKey(keyParams))
	}
	for _, rk := range receiptOrd {
		if !matched[rk] {
			v.Add([]byte(rk), "%s: receipt is not in its holder's statement", showKey([]byte(rk)))
		}
	}
	for _, h := range holders {
		snk := append([]byte("sn/"), h.key...)
		name := showKey(snk)
		if !h.hasN {
			v.Add(snk, "%s: missing, but the holder has %d statement entries", name, len(h.seqs))
			continue
		}
		// Entries come in key order: increasing numbers, each once.
		within, firstMissing, missing := uint64(0), uint64(0), false
		for _, s := range h.seqs {
			if s >= h.n {
				sk := statementKeyOf(h.key, s)
				v.Add(sk, "%s: statement entry %d is beyond the next number %d", showKey(sk), s, h.n)
				continue
			}
			if !missing && s != within {
				firstMissing, missing = within, true
			}
			within++
		}
		if !missing && within < h.n {
			firstMissing, missing = within, true
		}
		if missing {
			v.Add(snk, "%s: next statement number is %d, but %d entries are missing (the first: %d)", name, h.n, h.n-within, firstMissing)
		}
		if len(h.seqs) > 0 && !balances[h.key] {
			v.Add(snk, "%s: the holder has statement entries but no balance (%s)", name, showKey(append([]byte("b/"), h.key...)))
		}
	}
	return v.Err()
}

func checkReceipt(v *modules.Violations, k []byte, name string, r *Receipt) {
	if _, err := ParseHolder(r.To); err != nil {
		v.Add(k, "%s: receipt to %v", name, err)
	}
	if !currencyPattern.MatchString(r.Currency) {
		v.Add(k, "%s: receipt currency %q, expected an ISO 4217 code", name, r.Currency)
	}
	if r.Amount == 0 || r.Credits == 0 || r.Credits > MaxBalance {
		v.Add(k, "%s: receipt of %d minor units for %d credits, expected both positive and credits at most %d", name, r.Amount, r.Credits, uint64(MaxBalance))
	}
}

func statementKeyOf(holderKey string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(append(append([]byte("s/"), holderKey...), '/'), seq)
}

// parseHolderKey parses a/<20-byte address> or o/<org id>.
func parseHolderKey(k []byte) (Holder, bool) {
	switch {
	case bytes.HasPrefix(k, []byte("a/")) && len(k) == 2+crypto.AddressLen:
		a, _ := crypto.AddressFromBytes(k[2:])
		return AccountHolder(a), true
	case bytes.HasPrefix(k, []byte("o/")) && identity.ValidateOrgID(string(k[2:])) == nil:
		return OrgHolder(string(k[2:])), true
	}
	return Holder{}, false
}

// parseStatementKey splits s/<holder>/<8-byte number>.
func parseStatementKey(k []byte) (string, uint64, bool) {
	n := len(k) - 8 - 1
	if n <= 2 || k[n] != '/' {
		return "", 0, false
	}
	if _, ok := parseHolderKey(k[2:n]); !ok {
		return "", 0, false
	}
	return string(k[2:n]), binary.BigEndian.Uint64(k[n+1:]), true
}

// parseUsageKey splits u/<org id>/<20-byte address> (an address may contain '/').
func parseUsageKey(k []byte) (string, crypto.Address, bool) {
	var addr crypto.Address
	n := len(k) - crypto.AddressLen - 1
	if n <= 2 || k[n] != '/' || identity.ValidateOrgID(string(k[2:n])) != nil {
		return "", addr, false
	}
	copy(addr[:], k[n+1:])
	return string(k[2:n]), addr, true
}

// showKey names a key of the module: kinds and organisation ids as text, addresses as
// 0x hex, numbers in decimal, other binary parts as hex.
func showKey(k []byte) string {
	holder := func(hk []byte) (string, bool) {
		h, ok := parseHolderKey(hk)
		if !ok {
			return "", false
		}
		if h.Account != nil {
			return "a/" + h.Account.String(), true
		}
		return "o/" + h.Org, true
	}
	switch {
	case bytes.HasPrefix(k, []byte("b/")):
		if h, ok := holder(k[2:]); ok {
			return "b/" + h
		}
	case bytes.HasPrefix(k, []byte("sn/")):
		if h, ok := holder(k[3:]); ok {
			return "sn/" + h
		}
	case bytes.HasPrefix(k, []byte("r/")) && len(k) == 2+sha256.Size:
		return fmt.Sprintf("r/%X", k[2:])
	case bytes.HasPrefix(k, []byte("s/")):
		if hk, seq, ok := parseStatementKey(k); ok {
			h, _ := holder([]byte(hk))
			return "s/" + h + "/" + strconv.FormatUint(seq, 10)
		}
	case bytes.HasPrefix(k, []byte("u/")):
		if org, addr, ok := parseUsageKey(k); ok {
			return "u/" + org + "/" + addr.String()
		}
	}
	return modules.QuoteKey(k)
}
