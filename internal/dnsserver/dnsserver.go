// Package dnsserver is the authoritative DNS server for sesame's service
// domain D (default sesame.localhost). It mirrors what amazonses.com serves
// (PRODUCT.md, "Names under the service domain"; reference/ses.md §9):
//
//	D                   SOA; NS ns.D.; TXT "v=spf1 ip4:… ip6:… -all"
//	ns.D                A/AAAA = the public IPs (the NS target)
//	<token>.dkim.D      TXT = the Easy DKIM public key, read through Keys on every query
//	R.D                 MX 10 feedback-smtp.R.D.; TXT "v=spf1 include:D -all" (each region R)
//	feedback-smtp.R.D   A/AAAA = the public IPs
//	inbound-smtp.R.D    A/AAAA = the public IPs
//	simulator.D         MX 10 inbound-smtp.<first region>.D.
//
// dkim.D is an empty non-terminal (NODATA, never NXDOMAIN, RFC 8020).
//
// Policy, in the order a query meets it:
//
//   - A message with QR=1 gets no reply at all (never answer a response:
//     that is how reflection loops start).
//   - More than one OPT record: FORMERR (RFC 6891 §6.1.1). An EDNS version
//     other than 0: BADVERS (RFC 6891 §6.1.3).
//   - Opcode other than QUERY: NOTIMP (RFC 1035 §4.1.1).
//   - QDCOUNT other than 1: FORMERR (RFC 9619).
//   - QCLASS other than IN (CH, HS, NONE, ANY): REFUSED. The server holds
//     no data in any other class, and REFUSED is also how it answers every
//     other question it does not hold the data for; this also keeps
//     "version.bind CH TXT" probes unanswered.
//   - Names outside D: REFUSED, AA=0. It is not a resolver: RA is always 0
//     and RD is merely echoed (RFC 1035 §4.1.1).
//   - AXFR/IXFR: REFUSED (transfers need authorization, RFC 5936 §5, and
//     none is granted).
//   - Inside D: AA=1; data, NODATA or NXDOMAIN, the negative answers with
//     the SOA in the authority section (RFC 2308 §2.1, §2.2, §3).
//   - QTYPE ANY: one synthesized HINFO "RFC8482" "" at a name that has
//     data (RFC 8482 §4.2), NODATA at an empty node, NXDOMAIN elsewhere.
//   - A Keys error or a recovered panic: SERVFAIL and an Error log line.
//
// Replies echo an OPT record when the query carried one. Over UDP they are
// limited to the client's EDNS payload size clamped to [512, 1232] (512
// without EDNS, RFC 1035 §4.2.1; 1232 as DNS Flag Day 2020 recommends); a
// reply that does not fit loses its additional section first and, if it
// still does not fit, is sent empty with TC=1 so the client retries over
// TCP (RFC 2181 §9, RFC 7766 §5).
//
// Hostile traffic: the miekg/dns server parses packets (malformed ones get
// FORMERR or nothing); each query runs under recover; TCP connections must
// send their first query within ReadTimeout and the next within
// IdleTimeout (RFC 7766 §6.2.3), and at most MaxTCPConns are open at once
// (further ones are closed at accept); at most a fixed number of Keys
// lookups run at once, so a flood of random token names cannot pile up
// on the store.
package dnsserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// Keys supplies Easy DKIM public keys by token. Implemented by the identity
// service over the store, so a key created a moment ago resolves at once.
type Keys interface {
	// DKIMRecord returns the TXT value published at <token>.dkim.D, ok=false
	// when there is no such token.
	DKIMRecord(ctx context.Context, token string) (txt string, ok bool, err error)
}

