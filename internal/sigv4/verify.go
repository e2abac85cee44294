package sigv4

import (
	"context"
	"crypto/hmac"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// defaultSkew is SES's clock-skew window: its "Signature expired" message
// quotes 5 minutes (reference §1), although AWS's generic error
// documentation says 15.
const defaultSkew = 5 * time.Minute

// maxExpires is the longest X-Amz-Expires AWS accepts: seven days.
const maxExpires = 7 * 24 * time.Hour

// SecretLookup returns the secret access key of an access key id. For an
// id that does not exist it returns ErrUnknownKey, possibly wrapped; any
// other error is passed on by Verify as an internal failure.
type SecretLookup func(ctx context.Context, accessKeyID string) (secret string, err error)

// Verifier checks SigV4 signatures. Its zero value, given a Lookup, is ready
// to use; a Verifier is safe for concurrent use if Lookup and Now are.
type Verifier struct {
	Lookup  SecretLookup
	Now     func() time.Time // nil = time.Now
	MaxSkew time.Duration    // 0 (or negative) = 5 * time.Minute, SES's window
}

// Result is what a verified request was signed for.
type Result struct {
	AccessKeyID string
	Region      string    // from the credential scope only; not judged
	Service     string    // from the credential scope ("ses", "ec2", "sns", ...); not judged
	Time        time.Time // the request time (X-Amz-Date), UTC

	// UnsignedPayload reports that the client sent
	// X-Amz-Content-Sha256: UNSIGNED-PAYLOAD, so the body is not covered by
	// the signature.
	UnsignedPayload bool
}

// auth is the signature data of a request, from either form.
type auth struct {
	scope     scope
	signed    []string
	signature string
	date      string // as sent, ISO 8601 basic
	t         time.Time
	presigned bool
	expires   time.Duration // presigned only; 0 = not given
}

// Verify checks the SigV4 signature of r, whose body has already been read
// into body (r.Body is not touched), and returns the credential scope it was
// made for. The region and service are returned, not judged: the caller
// checks them.
//
// Both the Authorization header form and the query-string (presigned) form
// are accepted. Verification failures are *Error values (returned
// unwrapped) whose Kind classifies them; an error from Lookup other than
// ErrUnknownKey is returned wrapped, and is not an *Error. The secret is
// looked up only once the request's signing data parses and its time is
// within the allowed skew; signatures are compared in constant time.
func (v *Verifier) Verify(ctx context.Context, r *http.Request, body []byte) (Result, error) {
	a, err := parseAuth(r)
	if err != nil {
		return Result{}, err
	}
	if err := v.checkTime(a); err != nil {
		return Result{}, err
	}

	// The payload hash: the body's, unless X-Amz-Content-Sha256 says
	// otherwise.
	bodyHash := hashHex(body)
	payloads := []string{bodyHash}
	unsigned := false
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" {
		switch {
		case h == unsignedPayload:
			payloads[0], unsigned = h, true
		case strings.EqualFold(h, bodyHash):
			payloads[0] = h // as the client put it in its canonical request
		default:
			return Result{}, &Error{Kind: KindMismatch, Msg: msgContentSHA}
		}
	} else if a.presigned && len(body) == 0 {
		// Presigned URLs for S3 sign UNSIGNED-PAYLOAD, for other services
		// the hash of the (empty) body; with no body, either is safe.
		payloads = append(payloads, unsignedPayload)
	}

	if v.Lookup == nil {
		return Result{}, errors.New("sigv4: Verifier has no Lookup")
	}
	secret, err := v.Lookup(ctx, a.scope.keyID)
	if err != nil {
		if errors.Is(err, ErrUnknownKey) {
			return Result{}, &Error{Kind: KindUnknownKey, Msg: msgUnknownKey, Err: err}
		}
		return Result{}, fmt.Errorf("sigv4: look up access key %q: %w", a.scope.keyID, err)
	}

	got, err := hex.DecodeString(a.signature)
	if err != nil || len(got) != 32 {
		got = nil // cannot match; still do the work below
	}
	key := signingKey(secret, a.scope)
	prefix := canonicalPrefix(r, body, a.signed, a.presigned)
	ok := false
	for _, p := range payloads {
		want := hmacSHA256(key, stringToSign(a.date, a.scope, prefix+p))
		if hmac.Equal(got, want) {
			ok = true
		}
	}
	if !ok {
		return Result{}, &Error{Kind: KindMismatch, Msg: msgMismatch}
	}
	return Result{
		AccessKeyID:     a.scope.keyID,
		Region:          a.scope.region,
		Service:         a.scope.service,
		Time:            a.t,
		UnsignedPayload: unsigned,
	}, nil
}

