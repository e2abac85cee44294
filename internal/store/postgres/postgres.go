// Package postgres implements store.Store on PostgreSQL (jackc/pgx/v5), for
// running several `sesame serve` nodes on one database. It keeps the same
// schema shape and semantics as store/sqlite (times are milliseconds since
// the epoch in BIGINT columns, identities are JSON documents beside their
// indexed columns, message bytes live in the database) and passes the same
// conformance suite.
//
// What makes it safe with N nodes:
//   - Migrations run under a session-level advisory lock, so nodes that
//     start together apply each migration once, in order.
//   - Queue work is shared by leases: ClaimDue and ClaimDueIdentities take
//     due rows with SELECT … FOR UPDATE SKIP LOCKED and move them past a
//     lease, so two nodes never take the same row; a node that dies leaves
//     leases that end, and another node takes the rows then.
//   - Statements are static SQL (lists travel as arrays), so pgx prepares
//     each once per connection and reuses it (its statement cache).
//   - Enqueue sends a whole group-commit batch in one round trip (a pgx
//     batch inside one transaction).
package postgres

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sesame-email/sesame/internal/store"
)

// Store is a store.Store backed by PostgreSQL.
type Store struct {
	pool *pgxpool.Pool
}

var _ store.Store = (*Store)(nil)

// migrationLock is the advisory lock key held while migrating (the bytes
// of "sesamemg").
const migrationLock int64 = 0x736573616d656d67

// Open connects to the database at url (postgres://…) and migrates it to
// the latest schema. The pool holds up to 4 connections per CPU (8 on two
// cores) unless the URL sets pool_max_conns.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if !strings.Contains(url, "pool_max_conns=") {
		cfg.MaxConns = int32(max(4, 4*runtime.NumCPU()))
	}
	cfg.MaxConnIdleTime = time.Minute
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s := &Store{pool: pool}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the pool.
func (s *Store) Close() error { s.pool.Close(); return nil }

