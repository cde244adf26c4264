package launch

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/reach-london/reach/content"
	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/db"
	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/internal/kv"
	"github.com/reach-london/reach/lrs"
)

// Courses is what launching needs from the content room.
type Courses interface {
	// PublishedVersion returns the borough's published course version, or
	// an errs.NotFound error when none is published.
	PublishedVersion(ctx context.Context, boroughID string) (content.CourseVersion, error)
	// VersionForLaunch returns what the learner launches for module: the
	// version they are pinned to, or the published one (pinning it).
	VersionForLaunch(ctx context.Context, boroughID, learnerID, module string) (content.Launchable, error)
	// Version returns one course version of the borough.
	Version(ctx context.Context, boroughID, versionID string) (content.CourseVersion, error)
	// Package returns a package with its course tree.
	Package(ctx context.Context, boroughID, packageID string) (content.Package, error)
	// ReleasePin lets the learner's next launch of module start on the
	// published version; called once the module is satisfied.
	ReleasePin(ctx context.Context, boroughID, learnerID, module string) error
	// AULaunchURL is the absolute URL of the AU's launch file on the
	// content origin, with the AU's own query string.
	AULaunchURL(ctx context.Context, l content.Launchable) (string, error)
}

// Options configures a Service.
type Options struct {
	// PublicURL is the app origin's external URL: the xAPI endpoint, the
	// fetch URL and learners' account homePage hang off it.
	PublicURL string
	// TokenTTL is how long a launch token lasts (default 12h).
	TokenTTL time.Duration
	// FetchTTL is how long a fetch URL may be redeemed (default 30m).
	FetchTTL time.Duration
	// IdleTimeout is how long an open session may go without a statement
	// before the sweeper abandons it (default 4h).
	IdleTimeout time.Duration
	// SCORM, when set, launches SCORM packages.
	SCORM  SCORMStarter
	Logger *slog.Logger
}

// Service is the LMS side of launching.
type Service struct {
	st        *store
	kv        kv.Store
	auth      *auth.Service
	stmts     *lrs.Service
	docs      *lrs.DocumentService
	courses   Courses
	opts      Options
	log       *slog.Logger
	now       func() time.Time
	authority json.RawMessage
}

// NewService returns a Service.
func NewService(d *db.DB, cache kv.Store, a *auth.Service, stmts *lrs.Service, docs *lrs.DocumentService, courses Courses, opts Options) *Service {
	opts.PublicURL = strings.TrimRight(opts.PublicURL, "/")
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = 12 * time.Hour
	}
	if opts.FetchTTL <= 0 {
		opts.FetchTTL = 30 * time.Minute
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 4 * time.Hour
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	authority, _ := json.Marshal(map[string]any{"objectType": "Agent", "name": "Reach LMS",
		"account": map[string]string{"homePage": opts.PublicURL, "name": "lms"}})
	return &Service{st: &store{db: d}, kv: cache, auth: a, stmts: stmts, docs: docs, courses: courses, opts: opts,
		log: opts.Logger, now: time.Now, authority: authority}
}

// Agent is the learner's xAPI agent on this deployment.
func (s *Service) Agent(userID string) lrs.Actor { return LearnerAgent(s.opts.PublicURL, userID) }

// lmsPrincipal is who the LMS writes its own statements and documents as.
func (s *Service) lmsPrincipal(boroughID string) auth.Principal {
	return auth.Principal{Kind: auth.KindCredential, BoroughID: boroughID, Subject: lmsSubject,
		Scopes: []auth.Scope{auth.ScopeStatementsWrite, auth.ScopeState, auth.ScopeProfile}, Authority: s.authority}
}

const lmsSubject = "reach-lms"

// Learner is who launches.
type Learner struct {
	ID         string
	BoroughID  string
	Profession string
	// Name is shown to SCORM content as cmi.core.student_name /
	// cmi.learner_name, which SCORM LMSs must provide. Statements never
	// carry it: the learner's agent is an account id only.
	Name string
}

// Request asks to launch one module.
type Request struct {
	Learner Learner
	Module  string
	// ReturnURL is where the AU sends the learner when they exit.
	ReturnURL string
	// Mode is Normal (default), Browse or Review.
	Mode string
}

