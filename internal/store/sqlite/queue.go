package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/sesame-email/sesame/internal/store"
)

// statsBucket is the width of a send_stats bucket: SES's GetSendStatistics
// reports 15-minute data points.
const statsBucket = 15 * time.Minute

// Enqueue implements store.Queue: every message, its recipients and the
// send counters in one transaction, so a batch from concurrent senders
// costs one fsync (group commit).
func (s *Store) Enqueue(ctx context.Context, msgs []store.Message, rcpts [][]store.Recipient) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		msgStmt, err := tx.PrepareContext(ctx, `INSERT INTO messages(id, account_id, region, mail_from, from_addr, subject, config_set, tags, created_at, data) VALUES (?,?,?,?,?,?,?,?,?,?)`)
		if err != nil {
			return err
		}
		defer msgStmt.Close()
		rcptStmt, err := tx.PrepareContext(ctx, `INSERT INTO recipients(message_id, address, domain, state, next_attempt, attempts, last_response, updated_at) VALUES (?,?,?,?,?,?,?,?)`)
		if err != nil {
			return err
		}
		defer rcptStmt.Close()
		statStmt, err := tx.PrepareContext(ctx, `INSERT INTO send_stats(account_id, region, bucket, sent) VALUES (?,?,?,?)
			ON CONFLICT(account_id, region, bucket) DO UPDATE SET sent = sent + excluded.sent`)
		if err != nil {
			return err
		}
		defer statStmt.Close()
		for i, m := range msgs {
			tags, err := json.Marshal(m.Tags)
			if err != nil {
				return err
			}
			if _, err := msgStmt.ExecContext(ctx, m.ID, m.AccountID, m.Region, m.MailFrom, m.From, m.Subject, m.ConfigurationSet, string(tags), ms(m.CreatedAt), m.Data); err != nil {
				return err
			}
			for _, r := range rcpts[i] {
				if _, err := rcptStmt.ExecContext(ctx, m.ID, r.Address, r.Domain, string(r.State), ms(r.NextAttempt), r.Attempts, r.LastResponse, ms(r.UpdatedAt)); err != nil {
					return err
				}
			}
			if m.MailFrom == "" {
				continue // sesame's own notice: not the account's sending
			}
			bucket := m.CreatedAt.UnixMilli() / statsBucket.Milliseconds()
			if _, err := statStmt.ExecContext(ctx, m.AccountID, m.Region, bucket, len(rcpts[i])); err != nil {
				return err
			}
		}
		return nil
	})
	return classify(err, "enqueue")
}

const messageCols = `id, account_id, region, mail_from, from_addr, subject, config_set, tags, created_at`

func scanMessage(row interface{ Scan(...any) error }, withData bool) (store.Message, error) {
	var m store.Message
	var tags string
	var created int64
	dest := []any{&m.ID, &m.AccountID, &m.Region, &m.MailFrom, &m.From, &m.Subject, &m.ConfigurationSet, &tags, &created}
	if withData {
		dest = append(dest, &m.Data)
	}
	if err := row.Scan(dest...); err != nil {
		return m, err
	}
	m.CreatedAt = fromMS(created)
	if err := json.Unmarshal([]byte(tags), &m.Tags); err != nil {
		return m, err
	}
	return m, nil
}

// GetMessage implements store.Queue.
func (s *Store) GetMessage(ctx context.Context, id string) (store.Message, error) {
	m, err := scanMessage(s.queryRow(ctx, `SELECT `+messageCols+`, data FROM messages WHERE id = ?`, id), true)
	return m, classify(err, "get message "+id)
}

const rcptCols = `message_id, address, domain, state, next_attempt, attempts, last_response, updated_at`

func (s *Store) queryRecipients(ctx context.Context, q string, args ...any) ([]store.Recipient, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, classify(err, "recipients")
	}
	defer rows.Close()
	var out []store.Recipient
	for rows.Next() {
		var r store.Recipient
		var state string
		var next, updated int64
		if err := rows.Scan(&r.MessageID, &r.Address, &r.Domain, &state, &next, &r.Attempts, &r.LastResponse, &updated); err != nil {
			return nil, classify(err, "recipients")
		}
		r.State, r.NextAttempt, r.UpdatedAt = store.RecipientState(state), fromMS(next), fromMS(updated)
		out = append(out, r)
	}
	return out, classify(rows.Err(), "recipients")
}

// Recipients implements store.Queue.
func (s *Store) Recipients(ctx context.Context, messageID string) ([]store.Recipient, error) {
	return s.queryRecipients(ctx, `SELECT `+rcptCols+` FROM recipients WHERE message_id = ? ORDER BY rowid`, messageID)
}

