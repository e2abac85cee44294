// Package dkim is sesame's DKIM toolkit (RFC 6376, RFC 8463): key
// generation, Easy DKIM tokens, the DNS TXT form of public keys, signing
// with relaxed/relaxed canonicalization, and verification. Signing and
// verifying are done by go-msgauth's dkim package; this package fixes the
// choices SES makes and adds what go-msgauth leaves out (key records,
// BYODKIM key parsing, tokens).
package dkim

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base32"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	msgdkim "github.com/emersion/go-msgauth/dkim"
)

// GenerateRSAKey makes an RSA key of 1024 or 2048 bits, the two sizes SES
// offers for Easy DKIM.
func GenerateRSAKey(bits int) (*rsa.PrivateKey, error) {
	if bits != 1024 && bits != 2048 {
		return nil, fmt.Errorf("dkim: RSA key size %d: want 1024 or 2048", bits)
	}
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, fmt.Errorf("dkim: generate key: %w", err)
	}
	k.Precompute()
	return k, nil
}

// GenerateEd25519Key makes an Ed25519 key (RFC 8463).
func GenerateEd25519Key() (ed25519.PrivateKey, error) {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("dkim: generate key: %w", err)
	}
	return k, nil
}

// tokenEncoding is lowercase base32 without padding: [a-z2-7].
var tokenEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewToken returns an Easy DKIM token: 32 characters of [a-z2-7]
// (reference §9), 160 random bits.
func NewToken() (string, error) {
	var b [20]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("dkim: token: %w", err)
	}
	return tokenEncoding.EncodeToString(b[:]), nil
}

// MarshalPrivateKey encodes an RSA or Ed25519 private key as PKCS#8 DER.
func MarshalPrivateKey(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("dkim: marshal key: %w", err)
	}
	return der, nil
}

// ParsePrivateKey decodes PKCS#8 DER (or PKCS#1 for RSA).
func ParsePrivateKey(der []byte) (crypto.Signer, error) {
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		k.Precompute()
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("dkim: parse key: %w", err)
	}
	switch k := k.(type) {
	case *rsa.PrivateKey:
		k.Precompute()
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	}
	return nil, fmt.Errorf("dkim: unsupported key type %T", k)
}

// MaxBYODKIMKeyLen is SES's limit on DomainSigningPrivateKey (reference §2.1).
const MaxBYODKIMKeyLen = 20480

// ParseBYODKIMKey parses SES's BYODKIM DomainSigningPrivateKey: base64 of a
// DER RSA key (PKCS#1 or PKCS#8) without PEM armour, 1024 to 2048 bits.
// Whitespace and a pasted PEM block are tolerated.
func ParseBYODKIMKey(s string) (*rsa.PrivateKey, error) {
	if len(s) > MaxBYODKIMKeyLen {
		return nil, fmt.Errorf("dkim: private key is %d characters; at most %d", len(s), MaxBYODKIMKeyLen)
	}
	var der []byte
	if blk, _ := pem.Decode([]byte(strings.TrimSpace(s))); blk != nil {
		der = blk.Bytes
	} else {
		clean := strings.Join(strings.Fields(s), "")
		if clean == "" {
			return nil, errors.New("dkim: private key is empty")
		}
		var err error
		if der, err = base64.StdEncoding.DecodeString(clean); err != nil {
			return nil, errors.New("dkim: private key is not base64")
		}
	}
	var k any
	k, err := x509.ParsePKCS1PrivateKey(der)
	if err != nil {
		if k, err = x509.ParsePKCS8PrivateKey(der); err != nil {
			return nil, errors.New("dkim: private key is not a PKCS#1 or PKCS#8 DER key")
		}
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("dkim: private key is a %T; BYODKIM takes RSA keys", k)
	}
	rk.Precompute()
	if n := rk.N.BitLen(); n < 1024 || n > 2048 {
		return nil, fmt.Errorf("dkim: RSA key has %d bits; BYODKIM takes 1024 to 2048", n)
	}
	if err := rk.Validate(); err != nil {
		return nil, fmt.Errorf("dkim: RSA key is invalid: %w", err)
	}
	return rk, nil
}

var selectorRE = regexp.MustCompile(`^(([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9\-]*[a-zA-Z0-9]))$`)