// Config configures a Server.
type Config struct {
	// Domain is the service domain, e.g. "sesame.localhost" (with or without
	// the trailing dot; any letter case).
	Domain string
	// Regions are the configured regions, e.g. us-east-1, us-west-2; the
	// first one is the simulator's. At least one is required.
	Regions []string
	// PublicIPs are the addresses published in A/AAAA records and in the
	// SPF record. IPv4-mapped IPv6 addresses count as IPv4.
	PublicIPs []net.IP
	// Keys resolves <token>.dkim.D. Required.
	Keys Keys
	// TTL is the TTL of every record, DKIM keys included (default 300s).
	// Negative answers are cached for at most a minute (the SOA minimum,
	// RFC 2308 §4), so a name that appears is not hidden for long.
	TTL time.Duration
	// Logger receives query errors and recovered panics; nil discards.
	Logger *slog.Logger

	// ReadTimeout bounds how long a TCP client may take to send its first
	// query, and how long a UDP write may take (default 2s).
	ReadTimeout time.Duration
	// IdleTimeout bounds how long a TCP connection may sit idle between
	// queries (default 8s, RFC 7766 §6.2.3).
	IdleTimeout time.Duration
	// MaxTCPConns caps concurrent TCP connections; connections beyond it are
	// closed as soon as they are accepted (default 256).
	MaxTCPConns int
}

// Defaults for the zero values of Config.
const (
	DefaultTTL         = 300 * time.Second
	DefaultReadTimeout = 2 * time.Second
	DefaultIdleTimeout = 8 * time.Second
	DefaultMaxTCPConns = 256
)

const (
	maxNegativeTTL = 60        // SOA MINIMUM cap, seconds (RFC 2308 §4)
	maxTTL         = 1<<31 - 1 // RFC 2181 §8
	maxUDPReply    = 1232      // DNS Flag Day 2020
	udpReadBuffer  = 4096      // largest query we read over UDP
	lookupTimeout  = 2 * time.Second
	maxLookups     = 32          // concurrent Keys lookups
	maxTXTValue    = 16 * 1024   // refuse to serve absurd DKIM values
	hinfoCPU       = "RFC8482"   // RFC 8482 §4.2
	txtChunk       = 255         // RFC 1035 §3.3: <character-string> length
	soaRefresh     = 3600        // SOA timers (RFC 1912 §2.2)
	soaRetry       = 900         //
	soaExpire      = 14 * 86400  //
	labelNS        = "ns"        // the NS target
	labelDKIM      = "dkim"      // parent of the DKIM tokens
	labelSimulator = "simulator" // mailbox simulator
)

// Server answers for the service domain. Its zero value is not usable; use
// New. ServeDNS is safe for concurrent use; Start and Shutdown run once.
type Server struct {
	zone     string   // absolute, lowercase, e.g. "sesame.localhost."
	zoneLbls []string // labels of zone
	ttl      uint32
	negTTL   uint32
	soa      *dns.SOA
	static   map[string][]dns.RR // relative lowercase name ("" = apex) → its records
	keys     Keys
	lookups  chan struct{} // semaphore for Keys lookups
	log      *slog.Logger

	readTimeout, idleTimeout time.Duration
	maxTCPConns              int

	panics atomic.Int64 // recovered panics (tests assert on it)

	mu      sync.Mutex
	state   int // stateNew, stateRunning, stateStopped
	addr    string
	udp     *dns.Server
	tcp     *dns.Server
	served  sync.WaitGroup // the two serve goroutines
	stopped chan struct{}  // closed by Shutdown
}

const (
	stateNew = iota
	stateRunning
	stateStopped
)

