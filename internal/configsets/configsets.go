// Package configsets keeps SES configuration sets per (account, region):
// their sending, delivery, reputation and suppression options and their
// event destinations. A send names a set (or inherits its identity's
// default); the events package asks here where that message's events go.
//
// A set is a store.Resource document of kind "configuration-set", so
// updates to one set (adding a destination while another is edited) are
// atomic in every store.
package configsets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/sesame-email/sesame/internal/clock"
	"github.com/sesame-email/sesame/internal/sns"
	"github.com/sesame-email/sesame/internal/store"
)

// Kind is the store.Resource kind of configuration sets.
const Kind = "configuration-set"

// Limits (reference §7).
const (
	MaxSets         = 10000
	MaxDestinations = 10
)

// Errors; callers test with errors.Is.
var (
	ErrNotFound            = errors.New("configsets: configuration set does not exist")
	ErrExists              = errors.New("configsets: configuration set already exists")
	ErrDestinationNotFound = errors.New("configsets: event destination does not exist")
	ErrDestinationExists   = errors.New("configsets: event destination already exists")
	ErrInvalid             = errors.New("configsets: invalid parameter")
	ErrLimit               = errors.New("configsets: limit exceeded")
)

// Event types, in SES v2's spelling (v1 uses lowerCamelCase; see FromV1).
var EventTypes = []string{"SEND", "REJECT", "BOUNCE", "COMPLAINT", "DELIVERY", "OPEN", "CLICK", "RENDERING_FAILURE", "DELIVERY_DELAY", "SUBSCRIPTION"}

var v1Types = map[string]string{"send": "SEND", "reject": "REJECT", "bounce": "BOUNCE", "complaint": "COMPLAINT", "delivery": "DELIVERY",
	"open": "OPEN", "click": "CLICK", "renderingFailure": "RENDERING_FAILURE", "deliveryDelay": "DELIVERY_DELAY", "subscription": "SUBSCRIPTION"}

// FromV1 converts a v1 event type ("renderingFailure") to v2's.
func FromV1(t string) (string, bool) { v, ok := v1Types[t]; return v, ok }

// ToV1 converts a v2 event type to v1's spelling.
func ToV1(t string) string {
	for k, v := range v1Types {
		if v == t {
			return k
		}
	}
	return t
}

// TypeOfEvent maps an event's eventType ("Rendering Failure") to the
// matching type ("RENDERING_FAILURE").
func TypeOfEvent(eventType string) string {
	switch eventType {
	case "Rendering Failure":
		return "RENDERING_FAILURE"
	case "DeliveryDelay":
		return "DELIVERY_DELAY"
	}
	b := []byte(eventType)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}

// Destination is an event destination. sesame publishes to SNS topics.
type Destination struct {
	Name               string
	Enabled            bool
	MatchingEventTypes []string
	SNSTopicARN        string
}

// Set is a configuration set.
type Set struct {
	Name               string
	CreatedAt          time.Time
	SendingEnabled     bool
	TLSPolicy          string `json:",omitempty"` // REQUIRE or OPTIONAL
	SendingPoolName    string `json:",omitempty"`
	MaxDeliverySeconds int64  `json:",omitempty"`
	ReputationMetrics  bool
	// SuppressedReasons overrides the account's list when non-nil.
	SuppressedReasons *[]string   `json:",omitempty"`
	CustomRedirect    string      `json:",omitempty"`
	Tags              []store.Tag `json:",omitempty"`
	EventDestinations []Destination
}

// Service manages configuration sets.
type Service struct {
	st    store.Resources
	clock clock.Clock
}

// New returns a Service.
func New(st store.Resources, clk clock.Clock) *Service { return &Service{st: st, clock: clk} }

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// CheckName validates a set or destination name.
func CheckName(what, n string) error {
	if !nameRE.MatchString(n) {
		return fmt.Errorf("%w: %s must be 1-64 characters of letters, digits, _ and -", ErrInvalid, what)
	}
	return nil
}

// Create stores a new set; s.Name must be valid.
func (s *Service) Create(ctx context.Context, accountID, region string, set Set) error {
	if err := CheckName("ConfigurationSetName", set.Name); err != nil {
		return err
	}
	if set.TLSPolicy != "" && set.TLSPolicy != "REQUIRE" && set.TLSPolicy != "OPTIONAL" {
		return fmt.Errorf("%w: TlsPolicy must be REQUIRE or OPTIONAL", ErrInvalid)
	}
	if set.MaxDeliverySeconds != 0 && (set.MaxDeliverySeconds < 300 || set.MaxDeliverySeconds > 50400) {
		return fmt.Errorf("%w: MaxDeliverySeconds must be between 300 and 50400", ErrInvalid)
	}
	if set.SuppressedReasons != nil {
		if err := checkReasons(*set.SuppressedReasons); err != nil {
			return err
		}
	}
	if n, err := s.st.CountResources(ctx, accountID, region, Kind); err != nil {
		return err
	} else if n >= MaxSets {
		return fmt.Errorf("%w: at most %d configuration sets per region", ErrLimit, MaxSets)
	}
	set.CreatedAt = s.clock.Now().UTC().Truncate(time.Millisecond)
	set.EventDestinations = nil
	doc, _ := json.Marshal(set)
	err := s.st.CreateResource(ctx, store.Resource{AccountID: accountID, Region: region, Kind: Kind, Name: set.Name, Doc: doc, CreatedAt: set.CreatedAt})
	if errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("%w: %s", ErrExists, set.Name)
	}
	return err
}

