package scorm

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/errs"
)

// Event says why the player committed.
type Event string

// The commit events.
const (
	// EventInitialize: the SCO called Initialize / LMSInitialize.
	EventInitialize Event = "initialize"
	// EventCommit: the SCO called Commit / LMSCommit.
	EventCommit Event = "commit"
	// EventTerminate: the SCO called Terminate / LMSFinish.
	EventTerminate Event = "terminate"
	// EventUnload: the player window is going away (tab closed, another
	// SCO chosen) and sends what the SCO set since its last commit.
	EventUnload Event = "unload"
)

// Commit is one request from the player.
type Commit struct {
	Event Event
	// Values are the SetValue calls since the last commit the player saw
	// acknowledged, in order.
	Values []SetValue
	// Seq numbers the commit within its session, from 1 up; 0 leaves it
	// unnumbered (always applied). The player sends a commit with a number
	// at most once per content and may send it again, and a later commit
	// carries every value of the earlier ones it has not seen acknowledged,
	// so a commit numbered at or below the attempt's CommitSeq is already
	// applied or superseded: it is acknowledged and not applied again. That
	// makes a replay harmless and an out-of-order delivery (keepalive
	// requests sent together as the page goes away) unable to take the
	// data back in time.
	Seq int64
}

// Committed is the outcome of a commit.
type Committed struct {
	// Attempt is the attempt after the commit.
	Attempt Attempt
	// Applied is false when the commit's Seq was not above the attempt's
	// CommitSeq, so it changed nothing.
	Applied bool
}

// MaxValues bounds one commit; a SCO sets far fewer between commits.
const MaxValues = 5000

// Commit validates and stores what the SCO set, moves the attempt along
// for the event, and records the xAPI statements the change means in the
// LRS, all before it answers. A bad element or value fails the whole
// commit with an Invalid error naming it and stores nothing.
func (s *Service) Commit(ctx context.Context, p auth.Principal, attemptID string, c Commit) (Committed, error) {
	switch c.Event {
	case EventInitialize, EventCommit, EventTerminate, EventUnload:
	default:
		return Committed{}, errs.E(errs.Invalid, "event %q is not one of initialize, commit, terminate, unload", c.Event)
	}
	if len(c.Values) > MaxValues {
		return Committed{}, errs.E(errs.TooLarge, "a commit may carry at most %d values", MaxValues)
	}
	if c.Seq < 0 {
		return Committed{}, errs.E(errs.Invalid, "seq must be a positive commit number (or absent)")
	}
	for try := 0; ; try++ {
		a, err := s.commitOnce(ctx, p, attemptID, c)
		if err == nil || try == 3 || !errs.Is(err, errs.Conflict) || errs.MessageOf(err) == errReplaced {
			return a, err
		}
	}
}

const errReplaced = "this player session was replaced by a newer launch of the same attempt; its data was not stored"

func (s *Service) commitOnce(ctx context.Context, p auth.Principal, attemptID string, c Commit) (Committed, error) {
	old, err := s.Attempt(ctx, p, attemptID)
	if err != nil {
		return Committed{}, err
	}
	if p.SessionID != old.SessionID {
		return Committed{}, errs.E(errs.Conflict, errReplaced)
	}
	if c.Seq > 0 && c.Seq <= old.CommitSeq {
		// Already applied, or superseded by a later commit that carried
		// its values: acknowledge it and change nothing.
		return Committed{Attempt: old}, nil
	}
	a, err := s.apply(ctx, p, old, c)
	return Committed{Attempt: a, Applied: err == nil}, err
}

