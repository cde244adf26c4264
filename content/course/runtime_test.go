package course

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// fakeLRS is a test double of the LMS and LRS for the runtime test only: it
// hands out the auth token once per fetch URL and records statements and
// documents. The end-to-end test against the real server lives with it.
type fakeLRS struct {
	t          *testing.T
	mu         sync.Mutex
	fetches    map[string]int
	statements []map[string]any
	docs       map[string][]byte
	problems   []string
	returned   int
	gets       map[string]int    // GETs of documents by key
	tokens     map[string]string // token -> session id
	ended      map[string]bool   // sessions that sent terminated
	judged     map[string]int    // passed or failed statements per session
}

const (
	testToken        = "dGVzdDp0b2tlbg=="
	testRegistration = "6b2e1c9a-3f4d-4a8e-9b7c-2d1e0f3a4b5c"
	publisherGroup   = "https://reach.london/course/publisher-grouping"
	sessionExt       = "https://w3id.org/xapi/cmi5/context/extensions/sessionid"
)

var testActor = map[string]any{"objectType": "Agent", "name": "Ada Learner", "account": map[string]any{"homePage": "https://reach.london", "name": "learner-1"}}

func newFakeLRS(t *testing.T) *fakeLRS {
	return &fakeLRS{t: t, fetches: map[string]int{}, docs: map[string][]byte{}, gets: map[string]int{},
		tokens: map[string]string{}, ended: map[string]bool{}, judged: map[string]int{}}
}

// agentKey identifies an agent by its account name, however the JSON of
// the agent parameter is spelled.
func agentKey(s string) string {
	var a struct {
		Account struct{ Name string } `json:"account"`
	}
	json.Unmarshal([]byte(s), &a)
	return a.Account.Name
}

func (l *fakeLRS) problem(format string, args ...any) {
	l.problems = append(l.problems, fmt.Sprintf(format, args...))
}

