package identity

import (
	"context"
	"crypto"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sesame-email/sesame/internal/clock"
	"github.com/sesame-email/sesame/internal/dkim"
	"github.com/sesame-email/sesame/internal/sealer"
	"github.com/sesame-email/sesame/internal/store"
)

// Errors the front ends map to SES error codes.
var (
	// ErrNotFound: no such identity in this (account, region).
	ErrNotFound = errors.New("identity: not found")
	// ErrExists: the identity already exists.
	ErrExists = errors.New("identity: already exists")
	// ErrLimit: the region holds MaxIdentities already.
	ErrLimit = errors.New("identity: limit exceeded")
	// ErrInvalid: a parameter is wrong (the message says which).
	ErrInvalid = errors.New("identity: invalid parameter")
)

// MaxIdentities is SES's limit per account and region (reference §7).
const MaxIdentities = 10000

// Key lengths (SES's DkimSigningKeyLength).
const (
	RSA1024 = "RSA_1024_BIT"
	RSA2048 = "RSA_2048_BIT"
)

// Mailer sends the verification mail of an address identity.
type Mailer interface {
	SendVerification(ctx context.Context, id store.Identity, link string) error
}

// Config configures the Service.
type Config struct {
	Store         store.Identities
	Sealer        *sealer.Sealer
	Clock         clock.Clock
	Logger        *slog.Logger
	Resolver      Resolver
	ServiceDomain string // D
	Mailer        Mailer
	// VerifyURL returns the base of address-verification links
	// ("http://127.0.0.1:8080/verify"); called when a mail is sent.
	VerifyURL func() string
	// MaxIdentities per (account, region); 0 = MaxIdentities.
	MaxIdentities int
}

// Service manages identities.
type Service struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	signers map[string]*dkim.Signer // parsed keys, see signer
	cache   *identityCache          // covering's reads, see cache.go
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.MaxIdentities == 0 {
		cfg.MaxIdentities = MaxIdentities
	}
	c := &identityCache{}
	cfg.Store = forgetting{Identities: cfg.Store, c: c}
	return &Service{cfg: cfg, log: cfg.Logger, signers: map[string]*dkim.Signer{}, cache: c}
}

// DomainOptions are the choices when creating a domain identity.
type DomainOptions struct {
	// KeyLength is RSA_1024_BIT or RSA_2048_BIT (default) for Easy DKIM.
	KeyLength string
	// Selector and PrivateKey choose BYODKIM instead of Easy DKIM.
	Selector   string
	PrivateKey string
	// NoDKIM creates the identity without DKIM (v1 VerifyDomainIdentity).
	NoDKIM           bool
	Tags             []store.Tag
	ConfigurationSet string
}

func (s *Service) now() time.Time { return s.cfg.Clock.Now().UTC().Truncate(time.Millisecond) }

func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

func pending(now time.Time) store.Verification {
	return store.Verification{Status: store.StatusPending, Since: now}
}

func (s *Service) checkLimit(ctx context.Context, accountID, region string) error {
	n, err := s.cfg.Store.CountIdentities(ctx, accountID, region)
	if err != nil {
		return err
	}
	if n >= s.cfg.MaxIdentities {
		return fmt.Errorf("%w: at most %d identities per region", ErrLimit, s.cfg.MaxIdentities)
	}
	return nil
}

// easyKeys makes three Easy DKIM keys with fresh tokens.
func (s *Service) easyKeys(accountID, region, name, length string, now time.Time) ([]store.DKIMKey, error) {
	bits := 2048
	switch length {
	case "", RSA2048:
	case RSA1024:
		bits = 1024
	default:
		return nil, fmt.Errorf("%w: NextSigningKeyLength %q: want %s or %s", ErrInvalid, length, RSA1024, RSA2048)
	}
	keys := make([]store.DKIMKey, 0, 3)
	for range 3 {
		tok, err := dkim.NewToken()
		if err != nil {
			return nil, err
		}
		priv, err := dkim.GenerateRSAKey(bits)
		if err != nil {
			return nil, err
		}
		k, err := s.sealKey(priv, tok, accountID, region, name, true, now)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

func (s *Service) sealKey(priv crypto.Signer, selector, accountID, region, name string, easy bool, now time.Time) (store.DKIMKey, error) {
	der, err := dkim.MarshalPrivateKey(priv)
	if err != nil {
		return store.DKIMKey{}, err
	}
	sealed, err := s.cfg.Sealer.Seal(der, []byte(selector))
	if err != nil {
		return store.DKIMKey{}, err
	}
	txt, err := dkim.TXTRecord(priv.Public())
	if err != nil {
		return store.DKIMKey{}, err
	}
	return store.DKIMKey{Selector: selector, AccountID: accountID, Region: region, Identity: name, Easy: easy,
		SealedKey: sealed, PublicTXT: txt, Active: true, CreatedAt: now}, nil
}

func selectorsOf(keys []store.DKIMKey) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.Selector
	}
	return out
}

