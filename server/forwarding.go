package server

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/lrs/forward"
)

// MountForwarding returns the mount that adds the statement-forwarding
// admin API and its Prometheus metrics:
//
//	GET    /api/v1/boroughs/{b}/forwarding            targets with status
//	POST   /api/v1/boroughs/{b}/forwarding            create
//	GET    /api/v1/boroughs/{b}/forwarding/{id}       one target with status
//	PATCH  /api/v1/boroughs/{b}/forwarding/{id}       update
//	DELETE /api/v1/boroughs/{b}/forwarding/{id}       delete
//	POST   /api/v1/boroughs/{b}/forwarding/{id}/pause
//	POST   /api/v1/boroughs/{b}/forwarding/{id}/resume
//	POST   /api/v1/boroughs/{b}/forwarding/{id}/test  send a test statement
//	POST   /api/v1/boroughs/{b}/forwarding/{id}/skip  give up on the next waiting statement
//	GET    /api/v1/forwarding                         every borough's (platform admins)
func MountForwarding(svc *forward.Service) func(e *echo.Echo, s *Server) {
	return func(e *echo.Echo, s *Server) {
		h := forwardingHandlers{s: s, svc: svc}
		g := e.Group("/api/v1", middleware.BodyLimit(byteLimit(s.cfg.MaxBodyBytes)), s.authenticate, s.csrf)
		g.GET("/boroughs/:borough/forwarding", h.list)
		g.POST("/boroughs/:borough/forwarding", h.create)
		g.GET("/boroughs/:borough/forwarding/:id", h.get)
		g.PATCH("/boroughs/:borough/forwarding/:id", h.update)
		g.DELETE("/boroughs/:borough/forwarding/:id", h.delete)
		g.POST("/boroughs/:borough/forwarding/:id/pause", h.pause)
		g.POST("/boroughs/:borough/forwarding/:id/resume", h.resume)
		g.POST("/boroughs/:borough/forwarding/:id/test", h.test)
		g.POST("/boroughs/:borough/forwarding/:id/skip", h.skip)
		g.GET("/forwarding", h.listAll)
		s.registry.MustRegister(&forwardingCollector{svc: svc, log: s.log})
	}
}

type forwardingHandlers struct {
	s   *Server
	svc *forward.Service
}

// bindInput decodes a target's settings strictly, so a misspelt field
// is an error rather than silently ignored.
func bindInput(c echo.Context) (forward.Input, error) {
	var in forward.Input
	err := bindJSON(c, &in, "body must be a JSON object with name, endpoint, version, authType, authKey, secret, verbs, activities, enabled, backfill")
	return in, err
}

