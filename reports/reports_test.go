package reports_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/auth/authsql"
	"github.com/reach-london/reach/internal/blob/fsblob"
	"github.com/reach-london/reach/internal/db"
	"github.com/reach-london/reach/internal/kv/memkv"
	"github.com/reach-london/reach/internal/testenv"
	"github.com/reach-london/reach/lrs"
	"github.com/reach-london/reach/lrs/sqlstore"
	"github.com/reach-london/reach/reports"
	"github.com/reach-london/reach/reports/reportsql"
)

const issuer = "http://reach.test"

const (
	au1 = "https://reach.london/course/chsp/1-landscape"
	au2 = "https://reach.london/course/chsp/2-working-across-sectors"
)

// maxSeq settles every committed statement: the test commits each batch
// before it projects, so no insert is in flight.
type maxSeq struct{ store *sqlstore.Store }

func (m maxSeq) Settled(ctx context.Context) (int64, error) { return m.store.MaxSeq(ctx) }

type world struct {
	t       *testing.T
	ctx     context.Context
	lrs     *lrs.Service
	svc     *reports.Service
	store   *reportsql.Store
	borough string
	users   map[string]string // name → user id
	seconds int
}

func newWorld(t *testing.T, url string) *world {
	ctx := context.Background()
	d, err := db.Open(ctx, url, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(ctx, authsql.Migrations, sqlstore.Migrations, reportsql.Migrations); err != nil {
		t.Fatal(err)
	}
	blobs, err := fsblob.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	a := auth.NewService(authsql.New(d, nil), memkv.New(), auth.Options{Issuer: issuer})
	if err := a.LoadKeys(ctx); err != nil {
		t.Fatal(err)
	}
	b, err := a.CreateBorough(ctx, "test", "merton", "")
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, ctx: ctx, borough: b.ID, users: map[string]string{}}
	for name, prof := range map[string]string{"ann": "artist", "lee": "linkworker", "gus": "gp"} {
		u, _, err := a.CreateUser(ctx, "test", auth.NewUser{BoroughID: b.ID, Email: name + "@x.test", Role: auth.RoleLearner, Profession: prof, Password: "a long password"})
		if err != nil {
			t.Fatal(err)
		}
		w.users[name] = u.ID
	}
	st := sqlstore.New(d)
	w.lrs = lrs.NewService(st, blobs)
	w.store = reportsql.New(d)
	w.svc = reports.NewService(w.store, st, maxSeq{st}, issuer, nil)
	return w
}

// send stores one statement by learner about object, a minute after the last.
func (w *world) send(learner, verb, au, object, objType, title, result string) {
	w.t.Helper()
	w.seconds += 60
	ts := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC).Add(time.Duration(w.seconds) * time.Second).Format(time.RFC3339)
	ctxJSON := ""
	if object != au {
		ctxJSON = fmt.Sprintf(`,"context":{"contextActivities":{"parent":[{"id":%q}]}}`, au)
	}
	if result != "" {
		result = `,"result":` + result
	}
	if objType == "" {
		objType = "http://adlnet.gov/expapi/activities/lesson"
	}
	body := fmt.Sprintf(`{"actor":{"objectType":"Agent","account":{"homePage":%q,"name":%q}},
		"verb":{"id":%q},"object":{"id":%q,"definition":{"type":%q,"name":{"en-GB":%q}}}%s%s,"timestamp":%q}`,
		issuer, w.users[learner], verb, object, objType, title, result, ctxJSON, ts)
	st, err := lrs.ParseStatement([]byte(body), "1.0.3")
	if err != nil {
		w.t.Fatalf("statement %s: %v", body, err)
	}
	p := auth.Principal{Kind: auth.KindCredential, BoroughID: w.borough, Scopes: []auth.Scope{auth.ScopeAll},
		Authority: []byte(`{"objectType":"Agent","account":{"homePage":"http://reach.test","name":"lms"}}`)}
	if _, err := w.lrs.Store(w.ctx, p, []*lrs.Statement{st}, nil, "1.0.3"); err != nil {
		w.t.Fatal(err)
	}
}

