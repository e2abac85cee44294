package feedback_test

import (
	"context"
	"errors"
	"fmt"
	"net/smtp"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	sestypes "github.com/aws/aws-sdk-go-v2/service/ses/types"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/sesame-email/sesame/internal/clock"
	"github.com/sesame-email/sesame/internal/config"
	"github.com/sesame-email/sesame/internal/sesapi"
	"github.com/sesame-email/sesame/internal/smtptest"
	"github.com/sesame-email/sesame/internal/snstest"
	"github.com/sesame-email/sesame/internal/testenv"
)

var ctx = context.Background()

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return fmt.Sprint(err)
}

func send(t *testing.T, env *testenv.Env, set string, to ...string) string {
	t.Helper()
	in := &sesv2.SendEmailInput{FromEmailAddress: aws.String("ann@example.com"), Destination: &types.Destination{ToAddresses: to},
		Content: &types.EmailContent{Simple: &types.Message{Subject: &types.Content{Data: aws.String("feedback test")}, Body: &types.Body{Text: &types.Content{Data: aws.String("hi")}}}}}
	if set != "" {
		in.ConfigurationSetName = aws.String(set)
	}
	out, err := env.SESv2("", nil).SendEmail(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.MessageId)
}

// TestBouncesAndEventDestination: one message to the simulator's bounce
// address, to a receiver that answers 550 5.1.1 and to one that answers
// 550 5.7.26. All three become Bounce events on the configuration set's
// SNS topic; only the 5.1.1 recipient is suppressed.
func TestBouncesAndEventDestination(t *testing.T) {
	unknown, strict := smtptest.Start(t, nil), smtptest.Start(t, nil)
	unknown.RcptErr["gone@unknown.test"] = &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "<gone@unknown.test>: Recipient address rejected: User unknown"}
	strict.RcptErr["ann@strict.test"] = &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 7, 26}, Message: "This mail is unauthenticated, which poses a security risk to the sender"}
	owner := smtptest.Start(t, nil) // the sender's own mail server, for forwarded feedback
	env := testenv.Start(t, testenv.Options{Config: func(c *config.Config) {
		c.Transports = []string{"unknown.test=" + unknown.Addr, "strict.test=" + strict.Addr, "example.com=" + owner.Addr}
	}})
	env.VerifyDomain(t, nil, "", "example.com")
	sub := snstest.Start(t)
	arn := snstest.Topic(t, env, "ses-events", sub)
	v2 := env.SESv2("", nil)
	if _, err := v2.CreateConfigurationSet(ctx, &sesv2.CreateConfigurationSetInput{ConfigurationSetName: aws.String("marketing")}); err != nil {
		t.Fatal(err)
	}
	if _, err := v2.CreateConfigurationSetEventDestination(ctx, &sesv2.CreateConfigurationSetEventDestinationInput{
		ConfigurationSetName: aws.String("marketing"), EventDestinationName: aws.String("to-sns"),
		EventDestination: &types.EventDestinationDefinition{Enabled: true, MatchingEventTypes: []types.EventType{types.EventTypeBounce, types.EventTypeSend},
			SnsDestination: &types.SnsDestination{TopicArn: aws.String(arn)}}}); err != nil {
		t.Fatal(err)
	}
	dests, err := v2.GetConfigurationSetEventDestinations(ctx, &sesv2.GetConfigurationSetEventDestinationsInput{ConfigurationSetName: aws.String("marketing")})
	if err != nil || len(dests.EventDestinations) != 1 || aws.ToString(dests.EventDestinations[0].SnsDestination.TopicArn) != arn || !dests.EventDestinations[0].Enabled {
		t.Fatalf("destinations = %+v, %v", dests, err)
	}
	if _, err := v2.CreateConfigurationSetEventDestination(ctx, &sesv2.CreateConfigurationSetEventDestinationInput{
		ConfigurationSetName: aws.String("marketing"), EventDestinationName: aws.String("cw"),
		EventDestination: &types.EventDestinationDefinition{Enabled: true, MatchingEventTypes: []types.EventType{types.EventTypeBounce},
			CloudWatchDestination: &types.CloudWatchDestination{DimensionConfigurations: []types.CloudWatchDimensionConfiguration{{DimensionName: aws.String("x"), DefaultDimensionValue: aws.String("y"), DimensionValueSource: types.DimensionValueSourceMessageTag}}}}}); apiCode(err) != "BadRequestException" {
		t.Errorf("a CloudWatch destination must be refused clearly: %v", err)
	}
	if _, err := v2.SendEmail(ctx, &sesv2.SendEmailInput{FromEmailAddress: aws.String("ann@example.com"), ConfigurationSetName: aws.String("nope"),
		Destination: &types.Destination{ToAddresses: []string{"x@unknown.test"}},
		Content:     &types.EmailContent{Simple: &types.Message{Subject: &types.Content{Data: aws.String("s")}, Body: &types.Body{Text: &types.Content{Data: aws.String("b")}}}}}); apiCode(err) != "NotFoundException" {
		t.Errorf("unknown configuration set: %v", err)
	}

	id := send(t, env, "marketing", "bounce@simulator.amazonses.com", "gone@unknown.test", "ann@strict.test")
	bounces := map[string]map[string]any{} // recipient → bounce object
	var send map[string]any
	snstest.WaitFor(t, "three bounced recipients at the webhook", func() bool {
		for _, m := range sub.Messages(t) {
			switch m["eventType"] {
			case "Bounce":
				b := m["bounce"].(map[string]any)
				for _, r := range b["bouncedRecipients"].([]any) {
					bounces[r.(map[string]any)["emailAddress"].(string)] = b
				}
			case "Send":
				send = m
			}
		}
		return len(bounces) == 3 && send != nil
	})
	want := map[string][3]string{ // type, subtype, status
		"bounce@simulator.amazonses.com": {"Permanent", "General", "5.1.1"},
		"gone@unknown.test":              {"Permanent", "General", "5.1.1"},
		"ann@strict.test":                {"Transient", "ContentRejected", "5.7.26"},
	}
	for addr, w := range want {
		b := bounces[addr]
		r := b["bouncedRecipients"].([]any)[0].(map[string]any)
		if b["bounceType"] != w[0] || b["bounceSubType"] != w[1] || r["status"] != w[2] || r["action"] != "failed" ||
			!strings.HasPrefix(r["diagnosticCode"].(string), "smtp; 550 "+w[2]) || len(b["feedbackId"].(string)) != 60 || b["timestamp"] == nil {
			t.Errorf("%s: bounce %v", addr, b)
		}
	}
	if ip := bounces["gone@unknown.test"]["remoteMtaIp"]; ip != "127.0.0.1" {
		t.Errorf("remoteMtaIp %v", ip)
	}
	mail := send["mail"].(map[string]any)
	tags := mail["tags"].(map[string]any)
	if mail["messageId"] != id || mail["source"] != "ann@example.com" || len(mail["destination"].([]any)) != 3 ||
		fmt.Sprint(tags["ses:configuration-set"]) != "[marketing]" || mail["commonHeaders"].(map[string]any)["subject"] != "feedback test" {
		t.Errorf("mail object %v", mail)
	}
	// Only the address that does not exist is suppressed.
	if got, err := v2.GetSuppressedDestination(ctx, &sesv2.GetSuppressedDestinationInput{EmailAddress: aws.String("gone@unknown.test")}); err != nil ||
		got.SuppressedDestination.Reason != types.SuppressionListReasonBounce || aws.ToString(got.SuppressedDestination.Attributes.MessageId) != id {
		t.Errorf("gone@unknown.test: %+v, %v", got, err)
	}
	for _, addr := range []string{"ann@strict.test", "bounce@simulator.amazonses.com"} {
		if _, err := v2.GetSuppressedDestination(ctx, &sesv2.GetSuppressedDestinationInput{EmailAddress: aws.String(addr)}); apiCode(err) != "NotFoundException" {
			t.Errorf("%s must not be suppressed: %v", addr, err)
		}
	}
	stats, err := env.SES("", nil).GetSendStatistics(ctx, &ses.GetSendStatisticsInput{})
	bounced, attempts := int64(0), int64(0)
	for _, p := range stats.SendDataPoints {
		bounced += p.Bounces
		attempts += p.DeliveryAttempts
	}
	if err != nil || bounced != 3 || attempts != 3 {
		t.Errorf("statistics: %d bounces, %d attempts, %v", bounced, attempts, err)
	}
	// Feedback forwarding (on by default) mails the sender a DSN per bounce,
	// from a null envelope sender.
	snstest.WaitFor(t, "three forwarded notices", func() bool { return len(owner.Messages()) == 3 })
	var forwarded string
	for _, m := range owner.Messages() {
		if m.From != "" || len(m.To) != 1 || m.To[0] != "ann@example.com" || !strings.Contains(string(m.Data), "report-type=delivery-status") {
			t.Errorf("forwarded notice: from %q to %v", m.From, m.To)
		}
		forwarded += string(m.Data)
	}
	if !strings.Contains(forwarded, "Final-Recipient: rfc822; gone@unknown.test\r\nAction: failed\r\nStatus: 5.1.1") || !strings.Contains(forwarded, id) {
		t.Errorf("forwarded notices lack the DSN fields:\n%s", forwarded)
	}
	// Every attempt is visible to the operator.
	var notes []sesapi.NotificationView
	snstest.WaitFor(t, "every notification delivered", func() bool {
		notes, err = env.Admin(nil).Notifications(ctx, arn, 100)
		for _, n := range notes {
			if n.State != "delivered" {
				return false
			}
		}
		return err == nil && len(notes) >= 4
	})
	for _, n := range notes {
		if n.State != "delivered" || n.Attempts != 1 || n.LastResult != "200 OK" {
			t.Errorf("notification %+v", n)
		}
	}
}

