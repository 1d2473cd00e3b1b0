package gateway

import (
	"bytes"
	"context"
	"encoding"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lianchain/lian/api"
	"github.com/lianchain/lian/modules/attest"
	"github.com/lianchain/lian/modules/credits"
	"github.com/lianchain/lian/modules/evidence"
	"github.com/lianchain/lian/modules/gov"
	"github.com/lianchain/lian/modules/identity"
	"github.com/lianchain/lian/modules/message"
	"github.com/lianchain/lian/modules/xchain"
)

// The OpenAPI document (openapi.json) must stay true: TestOpenAPIDocument checks its
// structure, that it documents every /v1 route the gateway registers (and no other),
// and that its schemas of Go types (x-go-type) list exactly the types' JSON fields;
// TestOpenAPILive calls every documented operation against the test chain, with every
// value of its query parameters, and checks each answer against the document.

// openAPIGoTypes are the Go types the document's schemas name with x-go-type.
var openAPIGoTypes = map[string]reflect.Type{
	"api.Error":             reflect.TypeFor[api.Error](),
	"api.Health":            reflect.TypeFor[api.Health](),
	"api.ChainHealth":       reflect.TypeFor[api.ChainHealth](),
	"api.Chains":            reflect.TypeFor[api.Chains](),
	"api.Chain":             reflect.TypeFor[api.Chain](),
	"api.SubmitTx":          reflect.TypeFor[api.SubmitTx](),
	"api.TxResult":          reflect.TypeFor[api.TxResult](),
	"api.TxBody":            reflect.TypeFor[api.TxBody](),
	"api.Message":           reflect.TypeFor[api.Message](),
	"api.Signer":            reflect.TypeFor[api.Signer](),
	"api.Event":             reflect.TypeFor[api.Event](),
	"api.Attribute":         reflect.TypeFor[api.Attribute](),
	"api.Block":             reflect.TypeFor[api.Block](),
	"api.Account":           reflect.TypeFor[api.Account](),
	"api.Evidence":          reflect.TypeFor[api.Evidence](),
	"api.Proof":             reflect.TypeFor[api.Proof](),
	"api.TxPage":            reflect.TypeFor[api.TxPage](),
	"api.Params":            reflect.TypeFor[api.Params](),
	"api.ConsensusParams":   reflect.TypeFor[api.ConsensusParams](),
	"api.BlockParams":       reflect.TypeFor[api.BlockParams](),
	"api.EvidenceParams":    reflect.TypeFor[api.EvidenceParams](),
	"api.ValidatorParams":   reflect.TypeFor[api.ValidatorParams](),
	"api.ABCIParams":        reflect.TypeFor[api.ABCIParams](),
	"api.Proposals":         reflect.TypeFor[api.Proposals](),
	"api.Proposal":          reflect.TypeFor[api.Proposal](),
	"api.Balance":           reflect.TypeFor[api.Balance](),
	"api.Sponsorship":       reflect.TypeFor[api.Sponsorship](),
	"api.Statement":         reflect.TypeFor[api.Statement](),
	"api.StatementEntry":    reflect.TypeFor[api.StatementEntry](),
	"api.Validators":        reflect.TypeFor[api.Validators](),
	"api.Validator":         reflect.TypeFor[api.Validator](),
	"api.Orgs":              reflect.TypeFor[api.Orgs](),
	"api.Readiness":         reflect.TypeFor[api.Readiness](),
	"api.ChainReadiness":    reflect.TypeFor[api.ChainReadiness](),
	"api.StreamEvent":       reflect.TypeFor[api.StreamEvent](),
	"api.StreamTx":          reflect.TypeFor[api.StreamTx](),
	"api.ChainEvent":        reflect.TypeFor[api.ChainEvent](),
	"api.StreamBlock":       reflect.TypeFor[api.StreamBlock](),
	"identity.Account":      reflect.TypeFor[identity.Account](),
	"identity.Freeze":       reflect.TypeFor[identity.Freeze](),
	"identity.Org":          reflect.TypeFor[identity.Org](),
	"evidence.Record":       reflect.TypeFor[evidence.Record](),
	"evidence.Entry":        reflect.TypeFor[evidence.Entry](),
	"gov.Params":            reflect.TypeFor[gov.Params](),
	"gov.Fraction":          reflect.TypeFor[gov.Fraction](),
	"gov.Proposal":          reflect.TypeFor[gov.Proposal](),
	"gov.Vote":              reflect.TypeFor[gov.Vote](),
	"credits.Params":        reflect.TypeFor[credits.Params](),
	"credits.GasSchedule":   reflect.TypeFor[credits.GasSchedule](),
	"credits.GasCost":       reflect.TypeFor[credits.GasCost](),
	"credits.Price":         reflect.TypeFor[credits.Price](),
	"credits.Sponsorship":   reflect.TypeFor[credits.Sponsorship](),
	"api.XClients":          reflect.TypeFor[api.XClients](),
	"api.XClient":           reflect.TypeFor[api.XClient](),
	"api.XRoutes":           reflect.TypeFor[api.XRoutes](),
	"api.XRoute":            reflect.TypeFor[api.XRoute](),
	"api.XPacket":           reflect.TypeFor[api.XPacket](),
	"api.XPackets":          reflect.TypeFor[api.XPackets](),
	"api.XPending":          reflect.TypeFor[api.XPending](),
	"api.XAttestation":      reflect.TypeFor[api.XAttestation](),
	"xchain.Fraction":       reflect.TypeFor[xchain.Fraction](),
	"xchain.ConsensusState": reflect.TypeFor[xchain.ConsensusState](),
	"xchain.Route":          reflect.TypeFor[xchain.Route](),
	"xchain.Outcome":        reflect.TypeFor[xchain.Outcome](),
	"xchain.PacketView":     reflect.TypeFor[xchain.PacketView](),
	"attest.Attestation":    reflect.TypeFor[attest.Attestation](),
	"attest.Request":        reflect.TypeFor[attest.Request](),
	"message.Sent":          reflect.TypeFor[message.Sent](),
	"message.Delivered":     reflect.TypeFor[message.Delivered](),
}