// ValidSelector reports whether s is a valid BYODKIM selector (reference
// §2.1: 1–63 characters, letters, digits and inner hyphens).
func ValidSelector(s string) bool { return len(s) >= 1 && len(s) <= 63 && selectorRE.MatchString(s) }

// KeyLength names a key's size the way SES does (RSA_2048_BIT), or ED25519.
func KeyLength(pub crypto.PublicKey) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA_%d_BIT", k.N.BitLen())
	case ed25519.PublicKey:
		return "ED25519"
	}
	return ""
}

// TXTRecord renders the DNS TXT value of a public key. RSA keys are
// published as "p=<SubjectPublicKeyInfo>" as SES does (v= and k=rsa are
// the defaults, RFC 6376 §3.6.1); Ed25519 keys need k=ed25519 and carry
// the raw 32-byte key (RFC 8463 §4.2).
func TXTRecord(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(k)
		if err != nil {
			return "", fmt.Errorf("dkim: %w", err)
		}
		return "p=" + base64.StdEncoding.EncodeToString(der), nil
	case ed25519.PublicKey:
		return "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(k), nil
	}
	return "", fmt.Errorf("dkim: unsupported public key %T", pub)
}

// Record is a parsed DKIM key record (RFC 6376 §3.6.1).
type Record struct {
	Version      string
	KeyType      string // "rsa" (default) or "ed25519"
	PublicKey    crypto.PublicKey
	Revoked      bool // empty p= (RFC 6376 §3.6.1)
	HashAlgos    []string
	ServiceTypes []string
	Flags        []string
	Notes        string
}

// ParseTXT parses a key record (the strings of one TXT record joined).
// Unknown tags are ignored (RFC 6376 §3.6.1); v=, when present, must be
// the first tag and be "DKIM1".
func ParseTXT(txt string) (*Record, error) {
	rec := &Record{KeyType: "rsa"}
	var p *string
	seen := map[string]bool{}
	for i, part := range strings.Split(txt, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("dkim: key record tag %q has no value", part)
		}
		k, v = strings.TrimSpace(k), strings.Join(strings.Fields(v), "")
		if seen[k] {
			return nil, fmt.Errorf("dkim: key record repeats tag %q", k)
		}
		seen[k] = true
		switch k {
		case "v":
			if i != 0 || v != "DKIM1" {
				return nil, errors.New("dkim: v= must come first and be DKIM1")
			}
			rec.Version = v
		case "k":
			rec.KeyType = v
		case "p":
			p = &v
		case "h":
			rec.HashAlgos = strings.Split(v, ":")
		case "s":
			rec.ServiceTypes = strings.Split(v, ":")
		case "t":
			rec.Flags = strings.Split(v, ":")
		case "n":
			rec.Notes = v
		}
	}
	if p == nil {
		return nil, errors.New("dkim: key record has no p= tag")
	}
	if *p == "" {
		rec.Revoked = true
		return rec, nil
	}
	raw, err := base64.StdEncoding.DecodeString(*p)
	if err != nil {
		return nil, errors.New("dkim: p= is not base64")
	}
	switch rec.KeyType {
	case "rsa":
		pub, err := x509.ParsePKIXPublicKey(raw)
		if err != nil {
			pk, err2 := x509.ParsePKCS1PublicKey(raw)
			if err2 != nil {
				return nil, fmt.Errorf("dkim: p= is not an RSA public key: %w", err)
			}
			pub = pk
		}
		rk, ok := pub.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("dkim: p= holds a %T, not an RSA key", pub)
		}
		rec.PublicKey = rk
	case "ed25519":
		if len(raw) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("dkim: ed25519 key is %d bytes, want %d", len(raw), ed25519.PublicKeySize)
		}
		rec.PublicKey = ed25519.PublicKey(raw)
	default:
		return nil, fmt.Errorf("dkim: unknown key type k=%s", rec.KeyType)
	}
	return rec, nil
}

// SplitTXT splits a TXT value into character-strings of at most 255
// octets, the DNS limit (RFC 1035 §3.3.14, RFC 6376 §3.6.2.2).
func SplitTXT(s string) []string {
	var out []string
	for len(s) > 255 {
		out, s = append(out, s[:255]), s[255:]
	}
	return append(out, s)
}

