package server

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/reach-london/reach/content"
	"github.com/reach-london/reach/content/dispatch"
	"github.com/reach-london/reach/content/launch"
	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/errs"
)

// MountDispatch returns the mounts for course dispatch to other LMSs
// (docs in content/dispatch):
//
//	GET  /api/v1/boroughs/{b}/dispatches                 list
//	POST /api/v1/boroughs/{b}/dispatches                 create {name, learnerLimit}
//	POST /api/v1/boroughs/{b}/dispatches/{id}/revoke     revoke
//	GET  /api/v1/boroughs/{b}/course/export/cmi5?dispatch={id}     cmi5 zip
//	GET  /api/v1/boroughs/{b}/course/export/scorm12?dispatch={id}  SCORM 1.2 zip
//
// and on the content origin GET /d/{token}/{pkg}/{path}: a package file
// opened with a live dispatch's token; and the SCORM 1.2 dispatch's pages
// (dispatch_play.go):
//
//	GET /d/{token}/play/{module}?student_id=…&student_name=…&lms_origin=…
//	GET /d/{token}/outcome/{registration}/{module}
//	GET /d/closed
func MountDispatch(store *dispatch.Store, pkgs *content.Service, launches *launch.Service) (appRoutes, contentRoutes func(*echo.Echo, *Server)) {
	h := &dispatchHandlers{dispatchService: dispatchService{store: store, pkgs: pkgs}, launches: launches}
	appRoutes = func(e *echo.Echo, s *Server) {
		h.s = s
		g := e.Group("/api/v1", middleware.BodyLimit(byteLimit(s.cfg.MaxBodyBytes)), s.authenticate, s.csrf)
		g.GET("/boroughs/:borough/dispatches", h.list)
		g.POST("/boroughs/:borough/dispatches", h.create)
		g.POST("/boroughs/:borough/dispatches/:id/revoke", h.revoke)
		g.GET("/boroughs/:borough/course/export/cmi5", h.exportCMI5)
		g.GET("/boroughs/:borough/course/export/scorm12", h.exportSCORM12)
	}
	contentRoutes = func(e *echo.Echo, s *Server) {
		h.s = s
		e.GET("/d/:token/:pkg/*", h.serveFile)
		e.GET("/d/:token/play/:module", h.play)
		e.GET("/d/:token/outcome/:registration/:module", h.outcome)
		e.GET("/d/closed", h.closed)
	}
	return appRoutes, contentRoutes
}

// dispatchService is what the JSON API and the admin pages (admin_ui_dispatch.go)
// share: making, revoking and exporting a borough's dispatches, each
// audited the same way whichever of them asks.
type dispatchService struct {
	s     *Server
	store *dispatch.Store
	pkgs  *content.Service
}

// The export formats, as named in the export routes, the audit log and the
// zip's file name.
const (
	formatCMI5    = "cmi5"
	formatSCORM12 = "scorm12"
)

// createDispatch records a dispatch of borough b made by actor, audited as
// dispatch.create.
func (h dispatchService) createDispatch(ctx context.Context, b auth.Borough, actor, name string, learnerLimit int) (dispatch.Dispatch, error) {
	d, err := h.store.Create(ctx, b.ID, actor, name, learnerLimit)
	if err != nil {
		return d, err
	}
	h.s.deps.Auth.Audit(ctx, b.ID, actor, "dispatch.create", d.ID, map[string]any{"name": d.Name, "learnerLimit": d.LearnerLimit})
	return d, nil
}

// revokeDispatch revokes a dispatch of borough b, audited as dispatch.revoke.
func (h dispatchService) revokeDispatch(ctx context.Context, b auth.Borough, actor, id string) (dispatch.Dispatch, error) {
	d, err := h.store.Revoke(ctx, b.ID, id)
	if err != nil {
		return d, err
	}
	h.s.deps.Auth.Audit(ctx, b.ID, actor, "dispatch.revoke", d.ID, nil)
	return d, nil
}

