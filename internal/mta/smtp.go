package mta

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/sesame-email/sesame/internal/clock"
	"github.com/sesame-email/sesame/internal/store"
)

// MXResolver is the DNS delivery needs. Host names are resolved through
// it too, never through the system resolver behind net.Dialer.
type MXResolver interface {
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
}

// SMTPOptions configures delivery to other mail servers.
type SMTPOptions struct {
	Hostname string // EHLO name
	Resolver MXResolver
	// Dial connects; nil = a net.Dialer with a 30 s timeout. Tests map
	// hosts to loopback sinks here.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Port is the SMTP port of MX hosts; "" = 25.
	Port string
	// Transports pin domains to "host:port" ("*" for every domain).
	Transports map[string]string
	// Relay sends everything to this smart host, with AUTH PLAIN after
	// STARTTLS when RelayUser is set.
	Relay, RelayUser, RelayPassword string
	// MaxAge bounces a message still undelivered after it (default 14 h).
	MaxAge time.Duration
	// Timeout bounds each command (RFC 5321 §4.5.3.2 asks for minutes;
	// default 5 min) and the wait after the final dot (default 10 min).
	Timeout, DataTimeout time.Duration
	Clock                clock.Clock
	Logger               *slog.Logger
}

// SMTPTransport delivers to MX hosts, a relay, or pinned transports. After
// a transaction the session is kept (RSET) for the next message to the same
// address, so a burst to one destination costs one connection, not one per
// message.
type SMTPTransport struct {
	o    SMTPOptions
	mu   sync.Mutex
	idle map[string][]*session // by address, newest last
}

// Pool limits.
const (
	maxIdlePerAddr = 4
	idleTimeout    = 30 * time.Second
)

// session is an established SMTP session to one address.
type session struct {
	c    *smtp.Client
	conn net.Conn
	tls  bool
	used time.Time
}

func (s *session) close() {
	s.c.Close()
	s.conn.Close()
}

// freshSession is how recently a kept session must have been used to be
// reused without an RSET round trip first.
const freshSession = 2 * time.Second

// take returns an idle session to addr: one used in the last freshSession
// as is, an older one if it still answers RSET.
func (t *SMTPTransport) take(addr string) *session {
	for {
		t.mu.Lock()
		list := t.idle[addr]
		if len(list) == 0 {
			t.mu.Unlock()
			return nil
		}
		s := list[len(list)-1]
		t.idle[addr] = list[:len(list)-1]
		t.mu.Unlock()
		idle := time.Since(s.used)
		if idle < freshSession {
			// Just used: a completed transaction leaves the session ready
			// for MAIL (RFC 5321 §4.1.4), and a session that died meanwhile
			// fails at MAIL, which deliverTo answers by dialling again.
			return s
		}
		if idle < idleTimeout {
			s.conn.SetDeadline(time.Now().Add(t.o.Timeout))
			if s.c.Reset() == nil {
				return s
			}
		}
		s.close()
	}
}

// put keeps a healthy session for reuse.
func (t *SMTPTransport) put(addr string, s *session) {
	s.used = time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.idle[addr]) >= maxIdlePerAddr {
		s.c.Quit()
		s.close()
		return
	}
	t.idle[addr] = append(t.idle[addr], s)
}

// CloseIdle ends every idle session (QUIT).
func (t *SMTPTransport) CloseIdle() {
	t.mu.Lock()
	idle := t.idle
	t.idle = map[string][]*session{}
	t.mu.Unlock()
	for _, list := range idle {
		for _, s := range list {
			s.conn.SetDeadline(time.Now().Add(2 * time.Second))
			s.c.Quit()
			s.close()
		}
	}
}

// NewSMTPTransport returns a transport with defaults filled in.
func NewSMTPTransport(o SMTPOptions) *SMTPTransport {
	if o.Port == "" {
		o.Port = "25"
	}
	if o.MaxAge == 0 {
		o.MaxAge = 14 * time.Hour
	}
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Minute
	}
	if o.DataTimeout == 0 {
		o.DataTimeout = 10 * time.Minute
	}
	if o.Dial == nil {
		d := &net.Dialer{Timeout: 30 * time.Second}
		o.Dial = d.DialContext
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &SMTPTransport{o: o, idle: map[string][]*session{}}
}