// migrations are applied in order; migration i brings the schema to version
// i+1. Never edit an applied migration: append a new one.
var migrations = []string{
	`CREATE TABLE accounts (
		id TEXT PRIMARY KEY,
		name TEXT NOT NULL UNIQUE,
		mode TEXT NOT NULL,
		max_24h_send DOUBLE PRECISION NOT NULL,
		max_send_rate DOUBLE PRECISION NOT NULL,
		created_at BIGINT NOT NULL
	);
	CREATE TABLE account_regions (
		account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
		region TEXT NOT NULL,
		sending_enabled BOOLEAN NOT NULL,
		PRIMARY KEY (account_id, region)
	);
	CREATE TABLE access_keys (
		id TEXT PRIMARY KEY,
		account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
		sealed_secret BYTEA NOT NULL,
		admin BOOLEAN NOT NULL,
		description TEXT NOT NULL,
		created_at BIGINT NOT NULL
	);
	CREATE INDEX access_keys_account ON access_keys(account_id, created_at);
	CREATE TABLE identities (
		account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
		region TEXT NOT NULL,
		name TEXT NOT NULL,
		type TEXT NOT NULL,
		next_check BIGINT NOT NULL,
		doc TEXT NOT NULL,
		PRIMARY KEY (account_id, region, name)
	);
	CREATE INDEX identities_due ON identities(next_check);
	CREATE TABLE identity_counts (
		account_id TEXT NOT NULL,
		region TEXT NOT NULL,
		n INTEGER NOT NULL,
		PRIMARY KEY (account_id, region)
	);
	CREATE TABLE dkim_keys (
		account_id TEXT NOT NULL,
		region TEXT NOT NULL,
		identity TEXT NOT NULL,
		selector TEXT NOT NULL,
		easy BOOLEAN NOT NULL,
		sealed_key BYTEA NOT NULL,
		public_txt TEXT NOT NULL,
		active BOOLEAN NOT NULL,
		created_at BIGINT NOT NULL,
		PRIMARY KEY (account_id, region, identity, selector),
		FOREIGN KEY (account_id, region, identity) REFERENCES identities(account_id, region, name) ON DELETE CASCADE
	);
	CREATE UNIQUE INDEX dkim_keys_easy_token ON dkim_keys(selector) WHERE easy;
	CREATE TABLE messages (
		id TEXT PRIMARY KEY,
		account_id TEXT NOT NULL,
		region TEXT NOT NULL,
		mail_from TEXT NOT NULL,
		from_addr TEXT NOT NULL,
		subject TEXT NOT NULL,
		config_set TEXT NOT NULL,
		tags TEXT NOT NULL,
		created_at BIGINT NOT NULL,
		data BYTEA NOT NULL
	);
	CREATE INDEX messages_account ON messages(account_id, region, created_at);
	CREATE TABLE recipients (
		seq BIGINT GENERATED ALWAYS AS IDENTITY,
		message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
		address TEXT NOT NULL,
		domain TEXT NOT NULL,
		state TEXT NOT NULL,
		next_attempt BIGINT NOT NULL,
		attempts INTEGER NOT NULL,
		last_response TEXT NOT NULL,
		updated_at BIGINT NOT NULL,
		PRIMARY KEY (message_id, address)
	);
	CREATE INDEX recipients_due ON recipients(next_attempt) WHERE state IN ('queued', 'deferred');
	CREATE INDEX recipients_domain ON recipients(domain, state);
	CREATE TABLE send_stats (
		account_id TEXT NOT NULL,
		region TEXT NOT NULL,
		bucket BIGINT NOT NULL,
		sent BIGINT NOT NULL,
		PRIMARY KEY (account_id, region, bucket)
	);
	CREATE TABLE templates (
		account_id TEXT NOT NULL,
		region TEXT NOT NULL,
		name TEXT NOT NULL,
		subject TEXT NOT NULL,
		text TEXT NOT NULL,
		html TEXT NOT NULL,
		created_at BIGINT NOT NULL,
		PRIMARY KEY (account_id, region, name)
	);
	CREATE TABLE suppressions (
		account_id TEXT NOT NULL,
		region TEXT NOT NULL,
		address TEXT NOT NULL,
		reason TEXT NOT NULL,
		updated_at BIGINT NOT NULL,
		message_id TEXT NOT NULL,
		feedback_id TEXT NOT NULL,
		PRIMARY KEY (account_id, region, address)
	);
	CREATE INDEX suppressions_updated ON suppressions(account_id, region, updated_at);`,
	`CREATE TABLE resources (
		account_id TEXT NOT NULL,
		region TEXT NOT NULL,
		kind TEXT NOT NULL,
		name TEXT NOT NULL,
		doc BYTEA NOT NULL,
		created_at BIGINT NOT NULL,
		PRIMARY KEY (account_id, region, kind, name)
	);
	CREATE TABLE events (
		id TEXT PRIMARY KEY,
		account_id TEXT NOT NULL,
		region TEXT NOT NULL,
		message_id TEXT NOT NULL,
		type TEXT NOT NULL,
		recipients TEXT NOT NULL,
		n INTEGER NOT NULL,
		created_at BIGINT NOT NULL,
		json BYTEA NOT NULL
	);
	CREATE INDEX events_account ON events(account_id, region, created_at);
	CREATE INDEX events_message ON events(message_id);
	CREATE TABLE notifications (
		id TEXT NOT NULL,
		subscription_arn TEXT NOT NULL,
		account_id TEXT NOT NULL,
		region TEXT NOT NULL,
		topic_arn TEXT NOT NULL,
		type TEXT NOT NULL,
		endpoint TEXT NOT NULL,
		body BYTEA NOT NULL,
		state TEXT NOT NULL,
		attempts INTEGER NOT NULL,
		next_attempt BIGINT NOT NULL,
		last_result TEXT NOT NULL,
		created_at BIGINT NOT NULL,
		updated_at BIGINT NOT NULL,
		PRIMARY KEY (id, subscription_arn)
	);
	CREATE INDEX notifications_due ON notifications(next_attempt) WHERE state = 'pending';
	CREATE INDEX notifications_account ON notifications(account_id, region, created_at);`,
	`CREATE INDEX messages_created ON messages(created_at);`,
	`ALTER TABLE send_stats ADD COLUMN delivered BIGINT NOT NULL DEFAULT 0;`,
}

// migrate applies missing migrations while holding an advisory lock, so
// nodes starting at once take turns and each migration runs once.
func (s *Store) migrate(ctx context.Context) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return fmt.Errorf("postgres: migrate: lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLock)
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	var have int
	if err := conn.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	for i := have; i < len(migrations); i++ {
		version := i + 1
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, migrations[i]); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations(version, applied_at) VALUES ($1, $2)`, version, time.Now().UnixMilli())
			return err
		})
		if err != nil {
			return fmt.Errorf("postgres: migration %d: %w", version, err)
		}
	}
	return nil
}

// SchemaVersion returns the highest applied migration.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.pool.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, classify(err, "schema version")
}

// tx runs fn in a transaction, committed when fn returns nil.
func (s *Store) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}

// classify maps PostgreSQL errors to store sentinels.
func classify(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation
			return fmt.Errorf("%s: %w", what, store.ErrConflict)
		case "23503": // foreign_key_violation
			return fmt.Errorf("%s: %w", what, store.ErrNotFound)
		}
	}
	return fmt.Errorf("postgres: %s: %w", what, err)
}

func mustAffect(tag pgconn.CommandTag, what string) error {
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// collect reads every row of a query with scan.
func collect[T any](ctx context.Context, s *Store, what string, scan func(pgx.Row) (T, error), q string, args ...any) ([]T, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, classify(err, what)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, classify(err, what)
		}
		out = append(out, v)
	}
	return out, classify(rows.Err(), what)
}

// CreateAccount implements store.Accounts.
func (s *Store) CreateAccount(ctx context.Context, a store.Account) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO accounts(id, name, mode, max_24h_send, max_send_rate, created_at) VALUES ($1,$2,$3,$4,$5,$6)`,
		a.ID, a.Name, string(a.Mode), a.Max24HourSend, a.MaxSendRate, ms(a.CreatedAt))
	return classify(err, "create account "+a.Name)
}

