package feedback

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sesame-email/sesame/internal/ids"
	"github.com/sesame-email/sesame/internal/store"
)

// forward mails a bounce or complaint notice to the message's sender when
// its identity has feedback forwarding on (SES's default): a DSN
// (RFC 3464, multipart/report) from MAILER-DAEMON with a null envelope
// sender, so a notice that itself fails goes nowhere (RFC 5321 §4.5.5).
func (p *Processor) forward(ctx context.Context, msg store.Message, kind string, rcpts []string, status, diag string) {
	if p.cfg.Enqueue == nil || p.cfg.Identities == nil || len(rcpts) == 0 || p.isSimulator(msg.From) {
		return
	}
	id, ok, err := p.cfg.Identities.NotifyingIdentity(ctx, msg.AccountID, msg.Region, msg.From)
	if err != nil || !ok || !id.FeedbackForwarding {
		return
	}
	now := p.now()
	nid := ids.MessageID(msg.Region, now)
	host := msg.Region + "." + p.cfg.ServiceDomain
	const b = "sesame-feedback-forward"
	var s strings.Builder
	subject := "Delivery Status Notification (Failure)"
	if kind == KindComplaint {
		subject = "Complaint Notification"
	}
	fmt.Fprintf(&s, "From: MAILER-DAEMON@%s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s@%s>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n",
		host, msg.From, subject, now.Format(time.RFC1123Z), nid, host)
	if kind == KindComplaint {
		fmt.Fprintf(&s, "Content-Type: text/plain; charset=utf-8\r\n\r\nA recipient of your message %s (subject %q) marked it as spam:\r\n\r\n  %s\r\n\r\nThey are on your account's suppression list now.\r\n",
			msg.ID, msg.Subject, strings.Join(rcpts, "\r\n  "))
	} else {
		fmt.Fprintf(&s, "Content-Type: multipart/report; report-type=delivery-status; boundary=%q\r\n\r\n", b)
		fmt.Fprintf(&s, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nYour message %s (subject %q) could not be delivered to:\r\n\r\n  %s\r\n\r\n%s\r\n",
			b, msg.ID, msg.Subject, strings.Join(rcpts, "\r\n  "), diag)
		fmt.Fprintf(&s, "--%s\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; %s\r\n", b, p.cfg.Hostname)
		for _, r := range rcpts {
			fmt.Fprintf(&s, "\r\nFinal-Recipient: rfc822; %s\r\nAction: failed\r\nStatus: %s\r\nDiagnostic-Code: %s\r\n", r, status, oneLine(diag))
		}
		headers := string(msg.Data)
		if i := strings.Index(headers, "\r\n\r\n"); i >= 0 {
			headers = headers[:i+2]
		}
		fmt.Fprintf(&s, "--%s\r\nContent-Type: text/rfc822-headers\r\n\r\n%s\r\n--%s--\r\n", b, headers, b)
	}
	to := strings.ToLower(msg.From)
	notice := store.Message{ID: nid, AccountID: msg.AccountID, Region: msg.Region, MailFrom: "", From: "MAILER-DAEMON@" + host,
		Subject: subject, CreatedAt: now, Data: []byte(s.String())}
	rcpt := store.Recipient{MessageID: nid, Address: msg.From, Domain: to[strings.LastIndexByte(to, '@')+1:], State: store.RcptQueued, NextAttempt: now, UpdatedAt: now}
	if err := p.cfg.Enqueue(ctx, notice, []store.Recipient{rcpt}); err != nil {
		p.cfg.Logger.Error("feedback: forwarding notice not queued", "message", msg.ID, "err", err)
	}
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
