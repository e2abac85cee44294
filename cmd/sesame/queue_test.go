package main

import (
	"strings"
	"testing"
	"time"

	"github.com/sesame-email/sesame/internal/config"
	"github.com/sesame-email/sesame/internal/testenv"
)

func TestQueueCommands(t *testing.T) {
	// Every destination is a closed loopback port: mail stays deferred.
	env := testenv.Start(t, testenv.Options{Config: func(c *config.Config) { c.Transports = []string{"*=127.0.0.1:1"} }})
	env.VerifyDomain(t, nil, "", "q.example")
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	g := []string{"--data-dir", env.DataDir}
	out, err := run(t, append(g, "send", "--from", "a@q.example", "--to", "x@dest.example", "--to", "y@dest.example", "--text", "hi")...)
	if err != nil {
		t.Fatal(err)
	}
	id := strings.TrimSpace(out)
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, _ = run(t, append(g, "queue", "list")...)
		if strings.Contains(out, "dest.example") && strings.Contains(out, "4.4.1") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue list never showed the deferral:\n%s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if f := strings.Fields(strings.Split(out, "\n")[1]); f[0] != "dest.example" || f[2] != "2" {
		t.Errorf("queue list row %q: want 2 deferred", f)
	}
	for _, step := range []struct{ args, want string }{
		{"hold", "held: 2 recipient(s)"},
		{"retry", "retried: 0 recipient(s)"}, // held mail is not retried
		{"release", "released: 2 recipient(s)"},
		{"retry", "retried: "},
	} {
		out, err := run(t, append(g, "queue", step.args, id)...)
		if err != nil || !strings.Contains(out, step.want) {
			t.Errorf("queue %s: %v %q, want %q", step.args, err, out, step.want)
		}
	}
	out, err = run(t, append(g, "queue", "show", id)...)
	if err != nil || !strings.Contains(out, "x@dest.example") || !strings.Contains(out, "mail from: "+id+"@us-east-1.sesame.localhost") {
		t.Fatalf("queue show: %v\n%s", err, out)
	}
	// Another account can neither see nor touch it.
	other := env.NewAccount(t, "other", "production")
	t.Setenv("AWS_ACCESS_KEY_ID", other.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", other.SecretAccessKey)
	for _, action := range []string{"show", "hold", "delete"} {
		if _, err := run(t, "--endpoint", env.URL, "queue", action, id); err == nil || !strings.Contains(err.Error(), "NotFound") {
			t.Errorf("other account queue %s: %v", action, err)
		}
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	if _, err := run(t, append(g, "queue", "delete", id)...); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, append(g, "queue", "show", id)...); err == nil {
		t.Error("deleted message still shown")
	}
	out, _ = run(t, append(g, "queue", "list")...)
	if strings.Contains(out, "dest.example") {
		t.Errorf("deleted message still queued:\n%s", out)
	}
}
