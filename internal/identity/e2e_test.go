package identity_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	sestypes "github.com/aws/aws-sdk-go-v2/service/ses/types"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"
	"github.com/miekg/dns"

	"github.com/sesame-email/sesame/internal/clock"
	"github.com/sesame-email/sesame/internal/dkim"
	"github.com/sesame-email/sesame/internal/dnsx"
	"github.com/sesame-email/sesame/internal/identity"
	"github.com/sesame-email/sesame/internal/testenv"
)

var ctx = context.Background()

func start(t *testing.T) (*testenv.Env, *clock.Fake) {
	fake := clock.NewFake(time.Now().UTC())
	return testenv.Start(t, testenv.Options{Clock: fake, AuthClock: clock.System{}}), fake
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return fmt.Sprint(err)
}

// check re-checks an identity now, as `sesame identity verify` does.
func check(t *testing.T, env *testenv.Env, name string) {
	t.Helper()
	if _, err := env.App.Identities().CheckNow(ctx, accountOf(t, env), env.Region(), name); err != nil {
		t.Fatal(err)
	}
}

func accountOf(t *testing.T, env *testenv.Env) string {
	w, err := env.Admin(nil).WhoAmI(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return w.Account.AccountId
}

func get(t *testing.T, env *testenv.Env, name string) *sesv2.GetEmailIdentityOutput {
	t.Helper()
	out, err := env.SESv2("", nil).GetEmailIdentity(ctx, &sesv2.GetEmailIdentityInput{EmailIdentity: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func publishCNAMEs(env *testenv.Env, domain string, tokens []string) {
	for _, tok := range tokens {
		env.DNS.Add(fmt.Sprintf("%s._domainkey.%s. 300 IN CNAME %s.dkim.%s.", tok, domain, tok, env.Config.Domain))
	}
}

func TestEasyDKIMLifecycle(t *testing.T) {
	env, fake := start(t)
	out, err := env.SESv2("", nil).CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String("Example.com")})
	if err != nil {
		t.Fatal(err)
	}
	d := out.DkimAttributes
	if out.IdentityType != types.IdentityTypeDomain || out.VerifiedForSendingStatus || d.Status != types.DkimStatusPending ||
		len(d.Tokens) != 3 || d.SigningAttributesOrigin != types.DkimSigningAttributesOriginAwsSes ||
		d.CurrentSigningKeyLength != types.DkimSigningKeyLengthRsa2048Bit || !d.SigningEnabled || d.LastKeyGenerationTimestamp == nil {
		t.Fatalf("create: %+v dkim %+v", out, d)
	}
	tokens := d.Tokens
	// Sesame's DNS serves the three keys at once (through the resolver).
	r, _ := dnsx.New(dnsx.Options{Servers: []string{env.DNS.Addr()}})
	for _, tok := range tokens {
		txt, err := r.LookupTXT(ctx, tok+".dkim."+env.Config.Domain)
		if err != nil || !strings.HasPrefix(txt[0], "p=MII") {
			t.Fatalf("key for %s: %q %v", tok, txt, err)
		}
	}
	g := get(t, env, "example.com")
	if g.VerificationStatus != types.VerificationStatusPending || g.VerificationInfo.LastCheckedTimestamp != nil {
		t.Errorf("checked before the engine ran: %+v", g.VerificationInfo)
	}
	check(t, env, "example.com")
	g = get(t, env, "example.com")
	if g.VerificationStatus != types.VerificationStatusPending || g.VerificationInfo.ErrorType != types.VerificationErrorHostNotFound || g.VerificationInfo.LastCheckedTimestamp == nil {
		t.Errorf("pending: status %s info %+v", g.VerificationStatus, g.VerificationInfo)
	}

	publishCNAMEs(env, "example.com", tokens)
	check(t, env, "example.com")
	g = get(t, env, "example.com")
	if g.VerificationStatus != types.VerificationStatusSuccess || g.DkimAttributes.Status != types.DkimStatusSuccess || !g.VerifiedForSendingStatus || g.VerificationInfo.LastSuccessTimestamp == nil {
		t.Fatalf("after publishing: %s / %s", g.VerificationStatus, g.DkimAttributes.Status)
	}

	env.DNS.Remove(tokens[1]+"._domainkey.example.com", dns.TypeCNAME)
	fake.Advance(time.Hour)
	check(t, env, "example.com")
	if g = get(t, env, "example.com"); g.DkimAttributes.Status != types.DkimStatusTemporaryFailure {
		t.Fatalf("one CNAME removed: %s", g.DkimAttributes.Status)
	}
	fake.Advance(71 * time.Hour)
	check(t, env, "example.com")
	if g = get(t, env, "example.com"); g.DkimAttributes.Status != types.DkimStatusTemporaryFailure {
		t.Fatalf("71 h later: %s", g.DkimAttributes.Status)
	}
	fake.Advance(2 * time.Hour)
	// The background engine's work, done on demand: due identities checked.
	if n, err := env.App.Identities().RunDue(ctx, 100); err != nil || n != 1 {
		t.Fatalf("RunDue = %d, %v", n, err)
	}
	if g = get(t, env, "example.com"); g.DkimAttributes.Status != types.DkimStatusFailed || g.VerificationStatus != types.VerificationStatusFailed {
		t.Fatalf("73 h after removal: %s / %s", g.DkimAttributes.Status, g.VerificationStatus)
	}
	publishCNAMEs(env, "example.com", tokens[1:2])
	check(t, env, "example.com")
	if g = get(t, env, "example.com"); g.DkimAttributes.Status != types.DkimStatusSuccess || g.VerificationStatus != types.VerificationStatusSuccess {
		t.Fatalf("republished: %s / %s", g.DkimAttributes.Status, g.VerificationStatus)
	}
}

func TestBackgroundEngineVerifies(t *testing.T) {
	env := testenv.Start(t, testenv.Options{CheckInterval: 50 * time.Millisecond})
	out, err := env.SESv2("", nil).CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String("bg.example"),
		DkimSigningAttributes: &types.DkimSigningAttributes{NextSigningKeyLength: types.DkimSigningKeyLengthRsa1024Bit}})
	if err != nil {
		t.Fatal(err)
	}
	publishCNAMEs(env, "bg.example", out.DkimAttributes.Tokens)
	deadline := time.Now().Add(30 * time.Second)
	for get(t, env, "bg.example").VerificationStatus != types.VerificationStatusSuccess {
		if time.Now().After(deadline) {
			t.Fatal("the engine never verified the domain")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestDKIMKeyThroughCustomerCNAMEVerifiesSignature(t *testing.T) {
	env, _ := start(t)
	out, err := env.SESv2("", nil).CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String("signed.example")})
	if err != nil {
		t.Fatal(err)
	}
	publishCNAMEs(env, "signed.example", out.DkimAttributes.Tokens)
	signer, err := env.App.Identities().SigningKey(ctx, accountOf(t, env), env.Region(), "news@signed.example")
	if err != nil || signer == nil {
		t.Fatalf("SigningKey = %v, %v", signer, err)
	}
	msg := "From: news@signed.example\r\nTo: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n"
	h, err := signer.Sign([]byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(out.DkimAttributes.Tokens, func(tok string) bool { return strings.Contains(h, "s="+tok+";") }) || !strings.Contains(h, "d=signed.example") {
		t.Errorf("signature header %s", h)
	}
	// The verifier resolves token._domainkey.signed.example: the customer's
	// CNAME, then sesame's DNS for the key.
	r, _ := dnsx.New(dnsx.Options{Servers: []string{env.DNS.Addr()}})
	vs, err := dkim.Verify(ctx, []byte(h+msg), r.LookupTXT)
	if err != nil || len(vs) != 1 || vs[0].Err != nil {
		t.Fatalf("verify: %+v %v", vs, err)
	}
}

func TestLegacyTXTVerification(t *testing.T) {
	env, fake := start(t)
	v1 := env.SES("", nil)
	out, err := v1.VerifyDomainIdentity(ctx, &ses.VerifyDomainIdentityInput{Domain: aws.String("legacy.example")})
	if err != nil || len(aws.ToString(out.VerificationToken)) != 44 {
		t.Fatalf("VerifyDomainIdentity = %+v, %v", out, err)
	}
	tok := aws.ToString(out.VerificationToken)
	again, _ := v1.VerifyDomainIdentity(ctx, &ses.VerifyDomainIdentityInput{Domain: aws.String("legacy.example")})
	if aws.ToString(again.VerificationToken) != tok {
		t.Error("second VerifyDomainIdentity changed the token")
	}
	status := func() string {
		a, err := v1.GetIdentityVerificationAttributes(ctx, &ses.GetIdentityVerificationAttributesInput{Identities: []string{"legacy.example", "unknown.example"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := a.VerificationAttributes["unknown.example"]; ok {
			t.Error("unknown identity reported")
		}
		return string(a.VerificationAttributes["legacy.example"].VerificationStatus)
	}
	if s := status(); s != "Pending" {
		t.Fatalf("status %s", s)
	}
	env.DNS.Add(fmt.Sprintf(`_amazonses.legacy.example. 300 IN TXT "%s"`, tok))
	check(t, env, "legacy.example")
	if s := status(); s != "Success" {
		t.Fatalf("after TXT: %s", s)
	}
	env.DNS.Remove("_amazonses.legacy.example", dns.TypeTXT)
	check(t, env, "legacy.example")
	if s := status(); s != "TemporaryFailure" {
		t.Fatalf("TXT removed: %s", s)
	}
	fake.Advance(73 * time.Hour)
	check(t, env, "legacy.example")
	if s := status(); s != "Failed" {
		t.Fatalf("73 h: %s", s)
	}
	env.DNS.Add(fmt.Sprintf(`legacy.example. 300 IN TXT "amazonses:%s"`, tok)) // the apex form
	check(t, env, "legacy.example")
	if s := status(); s != "Success" {
		t.Fatalf("apex TXT: %s", s)
	}
	// DKIM was never started for a legacy identity; VerifyDomainDkim starts it.
	dk, _ := v1.GetIdentityDkimAttributes(ctx, &ses.GetIdentityDkimAttributesInput{Identities: []string{"legacy.example"}})
	if a := dk.DkimAttributes["legacy.example"]; a.DkimEnabled || a.DkimVerificationStatus != "NotStarted" {
		t.Errorf("legacy DKIM: %+v", a)
	}
	vd, err := v1.VerifyDomainDkim(ctx, &ses.VerifyDomainDkimInput{Domain: aws.String("legacy.example")})
	if err != nil || len(vd.DkimTokens) != 3 {
		t.Fatalf("VerifyDomainDkim = %+v, %v", vd, err)
	}
}

func byodkimKey(t *testing.T) (*rsa.PrivateKey, string) {
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	return k, base64.StdEncoding.EncodeToString(x509.MarshalPKCS1PrivateKey(k))
}

func TestBYODKIM(t *testing.T) {
	env, _ := start(t)
	k, b64 := byodkimKey(t)
	out, err := env.SESv2("", nil).CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String("own.example"),
		DkimSigningAttributes: &types.DkimSigningAttributes{DomainSigningSelector: aws.String("mail2024"), DomainSigningPrivateKey: aws.String(b64)}})
	if err != nil {
		t.Fatal(err)
	}
	if out.DkimAttributes.SigningAttributesOrigin != types.DkimSigningAttributesOriginExternal || !slices.Equal(out.DkimAttributes.Tokens, []string{"mail2024"}) {
		t.Fatalf("BYODKIM create: %+v", out.DkimAttributes)
	}
	// A TXT carrying another key does not verify.
	other, _ := byodkimKey(t)
	txtOther, _ := dkim.TXTRecord(other.Public())
	env.DNS.Add(fmt.Sprintf(`mail2024._domainkey.own.example. 300 IN TXT "v=DKIM1; k=rsa; %s"`, txtOther))
	check(t, env, "own.example")
	if g := get(t, env, "own.example"); g.DkimAttributes.Status != types.DkimStatusPending || g.VerificationInfo.ErrorType != types.VerificationErrorInvalidValue {
		t.Fatalf("wrong key: %s %s", g.DkimAttributes.Status, g.VerificationInfo.ErrorType)
	}
	txt, _ := dkim.TXTRecord(k.Public())
	parts := dkim.SplitTXT("v=DKIM1; k=rsa; " + txt)
	env.DNS.Set("mail2024._domainkey.own.example", dns.TypeTXT, fmt.Sprintf(`mail2024._domainkey.own.example. 300 IN TXT "%s"`, strings.Join(parts, `" "`)))
	check(t, env, "own.example")
	if g := get(t, env, "own.example"); g.DkimAttributes.Status != types.DkimStatusSuccess || g.VerificationStatus != types.VerificationStatusSuccess {
		t.Fatalf("right key: %s / %s", g.DkimAttributes.Status, g.VerificationStatus)
	}
}

func TestMailFrom(t *testing.T) {
	env, fake := start(t)
	v2 := env.SESv2("", nil)
	if _, err := v2.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String("mf.example"),
		DkimSigningAttributes: &types.DkimSigningAttributes{NextSigningKeyLength: types.DkimSigningKeyLengthRsa1024Bit}}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"mf.example", "bounce.other.example"} {
		_, err := v2.PutEmailIdentityMailFromAttributes(ctx, &sesv2.PutEmailIdentityMailFromAttributesInput{EmailIdentity: aws.String("mf.example"), MailFromDomain: aws.String(bad)})
		if apiCode(err) != "BadRequestException" {
			t.Errorf("MAIL FROM %s: %v", bad, err)
		}
	}
	if _, err := v2.PutEmailIdentityMailFromAttributes(ctx, &sesv2.PutEmailIdentityMailFromAttributesInput{EmailIdentity: aws.String("mf.example"),
		MailFromDomain: aws.String("bounce.mf.example"), BehaviorOnMxFailure: types.BehaviorOnMxFailureRejectMessage}); err != nil {
		t.Fatal(err)
	}
	mf := func() *types.MailFromAttributes { return get(t, env, "mf.example").MailFromAttributes }
	if m := mf(); aws.ToString(m.MailFromDomain) != "bounce.mf.example" || m.MailFromDomainStatus != types.MailFromDomainStatusPending || m.BehaviorOnMxFailure != types.BehaviorOnMxFailureRejectMessage {
		t.Fatalf("pending MAIL FROM: %+v", m)
	}
	feedback := "feedback-smtp." + env.Region() + "." + env.Config.Domain
	env.DNS.Add(`bounce.mf.example. 300 IN MX 10 mx.elsewhere.example.`, `bounce.mf.example. 300 IN TXT "v=spf1 include:`+env.Config.Domain+` ~all"`)
	check(t, env, "mf.example")
	if m := mf(); m.MailFromDomainStatus != types.MailFromDomainStatusPending {
		t.Fatalf("MX elsewhere: %s", m.MailFromDomainStatus)
	}
	env.DNS.Set("bounce.mf.example", dns.TypeMX, `bounce.mf.example. 300 IN MX 10 `+feedback+`.`)
	check(t, env, "mf.example")
	if m := mf(); m.MailFromDomainStatus != types.MailFromDomainStatusSuccess {
		t.Fatalf("published: %s", m.MailFromDomainStatus)
	}
	// v1 sees the same state with v1 spellings.
	a, err := env.SES("", nil).GetIdentityMailFromDomainAttributes(ctx, &ses.GetIdentityMailFromDomainAttributesInput{Identities: []string{"mf.example"}})
	if err != nil || a.MailFromDomainAttributes["mf.example"].MailFromDomainStatus != "Success" || a.MailFromDomainAttributes["mf.example"].BehaviorOnMXFailure != "RejectMessage" {
		t.Fatalf("v1 view: %+v %v", a, err)
	}
	env.DNS.Remove("bounce.mf.example", dns.TypeTXT)
	check(t, env, "mf.example")
	if m := mf(); m.MailFromDomainStatus != types.MailFromDomainStatusTemporaryFailure {
		t.Fatalf("SPF removed: %s", m.MailFromDomainStatus)
	}
	fake.Advance(73 * time.Hour)
	check(t, env, "mf.example")
	if m := mf(); m.MailFromDomainStatus != types.MailFromDomainStatusFailed {
		t.Fatalf("73 h: %s", m.MailFromDomainStatus)
	}
	// Turning it off through v1.
	if _, err := env.SES("", nil).SetIdentityMailFromDomain(ctx, &ses.SetIdentityMailFromDomainInput{Identity: aws.String("mf.example")}); err != nil {
		t.Fatal(err)
	}
	if m := mf(); aws.ToString(m.MailFromDomain) != "" {
		t.Errorf("MAIL FROM not cleared: %+v", m)
	}
}

func TestEmailIdentityAndInheritance(t *testing.T) {
	env, _ := start(t)
	v2 := env.SESv2("", nil)
	out, err := v2.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String("ann@solo.example")})
	if err != nil || out.IdentityType != types.IdentityTypeEmailAddress || out.DkimAttributes != nil {
		t.Fatalf("create address: %+v %v", out, err)
	}
	g := get(t, env, "ann@solo.example")
	if g.VerificationStatus != types.VerificationStatusPending || g.DkimAttributes.Status != types.DkimStatusNotStarted || g.DkimAttributes.SigningEnabled {
		t.Errorf("bare address: %s %+v", g.VerificationStatus, g.DkimAttributes)
	}
	mails := env.App.VerificationMails()
	if len(mails) != 1 || mails[0].To != "ann@solo.example" {
		t.Fatalf("verification mails: %+v", mails)
	}
	// The mail itself is queued for delivery, from sesame, with the link.
	msgs, err := env.Admin(nil).Messages(ctx, 10)
	if err != nil || len(msgs) != 1 || msgs[0].From != "no-reply@us-east-1.sesame.localhost" || msgs[0].MailFrom != "" {
		t.Fatalf("queued verification mail: %+v, %v", msgs, err)
	}
	if m, err := env.Admin(nil).Message(ctx, msgs[0].MessageId); err != nil || !strings.Contains(string(m.Raw), mails[0].Link) ||
		len(m.Recipients) != 1 || m.Recipients[0].Address != "ann@solo.example" {
		t.Errorf("verification mail content: %v", err)
	}
	// A forged token is refused; the real link verifies.
	u, _ := url.Parse(mails[0].Link)
	q := u.Query()
	q.Set("token", "forged")
	forged := *u
	forged.RawQuery = q.Encode()
	if resp, err := http.Get(forged.String()); err != nil || resp.StatusCode != 400 {
		t.Errorf("forged link: %v %v", resp.StatusCode, err)
	}
	resp, err := http.Get(mails[0].Link)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("link: %v %v", resp.StatusCode, err)
	}
	if g = get(t, env, "ann@solo.example"); g.VerificationStatus != types.VerificationStatusSuccess {
		t.Fatalf("after link: %s", g.VerificationStatus)
	}

	// An address under a verified domain inherits its verification and DKIM.
	dom, _ := v2.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String("corp.example"),
		DkimSigningAttributes: &types.DkimSigningAttributes{NextSigningKeyLength: types.DkimSigningKeyLengthRsa1024Bit}})
	v2.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String("bob@corp.example")})
	if g = get(t, env, "bob@corp.example"); g.VerifiedForSendingStatus {
		t.Error("address verified before its domain")
	}
	publishCNAMEs(env, "corp.example", dom.DkimAttributes.Tokens)
	check(t, env, "corp.example")
	g = get(t, env, "bob@corp.example")
	if !g.VerifiedForSendingStatus || g.DkimAttributes.Status != types.DkimStatusSuccess || !g.DkimAttributes.SigningEnabled || !slices.Equal(g.DkimAttributes.Tokens, dom.DkimAttributes.Tokens) {
		t.Errorf("inherited: %v %+v", g.VerifiedForSendingStatus, g.DkimAttributes)
	}
	dk, _ := env.SES("", nil).GetIdentityDkimAttributes(ctx, &ses.GetIdentityDkimAttributesInput{Identities: []string{"bob@corp.example"}})
	if a := dk.DkimAttributes["bob@corp.example"]; !a.DkimEnabled || a.DkimVerificationStatus != "Success" {
		t.Errorf("v1 inherited DKIM: %+v", a)
	}
}

