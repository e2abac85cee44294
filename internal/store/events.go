package store

import (
	"context"
	"time"
)

// Resource is a small named document an account owns in a region: a
// configuration set with its event destinations, or an SNS topic with its
// subscriptions. The owning service decides the document's shape (JSON);
// the store keeps it whole and updates it under a row lock.
type Resource struct {
	AccountID string
	Region    string
	// Kind names the resource type ("configuration-set", "topic").
	Kind string
	// Name is unique per (account, region, kind).
	Name      string
	Doc       []byte
	CreatedAt time.Time
}

// Resources stores Resource documents.
type Resources interface {
	// CreateResource inserts r; ErrConflict if the name is taken.
	CreateResource(ctx context.Context, r Resource) error
	// GetResource returns one resource.
	GetResource(ctx context.Context, accountID, region, kind, name string) (Resource, error)
	// UpdateResource replaces a resource's document with what fn returns
	// from the current one, atomically with respect to other updates;
	// ErrNotFound if absent. An error from fn aborts the update and is
	// returned as is.
	UpdateResource(ctx context.Context, accountID, region, kind, name string, fn func(doc []byte) ([]byte, error)) error
	// ListResources returns up to limit resources of a kind with names
	// after `after`, ordered by name.
	ListResources(ctx context.Context, accountID, region, kind, after string, limit int) ([]Resource, error)
	// DeleteResource removes a resource; ErrNotFound if absent.
	DeleteResource(ctx context.Context, accountID, region, kind, name string) error
	// CountResources counts an account's resources of a kind in a region.
	CountResources(ctx context.Context, accountID, region, kind string) (int, error)
}

// Event is one SES sending event (Send, Delivery, Bounce, …) as stored:
// the JSON is exactly what subscribers receive as the event's body.
type Event struct {
	ID        string
	AccountID string
	Region    string
	MessageID string
	// Type is SES's eventType: Send, Reject, Delivery, Bounce, Complaint,
	// DeliveryDelay, Rendering Failure.
	Type string
	// Recipients are the addresses the event is about, lowercase.
	Recipients []string
	CreatedAt  time.Time
	JSON       []byte
}

// NotificationState is where a webhook delivery stands.
type NotificationState string

// Notification states.
const (
	NotePending   NotificationState = "pending"   // not yet accepted by the subscriber
	NoteDelivered NotificationState = "delivered" // the subscriber answered 2xx
	NoteFailed    NotificationState = "failed"    // retries exhausted
)

// Notification is one HTTP POST owed to one subscriber: an SNS envelope,
// signed when it was made, retried until the subscriber takes it.
type Notification struct {
	// ID is the SNS MessageId, the same on every attempt.
	ID              string
	AccountID       string
	Region          string
	TopicARN        string
	SubscriptionARN string
	// Type is the SNS message type (Notification, SubscriptionConfirmation).
	Type        string
	Endpoint    string
	Body        []byte
	State       NotificationState
	Attempts    int
	NextAttempt time.Time
	// LastResult is the last attempt's HTTP status line or error.
	LastResult string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// EventPage asks for one page of an event listing.
type EventPage struct {
	MessageID string    // "" = every message
	Before    time.Time // zero = now
	Limit     int
}

// EventBucket counts one 15-minute bucket's events by type.
type EventBucket struct {
	Start  time.Time
	Counts map[string]int
}

// Events stores sending events and the webhook notifications they cause.
type Events interface {
	// AddEvents stores events and notifications in one transaction.
	AddEvents(ctx context.Context, evs []Event, notes []Notification) error
	// ListEvents returns an account's events in a region, newest first.
	ListEvents(ctx context.Context, accountID, region string, p EventPage) ([]Event, error)
	// EventCounts returns the 15-minute buckets since t, oldest first, with
	// the number of recipients each event type concerned.
	EventCounts(ctx context.Context, accountID, region string, since time.Time) ([]EventBucket, error)
	// ClaimNotifications takes up to limit pending notifications due at now
	// and moves their next attempt to now+lease (like ClaimDue).
	ClaimNotifications(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Notification, error)
	// UpdateNotification stores a notification's state after an attempt.
	UpdateNotification(ctx context.Context, n Notification) error
	// ListNotifications returns an account's notifications in a region,
	// newest first; topicARN "" means every topic.
	ListNotifications(ctx context.Context, accountID, region, topicARN string, limit int) ([]Notification, error)
	// DeleteEventsBefore removes events and settled notifications older
	// than t (SES keeps statistics two weeks).
	DeleteEventsBefore(ctx context.Context, t time.Time) error
}
