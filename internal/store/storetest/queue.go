package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sesame-email/sesame/internal/store"
)

func msg(id string, created time.Time) store.Message {
	return store.Message{ID: id, AccountID: "000000000001", Region: "us-east-1", MailFrom: id + "@us-east-1.sesame.localhost",
		From: "a@example.com", Subject: "s", Tags: map[string][]string{"k": {"v"}}, CreatedAt: created, Data: []byte("From: a@example.com\r\n\r\n" + id)}
}

func rcpt(id, addr string, state store.RecipientState, next time.Time) store.Recipient {
	return store.Recipient{MessageID: id, Address: addr, Domain: "example.org", State: state, NextAttempt: next, UpdatedAt: next}
}

func testQueue(t *testing.T, s store.Store) {
	ctx := context.Background()
	m1, m2 := msg("m1", t0), msg("m2", t0.Add(time.Minute))
	err := s.Enqueue(ctx, []store.Message{m1, m2}, [][]store.Recipient{
		{rcpt("m1", "a@example.org", store.RcptQueued, t0), rcpt("m1", "b@example.org", store.RcptQueued, t0.Add(time.Hour))},
		{rcpt("m2", "c@example.org", store.RcptQueued, t0.Add(time.Minute))},
	})
	if err != nil {
		t.Fatal(err)
	}
	// A batch with a duplicate id fails whole: nothing of it is stored.
	m3 := msg("m3", t0)
	if err := s.Enqueue(ctx, []store.Message{m3, m1}, [][]store.Recipient{{rcpt("m3", "x@example.org", store.RcptQueued, t0)}, nil}); err == nil {
		t.Error("duplicate message id accepted")
	}
	if _, err := s.GetMessage(ctx, "m3"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("half a failed batch stored: %v", err)
	}
	got, err := s.GetMessage(ctx, "m1")
	if err != nil || string(got.Data) != string(m1.Data) || got.Tags["k"][0] != "v" || !got.CreatedAt.Equal(t0) || got.MailFrom != m1.MailFrom {
		t.Errorf("GetMessage = %+v, %v", got, err)
	}
	rs, err := s.Recipients(ctx, "m1")
	if err != nil || len(rs) != 2 || rs[0].Address != "a@example.org" {
		t.Errorf("Recipients = %+v, %v", rs, err)
	}
	due, err := s.DueRecipients(ctx, t0.Add(30*time.Minute), 10)
	if err != nil || len(due) != 2 || due[0].Address != "a@example.org" || due[1].Address != "c@example.org" {
		t.Errorf("due = %+v, %v", due, err)
	}
	r := due[0]
	r.State, r.Attempts, r.LastResponse = store.RcptDelivered, 1, "250 ok"
	if err := s.UpdateRecipient(ctx, r); err != nil {
		t.Fatal(err)
	}
	due, _ = s.DueRecipients(ctx, t0.Add(2*time.Hour), 10)
	if len(due) != 2 || due[0].Address != "c@example.org" {
		t.Errorf("due after delivery = %+v", due)
	}
	if err := s.UpdateRecipient(ctx, rcpt("nope", "x@example.org", store.RcptBounced, t0)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("update unknown: %v", err)
	}
	// A batch of outcomes: all or nothing.
	b1, c1 := rcpt("m1", "b@example.org", store.RcptDeferred, t0.Add(5*time.Hour)), rcpt("m2", "c@example.org", store.RcptQueued, t0.Add(6*time.Hour))
	b1.LastResponse = "451 later"
	if err := s.UpdateRecipients(ctx, []store.Recipient{b1, rcpt("nope", "x@example.org", store.RcptBounced, t0)}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("batch with an unknown recipient: %v", err)
	}
	if rs, _ := s.Recipients(ctx, "m1"); rs[1].LastResponse == "451 later" {
		t.Errorf("half a failed batch of outcomes stored: %+v", rs[1])
	}
	if err := s.UpdateRecipients(ctx, []store.Recipient{b1, c1}); err != nil {
		t.Fatal(err)
	}
	if rs, _ := s.Recipients(ctx, "m1"); rs[1].State != store.RcptDeferred || rs[1].LastResponse != "451 later" || !rs[1].NextAttempt.Equal(t0.Add(5*time.Hour)) {
		t.Errorf("after the batch: %+v", rs[1])
	}
	// Put them back as they were for what follows.
	if err := s.UpdateRecipients(ctx, []store.Recipient{rcpt("m1", "b@example.org", store.RcptQueued, t0.Add(time.Hour)), rcpt("m2", "c@example.org", store.RcptQueued, t0.Add(time.Minute))}); err != nil {
		t.Fatal(err)
	}
	// A claim leases: claimed recipients are not due again until the lease ends.
	claimed, err := s.ClaimDue(ctx, t0.Add(2*time.Hour), 10*time.Minute, 1)
	if err != nil || len(claimed) != 1 || claimed[0].Address != "c@example.org" || !claimed[0].NextAttempt.Equal(t0.Add(2*time.Hour+10*time.Minute)) {
		t.Errorf("claim = %+v, %v", claimed, err)
	}
	if again, _ := s.ClaimDue(ctx, t0.Add(2*time.Hour), 10*time.Minute, 10); len(again) != 1 || again[0].Address != "b@example.org" {
		t.Errorf("second claim = %+v (c@ is leased)", again)
	}
	if none, _ := s.ClaimDue(ctx, t0.Add(2*time.Hour), 10*time.Minute, 10); len(none) != 0 {
		t.Errorf("third claim = %+v", none)
	}
	if later, _ := s.ClaimDue(ctx, t0.Add(3*time.Hour), 10*time.Minute, 10); len(later) != 2 {
		t.Errorf("after the leases end: %+v", later)
	}
	sum, err := s.QueueSummary(ctx, "000000000001", "us-east-1")
	if err != nil || len(sum) != 1 || sum[0].Domain != "example.org" || sum[0].Queued != 2 || !sum[0].Oldest.Equal(t0) {
		t.Errorf("summary = %+v, %v", sum, err)
	}
	if n, err := s.MoveRecipients(ctx, "m1", []store.RecipientState{store.RcptQueued, store.RcptDeferred}, store.RcptHeld, t0); err != nil || n != 1 {
		t.Errorf("hold moved %d, %v", n, err)
	}
	if sum, _ := s.QueueSummary(ctx, "000000000001", "us-east-1"); len(sum) != 1 || sum[0].Held != 1 || sum[0].Queued != 1 {
		t.Errorf("summary after hold = %+v", sum)
	}
	if due, _ := s.ClaimDue(ctx, t0.Add(10*time.Hour), time.Minute, 10); len(due) != 1 || due[0].MessageID != "m2" {
		t.Errorf("a held recipient was claimed: %+v", due)
	}
	if n, _ := s.MoveRecipients(ctx, "m1", []store.RecipientState{store.RcptHeld}, store.RcptQueued, t0); n != 1 {
		t.Errorf("release moved %d", n)
	}
	list, err := s.ListMessages(ctx, "000000000001", "us-east-1", time.Time{}, 10)
	if err != nil || len(list) != 2 || list[0].ID != "m2" || list[0].Data != nil {
		t.Errorf("ListMessages = %+v, %v", list, err)
	}
	if other, _ := s.ListMessages(ctx, "000000000002", "us-east-1", time.Time{}, 10); len(other) != 0 {
		t.Errorf("another account sees %d messages", len(other))
	}
	// A notice from the null sender is queued but not counted.
	notice := store.Message{ID: "notice", AccountID: "000000000001", Region: "us-east-1", MailFrom: "", From: "MAILER-DAEMON@us-east-1.example", CreatedAt: t0, Data: []byte("x")}
	if err := s.Enqueue(ctx, []store.Message{notice}, [][]store.Recipient{{rcpt("notice", "ann@example.com", store.RcptQueued, t0)}}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.CountRecipientsSince(ctx, "000000000001", "us-east-1", t0.Add(-time.Hour)); err != nil || n != 3 {
		t.Errorf("count = %d, %v (notices must not count)", n, err)
	}
	if err := s.DeleteMessage(ctx, "notice"); err != nil {
		t.Fatal(err)
	}
	// Retention: only old messages whose recipients are all final go.
	old1, old2 := msg("old1", t0.Add(-48*time.Hour)), msg("old2", t0.Add(-47*time.Hour))
	if err := s.Enqueue(ctx, []store.Message{old1, old2}, [][]store.Recipient{
		{rcpt("old1", "a@example.org", store.RcptDelivered, t0), rcpt("old1", "b@example.org", store.RcptBounced, t0)},
		{rcpt("old2", "a@example.org", store.RcptDelivered, t0), rcpt("old2", "b@example.org", store.RcptDeferred, t0)},
	}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.PruneMessages(ctx, t0.Add(-24*time.Hour), 100); err != nil || n != 1 {
		t.Errorf("prune removed %d, %v; want only old1", n, err)
	}
	if _, err := s.GetMessage(ctx, "old1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("old1 after prune: %v", err)
	}
	if rs, _ := s.Recipients(ctx, "old1"); len(rs) != 0 {
		t.Errorf("recipients of a pruned message remain: %+v", rs)
	}
	if _, err := s.GetMessage(ctx, "old2"); err != nil {
		t.Errorf("old2 (one recipient pending) was pruned: %v", err)
	}
	if err := s.DeleteMessage(ctx, "old2"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMessage(ctx, "m2"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMessage(ctx, "m2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	if rs, _ := s.Recipients(ctx, "m2"); len(rs) != 0 {
		t.Errorf("recipients of a deleted message remain: %+v", rs)
	}
	if n, _ := s.CountRecipientsSince(ctx, "000000000001", "us-east-1", t0.Add(24*time.Hour)); n != 0 {
		t.Errorf("count in the future = %d", n)
	}
	stats, err := s.SendStats(ctx, "000000000001", "us-east-1", t0.Add(-time.Hour))
	if err != nil || len(stats) != 1 || stats[0].Sent != 3 || stats[0].Start.After(t0) || t0.Sub(stats[0].Start) >= 15*time.Minute {
		t.Errorf("stats = %+v, %v", stats, err)
	}
}

// testDeliveryStats: deliveries count in the bucket of the update that made
// them, for the message's own account and region; a failed batch counts
// nothing, and other states never count.
func testDeliveryStats(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := msg("a", t0)
	b := msg("b", t0)
	b.AccountID = "000000000002"
	if err := s.Enqueue(ctx, []store.Message{a, b}, [][]store.Recipient{
		{rcpt("a", "x@example.org", store.RcptQueued, t0), rcpt("a", "y@example.org", store.RcptQueued, t0), rcpt("a", "z@example.org", store.RcptQueued, t0)},
		{rcpt("b", "x@example.org", store.RcptQueued, t0)},
	}); err != nil {
		t.Fatal(err)
	}
	at := func(id, addr string, st store.RecipientState, when time.Time) store.Recipient {
		r := rcpt(id, addr, st, when)
		r.Attempts = 1
		return r
	}
	later := t0.Add(time.Hour)
	if err := s.UpdateRecipients(ctx, []store.Recipient{
		at("a", "x@example.org", store.RcptDelivered, t0), at("a", "y@example.org", store.RcptDelivered, t0),
		at("a", "z@example.org", store.RcptDeferred, t0), at("b", "x@example.org", store.RcptDelivered, t0),
	}); err != nil {
		t.Fatal(err)
	}
	// A batch that fails on a missing recipient counts nothing.
	if err := s.UpdateRecipients(ctx, []store.Recipient{at("a", "z@example.org", store.RcptDelivered, later), at("nope", "q@example.org", store.RcptDelivered, later)}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("failed batch: %v", err)
	}
	if err := s.UpdateRecipient(ctx, at("a", "z@example.org", store.RcptDelivered, later)); err != nil {
		t.Fatal(err)
	}
	stats, err := s.SendStats(ctx, "000000000001", "us-east-1", t0.Add(-time.Hour))
	if err != nil || len(stats) != 2 {
		t.Fatalf("stats = %+v, %v; want two buckets", stats, err)
	}
	if stats[0].Sent != 3 || stats[0].Delivered != 2 || !stats[1].Start.After(t0) || stats[1].Sent != 0 || stats[1].Delivered != 1 {
		t.Errorf("stats = %+v; want 3 sent + 2 delivered, then 1 delivered an hour later", stats)
	}
	if n, _ := s.CountRecipientsSince(ctx, "000000000001", "us-east-1", t0.Add(-time.Hour)); n != 3 {
		t.Errorf("deliveries changed the 24-hour count: %d", n)
	}
	other, err := s.SendStats(ctx, "000000000002", "us-east-1", t0.Add(-time.Hour))
	if err != nil || len(other) != 1 || other[0].Sent != 1 || other[0].Delivered != 1 {
		t.Errorf("other account's stats = %+v, %v", other, err)
	}
}