func TestProjectionAndReport(t *testing.T) {
	for name, url := range testenv.DatabaseURLs(t) {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t, url)
			page := func(n int) string { return fmt.Sprintf("%s/pages/p%d", au1, n) }
			// Ann completes and passes module 1 in 30 minutes.
			w.send("ann", reports.VerbLaunched, au1, au1, "https://w3id.org/xapi/cmi5/activitytype/block", "The landscape", "")
			w.send("ann", reports.VerbInitialized, au1, au1, "", "The landscape", "")
			w.send("ann", reports.VerbExperienced, au1, page(1), reports.TypePage, "Welcome", "")
			w.send("ann", reports.VerbResponded, au1, au1+"/reflections/m1-r1", reports.TypeReflection, "Reflection", `{"completion":true}`)
			w.send("ann", reports.VerbAnswered, au1, au1+"/questions/m1-q1", "http://adlnet.gov/expapi/activities/cmi.interaction", "Q1", `{"response":"b","success":true}`)
			w.send("ann", reports.VerbCompleted, au1, au1, "", "", `{"completion":true}`)
			w.send("ann", reports.VerbPassed, au1, au1, "", "", `{"success":true,"score":{"scaled":0.9}}`)
			w.send("ann", reports.VerbTerminated, au1, au1, "", "", `{"duration":"PT30M"}`)
			// Lee starts module 1, stops on page 2, and fails nothing.
			w.send("lee", reports.VerbLaunched, au1, au1, "", "The landscape", "")
			w.send("lee", reports.VerbExperienced, au1, page(1), reports.TypePage, "Welcome", "")
			w.send("lee", reports.VerbExperienced, au1, page(2), reports.TypePage, "What social prescribing is", "")
			w.send("lee", reports.VerbAnswered, au1, au1+"/questions/m1-q1", "http://adlnet.gov/expapi/activities/cmi.interaction", "Q1", `{"response":"a","success":false}`)
			w.send("lee", reports.VerbAbandoned, au1, au1, "", "", `{"duration":"PT10M"}`)
			// Gus fails module 2 and drafts an offer.
			w.send("gus", reports.VerbLaunched, au2, au2, "", "Working across sectors", "")
			w.send("gus", reports.VerbUpdated, au2, au2+"/drafts/offer", reports.TypeDraft, "Offer", "")
			w.send("gus", reports.VerbFailed, au2, au2, "", "", `{"success":false,"score":{"scaled":0.4}}`)

			n, err := w.svc.CatchUp(w.ctx)
			if err != nil || n != 16 {
				t.Fatalf("catch up: read %d (%v), want 16", n, err)
			}
			if n, err := w.svc.CatchUp(w.ctx); err != nil || n != 0 {
				t.Fatalf("second catch up: read %d (%v), want 0", n, err)
			}
			r, err := w.svc.Report(w.ctx, reports.Filter{Borough: w.borough})
			if err != nil {
				t.Fatal(err)
			}
			mods := map[string]reports.ModuleRow{}
			for _, m := range r.Modules {
				mods[m.AU] = m
			}
			m1, m2 := mods[au1], mods[au2]
			if m1.Title != "The landscape" || m1.Starts != 2 || m1.Completions != 1 || m1.Passes != 1 || m1.PassRate != 1 {
				t.Errorf("module 1: got %+v", m1)
			}
			if m1.MedianMinutes != 20 { // median of 30 and 10
				t.Errorf("module 1 median minutes: got %v, want 20", m1.MedianMinutes)
			}
			if m2.Starts != 1 || m2.Fails != 1 || m2.PassRate != 0 {
				t.Errorf("module 2: got %+v", m2)
			}
			if r.Learners != 3 {
				t.Errorf("learners: got %d, want 3", r.Learners)
			}
			if len(r.DropOff) != 2 {
				t.Fatalf("drop-off: got %+v, want lee on page 2 and gus before any page", r.DropOff)
			}
			for _, d := range r.DropOff {
				if d.AU == au1 && (d.Title != "What social prescribing is" || d.Learners != 1) {
					t.Errorf("drop-off in module 1: got %+v", d)
				}
			}
			correct, wrong := 0, 0
			for _, a := range r.Answers {
				if a.Correct != nil && *a.Correct {
					correct += a.Count
				} else {
					wrong += a.Count
				}
			}
			if correct != 1 || wrong != 1 {
				t.Errorf("answers: got %d right %d wrong, want 1 and 1: %+v", correct, wrong, r.Answers)
			}
			if r.Engagement.Reflections != 1 || r.Engagement.Drafts != 1 {
				t.Errorf("engagement: got %+v", r.Engagement)
			}
			if len(r.Weekly) == 0 || r.Weekly[0].Week != "2026-03-02" {
				t.Errorf("weekly: got %+v, want the week of Monday 2 March 2026", r.Weekly)
			}

			// Filters: by role, and by dates that exclude everything.
			gp, err := w.svc.Report(w.ctx, reports.Filter{Borough: w.borough, Role: "gp"})
			if err != nil || len(gp.Modules) != 1 || gp.Modules[0].AU != au2 {
				t.Errorf("gp filter: got %+v %v", gp.Modules, err)
			}
			later, err := w.svc.Report(w.ctx, reports.Filter{Borough: w.borough, From: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)})
			if err != nil || later.Learners != 0 || len(later.Answers) != 0 {
				t.Errorf("date filter: got %d learners, %d answers (%v), want none", later.Learners, len(later.Answers), err)
			}
			if _, err := w.svc.Report(w.ctx, reports.Filter{Role: "astronaut"}); err == nil {
				t.Error("an unknown role was accepted")
			}
			other, err := w.svc.Report(w.ctx, reports.Filter{Borough: "another-borough"})
			if err != nil || other.Learners != 0 {
				t.Errorf("another borough sees %d learners (%v)", other.Learners, err)
			}

			// Erasing a learner removes them from every table.
			key := lrs.Actor{Account: &lrs.Account{HomePage: issuer, Name: w.users["ann"]}}.Key()
			if err := w.store.EraseLearner(w.ctx, w.borough, key); err != nil {
				t.Fatal(err)
			}
			after, _ := w.svc.Report(w.ctx, reports.Filter{Borough: w.borough})
			if after.Learners != 2 || after.Engagement.Reflections != 0 {
				t.Errorf("after erasure: got %d learners, %d reflections, want 2 and 0", after.Learners, after.Engagement.Reflections)
			}
		})
	}
}

