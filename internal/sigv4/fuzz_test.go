package sigv4

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"
)

// FuzzParseAuthorization checks that the Authorization parser never panics,
// fails only with KindIncomplete Errors, and that whatever parses
// re-serialises to a value that parses back to the same thing.
func FuzzParseAuthorization(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKID/20240115/us-east-1/ses/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcd")
	f.Add("AWS4-HMAC-SHA256 Credential=, SignedHeaders=, Signature=")
	f.Add("AWS4-HMAC-SHA256 ,,,==")
	f.Add("AWS4-HMAC-SHA256 Credential= a b ,SignedHeaders=;;,Signature==,Credential=x")
	f.Add("Basic dXNlcjpwYXNz")
	f.Fuzz(func(t *testing.T, v string) {
		a, err := ParseAuthorization(v)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Kind != KindIncomplete || e.Msg == "" {
				t.Fatalf("ParseAuthorization(%q) error %#v is not a KindIncomplete *Error", v, err)
			}
			return
		}
		if a.Credential == "" || a.Signature == "" || len(a.SignedHeaders) == 0 {
			t.Fatalf("ParseAuthorization(%q) = %+v: a required part is empty", v, a)
		}
		s := a.String()
		b, err := ParseAuthorization(s)
		if err != nil {
			t.Fatalf("re-parse of %q (from %q): %v", s, v, err)
		}
		if b.Credential != a.Credential || b.Signature != a.Signature || !slices.Equal(b.SignedHeaders, a.SignedHeaders) {
			t.Fatalf("re-parse of %q: %+v, first parse %+v", s, b, a)
		}
		if b.String() != s {
			t.Fatalf("String not stable: %q then %q", s, b.String())
		}
	})
}

// FuzzVerify checks that Verify never panics on arbitrary requests, fails
// only with well-formed *Errors, and that a request signed by Sign, whatever
// its method, target, headers and body, always verifies.
func FuzzVerify(f *testing.F) {
	f.Add("POST", "/", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240115/us-east-1/ses/aws4_request, SignedHeaders=host;x-amz-date, Signature=00", "20240115T101500Z", "application/json", []byte("body"))
	f.Add("GET", "/v2/%zz/%2F?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a&X-Amz-Signature=00&X-Amz-SignedHeaders=host&X-Amz-Date=20240115T101500Z&X-Amz-Expires=9", "", "", "", []byte{})
	f.Add("PUT", "http://h/a?b=c+d&b=%C3", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240115/us-east-1/ses/aws4_request, SignedHeaders=content-length;host, Signature=zz", "20240115T101500", "  a  b ", []byte("x"))
	f.Add("", "*", "AWS4-HMAC-SHA256", "", "", []byte(nil))
	now := time.Date(2024, 1, 15, 10, 15, 0, 0, time.UTC)
	v := &Verifier{Now: func() time.Time { return now }, Lookup: lookup(nil)}
	f.Fuzz(func(t *testing.T, method, target, authz, date, ctype string, body []byte) {
		u, err := url.ParseRequestURI(target)
		if err != nil {
			u = &url.URL{Path: "/"}
		}
		r := &http.Request{
			Method: method, RequestURI: target, URL: u, Host: "example.com",
			Header:        http.Header{"Authorization": {authz}, "X-Amz-Date": {date}, "Content-Type": {ctype}},
			ContentLength: int64(len(body)),
		}
		_, err = v.Verify(context.Background(), r, body)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Kind < KindMissing || e.Kind > KindExpired || e.Msg == "" {
				t.Fatalf("Verify error %#v is not a well-formed *Error", err)
			}
		}

		// Sign must produce what Verify accepts (unless the query also
		// carries presigned parameters, which is rightly refused).
		if q, _ := url.ParseQuery(u.RawQuery); q.Get("X-Amz-Algorithm") != "" {
			return
		}
		s := &http.Request{Method: method, URL: u, Host: "example.com", Header: http.Header{}, Body: http.NoBody, ContentLength: int64(len(body))}
		if ctype != "" {
			s.Header.Set("Content-Type", ctype)
		}
		if len(body) > 0 {
			s.Body = nopCloser{bytes.NewReader(body)}
		}
		if err := Sign(s, body, testKey, testSecret, "us-east-1", "ses", now); err != nil {
			t.Fatalf("Sign: %v", err)
		}
		if _, err := v.Verify(context.Background(), s, body); err != nil {
			t.Fatalf("Verify(Sign(%q %q)): %v\nAuthorization: %s", method, u, err, s.Header.Get("Authorization"))
		}
	})
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }
