package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reach-london/reach/internal/app"
	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/config"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines and the
// test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// serveOnce runs `reach serve` until it answers /healthz, then stops it as
// SIGINT would (cancelling its context) and returns its exit code and
// output.
func serveOnce(t *testing.T, env map[string]string) (int, string, string) {
	t.Helper()
	var out, errOut syncBuffer
	cenv := &cliEnv{stdout: &out, stderr: &errOut, getenv: func(k string) string { return env[k] }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() { done <- runCLI(ctx, cenv, []string{"serve"}) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case code := <-done:
			t.Fatalf("serve ended early with %d: %s", code, errOut.String())
		default:
		}
		if res, err := http.Get("http://" + env["REACH_ADDR"] + "/healthz"); err == nil {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %s", errOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	select {
	case code := <-done:
		return code, out.String(), errOut.String()
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop within 30 s of its interrupt")
	}
	return 0, "", ""
}

// While the first platform admin has never signed in, every start says
// how to get in, without printing a password again; once they have, it
// says nothing (issue 15). Each start ends with exit status 0 on an
// interrupt, so `make run` ends cleanly.
func TestServeSaysHowTheFirstAdminGetsIn(t *testing.T) {
	env := map[string]string{"REACH_DATA_DIR": t.TempDir(), "REACH_LOG_LEVEL": "warn",
		"REACH_ADDR": freePort(t), "REACH_CONTENT_ADDR": freePort(t), "REACH_ADMIN_EMAIL": "first@reach.test"}
	_, port, _ := net.SplitHostPort(env["REACH_ADDR"])
	env["REACH_PUBLIC_URL"] = "http://localhost:" + port
	signin := env["REACH_PUBLIC_URL"] + "/admin/signin"
	reset := "reach admin reset-password first@reach.test"

	code, out, errOut := serveOnce(t, env)
	if code != 0 {
		t.Fatalf("first start: exit %d: %s", code, errOut)
	}
	_, after, ok := strings.Cut(out, "password: ")
	if !ok || !strings.Contains(out, signin) {
		t.Fatalf("first start printed no password and sign-in address:\n%s", out)
	}
	password := strings.TrimSpace(strings.SplitN(after, "\n", 2)[0])

	code, out, errOut = serveOnce(t, env)
	if code != 0 {
		t.Fatalf("second start: exit %d: %s", code, errOut)
	}
	for _, w := range []string{"has not signed in yet", signin, "'" + reset + "'", `"level":"WARN"`} {
		if !strings.Contains(errOut, w) {
			t.Errorf("second start: stderr lacks %q:\n%s", w, errOut)
		}
	}
	if strings.Contains(out+errOut, password) {
		t.Errorf("second start printed the password again")
	}

	// The admin signs in and chooses a password: no more hints.
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Finish(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, err := app.Open(ctx, cfg, newLogger(&cliEnv{stderr: &bytes.Buffer{}}, "warn"))
	if err != nil {
		t.Fatal(err)
	}
	u, err := a.Auth.Store().UserByEmail(ctx, "", "first@reach.test")
	if err == nil {
		err = a.Auth.ChangePassword(ctx, u.ID, "", password, "a long chosen password 42")
	}
	a.Close()
	if err != nil || u.Role != auth.RolePlatformAdmin {
		t.Fatalf("change the first admin's password: %v", err)
	}
	code, _, errOut = serveOnce(t, env)
	if code != 0 || strings.Contains(errOut, "not signed in") {
		t.Errorf("third start, after sign-in: exit %d, stderr %s", code, errOut)
	}
}
