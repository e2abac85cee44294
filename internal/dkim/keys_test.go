package dkim

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"
)

func TestGenerateRSAKeySizes(t *testing.T) {
	for _, bits := range []int{0, 512, 1023, 3072, 4096} {
		if _, err := GenerateRSAKey(bits); err == nil {
			t.Errorf("GenerateRSAKey(%d) succeeded", bits)
		}
	}
	if got := testRSA1024.N.BitLen(); got != 1024 {
		t.Errorf("1024-bit key has %d bits", got)
	}
	if got := testRSA2048.N.BitLen(); got != 2048 {
		t.Errorf("2048-bit key has %d bits", got)
	}
}

func TestMarshalParsePrivateKey(t *testing.T) {
	for _, tc := range testKeys() {
		t.Run(tc.name, func(t *testing.T) {
			der, err := MarshalPrivateKey(tc.key)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := x509.ParsePKCS8PrivateKey(der); err != nil {
				t.Fatalf("not PKCS#8: %v", err)
			}
			back, err := ParsePrivateKey(der)
			if err != nil {
				t.Fatal(err)
			}
			if !back.(interface{ Equal(crypto.PrivateKey) bool }).Equal(tc.key) {
				t.Error("key changed in the round trip")
			}
		})
	}
	// PKCS#1 is read too.
	back, err := ParsePrivateKey(x509.MarshalPKCS1PrivateKey(testRSA1024))
	if err != nil || !back.(*rsa.PrivateKey).Equal(testRSA1024) {
		t.Errorf("PKCS#1: %v", err)
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, err := MarshalPrivateKey(ec); err == nil {
		t.Error("MarshalPrivateKey took an ECDSA key")
	}
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ec)
	for name, der := range map[string][]byte{"ecdsa": ecDER, "garbage": []byte("junk"), "empty": nil} {
		if _, err := ParsePrivateKey(der); err == nil {
			t.Errorf("ParsePrivateKey(%s) succeeded", name)
		}
	}
}

func TestParseBYODKIMKey(t *testing.T) {
	p8, _ := x509.MarshalPKCS8PrivateKey(testRSA1024)
	pkcs8 := base64.StdEncoding.EncodeToString(p8)
	pkcs1 := base64.StdEncoding.EncodeToString(x509.MarshalPKCS1PrivateKey(testRSA2048))
	wrapped := func(s string) string { // 64-column lines, as openssl prints
		var b strings.Builder
		for len(s) > 64 {
			b.WriteString(s[:64] + "\r\n")
			s = s[64:]
		}
		return b.String() + s + "\n"
	}
	big, err := rsa.GenerateKey(rand.Reader, 4096)
	if err != nil {
		t.Fatal(err)
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecP8, _ := x509.MarshalPKCS8PrivateKey(ec)
	ecSEC1, _ := x509.MarshalECPrivateKey(ec)
	edP8, _ := x509.MarshalPKCS8PrivateKey(testEd25519)
	spki, _ := x509.MarshalPKIXPublicKey(&testRSA1024.PublicKey)
	b64 := base64.StdEncoding.EncodeToString

	tests := []struct {
		name    string
		in      string
		wantErr string // "" = must succeed
		want    *rsa.PrivateKey
	}{
		{"pkcs1 2048", pkcs1, "", testRSA2048},
		{"pkcs8 1024", pkcs8, "", testRSA1024},
		{"pkcs8 wrapped in lines", wrapped(pkcs8), "", testRSA1024},
		{"surrounding spaces", "  " + pkcs1 + " \n", "", testRSA2048},
		{"no padding", strings.TrimRight(pkcs8, "="), "", testRSA1024},
		{"pem pkcs8 pasted", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8})), "", testRSA1024},
		{"pem pkcs1 pasted", string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(testRSA2048)})), "", testRSA2048},
		{"4096 bits", b64(x509.MarshalPKCS1PrivateKey(big)), "4096 bits; BYODKIM takes 1024 to 2048", nil},
		{"ecdsa pkcs8", b64(ecP8), "ECDSA key; BYODKIM takes RSA", nil},
		{"ec sec1", b64(ecSEC1), "EC key; BYODKIM takes RSA", nil},
		{"ec pem", string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecSEC1})), "EC key", nil},
		{"ed25519", b64(edP8), "Ed25519 key; BYODKIM takes RSA", nil},
		{"public key", b64(spki), "public key", nil},
		{"public key pem", string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki})), "public key", nil},
		{"encrypted pem", string(pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}})), "encrypted", nil},
		{"broken pem", "-----BEGIN PRIVATE KEY-----\n!!!\n-----END PRIVATE KEY-----\n", "malformed", nil},
		{"garbage", "not a key!", "not valid base64", nil},
		{"base64 of junk", b64([]byte("junk junk junk")), "not a PKCS#1 or PKCS#8", nil},
		{"truncated", pkcs1[:len(pkcs1)/2], "", nil}, // some error, whichever
		{"empty", " \n\t", "empty", nil},
		{"too long", strings.Repeat("A", MaxBYODKIMKeyLen+1), "20481 characters long; SES accepts at most 20480", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := ParseBYODKIMKey(tc.in)
			switch {
			case tc.want != nil:
				if err != nil {
					t.Fatalf("error %v", err)
				}
				if !k.Equal(tc.want) {
					t.Fatal("a different key came back")
				}
			case err == nil:
				t.Fatal("accepted")
			case !strings.Contains(err.Error(), tc.wantErr):
				t.Fatalf("error %q lacks %q", err, tc.wantErr)
			}
		})
	}
	// The limit is on characters: exactly MaxBYODKIMKeyLen is not refused
	// for its length.
	if _, err := ParseBYODKIMKey(strings.Repeat("A", MaxBYODKIMKeyLen)); err == nil || strings.Contains(err.Error(), "at most") {
		t.Errorf("20480 characters: %v", err)
	}
}

