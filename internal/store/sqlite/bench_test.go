package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/sesame-email/sesame/internal/store"
)

// BenchmarkClaimDue measures the delivery worker's queue pick: claiming 200
// due recipients (with their lease) from a queue of 100,000.
//
//	go test -run XXX -bench ClaimDue ./internal/store/sqlite/
func BenchmarkClaimDue(b *testing.B) {
	ctx := context.Background()
	now := time.Now()
	const total, batch = 100_000, 200
	s, _ := benchQueue(b, total, now)
	at := now.Add(time.Hour)
	b.ResetTimer()
	for range b.N {
		got, err := s.ClaimDue(ctx, at, time.Hour, batch)
		if err != nil {
			b.Fatal(err)
		}
		if len(got) < batch {
			at = at.Add(2 * time.Hour) // every lease has ended: all due again
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "recipients/s")
}

// BenchmarkUpdateRecipients measures group-committed delivery outcomes,
// 64 at a time: deferrals (one UPDATE each) against deliveries (an UPDATE
// each and one upsert of the delivered counter per batch), so the two
// sub-benchmarks of one run give what counting deliveries costs.
//
//	go test -run XXX -bench UpdateRecipients ./internal/store/sqlite/
func BenchmarkUpdateRecipients(b *testing.B) {
	for _, state := range []store.RecipientState{store.RcptDeferred, store.RcptDelivered} {
		b.Run(string(state), func(b *testing.B) {
			ctx := context.Background()
			now := time.Now()
			const total, batch = 10_000, 64
			s, all := benchQueue(b, total, now)
			b.ResetTimer()
			for i := range b.N {
				out := make([]store.Recipient, batch)
				for k := range out {
					r := all[(i*batch+k)%total]
					r.State, r.Attempts, r.LastResponse, r.UpdatedAt = state, 1, "250 ok", now
					out[k] = r
				}
				if err := s.UpdateRecipients(ctx, out); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "recipients/s")
		})
	}
}

// benchQueue opens a store in a temporary directory holding n queued
// messages of one recipient each, due one millisecond apart from now, and
// returns the recipients.
func benchQueue(b *testing.B, n int, now time.Time) (*Store, []store.Recipient) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "q.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	var all []store.Recipient
	for i := 0; i < n; i += 1000 {
		var msgs []store.Message
		var rcpts [][]store.Recipient
		for j := i; j < min(i+1000, n); j++ {
			id := fmt.Sprintf("m%06d", j)
			msgs = append(msgs, store.Message{ID: id, AccountID: "a", Region: "us-east-1", MailFrom: id + "@r.example", CreatedAt: now, Data: []byte("x")})
			r := store.Recipient{MessageID: id, Address: "u@d.example", Domain: "d.example", State: store.RcptQueued,
				NextAttempt: now.Add(time.Duration(j) * time.Millisecond), UpdatedAt: now}
			rcpts = append(rcpts, []store.Recipient{r})
			all = append(all, r)
		}
		if err := s.Enqueue(ctx, msgs, rcpts); err != nil {
			b.Fatal(err)
		}
	}
	return s, all
}
