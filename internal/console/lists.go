package console

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/sesame-email/sesame/internal/configsets"
	"github.com/sesame-email/sesame/internal/inbound"
	"github.com/sesame-email/sesame/internal/sns"
	"github.com/sesame-email/sesame/internal/store"
	"github.com/sesame-email/sesame/internal/suppression"
	"github.com/sesame-email/sesame/internal/templates"
)

// suppressionPageSize is how many addresses the suppression page lists.
const suppressionPageSize = 100

type suppressionView struct {
	// Query finds addresses that start with it.
	Query  string
	Reason string
	Rows   []store.Suppression
	// Next is the cursor of the following page ("" = last page).
	Next string
	Form struct{ Address, Reason string }
}

// suppressionPage lists the suppression list: ?q= (addresses starting
// with it), ?reason= (BOUNCE or COMPLAINT), ?after= (the next page).
func (s *Server) suppressionPage(q *request) error {
	v, err := s.suppressionList(q)
	if err != nil {
		return err
	}
	return q.page("suppression", &view{Title: "Suppression list", Nav: "suppression", Data: v})
}

func (s *Server) suppressionList(q *request) (suppressionView, error) {
	qs := q.r.URL.Query()
	v := suppressionView{Query: strings.ToLower(strings.TrimSpace(qs.Get("q"))), Reason: qs.Get("reason")}
	p := store.SuppressionPage{After: qs.Get("after"), Limit: suppressionPageSize + 1}
	switch v.Reason {
	case "":
	case suppression.Bounce, suppression.Complaint:
		p.Reasons = []string{v.Reason}
	default:
		return v, failf(http.StatusBadRequest, "reason must be BOUNCE or COMPLAINT.")
	}
	if v.Query != "" && p.After == "" {
		// The list is ordered by address, so the addresses that start with
		// the query follow it; the query itself is one of them.
		if sp, err := s.cfg.Suppression.Get(q.ctx, q.acct.ID, q.region, v.Query); err == nil && (p.Reasons == nil || sp.Reason == v.Reason) {
			v.Rows = append(v.Rows, sp)
		} else if err != nil && !errors.Is(err, suppression.ErrNotFound) {
			return v, err
		}
		p.After = v.Query
	}
	rows, err := s.cfg.Suppression.List(q.ctx, q.acct.ID, q.region, p)
	if err != nil {
		return v, err
	}
	for _, r := range rows {
		if v.Query != "" && !strings.HasPrefix(r.Address, v.Query) {
			break
		}
		v.Rows = append(v.Rows, r)
	}
	if len(v.Rows) > suppressionPageSize {
		v.Rows = v.Rows[:suppressionPageSize]
		v.Next = v.Rows[len(v.Rows)-1].Address
	}
	return v, nil
}

// addSuppression puts an address on the list.
func (s *Server) addSuppression(q *request) error {
	addr, reason := strings.TrimSpace(q.r.PostForm.Get("address")), q.r.PostForm.Get("reason")
	err := s.cfg.Suppression.Put(q.ctx, q.acct.ID, q.region, addr, reason, "", "")
	if errors.Is(err, suppression.ErrInvalid) {
		v, lerr := s.suppressionList(q)
		if lerr != nil {
			return lerr
		}
		v.Form.Address, v.Form.Reason = addr, reason
		q.render(http.StatusBadRequest, "suppression", &view{Title: "Suppression list", Nav: "suppression",
			Error: detail(err, suppression.ErrInvalid), Data: v})
		return nil
	}
	if err != nil {
		return err
	}
	return q.redirect("/suppression", "done", "added")
}

// removeSuppression takes an address off the list.
func (s *Server) removeSuppression(q *request) error {
	addr := q.r.PostForm.Get("address")
	err := s.cfg.Suppression.Delete(q.ctx, q.acct.ID, q.region, strings.ToLower(addr))
	if errors.Is(err, suppression.ErrNotFound) {
		return notFound("Address " + addr + " on the suppression list")
	}
	if err != nil {
		return err
	}
	return q.redirect("/suppression", "done", "removed")
}

