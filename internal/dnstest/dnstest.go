// Package dnstest runs an authoritative DNS server on loopback holding zone
// data that tests change while it answers. It stands in for a customer's
// DNS provider (and, with Forward, for a recursive resolver that can also
// reach sesame's own zone). Only tests import it.
package dnstest

import (
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Server is an authoritative DNS server on 127.0.0.1, UDP and TCP on one port.
type Server struct {
	t       testing.TB
	mu      sync.Mutex
	rrs     map[string][]dns.RR // by lowercase absolute owner name
	rcodes  map[string]int
	delays  map[string]time.Duration
	forward map[string]string // suffix → server
	queries atomic.Int64
	udp     *dns.Server
	tcp     *dns.Server
	addr    string
	client  *dns.Client
}

// Start starts a server that stops when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, rrs: map[string][]dns.RR{}, rcodes: map[string]int{}, delays: map[string]time.Duration{}, forward: map[string]string{},
		client: &dns.Client{Net: "udp", Timeout: 2 * time.Second, UDPSize: 4096}}
	var pc net.PacketConn
	var ln net.Listener
	for range 20 {
		var err error
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatalf("dnstest: %v", err)
		}
		if ln, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			break
		}
		pc.Close()
		pc = nil
	}
	if pc == nil {
		t.Fatal("dnstest: no port free for UDP and TCP")
	}
	s.addr = pc.LocalAddr().String()
	started := make(chan struct{}, 2)
	s.udp = &dns.Server{PacketConn: pc, Handler: s, NotifyStartedFunc: func() { started <- struct{}{} }}
	s.tcp = &dns.Server{Listener: ln, Handler: s, NotifyStartedFunc: func() { started <- struct{}{} }}
	go s.udp.ActivateAndServe()
	go s.tcp.ActivateAndServe()
	<-started
	<-started
	t.Cleanup(func() {
		s.udp.Shutdown()
		s.tcp.Shutdown()
	})
	return s
}

// Addr returns "127.0.0.1:port".
func (s *Server) Addr() string { return s.addr }

// Queries returns how many queries the server answered.
func (s *Server) Queries() int { return int(s.queries.Load()) }

func key(name string) string { return dns.Fqdn(strings.ToLower(name)) }

func (s *Server) parse(lines []string) []dns.RR {
	s.t.Helper()
	var out []dns.RR
	for _, l := range lines {
		rr, err := dns.NewRR(l)
		if err != nil || rr == nil {
			s.t.Fatalf("dnstest: bad record %q: %v", l, err)
		}
		out = append(out, rr)
	}
	return out
}

// Add adds records given as zone-file lines, e.g.
// `tok._domainkey.example.com. 300 IN CNAME tok.dkim.sesame.localhost.`.
func (s *Server) Add(lines ...string) {
	s.t.Helper()
	rrs := s.parse(lines)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rr := range rrs {
		k := key(rr.Header().Name)
		s.rrs[k] = append(s.rrs[k], rr)
	}
}

// Remove deletes the records of qtype at name (dns.TypeANY: all of them).
func (s *Server) Remove(name string, qtype uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key(name)
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

// Set replaces the records of qtype at name with lines.
func (s *Server) Set(name string, qtype uint16, lines ...string) {
	s.t.Helper()
	s.Remove(name, qtype)
	s.Add(lines...)
}

// SetRcode makes every answer for name carry rcode (e.g. dns.RcodeServerFailure); -1 clears.
func (s *Server) SetRcode(name string, rcode int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rcode < 0 {
		delete(s.rcodes, key(name))
	} else {
		s.rcodes[key(name)] = rcode
	}
}

// SetDelay delays answers for name by d.
func (s *Server) SetDelay(name string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delays[key(name)] = d
}

// Forward answers names under suffix by asking the DNS server at addr, as
// a recursive resolver would (used to reach sesame's own zone).
func (s *Server) Forward(suffix, addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forward[key(suffix)] = addr
}

// lookup returns the records at name of qtype, the CNAME there if any, and
// whether the name exists (has records or descendants).
func (s *Server) lookup(name string, qtype uint16) (rrs []dns.RR, cname *dns.CNAME, exists bool) {
	for _, rr := range s.rrs[name] {
		exists = true
		if rr.Header().Rrtype == qtype {
			rrs = append(rrs, dns.Copy(rr))
		}
		if c, ok := rr.(*dns.CNAME); ok {
			cname = c
		}
	}
	if !exists {
		for k := range s.rrs {
			if strings.HasSuffix(k, "."+name) {
				return nil, nil, true // empty non-terminal
			}
		}
	}
	return rrs, cname, exists
}

func (s *Server) forwardFor(name string) string {
	for suffix, addr := range s.forward {
		if name == suffix || strings.HasSuffix(name, "."+suffix) {
			return addr
		}
	}
	return ""
}

// ServeDNS implements dns.Handler.
func (s *Server) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	s.queries.Add(1)
	m := new(dns.Msg)
	m.SetReply(r)
	if len(r.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		w.WriteMsg(m)
		return
	}
	q := r.Question[0]
	name := key(q.Name)
	s.mu.Lock()
	delay := s.delays[name]
	rcode, forced := s.rcodes[name]
	s.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	m.Authoritative = true
	m.RecursionAvailable = true
	if forced {
		m.Rcode = rcode
		w.WriteMsg(m)
		return
	}
	cur := name
	for hop := 0; hop < 10; hop++ {
		if fw := s.forwardFor(cur); fw != "" {
			fq := new(dns.Msg)
			fq.SetQuestion(cur, q.Qtype)
			if resp, _, err := s.client.Exchange(fq, fw); err == nil {
				m.Answer = append(m.Answer, resp.Answer...)
				m.Rcode = resp.Rcode
			} else {
				m.Rcode = dns.RcodeServerFailure
			}
			break
		}
		s.mu.Lock()
		rrs, cname, exists := s.lookup(cur, q.Qtype)
		s.mu.Unlock()
		if len(rrs) > 0 {
			m.Answer = append(m.Answer, rrs...)
			break
		}
		if cname != nil && q.Qtype != dns.TypeCNAME {
			m.Answer = append(m.Answer, dns.Copy(cname))
			cur = key(cname.Target)
			continue
		}
		if !exists && hop == 0 {
			m.Rcode = dns.RcodeNameError
		}
		break
	}
	if opt := r.IsEdns0(); opt != nil {
		m.SetEdns0(opt.UDPSize(), false)
	}
	if _, isUDP := w.RemoteAddr().(*net.UDPAddr); isUDP {
		size := dns.MinMsgSize
		if opt := r.IsEdns0(); opt != nil {
			size = int(opt.UDPSize())
		}
		m.Truncate(size)
	}
	w.WriteMsg(m)
}