// apply stores commit c on attempt old and records what it means.
func (s *Service) apply(ctx context.Context, p auth.Principal, old Attempt, c Commit) (Attempt, error) {
	ended := old.SessionState == sessionEnded && (c.Event != EventUnload || len(c.Values) > 0)
	unloaded := old.SessionState == sessionUnloaded && (c.Event == EventInitialize || c.Event == EventCommit)
	if ended || unloaded {
		return Attempt{}, errs.E(errs.Invalid, "this session has terminated; launch the attempt again to continue")
	}
	cmi, err := old.CMI.Apply(old.Version, c.Values)
	if err != nil {
		return Attempt{}, err
	}
	a := old
	a.CMI = cmi
	a.UpdatedAt = s.now().UTC()
	if c.Seq > 0 {
		a.CommitSeq = c.Seq
	}
	prev := old.CMI
	switch c.Event {
	case EventInitialize:
		if a.SessionState == sessionLaunched {
			a.SessionState = sessionInitialized
		}
	case EventTerminate:
		s.endSession(old, &a, true)
	case EventUnload:
		if a.SessionState == sessionEnded {
			// Terminate already ended the session; nothing more to do.
			return old, nil
		}
		s.endSession(old, &a, false)
	}
	built, err := s.statements(old, a, c.Event, prev)
	if err != nil {
		return Attempt{}, err
	}
	stmts, err := parse(built)
	if err != nil {
		return Attempt{}, err
	}
	if err := s.update(ctx, a); err != nil {
		return Attempt{}, err
	}
	if len(stmts) > 0 {
		if err := s.record(ctx, p, stmts); err != nil {
			return Attempt{}, err
		}
	}
	// The profile's State documents: the attempt joins the SCO's list when
	// it is first initialized; its state follows every commit.
	if c.Event == EventInitialize && old.SessionState == sessionLaunched && a.Entry == "ab-initio" {
		if err := s.recordAttemptStart(ctx, a); err != nil {
			return Attempt{}, err
		}
	}
	if c.Event != EventInitialize {
		if err := s.recordAttemptState(ctx, a); err != nil {
			return Attempt{}, err
		}
	}
	if s.opts.OnOutcome != nil {
		if err := s.reportOutcome(ctx, old, a); err != nil {
			s.opts.Logger.ErrorContext(ctx, "SCORM outcome not recorded", "attempt", a.ID, "err", err)
		}
	}
	a.seq++
	return a, nil
}

// reportOutcome tells OnOutcome where the attempt's module stands. A
// module played by a multi-SCO package stands where all its SCOs do: it is
// completed when each SCO's latest attempt is, failed when one failed,
// passed when none failed and those that judge success passed, and its
// score is the mean of the scaled scores given.
func (s *Service) reportOutcome(ctx context.Context, old, a Attempt) error {
	o := outcomeOf(old, a)
	if len(a.Meta.SCOs) > 1 {
		all, err := s.Attempts(ctx, a.BoroughID, a.Registration)
		if err != nil {
			return err
		}
		latest := map[string]Attempt{}
		for _, x := range all {
			if x.PackageID != a.PackageID {
				continue
			}
			if x.ID == a.ID {
				x = a
			}
			if cur, ok := latest[x.SCOID]; !ok || x.Number > cur.Number {
				latest[x.SCOID] = x
			}
		}
		o = moduleOutcome(a.Meta.SCOs, latest, o.Seconds)
	}
	return s.opts.OnOutcome(ctx, a, o)
}

// moduleOutcome combines the latest attempts of a package's SCOs.
func moduleOutcome(scos []string, latest map[string]Attempt, seconds float64) Outcome {
	o := Outcome{Completed: true, Seconds: seconds}
	var sum float64
	var scored, passed int
	for _, id := range scos {
		x, ok := latest[id]
		if !ok {
			o.Completed = false
			continue
		}
		xo := outcomeOf(x, x)
		o.Completed = o.Completed && xo.Completed
		o.Failed = o.Failed || xo.Failed
		if xo.Passed {
			passed++
		}
		if xo.Score != nil {
			sum += *xo.Score
			scored++
		}
	}
	o.Passed = !o.Failed && passed > 0 && o.Completed
	if scored > 0 {
		mean := roundTo(sum/float64(scored), 4)
		o.Score = &mean
	}
	return o
}

