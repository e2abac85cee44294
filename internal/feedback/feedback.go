// Package feedback turns delivery failures and complaints into SES Bounce,
// Complaint, Delivery and DeliveryDelay events, and keeps the suppression
// list from them. Three inputs take the same path:
//
//   - outcomes of the delivery worker (a 5xx answer in the SMTP session,
//     a delivery, a deferral, an expiry): Processor.Report;
//   - reports mailed back to a message's VERP address (DSN, RFC 3464; ARF,
//     RFC 5965; best-effort non-standard bounces): Processor.Receive, fed
//     by the MX listener;
//   - the mailbox simulator, whose bounce is an SMTP-session failure like
//     any other and whose complaint is an ARF report made here and read
//     by the same parser.
//
// Only failures that say the address is bad (5.1.x, unknown user) and
// complaints add the recipient to the account's suppression list, and
// never a simulator address. Policy and reputation rejections (5.7.x) are
// reported, not suppressed: the fix is on the sender's side.
package feedback

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/sesame-email/sesame/internal/clock"
	"github.com/sesame-email/sesame/internal/configsets"
	"github.com/sesame-email/sesame/internal/events"
	"github.com/sesame-email/sesame/internal/ids"
	"github.com/sesame-email/sesame/internal/mta"
	"github.com/sesame-email/sesame/internal/store"
	"github.com/sesame-email/sesame/internal/suppression"
)

// DelayEvery says which deferrals produce a DeliveryDelay event: the first,
// then every DelayEvery-th attempt, so a long outage is reported without a
// flood.
const DelayEvery = 5

// Config wires a Processor.
type Config struct {
	Queue       store.Queue
	Suppression *suppression.Service
	ConfigSets  *configsets.Service
	Events      *events.Service
	// IsSimulator reports mailbox-simulator addresses, never suppressed.
	IsSimulator func(addr string) bool
	// Hostname is sesame's MTA name (reportingMTA).
	Hostname string
	// ServiceDomain is sesame's domain D: default MAIL FROM addresses are
	// <id>@R.D, and feedback-smtp.R.D is the MX of custom MAIL FROM domains.
	ServiceDomain string
	// MaxAge is the queue's maximum age (DeliveryDelay expirationTime).
	MaxAge time.Duration
	// Identities finds the sending identity (feedback forwarding).
	Identities events.Identities
	// Enqueue queues a forwarded notice durably; nil = no forwarding.
	Enqueue func(ctx context.Context, msg store.Message, rcpts []store.Recipient) error
	Clock   clock.Clock
	Logger  *slog.Logger
}

// Processor handles feedback.
type Processor struct{ cfg Config }

// New returns a Processor.
func New(cfg Config) *Processor { return &Processor{cfg: cfg} }

func (p *Processor) now() time.Time { return p.cfg.Clock.Now().UTC() }

// destination lists every recipient of msg (the event's mail.destination).
func (p *Processor) destination(ctx context.Context, msg store.Message) []string {
	rs, err := p.cfg.Queue.Recipients(ctx, msg.ID)
	if err != nil {
		p.cfg.Logger.Warn("feedback: recipients unreadable", "message", msg.ID, "err", err)
	}
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Address
	}
	return out
}

