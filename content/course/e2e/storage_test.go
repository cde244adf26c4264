package e2e

import (
	"archive/zip"
	"bytes"
	"context"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
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

// lmsFiles are the files the stand-in LMS serves under /lms/ (the
// exported dispatch package, as another LMS would serve it).
var (
	lmsMu    sync.Mutex
	lmsFiles = map[string][]byte{}
)

// lmsPage is the other LMS's player: a SCORM 1.2 API that records what
// the SCO sets, around the SCO page it serves from its own site.
const lmsPage = `<!doctype html><html lang="en"><head><title>Another LMS</title></head><body>
<script>
window.lmsData = {"cmi.core.student_id": "lms-student-7", "cmi.core.student_name": "Learner, Grace", "cmi.core.lesson_status": "not attempted"};
window.API = {
  LMSInitialize: function () { return "true"; }, LMSFinish: function () { return "true"; }, LMSCommit: function () { return "true"; },
  LMSGetValue: function (k) { return window.lmsData[k] || ""; },
  LMSSetValue: function (k, v) { window.lmsData[k] = String(v); return "true"; },
  LMSGetLastError: function () { return "0"; }, LMSGetErrorString: function () { return ""; }, LMSGetDiagnostic: function () { return ""; }
};
</script>
<iframe title="course" style="width:100%;height:90vh" src="/lms/SCO"></iframe></body></html>`

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
			if strings.HasPrefix(r.URL.Path, "/lms/") {
				lmsMu.Lock()
				b, ok := lmsFiles[strings.TrimPrefix(r.URL.Path, "/lms/")]
				lmsMu.Unlock()
				if !ok {
					http.NotFound(w, r)
					return
				}
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				_, _ = w.Write(b)
				return
			}
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
// dispatch as another LMS would: the LMS (a stand-in on the test proxy's
// site) serves the exported SCO page inside its own player with a SCORM
// 1.2 API, and the SCO frames Reach's play page and the AU from the
// content origin, another site. With the content host's storage denied
// there, and with it partitioned, the AU starts, the learner completes it,
// London's LRS has the statements and the LMS's API hears "passed".
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
			// The other LMS serves the exported package's first SCO itself,
			// on its own site, inside its player page.
			files := map[string][]byte{}
			zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
			if err != nil {
				t.Fatal(err)
			}
			for _, zf := range zr.File {
				rc, err := zf.Open()
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(rc)
				rc.Close()
				files[zf.Name] = b
			}
			sco, ok := files["sco/1.html"]
			if !ok {
				t.Fatalf("the dispatch package has no sco/1.html")
			}
			lmsMu.Lock()
			lmsFiles["SCO"] = sco
			lmsFiles["player"] = []byte(lmsPage)
			lmsMu.Unlock()
			if err := chromedp.Do(ctx, chromedp.Navigate(strings.TrimSuffix(outer, "/outer?src=")+"/lms/player")); err != nil {
				t.Fatal(err)
			}
			playFrame := frameWhere(t, ctx, "/play/")
			playFrame.waitFor("Reach's play page in the LMS's SCO", `document.readyState === "complete"`, 20*time.Second)
			if got := playFrame.string(storageProbe); got != want {
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
			// The other LMS hears the outcome through its SCORM API.
			top := topDoc(t, ctx)
			top.waitFor("the LMS's lesson status", `window.lmsData["cmi.core.lesson_status"] === "passed"`, 20*time.Second)
		})
	}
}