// TestSeed003Flow is seed 003's audit done with aws-sdk-go-v2: every region
// from DescribeRegions, its domains and addresses, and their DKIM.
func TestSeed003Flow(t *testing.T) {
	env, _ := start(t)
	v2 := env.SESv2("ap-northeast-1", nil)
	dom, _ := v2.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String("fogefoge.example"),
		DkimSigningAttributes: &types.DkimSigningAttributes{NextSigningKeyLength: types.DkimSigningKeyLengthRsa1024Bit}})
	v2.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String("pending.example"),
		DkimSigningAttributes: &types.DkimSigningAttributes{NextSigningKeyLength: types.DkimSigningKeyLengthRsa1024Bit}})
	v2.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String("01_user@fogefoge.example")})
	publishCNAMEs(env, "fogefoge.example", dom.DkimAttributes.Tokens)
	if _, err := env.App.Identities().CheckNow(ctx, accountOf(t, env), "ap-northeast-1", "fogefoge.example"); err != nil {
		t.Fatal(err)
	}
	regions, err := env.EC2("us-east-1", nil).DescribeRegions(ctx, &ec2.DescribeRegionsInput{})
	if err != nil {
		t.Fatal(err)
	}
	report := map[string]string{}
	for _, r := range regions.Regions {
		v1 := env.SES(aws.ToString(r.RegionName), nil)
		for _, typ := range []string{"Domain", "EmailAddress"} {
			ids, err := v1.ListIdentities(ctx, &ses.ListIdentitiesInput{IdentityType: sesIdentityType(typ)})
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range ids.Identities {
				domain := id[strings.LastIndexByte(id, '@')+1:]
				a, err := v1.GetIdentityDkimAttributes(ctx, &ses.GetIdentityDkimAttributesInput{Identities: []string{domain}})
				if err != nil {
					t.Fatal(err)
				}
				at := a.DkimAttributes[domain]
				report[aws.ToString(r.RegionName)+" "+id] = fmt.Sprintf("%v/%s", at.DkimEnabled, at.DkimVerificationStatus)
			}
		}
	}
	want := map[string]string{
		"ap-northeast-1 fogefoge.example":         "true/Success",
		"ap-northeast-1 pending.example":          "true/Pending",
		"ap-northeast-1 01_user@fogefoge.example": "true/Success",
	}
	if fmt.Sprint(report) != fmt.Sprint(want) {
		t.Errorf("audit report %v, want %v", report, want)
	}
}

