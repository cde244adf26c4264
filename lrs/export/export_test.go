package export_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/reach-london/reach/client"
	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/internal/reachtest"
	"github.com/reach-london/reach/lrs/export"
)

func TestRow(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want map[string]string // column → value; unlisted columns must be empty
	}{
		{"full", `{"id":"i1","timestamp":"2026-01-02T03:04:05Z","stored":"2026-01-02T03:04:06.000Z",
			"actor":{"name":"Ann","mbox":"mailto:ann@x.org"},
			"verb":{"id":"http://adlnet.gov/expapi/verbs/passed","display":{"en-US":"passed","en-GB":"passed (GB)","fr":"réussi"}},
			"object":{"id":"https://c.org/m1","definition":{"name":{"fr":"Module","de":"Modul"}}},
			"result":{"success":true,"completion":false,"score":{"scaled":0.85},"duration":"PT1M"},
			"context":{"registration":"r1"}}`,
			map[string]string{"id": "i1", "timestamp": "2026-01-02T03:04:05Z", "stored": "2026-01-02T03:04:06.000Z",
				"actor_name": "Ann", "actor_mbox": "mailto:ann@x.org", "verb_id": "http://adlnet.gov/expapi/verbs/passed",
				"verb_display": "passed (GB)", "object_id": "https://c.org/m1", "object_type": "Activity", "object_name": "Modul",
				"result_success": "true", "result_completion": "false", "result_score_scaled": "0.85", "result_duration": "PT1M",
				"registration": "r1"}},
		{"account actor, agent object", `{"id":"i2","actor":{"account":{"homePage":"https://h.org","name":"42"}},
			"verb":{"id":"v","display":{"en":"asked"}},"object":{"objectType":"Agent","name":"Bo","mbox":"mailto:b@x.org"}}`,
			map[string]string{"id": "i2", "actor_account_homepage": "https://h.org", "actor_account_name": "42", "verb_id": "v",
				"verb_display": "asked", "object_type": "Agent", "object_name": "Bo"}},
		{"not JSON", `{`, map[string]string{"object_type": "Activity"}},
		{"formula injection", `{"id":"i3","actor":{"name":"=HYPERLINK(\"http://x\")","mbox":"mailto:a@x.org"},
			"verb":{"id":"v","display":{"en":"@cmd"}},"object":{"id":"o","definition":{"name":{"en":"+1 module"}}},
			"result":{"score":{"scaled":-0.5},"duration":"-PT1S"}}`,
			map[string]string{"id": "i3", "actor_name": `'=HYPERLINK("http://x")`, "actor_mbox": "mailto:a@x.org", "verb_id": "v",
				"verb_display": "'@cmd", "object_id": "o", "object_type": "Activity", "object_name": "'+1 module",
				"result_score_scaled": "-0.5", "result_duration": "'-PT1S"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			row := export.Row([]byte(tc.in))
			if len(row) != len(export.Columns) {
				t.Fatalf("got %d cells, want %d", len(row), len(export.Columns))
			}
			for i, col := range export.Columns {
				if row[i] != tc.want[col] {
					t.Errorf("%s: got %q, want %q", col, row[i], tc.want[col])
				}
			}
		})
	}
}

func TestParseRequest(t *testing.T) {
	tests := []struct {
		query, wantErr string
	}{
		{"", ""},
		{"format=csv&verb=http://adlnet.gov/expapi/verbs/passed&since=2026-01-01T00:00:00Z", ""},
		{"format=xml", `format must be "jsonl" or "csv"`},
		{"format=csv&format=jsonl", "more than once"},
		{"since=yesterday", "since"},
		{"until=2026-13-01T00:00:00Z", "until"},
		{"since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z", "since must be before until"},
		{"agent={bad", "agent"},
		{`agent={"name":"no ifi"}`, "agent"},
		{"verb=passed", "verb must be an IRI"},
		{"limit=10", `unknown export parameter "limit"`},
		{"statementId=" + uuid.NewString(), "unknown export parameter"},
	}
	for _, tc := range tests {
		q, _ := url.ParseQuery(tc.query)
		_, err := export.ParseRequest(q)
		if tc.wantErr == "" && err != nil {
			t.Errorf("%q: got %v, want no error", tc.query, err)
		}
		if tc.wantErr != "" && (err == nil || errs.KindOf(err) != errs.Invalid || !strings.Contains(errs.MessageOf(err), tc.wantErr)) {
			t.Errorf("%q: got %v, want an Invalid error with %q", tc.query, err, tc.wantErr)
		}
	}
}

