package console_test

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/sesame-email/sesame/internal/credfile"
	"github.com/sesame-email/sesame/internal/testenv"
)

// browser is an HTTP client that behaves like a browser towards the
// console: it keeps cookies, does not follow redirects (tests look at
// them), and reads CSRF tokens off the pages it fetched.
type browser struct {
	t    testing.TB
	base string
	c    *http.Client
	csrf string
}

func newBrowser(t testing.TB, e *testenv.Env) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: e.URL, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var (
	csrfRE      = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	formTokenRE = regexp.MustCompile(`name="form_token" value="([^"]+)"`)
)

// do sends a request and returns the status, the Location header and the
// body; it remembers the page's CSRF token.
func (b *browser) do(req *http.Request) (int, string, string) {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if m := csrfRE.FindSubmatch(body); m != nil {
		b.csrf = html.UnescapeString(string(m[1]))
	}
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

func (b *browser) get(path string) (int, string, string) {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.base+path, nil)
	return b.do(req)
}

// post sends a form; the session's CSRF token is added unless the form
// names one (an empty "csrf" sends none).
func (b *browser) post(path string, form url.Values) (int, string, string) {
	b.t.Helper()
	if _, ok := form["csrf"]; !ok && b.csrf != "" {
		form.Set("csrf", b.csrf)
	} else if ok && form.Get("csrf") == "" {
		form.Del("csrf")
	}
	req, _ := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// signIn signs in with creds through the sign-in form and fails the test
// unless a session results.
func (b *browser) signIn(creds credfile.Credentials) {
	b.t.Helper()
	if st := b.trySignIn(creds.AccessKeyID, creds.SecretAccessKey); st != http.StatusSeeOther {
		b.t.Fatalf("sign-in: status %d", st)
	}
	if st, _, _ := b.get("/"); st != http.StatusOK {
		b.t.Fatalf("after sign-in the dashboard answers %d", st)
	}
}

func (b *browser) trySignIn(keyID, secret string) int {
	b.t.Helper()
	_, _, page := b.get("/signin")
	m := formTokenRE.FindStringSubmatch(page)
	if m == nil {
		b.t.Fatalf("no form token on the sign-in page:\n%s", page)
	}
	st, _, _ := b.post("/signin", url.Values{"form_token": {m[1]}, "access_key_id": {keyID}, "secret_access_key": {secret}})
	return st
}

// cookie returns the browser's cookie called name, or nil.
func (b *browser) cookie(name string) *http.Cookie {
	u, _ := url.Parse(b.base)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}
