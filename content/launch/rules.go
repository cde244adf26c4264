package launch

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/lrs"
)

// definedVerbs are the cmi5 verbs an AU may send as cmi5 defined
// statements; lmsVerbs are the ones only the LMS sends.
var (
	auVerbs  = []string{VerbInitialized, VerbCompleted, VerbPassed, VerbFailed, VerbTerminated}
	lmsVerbs = []string{VerbLaunched, VerbAbandoned, VerbWaived, VerbSatisfied}
)

// stmtView reads what the rules need from a parsed statement.
type stmtView struct {
	st *lrs.Statement
}

func (v stmtView) context() map[string]any {
	c, _ := v.st.Tree["context"].(map[string]any)
	return c
}

func (v stmtView) categories() []string {
	ca, _ := v.context()["contextActivities"].(map[string]any)
	list, _ := ca["category"].([]any)
	var out []string
	for _, it := range list {
		if m, ok := it.(map[string]any); ok {
			if id, ok := m["id"].(string); ok {
				out = append(out, id)
			}
		}
	}
	return out
}

func (v stmtView) hasCategory(id string) bool { return slices.Contains(v.categories(), id) }

func (v stmtView) sessionID() string {
	ext, _ := v.context()["extensions"].(map[string]any)
	s, _ := ext[ExtSessionID].(string)
	return s
}

func (v stmtView) result() map[string]any {
	r, _ := v.st.Tree["result"].(map[string]any)
	return r
}

