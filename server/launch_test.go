package server_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/reach-london/reach/client"
	"github.com/reach-london/reach/content/launch"
	"github.com/reach-london/reach/internal/reachtest"
)

// browser is a cookie-keeping HTTP client that does not follow redirects,
// so tests see each answer of the portal.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (b *browser) do(method, path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res, string(out)
}

// signUp creates a learner account through the portal's sign-up form and
// signs in with it: sign-up itself signs no one in, so that it answers
// the same whether or not the address already had an account.
func (b *browser) signUp(slug string, form url.Values) {
	b.t.Helper()
	res, body := b.do(http.MethodPost, "/b/"+slug+"/signup", form)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/b/"+slug+"/signin?signup=done" {
		b.t.Fatalf("sign-up: %d %s %s", res.StatusCode, res.Header.Get("Location"), body)
	}
	res, body = b.do(http.MethodPost, "/b/"+slug+"/signin", url.Values{"email": form["email"], "password": form["password"]})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/b/"+slug+"/dashboard" {
		b.t.Fatalf("sign-in after sign-up: %d %s %s", res.StatusCode, res.Header.Get("Location"), body)
	}
}

// json GETs path with the browser's cookies and decodes the answer.
func (b *browser) json(path string, out any) error {
	res, body := b.do(http.MethodGet, path, nil)
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", path, res.StatusCode, body)
	}
	return json.Unmarshal([]byte(body), out)
}

func (b *browser) csrf() string {
	return reachtest.CSRFToken(b.c.Jar, b.base)
}

// auXAPI sends an xAPI request with the AU's Basic auth-token.
func auXAPI(t *testing.T, method, rawURL, token string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, rawURL, rd)
	req.Header.Set("Authorization", "Basic "+token)
	req.Header.Set("X-Experience-API-Version", "1.0.3")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, out
}

var moduleRE = regexp.MustCompile(`/modules/([^/"]+)/launch`)

var launchURLRE = regexp.MustCompile(`href="([^"]+)" data-launch-url`)

type launchParams struct {
	endpoint, fetch, registration, activityID string
	actor                                     json.RawMessage
}

