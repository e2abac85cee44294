package sesapi

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/sesame-email/sesame/internal/store"
	"github.com/sesame-email/sesame/internal/suppression"
)

func (s *Server) routeSuppressionV2() []route {
	return []route{
		{"PUT /v2/email/suppression/addresses", "PutSuppressedDestination", s.v2PutSuppressed},
		{"GET /v2/email/suppression/addresses", "ListSuppressedDestinations", s.v2ListSuppressed},
		{"GET /v2/email/suppression/addresses/{EmailAddress}", "GetSuppressedDestination", s.v2GetSuppressed},
		{"DELETE /v2/email/suppression/addresses/{EmailAddress}", "DeleteSuppressedDestination", s.v2DeleteSuppressed},
	}
}

func suppressionErr(err error) error {
	switch {
	case errors.Is(err, suppression.ErrNotFound):
		return errNotFound("%s", strings.TrimPrefix(err.Error(), "suppression: not found: ")+" is not on the suppression list.")
	case errors.Is(err, suppression.ErrInvalid):
		return errBadRequest("%s", strings.TrimPrefix(err.Error(), "suppression: invalid parameter: "))
	}
	return err
}

func (s *Server) v2PutSuppressed(c *call) (any, error) {
	var in struct{ EmailAddress, Reason string }
	if err := decodeJSON(c, &in); err != nil {
		return nil, err
	}
	return nil, suppressionErr(s.cfg.Suppression.Put(c.ctx, c.p.AccountID, c.region, in.EmailAddress, in.Reason, "", ""))
}

func (s *Server) v2GetSuppressed(c *call) (any, error) {
	sp, err := s.cfg.Suppression.Get(c.ctx, c.p.AccountID, c.region, c.r.PathValue("EmailAddress"))
	if err != nil {
		return nil, suppressionErr(err)
	}
	type attrs struct {
		MessageId  string `json:",omitempty"`
		FeedbackId string `json:",omitempty"`
	}
	type dest struct {
		EmailAddress   string
		Reason         string
		LastUpdateTime Epoch
		Attributes     *attrs `json:",omitempty"`
	}
	d := dest{EmailAddress: sp.Address, Reason: sp.Reason, LastUpdateTime: Epoch(sp.UpdatedAt)}
	if sp.MessageID != "" || sp.FeedbackID != "" {
		d.Attributes = &attrs{sp.MessageID, sp.FeedbackID}
	}
	return struct{ SuppressedDestination dest }{d}, nil
}

func (s *Server) v2DeleteSuppressed(c *call) (any, error) {
	return nil, suppressionErr(s.cfg.Suppression.Delete(c.ctx, c.p.AccountID, c.region, c.r.PathValue("EmailAddress")))
}

// v2ListSuppressed lists with Reason (repeatable; the SDK's Reasons),
// StartDate/EndDate (ISO 8601 in the query, reference §2.4), paging.
func (s *Server) v2ListSuppressed(c *call) (any, error) {
	q := c.r.URL.Query()
	p := store.SuppressionPage{Reasons: q["Reason"], Limit: 1000}
	for _, d := range []struct {
		name string
		dst  *time.Time
	}{{"StartDate", &p.Start}, {"EndDate", &p.End}} {
		if v := q.Get(d.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return nil, errBadRequest("%s must be an ISO 8601 timestamp.", d.name)
			}
			*d.dst = t
		}
	}
	if v := q.Get("PageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return nil, errBadRequest("PageSize must be between 1 and 1000.")
		}
		p.Limit = n
	}
	after, err := fromPageToken(q.Get("NextToken"))
	if err != nil {
		return nil, err
	}
	p.After = after
	limit := p.Limit
	p.Limit++
	list, err := s.cfg.Suppression.List(c.ctx, c.p.AccountID, c.region, p)
	if err != nil {
		return nil, suppressionErr(err)
	}
	type summary struct {
		EmailAddress   string
		Reason         string
		LastUpdateTime Epoch
	}
	out := struct {
		SuppressedDestinationSummaries []summary
		NextToken                      string `json:",omitempty"`
	}{SuppressedDestinationSummaries: []summary{}}
	list, out.NextToken = cutPage(list, limit, func(sp store.Suppression) string { return sp.Address })
	for _, sp := range list {
		out.SuppressedDestinationSummaries = append(out.SuppressedDestinationSummaries, summary{sp.Address, sp.Reason, Epoch(sp.UpdatedAt)})
	}
	return out, nil
}
