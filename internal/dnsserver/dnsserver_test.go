package dnsserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

const (
	zone = "sesame.localhost."
	tok  = "abcdefghijklmnopqrstuvwxyz234567"
	tok2 = "zyxwvutsrqponmlkjihgfedcba765432"
)

// fakeKeys is an in-memory Keys that can fail or panic on demand.
type fakeKeys struct {
	mu    sync.Mutex
	m     map[string]string
	err   error
	panic bool
	asked []string // tokens passed to DKIMRecord
}

func newKeys() *fakeKeys { return &fakeKeys{m: map[string]string{}} }

func (f *fakeKeys) DKIMRecord(_ context.Context, token string) (string, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, token)
	if f.panic {
		panic("keys exploded")
	}
	if f.err != nil {
		return "", false, f.err
	}
	v, ok := f.m[token]
	return v, ok, nil
}

func (f *fakeKeys) set(token, v string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.m[token] = v
}

func (f *fakeKeys) del(token string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.m, token)
}

func (f *fakeKeys) fail(err error, panics bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err, f.panic = err, panics
}

func (f *fakeKeys) askedFor() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.asked)
}

// logBuf is a goroutine-safe log sink.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func baseConfig(keys Keys, logs io.Writer) Config {
	return Config{
		Domain:  "Sesame.Localhost.",
		Regions: []string{"us-east-1", "EU-West-1"},
		PublicIPs: []net.IP{
			net.ParseIP("192.0.2.10"), net.ParseIP("2001:db8::10"), net.ParseIP("198.51.100.7"),
			net.ParseIP("::ffff:203.0.113.5"), net.ParseIP("192.0.2.10"),
		},
		Keys:   keys,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

// startServer starts a server for cfg on 127.0.0.1:0 and stops it when the
// test ends, failing the test if any query panicked.
func startServer(t testing.TB, cfg Config) *Server {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context(), "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return s
}

func start(t *testing.T) (*Server, *fakeKeys, *logBuf) {
	t.Helper()
	keys, logs := newKeys(), &logBuf{}
	return startServer(t, baseConfig(keys, logs)), keys, logs
}

func question(name string, qtype uint16, edns uint16) *dns.Msg {
	q := new(dns.Msg)
	q.SetQuestion(name, qtype)
	if edns > 0 {
		q.SetEdns0(edns, false)
	}
	return q
}

func exchange(t testing.TB, addr, netw string, q *dns.Msg) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: netw, Timeout: 3 * time.Second, UDPSize: 65535}
	r, _, err := c.Exchange(q, addr)
	if err != nil {
		t.Fatalf("%s %v: %v", netw, q.Question, err)
	}
	return r
}

func query(t testing.TB, addr, netw, name string, qtype uint16, edns uint16) *dns.Msg {
	t.Helper()
	return exchange(t, addr, netw, question(name, qtype, edns))
}

// value renders an answer record as "TYPE rdata", TXT strings joined.
func value(rr dns.RR) string {
	switch v := rr.(type) {
	case *dns.A:
		return "A " + v.A.String()
	case *dns.AAAA:
		return "AAAA " + v.AAAA.String()
	case *dns.MX:
		return "MX " + strconv.Itoa(int(v.Preference)) + " " + v.Mx
	case *dns.NS:
		return "NS " + v.Ns
	case *dns.TXT:
		return "TXT " + strings.Join(v.Txt, "")
	case *dns.SOA:
		return "SOA " + v.Ns + " " + v.Mbox
	case *dns.HINFO:
		return "HINFO " + v.Cpu + " " + v.Os
	}
	return rr.String()
}

func values(rrs []dns.RR) []string {
	var out []string
	for _, rr := range rrs {
		out = append(out, value(rr))
	}
	slices.Sort(out)
	return out
}

const spf = "TXT v=spf1 ip4:192.0.2.10 ip4:198.51.100.7 ip4:203.0.113.5 ip6:2001:db8::10 -all"

var addrs = []string{"A 192.0.2.10", "A 198.51.100.7", "A 203.0.113.5"}

