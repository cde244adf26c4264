package forward_test

import (
	"context"
	"encoding/json"
	"fmt"

	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/reach-london/reach/client"
	"github.com/reach-london/reach/internal/reachtest"
)

func ptr[T any](v T) *T { return &v }

// TestForwardingToAnotherReach forwards from one Reach instance to a
// second one with its own credentials, through the admin API, on both
// backend sets: delivery with ids preserved, filters, borough isolation,
// the target down for a while, pause and resume, and a restart of the
// forwarding instance.
func TestForwardingToAnotherReach(t *testing.T) {
	for _, b := range reachtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			src := startAllowingLoopback(t, b)
			dst := startAllowingLoopback(t, b)
			src.App.StartForwarding(ctx, testOptions())
			t.Cleanup(src.App.StopForwarding)

			ac, dc := adminClient(t, src), adminClient(t, dst)
			if _, err := ac.CreateBorough(ctx, "hackney", ""); err != nil {
				t.Fatal(err)
			}
			srcLondon, srcHackney := credential(t, ac, src, "london"), credential(t, ac, src, "hackney")
			dstLondon := credential(t, dc, dst, "london")
			recVerb, recAct, recHackney := newRecorder(t), newRecorder(t), newRecorder(t)

			main, err := ac.CreateForwarding(ctx, "london", client.ForwardingInput{Name: ptr("second reach"),
				Endpoint: ptr(dst.URL + "/xapi/"), AuthType: ptr("basic"), AuthKey: ptr(dstLondon.key), Secret: ptr(dstLondon.secret)})
			if err != nil {
				t.Fatalf("create target: %v", err)
			}
			byVerb, err := ac.CreateForwarding(ctx, "london", client.ForwardingInput{Name: ptr("by verb"),
				Endpoint: ptr(recVerb.srv.URL + "/xapi"), AuthType: ptr("bearer"), Secret: ptr("verb-token"),
				Verbs: &[]string{verbCompleted}})
			if err != nil {
				t.Fatalf("create verb target: %v", err)
			}
			if _, err := ac.CreateForwarding(ctx, "london", client.ForwardingInput{Name: ptr("by activity"),
				Endpoint: ptr(recAct.srv.URL + "/xapi/"), Version: ptr("2.0.0"), AuthType: ptr("bearer"), Secret: ptr("act-token"),
				Activities: &[]string{act1}}); err != nil {
				t.Fatalf("create activity target: %v", err)
			}
			if _, err := ac.CreateForwarding(ctx, "hackney", client.ForwardingInput{Name: ptr("hackney lrs"),
				Endpoint: ptr(recHackney.srv.URL + "/xapi/"), AuthType: ptr("basic"), AuthKey: ptr("hk"), Secret: ptr("hs")}); err != nil {
				t.Fatalf("create hackney target: %v", err)
			}

			// Secrets are never shown.
			var raw json.RawMessage
			if err := ac.Do(ctx, http.MethodGet, "/api/v1/boroughs/london/forwarding", nil, &raw); err != nil {
				t.Fatal(err)
			}
			for _, secret := range []string{dstLondon.secret, "verb-token", "act-token"} {
				if strings.Contains(string(raw), secret) {
					t.Errorf("target list shows a secret: %s", raw)
				}
			}

			a := statement(verbCompleted, act2)
			bb := statement(verbExperienced, act1)
			c := statement(verbExperienced, act3)
			c["context"] = map[string]any{"contextActivities": map[string]any{"parent": []any{map[string]any{"id": act1}}}}
			d := statement(verbExperienced, act3)
			e := statement(verbCompleted, act1)
			srcLondon.post(t, a, bb, c, d, e)
			void := statement("http://adlnet.gov/expapi/verbs/voided", act1)
			void["object"] = map[string]any{"objectType": "StatementRef", "id": a["id"]}
			srcLondon.post(t, void)
			h1, h2 := statement(verbCompleted, act1), statement(verbExperienced, act2)
			srcHackney.post(t, h1, h2)

			// Everything arrives at the second Reach with the same ids;
			// the voided one is there, voided.
			eventually(t, 20*time.Second, "statements at the second Reach", func() (bool, string) {
				return hasAll(dstLondon.ids(t), ids(bb, c, d, e, void))
			})
			if code, body := dstLondon.do(t, http.MethodGet, "statements?voidedStatementId="+a["id"].(string), nil); code != http.StatusOK {
				t.Errorf("voided statement at the target: got %d %s, want 200", code, body)
			}
			if got := dstLondon.ids(t); got[h1["id"].(string)] || got[h2["id"].(string)] {
				t.Errorf("hackney's statements reached london's target")
			}

			// Filters: by verb (voiding statements follow what they
			// void), by activity (object or context activity).
			wantExactly := func(name string, r *recorder, want []string, auth string) {
				t.Helper()
				eventually(t, 20*time.Second, name, func() (bool, string) {
					got, _ := r.snapshot()
					have := map[string]bool{}
					for id := range got {
						have[id] = true
					}
					return hasAll(have, want)
				})
				time.Sleep(300 * time.Millisecond) // room for anything unwanted to arrive
				got, auths := r.snapshot()
				if len(got) != len(want) {
					t.Errorf("%s: got %v, want exactly %v", name, got, want)
				}
				for _, a := range auths {
					if a != auth {
						t.Errorf("%s: got Authorization %q, want %q", name, a, auth)
					}
				}
			}
			wantExactly("verb filter", recVerb, ids(a, e, void), "Bearer verb-token")
			wantExactly("activity filter", recAct, ids(bb, c, e), "Bearer act-token")
			wantExactly("hackney's target", recHackney, ids(h1, h2), "Basic aGs6aHM=")

			// The second Reach goes down for a while.
			sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			if err := dst.Server.Shutdown(sctx); err != nil {
				t.Fatal(err)
			}
			cancel()
			var during []map[string]any
			for range 6 {
				during = append(during, statement(verbExperienced, act2))
			}
			srcLondon.post(t, during...)
			eventually(t, 20*time.Second, "failure shown in status", func() (bool, string) {
				st, err := ac.Forwarding(ctx, "london", main.ID)
				if err != nil {
					return false, err.Error()
				}
				ok := st.LastError != "" && st.Attempts >= 2 && st.Lag >= 6 && st.NextRetryAt != nil && st.OldestUndeliveredAt != nil
				return ok, fmt.Sprintf("%+v", st)
			})
			metrics := get(t, src.URL+"/metrics")
			if !strings.Contains(metrics, `reach_forwarding_lag_statements{borough_id="`) ||
				!strings.Contains(metrics, `reach_forwarding_consecutive_failures{`) {
				t.Errorf("metrics lack the forwarding series:\n%s", grep(metrics, "reach_forwarding"))
			}
			srv2, err := dst.App.Server(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := srv2.Start(); err != nil {
				t.Fatalf("restart the second Reach: %v", err)
			}
			t.Cleanup(func() {
				sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = srv2.Shutdown(sctx)
			})
			eventually(t, 20*time.Second, "delivery after the target came back", func() (bool, string) {
				return hasAll(dstLondon.ids(t), ids(append(during, bb, c, d, e, void)...))
			})
			eventually(t, 5*time.Second, "status recovered", func() (bool, string) {
				st, err := ac.Forwarding(ctx, "london", main.ID)
				if err != nil {
					return false, err.Error()
				}
				return st.LastError == "" && st.Attempts == 0 && st.Lag == 0 && st.Delivered >= 12, fmt.Sprintf("%+v", st)
			})

			// Pause holds statements back; resume sends them.
			if _, err := ac.PauseForwarding(ctx, "london", byVerb.ID); err != nil {
				t.Fatal(err)
			}
			p1 := statement(verbCompleted, act3)
			srcLondon.post(t, p1)
			time.Sleep(time.Second)
			if got, _ := recVerb.snapshot(); got[p1["id"].(string)] > 0 {
				t.Errorf("a paused target received a statement")
			}
			if st, _ := ac.Forwarding(ctx, "london", byVerb.ID); st.Enabled || st.Lag != 1 {
				t.Errorf("paused target: got enabled %v lag %d, want false 1", st.Enabled, st.Lag)
			}
			if _, err := ac.ResumeForwarding(ctx, "london", byVerb.ID); err != nil {
				t.Fatal(err)
			}
			eventually(t, 10*time.Second, "delivery after resume", func() (bool, string) {
				got, _ := recVerb.snapshot()
				return got[p1["id"].(string)] == 1, fmt.Sprint(got)
			})

			// The forwarding instance restarts: statements stored while
			// no worker ran are sent from the durable cursor, and nothing
			// already sent is sent again.
			eventually(t, 10*time.Second, "everything delivered before the restart", func() (bool, string) {
				st, err := ac.Forwarding(ctx, "london", main.ID)
				return err == nil && st.Lag == 0, fmt.Sprintf("%+v, %v", st, err)
			})
			src.App.StopForwarding()
			before, err := ac.Forwarding(ctx, "london", main.ID)
			if err != nil {
				t.Fatal(err)
			}
			r1, r2, r3 := statement(verbCompleted, act1), statement(verbExperienced, act2), statement(verbCompleted, act3)
			srcLondon.post(t, r1, r2, r3)
			if st, _ := ac.Forwarding(ctx, "london", main.ID); st.Cursor != before.Cursor || st.Lag != 3 {
				t.Errorf("with no worker: got cursor %d lag %d, want %d 3", st.Cursor, st.Lag, before.Cursor)
			}
			sctx, cancel = context.WithTimeout(ctx, 5*time.Second)
			_ = src.Server.Shutdown(sctx)
			cancel()
			if err := src.App.Close(); err != nil {
				t.Fatal(err)
			}
			src2 := reachtest.StartWith(t, src.Config)
			src2.App.StartForwarding(ctx, testOptions())
			t.Cleanup(src2.App.StopForwarding)
			eventually(t, 20*time.Second, "delivery after the forwarding instance restarted", func() (bool, string) {
				return hasAll(dstLondon.ids(t), ids(r1, r2, r3))
			})
			wantExactly("verb filter after restart", recVerb, ids(a, e, void, p1, r1, r3), "Bearer verb-token")
			got, _ := recVerb.snapshot()
			for id, n := range got {
				if n != 1 {
					t.Errorf("statement %s sent %d times to the verb target, want once", id, n)
				}
			}
		})
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