// New validates cfg and returns a Server holding the zone's static records.
func New(cfg Config) (*Server, error) {
	zone := lowerASCII(strings.TrimSuffix(cfg.Domain, "."))
	if zone == "" {
		return nil, errors.New("dnsserver: domain is required")
	}
	zoneLbls := strings.Split(zone, ".")
	for _, l := range zoneLbls {
		if !isHostLabel(l) {
			return nil, fmt.Errorf("dnsserver: domain %q: bad label %q", cfg.Domain, l)
		}
	}
	zone += "."
	if _, ok := dns.IsDomainName(zone); !ok || len(zone) > 200 {
		return nil, fmt.Errorf("dnsserver: domain %q is not a usable domain name", cfg.Domain)
	}
	if len(cfg.Regions) == 0 {
		return nil, errors.New("dnsserver: at least one region is required")
	}
	if cfg.Keys == nil {
		return nil, errors.New("dnsserver: Keys is required")
	}
	if cfg.TTL < 0 || cfg.ReadTimeout < 0 || cfg.IdleTimeout < 0 || cfg.MaxTCPConns < 0 {
		return nil, errors.New("dnsserver: negative TTL, timeout or connection limit")
	}
	var regions []string
	seen := map[string]bool{}
	for _, r := range cfg.Regions {
		lr := lowerASCII(r)
		if !isHostLabel(lr) {
			return nil, fmt.Errorf("dnsserver: region %q is not a DNS label", r)
		}
		if lr == labelNS || lr == labelDKIM || lr == labelSimulator {
			return nil, fmt.Errorf("dnsserver: region %q collides with %s.%s", r, lr, zone)
		}
		if !seen[lr] {
			seen[lr] = true
			regions = append(regions, lr)
		}
	}
	var v4, v6 []net.IP
	seenIP := map[string]bool{}
	for _, ip := range cfg.PublicIPs {
		if len(ip) != net.IPv4len && len(ip) != net.IPv6len {
			return nil, fmt.Errorf("dnsserver: invalid public IP %v", ip)
		}
		if seenIP[ip.String()] {
			continue
		}
		seenIP[ip.String()] = true
		if ip4 := ip.To4(); ip4 != nil {
			v4 = append(v4, ip4)
		} else {
			v6 = append(v6, ip)
		}
	}

	s := &Server{
		zone:        zone,
		zoneLbls:    zoneLbls,
		ttl:         seconds(cfg.TTL, DefaultTTL),
		keys:        cfg.Keys,
		lookups:     make(chan struct{}, maxLookups),
		log:         cfg.Logger,
		readTimeout: cfg.ReadTimeout,
		idleTimeout: cfg.IdleTimeout,
		maxTCPConns: cfg.MaxTCPConns,
		stopped:     make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.readTimeout == 0 {
		s.readTimeout = DefaultReadTimeout
	}
	if s.idleTimeout == 0 {
		s.idleTimeout = DefaultIdleTimeout
	}
	if s.maxTCPConns == 0 {
		s.maxTCPConns = DefaultMaxTCPConns
	}
	s.negTTL = min(s.ttl, maxNegativeTTL)
	s.soa = &dns.SOA{
		Hdr:     s.hdr(zone, dns.TypeSOA),
		Ns:      labelNS + "." + zone,
		Mbox:    "hostmaster." + zone,
		Serial:  uint32(time.Now().Unix()), // start time: a restart is a new version
		Refresh: soaRefresh,
		Retry:   soaRetry,
		Expire:  soaExpire,
		Minttl:  s.negTTL,
	}

	addrs := func(name string) []dns.RR {
		var out []dns.RR
		for _, ip := range v4 {
			out = append(out, &dns.A{Hdr: s.hdr(name, dns.TypeA), A: ip})
		}
		for _, ip := range v6 {
			out = append(out, &dns.AAAA{Hdr: s.hdr(name, dns.TypeAAAA), AAAA: ip})
		}
		return out
	}
	spf := []string{"v=spf1"}
	for _, ip := range v4 {
		spf = append(spf, "ip4:"+ip.String())
	}
	for _, ip := range v6 {
		spf = append(spf, "ip6:"+ip.String())
	}
	spf = append(spf, "-all")
	bare := strings.TrimSuffix(zone, ".")

	s.static = map[string][]dns.RR{
		"": {
			s.soa,
			&dns.NS{Hdr: s.hdr(zone, dns.TypeNS), Ns: labelNS + "." + zone},
			s.txt(zone, strings.Join(spf, " ")),
		},
		labelNS:        addrs(labelNS + "." + zone),
		labelDKIM:      nil, // empty non-terminal
		labelSimulator: {&dns.MX{Hdr: s.hdr(labelSimulator+"."+zone, dns.TypeMX), Preference: 10, Mx: "inbound-smtp." + regions[0] + "." + zone}},
	}
	for _, r := range regions {
		name := r + "." + zone
		s.static[r] = []dns.RR{
			&dns.MX{Hdr: s.hdr(name, dns.TypeMX), Preference: 10, Mx: "feedback-smtp." + name},
			s.txt(name, "v=spf1 include:"+bare+" -all"),
		}
		s.static["feedback-smtp."+r] = addrs("feedback-smtp." + name)
		s.static["inbound-smtp."+r] = addrs("inbound-smtp." + name)
	}
	return s, nil
}

// seconds converts d to a TTL in whole seconds: def when zero, at least 1,
// at most 2^31-1 (RFC 2181 §8).
func seconds(d, def time.Duration) uint32 {
	if d == 0 {
		d = def
	}
	return uint32(min(max(int64(d/time.Second), 1), maxTTL))
}

func (s *Server) hdr(name string, t uint16) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: s.ttl}
}

