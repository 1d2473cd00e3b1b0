//go:build js && wasm

// Command wasm is the explorer's proof verifier and SM3 hasher, compiled to WebAssembly
// (web/assets/verify.wasm.gz, built by `go generate ./web`). It runs in the page's Web
// Worker (verify-worker.js) and sets the global lianVerifier:
//
//	verify(chainID, digestHex, evidenceJSON, trustJSON, source) → result JSON
//	verifyInclusion(chainID, inclusionJSON, rootEvidenceJSON, trustJSON, source) → result JSON
//	verifyAttestation(chainID, sourceChain, digestHex, attestationJSON, trustJSON, source) → result JSON
//	parseInclusion(json) → {"ok", "value"|"error"}
//	parseTrust(json) → {"ok", "value"|"error"}
//	hashNew(algo) → id (0: unknown algorithm, "sha256" or "sm3"); hashWrite(id, Uint8Array);
//	hashSum(id) → upper-case hex (and frees id)
//
// The checks are package client's (see package verifier).
package main

import (
	"encoding/json"
	"runtime/debug"
	"syscall/js"

	"github.com/lianchain/lian/web/internal/verifier"
)

func main() {
	hashers := map[int]*verifier.Hasher{}
	next := 0
	str := func(args []js.Value, i int) string {
		if i < len(args) && args[i].Type() == js.TypeString {
			return args[i].String()
		}
		return ""
	}
	parsed := func(v string, err error) any {
		out := map[string]any{"ok": err == nil}
		if err != nil {
			out["error"] = err.Error()
		} else {
			out["value"] = v
		}
		b, _ := json.Marshal(out)
		return string(b)
	}
	api := map[string]any{
		"verify": js.FuncOf(func(_ js.Value, a []js.Value) any {
			return verifier.Verify(str(a, 0), str(a, 1), str(a, 2), str(a, 3), str(a, 4))
		}),
		"verifyInclusion": js.FuncOf(func(_ js.Value, a []js.Value) any {
			return verifier.VerifyInclusion(str(a, 0), str(a, 1), str(a, 2), str(a, 3), str(a, 4))
		}),
		"verifyAttestation": js.FuncOf(func(_ js.Value, a []js.Value) any {
			return verifier.VerifyAttestation(str(a, 0), str(a, 1), str(a, 2), str(a, 3), str(a, 4), str(a, 5))
		}),
		"parseInclusion": js.FuncOf(func(_ js.Value, a []js.Value) any {
			return parsed(verifier.ParseInclusion(str(a, 0)))
		}),
		"parseTrust": js.FuncOf(func(_ js.Value, a []js.Value) any {
			return parsed(verifier.ParseTrust(str(a, 0)))
		}),
		"hashNew": js.FuncOf(func(_ js.Value, a []js.Value) any {
			h, err := verifier.NewHasher(str(a, 0))
			if err != nil {
				return 0
			}
			next++
			hashers[next] = h
			return next
		}),
		"hashWrite": js.FuncOf(func(_ js.Value, a []js.Value) any {
			if len(a) < 2 {
				return false
			}
			h := hashers[a[0].Int()]
			if h == nil {
				return false
			}
			buf := make([]byte, a[1].Get("length").Int())
			js.CopyBytesToGo(buf, a[1])
			h.Write(buf)
			return true
		}),
		"hashSum": js.FuncOf(func(_ js.Value, a []js.Value) any {
			if len(a) < 1 {
				return ""
			}
			id := a[0].Int()
			h := hashers[id]
			if h == nil {
				return ""
			}
			delete(hashers, id)
			return h.Sum()
		}),
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		api["goVersion"] = bi.GoVersion
	}
	js.Global().Set("lianVerifier", js.ValueOf(api))
	select {} // serve calls until the worker ends
}
