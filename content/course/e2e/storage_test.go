package e2e

import (
	"context"
	"html"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/reach-london/reach/client"
	"github.com/reach-london/reach/content/course"
	"github.com/reach-london/reach/internal/browsertest"
	"github.com/reach-london/reach/internal/config"
	"github.com/reach-london/reach/internal/reachtest"
)

// contentHost is the content origin's host name in the cross-site tests:
// Chromium maps it to 127.0.0.1, so the content origin is another site
// than the app origin (127.0.0.1), whose page frames it.
const contentHost = "content.reach.test"

// crossSiteBrowser starts Chromium with the content host mapped to the
// loopback address. When embedder is set, the profile denies the content
// host's site data (cookies and Web Storage) in pages of that origin: in
// the other LMS's frame, storage access throws SecurityError. Chromium 156
// partitions third-party storage by default, even with "Block third-party
// cookies" on (with --test-third-party-cookie-phaseout the site-data block
// is not even applied), so a per-site block, as a user's or an
// administrator's blocked-sites list sets it, is how storage is denied.
// Site isolation is off so the test reaches the nested frames through the
// top page's DevTools session; storage access does not depend on it.
func crossSiteBrowser(t *testing.T, embedder string) context.Context {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "Default"), 0o755); err != nil {
		t.Fatal(err)
	}
	prefs := `{}`
	if embedder != "" {
		prefs = `{"profile": {"content_settings": {"exceptions": {"cookies": {"[*.]` + contentHost + `,` + embedder + `": {"setting": 2}}}}}}`
	}
	if err := os.WriteFile(filepath.Join(dir, "Default", "Preferences"), []byte(prefs), 0o644); err != nil {
		t.Fatal(err)
	}
	return browsertest.Start(t, 4*time.Minute, chromedp.UserDataDir(dir),
		chromedp.Flag("host-resolver-rules", "MAP "+contentHost+" 127.0.0.1"),
		chromedp.Flag("disable-site-isolation-trials", true),
		chromedp.Flag("disable-features", "IsolateOrigins,site-per-process"))
}

// crossSiteReach runs Reach with its content origin on contentHost, and
// its app origin behind a proxy that also answers /outer?src=URL with a
// page framing URL: another LMS's page, on another site than the content.
func crossSiteReach(t *testing.T) (*reachtest.Instance, string) {
	t.Helper()
	var outer string
	r := reachtest.Start(t, reachtest.Backend{Name: "embedded"}, func(c *config.Config) {
		target, _ := url.Parse("http://" + c.Addr)
		rp := httputil.NewSingleHostReverseProxy(target)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/outer" {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				_, _ = w.Write([]byte(`<!doctype html><html lang="en"><head><title>Another LMS</title></head><body>` +
					`<iframe title="course" style="width:100%;height:90vh" src="` + html.EscapeString(r.URL.Query().Get("src")) + `"></iframe></body></html>`))
				return
			}
			rp.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		outer = srv.URL + "/outer?src="
		c.PublicURL = srv.URL
		_, port, _ := strings.Cut(c.ContentAddr, ":")
		c.ContentURL = "http://" + contentHost + ":" + port
	})
	return r, outer
}

// storageProbe says whether the document may use Web Storage.
const storageProbe = `(() => { try { return window.sessionStorage.length >= 0 && window.localStorage.length >= 0 ? "allowed" : "?"; } catch (e) { return e.name; } })()`

// TestCrossSiteFrameStorage plays a built-in module through the SCORM 1.2
// dispatch in a frame of another site (the other LMS's page on the app
// origin frames Reach's player, the dispatch SCO, the play page and the
// AU, all on the content origin), with third-party storage blocked (the
// setting private windows and many profiles use) and allowed: the AU
// starts, the learner completes it, and both LRSs hear about it.
func TestCrossSiteFrameStorage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole server")
	}
	for _, blocked := range []bool{true, false} {
		name := "storage partitioned"
		want := "allowed"
		if blocked {
			name, want = "third-party storage blocked", "SecurityError"
		}
		t.Run(name, func(t *testing.T) {
			r, outer := crossSiteReach(t)
			embedder := ""
			if blocked {
				u, _ := url.Parse(outer)
				embedder = u.Scheme + "://" + u.Host
			}
			ctx := crossSiteBrowser(t, embedder)
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
			player := launchFromPortal(t, learner, lms, module)
			if !strings.HasPrefix(player, "http://"+contentHost+":") {
				t.Fatalf("the launch URL %s is not on the content host", player)
			}
			if err := chromedp.Do(ctx, chromedp.Navigate(outer+url.QueryEscape(player))); err != nil {
				t.Fatal(err)
			}
			playerFrame := frameWhere(t, ctx, "/player/")
			playerFrame.waitFor("the player frame", `document.readyState === "complete"`, 20*time.Second)
			if got := playerFrame.string(storageProbe); got != want {
				t.Fatalf("Web Storage in the cross-site frame: %s, want %s (the browser setting did not take)", got, want)
			}
			au := frameWhere(t, ctx, "fetch=")
			c, err := course.Embedded()
			if err != nil {
				t.Fatal(err)
			}
			completeModule(au, c.Modules[0], "linkworker")
			registration := au.string(`new URL(location.href).searchParams.get("registration")`)

			cred, err := admin.CreateCredential(bg, "london", "e2e reader", "all/read")
			if err != nil {
				t.Fatal(err)
			}
			var verbs string
			for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(300 * time.Millisecond) {
				verbs = " " + strings.Join(registrationVerbs(t, r.URL, cred, registration), " ") + " "
				if strings.Contains(verbs, " passed ") && strings.Contains(verbs, " completed ") {
					break
				}
			}
			for _, v := range []string{"launched", "initialized", "answered", "completed", "passed"} {
				if !strings.Contains(verbs, " "+v+" ") {
					t.Errorf("no %s statement in London's registration (statements:%s)", v, verbs)
				}
			}
			// The other LMS hears the outcome through the player's SCORM API.
			lmsCred, err := admin.CreateCredential(bg, lms, "e2e reader", "all/read")
			if err != nil {
				t.Fatal(err)
			}
			var lmsVerbs []string
			for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(300 * time.Millisecond) {
				lmsVerbs = lmsVerbs[:0]
				for _, s := range statementsWhere(t, r.URL, lmsCred, url.Values{}) {
					lmsVerbs = append(lmsVerbs, s.verb())
				}
				if strings.Contains(" "+strings.Join(lmsVerbs, " ")+" ", " passed ") {
					return
				}
			}
			t.Errorf("the other LMS recorded no passed statement; its statements: %v", lmsVerbs)
		})
	}
}
