package app

import (
	"context"
	"time"
)

// statsKeep is how long events are kept: SES's statistics cover two weeks.
const statsKeep = 14 * 24 * time.Hour

// janitor removes finished messages and received mail past --retention
// and events past two weeks, once a minute after start and then hourly. Every node may run it:
// both deletions are idempotent.
func (a *App) janitor(ctx context.Context) {
	t := time.NewTimer(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		a.Sweep(ctx)
		t.Reset(time.Hour)
	}
}

// Sweep does one janitor pass now.
func (a *App) Sweep(ctx context.Context) {
	now := a.clock.Now()
	total := 0
	for ctx.Err() == nil {
		n, err := a.store.PruneMessages(ctx, now.Add(-a.cfg.Retention), 1000)
		if err != nil {
			a.log.Error("janitor: pruning messages", "err", err)
			break
		}
		total += n
		if n < 1000 {
			break
		}
	}
	if n, err := a.receiver.Prune(now.Add(-a.cfg.Retention)); err != nil {
		a.log.Error("janitor: pruning received mail", "err", err)
	} else if n > 0 {
		a.log.Info("janitor: received messages removed", "count", n)
	}
	if err := a.store.DeleteEventsBefore(ctx, now.Add(-statsKeep)); err != nil {
		a.log.Error("janitor: pruning events", "err", err)
	}
	if total > 0 {
		a.log.Info("janitor: finished messages removed", "count", total, "retention", a.cfg.Retention.String())
	}
}
