package postgres

import (
	"context"
	"math"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-email/sesame/internal/store"
)

// PutSuppression implements store.Suppressions.
func (s *Store) PutSuppression(ctx context.Context, sp store.Suppression) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO suppressions(account_id, region, address, reason, updated_at, message_id, feedback_id) VALUES ($1,$2,$3,$4,$5,$6,$7)
		ON CONFLICT(account_id, region, address) DO UPDATE SET reason = excluded.reason, updated_at = excluded.updated_at,
		message_id = excluded.message_id, feedback_id = excluded.feedback_id`,
		sp.AccountID, sp.Region, strings.ToLower(sp.Address), sp.Reason, ms(sp.UpdatedAt), sp.MessageID, sp.FeedbackID)
	return classify(err, "put suppression")
}

const suppressionCols = `account_id, region, address, reason, updated_at, message_id, feedback_id`

func scanSuppression(row pgx.Row) (store.Suppression, error) {
	var sp store.Suppression
	var updated int64
	err := row.Scan(&sp.AccountID, &sp.Region, &sp.Address, &sp.Reason, &updated, &sp.MessageID, &sp.FeedbackID)
	sp.UpdatedAt = fromMS(updated)
	return sp, err
}

// GetSuppression implements store.Suppressions.
func (s *Store) GetSuppression(ctx context.Context, accountID, region, address string) (store.Suppression, error) {
	sp, err := scanSuppression(s.pool.QueryRow(ctx, `SELECT `+suppressionCols+` FROM suppressions WHERE account_id = $1 AND region = $2 AND address = $3`,
		accountID, region, strings.ToLower(address)))
	return sp, classify(err, "get suppression")
}

// DeleteSuppression implements store.Suppressions.
func (s *Store) DeleteSuppression(ctx context.Context, accountID, region, address string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM suppressions WHERE account_id = $1 AND region = $2 AND address = $3`, accountID, region, strings.ToLower(address))
	if err != nil {
		return classify(err, "delete suppression")
	}
	return mustAffect(tag, "delete suppression "+address)
}

// ListSuppressions implements store.Suppressions. One static statement
// serves every filter: an empty reason list and unbounded times match all.
func (s *Store) ListSuppressions(ctx context.Context, accountID, region string, p store.SuppressionPage) ([]store.Suppression, error) {
	start, end := int64(math.MinInt64), int64(math.MaxInt64)
	if !p.Start.IsZero() {
		start = ms(p.Start)
	}
	if !p.End.IsZero() {
		end = ms(p.End)
	}
	if p.Limit <= 0 {
		p.Limit = 1000
	}
	reasons := p.Reasons
	if reasons == nil {
		reasons = []string{}
	}
	return collect(ctx, s, "list suppressions", scanSuppression, `SELECT `+suppressionCols+` FROM suppressions
		WHERE account_id = $1 AND region = $2 AND address > $3 AND (cardinality($4::text[]) = 0 OR reason = ANY($4))
		AND updated_at >= $5 AND updated_at < $6 ORDER BY address LIMIT $7`,
		accountID, region, p.After, reasons, start, end, p.Limit)
}

// SuppressedAmong implements store.Suppressions.
func (s *Store) SuppressedAmong(ctx context.Context, accountID, region string, addresses []string) (map[string]store.Suppression, error) {
	out := map[string]store.Suppression{}
	if len(addresses) == 0 {
		return out, nil
	}
	lower := make([]string, len(addresses))
	for i, a := range addresses {
		lower[i] = strings.ToLower(a)
	}
	list, err := collect(ctx, s, "suppressed among", scanSuppression, `SELECT `+suppressionCols+` FROM suppressions
		WHERE account_id = $1 AND region = $2 AND address = ANY($3)`, accountID, region, lower)
	for _, sp := range list {
		out[sp.Address] = sp
	}
	return out, err
}
