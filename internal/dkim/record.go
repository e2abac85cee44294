package dkim

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// TXTRecord renders the DNS TXT value that publishes a public key at
// <selector>._domainkey.<domain>.
//
// RSA keys are published as SES does, "p=<base64 SubjectPublicKeyInfo
// DER>" alone: v= is optional and k= defaults to rsa (RFC 6376 §3.6.1).
// Ed25519 keys are "v=DKIM1; k=ed25519; p=<base64 of the raw 32-byte
// key>" (RFC 8463 §4.2). pub may also be a private key or crypto.Signer,
// whose public half is then rendered.
func TXTRecord(pub crypto.PublicKey) (string, error) {
	if s, ok := pub.(crypto.Signer); ok {
		pub = s.Public()
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k == nil || k.N == nil {
			return "", errors.New("dkim: TXT record of a nil RSA key")
		}
		der, err := x509.MarshalPKIXPublicKey(k)
		if err != nil {
			return "", fmt.Errorf("dkim: TXT record: %w", err)
		}
		return "p=" + base64.StdEncoding.EncodeToString(der), nil
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return "", fmt.Errorf("dkim: TXT record: Ed25519 key of %d bytes", len(k))
		}
		return "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(k), nil
	}
	return "", fmt.Errorf("dkim: TXT record: unsupported public key type %T", pub)
}

// Record is a parsed DKIM key record (RFC 6376 §3.6.1).
type Record struct {
	// Version is the v= tag: "DKIM1", or "" when the record has none.
	Version string
	// KeyType is the k= tag: "rsa" (the default) or "ed25519" (RFC 8463
	// §4.2).
	KeyType string
	// PublicKey is a *rsa.PublicKey or an ed25519.PublicKey; nil when the
	// key is revoked.
	PublicKey crypto.PublicKey
	// Revoked is set for an empty p= tag: "An empty value means that this
	// public key has been revoked" (RFC 6376 §3.6.1).
	Revoked bool
	// HashAlgos is the h= tag (acceptable hash algorithms); nil = all.
	HashAlgos []string
	// ServiceTypes is the s= tag ("email" or "*"); nil = all.
	ServiceTypes []string
	// Flags is the t= tag: "y" (testing), "s" (no subdomains in i=).
	Flags []string
	// Notes is the n= tag, as written.
	Notes string
}

// tag is one tag-spec of a tag-list (RFC 6376 §3.2).
type tag struct{ name, value string }

// parseTagList splits a tag-list (RFC 6376 §3.2) into tags. Tag names must
// be ALPHA *(ALPHA / DIGIT / "_"); values are trimmed of surrounding
// whitespace. Empty tag-specs (";;" or a final ";") are skipped. A tag name
// used twice makes the whole list invalid (RFC 6376 §3.2: "if a tag name
// does occur more than once, the entire tag-list is invalid").
func parseTagList(s string) ([]tag, error) {
	var tags []tag
	for part := range strings.SplitSeq(s, ";") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		name, value, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("tag-spec %q has no \"=\"", strings.TrimSpace(part))
		}
		name = strings.TrimSpace(name)
		if !validTagName(name) {
			return nil, fmt.Errorf("malformed tag name %q", name)
		}
		for _, t := range tags {
			if t.name == name {
				return nil, fmt.Errorf("tag %q appears twice", name)
			}
		}
		tags = append(tags, tag{name, strings.TrimSpace(value)})
	}
	return tags, nil
}

