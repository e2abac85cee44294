package submit_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/sesame-email/sesame/internal/config"
	"github.com/sesame-email/sesame/internal/smtptest"
	"github.com/sesame-email/sesame/internal/testenv"
)

// TestDeliveryEndToEnd: accepted through the API, delivered by sesame's
// MTA over SMTP to a receiver on loopback (pinned with --transport),
// arriving DKIM-signed; the recipient's state says so.
func TestDeliveryEndToEnd(t *testing.T) { eachStore(t, testDeliveryEndToEnd) }

func testDeliveryEndToEnd(t *testing.T, st string) {
	sink := smtptest.Start(t, nil)
	env := testenv.Start(t, testenv.Options{Store: st, Config: func(c *config.Config) { c.Transports = []string{"*=" + sink.Addr} }})
	env.VerifyDomain(t, nil, "", "example.com")
	out, err := env.SESv2("", nil).SendEmail(ctx, &sesv2.SendEmailInput{FromEmailAddress: aws.String("ann@example.com"),
		Destination: &types.Destination{ToAddresses: []string{"bob@example.org", "carol@example.net"}},
		Content:     &types.EmailContent{Simple: &types.Message{Subject: &types.Content{Data: aws.String("delivered")}, Body: &types.Body{Text: &types.Content{Data: aws.String("hi")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.MessageId)
	deadline := time.Now().Add(15 * time.Second)
	for len(sink.Messages()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("nothing arrived at the sink")
		}
		time.Sleep(20 * time.Millisecond)
	}
	got := sink.Messages()[0]
	if got.Line() != id+"@us-east-1.sesame.localhost>bob@example.org,carol@example.net" {
		t.Errorf("envelope %q", got.Line())
	}
	verifyDKIM(t, env, got.Data)
	for time.Now().Before(deadline) {
		m, _ := env.Admin(nil).Message(ctx, id)
		if len(m.Recipients) == 2 && m.Recipients[0].State == "delivered" && m.Recipients[1].State == "delivered" {
			if !strings.HasPrefix(m.Recipients[0].LastResponse, "250 ") {
				t.Errorf("last response %q", m.Recipients[0].LastResponse)
			}
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("recipients never marked delivered")
}
