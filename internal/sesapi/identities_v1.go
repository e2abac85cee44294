package sesapi

import (
	"errors"
	"strconv"

	"github.com/sesame-email/sesame/internal/identity"
	"github.com/sesame-email/sesame/internal/store"
)

func (s *Server) v1IdentityOps(ops map[string]v1Op) {
	ops["VerifyDomainIdentity"] = s.v1VerifyDomainIdentity
	ops["VerifyDomainDkim"] = s.v1VerifyDomainDkim
	ops["VerifyEmailIdentity"] = s.v1VerifyEmailIdentity
	ops["VerifyEmailAddress"] = s.v1VerifyEmailIdentity
	ops["ListIdentities"] = s.v1ListIdentities
	ops["ListVerifiedEmailAddresses"] = s.v1ListVerifiedEmailAddresses
	ops["GetIdentityVerificationAttributes"] = s.v1GetIdentityVerificationAttributes
	ops["GetIdentityDkimAttributes"] = s.v1GetIdentityDkimAttributes
	ops["GetIdentityMailFromDomainAttributes"] = s.v1GetIdentityMailFromDomainAttributes
	ops["SetIdentityMailFromDomain"] = s.v1SetIdentityMailFromDomain
	ops["SetIdentityDkimEnabled"] = s.v1SetIdentityDkimEnabled
	ops["DeleteIdentity"] = s.v1DeleteIdentity
	ops["DeleteVerifiedEmailAddress"] = s.v1DeleteVerifiedEmailAddress
}

func required(c *call, name string) (string, error) {
	v := c.form.Get(name)
	if v == "" {
		return "", errMissingParam(name)
	}
	return v, nil
}

// v1VerifyDomainIdentity starts legacy TXT verification; calling it again
// returns the same token (SES's behaviour).
func (s *Server) v1VerifyDomainIdentity(c *call) (func(*xmlw), error) {
	d, err := required(c, "Domain")
	if err != nil {
		return nil, err
	}
	id, err := s.cfg.Identities.Get(c.ctx, c.p.AccountID, c.region, d)
	if errors.Is(err, identity.ErrNotFound) {
		id, err = s.cfg.Identities.CreateDomain(c.ctx, c.p.AccountID, c.region, d, identity.DomainOptions{NoDKIM: true})
	}
	if err != nil {
		return nil, identityErr(err)
	}
	return func(x *xmlw) { x.elem("VerificationToken", id.Token) }, nil
}

// v1VerifyDomainDkim turns on Easy DKIM (creating the identity if needed)
// and returns the three tokens.
func (s *Server) v1VerifyDomainDkim(c *call) (func(*xmlw), error) {
	d, err := required(c, "Domain")
	if err != nil {
		return nil, err
	}
	id, err := s.cfg.Identities.Get(c.ctx, c.p.AccountID, c.region, d)
	switch {
	case errors.Is(err, identity.ErrNotFound):
		id, err = s.cfg.Identities.CreateDomain(c.ctx, c.p.AccountID, c.region, d, identity.DomainOptions{})
	case err == nil && id.DKIM.Origin == "":
		id, err = s.cfg.Identities.SetDKIMSigning(c.ctx, c.p.AccountID, c.region, d, identity.SigningOptions{Origin: "AWS_SES"})
	}
	if err != nil {
		return nil, identityErr(err)
	}
	return func(x *xmlw) { x.members("DkimTokens", id.DKIM.Tokens) }, nil
}

// v1VerifyEmailIdentity creates an address identity, or re-sends its link.
func (s *Server) v1VerifyEmailIdentity(c *call) (func(*xmlw), error) {
	addr, err := required(c, "EmailAddress")
	if err != nil {
		return nil, err
	}
	_, err = s.cfg.Identities.CreateEmail(c.ctx, c.p.AccountID, c.region, addr, nil, "")
	if errors.Is(err, identity.ErrExists) {
		err = s.cfg.Identities.Resend(c.ctx, c.p.AccountID, c.region, addr)
	}
	return nil, identityErr(err)
}

func (s *Server) v1ListIdentities(c *call) (func(*xmlw), error) {
	var typ store.IdentityType
	switch t := c.form.Get("IdentityType"); t {
	case "":
	case "EmailAddress":
		typ = store.IdentityEmail
	case "Domain":
		typ = store.IdentityDomain
	default:
		return nil, errBadRequest("Invalid IdentityType %q: want EmailAddress or Domain.", t)
	}
	limit := 1000
	if v := c.form.Get("MaxItems"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return nil, errBadRequest("MaxItems must be between 1 and 1000.")
		}
		limit = n
	}
	ids, next, err := s.listPage(c, typ, c.form.Get("NextToken"), limit)
	if err != nil {
		return nil, err
	}
	return func(x *xmlw) {
		x.open("Identities")
		for _, id := range ids {
			x.elem("member", id.Name)
		}
		x.close("Identities")
		if next != "" {
			x.elem("NextToken", next)
		}
	}, nil
}

func (s *Server) v1ListVerifiedEmailAddresses(c *call) (func(*xmlw), error) {
	ids, err := s.cfg.Identities.List(c.ctx, c.p.AccountID, c.region, store.IdentityPage{Type: store.IdentityEmail, Limit: 1000})
	if err != nil {
		return nil, err
	}
	return func(x *xmlw) {
		x.open("VerifiedEmailAddresses")
		for _, id := range ids {
			if id.Verification.Status == store.StatusSuccess {
				x.elem("member", id.Name)
			}
		}
		x.close("VerifiedEmailAddresses")
	}, nil
}

