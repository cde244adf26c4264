package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/reach-london/reach/content/launch"
	"github.com/reach-london/reach/content/scorm"
	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/reachtest"
	"github.com/reach-london/reach/internal/testenv"
	"github.com/reach-london/reach/lrs"
)

// statementWriters counts the statement store's writer goroutines running
// in this process (lrs/sqlstore starts them on a store's first write; on
// SQLite each holds a connection of its own).
func statementWriters() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "lrs/sqlstore.(*Store).writer(")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// TestOneStatementWriter stores statements through each path that writes
// them (the xAPI resource, the cmi5 LMS's own statements, the SCORM
// tracker) and checks that they share the process's one statement store:
// the first write starts its writers and the others start none, so on
// SQLite there is a single writer (ADR 4). The reports projector and the
// service accessors come back the same every time.
func TestOneStatementWriter(t *testing.T) {
	for _, b := range reachtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			before := statementWriters()
			inst := reachtest.Start(t, b)
			ctx := context.Background()
			a := inst.App
			// Each accessor hands out one instance, however often it is called.
			s1, d1, r1 := a.Statements(), a.Documents(), a.Reports()
			if s2, d2, r2 := a.Statements(), a.Documents(), a.Reports(); s1 != s2 || d1 != d2 || r1 != r2 {
				t.Error("the App's LRS or reports accessors build a new service per call")
			}
			bor, err := a.Borough(ctx, "london")
			if err != nil {
				t.Fatal(err)
			}

			// xAPI: a statement POSTed with an LRS credential.
			cred, secret, err := a.Auth.CreateCredential(ctx, "test", bor.ID, "LMS", []auth.Scope{auth.ScopeAll})
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest(http.MethodPost, inst.URL+"/xapi/statements", strings.NewReader(
				`{"actor":{"mbox":"mailto:ada@example.org"},"verb":{"id":"http://adlnet.gov/expapi/verbs/experienced"},"object":{"id":"https://reach.example/a"}}`))
			req.SetBasicAuth(cred.Key, secret)
			req.Header.Set("X-Experience-API-Version", "1.0.3")
			req.Header.Set("Content-Type", "application/json")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Fatalf("POST /xapi/statements: %d", res.StatusCode)
			}
			writers := statementWriters() - before
			if writers < 1 {
				t.Fatalf("%d statement writers after the first write, want at least 1", writers)
			}
			if b.Name == "embedded" && writers != 1 {
				t.Fatalf("%d SQLite statement writers after the first write, want 1", writers)
			}

			// cmi5: the LMS records launched.
			u, _, err := a.Auth.CreateUser(ctx, "test", auth.NewUser{BoroughID: bor.ID, Email: "ada@example.org", Name: "Ada Lovelace",
				Role: auth.RoleLearner, Profession: "gp", Password: "a long learner password 1"})
			if err != nil {
				t.Fatal(err)
			}
			pub, err := a.Content().PublishedVersion(ctx, bor.ID)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.Launch().Launch(ctx, launch.Request{Learner: launch.Learner{ID: u.ID, BoroughID: bor.ID, Profession: "gp"},
				Module: pub.Modules[0].Module, ReturnURL: inst.URL + "/"}); err != nil {
				t.Fatalf("launch: %v", err)
			}
			if n := statementWriters() - before; n != writers {
				t.Errorf("the cmi5 LMS's write took the statement writers from %d to %d", writers, n)
			}

			// SCORM: the tracker records initialized on the player's commit.
			pkg, err := a.Content().ImportReader(ctx, bor.ID, "test", bytes.NewReader(testenv.ZipDir(t, "../../content/scorm/testdata/scorm12")))
			if err != nil {
				t.Fatal(err)
			}
			learner, _ := json.Marshal(map[string]any{"objectType": "Agent", "account": map[string]string{"homePage": "https://reach.example", "name": "ada"}})
			at, playerURL, err := a.SCORM().StartAttempt(ctx, scorm.AttemptStart{BoroughID: bor.ID, Learner: learner, LearnerID: "ada",
				LearnerName: "Lovelace, Ada", Registration: uuid.NewString(), PackageID: pkg.ID, SCOID: "quiz"})
			if err != nil {
				t.Fatal(err)
			}
			token := playerURL[strings.Index(playerURL, "#token=")+len("#token="):]
			body, _ := json.Marshal(map[string]any{"event": "initialize", "values": [][]string{}})
			req, _ = http.NewRequest(http.MethodPost, inst.URL+"/api/v1/scorm/attempts/"+at.ID+"/commit", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			res, err = http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Fatalf("SCORM commit: %d", res.StatusCode)
			}
			if n := statementWriters() - before; n != writers {
				t.Errorf("the SCORM tracker's write took the statement writers from %d to %d", writers, n)
			}

			// Every path's statements are in the one store.
			if _, err := a.Reports().CatchUp(ctx); err != nil {
				t.Fatal(err)
			}
			verbs := map[string]bool{}
			admin := auth.Principal{Kind: auth.KindCredential, BoroughID: bor.ID, Scopes: []auth.Scope{auth.ScopeAll}}
			page, err := a.Statements().Query(ctx, admin, lrs.Query{Limit: 500}, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, raw := range page.Statements {
				var st struct {
					Verb struct{ ID string } `json:"verb"`
				}
				_ = json.Unmarshal(raw, &st)
				verbs[st.Verb.ID[strings.LastIndexByte(st.Verb.ID, '/')+1:]] = true
			}
			for _, v := range []string{"experienced", "launched", "initialized"} {
				if !verbs[v] {
					t.Errorf("no %s statement stored; verbs %v", v, verbs)
				}
			}
		})
	}
}
