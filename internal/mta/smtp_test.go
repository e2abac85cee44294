package mta

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/sesame-email/sesame/internal/certs"
	"github.com/sesame-email/sesame/internal/clock"
	"github.com/sesame-email/sesame/internal/dnstest"
	"github.com/sesame-email/sesame/internal/dnsx"
	"github.com/sesame-email/sesame/internal/smtptest"
	"github.com/sesame-email/sesame/internal/store"
)

type fixture struct {
	z   *dnstest.Server
	clk *clock.Fake
	t   *SMTPTransport
	// hosts maps "name:25" to a sink address (the Dial seam).
	hosts map[string]string
}

func newFixture(t *testing.T, mutate func(*SMTPOptions)) *fixture {
	f := &fixture{z: dnstest.Start(t), clk: clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), hosts: map[string]string{}}
	r, _ := dnsx.New(dnsx.Options{Servers: []string{f.z.Addr()}, Timeout: time.Second, Attempts: 1})
	o := SMTPOptions{Hostname: "out.sesame.test", Resolver: r, Clock: f.clk, Timeout: 2 * time.Second, DataTimeout: 2 * time.Second,
		Logger: slog.New(slog.DiscardHandler),
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if to, ok := f.hosts[addr]; ok {
				addr = to
			}
			if !strings.HasPrefix(addr, "127.") {
				return nil, errors.New("test dialer: refusing non-loopback " + addr)
			}
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}}
	if mutate != nil {
		mutate(&o)
	}
	f.t = NewSMTPTransport(o)
	return f
}

func message(created time.Time, rcpts ...string) (store.Message, []store.Recipient) {
	m := store.Message{ID: "m1", MailFrom: "m1@us-east-1.sesame.localhost", CreatedAt: created,
		Data: []byte("From: a@example.com\r\nTo: x\r\nSubject: hi\r\n\r\nbody\r\n")}
	var rs []store.Recipient
	for _, r := range rcpts {
		rs = append(rs, store.Recipient{MessageID: "m1", Address: r, Domain: r[strings.LastIndexByte(r, '@')+1:], State: store.RcptQueued})
	}
	return m, rs
}

func TestMXPreferenceAndFallback(t *testing.T) {
	f := newFixture(t, nil)
	good := smtptest.Start(t, nil)
	f.z.Add("dest.example. 300 IN MX 10 mx1.dest.example.", "dest.example. 300 IN MX 20 mx2.dest.example.",
		"mx1.dest.example. 300 IN A 127.0.0.1", "mx2.dest.example. 300 IN A 127.0.0.2")
	// mx1 (preferred) refuses connections; mx2 is the sink.
	f.hosts["127.0.0.1:25"] = "127.0.0.1:1"
	f.hosts["127.0.0.2:25"] = good.Addr
	m, rs := message(f.clk.Now(), "ann@dest.example", "bob@dest.example")
	res := f.t.Deliver(context.Background(), m, rs)
	for _, r := range res {
		if r.State != store.RcptDelivered || !strings.HasPrefix(r.Response, "250 ") {
			t.Fatalf("result %+v", r)
		}
	}
	got := good.Messages()
	if len(got) != 1 || got[0].Line() != "m1@us-east-1.sesame.localhost>ann@dest.example,bob@dest.example" {
		t.Fatalf("sink got %+v (both recipients belong in one transaction)", got)
	}
}

func TestNullMXAndAFallbackAndTransportPin(t *testing.T) {
	f := newFixture(t, nil)
	s := smtptest.Start(t, nil)
	f.z.Add("nomail.example. 300 IN MX 0 .", "plain.example. 300 IN A 127.0.0.3")
	f.hosts["127.0.0.3:25"] = s.Addr
	m, rs := message(f.clk.Now(), "x@nomail.example", "y@plain.example")
	res := f.t.Deliver(context.Background(), m, rs)
	if res[0].State != store.RcptBounced || !strings.Contains(res[0].Response, "5.1.10") {
		t.Errorf("null MX: %+v", res[0])
	}
	if res[1].State != store.RcptDelivered {
		t.Errorf("A fallback: %+v", res[1])
	}
	pinned := smtptest.Start(t, nil)
	f2 := newFixture(t, func(o *SMTPOptions) { o.Transports = map[string]string{"pin.example": pinned.Addr} })
	m, rs = message(f2.clk.Now(), "z@pin.example")
	if res := f2.t.Deliver(context.Background(), m, rs); res[0].State != store.RcptDelivered || len(pinned.Messages()) != 1 {
		t.Errorf("transport pin: %+v", res[0])
	}
}

