package sesapi

import (
	"encoding/base64"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/sesame-email/sesame/internal/submit"
	"github.com/sesame-email/sesame/internal/templates"
)

// sendErr maps a submit refusal to SES's codes (reference §2.3, §3).
func sendErr(err error) error {
	var se *submit.Error
	if !errors.As(err, &se) {
		return err
	}
	e := &Error{Status: http.StatusBadRequest, Message: se.Msg}
	switch se.Code {
	case submit.CodeRejected, submit.CodeTooLarge:
		e.Code = "MessageRejected"
	case submit.CodeInvalid:
		e.Code, e.V2Code = "InvalidParameterValue", "BadRequestException"
	case submit.CodeMailFromNotVerified:
		e.Code = "MailFromDomainNotVerifiedException"
	case submit.CodeSendingPaused:
		e.Code, e.V2Code = "AccountSendingPausedException", "SendingPausedException"
	case submit.CodeConfigSetPaused:
		e.Code, e.V2Code = "ConfigurationSetSendingPausedException", "SendingPausedException"
	case submit.CodeConfigSetMissing:
		e.Code, e.V2Code, e.V2Status = "ConfigurationSetDoesNotExist", "NotFoundException", http.StatusNotFound
	case submit.CodeRateExceeded:
		e.Code, e.V2Code, e.Status = "Throttling", "TooManyRequestsException", http.StatusTooManyRequests
	case submit.CodeDailyQuota:
		e.Code, e.V2Code = "Throttling", "LimitExceededException"
	}
	return e
}

var tagRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

// messageTags checks message tags (reference §7) and adds SES's own.
func messageTags(c *call, tags [][2]string, configSet, operation, from string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, t := range tags {
		if !tagRE.MatchString(t[0]) || !tagRE.MatchString(t[1]) {
			return nil, errBadRequest("Invalid message tag %s=%s: names and values are 1-256 of [A-Za-z0-9_-].", t[0], t[1])
		}
		out[t[0]] = append(out[t[0]], t[1])
	}
	out["ses:operation"] = []string{operation}
	out["ses:source-ip"] = []string{remoteIP(c.r)}
	out["ses:caller-identity"] = []string{c.p.KeyID}
	if i := strings.LastIndexByte(from, '@'); i >= 0 {
		out["ses:from-domain"] = []string{strings.TrimSuffix(from[i+1:], ">")}
	}
	if configSet != "" {
		out["ses:configuration-set"] = []string{configSet}
	}
	return out, nil
}

func remoteIP(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}

// --- v2 SendEmail ---

type v2Content struct {
	Simple *struct {
		Subject struct{ Data, Charset string }
		Body    struct {
			Text *struct{ Data, Charset string }
			Html *struct{ Data, Charset string }
		}
		Headers     []struct{ Name, Value string }
		Attachments []struct {
			RawContent              []byte
			FileName                string
			ContentDisposition      string
			ContentId               string
			ContentTransferEncoding string
			ContentType             string
			ContentDescription      string
		}
	}
	Raw *struct {
		Data []byte
	}
	Template *struct {
		TemplateName, TemplateArn, TemplateData string
		TemplateContent                         *v2TemplateContent
	}
}

