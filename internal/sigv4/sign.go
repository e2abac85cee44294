package sigv4

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Sign signs r in the header form of SigV4, for sesame's own clients: it
// sets X-Amz-Date (t, in UTC) and Authorization. body is the request's body,
// which r.Body must deliver; it is hashed, not read from r.
//
// Sign signs host (r.Host, else r.URL.Host), x-amz-date, content-type if
// present, content-length if r.ContentLength > 0, and any other x-amz-*
// header present — for the same request, the same headers aws-sdk-go-v2
// would sign, so the two produce the same Authorization.
// X-Amz-Content-Sha256 is neither required nor added.
func Sign(r *http.Request, body []byte, accessKeyID, secret, region, service string, t time.Time) error {
	if r == nil || r.URL == nil {
		return errors.New("sigv4: sign: no request URL")
	}
	for _, f := range []struct{ name, val string }{{"access key id", accessKeyID}, {"region", region}, {"service", service}} {
		if f.val == "" || strings.ContainsAny(f.val, "/, \t\r\n") {
			return fmt.Errorf("sigv4: sign: invalid %s %q", f.name, f.val)
		}
	}
	if secret == "" {
		return errors.New("sigv4: sign: empty secret access key")
	}
	if r.ContentLength > 0 && r.ContentLength != int64(len(body)) {
		return fmt.Errorf("sigv4: sign: body is %d bytes but the request's ContentLength is %d", len(body), r.ContentLength)
	}
	if r.Header == nil {
		r.Header = make(http.Header)
	}
	date := t.UTC().Format(timeFormat)
	r.Header.Set("X-Amz-Date", date)

	signed := []string{"host", "x-amz-date"}
	if r.ContentLength > 0 {
		signed = append(signed, "content-length")
	}
	if _, ok := r.Header["Content-Type"]; ok {
		signed = append(signed, "content-type")
	}
	for k := range r.Header {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-amz-") && lk != "x-amz-date" && !slices.Contains(signed, lk) {
			signed = append(signed, lk)
		}
	}
	slices.Sort(signed)

	s := scope{keyID: accessKeyID, date: date[:8], region: region, service: service}
	creq := canonicalPrefix(r, body, signed, false) + hashHex(body)
	sig := hmacSHA256(signingKey(secret, s), stringToSign(date, s, creq))
	r.Header.Set("Authorization", Authorization{
		Credential:    accessKeyID + "/" + s.String(),
		SignedHeaders: signed,
		Signature:     hex.EncodeToString(sig),
	}.String())
	return nil
}
