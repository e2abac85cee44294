// Package sigv4 verifies and makes AWS Signature Version 4 signatures, and
// derives Amazon SES's SMTP passwords from secret access keys.
//
// Verification follows AWS's "Create a signed AWS API request" procedure
// (the SigV4 signing process of the AWS General Reference): a canonical
// request, a string to sign under the credential scope
// date/region/service/aws4_request, and an HMAC-SHA256 key chain derived
// from the secret. Details that decide interoperability (reference §1):
//
//   - the canonical URI of non-S3 services is the path as sent, URI-encoded
//     once more ("double encoding");
//   - the canonical query re-encodes every decoded key and value and sorts
//     by key, then value;
//   - exactly the headers in SignedHeaders are signed; host comes from the
//     request line's Host (Go's server moves it out of Header);
//   - the payload hash is computed from the body (SES clients do not send
//     X-Amz-Content-Sha256).
package sigv4

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Algorithm is the only signing algorithm accepted.
const Algorithm = "AWS4-HMAC-SHA256"

// timeFormat is X-Amz-Date's ISO 8601 basic format.
const timeFormat = "20060102T150405Z"

// Kind classifies a verification failure.
type Kind int

// Failure kinds, each with its SES error code in the comment.
const (
	KindMissing    Kind = iota + 1 // MissingAuthenticationToken
	KindIncomplete                 // IncompleteSignature
	KindUnknownKey                 // InvalidClientTokenId / UnrecognizedClientException
	KindMismatch                   // SignatureDoesNotMatch / InvalidSignatureException
	KindExpired                    // SignatureDoesNotMatch with "Signature expired: …"
)

// Error is a verification failure. Msg is the text for the client, in
// AWS's wording.
type Error struct {
	Kind Kind
	Msg  string
	Err  error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return "sigv4: " + e.Msg + ": " + e.Err.Error()
	}
	return "sigv4: " + e.Msg
}

// Unwrap returns the underlying error, if any.
func (e *Error) Unwrap() error { return e.Err }

// ErrUnknownKey is what a SecretLookup returns (possibly wrapped) for an
// access key id that does not exist.
var ErrUnknownKey = errors.New("sigv4: unknown access key")

// SecretLookup returns the secret access key of an access key id.
type SecretLookup func(ctx context.Context, accessKeyID string) (secret string, err error)

// Verifier checks SigV4 signatures.
type Verifier struct {
	Lookup  SecretLookup
	Now     func() time.Time // nil = time.Now
	MaxSkew time.Duration    // 0 = 5 minutes, SES's window
}

// Result is what a verified request was signed for.
type Result struct {
	AccessKeyID string
	Region      string // from the credential scope only
	Service     string // from the credential scope
	Time        time.Time
}

// Messages in AWS's words.
const (
	msgUnknownKey = "The security token included in the request is invalid."
	msgMismatch   = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgMissing    = "Request is missing Authentication Token"
)

func incomplete(format string, args ...any) *Error {
	return &Error{Kind: KindIncomplete, Msg: fmt.Sprintf(format, args...)}
}

// authParams is a parsed Authorization header or presigned query.
type authParams struct {
	credential    string
	signedHeaders []string
	signature     string
	date          string
	presigned     bool
	expires       time.Duration
}

// ParseAuthorization parses the value of an Authorization header of the
// form "AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…".
func ParseAuthorization(v string) (credential string, signedHeaders []string, signature string, err error) {
	alg, rest, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok || alg != Algorithm {
		return "", nil, "", incomplete("Authorization header requires the %s algorithm.", Algorithm)
	}
	seen := map[string]bool{}
	for _, part := range strings.Split(rest, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return "", nil, "", incomplete("Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.")
		}
		if seen[k] {
			return "", nil, "", incomplete("Authorization header repeats the '%s' parameter.", k)
		}
		seen[k] = true
		switch k {
		case "Credential":
			credential = val
		case "SignedHeaders":
			if val != "" {
				signedHeaders = strings.Split(val, ";")
			}
		case "Signature":
			signature = val
		}
	}
	for _, need := range []struct{ name, val string }{{"Credential", credential}, {"SignedHeaders", strings.Join(signedHeaders, ";")}, {"Signature", signature}} {
		if need.val == "" {
			return "", nil, "", incomplete("Authorization header requires '%s' parameter.", need.name)
		}
	}
	return credential, signedHeaders, signature, nil
}