// identitiesParam reads Identities.member.N (at most 100). Identities the
// account lacks are left out of the answer, as SES does (reference §10).
func (s *Server) identitiesParam(c *call) ([]store.Identity, []string, error) {
	names := v1Members(c, "Identities")
	if len(names) == 0 {
		return nil, nil, errMissingParam("Identities")
	}
	if len(names) > 100 {
		return nil, nil, errBadRequest("At most 100 identities per request.")
	}
	var out []store.Identity
	var asked []string
	for _, n := range names {
		id, err := s.cfg.Identities.Get(c.ctx, c.p.AccountID, c.region, n)
		if errors.Is(err, identity.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		out, asked = append(out, id), append(asked, n)
	}
	return out, asked, nil
}

// mapEntries writes a v1 map (reference §1: <entry><key/><value/></entry>).
func mapEntries(x *xmlw, name string, keys []string, value func(i int)) {
	x.open(name)
	for i, k := range keys {
		x.open("entry")
		x.elem("key", k)
		x.open("value")
		value(i)
		x.close("value")
		x.close("entry")
	}
	x.close(name)
}

func (s *Server) v1GetIdentityVerificationAttributes(c *call) (func(*xmlw), error) {
	ids, asked, err := s.identitiesParam(c)
	if err != nil {
		return nil, err
	}
	status := make([]string, len(ids))
	for i, id := range ids {
		e, err := s.cfg.Identities.Effective(c.ctx, id)
		if err != nil {
			return nil, err
		}
		status[i] = v1Status(id.Verification.Status)
		if e.Verified {
			status[i] = "Success"
		}
	}
	return func(x *xmlw) {
		mapEntries(x, "VerificationAttributes", asked, func(i int) {
			x.elem("VerificationStatus", status[i])
			if ids[i].Type == store.IdentityDomain {
				x.elem("VerificationToken", ids[i].Token)
			}
		})
	}, nil
}

func (s *Server) v1GetIdentityDkimAttributes(c *call) (func(*xmlw), error) {
	ids, asked, err := s.identitiesParam(c)
	if err != nil {
		return nil, err
	}
	attrs := make([]v2DkimAttributes, len(ids))
	for i, id := range ids {
		if attrs[i], err = s.dkimAttributes(c, id); err != nil {
			return nil, err
		}
	}
	return func(x *xmlw) {
		mapEntries(x, "DkimAttributes", asked, func(i int) {
			x.bool("DkimEnabled", attrs[i].SigningEnabled)
			x.elem("DkimVerificationStatus", v1Status(attrs[i].Status))
			if len(attrs[i].Tokens) > 0 {
				x.members("DkimTokens", attrs[i].Tokens)
			}
		})
	}, nil
}

func (s *Server) v1GetIdentityMailFromDomainAttributes(c *call) (func(*xmlw), error) {
	ids, asked, err := s.identitiesParam(c)
	if err != nil {
		return nil, err
	}
	return func(x *xmlw) {
		mapEntries(x, "MailFromDomainAttributes", asked, func(i int) {
			mf := ids[i].MailFrom
			x.elem("MailFromDomain", mf.Domain)
			st := "Pending"
			if mf.Domain != "" {
				st = v1Status(mf.Verification.Status)
			}
			x.elem("MailFromDomainStatus", st)
			x.elem("BehaviorOnMXFailure", v1Behavior(mf.Behavior))
		})
	}, nil
}

func (s *Server) v1SetIdentityMailFromDomain(c *call) (func(*xmlw), error) {
	name, err := required(c, "Identity")
	if err != nil {
		return nil, err
	}
	b, err := v2Behavior(c.form.Get("BehaviorOnMXFailure"))
	if err != nil {
		return nil, err
	}
	_, err = s.cfg.Identities.SetMailFrom(c.ctx, c.p.AccountID, c.region, name, c.form.Get("MailFromDomain"), b)
	return nil, identityErr(err)
}

func (s *Server) v1SetIdentityDkimEnabled(c *call) (func(*xmlw), error) {
	name, err := required(c, "Identity")
	if err != nil {
		return nil, err
	}
	on, err := v1Bool(c, "DkimEnabled", true)
	if err != nil {
		return nil, err
	}
	return nil, identityErr(s.cfg.Identities.SetDKIMEnabled(c.ctx, c.p.AccountID, c.region, name, on))
}

// v1DeleteIdentity deletes; an unknown identity is not an error in v1.
func (s *Server) v1DeleteIdentity(c *call) (func(*xmlw), error) {
	name, err := required(c, "Identity")
	if err != nil {
		return nil, err
	}
	if err := s.cfg.Identities.Delete(c.ctx, c.p.AccountID, c.region, name); err != nil && !errors.Is(err, identity.ErrNotFound) {
		return nil, identityErr(err)
	}
	return nil, nil
}

func (s *Server) v1DeleteVerifiedEmailAddress(c *call) (func(*xmlw), error) {
	addr, err := required(c, "EmailAddress")
	if err != nil {
		return nil, err
	}
	if err := s.cfg.Identities.Delete(c.ctx, c.p.AccountID, c.region, addr); err != nil && !errors.Is(err, identity.ErrNotFound) {
		return nil, identityErr(err)
	}
	return nil, nil
}
