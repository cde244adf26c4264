package forward_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/reach-london/reach/client"
	"github.com/reach-london/reach/internal/reachtest"
)

// TestForwardingReplicasShareTargets runs two replicas on one database:
// the lease lets only one deliver for a target at a time, so no batch is
// sent twice, and when that replica stops the other carries on.
func TestForwardingReplicasShareTargets(t *testing.T) {
	for _, b := range reachtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			one := startAllowingLoopback(t, b)
			cfg := one.Config
			cfg.Addr, cfg.ContentAddr = closedAddr(t), closedAddr(t)
			cfg.PublicURL, cfg.ContentURL = "http://"+reachtest.Localhost(cfg.Addr), "http://"+cfg.ContentAddr
			two := reachtest.StartWith(t, cfg)
			for _, r := range []*reachtest.Instance{one, two} {
				r.App.StartForwarding(ctx, testOptions())
				t.Cleanup(r.App.StopForwarding)
			}
			ac := adminClient(t, one)
			user := credential(t, ac, one, "london")
			rec := newRecorder(t)
			tg, err := ac.CreateForwarding(ctx, "london", client.ForwardingInput{Name: ptr("recorder"),
				Endpoint: ptr(rec.srv.URL + "/xapi/"), AuthType: ptr("bearer"), Secret: ptr("t")})
			if err != nil {
				t.Fatal(err)
			}
			var sent []map[string]any
			for i := range 60 {
				s := statement(verbExperienced, act1)
				sent = append(sent, s)
				if i%10 == 9 {
					user.post(t, sent[i-9:]...)
				}
			}
			want := ids(sent...)
			eventually(t, 20*time.Second, "delivery by two replicas", func() (bool, string) {
				got, _ := rec.snapshot()
				return len(got) >= len(want), fmt.Sprintf("%d of %d", len(got), len(want))
			})
			got, _ := rec.snapshot()
			for _, id := range want {
				if got[id] != 1 {
					t.Errorf("statement %s delivered %d times, want once", id, got[id])
				}
			}

			// The replica holding the lease stops; the other takes over.
			one.App.StopForwarding()
			more := []map[string]any{statement(verbCompleted, act2), statement(verbCompleted, act3)}
			user.post(t, more...)
			eventually(t, 10*time.Second, "delivery by the remaining replica", func() (bool, string) {
				got, _ := rec.snapshot()
				return got[ids(more...)[0]] == 1 && got[ids(more...)[1]] == 1, fmt.Sprint(len(got))
			})
			// The cursor moves just after the target answers.
			eventually(t, 5*time.Second, "status after delivery", func() (bool, string) {
				st, err := ac.Forwarding(ctx, "london", tg.ID)
				return err == nil && st.Delivered == 62 && st.Lag == 0, fmt.Sprintf("%+v, %v", st, err)
			})

			// A target that refuses shows why, and catches up when it
			// accepts again.
			rec.setFail(true)
			late := statement(verbCompleted, act1)
			user.post(t, late)
			eventually(t, 10*time.Second, "the refusal in the status", func() (bool, string) {
				st, err := ac.Forwarding(ctx, "london", tg.ID)
				return err == nil && st.Attempts >= 1 && st.Lag == 1 &&
					st.LastError == "target answered 503 Service Unavailable", fmt.Sprintf("%+v, %v", st, err)
			})
			rec.setFail(false)
			eventually(t, 10*time.Second, "delivery once the target accepts", func() (bool, string) {
				st, err := ac.Forwarding(ctx, "london", tg.ID)
				got, _ := rec.snapshot()
				return err == nil && got[late["id"].(string)] == 1 && st.Lag == 0 && st.LastError == "" && st.Attempts == 0,
					fmt.Sprintf("%+v, %v", st, err)
			})
		})
	}
}

