// Package sqlite implements store.Store on an embedded SQLite database
// (modernc.org/sqlite, pure Go). It is sesame's default store: one file in
// the data dir, WAL journal, synchronous=FULL so a committed transaction
// survives a crash or power loss, and versioned migrations applied at open.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/sesame-email/sesame/internal/store"

	sqlitedrv "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Store is a store.Store backed by SQLite.
type Store struct {
	db    *sql.DB
	cache stmts
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database at path and migrates it to
// the latest schema.
func Open(ctx context.Context, path string) (*Store, error) {
	q := url.Values{}
	for _, p := range []string{
		"journal_mode(WAL)",
		"busy_timeout(10000)",
		"foreign_keys(1)",
		"synchronous(FULL)",
	} {
		q.Add("_pragma", p)
	}
	// BEGIN IMMEDIATE takes the write lock at the start of a transaction, so
	// two writers never deadlock upgrading from a read lock.
	q.Set("_txlock", "immediate")
	dsn := "file:" + path + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(8)
	// Keep every connection: a new one re-runs the pragmas and re-prepares
	// every cached statement (database/sql keeps only 2 idle by default).
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(time.Minute)
	s := &Store{db: db}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	s.cache.close()
	return s.db.Close()
}

// migrations are applied in order; migration i brings the schema to version i+1.
// Never edit an applied migration: append a new one.
var migrations = []string{
	`CREATE TABLE accounts (
		id TEXT PRIMARY KEY,
		name TEXT NOT NULL UNIQUE,
		mode TEXT NOT NULL,
		max_24h_send REAL NOT NULL,
		max_send_rate REAL NOT NULL,
		created_at INTEGER NOT NULL
	);
	CREATE TABLE account_regions (
		account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
		region TEXT NOT NULL,
		sending_enabled INTEGER NOT NULL,
		PRIMARY KEY (account_id, region)
	);
	CREATE TABLE access_keys (
		id TEXT PRIMARY KEY,
		account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
		sealed_secret BLOB NOT NULL,
		admin INTEGER NOT NULL,
		description TEXT NOT NULL,
		created_at INTEGER NOT NULL
	);
	CREATE INDEX access_keys_account ON access_keys(account_id, created_at);`,
	`CREATE TABLE identities (
		account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
		region TEXT NOT NULL,
		name TEXT NOT NULL,
		type TEXT NOT NULL,
		next_check INTEGER NOT NULL,
		doc TEXT NOT NULL,
		PRIMARY KEY (account_id, region, name)
	);
	CREATE INDEX identities_due ON identities(next_check);
	CREATE TABLE dkim_keys (
		account_id TEXT NOT NULL,
		region TEXT NOT NULL,
		identity TEXT NOT NULL,
		selector TEXT NOT NULL,
		easy INTEGER NOT NULL,
		sealed_key BLOB NOT NULL,
		public_txt TEXT NOT NULL,
		active INTEGER NOT NULL,
		created_at INTEGER NOT NULL,
		PRIMARY KEY (account_id, region, identity, selector),
		FOREIGN KEY (account_id, region, identity) REFERENCES identities(account_id, region, name) ON DELETE CASCADE
	);
	CREATE UNIQUE INDEX dkim_keys_easy_token ON dkim_keys(selector) WHERE easy = 1;`,
	`CREATE TABLE messages (
		id TEXT PRIMARY KEY,
		account_id TEXT NOT NULL,
		region TEXT NOT NULL,
		mail_from TEXT NOT NULL,
		from_addr TEXT NOT NULL,
		subject TEXT NOT NULL,
		config_set TEXT NOT NULL,
		tags TEXT NOT NULL,
		created_at INTEGER NOT NULL,
		data BLOB NOT NULL
	);
	CREATE INDEX messages_account ON messages(account_id, region, created_at);
	CREATE TABLE recipients (
		message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
		address TEXT NOT NULL,
		domain TEXT NOT NULL,
		state TEXT NOT NULL,
		next_attempt INTEGER NOT NULL,
		attempts INTEGER NOT NULL,
		last_response TEXT NOT NULL,
		updated_at INTEGER NOT NULL,
		PRIMARY KEY (message_id, address)
	);
	CREATE INDEX recipients_due ON recipients(next_attempt) WHERE state IN ('queued', 'deferred');
	CREATE INDEX recipients_domain ON recipients(domain, state);
	CREATE TABLE send_stats (
		account_id TEXT NOT NULL,
		region TEXT NOT NULL,
		bucket INTEGER NOT NULL,
		sent INTEGER NOT NULL,
		PRIMARY KEY (account_id, region, bucket)
	);`,
	`CREATE TABLE identity_counts (
		account_id TEXT NOT NULL,
		region TEXT NOT NULL,
		n INTEGER NOT NULL,
		PRIMARY KEY (account_id, region)
	);
	INSERT INTO identity_counts(account_id, region, n) SELECT account_id, region, COUNT(*) FROM identities GROUP BY account_id, region;`,
	`CREATE TABLE templates (
		account_id TEXT NOT NULL,
		region TEXT NOT NULL,
		name TEXT NOT NULL,
		subject TEXT NOT NULL,
		text TEXT NOT NULL,
		html TEXT NOT NULL,
		created_at INTEGER NOT NULL,
		PRIMARY KEY (account_id, region, name)
	);`,
	`CREATE TABLE suppressions (
		account_id TEXT NOT NULL,
		region TEXT NOT NULL,
		address TEXT NOT NULL,
		reason TEXT NOT NULL,
		updated_at INTEGER NOT NULL,
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
		doc BLOB NOT NULL,
		created_at INTEGER NOT NULL,
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
		created_at INTEGER NOT NULL,
		json BLOB NOT NULL
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
		body BLOB NOT NULL,
		state TEXT NOT NULL,
		attempts INTEGER NOT NULL,
		next_attempt INTEGER NOT NULL,
		last_result TEXT NOT NULL,
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL,
		PRIMARY KEY (id, subscription_arn)
	);
	CREATE INDEX notifications_due ON notifications(state, next_attempt);
	CREATE INDEX notifications_account ON notifications(account_id, region, created_at);`,
	`CREATE INDEX messages_created ON messages(created_at);`,
	`ALTER TABLE send_stats ADD COLUMN delivered INTEGER NOT NULL DEFAULT 0;`,
}

func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	for i, m := range migrations {
		version := i + 1
		if err := s.tx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(version, applied_at) VALUES (?, ?)`, version, time.Now().UnixMilli())
			return err
		}); err != nil {
			return fmt.Errorf("sqlite: migration %d: %w", version, err)
		}
	}
	return nil
}

func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// classify maps SQLite constraint errors to store sentinels.
func classify(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	var se *sqlitedrv.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
			return fmt.Errorf("%s: %w", what, store.ErrConflict)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%s: %w", what, store.ErrNotFound)
		}
	}
	return fmt.Errorf("sqlite: %s: %w", what, err)
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// CreateAccount implements store.Accounts.
func (s *Store) CreateAccount(ctx context.Context, a store.Account) error {
	_, err := s.exec(ctx, `INSERT INTO accounts(id, name, mode, max_24h_send, max_send_rate, created_at) VALUES (?,?,?,?,?,?)`,
		a.ID, a.Name, string(a.Mode), a.Max24HourSend, a.MaxSendRate, ms(a.CreatedAt))
	return classify(err, "create account "+a.Name)
}

const accountCols = `id, name, mode, max_24h_send, max_send_rate, created_at`

func scanAccount(row interface{ Scan(...any) error }) (store.Account, error) {
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
	a, err := scanAccount(s.queryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = ?`, id))
	return a, classify(err, "get account "+id)
}

