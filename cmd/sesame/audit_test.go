package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sesame-email/sesame/internal/audit"
	"github.com/sesame-email/sesame/internal/config"
	"github.com/sesame-email/sesame/internal/testenv"
)

// TestAuditBinary builds the real binary and points it with --endpoint at
// a sesame standing in for Amazon SES (its own service domain, its own
// customer DNS), with nothing but an access key in the environment: the
// audit sees that sesame only through the SES and EC2 APIs.
func TestAuditBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "sesame")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ses := testenv.Start(t, testenv.Options{Config: func(c *config.Config) { c.Domain = "ses-standin.localhost" }})
	ses.VerifyDomain(t, nil, "", "shop.example")
	ses.DNS.Add(`_dmarc.shop.example. 300 IN TXT "v=DMARC1; p=reject; rua=mailto:d@shop.example"`)

	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + dir,
		"AWS_ACCESS_KEY_ID=" + ses.Creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + ses.Creds.SecretAccessKey,
		"AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "none"),
	}
	audit := func(args ...string) (map[string]any, string, int) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"audit", "--resolver", ses.DNS.Addr()}, args...)...)
		cmd.Env = env
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if stderr.Len() > 0 && code != 3 {
			t.Errorf("stderr is not a terminal, yet: %q", stderr.String())
		}
		var m map[string]any
		json.Unmarshal(out, &m)
		return m, string(out) + stderr.String(), code
	}

	rep, out, code := audit("--endpoint", ses.URL, "--regions", "all", "--format", "json")
	if code != 1 || rep == nil {
		t.Fatalf("exit %d (1 expected: 1024-bit keys, no MAIL FROM)\n%s", code, out)
	}
	svc := rep["service"].(map[string]any)
	if svc["domain"] != "ses-standin.localhost" || svc["kind"] != "sesame" {
		t.Errorf("service %v", svc)
	}
	regions := rep["regions"].([]any)
	if len(regions) != len(ses.Config.Regions) {
		t.Errorf("%d regions, want %d", len(regions), len(ses.Config.Regions))
	}
	found := false
	for _, r := range regions {
		for _, id := range r.(map[string]any)["identities"].([]any) {
			m := id.(map[string]any)
			if m["identity"] == "shop.example" && m["region"] == ses.Region() && m["verdict"] == "WARN" {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("shop.example not audited as WARN:\n%s", out)
	}
	for _, op := range []string{"op=DescribeRegions", "op=ListEmailIdentities", "op=GetEmailIdentity"} {
		if !strings.Contains(ses.Logs.String(), op) {
			t.Errorf("sesame served no %s", op)
		}
	}

	// The table, for one identity, one region.
	_, out, code = audit("--endpoint", ses.URL, "--regions", ses.Region(), "--identity", "shop.example")
	if code != 1 || !strings.Contains(out, "shop.example") || !strings.Contains(out, "fixes:") || !strings.Contains(out, "service: ses-standin.localhost") {
		t.Errorf("table: exit %d\n%s", code, out)
	}
	// A broken identity makes it exit 2; nothing to reach, 3.
	ses.DNS.Remove("_dmarc.shop.example", 16)
	if _, out, code = audit("--endpoint", ses.URL, "--regions", ses.Region()); code != 2 {
		t.Errorf("no DMARC: exit %d\n%s", code, out)
	}
	if _, out, code = audit("--endpoint", "http://127.0.0.1:1", "--regions", "us-east-1"); code != 3 {
		t.Errorf("unreachable endpoint: exit %d\n%s", code, out)
	}
	if _, out, code = audit("--endpoint", ses.URL, "--identity", "nobody.example"); code != 3 || !strings.Contains(out, "not found") {
		t.Errorf("unknown identity: exit %d\n%s", code, out)
	}
}

// TestAuditDataDir runs the command in-process with the data dir's key
// and endpoint, as after `sesame serve`.
func TestAuditDataDir(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	env.VerifyDomain(t, nil, "", "dd.example")
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	out, err := run(t, "--data-dir", env.DataDir, "audit", "--regions", env.Region(), "--resolver", env.DNS.Addr(), "--format", "json")
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != audit.ExitFail {
		t.Fatalf("exit %v (no DMARC: 2 expected)\n%s", err, out)
	}
	var rep audit.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Endpoint != env.URL || len(rep.Regions) != 1 || len(rep.Regions[0].Identities) != 1 || rep.Regions[0].Identities[0].Identity != "dd.example" {
		t.Errorf("report: %+v", rep)
	}
	if _, err := run(t, "--data-dir", env.DataDir, "audit", "--format", "yaml"); !errors.As(err, &ee) || ee.code != 3 {
		t.Errorf("bad format: %v", err)
	}
}