// TestForwardingSlowTargetDoesNotHoldUpOthers gives one target an LRS that
// takes seconds to answer: another target still gets its statements at
// once.
func TestForwardingSlowTargetDoesNotHoldUpOthers(t *testing.T) {
	ctx := context.Background()
	src := startAllowingLoopback(t, reachtest.Backends()[0])
	src.App.StartForwarding(ctx, testOptions())
	t.Cleanup(src.App.StopForwarding)
	ac := adminClient(t, src)
	user := credential(t, ac, src, "london")
	slow, fast := newRecorder(t), newRecorder(t)
	slow.delay = 4 * time.Second
	for name, r := range map[string]*recorder{"slow": slow, "fast": fast} {
		if _, err := ac.CreateForwarding(ctx, "london", client.ForwardingInput{Name: ptr(name),
			Endpoint: ptr(r.srv.URL + "/xapi/"), AuthType: ptr("bearer"), Secret: ptr("t")}); err != nil {
			t.Fatal(err)
		}
	}
	first, second := statement(verbCompleted, act1), statement(verbCompleted, act2)
	user.post(t, first)
	time.Sleep(300 * time.Millisecond) // the slow target is now busy with the first
	user.post(t, second)
	start := time.Now()
	eventually(t, 10*time.Second, "the fast target's statements", func() (bool, string) {
		got, _ := fast.snapshot()
		return got[ids(second)[0]] == 1, fmt.Sprint(got)
	})
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the fast target waited %v behind the slow one", d)
	}
	eventually(t, 20*time.Second, "the slow target's statements", func() (bool, string) {
		got, _ := slow.snapshot()
		return got[ids(first)[0]] == 1 && got[ids(second)[0]] == 1, fmt.Sprint(got)
	})
}

// TestForwardingIsolatesARefusedStatement has the target refuse one
// statement of a batch: the statements before it are delivered, the
// status names the refused one, and nothing after it jumps the queue.
func TestForwardingIsolatesARefusedStatement(t *testing.T) {
	ctx := context.Background()
	src := startAllowingLoopback(t, reachtest.Backends()[0])
	src.App.StartForwarding(ctx, testOptions())
	t.Cleanup(src.App.StopForwarding)
	ac := adminClient(t, src)
	user := credential(t, ac, src, "london")
	rec := newRecorder(t)
	tg, err := ac.CreateForwarding(ctx, "london", client.ForwardingInput{Name: ptr("picky"),
		Endpoint: ptr(rec.srv.URL + "/xapi/"), AuthType: ptr("bearer"), Secret: ptr("t")})
	if err != nil {
		t.Fatal(err)
	}
	var sent []map[string]any
	for range 4 { // one batch (testOptions' Batch is 4)
		sent = append(sent, statement(verbCompleted, act1))
	}
	bad := ids(sent[2])[0]
	rec.mu.Lock()
	rec.refuse = map[string]bool{bad: true}
	rec.mu.Unlock()
	user.post(t, sent...)
	eventually(t, 10*time.Second, "the refused statement named in the status", func() (bool, string) {
		st, err := ac.Forwarding(ctx, "london", tg.ID)
		return err == nil && strings.HasPrefix(st.LastError, "statement "+bad+" refused: target answered 400") && st.Lag == 2,
			fmt.Sprintf("%+v, %v", st, err)
	})
	got, _ := rec.snapshot()
	if got[ids(sent[0])[0]] != 1 || got[ids(sent[1])[0]] != 1 || got[bad] != 0 || got[ids(sent[3])[0]] != 0 {
		t.Errorf("got %v, want the two before the refused statement once each and nothing after it", got)
	}
	// An admin gives up on it; the rest follows.
	skippedID, _, err := ac.SkipForwarding(ctx, "london", tg.ID)
	if err != nil || skippedID != bad {
		t.Fatalf("skip: got %q, %v; want %s", skippedID, err, bad)
	}
	eventually(t, 10*time.Second, "delivery after the skip", func() (bool, string) {
		got, _ := rec.snapshot()
		st, err := ac.Forwarding(ctx, "london", tg.ID)
		return got[ids(sent[3])[0]] == 1 && err == nil && st.Lag == 0 && st.LastError == "", fmt.Sprintf("%v %+v", got, st)
	})
	if got, _ := rec.snapshot(); got[bad] != 0 {
		t.Errorf("the skipped statement was sent")
	}
	var ce *client.Error
	if _, _, err := ac.SkipForwarding(ctx, "london", tg.ID); !errors.As(err, &ce) || ce.Status != http.StatusConflict {
		t.Errorf("skip with nothing waiting: got %v, want 409", err)
	}
	entries, err := ac.Audit(ctx, "london")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range entries {
		found = found || e.Action == "forwarding.skip"
	}
	if !found {
		t.Errorf("the skip is not in the audit log")
	}
}
