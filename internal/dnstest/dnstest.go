// Package dnstest runs an authoritative DNS server on loopback whose zone
// data tests change while it answers. It stands in for a customer's DNS
// provider and, with Forward, for the recursive resolver sesame is pointed
// at (one that can also reach sesame's own zone). Other packages' tests
// import it; production code never does.
//
// The server answers like an authoritative server for every name it holds
// (RFC 1034 §4.3.2), without zone cuts, wildcards, SOA or DNSSEC:
//
//   - Names match exactly, ASCII case-insensitively (RFC 4343 §3).
//   - A name with no records and no descendant names is NXDOMAIN (RFC 1035
//     §4.1.1 RCODE 3). A name with records of other types, or with
//     descendants (an empty non-terminal, RFC 8020 §2), is NODATA: NOERROR
//     with an empty answer (RFC 2308 §2.2).
//   - A CNAME at a name answers every type but CNAME with the CNAME, and
//     the server chases it (RFC 1034 §4.3.2 step 3.a) while the target is
//     in its data or under a Forward suffix; a target it does not know is
//     left for the client to ask about. The RCODE is that of the chain's
//     last name (RFC 6604 §3).
//   - Answers carry the AA bit (RFC 1035 §4.1.1) and RA, since it also
//     plays the recursive resolver. A UDP answer larger than the client's
//     buffer (512 octets without EDNS0, RFC 1035 §4.2.1; the OPT record's
//     size with it, RFC 6891 §6.2.5) is truncated with TC set, so clients
//     retry over TCP on the same port (RFC 7766 §5).
//
// A Server is safe for concurrent use: tests change the data while it
// answers, and every change is seen by the next query.
package dnstest

import (
	"context"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// maxChase bounds the CNAMEs the server follows for one answer.
const maxChase = 16

// forwardTimeout bounds one forwarded exchange.
const forwardTimeout = 2 * time.Second

// Server is an authoritative DNS server on 127.0.0.1, UDP and TCP on one
// port, holding mutable zone data.
type Server struct {
	t       testing.TB
	addr    string
	ctx     context.Context // done when the test ends
	queries atomic.Int64
	udp     *dns.Server
	tcp     *dns.Server

	mu      sync.Mutex
	rrs     map[string][]dns.RR // by canonical owner name
	rcodes  map[string]int
	delays  map[string]time.Duration
	forward map[string]string // canonical suffix → "host:port"
}

// Start starts a server on 127.0.0.1:0 (the same port for UDP and TCP) and
// stops it when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	pc, ln := listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		t: t, addr: pc.LocalAddr().String(), ctx: ctx,
		rrs: map[string][]dns.RR{}, rcodes: map[string]int{}, delays: map[string]time.Duration{}, forward: map[string]string{},
	}
	started := make(chan struct{}, 2)
	notify := func() { started <- struct{}{} }
	s.udp = &dns.Server{PacketConn: pc, Handler: s, NotifyStartedFunc: notify}
	s.tcp = &dns.Server{Listener: ln, Handler: s, NotifyStartedFunc: notify}
	errs := make(chan error, 2)
	go func() { errs <- s.udp.ActivateAndServe() }()
	go func() { errs <- s.tcp.ActivateAndServe() }()
	for range 2 {
		select {
		case <-started:
		case err := <-errs:
			cancel()
			t.Fatalf("dnstest: serve: %v", err)
		}
	}
	t.Cleanup(func() {
		cancel() // ends delays and forwarded exchanges
		s.udp.Shutdown()
		s.tcp.Shutdown()
	})
	return s
}

// listen finds a port free for both UDP and TCP on 127.0.0.1.
func listen(t testing.TB) (net.PacketConn, net.Listener) {
	t.Helper()
	var lastErr error
	for range 50 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("dnstest: listen udp: %v", err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln
		}
		pc.Close()
		lastErr = err
	}
	t.Fatalf("dnstest: no port free for both UDP and TCP: %v", lastErr)
	return nil, nil
}

// Addr returns the server's "127.0.0.1:port".
func (s *Server) Addr() string { return s.addr }

// Queries returns how many queries the server has received.
func (s *Server) Queries() int { return int(s.queries.Load()) }

func canon(name string) string { return dns.CanonicalName(strings.TrimSpace(name)) }

// parse turns zone-file lines (RFC 1035 §5.1) into records, failing the
// test on a bad one.
func (s *Server) parse(lines []string) []dns.RR {
	s.t.Helper()
	out := make([]dns.RR, 0, len(lines))
	for _, l := range lines {
		rr, err := dns.NewRR(l)
		if err != nil || rr == nil {
			s.t.Fatalf("dnstest: bad record %q: %v", l, err)
			return nil
		}
		out = append(out, rr)
	}
	return out
}

