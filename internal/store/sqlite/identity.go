package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sesame-email/sesame/internal/store"
)

// Identities are kept as a JSON document plus the columns that queries use
// (keys, type, next check), so new identity settings need no migration.
// The next_check column is authoritative for NextCheck: a claim moves it
// without rewriting the document.

const identityCols = `doc, next_check`

func identityDoc(id store.Identity) (string, error) {
	b, err := json.Marshal(id)
	if err != nil {
		return "", fmt.Errorf("sqlite: encode identity: %w", err)
	}
	return string(b), nil
}

func scanIdentity(row interface{ Scan(...any) error }) (store.Identity, error) {
	var doc string
	var next int64
	if err := row.Scan(&doc, &next); err != nil {
		return store.Identity{}, err
	}
	var id store.Identity
	if err := json.Unmarshal([]byte(doc), &id); err != nil {
		return store.Identity{}, fmt.Errorf("decode identity: %w", err)
	}
	id.NextCheck = fromMS(next)
	return id, nil
}

func insertKeys(ctx context.Context, tx *sql.Tx, keys []store.DKIMKey) error {
	for _, k := range keys {
		if _, err := tx.ExecContext(ctx, `INSERT INTO dkim_keys(account_id, region, identity, selector, easy, sealed_key, public_txt, active, created_at) VALUES (?,?,?,?,?,?,?,?,?)`,
			k.AccountID, k.Region, k.Identity, k.Selector, k.Easy, k.SealedKey, k.PublicTXT, k.Active, ms(k.CreatedAt)); err != nil {
			return err
		}
	}
	return nil
}

// CreateIdentity implements store.Identities.
func (s *Store) CreateIdentity(ctx context.Context, id store.Identity, keys []store.DKIMKey) error {
	doc, err := identityDoc(id)
	if err != nil {
		return err
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO identities(account_id, region, name, type, next_check, doc) VALUES (?,?,?,?,?,?)`,
			id.AccountID, id.Region, id.Name, string(id.Type), ms(id.NextCheck), doc); err != nil {
			return err
		}
		if err := bumpCount(ctx, tx, id.AccountID, id.Region, 1); err != nil {
			return err
		}
		return insertKeys(ctx, tx, keys)
	})
	return classify(err, "create identity "+id.Name)
}

// GetIdentity implements store.Identities.
func (s *Store) GetIdentity(ctx context.Context, accountID, region, name string) (store.Identity, error) {
	id, err := scanIdentity(s.queryRow(ctx, `SELECT `+identityCols+` FROM identities WHERE account_id = ? AND region = ? AND name = ?`, accountID, region, name))
	return id, classify(err, "get identity "+name)
}

// ListIdentities implements store.Identities.
func (s *Store) ListIdentities(ctx context.Context, accountID, region string, p store.IdentityPage) ([]store.Identity, error) {
	if p.Limit <= 0 {
		p.Limit = 1000
	}
	q := `SELECT ` + identityCols + ` FROM identities WHERE account_id = ? AND region = ? AND name > ?`
	args := []any{accountID, region, p.After}
	if p.Type != "" {
		q += ` AND type = ?`
		args = append(args, string(p.Type))
	}
	q += ` ORDER BY name LIMIT ?`
	args = append(args, p.Limit)
	return s.queryIdentities(ctx, q, args...)
}

func (s *Store) queryIdentities(ctx context.Context, q string, args ...any) ([]store.Identity, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, classify(err, "list identities")
	}
	defer rows.Close()
	var out []store.Identity
	for rows.Next() {
		id, err := scanIdentity(rows)
		if err != nil {
			return nil, classify(err, "list identities")
		}
		out = append(out, id)
	}
	return out, classify(rows.Err(), "list identities")
}

// bumpCount keeps identity_counts in step with identities, so the
// per-region limit check costs one row read instead of a scan.
func bumpCount(ctx context.Context, tx *sql.Tx, accountID, region string, delta int) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO identity_counts(account_id, region, n) VALUES (?,?,?)
		ON CONFLICT(account_id, region) DO UPDATE SET n = n + excluded.n`, accountID, region, delta)
	return err
}

// CountIdentities implements store.Identities.
func (s *Store) CountIdentities(ctx context.Context, accountID, region string) (int, error) {
	var n int
	err := s.queryRow(ctx, `SELECT n FROM identity_counts WHERE account_id = ? AND region = ?`, accountID, region).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return n, classify(err, "count identities")
}

