package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sesame-email/sesame/internal/sigv4"
	"github.com/sesame-email/sesame/internal/testenv"
)

// run executes the CLI in-process with args and returns its output.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func TestCLIAgainstServer(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	// The CLI finds endpoint and key in the data dir, as after `sesame serve`.
	g := []string{"--data-dir", env.DataDir}

	out, err := run(t, append(g, "account", "create", "shop", "--mode", "sandbox")...)
	if err != nil || !strings.Contains(out, "shop") || !strings.Contains(out, "sandbox") {
		t.Fatalf("account create: %v\n%s", err, out)
	}
	out, err = run(t, append(g, "account", "list")...)
	if err != nil || !strings.Contains(out, "default") || !strings.Contains(out, "shop") || !strings.Contains(out, "unlimited") {
		t.Fatalf("account list: %v\n%s", err, out)
	}
	out, err = run(t, append(g, "account", "update", "shop", "--max-send-rate", "5")...)
	if err != nil || !strings.Contains(out, " 5 ") {
		t.Fatalf("account update: %v\n%s", err, out)
	}
	out, err = run(t, append(g, "keys", "create", "--account", "shop", "--description", "web")...)
	if err != nil || !strings.Contains(out, "aws_secret_access_key") {
		t.Fatalf("keys create: %v\n%s", err, out)
	}
	var id, secret string
	for _, line := range strings.Split(out, "\n") {
		k, v, _ := strings.Cut(line, "=")
		switch strings.TrimSpace(k) {
		case "aws_access_key_id":
			id = strings.TrimSpace(v)
		case "aws_secret_access_key":
			secret = strings.TrimSpace(v)
		}
	}
	if !strings.Contains(out, sigv4.SMTPPassword(secret, "us-east-1")) {
		t.Errorf("keys create did not print the SMTP password:\n%s", out)
	}
	out, err = run(t, append(g, "keys", "list", "--account", "shop")...)
	if err != nil || !strings.Contains(out, id) || strings.Contains(out, secret) {
		t.Fatalf("keys list: %v\n%s", err, out)
	}
	// The new key, from the environment, sees only its own account.
	t.Setenv("AWS_ACCESS_KEY_ID", id)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	out, err = run(t, "--endpoint", env.URL, "account", "show")
	if err != nil || !strings.Contains(out, `"Name": "shop"`) {
		t.Fatalf("account show: %v\n%s", err, out)
	}
	if _, err := run(t, "--endpoint", env.URL, "account", "create", "evil"); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Errorf("non-admin account create: %v", err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	if _, err := run(t, append(g, "keys", "delete", id)...); err != nil {
		t.Fatal(err)
	}
	out, _ = run(t, append(g, "keys", "list", "--account", "shop")...)
	if strings.Contains(out, id) {
		t.Errorf("deleted key still listed:\n%s", out)
	}
}

func TestSMTPPasswordCommand(t *testing.T) {
	t.Setenv("SESAME_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	out, err := run(t, "keys", "smtp-password", "--region", "eu-west-1")
	if err != nil || strings.TrimSpace(out) != "eu-west-1: BMW5RDrXmmVs0lV7GpI4oLkHXpZ4stDsk6q91z1g38Pk" {
		t.Errorf("smtp-password: %v %q", err, out)
	}
	out, _ = run(t, "keys", "smtp-password", "--all-regions")
	if !strings.Contains(out, "us-east-1: BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9") || !strings.Contains(out, "ap-northeast-1: BEBMrlH2tcrvRtSfkd6WbOlpfHSCPAV60ZayJ9ZqHS5c") {
		t.Errorf("--all-regions:\n%s", out)
	}
}

// TestServeBinary builds the real binary, runs `sesame serve` as the README
// says (with loopback port 0 and a temp data dir), checks it answers, and
// stops it with SIGTERM.
func TestServeBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "sesame")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	if out, err := exec.Command(bin, "version").Output(); err != nil || !strings.HasPrefix(string(out), "sesame ") {
		t.Fatalf("version: %v %q", err, out)
	}
	data := filepath.Join(dir, "data")
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "SESAME_DATA_DIR="+data, "SESAME_HTTP_ADDR=127.0.0.1:0", "SESAME_SMTP_ADDR=127.0.0.1:0",
		"SESAME_SMTPS_ADDR=127.0.0.1:0", "SESAME_MX_ADDR=127.0.0.1:0", "SESAME_DNS_ADDR=127.0.0.1:0")
	stderr, _ := cmd.StderrPipe()
	stdout := &testenv.SyncBuffer{}
	cmd.Stdout = stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	// Logs are JSON when stderr is not a terminal.
	addr := ""
	sc := bufio.NewScanner(stderr)
	deadline := time.After(30 * time.Second)
	lines := make(chan map[string]any)
	go func() {
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				lines <- m
			}
		}
		close(lines)
	}()
	for addr == "" {
		select {
		case m, ok := <-lines:
			if !ok {
				t.Fatal("serve exited early")
			}
			if m["msg"] == "sesame serving" {
				addr, _ = m["http"].(string)
			}
		case <-deadline:
			t.Fatal("serve did not start")
		}
	}
	resp, err := http.Get(addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.TrimSpace(string(body)) != "ok" {
		t.Errorf("healthz %q", body)
	}
	if !strings.Contains(stdout.String(), "aws_secret_access_key") {
		t.Errorf("first start did not print the key: %q", stdout.String())
	}
	cmd.Process.Signal(syscall.SIGTERM)
	stopped := false
	for m := range lines {
		if m["msg"] == "sesame stopped" {
			stopped = true
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("serve exit: %v", err)
	}
	if !stopped {
		t.Error("no graceful-stop log line")
	}
	st, err := os.Stat(filepath.Join(data, "credentials"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("credentials: %v %v", st, err)
	}
}
