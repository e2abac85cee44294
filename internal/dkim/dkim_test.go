package dkim

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"

	msgdkim "github.com/emersion/go-msgauth/dkim"
)

// Test keys are made once per test binary: RSA generation is slow under -race.
var (
	keysOnce sync.Once
	rsa1024  *rsa.PrivateKey
	rsa2048  *rsa.PrivateKey
)

func keys(t testing.TB) (*rsa.PrivateKey, *rsa.PrivateKey) {
	keysOnce.Do(func() {
		var err error
		if rsa1024, err = GenerateRSAKey(1024); err != nil {
			t.Fatal(err)
		}
		if rsa2048, err = GenerateRSAKey(2048); err != nil {
			t.Fatal(err)
		}
	})
	return rsa1024, rsa2048
}

const testMsg = "From: Ann <ann@example.com>\r\n" +
	"To: bob@example.org\r\n" +
	"Subject:  Hello   there \r\n" +
	"Date: Mon, 15 Jan 2024 10:15:00 +0000\r\n" +
	"Message-ID: <1@example.com>\r\n" +
	"\r\n" +
	"Hi Bob,  \r\n" +
	"\r\n" +
	"see you.\r\n"

// zone maps DNS names to TXT records, standing in for DNS.
type zone map[string]string

func (z zone) lookup(_ context.Context, name string) ([]string, error) {
	if v, ok := z[strings.TrimSuffix(name, ".")]; ok {
		return []string{v}, nil
	}
	return nil, fmt.Errorf("no TXT at %s", name)
}

