package gateway

import (
	"net/http"
	"strings"
	"testing"
)

// FuzzRequests sends arbitrary requests — any method, path, query and body, starting
// from every route — to the gateway in front of a real 4-validator chain. The gateway
// never answers 5xx but for 503 and 504 (a node unreachable or slow), and every error
// is a JSON {"code", "message"}.
func FuzzRequests(f *testing.F) {
	c := "/v1/chains/" + testChainID
	h64 := strings.Repeat("AB", 32)
	addr := "0x" + strings.Repeat("12", 20)
	for _, p := range []string{
		"/healthz", "/readyz", "/v1/openapi.json", "/v1/chains", "/v1/search?q=" + h64,
		c + "/txs?wait=false", c + "/txs/" + h64, c + "/blocks", c + "/blocks/1", c + "/blocks/latest", c + "/blocks/1/signatures",
		c + "/accounts/" + addr, c + "/accounts/" + addr + "/txs?limit=5", c + "/evidence/" + strings.Repeat("ab", 32) + "?prove=true",
		c + "/gov/params", c + "/gov/proposals?status=voting", c + "/gov/proposals/1", c + "/credits/params",
		c + "/credits/balances/org:org1", c + "/credits/sponsorships/org1", c + "/credits/statements/" + addr + "?after=0&limit=3",
		c + "/validators?org=org1", c + "/orgs", c + "/orgs/org1/txs", c + "/xchain/clients", c + "/xchain/clients/other-1",
		c + "/xchain/routes", c + "/xchain/routes/attest-x", c + "/xchain/routes/attest-x/packets?state=sent",
		c + "/xchain/routes/attest-x/packets/1", c + "/xchain/routes/attest-x/pending", c + "/xchain/routes/attest-x/requests/1",
		c + "/xchain/routes/msg-x/messages/1", c + "/xchain/inbox/h/msg-x/1", c + "/xchain/attestations/other-1/" + h64,
	} {
		method := uint8(0)
		body := ""
		if strings.Contains(p, "/txs?wait") {
			method, body = 1, `{"tx":"AAAA"}`
		}
		f.Add(method, p, []byte(body))
	}
	f.Fuzz(func(t *testing.T, method uint8, path string, body []byte) {
		tn := chainNet(t)
		m := []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodHead}[int(method)%5]
		if strings.Contains(path, "/events") {
			return // a stream: it answers 200 and stays open
		}
		req, err := http.NewRequest(m, tn.srv.URL+"/"+strings.TrimPrefix(path, "/"), strings.NewReader(string(body)))
		if err != nil {
			return // not a URL at all: no request reaches the gateway
		}
		if strings.ContainsFunc(req.URL.RequestURI(), func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			// Go's client sends the query as given, so this request line is malformed:
			// net/http's server refuses it (a plain-text 400) before any handler runs.
			return
		}
		bad, err := badAnswer(req)
		if err != nil {
			t.Fatalf("%s %q: %v", m, path, err)
		}
		if bad != "" {
			t.Fatalf("%s %q: %s", m, path, bad)
		}
	})
}
