package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sesv2types "github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/sesame-email/sesame/internal/clock"
	"github.com/sesame-email/sesame/internal/console"
	"github.com/sesame-email/sesame/internal/testenv"
)

// concrete fills a route pattern's wildcards with plausible values.
func concrete(pattern string) (method, path string) {
	method, path, _ = strings.Cut(pattern, " ")
	path = strings.NewReplacer("{$}", "", "{name}", "example.com", "{id}", "0100000000000000-00000000-0000-0000-0000-000000000000-000000",
		"{action}", "retry", "{dest}", "d").Replace(path)
	return method, path
}

func routes(t *testing.T) []console.Route {
	s, err := console.New(console.Config{Regions: []string{"us-east-1"}})
	if err != nil {
		t.Fatal(err)
	}
	return s.Routes()
}

// TestEveryRouteNeedsSession: no page or JSON route tells anything without
// a session: pages redirect to the sign-in page, JSON routes answer 401,
// and a form posted without a session changes nothing.
func TestEveryRouteNeedsSession(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	e.VerifyDomain(t, nil, "", "example.com")
	b := newBrowser(t, e)
	n := 0
	for _, rt := range routes(t) {
		if rt.Public {
			continue
		}
		n++
		method, path := concrete(rt.Pattern)
		var st int
		var loc, body string
		if method == http.MethodGet {
			st, loc, body = b.get(path)
		} else {
			st, loc, body = b.post(path, url.Values{"identity": {"other.example"}, "confirm": {"example.com"}, "address": {"x@example.org"}, "reason": {"BOUNCE"}})
		}
		switch {
		case rt.JSON:
			var out struct{ Error string }
			if st != http.StatusUnauthorized || json.Unmarshal([]byte(body), &out) != nil || out.Error == "" {
				t.Errorf("%s: %d %q, want 401 with a JSON error", rt.Pattern, st, body)
			}
		default:
			if st != http.StatusSeeOther || !strings.HasPrefix(loc, "/signin?next=") {
				t.Errorf("%s: %d to %q, want 303 to /signin", rt.Pattern, st, loc)
			}
			if strings.Contains(body, "_domainkey") || strings.Contains(body, "<table") || strings.Contains(body, "<form") {
				t.Errorf("%s: the answer shows data: %s", rt.Pattern, body)
			}
		}
	}
	if n < 25 {
		t.Errorf("only %d routes checked", n)
	}
	// Nothing posted above took effect.
	ctx := context.Background()
	if _, err := e.SESv2("", nil).GetEmailIdentity(ctx, &sesv2.GetEmailIdentityInput{EmailIdentity: aws.String("example.com")}); err != nil {
		t.Errorf("the identity was deleted without a session: %v", err)
	}
	if _, err := e.SESv2("", nil).GetEmailIdentity(ctx, &sesv2.GetEmailIdentityInput{EmailIdentity: aws.String("other.example")}); err == nil {
		t.Error("an identity was created without a session")
	}
	// A cookie that names no session is no session.
	u, _ := url.Parse(e.URL)
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "sesame_session", Value: "000000000001.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", Path: "/"}})
	if st, loc, _ := b.get("/identities"); st != http.StatusSeeOther || !strings.HasPrefix(loc, "/signin") {
		t.Errorf("a forged cookie got %d %q", st, loc)
	}
	// The assets are public, and only the assets.
	for path, want := range map[string]int{"/static/console.css": 200, "/static/console.js": 200, "/static/icon.svg": 200, "/static/": 404, "/static/ui.go": 404} {
		if st, _, _ := b.get(path); st != want {
			t.Errorf("GET %s: %d, want %d", path, st, want)
		}
	}
	// The API keeps its own authentication: a console route never answers
	// an API request, and the API still owns POST / and /v2/.
	if st, _, body := b.post("/", url.Values{"Action": {"ListIdentities"}, "Version": {"2010-12-01"}}); st != http.StatusForbidden || !strings.Contains(body, "ErrorResponse") {
		t.Errorf("unsigned v1 request: %d %s", st, body)
	}
}