// validTagName checks tag-name = ALPHA *ALNUMPUNC (RFC 6376 §3.2).
func validTagName(s string) bool {
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isAlpha(c) && !(c >= '0' && c <= '9') && c != '_' {
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// removeFWS drops all whitespace, which RFC 6376 §3.2 allows between the
// characters of tag values such as p= (base64string, §2.4) and tag lists.
func removeFWS(s string) string {
	if !strings.ContainsAny(s, " \t\r\n") {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, s)
}

// colonList splits a colon-separated tag value such as h=, s= or t=.
func colonList(v string) []string {
	parts := strings.Split(removeFWS(v), ":")
	return parts
}

// ParseTXT parses a DKIM key record (RFC 6376 §3.6.1): the value of one
// TXT record, its character-strings already concatenated (RFC 6376
// §3.6.2.2).
//
//   - Unknown tags are ignored (RFC 6376 §3.2: "Unrecognized tags MUST be
//     ignored").
//   - v=, when present, must be the first tag and be "DKIM1" (RFC 6376
//     §3.6.1).
//   - p= is required; an empty p= means the key is revoked (RFC 6376
//     §3.6.1), which gives a Record with Revoked set and no error.
//   - k= rsa (the default) takes a SubjectPublicKeyInfo or, as RFC 6376
//     §3.6.1 literally says, an RSAPublicKey (erratum 3017); k=ed25519 takes
//     the raw 32-byte key (RFC 8463 §4.2). Any other k= is an error, since
//     a verifier cannot use the key (RFC 6376 §6.1.2).
func ParseTXT(txt string) (*Record, error) {
	tags, err := parseTagList(txt)
	if err != nil {
		return nil, fmt.Errorf("dkim: key record: %w", err)
	}
	rec := &Record{KeyType: "rsa"}
	var p string
	hasP := false
	for i, t := range tags {
		switch t.name {
		case "v":
			// RFC 6376 §3.6.1: v= "MUST be the first tag in the record"
			// and, if specified, "MUST be set to DKIM1".
			if i != 0 {
				return nil, errors.New("dkim: key record: v= must be the first tag")
			}
			if t.value != "DKIM1" {
				return nil, fmt.Errorf("dkim: key record: version v=%s, want DKIM1", t.value)
			}
			rec.Version = t.value
		case "k":
			rec.KeyType = removeFWS(t.value)
		case "p":
			p, hasP = removeFWS(t.value), true
		case "h":
			rec.HashAlgos = colonList(t.value)
		case "s":
			rec.ServiceTypes = colonList(t.value)
		case "t":
			rec.Flags = colonList(t.value)
		case "n":
			rec.Notes = t.value
		}
	}
	if !hasP {
		return nil, errors.New("dkim: key record has no p= tag")
	}
	if rec.KeyType != "rsa" && rec.KeyType != "ed25519" {
		return nil, fmt.Errorf("dkim: key record: unknown key type k=%s", rec.KeyType)
	}
	if p == "" {
		rec.Revoked = true // RFC 6376 §3.6.1
		return rec, nil
	}
	raw, err := base64.StdEncoding.DecodeString(p)
	if err != nil {
		return nil, fmt.Errorf("dkim: key record: p= is not base64: %w", err)
	}
	switch rec.KeyType {
	case "rsa":
		pub, errSPKI := x509.ParsePKIXPublicKey(raw)
		if errSPKI != nil {
			pk, errPKCS1 := x509.ParsePKCS1PublicKey(raw)
			if errPKCS1 != nil {
				return nil, fmt.Errorf("dkim: key record: p= is not an RSA public key: %w", errSPKI)
			}
			pub = pk
		}
		rk, ok := pub.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("dkim: key record: k=rsa but p= holds a %T", pub)
		}
		rec.PublicKey = rk
	case "ed25519":
		// RFC 8463 §4.2: the raw public key, not wrapped in ASN.1.
		if len(raw) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("dkim: key record: Ed25519 key is %d bytes, want %d", len(raw), ed25519.PublicKeySize)
		}
		rec.PublicKey = ed25519.PublicKey(raw)
	}
	return rec, nil
}

// SplitTXT splits a TXT value into character-strings of at most 255
// octets, the DNS limit (RFC 1035 §3.3.14); a key record longer than that
// is published as several strings of one TXT record, which verifiers
// concatenate (RFC 6376 §3.6.2.2). It returns at least one string.
func SplitTXT(s string) []string {
	out := make([]string, 0, len(s)/255+1)
	for len(s) > 255 {
		out, s = append(out, s[:255]), s[255:]
	}
	return append(out, s)
}