// configSetErr turns configsets' sentinels into what the user reads.
func configSetErr(err error, name string) error {
	msg := detail(err, configsets.ErrExists, configsets.ErrDestinationExists, configsets.ErrInvalid, configsets.ErrLimit)
	switch {
	case errors.Is(err, configsets.ErrNotFound):
		return notFound("Configuration set " + name)
	case errors.Is(err, configsets.ErrDestinationNotFound):
		return notFound("Event destination")
	case errors.Is(err, configsets.ErrExists), errors.Is(err, configsets.ErrDestinationExists):
		return failf(http.StatusConflict, "%s already exists.", msg)
	case errors.Is(err, configsets.ErrInvalid), errors.Is(err, configsets.ErrLimit):
		return failf(http.StatusBadRequest, "%s", msg)
	}
	return err
}

// configSets lists the region's configuration sets.
func (s *Server) configSets(q *request) error {
	names, err := s.cfg.ConfigSets.List(q.ctx, q.acct.ID, q.region, "", 1000)
	if err != nil {
		return err
	}
	sets := make([]configsets.Set, 0, len(names))
	for _, n := range names {
		set, err := s.cfg.ConfigSets.Get(q.ctx, q.acct.ID, q.region, n)
		if errors.Is(err, configsets.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return err
		}
		sets = append(sets, set)
	}
	return q.page("configsets", &view{Title: "Configuration sets", Nav: "configsets", Data: sets})
}

// createConfigSet creates a set with sending enabled.
func (s *Server) createConfigSet(q *request) error {
	name := strings.TrimSpace(q.r.PostForm.Get("name"))
	if err := s.cfg.ConfigSets.Create(q.ctx, q.acct.ID, q.region, configsets.Set{Name: name, SendingEnabled: true}); err != nil {
		return configSetErr(err, name)
	}
	return q.redirect("/configuration-sets/"+url.PathEscape(name), "done", "created")
}

// Attempt is a webhook delivery as the configuration set page lists it.
type Attempt struct {
	store.Notification
	Destination string
}

type configSetView struct {
	Set        configsets.Set
	Topics     []string // the region's topic ARNs, for a new destination
	EventTypes []string
	Attempts   []Attempt
	// Suppression says which reasons the set suppresses, in words.
	Suppression string
}

// configSetPage shows a set, its event destinations and the webhook
// deliveries their topics made.
func (s *Server) configSetPage(q *request) error {
	name := q.r.PathValue("name")
	set, err := s.cfg.ConfigSets.Get(q.ctx, q.acct.ID, q.region, name)
	if err != nil {
		return configSetErr(err, name)
	}
	v := configSetView{Set: set, EventTypes: configsets.EventTypes, Suppression: "the account's setting"}
	if r := set.SuppressedReasons; r != nil {
		v.Suppression = strings.Join(*r, ", ")
		if len(*r) == 0 {
			v.Suppression = "none (overrides the account's setting)"
		}
	}
	token := ""
	for {
		arns, next, err := s.cfg.Topics.ListTopics(q.ctx, q.acct.ID, q.region, token)
		if err != nil {
			return err
		}
		v.Topics = append(v.Topics, arns...)
		if next == "" || len(v.Topics) >= 1000 {
			break
		}
		token = next
	}
	var seen []string
	for _, d := range set.EventDestinations {
		if slices.Contains(seen, d.SNSTopicARN) {
			continue
		}
		seen = append(seen, d.SNSTopicARN)
		ns, err := s.cfg.Events.ListNotifications(q.ctx, q.acct.ID, q.region, d.SNSTopicARN, 50)
		if err != nil {
			return err
		}
		for _, n := range ns {
			v.Attempts = append(v.Attempts, Attempt{Notification: n, Destination: d.Name})
		}
	}
	slices.SortFunc(v.Attempts, func(a, b Attempt) int { return b.CreatedAt.Compare(a.CreatedAt) })
	if len(v.Attempts) > 100 {
		v.Attempts = v.Attempts[:100]
	}
	return q.page("configset", &view{Title: set.Name, Nav: "configsets", Data: v})
}

