// Package smtpd is sesame's SMTP front end. Submission (this file) is the
// SES SMTP interface: STARTTLS or implicit TLS, AUTH PLAIN/LOGIN only
// after TLS with the SES SMTP password derived from an access key's
// secret (reference §4), and the same acceptance path as the API. The 250
// reply to DATA is sent only after the message is durable and carries its
// message id, as SES's does.
package smtpd

import (
	"bufio"
	"bytes"
	"context"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"golang.org/x/time/rate"

	"github.com/sesame-email/sesame/internal/account"
	"github.com/sesame-email/sesame/internal/identity"
	"github.com/sesame-email/sesame/internal/sigv4"
	"github.com/sesame-email/sesame/internal/submit"
)

// Config configures the submission service.
type Config struct {
	Accounts *account.Service
	Submit   *submit.Service
	Regions  []string
	Hostname string
	TLS      *tls.Config
	Logger   *slog.Logger
	// ConfigurationSetExists answers for X-SES-CONFIGURATION-SET; nil
	// means no configuration set exists yet, so every name is unknown.
	ConfigurationSetExists func(ctx context.Context, accountID, region, name string) (bool, error)
	// IdleTimeout closes a connection that sends nothing this long;
	// 0 = 30 s.
	IdleTimeout time.Duration
	// SessionTimeout bounds a whole session; 0 = MaxSession.
	SessionTimeout time.Duration
}

// Submission is the SMTP submission service.
type Submission struct {
	cfg     Config
	mu      sync.Mutex
	failing map[string]*rate.Limiter // AUTH failures per remote address
	servers []*smtp.Server
}

// NewSubmission returns the service; Listen starts listeners.
func NewSubmission(cfg Config) *Submission {
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = 30 * time.Second
	}
	if cfg.SessionTimeout == 0 {
		cfg.SessionTimeout = MaxSession
	}
	return &Submission{cfg: cfg, failing: map[string]*rate.Limiter{}}
}

// slogWriter adapts go-smtp's logger to slog.
type slogWriter struct{ log *slog.Logger }

func (w slogWriter) Printf(format string, v ...any) {
	w.log.Warn("smtp server", "msg", fmt.Sprintf(format, v...))
}
func (w slogWriter) Println(v ...any) { w.log.Warn("smtp server", "msg", fmt.Sprint(v...)) }

// Listen serves submission on addr: STARTTLS, or implicit TLS when
// implicitTLS. It returns the bound address.
func (s *Submission) Listen(addr string, implicitTLS bool) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("smtpd: %w", err)
	}
	srv := smtp.NewServer(s)
	srv.Domain = s.cfg.Hostname
	srv.TLSConfig = s.cfg.TLS
	srv.MaxRecipients = submit.MaxRecipients
	srv.MaxMessageBytes = submit.MaxSizeV2
	srv.MaxLineLength = 2000 // RFC 5321 §4.5.3.1.6 doubled, as go-smtp advises
	srv.ReadTimeout = s.cfg.IdleTimeout
	srv.WriteTimeout = s.cfg.IdleTimeout
	srv.AllowInsecureAuth = false
	srv.ErrorLog = slogWriter{s.cfg.Logger}
	ln = cappedListener{Listener: ln, max: s.cfg.SessionTimeout}
	if implicitTLS {
		ln = tls.NewListener(ln, s.cfg.TLS)
	}
	s.mu.Lock()
	s.servers = append(s.servers, srv)
	s.mu.Unlock()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, smtp.ErrServerClosed) {
			s.cfg.Logger.Warn("smtp listener stopped", "addr", ln.Addr().String(), "err", err)
		}
	}()
	return ln.Addr().String(), nil
}

// Shutdown stops every listener and waits for sessions to end (until ctx).
func (s *Submission) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	servers := s.servers
	s.servers = nil
	s.mu.Unlock()
	return shutdownAll(ctx, servers)
}