func TestZone(t *testing.T) {
	s, keys, _ := start(t)
	keys.set(tok, "v=DKIM1; k=rsa; p=KEY")
	const (
		nx      = dns.RcodeNameError
		ok      = dns.RcodeSuccess
		refused = dns.RcodeRefused
	)
	tests := []struct {
		name  string
		qtype uint16
		rcode int
		want  []string // answer values; nil with rcode ok = NODATA
	}{
		{zone, dns.TypeTXT, ok, []string{spf}},
		{zone, dns.TypeSOA, ok, []string{"SOA ns.sesame.localhost. hostmaster.sesame.localhost."}},
		{zone, dns.TypeNS, ok, []string{"NS ns.sesame.localhost."}},
		{zone, dns.TypeA, ok, nil},
		{zone, dns.TypeMX, ok, nil},
		{"ns." + zone, dns.TypeA, ok, addrs},
		{"ns." + zone, dns.TypeAAAA, ok, []string{"AAAA 2001:db8::10"}},
		{"ns." + zone, dns.TypeTXT, ok, nil},
		{"feedback-smtp.us-east-1." + zone, dns.TypeA, ok, addrs},
		{"feedback-smtp.eu-west-1." + zone, dns.TypeAAAA, ok, []string{"AAAA 2001:db8::10"}},
		{"feedback-smtp.us-east-1." + zone, dns.TypeMX, ok, nil},
		{"inbound-smtp.eu-west-1." + zone, dns.TypeA, ok, addrs},
		{"inbound-smtp.us-east-1." + zone, dns.TypeAAAA, ok, []string{"AAAA 2001:db8::10"}},
		{"us-east-1." + zone, dns.TypeMX, ok, []string{"MX 10 feedback-smtp.us-east-1.sesame.localhost."}},
		{"eu-west-1." + zone, dns.TypeMX, ok, []string{"MX 10 feedback-smtp.eu-west-1.sesame.localhost."}},
		{"us-east-1." + zone, dns.TypeTXT, ok, []string{"TXT v=spf1 include:sesame.localhost -all"}},
		{"us-east-1." + zone, dns.TypeA, ok, nil},
		{"simulator." + zone, dns.TypeMX, ok, []string{"MX 10 inbound-smtp.us-east-1.sesame.localhost."}},
		{"simulator." + zone, dns.TypeA, ok, nil},
		{"dkim." + zone, dns.TypeTXT, ok, nil}, // empty non-terminal
		{"dkim." + zone, dns.TypeA, ok, nil},
		{tok + ".dkim." + zone, dns.TypeTXT, ok, []string{"TXT v=DKIM1; k=rsa; p=KEY"}},
		{tok + ".dkim." + zone, dns.TypeA, ok, nil},
		{strings.ToUpper(tok) + ".DKIM.sesame.LOCALHOST.", dns.TypeTXT, ok, []string{"TXT v=DKIM1; k=rsa; p=KEY"}},
		{"FEEDBACK-SMTP.Us-East-1.SESAME.localhost.", dns.TypeA, ok, addrs},
		{"SeSaMe.LocalHost.", dns.TypeNS, ok, []string{"NS ns.sesame.localhost."}},
		{tok2 + ".dkim." + zone, dns.TypeTXT, nx, nil},
		{"bad*label.dkim." + zone, dns.TypeTXT, nx, nil},
		{"x." + tok + ".dkim." + zone, dns.TypeTXT, nx, nil},
		{"foo.us-east-1." + zone, dns.TypeA, nx, nil},
		{"x.feedback-smtp.us-east-1." + zone, dns.TypeA, nx, nil},
		{"feedback-smtp.mars-1." + zone, dns.TypeA, nx, nil},
		{"feedback-smtp." + zone, dns.TypeA, nx, nil},
		{"us-west-2." + zone, dns.TypeMX, nx, nil},
		{"www." + zone, dns.TypeA, nx, nil},
		{`x\.sesame.localhost.`, dns.TypeA, refused, nil}, // one label "x.sesame" under localhost.
		{"example.com.", dns.TypeA, refused, nil},
		{"evil-sesame.localhost.", dns.TypeA, refused, nil},
		{"localhost.", dns.TypeA, refused, nil},
		{".", dns.TypeNS, refused, nil},
	}
	for _, tc := range tests {
		for _, netw := range []string{"udp", "tcp"} {
			var edns uint16
			if netw == "udp" {
				edns = 1232
			}
			r := query(t, s.Addr(), netw, tc.name, tc.qtype, edns)
			id := netw + " " + tc.name + " " + dns.Type(tc.qtype).String()
			if r.Rcode != tc.rcode {
				t.Errorf("%s: rcode %s, want %s", id, dns.RcodeToString[r.Rcode], dns.RcodeToString[tc.rcode])
				continue
			}
			if r.RecursionAvailable {
				t.Errorf("%s: RA set", id)
			}
			if want := tc.rcode != refused; r.Authoritative != want {
				t.Errorf("%s: AA=%v, want %v", id, r.Authoritative, want)
			}
			if r.Truncated {
				t.Errorf("%s: TC set", id)
			}
			if got := values(r.Answer); !slices.Equal(got, tc.want) {
				t.Errorf("%s: answer %q, want %q", id, got, tc.want)
			}
			for _, rr := range r.Answer {
				if rr.Header().Name != tc.name {
					t.Errorf("%s: owner %q does not echo the question", id, rr.Header().Name)
				}
				if rr.Header().Ttl != 300 {
					t.Errorf("%s: TTL %d", id, rr.Header().Ttl)
				}
			}
			negative := tc.rcode == nx || (tc.rcode == ok && tc.want == nil)
			if negative {
				// RFC 2308: NXDOMAIN and NODATA carry the SOA.
				if len(r.Ns) != 1 || r.Ns[0].Header().Rrtype != dns.TypeSOA || r.Ns[0].Header().Ttl > 60 {
					t.Errorf("%s: authority %v, want one SOA with TTL ≤ 60", id, r.Ns)
				}
			} else if len(r.Ns) != 0 {
				t.Errorf("%s: unexpected authority %v", id, r.Ns)
			}
			if opt := r.IsEdns0(); (opt != nil) != (edns > 0) || (opt != nil && opt.UDPSize() != 1232) {
				t.Errorf("%s: OPT %v for a query with EDNS %d", id, opt, edns)
			}
		}
	}
	if asked := keys.askedFor(); slices.Contains(asked, "bad*label") || slices.ContainsFunc(asked, func(s string) bool { return s != strings.ToLower(s) }) {
		t.Errorf("Keys saw %q; want only lowercase token-like labels", asked)
	}
	if n := s.panics.Load(); n != 0 {
		t.Errorf("%d panics", n)
	}
}

