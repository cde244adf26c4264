package scorm_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/reach-london/reach/content/launch"
	"github.com/reach-london/reach/content/scorm"
	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/browsertest"
	"github.com/reach-london/reach/internal/reachtest"
)

// browser starts headless Chromium for the test; JavaScript exceptions in
// the player or the SCO fail the test at its end.
func browser(t *testing.T) context.Context {
	t.Helper()
	browsertest.Require(t, "../../server/playerdist/player.js", "the player bundle (make web)")
	return browsertest.Start(t, 3*time.Minute)
}

// inSCO evaluates expr with `doc` bound to the SCO frame's document.
func inSCO(expr string) string {
	return `(() => { const f = document.getElementById("player-frame"); const doc = f && f.contentDocument;
		if (!doc || doc.readyState !== "complete" || !doc.getElementById("log")) return null;
		try { return (` + expr + `); } catch (e) { return null; } })()`
}

// waitFor polls expr until it returns want.
func waitFor(t *testing.T, ctx context.Context, what, expr, want string) {
	t.Helper()
	var got any
	for i := 0; i < 150; i++ {
		var err error
		// The page may be between documents (the player navigates between
		// SCOs), so a missing element reads as "not yet".
		got, err = chromedp.Run(ctx, chromedp.Evaluate[any](`(() => { try { return (`+expr+`); } catch (e) { return null; } })()`))
		if err != nil {
			// An evaluation cut short by a navigation: try again.
			got = err
		}
		if fmt.Sprint(got) == want {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	status, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("player-status") ? document.getElementById("player-status").textContent : ""`))
	t.Fatalf("%s: got %v, want %q (player status %q)", what, got, want, status)
}

func click(t *testing.T, ctx context.Context, id string) {
	t.Helper()
	ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](inSCO(`(doc.getElementById(`+fmt.Sprintf("%q", id)+`).click(), true)`)))
	if err != nil || !ok {
		t.Fatalf("click %s in the SCO: %v", id, err)
	}
}

// checkAccessible runs axe-core (WCAG 2.x A and AA rules) on the player
// around the SCO, at desktop and phone widths. The SCO is the package's
// content, so the frame itself is left out.
func checkAccessible(t *testing.T, ctx context.Context) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](browsertest.AxeSource(t)+";true")); err != nil {
		t.Fatalf("inject axe-core: %v", err)
	}
	for _, width := range []int64{1280, 360} {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 800)); err != nil {
			t.Fatal(err)
		}
		found, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`axe.run({exclude: [["#player-frame"]]},
			{runOnly: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"], resultTypes: ["violations"]})
			.then(r => r.violations.map(v => v.id + ": " + v.help + " at " + v.nodes.map(n => n.target.join(" ")).join(", ")))`,
			chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("axe: %v", err)
		}
		for _, v := range found {
			t.Errorf("player at %dpx: %s", width, v)
		}
		wide, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
		if wide {
			t.Errorf("player at %dpx is wider than the screen", width)
		}
	}
}

// waitSessionEnded polls the server until the attempt's session has ended
// (the unload beacon arrives after the page is gone).
func waitSessionEnded(t *testing.T, f *fixture, id, state string) scorm.Attempt {
	t.Helper()
	for i := 0; i < 100; i++ {
		a, err := f.svc.AttemptForBorough(context.Background(), f.borough.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		if a.SessionState == state {
			return a
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("attempt %s never reached session state %q", id, state)
	return scorm.Attempt{}
}

func TestBrowserSCORM12(t *testing.T) {
	for _, b := range reachtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			f := newFixture(t, b, "testdata/scorm12")
			ctx := browser(t)
			reg := uuid.NewString()
			a, _ := f.start(t, reg, "quiz")
			_, playerURL, _ := f.svc.StartAttempt(context.Background(), scorm.AttemptStart{BoroughID: f.borough.ID,
				Learner: learner("ada"), LearnerID: "ada", LearnerName: "Lovelace, Ada", Registration: reg, PackageID: f.pkg.ID, SCOID: "quiz"})

			// First session: answer question 1, which suspends, then close.
			if err := chromedp.Do(ctx, chromedp.Navigate(playerURL)); err != nil {
				t.Fatal(err)
			}
			waitFor(t, ctx, "first entry", inSCO(`doc.getElementById("entry").textContent`), "ab-initio")
			waitFor(t, ctx, "student id", inSCO(`doc.getElementById("student").textContent`), "ada")
			waitFor(t, ctx, "menu", `[...document.querySelectorAll("#player-toc button")].map(b => b.textContent + (b.getAttribute("aria-current") ? "*" : "")).join("|")`,
				"Introduction page|Two-question quiz*")
			waitFor(t, ctx, "previous enabled", `document.getElementById("player-prev").disabled`, "false")
			waitFor(t, ctx, "next disabled", `document.getElementById("player-next").disabled`, "true")
			checkAccessible(t, ctx)
			click(t, ctx, "q1-b")
			waitFor(t, ctx, "q1 saved", inSCO(`doc.getElementById("log").textContent`), "saved q1")
			if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
				t.Fatal(err)
			}
			stored := waitSessionEnded(t, f, a.ID, "ended")
			if stored.Status != scorm.StatusSuspended || stored.CMI["cmi.suspend_data"] != "q1=b" ||
				stored.CMI["cmi.interactions.0.student_response"] != "b" || stored.CMI["cmi.core.lesson_location"] != "q2" {
				t.Fatalf("after closing: status %s, CMI %v", stored.Status, stored.CMI)
			}

			// Second session: resumes where it stopped, then finishes.
			_, playerURL, err := f.svc.StartAttempt(context.Background(), scorm.AttemptStart{BoroughID: f.borough.ID,
				Learner: learner("ada"), LearnerID: "ada", LearnerName: "Lovelace, Ada", Registration: reg, PackageID: f.pkg.ID, SCOID: "quiz"})
			if err != nil {
				t.Fatal(err)
			}
			if err := chromedp.Do(ctx, chromedp.Navigate(playerURL)); err != nil {
				t.Fatal(err)
			}
			waitFor(t, ctx, "resume entry", inSCO(`doc.getElementById("entry").textContent`), "resume")
			waitFor(t, ctx, "resume data", inSCO(`doc.getElementById("suspend").textContent + "@" + doc.getElementById("location").textContent`), "q1=b@q2")
			click(t, ctx, "q2-true")
			waitFor(t, ctx, "finished", inSCO(`doc.getElementById("log").textContent`), "finished")
			stored, err = f.svc.AttemptForBorough(context.Background(), f.borough.ID, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			if stored.Status != scorm.StatusFinished || stored.CMI["cmi.core.lesson_status"] != "passed" ||
				stored.CMI["cmi.core.score.raw"] != "100" || stored.CMI.Count("cmi.interactions") != 2 || stored.TotalSeconds != 180 {
				t.Fatalf("finished attempt: status %s total %v CMI %v", stored.Status, stored.TotalSeconds, stored.CMI)
			}

			// The menu's previous item: the page SCO, a new attempt.
			// The player's own buttons are real buttons: focus and press Enter.
			if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("player-prev").focus(), document.activeElement.id === "player-prev"`)); err != nil {
				t.Fatal(err)
			}
			if err := chromedp.Do(ctx, chromedp.KeyEvent("\r")); err != nil {
				t.Fatal(err)
			}
			waitFor(t, ctx, "page SCO", `document.getElementById("player-title").textContent`, "Reach SCORM 1.2 test course: Introduction page")
			waitFor(t, ctx, "page entry", inSCO(`doc.getElementById("entry").textContent`), "ab-initio")
			click(t, ctx, "done")
			waitFor(t, ctx, "page finished", inSCO(`doc.getElementById("log").textContent`), "finished")

			verbs, stmts := f.statements(t, reg)
			want := "initialized,answered,suspended,resumed,answered,completed,passed,terminated,initialized,completed,terminated"
			if got := strings.Join(verbs, ","); got != want {
				t.Fatalf("statements %s, want %s", got, want)
			}
			quiz := f.pkg.Course.ID + "/quiz"
			for i, st := range stmts[:8] {
				if id := st["object"].(map[string]any)["id"].(string); !strings.HasPrefix(id, quiz) {
					t.Errorf("statement %d (%s) object %s, want the quiz SCO %s", i, verbs[i], id, quiz)
				}
			}
			if id := stmts[8]["object"].(map[string]any)["id"]; id != f.pkg.Course.ID+"/page" {
				t.Errorf("page initialized object %v", id)
			}
		})
	}
}

