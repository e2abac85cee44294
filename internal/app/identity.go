package app

import (
	"context"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/sesame-email/sesame/internal/clock"
	"github.com/sesame-email/sesame/internal/identity"
	"github.com/sesame-email/sesame/internal/ids"
	"github.com/sesame-email/sesame/internal/simulator"
	"github.com/sesame-email/sesame/internal/store"
)

// VerificationMail is an address-verification mail sesame sent; the last
// ones are kept so an operator (or a test) can follow the link.
type VerificationMail struct {
	To   string
	Link string
}

// outbox sends address-verification mail through the queue, like any
// other message but from sesame itself: From no-reply@R.D, the null
// envelope sender (it is not the account's sending), unsigned.
type outbox struct {
	mu     sync.Mutex
	mails  []VerificationMail
	log    *slog.Logger
	clock  clock.Clock
	domain string
	accept func(ctx context.Context, msg store.Message, rcpts []store.Recipient) error
}

// SendVerification implements identity.Mailer.
func (o *outbox) SendVerification(ctx context.Context, id store.Identity, link string) error {
	o.mu.Lock()
	if len(o.mails) >= 1000 {
		o.mails = o.mails[1:]
	}
	o.mails = append(o.mails, VerificationMail{To: id.Name, Link: link})
	o.mu.Unlock()
	if o.accept == nil {
		o.log.Info("verification mail kept, not sent", "to", id.Name, "link", link)
		return nil
	}
	now := o.clock.Now().UTC()
	mid := ids.MessageID(id.Region, now)
	host := id.Region + "." + o.domain
	body := fmt.Sprintf("From: sesame <no-reply@%s>\r\nTo: %s\r\nSubject: Email Address Verification Request in region %s\r\n"+
		"Date: %s\r\nMessage-ID: <%s@%s>\r\nAuto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"+
		"Someone asked to send email from %s through sesame, in region %s.\r\n\r\nTo confirm, open this link within 24 hours:\r\n\r\n%s\r\n\r\n"+
		"If you did not ask for this, ignore this message: nothing is sent from your address unless it is confirmed.\r\n",
		host, id.Name, id.Region, now.Format(time.RFC1123Z), mid, host, id.Name, id.Region, link)
	dom := strings.ToLower(id.Name[strings.LastIndexByte(id.Name, '@')+1:])
	msg := store.Message{ID: mid, AccountID: id.AccountID, Region: id.Region, MailFrom: "", From: "no-reply@" + host,
		Subject: "Email Address Verification Request", CreatedAt: now, Data: []byte(body)}
	rcpt := store.Recipient{MessageID: mid, Address: id.Name, Domain: dom, State: store.RcptQueued, NextAttempt: now, UpdatedAt: now}
	if err := o.accept(ctx, msg, []store.Recipient{rcpt}); err != nil {
		return fmt.Errorf("app: verification mail: %w", err)
	}
	o.log.Info("verification mail queued", "to", id.Name, "message", mid)
	return nil
}

// VerificationMails returns the verification mails captured so far.
func (a *App) VerificationMails() []VerificationMail {
	a.outbox.mu.Lock()
	defer a.outbox.mu.Unlock()
	return append([]VerificationMail(nil), a.outbox.mails...)
}

// Identities returns the identity service.
func (a *App) Identities() *identity.Service { return a.identities }

// publicIPs are the addresses sesame's DNS publishes: --public-ip, else the
// MX and HTTP listen addresses when they are specific.
func publicIPs(configured []string, listen ...string) []net.IP {
	var out []net.IP
	for _, s := range configured {
		out = append(out, net.ParseIP(s))
	}
	if len(out) > 0 {
		return out
	}
	seen := map[string]bool{}
	for _, l := range listen {
		host, _, err := net.SplitHostPort(l)
		ip := net.ParseIP(host)
		if err != nil || ip == nil || ip.IsUnspecified() || seen[ip.String()] {
			continue
		}
		seen[ip.String()] = true
		out = append(out, ip)
	}
	if len(out) == 0 {
		out = append(out, net.IPv4(127, 0, 0, 1))
	}
	return out
}

var verifyPage = template.Must(template.New("verify").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{{.Title}} · sesame</title></head>
<body style="font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem">
<h1>{{.Title}}</h1><p>{{.Text}}</p></body></html>
`))

// verifyHandler completes an address verification from the mailed link.
func (a *App) verifyHandler(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, err := a.identities.ConfirmEmail(r.Context(), q.Get("account"), q.Get("region"), q.Get("identity"), q.Get("token"))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		verifyPage.Execute(w, map[string]string{"Title": "Verification failed",
			"Text": "This link is not valid or has expired. Ask for a new verification mail."})
		a.log.Info("address verification refused", "identity", q.Get("identity"), "err", err)
		return
	}
	verifyPage.Execute(w, map[string]string{"Title": "Address verified",
		"Text": fmt.Sprintf("%s can now send mail through sesame in %s.", q.Get("identity"), q.Get("region"))})
}

// publicURL is where webhook subscribers reach sesame.
func (a *App) publicURL() string {
	if a.cfg.PublicURL != "" {
		return strings.TrimRight(a.cfg.PublicURL, "/")
	}
	if a.httpLn == nil {
		return "http://" + a.cfg.HTTPAddr
	}
	return "http://" + a.HTTPAddr()
}

// isSimulator reports mailbox-simulator addresses.
func (a *App) isSimulator(addr string) bool {
	return simulator.Is(addr, a.cfg.DomainName())
}
