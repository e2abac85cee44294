// Package mta delivers queued mail. A Worker takes due recipients from the
// queue, groups them by message, hands each group to a Transport, and
// records each recipient's outcome. This first version has the --dev
// Capture transport; SMTP delivery to MX hosts plugs in as another
// Transport.
package mta

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

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
	// RemoteIP is the address of the host that answered, when one did.
	RemoteIP string
}

// Outcome is one recipient's result as stored: the recipient after the
// attempt (state, attempts) and what the transport said.
type Outcome struct {
	Recipient store.Recipient
	Result    Result
}

// Reporter is told every job's stored outcomes, to turn them into
// Delivery, Bounce and DeliveryDelay events. It runs on the delivery
// goroutine after the outcomes are durable, so it must not block long.
type Reporter interface {
	Report(ctx context.Context, msg store.Message, outcomes []Outcome)
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
	// DefaultPerRelay is the per-destination limit for destinations the
	// operator owns (--relay, --transport pins; see WorkerOptions.Unlimited):
	// Postfix's default destination concurrency.
	DefaultPerRelay = 20
	// Lease is how long claimed recipients are held by a delivery before
	// they become due again (if the node died holding them).
	Lease = 15 * time.Minute
	// MaxInMemory bounds the jobs a Worker holds (running or waiting for
	// their destination), so a million queued messages cost no memory
	// beyond this window: the rest stays in the store.
	MaxInMemory = 2000
	// DefaultDestinationRate is the per-destination delivery rate cap
	// (messages per second, burst of the same size): far above what one
	// sender needs for a Gmail- or Outlook-class receiver, well below a
	// flood.
	DefaultDestinationRate = 50
	// RestAfter consecutive connection-level failures to a destination
	// make the worker stop trying it for a while (Postfix's "dead
	// destination"); the rest starts at RestFirst and doubles to RestMax.
	RestAfter = 5
	RestFirst = 30 * time.Second
	RestMax   = 30 * time.Minute
)

// WorkerOptions configures a Worker.
type WorkerOptions struct {
	Concurrency    int // 0 = DefaultConcurrency
	PerDestination int // 0 = DefaultPerDestination
	// Destination maps a recipient domain to where its mail goes (all
	// domains to one smart host, for example); nil = the domain itself.
	Destination func(domain string) string
	// Lease is how long claimed recipients stay out of every node's due
	// set; 0 = Lease. It must exceed the time a claimed window takes to
	// deliver, or another node may deliver the same mail again.
	Lease time.Duration
	// Reporter receives outcomes; nil = none.
	Reporter Reporter
	// DestinationRate caps deliveries (messages per second) to one
	// destination; 0 = DefaultDestinationRate, negative = no cap.
	DestinationRate float64
	// Unlimited exempts destinations from DestinationRate and gives them
	// PerRelay connections instead of PerDestination (the operator's own
	// relay or pinned transports); nil = none exempt.
	Unlimited func(dest string) bool
	// PerRelay is the concurrency limit of Unlimited destinations;
	// 0 = DefaultPerRelay.
	PerRelay int
}

// Worker moves due recipients through a Transport: it claims them with a
// lease, groups them by message and destination, and runs each group under
// a global and a per-destination limit. Jobs beyond a destination's limit
// wait in memory (Postfix's active queue) and start as that destination's
// deliveries finish, so one slow receiver holds up only its own mail.
type Worker struct {
	st        store.Queue
	transport Transport
	clock     clock.Clock
	log       *slog.Logger
	wake      <-chan struct{}
	interval  time.Duration
	slots     chan struct{}
	perDest   int
	perRelay  int
	destOf    func(string) string
	lease     time.Duration
	reporter  Reporter
	outcomes  *outcomeWriter
	refill    chan struct{} // signalled when the in-memory window has room again

	rate      float64
	unlimited func(string) bool

	mu       sync.Mutex
	limiters map[string]*rate.Limiter // per destination
	failures map[string]int           // consecutive connection-level failures
	resting  map[string]time.Time     // destinations not tried until then
	active   map[string]int           // deliveries in flight per destination
	pending  map[string][]*job        // jobs waiting for their destination
	inMemory int                      // jobs active or pending
	wg       sync.WaitGroup
}