// Fixture statements: verbs, activities and agents that filters tell apart.
const (
	passed      = "http://adlnet.gov/expapi/verbs/passed"
	experienced = "http://adlnet.gov/expapi/verbs/experienced"
	mod1        = "https://reach.test/course/module-1"
	mod2        = "https://reach.test/course/module-2"
)

func stmt(mbox, verb, activity string) map[string]any {
	return map[string]any{
		"id":     uuid.NewString(),
		"actor":  map[string]any{"mbox": mbox, "name": "Learner " + mbox},
		"verb":   map[string]any{"id": verb, "display": map[string]any{"en-GB": verb[strings.LastIndex(verb, "/")+1:]}},
		"object": map[string]any{"id": activity, "definition": map[string]any{"name": map[string]any{"en-GB": "Module"}}},
		"result": map[string]any{"success": true, "score": map[string]any{"scaled": 0.5}},
	}
}

func post(t *testing.T, base, key, secret string, stmts ...map[string]any) {
	t.Helper()
	b, _ := json.Marshal(stmts)
	req, _ := http.NewRequest(http.MethodPost, base+"/xapi/statements", bytes.NewReader(b))
	req.SetBasicAuth(key, secret)
	req.Header.Set("X-Experience-API-Version", "1.0.3")
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(res.Body)
		t.Fatalf("post statements: %d %s", res.StatusCode, raw)
	}
}

