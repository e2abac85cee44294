package sigv4

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestSignMatchesSDK signs the same requests with Sign and with
// aws-sdk-go-v2's signer at the same instant, compares the Authorization
// headers, then sends Sign's request through Go's real server to Verify.
func TestSignMatchesSDK(t *testing.T) {
	now := time.Date(2024, 1, 15, 10, 15, 0, 0, time.UTC)
	s := newLoopback(t, now)
	tests := []struct {
		name, method, target, body string
		header                     map[string]string
	}{
		{name: "POST JSON, encoded path, unsorted query", method: "POST", target: "/v2/email/identities/a%2Bb%40c.com?x=1&a=2&a=1", body: `{"EmailIdentity":"example.com"}`,
			header: map[string]string{"Content-Type": "application/json"}},
		{name: "GET with repeated keys", method: "GET", target: "/v2/email/suppression/addresses?Reason=COMPLAINT&Reason=BOUNCE"},
		{name: "GET, no query", method: "GET", target: "/v2/email/account"},
		{name: "empty path", method: "GET", target: ""},
		{name: "DELETE with space and UTF-8", method: "DELETE", target: "/v2/email/templates/caf%C3%A9%20menu?q=%C3%A9+x"},
		{name: "form POST with x-amz headers", method: "POST", target: "/", body: "Action=GetSendQuota&Version=2010-12-01",
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-Amz-Target": "  SES.Get   Quota ", "X-Amz-Security-Token": "tok/en+="}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mk := func(base string) *http.Request {
				var body *bytes.Reader
				if tc.body != "" {
					body = bytes.NewReader([]byte(tc.body))
				}
				var r *http.Request
				var err error
				if body == nil {
					r, err = http.NewRequest(tc.method, base+tc.target, nil)
				} else {
					r, err = http.NewRequest(tc.method, base+tc.target, body)
				}
				if err != nil {
					t.Fatal(err)
				}
				for k, v := range tc.header {
					r.Header.Set(k, v)
				}
				return r
			}
			for _, base := range []string{"http://127.0.0.1:8080", "https://email.us-east-1.amazonaws.com"} {
				ours, theirs := mk(base), mk(base)
				if err := Sign(ours, []byte(tc.body), testKey, testSecret, "us-east-1", "ses", now); err != nil {
					t.Fatal(err)
				}
				sdkSign(t, theirs, []byte(tc.body), testKey, testSecret, "ses", "us-east-1", now, "")
				if o, th := ours.Header.Get("Authorization"), theirs.Header.Get("Authorization"); o != th {
					t.Errorf("%s: Authorization differs:\nours   %s\ntheirs %s", base, o, th)
				}
				if o, th := ours.Header.Get("X-Amz-Date"), theirs.Header.Get("X-Amz-Date"); o != th {
					t.Errorf("%s: X-Amz-Date %q, SDK %q", base, o, th)
				}
			}
			req := mk(s.URL)
			if err := Sign(req, []byte(tc.body), testKey, testSecret, "us-east-1", "ses", now); err != nil {
				t.Fatal(err)
			}
			if o := s.do(t, req); o.err != nil {
				t.Errorf("Sign's request rejected: %v", o.err)
			}
		})
	}
}

// TestSignVectors checks Sign against cases of AWS's published SigV4 test
// suite (credentials AKIDEXAMPLE, service "service", 20150830T123600Z), and
// that Verify accepts each result.
func TestSignVectors(t *testing.T) {
	const (
		suiteSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
		credential  = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
		token       = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="
	)
	at := time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)
	tests := []struct {
		name, method, url, body string
		header                  map[string]string
		want                    string
	}{
		{"get-vanilla", "GET", "https://example.amazonaws.com/", "", nil,
			credential + "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
		{"get-vanilla-query-order-key-case", "GET", "https://example.amazonaws.com/?Param2=value2&Param1=value1", "", nil,
			credential + "SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
		{"post-x-www-form-urlencoded", "POST", "https://example.amazonaws.com/", "Param1=value1",
			map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			credential + "SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"},
		{"post-sts-header-after", "POST", "https://example.amazonaws.com/", "", map[string]string{"X-Amz-Security-Token": token},
			credential + "SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"},
	}
	v := &Verifier{
		Now:    func() time.Time { return at },
		Lookup: func(context.Context, string) (string, error) { return suiteSecret, nil },
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := http.NewRequest(tc.method, tc.url, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			r.ContentLength = 0 // the suite does not sign content-length
			for k, val := range tc.header {
				r.Header.Set(k, val)
			}
			if err := Sign(r, []byte(tc.body), "AKIDEXAMPLE", suiteSecret, "us-east-1", "service", at); err != nil {
				t.Fatal(err)
			}
			if got := r.Header.Get("Authorization"); got != tc.want {
				t.Errorf("Authorization\n%s\nwant\n%s", got, tc.want)
			}
			if got := r.Header.Get("X-Amz-Date"); got != "20150830T123600Z" {
				t.Errorf("X-Amz-Date %q", got)
			}
			res, err := v.Verify(context.Background(), r, []byte(tc.body))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if res.Service != "service" || res.Region != "us-east-1" || res.AccessKeyID != "AKIDEXAMPLE" {
				t.Errorf("result %+v", res)
			}
		})
	}
}

