package submit_test

import (
	"os"
	"testing"

	"github.com/sesame-email/sesame/internal/pgtest"
)

// cluster is the PostgreSQL these end-to-end tests run on, beside SQLite.
var cluster = pgtest.New()

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, cluster)) }

// eachStore runs test on SQLite and on PostgreSQL (a fresh database).
func eachStore(t *testing.T, test func(t *testing.T, store string)) {
	t.Run("sqlite", func(t *testing.T) { test(t, "") })
	t.Run("postgres", func(t *testing.T) { test(t, cluster.Database(t)) })
}
