// Package account manages tenants and their credentials: accounts (sandbox
// or production, with quotas), access keys (sealed at rest) and the
// per-region sending switch. It answers the question every front end asks
// first: which account does this access key belong to, and what is its
// secret.
package account

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"

	"github.com/sesame-email/sesame/internal/clock"
	"github.com/sesame-email/sesame/internal/ids"
	"github.com/sesame-email/sesame/internal/sealer"
	"github.com/sesame-email/sesame/internal/store"
)

// Store is the part of the store this service needs.
type Store interface {
	store.Accounts
	store.Keys
}

// Sandbox quotas, as SES applies them to a new account (reference §7).
const (
	SandboxMax24HourSend = 200
	SandboxMaxSendRate   = 1
)

// Unlimited is the quota value that means no limit (-1, as in SES's GetAccount).
const Unlimited = -1

// ErrInvalid marks a request the caller got wrong (bad name, bad mode).
var ErrInvalid = errors.New("account: invalid request")

// Service is the account service.
type Service struct {
	st     Store
	sealer *sealer.Sealer
	clock  clock.Clock
	log    *slog.Logger
}

// New returns a Service.
func New(st Store, s *sealer.Sealer, clk clock.Clock, log *slog.Logger) *Service {
	return &Service{st: st, sealer: s, clock: clk, log: log}
}

// Principal is who signed a request: the key and its account.
type Principal struct {
	AccountID string
	KeyID     string
	Admin     bool
}

// Credentials is an access key with its secret in clear, returned only when
// a key is created.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	AccountID       string
	Admin           bool
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// CreateAccount makes an account. Sandbox accounts get SES's sandbox quotas;
// production accounts start unlimited (an operator sets quotas with Update).
func (s *Service) CreateAccount(ctx context.Context, name string, mode store.Mode) (store.Account, error) {
	if !nameRE.MatchString(name) {
		return store.Account{}, fmt.Errorf("%w: account name %q: 1-64 of [A-Za-z0-9_.-], starting with a letter or digit", ErrInvalid, name)
	}
	if !mode.Valid() {
		return store.Account{}, fmt.Errorf("%w: mode %q: want sandbox or production", ErrInvalid, mode)
	}
	a := store.Account{Name: name, Mode: mode, Max24HourSend: Unlimited, MaxSendRate: Unlimited, CreatedAt: s.clock.Now()}
	if mode == store.ModeSandbox {
		a.Max24HourSend, a.MaxSendRate = SandboxMax24HourSend, SandboxMaxSendRate
	}
	for range 5 {
		a.ID = ids.AccountID()
		err := s.st.CreateAccount(ctx, a)
		if err == nil {
			s.log.Info("account created", "account", a.ID, "name", name, "mode", mode)
			return a, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return store.Account{}, fmt.Errorf("account: create: %w", err)
		}
		if _, err := s.st.GetAccountByName(ctx, name); err == nil {
			return store.Account{}, fmt.Errorf("account: name %q: %w", name, store.ErrConflict)
		}
	}
	return store.Account{}, fmt.Errorf("account: create %q: no free account id", name)
}

// Get returns an account by id.
func (s *Service) Get(ctx context.Context, id string) (store.Account, error) {
	return s.st.GetAccount(ctx, id)
}

// Resolve returns an account by id or by name.
func (s *Service) Resolve(ctx context.Context, idOrName string) (store.Account, error) {
	a, err := s.st.GetAccount(ctx, idOrName)
	if errors.Is(err, store.ErrNotFound) {
		return s.st.GetAccountByName(ctx, idOrName)
	}
	return a, err
}

// List returns every account.
func (s *Service) List(ctx context.Context) ([]store.Account, error) {
	return s.st.ListAccounts(ctx)
}

// Update is a change to an account; nil fields are left as they are.
type Update struct {
	Mode          *store.Mode
	Max24HourSend *float64
	MaxSendRate   *float64
}

