package dkim

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"strings"
	"testing"
)

// benchMsg is a typical transactional message of about 4 KB.
func benchMsg(bodyBytes int) []byte {
	var b strings.Builder
	b.WriteString("From: \"Example Shop\" <orders@example.com>\r\n" +
		"To: customer@example.org\r\n" +
		"Subject: Your order #12345 has shipped\r\n" +
		"Date: Mon, 15 Jan 2024 10:15:00 +0000\r\n" +
		"Message-ID: <0100018d0c9e3f41-7b1f2c3a-5d4e-4f60-8a9b-0c1d2e3f4a5b-000000@email.amazonses.com>\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=UTF-8\r\n" +
		"Content-Transfer-Encoding: 7bit\r\n" +
		"\r\n")
	line := "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.  \r\n"
	for b.Len() < bodyBytes {
		b.WriteString(line)
	}
	return []byte(b.String())
}

func benchSign(b *testing.B, key crypto.Signer, size int) {
	s, err := NewSigner(SignerOptions{Domain: "example.com", Selector: "sel", Key: key})
	if err != nil {
		b.Fatal(err)
	}
	msg := benchMsg(size)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Sign(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignRSA2048_4KB(b *testing.B) { benchSign(b, testRSA2048, 4096) }
func BenchmarkSignRSA1024_4KB(b *testing.B) { benchSign(b, testRSA1024, 4096) }
func BenchmarkSignEd25519_4KB(b *testing.B) { benchSign(b, testEd25519, 4096) }

// BenchmarkSignEd25519_1MB shows the cost per byte of canonicalizing and
// hashing the body through go-msgauth.
func BenchmarkSignEd25519_1MB(b *testing.B) { benchSign(b, testEd25519, 1<<20) }

// BenchmarkRSA2048SignPKCS1v15 is the RSA private-key operation alone on
// a SHA-256 digest, to see what share of BenchmarkSignRSA2048_4KB is RSA.
func BenchmarkRSA2048SignPKCS1v15(b *testing.B) {
	d := sha256.Sum256([]byte("x"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rsa.SignPKCS1v15(nil, testRSA2048, crypto.SHA256, d[:]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRSA1024SignPKCS1v15 is the same for 1024 bits.
func BenchmarkRSA1024SignPKCS1v15(b *testing.B) {
	d := sha256.Sum256([]byte("x"))
	for b.Loop() {
		if _, err := rsa.SignPKCS1v15(nil, testRSA1024, crypto.SHA256, d[:]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEd25519SignDigest is the Ed25519 operation alone.
func BenchmarkEd25519SignDigest(b *testing.B) {
	d := sha256.Sum256([]byte("x"))
	for b.Loop() {
		ed25519.Sign(testEd25519, d[:])
	}
}

func BenchmarkVerifyRSA2048_4KB(b *testing.B) {
	msg := benchMsg(4096)
	signed, z := signMsg(b, testRSA2048, string(msg))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		vs, err := Verify(ctx, []byte(signed), z.lookup)
		if err != nil || vs[0].Err != nil {
			b.Fatal(err, vs)
		}
	}
}

// BenchmarkNewSignerRSA2048 is the one-off cost per key: copy, Precompute
// (a no-op here, the key is precomputed) and Validate.
func BenchmarkNewSignerRSA2048(b *testing.B) {
	for b.Loop() {
		if _, err := NewSigner(SignerOptions{Domain: "example.com", Selector: "sel", Key: testRSA2048}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignRSA2048_4KB_Parallel signs from GOMAXPROCS goroutines; its
// ns/op is wall time per message, so 1e9/ns is the throughput of the box.
func BenchmarkSignRSA2048_4KB_Parallel(b *testing.B) {
	s, err := NewSigner(SignerOptions{Domain: "example.com", Selector: "sel", Key: testRSA2048})
	if err != nil {
		b.Fatal(err)
	}
	msg := benchMsg(4096)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Sign(msg); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