// GetAccountByName implements store.Accounts.
func (s *Store) GetAccountByName(ctx context.Context, name string) (store.Account, error) {
	a, err := scanAccount(s.queryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE name = ?`, name))
	return a, classify(err, "get account "+name)
}

// ListAccounts implements store.Accounts.
func (s *Store) ListAccounts(ctx context.Context) ([]store.Account, error) {
	rows, err := s.query(ctx, `SELECT `+accountCols+` FROM accounts ORDER BY name`)
	if err != nil {
		return nil, classify(err, "list accounts")
	}
	defer rows.Close()
	var out []store.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, classify(err, "list accounts")
		}
		out = append(out, a)
	}
	return out, classify(rows.Err(), "list accounts")
}

// UpdateAccount implements store.Accounts.
func (s *Store) UpdateAccount(ctx context.Context, a store.Account) error {
	res, err := s.exec(ctx, `UPDATE accounts SET mode = ?, max_24h_send = ?, max_send_rate = ? WHERE id = ?`,
		string(a.Mode), a.Max24HourSend, a.MaxSendRate, a.ID)
	if err != nil {
		return classify(err, "update account "+a.ID)
	}
	return mustAffect(res, "update account "+a.ID)
}

func mustAffect(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}

// GetRegionSettings implements store.Accounts.
func (s *Store) GetRegionSettings(ctx context.Context, accountID, region string) (store.RegionSettings, error) {
	rs := store.RegionSettings{AccountID: accountID, Region: region, SendingEnabled: true}
	err := s.queryRow(ctx, `SELECT sending_enabled FROM account_regions WHERE account_id = ? AND region = ?`, accountID, region).Scan(&rs.SendingEnabled)
	if errors.Is(err, sql.ErrNoRows) {
		return rs, nil
	}
	return rs, classify(err, "get region settings")
}

// PutRegionSettings implements store.Accounts.
func (s *Store) PutRegionSettings(ctx context.Context, rs store.RegionSettings) error {
	_, err := s.exec(ctx, `INSERT INTO account_regions(account_id, region, sending_enabled) VALUES (?,?,?)
		ON CONFLICT(account_id, region) DO UPDATE SET sending_enabled = excluded.sending_enabled`,
		rs.AccountID, rs.Region, rs.SendingEnabled)
	return classify(err, "put region settings")
}

// CreateKey implements store.Keys.
func (s *Store) CreateKey(ctx context.Context, k store.AccessKey) error {
	_, err := s.exec(ctx, `INSERT INTO access_keys(id, account_id, sealed_secret, admin, description, created_at) VALUES (?,?,?,?,?,?)`,
		k.ID, k.AccountID, k.SealedSecret, k.Admin, k.Description, ms(k.CreatedAt))
	return classify(err, "create key")
}

const keyCols = `id, account_id, sealed_secret, admin, description, created_at`

func scanKey(row interface{ Scan(...any) error }) (store.AccessKey, error) {
	var k store.AccessKey
	var created int64
	err := row.Scan(&k.ID, &k.AccountID, &k.SealedSecret, &k.Admin, &k.Description, &created)
	k.CreatedAt = fromMS(created)
	return k, err
}

// GetKey implements store.Keys.
func (s *Store) GetKey(ctx context.Context, id string) (store.AccessKey, error) {
	k, err := scanKey(s.queryRow(ctx, `SELECT `+keyCols+` FROM access_keys WHERE id = ?`, id))
	return k, classify(err, "get key")
}

// ListKeys implements store.Keys.
func (s *Store) ListKeys(ctx context.Context, accountID string) ([]store.AccessKey, error) {
	rows, err := s.query(ctx, `SELECT `+keyCols+` FROM access_keys WHERE account_id = ? ORDER BY created_at, id`, accountID)
	if err != nil {
		return nil, classify(err, "list keys")
	}
	defer rows.Close()
	var out []store.AccessKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, classify(err, "list keys")
		}
		out = append(out, k)
	}
	return out, classify(rows.Err(), "list keys")
}

// DeleteKey implements store.Keys.
func (s *Store) DeleteKey(ctx context.Context, id string) error {
	res, err := s.exec(ctx, `DELETE FROM access_keys WHERE id = ?`, id)
	if err != nil {
		return classify(err, "delete key")
	}
	return mustAffect(res, "delete key "+id)
}

// SchemaVersion returns the highest applied migration.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	err := s.queryRow(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v)
	return int(v.Int64), classify(err, "schema version")
}
