package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sesame-email/sesame/internal/testenv"
)

func TestSuppressionCommands(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	g := []string{"--data-dir", env.DataDir}
	csvIn := filepath.Join(t.TempDir(), "in.csv")
	os.WriteFile(csvIn, []byte("address,reason\r\nGone@Example.org,bounce\r\nangry@example.org,COMPLAINT\r\nplain@example.org\r\n"), 0o600)
	for _, step := range []struct {
		args []string
		want string
	}{
		{[]string{"suppression", "import", csvIn}, "imported 3 address(es)"},
		{[]string{"suppression", "add", "--reason", "complaint", "x@example.org"}, "added 1 address(es)"},
		{[]string{"suppression", "list", "--reason", "COMPLAINT"}, "angry@example.org"},
		{[]string{"suppression", "remove", "plain@example.org"}, "removed 1 address(es)"},
	} {
		out, err := run(t, append(g, step.args...)...)
		if err != nil || !strings.Contains(out, step.want) {
			t.Fatalf("%v: %v %q, want %q", step.args, err, out, step.want)
		}
	}
	out, err := run(t, append(g, "suppression", "export")...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if err != nil || len(lines) != 4 || lines[0] != "address,reason,last_update" || !strings.HasPrefix(lines[2], "gone@example.org,BOUNCE,") ||
		!strings.HasPrefix(lines[1], "angry@example.org,COMPLAINT,") || !strings.HasPrefix(lines[3], "x@example.org,COMPLAINT,") {
		t.Errorf("export: %v\n%s", err, out)
	}
	bad := filepath.Join(t.TempDir(), "bad.csv")
	os.WriteFile(bad, []byte("ok@example.org\nnot an address\n"), 0o600)
	if _, err := run(t, append(g, "suppression", "import", bad)...); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad import: %v", err)
	}
	if _, err := run(t, append(g, "suppression", "remove", "nobody@example.org")...); err == nil || !strings.Contains(err.Error(), "NotFound") {
		t.Errorf("remove absent: %v", err)
	}
}
