package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// timeFormat is X-Amz-Date's ISO 8601 basic format.
const timeFormat = "20060102T150405Z"

// unsignedPayload is the X-Amz-Content-Sha256 value that leaves the body
// out of the signature.
const unsignedPayload = "UNSIGNED-PAYLOAD"

// canonicalPrefix builds the canonical request up to, but not including,
// its last line (the payload hash), so that several payload hashes can be
// tried against one prefix:
//
//	Method \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n SignedHeaders \n
//
// presigned drops X-Amz-Signature from the query.
func canonicalPrefix(r *http.Request, body []byte, signed []string, presigned bool) string {
	path, query := requestTarget(r)
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(canonicalURI(path))
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(query, presigned))
	b.WriteByte('\n')
	for _, h := range signed {
		b.WriteString(h)
		b.WriteByte(':')
		b.WriteString(headerValue(r, body, h))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	for i, h := range signed {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(h)
	}
	b.WriteByte('\n')
	return b.String()
}

// requestTarget returns the path and raw query exactly as the client sent
// them: from the request line (r.RequestURI) on a server, from r.URL on a
// client.
func requestTarget(r *http.Request) (path, query string) {
	if uri := r.RequestURI; uri != "" {
		path, query, _ = strings.Cut(uri, "?")
		if path != "" && path[0] != '/' {
			// Absolute form ("http://host/path") or something stranger
			// ("*", authority form): keep what follows the authority.
			path = afterAuthority(path)
		}
		return path, query
	}
	if r.URL == nil {
		return "", ""
	}
	if op := r.URL.Opaque; op != "" {
		// Go's client sends Opaque as the request path.
		if op[0] == '/' && !strings.HasPrefix(op, "//") {
			return op, r.URL.RawQuery
		}
		return afterAuthority(op), r.URL.RawQuery
	}
	return r.URL.EscapedPath(), r.URL.RawQuery
}

// afterAuthority strips "scheme://authority" or "//authority" from the start
// of s, returning the path that follows ("" if none).
func afterAuthority(s string) string {
	if i := strings.Index(s, "//"); i >= 0 {
		s = s[i+2:]
		if j := strings.IndexByte(s, '/'); j >= 0 {
			return s[j:]
		}
	}
	return ""
}

// canonicalURI is the path as sent, encoded once more; the empty path is /.
// Services other than S3 double-encode this way ("Create a canonical
// request", IAM User Guide).
func canonicalURI(path string) string {
	if path == "" {
		return "/"
	}
	return uriEncode(path, false)
}

// canonicalQuery decodes every key and value of the raw query, re-encodes
// them with uriEncode and sorts by key, then value. Pairs that do not decode
// are encoded as they stand.
func canonicalQuery(raw string, presigned bool) string {
	if raw == "" {
		return ""
	}
	type pair struct{ k, v string }
	pairs := make([]pair, 0, strings.Count(raw, "&")+1)
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		k, v = queryUnescape(k), queryUnescape(v)
		if presigned && k == "X-Amz-Signature" {
			continue
		}
		pairs = append(pairs, pair{uriEncode(k, true), uriEncode(v, true)})
	}
	slices.SortFunc(pairs, func(a, b pair) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	var b strings.Builder
	b.Grow(len(raw) + len(raw)/4)
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

// queryUnescape decodes s as a form value ('+' is a space), or returns it
// unchanged if it is not validly encoded.
func queryUnescape(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	d, err := url.QueryUnescape(s)
	if err != nil {
		return s
	}
	return d
}

// uriEncode is AWS's UriEncode: every byte but the unreserved A-Z a-z 0-9
// - _ . ~ becomes %XX with upper-case hex; '/' is kept unless encodeSlash.
func uriEncode(s string, encodeSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i], encodeSlash) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c, encodeSlash) {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hexDigits[c>>4], hexDigits[c&15])
	}
	return string(b)
}

func unreserved(c byte, encodeSlash bool) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~' || c == '/' && !encodeSlash
}

// headerValue is the canonical value of the header name (lowercase): each
// value trimmed, inner runs of spaces collapsed to one, several values
// joined by ','. Go's server keeps some headers out of r.Header: Host is
// r.Host, Transfer-Encoding is r.TransferEncoding, and Content-Length, when
// not in r.Header, is r.ContentLength (or, for an unknown length, the
// body's).
func headerValue(r *http.Request, body []byte, name string) string {
	var vals []string
	switch name {
	case "host":
		h := r.Host
		if h == "" && r.URL != nil {
			h = r.URL.Host
		}
		return trimValue(h)
	case "content-length":
		vals = r.Header.Values("Content-Length")
		if len(vals) == 0 {
			n := r.ContentLength
			if n < 0 {
				n = int64(len(body))
			}
			return strconv.FormatInt(n, 10)
		}
	case "transfer-encoding":
		vals = r.Header.Values("Transfer-Encoding")
		if len(vals) == 0 {
			vals = r.TransferEncoding
		}
	default:
		vals = r.Header.Values(name)
	}
	switch len(vals) {
	case 0:
		return ""
	case 1:
		return trimValue(vals[0])
	}
	var b strings.Builder
	for i, v := range vals {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(trimValue(v))
	}
	return b.String()
}

// trimValue trims v and collapses inner runs of spaces to one space.
func trimValue(v string) string {
	v = strings.TrimSpace(v)
	if !strings.Contains(v, "  ") {
		return v
	}
	b := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		if v[i] == ' ' && i > 0 && v[i-1] == ' ' {
			continue
		}
		b = append(b, v[i])
	}
	return string(b)
}

// hashHex is the lowercase hex SHA-256 of b.
func hashHex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// signingKey derives the SigV4 signing key: HMAC-SHA256 chained over the
// scope's date, region, service and "aws4_request", keyed first with
// "AWS4"+secret.
func signingKey(secret string, s scope) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), s.date)
	k = hmacSHA256(k, s.region)
	k = hmacSHA256(k, s.service)
	return hmacSHA256(k, terminator)
}

// stringToSign is Algorithm \n RequestDateTime \n CredentialScope \n
// hex(SHA-256(CanonicalRequest)).
func stringToSign(date string, s scope, canonicalRequest string) string {
	return Algorithm + "\n" + date + "\n" + s.String() + "\n" + hashHex([]byte(canonicalRequest))
}
