package dnstest_test

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/sesame-email/sesame/internal/dnstest"
)

// ask sends one question with a plain miekg client.
func ask(t *testing.T, network, addr, name string, qtype uint16, edns uint16) *dns.Msg {
	t.Helper()
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), qtype)
	if edns > 0 {
		q.SetEdns0(edns, false)
	}
	c := &dns.Client{Net: network, Timeout: 5 * time.Second, UDPSize: edns}
	r, _, err := c.Exchange(q, addr)
	if err != nil {
		t.Fatalf("%s %s %s: %v", network, name, dns.TypeToString[qtype], err)
	}
	return r
}

// summary is "RCODE flags: records" for comparing answers.
func summary(r *dns.Msg) string {
	var rrs []string
	for _, rr := range r.Answer {
		h := rr.Header()
		rrs = append(rrs, strings.ToLower(h.Name)+" "+dns.TypeToString[h.Rrtype]+" "+strings.TrimPrefix(rr.String(), h.String()))
	}
	flags := ""
	if r.Authoritative {
		flags += " aa"
	}
	if r.Truncated {
		flags += " tc"
	}
	return dns.RcodeToString[r.Rcode] + flags + ": " + strings.Join(rrs, "; ")
}

func TestAnswers(t *testing.T) {
	t.Parallel()
	s := dnstest.Start(t)
	s.Add(
		`Host.Example.com. 300 IN A 192.0.2.1`,
		`host.example.com. 300 IN A 192.0.2.1`, // a duplicate is not added (RFC 2181 §5)
		`host.example.com. 300 IN TXT "hello"`,
		`deep.sub.example.com. 300 IN A 192.0.2.9`,
		`alias.example.com. 300 IN CNAME host.example.com.`,
		`alias2.example.com. 300 IN CNAME alias.example.com.`,
		`out.example.com. 300 IN CNAME elsewhere.example.net.`,
		`loop1.example. 300 IN CNAME loop2.example.`,
		`loop2.example. 300 IN CNAME loop1.example.`,
	)
	tests := []struct {
		name  string
		qtype uint16
		want  string
	}{
		{"host.example.com", dns.TypeA, "NOERROR aa: host.example.com. A 192.0.2.1"},
		{"HOST.EXAMPLE.COM", dns.TypeA, "NOERROR aa: host.example.com. A 192.0.2.1"}, // RFC 4343
		{"host.example.com", dns.TypeMX, "NOERROR aa: "},                             // NODATA
		{"sub.example.com", dns.TypeA, "NOERROR aa: "},                               // empty non-terminal
		{"example.com", dns.TypeA, "NOERROR aa: "},                                   // empty non-terminal
		{"nothing.example.com", dns.TypeA, "NXDOMAIN aa: "},
		{"alias2.example.com", dns.TypeA, "NOERROR aa: alias2.example.com. CNAME alias.example.com.; alias.example.com. CNAME host.example.com.; host.example.com. A 192.0.2.1"},
		{"alias.example.com", dns.TypeMX, "NOERROR aa: alias.example.com. CNAME host.example.com."},    // NODATA at the target
		{"alias.example.com", dns.TypeCNAME, "NOERROR aa: alias.example.com. CNAME host.example.com."}, // no chase for CNAME
		{"out.example.com", dns.TypeA, "NOERROR aa: out.example.com. CNAME elsewhere.example.net."},    // unknown target: the client's job
		{"loop1.example", dns.TypeA, "NOERROR aa: loop1.example. CNAME loop2.example.; loop2.example. CNAME loop1.example."},
	}
	for _, tc := range tests {
		for _, network := range []string{"udp", "tcp"} {
			if got := summary(ask(t, network, s.Addr(), tc.name, tc.qtype, 0)); got != tc.want {
				t.Errorf("%s %s %s:\n got %s\nwant %s", network, tc.name, dns.TypeToString[tc.qtype], got, tc.want)
			}
		}
	}
	if n := s.Queries(); n != 2*len(tests) {
		t.Errorf("Queries() = %d, want %d", n, 2*len(tests))
	}
}