// outcomeOf is the attempt's outcome after a commit that moved it from old.
func outcomeOf(old, a Attempt) Outcome {
	completion, success := statusOf(a.Version, a.Meta, a.CMI)
	o := Outcome{Completed: completion == "completed", Passed: success == "passed", Failed: success == "failed"}
	if sc, ok := scoreResult(a.Version, a.CMI)["score"].(map[string]any); ok {
		if f, ok := sc["scaled"].(float64); ok {
			o.Score = &f
		}
	}
	if a.TotalSeconds > old.TotalSeconds {
		o.Seconds = a.TotalSeconds - old.TotalSeconds
	}
	return o
}

// endSession adds the session's time to the attempt's total and sets the
// attempt's status from cmi.exit. A window that closed without Terminate
// leaves the attempt active (resumable) unless the SCO asked to suspend.
// After an unload, a late Terminate (or unload) of the same session
// replaces the session time the unload counted.
func (s *Service) endSession(old Attempt, a *Attempt, terminated bool) {
	if old.SessionState == sessionUnloaded {
		a.TotalSeconds -= sessionSeconds(old.Version, old.CMI)
	}
	a.SessionState = sessionUnloaded
	if terminated {
		a.SessionState = sessionEnded
		if a.Version == V12 {
			defaultStatus12(a)
		}
	}
	a.TotalSeconds += sessionSeconds(a.Version, a.CMI)
	exit := a.CMI.exit(a.Version)
	switch {
	case exit == "suspend":
		a.Status = StatusSuspended
	case terminated:
		a.Status = StatusFinished
	default:
		a.Status = StatusActive
	}
}

// defaultStatus12 applies SCORM 1.2's rule for a SCO that never set its
// status (SCORM 1.2 RTE 3.4.4, cmi.core.lesson_status): at LMSFinish the
// LMS sets "completed", and then, if the package gives a mastery score and
// the SCO reported a raw score, "passed" or "failed". Reach applies it at
// LMSFinish only, not when the window closes, since a SCO may still set
// its status in its own unload handler after the player's unload commit,
// and not when the SCO suspends.
func defaultStatus12(a *Attempt) {
	// A SCO that suspends means to come back; it is not completed yet.
	if a.CMI["cmi.core.lesson_status"] != "" || a.CMI["cmi.core.exit"] == "suspend" {
		return
	}
	a.CMI["cmi.core.lesson_status"] = "completed"
	raw, err := parseReal(a.CMI["cmi.core.score.raw"])
	if a.Meta.MasteryScore == nil || err != nil {
		return
	}
	if raw >= *a.Meta.MasteryScore*100 {
		a.CMI["cmi.core.lesson_status"] = "passed"
	} else {
		a.CMI["cmi.core.lesson_status"] = "failed"
	}
}

func (c CMI) exit(v Version) string {
	if v == V12 {
		return c["cmi.core.exit"]
	}
	return c["cmi.exit"]
}

func sessionSeconds(v Version, c CMI) float64 {
	if v == V12 {
		f, _ := parseTimespan12(c["cmi.core.session_time"])
		return f
	}
	f, _ := parseInterval(c["cmi.session_time"])
	return f
}

// parseTimespan12 reads a SCORM 1.2 CMITimespan (HHHH:MM:SS.SS) in seconds.
func parseTimespan12(v string) (float64, bool) {
	if !timespan12RE.MatchString(v) {
		return 0, false
	}
	parts := strings.Split(v, ":")
	h, _ := strconv.Atoi(parts[0])
	m, _ := strconv.Atoi(parts[1])
	sec, _ := strconv.ParseFloat(parts[2], 64)
	return float64(h)*3600 + float64(m)*60 + sec, true
}

var intervalPartRE = regexp.MustCompile(`(\d+(?:\.\d+)?)([YMDHS])`)

