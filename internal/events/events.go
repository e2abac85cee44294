// Package events turns what happens to a message (sent, delivered, bounced,
// complained about, delayed) into SES's event JSON, stores each event, and
// queues the webhook notifications it owes: to the SNS topics of the
// message's configuration set (eventType, with tags) and to the sending
// identity's v1 notification topics (notificationType). The store write
// is one transaction for the event and its notifications; the HTTP POSTs
// happen later in sns.Deliverer, so a slow subscriber never slows sending.
package events

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/sesame-email/sesame/internal/clock"
	"github.com/sesame-email/sesame/internal/configsets"
	"github.com/sesame-email/sesame/internal/ids"
	"github.com/sesame-email/sesame/internal/store"
)

// Event types (SES's eventType values).
const (
	Send             = "Send"
	Reject           = "Reject"
	Delivery         = "Delivery"
	Bounce           = "Bounce"
	Complaint        = "Complaint"
	DeliveryDelay    = "DeliveryDelay"
	RenderingFailure = "Rendering Failure"
)

// EventSubject is the Subject of event-publishing notifications.
const EventSubject = "Amazon SES Email Event Notification"

// Detail is the type-specific part of an event: exactly one field set.
type Detail struct {
	Send          *struct{}        `json:"send,omitempty"`
	Reject        *RejectDetail    `json:"reject,omitempty"`
	Delivery      *DeliveryDetail  `json:"delivery,omitempty"`
	Bounce        *BounceDetail    `json:"bounce,omitempty"`
	Complaint     *ComplaintDetail `json:"complaint,omitempty"`
	DeliveryDelay *DelayDetail     `json:"deliveryDelay,omitempty"`
	Failure       *RenderingDetail `json:"failure,omitempty"`
}

// RejectDetail is a Reject event's detail.
type RejectDetail struct {
	Reason string `json:"reason"`
}

// DeliveryDetail is a Delivery event's detail.
type DeliveryDetail struct {
	Timestamp            string   `json:"timestamp"`
	ProcessingTimeMillis int64    `json:"processingTimeMillis"`
	Recipients           []string `json:"recipients"`
	SMTPResponse         string   `json:"smtpResponse"`
	RemoteMtaIP          string   `json:"remoteMtaIp,omitempty"`
	ReportingMTA         string   `json:"reportingMTA"`
}

// BouncedRecipient is one recipient of a Bounce.
type BouncedRecipient struct {
	EmailAddress   string `json:"emailAddress"`
	Action         string `json:"action,omitempty"`
	Status         string `json:"status,omitempty"`
	DiagnosticCode string `json:"diagnosticCode,omitempty"`
}

// BounceDetail is a Bounce event's detail (reference §8).
type BounceDetail struct {
	BounceType        string             `json:"bounceType"`
	BounceSubType     string             `json:"bounceSubType"`
	BouncedRecipients []BouncedRecipient `json:"bouncedRecipients"`
	Timestamp         string             `json:"timestamp"`
	FeedbackID        string             `json:"feedbackId"`
	ReportingMTA      string             `json:"reportingMTA,omitempty"`
	RemoteMtaIP       string             `json:"remoteMtaIp,omitempty"`
}

// ComplainedRecipient is one recipient of a Complaint.
type ComplainedRecipient struct {
	EmailAddress string `json:"emailAddress"`
}

// ComplaintDetail is a Complaint event's detail.
type ComplaintDetail struct {
	ComplainedRecipients  []ComplainedRecipient `json:"complainedRecipients"`
	Timestamp             string                `json:"timestamp"`
	FeedbackID            string                `json:"feedbackId"`
	ComplaintSubType      *string               `json:"complaintSubType"`
	UserAgent             string                `json:"userAgent,omitempty"`
	ComplaintFeedbackType string                `json:"complaintFeedbackType,omitempty"`
	ArrivalDate           string                `json:"arrivalDate,omitempty"`
}

// DelayedRecipient is one recipient of a DeliveryDelay.
type DelayedRecipient struct {
	EmailAddress   string `json:"emailAddress"`
	Status         string `json:"status"`
	DiagnosticCode string `json:"diagnosticCode"`
}

// DelayDetail is a DeliveryDelay event's detail.
type DelayDetail struct {
	DelayType         string             `json:"delayType"`
	DelayedRecipients []DelayedRecipient `json:"delayedRecipients"`
	ExpirationTime    string             `json:"expirationTime"`
	ReportingMTA      string             `json:"reportingMTA,omitempty"`
	Timestamp         string             `json:"timestamp"`
}

// RenderingDetail is a Rendering Failure event's detail.
type RenderingDetail struct {
	TemplateName string `json:"templateName"`
	ErrorMessage string `json:"errorMessage"`
}

// Stamp formats t as SES does: ISO 8601 UTC with milliseconds.
func Stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// Fanout makes the notifications that publishing message on a topic owes
// (sns.Service.Fanout).
type Fanout interface {
	Fanout(ctx context.Context, accountID, region, topicARN, subject, message string) ([]store.Notification, string, error)
	Wake()
}

