package sns

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/sesame-email/sesame/internal/clock"
	"github.com/sesame-email/sesame/internal/store"
)

// Delivery policy. SNS's default HTTP policy gives up after three quick
// retries; a self-hosted receiver is more often down for a deploy, so
// sesame keeps trying with exponential back-off for a day.
const (
	// AttemptTimeout bounds one POST, as SNS's 15 s.
	AttemptTimeout = 15 * time.Second
	// FirstRetry is the delay after the first failure; it doubles up to
	// MaxRetryDelay.
	FirstRetry    = 5 * time.Second
	MaxRetryDelay = 10 * time.Minute
	// GiveUpAfter is how long a notification is retried before it fails.
	GiveUpAfter = 24 * time.Hour
	// DeliveryConcurrency is how many POSTs run at once, so one slow
	// subscriber holds up only one slot.
	DeliveryConcurrency = 16
	noteLease           = 2 * time.Minute
)

// Deliverer POSTs pending notifications to their subscribers, records every
// attempt, and retries failures with back-off. It never blocks senders:
// events only add rows that it picks up.
type Deliverer struct {
	st     store.Events
	clock  clock.Clock
	log    *slog.Logger
	client *http.Client
	wake   chan struct{}
}

// NewDeliverer returns a Deliverer; client nil means a default client with
// AttemptTimeout.
func NewDeliverer(st store.Events, clk clock.Clock, log *slog.Logger, client *http.Client) *Deliverer {
	if client == nil {
		client = &http.Client{Timeout: AttemptTimeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return &Deliverer{st: st, clock: clk, log: log, client: client, wake: make(chan struct{}, 1)}
}

// Wake makes the Deliverer look for due notifications now.
func (d *Deliverer) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends.
func (d *Deliverer) Run(ctx context.Context) {
	slots := make(chan struct{}, DeliveryConcurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		free := DeliveryConcurrency - len(slots)
		if free > 0 {
			notes, err := d.st.ClaimNotifications(ctx, d.clock.Now(), noteLease, free)
			if err != nil && ctx.Err() == nil {
				d.log.Error("notifications: claim failed", "err", err)
			}
			for _, n := range notes {
				slots <- struct{}{}
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer func() { <-slots; d.Wake() }()
					d.attempt(ctx, n)
				}()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		case <-t.C:
		}
	}
}

// attempt POSTs n once and stores the outcome.
func (d *Deliverer) attempt(ctx context.Context, n store.Notification) {
	result, ok := d.post(ctx, n)
	now := d.clock.Now()
	n.Attempts++
	n.LastResult, n.UpdatedAt = result, now
	switch {
	case ok:
		n.State = store.NoteDelivered
	case now.Sub(n.CreatedAt) >= GiveUpAfter:
		n.State = store.NoteFailed
	default:
		delay := FirstRetry << min(n.Attempts-1, 20)
		delay = min(delay, MaxRetryDelay)
		delay += time.Duration(rand.Int64N(int64(delay)/5 + 1))
		n.NextAttempt = now.Add(delay)
	}
	if err := d.st.UpdateNotification(context.WithoutCancel(ctx), n); err != nil {
		d.log.Error("notifications: outcome not stored", "id", n.ID, "subscription", n.SubscriptionARN, "err", err)
		return
	}
	d.log.Info("notification", "id", n.ID, "type", n.Type, "subscription", n.SubscriptionARN, "endpoint", n.Endpoint,
		"attempt", n.Attempts, "result", result, "state", n.State)
}

func (d *Deliverer) post(ctx context.Context, n store.Notification) (string, bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.Endpoint, bytes.NewReader(n.Body))
	if err != nil {
		return "bad endpoint: " + err.Error(), false
	}
	req.Header.Set("Content-Type", "text/plain; charset=UTF-8")
	req.Header.Set("User-Agent", "Amazon Simple Notification Service Agent")
	req.Header.Set("x-amz-sns-message-type", n.Type)
	req.Header.Set("x-amz-sns-message-id", n.ID)
	req.Header.Set("x-amz-sns-topic-arn", n.TopicARN)
	if n.Type == "Notification" {
		req.Header.Set("x-amz-sns-subscription-arn", n.SubscriptionARN)
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return err.Error(), false
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode)), resp.StatusCode >= 200 && resp.StatusCode < 300
}
