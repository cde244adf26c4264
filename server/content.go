package server

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/reach-london/reach/content"
)

// MountContent returns the route groups of the content room: package files
// on the content origin, and the package and course-version admin API on
// the app origin. internal/app appends them to Deps.MountContent and
// Deps.MountApp.
func MountContent(svc *content.Service) (appRoutes, contentRoutes func(*echo.Echo, *Server)) {
	h := &contentHandler{svc: svc}
	return h.routesApp, h.routesContent
}

type contentHandler struct{ svc *content.Service }

// routesContent binds the content origin's file routes. Package files are
// addressed as /p/<package id>/<content token>/<path in the package>, so
// relative links inside a package resolve under the same token; blobs
// are also addressable by hash as /c/sha256/<hex>.
func (h *contentHandler) routesContent(e *echo.Echo, s *Server) {
	e.GET("/c/sha256/:sum", h.serveBlob)
	e.HEAD("/c/sha256/:sum", h.serveBlob)
	e.GET("/p/:pkg/:token/*", h.servePackageFile)
	e.HEAD("/p/:pkg/:token/*", h.servePackageFile)
	e.GET("/p/:pkg/:token", h.slashRedirect)
}

// slashRedirect sends /p/<id>/<token> to /p/<id>/<token>/ (the package's
// index.html), so relative links resolve inside the package.
func (h *contentHandler) slashRedirect(c echo.Context) error {
	return c.Redirect(http.StatusMovedPermanently, c.Request().URL.EscapedPath()+"/")
}

// serveBlob serves a file by its content address. Its bytes can never
// change, so caches may keep it for a year without asking again. The
// hash is the capability: it can only be known from a package's file map
// or by having the bytes already.
func (h *contentHandler) serveBlob(c echo.Context) error {
	f, err := h.svc.OpenBlob(c.Request().Context(), c.Param("sum"))
	if err != nil {
		return err
	}
	defer f.Close()
	hdr := c.Response().Header()
	hdr.Set("Cache-Control", "public, max-age=31536000, immutable")
	hdr.Set("Content-Security-Policy", packageCSP)
	serveFile(c, f)
	return nil
}

// servePackageFile serves one file of a package after checking the
// content token in the path.
func (h *contentHandler) servePackageFile(c echo.Context) error {
	ctx := c.Request().Context()
	pkg := c.Param("pkg")
	if _, err := h.svc.CheckContentToken(ctx, c.Param("token"), pkg); err != nil {
		return err
	}
	// The decoded path, not the router's parameter: Echo hands over the
	// raw (escaped) form only when the URL used a non-default escaping,
	// so decoding the parameter again would break names with "%".
	prefix := "/p/" + pkg + "/" + c.Param("token")
	rel := strings.TrimPrefix(strings.TrimPrefix(c.Request().URL.Path, prefix), "/")
	f, err := h.svc.OpenPackageFile(ctx, pkg, rel)
	if err != nil {
		return err
	}
	defer f.Close()
	// The URL carries a token, so shared caches must not keep it; the
	// browser may, and revalidates cheaply by ETag.
	c.Response().Header().Set("Cache-Control", "private, max-age=86400")
	c.Response().Header().Set("Content-Security-Policy", packageCSP)
	serveFile(c, f)
	return nil
}

// packageCSP is the policy of package files on the content origin: they
// may be framed only by the player (and each other) on the content origin
// itself, so no other site, the app origin included, can frame a package
// page to trick a learner into clicking it. Nothing else is restricted:
// packages bring their own scripts, styles and media, and run on an
// origin that holds nothing.
const packageCSP = "frame-ancestors 'self'"

// dispatchFileCSP is the policy of package files served to another LMS
// through a dispatch: the dispatch play page frames them, and it is
// itself framed by whichever LMS imported the dispatch package, and
// frame-ancestors applies to every ancestor.
const dispatchFileCSP = "frame-ancestors *"

// serveFile streams f with its type and a strong ETag (the SHA-256 of
// the bytes); http.ServeContent answers If-None-Match with 304 and Range
// with 206, seeking in the blob instead of reading it whole.
func serveFile(c echo.Context, f *content.File) {
	hdr := c.Response().Header()
	ct := f.Ref.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	hdr.Set("Content-Type", ct)
	hdr.Set("ETag", `"`+f.Ref.SHA256+`"`)
	http.ServeContent(c.Response(), c.Request(), "", time.Time{}, f)
}