// portalModule makes the test package the borough's first module (a
// replaced module, published), as a borough admin would.
func portalModule(t *testing.T, f *fixture) string {
	t.Helper()
	ctx := context.Background()
	c := f.inst.App.Content()
	v, err := c.PublishedVersion(ctx, f.borough.ID)
	if err != nil || len(v.Modules) == 0 {
		t.Fatalf("published base course: %v (%d modules)", err, len(v.Modules))
	}
	module := v.Modules[0].Module
	draft, err := c.ReplaceModule(ctx, f.borough.ID, "test", module, f.pkg.ID, f.pkg.Course.AllAUs()[0].ID)
	if err != nil {
		t.Fatalf("replace module %s with the SCORM package: %v", module, err)
	}
	if _, err := c.Publish(ctx, f.borough.ID, "test", draft.Number); err != nil {
		t.Fatalf("publish: %v", err)
	}
	return module
}

// moduleStatus is the module's line of the learner's portal progress.
func moduleStatus(t *testing.T, f *fixture, learnerID, module string) launch.ModuleProgress {
	t.Helper()
	prog, err := f.inst.App.Launch().Progress(context.Background(), f.borough.ID, learnerID)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range prog.Modules {
		if m.Module == module {
			return m
		}
	}
	t.Fatalf("progress has no module %s", module)
	return launch.ModuleProgress{}
}

