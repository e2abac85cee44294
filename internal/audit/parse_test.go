package audit

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/sesame-email/sesame/internal/dnstest"
	"github.com/sesame-email/sesame/internal/dnsx"
)

func TestParseSPF(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in    string
		terms []string // name/value/qualifier of each term
		err   string
	}{
		{in: "v=spf1 -all", terms: []string{"-all"}},
		{in: "V=SPF1 include:_spf.example.com ~all", terms: []string{"+include:_spf.example.com", "~all"}},
		{in: "v=spf1  a mx:mx.example.com/24//64 ip4:192.0.2.0/24 ip6:2001:db8::/32 ?exists:%{i}.x.example.com redirect=_spf.example.com",
			terms: []string{"+a", "+mx:mx.example.com", "+ip4:192.0.2.0", "+ip6:2001:db8::", "?exists:%{i}.x.example.com", "redirect=_spf.example.com"}},
		{in: "v=spf1 ptr exp=explain.%{d} -all", terms: []string{"+ptr", "exp=explain.%{d}", "-all"}},
		{in: "v=spf1 foo=bar", terms: []string{"foo=bar"}}, // unknown modifiers are ignored (RFC 7208 §6)
		{in: "v=spf10 -all", err: "not an SPF record"},
		{in: "v=spf1 -all/24", err: "all takes no argument"},
		{in: "v=spf1 include", err: "needs"},
		{in: "v=spf1 bogus:x.example", err: "unknown mechanism"},
		{in: "v=spf1 ip4:192.0.2.1/33", err: "CIDR"},
		{in: "v=spf1 ip4:2001:db8::1", err: "bad ip4"},
		{in: "v=spf1 a/024", err: "CIDR"},
		{in: "v=spf1 include:example.123", err: "not a domain"},
		{in: "v=spf1 include:%{z}.example.com", err: "bad macro"},
		{in: "v=spf1 redirect=a.example redirect=b.example", err: "twice"},
	}
	for _, tc := range tests {
		rec, err := ParseSPF(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseSPF(%q) = %v, want error %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseSPF(%q): %v", tc.in, err)
			continue
		}
		var got []string
		for _, term := range rec.Terms {
			s := term.Name
			if term.Value != "" {
				s += ":" + term.Value
			}
			if term.Modifier {
				s = term.Name + "=" + term.Value
			} else {
				s = string(term.Qualifier) + s
			}
			got = append(got, s)
		}
		if !slices.Equal(got, tc.terms) {
			t.Errorf("ParseSPF(%q) = %q, want %q", tc.in, got, tc.terms)
		}
	}
	rec, _ := ParseSPF("v=spf1 mx:mx.example.com/24//64 a//96")
	if rec.Terms[0].CIDR4 != 24 || rec.Terms[0].CIDR6 != 64 || rec.Terms[1].CIDR4 != -1 || rec.Terms[1].CIDR6 != 96 {
		t.Errorf("dual CIDR: %+v", rec.Terms)
	}
}

func TestParseDMARC(t *testing.T) {
	t.Parallel()
	rec, err := ParseDMARC("v=DMARC1; p=Reject; sp=none; adkim=s; pct=50; rua=mailto:a@x.example!10m, mailto:b@y.example; psd=n;")
	if err != nil {
		t.Fatal(err)
	}
	if rec.P != "reject" || rec.SP != "none" || rec.ADKIM != "s" || rec.ASPF != "r" || rec.PCT != 50 || len(rec.RUA) != 2 || rec.PSD != "n" || len(rec.Problems) != 0 {
		t.Errorf("%+v", rec)
	}
	if ReportDomain(rec.RUA[0]) != "x.example" || ReportDomain(rec.RUA[1]) != "y.example" || ReportDomain("https://x.example") != "" {
		t.Errorf("report domains of %q", rec.RUA)
	}
	for in, problem := range map[string]string{
		"v=DMARC1; p=maybe":          "p=maybe",
		"v=DMARC1; rua=mailto:a@b.c": "no p= tag",
		"v=DMARC1; p=none; p=reject": "twice",
		"v=DMARC1; p=none; adkim=x":  "adkim=x",
		"v=DMARC1; p=none; pct=101":  "pct=101",
		"v=DMARC1; p=none; foo=bar":  "unknown tag foo",
	} {
		rec, err := ParseDMARC(in)
		if err != nil || !slices.ContainsFunc(rec.Problems, func(p string) bool { return strings.Contains(p, problem) }) {
			t.Errorf("ParseDMARC(%q) problems %q, %v; want %q", in, rec.Problems, err, problem)
		}
	}
	for _, in := range []string{"p=none; v=DMARC1", "v=dmarc1; p=none", "v=spf1 -all", ""} {
		if _, err := ParseDMARC(in); err == nil {
			t.Errorf("ParseDMARC(%q) accepted", in)
		}
	}
}

