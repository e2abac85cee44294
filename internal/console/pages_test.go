package console_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	sestypes "github.com/aws/aws-sdk-go-v2/service/ses/types"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/emersion/go-smtp"

	"github.com/sesame-email/sesame/internal/config"
	"github.com/sesame-email/sesame/internal/smtptest"
	"github.com/sesame-email/sesame/internal/snstest"
	"github.com/sesame-email/sesame/internal/testenv"
)

// TestIdentityPages: creating identities from the form, the records table
// and its downloads, "Check now", the status refresh, DKIM and MAIL FROM
// settings, address identities, deletion.
func TestIdentityPages(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	b := newBrowser(t, e)
	b.signIn(e.Creds)
	for _, tc := range []struct {
		name, identity string
		status         int
		says           string
	}{
		{"empty", "", http.StatusBadRequest, "Enter a domain"},
		{"bad name", "not a domain!", http.StatusBadRequest, "not a valid"},
		{"domain", "example.com", http.StatusSeeOther, ""},
		{"twice", "example.com", http.StatusConflict, "already exists"},
	} {
		st, loc, body := b.post("/identities", url.Values{"identity": {tc.identity}, "key_length": {"RSA_1024_BIT"}})
		if st != tc.status || (tc.says != "" && !strings.Contains(body, tc.says)) {
			t.Errorf("%s: %d %q %s", tc.name, st, loc, body)
		}
		if st == http.StatusSeeOther && loc != "/identities/example.com?done=created&region=us-east-1" {
			t.Errorf("%s: redirected to %q", tc.name, loc)
		}
	}
	_, _, page := b.get("/identities/example.com")
	cnames := regexp.MustCompile(`<tr data-type="CNAME" data-status="missing">\s*<td data-label="Type">CNAME</td>\s*<td data-label="Name"><code id="rec-\d-name">([^<]+)</code>.*?<code id="rec-\d-value" class="value">([^<]+)</code>`).FindAllStringSubmatch(strings.ReplaceAll(page, "\n", " "), -1)
	if len(cnames) != 3 {
		t.Fatalf("%d missing CNAME rows:\n%s", len(cnames), page)
	}
	// The downloads carry the same records.
	_, _, csvBody := b.get("/identities/example.com/records?format=csv")
	rows, err := csv.NewReader(strings.NewReader(csvBody)).ReadAll()
	if err != nil || len(rows) < 4 || rows[0][0] != "Type" || rows[1][0] != "CNAME" || rows[1][1] != cnames[0][1] || rows[1][5] != "missing" {
		t.Errorf("CSV download: %v %v", rows, err)
	}
	if _, _, zone := b.get("/identities/example.com/records?format=bind"); !strings.Contains(zone, cnames[1][1]+". 300 IN CNAME "+cnames[1][2]+".") {
		t.Errorf("BIND download:\n%s", zone)
	}
	var js []struct{ Type, Name, Value, Status string }
	if _, _, body := b.get("/identities/example.com/records?format=json"); json.Unmarshal([]byte(body), &js) != nil || len(js) < 3 || js[2].Value != cnames[2][2] {
		t.Errorf("JSON download: %s", body)
	}
	if st, _, _ := b.get("/identities/example.com/records?format=xml"); st != http.StatusBadRequest {
		t.Errorf("unknown format: %d", st)
	}
	status := func() map[string]any {
		_, _, body := b.get("/identities/example.com/status")
		var m map[string]any
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Fatalf("status: %s", body)
		}
		return m
	}
	if s := status(); s["VerificationStatus"] != "PENDING" || s["Settled"] != false {
		t.Errorf("status before DNS: %v", s)
	}
	for _, c := range cnames {
		e.DNS.Add(fmt.Sprintf("%s. 300 IN CNAME %s.", c[1], c[2]))
	}
	if st, loc, _ := b.post("/identities/example.com/check", url.Values{}); st != http.StatusSeeOther || !strings.Contains(loc, "done=checked") {
		t.Fatalf("check now: %d %q", st, loc)
	}
	s := status()
	if s["VerificationStatus"] != "SUCCESS" || s["DkimStatus"] != "SUCCESS" || s["Settled"] != true || s["LastCheckedAgo"] != "just now" {
		t.Errorf("status after Check now: %v", s)
	}
	if badges, _ := s["Badges"].(map[string]any); badges == nil || badges["VerificationStatus"].(map[string]any)["Label"] != "Verified" {
		t.Errorf("badges: %v", s["Badges"])
	}
	if _, _, page := b.get("/identities/example.com?done=checked"); strings.Count(page, `data-type="CNAME" data-status="found"`) != 3 || !strings.Contains(page, "DNS checked just now.") {
		t.Errorf("identity page after the check does not show three found CNAMEs")
	}
	if _, _, list := b.get("/identities"); !strings.Contains(list, `<span class="badge ok">Verified</span>`) {
		t.Error("the list does not show the identity verified")
	}

	// DKIM signing off and on.
	ctx := context.Background()
	dkim := func() bool {
		out, err := e.SESv2("", nil).GetEmailIdentity(ctx, &sesv2.GetEmailIdentityInput{EmailIdentity: aws.String("example.com")})
		if err != nil {
			t.Fatal(err)
		}
		return out.DkimAttributes.SigningEnabled
	}
	if st, _, _ := b.post("/identities/example.com/dkim", url.Values{"setting": {"signing"}, "enabled": {"false"}}); st != http.StatusSeeOther || dkim() {
		t.Errorf("disable DKIM: %d, enabled=%v", st, dkim())
	}
	if st, _, _ := b.post("/identities/example.com/dkim", url.Values{"setting": {"signing"}, "enabled": {"true"}}); st != http.StatusSeeOther || !dkim() {
		t.Errorf("enable DKIM: %d", st)
	}
	if st, _, _ := b.post("/identities/example.com/dkim", url.Values{"setting": {"ed25519"}, "enabled": {"true"}}); st != http.StatusSeeOther {
		t.Errorf("Ed25519 on: %d", st)
	}
	if _, _, page := b.get("/identities/example.com"); !strings.Contains(page, "Ed25519 key (RFC 8463)") || !strings.Contains(page, "Waiting for its CNAME") {
		t.Error("the Ed25519 record is not in the table")
	}

	// Custom MAIL FROM: a subdomain only; its MX and SPF join the table.
	if st, _, body := b.post("/identities/example.com/mail-from", url.Values{"domain": {"mail.example.org"}}); st != http.StatusBadRequest || !strings.Contains(body, "subdomain") {
		t.Errorf("foreign MAIL FROM: %d", st)
	}
	if st, _, _ := b.post("/identities/example.com/mail-from", url.Values{"domain": {"mail.example.com"}, "behavior": {"REJECT_MESSAGE"}}); st != http.StatusSeeOther {
		t.Errorf("set MAIL FROM: %d", st)
	}
	_, _, page = b.get("/identities/example.com")
	if !strings.Contains(page, `<tr data-type="MX" data-status="missing">`) || !strings.Contains(page, "10 feedback-smtp.us-east-1.sesame.localhost") ||
		!strings.Contains(page, `value="REJECT_MESSAGE" selected`) || !strings.Contains(page, `data-field="MailFromStatus"`) {
		t.Error("the MAIL FROM records or settings are not on the page")
	}
	if st, _, _ := b.post("/identities/example.com/mail-from", url.Values{"remove": {"1"}}); st != http.StatusSeeOther {
		t.Errorf("remove MAIL FROM: %d", st)
	}
	if _, _, page := b.get("/identities/example.com"); strings.Contains(page, `data-type="MX"`) {
		t.Error("the MX record stays after removing MAIL FROM")
	}

	// An address under the verified domain is verified by inheritance and
	// signs with the domain's key; another address waits for its link.
	for _, addr := range []string{"news@example.com", "someone@example.org"} {
		if st, _, _ := b.post("/identities", url.Values{"identity": {addr}}); st != http.StatusSeeOther {
			t.Fatalf("create %s: %d", addr, st)
		}
	}
	if _, _, page := b.get("/identities/news@example.com"); !strings.Contains(page, "is verified: you can send from it") || !strings.Contains(page, "signed with the key of example.com") {
		t.Error("the inheriting address page")
	}
	if _, _, page := b.get("/identities/someone@example.org"); !strings.Contains(page, "Send the verification mail again") || !strings.Contains(page, "not DKIM-signed") {
		t.Error("the pending address page")
	}
	if st, loc, _ := b.post("/identities/someone@example.org/resend", url.Values{}); st != http.StatusSeeOther || !strings.Contains(loc, "done=resent") {
		t.Errorf("resend: %d %q", st, loc)
	}

	// Deleting asks for the name.
	if st, _, _ := b.post("/identities/someone@example.org/delete", url.Values{"confirm": {"someone"}}); st != http.StatusBadRequest {
		t.Errorf("delete without confirmation: %d", st)
	}
	if st, loc, _ := b.post("/identities/someone@example.org/delete", url.Values{"confirm": {"someone@example.org"}}); st != http.StatusSeeOther || !strings.HasPrefix(loc, "/identities?") {
		t.Errorf("delete: %d %q", st, loc)
	}
	if st, _, _ := b.get("/identities/someone@example.org"); st != http.StatusNotFound {
		t.Errorf("deleted identity: %d", st)
	}
}