func TestBadInput(t *testing.T) {
	env, _ := start(t)
	v2 := env.SESv2("", nil)
	create := func(name string, attrs *types.DkimSigningAttributes) error {
		_, err := v2.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(name), DkimSigningAttributes: attrs})
		return err
	}
	for _, bad := range []string{"not a domain", "localhost", "-x.example", "a..b.example", "Ann <ann@example.com>", "ann@", "x\r\nBcc: y@z.example", strings.Repeat("a", 64) + ".example"} {
		if err := create(bad, nil); apiCode(err) != "BadRequestException" {
			t.Errorf("%q: %v", bad, err)
		}
	}
	_, notKey := byodkimKey(t)
	for _, attrs := range []*types.DkimSigningAttributes{
		{DomainSigningSelector: aws.String("s1"), DomainSigningPrivateKey: aws.String("bm90IGEga2V5")},
		{DomainSigningSelector: aws.String("bad_selector"), DomainSigningPrivateKey: aws.String(notKey)},
		{NextSigningKeyLength: "RSA_4096_BIT"},
	} {
		if err := create("byo.example", attrs); apiCode(err) != "BadRequestException" {
			t.Errorf("bad DKIM attributes %+v: %v", attrs, err)
		}
	}
	// IDNs are stored in punycode and found by either spelling.
	if err := create("bücher.example", &types.DkimSigningAttributes{NextSigningKeyLength: types.DkimSigningKeyLengthRsa1024Bit}); err != nil {
		t.Fatal(err)
	}
	list, err := v2.ListEmailIdentities(ctx, &sesv2.ListEmailIdentitiesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.EmailIdentities) != 1 || aws.ToString(list.EmailIdentities[0].IdentityName) != "xn--bcher-kva.example" {
		t.Errorf("IDN stored as %+v", list.EmailIdentities)
	}
	if err := create("XN--BCHER-KVA.example", nil); apiCode(err) != "AlreadyExistsException" {
		t.Errorf("duplicate: %v", err)
	}
	if _, err := v2.GetEmailIdentity(ctx, &sesv2.GetEmailIdentityInput{EmailIdentity: aws.String("nope.example")}); apiCode(err) != "NotFoundException" {
		t.Errorf("unknown: %v", err)
	}
	if _, err := v2.DeleteEmailIdentity(ctx, &sesv2.DeleteEmailIdentityInput{EmailIdentity: aws.String("nope.example")}); apiCode(err) != "NotFoundException" {
		t.Errorf("delete unknown: %v", err)
	}
	if _, err := v2.PutEmailIdentityDkimAttributes(ctx, &sesv2.PutEmailIdentityDkimAttributesInput{EmailIdentity: aws.String("nope.example"), SigningEnabled: true}); apiCode(err) != "NotFoundException" {
		t.Errorf("dkim attributes on unknown: %v", err)
	}
}

