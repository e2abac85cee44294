package sesapi

import (
	"strconv"
	"strings"

	"github.com/sesame-email/sesame/internal/identity"
	"github.com/sesame-email/sesame/internal/store"
)

func (s *Server) routeIdentitiesV2() []route {
	return []route{
		{"POST /v2/email/identities", "CreateEmailIdentity", s.v2CreateEmailIdentity},
		{"GET /v2/email/identities", "ListEmailIdentities", s.v2ListEmailIdentities},
		// aws-sdk-go-v2's sesv2 (v1.79) lists with a POST and a JSON body;
		// botocore still uses the GET above.
		{"POST /v2/email/list-identities", "ListEmailIdentities", s.v2ListEmailIdentities},
		{"GET /v2/email/identities/{EmailIdentity}", "GetEmailIdentity", s.v2GetEmailIdentity},
		{"DELETE /v2/email/identities/{EmailIdentity}", "DeleteEmailIdentity", s.v2DeleteEmailIdentity},
		{"PUT /v2/email/identities/{EmailIdentity}/dkim", "PutEmailIdentityDkimAttributes", s.v2PutDkimAttributes},
		{"PUT /v2/email/identities/{EmailIdentity}/dkim/signing", "PutEmailIdentityDkimSigningAttributes", s.v2PutDkimSigningAttributes},
		{"PUT /v2/email/identities/{EmailIdentity}/mail-from", "PutEmailIdentityMailFromAttributes", s.v2PutMailFromAttributes},
	}
}

type v2Tag struct {
	Key   string
	Value string
}

type v2DkimAttributes struct {
	SigningEnabled             bool
	Status                     store.Status
	Tokens                     []string `json:",omitempty"`
	SigningHostedZone          string   `json:",omitempty"`
	SigningAttributesOrigin    string   `json:",omitempty"`
	NextSigningKeyLength       string   `json:",omitempty"`
	CurrentSigningKeyLength    string   `json:",omitempty"`
	LastKeyGenerationTimestamp *Epoch   `json:",omitempty"`
}

type v2MailFromAttributes struct {
	MailFromDomain       string `json:",omitempty"`
	MailFromDomainStatus string `json:",omitempty"`
	BehaviorOnMxFailure  string
}

type v2VerificationInfo struct {
	LastCheckedTimestamp *Epoch `json:",omitempty"`
	LastSuccessTimestamp *Epoch `json:",omitempty"`
	ErrorType            string `json:",omitempty"`
}

func epochPtr(v store.Verification, success bool) *Epoch {
	t := v.LastChecked
	if success {
		t = v.LastSuccess
	}
	if t.IsZero() {
		return nil
	}
	e := Epoch(t)
	return &e
}

// dkimAttributes renders the DKIM attributes an identity reports: its own
// for a domain, its domain's for an address (reference §9, inheritance).
func (s *Server) dkimAttributes(c *call, id store.Identity) (v2DkimAttributes, error) {
	e, err := s.cfg.Identities.Effective(c.ctx, id)
	if err != nil {
		return v2DkimAttributes{}, err
	}
	if e.DKIMIdentity == nil {
		// A bare address: what real SES sends (reference §2.1).
		return v2DkimAttributes{Status: store.StatusNotStarted, SigningAttributesOrigin: "AWS_SES", NextSigningKeyLength: identity.RSA1024}, nil
	}
	d := e.DKIMIdentity.DKIM
	out := v2DkimAttributes{
		SigningEnabled: d.SigningEnabled, Status: d.Verification.Status, Tokens: d.Tokens,
		SigningAttributesOrigin: d.Origin, NextSigningKeyLength: d.NextKeyLength, CurrentSigningKeyLength: d.CurrentKeyLength,
	}
	if id.Type == store.IdentityEmail {
		// An address signs with its domain's key unless it opted out.
		out.SigningEnabled = d.SigningEnabled && id.DKIM.SigningEnabled
	}
	if d.Origin == "AWS_SES" {
		out.SigningHostedZone = s.cfg.ServiceDomain
	}
	if !d.LastKeyGeneration.IsZero() {
		t := Epoch(d.LastKeyGeneration)
		out.LastKeyGenerationTimestamp = &t
	}
	return out, nil
}