func TestSOA(t *testing.T) {
	s, _, _ := start(t)
	r := query(t, s.Addr(), "udp", zone, dns.TypeSOA, 0)
	soa := r.Answer[0].(*dns.SOA)
	if soa.Serial == 0 || soa.Refresh == 0 || soa.Retry == 0 || soa.Retry >= soa.Refresh || soa.Expire <= soa.Refresh || soa.Minttl == 0 || soa.Minttl > 60 {
		t.Errorf("SOA timers: %v", soa)
	}
	if now := uint32(time.Now().Unix()); soa.Serial > now || soa.Serial < now-60 {
		t.Errorf("serial %d is not the start time (%d)", soa.Serial, now)
	}
}

func TestAdditional(t *testing.T) {
	s, _, _ := start(t)
	r := query(t, s.Addr(), "udp", zone, dns.TypeNS, 1232)
	if got, want := values(r.Extra[:len(r.Extra)-1]), append(slices.Clone(addrs), "AAAA 2001:db8::10"); !slices.Equal(got, want) {
		t.Errorf("NS glue %q, want %q", got, want)
	}
	if r.Extra[len(r.Extra)-1].Header().Rrtype != dns.TypeOPT {
		t.Errorf("OPT not last: %v", r.Extra)
	}
	r = query(t, s.Addr(), "tcp", "simulator."+zone, dns.TypeMX, 0)
	if len(r.Extra) != 4 || r.Extra[0].Header().Name != "inbound-smtp.us-east-1."+zone {
		t.Errorf("MX additional %v", r.Extra)
	}
}

func TestIPv6Only(t *testing.T) {
	keys := newKeys()
	s := startServer(t, Config{Domain: "mail.example.test", Regions: []string{"ap-south-1"}, Keys: keys,
		PublicIPs: []net.IP{net.ParseIP("2001:db8::1"), net.ParseIP("2001:db8::2")}})
	r := query(t, s.Addr(), "udp", "mail.example.test.", dns.TypeTXT, 0)
	if got := values(r.Answer); !slices.Equal(got, []string{"TXT v=spf1 ip6:2001:db8::1 ip6:2001:db8::2 -all"}) {
		t.Errorf("SPF %q", got)
	}
	r = query(t, s.Addr(), "udp", "inbound-smtp.ap-south-1.mail.example.test.", dns.TypeAAAA, 0)
	if got := values(r.Answer); !slices.Equal(got, []string{"AAAA 2001:db8::1", "AAAA 2001:db8::2"}) {
		t.Errorf("AAAA %q", got)
	}
	r = query(t, s.Addr(), "udp", "inbound-smtp.ap-south-1.mail.example.test.", dns.TypeA, 0)
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 || len(r.Ns) != 1 {
		t.Errorf("A on a v6-only name: want NODATA, got %v", r)
	}
}

func TestManyIPsSPFSplit(t *testing.T) {
	var ips []net.IP
	for i := range 40 {
		ips = append(ips, net.IPv4(198, 51, 100, byte(i)))
	}
	s := startServer(t, Config{Domain: "sesame.localhost", Regions: []string{"us-east-1"}, Keys: newKeys(), PublicIPs: ips})
	r := query(t, s.Addr(), "tcp", zone, dns.TypeTXT, 0)
	txt := r.Answer[0].(*dns.TXT)
	joined := strings.Join(txt.Txt, "")
	if len(txt.Txt) < 2 || !strings.HasPrefix(joined, "v=spf1 ip4:198.51.100.0 ") || !strings.HasSuffix(joined, " ip4:198.51.100.39 -all") {
		t.Errorf("SPF split into %d strings: %q", len(txt.Txt), joined)
	}
	for _, p := range txt.Txt {
		if len(p) > 255 {
			t.Errorf("string of %d octets", len(p))
		}
	}
}

func TestDKIMLive(t *testing.T) {
	s, keys, logs := start(t)
	name := tok + ".dkim." + zone
	for _, netw := range []string{"udp", "tcp"} {
		keys.del(tok)
		keys.fail(nil, false)
		if r := query(t, s.Addr(), netw, name, dns.TypeTXT, 0); r.Rcode != dns.RcodeNameError {
			t.Fatalf("%s before: %s", netw, dns.RcodeToString[r.Rcode])
		}
		keys.set(tok, "p=NEW")
		if r := query(t, s.Addr(), netw, name, dns.TypeTXT, 0); r.Rcode != dns.RcodeSuccess || !slices.Equal(values(r.Answer), []string{"TXT p=NEW"}) {
			t.Fatalf("%s: new key not served at once: %v", netw, r)
		}
		keys.set(tok, "p=ROTATED")
		if r := query(t, s.Addr(), netw, name, dns.TypeTXT, 0); !slices.Equal(values(r.Answer), []string{"TXT p=ROTATED"}) {
			t.Fatalf("%s: changed key not served at once: %v", netw, r)
		}
		keys.del(tok)
		if r := query(t, s.Addr(), netw, name, dns.TypeTXT, 0); r.Rcode != dns.RcodeNameError || len(r.Ns) != 1 {
			t.Fatalf("%s: removed key: %v", netw, r)
		}
		keys.set(tok, "p=X")
		keys.fail(errors.New("store down"), false)
		if r := query(t, s.Addr(), netw, name, dns.TypeTXT, 0); r.Rcode != dns.RcodeServerFailure || r.Authoritative || len(r.Answer) != 0 {
			t.Fatalf("%s: store error: %v", netw, r)
		}
	}
	if !strings.Contains(logs.String(), "store down") || !strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("Keys error not logged: %s", logs)
	}
	// Static names never touch Keys, so they survive a store outage.
	if r := query(t, s.Addr(), "udp", zone, dns.TypeTXT, 0); r.Rcode != dns.RcodeSuccess {
		t.Errorf("apex during outage: %s", dns.RcodeToString[r.Rcode])
	}
}

