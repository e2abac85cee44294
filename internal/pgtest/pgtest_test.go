package pgtest

import (
	"errors"
	"os"
	"testing"
)

// TestMissingPostgres: without PostgreSQL a database request is a skip,
// unless SESAME_REQUIRE_POSTGRES is set, when it is an error.
func TestMissingPostgres(t *testing.T) {
	for _, tc := range []struct {
		require string
		skip    bool
	}{{"", true}, {"1", false}} {
		t.Setenv(RequireEnv, tc.require)
		if tc.require == "" {
			os.Unsetenv(RequireEnv)
		}
		c := &Cluster{findBin: func() string { return "" }}
		_, _, err := c.NewDatabase()
		if got := errors.Is(err, ErrNotInstalled); got != tc.skip || err == nil {
			t.Errorf("%s=%q: err = %v, want a skip: %v", RequireEnv, tc.require, err, tc.skip)
		}
		c.Close()
	}
}

// TestDatabase starts a real cluster and hands out two separate databases.
func TestDatabase(t *testing.T) {
	c := New()
	t.Cleanup(c.Close) // after the databases' drops, which run first
	a, b := c.Database(t), c.Database(t)
	if a == b || a == "" {
		t.Errorf("databases %q and %q", a, b)
	}
}
