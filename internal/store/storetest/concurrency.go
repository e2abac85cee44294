package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sesame-email/sesame/internal/store"
)

// testConcurrentClaims runs what several nodes do at once on one store:
// enqueue batches that touch the same counters in different orders, and
// claim due recipients and identities. Every row is claimed exactly once.
func testConcurrentClaims(t *testing.T, s store.Store) {
	ctx := context.Background()
	if err := s.CreateAccount(ctx, account("000000000001", "a")); err != nil {
		t.Fatal(err)
	}
	const writers, perWriter = 4, 30
	var wg sync.WaitGroup
	errs := make(chan error, writers*perWriter+64)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				// Two messages per batch, in opposite account order on
				// alternate writers: counters are locked in both orders.
				a, b := msg(fmt.Sprintf("w%d-%d-a", w, i), t0), msg(fmt.Sprintf("w%d-%d-b", w, i), t0)
				b.AccountID = "000000000002"
				if w%2 == 1 {
					a, b = b, a
				}
				err := s.Enqueue(ctx, []store.Message{a, b}, [][]store.Recipient{
					{rcpt(a.ID, "x@example.org", store.RcptQueued, t0)},
					{rcpt(b.ID, "y@example.org", store.RcptQueued, t0)},
				})
				if err != nil {
					errs <- fmt.Errorf("enqueue: %w", err)
				}
			}
		}()
	}
	for i := range 40 {
		id := identity("000000000001", "us-east-1", fmt.Sprintf("d%02d.example", i), store.IdentityDomain, t0)
		if err := s.CreateIdentity(ctx, id, nil); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if n, _ := s.CountRecipientsSince(ctx, "000000000002", "us-east-1", t0.Add(-time.Hour)); n != writers*perWriter {
		t.Errorf("counter = %d after %d concurrent increments", n, writers*perWriter)
	}

	var mu sync.Mutex
	rcpts := map[string]int{}
	idents := map[string]int{}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := s.ClaimDue(ctx, t0.Add(time.Minute), time.Hour, 7)
				if err != nil {
					errs <- fmt.Errorf("claim: %w", err)
					return
				}
				ids, err := s.ClaimDueIdentities(ctx, t0.Add(time.Minute), time.Hour, 3)
				if err != nil {
					errs <- fmt.Errorf("claim identities: %w", err)
					return
				}
				mu.Lock()
				for _, r := range got {
					rcpts[r.MessageID+" "+r.Address]++
				}
				for _, id := range ids {
					idents[id.Name]++
				}
				mu.Unlock()
				if len(got) == 0 && len(ids) == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(rcpts) != 2*writers*perWriter || len(idents) != 40 {
		t.Errorf("claimed %d recipients and %d identities, want %d and 40", len(rcpts), len(idents), 2*writers*perWriter)
	}
	for k, n := range rcpts {
		if n != 1 {
			t.Errorf("recipient %s claimed %d times", k, n)
		}
	}
	for k, n := range idents {
		if n != 1 {
			t.Errorf("identity %s claimed %d times", k, n)
		}
	}
}