func (v *Verifier) params(r *http.Request) (authParams, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		cred, sh, sig, err := ParseAuthorization(h)
		if err != nil {
			return authParams{}, err
		}
		date := r.Header.Get("X-Amz-Date")
		if date == "" {
			date = r.Header.Get("Date")
		}
		if date == "" {
			return authParams{}, incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
		}
		return authParams{credential: cred, signedHeaders: sh, signature: sig, date: date}, nil
	}
	q := r.URL.Query()
	if q.Get("X-Amz-Algorithm") == "" {
		return authParams{}, &Error{Kind: KindMissing, Msg: msgMissing}
	}
	if q.Get("X-Amz-Algorithm") != Algorithm {
		return authParams{}, incomplete("X-Amz-Algorithm only supports %s.", Algorithm)
	}
	p := authParams{credential: q.Get("X-Amz-Credential"), signature: q.Get("X-Amz-Signature"), date: q.Get("X-Amz-Date"), presigned: true}
	if sh := q.Get("X-Amz-SignedHeaders"); sh != "" {
		p.signedHeaders = strings.Split(sh, ";")
	}
	if p.credential == "" || p.signature == "" || p.date == "" || len(p.signedHeaders) == 0 {
		return authParams{}, incomplete("AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-SignedHeaders', 'X-Amz-Date'.")
	}
	if e := q.Get("X-Amz-Expires"); e != "" {
		n, err := strconv.Atoi(e)
		if err != nil || n < 0 || n > 604800 {
			return authParams{}, incomplete("X-Amz-Expires must be a number of seconds between 0 and 604800.")
		}
		p.expires = time.Duration(n) * time.Second
	}
	return p, nil
}

// Verify checks the signature of r, whose body was already read into body,
// and returns the credential scope it was made for.
func (v *Verifier) Verify(ctx context.Context, r *http.Request, body []byte) (Result, error) {
	p, err := v.params(r)
	if err != nil {
		return Result{}, err
	}
	parts := strings.Split(p.credential, "/")
	if len(parts) != 5 || parts[0] == "" || parts[2] == "" || parts[3] == "" || parts[4] != "aws4_request" {
		return Result{}, incomplete("Credential should be scoped to a valid region, service and end with aws4_request: '%s'.", p.credential)
	}
	keyID, scopeDate, region, service := parts[0], parts[1], parts[2], parts[3]
	t, err := time.Parse(timeFormat, p.date)
	if err != nil {
		return Result{}, incomplete("Date must be in ISO-8601 'basic format'. Got '%s'.", p.date)
	}
	if scopeDate != t.Format("20060102") {
		return Result{}, incomplete("Credential should be scoped to a valid date: '%s' does not match the request date '%s'.", scopeDate, t.Format("20060102"))
	}
	if !slices.Contains(p.signedHeaders, "host") {
		return Result{}, incomplete("'Host' must be a signed header.")
	}
	for i := 1; i < len(p.signedHeaders); i++ {
		if p.signedHeaders[i] <= p.signedHeaders[i-1] {
			return Result{}, incomplete("SignedHeaders must be lowercase, sorted and without duplicates.")
		}
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	if err := v.checkTime(t, now().UTC(), p); err != nil {
		return Result{}, err
	}
	payload := hashHex(body)
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" {
		if h != "UNSIGNED-PAYLOAD" && !strings.EqualFold(h, payload) {
			return Result{}, &Error{Kind: KindMismatch, Msg: "The provided 'x-amz-content-sha256' header does not match what was computed."}
		}
		payload = h
	} else if p.presigned {
		payload = "UNSIGNED-PAYLOAD"
	}
	secret, err := v.Lookup(ctx, keyID)
	if err != nil {
		if errors.Is(err, ErrUnknownKey) {
			return Result{}, &Error{Kind: KindUnknownKey, Msg: msgUnknownKey}
		}
		return Result{}, fmt.Errorf("sigv4: look up %s: %w", keyID, err)
	}
	creq := canonicalRequest(r, p.signedHeaders, payload, p.presigned)
	scope := scopeDate + "/" + region + "/" + service + "/aws4_request"
	want := signature(secret, scopeDate, region, service, stringToSign(p.date, scope, creq))
	got, err := hex.DecodeString(p.signature)
	if err != nil || !hmac.Equal(got, want) {
		return Result{}, &Error{Kind: KindMismatch, Msg: msgMismatch}
	}
	return Result{AccessKeyID: keyID, Region: region, Service: service, Time: t}, nil
}