func TestIdentityLimit(t *testing.T) {
	env, _ := start(t)
	acct := accountOf(t, env)
	svc := env.App.Identities()
	// Fill the region to SES's limit directly through the service (address
	// identities need no key generation), then ask the API for one more.
	for i := range identity.MaxIdentities {
		if _, err := svc.CreateEmail(ctx, acct, env.Region(), fmt.Sprintf("u%05d@fill.example", i), nil, ""); err != nil {
			t.Fatal(err)
		}
	}
	_, err := env.SESv2("", nil).CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String("one-more@fill.example")})
	if apiCode(err) != "LimitExceededException" {
		t.Errorf("10,001st identity: %v", err)
	}
	_, err = env.SES("", nil).VerifyEmailIdentity(ctx, &ses.VerifyEmailIdentityInput{EmailAddress: aws.String("v1-more@fill.example")})
	if apiCode(err) != "LimitExceeded" {
		t.Errorf("10,001st identity via v1: %v", err)
	}
	// Another region is not full.
	if _, err := env.SESv2("eu-west-1", nil).CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String("one-more@fill.example")}); err != nil {
		t.Errorf("other region: %v", err)
	}
	// Paging through all 10,000 with ListEmailIdentities returns each once.
	seen := 0
	var next *string
	for {
		out, err := env.SESv2("", nil).ListEmailIdentities(ctx, &sesv2.ListEmailIdentitiesInput{PageSize: aws.Int32(1000), NextToken: next})
		if err != nil {
			t.Fatal(err)
		}
		seen += len(out.EmailIdentities)
		if out.NextToken == nil {
			break
		}
		next = out.NextToken
	}
	if seen != identity.MaxIdentities {
		t.Errorf("paged %d identities", seen)
	}
}