// oaDoc is the parsed document, with helpers to resolve references.
type oaDoc struct {
	root map[string]any
}

func loadOpenAPI(t *testing.T) *oaDoc {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(OpenAPI()))
	dec.UseNumber()
	var root map[string]any
	if err := dec.Decode(&root); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	return &oaDoc{root: root}
}

// resolve follows a "$ref" (local references only).
func (d *oaDoc) resolve(v any) (map[string]any, error) {
	for range 10 {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%v is not an object", v)
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return m, nil
		}
		target, err := d.pointer(ref)
		if err != nil {
			return nil, err
		}
		v = target
	}
	return nil, fmt.Errorf("reference chain too long at %v", v)
}

// pointer returns the value of a local JSON pointer reference "#/a/b".
func (d *oaDoc) pointer(ref string) (any, error) {
	p, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, fmt.Errorf("reference %q is not local", ref)
	}
	var cur any = d.root
	for _, tok := range strings.Split(p, "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("reference %q: %q is not in an object", ref, tok)
		}
		if cur, ok = m[tok]; !ok {
			return nil, fmt.Errorf("reference %q: no %q", ref, tok)
		}
	}
	return cur, nil
}

// oaOp is one documented operation.
type oaOp struct {
	method, path string
	op           map[string]any
	params       []map[string]any // resolved; path-level ones included
}

func (o oaOp) String() string { return o.method + " " + o.path }

func (o oaOp) param(in, name string) map[string]any {
	for _, p := range o.params {
		if p["in"] == in && p["name"] == name {
			return p
		}
	}
	return nil
}

