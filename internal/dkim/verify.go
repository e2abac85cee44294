package dkim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"unicode"

	msgdkim "github.com/emersion/go-msgauth/dkim"
)

// Verification is the outcome for one DKIM-Signature field.
type Verification struct {
	// Domain and Selector are the signature's d= and s= tags, as far as
	// they could be read.
	Domain, Selector string
	// Err is nil when the signature verifies (RFC 6376 §6.1: SUCCESS).
	Err error
	// Temporary is set when the failure may go away later: the key could
	// not be fetched for now (RFC 6376 §6.1.2: TEMPFAIL, "key
	// unavailable"); an Authentication-Results header says temperror. It is
	// false for a bad signature or a permanent error, e.g. a key that does
	// not exist or is revoked (RFC 6376 §6.1.2: PERMFAIL).
	Temporary bool
}

// TXTLookup resolves the TXT records of a name, one string per record
// with the record's character-strings concatenated (RFC 6376 §3.6.2.2),
// following CNAMEs as resolvers do. A name or record that does not exist
// must be reported as a *net.DNSError with IsNotFound set; any other error
// is taken as a temporary failure.
type TXTLookup func(ctx context.Context, name string) ([]string, error)

// MaxSignatures bounds how many signatures Verify checks, so that a
// message stuffed with signatures cannot make it query DNS without end
// (RFC 6376 §6.1 lets verifiers limit the number of signatures they try).
const MaxSignatures = 10

// Verify checks the DKIM-Signature fields of msg (RFC 6376 §6), the first
// MaxSignatures of them, in the order they appear, fetching each key at
// <s>._domainkey.<d> through lookup (RFC 6376 §3.6.2.1); a name is looked
// up once per call. It returns one Verification per signature checked and
// none for an unsigned message. The error is for a message whose header
// cannot be read at all.
//
// A lookup failure is TEMPFAIL unless the key does not exist, which is
// PERMFAIL (RFC 6376 §6.1.2); the Verification's Err then wraps the
// lookup's error. Following RFC 8301 §3.1 and §3.2, rsa-sha1 signatures
// and RSA keys under 1024 bits fail. go-msgauth also fails signatures with
// l=, which leave part of the body unsigned.
//
// A header built to make verification slow (tens of thousands of fields
// or folded lines, see headerStats) is not processed: each of its
// signatures gets a permanent "too complex" error.
func Verify(ctx context.Context, msg []byte, lookup TXTLookup) ([]Verification, error) {
	if lookup == nil {
		return nil, errors.New("dkim: verify: no TXT lookup")
	}
	var ids []sigInfo
	hEntries := 0
	complete, st := scanHeader(msg, func(name, field []byte) {
		if bytes.EqualFold(name, []byte("DKIM-Signature")) {
			t := signatureInfo(field)
			if len(ids) < MaxSignatures {
				hEntries += t.hEntries
			}
			ids = append(ids, t)
		}
	})
	if len(ids) == 0 {
		return nil, nil
	}
	if err := st.check(hEntries); err != nil {
		// Refuse the work; every signature is a PERMFAIL.
		out := make([]Verification, min(len(ids), MaxSignatures))
		for i := range out {
			out[i] = Verification{Domain: ids[i].domain, Selector: ids[i].selector, Err: err}
		}
		return out, nil
	}
	if !complete {
		msg = withEmptyBody(msg)
	}

	keys := &keyCache{ctx: ctx, lookup: lookup, m: map[string]*keyAnswer{}}
	vs, err := msgdkim.VerifyWithOptions(bytes.NewReader(msg), &msgdkim.VerifyOptions{
		LookupTXT:        keys.get,
		MaxVerifications: MaxSignatures,
	})
	if err != nil && !errors.Is(err, msgdkim.ErrTooManySignatures) {
		return nil, fmt.Errorf("dkim: verify: %w", err)
	}
	out := make([]Verification, len(vs))
	for i, v := range vs {
		o := &out[i]
		if i < len(ids) {
			o.Domain, o.Selector = ids[i].domain, ids[i].selector
		} else {
			o.Domain = v.Domain
		}
		if v.Err == nil {
			continue
		}
		o.Err, o.Temporary = v.Err, msgdkim.IsTempFail(v.Err)
		// When the failure is this signature's key lookup, report the
		// lookup's own error: go-msgauth keeps only its text.
		if le := keys.failure(o.Selector + "._domainkey." + o.Domain); le != nil && strings.HasSuffix(v.Err.Error(), le.Error()) {
			o.Err, o.Temporary = fmt.Errorf("dkim: %w", le), le.temp
		}
	}
	return out, nil
}

