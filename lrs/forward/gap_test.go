package forward_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/reach-london/reach/client"
	"github.com/reach-london/reach/internal/reachtest"
)

// TestForwardingWaitsForSequenceGaps simulates, on PostgreSQL, an insert
// transaction that has taken its sequence number but commits after a
// later statement: the worker must not move the cursor past the gap
// until the grace period ends, or the late statement would never be sent.
// A gap that never fills (a rolled-back insert) is passed after the grace
// period. SQLite numbers statements under its write lock, so gaps there
// come only from erasure; PostgreSQL is where the race lives.
func TestForwardingWaitsForSequenceGaps(t *testing.T) {
	b := reachtest.Backends()[1]
	if !b.Production {
		t.Fatal("Backends()[1] is not the production set")
	}
	ctx := context.Background()
	src := startAllowingLoopback(t, b)
	opts := testOptions()
	opts.Grace = 4 * time.Second
	src.App.StartForwarding(ctx, opts)
	t.Cleanup(src.App.StopForwarding)
	ac := adminClient(t, src)
	user := credential(t, ac, src, "london")
	rec := newRecorder(t)
	tg, err := ac.CreateForwarding(ctx, "london", client.ForwardingInput{Name: ptr("recorder"),
		Endpoint: ptr(rec.srv.URL + "/xapi/"), AuthType: ptr("bearer"), Secret: ptr("t")})
	if err != nil {
		t.Fatal(err)
	}
	seqStmt := `SELECT nextval(pg_get_serial_sequence('lrs_statements', 'seq'))`

	// An insert in flight holds a lower seq while a later one commits.
	tx, err := src.App.DB.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	var lateSeq int64
	if err := tx.QueryRow(ctx, seqStmt).Scan(&lateSeq); err != nil {
		t.Fatal(err)
	}
	x := statement(verbCompleted, act1)
	user.post(t, x)
	time.Sleep(1500 * time.Millisecond) // 15 polls, well inside the grace period
	if got, _ := rec.snapshot(); len(got) != 0 {
		t.Fatalf("the worker sent %v past an unsettled gap", got)
	}
	if st, _ := ac.Forwarding(ctx, "london", tg.ID); st.Cursor >= lateSeq {
		t.Fatalf("cursor %d moved past the in-flight seq %d", st.Cursor, lateSeq)
	}
	late := statement(verbExperienced, act2)
	body, _ := json.Marshal(late)
	if _, err := tx.Exec(ctx, `INSERT INTO lrs_statements (seq, borough_id, id, stored, hash, body) VALUES ($1, $2, $3, $4, 'test', $5)`,
		lateSeq, tg.BoroughID, late["id"], time.Now().UnixMilli(), string(body)); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the late statement and the one after it", func() (bool, string) {
		got, _ := rec.snapshot()
		return got[late["id"].(string)] == 1 && got[x["id"].(string)] == 1, fmt.Sprint(got)
	})

	// A gap that never fills is passed once it is older than the grace
	// period, not before.
	tx2, err := src.App.DB.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var lost int64
	if err := tx2.QueryRow(ctx, seqStmt).Scan(&lost); err != nil {
		t.Fatal(err)
	}
	if err := tx2.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	y := statement(verbCompleted, act3)
	user.post(t, y)
	start := time.Now()
	eventually(t, 15*time.Second, "the statement after a rolled-back gap", func() (bool, string) {
		got, _ := rec.snapshot()
		return got[y["id"].(string)] == 1, fmt.Sprint(got)
	})
	if waited := time.Since(start); waited < 2*time.Second {
		t.Errorf("the statement after the gap came after %v, want the gap waited for (grace %v)", waited, opts.Grace)
	}
	// The cursor moves just after the target answers.
	eventually(t, 5*time.Second, "cursor past the rolled-back gap", func() (bool, string) {
		st, err := ac.Forwarding(ctx, "london", tg.ID)
		return err == nil && st.Lag == 0 && st.Delivered == 3 && st.Cursor > lost,
			fmt.Sprintf("lag %d delivered %d cursor %d (gap at %d), %v", st.Lag, st.Delivered, st.Cursor, lost, err)
	})
}
