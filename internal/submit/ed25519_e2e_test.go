package submit_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/miekg/dns"

	"github.com/sesame-email/sesame/internal/dkim"
	"github.com/sesame-email/sesame/internal/dnsx"
)

// TestEd25519DualSigning: with Ed25519 on, the records table asks for a
// fourth CNAME; until it resolves mail carries only the RSA signature,
// afterwards both, and a receiver verifies both through the customer's
// CNAMEs and sesame's DNS (RFC 8463). Turning it off unpublishes the key.
func TestEd25519DualSigning(t *testing.T) { eachStore(t, testEd25519DualSigning) }

func testEd25519DualSigning(t *testing.T, st string) {
	env := devEnv(t, st)
	adm := env.Admin(nil)
	tok, err := adm.SetEd25519(ctx, "example.com", true)
	if err != nil || len(tok) != 32 {
		t.Fatalf("SetEd25519 = %q, %v", tok, err)
	}
	recs, err := adm.IdentityRecords(ctx, "example.com")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range recs {
		if r.Type == "CNAME" && r.Name == tok+"._domainkey.example.com" && r.Status == "missing" {
			found = true
		}
	}
	if !found {
		t.Fatalf("records table lacks the Ed25519 CNAME: %+v", recs)
	}
	send := func() []byte {
		out, err := env.SESv2("", nil).SendEmail(ctx, &sesv2.SendEmailInput{FromEmailAddress: aws.String("ann@example.com"),
			Destination: &types.Destination{ToAddresses: []string{"bob@example.org"}},
			Content:     &types.EmailContent{Simple: &types.Message{Subject: &types.Content{Data: aws.String("dual")}, Body: &types.Body{Text: &types.Content{Data: aws.String("b")}}}}})
		if err != nil {
			t.Fatal(err)
		}
		return captured(t, env, nil, aws.ToString(out.MessageId)).Raw
	}
	if raw := send(); bytes.Count(raw, []byte("DKIM-Signature:")) != 1 {
		t.Fatalf("signed with Ed25519 before its CNAME was published:\n%s", raw)
	}
	env.DNS.Add(fmt.Sprintf("%s._domainkey.example.com. 300 IN CNAME %s.dkim.%s.", tok, tok, env.Config.Domain))
	if v, err := adm.VerifyIdentity(ctx, "example.com"); err != nil || v.DkimStatus != "SUCCESS" {
		t.Fatalf("verify: %+v %v", v, err)
	}
	raw := send()
	if bytes.Count(raw, []byte("DKIM-Signature:")) != 2 || !bytes.Contains(raw, []byte("a=ed25519-sha256")) || !bytes.Contains(raw, []byte("a=rsa-sha256")) {
		t.Fatalf("want an RSA and an Ed25519 signature:\n%.600s", raw)
	}
	r, _ := dnsx.New(dnsx.Options{Servers: []string{env.DNS.Addr()}})
	vs, err := dkim.Verify(ctx, raw, r.LookupTXT)
	if err != nil || len(vs) != 2 || vs[0].Err != nil || vs[1].Err != nil {
		t.Fatalf("receiver's verification: %+v %v", vs, err)
	}
	if _, err := adm.SetEd25519(ctx, "example.com", false); err != nil {
		t.Fatal(err)
	}
	q := new(dns.Msg)
	q.SetQuestion(tok+".dkim."+env.Config.Domain+".", dns.TypeTXT)
	if resp, err := dns.Exchange(q, env.App.DNSAddr()); err != nil || resp.Rcode != dns.RcodeNameError {
		t.Errorf("Ed25519 key still served after off: %v %v", resp, err)
	}
	if raw := send(); bytes.Count(raw, []byte("DKIM-Signature:")) != 1 || strings.Contains(string(raw), "ed25519") {
		t.Errorf("still dual-signed after off")
	}
	// Only domains with DKIM can have it.
	if _, err := adm.SetEd25519(ctx, "nobody.example", true); err == nil {
		t.Error("Ed25519 on an unknown identity accepted")
	}
}
