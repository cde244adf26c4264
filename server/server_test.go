package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/reach-london/reach/client"
	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/config"
	"github.com/reach-london/reach/internal/reachtest"
)

func forEachBackend(t *testing.T, fn func(t *testing.T, r *reachtest.Instance), opts ...func(*config.Config)) {
	for _, b := range reachtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, reachtest.Start(t, b, opts...))
		})
	}
}

func get(t *testing.T, rawURL string) (*http.Response, string) {
	t.Helper()
	res, err := http.Get(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func wantStatus(t *testing.T, err error, status int) {
	t.Helper()
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != status {
		t.Fatalf("got error %v, want status %d", err, status)
	}
}

func adminClient(t *testing.T, r *reachtest.Instance) *client.Client {
	t.Helper()
	if r.AdminPassword == "" {
		t.Fatal("first run printed no admin password")
	}
	c := client.New(r.URL)
	if _, err := c.Login(context.Background(), "", r.AdminEmail, r.AdminPassword); err != nil {
		t.Fatalf("admin login: %v", err)
	}
	return c
}

func TestHealthAndReadiness(t *testing.T) {
	forEachBackend(t, func(t *testing.T, r *reachtest.Instance) {
		for _, u := range []string{r.URL + "/healthz", r.ContentURL + "/healthz", r.URL + "/readyz"} {
			res, body := get(t, u)
			if res.StatusCode != http.StatusOK {
				t.Errorf("GET %s: got %d %s, want 200", u, res.StatusCode, body)
			}
		}
		_, body := get(t, r.URL+"/readyz")
		for _, check := range []string{`"database"`, `"blobs"`, `"cache"`} {
			if !strings.Contains(body, check) {
				t.Errorf("readyz lacks %s check: %s", check, body)
			}
		}
		res, body := get(t, r.URL+"/metrics")
		if res.StatusCode != http.StatusOK || !strings.Contains(body, "reach_http_requests_total") {
			t.Errorf("metrics: got %d without reach_http_requests_total", res.StatusCode)
		}
		if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("X-Content-Type-Options: got %q, want nosniff", got)
		}
		if res.Header.Get("X-Request-Id") == "" {
			t.Error("response has no X-Request-Id")
		}
	})
}

func TestReadinessFailsWhenBlobStoreIsGone(t *testing.T) {
	r := reachtest.Start(t, reachtest.Backend{Name: "embedded"})
	if err := os.RemoveAll(r.Config.BlobDir()); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(r.Config.BlobDir(), []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	res, body := get(t, r.URL+"/readyz")
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, `"blobs":{"status":"down"`) {
		t.Fatalf("got %d %s, want 503 with blobs down", res.StatusCode, body)
	}
	if res.Header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
}

func TestSignIn(t *testing.T) {
	forEachBackend(t, func(t *testing.T, r *reachtest.Instance) {
		ctx := context.Background()
		c := client.New(r.URL)
		_, err := c.Login(ctx, "", r.AdminEmail, "wrong-password-123")
		wantStatus(t, err, http.StatusUnauthorized)
		_, err = c.Login(ctx, "", "nobody@reach.test", "wrong-password-123")
		wantStatus(t, err, http.StatusUnauthorized)
		_, err = c.Me(ctx)
		wantStatus(t, err, http.StatusUnauthorized)

		u, err := c.Login(ctx, "", r.AdminEmail, r.AdminPassword)
		if err != nil {
			t.Fatal(err)
		}
		if u.Role != "platform_admin" || !u.MustChange {
			t.Errorf("got role %q mustChange %v, want platform_admin true", u.Role, u.MustChange)
		}
		if err := c.Do(ctx, http.MethodPost, "/api/v1/me/password", map[string]string{"current": r.AdminPassword, "new": "short"}, nil); err == nil {
			t.Error("a 5-character password was accepted")
		}
		if err := c.Do(ctx, http.MethodPost, "/api/v1/me/password", map[string]string{"current": r.AdminPassword, "new": "a much longer passphrase"}, nil); err != nil {
			t.Fatal(err)
		}
		stale := c.Token
		if err := c.Logout(ctx); err != nil {
			t.Fatal(err)
		}
		c.Token = stale
		_, err = c.Me(ctx)
		wantStatus(t, err, http.StatusUnauthorized)
		if _, err := c.Login(ctx, "", r.AdminEmail, "a much longer passphrase"); err != nil {
			t.Fatalf("login with the new password: %v", err)
		}
	})
}

func TestBoroughsAndCredentials(t *testing.T) {
	forEachBackend(t, func(t *testing.T, r *reachtest.Instance) {
		ctx := context.Background()
		admin := adminClient(t, r)
		if _, err := admin.CreateBorough(ctx, "hackney", ""); err != nil {
			t.Fatal(err)
		}
		_, err := admin.CreateBorough(ctx, "hackney", "")
		wantStatus(t, err, http.StatusConflict)
		_, err = admin.CreateBorough(ctx, "Not A Slug", "")
		wantStatus(t, err, http.StatusBadRequest)
		_, err = admin.CreateBorough(ctx, "atlantis", "")
		wantStatus(t, err, http.StatusBadRequest)
		_, err = admin.CreateBorough(ctx, "reports", "Reports")
		wantStatus(t, err, http.StatusBadRequest)
		// The home page lists both boroughs' portals.
		res, body := get(t, r.URL+"/")
		if res.StatusCode != http.StatusOK || !strings.Contains(body, `href="/b/hackney/"`) || !strings.Contains(body, `href="/b/london/"`) {
			t.Errorf("home page: got %d without both portals", res.StatusCode)
		}
		bs, err := admin.Boroughs(ctx)
		if err != nil || len(bs) != 2 {
			t.Fatalf("got %d boroughs (%v), want london and hackney", len(bs), err)
		}

		_, pw, err := admin.CreateBoroughAdmin(ctx, "hackney", "lead@hackney.test", "Hackney lead", "")
		if err != nil || pw == "" {
			t.Fatalf("create borough admin: %v (password %q)", err, pw)
		}
		hackney := client.New(r.URL)
		if _, err := hackney.Login(ctx, "hackney", "lead@hackney.test", pw); err != nil {
			t.Fatal(err)
		}
		// A borough admin cannot see another borough, nor list boroughs.
		_, err = hackney.Credentials(ctx, "london")
		wantStatus(t, err, http.StatusNotFound)
		_, err = hackney.Boroughs(ctx)
		wantStatus(t, err, http.StatusForbidden)
		// Nor sign in to another borough with the same email.
		_, err = client.New(r.URL).Login(ctx, "london", "lead@hackney.test", pw)
		wantStatus(t, err, http.StatusUnauthorized)

		_, err = hackney.CreateCredential(ctx, "hackney", "LMS", "statements/everything")
		wantStatus(t, err, http.StatusBadRequest)
		_, err = hackney.CreateCredential(ctx, "hackney", "", "all")
		wantStatus(t, err, http.StatusBadRequest)
		cred, err := hackney.CreateCredential(ctx, "hackney", "Borough LMS", "statements/read", "state")
		if err != nil {
			t.Fatal(err)
		}
		if cred.Secret == "" || cred.Key == "" || cred.Endpoint != r.URL+"/xapi/" {
			t.Fatalf("got credential %+v, want key, secret and endpoint", cred)
		}
		list, err := hackney.Credentials(ctx, "hackney")
		if err != nil || len(list) != 1 || list[0].Secret != "" {
			t.Fatalf("got %+v (%v), want one credential without its secret", list, err)
		}

		// OAuth client-credentials: the secret works, a wrong one does not.
		tok := oauthToken(t, r.URL, cred.Key, cred.Secret, "")
		if tok.status != http.StatusOK || tok.scope != "statements/read state" {
			t.Fatalf("got %d scope %q, want 200 with the credential's scopes", tok.status, tok.scope)
		}
		if bad := oauthToken(t, r.URL, cred.Key, "wrong", ""); bad.status != http.StatusUnauthorized {
			t.Errorf("wrong secret: got %d, want 401", bad.status)
		}
		if wide := oauthToken(t, r.URL, cred.Key, cred.Secret, "all"); wide.status != http.StatusBadRequest {
			t.Errorf("scope beyond the credential: got %d, want 400", wide.status)
		}

		if err := hackney.RevokeCredential(ctx, "hackney", cred.ID); err != nil {
			t.Fatal(err)
		}
		err = hackney.RevokeCredential(ctx, "hackney", cred.ID)
		wantStatus(t, err, http.StatusNotFound)
		if after := oauthToken(t, r.URL, cred.Key, cred.Secret, ""); after.status != http.StatusUnauthorized {
			t.Errorf("revoked credential: got %d, want 401", after.status)
		}

		audit, err := hackney.Audit(ctx, "hackney")
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range audit {
			actions = append(actions, e.Action)
		}
		for _, want := range []string{"credential.revoke", "credential.create", "user.create"} {
			if !strings.Contains(strings.Join(actions, " "), want) {
				t.Errorf("audit log %v lacks %s", actions, want)
			}
		}
	})
}

type tokenResult struct {
	status int
	scope  string
}

func oauthToken(t *testing.T, base, key, secret, scope string) tokenResult {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	if scope != "" {
		form.Set("scope", scope)
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(key, secret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	out := tokenResult{status: res.StatusCode}
	if i := strings.Index(string(b), `"scope":"`); i >= 0 {
		rest := string(b)[i+9:]
		out.scope = rest[:strings.Index(rest, `"`)]
	}
	return out
}

// TestCookieSessionNeedsCSRFToken: a request signed in by cookie needs
// the session's token in the X-CSRF-Token header; the token in the query
// or a form field, a body that is not JSON, or a request from another
// origin (by Sec-Fetch-Site or Origin), same-site or not, changes nothing.
// Bearer clients and requests without cookies are not affected.
func TestCookieSessionNeedsCSRFToken(t *testing.T) {
	r := reachtest.Start(t, reachtest.Backend{Name: "embedded"})
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	send := func(method, path, ctype, body string, header map[string]string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, r.URL+path, strings.NewReader(body))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	post := func(path, body string, header map[string]string) int {
		t.Helper()
		code, _ := send(http.MethodPost, path, "application/json", body, header)
		return code
	}
	// An admin with a password of their own: a one-time one must be
	// changed before the API answers (TestMustChangePasswordHoldsOnTheAPI).
	if _, _, err := r.App.Auth.CreateUser(context.Background(), "test", auth.NewUser{Email: "root@reach.test", Role: auth.RolePlatformAdmin,
		Password: "plum kettle orbit river"}); err != nil {
		t.Fatal(err)
	}
	login := `{"email":"root@reach.test","password":"plum kettle orbit river"}`
	if code, body := send(http.MethodPost, "/api/v1/auth/login", "application/x-www-form-urlencoded",
		url.Values{"email": {"root@reach.test"}, "password": {"plum kettle orbit river"}}.Encode(), nil); code != http.StatusUnsupportedMediaType ||
		!strings.Contains(body, "application/json") {
		t.Errorf("login as a form: got %d %s, want 415 naming application/json", code, body)
	}
	if code, body := send(http.MethodPost, "/api/v1/auth/login", "application/json", login, map[string]string{"Sec-Fetch-Site": "cross-site"}); code != http.StatusForbidden ||
		!strings.Contains(body, "cross-origin request refused") {
		t.Errorf("login from another site: got %d %s, want 403 saying why", code, body)
	}
	code, body := send(http.MethodPost, "/api/v1/auth/login", "application/json", login, map[string]string{"Sec-Fetch-Site": "same-origin"})
	var lr struct {
		Token     string `json:"token"`
		CSRFToken string `json:"csrfToken"`
	}
	if err := json.Unmarshal([]byte(body), &lr); code != http.StatusOK || err != nil || lr.CSRFToken == "" {
		t.Fatalf("login: got %d %s", code, body)
	}
	// The cookies: __Host- prefixed, Secure (localhost is a secure context
	// for browsers), HttpOnly, SameSite, host-only, Path=/.
	res, err := http.Post(r.URL+"/api/v1/auth/login", "application/json", strings.NewReader(login))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	for _, ck := range res.Cookies() {
		if !strings.HasPrefix(ck.Name, "__Host-") || !ck.Secure || !ck.HttpOnly || ck.Path != "/" || ck.Domain != "" ||
			(ck.SameSite != http.SameSiteLaxMode && ck.SameSite != http.SameSiteStrictMode) {
			t.Errorf("cookie %s: %+v", ck.Name, ck)
		}
	}
	if len(res.Cookies()) == 0 || reachtest.SessionCookie(jar, r.URL) == "" {
		t.Fatal("login set no __Host- session cookie")
	}
	if want := reachtest.CSRFToken(jar, r.URL); lr.CSRFToken != want {
		t.Errorf("login's csrfToken %q is not the session's token %q", lr.CSRFToken, want)
	}
	tok := map[string]string{"X-CSRF-Token": lr.CSRFToken}
	for _, tt := range []struct {
		name, method, path, ctype, body string
		header                          map[string]string
		want                            int
		says                            string
	}{
		{"no token", "POST", "/api/v1/boroughs", "application/json", `{"slug":"camden"}`, nil, 403, "X-CSRF-Token"},
		{"wrong token", "POST", "/api/v1/boroughs", "application/json", `{"slug":"camden"}`, map[string]string{"X-CSRF-Token": "forged"}, 403, "CSRF"},
		{"token in the query", "POST", "/api/v1/boroughs?_csrf=" + lr.CSRFToken, "application/json", `{"slug":"camden"}`, nil, 403, "CSRF"},
		{"token in a form", "POST", "/api/v1/boroughs", "application/x-www-form-urlencoded", "slug=camden&_csrf=" + lr.CSRFToken, nil, 415, "application/json"},
		{"text/plain JSON with the token", "POST", "/api/v1/boroughs", "text/plain", `{"slug":"camden"}`, tok, 415, "application/json"},
		{"multipart with the token", "POST", "/api/v1/boroughs", "multipart/form-data; boundary=x", "--x--", tok, 415, "application/json"},
		{"another site", "POST", "/api/v1/boroughs", "application/json", `{"slug":"camden"}`, map[string]string{"X-CSRF-Token": lr.CSRFToken, "Sec-Fetch-Site": "cross-site"}, 403, "cross-origin request refused"},
		{"same site, other origin", "POST", "/api/v1/boroughs", "application/json", `{"slug":"camden"}`, map[string]string{"X-CSRF-Token": lr.CSRFToken, "Sec-Fetch-Site": "same-site"}, 403, "same-site"},
		{"other Origin", "POST", "/api/v1/boroughs", "application/json", `{"slug":"camden"}`, map[string]string{"X-CSRF-Token": lr.CSRFToken, "Origin": r.ContentURL}, 403, r.ContentURL},
		{"unknown field only", "POST", "/api/v1/boroughs", "application/json", `{"nonsense":1}`, tok, 400, `unknown field \"nonsense\"`},
		{"unknown field beside known ones", "POST", "/api/v1/boroughs", "application/json", `{"slug":"camden","colour":"red"}`, tok, 400, `\"colour\"`},
		{"slots with only unknown fields", "PUT", "/api/v1/boroughs/london/course/slots", "application/json", `{"nonsense":true}`, tok, 400, `unknown field \"nonsense\"`},
		{"cross-site portal sign-in", "POST", "/b/london/signin", "application/x-www-form-urlencoded", "email=a%40b.example&password=whatever12345", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403, "cross-origin"},
		{"cross-site portal sign-up", "POST", "/b/london/signup", "application/x-www-form-urlencoded", "name=X&email=x%40b.example&password=whatever12345&profession=gp", map[string]string{"Origin": "http://evil.example"}, 403, "evil.example"},
		{"cross-site admin form", "POST", "/admin/boroughs", "application/x-www-form-urlencoded", "slug=camden&_csrf=" + lr.CSRFToken, map[string]string{"Sec-Fetch-Site": "cross-site"}, 403, "cross-origin"},
	} {
		if code, body := send(tt.method, tt.path, tt.ctype, tt.body, tt.header); code != tt.want || !strings.Contains(body, tt.says) {
			t.Errorf("%s: got %d %s, want %d saying %q", tt.name, code, body, tt.want, tt.says)
		}
	}
	admin := client.New(r.URL)
	admin.Token = lr.Token
	if vs, err := admin.CourseVersions(context.Background(), "london"); err != nil || len(vs) != 1 {
		t.Errorf("course versions after the refused slots: %v %v (want only the base version)", len(vs), err)
	}
	if bs, err := admin.Boroughs(context.Background()); err != nil || len(bs) != 1 {
		t.Errorf("boroughs after the refused posts: %v %v", bs, err)
	}
	if got := post("/api/v1/boroughs", `{"slug":"camden"}`, map[string]string{"X-CSRF-Token": lr.CSRFToken, "Sec-Fetch-Site": "same-origin"}); got != http.StatusCreated {
		t.Errorf("cookie POST with the CSRF token: got %d, want 201", got)
	}
	// A Bearer client from anywhere is not a forged browser request.
	if code, body := send(http.MethodPost, "/api/v1/boroughs", "application/json", `{"slug":"hackney"}`,
		map[string]string{"Authorization": "Bearer " + lr.Token, "Sec-Fetch-Site": "cross-site"}); code != http.StatusCreated {
		t.Errorf("bearer POST: got %d %s, want 201", code, body)
	}
	// Nor is an xAPI client with Basic credentials and no cookie.
	bare := &http.Client{}
	req, _ := http.NewRequest(http.MethodPost, r.URL+"/oauth/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.SetBasicAuth("nokey", "nosecret")
	if res, err := bare.Do(req); err != nil || res.StatusCode != http.StatusUnauthorized {
		t.Errorf("oauth token with wrong credentials from another site: %v %v, want 401 (not 403)", res.StatusCode, err)
	}
}

func TestBadInputIsRejectedClearly(t *testing.T) {
	r := reachtest.Start(t, reachtest.Backend{Name: "embedded"})
	admin := adminClient(t, r)
	ctx := context.Background()
	send := func(method, path, contentType, body string) (int, string) {
		req, _ := http.NewRequestWithContext(ctx, method, r.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Authorization", "Bearer "+admin.Token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	tests := []struct {
		name, method, path, contentType, body string
		want                                  int
		wantText                              string
	}{
		{"malformed JSON", "POST", "/api/v1/boroughs", "application/json", `{"slug":`, 400, `"code":"invalid"`},
		{"oversize body", "POST", "/api/v1/boroughs", "application/json", `{"slug":"` + strings.Repeat("a", 21<<20) + `"}`, 413, "larger than allowed"},
		{"unknown borough", "GET", "/api/v1/boroughs/nowhere/credentials", "application/json", "", 404, "borough not found"},
		{"bad audit limit", "GET", "/api/v1/boroughs/london/audit?limit=-3", "application/json", "", 400, "limit must be"},
		{"unknown route", "GET", "/api/v1/nothing-here", "application/json", "", 404, `"error"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, body := send(tt.method, tt.path, tt.contentType, tt.body)
			if got != tt.want || !strings.Contains(body, tt.wantText) {
				t.Errorf("got %d %s, want %d containing %q", got, body, tt.want, tt.wantText)
			}
		})
	}
	bs, err := admin.Boroughs(ctx)
	if err != nil || len(bs) != 1 {
		t.Errorf("bad requests changed the boroughs: %v %v", bs, err)
	}
}

// TestForwardedForIsNotTrustedByDefault: a client cannot dodge the per-address
// sign-in limit by claiming other addresses in X-Forwarded-For.
func TestForwardedForIsNotTrustedByDefault(t *testing.T) {
	r := reachtest.Start(t, reachtest.Backend{Name: "embedded"})
	last := 0
	for i := 0; i < 31; i++ {
		body := fmt.Sprintf(`{"email":"nobody%d@reach.test","password":"wrong-password-123"}`, i)
		req, _ := http.NewRequest(http.MethodPost, r.URL+"/api/v1/auth/login", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		last = res.StatusCode
	}
	if last != http.StatusTooManyRequests {
		t.Fatalf("31st sign-in from one address with a different X-Forwarded-For each time: got %d, want 429", last)
	}
}

// TestContentSecurityPolicies: package files may be framed only by the
// content origin itself, a dispatch's files by any LMS; the player and
// the app pages keep their own policies.
func TestContentSecurityPolicies(t *testing.T) {
	r := reachtest.Start(t, reachtest.Backend{Name: "embedded"})
	ctx := context.Background()
	admin := adminClient(t, r)
	pkg, err := admin.ImportPackage(ctx, "london", bytes.NewReader(tincanZip(t)))
	if err != nil {
		t.Fatal(err)
	}
	pv, err := admin.PreviewPackage(ctx, "london", pkg.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	d, err := admin.CreateDispatch(ctx, "london", "Other LMS", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		what, url, want string
		whole           bool // the policy is exactly want
	}{
		{"package file", pv.URL, "frame-ancestors 'self'", true},
		{"dispatch file", r.ContentURL + "/d/" + d.Token + "/" + pkg.ID + "/index.html", "frame-ancestors *", true},
		{"player", r.ContentURL + "/player/x", "frame-ancestors 'self' " + r.Config.PublicURL + ";", false},
		{"app page", r.URL + "/", "frame-ancestors 'none';", false},
	} {
		res, body := get(t, tt.url)
		csp := res.Header.Get("Content-Security-Policy")
		if res.StatusCode != 200 || (tt.whole && csp != tt.want) || (!tt.whole && !strings.Contains(csp, tt.want)) {
			t.Errorf("%s: %d CSP %q, want %q (%.100s)", tt.what, res.StatusCode, csp, tt.want, body)
		}
	}
}
