package scorm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/reach-london/reach/content"
	"github.com/reach-london/reach/content/scorm"
	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/reachtest"
	"github.com/reach-london/reach/internal/testenv"
	"github.com/reach-london/reach/lrs"
)

// zipDir zips a test package folder at run time, so the packages stay
// readable in the repository.
func zipDir(t testing.TB, dir string) []byte {
	t.Helper()
	return testenv.ZipDir(t, dir)
}

// fixture is a running Reach with a test package imported.
type fixture struct {
	inst    *reachtest.Instance
	borough auth.Borough
	pkg     content.Package
	svc     *scorm.Service
}

func newFixture(t *testing.T, b reachtest.Backend, dir string) *fixture {
	t.Helper()
	inst := reachtest.Start(t, b)
	ctx := context.Background()
	bor, err := inst.App.Borough(ctx, "london")
	if err != nil {
		t.Fatal(err)
	}
	pkg, err := inst.App.Content().ImportReader(ctx, bor.ID, "test", bytes.NewReader(zipDir(t, dir)))
	if err != nil {
		t.Fatalf("import %s: %v", dir, err)
	}
	return &fixture{inst: inst, borough: bor, pkg: pkg, svc: inst.App.SCORM()}
}

func learner(name string) json.RawMessage {
	b, _ := json.Marshal(map[string]any{"objectType": "Agent", "name": name,
		"account": map[string]string{"homePage": "https://reach.example", "name": name}})
	return b
}

func (f *fixture) start(t *testing.T, registration, sco string) (scorm.Attempt, string) {
	t.Helper()
	a, playerURL, err := f.svc.StartAttempt(context.Background(), scorm.AttemptStart{BoroughID: f.borough.ID,
		Learner: learner("ada"), LearnerID: "ada", LearnerName: "Lovelace, Ada", Registration: registration,
		PackageID: f.pkg.ID, SCOID: sco})
	if err != nil {
		t.Fatalf("StartAttempt: %v", err)
	}
	u, err := url.Parse(playerURL)
	if err != nil || !strings.HasPrefix(playerURL, f.inst.ContentURL+"/player/"+a.ID+"#token=") {
		t.Fatalf("player URL %q is not on the content origin", playerURL)
	}
	tok, _ := url.ParseQuery(u.Fragment)
	return a, tok.Get("token")
}

// call makes a request to the app origin's SCORM API.
func (f *fixture) call(t *testing.T, method, p, token string, body any) (int, map[string]any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, f.inst.URL+"/api/v1/scorm"+p, r)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

func (f *fixture) commit(t *testing.T, id, token, event string, values ...[2]string) (int, map[string]any) {
	t.Helper()
	pairs := [][]string{}
	for _, v := range values {
		pairs = append(pairs, []string{v[0], v[1]})
	}
	return f.call(t, http.MethodPost, "/attempts/"+id+"/commit", token, map[string]any{"event": event, "values": pairs})
}

// login signs the first platform admin in and returns the session token.
func (f *fixture) login(t *testing.T) string {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"email": f.inst.AdminEmail, "password": f.inst.AdminPassword})
	res, err := http.Post(f.inst.URL+"/api/v1/auth/login", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || out.Token == "" {
		t.Fatalf("admin login: %d %v", res.StatusCode, err)
	}
	return out.Token
}