// portalLaunch launches the module as the learner portal does and returns
// the URL the learner's browser goes to.
func portalLaunch(t *testing.T, f *fixture, module, learnerID string) (string, string) {
	t.Helper()
	l, err := f.inst.App.Launch().Launch(context.Background(), launch.Request{Module: module,
		Learner: launch.Learner{ID: learnerID, BoroughID: f.borough.ID}, ReturnURL: f.inst.URL + "/"})
	if err != nil {
		t.Fatalf("portal launch: %v", err)
	}
	if !strings.HasPrefix(l.URL, f.inst.ContentURL+"/player/") {
		t.Fatalf("portal launch URL %q is not the SCORM player", l.URL)
	}
	return l.URL, l.Registration
}

func TestBrowserSCORM2004(t *testing.T) {
	for _, b := range reachtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			f := newFixture(t, b, "testdata/scorm2004")
			ctx := browser(t)
			module := portalModule(t, f)
			learnerID := uuid.NewString()
			// A launch token is honoured only while its learner's account is
			// active, so the learner is a real account of the borough.
			if _, _, err := f.inst.App.Auth.CreateUser(context.Background(), "test", auth.NewUser{ID: learnerID,
				BoroughID: f.borough.ID, Email: learnerID + "@learners.test", Name: "SCORM Learner", Role: auth.RoleLearner}); err != nil {
				t.Fatalf("create learner: %v", err)
			}
			playerURL, reg := portalLaunch(t, f, module, learnerID)
			attempts, err := f.svc.Attempts(context.Background(), f.borough.ID, reg)
			if err != nil || len(attempts) != 1 {
				t.Fatalf("attempts of the registration: %v, %v", attempts, err)
			}
			a := attempts[0]
			if err := chromedp.Do(ctx, chromedp.Navigate(playerURL)); err != nil {
				t.Fatal(err)
			}
			waitFor(t, ctx, "learner id", inSCO(`doc.getElementById("learner").textContent`), learnerID)
			waitFor(t, ctx, "return link", `document.getElementById("player-return").href`, f.inst.URL+"/")
			waitFor(t, ctx, "first entry", inSCO(`doc.getElementById("entry").textContent`), "ab-initio")
			waitFor(t, ctx, "passing score", inSCO(`doc.getElementById("passing").textContent`), "0.6")
			waitFor(t, ctx, "continue valid", inSCO(`doc.getElementById("continue").textContent`), "true")
			waitFor(t, ctx, "menu", `[...document.querySelectorAll("#player-toc button")].map(b => b.textContent + (b.getAttribute("aria-current") ? "*" : "")).join("|")`,
				"Lesson with questions*|Summary")
			click(t, ctx, "q1")
			waitFor(t, ctx, "q1 saved", inSCO(`doc.getElementById("log").textContent`), "saved q1")
			if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
				t.Fatal(err)
			}
			stored := waitSessionEnded(t, f, a.ID, "unloaded")
			if stored.Status != scorm.StatusSuspended || stored.CMI["cmi.location"] != "q2" || stored.CMI["cmi.progress_measure"] != "0.5" {
				t.Fatalf("after closing: status %s, CMI %v", stored.Status, stored.CMI)
			}

			playerURL, reg2 := portalLaunch(t, f, module, learnerID)
			if reg2 != reg {
				t.Fatalf("relaunch registration %s, want %s", reg2, reg)
			}
			if err := chromedp.Do(ctx, chromedp.Navigate(playerURL)); err != nil {
				t.Fatal(err)
			}
			waitFor(t, ctx, "resume entry", inSCO(`doc.getElementById("entry").textContent`), "resume")
			waitFor(t, ctx, "resume data", inSCO(`doc.getElementById("suspend").textContent + "@" + doc.getElementById("location").textContent`), "q1=b@q2")
			click(t, ctx, "q2")
			waitFor(t, ctx, "finished", inSCO(`doc.getElementById("log").textContent`), "finished")
			// adl.nav.request "continue": the player moves on to the next SCO,
			// which finishes with "exitAll".
			waitFor(t, ctx, "continue to the summary", `document.getElementById("player-title").textContent`, "Reach SCORM 2004 test course: Summary")
			waitFor(t, ctx, "summary entry", inSCO(`doc.getElementById("entry").textContent`), "ab-initio")
			// The lesson is passed, but the module waits for its summary.
			if st := moduleStatus(t, f, learnerID, module); st.Status != launch.StatusInProgress {
				t.Errorf("module with the summary still open: %+v, want in progress", st)
			}
			click(t, ctx, "done")
			waitFor(t, ctx, "summary finished", inSCO(`doc.getElementById("log").textContent`), "finished")
			waitFor(t, ctx, "exitAll followed", `document.getElementById("player-status").textContent.startsWith("This lesson has finished")`, "true")

			stored, err = f.svc.AttemptForBorough(context.Background(), f.borough.ID, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			c := stored.CMI
			if stored.Status != scorm.StatusFinished || c["cmi.completion_status"] != "completed" || c["cmi.success_status"] != "passed" ||
				c["cmi.score.scaled"] != "1" || c["adl.nav.request"] != "continue" || c.Count("cmi.interactions") != 2 ||
				c["cmi.interactions.1.learner_response"] != "7" || stored.TotalSeconds != 180 {
				t.Fatalf("finished attempt: status %s total %v CMI %v", stored.Status, stored.TotalSeconds, c)
			}
			// The portal's progress follows the tracker: the module is passed
			// (its SCO passed, moveOn met) with the time of both sessions.
			mod := moduleStatus(t, f, learnerID, module)
			if (mod.Status != launch.StatusPassed && mod.Status != launch.StatusSatisfied) || mod.Seconds != 180 ||
				mod.Score == nil || *mod.Score != 1 {
				t.Errorf("portal progress of module %s: %+v", module, mod)
			}
			verbs, stmts := f.statements(t, reg)
			want := "initialized,answered,suspended,resumed,answered,completed,passed,terminated,initialized,completed,terminated"
			if got := strings.Join(verbs, ","); got != want {
				t.Fatalf("statements %s, want %s", got, want)
			}
			if id := stmts[8]["object"].(map[string]any)["id"].(string); !strings.HasSuffix(id, "/summary") {
				t.Errorf("summary initialized object %s", id)
			}
			ans := stmts[4]
			obj := ans["object"].(map[string]any)
			def := obj["definition"].(map[string]any)
			if def["interactionType"] != "numeric" || ans["result"].(map[string]any)["response"] != "7" ||
				!strings.HasSuffix(obj["id"].(string), "/interactions/urn:reach:test:q2") {
				t.Errorf("answered statement %v", ans)
			}
			passed := stmts[6]["result"].(map[string]any)
			if passed["success"] != true || passed["score"].(map[string]any)["scaled"] != 1.0 {
				t.Errorf("passed result %v", passed)
			}
		})
	}
}
