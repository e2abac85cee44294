package sesapi

import "net/http"

// route binds a ServeMux pattern to a named operation.
type route struct {
	pattern, name string
	fn            jsonOp
}

func (s *Server) handle(mux *http.ServeMux, routes []route) {
	for _, r := range routes {
		mux.Handle(r.pattern, opHandler{s: s, name: r.name, fn: r.fn})
	}
}

// routeV2 registers the SES v2 REST-JSON operations (reference §2).
func (s *Server) routeV2() {
	s.handle(s.v2, []route{
		{"GET /v2/email/account", "GetAccount", s.v2GetAccount},
		{"PUT /v2/email/account/sending", "PutAccountSendingAttributes", s.v2PutAccountSendingAttributes},
		{"POST /v2/email/outbound-emails", "SendEmail", s.v2SendEmail},
	})
	s.handle(s.v2, s.routeIdentitiesV2())
	s.handle(s.v2, s.routeTemplatesV2())
	s.handle(s.v2, s.routeSuppressionV2())
	s.handle(s.v2, s.routeConfigSetsV2())
}

type v2SendQuota struct {
	Max24HourSend   float64
	MaxSendRate     float64
	SentLast24Hours float64
}

type v2GetAccountOutput struct {
	DedicatedIpAutoWarmupEnabled bool
	EnforcementStatus            string
	ProductionAccessEnabled      bool
	SendQuota                    v2SendQuota
	SendingEnabled               bool
}

func (s *Server) v2GetAccount(c *call) (any, error) {
	a, err := s.cfg.Accounts.Get(c.ctx, c.p.AccountID)
	if err != nil {
		return nil, err
	}
	q, err := s.quota(c)
	if err != nil {
		return nil, err
	}
	on, err := s.cfg.Accounts.SendingEnabled(c.ctx, c.p.AccountID, c.region)
	if err != nil {
		return nil, err
	}
	return v2GetAccountOutput{
		EnforcementStatus:       "HEALTHY",
		ProductionAccessEnabled: a.Mode == "production",
		SendQuota:               v2SendQuota(q),
		SendingEnabled:          on,
	}, nil
}

func (s *Server) v2PutAccountSendingAttributes(c *call) (any, error) {
	// SendingEnabled is a primitive boolean with default false in the SES
	// model: aws-sdk-go-v2 leaves it out when false, so absent means false.
	var in struct{ SendingEnabled bool }
	if err := decodeJSON(c, &in); err != nil {
		return nil, err
	}
	return nil, s.cfg.Accounts.SetSendingEnabled(c.ctx, c.p.AccountID, c.region, in.SendingEnabled)
}
