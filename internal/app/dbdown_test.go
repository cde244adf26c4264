package app_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/reach-london/reach/internal/reachtest"
	"github.com/reach-london/reach/internal/testenv"
)

// TestDatabaseDownIs503 checks the composition root's part of the error
// mapping: with PostgreSQL unreachable, a request that needs the database
// answers 503 with Retry-After and says the database is unavailable, not
// 500 (the server maps driver errors through Deps.BackendDown, which the
// app wires to the database layer's own test).
func TestDatabaseDownIs503(t *testing.T) {
	cfg := reachtest.Config(t, reachtest.Backend{Name: "production", Production: true})
	u, err := url.Parse(cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := testenv.StartProxy(t, u.Host)
	u.Host = proxy.Addr()
	cfg.DatabaseURL = u.String()
	inst := reachtest.StartWith(t, cfg)

	proxy.Cut()
	// A pooled connection that the cut dropped mid-read may first fail
	// as an unexpected EOF (a 500: nothing says the server went away);
	// once the pool dials again the refusal is what every request meets.
	var status int
	var body struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	var retryAfter string
	for attempt := 0; attempt < 10 && status != http.StatusServiceUnavailable; attempt++ {
		res, err := http.Post(inst.URL+"/api/v1/auth/login", "application/json",
			strings.NewReader(`{"email":"`+inst.AdminEmail+`","password":"`+inst.AdminPassword+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		body.Error.Code, body.Error.Message = "", ""
		_ = json.NewDecoder(res.Body).Decode(&body)
		res.Body.Close()
		status, retryAfter = res.StatusCode, res.Header.Get("Retry-After")
	}
	if status != http.StatusServiceUnavailable || body.Error.Code != "unavailable" ||
		!strings.Contains(body.Error.Message, "database is unavailable") || retryAfter == "" {
		t.Fatalf("sign-in with the database down: %d %+v, Retry-After %q; want 503 unavailable naming the database",
			status, body.Error, retryAfter)
	}
}
