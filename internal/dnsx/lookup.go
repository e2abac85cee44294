package dnsx

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"

	"github.com/miekg/dns"
)

// lookup runs Query and turns "nothing there" into a not-found error:
// NXDOMAIN or NODATA (RFC 2308 §2.1, §2.2).
func (c *Client) lookup(ctx context.Context, name string, qtype uint16) (*Answer, error) {
	a, err := c.Query(ctx, name, qtype)
	if err != nil {
		return a, err
	}
	if a.Rcode == dns.RcodeNameError {
		return a, notFound(a.Name, a.Server, dns.RcodeNameError, qtype)
	}
	if len(a.Records) == 0 {
		return a, notFound(a.Name, a.Server, dns.RcodeSuccess, qtype)
	}
	return a, nil
}

// LookupTXT returns one string per TXT record at name, the record's
// character-strings concatenated (RFC 7208 §3.3, RFC 6376 §3.6.2.2) and
// unescaped to the octets published (RFC 1035 §3.3.14).
func (c *Client) LookupTXT(ctx context.Context, name string) ([]string, error) {
	a, err := c.lookup(ctx, name, dns.TypeTXT)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(a.Records))
	for _, rr := range a.Records {
		t, ok := rr.(*dns.TXT)
		if !ok {
			continue
		}
		var b strings.Builder
		for _, s := range t.Txt {
			b.WriteString(unescape(s))
		}
		out = append(out, b.String())
	}
	return out, nil
}

// unescape turns miekg/dns's presentation form of a character-string (`\"`,
// `\\`, `\DDD`, RFC 1035 §5.1) back into its octets.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b = append(b, s[i])
			continue
		}
		if d := s[i+1:]; len(d) >= 3 && isDigit(d[0]) && isDigit(d[1]) && isDigit(d[2]) {
			if v := int(d[0]-'0')*100 + int(d[1]-'0')*10 + int(d[2]-'0'); v <= 255 {
				b = append(b, byte(v))
				i += 3
				continue
			}
		}
		b = append(b, s[i+1])
		i++
	}
	return string(b)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// LookupMX returns the MX records at name sorted by preference, lowest
// first (RFC 5321 §5.1); equal preferences keep the server's order, so a
// caller that wants RFC 5321's randomising shuffles them. Hosts are
// absolute and lowercase. A null MX (RFC 7505 §3) is returned as it is: one
// MX with Host "." and Pref 0; deciding what it means is the caller's job.
func (c *Client) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	a, err := c.lookup(ctx, name, dns.TypeMX)
	if err != nil {
		return nil, err
	}
	out := make([]*net.MX, 0, len(a.Records))
	for _, rr := range a.Records {
		if mx, ok := rr.(*dns.MX); ok {
			out = append(out, &net.MX{Host: Fqdn(mx.Mx), Pref: mx.Preference})
		}
	}
	slices.SortStableFunc(out, func(x, y *net.MX) int { return cmp.Compare(x.Pref, y.Pref) })
	return out, nil
}

// LookupIPAddr returns host's A then AAAA addresses (RFC 1035 §3.4.1, RFC
// 3596 §2), asking for both at once. An IP literal is returned as is. Like
// *net.Resolver without StrictErrors, addresses of one family are returned
// even when the other family's query failed; with no address at all the
// error is the most telling one: a temporary failure before a permanent
// one, NXDOMAIN before NODATA (NODATA for both is "no A or AAAA record").
func (c *Client) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	if ip := net.ParseIP(strings.TrimSuffix(host, ".")); ip != nil {
		return []net.IPAddr{{IP: ip}}, nil
	}
	types := [2]uint16{dns.TypeA, dns.TypeAAAA}
	var answers [2]*Answer
	var errs [2]error
	var wg sync.WaitGroup
	for i, t := range types {
		wg.Go(func() { answers[i], errs[i] = c.lookup(ctx, host, t) })
	}
	wg.Wait()
	var out []net.IPAddr
	for i := range types {
		if errs[i] != nil {
			continue
		}
		for _, rr := range answers[i].Records {
			switch r := rr.(type) {
			case *dns.A:
				out = append(out, net.IPAddr{IP: r.A})
			case *dns.AAAA:
				out = append(out, net.IPAddr{IP: r.AAAA})
			}
		}
	}
	if len(out) > 0 {
		for i, err := range errs {
			if err != nil && !IsNotFound(err) {
				c.log.Debug("dns partial address answer", "host", host, "failed", typeName(types[i]), "err", err)
			}
		}
		return out, nil
	}
	if errs[0] == nil && errs[1] == nil { // records of the type, but none usable
		return nil, notFound(answers[0].Name, answers[0].Server, dns.RcodeSuccess, dns.TypeA)
	}
	return nil, worst(host, errs[:])
}

