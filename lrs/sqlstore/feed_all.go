package sqlstore

import (
	"context"

	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/lrs"
)

// FeedAll returns up to limit statements of every borough with
// after < seq <= upTo, in seq order, for readers of the whole store (the
// reports projector declares the interface it needs).
func (s *Store) FeedAll(ctx context.Context, after, upTo int64, limit int) ([]lrs.FeedEntry, error) {
	rows, err := s.d.SQL.QueryContext(ctx, `SELECT borough_id, seq, body FROM lrs_statements
		WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3`, after, upTo, limit)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "read statement feed")
	}
	defer rows.Close()
	out := make([]lrs.FeedEntry, 0, min(limit, 1024))
	for rows.Next() {
		var e lrs.FeedEntry
		var body string
		if err := rows.Scan(&e.Borough, &e.Seq, &body); err != nil {
			return nil, errs.Wrap(errs.Internal, err, "read statement feed")
		}
		e.Body = []byte(body)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, errs.Wrap(errs.Internal, err, "read statement feed")
	}
	return out, nil
}
