package identity_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
)

// seedScript extracts the audit script of seed 003 from ../shared/seeds,
// where the project's shared material lives beside the repository.
func seedScript(t *testing.T) string {
	t.Helper()
	dir, _ := os.Getwd()
	for range 6 {
		matches, _ := filepath.Glob(filepath.Join(dir, "..", "shared", "seeds", "003_*.txt"))
		if len(matches) == 1 {
			data, err := os.ReadFile(matches[0])
			if err != nil {
				t.Fatal(err)
			}
			text := string(data)
			start := strings.Index(text, "#!/bin/bash")
			end := strings.LastIndex(text, "\ndone\n")
			if start < 0 || end < start {
				t.Fatal("seed 003: script not found in the text")
			}
			return text[start : end+len("\ndone\n")]
		}
		dir = filepath.Dir(dir)
	}
	if os.Getenv("CI") != "" {
		t.Fatal("seed 003 not found beside the repository")
	}
	t.Skip("seed 003 not found beside the repository")
	return ""
}

// TestSeed003ScriptWithAWSCLI runs seed 003's script verbatim with the AWS
// CLI, pointed at sesame by AWS_ENDPOINT_URL alone.
func TestSeed003ScriptWithAWSCLI(t *testing.T) {
	for _, tool := range []string{"aws", "jq", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not installed (scripts/test installs it)", tool)
			}
			t.Skipf("%s is not installed", tool)
		}
	}
	script := seedScript(t)
	env, _ := start(t)
	v2 := env.SESv2("ap-northeast-1", nil)
	small := &types.DkimSigningAttributes{NextSigningKeyLength: types.DkimSigningKeyLengthRsa1024Bit}
	dom, err := v2.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String("fogefoge.example"), DkimSigningAttributes: small})
	if err != nil {
		t.Fatal(err)
	}
	v2.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String("pending.example"), DkimSigningAttributes: small})
	v2.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String("01_user@fogefoge.example")})
	v2.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String("02_user@fogefoge.example")})
	publishCNAMEs(env, "fogefoge.example", dom.DkimAttributes.Tokens)
	if _, err := env.App.Identities().CheckNow(ctx, accountOf(t, env), "ap-northeast-1", "fogefoge.example"); err != nil {
		t.Fatal(err)
	}

	path := filepath.Join(t.TempDir(), "audit.sh")
	os.WriteFile(path, []byte(script), 0o700)
	cmd := exec.Command("bash", path)
	cmd.Env = append(os.Environ(),
		"AWS_ENDPOINT_URL="+env.URL,
		"AWS_ACCESS_KEY_ID="+env.Creds.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY="+env.Creds.SecretAccessKey,
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_PAGER=",
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("script: %v\n%s", err, out)
	}
	got := string(out)
	for _, region := range env.Config.Regions {
		if !strings.Contains(got, "Region: "+region+"\n") {
			t.Errorf("region %s not audited", region)
		}
	}
	want := []string{
		"Domain: fogefoge.example\nDKIM is enabled and verified for domain fogefoge.example\n",
		"Domain: pending.example\nDKIM is not enabled or not verified for domain pending.example\n",
		"Email Address: 01_user@fogefoge.example (Domain: fogefoge.example)\nDKIM is enabled and verified for domain fogefoge.example\n",
		"Email Address: 02_user@fogefoge.example (Domain: fogefoge.example)\nDKIM is enabled and verified for domain fogefoge.example\n",
	}
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("output lacks %q", w)
		}
	}
	if t.Failed() {
		fmt.Println(got)
	}
}
