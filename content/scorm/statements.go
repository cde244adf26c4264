package scorm

import (
	"context"
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/lrs"
)

// The IRIs of ADL's xAPI SCORM Profile.
const (
	ProfileIRI       = "http://adlnet.gov/xapi/profile/scorm"
	TypeCourse       = "http://adlnet.gov/expapi/activities/course"
	TypeLesson       = "http://adlnet.gov/expapi/activities/lesson"
	TypeAttempt      = "http://adlnet.gov/expapi/activities/attempt"
	TypeInteraction  = "http://adlnet.gov/expapi/activities/interaction"
	TypeObjective    = "http://adlnet.gov/expapi/activities/objective"
	VerbInitialized  = "http://adlnet.gov/expapi/verbs/initialized"
	VerbResumed      = "http://adlnet.gov/expapi/verbs/resumed"
	VerbSuspended    = "http://adlnet.gov/expapi/verbs/suspended"
	VerbTerminated   = "http://adlnet.gov/expapi/verbs/terminated"
	VerbCompleted    = "http://adlnet.gov/expapi/verbs/completed"
	VerbPassed       = "http://adlnet.gov/expapi/verbs/passed"
	VerbFailed       = "http://adlnet.gov/expapi/verbs/failed"
	VerbAnswered     = "http://adlnet.gov/expapi/verbs/answered"
	verbDisplayLang  = "en-US"
	attemptIRIMarker = "?attemptId="
)

// AttemptIRI is the attempt activity's id: the SCO's IRI with the attempt
// id as the profile's attemptId parameter.
func (a Attempt) AttemptIRI() string { return a.Meta.SCOIRI + attemptIRIMarker + a.ID }

// statements are the xAPI statements that the change from prev to a.CMI
// under event means, in the order they happened: the session's start,
// answered interactions, completion, success, and the session's end.
func (s *Service) statements(old, a Attempt, event Event, prev CMI) ([]map[string]any, error) {
	var out []map[string]any
	now := a.UpdatedAt.Format("2006-01-02T15:04:05.000Z")
	add := func(verb string, object map[string]any, result map[string]any, parent bool) {
		st := map[string]any{
			"id":        uuid.NewString(),
			"actor":     json.RawMessage(a.Learner),
			"verb":      map[string]any{"id": verb, "display": map[string]string{verbDisplayLang: verbName(verb)}},
			"object":    object,
			"context":   s.context(a, parent),
			"timestamp": now,
		}
		if len(result) > 0 {
			st["result"] = result
		}
		out = append(out, st)
	}
	sco := s.scoActivity(a)
	if event == EventInitialize && old.SessionState == sessionLaunched {
		if a.Entry == "resume" {
			add(VerbResumed, sco, nil, false)
		} else {
			add(VerbInitialized, sco, nil, false)
		}
	}
	for _, i := range changedInteractions(a.Version, prev, a.CMI) {
		add(VerbAnswered, s.interactionActivity(a, i), interactionResult(a.Version, a.CMI, i), true)
	}
	for _, ch := range changedObjectives(a.Version, prev, a.CMI) {
		add(ch.verb, s.objectiveActivity(a, ch.index), ch.result, true)
	}
	completion, success := statusOf(a.Version, a.Meta, a.CMI)
	oldCompletion, oldSuccess := statusOf(a.Version, a.Meta, prev)
	if completion == "completed" && oldCompletion != "completed" {
		r := scoreResult(a.Version, a.CMI)
		r["completion"] = true
		add(VerbCompleted, sco, r, false)
	}
	if (success == "passed" || success == "failed") && success != oldSuccess {
		r := scoreResult(a.Version, a.CMI)
		r["success"] = success == "passed"
		if completion == "completed" {
			r["completion"] = true
		}
		verb := VerbPassed
		if success == "failed" {
			verb = VerbFailed
		}
		add(verb, sco, r, false)
	}
	if (event == EventTerminate || event == EventUnload) && old.SessionState != sessionEnded {
		r := overallResult(a.Version, a.Meta, a.CMI)
		// An unload may have said suspended already; a Terminate that
		// follows it in the same session does not say it again.
		saidSuspended := old.SessionState == sessionUnloaded && old.Status == StatusSuspended
		switch {
		case a.Status == StatusSuspended && !saidSuspended:
			add(VerbSuspended, sco, r, false)
		case a.Status == StatusFinished && event == EventTerminate:
			add(VerbTerminated, sco, r, false)
		}
	}
	return out, nil
}