func TestChanges(t *testing.T) {
	t.Parallel()
	s := dnstest.Start(t)
	s.Add(`x.example. 300 IN A 192.0.2.1`, `x.example. 300 IN A 192.0.2.2`, `x.example. 300 IN TXT "t"`)
	steps := []struct {
		change func()
		qtype  uint16
		want   string
	}{
		{func() {}, dns.TypeA, "NOERROR aa: x.example. A 192.0.2.1; x.example. A 192.0.2.2"},
		{func() { s.Set("x.example", dns.TypeA, `x.example. 300 IN A 192.0.2.3`) }, dns.TypeA, "NOERROR aa: x.example. A 192.0.2.3"},
		{func() { s.Remove("X.example.", dns.TypeA) }, dns.TypeA, "NOERROR aa: "},
		{func() {}, dns.TypeTXT, `NOERROR aa: x.example. TXT "t"`},
		{func() { s.SetRcode("x.example", dns.RcodeServerFailure) }, dns.TypeTXT, "SERVFAIL aa: "},
		{func() { s.SetRcode("x.example", dns.RcodeRefused) }, dns.TypeTXT, "REFUSED aa: "},
		{func() { s.SetRcode("x.example", -1) }, dns.TypeTXT, `NOERROR aa: x.example. TXT "t"`},
		{func() { s.Remove("x.example", dns.TypeANY) }, dns.TypeTXT, "NXDOMAIN aa: "},
	}
	for i, st := range steps {
		st.change()
		if got := summary(ask(t, "udp", s.Addr(), "x.example", st.qtype, 0)); got != st.want {
			t.Errorf("step %d: got %s, want %s", i, got, st.want)
		}
	}
}

// TestRcodeOnChain: a forced RCODE on a CNAME's target is the answer's.
func TestRcodeOnChain(t *testing.T) {
	t.Parallel()
	s := dnstest.Start(t)
	s.Add(`a.example. 300 IN CNAME b.example.`)
	s.SetRcode("b.example", dns.RcodeServerFailure)
	if got := summary(ask(t, "udp", s.Addr(), "a.example", dns.TypeTXT, 0)); got != "SERVFAIL aa: " {
		t.Errorf("got %s", got)
	}
}

// TestTruncation: UDP answers fit the client's buffer (512 octets without
// EDNS0, the OPT size with it) or come truncated with TC; TCP carries all.
func TestTruncation(t *testing.T) {
	t.Parallel()
	s := dnstest.Start(t)
	for i := range 40 {
		s.Add(fmt.Sprintf(`big.example. 300 IN TXT "%s-%02d"`, strings.Repeat("x", 200), i))
	}
	for _, tc := range []struct {
		network string
		edns    uint16
		tc      bool
		max     int
	}{
		{"udp", 0, true, dns.MinMsgSize},
		{"udp", 1232, true, 1232},
		{"udp", 65000, false, 65000},
		{"tcp", 0, false, dns.MaxMsgSize},
	} {
		r := ask(t, tc.network, s.Addr(), "big.example", dns.TypeTXT, tc.edns)
		b, err := r.Pack()
		if err != nil {
			t.Fatal(err)
		}
		if r.Truncated != tc.tc || len(b) > tc.max || (!tc.tc && len(r.Answer) != 40) {
			t.Errorf("%s edns %d: tc=%v, %d octets, %d records", tc.network, tc.edns, r.Truncated, len(b), len(r.Answer))
		}
		if tc.edns > 0 && r.IsEdns0() == nil {
			t.Errorf("%s edns %d: no OPT in the reply (RFC 6891 §7)", tc.network, tc.edns)
		}
	}
}

func TestDelay(t *testing.T) {
	t.Parallel()
	s := dnstest.Start(t)
	s.Add(`slow.example. 300 IN A 192.0.2.1`)
	s.SetDelay("slow.example", 300*time.Millisecond)
	start := time.Now()
	ask(t, "udp", s.Addr(), "slow.example", dns.TypeA, 0)
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("answered after %v", d)
	}
	s.SetDelay("slow.example", 0)
	start = time.Now()
	ask(t, "udp", s.Addr(), "slow.example", dns.TypeA, 0)
	if d := time.Since(start); d > 250*time.Millisecond {
		t.Errorf("cleared delay: answered after %v", d)
	}
	// A delay still running when the test ends does not hold up Cleanup.
	s.SetDelay("slow.example", time.Hour)
	q := new(dns.Msg)
	q.SetQuestion("slow.example.", dns.TypeA)
	go (&dns.Client{Timeout: 100 * time.Millisecond}).Exchange(q, s.Addr())
	time.Sleep(20 * time.Millisecond)
}

