// Package submit is the one path by which a message enters sesame, for the
// API and SMTP alike: it checks SES's rules (verified sender, sandbox,
// sending switch, rate and daily quota, recipients, size), composes or
// checks the MIME message, sets sesame's headers, signs it with the
// identity's DKIM key, chooses the envelope sender, and hands it to the
// durable queue. A message id is returned only once the message is durable.
package submit

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/sesame-email/sesame/internal/account"
	"github.com/sesame-email/sesame/internal/clock"
	"github.com/sesame-email/sesame/internal/configsets"
	"github.com/sesame-email/sesame/internal/events"
	"github.com/sesame-email/sesame/internal/identity"
	"github.com/sesame-email/sesame/internal/ids"
	"github.com/sesame-email/sesame/internal/queue"
	"github.com/sesame-email/sesame/internal/simulator"
	"github.com/sesame-email/sesame/internal/store"
	"github.com/sesame-email/sesame/internal/suppression"
)

// Code classifies a refusal; front ends map it to their protocol's error.
type Code int

// Refusal codes.
const (
	CodeRejected            Code = iota + 1 // MessageRejected
	CodeInvalid                             // InvalidParameterValue / BadRequestException
	CodeMailFromNotVerified                 // MailFromDomainNotVerifiedException
	CodeSendingPaused                       // AccountSendingPausedException / SendingPausedException
	CodeRateExceeded                        // Throttling "Maximum sending rate exceeded."
	CodeDailyQuota                          // Throttling "Daily message quota exceeded."
	CodeTooLarge                            // MessageRejected for size (552 over SMTP)
	CodeConfigSetMissing                    // ConfigurationSetDoesNotExist / NotFoundException
	CodeConfigSetPaused                     // ConfigurationSetSendingPausedException / SendingPausedException
)

