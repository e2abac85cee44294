package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/sesame-email/sesame/internal/store"
)

// CreateResource implements store.Resources.
func (s *Store) CreateResource(ctx context.Context, r store.Resource) error {
	_, err := s.exec(ctx, `INSERT INTO resources(account_id, region, kind, name, doc, created_at) VALUES (?,?,?,?,?,?)`,
		r.AccountID, r.Region, r.Kind, r.Name, r.Doc, ms(r.CreatedAt))
	return classify(err, "create "+r.Kind)
}

const resourceCols = `account_id, region, kind, name, doc, created_at`

func scanResource(row interface{ Scan(...any) error }) (store.Resource, error) {
	var r store.Resource
	var created int64
	err := row.Scan(&r.AccountID, &r.Region, &r.Kind, &r.Name, &r.Doc, &created)
	r.CreatedAt = fromMS(created)
	return r, err
}

// GetResource implements store.Resources.
func (s *Store) GetResource(ctx context.Context, accountID, region, kind, name string) (store.Resource, error) {
	r, err := scanResource(s.queryRow(ctx, `SELECT `+resourceCols+` FROM resources WHERE account_id = ? AND region = ? AND kind = ? AND name = ?`,
		accountID, region, kind, name))
	return r, classify(err, "get "+kind+" "+name)
}

// errAbort carries fn's error out of a transaction unclassified.
type errAbort struct{ err error }

func (e errAbort) Error() string { return e.err.Error() }

// UpdateResource implements store.Resources. The transaction is IMMEDIATE,
// so the read and the write are one step for every other writer.
func (s *Store) UpdateResource(ctx context.Context, accountID, region, kind, name string, fn func([]byte) ([]byte, error)) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var doc []byte
		if err := tx.QueryRowContext(ctx, `SELECT doc FROM resources WHERE account_id = ? AND region = ? AND kind = ? AND name = ?`,
			accountID, region, kind, name).Scan(&doc); err != nil {
			return err
		}
		nd, err := fn(doc)
		if err != nil {
			return errAbort{err}
		}
		_, err = tx.ExecContext(ctx, `UPDATE resources SET doc = ? WHERE account_id = ? AND region = ? AND kind = ? AND name = ?`, nd, accountID, region, kind, name)
		return err
	})
	var ab errAbort
	if errors.As(err, &ab) {
		return ab.err
	}
	return classify(err, "update "+kind+" "+name)
}

// ListResources implements store.Resources.
func (s *Store) ListResources(ctx context.Context, accountID, region, kind, after string, limit int) ([]store.Resource, error) {
	rows, err := s.query(ctx, `SELECT `+resourceCols+` FROM resources WHERE account_id = ? AND region = ? AND kind = ? AND name > ? ORDER BY name LIMIT ?`,
		accountID, region, kind, after, limit)
	if err != nil {
		return nil, classify(err, "list "+kind)
	}
	defer rows.Close()
	var out []store.Resource
	for rows.Next() {
		r, err := scanResource(rows)
		if err != nil {
			return nil, classify(err, "list "+kind)
		}
		out = append(out, r)
	}
	return out, classify(rows.Err(), "list "+kind)
}

// DeleteResource implements store.Resources.
func (s *Store) DeleteResource(ctx context.Context, accountID, region, kind, name string) error {
	res, err := s.exec(ctx, `DELETE FROM resources WHERE account_id = ? AND region = ? AND kind = ? AND name = ?`, accountID, region, kind, name)
	if err != nil {
		return classify(err, "delete "+kind)
	}
	return mustAffect(res, "delete "+kind+" "+name)
}

