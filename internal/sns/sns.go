// Package sns is sesame's SNS-compatible notification service: topics and
// their HTTP(S) subscriptions per (account, region), the confirmation
// handshake, and the signed envelopes subscribers receive. It is what SES
// event destinations and identity notification topics name by ARN, so
// wiring built for Amazon SNS works unchanged.
//
// Topics (with their subscriptions) are store.Resource documents of kind
// "topic"; every POST owed to a subscriber is a store.Notification, made
// and signed once and retried by a Deliverer until the subscriber takes it.
package sns

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/sesame-email/sesame/internal/clock"
	"github.com/sesame-email/sesame/internal/ids"
	"github.com/sesame-email/sesame/internal/store"
)

// Kind is the store.Resource kind of topics.
const Kind = "topic"

// MaxTopics is the per-(account, region) topic limit.
const MaxTopics = 1000

// Errors; callers test with errors.Is.
var (
	// ErrNotFound means the topic or subscription does not exist.
	ErrNotFound = errors.New("sns: not found")
	// ErrInvalid means a parameter is malformed.
	ErrInvalid = errors.New("sns: invalid parameter")
	// ErrLimit means a limit was reached.
	ErrLimit = errors.New("sns: limit exceeded")
)

// Subscription is one endpoint subscribed to a topic.
type Subscription struct {
	ARN      string
	Protocol string // http or https
	Endpoint string
	// Token is the confirmation secret sent in SubscriptionConfirmation;
	// it also authorises the UnsubscribeURL.
	Token     string
	Confirmed bool
	CreatedAt time.Time
	// Raw delivers the message body without the envelope
	// (RawMessageDelivery).
	Raw bool `json:",omitempty"`
}

// Topic is a topic and its subscriptions.
type Topic struct {
	ARN           string
	Name          string
	DisplayName   string `json:",omitempty"`
	Subscriptions []Subscription
}

// Config is what a Service needs.
type Config struct {
	Store interface {
		store.Resources
		store.Events
	}
	Clock clock.Clock
	// Signer signs envelopes.
	Signer *Signer
	// BaseURL is where subscribers reach sesame (SubscribeURL,
	// UnsubscribeURL, SigningCertURL are under it); a func because the
	// HTTP listener's port is known only once it is bound.
	BaseURL func() string
	// Wake is signalled (without blocking) when notifications are queued.
	Wake func()
}

// Service manages topics and subscriptions.
type Service struct{ cfg Config }

// New returns a Service.
func New(cfg Config) *Service { return &Service{cfg: cfg} }

var topicName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

// TopicARN is the ARN of a topic.
func TopicARN(region, accountID, name string) string {
	return "arn:aws:sns:" + region + ":" + accountID + ":" + name
}

// ParseTopicARN returns the region, account and name of a topic ARN.
func ParseTopicARN(arn string) (region, accountID, name string, ok bool) {
	p := strings.Split(arn, ":")
	if len(p) != 6 || p[0] != "arn" || p[2] != "sns" || !topicName.MatchString(p[5]) {
		return "", "", "", false
	}
	return p[3], p[4], p[5], true
}

func (s *Service) now() time.Time { return s.cfg.Clock.Now().UTC().Truncate(time.Millisecond) }

// topicOf checks that arn names a topic of this account in this region.
func topicOf(accountID, region, arn string) (string, error) {
	r, a, name, ok := ParseTopicARN(arn)
	if !ok {
		return "", fmt.Errorf("%w: Invalid parameter: TopicArn", ErrInvalid)
	}
	if r != region || a != accountID {
		return "", fmt.Errorf("%w: Topic does not exist", ErrNotFound)
	}
	return name, nil
}

func notFound(err error, what string) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %s does not exist", ErrNotFound, what)
	}
	return err
}

// CreateTopic makes a topic, or returns the existing one's ARN (SNS's
// CreateTopic is idempotent by name).
func (s *Service) CreateTopic(ctx context.Context, accountID, region, name string, attrs map[string]string) (string, error) {
	if !topicName.MatchString(name) {
		return "", fmt.Errorf("%w: Invalid parameter: Topic Name", ErrInvalid)
	}
	arn := TopicARN(region, accountID, name)
	if _, err := s.cfg.Store.GetResource(ctx, accountID, region, Kind, name); err == nil {
		return arn, nil
	}
	if n, err := s.cfg.Store.CountResources(ctx, accountID, region, Kind); err != nil {
		return "", err
	} else if n >= MaxTopics {
		return "", fmt.Errorf("%w: Topic limit exceeded", ErrLimit)
	}
	doc, _ := json.Marshal(Topic{ARN: arn, Name: name, DisplayName: attrs["DisplayName"]})
	err := s.cfg.Store.CreateResource(ctx, store.Resource{AccountID: accountID, Region: region, Kind: Kind, Name: name, Doc: doc, CreatedAt: s.now()})
	if errors.Is(err, store.ErrConflict) {
		return arn, nil
	}
	return arn, err
}