func TestTemporaryThenPermanentAndExpiry(t *testing.T) {
	f := newFixture(t, func(o *SMTPOptions) { o.MaxAge = 14 * time.Hour })
	s := smtptest.Start(t, nil)
	f.z.Add("t.example. 300 IN A 127.0.0.4")
	f.hosts["127.0.0.4:25"] = s.Addr
	s.DataErrs = []*smtp.SMTPError{{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "greylisted"}, nil}
	s.RcptErr["gone@t.example"] = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	m, rs := message(f.clk.Now(), "ok@t.example", "gone@t.example")
	res := f.t.Deliver(context.Background(), m, rs)
	if res[0].State != store.RcptDeferred || !strings.Contains(res[0].Response, "451 4.7.1 greylisted") || !res[0].Retry.After(f.clk.Now()) {
		t.Errorf("4xx: %+v", res[0])
	}
	if res[1].State != store.RcptBounced || res[1].Response != "550 5.1.1 no such user" {
		t.Errorf("5xx: %+v", res[1])
	}
	f.clk.Advance(5 * time.Minute)
	res = f.t.Deliver(context.Background(), m, rs[:1])
	if res[0].State != store.RcptDelivered {
		t.Errorf("retry: %+v", res[0])
	}
	f.clk.Advance(14 * time.Hour)
	res = f.t.Deliver(context.Background(), m, rs[:1])
	if res[0].State != store.RcptExpired || !strings.Contains(res[0].Response, "5.4.7") {
		t.Errorf("expiry: %+v", res[0])
	}
}

func TestSTARTTLSAndRelayAuth(t *testing.T) {
	dir := t.TempDir()
	tlsCfg, err := certs.Load("", "", dir, []string{"sink.test"})
	if err != nil {
		t.Fatal(err)
	}
	s := smtptest.Start(t, tlsCfg)
	f := newFixture(t, nil)
	f.z.Add("tls.example. 300 IN A 127.0.0.5")
	f.hosts["127.0.0.5:25"] = s.Addr
	m, rs := message(f.clk.Now(), "a@tls.example")
	res := f.t.Deliver(context.Background(), m, rs)
	if res[0].State != store.RcptDelivered || !strings.HasSuffix(res[0].Response, "(TLS)") || !s.Messages()[0].TLS {
		t.Fatalf("STARTTLS: %+v (sink saw %+v)", res[0], s.Messages())
	}
	relay := smtptest.Start(t, tlsCfg)
	relay.NeedAuth = true
	f2 := newFixture(t, func(o *SMTPOptions) { o.Relay, o.RelayUser, o.RelayPassword = relay.Addr, "relayuser", "secret" })
	m, rs = message(f2.clk.Now(), "a@anywhere.example", "b@elsewhere.example")
	for _, r := range f2.t.Deliver(context.Background(), m, rs) {
		if r.State != store.RcptDelivered {
			t.Fatalf("relay: %+v", r)
		}
	}
	if relay.AuthUser() != "relayuser" || len(relay.Messages()) != 1 || len(relay.Messages()[0].To) != 2 {
		t.Errorf("relay saw user %q, messages %+v", relay.AuthUser(), relay.Messages())
	}
	// The signed bytes reach the relay unchanged.
	if string(relay.Messages()[0].Data) != string(m.Data) {
		t.Errorf("relay altered the message")
	}
	// Credentials never go out without TLS.
	plainRelay := smtptest.Start(t, nil)
	f3 := newFixture(t, func(o *SMTPOptions) { o.Relay, o.RelayUser, o.RelayPassword = plainRelay.Addr, "u", "secret" })
	if res := f3.t.Deliver(context.Background(), m, rs[:1]); res[0].State != store.RcptDeferred || !strings.Contains(res[0].Response, "STARTTLS") {
		t.Errorf("relay without TLS: %+v", res[0])
	}
}

