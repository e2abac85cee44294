package sesapi_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/smithy-go"

	"github.com/sesame-email/sesame/internal/apiclient"
	"github.com/sesame-email/sesame/internal/app"
	"github.com/sesame-email/sesame/internal/clock"
	"github.com/sesame-email/sesame/internal/config"
	"github.com/sesame-email/sesame/internal/credfile"
	"github.com/sesame-email/sesame/internal/sigv4"
	"github.com/sesame-email/sesame/internal/testenv"
)

// code returns the API error code an SDK call failed with.
func code(t *testing.T, err error) string {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not an API error", err, err)
	}
	return ae.ErrorCode()
}

func message(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	return ""
}

func TestGetAccountAndQuota(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	ctx := context.Background()
	out, err := env.SESv2("", nil).GetAccount(ctx, &sesv2.GetAccountInput{})
	if err != nil {
		t.Fatal(err)
	}
	if !out.ProductionAccessEnabled || !out.SendingEnabled || out.SendQuota.Max24HourSend != -1 || out.SendQuota.MaxSendRate != -1 || aws.ToString(out.EnforcementStatus) != "HEALTHY" {
		t.Errorf("default account: %+v quota %+v", out, out.SendQuota)
	}

	sandbox := env.NewAccount(t, "tenant", "sandbox")
	out, err = env.SESv2("", &sandbox).GetAccount(ctx, &sesv2.GetAccountInput{})
	if err != nil {
		t.Fatal(err)
	}
	if out.ProductionAccessEnabled || out.SendQuota.Max24HourSend != 200 || out.SendQuota.MaxSendRate != 1 || out.SendQuota.SentLast24Hours != 0 {
		t.Errorf("sandbox account: quota %+v production %v", out.SendQuota, out.ProductionAccessEnabled)
	}
	q, err := env.SES("", &sandbox).GetSendQuota(ctx, &ses.GetSendQuotaInput{})
	if err != nil {
		t.Fatal(err)
	}
	if q.Max24HourSend != 200 || q.MaxSendRate != 1 {
		t.Errorf("v1 GetSendQuota = %+v", q)
	}
}

func TestSendingSwitchPerRegion(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	ctx := context.Background()
	v2 := env.SESv2("us-west-2", nil)
	if _, err := v2.PutAccountSendingAttributes(ctx, &sesv2.PutAccountSendingAttributesInput{SendingEnabled: false}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		region string
		want   bool
	}{{"us-west-2", false}, {"us-east-1", true}} {
		out, err := env.SES(tc.region, nil).GetAccountSendingEnabled(ctx, &ses.GetAccountSendingEnabledInput{})
		if err != nil {
			t.Fatal(err)
		}
		if out.Enabled != tc.want {
			t.Errorf("%s: Enabled = %v, want %v", tc.region, out.Enabled, tc.want)
		}
	}
	if _, err := env.SES("us-west-2", nil).UpdateAccountSendingEnabled(ctx, &ses.UpdateAccountSendingEnabledInput{Enabled: true}); err != nil {
		t.Fatal(err)
	}
	out, _ := v2.GetAccount(ctx, &sesv2.GetAccountInput{})
	if !out.SendingEnabled {
		t.Error("v1 UpdateAccountSendingEnabled not seen by v2 GetAccount")
	}
}

func TestDescribeRegions(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Config: func(c *config.Config) { c.Regions = []string{"eu-west-1", "us-east-1", "ap-southeast-2"} }})
	ctx := context.Background()
	out, err := env.EC2("eu-west-1", nil).DescribeRegions(ctx, &ec2.DescribeRegionsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range out.Regions {
		names = append(names, aws.ToString(r.RegionName))
		if aws.ToString(r.OptInStatus) != "opt-in-not-required" {
			t.Errorf("opt-in status %q", aws.ToString(r.OptInStatus))
		}
	}
	if !slices.Equal(names, []string{"eu-west-1", "us-east-1", "ap-southeast-2"}) {
		t.Errorf("regions = %v", names)
	}
	out, err = env.EC2("eu-west-1", nil).DescribeRegions(ctx, &ec2.DescribeRegionsInput{RegionNames: []string{"us-east-1"}})
	if err != nil || len(out.Regions) != 1 || aws.ToString(out.Regions[0].RegionName) != "us-east-1" {
		t.Errorf("RegionNames filter = %+v, %v", out, err)
	}
	_, err = env.EC2("eu-west-1", nil).DescribeRegions(ctx, &ec2.DescribeRegionsInput{RegionNames: []string{"mars-north-1"}})
	if err == nil || code(t, err) != "InvalidParameterValue" {
		t.Errorf("unknown region name: %v", err)
	}
}

