// Package server is Reach's HTTP layer: two Echo instances, one for the
// app origin (portal, admin, JSON API, /xapi/) and one for the content
// origin (player and package files, never session cookies). It binds
// requests, calls the domain packages and maps their errors to HTTP in one
// error handler.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/reach-london/reach/content"
	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/config"
	"github.com/reach-london/reach/reports"
)

// ReadyCheck is one backend /readyz checks.
type ReadyCheck struct {
	Name string
	Ping func(context.Context) error
	// Optional marks a backend Reach works without (only slower, such as
	// the Redis cache): when it fails, /readyz reports it down and the
	// whole as "degraded" but still answers 200, so a load balancer does
	// not take every replica out at once over a shared cache outage.
	Optional bool
}

// Limiter decides whether an action keyed by key may happen now.
type Limiter interface {
	Allow(ctx context.Context, key string, limit int, window time.Duration) (bool, time.Duration, error)
}

// Deps is what the server is built from; cmd/reach wires it.
type Deps struct {
	Config  config.Config
	Logger  *slog.Logger
	Auth    *auth.Service
	Limiter Limiter
	// LoginBackoff slows repeated failed sign-ins per account and address;
	// nil leaves only the per-address limit.
	LoginBackoff LoginBackoff
	Ready        []ReadyCheck
	// BackendDown reports whether an unclassified error means the
	// database could not be reached (the composition root passes
	// db.IsUnavailable, so the server knows no storage driver): such
	// errors answer 503 with Retry-After rather than 500.
	BackendDown func(error) bool
	// Reports answers the report pages and API; nil disables them.
	Reports *reports.Service
	// MountXAPI adds the LRS routes to the /xapi group.
	MountXAPI func(g *echo.Group)
	// MountApp and MountContent let other rooms add routes to each origin.
	MountApp     []func(e *echo.Echo, s *Server)
	MountContent []func(e *echo.Echo, s *Server)
	// Learners deactivates, reactivates and erases learners across every
	// room (internal/learners); nil leaves those actions unavailable.
	Learners LearnerLifecycle
	// Courses publishes the base course in a borough as it is created;
	// nil leaves new boroughs without a course version.
	Courses BaseCoursePublisher
}

// BaseCoursePublisher publishes the base course in a borough (the content
// room).
type BaseCoursePublisher interface {
	PublishBaseCourse(ctx context.Context, b auth.Borough, actor string) (content.CourseVersion, bool, error)
}

// Server runs the app and content listeners.
type Server struct {
	deps     Deps
	cfg      config.Config
	log      *slog.Logger
	app      *echo.Echo
	content  *echo.Echo
	registry *prometheus.Registry
	metrics  *httpMetrics

	mu          sync.Mutex
	appLn       net.Listener
	contentLn   net.Listener
	appHTTP     *http.Server
	contentHTTP *http.Server
}

// New builds a Server; Start or Run serves it.
func New(d Deps) *Server {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	s := &Server{deps: d, cfg: d.Config, log: d.Logger, registry: prometheus.NewRegistry()}
	s.metrics = newHTTPMetrics(s.registry)
	s.app = s.newEcho("app")
	s.content = s.newEcho("content")
	s.routesApp()
	s.routesContent()
	return s
}

// Registry is the server's Prometheus registry, for other components'
// collectors.
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// App returns the app-origin Echo instance (tests use it as a handler).
func (s *Server) App() *echo.Echo { return s.app }

// Content returns the content-origin Echo instance.
func (s *Server) Content() *echo.Echo { return s.content }

// Logger returns the server's logger.
func (s *Server) Logger() *slog.Logger { return s.log }

// Config returns the server's configuration.
func (s *Server) Config() config.Config { return s.cfg }

func (s *Server) newEcho(origin string) *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.IPExtractor = s.clientIP()
	e.Use(middleware.RequestIDWithConfig(middleware.RequestIDConfig{
		Generator: func() string { return auth.RandomToken(12) },
	}))
	e.Use(s.recoverMiddleware)
	e.Use(s.logMiddleware(origin))
	e.Use(s.metrics.middleware(origin))
	e.Use(securityHeaders(origin))
	e.Use(validText)
	e.Binder = textBinder{}
	if origin == "app" {
		e.JSONSerializer = strictJSON{}
		e.Use(s.originGuard)
	}
	return e
}

// clientIP decides where a request comes from, for rate limits and logs:
// the connecting address, or the X-Forwarded-For entry added by a trusted
// proxy. Nobody else's X-Forwarded-For is believed, so a client cannot
// escape its limits by sending the header.
func (s *Server) clientIP() echo.IPExtractor {
	nets := s.cfg.TrustedProxyNets()
	if len(nets) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, cidr := range nets {
		if _, n, err := net.ParseCIDR(cidr); err == nil {
			opts = append(opts, echo.TrustIPRange(n))
		}
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// Start listens on the configured addresses and serves in the background.
func (s *Server) Start() error {
	appLn, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s (REACH_ADDR): %w", s.cfg.Addr, err)
	}
	contentLn, err := net.Listen("tcp", s.cfg.ContentAddr)
	if err != nil {
		appLn.Close()
		return fmt.Errorf("listen on %s (REACH_CONTENT_ADDR): %w", s.cfg.ContentAddr, err)
	}
	s.mu.Lock()
	s.appLn, s.contentLn = appLn, contentLn
	s.appHTTP = &http.Server{Handler: s.app, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	s.contentHTTP = &http.Server{Handler: s.content, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	s.mu.Unlock()
	if s.cfg.AllowSameSiteContent && s.cfg.SameSiteContent() {
		s.log.Warn("REACH_ALLOW_SAME_SITE_CONTENT: the content origin is on the app's site; a package's script can plant cookies for the app's site and reads cookies when both share a host",
			"public_url", s.cfg.PublicURL, "content_url", s.cfg.ContentURL)
	}
	if s.cfg.InsecureDevCookies && !s.cfg.SecureCookies() {
		s.log.Warn("REACH_INSECURE_DEV_COOKIES: session cookies are sent over plain HTTP without Secure or the __Host- prefix; for development only",
			"public_url", s.cfg.PublicURL)
	}
	go s.serve(s.appHTTP, appLn, "app")
	go s.serve(s.contentHTTP, contentLn, "content")
	s.log.Info("listening", "app", appLn.Addr().String(), "content", contentLn.Addr().String(),
		"public_url", s.cfg.PublicURL, "content_url", s.cfg.ContentURL)
	return nil
}

func (s *Server) serve(h *http.Server, ln net.Listener, name string) {
	if err := h.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		s.log.Error("listener stopped", "origin", name, "err", err)
	}
}

// AppAddr is the app listener's address once started.
func (s *Server) AppAddr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.appLn == nil {
		return ""
	}
	return s.appLn.Addr().String()
}

// ContentAddr is the content listener's address once started.
func (s *Server) ContentAddr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.contentLn == nil {
		return ""
	}
	return s.contentLn.Addr().String()
}

// Shutdown stops accepting connections and waits for in-flight requests
// until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	a, c := s.appHTTP, s.contentHTTP
	s.mu.Unlock()
	var err error
	if a != nil {
		err = errors.Join(err, a.Shutdown(ctx))
	}
	if c != nil {
		err = errors.Join(err, c.Shutdown(ctx))
	}
	return err
}

// Run starts the server and shuts it down gracefully when ctx ends.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Start(); err != nil {
		return err
	}
	<-ctx.Done()
	s.log.Info("shutting down", "timeout", s.cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	return s.Shutdown(sctx)
}
