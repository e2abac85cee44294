package smtpd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/sesame-email/sesame/internal/identity"
)

// MaxMXMessage bounds a message to the MX listener. Reports and the mail
// sesame receives are refused above it with 552 5.3.4.
const MaxMXMessage = 40 << 20

// MXHandler decides what the MX listener takes and does with it. It
// returns *smtp.SMTPError values to refuse; any other error is a
// temporary failure (451).
type MXHandler interface {
	// CheckRecipient accepts or refuses one RCPT TO. Nothing is accepted
	// that the handler does not claim: the MX is never an open relay.
	CheckRecipient(ctx context.Context, session MXSession, rcpt string) error
	// Receive handles one message for its accepted recipients; it returns
	// only once what it keeps is durable.
	Receive(ctx context.Context, m MXMessage) error
}

// MXSession is what is known of the client when it names a recipient.
type MXSession struct {
	RemoteIP string
	Helo     string
	TLS      bool
}

// MXMessage is one message received by the MX listener.
type MXMessage struct {
	RemoteIP   string
	Helo       string
	TLS        bool
	MailFrom   string
	Recipients []string
	Data       []byte
}

// MXConfig configures the MX listener.
type MXConfig struct {
	Handler  MXHandler
	Hostname string
	TLS      *tls.Config // STARTTLS offered when set
	Logger   *slog.Logger
	// IdleTimeout: 0 = 60 s (RFC 5321 §4.5.3.2 allows the client more; a
	// feedback MX needs less).
	IdleTimeout    time.Duration
	SessionTimeout time.Duration // 0 = MaxSession
}

// MX is the inbound SMTP listener (port 25's role): bounces and complaints
// to VERP addresses, and (with receipt rules) mail for verified domains.
// It offers no AUTH and relays nothing.
type MX struct {
	cfg     MXConfig
	mu      sync.Mutex
	servers []*smtp.Server
}

// NewMX returns the listener; Listen starts it.
func NewMX(cfg MXConfig) *MX {
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = 60 * time.Second
	}
	if cfg.SessionTimeout == 0 {
		cfg.SessionTimeout = MaxSession
	}
	return &MX{cfg: cfg}
}

// Listen binds addr and serves; it returns the bound address.
func (m *MX) Listen(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("smtpd: mx listener: %w", err)
	}
	srv := smtp.NewServer(m)
	srv.Domain = m.cfg.Hostname
	srv.TLSConfig = m.cfg.TLS
	srv.MaxRecipients = 100
	srv.MaxMessageBytes = MaxMXMessage
	srv.MaxLineLength = 2000
	srv.ReadTimeout = m.cfg.IdleTimeout
	srv.WriteTimeout = m.cfg.IdleTimeout
	srv.EnableSMTPUTF8 = true
	srv.ErrorLog = slogWriter{m.cfg.Logger}
	ln = cappedListener{Listener: ln, max: m.cfg.SessionTimeout}
	m.mu.Lock()
	m.servers = append(m.servers, srv)
	m.mu.Unlock()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, smtp.ErrServerClosed) {
			m.cfg.Logger.Warn("mx listener stopped", "addr", ln.Addr().String(), "err", err)
		}
	}()
	return ln.Addr().String(), nil
}

// Shutdown stops the listener and waits for sessions (until ctx).
func (m *MX) Shutdown(ctx context.Context) error {
	m.mu.Lock()
	servers := m.servers
	m.servers = nil
	m.mu.Unlock()
	return shutdownAll(ctx, servers)
}

// NewSession implements smtp.Backend.
func (m *MX) NewSession(c *smtp.Conn) (smtp.Session, error) {
	host, _, _ := net.SplitHostPort(c.Conn().RemoteAddr().String())
	_, isTLS := c.TLSConnectionState()
	return &mxSession{m: m, conn: c, msg: MXMessage{RemoteIP: host, Helo: c.Hostname(), TLS: isTLS}}, nil
}

type mxSession struct {
	m    *MX
	conn *smtp.Conn
	msg  MXMessage
}

var errTempMX = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Temporary local problem; try again later"}

func smtpOr451(err error) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se
	}
	return errTempMX
}

// Mail implements smtp.Session. Bounces come with a null sender (<>).
func (s *mxSession) Mail(from string, opts *smtp.MailOptions) error {
	if opts != nil && opts.Size > MaxMXMessage {
		return &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4}, Message: "Message is too long."}
	}
	if from != "" {
		if _, err := identity.NormalizeAddress(from); err != nil {
			return &smtp.SMTPError{Code: 553, EnhancedCode: smtp.EnhancedCode{5, 1, 7}, Message: fmt.Sprintf("<%s> Invalid sender address", from)}
		}
	}
	s.msg.MailFrom, s.msg.Helo = from, s.conn.Hostname()
	return nil
}

// Rcpt implements smtp.Session.
func (s *mxSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if _, err := identity.NormalizeAddress(to); err != nil {
		return &smtp.SMTPError{Code: 553, EnhancedCode: smtp.EnhancedCode{5, 1, 3}, Message: fmt.Sprintf("<%s> Invalid recipient address", to)}
	}
	_, isTLS := s.conn.TLSConnectionState()
	if err := s.m.cfg.Handler.CheckRecipient(context.Background(), MXSession{RemoteIP: s.msg.RemoteIP, Helo: s.msg.Helo, TLS: isTLS}, to); err != nil {
		s.m.cfg.Logger.Info("mx: recipient refused", "remote", s.msg.RemoteIP, "rcpt", to, "err", err)
		return smtpOr451(err)
	}
	s.msg.Recipients = append(s.msg.Recipients, to)
	return nil
}

// Data implements smtp.Session.
func (s *mxSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		if errors.Is(err, smtp.ErrDataTooLarge) {
			return &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4}, Message: "Message is too long."}
		}
		return err
	}
	m := s.msg
	m.Data = raw
	if state, ok := s.conn.TLSConnectionState(); ok {
		m.TLS = state.HandshakeComplete
	}
	if err := s.m.cfg.Handler.Receive(context.Background(), m); err != nil {
		s.m.cfg.Logger.Warn("mx: message refused", "remote", m.RemoteIP, "rcpts", m.Recipients, "err", err)
		return smtpOr451(err)
	}
	return nil
}

// Reset implements smtp.Session.
func (s *mxSession) Reset() { s.msg.MailFrom, s.msg.Recipients, s.msg.Data = "", nil, nil }

// Logout implements smtp.Session.
func (s *mxSession) Logout() error { return nil }