// shutdownAll stops servers, waiting for their sessions until ctx ends.
func shutdownAll(ctx context.Context, servers []*smtp.Server) error {
	var errs []error
	for _, srv := range servers {
		if err := srv.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// NewSession implements smtp.Backend.
func (s *Submission) NewSession(c *smtp.Conn) (smtp.Session, error) {
	host, _, _ := net.SplitHostPort(c.Conn().RemoteAddr().String())
	return &session{s: s, remote: host}, nil
}

// authAllowed reports whether remote may try AUTH now: 5 failures, then one
// more every 10 seconds.
func (s *Submission) authAllowed(remote string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.failing[remote]
	return !ok || l.Tokens() >= 1
}

func (s *Submission) authFailed(remote string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.failing[remote]
	if !ok {
		if len(s.failing) > 10000 {
			clear(s.failing)
		}
		l = rate.NewLimiter(rate.Every(10*time.Second), 5)
		s.failing[remote] = l
	}
	l.Allow()
}

type session struct {
	s      *Submission
	remote string
	p      account.Principal
	region string
	authed bool
	from   string
	rcpts  []string
}

var (
	errAuthRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	errBadCreds     = &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication Credentials Invalid"}
	errAuthTempFail = &smtp.SMTPError{Code: 454, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "Temporary authentication failure"}
	errTooManyFails = &smtp.SMTPError{Code: 454, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "Too many authentication failures; try again later"}
)

// AuthMechanisms implements smtp.AuthSession (offered only after TLS:
// go-smtp hides AUTH on a plain connection and answers AUTH with 523).
func (ss *session) AuthMechanisms() []string { return []string{sasl.Plain, sasl.Login} }

// Auth implements smtp.AuthSession.
func (ss *session) Auth(mech string) (sasl.Server, error) {
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, username, password string) error {
			if identity != "" && identity != username {
				return errBadCreds
			}
			return ss.authenticate(username, password)
		}), nil
	case sasl.Login:
		return &loginServer{auth: ss.authenticate}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

// authenticate checks an access key id and SES SMTP password. A v4
// password names its region (the derivation includes it), so each
// configured region is tried; the legacy v2 password means the first.
func (ss *session) authenticate(username, password string) error {
	log := ss.s.cfg.Logger
	if !ss.s.authAllowed(ss.remote) {
		log.Warn("smtp auth throttled", "remote", ss.remote, "user", username)
		return errTooManyFails
	}
	p, secret, err := ss.s.cfg.Accounts.Lookup(context.Background(), username)
	if err != nil && !errors.Is(err, account.ErrUnknownKey) {
		log.Error("smtp auth lookup failed", "err", err)
		return errAuthTempFail
	}
	if err == nil {
		for _, r := range ss.s.cfg.Regions {
			if subtle.ConstantTimeCompare([]byte(password), []byte(sigv4.SMTPPassword(secret, r))) == 1 {
				ss.p, ss.region, ss.authed = p, r, true
				log.Info("smtp auth", "remote", ss.remote, "key", username, "region", r)
				return nil
			}
		}
		if subtle.ConstantTimeCompare([]byte(password), []byte(sigv4.LegacySMTPPassword(secret))) == 1 {
			ss.p, ss.region, ss.authed = p, ss.s.cfg.Regions[0], true
			log.Info("smtp auth", "remote", ss.remote, "key", username, "region", ss.region, "password", "legacy v2")
			return nil
		}
	}
	ss.s.authFailed(ss.remote)
	log.Warn("smtp auth failed", "remote", ss.remote, "user", username)
	return errBadCreds
}

// Mail implements smtp.Session.
func (ss *session) Mail(from string, opts *smtp.MailOptions) error {
	if !ss.authed {
		return errAuthRequired
	}
	if opts != nil && opts.Size > submit.MaxSizeV2 {
		return &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4}, Message: "Message is too long."}
	}
	if _, err := identity.NormalizeAddress(from); err != nil {
		return &smtp.SMTPError{Code: 553, EnhancedCode: smtp.EnhancedCode{5, 1, 7}, Message: fmt.Sprintf("<%s> Invalid email address", from)}
	}
	ss.from = from
	return nil
}

// Rcpt implements smtp.Session. go-smtp refuses the 51st recipient.
func (ss *session) Rcpt(to string, opts *smtp.RcptOptions) error {
	if !ss.authed {
		return errAuthRequired
	}
	if _, err := identity.NormalizeAddress(to); err != nil {
		return &smtp.SMTPError{Code: 553, EnhancedCode: smtp.EnhancedCode{5, 1, 3}, Message: fmt.Sprintf("<%s> Invalid email address", to)}
	}
	ss.rcpts = append(ss.rcpts, to)
	return nil
}

