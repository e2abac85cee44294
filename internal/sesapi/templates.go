package sesapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/sesame-email/sesame/internal/sestemplate"
	"github.com/sesame-email/sesame/internal/store"
	"github.com/sesame-email/sesame/internal/submit"
	"github.com/sesame-email/sesame/internal/templates"
)

// templateErr maps template errors to SES codes (v1 codes; v2 codes as V2Code).
func templateErr(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if i := strings.Index(msg, ": "); i >= 0 && strings.HasPrefix(msg, "templates: ") {
		msg = msg[i+2:]
	}
	switch {
	case errors.Is(err, templates.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: "TemplateDoesNotExist", V2Code: "NotFoundException", Message: msg}
	case errors.Is(err, templates.ErrExists):
		return &Error{Status: http.StatusBadRequest, Code: "AlreadyExists", V2Code: "AlreadyExistsException", Message: msg}
	case errors.Is(err, templates.ErrLimit):
		return &Error{Status: http.StatusBadRequest, Code: "LimitExceeded", V2Code: "LimitExceededException", Message: msg}
	case errors.Is(err, templates.ErrInvalid):
		return &Error{Status: http.StatusBadRequest, Code: "InvalidTemplate", V2Code: "BadRequestException", Message: msg}
	case errors.Is(err, templates.ErrRendering):
		var me *sestemplate.MissingAttributeError
		if errors.As(err, &me) {
			return &Error{Status: http.StatusBadRequest, Code: "MissingRenderingAttribute", V2Code: "BadRequestException", Message: me.Error()}
		}
		return &Error{Status: http.StatusBadRequest, Code: "InvalidRenderingParameter", V2Code: "BadRequestException", Message: msg}
	}
	return err
}

// templateName takes a name or an ARN (arn:aws:ses:R:A:template/NAME).
func templateName(nameOrARN string) string {
	if i := strings.LastIndex(nameOrARN, ":template/"); i >= 0 {
		return nameOrARN[i+len(":template/"):]
	}
	return nameOrARN
}

func (s *Server) routeTemplatesV2() []route {
	return []route{
		{"POST /v2/email/templates", "CreateEmailTemplate", s.v2CreateTemplate},
		{"GET /v2/email/templates", "ListEmailTemplates", s.v2ListTemplates},
		{"GET /v2/email/templates/{TemplateName}", "GetEmailTemplate", s.v2GetTemplate},
		{"PUT /v2/email/templates/{TemplateName}", "UpdateEmailTemplate", s.v2UpdateTemplate},
		{"DELETE /v2/email/templates/{TemplateName}", "DeleteEmailTemplate", s.v2DeleteTemplate},
		{"POST /v2/email/templates/{TemplateName}/render", "TestRenderEmailTemplate", s.v2TestRender},
		{"POST /v2/email/outbound-bulk-emails", "SendBulkEmail", s.v2SendBulkEmail},
	}
}

type v2TemplateContent struct {
	Subject string `json:",omitempty"`
	Text    string `json:",omitempty"`
	Html    string `json:",omitempty"`
}

func (c v2TemplateContent) content() templates.Content {
	return templates.Content{Subject: c.Subject, Text: c.Text, HTML: c.Html}
}

func (s *Server) v2CreateTemplate(c *call) (any, error) {
	var in struct {
		TemplateName    string
		TemplateContent v2TemplateContent
	}
	if err := decodeJSON(c, &in); err != nil {
		return nil, err
	}
	return nil, templateErr(s.cfg.Templates.Create(c.ctx, c.p.AccountID, c.region, in.TemplateName, in.TemplateContent.content()))
}

func (s *Server) v2GetTemplate(c *call) (any, error) {
	t, err := s.cfg.Templates.Get(c.ctx, c.p.AccountID, c.region, c.r.PathValue("TemplateName"))
	if err != nil {
		return nil, templateErr(err)
	}
	return struct {
		TemplateName    string
		TemplateContent v2TemplateContent
		Tags            []v2Tag
	}{t.Name, v2TemplateContent{t.Subject, t.Text, t.HTML}, []v2Tag{}}, nil
}

func (s *Server) v2UpdateTemplate(c *call) (any, error) {
	var in struct{ TemplateContent v2TemplateContent }
	if err := decodeJSON(c, &in); err != nil {
		return nil, err
	}
	return nil, templateErr(s.cfg.Templates.Update(c.ctx, c.p.AccountID, c.region, c.r.PathValue("TemplateName"), in.TemplateContent.content()))
}

func (s *Server) v2DeleteTemplate(c *call) (any, error) {
	return nil, templateErr(s.cfg.Templates.Delete(c.ctx, c.p.AccountID, c.region, c.r.PathValue("TemplateName")))
}

