package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sesame-email/sesame/internal/store"
	"github.com/sesame-email/sesame/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := Open(context.Background(), filepath.Join(t.TempDir(), "sesame.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestReopenKeepsDataAndSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sesame.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAccount(ctx, store.Account{ID: "000000000001", Name: "default", Mode: store.ModeProduction}); err != nil {
		t.Fatal(err)
	}
	v1, _ := s.SchemaVersion(ctx)
	s.Close()
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v2, _ := s.SchemaVersion(ctx); v2 != v1 || v2 != len(migrations) {
		t.Errorf("schema version %d after reopen, was %d, want %d", v2, v1, len(migrations))
	}
	if _, err := s.GetAccountByName(ctx, "default"); err != nil {
		t.Errorf("account lost on reopen: %v", err)
	}
}
