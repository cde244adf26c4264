package server

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

func (s *Server) recoverMiddleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				s.log.Error("panic in handler", "panic", fmt.Sprint(r), "stack", string(debug.Stack()),
					"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		return next(c)
	}
}

// logMiddleware writes one structured line per request.
func (s *Server) logMiddleware(origin string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			req, res := c.Request(), c.Response()
			level := slog.LevelInfo
			if res.Status >= 500 {
				level = slog.LevelError
			} else if req.URL.Path == "/healthz" || req.URL.Path == "/readyz" || req.URL.Path == "/metrics" {
				level = slog.LevelDebug
			}
			s.log.Log(req.Context(), level, "request",
				"origin", origin, "request_id", res.Header().Get(echo.HeaderXRequestID),
				"method", req.Method, "path", req.URL.Path, "route", c.Path(), "status", res.Status,
				"bytes", res.Size, "duration_ms", float64(time.Since(start).Microseconds())/1000,
				"remote", c.RealIP())
			return nil
		}
	}
}

type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inflight *prometheus.GaugeVec
}

func newHTTPMetrics(reg *prometheus.Registry) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reach_http_requests_total", Help: "HTTP requests by origin, method, route and status.",
		}, []string{"origin", "method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "reach_http_request_duration_seconds", Help: "HTTP request latency by origin, method and route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"origin", "method", "route"}),
		inflight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "reach_http_requests_in_flight", Help: "HTTP requests being served.",
		}, []string{"origin"}),
	}
	reg.MustRegister(m.requests, m.duration, m.inflight,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *httpMetrics) middleware(origin string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			g := m.inflight.WithLabelValues(origin)
			g.Inc()
			defer g.Dec()
			err := next(c)
			route := c.Path()
			if route == "" {
				route = "unmatched"
			}
			status := c.Response().Status
			if err != nil {
				// The logging middleware renders errors; the status is known
				// only after it has run, which is before this point.
				status = c.Response().Status
			}
			m.requests.WithLabelValues(origin, c.Request().Method, route, strconv.Itoa(status)).Inc()
			m.duration.WithLabelValues(origin, c.Request().Method, route).Observe(time.Since(start).Seconds())
			return err
		}
	}
}

// securityHeaders sets the headers every response carries. The app origin
// forbids framing by others; the content origin must be framed by the
// player, so it only forbids sniffing.
func securityHeaders(origin string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Response().Header()
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
			if origin == "app" {
				h.Set("X-Frame-Options", "DENY")
				h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
				h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
			}
			if c.Request().TLS != nil {
				h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
			}
			return next(c)
		}
	}
}
