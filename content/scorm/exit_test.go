package scorm_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/reach-london/reach/content/scorm"
	"github.com/reach-london/reach/internal/browsertest"
	"github.com/reach-london/reach/internal/config"
	"github.com/reach-london/reach/internal/reachtest"
)

// The exit tests play SCOs shaped like authoring-tool output: they commit
// nothing until they finish, and they finish (exit suspend, a location,
// suspend data and the session time, then LMSFinish / Terminate) from one
// of the handlers real content uses. The learner then leaves in each of
// the ways a learner does, against a fast server and a slow one, and the
// server must end with the SCO's last values, the suspended attempt, the
// profile's statements and a relaunch that resumes.

// exitModes are the SCOs of the generated packages: how each finishes.
var exitModes = []string{"beforeunload", "unload", "pagehide", "visibilitychange", "timer", "nofinish"}

// exitSCOScript finds the API (1.2 or 2004) in a parent frame, as
// authoring tools' wrappers do, and finishes from the handler its page's
// name says. "nofinish" sets its values at once and never commits, like a
// SCO whose script died.
const exitSCOScript = `(function () {
  function find(name) {
    var w = window;
    for (var i = 0; w && i < 10; i++) {
      if (w[name]) return w[name];
      if (w.parent === w) break;
      w = w.parent;
    }
    return null;
  }
  var api12 = find("API"), api04 = find("API_1484_11");
  var mode = location.pathname.split("/").pop().replace(".html", "");
  function set(k12, k04, v) { return api12 ? api12.LMSSetValue(k12, v) : api04.SetValue(k04, v); }
  function setAll() {
    set("cmi.core.lesson_location", "cmi.location", "page-7");
    // "big" leaves more than a keepalive request may carry.
    set("cmi.suspend_data", "cmi.suspend_data", mode === "big" ? "mode=big;" + new Array(63001).join("x") : "mode=" + mode);
    set("cmi.core.exit", "cmi.exit", "suspend");
    set("cmi.core.session_time", "cmi.session_time", api12 ? "0000:01:05.00" : "PT1M5S");
  }
  var done = false;
  function finish() {
    if (done) return;
    done = true;
    setAll();
    var r = api12 ? api12.LMSFinish("") : api04.Terminate("");
    document.getElementById("log").textContent = "finished " + r;
  }
  (api12 ? api12.LMSInitialize("") : api04.Initialize(""));
  document.getElementById("entry").textContent = api12 ? api12.LMSGetValue("cmi.core.entry") : api04.GetValue("cmi.entry");
  switch (mode) {
    case "beforeunload": window.onbeforeunload = function () { finish(); }; break;
    case "unload": window.onunload = finish; break;
    case "pagehide": case "big": window.addEventListener("pagehide", finish); break;
    case "visibilitychange":
      document.addEventListener("visibilitychange", function () { if (document.visibilityState === "hidden") finish(); });
      break;
    case "timer": setTimeout(finish, 100); break;
    case "nofinish": setAll(); break;
  }
  document.getElementById("log").textContent = mode === "timer" ? "waiting" : "ready";
})();`

