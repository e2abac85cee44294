package dnsx

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Query asks for name's records of qtype, following CNAME chains (RFC 1034
// §3.6.2, RFC 2181 §10.1.1), and returns the raw answer. A nil error with
// Rcode dns.RcodeNameError, or with no Records (NODATA), is possible: the
// Lookup methods turn those into not-found errors. Errors are *net.DNSError
// (see the package doc); a is never nil.
func (c *Client) Query(ctx context.Context, name string, qtype uint16) (a *Answer, err error) {
	start := time.Now()
	fq := Fqdn(name)
	a = &Answer{Name: fq, Rcode: -1}
	defer func() {
		c.log.Debug("dns query", "name", fq, "type", typeName(qtype), "rcode", rcodeName(a.Rcode),
			"records", len(a.Records), "chain", len(a.Chain), "server", a.Server,
			"duration", time.Since(start), "err", err)
	}()
	if err := checkName(name, fq); err != nil {
		return a, err
	}
	cur := fq
	seen := map[string]bool{fq: true}
	for {
		resp, server, err := c.exchange(ctx, cur, qtype)
		if err != nil {
			return a, rename(err, fq, cur)
		}
		a.Server, a.Rcode = server, resp.Rcode
		asked := cur
		// Follow the chain as far as this answer carries it.
		for {
			recs, next := pick(resp.Answer, cur, qtype)
			if len(recs) > 0 {
				if len(recs) > MaxRecords {
					c.log.Warn("dns answer too big, records dropped", "name", cur, "type", typeName(qtype),
						"records", len(recs), "kept", MaxRecords, "server", server)
					recs = recs[:MaxRecords]
				}
				a.Records = recs
				return a, nil
			}
			if next == "" {
				break
			}
			if seen[next] {
				return a, permanent(fq, server, "CNAME loop at "+next)
			}
			if len(a.Chain) == MaxChain {
				return a, permanent(fq, server, fmt.Sprintf("CNAME chain longer than %d", MaxChain))
			}
			seen[next] = true
			a.Chain = append(a.Chain, next)
			cur = next
		}
		// Done when this response moved the chain no further: NODATA or
		// NXDOMAIN at its last name (RFC 6604 §3: the RCODE is about the
		// last name of the chain). Otherwise the server stopped at a CNAME
		// whose target it did not include: ask for the target (RFC 1034
		// §5.3.3 step 4.c).
		if cur == asked || resp.Rcode == dns.RcodeNameError {
			return a, nil
		}
	}
}

// checkName rejects what cannot be a domain name (RFC 1035 §2.3.4: labels
// of at most 63 octets, names of at most 255) as not found, as package net
// does and as RFC 7208 §4.3 treats malformed names.
func checkName(raw, fq string) error {
	if strings.TrimSpace(raw) == "" {
		return &net.DNSError{Err: errNoSuchHost + " (empty name)", Name: raw, IsNotFound: true}
	}
	if _, ok := dns.IsDomainName(fq); !ok {
		return &net.DNSError{Err: errNoSuchHost + " (invalid domain name)", Name: raw, IsNotFound: true}
	}
	return nil
}

// rename reports a failure at a later hop of a chain under the name asked.
func rename(err error, asked, hop string) error {
	de, ok := err.(*net.DNSError)
	if !ok {
		return err
	}
	de.Name = displayName(asked)
	if hop != asked {
		de.Err += " (at " + hop + ")"
	}
	return de
}

// pick returns the records of qtype owned by name in an answer section and
// the target of a CNAME owned by name. Records owned by other names (a
// hostile or confused server's) are ignored, as are classes other than IN.
func pick(answer []dns.RR, name string, qtype uint16) (recs []dns.RR, next string) {
	for _, rr := range answer {
		h := rr.Header()
		if h == nil || h.Class != dns.ClassINET || !sameName(h.Name, name) {
			continue
		}
		if h.Rrtype == qtype {
			recs = append(recs, rr)
			continue
		}
		// A CNAME answers every type but CNAME itself (RFC 1034 §3.6.2).
		if cn, ok := rr.(*dns.CNAME); ok && qtype != dns.TypeCNAME && next == "" {
			next = Fqdn(cn.Target)
		}
	}
	return recs, next
}