func verbName(iri string) string { return iri[strings.LastIndexByte(iri, '/')+1:] }

func langMap(s string) map[string]string { return map[string]string{verbDisplayLang: s} }

func (s *Service) scoActivity(a Attempt) map[string]any {
	def := map[string]any{"type": TypeLesson}
	if a.Meta.SCOTitle != "" {
		def["name"] = langMap(a.Meta.SCOTitle)
	}
	return map[string]any{"objectType": "Activity", "id": a.Meta.SCOIRI, "definition": def}
}

// context is the profile's context: the registration; the course and the
// attempt as grouping; the SCO as parent of statements about something in
// it; the profile as category.
func (s *Service) context(a Attempt, withParent bool) map[string]any {
	course := map[string]any{"id": a.Meta.CourseIRI, "definition": map[string]any{"type": TypeCourse}}
	if a.Meta.CourseTitle != "" {
		course["definition"].(map[string]any)["name"] = langMap(a.Meta.CourseTitle)
	}
	attemptName := "Attempt " + strconv.Itoa(a.Number)
	if a.Meta.SCOTitle != "" {
		attemptName += " of " + a.Meta.SCOTitle
	}
	attempt := map[string]any{"id": a.AttemptIRI(), "definition": map[string]any{"type": TypeAttempt, "name": langMap(attemptName)}}
	ca := map[string]any{
		"grouping": []any{course, attempt},
		"category": []any{map[string]any{"id": ProfileIRI}},
	}
	if withParent {
		ca["parent"] = []any{s.scoActivity(a)}
	}
	return map[string]any{"registration": a.Registration, "contextActivities": ca}
}

// statusOf returns the completion and success status the data model
// holds. In SCORM 2004 the LMS, not the SCO, decides them when the package
// gives a completion threshold or passing score and the SCO reported a
// progress measure or scaled score (SCORM 2004 RTE 4.2.4.1 and 4.2.22.1).
func statusOf(v Version, m Meta, c CMI) (completion, success string) {
	if v == V12 {
		switch st := c["cmi.core.lesson_status"]; st {
		case "passed", "failed":
			return "completed", st
		case "completed", "incomplete":
			return st, ""
		}
		return "", ""
	}
	completion, success = c["cmi.completion_status"], c["cmi.success_status"]
	if m.CompletionThreshold != nil {
		if pm, err := parseReal(c["cmi.progress_measure"]); err == nil {
			completion = "incomplete"
			if pm >= *m.CompletionThreshold {
				completion = "completed"
			}
		}
	}
	if m.MasteryScore != nil {
		if sc, err := parseReal(c["cmi.score.scaled"]); err == nil {
			success = "failed"
			if sc >= *m.MasteryScore {
				success = "passed"
			}
		}
	}
	return completion, success
}

// scoreResult is result.score from the SCO's score: scaled from
// cmi.score.scaled (2004) or score.raw over its range, or over 100 when
// no range is given (1.2), as the profile asks; raw, min and max as given
// when they are consistent.
func scoreResult(v Version, c CMI) map[string]any {
	prefix := "cmi.score."
	if v == V12 {
		prefix = "cmi.core.score."
	}
	num := func(k string) (float64, bool) {
		f, err := parseReal(c[prefix+k])
		return f, err == nil
	}
	score := map[string]any{}
	raw, hasRaw := num("raw")
	lo, hasMin := num("min")
	hi, hasMax := num("max")
	if scaled, ok := num("scaled"); ok && v == V2004 {
		score["scaled"] = scaled
	} else if hasRaw && v == V12 {
		switch {
		case hasMin && hasMax && hi > lo:
			score["scaled"] = roundTo((raw-lo)/(hi-lo), 4)
		default:
			score["scaled"] = roundTo(raw/100, 4)
		}
		if sc := score["scaled"].(float64); sc < -1 || sc > 1 {
			delete(score, "scaled")
		}
	}
	if hasRaw && (!hasMin || raw >= lo) && (!hasMax || raw <= hi) {
		score["raw"] = raw
		if hasMin {
			score["min"] = lo
		}
		if hasMax && (!hasMin || hi > lo) {
			score["max"] = hi
		}
	}
	r := map[string]any{}
	if len(score) > 0 {
		r["score"] = score
	}
	return r
}

