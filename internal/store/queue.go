package store

import (
	"context"
	"time"
)

// RecipientState is where one recipient of one message stands.
type RecipientState string

// Recipient states. Queued and Deferred are pending; the rest are final.
const (
	RcptQueued    RecipientState = "queued"    // waiting for its first attempt
	RcptDeferred  RecipientState = "deferred"  // a temporary failure; retried at NextAttempt
	RcptDelivered RecipientState = "delivered" // the receiver said 2xx
	RcptBounced   RecipientState = "bounced"   // a permanent failure
	RcptExpired   RecipientState = "expired"   // still undelivered at the maximum age
	RcptCaptured  RecipientState = "captured"  // --dev: kept instead of delivered
	RcptHeld      RecipientState = "held"      // held by an operator
)

// Message is one accepted message: its signed bytes and envelope.
type Message struct {
	// ID is the SES message id (60 characters).
	ID        string
	AccountID string
	Region    string
	// MailFrom is the envelope sender (a VERP address on R.D or the custom
	// MAIL FROM domain).
	MailFrom string
	// From is the header From address (for statistics and events).
	From             string
	Subject          string
	ConfigurationSet string
	Tags             map[string][]string
	CreatedAt        time.Time
	// Data is the message as it will be sent, DKIM signature included.
	Data []byte
}

// Recipient is one envelope recipient of a message.
type Recipient struct {
	MessageID string
	Address   string
	// Domain is the recipient's domain, lowercase: the delivery destination.
	Domain       string
	State        RecipientState
	NextAttempt  time.Time
	Attempts     int
	LastResponse string
	UpdatedAt    time.Time
}

// Queue stores accepted messages and their recipients.
type Queue interface {
	// Enqueue stores messages with their recipients in one durable
	// transaction: when it returns nil, all of them survive a crash. Each
	// message's recipients count in the send statistics and the 24-hour
	// quota, except for messages with an empty MailFrom: sesame's own
	// notices (forwarded feedback), sent from the null sender.
	Enqueue(ctx context.Context, msgs []Message, rcpts [][]Recipient) error
	// GetMessage returns a message with its bytes.
	GetMessage(ctx context.Context, id string) (Message, error)
	// Recipients returns a message's recipients.
	Recipients(ctx context.Context, messageID string) ([]Recipient, error)
	// DueRecipients returns up to limit pending recipients whose next
	// attempt is due at now, oldest first.
	DueRecipients(ctx context.Context, now time.Time, limit int) ([]Recipient, error)
	// ClaimDue atomically takes up to limit due recipients and moves their
	// next attempt to now+lease, so no other pass (or node) takes them
	// while they are being delivered; a crash before the outcome is stored
	// makes them due again when the lease ends (at-least-once delivery).
	ClaimDue(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Recipient, error)
	// UpdateRecipient stores a recipient's new state.
	UpdateRecipient(ctx context.Context, r Recipient) error
	// UpdateRecipients stores several recipients' new states in one
	// transaction (delivery outcomes, group-committed): all or none; a
	// recipient that no longer exists is ErrNotFound.
	UpdateRecipients(ctx context.Context, rs []Recipient) error
	// ListMessages returns an account's messages in a region, newest first,
	// created before `before` (zero = now).
	ListMessages(ctx context.Context, accountID, region string, before time.Time, limit int) ([]Message, error)
	// CountRecipientsSince counts an account's recipients accepted since t
	// in a region (the 24-hour quota).
	CountRecipientsSince(ctx context.Context, accountID, region string, since time.Time) (int, error)
	// QueueSummary counts an account's pending and held recipients in a
	// region by destination domain.
	QueueSummary(ctx context.Context, accountID, region string) ([]DestinationSummary, error)
	// MoveRecipients changes the state of a message's recipients that are
	// in one of the from states to state `to`, due at next; it returns how
	// many changed.
	MoveRecipients(ctx context.Context, messageID string, from []RecipientState, to RecipientState, next time.Time) (int, error)
	// PruneMessages removes up to limit messages created before t whose
	// recipients are all final (delivered, bounced, expired, captured), and
	// returns how many it removed (retention).
	PruneMessages(ctx context.Context, before time.Time, limit int) (int, error)
	// DeleteMessage removes a message and its recipients.
	DeleteMessage(ctx context.Context, id string) error
	// SendStats returns the 15-minute buckets since t, oldest first. A
	// recipient counts in Sent when accepted and in Delivered when an
	// update (UpdateRecipient or UpdateRecipients) makes it delivered, in
	// the bucket of its UpdatedAt.
	SendStats(ctx context.Context, accountID, region string, since time.Time) ([]StatBucket, error)
}

// DestinationSummary is the queue for one destination domain.
type DestinationSummary struct {
	Domain   string
	Queued   int
	Deferred int
	Held     int
	// Oldest is the creation time of the oldest pending message.
	Oldest time.Time
	// LastResponse is a recent response from the destination.
	LastResponse string
}

// StatBucket is one 15-minute bucket of sending statistics.
type StatBucket struct {
	Start time.Time
	// Sent counts recipients accepted (SES's DeliveryAttempts).
	Sent int
	// Delivered counts recipients whose delivery succeeded in the bucket
	// (a receiver, or the simulator, answered 2xx).
	Delivered int
}
