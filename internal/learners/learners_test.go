package learners_test

import (
	"bytes"
	"context"
	"encoding/json"
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

// replicaSet is one Reach server, or (production backends) two replicas
// over the same PostgreSQL, Redis and object storage.
type replicaSet struct {
	a        *reachtest.Instance
	replicas []*reachtest.Instance
	borough  auth.Borough
	lrs      clustertest.LRSClient
	hc       *http.Client
}

func startReplicas(t *testing.T, b reachtest.Backend) *replicaSet {
	t.Helper()
	a := reachtest.Start(t, b)
	rs := &replicaSet{a: a, replicas: []*reachtest.Instance{a}, hc: &http.Client{Timeout: 30 * time.Second}}
	if b.Production {
		rs.replicas = append(rs.replicas, a.Replica(t))
	}
	ctx := context.Background()
	var err error
	if rs.borough, err = a.App.Auth.BoroughBySlug(ctx, a.Config.DefaultBorough); err != nil {
		t.Fatal(err)
	}
	cred, secret, err := a.App.Auth.CreateCredential(ctx, "test", rs.borough.ID, "reader", []auth.Scope{auth.ScopeAll})
	if err != nil {
		t.Fatal(err)
	}
	rs.lrs = clustertest.LRSClient{Cred: clustertest.Credential{Key: cred.Key, Secret: secret}, HTTP: rs.hc}
	return rs
}

// learnerWithLaunch is a learner signed in through the JSON API (a bearer
// session token) with one redeemed launch (the AU's token) and one launch
// whose fetch URL has not been redeemed yet.
type learnerWithLaunch struct {
	user     auth.User
	session  string
	au       *clustertest.AU
	fetchURL string
}

func (rs *replicaSet) newLearner(t *testing.T, email string) learnerWithLaunch {
	t.Helper()
	ctx := context.Background()
	a := rs.a.App
	u, _, err := a.Auth.CreateUser(ctx, "test", auth.NewUser{BoroughID: rs.borough.ID, Email: email, Name: "Erin Example",
		Role: auth.RoleLearner, Password: "a long learner password 1"})
	if err != nil {
		t.Fatal(err)
	}
	_, session, _, err := a.Auth.Login(ctx, rs.borough.ID, email, "a long learner password 1")
	if err != nil {
		t.Fatal(err)
	}
	v, err := a.Launch().PublishedVersion(ctx, rs.borough.ID)
	if err != nil || len(v.Modules) < 2 {
		t.Fatalf("published course: %v (%d modules)", err, len(v.Modules))
	}
	launchOf := func(module string) clustertest.Launch {
		l, err := a.Launch().Launch(ctx, launch.Request{Learner: launch.Learner{ID: u.ID, BoroughID: rs.borough.ID, Name: u.Name},
			Module: module})
		if err != nil {
			t.Fatalf("launch %s: %v", module, err)
		}
		q, _ := url.Parse(l.URL)
		p := q.Query()
		return clustertest.Launch{URL: l.URL, Endpoint: p.Get("endpoint"), Fetch: p.Get("fetch"), Registration: p.Get("registration"),
			ActivityID: p.Get("activityId"), Actor: json.RawMessage(p.Get("actor"))}
	}
	first, second := launchOf(v.Modules[0].Module), launchOf(v.Modules[1].Module)
	st, tok, code, err := clustertest.FetchToken(ctx, rs.hc, first.Fetch)
	if err != nil || st != http.StatusOK || tok == "" {
		t.Fatalf("fetch: %d %q %q %v", st, tok, code, err)
	}
	au := &clustertest.AU{Base: rs.a.URL, Token: tok, Launch: first, HTTP: rs.hc}
	if err := au.ReadLaunchData(ctx); err != nil {
		t.Fatal(err)
	}
	if err := au.Post(ctx, "initialized", au.Statement(clustertest.VerbInit, "", true, false, nil)); err != nil {
		t.Fatal(err)
	}
	return learnerWithLaunch{user: u, session: session, au: au, fetchURL: second.Fetch}
}

// api sends a request to the JSON API of base with a bearer token.
func (rs *replicaSet) api(t *testing.T, base, method, path, token string) int {
	t.Helper()
	req, _ := http.NewRequest(method, base+path, bytes.NewReader(nil))
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := rs.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// assertLockedOut checks, on every replica, that the learner's launch
// token neither reads nor writes (401), that their sign-in token is
// refused (401), and that the fetch URL of a launch not yet redeemed
// hands out no token.
func (rs *replicaSet) assertLockedOut(t *testing.T, l learnerWithLaunch, when string) {
	t.Helper()
	ctx := context.Background()
	for i, r := range rs.replicas {
		l.au.Base = r.URL
		q := url.Values{"activityId": {l.au.Launch.ActivityID}, "agent": {string(l.au.Launch.Actor)},
			"registration": {l.au.Launch.Registration}, "stateId": {"LMS.LaunchData"}}
		if st, body, err := l.au.XAPI(ctx, http.MethodGet, "activities/state?"+q.Encode(), nil); err != nil || st != http.StatusUnauthorized {
			t.Errorf("%s, replica %d: launch token reads LMS.LaunchData: %d %s %v, want 401", when, i, st, body, err)
		}
		stmt := l.au.Statement(clustertest.VerbExp, "", false, false, nil)
		if st, body, err := l.au.XAPI(ctx, http.MethodPost, "statements", stmt); err != nil || st != http.StatusUnauthorized {
			t.Errorf("%s, replica %d: launch token writes a statement: %d %s %v, want 401", when, i, st, body, err)
		}
		if st := rs.api(t, r.URL, http.MethodGet, "/api/v1/me", l.session); st != http.StatusUnauthorized {
			t.Errorf("%s, replica %d: sign-in token: %d, want 401", when, i, st)
		}
	}
	st, tok, code, err := clustertest.FetchToken(ctx, rs.hc, clustertest.Rebase(l.fetchURL, rs.replicas[len(rs.replicas)-1].URL))
	if err != nil || tok != "" || code == "" {
		t.Errorf("%s: fetch URL of an open launch: %d token %v code %q %v, want a cmi5 error and no token", when, st, tok != "", code, err)
	}
}

// TestDeactivateAndEraseEndEverySession: deactivating or erasing a
// learner ends their sign-in sessions, launch tokens and fetch URLs at
// once on every replica, and after erasure no statement about the
// learner exists, even after their old token tried to write one.
func TestDeactivateAndEraseEndEverySession(t *testing.T) {
	for _, b := range reachtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			rs := startReplicas(t, b)
			ctx := context.Background()
			svc := rs.a.App.Learners()

			t.Run("deactivate", func(t *testing.T) {
				l := rs.newLearner(t, "deact@example.org")
				// The token works on every replica before.
				for i, r := range rs.replicas {
					l.au.Base = r.URL
					if err := l.au.ReadLaunchData(ctx); err != nil {
						t.Fatalf("replica %d before deactivation: %v", i, err)
					}
				}
				if _, err := svc.Deactivate(ctx, "test", rs.borough.ID, l.user.ID); err != nil {
					t.Fatal(err)
				}
				rs.assertLockedOut(t, l, "after deactivation")
				// Reactivation lets the learner sign in again, but what
				// deactivation ended stays ended.
				if _, err := svc.Reactivate(ctx, "test", rs.borough.ID, l.user.ID); err != nil {
					t.Fatal(err)
				}
				l.au.Base = rs.a.URL
				if st, _, _ := l.au.XAPI(ctx, http.MethodPost, "statements", l.au.Statement(clustertest.VerbExp, "", false, false, nil)); st != http.StatusUnauthorized {
					t.Errorf("after reactivation the old launch token writes: %d, want 401", st)
				}
			})

			t.Run("erase", func(t *testing.T) {
				l := rs.newLearner(t, "erase@example.org")
				agent := string(l.au.Launch.Actor)
				ids, err := rs.lrs.StatementIDs(ctx, rs.a.URL, url.Values{"agent": {agent}})
				if err != nil || len(ids) == 0 {
					t.Fatalf("statements about the learner before erasure: %v %v", ids, err)
				}
				erased, err := svc.Erase(ctx, "test", rs.borough.ID, l.user.ID)
				if err != nil {
					t.Fatal(err)
				}
				if !auth.IsErased(erased) || erased.Status != auth.StatusDeactivated {
					t.Errorf("erased account: %+v", erased)
				}
				rs.assertLockedOut(t, l, "after erasure")
				for i, r := range rs.replicas {
					ids, err := rs.lrs.StatementIDs(ctx, r.URL, url.Values{"agent": {agent}})
					if err != nil || len(ids) != 0 {
						t.Errorf("replica %d: statements about the erased learner after a write was tried: %v %v", i, ids, err)
					}
				}
				// Erasing again (an erasure retried after a failure) works
				// and changes nothing.
				if _, err := svc.Erase(ctx, "test", rs.borough.ID, l.user.ID); err != nil {
					t.Errorf("erase again: %v", err)
				}
				entries, err := rs.a.App.Auth.Store().ListAudit(ctx, rs.borough.ID, 50)
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for _, e := range entries {
					if e.Action == "learner.erase" && e.Target == l.user.ID {
						n++
					}
					if strings.Contains(e.Target, "erase@example.org") {
						t.Errorf("audit entry still names the erased learner's email: %+v", e)
					}
				}
				if n != 2 {
					t.Errorf("%d learner.erase audit entries, want 2", n)
				}
			})
		})
	}
}
