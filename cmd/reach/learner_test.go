package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/reach-london/reach/content/launch"
	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/clustertest"
	"github.com/reach-london/reach/internal/reachtest"
)

// TestLearnerCommands: 'reach learner deactivate' and 'reach learner
// erase' go through the same use case as the API: the learner's launch
// token stops working at once on the running server, and erasure
// anonymises the account and is audited as the CLI's.
func TestLearnerCommands(t *testing.T) {
	for _, b := range reachtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			inst := reachtest.Start(t, b)
			a := inst.App
			bor, err := a.Auth.BoroughBySlug(ctx, "london")
			if err != nil {
				t.Fatal(err)
			}
			u, _, err := a.Auth.CreateUser(ctx, "test", auth.NewUser{BoroughID: bor.ID, Email: "cli@example.org", Name: "Cleo",
				Role: auth.RoleLearner, Password: "plum kettle orbit"})
			if err != nil {
				t.Fatal(err)
			}
			v, err := a.Launch().PublishedVersion(ctx, bor.ID)
			if err != nil {
				t.Fatal(err)
			}
			l, err := a.Launch().Launch(ctx, launch.Request{Learner: launch.Learner{ID: u.ID, BoroughID: bor.ID}, Module: v.Modules[0].Module})
			if err != nil {
				t.Fatal(err)
			}
			lu, _ := url.Parse(l.URL)
			q := lu.Query()
			hc := &http.Client{Timeout: 30 * time.Second}
			st, tok, _, err := clustertest.FetchToken(ctx, hc, q.Get("fetch"))
			if err != nil || tok == "" {
				t.Fatalf("fetch: %d %v", st, err)
			}
			au := &clustertest.AU{Base: inst.URL, Token: tok, HTTP: hc, Launch: clustertest.Launch{ActivityID: q.Get("activityId"),
				Registration: q.Get("registration"), Actor: []byte(q.Get("actor"))}}
			if err := au.ReadLaunchData(ctx); err != nil {
				t.Fatal(err)
			}

			c := inst.Config
			env := map[string]string{"REACH_DATA_DIR": c.DataDir, "REACH_DATABASE_URL": c.DatabaseURL, "REACH_SECRETS_KEY": c.SecretsKey,
				"REACH_REDIS_URL": c.RedisURL, "REACH_REDIS_PREFIX": c.RedisPrefix, "REACH_S3_ENDPOINT": c.S3Endpoint,
				"REACH_S3_BUCKET": c.S3Bucket, "REACH_S3_ACCESS_KEY": c.S3AccessKey, "REACH_S3_SECRET_KEY": c.S3SecretKey,
				"REACH_PUBLIC_URL": c.PublicURL, "REACH_CONTENT_URL": c.ContentURL, "REACH_LOG_LEVEL": "warn"}
			for _, s := range []struct {
				args     []string
				wantCode int
				want     string
			}{
				{[]string{"learner", "erase", "cli@example.org"}, 2, "--borough is required"},
				{[]string{"learner", "erase", "--borough", "london"}, 2, "exactly one learner"},
				{[]string{"learner", "deactivate", "--borough", "london", "nobody@example.org"}, 1, "no learner"},
				{[]string{"learner", "deactivate", "--borough", "london", "cli@example.org"}, 0, "deactivated learner " + u.ID},
			} {
				code, out, errOut := cli(t, env, s.args...)
				if code != s.wantCode || !strings.Contains(out+errOut, s.want) {
					t.Errorf("reach %s: exit %d, %q %q; want exit %d with %q", strings.Join(s.args, " "), code, out, errOut, s.wantCode, s.want)
				}
			}
			if err := au.ReadLaunchData(ctx); err == nil || !strings.Contains(err.Error(), "401") {
				t.Errorf("launch token after 'reach learner deactivate': %v, want 401", err)
			}
			if code, out, errOut := cli(t, env, "learner", "erase", "--borough", "london", u.ID); code != 0 || !strings.Contains(out, "erased learner "+u.ID) {
				t.Fatalf("reach learner erase: exit %d %q %q", code, out, errOut)
			}
			erased, err := a.Auth.LearnerIn(ctx, bor.ID, u.ID)
			if err != nil || !auth.IsErased(erased) {
				t.Errorf("after 'reach learner erase': %+v %v, want an erased account", erased, err)
			}
			entries, err := a.Auth.Store().ListAudit(ctx, bor.ID, 20)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, e := range entries {
				found = found || (e.Action == "learner.erase" && e.Actor == "cli" && e.Target == u.ID)
			}
			if !found {
				t.Errorf("no learner.erase audit entry by cli for %s", u.ID)
			}
		})
	}
}
