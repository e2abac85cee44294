// Package dkim is sesame's DKIM toolkit (RFC 6376, with Ed25519 from
// RFC 8463 and the crypto updates of RFC 8301): key generation, Easy DKIM
// tokens, SES's BYODKIM key format, the DNS TXT form of public keys,
// signing with relaxed/relaxed canonicalization, and verification.
//
// Signing and verifying are done by go-msgauth's dkim package; this package
// fixes the choices SES makes (relaxed/relaxed, rsa-sha256, a "p=" only key
// record), picks the header fields to sign per message, maps key-lookup
// failures to temperror or permerror, and adds what go-msgauth leaves out
// (key records, BYODKIM key parsing, tokens, selector rules).
//
// Nothing here keeps state between calls; a Signer is immutable and safe
// for concurrent use.
package dkim

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base32"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// GenerateRSAKey makes an RSA key of 1024 or 2048 bits, the two sizes SES
// offers for Easy DKIM (DkimSigningKeyLength RSA_1024_BIT, RSA_2048_BIT).
// Any other size is an error. The key comes back precomputed.
func GenerateRSAKey(bits int) (*rsa.PrivateKey, error) {
	if bits != 1024 && bits != 2048 {
		return nil, fmt.Errorf("dkim: RSA key size %d: want 1024 or 2048", bits)
	}
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, fmt.Errorf("dkim: generate %d-bit RSA key: %w", bits, err)
	}
	k.Precompute()
	return k, nil
}

// GenerateEd25519Key makes an Ed25519 key for ed25519-sha256 signatures
// (RFC 8463 §3).
func GenerateEd25519Key() (ed25519.PrivateKey, error) {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("dkim: generate Ed25519 key: %w", err)
	}
	return k, nil
}

// tokenAlphabet is the lowercase base32 alphabet of Easy DKIM tokens.
const tokenAlphabet = "abcdefghijklmnopqrstuvwxyz234567"

// NewToken returns an Easy DKIM token: 32 characters of [a-z2-7], the
// lowercase base32 encoding of 160 bits from crypto/rand. SES uses the
// token as the selector (s=) and publishes the key at <token>.dkim.<D>.
func NewToken() (string, error) {
	var b [20]byte // 160 bits = 32 base32 characters, no padding
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("dkim: token: %w", err)
	}
	return base32.NewEncoding(tokenAlphabet).WithPadding(base32.NoPadding).EncodeToString(b[:]), nil
}

// MarshalPrivateKey encodes an RSA or Ed25519 private key as PKCS#8 DER.
func MarshalPrivateKey(key crypto.Signer) ([]byte, error) {
	switch key.(type) {
	case *rsa.PrivateKey, ed25519.PrivateKey:
	default:
		return nil, fmt.Errorf("dkim: marshal key: unsupported key type %T", key)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("dkim: marshal key: %w", err)
	}
	return der, nil
}

// ParsePrivateKey decodes a PKCS#8 DER private key (RSA or Ed25519) or a
// PKCS#1 DER RSA key. RSA keys come back precomputed.
func ParsePrivateKey(der []byte) (crypto.Signer, error) {
	k, err8 := x509.ParsePKCS8PrivateKey(der)
	if err8 != nil {
		rk, err1 := x509.ParsePKCS1PrivateKey(der)
		if err1 != nil {
			return nil, fmt.Errorf("dkim: parse key: neither PKCS#8 (%w) nor PKCS#1 (%w)", err8, err1)
		}
		rk.Precompute()
		return rk, nil
	}
	switch k := k.(type) {
	case *rsa.PrivateKey:
		k.Precompute()
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	}
	return nil, fmt.Errorf("dkim: parse key: unsupported key type %T", k)
}

// MaxBYODKIMKeyLen is SES's limit on the length of DomainSigningPrivateKey.
const MaxBYODKIMKeyLen = 20480

// ParseBYODKIMKey parses SES's BYODKIM DomainSigningPrivateKey: the base64
// of a DER RSA private key (PKCS#1 or PKCS#8) without PEM armour, at most
// MaxBYODKIMKeyLen characters, 1024 to 2048 bits. Whitespace and line
// breaks inside the base64 are tolerated, and so is a whole PEM block
// pasted by mistake. Errors say what is wrong with the input.
func ParseBYODKIMKey(s string) (*rsa.PrivateKey, error) {
	if len(s) > MaxBYODKIMKeyLen {
		return nil, fmt.Errorf("dkim: private key is %d characters long; SES accepts at most %d", len(s), MaxBYODKIMKeyLen)
	}
	der, err := byodkimDER(s)
	if err != nil {
		return nil, err
	}
	k, err := parseRSAPrivateDER(der)
	if err != nil {
		return nil, err
	}
	if n := k.N.BitLen(); n < 1024 || n > 2048 {
		return nil, fmt.Errorf("dkim: RSA private key has %d bits; BYODKIM takes 1024 to 2048 bits", n)
	}
	k.Precompute()
	if err := k.Validate(); err != nil {
		return nil, fmt.Errorf("dkim: RSA private key is inconsistent: %w", err)
	}
	return k, nil
}

