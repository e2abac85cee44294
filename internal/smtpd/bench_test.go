package smtpd_test

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	sesv2types "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/sesame-email/sesame/internal/testenv"
)

// BenchmarkSubmission measures accepted messages per second through SMTP
// submission: 16 concurrent sessions, each STARTTLS + AUTH PLAIN once and
// then one message per iteration (~4 KB, DKIM-signed RSA-2048, durably
// queued). Run with:
//
//	go test -run XXX -bench Submission -benchtime 3000x ./internal/smtpd/
func BenchmarkSubmission(b *testing.B) {
	env := testenv.Start(b, testenv.Options{})
	env.VerifyDomainWithKey(b, nil, "", "bench.example", sesv2types.DkimSigningKeyLengthRsa2048Bit)
	pw := password(b, env.Creds.SecretAccessKey, "us-east-1")
	body := "From: news@bench.example\r\nTo: u@example.org\r\nSubject: benchmark\r\n\r\n" + strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n", 64)
	var n atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c, err := gosmtp.DialStartTLS(env.App.SMTPAddr(), insecure)
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		if err := c.Auth(sasl.NewPlainClient("", env.Creds.AccessKeyID, pw)); err != nil {
			b.Error(err)
			return
		}
		for pb.Next() {
			i := n.Add(1)
			if _, err := send(c, "news@bench.example", []string{fmt.Sprintf("u%d@example.org", i)}, body); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