// NewWorker returns a Worker; wake is signalled when new mail is queued.
func NewWorker(st store.Queue, t Transport, clk clock.Clock, log *slog.Logger, wake <-chan struct{}, o WorkerOptions) *Worker {
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.PerDestination <= 0 {
		o.PerDestination = DefaultPerDestination
	}
	if o.PerRelay <= 0 {
		o.PerRelay = DefaultPerRelay
	}
	if o.DestinationRate == 0 {
		o.DestinationRate = DefaultDestinationRate
	}
	if o.Lease <= 0 {
		o.Lease = Lease
	}
	return &Worker{st: st, transport: t, clock: clk, log: log, wake: wake, interval: time.Second,
		slots: make(chan struct{}, o.Concurrency), perDest: o.PerDestination, perRelay: o.PerRelay, destOf: o.Destination, lease: o.Lease, reporter: o.Reporter,
		rate: o.DestinationRate, unlimited: o.Unlimited, limiters: map[string]*rate.Limiter{}, failures: map[string]int{}, resting: map[string]time.Time{},
		active: map[string]int{}, pending: map[string][]*job{}, outcomes: newOutcomeWriter(st), refill: make(chan struct{}, 1)}
}

// Run delivers until ctx ends, then waits for deliveries in flight and
// hands jobs still waiting back to the queue, due at once.
func (w *Worker) Run(ctx context.Context) {
	defer w.releasePending()
	defer w.outcomes.close() // after the deliveries in flight have stored theirs
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
		case <-w.refill:
		case <-t.C:
		}
	}
}

// job is one message's recipients at one destination.
type job struct {
	msgID, dest string
	rcpts       []store.Recipient
}

// RunOnce claims up to limit due recipients (fewer when MaxInMemory jobs
// are held) and starts or parks their jobs; it returns how many it
// claimed.
func (w *Worker) RunOnce(ctx context.Context, limit int) (int, error) {
	w.mu.Lock()
	room := MaxInMemory - w.inMemory
	w.mu.Unlock()
	if room <= 0 || ctx.Err() != nil {
		return 0, nil
	}
	due, err := w.st.ClaimDue(ctx, w.clock.Now(), w.lease, min(limit, room))
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
	w.mu.Lock()
	w.inMemory += len(order)
	w.mu.Unlock()
	for _, k := range order {
		w.startOrPark(ctx, jobs[k])
	}
	return len(due), nil
}

// startOrPark starts j if its destination has room, else parks it.
func (w *Worker) startOrPark(ctx context.Context, j *job) {
	w.mu.Lock()
	limit := w.perDest
	if w.unlimited != nil && w.unlimited(j.dest) {
		limit = w.perRelay
	}
	if w.active[j.dest] >= limit {
		w.pending[j.dest] = append(w.pending[j.dest], j)
		w.mu.Unlock()
		return
	}
	w.active[j.dest]++
	w.mu.Unlock()
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		if until, ok := w.restingUntil(j.dest); ok {
			w.postpone(context.WithoutCancel(ctx), j, until)
		} else {
			if lim := w.limiter(j.dest); lim != nil {
				lim.Wait(ctx) // holds no global slot while it waits
			}
			w.slots <- struct{}{} // the global limit
			w.deliver(context.WithoutCancel(ctx), j)
			<-w.slots
		}
		w.mu.Lock()
		w.inMemory--
		if w.inMemory == MaxInMemory/2 {
			// The window was full and has room again: claim more now rather
			// than at the next tick.
			select {
			case w.refill <- struct{}{}:
			default:
			}
		}
		if w.active[j.dest]--; w.active[j.dest] <= 0 {
			delete(w.active, j.dest)
		}
		var next *job
		if p := w.pending[j.dest]; len(p) > 0 && ctx.Err() == nil {
			next, w.pending[j.dest] = p[0], p[1:]
			if len(w.pending[j.dest]) == 0 {
				delete(w.pending, j.dest)
			}
		}
		w.mu.Unlock()
		if next != nil {
			w.startOrPark(ctx, next)
		}
	}()
}

