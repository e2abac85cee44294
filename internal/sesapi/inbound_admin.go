package sesapi

import (
	"errors"

	"github.com/sesame-email/sesame/internal/inbound"
)

// InboundView is a received message in the admin API; Raw only in a get.
type InboundView struct {
	inbound.Stored
	Raw []byte `json:",omitempty"`
}

// adminInboundList lists the account's received mail in the region.
func (s *Server) adminInboundList(c *call) (any, error) {
	limit, err := limitParam(c, 100)
	if err != nil {
		return nil, err
	}
	list, err := s.cfg.Received.List(c.p.AccountID, c.region, limit)
	if err != nil {
		return nil, err
	}
	out := []InboundView{}
	for _, m := range list {
		out = append(out, InboundView{Stored: m})
	}
	return struct{ Messages []InboundView }{out}, nil
}

// adminInboundGet returns one received message with its bytes.
func (s *Server) adminInboundGet(c *call) (any, error) {
	m, raw, err := s.cfg.Received.Get(c.p.AccountID, c.region, c.r.PathValue("id"))
	if errors.Is(err, inbound.ErrMessageNotFound) {
		return nil, errNotFound("Received message %s does not exist.", c.r.PathValue("id"))
	}
	if err != nil {
		return nil, err
	}
	return InboundView{Stored: m, Raw: raw}, nil
}
