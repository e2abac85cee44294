// Package mta delivers queued mail. A Worker takes due recipients from the
// queue, groups them by message, hands each group to a Transport, and
// records each recipient's outcome. This first version has the --dev
// Capture transport; SMTP delivery to MX hosts plugs in as another
// Transport.
package mta

import (
	"context"
	"log/slog"
	"sync"
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

// Limits of a Worker.
const (
	// DefaultConcurrency is how many deliveries run at once.
	DefaultConcurrency = 32
	// DefaultPerDestination is how many run at once to one destination
	// domain: enough to keep a large receiver busy, few enough not to
	// look like a flood to Gmail- or Outlook-class receivers.
	DefaultPerDestination = 4
	// Lease is how long claimed recipients are held by a delivery before
	// they become due again (if the node died holding them).
	Lease = 15 * time.Minute
	// busyRetry is how soon work for a busy destination is due again.
	busyRetry = time.Second
)

// WorkerOptions configures a Worker.
type WorkerOptions struct {
	Concurrency    int // 0 = DefaultConcurrency
	PerDestination int // 0 = DefaultPerDestination
	// Destination maps a recipient domain to where its mail goes (all
	// domains to one smart host, for example); nil = the domain itself.
	Destination func(domain string) string
}

// Worker moves due recipients through a Transport: it claims them with a
// lease, groups them by message and destination domain, and runs each
// group under a global and a per-destination limit. Work for a busy
// destination goes back to the queue for a second instead of blocking a
// slot, so one slow receiver never holds up mail to others.
type Worker struct {
	st        store.Queue
	transport Transport
	clock     clock.Clock
	log       *slog.Logger
	wake      <-chan struct{}
	interval  time.Duration
	slots     chan struct{}
	perDest   int
	destOf    func(string) string

	mu     sync.Mutex
	active map[string]int // deliveries in flight per destination
	wg     sync.WaitGroup
}

// NewWorker returns a Worker; wake is signalled when new mail is queued.
func NewWorker(st store.Queue, t Transport, clk clock.Clock, log *slog.Logger, wake <-chan struct{}, o WorkerOptions) *Worker {
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.PerDestination <= 0 {
		o.PerDestination = DefaultPerDestination
	}
	return &Worker{st: st, transport: t, clock: clk, log: log, wake: wake, interval: time.Second,
		slots: make(chan struct{}, o.Concurrency), perDest: o.PerDestination, destOf: o.Destination, active: map[string]int{}}
}

// Run delivers until ctx ends, then waits for deliveries in flight.
func (w *Worker) Run(ctx context.Context) {
	defer w.wg.Wait()
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

// job is one message's recipients at one destination.
type job struct {
	msgID, dest string
	rcpts       []store.Recipient
}

// RunOnce claims up to limit due recipients and starts their deliveries
// (without waiting for them); it returns how many it claimed.
func (w *Worker) RunOnce(ctx context.Context, limit int) (int, error) {
	due, err := w.st.ClaimDue(ctx, w.clock.Now(), Lease, limit)
	if err != nil || len(due) == 0 {
		return 0, err
	}
	jobs := map[string]*job{}
	var order []string
	for _, r := range due {
		dest := r.Domain
		if w.destOf != nil {
			dest = w.destOf(dest)
		}
		k := r.MessageID + "\x00" + dest
		if _, ok := jobs[k]; !ok {
			jobs[k] = &job{msgID: r.MessageID, dest: dest}
			order = append(order, k)
		}
		jobs[k].rcpts = append(jobs[k].rcpts, r)
	}
	for _, k := range order {
		j := jobs[k]
		if !w.acquire(j.dest) {
			// The destination has enough in flight: due again shortly.
			w.reschedule(ctx, j.rcpts, w.clock.Now().Add(busyRetry))
			continue
		}
		select {
		case w.slots <- struct{}{}:
		case <-ctx.Done():
			w.release(j.dest)
			return len(due), ctx.Err()
		}
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			defer func() { <-w.slots; w.release(j.dest) }()
			w.deliver(context.WithoutCancel(ctx), j)
		}()
	}
	return len(due), nil
}

func (w *Worker) acquire(dest string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.active[dest] >= w.perDest {
		return false
	}
	w.active[dest]++
	return true
}

func (w *Worker) release(dest string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.active[dest]--; w.active[dest] <= 0 {
		delete(w.active, dest)
	}
}

// reschedule gives claimed recipients back, due at t.
func (w *Worker) reschedule(ctx context.Context, rcpts []store.Recipient, t time.Time) {
	for _, r := range rcpts {
		r.NextAttempt = t
		if err := w.st.UpdateRecipient(ctx, r); err != nil {
			w.log.Error("reschedule failed", "message", r.MessageID, "rcpt", r.Address, "err", err)
		}
	}
}

// deliver runs one job and stores each recipient's outcome.
func (w *Worker) deliver(ctx context.Context, j *job) {
	msg, err := w.st.GetMessage(ctx, j.msgID)
	if err != nil {
		w.log.Error("delivery: message unreadable", "message", j.msgID, "err", err)
		return // the lease ends and it is tried again
	}
	results := w.transport.Deliver(ctx, msg, j.rcpts)
	now := w.clock.Now()
	for i, res := range results {
		r := j.rcpts[i]
		r.State, r.LastResponse, r.UpdatedAt = res.State, res.Response, now
		r.Attempts++
		if res.State == store.RcptDeferred {
			r.NextAttempt = res.Retry
		}
		if err := w.st.UpdateRecipient(ctx, r); err != nil {
			w.log.Error("delivery: outcome not stored", "message", j.msgID, "rcpt", r.Address, "err", err)
			continue
		}
		w.log.Info("delivery", "message", j.msgID, "rcpt", r.Address, "state", r.State, "response", r.LastResponse)
	}
}
