package smtpd_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/smtp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/sesame-email/sesame/internal/config"
	"github.com/sesame-email/sesame/internal/smtpd"
	"github.com/sesame-email/sesame/internal/testenv"
)

var ctx = context.Background()

// password is the SES SMTP password computed independently of sigv4, from
// the algorithm in the reference (§4): a second implementation.
func password(t testing.TB, secret, region string) string {
	t.Helper()
	mac := func(key []byte, msg string) []byte { return hmacSHA256(key, msg) }
	k := mac([]byte("AWS4"+secret), "11111111")
	for _, m := range []string{region, "ses", "aws4_request", "SendRawEmail"} {
		k = mac(k, m)
	}
	return base64.StdEncoding.EncodeToString(append([]byte{4}, k...))
}

func TestIndependentPasswordMatchesVector(t *testing.T) {
	if got := password(t, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1"); got != "BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9" {
		t.Fatalf("independent derivation %s", got)
	}
}

func start(t *testing.T) *testenv.Env {
	env := testenv.Start(t, testenv.Options{Config: func(c *config.Config) { c.Dev = true }})
	env.VerifyDomain(t, nil, "", "example.com")
	return env
}

var insecure = &tls.Config{InsecureSkipVerify: true} // the self-signed certificate

const msg = "From: Ann <ann@example.com>\r\nTo: bob@example.org\r\nSubject: over SMTP\r\n" +
	"X-SES-MESSAGE-TAGS: campaign=jan, team=growth\r\n\r\nHello over SMTP.\r\n"

// dial connects to submission with STARTTLS and authenticates.
func dial(t *testing.T, env *testenv.Env, auth sasl.Client) (*gosmtp.Client, error) {
	t.Helper()
	c, err := gosmtp.DialStartTLS(env.App.SMTPAddr(), insecure)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if auth != nil {
		if err := c.Auth(auth); err != nil {
			return c, err
		}
	}
	return c, nil
}

func send(c *gosmtp.Client, from string, to []string, body string) (string, error) {
	if err := c.Mail(from, nil); err != nil {
		return "", err
	}
	for _, r := range to {
		if err := c.Rcpt(r, nil); err != nil {
			return "", err
		}
	}
	w, err := c.Data()
	if err != nil {
		return "", err
	}
	if _, err := w.Write([]byte(body)); err != nil {
		return "", err
	}
	resp, err := w.CloseWithResponse()
	if err != nil {
		return "", err
	}
	return resp.StatusText, nil
}

