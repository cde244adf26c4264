package sqlstore

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/lrs"
	"github.com/reach-london/reach/lrs/forward"
)

// feedFilter returns the SQL conditions (on lrs_statements s) for f,
// appending their arguments to args. Filters use the statement terms, so
// a statement referencing another (a voiding statement) matches what its
// target matches.
func feedFilter(f forward.Filter, args *[]any) string {
	in := func(vals []string) string {
		ph := make([]string, len(vals))
		for i, v := range vals {
			*args = append(*args, v)
			ph[i] = "$" + strconv.Itoa(len(*args))
		}
		return strings.Join(ph, ", ")
	}
	var b strings.Builder
	if len(f.Verbs) > 0 {
		b.WriteString(` AND EXISTS (SELECT 1 FROM lrs_statement_terms t WHERE t.borough_id = s.borough_id AND t.kind = ` +
			strconv.Itoa(int(lrs.TermVerb)) + ` AND t.term IN (` + in(f.Verbs) + `) AND t.seq = s.seq)`)
	}
	if len(f.Activities) > 0 {
		b.WriteString(` AND EXISTS (SELECT 1 FROM lrs_statement_terms t WHERE t.borough_id = s.borough_id AND t.kind IN (` +
			strconv.Itoa(int(lrs.TermActivity)) + `, ` + strconv.Itoa(int(lrs.TermRelatedActivity)) + `) AND t.term IN (` +
			in(f.Activities) + `) AND t.seq = s.seq)`)
	}
	return b.String()
}

// Feed returns up to limit statements of the borough matching f with
// after < seq <= upTo in seq order, voided ones included: a target that
// got a statement must also get the statement voiding it.
func (s *Store) Feed(ctx context.Context, borough string, f forward.Filter, after, upTo int64, limit int) ([]forward.Entry, error) {
	args := []any{borough, after, upTo}
	cond := feedFilter(f, &args)
	args = append(args, limit)
	rows, err := s.d.SQL.QueryContext(ctx, `SELECT s.seq, s.id, s.stored, s.body FROM lrs_statements s
		WHERE s.borough_id = $1 AND s.seq > $2 AND s.seq <= $3`+cond+`
		ORDER BY s.seq LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "read statement feed")
	}
	defer rows.Close()
	var out []forward.Entry
	for rows.Next() {
		var e forward.Entry
		var stored int64
		var body string
		if err := rows.Scan(&e.Seq, &e.ID, &stored, &body); err != nil {
			return nil, errs.Wrap(errs.Internal, err, "read statement feed")
		}
		e.Stored, e.Body = time.UnixMilli(stored).UTC(), []byte(body)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, errs.Wrap(errs.Internal, err, "read statement feed")
	}
	return out, nil
}

// Pending counts the borough's statements matching f after seq after and
// returns when the oldest of them was stored.
func (s *Store) Pending(ctx context.Context, borough string, f forward.Filter, after int64) (int64, time.Time, error) {
	args := []any{borough, after}
	cond := feedFilter(f, &args)
	var n int64
	var oldest sql.NullInt64
	if err := s.d.SQL.QueryRowContext(ctx, `SELECT COUNT(*), MIN(s.stored) FROM lrs_statements s
		WHERE s.borough_id = $1 AND s.seq > $2`+cond, args...).Scan(&n, &oldest); err != nil {
		return 0, time.Time{}, errs.Wrap(errs.Internal, err, "count undelivered statements")
	}
	var t time.Time
	if oldest.Valid {
		t = time.UnixMilli(oldest.Int64).UTC()
	}
	return n, t, nil
}

// Seqs returns up to limit statement sequence numbers above after, of
// every borough, in order.
func (s *Store) Seqs(ctx context.Context, after int64, limit int) ([]int64, error) {
	rows, err := s.d.SQL.QueryContext(ctx, `SELECT seq FROM lrs_statements WHERE seq > $1 ORDER BY seq LIMIT $2`, after, limit)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "read statement sequence")
	}
	defer rows.Close()
	out := make([]int64, 0, min(limit, 1024))
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, errs.Wrap(errs.Internal, err, "read statement sequence")
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, errs.Wrap(errs.Internal, err, "read statement sequence")
	}
	return out, nil
}
