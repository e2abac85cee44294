package sesapi

import (
	"errors"

	"github.com/sesame-email/sesame/internal/account"
	"github.com/sesame-email/sesame/internal/dnscheck"
	"github.com/sesame-email/sesame/internal/store"
)

// The admin API manages accounts and keys; SES has no such API (IAM and
// AWS Organizations play that part), so it lives under /sesame/v1/ with
// JSON bodies and v2-style errors. Admin keys may do everything; other keys
// may read only their own account and its keys.
func (s *Server) routeAdmin() {
	s.handle(s.admin, []route{
		{"GET /sesame/v1/whoami", "WhoAmI", s.adminWhoAmI},
		{"POST /sesame/v1/accounts", "CreateAccount", s.adminCreateAccount},
		{"GET /sesame/v1/accounts", "ListAccounts", s.adminListAccounts},
		{"GET /sesame/v1/accounts/{account}", "GetAccount", s.adminGetAccount},
		{"PATCH /sesame/v1/accounts/{account}", "UpdateAccount", s.adminUpdateAccount},
		{"POST /sesame/v1/accounts/{account}/keys", "CreateKey", s.adminCreateKey},
		{"GET /sesame/v1/accounts/{account}/keys", "ListKeys", s.adminListKeys},
		{"DELETE /sesame/v1/keys/{key}", "DeleteKey", s.adminDeleteKey},
		{"GET /sesame/v1/identities/{EmailIdentity}/records", "GetIdentityRecords", s.adminIdentityRecords},
		{"POST /sesame/v1/identities/{EmailIdentity}/verify", "VerifyIdentityNow", s.adminVerifyNow},
		{"PUT /sesame/v1/identities/{EmailIdentity}/ed25519", "PutIdentityEd25519", s.adminPutEd25519},
		{"GET /sesame/v1/messages", "ListMessages", s.adminListMessages},
		{"GET /sesame/v1/messages/{id}", "GetMessage", s.adminGetMessage},
		{"DELETE /sesame/v1/messages/{id}", "DeleteMessage", s.adminDeleteMessage},
		{"POST /sesame/v1/messages/{id}/{action}", "QueueAction", s.adminQueueAction},
		{"GET /sesame/v1/queue", "QueueSummary", s.adminQueue},
		{"GET /sesame/v1/events", "ListEvents", s.adminEvents},
		{"GET /sesame/v1/notifications", "ListNotifications", s.adminNotifications},
		{"GET /sesame/v1/inbound", "ListReceived", s.adminInboundList},
		{"GET /sesame/v1/inbound/{id}", "GetReceived", s.adminInboundGet},
	})
}

// IdentityCheck is the answer of VerifyIdentityNow: the statuses after a
// fresh DNS check and what each record looked like.
type IdentityCheck struct {
	Identity           string
	VerificationStatus string
	DkimStatus         string
	MailFromStatus     string `json:",omitempty"`
	Records            []dnscheck.Record
}

// adminIdentityRecords returns the records table of an identity in the
// caller's account and region (signature scope).
func (s *Server) adminIdentityRecords(c *call) (any, error) {
	recs, err := s.cfg.Identities.Records(c.ctx, c.p.AccountID, c.region, c.r.PathValue("EmailIdentity"))
	if err != nil {
		return nil, identityErr(err)
	}
	if recs == nil {
		recs = []dnscheck.Record{}
	}
	return struct{ Records []dnscheck.Record }{recs}, nil
}

// adminPutEd25519 turns Ed25519 dual signing on or off for a domain.
func (s *Server) adminPutEd25519(c *call) (any, error) {
	var in struct{ Enabled bool }
	if err := decodeJSON(c, &in); err != nil {
		return nil, err
	}
	id, err := s.cfg.Identities.SetEd25519(c.ctx, c.p.AccountID, c.region, c.r.PathValue("EmailIdentity"), in.Enabled)
	if err != nil {
		return nil, identityErr(err)
	}
	return struct {
		Ed25519Token string `json:",omitempty"`
		Verified     bool
	}{id.DKIM.Ed25519Token, id.DKIM.Ed25519Verified}, nil
}

