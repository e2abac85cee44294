package identity

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/net/idna"
)

// ErrInvalidName marks an identity name that is neither a valid domain nor
// a valid address.
var ErrInvalidName = errors.New("identity: invalid name")

// idnaProfile converts internationalized names to their ASCII (punycode)
// form with the lookup rules of UTS #46 (RFC 5891 §5).
var idnaProfile = idna.New(idna.MapForLookup(), idna.Transitional(false), idna.StrictDomainName(true), idna.BidiRule())

// NormalizeDomain returns d lowercased, in punycode, without a trailing dot,
// or an error saying why d is not a domain name sesame can verify
// (RFC 1035 §2.3.4 lengths, RFC 5890 labels; at least two labels).
func NormalizeDomain(d string) (string, error) {
	orig := d
	d = strings.TrimSuffix(strings.TrimSpace(d), ".")
	if d == "" {
		return "", fmt.Errorf("%w: empty domain", ErrInvalidName)
	}
	a, err := idnaProfile.ToASCII(d)
	if err != nil {
		return "", fmt.Errorf("%w: %q is not a valid domain name: %v", ErrInvalidName, orig, err)
	}
	a = strings.ToLower(a)
	if len(a) > 253 {
		return "", fmt.Errorf("%w: %q is longer than 253 characters", ErrInvalidName, orig)
	}
	labels := strings.Split(a, ".")
	if len(labels) < 2 {
		return "", fmt.Errorf("%w: %q needs at least two labels", ErrInvalidName, orig)
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return "", fmt.Errorf("%w: %q has an empty or over-long label", ErrInvalidName, orig)
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return "", fmt.Errorf("%w: %q has a label starting or ending with '-'", ErrInvalidName, orig)
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return "", fmt.Errorf("%w: %q contains %q", ErrInvalidName, orig, c)
			}
		}
	}
	if tld := labels[len(labels)-1]; tld[0] >= '0' && tld[0] <= '9' {
		return "", fmt.Errorf("%w: %q ends in a numeric label (an IP address is not a domain)", ErrInvalidName, orig)
	}
	return a, nil
}

// NormalizeAddress returns a bare address local@domain with the domain
// normalized as NormalizeDomain does and the local part kept as given
// (RFC 5321 §2.4: local parts may be case-sensitive). Display names, angle
// brackets, comments, quoted local parts and control characters are refused:
// an identity is an address, not a header value.
func NormalizeAddress(addr string) (string, error) {
	orig := addr
	addr = strings.TrimSpace(addr)
	if strings.ContainsAny(addr, "<>()\",;:\\[] \t\r\n") {
		return "", fmt.Errorf("%w: %q is not a bare email address", ErrInvalidName, orig)
	}
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 {
		return "", fmt.Errorf("%w: %q is not an email address", ErrInvalidName, orig)
	}
	local, domain := addr[:at], addr[at+1:]
	if len(local) > 64 {
		return "", fmt.Errorf("%w: local part of %q is longer than 64 octets", ErrInvalidName, orig)
	}
	if strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, "..") || strings.Contains(local, "@") {
		return "", fmt.Errorf("%w: %q has a malformed local part", ErrInvalidName, orig)
	}
	for _, r := range local {
		if r < 0x21 || r == 0x7f {
			return "", fmt.Errorf("%w: %q has a control character", ErrInvalidName, orig)
		}
	}
	d, err := NormalizeDomain(domain)
	if err != nil {
		return "", err
	}
	return local + "@" + d, nil
}

// ParentDomains returns d and each parent with at least two labels, nearest
// first: a.b.example.com → a.b.example.com, b.example.com, example.com.
// A domain identity also covers its subdomains (reference §9).
func ParentDomains(d string) []string {
	var out []string
	for {
		out = append(out, d)
		i := strings.IndexByte(d, '.')
		if i < 0 || !strings.Contains(d[i+1:], ".") {
			return out
		}
		d = d[i+1:]
	}
}
