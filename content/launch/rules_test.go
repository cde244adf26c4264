package launch

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/lrs"
)

const (
	tReg  = "6f1c2b7e-1f59-4d2e-9b1a-2b8e0c7d9a10"
	tSess = "sess-1"
	tAU   = "https://example.org/course/au1"
)

var tActor = json.RawMessage(`{"account":{"homePage":"https://reach.test","name":"u1"}}`)

// st builds a statement from the session with the given verb, categories
// and result; edit adjusts the JSON tree before parsing.
func st(t *testing.T, verb string, cats []string, result map[string]any, edit ...func(m map[string]any)) *lrs.Statement {
	t.Helper()
	ca := []any{}
	for _, c := range cats {
		ca = append(ca, map[string]any{"id": c})
	}
	m := map[string]any{
		"actor":  json.RawMessage(tActor),
		"verb":   map[string]any{"id": verb},
		"object": map[string]any{"id": tAU},
		"context": map[string]any{"registration": tReg, "contextActivities": map[string]any{"category": ca},
			"extensions": map[string]any{ExtSessionID: tSess}},
	}
	if result != nil {
		m["result"] = result
	}
	for _, e := range edit {
		e(m)
	}
	b, _ := json.Marshal(m)
	s, err := lrs.ParseStatement(b, lrs.V103)
	if err != nil {
		t.Fatalf("test statement: %v", err)
	}
	return s
}

