package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/lianchain/lian/client"
	"github.com/lianchain/lian/crypto"
	"github.com/lianchain/lian/localnet"
	"github.com/lianchain/lian/modules/attest"
	"github.com/lianchain/lian/modules/evidence"
	"github.com/lianchain/lian/node"
)

// The explorer in a real headless Chromium against an in-process `lian up` network (two
// chains of four validators and the gateway): the overview shows both chains with
// heights that move, searching a transaction hash opens its page, and a document set on
// the verify page's file input shows its anchoring record with the proof checked in the
// browser by the WebAssembly verifier. LIAN_SCREENSHOTS=<dir> keeps screenshots.

// chromiumPath finds a Chromium: $LIAN_CHROMIUM, else the usual names on $PATH.
func chromiumPath() string {
	if p := os.Getenv("LIAN_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browser is a page of a headless Chromium, with the page's uncaught exceptions,
// warnings and errors collected.
type browser struct {
	ctx  context.Context
	mu   sync.Mutex
	logs []string
}

func newBrowser(t *testing.T, ctx context.Context) *browser {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		t.Skip("no Chromium found: install it (Debian: apt-get install -y chromium) or set LIAN_CHROMIUM to its path")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // CI containers run as root
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.WindowSize(1366, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	b := &browser{ctx: bctx}
	if err := chromedp.Do(bctx); err != nil { // starts the browser
		cancelBrowser()
		cancelAlloc()
		t.Fatalf("start Chromium (%s): %v", path, err)
	}
	messages := chromedp.Console(bctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == chromedp.ConsoleWarning || m.Type == chromedp.ConsoleError {
				b.log(m.String())
			}
		}
	}()
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		<-done
	})
	return b
}

func (b *browser) log(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.logs = append(b.logs, s)
}

func (b *browser) problems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.logs...)
}

