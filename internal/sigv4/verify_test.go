package sigv4

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	sestypes "github.com/aws/aws-sdk-go-v2/service/ses/types"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
)

// TestVerifySDKSigner sends requests signed by aws-sdk-go-v2's v4 signer
// through Go's real HTTP server and checks that Verify accepts them and
// returns their scope.
func TestVerifySDKSigner(t *testing.T) {
	now := time.Date(2024, 1, 15, 10, 15, 0, 0, time.UTC)
	s := newLoopback(t, now)
	form := "Action=SendEmail&Version=2010-12-01&Source=a%40example.com&Destination.ToAddresses.member.1=b%40example.com&Message.Subject.Data=Hi%20there"
	tests := []struct {
		name, method, target, body string
		header                     map[string][]string
		service, region            string
		payloadHash                string // "" = the body's
		chunked                    bool   // send the body with an unknown length
		wantURI                    string // RequestURI as the server saw it ("" = target)
		wantUnsigned               bool
	}{
		{name: "v1 form POST", method: "POST", target: "/", body: form,
			header: map[string][]string{"Content-Type": {"application/x-www-form-urlencoded"}, "Amz-Sdk-Invocation-Id": {"3f5b1c2e-8a47-4e0b-9d6c-2a1b0c9d8e7f"}, "Amz-Sdk-Request": {"attempt=1; max=3"}}},
		{name: "EC2 DescribeRegions", method: "POST", target: "/", body: "Action=DescribeRegions&Version=2016-11-15",
			header: map[string][]string{"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"}}, service: "ec2", region: "ap-northeast-1"},
		{name: "GET with repeated query keys out of order", method: "GET", target: "/v2/email/suppression/addresses?Reason=COMPLAINT&Reason=BOUNCE&PageSize=10"},
		{name: "path with %2B and %40", method: "GET", target: "/v2/email/identities/user%2Btag%40example.com"},
		{name: "path with %2F and space", method: "DELETE", target: "/v2/email/templates/a%2Fb%20c"},
		{name: "empty-body POST (Content-Length: 0, not signed)", method: "POST", target: "/v2/email/outbound-emails", body: ""},
		{name: "PUT JSON", method: "PUT", target: "/v2/email/account/sending", body: `{"SendingEnabled":true}`,
			header: map[string][]string{"Content-Type": {"application/json"}}},
		{name: "query with + space, %20, UTF-8, empty value and bare key", method: "GET",
			target: "/v2/email/templates?NextToken=a+b%20c%2Fd%C3%A9&Empty=&Bare&z=~._-"},
		{name: "header with inner spaces and several values", method: "POST", target: "/v2/email/contact-lists", body: `{}`,
			header: map[string][]string{"Content-Type": {"application/json"}, "X-Amz-Meta": {"  a   b  ", "c"}}},
		{name: "X-Amz-Content-Sha256 matching the body", method: "POST", target: "/v2/email/outbound-emails", body: `{"x":1}`,
			header: map[string][]string{"X-Amz-Content-Sha256": {hashHex([]byte(`{"x":1}`))}}},
		{name: "UNSIGNED-PAYLOAD", method: "POST", target: "/v2/email/outbound-emails", body: `{"x":2}`,
			header: map[string][]string{"X-Amz-Content-Sha256": {"UNSIGNED-PAYLOAD"}}, payloadHash: "UNSIGNED-PAYLOAD", wantUnsigned: true},
		{name: "chunked body, content-length not signed", method: "POST", target: "/v2/email/outbound-emails", body: `{"chunked":true}`, chunked: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			service, region := tc.service, tc.region
			if service == "" {
				service, region = "ses", "eu-west-1"
			}
			var rd io.Reader = strings.NewReader(tc.body)
			if tc.chunked {
				rd = io.MultiReader(rd) // hides the length
			}
			req, err := http.NewRequest(tc.method, s.URL+tc.target, rd)
			if err != nil {
				t.Fatal(err)
			}
			for k, vs := range tc.header {
				req.Header[k] = vs
			}
			sdkSign(t, req, []byte(tc.body), testKey, testSecret, service, region, now, tc.payloadHash)
			o := s.do(t, req)
			if o.err != nil {
				t.Fatalf("Verify: %v\nAuthorization: %s", o.err, req.Header.Get("Authorization"))
			}
			want := Result{AccessKeyID: testKey, Region: region, Service: service, Time: now, UnsignedPayload: tc.wantUnsigned}
			if o.res != want {
				t.Errorf("result %+v, want %+v", o.res, want)
			}
			if wantURI := tc.target; o.requestURI != wantURI {
				t.Errorf("server saw %q, want %q", o.requestURI, wantURI)
			}
		})
	}
}

