package mta

import (
	"context"
	"sync"

	"github.com/sesame-email/sesame/internal/store"
)

// maxOutcomeBatch bounds the recipients one outcome transaction stores.
const maxOutcomeBatch = 512

// outcomeWriter stores delivery outcomes with group commit: outcomes that
// finish together share one transaction (one fsync), as accepted mail
// does in package queue. Store returns once its outcomes are durable.
type outcomeWriter struct {
	st      store.Queue
	reqs    chan outcomeReq
	start   sync.Once
	stop    chan struct{} // closed by close: the writer drains and exits
	stopped chan struct{} // closed when the writer has exited
}

type outcomeReq struct {
	rs   []store.Recipient
	errs chan []error // one per recipient, nil when stored
}

func newOutcomeWriter(st store.Queue) *outcomeWriter {
	return &outcomeWriter{st: st, reqs: make(chan outcomeReq), stop: make(chan struct{}), stopped: make(chan struct{})}
}

// close stops the writer (started on first use); later Store calls write
// directly.
func (o *outcomeWriter) close() {
	o.start.Do(func() { close(o.stopped) })
	select {
	case <-o.stop:
	default:
		close(o.stop)
	}
	<-o.stopped
}

// Store stores rs and returns each recipient's error.
func (o *outcomeWriter) Store(ctx context.Context, rs []store.Recipient) []error {
	o.start.Do(func() { go o.run() })
	req := outcomeReq{rs: rs, errs: make(chan []error, 1)}
	select {
	case o.reqs <- req:
		return <-req.errs
	case <-o.stopped:
		out := make([]error, len(rs))
		for i, r := range rs {
			out[i] = o.st.UpdateRecipient(context.WithoutCancel(ctx), r)
		}
		return out
	}
}

func (o *outcomeWriter) run() {
	defer close(o.stopped)
	for {
		var batch []outcomeReq
		select {
		case r := <-o.reqs:
			batch = append(batch, r)
		case <-o.stop:
			return
		}
		n := len(batch[0].rs)
	fill:
		for n < maxOutcomeBatch {
			select {
			case r := <-o.reqs:
				batch = append(batch, r)
				n += len(r.rs)
			default:
				break fill
			}
		}
		o.commit(batch, n)
	}
}

func (o *outcomeWriter) commit(batch []outcomeReq, n int) {
	ctx := context.Background()
	all := make([]store.Recipient, 0, n)
	for _, r := range batch {
		all = append(all, r.rs...)
	}
	if err := o.st.UpdateRecipients(ctx, all); err == nil {
		for _, r := range batch {
			r.errs <- make([]error, len(r.rs))
		}
		return
	}
	// One failing recipient (its message deleted meanwhile) must not fail
	// the others: store them one by one.
	for _, r := range batch {
		errs := make([]error, len(r.rs))
		for i, rc := range r.rs {
			errs[i] = o.st.UpdateRecipient(ctx, rc)
		}
		r.errs <- errs
	}
}