// GetTopic returns a topic by ARN.
func (s *Service) GetTopic(ctx context.Context, accountID, region, arn string) (Topic, error) {
	name, err := topicOf(accountID, region, arn)
	if err != nil {
		return Topic{}, err
	}
	r, err := s.cfg.Store.GetResource(ctx, accountID, region, Kind, name)
	if err != nil {
		return Topic{}, notFound(err, "Topic")
	}
	var t Topic
	if err := json.Unmarshal(r.Doc, &t); err != nil {
		return Topic{}, fmt.Errorf("sns: topic %s: %w", name, err)
	}
	return t, nil
}

// DeleteTopic removes a topic and its subscriptions. Like SNS, deleting
// a topic that does not exist succeeds.
func (s *Service) DeleteTopic(ctx context.Context, accountID, region, arn string) error {
	name, err := topicOf(accountID, region, arn)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := s.cfg.Store.DeleteResource(ctx, accountID, region, Kind, name); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

// ListTopics returns up to 100 topic ARNs after the token, and the next
// token ("" on the last page).
func (s *Service) ListTopics(ctx context.Context, accountID, region, token string) ([]string, string, error) {
	rs, err := s.cfg.Store.ListResources(ctx, accountID, region, Kind, token, 101)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(rs) > 100 {
		rs, next = rs[:100], rs[99].Name
	}
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = TopicARN(region, accountID, r.Name)
	}
	return out, next, nil
}

// update applies fn to a topic under the store's row lock.
func (s *Service) update(ctx context.Context, accountID, region, name string, fn func(*Topic) error) error {
	err := s.cfg.Store.UpdateResource(ctx, accountID, region, Kind, name, func(doc []byte) ([]byte, error) {
		var t Topic
		if err := json.Unmarshal(doc, &t); err != nil {
			return nil, fmt.Errorf("sns: topic %s: %w", name, err)
		}
		if err := fn(&t); err != nil {
			return nil, err
		}
		return json.Marshal(t)
	})
	return notFound(err, "Topic")
}

