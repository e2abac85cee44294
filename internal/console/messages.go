package console

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sesame-email/sesame/internal/store"
	"github.com/sesame-email/sesame/internal/submit"
)

// scenario is a choice of recipient on the test-email form: a mailbox
// simulator address (reference §6) or the user's own.
type scenario struct{ Value, Label string }

func (s *Server) scenarios() []scenario {
	d := "simulator." + s.cfg.ServiceDomain
	return []scenario{
		{"custom", "Custom recipient"},
		{"success@" + d, "Delivered (success@" + d + ")"},
		{"bounce@" + d, "Bounce (bounce@" + d + ")"},
		{"complaint@" + d, "Complaint (complaint@" + d + ")"},
		{"suppressionlist@" + d, "Suppression list (suppressionlist@" + d + ")"},
		{"ooto@" + d, "Out of the office (ooto@" + d + ")"},
	}
}

type sendForm struct{ From, Scenario, To, Subject, Body, ConfigSet string }

type sendView struct {
	From       []string // suggested From addresses: verified identities
	Scenarios  []scenario
	ConfigSets []string
	Form       sendForm
}

func (s *Server) sendView(q *request, f sendForm) (sendView, error) {
	v := sendView{Scenarios: s.scenarios(), Form: f}
	rows, err := s.identityRows(q)
	if err != nil {
		return v, err
	}
	for _, r := range rows {
		if r.Status != string(store.StatusSuccess) {
			continue
		}
		if r.Domain {
			v.From = append(v.From, "test@"+r.Name)
		} else {
			v.From = append(v.From, r.Name)
		}
	}
	if v.ConfigSets, err = s.cfg.ConfigSets.List(q.ctx, q.acct.ID, q.region, "", 1000); err != nil {
		return v, err
	}
	if v.Form.From == "" && len(v.From) > 0 {
		v.Form.From = v.From[0]
	}
	if v.Form.Scenario == "" {
		v.Form.Scenario = v.Scenarios[1].Value
	}
	if v.Form.Subject == "" && v.Form.Body == "" {
		v.Form.Subject, v.Form.Body = "Test email from sesame", "This is a test email sent from the sesame console."
	}
	return v, nil
}

// sendPage is the "Send a test email" form.
func (s *Server) sendPage(q *request) error {
	v, err := s.sendView(q, sendForm{})
	if err != nil {
		return err
	}
	return q.page("send", &view{Title: "Send test email", Nav: "send", Data: v})
}

// send sends the test email through the same path as SESv2 SendEmail.
func (s *Server) send(q *request) error {
	f := q.r.PostForm
	form := sendForm{From: strings.TrimSpace(f.Get("from")), Scenario: f.Get("scenario"), To: strings.TrimSpace(f.Get("to")),
		Subject: f.Get("subject"), Body: f.Get("body"), ConfigSet: f.Get("configuration_set")}
	to := form.Scenario
	if to == "custom" || to == "" {
		to = form.To
	}
	var err error
	var id string
	switch {
	case form.From == "":
		err = failf(http.StatusBadRequest, "Choose a From address: a verified identity, or an address at a verified domain.")
	case to == "":
		err = failf(http.StatusBadRequest, "Enter the recipient's address.")
	case strings.TrimSpace(form.Subject) == "":
		err = failf(http.StatusBadRequest, "Enter a subject.")
	case !s.validScenario(form.Scenario):
		err = failf(http.StatusBadRequest, "Unknown scenario.")
	default:
		id, err = s.cfg.Submit.Send(q.ctx, submit.Request{AccountID: q.acct.ID, Region: q.region,
			Simple:  &submit.Simple{From: form.From, To: []string{to}, Subject: form.Subject, Text: form.Body},
			MaxSize: submit.MaxSizeV2, ConfigurationSet: form.ConfigSet, Operation: "SendEmail"})
	}
	if err != nil {
		status, msg := http.StatusBadRequest, ""
		var he *httpError
		var se *submit.Error
		switch {
		case errors.As(err, &he):
			status, msg = he.status, he.msg
		case errors.As(err, &se):
			msg = se.Msg
			if se.Code == submit.CodeRateExceeded || se.Code == submit.CodeDailyQuota {
				status = http.StatusTooManyRequests
			}
		default:
			return err
		}
		v, verr := s.sendView(q, form)
		if verr != nil {
			return verr
		}
		q.render(status, "send", &view{Title: "Send test email", Nav: "send", Error: msg, Data: v})
		return nil
	}
	s.cfg.Logger.Info("console test email", "account", q.acct.ID, "region", q.region, "message", id)
	return q.redirect("/messages/"+url.PathEscape(id), "done", "sent")
}

func (s *Server) validScenario(v string) bool {
	for _, sc := range s.scenarios() {
		if sc.Value == v {
			return true
		}
	}
	return false
}

// messageRow is a message with its recipients' states.
type messageRow struct {
	M          store.Message
	Recipients []store.Recipient
}

// Final reports whether no recipient is still waiting for delivery.
func (m messageRow) Final() bool {
	for _, r := range m.Recipients {
		if r.State == store.RcptQueued || r.State == store.RcptDeferred {
			return false
		}
	}
	return true
}