// Report implements mta.Reporter.
func (p *Processor) Report(ctx context.Context, msg store.Message, outs []mta.Outcome) {
	if msg.MailFrom == "" {
		// A notice sesame sent with a null sender (a forwarded bounce):
		// its fate concerns no customer and must never suppress the
		// customer's own address.
		return
	}
	var destCache []string
	dest := func() []string {
		if destCache == nil {
			destCache = p.destination(ctx, msg)
		}
		return destCache
	}
	now := p.now()
	var delivered []string
	var remote, response string
	var failed []Recipient
	var delayed []events.DelayedRecipient
	var complaints []string
	for _, o := range outs {
		r := o.Result
		switch o.Recipient.State {
		case store.RcptDelivered:
			delivered = append(delivered, o.Recipient.Address)
			remote, response = r.RemoteIP, r.Response
			if p.isSimulator(o.Recipient.Address) && simulatorLocal(o.Recipient.Address) == "complaint" {
				complaints = append(complaints, o.Recipient.Address)
			}
		case store.RcptBounced, store.RcptExpired:
			st := Status(r.Response)
			action := "failed"
			if o.Recipient.State == store.RcptExpired && st == "" {
				st = "4.4.7"
			}
			failed = append(failed, Recipient{Address: o.Recipient.Address, Action: action, Status: st,
				Diagnostic: "smtp; " + r.Response, RemoteMTA: r.RemoteIP})
		case store.RcptDeferred:
			if n := o.Recipient.Attempts; n == 1 || n%DelayEvery == 0 {
				st := Status(r.Response)
				delayed = append(delayed, events.DelayedRecipient{EmailAddress: o.Recipient.Address, Status: st, DiagnosticCode: "smtp; " + r.Response})
			}
		}
	}
	if len(delivered) > 0 {
		d := &events.DeliveryDetail{Timestamp: events.Stamp(now), ProcessingTimeMillis: now.Sub(msg.CreatedAt).Milliseconds(),
			Recipients: delivered, SMTPResponse: response, RemoteMtaIP: remote, ReportingMTA: p.cfg.Hostname}
		p.emitLazy(ctx, msg, dest, events.Delivery, delivered, events.Detail{Delivery: d})
	}
	if len(failed) > 0 {
		p.bounce(ctx, msg, dest(), Report{Kind: KindBounce, ReportingMTA: "dns; " + p.cfg.Hostname, Recipients: failed}, "")
	}
	if len(delayed) > 0 {
		addrs := make([]string, len(delayed))
		for i, d := range delayed {
			addrs[i] = d.EmailAddress
		}
		d := &events.DelayDetail{DelayType: delayType(delayed[0].DiagnosticCode), DelayedRecipients: delayed,
			ExpirationTime: events.Stamp(msg.CreatedAt.Add(p.cfg.MaxAge)), ReportingMTA: "dns; " + p.cfg.Hostname, Timestamp: events.Stamp(now)}
		p.emitLazy(ctx, msg, dest, events.DeliveryDelay, addrs, events.Detail{DeliveryDelay: d})
	}
	for _, c := range complaints {
		// The simulator's complaint arrives as an ARF report would, and is
		// read by the same parser.
		if err := p.Receive(ctx, msg.ID, SimulatorComplaint(msg, c, now)); err != nil {
			p.cfg.Logger.Warn("feedback: simulator complaint", "message", msg.ID, "err", err)
		}
	}
}

// delayType names a deferral as SES's DeliveryDelay delayType.
func delayType(diag string) string {
	st := Status(diag)
	switch {
	case strings.HasPrefix(st, "4.2.2"):
		return "MailboxFull"
	case strings.HasPrefix(st, "4.7."):
		return "SpamDetected"
	case strings.Contains(diag, "no MX host answered"), strings.Contains(diag, "connection"):
		return "TransientCommunicationFailure"
	case strings.HasPrefix(st, "4."):
		return "RecipientServerError"
	}
	return "Undetermined"
}

func (p *Processor) isSimulator(addr string) bool {
	return p.cfg.IsSimulator != nil && p.cfg.IsSimulator(addr)
}

func simulatorLocal(addr string) string {
	local := strings.ToLower(addr[:max(strings.LastIndexByte(addr, '@'), 0)])
	local, _, _ = strings.Cut(local, "+")
	return local
}

func (p *Processor) emit(ctx context.Context, msg store.Message, dest []string, typ string, rcpts []string, d events.Detail) {
	p.emitLazy(ctx, msg, func() []string { return dest }, typ, rcpts, d)
}

// emitLazy records an event; dest is read only if the event is kept.
func (p *Processor) emitLazy(ctx context.Context, msg store.Message, dest func() []string, typ string, rcpts []string, d events.Detail) {
	if err := p.cfg.Events.Emit(ctx, msg, dest, typ, rcpts, d); err != nil {
		p.cfg.Logger.Error("feedback: event not recorded", "message", msg.ID, "type", typ, "err", err)
	}
}

// reasons returns the suppression reasons that apply to msg: its
// configuration set's SuppressionOptions, else the account's.
func (p *Processor) reasons(ctx context.Context, msg store.Message) []string {
	if msg.ConfigurationSet != "" && p.cfg.ConfigSets != nil {
		if set, err := p.cfg.ConfigSets.Get(ctx, msg.AccountID, msg.Region, msg.ConfigurationSet); err == nil && set.SuppressedReasons != nil {
			return *set.SuppressedReasons
		}
	}
	rs, err := p.cfg.Suppression.Reasons(ctx, msg.AccountID, msg.Region)
	if err != nil {
		p.cfg.Logger.Warn("feedback: suppression settings unreadable; using the default", "err", err)
		return []string{suppression.Bounce, suppression.Complaint}
	}
	return rs
}