// adminVerifyNow re-checks an identity's DNS at once.
func (s *Server) adminVerifyNow(c *call) (any, error) {
	name := c.r.PathValue("EmailIdentity")
	id, err := s.cfg.Identities.CheckNow(c.ctx, c.p.AccountID, c.region, name)
	if err != nil {
		return nil, identityErr(err)
	}
	recs, err := s.cfg.Identities.Records(c.ctx, c.p.AccountID, c.region, name)
	if err != nil {
		return nil, identityErr(err)
	}
	e, err := s.cfg.Identities.Effective(c.ctx, id)
	if err != nil {
		return nil, err
	}
	st := id.Verification.Status
	if e.Verified {
		st = store.StatusSuccess
	}
	out := IdentityCheck{Identity: id.Name, VerificationStatus: string(st), DkimStatus: string(e.DKIMStatus), Records: recs}
	if id.MailFrom.Domain != "" {
		out.MailFromStatus = string(id.MailFrom.Verification.Status)
	}
	if out.Records == nil {
		out.Records = []dnscheck.Record{}
	}
	return out, nil
}

// AdminAccount is an account as the admin API shows it.
type AdminAccount struct {
	AccountId     string
	Name          string
	Mode          string
	Max24HourSend float64
	MaxSendRate   float64
	CreatedAt     Epoch
}

// AdminKey is an access key as the admin API shows it; SecretAccessKey is
// present only in CreateKey's answer.
type AdminKey struct {
	AccessKeyId     string
	SecretAccessKey string `json:",omitempty"`
	AccountId       string
	Admin           bool
	Description     string `json:",omitempty"`
	CreatedAt       Epoch
}

func adminAccount(a store.Account) AdminAccount {
	return AdminAccount{AccountId: a.ID, Name: a.Name, Mode: string(a.Mode), Max24HourSend: a.Max24HourSend, MaxSendRate: a.MaxSendRate, CreatedAt: Epoch(a.CreatedAt)}
}

func requireAdmin(c *call) error {
	if !c.p.Admin {
		return errAccessDenied("Access key %s is not an admin key.", c.p.KeyID)
	}
	return nil
}

// mapServiceErr turns service sentinels into API errors.
func mapServiceErr(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return errNotFound("%s not found.", what)
	case errors.Is(err, store.ErrConflict):
		return errAlreadyExists("%s already exists.", what)
	case errors.Is(err, account.ErrInvalid):
		return errBadRequest("%s", err.Error())
	}
	return err
}

// pathAccount resolves {account} (id or name) and checks the caller may see it.
func (s *Server) pathAccount(c *call) (store.Account, error) {
	ref := c.r.PathValue("account")
	a, err := s.cfg.Accounts.Resolve(c.ctx, ref)
	if err != nil {
		return store.Account{}, mapServiceErr(err, "Account "+ref)
	}
	if !c.p.Admin && a.ID != c.p.AccountID {
		// Another tenant's account is indistinguishable from a missing one.
		return store.Account{}, errNotFound("Account %s not found.", ref)
	}
	return a, nil
}

func (s *Server) adminWhoAmI(c *call) (any, error) {
	a, err := s.cfg.Accounts.Get(c.ctx, c.p.AccountID)
	if err != nil {
		return nil, err
	}
	return struct {
		AccessKeyId string
		Admin       bool
		Region      string
		Account     AdminAccount
	}{c.p.KeyID, c.p.Admin, c.region, adminAccount(a)}, nil
}