func (h forwardingHandlers) list(c echo.Context) error {
	b, _, err := h.s.adminOf(c)
	if err != nil {
		return err
	}
	out, err := h.svc.Statuses(c.Request().Context(), b.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (h forwardingHandlers) listAll(c echo.Context) error {
	if _, err := requireRole(c, auth.RolePlatformAdmin); err != nil {
		return err
	}
	out, err := h.svc.Statuses(c.Request().Context(), "")
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (h forwardingHandlers) create(c echo.Context) error {
	b, p, err := h.s.adminOf(c)
	if err != nil {
		return err
	}
	in, err := bindInput(c)
	if err != nil {
		return err
	}
	t, err := h.svc.Create(c.Request().Context(), p.Subject, b.ID, in)
	if err != nil {
		return err
	}
	st, err := h.svc.Status(c.Request().Context(), b.ID, t.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, st)
}

func (h forwardingHandlers) get(c echo.Context) error {
	b, _, err := h.s.adminOf(c)
	if err != nil {
		return err
	}
	st, err := h.svc.Status(c.Request().Context(), b.ID, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

func (h forwardingHandlers) update(c echo.Context) error {
	b, p, err := h.s.adminOf(c)
	if err != nil {
		return err
	}
	in, err := bindInput(c)
	if err != nil {
		return err
	}
	if _, err := h.svc.Update(c.Request().Context(), p.Subject, b.ID, c.Param("id"), in); err != nil {
		return err
	}
	return h.get(c)
}

func (h forwardingHandlers) delete(c echo.Context) error {
	b, p, err := h.s.adminOf(c)
	if err != nil {
		return err
	}
	if err := h.svc.Delete(c.Request().Context(), p.Subject, b.ID, c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h forwardingHandlers) setEnabled(c echo.Context, enabled bool) error {
	b, p, err := h.s.adminOf(c)
	if err != nil {
		return err
	}
	if _, err := h.svc.SetEnabled(c.Request().Context(), p.Subject, b.ID, c.Param("id"), enabled); err != nil {
		return err
	}
	return h.get(c)
}

func (h forwardingHandlers) pause(c echo.Context) error  { return h.setEnabled(c, false) }
func (h forwardingHandlers) resume(c echo.Context) error { return h.setEnabled(c, true) }

func (h forwardingHandlers) test(c echo.Context) error {
	b, p, err := h.s.adminOf(c)
	if err != nil {
		return err
	}
	res, err := h.svc.SendTest(c.Request().Context(), p.Subject, b.ID, c.Param("id"), h.s.cfg.PublicURL)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

// skipped is the answer to a skip: the statement that will not be sent.
type skipped struct {
	Skipped string         `json:"skipped"`
	Target  forward.Status `json:"target"`
}

func (h forwardingHandlers) skip(c echo.Context) error {
	b, p, err := h.s.adminOf(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	id, err := h.svc.Skip(ctx, p.Subject, b.ID, c.Param("id"))
	if err != nil {
		return err
	}
	st, err := h.svc.Status(ctx, b.ID, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, skipped{Skipped: id, Target: st})
}

// forwardingCollector reports every target's delivery state when
// Prometheus scrapes, read from the database so every replica reports the
// same figures whichever one delivers.
type forwardingCollector struct {
	svc interface {
		Statuses(ctx context.Context, borough string) ([]forward.Status, error)
	}
	log interface {
		Warn(msg string, args ...any)
	}
}

var (
	fwdLabels    = []string{"borough_id", "target"}
	fwdLag       = prometheus.NewDesc("reach_forwarding_lag_statements", "Matching statements stored but not yet delivered to the target.", fwdLabels, nil)
	fwdOldest    = prometheus.NewDesc("reach_forwarding_oldest_undelivered_seconds", "Age of the oldest statement not yet delivered to the target.", fwdLabels, nil)
	fwdDelivered = prometheus.NewDesc("reach_forwarding_delivered_total", "Statements delivered to the target.", fwdLabels, nil)
	fwdFailures  = prometheus.NewDesc("reach_forwarding_consecutive_failures", "Failed delivery attempts since the last success.", fwdLabels, nil)
	fwdEnabled   = prometheus.NewDesc("reach_forwarding_enabled", "1 when the target is enabled, 0 when paused.", fwdLabels, nil)
)

func (fc *forwardingCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{fwdLag, fwdOldest, fwdDelivered, fwdFailures, fwdEnabled} {
		ch <- d
	}
}

func (fc *forwardingCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sts, err := fc.svc.Statuses(ctx, "")
	if err != nil {
		fc.log.Warn("forwarding metrics unavailable", "err", err)
		return
	}
	for _, st := range sts {
		l := []string{st.BoroughID, st.Name}
		enabled := 0.0
		if st.Enabled {
			enabled = 1
		}
		ch <- prometheus.MustNewConstMetric(fwdLag, prometheus.GaugeValue, float64(st.Lag), l...)
		ch <- prometheus.MustNewConstMetric(fwdOldest, prometheus.GaugeValue, st.OldestUndeliveredSeconds, l...)
		ch <- prometheus.MustNewConstMetric(fwdDelivered, prometheus.CounterValue, float64(st.Delivered), l...)
		ch <- prometheus.MustNewConstMetric(fwdFailures, prometheus.GaugeValue, float64(st.Attempts), l...)
		ch <- prometheus.MustNewConstMetric(fwdEnabled, prometheus.GaugeValue, enabled, l...)
	}
}