// TestVerifySDKClients drives real aws-sdk-go-v2 SES clients (v1 and v2)
// against the loopback server, with their own middleware and clock.
func TestVerifySDKClients(t *testing.T) {
	s := newLoopback(t, time.Time{})
	cfg := aws.Config{
		Region:           "us-west-2",
		Credentials:      credentials.NewStaticCredentialsProvider(testKey, testSecret, ""),
		RetryMaxAttempts: 1,
		BaseEndpoint:     aws.String(s.URL),
		HTTPClient:       s.Client(),
	}
	v2 := sesv2.NewFromConfig(cfg)
	v1 := ses.NewFromConfig(cfg)
	ctx := context.Background()
	tests := []struct {
		name    string
		call    func() error
		wantURI string // "" = don't check
		wantSH  string // SignedHeaders, "" = don't check
		wantCT  string // Content-Type, "" = don't check
	}{
		{"v2 GetEmailIdentity with + and @", func() error {
			_, err := v2.GetEmailIdentity(ctx, &sesv2.GetEmailIdentityInput{EmailIdentity: aws.String("user+tag@example.com")})
			return err
		}, "/v2/email/identities/user%2Btag%40example.com", "amz-sdk-invocation-id;amz-sdk-request;host;x-amz-date", ""},
		{"v2 ListSuppressedDestinations with repeated Reason", func() error {
			_, err := v2.ListSuppressedDestinations(ctx, &sesv2.ListSuppressedDestinationsInput{
				Reasons: []v2types.SuppressionListReason{v2types.SuppressionListReasonComplaint, v2types.SuppressionListReasonBounce}})
			return err
		}, "/v2/email/suppression/addresses?Reason=BOUNCE&Reason=COMPLAINT", "", ""}, // the SDK's signer rewrites the query sorted
		{"v2 PutAccountSendingAttributes (PUT JSON)", func() error {
			_, err := v2.PutAccountSendingAttributes(ctx, &sesv2.PutAccountSendingAttributesInput{SendingEnabled: true})
			return err
		}, "/v2/email/account/sending", "amz-sdk-invocation-id;amz-sdk-request;content-length;content-type;host;x-amz-date", "application/json"},
		{"v1 SendEmail (form POST)", func() error {
			_, err := v1.SendEmail(ctx, &ses.SendEmailInput{
				Source:      aws.String("a@example.com"),
				Destination: &sestypes.Destination{ToAddresses: []string{"b+x@example.com"}},
				Message: &sestypes.Message{
					Subject: &sestypes.Content{Data: aws.String("Hi & bye")},
					Body:    &sestypes.Body{Text: &sestypes.Content{Data: aws.String("hello  world\n")}},
				},
			})
			return err
		}, "/", "amz-sdk-invocation-id;amz-sdk-request;content-length;content-type;host;x-amz-date", "application/x-www-form-urlencoded"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			o := s.next(t)
			if o.err != nil {
				t.Fatalf("Verify: %v\nAuthorization: %s", o.err, o.header.Get("Authorization"))
			}
			if err != nil {
				t.Errorf("client: %v", err)
			}
			if o.res.AccessKeyID != testKey || o.res.Region != "us-west-2" || o.res.Service != "ses" {
				t.Errorf("result %+v", o.res)
			}
			if tc.wantURI != "" && o.requestURI != tc.wantURI {
				t.Errorf("request URI %q, want %q", o.requestURI, tc.wantURI)
			}
			if sh := signedHeadersOf(t, o.header.Get("Authorization")); tc.wantSH != "" && sh != tc.wantSH {
				t.Errorf("SignedHeaders %q, want %q", sh, tc.wantSH)
			}
			if ct := o.header.Get("Content-Type"); tc.wantCT != "" && ct != tc.wantCT {
				t.Errorf("Content-Type %q, want %q", ct, tc.wantCT)
			}
		})
	}
}