// Destination names where mail for a domain goes: "*" for everything
// through the relay or a * pin, the pinned name, or the domain (its MX).
func (t *SMTPTransport) Destination(domain string) string {
	if t.o.Relay != "" || (t.o.Transports["*"] != "" && t.o.Transports[domain] == "") {
		return "*"
	}
	return domain
}

// Pinned reports whether a destination (as Destination names it) goes to
// the operator's own relay or pinned transport rather than to the
// recipient domain's MX hosts: per-destination rate limits, which protect
// the world's receivers, do not apply to it.
func (t *SMTPTransport) Pinned(dest string) bool {
	return dest == "*" || t.o.Transports[dest] != ""
}

// backoff is the wait before attempt n+1 after a temporary failure:
// 1, 5, 15, 30 minutes, then hourly up to 4 h, with ±20 % jitter so a
// destination's deferred mail does not come back all at once.
func backoff(attempts int) time.Duration {
	steps := []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour}
	d := steps[min(attempts, len(steps)-1)]
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// Deliver implements Transport: recipients are grouped by domain and each
// group is delivered in one transaction.
func (t *SMTPTransport) Deliver(ctx context.Context, msg store.Message, rcpts []store.Recipient) []Result {
	out := make([]Result, len(rcpts))
	now := t.o.Clock.Now()
	byDomain := map[string][]int{}
	var order []string
	for i, r := range rcpts {
		key := t.Destination(r.Domain) // one destination, one transaction
		if _, ok := byDomain[key]; !ok {
			order = append(order, key)
		}
		byDomain[key] = append(byDomain[key], i)
	}
	for _, d := range order {
		idx := byDomain[d]
		group := make([]store.Recipient, len(idx))
		for j, i := range idx {
			group[j] = rcpts[i]
		}
		var res []Result
		if now.Sub(msg.CreatedAt) >= t.o.MaxAge {
			res = all(group, store.RcptExpired, fmt.Sprintf("5.4.7 delivery time expired: undelivered after %s", t.o.MaxAge))
		} else {
			res = t.deliverDomain(ctx, msg, d, group)
		}
		for j, i := range idx {
			out[i] = res[j]
			if out[i].State == store.RcptDeferred {
				out[i].Retry = now.Add(backoff(rcpts[i].Attempts))
			}
		}
	}
	return out
}

func all(rcpts []store.Recipient, st store.RecipientState, resp string) []Result {
	out := make([]Result, len(rcpts))
	for i, r := range rcpts {
		out[i] = Result{Address: r.Address, State: st, Response: resp}
	}
	return out
}

// routes returns the hosts to try for a domain, in order (RFC 5321 §5.1),
// or final results when the domain cannot receive mail.
func (t *SMTPTransport) routes(ctx context.Context, domain string, group []store.Recipient) ([]string, []Result) {
	if t.o.Relay != "" {
		return []string{t.o.Relay}, nil
	}
	if hp, ok := t.o.Transports[domain]; ok {
		return []string{hp}, nil
	}
	if hp, ok := t.o.Transports["*"]; ok {
		return []string{hp}, nil
	}
	mxs, err := t.o.Resolver.LookupMX(ctx, domain)
	var de *net.DNSError
	switch {
	case err != nil && errors.As(err, &de) && de.IsNotFound:
		// No MX: the domain itself is the implicit MX (RFC 5321 §5.1).
		return []string{net.JoinHostPort(domain, t.o.Port)}, nil
	case err != nil:
		return nil, all(group, store.RcptDeferred, "4.4.3 DNS lookup for "+domain+" failed: "+err.Error())
	}
	if len(mxs) == 1 && (mxs[0].Host == "." || mxs[0].Host == "") {
		return nil, all(group, store.RcptBounced, "5.1.10 "+domain+" does not accept mail (null MX, RFC 7505)")
	}
	// Preference order; equal preferences in random order (RFC 5321 §5.1).
	rand.Shuffle(len(mxs), func(i, j int) { mxs[i], mxs[j] = mxs[j], mxs[i] })
	sortByPref(mxs)
	var hosts []string
	for _, mx := range mxs {
		hosts = append(hosts, net.JoinHostPort(strings.TrimSuffix(mx.Host, "."), t.o.Port))
	}
	return hosts, nil
}