// Identities finds the identity whose notification topics apply.
type Identities interface {
	NotifyingIdentity(ctx context.Context, accountID, region, addr string) (store.Identity, bool, error)
}

// Config wires a Service.
type Config struct {
	Store      store.Events
	ConfigSets *configsets.Service
	Identities Identities
	Topics     Fanout
	Clock      clock.Clock
	Logger     *slog.Logger
}

// Service records events.
type Service struct{ cfg Config }

// New returns a Service.
func New(cfg Config) *Service { return &Service{cfg: cfg} }

// Emit records one event about msg and queues its notifications. eventType
// is one of the constants above; recipients are those the event concerns;
// destination returns every recipient of the message (mail.destination),
// called only when the event is kept.
func (s *Service) Emit(ctx context.Context, msg store.Message, destination func() []string, eventType string, recipients []string, d Detail) error {
	// Where it goes: the configuration set's matching destinations and,
	// for Bounce, Complaint and Delivery, the identity's v1 topic.
	var setTopics []string
	if msg.ConfigurationSet != "" {
		set, err := s.cfg.ConfigSets.Get(ctx, msg.AccountID, msg.Region, msg.ConfigurationSet)
		if err == nil {
			setTopics = set.Topics(eventType)
		} else {
			s.cfg.Logger.Warn("configuration set of a message is gone", "message", msg.ID, "set", msg.ConfigurationSet, "err", err)
		}
	}
	idTopic, headers := "", false
	if eventType == Bounce || eventType == Complaint || eventType == Delivery {
		var err error
		if idTopic, headers, err = s.identityTopic(ctx, msg, eventType); err != nil {
			s.cfg.Logger.Warn("identity notification not made", "message", msg.ID, "err", err)
		}
	}
	// Send and Delivery are the bulk of all events and say nothing the
	// queue's recipient states do not: they are kept only when someone
	// subscribed to them. Bounces, complaints, rejects and delays are
	// always kept (statistics and the operator's view).
	if len(setTopics) == 0 && idTopic == "" && (eventType == Send || eventType == Delivery) {
		return nil
	}
	dest := destination()
	now := s.cfg.Clock.Now().UTC()
	body := struct {
		EventType string `json:"eventType"`
		Mail      mail   `json:"mail"`
		Detail
	}{eventType, mailOf(msg, dest, true), d}
	js, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("events: %w", err)
	}
	lower := make([]string, len(recipients))
	for i, r := range recipients {
		lower[i] = strings.ToLower(r)
	}
	ev := store.Event{ID: ids.UUID(), AccountID: msg.AccountID, Region: msg.Region, MessageID: msg.ID, Type: eventType,
		Recipients: lower, CreatedAt: now, JSON: js}
	var notes []store.Notification
	for _, topic := range setTopics {
		ns, err := s.fanout(ctx, msg.AccountID, topic, EventSubject, string(js))
		if err != nil {
			s.cfg.Logger.Warn("event destination unusable", "set", msg.ConfigurationSet, "topic", topic, "err", err)
			continue
		}
		notes = append(notes, ns...)
	}
	if idTopic != "" {
		m := mailOf(msg, dest, headers)
		m.Tags = nil
		nbody := struct {
			NotificationType string `json:"notificationType"`
			Detail
			Mail mail `json:"mail"`
		}{eventType, d, m}
		njs, err := json.Marshal(nbody)
		if err != nil {
			return fmt.Errorf("events: %w", err)
		}
		ns, err := s.fanout(ctx, msg.AccountID, idTopic, "", string(njs))
		if err != nil {
			s.cfg.Logger.Warn("identity notification topic unusable", "message", msg.ID, "topic", idTopic, "err", err)
		}
		notes = append(notes, ns...)
	}
	if err := s.cfg.Store.AddEvents(ctx, []store.Event{ev}, notes); err != nil {
		return fmt.Errorf("events: store: %w", err)
	}
	if len(notes) > 0 {
		s.cfg.Topics.Wake()
	}
	return nil
}

func (s *Service) fanout(ctx context.Context, accountID, topic, subject, message string) ([]store.Notification, error) {
	region := ""
	if p := strings.Split(topic, ":"); len(p) == 6 {
		region = p[3]
	}
	ns, _, err := s.cfg.Topics.Fanout(ctx, accountID, region, topic, subject, message)
	return ns, err
}

// identityTopic returns the sending identity's v1 topic for eventType and
// whether its notifications carry headers.
func (s *Service) identityTopic(ctx context.Context, msg store.Message, eventType string) (string, bool, error) {
	id, ok, err := s.cfg.Identities.NotifyingIdentity(ctx, msg.AccountID, msg.Region, msg.From)
	if err != nil || !ok {
		return "", false, err
	}
	n := id.Notifications
	switch eventType {
	case Bounce:
		return n.BounceTopic, n.HeadersInBounce, nil
	case Complaint:
		return n.ComplaintTopic, n.HeadersInComplaint, nil
	case Delivery:
		return n.DeliveryTopic, n.HeadersInDelivery, nil
	}
	return "", false, nil
}