func signWith(t *testing.T, key crypto.Signer, msg string) (string, zone) {
	t.Helper()
	s, err := NewSigner(SignerOptions{Domain: "example.com", Selector: "sel", Key: key})
	if err != nil {
		t.Fatal(err)
	}
	h, err := s.Sign([]byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	txt, err := TXTRecord(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	return h + msg, zone{"sel._domainkey.example.com": txt}
}

func TestSignVerify(t *testing.T) {
	k1, k2 := keys(t)
	ed, _ := GenerateEd25519Key()
	for _, tc := range []struct {
		name string
		key  crypto.Signer
		alg  string
	}{{"rsa1024", k1, "a=rsa-sha256"}, {"rsa2048", k2, "a=rsa-sha256"}, {"ed25519", ed, "a=ed25519-sha256"}} {
		t.Run(tc.name, func(t *testing.T) {
			signed, z := signWith(t, tc.key, testMsg)
			if !strings.Contains(signed, tc.alg) || !strings.Contains(signed, "c=relaxed/relaxed") || !strings.Contains(signed, "d=example.com") {
				t.Fatalf("signature header: %s", signed[:strings.Index(signed, "From:")])
			}
			vs, err := Verify(context.Background(), []byte(signed), z.lookup)
			if err != nil || len(vs) != 1 || vs[0].Err != nil {
				t.Fatalf("Verify = %+v, %v", vs, err)
			}
			// go-msgauth's own verifier agrees.
			mv, err := msgdkim.VerifyWithOptions(strings.NewReader(signed), &msgdkim.VerifyOptions{LookupTXT: func(n string) ([]string, error) { return z.lookup(context.Background(), n) }})
			if err != nil || mv[0].Err != nil {
				t.Fatalf("go-msgauth Verify: %v %v", err, mv[0].Err)
			}
			mutations := []struct{ name, from, to string }{
				{"body changed", "see you.", "see you!"},
				{"signed header changed", "Subject:  Hello", "Subject:  Hullo"},
				{"second From added", "From: Ann", "From: Mallory <m@evil.example>\r\nFrom: Ann"},
			}
			for _, m := range mutations {
				bad := strings.Replace(signed, m.from, m.to, 1)
				vs, _ := Verify(context.Background(), []byte(bad), z.lookup)
				if len(vs) != 1 || vs[0].Err == nil {
					t.Errorf("%s: still verifies", m.name)
				}
			}
			// Relaxed canonicalization tolerates whitespace changes.
			relaxed := strings.Replace(signed, "Subject:  Hello   there ", "Subject: Hello there", 1)
			relaxed = strings.Replace(relaxed, "Hi Bob,  \r\n", "Hi Bob,\r\n", 1)
			if vs, _ := Verify(context.Background(), []byte(relaxed), z.lookup); len(vs) != 1 || vs[0].Err != nil {
				t.Errorf("relaxed canonicalization: %+v", vs)
			}
		})
	}
}

func TestBodyHashByHand(t *testing.T) {
	_, k2 := keys(t)
	signed, _ := signWith(t, k2, testMsg)
	// RFC 6376 §3.4.4: trailing whitespace removed, runs of WSP → one SP,
	// trailing empty lines removed, body ends in CRLF.
	canon := "Hi Bob,\r\n\r\nsee you.\r\n"
	sum := sha256.Sum256([]byte(canon))
	want := "bh=" + base64.StdEncoding.EncodeToString(sum[:])
	if !strings.Contains(strings.ReplaceAll(strings.ReplaceAll(signed, "\r\n ", ""), " ", ""), want) {
		t.Errorf("signature lacks %s:\n%s", want, signed)
	}
}

func TestVerifyTemporaryError(t *testing.T) {
	_, k2 := keys(t)
	signed, _ := signWith(t, k2, testMsg)
	vs, err := Verify(context.Background(), []byte(signed), func(context.Context, string) ([]string, error) {
		return nil, errors.New("SERVFAIL")
	})
	if err != nil || len(vs) != 1 || vs[0].Err == nil {
		t.Fatalf("Verify = %+v, %v", vs, err)
	}
}

func TestTXTRoundTrip(t *testing.T) {
	k1, k2 := keys(t)
	ed, _ := GenerateEd25519Key()
	for _, k := range []crypto.Signer{k1, k2, ed} {
		txt, err := TXTRecord(k.Public())
		if err != nil {
			t.Fatal(err)
		}
		rec, err := ParseTXT(txt)
		if err != nil {
			t.Fatalf("ParseTXT(%q): %v", txt, err)
		}
		if !rec.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(k.Public()) {
			t.Errorf("%T: key changed in round trip", k)
		}
	}
	if KeyLength(k2.Public()) != "RSA_2048_BIT" || KeyLength(k1.Public()) != "RSA_1024_BIT" {
		t.Error("KeyLength")
	}
	pkcs1 := base64.StdEncoding.EncodeToString(x509.MarshalPKCS1PublicKey(&k1.PublicKey))
	if rec, err := ParseTXT("v=DKIM1; k=rsa; t=y:s; h=sha256; p=" + pkcs1); err != nil || len(rec.Flags) != 2 || rec.HashAlgos[0] != "sha256" {
		t.Errorf("PKCS#1 key with flags: %+v %v", rec, err)
	}
}

func TestParseTXTErrors(t *testing.T) {
	tests := []struct {
		txt     string
		revoked bool
	}{
		{"v=DKIM1; p=", true},
		{"p=;", true},
		{"p=!!!notbase64", false},
		{"k=dsa; p=AAAA", false},
		{"k=rsa; v=DKIM1; p=AAAA", false},
		{"v=DKIM2; p=AAAA", false},
		{"v=DKIM1; k=rsa", false},
		{"p=AAAA; p=BBBB", false},
		{"garbage", false},
		{"k=ed25519; p=AAAA", false},
	}
	for _, tc := range tests {
		rec, err := ParseTXT(tc.txt)
		if tc.revoked {
			if err != nil || !rec.Revoked {
				t.Errorf("%q: want revoked, got %+v %v", tc.txt, rec, err)
			}
		} else if err == nil {
			t.Errorf("%q: parsed", tc.txt)
		}
	}
}

func TestSplitTXT(t *testing.T) {
	for _, n := range []int{0, 1, 255, 256, 510, 511} {
		s := strings.Repeat("x", n)
		parts := SplitTXT(s)
		if strings.Join(parts, "") != s {
			t.Errorf("%d: parts do not reassemble", n)
		}
		for _, p := range parts {
			if len(p) > 255 {
				t.Errorf("%d: part of %d octets", n, len(p))
			}
		}
		if want := max(1, (n+254)/255); len(parts) != want {
			t.Errorf("%d: %d parts, want %d", n, len(parts), want)
		}
	}
}

func TestParseBYODKIMKey(t *testing.T) {
	k1, k2 := keys(t)
	pkcs1 := base64.StdEncoding.EncodeToString(x509.MarshalPKCS1PrivateKey(k2))
	p8, _ := x509.MarshalPKCS8PrivateKey(k1)
	pkcs8 := base64.StdEncoding.EncodeToString(p8)
	pemBlock := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}))
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ec)
	big, _ := rsa.GenerateKey(rand.Reader, 3072)
	bigDER := base64.StdEncoding.EncodeToString(x509.MarshalPKCS1PrivateKey(big))
	tests := []struct {
		name string
		in   string
		ok   bool
		want string
	}{
		{"pkcs1", pkcs1, true, ""},
		{"pkcs8 with newlines", pkcs8[:40] + "\n" + pkcs8[40:], true, ""},
		{"pem pasted", pemBlock, true, ""},
		{"ec key", base64.StdEncoding.EncodeToString(ecDER), false, "RSA"},
		{"3072 bits", bigDER, false, "bits"},
		{"garbage", "not a key", false, "base64"},
		{"base64 of junk", base64.StdEncoding.EncodeToString([]byte("junk")), false, "DER"},
		{"empty", "  ", false, "empty"},
		{"too long", strings.Repeat("A", MaxBYODKIMKeyLen+1), false, "at most"},
	}
	for _, tc := range tests {
		k, err := ParseBYODKIMKey(tc.in)
		if tc.ok != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %v, %v", tc.name, k != nil, err)
		}
	}
}