// byodkimDER turns the DomainSigningPrivateKey text into DER bytes.
func byodkimDER(s string) ([]byte, error) {
	trimmed := strings.TrimSpace(s)
	if trimmed == "" {
		return nil, errors.New("dkim: private key is empty")
	}
	if strings.HasPrefix(trimmed, "-----BEGIN") {
		blk, _ := pem.Decode([]byte(trimmed))
		if blk == nil {
			return nil, errors.New("dkim: private key looks like PEM but its armour or base64 is malformed; send the base64 of the DER key without the -----BEGIN/END----- lines")
		}
		switch blk.Type {
		case "RSA PRIVATE KEY", "PRIVATE KEY":
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("dkim: private key is encrypted; send it unencrypted")
		case "PUBLIC KEY", "RSA PUBLIC KEY":
			return nil, errors.New("dkim: that is a public key; BYODKIM needs the private key")
		case "EC PRIVATE KEY":
			return nil, errors.New("dkim: private key is an EC key; BYODKIM takes RSA keys")
		default:
			return nil, fmt.Errorf("dkim: PEM block %q is not a private key", blk.Type)
		}
		if _, encrypted := blk.Headers["DEK-Info"]; encrypted {
			return nil, errors.New("dkim: private key is encrypted; send it unencrypted")
		}
		return blk.Bytes, nil
	}
	clean := strings.Join(strings.Fields(trimmed), "")
	der, err := base64.StdEncoding.DecodeString(clean)
	if err != nil {
		// Tolerate missing padding, but report the original problem.
		if d2, err2 := base64.RawStdEncoding.DecodeString(clean); err2 == nil {
			return d2, nil
		}
		return nil, fmt.Errorf("dkim: private key is not valid base64: %w", err)
	}
	return der, nil
}

// parseRSAPrivateDER reads a PKCS#1 or PKCS#8 RSA private key, naming the
// kind of key it got instead when that is not an RSA private key.
func parseRSAPrivateDER(der []byte) (*rsa.PrivateKey, error) {
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	k, err8 := x509.ParsePKCS8PrivateKey(der)
	if err8 == nil {
		switch k := k.(type) {
		case *rsa.PrivateKey:
			return k, nil
		case *ecdsa.PrivateKey:
			return nil, errors.New("dkim: private key is an ECDSA key; BYODKIM takes RSA keys")
		case ed25519.PrivateKey:
			return nil, errors.New("dkim: private key is an Ed25519 key; BYODKIM takes RSA keys")
		default:
			return nil, fmt.Errorf("dkim: private key is a %T; BYODKIM takes RSA keys", k)
		}
	}
	if _, err := x509.ParseECPrivateKey(der); err == nil {
		return nil, errors.New("dkim: private key is an EC key; BYODKIM takes RSA keys")
	}
	if _, err := x509.ParsePKIXPublicKey(der); err == nil {
		return nil, errors.New("dkim: that is a public key; BYODKIM needs the private key")
	}
	if _, err := x509.ParsePKCS1PublicKey(der); err == nil {
		return nil, errors.New("dkim: that is a public key; BYODKIM needs the private key")
	}
	return nil, fmt.Errorf("dkim: private key is base64 but not a PKCS#1 or PKCS#8 DER RSA key: %w", err8)
}

// ValidSelector reports whether s is a valid BYODKIM selector as SES
// defines it: 1 to 63 characters matching
// ^(([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9\-]*[a-zA-Z0-9]))$, that is one DNS
// label of letters, digits and inner hyphens (a sub-domain of RFC 6376
// §3.1 without dots).
func ValidSelector(s string) bool {
	return validLabel(s, false)
}

// validLabel reports whether s is one DNS label of 1 to 63 letters,
// digits and inner hyphens (and underscores if underscore is set).
func validLabel(s string, underscore bool) bool {
	if len(s) < 1 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-':
		case c == '_' && underscore:
		default:
			return false
		}
	}
	return true
}

// KeyLength names a key's size the way SES's DkimSigningKeyLength does
// ("RSA_1024_BIT", "RSA_2048_BIT"; other RSA sizes follow the same
// pattern), or "ED25519". key may be a public key, a private key or any
// crypto.Signer; anything else gives "".
func KeyLength(key crypto.PublicKey) string {
	if s, ok := key.(crypto.Signer); ok {
		key = s.Public()
	}
	switch k := key.(type) {
	case *rsa.PublicKey:
		if k == nil || k.N == nil {
			return ""
		}
		return fmt.Sprintf("RSA_%d_BIT", k.N.BitLen())
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return ""
		}
		return "ED25519"
	}
	return ""
}