// dkimFor builds the DKIM settings and keys that opts ask for.
func (s *Service) dkimFor(accountID, region, name string, opts DomainOptions, now time.Time) (store.DKIMSettings, []store.DKIMKey, error) {
	if opts.NoDKIM {
		return store.DKIMSettings{Verification: store.Verification{Status: store.StatusNotStarted, Since: now}}, nil, nil
	}
	if opts.Selector != "" || opts.PrivateKey != "" {
		if !dkim.ValidSelector(opts.Selector) {
			return store.DKIMSettings{}, nil, fmt.Errorf("%w: DomainSigningSelector %q is not a valid selector", ErrInvalid, opts.Selector)
		}
		priv, err := dkim.ParseBYODKIMKey(opts.PrivateKey)
		if err != nil {
			return store.DKIMSettings{}, nil, fmt.Errorf("%w: DomainSigningPrivateKey: %v", ErrInvalid, err)
		}
		k, err := s.sealKey(priv, opts.Selector, accountID, region, name, false, now)
		if err != nil {
			return store.DKIMSettings{}, nil, err
		}
		d := store.DKIMSettings{Origin: "EXTERNAL", SigningEnabled: true, Verification: pending(now), Tokens: []string{opts.Selector},
			CurrentKeyLength: fmt.Sprintf("RSA_%d_BIT", priv.N.BitLen()), LastKeyGeneration: now}
		return d, []store.DKIMKey{k}, nil
	}
	keys, err := s.easyKeys(accountID, region, name, opts.KeyLength, now)
	if err != nil {
		return store.DKIMSettings{}, nil, err
	}
	length := opts.KeyLength
	if length == "" {
		length = RSA2048
	}
	d := store.DKIMSettings{Origin: "AWS_SES", SigningEnabled: true, Verification: pending(now), Tokens: selectorsOf(keys),
		CurrentKeyLength: length, NextKeyLength: length, LastKeyGeneration: now}
	return d, keys, nil
}

// CreateDomain creates a domain identity; its verification starts at once.
func (s *Service) CreateDomain(ctx context.Context, accountID, region, domain string, opts DomainOptions) (store.Identity, error) {
	name, err := NormalizeDomain(domain)
	if err != nil {
		return store.Identity{}, err
	}
	if err := s.checkLimit(ctx, accountID, region); err != nil {
		return store.Identity{}, err
	}
	now := s.now()
	d, keys, err := s.dkimFor(accountID, region, name, opts, now)
	if err != nil {
		return store.Identity{}, err
	}
	id := store.Identity{
		AccountID: accountID, Region: region, Name: name, Type: store.IdentityDomain, CreatedAt: now,
		Verification: pending(now), Token: randomToken(32), DKIM: d,
		MailFrom:           store.MailFromSettings{Behavior: "USE_DEFAULT_VALUE"},
		FeedbackForwarding: true, Tags: opts.Tags, ConfigurationSet: opts.ConfigurationSet, NextCheck: now,
	}
	if err := s.cfg.Store.CreateIdentity(ctx, id, keys); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return store.Identity{}, fmt.Errorf("%w: Email identity %s already exist.", ErrExists, name)
		}
		return store.Identity{}, err
	}
	s.log.Info("identity created", "account", accountID, "region", region, "identity", name, "dkim", d.Origin)
	// The first DNS check is the engine's (NextCheck is now): a slow or
	// unreachable resolver never holds up the API call.
	return id, nil
}

// CreateEmail creates an address identity and mails its verification link.
func (s *Service) CreateEmail(ctx context.Context, accountID, region, addr string, tags []store.Tag, configSet string) (store.Identity, error) {
	name, err := NormalizeAddress(addr)
	if err != nil {
		return store.Identity{}, err
	}
	if err := s.checkLimit(ctx, accountID, region); err != nil {
		return store.Identity{}, err
	}
	now := s.now()
	id := store.Identity{
		AccountID: accountID, Region: region, Name: name, Type: store.IdentityEmail, CreatedAt: now,
		Verification: pending(now), Token: randomURLToken(), TokenExpires: now.Add(24 * time.Hour),
		// SigningEnabled on an address means "sign with my domain's key";
		// it takes effect once a domain with DKIM covers the address.
		DKIM:               store.DKIMSettings{SigningEnabled: true, Verification: store.Verification{Status: store.StatusNotStarted, Since: now}},
		MailFrom:           store.MailFromSettings{Behavior: "USE_DEFAULT_VALUE"},
		FeedbackForwarding: true, Tags: tags, ConfigurationSet: configSet, NextCheck: now.Add(24 * time.Hour),
	}
	if err := s.cfg.Store.CreateIdentity(ctx, id, nil); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return store.Identity{}, fmt.Errorf("%w: Email identity %s already exist.", ErrExists, name)
		}
		return store.Identity{}, err
	}
	if err := s.sendVerification(ctx, id); err != nil {
		return store.Identity{}, err
	}
	return id, nil
}