func (v stmtView) scaled() (float64, bool) {
	sc, _ := v.result()["score"].(map[string]any)
	switch n := sc["scaled"].(type) {
	case float64:
		return n, true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

func (v stmtView) boolResult(k string) (bool, bool) {
	b, ok := v.result()[k].(bool)
	return b, ok
}

func (v stmtView) duration() string {
	d, _ := v.result()["duration"].(string)
	return d
}

func ruleErr(i int, format string, args ...any) error {
	return errs.E(errs.Forbidden, "statement %d breaks a cmi5 rule: "+format, append([]any{i}, args...)...)
}

// Check applies the cmi5 statement rules (cmi5 §9) to a batch sent with a
// launch token, before the LRS stores it; any broken rule rejects the
// whole batch. Statements written with other credentials are not part of
// a Reach session and pass unchecked.
func (s *Service) Check(ctx context.Context, p auth.Principal, stmts []*lrs.Statement) error {
	if p.Kind != auth.KindLaunch {
		return nil
	}
	sess, err := s.st.session(ctx, p.SessionID)
	if errs.Is(err, errs.NotFound) {
		// Not a session of this LMS (for example a SCORM attempt's token,
		// whose room keeps its own rules); the LRS's limits still apply.
		return nil
	}
	if err != nil {
		return err
	}
	au, err := s.st.auStatus(ctx, sess.RegistrationID, sess.AUID)
	if err != nil {
		return err
	}
	return checkRules(sess, au, p, stmts)
}

// checkRules applies the cmi5 rules to a batch in a session whose AU has
// status au in the registration. It is pure, so the rules are table-tested.
func checkRules(sess Session, au AUStatus, p auth.Principal, stmts []*lrs.Statement) error {
	tokenActor, err := lrs.ParseAgent(p.Actor)
	if err != nil {
		return errs.Wrap(errs.Internal, err, "launch token actor")
	}
	// Simulate the batch against the session so rules hold within it too.
	state := sess.State
	sessPassed, sessFailed, sessCompleted := sess.Passed, sess.Failed, sess.Completed
	regPassed, regCompleted := au.PassedAt != nil, au.CompletedAt != nil
	for i, st := range stmts {
		v := stmtView{st}
		if st.Actor.Key() != tokenActor.Key() {
			return errs.E(errs.Forbidden, "statement %d: a launch token may only send statements about its own learner", i)
		}
		if st.VerbID == VerbVoided {
			return errs.E(errs.Forbidden, "statement %d: content may not void statements", i)
		}
		if !strings.EqualFold(st.Registration, p.Registration) {
			return errs.E(errs.Forbidden, "statement %d: context.registration must be this launch's registration %s", i, p.Registration)
		}
		if sess.Kind != "cmi5" {
			continue
		}
		if v.sessionID() != p.SessionID {
			return ruleErr(i, "context.extensions must carry the session id %s under %s", p.SessionID, ExtSessionID)
		}
		if state == StateTerminated || state == StateAbandoned {
			return ruleErr(i, "the session has ended (%s); launch the module again", state)
		}
		defined := v.hasCategory(CategoryCMI5)
		moveOnCat := v.hasCategory(CategoryMoveOn)
		if !defined {
			if moveOnCat {
				return ruleErr(i, "only cmi5 completed, passed and failed statements may carry the moveon category")
			}
			if state != StateInitialized {
				return ruleErr(i, "the first statement of a session must be initialized")
			}
			continue
		}
		if slices.Contains(lmsVerbs, st.VerbID) {
			return ruleErr(i, "only the LMS sends %s statements", lastSegment(st.VerbID))
		}
		if !slices.Contains(auVerbs, st.VerbID) {
			return ruleErr(i, "the cmi5 category is for cmi5 defined statements (initialized, completed, passed, failed, terminated)")
		}
		if st.Object.Type != "Activity" || st.Object.ID != p.ActivityID {
			return ruleErr(i, "the object of a cmi5 defined statement must be the AU %s", p.ActivityID)
		}
		judging := st.VerbID == VerbCompleted || st.VerbID == VerbPassed || st.VerbID == VerbFailed
		if judging != moveOnCat {
			if judging {
				return ruleErr(i, "%s must carry the moveon category %s", lastSegment(st.VerbID), CategoryMoveOn)
			}
			return ruleErr(i, "only completed, passed and failed may carry the moveon category")
		}
		if judging && sess.LaunchMode != ModeNormal {
			return ruleErr(i, "in %s mode an AU may not send %s", sess.LaunchMode, lastSegment(st.VerbID))
		}
		if st.VerbID != VerbInitialized && state != StateInitialized {
			return ruleErr(i, "the first statement of a session must be initialized")
		}
		// cmi5 §9.5.1-9.5.3: score and success only on passed and failed,
		// completion only on completed.
		res := v.result()
		if _, ok := res["score"]; ok && st.VerbID != VerbPassed && st.VerbID != VerbFailed {
			return ruleErr(i, "only passed and failed may carry result.score")
		}
		if _, ok := res["success"]; ok && st.VerbID != VerbPassed && st.VerbID != VerbFailed {
			return ruleErr(i, "only passed and failed may carry result.success")
		}
		if _, ok := res["completion"]; ok && st.VerbID != VerbCompleted {
			return ruleErr(i, "only completed may carry result.completion")
		}
		switch st.VerbID {
		case VerbInitialized:
			if state != StateLaunched {
				return ruleErr(i, "initialized was already sent in this session")
			}
			state = StateInitialized
		case VerbCompleted:
			if sessCompleted || regCompleted {
				return ruleErr(i, "completed was already sent for this AU in this registration")
			}
			if c, ok := v.boolResult("completion"); !ok || !c {
				return ruleErr(i, "completed must have result.completion true")
			}
			sessCompleted = true
		case VerbPassed, VerbFailed:
			pass := st.VerbID == VerbPassed
			if sessPassed || sessFailed {
				return ruleErr(i, "a session may have only one passed or failed statement")
			}
			if pass && regPassed {
				return ruleErr(i, "passed was already sent for this AU in this registration")
			}
			if !pass && regPassed {
				return ruleErr(i, "failed may not follow passed in a registration")
			}
			if ok, has := v.boolResult("success"); !has || ok != pass {
				return ruleErr(i, "%s must have result.success %v", lastSegment(st.VerbID), pass)
			}
			if sess.MasteryScore != nil {
				sc, has := v.scaled()
				if !has {
					return ruleErr(i, "%s must give result.score.scaled because the AU has a mastery score", lastSegment(st.VerbID))
				}
				if pass && sc < *sess.MasteryScore {
					return ruleErr(i, "passed needs result.score.scaled at least the mastery score %v", *sess.MasteryScore)
				}
				if !pass && sc >= *sess.MasteryScore {
					return ruleErr(i, "failed needs result.score.scaled below the mastery score %v", *sess.MasteryScore)
				}
			}
			if pass {
				sessPassed, regPassed = true, true
			} else {
				sessFailed = true
			}
		case VerbTerminated:
			state = StateTerminated
		}
	}
	return nil
}

func lastSegment(iri string) string {
	if i := strings.LastIndexAny(iri, "/#"); i >= 0 {
		return iri[i+1:]
	}
	return iri
}

// Stored follows a batch the LRS has stored after Check passed it: it
// moves the session on, records completion, results and time, and sends
// satisfied statements when moveOn is met.
func (s *Service) Stored(ctx context.Context, p auth.Principal, stmts []*lrs.Statement) error {
	if p.Kind != auth.KindLaunch {
		return nil
	}
	sess, err := s.st.session(ctx, p.SessionID)
	if errs.Is(err, errs.NotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	from := sess.State
	now := s.now().UTC()
	sess.LastSeenAt = now
	judged := false
	for _, st := range stmts {
		v := stmtView{st}
		// cmi5 AUs mark their defined statements; tincan content has no
		// such category, so its verbs about the AU itself count.
		if st.Object.ID != p.ActivityID || (sess.Kind == "cmi5" && !v.hasCategory(CategoryCMI5)) {
			continue
		}
		switch st.VerbID {
		case VerbInitialized:
			sess.State = StateInitialized
		case VerbCompleted:
			sess.Completed, judged = true, true
			if _, err := s.st.markAU(ctx, sess.RegistrationID, sess.AUID, "completed_at", now); err != nil {
				return err
			}
		case VerbPassed, VerbFailed:
			col := "failed_at"
			if st.VerbID == VerbPassed {
				col, sess.Passed = "passed_at", true
			} else {
				sess.Failed = true
			}
			judged = true
			if _, err := s.st.markAU(ctx, sess.RegistrationID, sess.AUID, col, now); err != nil {
				return err
			}
			if sc, ok := v.scaled(); ok {
				if err := s.st.setScore(ctx, sess.RegistrationID, sess.AUID, sc); err != nil {
					return err
				}
			}
		case VerbTerminated:
			sess.State = StateTerminated
			sess.EndedAt = &now
			secs := now.Sub(sess.LaunchedAt).Seconds()
			if d, ok := parseDuration(v.duration()); ok {
				secs = d
			}
			sess.Seconds = secs
		}
	}
	ok, err := s.st.updateSession(ctx, sess, from)
	if err != nil {
		return err
	}
	if ok && sess.State == StateTerminated {
		if err := s.st.addSeconds(ctx, sess.RegistrationID, sess.AUID, sess.Seconds); err != nil {
			return err
		}
		_ = s.auth.RevokeToken(ctx, sess.TokenID, s.opts.TokenTTL)
	}
	if judged {
		reg, err := s.st.registration(ctx, sess.BoroughID, sess.RegistrationID)
		if err != nil {
			return err
		}
		return s.evaluate(ctx, reg, sess.AUID, sess.ID)
	}
	return nil
}

// Lock serialises the statement writes of one launch session across
// replicas (a kv lock, in Redis in production), so two batches sent at
// once cannot both pass a once-only rule before either is stored. The
// returned func releases it. Principals that are not launch tokens get a
// no-op lock.
func (s *Service) Lock(ctx context.Context, p auth.Principal) (func(), error) {
	if p.Kind != auth.KindLaunch || p.SessionID == "" {
		return func() {}, nil
	}
	key := "cmi5-session-lock:" + p.SessionID
	deadline := time.Now().Add(5 * time.Second)
	for {
		ok, err := s.kv.SetNX(ctx, key, []byte("1"), 15*time.Second)
		if err != nil {
			return nil, errs.Wrap(errs.Unavailable, err, "the session lock is unavailable; try again")
		}
		if ok {
			// Release with a fresh context: the request's may be done.
			return func() { _ = s.kv.Delete(context.WithoutCancel(ctx), key) }, nil
		}
		if time.Now().After(deadline) {
			return nil, errs.E(errs.Conflict, "another request of this session is still being recorded; try again")
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// StatementRules is the cmi5 statement rules as a hook of the LRS
// (lrs.StatementHook): every batch stored with a launch token of a
// session of this LMS is checked against its session before the LRS
// stores it, and followed after. Statements written with other
// credentials, and launch tokens of sessions this LMS did not start
// (SCORM attempts, whose room keeps its own rules), pass untouched.
type StatementRules struct{ s *Service }

// StatementRules returns the hook the composition root gives the LRS.
func (s *Service) StatementRules() StatementRules { return StatementRules{s} }

var _ lrs.StatementHook = StatementRules{}

// Before takes the session's lock and applies Check; the lock is held
// until the LRS has stored the batch and After has followed it, so two
// batches sent at once cannot both pass a once-only rule.
func (r StatementRules) Before(ctx context.Context, p auth.Principal, stmts []*lrs.Statement) (func(), error) {
	if p.Kind != auth.KindLaunch || p.SessionID == "" {
		return nil, nil
	}
	if _, err := r.s.st.session(ctx, p.SessionID); errs.Is(err, errs.NotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	unlock, err := r.s.Lock(ctx, p)
	if err != nil {
		return nil, err
	}
	if err := r.s.Check(ctx, p, stmts); err != nil {
		unlock()
		return nil, err
	}
	return unlock, nil
}

// After applies Stored. The statements are stored by then and the
// session bookkeeping can be redone, so a failure is logged and the AU
// still gets its answer.
func (r StatementRules) After(ctx context.Context, p auth.Principal, stmts []*lrs.Statement) {
	if p.Kind != auth.KindLaunch {
		return
	}
	if err := r.s.Stored(ctx, p, stmts); err != nil {
		r.s.log.Error("following cmi5 statements failed", "err", err, "session", p.SessionID)
	}
}
