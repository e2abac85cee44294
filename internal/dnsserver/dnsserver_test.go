package dnsserver

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

type fakeKeys struct {
	mu   sync.Mutex
	m    map[string]string
	fail bool
}

func (f *fakeKeys) DKIMRecord(_ context.Context, tok string) (string, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return "", false, errors.New("store down")
	}
	v, ok := f.m[tok]
	return v, ok, nil
}

func (f *fakeKeys) set(tok, v string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if v == "" {
		delete(f.m, tok)
	} else {
		f.m[tok] = v
	}
}

const tok = "abcdefghijklmnopqrstuvwxyz234567"

func start(t *testing.T) (*Server, *fakeKeys) {
	keys := &fakeKeys{m: map[string]string{}}
	s, err := New(Config{Domain: "Sesame.Localhost", Regions: []string{"us-east-1", "eu-west-1"},
		PublicIPs: []net.IP{net.ParseIP("192.0.2.10"), net.ParseIP("2001:db8::10")}, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := s.Start(ctx, "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	return s, keys
}

func query(t *testing.T, addr, netw, name string, qtype uint16, edns uint16) *dns.Msg {
	t.Helper()
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), qtype)
	if edns > 0 {
		q.SetEdns0(edns, false)
	}
	c := &dns.Client{Net: netw, Timeout: 2 * time.Second}
	r, _, err := c.Exchange(q, addr)
	if err != nil {
		t.Fatalf("%s %s: %v", name, dns.TypeToString[qtype], err)
	}
	return r
}

func TestNames(t *testing.T) {
	s, keys := start(t)
	long := "p=" + strings.Repeat("A", 390)
	keys.set(tok, long)
	tests := []struct {
		name   string
		qtype  uint16
		rcode  int
		want   []string // substrings of the answer records
		nodata bool
	}{
		{"sesame.localhost", dns.TypeTXT, dns.RcodeSuccess, []string{"v=spf1 ip4:192.0.2.10 ip6:2001:db8::10 -all"}, false},
		{"sesame.localhost", dns.TypeSOA, dns.RcodeSuccess, []string{"ns.sesame.localhost.", "hostmaster.sesame.localhost."}, false},
		{"sesame.localhost", dns.TypeNS, dns.RcodeSuccess, []string{"ns.sesame.localhost."}, false},
		{"ns.sesame.localhost", dns.TypeA, dns.RcodeSuccess, []string{"192.0.2.10"}, false},
		{"feedback-smtp.us-east-1.sesame.localhost", dns.TypeA, dns.RcodeSuccess, []string{"192.0.2.10"}, false},
		{"feedback-smtp.eu-west-1.sesame.localhost", dns.TypeAAAA, dns.RcodeSuccess, []string{"2001:db8::10"}, false},
		{"inbound-smtp.us-east-1.sesame.localhost", dns.TypeA, dns.RcodeSuccess, []string{"192.0.2.10"}, false},
		{"us-east-1.sesame.localhost", dns.TypeMX, dns.RcodeSuccess, []string{"10 feedback-smtp.us-east-1.sesame.localhost."}, false},
		{"us-east-1.sesame.localhost", dns.TypeTXT, dns.RcodeSuccess, []string{"v=spf1 include:sesame.localhost -all"}, false},
		{"simulator.sesame.localhost", dns.TypeMX, dns.RcodeSuccess, []string{"inbound-smtp.us-east-1.sesame.localhost."}, false},
		{"US-EAST-1.Sesame.LOCALHOST", dns.TypeMX, dns.RcodeSuccess, []string{"feedback-smtp"}, false},
		{tok + ".dkim.sesame.localhost", dns.TypeTXT, dns.RcodeSuccess, []string{"p=AAAA"}, false},
		{tok + ".dkim.sesame.localhost", dns.TypeA, dns.RcodeSuccess, nil, true},
		{"dkim.sesame.localhost", dns.TypeTXT, dns.RcodeSuccess, nil, true},
		{"us-east-1.sesame.localhost", dns.TypeA, dns.RcodeSuccess, nil, true},
		{"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz.dkim.sesame.localhost", dns.TypeTXT, dns.RcodeNameError, nil, false},
		{"notatoken.dkim.sesame.localhost", dns.TypeTXT, dns.RcodeNameError, nil, false},
		{"feedback-smtp.mars-1.sesame.localhost", dns.TypeA, dns.RcodeNameError, nil, false},
		{"www.sesame.localhost", dns.TypeA, dns.RcodeNameError, nil, false},
		{"example.com", dns.TypeA, dns.RcodeRefused, nil, false},
		{"evil-sesame.localhost", dns.TypeA, dns.RcodeRefused, nil, false},
	}
	for _, tc := range tests {
		for _, netw := range []string{"udp", "tcp"} {
			r := query(t, s.Addr(), netw, tc.name, tc.qtype, 1232)
			if r.Rcode != tc.rcode {
				t.Errorf("%s %s %s: rcode %s, want %s", netw, tc.name, dns.TypeToString[tc.qtype], dns.RcodeToString[r.Rcode], dns.RcodeToString[tc.rcode])
				continue
			}
			if r.RecursionAvailable {
				t.Errorf("%s: RA set", tc.name)
			}
			all := ""
			for _, rr := range r.Answer {
				all += rr.String() + "\n"
			}
			all = strings.ReplaceAll(all, "\" \"", "") // reassemble split TXT strings
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("%s %s: answer %q lacks %q", netw, tc.name, all, w)
				}
			}
			if tc.nodata && (len(r.Answer) != 0 || len(r.Ns) != 1) {
				t.Errorf("%s: want NODATA with SOA, got %v / %v", tc.name, r.Answer, r.Ns)
			}
			if tc.rcode == dns.RcodeNameError && len(r.Ns) != 1 {
				t.Errorf("%s: NXDOMAIN without SOA", tc.name)
			}
			if tc.rcode != dns.RcodeRefused && !r.Authoritative {
				t.Errorf("%s: AA not set", tc.name)
			}
		}
	}
	// The long DKIM key is split into ≤255-octet strings that reassemble.
	r := query(t, s.Addr(), "tcp", tok+".dkim.sesame.localhost", dns.TypeTXT, 0)
	txt := r.Answer[0].(*dns.TXT)
	if strings.Join(txt.Txt, "") != long || len(txt.Txt) != 2 || len(txt.Txt[0]) != 255 {
		t.Errorf("split TXT: %d strings", len(txt.Txt))
	}
}

