package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"

	"github.com/reach-london/reach/internal/reachtest"
	"github.com/reach-london/reach/server"
)

// TestMustChangePasswordHoldsOnTheAPI: an account signed in by cookie
// with a one-time password gets 403 password_change_required from the
// JSON API, except for changing the password and signing out, as the
// admin pages send it to the password page.
func TestMustChangePasswordHoldsOnTheAPI(t *testing.T) {
	forEachBackend(t, func(t *testing.T, r *reachtest.Instance) {
		jar, _ := cookiejar.New(nil)
		hc := &http.Client{Jar: jar}
		do := func(method, path, body string) (int, string) {
			req, _ := http.NewRequest(method, r.URL+path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-CSRF-Token", reachtest.CSRFToken(jar, r.URL))
			res, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return res.StatusCode, string(b)
		}
		// The first admin's password is a one-time one.
		if st, body := do(http.MethodPost, "/api/v1/auth/login", `{"email":"`+r.AdminEmail+`","password":"`+r.AdminPassword+`"}`); st != http.StatusOK {
			t.Fatalf("login: %d %s", st, body)
		}
		for _, rq := range [][2]string{{http.MethodGet, "/api/v1/boroughs"}, {http.MethodPost, "/api/v1/boroughs"}, {http.MethodGet, "/api/v1/me"}} {
			st, body := do(rq[0], rq[1], `{"slug":"camden"}`)
			var eb server.ErrorBody
			_ = json.Unmarshal([]byte(body), &eb)
			if st != http.StatusForbidden || eb.Error.Code != server.CodePasswordChangeRequired {
				t.Errorf("%s %s before the change: %d %s, want 403 %s", rq[0], rq[1], st, body, server.CodePasswordChangeRequired)
			}
		}
		if st, body := do(http.MethodPost, "/api/v1/me/password", `{"current":"`+r.AdminPassword+`","new":"plum kettle orbit river"}`); st != http.StatusNoContent {
			t.Fatalf("change password: %d %s", st, body)
		}
		if st, body := do(http.MethodGet, "/api/v1/boroughs", ""); st != http.StatusOK {
			t.Errorf("after the change: %d %s, want 200", st, body)
		}
		if st, body := do(http.MethodPost, "/api/v1/auth/logout", ""); st != http.StatusNoContent {
			t.Errorf("sign out: %d %s", st, body)
		}
	})
}