// sigInfo is what Verify reads itself from a DKIM-Signature field.
type sigInfo struct {
	domain, selector string // d=, s=
	hEntries         int    // names in h=
}

// signatureInfo reads d=, s= and h= from a DKIM-Signature field the way
// go-msgauth does, whitespace removed, so that the key name built from
// them is the one go-msgauth asks lookup for.
func signatureInfo(field []byte) sigInfo {
	var t sigInfo
	seen := map[string]bool{}
	_, value, _ := strings.Cut(string(field), ":")
	for part := range strings.SplitSeq(value, ";") {
		name, v, ok := strings.Cut(part, "=")
		if !ok {
			continue
		}
		name = strings.TrimSpace(name)
		if seen[name] {
			continue
		}
		seen[name] = true
		switch name {
		case "d":
			t.domain = stripSpace(v)
		case "s":
			t.selector = stripSpace(v)
		case "h":
			t.hEntries = strings.Count(v, ":") + 1
		}
	}
	return t
}

func stripSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

// keyCache answers go-msgauth's key lookups through a TXTLookup, once per
// name, and keeps the failures so Verify can report them.
type keyCache struct {
	ctx    context.Context
	lookup TXTLookup
	mu     sync.Mutex
	m      map[string]*keyAnswer
}

type keyAnswer struct {
	done chan struct{} // closed when txts and err are set
	txts []string
	err  *lookupError
}

// get is go-msgauth's LookupTXT. Signatures are verified in parallel, so
// concurrent calls for one name wait for the first.
func (c *keyCache) get(name string) ([]string, error) {
	c.mu.Lock()
	a, ok := c.m[name]
	if !ok {
		a = &keyAnswer{done: make(chan struct{})}
		c.m[name] = a
	}
	c.mu.Unlock()
	if ok {
		<-a.done
	} else {
		txts, err := c.lookup(c.ctx, name)
		if err != nil {
			a.err = &lookupError{name: name, err: err, temp: !isNotFound(err)}
		}
		a.txts = txts
		close(a.done)
	}
	if a.err != nil {
		// go-msgauth tells TEMPFAIL from PERMFAIL by asserting net.Error,
		// so the concrete type must be returned, not wrapped.
		return nil, a.err
	}
	return a.txts, nil
}

// failure returns the failed lookup of name, if there was one.
func (c *keyCache) failure(name string) *lookupError {
	c.mu.Lock()
	a := c.m[name]
	c.mu.Unlock()
	if a == nil {
		return nil
	}
	<-a.done
	return a.err
}

// isNotFound reports whether err says the key record does not exist, for
// which RFC 6376 §6.1.2 requires PERMFAIL ("no key for signature"); any
// other failure to get an answer is TEMPFAIL ("key unavailable").
func isNotFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

// lookupError is a failed key lookup. It is a net.Error whose Temporary
// tells go-msgauth which kind of failure it is.
type lookupError struct {
	name string
	err  error
	temp bool
}

func (e *lookupError) Error() string   { return "key lookup " + e.name + ": " + e.err.Error() }
func (e *lookupError) Unwrap() error   { return e.err }
func (e *lookupError) Timeout() bool   { return false }
func (e *lookupError) Temporary() bool { return e.temp }

var _ net.Error = (*lookupError)(nil)
