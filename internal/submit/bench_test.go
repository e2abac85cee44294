package submit_test

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	sesv2types "github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/sesame-email/sesame/internal/config"
	"github.com/sesame-email/sesame/internal/smtptest"
	"github.com/sesame-email/sesame/internal/testenv"
)

// BenchmarkSendEmailV2 measures accepted messages per second through the
// real v2 API (aws-sdk-go-v2 over loopback HTTP, SigV4 verified), each
// message composed, DKIM-signed with an RSA-2048 key and durably queued,
// from 16 concurrent senders. Run with:
//
//	go test -run XXX -bench SendEmailV2 -benchtime 3000x ./internal/submit/
func BenchmarkSendEmailV2(b *testing.B) {
	env := testenv.Start(b, testenv.Options{})
	env.VerifyDomainWithKey(b, nil, "", "bench.example", sesv2types.DkimSigningKeyLengthRsa2048Bit)
	client := env.SESv2("", nil)
	body := strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit. ", 64) // ~3.7 KB
	var n atomic.Int64
	b.SetParallelism(8) // 16 senders on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			_, err := client.SendEmail(ctx, &sesv2.SendEmailInput{FromEmailAddress: aws.String("news@bench.example"),
				Destination: &types.Destination{ToAddresses: []string{fmt.Sprintf("u%d@example.org", i)}},
				Content: &types.EmailContent{Simple: &types.Message{Subject: &types.Content{Data: aws.String("benchmark")},
					Body: &types.Body{Text: &types.Content{Data: aws.String(body)}}}}})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkEndToEnd measures messages per second from the v2 API to a
// loopback SMTP sink: accepted (signed, durable), claimed, delivered over
// SMTP and recorded. The SDK client and the sink run in the same process,
// so a CPU profile of it shows them too. Run with:
//
//	go test -run XXX -bench EndToEnd -benchtime 2000x -cpuprofile cpu.out ./internal/submit/
func BenchmarkEndToEnd(b *testing.B) {
	sink := smtptest.Start(b, nil)
	env := testenv.Start(b, testenv.Options{Config: func(c *config.Config) { c.Transports = []string{"*=" + sink.Addr} }})
	env.VerifyDomainWithKey(b, nil, "", "bench.example", sesv2types.DkimSigningKeyLengthRsa2048Bit)
	client := env.SESv2("", nil)
	body := strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit. ", 64)
	var n atomic.Int64
	b.SetParallelism(16) // 32 senders on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			_, err := client.SendEmail(ctx, &sesv2.SendEmailInput{FromEmailAddress: aws.String("news@bench.example"),
				Destination: &types.Destination{ToAddresses: []string{fmt.Sprintf("u%d@example.org", i)}},
				Content: &types.EmailContent{Simple: &types.Message{Subject: &types.Content{Data: aws.String("benchmark")},
					Body: &types.Body{Text: &types.Content{Data: aws.String(body)}}}}})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	for len(sink.Messages()) < b.N {
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
