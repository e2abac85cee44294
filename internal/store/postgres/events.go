package postgres

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-email/sesame/internal/store"
)

// CreateResource implements store.Resources.
func (s *Store) CreateResource(ctx context.Context, r store.Resource) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO resources(account_id, region, kind, name, doc, created_at) VALUES ($1,$2,$3,$4,$5,$6)`,
		r.AccountID, r.Region, r.Kind, r.Name, r.Doc, ms(r.CreatedAt))
	return classify(err, "create "+r.Kind)
}

const resourceCols = `account_id, region, kind, name, doc, created_at`

func scanResource(row pgx.Row) (store.Resource, error) {
	var r store.Resource
	var created int64
	err := row.Scan(&r.AccountID, &r.Region, &r.Kind, &r.Name, &r.Doc, &created)
	r.CreatedAt = fromMS(created)
	return r, err
}

// GetResource implements store.Resources.
func (s *Store) GetResource(ctx context.Context, accountID, region, kind, name string) (store.Resource, error) {
	r, err := scanResource(s.pool.QueryRow(ctx, `SELECT `+resourceCols+` FROM resources WHERE account_id = $1 AND region = $2 AND kind = $3 AND name = $4`,
		accountID, region, kind, name))
	return r, classify(err, "get "+kind+" "+name)
}

// errAbort carries fn's error out of a transaction unclassified.
type errAbort struct{ err error }

func (e errAbort) Error() string { return e.err.Error() }

// UpdateResource implements store.Resources. SELECT … FOR UPDATE holds the
// row from the read to the write, so updates from any node serialise.
func (s *Store) UpdateResource(ctx context.Context, accountID, region, kind, name string, fn func([]byte) ([]byte, error)) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var doc []byte
		if err := tx.QueryRow(ctx, `SELECT doc FROM resources WHERE account_id = $1 AND region = $2 AND kind = $3 AND name = $4 FOR UPDATE`,
			accountID, region, kind, name).Scan(&doc); err != nil {
			return err
		}
		nd, err := fn(doc)
		if err != nil {
			return errAbort{err}
		}
		_, err = tx.Exec(ctx, `UPDATE resources SET doc = $1 WHERE account_id = $2 AND region = $3 AND kind = $4 AND name = $5`, nd, accountID, region, kind, name)
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
	return collect(ctx, s, "list "+kind, scanResource, `SELECT `+resourceCols+` FROM resources
		WHERE account_id = $1 AND region = $2 AND kind = $3 AND name > $4 ORDER BY name LIMIT $5`, accountID, region, kind, after, limit)
}

// DeleteResource implements store.Resources.
func (s *Store) DeleteResource(ctx context.Context, accountID, region, kind, name string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM resources WHERE account_id = $1 AND region = $2 AND kind = $3 AND name = $4`, accountID, region, kind, name)
	if err != nil {
		return classify(err, "delete "+kind)
	}
	return mustAffect(tag, "delete "+kind+" "+name)
}

// CountResources implements store.Resources.
func (s *Store) CountResources(ctx context.Context, accountID, region, kind string) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT COUNT(*) FROM resources WHERE account_id = $1 AND region = $2 AND kind = $3`, accountID, region, kind).Scan(&n)
	return n, classify(err, "count "+kind)
}

// AddEvents implements store.Events: one transaction, one round trip.
func (s *Store) AddEvents(ctx context.Context, evs []store.Event, notes []store.Notification) error {
	b := &pgx.Batch{}
	for _, e := range evs {
		b.Queue(`INSERT INTO events(id, account_id, region, message_id, type, recipients, n, created_at, json) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`,
			e.ID, e.AccountID, e.Region, e.MessageID, e.Type, strings.Join(e.Recipients, ","), len(e.Recipients), ms(e.CreatedAt), e.JSON)
	}
	for _, n := range notes {
		b.Queue(`INSERT INTO notifications(`+noteCols+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)`,
			n.ID, n.SubscriptionARN, n.AccountID, n.Region, n.TopicARN, n.Type, n.Endpoint, n.Body, string(n.State), n.Attempts,
			ms(n.NextAttempt), n.LastResult, ms(n.CreatedAt), ms(n.UpdatedAt))
	}
	err := s.tx(ctx, func(tx pgx.Tx) error { return tx.SendBatch(ctx, b).Close() })
	return classify(err, "add events")
}

// ListEvents implements store.Events.
func (s *Store) ListEvents(ctx context.Context, accountID, region string, p store.EventPage) ([]store.Event, error) {
	before := p.Before
	if before.IsZero() {
		before = time.Unix(1<<40, 0)
	}
	return collect(ctx, s, "list events", func(row pgx.Row) (store.Event, error) {
		var e store.Event
		var rcpts string
		var created int64
		err := row.Scan(&e.ID, &e.AccountID, &e.Region, &e.MessageID, &e.Type, &rcpts, &created, &e.JSON)
		if rcpts != "" {
			e.Recipients = strings.Split(rcpts, ",")
		}
		e.CreatedAt = fromMS(created)
		return e, err
	}, `SELECT id, account_id, region, message_id, type, recipients, created_at, json FROM events
		WHERE account_id = $1 AND region = $2 AND created_at < $3 AND ($4 = '' OR message_id = $4)
		ORDER BY created_at DESC, id DESC LIMIT $5`, accountID, region, ms(before), p.MessageID, p.Limit)
}

