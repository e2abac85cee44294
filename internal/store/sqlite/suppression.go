package sqlite

import (
	"context"
	"strings"

	"github.com/sesame-email/sesame/internal/store"
)

// PutSuppression implements store.Suppressions.
func (s *Store) PutSuppression(ctx context.Context, sp store.Suppression) error {
	_, err := s.exec(ctx, `INSERT INTO suppressions(account_id, region, address, reason, updated_at, message_id, feedback_id) VALUES (?,?,?,?,?,?,?)
		ON CONFLICT(account_id, region, address) DO UPDATE SET reason = excluded.reason, updated_at = excluded.updated_at,
		message_id = excluded.message_id, feedback_id = excluded.feedback_id`,
		sp.AccountID, sp.Region, strings.ToLower(sp.Address), sp.Reason, ms(sp.UpdatedAt), sp.MessageID, sp.FeedbackID)
	return classify(err, "put suppression")
}

const suppressionCols = `account_id, region, address, reason, updated_at, message_id, feedback_id`

func scanSuppression(row interface{ Scan(...any) error }) (store.Suppression, error) {
	var sp store.Suppression
	var updated int64
	err := row.Scan(&sp.AccountID, &sp.Region, &sp.Address, &sp.Reason, &updated, &sp.MessageID, &sp.FeedbackID)
	sp.UpdatedAt = fromMS(updated)
	return sp, err
}

// GetSuppression implements store.Suppressions.
func (s *Store) GetSuppression(ctx context.Context, accountID, region, address string) (store.Suppression, error) {
	sp, err := scanSuppression(s.queryRow(ctx, `SELECT `+suppressionCols+` FROM suppressions WHERE account_id = ? AND region = ? AND address = ?`,
		accountID, region, strings.ToLower(address)))
	return sp, classify(err, "get suppression")
}

// DeleteSuppression implements store.Suppressions.
func (s *Store) DeleteSuppression(ctx context.Context, accountID, region, address string) error {
	res, err := s.exec(ctx, `DELETE FROM suppressions WHERE account_id = ? AND region = ? AND address = ?`, accountID, region, strings.ToLower(address))
	if err != nil {
		return classify(err, "delete suppression")
	}
	return mustAffect(res, "delete suppression "+address)
}

// ListSuppressions implements store.Suppressions.
func (s *Store) ListSuppressions(ctx context.Context, accountID, region string, p store.SuppressionPage) ([]store.Suppression, error) {
	q := `SELECT ` + suppressionCols + ` FROM suppressions WHERE account_id = ? AND region = ? AND address > ?`
	args := []any{accountID, region, p.After}
	if len(p.Reasons) > 0 {
		q += ` AND reason IN (?` + strings.Repeat(",?", len(p.Reasons)-1) + `)`
		for _, r := range p.Reasons {
			args = append(args, r)
		}
	}
	if !p.Start.IsZero() {
		q += ` AND updated_at >= ?`
		args = append(args, ms(p.Start))
	}
	if !p.End.IsZero() {
		q += ` AND updated_at < ?`
		args = append(args, ms(p.End))
	}
	if p.Limit <= 0 {
		p.Limit = 1000
	}
	q += ` ORDER BY address LIMIT ?`
	args = append(args, p.Limit)
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, classify(err, "list suppressions")
	}
	defer rows.Close()
	var out []store.Suppression
	for rows.Next() {
		sp, err := scanSuppression(rows)
		if err != nil {
			return nil, classify(err, "list suppressions")
		}
		out = append(out, sp)
	}
	return out, classify(rows.Err(), "list suppressions")
}

// SuppressedAmong implements store.Suppressions.
func (s *Store) SuppressedAmong(ctx context.Context, accountID, region string, addresses []string) (map[string]store.Suppression, error) {
	out := map[string]store.Suppression{}
	if len(addresses) == 0 {
		return out, nil
	}
	args := []any{accountID, region}
	for _, a := range addresses {
		args = append(args, strings.ToLower(a))
	}
	rows, err := s.query(ctx, `SELECT `+suppressionCols+` FROM suppressions WHERE account_id = ? AND region = ? AND address IN (?`+
		strings.Repeat(",?", len(addresses)-1)+`)`, args...)
	if err != nil {
		return nil, classify(err, "suppressed among")
	}
	defer rows.Close()
	for rows.Next() {
		sp, err := scanSuppression(rows)
		if err != nil {
			return nil, classify(err, "suppressed among")
		}
		out[sp.Address] = sp
	}
	return out, classify(rows.Err(), "suppressed among")
}