// Error is a refusal with SES's text.
type Error struct {
	Code Code
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

func rejectf(c Code, format string, args ...any) *Error {
	return &Error{Code: c, Msg: fmt.Sprintf(format, args...)}
}

// Size limits (reference §7): 10 MB through the v1 API, 40 MB through the
// v2 API and SMTP.
const (
	MaxSizeV1 = 10 << 20
	MaxSizeV2 = 40 << 20
)

// MaxRecipients is SES's per-message limit (To + Cc + Bcc).
const MaxRecipients = 50

// Request is one message to send.
type Request struct {
	AccountID string
	Region    string
	// Source overrides the envelope identity (v1 Source, v2
	// FromEmailAddress); "" = the From header.
	Source string
	// Destinations are the envelope recipients; nil = To, Cc and Bcc.
	Destinations []string
	// Exactly one of Simple and Raw.
	Simple *Simple
	Raw    []byte
	// MaxSize is MaxSizeV1 or MaxSizeV2.
	MaxSize          int
	ConfigurationSet string
	Tags             map[string][]string
	// Operation is "SendEmail", "SendRawEmail", "SMTP"… (for tags and logs).
	Operation string
}

// Config wires the Service.
type Config struct {
	Accounts      *account.Service
	Identities    *identity.Service
	Queue         *queue.Queue
	Suppression   *suppression.Service
	Clock         clock.Clock
	Logger        *slog.Logger
	ServiceDomain string
	// ConfigSets resolves configuration sets; nil = none exist.
	ConfigSets *configsets.Service
	// Events records Send events and bounces for suppressed recipients;
	// nil = no events.
	Events *events.Service
}

// Service accepts messages.
type Service struct {
	cfg      Config
	mu       sync.Mutex
	limiters map[string]*rate.Limiter // per account and region, for MaxSendRate
}

// New returns a Service.
func New(cfg Config) *Service {
	return &Service{cfg: cfg, limiters: map[string]*rate.Limiter{}}
}

// IsSimulator reports whether addr is a mailbox simulator address: at
// simulator.D or SES's own simulator.amazonses.com (reference §6).
func (s *Service) IsSimulator(addr string) bool {
	return simulator.Is(addr, s.cfg.ServiceDomain)
}

// limiter returns the send-rate limiter of (account, region).
func (s *Service) limiter(key string, perSecond float64) *rate.Limiter {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.limiters[key]
	if !ok || float64(l.Limit()) != perSecond {
		burst := max(1, int(perSecond))
		l = rate.NewLimiter(rate.Limit(perSecond), burst)
		s.limiters[key] = l
	}
	return l
}

// Send checks, signs and durably queues a message and returns its id.
func (s *Service) Send(ctx context.Context, r Request) (id string, err error) {
	start := s.cfg.Clock.Now()
	defer func() {
		lvl := slog.LevelInfo
		var se *Error
		if err != nil && !errors.As(err, &se) {
			lvl = slog.LevelError
		}
		s.cfg.Logger.Log(ctx, lvl, "send", "account", r.AccountID, "region", r.Region, "op", r.Operation, "message", id, "err", err,
			"dur_ms", s.cfg.Clock.Now().Sub(start).Milliseconds())
	}()
	acct, err := s.cfg.Accounts.Get(ctx, r.AccountID)
	if err != nil {
		return "", err
	}
	on, err := s.cfg.Accounts.SendingEnabled(ctx, r.AccountID, r.Region)
	if err != nil {
		return "", err
	}
	if !on {
		return "", rejectf(CodeSendingPaused, "Sending is paused for this account in %s.", r.Region)
	}

	// The message: composed, or parsed and checked.
	raw := r.Raw
	if r.Simple != nil {
		if raw, err = compose(*r.Simple); err != nil {
			return "", err
		}
	}
	if len(raw) > r.MaxSize {
		return "", rejectf(CodeTooLarge, "Message length is more than %d bytes long: '%d'.", r.MaxSize, len(raw))
	}
	p, err := parseRaw(raw)
	if err != nil {
		return "", err
	}
	fromList, err := addresses(p.header, "From")
	if err != nil {
		return "", err
	}
	if len(fromList) == 0 {
		return "", rejectf(CodeRejected, "The message has no From address.")
	}
	sender := r.Source
	if sender == "" {
		sender = fromList[0]
	} else if i := strings.LastIndexByte(sender, '<'); i >= 0 {
		sender = strings.TrimSuffix(sender[i+1:], ">")
	}

	// Recipients: the envelope, else the header lists.
	rcpts := r.Destinations
	if rcpts == nil {
		for _, k := range []string{"To", "Cc", "Bcc"} {
			l, err := addresses(p.header, k)
			if err != nil {
				return "", err
			}
			rcpts = append(rcpts, l...)
		}
	}
	rcpts, err = cleanRecipients(rcpts)
	if err != nil {
		return "", err
	}

	// SES's rules (reference §7, §9).
	snd, err := s.cfg.Identities.Sender(ctx, r.AccountID, r.Region, sender)
	if err != nil {
		return "", err
	}
	var unverified []string
	if !snd.Verified {
		unverified = append(unverified, sender)
	}
	if acct.Mode == store.ModeSandbox {
		for _, rc := range rcpts {
			if s.IsSimulator(rc) {
				continue
			}
			if ok, err := s.cfg.Identities.CanSendFrom(ctx, r.AccountID, r.Region, rc); err != nil {
				return "", err
			} else if !ok {
				unverified = append(unverified, rc)
			}
		}
	}
	if len(unverified) > 0 {
		return "", rejectf(CodeRejected, "Email address is not verified. The following identities failed the check in region %s: %s",
			strings.ToUpper(r.Region), strings.Join(unverified, ", "))
	}
	mailFromDomain := snd.MailFromDomain
	if snd.RejectMailFrom {
		return "", rejectf(CodeMailFromNotVerified, "Custom MAIL FROM domain of %s is not verified, and its behaviour on MX failure is REJECT_MESSAGE.", sender)
	}
	if err := s.checkQuota(ctx, acct, r, len(rcpts)); err != nil {
		return "", err
	}
	// The configuration set: the one named, else the identity's default.
	if r.ConfigurationSet == "" {
		r.ConfigurationSet = snd.ConfigurationSet
	}
	var set *configsets.Set
	if r.ConfigurationSet != "" {
		if s.cfg.ConfigSets == nil {
			return "", rejectf(CodeConfigSetMissing, "Configuration set <%s> does not exist.", r.ConfigurationSet)
		}
		cs, err := s.cfg.ConfigSets.Get(ctx, r.AccountID, r.Region, r.ConfigurationSet)
		if errors.Is(err, configsets.ErrNotFound) {
			return "", rejectf(CodeConfigSetMissing, "Configuration set <%s> does not exist.", r.ConfigurationSet)
		}
		if err != nil {
			return "", err
		}
		if !cs.SendingEnabled {
			return "", rejectf(CodeConfigSetPaused, "Sending is paused for configuration set %s.", cs.Name)
		}
		set = &cs
	}

	// Headers, signature, envelope.
	now := s.cfg.Clock.Now().UTC()
	id = ids.MessageID(r.Region, now)
	regionDomain := r.Region + "." + s.cfg.ServiceDomain
	data := finish(p, id, regionDomain, feedbackID(r.AccountID, r.Region), now)
	// Each signature covers the message without the other (DKIM-Signature
	// is not a signed field): RSA for every receiver, Ed25519 beside it for
	// those that check RFC 8463 signatures.
	var sigs []string
	for _, sg := range snd.Signers {
		sig, err := sg.Sign(data)
		if err != nil {
			return "", fmt.Errorf("submit: sign: %w", err)
		}
		sigs = append(sigs, sig)
	}
	if len(sigs) > 0 {
		data = append([]byte(strings.Join(sigs, "")), data...)
	}
	if mailFromDomain == "" {
		mailFromDomain = regionDomain
	}
	msg := store.Message{
		ID: id, AccountID: r.AccountID, Region: r.Region, MailFrom: id + "@" + mailFromDomain, From: sender,
		Subject: subjectOf(p), ConfigurationSet: r.ConfigurationSet, Tags: r.Tags, CreatedAt: now, Data: data,
	}
	// Recipients on the account's suppression list are not sent to: they
	// are recorded as bounced, as SES reports them (OnAccountSuppressionList).
	var suppressed map[string]store.Suppression
	if s.cfg.Suppression != nil {
		if suppressed, err = s.cfg.Suppression.Suppressed(ctx, r.AccountID, r.Region, rcpts); err != nil {
			return "", err
		}
	}
	rows := make([]store.Recipient, len(rcpts))
	for i, rc := range rcpts {
		rows[i] = store.Recipient{MessageID: id, Address: rc, Domain: strings.ToLower(rc[strings.LastIndexByte(rc, '@')+1:]),
			State: store.RcptQueued, NextAttempt: now, UpdatedAt: now}
		if sp, ok := suppressed[strings.ToLower(rc)]; ok && s.suppressing(ctx, r, set, sp.Reason) {
			rows[i].State = store.RcptBounced
			rows[i].LastResponse = "5.1.1 not sent: on the account's suppression list (" + sp.Reason + "; OnAccountSuppressionList)"
		}
	}
	if err := s.cfg.Queue.Accept(ctx, msg, rows); err != nil {
		return "", err
	}
	s.report(ctx, msg, rcpts, rows)
	return id, nil
}

// suppressing reports whether a listed address is skipped: the list's
// reason is one the configuration set (or, without one, the account)
// applies (SuppressionOptions, PutAccountSuppressionAttributes).
func (s *Service) suppressing(ctx context.Context, r Request, set *configsets.Set, reason string) bool {
	if set != nil && set.SuppressedReasons != nil {
		return slices.Contains(*set.SuppressedReasons, reason)
	}
	rs, err := s.cfg.Suppression.Reasons(ctx, r.AccountID, r.Region)
	if err != nil {
		return true // the safe side: do not send to a listed address
	}
	return slices.Contains(rs, reason)
}

// report records the Send event and, for recipients skipped because they
// are on the suppression list, a Bounce (Permanent/OnAccountSuppressionList).
// The message is already durable: a failure here is logged, not returned.
func (s *Service) report(ctx context.Context, msg store.Message, dest []string, rows []store.Recipient) {
	if s.cfg.Events == nil {
		return
	}
	all := func() []string { return dest }
	if err := s.cfg.Events.Emit(ctx, msg, all, events.Send, dest, events.Detail{Send: &struct{}{}}); err != nil {
		s.cfg.Logger.Error("send event not recorded", "message", msg.ID, "err", err)
	}
	var skipped []events.BouncedRecipient
	var addrs []string
	for _, r := range rows {
		if r.State == store.RcptBounced {
			skipped = append(skipped, events.BouncedRecipient{EmailAddress: r.Address, Action: "failed", Status: "5.1.1",
				DiagnosticCode: "Amazon SES did not send the message to this address because it is on the suppression list for your account."})
			addrs = append(addrs, r.Address)
		}
	}
	if len(skipped) == 0 {
		return
	}
	now := s.cfg.Clock.Now()
	d := &events.BounceDetail{BounceType: "Permanent", BounceSubType: "OnAccountSuppressionList", BouncedRecipients: skipped,
		Timestamp: events.Stamp(now), FeedbackID: ids.MessageID(msg.Region, now), ReportingMTA: "dns; " + msg.Region + "." + s.cfg.ServiceDomain}
	if err := s.cfg.Events.Emit(ctx, msg, all, events.Bounce, addrs, events.Detail{Bounce: d}); err != nil {
		s.cfg.Logger.Error("bounce event not recorded", "message", msg.ID, "err", err)
	}
}

// cleanRecipients checks envelope recipients: bare, valid, at most 50,
// duplicates folded.
func cleanRecipients(in []string) ([]string, error) {
	if len(in) == 0 {
		return nil, rejectf(CodeInvalid, "Missing final '@domain'") // SES's text for an empty destination
	}
	seen := map[string]bool{}
	var out []string
	for _, r := range in {
		addr := strings.TrimSpace(r)
		if i := strings.LastIndexByte(addr, '<'); i >= 0 && strings.HasSuffix(addr, ">") {
			addr = addr[i+1 : len(addr)-1]
		}
		norm, err := identity.NormalizeAddress(addr)
		if err != nil {
			return nil, rejectf(CodeInvalid, "Illegal address: %s", r)
		}
		if k := strings.ToLower(norm); !seen[k] {
			seen[k] = true
			out = append(out, norm)
		}
	}
	if len(out) > MaxRecipients {
		return nil, rejectf(CodeInvalid, "Recipient count exceeds %d.", MaxRecipients)
	}
	return out, nil
}

// checkQuota applies the daily quota and the send rate; both count
// recipients, and simulator recipients count only against the rate
// (reference §6).
func (s *Service) checkQuota(ctx context.Context, a store.Account, r Request, n int) error {
	if a.MaxSendRate >= 0 {
		// A message with more recipients than a second's allowance takes
		// the whole allowance rather than being refused for ever.
		l := s.limiter(a.ID+"/"+r.Region, a.MaxSendRate)
		if !l.AllowN(s.cfg.Clock.Now(), min(n, l.Burst())) {
			return rejectf(CodeRateExceeded, "Maximum sending rate exceeded.")
		}
	}
	if a.Max24HourSend >= 0 {
		sent, err := s.cfg.Queue.SentSince(ctx, r.AccountID, r.Region, s.cfg.Clock.Now().Add(-24*time.Hour))
		if err != nil {
			return err
		}
		if float64(sent+n) > a.Max24HourSend {
			return rejectf(CodeDailyQuota, "Daily message quota exceeded.")
		}
	}
	return nil
}

func subjectOf(p parsed) string {
	v := p.header.Get("Subject")
	if len(v) > 998 {
		v = v[:998]
	}
	return v
}

// feedbackID is the Feedback-ID header value: SES's shape
// (1.<region>.<44 base64 characters>:AmazonSES), naming sesame, with an
// opaque per-account identifier that feedback loops report back.
func feedbackID(accountID, region string) string {
	sum := sha256.Sum256([]byte(accountID + "/" + region))
	return "1." + region + "." + base64.StdEncoding.EncodeToString(sum[:]) + ":sesame"
}