// Add adds records given as zone-file lines (RFC 1035 §5.1), e.g.
// `tok._domainkey.example.com. 300 IN CNAME tok.dkim.sesame.localhost.`.
// A record already present is not added twice (RFC 2181 §5). A line that
// does not parse fails the test (on the testing.TB given to Start).
func (s *Server) Add(rrs ...string) {
	s.t.Helper()
	parsed := s.parse(rrs)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.add(parsed)
}

func (s *Server) add(rrs []dns.RR) {
	for _, rr := range rrs {
		k := canon(rr.Header().Name)
		dup := false
		for _, have := range s.rrs[k] {
			if dns.IsDuplicate(have, rr) {
				dup = true
				break
			}
		}
		if !dup {
			s.rrs[k] = append(s.rrs[k], rr)
		}
	}
}

// Remove removes all records of qtype at name; dns.TypeANY removes every
// record at name.
func (s *Server) Remove(name string, qtype uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.remove(canon(name), qtype)
}

func (s *Server) remove(k string, qtype uint16) {
	var keep []dns.RR
	for _, rr := range s.rrs[k] {
		if qtype != dns.TypeANY && rr.Header().Rrtype != qtype {
			keep = append(keep, rr)
		}
	}
	if len(keep) == 0 {
		delete(s.rrs, k)
	} else {
		s.rrs[k] = keep
	}
}

// Set replaces the records of qtype at name with rrs (zone-file lines), in
// one step: no query sees the name between the old and the new records.
func (s *Server) Set(name string, qtype uint16, rrs ...string) {
	s.t.Helper()
	parsed := s.parse(rrs)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.remove(canon(name), qtype)
	s.add(parsed)
}

// SetRcode makes every answer about name carry rcode, e.g.
// dns.RcodeServerFailure or dns.RcodeRefused, with no records; this holds
// for name as a question and as a CNAME target the server chases. A
// negative rcode clears it.
func (s *Server) SetRcode(name string, rcode int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rcode < 0 {
		delete(s.rcodes, canon(name))
	} else {
		s.rcodes[canon(name)] = rcode
	}
}

// SetDelay delays answers about name by d, to provoke client timeouts; 0
// clears it. Delays end when the test does.
func (s *Server) SetDelay(name string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d <= 0 {
		delete(s.delays, canon(name))
	} else {
		s.delays[canon(name)] = d
	}
}

// Forward delegates suffix and every name under it to the DNS server at
// addr: the server answers questions there, and chases CNAMEs into there,
// by asking addr, as a recursive resolver would. Tests use it to reach
// sesame's own DNS server ("sesame.localhost.") through this one, so that
// customer CNAME → <token>.dkim.sesame.localhost resolves in one query. The
// longest matching suffix wins; an empty addr removes the delegation.
func (s *Server) Forward(suffix string, addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if addr == "" {
		delete(s.forward, canon(suffix))
	} else {
		s.forward[canon(suffix)] = addr
	}
}

// node is what answering about one name needs, copied under the lock.
type node struct {
	rrs    []dns.RR // records of the type asked (copies)
	cname  dns.RR   // the CNAME at the name (a copy), if any
	target string   // its target, canonical
	exists bool     // records of any type, or descendants
	rcode  int      // forced RCODE, -1 if none
	delay  time.Duration
	fwd    string // server to ask, if the name is under a Forward suffix
}

func (s *Server) node(name string, qtype uint16) node {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := node{rcode: -1, delay: s.delays[name], fwd: s.forwardFor(name)}
	if rc, ok := s.rcodes[name]; ok {
		n.rcode = rc
	}
	for _, rr := range s.rrs[name] {
		n.exists = true
		if qtype == dns.TypeANY || rr.Header().Rrtype == qtype {
			n.rrs = append(n.rrs, dns.Copy(rr))
		}
		if c, ok := rr.(*dns.CNAME); ok && n.cname == nil {
			n.cname, n.target = dns.Copy(c), canon(c.Target)
		}
	}
	n.exists = n.exists || s.hasDescendants(name)
	return n
}

// hasDescendants reports whether a name below name holds records, making
// name an empty non-terminal (RFC 8020 §2).
func (s *Server) hasDescendants(name string) bool {
	for k := range s.rrs {
		if name == "." || strings.HasSuffix(k, "."+name) {
			return true
		}
	}
	return false
}

// forwardFor returns the server for the longest Forward suffix of name.
func (s *Server) forwardFor(name string) string {
	best, addr := -1, ""
	for suffix, a := range s.forward {
		if (name == suffix || strings.HasSuffix(name, "."+suffix) || suffix == ".") && len(suffix) > best {
			best, addr = len(suffix), a
		}
	}
	return addr
}

// ServeDNS answers one query; it implements dns.Handler.
func (s *Server) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	s.queries.Add(1)
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	m.RecursionAvailable = true
	switch {
	case r.Opcode != dns.OpcodeQuery:
		m.SetRcode(r, dns.RcodeNotImplemented)
	case len(r.Question) != 1 || r.Question[0].Qclass != dns.ClassINET:
		m.SetRcode(r, dns.RcodeFormatError)
	default:
		if !s.answer(m, r.Question[0]) {
			return // the test ended during a delay
		}
	}
	s.write(w, r, m)
}