// EventCounts implements store.Events.
func (s *Store) EventCounts(ctx context.Context, accountID, region string, since time.Time) ([]store.EventBucket, error) {
	const bucket = int64(15 * time.Minute / time.Millisecond)
	type row struct {
		start int64
		typ   string
		n     int64
	}
	rows, err := collect(ctx, s, "event counts", func(r pgx.Row) (row, error) {
		var v row
		err := r.Scan(&v.start, &v.typ, &v.n)
		return v, err
	}, `SELECT created_at / $1 * $1, type, SUM(n)::BIGINT FROM events
		WHERE account_id = $2 AND region = $3 AND created_at >= $4 GROUP BY 1, 2 ORDER BY 1`, bucket, accountID, region, ms(since))
	if err != nil {
		return nil, err
	}
	var out []store.EventBucket
	for _, r := range rows {
		if len(out) == 0 || !out[len(out)-1].Start.Equal(fromMS(r.start)) {
			out = append(out, store.EventBucket{Start: fromMS(r.start), Counts: map[string]int{}})
		}
		out[len(out)-1].Counts[r.typ] += int(r.n)
	}
	return out, nil
}

const noteCols = `id, subscription_arn, account_id, region, topic_arn, type, endpoint, body, state, attempts, next_attempt, last_result, created_at, updated_at`

func scanNote(row pgx.Row) (store.Notification, error) {
	var n store.Notification
	var state string
	var next, created, updated int64
	err := row.Scan(&n.ID, &n.SubscriptionARN, &n.AccountID, &n.Region, &n.TopicARN, &n.Type, &n.Endpoint, &n.Body, &state, &n.Attempts,
		&next, &n.LastResult, &created, &updated)
	n.State, n.NextAttempt, n.CreatedAt, n.UpdatedAt = store.NotificationState(state), fromMS(next), fromMS(created), fromMS(updated)
	return n, err
}

// ClaimNotifications implements store.Events with FOR UPDATE SKIP LOCKED,
// so each webhook attempt is made by one node.
func (s *Store) ClaimNotifications(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.Notification, error) {
	type claimed struct {
		n   store.Notification
		was int64
	}
	out, err := collect(ctx, s, "claim notifications", func(row pgx.Row) (claimed, error) {
		var c claimed
		var state string
		var next, created, updated int64
		err := row.Scan(&c.n.ID, &c.n.SubscriptionARN, &c.n.AccountID, &c.n.Region, &c.n.TopicARN, &c.n.Type, &c.n.Endpoint, &c.n.Body, &state, &c.n.Attempts,
			&next, &c.n.LastResult, &created, &updated, &c.was)
		c.n.State, c.n.NextAttempt, c.n.CreatedAt, c.n.UpdatedAt = store.NotificationState(state), fromMS(next), fromMS(created), fromMS(updated)
		return c, err
	}, `WITH due AS (
			SELECT id, subscription_arn, next_attempt FROM notifications
			WHERE state = 'pending' AND next_attempt <= $1
			ORDER BY next_attempt LIMIT $2 FOR UPDATE SKIP LOCKED)
		UPDATE notifications n SET next_attempt = $3 FROM due
		WHERE n.id = due.id AND n.subscription_arn = due.subscription_arn
		RETURNING n.id, n.subscription_arn, n.account_id, n.region, n.topic_arn, n.type, n.endpoint, n.body, n.state, n.attempts,
			n.next_attempt, n.last_result, n.created_at, n.updated_at, due.next_attempt`,
		ms(now), limit, ms(now.Add(lease)))
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(a, b claimed) int { return cmp.Compare(a.was, b.was) })
	ns := make([]store.Notification, len(out))
	for i, c := range out {
		ns[i] = c.n
	}
	return ns, nil
}

// UpdateNotification implements store.Events.
func (s *Store) UpdateNotification(ctx context.Context, n store.Notification) error {
	tag, err := s.pool.Exec(ctx, `UPDATE notifications SET state = $1, attempts = $2, next_attempt = $3, last_result = $4, updated_at = $5 WHERE id = $6 AND subscription_arn = $7`,
		string(n.State), n.Attempts, ms(n.NextAttempt), n.LastResult, ms(n.UpdatedAt), n.ID, n.SubscriptionARN)
	if err != nil {
		return classify(err, "update notification")
	}
	return mustAffect(tag, "update notification "+n.ID)
}

// ListNotifications implements store.Events.
func (s *Store) ListNotifications(ctx context.Context, accountID, region, topicARN string, limit int) ([]store.Notification, error) {
	return collect(ctx, s, "list notifications", scanNote, `SELECT `+noteCols+` FROM notifications
		WHERE account_id = $1 AND region = $2 AND ($3 = '' OR topic_arn = $3) ORDER BY created_at DESC, id LIMIT $4`, accountID, region, topicARN, limit)
}

// DeleteEventsBefore implements store.Events.
func (s *Store) DeleteEventsBefore(ctx context.Context, t time.Time) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM events WHERE created_at < $1`, ms(t)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM notifications WHERE created_at < $1 AND state != 'pending'`, ms(t))
		return err
	})
	return classify(err, "delete old events")
}