const accountCols = `id, name, mode, max_24h_send, max_send_rate, created_at`

func scanAccount(row pgx.Row) (store.Account, error) {
	var a store.Account
	var mode string
	var created int64
	err := row.Scan(&a.ID, &a.Name, &mode, &a.Max24HourSend, &a.MaxSendRate, &created)
	a.Mode = store.Mode(mode)
	a.CreatedAt = fromMS(created)
	return a, err
}

// GetAccount implements store.Accounts.
func (s *Store) GetAccount(ctx context.Context, id string) (store.Account, error) {
	a, err := scanAccount(s.pool.QueryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = $1`, id))
	return a, classify(err, "get account "+id)
}

// GetAccountByName implements store.Accounts.
func (s *Store) GetAccountByName(ctx context.Context, name string) (store.Account, error) {
	a, err := scanAccount(s.pool.QueryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE name = $1`, name))
	return a, classify(err, "get account "+name)
}

// ListAccounts implements store.Accounts.
func (s *Store) ListAccounts(ctx context.Context) ([]store.Account, error) {
	return collect(ctx, s, "list accounts", scanAccount, `SELECT `+accountCols+` FROM accounts ORDER BY name`)
}

// UpdateAccount implements store.Accounts.
func (s *Store) UpdateAccount(ctx context.Context, a store.Account) error {
	tag, err := s.pool.Exec(ctx, `UPDATE accounts SET mode = $1, max_24h_send = $2, max_send_rate = $3 WHERE id = $4`,
		string(a.Mode), a.Max24HourSend, a.MaxSendRate, a.ID)
	if err != nil {
		return classify(err, "update account "+a.ID)
	}
	return mustAffect(tag, "update account "+a.ID)
}

// GetRegionSettings implements store.Accounts.
func (s *Store) GetRegionSettings(ctx context.Context, accountID, region string) (store.RegionSettings, error) {
	rs := store.RegionSettings{AccountID: accountID, Region: region, SendingEnabled: true}
	err := s.pool.QueryRow(ctx, `SELECT sending_enabled FROM account_regions WHERE account_id = $1 AND region = $2`, accountID, region).Scan(&rs.SendingEnabled)
	if errors.Is(err, pgx.ErrNoRows) {
		return rs, nil
	}
	return rs, classify(err, "get region settings")
}

// PutRegionSettings implements store.Accounts.
func (s *Store) PutRegionSettings(ctx context.Context, rs store.RegionSettings) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO account_regions(account_id, region, sending_enabled) VALUES ($1,$2,$3)
		ON CONFLICT(account_id, region) DO UPDATE SET sending_enabled = excluded.sending_enabled`,
		rs.AccountID, rs.Region, rs.SendingEnabled)
	return classify(err, "put region settings")
}

// CreateKey implements store.Keys.
func (s *Store) CreateKey(ctx context.Context, k store.AccessKey) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO access_keys(id, account_id, sealed_secret, admin, description, created_at) VALUES ($1,$2,$3,$4,$5,$6)`,
		k.ID, k.AccountID, k.SealedSecret, k.Admin, k.Description, ms(k.CreatedAt))
	return classify(err, "create key")
}

const keyCols = `id, account_id, sealed_secret, admin, description, created_at`

func scanKey(row pgx.Row) (store.AccessKey, error) {
	var k store.AccessKey
	var created int64
	err := row.Scan(&k.ID, &k.AccountID, &k.SealedSecret, &k.Admin, &k.Description, &created)
	k.CreatedAt = fromMS(created)
	return k, err
}

// GetKey implements store.Keys.
func (s *Store) GetKey(ctx context.Context, id string) (store.AccessKey, error) {
	k, err := scanKey(s.pool.QueryRow(ctx, `SELECT `+keyCols+` FROM access_keys WHERE id = $1`, id))
	return k, classify(err, "get key")
}

// ListKeys implements store.Keys.
func (s *Store) ListKeys(ctx context.Context, accountID string) ([]store.AccessKey, error) {
	return collect(ctx, s, "list keys", scanKey, `SELECT `+keyCols+` FROM access_keys WHERE account_id = $1 ORDER BY created_at, id`, accountID)
}

// DeleteKey implements store.Keys.
func (s *Store) DeleteKey(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM access_keys WHERE id = $1`, id)
	if err != nil {
		return classify(err, "delete key")
	}
	return mustAffect(tag, "delete key "+id)
}
