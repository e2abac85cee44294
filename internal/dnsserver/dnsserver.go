// Package dnsserver is the authoritative DNS server for sesame's service
// domain D, mirroring what amazonses.com serves (PRODUCT.md, "Names under
// the service domain"):
//
//	<token>.dkim.D        TXT  Easy DKIM public key
//	D                     TXT  v=spf1 ip4:… ip6:… -all; SOA; NS ns.D
//	feedback-smtp.R.D     A/AAAA  (MX target of custom MAIL FROM domains)
//	inbound-smtp.R.D      A/AAAA  (MX target for receiving)
//	R.D                   MX 10 feedback-smtp.R.D; TXT v=spf1 include:D -all
//	simulator.D           MX 10 inbound-smtp.<first region>.D
//	ns.D                  A/AAAA
//
// It answers only for D (REFUSED elsewhere: it is not an open resolver),
// reads DKIM keys through Keys on every query so a new identity's key
// resolves at once, and keeps answers small (RFC 8482 for ANY).
package dnsserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Keys supplies Easy DKIM public keys by token.
type Keys interface {
	// DKIMRecord returns the TXT value at <token>.dkim.D; ok is false when
	// there is no such token.
	DKIMRecord(ctx context.Context, token string) (txt string, ok bool, err error)
}

// Config configures a Server.
type Config struct {
	Domain    string
	Regions   []string
	PublicIPs []net.IP
	Keys      Keys
	TTL       time.Duration // default 300 s
	Logger    *slog.Logger
}

// Server answers for the service domain.
type Server struct {
	zone    string // absolute, lowercase
	regions map[string]bool
	first   string
	ips     []net.IP
	keys    Keys
	ttl     uint32
	serial  uint32
	log     *slog.Logger

	mu       sync.Mutex
	udp, tcp *dns.Server
	addr     string
}

// New returns a Server.
func New(cfg Config) (*Server, error) {
	if cfg.Domain == "" || len(cfg.Regions) == 0 || cfg.Keys == nil {
		return nil, errors.New("dnsserver: domain, regions and keys are required")
	}
	s := &Server{
		zone: dns.Fqdn(strings.ToLower(cfg.Domain)), regions: map[string]bool{}, first: cfg.Regions[0],
		ips: cfg.PublicIPs, keys: cfg.Keys, ttl: 300, serial: uint32(time.Now().Unix()), log: cfg.Logger,
	}
	if cfg.TTL > 0 {
		s.ttl = uint32(cfg.TTL / time.Second)
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for _, r := range cfg.Regions {
		s.regions[strings.ToLower(r)] = true
	}
	return s, nil
}

func (s *Server) hdr(name string, t uint16) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: s.ttl}
}

func (s *Server) soa() dns.RR {
	return &dns.SOA{Hdr: s.hdr(s.zone, dns.TypeSOA), Ns: "ns." + s.zone, Mbox: "hostmaster." + s.zone,
		Serial: s.serial, Refresh: 3600, Retry: 600, Expire: 604800, Minttl: s.ttl}
}

func (s *Server) addrs(name string, qtype uint16) []dns.RR {
	var out []dns.RR
	for _, ip := range s.ips {
		if v4 := ip.To4(); v4 != nil && qtype == dns.TypeA {
			out = append(out, &dns.A{Hdr: s.hdr(name, dns.TypeA), A: v4})
		} else if v4 == nil && qtype == dns.TypeAAAA {
			out = append(out, &dns.AAAA{Hdr: s.hdr(name, dns.TypeAAAA), AAAA: ip})
		}
	}
	return out
}

func (s *Server) txt(name, value string) dns.RR {
	var parts []string
	for len(value) > 255 { // RFC 1035 §3.3.14: ≤255-octet strings
		parts, value = append(parts, value[:255]), value[255:]
	}
	return &dns.TXT{Hdr: s.hdr(name, dns.TypeTXT), Txt: append(parts, value)}
}

func (s *Server) spf() string {
	var b strings.Builder
	b.WriteString("v=spf1")
	for _, ip := range s.ips {
		if ip.To4() != nil {
			b.WriteString(" ip4:" + ip.String())
		} else {
			b.WriteString(" ip6:" + ip.String())
		}
	}
	b.WriteString(" -all")
	return b.String()
}