func TestHostileReceivers(t *testing.T) {
	raw := func(t *testing.T, handle func(c net.Conn)) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() { defer c.Close(); handle(c) }()
			}
		}()
		return ln.Addr().String()
	}
	cases := []struct {
		name   string
		handle func(c net.Conn)
		want   string
	}{
		{"garbage greeting", func(c net.Conn) { c.Write([]byte("hello? I am not SMTP\r\n")) }, "malformed"},
		{"10 MB greeting", func(c net.Conn) {
			line := strings.Repeat("A", 1<<20)
			for range 10 {
				if _, err := c.Write([]byte("220-" + line)); err != nil {
					return
				}
			}
		}, "4.4.1"},
		{"drops mid-transfer", func(c net.Conn) { converse(c, false) }, "4."},
		{"hangs after DATA", func(c net.Conn) { converse(c, true) }, "4."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr := raw(t, tc.handle)
			f := newFixture(t, func(o *SMTPOptions) {
				o.Transports = map[string]string{"*": addr}
				o.Timeout, o.DataTimeout = time.Second, time.Second
			})
			m, rs := message(f.clk.Now(), "a@h.example")
			start := time.Now()
			res := f.t.Deliver(context.Background(), m, rs)
			if res[0].State != store.RcptDeferred || !strings.Contains(res[0].Response, tc.want) {
				t.Errorf("%+v", res[0])
			}
			if time.Since(start) > 6*time.Second {
				t.Errorf("took %v: a stuck worker", time.Since(start))
			}
		})
	}
}

// converse plays a receiver that accepts everything up to the message
// data, then hangs up (or, with hang, goes silent).
func converse(c net.Conn, hang bool) {
	br := bufio.NewReader(c)
	c.Write([]byte("220 x ESMTP\r\n"))
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		switch cmd := strings.ToUpper(strings.TrimSpace(line)); {
		case strings.HasPrefix(cmd, "EHLO"):
			c.Write([]byte("250 x\r\n"))
		case cmd == "DATA":
			c.Write([]byte("354 go ahead\r\n"))
			br.ReadString('\n') // the first line of the message
			if hang {
				time.Sleep(10 * time.Second)
			}
			return
		default:
			c.Write([]byte("250 ok\r\n"))
		}
	}
}

// TestConnectionReuse: ten messages to one destination, one after another,
// share one SMTP session; a session the receiver dropped is replaced.
func TestConnectionReuse(t *testing.T) {
	s := smtptest.Start(t, nil)
	f := newFixture(t, func(o *SMTPOptions) { o.Transports = map[string]string{"reuse.example": s.Addr} })
	for i := range 10 {
		m, rs := message(f.clk.Now(), fmt.Sprintf("u%d@reuse.example", i))
		m.ID = fmt.Sprintf("m%d", i)
		if res := f.t.Deliver(context.Background(), m, rs); res[0].State != store.RcptDelivered {
			t.Fatalf("message %d: %+v", i, res[0])
		}
	}
	if total, _ := s.Connections(); total != 1 {
		t.Errorf("10 messages used %d connections, want 1", total)
	}
	if got := len(s.Messages()); got != 10 {
		t.Errorf("sink got %d messages", got)
	}
	f.t.CloseIdle()
	m, rs := message(f.clk.Now(), "again@reuse.example")
	if res := f.t.Deliver(context.Background(), m, rs); res[0].State != store.RcptDelivered {
		t.Fatalf("after CloseIdle: %+v", res[0])
	}
	if total, _ := s.Connections(); total != 2 {
		t.Errorf("connections after CloseIdle = %d, want 2", total)
	}
}