// CountResources implements store.Resources.
func (s *Store) CountResources(ctx context.Context, accountID, region, kind string) (int, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM resources WHERE account_id = ? AND region = ? AND kind = ?`, accountID, region, kind).Scan(&n)
	return n, classify(err, "count "+kind)
}

// AddEvents implements store.Events.
func (s *Store) AddEvents(ctx context.Context, evs []store.Event, notes []store.Notification) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, e := range evs {
			if _, err := s.txExec(ctx, tx, `INSERT INTO events(id, account_id, region, message_id, type, recipients, n, created_at, json) VALUES (?,?,?,?,?,?,?,?,?)`,
				e.ID, e.AccountID, e.Region, e.MessageID, e.Type, strings.Join(e.Recipients, ","), len(e.Recipients), ms(e.CreatedAt), e.JSON); err != nil {
				return err
			}
		}
		for _, n := range notes {
			if _, err := s.txExec(ctx, tx, `INSERT INTO notifications(`+noteCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
				n.ID, n.SubscriptionARN, n.AccountID, n.Region, n.TopicARN, n.Type, n.Endpoint, n.Body, string(n.State), n.Attempts,
				ms(n.NextAttempt), n.LastResult, ms(n.CreatedAt), ms(n.UpdatedAt)); err != nil {
				return err
			}
		}
		return nil
	})
	return classify(err, "add events")
}

const eventCols = `id, account_id, region, message_id, type, recipients, created_at, json`

// ListEvents implements store.Events.
func (s *Store) ListEvents(ctx context.Context, accountID, region string, p store.EventPage) ([]store.Event, error) {
	before := p.Before
	if before.IsZero() {
		before = time.Unix(1<<40, 0)
	}
	q := `SELECT ` + eventCols + ` FROM events WHERE account_id = ? AND region = ? AND created_at < ?`
	args := []any{accountID, region, ms(before)}
	if p.MessageID != "" {
		q += ` AND message_id = ?`
		args = append(args, p.MessageID)
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	args = append(args, p.Limit)
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, classify(err, "list events")
	}
	defer rows.Close()
	var out []store.Event
	for rows.Next() {
		var e store.Event
		var rcpts string
		var created int64
		if err := rows.Scan(&e.ID, &e.AccountID, &e.Region, &e.MessageID, &e.Type, &rcpts, &created, &e.JSON); err != nil {
			return nil, classify(err, "list events")
		}
		if rcpts != "" {
			e.Recipients = strings.Split(rcpts, ",")
		}
		e.CreatedAt = fromMS(created)
		out = append(out, e)
	}
	return out, classify(rows.Err(), "list events")
}

// EventCounts implements store.Events.
func (s *Store) EventCounts(ctx context.Context, accountID, region string, since time.Time) ([]store.EventBucket, error) {
	const bucket = int64(15 * time.Minute / time.Millisecond)
	rows, err := s.query(ctx, `SELECT created_at / ? * ?, type, SUM(n) FROM events
		WHERE account_id = ? AND region = ? AND created_at >= ? GROUP BY 1, 2 ORDER BY 1`, bucket, bucket, accountID, region, ms(since))
	if err != nil {
		return nil, classify(err, "event counts")
	}
	defer rows.Close()
	var out []store.EventBucket
	for rows.Next() {
		var start int64
		var typ string
		var n int
		if err := rows.Scan(&start, &typ, &n); err != nil {
			return nil, classify(err, "event counts")
		}
		if len(out) == 0 || !out[len(out)-1].Start.Equal(fromMS(start)) {
			out = append(out, store.EventBucket{Start: fromMS(start), Counts: map[string]int{}})
		}
		out[len(out)-1].Counts[typ] += n
	}
	return out, classify(rows.Err(), "event counts")
}

const noteCols = `id, subscription_arn, account_id, region, topic_arn, type, endpoint, body, state, attempts, next_attempt, last_result, created_at, updated_at`

func scanNote(row interface{ Scan(...any) error }) (store.Notification, error) {
	var n store.Notification
	var state string
	var next, created, updated int64
	err := row.Scan(&n.ID, &n.SubscriptionARN, &n.AccountID, &n.Region, &n.TopicARN, &n.Type, &n.Endpoint, &n.Body, &state, &n.Attempts,
		&next, &n.LastResult, &created, &updated)
	n.State, n.NextAttempt, n.CreatedAt, n.UpdatedAt = store.NotificationState(state), fromMS(next), fromMS(created), fromMS(updated)
	return n, err
}

// ClaimNotifications implements store.Events.
func (s *Store) ClaimNotifications(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.Notification, error) {
	var out []store.Notification
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := s.txQuery(ctx, tx, `SELECT `+noteCols+` FROM notifications WHERE state = 'pending' AND next_attempt <= ? ORDER BY next_attempt LIMIT ?`, ms(now), limit)
		if err != nil {
			return err
		}
		for rows.Next() {
			n, err := scanNote(rows)
			if err != nil {
				rows.Close()
				return err
			}
			out = append(out, n)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		until := ms(now.Add(lease))
		for i := range out {
			if _, err := s.txExec(ctx, tx, `UPDATE notifications SET next_attempt = ? WHERE id = ? AND subscription_arn = ?`, until, out[i].ID, out[i].SubscriptionARN); err != nil {
				return err
			}
			out[i].NextAttempt = fromMS(until)
		}
		return nil
	})
	return out, classify(err, "claim notifications")
}

// UpdateNotification implements store.Events.
func (s *Store) UpdateNotification(ctx context.Context, n store.Notification) error {
	res, err := s.exec(ctx, `UPDATE notifications SET state = ?, attempts = ?, next_attempt = ?, last_result = ?, updated_at = ? WHERE id = ? AND subscription_arn = ?`,
		string(n.State), n.Attempts, ms(n.NextAttempt), n.LastResult, ms(n.UpdatedAt), n.ID, n.SubscriptionARN)
	if err != nil {
		return classify(err, "update notification")
	}
	return mustAffect(res, "update notification "+n.ID)
}

// ListNotifications implements store.Events.
func (s *Store) ListNotifications(ctx context.Context, accountID, region, topicARN string, limit int) ([]store.Notification, error) {
	q := `SELECT ` + noteCols + ` FROM notifications WHERE account_id = ? AND region = ?`
	args := []any{accountID, region}
	if topicARN != "" {
		q += ` AND topic_arn = ?`
		args = append(args, topicARN)
	}
	q += ` ORDER BY created_at DESC, id LIMIT ?`
	rows, err := s.query(ctx, q, append(args, limit)...)
	if err != nil {
		return nil, classify(err, "list notifications")
	}
	defer rows.Close()
	var out []store.Notification
	for rows.Next() {
		n, err := scanNote(rows)
		if err != nil {
			return nil, classify(err, "list notifications")
		}
		out = append(out, n)
	}
	return out, classify(rows.Err(), "list notifications")
}

// DeleteEventsBefore implements store.Events.
func (s *Store) DeleteEventsBefore(ctx context.Context, t time.Time) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM events WHERE created_at < ?`, ms(t)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM notifications WHERE created_at < ? AND state != 'pending'`, ms(t))
		return err
	})
	return classify(err, "delete old events")
}
