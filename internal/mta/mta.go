// Package mta delivers queued mail. A Worker takes due recipients from the
// queue, groups them by message, hands each group to a Transport, and
// records each recipient's outcome. This first version has the --dev
// Capture transport; SMTP delivery to MX hosts plugs in as another
// Transport.
package mta

import (
	"context"
	"log/slog"
	"time"

	"github.com/sesame-email/sesame/internal/clock"
	"github.com/sesame-email/sesame/internal/store"
)

// Result is the outcome for one recipient.
type Result struct {
	Address  string
	State    store.RecipientState
	Response string
	// Retry is when to try again, for RcptDeferred.
	Retry time.Time
}

// Transport delivers one message to some of its recipients.
type Transport interface {
	Deliver(ctx context.Context, msg store.Message, rcpts []store.Recipient) []Result
}

// Worker moves due recipients through a Transport.
type Worker struct {
	st        store.Queue
	transport Transport
	clock     clock.Clock
	log       *slog.Logger
	wake      <-chan struct{}
	interval  time.Duration
}

// NewWorker returns a Worker; wake is signalled when new mail is queued.
func NewWorker(st store.Queue, t Transport, clk clock.Clock, log *slog.Logger, wake <-chan struct{}) *Worker {
	return &Worker{st: st, transport: t, clock: clk, log: log, wake: wake, interval: time.Second}
}

// Run delivers until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		for {
			n, err := w.RunOnce(ctx, 200)
			if err != nil {
				w.log.Error("delivery pass failed", "err", err)
			}
			if n == 0 || err != nil || ctx.Err() != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		case <-t.C:
		}
	}
}

// RunOnce handles up to limit due recipients and returns how many.
func (w *Worker) RunOnce(ctx context.Context, limit int) (int, error) {
	due, err := w.st.DueRecipients(ctx, w.clock.Now(), limit)
	if err != nil || len(due) == 0 {
		return 0, err
	}
	byMsg := map[string][]store.Recipient{}
	var order []string
	for _, r := range due {
		if _, ok := byMsg[r.MessageID]; !ok {
			order = append(order, r.MessageID)
		}
		byMsg[r.MessageID] = append(byMsg[r.MessageID], r)
	}
	for _, id := range order {
		msg, err := w.st.GetMessage(ctx, id)
		if err != nil {
			return 0, err
		}
		rcpts := byMsg[id]
		results := w.transport.Deliver(ctx, msg, rcpts)
		now := w.clock.Now()
		for i, res := range results {
			r := rcpts[i]
			r.State, r.LastResponse, r.UpdatedAt = res.State, res.Response, now
			r.Attempts++
			if res.State == store.RcptDeferred {
				r.NextAttempt = res.Retry
			}
			if err := w.st.UpdateRecipient(ctx, r); err != nil {
				return 0, err
			}
			w.log.Info("delivery", "message", id, "rcpt", r.Address, "state", r.State, "response", r.LastResponse)
		}
	}
	return len(due), nil
}