func (l *fakeLRS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	q := r.URL.Query()
	if strings.HasPrefix(r.URL.Path, "/fetch/") {
		if r.Method != http.MethodPost {
			l.problem("fetch URL called with %s", r.Method)
		}
		l.fetches[r.URL.Path]++
		w.Header().Set("Content-Type", "application/json")
		if l.fetches[r.URL.Path] > 1 {
			// cmi5: the fetch URL works once; later calls get an error.
			json.NewEncoder(w).Encode(map[string]string{"error-code": "1", "error-text": "already fetched"})
			return
		}
		// Each launch gets its own token, tied to its session, as the LMS
		// does.
		n := strings.TrimPrefix(r.URL.Path, "/fetch/")
		tok := testToken + n
		l.tokens[tok] = "session-" + n
		json.NewEncoder(w).Encode(map[string]string{"auth-token": tok})
		return
	}
	if r.URL.Path == "/favicon.ico" {
		http.NotFound(w, r)
		return
	}
	if r.URL.Path == "/returned" {
		l.returned++
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, `<!doctype html><html lang="en"><title>Course menu</title><h1>Course menu</h1></html>`)
		return
	}
	session, known := l.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ")]
	if !known {
		l.problem("%s %s without a token: %q", r.Method, r.URL.Path, r.Header.Get("Authorization"))
		http.Error(w, "unauthorised", http.StatusUnauthorized)
		return
	}
	if l.ended[session] {
		// The LMS revokes a session's token once it has terminated.
		if r.URL.Path == "/xapi/statements" {
			l.problem("a statement after terminated in %s", session)
		}
		http.Error(w, "the session has ended", http.StatusUnauthorized)
		return
	}
	if r.Header.Get("X-Experience-API-Version") == "" {
		l.problem("%s %s without X-Experience-API-Version", r.Method, r.URL.Path)
	}
	var key string
	switch r.URL.Path {
	case "/xapi/statements":
		if r.Method != http.MethodPost {
			l.problem("statements %s", r.Method)
		}
		var batch []map[string]any
		if err := json.Unmarshal(body, &batch); err != nil {
			var one map[string]any
			if err := json.Unmarshal(body, &one); err != nil {
				l.problem("statements are not JSON: %v", err)
				http.Error(w, "bad", http.StatusBadRequest)
				return
			}
			batch = []map[string]any{one}
		}
		var ids []any
		for _, s := range batch {
			if sessionOf(s) != session {
				l.problem("%s statement carries session %q with the token of %s", verbOf(s), sessionOf(s), session)
			}
			switch verbOf(s) {
			case "passed", "failed":
				if l.judged[session]++; l.judged[session] > 1 {
					l.problem("a second passed or failed statement in %s", session)
				}
			case "terminated":
				l.ended[session] = true
			}
			l.statements = append(l.statements, s)
			ids = append(ids, s["id"])
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(ids)
		return
	case "/xapi/activities/state":
		key = "state|" + q.Get("activityId") + "|" + agentKey(q.Get("agent")) + "|" + q.Get("registration") + "|" + q.Get("stateId")
	case "/xapi/agents/profile":
		key = "profile|" + agentKey(q.Get("agent")) + "|" + q.Get("profileId")
	default:
		http.NotFound(w, r)
		return
	}
	doc, exists := l.docs[key]
	sum := sha1.Sum(doc)
	etag := `"` + hex.EncodeToString(sum[:]) + `"`
	switch r.Method {
	case http.MethodGet:
		l.gets[key]++
		if !exists {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Type", "application/json")
		w.Write(doc)
	case http.MethodPut:
		if m := r.Header.Get("If-Match"); m != "" && (!exists || m != etag) {
			w.WriteHeader(http.StatusPreconditionFailed)
			return
		}
		if r.Header.Get("If-None-Match") == "*" && exists {
			w.WriteHeader(http.StatusPreconditionFailed)
			return
		}
		if !json.Valid(body) {
			l.problem("%s body is not JSON", key)
		}
		l.docs[key] = body
		w.WriteHeader(http.StatusNoContent)
	default:
		l.problem("%s %s", r.Method, r.URL.Path)
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

// launch prepares LMS.LaunchData for a new session, as the LMS does at each
// launch, and returns the AU's launch URL.
func (l *fakeLRS) launch(srvURL, auIRI, auPath string, session int, mastery float64, mode string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	ld := map[string]any{
		"contextTemplate": map[string]any{
			"contextActivities": map[string]any{"grouping": []any{map[string]any{"objectType": "Activity", "id": publisherGroup}}},
			"extensions":        map[string]any{sessionExt: fmt.Sprintf("session-%d", session)},
		},
		"launchMode":   mode,
		"moveOn":       "CompletedAndPassed",
		"masteryScore": mastery,
		"returnURL":    srvURL + "/returned",
	}
	data, _ := json.Marshal(ld)
	l.docs["state|"+auIRI+"|learner-1|"+testRegistration+"|LMS.LaunchData"] = data
	v := url.Values{}
	v.Set("endpoint", srvURL+"/xapi/")
	v.Set("fetch", fmt.Sprintf("%s/fetch/%d", srvURL, session))
	v.Set("actor", mustJSON(testActor))
	v.Set("registration", testRegistration)
	v.Set("activityId", auIRI)
	return srvURL + "/pkg/" + auPath + "?" + v.Encode()
}

// snapshot returns copies of what the LRS holds.
func (l *fakeLRS) snapshot() ([]map[string]any, map[string]int, []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := map[string]int{}
	for k, v := range l.fetches {
		f[k] = v
	}
	return slices.Clone(l.statements), f, slices.Clone(l.problems)
}

func (l *fakeLRS) doc(key string) []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.docs[key]
}

// waitFor polls cond until it holds or the time runs out.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Field access into decoded JSON.
func get(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func verbOf(s map[string]any) string {
	id, _ := get(s, "verb", "id").(string)
	return id[strings.LastIndex(id, "/")+1:]
}

func sessionOf(s map[string]any) string {
	v, _ := get(s, "context", "extensions", sessionExt).(string)
	return v
}

func hasActivity(s map[string]any, kind, id string) bool {
	list, _ := get(s, "context", "contextActivities", kind).([]any)
	for _, a := range list {
		if get(a, "id") == id {
			return true
		}
	}
	return false
}

// answerJS answers the listed questions (all when ids is empty) through
// the page's forms, getting the listed wrong ones wrong.
const answerJS = `(async (ids, wrong) => {
  const data = await (await fetch("au.json")).json();
  for (const q of data.questions) {
    if (ids.length && !ids.includes(q.id)) continue;
    const form = document.getElementById("q-" + q.id);
    if (form.querySelector("button[type=submit]").hidden) continue;
    const bad = wrong.includes(q.id);
    const inputs = [...form.querySelectorAll("input")];
    switch (q.type) {
      case "choice": case "true-false": {
        const v = bad ? inputs.map(i => i.value).find(x => x !== q.correct[0]) : q.correct[0];
        inputs.find(i => i.value === v).checked = true;
        break;
      }
      case "multiple-choice":
        inputs.forEach(i => { i.checked = q.correct.includes(i.value) !== (bad && i === inputs[0]); });
        break;
      case "fill-in":
        inputs[0].value = bad ? "not this" : " " + q.correct[0].toUpperCase() + " ";
        break;
      case "matching": {
        const pairs = q.pairs.map(p => [...p]);
        if (bad) [pairs[0][1], pairs[1][1]] = [pairs[1][1], pairs[0][1]];
        for (const [s, t] of pairs) form.querySelector('select[data-source="' + s + '"]').value = t;
        break;
      }
      case "sequencing": {
        const order = [...q.correct];
        if (bad) [order[0], order[1]] = [order[1], order[0]];
        order.forEach((id, i) => { form.querySelector('select[data-item="' + id + '"]').value = String(i + 1); });
        break;
      }
    }
    form.requestSubmit();
  }
  return true;
})`

// runtimeModule picks module 1 of the real course when it loads, and the
// fixture's first module otherwise, so the runtime is always tested.
func runtimeModule(t *testing.T) (*Course, map[string][]byte) {
	dirs := realModuleDirs(t)
	if len(dirs) > 0 && moduleStarted(dirs[0]) {
		fsys := subsetSources(t, Sources(), dirs[0])
		if _, err := Load(fsys); err == nil {
			return buildPackage(t, fsys, BuildOptions{})
		} else if os.Getenv("CI") == "true" {
			t.Fatalf("module %s does not load: %v", dirs[0], err)
		}
		t.Logf("module %s does not load yet; testing the runtime with the fixture", dirs[0])
	}
	return buildPackage(t, os.DirFS("testdata/good"), BuildOptions{})
}

// TestRuntime runs module 1 in headless Chromium against the fake LRS: a
// first session is interrupted by a reload, a second launch resumes and
// finishes the module, then the learner exits.
func TestRuntime(t *testing.T) {
	t.Run("module 1", func(t *testing.T) {
		c, files := runtimeModule(t)
		runModule(t, c, files)
	})
	t.Run("fixture with a role page", func(t *testing.T) {
		c, files := buildPackage(t, os.DirFS("testdata/good"), BuildOptions{})
		runModule(t, c, files)
	})
}

func runModule(t *testing.T, c *Course, files map[string][]byte) {
	m := c.Modules[0]
	t.Logf("running module %s (%d pages, %d questions)", m.ID, len(m.Pages), len(m.Questions))
	au := c.AUIRI(m)
	lrs := newFakeLRS(t)
	mux := http.NewServeMux()
	mux.Handle("/pkg/", packageHandler(files))
	mux.Handle("/", lrs)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx := newBrowser(t)
	mastery := *m.MasteryScore
	stateKey := "state|" + au + "|learner-1|" + testRegistration + "|https://reach.london/xapi/state/progress"
	profileKey := "profile|learner-1|https://reach.london/xapi/profiles/role"
	// The knowledge check is the page with the most questions (a role's
	// page may have a few of its own).
	var checkPage *Page
	for _, p := range m.Pages {
		if checkPage == nil || len(p.QuestionIDs) > len(checkPage.QuestionIDs) {
			checkPage = p
		}
	}
	var reflectionPage *Page
	for _, p := range m.Pages {
		for _, pt := range p.parts {
			if pt.block != nil && pt.block.name == "reflection" && reflectionPage == nil {
				reflectionPage = p
			}
		}
	}

	// Session 1: choose a role, write a reflection, answer three questions.
	do(t, ctx, chromedp.Navigate(lrs.launch(srv.URL, au, AUPath(m), 1, mastery, "Normal")))
	waitReady(t, ctx)
	if !eval[bool](t, ctx, `!document.querySelector("[data-role-form]").hidden`) {
		t.Fatal("the role question is not shown to a learner without a role")
	}
	do(t, ctx, chromedp.Click(chromedp.CSS("#role-gp")), chromedp.Click(chromedp.CSS("[data-role-form] button[type=submit]")))
	waitFor(t, "the role profile", func() bool { return strings.Contains(string(lrs.doc(profileKey)), `"gp"`) })
	// The profile is written before the page applies the role, so wait
	// for the form to close first.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector("[data-role-form]").hidden`, chromedp.WithPollingTimeout(5*time.Second))); err != nil {
		t.Fatalf("the role form did not close: %v", err)
	}
	if got := eval[bool](t, ctx, `[...document.querySelectorAll("details.role-note")].every(d => d.open === (d.dataset.role === "gp"))`); !got {
		t.Error("role notes are not open for gp only")
	}
	if reflectionPage != nil {
		eval[bool](t, ctx, fmt.Sprintf(`location.hash = "#page-%s"; true`, reflectionPage.ID))
		do(t, ctx, chromedp.SendKeys(chromedp.CSS(fmt.Sprintf("#page-%s textarea[data-reflection-input]", reflectionPage.ID)), "I want to learn how referrals work."),
			chromedp.Click(chromedp.CSS("[data-next]")))
	}
	eval[bool](t, ctx, fmt.Sprintf(`location.hash = "#page-%s"; true`, checkPage.ID))
	first3 := checkPage.QuestionIDs[:3]
	eval[bool](t, ctx, fmt.Sprintf(`(%s)(%s, %s)`, answerJS, mustJSON(first3), mustJSON([]string{first3[1]})))
	waitFor(t, "three answers in the state", func() bool {
		var st struct{ Answers map[string]any }
		json.Unmarshal(lrs.doc(stateKey), &st)
		return len(st.Answers) == 3
	})

	// A reload keeps the token, the place and the answers.
	do(t, ctx, chromedp.Reload())
	waitReady(t, ctx)
	stmts, fetches, _ := lrs.snapshot()
	if fetches["/fetch/1"] != 1 {
		t.Errorf("fetch URL POSTed %d times in session 1, want once", fetches["/fetch/1"])
	}
	if hash := eval[string](t, ctx, `location.hash`); hash != "#page-"+checkPage.ID {
		t.Errorf("after reload the learner is on %s, want the check page", hash)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("form.question .feedback:not(:empty)").length`); n != 3 {
		t.Errorf("after reload %d answers are shown, want 3", n)
	}
	if got := eval[string](t, ctx, `document.querySelector("[data-banner]").hidden ? "" : document.querySelector("[data-banner]").textContent`); got != "" {
		t.Errorf("after reload the AU shows %q, want no banner: the session carries on", got)
	}
	// The session carries on after the reload: opening another page sends
	// an experienced statement in session 1, and nothing ended it.
	before := len(stmts)
	eval[bool](t, ctx, fmt.Sprintf(`location.hash = "#page-%s"; true`, m.Pages[0].ID))
	waitFor(t, "a statement of session 1 after the reload", func() bool {
		stmts, _, _ = lrs.snapshot()
		return len(stmts) > before && sessionOf(stmts[len(stmts)-1]) == "session-1" && verbOf(stmts[len(stmts)-1]) == "experienced"
	})
	for _, st := range stmts {
		if verbOf(st) == "terminated" {
			t.Fatal("the reload terminated the session")
		}
	}
	eval[bool](t, ctx, fmt.Sprintf(`location.hash = "#page-%s"; true`, checkPage.ID))

	// Session 2: a new launch resumes where session 1 left off.
	do(t, ctx, chromedp.Navigate(lrs.launch(srv.URL, au, AUPath(m), 2, mastery, "Normal")))
	waitReady(t, ctx)
	if hash := eval[string](t, ctx, `location.hash`); hash != "#page-"+checkPage.ID {
		t.Errorf("a new launch resumes on %s, want the check page", hash)
	}
	if eval[bool](t, ctx, `!document.querySelector("[data-role-form]").hidden`) {
		t.Error("the role question is asked again although the profile holds the role")
	}
	if reflectionPage != nil && !strings.Contains(eval[string](t, ctx, fmt.Sprintf(`document.querySelector("#page-%s textarea[data-reflection-input]").value`, reflectionPage.ID)), "referrals") {
		t.Error("the reflection was not restored")
	}
	eval[bool](t, ctx, fmt.Sprintf(`(%s)([], [])`, answerJS))
	// Walk the learner's path with the Next link from the first page.
	eval[bool](t, ctx, fmt.Sprintf(`location.hash = "#page-%s"; true`, m.Pages[0].ID))
	var path []string
	for _, p := range m.Pages {
		if p.ForAll() || slices.Contains(p.Roles, "gp") {
			path = append(path, p.ID)
		}
	}
	for i, id := range path[1:] {
		// Follow the link from script: a synthetic mouse click can land while
		// the page is still settling after the previous move.
		eval[bool](t, ctx, `document.querySelector("[data-next]").click(); true`)
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](fmt.Sprintf(`location.hash === "#page-%s" && !document.getElementById("page-%s").hidden`, id, id), chromedp.WithPollingTimeout(5*time.Second))); err != nil {
			dbg := eval[string](t, ctx, `location.hash + " next=" + document.querySelector("[data-next]").getAttribute("href") + " role=" + document.querySelector("[data-role-status]").textContent`)
			t.Fatalf("step %d: Next did not lead to %s: %v (%s)", i+1, id, err, dbg)
		}
	}
	if !eval[bool](t, ctx, `document.querySelector("[data-next]").hidden`) {
		t.Error("the last page still offers Next")
	}
	if reflectionPage != nil {
		if got := eval[string](t, ctx, `(document.querySelector("[data-my-reflections]") || {}).textContent || ""`); !strings.Contains(got, "referrals") {
			t.Errorf("the summary does not show the reflection: %q", got)
		}
	}
	waitFor(t, "completed and passed", func() bool {
		stmts, _, _ = lrs.snapshot()
		var verbs []string
		for _, s := range stmts {
			verbs = append(verbs, verbOf(s))
		}
		return slices.Contains(verbs, "completed") && slices.Contains(verbs, "passed")
	})
	do(t, ctx, chromedp.Click(chromedp.CSS("[data-exit]")))
	waitFor(t, "the return URL", func() bool {
		lrs.mu.Lock()
		defer lrs.mu.Unlock()
		return lrs.returned == 1
	})

	stmts, fetches, problems := lrs.snapshot()
	for _, p := range problems {
		t.Errorf("LRS: %s", p)
	}
	lrs.mu.Lock()
	// Read each time the AU starts: twice in session 1 (launch and
	// reload) and once in session 2.
	if n := lrs.gets["profile|learner-1|cmi5LearnerPreferences"]; n != 3 {
		t.Errorf("cmi5LearnerPreferences read %d times, want each time the AU starts (3)", n)
	}
	lrs.mu.Unlock()
	if fetches["/fetch/2"] != 1 {
		t.Errorf("fetch URL POSTed %d times in session 2, want once", fetches["/fetch/2"])
	}
	checkStatements(t, c, m, stmts, path, first3[1])
}

// checkStatements checks the order and shape of every statement.
func checkStatements(t *testing.T, c *Course, m *Module, stmts []map[string]any, path []string, wrongID string) {
	t.Helper()
	au := c.AUIRI(m)
	bySession := map[string][]map[string]any{}
	count := map[string]int{}
	for _, s := range stmts {
		bySession[sessionOf(s)] = append(bySession[sessionOf(s)], s)
		count[verbOf(s)]++
		if get(s, "actor", "account", "name") != "learner-1" || get(s, "context", "registration") != testRegistration {
			t.Errorf("%s: wrong actor or registration: %v", verbOf(s), s)
		}
		if !hasActivity(s, "grouping", publisherGroup) {
			t.Errorf("%s: the context template's grouping is missing", verbOf(s))
		}
		if id, _ := s["id"].(string); len(id) != 36 {
			t.Errorf("%s: id %q is not a UUID", verbOf(s), id)
		}
		if _, err := time.Parse(time.RFC3339Nano, fmt.Sprint(s["timestamp"])); err != nil {
			t.Errorf("%s: timestamp %v", verbOf(s), s["timestamp"])
		}
		cmi5 := hasActivity(s, "category", "https://w3id.org/xapi/cmi5/context/categories/cmi5")
		switch v := verbOf(s); v {
		case "initialized", "terminated", "completed", "passed", "failed":
			if get(s, "object", "id") != au || !cmi5 {
				t.Errorf("%s: object %v, cmi5 category %v", v, get(s, "object", "id"), cmi5)
			}
			if v != "initialized" && get(s, "result", "duration") == nil {
				t.Errorf("%s has no result.duration", v)
			}
		default:
			if cmi5 {
				t.Errorf("the cmi5-allowed statement %s carries the cmi5 category", v)
			}
			if !hasActivity(s, "parent", au) {
				t.Errorf("%s has no AU parent", v)
			}
		}
	}
	for _, sess := range []string{"session-1", "session-2"} {
		list := bySession[sess]
		var verbs []string
		for _, s := range list {
			id, _ := get(s, "object", "id").(string)
			verbs = append(verbs, verbOf(s)+"("+id[strings.LastIndex(id, "/")+1:]+")")
		}
		t.Logf("%s: %s", sess, strings.Join(verbs, " "))
		// Session 1 was left open by closing its window (the LMS records
		// it as abandoned); session 2 ended with Exit.
		wantLast := map[string]bool{"session-1": verbOf(list[len(list)-1]) != "terminated", "session-2": verbOf(list[len(list)-1]) == "terminated"}
		if len(list) < 2 || verbOf(list[0]) != "initialized" || !wantLast[sess] {
			var verbs []string
			for _, s := range list {
				verbs = append(verbs, verbOf(s))
			}
			t.Errorf("%s statements %v, want initialized first, and terminated last only in session 2", sess, verbs)
		}
	}
	if count["initialized"] != 2 || count["terminated"] != 1 || count["completed"] != 1 || count["passed"] != 1 || count["failed"] != 0 {
		t.Errorf("verb counts %v, want 2 initialized, 1 terminated, 1 completed, 1 passed, no failed", count)
	}
	if len(bySession[""]) > 0 {
		t.Errorf("%d statements without a session id", len(bySession[""]))
	}

	seen := map[string]bool{}
	answered := map[string]bool{}
	for _, s := range stmts {
		switch verbOf(s) {
		case "experienced":
			id, _ := get(s, "object", "id").(string)
			seen[strings.TrimPrefix(id, au+"/pages/")] = true
			if get(s, "object", "definition", "type") != "http://activitystrea.ms/schema/1.0/page" || get(s, "object", "definition", "name", "en-GB") == nil {
				t.Errorf("experienced %s: definition %v", id, get(s, "object", "definition"))
			}
		case "answered":
			id, _ := get(s, "object", "id").(string)
			qid := strings.TrimPrefix(id, au+"/questions/")
			answered[qid] = true
			var q *Question
			for _, x := range m.Questions {
				if x.ID == qid {
					q = x
				}
			}
			if q == nil {
				t.Errorf("answered %s: not a question of the module", id)
				continue
			}
			want := q.Interaction("London")
			def := get(s, "object", "definition")
			pattern, _ := json.Marshal(get(def, "correctResponsesPattern"))
			wantPattern, _ := json.Marshal(want.CorrectResponsesPattern)
			if get(def, "interactionType") != want.InteractionType || string(pattern) != string(wantPattern) || get(def, "type") != want.Type {
				t.Errorf("answered %s: definition %v, want %s %s", qid, def, want.InteractionType, wantPattern)
			}
			if r, _ := get(s, "result", "response").(string); r == "" {
				t.Errorf("answered %s: no result.response", qid)
			}
			if get(s, "result", "success") != (qid != wrongID) {
				t.Errorf("answered %s: success %v", qid, get(s, "result", "success"))
			}
		case "completed":
			if get(s, "result", "completion") != true || !hasActivity(s, "category", "https://w3id.org/xapi/cmi5/context/categories/moveon") {
				t.Errorf("completed: result %v", s["result"])
			}
		case "passed":
			scaled, _ := get(s, "result", "score", "scaled").(float64)
			if get(s, "result", "success") != true || scaled < *m.MasteryScore || get(s, "context", "extensions", "https://w3id.org/xapi/cmi5/context/extensions/masteryscore") != *m.MasteryScore {
				t.Errorf("passed: result %v, context %v", s["result"], s["context"])
			}
		}
	}
	for _, id := range path {
		if !seen[id] {
			t.Errorf("no experienced statement for page %s", id)
		}
	}
	if len(answered) != len(m.Questions) {
		t.Errorf("answered statements for %d questions, want %d", len(answered), len(m.Questions))
	}
}

// TestRuntimeDraftsAndModes checks the offer-builder's hints and saving, a
// role read from the agent profile, Browse mode (no completion or result),
// and a failed attempt followed by a retry that passes.
func TestRuntimeDraftsAndModes(t *testing.T) {
	c, files := buildPackage(t, os.DirFS("testdata/good"), BuildOptions{})
	m := c.Modules[0]
	au := c.AUIRI(m)
	lrs := newFakeLRS(t)
	lrs.docs["profile|learner-1|https://reach.london/xapi/profiles/role"] = []byte(`{"role":"artist"}`)
	mux := http.NewServeMux()
	mux.Handle("/pkg/", packageHandler(files))
	mux.Handle("/", lrs)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx := newBrowser(t)
	stateKey := "state|" + au + "|learner-1|" + testRegistration + "|https://reach.london/xapi/state/progress"
	verbs := func() map[string]int {
		stmts, _, _ := lrs.snapshot()
		n := map[string]int{}
		for _, s := range stmts {
			n[verbOf(s)]++
		}
		return n
	}

	// Session 1 in Browse mode.
	do(t, ctx, chromedp.Navigate(lrs.launch(srv.URL, au, AUPath(m), 1, 0.5, "Browse")))
	waitReady(t, ctx)
	if eval[bool](t, ctx, `!document.querySelector("[data-role-form]").hidden`) {
		t.Error("the role question shows although the profile holds the role")
	}
	if !eval[bool](t, ctx, `document.querySelector('details.role-note[data-role="artist"]').open && !document.querySelector('details.role-note[data-role="gp"]').open`) {
		t.Error("the artist's notes are not the open ones")
	}
	eval[bool](t, ctx, `location.hash = "#page-stories"; true`)
	if got := eval[string](t, ctx, `document.querySelector("[data-next]").getAttribute("href")`); got != "#page-offer" {
		t.Errorf("for an artist, Next after stories leads to %s, want #page-offer (the GP page is not on the path)", got)
	}
	do(t, ctx, chromedp.Click(chromedp.CSS("[data-next]")))
	do(t, ctx, chromedp.SendKeys(chromedp.CSS("#draft-offer-who"), "This intervention is for participants who wish to utilise our holistic provision in order to facilitate wellbeing outcomes across the cohort of service users referred to us."),
		chromedp.Click(chromedp.CSS("#draft-offer-what")))
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector("[data-hints]").textContent.includes('Jargon: "utilise". Try "use".')`, chromedp.WithPollingTimeout(5*time.Second))); err != nil {
		t.Errorf("no jargon hint: %v", err)
	}
	// The hints sit just after the field being typed, and say which.
	if got := eval[string](t, ctx, `document.querySelector("#draft-offer-who").closest(".field").nextElementSibling.querySelector(".plain-hints-title").textContent`); got != "Plain-language hints: Who it is for" {
		t.Errorf("after the field being typed: %q, want the hints for it", got)
	}
	hints := eval[string](t, ctx, `document.querySelector("[data-hints]").textContent`)
	for _, want := range []string{"Average sentence: 27 words", "Longest sentence: 27 words", "Reading age: about"} {
		if !strings.Contains(hints, want) {
			t.Errorf("hints %q lack %q", hints, want)
		}
	}
	if got := eval[string](t, ctx, `document.querySelector("[data-hints-summary]").getAttribute("aria-live") + ": " + document.querySelector("[data-hints-summary]").textContent`); !strings.HasPrefix(got, "polite: Hints updated: reading age about") || !strings.Contains(got, "10 jargon words found") {
		t.Errorf("hints live region %q", got)
	}
	waitFor(t, "the draft in the state", func() bool { return strings.Contains(string(lrs.doc(stateKey)), "holistic provision") })
	waitFor(t, "an updated statement", func() bool { return verbs()["updated"] == 1 })
	// Export: the download and print buttons work without errors, and the
	// print area holds the draft.
	do(t, ctx, chromedp.Click(chromedp.CSS("[data-draft-download]")), chromedp.Click(chromedp.CSS("[data-draft-print]")))
	if got := eval[string](t, ctx, `document.querySelector("[data-print-area]").textContent`); !strings.Contains(got, "Who it is for") || !strings.Contains(got, "holistic provision") {
		t.Errorf("print area %q", got)
	}
	eval[bool](t, ctx, fmt.Sprintf(`location.hash = "#page-knowledge-check"; (%s)([], ["fx-q1","fx-q2","fx-q3","fx-q4","fx-q5","fx-q6"])`, answerJS))
	if got := eval[string](t, ctx, `document.querySelector("[data-check-result]").textContent`); !strings.Contains(got, "0 of 6") || !strings.Contains(got, "not passed") {
		t.Errorf("result %q", got)
	}
	for _, p := range []string{"summary", "sources", "welcome"} {
		eval[bool](t, ctx, fmt.Sprintf(`location.hash = "#page-%s"; true`, p))
	}
	do(t, ctx, chromedp.Click(chromedp.CSS("[data-exit]")))
	waitFor(t, "the return URL", func() bool { lrs.mu.Lock(); defer lrs.mu.Unlock(); return lrs.returned == 1 })
	n := verbs()
	// Seven answers (the script also answers the GP page's question, which
	// the artist's result of 0 of 6 above leaves out).
	if n["completed"]+n["passed"]+n["failed"] != 0 || n["answered"] != 7 || n["terminated"] != 1 {
		t.Errorf("Browse mode sent %v; want answers and terminated but no completed, passed or failed", n)
	}

	// Session 2, Normal: the saved wrong answers are not judged again; a
	// new attempt fails, and a retry passes.
	do(t, ctx, chromedp.Navigate(lrs.launch(srv.URL, au, AUPath(m), 2, 0.5, "Normal")))
	waitReady(t, ctx)
	if got := eval[string](t, ctx, `document.querySelector("#draft-offer-who").value`); !strings.Contains(got, "holistic provision") {
		t.Errorf("the draft was not restored: %q", got)
	}
	// Pages seen in Browse mode do not count towards completion: a Normal
	// launch completes only once the learner has seen them in it.
	time.Sleep(500 * time.Millisecond)
	if v := verbs(); v["completed"] != 0 || v["failed"] != 0 {
		t.Errorf("on resume: %v; want no completed and no failed", v)
	}
	for _, p := range []string{"welcome", "stories", "offer", "knowledge-check", "summary", "sources"} {
		eval[bool](t, ctx, fmt.Sprintf(`location.hash = "#page-%s"; true`, p))
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](fmt.Sprintf(`!document.getElementById("page-%s").hidden`, p), chromedp.WithPollingTimeout(5*time.Second))); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "completed", func() bool { return verbs()["completed"] == 1 })
	eval[bool](t, ctx, `location.hash = "#page-knowledge-check"; document.querySelector("[data-check-retry]").click(); true`)
	eval[bool](t, ctx, fmt.Sprintf(`(%s)([], ["fx-q1","fx-q2","fx-q3","fx-q4"])`, answerJS))
	// The fail is held back while the learner may still retry.
	time.Sleep(500 * time.Millisecond)
	if v := verbs(); v["failed"] != 0 {
		t.Errorf("failed was sent before the session ended: %v", v)
	}
	do(t, ctx, chromedp.Click(chromedp.CSS("[data-exit]")))
	waitFor(t, "the second return", func() bool { lrs.mu.Lock(); defer lrs.mu.Unlock(); return lrs.returned == 2 })
	stmts, _, _ := lrs.snapshot()
	if n := len(stmts); n < 2 || verbOf(stmts[n-2]) != "failed" || verbOf(stmts[n-1]) != "terminated" {
		t.Errorf("session 2 did not end with failed then terminated")
	}

	// Session 3: a retry passes.
	do(t, ctx, chromedp.Navigate(lrs.launch(srv.URL, au, AUPath(m), 3, 0.5, "Normal")))
	waitReady(t, ctx)
	eval[bool](t, ctx, `location.hash = "#page-knowledge-check"; document.querySelector("[data-check-retry]").click(); true`)
	eval[bool](t, ctx, fmt.Sprintf(`(%s)([], ["fx-q1"])`, answerJS))
	waitFor(t, "passed", func() bool { return verbs()["passed"] == 1 })
	do(t, ctx, chromedp.Click(chromedp.CSS("[data-exit]")))
	waitFor(t, "the third return", func() bool { lrs.mu.Lock(); defer lrs.mu.Unlock(); return lrs.returned == 3 })
	if v := verbs(); v["failed"] != 1 || v["passed"] != 1 || v["terminated"] != 3 || v["initialized"] != 3 {
		t.Errorf("verbs %v; want 1 failed, 1 passed, 3 initialized and 3 terminated", v)
	}
	stmts, _, problems := lrs.snapshot()
	for _, p := range problems {
		t.Errorf("LRS: %s", p)
	}
	for _, s := range stmts {
		if verbOf(s) == "failed" || verbOf(s) == "passed" {
			want := 2.0 / 6
			if verbOf(s) == "passed" {
				want = 5.0 / 6
			}
			if got, _ := get(s, "result", "score", "scaled").(float64); got < want-0.001 || got > want+0.001 {
				t.Errorf("%s: scaled score %v, want %.4f", verbOf(s), got, want)
			}
		}
	}
}

