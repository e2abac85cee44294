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
	s, err := Open(ctx, filepath.Join(b.TempDir(), "q.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	now := time.Now()
	const total, batch = 100_000, 200
	for i := 0; i < total; i += 1000 {
		var msgs []store.Message
		var rcpts [][]store.Recipient
		for j := i; j < i+1000; j++ {
			id := fmt.Sprintf("m%06d", j)
			msgs = append(msgs, store.Message{ID: id, AccountID: "a", Region: "us-east-1", MailFrom: id + "@r.example", CreatedAt: now, Data: []byte("x")})
			rcpts = append(rcpts, []store.Recipient{{MessageID: id, Address: "u@d.example", Domain: "d.example", State: store.RcptQueued,
				NextAttempt: now.Add(time.Duration(j) * time.Millisecond), UpdatedAt: now}})
		}
		if err := s.Enqueue(ctx, msgs, rcpts); err != nil {
			b.Fatal(err)
		}
	}
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
