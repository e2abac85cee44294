package submit_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	sestypes "github.com/aws/aws-sdk-go-v2/service/ses/types"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"
	"github.com/emersion/go-message/mail"

	"github.com/sesame-email/sesame/internal/apiclient"
	"github.com/sesame-email/sesame/internal/config"
	"github.com/sesame-email/sesame/internal/dkim"
	"github.com/sesame-email/sesame/internal/dnsx"
	"github.com/sesame-email/sesame/internal/sesapi"
	"github.com/sesame-email/sesame/internal/testenv"
)

var ctx = context.Background()

func devEnv(t *testing.T, st string) *testenv.Env {
	env := testenv.Start(t, testenv.Options{Store: st, Config: func(c *config.Config) { c.Dev = true }})
	env.VerifyDomain(t, nil, "", "example.com")
	return env
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return fmt.Sprint(err)
}

// captured waits for the dev worker to capture a message and returns it.
func captured(t *testing.T, env *testenv.Env, creds *apiclient.Client, id string) sesapi.MessageView {
	t.Helper()
	if creds == nil {
		creds = env.Admin(nil)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		m, err := creds.Message(ctx, id)
		if err != nil {
			t.Fatalf("message %s: %v", id, err)
		}
		if len(m.Recipients) > 0 && m.Recipients[0].State == "captured" {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("message %s never captured: %+v", id, m.Recipients)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// verifyDKIM checks a message's signature as a receiver on the Internet
// would: the customer's CNAME (in env.DNS), then sesame's DNS for the key.
func verifyDKIM(t *testing.T, env *testenv.Env, raw []byte) {
	t.Helper()
	r, _ := dnsx.New(dnsx.Options{Servers: []string{env.DNS.Addr()}})
	vs, err := dkim.Verify(ctx, raw, r.LookupTXT)
	if err != nil || len(vs) != 1 || vs[0].Err != nil || vs[0].Domain != "example.com" {
		t.Fatalf("DKIM: %+v %v", vs, err)
	}
}

func TestSendSimpleV2(t *testing.T) { eachStore(t, testSendSimpleV2) }

func testSendSimpleV2(t *testing.T, st string) {
	env := devEnv(t, st)
	out, err := env.SESv2("", nil).SendEmail(ctx, &sesv2.SendEmailInput{
		FromEmailAddress: aws.String("Ann Example <ann@example.com>"),
		Destination:      &types.Destination{ToAddresses: []string{"bob@example.org"}, CcAddresses: []string{"carol@example.net"}, BccAddresses: []string{"dave@example.net"}},
		ReplyToAddresses: []string{"replies@example.com"},
		Content: &types.EmailContent{Simple: &types.Message{
			Subject: &types.Content{Data: aws.String("こんにちは — quarterly report"), Charset: aws.String("UTF-8")},
			Body: &types.Body{
				Text: &types.Content{Data: aws.String("Grüße, Bob.\nThe report is attached.")},
				Html: &types.Content{Data: aws.String("<p>Grüße, <b>Bob</b>.</p>")},
			},
			Headers:     []types.MessageHeader{{Name: aws.String("X-Campaign"), Value: aws.String("q3")}},
			Attachments: []types.Attachment{{FileName: aws.String("report.csv"), RawContent: []byte("a,b\n1,2\n")}},
		}},
		EmailTags: []types.MessageTag{{Name: aws.String("campaign"), Value: aws.String("q3")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.MessageId)
	if len(id) != 60 || !strings.HasPrefix(id, "0100") || !strings.HasSuffix(id, "-000000") {
		t.Errorf("message id %q", id)
	}
	m := captured(t, env, nil, id)
	if m.MailFrom != id+"@us-east-1.sesame.localhost" {
		t.Errorf("envelope sender %q", m.MailFrom)
	}
	if len(m.Recipients) != 3 || !strings.Contains(m.Recipients[0].LastResponse, "dkim=pass header.d=example.com") {
		t.Errorf("recipients %+v", m.Recipients)
	}
	verifyDKIM(t, env, m.Raw)
	if bytes.Contains(m.Raw, []byte("dave@example.net")) {
		t.Error("Bcc leaked into the message")
	}
	mr, err := mail.CreateReader(bytes.NewReader(m.Raw))
	if err != nil {
		t.Fatal(err)
	}
	subj, _ := mr.Header.Subject()
	from, _ := mr.Header.AddressList("From")
	msgID, _ := mr.Header.MessageID()
	if subj != "こんにちは — quarterly report" || from[0].Address != "ann@example.com" || from[0].Name != "Ann Example" ||
		msgID != id+"@us-east-1.sesame.localhost" || mr.Header.Get("X-Campaign") != "q3" || !strings.HasPrefix(mr.Header.Get("Feedback-ID"), "1.us-east-1.") {
		t.Errorf("headers: subject %q from %v id %q", subj, from, msgID)
	}
	var text, html, attach string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(p.Body)
		switch h := p.Header.(type) {
		case *mail.InlineHeader:
			if ct, _, _ := h.ContentType(); ct == "text/html" {
				html = string(body)
			} else {
				text = string(body)
			}
		case *mail.AttachmentHeader:
			name, _ := h.Filename()
			attach = name + ":" + string(body)
		}
	}
	if text != "Grüße, Bob.\r\nThe report is attached." && text != "Grüße, Bob.\nThe report is attached." {
		t.Errorf("text %q", text)
	}
	if html != "<p>Grüße, <b>Bob</b>.</p>" || attach != "report.csv:a,b\n1,2\n" {
		t.Errorf("html %q attachment %q", html, attach)
	}
	for _, line := range bytes.Split(m.Raw, []byte("\r\n")) {
		if len(line) > 998 {
			t.Fatal("line over 998 octets")
		}
	}
	q, _ := env.SES("", nil).GetSendQuota(ctx, &ses.GetSendQuotaInput{})
	if q.SentLast24Hours != 3 {
		t.Errorf("SentLast24Hours = %v, want 3", q.SentLast24Hours)
	}
	stats, err := env.SES("", nil).GetSendStatistics(ctx, &ses.GetSendStatisticsInput{})
	if err != nil || len(stats.SendDataPoints) != 1 || stats.SendDataPoints[0].DeliveryAttempts != 3 || stats.SendDataPoints[0].Timestamp == nil {
		t.Errorf("GetSendStatistics = %+v, %v", stats, err)
	}
}

const rawMsg = "From: Ann <ann@example.com>\r\nTo: bob@example.org\r\nBcc: hidden@example.net\r\nSubject: raw\r\n" +
	"X-SES-CONFIGURATION-SET: ignored-here\r\nMessage-ID: <client@example.com>\r\nMIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b\r\n" +
	"Content-Type: application/pdf\r\nContent-Disposition: attachment; filename=x.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--b--\r\n"

func TestSendRawV2AndV1(t *testing.T) { eachStore(t, testSendRawV2AndV1) }

func testSendRawV2AndV1(t *testing.T, st string) {
	env := devEnv(t, st)
	out, err := env.SESv2("", nil).SendEmail(ctx, &sesv2.SendEmailInput{Content: &types.EmailContent{Raw: &types.RawMessage{Data: []byte(rawMsg)}}})
	if err != nil {
		t.Fatal(err)
	}
	m := captured(t, env, nil, aws.ToString(out.MessageId))
	var rcpts []string
	for _, r := range m.Recipients {
		rcpts = append(rcpts, r.Address)
	}
	if strings.Join(rcpts, ",") != "bob@example.org,hidden@example.net" {
		t.Errorf("recipients from headers: %v", rcpts)
	}
	if bytes.Contains(m.Raw, []byte("X-SES-")) || bytes.Contains(m.Raw, []byte("hidden@")) || bytes.Contains(m.Raw, []byte("<client@example.com>")) {
		t.Errorf("control headers, Bcc or the client's Message-ID survived:\n%s", m.Raw)
	}
	if !bytes.Contains(m.Raw, []byte("JVBERi0=")) {
		t.Error("attachment lost")
	}
	verifyDKIM(t, env, m.Raw)

	v1 := env.SES("", nil)
	o1, err := v1.SendRawEmail(ctx, &ses.SendRawEmailInput{RawMessage: &sestypes.RawMessage{Data: []byte(strings.ReplaceAll(rawMsg, "\r\n", "\n"))},
		Destinations: []string{"only@example.org"}})
	if err != nil {
		t.Fatal(err)
	}
	m = captured(t, env, nil, aws.ToString(o1.MessageId))
	if len(m.Recipients) != 1 || m.Recipients[0].Address != "only@example.org" {
		t.Errorf("v1 Destinations: %+v", m.Recipients)
	}
	verifyDKIM(t, env, m.Raw) // bare LF was normalized before signing
	o2, err := v1.SendEmail(ctx, &ses.SendEmailInput{Source: aws.String("ann@example.com"),
		Destination: &sestypes.Destination{ToAddresses: []string{"bob@example.org"}},
		Message:     &sestypes.Message{Subject: &sestypes.Content{Data: aws.String("v1 hello")}, Body: &sestypes.Body{Text: &sestypes.Content{Data: aws.String("hi")}}},
		Tags:        []sestypes.MessageTag{{Name: aws.String("k"), Value: aws.String("v")}}})
	if err != nil {
		t.Fatal(err)
	}
	m = captured(t, env, nil, aws.ToString(o2.MessageId))
	if m.Subject != "v1 hello" {
		t.Errorf("v1 subject %q", m.Subject)
	}
	verifyDKIM(t, env, m.Raw)
}

func TestSendRules(t *testing.T) { eachStore(t, testSendRules) }

func testSendRules(t *testing.T, st string) {
	env := devEnv(t, st)
	v2 := env.SESv2("", nil)
	v1 := env.SES("", nil)
	simple := func(from string, to ...string) *sesv2.SendEmailInput {
		return &sesv2.SendEmailInput{FromEmailAddress: aws.String(from), Destination: &types.Destination{ToAddresses: to},
			Content: &types.EmailContent{Simple: &types.Message{Subject: &types.Content{Data: aws.String("s")}, Body: &types.Body{Text: &types.Content{Data: aws.String("b")}}}}}
	}
	raw := func(s string) *sesv2.SendEmailInput {
		return &sesv2.SendEmailInput{Content: &types.EmailContent{Raw: &types.RawMessage{Data: []byte(s)}}}
	}
	many := make([]string, 51)
	for i := range many {
		many[i] = fmt.Sprintf("r%d@example.org", i)
	}
	injected := simple("ann@example.com", "bob@example.org")
	injected.Content.Simple.Subject.Data = aws.String("hi\r\nBcc: victim@example.net")
	tests := []struct {
		name  string
		input *sesv2.SendEmailInput
		code  string
		msg   string
	}{
		{"unverified sender", simple("eve@unverified.example", "bob@example.org"), "MessageRejected", "Email address is not verified. The following identities failed the check in region US-EAST-1: eve@unverified.example"},
		{"51 recipients", simple("ann@example.com", many...), "BadRequestException", "Recipient count exceeds 50"},
		{"bad recipient", simple("ann@example.com", "not-an-address"), "BadRequestException", "Illegal address"},
		{"header injection", injected, "BadRequestException", "line break"},
		{"raw without From", raw("To: a@example.org\r\nSubject: x\r\n\r\nbody\r\n"), "MessageRejected", "no From"},
		{"raw with NUL", raw("From: ann@example.com\r\nTo: a@example.org\r\n\r\nbo\x00dy\r\n"), "MessageRejected", "NUL"},
		{"raw duplicate Subject", raw("From: ann@example.com\r\nTo: a@example.org\r\nSubject: a\r\nSubject: b\r\n\r\nx\r\n"), "MessageRejected", "Duplicate header"},
		{"raw long line", raw("From: ann@example.com\r\nTo: a@example.org\r\n\r\n" + strings.Repeat("x", 1000) + "\r\n"), "MessageRejected", "998"},
		{"raw garbage header", raw("From ann@example.com\r\n\r\nx"), "MessageRejected", ""},
		{"raw forged From", raw("From: eve@evil.example\r\nTo: a@example.org\r\n\r\nx\r\n"), "MessageRejected", "eve@evil.example"},
		{"no content", &sesv2.SendEmailInput{FromEmailAddress: aws.String("ann@example.com"), Content: &types.EmailContent{}}, "BadRequestException", ""},
	}
	for _, tc := range tests {
		_, err := v2.SendEmail(ctx, tc.input)
		if apiCode(err) != tc.code || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v; want %s with %q", tc.name, err, tc.code, tc.msg)
		}
	}
	// v1 size limit is 10 MB.
	big := "From: ann@example.com\r\nTo: a@example.org\r\n\r\n" + strings.Repeat(strings.Repeat("x", 76)+"\r\n", 11<<20/78)
	_, err := v1.SendRawEmail(ctx, &ses.SendRawEmailInput{RawMessage: &sestypes.RawMessage{Data: []byte(big)}})
	if apiCode(err) != "MessageRejected" || !strings.Contains(err.Error(), "10485760") {
		t.Errorf("v1 11 MB: %v", err)
	}
	// The same 11 MB through v2 (40 MB limit) is accepted.
	if _, err := v2.SendEmail(ctx, raw(big)); err != nil {
		t.Errorf("v2 11 MB: %v", err)
	}
	_, err = v1.SendEmail(ctx, &ses.SendEmailInput{Source: aws.String("eve@unverified.example"), Destination: &sestypes.Destination{ToAddresses: []string{"a@example.org"}},
		Message: &sestypes.Message{Subject: &sestypes.Content{Data: aws.String("s")}, Body: &sestypes.Body{Text: &sestypes.Content{Data: aws.String("b")}}}})
	if apiCode(err) != "MessageRejected" {
		t.Errorf("v1 unverified: %v", err)
	}
	// Sending paused in the region.
	v2.PutAccountSendingAttributes(ctx, &sesv2.PutAccountSendingAttributesInput{SendingEnabled: false})
	if _, err := v2.SendEmail(ctx, simple("ann@example.com", "bob@example.org")); apiCode(err) != "SendingPausedException" {
		t.Errorf("paused: %v", err)
	}
	if _, err := v1.SendRawEmail(ctx, &ses.SendRawEmailInput{RawMessage: &sestypes.RawMessage{Data: []byte(rawMsg)}}); apiCode(err) != "AccountSendingPausedException" {
		t.Errorf("paused v1: %v", err)
	}
}

func TestSandboxAndQuotas(t *testing.T) { eachStore(t, testSandboxAndQuotas) }

func testSandboxAndQuotas(t *testing.T, st string) {
	env := testenv.Start(t, testenv.Options{Store: st, Config: func(c *config.Config) { c.Dev = true }})
	sb := env.NewAccount(t, "sandboxed", "sandbox")
	env.VerifyDomain(t, &sb, "", "shop.example")
	v2 := env.SESv2("", &sb)
	send := func(to string) error {
		_, err := v2.SendEmail(ctx, &sesv2.SendEmailInput{FromEmailAddress: aws.String("news@shop.example"), Destination: &types.Destination{ToAddresses: []string{to}},
			Content: &types.EmailContent{Simple: &types.Message{Subject: &types.Content{Data: aws.String("s")}, Body: &types.Body{Text: &types.Content{Data: aws.String("b")}}}}})
		return err
	}
	if err := send("stranger@example.org"); apiCode(err) != "MessageRejected" || !strings.Contains(err.Error(), "stranger@example.org") {
		t.Errorf("sandbox to an unverified recipient: %v", err)
	}
	// Simulator addresses and verified recipients are allowed; 1 message a second.
	if err := send("success@simulator.sesame.localhost"); err != nil {
		t.Fatalf("sandbox to the simulator: %v", err)
	}
	if err := send("success+x@simulator.amazonses.com"); apiCode(err) != "TooManyRequestsException" {
		t.Errorf("second message within a second: %v", err)
	}
	time.Sleep(1100 * time.Millisecond)
	if err := send("team@shop.example"); err != nil {
		t.Errorf("sandbox to a verified domain's address: %v", err)
	}
	// Daily quota: lower it to 3 recipients; 2 are used.
	three, fast := 3.0, 100.0
	if _, err := env.Admin(nil).UpdateAccount(ctx, "sandboxed", apiclient.AccountUpdate{Max24HourSend: &three, MaxSendRate: &fast}); err != nil {
		t.Fatal(err)
	}
	if err := send("team@shop.example"); err != nil {
		t.Fatalf("third recipient: %v", err)
	}
	if err := send("team@shop.example"); apiCode(err) != "LimitExceededException" || !strings.Contains(err.Error(), "Daily message quota exceeded") {
		t.Errorf("fourth recipient: %v", err)
	}
	_, err := env.SES("", &sb).SendEmail(ctx, &ses.SendEmailInput{Source: aws.String("news@shop.example"), Destination: &sestypes.Destination{ToAddresses: []string{"team@shop.example"}},
		Message: &sestypes.Message{Subject: &sestypes.Content{Data: aws.String("s")}, Body: &sestypes.Body{Text: &sestypes.Content{Data: aws.String("b")}}}})
	if apiCode(err) != "Throttling" {
		t.Errorf("v1 over quota: %v", err)
	}
	q, _ := env.SES("", &sb).GetSendQuota(ctx, &ses.GetSendQuotaInput{})
	if q.SentLast24Hours != 3 || q.Max24HourSend != 3 {
		t.Errorf("quota %+v", q)
	}
	// Another account's mail is invisible.
	list, _ := env.Admin(nil).Messages(ctx, 100)
	if len(list) != 0 {
		t.Errorf("default account sees %d messages of another account", len(list))
	}
}

func TestCustomMailFrom(t *testing.T) { eachStore(t, testCustomMailFrom) }

func testCustomMailFrom(t *testing.T, st string) {
	env := devEnv(t, st)
	v2 := env.SESv2("", nil)
	v2.PutEmailIdentityMailFromAttributes(ctx, &sesv2.PutEmailIdentityMailFromAttributesInput{EmailIdentity: aws.String("example.com"),
		MailFromDomain: aws.String("bounce.example.com"), BehaviorOnMxFailure: types.BehaviorOnMxFailureRejectMessage})
	in := &sesv2.SendEmailInput{FromEmailAddress: aws.String("ann@example.com"), Destination: &types.Destination{ToAddresses: []string{"b@example.org"}},
		Content: &types.EmailContent{Simple: &types.Message{Subject: &types.Content{Data: aws.String("s")}, Body: &types.Body{Text: &types.Content{Data: aws.String("b")}}}}}
	if _, err := v2.SendEmail(ctx, in); apiCode(err) != "MailFromDomainNotVerifiedException" {
		t.Errorf("unverified MAIL FROM with REJECT_MESSAGE: %v", err)
	}
	env.DNS.Add("bounce.example.com. 300 IN MX 10 feedback-smtp.us-east-1.sesame.localhost.", `bounce.example.com. 300 IN TXT "v=spf1 include:sesame.localhost ~all"`)
	w, _ := env.Admin(nil).WhoAmI(ctx)
	env.App.Identities().CheckNow(ctx, w.Account.AccountId, env.Region(), "example.com")
	out, err := v2.SendEmail(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	m := captured(t, env, nil, aws.ToString(out.MessageId))
	if m.MailFrom != aws.ToString(out.MessageId)+"@bounce.example.com" {
		t.Errorf("envelope sender %q", m.MailFrom)
	}
}

func TestMailboxSimulator(t *testing.T) { eachStore(t, testMailboxSimulator) }

func testMailboxSimulator(t *testing.T, st string) {
	env := devEnv(t, st)
	out, err := env.SESv2("", nil).SendEmail(ctx, &sesv2.SendEmailInput{FromEmailAddress: aws.String("ann@example.com"),
		Destination: &types.Destination{ToAddresses: []string{"success@simulator.sesame.localhost", "BOUNCE+x@simulator.amazonses.com",
			"suppressionlist@simulator.sesame.localhost", "complaint@simulator.sesame.localhost", "real@example.org"}},
		Content: &types.EmailContent{Simple: &types.Message{Subject: &types.Content{Data: aws.String("sim")}, Body: &types.Body{Text: &types.Content{Data: aws.String("b")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.MessageId)
	deadline := time.Now().Add(10 * time.Second)
	for {
		m, err := env.Admin(nil).Message(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		states := map[string]string{}
		for _, r := range m.Recipients {
			states[strings.ToLower(r.Address)] = r.State + " " + r.LastResponse
		}
		pending := 0
		for _, st := range states {
			if strings.HasPrefix(st, "queued") {
				pending++
			}
		}
		if pending == 0 { // every destination's job has finished
			want := map[string]string{
				"success@simulator.sesame.localhost":         "delivered 250",
				"bounce+x@simulator.amazonses.com":           "bounced 550 5.1.1 user unknown",
				"suppressionlist@simulator.sesame.localhost": "bounced 550 5.1.1 Amazon SES has suppressed",
				"complaint@simulator.sesame.localhost":       "delivered 250",
				"real@example.org":                           "captured",
			}
			for addr, w := range want {
				if !strings.HasPrefix(states[addr], w) {
					t.Errorf("%s: %q, want prefix %q", addr, states[addr], w)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not processed: %v", states)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