// DueRecipients implements store.Queue.
func (s *Store) DueRecipients(ctx context.Context, now time.Time, limit int) ([]store.Recipient, error) {
	return s.queryRecipients(ctx, `SELECT `+rcptCols+` FROM recipients WHERE state IN ('queued', 'deferred') AND next_attempt <= ? ORDER BY next_attempt LIMIT ?`, ms(now), limit)
}

// UpdateRecipient implements store.Queue.
func (s *Store) UpdateRecipient(ctx context.Context, r store.Recipient) error {
	if r.State != store.RcptDelivered {
		res, err := s.exec(ctx, updateRecipientSQL,
			string(r.State), ms(r.NextAttempt), r.Attempts, r.LastResponse, ms(r.UpdatedAt), r.MessageID, r.Address)
		if err != nil {
			return classify(err, "update recipient")
		}
		return mustAffect(res, "update recipient "+r.Address)
	}
	return s.UpdateRecipients(ctx, []store.Recipient{r})
}

const updateRecipientSQL = `UPDATE recipients SET state = ?, next_attempt = ?, attempts = ?, last_response = ?, updated_at = ? WHERE message_id = ? AND address = ?`

// countDeliveredSQL adds deliveries to a 15-minute bucket (the first
// parameter) of their messages' accounts and regions, one per message id in
// the JSON array of the second (an id twice counts twice): one statement
// per batch of outcomes, for the console's deliveries per hour.
const countDeliveredSQL = `INSERT INTO send_stats(account_id, region, bucket, sent, delivered)
	SELECT m.account_id, m.region, ?, 0, COUNT(*) FROM json_each(?) d JOIN messages m ON m.id = d.value WHERE true
	GROUP BY m.account_id, m.region
	ON CONFLICT(account_id, region, bucket) DO UPDATE SET delivered = delivered + excluded.delivered`

// UpdateRecipients implements store.Queue.
func (s *Store) UpdateRecipients(ctx context.Context, rs []store.Recipient) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, r := range rs {
			res, err := s.txExec(ctx, tx, updateRecipientSQL,
				string(r.State), ms(r.NextAttempt), r.Attempts, r.LastResponse, ms(r.UpdatedAt), r.MessageID, r.Address)
			if err != nil {
				return err
			}
			if err := mustAffect(res, "update recipient "+r.Address); err != nil {
				return err
			}
		}
		return countDelivered(ctx, s, tx, rs)
	})
	return classify(err, "update recipients")
}

// countDelivered counts rs's deliveries in send_stats, one statement per
// 15-minute bucket among them (a batch's outcomes share one, mostly).
func countDelivered(ctx context.Context, s *Store, tx *sql.Tx, rs []store.Recipient) error {
	var buckets []int64
	ids := map[int64][]string{}
	for _, r := range rs {
		if r.State != store.RcptDelivered {
			continue
		}
		b := r.UpdatedAt.UnixMilli() / statsBucket.Milliseconds()
		if _, ok := ids[b]; !ok {
			buckets = append(buckets, b)
		}
		ids[b] = append(ids[b], r.MessageID)
	}
	for _, b := range buckets {
		list, err := json.Marshal(ids[b])
		if err != nil {
			return err
		}
		if _, err := s.txExec(ctx, tx, countDeliveredSQL, b, string(list)); err != nil {
			return err
		}
	}
	return nil
}

// ListMessages implements store.Queue.
func (s *Store) ListMessages(ctx context.Context, accountID, region string, before time.Time, limit int) ([]store.Message, error) {
	if before.IsZero() {
		before = time.Now().Add(time.Hour)
	}
	rows, err := s.query(ctx, `SELECT `+messageCols+` FROM messages WHERE account_id = ? AND region = ? AND created_at < ? ORDER BY created_at DESC, id DESC LIMIT ?`,
		accountID, region, ms(before), limit)
	if err != nil {
		return nil, classify(err, "list messages")
	}
	defer rows.Close()
	var out []store.Message
	for rows.Next() {
		m, err := scanMessage(rows, false)
		if err != nil {
			return nil, classify(err, "list messages")
		}
		out = append(out, m)
	}
	return out, classify(rows.Err(), "list messages")
}

// CountRecipientsSince implements store.Queue, from the 15-minute buckets
// (the bucket holding since counts whole).
func (s *Store) CountRecipientsSince(ctx context.Context, accountID, region string, since time.Time) (int, error) {
	var n sql.NullInt64
	err := s.queryRow(ctx, `SELECT SUM(sent) FROM send_stats WHERE account_id = ? AND region = ? AND bucket >= ?`,
		accountID, region, since.UnixMilli()/statsBucket.Milliseconds()).Scan(&n)
	return int(n.Int64), classify(err, "count recipients")
}

