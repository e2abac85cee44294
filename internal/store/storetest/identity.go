package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/sesame-email/sesame/internal/store"
)

func identity(acct, region, name string, typ store.IdentityType, next time.Time) store.Identity {
	return store.Identity{
		AccountID: acct, Region: region, Name: name, Type: typ, CreatedAt: t0, NextCheck: next,
		Verification: store.Verification{Status: store.StatusPending, Since: t0},
		Token:        "tok-" + name,
		DKIM: store.DKIMSettings{Origin: "AWS_SES", SigningEnabled: true, Tokens: []string{"a", "b", "c"},
			Verification: store.Verification{Status: store.StatusPending, Since: t0, Records: []store.RecordCheck{{Type: "CNAME", Name: "a._domainkey." + name, Expected: "a.dkim.sesame.localhost", Problem: "NXDOMAIN"}}}},
		MailFrom:           store.MailFromSettings{Behavior: "USE_DEFAULT_VALUE"},
		FeedbackForwarding: true,
		Tags:               []store.Tag{{Key: "team", Value: "mail"}},
	}
}

func key(acct, region, ident, sel string, easy, active bool) store.DKIMKey {
	return store.DKIMKey{Selector: sel, AccountID: acct, Region: region, Identity: ident, Easy: easy, SealedKey: []byte("sealed-" + sel), PublicTXT: "p=" + sel, Active: active, CreatedAt: t0}
}

func testIdentities(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, a := range []store.Account{account("000000000001", "a"), account("000000000002", "b")} {
		if err := s.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	ex := identity("000000000001", "us-east-1", "example.com", store.IdentityDomain, t0)
	exKeys := []store.DKIMKey{key("000000000001", "us-east-1", "example.com", "tok1", true, true), key("000000000001", "us-east-1", "example.com", "tok2", true, true)}
	if err := s.CreateIdentity(ctx, ex, exKeys); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateIdentity(ctx, ex, nil); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate identity err = %v", err)
	}
	// A token is unique across the installation: it is a DNS name.
	clash := identity("000000000002", "us-east-1", "other.com", store.IdentityDomain, t0)
	if err := s.CreateIdentity(ctx, clash, []store.DKIMKey{key("000000000002", "us-east-1", "other.com", "tok1", true, true)}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("reused Easy DKIM token err = %v", err)
	}
	if _, err := s.GetIdentity(ctx, "000000000002", "us-east-1", "other.com"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("failed create left a row: %v", err)
	}
	// The same name in another account or region is a different identity.
	for _, id := range []store.Identity{
		identity("000000000002", "us-east-1", "example.com", store.IdentityDomain, t0.Add(time.Hour)),
		identity("000000000001", "eu-west-1", "example.com", store.IdentityDomain, t0.Add(time.Hour)),
		identity("000000000001", "us-east-1", "ann@example.com", store.IdentityEmail, t0.Add(2*time.Hour)),
		identity("000000000001", "us-east-1", "zed.org", store.IdentityDomain, t0.Add(3*time.Hour)),
	} {
		if err := s.CreateIdentity(ctx, id, nil); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.GetIdentity(ctx, "000000000001", "us-east-1", "example.com")
	if err != nil || !reflect.DeepEqual(got, ex) {
		t.Errorf("GetIdentity = %+v, %v\nwant %+v", got, err, ex)
	}
	if _, err := s.GetIdentity(ctx, "000000000001", "us-west-2", "example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("other region err = %v", err)
	}
	list, err := s.ListIdentities(ctx, "000000000001", "us-east-1", store.IdentityPage{Limit: 2})
	if err != nil || len(list) != 2 || list[0].Name != "ann@example.com" || list[1].Name != "example.com" {
		t.Errorf("page 1 = %v, %v", names(list), err)
	}
	list, _ = s.ListIdentities(ctx, "000000000001", "us-east-1", store.IdentityPage{After: "example.com", Limit: 2})
	if len(list) != 1 || list[0].Name != "zed.org" {
		t.Errorf("page 2 = %v", names(list))
	}
	list, _ = s.ListIdentities(ctx, "000000000001", "us-east-1", store.IdentityPage{Type: store.IdentityEmail})
	if len(list) != 1 || list[0].Name != "ann@example.com" {
		t.Errorf("emails = %v", names(list))
	}
	if n, err := s.CountIdentities(ctx, "000000000001", "us-east-1"); err != nil || n != 3 {
		t.Errorf("count = %d, %v", n, err)
	}

	keys, err := s.DKIMKeys(ctx, "000000000001", "us-east-1", "example.com")
	if err != nil || len(keys) != 2 || !reflect.DeepEqual(keys[0], exKeys[0]) {
		t.Errorf("DKIMKeys = %+v, %v", keys, err)
	}
	k, err := s.EasyDKIMKey(ctx, "tok2")
	if err != nil || k.Identity != "example.com" || k.PublicTXT != "p=tok2" {
		t.Errorf("EasyDKIMKey = %+v, %v", k, err)
	}
	if _, err := s.EasyDKIMKey(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown token err = %v", err)
	}

	// Update without keys keeps them; with keys replaces them.
	ex.Verification.Status = store.StatusSuccess
	ex.NextCheck = t0.Add(24 * time.Hour)
	if err := s.UpdateIdentity(ctx, ex, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetIdentity(ctx, ex.AccountID, ex.Region, ex.Name); got.Verification.Status != store.StatusSuccess {
		t.Error("update lost")
	}
	if keys, _ := s.DKIMKeys(ctx, ex.AccountID, ex.Region, ex.Name); len(keys) != 2 {
		t.Errorf("keys changed by a plain update: %d", len(keys))
	}
	newKeys := []store.DKIMKey{key(ex.AccountID, ex.Region, ex.Name, "tok2", true, false), key(ex.AccountID, ex.Region, ex.Name, "tok3", true, true)}
	if err := s.UpdateIdentity(ctx, ex, &newKeys); err != nil {
		t.Fatal(err)
	}
	keys, _ = s.DKIMKeys(ctx, ex.AccountID, ex.Region, ex.Name)
	if len(keys) != 2 || keys[0].Selector != "tok3" || !keys[0].Active || keys[1].Active {
		t.Errorf("replaced keys (active first) = %+v", keys)
	}
	if _, err := s.EasyDKIMKey(ctx, "tok1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("replaced key still served: %v", err)
	}
	if err := s.UpdateIdentity(ctx, identity("000000000001", "us-east-1", "ghost.com", store.IdentityDomain, t0), nil); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("update unknown err = %v", err)
	}

	due, err := s.DueIdentities(ctx, t0.Add(90*time.Minute), 10)
	if err != nil || len(due) != 2 {
		t.Errorf("due = %v, %v", names(due), err)
	}
	// A claim leases: claimed identities are not due again until it ends.
	claimed, err := s.ClaimDueIdentities(ctx, t0.Add(90*time.Minute), time.Minute, 1)
	if err != nil || len(claimed) != 1 || !claimed[0].NextCheck.Equal(t0.Add(91*time.Minute)) {
		t.Errorf("claim = %v, %v", claimed, err)
	}
	if got, _ := s.GetIdentity(ctx, claimed[0].AccountID, claimed[0].Region, claimed[0].Name); !got.NextCheck.Equal(t0.Add(91 * time.Minute)) {
		t.Errorf("claimed identity's NextCheck = %v, want the lease end", got.NextCheck)
	}
	if again, _ := s.ClaimDueIdentities(ctx, t0.Add(90*time.Minute), time.Minute, 10); len(again) != 1 || again[0].AccountID+again[0].Region == claimed[0].AccountID+claimed[0].Region {
		t.Errorf("second claim = %v (the first is leased)", names(again))
	}
	if none, _ := s.ClaimDueIdentities(ctx, t0.Add(90*time.Minute), time.Minute, 10); len(none) != 0 {
		t.Errorf("third claim = %v", names(none))
	}
	if later, _ := s.ClaimDueIdentities(ctx, t0.Add(92*time.Minute), time.Minute, 10); len(later) != 2 {
		t.Errorf("after the leases end: %v", names(later))
	}

	if err := s.DeleteIdentity(ctx, ex.AccountID, ex.Region, ex.Name); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteIdentity(ctx, ex.AccountID, ex.Region, ex.Name); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete err = %v", err)
	}
	if n, err := s.CountIdentities(ctx, ex.AccountID, ex.Region); err != nil || n != 2 {
		t.Errorf("count after delete = %d, %v; want 2", n, err)
	}
	if n, err := s.CountIdentities(ctx, "000000000002", "ap-south-1"); err != nil || n != 0 {
		t.Errorf("count of an empty region = %d, %v", n, err)
	}
	if _, err := s.EasyDKIMKey(ctx, "tok3"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted identity's key still served: %v", err)
	}
	if _, err := s.GetIdentity(ctx, "000000000002", "us-east-1", "example.com"); err != nil {
		t.Errorf("other account's identity deleted too: %v", err)
	}
}