// Launched is the answer to a launch: where to send the browser.
type Launched struct {
	URL          string `json:"url"`
	Registration string `json:"registration"`
	SessionID    string `json:"sessionId"`
	Title        string `json:"title"`
}

// Launch starts a session of a module for a learner: it finds or creates
// the registration, ends (abandons) an open session of the same AU,
// writes LMS.LaunchData and the learner's preferences, records launched,
// mints the launch token and the one-time fetch URL, and returns the AU's
// launch URL with the cmi5 parameters.
func (s *Service) Launch(ctx context.Context, r Request) (Launched, error) {
	if r.Mode == "" {
		r.Mode = ModeNormal
	}
	if r.Mode != ModeNormal && r.Mode != ModeBrowse && r.Mode != ModeReview {
		return Launched{}, errs.E(errs.Invalid, "launch mode must be Normal, Browse or Review")
	}
	if r.ReturnURL != "" {
		if u, err := url.Parse(r.ReturnURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			return Launched{}, errs.E(errs.Invalid, "returnURL must be an absolute http(s) URL")
		}
	}
	l, err := s.courses.VersionForLaunch(ctx, r.Learner.BoroughID, r.Learner.ID, r.Module)
	if err != nil {
		return Launched{}, err
	}
	kind := "cmi5"
	switch l.Package.Type {
	case content.TypeCMI5:
	case content.TypeXAPI:
		kind = "xapi"
	default:
		if !l.Package.Type.IsSCORM() || s.opts.SCORM == nil {
			return Launched{}, errs.E(errs.Invalid, "%s packages cannot be launched here yet", l.Package.Type)
		}
		kind = "scorm"
	}
	reg, err := s.registrationFor(ctx, r.Learner, l.Version)
	if err != nil {
		return Launched{}, err
	}
	if err := s.st.ensureAU(ctx, reg.ID, l.AU.ID, l.Module.Module); err != nil {
		return Launched{}, err
	}
	agent := LearnerAgentJSON(s.opts.PublicURL, r.Learner.ID)
	if kind == "scorm" {
		// The SCORM room keeps its own attempts and sessions.
		u, err := s.opts.SCORM.StartSCORM(ctx, l, reg.ID, r.Learner.ID, r.Learner.Name, agent, r.ReturnURL)
		if err != nil {
			return Launched{}, err
		}
		if err := s.st.noteLaunch(ctx, reg.ID, l.AU.ID, s.now().UTC()); err != nil {
			return Launched{}, err
		}
		return Launched{URL: u, Registration: reg.ID, Title: l.Module.Title}, nil
	}
	if err := s.abandonOpen(ctx, reg.ID, l.AU.ID); err != nil {
		return Launched{}, err
	}
	now := s.now().UTC()
	// cmi5 §8.1: the LMS gives the AU an activityId of its own, not the
	// publisher's id (which goes in grouping); tincan content keeps its
	// own activity id.
	actID := s.auActivityID(l.AU.ID)
	if kind != "cmi5" {
		actID = l.AU.ID
	}
	sess := Session{ID: uuid.NewString(), RegistrationID: reg.ID, BoroughID: r.Learner.BoroughID, LearnerID: r.Learner.ID,
		AUID: l.AU.ID, Kind: kind, LaunchMode: r.Mode, MasteryScore: l.AU.MasteryScore, MoveOn: moveOnOf(l.AU),
		State: StateLaunched, LaunchedAt: now, LastSeenAt: now}
	tok, tokID, err := s.auth.IssueLaunchToken(auth.LaunchGrant{BoroughID: r.Learner.BoroughID, Actor: agent,
		Registration: reg.ID, ActivityID: actID, SessionID: sess.ID, TTL: s.opts.TokenTTL,
		Scopes: []auth.Scope{auth.ScopeStatementsWrite, auth.ScopeStatementsReadMine, auth.ScopeState, auth.ScopeProfile}})
	if err != nil {
		return Launched{}, err
	}
	sess.TokenID = tokID
	basic := BasicToken(tok)

	auURL, err := s.courses.AULaunchURL(ctx, l)
	if err != nil {
		return Launched{}, err
	}
	params := url.Values{}
	params.Set("endpoint", s.opts.PublicURL+"/xapi/")
	params.Set("actor", string(agent))
	params.Set("registration", reg.ID)
	if kind == "cmi5" {
		if err := s.writeLaunchDocuments(ctx, r, l, reg, sess, agent, actID); err != nil {
			return Launched{}, err
		}
		code := randomCode()
		if err := s.kv.Set(ctx, fetchKey(code), []byte(basic), s.opts.FetchTTL); err != nil {
			return Launched{}, errs.Wrap(errs.Unavailable, err, "the launch could not be prepared; try again")
		}
		params.Set("fetch", s.opts.PublicURL+"/launch/fetch/"+code)
		params.Set("activityId", actID)
	} else {
		// tincan launch: "auth" is an Authorization header value.
		params.Set("auth", "Basic "+basic)
		params.Set("activity_id", l.AU.ID)
	}
	if err := s.st.createSession(ctx, s.st.db.SQL, sess); err != nil {
		return Launched{}, err
	}
	if err := s.st.noteLaunch(ctx, reg.ID, l.AU.ID, now); err != nil {
		return Launched{}, err
	}
	if kind == "cmi5" {
		if err := s.sendLaunched(ctx, l, reg, sess, auURL); err != nil {
			return Launched{}, err
		}
	}
	return Launched{URL: mergeQuery(auURL, params), Registration: reg.ID, SessionID: sess.ID, Title: l.Module.Title}, nil
}

