package sesapi

import (
	"strconv"

	"github.com/sesame-email/sesame/internal/store"
)

// MessageView is an accepted message as the admin API shows it: envelope,
// recipients with their state and last response, and (on request) bytes.
type MessageView struct {
	MessageId        string
	MailFrom         string
	From             string
	Subject          string
	ConfigurationSet string `json:",omitempty"`
	CreatedAt        Epoch
	Recipients       []RecipientView
	Raw              []byte `json:",omitempty"`
}

// RecipientView is one recipient's delivery state.
type RecipientView struct {
	Address      string
	State        string
	Attempts     int
	LastResponse string `json:",omitempty"`
}

func (s *Server) messageView(c *call, m store.Message) (MessageView, error) {
	rcpts, err := s.cfg.Queue.Recipients(c.ctx, m.ID)
	if err != nil {
		return MessageView{}, err
	}
	v := MessageView{MessageId: m.ID, MailFrom: m.MailFrom, From: m.From, Subject: m.Subject, ConfigurationSet: m.ConfigurationSet,
		CreatedAt: Epoch(m.CreatedAt), Recipients: []RecipientView{}, Raw: m.Data}
	for _, r := range rcpts {
		v.Recipients = append(v.Recipients, RecipientView{Address: r.Address, State: string(r.State), Attempts: r.Attempts, LastResponse: r.LastResponse})
	}
	return v, nil
}

// adminListMessages lists the caller's recent messages in the region.
func (s *Server) adminListMessages(c *call) (any, error) {
	limit := 50
	if v := c.r.URL.Query().Get("Limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return nil, errBadRequest("Limit must be between 1 and 1000.")
		}
		limit = n
	}
	msgs, err := s.cfg.Queue.List(c.ctx, c.p.AccountID, c.region, limit)
	if err != nil {
		return nil, err
	}
	out := struct{ Messages []MessageView }{Messages: []MessageView{}}
	for _, m := range msgs {
		v, err := s.messageView(c, m)
		if err != nil {
			return nil, err
		}
		out.Messages = append(out.Messages, v)
	}
	return out, nil
}

// adminGetMessage returns one message with its bytes.
func (s *Server) adminGetMessage(c *call) (any, error) {
	id := c.r.PathValue("id")
	m, err := s.cfg.Queue.Message(c.ctx, id)
	if err != nil || m.AccountID != c.p.AccountID || m.Region != c.region {
		return nil, errNotFound("Message %s not found.", id)
	}
	return s.messageView(c, m)
}

// DestinationView is the queue for one destination.
type DestinationView struct {
	Destination  string
	Queued       int
	Deferred     int
	Held         int
	Oldest       Epoch
	LastResponse string `json:",omitempty"`
}

// adminQueue summarizes the caller's queue in the region by destination.
func (s *Server) adminQueue(c *call) (any, error) {
	sum, err := s.cfg.Queue.Summary(c.ctx, c.p.AccountID, c.region)
	if err != nil {
		return nil, err
	}
	out := struct{ Destinations []DestinationView }{Destinations: []DestinationView{}}
	for _, d := range sum {
		out.Destinations = append(out.Destinations, DestinationView{d.Domain, d.Queued, d.Deferred, d.Held, Epoch(d.Oldest), d.LastResponse})
	}
	return out, nil
}

// ownMessage checks the path's message belongs to the caller and region.
func (s *Server) ownMessage(c *call) (string, error) {
	id := c.r.PathValue("id")
	m, err := s.cfg.Queue.Message(c.ctx, id)
	if err != nil || m.AccountID != c.p.AccountID || m.Region != c.region {
		return "", errNotFound("Message %s not found.", id)
	}
	return id, nil
}

// adminQueueAction retries, holds or releases a message's recipients.
func (s *Server) adminQueueAction(c *call) (any, error) {
	id, err := s.ownMessage(c)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Clock.Now()
	var n int
	switch action := c.r.PathValue("action"); action {
	case "retry":
		n, err = s.cfg.Queue.Retry(c.ctx, id, now)
	case "hold":
		n, err = s.cfg.Queue.Hold(c.ctx, id, now)
	case "release":
		n, err = s.cfg.Queue.Release(c.ctx, id, now)
	default:
		return nil, errBadRequest("Unknown action %q: want retry, hold or release.", action)
	}
	if err != nil {
		return nil, err
	}
	return struct{ Recipients int }{n}, nil
}

// adminDeleteMessage removes a message from the queue.
func (s *Server) adminDeleteMessage(c *call) (any, error) {
	id, err := s.ownMessage(c)
	if err != nil {
		return nil, err
	}
	return nil, s.cfg.Queue.Delete(c.ctx, id)
}