func sesIdentityType(s string) sestypes.IdentityType { return sestypes.IdentityType(s) }

// TestBYODKIMAndMailFromFullCycle runs the remaining status paths:
// BYODKIM and MAIL FROM records removed (TEMPORARY_FAILURE), 72 h later
// FAILED, published again (SUCCESS).
func TestBYODKIMAndMailFromFullCycle(t *testing.T) {
	env, fake := start(t)
	k, b64 := byodkimKey(t)
	v2 := env.SESv2("", nil)
	if _, err := v2.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String("cycle.example"),
		DkimSigningAttributes: &types.DkimSigningAttributes{DomainSigningSelector: aws.String("s1"), DomainSigningPrivateKey: aws.String(b64)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := v2.PutEmailIdentityMailFromAttributes(ctx, &sesv2.PutEmailIdentityMailFromAttributesInput{EmailIdentity: aws.String("cycle.example"), MailFromDomain: aws.String("mail.cycle.example")}); err != nil {
		t.Fatal(err)
	}
	txt, _ := dkim.TXTRecord(k.Public())
	keyRR := fmt.Sprintf(`s1._domainkey.cycle.example. 300 IN TXT "%s"`, strings.Join(dkim.SplitTXT(txt), `" "`))
	mxRR := "mail.cycle.example. 300 IN MX 10 feedback-smtp." + env.Region() + "." + env.Config.Domain + "."
	spfRR := `mail.cycle.example. 300 IN TXT "v=spf1 include:` + env.Config.Domain + ` -all"`
	env.DNS.Add(keyRR, mxRR, spfRR)
	status := func() (types.DkimStatus, types.MailFromDomainStatus) {
		check(t, env, "cycle.example")
		g := get(t, env, "cycle.example")
		return g.DkimAttributes.Status, g.MailFromAttributes.MailFromDomainStatus
	}
	steps := []struct {
		name   string
		do     func()
		dk     types.DkimStatus
		mailMF types.MailFromDomainStatus
	}{
		{"published", func() {}, types.DkimStatusSuccess, types.MailFromDomainStatusSuccess},
		{"removed", func() {
			env.DNS.Remove("s1._domainkey.cycle.example", dns.TypeTXT)
			env.DNS.Remove("mail.cycle.example", dns.TypeMX)
		}, types.DkimStatusTemporaryFailure, types.MailFromDomainStatusTemporaryFailure},
		{"71 h later", func() { fake.Advance(71 * time.Hour) }, types.DkimStatusTemporaryFailure, types.MailFromDomainStatusTemporaryFailure},
		{"72 h later", func() { fake.Advance(time.Hour) }, types.DkimStatusFailed, types.MailFromDomainStatusFailed},
		{"published again", func() { env.DNS.Add(keyRR, mxRR) }, types.DkimStatusSuccess, types.MailFromDomainStatusSuccess},
	}
	for _, s := range steps {
		s.do()
		dk, mf := status()
		if dk != s.dk || mf != s.mailMF {
			t.Fatalf("%s: DKIM %s MAIL FROM %s; want %s / %s", s.name, dk, mf, s.dk, s.mailMF)
		}
	}
}

// TestKeyRotationKeepsOldKeysPublished switches an Easy DKIM domain to new
// keys: the old keys stay in sesame's DNS (mail signed a moment ago still
// verifies) until the new CNAMEs verify, then they are dropped.
func TestKeyRotationKeepsOldKeysPublished(t *testing.T) {
	env, _ := start(t)
	v2 := env.SESv2("", nil)
	out, err := v2.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String("rot.example"),
		DkimSigningAttributes: &types.DkimSigningAttributes{NextSigningKeyLength: types.DkimSigningKeyLengthRsa1024Bit}})
	if err != nil {
		t.Fatal(err)
	}
	old := out.DkimAttributes.Tokens
	publishCNAMEs(env, "rot.example", old)
	check(t, env, "rot.example")
	r, _ := dnsx.New(dnsx.Options{Servers: []string{env.DNS.Addr()}})
	resolves := func(tok string) bool {
		txt, err := r.LookupTXT(ctx, tok+".dkim."+env.Config.Domain)
		return err == nil && len(txt) > 0
	}
	edTok, err := env.Admin(nil).SetEd25519(ctx, "rot.example", true)
	if err != nil {
		t.Fatal(err)
	}
	rot, err := v2.PutEmailIdentityDkimSigningAttributes(ctx, &sesv2.PutEmailIdentityDkimSigningAttributesInput{EmailIdentity: aws.String("rot.example"),
		SigningAttributesOrigin: types.DkimSigningAttributesOriginAwsSes,
		SigningAttributes:       &types.DkimSigningAttributes{NextSigningKeyLength: types.DkimSigningKeyLengthRsa2048Bit}})
	if err != nil {
		t.Fatal(err)
	}
	fresh := rot.DkimTokens
	if len(fresh) != 3 || slices.Equal(fresh, old) || rot.DkimStatus != types.DkimStatusPending {
		t.Fatalf("rotation: %+v", rot)
	}
	check(t, env, "rot.example")
	for _, tok := range append(append([]string{}, old...), fresh...) {
		if !resolves(tok) {
			t.Errorf("key %s not published during the rotation", tok)
		}
	}
	if g := get(t, env, "rot.example"); !g.VerifiedForSendingStatus || g.DkimAttributes.Status != types.DkimStatusPending || g.DkimAttributes.CurrentSigningKeyLength != types.DkimSigningKeyLengthRsa2048Bit {
		t.Errorf("during rotation: verified %v DKIM %s %s", g.VerifiedForSendingStatus, g.DkimAttributes.Status, g.DkimAttributes.CurrentSigningKeyLength)
	}
	// New mail is signed with a new key already.
	signer, _ := env.App.Identities().SigningKey(ctx, accountOf(t, env), env.Region(), "a@rot.example")
	h, _ := signer.Sign([]byte("From: a@rot.example\r\n\r\nx\r\n"))
	if !slices.ContainsFunc(fresh, func(tok string) bool { return strings.Contains(h, "s="+tok+";") }) {
		t.Errorf("signed with an old key: %s", h)
	}
	publishCNAMEs(env, "rot.example", fresh)
	check(t, env, "rot.example")
	for _, tok := range old {
		if resolves(tok) {
			t.Errorf("old key %s still published after the new keys verified", tok)
		}
	}
	for _, tok := range fresh {
		if !resolves(tok) {
			t.Errorf("new key %s not published", tok)
		}
	}
	// The Ed25519 key is not rotated with the RSA keys.
	if !resolves(edTok) {
		t.Errorf("Ed25519 key %s dropped by the RSA rotation", edTok)
	}
}

