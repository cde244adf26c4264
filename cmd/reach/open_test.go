package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reach-london/reach/internal/testenv"
)

// Only serve and migrate create a database: any other command run against
// a data directory or PostgreSQL database Reach never set up refuses,
// naming it and what to do, and creates nothing; against a set-up one it
// says which database it opened (issue 15).
func TestCommandsRefuseAnEmptyNewDatabase(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "data")
			env := map[string]string{"REACH_DATA_DIR": dir, "REACH_LOG_LEVEL": "warn"}
			where := filepath.Join(dir, "reach.db")
			if backend == "postgres" {
				env["REACH_DATABASE_URL"] = testenv.PostgresURL(t)
				where = strings.SplitN(env["REACH_DATABASE_URL"], "?", 2)[0]
			}
			for _, args := range [][]string{{"borough", "list"}, {"borough", "create", "camden"}, {"admin", "create", "a@b.test"}} {
				code, out, errOut := cli(t, env, args...)
				if code != 1 || out != "" || !strings.Contains(errOut, where) || !strings.Contains(errOut, "'reach serve'") ||
					!strings.Contains(errOut, "'reach migrate'") || !strings.Contains(errOut, "REACH_DATA_DIR") || !strings.Contains(errOut, "REACH_DATABASE_URL") {
					t.Errorf("reach %s on a new database: exit %d, stdout %q, stderr %q; want exit 1 naming %s and what to do",
						strings.Join(args, " "), code, out, errOut, where)
				}
			}
			if backend == "sqlite" {
				if _, err := os.Stat(dir); !os.IsNotExist(err) {
					t.Errorf("a refused command left %s behind (%v)", dir, err)
				}
			}
			if code, _, errOut := cli(t, env, "migrate"); code != 0 {
				t.Fatalf("migrate: exit %d: %s", code, errOut)
			}
			code, _, errOut := cli(t, env, "borough", "list")
			if code != 0 || !strings.Contains(errOut, "reach: using the database "+where) {
				t.Errorf("borough list after migrate: exit %d, stderr %q; want the database named", code, errOut)
			}
		})
	}
}