// TestPlainLanguageHints checks the offer-builder's measures in the browser.
func TestPlainLanguageHints(t *testing.T) {
	_, files := buildPackage(t, os.DirFS("testdata/good"), BuildOptions{})
	srv := httptest.NewServer(packageHandler(files))
	defer srv.Close()
	ctx := newBrowser(t)
	do(t, ctx, chromedp.Navigate(srv.URL+"/pkg/demo/index.html"))
	waitReady(t, ctx)
	for _, tc := range []struct {
		text                        string
		sentences, average, longest int
		minAge, maxAge              int
		jargon                      []string
	}{
		{"We meet on Tuesdays. Tea is free. Come along.", 3, 3, 4, 5, 8, nil},
		{"Who it is for\nAdults who feel lonely", 2, 4, 4, 5, 10, nil},
		{"We utilise a holistic approach in order to facilitate engagement.", 1, 10, 10, 14, 30, []string{"utilise", "facilitate", "in order to", "engagement", "holistic"}},
		{"Participants should contact us prior to attending the session.", 1, 9, 9, 10, 30, []string{"participants", "prior to"}},
		{"", 0, 0, 0, 0, 0, nil},
	} {
		got := eval[map[string]any](t, ctx, fmt.Sprintf(`(() => { const a = window.reachPlainLanguage.analyse(%s); return a ? {sentences: a.sentences, average: a.average, longest: a.longest, age: a.readingAge, jargon: a.jargon.map(j => j[0])} : {sentences: 0, average: 0, longest: 0, age: 0, jargon: []} })()`, mustJSON(tc.text)))
		num := func(k string) int { f, _ := got[k].(float64); return int(f) }
		if num("sentences") != tc.sentences || num("average") != tc.average || num("longest") != tc.longest {
			t.Errorf("%q: %v; want %d sentences, average %d, longest %d", tc.text, got, tc.sentences, tc.average, tc.longest)
		}
		if age := num("age"); age < tc.minAge || age > tc.maxAge {
			t.Errorf("%q: reading age %d, want %d to %d", tc.text, age, tc.minAge, tc.maxAge)
		}
		var jargon []string
		for _, j := range got["jargon"].([]any) {
			jargon = append(jargon, j.(string))
		}
		for _, want := range tc.jargon {
			if !slices.Contains(jargon, want) {
				t.Errorf("%q: jargon %v lacks %q", tc.text, jargon, want)
			}
		}
		if tc.jargon == nil && len(jargon) > 0 {
			t.Errorf("%q: jargon %v, want none", tc.text, jargon)
		}
	}
}