// limiter returns dest's rate limiter, or nil when it has none.
func (w *Worker) limiter(dest string) *rate.Limiter {
	if w.rate < 0 || (w.unlimited != nil && w.unlimited(dest)) {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	l, ok := w.limiters[dest]
	if !ok {
		if len(w.limiters) > 10000 {
			clear(w.limiters)
		}
		l = rate.NewLimiter(rate.Limit(w.rate), max(1, int(w.rate)))
		w.limiters[dest] = l
	}
	return l
}

// restingUntil reports whether dest is resting after repeated failures.
func (w *Worker) restingUntil(dest string) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	until, ok := w.resting[dest]
	if ok && !w.clock.Now().Before(until) {
		delete(w.resting, dest)
		return time.Time{}, false
	}
	return until, ok
}

// postpone defers a resting destination's job, without connecting, to
// when the rest ends. It is not an attempt: expiry is decided by the next
// real one.
func (w *Worker) postpone(ctx context.Context, j *job, until time.Time) {
	now := w.clock.Now()
	for _, r := range j.rcpts {
		r.State, r.NextAttempt, r.UpdatedAt = store.RcptDeferred, until, now
		r.LastResponse = fmt.Sprintf("4.4.5 %s is resting after %d consecutive connection failures; next try %s", j.dest, RestAfter, until.UTC().Format(time.RFC3339))
		if err := w.st.UpdateRecipient(ctx, r); err != nil {
			w.log.Error("delivery: postponement not stored", "message", r.MessageID, "rcpt", r.Address, "err", err)
		}
	}
}

// judge updates dest's failure count from a job's results: all deferred
// at the connection level (no MX host answered, a 421, a lost connection)
// counts as a failure; any answer from a live receiver clears the count.
func (w *Worker) judge(dest string, results []Result) {
	failed := len(results) > 0
	for _, r := range results {
		if r.State != store.RcptDeferred || !(strings.HasPrefix(r.Response, "4.4.") || strings.HasPrefix(r.Response, "421")) {
			failed = false
			break
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !failed {
		delete(w.failures, dest)
		return
	}
	w.failures[dest]++
	if n := w.failures[dest]; n >= RestAfter {
		rest := min(RestFirst<<min(n-RestAfter, 16), RestMax)
		w.resting[dest] = w.clock.Now().Add(rest)
		w.log.Warn("destination resting after repeated failures", "destination", dest, "failures", n, "rest", rest)
	}
}

// releasePending gives parked jobs back to the queue, due now, so a
// restart does not wait for their leases to end.
func (w *Worker) releasePending() {
	w.mu.Lock()
	pending := w.pending
	w.pending = map[string][]*job{}
	w.mu.Unlock()
	ctx := context.Background()
	now := w.clock.Now()
	for _, list := range pending {
		for _, j := range list {
			for _, r := range j.rcpts {
				r.NextAttempt = now
				if err := w.st.UpdateRecipient(ctx, r); err != nil {
					w.log.Error("release failed", "message", r.MessageID, "rcpt", r.Address, "err", err)
				}
			}
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
	w.judge(j.dest, results)
	now := w.clock.Now()
	var outcomes []Outcome
	defer func() {
		if w.reporter != nil && len(outcomes) > 0 {
			w.reporter.Report(context.WithoutCancel(ctx), msg, outcomes)
		}
	}()
	rs := make([]store.Recipient, len(results))
	for i, res := range results {
		r := j.rcpts[i]
		r.State, r.LastResponse, r.UpdatedAt = res.State, res.Response, now
		r.Attempts++
		if res.State == store.RcptDeferred {
			r.NextAttempt = res.Retry
		}
		rs[i] = r
	}
	errs := w.outcomes.Store(ctx, rs)
	for i, res := range results {
		r := rs[i]
		if errs[i] != nil {
			w.log.Error("delivery: outcome not stored", "message", j.msgID, "rcpt", r.Address, "err", errs[i])
			continue
		}
		outcomes = append(outcomes, Outcome{Recipient: r, Result: res})
		w.log.Info("delivery", "message", j.msgID, "rcpt", r.Address, "state", r.State, "response", r.LastResponse)
	}
}
