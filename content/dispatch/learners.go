package dispatch

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/db"
	"github.com/reach-london/reach/internal/errs"
)

// Learner maps one student of the other LMS to the borough learner account
// who plays the course for them. The LMS's student id is kept only as a
// SHA-256 hash (StudentKey): Reach needs to recognise it, not to read it.
type Learner struct {
	DispatchID string    `json:"dispatchId"`
	StudentKey string    `json:"studentKey"`
	UserID     string    `json:"userId"`
	CreatedAt  time.Time `json:"createdAt"`
}

// MaxStudentID bounds the LMS's student id (SCORM 1.2 allows 255 characters).
const MaxStudentID = 255

// maxStudentName bounds the name an LMS learner's account is given (the
// account's own limit).
const maxStudentName = 200

// DefaultLearnerName names an LMS learner whose LMS sent no name.
const DefaultLearnerName = "LMS learner"

// StudentKey is the hex SHA-256 of the LMS's student id.
func StudentKey(studentID string) string {
	sum := sha256.Sum256([]byte(studentID))
	return hex.EncodeToString(sum[:])
}

// LearnerEmail is the address an LMS learner's account is given: unique per
// dispatch and student, and in the reserved .invalid domain, so nothing is
// ever delivered to it and nobody can sign up with it.
func LearnerEmail(dispatchID, studentKey string) string {
	if len(studentKey) > 16 {
		studentKey = studentKey[:16]
	}
	return strings.ToLower(dispatchID) + "-" + studentKey + "@dispatch.invalid"
}

// LearnerName is the account name for an LMS's student_name: trimmed,
// without control characters, at most 200 characters, DefaultLearnerName
// when nothing is left.
func LearnerName(studentName string) string {
	name := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return ' '
		}
		return r
	}, studentName)
	name = strings.Join(strings.Fields(name), " ")
	if utf8.RuneCountInString(name) > maxStudentName {
		name = strings.TrimSpace(string([]rune(name)[:maxStudentName]))
	}
	if name == "" {
		return DefaultLearnerName
	}
	return name
}

// CheckStudentID refuses a missing or over-long LMS student id.
func CheckStudentID(studentID string) error {
	switch {
	case strings.TrimSpace(studentID) == "":
		return errs.E(errs.Invalid, "no student_id was sent: open the course from your LMS, which sends it")
	case len(studentID) > MaxStudentID:
		return errs.E(errs.Invalid, "the student_id is longer than %d characters", MaxStudentID)
	}
	return nil
}

// LimitMessage is what a new student of a dispatch that is full is told.
const LimitMessage = "this course has reached its learner limit; ask your LMS administrator"

// learner returns the mapping of key in the dispatch, or sql.ErrNoRows.
func learner(ctx context.Context, q interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}, dispatchID, key string) (Learner, error) {
	l := Learner{DispatchID: dispatchID, StudentKey: key}
	err := q.QueryRowContext(ctx, `SELECT user_id, created_at FROM dispatch_learners WHERE dispatch_id = $1 AND student_key = $2`,
		dispatchID, key).Scan(&l.UserID, &l.CreatedAt)
	l.CreatedAt = l.CreatedAt.UTC()
	return l, err
}

