package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"testing"

	"github.com/reach-london/reach/client"
	"github.com/reach-london/reach/content/launch"
	"github.com/reach-london/reach/internal/reachtest"
)

// learnerFixture is a borough with its admin signed in and a way to add
// learners through the invitation flow.
type learnerFixture struct {
	t       *testing.T
	r       *reachtest.Instance
	borough client.Borough
	admin   *client.Client
}

func newLearnerFixture(t *testing.T, r *reachtest.Instance, slug string) *learnerFixture {
	t.Helper()
	ctx := context.Background()
	root := adminClient(t, r)
	b, err := root.CreateBorough(ctx, slug, "")
	if err != nil {
		t.Fatalf("create borough: %v", err)
	}
	if _, _, err := root.CreateBoroughAdmin(ctx, slug, "admin@"+slug+".test", "Admin", "a long staff password 1"); err != nil {
		t.Fatalf("create borough admin: %v", err)
	}
	admin := client.New(r.URL)
	if _, err := admin.Login(ctx, slug, "admin@"+slug+".test", "a long staff password 1"); err != nil {
		t.Fatalf("borough admin login: %v", err)
	}
	return &learnerFixture{t: t, r: r, borough: b, admin: admin}
}

// learner invites email, accepts the invitation as the portal does and
// signs the new learner in.
func (f *learnerFixture) learner(email, name, profession string) (client.User, *client.Client) {
	f.t.Helper()
	ctx := context.Background()
	inv, err := f.admin.Invite(ctx, f.borough.Slug, email)
	if err != nil {
		f.t.Fatalf("invite %s: %v", email, err)
	}
	if !strings.HasPrefix(inv.URL, f.r.URL+"/b/"+f.borough.Slug+"/invite/") {
		f.t.Fatalf("invitation url %q does not lead to the borough's invitation page", inv.URL)
	}
	if _, err := f.r.App.Auth.AcceptInvitation(ctx, f.borough.ID, path.Base(inv.URL), name, "a long learner password 1", profession); err != nil {
		f.t.Fatalf("accept invitation: %v", err)
	}
	c := client.New(f.r.URL)
	u, err := c.Login(ctx, f.borough.Slug, email, "a long learner password 1")
	if err != nil {
		f.t.Fatalf("learner login: %v", err)
	}
	return u, c
}

func TestLearnerListSearchAndPaging(t *testing.T) {
	forEachBackend(t, func(t *testing.T, r *reachtest.Instance) {
		ctx := context.Background()
		f := newLearnerFixture(t, r, "camden")
		f.learner("ada@example.org", "Ada Lovelace", "gp")
		grace, _ := f.learner("grace@example.org", "Grace Hopper", "link_worker")
		f.learner("alan@example.org", "Alan Turing_x", "artist")
		if _, err := f.admin.DeactivateLearner(ctx, "camden", grace.ID); err != nil {
			t.Fatal(err)
		}
		names := func(p client.LearnerPage) string {
			var out []string
			for _, l := range p.Learners {
				out = append(out, l.Name)
			}
			return strings.Join(out, ",")
		}
		tests := []struct {
			q         client.LearnerQuery
			want      string
			wantTotal int
		}{
			{client.LearnerQuery{}, "Alan Turing_x,Grace Hopper,Ada Lovelace", 3},
			{client.LearnerQuery{Search: "HOPPER"}, "Grace Hopper", 1},
			{client.LearnerQuery{Search: "ada@"}, "Ada Lovelace", 1},
			{client.LearnerQuery{Search: "_"}, "Alan Turing_x", 1}, // a LIKE wildcard is taken literally
			{client.LearnerQuery{Search: "%"}, "", 0},
			{client.LearnerQuery{Status: "deactivated"}, "Grace Hopper", 1},
			{client.LearnerQuery{Status: "active", Limit: 1}, "Alan Turing_x", 2},
			{client.LearnerQuery{Limit: 2, Offset: 2}, "Ada Lovelace", 3},
		}
		for _, tc := range tests {
			p, err := f.admin.Learners(ctx, "camden", tc.q)
			if err != nil {
				t.Fatalf("%+v: %v", tc.q, err)
			}
			if got := names(p); got != tc.want || p.Total != tc.wantTotal {
				t.Errorf("%+v: got %q (total %d), want %q (total %d)", tc.q, got, p.Total, tc.want, tc.wantTotal)
			}
		}
		p, _ := f.admin.Learners(ctx, "camden", client.LearnerQuery{Search: "ada"})
		if len(p.Learners) != 1 || p.Learners[0].LastActiveAt == nil || p.Learners[0].Profession != "gp" || p.Learners[0].CreatedAt.IsZero() {
			t.Errorf("a learner who signed in shows %+v, want last activity, profession and created time", p.Learners)
		}

		for _, bad := range []string{"limit=0", "limit=501", "offset=-1", "limit=x", "status=gone", "q=" + strings.Repeat("a", 201)} {
			err := f.admin.Do(ctx, http.MethodGet, "/api/v1/boroughs/camden/learners?"+bad, nil, nil)
			wantStatus(t, err, http.StatusBadRequest)
		}
		// Another borough's admin sees no such borough; a learner may not list.
		other := newLearnerFixture(t, r, "hackney")
		_, err := other.admin.Learners(ctx, "camden", client.LearnerQuery{})
		wantStatus(t, err, http.StatusNotFound)
		_, err = other.admin.Learner(ctx, "hackney", grace.ID)
		wantStatus(t, err, http.StatusNotFound)
		_, ada := f.learner("ada2@example.org", "Ada Two", "gp")
		_, err = ada.Learners(ctx, "camden", client.LearnerQuery{})
		wantStatus(t, err, http.StatusForbidden)
		// Platform admins list any borough.
		if p, err := adminClient(t, r).Learners(ctx, "camden", client.LearnerQuery{}); err != nil || p.Total != 4 {
			t.Errorf("platform admin list: %d learners, %v; want 4", p.Total, err)
		}
	})
}