// TestSendAndQueuePages: the test-email form's refusals, a message
// deferred by its destination on the queue page, the message page's
// actions, and the dashboard's hourly numbers.
func TestSendAndQueuePages(t *testing.T) {
	sink := smtptest.Start(t, nil)
	sink.DataErrs = []*smtp.SMTPError{{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}}
	e := testenv.Start(t, testenv.Options{Config: func(c *config.Config) { c.Transports = []string{"example.org=" + sink.Addr} }})
	e.VerifyDomain(t, nil, "", "example.com")
	b := newBrowser(t, e)
	b.signIn(e.Creds)
	if _, _, page := b.get("/send"); !strings.Contains(page, `<option value="test@example.com">`) || !strings.Contains(page, "success@simulator.sesame.localhost") {
		t.Errorf("send form: %s", page)
	}
	sim := "success@simulator.sesame.localhost"
	for _, tc := range []struct {
		name string
		form url.Values
		says string
	}{
		{"unverified sender", url.Values{"from": {"a@example.net"}, "scenario": {sim}, "subject": {"s"}, "body": {"x"}}, "not verified"},
		{"empty body", url.Values{"from": {"a@example.com"}, "scenario": {sim}, "subject": {"s"}}, "must not be empty"},
		{"no subject", url.Values{"from": {"a@example.com"}, "scenario": {sim}, "subject": {" "}}, "Enter a subject"},
		{"no recipient", url.Values{"from": {"a@example.com"}, "scenario": {"custom"}, "subject": {"s"}}, "Enter the recipient"},
		{"unknown scenario", url.Values{"from": {"a@example.com"}, "scenario": {"x@example.org"}, "subject": {"s"}}, "Unknown scenario"},
		{"header injection", url.Values{"from": {"a@example.com"}, "scenario": {sim}, "subject": {"s\r\nBcc: x@example.org"}}, "Subject"},
	} {
		st, _, body := b.post("/send", tc.form)
		said := regexp.MustCompile(`id="form-error">([^<]*)`).FindStringSubmatch(body)
		if st != http.StatusBadRequest || said == nil || !strings.Contains(said[1], tc.says) || !strings.Contains(body, `<form method="post" action="/send"`) {
			t.Errorf("%s: %d %q, want 400 saying %q", tc.name, st, said, tc.says)
		}
	}
	st, loc, _ := b.post("/send", url.Values{"from": {"a@example.com"}, "scenario": {"custom"}, "to": {"bob@example.org"}, "subject": {"Deferred"}, "body": {"x"}})
	if st != http.StatusSeeOther || !strings.HasPrefix(loc, "/messages/") {
		t.Fatalf("send: %d %q", st, loc)
	}
	msgPath, _, _ := strings.Cut(loc, "?")
	id := strings.TrimPrefix(msgPath, "/messages/")
	snstest.WaitFor(t, "the deferral", func() bool {
		_, _, body := b.get(msgPath + "/status")
		return strings.Contains(body, `"State":"deferred"`) && strings.Contains(body, "try again later")
	})
	_, _, page := b.get("/queue")
	if !regexp.MustCompile(`<td>example.org</td><td>0</td><td>1</td><td>0</td>`).MatchString(page) || !strings.Contains(page, "try again later") {
		t.Errorf("queue page:\n%s", page)
	}
	_, _, page = b.get(msgPath)
	if !strings.Contains(page, `<code id="message-id">`+id+`</code>`) || !strings.Contains(page, "Retry now") || strings.Contains(page, ">Release<") {
		t.Error("message page of a deferred message")
	}
	if st, _, _ := b.post(msgPath+"/hold", url.Values{}); st != http.StatusSeeOther {
		t.Errorf("hold: %d", st)
	}
	if _, _, page := b.get("/queue"); !regexp.MustCompile(`<td>example.org</td><td>0</td><td>0</td><td>1</td>`).MatchString(page) {
		t.Error("queue page after hold")
	}
	if _, _, page := b.get(msgPath); !strings.Contains(page, ">Release<") {
		t.Error("a held message offers no Release")
	}
	if st, _, _ := b.post(msgPath+"/release", url.Values{}); st != http.StatusSeeOther {
		t.Errorf("release: %d", st)
	}
	snstest.WaitFor(t, "delivery after release", func() bool { return len(sink.Messages()) == 1 })
	snstest.WaitFor(t, "the delivered state", func() bool {
		_, _, body := b.get(msgPath + "/status")
		return strings.Contains(body, `"Final":true`) && strings.Contains(body, `"Label":"Delivered"`)
	})
	if st, _, _ := b.post(msgPath+"/bounce", url.Values{}); st != http.StatusNotFound {
		t.Errorf("unknown action: %d", st)
	}

	// The dashboard's numbers: 1 send and 1 delivery this hour, in the
	// table under the chart and in the JSON route.
	var stats struct {
		Hours []struct{ Sends, Deliveries, Bounces, Complaints int }
	}
	_, _, body := b.get("/statistics")
	if err := json.Unmarshal([]byte(body), &stats); err != nil || len(stats.Hours) != 24 {
		t.Fatalf("statistics: %s", body)
	}
	if h := stats.Hours[23]; h.Sends != 1 || h.Deliveries != 1 {
		t.Errorf("this hour: %+v", h)
	}
	if st, _, _ := b.get("/statistics?hours=1000"); st != http.StatusBadRequest {
		t.Errorf("statistics for 1000 hours: %d", st)
	}
	_, _, page = b.get("/")
	if !strings.Contains(page, "Sends 1</li>") || !strings.Contains(page, "Deliveries 1</li>") || !strings.Contains(page, "<td>1</td><td>1</td><td>0</td><td>0</td>") {
		t.Errorf("dashboard:\n%s", page)
	}
	if st, loc, _ := b.post(msgPath+"/delete", url.Values{}); st != http.StatusSeeOther || !strings.HasPrefix(loc, "/messages?") {
		t.Errorf("delete: %d %q", st, loc)
	}
	if st, _, _ := b.get(msgPath); st != http.StatusNotFound {
		t.Errorf("deleted message: %d", st)
	}
}