func (s *Server) v2CreateEmailIdentity(c *call) (any, error) {
	var in struct {
		EmailIdentity         string
		Tags                  []v2Tag
		ConfigurationSetName  string
		DkimSigningAttributes *struct {
			DomainSigningSelector         string
			DomainSigningPrivateKey       string
			NextSigningKeyLength          string
			DomainSigningAttributesOrigin string
		}
	}
	if err := decodeJSON(c, &in); err != nil {
		return nil, err
	}
	if in.EmailIdentity == "" {
		return nil, errBadRequest("EmailIdentity is required.")
	}
	var tags []store.Tag
	for _, t := range in.Tags {
		tags = append(tags, store.Tag{Key: t.Key, Value: t.Value})
	}
	var id store.Identity
	var err error
	if strings.Contains(in.EmailIdentity, "@") {
		id, err = s.cfg.Identities.CreateEmail(c.ctx, c.p.AccountID, c.region, in.EmailIdentity, tags, in.ConfigurationSetName)
	} else {
		opts := identity.DomainOptions{Tags: tags, ConfigurationSet: in.ConfigurationSetName}
		if a := in.DkimSigningAttributes; a != nil {
			opts.Selector, opts.PrivateKey, opts.KeyLength = a.DomainSigningSelector, a.DomainSigningPrivateKey, a.NextSigningKeyLength
		}
		id, err = s.cfg.Identities.CreateDomain(c.ctx, c.p.AccountID, c.region, in.EmailIdentity, opts)
	}
	if err != nil {
		return nil, identityErr(err)
	}
	out := struct {
		IdentityType             store.IdentityType
		VerifiedForSendingStatus bool
		DkimAttributes           *v2DkimAttributes `json:",omitempty"`
	}{IdentityType: id.Type, VerifiedForSendingStatus: id.Verification.Status == store.StatusSuccess}
	if id.Type == store.IdentityDomain {
		d, err := s.dkimAttributes(c, id)
		if err != nil {
			return nil, err
		}
		out.DkimAttributes = &d
	}
	return out, nil
}

func (s *Server) v2ListEmailIdentities(c *call) (any, error) {
	pageSize, token, _, err := listParams(c)
	if err != nil {
		return nil, err
	}
	limit := 100
	if pageSize != "" {
		n, err := strconv.Atoi(pageSize)
		if err != nil || n < 0 || n > 1000 {
			return nil, errBadRequest("PageSize must be between 0 and 1000.")
		}
		if n > 0 {
			limit = n
		}
	}
	ids, next, err := s.listPage(c, "", token, limit)
	if err != nil {
		return nil, err
	}
	type item struct {
		IdentityType       store.IdentityType
		IdentityName       string
		SendingEnabled     bool
		VerificationStatus store.Status
	}
	out := struct {
		EmailIdentities []item
		NextToken       string `json:",omitempty"`
	}{EmailIdentities: []item{}, NextToken: next}
	for _, id := range ids {
		e, err := s.cfg.Identities.Effective(c.ctx, id)
		if err != nil {
			return nil, err
		}
		st := id.Verification.Status
		if e.Verified {
			st = store.StatusSuccess
		}
		out.EmailIdentities = append(out.EmailIdentities, item{id.Type, id.Name, e.Verified, st})
	}
	return out, nil
}

func (s *Server) pathIdentity(c *call) (store.Identity, error) {
	id, err := s.cfg.Identities.Get(c.ctx, c.p.AccountID, c.region, c.r.PathValue("EmailIdentity"))
	return id, identityErr(err)
}

