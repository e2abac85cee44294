package audit

import (
	"strings"
	"testing"
)

// FuzzParseSPF: any TXT string parses or fails without panicking, and a
// parsed record keeps every term with lengths in range.
func FuzzParseSPF(f *testing.F) {
	for _, s := range []string{
		"v=spf1 -all",
		"v=spf1 include:amazonses.com ~all",
		"v=spf1 a mx:mx.example.com/24//64 ip4:192.0.2.0/24 ip6:2001:db8::/32 ?exists:%{ir}.%{l1r+-}._spf.%{d} redirect=_spf.example.com",
		"v=spf1 ptr exp=explain.%{d} %% -all",
		"v=spf1 ip4:1.2.3.4/33",
		"v=spf1 include:%{",
		"V=SPF1 +ALL",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rec, err := ParseSPF(s)
		if err != nil {
			return
		}
		if n := len(strings.Fields(strings.ReplaceAll(s[6:], "\t", "x"))); n != len(rec.Terms) {
			t.Fatalf("%q: %d terms, %d fields", s, len(rec.Terms), n)
		}
		for _, term := range rec.Terms {
			if term.CIDR4 > 32 || term.CIDR6 > 128 || term.CIDR4 < -1 || term.CIDR6 < -1 {
				t.Fatalf("%q: CIDR out of range in %+v", s, term)
			}
			if !term.Modifier && !strings.Contains("+-~?", string(term.Qualifier)) {
				t.Fatalf("%q: qualifier %q", s, term.Qualifier)
			}
			_ = term.HasMacro()
		}
	})
}

// FuzzParseDMARC: any TXT string parses or fails without panicking, and a
// parsed record's values are among those RFC 7489 allows.
func FuzzParseDMARC(f *testing.F) {
	for _, s := range []string{
		"v=DMARC1; p=none",
		"v=DMARC1; p=reject; sp=quarantine; adkim=s; aspf=r; pct=50; rua=mailto:a@example.com!10m,mailto:b@example.org; ruf=mailto:f@example.com; fo=1; psd=n; np=reject",
		"v=DMARC1;p=maybe;;pct=101",
		"v=DMARC1; rua=mailto:@",
		"v=DMARC1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rec, err := ParseDMARC(s)
		if err != nil {
			if IsDMARC(s) {
				t.Fatalf("%q: IsDMARC but %v", s, err)
			}
			return
		}
		for _, p := range []string{rec.P, rec.SP, rec.NP} {
			if p != "" && p != "none" && p != "quarantine" && p != "reject" {
				t.Fatalf("%q: policy %q", s, p)
			}
		}
		if rec.PCT < 0 || rec.PCT > 100 || (rec.ADKIM != "r" && rec.ADKIM != "s") || (rec.ASPF != "r" && rec.ASPF != "s") {
			t.Fatalf("%q: %+v", s, rec)
		}
		for _, u := range append(rec.RUA, rec.RUF...) {
			if d := ReportDomain(u); strings.ContainsAny(d, "@!?") {
				t.Fatalf("%q: report domain %q", s, d)
			}
		}
	})
}