func TestLearnerInviteDeactivateReactivate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, r *reachtest.Instance) {
		ctx := context.Background()
		f := newLearnerFixture(t, r, "camden")
		u, lc := f.learner("ada@example.org", "Ada Lovelace", "gp")

		_, err := f.admin.Invite(ctx, "camden", "ada@example.org")
		wantStatus(t, err, http.StatusConflict)
		_, err = f.admin.Invite(ctx, "camden", "not an email")
		wantStatus(t, err, http.StatusBadRequest)
		invs, err := f.admin.Invitations(ctx, "camden")
		if err != nil || len(invs) != 1 || invs[0].AcceptedAt == nil || invs[0].URL != "" {
			t.Fatalf("invitations: %+v, %v; want one accepted, without its link", invs, err)
		}

		// An open invitation can be cancelled, once; its link stops working.
		carol, err := f.admin.Invite(ctx, "camden", "carol@example.org")
		if err != nil {
			t.Fatal(err)
		}
		other := newLearnerFixture(t, r, "hackney")
		wantStatus(t, other.admin.CancelInvitation(ctx, "camden", carol.ID), http.StatusNotFound)
		wantStatus(t, other.admin.CancelInvitation(ctx, "hackney", carol.ID), http.StatusNotFound)
		wantStatus(t, f.admin.CancelInvitation(ctx, "camden", invs[0].ID), http.StatusNotFound) // accepted already
		if err := f.admin.CancelInvitation(ctx, "camden", carol.ID); err != nil {
			t.Fatalf("cancel invitation: %v", err)
		}
		wantStatus(t, f.admin.CancelInvitation(ctx, "camden", carol.ID), http.StatusNotFound)
		if _, err := r.App.Auth.Invitation(ctx, f.borough.ID, path.Base(carol.URL)); err == nil {
			t.Error("a cancelled invitation's link still works")
		}
		if invs, _ := f.admin.Invitations(ctx, "camden"); len(invs) != 1 {
			t.Errorf("invitations after cancelling: %+v, want only the accepted one", invs)
		}

		got, err := f.admin.DeactivateLearner(ctx, "camden", u.ID)
		if err != nil || got.Status != "deactivated" {
			t.Fatalf("deactivate: %+v, %v", got, err)
		}
		// The learner's existing session ends at once.
		_, err = lc.Me(ctx)
		wantStatus(t, err, http.StatusUnauthorized)
		_, err = client.New(r.URL).Login(ctx, "camden", "ada@example.org", "a long learner password 1")
		wantStatus(t, err, http.StatusForbidden)

		if got, err := f.admin.ReactivateLearner(ctx, "camden", u.ID); err != nil || got.Status != "active" {
			t.Fatalf("reactivate: %+v, %v", got, err)
		}
		if _, err := client.New(r.URL).Login(ctx, "camden", "ada@example.org", "a long learner password 1"); err != nil {
			t.Fatalf("login after reactivation: %v", err)
		}
		_, err = f.admin.DeactivateLearner(ctx, "camden", "no-such-id")
		wantStatus(t, err, http.StatusNotFound)
		// An admin account is not a learner.
		me, _ := f.admin.Me(ctx)
		_, err = f.admin.DeactivateLearner(ctx, "camden", me.ID)
		wantStatus(t, err, http.StatusNotFound)

		var actions []string
		entries, _ := f.admin.Audit(ctx, "camden")
		for _, e := range entries {
			actions = append(actions, e.Action)
		}
		if all := strings.Join(actions, " "); !strings.Contains(all, "learner.deactivate") || !strings.Contains(all, "learner.reactivate") ||
			!strings.Contains(all, "invitation.cancel") {
			t.Errorf("audit actions %q lack deactivate, reactivate and invitation.cancel", all)
		}
	})
}

