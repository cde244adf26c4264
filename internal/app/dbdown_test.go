package app_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/reach-london/reach/internal/reachtest"
)

// cutProxy forwards TCP connections to target until cut, then refuses new
// ones and drops the open ones, as a database server that went away would.
type cutProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
	t.Cleanup(p.cut)
	return p
}

func (p *cutProxy) cut() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

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
	proxy := newCutProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	cfg.DatabaseURL = u.String()
	inst := reachtest.StartWith(t, cfg)

	proxy.cut()
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
