// Package storetest is the conformance suite every store.Store
// implementation must pass. An implementation's test calls Run with a
// function that returns a fresh, empty store.
package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sesame-email/sesame/internal/store"
)

// Factory returns a new empty store; the suite closes it.
type Factory func(t *testing.T) store.Store

// Run runs every conformance test against stores made by newStore.
func Run(t *testing.T, newStore Factory) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Accounts", testAccounts},
		{"RegionSettings", testRegionSettings},
		{"Keys", testKeys},
		{"Identities", testIdentities},
		{"ModifyIdentity", testModifyIdentity},
		{"Templates", testTemplates},
		{"Queue", testQueue},
		{"DeliveryStats", testDeliveryStats},
		{"Suppressions", testSuppressions},
		{"ConcurrentClaims", testConcurrentClaims},
		{"Resources", testResources},
		{"Events", testEvents},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			t.Cleanup(func() { s.Close() })
			tc.fn(t, s)
		})
	}
}

var t0 = time.Date(2024, 1, 15, 10, 15, 0, 123_000_000, time.UTC)

func account(id, name string) store.Account {
	return store.Account{ID: id, Name: name, Mode: store.ModeSandbox, Max24HourSend: 200, MaxSendRate: 1, CreatedAt: t0}
}

func testAccounts(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := account("000000000001", "default")
	if err := s.CreateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAccount(ctx, account("000000000001", "other")); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate id: err = %v, want ErrConflict", err)
	}
	if err := s.CreateAccount(ctx, account("000000000002", "default")); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate name: err = %v, want ErrConflict", err)
	}
	got, err := s.GetAccount(ctx, a.ID)
	if err != nil || got != a {
		t.Errorf("GetAccount = %+v, %v; want %+v", got, err, a)
	}
	got, err = s.GetAccountByName(ctx, "default")
	if err != nil || got != a {
		t.Errorf("GetAccountByName = %+v, %v", got, err)
	}
	if _, err := s.GetAccount(ctx, "999"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetAccount(unknown) err = %v", err)
	}
	if _, err := s.GetAccountByName(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetAccountByName(unknown) err = %v", err)
	}
	if err := s.CreateAccount(ctx, account("000000000002", "alpha")); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListAccounts(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "alpha" || list[1].Name != "default" {
		t.Errorf("ListAccounts = %+v, %v", list, err)
	}
	a.Mode, a.Max24HourSend, a.MaxSendRate = store.ModeProduction, -1, 14
	if err := s.UpdateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetAccount(ctx, a.ID); got != a {
		t.Errorf("after update %+v, want %+v", got, a)
	}
	if err := s.UpdateAccount(ctx, account("123", "x")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateAccount(unknown) err = %v", err)
	}
}

func testRegionSettings(t *testing.T, s store.Store) {
	ctx := context.Background()
	if err := s.CreateAccount(ctx, account("000000000001", "default")); err != nil {
		t.Fatal(err)
	}
	rs, err := s.GetRegionSettings(ctx, "000000000001", "us-east-1")
	if err != nil || !rs.SendingEnabled || rs.Region != "us-east-1" {
		t.Fatalf("default settings = %+v, %v", rs, err)
	}
	rs.SendingEnabled = false
	if err := s.PutRegionSettings(ctx, rs); err != nil {
		t.Fatal(err)
	}
	got, _ := s.GetRegionSettings(ctx, "000000000001", "us-east-1")
	if got.SendingEnabled {
		t.Error("sending still enabled after put")
	}
	other, _ := s.GetRegionSettings(ctx, "000000000001", "eu-west-1")
	if !other.SendingEnabled {
		t.Error("another region changed too")
	}
	rs.SendingEnabled = true
	if err := s.PutRegionSettings(ctx, rs); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetRegionSettings(ctx, "000000000001", "us-east-1"); !got.SendingEnabled {
		t.Error("upsert did not update")
	}
}

func testKeys(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, a := range []store.Account{account("000000000001", "a"), account("000000000002", "b")} {
		if err := s.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	k1 := store.AccessKey{ID: "AKIAAAAAAAAAAAAAAAA1", AccountID: "000000000001", SealedSecret: []byte{1, 2, 3}, Admin: true, Description: "first", CreatedAt: t0}
	k2 := store.AccessKey{ID: "AKIAAAAAAAAAAAAAAAA2", AccountID: "000000000001", SealedSecret: []byte{4}, CreatedAt: t0.Add(time.Second)}
	k3 := store.AccessKey{ID: "AKIAAAAAAAAAAAAAAAA3", AccountID: "000000000002", SealedSecret: []byte{5}, CreatedAt: t0}
	for _, k := range []store.AccessKey{k2, k1, k3} {
		if err := s.CreateKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateKey(ctx, k1); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate key err = %v", err)
	}
	orphan := k1
	orphan.ID, orphan.AccountID = "AKIAORPHAN", "404"
	if err := s.CreateKey(ctx, orphan); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("key for unknown account err = %v, want ErrNotFound", err)
	}
	got, err := s.GetKey(ctx, k1.ID)
	if err != nil || got.ID != k1.ID || !got.Admin || string(got.SealedSecret) != string(k1.SealedSecret) || !got.CreatedAt.Equal(k1.CreatedAt) || got.Description != "first" {
		t.Errorf("GetKey = %+v, %v", got, err)
	}
	list, err := s.ListKeys(ctx, "000000000001")
	if err != nil || len(list) != 2 || list[0].ID != k1.ID || list[1].ID != k2.ID {
		t.Errorf("ListKeys = %+v, %v", list, err)
	}
	if err := s.DeleteKey(ctx, k1.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteKey(ctx, k1.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete err = %v", err)
	}
	if _, err := s.GetKey(ctx, k1.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetKey after delete err = %v", err)
	}
	if list, _ := s.ListKeys(ctx, "000000000002"); len(list) != 1 || list[0].ID != k3.ID {
		t.Errorf("other account's keys = %+v", list)
	}
}
