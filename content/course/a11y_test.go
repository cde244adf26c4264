package course

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/reach-london/reach/internal/browsertest"
)

// axeScript reads axe-core from web/node_modules (npm install in web/).
func axeScript(t *testing.T) string { return browsertest.AxeSource(t) }

// fullSlots fills every local slot, as a borough would.
func fullSlots() BuildOptions {
	return BuildOptions{Slots: Slots{
		BoroughName: "Merton",
		Branding:    Branding{PrimaryColour: "#5a2d82", Logo: []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><rect width="40" height="20" fill="#5a2d82"/></svg>`), LogoType: "image/svg+xml"},
		Offers: []Offer{{Name: "Tuesday Singers", Organisation: "Merton Arts Hub", Description: "A relaxed singing group.\n\nNo experience needed.",
			WhoFor: "Adults who feel low or lonely", WhereWhen: "Tuesdays 2pm, Morden Library", Cost: "Free", Access: "Step-free, hearing loop",
			HowToRefer: "Email the hub", Contact: "hub@example.org", URL: "https://example.org/singers"}},
		Contacts:    []Contact{{Name: "Sam Patel", Role: "Social prescribing lead", Organisation: "Merton PCN", Email: "sam@example.org", Phone: "020 7946 0000", URL: "https://example.org"}},
		CaseStudies: []CaseStudy{{Title: "The library choir", Body: "A local story.\n\nIt went well."}},
	}}
}

// auditPackage opens every page of every module of a built package in a
// viewport width pixels wide (360 for a phone) and runs axe-core on it. It
// fails on any axe violation and on any page wider than the viewport.
func auditPackage(t *testing.T, ctx context.Context, axe string, c *Course, files map[string][]byte, width int64) {
	srv := httptest.NewServer(packageHandler(files))
	defer srv.Close()
	do(t, ctx, chromedp.EmulateViewport(width, 740))
	for _, m := range c.Modules {
		do(t, ctx, chromedp.Navigate(srv.URL+"/pkg/"+AUPath(m)))
		waitReady(t, ctx)
		eval[bool](t, ctx, axe+";true")
		for _, p := range m.Pages {
			eval[bool](t, ctx, fmt.Sprintf(`location.hash = "#page-%s"; true`, p.ID))
			eval[bool](t, ctx, fmt.Sprintf(`new Promise(r => { const s = document.getElementById("page-%s"); const w = () => s.hidden ? setTimeout(w, 20) : r(true); w(); })`, p.ID))
			// Show every state a learner can reach: role notes open, a
			// question's error message and another's feedback.
			eval[bool](t, ctx, `(() => { document.querySelectorAll("section.page:not([hidden]) details").forEach(d => d.open = true);
				const qs = [...document.querySelectorAll("section.page:not([hidden]) form.question")].filter(f => !f.querySelector("input:disabled, select:disabled"));
				if (qs[0]) qs[0].requestSubmit();
				if (qs[1]) { const i = qs[1].querySelector("input[type=radio], input[type=checkbox]"); if (i) { i.checked = true; qs[1].requestSubmit(); } }
				// A scenario: show every step, the path, a consequence and
				// every ending at once, so each is audited.
				document.querySelectorAll("section.page:not([hidden]) [data-scenario]").forEach(box => {
					const first = box.querySelector("form.scenario-step");
					first.querySelector("input").checked = true; first.requestSubmit();
					box.querySelectorAll("[hidden]").forEach(e => { if (!e.matches("[data-error]")) e.hidden = false; });
				});
				// Self-assessments: the start with its error, the end saved so
				// the learner's change shows.
				const start = document.querySelector("section.page:not([hidden]) [data-self-assessment=start]");
				if (start) start.requestSubmit();
				const end = document.querySelector("section.page:not([hidden]) [data-self-assessment=end]");
				if (end) { end.querySelectorAll("fieldset[data-outcome]").forEach(fs => { fs.querySelector("input").checked = true; }); end.requestSubmit(); }
				return true })()`)
			for _, v := range axeViolations(t, ctx) {
				t.Errorf("%s page %s: axe %v: %v: %v", m.ID, p.ID, v["id"], v["help"], v["nodes"])
			}
			width := eval[[]int](t, ctx, `[document.documentElement.scrollWidth, document.documentElement.clientWidth]`)
			if width[0] > width[1] {
				t.Errorf("%s page %s: %d px wide at a %d px viewport (scrolls sideways)", m.ID, p.ID, width[0], width[1])
			}
		}
		eval[bool](t, ctx, `localStorage.clear(); true`)
	}
}

// axeViolations runs axe-core (already injected) on the document.
func axeViolations(t *testing.T, ctx context.Context) []map[string]any {
	t.Helper()
	return eval[[]map[string]any](t, ctx, `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.map(v => ({id: v.id, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target.join(" ") + " :: " + n.failureSummary)})))`)
}

// TestAxeFindsViolations proves the audit can fail: a page with an image
// without a text alternative and a nameless button must be reported.
func TestAxeFindsViolations(t *testing.T) {
	axe := axeScript(t)
	ctx := newBrowser(t)
	srv := httptest.NewServer(packageHandler(map[string][]byte{"bad.html": []byte(`<!doctype html><html lang="en"><head><title>Bad</title></head><body><main><h1>Bad</h1><img src="x.png"><button></button></main></body></html>`)}))
	defer srv.Close()
	do(t, ctx, chromedp.Navigate(srv.URL+"/pkg/bad.html"))
	eval[bool](t, ctx, axe+";true")
	ids := map[string]bool{}
	for _, v := range axeViolations(t, ctx) {
		ids[v["id"].(string)] = true
	}
	if !ids["image-alt"] || !ids["button-name"] {
		t.Errorf("axe found %v, want image-alt and button-name", ids)
	}
}

// TestAccessibilityFixture audits the fixture course, which uses every
// block and question type, with the slots empty and filled.
func TestAccessibilityFixture(t *testing.T) {
	axe := axeScript(t)
	ctx := newBrowser(t)
	for _, opts := range []BuildOptions{{}, fullSlots()} {
		c, files := buildPackage(t, os.DirFS("testdata/good"), opts)
		auditPackage(t, ctx, axe, c, files, 360)
		auditPackage(t, ctx, axe, c, files, 1280)
	}
}

// TestAccessibilityCourse audits every page of every written module of the
// real course.
func TestAccessibilityCourse(t *testing.T) {
	axe := axeScript(t)
	for _, dir := range realModuleDirs(t) {
		if !moduleStarted(dir) {
			t.Logf("module %s has no pages yet", dir)
			continue
		}
		t.Run(dir, func(t *testing.T) {
			// A browser per module keeps each within the browser's time limit.
			ctx := newBrowser(t)
			c, err := Load(subsetSources(t, Sources(), dir))
			if err != nil {
				t.Fatalf("module %s does not load (see TestRealCourse): %v", dir, err)
			}
			var files map[string][]byte
			_, files = buildPackage(t, subsetSources(t, Sources(), dir), BuildOptions{})
			auditPackage(t, ctx, axe, c, files, 360)
			auditPackage(t, ctx, axe, c, files, 1280)
		})
	}
}

// TestKeyboard checks that a keyboard user meets the skip link first, that
// it moves focus to the main content, and that every page is a link.
func TestKeyboard(t *testing.T) {
	c, files := buildPackage(t, os.DirFS("testdata/good"), BuildOptions{})
	srv := httptest.NewServer(packageHandler(files))
	defer srv.Close()
	ctx := newBrowser(t)
	m := c.Modules[0]
	do(t, ctx, chromedp.Navigate(srv.URL+"/pkg/"+AUPath(m)))
	waitReady(t, ctx)
	do(t, ctx, chromedp.KeyEvent("\t"))
	if got := eval[string](t, ctx, `document.activeElement.className + ":" + document.activeElement.textContent`); got != "skip-link:Skip to content" {
		t.Errorf("first Tab focuses %q, want the skip link", got)
	}
	do(t, ctx, chromedp.KeyEvent("\r"))
	if got := eval[string](t, ctx, `document.activeElement.id`); got != "main" {
		t.Errorf("the skip link moved focus to %q, want main", got)
	}
	links := eval[[]string](t, ctx, `[...document.querySelectorAll("nav.pages-nav a[href]")].map(a => a.getAttribute("href"))`)
	if len(links) != len(m.Pages) {
		t.Errorf("%d page links, want %d", len(links), len(m.Pages))
	}
	// Following a page link with the keyboard shows the page and moves
	// focus to its heading.
	do(t, ctx, chromedp.Focus(chromedp.CSS(`.pages-menu summary`)), chromedp.KeyEvent("\r"),
		chromedp.Focus(chromedp.CSS(`a[href="#page-stories"]`)), chromedp.KeyEvent("\r"))
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.activeElement.id === "title-stories"`, chromedp.WithPollingTimeout(5*time.Second))); err != nil {
		t.Errorf("focus after following a page link: %v", err)
	}
	// Answering with the keyboard: the Check button goes away, so focus
	// must land on the feedback rather than be lost.
	eval[bool](t, ctx, `location.hash = "#page-knowledge-check"; true`)
	do(t, ctx, chromedp.Focus(chromedp.CSS("#q-fx-q1-b")), chromedp.KeyEvent(" "),
		chromedp.Focus(chromedp.CSS("#q-fx-q1 button[type=submit]")), chromedp.KeyEvent("\r"))
	if got := eval[string](t, ctx, `document.activeElement.id + ": " + document.activeElement.textContent`); !strings.HasPrefix(got, "q-fx-q1-feedback: Correct.You chose") {
		t.Errorf("after answering, focus is on %q, want the feedback", got)
	}
}
