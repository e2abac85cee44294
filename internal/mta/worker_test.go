package mta

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
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
