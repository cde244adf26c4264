package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/reach-london/reach/client"
	"github.com/reach-london/reach/content/course"
	"github.com/reach-london/reach/internal/reachtest"
)

// standInLMS makes a second borough of the same server play the part of
// another organisation's LMS: it gets the base course, then module 1 is
// replaced by the AU of a package exported from London, and published.
// It returns the module id and the learner's signed-in portal session.
func standInLMS(t *testing.T, r *reachtest.Instance, admin *client.Client, slug string, exported []byte, auIndex int) (string, *portalSession) {
	t.Helper()
	ctx := context.Background()
	if _, err := admin.CreateBorough(ctx, slug, ""); err != nil {
		t.Fatalf("create borough %s: %v", slug, err)
	}
	if _, _, err := admin.PublishBase(ctx, slug); err != nil {
		t.Fatalf("publish the base course in %s: %v", slug, err)
	}
	pkg, err := admin.ImportPackage(ctx, slug, bytes.NewReader(exported))
	if err != nil {
		t.Fatalf("the stand-in LMS refused the exported package: %v", err)
	}
	var tree struct {
		AUs    []struct{ ID string } `json:"aus"`
		Blocks []struct {
			AUs []struct{ ID string } `json:"aus"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal(pkg.Course, &tree); err != nil {
		t.Fatal(err)
	}
	aus := tree.AUs
	for _, b := range tree.Blocks {
		aus = append(aus, b.AUs...)
	}
	if len(aus) != 4 {
		t.Fatalf("the exported package has %d AUs, want one per module (4): %s", len(aus), pkg.Course)
	}
	versions, err := admin.CourseVersions(ctx, slug)
	if err != nil || len(versions) == 0 {
		t.Fatalf("course versions of %s: %v %v", slug, versions, err)
	}
	module := versions[0].Modules[0].Module
	draft, err := admin.ReplaceModule(ctx, slug, module, pkg.ID, aus[auIndex].ID)
	if err != nil {
		t.Fatalf("replace module %s with the exported AU: %v", module, err)
	}
	if _, err := admin.Publish(ctx, slug, draft.Number); err != nil {
		t.Fatalf("publish: %v", err)
	}
	jar, _ := cookiejar.New(nil)
	p := &portalSession{t: t, base: r.URL, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
	p.do(http.MethodGet, "/b/"+slug+"/", nil)
	p.signUp(slug, url.Values{"name": {"Grace Learner"}, "email": {"grace@example.org"},
		"password": {"correct horse battery"}, "profession": {"linkworker"}})
	return module, p
}

// launchFromPortal launches module from the learner's dashboard and
// returns the URL the portal sends the browser to.
func launchFromPortal(t *testing.T, p *portalSession, slug, module string) string {
	t.Helper()
	code, body := p.do(http.MethodPost, "/b/"+slug+"/modules/"+module+"/launch", url.Values{"_csrf": {p.csrf()}})
	link := launchLinkRE.FindStringSubmatch(body)
	if code != http.StatusOK || link == nil {
		t.Fatalf("launch %s in %s: %d %s", module, slug, code, body)
	}
	return html.UnescapeString(link[1])
}

// progressOf reads the signed-in learner's progress through the portal
// session's cookies.
func progressOf(t *testing.T, p *portalSession) client.Progress {
	t.Helper()
	code, body := p.do(http.MethodGet, "/api/v1/me/progress", nil)
	var pr client.Progress
	if code != http.StatusOK || json.Unmarshal([]byte(body), &pr) != nil {
		t.Fatalf("progress: %d %s", code, body)
	}
	return pr
}

// TestDispatchCMI5RoundTrip exports London's course as a cmi5 package for
// another LMS, imports it into a second borough standing in for that LMS,
// and has that LMS's learner complete module 1 in Chromium. The AU is
// served by London's dispatch; the statements go to the launching LMS,
// as cmi5 requires, and its learner's module is satisfied there.
func TestDispatchCMI5RoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole server")
	}
	ctx := newBrowser(t)
	r := reachtest.Start(t, reachtest.Backend{Name: "embedded"})
	bg := context.Background()
	admin := client.New(r.URL)
	if _, err := admin.Login(bg, "", r.AdminEmail, r.AdminPassword); err != nil {
		t.Fatal(err)
	}
	d, err := admin.CreateDispatch(bg, "london", "Camden's LMS", 0)
	if err != nil {
		t.Fatal(err)
	}
	zipped, err := admin.ExportCMI5(bg, "london", d.ID)
	if err != nil {
		t.Fatal(err)
	}
	const lms = "camden"
	module, learner := standInLMS(t, r, admin, lms, zipped, 0)

	launchURL := launchFromPortal(t, learner, lms, module)
	if !strings.HasPrefix(launchURL, r.ContentURL+"/d/"+d.Token+"/") {
		t.Fatalf("the stand-in LMS launches %s, want London's dispatch URL", launchURL)
	}
	lu, _ := url.Parse(launchURL)
	registration := lu.Query().Get("registration")

	c, err := course.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(launchURL)); err != nil {
		t.Fatal(err)
	}
	completeModule(topDoc(t, ctx), c.Modules[0], "linkworker")

	cred, err := admin.CreateCredential(bg, lms, "e2e reader", "all/read")
	if err != nil {
		t.Fatal(err)
	}
	var verbs []string
	for end := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		verbs = registrationVerbs(t, r.URL, cred, registration)
		if strings.Contains(strings.Join(verbs, " "), "satisfied") {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("the stand-in LMS recorded no satisfied statement; statements: %v", verbs)
		}
	}
	for _, v := range []string{"launched", "initialized", "answered", "completed", "passed"} {
		if !strings.Contains(" "+strings.Join(verbs, " ")+" ", " "+v+" ") {
			t.Errorf("no %s statement in the stand-in LMS's registration: %v", v, verbs)
		}
	}
	t.Logf("statements in the stand-in LMS's registration: %s", strings.Join(verbs, " "))
	pr := progressOf(t, learner)
	if pr.Modules[0].Status != "satisfied" {
		t.Errorf("module 1 in the stand-in LMS is %q, want satisfied", pr.Modules[0].Status)
	}

	// Revoking the dispatch closes the content to that LMS at once.
	if _, err := admin.RevokeDispatch(bg, "london", d.ID); err != nil {
		t.Fatal(err)
	}
	res, err := http.Get(launchFromPortal(t, learner, lms, module))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("after revocation the AU answers %d, want 403", res.StatusCode)
	}
}

// storedStatement is as much of a statement as the tests read.
type storedStatement struct {
	Verb   struct{ ID string } `json:"verb"`
	Object struct{ ID string } `json:"object"`
	Result struct {
		Score *struct {
			Scaled *float64 `json:"scaled"`
		} `json:"score"`
	} `json:"result"`
}

// verb is the last segment of the statement's verb id.
func (s storedStatement) verb() string { return s.Verb.ID[strings.LastIndex(s.Verb.ID, "/")+1:] }

// statementsWhere reads statements with cred, oldest first, filtered by
// the xAPI query parameters in q.
func statementsWhere(t *testing.T, base string, cred client.Credential, q url.Values) []storedStatement {
	t.Helper()
	q.Set("ascending", "true")
	q.Set("limit", "500")
	req, _ := http.NewRequest(http.MethodGet, base+"/xapi/statements?"+q.Encode(), nil)
	req.SetBasicAuth(cred.Key, cred.Secret)
	req.Header.Set("X-Experience-API-Version", "2.0.0")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var result struct {
		Statements []storedStatement `json:"statements"`
	}
	if err := json.NewDecoder(res.Body).Decode(&result); err != nil {
		t.Fatal(err)
	}
	return result.Statements
}

// registrationVerbs lists the verbs of registration's statements (the
// last segment of each id), oldest first, read with cred.
func registrationVerbs(t *testing.T, base string, cred client.Credential, registration string) []string {
	t.Helper()
	var verbs []string
	for _, s := range statementsWhere(t, base, cred, url.Values{"registration": {registration}}) {
		verbs = append(verbs, s.verb())
	}
	return verbs
}

// TestDispatchSCORM12RoundTrip exports London's course as a SCORM 1.2
// package, imports it into a second borough standing in for an LMS that
// speaks only SCORM 1.2, and has that LMS's learner complete module 1 in
// Chromium. Four documents nest: the LMS's SCORM player, the exported SCO
// page, London's dispatch play page and the AU. The module's statements
// land in London's store under a London learner made for the LMS's
// student, and the outcome reaches the LMS's SCORM API, where the module
// counts as done.
func TestDispatchSCORM12RoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole server")
	}
	ctx := newBrowser(t)
	r := reachtest.Start(t, reachtest.Backend{Name: "embedded"})
	bg := context.Background()
	admin := client.New(r.URL)
	if _, err := admin.Login(bg, "", r.AdminEmail, r.AdminPassword); err != nil {
		t.Fatal(err)
	}
	d, err := admin.CreateDispatch(bg, "london", "Hackney's SCORM LMS", 1)
	if err != nil {
		t.Fatal(err)
	}
	zipped, err := admin.ExportSCORM12(bg, "london", d.ID)
	if err != nil {
		t.Fatal(err)
	}
	const lms = "hackney"
	module, learner := standInLMS(t, r, admin, lms, zipped, 0)
	before, err := admin.Learners(bg, "london", client.LearnerQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(launchFromPortal(t, learner, lms, module))); err != nil {
		t.Fatal(err)
	}
	au := frameWhere(t, ctx, "fetch=")
	c, err := course.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	completeModule(au, c.Modules[0], "linkworker")
	registration := au.string(`new URL(location.href).searchParams.get("registration")`)

	// The LMS hears the outcome through its SCORM API: its tracker turns
	// the SCO's lesson_status and score into statements in its own store.
	// The package holds a SCO per module, so in the LMS the package as a
	// whole stays in progress until all four are done.
	lmsCred, err := admin.CreateCredential(bg, lms, "e2e reader", "all/read")
	if err != nil {
		t.Fatal(err)
	}
	var scored *storedStatement
	var lmsVerbs []string
	for end := time.Now().Add(30 * time.Second); scored == nil; time.Sleep(300 * time.Millisecond) {
		lmsVerbs = nil
		for _, s := range statementsWhere(t, r.URL, lmsCred, url.Values{}) {
			lmsVerbs = append(lmsVerbs, s.verb())
			if s.verb() == "passed" {
				scored = &s
			}
		}
		if time.Now().After(end) {
			t.Fatalf("the SCORM LMS recorded no passed statement; its statements: %v", lmsVerbs)
		}
	}
	t.Logf("the SCORM LMS's statements: %s", strings.Join(lmsVerbs, " "))
	if sc := scored.Result.Score; sc == nil || sc.Scaled == nil || *sc.Scaled != 1 {
		t.Errorf("the SCORM LMS's passed statement has score %+v, want scaled 1 (every answer was right)", sc)
	}
	if st := progressOf(t, learner).Modules[0].Status; st != "in progress" {
		t.Errorf("the dispatch package in the SCORM LMS is %q, want in progress (three SCOs not yet taken)", st)
	}

	// London made one learner for the LMS's student, named as the LMS
	// names them, and holds the module's statements.
	after, err := admin.Learners(bg, "london", client.LearnerQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if after.Total != before.Total+1 {
		t.Fatalf("London has %d learners after the dispatch launch, want %d", after.Total, before.Total+1)
	}
	var made client.Learner
	for _, l := range after.Learners {
		if strings.HasSuffix(l.Email, "@dispatch.invalid") {
			made = l
		}
	}
	if made.Name != "Grace Learner" {
		t.Errorf("London's learner for the LMS student is %+v, want one named Grace Learner", made.User)
	}
	cred, err := admin.CreateCredential(bg, "london", "e2e reader", "all/read")
	if err != nil {
		t.Fatal(err)
	}
	verbs := " " + strings.Join(registrationVerbs(t, r.URL, cred, registration), " ") + " "
	t.Logf("London's statements for the LMS student: %s", strings.TrimSpace(verbs))
	for _, v := range []string{"launched", "initialized", "answered", "completed", "passed", "satisfied"} {
		if !strings.Contains(verbs, " "+v+" ") {
			t.Errorf("no %s statement in London's registration for the LMS student", v)
		}
	}

	// The dispatch allows one learner: another student of the LMS is
	// turned away, and London gains no account.
	other := &portalSession{t: t, base: r.URL, c: &http.Client{Jar: mustJar(), CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
	other.do(http.MethodGet, "/b/"+lms+"/", nil)
	other.signUp(lms, url.Values{"name": {"Alan Second"}, "email": {"alan@example.org"},
		"password": {"correct horse battery"}, "profession": {"gp"}})
	if err := chromedp.Do(ctx, chromedp.Navigate(launchFromPortal(t, other, lms, module))); err != nil {
		t.Fatal(err)
	}
	play := frameWhere(t, ctx, "/play/")
	play.waitFor("the learner-limit page", `document.body !== null && document.body.textContent.includes("learner limit")`, 20*time.Second)
	if n, _ := admin.Learners(bg, "london", client.LearnerQuery{Limit: 100}); n.Total != after.Total {
		t.Errorf("London has %d learners after a refused launch, want %d", n.Total, after.Total)
	}

	// Revoking the dispatch closes the module to the LMS's learners.
	if _, err := admin.RevokeDispatch(bg, "london", d.ID); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(launchFromPortal(t, learner, lms, module))); err != nil {
		t.Fatal(err)
	}
	frameWhere(t, ctx, "/play/").waitFor("the withdrawn page", `document.body !== null && document.body.textContent.includes("withdrawn")`, 20*time.Second)
}

func mustJar() http.CookieJar {
	jar, _ := cookiejar.New(nil)
	return jar
}
