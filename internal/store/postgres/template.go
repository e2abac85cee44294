package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-email/sesame/internal/store"
)

// CreateTemplate implements store.Templates.
func (s *Store) CreateTemplate(ctx context.Context, t store.Template) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO templates(account_id, region, name, subject, text, html, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
		t.AccountID, t.Region, t.Name, t.Subject, t.Text, t.HTML, ms(t.CreatedAt))
	return classify(err, "create template "+t.Name)
}

const templateCols = `account_id, region, name, subject, text, html, created_at`

func scanTemplate(row pgx.Row) (store.Template, error) {
	var t store.Template
	var created int64
	err := row.Scan(&t.AccountID, &t.Region, &t.Name, &t.Subject, &t.Text, &t.HTML, &created)
	t.CreatedAt = fromMS(created)
	return t, err
}

// GetTemplate implements store.Templates.
func (s *Store) GetTemplate(ctx context.Context, accountID, region, name string) (store.Template, error) {
	t, err := scanTemplate(s.pool.QueryRow(ctx, `SELECT `+templateCols+` FROM templates WHERE account_id = $1 AND region = $2 AND name = $3`, accountID, region, name))
	return t, classify(err, "get template "+name)
}

// UpdateTemplate implements store.Templates.
func (s *Store) UpdateTemplate(ctx context.Context, t store.Template) error {
	tag, err := s.pool.Exec(ctx, `UPDATE templates SET subject = $1, text = $2, html = $3 WHERE account_id = $4 AND region = $5 AND name = $6`,
		t.Subject, t.Text, t.HTML, t.AccountID, t.Region, t.Name)
	if err != nil {
		return classify(err, "update template "+t.Name)
	}
	return mustAffect(tag, "update template "+t.Name)
}

// DeleteTemplate implements store.Templates.
func (s *Store) DeleteTemplate(ctx context.Context, accountID, region, name string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM templates WHERE account_id = $1 AND region = $2 AND name = $3`, accountID, region, name)
	if err != nil {
		return classify(err, "delete template "+name)
	}
	return mustAffect(tag, "delete template "+name)
}

// ListTemplates implements store.Templates.
func (s *Store) ListTemplates(ctx context.Context, accountID, region, after string, limit int) ([]store.Template, error) {
	return collect(ctx, s, "list templates", scanTemplate, `SELECT `+templateCols+` FROM templates
		WHERE account_id = $1 AND region = $2 AND name > $3 ORDER BY name LIMIT $4`, accountID, region, after, limit)
}

// CountTemplates implements store.Templates.
func (s *Store) CountTemplates(ctx context.Context, accountID, region string) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT COUNT(*) FROM templates WHERE account_id = $1 AND region = $2`, accountID, region).Scan(&n)
	return n, classify(err, "count templates")
}
