package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sesame-email/sesame/internal/store"
)

func testSuppressions(t *testing.T, s store.Store) {
	ctx := context.Background()
	put := func(addr, reason string, at time.Time) {
		if err := s.PutSuppression(ctx, store.Suppression{AccountID: "a", Region: "us-east-1", Address: addr, Reason: reason, UpdatedAt: at, MessageID: "m-" + addr}); err != nil {
			t.Fatal(err)
		}
	}
	put("Gone@Example.org", "BOUNCE", t0)
	put("angry@example.org", "COMPLAINT", t0.Add(time.Hour))
	put("old@example.org", "BOUNCE", t0.Add(-48*time.Hour))
	if err := s.PutSuppression(ctx, store.Suppression{AccountID: "b", Region: "us-east-1", Address: "gone@example.org", Reason: "BOUNCE", UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetSuppression(ctx, "a", "us-east-1", "GONE@example.org")
	if err != nil || got.Address != "gone@example.org" || got.Reason != "BOUNCE" || got.MessageID != "m-Gone@Example.org" || !got.UpdatedAt.Equal(t0) {
		t.Errorf("get = %+v, %v", got, err)
	}
	put("gone@example.org", "COMPLAINT", t0.Add(2*time.Hour)) // replaces
	if got, _ := s.GetSuppression(ctx, "a", "us-east-1", "gone@example.org"); got.Reason != "COMPLAINT" {
		t.Errorf("replace: %+v", got)
	}
	list, err := s.ListSuppressions(ctx, "a", "us-east-1", store.SuppressionPage{})
	if err != nil || len(list) != 3 || list[0].Address != "angry@example.org" {
		t.Errorf("list = %+v, %v", list, err)
	}
	list, _ = s.ListSuppressions(ctx, "a", "us-east-1", store.SuppressionPage{Reasons: []string{"BOUNCE"}})
	if len(list) != 1 || list[0].Address != "old@example.org" {
		t.Errorf("BOUNCE only = %+v", list)
	}
	list, _ = s.ListSuppressions(ctx, "a", "us-east-1", store.SuppressionPage{Start: t0.Add(-time.Hour), End: t0.Add(90 * time.Minute)})
	if len(list) != 1 || list[0].Address != "angry@example.org" {
		t.Errorf("date range = %+v", list)
	}
	list, _ = s.ListSuppressions(ctx, "a", "us-east-1", store.SuppressionPage{After: "gone@example.org", Limit: 5})
	if len(list) != 1 || list[0].Address != "old@example.org" {
		t.Errorf("page 2 = %+v", list)
	}
	among, err := s.SuppressedAmong(ctx, "a", "us-east-1", []string{"gone@example.org", "fine@example.org"})
	if err != nil || len(among) != 1 || among["gone@example.org"].Reason != "COMPLAINT" {
		t.Errorf("among = %+v, %v", among, err)
	}
	if among, _ := s.SuppressedAmong(ctx, "a", "eu-west-1", []string{"gone@example.org"}); len(among) != 0 {
		t.Errorf("another region's list applied: %+v", among)
	}
	if err := s.DeleteSuppression(ctx, "a", "us-east-1", "gone@example.org"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSuppression(ctx, "a", "us-east-1", "gone@example.org"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	if _, err := s.GetSuppression(ctx, "b", "us-east-1", "gone@example.org"); err != nil {
		t.Errorf("another account's entry removed: %v", err)
	}
}