func (d *oaDoc) operations(t *testing.T) []oaOp {
	t.Helper()
	paths, ok := d.root["paths"].(map[string]any)
	if !ok {
		t.Fatal("openapi.json: no paths")
	}
	var ops []oaOp
	for path, item := range paths {
		pi, ok := item.(map[string]any)
		if !ok {
			t.Fatalf("path %s is not an object", path)
		}
		var common []any
		if ps, ok := pi["parameters"].([]any); ok {
			common = ps
		}
		for method, raw := range pi {
			switch method {
			case "get", "put", "post", "delete", "options", "head", "patch", "trace":
			default:
				continue
			}
			op, ok := raw.(map[string]any)
			if !ok {
				t.Fatalf("%s %s is not an object", method, path)
			}
			o := oaOp{method: strings.ToUpper(method), path: path, op: op}
			all := slices.Clone(common)
			if ps, ok := op["parameters"].([]any); ok {
				all = append(all, ps...)
			}
			for _, p := range all {
				rp, err := d.resolve(p)
				if err != nil {
					t.Fatalf("%s: parameter: %v", o, err)
				}
				o.params = append(o.params, rp)
			}
			ops = append(ops, o)
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].String() < ops[j].String() })
	return ops
}

// walk calls fn on every JSON value under v (objects and arrays included).
func walk(v any, fn func(any)) {
	fn(v)
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			walk(e, fn)
		}
	case []any:
		for _, e := range x {
			walk(e, fn)
		}
	}
}

var pathParamRe = regexp.MustCompile(`\{([^}/]+)\}`)

// muxPath turns a ServeMux pattern path into an OpenAPI path template.
func muxPath(p string) string {
	p = strings.ReplaceAll(p, "{$}", "")
	return strings.ReplaceAll(p, "...}", "}")
}