// statements returns the verbs of the registration's statements, oldest
// first, and the statements.
func (f *fixture) statements(t *testing.T, registration string) ([]string, []map[string]any) {
	t.Helper()
	admin := auth.Principal{Kind: auth.KindCredential, BoroughID: f.borough.ID, Scopes: []auth.Scope{auth.ScopeAll}}
	res, err := f.inst.App.Statements().Query(context.Background(), admin, lrs.Query{Registration: registration, Ascending: true, Limit: 500}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var verbs []string
	var out []map[string]any
	for _, raw := range res.Statements {
		var st map[string]any
		if err := json.Unmarshal(raw, &st); err != nil {
			t.Fatal(err)
		}
		id := st["verb"].(map[string]any)["id"].(string)
		verbs = append(verbs, id[strings.LastIndexByte(id, '/')+1:])
		out = append(out, st)
	}
	return verbs, out
}

func TestTrackerSCORM12(t *testing.T) {
	for _, b := range reachtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			f := newFixture(t, b, "testdata/scorm12")
			if f.pkg.Type != content.TypeSCORM12 {
				t.Fatalf("package type %s, want scorm12", f.pkg.Type)
			}
			reg := uuid.NewString()
			a, tok := f.start(t, reg, "quiz")
			if a.Entry != "ab-initio" || a.Number != 1 || a.Version != scorm.V12 {
				t.Fatalf("first attempt entry %q number %d version %s", a.Entry, a.Number, a.Version)
			}

			// The player's view of the launch.
			status, launch := f.call(t, http.MethodGet, "/attempts/"+a.ID, tok, nil)
			if status != http.StatusOK {
				t.Fatalf("GET attempt: %d %v", status, launch)
			}
			rt := launch["runtime"].(map[string]any)
			if rt["cmi.core.entry"] != "ab-initio" || rt["cmi.core.student_id"] != "ada" || rt["cmi.student_data.mastery_score"] != "50" {
				t.Errorf("runtime %v", rt)
			}
			if items := launch["items"].([]any); len(items) != 2 {
				t.Errorf("items %v, want the two SCOs", items)
			}
			if u := launch["scoUrl"].(string); !strings.HasPrefix(u, f.inst.ContentURL+"/p/"+f.pkg.ID+"/") || !strings.HasSuffix(u, "/quiz.html") {
				t.Errorf("scoUrl %q", u)
			}

			// No token, a wrong token, another registration: refused.
			if status, _ := f.commit(t, a.ID, "", "initialize"); status != http.StatusUnauthorized {
				t.Errorf("commit without token: %d, want 401", status)
			}
			other, otherTok := f.start(t, uuid.NewString(), "quiz")
			if status, _ := f.call(t, http.MethodGet, "/attempts/"+a.ID, otherTok, nil); status != http.StatusNotFound {
				t.Errorf("another registration's token read the attempt: %d, want 404", status)
			}
			if status, _ := f.commit(t, a.ID, otherTok, "initialize"); status != http.StatusNotFound {
				t.Errorf("another registration's token committed to the attempt: %d, want 404", status)
			}
			_ = other
			// The player's token writes nothing to the LRS directly: only
			// the tracker records statements.
			req, _ := http.NewRequest(http.MethodPost, f.inst.URL+"/xapi/statements", strings.NewReader(
				`{"actor":{"account":{"homePage":"https://reach.example","name":"ada"}},"verb":{"id":"http://adlnet.gov/expapi/verbs/passed"},"object":{"id":"https://reach.example/x"}}`))
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Experience-API-Version", "1.0.3")
			if res, err := http.DefaultClient.Do(req); err != nil {
				t.Fatal(err)
			} else {
				res.Body.Close()
				if res.StatusCode != http.StatusForbidden && res.StatusCode != http.StatusUnauthorized {
					t.Errorf("the player's token posted a statement to /xapi: %d, want 403", res.StatusCode)
				}
			}

			if status, body := f.commit(t, a.ID, tok, "initialize"); status != http.StatusOK {
				t.Fatalf("initialize: %d %v", status, body)
			}
			status, body := f.commit(t, a.ID, tok, "commit",
				[2]string{"cmi.interactions.0.id", "q1"}, [2]string{"cmi.interactions.0.type", "choice"},
				[2]string{"cmi.interactions.0.student_response", "b"}, [2]string{"cmi.interactions.0.result", "correct"},
				[2]string{"cmi.suspend_data", "q1=b"}, [2]string{"cmi.core.lesson_location", "q2"},
				[2]string{"cmi.core.lesson_status", "incomplete"}, [2]string{"cmi.core.exit", "suspend"},
				[2]string{"cmi.core.session_time", "0000:01:00.00"})
			if status != http.StatusOK || body["result"] != "true" {
				t.Fatalf("commit: %d %v", status, body)
			}

			// A bad value fails the whole commit, names the element and
			// stores nothing.
			status, body = f.commit(t, a.ID, tok, "commit", [2]string{"cmi.suspend_data", "changed"},
				[2]string{"cmi.core.score.raw", "150"})
			if status != http.StatusBadRequest || !strings.Contains(body["error"].(map[string]any)["message"].(string), "cmi.core.score.raw") {
				t.Fatalf("bad commit: %d %v, want 400 naming cmi.core.score.raw", status, body)
			}
			status, body = f.commit(t, a.ID, tok, "commit", [2]string{"cmi.core.student_id", "mallory"})
			if status != http.StatusBadRequest || !strings.Contains(body["error"].(map[string]any)["message"].(string), "read-only") {
				t.Fatalf("read-only commit: %d %v, want 400 read-only", status, body)
			}
			stored, err := f.svc.AttemptForBorough(context.Background(), f.borough.ID, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			if stored.CMI["cmi.suspend_data"] != "q1=b" || stored.CMI["cmi.interactions.0.student_response"] != "b" {
				t.Fatalf("stored CMI %v", stored.CMI)
			}

			// The window closes: the unload commit ends the session.
			if status, body := f.commit(t, a.ID, tok, "unload"); status != http.StatusOK {
				t.Fatalf("unload: %d %v", status, body)
			}
			// Relaunch: same attempt, entry resume, the stored data back.
			a2, tok2 := f.start(t, reg, "quiz")
			if a2.ID != a.ID || a2.Entry != "resume" {
				t.Fatalf("relaunch: attempt %s entry %q, want %s resume", a2.ID, a2.Entry, a.ID)
			}
			if status, _ := f.commit(t, a.ID, tok, "commit", [2]string{"cmi.suspend_data", "old tab"}); status != http.StatusConflict {
				t.Errorf("commit from the replaced session: %d, want 409", status)
			}
			_, launch = f.call(t, http.MethodGet, "/attempts/"+a.ID, tok2, nil)
			rt = launch["runtime"].(map[string]any)
			if rt["cmi.core.entry"] != "resume" || rt["cmi.suspend_data"] != "q1=b" || rt["cmi.core.lesson_location"] != "q2" ||
				rt["cmi.core.total_time"] != "0000:01:00.00" {
				t.Errorf("resumed runtime %v", rt)
			}
			if _, ok := rt["cmi.core.exit"]; ok {
				t.Error("runtime gave back the write-only cmi.core.exit")
			}
			f.commit(t, a.ID, tok2, "initialize")
			status, body = f.commit(t, a.ID, tok2, "terminate",
				[2]string{"cmi.interactions.1.id", "q2"}, [2]string{"cmi.interactions.1.type", "true-false"},
				[2]string{"cmi.interactions.1.student_response", "t"}, [2]string{"cmi.interactions.1.result", "correct"},
				[2]string{"cmi.core.score.raw", "100"}, [2]string{"cmi.core.lesson_status", "passed"},
				[2]string{"cmi.core.exit", ""}, [2]string{"cmi.core.session_time", "0000:02:00.00"})
			if status != http.StatusOK || body["status"] != "finished" {
				t.Fatalf("terminate: %d %v", status, body)
			}
			verbs, stmts := f.statements(t, reg)
			want := []string{"initialized", "answered", "suspended", "resumed", "answered", "completed", "passed", "terminated"}
			if strings.Join(verbs, ",") != strings.Join(want, ",") {
				t.Fatalf("statements %v, want %v", verbs, want)
			}
			last := stmts[len(stmts)-1]
			res := last["result"].(map[string]any)
			if res["success"] != true || res["completion"] != true || res["score"].(map[string]any)["scaled"] != 1.0 {
				t.Errorf("terminated result %v", res)
			}
			if auth := last["authority"].(map[string]any); auth["name"] != "Reach player" {
				t.Errorf("authority %v, want the player's", auth)
			}
			// The profile's State documents.
			docs := f.inst.App.Documents()
			final, _ := f.svc.AttemptForBorough(context.Background(), f.borough.ID, a.ID)
			doc, err := docs.Get(context.Background(), f.borough.ID, lrs.DocumentRequest{Kind: lrs.StateDocument, Version: lrs.V103,
				ActivityID: final.Meta.SCOIRI, Agent: string(final.Learner), ID: scorm.ActivityStateID})
			if err != nil || !strings.Contains(string(doc.Content), `"attempts":["`+final.AttemptIRI()+`"]`) {
				t.Errorf("activity state %s, %v; want the attempt's IRI listed", doc.Content, err)
			}
			doc, err = docs.Get(context.Background(), f.borough.ID, lrs.DocumentRequest{Kind: lrs.StateDocument, Version: lrs.V103,
				ActivityID: final.AttemptIRI(), Agent: string(final.Learner), Registration: reg, ID: scorm.AttemptStateID})
			var st map[string]any
			if err == nil {
				err = json.Unmarshal(doc.Content, &st)
			}
			if err != nil || st["location"] != "q2" || st["total_time"] != "PT0H3M0S" || st["credit"] != "credit" {
				t.Errorf("attempt state %s, %v", doc.Content, err)
			}
			// Admins read the attempts and their CMI data; learners' tokens cannot.
			adminTok := f.login(t)
			req, _ = http.NewRequest(http.MethodGet, f.inst.URL+"/api/v1/boroughs/london/scorm/registrations/"+reg+"/attempts", nil)
			req.Header.Set("Authorization", "Bearer "+adminTok)
			lres, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var listed struct {
				Attempts []scorm.Attempt `json:"attempts"`
			}
			err = json.NewDecoder(lres.Body).Decode(&listed)
			lres.Body.Close()
			if err != nil || lres.StatusCode != http.StatusOK || len(listed.Attempts) != 1 ||
				listed.Attempts[0].CMI["cmi.core.lesson_status"] != "passed" || listed.Attempts[0].CMI["cmi.interactions.1.id"] != "q2" {
				t.Errorf("admin list: %d %+v %v", lres.StatusCode, listed, err)
			}
			req.Header.Set("Authorization", "Bearer "+tok2)
			if res, err := http.DefaultClient.Do(req); err == nil {
				res.Body.Close()
				if res.StatusCode != http.StatusForbidden {
					t.Errorf("a launch token listed attempts: %d, want 403", res.StatusCode)
				}
			}
			// A finished attempt: the next launch starts attempt 2.
			a3, _ := f.start(t, reg, "quiz")
			if a3.ID == a.ID || a3.Number != 2 || a3.Entry != "ab-initio" {
				t.Errorf("after finishing: attempt %s number %d entry %q, want a new attempt 2", a3.ID, a3.Number, a3.Entry)
			}
		})
	}
}