func randomURLToken() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Service) sendVerification(ctx context.Context, id store.Identity) error {
	if s.cfg.Mailer == nil {
		return nil
	}
	link := ""
	if s.cfg.VerifyURL != nil {
		q := url.Values{"account": {id.AccountID}, "region": {id.Region}, "identity": {id.Name}, "token": {id.Token}}
		link = s.cfg.VerifyURL() + "?" + q.Encode()
	}
	if err := s.cfg.Mailer.SendVerification(ctx, id, link); err != nil {
		return fmt.Errorf("identity: verification mail to %s: %w", id.Name, err)
	}
	return nil
}

// ConfirmEmail completes an address verification from its link.
func (s *Service) ConfirmEmail(ctx context.Context, accountID, region, addr, token string) (store.Identity, error) {
	id, err := s.Get(ctx, accountID, region, addr)
	if err != nil {
		return store.Identity{}, err
	}
	now := s.now()
	if id.Type != store.IdentityEmail || token == "" || !constantEq(token, id.Token) {
		return store.Identity{}, fmt.Errorf("%w: the verification link is not valid", ErrInvalid)
	}
	if now.After(id.TokenExpires) {
		id.Verification = store.Verification{Status: store.StatusFailed, Since: now, LastChecked: now, ErrorType: "INVALID_VALUE"}
		s.cfg.Store.UpdateIdentity(ctx, id, nil)
		return store.Identity{}, fmt.Errorf("%w: the verification link expired", ErrInvalid)
	}
	id.Verification = store.Verification{Status: store.StatusSuccess, Since: now, LastChecked: now, LastSuccess: now}
	id.Token = ""
	id.NextCheck = now.Add(365 * 24 * time.Hour)
	if err := s.cfg.Store.UpdateIdentity(ctx, id, nil); err != nil {
		return store.Identity{}, err
	}
	s.log.Info("address verified", "account", accountID, "region", region, "identity", id.Name)
	return id, nil
}

func constantEq(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	var v byte
	for i := 0; i < len(a); i++ {
		v |= a[i] ^ b[i]
	}
	return v == 0
}

// normalize returns the stored form of a domain or address name.
func normalize(name string) (string, error) {
	if strings.Contains(name, "@") {
		return NormalizeAddress(name)
	}
	return NormalizeDomain(name)
}

// Get returns an identity.
func (s *Service) Get(ctx context.Context, accountID, region, name string) (store.Identity, error) {
	n, err := normalize(name)
	if err != nil {
		return store.Identity{}, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	id, err := s.cfg.Store.GetIdentity(ctx, accountID, region, n)
	if errors.Is(err, store.ErrNotFound) {
		return store.Identity{}, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	return id, err
}

// List returns a page of identities.
func (s *Service) List(ctx context.Context, accountID, region string, page store.IdentityPage) ([]store.Identity, error) {
	return s.cfg.Store.ListIdentities(ctx, accountID, region, page)
}

// Delete removes an identity and its keys (their DNS records stop at once).
func (s *Service) Delete(ctx context.Context, accountID, region, name string) error {
	id, err := s.Get(ctx, accountID, region, name)
	if err != nil {
		return err
	}
	if err := s.cfg.Store.DeleteIdentity(ctx, accountID, region, id.Name); err != nil {
		return err
	}
	s.log.Info("identity deleted", "account", accountID, "region", region, "identity", id.Name)
	return nil
}

// Resend mails a new verification link to a pending address.
func (s *Service) Resend(ctx context.Context, accountID, region, addr string) error {
	id, err := s.Get(ctx, accountID, region, addr)
	if err != nil {
		return err
	}
	if id.Type != store.IdentityEmail || id.Verification.Status == store.StatusSuccess {
		return nil
	}
	now := s.now()
	id.Token, id.TokenExpires = randomURLToken(), now.Add(24*time.Hour)
	id.Verification = pending(now)
	if err := s.cfg.Store.UpdateIdentity(ctx, id, nil); err != nil {
		return err
	}
	return s.sendVerification(ctx, id)
}