// templatePage lists a page of templates with an opaque next token.
func (s *Server) templatePage(c *call, token string, limit int) ([]store.Template, string, error) {
	after, err := fromPageToken(token)
	if err != nil {
		return nil, "", err
	}
	list, err := s.cfg.Templates.List(c.ctx, c.p.AccountID, c.region, after, limit+1)
	if err != nil {
		return nil, "", err
	}
	list, next := cutPage(list, limit, func(t store.Template) string { return t.Name })
	return list, next, nil
}

func (s *Server) v2ListTemplates(c *call) (any, error) {
	q := c.r.URL.Query()
	limit := 10
	if v := q.Get("PageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return nil, errBadRequest("PageSize must be between 1 and 100.")
		}
		limit = n
	}
	list, next, err := s.templatePage(c, q.Get("NextToken"), limit)
	if err != nil {
		return nil, err
	}
	type meta struct {
		TemplateName     string
		CreatedTimestamp Epoch
	}
	out := struct {
		TemplatesMetadata []meta
		NextToken         string `json:",omitempty"`
	}{TemplatesMetadata: []meta{}, NextToken: next}
	for _, t := range list {
		out.TemplatesMetadata = append(out.TemplatesMetadata, meta{t.Name, Epoch(t.CreatedAt)})
	}
	return out, nil
}

func (s *Server) renderMIME(c *call, name, data string) (string, error) {
	r, err := s.cfg.Templates.RenderStored(c.ctx, c.p.AccountID, c.region, name, data)
	if err != nil {
		return "", templateErr(err)
	}
	mime, err := submit.RenderedMIME(r.Subject, r.Text, r.HTML)
	if err != nil {
		return "", sendErr(err)
	}
	return string(mime), nil
}

func (s *Server) v2TestRender(c *call) (any, error) {
	var in struct{ TemplateData string }
	if err := decodeJSON(c, &in); err != nil {
		return nil, err
	}
	out, err := s.renderMIME(c, c.r.PathValue("TemplateName"), in.TemplateData)
	if err != nil {
		return nil, err
	}
	return struct{ RenderedTemplate string }{out}, nil
}

// templatedSimple renders a stored or inline template into a Simple
// message. Rendering failures are refused at once with the reason (SES
// accepts the call and reports a Rendering Failure event later).
func (s *Server) templatedSimple(c *call, name string, inline *templates.Content, data, from string, to, cc, replyTo []string) (*submit.Simple, error) {
	var r sestemplate.Rendered
	var err error
	if inline != nil {
		if err := templates.Check("inline", *inline); err != nil {
			return nil, templateErr(err)
		}
		r, err = templates.Render(*inline, data)
	} else {
		r, err = s.cfg.Templates.RenderStored(c.ctx, c.p.AccountID, c.region, templateName(name), data)
	}
	if err != nil {
		if errors.Is(err, templates.ErrRendering) {
			return nil, &Error{Status: http.StatusBadRequest, Code: "MessageRejected", Message: "Rendering failure: " + strings.TrimPrefix(templateErr(err).(*Error).Message, "templates: rendering failure: ")}
		}
		return nil, templateErr(err)
	}
	return &submit.Simple{From: from, Subject: r.Subject, Text: r.Text, HTML: r.HTML, To: to, Cc: cc, ReplyTo: replyTo}, nil
}

// mergeData overlays a destination's replacement data on the default data
// as SES's SendBulkEmail does: member by member, nested objects merged,
// other values replaced (sestemplate.MergeData).
func mergeData(def, repl string) (string, error) {
	if repl == "" {
		return def, nil
	}
	if def == "" {
		return repl, nil
	}
	a, err := sestemplate.DecodeData(def)
	if err != nil {
		return "", errBadRequest("DefaultTemplateData: %v", err)
	}
	b, err := sestemplate.DecodeData(repl)
	if err != nil {
		return "", errBadRequest("ReplacementTemplateData: %v", err)
	}
	out, err := json.Marshal(sestemplate.MergeData(a, b))
	if err != nil {
		return "", err
	}
	return string(out), nil
}

// bulkStatus names a send outcome the way SendBulkEmail reports it.
func bulkStatus(err error) (v2, v1, msg string) {
	if err == nil {
		return "SUCCESS", "Success", ""
	}
	var e *Error
	if !errors.As(err, &e) {
		return "FAILED", "Failed", "Internal failure"
	}
	switch e.Code {
	case "MessageRejected":
		return "MESSAGE_REJECTED", "MessageRejected", e.Message
	case "MailFromDomainNotVerifiedException":
		return "MAIL_FROM_DOMAIN_NOT_VERIFIED", "MailFromDomainNotVerified", e.Message
	case "TemplateDoesNotExist":
		return "TEMPLATE_NOT_FOUND", "TemplateDoesNotExist", e.Message
	case "AccountSendingPausedException":
		return "ACCOUNT_SENDING_PAUSED", "AccountSendingPaused", e.Message
	case "Throttling":
		if strings.Contains(e.Message, "Daily") {
			return "ACCOUNT_DAILY_QUOTA_EXCEEDED", "AccountDailyQuotaExceeded", e.Message
		}
		return "ACCOUNT_THROTTLED", "AccountThrottled", e.Message
	}
	return "INVALID_PARAMETER", "InvalidParameterValue", e.Message
}