// bounce records Bounce events for a report's failed recipients (those
// that were recipients of msg), grouped by classification, and suppresses
// hard-bounced ones. fixedSub overrides the subtype ("Suppressed").
func (p *Processor) bounce(ctx context.Context, msg store.Message, dest []string, rep Report, fixedSub string) int {
	type group struct {
		cls   Class
		rcpts []events.BouncedRecipient
		addrs []string
	}
	var groups []*group
	var remote string
	for _, r := range rep.Recipients {
		if r.Action != "" && r.Action != "failed" {
			continue
		}
		addr, ok := recipientOf(dest, r.Address)
		if !ok {
			continue
		}
		cls := Classify(r.Status, r.Diagnostic)
		if fixedSub != "" {
			cls = Class{Type: "Permanent", SubType: fixedSub}
		}
		if strings.Contains(r.Diagnostic, "has suppressed sending to this address") && p.isSimulator(addr) {
			cls = Class{Type: "Permanent", SubType: "Suppressed"}
		}
		var g *group
		for _, x := range groups {
			if x.cls == cls {
				g = x
			}
		}
		if g == nil {
			g = &group{cls: cls}
			groups = append(groups, g)
		}
		g.rcpts = append(g.rcpts, events.BouncedRecipient{EmailAddress: addr, Action: "failed", Status: r.Status, DiagnosticCode: r.Diagnostic})
		g.addrs = append(g.addrs, addr)
		if r.RemoteMTA != "" {
			remote = strings.TrimSpace(strings.TrimPrefix(r.RemoteMTA, "dns;"))
		}
	}
	n := 0
	for _, g := range groups {
		fid := ids.MessageID(msg.Region, p.now())
		if g.cls.Suppress && slices.Contains(p.reasons(ctx, msg), suppression.Bounce) {
			for _, a := range g.addrs {
				if p.isSimulator(a) {
					continue
				}
				if err := p.cfg.Suppression.Put(ctx, msg.AccountID, msg.Region, a, suppression.Bounce, msg.ID, fid); err != nil {
					p.cfg.Logger.Error("feedback: suppression not stored", "rcpt", a, "err", err)
				}
			}
		}
		d := &events.BounceDetail{BounceType: g.cls.Type, BounceSubType: g.cls.SubType, BouncedRecipients: g.rcpts,
			Timestamp: events.Stamp(p.now()), FeedbackID: fid, ReportingMTA: rep.ReportingMTA, RemoteMtaIP: remote}
		p.emit(ctx, msg, dest, events.Bounce, g.addrs, events.Detail{Bounce: d})
		if fixedSub != "OnAccountSuppressionList" {
			p.forward(ctx, msg, KindBounce, g.addrs, g.rcpts[0].Status, g.rcpts[0].DiagnosticCode)
		}
		p.cfg.Logger.Info("bounce", "message", msg.ID, "type", g.cls.Type, "subtype", g.cls.SubType, "recipients", g.addrs, "suppressed", g.cls.Suppress)
		n += len(g.addrs)
	}
	return n
}

// recipientOf finds addr among the message's recipients (case-insensitive).
func recipientOf(dest []string, addr string) (string, bool) {
	for _, d := range dest {
		if strings.EqualFold(d, addr) {
			return d, true
		}
	}
	return "", false
}

// ErrUnknownMessage means a report names no message sesame sent.
var ErrUnknownMessage = errors.New("feedback: no such message")

// Receive handles a report mailed to the VERP address of message
// messageID ("" when it came to another address): it is parsed, matched to
// the message (by the VERP id, else by the returned Message-ID) and its
// recipients, and becomes Bounce or Complaint events. A report that names
// nothing sesame sent is ignored with a log line; the error says why.
func (p *Processor) Receive(ctx context.Context, messageID string, raw []byte) error {
	rep, err := Parse(raw)
	if err != nil {
		return err
	}
	if messageID == "" {
		messageID = sesameID(rep.OriginalMessageID)
	}
	if messageID == "" {
		return fmt.Errorf("%w: the report names no message", ErrUnknownMessage)
	}
	msg, err := p.cfg.Queue.GetMessage(ctx, messageID)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %s", ErrUnknownMessage, messageID)
	}
	if err != nil {
		return err
	}
	dest := p.destination(ctx, msg)
	switch rep.Kind {
	case KindBounce:
		if p.bounce(ctx, msg, dest, rep, "") == 0 {
			p.cfg.Logger.Info("feedback: report names none of the message's recipients", "message", msg.ID, "best_effort", rep.BestEffort)
		}
	case KindDelay:
		p.cfg.Logger.Info("feedback: delay notice ignored (sesame reports its own delays)", "message", msg.ID)
	case KindComplaint:
		p.complaint(ctx, msg, dest, rep)
	}
	return nil
}

