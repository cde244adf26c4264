package server

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// routesApp binds every app-origin route, area by area.
func (s *Server) routesApp() {
	e := s.app
	e.GET("/", s.home)
	e.GET("/favicon.ico", serveFavicon)
	e.GET("/favicon.svg", serveFavicon)
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{Registry: s.registry})))
	s.routesOpenAPI(e)

	body := middleware.BodyLimit(byteLimit(s.cfg.MaxBodyBytes))
	api := e.Group("/api/v1", body, s.authenticate, s.csrf)
	s.routesAuth(api)
	s.routesAdminCore(api)
	s.routesReports(api)
	e.POST("/oauth/token", s.oauthToken, body)

	if s.deps.MountXAPI != nil {
		// The LRS takes statements with attachments, so its limit is the
		// upload limit; the LRS itself limits what it reads per part.
		s.deps.MountXAPI(e.Group("/xapi", middleware.BodyLimit(byteLimit(s.cfg.MaxUploadBytes))))
	}
	for _, mount := range s.deps.MountApp {
		mount(e, s)
	}
}

// routesContent binds the content origin's routes.
func (s *Server) routesContent() {
	e := s.content
	e.GET("/", s.contentRoot)
	e.GET("/favicon.ico", serveFavicon)
	e.GET("/healthz", s.healthz)
	for _, mount := range s.deps.MountContent {
		mount(e, s)
	}
}

// byteLimit formats a byte count for Echo's BodyLimit.
func byteLimit(n int64) string { return strconv.FormatInt(n, 10) + "B" }

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

type checkResult struct {
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
	MS     int64  `json:"ms"`
}

// readyz pings every configured backend in parallel; any failure answers
// 503 so a load balancer stops sending traffic here.
func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 3*time.Second)
	defer cancel()
	results := make(map[string]checkResult, len(s.deps.Ready))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, chk := range s.deps.Ready {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			err := chk.Ping(ctx)
			r := checkResult{Status: "ok", MS: time.Since(start).Milliseconds()}
			if err != nil {
				// The answer is public; the cause goes to the log only.
				r.Status, r.Error = "down", "unreachable"
				s.log.Warn("readiness check failed", "check", chk.Name, "err", err)
			}
			mu.Lock()
			results[chk.Name] = r
			mu.Unlock()
		}()
	}
	wg.Wait()
	status := http.StatusOK
	overall := "ok"
	for _, chk := range s.deps.Ready {
		if results[chk.Name].Status == "ok" {
			continue
		}
		if chk.Optional {
			if status == http.StatusOK {
				overall = "degraded"
			}
			continue
		}
		status, overall = http.StatusServiceUnavailable, "unavailable"
	}
	if status != http.StatusOK {
		c.Response().Header().Set("Retry-After", "5")
	}
	return c.JSON(status, map[string]any{"status": overall, "checks": results})
}
