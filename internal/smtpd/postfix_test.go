package smtpd_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesame-email/sesame/internal/sigv4"
)

// TestPostfixRelayhost runs Debian's Postfix as a client of sesame: a
// throw-away Postfix instance (its own config, queue and data dirs, no
// listener of its own) with relayhost = sesame's submission port, SASL
// PLAIN with an access key id and its SES SMTP password, and TLS required.
// A message handed to Postfix's sendmail must arrive in sesame, signed.
// This is how existing servers are connected to sesame.
func TestPostfixRelayhost(t *testing.T) {
	if _, err := exec.LookPath("postfix"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("postfix is not installed (scripts/test installs it)")
		}
		t.Skip("postfix is not installed")
	}
	if os.Geteuid() != 0 {
		t.Skip("starting a Postfix instance needs root")
	}
	env := start(t)
	_, port, _ := net.SplitHostPort(env.App.SMTPAddr())
	// Postfix's daemons run as the postfix user: every directory on the
	// way to the queue must be searchable by it (t.TempDir's are 0700).
	dir, err := os.MkdirTemp("", "sesame-postfix-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	for _, d := range []string{"etc", "queue", "data"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	if out, err := exec.Command("chown", "-R", "postfix", filepath.Join(dir, "data")).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v %s", err, out)
	}
	master, err := os.ReadFile("/etc/postfix/master.cf")
	if err != nil {
		t.Fatal(err)
	}
	// No SMTP listener: mail enters through sendmail/pickup only.
	var lines []string
	for _, l := range strings.Split(string(master), "\n") {
		if strings.HasPrefix(l, "smtp ") && strings.Contains(l, " inet ") {
			l = "#" + l
		}
		lines = append(lines, l)
	}
	os.WriteFile(filepath.Join(dir, "etc", "master.cf"), []byte(strings.Join(lines, "\n")), 0o644)
	pw := sigv4.SMTPPassword(env.Creds.SecretAccessKey, "us-east-1")
	mainCF := fmt.Sprintf(`compatibility_level = 3.6
queue_directory = %[1]s/queue
data_directory = %[1]s/data
myhostname = postfix.test
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
relayhost = [127.0.0.1]:%[2]s
smtp_sasl_auth_enable = yes
smtp_sasl_password_maps = static:%[3]s:%[4]s
smtp_sasl_security_options = noanonymous
smtp_sasl_mechanism_filter = plain, login
smtp_tls_security_level = encrypt
smtp_tls_CAfile =
maillog_file_prefixes = %[1]s
maillog_file = %[1]s/maillog
syslog_name = postfix-sesame-test
`, dir, port, env.Creds.AccessKeyID, pw)
	os.WriteFile(filepath.Join(dir, "etc", "main.cf"), []byte(mainCF), 0o644)
	pfx := func(args ...string) {
		t.Helper()
		out, err := exec.Command("postfix", append([]string{"-c", filepath.Join(dir, "etc")}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("postfix %v: %v\n%s", args, err, out)
		}
	}
	pfx("start")
	t.Cleanup(func() { exec.Command("postfix", "-c", filepath.Join(dir, "etc"), "stop").Run() })

	subject := fmt.Sprintf("via postfix %d", time.Now().UnixNano())
	cmd := exec.Command("sendmail", "-C", filepath.Join(dir, "etc"), "-f", "ann@example.com", "bob@example.org")
	cmd.Stdin = strings.NewReader("From: Ann <ann@example.com>\nTo: bob@example.org\nSubject: " + subject + "\n\nRelayed by Postfix.\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sendmail: %v\n%s", err, out)
	}
	exec.Command("postqueue", "-c", filepath.Join(dir, "etc"), "-f").Run()
	deadline := time.Now().Add(60 * time.Second)
	for {
		list, err := env.Admin(nil).Messages(ctx, 20)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range list {
			if m.Subject == subject {
				full, _ := env.Admin(nil).Message(ctx, m.MessageId)
				if !strings.Contains(string(full.Raw), "DKIM-Signature:") || full.Recipients[0].Address != "bob@example.org" {
					t.Fatalf("relayed message: %+v", full.Recipients)
				}
				return
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "maillog"))
			t.Fatalf("the message never reached sesame; Postfix log:\n%s", log)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
