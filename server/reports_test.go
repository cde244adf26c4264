package server_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/reach-london/reach/client"
	"github.com/reach-london/reach/internal/reachtest"
)

func postStatements(t *testing.T, base, key, secret string, body string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/xapi/statements", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Experience-API-Version", "1.0.3")
	req.SetBasicAuth(key, secret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("POST statements: %d %s", res.StatusCode, b)
	}
}

func TestReportsOverHTTP(t *testing.T) {
	forEachBackend(t, func(t *testing.T, r *reachtest.Instance) {
		ctx := context.Background()
		admin := adminClient(t, r)
		cred, err := admin.CreateCredential(ctx, "london", "LMS", "all")
		if err != nil {
			t.Fatal(err)
		}
		au := "https://reach.london/course/test/1-landscape"
		var stmts []string
		for i, learner := range []string{"a@x.test", "b@x.test"} {
			stmts = append(stmts,
				fmt.Sprintf(`{"actor":{"mbox":"mailto:%s"},"verb":{"id":"http://adlnet.gov/expapi/verbs/launched"},"object":{"id":%q,"definition":{"name":{"en-GB":"The landscape"}}},"timestamp":"2026-03-0%dT10:00:00Z"}`, learner, au, i+2),
				fmt.Sprintf(`{"actor":{"mbox":"mailto:%s"},"verb":{"id":"http://adlnet.gov/expapi/verbs/answered"},"object":{"id":"%s/q1","definition":{"name":{"en-GB":"=cmd|' /C calc'!A0"}}},"result":{"response":"b","success":%v},"context":{"contextActivities":{"parent":[{"id":%q}]}},"timestamp":"2026-03-0%dT10:05:00Z"}`, learner, au, i == 0, au, i+2))
		}
		stmts = append(stmts, fmt.Sprintf(`{"actor":{"mbox":"mailto:a@x.test"},"verb":{"id":"http://adlnet.gov/expapi/verbs/passed"},"object":{"id":%q},"result":{"success":true},"timestamp":"2026-03-02T10:30:00Z"}`, au))
		postStatements(t, r.URL, cred.Key, cred.Secret, "["+strings.Join(stmts, ",")+"]")

		var rep struct {
			Learners int `json:"learners"`
			Modules  []struct {
				Title  string  `json:"title"`
				Starts int     `json:"starts"`
				Passes int     `json:"passes"`
				Rate   float64 `json:"passRate"`
			} `json:"modules"`
		}
		deadline := time.Now().Add(15 * time.Second)
		for {
			if err := admin.Do(ctx, http.MethodGet, "/api/v1/boroughs/london/reports", nil, &rep); err != nil {
				t.Fatal(err)
			}
			if rep.Learners == 2 || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if rep.Learners != 2 || len(rep.Modules) != 1 || rep.Modules[0].Title != "The landscape" || rep.Modules[0].Passes != 1 || rep.Modules[0].Rate != 1 {
			t.Fatalf("got report %+v, want 2 learners, one module with one pass", rep)
		}

		// CSV: every table downloads; a cell starting with "=" is defused.
		for _, table := range []string{"modules.csv", "roles.csv", "weekly.csv", "dropoff.csv", "answers.csv"} {
			body := getWithToken(t, r.URL+"/api/v1/boroughs/london/reports/"+table+"?from=2026-03-01", admin.Token, http.StatusOK)
			rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
			if err != nil || len(rows) < 1 {
				t.Fatalf("%s: %v %q", table, err, body)
			}
			if table == "answers.csv" && !strings.Contains(string(body), "'=cmd") {
				t.Errorf("answers.csv does not defuse a formula: %s", body)
			}
		}
		getWithToken(t, r.URL+"/api/v1/boroughs/london/reports/secrets.csv", admin.Token, http.StatusNotFound)
		getWithToken(t, r.URL+"/api/v1/boroughs/london/reports?from=yesterday", admin.Token, http.StatusBadRequest)
		getWithToken(t, r.URL+"/api/v1/boroughs/london/reports?role=astronaut", admin.Token, http.StatusBadRequest)
		getWithToken(t, r.URL+"/api/v1/boroughs/london/reports", "", http.StatusUnauthorized)

		// London-wide figures for platform admins; borough admins may not.
		var london struct{ Learners int }
		if err := admin.Do(ctx, http.MethodGet, "/api/v1/reports?role=unknown", nil, &london); err != nil || london.Learners != 2 {
			t.Errorf("London report: got %+v %v, want 2 learners of unknown role", london, err)
		}
		if _, err := admin.CreateBorough(ctx, "sutton", ""); err != nil {
			t.Fatal(err)
		}
		_, pw, err := admin.CreateBoroughAdmin(ctx, "sutton", "lead@sutton.test", "Sutton", "")
		if err != nil {
			t.Fatal(err)
		}
		sutton := client.New(r.URL)
		if _, err := sutton.Login(ctx, "sutton", "lead@sutton.test", pw); err != nil {
			t.Fatal(err)
		}
		getWithToken(t, r.URL+"/api/v1/reports", sutton.Token, http.StatusForbidden)
		getWithToken(t, r.URL+"/api/v1/boroughs/london/reports", sutton.Token, http.StatusNotFound)
		var own struct{ Learners int }
		if err := sutton.Do(ctx, http.MethodGet, "/api/v1/boroughs/sutton/reports", nil, &own); err != nil || own.Learners != 0 {
			t.Errorf("Sutton sees %+v %v, want no learners", own, err)
		}

		// The page renders charts with their tables, once the admin has
		// replaced the one-time password.
		if err := admin.Do(ctx, http.MethodPost, "/api/v1/me/password", map[string]string{"current": r.AdminPassword, "new": "a much longer passphrase"}, nil); err != nil {
			t.Fatal(err)
		}
		page := string(getWithToken(t, r.URL+"/admin/london/reports", admin.Token, http.StatusOK))
		for _, want := range []string{`<svg class="chart"`, "<caption>Starts, completions, passes and time by module</caption>", "The landscape", "modules.csv", `aria-current="page">Reports`} {
			if !strings.Contains(page, want) {
				t.Errorf("reports page lacks %q", want)
			}
		}
	})
}

func getWithToken(t *testing.T, u, token string, want int) []byte {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("GET %s: got %d %s, want %d", u, res.StatusCode, b, want)
	}
	return b
}
