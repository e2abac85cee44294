package queue

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-email/sesame/internal/store"
	"github.com/sesame-email/sesame/internal/store/sqlite"
)

func open(t testing.TB) *sqlite.Store {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "q.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func msg(i int64) (store.Message, []store.Recipient) {
	id := fmt.Sprintf("msg-%08d", i)
	now := time.Now()
	return store.Message{ID: id, AccountID: "a", Region: "us-east-1", MailFrom: id + "@r.test", CreatedAt: now, Data: make([]byte, 4000)},
		[]store.Recipient{{MessageID: id, Address: "u@example.org", Domain: "example.org", State: store.RcptQueued, NextAttempt: now, UpdatedAt: now}}
}

// TestGroupCommit: concurrent accepts share transactions, each caller
// returns only after its own message is stored, and a duplicate in a batch
// fails alone.
func TestGroupCommit(t *testing.T) {
	st := open(t)
	var batches, biggest atomic.Int64
	q := New(st, Options{OnBatch: func(n int) {
		batches.Add(1)
		for b := biggest.Load(); int64(n) > b && !biggest.CompareAndSwap(b, int64(n)); b = biggest.Load() {
		}
	}})
	defer q.Close()
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, r := msg(int64(i))
			if err := q.Accept(context.Background(), m, r); err != nil {
				t.Error(err)
				return
			}
			if _, err := st.GetMessage(context.Background(), m.ID); err != nil {
				t.Errorf("accepted but not stored: %v", err)
			}
		}()
	}
	wg.Wait()
	if batches.Load() >= 200 || biggest.Load() < 2 {
		t.Errorf("%d transactions for 200 concurrent accepts (largest %d): no group commit", batches.Load(), biggest.Load())
	}
	m, r := msg(7) // already stored
	if err := q.Accept(context.Background(), m, r); err == nil {
		t.Error("duplicate accepted")
	}
	q.Close()
	if err := q.Accept(context.Background(), m, r); err != ErrClosed {
		t.Errorf("after Close: %v", err)
	}
}

// BenchmarkAccept compares group commit with one transaction (one fsync)
// per message, 64 concurrent senders, 4 KB messages, SQLite with
// synchronous=FULL:
//
//	go test -run XXX -bench Accept ./internal/queue/
func BenchmarkAccept(b *testing.B) {
	for _, tc := range []struct {
		name     string
		maxBatch int
	}{{"group-commit", 0}, {"commit-per-message", 1}} {
		b.Run(tc.name, func(b *testing.B) {
			q := New(open(b), Options{MaxBatch: tc.maxBatch})
			defer q.Close()
			var n atomic.Int64
			b.SetParallelism(32)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					m, r := msg(n.Add(1))
					if err := q.Accept(context.Background(), m, r); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
