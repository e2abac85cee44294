// Package pgtest runs a throw-away PostgreSQL cluster for tests (and the
// bench command): initdb
// and pg_ctl from the machine's PostgreSQL installation
// (/usr/lib/postgresql/*/bin or PATH), a temp dir, a loopback port, trust
// authentication. One cluster serves a whole test package (start it from
// TestMain with New and stop it with Close); each test gets its own
// database from Database, dropped when the test ends.
//
// When PostgreSQL is not installed, Database skips the test loudly —
// unless SESAME_REQUIRE_POSTGRES is set (scripts/test sets it), in which
// case it fails, so CI cannot pass by skipping. When the tests run as root
// the server runs as an unprivileged user (postgres, else nobody), since
// PostgreSQL refuses to run as root.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// RequireEnv is the variable that turns "PostgreSQL is missing" from a skip
// into a failure.
const RequireEnv = "SESAME_REQUIRE_POSTGRES"

// Cluster is a PostgreSQL cluster started on first use.
type Cluster struct {
	// Durable keeps fsync and synchronous commits on (for benchmarks that
	// compare with SQLite's synchronous=FULL); tests leave it off.
	Durable bool

	findBin func() string // BinDir; replaced in tests
	once    sync.Once
	err     error
	skip    string // why tests skip ("" = they do not)

	dir     string // temp dir holding data/, the socket and the log
	bin     string // directory of initdb, pg_ctl
	runAs   string // user the server runs as ("" = the current one)
	port    int
	counter atomic.Int64
}

// New returns a cluster that starts when a test first asks for a database.
func New() *Cluster { return &Cluster{} }

// BinDir finds the directory of PostgreSQL's server programs ("" when
// PostgreSQL is not installed). The newest /usr/lib/postgresql/N/bin wins.
func BinDir() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if exists(filepath.Join(d, "initdb")) && exists(filepath.Join(d, "pg_ctl")) {
			return d
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if d := filepath.Dir(p); exists(filepath.Join(d, "pg_ctl")) {
			return d
		}
	}
	return ""
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// start runs initdb and pg_ctl start once.
func (c *Cluster) start() {
	if c.findBin == nil {
		c.findBin = BinDir
	}
	c.bin = c.findBin()
	if c.bin == "" {
		c.skip = "PostgreSQL is not installed (apt-get install postgresql); set " + RequireEnv + "=1 to make this a failure"
		if os.Getenv(RequireEnv) != "" {
			c.err = errors.New("pgtest: PostgreSQL is not installed and " + RequireEnv + " is set")
		}
		return
	}
	dir, err := os.MkdirTemp("", "sesame-pg-")
	if err != nil {
		c.err = fmt.Errorf("pgtest: %w", err)
		return
	}
	c.dir = dir
	if os.Geteuid() == 0 {
		if c.err = c.dropPrivileges(); c.err != nil {
			return
		}
	}
	if c.port, c.err = freePort(); c.err != nil {
		return
	}
	data := filepath.Join(dir, "data")
	if out, err := c.run("initdb", "-D", data, "-U", "sesame", "--auth=trust", "-E", "UTF8", "--no-sync", "--locale=C"); err != nil {
		c.err = fmt.Errorf("pgtest: initdb: %w\n%s", err, out)
		return
	}
	// Durability is not under test (the server is never killed), so fsync
	// is off for speed unless Durable.
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c max_connections=200", c.port, dir)
	if !c.Durable {
		opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	}
	if out, err := c.run("pg_ctl", "-D", data, "-o", opts, "-l", filepath.Join(dir, "server.log"), "-w", "-t", "60", "start"); err != nil {
		logs, _ := os.ReadFile(filepath.Join(dir, "server.log"))
		c.err = fmt.Errorf("pgtest: pg_ctl start: %w\n%s\n%s", err, out, logs)
	}
}

// dropPrivileges hands the temp dir to an unprivileged user that will run
// the server (root may not).
func (c *Cluster) dropPrivileges() error {
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(c.dir, uid, gid); err != nil {
			return fmt.Errorf("pgtest: chown %s: %w", c.dir, err)
		}
		c.runAs = name
		return nil
	}
	return errors.New("pgtest: running as root and neither user postgres nor nobody exists")
}

// run runs one of PostgreSQL's programs as the server's user.
func (c *Cluster) run(prog string, args ...string) ([]byte, error) {
	path := filepath.Join(c.bin, prog)
	var cmd *exec.Cmd
	if c.runAs != "" {
		cmd = exec.Command("runuser", append([]string{"-u", c.runAs, "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Dir = c.dir
	return cmd.CombinedOutput()
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// URL returns the connection URL of database db.
func (c *Cluster) URL(db string) string {
	return fmt.Sprintf("postgres://sesame@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}

// Database creates an empty database for t (dropped when t ends) and
// returns its URL. It skips t when PostgreSQL is not installed, and fails
// it instead when SESAME_REQUIRE_POSTGRES is set.
func (c *Cluster) Database(t testing.TB) string {
	t.Helper()
	url, drop, err := c.NewDatabase()
	if errors.Is(err, ErrNotInstalled) {
		t.Skip("SKIPPED (no PostgreSQL): " + c.skip)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Error(err)
		}
	})
	return url
}

// ErrNotInstalled is NewDatabase's error when PostgreSQL is not installed
// and SESAME_REQUIRE_POSTGRES is unset.
var ErrNotInstalled = errors.New("pgtest: PostgreSQL is not installed")

// NewDatabase starts the cluster if needed, creates an empty database and
// returns its URL and a function that drops it.
func (c *Cluster) NewDatabase() (url string, drop func() error, err error) {
	c.once.Do(c.start)
	if c.err != nil {
		return "", nil, c.err
	}
	if c.skip != "" {
		return "", nil, ErrNotInstalled
	}
	name := fmt.Sprintf("t%d_%d", os.Getpid(), c.counter.Add(1))
	if err := c.admin(fmt.Sprintf("CREATE DATABASE %s", name)); err != nil {
		return "", nil, err
	}
	return c.URL(name), func() error { return c.admin(fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name)) }, nil
}

// admin runs one statement on the maintenance database.
func (c *Cluster) admin(sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("pgtest: %s: %w", strings.Fields(sql)[0], err)
	}
	return nil
}

// Close stops the cluster (if it ever started) and removes its files.
func (c *Cluster) Close() {
	if c.dir == "" {
		return
	}
	if c.port != 0 && exists(filepath.Join(c.dir, "data", "postmaster.pid")) {
		c.run("pg_ctl", "-D", filepath.Join(c.dir, "data"), "-m", "immediate", "-w", "stop")
	}
	os.RemoveAll(c.dir)
}

// Main runs a test package's tests with c and stops c afterwards; use it
// from TestMain: os.Exit(pgtest.Main(m, cluster)).
func Main(m *testing.M, c *Cluster) int {
	defer c.Close()
	return m.Run()
}