// checkTime enforces the skew window, in SES's words (reference §1).
func (v *Verifier) checkTime(t, now time.Time, p authParams) error {
	skew := v.MaxSkew
	if skew == 0 {
		skew = 5 * time.Minute
	}
	mins := strconv.Itoa(int(skew / time.Minute))
	if t.Before(now.Add(-skew)) && !(p.presigned && p.expires > 0) {
		return &Error{Kind: KindExpired, Msg: fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - %s min.)",
			t.Format(timeFormat), now.Add(-skew).Format(timeFormat), now.Format(timeFormat), mins)}
	}
	if t.After(now.Add(skew)) {
		return &Error{Kind: KindExpired, Msg: fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + %s min.)",
			t.Format(timeFormat), now.Add(skew).Format(timeFormat), now.Format(timeFormat), mins)}
	}
	if p.presigned && p.expires > 0 && now.After(t.Add(p.expires)) {
		return &Error{Kind: KindExpired, Msg: fmt.Sprintf("Request has expired: signed at %s for %d seconds.", t.Format(timeFormat), int(p.expires/time.Second))}
	}
	return nil
}

// rawPath is the path exactly as the client sent it.
func rawPath(r *http.Request) string {
	if r.RequestURI != "" && r.RequestURI != "*" {
		p := r.RequestURI
		if i := strings.IndexByte(p, '?'); i >= 0 {
			p = p[:i]
		}
		if u, err := url.Parse(p); err == nil && u.Scheme != "" {
			return u.EscapedPath() // absolute-form request line
		}
		return p
	}
	return r.URL.EscapedPath()
}

// rawQuery is the query exactly as sent.
func rawQuery(r *http.Request) string {
	if r.RequestURI != "" {
		if i := strings.IndexByte(r.RequestURI, '?'); i >= 0 {
			return r.RequestURI[i+1:]
		}
		return ""
	}
	return r.URL.RawQuery
}

func canonicalRequest(r *http.Request, signed []string, payload string, presigned bool) string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	path := rawPath(r)
	if path == "" {
		path = "/"
	}
	b.WriteString(encode(path, false))
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(rawQuery(r), presigned))
	b.WriteByte('\n')
	for _, h := range signed {
		b.WriteString(h)
		b.WriteByte(':')
		b.WriteString(headerValue(r, h))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signed, ";"))
	b.WriteByte('\n')
	b.WriteString(payload)
	return b.String()
}

