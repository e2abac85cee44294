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

	"blitiri.com.ar/go/spf"
	"github.com/miekg/dns"

	"github.com/sesame-email/sesame/internal/dnstest"
	"github.com/sesame-email/sesame/internal/dnsx"
)

func setup(t *testing.T) (*dnstest.Server, *dnsx.Client) {
	t.Helper()
	z := dnstest.Start(t)
	c, err := dnsx.New(dnsx.Options{Servers: []string{z.Addr()}, Timeout: 500 * time.Millisecond, Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	return z, c
}

func dnsError(t *testing.T, err error) *net.DNSError {
	t.Helper()
	de, ok := err.(*net.DNSError) // unwrapped, as blitiri spf requires
	if !ok {
		t.Fatalf("error %v (%T) is not a bare *net.DNSError", err, err)
	}
	return de
}

func TestLookups(t *testing.T) {
	z, c := setup(t)
	ctx := context.Background()
	z.Add(
		`example.com. 300 IN TXT "v=spf1 " "include:sesame.localhost -all"`,
		`example.com. 300 IN TXT "google-site-verification=x"`,
		`example.com. 300 IN MX 20 mx2.example.com.`,
		`example.com. 300 IN MX 10 MX1.Example.com.`,
		`null.example. 300 IN MX 0 .`,
		`host.example.com. 300 IN A 192.0.2.1`,
		`host.example.com. 300 IN AAAA 2001:db8::1`,
		`1.2.0.192.in-addr.arpa. 300 IN PTR mail.example.com.`,
		`a._domainkey.example.com. 300 IN CNAME b.example.net.`,
		`b.example.net. 300 IN CNAME tok.dkim.sesame.localhost.`,
		`tok.dkim.sesame.localhost. 300 IN TXT "p=KEY"`,
		`deep.sub.example.com. 300 IN A 192.0.2.9`,
	)
	txt, err := c.LookupTXT(ctx, "Example.COM")
	if err != nil || !slices.Contains(txt, "v=spf1 include:sesame.localhost -all") || len(txt) != 2 {
		t.Errorf("TXT = %q, %v", txt, err)
	}
	mx, err := c.LookupMX(ctx, "example.com")
	if err != nil || len(mx) != 2 || mx[0].Host != "mx1.example.com." || mx[0].Pref != 10 {
		t.Errorf("MX = %v, %v", mx, err)
	}
	mx, err = c.LookupMX(ctx, "null.example")
	if err != nil || len(mx) != 1 || mx[0].Host != "." {
		t.Errorf("null MX = %v, %v", mx, err)
	}
	ips, err := c.LookupIPAddr(ctx, "host.example.com")
	if err != nil || len(ips) != 2 {
		t.Errorf("IPs = %v, %v", ips, err)
	}
	ptr, err := c.LookupAddr(ctx, "192.0.2.1")
	if err != nil || ptr[0] != "mail.example.com." {
		t.Errorf("PTR = %v, %v", ptr, err)
	}
	// A two-hop chain to a TXT record: the chain and the record.
	txt, err = c.LookupTXT(ctx, "a._domainkey.example.com")
	if err != nil || txt[0] != "p=KEY" {
		t.Errorf("TXT via CNAME chain = %q, %v", txt, err)
	}
	a, err := c.Query(ctx, "a._domainkey.example.com", dns.TypeTXT)
	if err != nil || !slices.Equal(a.Chain, []string{"b.example.net", "tok.dkim.sesame.localhost"}) {
		t.Errorf("chain = %+v, %v", a, err)
	}
	cn, err := c.LookupCNAME(ctx, "a._domainkey.example.com")
	if err != nil || cn != "tok.dkim.sesame.localhost" {
		t.Errorf("CNAME = %q, %v", cn, err)
	}
	// The chain's end need not exist for LookupCNAME.
	z.Add(`c._domainkey.example.com. 300 IN CNAME gone.dkim.sesame.localhost.`)
	if cn, err := c.LookupCNAME(ctx, "c._domainkey.example.com"); err != nil || cn != "gone.dkim.sesame.localhost" {
		t.Errorf("dangling CNAME = %q, %v", cn, err)
	}

	// NXDOMAIN and NODATA are both not-found, and say which.
	_, err = c.LookupTXT(ctx, "nothing.example.com")
	if de := dnsError(t, err); !de.IsNotFound || de.Err != "no such host" {
		t.Errorf("NXDOMAIN: %+v", de)
	}
	_, err = c.LookupTXT(ctx, "host.example.com")
	if de := dnsError(t, err); !de.IsNotFound || !strings.Contains(de.Err, "no TXT") {
		t.Errorf("NODATA: %+v", de)
	}
	_, err = c.LookupTXT(ctx, "sub.example.com") // empty non-terminal
	if de := dnsError(t, err); !de.IsNotFound || de.Err == "no such host" {
		t.Errorf("empty non-terminal: %+v", de)
	}
	if _, err := c.LookupCNAME(ctx, "host.example.com"); !dnsx.IsNotFound(err) {
		t.Errorf("no CNAME: %v", err)
	}
}

func TestChainNeedingSecondQuery(t *testing.T) {
	z1, c := setup(t)
	z2 := dnstest.Start(t)
	z1.Add(`x._domainkey.customer.example. 300 IN CNAME tok.dkim.sesame.localhost.`)
	z1.Forward("sesame.localhost", z2.Addr())
	z2.Add(`tok.dkim.sesame.localhost. 300 IN TXT "p=FROM-SESAME"`)
	txt, err := c.LookupTXT(context.Background(), "x._domainkey.customer.example")
	if err != nil || txt[0] != "p=FROM-SESAME" {
		t.Errorf("forwarded chain: %q, %v", txt, err)
	}
}

func TestFailures(t *testing.T) {
	z, c := setup(t)
	ctx := context.Background()
	z.Add(`loop1.example. 300 IN CNAME loop2.example.`, `loop2.example. 300 IN CNAME loop1.example.`)
	if _, err := c.LookupTXT(ctx, "loop1.example"); err == nil || !strings.Contains(err.Error(), "loop") {
		t.Errorf("CNAME loop: %v", err)
	}
	z.SetRcode("broken.example", dns.RcodeServerFailure)
	_, err := c.LookupTXT(ctx, "broken.example")
	if de := dnsError(t, err); !de.IsTemporary || de.IsNotFound || !dnsx.IsTemporary(err) {
		t.Errorf("SERVFAIL: %+v", de)
	}
	z.SetRcode("broken.example", -1)
	z.Add(`broken.example. 300 IN TXT "fixed"`)
	if txt, err := c.LookupTXT(ctx, "broken.example"); err != nil || txt[0] != "fixed" {
		t.Errorf("after the zone changed: %q %v", txt, err)
	}
	z.SetDelay("slow.example", 2*time.Second)
	start := time.Now()
	_, err = c.LookupTXT(ctx, "slow.example")
	if de := dnsError(t, err); !de.IsTimeout || time.Since(start) > 1500*time.Millisecond {
		t.Errorf("timeout: %+v after %v", de, time.Since(start))
	}
	// A big answer is truncated over UDP and fetched over TCP.
	for i := range 40 {
		z.Add(fmt.Sprintf(`big.example. 300 IN TXT "%s-%02d"`, strings.Repeat("x", 200), i))
	}
	if txt, err := c.LookupTXT(ctx, "big.example"); err != nil || len(txt) != 40 {
		t.Errorf("TCP fallback: %d records, %v", len(txt), err)
	}
}

func TestSPFThroughDnsx(t *testing.T) {
	z, c := setup(t)
	z.Add(
		`pass.example. 300 IN TXT "v=spf1 ip4:127.0.0.2 -all"`,
		`soft.example. 300 IN TXT "v=spf1 ~all"`,
		`void.example. 300 IN TXT "v=spf1 a:n1.void.example a:n2.void.example a:n3.void.example -all"`,
	)
	var includes []string
	for i := range 11 {
		includes = append(includes, fmt.Sprintf("include:i%d.many.example", i))
		z.Add(fmt.Sprintf(`i%d.many.example. 300 IN TXT "v=spf1 -all"`, i))
	}
	z.Add(`many.example. 300 IN TXT "v=spf1 ` + strings.Join(includes, " ") + ` -all"`)
	tests := []struct {
		domain, ip string
		want       spf.Result
	}{
		{"pass.example", "127.0.0.2", spf.Pass},
		{"pass.example", "127.0.0.3", spf.Fail},
		{"soft.example", "127.0.0.3", spf.SoftFail},
		{"void.example", "127.0.0.3", spf.PermError}, // 3 void lookups > 2 (RFC 7208 §4.6.4)
		{"many.example", "127.0.0.3", spf.PermError}, // 11 DNS-querying terms > 10
		{"nospf.example", "127.0.0.3", spf.None},
	}
	for _, tc := range tests {
		res, err := spf.CheckHostWithSender(net.ParseIP(tc.ip), "helo.example", "a@"+tc.domain, spf.WithResolver(c), spf.WithContext(context.Background()))
		if res != tc.want {
			t.Errorf("%s from %s: %v (%v), want %v", tc.domain, tc.ip, res, err, tc.want)
		}
	}
}

func FuzzHostileAnswer(f *testing.F) {
	f.Add([]byte{0, 0, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0})
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, reply []byte) {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Skip(err)
		}
		defer pc.Close()
		go func() {
			buf := make([]byte, 512)
			n, from, err := pc.ReadFrom(buf)
			if err != nil || n < 2 {
				return
			}
			out := append([]byte{}, reply...)
			if len(out) >= 2 {
				out[0], out[1] = buf[0], buf[1] // echo the query id
			}
			pc.WriteTo(out, from)
		}()
		c, _ := dnsx.New(dnsx.Options{Servers: []string{pc.LocalAddr().String()}, Timeout: 200 * time.Millisecond, Attempts: 1})
		_, err = c.LookupTXT(context.Background(), "fuzz.example")
		var de *net.DNSError
		if err != nil && !errors.As(err, &de) {
			t.Fatalf("error of type %T", err)
		}
	})
}