func (s *Server) v2GetEmailIdentity(c *call) (any, error) {
	id, err := s.pathIdentity(c)
	if err != nil {
		return nil, err
	}
	e, err := s.cfg.Identities.Effective(c.ctx, id)
	if err != nil {
		return nil, err
	}
	d, err := s.dkimAttributes(c, id)
	if err != nil {
		return nil, err
	}
	st := id.Verification.Status
	if e.Verified {
		st = store.StatusSuccess
	}
	mf := v2MailFromAttributes{BehaviorOnMxFailure: id.MailFrom.Behavior}
	if id.MailFrom.Domain != "" {
		mf.MailFromDomain, mf.MailFromDomainStatus = id.MailFrom.Domain, string(id.MailFrom.Verification.Status)
	}
	tags := []v2Tag{}
	for _, t := range id.Tags {
		tags = append(tags, v2Tag{t.Key, t.Value})
	}
	return struct {
		IdentityType             store.IdentityType
		FeedbackForwardingStatus bool
		VerifiedForSendingStatus bool
		DkimAttributes           v2DkimAttributes
		MailFromAttributes       v2MailFromAttributes
		Policies                 map[string]string
		Tags                     []v2Tag
		ConfigurationSetName     string `json:",omitempty"`
		VerificationStatus       store.Status
		VerificationInfo         v2VerificationInfo
	}{
		IdentityType: id.Type, FeedbackForwardingStatus: id.FeedbackForwarding, VerifiedForSendingStatus: e.Verified,
		DkimAttributes: d, MailFromAttributes: mf, Policies: map[string]string{}, Tags: tags,
		ConfigurationSetName: id.ConfigurationSet, VerificationStatus: st,
		VerificationInfo: v2VerificationInfo{
			LastCheckedTimestamp: epochPtr(id.Verification, false),
			LastSuccessTimestamp: epochPtr(id.Verification, true),
			ErrorType:            id.Verification.ErrorType,
		},
	}, nil
}

func (s *Server) v2DeleteEmailIdentity(c *call) (any, error) {
	return nil, identityErr(s.cfg.Identities.Delete(c.ctx, c.p.AccountID, c.region, c.r.PathValue("EmailIdentity")))
}

func (s *Server) v2PutDkimAttributes(c *call) (any, error) {
	var in struct{ SigningEnabled bool }
	if err := decodeJSON(c, &in); err != nil {
		return nil, err
	}
	return nil, identityErr(s.cfg.Identities.SetDKIMEnabled(c.ctx, c.p.AccountID, c.region, c.r.PathValue("EmailIdentity"), in.SigningEnabled))
}

func (s *Server) v2PutDkimSigningAttributes(c *call) (any, error) {
	var in struct {
		SigningAttributesOrigin string
		SigningAttributes       *struct {
			DomainSigningSelector   string
			DomainSigningPrivateKey string
			NextSigningKeyLength    string
		}
	}
	if err := decodeJSON(c, &in); err != nil {
		return nil, err
	}
	o := identity.SigningOptions{Origin: in.SigningAttributesOrigin}
	if a := in.SigningAttributes; a != nil {
		o.Selector, o.PrivateKey, o.KeyLength = a.DomainSigningSelector, a.DomainSigningPrivateKey, a.NextSigningKeyLength
	}
	id, err := s.cfg.Identities.SetDKIMSigning(c.ctx, c.p.AccountID, c.region, c.r.PathValue("EmailIdentity"), o)
	if err != nil {
		return nil, identityErr(err)
	}
	return struct {
		DkimStatus        store.Status
		DkimTokens        []string
		SigningHostedZone string `json:",omitempty"`
	}{id.DKIM.Verification.Status, id.DKIM.Tokens, s.cfg.ServiceDomain}, nil
}

func (s *Server) v2PutMailFromAttributes(c *call) (any, error) {
	var in struct{ MailFromDomain, BehaviorOnMxFailure string }
	if err := decodeJSON(c, &in); err != nil {
		return nil, err
	}
	_, err := s.cfg.Identities.SetMailFrom(c.ctx, c.p.AccountID, c.region, c.r.PathValue("EmailIdentity"), in.MailFromDomain, in.BehaviorOnMxFailure)
	return nil, identityErr(err)
}
