package dkim

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"strings"
	"time"

	msgdkim "github.com/emersion/go-msgauth/dkim"
)

// DefaultHeaders returns the header fields signed by default, a fresh
// slice on each call. They are RFC 6376 §5.4.1's recommendations (From,
// Reply-To, Subject, Date, To, Cc, Resent-*, In-Reply-To, References,
// List-*), the fields that describe the content (Message-ID and the MIME
// fields), List-Unsubscribe-Post, which RFC 8058 §4 requires to be signed
// along with List-Unsubscribe, and Feedback-ID, which SES signs.
//
// A Signer signs each of these fields as many times as it occurs in the
// message, and From once more (see SignerOptions.Headers).
func DefaultHeaders() []string {
	return []string{
		"From", "Reply-To", "Subject", "Date", "To", "Cc",
		"Resent-Date", "Resent-From", "Resent-Sender", "Resent-To", "Resent-Cc",
		"In-Reply-To", "References", "Message-ID",
		"MIME-Version", "Content-Type", "Content-Transfer-Encoding",
		"List-Id", "List-Help", "List-Unsubscribe", "List-Unsubscribe-Post",
		"List-Subscribe", "List-Post", "List-Owner", "List-Archive",
		"Feedback-ID",
	}
}

// SignerOptions configures a Signer.
type SignerOptions struct {
	// Domain is the signing domain, d= (RFC 6376 §3.5).
	Domain string
	// Selector is s=; the key is published at <Selector>._domainkey.<Domain>
	// (RFC 6376 §3.6.2.1).
	Selector string
	// Key is a *rsa.PrivateKey (1024 to 4096 bits, RFC 8301 §3.2) or an
	// ed25519.PrivateKey (RFC 8463); another crypto.Signer whose public key
	// is RSA or Ed25519 (an HSM, say) works too.
	Key crypto.Signer
	// Headers names the header fields to sign; nil means DefaultHeaders().
	// Names are case-insensitive and must include From (RFC 6376 §5.4).
	// For each message, h= lists every occurrence of these fields, and From
	// once more than it occurs, so that a From added later breaks the
	// signature (over-signing, RFC 6376 §8.15). Fields that are absent are
	// not listed.
	Headers []string
	// Identity is the optional i= (RFC 6376 §3.5): an address or "@domain"
	// whose domain is Domain or a subdomain of it.
	Identity string
	// Expiration, when positive, sets x= to the signing time plus
	// Expiration, rounded up to a whole second (RFC 6376 §3.5). It must be
	// at least one second, so that x= is after t=.
	Expiration time.Duration
}

// Signer signs messages for one domain and selector. It is immutable and
// safe for concurrent use.
type Signer struct {
	domain, selector, identity string
	key                        crypto.Signer
	expiration                 time.Duration
	// headers maps the lowercased names to sign to their spelling in h=.
	headers map[string]string
	maxName int // longest name in headers
}

// NewSigner checks opts and returns a Signer. All per-key work is done
// here: an RSA key is copied, precomputed (rsa.PrivateKey.Precompute) and
// validated, so the caller's key is never modified and Sign does only the
// private-key operation.
func NewSigner(opts SignerOptions) (*Signer, error) {
	domain := strings.ToLower(strings.TrimSuffix(opts.Domain, "."))
	if !validDomain(domain) {
		return nil, fmt.Errorf("dkim: signer: domain %q is not a valid DNS name", opts.Domain)
	}
	// RFC 6376 §3.1: selector = sub-domain *( "." sub-domain ).
	if !validName(opts.Selector, false) {
		return nil, fmt.Errorf("dkim: signer: selector %q is not a valid DNS name", opts.Selector)
	}
	s := &Signer{domain: domain, selector: opts.Selector, headers: map[string]string{}}

	key, err := signingKey(opts.Key)
	if err != nil {
		return nil, err
	}
	s.key = key

	if opts.Identity != "" {
		id, err := checkIdentity(opts.Identity, domain)
		if err != nil {
			return nil, err
		}
		s.identity = id
	}

	if opts.Expiration < 0 || opts.Expiration > 0 && opts.Expiration < time.Second {
		return nil, fmt.Errorf("dkim: signer: expiration %v: want 0 (none) or at least 1s", opts.Expiration)
	}
	s.expiration = opts.Expiration

	names := opts.Headers
	if names == nil {
		names = DefaultHeaders()
	}
	for _, n := range names {
		if !validFieldName(n) {
			return nil, fmt.Errorf("dkim: signer: %q is not a header field name", n)
		}
		lower := strings.ToLower(n)
		if _, dup := s.headers[lower]; !dup {
			s.headers[lower] = n
			s.maxName = max(s.maxName, len(n))
		}
	}
	// RFC 6376 §5.4: "The From header field MUST be signed".
	if _, ok := s.headers["from"]; !ok {
		return nil, errors.New("dkim: signer: the header fields to sign must include From (RFC 6376 §5.4)")
	}
	return s, nil
}