// Claim returns the learner the dispatch maps studentID to, or maps it to
// newUserID if the dispatch's learner limit leaves room; created reports
// whether the mapping is new. A full dispatch is Forbidden with
// LimitMessage, a revoked one Forbidden too.
//
// The limit holds however many replicas claim at once: in PostgreSQL the
// dispatch row is locked FOR UPDATE while the learners are counted and
// the new one inserted; SQLite transactions are immediate, so writers
// take turns anyway.
func (s *Store) Claim(ctx context.Context, d Dispatch, studentID, newUserID string) (Learner, bool, error) {
	if err := CheckStudentID(studentID); err != nil {
		return Learner{}, false, err
	}
	key := StudentKey(studentID)
	// A returning student, the common case, needs no write transaction.
	l, err := learner(ctx, s.db.SQL, d.ID, key)
	if err == nil {
		return l, false, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return Learner{}, false, errs.Wrap(errs.Unavailable, err, "the database is unavailable")
	}
	created := false
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		lock := `SELECT learner_limit, revoked_at FROM dispatches WHERE id = $1`
		if s.db.Dialect == db.Postgres {
			lock += ` FOR UPDATE`
		}
		var limit int
		var revoked sql.NullTime
		if err := tx.QueryRowContext(ctx, lock, d.ID).Scan(&limit, &revoked); errors.Is(err, sql.ErrNoRows) || (err == nil && revoked.Valid) {
			return errs.E(errs.Forbidden, "this course link has been withdrawn; ask your LMS administrator")
		} else if err != nil {
			return err
		}
		// Another request for the same student may have claimed it while
		// this one waited for the lock.
		var err error
		if l, err = learner(ctx, tx, d.ID, key); err == nil {
			return nil
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if limit > 0 {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM dispatch_learners WHERE dispatch_id = $1`, d.ID).Scan(&n); err != nil {
				return err
			}
			if n >= limit {
				return errs.E(errs.Forbidden, "%s", LimitMessage)
			}
		}
		l = Learner{DispatchID: d.ID, StudentKey: key, UserID: newUserID, CreatedAt: s.now().UTC().Truncate(time.Microsecond)}
		if _, err := tx.ExecContext(ctx, `INSERT INTO dispatch_learners (dispatch_id, student_key, user_id, created_at) VALUES ($1, $2, $3, $4)`,
			l.DispatchID, l.StudentKey, l.UserID, l.CreatedAt); err != nil {
			return err
		}
		created = true
		return nil
	})
	switch {
	case err == nil:
		return l, created, nil
	case errs.KindOf(err) == errs.Forbidden:
		return Learner{}, false, err
	default:
		return Learner{}, false, errs.Wrap(errs.Unavailable, err, "the learner could not be recorded; try again")
	}
}

// LearnerOf reports whether userID plays for a student of the dispatch.
func (s *Store) LearnerOf(ctx context.Context, dispatchID, userID string) (bool, error) {
	var n int
	err := s.db.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM dispatch_learners WHERE dispatch_id = $1 AND user_id = $2`,
		dispatchID, userID).Scan(&n)
	if err != nil {
		return false, errs.Wrap(errs.Unavailable, err, "the database is unavailable")
	}
	return n > 0, nil
}

// CountLearners returns how many students the dispatch has mapped.
func (s *Store) CountLearners(ctx context.Context, dispatchID string) (int, error) {
	var n int
	err := s.db.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM dispatch_learners WHERE dispatch_id = $1`, dispatchID).Scan(&n)
	if err != nil {
		return 0, errs.Wrap(errs.Unavailable, err, "the database is unavailable")
	}
	return n, nil
}

// LearnerCounts returns how many students each of the borough's dispatches
// has mapped, by dispatch id; a dispatch with none is absent (0).
func (s *Store) LearnerCounts(ctx context.Context, boroughID string) (map[string]int, error) {
	rows, err := s.db.SQL.QueryContext(ctx, `SELECT l.dispatch_id, COUNT(*) FROM dispatch_learners l
		JOIN dispatches d ON d.id = l.dispatch_id WHERE d.borough_id = $1 GROUP BY l.dispatch_id`, boroughID)
	if err != nil {
		return nil, errs.Wrap(errs.Unavailable, err, "the database is unavailable")
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, errs.Wrap(errs.Unavailable, err, "the database is unavailable")
		}
		out[id] = n
	}
	if err := rows.Err(); err != nil {
		return nil, errs.Wrap(errs.Unavailable, err, "the database is unavailable")
	}
	return out, nil
}

// EraseLearner deletes the borough learner's mappings to LMS students (GDPR
// erasure) and returns how many went. The student may come back later; they
// then get a new account.
func (s *Store) EraseLearner(ctx context.Context, boroughID, userID string) (int, error) {
	res, err := s.db.SQL.ExecContext(ctx, `DELETE FROM dispatch_learners WHERE user_id = $1
		AND dispatch_id IN (SELECT id FROM dispatches WHERE borough_id = $2)`, userID, boroughID)
	if err != nil {
		return 0, errs.Wrap(errs.Unavailable, err, "the LMS learner mapping could not be erased; try again")
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// Accounts is what making LMS learners needs of internal/auth.
type Accounts interface {
	LearnerIn(ctx context.Context, boroughID, userID string) (auth.User, error)
	CreateUser(ctx context.Context, actor string, n auth.NewUser) (auth.User, string, error)
}

// LearnerFor returns the borough learner account that plays the course for
// the other LMS's student, making it on the student's first visit: a
// learner named studentName (see LearnerName) with an undeliverable address
// (LearnerEmail) and a random password nobody is told, so admins see,
// deactivate and erase them like any learner and reports count them.
// created reports whether the account is new. A deactivated learner is
// Forbidden; so is a new student when the dispatch is full.
func (s *Store) LearnerFor(ctx context.Context, accounts Accounts, d Dispatch, studentID, studentName string) (auth.User, bool, error) {
	l, _, err := s.Claim(ctx, d, studentID, uuid.NewString())
	if err != nil {
		return auth.User{}, false, err
	}
	created := false
	u, err := accounts.LearnerIn(ctx, d.BoroughID, l.UserID)
	if errs.Is(err, errs.NotFound) {
		// A new claim, or one whose account was not made yet (another
		// request is making it, or a failure came between): the email and
		// id are fixed by the mapping, so whoever makes it first wins and
		// the other finds it.
		u, _, err = accounts.CreateUser(ctx, d.ID, auth.NewUser{ID: l.UserID, BoroughID: d.BoroughID,
			Email: LearnerEmail(d.ID, l.StudentKey), Name: LearnerName(studentName), Role: auth.RoleLearner})
		if errs.Is(err, errs.Conflict) {
			u, err = accounts.LearnerIn(ctx, d.BoroughID, l.UserID)
		} else if err == nil {
			created = true
		}
	}
	if err != nil {
		return auth.User{}, false, err
	}
	if u.Status != auth.StatusActive {
		return auth.User{}, false, errs.E(errs.Forbidden, "your access to this course has been turned off; ask your LMS administrator")
	}
	return u, created, nil
}