// Held reports whether an operator holds some of the recipients.
func (m messageRow) Held() bool {
	for _, r := range m.Recipients {
		if r.State == store.RcptHeld {
			return true
		}
	}
	return false
}

// messages lists the region's latest messages, queued, delivered or
// captured.
func (s *Server) messages(q *request) error {
	msgs, err := s.cfg.Queue.List(q.ctx, q.acct.ID, q.region, 100)
	if err != nil {
		return err
	}
	rows := make([]messageRow, 0, len(msgs))
	for _, m := range msgs {
		rs, err := s.cfg.Queue.Recipients(q.ctx, m.ID)
		if err != nil {
			return err
		}
		rows = append(rows, messageRow{M: m, Recipients: rs})
	}
	return q.page("messages", &view{Title: "Messages", Nav: "messages", Data: rows})
}

// messageOf loads the path's message if it is the account's, in the region.
func (s *Server) messageOf(q *request) (messageRow, error) {
	id := q.r.PathValue("id")
	m, err := s.cfg.Queue.Message(q.ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (m.AccountID != q.acct.ID || m.Region != q.region)) {
		return messageRow{}, notFound("Message " + id)
	}
	if err != nil {
		return messageRow{}, err
	}
	rs, err := s.cfg.Queue.Recipients(q.ctx, id)
	if err != nil {
		return messageRow{}, err
	}
	return messageRow{M: m, Recipients: rs}, nil
}

type messageView struct {
	messageRow
	source
	DKIM   string
	Events []store.Event
}

// maxSource is how much of a message's source its page shows.
const maxSource = 64 << 10

// source is a message as a page shows it: the header block, and the
// message itself up to maxSource.
type source struct {
	Headers   string
	Source    string
	Truncated bool
}

func sourceOf(data []byte) source {
	h, _, _ := bytes.Cut(data, []byte("\r\n\r\n"))
	src := source{Headers: string(h), Source: string(data)}
	if len(data) > maxSource {
		src.Source, src.Truncated = string(data[:maxSource]), true
	}
	return src
}

// messagePage shows one message: envelope, recipients, DKIM, events, source.
func (s *Server) messagePage(q *request) error {
	m, err := s.messageOf(q)
	if err != nil {
		return err
	}
	v := messageView{messageRow: m, source: sourceOf(m.M.Data)}
	if s.cfg.CheckDKIM != nil {
		ctx, cancel := context.WithTimeout(q.ctx, 5*time.Second)
		v.DKIM = s.cfg.CheckDKIM(ctx, m.M.Data)
		cancel()
	}
	if v.Events, err = s.cfg.Events.ListEvents(q.ctx, q.acct.ID, q.region, store.EventPage{MessageID: m.M.ID, Limit: 100}); err != nil {
		return err
	}
	return q.page("message", &view{Title: "Message " + m.M.ID, Nav: "messages", Data: v})
}

// MessageStatus is the message page's refresh (GET …/status).
type MessageStatus struct {
	MessageId  string
	Final      bool
	Recipients []RecipientStatus
}

// RecipientStatus is one recipient in a MessageStatus.
type RecipientStatus struct {
	Address      string
	State        string
	Label        string
	Class        string
	Attempts     int
	LastResponse string
}

func (s *Server) messageStatus(q *request) error {
	m, err := s.messageOf(q)
	if err != nil {
		return err
	}
	out := MessageStatus{MessageId: m.M.ID, Final: m.Final(), Recipients: []RecipientStatus{}}
	for _, r := range m.Recipients {
		b := badge(string(r.State))
		out.Recipients = append(out.Recipients, RecipientStatus{Address: r.Address, State: string(r.State), Label: b.Label, Class: b.Class,
			Attempts: r.Attempts, LastResponse: r.LastResponse})
	}
	q.json(http.StatusOK, out)
	return nil
}

// messageAction retries, holds, releases or deletes a message.
func (s *Server) messageAction(q *request) error {
	m, err := s.messageOf(q)
	if err != nil {
		return err
	}
	now := s.now()
	action := q.r.PathValue("action")
	switch action {
	case "retry":
		_, err = s.cfg.Queue.Retry(q.ctx, m.M.ID, now)
	case "hold":
		_, err = s.cfg.Queue.Hold(q.ctx, m.M.ID, now)
	case "release":
		_, err = s.cfg.Queue.Release(q.ctx, m.M.ID, now)
	case "delete":
		if err := s.cfg.Queue.Delete(q.ctx, m.M.ID); err != nil {
			return err
		}
		return q.redirect("/messages", "done", "deleted")
	default:
		return notFound("Action " + action)
	}
	if err != nil {
		return err
	}
	return q.redirect("/messages/"+url.PathEscape(m.M.ID), "done", action)
}

// queuePage shows the queue by destination, with each one's last response.
func (s *Server) queuePage(q *request) error {
	sum, err := s.cfg.Queue.Summary(q.ctx, q.acct.ID, q.region)
	if err != nil {
		return err
	}
	return q.page("queue", &view{Title: "Queue", Nav: "queue", Data: sum})
}
