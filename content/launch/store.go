package launch

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"time"

	"github.com/reach-london/reach/internal/db"
	"github.com/reach-london/reach/internal/errs"
)

//go:embed migrations
var migrationsFS embed.FS

// Migrations creates the launch tables (component "launch").
var Migrations = db.Migrations("launch", migrationsFS, "migrations")

// Registration is one learner's cmi5 registration for one course version.
type Registration struct {
	ID          string     `json:"id"`
	BoroughID   string     `json:"boroughId"`
	LearnerID   string     `json:"learnerId"`
	VersionID   string     `json:"versionId"`
	CourseID    string     `json:"courseId"`
	CreatedAt   time.Time  `json:"createdAt"`
	SatisfiedAt *time.Time `json:"satisfiedAt,omitempty"`
}

// AUStatus is the LMS's record of one AU in a registration.
type AUStatus struct {
	RegistrationID string     `json:"registrationId"`
	AUID           string     `json:"auId"`
	Module         string     `json:"module"`
	CompletedAt    *time.Time `json:"completedAt,omitempty"`
	PassedAt       *time.Time `json:"passedAt,omitempty"`
	FailedAt       *time.Time `json:"failedAt,omitempty"`
	SatisfiedAt    *time.Time `json:"satisfiedAt,omitempty"`
	WaivedAt       *time.Time `json:"waivedAt,omitempty"`
	WaiveReason    string     `json:"waiveReason,omitempty"`
	Score          *float64   `json:"score,omitempty"`
	SecondsSpent   float64    `json:"secondsSpent"`
	Launches       int        `json:"launches"`
	LastLaunchAt   *time.Time `json:"lastLaunchAt,omitempty"`
}

// Session states.
const (
	StateLaunched    = "launched"
	StateInitialized = "initialized"
	StateTerminated  = "terminated"
	StateAbandoned   = "abandoned"
)

// Session is one launch of an AU.
type Session struct {
	ID             string
	RegistrationID string
	BoroughID      string
	LearnerID      string
	AUID           string
	// Kind is cmi5 or xapi (a tincan package); cmi5 rules apply to cmi5 only.
	Kind         string
	LaunchMode   string
	MasteryScore *float64
	MoveOn       string
	TokenID      string
	State        string
	LaunchedAt   time.Time
	LastSeenAt   time.Time
	EndedAt      *time.Time
	Seconds      float64
	Completed    bool
	Passed       bool
	Failed       bool
}

// Open reports whether the session may still take statements.
func (s Session) Open() bool { return s.State == StateLaunched || s.State == StateInitialized }

// store is the SQL behind Service; both dialects take the same statements.
type store struct{ db *db.DB }

type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return errs.E(errs.NotFound, "%s not found", what)
	}
	return err
}

func timePtr(nt sql.NullTime) *time.Time {
	if !nt.Valid {
		return nil
	}
	t := nt.Time.UTC()
	return &t
}

func floatPtr(nf sql.NullFloat64) *float64 {
	if !nf.Valid {
		return nil
	}
	return &nf.Float64
}