func TestCheckRules(t *testing.T) {
	mastery := 0.7
	cmi5, both := []string{CategoryCMI5}, []string{CategoryCMI5, CategoryMoveOn}
	passRes := func(sc float64) map[string]any {
		return map[string]any{"success": true, "score": map[string]any{"scaled": sc}}
	}
	failRes := func(sc float64) map[string]any {
		return map[string]any{"success": false, "score": map[string]any{"scaled": sc}}
	}
	open := Session{ID: tSess, Kind: "cmi5", AUID: tAU, State: StateInitialized, LaunchMode: ModeNormal, MasteryScore: &mastery}
	fresh := open
	fresh.State = StateLaunched
	browse := open
	browse.LaunchMode = ModeBrowse
	ended := open
	ended.State = StateTerminated
	passedSess := open
	passedSess.Passed = true
	now := time.Now()
	passedReg := AUStatus{PassedAt: &now}
	completedReg := AUStatus{CompletedAt: &now}
	xapiSess := Session{ID: tSess, Kind: "xapi", State: StateLaunched}

	tests := []struct {
		name    string
		sess    Session
		au      AUStatus
		stmts   func(t *testing.T) []*lrs.Statement
		wantErr string // "" when the batch is allowed
	}{
		{"initialized first", fresh, AUStatus{}, func(t *testing.T) []*lrs.Statement {
			return []*lrs.Statement{st(t, VerbInitialized, cmi5, nil)}
		}, ""},
		{"initialized then allowed in one batch", fresh, AUStatus{}, func(t *testing.T) []*lrs.Statement {
			return []*lrs.Statement{st(t, VerbInitialized, cmi5, nil), st(t, "http://adlnet.gov/expapi/verbs/experienced", nil, nil)}
		}, ""},
		{"allowed before initialized", fresh, AUStatus{}, func(t *testing.T) []*lrs.Statement {
			return []*lrs.Statement{st(t, "http://adlnet.gov/expapi/verbs/experienced", nil, nil)}
		}, "first statement of a session must be initialized"},
		{"completed before initialized", fresh, AUStatus{}, func(t *testing.T) []*lrs.Statement {
			return []*lrs.Statement{st(t, VerbCompleted, both, map[string]any{"completion": true})}
		}, "first statement of a session must be initialized"},
		{"initialized twice", open, AUStatus{}, func(t *testing.T) []*lrs.Statement {
			return []*lrs.Statement{st(t, VerbInitialized, cmi5, nil)}
		}, "already sent"},
		{"after terminated", ended, AUStatus{}, func(t *testing.T) []*lrs.Statement {
			return []*lrs.Statement{st(t, "http://adlnet.gov/expapi/verbs/experienced", nil, nil)}
		}, "session has ended"},
		{"terminated then more in one batch", open, AUStatus{}, func(t *testing.T) []*lrs.Statement {
			return []*lrs.Statement{st(t, VerbTerminated, cmi5, nil), st(t, "http://adlnet.gov/expapi/verbs/experienced", nil, nil)}
		}, "session has ended"},
		{"no session id", open, AUStatus{}, func(t *testing.T) []*lrs.Statement {
			return []*lrs.Statement{st(t, "http://adlnet.gov/expapi/verbs/experienced", nil, nil, func(m map[string]any) {
				m["context"].(map[string]any)["extensions"] = map[string]any{}
			})}
		}, "session id"},
		{"other registration", open, AUStatus{}, func(t *testing.T) []*lrs.Statement {
			return []*lrs.Statement{st(t, "http://adlnet.gov/expapi/verbs/experienced", nil, nil, func(m map[string]any) {
				m["context"].(map[string]any)["registration"] = "0b0c2b7e-1f59-4d2e-9b1a-2b8e0c7d9a10"
			})}
		}, "registration"},
		{"other learner", open, AUStatus{}, func(t *testing.T) []*lrs.Statement {
			return []*lrs.Statement{st(t, "http://adlnet.gov/expapi/verbs/experienced", nil, nil, func(m map[string]any) {
				m["actor"] = map[string]any{"mbox": "mailto:x@example.org"}
			})}
		}, "its own learner"},
		{"voiding", open, AUStatus{}, func(t *testing.T) []*lrs.Statement {
			return []*lrs.Statement{st(t, VerbVoided, nil, nil, func(m map[string]any) {
				m["object"] = map[string]any{"objectType": "StatementRef", "id": "6f1c2b7e-1f59-4d2e-9b1a-2b8e0c7d9a11"}
			})}
		}, "may not void"},
		{"LMS verb", open, AUStatus{}, func(t *testing.T) []*lrs.Statement {
			return []*lrs.Statement{st(t, VerbSatisfied, cmi5, nil)}
		}, "only the LMS"},
		{"cmi5 category on an unknown verb", open, AUStatus{}, func(t *testing.T) []*lrs.Statement {
			return []*lrs.Statement{st(t, "http://adlnet.gov/expapi/verbs/experienced", cmi5, nil)}
		}, "cmi5 defined statements"},
		{"defined statement about another activity", open, AUStatus{}, func(t *testing.T) []*lrs.Statement {
			return []*lrs.Statement{st(t, VerbCompleted, both, map[string]any{"completion": true}, func(m map[string]any) {
				m["object"] = map[string]any{"id": "https://example.org/other"}
			})}
		}, "must be the AU"},
		{"completed", open, AUStatus{}, func(t *testing.T) []*lrs.Statement {
			return []*lrs.Statement{st(t, VerbCompleted, both, map[string]any{"completion": true})}
		}, ""},
		{"completed without moveon", open, AUStatus{}, func(t *testing.T) []*lrs.Statement {
			return []*lrs.Statement{st(t, VerbCompleted, cmi5, map[string]any{"completion": true})}
		}, "moveon category"},
		{"moveon on an allowed statement", open, AUStatus{}, func(t *testing.T) []*lrs.Statement {
			return []*lrs.Statement{st(t, "http://adlnet.gov/expapi/verbs/experienced", []string{CategoryMoveOn}, nil)}
		}, "moveon category"},
		{"completed without completion", open, AUStatus{}, func(t *testing.T) []*lrs.Statement {
			return []*lrs.Statement{st(t, VerbCompleted, both, nil)}
		}, "result.completion"},
		{"completed again in the registration", open, completedReg, func(t *testing.T) []*lrs.Statement {
			return []*lrs.Statement{st(t, VerbCompleted, both, map[string]any{"completion": true})}
		}, "already sent"},
		{"completed in Browse mode", browse, AUStatus{}, func(t *testing.T) []*lrs.Statement {
			return []*lrs.Statement{st(t, VerbCompleted, both, map[string]any{"completion": true})}
		}, "Browse mode"},
		{"passed at mastery", open, AUStatus{}, func(t *testing.T) []*lrs.Statement {
			return []*lrs.Statement{st(t, VerbPassed, both, passRes(0.7))}
		}, ""},
		{"passed below mastery", open, AUStatus{}, func(t *testing.T) []*lrs.Statement {
			return []*lrs.Statement{st(t, VerbPassed, both, passRes(0.69))}
		}, "at least the mastery score"},
		{"passed without a score", open, AUStatus{}, func(t *testing.T) []*lrs.Statement {
			return []*lrs.Statement{st(t, VerbPassed, both, map[string]any{"success": true})}
		}, "score.scaled"},
		{"passed with success false", open, AUStatus{}, func(t *testing.T) []*lrs.Statement {
			return []*lrs.Statement{st(t, VerbPassed, both, map[string]any{"success": false, "score": map[string]any{"scaled": 0.9}})}
		}, "result.success true"},
		{"failed above mastery", open, AUStatus{}, func(t *testing.T) []*lrs.Statement {
			return []*lrs.Statement{st(t, VerbFailed, both, failRes(0.8))}
		}, "below the mastery score"},
		{"failed", open, AUStatus{}, func(t *testing.T) []*lrs.Statement {
			return []*lrs.Statement{st(t, VerbFailed, both, failRes(0.2))}
		}, ""},
		{"passed and failed in one session", open, AUStatus{}, func(t *testing.T) []*lrs.Statement {
			return []*lrs.Statement{st(t, VerbFailed, both, failRes(0.2)), st(t, VerbPassed, both, passRes(0.9))}
		}, "only one passed or failed"},
		{"second judgement in a session", passedSess, AUStatus{}, func(t *testing.T) []*lrs.Statement {
			return []*lrs.Statement{st(t, VerbFailed, both, failRes(0.2))}
		}, "only one passed or failed"},
		{"failed after passed in the registration", open, passedReg, func(t *testing.T) []*lrs.Statement {
			return []*lrs.Statement{st(t, VerbFailed, both, failRes(0.2))}
		}, "may not follow passed"},
		{"passed twice in the registration", open, passedReg, func(t *testing.T) []*lrs.Statement {
			return []*lrs.Statement{st(t, VerbPassed, both, passRes(0.9))}
		}, "already sent"},
		{"score on completed", open, AUStatus{}, func(t *testing.T) []*lrs.Statement {
			return []*lrs.Statement{st(t, VerbCompleted, both, map[string]any{"completion": true, "score": map[string]any{"scaled": 1}})}
		}, "only passed and failed may carry result.score"},
		{"success on terminated", open, AUStatus{}, func(t *testing.T) []*lrs.Statement {
			return []*lrs.Statement{st(t, VerbTerminated, cmi5, map[string]any{"success": true, "duration": "PT1S"})}
		}, "only passed and failed may carry result.success"},
		{"completion on passed", open, AUStatus{}, func(t *testing.T) []*lrs.Statement {
			return []*lrs.Statement{st(t, VerbPassed, both, map[string]any{"success": true, "completion": true, "score": map[string]any{"scaled": 0.9}})}
		}, "only completed may carry result.completion"},
		{"tincan session: only learner and registration limits", xapiSess, AUStatus{}, func(t *testing.T) []*lrs.Statement {
			return []*lrs.Statement{st(t, "http://adlnet.gov/expapi/verbs/experienced", nil, nil)}
		}, ""},
	}
	p := auth.Principal{Kind: auth.KindLaunch, Actor: tActor, Registration: tReg, SessionID: tSess, ActivityID: tAU}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkRules(tt.sess, tt.au, p, tt.stmts(t))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("got %v, want the batch allowed", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("got no error, want one containing %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(errs.MessageOf(err), tt.wantErr):
				t.Fatalf("got %q, want it to contain %q", errs.MessageOf(err), tt.wantErr)
			case err != nil && errs.KindOf(err) != errs.Forbidden:
				t.Fatalf("got kind %v, want forbidden", errs.KindOf(err))
			}
		})
	}
}

