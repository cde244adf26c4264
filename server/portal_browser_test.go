package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/reach-london/reach/internal/browsertest"
	"github.com/reach-london/reach/internal/reachtest"
)

// startChromium starts headless Chromium and returns its first tab; more
// tabs come from chromedp.NewContext(tab).
func startChromium(t *testing.T) context.Context {
	t.Helper()
	return browsertest.Start(t, 5*time.Minute)
}

func run(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

func js[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %.80q: %v", expr, err)
	}
	return v
}

// until polls cond in the page (short evaluations survive navigations).
func until(t *testing.T, ctx context.Context, what, cond string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](cond)); err == nil && ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	t.Fatalf("timed out waiting for %s (page %s)", what, loc)
}

func waitGo(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(150 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// axeSource is axe-core from web/node_modules (npm install in web/).
func axeSource(t *testing.T) string { return browsertest.AxeSource(t) }

// audit runs axe-core on the current page at the current width and fails
// on any violation or on content wider than the viewport.
func audit(t *testing.T, ctx context.Context, axe, name string) {
	t.Helper()
	if !js[bool](t, ctx, `typeof axe !== "undefined"`) {
		js[bool](t, ctx, axe+";true")
	}
	got := js[[]map[string]any](t, ctx, `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.map(v => ({id: v.id, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))})))`)
	for _, v := range got {
		t.Errorf("%s: axe %v: %v at %v", name, v["id"], v["help"], v["nodes"])
	}
	if w := js[int](t, ctx, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
		t.Errorf("%s: page is %d px wider than the viewport", name, w)
	}
}

// answerAll answers every unanswered question of the AU correctly, or only
// the first n when n > 0, through the page's own forms.
const answerAll = `(async (n) => {
  const data = await (await fetch("au.json")).json();
  let done = 0;
  for (const q of data.questions) {
    if (n > 0 && done >= n) break;
    const form = document.getElementById("q-" + q.id);
    if (!form || form.querySelector("button[type=submit]").hidden) continue;
    const inputs = [...form.querySelectorAll("input")];
    if (q.type === "choice" || q.type === "true-false") inputs.find(i => i.value === q.correct[0]).checked = true;
    else if (q.type === "multiple-choice") inputs.forEach(i => { i.checked = q.correct.includes(i.value); });
    else if (q.type === "fill-in") inputs[0].value = q.correct[0];
    else if (q.type === "matching") for (const [s, v] of q.pairs) form.querySelector('select[data-source="' + s + '"]').value = v;
    else if (q.type === "sequencing") q.correct.forEach((id, i) => { form.querySelector('select[data-item="' + id + '"]').value = String(i + 1); });
    form.requestSubmit();
    done++;
  }
  return done;
})`

// lrsGet reads the LRS with Basic credentials.
func lrsGet(t *testing.T, base, key, secret, path string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/xapi/"+path, nil)
	req.SetBasicAuth(key, secret)
	req.Header.Set("X-Experience-API-Version", "1.0.3")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if out != nil && res.StatusCode == 200 {
		_ = json.Unmarshal(b, out)
	}
	return res.StatusCode
}

// TestLearnerTakesModuleInChromium: a learner signs up in the portal,
// launches module 1 of the real course, answers part of the knowledge
// check, closes the tab, resumes from the dashboard in place, finishes
// the module and comes back to the portal, which shows it satisfied.
func TestLearnerTakesModuleInChromium(t *testing.T) {
	r := reachtest.Start(t, reachtest.Backends()[0])
	axe := axeSource(t)
	ctx := startChromium(t)
	ctxAdmin := context.Background()
	const slug = "london"
	base := r.URL + "/b/" + slug

	// The portal at phone width, audited with axe-core; with a second
	// borough the home page offers a choice.
	run(t, ctx, chromedp.EmulateViewport(360, 800))
	if _, err := r.App.Auth.CreateBorough(ctxAdmin, "test", "merton", ""); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, chromedp.Navigate(r.URL+"/"))
	audit(t, ctx, axe, "home")
	run(t, ctx, chromedp.Navigate(base+"/"))
	audit(t, ctx, axe, "landing")
	run(t, ctx, chromedp.Navigate(base+"/signup"))
	audit(t, ctx, axe, "sign-up")
	run(t, ctx, chromedp.Click(chromedp.CSS(`button[type=submit]`)))
	until(t, ctx, "the error summary", `!!document.querySelector(".error-summary")`)
	audit(t, ctx, axe, "sign-up with errors")
	run(t, ctx,
		chromedp.SendKeys(chromedp.CSS("#f-name"), "Grace Learner"),
		chromedp.SendKeys(chromedp.CSS("#f-email"), "grace@example.org"),
		chromedp.SendKeys(chromedp.CSS("#f-password"), "a long enough password"),
		chromedp.Click(chromedp.CSS("#f-profession-gp")),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)))
	// Sign-up signs no one in (it answers the same for an address that
	// already has an account): the sign-in page says so.
	until(t, ctx, "the sign-in page after sign-up", `location.pathname.endsWith("/signin") && !!document.querySelector(".notice")`)
	audit(t, ctx, axe, "sign-in after sign-up")
	run(t, ctx,
		chromedp.SendKeys(chromedp.CSS("#f-email"), "grace@example.org"),
		chromedp.SendKeys(chromedp.CSS("#f-password"), "a long enough password"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)))
	until(t, ctx, "the dashboard", `location.pathname.endsWith("/dashboard") && !!document.querySelector(".modules")`)
	audit(t, ctx, axe, "dashboard")
	run(t, ctx, chromedp.Navigate(base+"/role"))
	audit(t, ctx, axe, "role")
	run(t, ctx, chromedp.EmulateViewport(1280, 900))

	admin := adminClient(t, r)
	cred, err := admin.CreateCredential(ctxAdmin, slug, "e2e reader", "all")
	if err != nil {
		t.Fatal(err)
	}

	// Session 1 in its own tab: open module 1, answer three questions, close the tab.
	tab, closeTab := chromedp.NewContext(ctx)
	run(t, tab, chromedp.Navigate(base+"/dashboard"))
	run(t, tab, chromedp.Click(chromedp.CSS(`.module:first-child button[type=submit]`)))
	until(t, tab, "the AU", `document.documentElement.dataset.ready === "true"`)
	if !strings.HasPrefix(js[string](t, tab, `location.href`), r.ContentURL+"/") {
		t.Fatalf("the AU runs on %s, want the content origin", js[string](t, tab, `location.href`))
	}
	launch, _ := url.Parse(js[string](t, tab, `location.href`))
	reg, actor, auID := launch.Query().Get("registration"), launch.Query().Get("actor"), launch.Query().Get("activityId")
	checkPage := js[string](t, tab, `document.querySelector("form.question").closest("[id^='page-']").id`)
	js[bool](t, tab, fmt.Sprintf(`location.hash = "#%s"; true`, checkPage))
	if n := js[int](t, tab, fmt.Sprintf(`(%s)(3)`, answerAll)); n != 3 {
		t.Fatalf("answered %d questions, want 3", n)
	}
	stateQ := url.Values{"activityId": {auID}, "agent": {actor}, "registration": {reg}, "stateId": {"https://reach.london/xapi/state/progress"}}
	waitGo(t, "three answers saved in the State resource", func() bool {
		var st struct{ Answers map[string]any }
		lrsGet(t, r.URL, cred.Key, cred.Secret, "activities/state?"+stateQ.Encode(), &st)
		return len(st.Answers) == 3
	})
	closeTab()

	// Session 2: the dashboard offers Resume; the AU opens where the learner was.
	run(t, ctx, chromedp.Navigate(base+"/dashboard"))
	if got := js[string](t, ctx, `document.querySelector(".module:first-child .status").textContent`); got != "in progress" {
		t.Errorf("module 1 status after session 1: %q, want in progress", got)
	}
	if got := js[string](t, ctx, `document.querySelector(".module:first-child button[type=submit]").textContent`); got != "Resume" {
		t.Errorf("module 1 button: %q, want Resume", got)
	}
	run(t, ctx, chromedp.Click(chromedp.CSS(`.module:first-child button[type=submit]`)))
	until(t, ctx, "the AU again", `document.documentElement.dataset.ready === "true"`)
	if got := js[string](t, ctx, `location.hash`); got != "#"+checkPage {
		t.Errorf("resumed on %s, want #%s", got, checkPage)
	}
	if n := js[int](t, ctx, `document.querySelectorAll("form.question .feedback:not(:empty)").length`); n != 3 {
		t.Errorf("%d answers restored, want 3", n)
	}
	js[int](t, ctx, fmt.Sprintf(`(%s)(0)`, answerAll))
	// Page through the module with Next from the first page to the last.
	first := js[string](t, ctx, `document.querySelector("[id^='page-']").id`)
	js[bool](t, ctx, fmt.Sprintf(`location.hash = "#%s"; true`, first))
	until(t, ctx, "the first page", fmt.Sprintf(`!document.getElementById(%q).hidden`, first))
	for i := 0; i < 60 && !js[bool](t, ctx, `document.querySelector("[data-next]").hidden`); i++ {
		before := js[string](t, ctx, `location.hash`)
		next := js[string](t, ctx, `document.querySelector("[data-next]").getAttribute("href")`)
		run(t, ctx, chromedp.Click(chromedp.CSS("[data-next]")))
		until(t, ctx, "the next page after "+before+" (Next is "+next+")",
			fmt.Sprintf(`location.hash === %q && !document.getElementById(%q).hidden`, next, strings.TrimPrefix(next, "#")))
	}
	type stmt struct {
		Verb struct {
			ID string `json:"id"`
		} `json:"verb"`
		Object struct {
			ID string `json:"id"`
		} `json:"object"`
	}
	verbsOf := func() []string {
		var res struct{ Statements []stmt }
		lrsGet(t, r.URL, cred.Key, cred.Secret, "statements?ascending=true&limit=500&registration="+reg, &res)
		var out []string
		for _, s := range res.Statements {
			out = append(out, s.Verb.ID[strings.LastIndexAny(s.Verb.ID, "/#")+1:])
		}
		return out
	}
	waitGo(t, "completed, passed and satisfied", func() bool {
		v := verbsOf()
		return slices.Contains(v, "completed") && slices.Contains(v, "passed") && slices.Contains(v, "satisfied")
	})
	run(t, ctx, chromedp.Click(chromedp.CSS("[data-exit]")))
	until(t, ctx, "the portal after exit", `location.pathname.endsWith("/dashboard") && !!document.querySelector(".modules")`)
	if got := js[string](t, ctx, `document.querySelector(".module:first-child .status").textContent`); got != "satisfied" {
		t.Errorf("module 1 status after finishing: %q, want satisfied", got)
	}
	audit(t, ctx, axe, "dashboard after a module")

	verbs := verbsOf()
	for _, want := range []string{"launched", "initialized", "experienced", "answered", "completed", "passed", "terminated", "satisfied"} {
		if !slices.Contains(verbs, want) {
			t.Errorf("no %s statement in the registration; got %v", want, verbs)
		}
	}
	if n := strings.Count(strings.Join(verbs, ","), "launched"); n != 2 {
		t.Errorf("%d launched statements, want 2 (one per session): %v", n, verbs)
	}
	learner := strings.TrimSuffix(actor[strings.LastIndex(actor, `"name":"`)+8:], `"}}`)
	regs, err := admin.Registrations(ctxAdmin, slug, learner)
	if err != nil || len(regs) != 1 {
		t.Fatalf("registrations of %s: %v %v", learner, regs, err)
	}
	var au1 *struct{}
	for _, a := range regs[0].AUs {
		if a.Module != "" && a.Launches > 0 {
			au1 = &struct{}{}
			if a.CompletedAt == nil || a.PassedAt == nil || a.SatisfiedAt == nil || a.Launches != 2 || a.SecondsSpent <= 0 {
				t.Errorf("AU status after the module: %+v", a)
			}
		}
	}
	if au1 == nil {
		t.Errorf("registration has no status for %s: %+v", auID, regs[0])
	}

	// With the other modules waived the certificate is ready; it passes
	// axe-core too, on a phone and on a desktop.
	for _, m := range js[[]string](t, ctx, `[...document.querySelectorAll(".module form")].map(f => f.action.split("/modules/")[1].split("/")[0]).filter((m, i, a) => i > 0 && a.indexOf(m) === i)`) {
		if _, err := admin.Waive(ctxAdmin, slug, learner, reg, m, "Administrative"); err != nil {
			t.Fatalf("waive %s: %v", m, err)
		}
	}
	run(t, ctx, chromedp.Navigate(base+"/certificate"))
	if got := js[string](t, ctx, `document.querySelector(".name").textContent`); got != "Grace Learner" {
		t.Errorf("certificate name %q", got)
	}
	audit(t, ctx, axe, "certificate")
	run(t, ctx, chromedp.EmulateViewport(360, 800))
	audit(t, ctx, axe, "certificate on a phone")
	run(t, ctx, chromedp.Navigate(base+"/dashboard"))
	if n := js[int](t, ctx, `[...document.querySelectorAll(".module button")].filter(b => b.textContent === "Review").length`); n != 4 {
		t.Errorf("%d Review buttons on the dashboard, want 4", n)
	}
	audit(t, ctx, axe, "dashboard with every module done")
}
