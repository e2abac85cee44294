package certs

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
)

func TestSelfSignedOnceAnd0600(t *testing.T) {
	dir := t.TempDir()
	c1, err := Load("", "", dir, []string{"mail.example.test", "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(c1.Certificates[0].Certificate[0])
	if err != nil || leaf.DNSNames[0] != "mail.example.test" || !leaf.IPAddresses[0].IsLoopback() {
		t.Fatalf("certificate: %+v %v", leaf, err)
	}
	st, _ := os.Stat(filepath.Join(dir, KeyFile))
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v", st.Mode().Perm())
	}
	c2, _ := Load("", "", dir, []string{"other"})
	if string(c2.Certificates[0].Certificate[0]) != string(c1.Certificates[0].Certificate[0]) {
		t.Error("certificate remade on second load")
	}
	if _, err := Load(filepath.Join(dir, "none.crt"), filepath.Join(dir, "none.key"), dir, nil); err == nil {
		t.Error("missing operator certificate accepted")
	}
}
