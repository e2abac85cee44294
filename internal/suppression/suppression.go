// Package suppression keeps each account's suppression list per region, as
// SES v2's account-level list: addresses that bounced hard or complained,
// which sending then skips. Matching is case-insensitive.
package suppression

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"

	"github.com/sesame-email/sesame/internal/clock"
	"github.com/sesame-email/sesame/internal/store"
)

// Reasons (SES's SuppressionListReason).
const (
	Bounce    = "BOUNCE"
	Complaint = "COMPLAINT"
)

// ErrInvalid marks a bad address or reason.
var ErrInvalid = errors.New("suppression: invalid parameter")

// ErrNotFound: the address is not on the list.
var ErrNotFound = errors.New("suppression: not found")

// Service manages suppression lists.
type Service struct {
	st    Store
	clock clock.Clock
}

// Store is what the Service keeps: the lists, and each account's
// SuppressedReasons as a small document.
type Store interface {
	store.Suppressions
	store.Resources
}

// New returns a Service.
func New(st Store, clk clock.Clock) *Service { return &Service{st: st, clock: clk} }

// settingsKind is the store.Resource kind of account suppression settings.
const settingsKind = "account-suppression"

type settings struct{ SuppressedReasons []string }

// Reasons returns the reasons for which sesame adds addresses to the
// account's list automatically (PutAccountSuppressionAttributes); the
// default, as in SES, is both.
func (s *Service) Reasons(ctx context.Context, accountID, region string) ([]string, error) {
	r, err := s.st.GetResource(ctx, accountID, region, settingsKind, "settings")
	if errors.Is(err, store.ErrNotFound) {
		return []string{Bounce, Complaint}, nil
	}
	if err != nil {
		return nil, err
	}
	var st settings
	if err := json.Unmarshal(r.Doc, &st); err != nil {
		return nil, fmt.Errorf("suppression: settings: %w", err)
	}
	return st.SuppressedReasons, nil
}

// SetReasons stores the account's SuppressedReasons ([] turns automatic
// suppression off).
func (s *Service) SetReasons(ctx context.Context, accountID, region string, reasons []string) error {
	clean := []string{}
	for _, r := range reasons {
		if !ValidReason(r) {
			return fmt.Errorf("%w: reason %q: want BOUNCE or COMPLAINT", ErrInvalid, r)
		}
		if !slices.Contains(clean, r) {
			clean = append(clean, r)
		}
	}
	doc, _ := json.Marshal(settings{clean})
	err := s.st.UpdateResource(ctx, accountID, region, settingsKind, "settings", func([]byte) ([]byte, error) { return doc, nil })
	if errors.Is(err, store.ErrNotFound) {
		err = s.st.CreateResource(ctx, store.Resource{AccountID: accountID, Region: region, Kind: settingsKind, Name: "settings", Doc: doc, CreatedAt: s.clock.Now()})
		if errors.Is(err, store.ErrConflict) {
			return s.SetReasons(ctx, accountID, region, reasons)
		}
	}
	return err
}

func checkAddress(addr string) (string, error) {
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Name != "" || a.Address != strings.TrimSpace(addr) {
		return "", fmt.Errorf("%w: %q is not an email address", ErrInvalid, addr)
	}
	return strings.ToLower(a.Address), nil
}

// ValidReason reports whether r is BOUNCE or COMPLAINT.
func ValidReason(r string) bool { return r == Bounce || r == Complaint }

// Put adds (or updates) an address.
func (s *Service) Put(ctx context.Context, accountID, region, addr, reason, messageID, feedbackID string) error {
	a, err := checkAddress(addr)
	if err != nil {
		return err
	}
	if !ValidReason(reason) {
		return fmt.Errorf("%w: reason %q: want BOUNCE or COMPLAINT", ErrInvalid, reason)
	}
	return s.st.PutSuppression(ctx, store.Suppression{AccountID: accountID, Region: region, Address: a, Reason: reason,
		UpdatedAt: s.clock.Now(), MessageID: messageID, FeedbackID: feedbackID})
}

// Get returns an address's entry.
func (s *Service) Get(ctx context.Context, accountID, region, addr string) (store.Suppression, error) {
	sp, err := s.st.GetSuppression(ctx, accountID, region, addr)
	if errors.Is(err, store.ErrNotFound) {
		return sp, fmt.Errorf("%w: %s", ErrNotFound, addr)
	}
	return sp, err
}

// Delete removes an address.
func (s *Service) Delete(ctx context.Context, accountID, region, addr string) error {
	err := s.st.DeleteSuppression(ctx, accountID, region, addr)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %s", ErrNotFound, addr)
	}
	return err
}

// List returns a page of entries.
func (s *Service) List(ctx context.Context, accountID, region string, p store.SuppressionPage) ([]store.Suppression, error) {
	for _, r := range p.Reasons {
		if !ValidReason(r) {
			return nil, fmt.Errorf("%w: reason %q", ErrInvalid, r)
		}
	}
	return s.st.ListSuppressions(ctx, accountID, region, p)
}

// Suppressed returns the entries, by lowercase address, of those of addrs
// that are on the list.
func (s *Service) Suppressed(ctx context.Context, accountID, region string, addrs []string) (map[string]store.Suppression, error) {
	return s.st.SuppressedAmong(ctx, accountID, region, addrs)
}