func token() string {
	b := make([]byte, 64)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// checkEndpoint accepts an absolute http(s) URL matching the protocol.
func checkEndpoint(protocol, endpoint string) error {
	if protocol != "http" && protocol != "https" {
		return fmt.Errorf("%w: Invalid parameter: Protocol (sesame delivers to http and https endpoints only)", ErrInvalid)
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != protocol || u.Host == "" {
		return fmt.Errorf("%w: Invalid parameter: Endpoint must match the protocol %s", ErrInvalid, protocol)
	}
	return nil
}

// Subscribe adds an endpoint to a topic and sends it a
// SubscriptionConfirmation; the subscription stays pending until the
// endpoint visits the SubscribeURL (or ConfirmSubscription is called with
// the token). Subscribing the same endpoint again returns the same ARN.
func (s *Service) Subscribe(ctx context.Context, accountID, region, topicARN, protocol, endpoint string, attrs map[string]string) (Subscription, error) {
	name, err := topicOf(accountID, region, topicARN)
	if err != nil {
		return Subscription{}, err
	}
	if err := checkEndpoint(protocol, endpoint); err != nil {
		return Subscription{}, err
	}
	var sub Subscription
	var fresh bool
	err = s.update(ctx, accountID, region, name, func(t *Topic) error {
		for _, x := range t.Subscriptions {
			if x.Protocol == protocol && x.Endpoint == endpoint {
				sub = x
				return nil
			}
		}
		if len(t.Subscriptions) >= 100 {
			return fmt.Errorf("%w: Subscription limit exceeded", ErrLimit)
		}
		sub = Subscription{ARN: topicARN + ":" + ids.UUID(), Protocol: protocol, Endpoint: endpoint, Token: token(), CreatedAt: s.now(),
			Raw: attrs["RawMessageDelivery"] == "true"}
		t.Subscriptions = append(t.Subscriptions, sub)
		fresh = true
		return nil
	})
	if err != nil || sub.Confirmed || !fresh {
		return sub, err
	}
	n := s.confirmation(accountID, region, topicARN, sub)
	if err := s.cfg.Store.AddEvents(ctx, nil, []store.Notification{n}); err != nil {
		return Subscription{}, err
	}
	s.wake()
	return sub, nil
}

func (s *Service) wake() {
	if s.cfg.Wake != nil {
		s.cfg.Wake()
	}
}

// ConfirmSubscription confirms the subscription that token was sent to.
// The token is the credential: the SubscribeURL works without signing in.
func (s *Service) ConfirmSubscription(ctx context.Context, topicARN, tok string) (string, error) {
	region, accountID, name, ok := ParseTopicARN(topicARN)
	if !ok {
		return "", fmt.Errorf("%w: Invalid parameter: TopicArn", ErrInvalid)
	}
	if tok == "" {
		return "", fmt.Errorf("%w: Invalid parameter: Token", ErrInvalid)
	}
	var arn string
	err := s.update(ctx, accountID, region, name, func(t *Topic) error {
		for i := range t.Subscriptions {
			if t.Subscriptions[i].Token == tok {
				t.Subscriptions[i].Confirmed = true
				arn = t.Subscriptions[i].ARN
				return nil
			}
		}
		return fmt.Errorf("%w: Invalid token", ErrInvalid)
	})
	return arn, err
}

// Unsubscribe removes a subscription; with a non-empty token (the
// UnsubscribeURL) the token must match. Removing one that is gone succeeds.
func (s *Service) Unsubscribe(ctx context.Context, accountID, region, subARN, tok string) error {
	topicARN := subARN[:max(strings.LastIndexByte(subARN, ':'), 0)]
	r, a, name, ok := ParseTopicARN(topicARN)
	if !ok {
		return fmt.Errorf("%w: Invalid parameter: SubscriptionArn", ErrInvalid)
	}
	if accountID != "" && (r != region || a != accountID) {
		return fmt.Errorf("%w: Subscription does not exist", ErrNotFound)
	}
	err := s.update(ctx, a, r, name, func(t *Topic) error {
		for i, x := range t.Subscriptions {
			if x.ARN == subARN {
				if tok != "" && tok != x.Token {
					return fmt.Errorf("%w: Invalid token", ErrInvalid)
				}
				t.Subscriptions = append(t.Subscriptions[:i], t.Subscriptions[i+1:]...)
				return nil
			}
		}
		return nil
	})
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// Publish sends message to every confirmed subscriber of a topic and
// returns the SNS MessageId.
func (s *Service) Publish(ctx context.Context, accountID, region, topicARN, subject, message string) (string, error) {
	notes, id, err := s.Fanout(ctx, accountID, region, topicARN, subject, message)
	if err != nil {
		return "", err
	}
	if err := s.cfg.Store.AddEvents(ctx, nil, notes); err != nil {
		return "", err
	}
	s.wake()
	return id, nil
}

// Fanout makes (but does not store) the notifications that publishing
// message to a topic owes its confirmed subscribers, so the caller can
// store them in the same transaction as what caused them. It returns the
// SNS MessageId they share.
func (s *Service) Fanout(ctx context.Context, accountID, region, topicARN, subject, message string) ([]store.Notification, string, error) {
	t, err := s.GetTopic(ctx, accountID, region, topicARN)
	if err != nil {
		return nil, "", err
	}
	id := ids.UUID()
	now := s.now()
	var out []store.Notification
	for _, sub := range t.Subscriptions {
		if !sub.Confirmed {
			continue
		}
		env := s.notification(id, topicARN, sub, subject, message, now)
		body := env
		if sub.Raw {
			body = []byte(message)
		}
		out = append(out, store.Notification{ID: id, AccountID: accountID, Region: region, TopicARN: topicARN, SubscriptionARN: sub.ARN,
			Type: "Notification", Endpoint: sub.Endpoint, Body: body, State: store.NotePending, NextAttempt: now, CreatedAt: now, UpdatedAt: now})
	}
	return out, id, nil
}

// Wake signals the Deliverer; callers that stored notifications made by
// Fanout call it after their commit.
func (s *Service) Wake() { s.wake() }