// TestKnowledgeCheckTeaches answers a question wrongly, then retries it:
// the feedback names the chosen option's own feedback, the right answer,
// why, and links to the page that teaches it; the retry clears only that
// question; each attempt is an answered statement.
func TestKnowledgeCheckTeaches(t *testing.T) {
	c, files := buildPackage(t, os.DirFS("testdata/good"), BuildOptions{})
	m := c.Modules[0]
	au := c.AUIRI(m)
	lrs := newFakeLRS(t)
	lrs.docs["profile|learner-1|https://reach.london/xapi/profiles/role"] = []byte(`{"role":"artist"}`)
	mux := http.NewServeMux()
	mux.Handle("/pkg/", packageHandler(files))
	mux.Handle("/", lrs)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx := newBrowser(t)
	stateKey := "state|" + au + "|learner-1|" + testRegistration + "|https://reach.london/xapi/state/progress"
	do(t, ctx, chromedp.Navigate(lrs.launch(srv.URL, au, AUPath(m), 1, 0.5, "Normal")))
	waitReady(t, ctx)

	eval[bool](t, ctx, fmt.Sprintf(`location.hash = "#page-knowledge-check"; (%s)(["fx-q1", "fx-q2"], ["fx-q1"])`, answerJS))
	fb := eval[string](t, ctx, `document.querySelector("#q-fx-q1 .feedback").textContent`)
	for _, want := range []string{"Not quite.", "You chose “The wrong one”. Tempting, but this one misses the point.", "Look again at the stories.",
		"The right answer: The right one", "Why: The stories page explains why.", "Read “Stories and local information” again"} {
		if !strings.Contains(fb, want) {
			t.Errorf("feedback after a wrong answer %q lacks %q", fb, want)
		}
	}
	if got := eval[string](t, ctx, `document.querySelector("#q-fx-q1 .feedback a").getAttribute("href")`); got != "#page-stories" {
		t.Errorf("the feedback links to %q, want #page-stories", got)
	}
	if eval[bool](t, ctx, `document.querySelector("#q-fx-q1 [data-question-retry]").hidden`) {
		t.Fatal("no retry button after a wrong answer")
	}
	if !eval[bool](t, ctx, `document.querySelector("#q-fx-q2 [data-question-retry]").hidden`) {
		t.Error("a retry button after a right answer")
	}
	do(t, ctx, chromedp.Click(chromedp.CSS("#q-fx-q1 [data-question-retry]")))
	if !eval[bool](t, ctx, `!document.querySelector("#q-fx-q1 input").disabled && document.querySelector("#q-fx-q1 .feedback").textContent === "" && document.activeElement === document.querySelector("#q-fx-q1 input")`) {
		t.Error("the retry did not clear the question and focus its first option")
	}
	if !eval[bool](t, ctx, `document.querySelector("#q-fx-q2 input").disabled && document.querySelector("#q-fx-q2 .feedback").textContent !== ""`) {
		t.Error("the retry cleared another question too")
	}
	waitFor(t, "the retried answer gone from the state", func() bool {
		var st struct{ Answers map[string]any }
		json.Unmarshal(lrs.doc(stateKey), &st)
		return st.Answers["fx-q1"] == nil && st.Answers["fx-q2"] != nil
	})
	eval[bool](t, ctx, fmt.Sprintf(`(%s)(["fx-q1"], [])`, answerJS))
	fb = eval[string](t, ctx, `document.querySelector("#q-fx-q1 .feedback").textContent`)
	if !strings.Contains(fb, "Correct.") || !strings.Contains(fb, "Yes, this is the one the stories page describes.") || strings.Contains(fb, "The right answer") {
		t.Errorf("feedback after the right answer: %q", fb)
	}
	var responses []string
	waitFor(t, "two answered statements for fx-q1", func() bool {
		stmts, _, _ := lrs.snapshot()
		responses = nil
		for _, s := range stmts {
			if verbOf(s) == "answered" && get(s, "object", "id") == au+"/questions/fx-q1" {
				responses = append(responses, fmt.Sprint(get(s, "result", "response"), "/", get(s, "result", "success")))
				if get(s, "object", "definition", "interactionType") != "choice" {
					t.Errorf("answered without its interaction definition: %v", get(s, "object"))
				}
			}
		}
		return len(responses) == 2
	})
	if !slices.Equal(responses, []string{"a/false", "b/true"}) {
		t.Errorf("answered fx-q1 %v, want a wrong then a right attempt", responses)
	}
	_, _, problems := lrs.snapshot()
	for _, p := range problems {
		t.Errorf("LRS: %s", p)
	}
}

