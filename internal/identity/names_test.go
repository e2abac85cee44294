package identity

import (
	"errors"
	"slices"
	"testing"
)

func TestNormalizeDomain(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Example.COM", "example.com"},
		{"example.com.", "example.com"},
		{"mail.example.co.jp", "mail.example.co.jp"},
		{"bücher.example", "xn--bcher-kva.example"},
		{"例え.jp", "xn--r8jz45g.jp"},
		{"xn--bcher-kva.example", "xn--bcher-kva.example"},
		{"a-b.example", "a-b.example"},
	}
	for _, tc := range tests {
		got, err := NormalizeDomain(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("NormalizeDomain(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "localhost", "exa mple.com", "-a.example", "a-.example", "a..example", "a_b.example", "192.168.0.1",
		"ex\nample.com", "example.com\r\nBcc: x@y", string(make([]byte, 300)) + ".com", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com"} {
		if got, err := NormalizeDomain(bad); !errors.Is(err, ErrInvalidName) {
			t.Errorf("NormalizeDomain(%q) = %q, %v; want ErrInvalidName", bad, got, err)
		}
	}
}

func TestNormalizeAddress(t *testing.T) {
	tests := []struct{ in, want string }{
		{"User@Example.COM", "User@example.com"},
		{"a.b+tag@mail.example.com", "a.b+tag@mail.example.com"},
		{"info@bücher.example", "info@xn--bcher-kva.example"},
	}
	for _, tc := range tests {
		got, err := NormalizeAddress(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("NormalizeAddress(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "example.com", "@example.com", "a@", "Ann <ann@example.com>", "<ann@example.com>", "a b@example.com",
		"\"a\"@example.com", "a..b@example.com", ".a@example.com", "a@b@example.com", "a@localhost", "ann@example.com\r\nBcc: x@y.com", "a\x00@example.com"} {
		if got, err := NormalizeAddress(bad); !errors.Is(err, ErrInvalidName) {
			t.Errorf("NormalizeAddress(%q) = %q, %v; want ErrInvalidName", bad, got, err)
		}
	}
}

func TestParentDomains(t *testing.T) {
	got := ParentDomains("a.b.example.com")
	if !slices.Equal(got, []string{"a.b.example.com", "b.example.com", "example.com"}) {
		t.Errorf("ParentDomains = %v", got)
	}
	if got := ParentDomains("example.com"); !slices.Equal(got, []string{"example.com"}) {
		t.Errorf("ParentDomains(example.com) = %v", got)
	}
}

func FuzzNormalizeAddress(f *testing.F) {
	for _, s := range []string{"a@example.com", "Ann <a@b.c>", "ü@bücher.example", "a@b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := NormalizeAddress(s)
		if err != nil {
			return
		}
		// A normalized address is stable and carries no header-breaking bytes.
		again, err := NormalizeAddress(got)
		if err != nil || again != got {
			t.Fatalf("not idempotent: %q → %q → %q, %v", s, got, again, err)
		}
		for i := 0; i < len(got); i++ {
			if got[i] < 0x21 || got[i] == 0x7f {
				t.Fatalf("control byte in %q", got)
			}
		}
	})
}
