package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/reach-london/reach/client"
	"github.com/reach-london/reach/internal/reachtest"
)

func TestExportStatements(t *testing.T) {
	for _, b := range reachtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			inst := reachtest.Start(t, b)
			ac := client.New(inst.URL)
			if _, err := ac.Login(ctx, "", inst.AdminEmail, inst.AdminPassword); err != nil {
				t.Fatal(err)
			}
			cred, err := ac.CreateCredential(ctx, "london", "lms", "all")
			if err != nil {
				t.Fatal(err)
			}
			mk := func(verb, activity string) map[string]any {
				return map[string]any{"id": uuid.NewString(), "actor": map[string]any{"mbox": "mailto:ann@x.org", "name": "Ann"},
					"verb": map[string]any{"id": verb, "display": map[string]any{"en-GB": "did"}}, "object": map[string]any{"id": activity}}
			}
			s1 := mk("http://adlnet.gov/expapi/verbs/passed", "https://reach.test/m1")
			s2 := mk("http://adlnet.gov/expapi/verbs/experienced", "https://reach.test/m2")
			body, _ := json.Marshal([]any{s1, s2})
			req, _ := http.NewRequest(http.MethodPost, inst.URL+"/xapi/statements", bytes.NewReader(body))
			req.SetBasicAuth(cred.Key, cred.Secret)
			req.Header.Set("X-Experience-API-Version", "1.0.3")
			req.Header.Set("Content-Type", "application/json")
			res, err := http.DefaultClient.Do(req)
			if err != nil || res.StatusCode != http.StatusOK {
				t.Fatalf("post statements: %v %v", res, err)
			}
			res.Body.Close()

			env := map[string]string{"REACH_DATA_DIR": inst.Config.DataDir, "REACH_DATABASE_URL": inst.Config.DatabaseURL,
				"REACH_SECRETS_KEY": inst.Config.SecretsKey,
				"REACH_LOG_LEVEL":   "warn"}
			dir := t.TempDir()
			out := filepath.Join(dir, "out.csv")

			code, stdout, stderr := cli(t, env, "export", "statements", "--borough", "london")
			lines := strings.Split(strings.TrimSpace(stdout), "\n")
			if code != 0 || len(lines) != 2 || !strings.Contains(lines[0], s1["id"].(string)) || !strings.Contains(lines[1], s2["id"].(string)) {
				t.Fatalf("jsonl to stdout: got exit %d, stdout %q, stderr %q; want the two statements in order", code, stdout, stderr)
			}
			code, _, stderr = cli(t, env, "export", "statements", "--borough", "london", "--format", "csv",
				"--verb", "http://adlnet.gov/expapi/verbs/passed", "--out", out)
			if code != 0 || !strings.Contains(stderr, "exported 1 statements of london to "+out) {
				t.Fatalf("csv to a file: got exit %d, stderr %q", code, stderr)
			}
			f, err := os.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			rows, err := csv.NewReader(f).ReadAll()
			f.Close()
			if err != nil || len(rows) != 2 || rows[1][0] != s1["id"] || rows[1][3] != "Ann" || rows[1][8] != "did" {
				t.Errorf("csv file: got %v, %v; want a header and s1's row", rows, err)
			}
			code, stdout, _ = cli(t, env, "export", "statements", "--borough", "london",
				"--agent", `{"mbox":"mailto:ann@x.org"}`, "--activity", "https://reach.test/m2")
			if code != 0 || strings.Count(stdout, "\n") != 1 || !strings.Contains(stdout, s2["id"].(string)) {
				t.Errorf("agent and activity filter: got exit %d, stdout %q; want s2 alone", code, stdout)
			}

			// Bad input: a clear error, and the output file untouched.
			if err := os.WriteFile(out, []byte("previous"), 0o600); err != nil {
				t.Fatal(err)
			}
			bad := []struct {
				args     []string
				wantCode int
				wantErr  string
			}{
				{[]string{"--borough", "london", "--since", "yesterday"}, 2, `--since: "yesterday" is not an ISO 8601 timestamp`},
				{[]string{"--borough", "london", "--until", "2026-02-30T00:00:00Z"}, 2, "--until"},
				{[]string{"--borough", "london", "--agent", "{bad"}, 2, "--agent"},
				{[]string{"--borough", "london", "--agent", `{"name":"Ann"}`}, 2, "--agent"},
				{[]string{"--borough", "london", "--verb", "passed"}, 2, "--verb must be an IRI"},
				{[]string{"--borough", "london", "--format", "xml"}, 2, `--format must be "jsonl" or "csv"`},
				{[]string{"--format", "csv"}, 2, "--borough is required"},
				{[]string{"--borough", "nowhere"}, 1, `borough "nowhere" not found`},
				{[]string{"--borough", "london", "extra"}, 2, "unexpected arguments"},
			}
			for _, tc := range bad {
				args := append([]string{"export", "statements", "--out", out}, tc.args...)
				code, stdout, stderr := cli(t, env, args...)
				if code != tc.wantCode || !strings.Contains(stderr, tc.wantErr) || stdout != "" {
					t.Errorf("reach %s: got exit %d, stdout %q, stderr %q; want exit %d with %q", strings.Join(args, " "), code, stdout, stderr, tc.wantCode, tc.wantErr)
				}
			}
			if got, _ := os.ReadFile(out); string(got) != "previous" {
				t.Errorf("after failed exports the file holds %q, want it untouched", got)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Errorf("after failed exports the directory holds %d files, want 1 (no temporary files left)", len(entries))
			}
			if code, stdout, _ := cli(t, env, "export", "statements", "--help"); code != 0 || !strings.Contains(stdout, "Usage: reach export statements") {
				t.Errorf("--help: got exit %d, stdout %q", code, stdout)
			}
		})
	}
}