func launchModule(t *testing.T, b *browser, slug, module string) launchParams {
	t.Helper()
	res, body := b.do(http.MethodPost, "/b/"+slug+"/modules/"+module+"/launch", url.Values{"_csrf": {b.csrf()}})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("launch: %d %s", res.StatusCode, body)
	}
	m := launchURLRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("launch page has no launch link:\n%s", body)
	}
	u, err := url.Parse(html.UnescapeString(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	return launchParams{endpoint: q.Get("endpoint"), fetch: q.Get("fetch"), registration: q.Get("registration"),
		activityID: q.Get("activityId"), actor: json.RawMessage(q.Get("actor"))}
}

func fetchToken(t *testing.T, fetch string) (int, map[string]string) {
	t.Helper()
	res, err := http.Post(fetch, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]string
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

func TestPortalAndCMI5Launch(t *testing.T) {
	forEachBackend(t, func(t *testing.T, r *reachtest.Instance) {
		ctx := context.Background()
		b := newBrowser(t, r.URL)
		const slug = "london"

		// Landing and sign-up with field errors, then a good sign-up.
		if res, body := b.do(http.MethodGet, "/b/"+slug+"/", nil); res.StatusCode != 200 || !strings.Contains(body, "The 4 modules") {
			t.Fatalf("landing: %d %s", res.StatusCode, body)
		}
		res, body := b.do(http.MethodPost, "/b/"+slug+"/signup", url.Values{"name": {""}, "email": {"nope"}, "password": {"short"}})
		if res.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("bad sign-up: got %d", res.StatusCode)
		}
		for _, want := range []string{`href="#f-name"`, `href="#f-email"`, `href="#f-password"`, `href="#f-profession"`, `aria-invalid="true"`} {
			if !strings.Contains(body, want) {
				t.Errorf("bad sign-up page lacks %s", want)
			}
		}
		b.signUp(slug, url.Values{"name": {"Ada Learner"}, "email": {"ada@example.org"},
			"password": {"correct horse battery"}, "profession": {"linkworker"}})
		res, body = b.do(http.MethodGet, "/b/"+slug+"/dashboard", nil)
		if res.StatusCode != 200 || strings.Count(body, "not started") != 4 {
			t.Fatalf("dashboard: %d\n%s", res.StatusCode, body)
		}
		var modules []string
		for _, m := range moduleRE.FindAllStringSubmatch(body, -1) {
			modules = append(modules, m[1])
		}
		if len(modules) != 4 {
			t.Fatalf("dashboard launch buttons: %v", modules)
		}
		if res, _ := b.do(http.MethodGet, "/b/"+slug+"/certificate", nil); res.StatusCode != http.StatusForbidden {
			t.Errorf("certificate before finishing: got %d, want 403", res.StatusCode)
		}
		// A POST without the CSRF token is refused.
		if res, _ := b.do(http.MethodPost, "/b/"+slug+"/modules/"+modules[0]+"/launch", url.Values{}); res.StatusCode != http.StatusForbidden {
			t.Errorf("launch without CSRF: got %d, want 403", res.StatusCode)
		}

		lp := launchModule(t, b, slug, modules[0])
		if lp.endpoint != r.URL+"/xapi/" || lp.registration == "" || lp.activityID == "" || lp.fetch == "" {
			t.Fatalf("launch parameters: %+v", lp)
		}
		// cmi5 §8.1: the activityId is the LMS's own, not the publisher's.
		if !strings.HasPrefix(lp.activityID, r.URL+"/xapi/activities/au/") {
			t.Errorf("activityId %s is not an LMS-generated id", lp.activityID)
		}
		status, tok := fetchToken(t, lp.fetch)
		if status != 200 || tok["auth-token"] == "" {
			t.Fatalf("fetch: %d %v", status, tok)
		}
		status, again := fetchToken(t, lp.fetch)
		if status != http.StatusOK || again["error-code"] != "1" || again["auth-token"] != "" {
			t.Errorf("second fetch: got %d %v, want 200 with error-code 1", status, again)
		}
		token := tok["auth-token"]

		// LMS.LaunchData and the role profile.
		stateURL := lp.endpoint + "activities/state?" + url.Values{"activityId": {lp.activityID}, "agent": {string(lp.actor)},
			"registration": {lp.registration}, "stateId": {"LMS.LaunchData"}}.Encode()
		code, raw := auXAPI(t, http.MethodGet, stateURL, token, nil)
		var ld struct {
			ContextTemplate struct {
				Extensions map[string]string `json:"extensions"`
			} `json:"contextTemplate"`
			LaunchMode, MoveOn, ReturnURL string
			MasteryScore                  *float64 `json:"masteryScore"`
		}
		if err := json.Unmarshal(raw, &ld); code != 200 || err != nil {
			t.Fatalf("LMS.LaunchData: %d %s", code, raw)
		}
		if !strings.Contains(string(raw), `"grouping":[{"id":"https://reach.london/course/`) {
			t.Errorf("LMS.LaunchData has no publisher id in grouping: %s", raw)
		}
		sid := ld.ContextTemplate.Extensions["https://w3id.org/xapi/cmi5/context/extensions/sessionid"]
		if sid == "" || ld.LaunchMode != "Normal" || ld.MoveOn == "" || !strings.HasPrefix(ld.ReturnURL, r.URL+"/b/"+slug+"/dashboard") {
			t.Fatalf("LMS.LaunchData: %s", raw)
		}
		code, raw = auXAPI(t, http.MethodGet, lp.endpoint+"agents/profile?"+url.Values{"agent": {string(lp.actor)},
			"profileId": {"https://reach.london/xapi/profiles/role"}}.Encode(), token, nil)
		if code != 200 || !strings.Contains(string(raw), `"linkworker"`) {
			t.Errorf("role profile: %d %s", code, raw)
		}

		stmt := func(verb string, cats []string, result map[string]any) map[string]any {
			ca := []any{}
			for _, c := range cats {
				ca = append(ca, map[string]any{"id": c})
			}
			s := map[string]any{"id": uuid.NewString(), "actor": lp.actor, "verb": map[string]any{"id": verb},
				"object": map[string]any{"id": lp.activityID},
				"context": map[string]any{"registration": lp.registration, "contextActivities": map[string]any{"category": ca},
					"extensions": map[string]any{"https://w3id.org/xapi/cmi5/context/extensions/sessionid": sid}}}
			if result != nil {
				s["result"] = result
			}
			return s
		}
		const (
			cmi5   = "https://w3id.org/xapi/cmi5/context/categories/cmi5"
			moveOn = "https://w3id.org/xapi/cmi5/context/categories/moveon"
			vInit  = "http://adlnet.gov/expapi/verbs/initialized"
			vComp  = "http://adlnet.gov/expapi/verbs/completed"
			vPass  = "http://adlnet.gov/expapi/verbs/passed"
			vFail  = "http://adlnet.gov/expapi/verbs/failed"
			vTerm  = "http://adlnet.gov/expapi/verbs/terminated"
			vExp   = "http://adlnet.gov/expapi/verbs/experienced"
			vSat   = "https://w3id.org/xapi/adl/verbs/satisfied"
			vVoid  = "http://adlnet.gov/expapi/verbs/voided"
		)
		mastery := 0.0
		if ld.MasteryScore != nil {
			mastery = *ld.MasteryScore
		}
		noSession := stmt(vExp, nil, nil)
		noSession["context"].(map[string]any)["extensions"] = map[string]any{}
		other := stmt(vExp, nil, nil)
		other["actor"] = map[string]any{"mbox": "mailto:someone@example.org"}
		steps := []struct {
			name string
			body any
			want int
		}{
			{"allowed before initialized", stmt(vExp, nil, nil), 403},
			{"terminated before initialized", stmt(vTerm, []string{cmi5}, nil), 403},
			{"initialized", stmt(vInit, []string{cmi5}, nil), 200},
			{"initialized twice", stmt(vInit, []string{cmi5}, nil), 403},
			{"no session id", noSession, 403},
			{"another learner", other, 403},
			{"voiding", map[string]any{"actor": lp.actor, "verb": map[string]any{"id": vVoid},
				"object": map[string]any{"objectType": "StatementRef", "id": uuid.NewString()}}, 403},
			{"LMS verb from the AU", stmt(vSat, []string{cmi5}, nil), 403},
			{"experienced", stmt(vExp, nil, nil), 200},
			{"completed without moveon", stmt(vComp, []string{cmi5}, map[string]any{"completion": true}), 403},
			{"moveon on allowed statement", stmt(vExp, []string{moveOn}, nil), 403},
			{"completed", stmt(vComp, []string{cmi5, moveOn}, map[string]any{"completion": true}), 200},
			{"completed twice", stmt(vComp, []string{cmi5, moveOn}, map[string]any{"completion": true}), 403},
			{"passed below mastery", stmt(vPass, []string{cmi5, moveOn}, map[string]any{"success": true,
				"score": map[string]any{"scaled": mastery - 0.1}}), 403},
			{"passed", stmt(vPass, []string{cmi5, moveOn}, map[string]any{"success": true, "score": map[string]any{"scaled": 0.9}}), 200},
			{"failed after passed", stmt(vFail, []string{cmi5, moveOn}, map[string]any{"success": false,
				"score": map[string]any{"scaled": 0.1}}), 403},
			{"terminated", stmt(vTerm, []string{cmi5}, map[string]any{"duration": "PT10M"}), 200},
			{"after terminated (token revoked)", stmt(vExp, nil, nil), 401},
		}
		for _, st := range steps {
			if code, raw := auXAPI(t, http.MethodPost, lp.endpoint+"statements", token, st.body); code != st.want {
				t.Errorf("%s: got %d %s, want %d", st.name, code, raw, st.want)
			}
		}

		// The LMS's own statements are in the LRS.
		admin := adminClient(t, r)
		cred, err := admin.CreateCredential(ctx, slug, "test reader", "all/read")
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, r.URL+"/xapi/statements?registration="+lp.registration+"&ascending=true&limit=100", nil)
		req.SetBasicAuth(cred.Key, cred.Secret)
		req.Header.Set("X-Experience-API-Version", "1.0.3")
		sres, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var result struct {
			Statements []struct {
				Verb      struct{ ID string } `json:"verb"`
				Object    struct{ ID string } `json:"object"`
				Authority json.RawMessage     `json:"authority"`
			} `json:"statements"`
		}
		_ = json.NewDecoder(sres.Body).Decode(&result)
		sres.Body.Close()
		var verbs []string
		for _, s := range result.Statements {
			verbs = append(verbs, s.Verb.ID[strings.LastIndex(s.Verb.ID, "/")+1:])
		}
		if got := strings.Join(verbs, ","); got != "launched,initialized,experienced,completed,passed,satisfied,terminated" {
			t.Errorf("statements in the registration: %s", got)
		}

		_, body = b.do(http.MethodGet, "/b/"+slug+"/dashboard", nil)
		if !strings.Contains(body, "satisfied") || !strings.Contains(body, "10 min") {
			t.Errorf("dashboard after module 1 lacks satisfied / 10 min:\n%s", body)
		}

		// Review mode: LMS.LaunchData says so and no judgement is accepted.
		res, body = b.do(http.MethodPost, "/b/"+slug+"/modules/"+modules[0]+"/launch", url.Values{"_csrf": {b.csrf()}, "mode": {"Review"}})
		if m := launchURLRE.FindStringSubmatch(body); res.StatusCode != 200 || m == nil {
			t.Fatalf("review launch: %d %s", res.StatusCode, body)
		} else {
			u, _ := url.Parse(html.UnescapeString(m[1]))
			_, rtok := fetchToken(t, u.Query().Get("fetch"))
			code, raw := auXAPI(t, http.MethodGet, stateURL, rtok["auth-token"], nil)
			if code != 200 || !strings.Contains(string(raw), `"launchMode":"Review"`) {
				t.Errorf("review LMS.LaunchData: %d %s", code, raw)
			}
			var rld struct {
				ContextTemplate struct {
					Extensions map[string]string `json:"extensions"`
				} `json:"contextTemplate"`
			}
			_ = json.Unmarshal(raw, &rld)
			sid = rld.ContextTemplate.Extensions["https://w3id.org/xapi/cmi5/context/extensions/sessionid"]
			for _, st := range []struct {
				body any
				want int
			}{{stmt(vInit, []string{cmi5}, nil), 200}, {stmt(vFail, []string{cmi5, moveOn}, map[string]any{"success": false,
				"score": map[string]any{"scaled": 0.1}}), 403}, {stmt(vTerm, []string{cmi5}, nil), 200}} {
				if code, raw := auXAPI(t, http.MethodPost, lp.endpoint+"statements", rtok["auth-token"], st.body); code != st.want {
					t.Errorf("review session: got %d %s, want %d", code, raw, st.want)
				}
			}
		}

		// A second launch of module 2, then a relaunch: the first session is abandoned.
		lp2 := launchModule(t, b, slug, modules[1])
		_, tok2 := fetchToken(t, lp2.fetch)
		if lp2.registration != lp.registration {
			t.Errorf("module 2 got registration %s, want the course registration %s", lp2.registration, lp.registration)
		}
		launchModule(t, b, slug, modules[1])
		code, raw = auXAPI(t, http.MethodGet, lp2.endpoint+"statements?limit=1", tok2["auth-token"], nil)
		if code != http.StatusUnauthorized {
			t.Errorf("token of an abandoned session still works: %d %s", code, raw)
		}

		// Waive modules 2 to 4; then the course is satisfied and the certificate is ready.
		me, _ := b.do(http.MethodGet, "/api/v1/me/progress", nil)
		_ = me
		var learnerID string
		if err := json.Unmarshal(lp.actor, &struct {
			Account *struct{ Name *string } `json:"account"`
		}{Account: &struct{ Name *string }{Name: &learnerID}}); err != nil || learnerID == "" {
			t.Fatalf("actor %s: %v", lp.actor, err)
		}
		regs, err := admin.Registrations(ctx, slug, learnerID)
		if err != nil || len(regs) != 1 {
			t.Fatalf("registrations: %v %v", regs, err)
		}
		if _, err := admin.Waive(ctx, slug, learnerID, lp.registration, lp.activityID, "Because"); err == nil {
			t.Error("waive with an unknown reason was accepted")
		}
		prog := func() client.Progress {
			c := client.New(r.URL)
			c.Token = reachtest.SessionCookie(b.c.Jar, r.URL)
			p, err := c.MyProgress(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		for _, m := range prog().Modules[1:] {
			if _, err := admin.Waive(ctx, slug, learnerID, lp.registration, m.Module, "Administrative"); err != nil {
				t.Fatalf("waive %s: %v", m.Module, err)
			}
		}
		if p := prog(); !p.AllSatisfied || p.Done != 4 {
			t.Errorf("progress after waiving: %+v", p)
		}
		res, body = b.do(http.MethodGet, "/b/"+slug+"/certificate", nil)
		if res.StatusCode != 200 || !strings.Contains(body, "Ada Learner") {
			t.Errorf("certificate: %d %s", res.StatusCode, body)
		}
		regs, _ = admin.Registrations(ctx, slug, learnerID)
		if regs[0].SatisfiedAt == nil {
			t.Errorf("registration not satisfied after every module: %+v", regs[0])
		}

		// The LMS's statements carry what cmi5 asks of them.
		req, _ = http.NewRequest(http.MethodGet, r.URL+"/xapi/statements?registration="+lp.registration+"&limit=200", nil)
		req.SetBasicAuth(cred.Key, cred.Secret)
		req.Header.Set("X-Experience-API-Version", "1.0.3")
		sres, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var all struct {
			Statements []struct {
				Verb   struct{ ID string } `json:"verb"`
				Object struct {
					ID         string `json:"id"`
					Definition struct {
						Type string `json:"type"`
					} `json:"definition"`
				} `json:"object"`
				Result  json.RawMessage `json:"result"`
				Context struct {
					ContextActivities struct {
						Category []struct{ ID string } `json:"category"`
						Grouping []struct{ ID string } `json:"grouping"`
					} `json:"contextActivities"`
					Extensions map[string]any `json:"extensions"`
				} `json:"context"`
			} `json:"statements"`
		}
		_ = json.NewDecoder(sres.Body).Decode(&all)
		sres.Body.Close()
		seen := map[string]bool{}
		for _, s := range all.Statements {
			cats := fmt.Sprint(s.Context.ContextActivities.Category)
			ext := s.Context.Extensions
			switch verb := s.Verb.ID[strings.LastIndex(s.Verb.ID, "/")+1:]; verb {
			case "launched":
				seen[verb] = true
				for _, k := range []string{"launchmode", "launchurl", "moveon", "masteryscore", "sessionid"} {
					if ext["https://w3id.org/xapi/cmi5/context/extensions/"+k] == nil {
						t.Errorf("launched lacks the %s extension", k)
					}
				}
				if len(s.Context.ContextActivities.Grouping) == 0 || !strings.Contains(cats, cmi5) {
					t.Errorf("launched lacks the publisher grouping or the cmi5 category: %+v", s.Context)
				}
			case "waived":
				seen[verb] = true
				if !strings.Contains(cats, moveOn) || !strings.Contains(string(s.Result), `"Administrative"`) || !strings.Contains(string(s.Result), `"success":true`) {
					t.Errorf("waived: categories %s, result %s", cats, s.Result)
				}
			case "satisfied":
				if s.Object.Definition.Type == "https://w3id.org/xapi/cmi5/activitytype/course" {
					seen["course satisfied"] = true
					if s.Object.ID == regs[0].CourseID || len(s.Context.ContextActivities.Grouping) == 0 ||
						s.Context.ContextActivities.Grouping[0].ID != regs[0].CourseID {
						t.Errorf("course satisfied: object %s, grouping %+v; want an LMS id and the publisher id in grouping",
							s.Object.ID, s.Context.ContextActivities.Grouping)
					}
				}
			}
		}
		for _, want := range []string{"launched", "waived", "course satisfied"} {
			if !seen[want] {
				t.Errorf("no %s statement in the registration", want)
			}
		}
	})
}

// tincanZip is a one-activity xAPI package.
func tincanZip(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	files := map[string]string{
		"tincan.xml": `<?xml version="1.0" encoding="utf-8"?>
<tincan xmlns="http://projecttincan.com/tincan.xsd"><activities>
<activity id="https://example.org/tincan/course" type="http://adlnet.gov/expapi/activities/course"><name>Tin Can course</name></activity>
<activity id="https://example.org/tincan/lesson" type="http://adlnet.gov/expapi/activities/lesson"><name>Tin Can lesson</name><launch lang="en-GB">index.html?lang=en</launch></activity>
</activities></tincan>`,
		"index.html": `<!doctype html><html lang="en"><title>Lesson</title><p>Lesson</p></html>`,
	}
	for name, body := range files {
		w, _ := zw.Create(name)
		w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestTinCanLaunchAndSweep: a module replaced by an xAPI (tincan.xml)
// package launches with endpoint, auth, actor, registration and
// activity_id; its completed statement satisfies the module; an idle
// session is abandoned by the sweeper, which revokes its token.
func TestTinCanLaunchAndSweep(t *testing.T) {
	forEachBackend(t, func(t *testing.T, r *reachtest.Instance) {
		ctx := context.Background()
		const slug = "london"
		admin := adminClient(t, r)
		b := newBrowser(t, r.URL)
		b.signUp(slug, url.Values{"name": {"Tin Learner"}, "email": {"tin@example.org"},
			"password": {"correct horse battery"}, "profession": {"artist"}})
		_, body := b.do(http.MethodGet, "/b/"+slug+"/dashboard", nil)
		var modules []string
		for _, m := range moduleRE.FindAllStringSubmatch(body, -1) {
			modules = append(modules, m[1])
		}
		_, v, err := admin.UploadModule(ctx, slug, modules[2], bytes.NewReader(tincanZip(t)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := admin.Publish(ctx, slug, v.Number); err != nil {
			t.Fatal(err)
		}

		res, body := b.do(http.MethodPost, "/b/"+slug+"/modules/"+modules[2]+"/launch", url.Values{"_csrf": {b.csrf()}})
		m := launchURLRE.FindStringSubmatch(body)
		if res.StatusCode != 200 || m == nil {
			t.Fatalf("launch: %d %s", res.StatusCode, body)
		}
		u, _ := url.Parse(html.UnescapeString(m[1]))
		q := u.Query()
		if q.Get("lang") != "en" || q.Get("endpoint") != r.URL+"/xapi/" || q.Get("activity_id") != "https://example.org/tincan/lesson" ||
			q.Get("registration") == "" || q.Get("actor") == "" || !strings.HasPrefix(q.Get("auth"), "Basic ") || q.Get("fetch") != "" {
			t.Fatalf("tincan launch URL %s", u)
		}
		stmt := map[string]any{"actor": json.RawMessage(q.Get("actor")), "verb": map[string]any{"id": "http://adlnet.gov/expapi/verbs/completed"},
			"object": map[string]any{"id": q.Get("activity_id")}, "context": map[string]any{"registration": q.Get("registration")}}
		auth := strings.TrimPrefix(q.Get("auth"), "Basic ")
		if code, raw := auXAPI(t, http.MethodPost, r.URL+"/xapi/statements", auth, stmt); code != 200 {
			t.Fatalf("tincan statement: %d %s", code, raw)
		}
		c := client.New(r.URL)
		c.HTTP.Jar = b.c.Jar
		p, err := c.MyProgress(ctx)
		if err != nil || p.Modules[2].Status != "satisfied" {
			t.Errorf("progress after the tincan module: %+v %v", p, err)
		}

		// Launch module 1 and leave it idle: the sweeper abandons it.
		lp := launchModule(t, b, slug, modules[0])
		_, tok := fetchToken(t, lp.fetch)
		n, err := r.App.Launch().SweepIdleBefore(ctx, time.Now().Add(time.Minute))
		if err != nil || n < 1 {
			t.Fatalf("sweep: %d %v", n, err)
		}
		if code, _ := auXAPI(t, http.MethodGet, lp.endpoint+"statements?limit=1", tok["auth-token"], nil); code != http.StatusUnauthorized {
			t.Errorf("token of a swept session answers %d, want 401", code)
		}
		cred, err := admin.CreateCredential(ctx, slug, "reader", "all/read")
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, r.URL+"/xapi/statements?verb="+url.QueryEscape("https://w3id.org/xapi/adl/verbs/abandoned")+
			"&registration="+lp.registration, nil)
		req.SetBasicAuth(cred.Key, cred.Secret)
		req.Header.Set("X-Experience-API-Version", "1.0.3")
		sres, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(sres.Body)
		sres.Body.Close()
		if !strings.Contains(string(raw), "adl/verbs/abandoned") || !strings.Contains(string(raw), `"duration"`) {
			t.Errorf("no abandoned statement with a duration: %s", raw)
		}

		// Another runtime (the SCORM tracker) reports an outcome for an AU.
		bor, err := r.App.Borough(ctx, slug)
		if err != nil {
			t.Fatal(err)
		}
		score := 0.9
		if err := r.App.Launch().RecordOutcome(ctx, bor.ID, lp.registration, "https://example.org/never-launched",
			launch.Outcome{Completed: true}); err == nil {
			t.Error("an outcome for an AU never launched was accepted")
		}
		var lagent struct{ Account struct{ Name string } }
		_ = json.Unmarshal(lp.actor, &lagent)
		lregs, err := admin.Registrations(ctx, slug, lagent.Account.Name)
		if err != nil {
			t.Fatal(err)
		}
		publisherAU := ""
		for _, rg := range lregs {
			for _, a := range rg.AUs {
				if a.Module == modules[0] {
					publisherAU = a.AUID
				}
			}
		}
		if err := r.App.Launch().RecordOutcome(ctx, bor.ID, lp.registration, publisherAU,
			launch.Outcome{Completed: true, Passed: true, Score: &score, Seconds: 60}); err != nil {
			t.Fatal(err)
		}
		p, err = c.MyProgress(ctx)
		if err != nil || p.Modules[0].Status != "satisfied" || p.Modules[0].Score == nil || *p.Modules[0].Score != 0.9 {
			t.Errorf("progress after an outcome: %+v %v", p.Modules[0], err)
		}

		// Erasing the learner removes their registrations too.
		var agent struct{ Account struct{ Name string } }
		_ = json.Unmarshal(lp.actor, &agent)
		if regs, err := admin.Registrations(ctx, slug, agent.Account.Name); err != nil || len(regs) == 0 {
			t.Fatalf("registrations before erasure: %v %v", regs, err)
		}
		if _, err := admin.EraseLearner(ctx, slug, agent.Account.Name); err != nil {
			t.Fatal(err)
		}
		if regs, err := admin.Registrations(ctx, slug, agent.Account.Name); err != nil || len(regs) != 0 {
			t.Errorf("registrations after erasure: %+v %v", regs, err)
		}
	})
}

// TestFetchOnceAcrossReplicas: two replicas share PostgreSQL and Redis; a
// fetch URL redeemed on one answers the cmi5 error on the other.
func TestFetchOnceAcrossReplicas(t *testing.T) {
	prod := reachtest.Backends()[1]
	cfg1 := reachtest.Config(t, prod)
	r1 := reachtest.StartWith(t, cfg1)
	cfg2 := reachtest.Config(t, prod)
	cfg2.DatabaseURL, cfg2.RedisURL, cfg2.RedisPrefix = cfg1.DatabaseURL, cfg1.RedisURL, cfg1.RedisPrefix
	cfg2.S3Endpoint, cfg2.S3AccessKey, cfg2.S3SecretKey, cfg2.S3Bucket = cfg1.S3Endpoint, cfg1.S3AccessKey, cfg1.S3SecretKey, cfg1.S3Bucket
	cfg2.PublicURL, cfg2.ContentURL = cfg1.PublicURL, cfg1.ContentURL
	cfg2.SecretsKey = cfg1.SecretsKey // replicas share one key, as they share the database
	r2 := reachtest.StartWith(t, cfg2)

	b := newBrowser(t, r1.URL)
	b.signUp("london", url.Values{"name": {"Rep Learner"}, "email": {"rep@example.org"},
		"password": {"correct horse battery"}, "profession": {"other"}})
	_, body := b.do(http.MethodGet, "/b/london/dashboard", nil)
	lp := launchModule(t, b, "london", moduleRE.FindStringSubmatch(body)[1])
	onR2 := strings.Replace(lp.fetch, r1.URL, "http://"+r2.Server.AppAddr(), 1)
	if onR2 == lp.fetch {
		t.Fatalf("fetch URL %s is not on replica 1", lp.fetch)
	}
	if status, tok := fetchToken(t, onR2); status != 200 || tok["auth-token"] == "" {
		t.Fatalf("fetch on replica 2: %d %v", status, tok)
	}
	if status, again := fetchToken(t, lp.fetch); status != http.StatusOK || again["error-code"] != "1" || again["auth-token"] != "" {
		t.Errorf("fetch again on replica 1: got %d %v, want 200 with error-code 1", status, again)
	}
}

// TestConcurrentPassed: two passed statements of one session sent at the
// same moment; the session lock lets exactly one through.
func TestConcurrentPassed(t *testing.T) {
	forEachBackend(t, func(t *testing.T, r *reachtest.Instance) {
		b := newBrowser(t, r.URL)
		b.signUp("london", url.Values{"name": {"Con Current"}, "email": {"con@example.org"},
			"password": {"correct horse battery"}, "profession": {"gp"}})
		_, body := b.do(http.MethodGet, "/b/london/dashboard", nil)
		lp := launchModule(t, b, "london", moduleRE.FindStringSubmatch(body)[1])
		_, tok := fetchToken(t, lp.fetch)
		code, raw := auXAPI(t, http.MethodGet, lp.endpoint+"activities/state?"+url.Values{"activityId": {lp.activityID},
			"agent": {string(lp.actor)}, "registration": {lp.registration}, "stateId": {"LMS.LaunchData"}}.Encode(), tok["auth-token"], nil)
		var ld struct {
			ContextTemplate struct{ Extensions map[string]string } `json:"contextTemplate"`
		}
		if err := json.Unmarshal(raw, &ld); code != 200 || err != nil {
			t.Fatalf("LMS.LaunchData: %d %s", code, raw)
		}
		sid := ld.ContextTemplate.Extensions["https://w3id.org/xapi/cmi5/context/extensions/sessionid"]
		mk := func(verb string, cats []string, result map[string]any) map[string]any {
			ca := []any{}
			for _, c := range cats {
				ca = append(ca, map[string]any{"id": c})
			}
			st := map[string]any{"id": uuid.NewString(), "actor": lp.actor, "verb": map[string]any{"id": verb},
				"object": map[string]any{"id": lp.activityID},
				"context": map[string]any{"registration": lp.registration, "contextActivities": map[string]any{"category": ca},
					"extensions": map[string]any{"https://w3id.org/xapi/cmi5/context/extensions/sessionid": sid}}}
			if result != nil {
				st["result"] = result
			}
			return st
		}
		cats := []string{"https://w3id.org/xapi/cmi5/context/categories/cmi5", "https://w3id.org/xapi/cmi5/context/categories/moveon"}
		if code, raw := auXAPI(t, http.MethodPost, lp.endpoint+"statements", tok["auth-token"],
			mk("http://adlnet.gov/expapi/verbs/initialized", cats[:1], nil)); code != 200 {
			t.Fatalf("initialized: %d %s", code, raw)
		}
		codes := make(chan int, 4)
		for range 4 {
			go func() {
				code, _ := auXAPI(t, http.MethodPost, lp.endpoint+"statements", tok["auth-token"],
					mk("http://adlnet.gov/expapi/verbs/passed", cats, map[string]any{"success": true, "score": map[string]any{"scaled": 1}}))
				codes <- code
			}()
		}
		got := map[int]int{}
		for range 4 {
			got[<-codes]++
		}
		if got[200] != 1 || got[403] != 3 {
			t.Errorf("four concurrent passed statements answered %v, want one 200 and three 403", got)
		}
	})
}