// MaxBulkEntries is SES's limit on destinations per templated bulk send.
const MaxBulkEntries = 50

func (s *Server) v2SendBulkEmail(c *call) (any, error) {
	var in struct {
		FromEmailAddress string
		ReplyToAddresses []string
		DefaultContent   struct {
			Template *struct {
				TemplateName, TemplateArn, TemplateData string
				TemplateContent                         *v2TemplateContent
			}
		}
		BulkEmailEntries []struct {
			Destination             struct{ ToAddresses, CcAddresses, BccAddresses []string }
			ReplacementEmailContent *struct {
				ReplacementTemplate *struct{ ReplacementTemplateData string }
			}
			ReplacementTags []struct{ Name, Value string }
		}
		DefaultEmailTags     []struct{ Name, Value string }
		ConfigurationSetName string
	}
	if err := decodeJSON(c, &in); err != nil {
		return nil, err
	}
	tpl := in.DefaultContent.Template
	if tpl == nil {
		return nil, errBadRequest("DefaultContent.Template is required.")
	}
	if len(in.BulkEmailEntries) == 0 || len(in.BulkEmailEntries) > MaxBulkEntries {
		return nil, errBadRequest("BulkEmailEntries must hold 1 to %d entries.", MaxBulkEntries)
	}
	name := tpl.TemplateName
	if name == "" {
		name = tpl.TemplateArn
	}
	var inline *templates.Content
	if tpl.TemplateContent != nil {
		ct := tpl.TemplateContent.content()
		inline = &ct
	}
	type result struct {
		Status    string
		Error     string `json:",omitempty"`
		MessageId string `json:",omitempty"`
	}
	out := struct{ BulkEmailEntryResults []result }{}
	for _, e := range in.BulkEmailEntries {
		var tags [][2]string
		for _, t := range append(append([]struct{ Name, Value string }{}, in.DefaultEmailTags...), e.ReplacementTags...) {
			tags = append(tags, [2]string{t.Name, t.Value})
		}
		repl := ""
		if e.ReplacementEmailContent != nil && e.ReplacementEmailContent.ReplacementTemplate != nil {
			repl = e.ReplacementEmailContent.ReplacementTemplate.ReplacementTemplateData
		}
		id, err := s.sendTemplated(c, templatedSend{name: name, inline: inline, defaultData: tpl.TemplateData, replacement: repl,
			from: in.FromEmailAddress, to: e.Destination.ToAddresses, cc: e.Destination.CcAddresses, bcc: e.Destination.BccAddresses,
			replyTo: in.ReplyToAddresses, configSet: in.ConfigurationSetName, tags: tags, op: "SendBulkEmail", maxSize: submit.MaxSizeV2})
		st, _, msg := bulkStatus(err)
		out.BulkEmailEntryResults = append(out.BulkEmailEntryResults, result{Status: st, Error: msg, MessageId: id})
	}
	return out, nil
}

// templatedSend is one templated message.
type templatedSend struct {
	name                     string
	inline                   *templates.Content
	defaultData, replacement string
	from                     string
	to, cc, bcc, replyTo     []string
	configSet                string
	tags                     [][2]string
	op                       string
	maxSize                  int
}

func (s *Server) sendTemplated(c *call, t templatedSend) (string, error) {
	if t.from == "" {
		return "", errMissingParam("Source")
	}
	data, err := mergeData(t.defaultData, t.replacement)
	if err != nil {
		return "", err
	}
	sm, err := s.templatedSimple(c, t.name, t.inline, data, t.from, t.to, t.cc, t.replyTo)
	if err != nil {
		return "", err
	}
	tags, err := messageTags(c, t.tags, t.configSet, t.op, t.from)
	if err != nil {
		return "", err
	}
	dest := append(append(append([]string{}, t.to...), t.cc...), t.bcc...)
	id, err := s.cfg.Submit.Send(c.ctx, submit.Request{AccountID: c.p.AccountID, Region: c.region, Source: t.from, Destinations: dest,
		Simple: sm, MaxSize: t.maxSize, ConfigurationSet: t.configSet, Tags: tags, Operation: t.op})
	if err != nil {
		return "", sendErr(err)
	}
	return id, nil
}