// BasicToken wraps a launch JWT as the value of an HTTP Basic
// Authorization header ("Basic " + this), which is what cmi5 AUs and
// tincan content send; the LRS recognises the "launch" user name.
func BasicToken(jwt string) string {
	return base64.StdEncoding.EncodeToString([]byte(BasicUser + ":" + jwt))
}

// BasicUser is the user name of a Basic-encoded launch token.
const BasicUser = "launch"

func moveOnOf(au content.AU) string {
	if au.MoveOn == "" {
		return MoveOnNotApplicable
	}
	return au.MoveOn
}

func randomCode() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func fetchKey(code string) string  { return "launch-fetch:" + code }
func fetchUsed(code string) string { return "launch-fetch-used:" + code }

// mergeQuery adds params to raw's own query string, keeping the AU's
// parameters (cmi5 §8.1: the LMS appends, never drops, the AU's own).
func mergeQuery(raw string, params url.Values) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	for k, vs := range params {
		q.Del(k)
		for _, v := range vs {
			q.Add(k, v)
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// FetchError is the cmi5 fetch error (cmi5 §8.2.3), answered with HTTP
// 200 as §8.2.2 requires: code 1 is "already in use or expired", 2 a
// security error such as an unknown code, 3 an application error.
type FetchError struct {
	Code string `json:"error-code"`
	Text string `json:"error-text"`
}

func (e *FetchError) Error() string { return e.Text }

// Fetch redeems a fetch URL once, across replicas (kv.Take is atomic in
// Redis). A second redemption answers cmi5 error code 1.
func (s *Service) Fetch(ctx context.Context, code string) (string, error) {
	if code == "" || len(code) > 64 {
		return "", &FetchError{Code: "2", Text: "the fetch URL is not valid"}
	}
	v, err := s.kv.Take(ctx, fetchKey(code))
	if errors.Is(err, kv.ErrNotFound) {
		if _, err := s.kv.Get(ctx, fetchUsed(code)); err == nil {
			return "", &FetchError{Code: "1", Text: "the authorization token has already been returned; launch the module again from the course"}
		}
		return "", &FetchError{Code: "2", Text: "the fetch URL has expired or is not known; launch the module again from the course"}
	}
	if err != nil {
		s.log.Warn("fetch URL store unavailable", "err", err)
		return "", &FetchError{Code: "3", Text: "the token store is unavailable; launch the module again in a moment"}
	}
	_ = s.kv.Set(ctx, fetchUsed(code), []byte("1"), s.opts.TokenTTL)
	// A token whose learner was deactivated or erased, or whose session
	// ended, since the launch is not handed out: the AU learns at once
	// that it cannot record, rather than at its first statement.
	if _, err := s.auth.AuthenticateToken(ctx, tokenOfBasic(string(v))); err != nil {
		if errs.Is(err, errs.Unauthorized) {
			return "", &FetchError{Code: "2", Text: "this launch has ended; launch the module again from the course"}
		}
		return "", &FetchError{Code: "3", Text: "the launch could not be checked; launch the module again in a moment"}
	}
	return string(v), nil
}

// tokenOfBasic is the JWT inside a BasicToken value.
func tokenOfBasic(basic string) string {
	b, err := base64.StdEncoding.DecodeString(basic)
	if err != nil {
		return ""
	}
	_, tok, _ := strings.Cut(string(b), ":")
	return tok
}

// auActivityID is the activityId the LMS gives a cmi5 AU: the same in
// every registration, never the publisher's id.
func (s *Service) auActivityID(publisherID string) string { return s.lmsActivityID("au", publisherID) }

// lmsActivityID is the id the LMS gives a course or block in satisfied
// statements: cmi5 §9.3.9 forbids the publisher's id there, and a
// deterministic id keeps it the same in every registration.
func (s *Service) lmsActivityID(kind, publisherID string) string {
	sum := sha256.Sum256([]byte(kind + "|" + publisherID))
	return s.opts.PublicURL + "/xapi/activities/" + kind + "/" + hex.EncodeToString(sum[:16])
}

func (s *Service) registrationFor(ctx context.Context, l Learner, v content.CourseVersion) (Registration, error) {
	base, err := s.courses.Package(ctx, l.BoroughID, v.BasePackageID)
	if err != nil {
		return Registration{}, err
	}
	reg, created, err := s.st.ensureRegistration(ctx, Registration{ID: uuid.NewString(), BoroughID: l.BoroughID,
		LearnerID: l.ID, VersionID: v.ID, CourseID: base.Course.ID, CreatedAt: s.now().UTC()})
	if err != nil {
		return Registration{}, err
	}
	if created {
		// AUs whose moveOn is NotApplicable are satisfied as soon as the
		// registration exists (cmi5 §9.5.4.2 and moveOn NotApplicable).
		if err := s.satisfyNotApplicable(ctx, reg, v); err != nil {
			return Registration{}, err
		}
	}
	return reg, nil
}

func (s *Service) writeLaunchDocuments(ctx context.Context, r Request, l content.Launchable, reg Registration, sess Session, agent json.RawMessage, actID string) error {
	ld := map[string]any{
		"contextTemplate": map[string]any{
			"contextActivities": map[string]any{
				"grouping": []any{map[string]any{"objectType": "Activity", "id": l.AU.ID}},
			},
			"extensions": map[string]any{ExtSessionID: sess.ID},
		},
		"launchMode": r.Mode,
		"moveOn":     sess.MoveOn,
	}
	if r.ReturnURL != "" {
		ld["returnURL"] = r.ReturnURL
	}
	if l.AU.LaunchParameters != "" {
		ld["launchParameters"] = l.AU.LaunchParameters
	}
	if l.AU.MasteryScore != nil {
		ld["masteryScore"] = *l.AU.MasteryScore
	}
	if l.AU.LaunchMethod != "" {
		ld["launchMethod"] = l.AU.LaunchMethod
	}
	body, _ := json.Marshal(ld)
	err := s.docs.Put(ctx, r.Learner.BoroughID, lrs.DocumentRequest{Kind: lrs.StateDocument, Version: lrs.V103,
		ActivityID: actID, Agent: string(agent), Registration: reg.ID, ID: LaunchDataStateID}, "application/json", body)
	if err != nil {
		return err
	}
	// Learner preferences: written once, then the learner's (or the AU's)
	// to change.
	prefs, _ := json.Marshal(map[string]string{"languagePreference": DefaultLanguage, "audioPreference": DefaultAudioPreference})
	err = s.docs.Put(ctx, r.Learner.BoroughID, lrs.DocumentRequest{Kind: lrs.AgentProfileDocument, Version: lrs.V103,
		Agent: string(agent), ID: LearnerPreferencesID, IfNoneMatch: "*"}, "application/json", prefs)
	if err != nil && !errs.Is(err, errs.PreconditionFailed) {
		return err
	}
	if r.Learner.Profession != "" {
		if err := s.writeRole(ctx, r.Learner.BoroughID, agent, r.Learner.Profession, true); err != nil {
			return err
		}
	}
	return nil
}

// SetRole records the learner's professional role in the role agent
// profile the AU reads.
func (s *Service) SetRole(ctx context.Context, boroughID, userID, profession string) error {
	if ProfessionLabel(profession) == "" {
		return errs.E(errs.Invalid, "role must be one of artist, linkworker, gp or other")
	}
	return s.writeRole(ctx, boroughID, LearnerAgentJSON(s.opts.PublicURL, userID), profession, false)
}

func (s *Service) writeRole(ctx context.Context, boroughID string, agent json.RawMessage, profession string, onlyIfAbsent bool) error {
	body, _ := json.Marshal(map[string]string{"role": profession})
	req := lrs.DocumentRequest{Kind: lrs.AgentProfileDocument, Version: lrs.V103, Agent: string(agent), ID: RoleProfileID}
	// Agent profiles are written with xAPI's concurrency headers: replace
	// the document read just now, or create it if there is none.
	cur, err := s.docs.Get(ctx, boroughID, req)
	switch {
	case err == nil && onlyIfAbsent:
		return nil
	case err == nil:
		req.IfMatch = cur.QuotedETag()
	case errs.Is(err, errs.NotFound):
		req.IfNoneMatch = "*"
	default:
		return err
	}
	err = s.docs.Put(ctx, boroughID, req, "application/json", body)
	if errs.Is(err, errs.PreconditionFailed) {
		return errs.E(errs.Conflict, "your role was changed at the same moment elsewhere; try again")
	}
	return err
}

// statement builds an LMS statement about the learner.
func (s *Service) statement(learnerID, verbID, verbName string, object map[string]any, reg, sessionID string, grouping string,
	extensions map[string]any, result map[string]any) map[string]any {
	ext := map[string]any{ExtSessionID: sessionID}
	for k, v := range extensions {
		ext[k] = v
	}
	ca := map[string]any{"category": []any{map[string]any{"objectType": "Activity", "id": CategoryCMI5}}}
	if grouping != "" {
		ca["grouping"] = []any{map[string]any{"objectType": "Activity", "id": grouping}}
	}
	st := map[string]any{
		"id":        uuid.NewString(),
		"actor":     LearnerAgent(s.opts.PublicURL, learnerID),
		"verb":      map[string]any{"id": verbID, "display": map[string]string{"en-US": verbName}},
		"object":    object,
		"context":   map[string]any{"registration": reg, "contextActivities": ca, "extensions": ext},
		"timestamp": s.now().UTC().Format(time.RFC3339Nano),
	}
	if result != nil {
		st["result"] = result
	}
	return st
}

// addCategory adds a category activity to an LMS statement built by
// statement.
func addCategory(st map[string]any, id string) {
	ca := st["context"].(map[string]any)["contextActivities"].(map[string]any)
	ca["category"] = append(ca["category"].([]any), map[string]any{"objectType": "Activity", "id": id})
}

func (s *Service) send(ctx context.Context, boroughID string, sts ...map[string]any) error {
	parsed := make([]*lrs.Statement, 0, len(sts))
	for _, st := range sts {
		b, err := json.Marshal(st)
		if err != nil {
			return err
		}
		p, err := lrs.ParseStatement(b, lrs.V103)
		if err != nil {
			return errs.Wrap(errs.Internal, err, "LMS statement is invalid")
		}
		parsed = append(parsed, p)
	}
	_, err := s.stmts.Store(ctx, s.lmsPrincipal(boroughID), parsed, nil, lrs.V103)
	return err
}

func activity(id, typ string, title string) map[string]any {
	a := map[string]any{"objectType": "Activity", "id": id}
	def := map[string]any{}
	if typ != "" {
		def["type"] = typ
	}
	if title != "" {
		def["name"] = map[string]string{"en-GB": title}
	}
	if len(def) > 0 {
		a["definition"] = def
	}
	return a
}

func (s *Service) sendLaunched(ctx context.Context, l content.Launchable, reg Registration, sess Session, auURL string) error {
	// launchURL is the AU's URL before the cmi5 parameters were added.
	ext := map[string]any{ExtLaunchMode: sess.LaunchMode, ExtLaunchURL: auURL, ExtMoveOn: sess.MoveOn}
	if l.AU.LaunchParameters != "" {
		ext[ExtLaunchParameters] = l.AU.LaunchParameters
	}
	if l.AU.MasteryScore != nil {
		ext[ExtMasteryScore] = *l.AU.MasteryScore
	}
	st := s.statement(sess.LearnerID, VerbLaunched, "Launched", activity(s.auActivityID(l.AU.ID), "", l.AU.Title), reg.ID, sess.ID, l.AU.ID, ext, nil)
	return s.send(ctx, sess.BoroughID, st)
}

// abandonOpen abandons every open session of the AU in the registration: a
// new launch replaces them (cmi5 §9.5.4.3).
func (s *Service) abandonOpen(ctx context.Context, regID, auID string) error {
	open, err := s.st.sessions(ctx, `registration_id = $1 AND au_id = $2 AND state IN ('launched', 'initialized')`, regID, auID)
	if err != nil {
		return err
	}
	for _, x := range open {
		if err := s.abandon(ctx, x); err != nil {
			return err
		}
	}
	return nil
}

// SessionEnded reports whether the launch session id has ended
// (terminated or abandoned), which is when its launch token is revoked.
// An id that names no launch session (a SCORM attempt's session) has not
// ended: those tokens are never revoked. auth asks it for every request
// with a launch token.
func (s *Service) SessionEnded(ctx context.Context, id string) (bool, error) {
	x, err := s.st.session(ctx, id)
	if errs.Is(err, errs.NotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return x.State == StateTerminated || x.State == StateAbandoned, nil
}

func (s *Service) abandon(ctx context.Context, x Session) error {
	from := x.State
	now := s.now().UTC()
	secs := x.LastSeenAt.Sub(x.LaunchedAt).Seconds()
	x.State, x.EndedAt, x.Seconds = StateAbandoned, &now, secs
	ok, err := s.st.updateSession(ctx, x, from)
	if err != nil || !ok {
		return err // another replica ended it first
	}
	if x.TokenID != "" {
		_ = s.auth.RevokeToken(ctx, x.TokenID, s.opts.TokenTTL)
	}
	if err := s.st.addSeconds(ctx, x.RegistrationID, x.AUID, secs); err != nil {
		return err
	}
	if x.Kind != "cmi5" {
		return nil
	}
	st := s.statement(x.LearnerID, VerbAbandoned, "Abandoned", activity(s.auActivityID(x.AUID), "", ""), x.RegistrationID, x.ID, x.AUID, nil,
		map[string]any{"duration": isoDuration(secs)})
	return s.send(ctx, x.BoroughID, st)
}

// EndLearnerSessions abandons every open launch session of a learner, so
// their launch tokens are refused from now on, on every replica (the
// session state is in the database), and the AU's bookkeeping ends as an
// idle session's would. Deactivation and erasure call it; erasure calls
// it before erasing statements, since abandoning writes an abandoned
// statement. It returns how many sessions it ended.
func (s *Service) EndLearnerSessions(ctx context.Context, boroughID, learnerID string) (int, error) {
	open, err := s.st.sessions(ctx, `borough_id = $1 AND learner_id = $2 AND state IN ('launched', 'initialized')`, boroughID, learnerID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, x := range open {
		if err := s.abandon(ctx, x); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// SweepIdle abandons sessions that have sent nothing for the idle
// timeout and returns how many it ended. Run it periodically on any
// replica; the conditional update keeps replicas from ending one twice.
func (s *Service) SweepIdle(ctx context.Context) (int, error) {
	return s.SweepIdleBefore(ctx, s.now().UTC().Add(-s.opts.IdleTimeout))
}

// SweepIdleBefore abandons open sessions last heard from before cutoff.
func (s *Service) SweepIdleBefore(ctx context.Context, cutoff time.Time) (int, error) {
	open, err := s.st.sessions(ctx, `state IN ('launched', 'initialized') AND last_seen_at < $1`, cutoff)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, x := range open {
		if err := s.abandon(ctx, x); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// RunSweeper sweeps every interval until ctx ends.
func (s *Service) RunSweeper(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := s.SweepIdle(ctx); err != nil {
				s.log.Warn("abandoning idle sessions failed", "err", err)
			} else if n > 0 {
				s.log.Info("abandoned idle sessions", "count", n)
			}
		}
	}
}

func isoDuration(secs float64) string {
	if secs < 0 {
		secs = 0
	}
	cs := int64(secs*100 + 0.5)
	return fmt.Sprintf("PT%d.%02dS", cs/100, cs%100)
}
