package store

import (
	"context"
	"time"
)

// IdentityType is SES's IdentityType (v2 spelling).
type IdentityType string

// Identity types.
const (
	IdentityDomain IdentityType = "DOMAIN"
	IdentityEmail  IdentityType = "EMAIL_ADDRESS"
)

// Status is a verification status (v2 spelling; v1 maps it at the edge).
type Status string

// Verification statuses (reference §2.2, §9).
const (
	StatusPending          Status = "PENDING"
	StatusSuccess          Status = "SUCCESS"
	StatusFailed           Status = "FAILED"
	StatusTemporaryFailure Status = "TEMPORARY_FAILURE"
	StatusNotStarted       Status = "NOT_STARTED"
)

// Verification is the state of one verifiable thing: the identity itself,
// its DKIM set-up, or its MAIL FROM domain.
type Verification struct {
	Status Status
	// Since is when the current status began: the start of the 72-hour
	// windows for PENDING and TEMPORARY_FAILURE.
	Since       time.Time
	LastChecked time.Time `json:",omitzero"`
	LastSuccess time.Time `json:",omitzero"`
	// ErrorType is SES's VerificationError (HOST_NOT_FOUND, TYPE_NOT_FOUND,
	// INVALID_VALUE, DNS_SERVER_ERROR, SERVICE_ERROR) or "".
	ErrorType string `json:",omitempty"`
	// Records are what the last check found, record by record.
	Records []RecordCheck `json:",omitempty"`
}

// RecordCheck is one DNS record's expected value and what DNS held.
type RecordCheck struct {
	Type     string // CNAME, TXT, MX
	Name     string
	Expected string
	Found    []string `json:",omitempty"`
	OK       bool
	// Problem says what is wrong in words ("NXDOMAIN", "points to x instead
	// of y", "published at name.example.com.example.com").
	Problem string `json:",omitempty"`
}

// DKIMSettings is a domain identity's DKIM configuration.
type DKIMSettings struct {
	// Origin is AWS_SES (Easy DKIM), EXTERNAL (BYODKIM), or "" (none).
	Origin         string `json:",omitempty"`
	SigningEnabled bool
	Verification   Verification
	// Tokens are the Easy DKIM tokens, or the BYODKIM selector.
	Tokens            []string  `json:",omitempty"`
	CurrentKeyLength  string    `json:",omitempty"`
	NextKeyLength     string    `json:",omitempty"`
	LastKeyGeneration time.Time `json:",omitzero"`
	// Ed25519Token is the Easy DKIM token of an additional Ed25519 key
	// (RFC 8463), "" when Ed25519 signing is off.
	Ed25519Token string `json:",omitempty"`
	// Ed25519Verified: its CNAME resolves, so mail is signed with it too.
	Ed25519Verified bool `json:",omitempty"`
}

// MailFromSettings is an identity's custom MAIL FROM domain.
type MailFromSettings struct {
	Domain string `json:",omitempty"`
	// Behavior is USE_DEFAULT_VALUE or REJECT_MESSAGE.
	Behavior     string
	Verification Verification
}

// Tag is a resource tag.
type Tag struct{ Key, Value string }

// Identity is a domain or email address identity in one (account, region).
type Identity struct {
	AccountID string
	Region    string
	// Name is the domain (lowercase punycode) or the address.
	Name      string
	Type      IdentityType
	CreatedAt time.Time
	// Verification is the identity's own status (VerificationStatus).
	Verification Verification
	// Token is the legacy TXT token (_amazonses.<domain>) for domains, or the
	// secret of the verification link for addresses.
	Token string
	// TokenExpires bounds an address's verification link (24 h).
	TokenExpires       time.Time `json:",omitzero"`
	DKIM               DKIMSettings
	MailFrom           MailFromSettings
	ConfigurationSet   string `json:",omitempty"`
	FeedbackForwarding bool
	// Notifications are the v1 notification topics (SetIdentityNotificationTopic).
	Notifications NotificationSettings `json:",omitzero"`
	Tags          []Tag                `json:",omitempty"`
	// NextCheck is when the verification engine next looks at this identity.
	NextCheck time.Time
}

// NotificationSettings are an identity's v1 notification topics (SNS topic
// ARNs; "" = none) and whether notifications carry the message's headers.
type NotificationSettings struct {
	BounceTopic        string `json:",omitempty"`
	ComplaintTopic     string `json:",omitempty"`
	DeliveryTopic      string `json:",omitempty"`
	HeadersInBounce    bool   `json:",omitempty"`
	HeadersInComplaint bool   `json:",omitempty"`
	HeadersInDelivery  bool   `json:",omitempty"`
}

// DKIMKey is one DKIM private key of an identity.
type DKIMKey struct {
	// Selector is the Easy DKIM token (unique across the installation,
	// because it is published at <token>.dkim.D) or the BYODKIM selector.
	Selector  string
	AccountID string
	Region    string
	Identity  string
	// Easy is true for keys whose public half sesame's DNS serves.
	Easy bool
	// SealedKey is the PKCS#8 private key, sealed with the selector as
	// associated data.
	SealedKey []byte
	// PublicTXT is the DKIM TXT record value of the public key.
	PublicTXT string
	// Active keys sign outgoing mail; inactive ones stay published during
	// a rotation until the new keys verify.
	Active    bool
	CreatedAt time.Time
}

// IdentityPage asks for one page of a listing.
type IdentityPage struct {
	Type  IdentityType // "" for every type
	After string       // names after this one
	Limit int
}

// Identities stores identities and their DKIM keys.
type Identities interface {
	// CreateIdentity inserts id with its keys atomically; ErrConflict if the
	// (account, region, name) exists or a selector is taken.
	CreateIdentity(ctx context.Context, id Identity, keys []DKIMKey) error
	// GetIdentity returns one identity.
	GetIdentity(ctx context.Context, accountID, region, name string) (Identity, error)
	// ListIdentities returns a page ordered by name.
	ListIdentities(ctx context.Context, accountID, region string, page IdentityPage) ([]Identity, error)
	// CountIdentities counts an account's identities in a region.
	CountIdentities(ctx context.Context, accountID, region string) (int, error)
	// UpdateIdentity replaces an existing identity; when keys is non-nil the
	// identity's DKIM keys are replaced by *keys in the same transaction.
	UpdateIdentity(ctx context.Context, id Identity, keys *[]DKIMKey) error
	// ModifyIdentity applies fn to the stored identity and stores what fn
	// left, atomically with respect to every other write of it (no update
	// in between is lost); ErrNotFound if absent. An error from fn aborts
	// and is returned as is. fn must not change the identity's name.
	ModifyIdentity(ctx context.Context, accountID, region, name string, fn func(*Identity) error) (Identity, error)
	// DeleteIdentity removes an identity and its keys.
	DeleteIdentity(ctx context.Context, accountID, region, name string) error
	// DKIMKeys returns an identity's keys, active first.
	DKIMKeys(ctx context.Context, accountID, region, name string) ([]DKIMKey, error)
	// EasyDKIMKey returns the Easy DKIM key published under a token.
	EasyDKIMKey(ctx context.Context, token string) (DKIMKey, error)
	// DueIdentities returns up to limit identities whose NextCheck ≤ now.
	DueIdentities(ctx context.Context, now time.Time, limit int) ([]Identity, error)
	// ClaimDueIdentities atomically takes up to limit identities whose
	// NextCheck ≤ now and moves their NextCheck to now+lease, so no other
	// node checks them meanwhile; a node that dies before storing its
	// check leaves them due again when the lease ends.
	ClaimDueIdentities(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Identity, error)
}
