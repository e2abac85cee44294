package identity

import (
	"context"
	"strings"

	"github.com/sesame-email/sesame/internal/dkim"
	"github.com/sesame-email/sesame/internal/store"
)

// covering returns the identities that cover addr, nearest first: the
// address's own identity, then its domain and each parent domain that is an
// identity (reference §9, inheritance). addr is already normalized.
func (s *Service) covering(ctx context.Context, accountID, region, addr string) ([]store.Identity, error) {
	names := []string{addr}
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		names = append(names, ParentDomains(addr[i+1:])...)
	}
	var out []store.Identity
	for _, n := range names {
		id, found, err := s.lookup(ctx, accountID, region, n)
		if err != nil {
			return nil, err
		}
		if found {
			out = append(out, id)
		}
	}
	return out, nil
}

// CanSendFrom reports whether addr may be used as a sender in (account,
// region), or receive mail in the sandbox: the address is a verified
// identity, or its domain or a parent domain is (reference §9).
func (s *Service) CanSendFrom(ctx context.Context, accountID, region, addr string) (bool, error) {
	a, err := NormalizeAddress(addr)
	if err != nil {
		return false, nil
	}
	ids, err := s.covering(ctx, accountID, region, a)
	for _, id := range ids {
		if id.Verification.Status == store.StatusSuccess {
			return true, nil
		}
	}
	return false, err
}

// Sender is what sending from one address needs, resolved in one walk
// over the identities that cover it.
type Sender struct {
	// Verified: the address or a domain above it is a verified identity.
	Verified bool
	// MailFromDomain is the verified custom MAIL FROM domain of the nearest
	// identity that has one, or "" for the default.
	MailFromDomain string
	// RejectMailFrom: that MAIL FROM is not verified and its
	// BehaviorOnMxFailure is REJECT_MESSAGE.
	RejectMailFrom bool
	// Signers sign the message: the RSA key of the nearest domain with
	// DKIM, then its Ed25519 key when on; none when signing is off.
	Signers []*dkim.Signer
	// ConfigurationSet is the nearest identity's default configuration set
	// (used when a send names none).
	ConfigurationSet string
}

// Sender resolves everything sending from addr needs: verification,
// envelope domain and DKIM signers.
func (s *Service) Sender(ctx context.Context, accountID, region, addr string) (Sender, error) {
	a, err := NormalizeAddress(addr)
	if err != nil {
		return Sender{}, nil
	}
	ids, err := s.covering(ctx, accountID, region, a)
	if err != nil {
		return Sender{}, err
	}
	var out Sender
	var dkimID *store.Identity
	mailFromSeen, optOut := false, false
	for i, id := range ids {
		if id.Verification.Status == store.StatusSuccess {
			out.Verified = true
		}
		if out.ConfigurationSet == "" {
			out.ConfigurationSet = id.ConfigurationSet
		}
		if !mailFromSeen && id.MailFrom.Domain != "" {
			mailFromSeen = true
			if id.MailFrom.Verification.Status == store.StatusSuccess {
				out.MailFromDomain = id.MailFrom.Domain
			} else {
				out.RejectMailFrom = id.MailFrom.Behavior == "REJECT_MESSAGE"
			}
		}
		// An address identity may opt out of its domain's signature.
		if id.Type == store.IdentityEmail && id.Name == a && !id.DKIM.SigningEnabled {
			optOut = true
		}
		if dkimID == nil && id.Type == store.IdentityDomain && id.DKIM.Origin != "" {
			dkimID = &ids[i]
		}
	}
	if dkimID != nil && dkimID.DKIM.SigningEnabled && !optOut {
		if out.Signers, err = s.signersOf(ctx, *dkimID); err != nil {
			return Sender{}, err
		}
	}
	return out, nil
}

// NotifyingIdentity returns the identity whose notification settings apply
// to mail from addr: the nearest covering identity that is verified, as SES
// picks the identity a message was sent through.
func (s *Service) NotifyingIdentity(ctx context.Context, accountID, region, addr string) (store.Identity, bool, error) {
	a, err := NormalizeAddress(addr)
	if err != nil {
		return store.Identity{}, false, nil
	}
	ids, err := s.covering(ctx, accountID, region, a)
	if err != nil {
		return store.Identity{}, false, err
	}
	for _, id := range ids {
		if id.Verification.Status == store.StatusSuccess {
			return id, true, nil
		}
	}
	return store.Identity{}, false, nil
}

// UpdateNotifications changes an identity's notification settings and
// feedback forwarding with fn.
func (s *Service) UpdateNotifications(ctx context.Context, accountID, region, name string, fn func(*store.Identity) error) error {
	id, err := s.Get(ctx, accountID, region, name)
	if err != nil {
		return err
	}
	_, err = s.modify(ctx, id, fn)
	return err
}
