// Package dnsx is sesame's DNS client. Every lookup of customers' DNS
// (DKIM CNAMEs, SPF, MX, DMARC) and every MX lookup for outbound mail goes
// through a [Resolver] passed in explicitly, never the process-wide
// net.DefaultResolver, so tests point it at a DNS server on loopback
// (package dnstest) and operators at --resolver.
//
// # Queries
//
// [Client] sends one question per query to configured recursive resolvers
// with the RD bit set (RFC 1035 §4.1.1), over UDP with an EDNS0 OPT record
// advertising a 4096-octet buffer (RFC 6891 §6.2.5), and again over TCP
// when the answer has the TC bit (RFC 1035 §4.2.1, RFC 7766 §5). A server
// that rejects EDNS0 with FORMERR or NOTIMP is asked once more without it
// (RFC 6891 §7). Names are made absolute and lowercase before they are
// sent; IDNA is the caller's job (send A-labels). CNAME chains are followed
// (RFC 1034 §3.6.2, RFC 2181 §10.1.1): through the answer section first,
// then by asking for the chain's last name when the answer stops short,
// at most [MaxChain] hops, loops detected.
//
// Hostile or broken answers are bounded: replies whose ID (checked by
// miekg/dns), QR bit, opcode or question do not match are discarded,
// records owned by names outside the chain are ignored, at most
// [MaxRecords] records are kept from an answer, every exchange has a
// deadline and the Context is honoured (cancellation closes the socket).
//
// There is no cache yet: the resolver named by --resolver is expected to
// be a caching recursive resolver. A Client holds no mutable state and is
// safe for concurrent use.
//
// # Errors
//
// Lookup errors are bare *net.DNSError values (not wrapped), because the
// libraries sesame hands this resolver to classify them with type
// assertions rather than errors.As:
//
//   - NXDOMAIN (RFC 1035 §4.1.1 RCODE 3) gives IsNotFound with Err
//     "no such host", like package net; NODATA (NOERROR with no record of
//     the type, RFC 2308 §2.2, including empty non-terminals) gives
//     IsNotFound with Err "no <TYPE> record". Both are "void" for SPF.
//   - SERVFAIL, REFUSED and other failure RCODEs give IsTemporary with the
//     RCODE name in Err; timeouts give IsTimeout and IsTemporary; network
//     and malformed-reply failures and a cancelled Context give
//     IsTemporary. Never both IsNotFound and Temporary().
//   - A CNAME loop or over-long chain is neither: a permanent error.
//
// The DNSError's UnwrapErr holds the cause (Context error, network error,
// or the response code, see [Rcode]), so errors.Is(err,
// context.DeadlineExceeded) works. [IsNotFound] and [IsTemporary] accept
// wrapped errors too.
//
// # What the libraries expect (read from their source)
//
// blitiri.com.ar/go/spf v1.6.0 (its option spf.WithResolver takes any
// value with LookupTXT, LookupMX, LookupIPAddr and LookupAddr, which
// *Client has):
//
//   - It classifies with err.(*net.DNSError) — a direct assertion — so a
//     wrapped error loses its meaning (a wrapped NXDOMAIN would turn "none"
//     into "permerror", a wrapped SERVFAIL "temperror" into "permerror").
//   - Its own TXT lookup (check_host, RFC 7208 §4.4): IsNotFound → none
//     (RFC 7208 §4.3); Temporary() (IsTimeout || IsTemporary) → temperror;
//     any other error → permerror. No "v=spf1" record among the strings →
//     none; more than one → permerror (RFC 7208 §4.5). It needs one string
//     per TXT record with the record's strings concatenated (RFC 7208
//     §3.3). include: of a domain with no record → permerror (§5.2);
//     redirect= likewise (§6.1).
//   - Void lookups (RFC 7208 §4.6.4): a lookup is void when it returns a
//     nil error with zero answers, or a *net.DNSError with IsNotFound
//     (NXDOMAIN and NODATA alike). Only the lookups of a, mx, exists and
//     the ptr reverse lookup are counted, not the TXT lookups of include
//     and redirect; the third void lookup → permerror. So NODATA must be
//     IsNotFound (or an empty nil-error answer) to count.
//   - a, mx, exists: IsNotFound → no match; any other error, temporary or
//     not, → temperror (RFC 7208 §5). The 10-term DNS lookup limit is
//     counted before each lookup; the 11th → permerror. More than 10 MX
//     → permerror; MX hosts' address lookups: not found → skipped, other
//     errors → temperror. ptr: a failed reverse lookup is no match, never
//     temperror (RFC 7208 §5.5). It passes names as written in the
//     record (no trailing dot, any case).
//
// github.com/emersion/go-msgauth v0.7.0:
//
//   - dkim.VerifyOptions.LookupTXT is func(domain string) ([]string, error)
//     — no Context, so callers close over one — and is asked for
//     "<selector>._domainkey.<domain>". An error that asserts to net.Error
//     with Temporary() → temporary failure (dkim.IsTempFail, RFC 6376
//     §6.1.2 TEMPFAIL); any other error, not found included → permanent
//     failure "no key for signature" (PERMFAIL). Zero records → PERMFAIL;
//     more than one TXT record → PERMFAIL (RFC 6376 §3.6.2.2). It expects
//     each record's strings concatenated into one, as net.LookupTXT does.
//   - dmarc.LookupWithOptions asks LookupTXT for "_dmarc.<domain>": an
//     error asserting to net.Error with Temporary() → dmarc.IsTempFail;
//     *net.DNSError with IsNotFound → dmarc.ErrNoPolicy; any other error →
//     a plain error. It does not fall back to the organizational domain
//     (RFC 7489 §6.6.3); that is the caller's job.
//
// miekg/dns keeps TXT character-strings in presentation form (`"` and `\`
// escaped, bytes outside printable ASCII as \DDD); LookupTXT undoes that
// so callers see the octets published (RFC 1035 §3.3.14, §5.1).
package dnsx