// exportDispatch builds the package of borough b's published course for
// its dispatch id in format (formatCMI5 or formatSCORM12), audited as
// dispatch.export, and names its zip. An unknown dispatch is NotFound, a
// revoked one Conflict.
func (h dispatchService) exportDispatch(ctx context.Context, b auth.Borough, actor, id, format string) (filename string, zipped []byte, err error) {
	d, err := h.store.Get(ctx, b.ID, id)
	if err != nil {
		return "", nil, err
	}
	v, mods, err := dispatch.Modules(ctx, h.pkgs, d, h.s.cfg.ContentURL)
	if err != nil {
		return "", nil, err
	}
	switch format {
	case formatCMI5:
		courseID := strings.TrimRight(h.s.cfg.PublicURL, "/") + "/courses/" + b.ID
		doc, err := dispatch.CMI5XML(courseID, courseTitle(b), "Hosted by Reach; dispatch "+d.Name+".", mods)
		if err != nil {
			return "", nil, err
		}
		zipped, err = dispatch.ZipCMI5(doc, time.Now())
		if err != nil {
			return "", nil, err
		}
	case formatSCORM12:
		// One SCO per module, each playing it from the content origin
		// (GET /d/{token}/play/{module}).
		zipped, err = dispatch.SCORM12Zip(courseTitle(b), d, mods, h.s.cfg.ContentURL, time.Now())
		if err != nil {
			return "", nil, err
		}
	default:
		return "", nil, errs.E(errs.Invalid, "format must be %s or %s", formatCMI5, formatSCORM12)
	}
	h.s.deps.Auth.Audit(ctx, b.ID, actor, "dispatch.export", d.ID, map[string]any{"format": format, "version": v.Number})
	return "reach-" + b.ID + "-" + format + ".zip", zipped, nil
}

// sendZip sends a package as an attachment. It holds the dispatch's token,
// so no cache keeps it.
func sendZip(c echo.Context, filename string, zipped []byte) error {
	c.Response().Header().Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "application/zip", zipped)
}

type dispatchHandlers struct {
	dispatchService
	launches *launch.Service
}

func (h *dispatchHandlers) list(c echo.Context) error {
	b, _, err := h.s.adminOf(c)
	if err != nil {
		return err
	}
	out, err := h.store.List(c.Request().Context(), b.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"dispatches": out})
}

func (h *dispatchHandlers) create(c echo.Context) error {
	b, p, err := h.s.adminOf(c)
	if err != nil {
		return err
	}
	var in struct {
		Name         string `json:"name"`
		LearnerLimit int    `json:"learnerLimit"`
	}
	if err := bindJSON(c, &in, "body must be a JSON object with name and learnerLimit (0 for no limit)"); err != nil {
		return err
	}
	d, err := h.createDispatch(c.Request().Context(), b, p.Subject, in.Name, in.LearnerLimit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, d)
}

func (h *dispatchHandlers) revoke(c echo.Context) error {
	b, p, err := h.s.adminOf(c)
	if err != nil {
		return err
	}
	d, err := h.revokeDispatch(c.Request().Context(), b, p.Subject, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

func courseTitle(b auth.Borough) string {
	if b.Name != "" {
		return "Reach course (" + b.Name + ")"
	}
	return "Reach course"
}

// export answers the package in format of the dispatch named by ?dispatch=.
func (h *dispatchHandlers) export(c echo.Context, format string) error {
	b, p, err := h.s.adminOf(c)
	if err != nil {
		return err
	}
	id := c.QueryParam("dispatch")
	if id == "" {
		return errs.E(errs.Invalid, "dispatch is required: create one with POST /api/v1/boroughs/%s/dispatches", b.ID)
	}
	name, zipped, err := h.exportDispatch(c.Request().Context(), b, p.Subject, id, format)
	if err != nil {
		return err
	}
	return sendZip(c, name, zipped)
}

func (h *dispatchHandlers) exportCMI5(c echo.Context) error { return h.export(c, formatCMI5) }

// exportSCORM12 answers the SCORM 1.2 package of the published course for
// a SCORM-only LMS: one SCO per module, each playing it from the content
// origin (GET /d/{token}/play/{module}).
func (h *dispatchHandlers) exportSCORM12(c echo.Context) error { return h.export(c, formatSCORM12) }

// serveFile serves a package file to another LMS's learner: the dispatch
// must be live (a revoked one is 403) and the package its borough's.
func (h *dispatchHandlers) serveFile(c echo.Context) error {
	ctx := c.Request().Context()
	tok, pkg := c.Param("token"), c.Param("pkg")
	d, err := h.store.ByToken(ctx, tok)
	if err != nil {
		return err
	}
	if _, err := h.pkgs.Package(ctx, d.BoroughID, pkg); err != nil {
		return err
	}
	prefix := "/d/" + tok + "/" + pkg
	rel := strings.TrimPrefix(strings.TrimPrefix(c.Request().URL.Path, prefix), "/")
	f, err := h.pkgs.OpenPackageFile(ctx, pkg, rel)
	if err != nil {
		return err
	}
	defer f.Close()
	// Revocation must take effect, so browsers revalidate every time.
	c.Response().Header().Set("Cache-Control", "private, no-cache")
	c.Response().Header().Set("Content-Security-Policy", dispatchFileCSP)
	serveFile(c, f)
	return nil
}
