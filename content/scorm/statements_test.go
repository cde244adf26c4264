package scorm

import (
	"encoding/json"
	"testing"
	"time"
)

func testAttempt(v Version) Attempt {
	return Attempt{ID: "7b0e4bd5-5a8e-4c43-9a43-0ac1f3f8b0b1", BoroughID: "b", Registration: "0f3d5f0e-6c1e-4c55-8d5c-3c1a3f0b9a11",
		Learner:   json.RawMessage(`{"objectType":"Agent","account":{"homePage":"https://reach.example","name":"u1"}}`),
		LearnerID: "u1", LearnerName: "Ada", Version: v, Number: 1, Status: StatusActive, Entry: "ab-initio",
		SessionState: sessionInitialized, CMI: CMI{},
		Meta: Meta{CourseIRI: "https://reach.example/activities/scorm/c1", CourseTitle: "Course", SCOIRI: "https://reach.example/activities/scorm/c1/quiz",
			SCOTitle: "Quiz"}, UpdatedAt: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
}

type stmt struct {
	Verb struct {
		ID string `json:"id"`
	} `json:"verb"`
	Object struct {
		ID         string         `json:"id"`
		Definition map[string]any `json:"definition"`
	} `json:"object"`
	Result  map[string]any `json:"result"`
	Context struct {
		Registration      string                      `json:"registration"`
		ContextActivities map[string][]map[string]any `json:"contextActivities"`
	} `json:"context"`
}

func decode(t *testing.T, in []map[string]any) []stmt {
	t.Helper()
	if _, err := parse(in); err != nil {
		t.Fatalf("the LRS rejects the statements: %v", err)
	}
	b, _ := json.Marshal(in)
	var out []stmt
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func verbs(ss []stmt) []string {
	var out []string
	for _, s := range ss {
		out = append(out, verbName(s.Verb.ID))
	}
	return out
}

func TestStatements(t *testing.T) {
	s := &Service{}
	tests := []struct {
		name      string
		version   Version
		oldState  string
		entry     string
		prev, cur CMI
		event     Event
		status    Status
		want      []string
	}{
		{"initialize ab-initio", V12, sessionLaunched, "ab-initio", nil, nil, EventInitialize, StatusActive, []string{"initialized"}},
		{"initialize resume", V2004, sessionLaunched, "resume", nil, nil, EventInitialize, StatusActive, []string{"resumed"}},
		{"second initialize says nothing", V12, sessionInitialized, "", nil, nil, EventInitialize, StatusActive, nil},
		{"1.2 answered", V12, sessionInitialized, "", CMI{}, CMI{"cmi.interactions.0.id": "q1", "cmi.interactions.0.type": "choice",
			"cmi.interactions.0.student_response": "a,b", "cmi.interactions.0.correct_responses.0.pattern": "a,b",
			"cmi.interactions.0.result": "correct", "cmi.interactions.0.latency": "0000:00:05.00"}, EventCommit, StatusActive, []string{"answered"}},
		{"unchanged interaction not repeated", V12, sessionInitialized, "", CMI{"cmi.interactions.0.id": "q1", "cmi.interactions.0.result": "wrong"},
			CMI{"cmi.interactions.0.id": "q1", "cmi.interactions.0.result": "wrong", "cmi.suspend_data": "x"}, EventCommit, StatusActive, nil},
		{"1.2 completed", V12, sessionInitialized, "", CMI{}, CMI{"cmi.core.lesson_status": "completed"}, EventCommit, StatusActive, []string{"completed"}},
		{"1.2 passed implies completed", V12, sessionInitialized, "", CMI{"cmi.core.lesson_status": "incomplete"},
			CMI{"cmi.core.lesson_status": "passed", "cmi.core.score.raw": "80"}, EventCommit, StatusActive, []string{"completed", "passed"}},
		{"2004 failed", V2004, sessionInitialized, "", CMI{}, CMI{"cmi.success_status": "failed", "cmi.score.scaled": "0.2"}, EventCommit, StatusActive, []string{"failed"}},
		{"2004 completed and passed", V2004, sessionInitialized, "", CMI{},
			CMI{"cmi.completion_status": "completed", "cmi.success_status": "passed", "cmi.score.scaled": "0.9"}, EventCommit, StatusActive, []string{"completed", "passed"}},
		{"2004 objective passed", V2004, sessionInitialized, "", CMI{"cmi.objectives.0.id": "o1"},
			CMI{"cmi.objectives.0.id": "o1", "cmi.objectives.0.success_status": "passed", "cmi.objectives.0.score.scaled": "0.9"}, EventCommit, StatusActive, []string{"passed"}},
		{"2004 objective completed and failed", V2004, sessionInitialized, "", CMI{},
			CMI{"cmi.objectives.0.id": "o1", "cmi.objectives.0.completion_status": "completed", "cmi.objectives.0.success_status": "failed"}, EventCommit, StatusActive, []string{"completed", "failed"}},
		{"1.2 objective failed", V12, sessionInitialized, "", CMI{},
			CMI{"cmi.objectives.0.id": "o1", "cmi.objectives.0.status": "failed", "cmi.objectives.0.score.raw": "20"}, EventCommit, StatusActive, []string{"failed"}},
		{"unchanged objective says nothing", V12, sessionInitialized, "", CMI{"cmi.objectives.0.id": "o1", "cmi.objectives.0.status": "passed"},
			CMI{"cmi.objectives.0.id": "o1", "cmi.objectives.0.status": "passed"}, EventCommit, StatusActive, nil},
		{"terminate with suspend", V2004, sessionInitialized, "", CMI{}, CMI{"cmi.exit": "suspend", "cmi.session_time": "PT1M"}, EventTerminate, StatusSuspended, []string{"suspended"}},
		{"terminate normally", V12, sessionInitialized, "", CMI{"cmi.core.lesson_status": "passed"}, CMI{"cmi.core.lesson_status": "passed"}, EventTerminate, StatusFinished, []string{"terminated"}},
		{"unload without suspend says nothing", V12, sessionInitialized, "", CMI{}, CMI{}, EventUnload, StatusActive, nil},
		{"unload with suspend", V12, sessionInitialized, "", CMI{}, CMI{"cmi.core.exit": "suspend"}, EventUnload, StatusSuspended, []string{"suspended"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := testAttempt(tt.version)
			old.SessionState, old.Entry = tt.oldState, tt.entry
			if tt.prev != nil {
				old.CMI = tt.prev
			}
			a := old
			a.CMI = tt.cur
			if a.CMI == nil {
				a.CMI = CMI{}
			}
			a.Status = tt.status
			out, err := s.statements(old, a, tt.event, old.CMI)
			if err != nil {
				t.Fatal(err)
			}
			got := verbs(decode(t, out))
			if len(got) != len(tt.want) {
				t.Fatalf("verbs %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("verbs %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestLMSDecidesStatusFromThresholds(t *testing.T) {
	pass, threshold := 0.6, 0.8
	m := Meta{MasteryScore: &pass, CompletionThreshold: &threshold}
	tests := []struct {
		cmi                 CMI
		completion, success string
	}{
		{CMI{"cmi.score.scaled": "0.7", "cmi.success_status": "failed"}, "", "passed"},
		{CMI{"cmi.score.scaled": "0.5", "cmi.success_status": "passed"}, "", "failed"},
		{CMI{"cmi.progress_measure": "0.9", "cmi.completion_status": "incomplete"}, "completed", ""},
		{CMI{"cmi.progress_measure": "0.2", "cmi.completion_status": "completed"}, "incomplete", ""},
		{CMI{"cmi.completion_status": "completed", "cmi.success_status": "passed"}, "completed", "passed"},
	}
	for _, tt := range tests {
		c, s := statusOf(V2004, m, tt.cmi)
		if c != tt.completion || s != tt.success {
			t.Errorf("statusOf(%v) = %q, %q; want %q, %q", tt.cmi, c, s, tt.completion, tt.success)
		}
	}
	if c, s := statusOf(V2004, Meta{}, CMI{"cmi.score.scaled": "0.1", "cmi.success_status": "passed"}); c != "" || s != "passed" {
		t.Errorf("without a passing score the SCO's status stands; got %q, %q", c, s)
	}
}

func TestStatementShape(t *testing.T) {
	s := &Service{}
	old := testAttempt(V12)
	a := old
	a.CMI = CMI{"cmi.interactions.0.id": "q1", "cmi.interactions.0.type": "choice", "cmi.interactions.0.student_response": "a,b",
		"cmi.interactions.0.correct_responses.0.pattern": "a,b", "cmi.interactions.0.result": "wrong",
		"cmi.interactions.0.latency": "0000:00:05.50", "cmi.core.lesson_status": "failed",
		"cmi.core.score.raw": "40", "cmi.core.score.min": "0", "cmi.core.score.max": "80"}
	out := decode(t, mustStatements(t, s, old, a, EventCommit))
	if got := verbs(out); len(got) != 3 || got[0] != "answered" || got[2] != "failed" {
		t.Fatalf("verbs %v, want answered, completed, failed", got)
	}
	ans := out[0]
	if ans.Object.ID != "https://reach.example/activities/scorm/c1/quiz/interactions/q1" {
		t.Errorf("interaction id %q", ans.Object.ID)
	}
	if ans.Object.Definition["type"] != TypeInteraction || ans.Object.Definition["interactionType"] != "choice" {
		t.Errorf("interaction definition %v", ans.Object.Definition)
	}
	if p, _ := ans.Object.Definition["correctResponsesPattern"].([]any); len(p) != 1 || p[0] != "a[,]b" {
		t.Errorf("correctResponsesPattern %v, want [a[,]b]", ans.Object.Definition["correctResponsesPattern"])
	}
	if ans.Result["response"] != "a[,]b" || ans.Result["success"] != false || ans.Result["duration"] != "PT0H0M5.5S" {
		t.Errorf("answered result %v", ans.Result)
	}
	if parent := ans.Context.ContextActivities["parent"]; len(parent) != 1 || parent[0]["id"] != a.Meta.SCOIRI {
		t.Errorf("answered parent %v, want the SCO", parent)
	}
	for _, st := range out {
		if st.Context.Registration != a.Registration {
			t.Errorf("registration %q, want %q", st.Context.Registration, a.Registration)
		}
		g := st.Context.ContextActivities["grouping"]
		if len(g) != 2 || g[0]["id"] != a.Meta.CourseIRI || g[1]["id"] != a.Meta.SCOIRI+"?attemptId="+a.ID {
			t.Errorf("grouping %v, want the course and the attempt", g)
		}
		if def, _ := g[1]["definition"].(map[string]any); def["type"] != TypeAttempt {
			t.Errorf("attempt activity type %v", def["type"])
		}
		if c := st.Context.ContextActivities["category"]; len(c) != 1 || c[0]["id"] != ProfileIRI {
			t.Errorf("category %v, want the SCORM profile", c)
		}
	}
	failed := out[2]
	score, _ := failed.Result["score"].(map[string]any)
	if failed.Result["success"] != false || score["scaled"] != 0.5 || score["raw"] != 40.0 || score["max"] != 80.0 {
		t.Errorf("failed result %v, want success false and scaled 0.5 from raw 40 of 0..80", failed.Result)
	}
}

func mustStatements(t *testing.T, s *Service, old, a Attempt, ev Event) []map[string]any {
	t.Helper()
	out, err := s.statements(old, a, ev, old.CMI)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestOutcome(t *testing.T) {
	old := testAttempt(V12)
	a := old
	a.CMI = CMI{"cmi.core.lesson_status": "passed", "cmi.core.score.raw": "80"}
	a.SessionState, a.TotalSeconds = sessionEnded, 90
	o := outcomeOf(old, a)
	if !o.Completed || !o.Passed || o.Failed || o.Score == nil || *o.Score != 0.8 || o.Seconds != 90 {
		t.Errorf("outcome %+v (score %v), want completed, passed, 0.8, 90s", o, o.Score)
	}
	a.CMI = CMI{"cmi.core.lesson_status": "incomplete"}
	a.SessionState, a.TotalSeconds = sessionInitialized, 0
	if o := outcomeOf(old, a); o.Completed || o.Passed || o.Score != nil || o.Seconds != 0 {
		t.Errorf("outcome %+v, want nothing done", o)
	}
}

func TestDefaultStatus12(t *testing.T) {
	half := 0.5
	tests := []struct {
		name    string
		mastery *float64
		cmi     CMI
		want    string
	}{
		{"unset becomes completed", nil, CMI{}, "completed"},
		{"unset with mastery and a passing score", &half, CMI{"cmi.core.score.raw": "50"}, "passed"},
		{"unset with mastery and a failing score", &half, CMI{"cmi.core.score.raw": "49.5"}, "failed"},
		{"unset with mastery and no score", &half, CMI{}, "completed"},
		{"suspending is not completing", nil, CMI{"cmi.core.exit": "suspend"}, ""},
		{"set by the SCO stands", &half, CMI{"cmi.core.lesson_status": "incomplete", "cmi.core.score.raw": "90"}, "incomplete"},
	}
	for _, tt := range tests {
		a := testAttempt(V12)
		a.Meta.MasteryScore = tt.mastery
		a.CMI = tt.cmi
		defaultStatus12(&a)
		if got := a.CMI["cmi.core.lesson_status"]; got != tt.want {
			t.Errorf("%s: lesson_status %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestObjectiveStatement(t *testing.T) {
	s := &Service{}
	old := testAttempt(V2004)
	a := old
	a.CMI = CMI{"cmi.objectives.0.id": "urn:obj:1", "cmi.objectives.0.success_status": "passed", "cmi.objectives.0.score.scaled": "0.75"}
	out := decode(t, mustStatements(t, s, old, a, EventCommit))
	if len(out) != 1 {
		t.Fatalf("got %d statements, want 1", len(out))
	}
	st := out[0]
	if st.Object.ID != a.Meta.SCOIRI+"/objectives/urn:obj:1" || st.Object.Definition["type"] != TypeObjective {
		t.Errorf("objective object %s %v", st.Object.ID, st.Object.Definition)
	}
	if p := st.Context.ContextActivities["parent"]; len(p) != 1 || p[0]["id"] != a.Meta.SCOIRI {
		t.Errorf("objective parent %v, want the SCO", p)
	}
	if sc, _ := st.Result["score"].(map[string]any); st.Result["success"] != true || sc["scaled"] != 0.75 {
		t.Errorf("objective result %v", st.Result)
	}
}

func TestModuleOutcome(t *testing.T) {
	at := func(v Version, cmi CMI) Attempt {
		a := testAttempt(v)
		a.CMI = cmi
		return a
	}
	scos := []string{"page", "quiz"}
	tests := []struct {
		name                      string
		latest                    map[string]Attempt
		completed, passed, failed bool
		score                     float64 // -1: none
	}{
		{"nothing yet", map[string]Attempt{}, false, false, false, -1},
		{"one of two done", map[string]Attempt{"quiz": at(V12, CMI{"cmi.core.lesson_status": "passed", "cmi.core.score.raw": "80"})},
			false, false, false, 0.8},
		{"both done, quiz passed", map[string]Attempt{"page": at(V12, CMI{"cmi.core.lesson_status": "completed"}),
			"quiz": at(V12, CMI{"cmi.core.lesson_status": "passed", "cmi.core.score.raw": "80"})}, true, true, false, 0.8},
		{"both done, quiz failed", map[string]Attempt{"page": at(V12, CMI{"cmi.core.lesson_status": "completed"}),
			"quiz": at(V12, CMI{"cmi.core.lesson_status": "failed", "cmi.core.score.raw": "20"})}, true, false, true, 0.2},
		{"completed without judging success", map[string]Attempt{"page": at(V2004, CMI{"cmi.completion_status": "completed"}),
			"quiz": at(V2004, CMI{"cmi.completion_status": "completed"})}, true, false, false, -1},
		{"scores averaged", map[string]Attempt{"page": at(V2004, CMI{"cmi.completion_status": "completed", "cmi.score.scaled": "0.5"}),
			"quiz": at(V2004, CMI{"cmi.completion_status": "completed", "cmi.success_status": "passed", "cmi.score.scaled": "1"})}, true, true, false, 0.75},
	}
	for _, tt := range tests {
		o := moduleOutcome(scos, tt.latest, 12)
		score := -1.0
		if o.Score != nil {
			score = *o.Score
		}
		if o.Completed != tt.completed || o.Passed != tt.passed || o.Failed != tt.failed || score != tt.score || o.Seconds != 12 {
			t.Errorf("%s: outcome %+v (score %v), want completed %v passed %v failed %v score %v", tt.name, o, score,
				tt.completed, tt.passed, tt.failed, tt.score)
		}
	}
}
