//go:build !(openssl && cgo)

package dkim

import (
	"crypto"
	"crypto/rsa"
)

// Accelerated reports whether RSA signing goes through OpenSSL (the
// openssl build tag, with cgo). This build signs with Go's crypto/rsa.
const Accelerated = false

// accelerate returns k: this build has no OpenSSL.
func accelerate(k *rsa.PrivateKey) crypto.Signer { return k }