// xapiCall sends one xAPI request with Basic credentials and returns the
// status and body.
func xapiCall(t *testing.T, r *reachtest.Instance, cred client.Credential, method, p string, q url.Values, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	u := r.URL + "/xapi/" + p
	if q != nil {
		u += "?" + q.Encode()
	}
	req, _ := http.NewRequest(method, u, rd)
	req.SetBasicAuth(cred.Key, cred.Secret)
	req.Header.Set("X-Experience-API-Version", "1.0.3")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if method == http.MethodPut {
		req.Header.Set("If-None-Match", "*") // every PUT here creates a document
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func TestEraseLearnerRemovesTheirDataEverywhere(t *testing.T) {
	forEachBackend(t, func(t *testing.T, r *reachtest.Instance) {
		ctx := context.Background()
		f := newLearnerFixture(t, r, "camden")
		ada, adaClient := f.learner("ada@example.org", "Ada Lovelace", "gp")
		bob, _ := f.learner("bob@example.org", "Bob Builder", "artist")
		cred, err := f.admin.CreateCredential(ctx, "camden", "test lms", "all")
		if err != nil {
			t.Fatal(err)
		}
		agentOf := func(id string) string {
			b, _ := json.Marshal(launch.LearnerAgent(r.Config.PublicURL, id))
			return string(b)
		}
		for _, who := range []string{ada.ID, bob.ID} {
			var agent map[string]any
			_ = json.Unmarshal([]byte(agentOf(who)), &agent)
			// A module launch, which the reports count as a start.
			st := map[string]any{"actor": agent, "verb": map[string]any{"id": "http://adlnet.gov/expapi/verbs/launched"},
				"object": map[string]any{"id": "https://reach.test/activity/1", "definition": map[string]any{"name": map[string]string{"en": "Module 1"}}}}
			if code, b := xapiCall(t, r, cred, http.MethodPost, "statements", nil, st); code != http.StatusOK {
				t.Fatalf("post statement: %d %s", code, b)
			}
			state := url.Values{"activityId": {"https://reach.test/activity/1"}, "agent": {agentOf(who)}, "stateId": {"bookmark"}}
			if code, b := xapiCall(t, r, cred, http.MethodPut, "activities/state", state, map[string]string{"page": "3"}); code != http.StatusNoContent {
				t.Fatalf("put state: %d %s", code, b)
			}
			prof := url.Values{"agent": {agentOf(who)}, "profileId": {"prefs"}}
			if code, b := xapiCall(t, r, cred, http.MethodPut, "agents/profile", prof, map[string]string{"lang": "en"}); code != http.StatusNoContent {
				t.Fatalf("put agent profile: %d %s", code, b)
			}
		}
		count := func(who string) (statements int, state, profile int) {
			code, b := xapiCall(t, r, cred, http.MethodGet, "statements", url.Values{"agent": {agentOf(who)}}, nil)
			var res struct {
				Statements []json.RawMessage `json:"statements"`
			}
			if code != http.StatusOK || json.Unmarshal(b, &res) != nil {
				t.Fatalf("get statements: %d %s", code, b)
			}
			state, _ = xapiCall(t, r, cred, http.MethodGet, "activities/state",
				url.Values{"activityId": {"https://reach.test/activity/1"}, "agent": {agentOf(who)}, "stateId": {"bookmark"}}, nil)
			profile, _ = xapiCall(t, r, cred, http.MethodGet, "agents/profile", url.Values{"agent": {agentOf(who)}, "profileId": {"prefs"}}, nil)
			return len(res.Statements), state, profile
		}
		if n, st, pr := count(ada.ID); n != 1 || st != http.StatusOK || pr != http.StatusOK {
			t.Fatalf("before erasure: %d statements, state %d, profile %d; want 1, 200, 200", n, st, pr)
		}
		// The reports count a learner once the projector has folded their
		// statements in.
		reportLearners := func() int {
			if _, err := r.App.Reports().CatchUp(ctx); err != nil {
				t.Fatalf("reports catch up: %v", err)
			}
			var rep struct {
				Learners int `json:"learners"`
			}
			if err := f.admin.Do(ctx, http.MethodGet, "/api/v1/boroughs/camden/reports", nil, &rep); err != nil {
				t.Fatalf("report: %v", err)
			}
			return rep.Learners
		}
		if n := reportLearners(); n != 2 {
			t.Fatalf("reports count %d learners before erasure, want 2", n)
		}

		// A borough admin elsewhere cannot erase camden's learner.
		other := newLearnerFixture(t, r, "hackney")
		_, err = other.admin.EraseLearner(ctx, "camden", ada.ID)
		wantStatus(t, err, http.StatusNotFound)
		_, err = other.admin.EraseLearner(ctx, "hackney", ada.ID)
		wantStatus(t, err, http.StatusNotFound)

		erased, err := f.admin.EraseLearner(ctx, "camden", ada.ID)
		if err != nil {
			t.Fatalf("erase: %v", err)
		}
		if erased.Email != "erased-"+ada.ID+"@invalid" || erased.Name != "Erased learner" || erased.Status != "deactivated" || erased.Profession != "" {
			t.Errorf("erased account %+v still identifies the learner", erased)
		}
		if n, st, pr := count(ada.ID); n != 0 || st != http.StatusNotFound || pr != http.StatusNotFound {
			t.Errorf("after erasure: %d statements, state %d, profile %d; want 0, 404, 404", n, st, pr)
		}
		if n, st, pr := count(bob.ID); n != 1 || st != http.StatusOK || pr != http.StatusOK {
			t.Errorf("another learner after erasure: %d statements, state %d, profile %d; want 1, 200, 200", n, st, pr)
		}
		if n := reportLearners(); n != 1 {
			t.Errorf("reports count %d learners after erasure, want 1", n)
		}
		_, err = adaClient.Me(ctx)
		wantStatus(t, err, http.StatusUnauthorized)
		_, err = client.New(r.URL).Login(ctx, "camden", "ada@example.org", "a long learner password 1")
		wantStatus(t, err, http.StatusUnauthorized)
		p, _ := f.admin.Learners(ctx, "camden", client.LearnerQuery{Search: "ada"})
		if p.Total != 0 {
			t.Errorf("search for the erased learner's name finds %+v", p.Learners)
		}
		if invs, _ := f.admin.Invitations(ctx, "camden"); len(invs) != 1 || invs[0].Email != "bob@example.org" {
			t.Errorf("invitations after erasure: %+v; want only bob's", invs)
		}
		_, err = f.admin.ReactivateLearner(ctx, "camden", ada.ID)
		wantStatus(t, err, http.StatusConflict)

		// The audit log records the erasure by account id and no longer
		// holds the email.
		entries, _ := f.admin.Audit(ctx, "camden")
		raw, _ := json.Marshal(entries)
		if strings.Contains(string(raw), "ada@example.org") {
			t.Errorf("audit log still names the erased learner: %s", raw)
		}
		found := false
		for _, e := range entries {
			found = found || (e.Action == "learner.erase" && e.Target == ada.ID)
		}
		if !found {
			t.Errorf("audit log has no learner.erase entry for %s: %s", ada.ID, raw)
		}
		// Erasing again succeeds and changes nothing.
		if again, err := f.admin.EraseLearner(ctx, "camden", ada.ID); err != nil || again != erased {
			t.Errorf("second erasure: %+v, %v; want %+v", again, err, erased)
		}
	})
}