func TestOpenAPIDocument(t *testing.T) {
	d := loadOpenAPI(t)
	if v := d.root["openapi"]; v != "3.1.0" {
		t.Fatalf("openapi %v, want 3.1.0", v)
	}
	if info, _ := d.root["info"].(map[string]any); info["title"] == nil || info["version"] == nil {
		t.Fatalf("info %v lacks title or version", info)
	}
	// Every reference resolves.
	walk(d.root, func(v any) {
		if m, ok := v.(map[string]any); ok {
			if ref, ok := m["$ref"].(string); ok {
				if _, err := d.pointer(ref); err != nil {
					t.Errorf("%v", err)
				}
			}
		}
	})

	ops := d.operations(t)
	ids := map[string]string{}
	for _, o := range ops {
		id, _ := o.op["operationId"].(string)
		if id == "" {
			t.Errorf("%s: no operationId", o)
		} else if prev, dup := ids[id]; dup {
			t.Errorf("%s: operationId %q is %s's too", o, id, prev)
		}
		ids[id] = o.String()
		if o.op["summary"] == nil {
			t.Errorf("%s: no summary", o)
		}
		// Path parameters match the template; the live test can give every query
		// parameter a value (an enum, a boolean or an example).
		inTemplate := map[string]bool{}
		for _, m := range pathParamRe.FindAllStringSubmatch(o.path, -1) {
			inTemplate[m[1]] = true
			if p := o.param("path", m[1]); p == nil || p["required"] != true {
				t.Errorf("%s: path parameter %q is not declared (required)", o, m[1])
			}
		}
		for _, p := range o.params {
			name, _ := p["name"].(string)
			schema, _ := p["schema"].(map[string]any)
			switch p["in"] {
			case "path":
				if !inTemplate[name] {
					t.Errorf("%s: path parameter %q is not in the path", o, name)
				}
			case "query":
				if schema == nil {
					t.Errorf("%s: query parameter %q has no schema", o, name)
				} else if schema["enum"] == nil && schema["type"] != "boolean" && p["example"] == nil {
					t.Errorf("%s: query parameter %q needs an enum, a boolean type or an example (the live test calls it with them)", o, name)
				}
			}
		}
		// Responses: a success, each with a described body or none.
		resps, _ := o.op["responses"].(map[string]any)
		ok2xx := false
		for status, r := range resps {
			if strings.HasPrefix(status, "2") {
				ok2xx = true
			}
			rr, err := d.resolve(r)
			if err != nil {
				t.Errorf("%s %s: %v", o, status, err)
				continue
			}
			if rr["description"] == nil {
				t.Errorf("%s %s: no description", o, status)
			}
			if c, ok := rr["content"].(map[string]any); ok {
				for ct, media := range c {
					if m, _ := media.(map[string]any); m["schema"] == nil && ct == "application/json" {
						t.Errorf("%s %s: %s without a schema", o, status, ct)
					}
				}
			}
		}
		if !ok2xx {
			t.Errorf("%s: no 2xx response", o)
		}
	}

	// The document and the routes agree: every /v1 route registered is documented and
	// every documented route is registered.
	gw, err := New(Config{Chains: map[string][]string{"c-1": {"http://127.0.0.1:1"}}})
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, o := range ops {
		documented[o.String()] = true
	}
	registered := map[string]bool{}
	for _, pattern := range gw.mux.patterns {
		method, p, ok := strings.Cut(pattern, " ")
		if !ok {
			method, p = "GET", pattern // a pattern without a method serves every method
		}
		route := method + " " + muxPath(p)
		registered[route] = true
		if strings.HasPrefix(p, "/v1/") && !documented[route] {
			t.Errorf("route %q is not in openapi.json: add it (see docs/gateway.md)", pattern)
		}
	}
	for route := range documented {
		if !registered[route] {
			t.Errorf("openapi.json documents %s, which the gateway does not serve", route)
		}
	}

	// Schemas of Go types list exactly the types' JSON fields, and require exactly the
	// ones always present.
	schemas, _ := d.root["components"].(map[string]any)["schemas"].(map[string]any)
	for name, s := range schemas {
		sm, _ := s.(map[string]any)
		goType, _ := sm["x-go-type"].(string)
		if goType == "" {
			continue
		}
		typ, ok := openAPIGoTypes[goType]
		if !ok {
			t.Errorf("schema %s: x-go-type %q is not in openAPIGoTypes (openapi_test.go)", name, goType)
			continue
		}
		checkGoSchema(t, d, name, sm, typ)
	}

	// The gateway serves the document.
	srv := gw.Handler()
	rec := newRecorder()
	srv.ServeHTTP(rec, httptestRequest(http.MethodGet, "/v1/openapi.json", nil))
	if rec.status != http.StatusOK || rec.header.Get("Content-Type") != "application/json" || !bytes.Equal(rec.body.Bytes(), OpenAPI()) {
		t.Fatalf("GET /v1/openapi.json: %d %q, %d bytes", rec.status, rec.header.Get("Content-Type"), rec.body.Len())
	}
}

// checkGoSchema checks a schema against the JSON encoding of a struct type.
func checkGoSchema(t *testing.T, d *oaDoc, name string, s map[string]any, typ reflect.Type) {
	t.Helper()
	props, _ := s["properties"].(map[string]any)
	required := map[string]bool{}
	if rs, ok := s["required"].([]any); ok {
		for _, r := range rs {
			required[r.(string)] = true
		}
	}
	fields := map[string]bool{}
	for f := range typ.Fields() {
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		fname, opts, _ := strings.Cut(tag, ",")
		if fname == "" {
			fname = f.Name
		}
		fields[fname] = true
		ps, ok := props[fname]
		if !ok {
			t.Errorf("schema %s: no property %q (field %s.%s)", name, fname, typ, f.Name)
			continue
		}
		omit := strings.Contains(","+opts+",", ",omitempty,") || strings.Contains(","+opts+",", ",omitzero,")
		if required[fname] == omit {
			t.Errorf("schema %s: property %q required=%v, but the field is %s", name, fname, required[fname],
				map[bool]string{true: "omitted when empty", false: "always present"}[omit])
		}
		if want := jsonTypeOf(f.Type); want != "" {
			rs, err := d.resolve(ps)
			if err != nil {
				t.Errorf("schema %s.%s: %v", name, fname, err)
				continue
			}
			if got, _ := rs["type"].(string); got != want {
				t.Errorf("schema %s: property %q is %q, the Go field %s is %q", name, fname, got, f.Type, want)
			}
		}
	}
	for p := range props {
		if !fields[p] {
			t.Errorf("schema %s: property %q is not a field of %s", name, p, typ)
		}
	}
	for r := range required {
		if !fields[r] {
			t.Errorf("schema %s: required %q is not a field of %s", name, r, typ)
		}
	}
}

