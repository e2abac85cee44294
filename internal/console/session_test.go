package console

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzSafeNext: whatever a sign-in link carries as ?next=, the redirect
// after sign-in stays on this site: a path without a host, scheme or line
// break.
//
//	go test -run XXX -fuzz FuzzSafeNext ./internal/console/
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/", "/identities?region=eu-west-1", "//evil.example/x", "/\\evil.example", "https://evil.example/", "javascript:alert(1)",
		"/%2F%2Fevil.example", "/\r\nSet-Cookie: x=y", "", " /x", "/\t/evil.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		if !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.HasPrefix(got, "/\\") || strings.ContainsAny(got, "\r\n") {
			t.Fatalf("safeNext(%q) = %q", next, got)
		}
		// What a browser would do with it: resolve against this site.
		base, _ := url.Parse("http://sesame.example/signin")
		if u, err := base.Parse(strings.Map(func(r rune) rune {
			if r == '\t' || r == '\r' || r == '\n' { // browsers strip these from URLs
				return -1
			}
			return r
		}, got)); err == nil && u.Host != "sesame.example" {
			t.Fatalf("safeNext(%q) = %q leads to host %q", next, got, u.Host)
		}
		if got != "/" && got != next {
			t.Fatalf("safeNext(%q) = %q: a path is kept as it is", next, got)
		}
	})
}

// TestBadge: every state a page shows has a word, and the same badge keeps
// one width class whatever the word.
func TestBadge(t *testing.T) {
	for in, want := range map[string]string{"SUCCESS": "Verified", "PENDING": "Pending", "TEMPORARY_FAILURE": "Temporary failure", "FAILED": "Failed",
		"NOT_STARTED": "Not started", "": "Not started", "found": "Found", "missing": "Missing", "delivered": "Delivered", "captured": "Captured",
		"deferred": "Deferred", "held": "Held", "pending": "Pending", "failed": "Failed", "PASS": "pass", "GRAY": "none"} {
		if got := badge(in).Label; got != want {
			t.Errorf("badge(%q) = %q, want %q", in, got, want)
		}
	}
}