// TestScenarioRuntime plays the fixture's branching scenario with the
// keyboard: one step shows at a time, a choice shows its consequence and
// leads to the step it names, the path survives a reload, the ending
// debriefs, and each choice is a responded statement naming the step.
func TestScenarioRuntime(t *testing.T) {
	c, files := buildPackage(t, os.DirFS("testdata/good"), BuildOptions{})
	m := c.Modules[0]
	au := c.AUIRI(m)
	lrs := newFakeLRS(t)
	lrs.docs["profile|learner-1|https://reach.london/xapi/profiles/role"] = []byte(`{"role":"artist"}`)
	mux := http.NewServeMux()
	mux.Handle("/pkg/", packageHandler(files))
	mux.Handle("/", lrs)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx := newBrowser(t)
	do(t, ctx, chromedp.Navigate(lrs.launch(srv.URL, au, AUPath(m), 1, 0.5, "Normal")))
	waitReady(t, ctx)
	eval[bool](t, ctx, `location.hash = "#page-stories"; true`)
	visible := func() string {
		return eval[string](t, ctx, `[...document.querySelectorAll("#scn-fx-s1 [data-step], #scn-fx-s1 [data-ending], #scn-fx-s1 [data-scenario-outcome]")].filter(e => !e.hidden).map(e => e.dataset.step || e.dataset.ending || "outcome").join(",")`)
	}
	if got := visible(); got != "door" {
		t.Fatalf("visible parts %q, want only the first step", got)
	}
	// Choosing nothing is an error named in the form.
	do(t, ctx, chromedp.Focus(chromedp.CSS("#scn-fx-s1-door button[type=submit]")), chromedp.KeyEvent("\r"))
	if got := eval[string](t, ctx, `document.querySelector("#scn-fx-s1-door [data-error]").textContent`); got != "Choose what you would do." {
		t.Errorf("error %q", got)
	}
	do(t, ctx, chromedp.Focus(chromedp.CSS("#scn-fx-s1-door-welcome")), chromedp.KeyEvent(" "),
		chromedp.Focus(chromedp.CSS("#scn-fx-s1-door button[type=submit]")), chromedp.KeyEvent("\r"))
	if got := eval[string](t, ctx, `document.activeElement.dataset.scenarioOutcome !== undefined ? document.activeElement.textContent : "focus on " + document.activeElement.outerHTML.slice(0, 80)`); !strings.Contains(got, "He smiles and follows you in.") || !strings.Contains(got, "Continue") {
		t.Errorf("after choosing, focus is on %q, want the consequence", got)
	}
	do(t, ctx, chromedp.Focus(chromedp.CSS("#scn-fx-s1 [data-scenario-continue]")), chromedp.KeyEvent("\r"))
	if got := visible(); got != "tea" {
		t.Errorf("after Continue, visible parts %q, want the tea step", got)
	}
	if got := eval[string](t, ctx, `document.activeElement.id`); got != "scn-fx-s1-tea-title" {
		t.Errorf("focus on %q, want the next step's heading", got)
	}
	if got := eval[string](t, ctx, `document.querySelector("#scn-fx-s1 [data-scenario-log]").textContent`); got != "At the door: you chose “Walk over, say hello and show him where to sit”." {
		t.Errorf("path so far %q", got)
	}
	// The path survives a reload.
	time.Sleep(1200 * time.Millisecond)
	do(t, ctx, chromedp.Reload())
	waitReady(t, ctx)
	if got := visible(); got != "tea" {
		t.Errorf("after a reload, visible parts %q, want the tea step", got)
	}
	eval[bool](t, ctx, `document.querySelector("#scn-fx-s1-tea-introduce").checked = true; document.querySelector("#scn-fx-s1-tea").requestSubmit(); true`)
	if got := eval[string](t, ctx, `document.querySelector("#scn-fx-s1 [data-scenario-continue]").textContent`); got != "See how it ended" {
		t.Errorf("continue button %q before an ending", got)
	}
	eval[bool](t, ctx, `document.querySelector("#scn-fx-s1 [data-scenario-continue]").click(); true`)
	if got := visible(); got != "stayed" {
		t.Errorf("visible parts %q, want the ending", got)
	}
	if got := eval[string](t, ctx, `document.querySelector('#scn-fx-s1 [data-ending="stayed"]').textContent`); !strings.Contains(got, "Ending: He comes back next week") || !strings.Contains(got, "A warm welcome and one introduction") {
		t.Errorf("ending %q", got)
	}
	var steps []string
	waitFor(t, "two responded statements", func() bool {
		stmts, _, _ := lrs.snapshot()
		steps = nil
		for _, s := range stmts {
			if verbOf(s) != "responded" {
				continue
			}
			ext := fmt.Sprint(get(s, "result", "extensions", "https://reach.london/xapi/extensions/scenario"), " ",
				get(s, "result", "extensions", "https://reach.london/xapi/extensions/scenario-step"), " ",
				get(s, "result", "extensions", "https://reach.london/xapi/extensions/scenario-ending"))
			steps = append(steps, fmt.Sprint(get(s, "object", "id"), " ", get(s, "object", "definition", "interactionType"), " ", get(s, "result", "response"), " ", ext))
			if !hasActivity(s, "parent", au) {
				t.Errorf("responded without the AU as parent: %v", s["context"])
			}
		}
		return len(steps) == 2
	})
	sc := au + "/scenarios/fx-s1"
	want := []string{sc + "/steps/door choice welcome " + sc + " door <nil>", sc + "/steps/tea choice introduce " + sc + " tea stayed"}
	if !slices.Equal(steps, want) {
		t.Errorf("responded statements:\n%v\nwant\n%v", steps, want)
	}
	eval[bool](t, ctx, `document.querySelector('#scn-fx-s1 [data-ending="stayed"] [data-scenario-restart]').click(); true`)
	if got := visible(); got != "door" {
		t.Errorf("after Play again, visible parts %q, want the first step", got)
	}
	_, _, problems := lrs.snapshot()
	for _, p := range problems {
		t.Errorf("LRS: %s", p)
	}
}

