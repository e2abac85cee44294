package account

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/sesame-email/sesame/internal/clock"
	"github.com/sesame-email/sesame/internal/sealer"
	"github.com/sesame-email/sesame/internal/store"
	"github.com/sesame-email/sesame/internal/store/sqlite"
)

func newService(t *testing.T) *Service {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sl, _ := sealer.New(bytes.Repeat([]byte{1}, sealer.KeySize))
	return New(st, sl, clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), slog.New(slog.DiscardHandler))
}

func TestBootstrapOnce(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	c := NewCredentials()
	did, err := s.Bootstrap(ctx, c)
	if err != nil || !did {
		t.Fatalf("Bootstrap = %v, %v", did, err)
	}
	if did, _ := s.Bootstrap(ctx, NewCredentials()); did {
		t.Fatal("second Bootstrap created another account")
	}
	p, secret, err := s.Lookup(ctx, c.AccessKeyID)
	if err != nil || secret != c.SecretAccessKey || !p.Admin {
		t.Fatalf("Lookup = %+v %q %v", p, secret, err)
	}
	a, err := s.Get(ctx, p.AccountID)
	if err != nil || a.Name != "default" || a.Mode != store.ModeProduction || a.Max24HourSend != Unlimited {
		t.Fatalf("default account = %+v, %v", a, err)
	}
}

func TestAccountsAndKeys(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	a, err := s.CreateAccount(ctx, "tenant-a", store.ModeSandbox)
	if err != nil {
		t.Fatal(err)
	}
	if a.Max24HourSend != 200 || a.MaxSendRate != 1 {
		t.Errorf("sandbox quotas = %v/%v", a.Max24HourSend, a.MaxSendRate)
	}
	if _, err := s.CreateAccount(ctx, "tenant-a", store.ModeSandbox); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate name err = %v", err)
	}
	for _, bad := range []string{"", "-x", "a b", string(make([]byte, 70))} {
		if _, err := s.CreateAccount(ctx, bad, store.ModeSandbox); !errors.Is(err, ErrInvalid) {
			t.Errorf("name %q err = %v", bad, err)
		}
	}
	if _, err := s.CreateAccount(ctx, "x", "gold"); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad mode err = %v", err)
	}
	prod := store.ModeProduction
	q := 5000.0
	a, err = s.Update(ctx, a.ID, Update{Mode: &prod, Max24HourSend: &q})
	if err != nil || a.Mode != prod || a.Max24HourSend != 5000 || a.MaxSendRate != 1 {
		t.Errorf("Update = %+v, %v", a, err)
	}
	neg := -5.0
	if _, err := s.Update(ctx, a.ID, Update{MaxSendRate: &neg}); !errors.Is(err, ErrInvalid) {
		t.Errorf("negative quota err = %v", err)
	}
	if r, err := s.Resolve(ctx, "tenant-a"); err != nil || r.ID != a.ID {
		t.Errorf("Resolve by name = %+v, %v", r, err)
	}

	admin, err := s.CreateKey(ctx, a.ID, true, "")
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := s.CreateKey(ctx, a.ID, false, "app")
	keys, err := s.ListKeys(ctx, a.ID)
	if err != nil || len(keys) != 2 || keys[0].SealedSecret != nil {
		t.Fatalf("ListKeys = %+v, %v", keys, err)
	}
	if err := s.DeleteKey(ctx, admin.AccessKeyID); !errors.Is(err, ErrInvalid) {
		t.Errorf("deleting the last admin key: err = %v", err)
	}
	if err := s.DeleteKey(ctx, k2.AccessKeyID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Lookup(ctx, k2.AccessKeyID); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("deleted key lookup err = %v", err)
	}
	if on, _ := s.SendingEnabled(ctx, a.ID, "us-east-1"); !on {
		t.Error("sending disabled by default")
	}
	s.SetSendingEnabled(ctx, a.ID, "us-east-1", false)
	if on, _ := s.SendingEnabled(ctx, a.ID, "us-east-1"); on {
		t.Error("sending still enabled")
	}
}