// fail reports what the page shows.
func (b *browser) fail(t *testing.T, what string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('main') ? document.querySelector('main').innerText.slice(0, 2000) : ''`))
	t.Fatalf("%s: %v\npage: %s\nbrowser log: %q", what, err, text, b.problems())
}

// do runs the steps with a deadline.
func (b *browser) do(t *testing.T, what string, d time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, d)
	defer cancel()
	start := time.Now()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.fail(t, what, err)
	}
	t.Logf("%s: %v", what, time.Since(start).Round(time.Millisecond))
}

// eval evaluates a JavaScript expression.
func eval[T any](t *testing.T, b *browser, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.fail(t, "evaluate "+expr, err)
	}
	return v
}

// waitJS waits until the JavaScript expression is truthy.
func waitJS(expr string, d time.Duration) chromedp.Action[chromedp.Void] {
	poll := chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(d), chromedp.WithPollingInterval(50*time.Millisecond))
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		v, err := poll(ctx, t)
		if err != nil {
			return v, fmt.Errorf("waiting for %s: %w", expr, err)
		}
		return v, nil
	}
}

func (b *browser) screenshot(t *testing.T, name string) {
	t.Helper()
	dir := os.Getenv("LIAN_SCREENSHOTS")
	if dir == "" {
		return
	}
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100: PNG
	if err != nil {
		b.fail(t, "screenshot "+name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestExplorerInChromium(t *testing.T) {
	if chromiumPath() == "" {
		t.Skip("no Chromium found: install it (Debian: apt-get install -y chromium) or set LIAN_CHROMIUM to its path")
	}
	if testing.Short() {
		t.Skip("starts a network and a browser; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()

	home := t.TempDir()
	net, err := localnet.Start(ctx, localnet.Options{
		Home: home, Listen: "127.0.0.1:0", LogLevel: "none",
		// Blocks keep coming without transactions, so heights move while the test looks.
		Tuning: node.Tuning{CreateEmptyBlocksInterval: 400 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer net.Stop()
	base := net.GatewayURL()
	t.Logf("network ready in %v at %s", time.Since(start).Round(time.Millisecond), base)

	// Anchor a document and a batch of two with the Go SDK, as the demo key.
	ks, err := crypto.OpenKeystore(filepath.Join(home, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	demo, err := ks.Signer(localnet.DemoKey)
	if err != nil {
		t.Fatal(err)
	}
	c := client.New(base)
	dir := t.TempDir()
	doc := filepath.Join(dir, "contract.txt")
	docText := fmt.Sprintf("Contract between org1 and org2, signed %s", time.Now().Format(time.RFC3339Nano))
	if err := os.WriteFile(doc, []byte(docText), 0o644); err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte(docText))
	anchored, err := c.SignAndSubmit(ctx, "beijing-1", demo, "", &evidence.MsgAnchor{Digest: digest[:], HashAlgo: evidence.HashSHA256, Label: "contract"})
	if err != nil || anchored.Code != 0 {
		t.Fatalf("anchor: %v %+v", err, anchored)
	}
	var pages [][]byte
	for i := range 2 {
		d := sha256.Sum256([]byte(fmt.Sprintf("page %d of the case file, %s", i, docText)))
		pages = append(pages, d[:])
	}
	root, proofs, err := client.NewBatch(evidence.HashSHA256, pages)
	if err != nil {
		t.Fatal(err)
	}
	// A nonce filler (a transaction without messages) of the demo key.
	nonce, err := c.Nonce(ctx, "beijing-1", client.AddressOf(demo))
	if err != nil {
		t.Fatal(err)
	}
	fillerTx, err := client.BuildFiller("beijing-1", nonce, demo)
	if err != nil {
		t.Fatal(err)
	}
	filler, err := c.BroadcastTx(ctx, "beijing-1", fillerTx, true)
	if err != nil || filler.Code != 0 {
		t.Fatalf("filler: %v %+v", err, filler)
	}
	batch, err := c.SignAndSubmit(ctx, "guangzhou-1", demo, "", &evidence.MsgAnchorBatch{Root: root, HashAlgo: evidence.HashSHA256, Count: 2, Label: "case file"})
	if err != nil || batch.Code != 0 {
		t.Fatalf("anchor batch: %v %+v", err, batch)
	}
	pageDoc := filepath.Join(dir, "page-1.txt")
	if err := os.WriteFile(pageDoc, []byte(fmt.Sprintf("page %d of the case file, %s", 1, docText)), 0o644); err != nil {
		t.Fatal(err)
	}
	proofs[1].ChainID, proofs[1].TxHash, proofs[1].Height = "guangzhou-1", batch.Hash, batch.Height
	pj, _ := json.MarshalIndent(proofs[1], "", "  ")
	pageProof := filepath.Join(dir, "page-1.txt.proof.json")
	if err := os.WriteFile(pageProof, pj, 0o644); err != nil {
		t.Fatal(err)
	}
	trustFile := filepath.Join(client.TrustDir(home), "beijing-1.json")

	b := newBrowser(t, ctx)
	browserStart := time.Now()

	t.Run("overview shows both chains with moving heights", func(t *testing.T) {
		heights := `(() => { const a = document.getElementById('height-beijing-1'), b = document.getElementById('height-guangzhou-1');
			return a && b ? [Number(a.dataset.height), Number(b.dataset.height)] : null; })()`
		b.do(t, "open the overview", 30*time.Second,
			chromedp.Navigate(base+"/"),
			waitJS(heights+` && `+heights+`.every((h) => h > 0)`, 20*time.Second),
			// Validators grouped by organisation, with their liveness.
			waitJS(`document.querySelectorAll('#validators-beijing-1 .validator-item[data-status]').length === 4`, 20*time.Second),
			waitJS(`document.querySelectorAll('#validators-guangzhou-1 .validator-item[data-status]').length === 4`, 20*time.Second),
		)
		first := eval[[]int64](t, b, heights)
		b.do(t, "heights move", 30*time.Second,
			waitJS(fmt.Sprintf(`(() => { const h = %s; return h && h[0] > %d && h[1] > %d; })()`, heights, first[0], first[1]), 25*time.Second))
		// The latest transactions: the anchor is among them.
		b.do(t, "the anchor in the transaction feed", 20*time.Second,
			waitJS(fmt.Sprintf(`document.querySelector('#feed-table a[href="/tx/beijing-1/%s"]')`, anchored.Hash), 15*time.Second))
		// The filler's row says what it is.
		b.do(t, "the filler in the transaction feed", 20*time.Second,
			waitJS(fmt.Sprintf(`document.querySelector('#feed-table a[href="/tx/beijing-1/%s"]')?.closest('tr')?.querySelector('.badges')?.innerText.includes('nonce filler')`, filler.Hash), 15*time.Second))
		orgs := eval[[]string](t, b, `[...document.querySelectorAll('#validators-beijing-1 .org-group-head')].map((e) => e.innerText)`)
		if len(orgs) != 4 || !strings.HasPrefix(orgs[0], "org1") {
			t.Errorf("validators grouped by organisation: %q", orgs)
		}
		b.screenshot(t, "overview")
	})

	t.Run("searching a transaction hash opens its page", func(t *testing.T) {
		b.do(t, "search the anchor's hash", 30*time.Second,
			chromedp.Navigate(base+"/"),
			chromedp.WaitVisible(chromedp.ID("search-input")),
			chromedp.SendKeys(chromedp.ID("search-input"), strings.ToLower(anchored.Hash)+kb.Enter),
			waitJS(`document.querySelector('[data-field="tx-hash"]') && document.querySelector('[data-testid="tx-status"]')`, 20*time.Second),
		)
		if path, want := eval[string](t, b, `location.pathname`), "/tx/beijing-1/"+anchored.Hash; path != want {
			t.Errorf("search led to %s, want %s", path, want)
		}
		if shown := eval[string](t, b, `document.querySelector('[data-field="tx-hash"]').innerText`); !strings.Contains(shown, anchored.Hash) {
			t.Errorf("the transaction page shows %q, want the hash %s", shown, anchored.Hash)
		}
		msg := eval[string](t, b, `document.getElementById('tx-messages').innerText`)
		if !strings.Contains(msg, strings.ToUpper(hex.EncodeToString(digest[:]))) || !strings.Contains(msg, "contract") {
			t.Errorf("decoded message %q lacks the digest or the label", msg)
		}
		b.screenshot(t, "transaction")
	})

	t.Run("a dropped document shows its anchoring record with the proof checked", func(t *testing.T) {
		const proof = `document.querySelector('.evidence-card[data-chain="beijing-1"] .proof')`
		b.do(t, "verify the document", 60*time.Second,
			chromedp.Navigate(base+"/verify"),
			waitJS(`document.getElementById('verifier-status') && /ready|就绪/.test(document.getElementById('verifier-status').innerText)`, 30*time.Second),
			chromedp.SetUploadFiles(chromedp.ID("file-input"), []string{doc}),
			waitJS(proof+` && !`+proof+`.classList.contains('proof-pending')`, 40*time.Second),
		)
		summary := eval[string](t, b, proof+`.innerText`)
		if v := eval[string](t, b, proof+`.dataset.verified`); v != "true" {
			t.Fatalf("proof not verified in the browser: %s", summary)
		}
		// More than 2/3 of the 4 validators signed the header (the latest block's commit
		// may not hold the last vote yet).
		signers := eval[string](t, b, proof+`.dataset.signers`)
		if signers != "4/4" && signers != "3/4" {
			t.Errorf("signed by %s validators, want 3/4 or 4/4", signers)
		}
		if !strings.Contains(summary, "Proof checked: yes, signed by "+signers+" validators") {
			t.Errorf("the proof summary says %q", summary)
		}
		if at := eval[string](t, b, `document.querySelector('.evidence-card[data-chain="beijing-1"] [data-field="anchored-time"]').innerText`); at == "" {
			t.Error("no anchoring time shown")
		}
		b.screenshot(t, "verify")

		// The CLI's trust file pins the genesis validator set; the same document then
		// verifies against it.
		b.do(t, "verify against the trust file", 60*time.Second,
			chromedp.SetUploadFiles(chromedp.ID("file-input"), []string{trustFile, doc}),
			waitJS(`document.querySelector('#verify-results .alert-ok') && `+proof+` && !`+proof+`.classList.contains('proof-pending')`, 40*time.Second),
		)
		how := eval[string](t, b, `(() => { const p = `+proof+`; const tr = p.querySelector('[data-trust]'); return p.dataset.verified + ' ' + (tr ? tr.dataset.trust : '') + ' ' + p.innerText; })()`)
		if !strings.HasPrefix(how, "true pinned") || !strings.Contains(how, "trust file") {
			t.Errorf("after the trust file: %q", how)
		}

		// A document of a batch, with its inclusion proof.
		const gz = `document.querySelector('.evidence-card[data-chain="guangzhou-1"] .proof')`
		b.do(t, "verify a batch member", 60*time.Second,
			chromedp.SetUploadFiles(chromedp.ID("file-input"), []string{pageDoc, pageProof}),
			waitJS(gz+` && !`+gz+`.classList.contains('proof-pending')`, 40*time.Second),
		)
		inc := eval[string](t, b, gz+`.dataset.verified + ' ' + document.getElementById('verify-results').innerText`)
		if !strings.HasPrefix(inc, "true") || !strings.Contains(inc, "document 2 of 2") || !strings.Contains(inc, "matches this proof") {
			t.Errorf("batch member: %q", inc)
		}
		b.screenshot(t, "verify-batch")
	})

	t.Run("the governance page shows the consensus parameters", func(t *testing.T) {
		b.do(t, "open the governance page", 30*time.Second,
			chromedp.Navigate(base+"/gov/beijing-1"),
			waitJS(`document.querySelector('[data-field="vote-extensions"]') && document.getElementById('proposals-table')`, 20*time.Second),
		)
		// lian up's chains attest their state from height 1.
		if ve := eval[string](t, b, `document.querySelector('[data-field="vote-extensions"]').innerText`); !strings.Contains(ve, "on since #1") {
			t.Errorf("vote extensions shown as %q, want on since #1", ve)
		}
	})

	t.Run("chinese text, a phone screen and laptop widths", func(t *testing.T) {
		b.do(t, "switch to Chinese", 60*time.Second,
			chromedp.Navigate(base+"/"),
			chromedp.WaitVisible(chromedp.ID("lang-toggle")),
			// The top bar is drawn again as the page's data arrives: a click on a
			// button replaced in between is lost, so click (at most once a second)
			// until the page is in Chinese.
			waitJS(`(() => {
				if (document.documentElement.lang === 'zh-CN') return true;
				const b = document.getElementById('lang-toggle');
				if (b && !window.__langClicked) {
					window.__langClicked = true;
					b.click();
					setTimeout(() => { window.__langClicked = false; }, 1000);
				}
				return false;
			})()`, 30*time.Second),
			waitJS(`document.documentElement.lang === 'zh-CN' && document.querySelector('.mainnav').innerText.includes('网络概览')`, 30*time.Second),
			waitJS(`document.getElementById('height-beijing-1')`, 30*time.Second),
		)
		if h1 := eval[string](t, b, `document.querySelector('h1').innerText`); h1 != "网络概览" {
			t.Errorf("heading in Chinese: %q", h1)
		}
		// A fresh transaction for the feed: the first one's block may have left the
		// recent blocks the feed starts from (the relayer keeps the chains busy).
		d := sha256.Sum256([]byte("phone " + docText))
		fresh, err := c.SignAndSubmit(ctx, "beijing-1", demo, "", &evidence.MsgAnchor{Digest: d[:], HashAlgo: evidence.HashSHA256, Label: "phone"})
		if err != nil || fresh.Code != 0 {
			t.Fatalf("anchor: %v %+v", err, fresh)
		}
		b.do(t, "phone viewport", 60*time.Second,
			chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(3), chromedp.EmulateMobile),
			chromedp.Navigate(base+"/"),
			waitJS(`document.querySelectorAll('#validators-beijing-1 .validator-item').length === 4`, 30*time.Second),
			waitJS(fmt.Sprintf(`document.querySelector('#feed-table a[href="/tx/beijing-1/%s"]')`, fresh.Hash), 30*time.Second),
		)
		// Nothing wider than the screen.
		if w := eval[[]int](t, b, `[document.documentElement.scrollWidth, window.innerWidth]`); w[0] > w[1] {
			t.Errorf("the page is %d px wide on a %d px screen", w[0], w[1])
		}
		b.screenshot(t, "overview-phone-zh")
		b.do(t, "back to English", 10*time.Second,
			chromedp.ResetViewport(),
			chromedp.Click(chromedp.ID("lang-toggle")),
			waitJS(`document.documentElement.lang === 'en'`, 5*time.Second))
		// Laptop widths keep the top bar on one row, even with the longest state text:
		// nothing wider than the screen (at 1280 px the English bar overflowed).
		for _, w := range []int64{1241, 1280, 1366} {
			b.do(t, fmt.Sprintf("%d px viewport", w), 30*time.Second,
				chromedp.EmulateViewport(w, 800),
				chromedp.Navigate(base+"/"),
				waitJS(`document.querySelector('#live-indicator .live-text') !== null`, 10*time.Second))
			eval[bool](t, b, `document.querySelector('#live-indicator .live-text').textContent = 'Gateway unreachable (polling)'; true`)
			if got := eval[[]int](t, b, `[document.documentElement.scrollWidth, window.innerWidth]`); got[0] > got[1] {
				t.Errorf("the page is %d px wide on a %d px screen", got[0], got[1])
			}
			if top := eval[int](t, b, `Math.round(document.getElementById('topbar').getBoundingClientRect().height)`); top > 70 {
				t.Errorf("the top bar is %d px high on a %d px screen: it wrapped", top, w)
			}
		}
		b.do(t, "desktop viewport", 5*time.Second, chromedp.ResetViewport())
	})

	t.Run("the cross-chain page shows the clients, routes, a packet and an attestation", func(t *testing.T) {
		// Last: the relayer's transactions push the anchor out of the overview's feed.
		// beijing-1 asks guangzhou-1 about the batch root anchored there; the relayer
		// lian up runs carries the question and the answer.
		route, err := c.FindRoute(ctx, "beijing-1", attest.Name, "guangzhou-1")
		if err != nil {
			t.Fatal(err)
		}
		msg, err := client.NewAttest(route.ID, root, 0)
		if err != nil {
			t.Fatal(err)
		}
		asked, err := c.SignAndSubmit(ctx, "beijing-1", demo, "", msg)
		if err != nil || asked.Code != 0 {
			t.Fatalf("attest: %v %+v", err, asked)
		}
		p, err := client.PacketOf(asked)
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(60 * time.Second)
		for {
			if _, err := c.AttestationRecord(ctx, "beijing-1", "guangzhou-1", root); err == nil {
				break
			} else if time.Now().After(deadline) {
				t.Fatalf("no answer from guangzhou-1 within 60 s: %v", err)
			}
			time.Sleep(200 * time.Millisecond)
		}
		row := fmt.Sprintf(`(() => { const s = document.querySelector('#xchain-packets-table [data-sequence="%d"]'); return s ? s.closest('tr').innerText : ''; })()`, p.Sequence)
		b.do(t, "open the cross-chain page with the attestation", 60*time.Second,
			chromedp.Navigate(fmt.Sprintf("%s/xchain/beijing-1?source=guangzhou-1&digest=%X", base, root)),
			waitJS(`document.querySelector('#att-result [data-found]')`, 30*time.Second),
			waitJS(row, 30*time.Second),
			// The proof that beijing-1 holds the answer, checked in the browser.
			waitJS(`document.querySelector('#att-result .proof:not(.proof-pending)')`, 40*time.Second),
		)
		if v := eval[string](t, b, `document.querySelector('#att-result .proof').dataset.verified`); v != "true" {
			t.Errorf("the attestation's proof: %s", eval[string](t, b, `document.querySelector('#att-result .proof').innerText`))
		}
		if found := eval[string](t, b, `document.querySelector('#att-result [data-found]').dataset.found`); found != "true" {
			t.Errorf("attestation found = %s: %s", found, eval[string](t, b, `document.getElementById('att-result').innerText`))
		}
		if clients := eval[string](t, b, `document.getElementById('xchain-clients-table').innerText`); !strings.Contains(clients, "guangzhou-1") || !strings.Contains(clients, "active") {
			t.Errorf("clients: %q", clients)
		}
		if routes := eval[string](t, b, `document.getElementById('xchain-routes-table').innerText`); !strings.Contains(routes, route.ID) {
			t.Errorf("routes: %q", routes)
		}
		if r := eval[string](t, b, row); !strings.Contains(r, "acknowledged") {
			t.Errorf("packet row: %q", r)
		}
		if nav := eval[string](t, b, `document.querySelector('.mainnav a.active').innerText`); nav != "Cross-chain" {
			t.Errorf("active nav %q", nav)
		}
		b.screenshot(t, "xchain")

		// The attest transaction's page links its digest to the answer.
		b.do(t, "from the attest transaction to the answer", 60*time.Second,
			chromedp.Navigate(base+"/tx/beijing-1/"+asked.Hash),
			waitJS(`document.querySelector('#tx-messages a[href^="/xchain/beijing-1?"]')`, 20*time.Second),
		)
		eval[bool](t, b, `(document.querySelector('#tx-messages a[href^="/xchain/beijing-1?"]').click(), true)`)
		b.do(t, "the answer, from the link", 60*time.Second,
			waitJS(`location.pathname === '/xchain/beijing-1' && document.querySelector('#att-result [data-found="true"]')`, 30*time.Second))
	})

	for _, p := range b.problems() {
		// Digests not anchored on a chain are 404s, which the browser logs.
		if !strings.Contains(p, "404") {
			t.Errorf("browser: %s", p)
		}
	}
	t.Logf("browser part took %v", time.Since(browserStart).Round(time.Millisecond))
}