func TestAuthErrors(t *testing.T) {
	fake := clock.NewFake(time.Now())
	env := testenv.Start(t, testenv.Options{Clock: fake})
	ctx := context.Background()
	wrongSecret := env.Creds
	wrongSecret.SecretAccessKey = "x" + wrongSecret.SecretAccessKey[1:]
	unknownKey := credfile.Credentials{AccessKeyID: "AKIAUNKNOWNUNKNOWN00", SecretAccessKey: env.Creds.SecretAccessKey}

	tests := []struct {
		name       string
		creds      *credfile.Credentials
		region     string
		skew       time.Duration
		v2, v1, ec string
		msg        string
	}{
		{"wrong secret", &wrongSecret, "", 0, "InvalidSignatureException", "SignatureDoesNotMatch", "AuthFailure", "signature we calculated does not match"},
		{"unknown key", &unknownKey, "", 0, "UnrecognizedClientException", "InvalidClientTokenId", "AuthFailure", "security token included in the request is invalid"},
		{"signed 20 minutes ago", nil, "", 20 * time.Minute, "InvalidSignatureException", "SignatureDoesNotMatch", "RequestExpired", "Signature expired"},
		{"signed 20 minutes ahead", nil, "", -20 * time.Minute, "InvalidSignatureException", "SignatureDoesNotMatch", "RequestExpired", "Signature not yet current"},
		{"unknown region", nil, "xx-nowhere-1", 0, "InvalidSignatureException", "SignatureDoesNotMatch", "AuthFailure", "valid region"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake.Set(time.Now().Add(tc.skew))
			region := tc.region
			if region == "" {
				region = env.Region()
			}
			_, err := env.SESv2(region, tc.creds).GetAccount(ctx, &sesv2.GetAccountInput{})
			if err == nil || code(t, err) != tc.v2 || !strings.Contains(message(err), tc.msg) {
				t.Errorf("v2: %v; want %s with %q", err, tc.v2, tc.msg)
			}
			_, err = env.SES(region, tc.creds).GetSendQuota(ctx, &ses.GetSendQuotaInput{})
			if err == nil || code(t, err) != tc.v1 || !strings.Contains(message(err), tc.msg) {
				t.Errorf("v1: %v; want %s with %q", err, tc.v1, tc.msg)
			}
			_, err = env.EC2(region, tc.creds).DescribeRegions(ctx, &ec2.DescribeRegionsInput{})
			if err == nil || code(t, err) != tc.ec {
				t.Errorf("ec2: %v; want %s", err, tc.ec)
			}
		})
	}
	fake.Set(time.Now())
	// The exact SES text for a skewed request (reference §1).
	fake.Set(time.Now().Add(20 * time.Minute))
	_, err := env.SES("", nil).GetSendQuota(ctx, &ses.GetSendQuotaInput{})
	if !strings.Contains(message(err), " - 5 min.)") || !strings.Contains(message(err), "is now earlier than") {
		t.Errorf("skew message = %q", message(err))
	}
}

