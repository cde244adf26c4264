package server_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/reach-london/reach/client"
	"github.com/reach-london/reach/content"
	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/internal/reachtest"
)

// cliHint is a page telling an admin to run a reach command.
var cliHint = regexp.MustCompile(`\breach (course|borough|admin|credentials|keys|secrets|migrate|serve)\b`)

// A borough made in the admin UI or the API starts with the base course
// published, unless the platform admin says otherwise; one made without
// it can still get a first draft from its borough admin, and no page
// sends anyone to the command line (issue 15).
func TestNewBoroughStartsWithTheCourse(t *testing.T) {
	forEachBackend(t, func(t *testing.T, r *reachtest.Instance) {
		ctx := context.Background()
		svc := r.App.Content()
		root := newAdminBrowser(t, r.URL)
		root.signin(r.AdminEmail, r.AdminPassword, "")

		code, _, body := root.get("/admin/boroughs")
		want(t, "boroughs page", code, body, http.StatusOK, `name="publishCourse" value="yes" checked`)

		// Admin UI, the box ticked, the short name derived from the name.
		code, loc, body := root.post("/admin/boroughs", url.Values{"name": {"Hackney"}, "publishCourse": {"yes"}})
		if code != http.StatusSeeOther || loc != "/admin/hackney/admins?notice=boroughcreated" {
			t.Fatalf("create Hackney: %d %q\n%s", code, loc, body)
		}
		published := func(slug string) (content.CourseVersion, error) {
			t.Helper()
			b, err := r.App.Auth.BoroughBySlug(ctx, slug)
			if err != nil {
				t.Fatalf("borough %s: %v", slug, err)
			}
			return svc.PublishedVersion(ctx, b.ID)
		}
		if v, err := published("hackney"); err != nil || len(v.Modules) == 0 {
			t.Fatalf("Hackney made in the admin UI has no published course: %v", err)
		}
		res, page := get(t, r.URL+"/b/hackney/")
		if res.StatusCode != http.StatusOK || strings.Contains(page, "not published") {
			t.Errorf("/b/hackney/: %d\n%.2000s", res.StatusCode, page)
		}

		// A short name in capitals is lower-cased, not refused.
		code, loc, body = root.post("/admin/boroughs", url.Values{"slug": {"Camden"}, "publishCourse": {"yes"}})
		if code != http.StatusSeeOther || loc != "/admin/camden/admins?notice=boroughcreated" {
			t.Fatalf("create Camden: %d %q\n%s", code, loc, body)
		}

		// Unticked: no course; the borough admin starts a draft in the UI.
		code, loc, body = root.post("/admin/boroughs", url.Values{"name": {"Reach Test Borough"}})
		if code != http.StatusSeeOther || loc != "/admin/reach-test-borough/admins?notice=boroughcreated" {
			t.Fatalf("create a borough without the course: %d %q\n%s", code, loc, body)
		}
		if _, err := published("reach-test-borough"); !errs.Is(err, errs.NotFound) {
			t.Fatalf("a borough made with the box unticked has a published course (%v)", err)
		}
		code, _, body = root.post("/admin/reach-test-borough/admins", url.Values{"email": {"lead@test-borough.test"}, "name": {"Lead"}})
		want(t, "create borough admin", code, body, http.StatusOK, "One-time password")
		pw := regexp.MustCompile(`id="admin-password" type="text" readonly value="([^"]+)"`).FindStringSubmatch(body)
		if pw == nil {
			t.Fatalf("no one-time password:\n%s", body)
		}
		lead := newAdminBrowser(t, r.URL)
		lead.signin("lead@test-borough.test", pw[1], "reach-test-borough")
		code, _, body = lead.get("/admin/reach-test-borough/course")
		want(t, "course page with no version", code, body, http.StatusOK, "Start a draft from the London course")
		if m := cliHint.FindString(body); m != "" {
			t.Errorf("the course page sends a borough admin to the command line (%q)", m)
		}
		code, loc, body = lead.post("/admin/reach-test-borough/course/drafts", nil)
		if code != http.StatusSeeOther {
			t.Fatalf("start a draft with no version: %d %q\n%s", code, loc, body)
		}
		b, _ := r.App.Auth.BoroughBySlug(ctx, "reach-test-borough")
		v, err := svc.LatestVersion(ctx, b.ID)
		if err != nil || v.Status != content.StatusDraft || len(v.Modules) == 0 {
			t.Fatalf("after starting a draft: %+v, %v", v, err)
		}
		code, _, body = lead.get(loc)
		want(t, "course page with a draft", code, body, http.StatusOK, "draft from the base course")
		if m := cliHint.FindString(body); m != "" {
			t.Errorf("the course page sends a borough admin to the command line (%q)", m)
		}

		// The JSON API: the course by default, none with publishCourse false.
		api := client.New(r.URL)
		if _, err := api.Login(ctx, "", r.AdminEmail, r.AdminPassword+"-changed"); err != nil {
			t.Fatal(err)
		}
		if _, err := api.CreateBorough(ctx, "sutton", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := published("sutton"); err != nil {
			t.Errorf("a borough made through the API has no published course: %v", err)
		}
		if err := api.Do(ctx, http.MethodPost, "/api/v1/boroughs", map[string]any{"slug": "merton", "publishCourse": false}, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := published("merton"); !errs.Is(err, errs.NotFound) {
			t.Errorf("publishCourse false: the borough has a published course (%v)", err)
		}
	})
}

// First-day wording on the admin pages: the credential form defaults to
// the narrowest scope an LMS reading statements needs, a credential that
// is not revoked reads "Active" (not "In use", which nothing measures),
// and one learner is "1 learner" (issue 15).
func TestFirstDayWording(t *testing.T) {
	r := reachtest.Start(t, reachtest.Backends()[0])
	ctx := context.Background()
	root := newAdminBrowser(t, r.URL)
	root.signin(r.AdminEmail, r.AdminPassword, "")
	code, _, body := root.get("/admin/london/credentials")
	want(t, "credentials form", code, body, http.StatusOK, `value="statements/read" checked`)
	if strings.Contains(body, `value="all" checked`) {
		t.Errorf("the credential form defaults to the widest scope")
	}
	code, _, body = root.post("/admin/london/credentials", url.Values{"name": {"Council LMS"}, "scope": {"statements/read"}})
	want(t, "new credential", code, body, http.StatusOK, "Council LMS", ">Active<")
	if strings.Contains(body, "In use") {
		t.Errorf("a new credential says it is in use")
	}
	b, _ := r.App.Auth.BoroughBySlug(ctx, "london")
	if _, _, err := r.App.Auth.CreateUser(ctx, "test", auth.NewUser{BoroughID: b.ID, Email: "one@learner.test", Name: "One", Role: auth.RoleLearner, Password: "a long learner password 7"}); err != nil {
		t.Fatal(err)
	}
	code, _, body = root.get("/admin/london/")
	want(t, "dashboard", code, body, http.StatusOK, `stat__label">learner<`, `stat__label">active learner<`)
	code, _, body = root.get("/admin/london/learners")
	want(t, "learner list", code, body, http.StatusOK, "of 1 learner.")
}

// Both origins answer /favicon.ico with an icon, and the content origin's
// root sends people to the app rather than answering JSON (issue 15).
func TestFaviconAndContentRoot(t *testing.T) {
	r := reachtest.Start(t, reachtest.Backends()[0])
	for _, origin := range []string{r.URL, r.ContentURL} {
		res, body := get(t, origin+"/favicon.ico")
		if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(body, "<svg") {
			t.Errorf("%s/favicon.ico: %d %q %.80q", origin, res.StatusCode, res.Header.Get("Content-Type"), body)
		}
	}
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := hc.Get(r.ContentURL + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != r.URL+"/" {
		t.Errorf("content origin root: %d %q, want a redirect to the app %s/", res.StatusCode, res.Header.Get("Location"), r.URL)
	}
}