// DefaultHeaders returns the header fields signed by default: those RFC
// 6376 §5.4.1 recommends. "From" appears twice so that it is over-signed:
// a second From added in transit breaks the signature (RFC 6376 §8.15).
func DefaultHeaders() []string {
	return []string{
		"From", "From", "Reply-To", "Subject", "Date", "To", "Cc",
		"Resent-Date", "Resent-From", "Resent-To", "Resent-Cc",
		"In-Reply-To", "References", "Message-ID", "MIME-Version",
		"Content-Type", "Content-Transfer-Encoding",
		"List-Id", "List-Help", "List-Unsubscribe", "List-Unsubscribe-Post",
		"List-Subscribe", "List-Post", "List-Owner", "List-Archive",
		"Feedback-ID",
	}
}

// SignerOptions configures a Signer.
type SignerOptions struct {
	Domain     string        // d=
	Selector   string        // s=
	Key        crypto.Signer // *rsa.PrivateKey or ed25519.PrivateKey
	Headers    []string      // nil = DefaultHeaders()
	Identity   string        // optional i=
	Expiration time.Duration // optional x=, from the signing time
}

// Signer signs messages for one domain and selector.
type Signer struct {
	opts SignerOptions
}

// NewSigner checks opts and returns a Signer.
func NewSigner(opts SignerOptions) (*Signer, error) {
	if opts.Domain == "" || opts.Selector == "" || opts.Key == nil {
		return nil, errors.New("dkim: a signer needs a domain, a selector and a key")
	}
	switch k := opts.Key.(type) {
	case *rsa.PrivateKey:
		k.Precompute()
	case ed25519.PrivateKey:
	default:
		return nil, fmt.Errorf("dkim: unsupported key %T", opts.Key)
	}
	if opts.Headers == nil {
		opts.Headers = DefaultHeaders()
	}
	return &Signer{opts: opts}, nil
}

// Sign returns the DKIM-Signature header field for msg (name, folded
// value, final CRLF), with relaxed/relaxed canonicalization (RFC 6376
// §3.4.2, §3.4.4) and rsa-sha256 or ed25519-sha256. The caller prepends
// it to msg, a complete message with CRLF line endings.
func (s *Signer) Sign(msg []byte) (string, error) {
	o := &msgdkim.SignOptions{
		Domain: s.opts.Domain, Selector: s.opts.Selector, Identifier: s.opts.Identity,
		Signer: s.opts.Key, Hash: crypto.SHA256,
		HeaderCanonicalization: msgdkim.CanonicalizationRelaxed,
		BodyCanonicalization:   msgdkim.CanonicalizationRelaxed,
		HeaderKeys:             s.opts.Headers,
	}
	if s.opts.Expiration > 0 {
		o.Expiration = time.Now().Add(s.opts.Expiration)
	}
	w, err := msgdkim.NewSigner(o)
	if err != nil {
		return "", fmt.Errorf("dkim: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		w.Close()
		return "", fmt.Errorf("dkim: sign: %w", err)
	}
	if err := w.Close(); err != nil {
		return "", fmt.Errorf("dkim: sign: %w", err)
	}
	return w.Signature(), nil
}

// Verification is the outcome for one DKIM-Signature.
type Verification struct {
	Domain string
	// Err is nil when the signature verifies.
	Err error
	// Temporary is true for a temperror (the key could not be fetched now),
	// false for a permerror or a bad signature (RFC 6376 §6.1).
	Temporary bool
}

// TXTLookup resolves the TXT records of a name.
type TXTLookup func(ctx context.Context, name string) ([]string, error)

// MaxSignatures bounds how many signatures Verify checks, so a message
// stuffed with signatures cannot make it query DNS without end.
const MaxSignatures = 10

// Verify checks the DKIM-Signatures of msg, fetching keys through lookup.
func Verify(ctx context.Context, msg []byte, lookup TXTLookup) ([]Verification, error) {
	vs, err := msgdkim.VerifyWithOptions(bytes.NewReader(msg), &msgdkim.VerifyOptions{
		LookupTXT:        func(name string) ([]string, error) { return lookup(ctx, name) },
		MaxVerifications: MaxSignatures,
	})
	if err != nil && !errors.Is(err, msgdkim.ErrTooManySignatures) {
		return nil, fmt.Errorf("dkim: verify: %w", err)
	}
	out := make([]Verification, len(vs))
	for i, v := range vs {
		out[i] = Verification{Domain: v.Domain, Err: v.Err, Temporary: v.Err != nil && msgdkim.IsTempFail(v.Err)}
	}
	return out, nil
}
