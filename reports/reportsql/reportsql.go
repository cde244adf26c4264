// Package reportsql keeps the reports' fact tables in SQLite or PostgreSQL.
package reportsql

import (
	"context"
	"database/sql"
	"embed"
	"strconv"
	"strings"
	"time"

	"github.com/reach-london/reach/internal/db"
	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/reports"
)

//go:embed migrations
var migrations embed.FS

// Migrations creates the fact tables (component "reports").
var Migrations = db.Migrations("reports", migrations, "migrations")

// Store implements reports.Store.
type Store struct{ db *db.DB }

// New returns a Store over d.
func New(d *db.DB) *Store { return &Store{db: d} }

var _ reports.Store = (*Store)(nil)

// Cursor implements reports.Store.
func (s *Store) Cursor(ctx context.Context) (int64, error) {
	var seq int64
	err := s.db.SQL.QueryRowContext(ctx, `SELECT seq FROM report_cursor WHERE id = 1`).Scan(&seq)
	return seq, err
}

type progressKey struct{ borough, learner, au string }

func ms(t time.Time) int64 { return t.UnixMilli() }

func earliest(cur sql.NullInt64, t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return cur
	}
	if !cur.Valid || ms(t) < cur.Int64 {
		return sql.NullInt64{Int64: ms(t), Valid: true}
	}
	return cur
}

type progressRow struct {
	userID                                        string
	started, completed, passed, failed, satisfied sql.NullInt64
	lastPage, lastTitle                           string
	lastAt                                        sql.NullInt64
	timeMS                                        int64
	sessions                                      int
	best                                          sql.NullFloat64
	exists                                        bool
}

