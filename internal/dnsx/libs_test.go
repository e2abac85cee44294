package dnsx_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"blitiri.com.ar/go/spf"
	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-msgauth/dmarc"
	"github.com/miekg/dns"

	"github.com/sesame-email/sesame/internal/dnstest"
	"github.com/sesame-email/sesame/internal/dnsx"
)

// TestSPF runs blitiri spf with dnsx as its resolver against a loopback
// zone: the results prove that dnsx's errors are classified as RFC 7208
// wants (void lookups, temperror, none).
func TestSPF(t *testing.T) {
	t.Parallel()
	z := dnstest.Start(t)
	c := client(t, testTimeout, z.Addr())
	slow := client(t, 150*time.Millisecond, z.Addr())
	z.Add(
		`pass.example. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"`,
		`split.example. 300 IN TXT "v=spf1 ip4:192.0.2.1" " ip4:192.0.2.2 -all"`, // RFC 7208 §3.3
		`soft.example. 300 IN TXT "v=spf1 ~all"`,
		`neutral.example. 300 IN TXT "v=spf1 ?all"`,
		`amx.example. 300 IN TXT "v=spf1 a mx -all"`,
		`amx.example. 300 IN A 192.0.2.10`,
		`amx.example. 300 IN MX 10 mail.amx.example.`,
		`mail.amx.example. 300 IN A 192.0.2.11`,
		`inc.example. 300 IN TXT "v=spf1 include:pass.example -all"`,
		`alias.example. 300 IN CNAME pass.example.`,
		`other.example. 300 IN TXT "not spf"`,
		`two.example. 300 IN TXT "v=spf1 -all"`,
		`two.example. 300 IN TXT "v=spf1 +all"`,
		// Void lookups (RFC 7208 §4.6.4): NXDOMAIN and NODATA both count.
		`nodata.example. 300 IN TXT "exists, but no address"`,
		`void2.example. 300 IN TXT "v=spf1 a:nx1.example a:nodata.example -all"`,
		`void3.example. 300 IN TXT "v=spf1 a:nx1.example a:nodata.example mx:nx2.example -all"`,
		`tempa.example. 300 IN TXT "v=spf1 a:broken.example -all"`,
		`slow.example. 300 IN TXT "v=spf1 a:delayed.example -all"`,
		`missinginc.example. 300 IN TXT "v=spf1 include:nx1.example -all"`,
	)
	z.SetRcode("broken.example", dns.RcodeServerFailure)
	z.SetRcode("servfail.example", dns.RcodeServerFailure)
	z.SetDelay("delayed.example", 3*time.Second)
	// Ten DNS-querying terms are allowed, the eleventh is a permerror.
	for _, n := range []int{10, 11} {
		var incs []string
		for i := range n {
			incs = append(incs, fmt.Sprintf("include:i%d.many.example", i))
			z.Add(fmt.Sprintf(`i%d.many.example. 300 IN TXT "v=spf1 -all"`, i))
		}
		z.Add(fmt.Sprintf(`many%d.example. 300 IN TXT "v=spf1 %s -all"`, n, strings.Join(incs, " ")))
	}

	tests := []struct {
		domain, ip string
		want       spf.Result
		err        error // when it matters
		client     *dnsx.Client
	}{
		{domain: "pass.example", ip: "192.0.2.7", want: spf.Pass},
		{domain: "pass.example", ip: "198.51.100.1", want: spf.Fail},
		{domain: "split.example", ip: "192.0.2.2", want: spf.Pass},
		{domain: "soft.example", ip: "198.51.100.1", want: spf.SoftFail},
		{domain: "neutral.example", ip: "198.51.100.1", want: spf.Neutral},
		{domain: "amx.example", ip: "192.0.2.10", want: spf.Pass},
		{domain: "amx.example", ip: "192.0.2.11", want: spf.Pass},
		{domain: "inc.example", ip: "192.0.2.9", want: spf.Pass},
		{domain: "alias.example", ip: "192.0.2.9", want: spf.Pass},
		{domain: "nothing.example", ip: "192.0.2.9", want: spf.None},  // NXDOMAIN, RFC 7208 §4.3
		{domain: "other.example", ip: "192.0.2.9", want: spf.None},    // no SPF record, §4.5
		{domain: "nodata.example", ip: "192.0.2.9", want: spf.None},   // TXT, none SPF
		{domain: "two.example", ip: "192.0.2.9", want: spf.PermError}, // two records, §4.5
		{domain: "void2.example", ip: "192.0.2.9", want: spf.Fail},    // two void lookups are allowed
		{domain: "void3.example", ip: "192.0.2.9", want: spf.PermError, err: spf.ErrVoidLookupLimitReached},
		{domain: "many10.example", ip: "192.0.2.9", want: spf.Fail},
		{domain: "many11.example", ip: "192.0.2.9", want: spf.PermError, err: spf.ErrLookupLimitReached},
		{domain: "servfail.example", ip: "192.0.2.9", want: spf.TempError}, // §4.4
		{domain: "tempa.example", ip: "192.0.2.9", want: spf.TempError},    // §5
		{domain: "slow.example", ip: "192.0.2.9", want: spf.TempError, client: slow},
		{domain: "missinginc.example", ip: "192.0.2.9", want: spf.PermError}, // §5.2
	}
	for _, tc := range tests {
		t.Run(tc.domain+"/"+tc.ip, func(t *testing.T) {
			t.Parallel()
			r := tc.client
			if r == nil {
				r = c
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			res, err := spf.CheckHostWithSender(net.ParseIP(tc.ip), "helo.example", "someone@"+tc.domain,
				spf.WithResolver(r), spf.WithContext(ctx))
			if res != tc.want || (tc.err != nil && err != tc.err) {
				t.Errorf("got %v (%v), want %v (%v)", res, err, tc.want, tc.err)
			}
		})
	}
}

// TestMsgauth: go-msgauth's dkim and dmarc classify dnsx's errors as
// RFC 6376 §6.1.2 and RFC 7489 §6.6.3 want.
func TestMsgauth(t *testing.T) {
	t.Parallel()
	z := dnstest.Start(t)
	c := client(t, testTimeout, z.Addr())
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	key := base64.StdEncoding.EncodeToString(pub)
	// A long key record split in two strings, as DNS consoles do.
	z.Add(fmt.Sprintf(`good._domainkey.example.org. 300 IN TXT "v=DKIM1; k=ed25519; " "p=%s"`, key),
		`_dmarc.example.org. 300 IN TXT "v=DMARC1; p=reject"`,
		`_dmarc.nodata.example. 300 IN A 192.0.2.1`)
	z.SetRcode("broken._domainkey.example.org", dns.RcodeServerFailure)
	z.SetRcode("_dmarc.broken.example", dns.RcodeServerFailure)
	lookup := func(name string) ([]string, error) { return c.LookupTXT(context.Background(), name) }

	const msg = "From: a@example.org\r\nTo: b@example.net\r\nSubject: hi\r\n\r\nHello.\r\n"
	for _, tc := range []struct {
		selector string
		check    func(error) bool
	}{
		{"good", func(err error) bool { return err == nil }},
		{"missing", dkim.IsPermFail}, // NXDOMAIN: no key, PERMFAIL
		{"broken", dkim.IsTempFail},  // SERVFAIL: TEMPFAIL
	} {
		var signed bytes.Buffer
		if err := dkim.Sign(&signed, strings.NewReader(msg), &dkim.SignOptions{Domain: "example.org", Selector: tc.selector, Signer: priv}); err != nil {
			t.Fatal(err)
		}
		verifs, err := dkim.VerifyWithOptions(&signed, &dkim.VerifyOptions{LookupTXT: lookup})
		if err != nil || len(verifs) != 1 || !tc.check(verifs[0].Err) {
			t.Errorf("dkim selector %s: %+v, %v", tc.selector, verifs, err)
		}
	}

	for _, tc := range []struct {
		domain string
		check  func(*dmarc.Record, error) bool
	}{
		{"example.org", func(r *dmarc.Record, err error) bool { return err == nil && r.Policy == dmarc.PolicyReject }},
		{"nothing.example", func(_ *dmarc.Record, err error) bool { return err == dmarc.ErrNoPolicy }}, // NXDOMAIN
		{"nodata.example", func(_ *dmarc.Record, err error) bool { return err == dmarc.ErrNoPolicy }},  // NODATA
		{"broken.example", func(_ *dmarc.Record, err error) bool { return dmarc.IsTempFail(err) }},
	} {
		rec, err := dmarc.LookupWithOptions(tc.domain, &dmarc.LookupOptions{LookupTXT: lookup})
		if !tc.check(rec, err) {
			t.Errorf("dmarc %s: %+v, %v", tc.domain, rec, err)
		}
	}
}
