package xapi

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/blob/fsblob"
	"github.com/reach-london/reach/internal/db"
	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/lrs"
	"github.com/reach-london/reach/lrs/sqlstore"
)

// testAuth accepts HTTP Basic credentials from a fixed table; the real
// Authenticator lives in internal/auth.
type testAuth map[string]auth.Principal

func (a testAuth) AuthenticateXAPI(r *http.Request) (auth.Principal, error) {
	key, secret, ok := r.BasicAuth()
	if !ok {
		return auth.Principal{}, errs.E(errs.Unauthorized, "credentials are required")
	}
	p, found := a[key+":"+secret]
	if !found {
		return auth.Principal{}, errs.E(errs.Unauthorized, "unknown credentials")
	}
	return p, nil
}

func principalFor(borough, name string, scopes ...auth.Scope) auth.Principal {
	return auth.Principal{
		Kind: auth.KindCredential, BoroughID: borough, Subject: name, Scopes: scopes,
		Authority: []byte(`{"objectType":"Agent","name":"` + name + `","account":{"homePage":"https://reach.example","name":"` + name + `"}}`),
	}
}

// testErrorHandler stands in for the server's single error handler: kinds
// to status, JSON body.
func testErrorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status := map[errs.Kind]int{
		errs.Internal: 500, errs.Invalid: 400, errs.Unauthorized: 401, errs.Forbidden: 403, errs.NotFound: 404,
		errs.Conflict: 409, errs.PreconditionFailed: 412, errs.TooLarge: 413, errs.UnsupportedMediaType: 415,
		errs.PreconditionRequired: 428, errs.RateLimited: 429, errs.Unavailable: 503,
	}[errs.KindOf(err)]
	var he *echo.HTTPError
	if errors.As(err, &he) {
		status = he.Code
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	_ = c.JSON(status, map[string]any{"error": map[string]string{"code": errs.KindOf(err).String(), "message": errs.MessageOf(err)}})
}

type harness struct {
	URL   string
	Store *sqlstore.Store
	DB    *db.DB
	svc   *lrs.Service
	auth  Authenticator
}

// newHarness starts the xAPI handler on a real database at dbURL with a
// local-directory blob store. Credentials: "a:a" (borough-a, all),
// "b:b" (borough-b, all), "ro:ro" (borough-a, statements/read),
// "wo:wo" (borough-a, statements/write), "mine:mine" (borough-a,
// statements/write and statements/read/mine).
func newHarness(t testing.TB, dbURL string) *harness {
	t.Helper()
	return newHarnessWith(t, dbURL, nil)
}

// newHarnessWith is newHarness with a chance to adjust the Deps.
func newHarnessWith(t testing.TB, dbURL string, adjust func(*Deps)) *harness {
	t.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, dbURL, db.Options{})
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(ctx, sqlstore.Migrations); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	blobs, err := fsblob.New(t.TempDir())
	if err != nil {
		t.Fatalf("blob store: %v", err)
	}
	store := sqlstore.New(d)
	deps := Deps{Statements: lrs.NewService(store, blobs), Auth: testAuth{
		"a:a":       principalFor("borough-a", "a", auth.ScopeAll),
		"b:b":       principalFor("borough-b", "b", auth.ScopeAll),
		"ro:ro":     principalFor("borough-a", "ro", auth.ScopeStatementsRead),
		"wo:wo":     principalFor("borough-a", "wo", auth.ScopeStatementsWrite),
		"mine:mine": principalFor("borough-a", "mine", auth.ScopeStatementsWrite, auth.ScopeStatementsReadMine),
	}}
	if adjust != nil {
		adjust(&deps)
	}
	h := New(deps)
	e := echo.New()
	e.HTTPErrorHandler = testErrorHandler
	h.Register(e.Group("/xapi"))
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &harness{URL: srv.URL, Store: store, DB: d, svc: deps.Statements, auth: deps.Auth}
}

func basic(user string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+user))
}

// do sends a request as user ("" for none) with xAPI version ver ("" for
// none).
func (h *harness) do(t testing.TB, method, path, user, ver string, body string, hdr map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, h.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.Header.Set("Authorization", basic(user))
	}
	if ver != "" {
		req.Header.Set(HeaderVersion, ver)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}
