package sealer

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestSealOpen(t *testing.T) {
	key := bytes.Repeat([]byte{7}, KeySize)
	s, err := New(key)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.Seal([]byte("secret"), []byte("AKID1"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("secret")) {
		t.Fatal("plaintext visible in sealed value")
	}
	got, err := s.Open(sealed, []byte("AKID1"))
	if err != nil || string(got) != "secret" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	other, _ := New(bytes.Repeat([]byte{8}, KeySize))
	tests := []struct {
		name   string
		s      *Sealer
		sealed []byte
		aad    string
	}{
		{"wrong aad", s, sealed, "AKID2"},
		{"wrong key", other, sealed, "AKID1"},
		{"truncated", s, sealed[:10], "AKID1"},
		{"flipped", s, append(append([]byte{}, sealed[:len(sealed)-1]...), sealed[len(sealed)-1]^1), "AKID1"},
		{"bad version", s, append([]byte{9}, sealed[1:]...), "AKID1"},
	}
	for _, tc := range tests {
		if _, err := tc.s.Open(tc.sealed, []byte(tc.aad)); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: err = %v, want ErrOpen", tc.name, err)
		}
	}
	if _, err := New([]byte("short")); err == nil {
		t.Error("New accepted a short key")
	}
}

func TestKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	k1, created, err := LoadOrCreateKeyFile(path)
	if err != nil || !created || len(k1) != KeySize {
		t.Fatalf("create: %v %v %d", err, created, len(k1))
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode().Perm())
	}
	k2, created, err := LoadOrCreateKeyFile(path)
	if err != nil || created || !bytes.Equal(k1, k2) {
		t.Fatalf("reload: %v %v", err, created)
	}
	os.Chmod(path, 0o644)
	if _, _, err := LoadOrCreateKeyFile(path); err == nil {
		t.Fatal("world-readable key file accepted")
	}
}