// signingKey checks a signing key and returns the one Sign will use.
func signingKey(k crypto.Signer) (crypto.Signer, error) {
	switch k := k.(type) {
	case nil:
		return nil, errors.New("dkim: signer: no key")
	case *rsa.PrivateKey:
		if k == nil || k.N == nil || k.D == nil {
			return nil, errors.New("dkim: signer: incomplete RSA key")
		}
		// RFC 8301 §3.2: signers MUST use RSA keys of at least 1024 bits;
		// verifiers need only handle keys up to 4096 bits.
		if n := k.N.BitLen(); n < 1024 || n > 4096 {
			return nil, fmt.Errorf("dkim: signer: RSA key of %d bits; want 1024 to 4096 (RFC 8301 §3.2)", n)
		}
		// Work on a shallow copy: Precompute writes only the copy's
		// Precomputed field, so a key shared with other goroutines is never
		// written to. It is a no-op if the key is already precomputed.
		cp := *k
		cp.Precompute()
		if err := cp.Validate(); err != nil {
			return nil, fmt.Errorf("dkim: signer: RSA key: %w", err)
		}
		return accelerate(&cp), nil
	case ed25519.PrivateKey:
		if len(k) != ed25519.PrivateKeySize {
			return nil, fmt.Errorf("dkim: signer: Ed25519 private key of %d bytes", len(k))
		}
		return k, nil
	}
	switch pub := k.Public().(type) {
	case *rsa.PublicKey:
		if pub == nil || pub.N == nil || pub.N.BitLen() < 1024 || pub.N.BitLen() > 4096 {
			return nil, errors.New("dkim: signer: RSA key must have 1024 to 4096 bits (RFC 8301 §3.2)")
		}
		return k, nil
	case ed25519.PublicKey:
		return k, nil
	}
	return nil, fmt.Errorf("dkim: signer: unsupported key type %T", k)
}

// checkIdentity validates i= (RFC 6376 §3.5): [local-part] "@" domain,
// where "the domain part of the address MUST be the same as, or a
// subdomain of, the value of the d= tag". The domain part is lowercased,
// because go-msgauth's verifier compares it with d= case-sensitively.
func checkIdentity(id, domain string) (string, error) {
	at := strings.LastIndexByte(id, '@')
	if at < 0 {
		return "", fmt.Errorf("dkim: signer: identity %q has no @", id)
	}
	local, dom := id[:at], strings.ToLower(strings.TrimSuffix(id[at+1:], "."))
	if dom != domain && !strings.HasSuffix(dom, "."+domain) {
		return "", fmt.Errorf("dkim: signer: identity %q is not in domain %s (RFC 6376 §3.5)", id, domain)
	}
	if !validDomain(dom) {
		return "", fmt.Errorf("dkim: signer: identity %q: bad domain", id)
	}
	// i= is dkim-quoted-printable (RFC 6376 §2.11); accept only local parts
	// that need no encoding, so the value is written as is.
	for i := 0; i < len(local); i++ {
		if c := local[i]; c <= ' ' || c >= 0x7f || c == ';' || c == '=' {
			return "", fmt.Errorf("dkim: signer: identity %q: character %q needs quoting", id, c)
		}
	}
	return local + "@" + dom, nil
}

// validDomain reports whether s is a DNS name of labels of letters,
// digits, hyphens and underscores, at most 253 octets.
func validDomain(s string) bool { return len(s) <= 253 && validName(s, true) }

// validName reports whether s is dot-separated labels (see validLabel).
func validName(s string, underscore bool) bool {
	if s == "" {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if !validLabel(label, underscore) {
			return false
		}
	}
	return true
}

// validFieldName checks field-name = 1*ftext, ftext = %d33-57 / %d59-126
// (RFC 5322 §3.6.8); ";" is refused too, as it would end the h= tag.
func validFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 33 || c > 126 || c == ':' || c == ';' {
			return false
		}
	}
	return true
}

