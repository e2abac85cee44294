// Package dnsx is sesame's DNS resolver: every lookup of customers' DNS
// (DKIM CNAMEs, SPF, MX, DMARC) goes through a Resolver passed in
// explicitly, never the process-wide net.DefaultResolver, so tests point
// it at a DNS server on loopback and operators at --resolver.
//
// Errors are *net.DNSError values, returned unwrapped, because the
// libraries sesame hands this resolver to classify them by type assertion:
// blitiri.com.ar/go/spf (v1.6.0) tests err.(*net.DNSError).IsNotFound to
// count void lookups (RFC 7208 §4.6.4) and .Temporary() for temperror;
// go-msgauth's dkim treats any lookup error as a temperror unless the
// record is malformed. NXDOMAIN and NODATA are both IsNotFound (they are
// both "void" for SPF); SERVFAIL and REFUSED are IsTemporary; timeouts
// are IsTimeout and IsTemporary.
//
// There is no cache: the resolver named by --resolver is expected to be a
// caching recursive resolver.
package dnsx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Resolver is what sesame's services need from DNS. Its method set matches
// blitiri spf's DNSResolver and mirrors *net.Resolver.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
	LookupAddr(ctx context.Context, addr string) ([]string, error)
	LookupCNAME(ctx context.Context, host string) (string, error)
	Query(ctx context.Context, name string, qtype uint16) (*Answer, error)
}

// Answer is a DNS answer with what diagnostics need.
type Answer struct {
	Name    string   // the name asked, absolute, lowercase
	Rcode   int      // dns.RcodeSuccess, dns.RcodeNameError, …
	Chain   []string // CNAME targets followed, in order
	Records []dns.RR // records of the asked type at the end of the chain
	Server  string   // the server that answered
}

// Limits on what one lookup may do.
const (
	MaxChain   = 8   // CNAME hops (RFC 1034 §3.6.2 chains; loops are errors)
	MaxRecords = 100 // records kept from one answer
)

// Options configures a Client.
type Options struct {
	// Servers are "host:port" of recursive resolvers; empty = the
	// nameservers of /etc/resolv.conf, else 127.0.0.1:53.
	Servers  []string
	Timeout  time.Duration // per query; default 5 s
	Attempts int           // default 2, rotating over Servers
	Logger   *slog.Logger  // nil = discard
}

// Client resolves with miekg/dns against explicit servers.
type Client struct {
	servers  []string
	timeout  time.Duration
	attempts int
	log      *slog.Logger
	udp, tcp *dns.Client
}

var _ Resolver = (*Client)(nil)

