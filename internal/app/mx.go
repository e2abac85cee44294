package app

import (
	"context"
	"errors"
	"net/netip"
	"strings"

	"github.com/emersion/go-smtp"

	"github.com/sesame-email/sesame/internal/certs"
	"github.com/sesame-email/sesame/internal/feedback"
	"github.com/sesame-email/sesame/internal/inbound"
	"github.com/sesame-email/sesame/internal/smtpd"
)

// startMX starts the MX listener (--mx-addr): bounces and complaints to
// the VERP addresses of sent messages. Everything else is refused at RCPT.
func (a *App) startMX() error {
	if off(a.cfg.MXAddr) {
		return nil
	}
	hosts := []string{a.cfg.Hostname}
	for _, ip := range publicIPs(a.cfg.PublicIPs, a.cfg.MXAddr) {
		hosts = append(hosts, ip.String())
	}
	tlsCfg, err := certs.Load(a.cfg.TLSCert, a.cfg.TLSKey, a.cfg.DataDir, hosts)
	if err != nil {
		return err
	}
	a.mx = smtpd.NewMX(smtpd.MXConfig{Handler: &mxHandler{fb: a.feedback, in: a.receiver}, Hostname: a.cfg.Hostname, TLS: tlsCfg, Logger: a.log.With("svc", "mx")})
	a.mxAddr, err = a.mx.Listen(a.cfg.MXAddr)
	return err
}

// MXAddr returns the bound MX address ("" when off).
func (a *App) MXAddr() string { return a.mxAddr }

// mxHandler routes MX mail: VERP addresses to feedback.
type mxHandler struct {
	fb *feedback.Processor
	in *inbound.Receiver
}

var errNoRelay = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Relaying denied: this server does not accept mail for that address"}

// CheckRecipient takes VERP addresses (feedback) and, through receipt
// rules, recipients at verified domains (inbound); nothing else.
func (h *mxHandler) CheckRecipient(ctx context.Context, sess smtpd.MXSession, rcpt string) error {
	_, err := h.fb.VERP(ctx, rcpt)
	if err == nil || !errors.Is(err, feedback.ErrNotVERP) {
		return err
	}
	ip, _ := netip.ParseAddr(sess.RemoteIP)
	_, err = h.in.Route(ctx, ip, sess.TLS, rcpt)
	switch {
	case errors.Is(err, inbound.ErrNoRule):
		return errNoRelay
	case errors.Is(err, inbound.ErrBlocked):
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Access denied: your address is blocked by the recipient's receipt filter"}
	case errors.Is(err, inbound.ErrTLSRequired):
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Must issue a STARTTLS command first: the recipient requires TLS"}
	}
	return err
}

func (h *mxHandler) Receive(ctx context.Context, m smtpd.MXMessage) error {
	var inboundRcpts []string
	for _, rcpt := range m.Recipients {
		id, err := h.fb.VERP(ctx, rcpt)
		if errors.Is(err, feedback.ErrNotVERP) {
			inboundRcpts = append(inboundRcpts, rcpt)
			continue
		}
		if err != nil {
			return err
		}
		err = h.fb.Receive(ctx, id, m.Data)
		switch {
		case err == nil:
		case errors.Is(err, feedback.ErrNotReport), errors.Is(err, feedback.ErrUnknownMessage):
			// An auto-reply or a human answer to the envelope sender: taken
			// and dropped, as SES does with mail to its bounce addresses.
		case strings.HasPrefix(err.Error(), "feedback: "):
			return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "Malformed message: " + strings.TrimPrefix(err.Error(), "feedback: ")}
		default:
			return err
		}
	}
	if len(inboundRcpts) > 0 {
		ip, _ := netip.ParseAddr(m.RemoteIP)
		if err := h.in.Receive(ctx, inbound.Message{RemoteIP: ip, Helo: m.Helo, MailFrom: m.MailFrom, TLS: m.TLS, Recipients: inboundRcpts, Data: m.Data}); err != nil {
			return err
		}
	}
	return nil
}