// TestEightBitAndSMTPUTF8: a receiver that announces neither 8BITMIME nor
// SMTPUTF8 gets 7-bit ASCII mail; 8-bit data and non-ASCII recipients fail
// cleanly (RFC 6152, RFC 6531) instead of being sent to it or retried.
func TestEightBitAndSMTPUTF8(t *testing.T) {
	var mu sync.Mutex
	var got []string // MAIL and RCPT lines the receiver saw
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				c.Write([]byte("220 plain ESMTP\r\n"))
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					cmd := strings.ToUpper(strings.TrimSpace(line))
					switch {
					case strings.HasPrefix(cmd, "EHLO"):
						c.Write([]byte("250-plain\r\n250 SIZE 1000000\r\n"))
					case strings.HasPrefix(cmd, "MAIL"), strings.HasPrefix(cmd, "RCPT"):
						mu.Lock()
						got = append(got, strings.TrimSpace(line))
						mu.Unlock()
						c.Write([]byte("250 ok\r\n"))
					case cmd == "DATA":
						c.Write([]byte("354 go ahead\r\n"))
						for {
							l, err := br.ReadString('\n')
							if err != nil || l == ".\r\n" {
								break
							}
						}
						c.Write([]byte("250 2.0.0 queued\r\n"))
					case cmd == "QUIT":
						c.Write([]byte("221 bye\r\n"))
						return
					default:
						c.Write([]byte("250 ok\r\n"))
					}
				}
			}()
		}
	}()
	f := newFixture(t, func(o *SMTPOptions) { o.Transports = map[string]string{"*": ln.Addr().String()} })

	m, rs := message(f.clk.Now(), "a@plain.example", "δοκιμή@plain.example")
	res := f.t.Deliver(context.Background(), m, rs)
	if res[0].State != store.RcptDelivered || res[1].State != store.RcptBounced || !strings.HasPrefix(res[1].Response, "553 5.6.7") {
		t.Errorf("ASCII message: %+v", res)
	}
	m.Data = []byte("From: a@example.com\r\nSubject: caf\xc3\xa9\r\nContent-Transfer-Encoding: 8bit\r\n\r\ncaf\xc3\xa9\r\n")
	res = f.t.Deliver(context.Background(), m, rs[:1])
	if res[0].State != store.RcptBounced || !strings.HasPrefix(res[0].Response, "554 5.6.3") {
		t.Errorf("8-bit message: %+v", res)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, l := range got {
		if strings.Contains(l, "BODY=8BITMIME") || strings.Contains(l, "SMTPUTF8") || strings.Contains(l, "δ") {
			t.Errorf("the receiver was sent %q", l)
		}
	}
	if len(got) != 2 { // one MAIL, one RCPT: the 8-bit message never started a transaction
		t.Errorf("receiver saw %q", got)
	}
}

// TestReuseOfDroppedSession: a receiver that hangs up after each message;
// the kept session is dead at the next MAIL, and the message goes over a
// new connection instead of being deferred.
func TestReuseOfDroppedSession(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var mu sync.Mutex
	conns, msgs := 0, 0
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns++
			mu.Unlock()
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				c.Write([]byte("220 x ESMTP\r\n"))
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					switch cmd := strings.ToUpper(strings.TrimSpace(line)); {
					case strings.HasPrefix(cmd, "EHLO"):
						c.Write([]byte("250-x\r\n250 8BITMIME\r\n"))
					case cmd == "DATA":
						c.Write([]byte("354 go ahead\r\n"))
						for {
							l, err := br.ReadString('\n')
							if err != nil || l == ".\r\n" {
								break
							}
						}
						mu.Lock()
						msgs++
						mu.Unlock()
						c.Write([]byte("250 2.0.0 queued\r\n"))
						return // hang up without QUIT
					default:
						c.Write([]byte("250 ok\r\n"))
					}
				}
			}()
		}
	}()
	f := newFixture(t, func(o *SMTPOptions) { o.Transports = map[string]string{"*": ln.Addr().String()} })
	for i := range 3 {
		m, rs := message(f.clk.Now(), fmt.Sprintf("u%d@drop.example", i))
		if res := f.t.Deliver(context.Background(), m, rs); res[0].State != store.RcptDelivered {
			t.Fatalf("message %d: %+v", i, res[0])
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if msgs != 3 || conns != 3 {
		t.Errorf("%d messages over %d connections, want 3 and 3", msgs, conns)
	}
}

// BenchmarkSMTPDelivery measures one delivery transaction (MAIL, RCPT,
// DATA of a 4 KB message) over a kept session to a loopback sink.
//
//	go test -run XXX -bench SMTPDelivery ./internal/mta/
func BenchmarkSMTPDelivery(b *testing.B) {
	s := smtptest.Start(b, nil)
	z := dnstest.Start(b)
	r, _ := dnsx.New(dnsx.Options{Servers: []string{z.Addr()}})
	tr := NewSMTPTransport(SMTPOptions{Hostname: "out.test", Resolver: r, Clock: clock.System{}, Transports: map[string]string{"*": s.Addr},
		Timeout: 5 * time.Second, Logger: slog.New(slog.DiscardHandler)})
	m, rs := message(time.Now(), "u@bench.example")
	m.Data = []byte("From: a@example.com\r\nSubject: bench\r\n\r\n" + strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\r\n", 64))
	b.SetBytes(int64(len(m.Data)))
	b.ResetTimer()
	for range b.N {
		if res := tr.Deliver(context.Background(), m, rs); res[0].State != store.RcptDelivered {
			b.Fatalf("%+v", res[0])
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
