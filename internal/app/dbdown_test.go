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
	res, err := http.Post(inst.URL+"/api/v1/auth/login", "application/json",
		strings.NewReader(`{"email":"`+inst.AdminEmail+`","password":"`+inst.AdminPassword+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	_ = json.NewDecoder(res.Body).Decode(&body)
	if res.StatusCode != http.StatusServiceUnavailable || body.Error.Code != "unavailable" ||
		!strings.Contains(body.Error.Message, "database is unavailable") || res.Header.Get("Retry-After") == "" {
		t.Fatalf("sign-in with the database down: %d %+v, Retry-After %q; want 503 unavailable naming the database",
			res.StatusCode, body.Error, res.Header.Get("Retry-After"))
	}
}
