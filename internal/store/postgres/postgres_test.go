package postgres

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/sesame-email/sesame/internal/pgtest"
	"github.com/sesame-email/sesame/internal/store"
	"github.com/sesame-email/sesame/internal/store/storetest"
)

var cluster = pgtest.New()

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, cluster)) }

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := Open(context.Background(), cluster.Database(t))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestConcurrentStartMigratesOnce opens several stores on one empty
// database at once, as nodes starting together do: the advisory lock makes
// them take turns, every one opens, and each migration ran once.
func TestConcurrentStartMigratesOnce(t *testing.T) {
	ctx := context.Background()
	url := cluster.Database(t)
	const nodes = 4
	stores := make([]*Store, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = Open(ctx, url)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	var applied int
	if err := stores[0].pool.QueryRow(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&applied); err != nil || applied != len(migrations) {
		t.Errorf("schema_migrations has %d rows, %v; want %d", applied, err, len(migrations))
	}
	if err := stores[1].CreateAccount(ctx, store.Account{ID: "000000000001", Name: "default", Mode: store.ModeProduction}); err != nil {
		t.Fatal(err)
	}
	stores[1].Close()
	s, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, _ := s.SchemaVersion(ctx); v != len(migrations) {
		t.Errorf("schema version %d after reopen, want %d", v, len(migrations))
	}
	if _, err := s.GetAccountByName(ctx, "default"); err != nil {
		t.Errorf("account lost on reopen: %v", err)
	}
}