// TestSignInSession: the form's own token, wrong secrets, cookie flags,
// sessions stored by hash, sign-out, a deleted key, expiry.
func TestSignInSession(t *testing.T) {
	clk := clock.NewFake(time.Now())
	e := testenv.Start(t, testenv.Options{Clock: clk, AuthClock: clock.System{}})
	b := newBrowser(t, e)
	if st := b.trySignIn(e.Creds.AccessKeyID, "wrong"+e.Creds.SecretAccessKey); st != http.StatusUnauthorized {
		t.Errorf("wrong secret: %d", st)
	}
	if st := b.trySignIn("AKIANOSUCHKEY0000000", e.Creds.SecretAccessKey); st != http.StatusUnauthorized {
		t.Errorf("unknown key: %d", st)
	}
	// The sign-in form needs the token its page set (login CSRF).
	if st, _, _ := b.post("/signin", url.Values{"access_key_id": {e.Creds.AccessKeyID}, "secret_access_key": {e.Creds.SecretAccessKey}}); st != http.StatusForbidden {
		t.Errorf("sign-in without its form token: %d", st)
	}
	if b.cookie("sesame_session") != nil {
		t.Fatal("a session after failed sign-ins")
	}
	// A redirect after sign-in stays on this site.
	_, _, page := b.get("/signin?next=//evil.example/x")
	tok := formTokenRE.FindStringSubmatch(page)[1]
	st, loc, _ := b.post("/signin", url.Values{"form_token": {tok}, "access_key_id": {e.Creds.AccessKeyID}, "secret_access_key": {e.Creds.SecretAccessKey}, "next": {"//evil.example/x"}})
	if st != http.StatusSeeOther || loc != "/" {
		t.Errorf("sign-in with next=//evil.example: %d to %q", st, loc)
	}
	// Cookie flags, as the server set them.
	req, _ := http.NewRequest(http.MethodGet, e.URL+"/signin", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" {
			t.Errorf("cookie %s: HttpOnly=%v SameSite=%v Path=%q", c.Name, c.HttpOnly, c.SameSite, c.Path)
		}
	}
	sess := b.cookie("sesame_session")
	if sess == nil {
		t.Fatal("no session cookie")
	}
	// The store keeps the token's hash, never the token.
	_, tok64, _ := strings.Cut(sess.Value, ".")
	for _, f := range []string{"sesame.db", "sesame.db-wal"} {
		data, _ := os.ReadFile(filepath.Join(e.DataDir, f))
		if strings.Contains(string(data), tok64) {
			t.Errorf("%s holds the session token", f)
		}
	}
	if st, _, body := b.get("/"); st != http.StatusOK || !strings.Contains(body, "default") {
		t.Fatalf("dashboard: %d", st)
	}
	// Sign-out ends the session on the server: the old cookie is dead.
	if st, _, _ := b.post("/signout", url.Values{}); st != http.StatusSeeOther {
		t.Errorf("sign-out: %d", st)
	}
	u, _ := url.Parse(e.URL)
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: sess.Name, Value: sess.Value, Path: "/"}})
	if st, _, _ := b.get("/"); st != http.StatusSeeOther {
		t.Errorf("the signed-out cookie still works: %d", st)
	}
	// A session ends when its key is deleted.
	other := e.NewAccount(t, "acme", "production")
	b2 := newBrowser(t, e)
	b2.signIn(other)
	if err := e.Admin(nil).DeleteKey(context.Background(), other.AccessKeyID); err != nil {
		t.Fatal(err)
	}
	if st, _, _ := b2.get("/"); st != http.StatusSeeOther {
		t.Errorf("a deleted key's session still works: %d", st)
	}
	// And after its lifetime.
	b3 := newBrowser(t, e)
	b3.signIn(e.Creds)
	clk.Advance(console.DefaultSessionTTL + time.Minute)
	if st, _, _ := b3.get("/identities"); st != http.StatusSeeOther {
		t.Errorf("an expired session still works: %d", st)
	}
}

