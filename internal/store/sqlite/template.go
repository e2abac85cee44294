package sqlite

import (
	"context"

	"github.com/sesame-email/sesame/internal/store"
)

// CreateTemplate implements store.Templates.
func (s *Store) CreateTemplate(ctx context.Context, t store.Template) error {
	_, err := s.exec(ctx, `INSERT INTO templates(account_id, region, name, subject, text, html, created_at) VALUES (?,?,?,?,?,?,?)`,
		t.AccountID, t.Region, t.Name, t.Subject, t.Text, t.HTML, ms(t.CreatedAt))
	return classify(err, "create template "+t.Name)
}

const templateCols = `account_id, region, name, subject, text, html, created_at`

func scanTemplate(row interface{ Scan(...any) error }) (store.Template, error) {
	var t store.Template
	var created int64
	err := row.Scan(&t.AccountID, &t.Region, &t.Name, &t.Subject, &t.Text, &t.HTML, &created)
	t.CreatedAt = fromMS(created)
	return t, err
}

// GetTemplate implements store.Templates.
func (s *Store) GetTemplate(ctx context.Context, accountID, region, name string) (store.Template, error) {
	t, err := scanTemplate(s.queryRow(ctx, `SELECT `+templateCols+` FROM templates WHERE account_id = ? AND region = ? AND name = ?`, accountID, region, name))
	return t, classify(err, "get template "+name)
}

// UpdateTemplate implements store.Templates.
func (s *Store) UpdateTemplate(ctx context.Context, t store.Template) error {
	res, err := s.exec(ctx, `UPDATE templates SET subject = ?, text = ?, html = ? WHERE account_id = ? AND region = ? AND name = ?`,
		t.Subject, t.Text, t.HTML, t.AccountID, t.Region, t.Name)
	if err != nil {
		return classify(err, "update template "+t.Name)
	}
	return mustAffect(res, "update template "+t.Name)
}

// DeleteTemplate implements store.Templates.
func (s *Store) DeleteTemplate(ctx context.Context, accountID, region, name string) error {
	res, err := s.exec(ctx, `DELETE FROM templates WHERE account_id = ? AND region = ? AND name = ?`, accountID, region, name)
	if err != nil {
		return classify(err, "delete template "+name)
	}
	return mustAffect(res, "delete template "+name)
}

// ListTemplates implements store.Templates.
func (s *Store) ListTemplates(ctx context.Context, accountID, region, after string, limit int) ([]store.Template, error) {
	rows, err := s.query(ctx, `SELECT `+templateCols+` FROM templates WHERE account_id = ? AND region = ? AND name > ? ORDER BY name LIMIT ?`,
		accountID, region, after, limit)
	if err != nil {
		return nil, classify(err, "list templates")
	}
	defer rows.Close()
	var out []store.Template
	for rows.Next() {
		t, err := scanTemplate(rows)
		if err != nil {
			return nil, classify(err, "list templates")
		}
		out = append(out, t)
	}
	return out, classify(rows.Err(), "list templates")
}

// CountTemplates implements store.Templates.
func (s *Store) CountTemplates(ctx context.Context, accountID, region string) (int, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM templates WHERE account_id = ? AND region = ?`, accountID, region).Scan(&n)
	return n, classify(err, "count templates")
}
