// Package scorm is Reach's SCORM 1.2 and SCORM 2004 tracker: the CMI data
// models with the server-side checks of every element's type, range,
// vocabulary and access; attempts with their stored data, resumed through
// cmi.entry, suspend data and location; and the translation of each commit
// into xAPI statements in the borough's LRS, following ADL's xAPI SCORM
// Profile.
//
// The runtime itself (the API / API_1484_11 object a SCO finds in its
// parent frame) runs in the browser, in the player on the content origin;
// it sends the values a SCO set, in order, to Service.Commit.
package scorm

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/reach-london/reach/content"
	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/db"
	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/lrs"
)

//go:embed migrations
var migrationsFS embed.FS

// Migrations are the SCORM tracker's tables.
var Migrations = db.Migrations("scorm", migrationsFS, "migrations")

// Status is where an attempt stands.
type Status string

// The attempt statuses. A launch resumes an active or suspended attempt
// and starts a new one after a finished attempt.
const (
	// StatusActive: launched, and not ended by Terminate (a session in
	// progress, or one whose window closed without Terminate).
	StatusActive Status = "active"
	// StatusSuspended: the SCO terminated with exit "suspend".
	StatusSuspended Status = "suspended"
	// StatusFinished: the SCO terminated with any other exit.
	StatusFinished Status = "finished"
)

// session states: a launch opens a session; Initialize starts it;
// Terminate (or the window closing) ends it.
const (
	sessionLaunched    = "launched"
	sessionInitialized = "initialized"
	sessionEnded       = "ended"
	// sessionUnloaded: the window went away before Terminate. A SCO that
	// terminates in its own unload handler does so after the player's
	// unload commit, so a Terminate may still follow.
	sessionUnloaded = "unloaded"
)

// Meta is what an attempt keeps of its package so commits need no package
// lookup: the IRIs and names statements carry and the LMS-set values of
// the data model.
type Meta struct {
	CourseIRI           string   `json:"courseIri"`
	CourseTitle         string   `json:"courseTitle"`
	SCOIRI              string   `json:"scoIri"`
	SCOTitle            string   `json:"scoTitle"`
	LaunchPath          string   `json:"launchPath"`
	LaunchData          string   `json:"launchData,omitempty"`
	MasteryScore        *float64 `json:"masteryScore,omitempty"`
	CompletionThreshold *float64 `json:"completionThreshold,omitempty"`
	MaxTimeAllowed      string   `json:"maxTimeAllowed,omitempty"`
	TimeLimitAction     string   `json:"timeLimitAction,omitempty"`
	// ReturnURL is where the player's "back" link goes (the portal).
	ReturnURL string `json:"returnUrl,omitempty"`
	// ModuleAU is the item the portal launched (the AU its module is
	// bound to), kept as the learner moves to other SCOs of the package;
	// SCOs lists the package's SCOs, whose outcomes together are the
	// module's.
	ModuleAU string   `json:"moduleAu,omitempty"`
	SCOs     []string `json:"scos,omitempty"`
}