// TestVerifyFailures checks every failure kind, and its message, for
// requests sent through Go's real server.
func TestVerifyFailures(t *testing.T) {
	now := time.Date(2018, 11, 7, 0, 55, 54, 0, time.UTC)
	s := newLoopback(t, now)
	const body = "Action=GetSendQuota&Version=2010-12-01"
	// signed returns a form POST signed by the SDK for keyID/secret at at,
	// then changed by mut.
	signed := func(keyID, secret string, at time.Time, mut func(*http.Request)) func() *http.Request {
		return func() *http.Request {
			r, _ := http.NewRequest("POST", s.URL+"/", strings.NewReader(body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			sdkSign(t, r, []byte(body), keyID, secret, "ses", "us-east-1", at, "")
			if mut != nil {
				mut(r)
			}
			return r
		}
	}
	ok := func(mut func(*http.Request)) func() *http.Request { return signed(testKey, testSecret, now, mut) }
	setAuth := func(v string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("Authorization", v) }
	}
	replaceAuth := func(old, new string) func(*http.Request) {
		return func(r *http.Request) {
			a := r.Header.Get("Authorization")
			if !strings.Contains(a, old) {
				t.Fatalf("%q not in %q", old, a)
			}
			r.Header.Set("Authorization", strings.Replace(a, old, new, 1))
		}
	}
	get := func(target string, mut func(*http.Request)) func() *http.Request {
		return func() *http.Request {
			r, _ := http.NewRequest("GET", s.URL+target, nil)
			sdkSign(t, r, nil, testKey, testSecret, "ses", "us-east-1", now, "")
			if mut != nil {
				mut(r)
			}
			return r
		}
	}
	const cred = "Credential=AKIDEXAMPLE/20181107/us-east-1/ses/aws4_request"
	tests := []struct {
		name   string
		req    func() *http.Request
		skew   time.Duration
		kind   Kind   // 0 = success
		msg    string // exact message
		substr string // or a part of it
		lookup bool   // whether the key may be looked up
	}{
		// Successes at the edges.
		{name: "valid", req: ok(nil), lookup: true},
		{name: "exactly 5 min old", req: signed(testKey, testSecret, now.Add(-5*time.Minute), nil), lookup: true},
		{name: "exactly 5 min ahead", req: signed(testKey, testSecret, now.Add(5*time.Minute), nil), lookup: true},
		{name: "10 min old with a 15 min window", req: signed(testKey, testSecret, now.Add(-10*time.Minute), nil), skew: 15 * time.Minute, lookup: true},

		// KindMissing.
		{name: "no authentication at all", req: func() *http.Request {
			r, _ := http.NewRequest("POST", s.URL+"/", strings.NewReader(body))
			return r
		}, kind: KindMissing, msg: "Request is missing Authentication Token"},

		// KindUnknownKey.
		{name: "unknown key", req: signed("AKIDUNKNOWN", testSecret, now, nil), kind: KindUnknownKey,
			msg: "The security token included in the request is invalid.", lookup: true},

		// KindMismatch.
		{name: "wrong secret", req: signed(testKey, "wrong-secret", now, nil), kind: KindMismatch, msg: msgMismatch, lookup: true},
		{name: "tampered body (same length)", req: ok(func(r *http.Request) {
			r.Body = io.NopCloser(strings.NewReader(strings.Replace(body, "2010-12-01", "2010-12-02", 1)))
		}), kind: KindMismatch, msg: msgMismatch, lookup: true},
		{name: "tampered signed header", req: ok(func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") }),
			kind: KindMismatch, msg: msgMismatch, lookup: true},
		{name: "tampered host", req: ok(func(r *http.Request) { r.Host = strings.Replace(r.URL.Host, "127.0.0.1", "localhost", 1) }),
			kind: KindMismatch, msg: msgMismatch, lookup: true},
		{name: "tampered method", req: get("/v2/email/account", func(r *http.Request) { r.Method = "DELETE" }),
			kind: KindMismatch, msg: msgMismatch, lookup: true},
		{name: "tampered path", req: get("/v2/email/identities/a%40example.com", func(r *http.Request) {
			r.URL.Path, r.URL.RawPath = "/v2/email/identities/b@example.com", "/v2/email/identities/b%40example.com"
		}), kind: KindMismatch, msg: msgMismatch, lookup: true},
		{name: "path decoded before signing", req: get("/v2/email/identities/a%40example.com", func(r *http.Request) {
			r.URL.RawPath = "" // sends /a@example.com: same resource, other signature
		}), kind: KindMismatch, msg: msgMismatch, lookup: true},
		{name: "tampered query", req: get("/v2/email/suppression/addresses?Reason=BOUNCE", func(r *http.Request) {
			r.URL.RawQuery = "Reason=COMPLAINT"
		}), kind: KindMismatch, msg: msgMismatch, lookup: true},
		{name: "added query parameter", req: get("/v2/email/suppression/addresses?Reason=BOUNCE", func(r *http.Request) {
			r.URL.RawQuery += "&Reason=COMPLAINT"
		}), kind: KindMismatch, msg: msgMismatch, lookup: true},
		{name: "signature not hex", req: ok(func(r *http.Request) {
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:strings.LastIndex(a, "=")+1]+"zz")
		}), kind: KindMismatch, msg: msgMismatch, lookup: true},
		{name: "X-Amz-Content-Sha256 not the body's", req: ok(func(r *http.Request) {
			r.Header.Set("X-Amz-Content-Sha256", hashHex([]byte("other")))
		}), kind: KindMismatch, msg: "The provided 'x-amz-content-sha256' header does not match what was computed."},

		// KindExpired, with SES's exact words.
		{name: "signed 17 min ago", req: signed(testKey, testSecret, time.Date(2018, 11, 7, 0, 38, 42, 0, time.UTC), nil), kind: KindExpired,
			msg: "Signature expired: 20181107T003842Z is now earlier than 20181107T005054Z (20181107T005554Z - 5 min.)"},
		{name: "signed 5 min 1 s ago", req: signed(testKey, testSecret, now.Add(-5*time.Minute-time.Second), nil), kind: KindExpired,
			msg: "Signature expired: 20181107T005053Z is now earlier than 20181107T005054Z (20181107T005554Z - 5 min.)"},
		{name: "signed 13 min ahead", req: signed(testKey, testSecret, time.Date(2018, 11, 7, 1, 8, 42, 0, time.UTC), nil), kind: KindExpired,
			msg: "Signature not yet current: 20181107T010842Z is still later than 20181107T010054Z (20181107T005554Z + 5 min.)"},
		{name: "signed 16 min ago with a 15 min window", req: signed(testKey, testSecret, now.Add(-16*time.Minute), nil), skew: 15 * time.Minute, kind: KindExpired,
			msg: "Signature expired: 20181107T003954Z is now earlier than 20181107T004054Z (20181107T005554Z - 15 min.)"},

		// KindIncomplete.
		{name: "scope date is not the request's day", req: ok(replaceAuth("/20181107/", "/20181106/")), kind: KindIncomplete,
			msg: "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20181106' != '20181107', from '20181107T005554Z'."},
		{name: "host not signed", req: ok(replaceAuth("content-type;host;x-amz-date", "content-type;x-amz-date")), kind: KindIncomplete,
			msg: "'Host' must be a 'SignedHeader' in the AWS Authorization."},
		{name: "no X-Amz-Date", req: ok(func(r *http.Request) { r.Header.Del("X-Amz-Date") }), kind: KindIncomplete,
			substr: "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."},
		{name: "X-Amz-Date not ISO 8601 basic", req: ok(func(r *http.Request) { r.Header.Set("X-Amz-Date", "2018-11-07T00:55:54Z") }), kind: KindIncomplete,
			substr: "Date must be in ISO-8601 'basic format'. Got '2018-11-07T00:55:54Z'."},
		{name: "Date header in RFC 1123 form", req: ok(func(r *http.Request) {
			r.Header.Del("X-Amz-Date")
			r.Header.Set("Date", "Wed, 07 Nov 2018 00:55:54 GMT")
		}), kind: KindIncomplete, substr: "ISO-8601"},
		{name: "unsupported algorithm", req: ok(replaceAuth("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1")), kind: KindIncomplete,
			msg: "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA1'. Only AWS4-HMAC-SHA256 is supported."},
		{name: "Basic auth", req: ok(setAuth("Basic dXNlcjpwYXNz")), kind: KindIncomplete, substr: "Unsupported AWS 'algorithm': 'Basic'"},
		{name: "only a credential", req: ok(setAuth("AWS4-HMAC-SHA256 " + cred)), kind: KindIncomplete,
			msg: "Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256 " + cred},
		{name: "nothing after the algorithm", req: ok(setAuth("AWS4-HMAC-SHA256")), kind: KindIncomplete,
			substr: "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter."},
		{name: "empty SignedHeaders", req: ok(setAuth("AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=, Signature=00")), kind: KindIncomplete,
			substr: "requires 'SignedHeaders' parameter"},
		{name: "component without =", req: ok(setAuth("AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host, Signature")), kind: KindIncomplete,
			substr: "'Signature' not a valid key=value pair (missing equal-sign) in Authorization header"},
		{name: "repeated Credential", req: ok(setAuth("AWS4-HMAC-SHA256 " + cred + ", " + cred + ", SignedHeaders=host, Signature=00")), kind: KindIncomplete,
			substr: "more than one 'Credential'"},
		{name: "credential with 4 elements", req: ok(replaceAuth("/us-east-1/ses/", "/us-east-1/")), kind: KindIncomplete,
			substr: "Credential must have exactly 5 slash-delimited elements"},
		{name: "credential with a bad terminator", req: ok(replaceAuth("aws4_request", "aws5_request")), kind: KindIncomplete,
			msg: "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'."},
		{name: "credential without a region", req: ok(replaceAuth("/us-east-1/", "//")), kind: KindIncomplete,
			msg: "Credential should be scoped to a valid region, not ''."},
		{name: "credential without a key id", req: ok(replaceAuth("Credential=AKIDEXAMPLE/", "Credential=/")), kind: KindIncomplete,
			substr: "access key id"},
		{name: "credential date too short", req: ok(replaceAuth("/20181107/", "/2018117/")), kind: KindIncomplete,
			substr: "valid date"},
		{name: "credential date not digits", req: ok(replaceAuth("/20181107/", "/2018110x/")), kind: KindIncomplete,
			msg: "Credential should be scoped to a valid date in YYYYMMDD form, not '2018110x'."},
		{name: "credential without a service", req: ok(replaceAuth("/ses/", "//")), kind: KindIncomplete,
			msg: "Credential should be scoped to a valid service, not ''."},
		{name: "SignedHeaders unsorted", req: ok(replaceAuth("content-type;host;x-amz-date", "host;content-type;x-amz-date")), kind: KindIncomplete,
			substr: "sorted"},
		{name: "SignedHeaders not lowercase", req: ok(replaceAuth("content-type;host;x-amz-date", "Content-Type;host;x-amz-date")), kind: KindIncomplete,
			substr: "lowercase"},
		{name: "header and query authentication both", req: ok(func(r *http.Request) {
			r.URL.RawQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA256"
		}), kind: KindIncomplete, substr: "Only one auth mechanism allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s.setNow(now, tc.skew)
			before := s.lookups.Load()
			o := s.do(t, tc.req())
			looked := s.lookups.Load() != before
			if looked && !tc.lookup {
				t.Errorf("the key was looked up")
			}
			if tc.kind == 0 {
				if o.err != nil {
					t.Fatalf("Verify: %v", o.err)
				}
				return
			}
			var e *Error
			if !errors.As(o.err, &e) {
				t.Fatalf("err = %v, want an *Error", o.err)
			}
			if e.Kind != tc.kind {
				t.Errorf("kind %v, want %v (%v)", e.Kind, tc.kind, o.err)
			}
			if tc.msg != "" && e.Msg != tc.msg {
				t.Errorf("message\n%q\nwant\n%q", e.Msg, tc.msg)
			}
			if !strings.Contains(e.Msg, tc.substr) {
				t.Errorf("message %q lacks %q", e.Msg, tc.substr)
			}
			if o.res != (Result{}) {
				t.Errorf("failed verification returned %+v", o.res)
			}
		})
	}
}

