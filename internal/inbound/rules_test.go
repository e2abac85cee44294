package inbound

import (
	"net/netip"
	"testing"
)

func TestRuleMatches(t *testing.T) {
	r := Rule{Recipients: []string{"ann@a.example", "b.example", ".c.example"}}
	for addr, want := range map[string]bool{
		"ann@a.example":   true,
		"ANN@A.example":   true,
		"bob@a.example":   false,
		"x@b.example":     true,
		"x@sub.b.example": false,
		"x@c.example":     false,
		"x@sub.c.example": true,
		"x@d.example":     false,
	} {
		if got := r.Matches(addr); got != want {
			t.Errorf("Matches(%q) = %v, want %v", addr, got, want)
		}
	}
	if !(Rule{}).Matches("any@thing.example") {
		t.Error("a rule without recipients matches every address")
	}
}

func TestParseCIDR(t *testing.T) {
	for in, want := range map[string]string{"10.0.0.0/8": "10.0.0.0/8", "10.1.2.3/8": "10.0.0.0/8", "192.0.2.1": "192.0.2.1/32", "2001:db8::/32": "2001:db8::/32"} {
		p, err := parseCIDR(in)
		if err != nil || p.String() != want {
			t.Errorf("parseCIDR(%q) = %v, %v", in, p, err)
		}
	}
	if _, err := parseCIDR("10.0.0.0/33"); err == nil {
		t.Error("a bad prefix parsed")
	}
	p, _ := parseCIDR("127.0.0.2/32")
	if !p.Contains(netip.MustParseAddr("::ffff:127.0.0.2").Unmap()) {
		t.Error("IPv4-mapped address not matched")
	}
}

// FuzzParseCIDR: receipt filters come from API callers.
func FuzzParseCIDR(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "192.0.2.1", "::1/128", "", "/", "1.2.3.4/-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if p, err := parseCIDR(s); err == nil && !p.IsValid() {
			t.Errorf("%q parsed to an invalid prefix", s)
		}
	})
}
