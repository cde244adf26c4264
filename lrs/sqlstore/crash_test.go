package sqlstore_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/db"
	"github.com/reach-london/reach/internal/testenv"
	"github.com/reach-london/reach/lrs"
	"github.com/reach-london/reach/lrs/sqlstore"
)

// TestAcknowledgedWritesSurviveKill runs a writer in a child process that
// prints each statement id once InsertStatements has returned, kills it
// with SIGKILL mid-stream, and checks that every printed id is stored.
func TestAcknowledgedWritesSurviveKill(t *testing.T) {
	if os.Getenv("REACH_CRASH_CHILD_DB") != "" {
		t.Skip("running as the crash child")
	}
	for name, u := range testenv.DatabaseURLs(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			d, err := db.Open(ctx, u, db.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := d.Migrate(ctx, sqlstore.Migrations); err != nil {
				t.Fatal(err)
			}
			d.Close()
			cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.v")
			cmd.Env = append(os.Environ(), "REACH_CRASH_CHILD_DB="+u)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var acked []string
			sc := bufio.NewScanner(out)
			deadline := time.After(20 * time.Second)
			for len(acked) < 300 && sc.Scan() {
				if id, ok := strings.CutPrefix(sc.Text(), "ACK "); ok {
					acked = append(acked, id)
				}
				select {
				case <-deadline:
					t.Fatal("the child acknowledged too little in time")
				default:
				}
			}
			_ = cmd.Process.Signal(syscall.SIGKILL)
			_ = cmd.Wait()
			if len(acked) == 0 {
				t.Fatal("the child acknowledged nothing")
			}
			d, err = db.Open(ctx, u, db.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			store := sqlstore.New(d)
			for _, id := range acked {
				if _, err := store.GetStatement(ctx, "crash", id, false); err != nil {
					t.Fatalf("acknowledged statement %s lost after SIGKILL: %v", id, err)
				}
			}
		})
	}
}

// TestCrashChild is the writer TestAcknowledgedWritesSurviveKill kills.
func TestCrashChild(t *testing.T) {
	u := os.Getenv("REACH_CRASH_CHILD_DB")
	if u == "" {
		t.Skip("only run as the child of TestAcknowledgedWritesSurviveKill")
	}
	ctx := context.Background()
	d, err := db.Open(ctx, u, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc := lrs.NewService(sqlstore.New(d), nil)
	p := auth.Principal{BoroughID: "crash", Scopes: []auth.Scope{auth.ScopeAll},
		Authority: []byte(`{"objectType":"Agent","account":{"homePage":"https://reach.example","name":"crash"}}`)}
	for i := 0; ; i++ {
		body := fmt.Sprintf(`[{"actor":{"mbox":"mailto:a@example.org"},"verb":{"id":"http://example.org/v"},"object":{"id":"http://example.org/a/%d"}},`+
			`{"actor":{"mbox":"mailto:b@example.org"},"verb":{"id":"http://example.org/v"},"object":{"id":"http://example.org/b/%d"}}]`, i, i)
		stmts, err := lrs.ParseStatements([]byte(body), lrs.V103)
		if err != nil {
			t.Fatal(err)
		}
		ids, err := svc.Store(ctx, p, stmts, nil, lrs.V103)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			fmt.Printf("ACK %s\n", id)
		}
	}
}