func nullFloat(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

const regCols = `id, borough_id, learner_id, version_id, course_id, created_at, satisfied_at`

func scanReg(row interface{ Scan(...any) error }) (Registration, error) {
	var r Registration
	var sat sql.NullTime
	err := row.Scan(&r.ID, &r.BoroughID, &r.LearnerID, &r.VersionID, &r.CourseID, &r.CreatedAt, &sat)
	r.CreatedAt = r.CreatedAt.UTC()
	r.SatisfiedAt = timePtr(sat)
	return r, err
}

// ensureRegistration returns the learner's registration for the version,
// creating it with id if there is none. Two concurrent first launches
// agree on one registration through the unique key.
func (s *store) ensureRegistration(ctx context.Context, r Registration) (Registration, bool, error) {
	_, err := s.db.SQL.ExecContext(ctx, `INSERT INTO launch_registrations (`+regCols+`) VALUES ($1, $2, $3, $4, $5, $6, NULL)`,
		r.ID, r.BoroughID, r.LearnerID, r.VersionID, r.CourseID, r.CreatedAt)
	created := err == nil
	if err != nil && !db.IsUniqueViolation(err) {
		return Registration{}, false, err
	}
	got, err := scanReg(s.db.SQL.QueryRowContext(ctx, `SELECT `+regCols+` FROM launch_registrations
		WHERE borough_id = $1 AND learner_id = $2 AND version_id = $3`, r.BoroughID, r.LearnerID, r.VersionID))
	return got, created, notFound(err, "registration")
}

func (s *store) registration(ctx context.Context, boroughID, id string) (Registration, error) {
	r, err := scanReg(s.db.SQL.QueryRowContext(ctx, `SELECT `+regCols+` FROM launch_registrations WHERE borough_id = $1 AND id = $2`,
		boroughID, id))
	return r, notFound(err, "registration")
}

func (s *store) registrations(ctx context.Context, boroughID, learnerID string) ([]Registration, error) {
	rows, err := s.db.SQL.QueryContext(ctx, `SELECT `+regCols+` FROM launch_registrations
		WHERE borough_id = $1 AND learner_id = $2 ORDER BY created_at`, boroughID, learnerID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Registration
	for rows.Next() {
		r, err := scanReg(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *store) setRegistrationSatisfied(ctx context.Context, id string, at time.Time) (bool, error) {
	res, err := s.db.SQL.ExecContext(ctx, `UPDATE launch_registrations SET satisfied_at = $1 WHERE id = $2 AND satisfied_at IS NULL`, at, id)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

const auCols = `registration_id, au_id, module, completed_at, passed_at, failed_at, satisfied_at, waived_at, waive_reason,
	score, seconds_spent, launches, last_launch_at`

func scanAU(row interface{ Scan(...any) error }) (AUStatus, error) {
	var a AUStatus
	var comp, pass, fail, sat, waiv, last sql.NullTime
	var score sql.NullFloat64
	err := row.Scan(&a.RegistrationID, &a.AUID, &a.Module, &comp, &pass, &fail, &sat, &waiv, &a.WaiveReason,
		&score, &a.SecondsSpent, &a.Launches, &last)
	a.CompletedAt, a.PassedAt, a.FailedAt, a.SatisfiedAt, a.WaivedAt, a.LastLaunchAt =
		timePtr(comp), timePtr(pass), timePtr(fail), timePtr(sat), timePtr(waiv), timePtr(last)
	a.Score = floatPtr(score)
	return a, err
}

func (s *store) auStatuses(ctx context.Context, registrationID string) ([]AUStatus, error) {
	rows, err := s.db.SQL.QueryContext(ctx, `SELECT `+auCols+` FROM launch_au_status WHERE registration_id = $1`, registrationID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AUStatus
	for rows.Next() {
		a, err := scanAU(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func (s *store) auStatus(ctx context.Context, registrationID, auID string) (AUStatus, error) {
	a, err := scanAU(s.db.SQL.QueryRowContext(ctx, `SELECT `+auCols+` FROM launch_au_status WHERE registration_id = $1 AND au_id = $2`,
		registrationID, auID))
	return a, notFound(err, "AU status")
}

// ensureAU makes sure the AU has a status row.
func (s *store) ensureAU(ctx context.Context, registrationID, auID, module string) error {
	_, err := s.db.SQL.ExecContext(ctx, `INSERT INTO launch_au_status (registration_id, au_id, module) VALUES ($1, $2, $3)
		ON CONFLICT (registration_id, au_id) DO NOTHING`, registrationID, auID, module)
	return err
}

// markAU sets one timestamp column once (the first time wins).
func (s *store) markAU(ctx context.Context, registrationID, auID, column string, at time.Time) (bool, error) {
	switch column {
	case "completed_at", "passed_at", "failed_at", "satisfied_at":
	default:
		return false, errs.E(errs.Internal, "markAU: unknown column %s", column)
	}
	res, err := s.db.SQL.ExecContext(ctx, `UPDATE launch_au_status SET `+column+` = $1
		WHERE registration_id = $2 AND au_id = $3 AND `+column+` IS NULL`, at, registrationID, auID)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

func (s *store) setScore(ctx context.Context, registrationID, auID string, score float64) error {
	_, err := s.db.SQL.ExecContext(ctx, `UPDATE launch_au_status SET score = $1 WHERE registration_id = $2 AND au_id = $3`,
		score, registrationID, auID)
	return err
}

func (s *store) waiveAU(ctx context.Context, registrationID, auID, reason string, at time.Time) (bool, error) {
	res, err := s.db.SQL.ExecContext(ctx, `UPDATE launch_au_status SET waived_at = $1, waive_reason = $2
		WHERE registration_id = $3 AND au_id = $4 AND waived_at IS NULL AND satisfied_at IS NULL`, at, reason, registrationID, auID)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

func (s *store) noteLaunch(ctx context.Context, registrationID, auID string, at time.Time) error {
	_, err := s.db.SQL.ExecContext(ctx, `UPDATE launch_au_status SET launches = launches + 1, last_launch_at = $1
		WHERE registration_id = $2 AND au_id = $3`, at, registrationID, auID)
	return err
}

func (s *store) addSeconds(ctx context.Context, registrationID, auID string, secs float64) error {
	_, err := s.db.SQL.ExecContext(ctx, `UPDATE launch_au_status SET seconds_spent = seconds_spent + $1
		WHERE registration_id = $2 AND au_id = $3`, secs, registrationID, auID)
	return err
}

func (s *store) markSatisfied(ctx context.Context, registrationID, activityID string, at time.Time) (bool, error) {
	_, err := s.db.SQL.ExecContext(ctx, `INSERT INTO launch_satisfied (registration_id, activity_id, at) VALUES ($1, $2, $3)`,
		registrationID, activityID, at)
	if db.IsUniqueViolation(err) {
		return false, nil
	}
	return err == nil, err
}

const sessCols = `id, registration_id, borough_id, learner_id, au_id, kind, launch_mode, mastery_score, move_on, token_id, state,
	launched_at, last_seen_at, ended_at, seconds, completed, passed, failed`

func scanSession(row interface{ Scan(...any) error }) (Session, error) {
	var s Session
	var ms sql.NullFloat64
	var ended sql.NullTime
	var c, p, f int
	err := row.Scan(&s.ID, &s.RegistrationID, &s.BoroughID, &s.LearnerID, &s.AUID, &s.Kind, &s.LaunchMode, &ms, &s.MoveOn, &s.TokenID,
		&s.State, &s.LaunchedAt, &s.LastSeenAt, &ended, &s.Seconds, &c, &p, &f)
	s.MasteryScore, s.EndedAt = floatPtr(ms), timePtr(ended)
	s.LaunchedAt, s.LastSeenAt = s.LaunchedAt.UTC(), s.LastSeenAt.UTC()
	s.Completed, s.Passed, s.Failed = c == 1, p == 1, f == 1
	return s, err
}

func (s *store) createSession(ctx context.Context, q querier, x Session) error {
	_, err := q.ExecContext(ctx, `INSERT INTO launch_sessions (`+sessCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, NULL, 0, 0, 0, 0)`,
		x.ID, x.RegistrationID, x.BoroughID, x.LearnerID, x.AUID, x.Kind, x.LaunchMode, nullFloat(x.MasteryScore), x.MoveOn,
		x.TokenID, x.State, x.LaunchedAt, x.LastSeenAt)
	return err
}

func (s *store) session(ctx context.Context, id string) (Session, error) {
	x, err := scanSession(s.db.SQL.QueryRowContext(ctx, `SELECT `+sessCols+` FROM launch_sessions WHERE id = $1`, id))
	return x, notFound(err, "session")
}

func (s *store) sessions(ctx context.Context, where string, args ...any) ([]Session, error) {
	rows, err := s.db.SQL.QueryContext(ctx, `SELECT `+sessCols+` FROM launch_sessions WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		x, err := scanSession(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// updateSession writes a session's mutable fields, but only if its state is
// still from (so two replicas never both end one session).
func (s *store) updateSession(ctx context.Context, x Session, from string) (bool, error) {
	var ended any
	if x.EndedAt != nil {
		ended = *x.EndedAt
	}
	// The flags only ever turn on, so two batches of one session followed
	// at the same time cannot switch off what the other recorded.
	res, err := s.db.SQL.ExecContext(ctx, `UPDATE launch_sessions SET state = $1, last_seen_at = $2, ended_at = $3, seconds = $4,
		completed = CASE WHEN $5 = 1 THEN 1 ELSE completed END, passed = CASE WHEN $6 = 1 THEN 1 ELSE passed END,
		failed = CASE WHEN $7 = 1 THEN 1 ELSE failed END WHERE id = $8 AND state = $9`,
		x.State, x.LastSeenAt, ended, x.Seconds, boolInt(x.Completed), boolInt(x.Passed), boolInt(x.Failed), x.ID, from)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// eraseLearner deletes every launch record of a learner in a borough.
func (s *store) eraseLearner(ctx context.Context, boroughID, learnerID string) (int, error) {
	n := 0
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		sub := `(SELECT id FROM launch_registrations WHERE borough_id = $1 AND learner_id = $2)`
		for _, q := range []string{
			`DELETE FROM launch_sessions WHERE registration_id IN ` + sub,
			`DELETE FROM launch_au_status WHERE registration_id IN ` + sub,
			`DELETE FROM launch_satisfied WHERE registration_id IN ` + sub,
		} {
			if _, err := tx.ExecContext(ctx, q, boroughID, learnerID); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM launch_registrations WHERE borough_id = $1 AND learner_id = $2`, boroughID, learnerID)
		if err != nil {
			return err
		}
		m, _ := res.RowsAffected()
		n = int(m)
		return nil
	})
	return n, err
}
