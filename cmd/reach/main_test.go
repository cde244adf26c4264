package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reach-london/reach/internal/testenv"
)

// cli runs reach in-process with the given environment and returns its
// exit code and output.
func cli(t *testing.T, envVars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := &cliEnv{stdout: &out, stderr: &errOut, getenv: func(k string) string { return envVars[k] }}
	code := runCLI(context.Background(), env, args)
	return code, out.String(), errOut.String()
}

func TestCLI(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"REACH_DATA_DIR": t.TempDir(), "REACH_LOG_LEVEL": "warn"}
			if backend == "postgres" {
				env["REACH_DATABASE_URL"] = testenv.PostgresURL(t)
			}
			steps := []struct {
				args     []string
				wantCode int
				wantOut  string // substring of stdout
				wantErr  string // substring of stderr
			}{
				{[]string{"migrate"}, 0, "applied", ""},
				{[]string{"migrate"}, 0, "applied 0 migration", ""},
				{[]string{"borough", "create", "london"}, 0, "created borough london (London)", ""},
				{[]string{"borough", "create", "london"}, 1, "", "already exists"},
				{[]string{"borough", "create", "hackney", "--name", "Hackney Council"}, 0, "published the base course as version 1", ""},
				{[]string{"borough", "create", "Bad Slug"}, 1, "", "only lower-case letters"},
				{[]string{"borough", "create"}, 2, "", "exactly one borough slug"},
				{[]string{"borough", "list"}, 0, "hackney\tHackney Council", ""},
				{[]string{"admin", "create", "not-an-email"}, 1, "", "not a valid email"},
				{[]string{"admin", "create", "lead@hackney.test", "--borough", "hackney"}, 0, "one-time password", ""},
				{[]string{"admin", "create", "lead@x.test", "--borough", "nowhere"}, 1, "", `borough "nowhere" not found`},
				{[]string{"admin", "reset-password", "lead@hackney.test", "--borough", "hackney"}, 0, "one-time password", ""},
				{[]string{"admin", "reset-password", "nobody@hackney.test", "--borough", "hackney"}, 1, "", "not found"},
				{[]string{"credentials", "create", "--borough", "hackney"}, 2, "", "--scope is required"},
				{[]string{"credentials", "create", "--borough", "hackney", "--scope", "everything"}, 2, "", `unknown scope "everything"`},
				{[]string{"credentials", "create", "--scope", "all"}, 2, "", "--borough is required"},
				{[]string{"credentials", "create", "--borough", "nowhere", "--scope", "all"}, 1, "", "not found"},
				{[]string{"credentials", "create", "--borough", "hackney", "--scope", "statements/read,state"}, 0, "secret:", ""},
				{[]string{"keys", "rotate"}, 0, "new signing key", ""},
				{[]string{"frobnicate"}, 2, "", "unknown command"},
				{[]string{"borough", "create", "--help"}, 0, "Usage: reach borough create", ""},
			}
			for _, s := range steps {
				code, out, errOut := cli(t, env, s.args...)
				if code != s.wantCode || !strings.Contains(out, s.wantOut) || !strings.Contains(errOut, s.wantErr) {
					t.Errorf("reach %s: got exit %d, stdout %q, stderr %q; want exit %d, stdout with %q, stderr with %q",
						strings.Join(s.args, " "), code, out, errOut, s.wantCode, s.wantOut, s.wantErr)
				}
			}
			if code, out, errOut := cli(t, env, "borough", "create", "camden", "--publish-course=false"); code != 0 || out != "created borough camden (Camden)\n" {
				t.Errorf("borough create --publish-course=false: exit %d, stdout %q, stderr %q; want the borough alone", code, out, errOut)
			}
			code, out, errOut := cli(t, env, "credentials", "create", "--borough", "hackney", "--scope", "all", "--json")
			if code != 0 {
				t.Fatalf("credentials --json: exit %d: %s", code, errOut)
			}
			var cred map[string]string
			if err := json.Unmarshal([]byte(out), &cred); err != nil {
				t.Fatalf("credentials --json printed %q: %v", out, err)
			}
			if cred["key"] == "" || len(cred["secret"]) < 40 || cred["endpoint"] != "http://localhost:8080/xapi/" {
				t.Errorf("got %v, want key, a long secret and the endpoint", cred)
			}
		})
	}
}

func TestServeRejectsBadConfiguration(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{"bad database URL", map[string]string{"REACH_DATABASE_URL": "mysql://root@localhost/reach"}, "REACH_DATABASE_URL"},
		{"unreachable database", map[string]string{"REACH_DATABASE_URL": "postgres://nobody@127.0.0.1:1/reach?connect_timeout=2"}, "database (REACH_DATABASE_URL)"},
		{"bad address", map[string]string{"REACH_ADDR": "eighty"}, "REACH_ADDR"},
		{"same origins", map[string]string{"REACH_PUBLIC_URL": "http://reach.test", "REACH_CONTENT_URL": "http://reach.test"}, "same origin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.env["REACH_DATA_DIR"] = t.TempDir()
			code, _, errOut := cli(t, tt.env, "serve")
			if code == 0 || !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("got exit %d, stderr %q; want non-zero naming %s", code, errOut, tt.wantErr)
			}
			if strings.Contains(errOut, "panic") {
				t.Errorf("serve panicked: %s", errOut)
			}
		})
	}
}

func TestPrintConfigMasksSecrets(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "s3secret")
	writeFile(t, secretFile, "hunter2-secret\n")
	code, out, errOut := cli(t, map[string]string{
		"REACH_DATABASE_URL":       "postgres://reach:hunter2@db.internal:5432/reach",
		"REACH_S3_ENDPOINT":        "minio:9000",
		"REACH_S3_BUCKET":          "reach",
		"REACH_S3_ACCESS_KEY":      "reach",
		"REACH_S3_SECRET_KEY_FILE": secretFile,
	}, "serve", "--print-config", "--addr", ":9090")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if strings.Contains(out, "hunter2") {
		t.Fatalf("--print-config leaks a secret:\n%s", out)
	}
	for _, want := range []string{"REACH_ADDR=:9090", "REACH_S3_SECRET_KEY=********", "db.internal:5432"} {
		if !strings.Contains(out, want) {
			t.Errorf("--print-config lacks %q:\n%s", want, out)
		}
	}
}
