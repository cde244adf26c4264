package server_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/reach-london/reach/client"
	"github.com/reach-london/reach/content"
	"github.com/reach-london/reach/content/manifest"
	"github.com/reach-london/reach/internal/reachtest"
)

// TestDispatchCMI5Export exports the published course for another LMS,
// checks cmi5.xml against the schema, opens an AU from the content origin
// with the dispatch token, and sees revocation close it.
func TestDispatchCMI5Export(t *testing.T) {
	forEachBackend(t, func(t *testing.T, r *reachtest.Instance) {
		ctx := context.Background()
		admin := adminClient(t, r)
		const slug = "london"

		if _, err := admin.CreateDispatch(ctx, slug, " ", 0); err == nil {
			t.Fatal("a dispatch without a name was created")
		} else {
			wantStatus(t, err, http.StatusBadRequest)
		}
		if _, err := admin.ExportCMI5(ctx, slug, "dsp_nope"); err == nil {
			t.Fatal("export of an unknown dispatch succeeded")
		} else {
			wantStatus(t, err, http.StatusNotFound)
		}
		d, err := admin.CreateDispatch(ctx, slug, "Trust Moodle", 10)
		if err != nil {
			t.Fatal(err)
		}
		zipped, err := admin.ExportCMI5(ctx, slug, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
		if err != nil {
			t.Fatal(err)
		}
		if len(zr.File) != 1 || zr.File[0].Name != "cmi5.xml" {
			t.Fatalf("zip holds %d files, first %q", len(zr.File), zr.File[0].Name)
		}
		f, _ := zr.File[0].Open()
		doc, _ := io.ReadAll(f)
		f.Close()
		path := filepath.Join(t.TempDir(), "cmi5.xml")
		if err := os.WriteFile(path, doc, 0o600); err != nil {
			t.Fatal(err)
		}
		if xmllint, err := exec.LookPath("xmllint"); err == nil {
			if out, err := exec.Command(xmllint, "--noout", "--schema", "/work/shared/schemas/cmi5/CourseStructure.xsd", path).CombinedOutput(); err != nil {
				t.Fatalf("cmi5.xml does not validate: %v\n%s\n%s", err, out, doc)
			}
		} else if os.Getenv("CI") == "true" {
			t.Fatal("xmllint is missing")
		}
		var cs struct {
			AUs []struct {
				URL string `xml:"url"`
			} `xml:"au"`
		}
		if err := xml.Unmarshal(doc, &cs); err != nil {
			t.Fatal(err)
		}
		if len(cs.AUs) != 4 {
			t.Fatalf("%d AUs, want the 4 modules\n%s", len(cs.AUs), doc)
		}
		au := cs.AUs[0].URL
		if !strings.HasPrefix(au, r.ContentURL+"/d/"+d.Token+"/") {
			t.Fatalf("AU URL %q is not on the content origin with the dispatch token", au)
		}
		// Another LMS appends its launch parameters to the URL.
		launch := au + "&endpoint=https%3A%2F%2Flms.example%2Fxapi&fetch=x&actor=%7B%7D&registration=r&activityId=a"
		if !strings.Contains(au, "?") {
			launch = strings.Replace(launch, "&", "?", 1)
		}
		if res, body := get(t, launch); res.StatusCode != http.StatusOK || !strings.Contains(strings.ToLower(body), "<html") {
			t.Fatalf("AU from the content origin: %d %.200s", res.StatusCode, body)
		}
		if res, _ := get(t, strings.Replace(au, d.Token, "forged", 1)); res.StatusCode != http.StatusForbidden {
			t.Fatalf("forged token: %d", res.StatusCode)
		}
		if _, err := admin.RevokeDispatch(ctx, slug, d.ID); err != nil {
			t.Fatal(err)
		}
		if res, _ := get(t, launch); res.StatusCode != http.StatusForbidden {
			t.Fatalf("AU after revocation: %d, want 403", res.StatusCode)
		}
		if _, err := admin.ExportCMI5(ctx, slug, d.ID); err == nil {
			t.Fatal("a revoked dispatch exported")
		} else {
			wantStatus(t, err, http.StatusConflict)
		}
		list, err := admin.Dispatches(ctx, slug)
		if err != nil || len(list) != 1 || list[0].RevokedAt == nil {
			t.Fatalf("dispatches = %+v, %v", list, err)
		}
	})
}

var (
	scoPlayRE   = regexp.MustCompile(`var play = "([^"]+)"`)
	auFrameRE   = regexp.MustCompile(`<iframe id="au" title="[^"]*" src="([^"]+)"`)
	playCfgRE   = regexp.MustCompile(`var cfg = (\{.*\});`)
	scriptNonce = regexp.MustCompile(`<script nonce="([^"]+)">`)
)

// playPage is what the test reads from a dispatch play page.
type playPage struct {
	launchURL string
	cfg       struct {
		OutcomeURL   string `json:"outcomeURL"`
		TargetOrigin string `json:"targetOrigin"`
		Interval     int    `json:"interval"`
		Initial      struct {
			Completed, Passed, Failed, Satisfied bool
		} `json:"initial"`
	}
}

func readPlayPage(t *testing.T, res *http.Response, body string) playPage {
	t.Helper()
	var p playPage
	if res.StatusCode != http.StatusOK {
		t.Fatalf("play: %d %s", res.StatusCode, body)
	}
	csp := res.Header.Get("Content-Security-Policy")
	n := scriptNonce.FindStringSubmatch(body)
	if n == nil || !strings.Contains(csp, "script-src 'nonce-"+n[1]+"'") || !strings.Contains(csp, "frame-ancestors *") ||
		res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("play page CSP %q, Cache-Control %q, nonce %v", csp, res.Header.Get("Cache-Control"), n)
	}
	m := auFrameRE.FindStringSubmatch(body)
	c := playCfgRE.FindStringSubmatch(body)
	if m == nil || c == nil {
		t.Fatalf("play page has no AU frame or config:\n%s", body)
	}
	p.launchURL = html.UnescapeString(m[1])
	if err := json.Unmarshal([]byte(c[1]), &p.cfg); err != nil {
		t.Fatalf("play config %s: %v", c[1], err)
	}
	return p
}