// sesameID extracts a sesame message id from a Message-ID
// ("<id@region.domain>").
func sesameID(mid string) string {
	local, _, ok := strings.Cut(strings.Trim(mid, "<> "), "@")
	if !ok || !ids.IsMessageID(local) {
		return ""
	}
	return local
}

func (p *Processor) complaint(ctx context.Context, msg store.Message, dest []string, rep Report) {
	var addrs []string
	for _, a := range rep.OriginalRcptTo {
		if d, ok := recipientOf(dest, a); ok && !slices.Contains(addrs, d) {
			addrs = append(addrs, d)
		}
	}
	if len(addrs) == 0 && len(dest) == 1 {
		// Redacted reports (common in FBLs) still concern the one recipient.
		addrs = dest
	}
	if len(addrs) == 0 {
		p.cfg.Logger.Info("feedback: complaint names none of the message's recipients", "message", msg.ID)
		return
	}
	fid := ids.MessageID(msg.Region, p.now())
	if slices.Contains(p.reasons(ctx, msg), suppression.Complaint) {
		for _, a := range addrs {
			if p.isSimulator(a) {
				continue
			}
			if err := p.cfg.Suppression.Put(ctx, msg.AccountID, msg.Region, a, suppression.Complaint, msg.ID, fid); err != nil {
				p.cfg.Logger.Error("feedback: suppression not stored", "rcpt", a, "err", err)
			}
		}
	}
	rcpts := make([]events.ComplainedRecipient, len(addrs))
	for i, a := range addrs {
		rcpts[i] = events.ComplainedRecipient{EmailAddress: a}
	}
	d := &events.ComplaintDetail{ComplainedRecipients: rcpts, Timestamp: events.Stamp(p.now()), FeedbackID: fid,
		UserAgent: rep.UserAgent, ComplaintFeedbackType: rep.FeedbackType, ArrivalDate: arrival(rep.ArrivalDate)}
	p.emit(ctx, msg, dest, events.Complaint, addrs, events.Detail{Complaint: d})
	p.forward(ctx, msg, KindComplaint, addrs, "", "")
	p.cfg.Logger.Info("complaint", "message", msg.ID, "recipients", addrs, "type", rep.FeedbackType)
}

// arrival converts an RFC 5322 date to SES's ISO form, when it parses.
func arrival(v string) string {
	for _, layout := range []string{time.RFC1123Z, time.RFC1123, "Mon, 2 Jan 2006 15:04:05 -0700", "2 Jan 2006 15:04:05 -0700"} {
		if t, err := time.Parse(layout, strings.TrimSpace(v)); err == nil {
			return events.Stamp(t)
		}
	}
	return v
}

// Bounced records Bounce events, with subtype OnAccountSuppressionList, for
// recipients the send path skipped because they were on the account's
// suppression list.
func (p *Processor) Suppressed(ctx context.Context, msg store.Message, addrs []string) {
	dest := p.destination(ctx, msg)
	rep := Report{Kind: KindBounce, ReportingMTA: "dns; " + p.cfg.Hostname}
	for _, a := range addrs {
		rep.Recipients = append(rep.Recipients, Recipient{Address: a, Action: "failed", Status: "5.1.1",
			Diagnostic: "Amazon SES did not send the message to this address because it is on the suppression list for your account."})
	}
	p.bounce(ctx, msg, dest, rep, "OnAccountSuppressionList")
}

// ErrNotVERP means an address is not the envelope sender of a message
// sesame sent.
var ErrNotVERP = errors.New("feedback: not a VERP address of this server")

// VERP returns the id of the message whose envelope sender rcpt is:
// <id>@<MAIL FROM domain>, or <id>@feedback-smtp.R.D (or R.D) for a
// message sent in region R.
func (p *Processor) VERP(ctx context.Context, rcpt string) (string, error) {
	at := strings.LastIndexByte(rcpt, '@')
	if at < 0 {
		return "", ErrNotVERP
	}
	id, domain := strings.ToLower(rcpt[:at]), strings.ToLower(rcpt[at+1:])
	if !ids.IsMessageID(id) {
		return "", ErrNotVERP
	}
	msg, err := p.cfg.Queue.GetMessage(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return "", ErrNotVERP
	}
	if err != nil {
		return "", err
	}
	own := msg.Region + "." + p.cfg.ServiceDomain
	if strings.EqualFold(msg.MailFrom, rcpt) || domain == own || domain == "feedback-smtp."+own {
		return id, nil
	}
	return "", ErrNotVERP
}
