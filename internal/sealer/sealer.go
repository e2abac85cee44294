// Package sealer encrypts small secrets (access key secrets, DKIM private
// keys) before they are written to the store, with AES-256-GCM under a key
// kept in a 0600 file in the data dir. sesame must keep secret access keys in
// a recoverable form (SigV4 and the SES SMTP password are HMACs keyed with
// the secret), so they are sealed rather than hashed.
package sealer

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// KeySize is the length of a sealing key in bytes (AES-256).
const KeySize = 32

// version prefixes every sealed value so the format can change later.
const version byte = 1

// Sealer seals and opens secrets with one key.
type Sealer struct {
	aead cipher.AEAD
}

// New returns a Sealer for a KeySize-byte key.
func New(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("sealer: key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("sealer: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("sealer: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// LoadOrCreateKeyFile reads the key at path, or creates it (mode 0600, from
// crypto/rand) when it does not exist. created reports which happened. A key
// file readable by group or others is refused.
func LoadOrCreateKeyFile(path string) (key []byte, created bool, err error) {
	key, err = os.ReadFile(path)
	if err == nil {
		st, err := os.Stat(path)
		if err != nil {
			return nil, false, fmt.Errorf("sealer: %w", err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			return nil, false, fmt.Errorf("sealer: key file %s has mode %v; want 0600", path, st.Mode().Perm())
		}
		if len(key) != KeySize {
			return nil, false, fmt.Errorf("sealer: key file %s is %d bytes, want %d", path, len(key), KeySize)
		}
		return key, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("sealer: %w", err)
	}
	key = make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, false, fmt.Errorf("sealer: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("sealer: %w", err)
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("sealer: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("sealer: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, false, fmt.Errorf("sealer: %w", err)
	}
	return key, true, nil
}

// Seal encrypts plaintext. aad binds the ciphertext to its context (for
// example the access key id), so a sealed value cannot be moved to another row.
func (s *Sealer) Seal(plaintext, aad []byte) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("sealer: %w", err)
	}
	out := make([]byte, 0, 1+len(nonce)+len(plaintext)+s.aead.Overhead())
	out = append(out, version)
	out = append(out, nonce...)
	return s.aead.Seal(out, nonce, plaintext, aad), nil
}

// ErrOpen is returned when a sealed value is corrupt, was sealed with another
// key, or is bound to other associated data.
var ErrOpen = errors.New("sealer: cannot open sealed value")

// Open decrypts a value made by Seal with the same aad.
func (s *Sealer) Open(sealed, aad []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	if len(sealed) < 1+ns+s.aead.Overhead() || sealed[0] != version {
		return nil, ErrOpen
	}
	pt, err := s.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], aad)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOpen, err)
	}
	return pt, nil
}
