// Package store defines sesame's persistence: the row types of every service
// and the Store interface they are kept behind. Services depend on this
// package only; store/sqlite (the default) and, later, store/postgres
// implement it, and store/storetest is the conformance suite both must pass.
//
// Conventions every implementation follows:
//   - Methods are atomic: each either happens completely or not at all.
//   - "Not there" is ErrNotFound and "already there" is ErrConflict, wrapped
//     with context; callers test with errors.Is.
//   - Times are stored with millisecond precision in UTC.
//   - Every SES resource is scoped to (account, region).
package store

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound means the requested row does not exist.
var ErrNotFound = errors.New("store: not found")

// ErrConflict means a row with the same key already exists.
var ErrConflict = errors.New("store: already exists")

// Mode is an account's sending mode, as in SES.
type Mode string

// Account modes.
const (
	// ModeSandbox limits sending to verified recipients and the mailbox
	// simulator, 200 messages a day and 1 a second (SES's sandbox).
	ModeSandbox Mode = "sandbox"
	// ModeProduction lifts the sandbox restrictions; the account's quotas apply.
	ModeProduction Mode = "production"
)

// Valid reports whether m is a known mode.
func (m Mode) Valid() bool { return m == ModeSandbox || m == ModeProduction }

// Account is a tenant. Everything an account owns is invisible to others.
type Account struct {
	// ID is a 12-digit number, like an AWS account id; it appears in ARNs.
	ID string
	// Name is unique and human-chosen ("default" for the first account).
	Name string
	// Mode is sandbox or production.
	Mode Mode
	// Max24HourSend is the daily recipient quota; -1 means unlimited.
	Max24HourSend float64
	// MaxSendRate is the per-second recipient rate; -1 means unlimited.
	MaxSendRate float64
	// CreatedAt is when the account was made.
	CreatedAt time.Time
}

// RegionSettings are an account's settings in one region.
type RegionSettings struct {
	AccountID string
	Region    string
	// SendingEnabled is SES's account-level sending switch for the region
	// (PutAccountSendingAttributes).
	SendingEnabled bool
}

// AccessKey is an API credential. The secret is kept sealed (see package
// sealer); the store never sees it in clear.
type AccessKey struct {
	// ID is the access key id (20 characters, "AKIA…" style).
	ID        string
	AccountID string
	// SealedSecret is the secret access key, sealed with the key id as
	// associated data.
	SealedSecret []byte
	// Admin keys may manage accounts and keys of every account.
	Admin       bool
	Description string
	CreatedAt   time.Time
}

// Accounts stores accounts and their per-region settings.
type Accounts interface {
	// CreateAccount inserts a; ErrConflict if the id or name is taken.
	CreateAccount(ctx context.Context, a Account) error
	// GetAccount returns the account with the given id.
	GetAccount(ctx context.Context, id string) (Account, error)
	// GetAccountByName returns the account with the given name.
	GetAccountByName(ctx context.Context, name string) (Account, error)
	// ListAccounts returns every account ordered by name.
	ListAccounts(ctx context.Context) ([]Account, error)
	// UpdateAccount replaces the mode and quotas of an existing account.
	UpdateAccount(ctx context.Context, a Account) error
	// GetRegionSettings returns an account's settings in a region; when none
	// were ever stored it returns the defaults (sending enabled), not ErrNotFound.
	GetRegionSettings(ctx context.Context, accountID, region string) (RegionSettings, error)
	// PutRegionSettings stores s.
	PutRegionSettings(ctx context.Context, s RegionSettings) error
}

// Keys stores access keys.
type Keys interface {
	// CreateKey inserts k; ErrConflict if the id is taken, ErrNotFound if the
	// account does not exist.
	CreateKey(ctx context.Context, k AccessKey) error
	// GetKey returns the key with the given id.
	GetKey(ctx context.Context, id string) (AccessKey, error)
	// ListKeys returns an account's keys ordered by creation time.
	ListKeys(ctx context.Context, accountID string) ([]AccessKey, error)
	// DeleteKey removes a key; ErrNotFound if absent.
	DeleteKey(ctx context.Context, id string) error
}

// Store is everything sesame persists.
type Store interface {
	Accounts
	Keys
	Identities
	Queue
	Templates
	Suppressions
	Resources
	Events
	// Close releases the store's resources.
	Close() error
}