// TestDispatchSCORM12 exports the SCORM 1.2 package and plays its SCOs the
// way another LMS's learners would: learners are made once per student
// within the limit, bad input changes nothing, the outcome follows the AU's
// statements, and deactivation, erasure and revocation take effect.
func TestDispatchSCORM12(t *testing.T) {
	forEachBackend(t, func(t *testing.T, r *reachtest.Instance) {
		ctx := context.Background()
		admin := adminClient(t, r)
		const slug = "london"

		if _, err := admin.ExportSCORM12(ctx, slug, "dsp_nope"); err == nil {
			t.Fatal("export of an unknown dispatch succeeded")
		} else {
			wantStatus(t, err, http.StatusNotFound)
		}
		d, err := admin.CreateDispatch(ctx, slug, "Trust SCORM LMS", 2)
		if err != nil {
			t.Fatal(err)
		}
		zipped, err := admin.ExportSCORM12(ctx, slug, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
		if err != nil {
			t.Fatal(err)
		}
		files := map[string]string{}
		for _, f := range zr.File {
			rc, _ := f.Open()
			b, _ := io.ReadAll(rc)
			rc.Close()
			files[f.Name] = string(b)
		}
		man, err := manifest.Parse("imsmanifest.xml", []byte(files["imsmanifest.xml"]))
		if err != nil {
			t.Fatalf("the exported manifest does not parse: %v\n%s", err, files["imsmanifest.xml"])
		}
		aus := man.Course.AllAUs()
		if man.Type != content.TypeSCORM12 || len(aus) != 4 {
			t.Fatalf("export is %s with %d SCOs, want SCORM 1.2 with one per module (4)", man.Type, len(aus))
		}
		var plays []string
		for _, au := range aus {
			m := scoPlayRE.FindStringSubmatch(files[au.LaunchURL])
			if au.Kind != "sco" || m == nil || !strings.HasPrefix(m[1], r.ContentURL+"/d/"+d.Token+"/play/") {
				t.Fatalf("SCO %s (%s) does not play from the content origin with the token:\n%s", au.ID, au.Kind, files[au.LaunchURL])
			}
			plays = append(plays, m[1])
		}
		audit, err := admin.Audit(ctx, slug)
		if err != nil || len(audit) == 0 || audit[0].Action != "dispatch.export" || audit[0].Target != d.ID {
			t.Fatalf("audit after export: %+v %v", audit, err)
		}

		learners := func() client.LearnerPage {
			t.Helper()
			p, err := admin.Learners(ctx, slug, client.LearnerQuery{})
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		before := learners().Total
		play := func(i int, q url.Values) (*http.Response, string) {
			t.Helper()
			return get(t, plays[i]+"?"+q.Encode())
		}
		playAs := func(i int, q url.Values) playPage {
			t.Helper()
			res, body := play(i, q)
			return readPlayPage(t, res, body)
		}
		student := func(id, name string) url.Values {
			return url.Values{"student_id": {id}, "student_name": {name}, "lms_origin": {"https://lms.example"}}
		}

		// Bad input: nothing is made.
		for _, tc := range []struct {
			name   string
			url    string
			status int
			says   string
		}{
			{"no student_id", plays[0] + "?student_name=X", http.StatusBadRequest, "No student_id was sent"},
			{"blank student_id", plays[0] + "?student_id=%20%20", http.StatusBadRequest, "No student_id was sent"},
			{"long student_id", plays[0] + "?student_id=" + strings.Repeat("x", 256), http.StatusBadRequest, "longer than 255"},
			{"unknown module", r.ContentURL + "/d/" + d.Token + "/play/9-nope?student_id=lms-1", http.StatusNotFound, "no module"},
			{"forged token", strings.Replace(plays[0], d.Token, "forged", 1) + "?student_id=lms-1", http.StatusForbidden, "withdrawn"},
		} {
			res, body := get(t, tc.url)
			if res.StatusCode != tc.status || !strings.Contains(body, tc.says) || !strings.Contains(strings.ToLower(body), "<html") ||
				!strings.Contains(res.Header.Get("Content-Security-Policy"), "frame-ancestors *") {
				t.Errorf("%s: %d %q\n%s", tc.name, res.StatusCode, res.Header.Get("Content-Security-Policy"), body)
			}
		}
		if n := learners().Total; n != before {
			t.Fatalf("bad requests made %d learners", n-before)
		}

		// A new student becomes one learner; coming back reuses them.
		p := playAs(0, student("lms-1", "Doe, Jane"))
		if !strings.HasPrefix(p.launchURL, r.ContentURL+"/") || p.cfg.TargetOrigin != "https://lms.example" || p.cfg.Interval <= 0 ||
			p.cfg.Initial.Completed || p.cfg.Initial.Passed || p.cfg.Initial.Failed {
			t.Fatalf("play page: %+v", p)
		}
		page := learners()
		if page.Total != before+1 || page.Learners[0].Name != "Doe, Jane" || !strings.HasSuffix(page.Learners[0].Email, "@dispatch.invalid") {
			t.Fatalf("learners after the first play: %+v", page)
		}
		jane := page.Learners[0].User
		again := playAs(1, url.Values{"student_id": {"lms-1"}, "lms_origin": {"javascript:alert(1)"}})
		if again.cfg.TargetOrigin != "*" {
			t.Errorf("a bad lms_origin became target origin %q", again.cfg.TargetOrigin)
		}
		if n := learners().Total; n != before+1 {
			t.Fatalf("the same student again made a new learner (%d)", n-before)
		}

		// The outcome follows the AU's statements.
		outcome := func(path string) (int, map[string]any) {
			t.Helper()
			res, body := get(t, r.ContentURL+path)
			var o map[string]any
			_ = json.Unmarshal([]byte(body), &o)
			if res.StatusCode == http.StatusOK && res.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("outcome Cache-Control %q", res.Header.Get("Cache-Control"))
			}
			return res.StatusCode, o
		}
		if code, o := outcome(p.cfg.OutcomeURL); code != 200 || o["completed"] != false || o["passed"] != false || o["satisfied"] != false {
			t.Fatalf("outcome before anything: %d %v", code, o)
		}
		lu, _ := url.Parse(p.launchURL)
		lq := lu.Query()
		status, tok := fetchToken(t, lq.Get("fetch"))
		if status != 200 || tok["auth-token"] == "" {
			t.Fatalf("fetch: %d %v", status, tok)
		}
		endpoint, actor, reg, actID := lq.Get("endpoint"), json.RawMessage(lq.Get("actor")), lq.Get("registration"), lq.Get("activityId")
		code, raw := auXAPI(t, http.MethodGet, endpoint+"activities/state?"+url.Values{"activityId": {actID}, "agent": {string(actor)},
			"registration": {reg}, "stateId": {"LMS.LaunchData"}}.Encode(), tok["auth-token"], nil)
		var ld struct {
			ContextTemplate struct {
				Extensions map[string]string `json:"extensions"`
			} `json:"contextTemplate"`
			ReturnURL string `json:"returnURL"`
		}
		if err := json.Unmarshal(raw, &ld); code != 200 || err != nil || ld.ReturnURL != r.ContentURL+"/d/closed" {
			t.Fatalf("LMS.LaunchData: %d %s", code, raw)
		}
		if strings.Contains(string(raw), d.Token) {
			t.Error("LMS.LaunchData holds the dispatch token")
		}
		sid := ld.ContextTemplate.Extensions["https://w3id.org/xapi/cmi5/context/extensions/sessionid"]
		stmt := func(verb string, moveOn bool, result map[string]any) map[string]any {
			cats := []any{map[string]any{"id": "https://w3id.org/xapi/cmi5/context/categories/cmi5"}}
			if moveOn {
				cats = append(cats, map[string]any{"id": "https://w3id.org/xapi/cmi5/context/categories/moveon"})
			}
			s := map[string]any{"id": uuid.NewString(), "actor": actor, "verb": map[string]any{"id": verb},
				"object": map[string]any{"id": actID},
				"context": map[string]any{"registration": reg, "contextActivities": map[string]any{"category": cats},
					"extensions": map[string]any{"https://w3id.org/xapi/cmi5/context/extensions/sessionid": sid}}}
			if result != nil {
				s["result"] = result
			}
			return s
		}
		for _, st := range []map[string]any{
			stmt("http://adlnet.gov/expapi/verbs/initialized", false, nil),
			stmt("http://adlnet.gov/expapi/verbs/completed", true, map[string]any{"completion": true}),
			stmt("http://adlnet.gov/expapi/verbs/passed", true, map[string]any{"success": true, "score": map[string]any{"scaled": 0.9}}),
			stmt("http://adlnet.gov/expapi/verbs/terminated", false, map[string]any{"duration": "PT5M"}),
		} {
			if code, raw := auXAPI(t, http.MethodPost, endpoint+"statements", tok["auth-token"], st); code != 200 {
				t.Fatalf("statement %v: %d %s", st["verb"], code, raw)
			}
		}
		if code, o := outcome(p.cfg.OutcomeURL); code != 200 || o["completed"] != true || o["passed"] != true || o["failed"] != false ||
			o["score"] != 0.9 || o["satisfied"] != true {
			t.Fatalf("outcome after completion: %d %v", code, o)
		}
		for _, tc := range []struct {
			name, path string
			status     int
		}{
			{"forged token", strings.Replace(p.cfg.OutcomeURL, d.Token, "forged", 1), http.StatusForbidden},
			{"unknown registration", strings.Replace(p.cfg.OutcomeURL, reg, uuid.NewString(), 1), http.StatusNotFound},
			{"module not launched", strings.TrimSuffix(p.cfg.OutcomeURL, path.Base(p.cfg.OutcomeURL)) + "9-nope", http.StatusNotFound},
		} {
			if code, o := outcome(tc.path); code != tc.status {
				t.Errorf("outcome, %s: %d %v", tc.name, code, o)
			}
		}
		if res, body := get(t, r.ContentURL+"/d/closed"); res.StatusCode != 200 || !strings.Contains(body, "reach-dispatch-closed") ||
			!strings.Contains(res.Header.Get("Content-Security-Policy"), "frame-ancestors *") {
			t.Errorf("closed page: %d %s", res.StatusCode, body)
		}
		// The module is satisfied, so a new play starts with it settled.
		if p2 := playAs(0, student("lms-1", "")); !p2.cfg.Initial.Passed || !p2.cfg.Initial.Satisfied {
			t.Errorf("replay's initial outcome: %+v", p2.cfg.Initial)
		}

		// Limit 2: a second student gets in, a third does not.
		bob := playAs(0, student("lms-2", ""))
		if res, body := play(0, student("lms-3", "")); res.StatusCode != http.StatusForbidden || !strings.Contains(body, "reached its learner limit") {
			t.Fatalf("third student: %d %s", res.StatusCode, body)
		}
		page = learners()
		if page.Total != before+2 || page.Learners[0].Name != "LMS learner" {
			t.Fatalf("learners after the limit: %+v", page)
		}
		bobID := page.Learners[0].ID

		// A deactivated learner is refused.
		if _, err := admin.DeactivateLearner(ctx, slug, jane.ID); err != nil {
			t.Fatal(err)
		}
		if res, body := play(2, student("lms-1", "")); res.StatusCode != http.StatusForbidden || !strings.Contains(body, "turned off") {
			t.Fatalf("deactivated learner: %d %s", res.StatusCode, body)
		}

		// Erasure removes the mapping: the slot is free again and the
		// learner's outcome is gone.
		if _, err := admin.EraseLearner(ctx, slug, bobID); err != nil {
			t.Fatal(err)
		}
		if code, _ := outcome(bob.cfg.OutcomeURL); code != http.StatusNotFound {
			t.Errorf("erased learner's outcome: %d", code)
		}
		playAs(0, student("lms-3", ""))
		if n := learners().Total; n != before+3 {
			t.Fatalf("learners after erasure and a new student: %d, want %d", n, before+3)
		}

		// Revoked: play and outcome are refused.
		if _, err := admin.RevokeDispatch(ctx, slug, d.ID); err != nil {
			t.Fatal(err)
		}
		if res, body := play(0, student("lms-3", "")); res.StatusCode != http.StatusForbidden || !strings.Contains(body, "withdrawn") {
			t.Fatalf("play after revocation: %d %s", res.StatusCode, body)
		}
		if code, _ := outcome(p.cfg.OutcomeURL); code != http.StatusForbidden {
			t.Errorf("outcome after revocation: %d", code)
		}
		if _, err := admin.ExportSCORM12(ctx, slug, d.ID); err == nil {
			t.Fatal("a revoked dispatch exported")
		} else {
			wantStatus(t, err, http.StatusConflict)
		}
	})
}