// TestCheckKeepsConcurrentChanges: a check waits on DNS for a while; a MAIL
// FROM domain set through the API meanwhile survive it (the check
// merges its result into the identity as stored, and runs again when what
// it checked changed), and the statuses still come out of a check. The
// same with a notification setting made meanwhile.
func TestCheckKeepsConcurrentChanges(t *testing.T) {
	env, _ := start(t)
	v2 := env.SESv2("", nil)
	out, err := v2.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String("slow.example"),
		DkimSigningAttributes: &types.DkimSigningAttributes{NextSigningKeyLength: types.DkimSigningKeyLengthRsa1024Bit}})
	if err != nil {
		t.Fatal(err)
	}
	publishCNAMEs(env, "slow.example", out.DkimAttributes.Tokens)
	env.DNS.SetDelay(out.DkimAttributes.Tokens[0]+"._domainkey.slow.example", 700*time.Millisecond)
	done := make(chan error, 1)
	go func() {
		_, err := env.App.Identities().CheckNow(ctx, accountOf(t, env), env.Region(), "slow.example")
		done <- err
	}()
	time.Sleep(200 * time.Millisecond) // the check is waiting on DNS now
	if _, err := v2.PutEmailIdentityMailFromAttributes(ctx, &sesv2.PutEmailIdentityMailFromAttributesInput{EmailIdentity: aws.String("slow.example"),
		MailFromDomain: aws.String("mail.slow.example")}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.SES("", nil).SetIdentityHeadersInNotificationsEnabled(ctx, &ses.SetIdentityHeadersInNotificationsEnabledInput{Identity: aws.String("slow.example"),
		NotificationType: sestypes.NotificationTypeBounce, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	g := get(t, env, "slow.example")
	if aws.ToString(g.MailFromAttributes.MailFromDomain) != "mail.slow.example" {
		t.Errorf("the check overwrote the MAIL FROM domain set meanwhile: %q", aws.ToString(g.MailFromAttributes.MailFromDomain))
	}
	na, err := env.SES("", nil).GetIdentityNotificationAttributes(ctx, &ses.GetIdentityNotificationAttributesInput{Identities: []string{"slow.example"}})
	if err != nil || !na.NotificationAttributes["slow.example"].HeadersInBounceNotificationsEnabled {
		t.Errorf("the check overwrote the notification setting made meanwhile: %+v, %v", na, err)
	}
	if g.DkimAttributes.Status != types.DkimStatusSuccess || g.MailFromAttributes.MailFromDomainStatus != types.MailFromDomainStatusFailed && g.MailFromAttributes.MailFromDomainStatus != types.MailFromDomainStatusPending {
		t.Errorf("statuses after the check: DKIM %s, MAIL FROM %s", g.DkimAttributes.Status, g.MailFromAttributes.MailFromDomainStatus)
	}
}