// TestVerifyLookupErrors checks how SecretLookup's errors come out.
func TestVerifyLookupErrors(t *testing.T) {
	now := time.Date(2024, 1, 15, 10, 15, 0, 0, time.UTC)
	sign := func(keyID string) *http.Request {
		r, _ := http.NewRequest("GET", "http://127.0.0.1:9/v2/email/account", nil)
		sdkSign(t, r, nil, keyID, testSecret, "ses", "us-east-1", now, "")
		return r
	}
	v := &Verifier{Lookup: lookup(nil), Now: func() time.Time { return now }}

	_, err := v.Verify(context.Background(), sign("AKIDUNKNOWN"), nil)
	if kindOf(err) != KindUnknownKey || !errors.Is(err, ErrUnknownKey) {
		t.Errorf("unknown key: %v; want KindUnknownKey wrapping ErrUnknownKey", err)
	}
	_, err = v.Verify(context.Background(), sign(brokenKey), nil)
	var e *Error
	if errors.As(err, &e) || !errors.Is(err, errStore) {
		t.Errorf("store failure: %v; want a wrapped errStore that is not an *Error", err)
	}
	_, err = (&Verifier{Now: v.Now}).Verify(context.Background(), sign(testKey), nil)
	if err == nil || kindOf(err) != 0 {
		t.Errorf("no Lookup: %v", err)
	}
	// The default clock is the real one.
	_, err = (&Verifier{Lookup: lookup(nil)}).Verify(context.Background(), sign(testKey), nil)
	if kindOf(err) != KindExpired {
		t.Errorf("2024 request against the real clock: %v", err)
	}
}