// isToken reports whether label can be an Easy DKIM token ([a-z2-7]{32}),
// so garbage never reaches the store.
func isToken(label string) bool {
	if len(label) != 32 {
		return false
	}
	for i := 0; i < len(label); i++ {
		c := label[i]
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// answer returns the records for name/qtype, whether the name exists, and
// an error when the answer cannot be given (SERVFAIL).
func (s *Server) answer(ctx context.Context, name string, qtype uint16) ([]dns.RR, bool, error) {
	rel := strings.TrimSuffix(strings.TrimSuffix(name, s.zone), ".")
	labels := []string{}
	if rel != "" {
		labels = strings.Split(rel, ".")
	}
	pick := func(all ...dns.RR) []dns.RR {
		var out []dns.RR
		for _, rr := range all {
			if rr != nil && rr.Header().Rrtype == qtype {
				out = append(out, rr)
			}
		}
		return out
	}
	switch {
	case len(labels) == 0: // the apex
		ns := &dns.NS{Hdr: s.hdr(name, dns.TypeNS), Ns: "ns." + s.zone}
		return pick(s.soa(), ns, s.txt(name, s.spf())), true, nil
	case len(labels) == 1 && labels[0] == "ns":
		return s.addrs(name, qtype), true, nil
	case len(labels) == 1 && labels[0] == "dkim":
		return nil, true, nil // empty non-terminal
	case len(labels) == 1 && labels[0] == "simulator":
		mx := &dns.MX{Hdr: s.hdr(name, dns.TypeMX), Preference: 10, Mx: "inbound-smtp." + s.first + "." + s.zone}
		return pick(mx), true, nil
	case len(labels) == 1 && s.regions[labels[0]]:
		mx := &dns.MX{Hdr: s.hdr(name, dns.TypeMX), Preference: 10, Mx: "feedback-smtp." + name}
		return pick(mx, s.txt(name, "v=spf1 include:"+strings.TrimSuffix(s.zone, ".")+" -all")), true, nil
	case len(labels) == 2 && s.regions[labels[1]] && (labels[0] == "feedback-smtp" || labels[0] == "inbound-smtp"):
		return s.addrs(name, qtype), true, nil
	case len(labels) == 2 && labels[1] == "dkim" && isToken(labels[0]):
		txt, ok, err := s.keys.DKIMRecord(ctx, labels[0])
		if err != nil {
			return nil, false, err
		}
		if !ok {
			return nil, false, nil
		}
		return pick(s.txt(name, txt)), true, nil
	}
	return nil, false, nil
}

// ServeDNS implements dns.Handler.
func (s *Server) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("dns handler panic", "panic", fmt.Sprint(p))
			m := new(dns.Msg)
			m.SetRcode(r, dns.RcodeServerFailure)
			w.WriteMsg(m)
		}
	}()
	m := new(dns.Msg)
	m.SetReply(r)
	m.RecursionAvailable = false
	switch {
	case r.Opcode != dns.OpcodeQuery:
		m.Rcode = dns.RcodeNotImplemented
	case len(r.Question) != 1:
		m.Rcode = dns.RcodeFormatError
	case r.Question[0].Qclass != dns.ClassINET:
		m.Rcode = dns.RcodeRefused // only class IN is served
	default:
		s.resolve(r.Question[0], m)
	}
	if opt := r.IsEdns0(); opt != nil {
		size := min(max(opt.UDPSize(), dns.MinMsgSize), 1232)
		m.SetEdns0(size, false)
	}
	if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
		size := dns.MinMsgSize
		if opt := r.IsEdns0(); opt != nil {
			size = int(min(max(opt.UDPSize(), dns.MinMsgSize), 1232))
		}
		m.Truncate(size) // sets TC so the client retries over TCP
	}
	w.WriteMsg(m)
}

func (s *Server) resolve(q dns.Question, m *dns.Msg) {
	name := strings.ToLower(dns.Fqdn(q.Name)) // RFC 4343: case-insensitive
	if name != s.zone && !strings.HasSuffix(name, "."+s.zone) {
		m.Rcode = dns.RcodeRefused
		return
	}
	m.Authoritative = true
	qtype := q.Qtype
	if qtype == dns.TypeANY {
		// RFC 8482 §4.2: answer ANY with one small synthesized record.
		m.Answer = []dns.RR{&dns.HINFO{Hdr: s.hdr(q.Name, dns.TypeHINFO), Cpu: "RFC8482", Os: ""}}
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	rrs, exists, err := s.answer(ctx, name, qtype)
	if err != nil {
		s.log.Error("dns answer failed", "name", name, "type", dns.TypeToString[qtype], "err", err)
		m.Rcode = dns.RcodeServerFailure
		return
	}
	for _, rr := range rrs {
		rr.Header().Name = q.Name // keep the asker's case (RFC 4343 §4.1)
	}
	m.Answer = rrs
	if len(rrs) == 0 {
		// RFC 2308 §2.1, §2.2: NXDOMAIN or NODATA, with the SOA for caching.
		if !exists {
			m.Rcode = dns.RcodeNameError
		}
		m.Ns = []dns.RR{s.soa()}
	}
}

// Start listens on addr for UDP and TCP (same port; with port 0 the port
// UDP gets) and serves until Shutdown or ctx ends.
func (s *Server) Start(ctx context.Context, addr string) error {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return fmt.Errorf("dnsserver: %w", err)
	}
	ln, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		pc.Close()
		return fmt.Errorf("dnsserver: %w", err)
	}
	s.mu.Lock()
	s.addr = pc.LocalAddr().String()
	started := make(chan struct{}, 2)
	notify := func() { started <- struct{}{} }
	s.udp = &dns.Server{PacketConn: pc, Handler: s, NotifyStartedFunc: notify, ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second}
	s.tcp = &dns.Server{Listener: ln, Handler: s, NotifyStartedFunc: notify, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second,
		IdleTimeout: func() time.Duration { return 8 * time.Second }, MaxTCPQueries: 100}
	udp, tcp := s.udp, s.tcp
	s.mu.Unlock()
	for _, srv := range []*dns.Server{udp, tcp} {
		go func() {
			if err := srv.ActivateAndServe(); err != nil {
				s.log.Warn("dns listener stopped", "err", err)
			}
		}()
	}
	<-started
	<-started
	go func() {
		<-ctx.Done()
		s.Shutdown(context.Background())
	}()
	return nil
}

// Addr returns the bound address.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Shutdown stops both listeners.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	udp, tcp := s.udp, s.tcp
	s.udp, s.tcp = nil, nil
	s.mu.Unlock()
	var errs []error
	for _, srv := range []*dns.Server{udp, tcp} {
		if srv != nil {
			if err := srv.ShutdownContext(ctx); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