func zone(t *testing.T) (*dnstest.Server, *dnsx.Client) {
	z := dnstest.Start(t)
	c, err := dnsx.New(dnsx.Options{Servers: []string{z.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	return z, c
}

// TestDMARCDiscovery: RFC 7489 asks the exact name and the organizational
// domain; the DMARCbis tree walk asks every name between.
func TestDMARCDiscovery(t *testing.T) {
	t.Parallel()
	z, r := zone(t)
	z.Add(`_dmarc.example.co.uk. 300 IN TXT "v=DMARC1; p=reject"`,
		`_dmarc.b.example.co.uk. 300 IN TXT "v=DMARC1; p=none"`,
		`_dmarc.two.example. 300 IN TXT "v=DMARC1; p=none"`,
		`_dmarc.two.example. 300 IN TXT "v=DMARC1; p=reject"`,
		`_dmarc.other.example. 300 IN TXT "google-site-verification=x"`)
	ctx := context.Background()
	tests := []struct {
		from          string
		rfc, treeWalk string
	}{
		{"example.co.uk", "example.co.uk", "example.co.uk"},
		{"a.example.co.uk", "example.co.uk", "example.co.uk"},     // co.uk is a public suffix
		{"a.b.example.co.uk", "example.co.uk", "b.example.co.uk"}, // the two rules differ
		{"other.example", "", ""},
		{"1.2.3.4.5.6.7.8.9.example.co.uk", "example.co.uk", "example.co.uk"},
	}
	for _, tc := range tests {
		l, w := DiscoverRFC7489(ctx, r, tc.from), DiscoverTreeWalk(ctx, r, tc.from)
		if l.Domain != tc.rfc || w.Domain != tc.treeWalk {
			t.Errorf("%s: RFC 7489 %q, tree walk %q; want %q, %q\n%q\n%q", tc.from, l.Domain, w.Domain, tc.rfc, tc.treeWalk, l.Queried, w.Queried)
		}
		if len(w.Queried) > 8 {
			t.Errorf("%s: tree walk asked %d names", tc.from, len(w.Queried))
		}
	}
	if l := DiscoverRFC7489(ctx, r, "x.two.example"); l.Multiple != "" || l.Domain != "" {
		// x.two.example: none at the name, two at the organizational domain.
		if l.Multiple != "two.example" {
			t.Errorf("two records: %+v", l)
		}
	} else {
		t.Errorf("two records not noticed: %+v", l)
	}

	a := &Auditor{R: r, Service: Service{Domain: "svc.example", Kind: KindSesame}}
	c := a.checkDMARC(ctx, &state{id: Identity{Name: "a.b.example.co.uk"}, from: "a.b.example.co.uk"})
	if c.Verdict != Warn || !strings.Contains(c.Summary, "RFC 7489 finds the policy at _dmarc.example.co.uk but the DMARCbis tree walk at _dmarc.b.example.co.uk") {
		t.Errorf("differing discovery: %s %q", c.Verdict, c.Summary)
	}
}

// TestWalkSPF counts lookups and void lookups (RFC 7208 §4.6.4) through
// includes and redirects.
func TestWalkSPF(t *testing.T) {
	t.Parallel()
	z, r := zone(t)
	z.Add(`a.example. 300 IN TXT "v=spf1 include:b.example a:gone1.example mx:gone2.example ~all"`,
		`b.example. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 exists:gone3.example -all"`,
		`c.example. 300 IN TXT "v=spf1 redirect=a.example"`,
		`d.example. 300 IN TXT "v=spf1 include:nospf.example"`,
		`nospf.example. 300 IN A 192.0.2.1`,
		`loop.example. 300 IN TXT "v=spf1 include:loop.example"`,
		`plus.example. 300 IN TXT "v=spf1 include:b.example +all"`,
		`all.example. 300 IN TXT "v=spf1 all redirect=a.example"`,
		`tmp.example. 300 IN TXT "v=spf1 a:fail.example -all"`,
		`mac.example. 300 IN TXT "v=spf1 exists:%{i}._spf.example include:%{d2}.x -all"`,
	)
	z.SetRcode("fail.example", 2) // SERVFAIL
	ctx := context.Background()
	tests := []struct {
		domain         string
		lookups, voids int
		perm, temp     string
		plusAll        bool
		includes       string
		unevaluated    int
	}{
		{domain: "b.example", lookups: 1, voids: 1},
		{domain: "a.example", lookups: 4, voids: 3, perm: "3 void lookups", includes: "b.example"},
		{domain: "c.example", lookups: 5, voids: 3, perm: "3 void lookups", includes: "a.example"},
		{domain: "d.example", lookups: 1, perm: "nospf.example has no SPF record"},
		{domain: "loop.example", lookups: spfWalkLimit, perm: "DNS-querying terms"},
		{domain: "plus.example", lookups: 2, voids: 1, plusAll: true},
		{domain: "all.example", plusAll: true}, // redirect is ignored next to all (RFC 7208 §6.1)
		{domain: "tmp.example", lookups: 1, temp: "SERVFAIL"},
		{domain: "mac.example", lookups: 2, unevaluated: 2},
		{domain: "none.example"},
	}
	for _, tc := range tests {
		res := WalkSPF(ctx, r, tc.domain)
		bad := res.Lookups != tc.lookups || res.Voids != tc.voids || len(res.PlusAll) > 0 != tc.plusAll || len(res.Unevaluated) != tc.unevaluated
		bad = bad || (tc.perm == "") != (len(res.PermErrors) == 0) || tc.perm != "" && !strings.Contains(strings.Join(res.PermErrors, "|"), tc.perm)
		bad = bad || (tc.temp == "") != (len(res.TempErrors) == 0) || tc.temp != "" && !strings.Contains(strings.Join(res.TempErrors, "|"), tc.temp)
		bad = bad || tc.includes != "" && !res.Includes(tc.includes)
		if bad {
			t.Errorf("%s: %+v", tc.domain, res)
		}
	}
}
