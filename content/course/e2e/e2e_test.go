// Package e2e runs the course against the whole Reach server. It is a
// package of its own so that the course's unit tests do not depend on the
// server building.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/reach-london/reach/client"
	"github.com/reach-london/reach/content/course"
	"github.com/reach-london/reach/internal/browsertest"
	"github.com/reach-london/reach/internal/reachtest"
)

var (
	launchLinkRE = regexp.MustCompile(`href="([^"]+)" data-launch-url`)
	moduleLinkRE = regexp.MustCompile(`/modules/([^/"]+)/launch`)
)

// portalSession is a learner's cookie-keeping HTTP client for the portal.
type portalSession struct {
	t    *testing.T
	base string
	c    *http.Client
}

func (p *portalSession) do(method, path string, form url.Values) (int, string) {
	p.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, p.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := p.c.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(out)
}

// signUp creates a learner account with the portal's sign-up form and
// signs in with it (sign-up signs no one in, so that it answers the same
// for an address that already has an account).
func (p *portalSession) signUp(slug string, form url.Values) {
	p.t.Helper()
	form.Set("_csrf", p.csrf())
	if code, body := p.do(http.MethodPost, "/b/"+slug+"/signup", form); code != http.StatusSeeOther {
		p.t.Fatalf("sign-up in %s: %d %s", slug, code, body)
	}
	if code, body := p.do(http.MethodPost, "/b/"+slug+"/signin", url.Values{"email": form["email"], "password": form["password"],
		"_csrf": {p.csrf()}}); code != http.StatusSeeOther {
		p.t.Fatalf("sign-in after sign-up in %s: %d %s", slug, code, body)
	}
}

func (p *portalSession) csrf() string {
	return reachtest.CSRFToken(p.c.Jar, p.base)
}