// parseAuth reads and checks the signing data of r, from the Authorization
// header or the X-Amz-* query parameters.
func parseAuth(r *http.Request) (auth, error) {
	var a auth
	header := r.Header.Get("Authorization")
	_, query := requestTarget(r)
	var q url.Values
	if strings.Contains(query, "X-Amz-") {
		q, _ = url.ParseQuery(query) // keeps the pairs that parse
	}
	algorithm := q.Get("X-Amz-Algorithm")
	switch {
	case header != "" && algorithm != "":
		return a, incomplete("Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified.")
	case header != "":
		p, err := ParseAuthorization(header)
		if err != nil {
			return a, err
		}
		a.signed, a.signature = p.SignedHeaders, p.Signature
		if a.scope, err = parseCredential(p.Credential); err != nil {
			return a, err
		}
		a.date = r.Header.Get("X-Amz-Date")
		if a.date == "" {
			a.date = r.Header.Get("Date")
		}
		if a.date == "" {
			return a, incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=%s", strings.TrimSpace(header))
		}
	case algorithm != "":
		if algorithm != Algorithm {
			return a, incomplete("X-Amz-Algorithm only supports '%s', not '%s'.", Algorithm, algorithm)
		}
		var missing []string
		for _, k := range []string{"X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date"} {
			if q.Get(k) == "" {
				missing = append(missing, "'"+k+"'")
			}
		}
		if len(missing) > 0 {
			return a, incomplete("AWS query-string parameters must include %s. Re-examine the query-string parameters.", strings.Join(missing, ", "))
		}
		var err error
		if a.scope, err = parseCredential(q.Get("X-Amz-Credential")); err != nil {
			return a, err
		}
		a.signed = strings.Split(q.Get("X-Amz-SignedHeaders"), ";")
		a.signature, a.date, a.presigned = q.Get("X-Amz-Signature"), q.Get("X-Amz-Date"), true
		if e := q.Get("X-Amz-Expires"); e != "" {
			n, err := strconv.ParseInt(e, 10, 64)
			if err != nil || n <= 0 || time.Duration(n)*time.Second > maxExpires {
				return a, incomplete("X-Amz-Expires must be a whole number of seconds between 1 and %d, not '%s'.", int64(maxExpires/time.Second), e)
			}
			a.expires = time.Duration(n) * time.Second
		}
	default:
		return a, &Error{Kind: KindMissing, Msg: msgMissing}
	}
	t, err := parseTime(a.date)
	if err != nil {
		return a, incomplete("Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", a.date)
	}
	a.t = t
	if day := a.date[:8]; a.scope.date != day {
		return a, incomplete("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.", a.scope.date, day, a.date)
	}
	if err := checkSignedHeaders(a.signed); err != nil {
		return a, err
	}
	return a, nil
}

// parseTime parses an ISO 8601 basic date-time (20060102T150405Z); Go's
// fixed-width layout elements make it strict.
func parseTime(s string) (time.Time, error) {
	if len(s) != len(timeFormat) {
		return time.Time{}, errors.New("sigv4: bad date length")
	}
	t, err := time.Parse(timeFormat, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("sigv4: bad date: %w", err)
	}
	return t, nil
}

// checkTime enforces the clock-skew window, with SES's messages
// (reference §1), and a presigned URL's X-Amz-Expires. A presigned URL
// with X-Amz-Expires is valid from MaxSkew before its time until it
// expires; one without is held to the skew window like a header.
func (v *Verifier) checkTime(a auth) error {
	skew := v.MaxSkew
	if skew <= 0 {
		skew = defaultSkew
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	n := now().UTC()
	mins := strconv.FormatFloat(skew.Minutes(), 'f', -1, 64)
	if a.t.After(n.Add(skew)) {
		return &Error{Kind: KindExpired, Msg: fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + %s min.)",
			a.date, n.Add(skew).Format(timeFormat), n.Format(timeFormat), mins)}
	}
	if a.presigned && a.expires > 0 {
		if n.After(a.t.Add(a.expires)) {
			return &Error{Kind: KindExpired, Msg: fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - %d sec.)",
				a.date, n.Add(-a.expires).Format(timeFormat), n.Format(timeFormat), int64(a.expires/time.Second))}
		}
		return nil
	}
	if a.t.Before(n.Add(-skew)) {
		return &Error{Kind: KindExpired, Msg: fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - %s min.)",
			a.date, n.Add(-skew).Format(timeFormat), n.Format(timeFormat), mins)}
	}
	return nil
}