// jsonTypeOf is the JSON type a Go type encodes to, or "" when it depends on the value.
func jsonTypeOf(t reflect.Type) string {
	if t == reflect.TypeFor[json.RawMessage]() {
		return ""
	}
	if t == reflect.TypeFor[time.Time]() {
		return "string"
	}
	implements := func(i reflect.Type) bool { return t.Implements(i) || reflect.PointerTo(t).Implements(i) }
	if implements(reflect.TypeFor[encoding.TextMarshaler]()) && !implements(reflect.TypeFor[json.Marshaler]()) {
		return "string"
	}
	if implements(reflect.TypeFor[json.Marshaler]()) {
		if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 {
			return "string" // hex bytes
		}
		if t.Kind() == reflect.Array || t.Kind() == reflect.String {
			return "string" // addresses
		}
		return ""
	}
	switch t.Kind() {
	case reflect.Pointer:
		return jsonTypeOf(t.Elem())
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "string" // base64
		}
		return "array"
	case reflect.Array:
		return "array"
	case reflect.Struct, reflect.Map:
		return "object"
	}
	return ""
}

// validateSchema checks a decoded JSON value (json.Number for numbers) against a schema
// of the document and returns what does not match.
func (d *oaDoc) validateSchema(schema any, v any, at string) []string {
	s, err := d.resolve(schema)
	if err != nil {
		return []string{at + ": " + err.Error()}
	}
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, at+": "+fmt.Sprintf(format, args...)) }
	if types := schemaTypes(s["type"]); len(types) > 0 && !slices.ContainsFunc(types, func(ty string) bool { return jsonIs(v, ty) }) {
		fail("%s, expected %v", describeJSON(v), types)
		return errs
	}
	if enum, ok := s["enum"].([]any); ok && !slices.ContainsFunc(enum, func(e any) bool { return reflect.DeepEqual(e, v) }) {
		fail("%v is not one of %v", v, enum)
	}
	for _, key := range []string{"allOf", "anyOf", "oneOf"} {
		subs, ok := s[key].([]any)
		if !ok {
			continue
		}
		matched := 0
		var subErrs []string
		for _, sub := range subs {
			e := d.validateSchema(sub, v, at)
			if len(e) == 0 {
				matched++
			}
			subErrs = append(subErrs, e...)
		}
		switch {
		case key == "allOf" && matched != len(subs), key == "anyOf" && matched == 0:
			errs = append(errs, subErrs...)
		case key == "oneOf" && matched != 1:
			fail("matches %d of the oneOf schemas: %v", matched, subErrs)
		}
	}
	switch x := v.(type) {
	case string:
		if p, ok := s["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(x) {
			fail("%q does not match %s", truncate(x, 80), p)
		}
		if s["format"] == "date-time" {
			if _, err := time.Parse(time.RFC3339Nano, x); err != nil {
				fail("%q is not a date-time", x)
			}
		}
		if s["contentEncoding"] == "base64" {
			if _, err := base64.StdEncoding.DecodeString(x); err != nil {
				fail("%q is not base64", truncate(x, 80))
			}
		}
	case json.Number:
		n, ok := new(big.Rat).SetString(x.String())
		if !ok {
			fail("number %s", x)
			break
		}
		if m, ok := s["minimum"].(json.Number); ok {
			if min, _ := new(big.Rat).SetString(m.String()); n.Cmp(min) < 0 {
				fail("%s is below the minimum %s", x, m)
			}
		}
		if m, ok := s["maximum"].(json.Number); ok {
			if max, _ := new(big.Rat).SetString(m.String()); n.Cmp(max) > 0 {
				fail("%s is above the maximum %s", x, m)
			}
		}
	case []any:
		if items, ok := s["items"]; ok {
			for i, e := range x {
				errs = append(errs, d.validateSchema(items, e, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		if req, ok := s["required"].([]any); ok {
			for _, r := range req {
				if _, ok := x[r.(string)]; !ok {
					fail("required property %q is missing", r)
				}
			}
		}
		for k, e := range x {
			if ps, ok := props[k]; ok {
				errs = append(errs, d.validateSchema(ps, e, at+"."+k)...)
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap {
					fail("property %q is not documented", k)
				}
			case map[string]any:
				errs = append(errs, d.validateSchema(ap, e, at+"."+k)...)
			}
		}
	}
	return errs
}

func schemaTypes(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func jsonIs(v any, ty string) bool {
	switch ty {
	case "null":
		return v == nil
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "number":
		_, ok := v.(json.Number)
		return ok
	case "integer":
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		_, err := strconv.ParseInt(n.String(), 10, 64)
		if err != nil {
			_, err = strconv.ParseUint(n.String(), 10, 64)
		}
		return err == nil
	case "array":
		_, ok := v.([]any)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	}
	return false
}

func describeJSON(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("string %q", truncate(x, 60))
	case json.Number:
		return "number " + x.String()
	case bool:
		return fmt.Sprintf("boolean %v", x)
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func TestOpenAPIValidator(t *testing.T) {
	// The test's validator itself: it must refuse what does not match.
	d := &oaDoc{root: map[string]any{}}
	schema := map[string]any{"type": "object", "required": []any{"a"}, "additionalProperties": false,
		"properties": map[string]any{
			"a": map[string]any{"type": "integer", "minimum": json.Number("1")},
			"b": map[string]any{"type": "array", "items": map[string]any{"type": "string", "pattern": "^x+$"}},
			"c": map[string]any{"type": []any{"string", "null"}, "format": "date-time"},
			"e": map[string]any{"type": "string", "enum": []any{"p", "q"}},
		}}
	decode := func(s string) any {
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	for doc, bad := range map[string]bool{
		`{"a":1,"b":["x","xx"],"c":null,"e":"p"}`: false,
		`{"a":2,"c":"2026-01-02T03:04:05.5Z"}`:    false,
		`{"b":[]}`:                                true,
		`{"a":0}`:                                 true,
		`{"a":1.5}`:                               true,
		`{"a":"1"}`:                               true,
		`{"a":1,"b":["y"]}`:                       true,
		`{"a":1,"c":"yesterday"}`:                 true,
		`{"a":1,"z":true}`:                        true,
		`{"a":1,"e":"r"}`:                         true,
		`[]`:                                      true,
	} {
		if errs := d.validateSchema(schema, decode(doc), "$"); (len(errs) > 0) != bad {
			t.Errorf("%s: errors %v, want bad=%v", doc, errs, bad)
		}
	}
}

// oaResponse is an answer of the live walk.
type oaResponse struct {
	status int
	header http.Header
	body   []byte
}

func TestOpenAPILive(t *testing.T) {
	tn := chainNet(t)
	d := loadOpenAPI(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// What the routes are asked about: an anchored digest and its transaction, a
	// proposal, a sponsorship (ended when the test ends), the admin's account.
	admin := tn.admin
	adminAddr := admin.PubKey().Address()
	digest := digestOf(fmt.Sprintf("openapi walk %d", time.Now().UnixNano()))
	anchored := tn.send(t, admin, anchor(digest, "openapi"))
	proposed := tn.send(t, admin, &gov.MsgSubmitProposal{Kind: gov.KindResumeOrg, Content: []byte(`{"id":"org4"}`), Title: "openapi walk"})
	proposalID := attr(proposed.Events, gov.EventSubmitted, "proposal")
	if proposalID == "" {
		t.Fatalf("no proposal id in %+v", proposed.Events)
	}
	sponsor := tn.orgAdmins[1] // org3's admin
	tn.send(t, sponsor, &credits.MsgSetSponsorship{Cap: 1000, Period: 3600})
	t.Cleanup(func() { tn.send(t, sponsor, &credits.MsgSetSponsorship{}) })

	xf := xchainSetup(t, tn) // a client, routes, packets, an attestation and messages
	pathValues := map[string]string{
		"client":       xf.peer,
		"route":        xf.attestRoute,
		"sequence":     strconv.FormatUint(xf.attestSeq, 10),
		"source_chain": xf.peer,
		"handler":      xf.handler,
		"chain":        testChainID,
		"hash":         anchored.Hash,
		"height":       strconv.FormatInt(anchored.Height, 10),
		"address":      adminAddr.String(),
		"digest":       fmt.Sprintf("%X", digest),
		"id":           proposalID,
		"holder":       adminAddr.String(),
		"org":          "org3",
	}
	// Request bodies by operationId. Transactions get consecutive nonces: a
	// transaction admitted with wait=false is not committed when the next is signed.
	nonce := tn.nonce(t, adminAddr)
	bodies := map[string]func() []byte{
		"submitTx": func() []byte {
			tx := sign(t, testChainID, nonce, admin, anchor(digestOf(fmt.Sprintf("openapi tx %d %d", nonce, time.Now().UnixNano())), "walk"))
			nonce++
			return submitBody(tx.Marshal())
		},
	}

	do := func(o oaOp, path string, q url.Values, body []byte) oaResponse {
		t.Helper()
		u := tn.srv.URL + path
		if len(q) > 0 {
			u += "?" + q.Encode()
		}
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		rctx, rcancel := context.WithTimeout(ctx, time.Minute)
		defer rcancel()
		req, err := http.NewRequestWithContext(rctx, o.method, u, rd)
		if err != nil {
			t.Fatal(err)
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := httpClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", o.method, u, err)
		}
		defer res.Body.Close()
		out := oaResponse{status: res.StatusCode, header: res.Header}
		if ct, _, _ := strings.Cut(res.Header.Get("Content-Type"), ";"); ct != "text/event-stream" {
			// A stream is checked by its status and header only.
			if out.body, err = io.ReadAll(res.Body); err != nil {
				t.Fatalf("%s %s: read: %v", o.method, u, err)
			}
		}
		return out
	}

	// check matches an answer against the operation's documented responses.
	check := func(o oaOp, what string, res oaResponse, wantClass int) map[string]any {
		t.Helper()
		if id := res.header.Get(HeaderRequestID); !validRequestID(id) {
			t.Errorf("%s (%s): X-Request-Id %q", o, what, id)
		}
		resps, _ := o.op["responses"].(map[string]any)
		r, ok := resps[strconv.Itoa(res.status)]
		if !ok {
			t.Errorf("%s (%s): status %d is not documented: %s", o, what, res.status, truncate(string(res.body), 300))
			return nil
		}
		if res.status/100 != wantClass {
			t.Errorf("%s (%s): status %d, want %dxx: %s", o, what, res.status, wantClass, truncate(string(res.body), 300))
		}
		rr, err := d.resolve(r)
		if err != nil {
			t.Fatalf("%s: %v", o, err)
		}
		content, _ := rr["content"].(map[string]any)
		ct, _, _ := strings.Cut(res.header.Get("Content-Type"), ";")
		media, ok := content[ct].(map[string]any)
		if !ok {
			t.Errorf("%s (%s): Content-Type %q is not documented for %d", o, what, ct, res.status)
			return nil
		}
		if ct != "application/json" {
			return nil
		}
		dec := json.NewDecoder(bytes.NewReader(res.body))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Errorf("%s (%s): body is not JSON: %v", o, what, err)
			return nil
		}
		for _, e := range d.validateSchema(media["schema"], v, "$") {
			t.Errorf("%s (%s): %s", o, what, e)
		}
		m, _ := v.(map[string]any)
		return m
	}

	// Path values of the operations that need others than pathValues'.
	opPathValues := map[string]map[string]string{
		"getAttestation":  {"digest": fmt.Sprintf("%X", xf.digest)},
		"listXPending":    {"route": xf.messageRoute, "sequence": strconv.FormatUint(xf.sentSeq, 10)},
		"getSentMessage":  {"route": xf.messageRoute, "sequence": strconv.FormatUint(xf.sentSeq, 10)},
		"getInboxMessage": {"route": xf.messageRoute, "sequence": strconv.FormatUint(xf.inboxSeq, 10)},
	}

	calls := 0
	for _, o := range d.operations(t) {
		path := pathParamRe.ReplaceAllStringFunc(o.path, func(m string) string {
			name := m[1 : len(m)-1]
			v, ok := pathValues[name]
			if ov, found := opPathValues[o.op["operationId"].(string)][name]; found {
				v, ok = ov, true
			}
			if !ok {
				t.Errorf("%s: the live test has no value for path parameter %q: add one to pathValues", o, name)
			}
			return url.PathEscape(v)
		})
		body := func() []byte { return nil }
		if o.op["requestBody"] != nil {
			b, ok := bodies[o.op["operationId"].(string)]
			if !ok {
				t.Errorf("%s: the live test has no request body for it: add one to bodies", o)
				continue
			}
			body = b
		}
		// Without query parameters, then with each value of each.
		queries := []url.Values{nil}
		for _, p := range o.params {
			if p["in"] != "query" {
				continue
			}
			name := p["name"].(string)
			schema, _ := p["schema"].(map[string]any)
			var values []string
			if enum, ok := schema["enum"].([]any); ok {
				for _, e := range enum {
					values = append(values, fmt.Sprint(e))
				}
			} else if schema["type"] == "boolean" {
				values = []string{"true", "false"}
			}
			if ex, ok := p["example"]; ok {
				values = append(values, fmt.Sprint(ex))
			}
			for _, v := range values {
				queries = append(queries, url.Values{name: {v}})
			}
		}
		for _, q := range queries {
			what := "no query"
			if q != nil {
				what = q.Encode()
			}
			doc := check(o, what, do(o, path, q, body()), 2)
			calls++
			// Follow a page's next cursor once.
			if next, _ := doc["next"].(string); next != "" && o.param("query", "cursor") != nil {
				q2 := url.Values{"cursor": {next}}
				for k, v := range q {
					if k != "cursor" && k != "before" {
						q2[k] = v
					}
				}
				check(o, "next page "+q2.Encode(), do(o, path, q2, body()), 2)
				calls++
			}
		}
		// An unknown chain, and a limit out of range, are documented errors (refused
		// before a body is read).
		var errBody []byte
		if o.op["requestBody"] != nil {
			errBody = []byte(`{}`)
		}
		if strings.Contains(o.path, "{chain}") {
			p := strings.Replace(path, "/chains/"+testChainID, "/chains/no-such-chain", 1)
			check(o, "unknown chain", do(o, p, nil, errBody), 4)
		}
		if o.param("query", "limit") != nil {
			check(o, "limit=0", do(o, path, url.Values{"limit": {"0"}}, errBody), 4)
		}
	}
	if calls < 30 {
		t.Fatalf("only %d calls made", calls)
	}
	// The transactions admitted without waiting are committed before other tests sign.
	eventually(t, 30*time.Second, "the walk's transactions are committed", func() bool {
		return tn.nonce(t, adminAddr) == nonce
	})
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func httptestRequest(method, target string, body io.Reader) *http.Request {
	r, err := http.NewRequest(method, "http://gateway.test"+target, body)
	if err != nil {
		panic(err)
	}
	return r
}