func code(err error) int {
	var se *gosmtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

func TestSubmissionPlainAndLogin(t *testing.T) {
	env := start(t)
	pw := password(t, env.Creds.SecretAccessKey, "us-east-1")
	for _, auth := range []sasl.Client{sasl.NewPlainClient("", env.Creds.AccessKeyID, pw), sasl.NewLoginClient(env.Creds.AccessKeyID, pw)} {
		c, err := dial(t, env, auth)
		if err != nil {
			t.Fatalf("auth: %v", err)
		}
		text, err := send(c, "ann@example.com", []string{"bob@example.org"}, msg)
		if err != nil {
			t.Fatal(err)
		}
		id := strings.TrimPrefix(text, "2.0.0 Ok ")
		if len(id) != 60 {
			t.Fatalf("250 reply %q does not carry the message id", text)
		}
		m, err := env.Admin(nil).Message(ctx, id)
		if err != nil {
			t.Fatalf("message %s not queued: %v", id, err)
		}
		if !strings.Contains(string(m.Raw), "DKIM-Signature:") || strings.Contains(string(m.Raw), "X-SES-MESSAGE-TAGS") {
			t.Errorf("not signed, or control header kept:\n%s", m.Raw)
		}
	}
	// Implicit TLS, with a password derived for another region: the
	// message lands in that region.
	conn, err := tls.Dial("tcp", env.App.SMTPSAddr(), insecure)
	if err != nil {
		t.Fatal(err)
	}
	c := gosmtp.NewClient(conn)
	defer c.Close()
	env.VerifyDomain(t, nil, "eu-west-1", "example.com")
	if err := c.Auth(sasl.NewPlainClient("", env.Creds.AccessKeyID, password(t, env.Creds.SecretAccessKey, "eu-west-1"))); err != nil {
		t.Fatal(err)
	}
	text, err := send(c, "ann@example.com", []string{"bob@example.org"}, msg)
	if err != nil || !strings.HasPrefix(text, "2.0.0 Ok 0102") {
		t.Fatalf("eu-west-1 via implicit TLS: %q %v", text, err)
	}
}

func TestSubmissionRefusals(t *testing.T) {
	env := start(t)
	pw := password(t, env.Creds.SecretAccessKey, "us-east-1")

	// Before TLS: no AUTH advertised, AUTH refused, MAIL needs AUTH.
	plain, err := gosmtp.Dial(env.App.SMTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	plain.Hello("client.test")
	if ok, _ := plain.Extension("AUTH"); ok {
		t.Error("AUTH advertised before TLS")
	}
	if err := plain.Auth(sasl.NewPlainClient("", env.Creds.AccessKeyID, pw)); code(err) != 523 && code(err) != 530 && code(err) != 538 {
		t.Errorf("AUTH before TLS: %v", err)
	}
	if err := plain.Mail("ann@example.com", nil); code(err) != 530 {
		t.Errorf("MAIL without AUTH: %v", err)
	}

	if _, err := dial(t, env, sasl.NewPlainClient("", env.Creds.AccessKeyID, "wrong")); code(err) != 535 || !strings.Contains(err.Error(), "Authentication Credentials Invalid") {
		t.Errorf("wrong password: %v", err)
	}
	c, err := dial(t, env, sasl.NewPlainClient("", env.Creds.AccessKeyID, pw))
	if err != nil {
		t.Fatal(err)
	}
	_, err = send(c, "eve@unverified.example", []string{"bob@example.org"}, strings.Replace(msg, "ann@example.com", "eve@unverified.example", 1))
	if code(err) != 554 || !strings.Contains(err.Error(), "Message rejected: Email address is not verified. The following identities failed the check in region US-EAST-1: eve@unverified.example") {
		t.Errorf("unverified From: %v", err)
	}
	c.Reset()
	if err := c.Mail("ann@example.com", nil); err != nil {
		t.Fatal(err)
	}
	var rcptErr error
	for i := range 51 {
		if rcptErr = c.Rcpt(fmt.Sprintf("r%d@example.org", i), nil); rcptErr != nil {
			if i != 50 {
				t.Fatalf("recipient %d refused: %v", i+1, rcptErr)
			}
		}
	}
	if code(rcptErr) != 452 {
		t.Errorf("51st recipient: %v", rcptErr)
	}
	c.Reset()
	// SIZE= over 40 MB is refused at MAIL FROM; a body over it at DATA.
	if err := c.Mail("ann@example.com", &gosmtp.MailOptions{Size: 41 << 20}); code(err) != 552 {
		t.Errorf("SIZE=41MB: %v", err)
	}
	c.Reset()
	big := "From: ann@example.com\r\nTo: bob@example.org\r\n\r\n" + strings.Repeat(strings.Repeat("y", 998)+"\r\n", 41<<20/1000)
	if _, err := send(c, "ann@example.com", []string{"bob@example.org"}, big); code(err) != 552 {
		t.Errorf("41 MB body: %v", err)
	}
	c2, _ := dial(t, env, sasl.NewPlainClient("", env.Creds.AccessKeyID, pw))
	_, err = send(c2, "ann@example.com", []string{"bob@example.org"}, "X-SES-CONFIGURATION-SET: nosuchset\r\n"+msg)
	if code(err) != 554 || !strings.Contains(err.Error(), "nosuchset") {
		t.Errorf("unknown configuration set: %v", err)
	}
	c2.Reset()
	_, err = send(c2, "ann@example.com", []string{"bob@example.org"}, strings.Replace(msg, "campaign=jan", "camp aign=jan!", 1))
	if code(err) != 554 {
		t.Errorf("bad message tags: %v", err)
	}
}

func TestAuthFailuresAreThrottled(t *testing.T) {
	env := start(t)
	var last error
	for range 7 {
		_, last = dial(t, env, sasl.NewPlainClient("", env.Creds.AccessKeyID, "wrong"))
	}
	if code(last) != 454 {
		t.Errorf("after 7 failures: %v", last)
	}
	// Even the right password waits now.
	_, err := dial(t, env, sasl.NewPlainClient("", env.Creds.AccessKeyID, password(t, env.Creds.SecretAccessKey, "us-east-1")))
	if code(err) != 454 {
		t.Errorf("throttled client with the right password: %v", err)
	}
}

func TestHostileClient(t *testing.T) {
	env := start(t)
	raw := func(lines ...string) string {
		conn, err := net.Dial("tcp", env.App.SMTPAddr())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		for _, l := range lines {
			conn.Write([]byte(l))
		}
		var out strings.Builder
		br := bufio.NewReader(conn)
		for {
			line, err := br.ReadString('\n')
			out.WriteString(line)
			if err != nil {
				return out.String()
			}
		}
	}
	// Pipelined garbage, NUL bytes and a 100 kB line: errors, then the server goes on.
	got := raw("EHLO x\r\nGARBAGE\r\nMAIL\x00FROM:<a@b>\r\n" + strings.Repeat("A", 100_000) + "\r\nQUIT\r\n")
	if !strings.HasPrefix(got, "220 ") || !strings.Contains(got, "500") {
		t.Errorf("garbage session:\n%.500s", got)
	}
	// An idle connection is closed by the server (here after 200 ms).
	idle := smtpd.NewSubmission(smtpd.Config{Regions: []string{"us-east-1"}, Hostname: "idle.test", TLS: insecure,
		Logger: slog.New(slog.DiscardHandler), IdleTimeout: 200 * time.Millisecond})
	addr, err := idle.Listen("127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Shutdown(ctx)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	rest, _ := io.ReadAll(conn) // the greeting, then EOF when the server hangs up
	if !strings.HasPrefix(string(rest), "220 ") || time.Since(start) > 3*time.Second {
		t.Errorf("idle connection: %q after %v", rest, time.Since(start))
	}
	// A client that keeps talking is still cut off at the session limit.
	capped := smtpd.NewSubmission(smtpd.Config{Regions: []string{"us-east-1"}, Hostname: "cap.test", TLS: insecure,
		Logger: slog.New(slog.DiscardHandler), IdleTimeout: time.Second, SessionTimeout: 500 * time.Millisecond})
	capAddr, err := capped.Listen("127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	defer capped.Shutdown(ctx)
	chatty, err := net.Dial("tcp", capAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer chatty.Close()
	start = time.Now()
	closed := false
	buf := make([]byte, 4096)
	for time.Since(start) < 5*time.Second {
		chatty.Write([]byte("NOOP\r\n"))
		chatty.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if _, err := chatty.Read(buf); err != nil && !isTimeout(err) {
			closed = true
			break
		}
	}
	if !closed || time.Since(start) > 3*time.Second {
		t.Errorf("chatty session not ended by the cap (closed %v after %v)", closed, time.Since(start))
	}
	// The server still serves others.
	c, err := dial(t, env, sasl.NewPlainClient("", env.Creds.AccessKeyID, password(t, env.Creds.SecretAccessKey, "us-east-1")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := send(c, "ann@example.com", []string{"bob@example.org"}, msg); err != nil {
		t.Errorf("after hostile clients: %v", err)
	}
}

func TestNetSMTPClient(t *testing.T) {
	// The standard library client (what many apps use) with STARTTLS and PLAIN.
	env := start(t)
	c, err := smtp.Dial(env.App.SMTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.StartTLS(&tls.Config{InsecureSkipVerify: true, ServerName: "sesame.test"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Auth(smtp.PlainAuth("", env.Creds.AccessKeyID, password(t, env.Creds.SecretAccessKey, "us-east-1"), "127.0.0.1")); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("ann@example.com"); err != nil {
		t.Fatal(err)
	}
	c.Rcpt("bob@example.org")
	w, _ := c.Data()
	w.Write([]byte(msg))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
