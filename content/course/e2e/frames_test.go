package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/reach-london/reach/content/course"
)

// frameDoc is a document inside the page: the top one, or an iframe at
// any depth found by its URL. Course AUs opened by another LMS sit several
// frames deep (LMS player, SCO page, Reach's play page, AU), on origins
// the top page's scripts may not reach; the test reaches them through the
// DevTools protocol instead.
type frameDoc struct {
	t   *testing.T
	ctx context.Context
	// match picks the frame by URL; nil means the top document.
	match func(url string) bool
	what  string
}

func topDoc(t *testing.T, ctx context.Context) frameDoc {
	return frameDoc{t: t, ctx: ctx, what: "the page"}
}

// frameWhere finds the frame whose URL contains fragment.
func frameWhere(t *testing.T, ctx context.Context, fragment string) frameDoc {
	return frameDoc{t: t, ctx: ctx, what: "the frame at " + fragment,
		match: func(u string) bool { return strings.Contains(u, fragment) }}
}

// findFrame returns the id of the frame f names, or "" while it is not
// (yet) in the page.
func (f frameDoc) findFrame(ctx context.Context, t *chromedp.Target) (cdp.FrameID, error) {
	tree, err := cdp.Call(ctx, t, page.GetFrameTree, cdp.Empty{})
	if err != nil {
		return "", err
	}
	var id cdp.FrameID
	var walk func(n *page.FrameTree)
	walk = func(n *page.FrameTree) {
		if id != "" || n == nil {
			return
		}
		if f.match(n.Frame.URL) {
			id = n.Frame.ID
			return
		}
		for _, c := range n.ChildFrames {
			walk(c)
		}
	}
	walk(tree.FrameTree)
	return id, nil
}

// try evaluates js (awaiting a promise) and decodes its value into out.
func (f frameDoc) try(js string, out any) error {
	if f.match == nil {
		v, err := chromedp.Run(f.ctx, chromedp.Evaluate[json.RawMessage](js, chromedp.EvalAwaitPromise))
		if err != nil {
			return err
		}
		return json.Unmarshal(v, out)
	}
	_, err := chromedp.Run(f.ctx, chromedp.Action[chromedp.Void](func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		id, err := f.findFrame(ctx, t)
		if err != nil {
			return chromedp.Void{}, err
		}
		if id == "" {
			return chromedp.Void{}, fmt.Errorf("%s is not in the page", f.what)
		}
		// An isolated world sees the frame's DOM (events it fires reach
		// the page's own listeners) whatever the frame's origin.
		world, err := cdp.Call(ctx, t, page.CreateIsolatedWorld, page.CreateIsolatedWorldParams{FrameID: id, WorldName: "e2e"})
		if err != nil {
			return chromedp.Void{}, err
		}
		yes := true
		res, err := cdp.Call(ctx, t, runtime.Evaluate, runtime.EvaluateParams{Expression: js, ContextID: world.ExecutionContextID,
			AwaitPromise: &yes, ReturnByValue: &yes})
		if err != nil {
			return chromedp.Void{}, err
		}
		if exc := res.ExceptionDetails; exc != nil {
			return chromedp.Void{}, fmt.Errorf("in %s: %s %s", f.what, exc.Text, describe(exc.Exception))
		}
		return chromedp.Void{}, json.Unmarshal(res.Result.Value, out)
	}))
	return err
}

func describe(o *runtime.RemoteObject) string {
	if o == nil {
		return ""
	}
	return o.Description
}

func (f frameDoc) bool(js string) bool {
	f.t.Helper()
	var v bool
	if err := f.try(js, &v); err != nil {
		f.t.Fatal(err)
	}
	return v
}

func (f frameDoc) string(js string) string {
	f.t.Helper()
	var v string
	if err := f.try(js, &v); err != nil {
		f.t.Fatal(err)
	}
	return v
}

// waitFor polls js in the document until it is true.
func (f frameDoc) waitFor(what, js string, within time.Duration) {
	f.t.Helper()
	var lastErr error
	for end := time.Now().Add(within); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		var ok bool
		if lastErr = f.try(js, &ok); lastErr == nil && ok {
			return
		}
	}
	f.t.Fatalf("waiting for %s in %s (last error: %v)", what, f.what, lastErr)
}

