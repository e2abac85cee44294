package sesapi

import (
	"strconv"

	"github.com/sesame-email/sesame/internal/submit"
	"github.com/sesame-email/sesame/internal/templates"
)

func (s *Server) v1TemplateOps(ops map[string]v1Op) {
	ops["CreateTemplate"] = s.v1CreateTemplate
	ops["UpdateTemplate"] = s.v1UpdateTemplate
	ops["GetTemplate"] = s.v1GetTemplate
	ops["DeleteTemplate"] = s.v1DeleteTemplate
	ops["ListTemplates"] = s.v1ListTemplates
	ops["TestRenderTemplate"] = s.v1TestRenderTemplate
	ops["SendTemplatedEmail"] = s.v1SendTemplatedEmail
	ops["SendBulkTemplatedEmail"] = s.v1SendBulkTemplatedEmail
}

func v1TemplateParam(c *call) (string, templates.Content) {
	return c.form.Get("Template.TemplateName"), templates.Content{Subject: c.form.Get("Template.SubjectPart"),
		Text: c.form.Get("Template.TextPart"), HTML: c.form.Get("Template.HtmlPart")}
}

func (s *Server) v1CreateTemplate(c *call) (func(*xmlw), error) {
	name, content := v1TemplateParam(c)
	return nil, templateErr(s.cfg.Templates.Create(c.ctx, c.p.AccountID, c.region, name, content))
}

func (s *Server) v1UpdateTemplate(c *call) (func(*xmlw), error) {
	name, content := v1TemplateParam(c)
	return nil, templateErr(s.cfg.Templates.Update(c.ctx, c.p.AccountID, c.region, name, content))
}

func (s *Server) v1GetTemplate(c *call) (func(*xmlw), error) {
	name, err := required(c, "TemplateName")
	if err != nil {
		return nil, err
	}
	t, err := s.cfg.Templates.Get(c.ctx, c.p.AccountID, c.region, name)
	if err != nil {
		return nil, templateErr(err)
	}
	return func(x *xmlw) {
		x.open("Template")
		x.elem("TemplateName", t.Name)
		x.elem("SubjectPart", t.Subject)
		x.elem("TextPart", t.Text)
		x.elem("HtmlPart", t.HTML)
		x.close("Template")
	}, nil
}

func (s *Server) v1DeleteTemplate(c *call) (func(*xmlw), error) {
	name, err := required(c, "TemplateName")
	if err != nil {
		return nil, err
	}
	return nil, templateErr(s.cfg.Templates.Delete(c.ctx, c.p.AccountID, c.region, name))
}

func (s *Server) v1ListTemplates(c *call) (func(*xmlw), error) {
	limit := 10
	if v := c.form.Get("MaxItems"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return nil, errBadRequest("MaxItems must be between 1 and 100.")
		}
		limit = n
	}
	list, next, err := s.templatePage(c, c.form.Get("NextToken"), limit)
	if err != nil {
		return nil, err
	}
	return func(x *xmlw) {
		x.open("TemplatesMetadata")
		for _, t := range list {
			x.open("member")
			x.elem("Name", t.Name) // v1 says Name where v2 says TemplateName (reference §10)
			x.time("CreatedTimestamp", t.CreatedAt)
			x.close("member")
		}
		x.close("TemplatesMetadata")
		if next != "" {
			x.elem("NextToken", next)
		}
	}, nil
}

func (s *Server) v1TestRenderTemplate(c *call) (func(*xmlw), error) {
	name, err := required(c, "TemplateName")
	if err != nil {
		return nil, err
	}
	data, err := required(c, "TemplateData")
	if err != nil {
		return nil, err
	}
	out, err := s.renderMIME(c, name, data)
	if err != nil {
		return nil, err
	}
	return func(x *xmlw) { x.elem("RenderedTemplate", out) }, nil
}

func (s *Server) v1SendTemplatedEmail(c *call) (func(*xmlw), error) {
	name := c.form.Get("Template")
	if name == "" {
		name = c.form.Get("TemplateArn")
	}
	if name == "" {
		return nil, errMissingParam("Template")
	}
	id, err := s.sendTemplated(c, templatedSend{name: name, defaultData: c.form.Get("TemplateData"), from: c.form.Get("Source"),
		to: v1Members(c, "Destination.ToAddresses"), cc: v1Members(c, "Destination.CcAddresses"), bcc: v1Members(c, "Destination.BccAddresses"),
		replyTo: v1Members(c, "ReplyToAddresses"), configSet: c.form.Get("ConfigurationSetName"), tags: v1Tags(c),
		op: "SendTemplatedEmail", maxSize: submit.MaxSizeV1})
	if err != nil {
		return nil, err
	}
	return func(x *xmlw) { x.elem("MessageId", id) }, nil
}

func (s *Server) v1SendBulkTemplatedEmail(c *call) (func(*xmlw), error) {
	name := c.form.Get("Template")
	if name == "" {
		return nil, errMissingParam("Template")
	}
	type status struct{ status, msg, id string }
	var results []status
	for i := 1; ; i++ {
		p := "Destinations.member." + strconv.Itoa(i) + "."
		to := v1Members(c, p+"Destination.ToAddresses")
		cc := v1Members(c, p+"Destination.CcAddresses")
		bcc := v1Members(c, p+"Destination.BccAddresses")
		if len(to)+len(cc)+len(bcc) == 0 {
			break
		}
		if i > MaxBulkEntries {
			return nil, errBadRequest("At most %d destinations.", MaxBulkEntries)
		}
		var tags [][2]string
		tags = append(tags, v1Tags(c)...)
		for j := 1; ; j++ {
			tp := p + "ReplacementTags.member." + strconv.Itoa(j) + "."
			n, ok := c.form[tp+"Name"]
			if !ok {
				break
			}
			tags = append(tags, [2]string{n[0], c.form.Get(tp + "Value")})
		}
		id, err := s.sendTemplated(c, templatedSend{name: name, defaultData: c.form.Get("DefaultTemplateData"), replacement: c.form.Get(p + "ReplacementTemplateData"),
			from: c.form.Get("Source"), to: to, cc: cc, bcc: bcc, replyTo: v1Members(c, "ReplyToAddresses"),
			configSet: c.form.Get("ConfigurationSetName"), tags: tags, op: "SendBulkTemplatedEmail", maxSize: submit.MaxSizeV1})
		_, st, msg := bulkStatus(err)
		results = append(results, status{st, msg, id})
	}
	if len(results) == 0 {
		return nil, errMissingParam("Destinations")
	}
	return func(x *xmlw) {
		x.open("Status")
		for _, r := range results {
			x.open("member")
			x.elem("Status", r.status)
			if r.msg != "" {
				x.elem("Error", r.msg)
			}
			if r.id != "" {
				x.elem("MessageId", r.id)
			}
			x.close("member")
		}
		x.close("Status")
	}, nil
}
