package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-email/sesame/internal/store"
)

// Identities are kept as a JSON document plus the columns that queries use
// (keys, type, next check), as in store/sqlite. The next_check column is
// authoritative for NextCheck: a claim moves it without rewriting the
// document.

func identityDoc(id store.Identity) (string, error) {
	b, err := json.Marshal(id)
	if err != nil {
		return "", fmt.Errorf("postgres: encode identity: %w", err)
	}
	return string(b), nil
}

const identityCols = `doc, next_check`

func scanIdentity(row pgx.Row) (store.Identity, error) {
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

func insertKeys(ctx context.Context, tx pgx.Tx, keys []store.DKIMKey) error {
	for _, k := range keys {
		if _, err := tx.Exec(ctx, `INSERT INTO dkim_keys(account_id, region, identity, selector, easy, sealed_key, public_txt, active, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`,
			k.AccountID, k.Region, k.Identity, k.Selector, k.Easy, k.SealedKey, k.PublicTXT, k.Active, ms(k.CreatedAt)); err != nil {
			return err
		}
	}
	return nil
}

// bumpCount keeps identity_counts in step with identities.
func bumpCount(ctx context.Context, tx pgx.Tx, accountID, region string, delta int) error {
	_, err := tx.Exec(ctx, `INSERT INTO identity_counts(account_id, region, n) VALUES ($1,$2,$3)
		ON CONFLICT(account_id, region) DO UPDATE SET n = identity_counts.n + excluded.n`, accountID, region, delta)
	return err
}

// CreateIdentity implements store.Identities.
func (s *Store) CreateIdentity(ctx context.Context, id store.Identity, keys []store.DKIMKey) error {
	doc, err := identityDoc(id)
	if err != nil {
		return err
	}
	err = s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO identities(account_id, region, name, type, next_check, doc) VALUES ($1,$2,$3,$4,$5,$6)`,
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
	id, err := scanIdentity(s.pool.QueryRow(ctx, `SELECT `+identityCols+` FROM identities WHERE account_id = $1 AND region = $2 AND name = $3`, accountID, region, name))
	return id, classify(err, "get identity "+name)
}

// ListIdentities implements store.Identities.
func (s *Store) ListIdentities(ctx context.Context, accountID, region string, p store.IdentityPage) ([]store.Identity, error) {
	if p.Limit <= 0 {
		p.Limit = 1000
	}
	return collect(ctx, s, "list identities", scanIdentity, `SELECT `+identityCols+` FROM identities
		WHERE account_id = $1 AND region = $2 AND name > $3 AND ($4 = '' OR type = $4) ORDER BY name LIMIT $5`,
		accountID, region, p.After, string(p.Type), p.Limit)
}

// CountIdentities implements store.Identities.
func (s *Store) CountIdentities(ctx context.Context, accountID, region string) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT n FROM identity_counts WHERE account_id = $1 AND region = $2`, accountID, region).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
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
	err = s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, updateIdentitySQL, string(id.Type), ms(id.NextCheck), doc, id.AccountID, id.Region, id.Name)
		if err != nil {
			return err
		}
		if err := mustAffect(tag, "update identity "+id.Name); err != nil {
			return err
		}
		if keys == nil {
			return nil
		}
		if _, err := tx.Exec(ctx, `DELETE FROM dkim_keys WHERE account_id = $1 AND region = $2 AND identity = $3`, id.AccountID, id.Region, id.Name); err != nil {
			return err
		}
		return insertKeys(ctx, tx, *keys)
	})
	return classify(err, "update identity "+id.Name)
}

// updateIdentitySQL stores an identity's document and indexed columns.
const updateIdentitySQL = `UPDATE identities SET type = $1, next_check = $2, doc = $3 WHERE account_id = $4 AND region = $5 AND name = $6`

// ModifyIdentity implements store.Identities: the row is read FOR UPDATE,
// so other writers wait for this transaction.
func (s *Store) ModifyIdentity(ctx context.Context, accountID, region, name string, fn func(*store.Identity) error) (store.Identity, error) {
	var id store.Identity
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		if id, err = scanIdentity(tx.QueryRow(ctx, `SELECT `+identityCols+` FROM identities WHERE account_id = $1 AND region = $2 AND name = $3 FOR UPDATE`, accountID, region, name)); err != nil {
			return err
		}
		if err := fn(&id); err != nil {
			return errAbort{err}
		}
		doc, err := identityDoc(id)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, updateIdentitySQL, string(id.Type), ms(id.NextCheck), doc, accountID, region, name)
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
	err := s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM identities WHERE account_id = $1 AND region = $2 AND name = $3`, accountID, region, name)
		if err != nil {
			return err
		}
		if err := mustAffect(tag, "delete identity "+name); err != nil {
			return err
		}
		return bumpCount(ctx, tx, accountID, region, -1)
	})
	return classify(err, "delete identity "+name)
}

const dkimCols = `selector, account_id, region, identity, easy, sealed_key, public_txt, active, created_at`

func scanDKIMKey(row pgx.Row) (store.DKIMKey, error) {
	var k store.DKIMKey
	var created int64
	err := row.Scan(&k.Selector, &k.AccountID, &k.Region, &k.Identity, &k.Easy, &k.SealedKey, &k.PublicTXT, &k.Active, &created)
	k.CreatedAt = fromMS(created)
	return k, err
}

// DKIMKeys implements store.Identities.
func (s *Store) DKIMKeys(ctx context.Context, accountID, region, name string) ([]store.DKIMKey, error) {
	return collect(ctx, s, "dkim keys", scanDKIMKey, `SELECT `+dkimCols+` FROM dkim_keys WHERE account_id = $1 AND region = $2 AND identity = $3
		ORDER BY active DESC, created_at, selector`, accountID, region, name)
}

// EasyDKIMKey implements store.Identities.
func (s *Store) EasyDKIMKey(ctx context.Context, token string) (store.DKIMKey, error) {
	k, err := scanDKIMKey(s.pool.QueryRow(ctx, `SELECT `+dkimCols+` FROM dkim_keys WHERE selector = $1 AND easy`, token))
	return k, classify(err, "dkim key "+token)
}

// DueIdentities implements store.Identities.
func (s *Store) DueIdentities(ctx context.Context, now time.Time, limit int) ([]store.Identity, error) {
	return collect(ctx, s, "due identities", scanIdentity, `SELECT `+identityCols+` FROM identities WHERE next_check <= $1 ORDER BY next_check LIMIT $2`, ms(now), limit)
}

// ClaimDueIdentities implements store.Identities: FOR UPDATE SKIP LOCKED
// lets nodes claim at once without waiting on each other's rows.
func (s *Store) ClaimDueIdentities(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.Identity, error) {
	return collect(ctx, s, "claim identities", scanIdentity, `WITH due AS (
			SELECT account_id, region, name FROM identities WHERE next_check <= $1
			ORDER BY next_check LIMIT $2 FOR UPDATE SKIP LOCKED)
		UPDATE identities i SET next_check = $3 FROM due
		WHERE i.account_id = due.account_id AND i.region = due.region AND i.name = due.name
		RETURNING i.doc, i.next_check`, ms(now), limit, ms(now.Add(lease)))
}
