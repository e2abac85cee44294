package dkim_test

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"strings"

	"github.com/sesame-email/sesame/internal/dkim"
)

func ExampleTXTRecord() {
	block, _ := pem.Decode([]byte("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n"))
	pub, _ := x509.ParsePKIXPublicKey(block.Bytes)
	txt, _ := dkim.TXTRecord(pub)
	fmt.Println(txt)
	rec, _ := dkim.ParseTXT(txt)
	fmt.Println(rec.KeyType, dkim.KeyLength(rec.PublicKey))
	// Output:
	// v=DKIM1; k=ed25519; p=Gb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=
	// ed25519 ED25519
}

func ExampleSigner_Sign() {
	// A fixed key keeps the output stable; use GenerateRSAKey or
	// GenerateEd25519Key for real ones.
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	signer, err := dkim.NewSigner(dkim.SignerOptions{Domain: "example.com", Selector: "s1", Key: key})
	if err != nil {
		panic(err)
	}
	msg := "From: Ann <ann@example.com>\r\n" +
		"To: bob@example.org\r\n" +
		"Subject: Hello\r\n" +
		"\r\n" +
		"Hi Bob.\r\n"
	field, err := signer.Sign([]byte(msg))
	if err != nil {
		panic(err)
	}
	signed := field + msg // the caller prepends the field

	// t= and so b= change every second; print the stable tags.
	for _, tag := range strings.Split(strings.ReplaceAll(field, "\r\n", ""), ";") {
		if tag = strings.TrimSpace(strings.TrimPrefix(tag, "DKIM-Signature:")); !strings.HasPrefix(tag, "t=") && !strings.HasPrefix(tag, "b=") {
			fmt.Println(tag)
		}
	}

	// Verify it, with the key published in a stand-in for DNS.
	txt, _ := dkim.TXTRecord(key.Public())
	lookup := func(_ context.Context, name string) ([]string, error) {
		if name == "s1._domainkey.example.com" {
			return []string{txt}, nil
		}
		return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
	}
	vs, err := dkim.Verify(context.Background(), []byte(signed), lookup)
	if err != nil {
		panic(err)
	}
	for _, v := range vs {
		fmt.Printf("d=%s s=%s err=%v\n", v.Domain, v.Selector, v.Err)
	}
	// Output:
	// a=ed25519-sha256
	// bh=kmjWRdQb+kpvA4ZSXI9Gm/RUAw0QJguOg7YOVst7P7Q=
	// c=relaxed/relaxed
	// d=example.com
	// h=From:To:Subject:From
	// s=s1
	// v=1
	// d=example.com s=s1 err=<nil>
}
