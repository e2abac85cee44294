package store

import (
	"context"
	"time"
)

// Suppression is an address on an account's suppression list in a region.
type Suppression struct {
	AccountID string
	Region    string
	// Address is stored lowercase: the list matches case-insensitively.
	Address    string
	Reason     string // BOUNCE or COMPLAINT
	UpdatedAt  time.Time
	MessageID  string
	FeedbackID string
}

// SuppressionPage asks for one page of a listing.
type SuppressionPage struct {
	Reasons    []string  // nil = every reason
	Start, End time.Time // zero = unbounded; UpdatedAt in [Start, End)
	After      string    // addresses after this one
	Limit      int
}

// Suppressions stores suppression lists.
type Suppressions interface {
	// PutSuppression adds or replaces an address.
	PutSuppression(ctx context.Context, s Suppression) error
	// GetSuppression returns one address.
	GetSuppression(ctx context.Context, accountID, region, address string) (Suppression, error)
	// DeleteSuppression removes an address; ErrNotFound if absent.
	DeleteSuppression(ctx context.Context, accountID, region, address string) error
	// ListSuppressions returns a page ordered by address.
	ListSuppressions(ctx context.Context, accountID, region string, p SuppressionPage) ([]Suppression, error)
	// SuppressedAmong returns which of addresses (lowercase) are listed.
	SuppressedAmong(ctx context.Context, accountID, region string, addresses []string) (map[string]Suppression, error)
}