var (
	tagRE     = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)
	setNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`) // reference §7
)

// sesHeaders reads X-SES-CONFIGURATION-SET and X-SES-MESSAGE-TAGS from the
// message header (reference §4; submit removes them before signing).
func sesHeaders(raw []byte) (configSet string, tags map[string][]string, err error) {
	br := bufio.NewReader(bytes.NewReader(raw))
	var fields []string
	for {
		line, rerr := br.ReadString('\n')
		trimmed := strings.TrimRight(line, "\r\n")
		if trimmed == "" {
			break
		}
		if (line[0] == ' ' || line[0] == '\t') && len(fields) > 0 {
			fields[len(fields)-1] += " " + strings.TrimSpace(trimmed)
		} else {
			fields = append(fields, trimmed)
		}
		if rerr != nil {
			break
		}
	}
	for _, f := range fields {
		k, v, ok := strings.Cut(f, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "x-ses-configuration-set":
			if !setNameRE.MatchString(v) {
				return "", nil, fmt.Errorf("invalid X-SES-CONFIGURATION-SET %q", v)
			}
			configSet = v
		case "x-ses-message-tags":
			tags = map[string][]string{}
			for _, pair := range strings.Split(v, ",") {
				name, val, ok := strings.Cut(strings.TrimSpace(pair), "=")
				if !ok || !tagRE.MatchString(name) || !tagRE.MatchString(val) {
					return "", nil, fmt.Errorf("invalid X-SES-MESSAGE-TAGS entry %q", pair)
				}
				tags[name] = append(tags[name], val)
			}
		}
	}
	return configSet, tags, nil
}

// Data implements smtp.Session: the message is accepted through submit and
// the 250 reply names its id once it is durable.
func (ss *session) Data(r io.Reader) error {
	if !ss.authed {
		return errAuthRequired
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		if errors.Is(err, smtp.ErrDataTooLarge) {
			return &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4}, Message: "Message is too long."}
		}
		return err
	}
	ctx := context.Background()
	cs, tags, err := sesHeaders(raw)
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "Message rejected: " + err.Error()}
	}
	if cs != "" {
		ok := false
		if ss.s.cfg.ConfigurationSetExists != nil {
			if ok, err = ss.s.cfg.ConfigurationSetExists(ctx, ss.p.AccountID, ss.region, cs); err != nil {
				return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Temporary service failure"}
			}
		}
		if !ok {
			return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: fmt.Sprintf("Configuration Set does not exist: Configuration set <%s> does not exist.", cs)}
		}
	}
	if tags == nil {
		tags = map[string][]string{}
	}
	tags["ses:operation"] = []string{"SendSmtpEmail"}
	tags["ses:source-ip"] = []string{ss.remote}
	tags["ses:caller-identity"] = []string{ss.p.KeyID}
	if cs != "" {
		tags["ses:configuration-set"] = []string{cs}
	}
	id, err := ss.s.cfg.Submit.Send(ctx, submit.Request{AccountID: ss.p.AccountID, Region: ss.region, Source: ss.from, Destinations: ss.rcpts,
		Raw: raw, MaxSize: submit.MaxSizeV2, ConfigurationSet: cs, Tags: tags, Operation: "SendSmtpEmail"})
	if err != nil {
		return smtpErr(err, ss.region)
	}
	// go-smtp writes an *SMTPError's code as is: a 250 carrying the id.
	return &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0}, Message: "Ok " + id}
}

// smtpErr maps a refusal to SES's SMTP replies (reference §4).
func smtpErr(err error, region string) error {
	var se *submit.Error
	if !errors.As(err, &se) {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Temporary service failure"}
	}
	switch se.Code {
	case submit.CodeTooLarge:
		return &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4}, Message: "Message is too long."}
	case submit.CodeRateExceeded:
		return &smtp.SMTPError{Code: 454, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "Throttling failure: Maximum sending rate exceeded."}
	case submit.CodeDailyQuota:
		return &smtp.SMTPError{Code: 454, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "Throttling failure: Daily message quota exceeded."}
	case submit.CodeInvalid:
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "Message rejected: " + se.Msg}
	}
	return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Message rejected: " + se.Msg}
}

// Reset implements smtp.Session.
func (ss *session) Reset() { ss.from, ss.rcpts = "", nil }

// Logout implements smtp.Session.
func (ss *session) Logout() error { return nil }