func TestPanicRecovered(t *testing.T) {
	keys, logs := newKeys(), &logBuf{}
	s := startServer(t, baseConfig(keys, logs))
	keys.fail(nil, true)
	for _, netw := range []string{"udp", "tcp"} {
		r := query(t, s.Addr(), netw, tok+".dkim."+zone, dns.TypeTXT, 1232)
		if r.Rcode != dns.RcodeServerFailure {
			t.Errorf("%s: panic gave %s", netw, dns.RcodeToString[r.Rcode])
		}
	}
	if s.panics.Load() != 2 || !strings.Contains(logs.String(), "keys exploded") {
		t.Errorf("panics=%d, log: %s", s.panics.Load(), logs)
	}
	keys.fail(nil, false)
	if r := query(t, s.Addr(), "udp", zone, dns.TypeSOA, 0); r.Rcode != dns.RcodeSuccess {
		t.Errorf("after panic: %v", r)
	}
}

func rsaTXT(t *testing.T, bits int) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return "p=" + base64.StdEncoding.EncodeToString(der)
}

func TestLongDKIM(t *testing.T) {
	s, keys, _ := start(t)
	long := rsaTXT(t, 2048)
	if len(long) < 390 {
		t.Fatalf("test key only %d chars", len(long))
	}
	keys.set(tok, long)
	for _, netw := range []string{"udp", "tcp"} {
		r := query(t, s.Addr(), netw, tok+".dkim."+zone, dns.TypeTXT, 1232)
		if len(r.Answer) != 1 {
			t.Fatalf("%s: %v", netw, r)
		}
		txt := r.Answer[0].(*dns.TXT)
		if len(txt.Txt) != 2 || len(txt.Txt[0]) != 255 || strings.Join(txt.Txt, "") != long {
			t.Errorf("%s: %d strings (%d octets first) do not reassemble the key", netw, len(txt.Txt), len(txt.Txt[0]))
		}
	}
	// A value with a backslash and a quote survives packing octet for octet.
	odd := `p=a\b"c` + strings.Repeat("d", 300)
	keys.set(tok, odd)
	r := query(t, s.Addr(), "tcp", tok+".dkim."+zone, dns.TypeTXT, 0)
	got := strings.Join(r.Answer[0].(*dns.TXT).Txt, "")
	if got = strings.NewReplacer(`\\`, `\`, `\"`, `"`).Replace(got); got != odd {
		t.Errorf("odd value came back as %q", got)
	}
}

func TestTruncation(t *testing.T) {
	s, keys, _ := start(t)
	name := tok + ".dkim." + zone
	tests := []struct {
		valueLen int
		edns     uint16
		tc       bool
	}{
		{700, 0, true},      // > 512 without EDNS
		{700, 100, true},    // a size below 512 counts as 512
		{700, 1232, false},  // fits the client's size
		{1300, 4096, true},  // more than our 1232 cap
		{1300, 1232, true},  //
		{300, 0, false},     // fits 512
		{16000, 4096, true}, // only TCP can carry it
	}
	for _, tc := range tests {
		v := "p=" + strings.Repeat("Q", tc.valueLen)
		keys.set(tok, v)
		r := query(t, s.Addr(), "udp", name, dns.TypeTXT, tc.edns)
		if r.Truncated != tc.tc {
			t.Errorf("%d octets, EDNS %d: TC=%v, want %v", tc.valueLen, tc.edns, r.Truncated, tc.tc)
		}
		if r.Truncated && (len(r.Answer) != 0 || r.Rcode != dns.RcodeSuccess || !r.Authoritative) {
			t.Errorf("%d octets, EDNS %d: truncated reply has %d answers, %s", tc.valueLen, tc.edns, len(r.Answer), dns.RcodeToString[r.Rcode])
		}
		if (tc.edns > 0) != (r.IsEdns0() != nil) {
			t.Errorf("%d octets, EDNS %d: OPT %v", tc.valueLen, tc.edns, r.IsEdns0())
		}
		if !r.Truncated && (len(r.Answer) != 1 || strings.Join(r.Answer[0].(*dns.TXT).Txt, "") != v) {
			t.Errorf("%d octets, EDNS %d: answer %v", tc.valueLen, tc.edns, r.Answer)
		}
		// The client then retries over TCP and gets it all.
		r = query(t, s.Addr(), "tcp", name, dns.TypeTXT, tc.edns)
		if r.Truncated || len(r.Answer) != 1 || strings.Join(r.Answer[0].(*dns.TXT).Txt, "") != v {
			t.Errorf("%d octets over TCP: TC=%v, %d answers", tc.valueLen, r.Truncated, len(r.Answer))
		}
	}
	// A value too large to serve at all is SERVFAIL, not a broken packet.
	keys.set(tok, strings.Repeat("Z", 70000))
	if r := query(t, s.Addr(), "tcp", name, dns.TypeTXT, 0); r.Rcode != dns.RcodeServerFailure {
		t.Errorf("70000-octet value: %s", dns.RcodeToString[r.Rcode])
	}
}

func TestANY(t *testing.T) {
	s, keys, _ := start(t)
	keys.set(tok, "p="+strings.Repeat("K", 1000))
	tests := []struct {
		name  string
		rcode int
		hinfo bool
	}{
		{zone, dns.RcodeSuccess, true},
		{"us-east-1." + zone, dns.RcodeSuccess, true},
		{tok + ".dkim." + zone, dns.RcodeSuccess, true},
		{"dkim." + zone, dns.RcodeSuccess, false},
		{tok2 + ".dkim." + zone, dns.RcodeNameError, false},
		{"nope." + zone, dns.RcodeNameError, false},
		{"example.com.", dns.RcodeRefused, false},
	}
	for _, tc := range tests {
		for _, netw := range []string{"udp", "tcp"} {
			r := query(t, s.Addr(), netw, tc.name, dns.TypeANY, 4096)
			if r.Rcode != tc.rcode {
				t.Errorf("%s ANY %s: %s", netw, tc.name, dns.RcodeToString[r.Rcode])
				continue
			}
			if tc.hinfo {
				if len(r.Answer) != 1 || value(r.Answer[0]) != "HINFO RFC8482 " {
					t.Errorf("%s ANY %s: %v", netw, tc.name, r.Answer)
				}
			} else if len(r.Answer) != 0 {
				t.Errorf("%s ANY %s: %v", netw, tc.name, r.Answer)
			}
			if n := r.Len(); n > 200 {
				t.Errorf("%s ANY %s: %d-octet reply amplifies", netw, tc.name, n)
			}
		}
	}
}

// raw sends q over TCP without the client's checks and returns the reply.
func raw(t *testing.T, addr string, q *dns.Msg) *dns.Msg {
	t.Helper()
	c, err := dns.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if err := c.WriteMsg(q); err != nil {
		t.Fatal(err)
	}
	r, err := c.ReadMsg()
	if err != nil {
		t.Fatalf("%v: %v", q.Question, err)
	}
	return r
}

func TestBadQueries(t *testing.T) {
	s, _, _ := start(t)
	q := func(mod func(*dns.Msg)) *dns.Msg {
		m := question(zone, dns.TypeSOA, 0)
		mod(m)
		return m
	}
	twoOPT := q(func(m *dns.Msg) {
		m.SetEdns0(1232, false)
		m.Extra = append(m.Extra, dns.Copy(m.Extra[0]))
	})
	tests := []struct {
		name  string
		msg   *dns.Msg
		rcode int
		opt   bool
	}{
		{"two questions", q(func(m *dns.Msg) { m.Question = append(m.Question, m.Question[0]) }), dns.RcodeFormatError, false},
		{"no question", q(func(m *dns.Msg) { m.Question = nil }), dns.RcodeFormatError, false},
		{"NOTIFY", q(func(m *dns.Msg) { m.Opcode = dns.OpcodeNotify }), dns.RcodeNotImplemented, false},
		{"STATUS", q(func(m *dns.Msg) { m.Opcode = dns.OpcodeStatus }), dns.RcodeNotImplemented, false},
		{"UPDATE", q(func(m *dns.Msg) { m.Opcode = dns.OpcodeUpdate }), dns.RcodeNotImplemented, false},
		{"IQUERY", q(func(m *dns.Msg) { m.Opcode = dns.OpcodeIQuery }), dns.RcodeNotImplemented, false},
		{"class CH", q(func(m *dns.Msg) {
			m.Question[0] = dns.Question{Name: "version.bind.", Qtype: dns.TypeTXT, Qclass: dns.ClassCHAOS}
		}), dns.RcodeRefused, false},
		{"class CH in zone", q(func(m *dns.Msg) { m.Question[0].Qclass = dns.ClassCHAOS }), dns.RcodeRefused, false},
		{"class ANY", q(func(m *dns.Msg) { m.Question[0].Qclass = dns.ClassANY }), dns.RcodeRefused, false},
		{"AXFR", q(func(m *dns.Msg) { m.Question[0].Qtype = dns.TypeAXFR }), dns.RcodeRefused, false},
		{"IXFR", q(func(m *dns.Msg) { m.Question[0].Qtype = dns.TypeIXFR }), dns.RcodeRefused, false},
		{"EDNS version 1", q(func(m *dns.Msg) { m.SetEdns0(1232, false); m.Extra[0].(*dns.OPT).SetVersion(1) }), dns.RcodeBadVers, true},
		{"two OPT", twoOPT, dns.RcodeFormatError, false},
		{"RD set", q(func(m *dns.Msg) { m.RecursionDesired = true }), dns.RcodeSuccess, false},
		{"DO bit", q(func(m *dns.Msg) { m.SetEdns0(1232, true) }), dns.RcodeSuccess, true},
	}
	for _, tc := range tests {
		check := func(how string, r *dns.Msg) {
			t.Helper()
			if r == nil {
				t.Errorf("%s %s: no reply", how, tc.name)
				return
			}
			if r.Rcode != tc.rcode || r.Id != tc.msg.Id || !r.Response || r.RecursionAvailable {
				t.Errorf("%s %s: rcode %s id %d QR=%v RA=%v", how, tc.name, dns.RcodeToString[r.Rcode], r.Id, r.Response, r.RecursionAvailable)
			}
			if tc.rcode != dns.RcodeSuccess && (len(r.Answer) != 0 || r.Authoritative) {
				t.Errorf("%s %s: error reply with data or AA: %v", how, tc.name, r)
			}
			if tc.opt && r.IsEdns0() == nil {
				t.Errorf("%s %s: no OPT in the reply", how, tc.name)
			}
			if tc.name == "RD set" && !r.RecursionDesired {
				t.Errorf("%s: RD not echoed", how)
			}
			if tc.name == "DO bit" && !r.IsEdns0().Do() {
				t.Errorf("%s: DO not copied", how)
			}
		}
		check("tcp", raw(t, s.Addr(), tc.msg))
		// ServeDNS directly: the same answers without miekg's pre-filter.
		w := &recorder{}
		s.ServeDNS(w, tc.msg)
		check("ServeDNS", w.msg)
	}
	// A response (QR=1) is never answered.
	resp := question(zone, dns.TypeSOA, 0)
	resp.Response = true
	w := &recorder{}
	s.ServeDNS(w, resp)
	s.ServeDNS(w, nil)
	if w.msg != nil {
		t.Errorf("answered a response: %v", w.msg)
	}
	c := &dns.Client{Net: "udp", Timeout: 300 * time.Millisecond}
	if r, _, err := c.Exchange(resp, s.Addr()); err == nil {
		t.Errorf("answered a response over UDP: %v", r)
	}
}

func TestHostileUDP(t *testing.T) {
	s, _, _ := start(t)
	loop := []byte{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1, 0, 1} // name points at itself
	long := make([]byte, 3000)
	rand.Read(long)
	packets := [][]byte{nil, {0}, []byte("garbage"), loop, long, make([]byte, 12)}
	for _, p := range packets {
		c, err := net.Dial("udp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		c.Write(p)
		c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		buf := make([]byte, 2048)
		if n, err := c.Read(buf); err == nil {
			var r dns.Msg
			if err := r.Unpack(buf[:n]); err != nil || r.Rcode == dns.RcodeSuccess && len(r.Answer) > 0 {
				t.Errorf("reply to garbage %q: %v %v", p, &r, err)
			}
		}
		c.Close()
		if r := query(t, s.Addr(), "udp", zone, dns.TypeSOA, 0); r.Rcode != dns.RcodeSuccess {
			t.Fatalf("after %q: %v", p, r)
		}
	}
	// Many concurrent queries are all answered.
	var wg sync.WaitGroup
	var bad atomic.Int32
	for i := range 64 {
		wg.Go(func() {
			netw := []string{"udp", "tcp"}[i%2]
			c := &dns.Client{Net: netw, Timeout: 5 * time.Second}
			r, _, err := c.Exchange(question("ns."+zone, dns.TypeA, 0), s.Addr())
			if err != nil || len(r.Answer) != 3 {
				bad.Add(1)
			}
		})
	}
	wg.Wait()
	if bad.Load() != 0 {
		t.Errorf("%d of 64 concurrent queries failed", bad.Load())
	}
	if n := s.panics.Load(); n != 0 {
		t.Errorf("%d panics", n)
	}
}

func TestHostileTCP(t *testing.T) {
	keys, logs := newKeys(), &logBuf{}
	cfg := baseConfig(keys, logs)
	cfg.ReadTimeout, cfg.IdleTimeout, cfg.MaxTCPConns = 300*time.Millisecond, 300*time.Millisecond, 4
	s := startServer(t, cfg)

	closedWithin := func(c net.Conn, d time.Duration) bool {
		c.SetReadDeadline(time.Now().Add(d))
		_, err := c.Read(make([]byte, 1))
		var ne net.Error
		return err != nil && !(errors.As(err, &ne) && ne.Timeout())
	}
	dial := func() net.Conn {
		c, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}

	// Idle connections up to the cap; the one beyond it is closed at once.
	var idle []net.Conn
	for range 4 {
		idle = append(idle, dial())
	}
	time.Sleep(50 * time.Millisecond) // let the server accept them
	if extra := dial(); !closedWithin(extra, 250*time.Millisecond) {
		t.Errorf("connection beyond MaxTCPConns stayed open")
	}
	// The idle ones are dropped after ReadTimeout, freeing their slots.
	for _, c := range idle {
		if !closedWithin(c, 2*time.Second) {
			t.Errorf("idle connection not closed after ReadTimeout")
		}
	}
	if r := query(t, s.Addr(), "tcp", zone, dns.TypeSOA, 0); r.Rcode != dns.RcodeSuccess {
		t.Errorf("TCP query after the idle connections: %v", r)
	}

	// A message that announces 65535 octets and sends ten, then stalls.
	c := dial()
	c.Write(append([]byte{0xff, 0xff}, make([]byte, 10)...))
	if !closedWithin(c, 2*time.Second) {
		t.Errorf("stalled oversized message: connection kept")
	}
	// Garbage framed as a TCP message gets FORMERR or nothing, and the server lives.
	c = dial()
	c.Write([]byte{0, 18, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1, 0, 1})
	closedWithin(c, 500*time.Millisecond)

	// After a query, a connection may idle IdleTimeout, then it is closed.
	dc := &dns.Conn{Conn: dial()}
	if err := dc.WriteMsg(question(zone, dns.TypeSOA, 0)); err != nil {
		t.Fatal(err)
	}
	if r, err := dc.ReadMsg(); err != nil || r.Rcode != dns.RcodeSuccess {
		t.Fatalf("pipelined query: %v %v", r, err)
	}
	if err := dc.WriteMsg(question(zone, dns.TypeNS, 0)); err != nil {
		t.Fatal(err)
	}
	if r, err := dc.ReadMsg(); err != nil || len(r.Answer) != 1 {
		t.Fatalf("second query on the connection: %v %v", r, err)
	}
	if !closedWithin(dc.Conn, 2*time.Second) {
		t.Errorf("idle connection after queries not closed")
	}
	if r := query(t, s.Addr(), "tcp", zone, dns.TypeSOA, 0); r.Rcode != dns.RcodeSuccess {
		t.Errorf("after hostile TCP: %v", r)
	}
	if n := s.panics.Load(); n != 0 {
		t.Errorf("%d panics", n)
	}
}

func TestLifecycle(t *testing.T) {
	keys := newKeys()
	cfg := Config{Domain: "sesame.localhost", Regions: []string{"us-east-1"}, Keys: keys, PublicIPs: []net.IP{net.IPv4(127, 0, 0, 1)}}

	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if s.Addr() != "" {
		t.Errorf("Addr before Start: %q", s.Addr())
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := s.Start(ctx, "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	addr := s.Addr()
	host, port, _ := net.SplitHostPort(addr)
	if host != "127.0.0.1" || port == "0" {
		t.Fatalf("Addr %q", addr)
	}
	query(t, addr, "udp", zone, dns.TypeSOA, 0)
	query(t, addr, "tcp", zone, dns.TypeSOA, 0) // same port for both
	if err := s.Start(ctx, "127.0.0.1:0"); err == nil {
		t.Errorf("second Start succeeded")
	}
	// A busy port is an error.
	s2, _ := New(cfg)
	if err := s2.Start(ctx, addr); err == nil {
		t.Errorf("Start on a busy port succeeded")
	}
	// Cancelling ctx stops the server.
	cancel()
	deadline := time.Now().Add(3 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("server still accepting after ctx was cancelled")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown after ctx cancel: %v", err)
	}

	// Shutdown directly, twice; Start after Shutdown fails.
	s3, _ := New(cfg)
	if err := s3.Start(context.Background(), "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	if err := s3.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := s3.Shutdown(context.Background()); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
	c := &dns.Client{Net: "udp", Timeout: 200 * time.Millisecond}
	if _, _, err := c.Exchange(question(zone, dns.TypeSOA, 0), s3.Addr()); err == nil {
		t.Errorf("answered after Shutdown")
	}
	if err := s3.Start(context.Background(), "127.0.0.1:0"); err == nil {
		t.Errorf("Start after Shutdown succeeded")
	}
	s4, _ := New(cfg)
	if err := s4.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown before Start: %v", err)
	}
	if err := s4.Start(context.Background(), "not an address"); err == nil {
		t.Errorf("Start after Shutdown succeeded")
	}
	s5, _ := New(cfg)
	if err := s5.Start(context.Background(), "not an address"); err == nil {
		t.Errorf("Start on a bad address succeeded")
	}
}

func TestNew(t *testing.T) {
	keys := newKeys()
	ok := Config{Domain: "sesame.localhost", Regions: []string{"us-east-1"}, Keys: keys}
	tests := []struct {
		name string
		mod  func(*Config)
		err  bool
	}{
		{"minimal", func(*Config) {}, false},
		{"trailing dot and case", func(c *Config) { c.Domain = "SES.Example.COM." }, false},
		{"no domain", func(c *Config) { c.Domain = "" }, true},
		{"root", func(c *Config) { c.Domain = "." }, true},
		{"bad domain", func(c *Config) { c.Domain = "a..b" }, true},
		{"space in domain", func(c *Config) { c.Domain = "a b.test" }, true},
		{"no regions", func(c *Config) { c.Regions = nil }, true},
		{"bad region", func(c *Config) { c.Regions = []string{"us east"} }, true},
		{"region named dkim", func(c *Config) { c.Regions = []string{"us-east-1", "DKIM"} }, true},
		{"region named ns", func(c *Config) { c.Regions = []string{"ns"} }, true},
		{"duplicate regions", func(c *Config) { c.Regions = []string{"us-east-1", "US-EAST-1"} }, false},
		{"no keys", func(c *Config) { c.Keys = nil }, true},
		{"nil IP", func(c *Config) { c.PublicIPs = []net.IP{nil} }, true},
		{"short IP", func(c *Config) { c.PublicIPs = []net.IP{{1, 2, 3}} }, true},
		{"negative TTL", func(c *Config) { c.TTL = -time.Second }, true},
		{"negative conns", func(c *Config) { c.MaxTCPConns = -1 }, true},
	}
	for _, tc := range tests {
		cfg := ok
		tc.mod(&cfg)
		_, err := New(cfg)
		if (err != nil) != tc.err {
			t.Errorf("%s: err %v, want error %v", tc.name, err, tc.err)
		}
	}
}

func TestTTL(t *testing.T) {
	for _, tc := range []struct {
		ttl       time.Duration
		want, neg uint32
	}{{0, 300, 60}, {30 * time.Second, 30, 30}, {time.Millisecond, 1, 1}, {time.Hour, 3600, 60}} {
		s, err := New(Config{Domain: "sesame.localhost", Regions: []string{"us-east-1"}, Keys: newKeys(), TTL: tc.ttl,
			PublicIPs: []net.IP{net.IPv4(192, 0, 2, 1)}})
		if err != nil {
			t.Fatal(err)
		}
		w := &recorder{}
		s.ServeDNS(w, question("ns."+zone, dns.TypeA, 0))
		if got := w.msg.Answer[0].Header().Ttl; got != tc.want {
			t.Errorf("TTL %v: records have %d, want %d", tc.ttl, got, tc.want)
		}
		s.ServeDNS(w, question("none."+zone, dns.TypeA, 0))
		if got := w.msg.Ns[0].Header().Ttl; got != tc.neg || w.msg.Ns[0].(*dns.SOA).Minttl != tc.neg {
			t.Errorf("TTL %v: negative TTL %d, want %d", tc.ttl, got, tc.neg)
		}
	}
}

// recorder is a dns.ResponseWriter that keeps the reply.
type recorder struct {
	msg *dns.Msg
	tcp bool
}

func (r *recorder) LocalAddr() net.Addr { return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53} }
func (r *recorder) RemoteAddr() net.Addr {
	if r.tcp {
		return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5300}
	}
	return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5300}
}
func (r *recorder) WriteMsg(m *dns.Msg) error { r.msg = m; return nil }
func (r *recorder) Write([]byte) (int, error) { return 0, errors.New("recorder: raw write") }
func (r *recorder) Close() error              { return nil }
func (r *recorder) TsigStatus() error         { return nil }
func (r *recorder) TsigTimersOnly(bool)       {}
func (r *recorder) Hijack()                   {}

func FuzzServeDNS(f *testing.F) {
	seed := func(m *dns.Msg) {
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	seed(question(tok+".dkim."+zone, dns.TypeTXT, 0))
	seed(question("FEEDBACK-SMTP.us-east-1."+zone, dns.TypeA, 1232))
	seed(question(zone, dns.TypeANY, 4096))
	seed(question("example.com.", dns.TypeA, 0))
	multi := question(zone, dns.TypeSOA, 0)
	multi.Question = append(multi.Question, multi.Question[0])
	seed(multi)
	badvers := question(zone, dns.TypeNS, 1232)
	badvers.Extra[0].(*dns.OPT).SetVersion(3)
	seed(badvers)
	f.Add([]byte{0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1, 0, 1})
	f.Add([]byte{})
	f.Add([]byte("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"))

	keys, logs := newKeys(), &logBuf{}
	keys.set(tok, "p="+strings.Repeat("F", 800))
	cfg := baseConfig(keys, logs)
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelError}))
	live := startServer(f, cfg)
	direct, err := New(cfg)
	if err != nil {
		f.Fatal(err)
	}
	good := question("ns."+zone, dns.TypeA, 0)
	client := &dns.Client{Net: "udp", Timeout: 3 * time.Second}

	f.Fuzz(func(t *testing.T, packet []byte) {
		// 1. Through ServeDNS, over both transports.
		if m := new(dns.Msg); m.Unpack(packet) == nil {
			for _, tcp := range []bool{false, true} {
				w := &recorder{tcp: tcp}
				direct.ServeDNS(w, m)
				if m.Response {
					if w.msg != nil {
						t.Fatalf("answered a response")
					}
					continue
				}
				if w.msg == nil {
					t.Fatalf("no reply")
				}
				b, err := w.msg.Pack()
				if err != nil {
					t.Fatalf("reply does not pack: %v\n%v", err, w.msg)
				}
				if !tcp && len(b) > maxUDPReply {
					t.Fatalf("UDP reply of %d octets", len(b))
				}
				if w.msg.Id != m.Id || !w.msg.Response || w.msg.RecursionAvailable {
					t.Fatalf("bad header: %v", w.msg)
				}
			}
			if n := direct.panics.Load(); n != 0 {
				t.Fatalf("%d panics: %s", n, logs)
			}
		}
		// 2. The raw bytes over UDP to the live server, which still answers.
		c, err := net.Dial("udp", live.Addr())
		if err != nil {
			t.Fatal(err)
		}
		c.Write(packet)
		c.Close()
		r, _, err := client.Exchange(good, live.Addr())
		if err != nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) != 3 {
			t.Fatalf("server no longer answers: %v %v", r, err)
		}
		if n := live.panics.Load(); n != 0 {
			t.Fatalf("%d panics", n)
		}
	})
}