func TestKeysChangeAndFail(t *testing.T) {
	s, keys := start(t)
	name := tok + ".dkim.sesame.localhost"
	if r := query(t, s.Addr(), "udp", name, dns.TypeTXT, 0); r.Rcode != dns.RcodeNameError {
		t.Fatalf("before: %s", dns.RcodeToString[r.Rcode])
	}
	keys.set(tok, "p=NEW")
	if r := query(t, s.Addr(), "udp", name, dns.TypeTXT, 0); r.Rcode != dns.RcodeSuccess || !strings.Contains(r.Answer[0].String(), "p=NEW") {
		t.Fatalf("new key not served: %v", r)
	}
	keys.set(tok, "")
	if r := query(t, s.Addr(), "udp", name, dns.TypeTXT, 0); r.Rcode != dns.RcodeNameError {
		t.Fatalf("removed key: %s", dns.RcodeToString[r.Rcode])
	}
	keys.mu.Lock()
	keys.fail = true
	keys.mu.Unlock()
	if r := query(t, s.Addr(), "udp", name, dns.TypeTXT, 0); r.Rcode != dns.RcodeServerFailure {
		t.Fatalf("store error: %s", dns.RcodeToString[r.Rcode])
	}
}

func TestAnyTruncationAndBadQueries(t *testing.T) {
	s, keys := start(t)
	r := query(t, s.Addr(), "udp", "sesame.localhost", dns.TypeANY, 0)
	if len(r.Answer) != 1 || r.Answer[0].Header().Rrtype != dns.TypeHINFO {
		t.Errorf("ANY: %v", r.Answer)
	}
	keys.set(tok, "p="+strings.Repeat("B", 600))
	r = query(t, s.Addr(), "udp", tok+".dkim.sesame.localhost", dns.TypeTXT, 0)
	if !r.Truncated {
		t.Errorf("600-byte TXT over 512-byte UDP not truncated")
	}
	if r = query(t, s.Addr(), "tcp", tok+".dkim.sesame.localhost", dns.TypeTXT, 0); r.Truncated || len(r.Answer) != 1 {
		t.Errorf("TCP answer: %v", r)
	}
	// Two questions: FORMERR. Class CH: REFUSED.
	q := new(dns.Msg)
	q.SetQuestion("sesame.localhost.", dns.TypeA)
	q.Question = append(q.Question, q.Question[0])
	c := &dns.Client{Net: "tcp", Timeout: time.Second}
	if r, _, err := c.Exchange(q, s.Addr()); err != nil || r.Rcode != dns.RcodeFormatError {
		t.Errorf("two questions: %v %v", r, err)
	}
	q = new(dns.Msg)
	q.SetQuestion("version.bind.", dns.TypeTXT)
	q.Question[0].Qclass = dns.ClassCHAOS
	if r, _, err := c.Exchange(q, s.Addr()); err != nil || r.Rcode != dns.RcodeRefused {
		t.Errorf("CHAOS: %v %v", r, err)
	}
	// Garbage over UDP does not stop the server.
	conn, _ := net.Dial("udp", s.Addr())
	conn.Write([]byte("\x00\x01garbage\xff\xff\xff"))
	conn.Close()
	if r := query(t, s.Addr(), "udp", "sesame.localhost", dns.TypeTXT, 0); r.Rcode != dns.RcodeSuccess {
		t.Errorf("after garbage: %v", r)
	}
}

func FuzzServeDNS(f *testing.F) {
	q := new(dns.Msg)
	q.SetQuestion(tok+".dkim.sesame.localhost.", dns.TypeTXT)
	b, _ := q.Pack()
	f.Add(b)
	f.Add([]byte("\x00\x00\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01"))
	keys := &fakeKeys{m: map[string]string{tok: "p=AAAA"}}
	s, _ := New(Config{Domain: "sesame.localhost", Regions: []string{"us-east-1"}, Keys: keys})
	f.Fuzz(func(t *testing.T, packet []byte) {
		m := new(dns.Msg)
		if m.Unpack(packet) != nil {
			return
		}
		w := &recorder{}
		s.ServeDNS(w, m)
		if w.msg == nil {
			t.Fatal("no answer")
		}
		if _, err := w.msg.Pack(); err != nil {
			t.Fatalf("unpackable answer: %v", err)
		}
	})
}

// recorder is a dns.ResponseWriter that keeps the answer.
type recorder struct{ msg *dns.Msg }

func (r *recorder) LocalAddr() net.Addr       { return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53} }
func (r *recorder) RemoteAddr() net.Addr      { return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5300} }
func (r *recorder) WriteMsg(m *dns.Msg) error { r.msg = m; return nil }
func (r *recorder) Write([]byte) (int, error) { return 0, nil }
func (r *recorder) Close() error              { return nil }
func (r *recorder) TsigStatus() error         { return nil }
func (r *recorder) TsigTimersOnly(bool)       {}
func (r *recorder) Hijack()                   {}