func TestExtractFact(t *testing.T) {
	tests := []struct {
		name string
		body string
		ok   bool
		want reports.Fact
	}{
		{"page with parent", `{"actor":{"mbox":"mailto:A@x.test"},"verb":{"id":"http://adlnet.gov/expapi/verbs/experienced"},"object":{"id":"http://x/au/p1","definition":{"name":{"en-GB":"Page one"}}},"context":{"contextActivities":{"parent":{"id":"http://x/au"}}},"timestamp":"2026-01-01T10:00:00Z"}`,
			true, reports.Fact{Learner: "mbox:mailto:a@x.test", AU: "http://x/au", Object: "http://x/au/p1", Title: "Page one"}},
		{"module verb", `{"actor":{"account":{"homePage":"http://reach.test","name":"u1"}},"verb":{"id":"http://adlnet.gov/expapi/verbs/terminated"},"object":{"id":"http://x/au"},"result":{"duration":"PT1H2M3.5S"}}`,
			true, reports.Fact{UserID: "u1", AU: "http://x/au", Object: "http://x/au", DurationMS: 3723500}},
		{"page without parent", `{"actor":{"mbox":"mailto:a@x.test"},"verb":{"id":"http://adlnet.gov/expapi/verbs/experienced"},"object":{"id":"http://x/p"}}`, false, reports.Fact{}},
		{"unrelated verb", `{"actor":{"mbox":"mailto:a@x.test"},"verb":{"id":"http://example.com/verbs/liked"},"object":{"id":"http://x/au"}}`, false, reports.Fact{}},
		{"anonymous group", `{"actor":{"objectType":"Group","member":[]},"verb":{"id":"http://adlnet.gov/expapi/verbs/launched"},"object":{"id":"http://x/au"}}`, false, reports.Fact{}},
		{"not JSON", `{"actor":`, false, reports.Fact{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ok := reports.ExtractFact("b", 1, []byte(tt.body), issuer)
			if ok != tt.ok {
				t.Fatalf("got ok %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			if tt.want.Learner != "" && f.Learner != tt.want.Learner {
				t.Errorf("learner: got %q, want %q", f.Learner, tt.want.Learner)
			}
			if f.UserID != tt.want.UserID || f.AU != tt.want.AU || f.Object != tt.want.Object || f.Title != tt.want.Title || f.DurationMS != tt.want.DurationMS {
				t.Errorf("got %+v, want %+v", f, tt.want)
			}
		})
	}
}