// signedName returns how h= spells the field called name, and whether the
// field is to be signed at all.
func (s *Signer) signedName(name []byte) (string, bool) {
	if len(name) > s.maxName {
		return "", false
	}
	var buf [64]byte
	lower := buf[:0]
	if len(name) > len(buf) {
		lower = make([]byte, 0, len(name))
	}
	for _, c := range name {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower = append(lower, c)
	}
	n, ok := s.headers[string(lower)] // no allocation for the lookup
	return n, ok
}

// Sign returns the DKIM-Signature header field for msg: name, value folded
// into lines of at most 78 characters (RFC 5322 §2.1.1), and the final
// CRLF. The caller prepends it to msg. msg is a complete message (RFC 5322)
// with CRLF line endings; a message without a body is signed as one with
// an empty body.
//
// The signature uses relaxed header and body canonicalization
// (c=relaxed/relaxed, RFC 6376 §3.4.2 and §3.4.4) and rsa-sha256 (RFC 6376
// §3.3.1) or ed25519-sha256 (RFC 8463 §3), with t= set to now (RFC 6376
// §3.5). A message with no From field is refused: From MUST be signed (RFC
// 6376 §5.4). So is a header built to make signing slow (tens of thousands
// of signed fields or folded lines, see headerStats).
func (s *Signer) Sign(msg []byte) (string, error) {
	keys := make([]string, 0, 16)
	froms := 0
	complete, st := scanHeader(msg, func(name, _ []byte) {
		if n, ok := s.signedName(name); ok {
			keys = append(keys, n)
			if strings.EqualFold(n, "From") {
				froms++
			}
		}
	})
	if froms == 0 {
		return "", errors.New("dkim: sign: the message has no From header field (RFC 6376 §5.4)")
	}
	// Over-sign From: list it once more than it occurs, so a From added in
	// transit makes the signature fail (RFC 6376 §5.4.2, §8.15).
	keys = append(keys, s.headers["from"])
	if err := st.check(len(keys)); err != nil {
		return "", fmt.Errorf("dkim: sign: %w", err)
	}
	if !complete {
		msg = withEmptyBody(msg)
	}

	o := &msgdkim.SignOptions{
		Domain:                 s.domain,
		Selector:               s.selector,
		Identifier:             s.identity,
		Signer:                 s.key,
		Hash:                   crypto.SHA256, // RFC 8301 §3.1: sha256 only
		HeaderCanonicalization: msgdkim.CanonicalizationRelaxed,
		BodyCanonicalization:   msgdkim.CanonicalizationRelaxed,
		HeaderKeys:             keys,
	}
	if s.expiration > 0 {
		// Round x= up so that it stays after t= (RFC 6376 §3.5), which
		// go-msgauth takes from the clock a moment later and rounds down.
		x := time.Now().Add(s.expiration)
		secs := x.Unix()
		if x.Nanosecond() > 0 {
			secs++
		}
		o.Expiration = time.Unix(secs, 0)
	}
	w, err := msgdkim.NewSigner(o)
	if err != nil {
		return "", fmt.Errorf("dkim: sign: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		w.Close()
		return "", fmt.Errorf("dkim: sign: %w", err)
	}
	if err := w.Close(); err != nil {
		return "", fmt.Errorf("dkim: sign: %w", err)
	}
	return foldLines(w.Signature()), nil
}

// foldLines breaks the lines of a header field longer than 78 characters
// (RFC 5322 §2.1.1) by inserting CRLF before a space already there, which
// is folding (RFC 5322 §2.2.3). go-msgauth folds the value but does not
// count the field name. Relaxed canonicalization unfolds again (RFC 6376
// §3.4.2), so the signature stays valid.
func foldLines(field string) string {
	const limit = 78
	if !strings.Contains(field, "\r\n") {
		return field
	}
	var b strings.Builder
	b.Grow(len(field) + 8)
	for line := range strings.SplitSeq(strings.TrimSuffix(field, "\r\n"), "\r\n") {
		for len(line) > limit {
			i := strings.LastIndexAny(line[1:limit+1], " \t") + 1
			if i <= 1 {
				break // no place to fold; long lines are allowed up to 998
			}
			b.WriteString(line[:i])
			b.WriteString("\r\n")
			line = line[i:]
		}
		b.WriteString(line)
		b.WriteString("\r\n")
	}
	return b.String()
}