// TestSelfAssessmentRuntime rates confidence at the start and the end of
// the fixture module: a missing rating is an error, each rating is a
// responded statement in the self-assessment profile (the written answer
// is not sent), and the end shows the learner their own change.
func TestSelfAssessmentRuntime(t *testing.T) {
	c, files := buildPackage(t, os.DirFS("testdata/good"), BuildOptions{})
	m := c.Modules[0]
	au := c.AUIRI(m)
	lrs := newFakeLRS(t)
	lrs.docs["profile|learner-1|https://reach.london/xapi/profiles/role"] = []byte(`{"role":"artist"}`)
	mux := http.NewServeMux()
	mux.Handle("/pkg/", packageHandler(files))
	mux.Handle("/", lrs)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx := newBrowser(t)
	do(t, ctx, chromedp.Navigate(lrs.launch(srv.URL, au, AUPath(m), 1, 0.5, "Normal")))
	waitReady(t, ctx)
	eval[bool](t, ctx, `location.hash = "#page-welcome"; true`)
	// One of two outcomes rated: an error names what is missing.
	eval[bool](t, ctx, `document.querySelector("#sa-start-o1-2").checked = true; document.querySelector('[data-self-assessment="start"] button[type=submit]').click(); true`)
	if got := eval[string](t, ctx, `document.querySelector("#sa-start-error").textContent + " | " + document.activeElement.id`); got != "Rate every statement: 1 of 2 still need a rating. | sa-start-o2-1" {
		t.Errorf("error and focus %q", got)
	}
	do(t, ctx, chromedp.Click(chromedp.CSS("#sa-start-o2-3")), chromedp.SendKeys(chromedp.CSS("#sa-start-text"), "Learn the blocks."),
		chromedp.Click(chromedp.CSS(`[data-self-assessment="start"] button[type=submit]`)))
	eval[bool](t, ctx, `location.hash = "#page-summary"; true`)
	do(t, ctx, chromedp.Click(chromedp.CSS("#sa-end-o1-4")), chromedp.Click(chromedp.CSS("#sa-end-o2-3")),
		chromedp.SendKeys(chromedp.CSS("#sa-end-text"), "Knowing when to use a scenario."),
		chromedp.Click(chromedp.CSS(`[data-self-assessment="end"] button[type=submit]`)))
	change := eval[string](t, ctx, `document.activeElement.matches("[data-sa-change]") ? document.activeElement.innerText : "focus not on the change"`)
	for _, want := range []string{"Your confidence went up for 1 of 2 learning outcomes.", "use every kind of block\t2\t4\tup 2", "say what each block is for\t3\t3\tno change",
		"At the start you wrote: Learn the blocks.", "Now you wrote: Knowing when to use a scenario."} {
		if !strings.Contains(change, want) {
			t.Errorf("change %q lacks %q", change, want)
		}
	}
	type rating struct{ Obj, Resp, Phase, Outcome, Cat string }
	var got []rating
	waitFor(t, "four rating statements", func() bool {
		stmts, _, _ := lrs.snapshot()
		got = nil
		for _, s := range stmts {
			if verbOf(s) != "responded" || !strings.Contains(fmt.Sprint(get(s, "object", "id")), "/outcomes/") {
				continue
			}
			if strings.Contains(mustJSON(s), "Learn the blocks") {
				t.Error("the written answer was sent to the LRS")
			}
			if get(s, "object", "definition", "interactionType") != "likert" || len(get(s, "object", "definition", "scale").([]any)) != 5 {
				t.Errorf("rating without a 5-point likert definition: %v", get(s, "object", "definition"))
			}
			cat := ""
			if hasActivity(s, "category", "https://reach.london/xapi/profiles/self-assessment") && hasActivity(s, "parent", au) {
				cat = "ok"
			}
			got = append(got, rating{fmt.Sprint(get(s, "object", "id")), fmt.Sprint(get(s, "result", "response")),
				fmt.Sprint(get(s, "result", "extensions", "https://reach.london/xapi/extensions/self-assessment-phase")),
				fmt.Sprint(get(s, "result", "extensions", "https://reach.london/xapi/extensions/outcome")), cat})
		}
		return len(got) == 4
	})
	want := []rating{{au + "/outcomes/1", "2", "start", "1", "ok"}, {au + "/outcomes/2", "3", "start", "2", "ok"},
		{au + "/outcomes/1", "4", "end", "1", "ok"}, {au + "/outcomes/2", "3", "end", "2", "ok"}}
	if !slices.Equal(got, want) {
		t.Errorf("rating statements\n%v\nwant\n%v", got, want)
	}
	// The change is still there after a reload.
	time.Sleep(1200 * time.Millisecond)
	do(t, ctx, chromedp.Reload())
	waitReady(t, ctx)
	if got := eval[string](t, ctx, `document.querySelector("[data-sa-change]").hidden ? "hidden" : document.querySelector("[data-sa-change]").innerText`); !strings.Contains(got, "up 2") {
		t.Errorf("after a reload the change shows %q", got)
	}
	_, _, problems := lrs.snapshot()
	for _, p := range problems {
		t.Errorf("LRS: %s", p)
	}
}