func (s *Server) adminCreateAccount(c *call) (any, error) {
	if err := requireAdmin(c); err != nil {
		return nil, err
	}
	var in struct{ Name, Mode string }
	if err := decodeJSON(c, &in); err != nil {
		return nil, err
	}
	if in.Mode == "" {
		in.Mode = string(store.ModeSandbox)
	}
	a, err := s.cfg.Accounts.CreateAccount(c.ctx, in.Name, store.Mode(in.Mode))
	if err != nil {
		return nil, mapServiceErr(err, "Account "+in.Name)
	}
	return adminAccount(a), nil
}

func (s *Server) adminListAccounts(c *call) (any, error) {
	var accts []store.Account
	if c.p.Admin {
		var err error
		if accts, err = s.cfg.Accounts.List(c.ctx); err != nil {
			return nil, err
		}
	} else {
		a, err := s.cfg.Accounts.Get(c.ctx, c.p.AccountID)
		if err != nil {
			return nil, err
		}
		accts = []store.Account{a}
	}
	out := struct{ Accounts []AdminAccount }{Accounts: []AdminAccount{}}
	for _, a := range accts {
		out.Accounts = append(out.Accounts, adminAccount(a))
	}
	return out, nil
}

func (s *Server) adminGetAccount(c *call) (any, error) {
	a, err := s.pathAccount(c)
	if err != nil {
		return nil, err
	}
	return adminAccount(a), nil
}

func (s *Server) adminUpdateAccount(c *call) (any, error) {
	if err := requireAdmin(c); err != nil {
		return nil, err
	}
	a, err := s.pathAccount(c)
	if err != nil {
		return nil, err
	}
	var in struct {
		Mode          *string
		Max24HourSend *float64
		MaxSendRate   *float64
	}
	if err := decodeJSON(c, &in); err != nil {
		return nil, err
	}
	u := account.Update{Max24HourSend: in.Max24HourSend, MaxSendRate: in.MaxSendRate}
	if in.Mode != nil {
		m := store.Mode(*in.Mode)
		u.Mode = &m
	}
	a, err = s.cfg.Accounts.Update(c.ctx, a.ID, u)
	if err != nil {
		return nil, mapServiceErr(err, "Account "+a.ID)
	}
	return adminAccount(a), nil
}

func (s *Server) adminCreateKey(c *call) (any, error) {
	if err := requireAdmin(c); err != nil {
		return nil, err
	}
	a, err := s.pathAccount(c)
	if err != nil {
		return nil, err
	}
	var in struct {
		Admin       bool
		Description string
	}
	if err := decodeJSON(c, &in); err != nil {
		return nil, err
	}
	cr, err := s.cfg.Accounts.CreateKey(c.ctx, a.ID, in.Admin, in.Description)
	if err != nil {
		return nil, err
	}
	return AdminKey{AccessKeyId: cr.AccessKeyID, SecretAccessKey: cr.SecretAccessKey, AccountId: a.ID, Admin: in.Admin, Description: in.Description, CreatedAt: Epoch(s.cfg.Clock.Now())}, nil
}

func (s *Server) adminListKeys(c *call) (any, error) {
	a, err := s.pathAccount(c)
	if err != nil {
		return nil, err
	}
	keys, err := s.cfg.Accounts.ListKeys(c.ctx, a.ID)
	if err != nil {
		return nil, mapServiceErr(err, "Account "+a.ID)
	}
	out := struct{ Keys []AdminKey }{Keys: []AdminKey{}}
	for _, k := range keys {
		out.Keys = append(out.Keys, AdminKey{AccessKeyId: k.ID, AccountId: k.AccountID, Admin: k.Admin, Description: k.Description, CreatedAt: Epoch(k.CreatedAt)})
	}
	return out, nil
}

func (s *Server) adminDeleteKey(c *call) (any, error) {
	if err := requireAdmin(c); err != nil {
		return nil, err
	}
	id := c.r.PathValue("key")
	if err := s.cfg.Accounts.DeleteKey(c.ctx, id); err != nil {
		return nil, mapServiceErr(err, "Access key "+id)
	}
	return nil, nil
}