func TestSignErrors(t *testing.T) {
	now := time.Date(2024, 1, 15, 10, 15, 0, 0, time.UTC)
	mk := func() *http.Request {
		r, _ := http.NewRequest("POST", "http://127.0.0.1/", strings.NewReader("abc"))
		return r
	}
	tests := []struct {
		name                         string
		r                            *http.Request
		body                         string
		key, secret, region, service string
	}{
		{"no key id", mk(), "abc", "", testSecret, "us-east-1", "ses"},
		{"key id with /", mk(), "abc", "AKID/X", testSecret, "us-east-1", "ses"},
		{"no secret", mk(), "abc", testKey, "", "us-east-1", "ses"},
		{"region with a space", mk(), "abc", testKey, testSecret, "us east", "ses"},
		{"no service", mk(), "abc", testKey, testSecret, "us-east-1", ""},
		{"body not the request's", mk(), "abcd", testKey, testSecret, "us-east-1", "ses"},
		{"no URL", &http.Request{Method: "GET", Header: http.Header{}}, "", testKey, testSecret, "us-east-1", "ses"},
	}
	for _, tc := range tests {
		if err := Sign(tc.r, []byte(tc.body), tc.key, tc.secret, tc.region, tc.service, now); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	// A request without a Header map gets one.
	r := &http.Request{Method: "GET", URL: &url.URL{Scheme: "http", Host: "127.0.0.1", Path: "/"}}
	if err := Sign(r, nil, testKey, testSecret, "us-east-1", "ses", now); err != nil || r.Header.Get("Authorization") == "" {
		t.Errorf("nil Header: %v", err)
	}
}

func TestSMTPPassword(t *testing.T) {
	const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	tests := []struct{ region, want string }{
		{"us-east-1", "BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9"},
		{"us-west-2", "BF2PynzbSCAjX08zhZZnP/kW+T9P5zs/1Er0pi5vTEmd"},
		{"eu-west-1", "BMW5RDrXmmVs0lV7GpI4oLkHXpZ4stDsk6q91z1g38Pk"},
		{"ap-northeast-1", "BEBMrlH2tcrvRtSfkd6WbOlpfHSCPAV60ZayJ9ZqHS5c"},
	}
	for _, tc := range tests {
		if got := SMTPPassword(secret, tc.region); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.region, got, tc.want)
		}
	}
	if got, want := LegacySMTPPassword(secret), "An60U4ZD3sd4fg+FvXUjayOipTt8LO4rUUmhpdX6ctDy"; got != want {
		t.Errorf("legacy: %s, want %s", got, want)
	}
}