func TestTokensAndSelectors(t *testing.T) {
	re := regexp.MustCompile(`^[a-z2-7]{32}$`)
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		tok, err := NewToken()
		if err != nil || !re.MatchString(tok) || seen[tok] {
			t.Fatalf("token %q %v", tok, err)
		}
		seen[tok] = true
	}
	for s, want := range map[string]bool{"s1": true, "a": true, "my-sel": true, "-a": false, "a-": false, "": false, "a_b": false, strings.Repeat("a", 64): false, strings.Repeat("a", 63): true} {
		if ValidSelector(s) != want {
			t.Errorf("ValidSelector(%q) != %v", s, want)
		}
	}
	if _, err := GenerateRSAKey(4096); err == nil {
		t.Error("4096-bit key accepted")
	}
}

func ExampleTXTRecord() {
	block, _ := pem.Decode([]byte("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n"))
	pub, _ := x509.ParsePKIXPublicKey(block.Bytes)
	txt, _ := TXTRecord(pub)
	fmt.Println(txt)
	// Output: v=DKIM1; k=ed25519; p=Gb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=
}

func FuzzParseTXT(f *testing.F) {
	f.Add("v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC")
	f.Add("p=")
	f.Add("k=ed25519; p=Gb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=")
	f.Fuzz(func(t *testing.T, s string) {
		rec, err := ParseTXT(s)
		if err == nil && !rec.Revoked && rec.PublicKey == nil {
			t.Fatalf("%q parsed without a key", s)
		}
	})
}

func FuzzParseBYODKIMKey(f *testing.F) {
	f.Add("MIIBOgIBAAJBAK")
	f.Add("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseBYODKIMKey(s)
		if err == nil && (k.N.BitLen() < 1024 || k.N.BitLen() > 2048) {
			t.Fatalf("accepted a %d-bit key", k.N.BitLen())
		}
	})
}

func FuzzVerify(f *testing.F) {
	f.Add([]byte(testMsg))
	f.Add([]byte("DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=sel; h=from; bh=; b=\r\nFrom: a\r\n\r\nbody"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		Verify(context.Background(), msg, func(context.Context, string) ([]string, error) { return []string{"p="}, nil })
	})
}

func benchSign(b *testing.B, key crypto.Signer) {
	s, _ := NewSigner(SignerOptions{Domain: "example.com", Selector: "sel", Key: key})
	msg := []byte(strings.Replace(testMsg, "see you.", strings.Repeat("0123456789abcdef", 240), 1))
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Sign(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignRSA2048_4KB(b *testing.B) { _, k := keys(b); benchSign(b, k) }
func BenchmarkSignRSA1024_4KB(b *testing.B) { k, _ := keys(b); benchSign(b, k) }
func BenchmarkSignEd25519_4KB(b *testing.B) { k, _ := GenerateEd25519Key(); benchSign(b, k) }

// BenchmarkRSA2048SignPKCS1v15 is the private-key operation alone, to see
// what share of BenchmarkSignRSA2048_4KB is RSA.
func BenchmarkRSA2048SignPKCS1v15(b *testing.B) {
	_, k := keys(b)
	d := sha256.Sum256([]byte("x"))
	for b.Loop() {
		if _, err := rsa.SignPKCS1v15(nil, k, crypto.SHA256, d[:]); err != nil {
			b.Fatal(err)
		}
	}
}