// parseInterval reads an ISO 8601 duration in seconds, counting a year as
// 365 days and a month as 30, as SCORM 2004 LMSs commonly do.
func parseInterval(v string) (float64, bool) {
	if interval2004(v) != "" {
		return 0, false
	}
	datePart, timePart, _ := strings.Cut(v[1:], "T")
	total := 0.0
	for _, m := range intervalPartRE.FindAllStringSubmatch(datePart, -1) {
		n, _ := strconv.ParseFloat(m[1], 64)
		switch m[2] {
		case "Y":
			total += n * 365 * 86400
		case "M":
			total += n * 30 * 86400
		case "D":
			total += n * 86400
		}
	}
	for _, m := range intervalPartRE.FindAllStringSubmatch(timePart, -1) {
		n, _ := strconv.ParseFloat(m[1], 64)
		switch m[2] {
		case "H":
			total += n * 3600
		case "M":
			total += n * 60
		case "S":
			total += n
		}
	}
	return total, true
}

// formatTimespan12 writes seconds as a SCORM 1.2 CMITimespan.
func formatTimespan12(sec float64) string {
	cs := int64(math.Round(sec * 100))
	h := cs / 360000
	if h > 9999 {
		h = 9999
	}
	m := cs / 6000 % 60
	s := cs / 100 % 60
	return fmt.Sprintf("%04d:%02d:%02d.%02d", h, m, s, cs%100)
}

// formatInterval writes seconds as an ISO 8601 duration.
func formatInterval(sec float64) string {
	cs := int64(math.Round(sec * 100))
	h := cs / 360000
	m := cs / 6000 % 60
	s := float64(cs%6000) / 100
	return "PT" + strconv.FormatInt(h, 10) + "H" + strconv.FormatInt(m, 10) + "M" + strconv.FormatFloat(s, 'f', -1, 64) + "S"
}

// Runtime is what the player loads into the SCORM API at launch: the
// LMS-set values and the readable values the SCO stored before.
func (a Attempt) Runtime() CMI {
	out := a.CMI.Readable(a.Version)
	m := a.Meta
	if a.Version == V12 {
		out["cmi.core.student_id"] = a.LearnerID
		out["cmi.core.student_name"] = a.LearnerName
		out["cmi.core.credit"] = "credit"
		out["cmi.core.entry"] = a.Entry
		out["cmi.core.lesson_mode"] = "normal"
		out["cmi.core.total_time"] = formatTimespan12(a.TotalSeconds)
		out["cmi.launch_data"] = m.LaunchData
		if _, ok := out["cmi.core.lesson_status"]; !ok {
			out["cmi.core.lesson_status"] = "not attempted"
		}
		if m.MasteryScore != nil {
			out["cmi.student_data.mastery_score"] = strconv.FormatFloat(math.Round(*m.MasteryScore*10000)/100, 'f', -1, 64)
		}
		out["cmi.student_data.max_time_allowed"] = m.MaxTimeAllowed
		out["cmi.student_data.time_limit_action"] = m.TimeLimitAction
		return out
	}
	out["cmi.learner_id"] = a.LearnerID
	out["cmi.learner_name"] = a.LearnerName
	out["cmi.credit"] = "credit"
	out["cmi.entry"] = a.Entry
	out["cmi.mode"] = "normal"
	out["cmi.total_time"] = formatInterval(a.TotalSeconds)
	out["cmi.launch_data"] = m.LaunchData
	if m.MasteryScore != nil {
		out["cmi.scaled_passing_score"] = strconv.FormatFloat(*m.MasteryScore, 'f', -1, 64)
	}
	if m.CompletionThreshold != nil {
		out["cmi.completion_threshold"] = strconv.FormatFloat(*m.CompletionThreshold, 'f', -1, 64)
	}
	out["cmi.max_time_allowed"] = m.MaxTimeAllowed
	out["cmi.time_limit_action"] = m.TimeLimitAction
	return out
}