func TestCanonicalURI(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "/"},
		{"/", "/"},
		{"/v2/email/identities/user%2Btag%40example.com", "/v2/email/identities/user%252Btag%2540example.com"},
		{"/v2/email/identities/user+tag@example.com", "/v2/email/identities/user%2Btag%40example.com"},
		{"/a%20b/caf%C3%A9", "/a%2520b/caf%25C3%25A9"},
		{"/a b/é", "/a%20b/%C3%A9"},
		{"/unreserved-_.~AZaz09", "/unreserved-_.~AZaz09"},
		{"//double//slash/./..", "//double//slash/./.."}, // not normalised, like the SDK
	}
	for _, tc := range tests {
		if got := canonicalURI(tc.in); got != tc.want {
			t.Errorf("canonicalURI(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCanonicalQuery(t *testing.T) {
	tests := []struct {
		in        string
		presigned bool
		want      string
	}{
		{"", false, ""},
		{"Reason=COMPLAINT&Reason=BOUNCE", false, "Reason=BOUNCE&Reason=COMPLAINT"},
		{"b=2&a=1&B=0", false, "B=0&a=1&b=2"},
		{"q=a+b&r=a%20b&s=%2F%7e*", false, "q=a%20b&r=a%20b&s=%2F~%2A"},
		{"bare&empty=&&=v", false, "=v&bare=&empty="},
		{"bad=%zz&ok=1", false, "bad=%25zz&ok=1"},
		{"X-Amz-Signature=abc&X-Amz-Date=1", true, "X-Amz-Date=1"},
		{"X-Amz-Signature=abc&X-Amz-Date=1", false, "X-Amz-Date=1&X-Amz-Signature=abc"},
		{"k=%C3%A9", false, "k=%C3%A9"},
	}
	for _, tc := range tests {
		if got := canonicalQuery(tc.in, tc.presigned); got != tc.want {
			t.Errorf("canonicalQuery(%q, %v) = %q, want %q", tc.in, tc.presigned, got, tc.want)
		}
	}
}

func TestHeaderValue(t *testing.T) {
	r := &http.Request{
		Host:             "example.com:8080",
		Header:           http.Header{"X-A": {"  one   two  ", "three"}, "X-B": {"\tx\t"}},
		ContentLength:    -1,
		TransferEncoding: []string{"chunked"},
	}
	tests := []struct{ name, want string }{
		{"host", "example.com:8080"},
		{"x-a", "one two,three"},
		{"x-b", "x"},
		{"content-length", "5"}, // unknown length: the body's
		{"transfer-encoding", "chunked"},
		{"x-missing", ""},
	}
	for _, tc := range tests {
		if got := headerValue(r, []byte("hello"), tc.name); got != tc.want {
			t.Errorf("headerValue(%s) = %q, want %q", tc.name, got, tc.want)
		}
	}
	r.ContentLength = 3
	if got := headerValue(r, []byte("hello"), "content-length"); got != "3" {
		t.Errorf("content-length from ContentLength: %q", got)
	}
	r.Header.Set("Content-Length", "4")
	if got := headerValue(r, []byte("hello"), "content-length"); got != "4" {
		t.Errorf("content-length from the header: %q", got)
	}
}

func TestRequestTarget(t *testing.T) {
	tests := []struct {
		name            string
		r               *http.Request
		wantPath, wantQ string
	}{
		{"origin form", &http.Request{RequestURI: "/a%2Fb?x=1", URL: &url.URL{Path: "/a/b"}}, "/a%2Fb", "x=1"},
		{"absolute form", &http.Request{RequestURI: "http://h:1/a%40b?x", URL: &url.URL{}}, "/a%40b", "x"},
		{"absolute form, no path", &http.Request{RequestURI: "http://h:1?x", URL: &url.URL{}}, "", "x"},
		{"asterisk", &http.Request{RequestURI: "*", URL: &url.URL{}}, "", ""},
		{"double slash path", &http.Request{RequestURI: "//a/b", URL: &url.URL{}}, "//a/b", ""},
		{"client, RawPath", &http.Request{URL: &url.URL{Path: "/a+b", RawPath: "/a%2Bb", RawQuery: "q"}}, "/a%2Bb", "q"},
		{"client, opaque", &http.Request{URL: &url.URL{Opaque: "//h/x%2Fy", RawQuery: "q"}}, "/x%2Fy", "q"},
		{"client, opaque path", &http.Request{URL: &url.URL{Opaque: "/x%2Fy"}}, "/x%2Fy", ""},
		{"no URL", &http.Request{}, "", ""},
	}
	for _, tc := range tests {
		p, q := requestTarget(tc.r)
		if p != tc.wantPath || q != tc.wantQ {
			t.Errorf("%s: %q %q, want %q %q", tc.name, p, q, tc.wantPath, tc.wantQ)
		}
	}
}

func TestParseAuthorization(t *testing.T) {
	a, err := ParseAuthorization("  AWS4-HMAC-SHA256  Credential = AKID/20240115/us-east-1/ses/aws4_request ,SignedHeaders=host;x-amz-date,  Signature=abc=, Other=1 ")
	if err != nil {
		t.Fatal(err)
	}
	want := Authorization{Credential: "AKID/20240115/us-east-1/ses/aws4_request", SignedHeaders: []string{"host", "x-amz-date"}, Signature: "abc="}
	if a.String() != want.String() {
		t.Errorf("got %+v, want %+v", a, want)
	}
	if got := want.String(); got != "AWS4-HMAC-SHA256 Credential=AKID/20240115/us-east-1/ses/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc=" {
		t.Errorf("String() = %q", got)
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{KindMissing: "missing", KindIncomplete: "incomplete", KindUnknownKey: "unknown key", KindMismatch: "mismatch", KindExpired: "expired", 0: "Kind(0)"} {
		if got := k.String(); got != want {
			t.Errorf("%d: %q, want %q", int(k), got, want)
		}
	}
	e := &Error{Kind: KindUnknownKey, Msg: msgUnknownKey, Err: ErrUnknownKey}
	if got := e.Error(); got != "sigv4: unknown key: The security token included in the request is invalid.: sigv4: unknown access key" {
		t.Errorf("Error() = %q", got)
	}
}