func roundTo(f float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(f*p) / p
}

// overallResult is the result of a terminated or suspended statement: the
// SCO's success, completion, score and the session's duration.
func overallResult(v Version, m Meta, c CMI) map[string]any {
	r := scoreResult(v, c)
	completion, success := statusOf(v, m, c)
	switch completion {
	case "completed":
		r["completion"] = true
	case "incomplete":
		r["completion"] = false
	}
	switch success {
	case "passed":
		r["success"] = true
	case "failed":
		r["success"] = false
	}
	if sec := sessionSeconds(v, c); sec > 0 {
		r["duration"] = formatInterval(sec)
	}
	return r
}

// changedInteractions lists the interactions whose response or result the
// commit set or changed.
func changedInteractions(v Version, prev, cur CMI) []int {
	var out []int
	for i := 0; i < cur.Count("cmi.interactions"); i++ {
		p := "cmi.interactions." + strconv.Itoa(i) + "."
		if cur[p+"id"] == "" {
			continue
		}
		resp := responseKey(v)
		if cur[p+resp] == "" && cur[p+"result"] == "" {
			continue
		}
		if cur[p+resp] != prev[p+resp] || cur[p+"result"] != prev[p+"result"] || cur[p+"id"] != prev[p+"id"] {
			out = append(out, i)
		}
	}
	return out
}

// objectiveChange is an objective whose status the commit changed.
type objectiveChange struct {
	index  int
	verb   string
	result map[string]any
}

// changedObjectives lists the objectives the commit completed, passed or
// failed, as the profile reports them: a statement about the objective
// activity, with the SCO as parent.
func changedObjectives(v Version, prev, cur CMI) []objectiveChange {
	var out []objectiveChange
	for i := 0; i < cur.Count("cmi.objectives"); i++ {
		p := "cmi.objectives." + strconv.Itoa(i) + "."
		if cur[p+"id"] == "" {
			continue
		}
		score := objectiveScore(v, cur, p)
		if v == V12 {
			st := cur[p+"status"]
			if st == prev[p+"status"] {
				continue
			}
			switch st {
			case "passed", "failed":
				r := map[string]any{"success": st == "passed"}
				if score != nil {
					r["score"] = score
				}
				out = append(out, objectiveChange{i, map[bool]string{true: VerbPassed, false: VerbFailed}[st == "passed"], r})
			case "completed":
				out = append(out, objectiveChange{i, VerbCompleted, map[string]any{"completion": true}})
			}
			continue
		}
		if st := cur[p+"completion_status"]; st == "completed" && prev[p+"completion_status"] != st {
			out = append(out, objectiveChange{i, VerbCompleted, map[string]any{"completion": true}})
		}
		if st := cur[p+"success_status"]; (st == "passed" || st == "failed") && prev[p+"success_status"] != st {
			r := map[string]any{"success": st == "passed"}
			if score != nil {
				r["score"] = score
			}
			out = append(out, objectiveChange{i, map[bool]string{true: VerbPassed, false: VerbFailed}[st == "passed"], r})
		}
	}
	return out
}

// objectiveScore is an objective's score in xAPI form, or nil.
func objectiveScore(v Version, c CMI, prefix string) map[string]any {
	sub := CMI{}
	core := "cmi.score."
	if v == V12 {
		core = "cmi.core.score."
	}
	for _, k := range []string{"scaled", "raw", "min", "max"} {
		if val, ok := c[prefix+"score."+k]; ok {
			sub[core+k] = val
		}
	}
	if sc, ok := scoreResult(v, sub)["score"].(map[string]any); ok {
		return sc
	}
	return nil
}

// objectiveActivity is a SCO-local objective as an activity
// (<SCO IRI>/objectives/<id>, as the profile recommends).
func (s *Service) objectiveActivity(a Attempt, i int) map[string]any {
	id := a.CMI["cmi.objectives."+strconv.Itoa(i)+".id"]
	def := map[string]any{"type": TypeObjective, "name": langMap(id)}
	if d := a.CMI["cmi.objectives."+strconv.Itoa(i)+".description"]; d != "" {
		def["description"] = langMap(stripLang(d))
	}
	return map[string]any{"objectType": "Activity", "id": a.Meta.SCOIRI + "/objectives/" + iriSegment(id), "definition": def}
}