func sortByPref(mxs []*net.MX) {
	for i := 1; i < len(mxs); i++ {
		for j := i; j > 0 && mxs[j].Pref < mxs[j-1].Pref; j-- {
			mxs[j], mxs[j-1] = mxs[j-1], mxs[j]
		}
	}
}

func (t *SMTPTransport) deliverDomain(ctx context.Context, msg store.Message, domain string, group []store.Recipient) []Result {
	hosts, final := t.routes(ctx, domain, group)
	if final != nil {
		return final
	}
	var lastErr error
	for _, h := range hosts {
		host, port, err := net.SplitHostPort(h)
		if err != nil {
			lastErr = err
			continue
		}
		addrs := []string{host}
		if net.ParseIP(host) == nil {
			ips, err := t.o.Resolver.LookupIPAddr(ctx, host)
			if err != nil {
				lastErr = fmt.Errorf("%s: %w", host, err)
				continue
			}
			addrs = addrs[:0]
			for _, ip := range ips {
				addrs = append(addrs, ip.IP.String())
			}
		}
		for _, ip := range addrs {
			res, err := t.deliverTo(ctx, host, net.JoinHostPort(ip, port), msg, group)
			if err == nil {
				return res
			}
			lastErr = err
			t.o.Logger.Info("delivery attempt failed", "message", msg.ID, "host", host, "addr", ip, "err", err)
		}
	}
	if lastErr == nil {
		lastErr = errors.New("no address")
	}
	return all(group, store.RcptDeferred, "4.4.1 no MX host answered: "+lastErr.Error())
}

// greetedConn replays a greeting to go-smtp's client after sesame did the
// first EHLO and STARTTLS itself: go-smtp v0.25 can only STARTTLS right
// after connecting, under an EHLO it names "localhost". go-smtp then sends
// EHLO again over TLS, as RFC 3207 §4.2 requires.
type greetedConn struct {
	net.Conn
	pre *bytes.Reader
}

func (c *greetedConn) Read(p []byte) (int, error) {
	if c.pre.Len() > 0 {
		return c.pre.Read(p)
	}
	return c.Conn.Read(p)
}

// replyCode reads one (possibly multi-line) SMTP reply.
func replyCode(br *bufio.Reader) (int, string, error) {
	var text []string
	for range 100 {
		line, err := br.ReadString('\n')
		if err != nil {
			return 0, "", err
		}
		if len(line) > 4096 {
			return 0, "", errors.New("reply line too long")
		}
		if len(line) < 4 {
			return 0, "", fmt.Errorf("malformed reply %q", line)
		}
		var code int
		if _, err := fmt.Sscanf(line[:3], "%d", &code); err != nil {
			return 0, "", fmt.Errorf("malformed reply %q", line)
		}
		text = append(text, strings.TrimRight(line[4:], "\r\n"))
		if line[3] == ' ' {
			return code, strings.Join(text, "\n"), nil
		}
	}
	return 0, "", errors.New("reply has too many lines")
}

