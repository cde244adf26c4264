package xapidocs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/db"
	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/internal/testenv"
	"github.com/reach-london/reach/lrs"
	"github.com/reach-london/reach/lrs/sqlstore"
	"github.com/reach-london/reach/server/xapi"
	"github.com/reach-london/reach/server/xapidocs"
)

// newServer returns an Echo with the document routes on /xapi behind the
// real xAPI middleware, over a real database. Credentials come from a test
// header (see headerAuth); errors are rendered by kind the way the
// server's one handler does.
func newServer(t *testing.T, dbURL string) *echo.Echo {
	t.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, dbURL, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(ctx, sqlstore.DocumentMigrations); err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			_ = c.JSON(he.Code, map[string]any{"message": he.Message})
			return
		}
		status := map[errs.Kind]int{
			errs.Invalid: 400, errs.Unauthorized: 401, errs.Forbidden: 403, errs.NotFound: 404,
			errs.Conflict: 409, errs.PreconditionFailed: 412, errs.TooLarge: 413,
		}[errs.KindOf(err)]
		if status == 0 {
			t.Errorf("unexpected error: %v", err)
			status = 500
		}
		_ = c.JSON(status, map[string]string{"message": errs.MessageOf(err)})
	}
	g := e.Group("/xapi")
	xapi.New(xapi.Deps{Auth: headerAuth{}}).Register(g)
	store := sqlstore.NewDocumentStore(d)
	xapidocs.Register(g, lrs.NewDocumentService(store), lrs.NewAbout("test"))
	return e
}

// headerAuth authenticates from a test header: "borough scope,scope" for
// a credential or "launch borough agent-json" for a launch token.
type headerAuth struct{}

func (headerAuth) AuthenticateXAPI(r *http.Request) (auth.Principal, error) {
	h := r.Header.Get("X-Test-Principal")
	if h == "" {
		return auth.Principal{}, errs.E(errs.Unauthorized, "no test principal")
	}
	if rest, ok := strings.CutPrefix(h, "launch "); ok {
		borough, actor, _ := strings.Cut(rest, " ")
		return auth.Principal{Kind: auth.KindLaunch, BoroughID: borough, Actor: json.RawMessage(actor),
			Scopes: []auth.Scope{auth.ScopeState, auth.ScopeProfile}}, nil
	}
	borough, scopes, _ := strings.Cut(h, " ")
	p := auth.Principal{Kind: auth.KindCredential, BoroughID: borough}
	for _, s := range strings.Split(scopes, ",") {
		p.Scopes = append(p.Scopes, auth.Scope(s))
	}
	return p, nil
}

const (
	ada      = `{"objectType":"Agent","mbox":"mailto:ada@example.org"}`
	bob      = `{"mbox":"mailto:bob@example.org"}`
	activity = "http://example.org/course/1"
)

func q(kv ...string) string {
	v := url.Values{}
	for i := 0; i < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return "?" + v.Encode()
}

type step struct {
	name       string
	method     string
	path       string
	who        string // X-Test-Principal; "" for none
	version    string // defaults to 1.0.3; "-" sends none
	headers    map[string]string
	body       string
	wantStatus int
	wantBody   string // exact body, when set
	wantHas    string // substring of the body, when set
	check      func(t *testing.T, rec *httptest.ResponseRecorder)
}

