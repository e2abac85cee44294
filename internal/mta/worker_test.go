package mta

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sesame-email/sesame/internal/clock"
	"github.com/sesame-email/sesame/internal/dnstest"
	"github.com/sesame-email/sesame/internal/dnsx"
	"github.com/sesame-email/sesame/internal/smtptest"
	"github.com/sesame-email/sesame/internal/store"
	"github.com/sesame-email/sesame/internal/store/sqlite"
)

// TestWorkerLimitsPerDestination: a slow destination never sees more than
// PerDestination connections at once, every message arrives exactly once,
// and mail for another destination is not held up behind it.
func TestWorkerLimitsPerDestination(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "q.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	slow, fast := smtptest.Start(t, nil), smtptest.Start(t, nil)
	slow.Delay = 150 * time.Millisecond
	z := dnstest.Start(t)
	r, _ := dnsx.New(dnsx.Options{Servers: []string{z.Addr()}})
	tr := NewSMTPTransport(SMTPOptions{Hostname: "out.test", Resolver: r, Clock: clock.System{},
		Transports: map[string]string{"busy.example": slow.Addr, "other.example": fast.Addr}, Timeout: 5 * time.Second})
	now := time.Now()
	var msgs []store.Message
	var rcpts [][]store.Recipient
	add := func(i int, domain string) {
		id := fmt.Sprintf("m%02d", i)
		msgs = append(msgs, store.Message{ID: id, AccountID: "a", Region: "us-east-1", MailFrom: id + "@r.test", CreatedAt: now, Data: []byte("Subject: x\r\n\r\nbody\r\n")})
		rcpts = append(rcpts, []store.Recipient{{MessageID: id, Address: "u@" + domain, Domain: domain, State: store.RcptQueued, NextAttempt: now, UpdatedAt: now}})
	}
	for i := range 12 {
		add(i, "busy.example")
	}
	for i := 12; i < 15; i++ {
		add(i, "other.example")
	}
	if err := st.Enqueue(ctx, msgs, rcpts); err != nil {
		t.Fatal(err)
	}
	w := NewWorker(st, tr, clock.System{}, slog.New(slog.DiscardHandler), nil, WorkerOptions{Concurrency: 10, PerDestination: 3})
	w.interval = 50 * time.Millisecond
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { w.Run(runCtx); close(done) }()
	deadline := time.Now().Add(20 * time.Second)
	busyWhenFastDone := -1
	for len(slow.Messages()) < 12 || len(fast.Messages()) < 3 {
		if busyWhenFastDone < 0 && len(fast.Messages()) == 3 {
			busyWhenFastDone = len(slow.Messages())
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivered %d slow, %d fast", len(slow.Messages()), len(fast.Messages()))
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if _, peak := slow.Connections(); peak > 3 || peak < 2 {
		t.Errorf("peak concurrent connections to the slow destination: %d (limit 3)", peak)
	}
	if busyWhenFastDone < 0 || busyWhenFastDone >= 12 {
		t.Errorf("the fast destination waited for the slow one (slow had %d of 12 when fast finished)", busyWhenFastDone)
	}
	if n := len(slow.Messages()); n != 12 {
		t.Errorf("slow destination got %d messages, want exactly 12", n)
	}
	for _, m := range msgs {
		rs, _ := st.Recipients(ctx, m.ID)
		if rs[0].State != store.RcptDelivered || rs[0].Attempts != 1 {
			t.Errorf("%s: %+v", m.ID, rs[0])
		}
	}
}

// runWorker enqueues n messages per domain and runs a worker until cond.
func runWorker(t *testing.T, tr Transport, o WorkerOptions, domains map[string]int, cond func(st *sqlite.Store) bool) *sqlite.Store {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "q.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Now()
	var msgs []store.Message
	var rcpts [][]store.Recipient
	i := 0
	for domain, n := range domains {
		for range n {
			id := fmt.Sprintf("m%03d", i)
			i++
			msgs = append(msgs, store.Message{ID: id, AccountID: "a", Region: "us-east-1", MailFrom: id + "@r.test", CreatedAt: now, Data: []byte("Subject: x\r\n\r\nbody\r\n")})
			rcpts = append(rcpts, []store.Recipient{{MessageID: id, Address: "u@" + domain, Domain: domain, State: store.RcptQueued, NextAttempt: now, UpdatedAt: now}})
		}
	}
	if err := st.Enqueue(ctx, msgs, rcpts); err != nil {
		t.Fatal(err)
	}
	w := NewWorker(st, tr, clock.System{}, slog.New(slog.DiscardHandler), nil, o)
	w.interval = 20 * time.Millisecond
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { w.Run(runCtx); close(done) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(20 * time.Second)
	for !cond(st) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return st
}

// states counts recipients by state and last-response prefix.
func states(st *sqlite.Store) map[string]int {
	out := map[string]int{}
	due, _ := st.ListMessages(context.Background(), "a", "us-east-1", time.Time{}, 1000)
	for _, m := range due {
		rs, _ := st.Recipients(context.Background(), m.ID)
		for _, r := range rs {
			out[r.Domain+" "+string(r.State)+" "+r.LastResponse[:min(5, len(r.LastResponse))]]++
		}
	}
	return out
}

// TestWorkerRestsFailingDestination: after RestAfter connection failures
// in a row, a destination's mail is deferred without connecting, while
// another destination's mail is delivered as usual.
func TestWorkerRestsFailingDestination(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var mu sync.Mutex
	accepts := 0
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			accepts++
			mu.Unlock()
			c.Close() // a receiver that drops every connection
		}
	}()
	good := smtptest.Start(t, nil)
	z := dnstest.Start(t)
	r, _ := dnsx.New(dnsx.Options{Servers: []string{z.Addr()}})
	tr := NewSMTPTransport(SMTPOptions{Hostname: "out.test", Resolver: r, Clock: clock.System{},
		Transports: map[string]string{"dead.example": ln.Addr().String(), "good.example": good.Addr}, Timeout: 2 * time.Second})
	st := runWorker(t, tr, WorkerOptions{PerDestination: 1}, map[string]int{"dead.example": 12, "good.example": 3}, func(st *sqlite.Store) bool {
		s := states(st)
		return s["dead.example deferred 4.4.1"]+s["dead.example deferred 4.4.5"] == 12 && s["good.example delivered 250 2"] == 3
	})
	s := states(st)
	mu.Lock()
	defer mu.Unlock()
	if accepts != RestAfter || s["dead.example deferred 4.4.1"] != RestAfter || s["dead.example deferred 4.4.5"] != 12-RestAfter {
		t.Errorf("%d connections to the failing destination, states %v; want %d connections, then rest", accepts, s, RestAfter)
	}
}

// TestWorkerDestinationRate: deliveries to one destination stay within
// its rate (a lower bound on the time the batch takes: the limiter can
// make it slower, never faster).
func TestWorkerDestinationRate(t *testing.T) {
	sink := smtptest.Start(t, nil)
	z := dnstest.Start(t)
	r, _ := dnsx.New(dnsx.Options{Servers: []string{z.Addr()}})
	tr := NewSMTPTransport(SMTPOptions{Hostname: "out.test", Resolver: r, Clock: clock.System{},
		Transports: map[string]string{"rated.example": sink.Addr}, Timeout: 2 * time.Second})
	start := time.Now()
	runWorker(t, tr, WorkerOptions{DestinationRate: 20}, map[string]int{"rated.example": 30}, func(*sqlite.Store) bool { return len(sink.Messages()) == 30 })
	// A burst of 20, then 10 more at 20/s: at least 0.5 s.
	if d := time.Since(start); d < 450*time.Millisecond {
		t.Errorf("30 messages at 20/s took only %v", d)
	}
	// Pinned destinations (the operator's relay) are exempt.
	start = time.Now()
	sink2 := smtptest.Start(t, nil)
	tr2 := NewSMTPTransport(SMTPOptions{Hostname: "out.test", Resolver: r, Clock: clock.System{},
		Transports: map[string]string{"*": sink2.Addr}, Timeout: 2 * time.Second})
	runWorker(t, tr2, WorkerOptions{DestinationRate: 1, Destination: tr2.Destination, Unlimited: tr2.Pinned}, map[string]int{"any.example": 10},
		func(*sqlite.Store) bool { return len(sink2.Messages()) == 10 })
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("an exempt destination was rate limited: %v for 10 messages at 1/s", d)
	}
}