// Update changes an account's mode and quotas. Moving to sandbox applies
// the sandbox quotas unless the update sets quotas too.
func (s *Service) Update(ctx context.Context, id string, u Update) (store.Account, error) {
	a, err := s.st.GetAccount(ctx, id)
	if err != nil {
		return store.Account{}, err
	}
	if u.Mode != nil {
		if !u.Mode.Valid() {
			return store.Account{}, fmt.Errorf("%w: mode %q", ErrInvalid, *u.Mode)
		}
		if *u.Mode == store.ModeSandbox && a.Mode != store.ModeSandbox {
			a.Max24HourSend, a.MaxSendRate = SandboxMax24HourSend, SandboxMaxSendRate
		}
		a.Mode = *u.Mode
	}
	for _, q := range []struct {
		v   *float64
		dst *float64
	}{{u.Max24HourSend, &a.Max24HourSend}, {u.MaxSendRate, &a.MaxSendRate}} {
		if q.v == nil {
			continue
		}
		if *q.v < 0 && *q.v != Unlimited {
			return store.Account{}, fmt.Errorf("%w: quota %v: want ≥ 0 or -1 for unlimited", ErrInvalid, *q.v)
		}
		*q.dst = *q.v
	}
	if err := s.st.UpdateAccount(ctx, a); err != nil {
		return store.Account{}, err
	}
	return a, nil
}

// CreateKey makes an access key for an account and returns its secret; the
// secret is never shown again.
func (s *Service) CreateKey(ctx context.Context, accountID string, admin bool, description string) (Credentials, error) {
	return s.ImportKey(ctx, Credentials{AccessKeyID: ids.AccessKeyID(), SecretAccessKey: ids.SecretAccessKey(), AccountID: accountID, Admin: admin}, description)
}

// ImportKey stores a key whose id and secret were made elsewhere (the
// first-start key restored from the credentials file).
func (s *Service) ImportKey(ctx context.Context, c Credentials, description string) (Credentials, error) {
	sealed, err := s.sealer.Seal([]byte(c.SecretAccessKey), []byte(c.AccessKeyID))
	if err != nil {
		return Credentials{}, err
	}
	k := store.AccessKey{ID: c.AccessKeyID, AccountID: c.AccountID, SealedSecret: sealed, Admin: c.Admin, Description: description, CreatedAt: s.clock.Now()}
	if err := s.st.CreateKey(ctx, k); err != nil {
		return Credentials{}, fmt.Errorf("account: create key: %w", err)
	}
	s.log.Info("access key created", "account", c.AccountID, "key", c.AccessKeyID, "admin", c.Admin)
	return c, nil
}

// ListKeys returns an account's keys (without secrets).
func (s *Service) ListKeys(ctx context.Context, accountID string) ([]store.AccessKey, error) {
	if _, err := s.st.GetAccount(ctx, accountID); err != nil {
		return nil, err
	}
	keys, err := s.st.ListKeys(ctx, accountID)
	for i := range keys {
		keys[i].SealedSecret = nil
	}
	return keys, err
}

// DeleteKey removes a key. The last admin key of the whole installation
// cannot be deleted, so an operator cannot lock everyone out.
func (s *Service) DeleteKey(ctx context.Context, keyID string) error {
	k, err := s.st.GetKey(ctx, keyID)
	if err != nil {
		return err
	}
	if k.Admin {
		n, err := s.countAdminKeys(ctx)
		if err != nil {
			return err
		}
		if n <= 1 {
			return fmt.Errorf("%w: %s is the last admin key", ErrInvalid, keyID)
		}
	}
	if err := s.st.DeleteKey(ctx, keyID); err != nil {
		return err
	}
	s.log.Info("access key deleted", "account", k.AccountID, "key", keyID)
	return nil
}

