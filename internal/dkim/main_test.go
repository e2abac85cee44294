package dkim

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
)

// Test fixtures, made once per test binary in TestMain: RSA generation is
// slow, more so under -race. Tests only read them.
var (
	testRSA1024 *rsa.PrivateKey
	testRSA2048 *rsa.PrivateKey
	testEd25519 ed25519.PrivateKey
)

func TestMain(m *testing.M) {
	var err error
	if testRSA1024, err = GenerateRSAKey(1024); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if testRSA2048, err = GenerateRSAKey(2048); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if testEd25519, err = GenerateEd25519Key(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// testKeys are the three kinds of signing key, by name.
func testKeys() []struct {
	name string
	key  crypto.Signer
	alg  string
} {
	return []struct {
		name string
		key  crypto.Signer
		alg  string
	}{
		{"rsa1024", testRSA1024, "rsa-sha256"},
		{"rsa2048", testRSA2048, "rsa-sha256"},
		{"ed25519", testEd25519, "ed25519-sha256"},
	}
}

// testMsg is a small message with whitespace that relaxed canonicalization
// changes, in the header and at the end of body lines.
const testMsg = "From: Ann <ann@example.com>\r\n" +
	"To: bob@example.org\r\n" +
	"Subject:  Hello   there \r\n" +
	"Date: Mon, 15 Jan 2024 10:15:00 +0000\r\n" +
	"Message-ID: <1@example.com>\r\n" +
	"X-Unsigned: whatever\r\n" +
	"\r\n" +
	"Hi Bob,  \r\n" +
	"\r\n" +
	"see  you.\r\n" +
	"\r\n"

// zone maps DNS names to the TXT records there, standing in for DNS. A
// name it lacks is NXDOMAIN, as dnsx reports it.
type zone map[string][]string

func (z zone) lookup(_ context.Context, name string) ([]string, error) {
	if v, ok := z[strings.ToLower(strings.TrimSuffix(name, "."))]; ok {
		return v, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

// publish adds key's record at <selector>._domainkey.<domain>.
func (z zone) publish(t testing.TB, selector, domain string, key crypto.Signer) {
	t.Helper()
	txt, err := TXTRecord(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	z[selector+"._domainkey."+domain] = []string{txt}
}

// signMsg signs msg for example.com with selector "sel" and returns the
// signed message and a zone publishing the key.
func signMsg(t testing.TB, key crypto.Signer, msg string) (string, zone) {
	t.Helper()
	s, err := NewSigner(SignerOptions{Domain: "example.com", Selector: "sel", Key: key})
	if err != nil {
		t.Fatal(err)
	}
	h, err := s.Sign([]byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	z := zone{}
	z.publish(t, "sel", "example.com", key)
	return h + msg, z
}
