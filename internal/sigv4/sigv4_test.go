package sigv4

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	testKey    = "AKIDEXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

func TestSMTPPasswordVectors(t *testing.T) {
	tests := []struct{ region, want string }{
		{"us-east-1", "BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9"},
		{"us-west-2", "BF2PynzbSCAjX08zhZZnP/kW+T9P5zs/1Er0pi5vTEmd"},
		{"eu-west-1", "BMW5RDrXmmVs0lV7GpI4oLkHXpZ4stDsk6q91z1g38Pk"},
		{"ap-northeast-1", "BEBMrlH2tcrvRtSfkd6WbOlpfHSCPAV60ZayJ9ZqHS5c"},
	}
	for _, tc := range tests {
		if got := SMTPPassword(testSecret, tc.region); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.region, got, tc.want)
		}
	}
	if got := LegacySMTPPassword(testSecret); got != "An60U4ZD3sd4fg+FvXUjayOipTt8LO4rUUmhpdX6ctDy" {
		t.Errorf("legacy: %s", got)
	}
}

func ExampleSMTPPassword() {
	fmt.Println(SMTPPassword("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1"))
	// Output: BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9
}

// server records what Verify says about each request it receives.
type server struct {
	v    *Verifier
	res  Result
	err  error
	seen chan struct{}
}

func newServer(t *testing.T, now time.Time) (*server, *httptest.Server) {
	s := &server{seen: make(chan struct{}, 1)}
	s.v = &Verifier{
		Now: func() time.Time { return now },
		Lookup: func(_ context.Context, id string) (string, error) {
			if id != testKey {
				return "", ErrUnknownKey
			}
			return testSecret, nil
		},
	}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.res, s.err = s.v.Verify(r.Context(), r, body)
		s.seen <- struct{}{}
	}))
	t.Cleanup(ts.Close)
	return s, ts
}

func (s *server) do(t *testing.T, req *http.Request) (Result, error) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	<-s.seen
	return s.res, s.err
}

// sdkSign signs req exactly as aws-sdk-go-v2 does for SES.
func sdkSign(t *testing.T, req *http.Request, body []byte, secret, region string, at time.Time) {
	t.Helper()
	h := hashHex(body)
	err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: testKey, SecretAccessKey: secret}, req, h, "ses", region, at)
	if err != nil {
		t.Fatal(err)
	}
}

func kindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

func TestVerifySDKSignedRequests(t *testing.T) {
	now := time.Date(2024, 1, 15, 10, 15, 0, 0, time.UTC)
	s, ts := newServer(t, now)
	form := []byte("Action=SendEmail&Version=2010-12-01&Source=a%40example.com&Message.Subject.Data=Hi%20there")
	tests := []struct {
		name, method, path string
		body               []byte
		ctype              string
	}{
		{"v1 form POST", "POST", "/", form, "application/x-www-form-urlencoded"},
		{"v2 GET with repeated query", "GET", "/v2/email/suppression/addresses?Reason=COMPLAINT&Reason=BOUNCE&PageSize=10", nil, ""},
		{"v2 encoded path", "GET", "/v2/email/identities/user%2Btag%40example.com", nil, ""},
		{"v2 PUT JSON", "PUT", "/v2/email/account/sending", []byte(`{"SendingEnabled":true}`), "application/json"},
		{"query with spaces and unicode", "GET", "/v2/email/templates?NextToken=a%20b%2Fc%C3%A9", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, ts.URL+tc.path, bytes.NewReader(tc.body))
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			req.Header.Set("Amz-Sdk-Request", "attempt=1; max=3")
			sdkSign(t, req, tc.body, testSecret, "eu-west-1", now)
			res, err := s.do(t, req)
			if err != nil {
				t.Fatalf("Verify: %v\nauthorization: %s", err, req.Header.Get("Authorization"))
			}
			if res.AccessKeyID != testKey || res.Region != "eu-west-1" || res.Service != "ses" || !res.Time.Equal(now) {
				t.Errorf("result %+v", res)
			}
		})
	}
}