func (s *Server) v2SendEmail(c *call) (any, error) {
	var in struct {
		FromEmailAddress     string
		Destination          *struct{ ToAddresses, CcAddresses, BccAddresses []string }
		ReplyToAddresses     []string
		Content              v2Content
		EmailTags            []struct{ Name, Value string }
		ConfigurationSetName string
	}
	if err := decodeJSON(c, &in); err != nil {
		return nil, err
	}
	req := submit.Request{AccountID: c.p.AccountID, Region: c.region, Source: in.FromEmailAddress, MaxSize: submit.MaxSizeV2,
		ConfigurationSet: in.ConfigurationSetName, Operation: "SendEmail"}
	var tags [][2]string
	for _, t := range in.EmailTags {
		tags = append(tags, [2]string{t.Name, t.Value})
	}
	var to, cc, bcc []string
	if d := in.Destination; d != nil {
		to, cc, bcc = d.ToAddresses, d.CcAddresses, d.BccAddresses
		req.Destinations = append(append(append([]string{}, to...), cc...), bcc...)
	}
	switch ct := in.Content; {
	case ct.Simple != nil:
		if in.FromEmailAddress == "" {
			return nil, errBadRequest("FromEmailAddress is required for Simple content.")
		}
		if len(req.Destinations) == 0 {
			return nil, errBadRequest("Destination is required for Simple content.")
		}
		sm := &submit.Simple{From: in.FromEmailAddress, Subject: ct.Simple.Subject.Data, To: to, Cc: cc, ReplyTo: in.ReplyToAddresses}
		if b := ct.Simple.Body.Text; b != nil {
			sm.Text = b.Data
		}
		if b := ct.Simple.Body.Html; b != nil {
			sm.HTML = b.Data
		}
		for _, h := range ct.Simple.Headers {
			sm.Headers = append(sm.Headers, submit.Header{Name: h.Name, Value: h.Value})
		}
		for _, a := range ct.Simple.Attachments {
			sm.Attachments = append(sm.Attachments, submit.Attachment{FileName: a.FileName, ContentType: a.ContentType,
				Inline: a.ContentDisposition == "INLINE", ContentID: a.ContentId, Description: a.ContentDescription,
				Encoding: a.ContentTransferEncoding, Data: a.RawContent})
		}
		req.Simple = sm
	case ct.Raw != nil:
		req.Raw = ct.Raw.Data
		if in.Destination == nil {
			req.Destinations = nil
		}
	case ct.Template != nil:
		name := ct.Template.TemplateName
		if name == "" {
			name = ct.Template.TemplateArn
		}
		var inline *templates.Content
		if ct.Template.TemplateContent != nil {
			c := ct.Template.TemplateContent.content()
			inline = &c
		}
		id, err := s.sendTemplated(c, templatedSend{name: name, inline: inline, defaultData: ct.Template.TemplateData,
			from: in.FromEmailAddress, to: to, cc: cc, bcc: bcc, replyTo: in.ReplyToAddresses,
			configSet: in.ConfigurationSetName, tags: tags, op: "SendEmail", maxSize: submit.MaxSizeV2})
		if err != nil {
			return nil, err
		}
		return struct{ MessageId string }{id}, nil
	default:
		return nil, errBadRequest("Content must hold Simple, Raw or Template.")
	}
	var err error
	from := in.FromEmailAddress
	if req.Tags, err = messageTags(c, tags, in.ConfigurationSetName, "SendEmail", from); err != nil {
		return nil, err
	}
	id, err := s.cfg.Submit.Send(c.ctx, req)
	if err != nil {
		return nil, sendErr(err)
	}
	return struct{ MessageId string }{id}, nil
}

// --- v1 SendEmail / SendRawEmail ---

func v1Tags(c *call) [][2]string {
	var out [][2]string
	for i := 1; ; i++ {
		p := "Tags.member." + strconv.Itoa(i) + "."
		name, ok := c.form[p+"Name"]
		if !ok {
			return out
		}
		out = append(out, [2]string{name[0], c.form.Get(p + "Value")})
	}
}

func (s *Server) v1SendEmail(c *call) (func(*xmlw), error) {
	source, err := required(c, "Source")
	if err != nil {
		return nil, err
	}
	to, cc, bcc := v1Members(c, "Destination.ToAddresses"), v1Members(c, "Destination.CcAddresses"), v1Members(c, "Destination.BccAddresses")
	sm := &submit.Simple{From: source, Subject: c.form.Get("Message.Subject.Data"), To: to, Cc: cc, ReplyTo: v1Members(c, "ReplyToAddresses"),
		Text: c.form.Get("Message.Body.Text.Data"), HTML: c.form.Get("Message.Body.Html.Data")}
	dest := append(append(append([]string{}, to...), cc...), bcc...)
	if len(dest) == 0 {
		return nil, errMissingParam("Destination")
	}
	cs := c.form.Get("ConfigurationSetName")
	tags, err := messageTags(c, v1Tags(c), cs, "SendEmail", source)
	if err != nil {
		return nil, err
	}
	id, err := s.cfg.Submit.Send(c.ctx, submit.Request{AccountID: c.p.AccountID, Region: c.region, Source: source, Destinations: dest,
		Simple: sm, MaxSize: submit.MaxSizeV1, ConfigurationSet: cs, Tags: tags, Operation: "SendEmail"})
	if err != nil {
		return nil, sendErr(err)
	}
	return func(x *xmlw) { x.elem("MessageId", id) }, nil
}

func (s *Server) v1SendRawEmail(c *call) (func(*xmlw), error) {
	data, err := required(c, "RawMessage.Data")
	if err != nil {
		return nil, err
	}
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return nil, errBadRequest("RawMessage.Data is not valid base64.")
	}
	var dest []string
	if d := v1Members(c, "Destinations"); len(d) > 0 {
		dest = d
	}
	cs := c.form.Get("ConfigurationSetName")
	source := c.form.Get("Source")
	tags, err := messageTags(c, v1Tags(c), cs, "SendRawEmail", source)
	if err != nil {
		return nil, err
	}
	id, err := s.cfg.Submit.Send(c.ctx, submit.Request{AccountID: c.p.AccountID, Region: c.region, Source: source, Destinations: dest,
		Raw: raw, MaxSize: submit.MaxSizeV1, ConfigurationSet: cs, Tags: tags, Operation: "SendRawEmail"})
	if err != nil {
		return nil, sendErr(err)
	}
	return func(x *xmlw) { x.elem("MessageId", id) }, nil
}