// TestPresigned checks the query-string form with URLs presigned by the SDK.
func TestPresigned(t *testing.T) {
	now := time.Date(2024, 1, 15, 10, 15, 0, 0, time.UTC)
	s := newLoopback(t, now)
	presign := func(target, payloadHash string) string {
		r, _ := http.NewRequest("GET", s.URL+target, nil)
		creds := aws.Credentials{AccessKeyID: testKey, SecretAccessKey: testSecret}
		u, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds, r, payloadHash, "ses", "us-west-2", now)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	tests := []struct {
		name   string
		url    func() string
		at     time.Duration // server clock offset from now
		kind   Kind
		substr string
	}{
		{name: "UNSIGNED-PAYLOAD, as for S3", url: func() string { return presign("/v2/email/account?X-Amz-Expires=300", "UNSIGNED-PAYLOAD") }},
		{name: "empty body hash, as for STS", url: func() string { return presign("/v2/email/account?X-Amz-Expires=300", hashHex(nil)) }},
		{name: "repeated keys and encoded path", url: func() string {
			return presign("/v2/email/identities/a%2Bb%40example.com?Reason=COMPLAINT&Reason=BOUNCE&X-Amz-Expires=300", hashHex(nil))
		}},
		{name: "within expiry", url: func() string { return presign("/v2/email/account?X-Amz-Expires=300", hashHex(nil)) }, at: 4 * time.Minute},
		{name: "within a long expiry, beyond the skew", url: func() string { return presign("/v2/email/account?X-Amz-Expires=3600", hashHex(nil)) }, at: 30 * time.Minute},
		{name: "no X-Amz-Expires, beyond the skew", url: func() string { return presign("/v2/email/account", hashHex(nil)) }, at: 6 * time.Minute,
			kind: KindExpired, substr: "Signature expired: 20240115T101500Z"},
		{name: "expired", url: func() string { return presign("/v2/email/account?X-Amz-Expires=300", hashHex(nil)) }, at: 5*time.Minute + time.Second,
			kind: KindExpired, substr: "Signature expired: 20240115T101500Z is now earlier than 20240115T101501Z (20240115T102001Z - 300 sec.)"},
		{name: "not yet valid", url: func() string { return presign("/v2/email/account?X-Amz-Expires=300", hashHex(nil)) }, at: -6 * time.Minute,
			kind: KindExpired, substr: "Signature not yet current"},
		{name: "tampered query", url: func() string { return presign("/v2/email/account?X-Amz-Expires=300", hashHex(nil)) + "&PageSize=1" },
			kind: KindMismatch},
		{name: "other payload hash", url: func() string { return presign("/v2/email/account?X-Amz-Expires=300", hashHex([]byte("x"))) },
			kind: KindMismatch},
		{name: "no signature", url: func() string {
			u := presign("/v2/email/account?X-Amz-Expires=300", hashHex(nil))
			return u[:strings.Index(u, "&X-Amz-Signature=")]
		}, kind: KindIncomplete, substr: "'X-Amz-Signature'"},
		{name: "bad X-Amz-Expires", url: func() string { return presign("/v2/email/account?X-Amz-Expires=0", hashHex(nil)) },
			kind: KindIncomplete, substr: "X-Amz-Expires"},
		{name: "X-Amz-Expires beyond a week", url: func() string { return presign("/v2/email/account?X-Amz-Expires=604801", hashHex(nil)) },
			kind: KindIncomplete, substr: "X-Amz-Expires"},
		{name: "other algorithm", url: func() string {
			return strings.Replace(presign("/v2/email/account?X-Amz-Expires=300", hashHex(nil)), "X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=AWS4-ECDSA-P256-SHA256", 1)
		}, kind: KindIncomplete, substr: "X-Amz-Algorithm only supports"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := tc.url()
			s.setNow(now.Add(tc.at), 0)
			req, err := http.NewRequest("GET", u, nil)
			if err != nil {
				t.Fatal(err)
			}
			o := s.do(t, req)
			if tc.kind == 0 {
				if o.err != nil {
					t.Fatalf("Verify %s: %v", u, o.err)
				}
				if o.res.Region != "us-west-2" || o.res.Service != "ses" || !o.res.Time.Equal(now) {
					t.Errorf("result %+v", o.res)
				}
				return
			}
			if kindOf(o.err) != tc.kind || !strings.Contains(msgOf(o.err), tc.substr) {
				t.Errorf("err = %v, want kind %v with %q", o.err, tc.kind, tc.substr)
			}
		})
	}
}

// TestVerifyDoesNotReadBody checks that Verify leaves r.Body alone.
func TestVerifyDoesNotReadBody(t *testing.T) {
	now := time.Date(2024, 1, 15, 10, 15, 0, 0, time.UTC)
	body := []byte(`{"a":1}`)
	r, _ := http.NewRequest("POST", "http://127.0.0.1:9/v2/email/outbound-emails", bytes.NewReader(body))
	sdkSign(t, r, body, testKey, testSecret, "ses", "us-east-1", now, "")
	r.Body = io.NopCloser(iotestErrReader{})
	v := &Verifier{Lookup: lookup(nil), Now: func() time.Time { return now }}
	if _, err := v.Verify(context.Background(), r, body); err != nil {
		t.Fatal(err)
	}
}

type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, errors.New("Verify read the body") }
