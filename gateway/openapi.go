package gateway

import (
	_ "embed"
	"net/http"
)

// openAPIDoc is the OpenAPI 3.1 description of every /v1 route (and /healthz), served at
// GET /v1/openapi.json. A route added to the gateway is added to openapi.json too:
// TestOpenAPI fails for a /v1 route the document lacks, and calls every documented
// route against a running chain to check its answers against the document.
//
//go:embed openapi.json
var openAPIDoc []byte

// OpenAPI returns the gateway's OpenAPI document (JSON).
func OpenAPI() []byte { return append([]byte(nil), openAPIDoc...) }

// serveOpenAPI is GET /v1/openapi.json.
func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(openAPIDoc)
	}
}
