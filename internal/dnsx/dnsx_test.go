package dnsx_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/sesame-email/sesame/internal/dnstest"
	"github.com/sesame-email/sesame/internal/dnsx"
)

func TestFqdn(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Example.COM":   "example.com.",
		"example.com.":  "example.com.",
		" a.B.c ":       "a.b.c.",
		"":              ".",
		"KELVIN\u212a.": "kelvin\u212a.", // only ASCII folds (RFC 4343 §3)
	} {
		if got := dnsx.Fqdn(in); got != want {
			t.Errorf("Fqdn(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	c, err := dnsx.New(dnsx.Options{Servers: []string{"127.0.0.1", "::1", "127.0.0.2:5353"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Servers(), []string{"127.0.0.1:53", "[::1]:53", "127.0.0.2:5353"}; !slices.Equal(got, want) {
		t.Errorf("servers %q, want %q", got, want)
	}
	if _, err := dnsx.New(dnsx.Options{Servers: []string{"not a server"}}); err == nil {
		t.Error("a malformed server was accepted")
	}
	if c, err := dnsx.New(dnsx.Options{}); err != nil || len(c.Servers()) == 0 {
		t.Errorf("default servers: %v, %v", c, err)
	}
}

func TestLookupTXT(t *testing.T) {
	t.Parallel()
	z, c := setup(t)
	z.Add(
		`example.com. 300 IN TXT "v=spf1 " "include:sesame.localhost" " -all"`,
		`example.com. 300 IN TXT "google-site-verification=x"`,
		`quoted.example. 300 IN TXT "say \"hi\" \\ there" "caf\195\169"`,
		`alias.example. 300 IN CNAME example.com.`,
		`host.example. 300 IN A 192.0.2.1`,
	)
	tests := []struct {
		name string
		want []string
	}{
		// RFC 7208 §3.3: one record's strings are concatenated without spaces.
		{"example.com", []string{"v=spf1 include:sesame.localhost -all", "google-site-verification=x"}},
		{"EXAMPLE.com.", []string{"v=spf1 include:sesame.localhost -all", "google-site-verification=x"}},
		// The octets published, not miekg's presentation form.
		{"quoted.example", []string{`say "hi" \ there` + "café"}},
		{"alias.example", []string{"v=spf1 include:sesame.localhost -all", "google-site-verification=x"}},
	}
	for _, tc := range tests {
		got, err := c.LookupTXT(context.Background(), tc.name)
		slices.Sort(got)
		slices.Sort(tc.want)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("LookupTXT(%q) = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
}

func TestLookupMX(t *testing.T) {
	t.Parallel()
	z, c := setup(t)
	z.Add(
		`example.com. 300 IN MX 20 mx2.example.com.`,
		`example.com. 300 IN MX 5 MX0.Example.com.`,
		`example.com. 300 IN MX 10 mx1.example.com.`,
		`null.example. 300 IN MX 0 .`,
	)
	tests := []struct {
		name string
		want []string
	}{
		{"example.com", []string{"5 mx0.example.com.", "10 mx1.example.com.", "20 mx2.example.com."}}, // RFC 5321 §5.1
		{"null.example", []string{"0 ."}}, // RFC 7505 §3
	}
	for _, tc := range tests {
		mxs, err := c.LookupMX(context.Background(), tc.name)
		var got []string
		for _, mx := range mxs {
			got = append(got, fmt.Sprintf("%d %s", mx.Pref, mx.Host))
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("LookupMX(%q) = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
}

func TestLookupIPAddr(t *testing.T) {
	t.Parallel()
	z, c := setup(t)
	z.Add(
		`both.example. 300 IN A 192.0.2.1`,
		`both.example. 300 IN AAAA 2001:db8::1`,
		`v4.example. 300 IN A 192.0.2.2`,
		`v6.example. 300 IN AAAA 2001:db8::2`,
		`txt.example. 300 IN TXT "x"`,
	)
	tests := []struct {
		host     string
		want     []string
		notFound string // Err of the not-found error
	}{
		{host: "both.example", want: []string{"192.0.2.1", "2001:db8::1"}},
		{host: "v4.example", want: []string{"192.0.2.2"}},
		{host: "v6.example", want: []string{"2001:db8::2"}},
		{host: "192.0.2.7", want: []string{"192.0.2.7"}}, // a literal needs no DNS
		{host: "txt.example", notFound: "no A or AAAA record"},
		{host: "none.example", notFound: "no such host"},
	}
	for _, tc := range tests {
		ips, err := c.LookupIPAddr(context.Background(), tc.host)
		var got []string
		for _, ip := range ips {
			got = append(got, ip.IP.String())
		}
		if tc.notFound != "" {
			if de := dnsError(t, err); !de.IsNotFound || de.Err != tc.notFound || len(ips) != 0 {
				t.Errorf("LookupIPAddr(%q) = %v, %+v; want not found %q", tc.host, got, de, tc.notFound)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("LookupIPAddr(%q) = %q, %v; want %q", tc.host, got, err, tc.want)
		}
	}
}

// TestLookupIPAddrPartial: addresses of one family are returned when the
// other family's query fails, like *net.Resolver; with none, the
// temporary failure is the error.
func TestLookupIPAddrPartial(t *testing.T) {
	t.Parallel()
	addr := serve(t, func(w dns.ResponseWriter, r *dns.Msg) {
		q := r.Question[0]
		switch {
		case q.Qtype == dns.TypeAAAA:
			w.WriteMsg(reply(t, r, dns.RcodeServerFailure))
		case strings.HasPrefix(q.Name, "a."):
			w.WriteMsg(reply(t, r, dns.RcodeSuccess, q.Name+" 300 IN A 192.0.2.1"))
		default:
			w.WriteMsg(reply(t, r, dns.RcodeNameError))
		}
	})
	c := client(t, testTimeout, addr)
	ips, err := c.LookupIPAddr(context.Background(), "a.example")
	if err != nil || len(ips) != 1 || !ips[0].IP.Equal(net.ParseIP("192.0.2.1")) {
		t.Errorf("partial: %v, %v", ips, err)
	}
	_, err = c.LookupIPAddr(context.Background(), "b.example")
	if de := dnsError(t, err); !de.Temporary() || de.IsNotFound || dnsx.Rcode(err) != dns.RcodeServerFailure {
		t.Errorf("NXDOMAIN for A and SERVFAIL for AAAA: %+v, want the SERVFAIL", de)
	}
}

func TestLookupAddr(t *testing.T) {
	t.Parallel()
	z, c := setup(t)
	z.Add(
		`1.2.0.192.in-addr.arpa. 300 IN PTR Mail.Example.com.`,
		`1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. 300 IN PTR v6.example.com.`,
	)
	for addr, want := range map[string]string{"192.0.2.1": "mail.example.com.", "2001:db8::1": "v6.example.com."} {
		if got, err := c.LookupAddr(context.Background(), addr); err != nil || !slices.Equal(got, []string{want}) {
			t.Errorf("LookupAddr(%q) = %q, %v; want %q", addr, got, err, want)
		}
	}
	if _, err := c.LookupAddr(context.Background(), "192.0.2.99"); !dnsx.IsNotFound(dnsError(t, err)) {
		t.Errorf("no PTR: %v", err)
	}
	if _, err := c.LookupAddr(context.Background(), "not-an-ip"); err == nil || dnsx.IsNotFound(err) || dnsx.IsTemporary(err) {
		t.Errorf("bad address: %v", err)
	}
}

// TestNotFound: NXDOMAIN, NODATA and empty non-terminals are all not
// found (so all void for SPF, RFC 7208 §4.6.4), and say which they are.
func TestNotFound(t *testing.T) {
	t.Parallel()
	z, c := setup(t)
	z.Add(`host.example.com. 300 IN A 192.0.2.1`, `deep.sub.example.com. 300 IN A 192.0.2.9`)
	tests := []struct {
		name, err string
		rcode     int
	}{
		{"nothing.example.com", "no such host", dns.RcodeNameError},
		{"host.example.com", "no TXT record", dns.RcodeSuccess},
		{"sub.example.com", "no TXT record", dns.RcodeSuccess}, // empty non-terminal, RFC 8020 §2
		{"bad..name", "no such host (invalid domain name)", -1},
		{strings.Repeat("x", 64) + ".example", "no such host (invalid domain name)", -1}, // RFC 1035 §2.3.4
	}
	for _, tc := range tests {
		txt, err := c.LookupTXT(context.Background(), tc.name)
		de := dnsError(t, err)
		if !de.IsNotFound || de.Temporary() || de.Err != tc.err || dnsx.Rcode(err) != tc.rcode || txt != nil {
			t.Errorf("LookupTXT(%q) = %q, %+v (rcode %d); want not found %q (rcode %d)", tc.name, txt, de, dnsx.Rcode(err), tc.err, tc.rcode)
		}
		if !dnsx.IsNotFound(fmt.Errorf("wrapped: %w", err)) {
			t.Errorf("IsNotFound does not look through wrapping")
		}
	}
	a, err := c.Query(context.Background(), "nothing.example.com", dns.TypeTXT)
	if err != nil || a.Rcode != dns.RcodeNameError || a.Name != "nothing.example.com." || a.Server != z.Addr() {
		t.Errorf("Query NXDOMAIN = %+v, %v", a, err)
	}
}

func TestCNAMEChains(t *testing.T) {
	t.Parallel()
	z, c := setup(t)
	z.Add(
		`a._domainkey.example.com. 300 IN CNAME B.example.net.`,
		`b.example.net. 300 IN CNAME tok.dkim.sesame.localhost.`,
		`tok.dkim.sesame.localhost. 300 IN TXT "p=KEY"`,
		`dangling.example. 300 IN CNAME gone.example.org.`,
		`loop1.example. 300 IN CNAME loop2.example.`,
		`loop2.example. 300 IN CNAME loop1.example.`,
		`self.example. 300 IN CNAME self.example.`,
		`host.example. 300 IN A 192.0.2.1`,
	)
	for i := range dnsx.MaxChain + 1 {
		z.Add(fmt.Sprintf(`long%d.example. 300 IN CNAME long%d.example.`, i, i+1))
	}
	z.Add(fmt.Sprintf(`long%d.example. 300 IN TXT "end"`, dnsx.MaxChain+1))
	ctx := context.Background()

	// Two hops, all in one answer.
	before := z.Queries()
	a, err := c.Query(ctx, "a._domainkey.example.com", dns.TypeTXT)
	if err != nil || len(a.Records) != 1 || !slices.Equal(a.Chain, []string{"b.example.net.", "tok.dkim.sesame.localhost."}) {
		t.Errorf("2-hop chain = %+v, %v", a, err)
	}
	if n := z.Queries() - before; n != 1 {
		t.Errorf("2-hop chain in one answer took %d queries", n)
	}
	if txt, err := c.LookupTXT(ctx, "a._domainkey.example.com"); err != nil || !slices.Equal(txt, []string{"p=KEY"}) {
		t.Errorf("TXT via chain = %q, %v", txt, err)
	}
	// A dangling chain: the server does not know the target, the client
	// asks, and the answer is NXDOMAIN for the chain's end (RFC 6604 §3).
	a, err = c.Query(ctx, "dangling.example", dns.TypeTXT)
	if err != nil || a.Rcode != dns.RcodeNameError || !slices.Equal(a.Chain, []string{"gone.example.org."}) {
		t.Errorf("dangling chain = %+v, %v", a, err)
	}
	if _, err := c.LookupTXT(ctx, "dangling.example"); !dnsx.IsNotFound(dnsError(t, err)) {
		t.Errorf("dangling chain lookup: %v", err)
	}
	// Loops and over-long chains are permanent errors.
	for _, name := range []string{"loop1.example", "self.example", "long0.example"} {
		_, err := c.LookupTXT(ctx, name)
		if de := dnsError(t, err); de.IsNotFound || de.Temporary() || !strings.Contains(de.Err, "CNAME") {
			t.Errorf("LookupTXT(%q): %+v, want a permanent CNAME error", name, de)
		}
	}
	if txt, err := c.LookupTXT(ctx, "long1.example"); err != nil || txt[0] != "end" {
		t.Errorf("chain of exactly MaxChain hops: %q, %v", txt, err)
	}

	// LookupCNAME: the chain's last name, which need not exist.
	cnames := []struct{ host, want, err string }{
		{host: "a._domainkey.example.com", want: "tok.dkim.sesame.localhost."},
		{host: "b.example.net", want: "tok.dkim.sesame.localhost."},
		{host: "dangling.example", want: "gone.example.org."},
		{host: "host.example", err: "no CNAME record"},
		{host: "nothing.example", err: "no such host"},
		{host: "loop1.example", err: "CNAME loop at loop1.example."},
		{host: "long0.example", err: "CNAME chain longer than 8"},
		{host: "long1.example", want: fmt.Sprintf("long%d.example.", dnsx.MaxChain+1)},
	}
	for _, tc := range cnames {
		got, err := c.LookupCNAME(ctx, tc.host)
		if tc.err != "" {
			if de := dnsError(t, err); de.Err != tc.err || got != "" {
				t.Errorf("LookupCNAME(%q) = %q, %+v; want error %q", tc.host, got, de, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("LookupCNAME(%q) = %q, %v; want %q", tc.host, got, err, tc.want)
		}
	}
}

// TestChainNeedingSecondQuery: a server that stops at a CNAME (its target
// is in another zone) makes the client ask for the target.
func TestChainNeedingSecondQuery(t *testing.T) {
	t.Parallel()
	addr := serve(t, func(w dns.ResponseWriter, r *dns.Msg) {
		q := r.Question[0]
		switch strings.ToLower(q.Name) {
		case "x._domainkey.customer.example.":
			w.WriteMsg(reply(t, r, dns.RcodeSuccess, q.Name+" 300 IN CNAME hop.example.net."))
		case "hop.example.net.":
			w.WriteMsg(reply(t, r, dns.RcodeSuccess, "hop.example.net. 300 IN CNAME tok.dkim.sesame.localhost."))
		case "bad.customer.example.":
			w.WriteMsg(reply(t, r, dns.RcodeSuccess, q.Name+" 300 IN CNAME fail.example.net."))
		case "fail.example.net.":
			w.WriteMsg(reply(t, r, dns.RcodeServerFailure))
		case "tok.dkim.sesame.localhost.":
			w.WriteMsg(reply(t, r, dns.RcodeSuccess, `tok.dkim.sesame.localhost. 300 IN TXT "p=FROM-SESAME"`))
		default:
			w.WriteMsg(reply(t, r, dns.RcodeNameError))
		}
	})
	c := client(t, testTimeout, addr)
	a, err := c.Query(context.Background(), "X._domainkey.customer.example", dns.TypeTXT)
	if err != nil || len(a.Records) != 1 || !slices.Equal(a.Chain, []string{"hop.example.net.", "tok.dkim.sesame.localhost."}) {
		t.Errorf("chain over three queries = %+v, %v", a, err)
	}
	if txt, err := c.LookupTXT(context.Background(), "x._domainkey.customer.example"); err != nil || !slices.Equal(txt, []string{"p=FROM-SESAME"}) {
		t.Errorf("TXT = %q, %v", txt, err)
	}
	// A failure at a later hop is reported under the name asked, saying where.
	_, err = c.LookupTXT(context.Background(), "bad.customer.example")
	if de := dnsError(t, err); !de.Temporary() || de.Name != "bad.customer.example" || de.Err != "server answered SERVFAIL (at fail.example.net.)" {
		t.Errorf("failure at the second hop: %+v", de)
	}
	if _, err := c.LookupCNAME(context.Background(), "bad.customer.example"); !dnsx.IsTemporary(err) {
		t.Errorf("LookupCNAME with a failing second hop: %v", err)
	}
}

// TestForwardedChain: dnstest chases a customer CNAME into a forwarded
// zone (sesame's own DNS server, in the real tests), like a recursive
// resolver.
func TestForwardedChain(t *testing.T) {
	t.Parallel()
	z, c := setup(t)
	own := dnstest.Start(t)
	z.Forward("sesame.localhost", own.Addr())
	z.Add(`x._domainkey.customer.example. 300 IN CNAME tok.dkim.sesame.localhost.`)
	own.Add(`tok.dkim.sesame.localhost. 300 IN TXT "p=FROM-SESAME"`)
	if txt, err := c.LookupTXT(context.Background(), "x._domainkey.customer.example"); err != nil || !slices.Equal(txt, []string{"p=FROM-SESAME"}) {
		t.Errorf("forwarded chain: %q, %v", txt, err)
	}
	if got, err := c.LookupCNAME(context.Background(), "x._domainkey.customer.example"); err != nil || got != "tok.dkim.sesame.localhost." {
		t.Errorf("LookupCNAME: %q, %v", got, err)
	}
}

func TestServerFailures(t *testing.T) {
	t.Parallel()
	z, c := setup(t)
	z.SetRcode("servfail.example", dns.RcodeServerFailure)
	z.SetRcode("refused.example", dns.RcodeRefused)
	z.Add(`chain.example. 300 IN CNAME servfail.example.`)
	for name, rcode := range map[string]int{"servfail.example": dns.RcodeServerFailure, "refused.example": dns.RcodeRefused, "chain.example": dns.RcodeServerFailure} {
		_, err := c.LookupTXT(context.Background(), name)
		de := dnsError(t, err)
		if !de.IsTemporary || !de.Temporary() || de.IsNotFound || de.IsTimeout || dnsx.Rcode(err) != rcode ||
			!strings.Contains(de.Err, dns.RcodeToString[rcode]) || !dnsx.IsTemporary(fmt.Errorf("w: %w", err)) {
			t.Errorf("%s: %+v (rcode %d), want temporary %s", name, de, dnsx.Rcode(err), dns.RcodeToString[rcode])
		}
	}
	// Cleared, the name answers again.
	z.SetRcode("servfail.example", -1)
	z.Add(`servfail.example. 300 IN TXT "fixed"`)
	if txt, err := c.LookupTXT(context.Background(), "servfail.example"); err != nil || txt[0] != "fixed" {
		t.Errorf("after SetRcode(-1): %q, %v", txt, err)
	}
}

// TestNextServer: a failing server (SERVFAIL, or nothing listening) is
// followed by the next one.
func TestNextServer(t *testing.T) {
	t.Parallel()
	bad, good := dnstest.Start(t), dnstest.Start(t)
	bad.SetRcode("x.example", dns.RcodeServerFailure)
	good.Add(`x.example. 300 IN TXT "ok"`)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := pc.LocalAddr().String()
	pc.Close()
	c := client(t, testTimeout, bad.Addr(), dead, good.Addr())
	if txt, err := c.LookupTXT(context.Background(), "x.example"); err != nil || txt[0] != "ok" {
		t.Errorf("rotation: %q, %v", txt, err)
	}
	// Attempts rounds over all servers.
	c2, _ := dnsx.New(dnsx.Options{Servers: []string{bad.Addr()}, Attempts: 3, Timeout: testTimeout})
	before := bad.Queries()
	if _, err := c2.LookupTXT(context.Background(), "x.example"); !dnsx.IsTemporary(err) {
		t.Errorf("all attempts failed: %v", err)
	}
	if n := bad.Queries() - before; n != 3 {
		t.Errorf("%d queries for 3 attempts", n)
	}
}

func TestTimeouts(t *testing.T) {
	t.Parallel()
	z := dnstest.Start(t)
	z.SetDelay("slow.example", 5*time.Second)
	c := client(t, 150*time.Millisecond, z.Addr())

	start := time.Now()
	_, err := c.LookupTXT(context.Background(), "slow.example")
	de := dnsError(t, err)
	if !de.IsTimeout || !de.Temporary() || de.IsNotFound || time.Since(start) > 2*time.Second {
		t.Errorf("per-exchange timeout: %+v after %v", de, time.Since(start))
	}

	// A Context deadline shorter than Timeout wins, and shows through.
	slow := client(t, 10*time.Second, z.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = slow.LookupMX(ctx, "slow.example")
	de = dnsError(t, err)
	if !de.IsTimeout || !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Errorf("context deadline: %+v after %v", de, time.Since(start))
	}

	// Cancellation (which miekg/dns alone does not honour) ends the wait.
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start = time.Now()
	_, err = slow.LookupIPAddr(ctx, "slow.example")
	de = dnsError(t, err)
	if !de.Temporary() || de.IsNotFound || !errors.Is(err, context.Canceled) || time.Since(start) > 2*time.Second {
		t.Errorf("cancelled: %+v after %v", de, time.Since(start))
	}
}

// TestTruncation: an answer too big for UDP comes back truncated (TC) and
// is asked again over TCP (RFC 7766 §5).
func TestTruncation(t *testing.T) {
	t.Parallel()
	z, c := setup(t)
	var want []string
	for i := range 60 {
		s := fmt.Sprintf("%s-%02d", strings.Repeat("x", 200), i)
		want = append(want, s)
		z.Add(fmt.Sprintf(`big.example. 300 IN TXT "%s"`, s))
	}
	before := z.Queries()
	got, err := c.LookupTXT(context.Background(), "big.example")
	slices.Sort(got)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("TCP fallback: %d records, %v", len(got), err)
	}
	if n := z.Queries() - before; n != 2 {
		t.Errorf("%d queries, want UDP then TCP", n)
	}
}

// TestZoneChanges: every change is seen by the next query (no cache).
func TestZoneChanges(t *testing.T) {
	t.Parallel()
	z, c := setup(t)
	ctx := context.Background()
	steps := []struct {
		change func()
		want   []string // nil: not found
	}{
		{func() {}, nil},
		{func() { z.Add(`x.example. 300 IN TXT "one"`) }, []string{"one"}},
		{func() { z.Add(`x.example. 300 IN TXT "two"`) }, []string{"one", "two"}},
		{func() { z.Set("x.example", dns.TypeTXT, `x.example. 300 IN TXT "three"`) }, []string{"three"}},
		{func() { z.Remove("x.example", dns.TypeTXT) }, nil},
	}
	for i, s := range steps {
		s.change()
		got, err := c.LookupTXT(ctx, "x.example")
		slices.Sort(got)
		if (s.want == nil && !dnsx.IsNotFound(err)) || (s.want != nil && (err != nil || !slices.Equal(got, s.want))) {
			t.Errorf("step %d: %q, %v; want %q", i, got, err, s.want)
		}
	}
}

// TestHostileAnswers: answers a server should never give are contained.
func TestHostileAnswers(t *testing.T) {
	t.Parallel()
	bigTXT := make([]string, 200)
	for i := range bigTXT {
		bigTXT[i] = strings.Repeat("y", 255)
	}
	addr := serve(t, func(w dns.ResponseWriter, r *dns.Msg) {
		q := r.Question[0]
		var m *dns.Msg
		switch label := strings.SplitN(strings.ToLower(q.Name), ".", 2)[0]; label {
		case "othername": // records for a name that was not asked
			m = reply(t, r, dns.RcodeSuccess, `evil.example. 300 IN TXT "injected"`)
		case "otherquestion": // the answer to another question
			m = reply(t, r, dns.RcodeSuccess, `evil.example. 300 IN TXT "injected"`)
			m.Question[0].Name = "evil.example."
		case "noqr": // not a response at all
			m = reply(t, r, dns.RcodeSuccess, q.Name+` 300 IN TXT "x"`)
			m.Response = false
		case "many": // more records than anyone needs
			m = reply(t, r, dns.RcodeSuccess)
			for i := range 2000 {
				m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 300},
					A: net.IPv4(10, byte(i>>16), byte(i>>8), byte(i))})
			}
		case "hugetxt": // one TXT record of 200 strings of 255 octets
			m = reply(t, r, dns.RcodeSuccess)
			m.Answer = append(m.Answer, &dns.TXT{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 300}, Txt: bigTXT})
		case "inloop": // a CNAME loop inside one answer
			m = reply(t, r, dns.RcodeSuccess, q.Name+" 300 IN CNAME l2.example.", "l2.example. 300 IN CNAME "+q.Name)
		case "chaos": // the right name, the wrong class
			m = reply(t, r, dns.RcodeSuccess)
			m.Answer = append(m.Answer, &dns.TXT{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassCHAOS, Ttl: 300}, Txt: []string{"x"}})
		case "nxdata": // NXDOMAIN with a record: NXDOMAIN wins
			m = reply(t, r, dns.RcodeNameError, q.Name+` 300 IN TXT "x"`)
		default:
			m = reply(t, r, dns.RcodeNameError)
		}
		if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
			m.Truncate(dns.MinMsgSize)
		}
		w.WriteMsg(m)
	})
	c := client(t, testTimeout, addr)
	ctx := context.Background()

	checks := []struct {
		name  string
		check func(error) bool
	}{
		{"othername.example", dnsx.IsNotFound},
		{"otherquestion.example", dnsx.IsTemporary},
		{"noqr.example", dnsx.IsTemporary},
		{"inloop.example", func(err error) bool { return err != nil && strings.Contains(err.Error(), "CNAME loop") }},
		{"chaos.example", dnsx.IsNotFound},
		{"nxdata.example", func(err error) bool { return dnsx.Rcode(err) == dns.RcodeNameError }},
	}
	for _, tc := range checks {
		txt, err := c.LookupTXT(ctx, tc.name)
		dnsError(t, err)
		if !tc.check(err) || txt != nil {
			t.Errorf("%s: %q, %v", tc.name, txt, err)
		}
	}
	ips, err := c.LookupIPAddr(ctx, "many.example")
	if err != nil || len(ips) != dnsx.MaxRecords {
		t.Errorf("many records: %d kept, %v; want %d", len(ips), err, dnsx.MaxRecords)
	}
	txt, err := c.LookupTXT(ctx, "hugetxt.example")
	if err != nil || len(txt) != 1 || len(txt[0]) != 200*255 {
		t.Errorf("huge TXT: %d records, %v", len(txt), err)
	}
}

// TestNoEDNS: a server that answers FORMERR to EDNS0 is asked without it
// (RFC 6891 §7).
func TestNoEDNS(t *testing.T) {
	t.Parallel()
	addr := serve(t, func(w dns.ResponseWriter, r *dns.Msg) {
		if r.IsEdns0() != nil {
			m := new(dns.Msg)
			m.SetRcode(r, dns.RcodeFormatError)
			m.Extra = nil
			w.WriteMsg(m)
			return
		}
		w.WriteMsg(reply(t, r, dns.RcodeSuccess, r.Question[0].Name+` 300 IN TXT "old"`))
	})
	c := client(t, testTimeout, addr)
	if txt, err := c.LookupTXT(context.Background(), "old.example"); err != nil || txt[0] != "old" {
		t.Errorf("without EDNS0: %q, %v", txt, err)
	}
}

// TestConcurrent: one Client and one Server used from many goroutines
// while the zone changes (run with -race).
func TestConcurrent(t *testing.T) {
	t.Parallel()
	z, c := setup(t)
	z.Add(`c.example. 300 IN A 192.0.2.1`)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 50 {
			z.Set("c.example", dns.TypeA, fmt.Sprintf(`c.example. 300 IN A 192.0.2.%d`, i%250+1))
		}
	}()
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			var err error
			for range 10 {
				if _, err = c.LookupIPAddr(context.Background(), "c.example"); err != nil {
					break
				}
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	<-done
}