// TestModule1EndToEnd signs a learner up on the real server, launches
// module 1 from the portal, completes it in headless Chromium and checks
// the statements that land in the LRS.
func TestModule1EndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole server")
	}
	ctx := newBrowser(t)
	r := reachtest.Start(t, reachtest.Backend{Name: "embedded"})
	const slug = "london"
	jar, _ := cookiejar.New(nil)
	p := &portalSession{t: t, base: r.URL, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
	if code, body := p.do(http.MethodGet, "/b/"+slug+"/", nil); code != http.StatusOK {
		t.Fatalf("landing: %d %s", code, body)
	}
	p.signUp(slug, url.Values{"name": {"Ada Learner"}, "email": {"ada@example.org"},
		"password": {"correct horse battery"}, "profession": {"gp"}})
	_, dash := p.do(http.MethodGet, "/b/"+slug+"/dashboard", nil)
	m := moduleLinkRE.FindStringSubmatch(dash)
	if m == nil {
		t.Fatalf("the dashboard has no launch button:\n%s", dash)
	}
	launch := func() string {
		code, body := p.do(http.MethodPost, "/b/"+slug+"/modules/"+m[1]+"/launch", url.Values{"_csrf": {p.csrf()}})
		link := launchLinkRE.FindStringSubmatch(body)
		if code != http.StatusOK || link == nil {
			t.Fatalf("launch: %d %s", code, body)
		}
		return html.UnescapeString(link[1])
	}
	launchURL := launch()
	lu, _ := url.Parse(launchURL)
	registration := lu.Query().Get("registration")

	c, err := course.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	mod := c.Modules[0]
	var checkPage string
	for _, pg := range mod.Pages {
		if len(pg.QuestionIDs) > 0 {
			checkPage = pg.ID
		}
	}

	admin := client.New(r.URL)
	if _, err := admin.Login(context.Background(), "", r.AdminEmail, r.AdminPassword); err != nil {
		t.Fatal(err)
	}
	cred, err := admin.CreateCredential(context.Background(), slug, "e2e reader", "all/read")
	if err != nil {
		t.Fatal(err)
	}
	statements := func() ([]string, []map[string]any) {
		req, _ := http.NewRequest(http.MethodGet, r.URL+"/xapi/statements?registration="+registration+"&ascending=true&limit=500", nil)
		req.SetBasicAuth(cred.Key, cred.Secret)
		req.Header.Set("X-Experience-API-Version", "1.0.3")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var result struct {
			Statements []map[string]any `json:"statements"`
		}
		if err := json.NewDecoder(res.Body).Decode(&result); err != nil {
			t.Fatal(err)
		}
		var verbs []string
		for _, s := range result.Statements {
			id, _ := s["verb"].(map[string]any)["id"].(string)
			verbs = append(verbs, id[strings.LastIndexAny(id, "/")+1:])
		}
		return verbs, result.Statements
	}
	waitVerbs := func(what string, want map[string]int) []string {
		t.Helper()
		var verbs []string
		for end := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			verbs, _ = statements()
			n := map[string]int{}
			for _, v := range verbs {
				n[v]++
			}
			ok := true
			for v, c := range want {
				ok = ok && n[v] >= c
			}
			if ok {
				return verbs
			}
			if time.Now().After(end) {
				t.Fatalf("waiting for %s; statements: %v", what, verbs)
			}
		}
	}
	banner := func() string {
		return evalString(t, ctx, `document.querySelector("[data-banner]").hidden ? "" : document.querySelector("[data-banner]").textContent`)
	}
	answered := func() int {
		return int(evalNumber(t, ctx, `document.querySelectorAll("form.question .feedback:not(:empty)").length`))
	}

	// Session 1: answer every question, then reload the page.
	if err := chromedp.Do(ctx, chromedp.Navigate(launchURL)); err != nil {
		t.Fatal(err)
	}
	waitReady(t, ctx)
	if b := banner(); b != "" {
		t.Fatalf("the AU shows a problem: %s", b)
	}
	if evalBool(t, ctx, `!document.querySelector("[data-role-form]").hidden`) {
		t.Error("the role question shows although the learner chose gp at sign-up")
	}
	evalBool(t, ctx, fmt.Sprintf(`location.hash = "#page-%s"; (%s)()`, checkPage, answerAllJS))
	waitVerbs("passed", map[string]int{"passed": 1})
	time.Sleep(1500 * time.Millisecond) // the state is saved after a short pause
	if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	waitReady(t, ctx)
	if b := banner(); b != "" {
		t.Errorf("after a reload the AU shows %q, want no banner: the session carries on", b)
	}
	if n := answered(); n != len(mod.Questions) {
		t.Errorf("after a reload %d answers show, want %d", n, len(mod.Questions))
	}
	// The session carries on after the reload: the LRS takes the page the
	// learner opens next under the same token.
	before, _ := statements()
	evalBool(t, ctx, fmt.Sprintf(`location.hash = "#page-%s"; true`, mod.Pages[1].ID))
	time.Sleep(1500 * time.Millisecond) // the state is saved after a short pause
	for end := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		after, _ := statements()
		if len(after) > len(before) && after[len(after)-1] == "experienced" {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("no statement recorded after the reload; statements: %v", after)
		}
	}
	if slices.Contains(before, "terminated") {
		t.Error("the reload terminated the session")
	}

	// Session 2: a new launch from the portal resumes, then the learner
	// reads every page of their path and exits.
	if err := chromedp.Do(ctx, chromedp.Navigate(launch())); err != nil {
		t.Fatal(err)
	}
	waitReady(t, ctx)
	if b := banner(); b != "" {
		t.Fatalf("the second launch shows a problem: %s", b)
	}
	if got := evalString(t, ctx, `location.hash`); got != "#page-"+mod.Pages[1].ID {
		t.Errorf("the second launch opens %s, want where the learner left off (#page-%s)", got, mod.Pages[1].ID)
	}
	if n := answered(); n != len(mod.Questions) {
		t.Errorf("the second launch shows %d answers, want %d", n, len(mod.Questions))
	}
	evalBool(t, ctx, fmt.Sprintf(`location.hash = "#page-%s"; true`, mod.Pages[0].ID))
	var path []string
	for _, pg := range mod.Pages {
		if pg.ForAll() || slices.Contains(pg.Roles, "gp") {
			path = append(path, pg.ID)
		}
	}
	for _, id := range path[1:] {
		evalBool(t, ctx, `document.querySelector("[data-next]").click(); true`)
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](fmt.Sprintf(`location.hash === "#page-%s"`, id), chromedp.WithPollingTimeout(5*time.Second))); err != nil {
			t.Fatalf("Next did not lead to %s: %v", id, err)
		}
	}
	waitVerbs("completed", map[string]int{"completed": 1})
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("[data-exit]"))); err != nil {
		t.Fatal(err)
	}
	// The browser has no portal session, so the dashboard may send it on
	// to sign in; either way it has left the content origin for the app.
	returned := false
	var loc string
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end) && !returned; time.Sleep(100 * time.Millisecond) {
		loc, err = chromedp.Run(ctx, chromedp.Evaluate[string](`location.href`))
		returned = err == nil && strings.HasPrefix(loc, r.URL+"/b/")
	}
	if !returned {
		t.Errorf("Exit did not go to the return URL; the browser is at %s", loc)
	}
	verbs := waitVerbs("the second session's terminated", map[string]int{"terminated": 1, "abandoned": 1})
	_, stmts := statements()
	t.Logf("statements in the registration: %s", strings.Join(verbs, " "))

	count := map[string]int{}
	for _, v := range verbs {
		count[v]++
	}
	want := map[string]int{"launched": 2, "initialized": 2, "terminated": 1, "passed": 1, "completed": 1, "answered": len(mod.Questions), "abandoned": 1, "failed": 0}
	for v, n := range want {
		if count[v] != n {
			t.Errorf("%d %s statements, want %d (all: %v)", count[v], v, n, count)
		}
	}
	if count["experienced"] < len(path) {
		t.Errorf("%d experienced statements, want at least %d (the learner's path)", count["experienced"], len(path))
	}
	if count["satisfied"] == 0 {
		t.Error("the LMS recorded no satisfied statement for the AU")
	}
	// In each session, initialized comes before the AU's other statements;
	// the first session, left by reloading and then launching again, ends
	// with the LMS's abandoned, the second with the AU's terminated.
	bySession := map[any][]string{}
	for i, s := range stmts {
		ctxt, _ := s["context"].(map[string]any)
		ext, _ := ctxt["extensions"].(map[string]any)
		sid := ext["https://w3id.org/xapi/cmi5/context/extensions/sessionid"]
		switch verbs[i] {
		case "launched", "satisfied":
			continue
		}
		bySession[sid] = append(bySession[sid], verbs[i])
		obj, _ := s["object"].(map[string]any)
		def, _ := obj["definition"].(map[string]any)
		if verbs[i] == "answered" && (def["interactionType"] == nil || def["correctResponsesPattern"] == nil) {
			t.Errorf("answered %v has no interaction definition", obj["id"])
		}
	}
	if len(bySession) != 2 {
		t.Errorf("AU statements in %d sessions, want 2", len(bySession))
	}
	ends := map[string]int{}
	for sid, list := range bySession {
		last := list[len(list)-1]
		ends[last]++
		if list[0] != "initialized" || (last != "terminated" && last != "abandoned") {
			t.Errorf("session %v: %v; want initialized first and terminated or abandoned last", sid, list)
		}
	}
	if ends["terminated"] != 1 || ends["abandoned"] != 1 {
		t.Errorf("sessions end with %v, want one terminated and one abandoned", ends)
	}
}