// SendStats implements store.Queue.
func (s *Store) SendStats(ctx context.Context, accountID, region string, since time.Time) ([]store.StatBucket, error) {
	w := statsBucket.Milliseconds()
	rows, err := s.query(ctx, `SELECT bucket, sent, delivered FROM send_stats WHERE account_id = ? AND region = ? AND bucket >= ? ORDER BY bucket`,
		accountID, region, since.UnixMilli()/w)
	if err != nil {
		return nil, classify(err, "send stats")
	}
	defer rows.Close()
	var out []store.StatBucket
	for rows.Next() {
		var b int64
		var n, d int
		if err := rows.Scan(&b, &n, &d); err != nil {
			return nil, classify(err, "send stats")
		}
		out = append(out, store.StatBucket{Start: time.UnixMilli(b * w).UTC(), Sent: n, Delivered: d})
	}
	return out, classify(rows.Err(), "send stats")
}

// ClaimDue implements store.Queue.
func (s *Store) ClaimDue(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.Recipient, error) {
	var out []store.Recipient
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := s.txQuery(ctx, tx, `SELECT `+rcptCols+` FROM recipients WHERE state IN ('queued', 'deferred') AND next_attempt <= ? ORDER BY next_attempt LIMIT ?`, ms(now), limit)
		if err != nil {
			return err
		}
		for rows.Next() {
			var r store.Recipient
			var state string
			var next, updated int64
			if err := rows.Scan(&r.MessageID, &r.Address, &r.Domain, &state, &next, &r.Attempts, &r.LastResponse, &updated); err != nil {
				rows.Close()
				return err
			}
			r.State, r.NextAttempt, r.UpdatedAt = store.RecipientState(state), fromMS(next), fromMS(updated)
			out = append(out, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		until := ms(now.Add(lease))
		for i := range out {
			if _, err := s.txExec(ctx, tx, `UPDATE recipients SET next_attempt = ? WHERE message_id = ? AND address = ?`, until, out[i].MessageID, out[i].Address); err != nil {
				return err
			}
			out[i].NextAttempt = fromMS(until)
		}
		return nil
	})
	return out, classify(err, "claim recipients")
}

// QueueSummary implements store.Queue.
func (s *Store) QueueSummary(ctx context.Context, accountID, region string) ([]store.DestinationSummary, error) {
	rows, err := s.query(ctx, `SELECT r.domain,
			SUM(r.state = 'queued'), SUM(r.state = 'deferred'), SUM(r.state = 'held'),
			MIN(m.created_at), MAX(r.last_response)
		FROM recipients r JOIN messages m ON m.id = r.message_id
		WHERE m.account_id = ? AND m.region = ? AND r.state IN ('queued', 'deferred', 'held')
		GROUP BY r.domain ORDER BY COUNT(*) DESC, r.domain`, accountID, region)
	if err != nil {
		return nil, classify(err, "queue summary")
	}
	defer rows.Close()
	var out []store.DestinationSummary
	for rows.Next() {
		var d store.DestinationSummary
		var oldest int64
		if err := rows.Scan(&d.Domain, &d.Queued, &d.Deferred, &d.Held, &oldest, &d.LastResponse); err != nil {
			return nil, classify(err, "queue summary")
		}
		d.Oldest = fromMS(oldest)
		out = append(out, d)
	}
	return out, classify(rows.Err(), "queue summary")
}

// MoveRecipients implements store.Queue.
func (s *Store) MoveRecipients(ctx context.Context, messageID string, from []store.RecipientState, to store.RecipientState, next time.Time) (int, error) {
	q := `UPDATE recipients SET state = ?, next_attempt = ?, updated_at = ? WHERE message_id = ? AND state IN (`
	args := []any{string(to), ms(next), ms(next), messageID}
	for i, f := range from {
		if i > 0 {
			q += ","
		}
		q += "?"
		args = append(args, string(f))
	}
	res, err := s.exec(ctx, q+")", args...)
	if err != nil {
		return 0, classify(err, "move recipients")
	}
	n, err := res.RowsAffected()
	return int(n), classify(err, "move recipients")
}

// PruneMessages implements store.Queue.
func (s *Store) PruneMessages(ctx context.Context, before time.Time, limit int) (int, error) {
	res, err := s.exec(ctx, `DELETE FROM messages WHERE id IN (SELECT m.id FROM messages m WHERE m.created_at < ?
			AND NOT EXISTS (SELECT 1 FROM recipients r WHERE r.message_id = m.id AND r.state IN ('queued', 'deferred', 'held'))
			ORDER BY m.created_at LIMIT ?)`, ms(before), limit)
	if err != nil {
		return 0, classify(err, "prune messages")
	}
	n, err := res.RowsAffected()
	return int(n), classify(err, "prune messages")
}

// DeleteMessage implements store.Queue.
func (s *Store) DeleteMessage(ctx context.Context, id string) error {
	res, err := s.exec(ctx, `DELETE FROM messages WHERE id = ?`, id)
	if err != nil {
		return classify(err, "delete message")
	}
	return mustAffect(res, "delete message "+id)
}