func TestSignMatchesSDK(t *testing.T) {
	now := time.Date(2024, 1, 15, 10, 15, 0, 0, time.UTC)
	body := []byte(`{"EmailIdentity":"example.com"}`)
	mk := func() *http.Request {
		r, _ := http.NewRequest("POST", "http://127.0.0.1:8080/v2/email/identities/a%2Bb%40c.com?x=1&a=2", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		return r
	}
	ours, theirs := mk(), mk()
	if err := Sign(ours, body, testKey, testSecret, "us-east-1", "ses", now); err != nil {
		t.Fatal(err)
	}
	theirs.Header.Set("X-Amz-Date", now.Format(timeFormat))
	sdkSign(t, theirs, body, testSecret, "us-east-1", now)
	if ours.Header.Get("Authorization") != theirs.Header.Get("Authorization") {
		t.Errorf("signatures differ:\nours   %s\ntheirs %s", ours.Header.Get("Authorization"), theirs.Header.Get("Authorization"))
	}
	s, ts := newServer(t, now)
	req, _ := http.NewRequest("POST", ts.URL+"/v2/email/identities/a%2Bb%40c.com?x=1&a=2", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	Sign(req, body, testKey, testSecret, "us-east-1", "ses", now)
	if _, err := s.do(t, req); err != nil {
		t.Errorf("own signature rejected: %v", err)
	}
}

func TestVerifyFailures(t *testing.T) {
	now := time.Date(2018, 11, 7, 0, 55, 54, 0, time.UTC)
	s, ts := newServer(t, now)
	body := []byte("Action=GetSendQuota&Version=2010-12-01")
	signed := func(mut func(r *http.Request), secret string, at time.Time) *http.Request {
		r, _ := http.NewRequest("POST", ts.URL+"/", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		sdkSign(t, r, body, secret, "us-east-1", at)
		if mut != nil {
			mut(r)
		}
		return r
	}
	tests := []struct {
		name string
		req  *http.Request
		want Kind
		msg  string
	}{
		{"no auth", func() *http.Request { r, _ := http.NewRequest("POST", ts.URL+"/", bytes.NewReader(body)); return r }(), KindMissing, "missing Authentication Token"},
		{"wrong secret", signed(nil, "wrong", now), KindMismatch, "does not match"},
		{"unknown key", signed(func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), testKey, "AKIDUNKNOWN", 1))
		}, testSecret, now), KindUnknownKey, "security token"},
		{"tampered header", signed(func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") }, testSecret, now), KindMismatch, ""},
		{"tampered body", func() *http.Request {
			r := signed(nil, testSecret, now)
			r.Body = io.NopCloser(strings.NewReader("Action=GetSendQuota&Version=2010-12-02"))
			return r
		}(), KindMismatch, ""},
		{"expired", signed(nil, testSecret, time.Date(2018, 11, 7, 0, 38, 42, 0, time.UTC)), KindExpired,
			"Signature expired: 20181107T003842Z is now earlier than 20181107T005054Z (20181107T005554Z - 5 min.)"},
		{"future", signed(nil, testSecret, now.Add(13*time.Minute)), KindExpired, "Signature not yet current: 20181107T010854Z is still later than 20181107T010054Z (20181107T005554Z + 5 min.)"},
		{"scope date mismatch", signed(func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/20181107/", "/20181106/", 1))
		}, testSecret, now), KindIncomplete, "valid date"},
		{"missing date", signed(func(r *http.Request) { r.Header.Del("X-Amz-Date") }, testSecret, now), KindIncomplete, "X-Amz-Date"},
		{"host unsigned", signed(func(r *http.Request) {
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", strings.Replace(a, "SignedHeaders=content-length;content-type;host;x-amz-date", "SignedHeaders=content-length;content-type;x-amz-date", 1))
		}, testSecret, now), KindIncomplete, "Host"},
		{"bad algorithm", signed(func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1", 1))
		}, testSecret, now), KindIncomplete, ""},
		{"content sha mismatch", signed(func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", hashHex([]byte("other"))) }, testSecret, now), KindMismatch, "x-amz-content-sha256"},
		{"short credential", signed(func(r *http.Request) {
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20181107/ses, SignedHeaders=host, Signature=00")
		}, testSecret, now), KindIncomplete, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.do(t, tc.req)
			if kindOf(err) != tc.want {
				t.Fatalf("err = %v (kind %d), want kind %d", err, kindOf(err), tc.want)
			}
			var e *Error
			errors.As(err, &e)
			if !strings.Contains(e.Msg, tc.msg) {
				t.Errorf("message %q lacks %q", e.Msg, tc.msg)
			}
		})
	}
}

func TestPresignedQuery(t *testing.T) {
	now := time.Date(2024, 1, 15, 10, 15, 0, 0, time.UTC)
	s, ts := newServer(t, now)
	req, _ := http.NewRequest("GET", ts.URL+"/v2/email/account?X-Amz-Expires=300", nil)
	url, _, err := v4.NewSigner().PresignHTTP(context.Background(), aws.Credentials{AccessKeyID: testKey, SecretAccessKey: testSecret}, req, "UNSIGNED-PAYLOAD", "ses", "us-west-2", now)
	if err != nil {
		t.Fatal(err)
	}
	pre, _ := http.NewRequest("GET", url, nil)
	res, err := s.do(t, pre)
	if err != nil || res.Region != "us-west-2" {
		t.Fatalf("presigned: %+v %v", res, err)
	}
	late, _ := http.NewRequest("GET", url, nil)
	s.v.Now = func() time.Time { return now.Add(6 * time.Minute) }
	if _, err := s.do(t, late); kindOf(err) != KindExpired {
		t.Errorf("expired presigned URL: %v", err)
	}
}

func BenchmarkVerify(b *testing.B) {
	now := time.Date(2024, 1, 15, 10, 15, 0, 0, time.UTC)
	body := bytes.Repeat([]byte("a"), 4000)
	r, _ := http.NewRequest("POST", "http://127.0.0.1/v2/email/outbound-emails", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	Sign(r, body, testKey, testSecret, "us-east-1", "ses", now)
	v := &Verifier{Now: func() time.Time { return now }, Lookup: func(context.Context, string) (string, error) { return testSecret, nil }}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(context.Background(), r, body); err != nil {
			b.Fatal(err)
		}
	}
}