// TestSuppressionPage: add, search by prefix and reason, page, remove.
func TestSuppressionPage(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	b := newBrowser(t, e)
	b.signIn(e.Creds)
	for i := range 105 {
		reason := "BOUNCE"
		if i%5 == 0 {
			reason = "COMPLAINT"
		}
		if st, _, _ := b.post("/suppression", url.Values{"address": {fmt.Sprintf("user%03d@example.org", i)}, "reason": {reason}}); st != http.StatusSeeOther {
			t.Fatalf("add %d: %d", i, st)
		}
	}
	if st, _, _ := b.post("/suppression", url.Values{"address": {"alice@example.org"}, "reason": {"BOUNCE"}}); st != http.StatusSeeOther {
		t.Fatal("add alice")
	}
	if st, _, body := b.post("/suppression", url.Values{"address": {"not an address"}, "reason": {"BOUNCE"}}); st != http.StatusBadRequest || !strings.Contains(body, "not an email address") {
		t.Errorf("bad address: %d", st)
	}
	count := func(body string) int { return strings.Count(body, `name="address" value="`) }
	_, _, page := b.get("/suppression")
	if count(page) != 100 || !strings.Contains(page, "Next page") {
		t.Errorf("first page lists %d", count(page))
	}
	after := regexp.MustCompile(`after=([^"&]+)`).FindStringSubmatch(page)
	if after == nil {
		t.Fatal("no next page link")
	}
	next, _ := url.QueryUnescape(after[1])
	if _, _, page := b.get("/suppression?after=" + url.QueryEscape(next)); count(page) != 6 || strings.Contains(page, "Next page") {
		t.Errorf("second page lists %d", count(page))
	}
	if _, _, page := b.get("/suppression?q=USER01"); count(page) != 10 {
		t.Errorf("prefix search lists %d, want user010-user019", count(page))
	}
	if _, _, page := b.get("/suppression?q=user010@example.org"); count(page) != 1 {
		t.Errorf("exact search lists %d", count(page))
	}
	if _, _, page := b.get("/suppression?q=user0&reason=COMPLAINT"); count(page) != 20 {
		t.Errorf("complaints starting user0: %d", count(page))
	}
	if st, _, _ := b.get("/suppression?reason=SPAM"); st != http.StatusBadRequest {
		t.Errorf("unknown reason: %d", st)
	}
	if st, _, _ := b.post("/suppression/remove", url.Values{"address": {"alice@example.org"}}); st != http.StatusSeeOther {
		t.Errorf("remove: %d", st)
	}
	if st, _, _ := b.post("/suppression/remove", url.Values{"address": {"alice@example.org"}}); st != http.StatusNotFound {
		t.Errorf("remove twice: %d", st)
	}
	ctx := context.Background()
	if _, err := e.SESv2("", nil).GetSuppressedDestination(ctx, &sesv2.GetSuppressedDestinationInput{EmailAddress: aws.String("user007@example.org")}); err != nil {
		t.Errorf("an address added in the console is not suppressed for the API: %v", err)
	}
	if _, err := e.SESv2("", nil).GetSuppressedDestination(ctx, &sesv2.GetSuppressedDestinationInput{EmailAddress: aws.String("alice@example.org")}); err == nil {
		t.Error("a removed address is still suppressed")
	}
}

