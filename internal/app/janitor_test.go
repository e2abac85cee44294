package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/sesame-email/sesame/internal/clock"
	"github.com/sesame-email/sesame/internal/config"
	"github.com/sesame-email/sesame/internal/testenv"
)

// TestRetention: a finished message is kept for --retention, then removed;
// one with a recipient still pending is kept.
func TestRetention(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Now())
	env := testenv.Start(t, testenv.Options{Clock: clk, AuthClock: clock.System{}, Config: func(c *config.Config) {
		c.Retention = 48 * time.Hour
		c.Transports = []string{"stuck.example=127.0.0.1:1"}
	}})
	env.VerifyDomain(t, nil, "", "example.com")
	send := func(to string) string {
		out, err := env.SESv2("", nil).SendEmail(ctx, &sesv2.SendEmailInput{FromEmailAddress: aws.String("a@example.com"),
			Destination: &types.Destination{ToAddresses: []string{to}},
			Content:     &types.EmailContent{Simple: &types.Message{Subject: &types.Content{Data: aws.String("s")}, Body: &types.Body{Text: &types.Content{Data: aws.String("b")}}}}})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.MessageId)
	}
	done, pending := send("success@simulator.amazonses.com"), send("x@stuck.example")
	adm := env.Admin(nil)
	deadline := time.Now().Add(10 * time.Second)
	for {
		m, _ := adm.Message(ctx, done)
		p, _ := adm.Message(ctx, pending)
		if len(m.Recipients) == 1 && m.Recipients[0].State == "delivered" && len(p.Recipients) == 1 && p.Recipients[0].State == "deferred" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never settled: %+v %+v", m.Recipients, p.Recipients)
		}
		time.Sleep(20 * time.Millisecond)
	}
	env.App.Sweep(ctx)
	if _, err := adm.Message(ctx, done); err != nil {
		t.Fatalf("removed before its retention: %v", err)
	}
	clk.Advance(49 * time.Hour)
	env.App.Sweep(ctx)
	if _, err := adm.Message(ctx, done); err == nil {
		t.Error("a finished message outlived its retention")
	}
	if _, err := adm.Message(ctx, pending); err != nil {
		t.Errorf("a message with a pending recipient was removed: %v", err)
	}
}
