// Package reachtest starts a whole Reach server for tests: the real wiring
// of internal/app over real backends, listening on loopback ports, with a
// first admin ready to sign in. Backends chooses the embedded set (SQLite,
// local blobs, in-process cache) or the production set (PostgreSQL, MinIO,
// Redis); tests usually run against both.
package reachtest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/reach-london/reach/internal/app"
	"github.com/reach-london/reach/internal/config"
	"github.com/reach-london/reach/internal/csrf"
	"github.com/reach-london/reach/internal/secretbox"
	"github.com/reach-london/reach/internal/testenv"
	"github.com/reach-london/reach/server"
)

// Backend names a set of backends.
type Backend struct {
	Name       string
	Production bool
}

// Backends returns the embedded and the production backend sets.
func Backends() []Backend {
	return []Backend{{Name: "embedded"}, {Name: "production", Production: true}}
}

// Instance is a running Reach server.
type Instance struct {
	URL           string // app origin, e.g. http://localhost:41234
	ContentURL    string // content origin, e.g. http://127.0.0.1:41235: another site, as by default
	App           *app.App
	Server        *server.Server
	AdminEmail    string
	AdminPassword string
	Config        config.Config
}

// Start runs Reach on backend b until the test ends. Options adjust the
// configuration before it is validated.
func Start(t testing.TB, b Backend, opts ...func(*config.Config)) *Instance {
	t.Helper()
	cfg := Config(t, b)
	for _, o := range opts {
		o(&cfg)
	}
	return StartWith(t, cfg)
}

// Config returns a configuration for backend b on two free loopback ports
// with a fresh data directory, database, Redis prefix and bucket. Like
// the embedded default, the app origin is named localhost and the content
// origin 127.0.0.1, so browsers see two sites.
func Config(t testing.TB, b Backend) config.Config {
	t.Helper()
	cfg := config.Default()
	appAddr, contentAddr := freeAddr(t), freeAddr(t)
	cfg.Addr, cfg.ContentAddr = appAddr, contentAddr
	cfg.PublicURL, cfg.ContentURL = "http://"+Localhost(appAddr), "http://"+contentAddr
	cfg.DataDir = t.TempDir()
	cfg.AdminEmail = "admin@reach.test"
	cfg.LogLevel = "warn"
	if b.Production {
		cfg.DatabaseURL = testenv.PostgresURL(t)
		cfg.RedisURL, cfg.RedisPrefix = testenv.Redis(t)
		s3 := testenv.MinIO(t)
		cfg.S3Endpoint, cfg.S3AccessKey, cfg.S3SecretKey, cfg.S3Bucket = s3.Endpoint, s3.AccessKey, s3.SecretKey, s3.Bucket
		cfg.SecretsKey = secretbox.EncodeKey(secretbox.NewKey())
	}
	return cfg
}

// StartWith runs Reach with cfg until the test ends.
func StartWith(t testing.TB, cfg config.Config) *Instance {
	t.Helper()
	if err := cfg.Finish(); err != nil {
		t.Fatalf("config: %v", err)
	}
	ctx := context.Background()
	logOut := io.Discard
	if os.Getenv("REACH_TEST_LOG") != "" {
		logOut = os.Stderr
	}
	log := slog.New(slog.NewJSONHandler(logOut, nil))
	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		t.Fatalf("open app: %v", err)
	}
	password, err := a.FirstRun(ctx)
	if err != nil {
		a.Close()
		t.Fatalf("first run: %v", err)
	}
	srv, err := a.Server(ctx)
	if err != nil {
		a.Close()
		t.Fatalf("build server: %v", err)
	}
	if err := srv.Start(); err != nil {
		a.Close()
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		_ = a.Close()
	})
	return &Instance{URL: "http://" + Localhost(srv.AppAddr()), ContentURL: "http://" + srv.ContentAddr(), App: a, Server: srv,
		AdminEmail: cfg.AdminEmail, AdminPassword: password, Config: cfg}
}

// freeAddr reserves a loopback port and releases it for the server; the
// short window in which another process could take it is acceptable in tests.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("reserve port: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// Replica starts a second Reach server over the same backends as i (the
// same database, cache store, object storage and secrets key) with the
// same public URLs, as another replica behind the load balancer would be:
// tokens either issues are valid on both. Requests reach it at its own
// URL and ContentURL. Only the production backends can be shared.
func (i *Instance) Replica(t testing.TB) *Instance {
	t.Helper()
	if i.Config.DatabaseURL == "" || i.Config.RedisURL == "" {
		t.Fatal("a replica needs the production backends (PostgreSQL and Redis)")
	}
	cfg := i.Config
	cfg.Addr, cfg.ContentAddr = freeAddr(t), freeAddr(t)
	cfg.DataDir = t.TempDir()
	r := StartWith(t, cfg)
	r.AdminPassword = i.AdminPassword
	return r
}

// Localhost names a loopback listen address by the name localhost, which
// browsers treat as another site than 127.0.0.1.
func Localhost(addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return net.JoinHostPort("localhost", port)
}

// CSRFToken is the CSRF token a client holding jar's cookies for base
// must send (the _csrf form field, the X-CSRF-Token header); see
// csrf.FromJar.
func CSRFToken(jar http.CookieJar, base string) string { return csrf.FromJar(jar, base) }

// SessionCookie is the value of jar's session cookie for base, or "".
func SessionCookie(jar http.CookieJar, base string) string { return csrf.SessionFromJar(jar, base) }
