package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sesame-email/sesame/internal/store"
)

func testResources(t *testing.T, s store.Store) {
	ctx := context.Background()
	mk := func(acct, kind, name, doc string) store.Resource {
		return store.Resource{AccountID: acct, Region: "us-east-1", Kind: kind, Name: name, Doc: []byte(doc), CreatedAt: t0}
	}
	for _, r := range []store.Resource{mk("a", "topic", "t2", `{"n":2}`), mk("a", "topic", "t1", `{"n":1}`), mk("a", "configuration-set", "t1", `{}`), mk("b", "topic", "t1", `{}`)} {
		if err := s.CreateResource(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateResource(ctx, mk("a", "topic", "t1", `{}`)); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate: %v, want ErrConflict", err)
	}
	got, err := s.GetResource(ctx, "a", "us-east-1", "topic", "t1")
	if err != nil || string(got.Doc) != `{"n":1}` || !got.CreatedAt.Equal(t0) {
		t.Errorf("get = %+v, %v", got, err)
	}
	if _, err := s.GetResource(ctx, "a", "eu-west-1", "topic", "t1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("other region: %v, want ErrNotFound", err)
	}
	list, err := s.ListResources(ctx, "a", "us-east-1", "topic", "", 10)
	if err != nil || len(list) != 2 || list[0].Name != "t1" || list[1].Name != "t2" {
		t.Errorf("list = %+v, %v", list, err)
	}
	if list, _ := s.ListResources(ctx, "a", "us-east-1", "topic", "t1", 10); len(list) != 1 || list[0].Name != "t2" {
		t.Errorf("list after t1 = %+v", list)
	}
	if n, err := s.CountResources(ctx, "a", "us-east-1", "topic"); n != 2 || err != nil {
		t.Errorf("count = %d, %v", n, err)
	}
	if err := s.UpdateResource(ctx, "a", "us-east-1", "topic", "t1", func(d []byte) ([]byte, error) {
		return append(d[:len(d)-1:len(d)-1], []byte(`,"x":1}`)...), nil
	}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetResource(ctx, "a", "us-east-1", "topic", "t1"); string(got.Doc) != `{"n":1,"x":1}` {
		t.Errorf("after update: %s", got.Doc)
	}
	boom := errors.New("boom")
	if err := s.UpdateResource(ctx, "a", "us-east-1", "topic", "t1", func([]byte) ([]byte, error) { return nil, boom }); err != boom {
		t.Errorf("aborted update: %v, want fn's error", err)
	}
	if err := s.UpdateResource(ctx, "a", "us-east-1", "topic", "nope", func(d []byte) ([]byte, error) { return d, nil }); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("update missing: %v", err)
	}
	// Concurrent read-modify-write never loses an update.
	done := make(chan error, 8)
	for i := 0; i < 8; i++ {
		go func() {
			done <- s.UpdateResource(ctx, "b", "us-east-1", "topic", "t1", func(d []byte) ([]byte, error) { return append(d, '.'), nil })
		}()
	}
	for i := 0; i < 8; i++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := s.GetResource(ctx, "b", "us-east-1", "topic", "t1"); string(got.Doc) != `{}........` {
		t.Errorf("concurrent updates: %s", got.Doc)
	}
	if err := s.DeleteResource(ctx, "a", "us-east-1", "topic", "t1"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteResource(ctx, "a", "us-east-1", "topic", "t1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
}

func testEvents(t *testing.T, s store.Store) {
	ctx := context.Background()
	ev := func(id, acct, msg, typ string, at time.Time, rcpts ...string) store.Event {
		return store.Event{ID: id, AccountID: acct, Region: "us-east-1", MessageID: msg, Type: typ, Recipients: rcpts, CreatedAt: at, JSON: []byte(`{"eventType":"` + typ + `"}`)}
	}
	note := func(id, sub string, at time.Time) store.Notification {
		return store.Notification{ID: id, AccountID: "a", Region: "us-east-1", TopicARN: "arn:t", SubscriptionARN: sub, Type: "Notification",
			Endpoint: "http://127.0.0.1:1/hook", Body: []byte(`{}`), State: store.NotePending, NextAttempt: at, CreatedAt: at, UpdatedAt: at}
	}
	evs := []store.Event{
		ev("e1", "a", "m1", "Send", t0, "x@example.org", "y@example.org"),
		ev("e2", "a", "m1", "Delivery", t0.Add(time.Second), "x@example.org"),
		ev("e3", "a", "m1", "Bounce", t0.Add(20*time.Minute), "y@example.org"),
		ev("e4", "b", "m2", "Send", t0, "z@example.org"),
	}
	if err := s.AddEvents(ctx, evs, []store.Notification{note("n1", "arn:t:s1", t0), note("n1", "arn:t:s2", t0), note("n2", "arn:t:s1", t0.Add(time.Hour))}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddEvents(ctx, []store.Event{ev("e1", "a", "m1", "Send", t0)}, nil); err == nil {
		t.Error("duplicate event id stored")
	}
	list, err := s.ListEvents(ctx, "a", "us-east-1", store.EventPage{Limit: 10})
	if err != nil || len(list) != 3 || list[0].ID != "e3" || list[2].ID != "e1" || len(list[2].Recipients) != 2 || string(list[0].JSON) != `{"eventType":"Bounce"}` {
		t.Errorf("events = %+v, %v", list, err)
	}
	if list, _ := s.ListEvents(ctx, "a", "us-east-1", store.EventPage{MessageID: "m2", Limit: 10}); len(list) != 0 {
		t.Errorf("another account's message listed: %+v", list)
	}
	if list, _ := s.ListEvents(ctx, "a", "us-east-1", store.EventPage{Before: t0.Add(time.Second), Limit: 10}); len(list) != 1 || list[0].ID != "e1" {
		t.Errorf("before: %+v", list)
	}
	buckets, err := s.EventCounts(ctx, "a", "us-east-1", t0.Add(-time.Hour))
	if err != nil || len(buckets) != 2 || buckets[0].Counts["Send"] != 2 || buckets[0].Counts["Delivery"] != 1 || buckets[1].Counts["Bounce"] != 1 ||
		!buckets[0].Start.Equal(t0.Truncate(15*time.Minute)) {
		t.Errorf("counts = %+v, %v", buckets, err)
	}

	claimed, err := s.ClaimNotifications(ctx, t0, time.Minute, 10)
	if err != nil || len(claimed) != 2 {
		t.Fatalf("claim = %+v, %v", claimed, err)
	}
	if again, _ := s.ClaimNotifications(ctx, t0.Add(30*time.Second), time.Minute, 10); len(again) != 0 {
		t.Errorf("claimed twice within the lease: %+v", again)
	}
	c := claimed[0]
	c.State, c.Attempts, c.LastResult, c.UpdatedAt = store.NoteDelivered, 1, "200 OK", t0.Add(time.Second)
	if err := s.UpdateNotification(ctx, c); err != nil {
		t.Fatal(err)
	}
	d := claimed[1]
	d.Attempts, d.LastResult, d.NextAttempt = 1, "connection refused", t0.Add(10*time.Second)
	if err := s.UpdateNotification(ctx, d); err != nil {
		t.Fatal(err)
	}
	got, _ := s.ClaimNotifications(ctx, t0.Add(2*time.Hour), time.Minute, 10)
	if len(got) != 2 {
		t.Errorf("after update, due = %+v", got)
	}
	for _, n := range got {
		if n.ID == c.ID && n.SubscriptionARN == c.SubscriptionARN {
			t.Errorf("delivered notification claimed again")
		}
	}
	all, err := s.ListNotifications(ctx, "a", "us-east-1", "arn:t", 10)
	if err != nil || len(all) != 3 {
		t.Errorf("list notifications = %d, %v", len(all), err)
	}
	if err := s.DeleteEventsBefore(ctx, t0.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.ListEvents(ctx, "a", "us-east-1", store.EventPage{Limit: 10}); len(list) != 1 {
		t.Errorf("after prune: %d events", len(list))
	}
	all, _ = s.ListNotifications(ctx, "a", "us-east-1", "", 10)
	if len(all) != 2 {
		t.Errorf("prune must keep pending notifications and drop settled old ones: %d left", len(all))
	}
}