// New returns a Client.
func New(o Options) (*Client, error) {
	c := &Client{servers: o.Servers, timeout: o.Timeout, attempts: o.Attempts, log: o.Logger}
	if len(c.servers) == 0 {
		if cc, err := dns.ClientConfigFromFile("/etc/resolv.conf"); err == nil {
			for _, s := range cc.Servers {
				c.servers = append(c.servers, net.JoinHostPort(s, cc.Port))
			}
		}
	}
	if len(c.servers) == 0 {
		c.servers = []string{"127.0.0.1:53"}
	}
	for _, s := range c.servers {
		if _, _, err := net.SplitHostPort(s); err != nil {
			return nil, fmt.Errorf("dnsx: server %q: %w", s, err)
		}
	}
	if c.timeout <= 0 {
		c.timeout = 5 * time.Second
	}
	if c.attempts <= 0 {
		c.attempts = 2
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.udp = &dns.Client{Net: "udp", Timeout: c.timeout, UDPSize: 4096}
	c.tcp = &dns.Client{Net: "tcp", Timeout: c.timeout}
	return c, nil
}

// Fqdn returns name absolute and lowercase.
func Fqdn(name string) string { return dns.Fqdn(strings.ToLower(strings.TrimSpace(name))) }

func dnsErr(name, server, msg string, notFound, temporary, timeout bool) *net.DNSError {
	return &net.DNSError{Err: msg, Name: strings.TrimSuffix(name, "."), Server: server, IsNotFound: notFound, IsTemporary: temporary, IsTimeout: timeout}
}

// IsNotFound reports whether err means the name or the record type does
// not exist (NXDOMAIN or NODATA).
func IsNotFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

// IsTemporary reports whether err is a resolver failure worth retrying.
func IsTemporary(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && (de.IsTemporary || de.IsTimeout)
}

// exchange sends one question, retrying across servers and over TCP when
// the UDP answer is truncated.
func (c *Client) exchange(ctx context.Context, name string, qtype uint16) (*dns.Msg, string, error) {
	q := new(dns.Msg)
	q.SetQuestion(name, qtype)
	q.RecursionDesired = true
	q.SetEdns0(4096, false)
	var last error
	for i := 0; i < c.attempts*len(c.servers); i++ {
		if err := ctx.Err(); err != nil {
			return nil, "", dnsErr(name, "", err.Error(), false, true, errors.Is(err, context.DeadlineExceeded))
		}
		server := c.servers[i%len(c.servers)]
		resp, _, err := c.udp.ExchangeContext(ctx, q, server)
		if err == nil && resp.Truncated {
			resp, _, err = c.tcp.ExchangeContext(ctx, q, server)
		}
		if err != nil {
			last = err
			c.log.Debug("dns query failed", "name", name, "type", dns.TypeToString[qtype], "server", server, "err", err)
			continue
		}
		if len(resp.Question) != 1 || !strings.EqualFold(resp.Question[0].Name, name) || resp.Question[0].Qtype != qtype {
			last = errors.New("answer for another question")
			continue
		}
		return resp, server, nil
	}
	var ne net.Error
	timeout := errors.As(last, &ne) && ne.Timeout()
	msg := "no answer"
	if last != nil {
		msg = last.Error()
	}
	return nil, "", dnsErr(name, strings.Join(c.servers, ","), msg, false, true, timeout)
}

// Query resolves name/qtype, following CNAME chains, and returns the raw
// answer. A nil error with Rcode NXDOMAIN or an empty Records is possible;
// the Lookup methods turn those into errors.
func (c *Client) Query(ctx context.Context, name string, qtype uint16) (*Answer, error) {
	name = Fqdn(name)
	a := &Answer{Name: name}
	cur := name
	seen := map[string]bool{cur: true}
	for range MaxChain + 1 {
		resp, server, err := c.exchange(ctx, cur, qtype)
		if err != nil {
			return a, err
		}
		a.Server, a.Rcode = server, resp.Rcode
		if resp.Rcode != dns.RcodeSuccess && resp.Rcode != dns.RcodeNameError {
			return a, dnsErr(name, server, "server answered "+dns.RcodeToString[resp.Rcode], false, true, false)
		}
		asked := cur
		// Follow the chain as far as this answer carries it.
		for {
			var next string
			for _, rr := range resp.Answer {
				h := rr.Header()
				if !strings.EqualFold(h.Name, cur) {
					continue
				}
				if h.Rrtype == qtype && len(a.Records) < MaxRecords {
					a.Records = append(a.Records, rr)
				} else if cn, ok := rr.(*dns.CNAME); ok && qtype != dns.TypeCNAME && next == "" {
					next = Fqdn(cn.Target)
				}
			}
			if len(a.Records) > 0 || next == "" {
				break
			}
			if seen[next] {
				return a, dnsErr(name, server, "CNAME loop", false, false, false)
			}
			seen[next] = true
			a.Chain = append(a.Chain, strings.TrimSuffix(next, "."))
			cur = next
		}
		// Done when records were found, or when this answer moved the chain
		// no further (NXDOMAIN or NODATA at the end of the chain).
		if len(a.Records) > 0 || cur == asked || resp.Rcode == dns.RcodeNameError {
			return a, nil
		}
		// The chain's target was not in the answer: ask for it (RFC 1034 §5.3.3).
	}
	return a, dnsErr(name, a.Server, "CNAME chain too long", false, false, false)
}

// lookup runs Query and turns "nothing there" into a not-found error.
func (c *Client) lookup(ctx context.Context, name string, qtype uint16) (*Answer, error) {
	a, err := c.Query(ctx, name, qtype)
	if err != nil {
		return a, err
	}
	if a.Rcode == dns.RcodeNameError {
		return a, dnsErr(name, a.Server, "no such host", true, false, false)
	}
	if len(a.Records) == 0 {
		return a, dnsErr(name, a.Server, "no "+dns.TypeToString[qtype]+" record", true, false, false)
	}
	return a, nil
}

// LookupTXT returns each TXT record with its strings concatenated (RFC
// 7208 §3.3, RFC 6376 §3.6.2.2).
func (c *Client) LookupTXT(ctx context.Context, name string) ([]string, error) {
	a, err := c.lookup(ctx, name, dns.TypeTXT)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, rr := range a.Records {
		out = append(out, strings.Join(rr.(*dns.TXT).Txt, ""))
	}
	return out, nil
}

// LookupMX returns MX records sorted by preference (RFC 5321 §5.1); a null
// MX (RFC 7505) comes back as a single record whose Host is ".".
func (c *Client) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	a, err := c.lookup(ctx, name, dns.TypeMX)
	if err != nil {
		return nil, err
	}
	var out []*net.MX
	for _, rr := range a.Records {
		mx := rr.(*dns.MX)
		host := strings.ToLower(mx.Mx)
		if host != "." {
			host = strings.TrimSuffix(host, ".") + "."
		}
		out = append(out, &net.MX{Host: host, Pref: mx.Preference})
	}
	slices.SortStableFunc(out, func(a, b *net.MX) int { return int(a.Pref) - int(b.Pref) })
	return out, nil
}

