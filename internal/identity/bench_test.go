package identity_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/sesame-email/sesame/internal/identity"
	"github.com/sesame-email/sesame/internal/testenv"
)

// BenchmarkVerificationChecker10k measures one pass of the verification
// engine over 10,000 pending domain identities (BYODKIM, so creating them
// costs no key generation) whose DNS records are missing, answered by a
// loopback DNS server. It reports checks per second and CPU per check.
//
//	go test -run XXX -bench VerificationChecker10k -benchtime 1x ./internal/identity/
func BenchmarkVerificationChecker10k(b *testing.B) {
	const n = 10000
	env := testenv.Start(b, testenv.Options{CheckInterval: time.Hour})
	svc := env.App.Identities()
	acct, _, err := env.App.Accounts().Lookup(ctx, env.Creds.AccessKeyID)
	if err != nil {
		b.Fatal(err)
	}
	k, _ := rsa.GenerateKey(rand.Reader, 1024)
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	pemKey := base64.StdEncoding.EncodeToString(der)
	for i := range n {
		if _, err := svc.CreateDomain(ctx, acct.AccountID, "us-east-1", fmt.Sprintf("d%05d.example", i),
			identity.DomainOptions{Selector: "s1", PrivateKey: pemKey}); err != nil {
			b.Fatal(err)
		}
	}
	if b.N > 1 {
		b.Skip("one pass per run: use -benchtime 1x")
	}
	b.ResetTimer()
	var r0, r1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &r0)
	checked, err := svc.RunDue(ctx, n)
	if err != nil {
		b.Fatal(err)
	}
	syscall.Getrusage(syscall.RUSAGE_SELF, &r1)
	cpu := time.Duration(r1.Utime.Nano() + r1.Stime.Nano() - r0.Utime.Nano() - r0.Stime.Nano())
	if checked != n {
		b.Fatalf("checked %d, want %d", checked, n)
	}
	b.ReportMetric(float64(checked)/b.Elapsed().Seconds(), "checks/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(checked), "cpu-µs/check")
}