func exitSCOPage(mode string) string {
	return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>` + mode + `</title></head><body>
<h1>Finishes from ` + mode + `</h1><p>Entry: <span id="entry"></span></p><p id="log"></p>
<script src="sco.js"></script></body></html>`
}

// exitPackage builds a package with one SCO per exit mode, a "big" one
// and a last "end" SCO, so each mode's SCO has a next one.
func exitPackage(t *testing.T, version string) []byte {
	t.Helper()
	var items, resources strings.Builder
	for _, m := range append(append([]string{}, exitModes...), "big", "end") {
		fmt.Fprintf(&items, `<item identifier="%s" identifierref="r-%s"><title>Finishes from %s</title></item>`, m, m, m)
		typeAttr := `adlcp:scormtype="sco"`
		if version != "1.2" {
			typeAttr = `adlcp:scormType="sco"`
		}
		fmt.Fprintf(&resources, `<resource identifier="r-%s" type="webcontent" %s href="%s.html"><file href="%s.html"/><file href="sco.js"/></resource>`,
			m, typeAttr, m, m)
	}
	var manifest string
	if version == "1.2" {
		manifest = `<?xml version="1.0" encoding="UTF-8"?>
<manifest identifier="urn:reach:test:exit12" version="1.0" xmlns="http://www.imsproject.org/xsd/imscp_rootv1p1p2" xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_rootv1p2">
<metadata><schema>ADL SCORM</schema><schemaversion>1.2</schemaversion></metadata>
<organizations default="org"><organization identifier="org"><title>Exit test 1.2</title>` + items.String() + `</organization></organizations>
<resources>` + resources.String() + `</resources></manifest>`
	} else {
		manifest = `<?xml version="1.0" encoding="UTF-8"?>
<manifest identifier="urn:reach:test:exit2004" version="1" xmlns="http://www.imsglobal.org/xsd/imscp_v1p1" xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_v1p3">
<metadata><schema>ADL SCORM</schema><schemaversion>2004 4th Edition</schemaversion></metadata>
<organizations default="org"><organization identifier="org"><title>Exit test 2004</title>` + items.String() + `</organization></organizations>
<resources>` + resources.String() + `</resources></manifest>`
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	files := map[string]string{"imsmanifest.xml": manifest, "sco.js": exitSCOScript,
		"after.html": `<!doctype html><html lang="en"><head><title>After</title></head><body><p id="log">after</p></body></html>`}
	for _, m := range append(append([]string{}, exitModes...), "big", "end") {
		files[m+".html"] = exitSCOPage(m)
	}
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// commitProxy fronts the app origin (the player reaches it through the
// proxy, as PublicURL) and lets hook see each commit first: hook may hold
// it (a slow server or network) or answer it itself, returning true.
func commitProxy(t *testing.T, cfg *config.Config, hook func(w http.ResponseWriter, body []byte) bool) {
	target, _ := url.Parse("http://" + cfg.Addr)
	rp := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/commit") && r.Method == http.MethodPost {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			if hook(w, body) {
				return
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	// The app origin is named localhost, another site than the content.
	cfg.PublicURL = "http://" + reachtest.Localhost(strings.TrimPrefix(srv.URL, "http://"))
}

func exitFixture(t *testing.T, version string, delay time.Duration) *fixture {
	t.Helper()
	var opts []func(*config.Config)
	if delay > 0 {
		opts = append(opts, func(c *config.Config) {
			commitProxy(t, c, func(http.ResponseWriter, []byte) bool {
				time.Sleep(delay)
				return false
			})
		})
	}
	return exitFixtureWith(t, version, opts...)
}

func exitFixtureWith(t *testing.T, version string, opts ...func(*config.Config)) *fixture {
	t.Helper()
	b := reachtest.Backend{Name: "embedded"}
	inst := reachtest.Start(t, b, opts...)
	ctx := context.Background()
	bor, err := inst.App.Borough(ctx, "london")
	if err != nil {
		t.Fatal(err)
	}
	pkg, err := inst.App.Content().ImportReader(ctx, bor.ID, "test", bytes.NewReader(exitPackage(t, version)))
	if err != nil {
		t.Fatalf("import the exit test package: %v", err)
	}
	return &fixture{inst: inst, borough: bor, pkg: pkg, svc: inst.App.SCORM()}
}

// tabEval evaluates expr in the tab, nil on any error.
func tabEval(ctx context.Context, expr string) any {
	got, err := chromedp.Run(ctx, chromedp.Evaluate[any](`(() => { try { return (`+expr+`); } catch (e) { return null; } })()`))
	if err != nil {
		return nil
	}
	return got
}

func waitTab(t *testing.T, ctx context.Context, what, expr, want string) {
	t.Helper()
	var got any
	for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if got = tabEval(ctx, expr); fmt.Sprint(got) == want {
			return
		}
	}
	t.Fatalf("%s: got %v, want %q", what, got, want)
}

// leaveWays are how the learner leaves the SCO.
var leaveWays = []string{"close", "return", "next", "back", "self"}

// leave makes the learner leave the player tab in the given way.
func leave(t *testing.T, tab context.Context, way string) {
	t.Helper()
	var err error
	switch way {
	case "close":
		// Page.close runs the page's beforeunload handlers, as a browser
		// does when the learner closes the tab.
		err = chromedp.Do(tab, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, page.Close, cdp.Empty{})
			return err
		}))
	case "return":
		_, err = chromedp.Run(tab, chromedp.Evaluate[bool](`document.getElementById("player-return").click(), true`))
	case "next":
		_, err = chromedp.Run(tab, chromedp.Evaluate[bool](`document.getElementById("player-next").click(), true`))
	case "back":
		_, err = chromedp.Run(tab, chromedp.Evaluate[bool](`history.back(), true`))
	case "self":
		// The SCO sends its own frame elsewhere (an exit page of the package).
		_, err = chromedp.Run(tab, chromedp.Evaluate[bool](`document.getElementById("player-frame").contentWindow.location.href = "after.html", true`))
	}
	if err != nil {
		t.Fatalf("leave by %s: %v", way, err)
	}
}

// waitStored polls the attempt until its session leaves "launched" and
// "initialized" (the last commits may arrive after the tab is gone) and
// then a little longer for any late commit.
func waitStored(t *testing.T, f *fixture, id string, done func(scorm.Attempt) bool) scorm.Attempt {
	t.Helper()
	var a scorm.Attempt
	for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		var err error
		a, err = f.svc.AttemptForBorough(context.Background(), f.borough.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		if done(a) {
			return a
		}
	}
	return a
}

func TestBrowserSCOExit(t *testing.T) {
	browsertest.Require(t, "../../server/playerdist/player.js", "the player bundle (make web)")
	browser := browsertest.Start(t, 20*time.Minute)
	for _, version := range []string{"1.2", "2004"} {
		for _, speed := range []struct {
			name  string
			delay time.Duration
		}{{"fast", 0}, {"slow", 600 * time.Millisecond}} {
			f := exitFixture(t, version, speed.delay)
			for _, mode := range exitModes {
				for _, way := range leaveWays {
					if speed.delay > 0 && (way == "back" || way == "self") {
						// Like close and return for the server's timing;
						// left to the fast run to keep the test short.
						continue
					}
					t.Run(fmt.Sprintf("%s/%s/%s/%s", version, speed.name, mode, way), func(t *testing.T) {
						exitCase(t, browser, f, version, mode, way)
					})
				}
			}
		}
	}
}

func exitCase(t *testing.T, browser context.Context, f *fixture, version, mode, way string) {
	reg := uuid.NewString()
	start := scorm.AttemptStart{BoroughID: f.borough.ID, Learner: learner("ada"), LearnerID: "ada", LearnerName: "Lovelace, Ada",
		Registration: reg, PackageID: f.pkg.ID, SCOID: mode, ReturnURL: f.inst.URL + "/"}
	a, playerURL, err := f.svc.StartAttempt(context.Background(), start)
	if err != nil {
		t.Fatal(err)
	}
	tab, cancel := chromedp.NewContext(browser)
	defer cancel()
	tab, cancelTimeout := context.WithTimeout(tab, 40*time.Second)
	defer cancelTimeout()
	if err := chromedp.Do(tab, chromedp.Navigate(f.inst.URL+"/healthz")); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(tab, chromedp.Navigate(playerURL)); err != nil {
		t.Fatal(err)
	}
	sco := `document.getElementById("player-frame").contentDocument.getElementById("log").textContent`
	if mode == "timer" {
		waitTab(t, tab, "the SCO finished on its timer", sco, "finished true")
	} else {
		waitTab(t, tab, "the SCO is ready", sco, "ready")
	}
	leave(t, tab, way)
	c12 := version == "1.2"
	if mode == "nofinish" && way == "self" {
		// The SCO left its frame without finishing: what it set is stored
		// at once and its session stays open until the learner closes
		// the player.
		stored := waitStored(t, f, a.ID, func(a scorm.Attempt) bool { return a.CMI["cmi.suspend_data"] != "" })
		if stored.SessionState != "initialized" || stored.CMI["cmi.suspend_data"] != "mode=nofinish" {
			t.Fatalf("after the SCO left its frame: session %s, CMI %v", stored.SessionState, stored.CMI)
		}
		leave(t, tab, "close")
	}
	stored := waitStored(t, f, a.ID, func(a scorm.Attempt) bool {
		return a.SessionState == "ended" || (mode == "nofinish" && a.SessionState == "unloaded")
	})
	loc, exit, st := "cmi.location", "cmi.exit", "cmi.session_time"
	wantST := "PT1M5S"
	if c12 {
		loc, exit, st, wantST = "cmi.core.lesson_location", "cmi.core.exit", "cmi.core.session_time", "0000:01:05.00"
	}
	wantState := "ended"
	if mode == "nofinish" {
		wantState = "unloaded"
	}
	c := stored.CMI
	if stored.SessionState != wantState || stored.Status != scorm.StatusSuspended || c[loc] != "page-7" ||
		c["cmi.suspend_data"] != "mode="+mode || c[exit] != "suspend" || c[st] != wantST || stored.TotalSeconds != 65 {
		t.Fatalf("after leaving by %s: session %s, status %s, total %v s, CMI %v", way, stored.SessionState, stored.Status,
			stored.TotalSeconds, c)
	}
	// The statements are recorded just after the attempt is stored. The
	// next SCO's own statements follow when the learner moved on.
	var got string
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		verbs, _ := f.statements(t, reg)
		if got = strings.Join(verbs, ","); strings.HasPrefix(got+",", "initialized,suspended,") {
			break
		}
	}
	if !strings.HasPrefix(got+",", "initialized,suspended,") {
		t.Errorf("statements %s, want initialized,suspended first", got)
	}
	re, _, err := f.svc.StartAttempt(context.Background(), start)
	if err != nil {
		t.Fatal(err)
	}
	if re.ID != a.ID || re.Entry != "resume" {
		t.Errorf("relaunch: attempt %s entry %q, want %s resume", re.ID, re.Entry, a.ID)
	}
}

// seqCommit posts a numbered commit as the player's keepalive fetch and
// sendBeacon do: text/plain, the launch token in the body.
func seqCommit(t *testing.T, f *fixture, id, token, event string, seq int, values ...[2]string) (int, map[string]any) {
	t.Helper()
	pairs := [][]string{}
	for _, v := range values {
		pairs = append(pairs, []string{v[0], v[1]})
	}
	b, _ := json.Marshal(map[string]any{"event": event, "seq": seq, "values": pairs, "token": token})
	res, err := http.Post(f.inst.URL+"/api/v1/scorm/attempts/"+id+"/commit", "text/plain;charset=UTF-8", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// TestCommitSequence: a commit numbered at or below the highest applied
// one is acknowledged and changes nothing, so replays and out-of-order
// deliveries never take the attempt back in time; a new session numbers
// from 1 again; the number is checked.
func TestCommitSequence(t *testing.T) {
	for _, b := range reachtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			f := newFixture(t, b, "testdata/scorm12")
			reg := uuid.NewString()
			a, tok := f.start(t, reg, "quiz")
			if status, body := seqCommit(t, f, a.ID, tok, "initialize", 1); status != http.StatusOK || body["applied"] != true {
				t.Fatalf("initialize: %d %v", status, body)
			}
			loc := func(v string) [2]string { return [2]string{"cmi.core.lesson_location", v} }
			// Commit 2 sets p2; commit 3 (sent before 2 was acknowledged)
			// carries p2's call again and p3, exit suspend and the time,
			// and terminates. 3 arrives first.
			status, body := seqCommit(t, f, a.ID, tok, "terminate", 3, loc("p2"), loc("p3"),
				[2]string{"cmi.core.exit", "suspend"}, [2]string{"cmi.core.session_time", "0000:00:42.00"})
			if status != http.StatusOK || body["applied"] != true || body["seq"] != 3.0 || body["status"] != "suspended" {
				t.Fatalf("terminate 3: %d %v", status, body)
			}
			// The late 2 and a replay of 3 are acknowledged, not applied.
			for _, c := range []struct {
				event string
				seq   int
				v     string
			}{{"commit", 2, "p2"}, {"terminate", 3, "p3"}, {"unload", 1, "p1"}} {
				status, body := seqCommit(t, f, a.ID, tok, c.event, c.seq, loc(c.v))
				if status != http.StatusOK || body["applied"] != false || body["seq"] != 3.0 {
					t.Fatalf("late %s %d: %d %v, want 200 not applied at seq 3", c.event, c.seq, status, body)
				}
			}
			stored, err := f.svc.AttemptForBorough(context.Background(), f.borough.ID, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			if stored.CMI["cmi.core.lesson_location"] != "p3" || stored.Status != scorm.StatusSuspended ||
				stored.SessionState != "ended" || stored.TotalSeconds != 42 || stored.CommitSeq != 3 {
				t.Fatalf("after late and replayed commits: %+v", stored)
			}
			verbs, _ := f.statements(t, reg)
			if got := strings.Join(verbs, ","); got != "initialized,suspended" {
				t.Errorf("statements %s, want initialized,suspended (a replay records nothing again)", got)
			}
			// A negative number names the field and stores nothing.
			if status, body := seqCommit(t, f, a.ID, tok, "commit", -1, loc("x")); status != http.StatusBadRequest ||
				!strings.Contains(fmt.Sprint(body), "seq") {
				t.Errorf("seq -1: %d %v, want 400 naming seq", status, body)
			}

			// The relaunch resumes; its player numbers from 1 again, and the
			// launch tells it where the session stands.
			re, tok2 := f.start(t, reg, "quiz")
			if re.ID != a.ID || re.Entry != "resume" || re.CommitSeq != 0 {
				t.Fatalf("relaunch: %+v", re)
			}
			_, launch := f.call(t, http.MethodGet, "/attempts/"+a.ID, tok2, nil)
			if n := launch["attempt"].(map[string]any)["commitSeq"]; n != 0.0 {
				t.Errorf("launch commitSeq %v, want 0", n)
			}
			if status, body := seqCommit(t, f, a.ID, tok2, "initialize", 1); status != http.StatusOK || body["applied"] != true {
				t.Fatalf("relaunch initialize: %d %v", status, body)
			}
			// The old session's token is refused, numbered or not.
			if status, _ := seqCommit(t, f, a.ID, tok, "commit", 9, loc("old")); status != http.StatusConflict {
				t.Errorf("old session's commit: %d, want 409", status)
			}
			_, launch = f.call(t, http.MethodGet, "/attempts/"+a.ID, tok2, nil)
			if n := launch["attempt"].(map[string]any)["commitSeq"]; n != 1.0 {
				t.Errorf("launch commitSeq after initialize %v, want 1", n)
			}
		})
	}
}

// TestBrowserSCOTerminateFails: when Terminate's commit fails, the SCO
// hears "false", the player does not take the SCO as terminated, and it
// sends the same commit again until the server has it.
func TestBrowserSCOTerminateFails(t *testing.T) {
	browser := browser(t)
	failed := make(chan struct{}, 1)
	f := exitFixtureWith(t, "2004", func(c *config.Config) {
		commitProxy(t, c, func(w http.ResponseWriter, body []byte) bool {
			if !bytes.Contains(body, []byte(`"event":"terminate"`)) {
				return false
			}
			select {
			case failed <- struct{}{}:
				http.Error(w, `{"error":{"message":"the database is restarting"}}`, http.StatusServiceUnavailable)
				return true
			default:
				return false
			}
		})
	})
	reg := uuid.NewString()
	start := scorm.AttemptStart{BoroughID: f.borough.ID, Learner: learner("ada"), LearnerID: "ada", LearnerName: "Lovelace, Ada",
		Registration: reg, PackageID: f.pkg.ID, SCOID: "timer"}
	a, playerURL, err := f.svc.StartAttempt(context.Background(), start)
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(browser, chromedp.Navigate(playerURL)); err != nil {
		t.Fatal(err)
	}
	// The SCO finishes on its timer; the server fails that commit.
	waitTab(t, browser, "Terminate failed", `document.getElementById("player-frame").contentDocument.getElementById("log").textContent`,
		"finished false")
	waitTab(t, browser, "the failure said", `document.getElementById("player-status").textContent.startsWith("Your progress could not be saved")`, "true")
	stored := waitStored(t, f, a.ID, func(a scorm.Attempt) bool { return a.SessionState == "ended" })
	if stored.SessionState != "ended" || stored.Status != scorm.StatusSuspended || stored.CMI["cmi.location"] != "page-7" || stored.TotalSeconds != 65 {
		t.Fatalf("after the failed Terminate was sent again: session %s status %s CMI %v", stored.SessionState, stored.Status, stored.CMI)
	}
	waitTab(t, browser, "the failure cleared", `document.getElementById("player-status").textContent`, "")
	re, _, err := f.svc.StartAttempt(context.Background(), start)
	if err != nil || re.Entry != "resume" {
		t.Fatalf("relaunch: entry %q, %v", re.Entry, err)
	}
}

// TestBrowserSCOExitLarge: a SCO that sets more at its finish than a
// keepalive request may carry (64 KiB in flight per page) still has it
// stored when the player moves on or goes back to the modules: the player
// waits for the ordinary request before it navigates.
func TestBrowserSCOExitLarge(t *testing.T) {
	browser := browser(t)
	f := exitFixture(t, "2004", 300*time.Millisecond)
	for _, way := range []string{"next", "return"} {
		t.Run(way, func(t *testing.T) {
			reg := uuid.NewString()
			a, playerURL, err := f.svc.StartAttempt(context.Background(), scorm.AttemptStart{BoroughID: f.borough.ID,
				Learner: learner("ada"), LearnerID: "ada", LearnerName: "Lovelace, Ada", Registration: reg, PackageID: f.pkg.ID,
				SCOID: "big", ReturnURL: f.inst.URL + "/"})
			if err != nil {
				t.Fatal(err)
			}
			if err := chromedp.Do(browser, chromedp.Navigate(playerURL)); err != nil {
				t.Fatal(err)
			}
			waitTab(t, browser, "the SCO is ready", `document.getElementById("player-frame").contentDocument.getElementById("log").textContent`, "ready")
			leave(t, browser, way)
			stored := waitStored(t, f, a.ID, func(a scorm.Attempt) bool { return a.SessionState == "ended" })
			if sd := stored.CMI["cmi.suspend_data"]; stored.SessionState != "ended" || stored.Status != scorm.StatusSuspended || len(sd) != 63009 {
				t.Fatalf("session %s status %s, suspend data of %d characters, want 63009", stored.SessionState, stored.Status, len(sd))
			}
		})
	}
}
