// Package smtptest runs SMTP servers on loopback that record what arrives
// and misbehave on request, standing in for the world's MX hosts and for
// smart hosts in tests. Only tests import it.
package smtptest

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one message a Sink accepted.
type Message struct {
	From string
	To   []string
	Data []byte
	TLS  bool
}

// Sink is an SMTP server on 127.0.0.1. Set the behaviour fields before
// mail arrives (they are read under the sink's lock).
type Sink struct {
	Addr string

	mu       sync.Mutex
	msgs     []Message
	authUser string
	conns    int
	active   int
	peak     int

	// RcptErr refuses recipients.
	RcptErr map[string]*smtp.SMTPError
	// DataErrs are returned by successive DATA commands (nil = accept).
	DataErrs []*smtp.SMTPError
	// NeedAuth requires AUTH PLAIN with password "secret" before MAIL.
	NeedAuth bool
	// Delay holds each DATA this long (to observe concurrency).
	Delay time.Duration
}

type discard struct{}

func (discard) Printf(string, ...any) {}
func (discard) Println(...any)        {}

// Start runs a sink (with STARTTLS when tlsCfg is set) until the test ends.
func Start(t testing.TB, tlsCfg *tls.Config) *Sink {
	t.Helper()
	s := &Sink{RcptErr: map[string]*smtp.SMTPError{}}
	srv := smtp.NewServer(s)
	srv.Domain = "sink.test"
	srv.TLSConfig = tlsCfg
	srv.ErrorLog = discard{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

// Messages returns what arrived so far.
func (s *Sink) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// AuthUser is the last user that authenticated.
func (s *Sink) AuthUser() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.authUser
}

// Connections counts sessions, and PeakConcurrent the most at once.
func (s *Sink) Connections() (total, peakConcurrent int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns, s.peak
}

// NewSession implements smtp.Backend.
func (s *Sink) NewSession(c *smtp.Conn) (smtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	s.mu.Lock()
	s.conns++
	s.active++
	s.peak = max(s.peak, s.active)
	s.mu.Unlock()
	return &session{s: s, tls: isTLS}, nil
}

type session struct {
	s      *Sink
	tls    bool
	authed bool
	from   string
	to     []string
}

func (ss *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (ss *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if pass != "secret" {
			return errors.New("bad password")
		}
		ss.s.mu.Lock()
		ss.s.authUser = user
		ss.s.mu.Unlock()
		ss.authed = true
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.s.mu.Lock()
	need := ss.s.NeedAuth
	ss.s.mu.Unlock()
	if need && !ss.authed {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	ss.from, ss.to = from, nil
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	e := ss.s.RcptErr[to]
	ss.s.mu.Unlock()
	if e != nil {
		return e
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	delay := ss.s.Delay
	var e *smtp.SMTPError
	if len(ss.s.DataErrs) > 0 {
		e, ss.s.DataErrs = ss.s.DataErrs[0], ss.s.DataErrs[1:]
	}
	ss.s.mu.Unlock()
	time.Sleep(delay)
	if e != nil {
		return e
	}
	ss.s.mu.Lock()
	ss.s.msgs = append(ss.s.msgs, Message{From: ss.from, To: ss.to, Data: b, TLS: ss.tls})
	ss.s.mu.Unlock()
	return nil
}

func (ss *session) Reset() { ss.from, ss.to = "", nil }

func (ss *session) Logout() error {
	ss.s.mu.Lock()
	ss.s.active--
	ss.s.mu.Unlock()
	return nil
}

// Line formats a message for assertions: "from>to1,to2".
func (m Message) Line() string { return m.From + ">" + strings.Join(m.To, ",") }
