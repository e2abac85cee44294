package audit_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sesv2types "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/miekg/dns"

	"github.com/sesame-email/sesame/internal/audit"
	"github.com/sesame-email/sesame/internal/dnsx"
	"github.com/sesame-email/sesame/internal/testenv"
)

// world is a running sesame with helpers that publish customer DNS.
type world struct {
	t      *testing.T
	env    *testenv.Env
	region string
	d      string // service domain
	fb     string // feedback host of the region
}

func newWorld(t *testing.T) *world {
	env := testenv.Start(t, testenv.Options{})
	w := &world{t: t, env: env, region: env.Region(), d: env.Config.DomainName()}
	w.fb = "feedback-smtp." + w.region + "." + w.d
	return w
}

func (w *world) tokens(domain string) []string {
	w.t.Helper()
	out, err := w.env.SESv2("", nil).GetEmailIdentity(context.Background(), &sesv2.GetEmailIdentityInput{EmailIdentity: aws.String(domain)})
	if err != nil {
		w.t.Fatal(err)
	}
	return out.DkimAttributes.Tokens
}

// mailFrom sets a custom MAIL FROM, publishes its MX and SPF, and checks
// it now, so it is SUCCESS.
func (w *world) mailFrom(domain, mf, spf string) {
	w.t.Helper()
	ctx := context.Background()
	w.env.DNS.Add(fmt.Sprintf("%s. 300 IN MX 10 %s.", mf, w.fb), fmt.Sprintf("%s. 300 IN TXT %q", mf, spf))
	if _, err := w.env.SESv2("", nil).PutEmailIdentityMailFromAttributes(ctx, &sesv2.PutEmailIdentityMailFromAttributesInput{
		EmailIdentity: aws.String(domain), MailFromDomain: aws.String(mf)}); err != nil {
		w.t.Fatal(err)
	}
	who, err := w.env.Admin(nil).WhoAmI(ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	id, err := w.env.App.Identities().CheckNow(ctx, who.Account.AccountId, w.region, domain)
	if err != nil || id.MailFrom.Verification.Status != "SUCCESS" {
		w.t.Fatalf("MAIL FROM %s: %+v %v", mf, id.MailFrom.Verification, err)
	}
}

func (w *world) txt(name, value string) {
	w.env.DNS.Add(fmt.Sprintf("%s. 300 IN TXT %q", name, value))
}

// publishPTR gives the service's sending addresses forward-confirmed
// reverse DNS in the customer zone.
func (w *world) publishPTR(r audit.Resolver) {
	w.t.Helper()
	txts, err := r.LookupTXT(context.Background(), w.d)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, t := range txts {
		rec, err := audit.ParseSPF(t)
		if err != nil {
			continue
		}
		for _, term := range rec.Terms {
			if term.Name != "ip4" && term.Name != "ip6" {
				continue
			}
			rev, _ := dns.ReverseAddr(term.Value)
			typ := "A"
			if term.Name == "ip6" {
				typ = "AAAA"
			}
			w.env.DNS.Add(fmt.Sprintf("%s 300 IN PTR mta.ptr.example.", rev))
			w.env.DNS.Add(fmt.Sprintf("mta.ptr.example. 300 IN %s %s", typ, term.Value))
		}
	}
}

func (w *world) resolver() *dnsx.Client {
	w.t.Helper()
	r, err := dnsx.New(dnsx.Options{Servers: []string{w.env.DNS.Addr()}})
	if err != nil {
		w.t.Fatal(err)
	}
	return r
}

func (w *world) run(opts audit.Options) *audit.Report {
	w.t.Helper()
	opts.AWS = w.env.AWSConfig(w.region, nil)
	if opts.Regions == nil {
		opts.Regions = []string{w.region}
	}
	if opts.Resolver == nil {
		opts.Resolver = w.resolver()
	}
	rep, err := audit.Run(context.Background(), opts)
	if err != nil {
		w.t.Fatalf("audit: %v", err)
	}
	return rep
}

func find(t *testing.T, rep *audit.Report, identity string) audit.IdentityReport {
	t.Helper()
	for _, r := range rep.Regions {
		for _, id := range r.Identities {
			if id.Identity == identity {
				return id
			}
		}
	}
	t.Fatalf("%s not in the report", identity)
	return audit.IdentityReport{}
}

func check(t *testing.T, id audit.IdentityReport, cid string) audit.Check {
	t.Helper()
	for _, c := range id.Checks {
		if c.ID == cid {
			return c
		}
	}
	t.Fatalf("%s: no check %s", id.Identity, cid)
	return audit.Check{}
}

// TestScenarios audits one sesame holding an identity per scenario of
// issue 9, each with its customer DNS on the loopback DNS server, and
// checks every scenario's verdict and fix line.
func TestScenarios(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	v2 := w.env.SESv2("", nil)
	d, fb := w.d, w.fb
	r := w.resolver()

	// All good: 2048-bit Easy DKIM, custom MAIL FROM, SPF, DMARC reject with
	// internal reports, reverse DNS for the sending hosts.
	w.env.VerifyDomainWithKey(t, nil, "", "good.example", sesv2types.DkimSigningKeyLengthRsa2048Bit)
	w.txt("good.example", "v=spf1 include:"+d+" -all")
	w.mailFrom("good.example", "mail.good.example", "v=spf1 include:"+d+" ~all")
	w.txt("_dmarc.good.example", "v=DMARC1; p=reject; rua=mailto:dmarc@good.example")
	w.publishPTR(r)
	// An address under it inherits its DKIM (seed 003); one under no
	// domain identity does not.
	for _, a := range []string{"news@good.example", "lost@orphan.example"} {
		if _, err := v2.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(a)}); err != nil {
			t.Fatal(err)
		}
	}

	// One DKIM CNAME missing.
	w.env.VerifyDomain(t, nil, "", "dkimgap.example")
	gap := w.tokens("dkimgap.example")[0]
	w.env.DNS.Remove(gap+"._domainkey.dkimgap.example", dns.TypeCNAME)

	// A CNAME published with the domain appended twice.
	w.env.VerifyDomain(t, nil, "", "doubled.example")
	dbl := w.tokens("doubled.example")[1]
	w.env.DNS.Remove(dbl+"._domainkey.doubled.example", dns.TypeCNAME)
	w.env.DNS.Add(fmt.Sprintf("%s._domainkey.doubled.example.doubled.example. 300 IN CNAME %s.dkim.%s.", dbl, dbl, d))

	// SPF with 11 DNS-querying terms on the From domain.
	w.env.VerifyDomain(t, nil, "", "spf11.example")
	terms := "v=spf1 include:" + d
	for i := 1; i <= 10; i++ {
		terms += fmt.Sprintf(" a:h%d.spf11.example", i)
		w.env.DNS.Add(fmt.Sprintf("h%d.spf11.example. 300 IN A 192.0.2.%d", i, i))
	}
	w.txt("spf11.example", terms+" -all")

	// +all on the custom MAIL FROM domain.
	w.env.VerifyDomain(t, nil, "", "plusall.example")
	w.mailFrom("plusall.example", "mail.plusall.example", "v=spf1 include:"+d+" +all")

	// Two SPF records on the From domain.
	w.env.VerifyDomain(t, nil, "", "twospf.example")
	w.txt("twospf.example", "v=spf1 include:"+d+" ~all")
	w.txt("twospf.example", "v=spf1 mx -all")

	// DMARC only on the organizational domain (seed 001/002).
	w.env.VerifyDomain(t, nil, "", "mail.orgdmarc.example")
	w.txt("_dmarc.orgdmarc.example", "v=DMARC1; p=quarantine; rua=mailto:dmarc@orgdmarc.example")

	// DMARC p=none without rua.
	w.env.VerifyDomain(t, nil, "", "nonerua.example")
	w.txt("_dmarc.nonerua.example", "v=DMARC1; p=none")

	// External rua without (and with) authorization.
	w.env.VerifyDomain(t, nil, "", "extrua.example")
	w.txt("_dmarc.extrua.example", "v=DMARC1; p=reject; rua=mailto:agg@reports.example")
	w.env.VerifyDomain(t, nil, "", "authrua.example")
	w.txt("_dmarc.authrua.example", "v=DMARC1; p=reject; rua=mailto:agg@reports.example")
	w.txt("authrua.example._report._dmarc.reports.example", "v=DMARC1")

	// MAIL FROM verified, then its MX moved elsewhere.
	w.env.VerifyDomain(t, nil, "", "mxaway.example")
	w.mailFrom("mxaway.example", "mail.mxaway.example", "v=spf1 include:"+d+" ~all")
	w.env.DNS.Set("mail.mxaway.example", dns.TypeMX, "mail.mxaway.example. 300 IN MX 10 mx.elsewhere.example.")

	// A small page size makes the driver page through ListEmailIdentities.
	rep := w.run(audit.Options{PageSize: 3})
	if rep.Service.Domain != d || rep.Service.Kind != audit.KindSesame {
		t.Errorf("service %+v, want %s learned from the API", rep.Service, d)
	}
	if n := len(rep.Regions[0].Identities); n != 13 {
		t.Errorf("%d identities audited, want 13", n)
	}
	if rep.SendingHosts == nil || rep.SendingHosts.Verdict != audit.Pass {
		t.Errorf("sending hosts: %+v", rep.SendingHosts)
	}

	good := find(t, rep, "good.example")
	for _, c := range good.Checks {
		if c.Verdict != audit.Pass || c.Fix != "" {
			t.Errorf("good.example %s: %s %q (fix %q)\nevidence %q", c.ID, c.Verdict, c.Summary, c.Fix, c.Evidence)
		}
	}
	if good.MailFromDomain != "mail.good.example" || good.DKIMDomain != "good.example" {
		t.Errorf("good.example: %+v", good)
	}

	tests := []struct {
		identity, check string
		verdict         audit.Verdict
		summary, fix    string // substrings
	}{
		{"news@good.example", audit.CheckDKIM, audit.Pass, "good.example signs", ""},
		{"news@good.example", audit.CheckAlignment, audit.Pass, "DKIM and by SPF", ""},
		{"lost@orphan.example", audit.CheckDKIM, audit.Fail, "no domain identity for orphan.example", "create and verify the domain identity orphan.example in " + w.region},
		{"lost@orphan.example", audit.CheckDKIM, audit.Fail, "lost@orphan.example is not verified for sending", "open the verification link mailed to lost@orphan.example"},
		{"dkimgap.example", audit.CheckDKIM, audit.Fail, "the DKIM CNAME " + gap + "._domainkey.dkimgap.example is missing",
			"publish CNAME " + gap + "._domainkey.dkimgap.example → " + gap + ".dkim." + d},
		{"dkimgap.example", audit.CheckAlignment, audit.Fail, "neither DKIM nor SPF", "fix the dkim check"},
		{"doubled.example", audit.CheckDKIM, audit.Fail, "published at " + dbl + "._domainkey.doubled.example.doubled.example",
			"rename " + dbl + "._domainkey.doubled.example.doubled.example to " + dbl + "._domainkey.doubled.example"},
		{"nonerua.example", audit.CheckDKIM, audit.Warn, "shorter than 2048 bits", "NextSigningKeyLength=RSA_2048_BIT"},
		{"spf11.example", audit.CheckSPFFrom, audit.Fail, "11 DNS-querying terms (RFC 7208 §4.6.4 allows 10)", "to at most 10 include/a/mx/ptr/exists/redirect terms"},
		{"spf11.example", audit.CheckSPFMailFrom, audit.Pass, "", ""},
		{"plusall.example", audit.CheckSPFMailFrom, audit.Fail, "mail.plusall.example ends in +all", "replace +all with ~all or -all in the SPF record at mail.plusall.example"},
		{"plusall.example", audit.CheckMailFrom, audit.Pass, "", ""},
		{"twospf.example", audit.CheckSPFFrom, audit.Fail, "2 SPF records at twospf.example", "merge the 2 SPF records at twospf.example into one"},
		{"mail.orgdmarc.example", audit.CheckDMARC, audit.Pass, "p=quarantine at _dmarc.orgdmarc.example", ""},
		{"nonerua.example", audit.CheckDMARC, audit.Warn, "p=none", "add rua=mailto:dmarc-reports@nonerua.example to _dmarc.nonerua.example"},
		{"nonerua.example", audit.CheckDMARC, audit.Warn, "no rua=", "move _dmarc.nonerua.example from p=none to p=quarantine"},
		{"extrua.example", audit.CheckDMARC, audit.Warn, "reports.example does not authorize it",
			`have reports.example publish TXT extrua.example._report._dmarc.reports.example "v=DMARC1"`},
		{"authrua.example", audit.CheckDMARC, audit.Pass, "", ""},
		{"mxaway.example", audit.CheckMailFrom, audit.Fail, "points to 10 mx.elsewhere.example",
			"set the MX of mail.mxaway.example to 10 " + fb},
		{"dkimgap.example", audit.CheckMailFrom, audit.Warn, "no custom MAIL FROM", "set a custom MAIL FROM such as mail.dkimgap.example"},
		{"dkimgap.example", audit.CheckDMARC, audit.Fail, "no DMARC record", `publish TXT _dmarc.dkimgap.example "v=DMARC1; p=none; rua=mailto:dmarc-reports@dkimgap.example"`},
		{"dkimgap.example", audit.CheckBulkSender, audit.Fail, "DKIM is required", "fix the dkim check"},
	}
	for _, tc := range tests {
		c := check(t, find(t, rep, tc.identity), tc.check)
		if c.Verdict != tc.verdict || !strings.Contains(c.Summary, tc.summary) || !strings.Contains(c.Fix, tc.fix) || (tc.verdict == audit.Pass) != (c.Fix == "") {
			t.Errorf("%s %s: %s %q\n fix %q\n want %s %q, fix %q\n evidence %q", tc.identity, tc.check, c.Verdict, c.Summary, c.Fix, tc.verdict, tc.summary, tc.fix, c.Evidence)
		}
	}
	if rep.ExitCode != audit.ExitFail || rep.Verdict != audit.Fail {
		t.Errorf("exit %d verdict %s, want 2 FAIL", rep.ExitCode, rep.Verdict)
	}

	// One identity at a time: all good exits 0, a warning 1.
	if one := w.run(audit.Options{Identity: "good.example"}); one.ExitCode != audit.ExitPass || len(one.Regions[0].Identities) != 1 {
		t.Errorf("--identity good.example: exit %d, %d identities", one.ExitCode, len(one.Regions[0].Identities))
	}
	if _, err := audit.Run(ctx, audit.Options{AWS: w.env.AWSConfig(w.region, nil), Regions: []string{w.region}, Resolver: r, Identity: "nobody.example"}); err == nil {
		t.Error("an unknown --identity did not fail")
	}

	// Every region, as the seed does: DescribeRegions, and the other
	// regions are empty.
	all := w.run(audit.Options{Regions: []string{"all"}, Identity: "good.example"})
	if len(all.Regions) != len(w.env.Config.Regions) {
		t.Errorf("all regions: %d, want %d", len(all.Regions), len(w.env.Config.Regions))
	}
}

// TestServiceDown: an endpoint that does not answer is "could not run".
func TestServiceDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	w := newWorld(t)
	cfg := w.env.AWSConfig(w.region, nil)
	cfg.BaseEndpoint = aws.String("http://" + addr)
	rep, err := audit.Run(context.Background(), audit.Options{AWS: cfg, Regions: []string{w.region}, Resolver: w.resolver()})
	if err != nil {
		t.Fatal(err)
	}
	if rep.ExitCode != audit.ExitCannotRun || rep.Regions[0].Error == "" {
		t.Errorf("exit %d, region %+v", rep.ExitCode, rep.Regions[0])
	}
}
