package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-email/sesame/internal/store"
)

// statsBucket is the width of a send_stats bucket: SES's GetSendStatistics
// reports 15-minute data points.
const statsBucket = 15 * time.Minute

type statKey struct {
	account, region string
	bucket          int64
}

// Enqueue implements store.Queue: every message, its recipients and the
// send counters in one transaction, sent to the server as one batch (one
// round trip, one commit for a whole group of concurrent senders). The
// counters are summed per bucket first and written in key order, so two
// nodes committing at once never deadlock on them.
func (s *Store) Enqueue(ctx context.Context, msgs []store.Message, rcpts [][]store.Recipient) error {
	b := &pgx.Batch{}
	stats := map[statKey]int{}
	for i, m := range msgs {
		tags, err := json.Marshal(m.Tags)
		if err != nil {
			return err
		}
		b.Queue(`INSERT INTO messages(id, account_id, region, mail_from, from_addr, subject, config_set, tags, created_at, data) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)`,
			m.ID, m.AccountID, m.Region, m.MailFrom, m.From, m.Subject, m.ConfigurationSet, string(tags), ms(m.CreatedAt), m.Data)
		for _, r := range rcpts[i] {
			b.Queue(`INSERT INTO recipients(message_id, address, domain, state, next_attempt, attempts, last_response, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
				m.ID, r.Address, r.Domain, string(r.State), ms(r.NextAttempt), r.Attempts, r.LastResponse, ms(r.UpdatedAt))
		}
		if m.MailFrom != "" { // sesame's own notices are not the account's sending
			stats[statKey{m.AccountID, m.Region, m.CreatedAt.UnixMilli() / statsBucket.Milliseconds()}] += len(rcpts[i])
		}
	}
	keys := make([]statKey, 0, len(stats))
	for k := range stats {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b statKey) int {
		if c := strings.Compare(a.account, b.account); c != 0 {
			return c
		}
		if c := strings.Compare(a.region, b.region); c != 0 {
			return c
		}
		return cmp.Compare(a.bucket, b.bucket)
	})
	for _, k := range keys {
		b.Queue(`INSERT INTO send_stats(account_id, region, bucket, sent) VALUES ($1,$2,$3,$4)
			ON CONFLICT(account_id, region, bucket) DO UPDATE SET sent = send_stats.sent + excluded.sent`, k.account, k.region, k.bucket, stats[k])
	}
	err := s.tx(ctx, func(tx pgx.Tx) error { return tx.SendBatch(ctx, b).Close() })
	return classify(err, "enqueue")
}

const messageCols = `id, account_id, region, mail_from, from_addr, subject, config_set, tags, created_at`

func scanMessage(row pgx.Row, withData bool) (store.Message, error) {
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
	m, err := scanMessage(s.pool.QueryRow(ctx, `SELECT `+messageCols+`, data FROM messages WHERE id = $1`, id), true)
	return m, classify(err, "get message "+id)
}

const rcptCols = `message_id, address, domain, state, next_attempt, attempts, last_response, updated_at`

func scanRecipient(row pgx.Row) (store.Recipient, error) {
	var r store.Recipient
	var state string
	var next, updated int64
	err := row.Scan(&r.MessageID, &r.Address, &r.Domain, &state, &next, &r.Attempts, &r.LastResponse, &updated)
	r.State, r.NextAttempt, r.UpdatedAt = store.RecipientState(state), fromMS(next), fromMS(updated)
	return r, err
}

// Recipients implements store.Queue.
func (s *Store) Recipients(ctx context.Context, messageID string) ([]store.Recipient, error) {
	return collect(ctx, s, "recipients", scanRecipient, `SELECT `+rcptCols+` FROM recipients WHERE message_id = $1 ORDER BY seq`, messageID)
}

// DueRecipients implements store.Queue.
func (s *Store) DueRecipients(ctx context.Context, now time.Time, limit int) ([]store.Recipient, error) {
	return collect(ctx, s, "due recipients", scanRecipient, `SELECT `+rcptCols+` FROM recipients
		WHERE state IN ('queued', 'deferred') AND next_attempt <= $1 ORDER BY next_attempt LIMIT $2`, ms(now), limit)
}

// ClaimDue implements store.Queue. SKIP LOCKED lets every node claim at
// once: rows another node is claiming are passed over, not waited for, and
// the lease moves them out of everyone's due set until it ends.
func (s *Store) ClaimDue(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.Recipient, error) {
	type claimed struct {
		r   store.Recipient
		was int64
	}
	out, err := collect(ctx, s, "claim recipients", func(row pgx.Row) (claimed, error) {
		var c claimed
		var state string
		var next, updated int64
		err := row.Scan(&c.r.MessageID, &c.r.Address, &c.r.Domain, &state, &next, &c.r.Attempts, &c.r.LastResponse, &updated, &c.was)
		c.r.State, c.r.NextAttempt, c.r.UpdatedAt = store.RecipientState(state), fromMS(next), fromMS(updated)
		return c, err
	}, `WITH due AS (
			SELECT message_id, address, next_attempt FROM recipients
			WHERE state IN ('queued', 'deferred') AND next_attempt <= $1
			ORDER BY next_attempt LIMIT $2 FOR UPDATE SKIP LOCKED)
		UPDATE recipients r SET next_attempt = $3 FROM due
		WHERE r.message_id = due.message_id AND r.address = due.address
		RETURNING r.message_id, r.address, r.domain, r.state, r.next_attempt, r.attempts, r.last_response, r.updated_at, due.next_attempt`,
		ms(now), limit, ms(now.Add(lease)))
	if err != nil {
		return nil, err
	}
	// Oldest first, as they were due.
	slices.SortStableFunc(out, func(a, b claimed) int { return cmp.Compare(a.was, b.was) })
	rs := make([]store.Recipient, len(out))
	for i, c := range out {
		rs[i] = c.r
	}
	return rs, nil
}

// UpdateRecipient implements store.Queue.
func (s *Store) UpdateRecipient(ctx context.Context, r store.Recipient) error {
	if r.State == store.RcptDelivered {
		return s.UpdateRecipients(ctx, []store.Recipient{r})
	}
	tag, err := s.pool.Exec(ctx, updateRecipientSQL,
		string(r.State), ms(r.NextAttempt), r.Attempts, r.LastResponse, ms(r.UpdatedAt), r.MessageID, r.Address)
	if err != nil {
		return classify(err, "update recipient")
	}
	return mustAffect(tag, "update recipient "+r.Address)
}

const updateRecipientSQL = `UPDATE recipients SET state = $1, next_attempt = $2, attempts = $3, last_response = $4, updated_at = $5 WHERE message_id = $6 AND address = $7`

// countDeliveredSQL adds deliveries ($1 message ids, $2 their buckets; a
// pair twice counts twice) to the 15-minute buckets of their messages'
// accounts and regions (the console's deliveries per hour). Rows are upserted in key order, as
// Enqueue does, so concurrent transactions never wait on each other in a
// cycle.
const countDeliveredSQL = `INSERT INTO send_stats(account_id, region, bucket, sent, delivered)
	SELECT m.account_id, m.region, d.bucket, 0, COUNT(*)
	FROM unnest($1::TEXT[], $2::BIGINT[]) AS d(msg, bucket) JOIN messages m ON m.id = d.msg
	GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
	ON CONFLICT(account_id, region, bucket) DO UPDATE SET delivered = send_stats.delivered + excluded.delivered`

// UpdateRecipients implements store.Queue: one round trip, one transaction.
func (s *Store) UpdateRecipients(ctx context.Context, rs []store.Recipient) error {
	var msgs []string
	var buckets []int64
	for _, r := range rs {
		if r.State == store.RcptDelivered {
			msgs = append(msgs, r.MessageID)
			buckets = append(buckets, r.UpdatedAt.UnixMilli()/statsBucket.Milliseconds())
		}
	}
	err := s.tx(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, r := range rs {
			b.Queue(updateRecipientSQL,
				string(r.State), ms(r.NextAttempt), r.Attempts, r.LastResponse, ms(r.UpdatedAt), r.MessageID, r.Address)
		}
		if len(msgs) > 0 {
			b.Queue(countDeliveredSQL, msgs, buckets)
		}
		br := tx.SendBatch(ctx, b)
		for _, r := range rs {
			tag, err := br.Exec()
			if err != nil {
				br.Close()
				return err
			}
			if err := mustAffect(tag, "update recipient "+r.Address); err != nil {
				br.Close()
				return err
			}
		}
		if len(msgs) > 0 {
			if _, err := br.Exec(); err != nil {
				br.Close()
				return err
			}
		}
		return br.Close()
	})
	return classify(err, "update recipients")
}

// ListMessages implements store.Queue.
func (s *Store) ListMessages(ctx context.Context, accountID, region string, before time.Time, limit int) ([]store.Message, error) {
	if before.IsZero() {
		before = time.Now().Add(time.Hour)
	}
	return collect(ctx, s, "list messages", func(row pgx.Row) (store.Message, error) { return scanMessage(row, false) },
		`SELECT `+messageCols+` FROM messages WHERE account_id = $1 AND region = $2 AND created_at < $3 ORDER BY created_at DESC, id DESC LIMIT $4`,
		accountID, region, ms(before), limit)
}

// CountRecipientsSince implements store.Queue, from the 15-minute buckets
// (the bucket holding since counts whole).
func (s *Store) CountRecipientsSince(ctx context.Context, accountID, region string, since time.Time) (int, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT COALESCE(SUM(sent), 0)::BIGINT FROM send_stats WHERE account_id = $1 AND region = $2 AND bucket >= $3`,
		accountID, region, since.UnixMilli()/statsBucket.Milliseconds()).Scan(&n)
	return int(n), classify(err, "count recipients")
}

// SendStats implements store.Queue.
func (s *Store) SendStats(ctx context.Context, accountID, region string, since time.Time) ([]store.StatBucket, error) {
	w := statsBucket.Milliseconds()
	return collect(ctx, s, "send stats", func(row pgx.Row) (store.StatBucket, error) {
		var b, n, d int64
		err := row.Scan(&b, &n, &d)
		return store.StatBucket{Start: time.UnixMilli(b * w).UTC(), Sent: int(n), Delivered: int(d)}, err
	}, `SELECT bucket, sent, delivered FROM send_stats WHERE account_id = $1 AND region = $2 AND bucket >= $3 ORDER BY bucket`, accountID, region, since.UnixMilli()/w)
}

// QueueSummary implements store.Queue.
func (s *Store) QueueSummary(ctx context.Context, accountID, region string) ([]store.DestinationSummary, error) {
	return collect(ctx, s, "queue summary", func(row pgx.Row) (store.DestinationSummary, error) {
		var d store.DestinationSummary
		var q, def, held, oldest int64
		err := row.Scan(&d.Domain, &q, &def, &held, &oldest, &d.LastResponse)
		d.Queued, d.Deferred, d.Held, d.Oldest = int(q), int(def), int(held), fromMS(oldest)
		return d, err
	}, `SELECT r.domain,
			COUNT(*) FILTER (WHERE r.state = 'queued'), COUNT(*) FILTER (WHERE r.state = 'deferred'), COUNT(*) FILTER (WHERE r.state = 'held'),
			MIN(m.created_at), MAX(r.last_response)
		FROM recipients r JOIN messages m ON m.id = r.message_id
		WHERE m.account_id = $1 AND m.region = $2 AND r.state IN ('queued', 'deferred', 'held')
		GROUP BY r.domain ORDER BY COUNT(*) DESC, r.domain`, accountID, region)
}

// MoveRecipients implements store.Queue.
func (s *Store) MoveRecipients(ctx context.Context, messageID string, from []store.RecipientState, to store.RecipientState, next time.Time) (int, error) {
	states := make([]string, len(from))
	for i, f := range from {
		states[i] = string(f)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE recipients SET state = $1, next_attempt = $2, updated_at = $2 WHERE message_id = $3 AND state = ANY($4)`,
		string(to), ms(next), messageID, states)
	if err != nil {
		return 0, classify(err, "move recipients")
	}
	return int(tag.RowsAffected()), nil
}

// PruneMessages implements store.Queue.
func (s *Store) PruneMessages(ctx context.Context, before time.Time, limit int) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM messages WHERE id IN (SELECT m.id FROM messages m WHERE m.created_at < $1
			AND NOT EXISTS (SELECT 1 FROM recipients r WHERE r.message_id = m.id AND r.state IN ('queued', 'deferred', 'held'))
			ORDER BY m.created_at LIMIT $2)`, ms(before), limit)
	if err != nil {
		return 0, classify(err, "prune messages")
	}
	return int(tag.RowsAffected()), nil
}

// DeleteMessage implements store.Queue.
func (s *Store) DeleteMessage(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM messages WHERE id = $1`, id)
	if err != nil {
		return classify(err, "delete message")
	}
	return mustAffect(tag, "delete message "+id)
}