// answer fills m for q, chasing CNAMEs (RFC 1034 §4.3.2 step 3.a); false
// if the test ended meanwhile.
func (s *Server) answer(m *dns.Msg, q dns.Question) bool {
	cur := canon(q.Name)
	seen := map[string]bool{}
	for hop := 0; hop < maxChase && !seen[cur]; hop++ {
		seen[cur] = true
		n := s.node(cur, q.Qtype)
		if n.delay > 0 {
			select {
			case <-time.After(n.delay):
			case <-s.ctx.Done():
				return false
			}
		}
		switch {
		case n.rcode >= 0:
			m.Rcode = n.rcode
			if n.rcode != dns.RcodeSuccess && n.rcode != dns.RcodeNameError {
				m.Answer = nil // a failure carries no data
			}
			return true
		case n.fwd != "":
			next, done := s.forwardTo(m, n.fwd, cur, q.Qtype)
			if done {
				return true
			}
			cur = next
			continue
		case len(n.rrs) > 0:
			m.Answer = append(m.Answer, n.rrs...)
			return true
		case !n.exists:
			if hop == 0 {
				m.Rcode = dns.RcodeNameError
			}
			return true
		case n.cname == nil || q.Qtype == dns.TypeCNAME || q.Qtype == dns.TypeANY:
			return true // NODATA
		}
		m.Answer = append(m.Answer, n.cname)
		if !s.knows(n.target) {
			return true // the client asks about the target itself
		}
		cur = n.target
	}
	return true
}

// knows reports whether name is in the data, under a Forward suffix, or
// has a forced RCODE.
func (s *Server) knows(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, forced := s.rcodes[name]
	return forced || len(s.rrs[name]) > 0 || s.forwardFor(name) != "" || s.hasDescendants(name)
}

// forwardTo asks addr about name and appends its answer to m. It returns
// the name to go on with when that answer ends in a CNAME whose target
// this server knows and the other does not answer for.
func (s *Server) forwardTo(m *dns.Msg, addr, name string, qtype uint16) (next string, done bool) {
	resp, err := s.exchange(addr, name, qtype)
	if err != nil {
		m.Rcode = dns.RcodeServerFailure
		return "", true
	}
	m.Answer = append(m.Answer, resp.Answer...)
	m.Rcode = resp.Rcode
	if resp.Rcode != dns.RcodeSuccess || qtype == dns.TypeCNAME {
		return "", true
	}
	// Walk the forwarded chain to its end.
	end, found := name, false
	for range maxChase {
		var to string
		for _, rr := range resp.Answer {
			if !strings.EqualFold(rr.Header().Name, end) {
				continue
			}
			if rr.Header().Rrtype == qtype {
				found = true
			} else if c, ok := rr.(*dns.CNAME); ok && to == "" {
				to = canon(c.Target)
			}
		}
		if found || to == "" {
			break
		}
		end = to
	}
	if found || end == name || !s.knows(end) {
		return "", true
	}
	s.mu.Lock()
	fwd := s.forwardFor(end)
	s.mu.Unlock()
	if fwd == addr {
		return "", true // the other server had its chance
	}
	return end, false
}

// exchange asks addr one question over UDP, then TCP if truncated; the
// test's end cancels it.
func (s *Server) exchange(addr, name string, qtype uint16) (*dns.Msg, error) {
	q := new(dns.Msg)
	q.SetQuestion(name, qtype)
	q.SetEdns0(dns.DefaultMsgSize, false)
	ctx, cancel := context.WithTimeout(s.ctx, forwardTimeout)
	defer cancel()
	resp, err := s.roundTrip(ctx, "udp", q, addr)
	if err == nil && resp.Truncated {
		resp, err = s.roundTrip(ctx, "tcp", q, addr)
	}
	return resp, err
}

func (s *Server) roundTrip(ctx context.Context, network string, q *dns.Msg, addr string) (*dns.Msg, error) {
	c := &dns.Client{Net: network, Timeout: forwardTimeout}
	conn, err := c.DialContext(ctx, addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	resp, _, err := c.ExchangeWithConnContext(ctx, q, conn)
	return resp, err
}

// write sends m, truncated to the client's UDP buffer with TC set when it
// does not fit (RFC 1035 §4.2.1, RFC 6891 §7); over TCP only to the 65535
// octets a message can have (RFC 1035 §4.2.2).
func (s *Server) write(w dns.ResponseWriter, r, m *dns.Msg) {
	size := dns.MaxMsgSize
	if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
		size = dns.MinMsgSize
		if opt := r.IsEdns0(); opt != nil {
			size = int(opt.UDPSize())
		}
	}
	if opt := r.IsEdns0(); opt != nil {
		m.SetEdns0(opt.UDPSize(), false)
	}
	m.Truncate(size)
	_ = w.WriteMsg(m)
}
