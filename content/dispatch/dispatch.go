// Package dispatch lets a borough hand its published course to another LMS:
// a dispatch is a revocable grant whose token rides in the content-origin
// URLs of an exported package, with an optional cap on the other LMS's
// learners.
//
//   - cmi5 (CMI5XML, ZipCMI5): the AUs' URLs point at the content Reach
//     hosts; the other LMS launches them itself and their statements go
//     to its own LRS.
//   - SCORM 1.2 (SCORM12Zip): one SCO per module, whose page plays the
//     module from Reach (PlayURL). Reach maps the LMS's student to a
//     learner account of the borough (Store.LearnerFor, within the
//     learner limit), launches the module as its own cmi5 launch, so the
//     statements land in Reach, and posts completion, pass/fail and score
//     back to the SCO page, which reports them to the LMS. The HTTP side
//     is server/dispatch.go and server/dispatch_play.go; docs/content.md
//     describes the URLs.
package dispatch

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"github.com/reach-london/reach/internal/db"
	"github.com/reach-london/reach/internal/errs"
)

//go:embed migrations
var migrationsFS embed.FS

// Migrations creates the dispatches table and the LMS students' learner
// mapping (component "dispatch").
var Migrations = db.Migrations("dispatch", migrationsFS, "migrations")

// Dispatch is one grant of a borough's course to another LMS.
type Dispatch struct {
	ID        string `json:"id"`
	BoroughID string `json:"boroughId"`
	Name      string `json:"name"`
	// Token is the secret embedded in exported launch URLs. It is shown to
	// admins of the borough only, since anyone holding it reads the content.
	Token string `json:"token"`
	// LearnerLimit caps the distinct learners of the other LMS; 0 means no cap.
	LearnerLimit int        `json:"learnerLimit"`
	CreatedBy    string     `json:"createdBy"`
	CreatedAt    time.Time  `json:"createdAt"`
	RevokedAt    *time.Time `json:"revokedAt,omitempty"`
}

// Revoked reports whether the dispatch has been revoked.
func (d Dispatch) Revoked() bool { return d.RevokedAt != nil }

// Store keeps dispatches in the database.
type Store struct {
	db  *db.DB
	now func() time.Time
}

// NewStore returns a Store over d.
func NewStore(d *db.DB) *Store { return &Store{db: d, now: time.Now} }

// maxName bounds a dispatch's name: it is a label, not a document.
const maxName = 200

// MaxLearnerLimit bounds a dispatch's learner limit; a larger cap is no
// cap (0) in all but name, and the column holds 32-bit numbers.
const MaxLearnerLimit = 1_000_000

// Create records a new dispatch for borough with a fresh random token.
func (s *Store) Create(ctx context.Context, boroughID, actor, name string, learnerLimit int) (Dispatch, error) {
	name = strings.TrimSpace(name)
	switch {
	case boroughID == "":
		return Dispatch{}, errs.E(errs.Invalid, "borough is required")
	case name == "":
		return Dispatch{}, errs.E(errs.Invalid, "name is required: say which LMS the course goes to")
	case len(name) > maxName:
		return Dispatch{}, errs.E(errs.Invalid, "name is longer than %d characters", maxName)
	case learnerLimit < 0:
		return Dispatch{}, errs.E(errs.Invalid, "learnerLimit must be 0 (no limit) or more")
	case learnerLimit > MaxLearnerLimit:
		return Dispatch{}, errs.E(errs.Invalid, "learnerLimit must be at most %d; 0 means no limit", MaxLearnerLimit)
	}
	d := Dispatch{ID: "dsp_" + random(12), BoroughID: boroughID, Name: name, Token: random(32),
		LearnerLimit: learnerLimit, CreatedBy: actor, CreatedAt: s.now().UTC().Truncate(time.Microsecond)}
	_, err := s.db.SQL.ExecContext(ctx, `INSERT INTO dispatches (id, borough_id, name, token, learner_limit, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, d.ID, d.BoroughID, d.Name, d.Token, d.LearnerLimit, d.CreatedBy, d.CreatedAt)
	if err != nil {
		return Dispatch{}, errs.Wrap(errs.Unavailable, err, "the dispatch could not be recorded; try again")
	}
	return d, nil
}

const columns = `id, borough_id, name, token, learner_limit, created_by, created_at, revoked_at`

func scan(row interface{ Scan(...any) error }) (Dispatch, error) {
	var d Dispatch
	var revoked sql.NullTime
	if err := row.Scan(&d.ID, &d.BoroughID, &d.Name, &d.Token, &d.LearnerLimit, &d.CreatedBy, &d.CreatedAt, &revoked); err != nil {
		return d, err
	}
	d.CreatedAt = d.CreatedAt.UTC()
	if revoked.Valid {
		t := revoked.Time.UTC()
		d.RevokedAt = &t
	}
	return d, nil
}

// List returns the borough's dispatches, newest first.
func (s *Store) List(ctx context.Context, boroughID string) ([]Dispatch, error) {
	rows, err := s.db.SQL.QueryContext(ctx, `SELECT `+columns+` FROM dispatches WHERE borough_id = $1 ORDER BY created_at DESC, id`, boroughID)
	if err != nil {
		return nil, errs.Wrap(errs.Unavailable, err, "the database is unavailable")
	}
	defer rows.Close()
	out := []Dispatch{}
	for rows.Next() {
		d, err := scan(rows)
		if err != nil {
			return nil, errs.Wrap(errs.Unavailable, err, "the database is unavailable")
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Get returns one dispatch of the borough; another borough's is NotFound.
func (s *Store) Get(ctx context.Context, boroughID, id string) (Dispatch, error) {
	d, err := scan(s.db.SQL.QueryRowContext(ctx, `SELECT `+columns+` FROM dispatches WHERE borough_id = $1 AND id = $2`, boroughID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return d, errs.E(errs.NotFound, "no dispatch %q in this borough", id)
	}
	if err != nil {
		return d, errs.Wrap(errs.Unavailable, err, "the database is unavailable")
	}
	return d, nil
}

// ByToken returns the live dispatch holding token. A revoked dispatch or an
// unknown token is Forbidden: the content origin answers 403 for both, so a
// token cannot be probed for having existed.
func (s *Store) ByToken(ctx context.Context, token string) (Dispatch, error) {
	d, err := scan(s.db.SQL.QueryRowContext(ctx, `SELECT `+columns+` FROM dispatches WHERE token = $1`, token))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && d.Revoked()) {
		return Dispatch{}, errs.E(errs.Forbidden, "this course link has been withdrawn; ask your LMS administrator")
	}
	if err != nil {
		return d, errs.Wrap(errs.Unavailable, err, "the database is unavailable")
	}
	return d, nil
}

// Revoke stops the dispatch's token from opening content. Revoking twice
// keeps the first revocation time.
func (s *Store) Revoke(ctx context.Context, boroughID, id string) (Dispatch, error) {
	if _, err := s.Get(ctx, boroughID, id); err != nil {
		return Dispatch{}, err
	}
	_, err := s.db.SQL.ExecContext(ctx, `UPDATE dispatches SET revoked_at = $1 WHERE borough_id = $2 AND id = $3 AND revoked_at IS NULL`,
		s.now().UTC().Truncate(time.Microsecond), boroughID, id)
	if err != nil {
		return Dispatch{}, errs.Wrap(errs.Unavailable, err, "the dispatch could not be revoked; try again")
	}
	return s.Get(ctx, boroughID, id)
}

func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}
