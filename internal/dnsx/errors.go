package dnsx

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// errNoSuchHost is package net's text for NXDOMAIN; sesame's identity
// checks tell NXDOMAIN from NODATA by it.
const errNoSuchHost = "no such host"

// rcodeError carries a response code as a DNSError's UnwrapErr, for Rcode.
type rcodeError int

func (e rcodeError) Error() string { return rcodeName(int(e)) }

func rcodeName(rc int) string {
	if s, ok := dns.RcodeToString[rc]; ok {
		return s
	}
	return "RCODE" + strconv.Itoa(rc)
}

func displayName(name string) string {
	if name == "." {
		return name
	}
	return strings.TrimSuffix(name, ".")
}

// notFound is NXDOMAIN (RFC 1035 §4.1.1 RCODE 3) or, with rcode
// RcodeSuccess, NODATA (RFC 2308 §2.2) for qtype.
func notFound(name, server string, rcode int, qtype uint16) *net.DNSError {
	msg := errNoSuchHost
	if rcode != dns.RcodeNameError {
		msg = "no " + typeName(qtype) + " record"
	}
	return &net.DNSError{Err: msg, Name: displayName(name), Server: server, IsNotFound: true, UnwrapErr: rcodeError(rcode)}
}

// failed is a response whose RCODE is a server failure (SERVFAIL, REFUSED,
// …): temporary (RFC 7208 §2.6.6, RFC 6376 §6.1.2, RFC 5321 §5.1).
func failed(name, server string, rcode int) *net.DNSError {
	return &net.DNSError{Err: "server answered " + rcodeName(rcode), Name: displayName(name), Server: server, IsTemporary: true, UnwrapErr: rcodeError(rcode)}
}

// transport is a failed exchange (timeout, network, malformed reply) or
// a finished Context: temporary.
func transport(name, server string, cause error) *net.DNSError {
	de := &net.DNSError{Err: cause.Error(), Name: displayName(name), Server: server, IsTemporary: true, UnwrapErr: cause}
	var ne net.Error
	if errors.Is(cause, context.DeadlineExceeded) || (errors.As(cause, &ne) && ne.Timeout()) {
		de.IsTimeout = true
		de.Err = "i/o timeout"
		if errors.Is(cause, context.DeadlineExceeded) {
			de.Err = cause.Error()
		}
	}
	return de
}

// permanent is a definite failure that is neither not-found nor worth
// retrying soon: a CNAME loop, a chain too long, a malformed name.
func permanent(name, server, msg string) *net.DNSError {
	return &net.DNSError{Err: msg, Name: displayName(name), Server: server}
}

func typeName(t uint16) string {
	if s, ok := dns.TypeToString[t]; ok {
		return s
	}
	return "TYPE" + strconv.Itoa(int(t))
}

// IsNotFound reports whether err says the name does not exist (NXDOMAIN)
// or has no record of the type asked (NODATA, RFC 2308 §2.2). It looks
// through wrapping.
func IsNotFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

// IsTemporary reports whether err is a failure worth retrying later:
// timeout, SERVFAIL, REFUSED, network trouble (RFC 7208 §2.6.6 temperror,
// RFC 5321 §4.5.4.1 retry). It looks through wrapping.
func IsTemporary(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.Temporary()
}

// Rcode returns the DNS response code behind err: dns.RcodeNameError for
// NXDOMAIN, dns.RcodeSuccess for NODATA, dns.RcodeServerFailure and so on
// for failures; -1 when err carries none (nil, timeouts, network errors,
// CNAME loops).
func Rcode(err error) int {
	var rc rcodeError
	if errors.As(err, &rc) {
		return int(rc)
	}
	return -1
}