// addDestination adds an SNS event destination.
func (s *Server) addDestination(q *request) error {
	name := q.r.PathValue("name")
	f := q.r.PostForm
	d := configsets.Destination{Name: strings.TrimSpace(f.Get("destination")), Enabled: f.Get("enabled") != "", MatchingEventTypes: f["event_type"], SNSTopicARN: f.Get("topic")}
	if _, _, _, ok := sns.ParseTopicARN(d.SNSTopicARN); !ok {
		return failf(http.StatusBadRequest, "Choose an SNS topic (create one with: aws sns create-topic --name …).")
	}
	if _, err := s.cfg.Topics.GetTopic(q.ctx, q.acct.ID, q.region, d.SNSTopicARN); err != nil {
		if errors.Is(err, sns.ErrNotFound) || errors.Is(err, sns.ErrInvalid) {
			return failf(http.StatusBadRequest, "Topic %s does not exist in this region.", d.SNSTopicARN)
		}
		return err
	}
	if err := s.cfg.ConfigSets.AddDestination(q.ctx, q.acct.ID, q.region, name, d); err != nil {
		return configSetErr(err, name)
	}
	return q.redirect("/configuration-sets/"+url.PathEscape(name), "done", "dest-added")
}

// deleteDestination removes an event destination.
func (s *Server) deleteDestination(q *request) error {
	name := q.r.PathValue("name")
	if err := s.cfg.ConfigSets.DeleteDestination(q.ctx, q.acct.ID, q.region, name, q.r.PathValue("dest")); err != nil {
		return configSetErr(err, name)
	}
	return q.redirect("/configuration-sets/"+url.PathEscape(name), "done", "dest-deleted")
}

// deleteConfigSet removes a set.
func (s *Server) deleteConfigSet(q *request) error {
	name := q.r.PathValue("name")
	if err := s.cfg.ConfigSets.Delete(q.ctx, q.acct.ID, q.region, name); err != nil {
		return configSetErr(err, name)
	}
	return q.redirect("/configuration-sets", "done", "deleted")
}

// templatesPage lists the region's email templates.
func (s *Server) templatesPage(q *request) error {
	list, err := s.cfg.Templates.List(q.ctx, q.acct.ID, q.region, "", 1000)
	if err != nil {
		return err
	}
	return q.page("templates", &view{Title: "Templates", Nav: "templates", Data: list})
}

// templatePage shows a template's parts as source text (never rendered as
// HTML: a template is the account's HTML, not the console's).
func (s *Server) templatePage(q *request) error {
	name := q.r.PathValue("name")
	t, err := s.cfg.Templates.Get(q.ctx, q.acct.ID, q.region, name)
	if errors.Is(err, templates.ErrNotFound) {
		return notFound("Template " + name)
	}
	if err != nil {
		return err
	}
	return q.page("template", &view{Title: t.Name, Nav: "templates", Data: t})
}

// receivedPage lists the mail the region's receipt rules took.
func (s *Server) receivedPage(q *request) error {
	var list []inbound.Stored
	if s.cfg.Received != nil {
		var err error
		if list, err = s.cfg.Received.List(q.acct.ID, q.region, 100); err != nil {
			return err
		}
	}
	return q.page("received", &view{Title: "Received mail", Nav: "received", Data: list})
}

type receivedView struct {
	M inbound.Stored
	source
}

// receivedMessage shows one received message: verdicts, rules, source.
func (s *Server) receivedMessage(q *request) error {
	id := q.r.PathValue("id")
	if s.cfg.Received == nil {
		return notFound("Received message " + id)
	}
	m, raw, err := s.cfg.Received.Get(q.acct.ID, q.region, id)
	if errors.Is(err, inbound.ErrMessageNotFound) {
		return notFound("Received message " + id)
	}
	if err != nil {
		return err
	}
	v := receivedView{M: m, source: sourceOf(raw)}
	return q.page("receivedmsg", &view{Title: "Received: " + m.Subject, Nav: "received", Data: v})
}