func run(t *testing.T, e *echo.Echo, steps []step) {
	t.Helper()
	for _, st := range steps {
		req := httptest.NewRequest(st.method, st.path, strings.NewReader(st.body))
		if st.who != "" {
			req.Header.Set("X-Test-Principal", st.who)
		}
		v := st.version
		if v == "" {
			v = "1.0.3"
		}
		if v != "-" {
			req.Header.Set("X-Experience-API-Version", v)
		}
		for k, val := range st.headers {
			req.Header.Set(k, val)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code != st.wantStatus {
			t.Fatalf("%s: %s %s: status %d (%s), want %d", st.name, st.method, st.path, rec.Code, rec.Body, st.wantStatus)
		}
		if st.wantBody != "" && rec.Body.String() != st.wantBody {
			t.Errorf("%s: body %q, want %q", st.name, rec.Body, st.wantBody)
		}
		if st.wantHas != "" && !strings.Contains(rec.Body.String(), st.wantHas) {
			t.Errorf("%s: body %q, want it to contain %q", st.name, rec.Body, st.wantHas)
		}
		if st.check != nil {
			st.check(t, rec)
		}
	}
}

var etagRE = regexp.MustCompile(`^"[0-9a-f]{40}"$`)

func TestDocumentResources(t *testing.T) {
	for dialect, dbURL := range testenv.DatabaseURLs(t) {
		t.Run(dialect, func(t *testing.T) {
			e := newServer(t, dbURL)
			state := "/xapi/activities/state" + q("activityId", activity, "agent", ada, "stateId", "bookmark")
			states := "/xapi/activities/state" + q("activityId", activity, "agent", ada)
			aprof := "/xapi/activities/profile" + q("activityId", activity, "profileId", "settings")
			gprof := "/xapi/agents/profile" + q("agent", ada, "profileId", "prefs")
			json := map[string]string{"Content-Type": "application/json"}
			binary := string([]byte{0x89, 'P', 'N', 'G', 0, 0xff, '\r', '\n'})
			run(t, e, []step{
				{name: "about needs no credentials", method: "GET", path: "/xapi/about", wantStatus: 200,
					wantBody: `{"version":["1.0.0","1.0.1","1.0.2","1.0.3","2.0.0"],"extensions":{"https://reach.london/xapi/extensions/lrs":{"name":"Reach","version":"test"}}}`},
				{name: "no credentials", method: "GET", path: state, wantStatus: 401},
				{name: "wrong scope", method: "PUT", path: state, who: "b1 statements/write", body: `{}`, headers: json, wantStatus: 403, wantHas: "lack the"},
				{name: "profile scope is not state", method: "GET", path: state, who: "b1 profile", wantStatus: 403},
				{name: "all/read may read", method: "GET", path: state, who: "b1 all/read", wantStatus: 404},
				{name: "all/read may not write", method: "POST", path: aprof, who: "b1 all/read", body: `{}`, headers: json, wantStatus: 403},
				{name: "missing activityId", method: "GET", path: "/xapi/activities/state" + q("agent", ada), who: "b1 state", wantStatus: 400, wantHas: "activityId"},

				{name: "PUT state", method: "PUT", path: state, who: "b1 state", body: `{"page":3}`, headers: json, wantStatus: 204, wantBody: ""},
				{name: "GET state", method: "GET", path: state, who: "b1 state", wantStatus: 200, wantBody: `{"page":3}`,
					check: func(t *testing.T, rec *httptest.ResponseRecorder) {
						if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
							t.Errorf("Content-Type = %q, want application/json", ct)
						}
						if et := rec.Header().Get("ETag"); !etagRE.MatchString(et) || et != `"`+lrs.ETagOf([]byte(`{"page":3}`))+`"` {
							t.Errorf("ETag = %q, want the quoted SHA-1 of the content", et)
						}
						lastModified := rec.Header().Get("Last-Modified")
						if lm, err := http.ParseTime(lastModified); err != nil || time.Since(lm) > time.Minute {
							t.Errorf("Last-Modified = %q (%v), want about now", lastModified, err)
						}
					}},
				{name: "conditional GET", method: "GET", path: state, who: "b1 state", headers: map[string]string{"If-None-Match": `"` + lrs.ETagOf([]byte(`{"page":3}`)) + `"`}, wantStatus: 304,
					check: func(t *testing.T, rec *httptest.ResponseRecorder) {
						if rec.Body.Len() != 0 || rec.Header().Get("Cache-Control") != "no-cache" {
							t.Errorf("304 has body %q, Cache-Control %q; want none and no-cache", rec.Body, rec.Header().Get("Cache-Control"))
						}
					}},
				{name: "conditional GET, changed", method: "GET", path: state, who: "b1 state", headers: map[string]string{"If-None-Match": `"0000"`}, wantStatus: 200, wantBody: `{"page":3}`},
				{name: "HEAD state has headers, no body", method: "HEAD", path: state, who: "b1 state", wantStatus: 200,
					check: func(t *testing.T, rec *httptest.ResponseRecorder) {
						if rec.Header().Get("ETag") == "" {
							t.Error("HEAD has no ETag")
						}
					}},
				{name: "POST merges", method: "POST", path: state, who: "b1 all", body: `{"score":9}`, headers: json, wantStatus: 204},
				{name: "GET merged", method: "GET", path: state, who: "b1 state", wantStatus: 200, wantBody: `{"page":3,"score":9}`},
				{name: "list ids", method: "GET", path: states, who: "b1 state", wantStatus: 200, wantBody: `["bookmark"]`,
					check: func(t *testing.T, rec *httptest.ResponseRecorder) {
						if rec.Header().Get("Last-Modified") == "" || rec.Header().Get("ETag") == "" {
							t.Errorf("listing headers %v lack Last-Modified or ETag", rec.Header())
						}
					}},
				{name: "list since the future", method: "GET", path: states + "&since=2999-01-01T00:00:00Z", who: "b1 state", wantStatus: 200, wantBody: `[]`},
				{name: "bad since", method: "GET", path: states + "&since=yesterday", who: "b1 state", wantStatus: 400, wantHas: "since"},
				{name: "other borough sees nothing", method: "GET", path: state, who: "b2 all", wantStatus: 404},
				{name: "other borough deletes its own (none)", method: "DELETE", path: state, who: "b2 all", wantStatus: 204},
				{name: "other borough deletes all its states (none)", method: "DELETE", path: states, who: "b2 all", wantStatus: 204},
				{name: "other borough writes its own", method: "POST", path: state, who: "b2 all", body: `{"page":99}`, headers: json, wantStatus: 204},
				{name: "first borough's state untouched", method: "GET", path: state, who: "b1 state", wantStatus: 200, wantBody: `{"page":3,"score":9}`},
				{name: "other borough reads its own", method: "GET", path: state, who: "b2 all", wantStatus: 200, wantBody: `{"page":99}`},
				{name: "a third borough lists nothing", method: "GET", path: states, who: "b3 all", wantStatus: 200, wantBody: `[]`},
				{name: "2.0 blind PUT of an existing state", method: "PUT", path: state, who: "b1 state", version: "2.0.0", body: `{}`, headers: json, wantStatus: 409},
				{name: "DELETE all states", method: "DELETE", path: states, who: "b1 state", wantStatus: 204},
				{name: "state gone", method: "GET", path: state, who: "b1 state", wantStatus: 404},

				{name: "binary state", method: "PUT", path: state, who: "b1 state", body: binary, headers: map[string]string{"Content-Type": "image/png"}, wantStatus: 204},
				{name: "binary back byte for byte", method: "GET", path: state, who: "b1 state", wantStatus: 200, wantBody: binary,
					check: func(t *testing.T, rec *httptest.ResponseRecorder) {
						if ct := rec.Header().Get("Content-Type"); ct != "image/png" {
							t.Errorf("Content-Type = %q, want image/png", ct)
						}
					}},
				{name: "JSON POST onto binary", method: "POST", path: state, who: "b1 state", body: `{"a":1}`, headers: json, wantStatus: 400},

				{name: "profile PUT without precondition", method: "PUT", path: aprof, who: "b1 profile", body: `{"v":1}`, headers: json, wantStatus: 400, wantHas: "If-None-Match"},
				{name: "profile PUT If-None-Match", method: "PUT", path: aprof, who: "b1 profile", body: `{"v":1}`, headers: map[string]string{"Content-Type": "application/json", "If-None-Match": "*"}, wantStatus: 204},
				{name: "profile PUT again If-None-Match", method: "PUT", path: aprof, who: "b1 profile", body: `{"v":2}`, headers: map[string]string{"Content-Type": "application/json", "If-None-Match": "*"}, wantStatus: 412},
				{name: "profile blind PUT", method: "PUT", path: aprof, who: "b1 profile", body: `{"v":2}`, headers: json, wantStatus: 409, wantHas: "If-Match"},
				{name: "profile PUT stale If-Match", method: "PUT", path: aprof, who: "b1 profile", body: `{"v":2}`, headers: map[string]string{"Content-Type": "application/json", "If-Match": `"1111111111111111111111111111111111111111"`}, wantStatus: 412},
				{name: "profile PUT If-Match", method: "PUT", path: aprof, who: "b1 profile", body: `{"v":2}`, headers: map[string]string{"Content-Type": "application/json", "If-Match": `"` + lrs.ETagOf([]byte(`{"v":1}`)) + `"`}, wantStatus: 204},
				{name: "profile GET", method: "GET", path: aprof, who: "b1 all/read", wantStatus: 200, wantBody: `{"v":2}`},
				{name: "profile list", method: "GET", path: "/xapi/activities/profile" + q("activityId", activity), who: "b1 profile", wantStatus: 200, wantBody: `["settings"]`},
				{name: "profile DELETE without profileId", method: "DELETE", path: "/xapi/activities/profile" + q("activityId", activity), who: "b1 profile", wantStatus: 400},
				{name: "profile DELETE", method: "DELETE", path: aprof, who: "b1 profile", wantStatus: 204},
				{name: "profile DELETE again", method: "DELETE", path: aprof, who: "b1 profile", wantStatus: 204},

				{name: "agent profile POST", method: "POST", path: gprof, who: "b1 profile", body: `{"lang":"en"}`, headers: json, wantStatus: 204},
				{name: "agent profile bad agent", method: "GET", path: "/xapi/agents/profile" + q("agent", "true", "profileId", "prefs"), who: "b1 profile", wantStatus: 400, wantHas: "agent parameter"},
				{name: "launch token, own learner", method: "GET", path: gprof, who: "launch b1 " + ada, wantStatus: 200, wantBody: `{"lang":"en"}`},
				{name: "launch token, another learner", method: "GET", path: "/xapi/agents/profile" + q("agent", bob, "profileId", "prefs"), who: "launch b1 " + ada, wantStatus: 403},
				{name: "CORS preflight reaches the middleware", method: "OPTIONS", path: state, version: "-", headers: map[string]string{"Origin": "https://content.example", "Access-Control-Request-Method": "PUT"}, wantStatus: 204,
					check: func(t *testing.T, rec *httptest.ResponseRecorder) {
						if rec.Header().Get("Access-Control-Allow-Origin") == "" || !strings.Contains(rec.Header().Get("Access-Control-Allow-Headers"), "If-Match") {
							t.Errorf("preflight headers %v lack CORS permissions", rec.Header())
						}
					}},
				{name: "no version header", method: "GET", path: state, who: "b1 state", version: "-", wantStatus: 400},
				{name: "alternate syntax PUT (1.0.3)", method: "POST", path: "/xapi/activities/state?method=PUT",
					headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
					body: url.Values{"X-Experience-API-Version": {"1.0.3"}, "Content-Type": {"application/json"},
						"activityId": {activity}, "agent": {ada}, "stateId": {"alt"}, "content": {`{"alt":true}`}}.Encode(),
					who: "b1 state", wantStatus: 204},
				{name: "alternate syntax result", method: "GET", path: "/xapi/activities/state" + q("activityId", activity, "agent", ada, "stateId", "alt"), who: "b1 state", wantStatus: 200, wantBody: `{"alt":true}`},
				{name: "launch token, another learner's state", method: "PUT", path: "/xapi/activities/state" + q("activityId", activity, "agent", bob, "stateId", "s"), who: "launch b1 " + ada, body: "x", wantStatus: 403},
			})
		})
	}
}

func TestDocumentTooLarge(t *testing.T) {
	e := newServer(t, testenv.SQLiteURL(t))
	big := bytes.Repeat([]byte("a"), lrs.MaxDocumentSize+1)
	run(t, e, []step{{name: "too large", method: "PUT", who: "b state", body: string(big),
		path:       "/xapi/activities/state" + q("activityId", activity, "agent", ada, "stateId", "big"),
		wantStatus: 413}})
}