// exchange asks the servers, in rounds, until one gives a usable response
// (NOERROR or NXDOMAIN). Failure RCODEs (SERVFAIL, REFUSED, …) and
// transport errors move on to the next server.
func (c *Client) exchange(ctx context.Context, name string, qtype uint16) (*dns.Msg, string, error) {
	var last *net.DNSError
	for i := range c.attempts * len(c.servers) {
		if err := ctxDone(ctx); err != nil {
			return nil, "", transport(name, "", err)
		}
		server := c.servers[i%len(c.servers)]
		resp, err := c.ask(ctx, name, qtype, server)
		switch {
		case err != nil && ctxDone(ctx) != nil:
			return nil, server, transport(name, server, ctxDone(ctx))
		case err != nil:
			last = transport(name, server, err)
		case resp.Rcode == dns.RcodeSuccess || resp.Rcode == dns.RcodeNameError:
			return resp, server, nil
		default:
			last = failed(name, server, resp.Rcode)
		}
		c.log.Debug("dns exchange failed", "name", name, "type", typeName(qtype), "server", server, "attempt", i+1, "err", last)
	}
	return nil, last.Server, last
}

// ctxDone returns ctx's error, or context.DeadlineExceeded once its
// deadline has passed: a socket deadline set from it may fire before the
// Context's own timer does.
func ctxDone(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return nil
}

// ask sends one question to one server: UDP with EDNS0, TCP when the
// answer is truncated (RFC 7766 §5), and without EDNS0 when the server
// rejects it (RFC 6891 §7).
func (c *Client) ask(ctx context.Context, name string, qtype uint16, server string) (*dns.Msg, error) {
	resp, err := c.askUDPThenTCP(ctx, question(name, qtype, true), server)
	if err == nil && (resp.Rcode == dns.RcodeFormatError || resp.Rcode == dns.RcodeNotImplemented) && resp.IsEdns0() == nil {
		resp, err = c.askUDPThenTCP(ctx, question(name, qtype, false), server)
	}
	return resp, err
}

func question(name string, qtype uint16, edns bool) *dns.Msg {
	q := new(dns.Msg)
	q.SetQuestion(name, qtype)
	q.RecursionDesired = true // RFC 1035 §4.1.1: the server is a recursive resolver
	if edns {
		q.SetEdns0(ednsBufSize, false)
	}
	return q
}

func (c *Client) askUDPThenTCP(ctx context.Context, q *dns.Msg, server string) (*dns.Msg, error) {
	resp, err := c.roundTrip(ctx, c.udp, q, server)
	if err == nil && resp.Truncated {
		// RFC 1035 §4.2.1, RFC 7766 §5: retry over TCP.
		resp, err = c.roundTrip(ctx, c.tcp, q, server)
	}
	return resp, err
}

// roundTrip is one exchange on a fresh connection, bounded by the
// client's Timeout and the Context (whose cancellation closes the socket;
// miekg/dns only honours a Context's deadline).
func (c *Client) roundTrip(ctx context.Context, cl *dns.Client, q *dns.Msg, server string) (*dns.Msg, error) {
	conn, err := cl.DialContext(ctx, server)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cl.Net, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	resp, _, err := cl.ExchangeWithConnContext(ctx, q, conn)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cl.Net, err)
	}
	if err := checkReply(q, resp); err != nil {
		return nil, fmt.Errorf("%s: %w", cl.Net, err)
	}
	return resp, nil
}

// errBadReply is a reply that does not answer the question sent.
var errBadReply = errors.New("reply does not match the query")

// checkReply rejects a reply that is not a response to q (RFC 1035
// §4.1.1: QR set, same opcode; §7.3: same question). miekg/dns already
// matched the ID. A failure RCODE may come without the question.
func checkReply(q, r *dns.Msg) error {
	if !r.Response || r.Opcode != dns.OpcodeQuery {
		return fmt.Errorf("%w: not a query response", errBadReply)
	}
	if len(r.Question) == 0 && r.Rcode != dns.RcodeSuccess && r.Rcode != dns.RcodeNameError {
		return nil
	}
	if len(r.Question) != 1 {
		return fmt.Errorf("%w: %d questions", errBadReply, len(r.Question))
	}
	want, got := q.Question[0], r.Question[0]
	if got.Qtype != want.Qtype || got.Qclass != want.Qclass || !sameName(got.Name, want.Name) {
		return fmt.Errorf("%w: answer to %s %s", errBadReply, got.Name, typeName(got.Qtype))
	}
	return nil
}
