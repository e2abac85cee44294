package dkim

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"testing"
)

// TestAccelerateSignsAsGo: PKCS#1 v1.5 signatures are deterministic, so the
// OpenSSL-backed key (openssl build tag) must produce Go's exact bytes, and
// they must verify; in the default build accelerate is the identity.
func TestAccelerateSignsAsGo(t *testing.T) {
	for _, bits := range []int{1024, 2048} {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			t.Fatal(err)
		}
		s := accelerate(k)
		if !Accelerated && s != crypto.Signer(k) {
			t.Fatalf("default build wrapped the key: %T", s)
		}
		sum := sha256.Sum256([]byte("message"))
		got, err := s.Sign(rand.Reader, sum[:], crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := rsa.SignPKCS1v15(nil, k, crypto.SHA256, sum[:])
		if string(got) != string(want) {
			t.Errorf("%d bits: signature differs from crypto/rsa's", bits)
		}
		if err := rsa.VerifyPKCS1v15(s.Public().(*rsa.PublicKey), crypto.SHA256, sum[:], got); err != nil {
			t.Errorf("%d bits: %v", bits, err)
		}
		// Another hash falls back to Go.
		sum1 := sha256.Sum224([]byte("message"))
		if _, err := s.Sign(rand.Reader, sum1[:], crypto.SHA224); err != nil {
			t.Errorf("SHA-224 fallback: %v", err)
		}
	}
}