// LookupIPAddr returns A and AAAA addresses; not found only when both are.
func (c *Client) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	if ip := net.ParseIP(strings.TrimSuffix(host, ".")); ip != nil {
		return []net.IPAddr{{IP: ip}}, nil
	}
	var out []net.IPAddr
	var firstErr error
	for _, t := range []uint16{dns.TypeA, dns.TypeAAAA} {
		a, err := c.lookup(ctx, host, t)
		if err != nil {
			if firstErr == nil || !IsNotFound(err) {
				firstErr = err
			}
			continue
		}
		for _, rr := range a.Records {
			switch r := rr.(type) {
			case *dns.A:
				out = append(out, net.IPAddr{IP: r.A})
			case *dns.AAAA:
				out = append(out, net.IPAddr{IP: r.AAAA})
			}
		}
	}
	if len(out) == 0 {
		return nil, firstErr
	}
	return out, nil
}

// LookupAddr returns the PTR names of an address.
func (c *Client) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	rev, err := dns.ReverseAddr(addr)
	if err != nil {
		return nil, dnsErr(addr, "", "unrecognized address", true, false, false)
	}
	a, err := c.lookup(ctx, rev, dns.TypePTR)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, rr := range a.Records {
		out = append(out, strings.ToLower(rr.(*dns.PTR).Ptr))
	}
	return out, nil
}

// LookupCNAME returns the last target of host's CNAME chain (without a
// trailing dot). The chain's end need not resolve: a customer's DKIM
// CNAME is right even when the resolver cannot reach sesame's own zone.
func (c *Client) LookupCNAME(ctx context.Context, host string) (string, error) {
	name := Fqdn(host)
	target := ""
	for hop := 0; hop <= MaxChain; hop++ {
		resp, server, err := c.exchange(ctx, name, dns.TypeCNAME)
		if err != nil {
			return "", err
		}
		switch resp.Rcode {
		case dns.RcodeSuccess:
		case dns.RcodeNameError:
			if target != "" {
				return target, nil
			}
			return "", dnsErr(host, server, "no such host", true, false, false)
		default:
			return "", dnsErr(host, server, "server answered "+dns.RcodeToString[resp.Rcode], false, true, false)
		}
		var next string
		for _, rr := range resp.Answer {
			if cn, ok := rr.(*dns.CNAME); ok && strings.EqualFold(cn.Hdr.Name, name) {
				next = Fqdn(cn.Target)
			}
		}
		if next == "" {
			if target != "" {
				return target, nil
			}
			return "", dnsErr(host, server, "no CNAME record", true, false, false)
		}
		target = strings.TrimSuffix(next, ".")
		name = next
	}
	return "", dnsErr(host, "", "CNAME loop or chain too long", false, false, false)
}