func names(ids []store.Identity) []string {
	var out []string
	for _, id := range ids {
		out = append(out, id.Name)
	}
	return out
}

// testModifyIdentity: concurrent read-modify-writes of one identity lose
// nothing; an error from fn changes nothing; a missing identity is
// ErrNotFound.
func testModifyIdentity(t *testing.T, s store.Store) {
	ctx := context.Background()
	if err := s.CreateAccount(ctx, account("000000000001", "a")); err != nil {
		t.Fatal(err)
	}
	ex := identity("000000000001", "us-east-1", "example.com", store.IdentityDomain, t0)
	if err := s.CreateIdentity(ctx, ex, nil); err != nil {
		t.Fatal(err)
	}
	const writers = 16
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.ModifyIdentity(ctx, ex.AccountID, ex.Region, ex.Name, func(id *store.Identity) error {
				id.Tags = append(id.Tags, store.Tag{Key: fmt.Sprint("k", i), Value: "v"})
				return nil
			})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.GetIdentity(ctx, ex.AccountID, ex.Region, ex.Name)
	if err != nil || len(got.Tags) != writers+len(ex.Tags) {
		t.Fatalf("after %d concurrent modifications: %d tags, %v", writers, len(got.Tags), err)
	}
	boom := errors.New("boom")
	if _, err := s.ModifyIdentity(ctx, ex.AccountID, ex.Region, ex.Name, func(id *store.Identity) error {
		id.Tags = nil
		return boom
	}); err != boom {
		t.Errorf("fn's error came back as %v", err)
	}
	next := t0.Add(time.Hour)
	out, err := s.ModifyIdentity(ctx, ex.AccountID, ex.Region, ex.Name, func(id *store.Identity) error {
		id.NextCheck = next
		return nil
	})
	if err != nil || len(out.Tags) != writers+len(ex.Tags) || !out.NextCheck.Equal(next) {
		t.Errorf("modify after an aborted one: %d tags, next %v, %v", len(out.Tags), out.NextCheck, err)
	}
	if due, _ := s.DueIdentities(ctx, t0.Add(30*time.Minute), 10); len(due) != 0 {
		t.Errorf("NextCheck was not stored: %d due", len(due))
	}
	if _, err := s.ModifyIdentity(ctx, ex.AccountID, ex.Region, "nope.example", func(*store.Identity) error { return nil }); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing identity: %v", err)
	}
}