// worst picks the error to report when neither A nor AAAA gave addresses.
func worst(host string, errs []error) error {
	rank := func(err error) int {
		switch {
		case err == nil:
			return -1
		case IsTemporary(err):
			return 3
		case !IsNotFound(err):
			return 2 // permanent: loop, chain too long, bad name
		case Rcode(err) == dns.RcodeNameError:
			return 1
		default:
			return 0
		}
	}
	best := slices.MaxFunc(errs, func(x, y error) int { return cmp.Compare(rank(x), rank(y)) })
	if de, ok := best.(*net.DNSError); ok && rank(best) == 0 { // NODATA for both types
		return &net.DNSError{Err: "no A or AAAA record", Name: de.Name, Server: de.Server, IsNotFound: true, UnwrapErr: de.UnwrapErr}
	}
	return best
}

// LookupAddr returns the PTR names of an IP address (RFC 1035 §3.5, RFC
// 3596 §2.5), absolute and lowercase.
func (c *Client) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	rev, err := dns.ReverseAddr(addr)
	if err != nil {
		return nil, permanent(addr, "", "unrecognized address")
	}
	a, err := c.lookup(ctx, rev, dns.TypePTR)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(a.Records))
	for _, rr := range a.Records {
		if p, ok := rr.(*dns.PTR); ok {
			out = append(out, Fqdn(p.Ptr))
		}
	}
	return out, nil
}

// LookupCNAME follows host's CNAME chain (RFC 1034 §3.6.2) one CNAME query
// per hop and returns its last name, absolute and lowercase. The chain's
// end need not exist: a customer's DKIM CNAME is checked by where it
// points. Unlike *net.Resolver, a host with no CNAME is not found (NODATA,
// or NXDOMAIN when the name does not exist) even if it has addresses,
// because sesame asks exactly whether a CNAME is published. A failure at
// any hop is returned; a loop or more than MaxChain hops is a permanent
// error.
func (c *Client) LookupCNAME(ctx context.Context, host string) (string, error) {
	fq := Fqdn(host)
	if err := checkName(host, fq); err != nil {
		return "", err
	}
	cur, target := fq, ""
	seen := map[string]bool{fq: true}
	for hops := 0; ; hops++ {
		a, err := c.Query(ctx, cur, dns.TypeCNAME)
		if err != nil {
			return "", rename(err, fq, cur)
		}
		var next string
		for _, rr := range a.Records {
			if cn, ok := rr.(*dns.CNAME); ok {
				next = Fqdn(cn.Target)
				break
			}
		}
		if a.Rcode == dns.RcodeNameError || next == "" {
			if target != "" {
				return target, nil
			}
			rc := dns.RcodeSuccess
			if a.Rcode == dns.RcodeNameError {
				rc = dns.RcodeNameError
			}
			return "", notFound(fq, a.Server, rc, dns.TypeCNAME)
		}
		if seen[next] {
			return "", permanent(fq, a.Server, "CNAME loop at "+next)
		}
		if hops == MaxChain {
			return "", permanent(fq, a.Server, fmt.Sprintf("CNAME chain longer than %d", MaxChain))
		}
		seen[next] = true
		cur, target = next, next
	}
}
