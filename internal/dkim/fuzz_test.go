package dkim

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"
)

func FuzzParseTXT(f *testing.F) {
	for _, k := range []crypto.Signer{testRSA1024, testEd25519} {
		txt, _ := TXTRecord(k.Public())
		f.Add(txt)
	}
	f.Add("v=DKIM1; k=rsa; h=sha256; s=email; t=y:s; n=note; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC")
	f.Add("p=")
	f.Add("v=DKIM1;;p= ;x=")
	f.Add("k=ed25519; p=Gb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=")
	f.Fuzz(func(t *testing.T, s string) {
		rec, err := ParseTXT(s)
		if err != nil {
			return
		}
		if rec.KeyType != "rsa" && rec.KeyType != "ed25519" {
			t.Fatalf("%q: key type %q", s, rec.KeyType)
		}
		if rec.Revoked != (rec.PublicKey == nil) {
			t.Fatalf("%q: revoked=%v with key %v", s, rec.Revoked, rec.PublicKey)
		}
		if rec.Revoked {
			return
		}
		// A key that parsed renders and parses back to the same key.
		txt, err := TXTRecord(rec.PublicKey)
		if err != nil {
			t.Fatalf("%q: TXTRecord: %v", s, err)
		}
		back, err := ParseTXT(txt)
		if err != nil || !back.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(rec.PublicKey) {
			t.Fatalf("%q: round trip through %q: %v", s, txt, err)
		}
	})
}

func FuzzParseBYODKIMKey(f *testing.F) {
	f.Add(base64.StdEncoding.EncodeToString(x509.MarshalPKCS1PrivateKey(testRSA1024)))
	p8, _ := x509.MarshalPKCS8PrivateKey(testRSA1024)
	f.Add(string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8})))
	ed, _ := x509.MarshalPKCS8PrivateKey(testEd25519)
	f.Add(base64.StdEncoding.EncodeToString(ed))
	f.Add("MIIBOgIBAAJBAK")
	f.Add("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseBYODKIMKey(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if len(s) > MaxBYODKIMKeyLen {
			t.Fatalf("accepted %d characters", len(s))
		}
		if n := k.N.BitLen(); n < 1024 || n > 2048 {
			t.Fatalf("accepted a %d-bit key", n)
		}
	})
}

func FuzzVerify(f *testing.F) {
	z := zone{}
	for _, tc := range testKeys() {
		signed, _ := signMsg(f, tc.key, testMsg)
		f.Add([]byte(signed))
		z.publish(f, "sel", "example.com", tc.key) // the last one wins
	}
	signed, _ := signMsg(f, testEd25519, "From: a\r\n\r\n")
	f.Add([]byte(signed + signed))
	f.Add([]byte(testMsg))
	f.Add([]byte("DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=sel; h=from; bh=; b=\r\nFrom: a\r\n\r\nbody"))
	f.Add([]byte("DKIM-Signature:\r\n\r\n"))
	f.Add([]byte("dkim-signature: s=\xff; d=\x00\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		vs, err := Verify(context.Background(), msg, z.lookup)
		if err != nil {
			return
		}
		if len(vs) > MaxSignatures {
			t.Fatalf("%d verifications", len(vs))
		}
		if len(vs) > 0 && !strings.Contains(strings.ToLower(string(msg)), "dkim-signature") {
			t.Fatal("a verification without a signature")
		}
	})
}