// newBrowser starts headless Chromium; JavaScript exceptions in any of
// its pages fail the test.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	return browsertest.Start(t, 4*time.Minute)
}

func waitReady(t *testing.T, ctx context.Context) {
	t.Helper()
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if ready, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.dataset.ready === "true"`)); err == nil && ready {
			return
		}
	}
	t.Fatal("the AU did not start")
}

func evalString(t *testing.T, ctx context.Context, js string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func evalNumber(t *testing.T, ctx context.Context, js string) float64 {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[float64](js))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func evalBool(t *testing.T, ctx context.Context, js string) bool {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// answerAllJS answers every question right through the page's forms.
const answerAllJS = `(async () => {
  const data = await (await fetch("au.json")).json();
  for (const q of data.questions) {
    const form = document.getElementById("q-" + q.id);
    const inputs = [...form.querySelectorAll("input")];
    switch (q.type) {
      case "choice": case "true-false": inputs.find(i => i.value === q.correct[0]).checked = true; break;
      case "multiple-choice": inputs.forEach(i => { i.checked = q.correct.includes(i.value); }); break;
      case "fill-in": inputs[0].value = q.correct[0]; break;
      case "matching": for (const [s, t] of q.pairs) form.querySelector('select[data-source="' + s + '"]').value = t; break;
      case "sequencing": q.correct.forEach((id, i) => { form.querySelector('select[data-item="' + id + '"]').value = String(i + 1); }); break;
    }
    form.requestSubmit();
  }
  return true;
})`

// TestEveryRoleEndToEnd signs up a learner of each role and has them take
// a different module through the whole server, doing everything the
// module offers (playModule): the self-assessments at the start and end,
// the module's branching scenario, the knowledge check and every page of
// their path. The LRS then holds their scenario choices and their ratings
// as the runtime's profile describes.
func TestEveryRoleEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole server")
	}
	r := reachtest.Start(t, reachtest.Backend{Name: "embedded"})
	c, err := course.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	admin := client.New(r.URL)
	if _, err := admin.Login(context.Background(), "", r.AdminEmail, r.AdminPassword); err != nil {
		t.Fatal(err)
	}
	cred, err := admin.CreateCredential(context.Background(), "london", "e2e reader", "all/read")
	if err != nil {
		t.Fatal(err)
	}
	for i, role := range []string{"linkworker", "artist", "gp", "other"} {
		mod := c.Modules[i%len(c.Modules)]
		t.Run(role+" in "+mod.ID, func(t *testing.T) {
			ctx := newBrowser(t)
			jar, _ := cookiejar.New(nil)
			p := &portalSession{t: t, base: r.URL, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			}}}
			p.do(http.MethodGet, "/b/london/", nil)
			p.signUp("london", url.Values{"name": {"Learner " + role}, "email": {role + "@example.org"},
				"password": {"correct horse battery"}, "profession": {role}})
			_, dash := p.do(http.MethodGet, "/b/london/dashboard", nil)
			links := moduleLinkRE.FindAllStringSubmatch(dash, -1)
			if len(links) <= i {
				t.Fatalf("the dashboard has %d launch buttons, want module %d:\n%s", len(links), i+1, dash)
			}
			code, body := p.do(http.MethodPost, "/b/london/modules/"+links[i][1]+"/launch", url.Values{"_csrf": {p.csrf()}})
			link := launchLinkRE.FindStringSubmatch(body)
			if code != http.StatusOK || link == nil {
				t.Fatalf("launch: %d %s", code, body)
			}
			launchURL := html.UnescapeString(link[1])
			lu, _ := url.Parse(launchURL)
			registration := lu.Query().Get("registration")
			if err := chromedp.Do(ctx, chromedp.Navigate(launchURL)); err != nil {
				t.Fatal(err)
			}
			if got := evalString(t, ctx, `new Promise(r => { const w = () => document.documentElement.dataset.ready === "true" ? r(document.title) : setTimeout(w, 50); w(); })`); got == "" {
				t.Fatal("the AU did not start")
			}
			if !strings.Contains(evalString(t, ctx, `document.querySelector(".module-title").textContent`), mod.Title[:20]) {
				t.Fatalf("launched %q, want module %s", evalString(t, ctx, `document.querySelector(".module-title").textContent`), mod.ID)
			}
			playModule(topDoc(t, ctx), mod, role)
			// The module's diagrams are served with the package and load.
			if got := evalString(t, ctx, `(async () => { const imgs = [...document.querySelectorAll("figure.diagram img")];
				await Promise.all(imgs.map(i => i.decode().catch(() => null)));
				return imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute("src")).join(" ") || "ok:" + imgs.length; })()`); !strings.HasPrefix(got, "ok:") {
				t.Errorf("diagrams that did not load: %s", got)
			} else {
				t.Logf("%s: %s diagrams loaded", mod.ID, got[3:])
			}

			// The LRS has the choices and the ratings.
			au := c.AUIRI(mod)
			var scenarioSteps, ratings, endings int
			var verbs []string
			for end := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
				scenarioSteps, ratings, endings, verbs = 0, 0, 0, nil
				for _, s := range statementsOf(t, r.URL, cred, registration) {
					verbs = append(verbs, s.verb())
					if s.verb() != "responded" {
						continue
					}
					switch {
					case strings.HasPrefix(s.Object.ID, au+"/scenarios/"):
						scenarioSteps++
						if s.Result.Extensions["https://reach.london/xapi/extensions/scenario-ending"] != nil {
							endings++
						}
					case strings.HasPrefix(s.Object.ID, au+"/outcomes/"):
						ratings++
					}
				}
				if endings == 1 && ratings == 2*len(mod.Outcomes) && slices.Contains(verbs, "completed") && slices.Contains(verbs, "passed") {
					break
				}
				if time.Now().After(end) {
					t.Fatalf("%d scenario choices (%d endings), %d ratings (want %d); statements: %v", scenarioSteps, endings, ratings, 2*len(mod.Outcomes), verbs)
				}
			}
			t.Logf("%s: %d scenario choices, %d ratings; %d statements", role, scenarioSteps, ratings, len(verbs))
		})
	}
}

// statementsOf reads a registration's statements, oldest first.
func statementsOf(t *testing.T, base string, cred client.Credential, registration string) []scenarioStatement {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/xapi/statements?registration="+registration+"&ascending=true&limit=500", nil)
	req.SetBasicAuth(cred.Key, cred.Secret)
	req.Header.Set("X-Experience-API-Version", "1.0.3")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct{ Statements []scenarioStatement }
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out.Statements
}

// scenarioStatement is as much of a statement as TestEveryRoleEndToEnd reads.
type scenarioStatement struct {
	Verb   struct{ ID string } `json:"verb"`
	Object struct{ ID string } `json:"object"`
	Result struct {
		Extensions map[string]any `json:"extensions"`
	} `json:"result"`
}

func (s scenarioStatement) verb() string { return s.Verb.ID[strings.LastIndex(s.Verb.ID, "/")+1:] }
