// Package queue is sesame's durable outbound queue. Accept returns only
// once a message's bytes and recipients are committed to the store; calls
// that arrive together are written in one transaction (group commit), so
// durability costs one fsync per batch rather than per message. Delivery
// workers are woken through Wake when new mail is committed.
package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/sesame-email/sesame/internal/store"
)

// MaxBatch bounds how many messages one transaction commits.
const MaxBatch = 256

// ErrClosed is returned by Accept after the queue has stopped.
var ErrClosed = errors.New("queue: closed")

type request struct {
	msg   store.Message
	rcpts []store.Recipient
	done  chan error
}

// Queue accepts messages durably. reqs is unbuffered: a request is handed
// over only while the writer is receiving, so none is stranded after Close.
type Queue struct {
	st    store.Queue
	log   *slog.Logger
	reqs  chan request
	wake  chan struct{}
	stop  chan struct{}
	once  sync.Once
	wg    sync.WaitGroup
	batch func(n int) // observer for metrics and tests; may be nil
	max   int
}

// Options configures a Queue.
type Options struct {
	Logger *slog.Logger
	// OnBatch is called with the size of every committed batch.
	OnBatch func(n int)
	// MaxBatch bounds a transaction's messages; 0 = MaxBatch. 1 turns
	// group commit off (for measuring what it buys).
	MaxBatch int
}

// New starts a Queue's writer; Close stops it.
func New(st store.Queue, o Options) *Queue {
	q := &Queue{st: st, log: o.Logger, reqs: make(chan request), wake: make(chan struct{}, 1), stop: make(chan struct{}), batch: o.OnBatch, max: o.MaxBatch}
	if q.max <= 0 {
		q.max = MaxBatch
	}
	if q.log == nil {
		q.log = slog.New(slog.DiscardHandler)
	}
	q.wg.Add(1)
	go q.writer()
	return q
}

// Accept stores msg with its recipients and returns once they are durable.
// A nil error is the promise behind a 200 or a 250.
func (q *Queue) Accept(ctx context.Context, msg store.Message, rcpts []store.Recipient) error {
	r := request{msg: msg, rcpts: rcpts, done: make(chan error, 1)}
	select {
	case q.reqs <- r:
	case <-q.stop:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once handed to the writer the outcome must be waited for: returning
	// early could report a failure for a message that then commits.
	return <-r.done
}

// signal wakes the delivery worker without blocking (one pending wake-up
// is enough: the worker drains everything due when it runs).
func (q *Queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Wake is signalled after each commit, for the delivery workers.
func (q *Queue) Wake() <-chan struct{} { return q.wake }

func (q *Queue) writer() {
	defer q.wg.Done()
	for {
		var first request
		select {
		case first = <-q.reqs:
		case <-q.stop:
			// Drain what was handed over before the stop.
			for {
				select {
				case r := <-q.reqs:
					q.commit([]request{r})
				default:
					return
				}
			}
		}
		batch := []request{first}
	fill:
		for len(batch) < q.max {
			select {
			case r := <-q.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		q.commit(batch)
	}
}

func (q *Queue) commit(batch []request) {
	msgs := make([]store.Message, len(batch))
	rcpts := make([][]store.Recipient, len(batch))
	for i, r := range batch {
		msgs[i], rcpts[i] = r.msg, r.rcpts
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	err := q.st.Enqueue(ctx, msgs, rcpts)
	cancel()
	if err != nil && len(batch) > 1 {
		// One bad message (a duplicate id) must not fail its neighbours:
		// retry them one by one.
		for _, r := range batch {
			q.commit([]request{r})
		}
		return
	}
	if err != nil {
		err = fmt.Errorf("queue: %w", err)
		q.log.Error("enqueue failed", "message", batch[0].msg.ID, "err", err)
	}
	for _, r := range batch {
		r.done <- err
	}
	if err == nil {
		if q.batch != nil {
			q.batch(len(batch))
		}
		q.signal()
	}
}

// Close stops accepting and waits for the writer to commit what it holds.
func (q *Queue) Close() {
	q.once.Do(func() { close(q.stop) })
	q.wg.Wait()
}

// SentSince counts the recipients an account sent to in a region since t
// (the 24-hour quota and SentLast24Hours).
func (q *Queue) SentSince(ctx context.Context, accountID, region string, t time.Time) (int, error) {
	return q.st.CountRecipientsSince(ctx, accountID, region, t)
}

// List returns an account's newest messages in a region (without bytes).
func (q *Queue) List(ctx context.Context, accountID, region string, limit int) ([]store.Message, error) {
	return q.st.ListMessages(ctx, accountID, region, time.Time{}, limit)
}

// Message returns a message with its bytes.
func (q *Queue) Message(ctx context.Context, id string) (store.Message, error) {
	return q.st.GetMessage(ctx, id)
}

// Recipients returns a message's recipients.
func (q *Queue) Recipients(ctx context.Context, id string) ([]store.Recipient, error) {
	return q.st.Recipients(ctx, id)
}

// Stats returns the 15-minute sending buckets since t.
func (q *Queue) Stats(ctx context.Context, accountID, region string, since time.Time) ([]store.StatBucket, error) {
	return q.st.SendStats(ctx, accountID, region, since)
}

// pending returns the states an operator's retry and hold apply to.
func pending() []store.RecipientState {
	return []store.RecipientState{store.RcptQueued, store.RcptDeferred}
}

// Summary counts the queue by destination.
func (q *Queue) Summary(ctx context.Context, accountID, region string) ([]store.DestinationSummary, error) {
	return q.st.QueueSummary(ctx, accountID, region)
}

// Retry makes a message's pending recipients due now (postqueue -f / -i).
func (q *Queue) Retry(ctx context.Context, id string, now time.Time) (int, error) {
	n, err := q.st.MoveRecipients(ctx, id, pending(), store.RcptQueued, now)
	if err == nil && n > 0 {
		q.signal()
	}
	return n, err
}

// Hold keeps a message's pending recipients from delivery (postsuper -h).
func (q *Queue) Hold(ctx context.Context, id string, now time.Time) (int, error) {
	return q.st.MoveRecipients(ctx, id, pending(), store.RcptHeld, now)
}

// Release puts held recipients back, due now (postsuper -H).
func (q *Queue) Release(ctx context.Context, id string, now time.Time) (int, error) {
	n, err := q.st.MoveRecipients(ctx, id, []store.RecipientState{store.RcptHeld}, store.RcptQueued, now)
	if err == nil && n > 0 {
		q.signal()
	}
	return n, err
}

// Delete removes a message from the queue for good (postsuper -d).
func (q *Queue) Delete(ctx context.Context, id string) error { return q.st.DeleteMessage(ctx, id) }