// TestCSRF: every POST route refuses a form without the session's token,
// or with another session's, and changes nothing.
func TestCSRF(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	e.VerifyDomain(t, nil, "", "example.com")
	a, other := newBrowser(t, e), newBrowser(t, e)
	a.signIn(e.Creds)
	other.signIn(e.Creds)
	if a.csrf == "" || a.csrf == other.csrf {
		t.Fatalf("CSRF tokens: %q and %q", a.csrf, other.csrf)
	}
	form := func(csrf string) url.Values {
		return url.Values{"csrf": {csrf}, "identity": {"other.example"}, "confirm": {"example.com"}, "address": {"x@example.org"},
			"reason": {"BOUNCE"}, "name": {"set1"}, "from": {"a@example.com"}, "scenario": {"custom"}, "to": {"x@example.org"}, "subject": {"s"}}
	}
	n := 0
	for _, rt := range routes(t) {
		method, path := concrete(rt.Pattern)
		if method != http.MethodPost || rt.Public {
			continue
		}
		n++
		for _, tok := range []string{"", other.csrf, a.csrf + "x"} {
			if st, _, body := a.post(path, form(tok)); st != http.StatusForbidden || !strings.Contains(body, "expired") {
				t.Errorf("%s with token %q: %d", rt.Pattern, tok, st)
			}
		}
	}
	if n < 15 {
		t.Errorf("only %d POST routes checked", n)
	}
	// A POST from another site is refused even with the right token.
	req, _ := http.NewRequest(http.MethodPost, e.URL+"/identities", strings.NewReader(form(a.csrf).Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	if st, _, _ := a.do(req); st != http.StatusForbidden {
		t.Errorf("cross-origin POST: %d", st)
	}
	ctx := context.Background()
	if _, err := e.SESv2("", nil).GetEmailIdentity(ctx, &sesv2.GetEmailIdentityInput{EmailIdentity: aws.String("other.example")}); err == nil {
		t.Error("an identity was created by a forged form")
	}
	if _, err := e.SESv2("", nil).GetEmailIdentity(ctx, &sesv2.GetEmailIdentityInput{EmailIdentity: aws.String("example.com")}); err != nil {
		t.Errorf("the identity was deleted by a forged form: %v", err)
	}
	if out, err := e.SESv2("", nil).ListConfigurationSets(ctx, &sesv2.ListConfigurationSetsInput{}); err != nil || len(out.ConfigurationSets) != 0 {
		t.Errorf("configuration sets after forged forms: %v, %v", out, err)
	}
	// With the token, the same form works.
	if st, loc, _ := a.post("/identities", url.Values{"identity": {"other.example"}, "key_length": {"RSA_1024_BIT"}}); st != http.StatusSeeOther || !strings.HasPrefix(loc, "/identities/other.example") {
		t.Errorf("create with the token: %d %q", st, loc)
	}
}

// TestAccountIsolation: another account's identity, message and
// configuration set are 404, on pages, JSON routes and forms alike.
func TestAccountIsolation(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	e.VerifyDomain(t, nil, "", "example.com")
	ctx := context.Background()
	out, err := e.SESv2("", nil).SendEmail(ctx, &sesv2.SendEmailInput{FromEmailAddress: aws.String("a@example.com"),
		Destination: &sesv2types.Destination{ToAddresses: []string{"success@simulator.sesame.localhost"}},
		Content:     &sesv2types.EmailContent{Simple: &sesv2types.Message{Subject: &sesv2types.Content{Data: aws.String("hello")}, Body: &sesv2types.Body{Text: &sesv2types.Content{Data: aws.String("x")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.SESv2("", nil).CreateConfigurationSet(ctx, &sesv2.CreateConfigurationSetInput{ConfigurationSetName: aws.String("mine")}); err != nil {
		t.Fatal(err)
	}
	owner := newBrowser(t, e)
	owner.signIn(e.Creds)
	if st, _, body := owner.get("/identities/example.com"); st != http.StatusOK || !strings.Contains(body, "example.com") {
		t.Fatalf("the owner's identity page: %d", st)
	}
	stranger := newBrowser(t, e)
	stranger.signIn(e.NewAccount(t, "acme", "production"))
	msg := "/messages/" + *out.MessageId
	for _, path := range []string{"/identities/example.com", "/identities/example.com/status", "/identities/example.com/records?format=csv",
		msg, msg + "/status", "/configuration-sets/mine"} {
		if st, _, body := stranger.get(path); st != http.StatusNotFound || strings.Contains(body, "hello") || strings.Contains(body, "dkim.") {
			t.Errorf("%s for another account: %d", path, st)
		}
	}
	for _, path := range []string{"/identities/example.com/check", "/identities/example.com/delete", msg + "/delete", "/configuration-sets/mine/delete"} {
		if st, _, _ := stranger.post(path, url.Values{"confirm": {"example.com"}}); st != http.StatusNotFound {
			t.Errorf("POST %s for another account: %d", path, st)
		}
	}
	for _, path := range []string{"/identities", "/messages", "/configuration-sets", "/queue", "/"} {
		if _, _, body := stranger.get(path); strings.Contains(body, "identities/example.com") || strings.Contains(body, ">hello<") || strings.Contains(body, ">mine<") {
			t.Errorf("%s shows another account's resources", path)
		}
	}
	for path, want := range map[string]string{"/identities": "identities/example.com", "/messages": ">hello<", "/configuration-sets": ">mine<"} {
		if _, _, body := owner.get(path); !strings.Contains(body, want) {
			t.Errorf("the owner's %s does not show %q", path, want)
		}
	}
	if st, _, _ := owner.get(msg); st != http.StatusOK {
		t.Errorf("the owner's message after the stranger's tries: %d", st)
	}
	// A region is part of the scope: the identity is not in us-west-2.
	if st, _, _ := owner.get("/identities/example.com?region=us-west-2"); st != http.StatusNotFound {
		t.Errorf("the identity in another region: %d", st)
	}
}

// TestEscaping: what accounts and strangers write is shown as text: a
// template's subject, a message's subject and sender, a region or search in
// the URL; a template name with markup is refused by the API itself.
func TestEscaping(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	e.VerifyDomain(t, nil, "", "example.com")
	ctx := context.Background()
	const xss = `<script>alert("x")</script><img src=x onerror=alert(1)>`
	v2 := e.SESv2("", nil)
	if _, err := v2.CreateEmailTemplate(ctx, &sesv2.CreateEmailTemplateInput{TemplateName: aws.String(`<script>alert(1)</script>`),
		TemplateContent: &sesv2types.EmailTemplateContent{Subject: aws.String("s"), Text: aws.String("t")}}); err == nil {
		t.Error("a template name with markup was accepted")
	}
	if _, err := v2.CreateEmailTemplate(ctx, &sesv2.CreateEmailTemplateInput{TemplateName: aws.String("welcome"),
		TemplateContent: &sesv2types.EmailTemplateContent{Subject: aws.String(xss), Text: aws.String("t " + xss), Html: aws.String("<p onclick=alert(2)>" + xss + "</p>")}}); err != nil {
		t.Fatal(err)
	}
	out, err := v2.SendEmail(ctx, &sesv2.SendEmailInput{FromEmailAddress: aws.String(`"<b onmouseover=alert(3)>Evil</b>" <a@example.com>`),
		Destination: &sesv2types.Destination{ToAddresses: []string{"success@simulator.sesame.localhost"}},
		Content:     &sesv2types.EmailContent{Simple: &sesv2types.Message{Subject: &sesv2types.Content{Data: aws.String(xss)}, Body: &sesv2types.Body{Text: &sesv2types.Content{Data: aws.String(xss)}}}}})
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, e)
	b.signIn(e.Creds)
	for _, path := range []string{"/templates", "/templates/welcome", "/messages", "/messages/" + *out.MessageId,
		"/suppression?q=" + url.QueryEscape(xss), "/identities?region=" + url.QueryEscape(xss)} {
		_, _, body := b.get(path)
		for _, raw := range []string{"<script>alert", "<img src=x", "<p onclick", "<b onmouseover"} {
			if strings.Contains(body, raw) {
				t.Errorf("%s contains %q unescaped", path, raw)
			}
		}
		if path != "/identities?region="+url.QueryEscape(xss) && !strings.Contains(body, "&lt;script&gt;alert(") {
			t.Errorf("%s does not show the escaped text", path)
		}
	}
	// The page's only script is the console's own file.
	_, _, body := b.get("/templates/welcome")
	if n := strings.Count(body, "<script"); n != 1 || !strings.Contains(body, `<script src="/static/console.js" defer></script>`) {
		t.Errorf("%d script elements on the template page", n)
	}
}
