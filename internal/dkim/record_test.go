package dkim

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func TestTXTRecordRoundTrip(t *testing.T) {
	for _, tc := range testKeys() {
		t.Run(tc.name, func(t *testing.T) {
			txt, err := TXTRecord(tc.key.Public())
			if err != nil {
				t.Fatal(err)
			}
			wantPrefix := "p=" // SES publishes only p= for RSA
			if tc.name == "ed25519" {
				wantPrefix = "v=DKIM1; k=ed25519; p=" // RFC 8463 §4.2
			}
			if !strings.HasPrefix(txt, wantPrefix) || strings.Count(txt, "=") < strings.Count(wantPrefix, "=") {
				t.Fatalf("TXTRecord = %q, want prefix %q", txt, wantPrefix)
			}
			rec, err := ParseTXT(txt)
			if err != nil {
				t.Fatalf("ParseTXT(%q): %v", txt, err)
			}
			if rec.Revoked || !rec.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(tc.key.Public()) {
				t.Fatalf("round trip gave %+v", rec)
			}
			// A private key renders as its public half.
			if txt2, err := TXTRecord(tc.key); err != nil || txt2 != txt {
				t.Errorf("TXTRecord(private) = %q, %v", txt2, err)
			}
			// The record survives being split for DNS and rejoined.
			if rec2, err := ParseTXT(strings.Join(SplitTXT(txt), "")); err != nil || !rec2.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(rec.PublicKey) {
				t.Errorf("split and joined: %v", err)
			}
		})
	}
	ed := base64.StdEncoding.EncodeToString([]byte(testEd25519.Public().(ed25519.PublicKey)))
	if txt, _ := TXTRecord(testEd25519.Public()); txt != "v=DKIM1; k=ed25519; p="+ed {
		t.Errorf("Ed25519 record %q", txt)
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, err := TXTRecord(ec.Public()); err == nil {
		t.Error("TXTRecord took an ECDSA key")
	}
}

func TestParseTXT(t *testing.T) {
	spki := func() string {
		der, _ := x509.MarshalPKIXPublicKey(&testRSA1024.PublicKey)
		return base64.StdEncoding.EncodeToString(der)
	}()
	pkcs1 := base64.StdEncoding.EncodeToString(x509.MarshalPKCS1PublicKey(&testRSA1024.PublicKey))
	ed := base64.StdEncoding.EncodeToString([]byte(testEd25519.Public().(ed25519.PublicKey)))
	ecDER, _ := func() ([]byte, error) {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		return x509.MarshalPKIXPublicKey(k.Public())
	}()
	folded := spki[:60] + " \t" + spki[60:120] + "\r\n " + spki[120:]

	type want struct {
		err     string // "" = must parse
		revoked bool
		check   func(*Record) bool
	}
	tests := []struct {
		name string
		txt  string
		want want
	}{
		{"p only (SES)", "p=" + spki, want{check: func(r *Record) bool { return r.Version == "" && r.KeyType == "rsa" && r.PublicKey != nil }}},
		{"all tags", "v=DKIM1; k=rsa; h=sha256:sha1; s=email:*; t=y:s; n=a note; p=" + spki,
			want{check: func(r *Record) bool {
				return r.Version == "DKIM1" && len(r.HashAlgos) == 2 && r.HashAlgos[0] == "sha256" &&
					len(r.ServiceTypes) == 2 && r.ServiceTypes[1] == "*" && len(r.Flags) == 2 && r.Flags[1] == "s" && r.Notes == "a note"
			}}},
		{"pkcs1 key (erratum 3017)", "k=rsa; p=" + pkcs1, want{check: func(r *Record) bool {
			return r.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(testRSA1024.Public())
		}}},
		{"whitespace inside p=", "v=DKIM1;\tp=" + folded + " ;", want{check: func(r *Record) bool { return r.PublicKey != nil }}},
		{"unknown tags ignored", "v=DKIM1; x_1=whatever; zz=; p=" + spki, want{check: func(r *Record) bool { return r.PublicKey != nil }}},
		{"ed25519", "v=DKIM1; k=ed25519; p=" + ed, want{check: func(r *Record) bool { return r.KeyType == "ed25519" && r.PublicKey != nil }}},
		{"empty p = revoked", "v=DKIM1; p=", want{revoked: true}},
		{"empty p with spaces = revoked", "k=rsa; p= ;", want{revoked: true}},
		{"revoked ed25519", "v=DKIM1; k=ed25519; p=", want{revoked: true}},

		{"bad base64", "p=!!!notbase64", want{err: "not base64"}},
		{"base64 of junk", "p=" + base64.StdEncoding.EncodeToString([]byte("junk")), want{err: "not an RSA public key"}},
		{"unknown k=", "k=dsa; p=AAAA", want{err: "unknown key type k=dsa"}},
		{"v= not first", "k=rsa; v=DKIM1; p=" + spki, want{err: "v= must be the first tag"}},
		{"wrong version", "v=DKIM2; p=" + spki, want{err: "want DKIM1"}},
		{"no p=", "v=DKIM1; k=rsa", want{err: "no p= tag"}},
		{"duplicate tag", "p=" + spki + "; p=" + spki, want{err: "appears twice"}},
		{"no =", "garbage", want{err: "has no \"=\""}},
		{"bad tag name", "1x=a; p=" + spki, want{err: "malformed tag name"}},
		{"empty input", "", want{err: "no p= tag"}},
		{"short ed25519", "k=ed25519; p=AAAA", want{err: "3 bytes, want 32"}},
		{"ed25519 with an RSA key", "k=ed25519; p=" + spki, want{err: "want 32"}},
		{"rsa with an EC key", "p=" + base64.StdEncoding.EncodeToString(ecDER), want{err: "k=rsa but p= holds"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := ParseTXT(tc.txt)
			if tc.want.err != "" {
				if err == nil {
					t.Fatalf("parsed: %+v", rec)
				}
				if !strings.Contains(err.Error(), tc.want.err) {
					t.Fatalf("error %q lacks %q", err, tc.want.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rec.Revoked != tc.want.revoked || (rec.PublicKey == nil) != tc.want.revoked {
				t.Fatalf("revoked = %v, key = %v", rec.Revoked, rec.PublicKey != nil)
			}
			if tc.want.check != nil && !tc.want.check(rec) {
				t.Fatalf("unexpected record %+v", rec)
			}
		})
	}
	// Base64 errors are wrapped.
	_, err := ParseTXT("p=!!!")
	var cie base64.CorruptInputError
	if !errors.As(err, &cie) {
		t.Errorf("error %v does not wrap the base64 error", err)
	}
}

func TestSplitTXT(t *testing.T) {
	tests := []struct {
		n     int
		parts []int // lengths
	}{
		{0, []int{0}},
		{1, []int{1}},
		{254, []int{254}},
		{255, []int{255}},
		{256, []int{255, 1}},
		{509, []int{255, 254}},
		{510, []int{255, 255}},
		{511, []int{255, 255, 1}},
	}
	for _, tc := range tests {
		s := strings.Repeat("abcdefghij", 52)[:tc.n]
		parts := SplitTXT(s)
		if strings.Join(parts, "") != s {
			t.Errorf("%d: parts do not reassemble", tc.n)
		}
		var lens []int
		for _, p := range parts {
			lens = append(lens, len(p))
		}
		if len(lens) != len(tc.parts) {
			t.Errorf("%d: parts of %v octets, want %v", tc.n, lens, tc.parts)
			continue
		}
		for i := range lens {
			if lens[i] != tc.parts[i] {
				t.Errorf("%d: parts of %v octets, want %v", tc.n, lens, tc.parts)
				break
			}
		}
	}
}
