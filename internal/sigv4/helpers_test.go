package sigv4

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	testKey    = "AKIDEXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	brokenKey  = "AKIDBROKEN" // its lookup fails with errStore
)

var errStore = errors.New("key store unavailable")

// lookup knows testKey, fails for brokenKey and knows nothing else.
func lookup(calls *atomic.Int64) SecretLookup {
	return func(_ context.Context, id string) (string, error) {
		if calls != nil {
			calls.Add(1)
		}
		switch id {
		case testKey:
			return testSecret, nil
		case brokenKey:
			return "", errStore
		}
		return "", fmt.Errorf("key %s: %w", id, ErrUnknownKey)
	}
}

// outcome is what the loopback server's Verify said about one request, and
// what the request looked like on arrival.
type outcome struct {
	res        Result
	err        error
	requestURI string
	header     http.Header
}

// loopback is an httptest server (Go's real net/http server) whose handler
// verifies each request with the current verifier and reports the outcome.
type loopback struct {
	*httptest.Server
	v       atomic.Pointer[Verifier]
	lookups atomic.Int64
	got     chan outcome
}

func newLoopback(t testing.TB, now time.Time) *loopback {
	t.Helper()
	s := &loopback{got: make(chan outcome, 16)}
	s.setNow(now, 0)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		res, err := s.v.Load().Verify(r.Context(), r, body)
		s.got <- outcome{res: res, err: err, requestURI: r.RequestURI, header: r.Header.Clone()}
		if err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		if r.URL.Path == "/" { // SES v1 (Query protocol)
			w.Header().Set("Content-Type", "text/xml")
			fmt.Fprint(w, `<SendEmailResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><SendEmailResult><MessageId>m-1</MessageId></SendEmailResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></SendEmailResponse>`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{}`)
	}))
	t.Cleanup(s.Close)
	return s
}

// setNow installs a verifier whose clock reads now (time.Now if zero).
func (s *loopback) setNow(now time.Time, skew time.Duration) {
	v := &Verifier{Lookup: lookup(&s.lookups), MaxSkew: skew}
	if !now.IsZero() {
		v.Now = func() time.Time { return now }
	}
	s.v.Store(v)
}

// do sends req through the loopback server and returns Verify's outcome.
func (s *loopback) do(t testing.TB, req *http.Request) outcome {
	t.Helper()
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return s.next(t)
}

// next returns the outcome of the next request the server handles.
func (s *loopback) next(t testing.TB) outcome {
	t.Helper()
	select {
	case o := <-s.got:
		return o
	case <-time.After(10 * time.Second):
		t.Fatal("the server saw no request")
		return outcome{}
	}
}

// sdkSign signs req with aws-sdk-go-v2's own v4 signer over payloadHash
// (the hex SHA-256 of body when empty). The SDK rewrites the query into its
// canonical (sorted) form; the raw query the caller wrote is put back, as
// other clients (botocore) send it in their own order, and the signature
// does not depend on it.
func sdkSign(t testing.TB, req *http.Request, body []byte, keyID, secret, service, region string, at time.Time, payloadHash string) {
	t.Helper()
	if payloadHash == "" {
		payloadHash = hashHex(body)
	}
	raw := req.URL.RawQuery
	creds := aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, payloadHash, service, region, at); err != nil {
		t.Fatal(err)
	}
	req.URL.RawQuery = raw
}

// kindOf returns err's Kind, or 0 if it is not an *Error.
func kindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

// msgOf returns err's client message, or "" if it is not an *Error.
func msgOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Msg
	}
	return ""
}

// signedHeadersOf returns the SignedHeaders of an Authorization header.
func signedHeadersOf(t testing.TB, authz string) string {
	t.Helper()
	a, err := ParseAuthorization(authz)
	if err != nil {
		t.Fatalf("parse %q: %v", authz, err)
	}
	return strings.Join(a.SignedHeaders, ";")
}
