package submit_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	sestypes "github.com/aws/aws-sdk-go-v2/service/ses/types"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
)

func TestTemplatesCRUD(t *testing.T) { eachStore(t, testTemplatesCRUD) }

func testTemplatesCRUD(t *testing.T, st string) {
	env := devEnv(t, st)
	v2, v1 := env.SESv2("", nil), env.SES("", nil)
	content := &types.EmailTemplateContent{Subject: aws.String("Hello, {{name}}!"), Text: aws.String("Dear {{name}}, {{#each items}}{{this}} {{/each}}"),
		Html: aws.String("<h1>Hello {{name}}</h1>")}
	if _, err := v2.CreateEmailTemplate(ctx, &sesv2.CreateEmailTemplateInput{TemplateName: aws.String("welcome"), TemplateContent: content}); err != nil {
		t.Fatal(err)
	}
	if _, err := v2.CreateEmailTemplate(ctx, &sesv2.CreateEmailTemplateInput{TemplateName: aws.String("welcome"), TemplateContent: content}); apiCode(err) != "AlreadyExistsException" {
		t.Errorf("duplicate: %v", err)
	}
	bad := &types.EmailTemplateContent{Subject: aws.String("{{#if x}}never closed")}
	if _, err := v2.CreateEmailTemplate(ctx, &sesv2.CreateEmailTemplateInput{TemplateName: aws.String("bad"), TemplateContent: bad}); apiCode(err) != "BadRequestException" {
		t.Errorf("bad syntax v2: %v", err)
	}
	_, err := v1.CreateTemplate(ctx, &ses.CreateTemplateInput{Template: &sestypes.Template{TemplateName: aws.String("bad name!"), SubjectPart: aws.String("x")}})
	if apiCode(err) != "InvalidTemplate" {
		t.Errorf("bad name v1: %v", err)
	}
	if _, err := v1.CreateTemplate(ctx, &ses.CreateTemplateInput{Template: &sestypes.Template{TemplateName: aws.String("v1tpl"), SubjectPart: aws.String("S {{a}}"), TextPart: aws.String("T")}}); err != nil {
		t.Fatal(err)
	}
	got, err := v2.GetEmailTemplate(ctx, &sesv2.GetEmailTemplateInput{TemplateName: aws.String("v1tpl")})
	if err != nil || aws.ToString(got.TemplateContent.Subject) != "S {{a}}" {
		t.Fatalf("v2 sees the v1 template: %+v %v", got, err)
	}
	g1, err := v1.GetTemplate(ctx, &ses.GetTemplateInput{TemplateName: aws.String("welcome")})
	if err != nil || aws.ToString(g1.Template.HtmlPart) != "<h1>Hello {{name}}</h1>" {
		t.Fatalf("v1 GetTemplate: %+v %v", g1, err)
	}
	l1, err := v1.ListTemplates(ctx, &ses.ListTemplatesInput{MaxItems: aws.Int32(1)})
	if err != nil || len(l1.TemplatesMetadata) != 1 || aws.ToString(l1.TemplatesMetadata[0].Name) != "v1tpl" || l1.NextToken == nil {
		t.Fatalf("v1 ListTemplates page 1: %+v %v", l1, err)
	}
	l1, _ = v1.ListTemplates(ctx, &ses.ListTemplatesInput{MaxItems: aws.Int32(1), NextToken: l1.NextToken})
	if len(l1.TemplatesMetadata) != 1 || aws.ToString(l1.TemplatesMetadata[0].Name) != "welcome" || l1.NextToken != nil {
		t.Fatalf("v1 ListTemplates page 2: %+v", l1)
	}
	l2, err := v2.ListEmailTemplates(ctx, &sesv2.ListEmailTemplatesInput{})
	if err != nil || len(l2.TemplatesMetadata) != 2 || l2.TemplatesMetadata[0].CreatedTimestamp == nil {
		t.Fatalf("v2 ListEmailTemplates: %+v %v", l2, err)
	}

	r, err := v2.TestRenderEmailTemplate(ctx, &sesv2.TestRenderEmailTemplateInput{TemplateName: aws.String("welcome"), TemplateData: aws.String(`{"name":"Jane","items":["a","b"]}`)})
	if err != nil || !strings.Contains(aws.ToString(r.RenderedTemplate), "Subject: Hello, Jane!") || !strings.Contains(aws.ToString(r.RenderedTemplate), "Dear Jane, a b") {
		t.Fatalf("render: %v\n%s", err, aws.ToString(r.RenderedTemplate))
	}
	_, err = v1.TestRenderTemplate(ctx, &ses.TestRenderTemplateInput{TemplateName: aws.String("welcome"), TemplateData: aws.String(`{"favoritenumber":"10"}`)})
	if apiCode(err) != "MissingRenderingAttribute" || !strings.Contains(err.Error(), "Attribute 'name' is not present") {
		t.Errorf("missing attribute v1: %v", err)
	}
	_, err = v2.TestRenderEmailTemplate(ctx, &sesv2.TestRenderEmailTemplateInput{TemplateName: aws.String("welcome"), TemplateData: aws.String(`not json`)})
	if apiCode(err) != "BadRequestException" {
		t.Errorf("bad data v2: %v", err)
	}
	if _, err := v2.UpdateEmailTemplate(ctx, &sesv2.UpdateEmailTemplateInput{TemplateName: aws.String("welcome"), TemplateContent: &types.EmailTemplateContent{Subject: aws.String("Hi {{name}}")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := v2.DeleteEmailTemplate(ctx, &sesv2.DeleteEmailTemplateInput{TemplateName: aws.String("v1tpl")}); err != nil {
		t.Fatal(err)
	}
	if _, err := v1.GetTemplate(ctx, &ses.GetTemplateInput{TemplateName: aws.String("v1tpl")}); apiCode(err) != "TemplateDoesNotExist" {
		t.Errorf("deleted template v1: %v", err)
	}
	if _, err := v2.GetEmailTemplate(ctx, &sesv2.GetEmailTemplateInput{TemplateName: aws.String("v1tpl")}); apiCode(err) != "NotFoundException" {
		t.Errorf("deleted template v2: %v", err)
	}
}

func TestTemplatedSends(t *testing.T) { eachStore(t, testTemplatedSends) }

func testTemplatedSends(t *testing.T, st string) {
	env := devEnv(t, st)
	v2, v1 := env.SESv2("", nil), env.SES("", nil)
	v2.CreateEmailTemplate(ctx, &sesv2.CreateEmailTemplateInput{TemplateName: aws.String("order"), TemplateContent: &types.EmailTemplateContent{
		Subject: aws.String("Order {{id}} for {{name}}"), Text: aws.String("Total: {{total}}"), Html: aws.String("<p>{{name}}</p>")}})

	out, err := v2.SendEmail(ctx, &sesv2.SendEmailInput{FromEmailAddress: aws.String("shop@example.com"), Destination: &types.Destination{ToAddresses: []string{"c@example.org"}},
		Content: &types.EmailContent{Template: &types.Template{TemplateName: aws.String("order"), TemplateData: aws.String(`{"id":42,"name":"<Jane>","total":"9.90"}`)}}})
	if err != nil {
		t.Fatal(err)
	}
	m := captured(t, env, nil, aws.ToString(out.MessageId))
	// SES does not HTML-escape template values in the HTML part (SES
	// Developer Guide, "Advanced email personalization"): callers escape.
	if m.Subject != "Order 42 for <Jane>" || !strings.Contains(string(m.Raw), "<p><Jane></p>") {
		t.Errorf("rendered: subject %q\n%s", m.Subject, m.Raw)
	}
	verifyDKIM(t, env, m.Raw)
	// Inline template content.
	out, err = v2.SendEmail(ctx, &sesv2.SendEmailInput{FromEmailAddress: aws.String("shop@example.com"), Destination: &types.Destination{ToAddresses: []string{"c@example.org"}},
		Content: &types.EmailContent{Template: &types.Template{TemplateContent: &types.EmailTemplateContent{Subject: aws.String("Inline {{x}}"), Text: aws.String("t")},
			TemplateData: aws.String(`{"x":"ok"}`)}}})
	if err != nil {
		t.Fatal(err)
	}
	if m := captured(t, env, nil, aws.ToString(out.MessageId)); m.Subject != "Inline ok" {
		t.Errorf("inline subject %q", m.Subject)
	}
	// A rendering failure is refused with the reason.
	_, err = v2.SendEmail(ctx, &sesv2.SendEmailInput{FromEmailAddress: aws.String("shop@example.com"), Destination: &types.Destination{ToAddresses: []string{"c@example.org"}},
		Content: &types.EmailContent{Template: &types.Template{TemplateName: aws.String("order"), TemplateData: aws.String(`{"id":1}`)}}})
	if apiCode(err) != "MessageRejected" || !strings.Contains(err.Error(), "Attribute 'name' is not present") {
		t.Errorf("missing attribute at send: %v", err)
	}
	o1, err := v1.SendTemplatedEmail(ctx, &ses.SendTemplatedEmailInput{Source: aws.String("shop@example.com"), Template: aws.String("order"),
		Destination: &sestypes.Destination{ToAddresses: []string{"v1@example.org"}}, TemplateData: aws.String(`{"id":7,"name":"Ann","total":"1"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if m := captured(t, env, nil, aws.ToString(o1.MessageId)); m.Subject != "Order 7 for Ann" {
		t.Errorf("v1 templated subject %q", m.Subject)
	}
	if _, err := v1.SendTemplatedEmail(ctx, &ses.SendTemplatedEmailInput{Source: aws.String("shop@example.com"), Template: aws.String("nope"),
		Destination: &sestypes.Destination{ToAddresses: []string{"v1@example.org"}}, TemplateData: aws.String(`{}`)}); apiCode(err) != "TemplateDoesNotExist" {
		t.Errorf("unknown template v1: %v", err)
	}

	bulk, err := v2.SendBulkEmail(ctx, &sesv2.SendBulkEmailInput{FromEmailAddress: aws.String("shop@example.com"),
		DefaultContent: &types.BulkEmailContent{Template: &types.Template{TemplateName: aws.String("order"), TemplateData: aws.String(`{"id":1,"total":"5"}`)}},
		BulkEmailEntries: []types.BulkEmailEntry{
			{Destination: &types.Destination{ToAddresses: []string{"a@example.org"}}, ReplacementEmailContent: &types.ReplacementEmailContent{ReplacementTemplate: &types.ReplacementTemplate{ReplacementTemplateData: aws.String(`{"name":"A"}`)}}},
			{Destination: &types.Destination{ToAddresses: []string{"b@example.org"}}},
			{Destination: &types.Destination{ToAddresses: []string{"not an address"}}, ReplacementEmailContent: &types.ReplacementEmailContent{ReplacementTemplate: &types.ReplacementTemplate{ReplacementTemplateData: aws.String(`{"name":"C"}`)}}},
		}})
	if err != nil {
		t.Fatal(err)
	}
	r := bulk.BulkEmailEntryResults
	if len(r) != 3 || r[0].Status != types.BulkEmailStatusSuccess || r[1].Status != types.BulkEmailStatusMessageRejected || r[2].Status != types.BulkEmailStatusInvalidParameter {
		t.Fatalf("bulk results %+v", r)
	}
	if m := captured(t, env, nil, aws.ToString(r[0].MessageId)); m.Subject != "Order 1 for A" {
		t.Errorf("bulk subject %q", m.Subject)
	}
	b1, err := v1.SendBulkTemplatedEmail(ctx, &ses.SendBulkTemplatedEmailInput{Source: aws.String("shop@example.com"), Template: aws.String("order"),
		DefaultTemplateData: aws.String(`{"id":2,"total":"3","name":"Default"}`),
		Destinations: []sestypes.BulkEmailDestination{{Destination: &sestypes.Destination{ToAddresses: []string{"x@example.org"}}},
			{Destination: &sestypes.Destination{ToAddresses: []string{"y@example.org"}}, ReplacementTemplateData: aws.String(`{"name":"Y"}`)}}})
	if err != nil || len(b1.Status) != 2 || b1.Status[0].Status != sestypes.BulkEmailStatusSuccess || b1.Status[1].Status != sestypes.BulkEmailStatusSuccess {
		t.Fatalf("v1 bulk: %+v %v", b1, err)
	}
	if m := captured(t, env, nil, aws.ToString(b1.Status[1].MessageId)); m.Subject != "Order 2 for Y" {
		t.Errorf("v1 bulk subject %q", m.Subject)
	}
}