// UpdateIdentity implements store.Identities.
func (s *Store) UpdateIdentity(ctx context.Context, id store.Identity, keys *[]store.DKIMKey) error {
	doc, err := identityDoc(id)
	if err != nil {
		return err
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, updateIdentitySQL, string(id.Type), ms(id.NextCheck), doc, id.AccountID, id.Region, id.Name)
		if err != nil {
			return err
		}
		if err := mustAffect(res, "update identity "+id.Name); err != nil {
			return err
		}
		if keys == nil {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM dkim_keys WHERE account_id = ? AND region = ? AND identity = ?`, id.AccountID, id.Region, id.Name); err != nil {
			return err
		}
		return insertKeys(ctx, tx, *keys)
	})
	return classify(err, "update identity "+id.Name)
}

// updateIdentitySQL stores an identity's document and indexed columns.
const updateIdentitySQL = `UPDATE identities SET type = ?, next_check = ?, doc = ? WHERE account_id = ? AND region = ? AND name = ?`

// ModifyIdentity implements store.Identities: read and write in one
// IMMEDIATE transaction, so no other writer comes in between.
func (s *Store) ModifyIdentity(ctx context.Context, accountID, region, name string, fn func(*store.Identity) error) (store.Identity, error) {
	var id store.Identity
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if id, err = scanIdentity(tx.QueryRowContext(ctx, `SELECT `+identityCols+` FROM identities WHERE account_id = ? AND region = ? AND name = ?`, accountID, region, name)); err != nil {
			return err
		}
		if err := fn(&id); err != nil {
			return errAbort{err}
		}
		doc, err := identityDoc(id)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, updateIdentitySQL, string(id.Type), ms(id.NextCheck), doc, accountID, region, name)
		return err
	})
	var ab errAbort
	if errors.As(err, &ab) {
		return store.Identity{}, ab.err
	}
	return id, classify(err, "modify identity "+name)
}

// DeleteIdentity implements store.Identities.
func (s *Store) DeleteIdentity(ctx context.Context, accountID, region, name string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM identities WHERE account_id = ? AND region = ? AND name = ?`, accountID, region, name)
		if err != nil {
			return err
		}
		if err := mustAffect(res, "delete identity "+name); err != nil {
			return err
		}
		return bumpCount(ctx, tx, accountID, region, -1)
	})
	return classify(err, "delete identity "+name)
}

const dkimCols = `selector, account_id, region, identity, easy, sealed_key, public_txt, active, created_at`

func scanDKIMKey(row interface{ Scan(...any) error }) (store.DKIMKey, error) {
	var k store.DKIMKey
	var created int64
	err := row.Scan(&k.Selector, &k.AccountID, &k.Region, &k.Identity, &k.Easy, &k.SealedKey, &k.PublicTXT, &k.Active, &created)
	k.CreatedAt = fromMS(created)
	return k, err
}

// DKIMKeys implements store.Identities.
func (s *Store) DKIMKeys(ctx context.Context, accountID, region, name string) ([]store.DKIMKey, error) {
	rows, err := s.query(ctx, `SELECT `+dkimCols+` FROM dkim_keys WHERE account_id = ? AND region = ? AND identity = ? ORDER BY active DESC, created_at, selector`, accountID, region, name)
	if err != nil {
		return nil, classify(err, "dkim keys")
	}
	defer rows.Close()
	var out []store.DKIMKey
	for rows.Next() {
		k, err := scanDKIMKey(rows)
		if err != nil {
			return nil, classify(err, "dkim keys")
		}
		out = append(out, k)
	}
	return out, classify(rows.Err(), "dkim keys")
}

// EasyDKIMKey implements store.Identities.
func (s *Store) EasyDKIMKey(ctx context.Context, token string) (store.DKIMKey, error) {
	k, err := scanDKIMKey(s.queryRow(ctx, `SELECT `+dkimCols+` FROM dkim_keys WHERE selector = ? AND easy = 1`, token))
	return k, classify(err, "dkim key "+token)
}

// DueIdentities implements store.Identities.
func (s *Store) DueIdentities(ctx context.Context, now time.Time, limit int) ([]store.Identity, error) {
	return s.queryIdentities(ctx, `SELECT `+identityCols+` FROM identities WHERE next_check <= ? ORDER BY next_check LIMIT ?`, ms(now), limit)
}

// ClaimDueIdentities implements store.Identities.
func (s *Store) ClaimDueIdentities(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.Identity, error) {
	var out []store.Identity
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := s.txQuery(ctx, tx, `SELECT `+identityCols+` FROM identities WHERE next_check <= ? ORDER BY next_check LIMIT ?`, ms(now), limit)
		if err != nil {
			return err
		}
		for rows.Next() {
			id, err := scanIdentity(rows)
			if err != nil {
				rows.Close()
				return err
			}
			out = append(out, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		until := now.Add(lease)
		for i := range out {
			if _, err := s.txExec(ctx, tx, `UPDATE identities SET next_check = ? WHERE account_id = ? AND region = ? AND name = ?`,
				ms(until), out[i].AccountID, out[i].Region, out[i].Name); err != nil {
				return err
			}
			out[i].NextCheck = fromMS(ms(until))
		}
		return nil
	})
	return out, classify(err, "claim identities")
}