// Attempt is one learner's attempt on one SCO within a registration.
type Attempt struct {
	ID           string          `json:"id"`
	BoroughID    string          `json:"boroughId"`
	Registration string          `json:"registration"`
	Learner      json.RawMessage `json:"learner"`
	LearnerID    string          `json:"learnerId"`
	LearnerName  string          `json:"learnerName"`
	PackageID    string          `json:"packageId"`
	SCOID        string          `json:"scoId"`
	Version      Version         `json:"version"`
	// Number counts the learner's attempts on the SCO in the registration
	// from 1.
	Number int    `json:"number"`
	Status Status `json:"status"`
	// Entry is cmi.entry / cmi.core.entry of the current session.
	Entry string `json:"entry"`
	// SessionID names the current launch; commits from an older launch's
	// token are refused.
	SessionID    string  `json:"sessionId"`
	SessionState string  `json:"sessionState"`
	CMI          CMI     `json:"cmi"`
	Meta         Meta    `json:"meta"`
	TotalSeconds float64 `json:"totalSeconds"`
	// CommitSeq is the sequence number of the last commit applied in the
	// current session (0 before any); see Commit.Seq.
	CommitSeq int64     `json:"commitSeq"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	seq       int
}

// Packages finds the packages the player plays and addresses their files
// on the content origin; content.Service provides it.
type Packages interface {
	Package(ctx context.Context, boroughID, id string) (content.Package, error)
	ContentToken(boroughID, packageID string, ttl time.Duration) (string, error)
	FileURL(packageID, token, path string) string
}

// Options configure a Service.
type Options struct {
	DB         *db.DB
	Statements *lrs.Service
	// Documents, when set, keeps the profile's Activity State and Attempt
	// State documents.
	Documents *lrs.DocumentService
	Auth      *auth.Service
	Packages  Packages
	// PublicURL is the app origin; statement IRIs of packages whose
	// manifest identifier is not an IRI are made under it.
	PublicURL string
	// ContentURL is the content origin, where the player runs.
	ContentURL string
	// TokenTTL is how long a player's launch token lasts (default 8h).
	TokenTTL time.Duration
	// OnOutcome, when set, hears each stored commit's outcome, so the
	// portal's progress (content/launch) follows SCORM attempts. Its
	// errors are logged; the SCO's data is already stored by then.
	OnOutcome func(ctx context.Context, a Attempt, o Outcome) error
	Logger    *slog.Logger
}

// Outcome is where an attempt stands after a commit.
type Outcome struct {
	Completed bool
	Passed    bool
	Failed    bool
	// Score is the scaled score, if the SCO gave one.
	Score *float64
	// Seconds is the time of the session the commit ended (0 otherwise).
	Seconds float64
}

// Service keeps SCORM attempts and records them in the LRS.
type Service struct {
	opts Options
	now  func() time.Time
}

// NewService returns a Service over opts.
func NewService(opts Options) *Service {
	if opts.TokenTTL == 0 {
		opts.TokenTTL = 8 * time.Hour
	}
	opts.PublicURL = strings.TrimRight(opts.PublicURL, "/")
	opts.ContentURL = strings.TrimRight(opts.ContentURL, "/")
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Service{opts: opts, now: time.Now}
}

// AttemptStart says whose attempt on what to start or resume.
type AttemptStart struct {
	BoroughID string
	// Learner is the learner's xAPI Agent (JSON); LearnerID and
	// LearnerName are cmi.core.student_id / cmi.learner_id and the name.
	Learner      json.RawMessage
	LearnerID    string
	LearnerName  string
	Registration string
	PackageID    string
	// SCOID is the item identifier of the SCO to launch; empty launches
	// the first SCO of the organisation.
	SCOID string
	// ReturnURL, if set, is an absolute http(s) URL the player links back to.
	ReturnURL string
	// ModuleAU is the item the portal launched for a module, when the
	// attempt belongs to one (StartSCORM sets it; Navigate keeps it).
	ModuleAU string
}

// VersionOf maps a package type to its run-time version.
func VersionOf(t content.Type) (Version, bool) {
	switch t {
	case content.TypeSCORM12:
		return V12, true
	case content.TypeSCORM2004v2, content.TypeSCORM2004v3, content.TypeSCORM2004v4:
		return V2004, true
	}
	return "", false
}

// StartAttempt opens a session on the learner's current attempt on the
// SCO, or on a new attempt when there is none or the last one finished,
// and returns the attempt and the player URL on the content origin (which
// carries a launch token limited to this learner and registration in its
// fragment, so it never reaches a server log).
func (s *Service) StartAttempt(ctx context.Context, in AttemptStart) (Attempt, string, error) {
	if in.BoroughID == "" || in.Registration == "" || in.PackageID == "" {
		return Attempt{}, "", errs.E(errs.Invalid, "a SCORM attempt needs a borough, a registration and a package")
	}
	if _, err := uuid.Parse(in.Registration); err != nil {
		return Attempt{}, "", errs.E(errs.Invalid, "registration %q is not a UUID", in.Registration)
	}
	if in.LearnerID == "" || len(in.Learner) == 0 {
		return Attempt{}, "", errs.E(errs.Invalid, "a SCORM attempt needs the learner's id and xAPI agent")
	}
	if in.ReturnURL != "" {
		if u, err := url.Parse(in.ReturnURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return Attempt{}, "", errs.E(errs.Invalid, "returnURL must be an absolute http(s) URL")
		}
	}
	pkg, err := s.opts.Packages.Package(ctx, in.BoroughID, in.PackageID)
	if err != nil {
		return Attempt{}, "", err
	}
	ver, ok := VersionOf(pkg.Type)
	if !ok {
		return Attempt{}, "", errs.E(errs.Invalid, "package %s is %s, not SCORM", pkg.ID, pkg.Type)
	}
	sco, err := findSCO(pkg, in.SCOID)
	if err != nil {
		return Attempt{}, "", err
	}
	var a Attempt
	for try := 0; ; try++ {
		a, err = s.openSession(ctx, in, pkg, sco, ver)
		if err == nil || try == 3 || !errs.Is(err, errs.Conflict) {
			break
		}
	}
	if err != nil {
		return Attempt{}, "", err
	}
	token, err := s.issueToken(a)
	if err != nil {
		return Attempt{}, "", err
	}
	return a, s.PlayerURL(a.ID, token), nil
}

// PlayerURL is the content-origin address of the player for an attempt.
func (s *Service) PlayerURL(attemptID, token string) string {
	return s.opts.ContentURL + "/player/" + url.PathEscape(attemptID) + "#token=" + url.QueryEscape(token)
}

func (s *Service) issueToken(a Attempt) (string, error) {
	tok, _, err := s.opts.Auth.IssueLaunchToken(auth.LaunchGrant{BoroughID: a.BoroughID, Actor: a.Learner,
		Registration: a.Registration, ActivityID: a.Meta.CourseIRI, SessionID: a.SessionID, TTL: s.opts.TokenTTL})
	return tok, err
}

// findSCO returns the SCO with id, or the first SCO when id is empty.
func findSCO(pkg content.Package, id string) (content.AU, error) {
	for _, au := range pkg.Course.AllAUs() {
		if au.Kind != "sco" && au.Kind != "asset" {
			continue
		}
		if id == "" || au.ID == id {
			return au, nil
		}
	}
	if id == "" {
		return content.AU{}, errs.E(errs.Invalid, "package %s has no SCO to launch", pkg.ID)
	}
	return content.AU{}, errs.E(errs.NotFound, "package %s has no item %q", pkg.ID, id)
}

// openSession resumes or creates the attempt and starts a new session on it.
func (s *Service) openSession(ctx context.Context, in AttemptStart, pkg content.Package, sco content.AU, ver Version) (Attempt, error) {
	now := s.now().UTC()
	last, err := s.latest(ctx, in.BoroughID, in.Registration, in.PackageID, sco.ID)
	if err != nil && !errs.Is(err, errs.NotFound) {
		return Attempt{}, err
	}
	if err == nil && last.Status != StatusFinished {
		a := last
		a.Entry = entryFor(a)
		// exit, session_time and the navigation request belong to the
		// session that set them.
		for _, k := range []string{"cmi.core.exit", "cmi.core.session_time", "cmi.exit", "cmi.session_time", "adl.nav.request"} {
			delete(a.CMI, k)
		}
		a.SessionID, a.SessionState, a.Status = uuid.NewString(), sessionLaunched, StatusActive
		// The new session's player numbers its commits from 1 again.
		a.CommitSeq = 0
		a.Meta.ReturnURL, a.Meta.ModuleAU = in.ReturnURL, in.ModuleAU
		a.UpdatedAt = now
		return a, s.update(ctx, a)
	}
	number := 1
	if err == nil {
		number = last.Number + 1
	}
	a := Attempt{ID: uuid.NewString(), BoroughID: in.BoroughID, Registration: strings.ToLower(in.Registration),
		Learner: in.Learner, LearnerID: in.LearnerID, LearnerName: in.LearnerName, PackageID: pkg.ID, SCOID: sco.ID,
		Version: ver, Number: number, Status: StatusActive, Entry: "ab-initio", SessionID: uuid.NewString(),
		SessionState: sessionLaunched, CMI: CMI{}, Meta: s.meta(pkg, sco), CreatedAt: now, UpdatedAt: now}
	a.Meta.ReturnURL, a.Meta.ModuleAU = in.ReturnURL, in.ModuleAU
	return a, s.insert(ctx, a)
}

// entryFor is the entry value of a new session on a: "resume" after a
// suspend, "" otherwise (SCORM 1.2 RTE 3.4.2, SCORM 2004 RTE 4.2.8).
func entryFor(a Attempt) string {
	if a.Status == StatusSuspended || a.CMI["cmi.core.exit"] == "suspend" || a.CMI["cmi.exit"] == "suspend" {
		return "resume"
	}
	if a.SessionState == sessionLaunched && len(a.CMI) == 0 {
		// Launched before but never initialized: still a first entry.
		return "ab-initio"
	}
	return ""
}

// meta builds the attempt's package facts.
func (s *Service) meta(pkg content.Package, sco content.AU) Meta {
	course := courseIRI(s.opts.PublicURL, pkg)
	title := pkg.Course.Title
	if title == "" {
		title = pkg.Title
	}
	var scos []string
	for _, au := range pkg.Course.AllAUs() {
		if au.Kind == "sco" {
			scos = append(scos, au.ID)
		}
	}
	return Meta{SCOs: scos, CourseIRI: course, CourseTitle: title, SCOIRI: course + "/" + iriSegment(sco.ID), SCOTitle: sco.Title,
		LaunchPath: sco.LaunchURL, LaunchData: sco.LaunchParameters, MasteryScore: sco.MasteryScore,
		CompletionThreshold: sco.CompletionThreshold, MaxTimeAllowed: sco.MaxTimeAllowed, TimeLimitAction: sco.TimeLimitAction}
}

// courseIRI is the package's course activity id: its manifest identifier
// when that is already an absolute http(s) IRI, otherwise one made under
// the app origin from it, so the same course keeps its id across imports.
func courseIRI(publicURL string, pkg content.Package) string {
	id := pkg.Course.ID
	if u, err := url.Parse(id); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		return strings.TrimRight(id, "/")
	}
	if id == "" {
		id = pkg.ID
	}
	return publicURL + "/activities/scorm/" + iriSegment(id)
}

func iriSegment(s string) string { return url.PathEscape(s) }

// Attempt returns an attempt the principal may see: a launch token of the
// attempt's borough and registration.
func (s *Service) Attempt(ctx context.Context, p auth.Principal, id string) (Attempt, error) {
	a, err := s.get(ctx, id)
	if err != nil {
		return Attempt{}, err
	}
	if err := allowed(p, a); err != nil {
		return Attempt{}, err
	}
	return a, nil
}

// AttemptForBorough returns an attempt of the borough (for admins and tests).
func (s *Service) AttemptForBorough(ctx context.Context, boroughID, id string) (Attempt, error) {
	a, err := s.get(ctx, id)
	if err != nil || a.BoroughID != boroughID {
		return Attempt{}, errs.E(errs.NotFound, "no SCORM attempt %s", id)
	}
	return a, nil
}

func allowed(p auth.Principal, a Attempt) error {
	if p.Kind != auth.KindLaunch || p.BoroughID != a.BoroughID || !strings.EqualFold(p.Registration, a.Registration) {
		// Another borough's or learner's attempt is not revealed.
		return errs.E(errs.NotFound, "no SCORM attempt %s", a.ID)
	}
	return nil
}

// ---- storage -----------------------------------------------------------

const attemptCols = `id, borough_id, registration, learner, learner_id, learner_name, package_id, sco_id, version, number,
	status, entry, session_id, session_state, cmi, meta, total_seconds, seq, created_at, updated_at, commit_seq`

func scanAttempt(row interface{ Scan(...any) error }) (Attempt, error) {
	var a Attempt
	var learner, cmi, meta string
	err := row.Scan(&a.ID, &a.BoroughID, &a.Registration, &learner, &a.LearnerID, &a.LearnerName, &a.PackageID, &a.SCOID,
		&a.Version, &a.Number, &a.Status, &a.Entry, &a.SessionID, &a.SessionState, &cmi, &meta, &a.TotalSeconds, &a.seq,
		&a.CreatedAt, &a.UpdatedAt, &a.CommitSeq)
	if errors.Is(err, sql.ErrNoRows) {
		return Attempt{}, errs.E(errs.NotFound, "no such SCORM attempt")
	}
	if err != nil {
		return Attempt{}, err
	}
	a.Learner = json.RawMessage(learner)
	if err := json.Unmarshal([]byte(cmi), &a.CMI); err != nil {
		return Attempt{}, errs.Wrap(errs.Internal, err, "attempt %s: stored CMI data", a.ID)
	}
	if err := json.Unmarshal([]byte(meta), &a.Meta); err != nil {
		return Attempt{}, errs.Wrap(errs.Internal, err, "attempt %s: stored meta", a.ID)
	}
	if a.CMI == nil {
		a.CMI = CMI{}
	}
	a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	return a, nil
}

func (s *Service) get(ctx context.Context, id string) (Attempt, error) {
	if _, err := uuid.Parse(id); err != nil {
		return Attempt{}, errs.E(errs.NotFound, "no SCORM attempt %s", id)
	}
	a, err := scanAttempt(s.opts.DB.SQL.QueryRowContext(ctx, `SELECT `+attemptCols+` FROM scorm_attempts WHERE id = $1`, id))
	if errs.Is(err, errs.NotFound) {
		return Attempt{}, errs.E(errs.NotFound, "no SCORM attempt %s", id)
	}
	return a, err
}

func (s *Service) latest(ctx context.Context, borough, registration, pkg, sco string) (Attempt, error) {
	return scanAttempt(s.opts.DB.SQL.QueryRowContext(ctx, `SELECT `+attemptCols+` FROM scorm_attempts
		WHERE borough_id = $1 AND registration = $2 AND package_id = $3 AND sco_id = $4 ORDER BY number DESC LIMIT 1`,
		borough, strings.ToLower(registration), pkg, sco))
}

// Attempts lists the attempts of a registration, oldest first.
func (s *Service) Attempts(ctx context.Context, boroughID, registration string) ([]Attempt, error) {
	rows, err := s.opts.DB.SQL.QueryContext(ctx, `SELECT `+attemptCols+` FROM scorm_attempts
		WHERE borough_id = $1 AND registration = $2 ORDER BY created_at, number`, boroughID, strings.ToLower(registration))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Attempt
	for rows.Next() {
		a, err := scanAttempt(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func (s *Service) insert(ctx context.Context, a Attempt) error {
	cmi, meta, err := encode(a)
	if err != nil {
		return err
	}
	_, err = s.opts.DB.SQL.ExecContext(ctx, `INSERT INTO scorm_attempts (`+attemptCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)`,
		a.ID, a.BoroughID, a.Registration, string(a.Learner), a.LearnerID, a.LearnerName, a.PackageID, a.SCOID,
		string(a.Version), a.Number, string(a.Status), a.Entry, a.SessionID, a.SessionState, cmi, meta, a.TotalSeconds,
		0, a.CreatedAt, a.UpdatedAt, a.CommitSeq)
	if db.IsUniqueViolation(err) {
		return errs.E(errs.Conflict, "another launch started this attempt at the same time")
	}
	return err
}

// update writes a back if nobody changed it since it was read (optimistic
// concurrency on seq); a lost race is a Conflict the caller may retry.
func (s *Service) update(ctx context.Context, a Attempt) error {
	cmi, meta, err := encode(a)
	if err != nil {
		return err
	}
	res, err := s.opts.DB.SQL.ExecContext(ctx, `UPDATE scorm_attempts SET status = $1, entry = $2, session_id = $3,
		session_state = $4, cmi = $5, meta = $6, total_seconds = $7, seq = seq + 1, updated_at = $8,
		commit_seq = $9 WHERE id = $10 AND seq = $11`,
		string(a.Status), a.Entry, a.SessionID, a.SessionState, cmi, meta, a.TotalSeconds, a.UpdatedAt, a.CommitSeq, a.ID, a.seq)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errs.E(errs.Conflict, "attempt %s changed while this commit was applied; send it again", a.ID)
	}
	return nil
}

func encode(a Attempt) (string, string, error) {
	cmi, err := json.Marshal(a.CMI)
	if err != nil {
		return "", "", err
	}
	meta, err := json.Marshal(a.Meta)
	return string(cmi), string(meta), err
}
