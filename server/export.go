package server

import (
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/reach-london/reach/lrs/export"
)

// MountExport returns the mount that adds the statement download:
//
//	GET /api/v1/boroughs/{b}/statements/export?format=jsonl|csv&agent=…&verb=…&activity=…&since=…&until=…
//
// It takes the xAPI statements resource's filters and streams every
// matching statement, oldest first.
func MountExport(statements export.Querier) func(e *echo.Echo, s *Server) {
	return func(e *echo.Echo, s *Server) {
		g := e.Group("/api/v1", middleware.BodyLimit(byteLimit(s.cfg.MaxBodyBytes)), s.authenticate, s.csrf)
		g.GET("/boroughs/:borough/statements/export", func(c echo.Context) error {
			b, _, err := s.adminOf(c)
			if err != nil {
				return err
			}
			req, err := export.ParseRequest(c.QueryParams())
			if err != nil {
				return err
			}
			ctx := c.Request().Context()
			n, err := export.Write(ctx, statements, b.ID, req, func() (io.Writer, error) {
				h := c.Response().Header()
				h.Set(echo.HeaderContentType, req.Format.ContentType())
				h.Set(echo.HeaderContentDisposition, `attachment; filename="statements-`+b.Slug+`-`+
					time.Now().UTC().Format("20060102T150405Z")+`.`+string(req.Format)+`"`)
				h.Set("Cache-Control", "no-store")
				c.Response().WriteHeader(http.StatusOK)
				return c.Response(), nil
			})
			if err != nil && c.Response().Committed {
				// The status line is gone; a cut-off file is the only
				// signal left, and the log says why.
				s.log.ErrorContext(ctx, "statement export stopped", "borough", b.Slug, "written", n, "err", err)
				return nil
			}
			return err
		})
	}
}
