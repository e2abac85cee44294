package simulator

import "testing"

func TestIs(t *testing.T) {
	for addr, want := range map[string]bool{
		"bounce@simulator.amazonses.com":       true,
		"Success+x@Simulator.AmazonSES.com":    true,
		"complaint@simulator.sesame.localhost": true,
		"a@sesame.localhost":                   false,
		"a@simulator.example.com":              false,
		"simulator.amazonses.com@example.org":  false,
		"nobody":                               false,
	} {
		if got := Is(addr, "sesame.localhost"); got != want {
			t.Errorf("Is(%q) = %v, want %v", addr, got, want)
		}
	}
	if d := Domains("sesame.localhost"); len(d) != 2 || d[0] != "simulator.sesame.localhost" || d[1] != AmazonDomain {
		t.Errorf("Domains = %v", d)
	}
}