func (s *Service) countAdminKeys(ctx context.Context) (int, error) {
	accts, err := s.st.ListAccounts(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, a := range accts {
		keys, err := s.st.ListKeys(ctx, a.ID)
		if err != nil {
			return 0, err
		}
		for _, k := range keys {
			if k.Admin {
				n++
			}
		}
	}
	return n, nil
}

// ErrUnknownKey is returned by Lookup for a key id that does not exist.
var ErrUnknownKey = errors.New("account: unknown access key")

// Lookup returns the principal and the clear secret of an access key, for
// SigV4 verification and SMTP AUTH.
func (s *Service) Lookup(ctx context.Context, keyID string) (Principal, string, error) {
	k, err := s.st.GetKey(ctx, keyID)
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, "", ErrUnknownKey
	}
	if err != nil {
		return Principal{}, "", fmt.Errorf("account: lookup key: %w", err)
	}
	secret, err := s.sealer.Open(k.SealedSecret, []byte(k.ID))
	if err != nil {
		return Principal{}, "", fmt.Errorf("account: key %s: %w", k.ID, err)
	}
	return Principal{AccountID: k.AccountID, KeyID: k.ID, Admin: k.Admin}, string(secret), nil
}

// SendingEnabled reports the account's sending switch in a region.
func (s *Service) SendingEnabled(ctx context.Context, accountID, region string) (bool, error) {
	rs, err := s.st.GetRegionSettings(ctx, accountID, region)
	return rs.SendingEnabled, err
}

// SetSendingEnabled sets the account's sending switch in a region.
func (s *Service) SetSendingEnabled(ctx context.Context, accountID, region string, enabled bool) error {
	return s.st.PutRegionSettings(ctx, store.RegionSettings{AccountID: accountID, Region: region, SendingEnabled: enabled})
}

// Bootstrap makes the first account ("default", production) with c as its
// admin key when the store has no account yet, and reports whether it did.
// The caller saves c (the credentials file) before calling, so a crash
// between the two never leaves a key nobody knows: on the next start the
// saved file is passed again and the same key is created.
func (s *Service) Bootstrap(ctx context.Context, c Credentials) (bool, error) {
	accts, err := s.st.ListAccounts(ctx)
	if err != nil {
		return false, err
	}
	if len(accts) > 0 {
		return false, nil
	}
	a, err := s.CreateAccount(ctx, "default", store.ModeProduction)
	if err != nil {
		return false, err
	}
	c.AccountID, c.Admin = a.ID, true
	if _, err := s.ImportKey(ctx, c, "first-start admin key"); err != nil {
		return false, err
	}
	return true, nil
}

// ErrWrongMasterKey means the store's secrets were sealed under another
// master key (a node of a shared store started without the others' key).
var ErrWrongMasterKey = errors.New("account: the stored access keys do not open with this master key")

// CheckSealer opens one stored access key to prove the master key is the
// one the store's secrets were sealed with. A store without keys passes.
func (s *Service) CheckSealer(ctx context.Context) error {
	accts, err := s.st.ListAccounts(ctx)
	if err != nil {
		return err
	}
	for _, a := range accts {
		keys, err := s.st.ListKeys(ctx, a.ID)
		if err != nil {
			return err
		}
		if len(keys) == 0 {
			continue
		}
		if _, err := s.sealer.Open(keys[0].SealedSecret, []byte(keys[0].ID)); err != nil {
			return fmt.Errorf("%w (key %s: %v)", ErrWrongMasterKey, keys[0].ID, err)
		}
		return nil
	}
	return nil
}

// NeedsBootstrap reports whether the store has no account yet.
func (s *Service) NeedsBootstrap(ctx context.Context) (bool, error) {
	accts, err := s.st.ListAccounts(ctx)
	return len(accts) == 0, err
}

// NewCredentials returns a fresh key id and secret, not yet stored.
func NewCredentials() Credentials {
	return Credentials{AccessKeyID: ids.AccessKeyID(), SecretAccessKey: ids.SecretAccessKey()}
}