// completeModule plays one course module in the AU document as a learner
// of role would: chooses the role if the AU asks, answers every question
// right, then walks the role's path with Next until the last page.
func completeModule(f frameDoc, mod *course.Module, role string) {
	f.t.Helper()
	f.waitFor("the AU to start", `document.documentElement.dataset.ready === "true"`, 20*time.Second)
	if b := f.string(`document.querySelector("[data-banner]").hidden ? "" : document.querySelector("[data-banner]").textContent`); b != "" {
		f.t.Fatalf("the AU shows a problem: %s", b)
	}
	if f.bool(`!document.querySelector("[data-role-form]").hidden`) {
		f.bool(fmt.Sprintf(`document.querySelector("#role-%s").checked = true; document.querySelector("[data-role-form]").requestSubmit(); true`, role))
		f.waitFor("the role to be saved", `document.querySelector("[data-role-form]").hidden`, 10*time.Second)
	}
	checkPage := ""
	for _, pg := range mod.Pages {
		if len(pg.QuestionIDs) > 0 {
			checkPage = pg.ID
		}
	}
	f.bool(fmt.Sprintf(`location.hash = "#page-%s"; (%s)()`, checkPage, answerAllJS))
	f.waitFor("every answer", fmt.Sprintf(`document.querySelectorAll("form.question .feedback:not(:empty)").length === %d`, len(mod.Questions)), 10*time.Second)
	f.bool(fmt.Sprintf(`location.hash = "#page-%s"; true`, mod.Pages[0].ID))
	var path []string
	for _, pg := range mod.Pages {
		if pg.ForAll() || slices.Contains(pg.Roles, role) {
			path = append(path, pg.ID)
		}
	}
	for _, id := range path[1:] {
		f.bool(`document.querySelector("[data-next]").click(); true`)
		f.waitFor("Next to lead to "+id, fmt.Sprintf(`location.hash === "#page-%s"`, id), 5*time.Second)
	}
}

// playModule plays a module as a learner of role who does everything the
// module offers: rates their confidence at the start, plays the module's
// branching scenario to an ending, answers every question, reads their
// path, then rates their confidence at the end and sees their change.
func playModule(f frameDoc, mod *course.Module, role string) {
	f.t.Helper()
	f.waitFor("the AU to start", `document.documentElement.dataset.ready === "true"`, 20*time.Second)
	f.bool(fmt.Sprintf(`location.hash = "#page-%s"; true`, mod.Pages[0].ID))
	// Start: a 2 for every outcome.
	f.bool(`(() => { const form = document.querySelector('[data-self-assessment="start"]');
		form.querySelectorAll("fieldset[data-outcome]").forEach(fs => { fs.querySelector('input[value="2"]').checked = true; });
		form.querySelector("[data-sa-text]").value = "I hope to learn who does what.";
		form.requestSubmit(); return true })()`)
	f.waitFor("the start ratings saved", `document.querySelector('[data-self-assessment="start"] [data-save-status]').textContent === "Saved."`, 5*time.Second)
	// The scenario: always take the first choice, continue, until an ending.
	page := ""
	for _, pg := range mod.Pages {
		if strings.HasPrefix(pg.ID, "scenario-") {
			page = pg.ID
		}
	}
	if page == "" {
		f.t.Fatalf("module %s has no scenario page", mod.ID)
	}
	ending := f.string(fmt.Sprintf(`(async () => { location.hash = "#page-%s";
		const box = document.querySelector("#page-%s [data-scenario]");
		for (let i = 0; i < 20; i++) {
			const end = [...box.querySelectorAll("[data-ending]")].find(e => !e.hidden);
			if (end) return end.querySelector("h2, h3, h4").textContent;
			const form = [...box.querySelectorAll("form.scenario-step")].find(e => !e.hidden);
			form.querySelector("input").checked = true;
			form.requestSubmit();
			box.querySelector("[data-scenario-continue]").click();
		}
		return "no ending after 20 steps"; })()`, page, page))
	if !strings.HasPrefix(ending, "Ending: ") {
		f.t.Fatalf("the scenario on %s did not end: %s", page, ending)
	}
	completeModule(f, mod, role)
	// End: a 3 for every outcome; the change shows one step up for each.
	f.bool(`(() => { location.hash = "#page-summary"; const form = document.querySelector('[data-self-assessment="end"]');
		form.querySelectorAll("fieldset[data-outcome]").forEach(fs => { fs.querySelector('input[value="3"]').checked = true; });
		form.requestSubmit(); return true })()`)
	f.waitFor("the learner's change", fmt.Sprintf(`!document.querySelector("[data-sa-change]").hidden && document.querySelector("[data-sa-change]").textContent.includes("Your confidence went up for %d of %d learning outcomes.")`, len(mod.Outcomes), len(mod.Outcomes)), 5*time.Second)
}
