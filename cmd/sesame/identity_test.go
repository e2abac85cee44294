package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/sesame-email/sesame/internal/config"
	"github.com/sesame-email/sesame/internal/testenv"
)

func TestIdentityCommands(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	g := []string{"--data-dir", env.DataDir, "--region", "eu-west-1"}

	out, err := run(t, append(g, "identity", "create", "shop.example", "--key-length", "RSA_1024_BIT")...)
	if err != nil {
		t.Fatalf("create: %v\n%s", err, out)
	}
	if strings.Count(out, "CNAME") != 3 || !strings.Contains(out, "_dmarc.shop.example") || !strings.Contains(out, "missing") {
		t.Fatalf("create did not print the records table:\n%s", out)
	}
	// Publish exactly what `records --format bind` says, in the customer zone.
	bind, err := run(t, append(g, "identity", "records", "shop.example", "--format", "bind")...)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(bind, "\n") {
		if strings.Contains(line, " CNAME ") {
			env.DNS.Add(line)
		}
	}
	out, err = run(t, append(g, "identity", "verify", "shop.example")...)
	if err != nil || !strings.Contains(out, "verification SUCCESS, dkim SUCCESS") {
		t.Fatalf("verify: %v\n%s", err, out)
	}
	if strings.Count(out, " found ") < 3 && strings.Count(out, "found") < 3 {
		t.Errorf("verify does not show the CNAMEs found:\n%s", out)
	}
	out, err = run(t, append(g, "identity", "show", "shop.example")...)
	if err != nil || !strings.Contains(out, "verification:  SUCCESS") || !strings.Contains(out, "dkim:          SUCCESS") {
		t.Fatalf("show: %v\n%s", err, out)
	}
	csv, _ := run(t, append(g, "identity", "records", "shop.example", "--format", "csv")...)
	if !strings.HasPrefix(csv, "Type,Name,Value,Purpose,Required,Status,Problem\n") {
		t.Errorf("csv:\n%s", csv)
	}
	out, _ = run(t, append(g, "identity", "list")...)
	if !strings.Contains(out, "shop.example") || !strings.Contains(out, "SUCCESS") {
		t.Errorf("list:\n%s", out)
	}
	// Another region has none; another account cannot see it.
	out, _ = run(t, "--data-dir", env.DataDir, "--region", "us-east-1", "identity", "list")
	if strings.Contains(out, "shop.example") {
		t.Errorf("identity leaked into another region:\n%s", out)
	}
	other := env.NewAccount(t, "other", "sandbox")
	t.Setenv("AWS_ACCESS_KEY_ID", other.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", other.SecretAccessKey)
	if _, err := run(t, "--endpoint", env.URL, "--region", "eu-west-1", "identity", "records", "shop.example"); err == nil || !strings.Contains(err.Error(), "NotFound") {
		t.Errorf("other account read the records: %v", err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	if _, err := run(t, append(g, "identity", "delete", "shop.example")...); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, append(g, "identity", "show", "shop.example")...); err == nil {
		t.Error("deleted identity still shown")
	}
	// Its keys no longer resolve in sesame's DNS.
	for _, line := range strings.Split(bind, "\n") {
		if f := strings.Fields(line); len(f) == 5 && f[3] == "CNAME" {
			q := new(dns.Msg)
			q.SetQuestion(f[4], dns.TypeTXT)
			r, err := dns.Exchange(q, env.App.DNSAddr())
			if err != nil || r.Rcode != dns.RcodeNameError {
				t.Errorf("key %s after delete: %v %v", f[4], r, err)
			}
		}
	}
}

func TestSendAndDevMessagesCommands(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Config: func(c *config.Config) { c.Dev = true }})
	env.VerifyDomain(t, nil, "", "cli.example")
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	g := []string{"--data-dir", env.DataDir}
	file := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(file, []byte("attached notes"), 0o600)
	out, err := run(t, append(g, "send", "--from", "me@cli.example", "--to", "you@example.org", "--subject", "Grüße", "--text", "hello", "--attach", file)...)
	if err != nil {
		t.Fatalf("send: %v\n%s", err, out)
	}
	id := strings.TrimSpace(out)
	if len(id) != 60 {
		t.Fatalf("message id %q", id)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err = run(t, append(g, "dev", "messages")...)
		if err == nil && strings.Contains(out, id) && strings.Contains(out, "dkim=pass header.d=cli.example") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dev messages: %v\n%s", err, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	out, err = run(t, append(g, "dev", "messages", id, "--raw")...)
	if err != nil || !strings.Contains(out, "DKIM-Signature:") || !strings.Contains(out, "notes.txt") {
		t.Fatalf("dev messages --raw: %v\n%s", err, out)
	}
	raw := filepath.Join(t.TempDir(), "m.eml")
	os.WriteFile(raw, []byte("From: me@cli.example\nTo: you@example.org\nSubject: raw\n\nbody\n"), 0o600)
	if out, err := run(t, append(g, "send", "--raw", raw)...); err != nil || len(strings.TrimSpace(out)) != 60 {
		t.Fatalf("send --raw: %v %q", err, out)
	}
	if _, err := run(t, append(g, "send", "--from", "me@unverified.example", "--to", "x@example.org", "--text", "x")...); err == nil || !strings.Contains(err.Error(), "MessageRejected") {
		t.Errorf("unverified sender: %v", err)
	}
}