// raw sends an unsigned or hand-made request.
func raw(t *testing.T, method, u, ctype, body string, sign *credfile.Credentials, region string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if sign != nil {
		if err := sigv4.Sign(req, []byte(body), sign.AccessKeyID, sign.SecretAccessKey, region, "ses", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, string(data)
}

func TestProtocolErrors(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	form := "application/x-www-form-urlencoded"
	tests := []struct {
		name, method, path, ctype, body string
		signed                          bool
		status                          int
		errType                         string // v2 header
		contains                        []string
	}{
		{"missing auth v1", "POST", "/", form, "Action=GetSendQuota&Version=2010-12-01", false, 403, "", []string{"<Code>MissingAuthenticationToken</Code>", "<Type>Sender</Type>", "<RequestId>"}},
		{"missing auth v2", "GET", "/v2/email/account", "", "", false, 403, "MissingAuthenticationTokenException", []string{`"message"`}},
		{"garbage auth header v2", "GET", "/v2/email/account", "", "", false, 400, "IncompleteSignatureException", nil},
		{"unknown v1 action", "POST", "/", form, "Action=LaunchRocket&Version=2010-12-01", true, 400, "", []string{"<Code>InvalidAction</Code>", "LaunchRocket"}},
		{"missing action", "POST", "/", form, "Version=2010-12-01", true, 400, "", []string{"<Code>MissingParameter</Code>"}},
		{"bad version", "POST", "/", form, "Action=GetSendQuota&Version=1999-01-01", true, 400, "", []string{"<Code>InvalidParameterValue</Code>"}},
		{"unknown v2 route", "POST", "/v2/email/rockets", "application/json", "{}", true, 404, "UnknownOperationException", nil},
		{"bad JSON v2", "PUT", "/v2/email/account/sending", "application/json", "{not json", true, 400, "SerializationException", nil},
		{"unknown path", "GET", "/nothing/here", "", "", false, 404, "UnknownOperationException", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var creds *credfile.Credentials
			if tc.signed {
				creds = &env.Creds
			}
			req := env.URL + tc.path
			if tc.name == "garbage auth header v2" {
				r, _ := http.NewRequest("GET", req, nil)
				r.Header.Set("Authorization", "AWS4-HMAC-SHA256 nonsense")
				r.Header.Set("X-Amz-Date", time.Now().UTC().Format("20060102T150405Z"))
				resp, err := http.DefaultClient.Do(r)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != tc.status || resp.Header.Get("x-amzn-ErrorType") != tc.errType {
					t.Errorf("status %d type %q", resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"))
				}
				return
			}
			resp, body := raw(t, tc.method, req, tc.ctype, tc.body, creds, env.Region())
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if resp.Header.Get("x-amzn-RequestId") == "" {
				t.Error("no x-amzn-RequestId")
			}
			if tc.errType != "" && resp.Header.Get("x-amzn-ErrorType") != tc.errType {
				t.Errorf("x-amzn-ErrorType %q, want %q", resp.Header.Get("x-amzn-ErrorType"), tc.errType)
			}
			for _, s := range tc.contains {
				if !strings.Contains(body, s) {
					t.Errorf("body %q lacks %q", body, s)
				}
			}
		})
	}
	// A v1 unknown action through the real SDK: a v2-only operation name is not a v1 action.
	_, err := env.SESv2("", nil).CreateContactList(context.Background(), &sesv2.CreateContactListInput{ContactListName: aws.String("not-yet")})
	if err == nil || code(t, err) != "UnknownOperationException" {
		t.Errorf("not-yet-implemented v2 op: %v", err)
	}
	if _, err := env.SESv2("", nil).CreateConfigurationSet(context.Background(), &sesv2.CreateConfigurationSetInput{ConfigurationSetName: aws.String("now-there")}); err != nil {
		t.Errorf("CreateConfigurationSet: %v\n%s", err, env.Logs.String())
	}
	// The server still serves after all that.
	if _, err := env.SESv2("", nil).GetAccount(context.Background(), &sesv2.GetAccountInput{}); err != nil {
		t.Errorf("server broken after bad requests: %v", err)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	env.SESv2("", nil).GetAccount(context.Background(), &sesv2.GetAccountInput{})
	resp, body := raw(t, "GET", env.URL+"/healthz", "", "", nil, "")
	if resp.StatusCode != 200 || strings.TrimSpace(body) != "ok" {
		t.Errorf("healthz: %d %q", resp.StatusCode, body)
	}
	resp, body = raw(t, "GET", env.URL+"/metrics", "", "", nil, "")
	if resp.StatusCode != 200 || !strings.Contains(body, `sesame_api_requests_total{api="sesv2",code="OK",operation="GetAccount"} 1`) {
		t.Errorf("metrics: %d, no GetAccount counter in\n%.2000s", resp.StatusCode, body)
	}
}

func TestAccountIsolation(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	ctx := context.Background()
	a := env.NewAccount(t, "tenant-a", "production")
	b := env.NewAccount(t, "tenant-b", "sandbox")

	// A turns sending off in us-east-1; B's switch is untouched.
	if _, err := env.SESv2("", &a).PutAccountSendingAttributes(ctx, &sesv2.PutAccountSendingAttributesInput{SendingEnabled: false}); err != nil {
		t.Fatal(err)
	}
	outB, err := env.SESv2("", &b).GetAccount(ctx, &sesv2.GetAccountInput{})
	if err != nil || !outB.SendingEnabled || outB.ProductionAccessEnabled {
		t.Errorf("B sees A's settings: %+v %v", outB, err)
	}
	outA, _ := env.SESv2("", &a).GetAccount(ctx, &sesv2.GetAccountInput{})
	if outA.SendingEnabled || !outA.ProductionAccessEnabled {
		t.Errorf("A's own settings wrong: %+v", outA)
	}

	// Through the admin API B sees only itself; A's account is "not found".
	bc := env.Admin(&b)
	accts, err := bc.ListAccounts(ctx)
	if err != nil || len(accts) != 1 || accts[0].Name != "tenant-b" {
		t.Errorf("B lists %+v, %v", accts, err)
	}
	for _, call := range []struct {
		name string
		fn   func() error
		want string
	}{
		{"get A", func() error { _, err := bc.GetAccount(ctx, "tenant-a"); return err }, "NotFoundException"},
		{"list A's keys", func() error { _, err := bc.ListKeys(ctx, "tenant-a"); return err }, "NotFoundException"},
		{"create account", func() error { _, err := bc.CreateAccount(ctx, "tenant-c", "sandbox"); return err }, "AccessDeniedException"},
		{"create key for A", func() error { _, err := bc.CreateKey(ctx, "tenant-a", true, ""); return err }, "AccessDeniedException"},
		{"delete A's key", func() error { return bc.DeleteKey(ctx, a.AccessKeyID) }, "AccessDeniedException"},
		{"raise own quota", func() error {
			m := "production"
			_, err := bc.UpdateAccount(ctx, "tenant-b", apiclient.AccountUpdate{Mode: &m})
			return err
		}, "AccessDeniedException"},
	} {
		err := call.fn()
		var ae *apiclient.Error
		if !errors.As(err, &ae) || ae.Code != call.want {
			t.Errorf("%s: err = %v, want %s", call.name, err, call.want)
		}
	}
	if keys, err := bc.ListKeys(ctx, "tenant-b"); err != nil || len(keys) != 1 || keys[0].AccessKeyId != b.AccessKeyID {
		t.Errorf("B's own keys = %+v, %v", keys, err)
	}
	// A's key still works after B's attempts.
	if _, err := env.SESv2("", &a).GetAccount(ctx, &sesv2.GetAccountInput{}); err != nil {
		t.Error(err)
	}
}

func TestAdminManagesAccountsAndKeys(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	ctx := context.Background()
	adm := env.Admin(nil)
	acct, err := adm.CreateAccount(ctx, "shop", "sandbox")
	if err != nil || acct.Mode != "sandbox" || acct.Max24HourSend != 200 || len(acct.AccountId) != 12 {
		t.Fatalf("CreateAccount = %+v, %v", acct, err)
	}
	if _, err := adm.CreateAccount(ctx, "shop", "sandbox"); err == nil || err.(*apiclient.Error).Code != "AlreadyExistsException" {
		t.Errorf("duplicate account: %v", err)
	}
	if _, err := adm.CreateAccount(ctx, "bad name!", "sandbox"); err == nil || err.(*apiclient.Error).Code != "BadRequestException" {
		t.Errorf("bad name: %v", err)
	}
	prod, rate := "production", 50.0
	acct, err = adm.UpdateAccount(ctx, "shop", apiclient.AccountUpdate{Mode: &prod, MaxSendRate: &rate})
	if err != nil || acct.Mode != "production" || acct.MaxSendRate != 50 {
		t.Fatalf("UpdateAccount = %+v, %v", acct, err)
	}
	k, err := adm.CreateKey(ctx, "shop", false, "web app")
	if err != nil || k.SecretAccessKey == "" {
		t.Fatalf("CreateKey = %+v, %v", k, err)
	}
	creds := credfile.Credentials{AccessKeyID: k.AccessKeyId, SecretAccessKey: k.SecretAccessKey}
	out, err := env.SESv2("", &creds).GetAccount(ctx, &sesv2.GetAccountInput{})
	if err != nil || out.SendQuota.MaxSendRate != 50 || !out.ProductionAccessEnabled {
		t.Fatalf("new key's GetAccount = %+v, %v", out, err)
	}
	keys, _ := adm.ListKeys(ctx, "shop")
	if len(keys) != 1 || keys[0].SecretAccessKey != "" {
		t.Errorf("ListKeys leaks or misses: %+v", keys)
	}
	if err := adm.DeleteKey(ctx, k.AccessKeyId); err != nil {
		t.Fatal(err)
	}
	_, err = env.SESv2("", &creds).GetAccount(ctx, &sesv2.GetAccountInput{})
	if err == nil || code(t, err) != "UnrecognizedClientException" {
		t.Errorf("deleted key still works: %v", err)
	}
	if err := adm.DeleteKey(ctx, env.Creds.AccessKeyID); err == nil {
		t.Error("deleted the last admin key")
	}
}

func TestRestartKeepsAccountsAndCredentialsFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	env := testenv.Start(t, testenv.Options{DataDir: dir})
	if !strings.Contains(env.FirstStartOutput, env.Creds.AccessKeyID) || !strings.Contains(env.FirstStartOutput, env.Creds.SecretAccessKey) {
		t.Errorf("first start did not print the key: %q", env.FirstStartOutput)
	}
	credPath := filepath.Join(dir, app.CredentialsFile)
	before, _ := os.ReadFile(credPath)
	st1, _ := os.Stat(credPath)
	tenant := env.NewAccount(t, "tenant", "sandbox")
	env.Stop()

	env2 := testenv.Start(t, testenv.Options{DataDir: dir})
	if env2.FirstStartOutput != "" {
		t.Errorf("second start printed %q", env2.FirstStartOutput)
	}
	after, _ := os.ReadFile(credPath)
	st2, _ := os.Stat(credPath)
	if string(before) != string(after) || !st1.ModTime().Equal(st2.ModTime()) {
		t.Error("credentials file rewritten on restart")
	}
	for _, f := range []string{app.CredentialsFile, app.MasterKeyFile} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v", f, st.Mode().Perm(), err)
		}
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o700 {
		t.Errorf("data dir mode %v", st.Mode().Perm())
	}
	ctx := context.Background()
	if _, err := env2.SESv2("", nil).GetAccount(ctx, &sesv2.GetAccountInput{}); err != nil {
		t.Errorf("admin key lost: %v", err)
	}
	out, err := env2.SESv2("", &tenant).GetAccount(ctx, &sesv2.GetAccountInput{})
	if err != nil || out.SendQuota.Max24HourSend != 200 {
		t.Errorf("tenant key lost: %+v %v", out, err)
	}
	// Secrets are sealed at rest: neither secret appears in the database file.
	db, _ := os.ReadFile(filepath.Join(dir, app.DBFile))
	wal, _ := os.ReadFile(filepath.Join(dir, app.DBFile+"-wal"))
	for _, s := range []string{env.Creds.SecretAccessKey, tenant.SecretAccessKey} {
		if strings.Contains(string(db), s) || strings.Contains(string(wal), s) {
			t.Errorf("secret %q stored in clear", s[:6])
		}
	}
	// The AWS config file names the endpoint for AWS_CONFIG_FILE users.
	m, err := credfile.ReadProfile(filepath.Join(dir, app.AWSConfigFile), "default")
	if err != nil || m["endpoint_url"] != env2.URL {
		t.Errorf("config file: %v %v", m, err)
	}
}

func TestV2PathEncodingIsVerified(t *testing.T) {
	// A percent-encoded label (reference §1: double-encoded canonical URI)
	// must pass authentication and reach routing.
	env := testenv.Start(t, testenv.Options{})
	resp, body := raw(t, "GET", env.URL+"/v2/email/identities/"+url.PathEscape("user+tag@example.com"), "", "", &env.Creds, env.Region())
	if resp.Header.Get("x-amzn-ErrorType") == "InvalidSignatureException" {
		t.Errorf("encoded path failed verification: %s", body)
	}
}