// mailTo delivers raw to the MX listener with a null sender, as a
// reporting MTA does; it returns the server's error, if any.
func mailTo(t *testing.T, addr, rcpt string, raw []byte) error {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("mx.example.org"); err != nil {
		return err
	}
	if err := c.Mail(""); err != nil {
		return err
	}
	if err := c.Rcpt(rcpt); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	w.Write(raw)
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

func fixture(t *testing.T, name, id, rcpt string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ReplaceAll(string(b), "0100018d0c9e3f41-7b1f2c3a-5d4e-4f60-8a9b-0c1d2e3f4a5b-000000", id)
	s = strings.ReplaceAll(s, "gone@example.org", rcpt)
	s = strings.ReplaceAll(s, "angry@example.org", rcpt)
	return []byte(s)
}

// TestReportsOverMX: a real DSN and a real ARF report, mailed to a
// message's VERP address at the MX listener, become Bounce and Complaint
// identity notifications (v1 topics) for the right recipients; the
// simulator's complaint takes the same path; everything else is refused.
func TestReportsOverMX(t *testing.T) {
	sink := smtptest.Start(t, nil)
	env := testenv.Start(t, testenv.Options{Config: func(c *config.Config) { c.Transports = []string{"remote.test=" + sink.Addr} }})
	env.VerifyDomain(t, nil, "", "example.com")
	sub := snstest.Start(t)
	arn := snstest.Topic(t, env, "feedback", sub)
	v1 := env.SES("", nil)
	for _, typ := range []string{"Bounce", "Complaint"} {
		if _, err := v1.SetIdentityNotificationTopic(ctx, &ses.SetIdentityNotificationTopicInput{Identity: aws.String("example.com"),
			NotificationType: sestypes.NotificationType(typ), SnsTopic: aws.String(arn)}); err != nil {
			t.Fatal(err)
		}
	}
	attrs, err := v1.GetIdentityNotificationAttributes(ctx, &ses.GetIdentityNotificationAttributesInput{Identities: []string{"example.com", "unknown.example"}})
	if err != nil || len(attrs.NotificationAttributes) != 1 || aws.ToString(attrs.NotificationAttributes["example.com"].BounceTopic) != arn ||
		aws.ToString(attrs.NotificationAttributes["example.com"].DeliveryTopic) != "" {
		t.Fatalf("notification attributes = %+v, %v", attrs, err)
	}

	id := send(t, env, "", "x@remote.test", "y@remote.test")
	snstest.WaitFor(t, "delivery to the sink", func() bool { return len(sink.Messages()) == 1 })
	verp := sink.Messages()[0].From
	if !strings.HasPrefix(verp, id+"@") {
		t.Fatalf("envelope sender %q is not the message's VERP address", verp)
	}
	mx := env.App.MXAddr()

	// Refused: a foreign address, an unknown message id, a malformed report.
	for _, rcpt := range []string{"someone@example.org", "0100018d0c9e3f41-7b1f2c3a-5d4e-4f60-8a9b-0c1d2e3f4a5b-000000@us-east-1.sesame.localhost"} {
		if err := mailTo(t, mx, rcpt, []byte("Subject: x\r\n\r\nx\r\n")); err == nil || !strings.Contains(err.Error(), "550") {
			t.Errorf("RCPT %s: %v, want 550 (never an open relay)", rcpt, err)
		}
	}
	broken := "Content-Type: multipart/report; report-type=delivery-status; boundary=\"x\r\nbroken\r\n"
	if err := mailTo(t, mx, verp, []byte(broken)); err == nil || !strings.Contains(err.Error(), "554") {
		t.Errorf("malformed report: %v, want 554", err)
	}
	// Taken and dropped: an auto-reply to the envelope sender.
	if err := mailTo(t, mx, verp, []byte("From: y@remote.test\r\nSubject: Out of office\r\n\r\nBack Monday.\r\n")); err != nil {
		t.Errorf("auto-reply: %v", err)
	}

	if err := mailTo(t, mx, verp, fixture(t, "dsn-postfix.eml", id, "y@remote.test")); err != nil {
		t.Fatalf("DSN: %v", err)
	}
	if err := mailTo(t, mx, verp, fixture(t, "arf.eml", id, "x@remote.test")); err != nil {
		t.Fatalf("ARF: %v", err)
	}
	simID := send(t, env, "", "complaint@simulator.amazonses.com")

	var bounce, complaint, simComplaint map[string]any
	snstest.WaitFor(t, "the bounce and both complaints at the webhook", func() bool {
		for _, m := range sub.Messages(t) {
			mail := m["mail"].(map[string]any)
			switch {
			case m["notificationType"] == "Bounce" && mail["messageId"] == id:
				bounce = m
			case m["notificationType"] == "Complaint" && mail["messageId"] == id:
				complaint = m
			case m["notificationType"] == "Complaint" && mail["messageId"] == simID:
				simComplaint = m
			}
		}
		return bounce != nil && complaint != nil && simComplaint != nil
	})
	b := bounce["bounce"].(map[string]any)
	r := b["bouncedRecipients"].([]any)[0].(map[string]any)
	if len(b["bouncedRecipients"].([]any)) != 1 || r["emailAddress"] != "y@remote.test" || r["status"] != "5.1.1" || b["bounceType"] != "Permanent" ||
		b["reportingMTA"] != "dns; mx.example.org" || bounce["eventType"] != nil {
		t.Errorf("bounce notification %v", bounce)
	}
	if _, ok := bounce["mail"].(map[string]any)["headers"]; ok {
		t.Errorf("headers in a notification whose identity did not ask for them")
	}
	c := complaint["complaint"].(map[string]any)
	if cr := c["complainedRecipients"].([]any); len(cr) != 1 || cr[0].(map[string]any)["emailAddress"] != "x@remote.test" ||
		c["complaintFeedbackType"] != "abuse" || c["userAgent"] != "SomeGenerator/1.0" || c["complaintSubType"] != nil {
		t.Errorf("complaint notification %v", complaint)
	}
	sc := simComplaint["complaint"].(map[string]any)
	if sc["userAgent"] != "Amazon SES Mailbox Simulator" || sc["complaintFeedbackType"] != "abuse" {
		t.Errorf("simulator complaint %v", sc)
	}
	v2 := env.SESv2("", nil)
	for addr, reason := range map[string]types.SuppressionListReason{"y@remote.test": types.SuppressionListReasonBounce, "x@remote.test": types.SuppressionListReasonComplaint} {
		got, err := v2.GetSuppressedDestination(ctx, &sesv2.GetSuppressedDestinationInput{EmailAddress: aws.String(addr)})
		if err != nil || got.SuppressedDestination.Reason != reason {
			t.Errorf("%s: %+v, %v", addr, got, err)
		}
	}
	if _, err := v2.GetSuppressedDestination(ctx, &sesv2.GetSuppressedDestinationInput{EmailAddress: aws.String("complaint@simulator.amazonses.com")}); apiCode(err) != "NotFoundException" {
		t.Errorf("simulator address suppressed: %v", err)
	}
	// The next send skips them, with the SES subtype.
	next := send(t, env, "", "x@remote.test")
	snstest.WaitFor(t, "the OnAccountSuppressionList bounce", func() bool {
		evs, _ := env.Admin(nil).Events(ctx, next, 10)
		for _, e := range evs {
			if e.Type == "Bounce" && strings.Contains(string(e.Event), `"bounceSubType":"OnAccountSuppressionList"`) {
				return true
			}
		}
		return false
	})
	if _, err := v2.GetAccount(ctx, &sesv2.GetAccountInput{}); err != nil {
		t.Errorf("server unwell after hostile reports: %v", err)
	}
}

// TestWebhookRetriesAndSlowSubscriber: a subscriber that fails gets the
// notification later, with the same MessageId; one that hangs does not
// hold up sending.
func TestWebhookRetriesAndSlowSubscriber(t *testing.T) {
	clk := clock.NewFake(time.Now())
	env := testenv.Start(t, testenv.Options{Clock: clk, AuthClock: clock.System{}, Config: func(c *config.Config) { c.Dev = true }})
	env.VerifyDomain(t, nil, "", "example.com")
	down := snstest.Start(t)
	arn := snstest.Topic(t, env, "deliveries", down)
	v2 := env.SESv2("", nil)
	if _, err := v2.CreateConfigurationSet(ctx, &sesv2.CreateConfigurationSetInput{ConfigurationSetName: aws.String("cs")}); err != nil {
		t.Fatal(err)
	}
	if _, err := v2.CreateConfigurationSetEventDestination(ctx, &sesv2.CreateConfigurationSetEventDestinationInput{
		ConfigurationSetName: aws.String("cs"), EventDestinationName: aws.String("d"),
		EventDestination: &types.EventDestinationDefinition{Enabled: true, MatchingEventTypes: []types.EventType{types.EventTypeSend},
			SnsDestination: &types.SnsDestination{TopicArn: aws.String(arn)}}}); err != nil {
		t.Fatal(err)
	}

	// Down: the first two attempts fail; time moves on; the third lands.
	down.Mu.Lock()
	down.FailNext = 2
	down.Mu.Unlock()
	id := send(t, env, "cs", "success@simulator.amazonses.com")
	attempts := func() (int, string) {
		ns, _ := env.Admin(nil).Notifications(ctx, arn, 10)
		for _, n := range ns {
			if n.Type == "Notification" {
				return n.Attempts, n.State + " " + n.LastResult
			}
		}
		return 0, ""
	}
	snstest.WaitFor(t, "the first failed attempt", func() bool { n, _ := attempts(); return n == 1 })
	if n, st := attempts(); st != "pending 500 Internal Server Error" {
		t.Errorf("after a failure: %d %q", n, st)
	}
	for i := 0; i < 2; i++ {
		clk.Advance(10 * time.Minute)
		snstest.WaitFor(t, "a retry", func() bool { n, _ := attempts(); return n == i+2 })
	}
	if n, st := attempts(); n != 3 || st != "delivered 200 OK" {
		t.Errorf("after retries: %d %q", n, st)
	}
	msgs := down.Messages(t)
	if len(msgs) != 1 || msgs[0]["mail"].(map[string]any)["messageId"] != id {
		t.Fatalf("subscriber got %v", msgs)
	}

	// Hanging: the subscriber holds every notification; sends still
	// complete, and the notifications arrive once it lets go.
	hold := make(chan struct{})
	down.Mu.Lock()
	down.Hold = hold
	down.Mu.Unlock()
	var sent []string
	for i := 0; i < 20; i++ {
		sent = append(sent, send(t, env, "cs", "success@simulator.amazonses.com"))
	}
	down.Mu.Lock()
	seen, got := down.Seen, len(down.Got)
	down.Mu.Unlock()
	if got != 1 {
		t.Errorf("notifications completed while the subscriber hangs: %d", got-1)
	}
	close(hold)
	snstest.WaitFor(t, "all 21 notifications", func() bool { return len(down.Messages(t)) == 21 })
	t.Logf("20 sends completed while the subscriber held %d requests", seen-3)
}

// TestSuppressionSettings: PutAccountSuppressionAttributes and a
// configuration set's SuppressionOptions decide what is added
// automatically and what a send skips.
func TestSuppressionSettings(t *testing.T) {
	unknown := smtptest.Start(t, nil)
	for _, a := range []string{"a@unknown.test", "b@unknown.test"} {
		unknown.RcptErr[a] = &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	env := testenv.Start(t, testenv.Options{Config: func(c *config.Config) { c.Transports = []string{"unknown.test=" + unknown.Addr} }})
	env.VerifyDomain(t, nil, "", "example.com")
	v2 := env.SESv2("", nil)
	acct, err := v2.GetAccount(ctx, &sesv2.GetAccountInput{})
	if err != nil || fmt.Sprint(acct.SuppressionAttributes.SuppressedReasons) != "[BOUNCE COMPLAINT]" {
		t.Fatalf("default reasons: %+v, %v", acct.SuppressionAttributes, err)
	}
	if _, err := v2.PutAccountSuppressionAttributes(ctx, &sesv2.PutAccountSuppressionAttributesInput{SuppressedReasons: []types.SuppressionListReason{types.SuppressionListReasonComplaint}}); err != nil {
		t.Fatal(err)
	}
	if acct, _ = v2.GetAccount(ctx, &sesv2.GetAccountInput{}); fmt.Sprint(acct.SuppressionAttributes.SuppressedReasons) != "[COMPLAINT]" {
		t.Errorf("reasons after put: %v", acct.SuppressionAttributes.SuppressedReasons)
	}
	// Bounces no longer suppress at the account level…
	id := send(t, env, "", "a@unknown.test")
	snstest.WaitFor(t, "the bounce event", func() bool { evs, _ := env.Admin(nil).Events(ctx, id, 10); return len(evs) > 0 })
	if _, err := v2.GetSuppressedDestination(ctx, &sesv2.GetSuppressedDestinationInput{EmailAddress: aws.String("a@unknown.test")}); apiCode(err) != "NotFoundException" {
		t.Errorf("a@ suppressed although BOUNCE is off: %v", err)
	}
	// …but a configuration set that asks for them overrides the account.
	if _, err := v2.CreateConfigurationSet(ctx, &sesv2.CreateConfigurationSetInput{ConfigurationSetName: aws.String("strict"),
		SuppressionOptions: &types.SuppressionOptions{SuppressedReasons: []types.SuppressionListReason{types.SuppressionListReasonBounce}}}); err != nil {
		t.Fatal(err)
	}
	id = send(t, env, "strict", "b@unknown.test")
	snstest.WaitFor(t, "b@ suppressed", func() bool {
		_, err := v2.GetSuppressedDestination(ctx, &sesv2.GetSuppressedDestinationInput{EmailAddress: aws.String("b@unknown.test")})
		return err == nil
	})
	got, err := v2.GetConfigurationSet(ctx, &sesv2.GetConfigurationSetInput{ConfigurationSetName: aws.String("strict")})
	if err != nil || fmt.Sprint(got.SuppressionOptions.SuppressedReasons) != "[BOUNCE]" || !got.SendingOptions.SendingEnabled {
		t.Errorf("get set: %+v, %v", got, err)
	}
	if _, err := v2.PutConfigurationSetSendingOptions(ctx, &sesv2.PutConfigurationSetSendingOptionsInput{ConfigurationSetName: aws.String("strict"), SendingEnabled: false}); err != nil {
		t.Fatal(err)
	}
	if _, err := v2.SendEmail(ctx, &sesv2.SendEmailInput{FromEmailAddress: aws.String("ann@example.com"), ConfigurationSetName: aws.String("strict"),
		Destination: &types.Destination{ToAddresses: []string{"x@example.org"}},
		Content:     &types.EmailContent{Simple: &types.Message{Subject: &types.Content{Data: aws.String("s")}, Body: &types.Body{Text: &types.Content{Data: aws.String("b")}}}}}); apiCode(err) != "SendingPausedException" {
		t.Errorf("paused set: %v", err)
	}
	// v1 sees the same sets.
	v1 := env.SES("", nil)
	list, err := v1.ListConfigurationSets(ctx, &ses.ListConfigurationSetsInput{})
	if err != nil || len(list.ConfigurationSets) != 1 || aws.ToString(list.ConfigurationSets[0].Name) != "strict" {
		t.Errorf("v1 list: %+v, %v", list, err)
	}
	if _, err := v1.DescribeConfigurationSet(ctx, &ses.DescribeConfigurationSetInput{ConfigurationSetName: aws.String("nope")}); apiCode(err) != "ConfigurationSetDoesNotExist" {
		t.Errorf("v1 describe missing: %v", err)
	}
	if _, err := v2.DeleteConfigurationSet(ctx, &sesv2.DeleteConfigurationSetInput{ConfigurationSetName: aws.String("strict")}); err != nil {
		t.Fatal(err)
	}
	if _, err := v2.GetConfigurationSet(ctx, &sesv2.GetConfigurationSetInput{ConfigurationSetName: aws.String("strict")}); apiCode(err) != "NotFoundException" {
		t.Errorf("deleted set: %v", err)
	}
}