// Apply implements reports.Store: it merges the facts into the progress
// rows they touch, adds answer and writing rows, and moves the cursor, all
// in one transaction, so a crash or a second replica never applies a
// statement twice.
func (s *Store) Apply(ctx context.Context, facts []reports.Fact, from, to int64) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE report_cursor SET seq = $1 WHERE id = 1 AND seq = $2`, to, from)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errs.E(errs.Conflict, "report cursor moved")
		}
		rows := map[progressKey]*progressRow{}
		load := func(k progressKey) (*progressRow, error) {
			if r := rows[k]; r != nil {
				return r, nil
			}
			r := &progressRow{}
			err := tx.QueryRowContext(ctx, `SELECT user_id, started_at, completed_at, passed_at, failed_at, satisfied_at,
				last_page, last_title, last_at, time_ms, sessions, best_score FROM report_progress
				WHERE borough_id = $1 AND learner = $2 AND au = $3`, k.borough, k.learner, k.au).
				Scan(&r.userID, &r.started, &r.completed, &r.passed, &r.failed, &r.satisfied, &r.lastPage, &r.lastTitle,
					&r.lastAt, &r.timeMS, &r.sessions, &r.best)
			switch {
			case err == sql.ErrNoRows:
			case err != nil:
				return nil, err
			default:
				r.exists = true
			}
			rows[k] = r
			return r, nil
		}
		for _, f := range facts {
			r, err := load(progressKey{f.Borough, f.Learner, f.AU})
			if err != nil {
				return err
			}
			if f.UserID != "" {
				r.userID = f.UserID
			}
			if f.AUTitle != "" && f.Object == f.AU {
				if _, err := tx.ExecContext(ctx, `INSERT INTO report_titles (borough_id, au, title) VALUES ($1, $2, $3)
					ON CONFLICT (borough_id, au) DO UPDATE SET title = excluded.title`, f.Borough, f.AU, f.AUTitle); err != nil {
					return err
				}
			}
			switch f.Verb {
			case reports.VerbLaunched, reports.VerbInitialized:
				r.started = earliest(r.started, f.At)
				if f.Verb == reports.VerbInitialized {
					r.sessions++
				}
			case reports.VerbCompleted:
				r.started, r.completed = earliest(r.started, f.At), earliest(r.completed, f.At)
			case reports.VerbPassed:
				r.passed = earliest(r.passed, f.At)
				if f.Score != nil && (!r.best.Valid || *f.Score > r.best.Float64) {
					r.best = sql.NullFloat64{Float64: *f.Score, Valid: true}
				}
			case reports.VerbFailed:
				r.failed = earliest(r.failed, f.At)
				if f.Score != nil && (!r.best.Valid || *f.Score > r.best.Float64) {
					r.best = sql.NullFloat64{Float64: *f.Score, Valid: true}
				}
			case reports.VerbSatisfied:
				r.satisfied = earliest(r.satisfied, f.At)
			case reports.VerbTerminated, reports.VerbAbandoned:
				r.timeMS += f.DurationMS
			case reports.VerbExperienced:
				r.started = earliest(r.started, f.At)
				if !f.At.IsZero() && (!r.lastAt.Valid || ms(f.At) >= r.lastAt.Int64) {
					r.lastPage, r.lastTitle, r.lastAt = f.Object, f.Title, sql.NullInt64{Int64: ms(f.At), Valid: true}
				}
			case reports.VerbAnswered:
				if _, err := tx.ExecContext(ctx, `INSERT INTO report_answers (borough_id, seq, learner, user_id, au, question, title, response, success, at)
					VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) ON CONFLICT (borough_id, seq) DO NOTHING`,
					f.Borough, f.Seq, f.Learner, f.UserID, f.AU, f.Object, f.Title, f.Response, nullBool(f.Success), ms(f.At)); err != nil {
					return err
				}
			case reports.VerbResponded, reports.VerbUpdated:
				kind := ""
				switch f.ObjType {
				case reports.TypeReflection:
					kind = "reflection"
				case reports.TypeDraft:
					kind = "draft"
				}
				if kind != "" {
					if _, err := tx.ExecContext(ctx, `INSERT INTO report_writing (borough_id, seq, learner, user_id, au, kind, object, at)
						VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT (borough_id, seq) DO NOTHING`,
						f.Borough, f.Seq, f.Learner, f.UserID, f.AU, kind, f.Object, ms(f.At)); err != nil {
						return err
					}
				}
			}
		}
		for k, r := range rows {
			var err error
			if r.exists {
				_, err = tx.ExecContext(ctx, `UPDATE report_progress SET user_id=$4, started_at=$5, completed_at=$6, passed_at=$7,
					failed_at=$8, satisfied_at=$9, last_page=$10, last_title=$11, last_at=$12, time_ms=$13, sessions=$14, best_score=$15
					WHERE borough_id=$1 AND learner=$2 AND au=$3`, k.borough, k.learner, k.au, r.userID, r.started, r.completed,
					r.passed, r.failed, r.satisfied, r.lastPage, r.lastTitle, r.lastAt, r.timeMS, r.sessions, r.best)
			} else {
				_, err = tx.ExecContext(ctx, `INSERT INTO report_progress (borough_id, learner, au, user_id, started_at, completed_at,
					passed_at, failed_at, satisfied_at, last_page, last_title, last_at, time_ms, sessions, best_score)
					VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)`, k.borough, k.learner, k.au, r.userID, r.started,
					r.completed, r.passed, r.failed, r.satisfied, r.lastPage, r.lastTitle, r.lastAt, r.timeMS, r.sessions, r.best)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

func nullBool(b *bool) sql.NullBool {
	if b == nil {
		return sql.NullBool{}
	}
	return sql.NullBool{Bool: *b, Valid: true}
}

// where builds the borough and role conditions shared by the queries; t is
// the fact table's alias. The role is matched with a semi-join on the
// accounts, so the fact table is read once however the planner's statistics
// stand. Learners without an account (or without a role) on this Reach have
// role "unknown".
func where(f reports.Filter, t string, args *[]any) string {
	var conds []string
	add := func(cond string, v any) {
		*args = append(*args, v)
		conds = append(conds, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(*args))))
	}
	if f.Borough != "" {
		add(t+".borough_id = ?", f.Borough)
	}
	switch f.Role {
	case "":
	case "unknown":
		conds = append(conds, "NOT EXISTS (SELECT 1 FROM users r WHERE r.id = "+t+".user_id AND r.profession <> '')")
	default:
		add(t+".user_id IN (SELECT r.id FROM users r WHERE r.profession = ?)", f.Role)
	}
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

func timeOf(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := time.UnixMilli(n.Int64).UTC()
	return &t
}

// Progress implements reports.Store.
func (s *Store) Progress(ctx context.Context, f reports.Filter) ([]reports.Progress, error) {
	var args []any
	q := `SELECT p.borough_id, p.learner, p.user_id, p.au, p.started_at, p.completed_at, p.passed_at, p.failed_at,
		p.satisfied_at, p.last_page, p.last_title, p.last_at, p.time_ms, p.sessions, p.best_score, COALESCE(u.profession, '')
		FROM report_progress p LEFT JOIN users u ON u.id = p.user_id AND p.user_id <> ''` + where(f, "p", &args)
	rows, err := s.db.SQL.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []reports.Progress
	for rows.Next() {
		var p reports.Progress
		var st, co, pa, fa, sa, la sql.NullInt64
		var best sql.NullFloat64
		if err := rows.Scan(&p.Borough, &p.Learner, &p.UserID, &p.AU, &st, &co, &pa, &fa, &sa, &p.LastPage, &p.LastTitle,
			&la, &p.TimeMS, &p.Sessions, &best, &p.Profession); err != nil {
			return nil, err
		}
		p.StartedAt, p.CompletedAt, p.PassedAt, p.FailedAt, p.SatisfiedAt, p.LastAt =
			timeOf(st), timeOf(co), timeOf(pa), timeOf(fa), timeOf(sa), timeOf(la)
		if best.Valid {
			b := best.Float64
			p.BestScore = &b
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func dateConds(f reports.Filter, col string, args *[]any, q string) string {
	if !f.From.IsZero() {
		*args = append(*args, f.From.UnixMilli())
		q += joinCond(q) + col + " >= $" + strconv.Itoa(len(*args))
	}
	if !f.To.IsZero() {
		*args = append(*args, f.To.AddDate(0, 0, 1).UnixMilli())
		q += joinCond(q) + col + " < $" + strconv.Itoa(len(*args))
	}
	return q
}

func joinCond(q string) string {
	if strings.Contains(q, " WHERE ") {
		return " AND "
	}
	return " WHERE "
}

// Answers implements reports.Store: counts per question and response.
func (s *Store) Answers(ctx context.Context, f reports.Filter) ([]reports.Answer, error) {
	var args []any
	q := `SELECT a.au, a.question, MAX(a.title), a.response, a.success, COUNT(*) FROM report_answers a` + where(f, "a", &args)
	q = dateConds(f, "a.at", &args, q)
	q += ` GROUP BY a.au, a.question, a.response, a.success ORDER BY a.au, a.question, COUNT(*) DESC`
	rows, err := s.db.SQL.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []reports.Answer
	for rows.Next() {
		var a reports.Answer
		var ok sql.NullBool
		if err := rows.Scan(&a.AU, &a.Question, &a.Title, &a.Response, &ok, &a.Count); err != nil {
			return nil, err
		}
		if ok.Valid {
			b := ok.Bool
			a.Correct = &b
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Engagement implements reports.Store.
func (s *Store) Engagement(ctx context.Context, f reports.Filter) (reports.Engagement, error) {
	var args []any
	q := `SELECT w.kind, COUNT(*), COUNT(DISTINCT w.learner), COUNT(DISTINCT w.object) FROM report_writing w` + where(f, "w", &args)
	q = dateConds(f, "w.at", &args, q) + ` GROUP BY w.kind`
	rows, err := s.db.SQL.QueryContext(ctx, q, args...)
	if err != nil {
		return reports.Engagement{}, err
	}
	defer rows.Close()
	var e reports.Engagement
	for rows.Next() {
		var kind string
		var n, learners, objects int
		if err := rows.Scan(&kind, &n, &learners, &objects); err != nil {
			return e, err
		}
		switch kind {
		case "reflection":
			e.Reflections, e.ReflectingLearners = n, learners
		case "draft":
			e.Drafts, e.DraftingLearners, e.DistinctDraftObjects = n, learners, objects
		}
	}
	return e, rows.Err()
}

// Titles implements reports.Store.
func (s *Store) Titles(ctx context.Context, borough string) (map[string]string, error) {
	q, args := `SELECT au, title FROM report_titles`, []any{}
	if borough != "" {
		q, args = q+` WHERE borough_id = $1`, append(args, borough)
	}
	rows, err := s.db.SQL.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var au, title string
		if err := rows.Scan(&au, &title); err != nil {
			return nil, err
		}
		out[au] = title
	}
	return out, rows.Err()
}

// EraseLearner implements reports.Store.
func (s *Store) EraseLearner(ctx context.Context, borough, learner string) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		for _, table := range []string{"report_progress", "report_answers", "report_writing"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE borough_id = $1 AND learner = $2`, borough, learner); err != nil {
				return err
			}
		}
		return nil
	})
}