// TestConfigurationSetPages: create a set, add an SNS destination, send
// through it, and see the webhook's deliveries on the set's page.
func TestConfigurationSetPages(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	e.VerifyDomain(t, nil, "", "example.com")
	sub := snstest.Start(t)
	b := newBrowser(t, e)
	b.signIn(e.Creds)
	if st, _, body := b.post("/configuration-sets", url.Values{"name": {"bad name!"}}); st != http.StatusBadRequest || !strings.Contains(body, "letters, digits") {
		t.Errorf("bad name: %d", st)
	}
	if st, loc, _ := b.post("/configuration-sets", url.Values{"name": {"marketing"}}); st != http.StatusSeeOther || !strings.HasPrefix(loc, "/configuration-sets/marketing?") {
		t.Fatalf("create: %d %q", st, loc)
	}
	if st, _, _ := b.post("/configuration-sets", url.Values{"name": {"marketing"}}); st != http.StatusConflict {
		t.Errorf("create twice: %d", st)
	}
	if _, _, page := b.get("/configuration-sets/marketing"); !strings.Contains(page, "aws sns create-topic") {
		t.Error("the set page does not say how to make a topic")
	}
	topic := snstest.Topic(t, e, "ses-events", sub)
	if _, _, page := b.get("/configuration-sets/marketing"); !strings.Contains(page, `<option value="`+topic+`">`) {
		t.Fatal("the topic is not offered")
	}
	if st, _, _ := b.post("/configuration-sets/marketing/destinations", url.Values{"destination": {"hooks"}, "topic": {"arn:aws:sns:us-east-1:000000000000:nope"}, "event_type": {"BOUNCE"}, "enabled": {"1"}}); st != http.StatusBadRequest {
		t.Errorf("a destination with another account's topic: %d", st)
	}
	if st, _, _ := b.post("/configuration-sets/marketing/destinations", url.Values{"destination": {"hooks"}, "topic": {topic}, "event_type": {"BOUNCE", "DELIVERY"}, "enabled": {"1"}}); st != http.StatusSeeOther {
		t.Fatalf("add destination: %d", st)
	}
	ctx := context.Background()
	got, err := e.SESv2("", nil).GetConfigurationSetEventDestinations(ctx, &sesv2.GetConfigurationSetEventDestinationsInput{ConfigurationSetName: aws.String("marketing")})
	if err != nil || len(got.EventDestinations) != 1 || !got.EventDestinations[0].Enabled || len(got.EventDestinations[0].MatchingEventTypes) != 2 {
		t.Fatalf("destinations through the API: %+v, %v", got, err)
	}
	// A send naming the set from the console's form: the webhook gets the
	// Delivery event, and the set's page lists that POST.
	if st, _, body := b.post("/send", url.Values{"from": {"a@example.com"}, "scenario": {"success@simulator.sesame.localhost"}, "subject": {"s"}, "body": {"b"}, "configuration_set": {"marketing"}}); st != http.StatusSeeOther {
		t.Fatalf("send: %d %s", st, regexp.MustCompile(`id="form-error">[^<]*`).FindString(body))
	}
	snstest.WaitFor(t, "the Delivery event at the webhook", func() bool {
		for _, m := range sub.Messages(t) {
			if m["eventType"] == "Delivery" {
				return true
			}
		}
		return false
	})
	snstest.WaitFor(t, "the delivered webhook on the set's page", func() bool {
		_, _, page := b.get("/configuration-sets/marketing")
		return strings.Contains(page, `<span class="badge ok">Delivered</span>`) && strings.Contains(page, sub.URL+"/hook") && strings.Contains(page, "200")
	})
	if _, _, page := b.get("/configuration-sets"); !strings.Contains(page, ">marketing</a>") {
		t.Error("the list does not show the set")
	}
	if st, _, _ := b.post("/configuration-sets/marketing/destinations/hooks/delete", url.Values{}); st != http.StatusSeeOther {
		t.Errorf("delete destination: %d", st)
	}
	if st, _, _ := b.post("/configuration-sets/marketing/destinations/hooks/delete", url.Values{}); st != http.StatusNotFound {
		t.Errorf("delete destination twice: %d", st)
	}
	if st, _, _ := b.post("/configuration-sets/marketing/delete", url.Values{}); st != http.StatusSeeOther {
		t.Errorf("delete set: %d", st)
	}
	if st, _, _ := b.get("/configuration-sets/marketing"); st != http.StatusNotFound {
		t.Errorf("deleted set: %d", st)
	}
}

