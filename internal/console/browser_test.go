package console_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sesv2types "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/sesame-email/sesame/internal/config"
	"github.com/sesame-email/sesame/internal/testenv"
)

// chromium finds Debian's Chromium. Without it the browser tests skip,
// unless SESAME_REQUIRE_BROWSER is set (scripts/test sets it, and installs
// the package), when they fail.
func chromium(t *testing.T) string {
	for _, p := range []string{os.Getenv("SESAME_CHROMIUM"), "/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("SESAME_REQUIRE_BROWSER") != "" {
		t.Fatal("Chromium is not installed (apt-get install chromium) and SESAME_REQUIRE_BROWSER is set")
	}
	t.Skip("Chromium is not installed (apt-get install chromium); set SESAME_REQUIRE_BROWSER to fail instead")
	return ""
}

// headless starts a headless Chromium for the test, with the flags that keep
// it off the network (it may reach only the loopback sesame), and returns a
// tab's context.
func headless(t *testing.T) context.Context {
	path := chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-proxy-server", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// screenshots is where the browser tests put their pictures:
// $SESAME_SCREENSHOTS (scripts/test sets artifacts/console; docs/console
// holds the ones docs/CONSOLE.md shows), else a temporary directory.
func screenshots(t *testing.T) string {
	dir := os.Getenv("SESAME_SCREENSHOTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// tab wraps a browser tab with the steps the tests take, each failing the
// test with what it was doing.
type tab struct {
	t   *testing.T
	ctx context.Context
	dir string
}

func (b *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		loc, _ := chromedp.Run(b.ctx, chromedp.Location())
		html, _ := chromedp.Run(b.ctx, chromedp.OuterHTML(chromedp.CSS("main")))
		b.t.Fatalf("%s: %v\nat %s\n%s", what, err, loc, html)
	}
}

func (b *tab) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func eval[T any](b *tab, js string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// waitFor evaluates a JavaScript predicate until it holds; errors while a
// page is being replaced count as "not yet".
func (b *tab) waitFor(what, js string, timeout time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+js+")"))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			html, _ := chromedp.Run(b.ctx, chromedp.OuterHTML(chromedp.CSS("main")))
			b.t.Fatalf("%s: still not true after %v (%v): %s\n%s", what, timeout, err, js, html)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// submit clicks a button that submits a form and waits until the next
// page has loaded and shows sel.
func (b *tab) submit(what, button, sel string) {
	b.t.Helper()
	b.do(what+" (mark the page)", chromedp.Evaluate[chromedp.Void]("window.__leaving = true"))
	b.do(what, chromedp.Click(chromedp.CSS(button)))
	b.waitFor(what+" (next page)", `!window.__leaving && document.readyState === "complete" && document.querySelector(`+"`"+sel+"`"+`)`, 30*time.Second)
}

// screenshot saves the whole page as PNG; viewport saves what the screen
// shows.
func (b *tab) screenshot(name string) { b.t.Helper(); b.save(name, chromedp.FullScreenshot(100)) }

func (b *tab) viewport(name string) { b.t.Helper(); b.save(name, chromedp.CaptureScreenshot()) }

func (b *tab) save(name string, shot chromedp.Action[[]byte]) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, shot)
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(b.dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", path)
}

// unlabelled counts the visible form controls a screen reader could not
// name: no <label for>, no wrapping label, no aria-label.
const unlabelled = `[...document.querySelectorAll("input:not([type=hidden]), select, textarea")].filter(el =>
	el.offsetParent !== null && !el.labels.length && !el.getAttribute("aria-label") && !el.getAttribute("aria-labelledby")).map(el => el.name || el.id)`

func (b *tab) checkLabels(page string) {
	b.t.Helper()
	if bad := eval[[]string](b, unlabelled); len(bad) > 0 {
		b.t.Errorf("%s: form controls without a label: %v", page, bad)
	}
}

// TestConsoleInBrowser is the console's walk-through in a real headless
// Chromium: sign in, create a domain, read its three CNAMEs off the page,
// publish them in the test DNS zone, press "Check now", see "Verified";
// send test emails (to the simulator and, in --dev, to a captured address
// with its DKIM result) and see their MessageIds; a second domain turns
// Verified by itself while its page is open, without layout shift; the
// pages work at a phone's width; screenshots of the identity and send
// pages are saved.
func TestConsoleInBrowser(t *testing.T) {
	ctx := headless(t)
	e := testenv.Start(t, testenv.Options{CheckInterval: 500 * time.Millisecond, Config: func(c *config.Config) { c.Dev = true }})
	b := &tab{t: t, ctx: ctx, dir: screenshots(t)}
	var dialogs atomic.Int32
	events := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range events {
			if err != nil {
				return
			}
			if !strings.HasPrefix(ev.Message, "Delete") { // the console's own confirm()
				dialogs.Add(1)
			}
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()

	// Sign in: the console sends a stranger to the sign-in page first.
	b.do("open the console", chromedp.Navigate(e.URL+"/identities"), chromedp.WaitVisible(chromedp.CSS("#access_key_id")))
	b.checkLabels("sign-in")
	// By keyboard alone: the first Tab reaches "Skip to content", shown
	// with a focus ring; then the brand, then the form, typed into and sent
	// with Enter.
	b.do("Tab", chromedp.KeyEvent(kb.Tab))
	if f := eval[string](b, `document.activeElement.className + " " + getComputedStyle(document.activeElement).outlineStyle + " " + (document.activeElement.getBoundingClientRect().left >= 0)`); f != "skip solid true" {
		t.Errorf("first Tab: focus on %q, want the visible skip link with an outline", f)
	}
	b.do("Tab to the form", chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(kb.Tab))
	if id := eval[string](b, "document.activeElement.id"); id != "access_key_id" {
		t.Fatalf("third Tab: focus on %q", id)
	}
	b.do("type the key", chromedp.KeyEvent(e.Creds.AccessKeyID), chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(e.Creds.SecretAccessKey),
		chromedp.Evaluate[chromedp.Void]("window.__leaving = true"), chromedp.KeyEvent(kb.Enter))
	b.waitFor("sign in", `!window.__leaving && document.readyState === "complete" && document.querySelector("#identity")`, 30*time.Second)
	if loc := eval[string](b, "location.pathname"); loc != "/identities" {
		t.Errorf("after sign-in the browser is at %s, want the page it asked for", loc)
	}
	b.checkLabels("identities")

	// Create example.com: three CNAME rows, all missing from DNS.
	b.do("type example.com", chromedp.SendKeys(chromedp.CSS("#identity"), "example.com"))
	b.submit("create example.com", `main form[action="/identities"] button[type=submit]`, "h1.ident")
	if h := b.text("h1.ident"); h != "example.com" {
		t.Fatalf("identity page heading %q", h)
	}
	if n := eval[int](b, `document.querySelectorAll('table.records tr[data-type="CNAME"]').length`); n != 3 {
		t.Fatalf("%d CNAME rows, want 3", n)
	}
	if n := eval[int](b, `document.querySelectorAll('table.records tr[data-type="CNAME"][data-status="missing"]').length`); n != 3 {
		t.Errorf("%d CNAME rows missing from DNS, want 3", n)
	}
	if st := b.text(`[data-field="VerificationStatus"] .badge`); st != "Pending" {
		t.Errorf("new identity shows %q", st)
	}
	b.checkLabels("identity")

	// Publish what the page says, as the DNS admin would.
	type rec struct{ Name, Value string }
	recs := eval[[]rec](b, `[...document.querySelectorAll('table.records tr[data-type="CNAME"]')].map(tr => ({
		Name: tr.querySelector('code[id$="-name"]').textContent, Value: tr.querySelector('code[id$="-value"]').textContent}))`)
	for _, r := range recs {
		if !strings.HasSuffix(r.Name, "._domainkey.example.com") || !strings.HasSuffix(r.Value, ".dkim."+e.Config.DomainName()) {
			t.Fatalf("CNAME row %+v", r)
		}
		e.DNS.Add(fmt.Sprintf("%s. 300 IN CNAME %s.", r.Name, r.Value))
	}
	b.submit("press Check now", "#check-now", "p.flash.ok")
	if st := b.text(`[data-field="VerificationStatus"] .badge`); st != "Verified" {
		t.Fatalf("after Check now the identity is %q", st)
	}
	if st := b.text(`[data-field="DkimStatus"] .badge`); st != "Verified" {
		t.Errorf("after Check now DKIM is %q", st)
	}
	if n := eval[int](b, `document.querySelectorAll('table.records tr[data-type="CNAME"][data-status="found"]').length`); n != 3 {
		t.Errorf("%d CNAME rows found after publishing, want 3", n)
	}
	b.screenshot("identity.png")

	// The identity page at a phone's width: nothing wider than the screen
	// but the tables, which scroll inside their own box.
	b.do("phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("h1.ident")))
	if over := eval[bool](b, "document.documentElement.scrollWidth > window.innerWidth + 1"); over {
		t.Errorf("the identity page is wider than a phone: %d > %d", eval[int](b, "document.documentElement.scrollWidth"), eval[int](b, "window.innerWidth"))
	}
	b.viewport("identity-phone.png")
	b.do("desktop viewport", chromedp.EmulateViewport(1280, 900))

	// Send a test email to the simulator: the result page names the
	// MessageId, and the message is really queued under it.
	b.submit("open Send test email", `nav a[href^="/send"]`, "#send-button")
	b.checkLabels("send")
	if from := eval[string](b, `document.getElementById("from").value`); from != "test@example.com" {
		t.Errorf("From is prefilled with %q", from)
	}
	b.do("fill the form",
		chromedp.SetValue(chromedp.CSS("#scenario"), "success@simulator."+e.Config.DomainName()),
		chromedp.Clear(chromedp.CSS("#subject")), chromedp.SendKeys(chromedp.CSS("#subject"), "Hello from the console"))
	if hidden := eval[bool](b, `document.getElementById("custom-recipient").hidden`); !hidden {
		t.Error("the custom recipient field shows for a simulator scenario")
	}
	b.screenshot("send.png")
	b.submit("send", "#send-button", "#message-id")
	id := b.text("#message-id")
	if !strings.Contains(b.text("p.flash.ok"), "accepted") || len(id) != 60 {
		t.Fatalf("after sending: flash %q, MessageId %q", b.text("p.flash.ok"), id)
	}
	m, err := e.Admin(nil).Message(context.Background(), id)
	if err != nil || m.Subject != "Hello from the console" || m.From != "test@example.com" {
		t.Fatalf("message %s in the queue: %+v, %v", id, m, err)
	}
	b.waitFor("the simulator delivers", `document.querySelector('#recipients [data-field="State"] .badge').textContent === "Delivered"`, 20*time.Second)
	b.screenshot("message.png")

	// In --dev a custom recipient is captured, with the DKIM result a
	// receiver would get.
	b.do("open Send test email again", chromedp.Navigate(e.URL+"/send"), chromedp.WaitVisible(chromedp.CSS("#send-button")))
	b.do("choose a custom recipient", chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById("scenario"); s.value = "custom"; s.dispatchEvent(new Event("change")); })()`))
	if hidden := eval[bool](b, `document.getElementById("custom-recipient").hidden`); hidden {
		t.Fatal("the custom recipient field stays hidden")
	}
	b.do("type someone@example.org", chromedp.SendKeys(chromedp.CSS("#to"), "someone@example.org"))
	b.submit("send to someone@example.org", "#send-button", "#message-id")
	b.waitFor("the message is captured", `document.querySelector('#recipients [data-field="State"] .badge').textContent === "Captured"`, 20*time.Second)
	if got := b.text(`#recipients [data-field="LastResponse"]`); !strings.Contains(got, "dkim=pass header.d=example.com") {
		t.Errorf("captured message's result: %q", got)
	}
	b.do("reload the message", chromedp.Reload())
	b.waitFor("the reloaded message", `document.readyState === "complete" && document.querySelector("#dkim-result")`, 20*time.Second)
	if got := b.text("#dkim-result"); !strings.HasPrefix(got, "dkim=pass header.d=example.com") {
		t.Errorf("DKIM check on the message page: %q", got)
	}

	// A second domain verifies by itself while its page is open: the page
	// asks for fresh statuses and rewrites the badges in place, and nothing
	// on the page moves.
	v2 := e.SESv2("", nil)
	out, err := v2.CreateEmailIdentity(context.Background(), &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String("example.net"),
		DkimSigningAttributes: &sesv2types.DkimSigningAttributes{NextSigningKeyLength: sesv2types.DkimSigningKeyLengthRsa1024Bit}})
	if err != nil {
		t.Fatal(err)
	}
	b.do("open example.net", chromedp.Navigate(e.URL+"/identities/example.net"), chromedp.WaitVisible(chromedp.CSS("h1.ident")))
	eval[chromedp.Void](b, `window.__shift = 0; new PerformanceObserver(l => { for (const e of l.getEntries()) if (!e.hadRecentInput) window.__shift += e.value; }).observe({type: "layout-shift"}); 0`)
	for _, tok := range out.DkimAttributes.Tokens {
		e.DNS.Add(fmt.Sprintf("%s._domainkey.example.net. 300 IN CNAME %s.dkim.%s.", tok, tok, e.Config.DomainName()))
	}
	b.waitFor("example.net turns Verified on its own", `document.querySelector('[data-field="VerificationStatus"] .badge').textContent === "Verified"`, 40*time.Second)
	if shift := eval[float64](b, "window.__shift"); shift != 0 {
		t.Errorf("the status refresh shifted the layout by %v", shift)
	}

	// A template whose subject carries a script runs nothing in a browser.
	if _, err := v2.CreateEmailTemplate(context.Background(), &sesv2.CreateEmailTemplateInput{TemplateName: aws.String("welcome"),
		TemplateContent: &sesv2types.EmailTemplateContent{Subject: aws.String(`<img src=x onerror="alert(1)"><script>alert(2)</script>`), Html: aws.String(`<script>alert(3)</script>`)}}); err != nil {
		t.Fatal(err)
	}
	b.do("open the templates", chromedp.Navigate(e.URL+"/templates/welcome"), chromedp.WaitVisible(chromedp.CSS("pre.source")), chromedp.Navigate(e.URL+"/templates"), chromedp.WaitVisible(chromedp.CSS("table.templates")))
	if n := dialogs.Load(); n != 0 {
		t.Errorf("%d alert dialogs opened: markup from a template ran", n)
	}

	// The rest of the pages render, with a label on every control.
	for _, p := range []string{"/", "/messages", "/queue", "/suppression", "/configuration-sets", "/templates"} {
		b.do("open "+p, chromedp.Navigate(e.URL+p), chromedp.WaitVisible(chromedp.CSS("main h1")))
		b.checkLabels(p)
	}
	b.do("open the dashboard", chromedp.Navigate(e.URL+"/"), chromedp.WaitVisible(chromedp.CSS(".chart svg")))
	if n := eval[int](b, `document.querySelectorAll(".chart rect.s-send").length`); n != 24 {
		t.Errorf("the chart has %d hours of sends, want 24", n)
	}
	b.screenshot("dashboard.png")

	// Sign out: the console is closed again.
	b.submit("sign out", `form[action="/signout"] button`, "#access_key_id")
	b.do("try a page", chromedp.Navigate(e.URL+"/identities/example.com"), chromedp.WaitVisible(chromedp.CSS("#access_key_id")))
}