// dial opens a new session: greeting and EHLO by hand (to learn whether
// STARTTLS is offered), STARTTLS when it is, then go-smtp's client.
func (t *SMTPTransport) dial(ctx context.Context, host, addr string) (*session, error) {
	conn, err := t.o.Dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			conn.Close()
		}
	}()
	conn.SetDeadline(time.Now().Add(t.o.Timeout))
	br := bufio.NewReaderSize(io.LimitReader(conn, 1<<20), 4096)
	code, text, err := replyCode(br)
	if err != nil {
		return nil, fmt.Errorf("greeting: %w", err)
	}
	if code != 220 {
		return nil, fmt.Errorf("greeting %d %s", code, text)
	}
	fmt.Fprintf(conn, "EHLO %s\r\n", t.o.Hostname)
	code, text, err = replyCode(br)
	if err != nil || code != 250 {
		return nil, fmt.Errorf("EHLO: %d %s %v", code, text, err)
	}
	s := &session{conn: conn}
	greeting := bytes.NewReader([]byte("220 " + host + " ready\r\n"))
	if hasExtension(text, "STARTTLS") {
		fmt.Fprintf(conn, "STARTTLS\r\n")
		if code, _, err = replyCode(br); err == nil && code == 220 {
			if br.Buffered() > 0 {
				// Plain-text bytes after 220 would be read as if sent over
				// TLS: the STARTTLS command-injection attack.
				return nil, errors.New("server sent data after STARTTLS 220")
			}
			// Opportunistic: certificates are not verified by default
			// (RFC 7435); the outcome is recorded in the response.
			tc := tls.Client(conn, &tls.Config{ServerName: host, InsecureSkipVerify: true, MinVersion: tls.VersionTLS12})
			if err := tc.HandshakeContext(ctx); err != nil {
				return nil, fmt.Errorf("STARTTLS: %w", err)
			}
			s.conn, s.tls = tc, true
		}
	}
	if !s.tls && br.Buffered() > 0 {
		return nil, errors.New("server sent data out of turn")
	}
	s.c = smtp.NewClient(&greetedConn{Conn: s.conn, pre: greeting})
	s.c.CommandTimeout, s.c.SubmissionTimeout = t.o.Timeout, t.o.DataTimeout
	if err := s.c.Hello(t.o.Hostname); err != nil {
		return nil, err
	}
	if t.o.Relay != "" && t.o.RelayUser != "" {
		if !s.tls {
			return nil, errors.New("relay offers no STARTTLS; refusing to send credentials in clear")
		}
		if err := s.c.Auth(sasl.NewPlainClient("", t.o.RelayUser, t.o.RelayPassword)); err != nil {
			return nil, fmt.Errorf("relay AUTH: %w", err)
		}
	}
	ok = true
	return s, nil
}

// deliverTo runs one SMTP transaction with an address, on a kept session
// when there is one. A non-nil error means the host could not be used
// (try the next); SMTP answers become Results.
func (t *SMTPTransport) deliverTo(ctx context.Context, host, addr string, msg store.Message, group []store.Recipient) ([]Result, error) {
	if s := t.take(addr); s != nil {
		res, healthy, err := t.transaction(s, msg, group)
		if healthy {
			t.put(addr, s)
			return withRemote(res, addr), err
		}
		s.close()
		if err == nil {
			return withRemote(res, addr), nil
		}
		// The kept session died under us: dial afresh below.
	}
	s, err := t.dial(ctx, host, addr)
	if err != nil {
		return nil, err
	}
	res, healthy, err := t.transaction(s, msg, group)
	if healthy {
		t.put(addr, s)
	} else {
		s.close()
	}
	return withRemote(res, addr), err
}

// withRemote records which address answered.
func withRemote(res []Result, addr string) []Result {
	ip, _, _ := net.SplitHostPort(addr)
	for i := range res {
		res[i].RemoteIP = ip
	}
	return res
}