func responseKey(v Version) string {
	if v == V12 {
		return "student_response"
	}
	return "learner_response"
}

// interactionActivity is the interaction as an xAPI activity with the
// interaction definition (type and correct responses) the SCO gave.
func (s *Service) interactionActivity(a Attempt, i int) map[string]any {
	c := a.CMI
	p := "cmi.interactions." + strconv.Itoa(i) + "."
	id := c[p+"id"]
	typ := c[p+"type"]
	def := map[string]any{"type": TypeInteraction}
	if desc := c[p+"description"]; desc != "" {
		def["description"] = langMap(stripLang(desc))
		def["name"] = langMap(stripLang(desc))
	} else {
		def["name"] = langMap(id)
	}
	if typ != "" {
		def["interactionType"] = typ
		var patterns []string
		for j := 0; j < c.Count(p+"correct_responses"); j++ {
			patterns = append(patterns, xapiResponse(a.Version, typ, c[p+"correct_responses."+strconv.Itoa(j)+".pattern"]))
		}
		if len(patterns) > 0 {
			def["correctResponsesPattern"] = patterns
		}
	}
	return map[string]any{"objectType": "Activity", "id": a.Meta.SCOIRI + "/interactions/" + iriSegment(id), "definition": def}
}

func stripLang(s string) string {
	if m := langPrefixRE.FindStringSubmatch(s); m != nil {
		return s[len(m[0]):]
	}
	return s
}

// xapiResponse converts a SCORM response or pattern to xAPI's format.
// SCORM 2004 already uses xAPI's "[,]" and "[.]" delimiters; SCORM 1.2
// separates choices and sequence steps with commas and matching pairs
// with dots.
func xapiResponse(v Version, typ, s string) string {
	if v != V12 {
		return s
	}
	switch typ {
	case "choice", "sequencing":
		return strings.ReplaceAll(s, ",", "[,]")
	case "matching":
		pairs := strings.Split(s, ",")
		for i, p := range pairs {
			pairs[i] = strings.Replace(p, ".", "[.]", 1)
		}
		return strings.Join(pairs, "[,]")
	case "true-false":
		switch s {
		case "t", "1":
			return "true"
		case "f", "0":
			return "false"
		}
	}
	return s
}

func interactionResult(v Version, c CMI, i int) map[string]any {
	p := "cmi.interactions." + strconv.Itoa(i) + "."
	r := map[string]any{}
	if resp := c[p+responseKey(v)]; resp != "" {
		r["response"] = xapiResponse(v, c[p+"type"], resp)
	}
	switch c[p+"result"] {
	case "correct":
		r["success"] = true
	case "incorrect", "wrong":
		r["success"] = false
	}
	var sec float64
	var ok bool
	if v == V12 {
		sec, ok = parseTimespan12(c[p+"latency"])
	} else {
		sec, ok = parseInterval(c[p+"latency"])
	}
	if ok {
		r["duration"] = formatInterval(sec)
	}
	return r
}

// parse checks the statements as the LRS will, before anything is stored.
func parse(stmts []map[string]any) ([]*lrs.Statement, error) {
	if len(stmts) == 0 {
		return nil, nil
	}
	body, err := json.Marshal(stmts)
	if err != nil {
		return nil, err
	}
	parsed, err := lrs.ParseStatements(body, lrs.V103)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "SCORM statements did not validate: %s", errs.MessageOf(err))
	}
	return parsed, nil
}

// record stores the statements in the borough's LRS. The authority is the
// player's (the launch token's), so reports can tell tracker statements
// from others; the token itself carries no xAPI write scope, so content
// cannot write statements with it directly.
func (s *Service) record(ctx context.Context, p auth.Principal, stmts []*lrs.Statement) error {
	writer := p
	writer.Scopes = []auth.Scope{auth.ScopeStatementsWrite}
	_, err := s.opts.Statements.Store(ctx, writer, stmts, nil, lrs.V103)
	return err
}