func TestMoveOnMet(t *testing.T) {
	now := time.Now()
	none, comp, pass, both, waived := AUStatus{}, AUStatus{CompletedAt: &now}, AUStatus{PassedAt: &now},
		AUStatus{CompletedAt: &now, PassedAt: &now}, AUStatus{WaivedAt: &now}
	tests := []struct {
		moveOn string
		a      AUStatus
		want   bool
	}{
		{MoveOnCompleted, none, false}, {MoveOnCompleted, comp, true}, {MoveOnCompleted, pass, false},
		{MoveOnPassed, comp, false}, {MoveOnPassed, pass, true},
		{MoveOnCompletedAndPassed, comp, false}, {MoveOnCompletedAndPassed, pass, false}, {MoveOnCompletedAndPassed, both, true},
		{MoveOnCompletedOrPassed, none, false}, {MoveOnCompletedOrPassed, comp, true}, {MoveOnCompletedOrPassed, pass, true},
		{MoveOnNotApplicable, none, true}, {MoveOnPassed, waived, true}, {"Bogus", both, false},
	}
	for _, tt := range tests {
		if got := moveOnMet(tt.moveOn, tt.a); got != tt.want {
			t.Errorf("moveOnMet(%s, %+v) = %v, want %v", tt.moveOn, tt.a, got, tt.want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"PT10M", 600, true}, {"PT1H2M3.5S", 3723.5, true}, {"P1DT1S", 86401, true}, {"PT0.25S", 0.25, true},
		{"PT", 0, false}, {"P", 0, false}, {"10M", 0, false}, {"", 0, false}, {"PT1.2.3S", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseDuration(tt.in)
		if ok != tt.ok || got != tt.want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	if got := isoDuration(600.004); got != "PT600.00S" {
		t.Errorf("isoDuration(600.004) = %q", got)
	}
}

func TestMergeQuery(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://c.test/p/x/tok/au/index.html", "https://c.test/p/x/tok/au/index.html?endpoint=E&registration=R"},
		{"https://c.test/index.html?lang=cy&registration=evil", "https://c.test/index.html?endpoint=E&lang=cy&registration=R"},
		{"https://c.test/index.html?a=1#start", "https://c.test/index.html?a=1&endpoint=E&registration=R#start"},
	}
	for _, tt := range tests {
		if got := mergeQuery(tt.in, map[string][]string{"endpoint": {"E"}, "registration": {"R"}}); got != tt.want {
			t.Errorf("mergeQuery(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLearnerAgent(t *testing.T) {
	got := string(LearnerAgentJSON("https://reach.test/", "u1"))
	if got != `{"objectType":"Agent","account":{"homePage":"https://reach.test","name":"u1"}}` {
		t.Errorf("LearnerAgentJSON = %s", got)
	}
}