// TestDownload exports through the admin API on both backend sets.
func TestDownload(t *testing.T) {
	for _, b := range reachtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			inst := reachtest.Start(t, b)
			ac := client.New(inst.URL)
			if _, err := ac.Login(ctx, "", inst.AdminEmail, inst.AdminPassword); err != nil {
				t.Fatal(err)
			}
			if _, err := ac.CreateBorough(ctx, "hackney", ""); err != nil {
				t.Fatal(err)
			}
			london, err := ac.CreateCredential(ctx, "london", "lms", "all")
			if err != nil {
				t.Fatal(err)
			}
			hackney, err := ac.CreateCredential(ctx, "hackney", "lms", "all")
			if err != nil {
				t.Fatal(err)
			}
			s1 := stmt("mailto:ann@x.org", passed, mod1)
			s2 := stmt("mailto:ann@x.org", experienced, mod2)
			post(t, inst.URL, london.Key, london.Secret, s1, s2)
			time.Sleep(20 * time.Millisecond)
			mid := time.Now().UTC()
			time.Sleep(20 * time.Millisecond)
			s3 := stmt("mailto:bo@x.org", passed, mod2)
			post(t, inst.URL, london.Key, london.Secret, s3)
			post(t, inst.URL, hackney.Key, hackney.Secret, stmt("mailto:cy@x.org", passed, mod1))
			// Enough statements that the export pages more than once.
			var many []map[string]any
			for range 520 {
				many = append(many, stmt("mailto:dee@x.org", experienced, "https://reach.test/other"))
			}
			post(t, inst.URL, london.Key, london.Secret, many...)

			idsOf := func(t *testing.T, params url.Values) []string {
				t.Helper()
				body, err := ac.ExportStatements(ctx, "london", params)
				if err != nil {
					t.Fatalf("export %v: %v", params, err)
				}
				defer body.Close()
				var out []string
				if params.Get("format") == "csv" {
					rows, err := csv.NewReader(body).ReadAll()
					if err != nil {
						t.Fatal(err)
					}
					if !slices.Equal(rows[0], export.Columns) {
						t.Fatalf("got header %v, want %v", rows[0], export.Columns)
					}
					for _, r := range rows[1:] {
						out = append(out, r[0])
					}
					return out
				}
				sc := bufio.NewScanner(body)
				sc.Buffer(nil, 1<<20)
				for sc.Scan() {
					var s struct {
						ID string `json:"id"`
					}
					if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
						t.Fatalf("line %q: %v", sc.Text(), err)
					}
					out = append(out, s.ID)
				}
				return out
			}
			id := func(s map[string]any) string { return s["id"].(string) }
			tests := []struct {
				name   string
				params url.Values
				want   []string
			}{
				{"verb, jsonl", url.Values{"verb": {passed}}, []string{id(s1), id(s3)}},
				{"verb, csv", url.Values{"verb": {passed}, "format": {"csv"}}, []string{id(s1), id(s3)}},
				{"activity", url.Values{"activity": {mod2}}, []string{id(s2), id(s3)}},
				{"agent", url.Values{"agent": {`{"mbox":"mailto:ann@x.org"}`}}, []string{id(s1), id(s2)}},
				{"until", url.Values{"until": {mid.Format(time.RFC3339Nano)}}, []string{id(s1), id(s2)}},
				{"since and verb", url.Values{"since": {mid.Format(time.RFC3339Nano)}, "verb": {passed}}, []string{id(s3)}},
				{"newest first", url.Values{"verb": {passed}, "ascending": {"false"}}, []string{id(s3), id(s1)}},
			}
			for _, tc := range tests {
				if got := idsOf(t, tc.params); !slices.Equal(got, tc.want) {
					t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
				}
			}
			all := idsOf(t, url.Values{"format": {"csv"}})
			if len(all) != 523 || all[0] != id(s1) || all[522] != id(many[519]) {
				t.Errorf("everything: got %d rows from %v to %v, want 523 from s1 to the last", len(all), all[0], all[len(all)-1])
			}

			var ce *client.Error
			for _, q := range []string{"format=xml", "since=yesterday", "agent={bad", "verb=passed", "limit=5"} {
				params, _ := url.ParseQuery(q)
				if _, err := ac.ExportStatements(ctx, "london", params); !errors.As(err, &ce) || ce.Status != http.StatusBadRequest || ce.Message == "" {
					t.Errorf("%s: got %v, want 400 with a message", q, err)
				}
			}
			if _, err := ac.ExportStatements(ctx, "nowhere", nil); !errors.As(err, &ce) || ce.Status != http.StatusNotFound {
				t.Errorf("unknown borough: got %v, want 404", err)
			}
			if _, _, err := ac.CreateBoroughAdmin(ctx, "hackney", "lead@hackney.test", "Lead", "a long enough passphrase"); err != nil {
				t.Fatal(err)
			}
			hc := client.New(inst.URL)
			if _, err := hc.Login(ctx, "hackney", "lead@hackney.test", "a long enough passphrase"); err != nil {
				t.Fatal(err)
			}
			if _, err := hc.ExportStatements(ctx, "london", nil); !errors.As(err, &ce) || ce.Status != http.StatusNotFound {
				t.Errorf("another borough's admin: got %v, want 404", err)
			}
			body, err := hc.ExportStatements(ctx, "hackney", url.Values{"format": {"csv"}})
			if err != nil {
				t.Fatal(err)
			}
			rows, _ := csv.NewReader(body).ReadAll()
			body.Close()
			if len(rows) != 2 || rows[1][4] != "mailto:cy@x.org" {
				t.Errorf("hackney's export: got %v, want its one statement", rows)
			}
		})
	}
}