// TestTrackerLateTerminate covers a SCO that sets exit and calls
// LMSFinish in its own unload handler: the player's unload commit arrives
// first, the SCO's Terminate after it.
func TestTrackerLateTerminate(t *testing.T) {
	for _, b := range reachtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			f := newFixture(t, b, "testdata/scorm12")
			reg := uuid.NewString()
			a, tok := f.start(t, reg, "quiz")
			f.commit(t, a.ID, tok, "initialize")
			f.commit(t, a.ID, tok, "commit", [2]string{"cmi.suspend_data", "page 3"}, [2]string{"cmi.core.session_time", "0000:00:10.00"})
			if status, body := f.commit(t, a.ID, tok, "unload"); status != http.StatusOK || body["status"] != "active" {
				t.Fatalf("unload: %d %v", status, body)
			}
			if status, _ := f.commit(t, a.ID, tok, "commit", [2]string{"cmi.suspend_data", "late"}); status != http.StatusBadRequest {
				t.Errorf("a plain commit after the unload: %d, want 400", status)
			}
			status, body := f.commit(t, a.ID, tok, "terminate", [2]string{"cmi.core.exit", "suspend"},
				[2]string{"cmi.core.session_time", "0000:00:25.00"})
			if status != http.StatusOK || body["status"] != "suspended" {
				t.Fatalf("late terminate: %d %v", status, body)
			}
			stored, _ := f.svc.AttemptForBorough(context.Background(), f.borough.ID, a.ID)
			if stored.TotalSeconds != 25 || stored.CMI["cmi.suspend_data"] != "page 3" {
				t.Errorf("after the late terminate: total %v, CMI %v; want 25 s (the later session time, not both)", stored.TotalSeconds, stored.CMI)
			}
			if status, _ := f.commit(t, a.ID, tok, "terminate"); status != http.StatusBadRequest {
				t.Errorf("a second terminate: %d, want 400", status)
			}
			verbs, _ := f.statements(t, reg)
			if got := strings.Join(verbs, ","); got != "initialized,suspended" {
				t.Errorf("statements %s, want initialized,suspended", got)
			}
			a2, _ := f.start(t, reg, "quiz")
			if a2.ID != a.ID || a2.Entry != "resume" {
				t.Errorf("relaunch: attempt %s entry %q, want the same attempt resumed", a2.ID, a2.Entry)
			}
		})
	}
}