func TestForward(t *testing.T) {
	t.Parallel()
	s, own, deeper := dnstest.Start(t), dnstest.Start(t), dnstest.Start(t)
	s.Forward("sesame.localhost.", own.Addr())
	s.Forward("Deep.Sesame.Localhost", deeper.Addr()) // the longest suffix wins
	own.Add(`tok.dkim.sesame.localhost. 300 IN TXT "p=KEY"`, `feedback.sesame.localhost. 300 IN A 192.0.2.5`,
		`back.sesame.localhost. 300 IN CNAME local.customer.example.`)
	deeper.Add(`x.deep.sesame.localhost. 300 IN TXT "deeper"`)
	s.Add(`sel._domainkey.customer.example. 300 IN CNAME tok.dkim.sesame.localhost.`,
		`local.customer.example. 300 IN TXT "back"`)
	tests := []struct {
		name  string
		qtype uint16
		want  string
	}{
		{"tok.dkim.sesame.localhost", dns.TypeTXT, `NOERROR aa: tok.dkim.sesame.localhost. TXT "p=KEY"`},
		{"sel._domainkey.customer.example", dns.TypeTXT, `NOERROR aa: sel._domainkey.customer.example. CNAME tok.dkim.sesame.localhost.; tok.dkim.sesame.localhost. TXT "p=KEY"`},
		{"nothing.sesame.localhost", dns.TypeTXT, "NXDOMAIN aa: "},
		{"x.deep.sesame.localhost", dns.TypeTXT, `NOERROR aa: x.deep.sesame.localhost. TXT "deeper"`},
		// A forwarded answer ending in a CNAME to local data goes on here.
		{"back.sesame.localhost", dns.TypeTXT, `NOERROR aa: back.sesame.localhost. CNAME local.customer.example.; local.customer.example. TXT "back"`},
	}
	for _, tc := range tests {
		if got := summary(ask(t, "udp", s.Addr(), tc.name, tc.qtype, 0)); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
	// A forwarded server that does not answer makes a SERVFAIL.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := pc.LocalAddr().String()
	pc.Close()
	s.Forward("dead.example", dead)
	if got := summary(ask(t, "udp", s.Addr(), "x.dead.example", dns.TypeA, 0)); got != "SERVFAIL aa: " {
		t.Errorf("dead forward: %s", got)
	}
	s.Forward("dead.example", "")
	if got := summary(ask(t, "udp", s.Addr(), "x.dead.example", dns.TypeA, 0)); got != "NXDOMAIN aa: " {
		t.Errorf("removed forward: %s", got)
	}
}

func TestNotAQuery(t *testing.T) {
	t.Parallel()
	s := dnstest.Start(t)
	q := new(dns.Msg)
	q.SetNotify("example.")
	r, _, err := (&dns.Client{Timeout: 5 * time.Second}).Exchange(q, s.Addr())
	if err != nil || r.Rcode != dns.RcodeNotImplemented {
		t.Errorf("NOTIFY: %v, %v", r, err)
	}
}

// fatalTB records Fatalf instead of ending the test.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	panic(f)
}

func TestBadRecord(t *testing.T) {
	t.Parallel()
	tb := &fatalTB{TB: t}
	s := dnstest.Start(tb)
	func() {
		defer func() {
			if r := recover(); r != tb {
				panic(r)
			}
		}()
		s.Add(`x.example. 300 IN A not-an-address`)
	}()
	if !strings.Contains(tb.msg, "bad record") {
		t.Errorf("Fatalf(%q)", tb.msg)
	}
}

// TestConcurrent changes the zone while it answers (run with -race).
func TestConcurrent(t *testing.T) {
	t.Parallel()
	s, other := dnstest.Start(t), dnstest.Start(t)
	other.Add(`x.fw.example. 300 IN A 192.0.2.99`)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 100 {
			s.Add(fmt.Sprintf(`n%d.example. 300 IN A 192.0.2.%d`, i%10, i%250+1))
			s.Set("c.example", dns.TypeTXT, fmt.Sprintf(`c.example. 300 IN TXT "%d"`, i))
			s.SetRcode("r.example", i%3-1)
			s.SetDelay("d.example", time.Duration(i%2)*time.Millisecond)
			s.Forward("fw.example", other.Addr())
			s.Remove(fmt.Sprintf("n%d.example", (i+5)%10), dns.TypeANY)
		}
	})
	for range 4 {
		wg.Go(func() {
			for i := range 25 {
				for _, n := range []string{fmt.Sprintf("n%d.example", i%10), "c.example", "r.example", "d.example", "x.fw.example"} {
					q := new(dns.Msg)
					q.SetQuestion(n+".", dns.TypeA)
					if _, _, err := (&dns.Client{Timeout: 5 * time.Second}).Exchange(q, s.Addr()); err != nil {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	r := ask(t, "udp", s.Addr(), "c.example", dns.TypeTXT, 0)
	if got := summary(r); got != `NOERROR aa: c.example. TXT "99"` || !slices.ContainsFunc(r.Answer, func(rr dns.RR) bool { return rr.Header().Rrtype == dns.TypeTXT }) {
		t.Errorf("after the changes: %s", got)
	}
}