func checkReasons(rs []string) error {
	for _, r := range rs {
		if r != "BOUNCE" && r != "COMPLAINT" {
			return fmt.Errorf("%w: SuppressedReasons must be BOUNCE or COMPLAINT", ErrInvalid)
		}
	}
	return nil
}

// Get returns a set.
func (s *Service) Get(ctx context.Context, accountID, region, name string) (Set, error) {
	r, err := s.st.GetResource(ctx, accountID, region, Kind, name)
	if errors.Is(err, store.ErrNotFound) {
		return Set{}, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if err != nil {
		return Set{}, err
	}
	var set Set
	if err := json.Unmarshal(r.Doc, &set); err != nil {
		return Set{}, fmt.Errorf("configsets: %s: %w", name, err)
	}
	return set, nil
}

// List returns up to limit set names after `after`.
func (s *Service) List(ctx context.Context, accountID, region, after string, limit int) ([]string, error) {
	rs, err := s.st.ListResources(ctx, accountID, region, Kind, after, limit)
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Name
	}
	return out, err
}

// Delete removes a set.
func (s *Service) Delete(ctx context.Context, accountID, region, name string) error {
	err := s.st.DeleteResource(ctx, accountID, region, Kind, name)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	return err
}

// Update applies fn to a set atomically.
func (s *Service) Update(ctx context.Context, accountID, region, name string, fn func(*Set) error) error {
	err := s.st.UpdateResource(ctx, accountID, region, Kind, name, func(doc []byte) ([]byte, error) {
		var set Set
		if err := json.Unmarshal(doc, &set); err != nil {
			return nil, fmt.Errorf("configsets: %s: %w", name, err)
		}
		if err := fn(&set); err != nil {
			return nil, err
		}
		if set.SuppressedReasons != nil {
			if err := checkReasons(*set.SuppressedReasons); err != nil {
				return nil, err
			}
		}
		return json.Marshal(set)
	})
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	return err
}

// checkDestination validates a destination against the account's topics.
func checkDestination(accountID string, d Destination) error {
	if err := CheckName("EventDestinationName", d.Name); err != nil {
		return err
	}
	if len(d.MatchingEventTypes) == 0 {
		return fmt.Errorf("%w: MatchingEventTypes must name at least one event type", ErrInvalid)
	}
	for _, t := range d.MatchingEventTypes {
		if !slices.Contains(EventTypes, t) {
			return fmt.Errorf("%w: unknown event type %q", ErrInvalid, t)
		}
	}
	if d.SNSTopicARN == "" {
		return fmt.Errorf("%w: sesame publishes events to SNS destinations only (SnsDestination.TopicArn); CloudWatch, Kinesis Firehose, EventBridge and Pinpoint destinations are not available", ErrInvalid)
	}
	if _, acct, _, ok := sns.ParseTopicARN(d.SNSTopicARN); !ok || acct != accountID {
		return fmt.Errorf("%w: TopicArn %q is not a topic of this account", ErrInvalid, d.SNSTopicARN)
	}
	return nil
}

// AddDestination adds an event destination to a set.
func (s *Service) AddDestination(ctx context.Context, accountID, region, set string, d Destination) error {
	if err := checkDestination(accountID, d); err != nil {
		return err
	}
	return s.Update(ctx, accountID, region, set, func(cs *Set) error {
		for _, x := range cs.EventDestinations {
			if x.Name == d.Name {
				return fmt.Errorf("%w: %s", ErrDestinationExists, d.Name)
			}
		}
		if len(cs.EventDestinations) >= MaxDestinations {
			return fmt.Errorf("%w: at most %d event destinations per configuration set", ErrLimit, MaxDestinations)
		}
		cs.EventDestinations = append(cs.EventDestinations, d)
		return nil
	})
}

// UpdateDestination replaces an event destination.
func (s *Service) UpdateDestination(ctx context.Context, accountID, region, set string, d Destination) error {
	if err := checkDestination(accountID, d); err != nil {
		return err
	}
	return s.Update(ctx, accountID, region, set, func(cs *Set) error {
		for i, x := range cs.EventDestinations {
			if x.Name == d.Name {
				cs.EventDestinations[i] = d
				return nil
			}
		}
		return fmt.Errorf("%w: %s", ErrDestinationNotFound, d.Name)
	})
}

// DeleteDestination removes an event destination.
func (s *Service) DeleteDestination(ctx context.Context, accountID, region, set, name string) error {
	return s.Update(ctx, accountID, region, set, func(cs *Set) error {
		for i, x := range cs.EventDestinations {
			if x.Name == name {
				cs.EventDestinations = append(cs.EventDestinations[:i], cs.EventDestinations[i+1:]...)
				return nil
			}
		}
		return fmt.Errorf("%w: %s", ErrDestinationNotFound, name)
	})
}

// Topics returns the SNS topics an event of eventType ("Bounce") on a set
// goes to: its enabled destinations that match the type.
func (set Set) Topics(eventType string) []string {
	t := TypeOfEvent(eventType)
	var out []string
	for _, d := range set.EventDestinations {
		if d.Enabled && slices.Contains(d.MatchingEventTypes, t) && !slices.Contains(out, d.SNSTopicARN) {
			out = append(out, d.SNSTopicARN)
		}
	}
	return out
}