// TestTrackerRejects2004 sends bad SCORM 2004 commits over HTTP: each
// answers 400 naming the element, and nothing of it is stored.
func TestTrackerRejects2004(t *testing.T) {
	for _, b := range reachtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			f := newFixture(t, b, "testdata/scorm2004")
			a, tok := f.start(t, uuid.NewString(), "lesson")
			f.commit(t, a.ID, tok, "initialize")
			for _, tt := range []struct {
				values [][2]string
				want   string
			}{
				{[][2]string{{"cmi.location", "p2"}, {"cmi.interactions.0.type", "choice"}}, "set cmi.interactions.0.id first"},
				{[][2]string{{"cmi.location", "p2"}, {"cmi.score.scaled", "1.5"}}, "cmi.score.scaled"},
				{[][2]string{{"cmi.location", "p2"}, {"cmi.completion_status", "passed"}}, "cmi.completion_status"},
				{[][2]string{{"cmi.location", "p2"}, {"cmi.learner_name", "Mallory"}}, "cmi.learner_name is read-only"},
				{[][2]string{{"cmi.location", "p2"}, {"cmi.core.lesson_status", "passed"}}, "not a SCORM 2004 data model element"},
				{[][2]string{{"cmi.interactions.0.id", "q"}, {"cmi.interactions.0.type", "true-false"},
					{"cmi.interactions.0.learner_response", "yes"}}, "cmi.interactions.0.learner_response"},
				{[][2]string{{"cmi.location", "p2"}, {"adl.nav.request", "jumpAround"}}, "adl.nav.request"},
			} {
				status, body := f.commit(t, a.ID, tok, "commit", tt.values...)
				msg := ""
				if e, ok := body["error"].(map[string]any); ok {
					msg, _ = e["message"].(string)
				}
				if status != http.StatusBadRequest || !strings.Contains(msg, tt.want) {
					t.Errorf("commit %v: %d %q, want 400 containing %q", tt.values, status, msg, tt.want)
				}
			}
			if status, _ := f.commit(t, a.ID, tok, "finish"); status != http.StatusBadRequest {
				t.Errorf("unknown event: %d, want 400", status)
			}
			stored, _ := f.svc.AttemptForBorough(context.Background(), f.borough.ID, a.ID)
			if len(stored.CMI) != 0 {
				t.Errorf("rejected commits stored %v", stored.CMI)
			}
			verbs, _ := f.statements(t, a.Registration)
			if strings.Join(verbs, ",") != "initialized" {
				t.Errorf("statements %v, want only initialized", verbs)
			}
		})
	}
}

func TestTrackerCORS(t *testing.T) {
	f := newFixture(t, reachtest.Backends()[0], "testdata/scorm2004")
	for _, tt := range []struct {
		origin string
		want   string
	}{
		{f.inst.ContentURL, f.inst.ContentURL},
		{"https://evil.example", ""},
		{f.inst.URL, ""},
	} {
		req, _ := http.NewRequest(http.MethodOptions, f.inst.URL+"/api/v1/scorm/attempts/x/commit", nil)
		req.Header.Set("Origin", tt.origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if got := res.Header.Get("Access-Control-Allow-Origin"); got != tt.want {
			t.Errorf("origin %s: Access-Control-Allow-Origin %q, want %q", tt.origin, got, tt.want)
		}
		if res.Header.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("origin %s: credentials allowed", tt.origin)
		}
	}
}