// transaction sends one message; healthy reports whether the session can
// carry another.
func (t *SMTPTransport) transaction(s *session, msg store.Message, group []store.Recipient) ([]Result, bool, error) {
	s.conn.SetDeadline(time.Now().Add(t.o.Timeout + t.o.DataTimeout))
	client := s.c
	tlsNote := ""
	if s.tls {
		tlsNote = " (TLS)"
	}
	// RFC 6152: 8-bit data only to a server that announced 8BITMIME (go-smtp
	// then says BODY=8BITMIME). The message is signed, so converting it to
	// 7 bits here would break its DKIM signature: it fails cleanly instead.
	if has8bit(msg.Data) {
		if ok, _ := client.Extension("8BITMIME"); !ok {
			return all(group, store.RcptBounced, "554 5.6.3 the receiving server does not accept 8-bit data (no 8BITMIME) and the signed message cannot be converted"), true, nil
		}
	}
	// RFC 6531: non-ASCII addresses need SMTPUTF8.
	utf8OK, _ := client.Extension("SMTPUTF8")
	needUTF8 := !isASCII(msg.MailFrom)
	for _, r := range group {
		needUTF8 = needUTF8 || !isASCII(r.Address)
	}
	if needUTF8 && !utf8OK && !isASCII(msg.MailFrom) {
		return all(group, store.RcptBounced, "553 5.6.7 the receiving server does not support SMTPUTF8, needed for the sender address"), true, nil
	}
	if err := client.Mail(msg.MailFrom, &smtp.MailOptions{Size: int64(len(msg.Data)), UTF8: needUTF8 && utf8OK}); err != nil {
		if !isSMTPError(err) {
			return nil, false, fmt.Errorf("MAIL: %w", err) // the session is gone: try afresh
		}
		return smtpFailure(group, err, tlsNote), true, nil
	}
	out := make([]Result, len(group))
	var accepted []int
	for i, r := range group {
		if !isASCII(r.Address) && !utf8OK {
			out[i] = Result{Address: r.Address, State: store.RcptBounced, Response: "553 5.6.7 the receiving server does not support SMTPUTF8, needed for this address"}
			continue
		}
		if err := client.Rcpt(r.Address, nil); err != nil {
			if !isSMTPError(err) {
				return nil, false, fmt.Errorf("RCPT: %w", err)
			}
			out[i] = smtpFailure([]store.Recipient{r}, err, tlsNote)[0]
			continue
		}
		accepted = append(accepted, i)
	}
	if len(accepted) == 0 {
		return out, true, nil
	}
	w, err := client.Data()
	if err != nil {
		return fill(out, accepted, smtpFailure(group, err, tlsNote)[0]), isSMTPError(err), nil
	}
	if _, err := w.Write(msg.Data); err != nil {
		return nil, false, fmt.Errorf("DATA: %w", err)
	}
	resp, err := w.CloseWithResponse()
	if err != nil {
		if isSMTPError(err) {
			return fill(out, accepted, smtpFailure(group, err, tlsNote)[0]), true, nil
		}
		// The connection broke after the data: the receiver may or may
		// not have the message; retry (a duplicate beats a loss).
		return fill(out, accepted, Result{State: store.RcptDeferred, Response: "4.4.2 connection lost after DATA: " + err.Error()}), false, nil
	}
	return fill(out, accepted, Result{State: store.RcptDelivered, Response: "250 " + resp.StatusText + tlsNote}), true, nil
}

func isSMTPError(err error) bool {
	var se *smtp.SMTPError
	return errors.As(err, &se)
}

func fill(out []Result, idx []int, r Result) []Result {
	for _, i := range idx {
		out[i] = Result{Address: out[i].Address, State: r.State, Response: r.Response}
	}
	return out
}

func hasExtension(ehlo, ext string) bool {
	for _, l := range strings.Split(ehlo, "\n") {
		if f := strings.Fields(l); len(f) > 0 && strings.EqualFold(f[0], ext) {
			return true
		}
	}
	return false
}

// smtpFailure turns an SMTP error into results: 5xx bounces, everything
// else defers.
func smtpFailure(group []store.Recipient, err error, note string) []Result {
	st, resp := store.RcptDeferred, err.Error()
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		resp = fmt.Sprintf("%d %d.%d.%d %s%s", se.Code, se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2], se.Message, note)
		switch {
		case se.Code >= 500:
			st = store.RcptBounced
		case se.Code < 400:
			// A positive reply where another was due: the receiver does not
			// speak SMTP properly; try again later.
			resp = fmt.Sprintf("4.5.0 protocol error: unexpected reply %d %s%s", se.Code, se.Message, note)
		}
	}
	out := all(group, st, resp)
	return out
}

func has8bit(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return true
		}
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