// headerValue is a header's canonical value: values trimmed, inner runs of
// spaces collapsed, several values joined by commas.
func headerValue(r *http.Request, name string) string {
	var vals []string
	switch name {
	case "host":
		vals = []string{r.Host}
	case "content-length":
		vals = r.Header.Values("Content-Length")
		if len(vals) == 0 && r.ContentLength >= 0 && (r.ContentLength > 0 || r.Body != nil) {
			vals = []string{strconv.FormatInt(r.ContentLength, 10)}
		}
	default:
		vals = r.Header.Values(name)
	}
	for i, v := range vals {
		vals[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(vals, ",")
}

func canonicalQuery(raw string, presigned bool) string {
	if raw == "" {
		return ""
	}
	type kv struct{ k, v string }
	var pairs []kv
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		dk, err1 := url.QueryUnescape(k)
		dv, err2 := url.QueryUnescape(v)
		if err1 != nil {
			dk = k
		}
		if err2 != nil {
			dv = v
		}
		if presigned && dk == "X-Amz-Signature" {
			continue
		}
		pairs = append(pairs, kv{encode(dk, true), encode(dv, true)})
	}
	slices.SortFunc(pairs, func(a, b kv) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}

// encode is AWS's URI encoding: every byte but A-Z a-z 0-9 - _ . ~ is
// %XX-encoded (upper case); '/' too when encodeSlash.
func encode(s string, encodeSlash bool) string {
	const hexd = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' || (c == '/' && !encodeSlash) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexd[c>>4])
		b.WriteByte(hexd[c&15])
	}
	return b.String()
}

func hashHex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

func stringToSign(date, scope, creq string) string {
	return Algorithm + "\n" + date + "\n" + scope + "\n" + hashHex([]byte(creq))
}

// signature derives the signing key from the secret and signs sts.
func signature(secret, date, region, service, sts string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	k = hmacSHA256(k, "aws4_request")
	return hmacSHA256(k, sts)
}

// Sign signs r in the header form: it sets X-Amz-Date and Authorization,
// signing what aws-sdk-go-v2 signs: content-length (when there is a body),
// content-type (when set), host and x-amz-date.
func Sign(r *http.Request, body []byte, accessKeyID, secret, region, service string, t time.Time) error {
	if accessKeyID == "" || secret == "" || region == "" || service == "" {
		return errors.New("sigv4: sign needs a key id, secret, region and service")
	}
	date := t.UTC().Format(timeFormat)
	r.Header.Set("X-Amz-Date", date)
	if r.Host == "" && r.URL != nil {
		r.Host = r.URL.Host
	}
	var signed []string
	if len(body) > 0 {
		r.ContentLength = int64(len(body))
		signed = append(signed, "content-length")
	}
	if r.Header.Get("Content-Type") != "" {
		signed = append(signed, "content-type")
	}
	signed = append(signed, "host", "x-amz-date")
	scope := date[:8] + "/" + region + "/" + service + "/aws4_request"
	creq := canonicalRequest(r, signed, hashHex(body), false)
	sig := signature(secret, date[:8], region, service, stringToSign(date, scope, creq))
	r.Header.Set("Authorization", fmt.Sprintf("%s Credential=%s/%s, SignedHeaders=%s, Signature=%s",
		Algorithm, accessKeyID, scope, strings.Join(signed, ";"), hex.EncodeToString(sig)))
	return nil
}

// SMTPPassword derives SES's version-4 SMTP password for secret in region
// (reference §4): HMAC-SHA256 chained over "11111111", the region, "ses",
// "aws4_request" and "SendRawEmail", keyed first with "AWS4"+secret; the
// password is base64(0x04 || key).
func SMTPPassword(secret, region string) string {
	k := hmacSHA256([]byte("AWS4"+secret), "11111111")
	for _, s := range []string{region, "ses", "aws4_request", "SendRawEmail"} {
		k = hmacSHA256(k, s)
	}
	return base64.StdEncoding.EncodeToString(append([]byte{0x04}, k...))
}

// LegacySMTPPassword derives the old version-2 password:
// base64(0x02 || HMAC-SHA256(secret, "SendRawEmail")).
func LegacySMTPPassword(secret string) string {
	return base64.StdEncoding.EncodeToString(append([]byte{0x02}, hmacSHA256([]byte(secret), "SendRawEmail")...))
}
