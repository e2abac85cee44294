package inbound_test

import (
	"context"
	"crypto/tls"
	"net"
	"net/smtp"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	sestypes "github.com/aws/aws-sdk-go-v2/service/ses/types"

	"github.com/sesame-email/sesame/internal/snstest"
	"github.com/sesame-email/sesame/internal/testenv"
)

var ctx = context.Background()

// deliver sends one message to the MX from the given local address,
// with STARTTLS when startTLS; it returns the first SMTP error.
func deliver(t *testing.T, mx, from, localIP, rcpt string, startTLS bool, body string) error {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(localIP)}, Timeout: 5 * time.Second}
	conn, err := d.Dial("tcp", mx)
	if err != nil {
		t.Fatal(err)
	}
	c, err := smtp.NewClient(conn, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("sender.example"); err != nil {
		return err
	}
	if startTLS {
		if err := c.StartTLS(&tls.Config{InsecureSkipVerify: true}); err != nil {
			return err
		}
	}
	if err := c.Mail(from); err != nil {
		return err
	}
	if err := c.Rcpt(rcpt); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	w.Write([]byte(body))
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

func code(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// TestReceiptRules: a rule set with two rules receives mail for a
// verified domain into the data dir with an Authentication-Results header
// and notifies a webhook through SNS; other recipients, foreign domains,
// filtered IPs and plain-text sessions under Require TLS are refused; a
// Stop action ends the rule set.
func TestReceiptRules(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	env.VerifyDomain(t, nil, "", "in.example")
	// The sender's domain publishes SPF and DMARC.
	env.DNS.Add(`sender.example. 300 IN TXT "v=spf1 ip4:127.0.0.0/8 -all"`)
	env.DNS.Add(`_dmarc.sender.example. 300 IN TXT "v=DMARC1; p=reject"`)
	sub := snstest.Start(t)
	topic := snstest.Topic(t, env, "inbound", sub)
	v1 := env.SES("", nil)
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(v1.CreateReceiptRuleSet(ctx, &ses.CreateReceiptRuleSetInput{RuleSetName: aws.String("main")}))
	// Rule 1: support@ is stored in bucket "mail" under support/, announced on SNS, then stops.
	must(v1.CreateReceiptRule(ctx, &ses.CreateReceiptRuleInput{RuleSetName: aws.String("main"), Rule: &sestypes.ReceiptRule{
		Name: aws.String("support"), Enabled: true, Recipients: []string{"support@in.example"},
		Actions: []sestypes.ReceiptAction{
			{AddHeaderAction: &sestypes.AddHeaderAction{HeaderName: aws.String("X-Routed"), HeaderValue: aws.String("support")}},
			{S3Action: &sestypes.S3Action{BucketName: aws.String("mail"), ObjectKeyPrefix: aws.String("support/")}},
			{SNSAction: &sestypes.SNSAction{TopicArn: aws.String(topic), Encoding: sestypes.SNSActionEncodingUtf8}},
			{StopAction: &sestypes.StopAction{Scope: sestypes.StopScopeRuleSet}},
		}}}))
	// Rule 2, after it: the whole domain goes to bucket "all" (support@ never does: rule 1 stopped).
	must(v1.CreateReceiptRule(ctx, &ses.CreateReceiptRuleInput{RuleSetName: aws.String("main"), After: aws.String("support"), Rule: &sestypes.ReceiptRule{
		Name: aws.String("everyone"), Enabled: true, Recipients: []string{"in.example"}, TlsPolicy: sestypes.TlsPolicyOptional,
		Actions: []sestypes.ReceiptAction{{S3Action: &sestypes.S3Action{BucketName: aws.String("all")}}}}}))
	// Rule 3: secure@ requires TLS.
	must(v1.CreateReceiptRule(ctx, &ses.CreateReceiptRuleInput{RuleSetName: aws.String("main"), After: aws.String("support"), Rule: &sestypes.ReceiptRule{
		Name: aws.String("secure"), Enabled: true, Recipients: []string{"secure@in.example"}, TlsPolicy: sestypes.TlsPolicyRequire,
		Actions: []sestypes.ReceiptAction{{S3Action: &sestypes.S3Action{BucketName: aws.String("secure")}}}}}))
	if _, err := v1.CreateReceiptRule(ctx, &ses.CreateReceiptRuleInput{RuleSetName: aws.String("main"), Rule: &sestypes.ReceiptRule{
		Name: aws.String("lambda"), Enabled: true, Actions: []sestypes.ReceiptAction{{LambdaAction: &sestypes.LambdaAction{FunctionArn: aws.String("arn:aws:lambda:us-east-1:1:function:f")}}}}}); err == nil || !strings.Contains(err.Error(), "InvalidParameterValue") {
		t.Errorf("a Lambda action must be refused: %v", err)
	}
	mx := env.App.MXAddr()
	msg := "From: Ann <ann@sender.example>\r\nTo: support@in.example\r\nSubject: help\r\n\r\nPlease help.\r\n"
	// No active rule set yet: refused.
	if err := deliver(t, mx, "ann@sender.example", "127.0.0.1", "support@in.example", false, msg); !strings.Contains(code(err), "550") {
		t.Fatalf("before activation: %v", err)
	}
	must(v1.SetActiveReceiptRuleSet(ctx, &ses.SetActiveReceiptRuleSetInput{RuleSetName: aws.String("main")}))
	active, err := v1.DescribeActiveReceiptRuleSet(ctx, &ses.DescribeActiveReceiptRuleSetInput{})
	if err != nil || aws.ToString(active.Metadata.Name) != "main" || len(active.Rules) != 3 || aws.ToString(active.Rules[1].Name) != "secure" ||
		aws.ToString(active.Rules[0].Actions[1].S3Action.BucketName) != "mail" {
		t.Fatalf("active rule set: %+v, %v", active, err)
	}

	if err := deliver(t, mx, "ann@sender.example", "127.0.0.1", "support@in.example", false, msg); err != nil {
		t.Fatalf("support@: %v", err)
	}
	files, _ := filepath.Glob(filepath.Join(env.DataDir, "s3", "mail", "support", "*"))
	if len(files) != 1 {
		t.Fatalf("S3 folder: %v", files)
	}
	stored, _ := os.ReadFile(files[0])
	if !strings.HasPrefix(string(stored), "X-Routed: support\r\nAuthentication-Results: sesame.test;") ||
		!strings.Contains(string(stored), "spf=pass smtp.mailfrom=ann@sender.example") || !strings.Contains(string(stored), "dmarc=pass header.from=sender.example") {
		t.Errorf("stored message:\n%s", stored)
	}
	if other, _ := filepath.Glob(filepath.Join(env.DataDir, "s3", "all", "*")); len(other) != 0 {
		t.Errorf("the Stop action did not stop: %v", other)
	}
	var note map[string]any
	snstest.WaitFor(t, "the SNS notification", func() bool {
		for _, m := range sub.Messages(t) {
			if m["notificationType"] == "Received" {
				note = m
				return true
			}
		}
		return false
	})
	rc := note["receipt"].(map[string]any)
	if rc["spfVerdict"].(map[string]any)["status"] != "PASS" || rc["dmarcVerdict"].(map[string]any)["status"] != "PASS" ||
		rc["dkimVerdict"].(map[string]any)["status"] != "GRAY" || rc["virusVerdict"].(map[string]any)["status"] != "DISABLED" ||
		!strings.Contains(note["content"].(string), "Please help.") || rc["action"].(map[string]any)["type"] != "SNS" {
		t.Errorf("notification: %v", note)
	}

	// Another address at the domain: rule 2. A forged From fails DMARC but is still received (p=reject is the receiver's call).
	if err := deliver(t, mx, "ann@sender.example", "127.0.0.1", "bob@in.example", false, "From: x@sender.example\r\nSubject: hi\r\n\r\nhi\r\n"); err != nil {
		t.Fatalf("bob@: %v", err)
	}
	if all, _ := filepath.Glob(filepath.Join(env.DataDir, "s3", "all", "*")); len(all) != 1 {
		t.Errorf("rule 2: %v", all)
	}
	// Refused: a subdomain (rule 2 names the domain only), a foreign domain.
	for _, rcpt := range []string{"x@sub.in.example", "x@elsewhere.example"} {
		if err := deliver(t, mx, "ann@sender.example", "127.0.0.1", rcpt, false, msg); !strings.Contains(code(err), "550") {
			t.Errorf("%s: %v, want 550", rcpt, err)
		}
	}
	// Require TLS: plain refused, STARTTLS accepted.
	if err := deliver(t, mx, "ann@sender.example", "127.0.0.1", "secure@in.example", false, msg); !strings.Contains(code(err), "530") {
		t.Errorf("plain session under Require: %v", err)
	}
	if err := deliver(t, mx, "ann@sender.example", "127.0.0.1", "secure@in.example", true, msg); err != nil {
		t.Errorf("TLS session under Require: %v", err)
	}
	// A receipt filter blocks 127.0.0.2; 127.0.0.1 still gets through.
	must(v1.CreateReceiptFilter(ctx, &ses.CreateReceiptFilterInput{Filter: &sestypes.ReceiptFilter{Name: aws.String("block2"),
		IpFilter: &sestypes.ReceiptIpFilter{Policy: sestypes.ReceiptFilterPolicyBlock, Cidr: aws.String("127.0.0.2/32")}}}))
	if err := deliver(t, mx, "ann@sender.example", "127.0.0.2", "bob@in.example", false, msg); !strings.Contains(code(err), "554") {
		t.Errorf("blocked IP: %v, want 554", err)
	}
	if err := deliver(t, mx, "ann@sender.example", "127.0.0.1", "bob@in.example", false, msg); err != nil {
		t.Errorf("allowed IP: %v", err)
	}
	// Received mail is listed for the account.
	list, err := env.Admin(nil).Inbound(ctx, 10)
	if err != nil || len(list) != 4 {
		t.Fatalf("inbound list: %d, %v", len(list), err)
	}
	got, err := env.Admin(nil).InboundMessage(ctx, list[len(list)-1].MessageID)
	if err != nil || !strings.Contains(string(got.Raw), "X-Routed: support") || got.Receipt.SPFVerdict.Status != "PASS" {
		t.Errorf("inbound show: %v", err)
	}
	if _, err := env.SESv2("", nil).GetAccount(ctx, nil); err != nil {
		t.Errorf("server unwell: %v", err)
	}
}

// TestReceiptRuleAPI drives the rest of the v1 receipt API with the SDK.
func TestReceiptRuleAPI(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	v1 := env.SES("", nil)
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(v1.CreateReceiptRuleSet(ctx, &ses.CreateReceiptRuleSetInput{RuleSetName: aws.String("a")}))
	if _, err := v1.CreateReceiptRuleSet(ctx, &ses.CreateReceiptRuleSetInput{RuleSetName: aws.String("a")}); !strings.Contains(code(err), "AlreadyExists") {
		t.Errorf("duplicate set: %v", err)
	}
	rule := func(name string) *sestypes.ReceiptRule {
		return &sestypes.ReceiptRule{Name: aws.String(name), Enabled: true, Actions: []sestypes.ReceiptAction{{StopAction: &sestypes.StopAction{Scope: sestypes.StopScopeRuleSet}}}}
	}
	for i, n := range []string{"r1", "r2", "r3"} {
		in := &ses.CreateReceiptRuleInput{RuleSetName: aws.String("a"), Rule: rule(n)}
		if i > 0 {
			in.After = aws.String([]string{"r1", "r2"}[i-1])
		}
		must(v1.CreateReceiptRule(ctx, in))
	}
	names := func(set string) string {
		d, err := v1.DescribeReceiptRuleSet(ctx, &ses.DescribeReceiptRuleSetInput{RuleSetName: aws.String(set)})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range d.Rules {
			out = append(out, aws.ToString(r.Name))
		}
		return strings.Join(out, ",")
	}
	if got := names("a"); got != "r1,r2,r3" {
		t.Errorf("order %s", got)
	}
	must(v1.SetReceiptRulePosition(ctx, &ses.SetReceiptRulePositionInput{RuleSetName: aws.String("a"), RuleName: aws.String("r1"), After: aws.String("r3")}))
	if got := names("a"); got != "r2,r3,r1" {
		t.Errorf("after SetReceiptRulePosition: %s", got)
	}
	must(v1.ReorderReceiptRuleSet(ctx, &ses.ReorderReceiptRuleSetInput{RuleSetName: aws.String("a"), RuleNames: []string{"r3", "r1", "r2"}}))
	if got := names("a"); got != "r3,r1,r2" {
		t.Errorf("after Reorder: %s", got)
	}
	if _, err := v1.ReorderReceiptRuleSet(ctx, &ses.ReorderReceiptRuleSetInput{RuleSetName: aws.String("a"), RuleNames: []string{"r3"}}); !strings.Contains(code(err), "InvalidParameterValue") {
		t.Errorf("partial reorder: %v", err)
	}
	upd := rule("r2")
	upd.Enabled, upd.Recipients = false, []string{"x@a.example"}
	must(v1.UpdateReceiptRule(ctx, &ses.UpdateReceiptRuleInput{RuleSetName: aws.String("a"), Rule: upd}))
	got, err := v1.DescribeReceiptRule(ctx, &ses.DescribeReceiptRuleInput{RuleSetName: aws.String("a"), RuleName: aws.String("r2")})
	if err != nil || got.Rule.Enabled || len(got.Rule.Recipients) != 1 {
		t.Errorf("describe rule: %+v, %v", got, err)
	}
	must(v1.DeleteReceiptRule(ctx, &ses.DeleteReceiptRuleInput{RuleSetName: aws.String("a"), RuleName: aws.String("r2")}))
	if _, err := v1.DescribeReceiptRule(ctx, &ses.DescribeReceiptRuleInput{RuleSetName: aws.String("a"), RuleName: aws.String("r2")}); !strings.Contains(code(err), "RuleDoesNotExist") {
		t.Errorf("deleted rule: %v", err)
	}
	must(v1.CloneReceiptRuleSet(ctx, &ses.CloneReceiptRuleSetInput{RuleSetName: aws.String("b"), OriginalRuleSetName: aws.String("a")}))
	if got := names("b"); got != "r3,r1" {
		t.Errorf("clone: %s", got)
	}
	list, err := v1.ListReceiptRuleSets(ctx, &ses.ListReceiptRuleSetsInput{})
	if err != nil || len(list.RuleSets) != 2 {
		t.Errorf("list: %+v, %v", list, err)
	}
	must(v1.SetActiveReceiptRuleSet(ctx, &ses.SetActiveReceiptRuleSetInput{RuleSetName: aws.String("a")}))
	if _, err := v1.DeleteReceiptRuleSet(ctx, &ses.DeleteReceiptRuleSetInput{RuleSetName: aws.String("a")}); !strings.Contains(code(err), "CannotDelete") {
		t.Errorf("deleting the active set: %v", err)
	}
	must(v1.DeleteReceiptRuleSet(ctx, &ses.DeleteReceiptRuleSetInput{RuleSetName: aws.String("b")}))
	if _, err := v1.DescribeReceiptRuleSet(ctx, &ses.DescribeReceiptRuleSetInput{RuleSetName: aws.String("b")}); !strings.Contains(code(err), "RuleSetDoesNotExist") {
		t.Errorf("deleted set: %v", err)
	}
	must(v1.CreateReceiptFilter(ctx, &ses.CreateReceiptFilterInput{Filter: &sestypes.ReceiptFilter{Name: aws.String("f"),
		IpFilter: &sestypes.ReceiptIpFilter{Policy: sestypes.ReceiptFilterPolicyAllow, Cidr: aws.String("10.0.0.0/8")}}}))
	if _, err := v1.CreateReceiptFilter(ctx, &ses.CreateReceiptFilterInput{Filter: &sestypes.ReceiptFilter{Name: aws.String("g"),
		IpFilter: &sestypes.ReceiptIpFilter{Policy: sestypes.ReceiptFilterPolicyBlock, Cidr: aws.String("not-an-ip")}}}); !strings.Contains(code(err), "InvalidParameterValue") {
		t.Errorf("bad CIDR: %v", err)
	}
	fs, err := v1.ListReceiptFilters(ctx, &ses.ListReceiptFiltersInput{})
	if err != nil || len(fs.Filters) != 1 || aws.ToString(fs.Filters[0].IpFilter.Cidr) != "10.0.0.0/8" {
		t.Errorf("filters: %+v, %v", fs, err)
	}
	must(v1.DeleteReceiptFilter(ctx, &ses.DeleteReceiptFilterInput{FilterName: aws.String("f")}))
	// Another account sees none of it.
	other := env.NewAccount(t, "other", "production")
	if l, err := env.SES("", &other).ListReceiptRuleSets(ctx, &ses.ListReceiptRuleSetsInput{}); err != nil || len(l.RuleSets) != 0 {
		t.Errorf("other account: %+v, %v", l, err)
	}
}