// txt returns a TXT record carrying value split into ≤255-octet strings
// (RFC 1035 §3.3.14; readers concatenate them, RFC 7208 §3.3, RFC 6376
// §3.6.2.2).
func (s *Server) txt(name, value string) *dns.TXT {
	parts := []string{}
	for {
		n := min(len(value), txtChunk)
		parts = append(parts, escapeTXT(value[:n]))
		value = value[n:]
		if value == "" {
			break
		}
	}
	return &dns.TXT{Hdr: s.hdr(name, dns.TypeTXT), Txt: parts}
}

// escapeTXT escapes backslashes: miekg/dns keeps TXT strings in
// presentation form and reads "\" as the start of an escape when packing.
func escapeTXT(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	return strings.ReplaceAll(s, `\`, `\\`)
}

// lowerASCII folds ASCII letters only (RFC 4343 §2: DNS case-insensitivity
// is ASCII-only; other octets arrive from miekg/dns as \DDD escapes).
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// isHostLabel reports whether l is a non-empty LDH label (plus '_') of at
// most 63 octets.
func isHostLabel(l string) bool {
	if l == "" || len(l) > 63 {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// relative returns the labels of name (lowercase, absolute, presentation
// form) below the zone, and whether name is in the zone at all. Escaped
// dots stay inside their label, so "x\.sesame.localhost." is not in
// sesame.localhost.
func (s *Server) relative(name string) ([]string, bool) {
	labels := dns.SplitDomainName(name)
	if len(labels) < len(s.zoneLbls) {
		return nil, false
	}
	cut := len(labels) - len(s.zoneLbls)
	for i, l := range s.zoneLbls {
		if labels[cut+i] != l {
			return nil, false
		}
	}
	return labels[:cut], true
}

// errBusy reports that too many Keys lookups are in flight.
var errBusy = errors.New("dnsserver: too many DKIM lookups in flight")

// node returns the records owned by the relative name rel and whether the
// name exists. Errors mean SERVFAIL.
func (s *Server) node(ctx context.Context, rel []string) ([]dns.RR, bool, error) {
	if len(rel) == 2 && rel[1] == labelDKIM {
		return s.dkim(ctx, rel[0])
	}
	rrs, ok := s.static[strings.Join(rel, ".")]
	return rrs, ok, nil
}

// dkim looks token up through Keys. Labels that cannot be tokens never reach
// Keys: they are NXDOMAIN.
func (s *Server) dkim(ctx context.Context, token string) ([]dns.RR, bool, error) {
	if !isHostLabel(token) {
		return nil, false, nil
	}
	select {
	case s.lookups <- struct{}{}:
		defer func() { <-s.lookups }()
	case <-ctx.Done():
		return nil, false, errBusy
	}
	txt, ok, err := s.keys.DKIMRecord(ctx, token)
	if err != nil {
		return nil, false, fmt.Errorf("dnsserver: DKIM key %q: %w", token, err)
	}
	if !ok {
		return nil, false, nil
	}
	if len(txt) > maxTXTValue {
		return nil, false, fmt.Errorf("dnsserver: DKIM key %q: value of %d octets is too long to serve", token, len(txt))
	}
	return []dns.RR{s.txt(token+"."+labelDKIM+"."+s.zone, txt)}, true, nil
}

// ServeDNS implements dns.Handler, so tests and the app can mount the
// server on any miekg/dns transport. A nil request or one with QR=1 gets
// no reply.
func (s *Server) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	if r == nil || r.Response {
		return
	}
	defer func() {
		if p := recover(); p != nil {
			s.panics.Add(1)
			s.log.Error("dns query panicked", "panic", fmt.Sprint(p), "id", r.Id)
			m := new(dns.Msg)
			m.SetRcode(r, dns.RcodeServerFailure)
			m.RecursionAvailable = false
			m.Authoritative = false
			m.Answer, m.Ns, m.Extra = nil, nil, nil
			_ = w.WriteMsg(m)
		}
	}()
	udp := isUDP(w)
	m := s.reply(r)
	limit := dns.MaxMsgSize // RFC 1035 §4.2.2: a TCP message has a 16-bit length
	if udp {
		limit = dns.MinMsgSize // RFC 1035 §4.2.1
		if opt := r.IsEdns0(); opt != nil {
			// RFC 6891 §6.2.5: less than 512 means 512; cap at 1232.
			limit = int(min(max(opt.UDPSize(), dns.MinMsgSize), maxUDPReply))
		}
	}
	if !fit(m, limit) {
		s.log.Error("dns reply too large even for TCP", "name", qname(r), "size", m.Len())
		m = s.failure(r, dns.RcodeServerFailure)
	}
	if err := w.WriteMsg(m); err != nil {
		s.log.Debug("dns write failed", "name", qname(r), "err", err)
	}
	if s.log.Enabled(context.Background(), slog.LevelDebug) {
		s.log.Debug("dns query", "name", qname(r), "type", qtype(r), "rcode", dns.RcodeToString[m.Rcode],
			"udp", udp, "tc", m.Truncated, "answers", len(m.Answer), "remote", remote(w))
	}
}

// isUDP reports whether w is a datagram transport; an unknown transport
// counts as UDP, the safer (smaller) choice.
func isUDP(w dns.ResponseWriter) bool {
	switch a := w.RemoteAddr().(type) {
	case *net.TCPAddr:
		return a == nil
	case *net.UDPAddr:
		return true
	case nil:
		return true
	default:
		return !strings.HasPrefix(a.Network(), "tcp")
	}
}

func remote(w dns.ResponseWriter) string {
	if a := w.RemoteAddr(); a != nil {
		return a.String()
	}
	return ""
}

func qname(r *dns.Msg) string {
	if len(r.Question) > 0 {
		return r.Question[0].Name
	}
	return ""
}

func qtype(r *dns.Msg) string {
	if len(r.Question) > 0 {
		return dns.Type(r.Question[0].Qtype).String()
	}
	return ""
}

// fit makes m fit in limit octets: it first drops the additional section
// (except OPT), which needs no TC (RFC 2181 §9); if that is not enough it
// empties the answer and authority sections and sets TC so the client asks
// again over TCP (RFC 1035 §4.1.1, RFC 7766 §5). It reports false when
// even the emptied message is too large (only possible for absurd limits).
func fit(m *dns.Msg, limit int) bool {
	m.Compress = true
	if m.Len() <= limit {
		return true
	}
	opt := m.IsEdns0()
	m.Extra = nil
	if opt != nil {
		m.Extra = []dns.RR{opt}
	}
	if m.Len() <= limit {
		return true
	}
	m.Answer, m.Ns = nil, nil
	m.Truncated = true
	return m.Len() <= limit
}

// failure returns a bare reply with rcode: the question echoed, nothing
// else, and our OPT when the query carried one.
func (s *Server) failure(r *dns.Msg, rcode int) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(r)
	m.RecursionAvailable = false
	m.Rcode = rcode
	if opt := r.IsEdns0(); opt != nil {
		m.SetEdns0(maxUDPReply, opt.Do())
	}
	return m
}

// reply builds the complete answer to r, before any size limit.
func (s *Server) reply(r *dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(r) // copies ID, opcode, RD, CD and the first question
	m.RecursionAvailable = false

	var opts []*dns.OPT
	for _, rr := range r.Extra {
		if o, ok := rr.(*dns.OPT); ok {
			opts = append(opts, o)
		}
	}
	if len(opts) > 1 {
		m.Rcode = dns.RcodeFormatError // RFC 6891 §6.1.1
		return m
	}
	if len(opts) == 1 {
		// Our OPT advertises what we accept; the DO bit is copied (RFC 3225 §3).
		m.SetEdns0(maxUDPReply, opts[0].Do())
		if opts[0].Version() != 0 {
			m.Rcode = dns.RcodeBadVers // RFC 6891 §6.1.3; packed into the OPT
			return m
		}
	}
	if r.Opcode != dns.OpcodeQuery {
		m.Rcode = dns.RcodeNotImplemented // RFC 1035 §4.1.1
		return m
	}
	if len(r.Question) != 1 {
		m.Rcode = dns.RcodeFormatError // RFC 9619: QDCOUNT is 1
		return m
	}
	q := r.Question[0]
	if q.Qclass != dns.ClassINET {
		m.Rcode = dns.RcodeRefused // class IN only (see the package comment)
		return m
	}
	name := lowerASCII(dns.Fqdn(q.Name)) // RFC 4343 §2: ASCII case-insensitive
	rel, ok := s.relative(name)
	if !ok {
		m.Rcode = dns.RcodeRefused // not our zone, and not a resolver
		return m
	}
	if q.Qtype == dns.TypeAXFR || q.Qtype == dns.TypeIXFR {
		m.Rcode = dns.RcodeRefused // no zone transfers (RFC 5936 §5)
		return m
	}

	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	rrs, exists, err := s.node(ctx, rel)
	if err != nil {
		s.log.Error("dns lookup failed", "name", q.Name, "type", dns.Type(q.Qtype).String(), "err", err)
		m.Rcode = dns.RcodeServerFailure
		return m
	}
	m.Authoritative = true // RFC 1035 §4.1.1: we are the zone's authority
	if !exists {
		m.Rcode = dns.RcodeNameError // RFC 2308 §2.1
		m.Ns = []dns.RR{s.negativeSOA()}
		return m
	}

	var answer []dns.RR
	if q.Qtype == dns.TypeANY {
		if len(rrs) > 0 {
			// RFC 8482 §4.2: one synthesized HINFO instead of everything.
			answer = []dns.RR{&dns.HINFO{Hdr: s.hdr(q.Name, dns.TypeHINFO), Cpu: hinfoCPU, Os: ""}}
		}
	} else {
		for _, rr := range rrs {
			if rr.Header().Rrtype == q.Qtype {
				rr = dns.Copy(rr)
				rr.Header().Name = q.Name // echo the asker's spelling (RFC 4343 §4.1)
				answer = append(answer, rr)
			}
		}
	}
	if len(answer) == 0 {
		m.Ns = []dns.RR{s.negativeSOA()} // NODATA, RFC 2308 §2.2
		return m
	}
	m.Answer = answer
	m.Extra = append(s.additional(answer), m.Extra...) // OPT stays last
	return m
}

// negativeSOA is the SOA for a negative answer, its TTL the smaller of the
// SOA's TTL and MINIMUM (RFC 2308 §3).
func (s *Server) negativeSOA() dns.RR {
	soa := dns.Copy(s.soa)
	soa.Header().Ttl = s.negTTL
	return soa
}

// additional returns the in-zone addresses of NS and MX targets in answer
// (RFC 1035 §3.3.9, §3.3.11 additional section processing).
func (s *Server) additional(answer []dns.RR) []dns.RR {
	var out []dns.RR
	for _, rr := range answer {
		var target string
		switch v := rr.(type) {
		case *dns.NS:
			target = v.Ns
		case *dns.MX:
			target = v.Mx
		default:
			continue
		}
		rel, ok := s.relative(target)
		if !ok {
			continue
		}
		for _, a := range s.static[strings.Join(rel, ".")] {
			if t := a.Header().Rrtype; t == dns.TypeA || t == dns.TypeAAAA {
				out = append(out, a)
			}
		}
	}
	return out
}

// Start listens on addr for UDP and TCP on the same port (with port 0, TCP
// takes the port UDP got) and serves until ctx is cancelled or Shutdown is
// called. It returns once both listeners are bound; Addr then tells the
// address. A Server starts at most once.
func (s *Server) Start(ctx context.Context, addr string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateNew {
		return errors.New("dnsserver: Start called twice or after Shutdown")
	}
	pc, ln, err := listen(addr)
	if err != nil {
		return err
	}
	s.addr = pc.LocalAddr().String()
	s.udp = &dns.Server{
		PacketConn:   pc,
		Handler:      s,
		UDPSize:      udpReadBuffer,
		ReadTimeout:  s.readTimeout,
		WriteTimeout: s.readTimeout,
	}
	s.tcp = &dns.Server{
		Listener:     &limitListener{Listener: ln, sem: make(chan struct{}, s.maxTCPConns), log: s.log},
		Handler:      s,
		ReadTimeout:  s.readTimeout,
		WriteTimeout: s.readTimeout,
		IdleTimeout:  func() time.Duration { return s.idleTimeout },
	}
	ready := make(chan error, 4) // each serve goroutine sends at most twice
	for _, srv := range []*dns.Server{s.udp, s.tcp} {
		srv.NotifyStartedFunc = func() { ready <- nil }
		s.served.Add(1)
		go func() {
			defer s.served.Done()
			err := srv.ActivateAndServe()
			if err != nil {
				s.log.Error("dns listener stopped", "addr", s.addr, "err", err)
			}
			ready <- err // unblocks Start if the listener failed before it started
		}()
	}
	for range 2 {
		if err := <-ready; err != nil {
			s.state = stateStopped
			close(s.stopped)
			pc.Close()
			ln.Close()
			s.mu.Unlock()
			s.served.Wait() // the other listener notices its closed socket
			s.mu.Lock()
			return fmt.Errorf("dnsserver: serve %s: %w", s.addr, err)
		}
	}
	s.state = stateRunning
	go func() {
		select {
		case <-ctx.Done():
			if err := s.Shutdown(context.Background()); err != nil {
				s.log.Warn("dns shutdown", "err", err)
			}
		case <-s.stopped:
		}
	}()
	s.log.Info("dns listening", "addr", s.addr, "zone", s.zone)
	return nil
}

// listen binds UDP on addr and TCP on the address UDP got. With port 0
// it retries a few times should another process hold that TCP port.
func listen(addr string) (net.PacketConn, net.Listener, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("dnsserver: listen %q: %w", addr, err)
	}
	attempts := 1
	if p, _ := strconv.Atoi(port); p == 0 {
		attempts = 10
	}
	for i := 0; ; i++ {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("dnsserver: listen udp %s: %w", addr, err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln, nil
		}
		pc.Close()
		if i+1 >= attempts {
			return nil, nil, fmt.Errorf("dnsserver: listen tcp %s: %w", pc.LocalAddr(), err)
		}
	}
}

// Addr returns the bound address (host:port, the same for UDP and TCP), or
// "" before Start.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Shutdown stops both listeners and waits, within ctx, for queries in
// flight. It may be called more than once, and before Start.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.state != stateRunning {
		if s.state == stateNew {
			s.state = stateStopped
			close(s.stopped)
		}
		s.mu.Unlock()
		return nil
	}
	s.state = stateStopped
	close(s.stopped)
	udp, tcp := s.udp, s.tcp
	s.mu.Unlock()

	var errs []error
	for _, srv := range []*dns.Server{udp, tcp} {
		if err := srv.ShutdownContext(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	done := make(chan struct{})
	go func() { s.served.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, ctx.Err())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("dnsserver: shutdown: %w", err)
	}
	return nil
}

// limitListener caps concurrent TCP connections: beyond the cap a new
// connection is closed at once, so idle connections cannot exhaust memory
// or file descriptors.
type limitListener struct {
	net.Listener
	sem chan struct{}
	log *slog.Logger
}

// Accept returns the next connection within the cap.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.sem <- struct{}{}:
			return &limitConn{Conn: c, release: sync.OnceFunc(func() { <-l.sem })}, nil
		default:
			l.log.Debug("dns tcp connection refused: too many open", "remote", c.RemoteAddr().String(), "max", cap(l.sem))
			c.Close()
		}
	}
}

// limitConn releases its slot in the limitListener when closed.
type limitConn struct {
	net.Conn
	release func()
}

// Close closes the connection and frees its slot.
func (c *limitConn) Close() error {
	c.release()
	return c.Conn.Close()
}