// TestReceivedPage: mail taken in by the active receipt rule set is listed
// with its verdicts, for its account only.
func TestReceivedPage(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	e.VerifyDomain(t, nil, "", "in.example")
	e.DNS.Add(`sender.example. 300 IN TXT "v=spf1 ip4:127.0.0.0/8 -all"`)
	ctx := context.Background()
	v1 := e.SES("", nil)
	if _, err := v1.CreateReceiptRuleSet(ctx, &ses.CreateReceiptRuleSetInput{RuleSetName: aws.String("main")}); err != nil {
		t.Fatal(err)
	}
	if _, err := v1.CreateReceiptRule(ctx, &ses.CreateReceiptRuleInput{RuleSetName: aws.String("main"), Rule: &sestypes.ReceiptRule{
		Name: aws.String("keep"), Enabled: true, Recipients: []string{"in.example"},
		Actions: []sestypes.ReceiptAction{{S3Action: &sestypes.S3Action{BucketName: aws.String("mail")}}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := v1.SetActiveReceiptRuleSet(ctx, &ses.SetActiveReceiptRuleSetInput{RuleSetName: aws.String("main")}); err != nil {
		t.Fatal(err)
	}
	c, err := smtp.Dial(e.App.MXAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("sender.example"); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("ann@sender.example", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("help@in.example", nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "From: Ann <ann@sender.example>\r\nTo: help@in.example\r\nSubject: <b>Need help</b>\r\n\r\nPlease.\r\n")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, e)
	b.signIn(e.Creds)
	_, _, page := b.get("/received")
	link := regexp.MustCompile(`href="(/received/[^"?]+)`).FindStringSubmatch(page)
	if link == nil || !strings.Contains(page, "&lt;b&gt;Need help&lt;/b&gt;") || !strings.Contains(page, `<span class="badge ok">pass</span>`) {
		t.Fatalf("received list:\n%s", page)
	}
	if _, _, msg := b.get(link[1]); !strings.Contains(msg, "Authentication-Results:") || !strings.Contains(msg, "<dd>keep</dd>") {
		t.Errorf("received message page:\n%s", msg)
	}
	other := newBrowser(t, e)
	other.signIn(e.NewAccount(t, "acme", "production"))
	if st, _, _ := other.get(link[1]); st != http.StatusNotFound {
		t.Errorf("another account reads the received message: %d", st)
	}
	if _, _, page := other.get("/received"); strings.Contains(page, "Need help") {
		t.Error("another account's list shows the message")
	}
}