func TestValidSelector(t *testing.T) {
	tests := []struct {
		s    string
		want bool
	}{
		{"a", true},
		{"Z", true},
		{"7", true},
		{"s1", true},
		{"my-sel", true},
		{"a--b", true},
		{"2024-01", true},
		{strings.Repeat("a", 63), true},
		{"", false},
		{"-a", false},
		{"a-", false},
		{"-", false},
		{"a_b", false},
		{"a.b", false},
		{"a b", false},
		{"sél", false},
		{"a\n", false},
		{strings.Repeat("a", 64), false},
	}
	for _, tc := range tests {
		if got := ValidSelector(tc.s); got != tc.want {
			t.Errorf("ValidSelector(%q) = %v, want %v", tc.s, got, tc.want)
		}
	}
}

func TestNewToken(t *testing.T) {
	seen := make(map[string]bool, 1000)
	for range 1000 {
		tok, err := NewToken()
		if err != nil {
			t.Fatal(err)
		}
		if len(tok) != 32 {
			t.Fatalf("token %q has %d characters", tok, len(tok))
		}
		for _, c := range tok {
			if !strings.ContainsRune(tokenAlphabet, c) {
				t.Fatalf("token %q has %q", tok, c)
			}
		}
		if seen[tok] {
			t.Fatalf("token %q repeated", tok)
		}
		seen[tok] = true
		if !ValidSelector(tok) {
			t.Fatalf("token %q is not a valid selector", tok)
		}
	}
}

func TestKeyLength(t *testing.T) {
	tests := []struct {
		key  crypto.PublicKey
		want string
	}{
		{testRSA1024.Public(), "RSA_1024_BIT"},
		{testRSA2048.Public(), "RSA_2048_BIT"},
		{testRSA2048, "RSA_2048_BIT"},
		{testEd25519.Public(), "ED25519"},
		{testEd25519, "ED25519"},
		{ed25519.PublicKey(nil), ""},
		{"a string", ""},
		{nil, ""},
	}
	for i, tc := range tests {
		if got := KeyLength(tc.key); got != tc.want {
			t.Errorf("%d: KeyLength(%T) = %q, want %q", i, tc.key, got, tc.want)
		}
	}
}
