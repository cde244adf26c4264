package server

import (
	"bytes"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/server/web"
)

// The page templates and static files are embedded and never change while
// the process runs, so they are parsed once.
var webAssets, webPages = mustWeb()

func mustWeb() (*web.Assets, *web.Templates) {
	a, err := web.NewAssets()
	if err != nil {
		panic("web assets: " + err.Error())
	}
	t, err := web.Parse(a)
	if err != nil {
		panic("web templates: " + err.Error())
	}
	return a, t
}

// MountStatic serves the embedded CSS and JavaScript under /static/ on the
// app origin (see server/web/README.md). Wire it once with Deps.MountApp.
func MountStatic(e *echo.Echo, _ *Server) {
	h := echo.WrapHandler(webAssets)
	e.GET(web.StaticPrefix+"*", h)
	e.HEAD(web.StaticPrefix+"*", h)
}

// render writes an HTML page from server/web/templates. Pages show
// personal data, so they are never stored by shared caches.
func (s *Server) render(c echo.Context, status int, name string, p web.Page) error {
	var buf bytes.Buffer
	if err := webPages.Render(&buf, name, p); err != nil {
		return errs.Wrap(errs.Internal, err, "render page")
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	return c.HTMLBlob(status, buf.Bytes())
}

// renderError shows err as an HTML page with the status the one error
// table gives its kind (errors.go), for routes a browser navigates to.
// Internal details are logged, never shown.
func (s *Server) renderError(c echo.Context, err error, p web.Page) error {
	kind := errs.KindOf(err)
	status, ok := statusOf[kind]
	if !ok {
		status = http.StatusInternalServerError
	}
	msg := errs.MessageOf(err)
	if status >= 500 {
		s.log.ErrorContext(c.Request().Context(), "page failed", "path", c.Request().URL.Path, "status", status, "err", err,
			"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
		msg = "Something went wrong on our side. Please try again in a moment."
	}
	heading := map[int]string{
		http.StatusNotFound:        "Page not found",
		http.StatusUnauthorized:    "Please sign in",
		http.StatusForbidden:       "You cannot do that",
		http.StatusTooManyRequests: "Too many attempts",
	}[status]
	if heading == "" {
		heading = "Sorry, there is a problem"
		if status < 500 {
			heading = "That did not work"
		}
	}
	p.Title = heading
	p.Data = errorPage{Heading: heading, Message: msg}
	return s.render(c, status, "error", p)
}

type errorPage struct {
	Heading string
	Message string
}
