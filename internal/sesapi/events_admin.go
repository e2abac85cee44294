package sesapi

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/sesame-email/sesame/internal/store"
)

// EventView is one recorded event in the admin API: its SES JSON as sent
// to subscribers.
type EventView struct {
	ID         string
	MessageID  string
	Type       string
	Recipients []string
	Time       time.Time
	Event      json.RawMessage
}

// NotificationView is one webhook delivery and its attempts so far.
type NotificationView struct {
	ID              string
	Type            string
	TopicArn        string
	SubscriptionArn string
	Endpoint        string
	State           string
	Attempts        int
	NextAttempt     time.Time
	LastResult      string
	Created         time.Time
	Updated         time.Time
}

func limitParam(c *call, def int) (int, error) {
	v := c.r.URL.Query().Get("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		return 0, errBadRequest("limit must be between 1 and 1000.")
	}
	return n, nil
}

// adminEvents lists the account's events in the region, newest first;
// ?message= narrows to one message.
func (s *Server) adminEvents(c *call) (any, error) {
	limit, err := limitParam(c, 100)
	if err != nil {
		return nil, err
	}
	evs, err := s.cfg.Events.ListEvents(c.ctx, c.p.AccountID, c.region, store.EventPage{MessageID: c.r.URL.Query().Get("message"), Limit: limit})
	if err != nil {
		return nil, err
	}
	out := []EventView{}
	for _, e := range evs {
		out = append(out, EventView{ID: e.ID, MessageID: e.MessageID, Type: e.Type, Recipients: e.Recipients, Time: e.CreatedAt, Event: e.JSON})
	}
	return struct{ Events []EventView }{out}, nil
}

// adminNotifications lists webhook deliveries with their attempts;
// ?topic= narrows to one topic.
func (s *Server) adminNotifications(c *call) (any, error) {
	limit, err := limitParam(c, 100)
	if err != nil {
		return nil, err
	}
	ns, err := s.cfg.Events.ListNotifications(c.ctx, c.p.AccountID, c.region, c.r.URL.Query().Get("topic"), limit)
	if err != nil {
		return nil, err
	}
	out := []NotificationView{}
	for _, n := range ns {
		out = append(out, NotificationView{ID: n.ID, Type: n.Type, TopicArn: n.TopicARN, SubscriptionArn: n.SubscriptionARN, Endpoint: n.Endpoint,
			State: string(n.State), Attempts: n.Attempts, NextAttempt: n.NextAttempt, LastResult: n.LastResult, Created: n.CreatedAt, Updated: n.UpdatedAt})
	}
	return struct{ Notifications []NotificationView }{out}, nil
}
